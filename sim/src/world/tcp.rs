//! TCP segments on the simulated network (HTTP boot): the same link model, switch,
//! loss draw and capture as datagrams (`World::send`), for [`Segment`]s. Unicast only:
//! to a host of the segment by address, else to the segment's router.

use super::{EvKind, HostKind, Usage, World};
use crate::tcp::Segment;
use crate::world::HostId;
use pxelab_engine::Mac;
use rand::RngExt as _;

impl World {
    /// Send a TCP segment out of a host's interface.
    pub fn send_tcp(&mut self, host: HostId, iface: usize, seg: Segment) {
        if !self.hosts[host].up {
            return;
        }
        self.stats.packets_sent += 1;
        let seg_id = self.hosts[host].ifaces[iface].seg;
        let link = self.segments[seg_id].link;
        // The link model counts a UDP datagram's payload; a TCP header is 12 bytes
        // longer than a UDP one (20, and 4 with the MSS option).
        let len = seg.payload.len() + seg.header_len() - 8;
        let times = link.line_times(len);
        let now = self.now;
        let start = self.hosts[host].ifaces[iface]
            .egress
            .transmit(now, times.tx);
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
        let dst = *seg.dst.ip();
        let seg_ref = &self.segments[seg_id];
        let target = match self.addr_index.get(&(seg_id, dst)) {
            Some(p) => Some(*p),
            None if !seg_ref.contains(dst) => seg_ref.gateway,
            None => None,
        };
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
        let start = self.hosts[h].ifaces[i].ingress.transmit(ready, times.tx);
        let at = start + times.tx + link.delay;
        self.stats.packets_delivered += 1;
        self.schedule(
            at,
            EvKind::DeliverTcp {
                host: h,
                iface: i,
                seg,
            },
        );
    }

    /// Sends the segments a client wants sent (after `World::with_client`'s call).
    pub(crate) fn flush_client_tcp(&mut self, host: HostId) {
        let mut segs = Vec::new();
        if let HostKind::Client(c) = &mut self.hosts[host].kind {
            c.take_tcp(&mut segs);
        }
        for s in segs {
            self.send_tcp(host, 0, s);
        }
    }
}
