//! TCP arriving at the simulated hosts, and the responders' HTTP file service
//! (R-HTTP-2, R-HTTP-3): a responder with `http: {port}` listens on its address and
//! that port; each connection is an end of the TCP model ([`crate::tcp`], Linux's
//! parameters) carrying the engine's HTTP/1.1 connection
//! ([`pxelab_engine::http::Connection`]), whose requests the responder answers with
//! [`pxelab_engine::responder::Responder::http_open`] (its boot root and the boot
//! programs' parameters files). A segment to any other port is answered with RST.

use crate::tcp::{self, Segment, Tcb, TcpConfig};
use crate::world::{HostId, HostKind, World};
use pxelab_engine::http::{Connection, HttpLimits, Status};
use pxelab_engine::Instant;
use rustc_hash::FxHashMap as HashMap;

/// One connection of a responder's HTTP service.
struct HttpConn {
    tcb: Tcb,
    http: Connection,
    /// FIN asked for (the HTTP side closed).
    closing: bool,
}

/// The open connections of each responder host.
#[derive(Default)]
pub struct HttpHosts {
    hosts: HashMap<HostId, Vec<HttpConn>>,
}

impl HttpHosts {
    /// The host went down: its connections are gone without a goodbye.
    pub fn remove(&mut self, host: HostId) {
        self.hosts.remove(&host);
    }

    /// The earliest timer of a host's connections (TCP, and HTTP's own timeouts).
    pub fn poll_timeout(&self, host: HostId) -> Option<Instant> {
        self.hosts
            .get(&host)?
            .iter()
            .flat_map(|c| [c.tcb.poll_timeout(), c.http.poll_timeout()])
            .flatten()
            .min()
    }

    /// Connections open on a host (tests, `quiet`).
    pub fn open(&self, host: HostId) -> usize {
        self.hosts.get(&host).map_or(0, Vec::len)
    }
}

/// A TCP segment delivered to a host's interface.
pub fn deliver(w: &mut World, host: HostId, iface: usize, seg: Segment) {
    if !w.hosts[host].up {
        return;
    }
    let own = w.holds_address(host, iface, seg.dst.ip());
    match &w.hosts[host].kind {
        HostKind::Client(_) if own => {
            w.firmware_receives_segment(host, iface);
            w.with_client(host, |c, now, _| c.handle_tcp(now, &seg));
        }
        // Forwarded between the router's segments, as datagrams are.
        HostKind::Router(_) if !own => {
            if let Some(out_if) = w.router_iface_for_addr(host, seg.dst.ip()) {
                if out_if != iface {
                    w.send_tcp(host, out_if, seg);
                }
            }
        }
        HostKind::Server(_) if own => serve(w, host, seg),
        _ => {}
    }
}

/// The port the host's responder serves HTTP on, if it does.
fn http_port(w: &World, host: HostId) -> Option<u16> {
    match &w.hosts[host].kind {
        HostKind::Server(s) => s.responder.as_ref()?.config().http.map(|h| h.port),
        _ => None,
    }
}

fn serve(w: &mut World, host: HostId, seg: Segment) {
    let now = w.now;
    let mut conns = w.http.hosts.remove(&host).unwrap_or_default();
    let known = conns
        .iter_mut()
        .find(|c| c.tcb.local == seg.dst && c.tcb.remote == seg.src);
    match known {
        Some(c) => c.tcb.handle_segment(now, &seg),
        None => {
            let listening = http_port(w, host) == Some(seg.dst.port());
            let iss = seg.seq.rotate_left(13) ^ 0x5bd1_e995 ^ u32::from(seg.src.port());
            match Tcb::accept(now, TcpConfig::linux_for(seg.dst), &seg, iss).filter(|_| listening) {
                Some(tcb) => conns.push(HttpConn {
                    tcb,
                    http: Connection::new(now, HttpLimits::default()),
                    closing: false,
                }),
                None => {
                    if let Some(rst) = tcp::reset_for(&seg) {
                        let iface = w.iface_for_addr(host, rst.src.ip());
                        w.send_tcp(host, iface, rst);
                    }
                }
            }
        }
    }
    pump(w, host, conns);
}

/// A host's timer fired: its connections' timers.
pub fn on_wake(w: &mut World, host: HostId) {
    let now = w.now;
    let Some(mut conns) = w.http.hosts.remove(&host) else {
        return;
    };
    for c in &mut conns {
        c.tcb.handle_timeout(now);
        c.http.handle_timeout(now);
    }
    pump(w, host, conns);
}

/// Moves each connection on: bytes read into HTTP, requests answered from the
/// responder's files, responses into TCP as far as its send buffer takes them, what
/// TCP sends onto the wire; closed connections dropped.
fn pump(w: &mut World, host: HostId, mut conns: Vec<HttpConn>) {
    let now = w.now;
    let mut out = Vec::new();
    let mut buf = Vec::new();
    for c in &mut conns {
        let data = c.tcb.read();
        c.http.handle_input(now, &data);
        if c.tcb.peer_closed() {
            c.http.handle_eof();
        }
        while let Some(head) = c.http.poll_request(now) {
            let mut file = Err(Status(503));
            w.with_responder(host, |r, _, o| file = r.http_open(&head.path, o));
            c.http.respond(file);
        }
        loop {
            let space = c.tcb.send_space();
            if space == 0 {
                break;
            }
            buf.clear();
            if c.http.poll_send(now, space, &mut buf) == 0 {
                break;
            }
            c.tcb.send(&buf);
        }
        if c.http.is_closed() && !c.closing {
            c.closing = true;
            c.tcb.close();
        }
        c.tcb.take_output(now, &mut out);
    }
    conns.retain(|c| !c.tcb.is_closed());
    if !conns.is_empty() {
        w.http.hosts.insert(host, conns);
    }
    for seg in out {
        let iface = w.iface_for_addr(host, seg.src.ip());
        w.send_tcp(host, iface, seg);
    }
    w.rearm(host);
}
