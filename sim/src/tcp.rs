//! A TCP model for the simulator's HTTP boot, sans-IO: one [`Tcb`] per end of a
//! connection, fed segments ([`Tcb::handle_segment`]) and timer wake-ups
//! ([`Tcb::handle_timeout`]), asked for what to send ([`Tcb::take_output`]).
//!
//! What it models, because HTTP boot's timing depends on it:
//! - the handshake (SYN, SYN-ACK, ACK) with the MSS option, as the captures show it
//!   (`tests/fixtures/firmware/*-http4.pcap`: EDK2 offers MSS 1460 and window 65535, no
//!   window scaling, no SACK, no timestamps; Linux answers MSS 1460, window 64240);
//! - the send window: the least of the peer's advertised window and the congestion
//!   window, which starts as Linux starts it (10 segments, RFC 6928), grows by slow
//!   start (one MSS per MSS acknowledged) up to `ssthresh`, then by congestion
//!   avoidance (about one MSS per round trip);
//! - loss: the retransmission timeout of RFC 6298 (1 s at first, then from the measured
//!   round trip, Karn's rule, floor 200 ms as Linux's `TCP_RTO_MIN`, doubling on each
//!   timeout, `cwnd` back to one segment), and fast retransmit on the third duplicate
//!   ACK with NewReno's recovery (RFC 6582);
//! - the receiver: in-order delivery, out-of-order segments kept within the window,
//!   an ACK for every second full segment and at once for a short or out-of-order one,
//!   else after a delayed-ACK time;
//! - FIN close from either side, RST to abort, and [`reset_for`]: the RST a host sends
//!   for a segment to a port where nothing listens.
//!
//! What it leaves out: window scaling, SACK, timestamps, Nagle's algorithm, urgent data,
//! simultaneous open, TIME-WAIT (a closed connection is gone at once; ports are not
//! reused within a run), path MTU discovery, keep-alives, receive-window tuning (the
//! window is the configured one less what the application has not read), and Linux's
//! finer points (PRR, RACK, pacing, the quick-ACK mode, the minimum delayed ACK).

use pxelab_engine::Instant;
use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::time::Duration;

pub const FIN: u8 = 0x01;
pub const SYN: u8 = 0x02;
pub const RST: u8 = 0x04;
pub const PSH: u8 = 0x08;
pub const ACK: u8 = 0x10;

/// One TCP segment: the header fields the model uses, and its data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segment {
    pub src: SocketAddr,
    pub dst: SocketAddr,
    pub seq: u32,
    pub ack: u32,
    pub flags: u8,
    pub window: u16,
    /// The MSS option (SYN and SYN-ACK only).
    pub mss: Option<u16>,
    pub payload: Vec<u8>,
}

impl Segment {
    pub fn has(&self, flag: u8) -> bool {
        self.flags & flag != 0
    }

    /// Sequence space the segment takes: its data, plus one for SYN and for FIN.
    pub fn seq_len(&self) -> u32 {
        self.payload.len() as u32 + u32::from(self.has(SYN)) + u32::from(self.has(FIN))
    }

    /// Bytes of TCP header on the wire (20, and 4 for the MSS option).
    pub fn header_len(&self) -> usize {
        20 + if self.mss.is_some() { 4 } else { 0 }
    }

    /// `SYN ACK` style names of the flags (for timelines).
    pub fn flag_names(&self) -> String {
        let names = [
            (SYN, "SYN"),
            (FIN, "FIN"),
            (RST, "RST"),
            (PSH, "PSH"),
            (ACK, "ACK"),
        ];
        let v: Vec<&str> = names
            .iter()
            .filter(|(f, _)| self.has(*f))
            .map(|(_, n)| *n)
            .collect();
        v.join(" ")
    }
}

/// `a < b` in sequence space (RFC 793, modulo 2^32).
fn lt(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

fn le(a: u32, b: u32) -> bool {
    a == b || lt(a, b)
}

/// One end's parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TcpConfig {
    /// The MSS this end offers and sends with (1460 on Ethernet).
    pub mss: u16,
    /// The receive window it advertises (no scaling).
    pub window: u16,
    /// Congestion window at the start, segments.
    pub initial_cwnd: u32,
    pub rto_initial: Duration,
    pub rto_min: Duration,
    pub rto_max: Duration,
    /// Timeouts in a row (of one segment) before the connection is given up.
    pub max_retries: u32,
    /// How long a lone full segment's ACK may wait.
    pub delayed_ack: Duration,
    /// Most bytes queued to send (sent and unacknowledged included): the application
    /// writes no more until they are acknowledged.
    pub send_buffer: usize,
}

impl TcpConfig {
    /// Linux as the responder's host runs it (initial window 10, RTO floor 200 ms,
    /// `tcp_retries2` 15; the window of the captures' SYN-ACK).
    pub fn linux() -> TcpConfig {
        TcpConfig {
            mss: 1460,
            window: 64240,
            initial_cwnd: 10,
            rto_initial: Duration::from_secs(1),
            rto_min: Duration::from_millis(200),
            rto_max: Duration::from_secs(120),
            max_retries: 15,
            delayed_ack: Duration::from_millis(40),
            send_buffer: 256 * 1024,
        }
    }

    /// EDK2's TcpDxe as the firmware's HTTP boot uses it (MSS 1460, window 65535 in the
    /// captures). It sends only requests, so its congestion control barely matters.
    pub fn edk2() -> TcpConfig {
        TcpConfig {
            mss: 1460,
            window: 65535,
            initial_cwnd: 2,
            rto_initial: Duration::from_secs(1),
            rto_min: Duration::from_millis(200),
            rto_max: Duration::from_secs(60),
            max_retries: 12,
            delayed_ack: Duration::from_millis(200),
            send_buffer: 64 * 1024,
        }
    }

    /// Linux on the connection's family: over IPv6 the HTTPv6 captures' SYN-ACK offers
    /// MSS 1440 and window 64800 (45 segments), 20 bytes of header more than IPv4.
    pub fn linux_for(local: SocketAddr) -> TcpConfig {
        match local {
            SocketAddr::V4(_) => TcpConfig::linux(),
            SocketAddr::V6(_) => TcpConfig {
                mss: 1440,
                window: 64800,
                ..TcpConfig::linux()
            },
        }
    }

    /// EDK2 on the connection's family: over IPv6 its SYN offers MSS 1220 (1280, the
    /// IPv6 minimum MTU, less 60; the HTTPv6 captures), window 65535 as over IPv4.
    pub fn edk2_for(local: SocketAddr) -> TcpConfig {
        match local {
            SocketAddr::V4(_) => TcpConfig::edk2(),
            SocketAddr::V6(_) => TcpConfig {
                mss: pxelab_engine::dhcp6::http_firmware::EDK2_MSS6,
                ..TcpConfig::edk2()
            },
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    SynSent,
    SynReceived,
    Established,
    /// We sent FIN (or will once the data is out), the peer has not.
    FinWait,
    /// The peer sent FIN, we have not.
    CloseWait,
    /// Both sent FIN; ours not yet acknowledged.
    Closing,
    Closed,
}

/// Why a connection ended other than by FIN.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// The peer sent RST.
    Reset,
    /// Too many timeouts in a row.
    TimedOut,
}

/// One end of a connection.
pub struct Tcb {
    cfg: TcpConfig,
    pub local: SocketAddr,
    pub remote: SocketAddr,
    state: State,
    failure: Option<Failure>,
    // Send side.
    iss: u32,
    snd_una: u32,
    snd_nxt: u32,
    /// Highest sequence sent (snd_nxt goes back on a timeout).
    snd_max: u32,
    snd_wnd: u32,
    /// The peer's MSS (what we send in a segment).
    smss: u32,
    cwnd: u32,
    ssthresh: u32,
    /// Bytes from `snd_una` on (sent or not), after the SYN.
    buf: VecDeque<u8>,
    /// The application closed: FIN after the data.
    fin_queued: bool,
    fin_sent: bool,
    rto: Duration,
    srtt: Option<Duration>,
    rttvar: Duration,
    /// The segment timed for a round-trip sample: (its end sequence, when sent).
    rtt_probe: Option<(u32, Instant)>,
    rtx_at: Option<Instant>,
    retries: u32,
    dupacks: u32,
    /// NewReno: in recovery until this is acknowledged.
    recover: Option<u32>,
    // Receive side.
    irs: u32,
    rcv_nxt: u32,
    ooo: BTreeMap<u32, Vec<u8>>,
    received: Vec<u8>,
    /// The window of our last ACK.
    advertised: u16,
    peer_fin: bool,
    ack_now: bool,
    unacked_segments: u32,
    ack_at: Option<Instant>,
    rst_out: bool,
    out: Vec<Segment>,
    /// Counters (tests, timelines).
    pub retransmits: u64,
    pub timeouts: u64,
}

impl Tcb {
    fn new(cfg: TcpConfig, local: SocketAddr, remote: SocketAddr, iss: u32) -> Tcb {
        Tcb {
            cfg,
            local,
            remote,
            state: State::Closed,
            failure: None,
            iss,
            snd_una: iss,
            snd_nxt: iss,
            snd_max: iss,
            snd_wnd: 0,
            smss: 536,
            cwnd: 0,
            ssthresh: u32::MAX,
            buf: VecDeque::new(),
            fin_queued: false,
            fin_sent: false,
            rto: cfg.rto_initial,
            srtt: None,
            rttvar: Duration::ZERO,
            rtt_probe: None,
            rtx_at: None,
            retries: 0,
            dupacks: 0,
            recover: None,
            irs: 0,
            rcv_nxt: 0,
            ooo: BTreeMap::new(),
            received: Vec::new(),
            advertised: cfg.window,
            peer_fin: false,
            ack_now: false,
            unacked_segments: 0,
            ack_at: None,
            rst_out: false,
            out: Vec::new(),
            retransmits: 0,
            timeouts: 0,
        }
    }

    /// Active open: the SYN goes out with the next [`Tcb::take_output`].
    pub fn connect(
        now: Instant,
        cfg: TcpConfig,
        local: SocketAddr,
        remote: SocketAddr,
        iss: u32,
    ) -> Tcb {
        let mut t = Tcb::new(cfg, local, remote, iss);
        t.state = State::SynSent;
        t.snd_nxt = iss.wrapping_add(1);
        t.snd_max = t.snd_nxt;
        t.rtt_probe = Some((t.snd_nxt, now));
        t.rtx_at = Some(now + t.rto);
        let syn = t.segment(iss, SYN, Vec::new());
        t.out.push(syn);
        t
    }

    /// Passive open on a SYN (`None` for anything else): the SYN-ACK goes out with the
    /// next [`Tcb::take_output`].
    pub fn accept(now: Instant, cfg: TcpConfig, syn: &Segment, iss: u32) -> Option<Tcb> {
        if !syn.has(SYN) || syn.has(ACK) || syn.has(RST) {
            return None;
        }
        let mut t = Tcb::new(cfg, syn.dst, syn.src, iss);
        t.state = State::SynReceived;
        t.irs = syn.seq;
        t.rcv_nxt = syn.seq.wrapping_add(1);
        t.snd_wnd = u32::from(syn.window);
        t.smss = u32::from(syn.mss.unwrap_or(536).min(cfg.mss));
        t.snd_nxt = iss.wrapping_add(1);
        t.snd_max = t.snd_nxt;
        t.rtt_probe = Some((t.snd_nxt, now));
        t.rtx_at = Some(now + t.rto);
        let synack = t.segment(iss, SYN | ACK, Vec::new());
        t.out.push(synack);
        Some(t)
    }

    pub fn state(&self) -> State {
        self.state
    }

    pub fn failure(&self) -> Option<Failure> {
        self.failure
    }

    pub fn is_established(&self) -> bool {
        matches!(
            self.state,
            State::Established | State::FinWait | State::CloseWait | State::Closing
        )
    }

    pub fn is_closed(&self) -> bool {
        self.state == State::Closed
    }

    /// The peer sent FIN: no more data will come.
    pub fn peer_closed(&self) -> bool {
        self.peer_fin
    }

    /// The congestion window, bytes (tests).
    pub fn cwnd(&self) -> u32 {
        self.cwnd
    }

    /// The retransmission timeout in force.
    pub fn rto(&self) -> Duration {
        self.rto
    }

    /// How many more bytes [`Tcb::send`] takes now.
    pub fn send_space(&self) -> usize {
        if self.fin_queued || !self.is_established() && self.state != State::SynSent {
            return 0;
        }
        self.cfg.send_buffer.saturating_sub(self.buf.len())
    }

    /// Bytes queued or in flight, not yet acknowledged.
    pub fn unacknowledged(&self) -> usize {
        self.buf.len()
    }

    /// Queue data to send; returns how much was taken (up to [`Tcb::send_space`]).
    pub fn send(&mut self, data: &[u8]) -> usize {
        let n = data.len().min(self.send_space());
        self.buf.extend(&data[..n]);
        n
    }

    /// Take the data received in order so far. A window our last ACK had cut below
    /// half by unread data is announced again once read (RFC 1122's receiver side of
    /// silly window avoidance), else the peer would wait on a window it cannot see.
    pub fn read(&mut self) -> Vec<u8> {
        let data = std::mem::take(&mut self.received);
        let half = self.cfg.window / 2;
        if self.advertised < half && self.window() >= half && self.is_established() {
            self.ack_now = true;
        }
        data
    }

    /// Close our side: FIN once the queued data is out.
    pub fn close(&mut self) {
        if matches!(self.state, State::Closed) {
            return;
        }
        self.fin_queued = true;
    }

    /// Abort: one RST, and the connection is gone.
    pub fn abort(&mut self) {
        if self.state == State::Closed {
            return;
        }
        let rst = self.segment(self.snd_nxt, RST | ACK, Vec::new());
        self.out.push(rst);
        self.rst_out = true;
        self.state = State::Closed;
        self.rtx_at = None;
        self.ack_at = None;
    }

    fn window(&self) -> u16 {
        let free = usize::from(self.cfg.window).saturating_sub(self.received.len());
        free.min(usize::from(u16::MAX)) as u16
    }

    fn segment(&self, seq: u32, flags: u8, payload: Vec<u8>) -> Segment {
        let syn = flags & SYN != 0;
        Segment {
            src: self.local,
            dst: self.remote,
            seq,
            ack: if flags & ACK != 0 { self.rcv_nxt } else { 0 },
            flags,
            window: self.window(),
            mss: syn.then_some(self.cfg.mss),
            payload,
        }
    }

    /// A segment for this connection arrived.
    pub fn handle_segment(&mut self, now: Instant, seg: &Segment) {
        if self.state == State::Closed {
            return;
        }
        if seg.has(RST) {
            // RFC 5961's exact-match check is left out: any RST in the window resets.
            let ok = match self.state {
                State::SynSent => seg.has(ACK) && seg.ack == self.snd_nxt,
                _ => {
                    let off = seg.seq.wrapping_sub(self.rcv_nxt);
                    off < u32::from(self.cfg.window).max(1)
                }
            };
            if ok {
                self.state = State::Closed;
                self.failure = Some(Failure::Reset);
                self.rtx_at = None;
                self.ack_at = None;
            }
            return;
        }
        match self.state {
            State::SynSent => {
                if !(seg.has(SYN) && seg.has(ACK) && seg.ack == self.snd_nxt) {
                    return;
                }
                self.irs = seg.seq;
                self.rcv_nxt = seg.seq.wrapping_add(1);
                self.smss = u32::from(seg.mss.unwrap_or(536).min(self.cfg.mss));
                self.snd_wnd = u32::from(seg.window);
                self.established(now, seg.ack);
                // The handshake's ACK goes at once, alone (as EDK2's in the captures).
                let ack = self.segment(self.snd_nxt, ACK, Vec::new());
                self.out.push(ack);
                return;
            }
            State::SynReceived => {
                if seg.has(SYN) {
                    // Our SYN-ACK was lost: the client's SYN again. Resend it.
                    if seg.seq.wrapping_add(1) == self.rcv_nxt {
                        let synack = self.segment(self.iss, SYN | ACK, Vec::new());
                        self.out.push(synack);
                    }
                    return;
                }
                if !(seg.has(ACK) && seg.ack == self.iss.wrapping_add(1)) {
                    return;
                }
                self.snd_wnd = u32::from(seg.window);
                self.established(now, seg.ack);
            }
            _ => {
                if seg.has(SYN) {
                    // A retransmitted SYN-ACK: our ACK of it was lost.
                    self.ack_now = true;
                    return;
                }
            }
        }
        if seg.has(ACK) {
            self.on_ack(now, seg);
        }
        self.on_data(now, seg);
    }

    fn established(&mut self, now: Instant, ack: u32) {
        self.state = State::Established;
        self.snd_una = ack;
        self.cwnd = self.cfg.initial_cwnd * self.smss;
        self.sample_rtt(now, ack);
        self.rtx_at = None;
        self.retries = 0;
    }

    fn sample_rtt(&mut self, now: Instant, ack: u32) {
        if let Some((end, sent)) = self.rtt_probe {
            if le(end, ack) {
                let r = now.saturating_since(sent);
                match self.srtt {
                    None => {
                        self.srtt = Some(r);
                        self.rttvar = r / 2;
                    }
                    Some(s) => {
                        let diff = s.abs_diff(r);
                        self.rttvar = (self.rttvar * 3 + diff) / 4;
                        self.srtt = Some((s * 7 + r) / 8);
                    }
                }
                let s = self.srtt.unwrap_or(r);
                self.rto = (s + (self.rttvar * 4).max(Duration::from_millis(1)))
                    .clamp(self.cfg.rto_min, self.cfg.rto_max);
                self.rtt_probe = None;
            }
        }
    }

    fn flight(&self) -> u32 {
        self.snd_max.wrapping_sub(self.snd_una)
    }

    fn on_ack(&mut self, now: Instant, seg: &Segment) {
        let ack = seg.ack;
        if lt(self.snd_max, ack) {
            return; // acknowledges what was never sent
        }
        self.snd_wnd = u32::from(seg.window);
        if lt(self.snd_una, ack) {
            let acked = ack.wrapping_sub(self.snd_una);
            // The FIN takes one sequence number that is not in the buffer.
            let data = (acked as usize).min(self.buf.len());
            self.buf.drain(..data);
            self.snd_una = ack;
            if lt(self.snd_nxt, ack) {
                self.snd_nxt = ack;
            }
            self.sample_rtt(now, ack);
            self.retries = 0;
            self.dupacks = 0;
            match self.recover {
                Some(r) if lt(ack, r) => {
                    // NewReno partial ACK: the next hole goes out at once.
                    self.retransmit_first(now);
                }
                Some(_) => {
                    self.recover = None;
                    self.cwnd = self.ssthresh;
                }
                None if self.cwnd < self.ssthresh => {
                    self.cwnd += acked.min(self.smss);
                }
                None => {
                    self.cwnd += (self.smss * self.smss / self.cwnd.max(1)).max(1);
                }
            }
            self.rtx_at = (self.flight() > 0).then(|| now + self.rto);
            if self.fin_sent && ack == self.snd_max {
                match self.state {
                    State::Closing => self.state = State::Closed,
                    State::FinWait if self.peer_fin => self.state = State::Closed,
                    _ => {}
                }
            }
        } else if ack == self.snd_una
            && seg.payload.is_empty()
            && !seg.has(FIN)
            && self.flight() > 0
        {
            self.dupacks += 1;
            if self.dupacks == 3 && self.recover.is_none() {
                self.ssthresh = (self.flight() / 2).max(2 * self.smss);
                self.cwnd = self.ssthresh;
                self.recover = Some(self.snd_max);
                self.retransmit_first(now);
            }
        }
    }

    fn retransmit_first(&mut self, now: Instant) {
        let len = (self.smss as usize).min(self.buf.len());
        if len > 0 {
            let data: Vec<u8> = self.buf.range(..len).copied().collect();
            let seg = self.segment(self.snd_una, ACK | PSH, data);
            self.out.push(seg);
            self.retransmits += 1;
            self.ack_sent();
        }
        self.rtt_probe = None;
        self.rtx_at = Some(now + self.rto);
    }

    fn on_data(&mut self, now: Instant, seg: &Segment) {
        let len = seg.payload.len() as u32;
        if len == 0 && !seg.has(FIN) {
            return;
        }
        if self.peer_fin {
            self.ack_now = true;
            return;
        }
        let mut seq = seg.seq;
        let mut data = &seg.payload[..];
        // Trim what we already have.
        if lt(seq, self.rcv_nxt) {
            let skip = self.rcv_nxt.wrapping_sub(seq);
            if skip as usize >= data.len() && !(seg.has(FIN) && skip as usize == data.len()) {
                self.ack_now = true; // a duplicate: ACK at once
                return;
            }
            let skip = (skip as usize).min(data.len());
            data = &data[skip..];
            seq = self.rcv_nxt;
        }
        if seq != self.rcv_nxt {
            // Out of order: keep it (within the window) and ACK at once (dup ACK).
            let ahead = seq.wrapping_sub(self.rcv_nxt) as usize;
            if ahead + data.len() <= usize::from(self.cfg.window) && !data.is_empty() {
                self.ooo.entry(seq).or_insert_with(|| data.to_vec());
            }
            self.ack_now = true;
            return;
        }
        self.received.extend_from_slice(data);
        self.rcv_nxt = self.rcv_nxt.wrapping_add(data.len() as u32);
        let filled_hole = !self.ooo.is_empty();
        while let Some((&s, _)) = self.ooo.iter().next() {
            if lt(self.rcv_nxt, s) {
                break;
            }
            let d = self.ooo.remove(&s).unwrap_or_default();
            let skip = self.rcv_nxt.wrapping_sub(s) as usize;
            if skip < d.len() {
                self.received.extend_from_slice(&d[skip..]);
                self.rcv_nxt = self.rcv_nxt.wrapping_add((d.len() - skip) as u32);
            }
        }
        let fin_end = seg.seq.wrapping_add(len);
        if seg.has(FIN) && fin_end == self.rcv_nxt {
            self.rcv_nxt = self.rcv_nxt.wrapping_add(1);
            self.peer_fin = true;
            self.ack_now = true;
            self.state = match self.state {
                State::Established => State::CloseWait,
                State::FinWait if self.fin_sent && self.snd_una == self.snd_max => State::Closed,
                State::FinWait => State::Closing,
                s => s,
            };
            return;
        }
        self.unacked_segments += 1;
        if filled_hole || self.unacked_segments >= 2 || (data.len() as u32) < self.smss {
            self.ack_now = true;
        } else if self.ack_at.is_none() {
            self.ack_at = Some(now + self.cfg.delayed_ack);
        }
    }

    fn ack_sent(&mut self) {
        self.ack_now = false;
        self.ack_at = None;
        self.unacked_segments = 0;
    }

    /// When [`Tcb::handle_timeout`] has work.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match (self.rtx_at, self.ack_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        if self.ack_at.is_some_and(|t| t <= now) {
            self.ack_at = None;
            self.ack_now = true;
        }
        let Some(t) = self.rtx_at else {
            return;
        };
        if t > now || self.state == State::Closed {
            return;
        }
        self.timeouts += 1;
        self.retries += 1;
        if self.retries > self.cfg.max_retries {
            self.state = State::Closed;
            self.failure = Some(Failure::TimedOut);
            self.rtx_at = None;
            self.ack_at = None;
            return;
        }
        self.rto = (self.rto * 2).min(self.cfg.rto_max);
        self.rtt_probe = None;
        self.retransmits += 1;
        match self.state {
            State::SynSent => {
                let syn = self.segment(self.iss, SYN, Vec::new());
                self.out.push(syn);
            }
            State::SynReceived => {
                let synack = self.segment(self.iss, SYN | ACK, Vec::new());
                self.out.push(synack);
            }
            _ => {
                // RFC 5681: one segment's window, go back to the first unacknowledged.
                self.ssthresh = (self.flight() / 2).max(2 * self.smss);
                self.cwnd = self.smss;
                self.recover = None;
                self.dupacks = 0;
                self.snd_nxt = self.snd_una;
                // An unacknowledged FIN goes again after the data.
                self.fin_sent = false;
            }
        }
        self.rtx_at = Some(now + self.rto);
    }

    /// The segments to send now: data the windows allow, FIN, and a pending ACK.
    pub fn take_output(&mut self, now: Instant, out: &mut Vec<Segment>) {
        if self.is_established() {
            self.send_data(now);
        }
        if self.ack_now {
            // Data segments carry the ACK; an RST ends it all.
            let carried = self.out.iter().any(|s| s.has(ACK) && !s.has(SYN));
            if !carried && !self.rst_out {
                let seg = self.segment(self.snd_nxt, ACK, Vec::new());
                self.out.push(seg);
            }
            self.ack_sent();
        }
        if let Some(s) = self.out.iter().rev().find(|s| s.has(ACK)) {
            self.advertised = s.window;
        }
        out.append(&mut self.out);
    }

    fn send_data(&mut self, now: Instant) {
        loop {
            let sent = self.snd_nxt.wrapping_sub(self.snd_una) as usize;
            let window = self.snd_wnd.min(self.cwnd) as usize;
            let unsent = self.buf.len().saturating_sub(sent);
            let room = window.saturating_sub(sent);
            // Linux sends a segment only when the whole of it fits the window
            // (`tcp_snd_wnd_test`): no segment is cut to fill the window to the byte.
            let want = unsent.min(self.smss as usize);
            let len = if want <= room { want } else { 0 };
            let fin_now = self.fin_queued && !self.fin_sent && unsent == len;
            if len == 0 && !fin_now {
                // A closed peer window with data waiting: the RTO timer probes it.
                if unsent > 0 && self.rtx_at.is_none() {
                    self.rtx_at = Some(now + self.rto);
                }
                return;
            }
            let data: Vec<u8> = self.buf.range(sent..sent + len).copied().collect();
            let mut flags = ACK;
            if len > 0 && unsent == len {
                flags |= PSH;
            }
            if fin_now {
                flags |= FIN;
            }
            let seq = self.snd_nxt;
            let seg = self.segment(seq, flags, data);
            let end = seq.wrapping_add(seg.seq_len());
            if lt(seq, self.snd_max) {
                self.retransmits += 1;
            } else if self.rtt_probe.is_none() {
                self.rtt_probe = Some((end, now));
            }
            self.out.push(seg);
            self.ack_sent();
            self.snd_nxt = end;
            if lt(self.snd_max, end) {
                self.snd_max = end;
            }
            if self.rtx_at.is_none() {
                self.rtx_at = Some(now + self.rto);
            }
            if fin_now {
                self.fin_sent = true;
                self.state = match self.state {
                    State::Established => State::FinWait,
                    State::CloseWait => State::Closing,
                    s => s,
                };
                return;
            }
        }
    }
}

/// The RST a host sends for a segment that reaches no connection and no listener
/// (RFC 793, "Reset Generation"); `None` for an RST, which is never answered.
pub fn reset_for(seg: &Segment) -> Option<Segment> {
    if seg.has(RST) {
        return None;
    }
    let (seq, ack, flags) = if seg.has(ACK) {
        (seg.ack, 0, RST)
    } else {
        (0, seg.seq.wrapping_add(seg.seq_len()), RST | ACK)
    };
    Some(Segment {
        src: seg.dst,
        dst: seg.src,
        seq,
        ack,
        flags,
        window: 0,
        mss: None,
        payload: Vec::new(),
    })
}

#[cfg(test)]
mod tests;
