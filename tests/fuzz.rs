//! The fuzz targets on stable: replay `fuzz/corpus/*` and `fuzz/regressions/*`, then mutate the seeds
//! with a deterministic generator. Any panic fails the test; `PREFLIGHT_FUZZ_ITERS` sets the number of
//! mutations per target (default 3000, 500 for the targets that read a whole project per input).
//! Coverage-guided fuzzing (libFuzzer) is `bash benches/fuzz.sh SECONDS`; see fuzz/README.md.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::root;

/// xorshift64*: small, deterministic, good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Tokens that tend to matter to YAML, templates, parsers and error text.
const TOKENS: &[&str] = &[
    "&a ",
    "*a",
    "<<: *a",
    "${",
    "${X:-",
    "}",
    "{{",
    "}}",
    "{%",
    "[",
    "]",
    "{",
    "}",
    ": ",
    "- ",
    "\n  ",
    "\t",
    "\u{feff}",
    "\r\n",
    "#",
    "'",
    "\"",
    "\\",
    "99999999999999999999",
    "-1",
    "0",
    "65536",
    "::",
    "[::]:",
    "0.0.0.0:0",
    "*:*",
    "LISTEN",
    "TIME-WAIT",
    "users:((\"",
    "pid=",
    "Rule Name:",
    "Action:",
    "*filter",
    ":INPUT DROP [0:0]",
    "-A INPUT",
    "--dport",
    "COMMIT",
    "\u{0}",
    "é",
    "🚀",
    "!!binary ",
    "? ",
    "errno 98]",
    "10013",
    "listen tcp :",
    "dial tcp ",
    "port ",
    "range(",
    "| list",
    "service.",
    "port.number",
];

fn mutate(rng: &mut Rng, seed: &[u8]) -> Vec<u8> {
    let mut v = seed.to_vec();
    for _ in 0..=rng.below(8) {
        let at = rng.below(v.len() + 1);
        match rng.below(6) {
            0 if !v.is_empty() => {
                let i = rng.below(v.len());
                v[i] ^= 1 << rng.below(8);
            }
            1 if !v.is_empty() => {
                let end = (at + rng.below(32)).min(v.len());
                v.drain(at.min(end)..end);
            }
            2 => {
                let t = TOKENS[rng.below(TOKENS.len())].as_bytes();
                v.splice(at..at, t.iter().copied());
            }
            3 if !v.is_empty() => {
                // duplicate a slice (deep nesting, repeated keys)
                let start = rng.below(v.len());
                let end = (start + rng.below(64)).min(v.len());
                let chunk = v[start..end].to_vec();
                v.splice(at..at, chunk);
            }
            4 => v.insert(at, rng.below(256) as u8),
            _ => v.truncate(at),
        }
    }
    v
}

fn files(dir: &str) -> Vec<(String, Vec<u8>)> {
    let d = root().join("fuzz").join(dir);
    let Ok(rd) = std::fs::read_dir(&d) else {
        return Vec::new();
    };
    let mut v: Vec<(String, Vec<u8>)> = rd
        .flatten()
        .map(|e| {
            (
                e.path().display().to_string(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

fn run(target: &str, f: fn(&[u8])) {
    run_n(target, f, 3000);
}

fn run_n(target: &str, f: fn(&[u8]), default_iters: usize) {
    let iters: usize = std::env::var("PREFLIGHT_FUZZ_ITERS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default_iters);
    let seeds = files(&format!("corpus/{target}"));
    assert!(!seeds.is_empty(), "no corpus for {target}");
    for (name, data) in seeds
        .iter()
        .chain(files(&format!("regressions/{target}")).iter())
    {
        let r = std::panic::catch_unwind(|| f(data));
        assert!(r.is_ok(), "{target}: {name} panics");
    }
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ target.len() as u64);
    for i in 0..iters {
        let (_, seed) = &seeds[rng.below(seeds.len())];
        let input = mutate(&mut rng, seed);
        let r = std::panic::catch_unwind(|| f(&input));
        if r.is_err() {
            let out = std::env::temp_dir().join(format!("preflight-fuzz-{target}-{i}"));
            std::fs::write(&out, &input).unwrap();
            panic!(
                "{target}: mutation {i} panics; input saved to {} (minimize it into fuzz/regressions/{target}/)",
                out.display()
            );
        }
    }
}

#[test]
fn manifest() {
    run("manifest", preflight::fuzzing::manifest);
}

#[test]
fn policy() {
    run("policy", preflight::fuzzing::policy);
}

#[test]
fn parsers() {
    run("parsers", preflight::fuzzing::parsers);
}

#[test]
fn diagnose() {
    run("diagnose", preflight::fuzzing::diagnose);
}

#[test]
fn compose() {
    run_n("compose", preflight::fuzzing::compose, 500);
}

#[test]
fn kubernetes() {
    run_n("kubernetes", preflight::fuzzing::kubernetes, 500);
}

#[test]
fn facts() {
    run_n("facts", preflight::fuzzing::facts, 500);
}

#[test]
fn ignores() {
    run("ignores", preflight::fuzzing::ignores);
}

#[test]
fn baseline() {
    run_n("baseline", preflight::fuzzing::baseline, 500);
}
