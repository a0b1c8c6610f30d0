//! The command line: the clap definitions in `args`. `main.rs` parses them and hands over to
//! [`crate::commands`]; nothing here does any work.

pub(crate) mod args;

pub use args::Cli;
