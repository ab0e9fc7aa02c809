//! UEFI HTTP boot over IPv4 (`netboot: http4`): the firmware model (EDK2's
//! `HttpBootDxe`, uefi-x64, uefi-ia32, uefi-arm64) followed by the boot program's part
//! under HTTP boot. Sans-IO like [`crate::client`]: datagrams and TCP segments in,
//! datagrams ([`Send`]) and segments ([`HttpBoot::tcp_out`]) out. See docs/MODEL.md.
//!
//! The firmware, as the captures show (`tests/fixtures/firmware/*-http4.pcap`):
//! 1. DHCP DISCOVER with option 60 `HTTPClient:Arch:000NN:UNDI:003000`
//!    ([`firmware::http_model`]) at 0 s and again after 4, 8, 16 s; it collects offers
//!    until its current retransmission time (`Dhcp4Dxe`), then takes an address offer
//!    that names a boot file URL, else an address offer together with a proxy offer
//!    that does (`HttpBootSelectDhcpOffer`), and sends its REQUEST (4 s after the first
//!    DISCOVER in the captures), resent after 4, 8, 16, 32 s. Nothing usable by 60 s:
//!    `no_offer`. These timers are the profile's, as PXE's (`client/dhcp.rs`): its
//!    `http4` model is `dhcp4` with HTTP boot's options, so `retransmit`,
//!    `request_retransmit`, `timing.offer_collection`, `selects_offer_at_timeout` and
//!    `proxy_offer_wait` (the built-in profiles' values are the times above, which
//!    `HttpBootDxe`'s `mHttpDhcpTimeout` and the captures show).
//! 2. After the DHCPACK, `HEAD` then `GET` of the boot program's URL with `Host`,
//!    `Accept: */*` and `User-Agent: UefiHttpBoot/1.0`, on one connection while the
//!    server keeps it open (`HttpDxe` reconnects, after a reset of the old one, when
//!    the server answered HTTP/1.0 or `Connection: close`, as the captures' Python
//!    server did); the connection is reset (RST) when the download is done
//!    (`HttpBootStop`, `AbortOnClose`). No byte for 5 s (`PcdHttpIoTimeout`) fails the
//!    boot.
//! 3. The boot program (images/uefi/bootprog.c under HTTP boot) asks the same server,
//!    on a new connection, for its parameters `smstemp/<mac>.<class>.var` and then the
//!    boot image at their `image_path`, both by GET with the firmware's headers; a 404
//!    for the parameters is "no boot action" (`no_offer`), as TFTP error 1 is over PXE.
//!    The prompt is the PXE boot program's (R-PROMPT-1, R-PROMPT-2).

use crate::client::{gave_up, BootResult, Outcome, Send, Trace, MAX_RESTARTS, PROMPT_TIMEOUT};
use crate::tcp::{self, Segment, Tcb, TcpConfig};
use pxelab_engine::bootfiles::{self, BootParams};
use pxelab_engine::dhcp::firmware::{self, FirmwareModel, Profile};
use pxelab_engine::dhcp::packet::{self as dhcp_packet, MessageType};
use pxelab_engine::policy::{ClientClass, Purpose};
use pxelab_engine::{Guid, Instant, Mac};
use rand::RngExt as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4};
use std::time::Duration;

#[cfg(test)]
mod dhcp_timers_tests;
mod message;
pub use message::{http_request, Url};
use message::{read_response, Response};

/// `PcdHttpIoTimeout`: how long the firmware waits for the next bytes of a response.
pub const HTTP_IO_TIMEOUT: Duration = Duration::from_secs(5);
/// EDK2 TcpDxe's first local port is drawn once per boot in 1024..=2047
/// (`TCP_PORT_KNOWN + Random % TCP_PORT_KNOWN`, TcpDriver.c), then each connection takes
/// the next (the captures: 1858 and 1859, 1029 and 1030, 1630 and 1631).
const FIRST_PORT: u16 = 1024;
/// The captured firmware's initial sequence numbers (TcpDxe before the fix of
/// CVE-2023-45236): one global counter drawn at the driver's start (`Random %
/// TCP_BASE_ISS`), 2048 more for each connection (`TCP_ISS_INCREMENT_1`) and 100 more
/// at each 200 ms tick (`TCP_ISS_INCREMENT_2`); the six HTTP captures' second SYN is
/// 2048 or 2148 after the first.
const ISS_STEP: u32 = 2048;
const ISS_TICK_STEP: u32 = 100;
const TCP_TICK: Duration = Duration::from_millis(200);
const TCP_BASE_ISS: u32 = 0x4d7e_980b;

#[derive(Clone, Debug)]
struct Offer {
    server: Ipv4Addr,
    yiaddr: Ipv4Addr,
    /// The boot file URL it names (`HttpOfferTypeDhcpIpUri`).
    url: Option<String>,
}

#[derive(Clone, Debug)]
enum Stage {
    /// The firmware asks for the size first (`HEAD`).
    Head,
    Nbp,
    Params,
    Image(BootParams),
}

enum Phase {
    Idle,
    Discover {
        xid: u32,
        started: Instant,
        tx: usize,
        secs: u16,
        next: Instant,
        offer: Option<Offer>,
        proxy: Option<(Ipv4Addr, String)>,
    },
    Request {
        xid: u32,
        tx: usize,
        secs: u16,
        next: Instant,
        offer: Offer,
        url: String,
    },
    Fetch {
        url: Url,
        stage: Stage,
    },
    Prompt {
        until: Instant,
        params: BootParams,
        url: Url,
    },
    Done,
}

struct Conn {
    tcb: Tcb,
    /// The server said it closes (or closed): not reused.
    spent: bool,
    resp: Response,
    head_only: bool,
    keep_body: bool,
    /// Last byte received (or the request sent): `PcdHttpIoTimeout` runs from here.
    progress: Instant,
}

/// One client's HTTP boot.
pub struct HttpBoot {
    model: &'static FirmwareModel,
    mac: Mac,
    guid: Option<Guid>,
    class: ClientClass,
    press_key: bool,
    verify: bool,
    pub ip: Option<Ipv4Addr>,
    /// The leased IPv6 address of a boot by `http6` (its DHCPv6 is the client's).
    ip6: Option<Ipv6Addr>,
    phase: Phase,
    conn: Option<Conn>,
    next_port: u16,
    /// The ISN counter at `iss_since` (less the ticks since).
    next_iss: u32,
    iss_since: Instant,
    connections: u32,
    xid_counter: u32,
    restarts: u32,
    answered: bool,
    served_by: Option<IpAddr>,
    chosen: Option<(String, String)>,
    boot_started: Instant,
    /// Segments to put on the wire.
    pub tcp_out: Vec<Segment>,
    /// Timeline lines since the last [`HttpBoot::take_notes`].
    notes: Vec<Trace>,
    pub result: Option<BootResult>,
    /// HttpBootStop has run (the boot program is in): over IPv6 the firmware releases
    /// its DHCPv6 address then (the HTTPv6 captures).
    pub stopped: bool,
}

impl HttpBoot {
    /// `None` for firmware without UEFI HTTP boot (BIOS).
    pub fn new(
        profile: &'static Profile,
        mac: Mac,
        guid: Option<Guid>,
        class: ClientClass,
        press_key: bool,
        verify: bool,
    ) -> Option<HttpBoot> {
        let model = profile.http4.as_ref()?;
        let m = mac.0;
        let spread = u16::from_be_bytes([m[4], m[5]]) % 30000;
        Some(HttpBoot {
            model,
            mac,
            guid,
            class,
            press_key,
            verify,
            ip: None,
            ip6: None,
            phase: Phase::Idle,
            conn: None,
            next_port: FIRST_PORT + spread,
            next_iss: u32::from_be_bytes([m[2], m[3], m[4], m[5]]),
            iss_since: Instant::ZERO,
            connections: 0,
            xid_counter: 0,
            restarts: 0,
            answered: false,
            served_by: None,
            chosen: None,
            boot_started: Instant::ZERO,
            tcp_out: Vec::new(),
            notes: Vec::new(),
            result: None,
            stopped: false,
        })
    }

    /// The TCP driver's draw at its start, `now` (the simulator's from the scenario's
    /// seed): the first local port, `1024 + r % 1024`, and the ISN counter, `r %
    /// TCP_BASE_ISS`, from the one number as TcpDxe takes them.
    pub fn draw_tcp(&mut self, now: Instant, r: u32) {
        self.next_port = FIRST_PORT + (r % u32::from(FIRST_PORT)) as u16;
        self.next_iss = r % TCP_BASE_ISS;
        self.iss_since = now;
    }

    fn note(&mut self, now: Instant, text: impl Into<String>) {
        self.notes.push(Trace {
            at: now,
            text: text.into(),
        });
    }

    pub fn take_notes(&mut self) -> Vec<Trace> {
        std::mem::take(&mut self.notes)
    }

    pub fn is_busy(&self) -> bool {
        !matches!(self.phase, Phase::Idle | Phase::Done)
    }

    pub fn boot(&mut self, now: Instant, out: &mut Vec<Send>) {
        self.boot_started = now;
        self.note(now, "HTTP boot (IPv4)");
        self.start_discover(now, out);
    }

    /// Boot by `http6` once the client's DHCPv6 (client/http6.rs) leased `ip6` and
    /// found the boot file `url`: `HEAD` and `GET` over IPv6 to the URL's
    /// `[address]:port`, then the boot program's requests, as over IPv4.
    pub fn boot_from_url6(&mut self, now: Instant, started: Instant, ip6: Ipv6Addr, url: &str) {
        self.boot_started = started;
        self.ip6 = Some(ip6);
        self.answered = true;
        match Url::parse(url).filter(|u| u.server.is_ipv6()) {
            Some(u) => {
                self.served_by = Some(u.server.ip());
                self.fetch(now, u, Stage::Head);
            }
            None => {
                self.note(
                    now,
                    format!("boot file URL {url} is not http://[address]/path"),
                );
                self.give_up(now);
            }
        }
    }

    fn new_xid(&mut self) -> u32 {
        self.xid_counter = self.xid_counter.wrapping_add(1);
        let m = self.mac.0;
        // A new transaction each boot, as the firmware draws one (the model is
        // recreated per boot, so the boot's start time tells boots apart).
        u32::from_be_bytes([m[5], m[4] ^ 0x48, m[3], m[2] ^ 0x54])
            ^ self.xid_counter.wrapping_mul(0x9e37_79b9)
            ^ (self.boot_started.as_nanos() / 1_000_000) as u32
    }

    fn start_discover(&mut self, now: Instant, out: &mut Vec<Send>) {
        let xid = self.new_xid();
        self.ip = None;
        self.phase = Phase::Discover {
            xid,
            started: now,
            tx: 0,
            secs: 0,
            next: now,
            offer: None,
            proxy: None,
        };
        self.send_discover(now, out);
    }

    fn send_discover(&mut self, now: Instant, out: &mut Vec<Send>) {
        let Phase::Discover {
            xid,
            started,
            tx,
            secs,
            next,
            ..
        } = &mut self.phase
        else {
            return;
        };
        *tx += 1;
        // Dhcp4Dxe's elapsed seconds (0, 4, 12, 28 in the captures).
        *secs = now.saturating_since(*started).as_secs().min(0xffff) as u16;
        *next = crate::client::discover_deadline(self.model, *started, *tx);
        let (x, s, n) = (*xid, *secs, *tx);
        let payload = firmware::build_discover(self.model, self.mac, self.guid, x, s);
        out.push(Send {
            src: SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 68),
            dst: SocketAddrV4::new(Ipv4Addr::BROADCAST, 67),
            payload,
        });
        self.note(
            now,
            format!("DHCPDISCOVER #{n} (HTTPClient) xid={x:08x} secs={s}"),
        );
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        match &self.phase {
            Phase::Idle | Phase::Done => None,
            Phase::Discover { next, .. } | Phase::Request { next, .. } => Some(*next),
            Phase::Prompt { until, .. } => Some(*until),
            Phase::Fetch { .. } => {
                let c = self.conn.as_ref()?;
                let io = c.progress + HTTP_IO_TIMEOUT;
                Some(c.tcb.poll_timeout().map_or(io, |t| t.min(io)))
            }
        }
    }

    pub fn handle_timeout(&mut self, now: Instant, out: &mut Vec<Send>) {
        match &mut self.phase {
            Phase::Discover {
                next,
                tx,
                offer,
                proxy,
                xid,
                secs,
                started,
            } => {
                if *next > now {
                    return;
                }
                let (tx, x, s) = (*tx, *xid, *secs);
                // An address offer without a URL, no proxy offer, and the firmware's wait
                // for one over (`proxy_offer_wait`, as `client/dhcp.rs`).
                let waited = now.saturating_since(*started);
                let unpaired = offer.clone().filter(|o| o.url.is_none() && proxy.is_none());
                // The collection window is over: take the best pair (R-HTTP-1).
                if self.request_chosen(now, out) {
                    return;
                }
                let wait = self.model.proxy_offer_wait_secs;
                if let (Some(o), Some(w)) = (unpaired, wait) {
                    if waited > Duration::from_secs(w) {
                        self.send_request(now, x, s, &o, out);
                        self.note(
                            now,
                            format!("no HTTP boot offer within {w} s of the address offer: nothing to boot"),
                        );
                        self.give_up(now);
                        return;
                    }
                }
                if tx >= self.model.retransmit.len() {
                    self.note(now, "no HTTP boot offer received: HTTP boot gives up");
                    self.give_up(now);
                } else {
                    self.send_discover(now, out);
                }
            }
            Phase::Request {
                next,
                tx,
                xid,
                secs,
                offer,
                ..
            } => {
                if *next > now {
                    return;
                }
                let waits = &self.model.request_retransmit;
                if *tx >= waits.len() {
                    self.note(now, "no DHCPACK: restarting discovery");
                    if self.restarts < MAX_RESTARTS {
                        self.restarts += 1;
                        self.start_discover(now, out);
                    } else {
                        self.give_up(now);
                    }
                    return;
                }
                *tx += 1;
                *next = now + Duration::from_secs(waits[*tx - 1]);
                let (x, s, o) = (*xid, *secs, offer.clone());
                self.send_request(now, x, s, &o, out);
            }
            Phase::Prompt { until, params, url } => {
                if *until > now {
                    return;
                }
                let (p, s) = (params.clone(), url.server.ip());
                self.note(now, "no key pressed at the prompt: next boot device");
                self.finish(now, Outcome::Declined, Some(&p), Some(s));
            }
            Phase::Fetch { .. } => {
                let Some(c) = &mut self.conn else {
                    return;
                };
                c.tcb.handle_timeout(now);
                if c.progress + HTTP_IO_TIMEOUT <= now {
                    self.note(now, "HTTP: no data for 5 s (PcdHttpIoTimeout)");
                    self.abort_conn(now);
                    self.give_up(now);
                    return;
                }
                self.after_tcp(now);
            }
            Phase::Idle | Phase::Done => {}
        }
    }

    /// The address offer to request and its boot file URL, once the offers make a way to
    /// boot (R-HTTP-1): an address offer naming a URL itself, else one with a proxy
    /// offer that names one. A firmware that waits for a proxy offer
    /// (`proxy_offer_wait`) takes an address offer's own URL only once that wait from
    /// the first DISCOVER is over, as PXE a DHCP server's own boot file.
    fn chosen(&self, now: Instant) -> Option<(Offer, String)> {
        let Phase::Discover {
            started,
            offer: Some(o),
            proxy,
            ..
        } = &self.phase
        else {
            return None;
        };
        if let Some(own) = &o.url {
            let wait = self.model.proxy_offer_wait_secs.map(Duration::from_secs);
            let awaits_proxy =
                proxy.is_none() && wait.is_some_and(|w| now.saturating_since(*started) <= w);
            return (!awaits_proxy).then(|| (o.clone(), own.clone()));
        }
        proxy.as_ref().map(|(_, u)| (o.clone(), u.clone()))
    }

    /// Sends the REQUEST for the chosen offer ([`Self::chosen`]), if there is one yet.
    fn request_chosen(&mut self, now: Instant, out: &mut Vec<Send>) -> bool {
        let Some((o, url)) = self.chosen(now) else {
            return false;
        };
        let Phase::Discover { xid, secs, .. } = self.phase else {
            return false;
        };
        self.phase = Phase::Request {
            xid,
            tx: 1,
            secs,
            next: now + Duration::from_secs(self.model.request_retransmit[0]),
            offer: o.clone(),
            url,
        };
        self.send_request(now, xid, secs, &o, out);
        true
    }

    fn send_request(&mut self, now: Instant, xid: u32, secs: u16, o: &Offer, out: &mut Vec<Send>) {
        let payload = firmware::build_request(
            self.model, self.mac, self.guid, xid, secs, o.yiaddr, o.server,
        );
        out.push(Send {
            src: SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 68),
            dst: SocketAddrV4::new(Ipv4Addr::BROADCAST, 67),
            payload,
        });
        let y = o.yiaddr;
        self.note(now, format!("DHCPREQUEST for {y}"));
    }

    /// A datagram for this client: DHCP replies only.
    pub fn handle_datagram(
        &mut self,
        now: Instant,
        src: SocketAddrV4,
        dst: SocketAddrV4,
        payload: &[u8],
        out: &mut Vec<Send>,
    ) {
        if dst.port() != 68 {
            return;
        }
        let Ok(p) = dhcp_packet::parse(payload) else {
            return;
        };
        if p.op != 2 || p.chaddr != Some(self.mac) {
            return;
        }
        let server = p.server_id.unwrap_or(*src.ip());
        match &mut self.phase {
            Phase::Discover {
                xid, offer, proxy, ..
            } if p.xid == *xid && p.message_type == Some(MessageType::Offer) => {
                let url = firmware::offer_url(&p);
                if p.yiaddr != Ipv4Addr::UNSPECIFIED {
                    if offer.is_none() {
                        let o = Offer {
                            server,
                            yiaddr: p.yiaddr,
                            url: url.clone(),
                        };
                        *offer = Some(o);
                        let y = p.yiaddr;
                        self.note(now, format!("DHCPOFFER from {server}: {y}"));
                    }
                    if url.is_some() {
                        self.answered = true;
                    }
                } else if let Some(u) = url {
                    // R-ANS-7 as over PXE: the first proxy offer wins.
                    if proxy.is_none() {
                        *proxy = Some((server, u.clone()));
                        self.answered = true;
                        self.note(now, format!("HTTP boot proxy offer from {server}: {u}"));
                    } else {
                        self.note(now, format!("ignoring later HTTP offer from {server}"));
                    }
                }
                // A firmware that does not collect offers takes the first usable pair.
                if !self.model.selects_offer_at_timeout {
                    self.request_chosen(now, out);
                }
            }
            Phase::Request {
                xid, offer, url, ..
            } if p.xid == *xid => match p.message_type {
                Some(MessageType::Ack) => {
                    let (ip, u) = (offer.yiaddr, url.clone());
                    self.ip = Some(ip);
                    self.note(now, format!("DHCPACK: address {ip}"));
                    let Some(url) = Url::parse(&u).filter(|u| u.server.is_ipv4()) else {
                        self.note(
                            now,
                            format!("boot file URL {u} not usable (IPv4 http:// only)"),
                        );
                        self.give_up(now);
                        return;
                    };
                    self.served_by = Some(url.server.ip());
                    self.fetch(now, url, Stage::Head);
                }
                Some(MessageType::Nak) => {
                    self.note(now, "DHCPNAK: restarting discovery");
                    self.start_discover(now, out);
                }
                _ => {}
            },
            _ => {}
        }
    }

    /// Send the request of `stage` for `url`, on the open connection if the server
    /// keeps it, else on a new one (resetting the old, as `HttpDxe` does).
    fn fetch(&mut self, now: Instant, url: Url, stage: Stage) {
        let head_only = matches!(stage, Stage::Head);
        let method = if head_only { "HEAD" } else { "GET" };
        let request = http_request(method, &url.path, &url.host);
        let reuse = self.conn.as_ref().is_some_and(|c| {
            !c.spent && c.tcb.is_established() && !c.tcb.peer_closed() && c.tcb.remote == url.server
        });
        if !reuse {
            self.abort_conn(now);
            let ip = match url.server {
                SocketAddr::V4(_) => IpAddr::V4(self.ip.unwrap_or(Ipv4Addr::UNSPECIFIED)),
                SocketAddr::V6(_) => IpAddr::V6(self.ip6.unwrap_or(Ipv6Addr::UNSPECIFIED)),
            };
            let local = SocketAddr::new(ip, self.next_port);
            self.next_port = if self.next_port == u16::MAX {
                FIRST_PORT
            } else {
                self.next_port + 1
            };
            self.connections += 1;
            let ticks = now.saturating_since(self.iss_since).as_millis() / TCP_TICK.as_millis();
            let iss = self
                .next_iss
                .wrapping_add(ISS_STEP)
                .wrapping_add(ISS_TICK_STEP.wrapping_mul(ticks as u32));
            self.next_iss = self.next_iss.wrapping_add(ISS_STEP);
            let tcb = Tcb::connect(now, TcpConfig::edk2_for(local), local, url.server, iss);
            self.note(now, format!("TCP connect {local} -> {}", url.server));
            self.conn = Some(Conn {
                tcb,
                spent: false,
                resp: Response::default(),
                head_only,
                keep_body: false,
                progress: now,
            });
        }
        let verify = self.verify;
        let c = self.conn.as_mut().expect("a connection");
        c.resp = Response {
            crc: (verify && matches!(stage, Stage::Image(_))).then(crc32fast::Hasher::new),
            ..Response::default()
        };
        c.head_only = head_only;
        c.keep_body = matches!(stage, Stage::Params);
        c.progress = now;
        c.tcb.send(&request);
        let (p, h) = (url.path.clone(), url.host.clone());
        self.note(now, format!("HTTP {method} {p} (Host: {h})"));
        self.phase = Phase::Fetch { url, stage };
        self.after_tcp(now);
    }

    fn abort_conn(&mut self, now: Instant) {
        if let Some(mut c) = self.conn.take() {
            if !c.tcb.is_closed() {
                c.tcb.abort();
                c.tcb.take_output(now, &mut self.tcp_out);
            }
        }
    }

    /// A TCP segment for this client's address.
    pub fn handle_tcp(&mut self, now: Instant, seg: &Segment) {
        let mine = self
            .conn
            .as_ref()
            .is_some_and(|c| c.tcb.local == seg.dst && c.tcb.remote == seg.src);
        if !mine {
            // Nothing listens here: answer RST (a late segment of a reset connection).
            if let Some(rst) = tcp::reset_for(seg) {
                self.tcp_out.push(rst);
            }
            return;
        }
        if let Some(c) = &mut self.conn {
            c.tcb.handle_segment(now, seg);
        }
        self.after_tcp(now);
    }

    /// Reads what arrived, moves the boot on when a response is whole, flushes output.
    fn after_tcp(&mut self, now: Instant) {
        let Some(c) = &mut self.conn else {
            return;
        };
        // EDK2 acknowledges a segment before HttpDxe reads it: the ACK's window is less
        // the segment's bytes (the captures: 65342 after 193 bytes, 64075 after a
        // 1460-byte segment that completed a delayed ACK).
        c.tcb.take_output(now, &mut self.tcp_out);
        let data = c.tcb.read();
        if !data.is_empty() {
            c.progress = now;
            read_response(c, &data);
        }
        // A window update, if reading opened a window the ACK had nearly closed.
        c.tcb.take_output(now, &mut self.tcp_out);
        let whole = c.resp.status.is_some() && (c.head_only || c.resp.got >= c.resp.length);
        let failed = c.tcb.failure();
        let peer_closed = c.tcb.peer_closed();
        if whole {
            self.response_done(now);
        } else if let Some(f) = failed {
            self.note(now, format!("TCP connection failed: {f:?}"));
            self.conn = None;
            self.give_up(now);
        } else if peer_closed {
            self.note(now, "HTTP: the server closed the connection mid-response");
            self.abort_conn(now);
            self.give_up(now);
        }
    }

    fn response_done(&mut self, now: Instant) {
        let Phase::Fetch { url, stage } = &self.phase else {
            return;
        };
        let (url, stage) = (url.clone(), stage.clone());
        let Some(c) = &mut self.conn else {
            return;
        };
        let status = c.resp.status.unwrap_or(0);
        let length = c.resp.length;
        let body = std::mem::take(&mut c.resp.body);
        let crc = c.resp.crc.take().map(|h| h.finalize());
        if c.resp.close {
            c.spent = true;
        }
        self.note(
            now,
            format!("HTTP {status} for {}: Content-Length {length}", url.path),
        );
        match stage {
            Stage::Head | Stage::Nbp if status != 200 => {
                self.abort_conn(now);
                self.give_up(now);
            }
            Stage::Head => self.fetch(now, url, Stage::Nbp),
            Stage::Nbp => {
                // HttpBootStop resets the connection; the boot program runs.
                self.abort_conn(now);
                self.stopped = true;
                self.note(now, "boot program started");
                let path = bootfiles::params_path(self.mac, self.class);
                self.fetch(now, url.sibling(&path), Stage::Params);
            }
            Stage::Params => {
                if status == 404 {
                    self.abort_conn(now);
                    self.note(now, "boot program: no boot action, HTTP boot aborted");
                    self.finish(now, Outcome::NoOffer, None, None);
                    return;
                }
                let parsed = match status {
                    200 => BootParams::parse(&String::from_utf8_lossy(&body)),
                    s => Err(format!("HTTP status {s}")),
                };
                let params = match parsed {
                    Ok(p) => p,
                    Err(e) => {
                        self.abort_conn(now);
                        self.note(now, format!("bad boot parameters: {e}"));
                        let s = url.server.ip();
                        self.finish(now, Outcome::Failed, None, Some(s));
                        return;
                    }
                };
                self.chosen = Some((params.boot_image.clone(), params.deployment.clone()));
                if params.prompt || params.purpose == Purpose::Available {
                    if self.press_key {
                        self.note(now, "prompt: user pressed Enter");
                        self.fetch_image(now, url, params);
                    } else {
                        self.note(now, "prompt: press Enter for network boot");
                        self.abort_conn(now);
                        self.phase = Phase::Prompt {
                            until: now + PROMPT_TIMEOUT,
                            params,
                            url,
                        };
                    }
                } else {
                    self.fetch_image(now, url, params);
                }
            }
            Stage::Image(params) => {
                self.abort_conn(now);
                let s = url.server.ip();
                if status != 200 {
                    self.finish(now, Outcome::Failed, Some(&params), Some(s));
                } else if length != params.image_size {
                    self.note(
                        now,
                        format!("boot image size {length} != expected {}", params.image_size),
                    );
                    self.finish(now, Outcome::Failed, Some(&params), Some(s));
                } else if let (Some(want), Some(got)) = (params.image_crc32, crc) {
                    if want != got {
                        self.note(now, format!("boot image CRC {got:08x} != {want:08x}"));
                        self.finish(now, Outcome::Failed, Some(&params), Some(s));
                    } else {
                        self.note(now, "boot image verified; started");
                        self.finish(now, Outcome::Booted, Some(&params), Some(s));
                    }
                } else {
                    self.note(now, "boot image started");
                    self.finish(now, Outcome::Booted, Some(&params), Some(s));
                }
            }
        }
    }

    fn fetch_image(&mut self, now: Instant, url: Url, params: BootParams) {
        let u = url.sibling(&params.image_path.replace('\\', "/"));
        self.fetch(now, u, Stage::Image(params));
    }

    fn give_up(&mut self, now: Instant) {
        self.finish(now, gave_up(self.answered), None, self.served_by);
    }

    fn finish(
        &mut self,
        now: Instant,
        outcome: Outcome,
        params: Option<&BootParams>,
        server: Option<IpAddr>,
    ) {
        let served_by = server.or(self.served_by);
        self.note(now, format!("outcome: {}", outcome.as_str()));
        self.result = Some(BootResult::finished(
            outcome,
            params,
            &self.chosen,
            served_by,
            self.boot_started,
            now,
        ));
        self.phase = Phase::Done;
    }
}

// The simulated client's side: a boot by `netboot: http4` runs an [`HttpBoot`] in the
// client's place (client.rs hands its calls over), and its lines, address and result
// are the client's.
impl crate::client::Client {
    /// Power on (or reboot) and boot by UEFI HTTP boot over IPv4.
    pub(crate) fn boot_http(&mut self, now: Instant, out: &mut Vec<Send>) {
        let Some(mut h) = HttpBoot::new(
            self.profile,
            self.mac,
            self.guid,
            self.class,
            self.press_key,
            self.verify,
        ) else {
            // The scenario loader refuses this (no HTTP boot option on BIOS).
            return;
        };
        h.draw_tcp(now, self.draws.random());
        h.boot(now, out);
        self.http = Some(Box::new(h));
        self.sync_http();
    }

    /// Hands a call to the HTTP boot in progress; false when there is none.
    pub(crate) fn with_http(&mut self, f: impl FnOnce(&mut HttpBoot)) -> bool {
        let Some(h) = self.http.as_mut() else {
            return false;
        };
        f(h);
        self.sync_http();
        true
    }

    pub(crate) fn sync_http(&mut self) {
        let Some(h) = self.http.as_mut() else {
            return;
        };
        self.ip = h.ip;
        if std::mem::take(&mut h.stopped) {
            self.release_http6();
        }
        let Some(h) = self.http.as_mut() else {
            return;
        };
        if let Some(r) = h.result.take() {
            self.result = Some(r);
        }
        let notes = h.take_notes();
        if let Some(t) = &mut self.trace {
            t.extend(notes);
        }
    }

    /// A TCP segment for this client.
    pub fn handle_tcp(&mut self, now: Instant, seg: &Segment) {
        self.with_http(|h| h.handle_tcp(now, seg));
    }

    /// The segments it wants sent, if any (`None` for most calls: not an HTTP boot, or
    /// nothing to send).
    pub fn take_tcp(&mut self) -> Option<Vec<Segment>> {
        let h = self.http.as_mut().filter(|h| !h.tcp_out.is_empty())?;
        Some(std::mem::take(&mut h.tcp_out))
    }
}
