//! The simulated network: hosts with interfaces on segments, the link model, the
//! event queue in virtual time, routers with IP helpers, and pcap capture.

use crate::client::{Client, Send};
use crate::event_queue::EventQueue;
use crate::link::{LineCache, Port};
// Until every user imports it from `link`, where it lives.
pub use crate::link::LinkModel;
use crate::pcap::SegmentCapture;
use pxelab_engine::dhcp::relay::RelayAgent;
use pxelab_engine::dhcp::server::DhcpServer;
use pxelab_engine::responder::{Effect, Output, Responder};
use pxelab_engine::tftp::server::FileData;
use pxelab_engine::{Instant, Mac};
use rand::RngExt as _;
use rand_chacha::ChaCha8Rng;
use std::net::{Ipv4Addr, SocketAddrV4, SocketAddrV6};
use std::time::Duration;

// Unicast delivery's address lookup.
mod addr_index;
// IPv6 sending and delivery (docs/MODEL.md, "IPv6"), apart.
mod firmware_cost;
mod send6;
// The lab overlay's server turnaround (`--compare` only).
mod server_turnaround;
// TCP segments of HTTP boot on the links and in the pcaps.
mod tcp;

pub type HostId = usize;
pub type SegId = usize;
/// An interface's entry in the world's table of [`Line`]s.
pub type LineId = u32;

pub struct Segment {
    pub name: String,
    pub net: Ipv4Addr,
    pub prefix: u8,
    pub link: LinkModel,
    pub ports: Vec<(HostId, usize)>,
    pub capture: Option<SegmentCapture>,
    /// The router interface address on this segment, the default gateway.
    pub gateway: Option<(HostId, usize)>,
}

impl Segment {
    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        let mask = if self.prefix == 0 {
            0
        } else {
            u32::MAX << (32 - self.prefix as u32)
        };
        (u32::from(ip) & mask) == (u32::from(self.net) & mask)
    }
}

pub struct Iface {
    pub seg: SegId,
    pub ip: Option<Ipv4Addr>,
    pub mac: Mac,
    /// Its entry in the world's [`Line`]s, once its host is added.
    line: LineId,
}

impl Iface {
    pub fn new(seg: SegId, ip: Option<Ipv4Addr>, mac: Mac) -> Iface {
        Iface {
            seg,
            ip,
            mac,
            line: LineId::MAX,
        }
    }
}

/// An interface's two lines, the host's to the switch and the switch port's to the
/// host, with what a frame to it needs. The world keeps them in one dense table, apart
/// from the hosts: every datagram of a storm touches two, and read through the hosts
/// (a host, its interfaces' vector) they were cache misses (BENCHMARKS.md).
struct Line {
    host: u32,
    iface: u32,
    seg: u32,
    mac: Mac,
    ip: Option<Ipv4Addr>,
    egress: Port<Instant>,
    ingress: Port<Instant>,
}

/// A server host: a responder, a DHCP server, or both (co-located, R-ANS-2).
pub struct ServerHost {
    pub responder: Option<Responder>,
    /// Index into the runner's responder specs (to rebuild on `up`).
    pub responder_spec: Option<usize>,
    pub dhcp: Option<DhcpServer>,
    /// The DHCPv6 address server (`address6`, `pools6`).
    pub dhcp6: Option<pxelab_engine::dhcp6::server::DhcpServer6>,
    /// `down ... during: transfer` armed.
    pub down_on_transfer: bool,
}

pub struct RouterHost {
    pub relay: RelayAgent,
    /// `ip_helpers6`: the DHCPv6 relay agent.
    pub relay6: pxelab_engine::dhcp6::relay_agent::RelayAgent6,
}

/// A probe host: sends one-off TFTP requests (the `tftp_request` extension) and
/// records the first answer to each.
#[derive(Default)]
pub struct ProbeHost {
    /// (local port, probe index, when sent)
    pub pending: Vec<(u16, usize, Instant)>,
    pub answers: std::collections::HashMap<usize, Vec<u8>>,
}

pub enum HostKind {
    Client(Box<Client>),
    Server(Box<ServerHost>),
    Router(Box<RouterHost>),
    Probe(Box<ProbeHost>),
}

pub struct Host {
    pub name: String,
    pub kind: HostKind,
    pub ifaces: Vec<Iface>,
    pub up: bool,
    wake_at: Option<Instant>,
    /// The line of its first interface (a client's only one), read with the host's
    /// other fields instead of through `ifaces`.
    line0: LineId,
}

impl Host {
    pub fn new(name: &str, kind: HostKind, ifaces: Vec<Iface>) -> Host {
        Host {
            name: name.to_string(),
            kind,
            ifaces,
            up: true,
            wake_at: None,
            line0: LineId::MAX,
        }
    }
}

pub enum EvKind {
    /// A datagram to the interface of `line` (`World::port_of_line`).
    Deliver {
        line: LineId,
        src: SocketAddrV4,
        dst: SocketAddrV4,
        payload: Vec<u8>,
        /// DATA by reference: the file bytes that follow `payload` (the header).
        data: Option<FileData>,
    },
    /// An IPv6 datagram, with the frame's link-layer source (R-V6-2). Its addresses
    /// (source, destination) are boxed, as a TCP segment is: the rare kinds' bodies stay
    /// out of every event's slot.
    Deliver6 {
        host: HostId,
        iface: usize,
        addrs: Box<(SocketAddrV6, SocketAddrV6)>,
        link_src: Mac,
        payload: Vec<u8>,
    },
    Wake {
        host: HostId,
    },
    Script(usize),
    /// A TCP segment (HTTP boot, world/tcp.rs).
    DeliverTcp {
        host: HostId,
        iface: usize,
        seg: Box<crate::tcp::Segment>,
    },
}

/// Counters for `pxelab bench sim`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Stats {
    pub packets_sent: u64,
    pub packets_delivered: u64,
    pub packets_lost: u64,
    pub events: u64,
}

/// Bytes on the wire (Ethernet frames, fragments counted) per [`Usage::BUCKET`] of
/// virtual time: what entered each segment, and what each server host sent. For
/// `pxelab bench storm`'s peak link use.
#[derive(Clone, Debug, Default)]
pub struct Usage {
    /// Per segment (by id), per bucket.
    pub segments: Vec<Vec<u64>>,
    /// Per host (by id), per bucket: servers only (responders, DHCP servers); empty
    /// for the others.
    pub egress: Vec<Vec<u64>>,
}

impl Usage {
    pub const BUCKET: Duration = Duration::from_millis(100);

    fn add(v: &mut Vec<u64>, at: Instant, bytes: u64) {
        let i = (at.as_nanos() / Self::BUCKET.as_nanos() as u64) as usize;
        if v.len() <= i {
            v.resize(i + 1, 0);
        }
        v[i] += bytes;
    }

    /// The highest rate over one bucket, bits per second.
    pub fn peak_bps(v: &[u64]) -> f64 {
        v.iter().copied().max().unwrap_or(0) as f64 * 8.0 / Self::BUCKET.as_secs_f64()
    }
}

pub struct World {
    pub now: Instant,
    queue: EventQueue<EvKind>,
    rng: ChaCha8Rng,
    pub segments: Vec<Segment>,
    pub hosts: Vec<Host>,
    /// Every interface's lines, by `Iface::line`.
    lines: Vec<Line>,
    /// (segment, address) → the line of the interface holding it, for unicast delivery
    /// on a segment.
    addr_index: addr_index::AddrIndex,
    /// Responder log lines: (time, responder name, text).
    pub logs: Vec<(Instant, String, String)>,
    /// What responders did with clients' requests, from their `Silent` and `Answered`
    /// effects: (time, responder name, client, what it did).
    pub decisions: Vec<(Instant, String, Mac, Held)>,
    pub stats: Stats,
    pub usage: Usage,
    out: Output,
    sends: Vec<Send>,
    line: LineCache,
    /// IPv6 addresses and listeners of the segments.
    pub net6: crate::ipv6::Net6,
    /// Responders' HTTP connections (http_host.rs), by host.
    pub(crate) http: crate::http_host::HttpHosts,
    /// CRCs of served files' blocks, for downloads of DATA by reference.
    pub(crate) block_crcs: crate::block_crc::BlockCrcs,
    /// A frame's bytes put together for a pcap from DATA by reference.
    scratch: Vec<u8>,
    /// The lab overlay's hold per TFTP datagram a server takes in (world/server_turnaround.rs).
    pub(crate) server_turnaround: Duration,
}

/// What a responder did with a client's request: `None` it answered, or
/// `Some((rule, why))` it stayed silent by that rule, for that reason.
pub type Held = Option<(&'static str, String)>;

impl World {
    pub fn new(rng: ChaCha8Rng) -> World {
        World {
            now: Instant::ZERO,
            queue: EventQueue::new(),
            rng,
            segments: Vec::new(),
            hosts: Vec::new(),
            lines: Vec::new(),
            addr_index: Default::default(),
            logs: Vec::new(),
            decisions: Vec::new(),
            stats: Stats::default(),
            usage: Usage::default(),
            // Responders' DATA carries file bytes by reference: copied only for a pcap
            // and for a host that reads them (block_crc.rs, testbed.rs).
            out: Output {
                data_by_reference: true,
                ..Output::default()
            },
            sends: Vec::new(),
            line: LineCache::default(),
            net6: crate::ipv6::Net6::default(),
            http: Default::default(),
            block_crcs: Default::default(),
            scratch: Vec::new(),
            server_turnaround: Duration::ZERO,
        }
    }

    pub fn add_segment(&mut self, seg: Segment) -> SegId {
        let id = self.segments.len();
        self.addr_index.add_segment(id, seg.net, seg.prefix);
        self.segments.push(seg);
        id
    }

    pub fn add_host(&mut self, mut host: Host) -> HostId {
        let id = self.hosts.len();
        let router = matches!(host.kind, HostKind::Router(_));
        host.line0 = self.lines.len() as LineId;
        for (i, iface) in host.ifaces.iter_mut().enumerate() {
            self.attach(id, i, iface);
            if router && self.segments[iface.seg].gateway.is_none() {
                self.segments[iface.seg].gateway = Some((id, i));
            }
        }
        self.hosts.push(host);
        id
    }

    /// Give a host added before one more interface (a router's on an IPv6-only
    /// segment); returns its index.
    pub fn add_iface(&mut self, host: HostId, mut iface: Iface) -> usize {
        let i = self.hosts[host].ifaces.len();
        self.attach(host, i, &mut iface);
        self.hosts[host].ifaces.push(iface);
        i
    }

    /// Plug interface `i` of `host` into its segment: a port there, its lines, its address.
    fn attach(&mut self, host: HostId, i: usize, iface: &mut Iface) {
        iface.line = self.lines.len() as LineId;
        self.lines.push(Line {
            host: host as u32,
            iface: i as u32,
            seg: iface.seg as u32,
            mac: iface.mac,
            ip: iface.ip,
            egress: Port::default(),
            ingress: Port::default(),
        });
        self.segments[iface.seg].ports.push((host, i));
        if let Some(ip) = iface.ip {
            self.addr_index.insert(iface.seg, ip, iface.line);
        }
    }

    /// The lines of a host's interface.
    fn line_mut(&mut self, host: HostId, iface: usize) -> &mut Line {
        let l = self.line_of(host, iface);
        &mut self.lines[l as usize]
    }

    /// The line of a host's interface.
    fn line_of(&self, host: HostId, iface: usize) -> LineId {
        match iface {
            0 => self.hosts[host].line0,
            _ => self.hosts[host].ifaces[iface].line,
        }
    }

    /// The port (host, interface) of a line.
    pub fn port_of_line(&self, line: LineId) -> (HostId, usize) {
        let l = &self.lines[line as usize];
        (l.host as usize, l.iface as usize)
    }

    /// The address of a line's interface: `Iface::ip`, read where a datagram arrives.
    pub fn line_ip(&self, line: LineId) -> Option<Ipv4Addr> {
        self.lines[line as usize].ip
    }

    /// The port (host, interface) holding `ip` on segment `seg`.
    fn port_of(&self, seg: SegId, ip: Ipv4Addr) -> Option<(HostId, usize)> {
        Some(self.port_of_line(self.addr_index.get(seg, ip)?))
    }

    /// Events at the same time run in the order they were scheduled.
    pub fn schedule(&mut self, at: Instant, kind: EvKind) {
        self.queue.push(at.as_nanos(), kind);
    }

    /// Assign (or clear) the address of a host's interface (DHCP lease of a client).
    pub fn set_addr(&mut self, host: HostId, iface: usize, ip: Option<Ipv4Addr>) {
        let Iface { seg, line, .. } = self.hosts[host].ifaces[iface];
        if let Some(old) = self.hosts[host].ifaces[iface].ip {
            if self.addr_index.get(seg, old) == Some(line) {
                self.addr_index.remove(seg, old);
            }
        }
        self.hosts[host].ifaces[iface].ip = ip;
        self.lines[line as usize].ip = ip;
        if let Some(ip) = ip {
            self.addr_index.insert(seg, ip, line);
        }
    }

    /// Pop the next event, advancing time. `None` when the queue is empty.
    pub fn next_event(&mut self, limit: Instant) -> Option<EvKind> {
        let (at, ev) = self.queue.pop_due(limit.as_nanos())?;
        self.now = Instant::from_nanos(at);
        self.stats.events += 1;
        // Read the next event now: its cache miss overlaps with this event's work
        // instead of stalling the next pop (an event is written long before; a storm's
        // are more than the caches hold). Reading the next host too gained nothing.
        if let Some(next) = self.queue.peek_next() {
            std::hint::black_box(matches!(next, EvKind::Deliver { .. }));
        }
        Some(ev)
    }

    pub fn peek_time(&self) -> Option<Instant> {
        self.queue.peek_time().map(Instant::from_nanos)
    }

    /// Send a datagram out of a host's interface.
    pub fn send(
        &mut self,
        host: HostId,
        iface: usize,
        src: SocketAddrV4,
        dst: SocketAddrV4,
        payload: Vec<u8>,
    ) {
        self.send_data(host, iface, src, dst, payload, None);
    }

    /// Send a datagram whose bytes are `payload` and then `data`'s.
    pub fn send_data(
        &mut self,
        host: HostId,
        iface: usize,
        src: SocketAddrV4,
        dst: SocketAddrV4,
        payload: Vec<u8>,
        data: Option<FileData>,
    ) {
        if !self.hosts[host].up {
            return;
        }
        // `down ... during: transfer`: the host dies instead of sending file data.
        if let HostKind::Server(s) = &self.hosts[host].kind {
            if s.down_on_transfer && is_tftp_data(&payload) && src.port() >= 49152 {
                self.take_down(host);
                return;
            }
        }
        self.stats.packets_sent += 1;
        let src_line = self.line_of(host, iface);
        let Line {
            seg, mac: src_mac, ..
        } = self.lines[src_line as usize];
        let seg_id = seg as SegId;
        let link = self.segments[seg_id].link;
        let len = payload.len() + data.as_ref().map_or(0, |d| d.len);
        let times = self.line.get(&link, len);
        let (tx, first, wire) = (times.tx, times.first, times.wire);
        let now = self.now;
        // A client's frame waits for its firmware to have taken in what it received
        // (`firmware_cost.rs`).
        let start = self.lines[src_line as usize].egress.transmit(now, tx);
        // When the switch can start sending it on: its first frame is in.
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

        let broadcast = *dst.ip() == Ipv4Addr::BROADCAST;
        // The receiver's line on this segment, `None` for a broadcast.
        // `Err(())`: a unicast that no port on the segment takes.
        let target: Result<Option<LineId>, ()> = if broadcast {
            Ok(None)
        } else {
            let seg = &self.segments[seg_id];
            match self.addr_index.get(seg_id, *dst.ip()) {
                Some(l) => Ok(Some(l)),
                None if !seg.contains(*dst.ip()) => {
                    Ok(seg.gateway.map(|(h, i)| self.hosts[h].ifaces[i].line))
                }
                // A DHCP reply unicast to an address the client does not hold yet (a
                // relay or server answering a client that left the broadcast flag clear,
                // as iPXE does) goes to the client's MAC, chaddr, without ARP.
                None if dst.port() == 68 && payload.len() >= 34 => {
                    let chaddr = &payload[28..34];
                    seg.ports
                        .iter()
                        .copied()
                        .find(|&(h, i)| {
                            matches!(self.hosts[h].kind, HostKind::Client(_))
                                && self.hosts[h].ifaces[i].mac.0[..] == *chaddr
                        })
                        .map(|(h, i)| Some(self.hosts[h].ifaces[i].line))
                        .ok_or(())
                }
                None => Err(()),
            }
        };
        // The frame's destination MAC is read only for a pcap.
        if self.segments[seg_id].capture.is_some() {
            let dst_mac = match target {
                Ok(Some(l)) => self.lines[l as usize].mac,
                _ => Mac::BROADCAST,
            };
            let frame = (src_mac, dst_mac, src, dst);
            self.capture(seg_id, start, frame, &payload, data.as_ref());
        }
        let Ok(target) = target else {
            self.stats.packets_lost += 1;
            return; // nobody on the segment has that address
        };

        match target {
            Some(l) => {
                let d = (src, dst, payload, data);
                self.deliver_port(link, ready, tx, l, len, d)
            }
            None => {
                // A broadcast goes to every port that would not drop it unread: clients
                // take only DHCP replies (port 68) carrying their own chaddr; servers,
                // routers and probes never take port 68. Skipping the rest changes no
                // outcome and saves a copy per port (1,000 per DISCOVER in a storm).
                let to_clients = dst.port() == 68;
                let chaddr = (payload.len() >= 34).then(|| &payload[28..34]);
                let lines: Vec<LineId> = self.segments[seg_id]
                    .ports
                    .iter()
                    .copied()
                    .filter(|&(h, i)| {
                        h != host
                            && match &self.hosts[h].kind {
                                HostKind::Client(_) => {
                                    to_clients && chaddr == Some(&self.hosts[h].ifaces[i].mac.0[..])
                                }
                                _ => !to_clients,
                            }
                    })
                    .map(|(h, i)| self.hosts[h].ifaces[i].line)
                    .collect();
                for l in lines {
                    let d = (src, dst, payload.clone(), data.clone());
                    self.deliver_port(link, ready, tx, l, len, d);
                }
            }
        }
    }

    /// Through the switch to the interface of `line`, and its delivery event. Inlined:
    /// the call moved the datagram's parts twice more (1.5 % of a storm cut's
    /// instructions).
    #[inline(always)]
    fn deliver_port(
        &mut self,
        link: LinkModel,
        ready: Instant,
        tx: Duration,
        line: LineId,
        len: usize,
        (src, dst, payload, data): (SocketAddrV4, SocketAddrV4, Vec<u8>, Option<FileData>),
    ) {
        if link.loss > 0.0 && self.rng.random::<f64>() < link.datagram_loss(len) {
            self.stats.packets_lost += 1;
            return;
        }
        // Store-and-forward switch: each frame leaves the switch port to the receiver
        // once it is in and the receiver's link is free.
        let start = self.lines[line as usize].ingress.transmit(ready, tx);
        let at = start + tx + link.delay;
        self.stats.packets_delivered += 1;
        self.schedule(
            at,
            EvKind::Deliver {
                line,
                src,
                dst,
                payload,
                data,
            },
        );
    }

    /// Into the segment's pcap, if it has one: the frame (source and destination MAC
    /// and address) with `payload` and then `data`'s bytes.
    fn capture(
        &mut self,
        seg: SegId,
        at: Instant,
        (src_mac, dst_mac, src, dst): (Mac, Mac, SocketAddrV4, SocketAddrV4),
        payload: &[u8],
        data: Option<&FileData>,
    ) {
        let Some(c) = &mut self.segments[seg].capture else {
            return;
        };
        match data {
            None => c.write(at, src_mac, dst_mac, src, dst, payload),
            Some(d) => {
                self.scratch.clear();
                self.scratch.extend_from_slice(payload);
                d.append_to(&mut self.scratch);
                c.write(at, src_mac, dst_mac, src, dst, &self.scratch);
            }
        }
    }

    /// The host stops at once: no goodbye (a crash).
    pub fn take_down(&mut self, host: HostId) {
        let h = &mut self.hosts[host];
        h.up = false;
        h.wake_at = None;
        match &mut h.kind {
            HostKind::Server(s) => {
                s.responder = None;
                s.down_on_transfer = false;
                self.http.remove(host);
            }
            HostKind::Client(c) => c.halt(),
            _ => {}
        }
    }

    /// Re-arm a host's timer after it handled something.
    pub fn rearm(&mut self, host: HostId) {
        let h = &self.hosts[host];
        if !h.up {
            return;
        }
        let next = match &h.kind {
            HostKind::Client(c) => c.poll_timeout(),
            HostKind::Server(s) => {
                let r = s.responder.as_ref().and_then(|r| r.poll_timeout());
                let h = self.http.poll_timeout(host);
                r.into_iter().chain(h).min()
            }
            _ => None,
        };
        if let Some(t) = next {
            let t = t.max(self.now);
            if h.wake_at.is_none_or(|w| t < w) {
                self.hosts[host].wake_at = Some(t);
                self.schedule(t, EvKind::Wake { host });
            }
        }
    }

    /// A Wake event fired; returns false when it was stale.
    pub fn take_wake(&mut self, host: HostId) -> bool {
        let h = &mut self.hosts[host];
        if h.wake_at == Some(self.now) && h.up {
            h.wake_at = None;
            true
        } else {
            false
        }
    }

    /// Hands a delivered datagram's buffer back for the responders' next DATA headers
    /// (their file bytes go by reference) and the clients' next ACKs: a bounded few.
    pub fn recycle(&mut self, mut payload: Vec<u8>) {
        const KEEP: usize = 256;
        if payload.capacity() >= 4 && self.out.spare.len() < KEEP {
            payload.clear();
            self.out.spare.push(payload);
        }
    }

    /// Run a responder call and send its output.
    pub fn with_responder(
        &mut self,
        host: HostId,
        f: impl FnOnce(&mut Responder, Instant, &mut Output),
    ) {
        let now = self.now;
        let HostKind::Server(s) = &mut self.hosts[host].kind else {
            return;
        };
        let Some(r) = s.responder.as_mut() else {
            return;
        };
        // `out` keeps its settings and spare buffers from call to call; it stays in
        // place (moving the whole `Output` in and out cost more than the call).
        let out = &mut self.out;
        out.clear();
        f(r, now, out);
        // Most calls answer a DATA ACK: nothing to note.
        if !(out.logs.is_empty() && out.effects.is_empty()) {
            let name = r.name().to_string();
            self.note_output(now, name);
        }
        let mut transmits = std::mem::take(&mut self.out.transmits);
        for t in transmits.drain(..) {
            let iface = self.iface_for(host, *t.src.ip());
            self.send_data(host, iface, t.src, t.dst, t.payload, t.data);
        }
        self.out.transmits = transmits;
        let mut transmits6 = std::mem::take(&mut self.out.transmits6);
        for t in transmits6.drain(..) {
            self.send6(host, 0, t.src, t.dst, t.payload);
        }
        self.out.transmits6 = transmits6;
        self.rearm(host);
    }

    /// A responder call's log lines and decisions, kept under its name.
    #[cold]
    fn note_output(&mut self, now: Instant, name: String) {
        for line in self.out.logs.drain(..) {
            self.logs.push((now, name.clone(), line));
        }
        for e in self.out.effects.drain(..) {
            match e {
                Effect::Silent {
                    client,
                    rule,
                    reason,
                } => self
                    .decisions
                    .push((now, name.clone(), client, Some((rule, reason)))),
                Effect::Answered { client } => {
                    self.decisions.push((now, name.clone(), client, None))
                }
                _ => {}
            }
        }
    }

    /// Run a client call and send what it wants sent.
    pub fn with_client(
        &mut self,
        host: HostId,
        f: impl FnOnce(&mut Client, Instant, &mut Vec<Send>),
    ) {
        let now = self.now;
        let mut sends = std::mem::take(&mut self.sends);
        sends.clear();
        let ip_before;
        let ip_after;
        let ip6_before = self.net6.global.get(&(host, 0)).copied();
        let ip6_after;
        let (stack_before, stack_after);
        let mut sends6 = Vec::new();
        {
            let HostKind::Client(c) = &mut self.hosts[host].kind else {
                return;
            };
            ip_before = c.ip;
            stack_before = c.stack_address6();
            // The client's TFTP ACKs take their buffers from the pool (`recycle`).
            std::mem::swap(&mut c.spare, &mut self.out.spare);
            f(c, now, &mut sends);
            std::mem::swap(&mut c.spare, &mut self.out.spare);
            ip_after = c.ip;
            ip6_after = c.ip6;
            stack_after = c.stack_address6();
            std::mem::swap(&mut sends6, &mut c.sends6);
        }
        if stack_before != stack_after {
            let seg = self.hosts[host].ifaces[0].seg;
            if let Some(a) = stack_before {
                self.net6.remove_secondary(seg, a, (host, 0));
            }
            if let Some(a) = stack_after {
                self.net6.add_secondary(seg, a, (host, 0));
            }
        }
        if ip_before != ip_after {
            self.set_addr(host, 0, ip_after);
        }
        if ip6_before != ip6_after {
            self.set_client_ip6(host, ip6_before, ip6_after);
        }
        for s in sends.drain(..) {
            self.send(host, 0, s.src, s.dst, s.payload);
        }
        for s in sends6 {
            self.send6(host, 0, s.src, s.dst, s.payload);
        }
        self.sends = sends;
        self.flush_client_tcp(host);
        self.rearm(host);
    }

    /// Which interface of a host owns a source address (the first one otherwise).
    pub fn iface_for(&self, host: HostId, ip: Ipv4Addr) -> usize {
        self.hosts[host]
            .ifaces
            .iter()
            .position(|i| i.ip == Some(ip))
            .unwrap_or(0)
    }

    /// The segment whose subnet holds `ip` among a router's interfaces.
    pub fn router_iface_for(&self, host: HostId, ip: Ipv4Addr) -> Option<usize> {
        self.hosts[host]
            .ifaces
            .iter()
            .position(|i| self.segments[i.seg].contains(ip))
    }
}

pub fn is_tftp_data(payload: &[u8]) -> bool {
    payload.len() >= 4 && payload[0] == 0 && payload[1] == 3
}
