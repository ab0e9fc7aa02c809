//! `pxelab serve`: the responder as a real daemon. It only drives the engine: sockets,
//! a clock and signals in; the engine's datagrams out, its log lines to `tracing`.
//!
//! Sockets: UDP 67 (unless `listen_dhcp_port: false`), 4011, 69 and the peer port, each
//! bound to `0.0.0.0` on the given interface (SO_BINDTODEVICE) with SO_BROADCAST, so that
//! broadcast DISCOVERs arrive and proxy offers can be broadcast to clients that have no
//! address yet. A TFTP transfer's port (its TID, drawn by the engine at random from
//! `--tftp-ports`) gets a socket of its own for as long as the transfer runs, bound
//! without SO_REUSEADDR so that no other socket shares it; when another process holds
//! the port, the engine moves the transfer to another (or drops it with an error to the
//! client): a transfer never runs without its socket. One thread, one `ppoll` (see
//! [`run`]): the engine is not shared.
//!
//! With `address6`, DHCPv6 PXE as well (R-V6, [`crate::serve6`]: 547 and 4011 over IPv6,
//! ff02::1:2 joined, the link-layer source from a packet socket); with `http`, the HTTP
//! boot server on both families ([`crate::serve_http`]), in the same loop.

use crate::reply6::{recv6, ReplySources};
use crate::root::FsRoot;
use crate::serve6::{send6, LinkSources};
use crate::serve_http::HttpServer;
use crate::store::SqliteStore;
use pxelab_engine::dhcp6;
use pxelab_engine::election::PEER_PORT;
use pxelab_engine::exclusion::parse_exclusion_list;
use pxelab_engine::http::HttpLimits;
use pxelab_engine::policy::{ResponderConfig, Site};
use pxelab_engine::responder::{Effect, Output, Responder, TransferPorts, Transmit, TFTP_PORT};
use pxelab_engine::Instant;
use pxelab_system::evloop::{self, Signals};
use socket2::{Domain, Protocol, Socket, Type};
use std::collections::HashSet;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6, UdpSocket};
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

pub struct ServeOptions {
    pub config: ResponderConfig,
    pub site: Site,
    /// Bind to this interface only (SO_BINDTODEVICE); all interfaces when `None`.
    pub interface: Option<String>,
    /// The boot root (TFTP files).
    pub root: PathBuf,
    /// The site's state database, shared by the site's responders.
    pub state: PathBuf,
    /// Reloaded on change and on SIGHUP (R-EX-3).
    pub exclusion_file: Option<PathBuf>,
    pub seed: u64,
    /// The TFTP transfer ports (TIDs), drawn at random.
    pub tftp_ports: TransferPorts,
    /// Bytes the read-ahead windows of all open files may hold together.
    pub read_ahead_budget: usize,
    /// HTTP connections open at once (R-HTTP-3); one more gets 503.
    pub http_max_connections: usize,
}

/// 64 bits from the operating system (getrandom(2)), for what must not be guessed.
fn os_random() -> u64 {
    let mut b = [0u8; 8];
    // SAFETY: getrandom writes at most b.len() bytes into b.
    let n = unsafe { libc::getrandom(b.as_mut_ptr().cast(), b.len(), 0) };
    if n != b.len() as isize {
        // Not expected on Linux 3.17+; the clock is a poor but working fallback.
        let t = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default();
        return t.as_nanos() as u64 ^ u64::from(std::process::id()).rotate_left(32);
    }
    u64::from_ne_bytes(b)
}

/// A UDP socket on `port` of every address (of `iface` only when given). `shared`: with
/// SO_REUSEADDR (the well-known ports); a transfer port is the transfer's alone.
fn bind(port: u16, iface: Option<&str>, shared: bool) -> std::io::Result<UdpSocket> {
    let s = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
    s.set_reuse_address(shared)?;
    s.set_broadcast(true)?;
    if let Some(i) = iface {
        s.bind_device(Some(i.as_bytes()))?;
    }
    s.set_nonblocking(true)?;
    s.bind(&SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, port).into())?;
    Ok(s.into())
}

/// A UDP socket's local port and family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Local {
    port: u16,
    v6: bool,
}

impl Local {
    fn v4(port: u16) -> Local {
        Local { port, v6: false }
    }
    fn v6(port: u16) -> Local {
        Local { port, v6: true }
    }
}

/// The responder's sockets, both families: the well-known ports and one per running
/// TFTP transfer (R-V6-5: over the client's family), with the `pollfd`s that watch them
/// (same order).
struct Ports {
    sockets: Vec<(Local, UdpSocket)>,
    fds: Vec<libc::pollfd>,
}

impl Ports {
    fn get(&self, l: Local) -> Option<&UdpSocket> {
        self.sockets.iter().find(|(p, _)| *p == l).map(|(_, s)| s)
    }

    fn add(&mut self, l: Local, s: UdpSocket) {
        self.fds.push(evloop::readable(s.as_raw_fd()));
        self.sockets.push((l, s));
    }

    fn open(&mut self, l: Local, iface: Option<&str>, shared: bool) -> std::io::Result<()> {
        let s = if l.v6 {
            crate::serve6::bind6(l.port, iface, shared)?
        } else {
            bind(l.port, iface, shared)?
        };
        self.add(l, s);
        Ok(())
    }

    /// Closes the sockets on `port` (of either family: a transfer has one).
    fn close(&mut self, port: u16) {
        while let Some(i) = self.sockets.iter().position(|(p, _)| p.port == port) {
            self.sockets.swap_remove(i);
            self.fds.swap_remove(i);
        }
    }
}

/// Sends `batch` (datagrams from one port) with as few system calls as the kernel
/// allows: a TFTP window goes out in one `sendmmsg`.
fn send_batch(socket: &UdpSocket, batch: &[Transmit]) -> std::io::Result<()> {
    if let [one] = batch {
        socket.send_to(&one.payload, SocketAddr::V4(one.dst))?;
        return Ok(());
    }
    let addrs: Vec<libc::sockaddr_in> = batch
        .iter()
        .map(|t| libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: t.dst.port().to_be(),
            sin_addr: libc::in_addr {
                s_addr: u32::from(*t.dst.ip()).to_be(),
            },
            sin_zero: [0; 8],
        })
        .collect();
    let mut iovs: Vec<libc::iovec> = batch
        .iter()
        .map(|t| libc::iovec {
            iov_base: t.payload.as_ptr() as *mut libc::c_void,
            iov_len: t.payload.len(),
        })
        .collect();
    // SAFETY: mmsghdr is plain data; zeroed is a valid empty header.
    let mut msgs: Vec<libc::mmsghdr> = (0..batch.len())
        .map(|_| unsafe { std::mem::zeroed::<libc::mmsghdr>() })
        .collect();
    for (i, m) in msgs.iter_mut().enumerate() {
        m.msg_hdr.msg_name = &addrs[i] as *const libc::sockaddr_in as *mut libc::c_void;
        m.msg_hdr.msg_namelen = size_of::<libc::sockaddr_in>() as libc::socklen_t;
        m.msg_hdr.msg_iov = &mut iovs[i];
        m.msg_hdr.msg_iovlen = 1;
    }
    let mut sent = 0;
    while sent < msgs.len() {
        // SAFETY: every header points into addrs and iovs (and the payloads they point
        // to), which outlive the call; the count matches the slice.
        let n = unsafe {
            libc::sendmmsg(
                socket.as_raw_fd(),
                msgs[sent..].as_mut_ptr(),
                (msgs.len() - sent) as libc::c_uint,
                0,
            )
        };
        if n < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        sent += n as usize;
    }
    Ok(())
}

/// At most [`LogLimiter::PER_SECOND`] log lines a second; a hostile flood of packets
/// must not become a flood of log lines. What was dropped is counted and reported.
#[derive(Default)]
pub struct LogLimiter {
    window: Option<std::time::Instant>,
    count: u32,
    suppressed: u64,
}

impl LogLimiter {
    pub const PER_SECOND: u32 = 200;

    pub fn allow(&mut self, now: std::time::Instant) -> bool {
        match self.window {
            Some(w) if now.duration_since(w) < Duration::from_secs(1) => {}
            _ => {
                self.window = Some(now);
                self.count = 0;
            }
        }
        self.count += 1;
        if self.count > Self::PER_SECOND {
            self.suppressed += 1;
            false
        } else {
            true
        }
    }

    /// The number suppressed, once their second is over.
    pub fn take_suppressed(&mut self, now: std::time::Instant) -> Option<u64> {
        let over = self
            .window
            .is_none_or(|w| now.duration_since(w) >= Duration::from_secs(1));
        if over && self.suppressed > 0 {
            Some(std::mem::take(&mut self.suppressed))
        } else {
            None
        }
    }
}

fn mtime(p: &PathBuf) -> Option<SystemTime> {
    std::fs::metadata(p).and_then(|m| m.modified()).ok()
}

/// Run until SIGINT or SIGTERM.
///
/// One thread, one `ppoll` over the sockets whose timeout is the engine's next timer:
/// a datagram goes from its socket to the engine and the engine's answers back out
/// without a thread or task hop, and a TFTP window leaves in one `sendmmsg`.
pub fn run(opts: ServeOptions) -> Result<(), String> {
    let name = opts.config.name.clone();
    let address = opts.config.address;
    let iface = opts.interface.as_deref();
    let start = std::time::Instant::now();
    let now = move || Instant::from_nanos(start.elapsed().as_nanos() as u64);

    let store = SqliteStore::open(&opts.state).map_err(|e| format!("state database: {e}"))?;
    let root = FsRoot::with_budget(&opts.root, opts.read_ahead_budget)
        .map_err(|e| format!("boot root {}: {e}", opts.root.display()))?;
    let mut config = opts.config.clone();
    let mut excl_mtime = None;
    if let Some(f) = &opts.exclusion_file {
        // R-EX-1: a bad file at start is an error: the responder refuses to start.
        let text = std::fs::read_to_string(f).map_err(|e| format!("{}: {e}", f.display()))?;
        config.mac_exclusions = parse_exclusion_list(&text)
            .map_err(|e| format!("{}:{}: {}", f.display(), e.line, e.message))?;
        excl_mtime = mtime(f);
    }
    let listen_dhcp = config.listen_dhcp_port;
    let address6 = config.address6;
    let http_port = config.http.map(|h| h.port);
    let mut responder = Responder::new(
        now(),
        config,
        Arc::new(opts.site),
        Box::new(store),
        Arc::new(root),
        opts.seed,
    );
    responder.set_transfer_ports(opts.tftp_ports, os_random());

    let mut listening: Vec<u16> = vec![4011, 69, PEER_PORT];
    if listen_dhcp {
        listening.push(67);
    }
    let mut ports = Ports {
        sockets: Vec::new(),
        fds: Vec::new(),
    };
    for p in &listening {
        ports
            .open(Local::v4(*p), iface, true)
            .map_err(|e| format!("cannot bind UDP port {p}: {e}"))?;
    }
    // R-V6: DHCPv6 on 547 (as DHCPv4 on 67, unless `listen_dhcp_port: false`) and 4011,
    // with ff02::1:2 joined; TFTP on 69 (R-V6-5).
    let listening6: Vec<u16> = match address6 {
        Some(_) if listen_dhcp => vec![dhcp6::SERVER_PORT, dhcp6::PXE_PORT, TFTP_PORT],
        Some(_) => vec![dhcp6::PXE_PORT, TFTP_PORT],
        None => Vec::new(),
    };
    for &p in &listening6 {
        let s = if p == TFTP_PORT {
            crate::serve6::bind6(p, iface, true)
        } else {
            crate::serve6::bind_dhcp6(p, iface)
        };
        ports.add(
            Local::v6(p),
            s.map_err(|e| format!("cannot bind UDP port {p} over IPv6: {e}"))?,
        );
    }
    // The ports that stay open whatever the transfers do.
    let well_known: Vec<u16> = listening.iter().chain(&listening6).copied().collect();
    let mut links = None;
    if address6.is_some() {
        let (l, err) = LinkSources::open(iface);
        if let Some(e) = err {
            tracing::warn!(responder = %name, "no packet socket for the clients' link-layer addresses ({e}): only EUI-64 link-local sources give one (R-V6-2)");
        }
        links = Some(l);
    }
    let mut http = match http_port {
        Some(p) => Some(
            HttpServer::open(
                p,
                iface,
                address6.is_some(),
                HttpLimits::default(),
                opts.http_max_connections,
            )
            .map_err(|e| format!("cannot listen on TCP port {p}: {e}"))?,
        ),
        None => None,
    };
    // SIGUSR1 arms a crash just before the next TFTP DATA packet of any transfer: the
    // format's `down ... during: transfer`, as the lab plays it (docs/LAB.md).
    let signals = Signals::catch(&[libc::SIGHUP, libc::SIGTERM, libc::SIGINT, libc::SIGUSR1]);
    tracing::info!(
        responder = %name,
        %address,
        interface = iface.unwrap_or("(all)"),
        ports = ?listening,
        address6 = ?address6,
        ports6 = ?listening6,
        http = ?http.as_ref().map(|h| h.local_addrs()),
        tftp_transfer_ports = %opts.tftp_ports,
        read_ahead_budget = opts.read_ahead_budget,
        "PXE responder started"
    );

    const FILE_POLL: Duration = Duration::from_secs(2);
    const SPIN: Duration = Duration::from_micros(50);
    const FAST: Duration = Duration::from_micros(200);
    let mut next_file_poll = std::time::Instant::now() + FILE_POLL;
    let mut out = Output::default();
    let mut buf = vec![0u8; 65536];
    let mut answers_fast = false;
    let (mut spin_misses, mut loops) = (0u32, 0u32);
    let mut ctx = Ctx {
        name: &name,
        iface,
        listening: &well_known,
        crash_before_data: false,
        last_send: std::time::Instant::now(),
        active: HashSet::new(),
        limiter: LogLimiter::default(),
        reply_from6: ReplySources::default(),
    };

    // What one ppoll watches: the UDP ports (both families), then HTTP.
    let mut fds: Vec<libc::pollfd> = Vec::new();
    while !signals.caught(libc::SIGTERM) && !signals.caught(libc::SIGINT) {
        let wall = std::time::Instant::now();
        let mut timeout = next_file_poll.saturating_duration_since(wall);
        let http_deadline = http.as_ref().and_then(|h| h.poll_timeout());
        for d in [responder.poll_timeout(), http_deadline]
            .into_iter()
            .flatten()
        {
            let at = start + Duration::from_nanos(d.as_nanos());
            timeout = timeout.min(at.saturating_duration_since(wall));
        }
        fds.clear();
        fds.extend_from_slice(&ports.fds);
        let n_udp = fds.len();
        if let Some(h) = &http {
            h.poll_fds(&mut fds);
        }
        // While transfers run on a fast link, the next ACK is a few microseconds away:
        // look for it without sleeping for up to SPIN first, so that a window-1 transfer
        // does not pay a scheduler wake-up per block (on this machine's veth that nearly
        // halved the time per block). Only while the last answer came within FAST of our
        // last send, and while spinning finds something: spins that come back empty
        // (a slower link, or a CPU shared with the client) stop it until a later probe.
        let mut ready = 0;
        loops = loops.wrapping_add(1);
        if loops % 512 == 0 {
            spin_misses = 0;
        }
        if !ctx.active.is_empty() && answers_fast && spin_misses < 4 {
            let spin_until = std::time::Instant::now() + SPIN;
            while ready == 0 && std::time::Instant::now() < spin_until {
                ready = evloop::poll(&mut fds, Some(Duration::ZERO), &signals)
                    .map_err(|e| format!("poll: {e}"))?;
            }
            spin_misses = if ready == 0 { spin_misses + 1 } else { 0 };
        }
        if ready == 0 {
            ready = evloop::poll(&mut fds, Some(timeout), &signals)
                .map_err(|e| format!("poll: {e}"))?;
        }
        for (mine, polled) in ports.fds.iter_mut().zip(&fds[..n_udp]) {
            mine.revents = polled.revents;
        }
        if signals.take(libc::SIGUSR1) {
            tracing::info!(responder = %name, "armed: going down before the next TFTP data packet");
            ctx.crash_before_data = true;
        }
        let mut reload = signals.take(libc::SIGHUP);
        if std::time::Instant::now() >= next_file_poll {
            next_file_poll = std::time::Instant::now() + FILE_POLL;
            let m = opts.exclusion_file.as_ref().and_then(mtime);
            reload |= m.is_some() && m != excl_mtime;
        }
        if reload {
            if let Some(f) = &opts.exclusion_file {
                excl_mtime = mtime(f);
                // R-EX-3 / R-EX-1: a bad file keeps the previous list.
                match std::fs::read_to_string(f)
                    .map_err(|e| e.to_string())
                    .and_then(|t| {
                        parse_exclusion_list(&t)
                            .map_err(|e| format!("line {}: {}", e.line, e.message))
                    }) {
                    Ok(list) => {
                        tracing::info!(responder = %name, "reloaded MAC exclusion list {} ({} entries)", f.display(), list.len());
                        responder.set_exclusions(list);
                    }
                    Err(e) => tracing::warn!(
                        responder = %name,
                        "MAC exclusion list not reloaded, keeping the previous one: {}: {e}",
                        f.display()
                    ),
                }
            }
        }
        if responder.poll_timeout().is_some_and(|d| d <= now()) {
            out.clear();
            responder.handle_timeout(now(), &mut out);
            ctx.dispatch(&mut out, &mut ports, &mut responder);
        }
        if let Some(h) = &mut http {
            if h.poll_timeout().is_some_and(|d| d <= now()) {
                out.clear();
                h.handle_timeout(now(), &mut out);
                ctx.dispatch(&mut out, &mut ports, &mut responder);
            }
        }
        if ready == 0 {
            continue;
        }
        if let Some(h) = &mut http {
            out.clear();
            h.handle_ready(now(), &fds[n_udp..], &mut responder, &mut out);
            ctx.dispatch(&mut out, &mut ports, &mut responder);
        }
        // Each ready socket: what it holds, a bounded number at a time so that one busy
        // transfer cannot starve the others. (Indices are taken before dispatching: a
        // dispatch may open and close transfer ports.)
        let ready_ports: Vec<Local> = ports
            .fds
            .iter()
            .zip(&ports.sockets)
            .filter(|(f, _)| f.revents != 0)
            .map(|(_, (p, _))| *p)
            .collect();
        if ready_ports.iter().any(|p| ctx.active.contains(&p.port)) {
            answers_fast = ctx.last_send.elapsed() < FAST;
        }
        for port in ready_ports {
            for _ in 0..64 {
                let Some(socket) = ports.get(port) else {
                    break;
                };
                // Over IPv6, also the address the datagram came to.
                let got = if port.v6 {
                    recv6(socket, &mut buf).map(|(n, src, to)| (n, SocketAddr::V6(src), to))
                } else {
                    socket.recv_from(&mut buf).map(|(n, src)| (n, src, None))
                };
                let (n, src, to) = match got {
                    Ok(x) => x,
                    Err(e) => {
                        if e.kind() != std::io::ErrorKind::WouldBlock {
                            tracing::debug!(?port, "receive error: {e}");
                        }
                        break;
                    }
                };
                out.clear();
                match src {
                    SocketAddr::V4(src) => responder.handle_datagram(
                        now(),
                        src,
                        SocketAddrV4::new(address, port.port),
                        &buf[..n],
                        &mut out,
                    ),
                    SocketAddr::V6(src) => {
                        // R-V6-2: the link-layer source of a DHCPv6 message's frame.
                        let link_src = match port.port {
                            dhcp6::SERVER_PORT | dhcp6::PXE_PORT => {
                                links.as_mut().and_then(|l| l.lookup(&src, &buf[..n]))
                            }
                            _ => None,
                        };
                        ctx.reply_from6.remember(src, to);
                        let me = address6.unwrap_or(Ipv6Addr::UNSPECIFIED);
                        responder.handle_datagram6(
                            now(),
                            src,
                            SocketAddrV6::new(me, port.port, 0, 0),
                            link_src,
                            &buf[..n],
                            &mut out,
                        );
                    }
                }
                ctx.dispatch(&mut out, &mut ports, &mut responder);
            }
        }
    }
    tracing::info!(responder = %name, "PXE responder stopped");
    Ok(())
}

/// What the loop needs to carry out the engine's output.
struct Ctx<'a> {
    name: &'a str,
    iface: Option<&'a str>,
    /// The well-known ports of both families (never closed).
    listening: &'a [u16],
    crash_before_data: bool,
    /// When the last datagram left (to tell a fast link from a slow one).
    last_send: std::time::Instant,
    /// The ports of the running transfers (each has its socket in `Ports`).
    active: HashSet<u16>,
    limiter: LogLimiter,
    /// Where IPv6 peers' requests came to: their answers leave from there.
    reply_from6: ReplySources,
}

impl Ctx<'_> {
    /// Logs, effects and datagrams of one engine step.
    fn dispatch(&mut self, out: &mut Output, ports: &mut Ports, responder: &mut Responder) {
        let name = self.name;
        for line in out.logs.drain(..) {
            if self.limiter.allow(std::time::Instant::now()) {
                tracing::info!(responder = %name, "{line}");
            }
        }
        if let Some(n) = self.limiter.take_suppressed(std::time::Instant::now()) {
            tracing::warn!(responder = %name, "{n} log lines suppressed in the last second (flood?)");
        }
        let mut finished: Vec<u16> = Vec::new();
        for e in &out.effects {
            match e {
                Effect::TransferStarted { port, .. } => {
                    self.active.insert(*port);
                }
                Effect::TransferMoved { from, to, .. } => {
                    self.active.remove(from);
                    self.active.insert(*to);
                }
                Effect::TransferDone {
                    port,
                    client,
                    timeouts,
                    resent_blocks,
                    ..
                } => {
                    // `pxelab bench tftp` turns this target on to count the resends.
                    tracing::debug!(target: "pxelab::tftp_done", responder = %name, %client, port, timeouts, resent_blocks, "TFTP transfer done");
                    self.active.remove(port);
                    finished.push(*port);
                }
                Effect::TransferFailed { port, .. } => {
                    self.active.remove(port);
                    finished.push(*port);
                }
                Effect::Recorded { device, deployment } => {
                    tracing::info!(responder = %name, %device, %deployment, "required deployment recorded");
                }
                // The log lines above already say what the responder did.
                Effect::Silent { .. } | Effect::Answered { .. } => {}
            }
        }
        out.effects.clear();
        let transmits = std::mem::take(&mut out.transmits);
        // Transfers that moved to another port in this step: their later datagrams too.
        let mut moved: Vec<(u16, u16)> = Vec::new();
        let mut rest = &transmits[..];
        while let Some(first) = rest.first() {
            let from = first.src.port();
            let len = rest
                .iter()
                .take_while(|t| t.src.port() == from && t.dst == first.dst)
                .count();
            let (batch, tail) = rest.split_at(len);
            rest = tail;
            let mut port = moved
                .iter()
                .find(|(f, _)| *f == from)
                .map_or(from, |(_, t)| *t);
            if self.crash_before_data
                && !self.listening.contains(&port)
                && batch.iter().any(|t| t.payload.get(..2) == Some(&[0, 3]))
            {
                // A crash: nothing more is sent, no goodbye to the peers.
                tracing::warn!(responder = %name, "down during a transfer (SIGUSR1)");
                std::process::exit(137);
            }
            if ports.get(Local::v4(port)).is_none() {
                let Some(p) = self.open_port(Local::v4(port), ports, responder) else {
                    continue; // the transfer was dropped (its client told)
                };
                if p != port {
                    moved.push((from, p));
                    port = p;
                }
                // A one-off port (an error reply to a refused request) closes once sent.
                if !self.active.contains(&port) {
                    finished.push(port);
                }
            }
            let socket = ports.get(Local::v4(port)).expect("opened above");
            if let Err(e) = send_batch(socket, batch) {
                tracing::warn!(responder = %name, dst = %first.dst, "send failed: {e}");
            }
            self.last_send = std::time::Instant::now();
        }
        out.transmits = transmits;
        out.transmits.clear();
        // IPv6: DHCPv6 answers, and TFTP over IPv6 (R-V6-5) from its transfer's port.
        let mut transmits6 = std::mem::take(&mut out.transmits6);
        let mut moved6: Vec<(u16, u16)> = Vec::new();
        for t in &mut transmits6 {
            self.reply_from6.apply(t);
            let from = t.src.port();
            let mut port = moved6
                .iter()
                .find(|(f, _)| *f == from)
                .map_or(from, |(_, t)| *t);
            if self.crash_before_data
                && !self.listening.contains(&port)
                && t.payload.get(..2) == Some(&[0, 3])
            {
                tracing::warn!(responder = %name, "down during a transfer (SIGUSR1)");
                std::process::exit(137);
            }
            if ports.get(Local::v6(port)).is_none() {
                let Some(p) = self.open_port(Local::v6(port), ports, responder) else {
                    continue;
                };
                if p != port {
                    moved6.push((from, p));
                    port = p;
                }
                if !self.active.contains(&port) {
                    finished.push(port);
                }
            }
            let Some(socket) = ports.get(Local::v6(port)) else {
                continue;
            };
            if let Err(e) = send6(socket, t) {
                tracing::warn!(responder = %name, dst = %t.dst, "send failed: {e}");
            }
            self.last_send = std::time::Instant::now();
        }
        out.transmits6 = transmits6;
        out.transmits6.clear();
        for p in finished {
            if !self.listening.contains(&p) && !self.active.contains(&p) {
                ports.close(p);
            }
        }
    }

    /// Opens the socket for `port`, from which a batch is to go, and returns the port
    /// it goes from. When another process holds a transfer's port, the engine moves the
    /// transfer to another port and this tries that one, until the engine drops the
    /// transfer (`None`: its error to the client is sent from port 69). A one-off error
    /// reply whose port cannot be opened goes from port 69.
    fn open_port(
        &mut self,
        local: Local,
        ports: &mut Ports,
        responder: &mut Responder,
    ) -> Option<u16> {
        let name = self.name;
        let mut port = local.port;
        loop {
            let e = match ports.open(Local { port, ..local }, self.iface, false) {
                Ok(()) => return Some(port),
                Err(e) => e,
            };
            if !self.active.contains(&port) {
                tracing::debug!(responder = %name, port, "cannot bind a port for an error reply ({e}): sent from port {TFTP_PORT}");
                return Some(TFTP_PORT);
            }
            tracing::warn!(responder = %name, port, "cannot bind transfer port: {e}");
            let mut o = Output::default();
            let next = responder.transfer_port_unavailable(port, &mut o);
            self.dispatch(&mut o, ports, responder);
            port = next?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_transfer_port_is_not_shared_with_another_socket() {
        // Another process's socket on the port (no SO_REUSEADDR, as most programs bind):
        // the transfer's bind fails, and the engine moves the transfer.
        let other = UdpSocket::bind("0.0.0.0:0").unwrap();
        let port = other.local_addr().unwrap().port();
        let e = bind(port, None, false).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::AddrInUse);
        drop(other);
        // A transfer's own socket keeps others off its port, SO_REUSEADDR or not.
        let mine = bind(port, None, false).unwrap();
        assert!(bind(port, None, true).is_err());
        assert!(bind(port, None, false).is_err());
        drop(mine);
        // The well-known ports are shared (SO_REUSEADDR on both sides).
        let a = bind(port, None, true).unwrap();
        let b = bind(port, None, true).unwrap();
        drop((a, b));
    }

    #[test]
    fn os_random_differs_between_calls() {
        assert_ne!(os_random(), os_random());
    }

    #[test]
    fn log_limiter_caps_a_second_and_reports_what_it_dropped() {
        let mut l = LogLimiter::default();
        let t0 = std::time::Instant::now();
        let allowed = (0..1000).filter(|_| l.allow(t0)).count();
        assert_eq!(allowed, LogLimiter::PER_SECOND as usize);
        assert_eq!(l.take_suppressed(t0), None, "not before the second is over");
        let t1 = t0 + Duration::from_millis(1500);
        assert_eq!(l.take_suppressed(t1), Some(800));
        assert!(l.allow(t1));
    }
}
