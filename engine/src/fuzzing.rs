//! Fuzz target bodies, shared by the fuzzers in `fuzz/` and the regression test that
//! replays `fuzz/regressions/` and `fuzz/seeds/` under a plain `cargo test`
//! (`engine/tests/fuzz_regressions.rs`). See docs/FUZZING.md.
//!
//! Each function takes the fuzzer's bytes and panics only when the engine broke a
//! promise: a panic inside the engine, or an invariant below that its rules guarantee.
//!
//! - [`dhcp`]: one UDP payload through the strict DHCP parser, the proxy reply
//!   builders, the relay agent (both directions) and the built-in DHCP server.
//! - [`tftp`]: a read request and a sequence of client events through the TFTP
//!   packet parser, path normalisation, option negotiation and a server [`Transfer`].
//! - [`responder`]: a whole [`Responder`] (distribution point or peer, chosen by the
//!   input) fed a sequence of datagrams to ports 67, 4011, 69, 4012 and its transfer
//!   ports, time advances and timeouts.
//!
//! The sequence formats are written by [`ResponderScript`] and [`TftpScript`] (the
//! seeding tool uses them) and read leniently: whatever the bytes, they decode to
//! something, and a truncated record ends the sequence.

use crate::dhcp::packet::{parse, walk_main, DhcpPacket, MessageType};
use crate::dhcp::proxy::{build_proxy_ack, build_proxy_offer, ProxyParams};
use crate::dhcp::relay::{encode_option82, Option82, RelayAgent};
use crate::dhcp::server::{DhcpServer, Pool};
use crate::dhcp::wire::{Header, Writer};
use crate::dhcp::{opt, OPTIONS_OFFSET};
use crate::election::PEER_PORT;
use crate::policy::{
    Arch, AvailableTo, BootImage, Collection, Deployment, Machine, Purpose, ResponderConfig, Role,
    Site, TftpCaps, X64_UNKNOWN, X86_UNKNOWN,
};
use crate::responder::{BootRoot, Effect, Output, Responder, Transmit};
use crate::state::MemoryStore;
use crate::tftp::packet::{self as tp, Packet};
use crate::tftp::path::normalize;
use crate::tftp::server::{
    negotiate, FileSource, ServerConfig, Transfer, TransferStatus, DEFAULT_BLKSIZE, MAX_BLKSIZE,
    MIN_BLKSIZE,
};
use crate::{Guid, Instant, Mac};
use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::Arc;
use std::time::Duration;

// ------------------------------------------------------------------------------- DHCP

const DHCP_SERVER: Ipv4Addr = Ipv4Addr::new(10, 10, 0, 2);
const RELAY_IFACES: [(usize, Ipv4Addr, u8); 2] = [
    (0, Ipv4Addr::new(10, 20, 0, 1), 24),
    (1, Ipv4Addr::new(10, 30, 0, 1), 24),
];

fn relay() -> RelayAgent {
    let o82: Option82 = (Some(b"vlan20".to_vec()), Some(b"r1".to_vec()));
    RelayAgent::new(
        RELAY_IFACES.to_vec(),
        BTreeMap::from([(0, vec![DHCP_SERVER, ME]), (1, vec![DHCP_SERVER])]),
        BTreeMap::from([(0, o82)]),
    )
}

fn pools() -> Vec<Pool> {
    vec![
        Pool {
            subnet: (Ipv4Addr::new(10, 10, 0, 0), 24),
            router: Some(Ipv4Addr::new(10, 10, 0, 1)),
            start: Ipv4Addr::new(10, 10, 0, 100),
            end: Ipv4Addr::new(10, 10, 0, 199),
        },
        Pool {
            subnet: (Ipv4Addr::new(10, 20, 0, 0), 24),
            router: None,
            start: Ipv4Addr::new(10, 20, 0, 100),
            end: Ipv4Addr::new(10, 20, 0, 103),
        },
    ]
}

/// Parses a payload the engine itself wrote: it must parse (the builders only write
/// what the strict parser accepts).
fn must_parse(what: &str, payload: &[u8]) -> DhcpPacket {
    parse(payload).unwrap_or_else(|e| panic!("{what} does not parse: {e}"))
}

/// Every option instance of `p`, written again by the engine's encoder, parses back to
/// the same packet: the parser and the encoder agree (sname and file are cut to 63 and
/// 127 bytes by the encoder, and END is written).
fn check_reencode(p: &DhcpPacket) {
    let mut h = Header::new(p.op);
    h.htype = p.htype;
    h.hlen = p.hlen;
    h.hops = p.hops;
    h.xid = p.xid;
    h.secs = p.secs;
    h.flags = p.flags;
    h.ciaddr = p.ciaddr;
    h.yiaddr = p.yiaddr;
    h.siaddr = p.siaddr;
    h.giaddr = p.giaddr;
    h.chaddr = p.chaddr_raw;
    h.sname = p.sname.clone();
    h.file = p.file.clone();
    let mut w = Writer::new(&h);
    for (code, data) in &p.options {
        w.option(*code, data);
    }
    let again = must_parse("a parsed packet written again", &w.finish());
    let mut want = p.clone();
    want.sname.truncate(63);
    want.file.truncate(127);
    want.end_missing = false;
    assert_eq!(again, want, "parse(write(parse(x))) != parse(x)");
}

/// The proxy replies to a parsed request parse, and echo what R-ANS-1/R-ANS-3 say they
/// echo (xid, chaddr, giaddr, option 97, option 82).
fn check_proxy_replies(p: &DhcpPacket) {
    let echoes = |what: &str, r: &DhcpPacket, mt: MessageType| {
        assert_eq!(r.op, 2, "{what}");
        assert_eq!(r.message_type, Some(mt), "{what}");
        assert_eq!(r.xid, p.xid, "{what}");
        assert_eq!(r.chaddr_raw, p.chaddr_raw, "{what}");
        assert_eq!(r.giaddr, p.giaddr, "{what}");
        assert_eq!(r.server_id, Some(ME), "{what}");
        assert!(r.is_pxe_client(), "{what}");
        assert_eq!(r.client_guid, p.client_guid, "{what}");
        assert_eq!(
            r.relay_agent_info.as_ref().map(|i| &i.raw),
            p.relay_agent_info.as_ref().map(|i| &i.raw),
            "{what}"
        );
    };
    let mut params = ProxyParams::new(ME, None);
    let offer = must_parse("proxy offer", &build_proxy_offer(p, &params));
    echoes("proxy offer", &offer, MessageType::Offer);
    assert_eq!(offer.yiaddr, Ipv4Addr::UNSPECIFIED);
    let file = "smsboot/PS100002/x64/bootmgfw.efi";
    params.boot_file = Some(file.into());
    let ack = must_parse("proxy ack", &build_proxy_ack(p, &params));
    echoes("proxy ack", &ack, MessageType::Ack);
    assert_eq!(ack.file, file.as_bytes());
    assert_eq!(
        ack.option(opt::BOOTFILE_NAME).as_deref(),
        Some(file.as_bytes())
    );
}

fn check_relay(data: &[u8], parsed: &Result<DhcpPacket, impl std::fmt::Debug>) {
    let mut r = relay();
    for iface in [0usize, 1, 2] {
        let outs = r.from_client(iface, data);
        if outs.is_empty() {
            continue;
        }
        let req = parsed
            .as_ref()
            .expect("the relay forwarded what does not parse");
        assert_eq!(
            req.op, 1,
            "the relay forwarded a BOOTREPLY towards the servers"
        );
        assert!(req.hops <= crate::dhcp::relay::MAX_HOPS);
        let (_, addr, _) = RELAY_IFACES[iface];
        for (dst, src, payload) in &outs {
            assert_eq!(dst.port(), 67);
            assert_eq!(*src, addr);
            let f = must_parse("a relayed request", payload);
            assert_eq!(f.hops, req.hops + 1);
            assert_eq!(f.xid, req.xid);
            assert_eq!(f.chaddr_raw, req.chaddr_raw);
            let want_gi = if req.giaddr.is_unspecified() {
                addr
            } else {
                req.giaddr
            };
            assert_eq!(f.giaddr, want_gi);
            if iface == 0 && req.relay_agent_info.is_none() {
                // RFC 3046: the relay adds its option 82 to a request that has none.
                let want = encode_option82(&(Some(b"vlan20".to_vec()), Some(b"r1".to_vec())));
                assert_eq!(f.relay_agent_info.map(|i| i.raw), Some(want));
            } else {
                assert_eq!(f.relay_agent_info, req.relay_agent_info);
            }
        }
    }
    if let Some((iface, dst, out)) = r.from_server(data) {
        let rep = parsed
            .as_ref()
            .expect("the relay forwarded a reply that does not parse");
        assert_eq!(rep.op, 2, "the relay forwarded a BOOTREQUEST to a client");
        let (_, addr, _) = RELAY_IFACES
            .iter()
            .find(|i| i.0 == iface)
            .copied()
            .expect("a known interface");
        assert_eq!(rep.giaddr, addr);
        assert_eq!(dst.port(), 68);
        let f = must_parse("a relayed reply", &out);
        assert_eq!(f.xid, rep.xid);
        if iface == 0 {
            // RFC 3046 2.2: the relay removes its option 82 before the client sees it.
            let area = walk_main(&out).expect("walks");
            assert!(area.found.iter().all(|f| f.code != opt::RELAY_AGENT_INFO));
        }
    }
}

fn check_server(data: &[u8], parsed: &Result<DhcpPacket, impl std::fmt::Debug>) {
    let mut srv = DhcpServer::new(DHCP_SERVER, pools(), true);
    let src = SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 68);
    let local = (Ipv4Addr::new(10, 10, 0, 0), 24);
    let t0 = Instant::ZERO;
    if let Ok(p) = parsed {
        // The same client first DISCOVERs, so a REQUEST finds an offer to take.
        let mut h = Header::new(1);
        h.htype = p.htype;
        h.hlen = p.hlen;
        h.chaddr = p.chaddr_raw;
        h.giaddr = p.giaddr;
        h.xid = p.xid;
        let mut w = Writer::new(&h);
        w.option(opt::MESSAGE_TYPE, &[1]);
        let _ = srv.handle(t0, src, &w.finish(), local);
    }
    for i in 1..=2u64 {
        let now = t0 + Duration::from_secs(i);
        let replies = srv.handle(now, src, data, local);
        if replies.is_empty() {
            continue;
        }
        let req = parsed
            .as_ref()
            .expect("the server answered what does not parse");
        assert_eq!(req.op, 1);
        for r in replies {
            let p = must_parse("a DHCP server reply", &r.payload);
            assert_eq!(p.op, 2);
            assert_eq!(p.xid, req.xid);
            assert_eq!(p.chaddr_raw, req.chaddr_raw);
            assert_eq!(p.server_id, Some(DHCP_SERVER));
            if req.is_relayed() {
                assert_eq!(r.dst, SocketAddrV4::new(req.giaddr, 67));
            }
            match p.message_type {
                Some(MessageType::Offer | MessageType::Ack) => {
                    // Only addresses of a pool are leased.
                    let y = u32::from(p.yiaddr);
                    assert!(
                        pools()
                            .iter()
                            .any(|pl| (u32::from(pl.start)..=u32::from(pl.end)).contains(&y)),
                        "leased {} outside every pool",
                        p.yiaddr
                    );
                }
                Some(MessageType::Nak) => assert_eq!(p.yiaddr, Ipv4Addr::UNSPECIFIED),
                other => panic!("the server sent {other:?}"),
            }
        }
    }
}

/// Fuzz target `dhcp`: one UDP payload through the DHCP decoding path.
pub fn dhcp(data: &[u8]) {
    let parsed = parse(data);
    if let Ok(p) = &parsed {
        // Parsing is a function of the bytes.
        assert_eq!(parse(data).as_ref(), Ok(p));
        assert!(walk_main(data).is_ok());
        assert!(data.len() >= OPTIONS_OFFSET);
        let _ = (p.client_class(), p.file_lossy(), p.sname_lossy());
        check_reencode(p);
        check_proxy_replies(p);
    } else if let Err(e) = &parsed {
        let _ = e.to_string();
    }
    check_relay(data, &parsed);
    check_server(data, &parsed);
}

// ------------------------------------------------------------------------------- TFTP

/// A file of any length whose bytes are a function of their offset (no memory).
#[derive(Clone, Copy, Debug)]
pub struct PatternFile {
    pub len: u64,
    pub salt: u8,
}

impl PatternFile {
    pub fn byte(&self, offset: u64) -> u8 {
        (offset as u8).wrapping_mul(31) ^ (offset >> 8) as u8 ^ self.salt
    }
}

impl FileSource for PatternFile {
    fn len(&self) -> u64 {
        self.len
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) {
        assert!(offset + buf.len() as u64 <= self.len, "read past the end");
        for (i, b) in buf.iter_mut().enumerate() {
            *b = self.byte(offset + i as u64);
        }
    }
}

/// Block size caps a fuzz input picks from (RamDiskTFTPBlockSize).
pub const BLOCK_SIZES: [u16; 8] = [512, 1024, 1456, 4096, 8192, 16384, 65464, 8];
/// Window size caps a fuzz input picks from (RamDiskTFTPWindowSize).
pub const WINDOW_SIZES: [u16; 8] = [1, 2, 4, 8, 16, 64, 0, 3];

/// A parsed TFTP packet, encoded again by the engine's encoders, parses to the same
/// packet.
fn check_tftp_roundtrip(payload: &[u8]) {
    let Ok(p) = Packet::parse(payload) else {
        return;
    };
    let mut b = Vec::new();
    match &p {
        Packet::Rrq(r) | Packet::Wrq(r) => {
            let opts: Vec<(&str, &str)> = r
                .options
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            if matches!(p, Packet::Rrq(_)) {
                tp::encode_rrq(&mut b, r.filename, &r.mode, &opts);
            } else {
                tp::encode_wrq(&mut b, r.filename, &r.mode, &opts);
            }
            check_path(r.filename);
        }
        Packet::Data { block, data } => tp::encode_data(&mut b, *block, data),
        Packet::Ack { block } => tp::encode_ack(&mut b, *block),
        Packet::Error { code, message } => tp::encode_error(&mut b, *code, message),
        Packet::Oack { options } => tp::encode_oack(&mut b, options),
    }
    assert_eq!(
        Packet::parse(&b).as_ref(),
        Ok(&p),
        "parse(encode(parse(x))) != parse(x)"
    );
}

/// R-TFTP-3: a normalised name is relative, `/`-separated, lower-case, has no empty,
/// `.` or `..` component and no drive letter, and normalising it again changes nothing.
fn check_path(raw: &[u8]) {
    let Ok(p) = normalize(raw) else {
        return;
    };
    assert!(!p.is_empty());
    assert!(!p.starts_with('/') && !p.contains('\\') && !p.contains(':'));
    assert!(!p.chars().any(|c| c.is_control() || c.is_ascii_uppercase()));
    for part in p.split('/') {
        assert!(!part.is_empty() && part != "." && part != "..", "{p:?}");
    }
    assert_eq!(normalize(p.as_bytes()), Ok(p.clone()));
}

/// Reads the fuzz input's byte stream; every read past the end gives zeros / `None`.
struct Bytes<'a> {
    data: &'a [u8],
}

impl<'a> Bytes<'a> {
    fn u8(&mut self) -> Option<u8> {
        let (&b, rest) = self.data.split_first()?;
        self.data = rest;
        Some(b)
    }
    fn u16(&mut self) -> Option<u16> {
        Some(u16::from_le_bytes([self.u8()?, self.u8()?]))
    }
    /// A length-prefixed slice (u16 LE), cut to what is left.
    fn chunk(&mut self) -> Option<&'a [u8]> {
        let n = usize::from(self.u16()?).min(self.data.len());
        let (c, rest) = self.data.split_at(n);
        self.data = rest;
        Some(c)
    }
}

/// TFTP client events in a [`tftp`] input.
pub mod tftp_event {
    /// ACK of the block number that follows (u16 LE).
    pub const ACK: u8 = 0;
    /// ACK of the last DATA block the server sent (0 after an OACK).
    pub const ACK_LAST: u8 = 1;
    /// [`ACK_LAST`] repeated `n` × 256 times (`n` the next byte): long files, rollover.
    pub const ACK_LAST_MANY: u8 = 2;
    /// Time jumps to the transfer's deadline, which fires.
    pub const TIMEOUT: u8 = 3;
    /// Time advances by the next byte in milliseconds, then the timer is polled.
    pub const ADVANCE: u8 = 4;
    /// Any datagram (u16 LE length, bytes) to the transfer.
    pub const RAW: u8 = 5;
    /// The client sends an ERROR.
    pub const ERROR: u8 = 6;
    /// Duplicate ACK of the block before the last one.
    pub const ACK_PREVIOUS: u8 = 7;
}

/// Writes a [`tftp`] input.
#[derive(Clone, Debug, Default)]
pub struct TftpScript {
    pub bytes: Vec<u8>,
}

impl TftpScript {
    /// Header: block and window size cap (indices into [`BLOCK_SIZES`] and
    /// [`WINDOW_SIZES`]), file size `size << shift`, then the request.
    pub fn new(blk: u8, win: u8, size: u16, shift: u8, request: &[u8]) -> TftpScript {
        let mut bytes = vec![blk, win];
        bytes.extend_from_slice(&size.to_le_bytes());
        bytes.push(shift);
        bytes.extend_from_slice(&(request.len() as u16).to_le_bytes());
        bytes.extend_from_slice(request);
        TftpScript { bytes }
    }
    pub fn event(&mut self, e: u8) -> &mut Self {
        self.bytes.push(e);
        self
    }
    pub fn ack(&mut self, block: u16) -> &mut Self {
        self.bytes.push(tftp_event::ACK);
        self.bytes.extend_from_slice(&block.to_le_bytes());
        self
    }
    pub fn raw(&mut self, payload: &[u8]) -> &mut Self {
        self.bytes.push(tftp_event::RAW);
        self.bytes
            .extend_from_slice(&(payload.len() as u16).to_le_bytes());
        self.bytes.extend_from_slice(payload);
        self
    }
}

/// Fuzz target `tftp`: TFTP decoding (the whole input and every datagram in it, as
/// packets), and a server transfer driven by the events of a [`TftpScript`].
pub fn tftp(data: &[u8]) {
    check_tftp_roundtrip(data);
    let mut b = Bytes { data };
    let caps = TftpCaps {
        block_size: BLOCK_SIZES[usize::from(b.u8().unwrap_or(0) % 8)],
        window_size: WINDOW_SIZES[usize::from(b.u8().unwrap_or(0) % 8)],
    };
    let size = u64::from(b.u16().unwrap_or(0)) << (b.u8().unwrap_or(0) % 5);
    let Some(rrq) = b.chunk() else {
        return;
    };
    check_tftp_roundtrip(rrq);
    let Ok(Packet::Rrq(req)) = Packet::parse(rrq) else {
        return;
    };
    let cfg = ServerConfig {
        caps,
        ..ServerConfig::default()
    };
    // R-TFTP-2: what is accepted stays within the caps and the RFCs' ranges.
    let (accepted, blksize, window, _) = negotiate(&req, size, &cfg);
    let cap_blk = u64::from(caps.block_size).max(MIN_BLKSIZE);
    assert!(
        blksize == DEFAULT_BLKSIZE
            || (MIN_BLKSIZE..=cap_blk.min(MAX_BLKSIZE)).contains(&(blksize as u64))
    );
    assert!((1..=u64::from(caps.window_size).max(1)).contains(&window));
    for (k, _) in &accepted {
        assert!(req.option(k).is_some(), "accepted {k}, which was not asked");
    }

    let file = PatternFile {
        len: size,
        salt: rrq.len() as u8,
    };
    let mut now = Instant::ZERO;
    let mut out = Vec::new();
    let mut t = Transfer::start(now, &req, Arc::new(file), &cfg, &mut out);
    assert_eq!(t.block_size(), blksize);
    assert_eq!(t.window_size(), window);
    let mut last = 0u16; // last block number the server sent
    let check = |out: &mut Vec<Vec<u8>>, last: &mut u16, t: &Transfer, tag: &str| {
        // R-TFTP-4: one window at most per event, never a second copy of it.
        assert!(out.len() as u64 <= window, "{tag}: {} datagrams", out.len());
        for d in out.drain(..) {
            match Packet::parse(&d) {
                Ok(Packet::Oack { options }) => {
                    assert_eq!(options, accepted);
                    *last = 0;
                }
                Ok(Packet::Data { block, data }) => {
                    assert!(
                        data.len() <= t.block_size(),
                        "{tag}: DATA of {}",
                        data.len()
                    );
                    *last = block;
                }
                other => panic!("{tag}: the server sent {other:?}"),
            }
        }
    };
    check(&mut out, &mut last, &t, "start");
    let ack = |block: u16| {
        let mut v = Vec::new();
        tp::encode_ack(&mut v, block);
        v
    };
    let mut steps = 0u32;
    while let Some(ev) = b.u8() {
        let before = t.status().clone();
        match ev % 8 {
            tftp_event::ACK => {
                let block = b.u16().unwrap_or(0);
                t.handle_packet(now, &ack(block), &mut out);
            }
            tftp_event::ACK_LAST => t.handle_packet(now, &ack(last), &mut out),
            tftp_event::ACK_LAST_MANY => {
                let n = u32::from(b.u8().unwrap_or(0)) * 256;
                for _ in 0..n {
                    if *t.status() != TransferStatus::Active || steps > 200_000 {
                        break;
                    }
                    steps += 1;
                    t.handle_packet(now, &ack(last), &mut out);
                    check(&mut out, &mut last, &t, "ack many");
                }
            }
            tftp_event::TIMEOUT => {
                if let Some(d) = t.poll_timeout() {
                    assert!(d >= now);
                    now = d;
                    t.handle_timeout(now, &mut out);
                }
            }
            tftp_event::ADVANCE => {
                let deadline = t.poll_timeout();
                now = now + Duration::from_millis(u64::from(b.u8().unwrap_or(0)));
                t.handle_timeout(now, &mut out);
                if deadline.is_none_or(|d| d > now) {
                    assert!(out.is_empty(), "sent before its deadline");
                }
            }
            tftp_event::RAW => {
                let d = b.chunk().unwrap_or(&[]);
                check_tftp_roundtrip(d);
                t.handle_packet(now, d, &mut out);
            }
            tftp_event::ERROR => {
                let mut v = Vec::new();
                tp::encode_error(&mut v, 0, "fuzz");
                t.handle_packet(now, &v, &mut out);
                assert!(
                    matches!(t.status(), TransferStatus::Failed(_))
                        || before != TransferStatus::Active
                );
            }
            _ => t.handle_packet(now, &ack(last.wrapping_sub(1)), &mut out),
        }
        check(&mut out, &mut last, &t, "event");
        if before != TransferStatus::Active {
            assert_eq!(*t.status(), before, "a finished transfer changed");
        }
        match t.status() {
            TransferStatus::Active => assert!(t.poll_timeout().is_some()),
            TransferStatus::Done => {
                assert_eq!(t.bytes_acked(), size);
                assert_eq!(t.poll_timeout(), None);
            }
            TransferStatus::Failed(_) => assert_eq!(t.poll_timeout(), None),
        }
        assert!(t.bytes_acked() <= size);
    }
}

// ---------------------------------------------------------------------------- Responder

/// The fuzzed responder's address.
pub const ME: Ipv4Addr = Ipv4Addr::new(10, 10, 0, 5);
/// The MAC and SMBIOS UUID the firmware captures were made with (a known machine).
pub const CAPTURE_MAC: Mac = Mac([0x52, 0x54, 0x00, 0x12, 0x34, 0x56]);
pub const CAPTURE_UUID: Guid = Guid([
    0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff,
]);

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

/// The fuzzed site: the capture's machine (known, a required and an available
/// deployment), another machine whose deployment's image is not PXE-enabled, a machine
/// of another primary site, unknown computers, a duplicate MAC.
pub fn site() -> Site {
    let image = |id: &str, arch, pxe_enabled| BootImage {
        id: id.into(),
        arch,
        size: 3000,
        pxe_enabled,
    };
    let dep = |id: &str, collection: &str, boot_image: &str, purpose, available_to| Deployment {
        id: id.into(),
        collection: collection.into(),
        boot_image: boot_image.into(),
        purpose,
        available_to,
    };
    Site {
        code: "PS1".into(),
        boot_images: vec![
            image("PS100001", Arch::X86, true),
            image("PS100002", Arch::X64, true),
            image("PS100003", Arch::Arm64, true),
            image("PS100004", Arch::X64, false),
        ],
        machines: vec![
            Machine {
                name: "WS01".into(),
                mac: Some(CAPTURE_MAC),
                smbios_guid: Some(CAPTURE_UUID),
                assigned_site: None,
            },
            Machine {
                name: "WS02".into(),
                mac: Some(Mac([0x52, 0x54, 0, 0, 0, 2])),
                smbios_guid: None,
                assigned_site: None,
            },
            Machine {
                name: OTHER_SITE_MACHINE.into(),
                mac: Some(Mac([0x52, 0x54, 0, 0, 0, 4])),
                smbios_guid: None,
                assigned_site: Some("PS2".into()),
            },
        ],
        collections: vec![
            Collection {
                name: "Lab".into(),
                members: vec!["WS01".into(), OTHER_SITE_MACHINE.into()],
            },
            Collection {
                name: "Lab2".into(),
                members: vec!["WS02".into()],
            },
        ],
        deployments: vec![
            dep(
                "PS120001",
                "Lab",
                "PS100002",
                Purpose::Required,
                AvailableTo::MediaPxe,
            ),
            dep(
                "PS120002",
                "Lab",
                "PS100001",
                Purpose::Available,
                AvailableTo::ClientsMediaPxe,
            ),
            dep(
                "PS120003",
                "Lab",
                "PS100003",
                Purpose::Available,
                AvailableTo::MediaPxe,
            ),
            dep(
                "PS120004",
                "Lab2",
                "PS100004",
                Purpose::Required,
                AvailableTo::MediaPxe,
            ),
            dep(
                "PS120005",
                X64_UNKNOWN,
                "PS100002",
                Purpose::Available,
                AvailableTo::MediaPxe,
            ),
            dep(
                "PS120006",
                X86_UNKNOWN,
                "PS100001",
                Purpose::Required,
                AvailableTo::MediaPxeHidden,
            ),
        ],
        duplicate_macs: vec![Mac([0x52, 0x54, 0, 0, 0, 3])],
        duplicate_guids: Vec::new(),
        other_sites: vec!["PS2".into()],
    }
}

/// A machine of the fuzzed site assigned to the other primary site, PS2, in the
/// collection of the capture's machine: no fuzzed responder (of PS1) may answer it
/// (R-ID-5).
pub const OTHER_SITE_MACHINE: &str = "WS04";

/// The fuzzed boot root: every `smsboot/` and `smsimages/` file exists with a size and
/// content that depend on its name; other names exist unless their CRC is a multiple
/// of 3.
pub struct FuzzRoot;

impl BootRoot for FuzzRoot {
    fn open(&self, path: &str) -> Option<Arc<dyn FileSource>> {
        let c = crc32fast::hash(path.as_bytes());
        let len = if path.starts_with("smsboot/") {
            u64::from(c % 3000)
        } else if path.starts_with("smsimages/") {
            u64::from(c % 70_000)
        } else if c.is_multiple_of(3) {
            return None;
        } else {
            u64::from(c % 5000)
        };
        Some(Arc::new(PatternFile { len, salt: c as u8 }))
    }
    fn crc32(&self, path: &str) -> Option<u32> {
        path.starts_with("smsimages/")
            .then(|| crc32fast::hash(path.as_bytes()))
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
        Arc::new(FuzzRoot),
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
