//! How a manifest is loaded: whether `${VAR}` may read the process environment, and the input limits.

use crate::document;

/// Limits that keep hostile or accidental input from running away.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Limits of reading and parsing the file.
    pub input: document::Limits,
    /// Most services in one manifest.
    pub max_services: usize,
    /// Most ports in one service.
    pub max_ports_per_service: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            input: document::Limits::default(),
            max_services: 100_000,
            max_ports_per_service: 1_000,
        }
    }
}

/// How to load a manifest.
#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    /// Let `${VAR}` see the process environment (`--env`); it then takes precedence over `environment:`.
    pub process_env: bool,
    /// Input limits.
    pub limits: Limits,
    /// The kind of the input (`--kind`); `None`: recognised from the content.
    pub kind: Option<super::Kind>,
    /// Where a Compose file's variables and profiles come from.
    pub compose: ComposeOptions,
}

/// Where a Compose file's variables come from: `--env-file` files (or `.env` beside the file), the
/// process environment (which wins), and the active profiles.
#[derive(Debug, Clone, Default)]
pub struct ComposeOptions {
    /// `--env-file FILE`, in order; when empty, `.env` in the project directory is read if present.
    pub env_files: Vec<std::path::PathBuf>,
    /// `--profile NAME`, repeatable; `*` activates every profile.
    pub profiles: Vec<String>,
    /// The Compose files whose `include:` is being loaded (canonical paths), to find include cycles.
    pub include_stack: Vec<std::path::PathBuf>,
    /// For an included project: the including project's variables, which win over the include's
    /// own `env_file` (as Compose resolves them).
    pub inherited: Option<Box<super::compose::interpolate::ComposeVars>>,
}
