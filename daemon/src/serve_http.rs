//! `pxelab serve`'s HTTP boot server (R-HTTP-2, R-HTTP-3): TCP listeners on `http.port`
//! (IPv4 always, IPv6 when the responder has `address6`) and their connections, driven in
//! the daemon's one `ppoll` loop. Each connection is the engine's sans-IO
//! [`Connection`]; files are opened by the engine (`Responder::http_open`) from the same
//! confined boot root as TFTP's (R-TFTP-3), so a name that escapes over TFTP escapes no
//! better over HTTP.
//!
//! Bounds (R-HTTP-3): at most `max_connections` connections (default
//! [`HttpServer::MAX_CONNECTIONS`]; one more gets 503 and is closed), each holding at most the engine's head cap of input and one body
//! chunk of output; every socket is nonblocking, a connection that cannot write waits for
//! POLLOUT without holding up the others, and the engine's deadlines (head timeout, idle
//! timeout) close slow and stalled clients.

use pxelab_engine::http::{Connection, HttpLimits, Method};
use pxelab_engine::responder::{Output, Responder};
use pxelab_engine::Instant;
use socket2::{Domain, Protocol, Socket, Type};
use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;

struct Client {
    stream: TcpStream,
    peer: SocketAddr,
    conn: Connection,
    /// Bytes the connection handed out that the socket has not taken yet (one chunk).
    out: Vec<u8>,
    sent: usize,
    /// Last write or read: the deadline of a connection the engine has closed but whose
    /// last bytes are still to be written.
    progress: Instant,
    /// The client closed its side: no more reading (the socket would stay readable).
    eof: bool,
}

/// The listeners and the open connections.
pub struct HttpServer {
    listeners: Vec<TcpListener>,
    clients: Vec<Client>,
    limits: HttpLimits,
    max_connections: usize,
    /// Connections refused because the server was full.
    pub refused: u64,
}

/// A listening TCP socket on `addr` (of `iface` when given), nonblocking.
fn listen(addr: SocketAddr, iface: Option<&str>) -> std::io::Result<TcpListener> {
    let s = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    if addr.is_ipv6() {
        s.set_only_v6(true)?;
    }
    s.set_reuse_address(true)?;
    if let Some(i) = iface {
        s.bind_device(Some(i.as_bytes()))?;
    }
    s.set_nonblocking(true)?;
    s.bind(&addr.into())?;
    s.listen(128)?;
    Ok(s.into())
}

impl HttpServer {
    /// Most connections open at once (each a descriptor and up to ~80 KiB).
    pub const MAX_CONNECTIONS: usize = 256;

    /// Listeners on `port` of every IPv4 address and, with `ipv6`, every IPv6 one.
    pub fn open(
        port: u16,
        iface: Option<&str>,
        ipv6: bool,
        limits: HttpLimits,
        max_connections: usize,
    ) -> std::io::Result<HttpServer> {
        let mut listeners = vec![listen((Ipv4Addr::UNSPECIFIED, port).into(), iface)?];
        if ipv6 {
            listeners.push(listen((Ipv6Addr::UNSPECIFIED, port).into(), iface)?);
        }
        Ok(HttpServer {
            listeners,
            clients: Vec::new(),
            limits,
            max_connections,
            refused: 0,
        })
    }

    /// The local addresses listened on.
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.listeners
            .iter()
            .filter_map(|l| l.local_addr().ok())
            .collect()
    }

    pub fn connections(&self) -> usize {
        self.clients.len()
    }

    /// The descriptors to watch, appended to `fds`: the listeners, then each connection
    /// (for output too while it has bytes the socket did not take).
    pub fn poll_fds(&self, fds: &mut Vec<libc::pollfd>) {
        for l in &self.listeners {
            fds.push(pxelab_system::evloop::readable(l.as_raw_fd()));
        }
        for c in &self.clients {
            let mut f = pxelab_system::evloop::readable(c.stream.as_raw_fd());
            if c.eof {
                f.events = 0;
            }
            if c.sent < c.out.len() {
                f.events |= libc::POLLOUT;
            }
            fds.push(f);
        }
    }

    /// Serves what `fds` (the part [`HttpServer::poll_fds`] appended, same order) says
    /// is ready; the engine's log lines and effects go to `out`.
    pub fn handle_ready(
        &mut self,
        now: Instant,
        fds: &[libc::pollfd],
        responder: &mut Responder,
        out: &mut Output,
    ) {
        let (lfds, cfds) = fds.split_at(self.listeners.len().min(fds.len()));
        let mut buf = [0u8; 16 * 1024];
        let mut dead = Vec::new();
        for (i, f) in cfds.iter().enumerate().take(self.clients.len()) {
            if f.revents == 0 {
                continue;
            }
            let c = &mut self.clients[i];
            let was_eof = c.eof;
            let mut alive = c.read(now, &mut buf) && c.pump(now, responder, out);
            if alive && c.eof && !was_eof {
                // After the requests that came before it are answered (the engine
                // would otherwise drop a whole request that arrived with the EOF).
                c.conn.handle_eof();
                alive = c.pump(now, responder, out);
            }
            if !alive {
                dead.push(i);
            }
        }
        for i in dead.into_iter().rev() {
            self.clients.swap_remove(i);
        }
        for (l, f) in self.listeners.iter().zip(lfds) {
            if f.revents == 0 {
                continue;
            }
            for _ in 0..64 {
                let (stream, peer) = match l.accept() {
                    Ok(x) => x,
                    Err(_) => break,
                };
                if self.clients.len() >= self.max_connections {
                    // Full: say so (best effort, the socket is new and empty) and close.
                    let _ = (&stream).write(
                        b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                    );
                    self.refused += 1;
                    continue;
                }
                if stream.set_nonblocking(true).is_err() {
                    continue;
                }
                let _ = stream.set_nodelay(true);
                self.clients.push(Client {
                    stream,
                    peer,
                    conn: Connection::new(now, self.limits),
                    out: Vec::new(),
                    sent: 0,
                    progress: now,
                    eof: false,
                });
            }
        }
    }

    /// The earliest deadline of a connection.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.clients.iter().map(|c| c.deadline(&self.limits)).min()
    }

    /// R-HTTP-3: closes the connections whose deadline passed (a head not whole in
    /// time, no progress for the idle timeout).
    pub fn handle_timeout(&mut self, now: Instant, out: &mut Output) {
        let limits = self.limits;
        self.clients.retain_mut(|c| {
            if c.deadline(&limits) > now {
                return true;
            }
            c.conn.handle_timeout(now);
            out.logs.push(format!(
                "HTTP connection from {} closed: no progress in time (R-HTTP-3)",
                c.peer
            ));
            false
        });
    }
}

impl Client {
    /// The engine's deadline; while the socket still takes bytes of a chunk the engine
    /// already handed out, each write counts as progress too (a slow but moving reader
    /// is not idle).
    fn deadline(&self, limits: &HttpLimits) -> Instant {
        let ours = self.progress + limits.idle_timeout;
        match self.conn.poll_timeout() {
            Some(t) if self.sent < self.out.len() => t.max(ours),
            Some(t) => t,
            None => ours,
        }
    }

    /// Reads what the socket holds (the engine keeps at most its head cap of it).
    /// `false`: the connection failed.
    fn read(&mut self, now: Instant, buf: &mut [u8]) -> bool {
        if self.eof {
            return true;
        }
        for _ in 0..8 {
            match self.stream.read(buf) {
                Ok(0) => {
                    self.eof = true;
                    return true;
                }
                Ok(n) => {
                    self.progress = now;
                    self.conn.handle_input(now, &buf[..n]);
                    if n < buf.len() {
                        return true;
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return true,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => return false,
            }
        }
        true
    }

    /// Answers the requests that are whole and writes until the socket is full or
    /// nothing is left. `false`: the connection is over (closed, or failed).
    fn pump(&mut self, now: Instant, responder: &mut Responder, out: &mut Output) -> bool {
        loop {
            while let Some(head) = self.conn.poll_request(now) {
                let file = responder.http_open(&head.path, out);
                let method = match head.method {
                    Method::Get => "GET",
                    Method::Head => "HEAD",
                };
                out.logs.push(match &file {
                    Ok(f) => format!(
                        "HTTP {method} /{} from {}: {} bytes",
                        head.path,
                        self.peer,
                        f.len()
                    ),
                    Err(s) => format!("HTTP {method} /{} from {}: {}", head.path, self.peer, s.0),
                });
                self.conn.respond(file);
            }
            if self.sent == self.out.len() {
                self.out.clear();
                self.sent = 0;
                // One chunk at a time: the engine pulls it from the file now.
                if self.conn.poll_send(now, 64 * 1024, &mut self.out) == 0 {
                    break;
                }
            }
            match self.stream.write(&self.out[self.sent..]) {
                Ok(n) => {
                    self.sent += n;
                    self.progress = now;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => return false,
            }
        }
        !(self.conn.is_closed() && self.sent == self.out.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::root::FsRoot;
    use pxelab_engine::policy::{HttpConfig, ResponderConfig, Role, Site};
    use pxelab_engine::state::MemoryStore;
    use pxelab_system::evloop::{self, Signals};
    use std::sync::Arc;
    use std::time::Duration;

    fn responder(root: &std::path::Path) -> Responder {
        let mut cfg =
            ResponderConfig::new("dp1", Ipv4Addr::new(127, 0, 0, 1), Role::DistributionPoint);
        cfg.http = Some(HttpConfig { port: 0 });
        Responder::new(
            Instant::ZERO,
            cfg,
            Arc::new(Site::default()),
            Box::new(MemoryStore::new()),
            Arc::new(FsRoot::new(root).unwrap()),
            1,
        )
    }

    /// Serves on loopback (at engine time `now`) until `done` or 500 rounds.
    fn drive(
        server: &mut HttpServer,
        r: &mut Responder,
        now: Instant,
        mut done: impl FnMut(&HttpServer) -> bool,
    ) {
        let signals = Signals::catch(&[]);
        let mut out = Output::default();
        for _ in 0..500 {
            if done(server) {
                return;
            }
            let mut fds = Vec::new();
            server.poll_fds(&mut fds);
            evloop::poll(&mut fds, Some(Duration::from_millis(10)), &signals).unwrap();
            server.handle_ready(now, &fds, r, &mut out);
        }
    }

    fn setup(max: usize) -> (tempdir::Dir, HttpServer, Responder, SocketAddr) {
        let dir = tempdir::Dir::new();
        std::fs::write(dir.0.join("boot.efi"), vec![7u8; 5000]).unwrap();
        let server = HttpServer::open(0, None, false, HttpLimits::default(), max).unwrap();
        let addr = server.local_addrs()[0];
        let addr = SocketAddr::new(Ipv4Addr::LOCALHOST.into(), addr.port());
        let r = responder(&dir.0);
        (dir, server, r, addr)
    }

    mod tempdir {
        pub struct Dir(pub std::path::PathBuf);
        impl Dir {
            pub fn new() -> Dir {
                use std::sync::atomic::{AtomicU32, Ordering};
                static N: AtomicU32 = AtomicU32::new(0);
                let p = std::env::temp_dir().join(format!(
                    "pxelab-http-{}-{}",
                    std::process::id(),
                    N.fetch_add(1, Ordering::SeqCst)
                ));
                std::fs::create_dir_all(&p).unwrap();
                Dir(p)
            }
        }
        impl Drop for Dir {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
    }

    #[test]
    fn r_http_3_a_connection_past_the_bound_gets_503_and_the_others_stay() {
        let (_d, mut server, mut r, addr) = setup(2);
        let a = TcpStream::connect(addr).unwrap();
        let b = TcpStream::connect(addr).unwrap();
        drive(&mut server, &mut r, Instant::ZERO, |s| s.connections() == 2);
        assert_eq!(server.connections(), 2);
        let mut c = TcpStream::connect(addr).unwrap();
        drive(&mut server, &mut r, Instant::ZERO, |s| s.refused == 1);
        assert_eq!(server.refused, 1);
        c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut got = String::new();
        c.read_to_string(&mut got).unwrap();
        assert!(got.starts_with("HTTP/1.1 503"), "{got}");
        assert_eq!(server.connections(), 2, "the first two stay open");
        // They are still served.
        (&a).write_all(b"GET /boot.efi HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let mut head = [0u8; 12];
        let reader = std::thread::spawn(move || {
            (&a).read_exact(&mut head).unwrap();
            head
        });
        drive(&mut server, &mut r, Instant::ZERO, |_| reader.is_finished());
        assert_eq!(&reader.join().unwrap(), b"HTTP/1.1 200");
        drop(b);
    }

    #[test]
    fn r_http_3_a_slow_head_and_an_idle_client_are_closed_at_their_deadlines() {
        let (_d, mut server, mut r, addr) = setup(8);
        let limits = HttpLimits::default();
        // Half a head, never finished (slowloris).
        let mut slow = TcpStream::connect(addr).unwrap();
        slow.write_all(b"GET /boot.efi HTTP/1.1\r\nHo").unwrap();
        // A client that connects and says nothing.
        let mut idle = TcpStream::connect(addr).unwrap();
        drive(&mut server, &mut r, Instant::ZERO, |s| {
            s.connections() == 2 && s.clients.iter().any(|c| c.conn.buffered() > 0)
        });
        assert_eq!(server.connections(), 2);
        let mut out = Output::default();
        // Before the head timeout nothing is closed.
        let t = Instant::ZERO + (limits.head_timeout - Duration::from_millis(1));
        server.handle_timeout(t, &mut out);
        assert_eq!(server.connections(), 2);
        // At it, the slow head goes; the idle one stays until the idle timeout.
        server.handle_timeout(Instant::ZERO + limits.head_timeout, &mut out);
        assert_eq!(server.connections(), 1);
        assert!(
            out.logs.iter().any(|l| l.contains("R-HTTP-3")),
            "{:?}",
            out.logs
        );
        server.handle_timeout(Instant::ZERO + limits.idle_timeout, &mut out);
        assert_eq!(server.connections(), 0);
        assert_eq!(server.poll_timeout(), None);
        // Both clients see the connection closed.
        for s in [&mut slow, &mut idle] {
            s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let mut rest = Vec::new();
            assert!(s.read_to_end(&mut rest).is_ok(), "closed, not timed out");
        }
    }

    #[test]
    fn r_http_3_a_reader_that_stops_reading_is_closed_at_the_idle_deadline() {
        let (d, mut server, mut r, addr) = setup(8);
        std::fs::write(d.0.join("big.wim"), vec![9u8; 16 << 20]).unwrap();
        let sock = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP)).unwrap();
        sock.set_recv_buffer_size(4096).unwrap();
        sock.connect(&addr.into()).unwrap();
        let mut stalled: TcpStream = sock.into();
        stalled
            .write_all(b"GET /big.wim HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .unwrap();
        // Served until the socket is full: the rest waits for POLLOUT, in one chunk.
        drive(&mut server, &mut r, Instant::ZERO, |s| {
            s.clients.first().is_some_and(|c| c.sent < c.out.len())
        });
        let c = &server.clients[0];
        assert!(c.sent < c.out.len(), "the socket filled");
        assert!(
            c.out.len() <= 64 * 1024 + 1024,
            "one chunk held: {}",
            c.out.len()
        );
        let limits = HttpLimits::default();
        let mut out = Output::default();
        server.handle_timeout(
            Instant::ZERO + (limits.idle_timeout - Duration::from_millis(1)),
            &mut out,
        );
        assert_eq!(server.connections(), 1);
        server.handle_timeout(Instant::ZERO + limits.idle_timeout, &mut out);
        assert_eq!(server.connections(), 0, "closed at the idle deadline");
        // The client sees the connection end before the whole file.
        stalled
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut got = Vec::new();
        let _ = stalled.read_to_end(&mut got);
        assert!(got.len() < 16 << 20, "{} bytes", got.len());
    }
}
