#!/bin/sh
# Installs the prebuilt preflight from a release, with no Rust toolchain:
#
#   curl -fsSL https://github.com/preflight-deploy/preflight/releases/download/v0.1.0/install.sh | sh
#   sh install.sh                      # from a checkout
#
# It picks the archive for this machine (Linux x86_64; Windows x86_64 under Git Bash, MSYS2 or Cygwin),
# downloads it and SHA256SUMS from the release, refuses to install anything when the archive's SHA-256
# differs from the one SHA256SUMS lists, and copies the binary into ~/.local/bin. Settings:
#
#   PREFLIGHT_VERSION       the release to install (default: the one this script comes with)
#   PREFLIGHT_DOWNLOAD_URL  where releases are: <URL>/v<VERSION>/<file> (default: the project's releases)
#   PREFLIGHT_INSTALL_DIR   where the binary goes (default: ~/.local/bin)
#
# Needs curl or wget, tar (Linux) or unzip (Windows), and sha256sum or shasum.
set -eu

# ci/dist.sh checks that this is the version in Cargo.toml.
default_version=0.1.0
default_url=https://github.com/preflight-deploy/preflight/releases/download

say() { printf 'install.sh: %s\n' "$*"; }
fail() {
  printf 'install.sh: error: %s\n' "$*" >&2
  exit 1
}

version=${PREFLIGHT_VERSION:-$default_version}
version=${version#v}
base=${PREFLIGHT_DOWNLOAD_URL:-$default_url}
base=${base%/}
dest=${PREFLIGHT_INSTALL_DIR:-}
if [ -z "$dest" ]; then
  [ -n "${HOME:-}" ] || fail "HOME is not set: set PREFLIGHT_INSTALL_DIR to where preflight should go"
  dest=$HOME/.local/bin
fi

os=$(uname -s)
arch=$(uname -m)
case "$os" in
  Linux) target=x86_64-unknown-linux-gnu ext=tar.gz exe=preflight ;;
  MINGW* | MSYS* | CYGWIN* | Windows_NT) target=x86_64-pc-windows-gnu ext=zip exe=preflight.exe ;;
  *) fail "there is no prebuilt preflight for $os: install it with 'pip install preflight-deploy' or 'cargo install --locked --path .' from a checkout" ;;
esac
case "$arch" in
  x86_64 | amd64 | AMD64) ;;
  *) fail "there is no prebuilt preflight for $arch on $os: install it with 'cargo install --locked --path .' from a checkout" ;;
esac

archive=preflight-$version-$target.$ext
url=$base/v$version

download() { # URL FILE
  if command -v curl >/dev/null 2>&1; then
    curl --fail --silent --show-error --location --retry 2 --output "$2" "$1"
  elif command -v wget >/dev/null 2>&1; then
    wget --quiet --output-document "$2" "$1"
  else
    fail "needs curl or wget to download $1"
  fi
}

sha256() { # FILE: its SHA-256 in hex
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | cut -d ' ' -f 1
  elif command -v shasum >/dev/null 2>&1; then
    shasum -a 256 "$1" | cut -d ' ' -f 1
  else
    fail "needs sha256sum or shasum to verify the download"
  fi
}

tmp=$(mktemp -d 2>/dev/null || mktemp -d -t preflight)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

say "downloading $url/$archive"
download "$url/$archive" "$tmp/$archive" || fail "could not download $url/$archive (is $version a release?)"
download "$url/SHA256SUMS" "$tmp/SHA256SUMS" || fail "could not download $url/SHA256SUMS"

# A line of SHA256SUMS is '<hex>  <file>' ('*<file>' in binary mode).
expected=$(awk -v f="$archive" '$2 == f || $2 == "*" f { print $1; exit }' "$tmp/SHA256SUMS")
[ -n "$expected" ] || fail "SHA256SUMS does not list $archive: nothing installed"
actual=$(sha256 "$tmp/$archive")
if [ "$actual" != "$expected" ]; then
  fail "checksum mismatch for $archive: SHA256SUMS says $expected, the download is $actual; nothing installed"
fi
say "verified $archive (sha256 $actual)"

mkdir "$tmp/unpacked"
case "$ext" in
  tar.gz) tar -xzf "$tmp/$archive" -C "$tmp/unpacked" ;;
  zip)
    command -v unzip >/dev/null 2>&1 || fail "needs unzip to unpack $archive"
    unzip -q "$tmp/$archive" -d "$tmp/unpacked"
    ;;
esac
binary=$tmp/unpacked/preflight-$version-$target/$exe
[ -f "$binary" ] || fail "$archive holds no preflight-$version-$target/$exe: nothing installed"

mkdir -p "$dest" || fail "could not create $dest"
# Copy next to the destination, then rename over it: a running preflight is never half-written.
cp "$binary" "$dest/.$exe.$$"
chmod 755 "$dest/.$exe.$$"
mv -f "$dest/.$exe.$$" "$dest/$exe"

if installed=$("$dest/$exe" --version 2>/dev/null); then
  say "installed $installed as $dest/$exe"
else
  say "installed $dest/$exe (from $archive)"
fi
case ":${PATH:-}:" in
  *":$dest:"*) ;;
  *) say "$dest is not on your PATH; add it, e.g. export PATH=\"$dest:\$PATH\"" ;;
esac
