//! Helm charts and kustomizations, rendered by their own tools into the manifests they stand for.
//!
//! A directory with `Chart.yaml` is rendered with `helm template DIR`, one with `kustomization.yaml`
//! (or `.yml`, `Kustomization`) with `kustomize build DIR` or `kubectl kustomize DIR`, whichever is
//! on `PATH`. The output is read as a Kubernetes stream; Helm's `# Source:` comments name the
//! template of each finding. Without the tool the input is refused (exit 2) with the command to
//! render it and pipe it in: a chart is never reported clean unread. Rendering only reads files;
//! a tool that runs longer than a minute is stopped.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::document::LoadError;

/// How long a renderer may run.
const TIMEOUT: Duration = Duration::from_secs(60);

/// A tool that renders a directory into Kubernetes manifests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Renderer {
    /// A Helm chart (`Chart.yaml`).
    Helm,
    /// A kustomization (`kustomization.yaml`).
    Kustomize,
}

impl Renderer {
    /// The renderer a directory calls for, if any.
    pub fn of(dir: &Path) -> Option<Renderer> {
        if dir.join("Chart.yaml").is_file() {
            return Some(Renderer::Helm);
        }
        ["kustomization.yaml", "kustomization.yml", "Kustomization"]
            .iter()
            .any(|n| dir.join(n).is_file())
            .then_some(Renderer::Kustomize)
    }

    /// The command lines that render `dir`, in order of preference.
    fn commands(self, dir: &str) -> Vec<Vec<String>> {
        let v = |args: &[&str]| args.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        match self {
            Renderer::Helm => vec![v(&["helm", "template", dir])],
            Renderer::Kustomize => vec![
                v(&["kustomize", "build", dir]),
                v(&["kubectl", "kustomize", dir]),
            ],
        }
    }

    /// What the directory is, for messages.
    fn what(self) -> &'static str {
        match self {
            Renderer::Helm => "a Helm chart",
            Renderer::Kustomize => "a kustomization",
        }
    }
}

/// Renders `dir` with `r`: the name to show for the output (the directory and the command) and
/// the rendered text.
pub fn render(dir: &Path, r: Renderer) -> Result<(String, String), LoadError> {
    let shown = dir.display().to_string();
    let io = |m: String| LoadError::Io {
        file: shown.clone(),
        source: std::io::Error::other(m),
    };
    let commands = r.commands(&shown);
    let Some(cmd) = commands.iter().find(|c| which::which(&c[0]).is_ok()) else {
        let first = commands[0].join(" ");
        return Err(io(format!(
            "{} is rendered by `{}`, which is not on PATH, so it was not checked: install it, or render it elsewhere and pipe the output in: `{first} | preflight check -`",
            r.what(),
            commands
                .iter()
                .map(|c| c[0].as_str())
                .collect::<Vec<_>>()
                .join("` or `"),
        )));
    };
    let line = cmd.join(" ");
    let text = run(cmd).map_err(|e| {
        io(format!(
            "`{line}` failed, so {} was not checked: {e}",
            r.what()
        ))
    })?;
    Ok((format!("{shown} ({line})"), text))
}

/// Why a renderer's command gave no output to check.
#[derive(Debug, thiserror::Error)]
enum RunError {
    /// It could not be started or waited for.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// It ran past [`TIMEOUT`].
    #[error("it ran longer than {} s and was stopped", TIMEOUT.as_secs())]
    Timeout,
    /// It failed; what it wrote to standard error.
    #[error("{status}: {}", stderr.trim())]
    Failed {
        /// How it exited.
        status: std::process::ExitStatus,
        /// Its standard error.
        stderr: String,
    },
    /// Its output is not text.
    #[error("its output is not UTF-8")]
    NotUtf8,
}

/// Runs a command with the timeout; its standard output, or why it failed.
fn run(cmd: &[String]) -> Result<String, RunError> {
    let mut child = Command::new(&cmd[0])
        .args(&cmd[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let mut stdout = child.stdout.take();
    let mut stderr = child.stderr.take();
    let out = std::thread::spawn(move || {
        let mut s = Vec::new();
        if let Some(o) = stdout.as_mut() {
            let _ = o.read_to_end(&mut s);
        }
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = Vec::new();
        if let Some(e) = stderr.as_mut() {
            let _ = e.read_to_end(&mut s);
        }
        s
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if start.elapsed() > TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            return Err(RunError::Timeout);
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let out = out.join().unwrap_or_default();
    let err = err.join().unwrap_or_default();
    if !status.success() {
        return Err(RunError::Failed {
            status,
            stderr: String::from_utf8_lossy(&err).into_owned(),
        });
    }
    String::from_utf8(out).map_err(|_| RunError::NotUtf8)
}
