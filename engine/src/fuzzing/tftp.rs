//! Fuzz target `tftp`: TFTP decoding, path normalisation, option negotiation and a
//! server transfer driven by a [`TftpScript`].

use super::bytes::Bytes;
use crate::policy::TftpCaps;
use crate::testkit::PatternFile;
use crate::tftp::packet::{self as tp, Packet};
use crate::tftp::path::normalize;
use crate::tftp::server::{
    negotiate, ServerConfig, Transfer, TransferStatus, DEFAULT_BLKSIZE, MAX_BLKSIZE, MIN_BLKSIZE,
};
use crate::Instant;
use std::sync::Arc;
use std::time::Duration;

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
