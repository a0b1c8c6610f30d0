#![no_main]
//! cargo-fuzz target: `bash benches/fuzz.sh` or `cargo fuzz run kubernetes` (see fuzz/README.md).
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| preflight::fuzzing::kubernetes(data));
