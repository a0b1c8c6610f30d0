//! Where the OS reports socket owners itself (Windows, macOS): netstat2's full listing, filtered here.

use std::collections::HashMap;

use netstat2::{AddressFamilyFlags, ProtocolFlags, ProtocolSocketInfo, TcpState};

use super::table::{Interest, Listed, wanted};
use crate::facts::FactsError;
use crate::facts::{Socket, SocketState};
use crate::ports::Protocol;

/// Listening and TIME_WAIT TCP sockets and every UDP socket on the ports of `interest` (all when
/// `None`), with owners where the OS gives them.
pub fn list(interest: Option<&Interest>) -> Result<Vec<Listed>, FactsError> {
    let af = AddressFamilyFlags::IPV4 | AddressFamilyFlags::IPV6;
    let proto = ProtocolFlags::TCP | ProtocolFlags::UDP;
    let infos =
        netstat2::get_sockets_info(af, proto).map_err(|e| FactsError::Probe(e.to_string()))?;
    let mut out = Vec::new();
    for info in infos {
        let (protocol, address, port, state) = match &info.protocol_socket_info {
            ProtocolSocketInfo::Tcp(t) => {
                let state = match t.state {
                    TcpState::Listen => SocketState::Listen,
                    TcpState::TimeWait => SocketState::TimeWait,
                    _ => continue,
                };
                (Protocol::Tcp, t.local_addr, t.local_port, state)
            }
            ProtocolSocketInfo::Udp(u) => (
                Protocol::Udp,
                u.local_addr,
                u.local_port,
                SocketState::Bound,
            ),
        };
        if !wanted(interest, protocol, port) {
            continue;
        }
        out.push(Listed {
            socket: Socket {
                protocol,
                address,
                port,
                state,
                // PID 0 (the System Idle Process on Windows, or an owner Wine can't tell) owns nothing.
                pid: info.associated_pids.first().copied().filter(|p| *p != 0),
                process: None,
                services: Vec::new(),
            },
            inode: 0,
        });
    }
    Ok(out)
}

/// Owners came with the sockets.
pub fn owners(_: &[u32]) -> HashMap<u32, u32> {
    HashMap::new()
}
