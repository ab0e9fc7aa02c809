//! ICMP port unreachable, as far as the firmware models need it: a datagram unicast to
//! a server host that is down reaches a kernel with no process on the port (in the lab
//! `down` kills the host's processes, its namespace stays), which answers with ICMP
//! port unreachable. EDK2's Mtftp ends a read on it
//! (`FirmwareModel::tftp_gives_up_on_port_unreachable`); nothing else here listens.

use crate::world::{HostId, HostKind, World};
use std::net::{Ipv4Addr, SocketAddrV4};

/// `host` (down) was sent `src` → `dst` on `iface`: tell the sending client, if any
/// (returned, so that its outcome is recorded).
pub fn port_unreachable(
    w: &mut World,
    host: HostId,
    iface: usize,
    src: SocketAddrV4,
    dst: SocketAddrV4,
) -> Option<HostId> {
    let unicast_to_it = *dst.ip() != Ipv4Addr::BROADCAST
        && Some(*dst.ip()) == w.hosts[host].ifaces[iface].ip
        && matches!(w.hosts[host].kind, HostKind::Server(_));
    if !unicast_to_it || src.ip().is_unspecified() {
        return None;
    }
    let client = w.hosts.iter().position(|h| {
        matches!(h.kind, HostKind::Client(_)) && h.up && h.ifaces[0].ip == Some(*src.ip())
    });
    let c = client?;
    w.with_client(c, |c, now, _| c.port_unreachable(now, dst));
    Some(c)
}
