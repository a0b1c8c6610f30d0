//! 300 randomly mangled manifests through the real binary: each ends with exit code 0, 1 or 2, never a
//! panic, and none hangs (a generous 10 s guard per run; the speed figures live in benches/, not here).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::root;

fn seeds() -> Vec<Vec<u8>> {
    let mut v = Vec::new();
    for dir in ["examples", "examples/policy", "tests/fixtures/bad"] {
        for e in std::fs::read_dir(root().join(dir)).unwrap().flatten() {
            if e.path().extension().is_some_and(|x| x == "yaml") {
                v.push(std::fs::read(e.path()).unwrap());
            }
        }
    }
    for e in std::fs::read_dir(root().join("tests/fixtures/rules"))
        .unwrap()
        .flatten()
    {
        for f in std::fs::read_dir(e.path()).unwrap().flatten() {
            if f.path().extension().is_some_and(|x| x == "yaml") {
                v.push(std::fs::read(f.path()).unwrap());
            }
        }
    }
    v.sort();
    v
}

#[test]
fn mangled_manifests_never_crash_or_hang() {
    let seeds = seeds();
    let tmp = tempfile::tempdir().unwrap();
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut rnd = |n: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % n.max(1) as u64) as usize
    };
    let mut codes = [0usize; 3];
    for i in 0..300 {
        let mut m = seeds[rnd(seeds.len())].clone();
        for _ in 0..=rnd(5) {
            let at = rnd(m.len() + 1);
            match rnd(5) {
                0 if !m.is_empty() => {
                    let j = rnd(m.len());
                    let pool = b" :-{}[]&*#\n\"'0123456789abc";
                    m[j] = pool[rnd(pool.len())];
                }
                1 if !m.is_empty() => {
                    let end = (at + rnd(20)).min(m.len());
                    m.drain(at.min(end)..end);
                }
                2 => m.splice(at..at, b"\n  ".iter().copied()).for_each(drop),
                3 => m.splice(at..at, b"70000".iter().copied()).for_each(drop),
                _ => m.insert(at, rnd(256) as u8),
            }
        }
        let f = tmp.path().join(format!("m{i}.yaml"));
        std::fs::write(&f, &m).unwrap();
        let started = Instant::now();
        let mut child = Command::new(env!("CARGO_BIN_EXE_preflight"))
            .args(["check", f.to_str().unwrap(), "--format", "json"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break s;
            }
            if started.elapsed() > Duration::from_secs(10) {
                let _ = child.kill();
                panic!("m{i}.yaml hangs");
            }
            std::thread::sleep(Duration::from_millis(2));
        };
        let mut err = String::new();
        std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
        assert!(!err.contains("panicked"), "m{i}.yaml: {err}");
        let code = status.code().unwrap();
        assert!((0..=2).contains(&code), "m{i}.yaml: exit {code}");
        codes[code as usize] += 1;
    }
    // The mangling must really exercise all three outcomes.
    assert!(codes.iter().all(|c| *c > 0), "exit codes seen: {codes:?}");
}
