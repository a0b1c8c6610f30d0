//! preflight: checks a deploy manifest for everything that will make `listen` fail or a port unreachable.
//!
//! The pipeline runs one way (see `ARCHITECTURE.md`): [`manifest`] loads and resolves `deploy.yaml`,
//! [`policy`] decides which rules run, [`facts`] describes the target host, [`rules`] turn those into
//! [`finding::Finding`]s, and [`report`] renders them; [`fix`] holds the fix intents. [`check`] wires the
//! stages together for one file and [`cli`] is the command line.

pub mod check;
pub mod cli;
pub mod commands;
pub mod diagnose;
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
pub mod suggest;
