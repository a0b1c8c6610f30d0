//! Entry points for fuzzing: each takes arbitrary bytes and must return without panicking, whatever
//! they hold. `fuzz/fuzz_targets/*` (cargo-fuzz, nightly) call them, and so does the stable harness in
//! `tests/fuzz.rs`, which replays the corpus and the minimized crashes kept under `fuzz/` on every
//! `cargo test`.

use crate::facts::Facts;
use crate::facts::import::{ImportKind, import};
use crate::facts::parse;
use crate::fleet::Host;
use crate::manifest::{LoadOptions, load_str};

fn text(data: &[u8]) -> String {
    String::from_utf8_lossy(data).into_owned()
}

/// The manifest loader, and the rules and reports on whatever it accepts.
pub fn manifest(data: &[u8]) {
    if let Ok((m, doc)) = load_str("fuzz.yaml", text(data), &LoadOptions::default()) {
        let policy = crate::policy::Policy::default();
        let today = crate::policy::date::Date::from_days(20_000);
        let checked = crate::check::check_manifest(m, doc, &policy, &[], today, true);
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

/// The check and the reports (every format) on a loaded input, as `preflight check` runs them, with `baseline`
/// applied (when `None`, the baseline the findings themselves make: every one held back).
fn check_and_report(
    m: crate::manifest::Manifest,
    doc: crate::document::Document,
    hosts: &[Host],
    baseline: Option<&crate::check::baseline::Baseline>,
) {
    let policy = crate::policy::Policy::default();
    let today = crate::policy::date::Date::from_days(20_000);
    let checked = crate::check::check_manifest(m, doc, &policy, hosts, today, true);
    let mut outcomes = vec![crate::check::Outcome::Checked(Box::new(checked))];
    let own;
    let baseline = match baseline {
        Some(b) => b,
        None => {
            own = crate::check::baseline_of(&outcomes);
            &own
        }
    };
    crate::check::apply_baseline(&mut outcomes, baseline, "fuzz.baseline.json");
    let mut sink = Vec::new();
    let _ = crate::report::json::write(&mut sink, &outcomes);
    let _ = crate::report::sarif::write(&mut sink, &outcomes, &policy);
    let _ = crate::report::human::write(&mut sink, &outcomes, crate::report::human::Style::Plain);
    let fail_on = Some(crate::finding::Severity::Warning);
    let _ = crate::report::junit::write(&mut sink, &outcomes, &policy, fail_on);
    let _ = crate::report::github::write(&mut sink, &outcomes);
}

/// A private scratch directory for targets that read several files: emptied, then filled with the
/// files the input holds. The first file is `first`; a line `#@ NAME` starts the next one, NAME being
/// a relative path of `[A-Za-z0-9._-]` components (others are skipped), so `extends: {file: …}`,
/// `include:`, `env_file` and `.env` reach files of the input.
fn scratch(data: &[u8], first: &str) -> Option<std::path::PathBuf> {
    // One directory per process and thread: the stable harness runs targets on parallel threads.
    let thread = format!("{:?}", std::thread::current().id());
    let thread: String = thread.chars().filter(char::is_ascii_digit).collect();
    let dir = std::env::temp_dir().join(format!("preflight-fuzz-{}-{thread}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).ok()?;
    let text = text(data);
    let mut name = first.to_owned();
    let mut body = String::new();
    let write = |name: &str, body: &str| {
        let ok = !name.is_empty()
            && name.split('/').all(|c| {
                !c.is_empty()
                    && c != ".."
                    && c.chars()
                        .all(|ch| ch.is_ascii_alphanumeric() || "._-".contains(ch))
            });
        if ok {
            let path = dir.join(name);
            if let Some(parent) = path.parent() {
                let _ = std::fs::create_dir_all(parent);
            }
            let _ = std::fs::write(path, body);
        }
    };
    for line in text.split_inclusive('\n') {
        if let Some(next) = line.strip_prefix("#@ ") {
            write(&name, &body);
            name = next.trim().to_owned();
            body.clear();
        } else {
            body.push_str(line);
        }
    }
    write(&name, &body);
    Some(dir)
}

/// The Compose reader: a project of `compose.yaml` and the files it names (see [`scratch`]):
/// interpolation from `.env`, `extends`, `include`, the override merge of `compose.override.yaml`
/// when the input has one, then the rules and reports.
pub fn compose(data: &[u8]) {
    let Some(dir) = scratch(data, "compose.yaml") else {
        return;
    };
    let mut files = vec![dir.join("compose.yaml")];
    let extra = dir.join("compose.override.yaml");
    if extra.is_file() {
        files.push(extra);
    }
    let opts = LoadOptions {
        kind: Some(crate::manifest::Kind::Compose),
        ..LoadOptions::default()
    };
    if let Ok((m, doc)) = crate::manifest::load::load_compose_files(&files, &opts) {
        check_and_report(m, doc, &[], None);
    }
}

/// The Kubernetes reader: a multi-document stream (Lists, Helm's `# Source:` comments) as one file,
/// or, when the input holds `#@ NAME` lines, a directory of manifests read as one input.
pub fn kubernetes(data: &[u8]) {
    let opts = LoadOptions {
        kind: Some(crate::manifest::Kind::Kubernetes),
        ..LoadOptions::default()
    };
    let loaded = if data.windows(3).any(|w| w == b"#@ ") {
        let Some(dir) = scratch(data, "a.yaml") else {
            return;
        };
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_file())
            .collect();
        files.sort();
        crate::manifest::load::load_kubernetes_files(&files, &opts)
    } else {
        crate::manifest::load::load_in("fuzz.yaml", text(data), std::path::Path::new("."), &opts)
    };
    if let Ok((m, doc)) = loaded {
        check_and_report(m, doc, &[], None);
    }
}

/// A deploy manifest whose ports, binds and users give every host rule something to judge, for the
/// targets that vary the other inputs.
const FUZZ_MANIFEST: &str = include_str!("../fuzz/manifest.yaml");

/// The facts file reader (`--facts`, with the raw `captures` it may carry), then every host rule
/// on those facts against a fixed manifest.
pub fn facts(data: &[u8]) {
    let Ok(facts) = crate::facts::import::from_text("fuzz.facts.json", &text(data)) else {
        return;
    };
    let host = Host {
        name: "fuzz".to_owned(),
        source: "fuzz.facts.json".to_owned(),
        facts,
    };
    for platform in ["linux", "windows"] {
        let text = FUZZ_MANIFEST.replace("platform: linux", &format!("platform: {platform}"));
        if let Ok((m, doc)) = load_str("deploy.yaml", text, &LoadOptions::default()) {
            check_and_report(m, doc, std::slice::from_ref(&host), None);
        }
    }
}

/// The inline-ignore readers: the comment directives of any text, then a manifest carrying them
/// (deploy manifest, Compose file or Kubernetes stream, whichever the text is) checked with them.
pub fn ignores(data: &[u8]) {
    let t = text(data);
    let _ = crate::document::directives::directives(&t);
    if let Ok((m, doc)) = crate::manifest::load::load_in(
        "fuzz.yaml",
        t,
        std::path::Path::new("."),
        &LoadOptions::default(),
    ) {
        check_and_report(m, doc, &[], None);
    }
}

/// The baseline reader, then the baseline applied to the findings of a fixed manifest.
pub fn baseline(data: &[u8]) {
    let Ok(b) = crate::check::baseline::Baseline::from_text("fuzz.baseline.json", &text(data))
    else {
        return;
    };
    if let Ok((m, doc)) = load_str(
        "deploy.yaml",
        FUZZ_MANIFEST.to_owned(),
        &LoadOptions::default(),
    ) {
        check_and_report(m, doc, &[], Some(&b));
    }
}
