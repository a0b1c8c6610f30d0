//! Whether the kernel holds any nftables table, asked over netfilter netlink: a dump of
//! `NFT_MSG_GETTABLE`, as `nft list tables` sends it. `nft -j list ruleset` costs a process (3 to 10 ms
//! where a check of `--local` takes 20), so it runs only when there is a ruleset to list.

use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_NETFILTER};

use super::netlink::{dump_request, read_dump};

/// `NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_GETTABLE`.
const GET_TABLES: u16 = (10 << 8) | 1;
/// `NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_NEWTABLE`: one table in the reply.
const NEW_TABLE: u16 = 10 << 8;

/// Whether any nftables table exists (in any family), or why the kernel could not be asked (no
/// permission, no nf_tables): then the caller runs `nft` as before.
pub fn has_tables() -> std::io::Result<bool> {
    let mut socket = Socket::new(NETLINK_NETFILTER)?;
    socket.bind_auto()?;
    socket.connect(&SocketAddr::new(0, 0))?;
    // nfgenmsg: family AF_UNSPEC (every family), version NFNETLINK_V0, res_id 0.
    let mut req = dump_request(GET_TABLES, 1, 4);
    req.extend_from_slice(&[0, 0, 0, 0]);
    socket.send(&req, 0)?;
    let mut found = false;
    read_dump(&socket, &mut [0u8; 16 * 1024], "nfnetlink", |kind, _| {
        found |= kind == NEW_TABLE;
    })?;
    Ok(found)
}
