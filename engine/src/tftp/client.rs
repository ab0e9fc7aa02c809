//! One TFTP read transfer, client side: the firmware's and boot programs' TFTP in the
//! simulator (RFC 1350, 2347, 2348, 2349, 7440).

use super::crc_shift::CrcShift;
use super::packet::{self, Packet};
use super::server::{DataSink, DEFAULT_BLKSIZE};
use crate::time::Instant;
use std::sync::Arc;
use std::time::Duration;

/// Most data kept for [`ClientTransfer::data`] (boot parameters and other small files).
pub const KEEP_LIMIT: u64 = 1 << 20;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientConfig {
    /// Options sent in this order, e.g. `[("blksize","1468"),("windowsize","4"),("tsize","0")]`.
    pub options: Vec<(String, String)>,
    pub timeout: Duration,
    pub max_retries: u32,
    /// Compute the CRC-32 of the data.
    pub verify: bool,
    /// Keep the file's bytes for [`ClientTransfer::data`] (up to [`KEEP_LIMIT`]).
    pub keep: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientFailure {
    /// The server's TFTP error code, when it sent one.
    pub code: Option<u16>,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientStatus {
    Active,
    Done { bytes: u64, crc32: Option<u32> },
    Failed(ClientFailure),
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClientStats {
    pub blocks: u64,
    pub duplicates: u64,
    pub timeouts: u64,
    pub block_size: usize,
    pub window_size: u64,
}

/// What a DATA block brought: its bytes, or its length and CRC-32.
#[derive(Clone, Copy)]
enum Block<'a> {
    Bytes(&'a [u8]),
    Crc { len: usize, crc32: u32 },
}

// Nearly every field is read per block: aligned, the struct takes four cache lines
// instead of five (boxed in the simulator's client; BENCHMARKS.md, 2026-12-02).
#[repr(align(64))]
pub struct ClientTransfer {
    server_port: Option<u16>,
    asked_options: bool,
    got_oack: bool,
    blksize: usize,
    window: u64,
    tsize: Option<u64>,
    /// Next block expected (from 1; u64, the wire number is its low 16 bits).
    next: u64,
    in_window: u64,
    /// A gap or duplicate was answered since the last in-order block.
    nudged: bool,
    bytes: u64,
    /// The CRC-32 of the data so far, when checked.
    crc: Option<u32>,
    /// Folds a whole block's CRC into `crc` ([`handle_data_crc`](Self::handle_data_crc)).
    shift: Option<Arc<CrcShift>>,
    keep: Option<Vec<u8>>,
    last_sent: Vec<u8>,
    timeout: Duration,
    max_retries: u32,
    retries: u32,
    /// The last DATA from the server, in order or not (or the request): the give-up
    /// counts from it ([`handle_timeout`](Self::handle_timeout)).
    heard: Instant,
    deadline: Option<Instant>,
    status: ClientStatus,
    stats: ClientStats,
}

impl ClientTransfer {
    /// Send the read request (mode `octet`).
    pub fn start(
        now: Instant,
        filename: &str,
        cfg: &ClientConfig,
        out: &mut Vec<Vec<u8>>,
    ) -> ClientTransfer {
        let mut rrq = Vec::new();
        let opts: Vec<(&str, &str)> = cfg
            .options
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        packet::encode_rrq(&mut rrq, filename.as_bytes(), "octet", &opts);
        out.push(rrq.clone());
        ClientTransfer {
            server_port: None,
            asked_options: !cfg.options.is_empty(),
            got_oack: false,
            blksize: DEFAULT_BLKSIZE,
            window: 1,
            tsize: None,
            next: 1,
            in_window: 0,
            nudged: false,
            bytes: 0,
            crc: cfg.verify.then_some(0),
            shift: None,
            keep: cfg.keep.then(Vec::new),
            last_sent: rrq,
            timeout: cfg.timeout,
            max_retries: cfg.max_retries,
            retries: 0,
            heard: now,
            deadline: Some(now + cfg.timeout),
            status: ClientStatus::Active,
            stats: ClientStats {
                block_size: DEFAULT_BLKSIZE,
                window_size: 1,
                ..ClientStats::default()
            },
        }
    }

    pub fn status(&self) -> &ClientStatus {
        &self.status
    }
    /// The server's transfer port (its TID), once it answered.
    pub fn server_port(&self) -> Option<u16> {
        self.server_port
    }
    /// The file's bytes when it is small (at most [`KEEP_LIMIT`]).
    pub fn data(&self) -> Option<&[u8]> {
        self.keep.as_deref()
    }
    /// The size the server announced with `tsize`.
    pub fn tsize(&self) -> Option<u64> {
        self.tsize
    }
    pub fn stats(&self) -> ClientStats {
        self.stats
    }
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.status {
            ClientStatus::Active => self.deadline,
            _ => None,
        }
    }

    fn send(&mut self, now: Instant, b: Vec<u8>, out: &mut impl DataSink) {
        self.last_sent.clear();
        self.last_sent.extend_from_slice(&b);
        out.push_datagram(b);
        self.deadline = Some(now + self.timeout);
    }

    /// The ACK's buffer comes from the sink: a driver that recycles delivered
    /// datagrams (the simulator) allocates none per block.
    fn ack(&mut self, now: Instant, idx: u64, out: &mut impl DataSink) {
        let mut b = out.buffer();
        packet::encode_ack(&mut b, idx as u16);
        self.send(now, b, out);
    }

    fn fail(&mut self, code: Option<u16>, message: String) {
        self.status = ClientStatus::Failed(ClientFailure { code, message });
        self.deadline = None;
    }

    /// A datagram from the server, sent from `src_port`.
    pub fn handle_packet(
        &mut self,
        now: Instant,
        src_port: u16,
        payload: &[u8],
        out: &mut impl DataSink,
    ) {
        if self.status != ClientStatus::Active {
            return;
        }
        match self.server_port {
            None => self.server_port = Some(src_port),
            Some(p) if p != src_port => return, // another TID: not this transfer
            Some(_) => {}
        }
        match Packet::parse(payload) {
            Ok(Packet::Oack { options }) if !self.got_oack && self.next == 1 => {
                self.got_oack = true;
                for (k, v) in &options {
                    let Ok(n) = v.parse::<u64>() else { continue };
                    match k.as_str() {
                        "blksize" if (8..=65464).contains(&n) => self.blksize = n as usize,
                        "windowsize" if (1..=65535).contains(&n) => self.window = n,
                        "tsize" => self.tsize = Some(n),
                        "timeout" if (1..=255).contains(&n) => {}
                        _ => {}
                    }
                }
                self.stats.block_size = self.blksize;
                self.stats.window_size = self.window;
                self.retries = 0;
                self.ack(now, 0, out);
            }
            Ok(Packet::Data { block, data }) => self.on_data(now, block, Block::Bytes(data), out),
            Ok(Packet::Error { code, message }) => self.fail(Some(code), message),
            _ => {}
        }
    }

    /// A DATA block known by its length and CRC-32 instead of its bytes (the
    /// simulator's file data by reference): the same checks as a DATA datagram to
    /// [`handle_packet`](Self::handle_packet) (its TID, its order, its size), and the
    /// CRC folded into the file's. A transfer that keeps its bytes
    /// ([`keeps_data`](Self::keeps_data)) must be given them instead.
    pub fn handle_data_crc(
        &mut self,
        now: Instant,
        src_port: u16,
        block: u16,
        len: usize,
        crc32: u32,
        out: &mut impl DataSink,
    ) {
        if self.status != ClientStatus::Active {
            return;
        }
        match self.server_port {
            None => self.server_port = Some(src_port),
            Some(p) if p != src_port => return,
            Some(_) => {}
        }
        self.on_data(now, block, Block::Crc { len, crc32 }, out);
    }

    /// Whether the transfer keeps the file's bytes ([`data`](Self::data)).
    pub fn keeps_data(&self) -> bool {
        self.keep.is_some()
    }

    /// The block size in force (512 until an OACK set another).
    pub fn block_size(&self) -> usize {
        self.blksize
    }

    fn on_data(&mut self, now: Instant, block: u16, data: Block<'_>, out: &mut impl DataSink) {
        self.heard = now;
        let len = match data {
            Block::Bytes(b) => b.len(),
            Block::Crc { len, .. } => len,
        };
        if self.asked_options && !self.got_oack && self.next == 1 {
            // The server ignored our options (RFC 2347): plain RFC 1350 transfer.
            self.blksize = DEFAULT_BLKSIZE;
            self.window = 1;
        }
        if len > self.blksize {
            self.fail(
                None,
                format!(
                    "DATA of {len} bytes exceeds the block size {}",
                    self.blksize
                ),
            );
            return;
        }
        if block != self.next as u16 {
            // RFC 7440: on a gap, acknowledge the last block received in order, once;
            // a duplicate (our ACK was lost) is answered the same way, once.
            self.stats.duplicates += 1;
            if !self.nudged {
                self.nudged = true;
                self.in_window = 0;
                self.ack(now, self.next - 1, out);
            }
            return;
        }
        self.nudged = false;
        self.retries = 0;
        self.bytes += len as u64;
        self.stats.blocks += 1;
        if let Some(crc) = &mut self.crc {
            *crc = match data {
                Block::Bytes(b) => {
                    let mut h = crc32fast::Hasher::new_with_initial(*crc);
                    h.update(b);
                    h.finalize()
                }
                // crc(a ‖ b) from crc(a), crc(b) and b's length.
                Block::Crc { len, crc32 } if len == self.blksize => self
                    .shift
                    .get_or_insert_with(|| CrcShift::for_len(len))
                    .combine(*crc, crc32),
                Block::Crc { len, crc32 } => {
                    let mut h = crc32fast::Hasher::new_with_initial(*crc);
                    h.combine(&crc32fast::Hasher::new_with_initial_len(crc32, len as u64));
                    h.finalize()
                }
            };
        }
        if let Some(k) = &mut self.keep {
            match data {
                Block::Bytes(b) if self.bytes <= KEEP_LIMIT => k.extend_from_slice(b),
                _ => self.keep = None,
            }
        }
        let idx = self.next;
        self.next += 1;
        self.in_window += 1;
        let last = len < self.blksize;
        if last || self.in_window >= self.window {
            self.in_window = 0;
            self.ack(now, idx, out);
        } else {
            self.deadline = Some(now + self.timeout);
        }
        if last {
            let crc32 = self.crc.take();
            self.status = ClientStatus::Done {
                bytes: self.bytes,
                crc32,
            };
            self.deadline = None;
        }
    }

    /// Retransmit the last request or acknowledgement; fail after the retries once the
    /// server has also sent no DATA for as long as they take.
    ///
    /// The retries count from the last block in order, and a block lost again and again
    /// keeps the server resending its window (its own timer backs off, up to 8 s in
    /// `rto.rs`) while our ACK of the block before that window is no progress to it
    /// (R-TFTP-4). Counted alone, our ninth 1-s timeout came 0.6 s before the server's
    /// next resend in the bench (2 % loss, 8192/8, seed 1: 13.95 s against 14.55 s).
    /// So only the server's silence ends the transfer, as with the firmware: EDK2's
    /// Mtftp4 acknowledges every unexpected block and each packet it sends restarts its
    /// retries, and iPXE restarts its retry timer on every DATA.
    pub fn handle_timeout(&mut self, now: Instant, out: &mut impl DataSink) {
        if self.status != ClientStatus::Active || self.deadline.is_none_or(|d| d > now) {
            return;
        }
        self.retries += 1;
        self.stats.timeouts += 1;
        let patience = self.timeout * self.max_retries.saturating_add(1);
        if self.retries > self.max_retries && now.saturating_since(self.heard) >= patience {
            self.fail(
                None,
                format!("timed out after {} retries", self.max_retries),
            );
            return;
        }
        if self.next > 1 || self.got_oack {
            // Re-acknowledge the last block received in order.
            self.in_window = 0;
            self.ack(now, self.next - 1, out);
        } else {
            let b = self.last_sent.clone();
            self.send(now, b, out);
        }
    }
}
