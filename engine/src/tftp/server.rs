//! One TFTP read transfer, server side (R-TFTP-1, -2, -4, -5, -6).

pub use super::file_data::FileData;
use super::packet::{self, Packet, Request};
use super::rto::{Rto, RtoBounds};
use crate::policy::TftpCaps;
use crate::time::Instant;
use std::sync::Arc;
use std::time::Duration;

/// The bytes of a file being served.
pub trait FileSource {
    fn len(&self) -> u64;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Fill `buf` with the bytes at `offset` (the caller stays within `len`).
    fn read_at(&self, offset: u64, buf: &mut [u8]);
    /// Append `len` bytes at `offset` to `out` (the hot path of every DATA packet;
    /// sources that can copy straight in override it to skip zero-filling).
    fn append_to(&self, offset: u64, len: usize, out: &mut Vec<u8>) {
        let start = out.len();
        out.resize(start + len, 0);
        self.read_at(offset, &mut out[start..]);
    }
}

impl FileSource for Vec<u8> {
    fn len(&self) -> u64 {
        self.as_slice().len() as u64
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) {
        let o = offset as usize;
        buf.copy_from_slice(&self[o..o + buf.len()]);
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerConfig {
    pub caps: TftpCaps,
    /// The retransmission timer's initial value, floor and cap; a client's `timeout`
    /// option sets a fixed one instead (RFC 2349).
    pub rto: RtoBounds,
    /// R-TFTP-4: a transfer is given up once it has resent the same data at least
    /// `max_retries` times in a row *and* its client has acknowledged nothing for
    /// `patience`: the count keeps a long client `timeout` from ending it before any
    /// resend, the time keeps a short measured timeout from ending it in a second.
    pub max_retries: u32,
    pub patience: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        // With the default bounds and no measured round trip the resends go at 1, 3,
        // 7, 15, 23 and 31 s and the transfer ends at 39 s; once a LAN round trip is
        // measured, at 0.2, 0.6, 1.4, 3, 6.2, 12.6, 20.6 and 28.6 s, ending at
        // 36.6 s (times since the last acknowledgement). dnsmasq resends at about 1,
        // 3, 6, 9, 14 and 19 s: at least as many resends, over a longer time.
        ServerConfig {
            caps: TftpCaps::default(),
            rto: RtoBounds::default(),
            max_retries: 6,
            patience: Duration::from_secs(30),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TransferStatus {
    Active,
    Done,
    Failed(String),
}

pub const DEFAULT_BLKSIZE: usize = 512;
pub const MIN_BLKSIZE: u64 = 8;
pub const MAX_BLKSIZE: u64 = 65464;

/// R-TFTP-2: the options the server accepts, capped by the responder's settings, in the
/// client's order; unknown or invalid options are left out. Also the block size, the
/// window size and the client's `timeout` (RFC 2349), if it gave a valid one.
pub fn negotiate(
    req: &Request,
    size: u64,
    cfg: &ServerConfig,
) -> (Vec<(String, String)>, usize, u64, Option<Duration>) {
    let mut accepted = Vec::new();
    let mut blksize = DEFAULT_BLKSIZE;
    let mut window = 1u64;
    let mut timeout = None;
    for (name, value) in &req.options {
        let Ok(v) = value.trim().parse::<u64>() else {
            continue;
        };
        match name.as_str() {
            "blksize" if (MIN_BLKSIZE..=MAX_BLKSIZE).contains(&v) => {
                let b = v.min(u64::from(cfg.caps.block_size).max(MIN_BLKSIZE));
                blksize = b as usize;
                accepted.push((name.clone(), b.to_string()));
            }
            "windowsize" if (1..=65535).contains(&v) => {
                let w = v.min(u64::from(cfg.caps.window_size).max(1));
                window = w;
                accepted.push((name.clone(), w.to_string()));
            }
            "tsize" => accepted.push((name.clone(), size.to_string())),
            "timeout" if (1..=255).contains(&v) => {
                timeout = Some(Duration::from_secs(v));
                accepted.push((name.clone(), v.to_string()));
            }
            _ => {}
        }
    }
    (accepted, blksize, window, timeout)
}

// What a block's ACK and DATA read first, in this order (`repr(C)`), so that they share
// cache lines (the simulator's storms; BENCHMARKS.md, 2026-12-02).
#[repr(C)]
pub struct Transfer {
    /// First block not yet acknowledged.
    base: u64,
    /// Last block sent in the current window.
    sent_upto: u64,
    /// Blocks are numbered from 1 internally (u64: no rollover here, R-TFTP-5).
    total_blocks: u64,
    /// When what is outstanding (the OACK or the window) was sent, if it was sent
    /// once: an answer to it is a round-trip sample. Karn's rule: after a resend,
    /// `None` until fresh data goes out.
    sent_once_at: Option<Instant>,
    deadline: Option<Instant>,
    /// The last time the client acknowledged something new (or the start).
    progress_at: Instant,
    retries: u32,
    max_retries: u32,
    /// An OACK was sent and block 0 is not yet acknowledged.
    awaiting_ack0: bool,
    rto: Rto,
    file: Arc<dyn FileSource>,
    size: u64,
    blksize: usize,
    window: u64,
    blocks_sent: u64,
    patience: Duration,
    status: TransferStatus,
    retransmissions: u64,
    /// Timeouts that resent something (the OACK or a window).
    timeouts: u64,
    options: Vec<(String, String)>,
}

/// Where a transfer puts the datagrams it sends. `buffer` gives an empty vector to
/// fill: a new one, or one a driver handed back from a delivered datagram (the
/// simulator keeps a pool, so that a storm does not allocate and free a block per
/// packet).
pub trait DataSink {
    fn buffer(&mut self) -> Vec<u8>;
    fn push_datagram(&mut self, datagram: Vec<u8>);
    /// A DATA packet: `header` then `len` bytes of `file` at `offset`. Copied in here;
    /// a sink that takes file data by reference keeps a [`FileData`] instead.
    fn push_file_data(
        &mut self,
        mut header: Vec<u8>,
        file: &Arc<dyn FileSource>,
        offset: u64,
        len: usize,
    ) {
        file.append_to(offset, len, &mut header);
        self.push_datagram(header);
    }
}

impl DataSink for Vec<Vec<u8>> {
    fn buffer(&mut self) -> Vec<u8> {
        Vec::new()
    }
    fn push_datagram(&mut self, datagram: Vec<u8>) {
        self.push(datagram);
    }
}

/// A [`DataSink`] that takes its buffers from `spare` first. With `data` set it takes
/// file data by reference: `sent[i]` is then only the DATA header and `data[i]` the
/// file bytes that follow it (`None` for a datagram sent whole).
pub struct Pooled<'a> {
    pub sent: Vec<Vec<u8>>,
    pub spare: &'a mut Vec<Vec<u8>>,
    pub data: Option<Vec<Option<FileData>>>,
}

impl DataSink for Pooled<'_> {
    fn buffer(&mut self) -> Vec<u8> {
        let mut b = self.spare.pop().unwrap_or_default();
        b.clear();
        b
    }
    fn push_datagram(&mut self, datagram: Vec<u8>) {
        self.sent.push(datagram);
        if let Some(d) = &mut self.data {
            d.push(None);
        }
    }
    fn push_file_data(
        &mut self,
        mut header: Vec<u8>,
        file: &Arc<dyn FileSource>,
        offset: u64,
        len: usize,
    ) {
        match &mut self.data {
            Some(d) => {
                self.sent.push(header);
                d.push(Some(FileData {
                    file: file.clone(),
                    offset,
                    len,
                }));
            }
            None => {
                file.append_to(offset, len, &mut header);
                self.sent.push(header);
            }
        }
    }
}

impl Transfer {
    /// Start serving `file` for `req`: an OACK when the client asked for options the
    /// server accepts (R-TFTP-2), else the first window of data.
    pub fn start(
        now: Instant,
        req: &Request,
        file: Arc<dyn FileSource>,
        cfg: &ServerConfig,
        out: &mut impl DataSink,
    ) -> Transfer {
        let size = file.len();
        let (options, blksize, window, timeout) = negotiate(req, size, cfg);
        let mut t = Transfer {
            file,
            size,
            blksize,
            window,
            rto: Rto::new(cfg.rto, timeout),
            max_retries: cfg.max_retries,
            patience: cfg.patience,
            awaiting_ack0: !options.is_empty(),
            total_blocks: size / blksize as u64 + 1,
            base: 1,
            sent_upto: 0,
            deadline: None,
            sent_once_at: None,
            progress_at: now,
            retries: 0,
            status: TransferStatus::Active,
            blocks_sent: 0,
            retransmissions: 0,
            timeouts: 0,
            options,
        };
        if t.awaiting_ack0 {
            t.send_oack(now, out);
        } else {
            t.send_window(now, out);
        }
        t.sent_once_at = Some(now);
        t
    }

    pub fn status(&self) -> &TransferStatus {
        &self.status
    }
    pub fn block_size(&self) -> usize {
        self.blksize
    }
    pub fn window_size(&self) -> u64 {
        self.window
    }
    pub fn options_accepted(&self) -> &[(String, String)] {
        &self.options
    }
    pub fn blocks_sent(&self) -> u64 {
        self.blocks_sent
    }
    /// Blocks sent again after a timeout.
    pub fn retransmissions(&self) -> u64 {
        self.retransmissions
    }
    /// Timeouts that resent the OACK or a window.
    pub fn timeouts(&self) -> u64 {
        self.timeouts
    }
    pub fn bytes_acked(&self) -> u64 {
        ((self.base - 1) * self.blksize as u64).min(self.size)
    }
    pub fn size(&self) -> u64 {
        self.size
    }
    /// The current retransmission timeout (measured, backed off, or the client's).
    pub fn retransmission_timeout(&self) -> Duration {
        self.rto.timeout()
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.status {
            TransferStatus::Active => self.deadline,
            _ => None,
        }
    }

    fn send_oack(&mut self, now: Instant, out: &mut impl DataSink) {
        let mut b = Vec::new();
        packet::encode_oack(&mut b, &self.options);
        out.push_datagram(b);
        self.deadline = Some(now + self.rto.timeout());
    }

    /// Send blocks `base ..= base + window - 1` (R-TFTP-4: always from the first
    /// unacknowledged block).
    fn send_window(&mut self, now: Instant, out: &mut impl DataSink) {
        let end = (self.base + self.window - 1).min(self.total_blocks);
        for idx in self.base..=end {
            let off = (idx - 1) * self.blksize as u64;
            let len = (self.size.saturating_sub(off)).min(self.blksize as u64) as usize;
            let mut b = out.buffer();
            // R-TFTP-5: the wire block number is the low 16 bits; it rolls over to 0.
            packet::encode_data_header(&mut b, idx as u16);
            out.push_file_data(b, &self.file, off, len);
            self.blocks_sent += 1;
        }
        self.sent_upto = end;
        self.deadline = Some(now + self.rto.timeout());
    }

    pub fn handle_packet(&mut self, now: Instant, payload: &[u8], out: &mut impl DataSink) {
        if self.status != TransferStatus::Active {
            return;
        }
        match Packet::parse(payload) {
            Ok(Packet::Ack { block }) => self.on_ack(now, block, out),
            Ok(Packet::Error { code, message }) => {
                self.status =
                    TransferStatus::Failed(format!("client sent error {code}: {message}"));
            }
            _ => {} // garbage or a stray request: ignored
        }
    }

    /// The client acknowledged something new: a round-trip sample if what it answers
    /// was sent once (Karn's rule), and the retries start over.
    fn progress(&mut self, now: Instant) {
        if let Some(at) = self.sent_once_at {
            self.rto.sample(now - at);
        }
        self.retries = 0;
        self.progress_at = now;
    }

    fn on_ack(&mut self, now: Instant, block: u16, out: &mut impl DataSink) {
        if self.awaiting_ack0 {
            if block == 0 {
                self.awaiting_ack0 = false;
                self.progress(now);
                self.send_window(now, out);
                self.sent_once_at = Some(now);
            }
            return;
        }
        // Which outstanding block does this ACK name? Only base..=sent_upto count; an
        // ACK of base - 1 (a duplicate of the previous window's ACK) or older is
        // ignored: never a second copy of a window (R-TFTP-4, sorcerer's apprentice).
        if self.sent_upto < self.base {
            return;
        }
        let span = self.sent_upto - self.base; // < 65535
        let offset = block.wrapping_sub(self.base as u16) as u64;
        if offset > span {
            return;
        }
        let idx = self.base + offset;
        self.progress(now);
        if idx >= self.total_blocks {
            self.base = idx + 1;
            self.status = TransferStatus::Done;
            self.deadline = None;
            return;
        }
        self.base = idx + 1;
        self.send_window(now, out);
        self.sent_once_at = Some(now);
    }

    /// R-TFTP-4: resend what is outstanding after the retransmission timeout, backing
    /// off; give up after `max_retries` resends once `patience` has passed without
    /// progress.
    pub fn handle_timeout(&mut self, now: Instant, out: &mut impl DataSink) {
        if self.status != TransferStatus::Active || self.deadline.is_none_or(|d| d > now) {
            return;
        }
        let silent = now - self.progress_at;
        if self.retries >= self.max_retries && silent >= self.patience {
            self.status = TransferStatus::Failed(format!(
                "no acknowledgement for {:.1} s after {} retransmissions",
                silent.as_secs_f64(),
                self.retries
            ));
            self.deadline = None;
            return;
        }
        self.retries += 1;
        self.timeouts += 1;
        self.rto.back_off();
        self.sent_once_at = None;
        if self.awaiting_ack0 {
            self.send_oack(now, out);
        } else {
            let before = self.blocks_sent;
            self.send_window(now, out);
            self.retransmissions += self.blocks_sent - before;
        }
    }
}
