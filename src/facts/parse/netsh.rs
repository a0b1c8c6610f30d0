//! `netsh interface ipv4 show excludedportrange` and `show dynamicport`.

use super::{CaptureError, err, lines, unprefixed};
use crate::facts::Exclusion;
use crate::ports::{PortRange, Protocol};

/// The protocol a netsh header names (`Protocol tcp …`), in any language: the words `tcp`/`udp` survive.
fn header_protocol(text: &str) -> Option<Protocol> {
    for (_, l) in lines(text) {
        let lower = l.to_ascii_lowercase();
        let words: Vec<&str> = lower.split(|c: char| !c.is_ascii_alphanumeric()).collect();
        if words.contains(&"tcp") {
            return Some(Protocol::Tcp);
        }
        if words.contains(&"udp") {
            return Some(Protocol::Udp);
        }
    }
    None
}

/// `netsh interface ipv4 show excludedportrange protocol=tcp|udp`: rows of `START END` with an optional
/// `*` for administered exclusions. Returns the protocol named in the header, when there is one. Lines
/// relayed by a CI log are read too ([`unprefixed`]).
pub fn excludedportrange(text: &str) -> Result<(Option<Protocol>, Vec<Exclusion>), CaptureError> {
    let text = unprefixed(text);
    let text: &str = &text;
    let mut out = Vec::new();
    for (n, l) in lines(text) {
        let tokens: Vec<&str> = l.split_whitespace().collect();
        let numeric = tokens
            .first()
            .is_some_and(|t| t.bytes().all(|b| b.is_ascii_digit()));
        if !numeric {
            continue; // header, dashes, blank, or the "* - Administered port exclusions." footnote
        }
        let (start, end, star) = match tokens.as_slice() {
            [a, b] => (*a, *b, false),
            [a, b, "*"] => (*a, *b, true),
            _ => {
                return err(
                    n,
                    format!("expected `START END` or `START END *`, found {l:?}"),
                );
            }
        };
        let (Ok(s), Ok(e)) = (start.parse::<u16>(), end.parse::<u16>()) else {
            return err(n, format!("port numbers must be 0-65535, found {l:?}"));
        };
        let Some(range) = PortRange::new(s, e) else {
            return err(n, format!("range {s}-{e} is backwards"));
        };
        out.push(Exclusion {
            range,
            administered: star,
        });
    }
    Ok((header_protocol(text), out))
}

/// One excluded-ranges listing: the protocol its heading names, and its ranges.
pub type Listing = (Option<Protocol>, Vec<Exclusion>);

/// `excludedportrange` over a capture that may hold several listings, as people paste `protocol=tcp`
/// and `protocol=udp` one after the other: split where a line that is no range names `tcp` or `udp`
/// (the command line or the localized heading), each part with the protocol it names.
pub fn excludedportrange_blocks(text: &str) -> Result<Vec<Listing>, CaptureError> {
    let text = unprefixed(text);
    let text: &str = &text;
    let all: Vec<&str> = text.split('\n').collect();
    let names_protocol = |l: &str| {
        let lower = l.to_ascii_lowercase();
        let starts_with_number = l.trim().bytes().next().is_some_and(|b| b.is_ascii_digit());
        !starts_with_number
            && lower
                .split(|c: char| !c.is_ascii_alphanumeric())
                .any(|w| w == "tcp" || w == "udp")
    };
    let mut starts: Vec<usize> = vec![0];
    let mut last_protocol = None;
    for (i, l) in all.iter().enumerate() {
        if names_protocol(l) {
            let p = header_protocol(l);
            // A heading right after the command line that named the same protocol is the same listing.
            if p != last_protocol && i > 0 {
                starts.push(i);
            }
            last_protocol = p;
        }
    }
    starts.dedup();
    let mut out = Vec::new();
    for (k, &start) in starts.iter().enumerate() {
        let end = starts.get(k + 1).copied().unwrap_or(all.len());
        let part = all[start..end].join("\n");
        let (protocol, ex) = excludedportrange(&part).map_err(|e| CaptureError {
            line: e.line + start,
            message: e.message,
        })?;
        if protocol.is_some() || !ex.is_empty() {
            out.push((protocol, ex));
        }
    }
    Ok(out)
}

/// `netsh int ipv4 show dynamicport tcp|udp`: the first two numbers after a colon are the start port
/// and the number of ports, whatever the labels' language; lines relayed by a CI log (Packer's
/// `    vhd: `, Actions' timestamps) are read too ([`unprefixed`]).
pub fn dynamicport(text: &str) -> Result<(Option<Protocol>, PortRange), CaptureError> {
    let text = unprefixed(text);
    let text: &str = &text;
    let mut nums = Vec::new();
    let mut last_line = 0;
    for (n, l) in lines(text) {
        let Some((_, value)) = l.split_once(':') else {
            continue;
        };
        let v = value.trim();
        if v.is_empty() {
            continue;
        }
        match v.parse::<u32>() {
            Ok(x) => {
                nums.push((n, x));
                last_line = n;
            }
            Err(_) => continue,
        }
        if nums.len() == 2 {
            break;
        }
    }
    let [(ls, start), (_, count)] = nums.as_slice() else {
        return err(
            last_line.max(1),
            "expected `Start Port : N` and `Number of Ports : N`",
        );
    };
    let Ok(start16) = u16::try_from(*start) else {
        return err(*ls, format!("start port {start} is above 65535"));
    };
    match PortRange::from_start_count(start16, *count) {
        Some(r) => Ok((header_protocol(text), r)),
        None => err(
            *ls,
            format!("start {start} with {count} ports runs past 65535 or is empty"),
        ),
    }
}
