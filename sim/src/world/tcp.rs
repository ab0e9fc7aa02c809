//! TCP segments on the simulated network (HTTP boot): the same link model, switch,
//! loss draw and capture as datagrams (`World::send`), for [`Segment`]s. Unicast only:
//! to a host of the segment by address, else to the segment's router.

use super::{EvKind, HostKind, Usage, World};
use crate::tcp::Segment;
use crate::world::HostId;
use pxelab_engine::Mac;
use rand::RngExt as _;
use std::net::IpAddr;

impl World {
    /// Send a TCP segment out of a host's interface.
    pub fn send_tcp(&mut self, host: HostId, iface: usize, seg: Segment) {
        if !self.hosts[host].up {
            return;
        }
        // `down ... during: transfer` over HTTP: the host dies instead of sending a
        // file's bytes (as over TFTP it dies instead of a DATA packet).
        if let HostKind::Server(s) = &self.hosts[host].kind {
            if s.down_on_transfer && is_http_file_data(&seg.payload) {
                self.take_down(host);
                return;
            }
        }
        self.stats.packets_sent += 1;
        let seg_id = self.hosts[host].ifaces[iface].seg;
        let link = self.segments[seg_id].link;
        // The link model counts a UDP datagram's payload over IPv4; a TCP header is 12
        // bytes longer than a UDP one (20, and 4 with the MSS option), an IPv6 header
        // 20 bytes longer than an IPv4 one.
        let v6_extra = if seg.dst.is_ipv6() { 20 } else { 0 };
        let len = seg.payload.len() + seg.header_len() - 8 + v6_extra;
        let times = link.line_times(len);
        let now = self.now;
        let start = self.line_mut(host, iface).egress.transmit(now, times.tx);
        let ready = start + times.first;
        if self.usage.segments.len() <= seg_id {
            self.usage.segments.resize(seg_id + 1, Vec::new());
        }
        Usage::add(&mut self.usage.segments[seg_id], start, times.wire);
        if matches!(self.hosts[host].kind, HostKind::Server(_)) {
            if self.usage.egress.len() <= host {
                self.usage.egress.resize(host + 1, Vec::new());
            }
            Usage::add(&mut self.usage.egress[host], start, times.wire);
        }
        let src_mac = self.hosts[host].ifaces[iface].mac;
        let target = self.tcp_next_hop(seg_id, seg.dst.ip());
        let dst_mac = target.map_or(Mac::BROADCAST, |(h, i)| self.hosts[h].ifaces[i].mac);
        if let Some(c) = &mut self.segments[seg_id].capture {
            c.write_tcp(start, src_mac, dst_mac, &seg);
        }
        let Some((h, i)) = target else {
            self.stats.packets_lost += 1;
            return; // nobody on the segment has that address
        };
        if link.loss > 0.0 && self.rng.random::<f64>() < link.datagram_loss(len) {
            self.stats.packets_lost += 1;
            return;
        }
        let start = self.line_mut(h, i).ingress.transmit(ready, times.tx);
        let at = start + times.tx + link.delay;
        self.stats.packets_delivered += 1;
        self.schedule(
            at,
            EvKind::DeliverTcp {
                host: h,
                iface: i,
                seg: Box::new(seg),
            },
        );
    }

    /// The port a segment to `dst` goes to on segment `seg_id`: the host holding the
    /// address, else the segment's router (of the family) when it is off the link.
    fn tcp_next_hop(&self, seg_id: usize, dst: IpAddr) -> Option<(HostId, usize)> {
        match dst {
            IpAddr::V4(d) => {
                let seg_ref = &self.segments[seg_id];
                match self.port_of(seg_id, d) {
                    Some(p) => Some(p),
                    None if !seg_ref.contains(d) => seg_ref.gateway,
                    None => None,
                }
            }
            IpAddr::V6(d) => match self.net6.lookup(seg_id, d) {
                Some(p) => Some(p),
                None if !self.net6.on_link(seg_id, d) => self.net6.gateways.get(&seg_id).copied(),
                None => None,
            },
        }
    }

    /// Whether `ip` is the host's address on interface `iface` (either family).
    pub fn holds_address(&self, host: HostId, iface: usize, ip: IpAddr) -> bool {
        match ip {
            IpAddr::V4(a) => self.hosts[host].ifaces.iter().any(|i| i.ip == Some(a)),
            IpAddr::V6(a) => {
                let seg = self.hosts[host].ifaces[iface].seg;
                self.net6.lookup(seg, a) == Some((host, iface))
            }
        }
    }

    /// The interface a host sends from with source address `ip` (either family).
    pub fn iface_for_addr(&self, host: HostId, ip: IpAddr) -> usize {
        match ip {
            IpAddr::V4(a) => self.iface_for(host, a),
            IpAddr::V6(a) => (0..self.hosts[host].ifaces.len())
                .find(|i| self.net6.global.get(&(host, *i)) == Some(&a))
                .unwrap_or(0),
        }
    }

    /// A router's interface towards `ip` (either family).
    pub fn router_iface_for_addr(&self, host: HostId, ip: IpAddr) -> Option<usize> {
        match ip {
            IpAddr::V4(a) => self.router_iface_for(host, a),
            IpAddr::V6(a) => self.hosts[host].ifaces.iter().position(|i| {
                self.net6
                    .prefix(i.seg)
                    .is_some_and(|p| crate::ipv6::in_prefix(a, p))
            }),
        }
    }

    /// Sends the segments a client wants sent (after `World::with_client`'s call).
    pub(crate) fn flush_client_tcp(&mut self, host: HostId) {
        let HostKind::Client(c) = &mut self.hosts[host].kind else {
            return;
        };
        // Every call of a TFTP block's client comes here: nothing to do, no vector.
        let Some(segs) = c.take_tcp() else {
            return;
        };
        for s in segs {
            self.send_tcp(host, 0, s);
        }
    }
}

/// A server's segment that carries file bytes: a body's continuation, or a 200 answer's
/// head with body bytes after it (a HEAD's answer, an error's or a bare head is not).
fn is_http_file_data(payload: &[u8]) -> bool {
    if payload.is_empty() {
        return false;
    }
    if !payload.starts_with(b"HTTP/") {
        return true;
    }
    let ok = payload.get(9..12) == Some(&b"200"[..]);
    let head_end = payload.windows(4).position(|w| w == b"\r\n\r\n");
    ok && head_end.is_some_and(|e| e + 4 < payload.len())
}

#[cfg(test)]
mod http_file_data_tests {
    use super::is_http_file_data;

    #[test]
    fn file_bytes_are_a_bodys_not_a_heads() {
        assert!(is_http_file_data(b"\x7fELF..."));
        assert!(is_http_file_data(
            b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc"
        ));
        assert!(!is_http_file_data(
            b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n"
        ));
        assert!(!is_http_file_data(
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\nno"
        ));
        assert!(!is_http_file_data(b""));
    }
}
