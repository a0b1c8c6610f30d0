#!/usr/bin/env bash
# The Windows lane (.ci/run calls it): builds preflight.exe for x86_64-pc-windows-gnu on this Linux
# machine, runs the library's unit tests under Wine, then tests/windows.rs against the .exe under Wine
# (same JSON as the Linux build on every example and fixture, every Windows import kind, the Windows
# fix and gen dialects, the Windows probe on a real listener, with Wine's stub netsh and with a
# stand-in that prints captured netsh output).
#
# Needs Debian's rustc-web, cargo-web and rust-web-src (Rust with the standard library's source, so
# -Zbuild-std builds std for the target with the same compiler), gcc-mingw-w64-x86-64 (the linker) and
# wine64. rustup's toolchain stays first on PATH for everything else, so Debian's is called by path.
set -euo pipefail
cd "$(dirname "$0")/.."

target=x86_64-pc-windows-gnu
export RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc RUSTC_BOOTSTRAP=1
export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER=x86_64-w64-mingw32-gcc
export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER=/usr/lib/wine/wine64
export CARGO_TARGET_DIR="$PWD/target/windows"
export WINEPREFIX="$CARGO_TARGET_DIR/wineprefix" WINEDEBUG=-all WINEARCH=win64
# One set of standard-library crates for the build and the tests, so std is compiled once.
build_std=(-Zbuild-std=std,panic_unwind,test --target "$target" --release)
mkdir -p "$CARGO_TARGET_DIR"

echo "== windows: toolchain"
/usr/bin/rustc --version
/usr/lib/wine/wine64 --version

echo "== windows: Wine prefix and test scaffolding (ci/wine/: never shipped)"
if [ ! -d "$WINEPREFIX/drive_c/windows/system32" ]; then
  /usr/lib/wine/wine64 wineboot --init >/dev/null 2>&1 || true
  /usr/lib/wine/wineserver -w || true
fi
x86_64-w64-mingw32-gcc -shared -O2 -o "$WINEPREFIX/drive_c/windows/system32/bcryptprimitives.dll" \
  ci/wine/bcryptprimitives.c
x86_64-w64-mingw32-gcc -O2 -o "$CARGO_TARGET_DIR/netsh.exe" ci/wine/netsh.c

echo "== windows: build"
start=$(date +%s)
/usr/bin/cargo build "${build_std[@]}"
echo "built $target/release/preflight.exe in $(( $(date +%s) - start )) s"

echo "== windows: library unit tests under Wine"
/usr/bin/cargo test --lib "${build_std[@]}"

echo "== windows: the .exe under Wine (tests/windows.rs)"
# One wineserver for every run, kept up between them: starting and stopping it under parallel runs
# lost a run's output now and then (tests/windows.rs reads each run's output from files, since Wine's
# services outlive the run and keep inherited pipes open).
/usr/lib/wine/wineserver -w   # the unit tests' server, ending on its own
/usr/lib/wine/wineserver -p
trap '/usr/lib/wine/wineserver -k 2>/dev/null || true' EXIT
PREFLIGHT_WINDOWS_EXE="$CARGO_TARGET_DIR/$target/release/preflight.exe" \
PREFLIGHT_FAKE_NETSH="$CARGO_TARGET_DIR/netsh.exe" \
  env -u RUSTC -u RUSTDOC -u RUSTC_BOOTSTRAP -u CARGO_TARGET_DIR \
  cargo test --test windows -- --ignored
