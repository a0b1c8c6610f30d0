//! Whether the kernel holds any nftables table, asked over netfilter netlink: a dump of
//! `NFT_MSG_GETTABLE`, as `nft list tables` sends it. `nft -j list ruleset` costs a process (3 to 10 ms
//! where a check of `--local` takes 20), so it runs only when there is a ruleset to list.

use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_NETFILTER};

/// `NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_GETTABLE`.
const GET_TABLES: u16 = (10 << 8) | 1;
/// `NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_NEWTABLE`: one table in the reply.
const NEW_TABLE: u16 = 10 << 8;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_DUMP: u16 = 0x300;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const NLMSG_HDR: usize = 16;

/// Whether any nftables table exists (in any family), or why the kernel could not be asked (no
/// permission, no nf_tables): then the caller runs `nft` as before.
pub fn has_tables() -> std::io::Result<bool> {
    let mut socket = Socket::new(NETLINK_NETFILTER)?;
    socket.bind_auto()?;
    socket.connect(&SocketAddr::new(0, 0))?;
    // nlmsghdr, then nfgenmsg: family AF_UNSPEC (every family), version NFNETLINK_V0, res_id 0.
    let mut req = Vec::with_capacity(NLMSG_HDR + 4);
    req.extend_from_slice(&((NLMSG_HDR + 4) as u32).to_ne_bytes());
    req.extend_from_slice(&GET_TABLES.to_ne_bytes());
    req.extend_from_slice(&(NLM_F_REQUEST | NLM_F_DUMP).to_ne_bytes());
    req.extend_from_slice(&1u32.to_ne_bytes());
    req.extend_from_slice(&0u32.to_ne_bytes());
    req.extend_from_slice(&[0, 0, 0, 0]);
    socket.send(&req, 0)?;
    let mut buf = vec![0u8; 64 * 1024];
    let mut found = false;
    loop {
        let n = socket.recv(&mut &mut buf[..], 0)?;
        if n == 0 {
            return Ok(found);
        }
        let mut at = 0;
        while at + NLMSG_HDR <= n {
            let len = u32::from_ne_bytes([buf[at], buf[at + 1], buf[at + 2], buf[at + 3]]) as usize;
            let kind = u16::from_ne_bytes([buf[at + 4], buf[at + 5]]);
            if len < NLMSG_HDR || at + len > n {
                return Err(std::io::Error::other("nfnetlink: truncated message"));
            }
            match kind {
                NLMSG_DONE => return Ok(found),
                NLMSG_ERROR if len >= NLMSG_HDR + 4 => {
                    let code = i32::from_ne_bytes([
                        buf[at + NLMSG_HDR],
                        buf[at + NLMSG_HDR + 1],
                        buf[at + NLMSG_HDR + 2],
                        buf[at + NLMSG_HDR + 3],
                    ]);
                    if code != 0 {
                        return Err(std::io::Error::from_raw_os_error(-code));
                    }
                }
                NEW_TABLE => found = true,
                _ => {}
            }
            at += (len + 3) & !3;
        }
    }
}
