//! The PXE responder: proxy DHCP (67, 4011), TFTP (69 and transfer ports) and, for
//! peers, membership and election. One `Responder` is one DP or peer.
//!
//! Sans-IO: the driver (simulator or daemon) calls [`Responder::handle_datagram`] and
//! [`Responder::handle_timeout`] with the current time and collects [`Output`]:
//! datagrams to send, log lines (SMSPXE vocabulary) and effects.

use crate::bootfiles::{self, BootParams};
use crate::dhcp;
use crate::dhcp::packet::MessageType;
use crate::dhcp::proxy::ProxyParams;
use crate::dhcp6;
use crate::election::{self, Membership, PeerIdentity, PEER_PORT};
use crate::exclusion::ExclusionList;
use crate::ids::{Guid, Mac};
use crate::policy::{ClientClass, Purpose, ResponderConfig, Role, Site};
use crate::select::{self, Choice, Selection};
use crate::state::StateStore;
use crate::tftp::netascii::{self, Netascii};
use crate::tftp::packet::{self as tftp_packet, Packet};
use crate::tftp::server::{FileData, FileSource, Pooled, ServerConfig, Transfer, TransferStatus};
use crate::time::Instant;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rustc_hash::FxHashMap as HashMap;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::sync::Arc;
use std::time::Duration;

pub const DHCP_SERVER_PORT: u16 = 67;
pub const DHCP_CLIENT_PORT: u16 = 68;
pub const PXE_PORT: u16 = 4011;
pub const TFTP_PORT: u16 = 69;
/// How long a DISCOVER transaction is remembered for the response delay (R-ANS-5).
const XID_MEMORY: Duration = Duration::from_secs(120);
/// Bound on remembered transactions (hostile floods must not grow memory).
const XID_MEMORY_MAX: usize = 65536;
/// Bound on concurrent TFTP transfers.
const MAX_TRANSFERS: usize = 8192;
/// Ports a transfer may try (the driver could not open the ones before) until it is
/// dropped with an error to its client.
pub const MAX_PORT_TRIES: usize = 8;

/// The local ports TFTP transfers are served from (their TIDs). Each transfer gets one
/// drawn at random from the range (RFC 1350 asks for random TIDs), not in use by
/// another transfer; the default is IANA's dynamic range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TransferPorts {
    pub first: u16,
    pub last: u16,
}

impl Default for TransferPorts {
    fn default() -> Self {
        TransferPorts {
            first: 49152,
            last: 65535,
        }
    }
}

impl std::str::FromStr for TransferPorts {
    type Err = String;

    /// `FIRST-LAST`, e.g. `49152-65535`: unprivileged ports, FIRST <= LAST, clear of
    /// the responder's own ports (4011 and the peer port).
    fn from_str(s: &str) -> Result<Self, String> {
        let (a, b) = s
            .split_once('-')
            .ok_or_else(|| format!("`{s}`: give a range FIRST-LAST, e.g. 49152-65535"))?;
        let port = |v: &str| {
            v.trim()
                .parse::<u16>()
                .map_err(|_| format!("`{v}` is not a port number"))
        };
        let (first, last) = (port(a)?, port(b)?);
        if first > last {
            return Err(format!("`{s}`: the first port is above the last"));
        }
        if first < 1024 {
            return Err(format!("`{s}`: transfer ports start at 1024 or above"));
        }
        if let Some(p) = [PXE_PORT, PEER_PORT]
            .into_iter()
            .find(|p| (first..=last).contains(p))
        {
            return Err(format!(
                "`{s}` holds port {p}, which the responder listens on"
            ));
        }
        Ok(TransferPorts { first, last })
    }
}

impl std::fmt::Display for TransferPorts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.first, self.last)
    }
}

/// A datagram to send. `dst` 255.255.255.255 means a link-layer broadcast.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transmit {
    pub src: SocketAddrV4,
    pub dst: SocketAddrV4,
    pub payload: Vec<u8>,
    /// With [`Output::data_by_reference`]: a DATA packet's file bytes, which follow
    /// `payload` (then only the header) on the wire. `None` otherwise.
    pub data: Option<FileData>,
}

/// A datagram to send over IPv6 (R-V6). The driver sends it from the interface the
/// request came in on (`dst`'s scope for a link-local client).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transmit6 {
    pub src: SocketAddrV6,
    pub dst: SocketAddrV6,
    pub payload: Vec<u8>,
}

/// Something that happened that the driver may want to know beyond log lines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// R-STATE-1: a required deployment was recorded for a device.
    Recorded { device: String, deployment: String },
    /// A transfer began on local port `port` (its TID); the daemon keeps a socket there
    /// until the transfer is done or failed.
    TransferStarted {
        client: SocketAddr,
        port: u16,
        file: String,
        size: u64,
    },
    /// The driver could not open the transfer's port (another process holds it): the
    /// transfer goes on from port `to` (see [`Responder::transfer_port_unavailable`]).
    TransferMoved {
        client: SocketAddr,
        from: u16,
        to: u16,
    },
    TransferDone {
        client: SocketAddr,
        port: u16,
        file: String,
    },
    TransferFailed {
        client: SocketAddr,
        port: u16,
        file: String,
        reason: String,
    },
    /// The responder stayed silent for a client's request (a DISCOVER, a 4011 request
    /// or its boot program's parameters): the rule it followed and why, as logged.
    /// `pxelab explain` lists these per responder.
    Silent {
        client: Mac,
        rule: &'static str,
        reason: String,
    },
    /// The responder answered a client's request with a proxy offer or a 4011 ACK.
    Answered { client: Mac },
}

/// What a call produced. Reuse one across calls (the vectors are drained by the driver).
#[derive(Debug, Default)]
pub struct Output {
    pub transmits: Vec<Transmit>,
    /// Datagrams over IPv6 (DHCPv6 answers, R-V6).
    pub transmits6: Vec<Transmit6>,
    pub logs: Vec<String>,
    pub effects: Vec<Effect>,
    /// Buffers a driver hands back for the next DATA payloads (kept by `clear`).
    pub spare: Vec<Vec<u8>>,
    /// Set by a driver that takes TFTP file data by reference ([`Transmit::data`]):
    /// the simulator, which copies the bytes only for a pcap. Kept by `clear`.
    pub data_by_reference: bool,
}

impl Output {
    /// Record an [`Effect::Silent`].
    fn silent(&mut self, client: Mac, rule: &'static str, reason: impl Into<String>) {
        self.effects.push(Effect::Silent {
            client,
            rule,
            reason: reason.into(),
        });
    }

    pub fn clear(&mut self) {
        self.transmits.clear();
        self.transmits6.clear();
        self.logs.clear();
        self.effects.clear();
    }
}

/// The responder's files. The simulator serves synthetic content; the daemon a
/// directory (and keeps symlinks inside it). `path` is already normalised (R-TFTP-3):
/// relative, `/`-separated, lower-case, no `..`.
pub trait BootRoot {
    fn open(&self, path: &str) -> Option<Arc<dyn FileSource>>;
    /// CRC-32 (IEEE) of a file, when cheaply known; boot programs check it.
    fn crc32(&self, path: &str) -> Option<u32>;
}

struct Slot {
    /// The client's address, IPv4 or IPv6 (R-V6-5: one table for both families).
    client: SocketAddr,
    file: String,
    transfer: Transfer,
    /// The deadline this transfer has in `timers`, if any (one entry per transfer).
    armed: Option<Instant>,
    /// Ports the driver could not open for this transfer.
    tried: Vec<u16>,
}

/// A boot request as the rules see it, whatever its family and kind (`decide`).
struct Ask<'a> {
    mac: Mac,
    guid: Option<Guid>,
    /// Option 93 (IPv4) or 61 (IPv6), every entry.
    arch: &'a [u16],
    /// An HTTP boot client (R-HTTP-1): architecture types 15, 16, 19 are known too.
    http: bool,
    /// Through a relay (giaddr set, or a Relay-Forward).
    relayed: bool,
    /// The first message of a boot (DISCOVER, Solicit): its transaction id and the
    /// elapsed time the client says (R-ANS-5); `None` for the request that follows.
    offer: Option<(u32, Duration)>,
}

/// What the responder remembers of a client between its 4011 request and its
/// boot program's parameters request.
#[derive(Clone, Copy)]
struct Session {
    guid: Option<Guid>,
}

pub struct Responder {
    cfg: ResponderConfig,
    site: Arc<Site>,
    exclusions: ExclusionList,
    store: Box<dyn StateStore>,
    root: Arc<dyn BootRoot>,
    tftp_cfg: ServerConfig,
    membership: Option<Membership>,
    /// R-ANS-5: first time this responder saw each DISCOVER transaction.
    first_seen: HashMap<(u32, Mac), Instant>,
    first_seen_order: VecDeque<(Instant, u32, Mac)>,
    sessions: HashMap<Mac, Session>,
    /// R-V6-2: the MAC each client DUID was last seen with (by the link, option 79 or
    /// the DUID itself), for its later messages that carry none: EDK2's boot request to
    /// port 4011 comes routed, not relayed, from a remote client with a DUID-UUID.
    duid_macs: HashMap<Vec<u8>, Mac>,
    transfers: HashMap<u16, Slot>,
    by_client: HashMap<SocketAddr, u16>,
    timers: BinaryHeap<Reverse<(Instant, u16)>>,
    ports: TransferPorts,
    /// Draws the transfer ports: seeded from the responder's seed (the simulator stays
    /// deterministic) unless the driver gives another ([`Responder::set_transfer_ports`]).
    tid_rng: ChaCha8Rng,
}

impl Responder {
    /// A responder starting at `now`. Peers start their membership at once.
    pub fn new(
        now: Instant,
        cfg: ResponderConfig,
        site: Arc<Site>,
        store: Box<dyn StateStore>,
        root: Arc<dyn BootRoot>,
        seed: u64,
    ) -> Responder {
        let exclusions = ExclusionList::new(cfg.mac_exclusions.iter().copied());
        let tftp_cfg = ServerConfig {
            caps: cfg.tftp,
            ..ServerConfig::default()
        };
        let membership = (cfg.role == Role::Peer).then(|| {
            Membership::new(
                PeerIdentity {
                    name: cfg.name.clone(),
                    addr: SocketAddrV4::new(cfg.address, PEER_PORT),
                    images: cfg.images.clone(),
                    site: site.responder_site(&cfg).to_string(),
                },
                cfg.peer_key.clone(),
                seed,
                now,
            )
        });
        Responder {
            cfg,
            site,
            exclusions,
            store,
            root,
            tftp_cfg,
            membership,
            first_seen: HashMap::default(),
            first_seen_order: VecDeque::new(),
            sessions: HashMap::default(),
            duid_macs: HashMap::default(),
            transfers: HashMap::default(),
            by_client: HashMap::default(),
            timers: BinaryHeap::new(),
            ports: TransferPorts::default(),
            tid_rng: ChaCha8Rng::seed_from_u64(seed ^ 0x5446_5450_5449_4453),
        }
    }

    pub fn config(&self) -> &ResponderConfig {
        &self.cfg
    }

    /// Serve transfers from `ports`, drawn with a generator seeded by `seed` (the
    /// daemon gives one from the operating system: TIDs an off-path host cannot guess).
    pub fn set_transfer_ports(&mut self, ports: TransferPorts, seed: u64) {
        self.ports = ports;
        self.tid_rng = ChaCha8Rng::seed_from_u64(seed);
    }

    pub fn transfer_ports(&self) -> TransferPorts {
        self.ports
    }

    pub fn name(&self) -> &str {
        &self.cfg.name
    }

    /// R-EX-3: replace the exclusion list (the driver parsed the reloaded file; on a
    /// parse error it keeps calling nothing, so the previous list stays).
    pub fn set_exclusions(&mut self, macs: Vec<Mac>) {
        self.exclusions.replace(macs);
    }

    /// Number of TFTP transfers in progress.
    pub fn active_transfers(&self) -> usize {
        self.transfers.len()
    }

    /// Peers this responder currently believes alive (peers only).
    pub fn live_peers(&self) -> Vec<String> {
        match &self.membership {
            Some(m) => m.live_peers().map(|p| p.name.clone()).collect(),
            None => Vec::new(),
        }
    }

    /// Mutable access to the site's shared state store (clear_required events).
    pub fn store_mut(&mut self) -> &mut dyn StateStore {
        self.store.as_mut()
    }

    /// The earliest time at which [`Responder::handle_timeout`] has work.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let mut t = self.timers.peek().map(|Reverse((t, _))| *t);
        if let Some(m) = &self.membership {
            t = min_opt(t, m.poll_timeout());
        }
        if let Some((at, _, _)) = self.first_seen_order.front() {
            t = min_opt(t, Some(*at + XID_MEMORY));
        }
        t
    }

    pub fn handle_timeout(&mut self, now: Instant, out: &mut Output) {
        // TFTP timers: entries are lazy; the transfer's own deadline is authoritative.
        while let Some(Reverse((at, tid))) = self.timers.peek().copied() {
            if at > now {
                break;
            }
            self.timers.pop();
            let Some(slot) = self.transfers.get_mut(&tid) else {
                continue;
            };
            if slot.armed != Some(at) {
                continue; // stale entry
            }
            slot.armed = None;
            if matches!(slot.transfer.poll_timeout(), Some(d) if d <= now) {
                let mut payloads = Pooled {
                    sent: Vec::new(),
                    data: out.data_by_reference.then(Vec::new),
                    spare: &mut out.spare,
                };
                slot.transfer.handle_timeout(now, &mut payloads);
                self.emit_transfer(tid, payloads.sent, payloads.data, out);
            }
            self.after_transfer_step(tid, out);
        }
        if let Some(m) = &mut self.membership {
            let mut sends = Vec::new();
            m.handle_timeout(now, &mut sends);
            push_peer_sends(self.cfg.address, sends, out);
        }
        while let Some((at, xid, mac)) = self.first_seen_order.front().copied() {
            if at + XID_MEMORY > now {
                break;
            }
            self.first_seen_order.pop_front();
            if self.first_seen.get(&(xid, mac)) == Some(&at) {
                self.first_seen.remove(&(xid, mac));
            }
        }
    }

    /// A datagram arrived for this responder (`dst` is the address it was sent to,
    /// possibly the broadcast address).
    pub fn handle_datagram(
        &mut self,
        now: Instant,
        src: SocketAddrV4,
        dst: SocketAddrV4,
        payload: &[u8],
        out: &mut Output,
    ) {
        match dst.port() {
            DHCP_SERVER_PORT if self.cfg.listen_dhcp_port => {
                self.on_dhcp(now, src, payload, false, out)
            }
            PXE_PORT => self.on_dhcp(now, src, payload, true, out),
            TFTP_PORT => self.on_tftp_request(now, src.into(), payload, out),
            PEER_PORT => {
                if let Some(m) = &mut self.membership {
                    let mut sends = Vec::new();
                    let before = m.rejected_by_reason().unauthenticated;
                    m.handle_datagram(now, src, payload, &mut sends);
                    if m.rejected_by_reason().unauthenticated > before {
                        out.logs.push(format!(
                            "refused a peer membership datagram from {src}: {}",
                            if m.keyed() {
                                "it is not sealed with the site's peer key"
                            } else {
                                "it is sealed, and this peer has no peer key"
                            }
                        ));
                    }
                    push_peer_sends(self.cfg.address, sends, out);
                }
            }
            port if self.transfers.contains_key(&port) => {
                self.on_tftp_transfer(now, src.into(), port, payload, out)
            }
            _ => {}
        }
    }

    fn log(&self, out: &mut Output, mac: Mac, guid: Option<Guid>, text: &str) {
        out.logs
            .push(format!("{}{text}", select::smspxe_prefix(mac, guid)));
    }

    /// Stay silent for a client by `rule`: log `why` and say so as an effect.
    fn silent(
        &self,
        out: &mut Output,
        mac: Mac,
        guid: Option<Guid>,
        rule: &'static str,
        why: &str,
    ) {
        self.log(out, mac, guid, why);
        out.silent(mac, rule, why);
    }

    // ---------------------------------------------------------------- proxy DHCP

    fn on_dhcp(
        &mut self,
        now: Instant,
        src: SocketAddrV4,
        payload: &[u8],
        on_4011: bool,
        out: &mut Output,
    ) {
        let pkt = match dhcp::packet::parse(payload) {
            Ok(p) => p,
            Err(e) => {
                out.logs
                    .push(format!("ignoring malformed DHCP packet from {src}: {e}"));
                return;
            }
        };
        if pkt.op != 1 {
            return;
        }
        let Some(mac) = pkt.chaddr else {
            return;
        };
        if !pkt.is_pxe_client() {
            if self.cfg.http.is_some() && pkt.is_http_client() && !on_4011 {
                self.on_http_discover(now, &pkt, mac, out);
            }
            return; // not a PXE client: not our business
        }
        let guid = pkt.client_guid;
        let wanted = if on_4011 {
            matches!(
                pkt.message_type,
                Some(MessageType::Request | MessageType::Inform)
            )
        } else {
            pkt.message_type == Some(MessageType::Discover)
        };
        if !wanted {
            return;
        }
        let relayed = pkt.giaddr != Ipv4Addr::UNSPECIFIED;
        let ask = Ask {
            mac,
            guid,
            arch: &pkt.client_arch,
            http: false,
            relayed,
            offer: (!on_4011).then(|| (pkt.xid, Duration::from_secs(u64::from(pkt.secs)))),
        };
        let Some((class, choice)) = self.decide(now, &ask, out) else {
            return;
        };
        if !on_4011 {
            let mut params = ProxyParams::new(self.cfg.address, None);
            params.vendor_specific = self.cfg.proxy_option43.clone();
            let reply = dhcp::proxy::build_proxy_offer(&pkt, &params);
            let dst = if relayed {
                SocketAddrV4::new(pkt.giaddr, DHCP_SERVER_PORT) // R-ANS-3
            } else {
                SocketAddrV4::new(Ipv4Addr::BROADCAST, DHCP_CLIENT_PORT)
            };
            out.transmits.push(Transmit {
                src: SocketAddrV4::new(self.cfg.address, DHCP_SERVER_PORT),
                dst,
                payload: reply,
                data: None,
            });
            self.log(out, mac, guid, "sent proxy offer");
            out.effects.push(Effect::Answered { client: mac });
        } else {
            let boot_file = self.boot_program(mac, guid, class, &choice);
            let params = ProxyParams::new(self.cfg.address, Some(boot_file.clone()));
            let reply = dhcp::proxy::build_proxy_ack(&pkt, &params);
            let dst = if relayed {
                SocketAddrV4::new(pkt.giaddr, DHCP_SERVER_PORT)
            } else if src.ip().is_unspecified() {
                SocketAddrV4::new(Ipv4Addr::BROADCAST, src.port())
            } else {
                src
            };
            out.transmits.push(Transmit {
                src: SocketAddrV4::new(self.cfg.address, PXE_PORT),
                dst,
                payload: reply,
                data: None,
            });
            self.log(out, mac, guid, &format!("sent boot file {boot_file}"));
            out.effects.push(Effect::Answered { client: mac });
        }
    }

    // R-HTTP-1 (IPv4): a DISCOVER with option 60 `HTTPClient` gets a proxy offer whose
    // file field and option 67 hold the boot program's http:// URL; the firmware asks
    // nothing on 4011 (the offer names the file).
    fn on_http_discover(
        &mut self,
        now: Instant,
        pkt: &dhcp::DhcpPacket,
        mac: Mac,
        out: &mut Output,
    ) {
        if pkt.message_type != Some(MessageType::Discover) {
            return;
        }
        let relayed = pkt.giaddr != Ipv4Addr::UNSPECIFIED;
        let ask = Ask {
            mac,
            guid: pkt.client_guid,
            arch: &pkt.client_arch,
            http: true,
            relayed,
            offer: Some((pkt.xid, Duration::from_secs(u64::from(pkt.secs)))),
        };
        let Some((class, choice)) = self.decide(now, &ask, out) else {
            return;
        };
        let path = self.boot_program(mac, pkt.client_guid, class, &choice);
        let url = self.http_url(&self.cfg.address.to_string(), &path);
        let reply = dhcp::proxy::build_http_offer(pkt, self.cfg.address, &url);
        let dst = if relayed {
            SocketAddrV4::new(pkt.giaddr, DHCP_SERVER_PORT)
        } else {
            SocketAddrV4::new(Ipv4Addr::BROADCAST, DHCP_CLIENT_PORT)
        };
        out.transmits.push(Transmit {
            src: SocketAddrV4::new(self.cfg.address, DHCP_SERVER_PORT),
            dst,
            payload: reply,
            data: None,
        });
        self.log(
            out,
            mac,
            pkt.client_guid,
            &format!("sent HTTP boot offer {url}"),
        );
        out.effects.push(Effect::Answered { client: mac });
    }

    /// `http://host[:port]/path` of a file of the boot root (R-HTTP-1); `host` is an
    /// IPv4 address or a bracketed IPv6 one.
    fn http_url(&self, host: &str, path: &str) -> String {
        match self.cfg.http.map(|h| h.port) {
            None | Some(80) => format!("http://{host}/{path}"),
            Some(port) => format!("http://{host}:{port}/{path}"),
        }
    }

    // ---------------------------------------------------------------- DHCPv6

    /// A datagram arrived over IPv6 (R-V6): DHCPv6 on port 547 (unless
    /// `listen_dhcp_port: false`) and 4011. `link_src` is the link-layer source of the
    /// frame when the driver knows it (the client's MAC for an on-link message, R-V6-2).
    /// A responder without `address6` ignores IPv6.
    pub fn handle_datagram6(
        &mut self,
        now: Instant,
        src: SocketAddrV6,
        dst: SocketAddrV6,
        link_src: Option<Mac>,
        payload: &[u8],
        out: &mut Output,
    ) {
        if self.cfg.address6.is_none() {
            return;
        }
        match dst.port() {
            dhcp6::SERVER_PORT if self.cfg.listen_dhcp_port => {
                self.on_dhcp6(now, src, link_src, payload, dhcp6::SERVER_PORT, out)
            }
            dhcp6::PXE_PORT => self.on_dhcp6(now, src, link_src, payload, dhcp6::PXE_PORT, out),
            // R-V6-5: TFTP over IPv6, the same transfers as over IPv4.
            TFTP_PORT => self.on_tftp_request(now, src.into(), payload, out),
            port if self.transfers.contains_key(&port) => {
                self.on_tftp_transfer(now, src.into(), port, payload, out)
            }
            _ => {}
        }
    }

    fn on_dhcp6(
        &mut self,
        now: Instant,
        src: SocketAddrV6,
        link_src: Option<Mac>,
        payload: &[u8],
        port: u16,
        out: &mut Output,
    ) {
        let Some(me) = self.cfg.address6 else {
            return;
        };
        let msg = match dhcp6::Message6::decode(payload) {
            Ok(m) => m,
            Err(e) => {
                out.logs
                    .push(format!("ignoring malformed DHCPv6 message from {src}: {e}"));
                return;
            }
        };
        // R-V6-3: a Relay-Forward is answered through the same relays.
        let (layers, inner) = match dhcp6::unwrap_relays(msg) {
            Ok(x) => x,
            Err(e) => {
                out.logs
                    .push(format!("ignoring malformed DHCPv6 message from {src}: {e}"));
                return;
            }
        };
        let req = match dhcp6::BootRequest6::read(&inner) {
            Ok(Some(r)) => r,
            Ok(None) => return,
            Err(e) => {
                out.logs
                    .push(format!("ignoring malformed DHCPv6 request from {src}: {e}"));
                return;
            }
        };
        let kind = match req.kind() {
            Some(dhcp6::BootKind::Pxe) => dhcp6::BootKind::Pxe,
            Some(dhcp6::BootKind::Http) if self.cfg.http.is_some() => dhcp6::BootKind::Http,
            _ => return, // not a PXE (or served HTTP) client: not our business
        };
        let duid = dhcp6::server_duid(&self.cfg.name);
        if req.server_id.as_ref().is_some_and(|s| *s != duid) {
            return; // addressed to another server (the DHCPv6 server's Request)
        }
        let relayed = !layers.is_empty();
        // R-V6-2: the client's MAC and GUID.
        let id = dhcp6::identity(
            &req,
            (!relayed).then_some(link_src).flatten(),
            layers.last().and_then(|l| l.client_link_layer.as_deref()),
        );
        // R-V6-2: a DUID-UUID in EDK2's order (option 97's) or iPXE's (network order):
        // the one the site knows.
        let known = |g: Guid| self.site.machines.iter().any(|m| m.smbios_guid == Some(g));
        let guid = match (id.guid, id.guid_network_order) {
            (Some(a), Some(b)) if !known(a) && known(b) => Some(b),
            (a, _) => a,
        };
        let mut id = dhcp6::Identity6 { guid, ..id };
        // R-V6-2: a DUID seen before with a MAC keeps it (bounded memory).
        if let Some(duid) = &req.client_id {
            match id.mac {
                Some(m) => {
                    if self.duid_macs.len() >= XID_MEMORY_MAX {
                        self.duid_macs.clear();
                    }
                    self.duid_macs.insert(duid.clone(), m);
                }
                None => id.mac = self.duid_macs.get(duid).copied(),
            }
        }
        let Some(mac) = id.mac else {
            out.logs.push(format!(
                "ignoring a DHCPv6 boot request from {src}: no link-layer address (R-V6-2: none on the link, no option 79, no DUID-LL/LLT)"
            ));
            return;
        };
        let solicit = req.msg_type == dhcp6::msg::SOLICIT;
        let ask = Ask {
            mac,
            guid: id.guid,
            arch: &req.arch,
            http: kind == dhcp6::BootKind::Http,
            relayed,
            // Option 8 counts hundredths of a second.
            offer: solicit.then(|| {
                (
                    req.xid(),
                    Duration::from_millis(u64::from(req.elapsed_cs) * 10),
                )
            }),
        };
        let Some((class, choice)) = self.decide(now, &ask, out) else {
            return;
        };
        let path = self.boot_program(mac, id.guid, class, &choice);
        // R-V6-1: tftp://[address6]/path; R-HTTP-1: http://[address6]:port/path.
        let url = match kind {
            dhcp6::BootKind::Pxe => format!("tftp://[{me}]/{path}"),
            dhcp6::BootKind::Http => self.http_url(&format!("[{me}]"), &path),
        };
        let params = dhcp6::AnswerParams {
            server_duid: duid,
            boot_file_url: url.clone(),
            kind,
        };
        let (what, answer) = dhcp6::answer(&req, &params);
        let (dst, payload) = if relayed {
            // R-V6-3: to the relay, port 547.
            let reply = dhcp6::wrap_relays(&layers, answer);
            (
                SocketAddrV6::new(*src.ip(), dhcp6::SERVER_PORT, 0, src.scope_id()),
                reply.encode(),
            )
        } else {
            (src, answer.encode())
        };
        out.transmits6.push(Transmit6 {
            src: SocketAddrV6::new(me, port, 0, 0),
            dst,
            payload,
        });
        let what = match what {
            dhcp6::Answer6::Advertise => "advertise",
            dhcp6::Answer6::Reply => "reply",
        };
        self.log(
            out,
            mac,
            id.guid,
            &format!("sent DHCPv6 proxy {what} {url}"),
        );
        out.effects.push(Effect::Answered { client: mac });
    }

    /// The rules every boot request goes through, whatever its family (IPv4, IPv6: R-V6-4)
    /// and kind (PXE, HTTP: R-HTTP-1): R-ANS-4, R-EX-2, a peer's own segment, R-ID-2,
    /// selection (R-ID, R-SEL, R-STATE through the store) and, for the first message of
    /// a boot (DISCOVER, Solicit), R-ANS-5 and R-ANS-6. `Some` when the responder
    /// answers, with the client's class and the selected deployment; every silence is
    /// logged and said as an [`Effect::Silent`].
    fn decide(
        &mut self,
        now: Instant,
        ask: &Ask,
        out: &mut Output,
    ) -> Option<(ClientClass, Choice)> {
        let (mac, guid) = (ask.mac, ask.guid);
        // R-ANS-4: a responder not allowed to respond stays silent (and logs nothing,
        // as ConfigMgr's does not).
        if !self.cfg.respond {
            out.silent(mac, "R-ANS-4", "not allowed to respond (respond: false)");
            return None;
        }
        // R-EX-2: an excluded MAC never gets an answer from this responder.
        if self.exclusions.is_excluded(&mac) {
            self.silent(
                out,
                mac,
                guid,
                "R-EX-2",
                "MAC address is in the exclusion list. Ignoring.",
            );
            return None;
        }
        if ask.relayed && self.cfg.role == Role::Peer {
            // A peer answers only for its own segment.
            return None;
        }
        // R-ID-2: option 93 (61 over IPv6); absent means BIOS.
        let arch = ask.arch.first().copied();
        let class = if ask.http {
            ClientClass::from_http_arch(arch)
        } else {
            ClientClass::from_option93(arch)
        };
        let Some(class) = class else {
            self.silent(
                out,
                mac,
                guid,
                "R-ID-2",
                &format!(
                    "unsupported client architecture {:?}. Not serviced.",
                    ask.arch
                ),
            );
            return None;
        };

        let sel = select::select(&self.site, &self.cfg, self.store.as_ref(), mac, guid, class);

        if let Some((xid, secs)) = ask.offer {
            // R-ANS-5: elapsed = max(secs, time since first seen by us).
            let first = *self.first_seen.entry((xid, mac)).or_insert_with(|| {
                self.first_seen_order.push_back((now, xid, mac));
                now
            });
            if self.first_seen.len() > XID_MEMORY_MAX {
                if let Some((_, x, m)) = self.first_seen_order.pop_front() {
                    self.first_seen.remove(&(x, m));
                }
            }
            let elapsed = secs.max(now - first);
            let choice = match &sel.outcome {
                Ok(c) => c,
                Err(_) => {
                    self.log_selection(out, mac, guid, &sel);
                    return None;
                }
            };
            let mut needed = self.cfg.response_delay;
            let mut rule = "R-ANS-5";
            if self.cfg.role == Role::Peer {
                // R-ANS-6: rank among the live peers that would answer the client: those
                // holding the selected image, of a site that serves the device (R-ID-5).
                rule = "R-ANS-6";
                let image = choice.boot_image.as_str();
                let rank = match &self.membership {
                    Some(m) => election::rank(
                        mac,
                        &self.cfg.name,
                        m.live_peers()
                            .filter(|p| p.images.iter().any(|i| i == image))
                            .filter(|p| {
                                select::r_id_5_site_serves(&self.site, &sel.device, &p.site).is_ok()
                            })
                            .map(|p| p.name.as_str()),
                    ),
                    None => 0,
                };
                needed =
                    election::answer_after(rank, self.cfg.response_delay, self.cfg.failover_step);
            }
            if elapsed < needed {
                self.silent(
                    out,
                    mac,
                    guid,
                    rule,
                    &format!(
                        "waiting: elapsed {:.1}s is below the response delay {:.1}s",
                        elapsed.as_secs_f64(),
                        needed.as_secs_f64()
                    ),
                );
                return None;
            }
        }
        self.log_selection(out, mac, guid, &sel);
        let choice = sel.outcome.ok()?;
        Some((class, choice))
    }

    /// The boot program for a selected deployment (BIOS clients get the first stage of
    /// an x86 boot image, R-SEL-4), remembering the client's GUID for its boot
    /// program's parameters request.
    fn boot_program(
        &mut self,
        mac: Mac,
        guid: Option<Guid>,
        class: ClientClass,
        choice: &Choice,
    ) -> String {
        let nbp_image = if class.is_bios() {
            choice
                .first_stage_image
                .clone()
                .unwrap_or_else(|| choice.boot_image.clone())
        } else {
            choice.boot_image.clone()
        };
        let boot_file = bootfiles::nbp_path(class, &nbp_image);
        self.sessions.insert(mac, Session { guid });
        if self.sessions.len() > XID_MEMORY_MAX {
            self.sessions.clear();
        }
        boot_file
    }

    /// Log a selection's lines; a silence is also an [`Effect::Silent`].
    fn log_selection(&self, out: &mut Output, mac: Mac, guid: Option<Guid>, sel: &Selection) {
        for line in &sel.log {
            self.log(out, mac, guid, line);
        }
        if let Err(s) = &sel.outcome {
            out.silent(mac, s.reason.rule(), s.why.as_str());
        }
    }

    // ---------------------------------------------------------------- TFTP

    /// A free transfer port: drawn at random from the range, not used by a running
    /// transfer nor in `avoid`; in a crowded range, the first free one after a random
    /// start.
    fn alloc_tid(&mut self, avoid: &[u16]) -> Option<u16> {
        if self.transfers.len() >= MAX_TRANSFERS {
            return None;
        }
        let TransferPorts { first, last } = self.ports;
        let transfers = &self.transfers;
        let free = |p: u16| !transfers.contains_key(&p) && !avoid.contains(&p);
        for _ in 0..16 {
            let p = self.tid_rng.random_range(first..=last);
            if free(p) {
                return Some(p);
            }
        }
        let n = u32::from(last - first) + 1;
        let start = self.tid_rng.random_range(0..n);
        (0..n)
            .map(|i| (u32::from(first) + (start + i) % n) as u16)
            .find(|p| free(*p))
    }

    /// The driver could not open local port `port` for the transfer there (another
    /// process holds it). The transfer moves to another port of the range, which is
    /// returned: the driver sends from there what it had to send from `port` (an
    /// [`Effect::TransferMoved`] says so too). After [`MAX_PORT_TRIES`] ports, or with
    /// none free, the transfer is dropped: its client gets a TFTP ERROR from port 69
    /// and an [`Effect::TransferFailed`] ends it. `None` also when no transfer uses
    /// `port` (a one-off error reply: the driver may send it from port 69).
    pub fn transfer_port_unavailable(&mut self, port: u16, out: &mut Output) -> Option<u16> {
        let mut slot = self.transfers.remove(&port)?;
        slot.tried.push(port);
        let next = if slot.tried.len() < MAX_PORT_TRIES {
            self.alloc_tid(&slot.tried)
        } else {
            None
        };
        let client = slot.client;
        match next {
            Some(to) => {
                out.logs.push(format!(
                    "TFTP transfer of {} to {client}: port {port} is in use, moving to port {to}",
                    slot.file
                ));
                slot.armed = None;
                self.by_client.insert(client, to);
                self.transfers.insert(to, slot);
                out.effects.push(Effect::TransferMoved {
                    client,
                    from: port,
                    to,
                });
                self.after_transfer_step(to, out);
                Some(to)
            }
            None => {
                self.by_client.remove(&client);
                let reason = format!(
                    "no free transfer port ({} tried, all in use)",
                    slot.tried.len()
                );
                out.logs.push(format!(
                    "TFTP transfer of {} to {client} dropped: {reason}",
                    slot.file
                ));
                let mut payload = Vec::new();
                tftp_packet::encode_error(
                    &mut payload,
                    tftp_packet::ERR_UNDEFINED,
                    "no free transfer port on the server, try again",
                );
                self.push_udp(TFTP_PORT, client, payload, out);
                out.effects.push(Effect::TransferFailed {
                    client,
                    port,
                    file: slot.file,
                    reason,
                });
                None
            }
        }
    }

    fn send_error(&mut self, src: SocketAddr, code: u16, msg: &str, out: &mut Output) {
        let tid = self.alloc_tid(&[]).unwrap_or(TFTP_PORT);
        let mut payload = Vec::new();
        tftp_packet::encode_error(&mut payload, code, msg);
        self.push_udp(tid, src, payload, out);
    }

    /// R-V6-5: a TFTP datagram from local port `port` to `dst`, over the family of `dst`
    /// (from `address6` for an IPv6 client).
    fn push_udp(&self, port: u16, dst: SocketAddr, payload: Vec<u8>, out: &mut Output) {
        self.push_udp_data(port, dst, payload, None, out);
    }

    fn push_udp_data(
        &self,
        port: u16,
        dst: SocketAddr,
        mut payload: Vec<u8>,
        data: Option<FileData>,
        out: &mut Output,
    ) {
        match dst {
            SocketAddr::V4(dst) => out.transmits.push(Transmit {
                src: SocketAddrV4::new(self.cfg.address, port),
                dst,
                payload,
                data,
            }),
            // Datagrams over IPv6 carry their bytes.
            SocketAddr::V6(dst) if data.is_some() => {
                if let Some(d) = data {
                    d.append_to(&mut payload);
                }
                self.push_udp_data(port, SocketAddr::V6(dst), payload, None, out);
            }
            SocketAddr::V6(dst) => out.transmits6.push(Transmit6 {
                src: SocketAddrV6::new(
                    self.cfg.address6.unwrap_or(std::net::Ipv6Addr::UNSPECIFIED),
                    port,
                    0,
                    0,
                ),
                dst,
                payload,
            }),
        }
    }

    fn on_tftp_request(&mut self, now: Instant, src: SocketAddr, payload: &[u8], out: &mut Output) {
        let req = match Packet::parse(payload) {
            Ok(Packet::Rrq(r)) => r,
            Ok(Packet::Wrq(_)) => {
                // R-TFTP-1: read requests only.
                out.logs
                    .push(format!("TFTP write request from {src} refused"));
                self.send_error(
                    src,
                    tftp_packet::ERR_ACCESS,
                    "write requests are not allowed",
                    out,
                );
                return;
            }
            Ok(_) => return,
            Err(e) => {
                out.logs
                    .push(format!("malformed TFTP request from {src}: {e}"));
                // RFC 1350: an illegal TFTP operation gets error 4 (one small datagram,
                // no amplification), but only for what claims to be a request.
                if matches!(payload.get(..2), Some([0, 1]) | Some([0, 2])) {
                    self.send_error(src, tftp_packet::ERR_ILLEGAL_OP, "malformed request", out);
                }
                return;
            }
        };
        // RFC 1350's modes: octet as is, netascii translated; mail is for writing to a
        // user, which a boot server does not do.
        let netascii = match req.mode.as_str() {
            "octet" => false,
            "netascii" => true,
            other => {
                let msg = format!(
                    "transfer mode \"{other:.32}\" is not served: ask for octet or netascii"
                );
                out.logs
                    .push(format!("TFTP request from {src} refused: {msg}"));
                self.send_error(src, tftp_packet::ERR_ILLEGAL_OP, &msg, out);
                return;
            }
        };
        // A retransmitted RRQ for a transfer that is already running is ignored: the
        // transfer's own timer resends (no second stream to the same client).
        if let Some(tid) = self.by_client.get(&src) {
            if self.transfers.contains_key(tid) {
                return;
            }
        }
        // R-TFTP-3: the name is normalised and confined to the boot root.
        let path = match crate::tftp::path::normalize(req.filename) {
            Ok(p) => p,
            Err(e) => {
                out.logs.push(format!(
                    "TFTP request from {src} for {:?} refused: {e}",
                    String::from_utf8_lossy(req.filename)
                ));
                self.send_error(src, e.code(), &e.to_string(), out);
                return;
            }
        };
        let file: Arc<dyn FileSource> =
            if let Some((mac, class)) = bootfiles::parse_params_path(&path) {
                match self.boot_params(mac, class, out) {
                    Some(text) => Arc::new(text.into_bytes()),
                    None => {
                        self.send_error(src, tftp_packet::ERR_NOT_FOUND, "no boot action", out);
                        return;
                    }
                }
            } else {
                match self.root.open(&path) {
                    Some(f) => f,
                    None => {
                        out.logs
                            .push(format!("TFTP request from {src}: {path} not found"));
                        self.send_error(src, tftp_packet::ERR_NOT_FOUND, "file not found", out);
                        return;
                    }
                }
            };
        let file: Arc<dyn FileSource> = if netascii {
            match Netascii::shared(file) {
                Some(n) => n,
                None => {
                    let msg = format!(
                        "netascii is served for files up to {} MiB: ask for this one in octet mode",
                        netascii::MAX_SOURCE >> 20
                    );
                    out.logs
                        .push(format!("TFTP request from {src} for {path} refused: {msg}"));
                    self.send_error(src, tftp_packet::ERR_UNDEFINED, &msg, out);
                    return;
                }
            }
        } else {
            file
        };
        let Some(tid) = self.alloc_tid(&[]) else {
            self.send_error(src, 3, "too many transfers", out);
            return;
        };
        let size = file.len();
        let mut pooled = Pooled {
            sent: Vec::new(),
            data: out.data_by_reference.then(Vec::new),
            spare: &mut out.spare,
        };
        let transfer = Transfer::start(now, &req, file, &self.tftp_cfg, &mut pooled);
        let (payloads, data) = (pooled.sent, pooled.data);
        self.transfers.insert(
            tid,
            Slot {
                client: src,
                file: path.clone(),
                transfer,
                armed: None,
                tried: Vec::new(),
            },
        );
        self.by_client.insert(src, tid);
        out.effects.push(Effect::TransferStarted {
            client: src,
            port: tid,
            file: path,
            size,
        });
        self.emit_transfer(tid, payloads, data, out);
        self.after_transfer_step(tid, out);
    }

    // R-HTTP-2: the responder serves its boot root over HTTP the way it does over TFTP,
    // the boot program's parameters file included (so an HTTP boot records its required
    // deployment, R-STATE-1, as a PXE boot does).
    /// The file an HTTP connection ([`crate::http::Connection`]) asks for; `path` is
    /// the request's, already confined to the root (R-TFTP-3). 404 without `http`.
    pub fn http_open(
        &mut self,
        path: &str,
        out: &mut Output,
    ) -> Result<Arc<dyn FileSource>, crate::http::Status> {
        use crate::http::Status;
        if self.cfg.http.is_none() {
            return Err(Status::NOT_FOUND);
        }
        if let Some((mac, class)) = bootfiles::parse_params_path(path) {
            return match self.boot_params(mac, class, out) {
                Some(text) => Ok(Arc::new(text.into_bytes())),
                None => Err(Status::NOT_FOUND),
            };
        }
        self.root.open(path).ok_or(Status::NOT_FOUND)
    }

    /// R-STATE-1, R-SEL: selection for the class the boot program learned, the
    /// required deployment recorded before the reply.
    fn boot_params(&mut self, mac: Mac, class: ClientClass, out: &mut Output) -> Option<String> {
        if !self.cfg.respond || self.exclusions.is_excluded(&mac) {
            return None;
        }
        let guid = self.sessions.get(&mac).and_then(|s| s.guid);
        let sel = select::select(&self.site, &self.cfg, self.store.as_ref(), mac, guid, class);
        self.log_selection(out, mac, guid, &sel);
        let choice = sel.outcome.ok()?;
        if choice.purpose == Purpose::Required {
            if let Err(e) = self.store.record(&sel.device_key, &choice.deployment) {
                self.log(
                    out,
                    mac,
                    guid,
                    &format!("failed to record deployment state: {e}"),
                );
                return None;
            }
            out.effects.push(Effect::Recorded {
                device: sel.device_key.to_string(),
                deployment: choice.deployment.clone(),
            });
            self.log(
                out,
                mac,
                guid,
                &format!("recorded required deployment {}", choice.deployment),
            );
        }
        let image_path = bootfiles::image_path(&choice.boot_image);
        let norm = image_path.to_ascii_lowercase();
        let size = self
            .site
            .boot_image(&choice.boot_image)
            .map(|b| b.size)
            .unwrap_or(0);
        let params = BootParams {
            deployment: choice.deployment.clone(),
            boot_image: choice.boot_image.clone(),
            purpose: choice.purpose,
            image_path,
            image_size: size,
            image_crc32: self.root.crc32(&norm),
            block_size: self.cfg.tftp.block_size,
            window_size: self.cfg.tftp.window_size,
            prompt: choice.purpose == Purpose::Available,
        };
        Some(params.to_text())
    }

    fn on_tftp_transfer(
        &mut self,
        now: Instant,
        src: SocketAddr,
        tid: u16,
        payload: &[u8],
        out: &mut Output,
    ) {
        let Some(slot) = self.transfers.get_mut(&tid) else {
            return;
        };
        if slot.client != src {
            // RFC 1350: a packet from an unknown TID is not part of this transfer.
            return;
        }
        let mut payloads = Pooled {
            sent: Vec::new(),
            data: out.data_by_reference.then(Vec::new),
            spare: &mut out.spare,
        };
        slot.transfer.handle_packet(now, payload, &mut payloads);
        self.emit_transfer(tid, payloads.sent, payloads.data, out);
        self.after_transfer_step(tid, out);
    }

    fn emit_transfer(
        &mut self,
        tid: u16,
        payloads: Vec<Vec<u8>>,
        data: Option<Vec<Option<FileData>>>,
        out: &mut Output,
    ) {
        let Some(slot) = self.transfers.get(&tid) else {
            return;
        };
        let client = slot.client;
        let mut data = data.into_iter().flatten();
        for payload in payloads {
            self.push_udp_data(tid, client, payload, data.next().flatten(), out);
        }
    }

    /// R-TFTP-6: a finished or failed transfer is removed alone.
    fn after_transfer_step(&mut self, tid: u16, out: &mut Output) {
        let Some(slot) = self.transfers.get_mut(&tid) else {
            return;
        };
        match slot.transfer.status() {
            TransferStatus::Active => {
                // Lazy timer: a transfer keeps at most one live entry; a deadline that
                // moved later is found when the earlier entry fires.
                if let Some(deadline) = slot.transfer.poll_timeout() {
                    if slot.armed.is_none_or(|a| deadline < a) {
                        slot.armed = Some(deadline);
                        self.timers.push(Reverse((deadline, tid)));
                    }
                }
            }
            TransferStatus::Done => {
                let slot = self.transfers.remove(&tid).expect("present");
                self.by_client.remove(&slot.client);
                out.effects.push(Effect::TransferDone {
                    client: slot.client,
                    port: tid,
                    file: slot.file,
                });
            }
            TransferStatus::Failed(reason) => {
                let reason = reason.clone();
                let slot = self.transfers.remove(&tid).expect("present");
                self.by_client.remove(&slot.client);
                out.logs.push(format!(
                    "TFTP transfer of {} to {} failed: {reason}",
                    slot.file, slot.client
                ));
                out.effects.push(Effect::TransferFailed {
                    client: slot.client,
                    port: tid,
                    file: slot.file,
                    reason,
                });
            }
        }
    }
}

fn push_peer_sends(me: Ipv4Addr, sends: Vec<(SocketAddrV4, Vec<u8>)>, out: &mut Output) {
    for (dst, payload) in sends {
        out.transmits.push(Transmit {
            src: SocketAddrV4::new(me, PEER_PORT),
            dst,
            payload,
            data: None,
        });
    }
}

fn min_opt(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, None) => x,
        (None, y) => y,
    }
}

#[cfg(test)]
mod tests_tftp6;
#[cfg(test)]
mod tests_v6;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dhcp::firmware::{self, FirmwareKind};
    use crate::dhcp::packet::parse;
    use crate::dhcp::relay::RelayAgent;
    use crate::policy::{Arch, AvailableTo, Collection, Machine, Purpose, Site};
    use crate::state::MemoryStore;
    use crate::testkit::{deployment, image, machine, SameFileRoot};
    use proptest::prelude::*;
    use std::cell::RefCell;
    use std::collections::BTreeMap;
    use std::rc::Rc;

    /// Every `smsboot/` file is 3,000 bytes of 7.
    fn root() -> SameFileRoot {
        SameFileRoot::new("smsboot/", vec![7u8; 3000])
    }

    const ME: Ipv4Addr = Ipv4Addr::new(10, 10, 0, 5);

    fn mac(i: u8) -> Mac {
        Mac([0x52, 0x54, 0, 0, 0, i])
    }

    fn site() -> Arc<Site> {
        Arc::new(Site {
            code: "PS1".into(),
            boot_images: vec![
                image("PS100001", Arch::X86, 1000, true),
                image("PS100002", Arch::X64, 1000, true),
            ],
            machines: vec![machine("WS01", Some(mac(1)), None)],
            collections: vec![Collection {
                name: "Lab".into(),
                members: vec!["WS01".into()],
            }],
            deployments: vec![deployment(
                "PS120001",
                "Lab",
                "PS100002",
                Purpose::Available,
                AvailableTo::MediaPxe,
            )],
            ..Site::default()
        })
    }

    fn responder(f: impl FnOnce(&mut ResponderConfig)) -> Responder {
        let mut cfg = ResponderConfig::new("dp1", ME, Role::DistributionPoint);
        cfg.images = vec!["PS100001".into(), "PS100002".into()];
        f(&mut cfg);
        Responder::new(
            Instant::ZERO,
            cfg,
            site(),
            Box::new(MemoryStore::new()),
            Arc::new(root()),
            1,
        )
    }

    fn uefi() -> &'static firmware::FirmwareModel {
        firmware::model(FirmwareKind::UefiX64)
    }

    fn discover(secs: u16) -> Vec<u8> {
        firmware::build_discover(uefi(), mac(1), None, 77, secs)
    }

    const CLIENT_IP: Ipv4Addr = Ipv4Addr::new(10, 10, 0, 100);

    /// EDK2's request to port 4011, sent from its new address and port 4011.
    fn ask_4011(r: &mut Responder) -> Output {
        let req = firmware::build_pxe_request(uefi(), mac(1), None, 77, CLIENT_IP, ME);
        send(
            r,
            Instant::ZERO,
            SocketAddrV4::new(CLIENT_IP, 4011),
            4011,
            &req,
        )
    }

    fn client68() -> SocketAddrV4 {
        SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 68)
    }

    fn send(r: &mut Responder, now: Instant, src: SocketAddrV4, port: u16, p: &[u8]) -> Output {
        let mut out = Output::default();
        r.handle_datagram(now, src, SocketAddrV4::new(ME, port), p, &mut out);
        out
    }

    #[test]
    fn r_ans_1_proxy_offer_then_4011_ack_names_the_boot_file() {
        let mut r = responder(|_| {});
        let out = send(&mut r, Instant::ZERO, client68(), 67, &discover(0));
        assert_eq!(out.transmits.len(), 1);
        let t = &out.transmits[0];
        assert_eq!(t.dst, SocketAddrV4::new(Ipv4Addr::BROADCAST, 68));
        let offer = parse(&t.payload).unwrap();
        assert_eq!(offer.yiaddr, Ipv4Addr::UNSPECIFIED);
        assert!(offer.is_pxe_client());
        assert_eq!(offer.server_id, Some(ME));
        // EDK2 asks port 4011 from port 4011 with its new address; the ACK goes back there.
        let ip = Ipv4Addr::new(10, 10, 0, 100);
        let req = firmware::build_pxe_request(uefi(), mac(1), None, 77, ip, ME);
        let src = SocketAddrV4::new(ip, 4011);
        let out = send(&mut r, Instant::ZERO, src, 4011, &req);
        assert_eq!(out.transmits.len(), 1);
        assert_eq!(out.transmits[0].dst, src);
        let ack = parse(&out.transmits[0].payload).unwrap();
        assert_eq!(ack.message_type, Some(MessageType::Ack));
        assert_eq!(
            ack.file_lossy().trim_end_matches('\0'),
            "smsboot/PS100002/x64/bootmgfw.efi"
        );
    }

    #[test]
    fn r_ex_2_excluded_mac_gets_no_4011_answer_either() {
        let mut r = responder(|c| c.mac_exclusions = vec![mac(1)]);
        let out = ask_4011(&mut r);
        assert!(out.transmits.is_empty());
        let out = send(&mut r, Instant::ZERO, client68(), 67, &discover(0));
        assert!(out.transmits.is_empty());
        // R-EX-3: a reload lifts it.
        r.set_exclusions(vec![]);
        assert_eq!(
            send(&mut r, Instant::ZERO, client68(), 67, &discover(0))
                .transmits
                .len(),
            1
        );
    }

    #[test]
    fn r_ans_4_respond_false_is_silent_on_67_and_4011() {
        let mut r = responder(|c| c.respond = false);
        assert!(send(&mut r, Instant::ZERO, client68(), 67, &discover(0))
            .transmits
            .is_empty());
        assert!(ask_4011(&mut r).transmits.is_empty());
    }

    #[test]
    fn r_ans_2_not_listening_on_67_still_answers_4011() {
        let mut r = responder(|c| c.listen_dhcp_port = false);
        assert!(send(&mut r, Instant::ZERO, client68(), 67, &discover(0))
            .transmits
            .is_empty());
        let out = ask_4011(&mut r);
        assert_eq!(out.transmits.len(), 1);
    }

    #[test]
    fn r_ans_5_elapsed_is_the_larger_of_secs_and_local_time() {
        let mut r = responder(|c| c.response_delay = Duration::from_secs(4));
        // secs 0 and first seen now: wait.
        assert!(send(&mut r, Instant::ZERO, client68(), 67, &discover(0))
            .transmits
            .is_empty());
        // Same transaction 4 s later, still secs 0: local elapsed counts.
        let t4 = Instant::ZERO + Duration::from_secs(4);
        assert_eq!(
            send(&mut r, t4, client68(), 67, &discover(0))
                .transmits
                .len(),
            1
        );
        // A fresh responder and a client that says secs 5: answered at once.
        let mut r = responder(|c| c.response_delay = Duration::from_secs(4));
        assert_eq!(
            send(&mut r, Instant::ZERO, client68(), 67, &discover(5))
                .transmits
                .len(),
            1
        );
    }

    #[test]
    fn r_ans_3_relayed_discover_answered_to_giaddr_with_option82_echoed() {
        let mut relay = RelayAgent::new(
            vec![
                (0, Ipv4Addr::new(10, 20, 0, 1), 24),
                (1, Ipv4Addr::new(10, 10, 0, 1), 24),
            ],
            BTreeMap::from([(0, vec![ME])]),
            BTreeMap::from([(0, (Some(b"vlan20".to_vec()), Some(b"r1".to_vec())))]),
        );
        let relayed = relay.from_client(0, &discover(0));
        assert_eq!(relayed.len(), 1);
        let (_, src_ip, payload) = &relayed[0];
        let sent = parse(payload).unwrap();
        let mut r = responder(|_| {});
        let out = send(
            &mut r,
            Instant::ZERO,
            SocketAddrV4::new(*src_ip, 67),
            67,
            payload,
        );
        assert_eq!(out.transmits.len(), 1);
        assert_eq!(
            out.transmits[0].dst,
            SocketAddrV4::new(Ipv4Addr::new(10, 20, 0, 1), 67)
        );
        let offer = parse(&out.transmits[0].payload).unwrap();
        assert_eq!(
            offer.relay_agent_info.as_ref().map(|o| o.raw.clone()),
            sent.relay_agent_info.as_ref().map(|o| o.raw.clone())
        );
        assert!(offer.relay_agent_info.is_some());
    }

    // ---- R-ID-5: sites of a hierarchy ----

    /// `site()` with WS02 (`mac(2)`, assigned to the other primary site PS2) beside
    /// WS01 in `Lab`, whose deployment is required.
    fn two_sites() -> Arc<Site> {
        let mut s = (*site()).clone();
        s.other_sites = vec!["PS2".into()];
        s.machines.push(Machine {
            name: "WS02".into(),
            mac: Some(mac(2)),
            smbios_guid: None,
            assigned_site: Some("PS2".into()),
        });
        s.collections[0].members.push("WS02".into());
        s.deployments[0].purpose = Purpose::Required;
        Arc::new(s)
    }

    /// A responder of `site_code` (`None`: the site's own) on the two-site site.
    fn of_site(
        name: &str,
        last_octet: u8,
        role: Role,
        site_code: Option<&str>,
        site: &Arc<Site>,
        store: Box<dyn StateStore>,
    ) -> Responder {
        let mut cfg = ResponderConfig::new(name, Ipv4Addr::new(10, 10, 0, last_octet), role);
        cfg.images = vec!["PS100001".into(), "PS100002".into()];
        cfg.site = site_code.map(str::to_string);
        Responder::new(Instant::ZERO, cfg, site.clone(), store, Arc::new(root()), 1)
    }

    /// A client's DISCOVER (EDK2, `secs` 0) at a responder, at `now`.
    fn discover_at(r: &mut Responder, now: Instant, client: Mac) -> Output {
        let d = firmware::build_discover(uefi(), client, None, 77, 0);
        let mut out = Output::default();
        let dst = SocketAddrV4::new(Ipv4Addr::BROADCAST, 67);
        r.handle_datagram(now, client68(), dst, &d, &mut out);
        out
    }

    fn silences(out: &Output) -> Vec<(&'static str, &str)> {
        out.effects
            .iter()
            .filter_map(|e| match e {
                Effect::Silent { rule, reason, .. } => Some((*rule, reason.as_str())),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn r_id_5_no_proxy_offer_and_no_4011_ack_for_a_device_of_another_site() {
        let s = two_sites();
        let store = Box::new(MemoryStore::new());
        let mut dp1 = of_site("dp1", 5, Role::DistributionPoint, None, &s, store);
        let out = discover_at(&mut dp1, Instant::ZERO, mac(2));
        assert!(out.transmits.is_empty(), "no proxy offer");
        let why = "device is assigned to site PS2, its policies are not visible at site PS1";
        assert_eq!(silences(&out), vec![("R-ID-5", why)]);
        assert!(out
            .logs
            .iter()
            .all(|l| l.starts_with("52:54:00:00:00:02, ")));
        let lines: Vec<&str> = out
            .logs
            .iter()
            .filter_map(|l| l.split_once(": ").map(|(_, text)| text))
            .collect();
        assert_eq!(
            lines,
            vec!["device is in the database", why, "Not serviced."]
        );
        // Its 4011 request is not answered either.
        let req = firmware::build_pxe_request(uefi(), mac(2), None, 77, CLIENT_IP, ME);
        let from = SocketAddrV4::new(CLIENT_IP, 4011);
        let out = send(&mut dp1, Instant::ZERO, from, 4011, &req);
        assert!(out.transmits.is_empty(), "no 4011 ACK");
        assert_eq!(silences(&out), vec![("R-ID-5", why)]);
        // PS1's own machine gets its offer from the same DP.
        let out = discover_at(&mut dp1, Instant::ZERO, mac(1));
        assert_eq!(out.transmits.len(), 1);
        assert_eq!(out.effects, vec![Effect::Answered { client: mac(1) }]);
    }

    #[test]
    fn r_id_5_state_recorded_by_one_sites_responder_is_seen_by_the_others() {
        // One state store for the hierarchy, as the simulator and `pxelab serve --state`
        // share it: dp2 (PS2) records WS02's required deployment; dp1 (PS1) sees it.
        let s = two_sites();
        let store = Rc::new(RefCell::new(MemoryStore::new()));
        let dp = |name, octet, code| {
            let store = Box::new(store.clone());
            of_site(name, octet, Role::DistributionPoint, code, &s, store)
        };
        let (mut dp1, mut dp2) = (dp("dp1", 5, None), dp("dp2", 6, Some("PS2")));
        assert_eq!(
            discover_at(&mut dp2, Instant::ZERO, mac(2)).transmits.len(),
            1
        );
        // The boot program asks dp2 for its parameters: the deployment is recorded.
        let mut rrq = Vec::new();
        let params = bootfiles::params_path(mac(2), ClientClass::UefiX64);
        tftp_packet::encode_rrq(&mut rrq, params.as_bytes(), "octet", &[]);
        let from = SocketAddrV4::new(CLIENT_IP, 2000);
        let out = send(&mut dp2, Instant::ZERO, from, 69, &rrq);
        assert!(out.effects.contains(&Effect::Recorded {
            device: "machine:WS02".into(),
            deployment: "PS120001".into()
        }));
        let ws02 = crate::state::DeviceKey::machine("WS02");
        assert!(dp1.store_mut().is_recorded(&ws02, "PS120001"));
        // dp2 does not offer it again (R-STATE-1); dp1 still stays silent by R-ID-5,
        // and records of PS1's machines live in the same store.
        let out = discover_at(&mut dp2, Instant::ZERO + Duration::from_secs(1), mac(2));
        assert_eq!(silences(&out), vec![("R-SEL-5", "no advertisements found")]);
        assert_eq!(
            silences(&discover_at(&mut dp1, Instant::ZERO, mac(2)))[0].0,
            "R-ID-5"
        );
        let ws01 = crate::state::DeviceKey::machine("WS01");
        dp1.store_mut().record(&ws01, "PS120001").unwrap();
        assert!(dp2.store_mut().is_recorded(&ws01, "PS120001"));
        assert_eq!(store.borrow().len(), 2);
    }

    /// Runs the peers' membership (every datagram delivered 1 ms later, broadcasts to
    /// all others) until each counts all the others alive; returns the time.
    fn converge(peers: &mut [Responder]) -> Instant {
        let mut now = Instant::ZERO;
        let mut inflight: Vec<(Instant, usize, Transmit)> = Vec::new();
        let step = Duration::from_millis(1);
        while peers.iter().any(|p| p.live_peers().len() + 1 < peers.len()) {
            assert!(
                now < Instant::ZERO + Duration::from_secs(30),
                "no convergence"
            );
            let mut due = Vec::new();
            inflight.retain(|(at, from, t)| {
                if *at <= now {
                    due.push((*from, t.clone()));
                    false
                } else {
                    true
                }
            });
            for (from, t) in due {
                for (i, p) in peers.iter_mut().enumerate() {
                    let to_me = t.dst.ip().is_broadcast() || *t.dst.ip() == p.config().address;
                    if i != from && to_me {
                        let mut out = Output::default();
                        p.handle_datagram(now, t.src, t.dst, &t.payload, &mut out);
                        inflight.extend(out.transmits.into_iter().map(|t| (now + step, i, t)));
                    }
                }
            }
            for (i, p) in peers.iter_mut().enumerate() {
                if p.poll_timeout().is_some_and(|t| t <= now) {
                    let mut out = Output::default();
                    p.handle_timeout(now, &mut out);
                    inflight.extend(out.transmits.into_iter().map(|t| (now + step, i, t)));
                }
            }
            now = now + step;
        }
        now
    }

    #[test]
    fn r_ans_6_r_id_5_a_peer_of_another_site_is_not_ranked() {
        // A client for which p2 ranks ahead of p1: WS01 gets that MAC.
        let client = (1..=255u8)
            .map(mac)
            .find(|m| election::score(*m, "p2") > election::score(*m, "p1"))
            .expect("some MAC ranks p2 first");
        let mut s = (*two_sites()).clone();
        s.machines[0].mac = Some(client);
        s.machines[1].mac = Some(mac(0));
        let s = Arc::new(s);
        let peer = |name: &str, octet, code: Option<&str>| {
            of_site(
                name,
                octet,
                Role::Peer,
                code,
                &s,
                Box::new(MemoryStore::new()),
            )
        };
        // p1 of PS1 and p2 of PS2 on one segment, both holding the image: for WS01 (PS1)
        // p2 would stay silent (R-ID-5), so p1 does not wait for it.
        let mut peers = vec![peer("p1", 11, None), peer("p2", 12, Some("PS2"))];
        let now = converge(&mut peers);
        assert_eq!(peers[0].live_peers(), vec!["p2".to_string()]);
        let out = discover_at(&mut peers[0], now, client);
        assert_eq!(out.transmits.len(), 1, "p1 answers at once: {:?}", out.logs);
        assert_eq!(
            silences(&discover_at(&mut peers[1], now, client))[0].0,
            "R-ID-5"
        );
        // Control: with p2 of PS1 too, p2 is ranked first and p1 waits one failover step.
        let mut peers = vec![peer("p1", 11, None), peer("p2", 12, None)];
        let now = converge(&mut peers);
        let out = discover_at(&mut peers[0], now, client);
        assert!(out.transmits.is_empty());
        assert_eq!(
            silences(&out),
            vec![(
                "R-ANS-6",
                "waiting: elapsed 0.0s is below the response delay 4.0s"
            )]
        );
        assert_eq!(discover_at(&mut peers[1], now, client).transmits.len(), 1);
    }

    #[test]
    fn r_tftp_1_write_request_refused_from_a_new_port() {
        let mut r = responder(|_| {});
        let mut wrq = Vec::new();
        tftp_packet::encode_wrq(&mut wrq, b"smsboot/x", "octet", &[]);
        let out = send(
            &mut r,
            Instant::ZERO,
            SocketAddrV4::new(Ipv4Addr::new(10, 10, 0, 100), 2000),
            69,
            &wrq,
        );
        assert_eq!(out.transmits.len(), 1);
        assert_ne!(out.transmits[0].src.port(), 69);
        assert!(matches!(
            Packet::parse(&out.transmits[0].payload),
            Ok(Packet::Error { code: 2, .. })
        ));
        assert_eq!(r.active_transfers(), 0);
    }

    #[test]
    fn r_tftp_6_a_client_that_vanishes_fails_alone() {
        let mut r = responder(|c| c.tftp.window_size = 1);
        let a = SocketAddrV4::new(Ipv4Addr::new(10, 10, 0, 100), 2000);
        let b = SocketAddrV4::new(Ipv4Addr::new(10, 10, 0, 101), 2000);
        let mut rrq = Vec::new();
        tftp_packet::encode_rrq(&mut rrq, b"smsboot/a", "octet", &[]);
        let ta = send(&mut r, Instant::ZERO, a, 69, &rrq).transmits[0]
            .src
            .port();
        let tb = send(&mut r, Instant::ZERO, b, 69, &rrq).transmits[0]
            .src
            .port();
        assert_ne!(ta, tb);
        // b acknowledges its six blocks; a never answers. Time runs from timer to timer.
        let mut failed = 0;
        for block in 1..=6u16 {
            let mut ack = Vec::new();
            tftp_packet::encode_ack(&mut ack, block);
            let _ = send(&mut r, Instant::ZERO, b, tb, &ack);
        }
        let mut guard = 0;
        while let Some(now) = r.poll_timeout() {
            guard += 1;
            if r.active_transfers() == 0 || guard > 100 {
                break;
            }
            let mut out = Output::default();
            r.handle_timeout(now, &mut out);
            failed += out
                .effects
                .iter()
                .filter(|e| matches!(e, Effect::TransferFailed { client, .. } if *client == SocketAddr::V4(a)))
                .count();
        }
        assert_eq!(failed, 1, "the silent client's transfer fails");
        assert_eq!(r.active_transfers(), 0, "b finished its 3000 bytes");
    }

    fn rrq(file: &str, mode: &str, opts: &[(&str, &str)]) -> Vec<u8> {
        let mut b = Vec::new();
        tftp_packet::encode_rrq(&mut b, file.as_bytes(), mode, opts);
        b
    }

    fn client(i: u8) -> SocketAddrV4 {
        SocketAddrV4::new(Ipv4Addr::new(10, 10, 0, 100 + i), 2000)
    }

    #[test]
    fn transfer_ports_are_drawn_at_random_from_the_range_and_repeat_with_the_seed() {
        let ports = |seed: u64| {
            let mut r = responder(|_| {});
            r.set_transfer_ports(
                TransferPorts {
                    first: 50000,
                    last: 50099,
                },
                seed,
            );
            (0..40u8)
                .map(|i| {
                    let out = send(
                        &mut r,
                        Instant::ZERO,
                        client(i),
                        69,
                        &rrq("smsboot/a", "octet", &[]),
                    );
                    out.transmits[0].src.port()
                })
                .collect::<Vec<u16>>()
        };
        let a = ports(7);
        assert!(a.iter().all(|p| (50000..=50099).contains(p)), "{a:?}");
        let mut distinct = a.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(
            distinct.len(),
            a.len(),
            "no port twice among running transfers"
        );
        assert!(
            a.windows(2).filter(|w| w[1] == w[0] + 1).count() < 5,
            "not handed out in sequence: {a:?}"
        );
        assert_eq!(ports(7), a, "the same seed, the same ports (the simulator)");
        assert_ne!(ports(8), a);
        // The default range, drawn from the responder's own seed.
        let mut r = responder(|_| {});
        assert_eq!(r.transfer_ports(), TransferPorts::default());
        let out = send(
            &mut r,
            Instant::ZERO,
            client(0),
            69,
            &rrq("smsboot/a", "octet", &[]),
        );
        assert!(out.transmits[0].src.port() >= 49152);
    }

    #[test]
    fn transfer_ports_parse_as_a_range_clear_of_the_responders_ports() {
        assert_eq!(
            "50000-50010".parse::<TransferPorts>(),
            Ok(TransferPorts {
                first: 50000,
                last: 50010
            })
        );
        assert_eq!(TransferPorts::default().to_string(), "49152-65535");
        for bad in [
            "50000",
            "5-4",
            "100-2000",
            "4000-5000",
            "a-b",
            "60000-70000",
        ] {
            assert!(bad.parse::<TransferPorts>().is_err(), "{bad}");
        }
    }

    #[test]
    fn a_port_the_driver_cannot_open_moves_the_transfer_then_drops_it_with_an_error() {
        let mut r = responder(|c| c.tftp.window_size = 1);
        r.set_transfer_ports(
            TransferPorts {
                first: 50000,
                last: 50015,
            },
            3,
        );
        let c = client(0);
        let out = send(
            &mut r,
            Instant::ZERO,
            c,
            69,
            &rrq("smsboot/a", "octet", &[]),
        );
        let mut port = out.transmits[0].src.port();
        let mut tried = vec![port];
        for i in 1..MAX_PORT_TRIES {
            let mut o = Output::default();
            let to = r
                .transfer_port_unavailable(port, &mut o)
                .expect("moved to another port");
            assert!(!tried.contains(&to), "a port tried before: {to}");
            assert!(o.effects.contains(&Effect::TransferMoved {
                client: SocketAddr::V4(c),
                from: port,
                to
            }));
            assert!(o.logs.iter().any(|l| l.contains("in use")), "{:?}", o.logs);
            assert_eq!(r.active_transfers(), 1, "try {i}");
            tried.push(to);
            port = to;
        }
        // The client's ACK reaches the transfer on its new port.
        let mut ack = Vec::new();
        tftp_packet::encode_ack(&mut ack, 1);
        let o = send(&mut r, Instant::ZERO, c, port, &ack);
        assert!(matches!(
            Packet::parse(&o.transmits[0].payload),
            Ok(Packet::Data { block: 2, .. })
        ));
        // Its timer followed it.
        let at = r.poll_timeout().expect("a timer");
        let mut o = Output::default();
        r.handle_timeout(at, &mut o);
        assert_eq!(o.transmits.len(), 1);
        assert_eq!(o.transmits[0].src.port(), port);
        // The last try: dropped, the client told from port 69, nothing kept.
        let mut o = Output::default();
        assert_eq!(r.transfer_port_unavailable(port, &mut o), None);
        assert_eq!(r.active_transfers(), 0);
        assert_eq!(o.transmits.len(), 1);
        assert_eq!(o.transmits[0].src.port(), TFTP_PORT);
        assert_eq!(o.transmits[0].dst, c);
        assert!(matches!(
            Packet::parse(&o.transmits[0].payload),
            Ok(Packet::Error { code: 0, message }) if message.contains("transfer port")
        ));
        assert!(matches!(&o.effects[..], [Effect::TransferFailed { port: p, .. }] if *p == port));
        // Its retransmitted request starts a new transfer: nothing "exists" any more.
        let out = send(
            &mut r,
            Instant::ZERO,
            c,
            69,
            &rrq("smsboot/a", "octet", &[]),
        );
        assert!(matches!(
            Packet::parse(&out.transmits[0].payload),
            Ok(Packet::Data { block: 1, .. })
        ));
        // A port no transfer uses (a one-off error reply's): nothing to move.
        let mut o = Output::default();
        assert_eq!(r.transfer_port_unavailable(12345, &mut o), None);
        assert!(o.transmits.is_empty() && o.effects.is_empty());
    }

    #[test]
    fn netascii_is_served_translated_and_other_modes_are_named_in_the_error() {
        let mut r = responder(|_| {});
        // The root's files are 3000 bytes of 7: nothing to translate; tsize is the
        // translated length all the same (the parameters file has LFs).
        let out = send(
            &mut r,
            Instant::ZERO,
            client(0),
            69,
            &rrq("smsboot/a", "netascii", &[("tsize", "0")]),
        );
        assert!(matches!(
            Packet::parse(&out.transmits[0].payload),
            Ok(Packet::Oack { options }) if options == [("tsize".to_string(), "3000".to_string())]
        ));
        for mode in ["mail", "binary", "ascii"] {
            let out = send(
                &mut r,
                Instant::ZERO,
                client(1),
                69,
                &rrq("smsboot/a", mode, &[]),
            );
            let Ok(Packet::Error { code, message }) = Packet::parse(&out.transmits[0].payload)
            else {
                panic!("{mode}: no error")
            };
            assert_eq!(code, tftp_packet::ERR_ILLEGAL_OP);
            assert!(
                message.contains(mode) && message.contains("octet or netascii"),
                "{message}"
            );
            assert!(!message.contains("only octet"));
        }
    }

    /// Bytes and datagrams a responder sends for one spoofed read request whose
    /// "client" never answers, until the transfer gives up.
    fn spoofed(options: &[(&str, &str)]) -> (usize, usize, usize, usize) {
        let mut r = responder(|c| {
            c.tftp.block_size = 8192;
            c.tftp.window_size = 16;
        });
        let mut rrq = Vec::new();
        tftp_packet::encode_rrq(
            &mut rrq,
            b"smsboot/PS100002/x64/bootmgfw.efi",
            "octet",
            options,
        );
        let victim = SocketAddrV4::new(Ipv4Addr::new(192, 0, 2, 1), 69);
        let first = send(&mut r, Instant::ZERO, victim, 69, &rrq);
        let first_datagrams = first.transmits.len();
        let (mut datagrams, mut bytes) = (
            first_datagrams,
            first
                .transmits
                .iter()
                .map(|t| t.payload.len())
                .sum::<usize>(),
        );
        while let Some(t) = r.poll_timeout() {
            if r.active_transfers() == 0 {
                break;
            }
            let mut out = Output::default();
            r.handle_timeout(t, &mut out);
            datagrams += out.transmits.len();
            bytes += out.transmits.iter().map(|t| t.payload.len()).sum::<usize>();
        }
        (first_datagrams, datagrams, bytes, rrq.len())
    }

    #[test]
    fn spoofed_request_amplification_is_bounded() {
        // With options: only the OACK before the client answers, then its retries.
        let (first, n, bytes, req) =
            spoofed(&[("blksize", "8192"), ("windowsize", "16"), ("tsize", "0")]);
        assert_eq!(first, 1, "only an OACK before the client answers");
        assert_eq!(n, 1 + ServerConfig::default().max_retries as usize);
        println!("spoofed RRQ with options: {n} datagrams, {bytes} bytes for {req} request bytes ({:.1}x)", bytes as f64 / req as f64);
        assert!(bytes <= 7 * 64, "{bytes}");
        // Without options: one window of one 512-byte block, then its retries.
        let (first, n, bytes, req) = spoofed(&[]);
        assert_eq!(first, 1, "one block before the client answers");
        assert_eq!(n, 1 + ServerConfig::default().max_retries as usize);
        println!("spoofed RRQ without options: {n} datagrams, {bytes} bytes for {req} request bytes ({:.1}x)", bytes as f64 / req as f64);
        assert!(bytes <= 7 * 516, "{bytes}");
    }

    proptest! {
        /// No datagram on any port makes the responder panic, and its memory of
        /// transactions and transfers stays bounded.
        #[test]
        fn arbitrary_datagrams_never_panic(
            packets in proptest::collection::vec(
                (prop_oneof![Just(67u16), Just(68), Just(69), Just(4011), Just(PEER_PORT), Just(49152), 0u16..=65535],
                 proptest::collection::vec(any::<u8>(), 0..700)),
                1..40),
        ) {
            let mut r = responder(|c| c.response_delay = Duration::from_secs(1));
            let mut now = Instant::ZERO;
            for (port, bytes) in &packets {
                now = now + Duration::from_millis(100);
                let _ = send(&mut r, now, SocketAddrV4::new(Ipv4Addr::new(10, 10, 0, 200), 2000), *port, bytes);
                // Mutated real packets reach deeper than random bytes.
                let mut d = discover(0);
                for (i, b) in bytes.iter().enumerate().take(8) {
                    let at = (*b as usize * 7 + i * 31) % d.len();
                    d[at] ^= b;
                }
                let _ = send(&mut r, now, client68(), 67, &d);
                let mut out = Output::default();
                r.handle_timeout(now, &mut out);
            }
            prop_assert!(r.active_transfers() <= packets.len());
        }
    }
}
