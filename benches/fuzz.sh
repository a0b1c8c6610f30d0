#!/usr/bin/env bash
# Coverage-guided fuzzing of every target in fuzz/ with libFuzzer (cargo-fuzz), one after the other.
#
#   bash benches/fuzz.sh SECONDS [TARGET...]    # each target for SECONDS (default 60); all targets by default
#
# cargo-fuzz needs nightly compiler flags (-Zsanitizer); the stable toolchain accepts them with
# RUSTC_BOOTSTRAP=1, which this script sets. cargo-fuzz is installed with `cargo install cargo-fuzz
# --locked` when it is missing. Seeds are fuzz/corpus/TARGET (committed, read only here); what
# libFuzzer finds goes to fuzz/target/corpus/TARGET (kept between runs, not committed). A crash stops
# its target and is minimized into fuzz/artifacts/TARGET/; copy the minimized input into
# fuzz/regressions/TARGET/ so `cargo test --test fuzz` replays it from then on.
#
# Prints one line per target: executions, executions per second, coverage (edges: libFuzzer's `cov`,
# features: `ft`), corpus size, peak RSS. Exits non-zero when any target crashed, leaked, timed out
# or ran out of memory.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(sed -n 's/^name = "\(.*\)"$/\1/p' fuzz/Cargo.toml | grep -v '^preflight-fuzz$')
fi
export RUSTC_BOOTSTRAP=1
if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked --version 0.13.2
fi
# One build of every target (release, debug assertions, AddressSanitizer), then each binary is run
# directly. PREFLIGHT_FUZZ_NO_BUILD=1 runs what is built.
[ -n "${PREFLIGHT_FUZZ_NO_BUILD:-}" ] || cargo fuzz build
bin_dir=fuzz/target/$(rustc -vV | sed -n 's/^host: //p')/release
echo "libFuzzer, ${seconds} s per target, $(nproc) cores, $(cargo fuzz --version)"
printf '%-11s %12s %9s %7s %7s %7s %8s  %s\n' target executions exec/s cov ft corpus rss_mb result
failed=0
for t in "${targets[@]}"; do
  work=fuzz/target/corpus/$t
  mkdir -p "$work" "fuzz/artifacts/$t"
  dict=()
  [ -f "fuzz/dict/$t.dict" ] && dict=("-dict=fuzz/dict/$t.dict")
  log=fuzz/target/$t.log
  set +e
  "$bin_dir/$t" "$work" "fuzz/corpus/$t" \
    -max_total_time="$seconds" -timeout=20 -rss_limit_mb=2048 -max_len=65536 \
    -artifact_prefix="fuzz/artifacts/$t/" -print_final_stats=1 "${dict[@]}" >"$log" 2>&1
  rc=$?
  set -e
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -1)
  last=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  corp=$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<<"$last")
  if [ "$rc" -eq 0 ]; then
    result=ok
  else
    result="FAILED (exit $rc): $(grep -m1 -E '^==[0-9]+==|panicked at|ERROR: libFuzzer' "$log" || echo 'see log') — log $log"
    failed=1
  fi
  printf '%-11s %12s %9s %7s %7s %7s %8s  %s\n' "$t" "${runs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "${rss:-?}" "$result"
done
exit "$failed"
