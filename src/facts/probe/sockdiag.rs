//! The socket table from the kernel, filtered in the kernel: netlink `sock_diag` dumps
//! (`SOCK_DIAG_BY_FAMILY`, `inet_diag_req_v2`) for TCP and UDP over IPv4 and IPv6, asking only for the
//! states a check reads (TCP LISTEN and TIME_WAIT; every UDP socket) and, when the check names its
//! ports, only for sockets on those ports: the request carries an `INET_DIAG_REQ_BYTECODE` program of
//! port comparisons, the same bytecode `ss` compiles for `sport = :N` (see `ssfilter_bytecompile` in
//! iproute2's `misc/ss.c`). A host with 20,000 established connections then hands back the few
//! sockets the check is about, instead of 20,000 records to be thrown away here.
//!
//! The request is written and the replies read as bytes (the layouts of `linux/inet_diag.h` and
//! `linux/netlink.h`); the socket is netlink-sys's, the crate netstat2 uses. netlink-packet-sock-diag,
//! which netstat2 builds its requests with, has no bytecode attribute, hence the hand-written request.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_SOCK_DIAG};

use super::netlink::{dump_request, read_dump};
use crate::ports::Protocol;

/// One socket as the kernel reported it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiagSocket {
    /// TCP or UDP.
    pub protocol: Protocol,
    /// The kernel's state number (`TCP_LISTEN` = 10, `TCP_TIME_WAIT` = 6; UDP: 7 unconnected).
    pub state: u8,
    /// Local address.
    pub address: IpAddr,
    /// Local port.
    pub port: u16,
    /// The socket's inode (0 for TIME_WAIT), which `/proc/PID/fd` links name.
    pub inode: u32,
}

/// `TCP_LISTEN` in the kernel's state numbering.
pub const TCP_LISTEN: u8 = 10;
/// `TCP_TIME_WAIT` in the kernel's state numbering.
pub const TCP_TIME_WAIT: u8 = 6;

const SOCK_DIAG_BY_FAMILY: u16 = 20;
const INET_DIAG_REQ_BYTECODE: u16 = 1;
const INET_DIAG_BC_JMP: u8 = 1;
const INET_DIAG_BC_S_GE: u8 = 2;
const INET_DIAG_BC_S_LE: u8 = 3;
const AF_INET: u8 = 2;
const AF_INET6: u8 = 10;
const IPPROTO_TCP: u8 = 6;
const IPPROTO_UDP: u8 = 17;
/// `struct inet_diag_req_v2`: family, protocol, ext, pad, states, `struct inet_diag_sockid` (48).
const REQ_LEN: usize = 56;
/// `struct inet_diag_msg`: family, state, timer, retrans, sockid (48), expires, rqueue, wqueue, uid,
/// inode.
const MSG_LEN: usize = 72;

/// The sockets of TCP (LISTEN, TIME_WAIT) and UDP (all) over IPv4 and IPv6 whose local port lies in
/// one of `ports` (inclusive ranges); every such socket when `ports` is `None`.
pub fn sockets(ports: Option<&[(u16, u16)]>) -> std::io::Result<Vec<DiagSocket>> {
    let mut socket = Socket::new(NETLINK_SOCK_DIAG)?;
    socket.bind_auto()?;
    socket.connect(&SocketAddr::new(0, 0))?;
    let bytecode = ports.map(|p| bytecode(&merge(p)));
    if bytecode.as_ref().is_some_and(Vec::is_empty) {
        return Ok(Vec::new());
    }
    let tcp_states = (1u32 << TCP_LISTEN) | (1u32 << TCP_TIME_WAIT);
    let mut out = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut seq = 0;
    for (protocol, proto, states) in [
        (Protocol::Tcp, IPPROTO_TCP, tcp_states),
        (Protocol::Udp, IPPROTO_UDP, u32::MAX),
    ] {
        for family in [AF_INET, AF_INET6] {
            seq += 1;
            let req = request(seq, family, proto, states, bytecode.as_deref());
            socket.send(&req, 0)?;
            dump(&socket, &mut buf, protocol, &mut out)?;
        }
    }
    Ok(out)
}

/// Reads the replies of one dump into `out`.
fn dump(
    socket: &Socket,
    buf: &mut [u8],
    protocol: Protocol,
    out: &mut Vec<DiagSocket>,
) -> std::io::Result<()> {
    read_dump(socket, buf, "sock_diag", |kind, body| {
        if kind == SOCK_DIAG_BY_FAMILY && body.len() >= MSG_LEN {
            out.push(message(body, protocol));
        }
    })
}

/// One `struct inet_diag_msg`.
fn message(m: &[u8], protocol: Protocol) -> DiagSocket {
    let family = m[0];
    let state = m[1];
    // sockid: sport (be16), dport (be16), src (4 x be32), dst (4 x be32), if, cookie.
    let port = u16::from_be_bytes([m[4], m[5]]);
    let src = &m[8..24];
    let address = if family == AF_INET6 {
        let mut a = [0u8; 16];
        a.copy_from_slice(src);
        IpAddr::V6(Ipv6Addr::from(a))
    } else {
        IpAddr::V4(Ipv4Addr::new(src[0], src[1], src[2], src[3]))
    };
    let inode = u32_ne(m, 68);
    DiagSocket {
        protocol,
        state,
        address,
        port,
        inode,
    }
}

/// A dump request of one family and protocol, with the bytecode attribute when there is one.
fn request(seq: u32, family: u8, proto: u8, states: u32, bytecode: Option<&[u8]>) -> Vec<u8> {
    let attr = bytecode.map_or(0, |b| 4 + b.len());
    let mut r = dump_request(SOCK_DIAG_BY_FAMILY, seq, REQ_LEN + attr);
    r.extend_from_slice(&[family, proto, 0, 0]);
    r.extend_from_slice(&states.to_ne_bytes());
    r.extend_from_slice(&[0u8; 48]);
    if let Some(b) = bytecode {
        r.extend_from_slice(&u16::try_from(4 + b.len()).unwrap_or(u16::MAX).to_ne_bytes());
        r.extend_from_slice(&INET_DIAG_REQ_BYTECODE.to_ne_bytes());
        r.extend_from_slice(b);
    }
    r
}

/// Sorted, with overlapping and adjacent ranges joined.
fn merge(ports: &[(u16, u16)]) -> Vec<(u16, u16)> {
    let mut v: Vec<(u16, u16)> = ports.iter().map(|&(a, b)| (a.min(b), a.max(b))).collect();
    v.sort_unstable();
    let mut out: Vec<(u16, u16)> = Vec::with_capacity(v.len());
    for (lo, hi) in v {
        match out.last_mut() {
            Some(last) if u32::from(lo) <= u32::from(last.1) + 1 => last.1 = last.1.max(hi),
            _ => out.push((lo, hi)),
        }
    }
    out
}

/// The inet_diag program "local port in one of `ranges`": a block per range, `S_GE lo; S_LE hi; JMP
/// accept`, where a failed comparison goes on to the next block and the last one's failure rejects.
///
/// The kernel runs the ops from the start; an op's `yes`/`no` is how many bytes to move forward when
/// its condition holds or not, and the socket is accepted when that lands exactly on the program's
/// end, rejected when it lands 4 bytes past it. A port comparison is two ops (the second holds the
/// port in `no`). `inet_diag_bc_audit` requires every `no` target to be reachable along the `yes`
/// chain, which this layout keeps (the `JMP`'s `yes` is 4, onto the next block). `S_GE`/`S_LE` exist
/// since Linux 2.6; `S_EQ` (4.16+) is not needed.
fn bytecode(ranges: &[(u16, u16)]) -> Vec<u8> {
    let n = ranges.len();
    let total = n * 20 - usize::from(n > 0) * 4;
    let mut b = Vec::with_capacity(total);
    let op = |b: &mut Vec<u8>, code: u8, yes: u8, no: u16| {
        b.push(code);
        b.push(yes);
        b.extend_from_slice(&no.to_ne_bytes());
    };
    for (i, &(lo, hi)) in ranges.iter().enumerate() {
        let start = b.len();
        let remaining = total - start;
        // Next block (20 bytes on) or, after the last, reject (the last block is 16: 16 + 4).
        op(&mut b, INET_DIAG_BC_S_GE, 8, 20);
        op(&mut b, 0, 0, lo);
        op(&mut b, INET_DIAG_BC_S_LE, 8, 12);
        op(&mut b, 0, 0, hi);
        if i + 1 < n {
            let to_end = u16::try_from(remaining - 16).unwrap_or(u16::MAX);
            op(&mut b, INET_DIAG_BC_JMP, 4, to_end);
        }
    }
    b
}

fn bytes4(b: &[u8], at: usize) -> [u8; 4] {
    [b[at], b[at + 1], b[at + 2], b[at + 3]]
}

fn u32_ne(b: &[u8], at: usize) -> u32 {
    u32::from_ne_bytes(bytes4(b, at))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The kernel's `inet_diag_bc_run` for port comparisons, to test the programs' jumps.
    fn run(bc: &[u8], port: u16) -> bool {
        let mut len = bc.len() as isize;
        let mut at = 0usize;
        while len > 0 {
            let code = bc[at];
            let yes_off = bc[at + 1] as isize;
            let no_off = u16::from_ne_bytes([bc[at + 2], bc[at + 3]]) as isize;
            let arg = || u16::from_ne_bytes([bc[at + 6], bc[at + 7]]);
            let yes = match code {
                INET_DIAG_BC_S_GE => port >= arg(),
                INET_DIAG_BC_S_LE => port <= arg(),
                INET_DIAG_BC_JMP => false,
                _ => panic!("unexpected op {code}"),
            };
            let step = if yes { yes_off } else { no_off };
            len -= step;
            at = at.wrapping_add(step as usize);
        }
        len == 0
    }

    /// The kernel's `inet_diag_bc_audit` checks for these ops (offsets and reachability).
    fn audit(bc: &[u8]) -> bool {
        let valid_cc = |cc: isize| {
            let mut len = bc.len() as isize;
            let mut at = 0usize;
            while len >= 0 {
                if cc > len {
                    return false;
                }
                if cc == len {
                    return true;
                }
                let yes = bc[at + 1] as isize;
                if yes < 4 || yes & 3 != 0 {
                    return false;
                }
                len -= yes;
                at += yes as usize;
            }
            false
        };
        let mut len = bc.len() as isize;
        let mut at = 0usize;
        while len > 0 {
            let code = bc[at];
            let yes = bc[at + 1] as isize;
            let no = u16::from_ne_bytes([bc[at + 2], bc[at + 3]]) as isize;
            let min = if code == INET_DIAG_BC_JMP { 4 } else { 8 };
            if no < min || no > len + 4 || no & 3 != 0 {
                return false;
            }
            if no < len && !valid_cc(len - no) {
                return false;
            }
            if yes < min || yes > len + 4 || yes & 3 != 0 {
                return false;
            }
            at += yes as usize;
            len -= yes;
        }
        len == 0
    }

    #[test]
    fn programs_accept_exactly_their_ports_and_pass_the_audit() {
        let cases: Vec<Vec<(u16, u16)>> = vec![
            vec![(8080, 8080)],
            vec![(80, 80), (443, 443)],
            vec![(1, 1), (9000, 9010), (65535, 65535)],
            (0..300).map(|i| (i * 200 + 7, i * 200 + 9)).collect(),
        ];
        for ranges in cases {
            let bc = bytecode(&merge(&ranges));
            assert!(audit(&bc), "{ranges:?}");
            for port in (0..=65535u16)
                .step_by(1)
                .filter(|p| p % 97 == 0 || *p < 2000)
            {
                let want = ranges.iter().any(|&(a, b)| (a..=b).contains(&port));
                assert_eq!(run(&bc, port), want, "port {port} in {ranges:?}");
            }
            for &(a, b) in &ranges {
                for port in [a.saturating_sub(1), a, b, b.saturating_add(1)] {
                    let want = ranges.iter().any(|&(a, b)| (a..=b).contains(&port));
                    assert_eq!(run(&bc, port), want, "port {port} in {ranges:?}");
                }
            }
        }
    }

    #[test]
    fn ranges_are_merged() {
        assert_eq!(
            merge(&[(10, 12), (13, 13), (5, 5), (11, 20), (30, 29)]),
            vec![(5, 5), (10, 20), (29, 30)]
        );
    }
}
