//! `preflight lsp`: a Language Server over standard input and output (`lsp-server` for the
//! transport, `lsp-types` for the messages), so editors show findings as you type.
//!
//! On open and on every change, the unsaved buffer is checked as `check` checks the file (the same
//! discovery: a Compose file with the rest of its project; the same nearest `.preflight.yaml`;
//! inline ignores honoured), and the findings in that file are published as diagnostics: the rule id
//! as `code` with a link to its docs, the help in the message, the other places (also in other
//! files) as related information. Hover on a finding shows `preflight explain`. Code actions insert
//! an inline ignore, and for `port-conflict`, `port-plan` and `privileged-port` move the port to the
//! free one `preflight suggest` would pick. It never writes files: edits go back to the editor.

// `lsp_types::Uri` caches parts of itself inside, which clippy takes for a mutable key; its `Hash`
// and `Eq` read only the URI's text, so it is a sound key (and lsp-types' own maps use it so).
#![allow(clippy::mutable_key_type)]

mod diagnostics;

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;

use lsp_server::{Connection, ExtractError, Message, Notification, Request, RequestId, Response};
use lsp_types::notification::{
    DidChangeTextDocument, DidCloseTextDocument, DidOpenTextDocument, DidSaveTextDocument,
    Notification as _, PublishDiagnostics,
};
use lsp_types::request::{CodeActionRequest, HoverRequest, Request as _};
use lsp_types::{
    CodeActionProviderCapability, Diagnostic, HoverProviderCapability, PublishDiagnosticsParams,
    ServerCapabilities, TextDocumentSyncCapability, TextDocumentSyncKind, Uri,
};

use super::Error;
use crate::policy::date::Date;

/// An open document: its text and the diagnostics last published for it.
struct Open {
    text: String,
    diagnostics: Vec<Diagnostic>,
}

/// Runs the server until the client says `exit`.
pub(super) fn run(today: Date) -> Result<ExitCode, Error> {
    let (connection, io) = Connection::stdio();
    let caps = ServerCapabilities {
        text_document_sync: Some(TextDocumentSyncCapability::Kind(TextDocumentSyncKind::FULL)),
        hover_provider: Some(HoverProviderCapability::Simple(true)),
        code_action_provider: Some(CodeActionProviderCapability::Simple(true)),
        ..ServerCapabilities::default()
    };
    let caps = serde_json::to_value(caps).map_err(std::io::Error::other)?;
    connection.initialize(caps).map_err(protocol)?;
    let mut docs: HashMap<Uri, Open> = HashMap::new();
    for msg in &connection.receiver {
        match msg {
            Message::Request(req) => {
                if connection.handle_shutdown(&req).map_err(protocol)? {
                    break;
                }
                let resp = request(req, &docs);
                connection
                    .sender
                    .send(Message::Response(resp))
                    .map_err(std::io::Error::other)?;
            }
            Message::Notification(n) => {
                if let Some(uri) = notification(n, &mut docs) {
                    publish(&connection, &uri, &mut docs, today)?;
                }
            }
            Message::Response(_) => {}
        }
    }
    drop(connection);
    io.join().map_err(std::io::Error::other)?;
    Ok(ExitCode::SUCCESS)
}

fn protocol(e: lsp_server::ProtocolError) -> Error {
    Error::Io(std::io::Error::other(e.to_string()))
}

/// Applies a notification to the open documents; the document to check again, if any.
fn notification(n: Notification, docs: &mut HashMap<Uri, Open>) -> Option<Uri> {
    match n.method.as_str() {
        DidOpenTextDocument::METHOD => {
            let p: lsp_types::DidOpenTextDocumentParams = serde_json::from_value(n.params).ok()?;
            let uri = p.text_document.uri;
            docs.insert(
                uri.clone(),
                Open {
                    text: p.text_document.text,
                    diagnostics: Vec::new(),
                },
            );
            Some(uri)
        }
        DidChangeTextDocument::METHOD => {
            let p: lsp_types::DidChangeTextDocumentParams =
                serde_json::from_value(n.params).ok()?;
            let text = p.content_changes.into_iter().last()?.text;
            let open = docs.get_mut(&p.text_document.uri)?;
            open.text = text;
            Some(p.text_document.uri)
        }
        DidSaveTextDocument::METHOD => {
            let p: lsp_types::DidSaveTextDocumentParams = serde_json::from_value(n.params).ok()?;
            docs.contains_key(&p.text_document.uri)
                .then_some(p.text_document.uri)
        }
        DidCloseTextDocument::METHOD => {
            let p: lsp_types::DidCloseTextDocumentParams = serde_json::from_value(n.params).ok()?;
            docs.remove(&p.text_document.uri);
            None
        }
        _ => None,
    }
}

/// Checks the document again and publishes its diagnostics.
fn publish(
    connection: &Connection,
    uri: &Uri,
    docs: &mut HashMap<Uri, Open>,
    today: Date,
) -> Result<(), Error> {
    let Some(open) = docs.get_mut(uri) else {
        return Ok(());
    };
    open.diagnostics = match path_of(uri) {
        Some(path) => diagnostics::check(&path, &open.text, today),
        None => Vec::new(),
    };
    let params = PublishDiagnosticsParams {
        uri: uri.clone(),
        diagnostics: open.diagnostics.clone(),
        version: None,
    };
    let params = serde_json::to_value(params).map_err(std::io::Error::other)?;
    connection
        .sender
        .send(Message::Notification(Notification::new(
            PublishDiagnostics::METHOD.to_owned(),
            params,
        )))
        .map_err(std::io::Error::other)?;
    Ok(())
}

/// Answers a request.
fn request(req: Request, docs: &HashMap<Uri, Open>) -> Response {
    let id = req.id.clone();
    let result = match req.method.as_str() {
        HoverRequest::METHOD => match extract::<HoverRequest>(req) {
            Ok(p) => {
                let tdp = p.text_document_position_params;
                let hover = docs
                    .get(&tdp.text_document.uri)
                    .and_then(|o| diagnostics::hover(&o.diagnostics, tdp.position));
                serde_json::to_value(hover).unwrap_or_default()
            }
            Err(r) => return *r,
        },
        CodeActionRequest::METHOD => match extract::<CodeActionRequest>(req) {
            Ok(p) => {
                let actions = docs
                    .get(&p.text_document.uri)
                    .map(|o| {
                        diagnostics::actions(&p.text_document.uri, &o.text, &p.context.diagnostics)
                    })
                    .unwrap_or_default();
                serde_json::to_value(actions).unwrap_or_default()
            }
            Err(r) => return *r,
        },
        _ => {
            return Response::new_err(
                id,
                lsp_server::ErrorCode::MethodNotFound as i32,
                format!("preflight does not answer {}", req.method),
            );
        }
    };
    Response::new_ok(id, result)
}

/// The params of a request of type `R`, or the error response to send.
fn extract<R: lsp_types::request::Request>(req: Request) -> Result<R::Params, Box<Response>> {
    let id: RequestId = req.id.clone();
    req.extract::<R::Params>(R::METHOD)
        .map(|(_, params)| params)
        .map_err(|e| {
            let message = match e {
                ExtractError::MethodMismatch(r) => format!("unexpected {}", r.method),
                ExtractError::JsonError { error, .. } => error.to_string(),
            };
            Box::new(Response::new_err(
                id,
                lsp_server::ErrorCode::InvalidParams as i32,
                message,
            ))
        })
}

/// The file a `file:` URI names.
pub(super) fn path_of(uri: &Uri) -> Option<PathBuf> {
    let s = uri.as_str().strip_prefix("file://")?;
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    let path = String::from_utf8(out).ok()?;
    // `file:///C:/x` on Windows.
    let path = match path.strip_prefix('/') {
        Some(p) if p.as_bytes().get(1) == Some(&b':') => p.to_owned(),
        _ => path,
    };
    Some(PathBuf::from(path))
}

/// The `file:` URI of a path.
pub(super) fn uri_of(path: &str) -> Option<Uri> {
    let mut s = String::from("file://");
    if !path.starts_with('/') {
        s.push('/');
    }
    for c in path.replace('\\', "/").chars() {
        match c {
            'A'..='Z' | 'a'..='z' | '0'..='9' | '/' | '-' | '_' | '.' | '~' | ':' => s.push(c),
            c => {
                let mut buf = [0; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    s.push_str(&format!("%{b:02X}"));
                }
            }
        }
    }
    s.parse().ok()
}
