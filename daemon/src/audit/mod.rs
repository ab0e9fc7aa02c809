//! `pxelab audit`: who answers DHCP and proxy DHCP on a segment.
//!
//! A PXE segment is an unauthenticated broadcast network: any host can answer a
//! client's DISCOVER. The audit watches the segment's frames (live, from an interface,
//! or from pcap files such as the lab's and the simulator's segment captures), picks
//! out every BOOTREPLY sent from port 67 or 4011, and reports each server that
//! answered: its server identifier (option 54, else the source address), the MACs
//! and source addresses it was seen from (a relay's address when it came through
//! one), whether it offered addresses (a DHCP server) or only boot information (a proxy
//! DHCP server, R-ANS-1), on which ports, and the boot files it named. Given the
//! scenario (or site file) that describes the segment, every server it does not name
//! (a DHCP server or a responder at that address) is flagged.
//!
//! Over IPv6 and for HTTP boot as well (R-V6, R-HTTP): every DHCPv6 Advertise, Reply
//! or Relay-Reply sent from port 547 or 4011 is a server answering, known by its server
//! identifier (a DUID: its addresses vary, link-local or not), named when one of its
//! addresses is a named `address6` or its DUID a named responder's. What each server
//! boots is said in the scenario format's `netboot` words: `pxe4` and `http4` for a
//! DHCPv4 answer whose vendor class is `PXEClient` or `HTTPClient`, `pxe6` and `http6`
//! for a DHCPv6 one (option 16), or one with a boot file URL (option 59) of that scheme.
//!
//! [`Audit::observe_frame`] is the whole analysis, sans IO (this file: what is seen
//! and the frame's dispatch; `dhcpv4.rs` and `dhcpv6.rs`: each family's answers);
//! [`capture_live`] and [`read_pcap`] (`capture.rs`) only feed it frames.

use etherparse::{NetSlice, SlicedPacket, TransportSlice};
use pxelab_engine::dhcp::packet::{parse, MessageType};
use pxelab_engine::dhcp6::{self, Message6};
use pxelab_engine::Mac;
use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::time::Duration;

/// What the audit knows is supposed to answer: address → (name, what it is), and the
/// DHCPv6 server identifiers (DUIDs) it knows.
#[derive(Clone, Debug, Default)]
pub struct Named {
    pub servers: BTreeMap<IpAddr, (String, &'static str)>,
    pub duids: BTreeMap<Vec<u8>, String>,
}

impl Named {
    /// A server at `addr` (IPv4 or IPv6); an unspecified address (an IPv6-only server's
    /// IPv4 one) names nothing.
    pub fn add(&mut self, addr: impl Into<IpAddr>, name: &str, what: &'static str) {
        let addr = addr.into();
        if !addr.is_unspecified() {
            self.servers.entry(addr).or_insert((name.to_string(), what));
        }
    }

    /// A responder's DHCPv6 server identifier (the engine derives it from the name).
    pub fn add_responder_duid(&mut self, name: &str) {
        self.duids
            .insert(dhcp6::server_duid(name), name.to_string());
    }
}

/// How a server is told apart: by its IPv4 server identifier, or by its DHCPv6 one.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum ServerKey {
    V4(Ipv4Addr),
    V6(Vec<u8>),
}

/// One server seen answering.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Seen {
    /// Option 54 of its answers, else their source address; over IPv6, the source
    /// address of its first answer.
    pub server: IpAddr,
    /// Its DHCPv6 server identifier, in hex (IPv6 only).
    pub duid: Option<String>,
    /// What the file or config calls it; `None`: not named there.
    pub named: Option<String>,
    /// Flagged: a scenario was given and does not name this server.
    pub flagged: bool,
    /// `dhcp` when it offered an address (yiaddr set; over IPv6 an IA address),
    /// `proxy` when it answered with boot information only.
    pub kinds: BTreeSet<String>,
    /// What it boots, as the scenario format's `netboot` says: `pxe4`, `http4`, `pxe6`,
    /// `http6` (empty for a DHCP server that names no boot server).
    pub netboot: BTreeSet<String>,
    /// UDP source ports of its answers (67, 4011).
    pub ports: BTreeSet<u16>,
    /// Source MACs of the frames (a router's when relayed).
    pub macs: BTreeSet<String>,
    /// Source IP addresses of the frames, when other than `server` (relays; over IPv6,
    /// its other addresses too).
    pub via: BTreeSet<IpAddr>,
    /// DHCP message types it sent (OFFER, ACK, ...; ADVERTISE, REPLY, RELAY-REPLY).
    pub messages: BTreeSet<String>,
    /// Boot file names it handed out (file field or option 67; DHCPv6 option 59).
    pub boot_files: BTreeSet<String>,
    /// Answers counted.
    pub answers: u64,
    /// Seconds since the start of the capture.
    pub first_s: f64,
    pub last_s: f64,
}

/// One client seen asking: its DISCOVERs and the proxy offers it got, to tell how long
/// a client waited for a boot server (failover under fire) and how many tries it took.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ClientSeen {
    pub mac: String,
    /// Times of its DHCPDISCOVERs (seconds since the start of the capture).
    pub discovers: Vec<f64>,
    /// The first proxy offer (yiaddr 0) addressed to it: when, and from which server.
    pub first_proxy_offer_s: Option<f64>,
    pub proxy_offer_from: Option<Ipv4Addr>,
    /// DISCOVERs it had sent when that offer came (1: answered at once; 2: at the
    /// first retry).
    pub discovers_until_proxy_offer: Option<usize>,
}

/// The audit's state: frames in, servers out.
#[derive(Debug, Default)]
pub struct Audit {
    named: Option<Named>,
    seen: BTreeMap<ServerKey, Seen>,
    clients: BTreeMap<Mac, ClientSeen>,
    /// Frames looked at, and BOOTREPLYs among them that did not parse.
    pub frames: u64,
    pub malformed: u64,
}

fn message_name(m: MessageType) -> String {
    match m {
        MessageType::Discover => "DISCOVER".into(),
        MessageType::Offer => "OFFER".into(),
        MessageType::Request => "REQUEST".into(),
        MessageType::Decline => "DECLINE".into(),
        MessageType::Ack => "ACK".into(),
        MessageType::Nak => "NAK".into(),
        MessageType::Release => "RELEASE".into(),
        MessageType::Inform => "INFORM".into(),
        MessageType::Other(o) => format!("type {o}"),
    }
}

impl Audit {
    /// `named`: what the scenario names; `None` lists servers without flagging.
    pub fn new(named: Option<Named>) -> Audit {
        Audit {
            named,
            ..Audit::default()
        }
    }

    /// One Ethernet frame seen at `at` (since the start of the capture). Anything that
    /// is not an IPv4 UDP datagram from port 67 or 4011 carrying a BOOTREPLY is skipped;
    /// a reply that does not parse is counted as malformed.
    pub fn observe_frame(&mut self, at: Duration, frame: &[u8]) {
        self.frames += 1;
        let Ok(p) = SlicedPacket::from_ethernet(frame) else {
            return;
        };
        if let (Some(NetSlice::Ipv6(ip)), Some(TransportSlice::Udp(udp))) = (&p.net, &p.transport) {
            let src_port = udp.source_port();
            if src_port == dhcp6::SERVER_PORT || src_port == dhcp6::PXE_PORT {
                let src = IpAddr::V6(ip.header().source_addr());
                let mac = source_mac(&p);
                self.observe_dhcp6(at, src, src_port, mac, udp.payload());
            }
            return;
        }
        let Some(NetSlice::Ipv4(ip)) = &p.net else {
            return;
        };
        let Some(TransportSlice::Udp(udp)) = &p.transport else {
            return;
        };
        let src_port = udp.source_port();
        if src_port == 68 {
            self.observe_request(at, udp.payload());
            return;
        }
        if src_port != 67 && src_port != 4011 {
            return;
        }
        let src_ip = ip.header().source_addr();
        let src_mac = source_mac(&p);
        self.observe_dhcp4(at, src_ip, src_port, src_mac, udp.payload());
    }

    /// The server `key`'s record, made at its first answer, counting this one.
    fn entry(
        &mut self,
        key: ServerKey,
        server: IpAddr,
        duid: Option<String>,
        named: Option<Option<String>>,
        at: Duration,
    ) -> &mut Seen {
        let s = self.seen.entry(key).or_insert_with(|| Seen {
            server,
            duid,
            named: named.clone().flatten(),
            flagged: matches!(named, Some(None)),
            kinds: BTreeSet::new(),
            netboot: BTreeSet::new(),
            ports: BTreeSet::new(),
            macs: BTreeSet::new(),
            via: BTreeSet::new(),
            messages: BTreeSet::new(),
            boot_files: BTreeSet::new(),
            answers: 0,
            first_s: at.as_secs_f64(),
            last_s: at.as_secs_f64(),
        });
        s.answers += 1;
        s.last_s = at.as_secs_f64();
        s
    }

    /// Every client seen sending a DISCOVER, by MAC.
    pub fn clients(&self) -> Vec<ClientSeen> {
        self.clients.values().cloned().collect()
    }

    /// Every server seen, by address.
    pub fn servers(&self) -> Vec<Seen> {
        self.seen.values().cloned().collect()
    }

    /// Servers flagged (answering, not named).
    pub fn flagged(&self) -> usize {
        self.seen.values().filter(|s| s.flagged).count()
    }

    /// Named servers that were not seen answering (only meaningful when clients did
    /// boot, or with `--probe`): an address whose server, of that family, was not seen.
    pub fn silent(&self) -> Vec<(IpAddr, String, &'static str)> {
        let Some(n) = &self.named else {
            return Vec::new();
        };
        let answered = |a: &IpAddr, name: &str| {
            self.seen.iter().any(|(k, s)| match (k, a) {
                (ServerKey::V4(k), IpAddr::V4(a)) => k == a,
                (ServerKey::V6(_), IpAddr::V6(_)) => {
                    s.server == *a || s.via.contains(a) || s.named.as_deref() == Some(name)
                }
                _ => false,
            })
        };
        n.servers
            .iter()
            .filter(|(a, (name, _))| !answered(a, name))
            .map(|(a, (name, what))| (*a, name.clone(), *what))
            .collect()
    }
}

fn source_mac(p: &SlicedPacket) -> Option<String> {
    p.link
        .as_ref()
        .and_then(|l| match l {
            etherparse::LinkSlice::Ethernet2(e) => Some(Mac(e.source())),
            _ => None,
        })
        .map(|m| m.to_string())
}

mod capture;
mod dhcpv4;
mod dhcpv6;

pub use capture::{capture_live, read_pcap};

#[cfg(test)]
mod tests;
