//! A client's PXE boot over IPv6 (`netboot: pxe6`), played with the firmware's IPv6
//! model (`engine/src/dhcp6/firmware.rs`): Solicit to ff02::1:2 from the link-local
//! address, Advertises collected as the firmware does, Request for the DHCPv6 server's
//! address, then (EDK2) the boot request to the proxy's port 4011, then TFTP over IPv6
//! from the leased address: the boot program, its parameters, the prompt and the boot
//! image as over IPv4 (docs/MODEL.md, "IPv6").

use super::{tftp_timing, Client, Outcome, PROMPT_TIMEOUT};
use crate::ipv6::{link_local, ALL_DHCP};
use pxelab_engine::bootfiles::{self, BootParams};
use pxelab_engine::dhcp6::firmware::{parse_tftp_url, Firmware6, Offer6};
use pxelab_engine::dhcp6::http_firmware::is_http6_url;
use pxelab_engine::dhcp6::{self, Message6};
use pxelab_engine::policy::Purpose;
use pxelab_engine::tftp::client::{ClientConfig, ClientStatus, ClientTransfer};
use pxelab_engine::tftp::packet::{self as tftp_packet, Packet};
use pxelab_engine::Instant;
use rand::RngExt as _;
use std::net::{IpAddr, Ipv6Addr, SocketAddrV6};
use std::time::Duration;

/// EDK2's network stack polls the NIC every 10 ms (`MNP_SYS_POLL_INTERVAL`): an
/// Advertise with preference 255 is selected at that poll, with whatever else came in it.
const MNP_POLL: Duration = Duration::from_millis(10);

/// How long EDK2 waits for the proxy's answer on port 4011 before it tries the next one.
const BOOT_REQUEST_WAIT: Duration = Duration::from_secs(4);

/// An IPv6 datagram the client wants sent.
#[derive(Debug)]
pub struct Send6 {
    pub src: SocketAddrV6,
    pub dst: SocketAddrV6,
    pub payload: Vec<u8>,
}

#[derive(Clone, Debug)]
enum Stage {
    SizeProbe,
    Nbp,
    Params,
    Image(BootParams),
}

enum Phase {
    Solicit {
        tx: usize,
        next: Instant,
        /// The first retransmission time has passed: an Advertise is taken at once.
        collected: bool,
        dhcp: Option<Offer6>,
        proxies: Vec<Offer6>,
    },
    Request {
        tx: usize,
        next: Instant,
        offer: Offer6,
        proxies: Vec<Offer6>,
        xid: [u8; 3],
    },
    /// The address is set (after the route wait) and checked (duplicate address
    /// detection) until `until`; then the boot file URL is read.
    AddressWait { until: Instant, url: Option<String> },
    BootRequest {
        next: Instant,
        proxies: Vec<Offer6>,
        server: Ipv6Addr,
    },
    Tftp {
        stage: Stage,
        server: Ipv6Addr,
        port: u16,
        transfer: Box<ClientTransfer>,
        file: String,
    },
    Prompt {
        until: Instant,
        params: BootParams,
        server: Ipv6Addr,
    },
}

/// What to do once the boot's state is no longer borrowed.
enum Next {
    Nothing,
    Select,
    Solicit,
    Request(Offer6),
    AfterAddress,
    AskProxy,
    SetAddress(Option<String>),
    Tftp,
    GiveUp(&'static str),
    Declined(BootParams, Ipv6Addr),
}

/// The state of one IPv6 boot.
pub struct Boot6 {
    model: &'static Firmware6,
    phase: Phase,
    xid: [u8; 3],
    /// The IA_NA's IAID: the firmware's own (iPXE) or drawn at each start (EDK2).
    iaid: u32,
    started: Instant,
    served_by: Option<Ipv6Addr>,
    /// The Reply's server identifier and IA_NA (HTTP boot releases them when it stops).
    pub(super) lease: Option<(Vec<u8>, Vec<u8>)>,
}

impl Client {
    pub(super) fn ll6(&self) -> Ipv6Addr {
        link_local(self.mac)
    }

    fn elapsed_cs(&self, now: Instant) -> u16 {
        let b = self.six.as_ref().map_or(now, |b| b.started);
        (now.saturating_since(b).as_millis() / 10).min(u128::from(u16::MAX)) as u16
    }

    /// Power on and boot by PXE over IPv6.
    pub(super) fn boot6(&mut self, now: Instant) {
        self.start6(now, self.model6, "PXE over IPv6 (pxe6)");
    }

    /// Starts the firmware's DHCPv6 with `model`: PXE's, or HTTP boot's (http6.rs).
    pub(super) fn start6(&mut self, now: Instant, model: &'static Firmware6, what: &'static str) {
        self.ip6 = None;
        // Transaction ids come from one counter, drawn anew at each start; each new
        // message takes the next (EDK2's numbering in the captures).
        self.xid6 = None;
        let iaid = match model.fixed_iaid(self.mac) {
            Some(i) => i,
            None => self.draws.random::<u32>(),
        };
        // EDK2's IPv6 stack may solicit its own address first (stack6.rs).
        let first = self.start_stack6(now);
        self.six = Some(Box::new(Boot6 {
            model,
            phase: Phase::Solicit {
                tx: 0,
                next: first,
                collected: false,
                dhcp: None,
                proxies: Vec::new(),
            },
            xid: [0; 3],
            iaid,
            started: first,
            served_by: None,
            lease: None,
        }));
        self.note(now, || what.into());
        if first <= now {
            self.send_solicit(now);
        }
    }

    fn send_solicit(&mut self, now: Instant) {
        let elapsed = self.elapsed_cs(now);
        let (mac, guid, ll) = (self.mac, self.guid, self.ll6());
        let first = matches!(
            self.six.as_ref().map(|b| &b.phase),
            Some(Phase::Solicit { tx: 0, .. })
        );
        let new_xid = first.then(|| self.next_xid6());
        let Some(b) = self.six.as_mut() else { return };
        if let Some(x) = new_xid {
            b.xid = x;
        }
        let Phase::Solicit { tx, next, .. } = &mut b.phase else {
            return;
        };
        let model = b.model;
        let payload = model.solicit(mac, guid, b.xid, elapsed, b.iaid);
        *tx += 1;
        *next = match model.solicit_at.get(*tx) {
            Some(d) => b.started + *d,
            None => b.started + model.give_up,
        };
        let n = *tx;
        self.sends6.push(Send6 {
            src: SocketAddrV6::new(ll, dhcp6::CLIENT_PORT, 0, 0),
            dst: SocketAddrV6::new(ALL_DHCP, dhcp6::SERVER_PORT, 0, 0),
            payload,
        });
        self.note(now, || format!("DHCPv6 Solicit #{n} elapsed={elapsed}"));
    }

    pub(super) fn poll_timeout6(&self) -> Option<Instant> {
        let b = self.six.as_ref()?;
        let own = match &b.phase {
            Phase::Solicit { next, .. }
            | Phase::Request { next, .. }
            | Phase::BootRequest { next, .. } => Some(*next),
            Phase::AddressWait { until, .. } | Phase::Prompt { until, .. } => Some(*until),
            Phase::Tftp { transfer, .. } => transfer.poll_timeout(),
        };
        match (own, self.poll_stack6()) {
            (Some(a), Some(s)) => Some(a.min(s)),
            (a, s) => a.or(s),
        }
    }

    pub(super) fn handle_timeout6(&mut self, now: Instant) {
        self.stack6_timeout(now);
        let Some(mut b) = self.six.take() else { return };
        let model = b.model;
        let mut payloads = Vec::new();
        let next = match &mut b.phase {
            Phase::Solicit {
                tx,
                next,
                collected,
                dhcp,
                ..
            } if *next <= now && *tx == 0 => Next::Solicit,
            Phase::Solicit {
                tx,
                next,
                collected,
                dhcp,
                ..
            } if *next <= now => {
                *collected = true;
                if dhcp.is_some() || (model.takes_proxy && self.answered) {
                    Next::Select
                } else if *tx >= model.solicit_at.len() {
                    Next::GiveUp("no DHCPv6 Advertise taken: PXE gives up")
                } else {
                    Next::Solicit
                }
            }
            Phase::Request {
                tx, next, offer, ..
            } if *next <= now => match model.request_gap(*tx as u32) {
                None => Next::GiveUp("no DHCPv6 Reply with an address: PXE gives up"),
                Some(gap) => {
                    *tx += 1;
                    *next = now + gap;
                    Next::Request(offer.clone())
                }
            },
            Phase::AddressWait { until, .. } if *until <= now => Next::AfterAddress,
            Phase::BootRequest { next, .. } if *next <= now => Next::AskProxy,
            Phase::Tftp { transfer, .. } => {
                transfer.handle_timeout(now, &mut payloads);
                Next::Tftp
            }
            Phase::Prompt {
                until,
                params,
                server,
            } if *until <= now => Next::Declined(params.clone(), *server),
            _ => Next::Nothing,
        };
        self.six = Some(b);
        match next {
            Next::Nothing => {}
            Next::Select => self.select(now),
            Next::GiveUp(why) => {
                self.note(now, || why.into());
                self.give_up6(now);
            }
            Next::Solicit => self.send_solicit(now),
            Next::Request(o) => self.send_request6(now, &o),
            Next::AfterAddress => self.after_address(now),
            Next::AskProxy => {
                self.note(now, || "no answer on port 4011".into());
                self.next_proxy(now);
            }
            Next::Tftp => {
                self.flush_tftp6(payloads);
                self.check_tftp6(now);
            }
            Next::Declined(p, s) => {
                self.note(now, || {
                    "no key pressed at the prompt: next boot device".into()
                });
                self.finish6(now, Outcome::Declined, Some(&p), Some(s));
            }
            Next::SetAddress(_) => {}
        }
    }

    /// The collection is over: EDK2's selection (`PxeBcSelectDhcp6Offer`): the first
    /// address offer, with the proxies kept for the boot request; iPXE: the first
    /// address offer. Nothing usable: PXE aborts.
    fn select(&mut self, now: Instant) {
        let Some(b) = self.six.as_mut() else { return };
        let Phase::Solicit { dhcp, proxies, .. } = &mut b.phase else {
            return;
        };
        let model = b.model;
        let (dhcp, proxies) = (dhcp.take(), std::mem::take(proxies));
        let Some(offer) = dhcp else {
            self.note(now, || {
                "only proxy Advertises, no address: PXE aborts".into()
            });
            self.give_up6(now);
            return;
        };
        let mut offer = offer;
        if model.is_http() && offer.boot_file_url.is_none() {
            // HTTP boot: the address offer's own URL, else the proxy offer's
            // (`HttpBootSelectDhcpOffer`); no port-4011 exchange.
            offer.boot_file_url = proxies.first().and_then(|p| p.boot_file_url.clone());
            if offer.boot_file_url.is_none() {
                self.note(now, || {
                    "an address but no boot file URL: HTTP boot aborts".into()
                });
                self.give_up6(now);
                return;
            }
        }
        let has_url = offer.boot_file_url.is_some();
        if model.takes_proxy && proxies.is_empty() && !(offer.pxe && has_url) {
            self.note(now, || {
                "an address but no PXE offer (no proxy Advertise, no boot file URL): PXE aborts"
                    .into()
            });
            self.give_up6(now);
            return;
        }
        let gap = model.request_gap(0).unwrap_or(Duration::from_secs(1));
        b.phase = Phase::Request {
            tx: 1,
            next: now + gap,
            offer: offer.clone(),
            proxies,
            xid: [0; 3],
        };
        let xid = self.next_xid6();
        if let Some(Phase::Request { xid: x, .. }) = self.six.as_mut().map(|b| &mut b.phase) {
            *x = xid;
        }
        self.send_request6(now, &offer);
    }

    fn send_request6(&mut self, now: Instant, offer: &Offer6) {
        let elapsed = self.elapsed_cs(now);
        let (mac, guid, ll) = (self.mac, self.guid, self.ll6());
        let Some(b) = self.six.as_ref() else { return };
        let Phase::Request { xid, .. } = &b.phase else {
            return;
        };
        let payload = b.model.request(
            mac,
            guid,
            *xid,
            elapsed,
            &offer.server_id,
            offer.ia.as_deref().unwrap_or_default(),
        );
        self.sends6.push(Send6 {
            src: SocketAddrV6::new(ll, dhcp6::CLIENT_PORT, 0, 0),
            dst: SocketAddrV6::new(ALL_DHCP, dhcp6::SERVER_PORT, 0, 0),
            payload,
        });
        let a = offer.address.map(|a| a.to_string()).unwrap_or_default();
        self.note(now, || format!("DHCPv6 Request for {a}"));
    }

    /// A datagram over IPv6 for this client.
    pub fn handle_datagram6(
        &mut self,
        now: Instant,
        src: SocketAddrV6,
        dst: SocketAddrV6,
        payload: &[u8],
    ) {
        let Some(b) = self.six.as_ref() else {
            // A boot over IPv4: iPXE's IPv6 configuration may be running DHCPv6.
            if dst.port() == dhcp6::CLIENT_PORT {
                self.conf6_datagram(now, payload);
            }
            return;
        };
        if matches!(b.phase, Phase::Tftp { .. }) {
            self.on_tftp6(now, src, dst, payload);
            return;
        }
        let Ok(m) = Message6::decode(payload) else {
            return;
        };
        if self.stack6_datagram(now, &m) {
            return;
        }
        let Some(offer) = Offer6::read(&m) else {
            return;
        };
        let Some(mut b) = self.six.take() else { return };
        let model = b.model;
        let from = *src.ip();
        let mut notes = Vec::new();
        let want = match &b.phase {
            Phase::Request { xid, .. } => *xid,
            _ => b.xid,
        };
        let next = if offer.xid != want {
            Next::Nothing
        } else {
            match &mut b.phase {
                Phase::Solicit {
                    collected,
                    dhcp,
                    proxies,
                    next,
                    ..
                } if offer.msg_type == dhcp6::msg::ADVERTISE => {
                    if offer.address.is_some() && offer.preference == 255 && model.collect.is_some()
                    {
                        // RFC 8415 18.2.9, EDK2's Dhcp6HandleAdvertiseMsg: preference 255
                        // ends the collection (the lab's dnsmasq is authoritative: its
                        // Request went 7 ms after the Advertise).
                        *next = (*next).min(now + MNP_POLL);
                    }
                    if offer.address.is_some() {
                        notes.push(format!(
                            "DHCPv6 Advertise from {from}: address {}",
                            offer.address.map(|a| a.to_string()).unwrap_or_default()
                        ));
                        if dhcp.is_none() {
                            *dhcp = Some(offer.clone());
                        }
                    } else if model.is_http()
                        && offer.boot_file_url.as_deref().is_some_and(is_http6_url)
                    {
                        // HttpBootDxe's proxy offer: a boot file URL, no address.
                        notes.push(format!(
                            "DHCPv6 HTTP boot Advertise from {from}: {}",
                            offer.boot_file_url.clone().unwrap_or_default()
                        ));
                        if proxies.is_empty() {
                            proxies.push(offer.clone());
                        }
                        self.answered = true;
                    } else if offer.is_proxy() && model.takes_proxy {
                        notes.push(format!(
                            "DHCPv6 proxy Advertise from {from}: {}",
                            offer.boot_file_url.clone().unwrap_or_default()
                        ));
                        proxies.push(offer.clone());
                        self.answered = true;
                    } else {
                        notes.push(format!(
                            "ignoring an Advertise from {from} without an address"
                        ));
                    }
                    // iPXE takes the first usable Advertise at once; EDK2 once its
                    // collection is over.
                    if dhcp.is_some() && (*collected || model.collect.is_none()) {
                        Next::Select
                    } else {
                        Next::Nothing
                    }
                }
                Phase::Request {
                    offer: taken,
                    proxies,
                    ..
                } if offer.msg_type == dhcp6::msg::REPLY && offer.server_id == taken.server_id => {
                    match offer.address {
                        None => {
                            notes.push("DHCPv6 Reply without an address".into());
                            Next::Nothing
                        }
                        Some(addr) => {
                            // The boot file URL: the Reply's own (a DHCPv6 server with a
                            // PXE role, the only way iPXE boots), else the Advertise's.
                            let url = offer.boot_file_url.clone().or(taken.boot_file_url.clone());
                            let proxies = std::mem::take(proxies);
                            self.ip6 = Some(addr);
                            b.lease = Some((
                                offer.server_id.clone(),
                                offer.ia.clone().unwrap_or_default(),
                            ));
                            notes.push(format!("DHCPv6 Reply: address {addr}"));
                            if model.takes_proxy && !proxies.is_empty() {
                                // EDK2 asks its proxies in `PxeBcDhcp6Sarr`, before it
                                // sets the address (the lab: 1.5-2.4 ms after the Reply).
                                b.phase = Phase::BootRequest {
                                    next: now,
                                    proxies,
                                    server: Ipv6Addr::UNSPECIFIED,
                                };
                                Next::AskProxy
                            } else {
                                Next::SetAddress(url)
                            }
                        }
                    }
                }
                Phase::BootRequest { server, .. }
                    if offer.msg_type == dhcp6::msg::REPLY && from == *server =>
                {
                    match offer.boot_file_url.clone() {
                        None => {
                            notes.push(format!("Reply from {from} without a boot file URL"));
                            Next::AskProxy
                        }
                        Some(url) => {
                            notes.push(format!("PXE Reply from {from}: boot file {url}"));
                            Next::SetAddress(Some(url))
                        }
                    }
                }
                _ => Next::Nothing,
            }
        };
        self.six = Some(b);
        for n in notes {
            self.note(now, || n);
        }
        match next {
            Next::Select => self.select(now),
            Next::AfterAddress => self.after_address(now),
            Next::AskProxy => self.next_proxy(now),
            Next::SetAddress(url) => self.set_address(now, url),
            _ => {}
        }
    }

    /// The boot file is known: EDK2 waits for a route to its server, sets the address
    /// (the manual policy: the stack releases its own) and checks it
    /// (`PxeBcSetIp6Address`); then `url` is read.
    fn set_address(&mut self, now: Instant, url: Option<String>) {
        let Some(b) = self.six.as_mut() else { return };
        let model = b.model;
        b.phase = Phase::AddressWait {
            until: now + model.route_wait + model.address_ready,
            url,
        };
        self.stack6_boot_address_set(now + model.route_wait);
        if (model.route_wait + model.address_ready).is_zero() {
            self.after_address(now);
        }
    }

    /// The address is usable: the boot file URL is read.
    fn after_address(&mut self, now: Instant) {
        let Some(b) = self.six.as_mut() else { return };
        let Phase::AddressWait { url, .. } = &mut b.phase else {
            return;
        };
        match url.take() {
            Some(u) => self.start_from_url(now, &u),
            None => {
                self.note(now, || "no boot file URL in the Reply: PXE gives up".into());
                self.give_up6(now);
            }
        }
    }

    /// EDK2's boot request to the next proxy (`PxeBcRetryDhcp6Binl`), from port 4011 to
    /// the boot file URL's host.
    fn next_proxy(&mut self, now: Instant) {
        let elapsed = self.elapsed_cs(now);
        let (mac, guid) = (self.mac, self.guid);
        // PXE's own address is not set yet (`PxeBcSetIp6Address` comes after): the
        // request leaves from the stack's address if usable, else the link-local one.
        let ip = self.stack6_source(now).unwrap_or_else(|| self.ll6());
        let Some(b) = self.six.as_mut() else { return };
        let mut proxies = match &mut b.phase {
            Phase::BootRequest { proxies, .. } => std::mem::take(proxies),
            _ => return,
        };
        let Some(p) = (!proxies.is_empty()).then(|| proxies.remove(0)) else {
            self.note(now, || {
                "no proxy answered the boot request: PXE gives up".into()
            });
            self.release_pxe6();
            self.give_up6(now);
            return;
        };
        let Some((server, _)) = p.boot_file_url.as_deref().and_then(parse_tftp_url) else {
            b.phase = Phase::BootRequest {
                next: now,
                proxies,
                server: Ipv6Addr::UNSPECIFIED,
            };
            return;
        };
        let payload = b
            .model
            .boot_request(mac, guid, p.xid, elapsed, &p.server_id);
        b.phase = Phase::BootRequest {
            next: now + BOOT_REQUEST_WAIT,
            proxies,
            server,
        };
        self.sends6.push(Send6 {
            src: SocketAddrV6::new(ip, dhcp6::PXE_PORT, 0, 0),
            dst: SocketAddrV6::new(server, dhcp6::PXE_PORT, 0, 0),
            payload,
        });
        self.note(now, || format!("PXE Request to [{server}]:4011"));
    }

    fn start_from_url(&mut self, now: Instant, url: &str) {
        if url.starts_with("http://") {
            return self.start_http6(now, url);
        }
        let Some((server, file)) = parse_tftp_url(url) else {
            self.note(now, || {
                format!("boot file URL {url} is not tftp://[address]/path")
            });
            self.give_up6(now);
            return;
        };
        self.answered = true;
        let Some(b) = self.six.as_mut() else { return };
        b.served_by = Some(server);
        let model = b.model;
        match model.tftp_probe {
            Some(o) => self.start_tftp6(now, Stage::SizeProbe, server, file, owned(o)),
            None => self.start_tftp6(now, Stage::Nbp, server, file, owned(model.tftp_options)),
        }
    }

    fn start_tftp6(
        &mut self,
        now: Instant,
        stage: Stage,
        server: Ipv6Addr,
        file: String,
        options: Vec<(String, String)>,
    ) {
        let port = self.next_port;
        self.next_port = if self.next_port >= 65000 {
            2070
        } else {
            self.next_port + 1
        };
        let (timeout, max_retries) = tftp_timing(self.model);
        let cfg = ClientConfig {
            options: options.clone(),
            timeout,
            max_retries,
            verify: self.verify,
            keep: matches!(stage, Stage::Params),
        };
        let mut payloads = Vec::new();
        let transfer = ClientTransfer::start(now, &file, &cfg, &mut payloads);
        self.note(now, || {
            let o: Vec<String> = options.iter().map(|(k, v)| format!("{k}={v}")).collect();
            format!("TFTP RRQ {file} from [{server}] [{}]", o.join(" "))
        });
        if let Some(b) = self.six.as_mut() {
            b.phase = Phase::Tftp {
                stage,
                server,
                port,
                transfer: Box::new(transfer),
                file,
            };
        }
        self.flush_tftp6(payloads);
    }

    fn flush_tftp6(&mut self, payloads: Vec<Vec<u8>>) {
        let ip = self.ip6.unwrap_or(Ipv6Addr::UNSPECIFIED);
        let Some(b) = self.six.as_ref() else { return };
        let Phase::Tftp {
            server,
            port,
            transfer,
            ..
        } = &b.phase
        else {
            return;
        };
        let dport = transfer.server_port().unwrap_or(69);
        for payload in payloads {
            self.sends6.push(Send6 {
                src: SocketAddrV6::new(ip, *port, 0, 0),
                dst: SocketAddrV6::new(*server, dport, 0, 0),
                payload,
            });
        }
    }

    fn on_tftp6(&mut self, now: Instant, src: SocketAddrV6, dst: SocketAddrV6, payload: &[u8]) {
        let ip = self.ip6.unwrap_or(Ipv6Addr::UNSPECIFIED);
        let Some(b) = self.six.as_mut() else { return };
        let model = b.model;
        let Phase::Tftp {
            stage,
            server,
            port,
            transfer,
            file,
        } = &mut b.phase
        else {
            return;
        };
        if dst.port() != *port {
            return;
        }
        if matches!(stage, Stage::SizeProbe)
            && matches!(
                Packet::parse(payload),
                Ok(Packet::Oack { .. } | Packet::Data { .. })
            )
        {
            // EDK2 knows the size: it aborts with error 8 and reads the file.
            let (server, file) = (*server, file.clone());
            let mut e = Vec::new();
            tftp_packet::encode_error(&mut e, tftp_packet::ERR_OPTION, "User aborted the transfer");
            self.sends6.push(Send6 {
                src: SocketAddrV6::new(ip, dst.port(), 0, 0),
                dst: src,
                payload: e,
            });
            self.note(now, || {
                "TFTP size known: aborting with error 8, then reading".into()
            });
            self.start_tftp6(now, Stage::Nbp, server, file, owned(model.tftp_options));
            return;
        }
        let mut payloads = Vec::new();
        transfer.handle_packet(now, src.port(), payload, &mut payloads);
        self.flush_tftp6(payloads);
        self.check_tftp6(now);
    }

    fn check_tftp6(&mut self, now: Instant) {
        let Some(b) = self.six.as_ref() else { return };
        let (model, model6) = (self.model, b.model);
        let Phase::Tftp {
            stage,
            server,
            transfer,
            file,
            ..
        } = &b.phase
        else {
            return;
        };
        let (server, stage, file) = (*server, stage.clone(), file.clone());
        let data = transfer.data().map(|d| d.to_vec());
        match transfer.status().clone() {
            ClientStatus::Active => {}
            ClientStatus::Failed(f) => {
                let (file, msg) = (file.clone(), f.message.clone());
                let no_action = matches!(stage, Stage::Params) && f.code == Some(1);
                self.note(now, || format!("TFTP {file} failed: {msg}"));
                if no_action {
                    self.note(now, || {
                        "boot program: no boot action, PXE boot aborted".into()
                    });
                    self.finish6(now, Outcome::NoOffer, None, None);
                } else {
                    self.give_up6(now);
                }
            }
            ClientStatus::Done { bytes, crc32 } => {
                let f = file;
                self.note(now, || format!("TFTP {f}: {bytes} bytes received"));
                match stage {
                    Stage::SizeProbe => {
                        let o = owned(model6.tftp_options);
                        self.start_tftp6(now, Stage::Nbp, server, f, o);
                    }
                    Stage::Nbp => {
                        let path = bootfiles::params_path(self.mac, self.class);
                        let opts = model.boot_program_options(None);
                        self.start_tftp6(now, Stage::Params, server, path, opts);
                    }
                    Stage::Params => {
                        let text = data.map(|d| String::from_utf8_lossy(&d).into_owned());
                        let params = match text.as_deref().map(BootParams::parse) {
                            Some(Ok(p)) => p,
                            _ => {
                                self.note(now, || "bad boot parameters".into());
                                self.finish6(now, Outcome::Failed, None, Some(server));
                                return;
                            }
                        };
                        self.chosen = Some((params.boot_image.clone(), params.deployment.clone()));
                        if params.prompt || params.purpose == Purpose::Available {
                            let key = if self.class.is_bios() { "F12" } else { "Enter" };
                            if self.press_key {
                                self.note(now, || format!("prompt: user pressed {key}"));
                                self.start_image6(now, params, server);
                            } else {
                                self.note(now, || format!("prompt: press {key} for network boot"));
                                if let Some(b) = self.six.as_mut() {
                                    b.phase = Phase::Prompt {
                                        until: now + PROMPT_TIMEOUT,
                                        params,
                                        server,
                                    };
                                }
                            }
                        } else {
                            self.start_image6(now, params, server);
                        }
                    }
                    Stage::Image(params) => {
                        let ok = bytes == params.image_size
                            && match (params.image_crc32, crc32) {
                                (Some(w), Some(g)) => w == g,
                                _ => true,
                            };
                        if ok {
                            self.note(now, || "boot image started".into());
                            self.finish6(now, Outcome::Booted, Some(&params), Some(server));
                        } else {
                            self.note(now, || "boot image size or CRC wrong".into());
                            self.finish6(now, Outcome::Failed, Some(&params), Some(server));
                        }
                    }
                }
            }
        }
    }

    fn start_image6(&mut self, now: Instant, params: BootParams, server: Ipv6Addr) {
        let opts = self.model.boot_program_options(Some(params.block_size));
        let path = params.image_path.replace('/', "\\");
        self.start_tftp6(now, Stage::Image(params), server, path, opts);
    }

    /// A router refused to forward the boot request to `dst`: its source was the
    /// link-local address (ICMPv6 "beyond scope of source address"). EDK2's
    /// `PxeBcRetryDhcp6Binl` fails on the ICMP error and PXE stops at once: its DHCPv6
    /// releases the address (`Dhcp6->Stop`, 1.4 ms after the ICMP in the lab).
    pub fn beyond_scope6(&mut self, now: Instant, dst: SocketAddrV6) {
        let refused = matches!(
            self.six.as_ref().map(|b| &b.phase),
            Some(Phase::BootRequest { server, .. }) if *server == *dst.ip()
        );
        if !refused {
            return;
        }
        self.note(now, || {
            format!("ICMPv6 from the router: [{}] is beyond the scope of the link-local source: PXE gives up", dst.ip())
        });
        self.release_pxe6();
        self.give_up6(now);
    }

    /// PXE's DHCPv6 stops: a Release of its address, as HTTP boot's.
    fn release_pxe6(&mut self) {
        if let Some(lease) = self.six.as_mut().and_then(|b| b.lease.take()) {
            self.send_release6(lease);
        }
    }

    /// A Release of the lease (server identifier, IA_NA) from the link-local address:
    /// EDK2's Dhcp6 stopping (1, 2, 8, 3, the stack's format).
    pub(super) fn send_release6(&mut self, (server_id, ia): (Vec<u8>, Vec<u8>)) {
        let duid = self.model6.duid(self.mac, self.guid);
        let xid = self.next_xid6();
        self.sends6.push(Send6 {
            src: SocketAddrV6::new(self.ll6(), dhcp6::CLIENT_PORT, 0, 0),
            dst: SocketAddrV6::new(ALL_DHCP, dhcp6::SERVER_PORT, 0, 0),
            payload: dhcp6::stack_firmware::release(&duid, xid, &server_id, &ia),
        });
    }

    fn give_up6(&mut self, now: Instant) {
        self.finish6(now, super::gave_up(self.answered), None, None);
    }

    fn finish6(
        &mut self,
        now: Instant,
        outcome: Outcome,
        params: Option<&BootParams>,
        server: Option<Ipv6Addr>,
    ) {
        let served = server.or(self.six.as_ref().and_then(|b| b.served_by));
        self.six = None;
        self.stack6 = None;
        self.finish(now, outcome, params, served.map(IpAddr::V6));
    }
}

fn owned(o: &[(&str, &str)]) -> Vec<(String, String)> {
    o.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}
