#![no_main]
//! cargo-fuzz target: `cargo +nightly fuzz run diagnose` (see fuzz/README.md).
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| preflight::fuzzing::diagnose(data));
