//! Fleets: the hosts a manifest is checked against, each with its facts.
//!
//! `check --facts FILE_OR_DIR` may be repeated, and a directory stands for every `*.json` in it, so one
//! run checks a manifest against every host of a fleet. Each host is named by its facts (`"host"`, which
//! `preflight facts --host NAME` and the PowerShell collector's `-HostName` set) or, when the facts do not
//! say, by the file's stem. Two files naming the same host are an error: one of them is stale, and
//! checking both would report the host twice with different answers.
//!
//! Hosts are loaded in parallel and returned sorted by name, so reports are the same however the
//! files were listed.

use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::facts::{Facts, FactsError};

/// One host of the fleet: its name, where its facts came from, and the facts.
#[derive(Debug)]
pub struct Host {
    /// The host's name, unique in the fleet.
    pub name: String,
    /// Where the facts came from: the facts file's path, or `live` for `--local`.
    pub source: String,
    /// The facts.
    pub facts: Facts,
}

/// A host as reports name it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct HostInfo {
    /// The host's name.
    pub name: String,
    /// Where its facts came from.
    pub source: String,
}

impl Host {
    /// The host's name and source, for reports.
    pub fn info(&self) -> HostInfo {
        HostInfo {
            name: self.name.clone(),
            source: self.source.clone(),
        }
    }

    /// The host preflight runs on, probed live: named by its hostname (`localhost` when it has none, or
    /// one [`valid_name`] rejects).
    pub fn live(facts: Facts) -> Host {
        Host {
            name: facts
                .host
                .clone()
                .filter(|h| valid_name(h))
                .unwrap_or_else(|| "localhost".to_owned()),
            source: "live".to_owned(),
            facts,
        }
    }
}

/// Why the fleet could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum FleetError {
    /// A facts file could not be read or is invalid.
    #[error(transparent)]
    Facts(#[from] FactsError),
    /// A directory given to `--facts` could not be listed, or holds no facts file.
    #[error("--facts {dir}: {message}")]
    Dir {
        /// The directory.
        dir: String,
        /// What went wrong.
        message: String,
    },
    /// Two facts files name the same host.
    #[error(
        "host `{host}` has two facts files, {first} and {second}: remove the stale one, or capture \
         them again with distinct names (`preflight facts --host NAME`)"
    )]
    Duplicate {
        /// The host's name.
        host: String,
        /// The first file naming it.
        first: String,
        /// The second file naming it.
        second: String,
    },
    /// A facts file changed between the listing of the fleet and the check of its host.
    #[error("{file} changed while the fleet was being checked: run the check again")]
    Changed {
        /// The file.
        file: String,
    },
    /// A host name that can't be used (it names output files such as `DIR/HOST.ps1`).
    #[error(
        "{file}: host name {host:?} may only use letters, digits, `.`, `-` and `_`, and must not start \
         with `.`; capture the facts again with `preflight facts --host NAME`"
    )]
    BadName {
        /// The name.
        host: String,
        /// The facts file.
        file: String,
    },
}

/// Longest host name: a DNS name is at most 253 bytes, and `DIR/HOST.EXT` must stay under the 255-byte
/// file-name limit.
pub const MAX_NAME: usize = 240;

/// Whether `name` can name a host: letters, digits, `.`, `-`, `_`, not starting with `.`, at most
/// [`MAX_NAME`] bytes, and not a Windows device name (`CON`, `NUL`, `COM1`, … before the first `.`,
/// which Windows opens as the device whatever the extension). Such a name is safe as a file name on
/// every platform and in every report format.
pub fn valid_name(name: &str) -> bool {
    let stem = name.split('.').next().unwrap_or("").to_ascii_uppercase();
    let device = matches!(stem.as_str(), "CON" | "PRN" | "AUX" | "NUL")
        || ((stem.starts_with("COM") || stem.starts_with("LPT"))
            && stem.len() == 4
            && stem.as_bytes()[3].is_ascii_digit());
    !name.is_empty()
        && name.len() <= MAX_NAME
        && !name.starts_with('.')
        && !device
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
}

/// The facts files `--facts` arguments stand for: files as given, directories as their `*.json` files
/// in name order. A file reached twice (given and inside a given directory) counts once.
pub fn expand(args: &[PathBuf]) -> Result<Vec<PathBuf>, FleetError> {
    let mut seen = std::collections::HashSet::new();
    Ok(expand_all(args)?
        .into_iter()
        .filter(|p| seen.insert(std::fs::canonicalize(p).unwrap_or_else(|_| p.clone())))
        .collect())
}

fn expand_all(args: &[PathBuf]) -> Result<Vec<PathBuf>, FleetError> {
    let mut files = Vec::new();
    for arg in args {
        if !arg.is_dir() {
            files.push(arg.clone());
            continue;
        }
        let dir_err = |message: String| FleetError::Dir {
            dir: arg.display().to_string(),
            message,
        };
        let mut found: Vec<PathBuf> = std::fs::read_dir(arg)
            .map_err(|e| dir_err(e.to_string()))?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "json"))
            .collect();
        if found.is_empty() {
            return Err(dir_err(
                "holds no *.json facts files; write them with `preflight facts --host NAME -o DIR/NAME.json`"
                    .to_owned(),
            ));
        }
        found.sort();
        files.extend(found);
    }
    Ok(files)
}

/// A host of the fleet known by name before its facts are read whole: what [`list`] finds. A check
/// reads each host's facts when it comes to the host ([`Listed::load`]) and drops them after, so a
/// fleet's facts are never all in memory at once.
#[derive(Clone, Debug)]
pub struct Listed {
    /// The host's name, unique in the fleet.
    pub name: String,
    /// The facts file.
    pub path: PathBuf,
    /// The OS the facts name (`linux`, `windows`), if they do.
    pub os: Option<String>,
}

impl Listed {
    /// The host's name and source, for reports.
    pub fn info(&self) -> HostInfo {
        HostInfo {
            name: self.name.clone(),
            source: self.path.display().to_string(),
        }
    }

    /// Reads the host's facts whole. A file rewritten since [`list`] read it, to name another host or
    /// OS, is an error rather than a report on the wrong host.
    pub fn load(&self) -> Result<Host, FleetError> {
        let host = load_host(&self.path)?;
        if host.name != self.name || host.facts.os != self.os {
            return Err(FleetError::Changed { file: host.source });
        }
        Ok(host)
    }
}

/// What [`list`] reads of a facts file: the fields that name the host and its OS.
#[derive(serde::Deserialize)]
struct Identity {
    #[serde(default)]
    host: Option<String>,
    #[serde(default)]
    os: Option<String>,
}

/// The hosts of every facts file of `args` (see [`expand`]), sorted by name, with only their names and
/// OS read, in parallel. The checks of each name are [`load`]'s.
pub fn list(args: &[PathBuf]) -> Result<Vec<Listed>, FleetError> {
    let files = expand(args)?;
    let listed: Vec<Result<Listed, FleetError>> =
        files.par_iter().map(|path| list_host(path)).collect();
    let listed = listed.into_iter().collect::<Result<Vec<_>, _>>()?;
    sorted_unique(listed, |h| (&h.name, h.path.to_str().unwrap_or("")))
}

fn list_host(path: &Path) -> Result<Listed, FleetError> {
    let identity = crate::document::read_up_to(path, crate::facts::MAX_FACTS_BYTES)
        .ok()
        .filter(|b| b.len() as u64 <= crate::facts::MAX_FACTS_BYTES)
        .and_then(|b| {
            let text = std::str::from_utf8(&b).ok()?;
            serde_json::from_str::<Identity>(text.trim_start_matches('\u{feff}')).ok()
        });
    // Anything the light read can't take (unreadable, too large, not JSON) is read whole, which
    // names the problem as a check of the host would.
    let (host, os) = match identity {
        Some(id) => (id.host, id.os),
        None => {
            let facts = crate::facts::import::load(path).map_err(FleetError::Facts)?;
            (facts.host, facts.os)
        }
    };
    let name = name_of(path, host)?;
    Ok(Listed {
        name,
        path: path.to_owned(),
        os,
    })
}

/// Loads every facts file of `args` (see [`expand`]) in parallel and returns the hosts sorted by name.
pub fn load(args: &[PathBuf]) -> Result<Vec<Host>, FleetError> {
    let files = expand(args)?;
    let loaded: Vec<Result<Host, FleetError>> =
        files.par_iter().map(|path| load_host(path)).collect();
    let hosts = loaded.into_iter().collect::<Result<Vec<_>, _>>()?;
    sorted_unique(hosts, |h| (&h.name, &h.source))
}

/// `hosts` sorted by name, or the error for two of them with the same name. `key` gives a host's name
/// and source.
fn sorted_unique<T>(
    mut hosts: Vec<T>,
    key: impl Fn(&T) -> (&str, &str),
) -> Result<Vec<T>, FleetError> {
    // Names compare without case (below), so they sort without it too: web-01 before WEB-02.
    hosts.sort_by(|a, b| {
        let ((an, asrc), (bn, bsrc)) = (key(a), key(b));
        (an.to_ascii_lowercase(), an, asrc).cmp(&(bn.to_ascii_lowercase(), bn, bsrc))
    });
    // Host names are case-insensitive (the collector writes COMPUTERNAME in capitals, `hostname` often
    // in lower case), and per-host files must not overwrite each other on case-insensitive disks.
    let mut by_lower: std::collections::HashMap<String, &str> = std::collections::HashMap::new();
    for h in &hosts {
        let (name, source) = key(h);
        if let Some(first) = by_lower.insert(name.to_ascii_lowercase(), source) {
            return Err(FleetError::Duplicate {
                host: name.to_owned(),
                first: first.to_owned(),
                second: source.to_owned(),
            });
        }
    }
    Ok(hosts)
}

/// The name of the host whose facts are at `path`: the facts' `host`, else the file's stem.
fn name_of(path: &Path, host: Option<String>) -> Result<String, FleetError> {
    let name = match host {
        Some(h) => h,
        None => path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default(),
    };
    if !valid_name(&name) {
        return Err(FleetError::BadName {
            host: name,
            file: path.display().to_string(),
        });
    }
    Ok(name)
}

fn load_host(path: &Path) -> Result<Host, FleetError> {
    let facts = crate::facts::import::load(path).map_err(FleetError::Facts)?;
    let name = name_of(path, facts.host.clone())?;
    Ok(Host {
        name,
        source: path.display().to_string(),
        facts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names() {
        for ok in ["web-01", "WEB01.corp.example.com", "db_2", "a"] {
            assert!(valid_name(ok), "{ok}");
        }
        for bad in [
            "", ".hidden", "../etc", "a/b", "a\\b", "a b", "a;b", "ümlaut", "CON", "nul.corp",
            "com1", "LPT9",
        ] {
            assert!(!valid_name(bad), "{bad}");
        }
        assert!(valid_name("console") && valid_name("com10") && valid_name("lpt"));
        assert!(!valid_name(&"a".repeat(MAX_NAME + 1)) && valid_name(&"a".repeat(MAX_NAME)));
    }
}
