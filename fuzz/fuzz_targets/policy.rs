#![no_main]
//! cargo-fuzz target: `cargo +nightly fuzz run policy` (see fuzz/README.md).
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| preflight::fuzzing::policy(data));
