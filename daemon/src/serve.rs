//! `pxelab serve`: the responder as a real daemon. It only drives the engine: sockets,
//! a clock and signals in; the engine's datagrams out, its log lines to `tracing`.
//!
//! Sockets: UDP 67 (unless `listen_dhcp_port: false`), 4011, 69 and the peer port, each
//! bound to `0.0.0.0` on the given interface (SO_BINDTODEVICE) with SO_BROADCAST, so that
//! broadcast DISCOVERs arrive and proxy offers can be broadcast to clients that have no
//! address yet. A TFTP transfer's port (its TID) gets a socket of its own for as long as
//! the transfer runs. One thread (a current-thread runtime): the engine is not shared.

use crate::root::FsRoot;
use crate::store::SqliteStore;
use pxelab_engine::election::PEER_PORT;
use pxelab_engine::exclusion::parse_exclusion_list;
use pxelab_engine::policy::{ResponderConfig, Site};
use pxelab_engine::responder::{Effect, Output, Responder};
use pxelab_engine::Instant;
use socket2::{Domain, Protocol, Socket, Type};
use std::collections::{HashMap, HashSet};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::net::UdpSocket;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

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
}

fn bind(port: u16, iface: Option<&str>) -> std::io::Result<UdpSocket> {
    let s = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
    s.set_reuse_address(true)?;
    s.set_broadcast(true)?;
    if let Some(i) = iface {
        s.bind_device(Some(i.as_bytes()))?;
    }
    s.set_nonblocking(true)?;
    s.bind(&SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, port).into())?;
    UdpSocket::from_std(s.into())
}

type Inbox = mpsc::Sender<(u16, SocketAddrV4, Vec<u8>)>;

struct Port {
    socket: Arc<UdpSocket>,
    reader: JoinHandle<()>,
}

fn open_port(port: u16, iface: Option<&str>, tx: &Inbox) -> std::io::Result<Port> {
    let socket = Arc::new(bind(port, iface)?);
    let (s, tx) = (socket.clone(), tx.clone());
    let reader = tokio::spawn(async move {
        let mut buf = vec![0u8; 65536];
        loop {
            match s.recv_from(&mut buf).await {
                Ok((n, SocketAddr::V4(src))) => {
                    if tx.send((port, src, buf[..n].to_vec())).await.is_err() {
                        break;
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::debug!(port, "receive error: {e}");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
        }
    });
    Ok(Port { socket, reader })
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
pub fn run(opts: ServeOptions) -> Result<(), String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(serve(opts))
}

async fn serve(opts: ServeOptions) -> Result<(), String> {
    let name = opts.config.name.clone();
    let address = opts.config.address;
    let iface = opts.interface.as_deref();
    let start = tokio::time::Instant::now();
    let now = move || Instant::from_nanos(start.elapsed().as_nanos() as u64);

    let store = SqliteStore::open(&opts.state).map_err(|e| format!("state database: {e}"))?;
    let root =
        FsRoot::new(&opts.root).map_err(|e| format!("boot root {}: {e}", opts.root.display()))?;
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
    let mut responder = Responder::new(
        now(),
        config,
        Arc::new(opts.site),
        Box::new(store),
        Arc::new(root),
        opts.seed,
    );

    let (tx, mut rx) = mpsc::channel(8192);
    let mut listening: Vec<u16> = vec![4011, 69, PEER_PORT];
    if listen_dhcp {
        listening.push(67);
    }
    let mut ports: HashMap<u16, Port> = HashMap::new();
    for p in &listening {
        let port =
            open_port(*p, iface, &tx).map_err(|e| format!("cannot bind UDP port {p}: {e}"))?;
        ports.insert(*p, port);
    }
    tracing::info!(
        responder = %name,
        %address,
        interface = iface.unwrap_or("(all)"),
        ports = ?listening,
        "PXE responder started"
    );

    let mut hup = signal(SignalKind::hangup()).map_err(|e| e.to_string())?;
    let mut term = signal(SignalKind::terminate()).map_err(|e| e.to_string())?;
    let mut int = signal(SignalKind::interrupt()).map_err(|e| e.to_string())?;
    // SIGUSR1 arms a crash just before the next TFTP DATA packet of any transfer: the
    // format's `down ... during: transfer`, as the lab plays it (docs/LAB.md).
    let mut usr1 = signal(SignalKind::user_defined1()).map_err(|e| e.to_string())?;
    let mut crash_before_data = false;
    let mut poll_files = tokio::time::interval(Duration::from_secs(2));
    let mut active: HashSet<u16> = HashSet::new();
    let mut out = Output::default();
    let mut limiter = LogLimiter::default();

    loop {
        out.clear();
        let deadline = responder
            .poll_timeout()
            .map(|d| start + Duration::from_nanos(d.as_nanos()));
        let reload = tokio::select! {
            Some((port, src, payload)) = rx.recv() => {
                responder.handle_datagram(now(), src, SocketAddrV4::new(address, port), &payload, &mut out);
                false
            }
            _ = tokio::time::sleep_until(deadline.unwrap_or(start)), if deadline.is_some() => {
                responder.handle_timeout(now(), &mut out);
                false
            }
            _ = hup.recv() => true,
            _ = poll_files.tick() => {
                let m = opts.exclusion_file.as_ref().and_then(mtime);
                m.is_some() && m != excl_mtime
            }
            _ = term.recv() => break,
            _ = int.recv() => break,
            _ = usr1.recv() => {
                tracing::info!(responder = %name, "armed: going down before the next TFTP data packet");
                crash_before_data = true;
                false
            }
        };
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
        for line in out.logs.drain(..) {
            if limiter.allow(std::time::Instant::now()) {
                tracing::info!(responder = %name, "{line}");
            }
        }
        if let Some(n) = limiter.take_suppressed(std::time::Instant::now()) {
            tracing::warn!(responder = %name, "{n} log lines suppressed in the last second (flood?)");
        }
        for e in &out.effects {
            match e {
                Effect::TransferStarted { port, .. } => {
                    active.insert(*port);
                }
                Effect::TransferDone { port, .. } | Effect::TransferFailed { port, .. } => {
                    active.remove(port);
                }
                Effect::Recorded { device, deployment } => {
                    tracing::info!(responder = %name, %device, %deployment, "required deployment recorded");
                }
            }
        }
        for t in out.transmits.drain(..) {
            let port = t.src.port();
            if crash_before_data
                && !listening.contains(&port)
                && t.payload.get(..2) == Some(&[0, 3])
            {
                // A crash: nothing more is sent, no goodbye to the peers.
                tracing::warn!(responder = %name, "down during a transfer (SIGUSR1)");
                std::process::exit(137);
            }
            if let std::collections::hash_map::Entry::Vacant(slot) = ports.entry(port) {
                match open_port(port, iface, &tx) {
                    Ok(p) => {
                        slot.insert(p);
                    }
                    Err(e) => {
                        tracing::warn!(responder = %name, port, "cannot bind transfer port: {e}");
                        continue;
                    }
                }
            }
            if let Err(e) = ports[&port]
                .socket
                .send_to(&t.payload, SocketAddr::V4(t.dst))
                .await
            {
                tracing::warn!(responder = %name, dst = %t.dst, "send failed: {e}");
            }
        }
        // Close transfer ports that no transfer uses any more (also the one-off ports
        // that carried an error reply).
        let stale: Vec<u16> = ports
            .keys()
            .copied()
            .filter(|p| !listening.contains(p) && !active.contains(p))
            .collect();
        for p in stale {
            if let Some(port) = ports.remove(&p) {
                port.reader.abort();
            }
        }
    }
    tracing::info!(responder = %name, "PXE responder stopped");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
