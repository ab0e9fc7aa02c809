//! IPv6 datagrams on the simulated segments (docs/MODEL.md, "IPv6"): sent with the link
//! model of IPv4 (an IPv6 header is 20 bytes longer than an IPv4 one, which the line
//! time counts), multicast to ff02::1:2 to the segment's DHCPv6 listeners, unicast to
//! the port holding the address, or to the segment's IPv6 router when the address is
//! off the link.

use super::{EvKind, HostId, HostKind, LinkModel, Usage, World};
use crate::ipv6::{build_frame6, multicast_mac};
use pxelab_engine::{Instant, Mac};
use rand::RngExt as _;
use std::net::{Ipv6Addr, SocketAddrV6};
use std::time::Duration;

/// How many bytes longer an IPv6 header is than an IPv4 one (40 against 20).
const V6_EXTRA: usize = 20;

impl World {
    /// A client's leased IPv6 address changed.
    pub fn set_client_ip6(
        &mut self,
        host: HostId,
        before: Option<Ipv6Addr>,
        after: Option<Ipv6Addr>,
    ) {
        let seg = self.hosts[host].ifaces[0].seg;
        if let Some(b) = before {
            self.net6.remove(seg, b, (host, 0));
        }
        if let Some(a) = after {
            self.net6.add(seg, a, (host, 0));
        }
    }

    /// Send an IPv6 datagram out of a host's interface.
    pub fn send6(
        &mut self,
        host: HostId,
        iface: usize,
        src: SocketAddrV6,
        dst: SocketAddrV6,
        payload: Vec<u8>,
    ) {
        if !self.hosts[host].up {
            return;
        }
        if let HostKind::Server(s) = &self.hosts[host].kind {
            if s.down_on_transfer && super::is_tftp_data(&payload) && src.port() >= 49152 {
                self.take_down(host);
                return;
            }
        }
        self.stats.packets_sent += 1;
        let seg_id = self.hosts[host].ifaces[iface].seg;
        let link = self.segments[seg_id].link;
        let times = self.line.get(&link, payload.len() + V6_EXTRA);
        let (tx, first, wire) = (times.tx, times.first, times.wire);
        let now = self.now;
        let start = self.line_mut(host, iface).egress.transmit(now, tx);
        let ready = start + first;
        if self.usage.segments.len() <= seg_id {
            self.usage.segments.resize(seg_id + 1, Vec::new());
        }
        Usage::add(&mut self.usage.segments[seg_id], start, wire);
        if matches!(self.hosts[host].kind, HostKind::Server(_)) {
            if self.usage.egress.len() <= host {
                self.usage.egress.resize(host + 1, Vec::new());
            }
            Usage::add(&mut self.usage.egress[host], start, wire);
        }
        let src_mac = self.hosts[host].ifaces[iface].mac;
        if dst.ip().is_multicast() {
            self.capture6(
                seg_id,
                start,
                src_mac,
                multicast_mac(*dst.ip()),
                src,
                dst,
                &payload,
            );
            let ports: Vec<(HostId, usize)> = self
                .net6
                .dhcp_listeners
                .get(&seg_id)
                .map(|v| v.iter().copied().filter(|(h, _)| *h != host).collect())
                .unwrap_or_default();
            for (h, i) in ports {
                self.deliver_port6(link, ready, tx, h, i, src, dst, src_mac, payload.clone());
            }
            return;
        }
        let target = match self.net6.lookup(seg_id, *dst.ip()) {
            Some(p) => Some(p),
            None if !self.net6.on_link(seg_id, *dst.ip()) => {
                self.net6.gateways.get(&seg_id).copied()
            }
            None => None,
        };
        let Some((h, i)) = target else {
            // Nobody on the segment holds that address (neighbour discovery fails).
            self.capture6(seg_id, start, src_mac, Mac::BROADCAST, src, dst, &payload);
            self.stats.packets_lost += 1;
            return;
        };
        let dst_mac = self.hosts[h].ifaces[i].mac;
        self.capture6(seg_id, start, src_mac, dst_mac, src, dst, &payload);
        self.deliver_port6(link, ready, tx, h, i, src, dst, src_mac, payload);
    }

    #[allow(clippy::too_many_arguments)]
    fn deliver_port6(
        &mut self,
        link: LinkModel,
        ready: Instant,
        tx: Duration,
        host: HostId,
        iface: usize,
        src: SocketAddrV6,
        dst: SocketAddrV6,
        link_src: Mac,
        payload: Vec<u8>,
    ) {
        if link.loss > 0.0 && self.rng.random::<f64>() < link.datagram_loss(payload.len()) {
            self.stats.packets_lost += 1;
            return;
        }
        let start = self.line_mut(host, iface).ingress.transmit(ready, tx);
        let at = start + tx + link.delay;
        self.stats.packets_delivered += 1;
        self.schedule(
            at,
            EvKind::Deliver6 {
                host,
                iface,
                addrs: Box::new((src, dst)),
                link_src,
                payload,
            },
        );
    }

    /// A router on segment `seg` refused `src` → `dst` (a link-local source): its
    /// ICMPv6 error to the sender, in the segment's capture.
    #[allow(clippy::too_many_arguments)]
    pub fn capture_beyond_scope6(
        &mut self,
        seg: usize,
        router_mac: Mac,
        client_mac: Mac,
        src: SocketAddrV6,
        dst: SocketAddrV6,
        payload: &[u8],
    ) {
        let at = self.now;
        if let Some(c) = &mut self.segments[seg].capture {
            let mut frame = Vec::with_capacity(payload.len() + 110);
            let router = crate::ipv6::link_local(router_mac);
            crate::ipv6::build_beyond_scope6(
                &mut frame, router_mac, client_mac, router, src, dst, payload,
            );
            c.write_frame(at, &frame);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn capture6(
        &mut self,
        seg: usize,
        at: Instant,
        src_mac: Mac,
        dst_mac: Mac,
        src: SocketAddrV6,
        dst: SocketAddrV6,
        payload: &[u8],
    ) {
        if let Some(c) = &mut self.segments[seg].capture {
            let mut frame = Vec::with_capacity(payload.len() + 62);
            build_frame6(&mut frame, src_mac, dst_mac, src, dst, payload);
            c.write_frame(at, &frame);
        }
    }
}
