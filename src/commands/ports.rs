//! `preflight ports`: the resolved port inventory of the inputs, one row per host port — Compose's
//! `config` for ports, and how users (and tests) see what preflight understood.

use std::io::Write;
use std::process::ExitCode;

use serde::Serialize;

use super::{Error, inputs};
use crate::check::Outcome;
use crate::cli::args::{ListFormat, PortsArgs};
use crate::document::Document;
use crate::manifest::Manifest;
use crate::manifest::discover::NotChecked;

/// One host port of the inventory.
#[derive(Debug, Serialize)]
struct Row {
    service: String,
    name: String,
    protocol: &'static str,
    /// The bind address; `::` where Docker publishes on every address (it opens `0.0.0.0` and `::`).
    bind: String,
    /// The host port; `None` when Docker picks it (from `pick`, or from its ephemeral range).
    port: Option<u16>,
    /// The range Docker picks the host port from (`"8000-9000:80"`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pick: Option<String>,
    /// The container port.
    target: Option<u16>,
    expose: &'static str,
    file: String,
    line: usize,
    column: usize,
}

#[derive(Serialize)]
struct Inventory<'a> {
    version: u32,
    ports: Vec<Row>,
    /// Files seen among the inputs but not read, with why.
    not_checked: &'a [NotChecked],
}

/// The rows of one loaded input, in file order: each port, then (Kubernetes) each Service's
/// nodePorts. For a pod's container port the host port is its `hostPort`, or the port itself on the
/// host network, else none (`null`): only the pod's own network namespace has it.
fn rows(m: &Manifest, doc: &Document) -> Vec<Row> {
    let row = |service: &str,
               name: &str,
               protocol: &'static str,
               bind: String,
               port,
               target,
               expose: &'static str,
               path: &str| {
        let (line, column, _, _) = doc.place(path);
        Row {
            service: service.to_owned(),
            name: name.to_owned(),
            protocol,
            bind,
            port,
            pick: None,
            target,
            expose,
            file: doc.file_of(path).to_owned(),
            line,
            column,
        }
    };
    let mut out: Vec<Row> = m
        .ports()
        .map(|(svc, p)| {
            let (port, path) = match &p.container {
                Some(c) => match (
                    c.host_port,
                    svc.pod.as_ref().is_some_and(|pod| pod.host_network),
                ) {
                    (Some(h), _) => (Some(h), c.host_port_path.as_str()),
                    (None, true) => (p.number, p.number_path.as_str()),
                    (None, false) => (None, p.number_path.as_str()),
                },
                None => (p.number, p.number_path.as_str()),
            };
            let mut r = row(
                &svc.name,
                &p.name,
                p.protocol.as_str(),
                p.bind.to_string(),
                port,
                p.target,
                p.expose.as_str(),
                path,
            );
            r.pick = p.pick.map(|r| r.to_string());
            r
        })
        .collect();
    for s in &m.kube_services {
        for p in &s.ports {
            if let Some(np) = p.node_port {
                out.push(row(
                    &format!("service/{}", s.name),
                    p.name.as_deref().unwrap_or("nodePort"),
                    p.protocol.as_str(),
                    "0.0.0.0".to_owned(),
                    Some(np),
                    Some(p.port),
                    "public",
                    &crate::document::join(&p.path, "nodePort"),
                ));
            }
        }
    }
    out
}

/// Loads every input (all must load) and prints its ports.
pub(super) fn run(args: &PortsArgs, out: &mut dyn Write) -> Result<ExitCode, Error> {
    let mut all = Vec::new();
    let mut failed = Vec::new();
    let read = inputs::read(&args.read);
    for (_, loaded) in read.loaded {
        match loaded {
            Ok((m, doc)) => all.extend(rows(&m, &doc)),
            Err(e) => failed.push(Outcome::Failed(e)),
        }
    }
    if !failed.is_empty() {
        return Err(Error::Unchecked(failed));
    }
    match args.format {
        ListFormat::Json => {
            serde_json::to_writer_pretty(
                &mut *out,
                &Inventory {
                    version: 1,
                    ports: all,
                    not_checked: &read.not_checked,
                },
            )
            .map_err(std::io::Error::other)?;
            writeln!(out)?;
        }
        ListFormat::Text => {
            text(out, &all)?;
            for n in &read.not_checked {
                writeln!(out, "note: {}: not checked: {}", n.file, n.reason)?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// An aligned table.
fn text(out: &mut dyn Write, rows: &[Row]) -> std::io::Result<()> {
    let header = [
        "SERVICE", "NAME", "PROTO", "BIND", "PORT", "TARGET", "EXPOSE", "PLACE",
    ];
    let cells: Vec<[String; 8]> = rows
        .iter()
        .map(|r| {
            [
                r.service.clone(),
                r.name.clone(),
                r.protocol.to_owned(),
                r.bind.clone(),
                match (&r.port, &r.pick) {
                    (Some(n), _) => n.to_string(),
                    (None, Some(range)) => format!("one of {range}"),
                    (None, None) => "(any)".to_owned(),
                },
                r.target.map_or_else(|| "-".to_owned(), |t| t.to_string()),
                r.expose.to_owned(),
                format!("{}:{}:{}", r.file, r.line, r.column),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |out: &mut dyn Write, row: &[&str]| -> std::io::Result<()> {
        let mut s = String::new();
        for (i, (c, w)) in row.iter().zip(widths).enumerate() {
            if i + 1 == row.len() {
                s.push_str(c);
            } else {
                s.push_str(&format!("{c:<w$}  "));
            }
        }
        writeln!(out, "{}", s.trim_end())
    };
    line(out, &header)?;
    for row in &cells {
        let r: Vec<&str> = row.iter().map(String::as_str).collect();
        line(out, &r)?;
    }
    if rows.is_empty() {
        writeln!(out, "(no published ports)")?;
    }
    Ok(())
}
