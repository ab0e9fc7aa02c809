//! An IPv6 datagram reaches a host of the simulated network (docs/MODEL.md, "IPv6"):
//! a client takes what is for its addresses; a server gives DHCPv6 to its address
//! server and everything to its responder (with the frame's link-layer source, R-V6-2);
//! a router relays DHCPv6 (R-V6-3) and forwards unicast between its segments.

use crate::build::Built;
use crate::world::{HostId, HostKind};
use pxelab_engine::dhcp6;
use pxelab_engine::Mac;
use std::net::{Ipv6Addr, SocketAddrV6};

/// Returns the client a router refused to forward for (its boot may have ended).
pub(crate) fn deliver6(
    b: &mut Built,
    host: HostId,
    iface: usize,
    src: SocketAddrV6,
    dst: SocketAddrV6,
    link_src: Mac,
    payload: Vec<u8>,
) -> Option<HostId> {
    let w = &mut b.world;
    if !w.hosts[host].up {
        return None;
    }
    let seg = w.hosts[host].ifaces[iface].seg;
    let own = dst.ip().is_multicast() || w.net6.lookup(seg, *dst.ip()) == Some((host, iface));
    match &w.hosts[host].kind {
        HostKind::Client(_) => {
            if own {
                w.firmware_receives(host, iface, payload.len(), true);
                w.with_client(host, |c, now, _| {
                    c.handle_datagram6(now, src, dst, &payload)
                });
            }
        }
        HostKind::Server(_) => {
            if !own {
                return None;
            }
            w.server_receives(host, iface, dst.port());
            if dst.port() == dhcp6::SERVER_PORT {
                let now = w.now;
                let name = w.hosts[host].name.clone();
                let (replies, log) = match &mut w.hosts[host].kind {
                    HostKind::Server(s) => match s.dhcp6.as_mut() {
                        Some(d) => (d.handle(src, &payload), d.take_log()),
                        None => (Vec::new(), Vec::new()),
                    },
                    _ => (Vec::new(), Vec::new()),
                };
                for line in log {
                    w.logs.push((now, name.clone(), line));
                }
                let me = w
                    .net6
                    .global
                    .get(&(host, iface))
                    .copied()
                    .unwrap_or(Ipv6Addr::UNSPECIFIED);
                for r in replies {
                    w.send6(
                        host,
                        iface,
                        SocketAddrV6::new(me, dhcp6::SERVER_PORT, 0, 0),
                        r.dst,
                        r.payload,
                    );
                }
            }
            // R-V6-2: the frame's link-layer source is the client's only when it is on
            // the link (a routed datagram's is the router's).
            let link_src = w.net6.on_link(seg, *src.ip()).then_some(link_src);
            w.with_responder(host, |r, now, out| {
                r.handle_datagram6(now, src, dst, link_src, &payload, out)
            });
        }
        HostKind::Router(rh) => {
            if dst.ip().is_multicast() && dst.port() == dhcp6::SERVER_PORT {
                // The relay agent: a Relay-Forward to each helper (R-V6-3).
                let sends = rh.relay6.from_client(iface, *src.ip(), link_src, &payload);
                for (to, p) in sends {
                    if let Some(out_if) = router_iface6(b, host, *to.ip()) {
                        let from = router_addr6(b, host, out_if);
                        b.world.send6(
                            host,
                            out_if,
                            SocketAddrV6::new(from, dhcp6::SERVER_PORT, 0, 0),
                            to,
                            p,
                        );
                    }
                }
            } else if own && dst.port() == dhcp6::SERVER_PORT {
                if let Some((out_if, to, p)) = rh.relay6.from_server(&payload) {
                    let mac = b.world.hosts[host].ifaces[out_if].mac;
                    let from = crate::ipv6::link_local(mac);
                    b.world.send6(
                        host,
                        out_if,
                        SocketAddrV6::new(from, dhcp6::SERVER_PORT, 0, 0),
                        to,
                        p,
                    );
                }
            } else if !own && !dst.ip().is_multicast() && !dst.ip().is_unicast_link_local() {
                if src.ip().is_unicast_link_local() {
                    // A router forwards no link-local source (RFC 4291 2.5.6); it answers
                    // ICMPv6 "beyond scope of source address" (RFC 4443 3.1, code 2),
                    // which only EDK2's boot request meets (docs/MODEL.md).
                    let client = b.world.net6.lookup(seg, *src.ip()).map(|(h, _)| h)?;
                    let router_mac = b.world.hosts[host].ifaces[iface].mac;
                    b.world
                        .capture_beyond_scope6(seg, router_mac, link_src, src, dst, &payload);
                    b.world
                        .with_client(client, |c, now, _| c.beyond_scope6(now, dst));
                    return Some(client);
                }
                if let Some(out_if) = router_iface6(b, host, *dst.ip()) {
                    if out_if != iface {
                        b.world.send6(host, out_if, src, dst, payload);
                    }
                }
            }
        }
        HostKind::Probe(_) => {}
    }
    None
}

/// The router interface whose segment's prefix holds `ip`.
fn router_iface6(b: &Built, host: HostId, ip: Ipv6Addr) -> Option<usize> {
    let w = &b.world;
    w.hosts[host].ifaces.iter().position(|i| {
        w.net6
            .prefix(i.seg)
            .is_some_and(|p| crate::ipv6::in_prefix(ip, p))
    })
}

/// A router interface's own global address (its link-local without one).
fn router_addr6(b: &Built, host: HostId, iface: usize) -> Ipv6Addr {
    let w = &b.world;
    w.net6
        .global
        .get(&(host, iface))
        .copied()
        .unwrap_or_else(|| crate::ipv6::link_local(w.hosts[host].ifaces[iface].mac))
}
