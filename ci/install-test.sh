#!/usr/bin/env bash
# The install tests (.ci/run calls it after ci/dist.sh): takes the release set in dist/ the way a user
# would, and checks what the README promises of it. Each check prints `ok`, `FAILED` (with its log) or
# `skipped` (with what it needs); the closing line counts them, and the script exits non-zero when any
# check failed, or was skipped while PREFLIGHT_REQUIRE_TOOLS is set (as CI sets it).
#
#   artifacts         the six files, named with Cargo.toml's version, SHA256SUMS right, each < 15 MiB
#   archives          each archive holds the binary, README, CHANGELOG and both licences
#   wheel             pip installs the Linux wheel into a fresh venv in < 10 s; the bundled example
#                     gives exit 1 with findings; --version names the commit
#   glibc             the Linux binary needs glibc 2.17 at most, and is the wheel's binary
#   windows-wheel     the win_amd64 wheel installs (pip --platform win_amd64) and its .exe runs under Wine
#   install-sh        install.sh (under dash) from a local HTTP server on 127.0.0.1: installs, verifies
#   install-sh-refuse a tampered archive, an archive SHA256SUMS does not list, a missing release
#   install-sh-windows install.sh on "Windows" (uname says MINGW64) installs preflight.exe from the zip
#   pre-commit        `pre-commit try-repo` with the python hooks, PIP_FIND_LINKS=dist, no index and no
#                     cargo on PATH: installs, fails the bad files, within a minute
#   action            action.yml's shell steps, run as the runner would, against the local server
#
# Needs: python3 (venv), shellcheck, dash, unzip, objdump (binutils), wine64, git, pre-commit and PyYAML
# (in .ci/venv).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
root=$PWD
version=$(sed -n 's/^version = "\([^"]*\)"$/\1/p' Cargo.toml | head -n 1)
venv=${PREFLIGHT_DIST_VENV:-$root/.ci/venv}
require=${PREFLIGHT_REQUIRE_TOOLS:-}
tmp=$(mktemp -d)
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

linux_whl=preflight_deploy-$version-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl
win_whl=preflight_deploy-$version-py3-none-win_amd64.whl
linux_tgz=preflight-$version-x86_64-unknown-linux-gnu.tar.gz
win_zip=preflight-$version-x86_64-pc-windows-gnu.zip
# `preflight X.Y.Z (hash date)` of the commit dist/ was built from.
# (A mismatch means dist/ was built from another commit: run ci/dist.sh again.)
want_version="preflight $version ($(git log -1 --format='%h %cs' 2>/dev/null || echo unknown))"

passed=0 failed=0 skipped=0
failures=()
only=${PREFLIGHT_INSTALL_TESTS:-}   # e.g. "wheel pre-commit": only these (the others are not counted)
run() { # NAME FUNCTION: runs the check, its output into a log shown on failure
  local name=$1 log=$tmp/$1.log
  if [ -n "$only" ] && [[ " $only " != *" $name "* ]]; then return; fi
  printf '%-20s ' "$name"
  local start=$SECONDS
  # In a subshell: a check ends with exit, and its server and wineserver end with it.
  (
    trap '[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null
      [ -n "${WINEPREFIX:-}" ] && /usr/lib/wine/wineserver -k 2>/dev/null' EXIT
    "$2"
  ) >"$log" 2>&1
  local code=$?
  if [ "$code" = 0 ]; then
    passed=$((passed + 1))
    echo "ok ($((SECONDS - start)) s)$(grep -h '^measured:' "$log" | sed 's/^measured:/;/' | tr -d '\n')"
    [ -n "${PREFLIGHT_INSTALL_TESTS_VERBOSE:-}" ] && sed 's/^/    /' "$log"
  elif [ "$code" = 77 ]; then
    skipped=$((skipped + 1))
    echo "skipped: $(tail -n 1 "$log")"
    [ -n "$require" ] && failures+=("$name (skipped, but PREFLIGHT_REQUIRE_TOOLS is set)")
  else
    failed=$((failed + 1))
    failures+=("$name")
    echo "FAILED"
    sed 's/^/    /' "$log" | tail -n 60
  fi
}
need() { # TOOL...: exit 77 (skipped) from the check when one is missing
  local t
  for t in "$@"; do
    command -v "$t" >/dev/null 2>&1 || { echo "needs $t"; exit 77; }
  done
}
expect() { # DESCRIPTION CONDITION...: prints and fails the check when the condition is false
  local what=$1
  shift
  if "$@"; then echo "ok: $what"; else echo "NOT: $what"; exit 1; fi
}
mib15=$((15 * 1024 * 1024))

# A local release server: <url>/v<version>/<file> is dist/<file>. serve DIR sets $url.
serve() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null
  python3 -u -m http.server --bind 127.0.0.1 --directory "$1" 0 >"$tmp/server.log" 2>&1 &
  server_pid=$!
  local port=
  for _ in $(seq 50); do
    port=$(sed -n 's/.*port \([0-9]*\).*/\1/p' "$tmp/server.log" | head -n 1)
    [ -n "$port" ] && break
    sleep 0.1
  done
  [ -n "$port" ] || { echo "the HTTP server did not start"; cat "$tmp/server.log"; return 1; }
  url=http://127.0.0.1:$port
}
release_tree() { # DIR: a copy of dist/ laid out as a release server serves it
  mkdir -p "$1/v$version"
  cp dist/* "$1/v$version/"
}

# Wine, with the prefix ci/windows.sh set up (it holds the stand-in bcryptprimitives.dll that Rust's
# standard library needs under Wine 8), or a new one set up the same way.
wine_setup() {
  need /usr/lib/wine/wine64 x86_64-w64-mingw32-gcc
  export WINEDEBUG=-all WINEARCH=win64
  export WINEPREFIX=$root/target/windows/wineprefix
  if [ ! -f "$WINEPREFIX/drive_c/windows/system32/bcryptprimitives.dll" ]; then
    export WINEPREFIX=$tmp/wineprefix
    /usr/lib/wine/wine64 wineboot --init >/dev/null 2>&1 || true
    /usr/lib/wine/wineserver -w || true
    x86_64-w64-mingw32-gcc -shared -O2 -o "$WINEPREFIX/drive_c/windows/system32/bcryptprimitives.dll" \
      ci/wine/bcryptprimitives.c
  fi
}
wine_run() { # EXE ARGS...: runs it under Wine, stdout into $tmp/wine.out; returns its exit code
  local code
  /usr/lib/wine/wine64 "$@" >"$tmp/wine.out" 2>"$tmp/wine.err" </dev/null
  code=$?
  cat "$tmp/wine.out"
  return "$code"
}

check_artifacts() {
  local f size
  expect "dist/ holds exactly the release set" \
    test "$(find dist -mindepth 1 -printf '%P\n' | sort | tr '\n' ' ')" = \
    "$(printf '%s\n' SHA256SUMS install.sh "$linux_tgz" "$win_zip" "$linux_whl" "$win_whl" | sort | tr '\n' ' ')"
  (cd dist && sha256sum --check --strict SHA256SUMS) || { echo "SHA256SUMS does not match"; exit 1; }
  expect "SHA256SUMS lists the five files" test "$(wc -l <dist/SHA256SUMS)" = 5
  expect "dist/install.sh is install.sh" cmp dist/install.sh install.sh
  for f in dist/*; do
    size=$(stat -c %s "$f")
    echo "measured: $(basename "$f") $(awk -v s="$size" 'BEGIN { printf "%.1f MiB", s / 1048576 }')"
    expect "$f < 15 MiB" test "$size" -lt "$mib15"
  done
}

check_archives() {
  need unzip
  local d=preflight-$version
  expect "the tar.gz holds the binary and documents" test "$(tar -tzf "dist/$linux_tgz" | sort | tr '\n' ' ')" = \
    "$d-x86_64-unknown-linux-gnu/ $d-x86_64-unknown-linux-gnu/CHANGELOG.md $d-x86_64-unknown-linux-gnu/LICENSE-APACHE $d-x86_64-unknown-linux-gnu/LICENSE-MIT $d-x86_64-unknown-linux-gnu/README.md $d-x86_64-unknown-linux-gnu/preflight "
  expect "the zip holds the .exe and documents" test "$(unzip -Z1 "dist/$win_zip" | sort | tr '\n' ' ')" = \
    "$d-x86_64-pc-windows-gnu/CHANGELOG.md $d-x86_64-pc-windows-gnu/LICENSE-APACHE $d-x86_64-pc-windows-gnu/LICENSE-MIT $d-x86_64-pc-windows-gnu/README.md $d-x86_64-pc-windows-gnu/preflight.exe "
  expect "the tar.gz's binary is executable" \
    test "$(tar -tvzf "dist/$linux_tgz" "$d-x86_64-unknown-linux-gnu/preflight" | cut -c1-10)" = "-rwxr-xr-x"
}

check_wheel() {
  python3 -m venv "$tmp/wheel-venv" || exit 1
  local start end out code
  start=$(date +%s%N)
  "$tmp/wheel-venv/bin/pip" install --no-index --disable-pip-version-check -q "dist/$linux_whl" || exit 1
  end=$(date +%s%N)
  local ms=$(((end - start) / 1000000))
  echo "measured: pip install ${ms} ms"
  expect "pip install took < 10 s ($ms ms)" test "$ms" -lt 10000
  local bin=$tmp/wheel-venv/bin/preflight
  out=$("$bin" --version)
  expect "--version prints '$want_version' ($out)" test "$out" = "$want_version"
  out=$("$bin" check examples/deploy.yaml 2>&1)
  code=$?
  echo "$out" | tail -n 3
  expect "the bundled example exits 1" test "$code" = 1
  expect "with findings" grep -q 'error\[port-conflict\]' <<<"$out"
  "$bin" check examples/clean.yaml >/dev/null
  expect "the clean example exits 0" test $? = 0
}

check_glibc() {
  need objdump
  mkdir "$tmp/tgz" && tar -xzf "dist/$linux_tgz" -C "$tmp/tgz" || exit 1
  local bin=$tmp/tgz/preflight-$version-x86_64-unknown-linux-gnu/preflight
  local max
  max=$(objdump -T "$bin" | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' | sort -V | tail -n 1)
  echo "measured: needs glibc $max"
  expect "needs glibc <= 2.17 (needs $max)" test "$(printf '%s\n2.17\n' "$max" | sort -V | tail -n 1)" = 2.17
  python3 -m zipfile -e "dist/$linux_whl" "$tmp/whl" || exit 1
  expect "the archive's binary is the wheel's" \
    cmp "$bin" "$tmp/whl/preflight_deploy-$version.data/scripts/preflight"
  expect "it runs" test "$("$bin" --version)" = "$want_version"
}

check_windows_wheel() {
  wine_setup
  "$venv/bin/python" -m wheel unpack --dest "$tmp/win-unpack" "dist/$win_whl" ||
    { echo "the wheel's RECORD does not match its files"; exit 1; }
  pip_install() {
    python3 -m pip install --no-index --disable-pip-version-check -q --only-binary=:all: \
      --platform win_amd64 --python-version 3.12 --target "$tmp/win" "dist/$win_whl"
  }
  pip_install || exit 1
  local exe=$tmp/win/bin/preflight.exe
  expect "pip put preflight.exe in the scripts folder" test -f "$exe"
  mkdir "$tmp/zip" && unzip -q "dist/$win_zip" -d "$tmp/zip" || exit 1
  expect "the zip's .exe is the wheel's" cmp "$exe" "$tmp/zip/preflight-$version-x86_64-pc-windows-gnu/preflight.exe"
  local out code
  out=$(wine_run "$exe" --version)
  expect "preflight.exe --version under Wine prints '$want_version' ($out)" test "$out" = "$want_version"
  wine_run "$exe" check examples/deploy.yaml >/dev/null
  code=$?
  tail -n 3 "$tmp/wine.out"
  expect "preflight.exe check examples/deploy.yaml exits 1 under Wine" test "$code" = 1
  expect "with findings" grep -q 'error\[port-conflict\]' "$tmp/wine.out"
}

check_install_sh() {
  need shellcheck dash
  shellcheck -s sh install.sh || { echo "shellcheck found problems in install.sh"; exit 1; }
  release_tree "$tmp/srv"
  serve "$tmp/srv" || exit 1
  local out code
  out=$(PREFLIGHT_DOWNLOAD_URL=$url PREFLIGHT_INSTALL_DIR=$tmp/bin HOME=$tmp/home dash install.sh 2>&1)
  code=$?
  echo "$out"
  expect "install.sh exits 0" test "$code" = 0
  expect "it installed a working preflight" test "$("$tmp/bin/preflight" --version)" = "$want_version"
  expect "it says what it did" grep -q "installed $want_version as $tmp/bin/preflight" <<<"$out"
  expect "it says the folder is not on PATH" grep -q "is not on your PATH" <<<"$out"
  # The default folder, the version given with a leading v, and wget instead of curl.
  mkdir -p "$tmp/nocurl"
  ln -s "$(command -v wget || echo /nonexistent)" "$tmp/nocurl/wget"
  out=$(PREFLIGHT_DOWNLOAD_URL=$url PREFLIGHT_VERSION=v$version HOME=$tmp/home dash install.sh 2>&1)
  code=$?
  echo "$out"
  expect "without PREFLIGHT_INSTALL_DIR it installs to ~/.local/bin" \
    test "$code" = 0 -a -x "$tmp/home/.local/bin/preflight"
}

check_install_sh_refuses() {
  need dash
  local out code
  # A tampered archive: a different binary in an archive of the same name, SHA256SUMS unchanged.
  release_tree "$tmp/bad"
  mkdir "$tmp/evil" && tar -xzf "dist/$linux_tgz" -C "$tmp/evil" || exit 1
  printf '#!/bin/sh\necho pwned\n' >"$tmp/evil/preflight-$version-x86_64-unknown-linux-gnu/preflight"
  tar -C "$tmp/evil" -czf "$tmp/bad/v$version/$linux_tgz" "preflight-$version-x86_64-unknown-linux-gnu"
  serve "$tmp/bad" || exit 1
  out=$(PREFLIGHT_DOWNLOAD_URL=$url PREFLIGHT_INSTALL_DIR=$tmp/bad-bin HOME=$tmp/home2 dash install.sh 2>&1)
  code=$?
  echo "$out"
  expect "a tampered archive: non-zero exit" test "$code" != 0
  expect "it says why" grep -q "checksum mismatch for $linux_tgz" <<<"$out"
  expect "nothing installed" test ! -e "$tmp/bad-bin" -a ! -e "$tmp/home2/.local/bin"
  # An archive SHA256SUMS does not list.
  grep -v "$linux_tgz" "dist/SHA256SUMS" >"$tmp/bad/v$version/SHA256SUMS"
  cp "dist/$linux_tgz" "$tmp/bad/v$version/"
  out=$(PREFLIGHT_DOWNLOAD_URL=$url PREFLIGHT_INSTALL_DIR=$tmp/bad-bin dash install.sh 2>&1)
  code=$?
  echo "$out"
  expect "an unlisted archive: non-zero exit, nothing installed" test "$code" != 0 -a ! -e "$tmp/bad-bin"
  expect "it says why" grep -q "SHA256SUMS does not list" <<<"$out"
  # A release that does not exist.
  out=$(PREFLIGHT_DOWNLOAD_URL=$url PREFLIGHT_VERSION=9.9.9 PREFLIGHT_INSTALL_DIR=$tmp/bad-bin dash install.sh 2>&1)
  code=$?
  echo "$out"
  expect "a missing release: non-zero exit, nothing installed" test "$code" != 0 -a ! -e "$tmp/bad-bin"
  expect "it says why" grep -q "could not download" <<<"$out"
}

check_install_sh_windows() {
  need dash unzip
  wine_setup
  # uname as Git Bash on Windows answers it.
  mkdir -p "$tmp/fake-windows"
  # shellcheck disable=SC2016 # $1 is the stand-in's own argument
  printf '#!/bin/sh\ncase "$1" in -m) echo x86_64 ;; *) echo MINGW64_NT-10.0-19045 ;; esac\n' >"$tmp/fake-windows/uname"
  chmod +x "$tmp/fake-windows/uname"
  release_tree "$tmp/srv-win"
  serve "$tmp/srv-win" || exit 1
  local out code
  out=$(PATH=$tmp/fake-windows:$PATH PREFLIGHT_DOWNLOAD_URL=$url PREFLIGHT_INSTALL_DIR=$tmp/win-bin dash install.sh 2>&1)
  code=$?
  echo "$out"
  expect "install.sh exits 0" test "$code" = 0
  expect "it verified the zip" grep -q "verified $win_zip" <<<"$out"
  expect "it installed preflight.exe, and nothing else" test "$(ls "$tmp/win-bin")" = preflight.exe
  out=$(wine_run "$tmp/win-bin/preflight.exe" --version)
  expect "the installed preflight.exe runs under Wine" test "$out" = "$want_version"
}

check_pre_commit() {
  need git pre-commit
  # setuptools and wheel for building the hook's placeholder package, the one thing besides dist/ that
  # pip needs: fetched here so that the hook's own install runs with no index at all.
  python3 -m pip download -q --disable-pip-version-check --only-binary=:all: -d "$tmp/build-wheels" \
    setuptools wheel || { echo "could not fetch setuptools from PyPI"; exit 1; }
  local repo=$tmp/hook-repo
  mkdir "$repo" && cd "$repo" || exit 1
  git init -q
  cp "$root/examples/clean.yaml" deploy.yaml
  cp "$root/examples/deploy.yaml" orders.deploy.yaml
  printf 'just: [notes\n' >notes.yaml
  mkdir stack k8s
  printf 'services:\n  web: { image: nginx, ports: ["8080:80"] }\n  api: { image: api, ports: ["8080:8080"] }\n' \
    >stack/compose.yaml
  printf 'services:\n  web: { ports: ["9443:443"] }\n' >stack/compose.override.yaml
  printf 'services:\n  db: { image: postgres, ports: ["127.0.0.1:15432:5432"] }\n' >docker-compose.yml
  cp "$root/tests/fixtures/rules/port-conflict/fires-kubernetes-pod.yaml" k8s/pod.yaml
  git add -A
  # No Rust on PATH: a folder that has cargo, rustc or rustup is replaced by a copy of it (as links)
  # without them.
  local path="" dir n=0 f
  while IFS= read -r dir; do
    [ -d "$dir" ] || continue
    if [ -e "$dir/cargo" ] || [ -e "$dir/rustc" ] || [ -e "$dir/rustup" ]; then
      n=$((n + 1))
      mkdir -p "$tmp/no-rust/$n"
      for f in "$dir"/*; do
        case "${f##*/}" in cargo* | rustc* | rustup* | rustdoc* | rust-*) ;; *) ln -s "$f" "$tmp/no-rust/$n/" ;; esac
      done
      dir=$tmp/no-rust/$n
    fi
    path=${path:+$path:}$dir
  done < <(tr ':' '\n' <<<"$PATH")
  expect "no cargo or rustc on the hook's PATH" \
    test -z "$(env PATH="$path" sh -c 'command -v cargo; command -v rustc')"
  hook() { # HOOK-ID [ARGS]: pre-commit try-repo, into $out and $code
    out=$(PATH=$path PRE_COMMIT_HOME=$tmp/pre-commit-home PIP_NO_INDEX=1 \
      PIP_FIND_LINKS="$root/dist $tmp/build-wheels" \
      pre-commit try-repo "$root" "$@" --all-files --verbose 2>&1)
    code=$?
    echo "$out"
  }
  local out code start=$SECONDS
  hook preflight
  local first=$((SECONDS - start))
  echo "measured: pre-commit try-repo (install + run) ${first} s"
  expect "the preflight hook fails the bad manifest" test "$code" = 1
  expect "within a minute (${first} s)" test "$first" -lt 60
  expect "it ran the wheel's preflight on the clean one" grep -q "deploy.yaml: 0 errors, 0 warnings, 0 info" <<<"$out"
  expect "and on the bad one" grep -q "orders.deploy.yaml: 6 errors, 2 warnings" <<<"$out"
  expect "it left other YAML alone" test -z "$(grep notes.yaml <<<"$out")"
  expect "it did not check Compose files" test -z "$(grep compose <<<"$out")"
  hook preflight-compose
  expect "the preflight-compose hook fails the conflicting Compose file" test "$code" = 1
  expect "it checked the compose file, its override and docker-compose.yml" \
    grep -q "stack/compose.yaml" <<<"$out"
  expect "(the override)" grep -q "stack/compose.override.yaml" <<<"$out"
  expect "(docker-compose.yml)" grep -q "docker-compose.yml" <<<"$out"
  expect "with the conflict" grep -q "error\[port-conflict\]" <<<"$out"
  hook preflight-kubernetes
  expect "the preflight-kubernetes hook is opt-in: no files unless configured" test "$code" = 0
  expect "(it says so)" grep -q "no files to check" <<<"$out"
  # Opted in, as the README shows: `files: ^k8s/`.
  cat >"$tmp/k8s-config.yaml" <<EOF
repos:
  - repo: $root
    rev: $(git -C "$root" rev-parse HEAD)
    hooks:
      - id: preflight-kubernetes
        files: ^k8s/
EOF
  out=$(PATH=$path PRE_COMMIT_HOME=$tmp/pre-commit-home PIP_NO_INDEX=1 \
    PIP_FIND_LINKS="$root/dist $tmp/build-wheels" \
    pre-commit run --config "$tmp/k8s-config.yaml" --all-files --verbose 2>&1)
  code=$?
  echo "$out"
  expect "with files: ^k8s/ it fails the pod with two containers on one port" test "$code" = 1
  expect "with the conflict" grep -q "error\[port-conflict\]" <<<"$out"
  # (try-repo's environments are gone with its shadow repository; this run's stays in the store.)
  python3 -m zipfile -e "$root/dist/$linux_whl" "$tmp/whl" || exit 1
  local hook_bin
  hook_bin=$(find "$tmp/pre-commit-home" -path '*/bin/preflight' | head -n 1)
  expect "the hook's installed preflight is the wheel's ($hook_bin)" \
    cmp "$hook_bin" "$tmp/whl/preflight_deploy-$version.data/scripts/preflight"
}

check_action() {
  "$venv/bin/python" -c 'import yaml' 2>/dev/null || { echo "needs PyYAML in $venv"; exit 77; }
  release_tree "$tmp/srv-action"
  serve "$tmp/srv-action" || exit 1
  local sarif
  for sarif in true false; do
    rm -rf "$tmp/runner"
    mkdir -p "$tmp/runner/temp"
    "$venv/bin/python" ci/action-run.py action.yml "$tmp/runner" \
      "args=examples/deploy.yaml examples/clean.yaml" "sarif=$sarif" "download-url=$url" \
      >"$tmp/action.out" 2>&1
    local code=$?
    cat "$tmp/action.out"
    expect "sarif=$sarif: the action fails the job on the bundled example" test "$code" = 1
    expect "with annotations" grep -q "^::error file=examples/deploy.yaml" "$tmp/action.out"
    if [ "$sarif" = true ]; then
      expect "it wrote SARIF" "$venv/bin/python" -c \
        'import json,sys; d=json.load(open(sys.argv[1])); assert d["runs"][0]["results"]' \
        "$tmp/runner/temp/preflight.sarif"
      expect "and would upload it" grep -q "step 'upload SARIF': uses github/codeql-action/upload-sarif" "$tmp/action.out"
    else
      expect "no SARIF when sarif is false" test ! -e "$tmp/runner/temp/preflight.sarif"
      expect "and no upload" grep -q "step 'upload SARIF': skipped" "$tmp/action.out"
    fi
  done
}

echo "== install tests: preflight $version from dist/"
if [ ! -d dist ]; then
  echo "no dist/: run bash ci/dist.sh first"
  exit 1
fi
run artifacts check_artifacts
run archives check_archives
run wheel check_wheel
run glibc check_glibc
run windows-wheel check_windows_wheel
run install-sh check_install_sh
run install-sh-refuse check_install_sh_refuses
run install-sh-windows check_install_sh_windows
run pre-commit check_pre_commit
run action check_action

for f in "${failures[@]}"; do echo "failed: $f"; done
echo "install: $passed passed, $failed failed, $skipped skipped"
[ "${#failures[@]}" = 0 ]
