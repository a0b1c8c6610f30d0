//! `preflight lsp` driven over standard input and output by a client speaking the Language Server
//! Protocol as editors do (Content-Length framed JSON-RPC): initialize, didOpen, didChange with
//! unsaved text, hover, codeAction (ignore, move the port), shutdown and exit. The document is a
//! real Compose file (typeorm's test stack, tests/fixtures/rules/port-conflict/fires-compose.yaml).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::Duration;

use serde_json::{Value, json};

struct Client {
    child: Child,
    stdin: ChildStdin,
    messages: Receiver<Value>,
    next: i64,
}

impl Client {
    fn start(dir: &std::path::Path) -> Client {
        let mut child = Command::new(env!("CARGO_BIN_EXE_preflight"))
            .arg("lsp")
            .current_dir(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let (tx, messages) = channel();
        std::thread::spawn(move || {
            loop {
                let mut len = 0;
                loop {
                    let mut line = String::new();
                    if out.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let line = line.trim_end();
                    if line.is_empty() {
                        break;
                    }
                    if let Some(n) = line.strip_prefix("Content-Length: ") {
                        len = n.parse().unwrap();
                    }
                }
                let mut body = vec![0; len];
                out.read_exact(&mut body).unwrap();
                if tx.send(serde_json::from_slice(&body).unwrap()).is_err() {
                    return;
                }
            }
        });
        Client {
            child,
            stdin,
            messages,
            next: 1,
        }
    }

    fn send(&mut self, v: Value) {
        let body = v.to_string();
        write!(self.stdin, "Content-Length: {}\r\n\r\n{body}", body.len()).unwrap();
        self.stdin.flush().unwrap();
    }

    fn next_message(&self) -> Value {
        self.messages
            .recv_timeout(Duration::from_secs(30))
            .expect("the server answers within 30 s")
    }

    fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next;
        self.next += 1;
        self.send(json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }));
        loop {
            let m = self.next_message();
            if m["id"] == id {
                assert!(m["error"].is_null(), "{method}: {m}");
                return m["result"].clone();
            }
        }
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(json!({ "jsonrpc": "2.0", "method": method, "params": params }));
    }

    /// The next diagnostics the server publishes.
    fn diagnostics(&self) -> Vec<Value> {
        loop {
            let m = self.next_message();
            if m["method"] == "textDocument/publishDiagnostics" {
                return m["params"]["diagnostics"].as_array().unwrap().clone();
            }
        }
    }
}

/// Applies LSP text edits (single-line, ASCII text here) to `text`.
fn apply(text: &str, edits: &[Value]) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    for e in edits {
        let (s, en) = (&e["range"]["start"], &e["range"]["end"]);
        let line = s["line"].as_u64().unwrap() as usize;
        let (a, b) = (
            s["character"].as_u64().unwrap() as usize,
            en["character"].as_u64().unwrap() as usize,
        );
        assert_eq!(en["line"], s["line"]);
        let l = &mut lines[line];
        l.replace_range(a..b, e["newText"].as_str().unwrap());
    }
    lines.join("\n") + "\n"
}

fn conflicts(diags: &[Value]) -> Vec<&Value> {
    diags
        .iter()
        .filter(|d| d["code"] == "port-conflict")
        .collect()
}

#[test]
fn an_editor_sees_findings_as_it_types_and_fixes_them() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = std::fs::canonicalize(tmp.path()).unwrap();
    let text = std::fs::read_to_string(
        common::root().join("tests/fixtures/rules/port-conflict/fires-compose.yaml"),
    )
    .unwrap();
    let path = dir.join("compose.yaml");
    std::fs::write(&path, &text).unwrap();
    let uri = format!("file://{}", path.display());
    let mut c = Client::start(&dir);
    let init = c.request("initialize", json!({ "processId": null, "rootUri": format!("file://{}", dir.display()), "capabilities": {} }));
    assert_eq!(init["capabilities"]["hoverProvider"], true);
    assert_eq!(init["capabilities"]["codeActionProvider"], true);
    c.notify("initialized", json!({}));
    c.notify(
        "textDocument/didOpen",
        json!({ "textDocument": { "uri": uri, "languageId": "yaml", "version": 1, "text": text } }),
    );
    let diags = c.diagnostics();
    let conflict = conflicts(&diags)[0].clone();
    assert_eq!(conflict["source"], "preflight");
    assert_eq!(conflict["severity"], 1);
    assert!(
        conflict["codeDescription"]["href"]
            .as_str()
            .unwrap()
            .ends_with("/port-conflict.md")
    );
    assert!(conflict["message"].as_str().unwrap().contains("help:"));
    let related = &conflict["relatedInformation"][0];
    assert_eq!(related["location"]["uri"], uri);
    assert!(
        related["message"]
            .as_str()
            .unwrap()
            .starts_with("first used by")
    );
    let n = conflicts(&diags).len();

    // Unsaved text: the second MySQL moved off 3306 in the buffer only.
    let line = conflict["range"]["start"]["line"].as_u64().unwrap() as usize;
    let mut lines: Vec<&str> = text.lines().collect();
    let moved_line = lines[line].replacen("3306:", "3316:", 1);
    lines[line] = &moved_line;
    let edited = lines.join("\n") + "\n";
    c.notify("textDocument/didChange", json!({ "textDocument": { "uri": uri, "version": 2 }, "contentChanges": [{ "text": edited }] }));
    assert_eq!(
        conflicts(&c.diagnostics()).len(),
        n - 1,
        "the buffer, not the file on disk"
    );
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        text,
        "the server never writes"
    );

    // Back to the file's text: hover and code actions on the conflict.
    c.notify("textDocument/didChange", json!({ "textDocument": { "uri": uri, "version": 3 }, "contentChanges": [{ "text": text }] }));
    let diags = c.diagnostics();
    let conflict = conflicts(&diags)[0].clone();
    let hover = c.request(
        "textDocument/hover",
        json!({ "textDocument": { "uri": uri }, "position": conflict["range"]["start"] }),
    );
    let shown = hover["contents"]["value"].as_str().unwrap();
    assert!(
        shown.contains("# port-conflict (error)") && shown.contains("## Fix"),
        "{shown}"
    );
    let actions = c.request(
        "textDocument/codeAction",
        json!({ "textDocument": { "uri": uri }, "range": conflict["range"], "context": { "diagnostics": [conflict] } }),
    );
    let actions = actions.as_array().unwrap();
    let titled = |t: &str| {
        actions
            .iter()
            .find(|a| a["title"].as_str().unwrap().starts_with(t))
            .unwrap_or_else(|| panic!("no {t}: {actions:#?}"))
            .clone()
    };
    let ignore = titled("Ignore `port-conflict` here");
    let moving = titled("Move to port ");
    let edits = |a: &Value| a["edit"]["changes"][&uri].as_array().unwrap().clone();
    let moved = apply(&text, &edits(&moving));
    c.notify("textDocument/didChange", json!({ "textDocument": { "uri": uri, "version": 4 }, "contentChanges": [{ "text": moved }] }));
    let after_move = c.diagnostics();
    assert_eq!(
        conflicts(&after_move).len(),
        n - 1,
        "moved to a free port:\n{moved}"
    );
    let ignored = apply(&text, &edits(&ignore));
    assert!(ignored.contains("# preflight: ignore[port-conflict]"));
    c.notify("textDocument/didChange", json!({ "textDocument": { "uri": uri, "version": 5 }, "contentChanges": [{ "text": ignored }] }));
    assert_eq!(
        conflicts(&c.diagnostics()).len(),
        n - 1,
        "ignored:\n{ignored}"
    );

    let shutdown = c.request("shutdown", Value::Null);
    assert!(shutdown.is_null());
    c.notify("exit", Value::Null);
    let status = c.child.wait().unwrap();
    assert!(status.success());
}
