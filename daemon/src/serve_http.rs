//! `pxelab serve`'s HTTP boot server (R-HTTP-2, R-HTTP-3): TCP listeners on `http.port`
//! (IPv4 always, IPv6 when the responder has `address6`) and their connections, driven in
//! the daemon's one `ppoll` loop. Each connection is the engine's sans-IO
//! [`Connection`]; files are opened by the engine (`Responder::http_open`) from the same
//! confined boot root as TFTP's (R-TFTP-3), so a name that escapes over TFTP escapes no
//! better over HTTP.
//!
//! Bounds (R-HTTP-3): at most [`HttpServer::MAX_CONNECTIONS`] connections (one more gets
//! 503 and is closed), each holding at most the engine's head cap of input and one body
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
    ) -> std::io::Result<HttpServer> {
        let mut listeners = vec![listen((Ipv4Addr::UNSPECIFIED, port).into(), iface)?];
        if ipv6 {
            listeners.push(listen((Ipv6Addr::UNSPECIFIED, port).into(), iface)?);
        }
        Ok(HttpServer {
            listeners,
            clients: Vec::new(),
            limits,
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
            fds.push(crate::evloop::readable(l.as_raw_fd()));
        }
        for c in &self.clients {
            let mut f = crate::evloop::readable(c.stream.as_raw_fd());
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
                if self.clients.len() >= Self::MAX_CONNECTIONS {
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
    fn deadline(&self, limits: &HttpLimits) -> Instant {
        self.conn
            .poll_timeout()
            .unwrap_or(self.progress + limits.idle_timeout)
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
