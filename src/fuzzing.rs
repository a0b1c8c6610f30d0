//! Entry points for fuzzing: each takes arbitrary bytes and must return without panicking, whatever
//! they hold. `fuzz/fuzz_targets/*` (cargo-fuzz, nightly) call them, and so does the stable harness in
//! `tests/fuzz.rs`, which replays the corpus and the minimized crashes kept under `fuzz/` on every
//! `cargo test`.

use crate::facts::Facts;
use crate::facts::import::{ImportKind, import};
use crate::facts::parse;
use crate::manifest::{LoadOptions, load_str};

fn text(data: &[u8]) -> String {
    String::from_utf8_lossy(data).into_owned()
}

/// The manifest loader, and the rules and reports on whatever it accepts.
pub fn manifest(data: &[u8]) {
    if let Ok((m, doc)) = load_str("fuzz.yaml", text(data), &LoadOptions::default()) {
        let policy = crate::policy::Policy::default();
        let today = crate::policy::date::Date::from_days(20_000);
        let checked = crate::check::check_manifest(&m, doc, &policy, &[], today, true);
        let mut sink = Vec::new();
        let outcomes = [crate::check::Outcome::Checked(Box::new(checked))];
        let _ = crate::report::json::write(&mut sink, &outcomes);
        let _ =
            crate::report::human::write(&mut sink, &outcomes, crate::report::human::Style::Plain);
    }
}

/// The policy loader (expressions included).
pub fn policy(data: &[u8]) {
    let _ = crate::policy::load::load_str("fuzz.preflight.yaml", &text(data), &crate::rules::ids());
}

/// Every command-output parser and importer.
pub fn parsers(data: &[u8]) {
    let t = text(data);
    let _ = parse::excludedportrange(&t);
    let _ = parse::dynamicport(&t);
    let _ = parse::netstat_ano(&t);
    let _ = parse::ss(&t);
    let _ = parse::netstat_linux(&t);
    let _ = parse::port_list(&t);
    let _ = parse::two_numbers(&t);
    let _ = crate::facts::firewall::windows::netsh_rules(&t);
    let _ = crate::facts::firewall::windows::netsh_profiles(&t);
    let _ = crate::facts::firewall::windows::powershell(&t);
    let _ = crate::facts::firewall::iptables::ruleset(
        &t,
        crate::facts::firewall::engine::Family::V4,
        "iptables",
    );
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(&t) {
        let _ = crate::facts::firewall::nft::ruleset(&v, false);
    }
    for (_, kind) in ImportKind::ALL {
        let _ = import(*kind, &t, &mut Facts::new());
    }
}

/// `diagnose` on arbitrary error text.
pub fn diagnose(data: &[u8]) {
    let _ = crate::diagnose::diagnose(&text(data));
}
