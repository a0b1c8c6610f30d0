#!/usr/bin/env bash
# Builds the release set into dist/ (.ci/run calls it after the Windows lane; README "Releasing"):
#
#   preflight_deploy-V-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl   maturin + zig, glibc 2.17
#   preflight_deploy-V-py3-none-win_amd64.whl         the Windows lane's preflight.exe, packed by `wheel pack`
#   preflight-V-x86_64-unknown-linux-gnu.tar.gz       the Linux wheel's binary, README, CHANGELOG, licences
#   preflight-V-x86_64-pc-windows-gnu.zip             preflight.exe, the same documents
#   install.sh                                        the installer (README "Install"), which uses these
#   SHA256SUMS                                        over all of the above
#
# V is the version in Cargo.toml. The Linux binary is built once, by maturin with zig as the linker
# against glibc 2.17 (manylinux2014), and the archive carries the very same file. The Windows binary is
# the one ci/windows.sh builds (Debian's Rust with -Zbuild-std, the mingw linker); this script runs the
# same cargo command, which does nothing when ci/windows.sh has just built it and builds it otherwise.
#
# Needs: python3 with venv (maturin, ziglang and wheel are installed from PyPI into .ci/venv), and for the
# Windows half Debian's rustc-web, cargo-web, rust-web-src and gcc-mingw-w64-x86-64 (see .ci/run).
# PREFLIGHT_DIST_SKIP_WINDOWS=1 builds the Linux half alone (dist/ is then not a full release set).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

version=$(sed -n 's/^version = "\([^"]*\)"$/\1/p' Cargo.toml | head -n 1)
[ -n "$version" ] || { echo "dist: no version in Cargo.toml" >&2; exit 1; }
echo "== dist: preflight $version"

# Every place that names the version must name this one.
problems=0
grep -q "^PREFLIGHT_VERSION = \"$version\"$" setup.py ||
  { echo "dist: setup.py pins another version than Cargo.toml's $version" >&2; problems=1; }
grep -q "^default_version=$version$" install.sh ||
  { echo "dist: install.sh defaults to another version than $version" >&2; problems=1; }
grep -q "^## $version\b" CHANGELOG.md ||
  { echo "dist: CHANGELOG.md has no section '## $version'" >&2; problems=1; }
[ "$problems" = 0 ] || exit 1

# Build tools from PyPI, pinned: the versions this release set was checked with.
venv=${PREFLIGHT_DIST_VENV:-$root/.ci/venv}
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install -q "maturin==1.16.0" "ziglang==0.17.1" "wheel==0.48.0"
py=$venv/bin/python

rm -rf dist
mkdir -p dist
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

echo "== dist: Linux wheel (maturin, zig, manylinux2014)"
start=$(date +%s)
# maturin finds zig through the ziglang package of the interpreter it runs under.
(cd pypi && PATH="$venv/bin:$PATH" maturin build --release --zig --compatibility manylinux2014 \
  --out "$stage/maturin")
# maturin names the two tags of the one platform in the other order (manylinux2014_x86_64 first); the
# tag set is the same, and this is the order pip's own and auditwheel's wheels use.
built=$stage/maturin/preflight_deploy-$version-py3-none-manylinux2014_x86_64.manylinux_2_17_x86_64.whl
[ -f "$built" ] || { echo "dist: maturin did not write $built:" >&2; ls "$stage/maturin" >&2; exit 1; }
linux_wheel=dist/preflight_deploy-$version-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl
mv "$built" "$linux_wheel"
echo "built $linux_wheel in $(( $(date +%s) - start )) s"

"$py" -m wheel unpack --dest "$stage/linux-wheel" "$linux_wheel" >/dev/null
unpacked=$stage/linux-wheel/preflight_deploy-$version
linux_bin=$unpacked/preflight_deploy-$version.data/scripts/preflight
[ -x "$linux_bin" ] || { echo "dist: the Linux wheel holds no preflight binary" >&2; exit 1; }

docs=(README.md CHANGELOG.md LICENSE-MIT LICENSE-APACHE)
# Archives list their files in a fixed order with the commit's time, owned by root.
epoch=$(git log -1 --format=%ct 2>/dev/null || date +%s)

echo "== dist: Linux archive"
name=preflight-$version-x86_64-unknown-linux-gnu
mkdir -p "$stage/$name"
cp "$linux_bin" "$stage/$name/preflight"
cp "${docs[@]}" "$stage/$name/"
tar -C "$stage" --sort=name --mtime="@$epoch" --owner=0 --group=0 --numeric-owner \
  -cf - "$name" | gzip -9n >"dist/$name.tar.gz"

if [ "${PREFLIGHT_DIST_SKIP_WINDOWS:-}" = 1 ]; then
  echo "== dist: Windows skipped (PREFLIGHT_DIST_SKIP_WINDOWS=1)"
else
  echo "== dist: Windows binary (the Windows lane's build)"
  exe=target/windows/x86_64-pc-windows-gnu/release/preflight.exe
  # The command of ci/windows.sh, so its build is reused as it stands, and rebuilt when it is stale.
  (
    export RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc RUSTC_BOOTSTRAP=1
    export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER=x86_64-w64-mingw32-gcc
    export CARGO_TARGET_DIR="$root/target/windows"
    /usr/bin/cargo build -Zbuild-std=std,panic_unwind,test --target x86_64-pc-windows-gnu --release --quiet
  )
  [ -f "$exe" ] || { echo "dist: no $exe" >&2; exit 1; }
  x86_64-w64-mingw32-strip -o "$stage/preflight.exe" "$exe"

  echo "== dist: Windows wheel (wheel pack)"
  # The Linux wheel's metadata and licences, a WHEEL file with the Windows tag, the .exe as a script:
  # `wheel pack` writes RECORD and names the file from the tag.
  win=$stage/win-wheel/preflight_deploy-$version
  mkdir -p "$win/preflight_deploy-$version.data/scripts"
  cp -r "$unpacked/preflight_deploy-$version.dist-info" "$win/"
  # The SBOM maturin wrote lists the Linux build's crates; the Windows build has others.
  rm -rf "$win/preflight_deploy-$version.dist-info/RECORD" "$win/preflight_deploy-$version.dist-info/sboms"
  cat >"$win/preflight_deploy-$version.dist-info/WHEEL" <<EOF
Wheel-Version: 1.0
Generator: preflight ci/dist.sh (wheel pack)
Root-Is-Purelib: false
Tag: py3-none-win_amd64
EOF
  cp "$stage/preflight.exe" "$win/preflight_deploy-$version.data/scripts/preflight.exe"
  "$py" -m wheel pack --dest-dir dist "$win" >/dev/null
  [ -f "dist/preflight_deploy-$version-py3-none-win_amd64.whl" ] ||
    { echo "dist: wheel pack did not write the win_amd64 wheel:" >&2; ls dist >&2; exit 1; }

  echo "== dist: Windows archive"
  name=preflight-$version-x86_64-pc-windows-gnu
  mkdir -p "$stage/$name"
  cp "$stage/preflight.exe" "$stage/$name/"
  cp "${docs[@]}" "$stage/$name/"
  find "$stage/$name" -exec touch -d "@$epoch" {} +
  # Python's zipfile, deflated (its command line would store the files uncompressed).
  (cd "$stage" && "$py" - "$root/dist/$name.zip" "$name" <<'PY'
import os, sys, zipfile
out, top = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
    for name in sorted(os.listdir(top)):
        z.write(os.path.join(top, name), f"{top}/{name}")
PY
  )
fi

# The installer, as a release asset: `curl -fsSL <release>/install.sh | sh` takes this release's.
cp install.sh dist/install.sh

echo "== dist: SHA256SUMS"
(cd dist && sha256sum -- * >"$stage/SHA256SUMS") && mv "$stage/SHA256SUMS" dist/SHA256SUMS
ls -l dist
cat dist/SHA256SUMS
