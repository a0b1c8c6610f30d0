//! Reading an error text: which error (errno names and numbers, Winsock codes, the words runtimes
//! print), which operation, and the port and address, in the forms Go, Node, Python, Java, .NET, Rust,
//! nginx and Docker print. A table of patterns: each compiled once.

use std::sync::OnceLock;

use regex::Regex;

use super::model::{ErrorKind, Operation};

/// A constant pattern, compiled once (`None` only if the pattern itself were broken; tests compile all).
fn re(cell: &'static OnceLock<Option<Regex>>, pattern: &str) -> Option<&'static Regex> {
    cell.get_or_init(|| Regex::new(pattern).ok()).as_ref()
}

pub(super) fn classify(t: &str) -> (ErrorKind, Option<String>, Option<&'static str>) {
    let l = t.to_ascii_lowercase();
    let has = |needles: &[&str]| needles.iter().any(|n| l.contains(n));
    // Winsock's codes and messages: the text is from Windows, whatever else it says.
    let winsock: [(&[&str], ErrorKind, &str); 5] = [
        (
            &[
                "10048",
                "only one usage of each socket address",
                "wsaeaddrinuse",
            ],
            ErrorKind::AddressInUse,
            "WSAEADDRINUSE (10048)",
        ),
        (
            &["10013", "forbidden by its access permissions", "wsaeacces"],
            ErrorKind::AccessDenied,
            "WSAEACCES (10013)",
        ),
        (
            &["10049", "not valid in its context", "wsaeaddrnotavail"],
            ErrorKind::AddressNotAvailable,
            "WSAEADDRNOTAVAIL (10049)",
        ),
        (
            &["10055", "lacked sufficient buffer space", "wsaenobufs"],
            ErrorKind::NoBuffers,
            "WSAENOBUFS (10055)",
        ),
        (
            &["10061", "actively refused"],
            ErrorKind::ConnectionRefused,
            "WSAECONNREFUSED (10061)",
        ),
    ];
    if let Some((_, kind, name)) = winsock.iter().find(|(needles, _, _)| has(needles)) {
        return (*kind, Some((*name).to_owned()), Some("windows"));
    }
    let errno = |n: &str| {
        has(&[
            &format!("errno {n}]"),
            &format!("os error {n})"),
            &format!("({n}:"),
            &format!("errno {n} "),
        ])
    };
    // Node prints libuv's error numbers (`errno: -4092`): -4091 and -4092 are Windows' EADDRINUSE and
    // EACCES; a stack through `C:\…\net.js` is a Windows one too.
    let node_errno = |n: &str| {
        has(&[
            &format!("errno: {n}"),
            &format!("errno: '{n}'"),
            &format!("\"errno\":{n}"),
        ])
    };
    let windows_stack = windows_path(t);
    if has(&[
        "address already in use",
        "eaddrinuse",
        "jvm_bind",
        "address in use",
        "port is already allocated",
        "was already in use",
    ]) {
        let platform = if errno("48") || node_errno("-48") {
            Some("macos")
        } else if errno("98") || node_errno("-98") {
            Some("linux")
        } else if node_errno("-4091") || windows_stack {
            Some("windows")
        } else {
            None
        };
        return (ErrorKind::AddressInUse, Some("EADDRINUSE".into()), platform);
    }
    if has(&[
        "cannot assign requested address",
        "eaddrnotavail",
        "address not available",
        "can't assign requested address",
    ]) {
        let platform = if errno("49") || l.contains("can't assign") {
            Some("macos")
        } else if errno("99") {
            Some("linux")
        } else {
            None
        };
        return (
            ErrorKind::AddressNotAvailable,
            Some("EADDRNOTAVAIL".into()),
            platform,
        );
    }
    if has(&["permission denied", "eacces", "access denied"]) {
        // libuv's -4092 is Windows' EACCES: a bind into an excluded range, not a privileged port.
        let platform = (node_errno("-4092") || windows_stack).then_some("windows");
        return (ErrorKind::AccessDenied, Some("EACCES".into()), platform);
    }
    if has(&["no buffer space available", "enobufs"]) {
        return (ErrorKind::NoBuffers, Some("ENOBUFS".into()), None);
    }
    if has(&["connection refused", "econnrefused"]) {
        return (
            ErrorKind::ConnectionRefused,
            Some("ECONNREFUSED".into()),
            None,
        );
    }
    (ErrorKind::Unknown, None, None)
}

/// Whether the text holds a Windows path (`C:\Users\…`), as Windows stacks and prompts do.
fn windows_path(t: &str) -> bool {
    t.as_bytes()
        .windows(3)
        .any(|w| w[0].is_ascii_alphabetic() && w[1] == b':' && w[2] == b'\\')
}

/// The failing operation, read from the line that names the error (`listen EACCES: …`), so an
/// unrelated line around it (`cannot connect to daemon` above a `listen` error) doesn't decide.
pub(super) fn operation(t: &str, kind: ErrorKind) -> Operation {
    if let Some(line) = error_line(t, kind) {
        let op = operation_of(line, kind);
        if op != Operation::Unknown {
            return op;
        }
    }
    operation_of(t, kind)
}

/// The line that names the error (`listen EACCES: …`, `… address already in use`), where the text
/// has one: the operation and the endpoint are read there first, so other lines of a log or stack
/// (another listener, an unrelated `cannot connect`) don't decide.
fn error_line(t: &str, kind: ErrorKind) -> Option<&str> {
    let needles: &[&str] = match kind {
        ErrorKind::AccessDenied => &["eacces", "permission denied", "10013", "access denied"],
        ErrorKind::AddressInUse => &[
            "eaddrinuse",
            "address already in use",
            "10048",
            "address in use",
            "already allocated",
            "already in use",
        ],
        _ => &[],
    };
    t.lines().find(|l| {
        let l = l.to_ascii_lowercase();
        needles.iter().any(|n| l.contains(n))
    })
}

fn operation_of(t: &str, kind: ErrorKind) -> Operation {
    let l = t.to_ascii_lowercase();
    let connect = [
        "dial ",
        "connect:",
        "connect(",
        "connect ",
        "connection refused",
        "actively refused",
        "cannot connect",
        "connecting",
    ];
    let bind = [
        "listen ",
        "bind",
        "failed to bind",
        "userland proxy",
        "ports are not available",
        "startup",
        "serve",
    ];
    if connect.iter().any(|k| l.contains(k)) && !l.contains("bind:") && !l.contains("listen tcp") {
        return Operation::Connect;
    }
    if bind.iter().any(|k| l.contains(k)) {
        return Operation::Bind;
    }
    match kind {
        ErrorKind::ConnectionRefused | ErrorKind::NoBuffers => Operation::Connect,
        ErrorKind::AddressInUse | ErrorKind::AccessDenied => Operation::Bind,
        _ => Operation::Unknown,
    }
}

/// The address and port the text names: `0.0.0.0:80`, `[::1]:8080`, `:::3000`, `:8080`,
/// `('127.0.0.1', 3005)`, `http://127.0.0.1:5000`, `port 8080`; on the error's own line first (a log's
/// other lines name other listeners), then anywhere in the text.
pub(super) fn endpoint(t: &str, kind: ErrorKind) -> (Option<String>, Option<u16>) {
    if let Some((a, Some(p))) = error_line(t, kind).map(endpoint_in) {
        return (a, Some(p));
    }
    endpoint_in(t)
}

fn endpoint_in(t: &str) -> (Option<String>, Option<u16>) {
    static PY: OnceLock<Option<Regex>> = OnceLock::new();
    static URL: OnceLock<Option<Regex>> = OnceLock::new();
    static HOSTPORT: OnceLock<Option<Regex>> = OnceLock::new();
    static PORT: OnceLock<Option<Regex>> = OnceLock::new();
    let port = |s: &str| {
        s.parse::<u32>()
            .ok()
            .filter(|p| (1..=65535).contains(p))
            .map(|p| p as u16)
    };
    // Node's error object names both plainly (`address: '::1',` then `port: 1420`), which beats
    // reading `::1:1420` in its message.
    static NODE: OnceLock<Option<Regex>> = OnceLock::new();
    if let Some(c) =
        re(&NODE, r"address:\s*'([^']*)',\s*port:\s*(\d{1,5})").and_then(|r| r.captures(t))
    {
        return (Some(c[1].to_owned()), port(&c[2]));
    }
    if let Some(c) = re(&PY, r"\('([0-9a-fA-F:.]+)',\s*(\d{1,5})").and_then(|r| r.captures(t)) {
        return (Some(c[1].to_owned()), port(&c[2]));
    }
    if let Some(c) = re(
        &URL,
        r"https?://(\[[0-9a-fA-F:.]+\]|[0-9.]+|localhost|\*|\+):(\d{1,5})",
    )
    .and_then(|r| r.captures(t))
    {
        return (Some(c[1].trim_matches(['[', ']']).to_owned()), port(&c[2]));
    }
    // The last address:port in the text is the local one in "dial tcp A:P" and "listen tcp A:P"
    // alike, except Docker's "exposing port TCP 0.0.0.0:8080 -> 0.0.0.0:0", where the first is.
    let all: Vec<(String, Option<u16>)> = re(
        &HOSTPORT,
        r"(\[[0-9a-fA-F:.%a-z]+\]|::|[0-9]{1,3}(?:\.[0-9]{1,3}){3}|\*)?:(\d{1,5})\b",
    )
    .map(|r| {
        r.captures_iter(t)
            // A bare `:port` stands after a space, a quote or a bracket (`listen tcp :8080`); after a
            // digit, a letter or a dot it is a clock (`18:13:12`) or a source line (`Net.java:433`).
            .filter(|c| {
                c.get(1).is_some()
                    || t[..c.get(0).map_or(0, |m| m.start())]
                        .chars()
                        .next_back()
                        .is_none_or(|b| !b.is_alphanumeric() && b != '.' && b != ':')
            })
            .map(|c| {
                (
                    c.get(1).map_or(String::new(), |m| {
                        m.as_str().trim_matches(['[', ']']).to_owned()
                    }),
                    port(&c[2]),
                )
            })
            .filter(|(_, p)| p.is_some())
            .collect()
    })
    .unwrap_or_default();
    // Prefer an address:port; a bare `:port` (Go's `listen tcp :8080`) is taken last-first, so a
    // timestamp earlier on the line (`12:30:45`) doesn't win.
    if let Some((a, p)) = all.iter().find(|(a, _)| !a.is_empty()) {
        return (Some(a.clone()), *p);
    }
    if let Some((_, p)) = all.last() {
        return (None, *p);
    }
    // `port 5432`, `port: 3306`, `Port 8080 was already in use`, Tomcat's `http-nio-8080`, a call's
    // `port=80`; with the address PostgreSQL (`address "127.0.0.1"`) or the call (`host='0.0.0.0'`)
    // names.
    static ADDRESS: OnceLock<Option<Regex>> = OnceLock::new();
    let address = re(
        &ADDRESS,
        r#"(?i)(?:address\s+"|host\s*=\s*['"])([0-9a-f:.]+)["']"#,
    )
    .and_then(|r| r.captures(t))
    .map(|c| c[1].to_owned());
    if let Some(c) = re(
        &PORT,
        r"(?i)\bport:?\s+(\d{1,5})\b|http-(?:nio2?|bio|apr)-(\d{1,5})\b|\bport\s*=\s*(\d{1,5})\b",
    )
    .and_then(|r| r.captures(t))
    {
        let n = c
            .get(1)
            .or(c.get(2))
            .or(c.get(3))
            .map_or("", |m| m.as_str());
        return (address, port(n));
    }
    if address.is_some() {
        return (address, None);
    }
    (None, None)
}
