//! What the probe's netlink dumps share (`linux/netlink.h`): the header of a dump request, and reading
//! the replies of one dump until `NLMSG_DONE`. The sock_diag socket table ([`super::sockdiag`]) and
//! the nftables table check ([`super::nftables`]) are both such dumps.

use netlink_sys::Socket;

const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_DUMP: u16 = 0x300;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
/// `struct nlmsghdr`.
const NLMSG_HDR: usize = 16;

/// The `nlmsghdr` of a dump request of `kind` whose body (appended by the caller) is `body` bytes.
pub fn dump_request(kind: u16, seq: u32, body: usize) -> Vec<u8> {
    let len = NLMSG_HDR + body;
    let mut r = Vec::with_capacity(len);
    r.extend_from_slice(&u32::try_from(len).unwrap_or(u32::MAX).to_ne_bytes());
    r.extend_from_slice(&kind.to_ne_bytes());
    r.extend_from_slice(&(NLM_F_REQUEST | NLM_F_DUMP).to_ne_bytes());
    r.extend_from_slice(&seq.to_ne_bytes());
    r.extend_from_slice(&0u32.to_ne_bytes());
    r
}

/// Reads the replies of one dump until `NLMSG_DONE`, handing each other message's type and body to
/// `each`. A kernel error reply is the error; `what` names the dump in the message of a truncated one.
pub fn read_dump(
    socket: &Socket,
    buf: &mut [u8],
    what: &str,
    mut each: impl FnMut(u16, &[u8]),
) -> std::io::Result<()> {
    loop {
        let n = socket.recv(&mut &mut buf[..], 0)?;
        if n == 0 {
            return Ok(());
        }
        let mut at = 0;
        while at + NLMSG_HDR <= n {
            let len = u32::from_ne_bytes([buf[at], buf[at + 1], buf[at + 2], buf[at + 3]]) as usize;
            let kind = u16::from_ne_bytes([buf[at + 4], buf[at + 5]]);
            if len < NLMSG_HDR || at + len > n {
                return Err(std::io::Error::other(format!(
                    "{what}: truncated netlink message"
                )));
            }
            let body = &buf[at + NLMSG_HDR..at + len];
            match kind {
                NLMSG_DONE => return Ok(()),
                NLMSG_ERROR => {
                    if let Some(code) = body.first_chunk::<4>().map(|b| i32::from_ne_bytes(*b))
                        && code != 0
                    {
                        return Err(std::io::Error::from_raw_os_error(-code));
                    }
                }
                _ => each(kind, body),
            }
            at += (len + 3) & !3;
        }
    }
}
