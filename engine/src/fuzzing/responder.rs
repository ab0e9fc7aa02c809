//! Fuzz target `responder`: a whole responder fed the records of a
//! [`ResponderScript`], checked against what the rules promise.

use super::bytes::Bytes;
use super::dhcp::must_parse;
use super::tftp::{BLOCK_SIZES, WINDOW_SIZES};
use super::ME;
use crate::dhcp::packet::MessageType;
use crate::election::PEER_PORT;
use crate::policy::{ResponderConfig, Role, Site, TftpCaps};
use crate::responder::{Effect, Output, Responder, Transmit};
use crate::state::MemoryStore;
use crate::testkit::{site, PatternRoot, OTHER_SITE_MACHINE};
use crate::tftp::packet::Packet;
use crate::tftp::server::DEFAULT_BLKSIZE;
use crate::{Instant, Mac};
use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::Arc;
use std::time::Duration;

/// Sources a datagram of a [`responder`] input comes from (3 bits of its tag).
pub const SOURCES: [SocketAddrV4; 8] = [
    SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 68),
    SocketAddrV4::new(Ipv4Addr::new(10, 10, 0, 100), 68),
    SocketAddrV4::new(Ipv4Addr::new(10, 10, 0, 100), 4011),
    SocketAddrV4::new(Ipv4Addr::new(10, 10, 0, 100), 2000),
    SocketAddrV4::new(Ipv4Addr::new(10, 10, 0, 101), 2001),
    SocketAddrV4::new(Ipv4Addr::new(10, 20, 0, 1), 67),
    SocketAddrV4::new(Ipv4Addr::new(10, 10, 0, 6), PEER_PORT),
    SocketAddrV4::new(Ipv4Addr::new(10, 10, 0, 7), PEER_PORT),
];

/// Destination ports of a [`responder`] input's datagrams (3 bits of its tag).
/// `TID_LAST` and `TID_FIRST` name the newest and oldest transfer port in use.
pub mod dst {
    pub const DHCP: u8 = 0;
    pub const PXE: u8 = 1;
    pub const TFTP: u8 = 2;
    pub const PEER: u8 = 3;
    pub const TID_LAST: u8 = 4;
    pub const TID_FIRST: u8 = 5;
    pub const CLIENT: u8 = 6;
    pub const OTHER: u8 = 7;
}

/// The kind of a [`responder`] record (top 2 bits of its tag).
pub mod kind {
    /// A datagram: tag bits 0-2 destination ([`super::dst`]), bits 3-5 source
    /// ([`super::SOURCES`]); then a time step byte, a u16 LE length and the payload.
    pub const DATAGRAM: u8 = 0;
    /// Time advances by the step byte that follows; due timers fire.
    pub const ADVANCE: u8 = 2;
    /// Time jumps to [`crate::responder::Responder::poll_timeout`], which fires.
    pub const TIMEOUT: u8 = 3;
}

/// A time step byte: `b² × 4` ms (0 to 260 s).
pub fn step(b: u8) -> Duration {
    Duration::from_millis(u64::from(b) * u64::from(b) * 4)
}

/// Header flags of a [`responder`] input.
pub mod flag {
    pub const PEER: u8 = 1;
    pub const NO_RESPOND: u8 = 2;
    pub const NO_DHCP_PORT: u8 = 4;
    pub const UNKNOWN_SUPPORT: u8 = 8;
    /// Bits 4-5: response delay 0, 1, 2 or 5 s.
    pub const DELAY_SHIFT: u8 = 4;
    pub const EXCLUDE: u8 = 64;
    /// A peer with the fuzz site's peer key: membership datagrams are sealed with it
    /// before delivery (unless the source selector's bit 3 is set), so the SWIM and
    /// hello decoders behind the tag are fuzzed too.
    pub const KEYED: u8 = 128;
}

/// The peer key of [`flag::KEYED`] responders.
pub fn fuzz_key() -> crate::election::PeerKey {
    crate::election::PeerKey::new(*b"pxelab fuzz site key").expect("not empty")
}

/// Writes a [`responder`] input.
#[derive(Clone, Debug, Default)]
pub struct ResponderScript {
    pub bytes: Vec<u8>,
}

impl ResponderScript {
    /// Header: [`flag`]s, block and window size cap indices, seed.
    pub fn new(flags: u8, blk: u8, win: u8, seed: u8) -> ResponderScript {
        ResponderScript {
            bytes: vec![flags, blk, win, seed],
        }
    }
    pub fn datagram(&mut self, dst: u8, src: u8, step: u8, payload: &[u8]) -> &mut Self {
        self.bytes.push((dst & 7) | ((src & 7) << 3));
        self.bytes.push(step);
        self.bytes
            .extend_from_slice(&(payload.len().min(u16::MAX as usize) as u16).to_le_bytes());
        self.bytes
            .extend_from_slice(&payload[..payload.len().min(u16::MAX as usize)]);
        self
    }
    pub fn advance(&mut self, step: u8) -> &mut Self {
        self.bytes.push(kind::ADVANCE << 6);
        self.bytes.push(step);
        self
    }
    pub fn timeout(&mut self) -> &mut Self {
        self.bytes.push(kind::TIMEOUT << 6);
        self
    }
}

/// The responder a [`responder`] input's header describes.
pub fn build_responder(header: [u8; 4]) -> Responder {
    let [flags, blk, win, seed] = header;
    let role = if flags & flag::PEER != 0 {
        Role::Peer
    } else {
        Role::DistributionPoint
    };
    let mut cfg = ResponderConfig::new(if role == Role::Peer { "peer1" } else { "dp1" }, ME, role);
    cfg.images = if role == Role::Peer {
        vec!["PS100002".into(), "PS100001".into()]
    } else {
        vec![
            "PS100001".into(),
            "PS100002".into(),
            "PS100003".into(),
            "PS100004".into(),
        ]
    };
    cfg.respond = flags & flag::NO_RESPOND == 0;
    cfg.listen_dhcp_port = flags & flag::NO_DHCP_PORT == 0;
    cfg.unknown_computer_support = flags & flag::UNKNOWN_SUPPORT != 0;
    cfg.response_delay =
        Duration::from_secs([0, 1, 2, 5][usize::from((flags >> flag::DELAY_SHIFT) & 3)]);
    if flags & flag::EXCLUDE != 0 {
        cfg.mac_exclusions = vec![Mac([0x52, 0x54, 0, 0, 0, 2])];
    }
    if role == Role::Peer && flags & flag::KEYED != 0 {
        cfg.peer_key = Some(fuzz_key());
    }
    cfg.tftp = TftpCaps {
        block_size: BLOCK_SIZES[usize::from(blk % 8)],
        window_size: WINDOW_SIZES[usize::from(win % 8)],
    };
    Responder::new(
        Instant::ZERO,
        cfg,
        Arc::new(site()),
        Box::new(MemoryStore::new()),
        Arc::new(PatternRoot),
        u64::from(seed),
    )
}

/// What the harness knows about a transfer port from the outside.
struct TidInfo {
    blksize: usize,
    finished: bool,
}

/// A [`Responder`] driven by a [`responder`] input, checking what it sends.
pub struct Harness {
    pub responder: Responder,
    pub now: Instant,
    window_cap: usize,
    tids: BTreeMap<u16, TidInfo>,
    /// Transfer ports in use, oldest first.
    active: Vec<u16>,
    requests: usize,
    peer: bool,
    keyed: bool,
    site: Site,
}

impl Harness {
    pub fn new(header: [u8; 4]) -> Harness {
        let responder = build_responder(header);
        let window_cap = usize::from(responder.config().tftp.window_size.max(1));
        let peer = responder.config().role == Role::Peer;
        let keyed = responder.config().peer_key.is_some();
        Harness {
            responder,
            now: Instant::ZERO,
            window_cap,
            tids: BTreeMap::new(),
            active: Vec::new(),
            requests: 0,
            peer,
            keyed,
            site: site(),
        }
    }

    /// The port a [`dst`] selector names now.
    pub fn port(&self, sel: u8) -> u16 {
        match sel & 7 {
            dst::DHCP => 67,
            dst::PXE => 4011,
            dst::TFTP => 69,
            dst::PEER => PEER_PORT,
            dst::TID_LAST => self.active.last().copied().unwrap_or(49152),
            dst::TID_FIRST => self.active.first().copied().unwrap_or(49152),
            dst::CLIENT => 68,
            _ => 9,
        }
    }

    /// One datagram; returns what the responder sent.
    pub fn datagram(
        &mut self,
        dst_sel: u8,
        src_sel: u8,
        step_b: u8,
        payload: &[u8],
    ) -> Vec<Transmit> {
        self.now = self.now + step(step_b);
        let port = self.port(dst_sel);
        let src = SOURCES[usize::from(src_sel & 7)];
        let dst_ip = if matches!(port, 67 | PEER_PORT) {
            Ipv4Addr::BROADCAST
        } else {
            ME
        };
        if port == 69 && payload.get(..2) == Some(&[0, 1]) {
            self.requests += 1;
        }
        let sealed;
        let payload = if self.keyed && port == PEER_PORT && src_sel & 8 == 0 {
            sealed = crate::election::reseal(&fuzz_key(), payload);
            &sealed[..]
        } else {
            payload
        };
        let mut out = Output::default();
        self.responder.handle_datagram(
            self.now,
            src,
            SocketAddrV4::new(dst_ip, port),
            payload,
            &mut out,
        );
        self.check(&out, Some((port, payload)));
        out.transmits
    }

    /// Time advances by a step; due timers fire.
    pub fn advance(&mut self, step_b: u8) -> Vec<Transmit> {
        self.now = self.now + step(step_b);
        self.fire()
    }

    /// Time jumps to the responder's next deadline, which fires.
    pub fn timeout(&mut self) -> Vec<Transmit> {
        if let Some(t) = self.responder.poll_timeout() {
            self.now = self.now.max(t);
        }
        self.fire()
    }

    fn fire(&mut self) -> Vec<Transmit> {
        let mut out = Output::default();
        self.responder.handle_timeout(self.now, &mut out);
        // A driver that calls back at poll_timeout makes progress (no busy loop).
        if let Some(t) = self.responder.poll_timeout() {
            assert!(
                t > self.now,
                "poll_timeout {t:?} is not after now {:?}",
                self.now
            );
        }
        self.check(&out, None);
        out.transmits
    }

    fn check(&mut self, out: &Output, input: Option<(u16, &[u8])>) {
        let (mut silent, mut answered) = (0, Vec::new());
        for e in &out.effects {
            match e {
                Effect::TransferStarted { port, .. } => {
                    assert!(
                        self.tids.get(port).is_none_or(|t| t.finished),
                        "port {port} handed out twice"
                    );
                    // The negotiated block size: the OACK's, else RFC 1350's 512.
                    let first = out.transmits.iter().find(|t| t.src.port() == *port);
                    let blksize = match first.map(|t| Packet::parse(&t.payload)) {
                        Some(Ok(Packet::Oack { options })) => options
                            .iter()
                            .find(|(k, _)| k == "blksize")
                            .map(|(_, v)| v.parse().expect("a number"))
                            .unwrap_or(DEFAULT_BLKSIZE),
                        _ => DEFAULT_BLKSIZE,
                    };
                    self.tids.insert(
                        *port,
                        TidInfo {
                            blksize,
                            finished: false,
                        },
                    );
                    self.active.push(*port);
                }
                Effect::TransferDone { port, .. } | Effect::TransferFailed { port, .. } => {
                    let t = self
                        .tids
                        .get_mut(port)
                        .unwrap_or_else(|| panic!("port {port} ended but never started"));
                    assert!(!t.finished, "port {port} ended twice");
                    t.finished = true;
                    self.active.retain(|p| p != port);
                }
                Effect::TransferMoved { from, to, .. } => {
                    let info = self
                        .tids
                        .remove(from)
                        .unwrap_or_else(|| panic!("port {from} moved but never started"));
                    assert!(
                        self.tids.get(to).is_none_or(|t| t.finished),
                        "port {to} handed out twice"
                    );
                    self.tids.insert(*to, info);
                    for p in &mut self.active {
                        if p == from {
                            *p = *to;
                        }
                    }
                }
                Effect::Recorded { .. } => {}
                Effect::Silent { .. } => silent += 1,
                Effect::Answered { client } => answered.push(*client),
            }
        }
        let mut per_tid: BTreeMap<u16, usize> = BTreeMap::new();
        let mut dhcp_replies = 0;
        for t in &out.transmits {
            assert_eq!(*t.src.ip(), ME, "sent from another address");
            let sport = t.src.port();
            match sport {
                67 | 4011 => {
                    dhcp_replies += 1;
                    let r = must_parse("a proxy reply", &t.payload);
                    assert_eq!(r.op, 2);
                    assert_eq!(r.server_id, Some(ME));
                    let (port, payload) = input.expect("a DHCP reply without a request");
                    let req = must_parse("the request the responder answered", payload);
                    assert_eq!(r.xid, req.xid);
                    assert_eq!(r.chaddr_raw, req.chaddr_raw);
                    assert_eq!(
                        answered.iter().map(|m| m.0.to_vec()).collect::<Vec<_>>(),
                        vec![req.chaddr_raw[..6].to_vec()],
                        "a proxy reply is one Answered effect, for the client it answers"
                    );
                    assert_eq!(silent, 0, "a responder answered and stayed silent at once");
                    if let Some(mac) = req.chaddr {
                        assert_ne!(
                            crate::select::identify(&self.site, mac, req.client_guid),
                            crate::select::DeviceMatch::Known {
                                machine: OTHER_SITE_MACHINE.into(),
                                by: crate::select::MatchedBy::Mac
                            },
                            "answered a machine of another site (R-ID-5)"
                        );
                    }
                    assert!(req.is_pxe_client(), "answered a client that is not PXE");
                    let want = if port == 4011 {
                        MessageType::Ack
                    } else {
                        MessageType::Offer
                    };
                    assert_eq!(r.message_type, Some(want));
                    assert_eq!(sport, if port == 4011 { 4011 } else { 67 });
                    if self.peer {
                        assert!(!req.is_relayed(), "a peer answered a relayed request");
                    }
                }
                PEER_PORT => {
                    assert!(self.peer, "a distribution point sent membership traffic");
                    assert_eq!(
                        crate::election::is_sealed(&t.payload),
                        self.keyed,
                        "a keyed peer seals every membership datagram, an unkeyed one none"
                    );
                }
                _ => {
                    let p = Packet::parse(&t.payload).expect("the TFTP server sent garbage");
                    match (self.tids.get(&sport).filter(|i| !i.finished), p) {
                        (Some(info), Packet::Data { data, .. }) => {
                            // R-TFTP-2: never more than the negotiated block size.
                            assert!(
                                data.len() <= info.blksize,
                                "DATA of {} bytes, block size {}",
                                data.len(),
                                info.blksize
                            );
                            *per_tid.entry(sport).or_default() += 1;
                        }
                        (Some(_), Packet::Oack { .. } | Packet::Error { .. }) => {}
                        (None, Packet::Error { .. }) => {}
                        (_, other) => panic!("port {sport} sent {other:?}"),
                    }
                }
            }
        }
        assert!(dhcp_replies <= 1, "{dhcp_replies} replies to one datagram");
        assert_eq!(
            answered.len(),
            dhcp_replies,
            "an Answered effect without a reply"
        );
        for (tid, n) in per_tid {
            // R-TFTP-4: a window at most per transfer per event.
            assert!(n <= self.window_cap, "port {tid} sent {n} blocks at once");
        }
        // Transfers are bounded by the read requests that started them.
        assert!(self.responder.active_transfers() <= self.requests);
        assert_eq!(self.responder.active_transfers(), self.active.len());
    }
}

/// Fuzz target `responder`: a whole [`Responder`] fed the records of a
/// [`ResponderScript`].
pub fn responder(data: &[u8]) {
    let mut b = Bytes { data };
    let header = [
        b.u8().unwrap_or(0),
        b.u8().unwrap_or(0),
        b.u8().unwrap_or(0),
        b.u8().unwrap_or(0),
    ];
    let mut h = Harness::new(header);
    let mut records = 0;
    while let Some(tag) = b.u8() {
        records += 1;
        if records > 1000 {
            break;
        }
        match tag >> 6 {
            kind::ADVANCE => {
                let s = b.u8().unwrap_or(0);
                h.advance(s);
            }
            kind::TIMEOUT => {
                h.timeout();
            }
            _ => {
                let (Some(s), Some(payload)) = (b.u8(), b.chunk()) else {
                    break;
                };
                h.datagram(tag & 7, (tag >> 3) & 7, s, payload);
            }
        }
    }
    // Whatever came before, the responder keeps its promises to a client that starts
    // a boot afterwards (the transfer tables and timers are consistent).
    let _ = h.timeout();
}
