//! The PXE responder: proxy DHCP (67, 4011), TFTP (69 and transfer ports) and, for
//! peers, membership and election. One `Responder` is one DP or peer.
//!
//! Sans-IO: the driver (simulator or daemon) calls [`Responder::handle_datagram`] and
//! [`Responder::handle_timeout`] with the current time and collects [`Output`]:
//! datagrams to send, log lines (SMSPXE vocabulary) and effects.
//!
//! This file holds the responder's state, its outputs and the dispatch of datagrams and
//! timers; each concern is a file beside it: [`dhcpv4`] (proxy DHCP, 67 and 4011),
//! [`dhcpv6`] (DHCPv6, 547 and 4011), [`http`] (HTTP boot), [`decide`] (the rules every
//! boot request goes through), [`tftp`] (requests and transfers) and [`ports`] (the
//! transfer ports).

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
        /// The server's timeouts that resent something, and the blocks they resent
        /// (the bench compares them with the simulator's).
        timeouts: u64,
        resent_blocks: u64,
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
    /// A transfer step's datagrams and their file data, emptied by each step and kept
    /// for the next (no allocation per ACK).
    pub step_sent: Vec<Vec<u8>>,
    pub step_data: Vec<Option<FileData>>,
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

// A block's step reads `client`, `armed` and the transfer's first fields: in this
// order, from the start of a cache line (BENCHMARKS.md, 2026-12-02).
#[repr(C, align(64))]
struct Slot {
    /// The client's address, IPv4 or IPv6 (R-V6-5: one table for both families).
    client: SocketAddr,
    /// The deadline this transfer has in `timers`, if any (one entry per transfer).
    armed: Option<Instant>,
    transfer: Transfer,
    file: String,
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
                let (mut sent, mut data) = (payloads.sent, payloads.data);
                self.emit_transfer(tid, &mut sent, &mut data, out);
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
            // A transfer's port, or nothing (`on_tftp_transfer` looks it up once).
            port => self.on_tftp_transfer(now, src.into(), port, payload, out),
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

mod decide;
mod dhcpv4;
mod dhcpv6;
mod http;
mod ports;
mod tftp;

pub use ports::TransferPorts;

#[cfg(test)]
mod tests;

#[cfg(test)]
mod tests_tftp6;
#[cfg(test)]
mod tests_v6;
