//! A lab segment: a userspace learning switch, one process per segment
//! (`pxelab lab switch --spec FILE`). This kernel has no netem, so the switch applies
//! the scenario's link model itself, the same one the simulator uses
//! (`pxelab_sim::link`): each port's link serialises the frames its host
//! sends at the segment's rate (egress), the switch port towards the receiver
//! serialises them again (ingress), then the one-way delay applies; `loss` drops a frame
//! per receiver, drawn from a generator seeded by the scenario's seed.
//!
//! Ports are tap devices (created by [`crate::tap`], non-persistent: they vanish
//! with this process; the harness moves each into its host's namespace) or QEMU
//! `-netdev dgram` unix datagram sockets. Every frame a host sends is written to the
//! segment's pcap at the time it starts on the wire.
//!
//! Control on stdin, one command a line: `link RATE_BPS DELAY_NS LOSS` changes the link
//! model (a scenario's `link` event). The switch prints `ready` on stdout once its
//! ports exist, then `dhcp HOST` each time a QEMU port sends a DHCP request (the
//! harness times a boot from the firmware's first DISCOVER, as the simulator does), and
//! exits when stdin closes or on SIGTERM/SIGINT.

use pxelab_sim::link::{DelayQueue, LinkModel, Port};
use pxelab_system::evloop;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

mod qemu_port;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SwitchSpec {
    pub segment: String,
    pub rate_bps: u64,
    pub delay_ns: u64,
    pub loss: f64,
    pub seed: u64,
    pub pcap: Option<CaptureSpec>,
    pub ports: Vec<PortSpec>,
}

/// The segment's pcap: where, its snap length, and the bytes it may take (its share of
/// the run's budget; none: no limit). When the share is used up the switch prints
/// `pcap-stopped` on its stdout and captures nothing more.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CaptureSpec {
    pub path: PathBuf,
    pub snaplen: u32,
    pub budget: Option<u64>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PortSpec {
    /// The host on this port (for logs).
    pub host: String,
    pub kind: PortKind,
    /// Many hosts behind this one port (the modelled clients of `pxelab lab swarm`):
    /// each source MAC gets a link of its own, as if it had its own port, instead of
    /// all of them sharing one.
    #[serde(default)]
    pub many_hosts: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum PortKind {
    /// A tap device of this name, created by the switch.
    Tap(String),
    /// A QEMU `-netdev dgram` pair: the switch binds `local` and sends to `remote`.
    Unix { local: PathBuf, remote: PathBuf },
}

/// The forwarding decision and link timing, without I/O.
pub struct SwitchCore {
    link: LinkModel,
    rng: ChaCha8Rng,
    macs: HashMap<[u8; 6], usize>,
    /// Each port's line from its host to the switch, and from the switch to its host.
    egress: Vec<Port<Duration>>,
    ingress: Vec<Port<Duration>>,
    /// Ports with many hosts behind them, and their hosts' own links by MAC.
    many: Vec<bool>,
    host_egress: HashMap<[u8; 6], Port<Duration>>,
    host_ingress: HashMap<[u8; 6], Port<Duration>>,
    pub forwarded: u64,
    pub dropped: u64,
}

/// A frame to hand to `port` at `at` (time since the switch started).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub at: Duration,
    pub port: usize,
}

impl SwitchCore {
    pub fn new(ports: usize, link: LinkModel, seed: u64) -> SwitchCore {
        SwitchCore {
            link,
            rng: ChaCha8Rng::seed_from_u64(seed),
            macs: HashMap::new(),
            egress: vec![Port::default(); ports],
            ingress: vec![Port::default(); ports],
            many: vec![false; ports],
            host_egress: HashMap::new(),
            host_ingress: HashMap::new(),
            forwarded: 0,
            dropped: 0,
        }
    }

    /// Port `port` has many hosts behind it: a link per host (source / destination MAC).
    pub fn set_many_hosts(&mut self, port: usize) {
        if let Some(m) = self.many.get_mut(port) {
            *m = true;
        }
    }

    pub fn set_link(&mut self, link: LinkModel) {
        self.link = link;
    }

    /// A frame from `from` at `now`: the time it starts on the sender's link (for the
    /// capture) and where and when it is delivered.
    pub fn frame_in(
        &mut self,
        now: Duration,
        from: usize,
        frame: &[u8],
    ) -> (Duration, Vec<Delivery>) {
        let mut out = Vec::new();
        if frame.len() < 14 || from >= self.egress.len() {
            self.dropped += 1;
            return (now, out);
        }
        let mut dst = [0u8; 6];
        dst.copy_from_slice(&frame[0..6]);
        let mut src = [0u8; 6];
        src.copy_from_slice(&frame[6..12]);
        if src[0] & 1 == 0 {
            self.macs.insert(src, from);
        }
        let tx = self.link.frame_time(frame.len());
        let egress = if self.many[from] {
            self.host_egress.entry(src).or_default()
        } else {
            &mut self.egress[from]
        };
        let start = egress.transmit(now, tx);
        let done = start + tx;
        let targets: Vec<usize> = match self.macs.get(&dst) {
            Some(&p) if dst[0] & 1 == 0 => {
                if p == from {
                    Vec::new()
                } else {
                    vec![p]
                }
            }
            _ => (0..self.egress.len()).filter(|&p| p != from).collect(),
        };
        for port in targets {
            if self.link.loss > 0.0 && self.rng.random::<f64>() < self.link.loss {
                self.dropped += 1;
                continue;
            }
            let ingress = if self.many[port] {
                // A broadcast reaches every host behind the port at once.
                self.host_ingress.entry(dst).or_default()
            } else {
                &mut self.ingress[port]
            };
            let s = ingress.transmit(done, tx);
            out.push(Delivery {
                at: s + tx + self.link.delay,
                port,
            });
            self.forwarded += 1;
        }
        (start, out)
    }
}

/// What a QEMU port's TFTP traffic shows the harness (`pxelab bench tftp`'s firmware
/// clients time their downloads with it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TftpSeen {
    /// A read request to port 69.
    Rrq,
    /// A DATA packet: its block number and TFTP length (4 + data).
    Data { block: u16, len: usize },
}

/// A TFTP read request or DATA packet in an unfragmented Ethernet II / IPv4 / UDP frame.
pub fn tftp_seen(frame: &[u8]) -> Option<TftpSeen> {
    if frame.len() < 14 + 20 + 8 + 4 || frame[12..14] != [0x08, 0x00] {
        return None;
    }
    let ip = &frame[14..];
    let ihl = usize::from(ip[0] & 0x0f) * 4;
    // Not a fragment: offset 0 and no more fragments.
    let frag = u16::from_be_bytes([ip[6], ip[7]]) & 0x3fff;
    if ip[0] >> 4 != 4 || ihl < 20 || ip[9] != 17 || frag != 0 || ip.len() < ihl + 12 {
        return None;
    }
    let udp = &ip[ihl..];
    let udp_len = usize::from(u16::from_be_bytes([udp[4], udp[5]]));
    let payload = udp.get(8..udp_len.min(udp.len()))?;
    let dst_port = u16::from_be_bytes([udp[2], udp[3]]);
    match (payload.first(), payload.get(1)) {
        (Some(0), Some(1)) if dst_port == 69 => Some(TftpSeen::Rrq),
        (Some(0), Some(3)) if payload.len() >= 4 => Some(TftpSeen::Data {
            block: u16::from_be_bytes([payload[2], payload[3]]),
            len: payload.len(),
        }),
        _ => None,
    }
}

/// A BOOTREQUEST to UDP port 67 in an Ethernet II / IPv4 frame, or a DHCPv6 client
/// message (UDP 546 to 547, no extension headers) in an IPv6 one.
pub fn is_dhcp_request(frame: &[u8]) -> bool {
    if frame.len() > 14 + 40 + 8 && frame[12..14] == [0x86, 0xdd] {
        let ip6 = &frame[14..];
        let udp = &ip6[40..];
        return ip6[0] >> 4 == 6
            && ip6[6] == 17
            && u16::from_be_bytes([udp[0], udp[1]]) == 546
            && u16::from_be_bytes([udp[2], udp[3]]) == 547;
    }
    if frame.len() < 14 + 20 + 8 + 1 || frame[12..14] != [0x08, 0x00] {
        return false;
    }
    let ip = &frame[14..];
    let ihl = usize::from(ip[0] & 0x0f) * 4;
    if ip[0] >> 4 != 4 || ihl < 20 || ip[9] != 17 || ip.len() < ihl + 9 {
        return false;
    }
    let udp = &ip[ihl..];
    u16::from_be_bytes([udp[2], udp[3]]) == 67 && udp[8] == 1
}

/// A port: a tap device or a QEMU unix datagram socket, both non-blocking.
enum Io {
    Tap(pxelab_system::tap::Tap),
    Unix(qemu_port::QemuPort),
}

impl Io {
    /// The descriptor to poll for frames in.
    fn fd(&self) -> std::os::fd::RawFd {
        use std::os::fd::AsRawFd;
        match self {
            Io::Tap(t) => t.as_raw_fd(),
            Io::Unix(p) => p.rx_fd(),
        }
    }
    /// The descriptor to poll for room for frames out (-1, ignored by poll, if none).
    fn out_fd(&self) -> std::os::fd::RawFd {
        match self {
            Io::Tap(_) => self.fd(),
            Io::Unix(p) => p.tx_fd().unwrap_or(-1),
        }
    }
    fn recv(&self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Io::Tap(t) => t.recv(buf),
            Io::Unix(p) => p.recv(buf),
        }
    }
    /// Non-blocking; `WouldBlock` when the receiver's queue is full (a QEMU unix socket
    /// holds only `net.unix.max_dgram_qlen` datagrams, 10 by default).
    fn try_send(&mut self, frame: &[u8]) -> std::io::Result<()> {
        match self {
            Io::Tap(t) => t.send(frame),
            Io::Unix(p) => p.try_send(frame),
        }
    }
}

/// A port's output queue: frames its receiver could not take yet, sent in order when
/// its descriptor is writable again (a real switch port's buffer). A QEMU guest that
/// polls its NIC now and then leaves the socket full for a while; a burst of fragments
/// (a TFTP window of 8 KiB blocks is 24 frames) must wait, not vanish.
#[derive(Default)]
struct OutQueue {
    frames: std::collections::VecDeque<std::sync::Arc<Vec<u8>>>,
    dropped: u64,
}

impl OutQueue {
    /// At most this many frames wait; more are dropped, as by a full port buffer.
    const CAP: usize = 4096;

    fn send(&mut self, io: &mut Io, frame: std::sync::Arc<Vec<u8>>) {
        if self.frames.is_empty() {
            match io.try_send(&frame) {
                Ok(()) => return,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) => {
                    tracing::debug!("send: {e}");
                    return;
                }
            }
        }
        if self.frames.len() >= Self::CAP {
            self.dropped += 1;
        } else {
            self.frames.push_back(frame);
        }
    }

    /// Sends what waits until the receiver is full again.
    fn flush(&mut self, io: &mut Io) {
        while let Some(f) = self.frames.front() {
            match io.try_send(f) {
                Ok(()) => {
                    self.frames.pop_front();
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
                Err(e) => {
                    tracing::debug!("send: {e}");
                    self.frames.pop_front();
                }
            }
        }
    }
}

/// Runs the switch until stdin closes or SIGTERM/SIGINT arrives.
///
/// One thread, one `ppoll` over the ports and stdin whose timeout is the next
/// delivery: a frame goes from a port's queue through the link model to its receiver
/// without a thread hop, and the thread's timer slack is 1 ns (PR_SET_TIMERSLACK), so a
/// delivery is late by the kernel's wake-up latency only. (A runtime's timers that
/// tick in milliseconds made a 1 ms one-way delay 1 to 2 ms.) SIGTERM and SIGINT
/// are blocked except inside `ppoll`, so one that arrives is never missed.
pub fn run(spec: SwitchSpec) -> Result<(), String> {
    let mut ios = Vec::new();
    for p in &spec.ports {
        match &p.kind {
            PortKind::Tap(name) => {
                ios.push(Io::Tap(
                    pxelab_system::tap::Tap::create(name)
                        .map_err(|e| format!("tap {name}: {e}"))?,
                ));
            }
            PortKind::Unix { local, remote } => {
                let _ = std::fs::remove_file(local);
                let s = std::os::unix::net::UnixDatagram::bind(local)
                    .map_err(|e| format!("{}: {e}", local.display()))?;
                s.set_nonblocking(true).map_err(|e| e.to_string())?;
                ios.push(Io::Unix(qemu_port::QemuPort::new(s, remote.clone())));
            }
        }
    }
    let mut capture = match &spec.pcap {
        Some(c) => {
            let opts = pxelab_sim::pcap::CaptureOptions {
                snaplen: c.snaplen,
                budget: c
                    .budget
                    .map(|b| std::sync::Arc::new(pxelab_sim::pcap::Budget::new(b))),
            };
            Some(pxelab_sim::pcap::PcapFile::create(&c.path, &opts)?)
        }
        None => None,
    };
    // Frames are stamped with the time since the epoch at which the switch started, plus
    // the time each started on the sender's link.
    let epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let link = LinkModel {
        rate_bps: spec.rate_bps,
        delay: Duration::from_nanos(spec.delay_ns),
        loss: spec.loss,
    };
    let mut core = SwitchCore::new(ios.len(), link, spec.seed);
    for (i, p) in spec.ports.iter().enumerate() {
        if p.many_hosts {
            core.set_many_hosts(i);
        }
    }
    // SIGTERM and SIGINT are seen by the loop's ppoll only; 1 ns timer slack.
    let signals = evloop::Signals::catch(&[libc::SIGTERM, libc::SIGINT]);
    let _ = evloop::stdin_nonblocking();
    println!("ready");
    use std::io::Write;
    let _ = std::io::stdout().flush();

    let t0 = std::time::Instant::now();
    // Frames in flight: (port, frame), earliest first.
    let mut heap: DelayQueue<Duration, (usize, std::sync::Arc<Vec<u8>>)> = DelayQueue::new();
    let mut queues: Vec<OutQueue> = ios.iter().map(|_| OutQueue::default()).collect();
    let mut buf = vec![0u8; 65536];
    let mut line = Vec::new();
    let mut fds: Vec<libc::pollfd> = ios.iter().map(|io| evloop::readable(io.fd())).collect();
    fds.push(evloop::readable(0));
    // Then one entry a port for room to send its waiting frames (`fd` -1 while none
    // wait): a QEMU port's is its connected send socket (`qemu_port`).
    let out0 = fds.len();
    fds.extend(ios.iter().map(|_| libc::pollfd {
        fd: -1,
        events: libc::POLLOUT,
        revents: 0,
    }));
    let mut stdin_open = true;
    let mut last_data_len = vec![0usize; ios.len()];
    while !signals.caught(libc::SIGTERM) && !signals.caught(libc::SIGINT) && stdin_open {
        let timeout = heap.peek_time().map(|at| at.saturating_sub(t0.elapsed()));
        for (i, q) in queues.iter().enumerate() {
            fds[out0 + i].fd = if q.frames.is_empty() {
                -1
            } else {
                ios[i].out_fd()
            };
        }
        let n = evloop::poll(&mut fds, timeout, &signals).map_err(|e| format!("poll: {e}"))?;
        if n > 0 {
            for i in 0..ios.len() {
                if fds[out0 + i].revents != 0 {
                    queues[i].flush(&mut ios[i]);
                }
                if fds[i].revents & (libc::POLLIN | libc::POLLERR | libc::POLLHUP) == 0 {
                    continue;
                }
                // Everything queued on this port, each frame through the link model.
                loop {
                    let len = match ios[i].recv(&mut buf) {
                        Ok(len) => len,
                        Err(e) => {
                            if e.kind() != std::io::ErrorKind::WouldBlock {
                                tracing::debug!("port {i}: {e}");
                            }
                            break;
                        }
                    };
                    let frame = &buf[..len];
                    let now = t0.elapsed();
                    if matches!(spec.ports[i].kind, PortKind::Unix { .. }) && is_dhcp_request(frame)
                    {
                        println!("dhcp {}", spec.ports[i].host);
                        let _ = std::io::stdout().flush();
                    }
                    let (start, deliveries) = core.frame_in(now, i, frame);
                    if let Some(c) = &mut capture {
                        if !c.write(epoch + start, frame) {
                            if c.stopped {
                                println!("pcap-stopped");
                                let _ = std::io::stdout().flush();
                            } else if let Some(e) = &c.error {
                                eprintln!("pcap {}: {e}; capture stopped", c.path().display());
                            }
                            capture = None;
                        }
                    }
                    // A QEMU port's TFTP downloads: its read requests, and the DATA it
                    // is sent whenever the length changes (the first block, the short
                    // last one), with the switch's times in nanoseconds.
                    match tftp_seen(frame) {
                        Some(TftpSeen::Rrq)
                            if matches!(spec.ports[i].kind, PortKind::Unix { .. }) =>
                        {
                            last_data_len[i] = 0;
                            println!("tftp {} rrq {}", spec.ports[i].host, start.as_nanos());
                            let _ = std::io::stdout().flush();
                        }
                        Some(TftpSeen::Data { block, len }) => {
                            for d in &deliveries {
                                if matches!(spec.ports[d.port].kind, PortKind::Unix { .. })
                                    && last_data_len[d.port] != len
                                {
                                    last_data_len[d.port] = len;
                                    println!(
                                        "tftp {} data {block} {len} {}",
                                        spec.ports[d.port].host,
                                        d.at.as_nanos()
                                    );
                                    let _ = std::io::stdout().flush();
                                }
                            }
                        }
                        _ => {}
                    }
                    if deliveries.is_empty() {
                        continue;
                    }
                    let frame = std::sync::Arc::new(frame.to_vec());
                    for d in deliveries {
                        heap.push(d.at, (d.port, frame.clone()));
                    }
                }
            }
            if fds[ios.len()].revents != 0 {
                loop {
                    let r = match evloop::read_stdin(&mut buf) {
                        Ok(0) => {
                            stdin_open = false;
                            break;
                        }
                        Ok(r) => r,
                        Err(e) => {
                            if e.kind() != std::io::ErrorKind::WouldBlock
                                && e.kind() != std::io::ErrorKind::Interrupted
                            {
                                stdin_open = false;
                            }
                            break;
                        }
                    };
                    line.extend_from_slice(&buf[..r]);
                    while let Some(nl) = line.iter().position(|b| *b == b'\n') {
                        let l: Vec<u8> = line.drain(..=nl).collect();
                        let l = String::from_utf8_lossy(&l);
                        match parse_link(l.trim()) {
                            Ok(link) => core.set_link(link),
                            Err(e) => eprintln!("switch {}: {e}", spec.segment),
                        }
                    }
                }
            }
        }
        let now = t0.elapsed();
        while let Some((_, (port, frame))) = heap.pop_due(now) {
            queues[port].send(&mut ios[port], frame);
        }
    }
    let dropped: u64 = queues.iter().map(|q| q.dropped).sum();
    if dropped > 0 {
        tracing::warn!(
            "switch {}: {dropped} frames dropped on full port queues",
            spec.segment
        );
    }
    if let Some(c) = &mut capture {
        c.finish();
    }
    Ok(())
}

/// `link RATE_BPS DELAY_NS LOSS`
pub fn parse_link(line: &str) -> Result<LinkModel, String> {
    let f: Vec<&str> = line.split_whitespace().collect();
    match f.as_slice() {
        ["link", r, d, l] => Ok(LinkModel {
            rate_bps: r.parse().map_err(|_| format!("bad rate `{r}`"))?,
            delay: Duration::from_nanos(d.parse().map_err(|_| format!("bad delay `{d}`"))?),
            loss: l.parse().map_err(|_| format!("bad loss `{l}`"))?,
        }),
        _ => Err(format!("unknown command `{line}`")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(dst: [u8; 6], src: [u8; 6], len: usize) -> Vec<u8> {
        let mut f = vec![0u8; len];
        f[0..6].copy_from_slice(&dst);
        f[6..12].copy_from_slice(&src);
        f
    }
    const A: [u8; 6] = [2, 0, 0, 0, 0, 1];
    const B: [u8; 6] = [2, 0, 0, 0, 0, 2];
    const BC: [u8; 6] = [0xff; 6];

    fn gig() -> LinkModel {
        LinkModel {
            rate_bps: 1_000_000_000,
            delay: Duration::ZERO,
            loss: 0.0,
        }
    }

    #[test]
    fn floods_unknown_then_learns() {
        let mut s = SwitchCore::new(3, gig(), 0);
        let (_, d) = s.frame_in(Duration::ZERO, 0, &frame(B, A, 100));
        assert_eq!(d.iter().map(|d| d.port).collect::<Vec<_>>(), vec![1, 2]);
        let (_, d) = s.frame_in(Duration::ZERO, 1, &frame(A, B, 100));
        assert_eq!(d.iter().map(|d| d.port).collect::<Vec<_>>(), vec![0]);
        let (_, d) = s.frame_in(Duration::ZERO, 0, &frame(B, A, 100));
        assert_eq!(d.iter().map(|d| d.port).collect::<Vec<_>>(), vec![1]);
        let (_, d) = s.frame_in(Duration::ZERO, 0, &frame(BC, A, 100));
        assert_eq!(d.len(), 2, "broadcast goes to every other port");
        let (_, d) = s.frame_in(Duration::ZERO, 0, &frame(A, A, 100));
        assert!(
            d.is_empty(),
            "a frame to the sender's own port is not sent back"
        );
    }

    #[test]
    fn rate_and_delay_follow_the_simulators_model() {
        let link = LinkModel {
            rate_bps: 10_000_000,
            delay: Duration::from_millis(20),
            loss: 0.0,
        };
        let mut s = SwitchCore::new(2, link, 0);
        let tx = link.frame_time(1514);
        // 1514 + 24 bytes at 10 Mbit/s = 1230.4 us.
        assert_eq!(tx, Duration::from_nanos(1_230_400));
        let (start0, d0) = s.frame_in(Duration::ZERO, 0, &frame(BC, A, 1514));
        let (start1, d1) = s.frame_in(Duration::ZERO, 0, &frame(BC, A, 1514));
        assert_eq!(start0, Duration::ZERO);
        assert_eq!(
            start1, tx,
            "the second frame waits for the first on the link"
        );
        assert_eq!(d0[0].at, tx * 2 + link.delay);
        assert_eq!(d1[0].at, tx * 3 + link.delay);
    }

    #[test]
    fn loss_is_seeded_and_near_its_ratio() {
        let link = LinkModel {
            rate_bps: 1_000_000_000,
            delay: Duration::ZERO,
            loss: 0.1,
        };
        let run = |seed| {
            let mut s = SwitchCore::new(2, link, seed);
            (0..10_000)
                .map(|i| {
                    let t = Duration::from_micros(i * 100);
                    s.frame_in(t, 0, &frame(BC, A, 100)).1.len()
                })
                .collect::<Vec<_>>()
        };
        let a = run(7);
        assert_eq!(a, run(7), "same seed, same drops");
        assert_ne!(a, run(8));
        let lost = a.iter().filter(|&&n| n == 0).count();
        assert!((800..1200).contains(&lost), "lost {lost} of 10000 at 10%");
    }

    #[test]
    fn dhcp_requests_are_recognised() {
        let frame = |dport: u16, op: u8| {
            let mut f = Vec::new();
            etherparse::PacketBuilder::ethernet2(A, BC)
                .ipv4([0, 0, 0, 0], [255, 255, 255, 255], 64)
                .udp(68, dport)
                .write(&mut f, &[op; 300])
                .unwrap();
            f
        };
        assert!(is_dhcp_request(&frame(67, 1)));
        assert!(!is_dhcp_request(&frame(67, 2)), "a reply");
        assert!(!is_dhcp_request(&frame(69, 1)), "TFTP");
        assert!(!is_dhcp_request(&[0u8; 20]));
        let frame6 = |sport: u16, dport: u16| {
            let mut f = Vec::new();
            etherparse::PacketBuilder::ethernet2(A, BC)
                .ipv6([0xfe; 16], [0xff; 16], 1)
                .udp(sport, dport)
                .write(&mut f, &[1u8; 60])
                .unwrap();
            f
        };
        assert!(is_dhcp_request(&frame6(546, 547)), "a Solicit");
        assert!(!is_dhcp_request(&frame6(547, 546)), "an Advertise");
        assert!(!is_dhcp_request(&frame6(547, 547)), "a relay's message");
    }

    #[test]
    fn runt_frames_are_dropped() {
        let mut s = SwitchCore::new(2, gig(), 0);
        assert!(s.frame_in(Duration::ZERO, 0, &[1, 2, 3]).1.is_empty());
        assert_eq!(s.dropped, 1);
    }

    #[test]
    fn a_full_receiver_gets_its_frames_later_in_order_not_never() {
        let dir = std::env::temp_dir().join(format!("pxelab-outq-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (a, b) = (dir.join("a"), dir.join("b"));
        let _ = (std::fs::remove_file(&a), std::fs::remove_file(&b));
        let rx = std::os::unix::net::UnixDatagram::bind(&b).unwrap();
        let tx = std::os::unix::net::UnixDatagram::bind(&a).unwrap();
        tx.set_nonblocking(true).unwrap();
        let mut io = Io::Unix(qemu_port::QemuPort::new(tx, b.clone()));
        let mut q = OutQueue::default();
        // More frames than a unix datagram socket queues (max_dgram_qlen, 10 here).
        for i in 0..40u8 {
            q.send(&mut io, std::sync::Arc::new(vec![i; 100]));
        }
        assert!(!q.frames.is_empty(), "the receiver was full: frames wait");
        let mut got = Vec::new();
        let mut buf = [0u8; 200];
        rx.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        while got.len() < 40 {
            let n = rx.recv(&mut buf).unwrap();
            got.push(buf[..n][0]);
            q.flush(&mut io);
        }
        assert_eq!(got, (0..40u8).collect::<Vec<_>>());
        assert_eq!(q.dropped, 0);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn link_command_parses() {
        let l = parse_link("link 10000000 50000000 0.01").unwrap();
        assert_eq!(l.rate_bps, 10_000_000);
        assert_eq!(l.delay, Duration::from_millis(50));
        assert!(parse_link("link x 1 1").is_err());
        assert!(parse_link("bogus").is_err());
    }
}
