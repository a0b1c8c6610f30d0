//! preflight: checks a deploy manifest for everything that will make `listen` fail or a port unreachable.
//!
//! # Architecture
//!
//! One pipeline, one direction: text is read into models, rules turn the models into findings, and
//! reporters and fix renderers turn findings into output.
//!
//! ```text
//! deploy.yaml ──► document ──► manifest ──► Manifest ─┐
//! policies    ──► document ──► policy   ──► Policy  ──┤
//! --local / --facts ─► facts ─► fleet   ──► Hosts   ──┤
//!                                                      ▼
//!                    rules (registry · engine · one file per rule · custom · fleet) ──► check
//!                                                      ▼
//!                report::{human, json, sarif, junit, github}   fix::{script, generate}
//!                                                      ▼
//!                                cli (clap) ──► commands (one file per subcommand) ──► main
//! ```
//!
//! Each module imports only its own layer or the layers below it, and no two files import each other
//! through a chain; `tests/architecture.rs` reads the sources and fails on any upward import or cycle.
//! The layers, bottom to top:
//!
//! 1. `document`
//! 2. `ports`, `finding`
//! 3. `manifest`, `policy`, `facts`
//! 4. `fleet`, `rules`, `diagnose`, `suggest`
//! 5. `check`
//! 6. `report`, `fix`
//! 7. `cli`, `commands`, `fuzzing`
//!
//! - [`document`]: text in. Reading with limits, the span-aware YAML parse, schema validation, the
//!   path → span table, located problems and typed load errors. Knows nothing of ports.
//! - [`ports`] (ranges, protocols, platforms, address overlap) and [`finding`] (findings, severities,
//!   rule metadata and fix intents): plain data every layer above shares.
//! - [`manifest`], [`policy`], [`facts`]: each reads its own model (`deploy.yaml`; policy packs and
//!   files; live or captured host facts, with the import kinds above the leaf parsers).
//! - [`fleet`] (hosts from facts files), [`rules`] (the registry, the engine, one file per rule, custom
//!   rules, fleet dedup), and the two analyses built on them: `diagnose` (an error text's causes) and
//!   `suggest` (the lowest port that passes every rule).
//! - [`check`]: one run, inputs to sorted findings, waivers applied.
//! - [`report`] and [`fix`]: they only read findings and places.
//! - [`cli`] (the clap definitions), [`commands`] (one file per subcommand, each returning
//!   `Result<ExitCode, Error>`; one place turns an error into stderr and exit 2), and [`fuzzing`] (the
//!   fuzz harness's entry points). `main.rs` parses the command line and calls [`commands::main`].
//!
//! Hand-written code stays where it is measured better or no crate covers it, and says so in its module
//! doc: the event-based YAML builder ([`document::yaml`]), the quoting of values for each shell and
//! firewall dialect (`fix::quote`), and the socket-owner walk of the Linux probe (`facts::probe`).

pub mod check;
pub mod cli;
pub mod commands;
pub(crate) mod diagnose;
pub mod document;
pub mod facts;
pub mod finding;
pub mod fix;
pub mod fleet;
pub mod fuzzing;
pub mod manifest;
pub mod policy;
pub mod ports;
pub mod report;
pub mod rules;
pub(crate) mod suggest;
