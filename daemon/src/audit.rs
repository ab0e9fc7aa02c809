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
//! [`Audit::observe_frame`] is the whole analysis, sans IO; [`capture_live`] and
//! [`read_pcap`] only feed it frames.

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
        // A fragmented reply: only its first fragment has the UDP header; DHCP replies
        // are small, so this does not happen with real servers.
        let payload = udp.payload();
        if payload.first() != Some(&2) {
            return; // a BOOTREQUEST (a relay forwarding a client's request) or junk
        }
        let Ok(d) = parse(payload) else {
            self.malformed += 1;
            return;
        };
        let server = d.server_id.unwrap_or(src_ip);
        let named = self.named.as_ref().map(|n| {
            n.servers
                .get(&IpAddr::V4(server))
                .map(|(name, _)| name.clone())
        });
        let s = self.entry(ServerKey::V4(server), server.into(), None, named, at);
        s.ports.insert(src_port);
        if let Some(m) = src_mac {
            s.macs.insert(m);
        }
        if src_ip != server {
            s.via.insert(src_ip.into());
        }
        // R-HTTP-1 / R-ANS-1: what the answer boots, by its vendor class.
        if d.is_pxe_client() {
            s.netboot.insert("pxe4".into());
        } else if d.is_http_client() {
            s.netboot.insert("http4".into());
        }
        if let Some(m) = d.message_type {
            s.messages.insert(message_name(m));
        }
        s.kinds.insert(
            if d.yiaddr.is_unspecified() {
                "proxy"
            } else {
                "dhcp"
            }
            .to_string(),
        );
        if d.yiaddr.is_unspecified() && d.message_type == Some(MessageType::Offer) {
            if let Some(c) = d.chaddr.and_then(|m| self.clients.get_mut(&m)) {
                if c.first_proxy_offer_s.is_none() {
                    c.first_proxy_offer_s = Some(at.as_secs_f64());
                    c.proxy_offer_from = Some(server);
                    c.discovers_until_proxy_offer = Some(c.discovers.len());
                }
            }
        }
        let s = self
            .seen
            .get_mut(&ServerKey::V4(server))
            .expect("inserted above");
        let file = d
            .option(67)
            .map(|f| {
                String::from_utf8_lossy(&f)
                    .trim_end_matches('\0')
                    .to_string()
            })
            .unwrap_or_else(|| d.file_lossy());
        if !file.is_empty() {
            s.boot_files.insert(file);
        }
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

    /// A DHCPv6 datagram from port 547 or 4011: a server's Advertise or Reply, or its
    /// Relay-Reply (the answer inside is the server's); anything else (a relay's
    /// Relay-Forward, a client's message) is skipped.
    fn observe_dhcp6(
        &mut self,
        at: Duration,
        src: IpAddr,
        src_port: u16,
        mac: Option<String>,
        payload: &[u8],
    ) {
        let Ok(mut m) = Message6::decode(payload) else {
            self.malformed += 1;
            return;
        };
        let mut messages = Vec::new();
        let mut depth = 0;
        while m.msg_type() == dhcp6::msg::RELAY_REPL {
            messages.push("RELAY-REPLY");
            depth += 1;
            let inner = m
                .option(dhcp6::opt::RELAY_MSG)
                .map(|d| dhcp6::wire::decode_relayed(d, 0));
            match inner {
                Some(Ok(i)) if depth <= dhcp6::wire::HOP_COUNT_LIMIT => m = i,
                _ => {
                    self.malformed += 1;
                    return;
                }
            }
        }
        match m.msg_type() {
            dhcp6::msg::ADVERTISE => messages.push("ADVERTISE"),
            dhcp6::msg::REPLY => messages.push("REPLY"),
            _ => return,
        }
        let duid = m.option(dhcp6::opt::SERVERID).map(<[u8]>::to_vec);
        let key = ServerKey::V6(duid.clone().unwrap_or_else(|| match src {
            IpAddr::V6(a) => a.octets().to_vec(),
            IpAddr::V4(a) => a.octets().to_vec(),
        }));
        let named = self.named.as_ref().map(|n| {
            duid.as_ref()
                .and_then(|d| n.duids.get(d).cloned())
                .or_else(|| n.servers.get(&src).map(|(name, _)| name.clone()))
        });
        let named_here = self
            .named
            .as_ref()
            .and_then(|n| n.servers.get(&src))
            .map(|(name, _)| name.clone());
        let hex = duid.map(|d| d.iter().map(|b| format!("{b:02x}")).collect());
        let s = self.entry(key, src, hex, named, at);
        if src != s.server {
            s.via.insert(src);
        }
        // A server first seen from an address that is not named, later from one that is.
        if s.named.is_none() && named_here.is_some() {
            s.named = named_here;
            s.flagged = false;
        }
        s.ports.insert(src_port);
        if let Some(mac) = mac {
            s.macs.insert(mac);
        }
        s.messages.extend(messages.iter().map(|m| m.to_string()));
        // An IA_NA with an address in it: an address server.
        let ia_address = m.options().iter().any(|o| {
            o.code == dhcp6::opt::IA_NA
                && o.data.len() > 12
                && has_option(&o.data[12..], IA_ADDRESS)
        });
        s.kinds
            .insert(if ia_address { "dhcp" } else { "proxy" }.to_string());
        let url = m
            .option(dhcp6::opt::BOOTFILE_URL)
            .map(|u| String::from_utf8_lossy(u).into_owned());
        // Option 16: enterprise number (4 bytes), then length-prefixed class data.
        let class = m
            .option(dhcp6::opt::VENDOR_CLASS)
            .and_then(|v| v.get(6..))
            .unwrap_or_default();
        let lower = url.as_deref().unwrap_or_default().to_ascii_lowercase();
        if class.starts_with(b"PXEClient") || lower.starts_with("tftp://") {
            s.netboot.insert("pxe6".into());
        }
        if class.starts_with(b"HTTPClient") || lower.starts_with("http") {
            s.netboot.insert("http6".into());
        }
        if let Some(u) = url {
            s.boot_files.insert(u);
        }
    }

    /// A client's DISCOVER (from port 68).
    fn observe_request(&mut self, at: Duration, payload: &[u8]) {
        let Ok(d) = parse(payload) else { return };
        if d.op != 1 || d.message_type != Some(MessageType::Discover) {
            return;
        }
        let Some(mac) = d.chaddr else { return };
        self.clients
            .entry(mac)
            .or_insert_with(|| ClientSeen {
                mac: mac.to_string(),
                discovers: Vec::new(),
                first_proxy_offer_s: None,
                proxy_offer_from: None,
                discovers_until_proxy_offer: None,
            })
            .discovers
            .push(at.as_secs_f64());
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

/// DHCPv6 option 5, IA Address (inside an IA_NA).
const IA_ADDRESS: u16 = 5;

/// Whether the DHCPv6 options in `b` (code, length, data...) hold one of `code`.
fn has_option(mut b: &[u8], code: u16) -> bool {
    while b.len() >= 4 {
        let c = u16::from_be_bytes([b[0], b[1]]);
        let len = usize::from(u16::from_be_bytes([b[2], b[3]]));
        if c == code {
            return true;
        }
        b = b.get(4 + len..).unwrap_or_default();
    }
    false
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

/// Feed every frame of a pcap file (Ethernet link type) to the audit; times are since
/// the file's first packet.
pub fn read_pcap(path: &Path, audit: &mut Audit) -> Result<u64, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut r = pcap_file::pcap::PcapReader::new(file)
        .map_err(|e| format!("{}: not a pcap file: {e}", path.display()))?;
    if r.header().datalink != pcap_file::DataLink::ETHERNET {
        return Err(format!(
            "{}: link type {:?}; the audit reads Ethernet captures",
            path.display(),
            r.header().datalink
        ));
    }
    let nanos = r.header().ts_resolution == pcap_file::TsResolution::NanoSecond;
    let mut first = None;
    let mut n = 0;
    // Raw records: pcap-file's checked ones refuse a record longer on the wire than the
    // snap length, which is every truncated record of a capture with a snap length
    // (tcpdump's, or `pxelab run --pcap`'s default).
    while let Some(p) = r.next_raw_packet() {
        let p = p.map_err(|e| format!("{}: packet {}: {e}", path.display(), n + 1))?;
        let frac = if nanos {
            p.ts_frac
        } else {
            p.ts_frac.saturating_mul(1000)
        };
        let ts = Duration::new(u64::from(p.ts_sec), frac.min(999_999_999));
        let t0 = *first.get_or_insert(ts);
        audit.observe_frame(ts.saturating_sub(t0), &p.data);
        n += 1;
    }
    Ok(n)
}

/// Watch `interface` for `duration` (AF_PACKET, every frame the interface sees), feeding
/// the audit. With `probe`, send a PXE DHCPDISCOVER (UEFI x64) from port 68 every 2 s
/// so that every server on the segment has something to answer, as the MAC given there
/// (a machine a responder knows), or a random locally administered one. Needs root
/// (CAP_NET_RAW).
pub fn capture_live(
    interface: &str,
    duration: Duration,
    probe: Option<Option<Mac>>,
    audit: &mut Audit,
) -> Result<u64, String> {
    use pxelab_system::packet::{self, Framing, PacketSocket};
    let ifindex = pxelab_system::iface::index(interface)
        .ok_or_else(|| format!("no interface `{interface}`"))?;
    let sock = PacketSocket::open(Framing::Link, packet::ALL, ifindex, &[]).map_err(|e| {
        format!(
            "cannot open a packet socket on {interface}: {e} (the live audit needs root or CAP_NET_RAW)"
        )
    })?;
    let prober = match probe {
        Some(mac) => Some(Prober::new(interface, mac)?),
        None => None,
    };
    let start = std::time::Instant::now();
    let mut next_probe = start;
    let mut buf = vec![0u8; 65536];
    let mut n = 0;
    loop {
        let now = std::time::Instant::now();
        let elapsed = now - start;
        if elapsed >= duration {
            break;
        }
        if let Some(p) = &prober {
            if now >= next_probe {
                p.send()?;
                next_probe = now + Duration::from_secs(2);
            }
        }
        let mut wait = duration - elapsed;
        if prober.is_some() {
            wait = wait.min(next_probe.saturating_duration_since(now));
        }
        if !sock.wait_readable(wait).map_err(|e| format!("poll: {e}"))? {
            continue;
        }
        let Ok(len) = sock.recv(&mut buf) else {
            continue;
        };
        n += 1;
        audit.observe_frame(start.elapsed(), &buf[..len]);
    }
    Ok(n)
}

/// Sends PXE DISCOVERs as a UEFI x64 client would, from 0.0.0.0:68 on the interface.
struct Prober {
    sock: std::net::UdpSocket,
    mac: Mac,
}

impl Prober {
    fn new(interface: &str, mac: Option<Mac>) -> Result<Prober, String> {
        use socket2::{Domain, Protocol, Socket, Type};
        let s = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))
            .map_err(|e| format!("probe socket: {e}"))?;
        s.set_reuse_address(true).ok();
        s.set_broadcast(true)
            .map_err(|e| format!("probe socket: {e}"))?;
        s.bind_device(Some(interface.as_bytes()))
            .map_err(|e| format!("probe socket on {interface}: {e}"))?;
        let addr = std::net::SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 68);
        s.bind(&addr.into()).map_err(|e| {
            format!("cannot bind UDP port 68 on {interface} to probe: {e} (is a DHCP client running there?)")
        })?;
        let mut seed = [0u8; 4];
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .subsec_nanos()
            ^ std::process::id();
        seed.copy_from_slice(&t.to_be_bytes());
        // Locally administered, unicast.
        let mac = mac.unwrap_or(Mac([0x02, 0x50, seed[0], seed[1], seed[2], seed[3]]));
        Ok(Prober {
            sock: s.into(),
            mac,
        })
    }

    fn send(&self) -> Result<(), String> {
        use pxelab_engine::dhcp::firmware::{build_discover, model, FirmwareKind};
        let xid = u32::from_be_bytes([self.mac.0[2], self.mac.0[3], self.mac.0[4], self.mac.0[5]]);
        let d = build_discover(model(FirmwareKind::UefiX64), self.mac, None, xid, 0);
        self.sock
            .send_to(&d, (Ipv4Addr::BROADCAST, 67))
            .map_err(|e| format!("probe: {e}"))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::PacketBuilder;
    use pxelab_engine::dhcp::firmware::{build_discover, model, FirmwareKind};
    use pxelab_engine::dhcp::packet::parse;
    use pxelab_engine::dhcp::proxy::{build_proxy_ack, build_proxy_offer, ProxyParams};
    use pxelab_engine::dhcp::server::{DhcpServer, Pool};

    fn frame(
        src_mac: [u8; 6],
        src: Ipv4Addr,
        sport: u16,
        dst: Ipv4Addr,
        dport: u16,
        p: &[u8],
    ) -> Vec<u8> {
        let b = PacketBuilder::ethernet2(src_mac, [0xff; 6])
            .ipv4(src.octets(), dst.octets(), 64)
            .udp(sport, dport);
        let mut v = Vec::with_capacity(b.size(p.len()));
        b.write(&mut v, p).unwrap();
        v
    }

    fn ip(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    #[test]
    fn classifies_dhcp_and_proxy_answers_and_flags_unnamed_servers() {
        let client = Mac([0x52, 0x54, 0, 0, 0, 1]);
        let discover = build_discover(model(FirmwareKind::UefiX64), client, None, 7, 0);
        let req = parse(&discover).unwrap();
        // A named DHCP server's offer.
        let mut dhcp = DhcpServer::new(
            ip("10.0.0.2"),
            vec![Pool {
                subnet: (ip("10.0.0.0"), 24),
                router: None,
                start: ip("10.0.0.100"),
                end: ip("10.0.0.199"),
            }],
            false,
        );
        let replies = dhcp.handle(
            pxelab_engine::Instant::ZERO,
            std::net::SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 68),
            &discover,
            (ip("10.0.0.0"), 24),
        );
        assert_eq!(replies.len(), 1, "the DHCP server offers an address");
        let offer = &replies[0].payload;
        // A proxy offer from a named responder and one from an unnamed host.
        let proxy = build_proxy_ack(
            &req,
            &ProxyParams::new(ip("10.0.0.5"), Some("smsboot/x64/wdsmgfw.efi".into())),
        );
        let rogue = build_proxy_offer(
            &req,
            &ProxyParams::new(ip("10.0.0.66"), Some("evil.efi".into())),
        );
        let mut named = Named::default();
        named.add(ip("10.0.0.2"), "dhcp", "DHCP server");
        named.add(ip("10.0.0.5"), "dp1", "responder");
        named.add(ip("10.0.0.9"), "dp2", "responder");
        let mut a = Audit::new(Some(named));
        let bcast = Ipv4Addr::BROADCAST;
        a.observe_frame(
            Duration::ZERO,
            &frame([2, 0, 0, 0, 0, 1], ip("0.0.0.0"), 68, bcast, 67, &discover),
        );
        a.observe_frame(
            Duration::from_millis(1),
            &frame([2, 0, 0, 0, 0, 2], ip("10.0.0.2"), 67, bcast, 68, offer),
        );
        a.observe_frame(
            Duration::from_millis(2),
            &frame(
                [2, 0, 0, 0, 0, 5],
                ip("10.0.0.5"),
                4011,
                ip("10.0.0.100"),
                68,
                &proxy,
            ),
        );
        a.observe_frame(
            Duration::from_millis(3),
            &frame(
                [2, 0, 0, 0, 0, 0x66],
                ip("10.0.0.66"),
                67,
                bcast,
                68,
                &rogue,
            ),
        );
        a.observe_frame(
            Duration::from_millis(4),
            &frame(
                [2, 0, 0, 0, 0, 0x66],
                ip("10.0.0.66"),
                4011,
                ip("10.0.0.100"),
                4011,
                &rogue,
            ),
        );
        // A mangled reply is counted, not fatal.
        a.observe_frame(
            Duration::from_millis(5),
            &frame(
                [2, 0, 0, 0, 0, 0x66],
                ip("10.0.0.66"),
                67,
                bcast,
                68,
                &[2, 1, 6],
            ),
        );
        let s = a.servers();
        assert_eq!(s.len(), 3, "{s:#?}");
        assert_eq!(
            (s[0].server, s[0].named.as_deref(), s[0].flagged),
            (IpAddr::V4(ip("10.0.0.2")), Some("dhcp"), false)
        );
        assert!(s[0].kinds.contains("dhcp") && s[0].messages.contains("OFFER"));
        assert_eq!((s[1].named.as_deref(), s[1].flagged), (Some("dp1"), false));
        assert_eq!(s[1].kinds.iter().collect::<Vec<_>>(), ["proxy"]);
        assert!(s[1].boot_files.contains("smsboot/x64/wdsmgfw.efi"));
        assert!(s[1].messages.contains("ACK") && s[1].ports.contains(&4011));
        assert_eq!(
            (s[2].server, s[2].named.as_deref(), s[2].flagged),
            (IpAddr::V4(ip("10.0.0.66")), None, true)
        );
        assert_eq!(s[2].answers, 2);
        assert_eq!(s[2].ports.iter().copied().collect::<Vec<_>>(), [67, 4011]);
        assert_eq!(s[2].macs.iter().collect::<Vec<_>>(), ["02:00:00:00:00:66"]);
        assert_eq!(a.flagged(), 1);
        // The client's DISCOVER, and the first proxy OFFER addressed to it (dp1 sent an
        // ACK, the rogue an OFFER).
        let c = a.clients();
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].mac, "52:54:00:00:00:01");
        assert_eq!(c[0].discovers, [0.0]);
        assert_eq!(c[0].first_proxy_offer_s, Some(0.003));
        assert_eq!(c[0].proxy_offer_from, Some(ip("10.0.0.66")));
        assert_eq!(c[0].discovers_until_proxy_offer, Some(1));
        assert_eq!(a.malformed, 1);
        assert_eq!(a.frames, 6);
        assert_eq!(
            a.silent(),
            [(IpAddr::V4(ip("10.0.0.9")), "dp2".to_string(), "responder")]
        );
    }

    #[test]
    fn a_relayed_answer_is_the_servers_and_names_the_relay() {
        let client = Mac([0x52, 0x54, 0, 0, 0, 1]);
        let discover = build_discover(model(FirmwareKind::BiosX64), client, None, 9, 0);
        let req = parse(&discover).unwrap();
        let proxy = build_proxy_offer(&req, &ProxyParams::new(ip("10.10.0.5"), None));
        let mut a = Audit::new(None);
        // The router forwards the server's answer to the client from its own address.
        a.observe_frame(
            Duration::ZERO,
            &frame(
                [2, 0, 0, 0, 0, 1],
                ip("10.20.0.1"),
                67,
                Ipv4Addr::BROADCAST,
                68,
                &proxy,
            ),
        );
        let s = a.servers();
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].server, IpAddr::V4(ip("10.10.0.5")));
        assert_eq!(
            s[0].via.iter().copied().collect::<Vec<_>>(),
            [IpAddr::V4(ip("10.20.0.1"))]
        );
        assert!(!s[0].flagged, "nothing is flagged without a scenario");
    }

    fn frame6(src_mac: [u8; 6], src: &str, sport: u16, dst: &str, dport: u16, p: &[u8]) -> Vec<u8> {
        let a = |s: &str| s.parse::<std::net::Ipv6Addr>().unwrap().octets();
        let b = PacketBuilder::ethernet2(src_mac, [0x33, 0x33, 0, 1, 0, 2])
            .ipv6(a(src), a(dst), 64)
            .udp(sport, dport);
        let mut v = Vec::with_capacity(b.size(p.len()));
        b.write(&mut v, p).unwrap();
        v
    }

    fn opt6(code: u16, data: &[u8]) -> dhcp6::Opt {
        dhcp6::Opt {
            code,
            data: data.to_vec(),
        }
    }

    fn vendor6(class: &str) -> Vec<u8> {
        let mut v = 343u32.to_be_bytes().to_vec();
        v.extend((class.len() as u16).to_be_bytes());
        v.extend(class.as_bytes());
        v
    }

    fn advertise(duid: &[u8], class: &str, url: &str, ia_address: bool) -> Message6 {
        use dhcp6::opt;
        let mut options = vec![
            opt6(opt::CLIENTID, &[0, 4, 1, 2]),
            opt6(opt::SERVERID, duid),
        ];
        if ia_address {
            // IAID, T1, T2, then an IA Address option (5): address, lifetimes.
            let mut ia = vec![0u8; 12];
            ia.extend([0, 5, 0, 24]);
            ia.extend([0xfd, 0x77].iter().chain(&[0u8; 13]).chain(&[0x64]));
            ia.extend([0u8; 8]);
            options.push(opt6(opt::IA_NA, &ia));
        }
        if !class.is_empty() {
            options.push(opt6(opt::VENDOR_CLASS, &vendor6(class)));
        }
        if !url.is_empty() {
            options.push(opt6(opt::BOOTFILE_URL, url.as_bytes()));
        }
        Message6::Client {
            msg_type: dhcp6::msg::ADVERTISE,
            xid: [1, 2, 3],
            options,
        }
    }

    #[test]
    fn dhcp6_pxe_and_http_boot_servers_are_listed_named_by_duid_or_address_and_flagged() {
        let mut named = Named::default();
        named.add(ip("10.0.0.5"), "dp1", "responder");
        named.add(
            "fd77::5".parse::<std::net::Ipv6Addr>().unwrap(),
            "dp1",
            "responder",
        );
        named.add_responder_duid("dp1");
        named.add(
            "fd77::2".parse::<std::net::Ipv6Addr>().unwrap(),
            "dhcp",
            "DHCP server",
        );
        named.add(
            "fd77::9".parse::<std::net::Ipv6Addr>().unwrap(),
            "dp2",
            "responder",
        );
        let mut a = Audit::new(Some(named));
        let dp1 = dhcp6::server_duid("dp1");
        let mcast = "fe80::5054:ff:fe12:3456";
        // dp1's proxy Advertise, from a link-local address: named by its DUID.
        let adv = advertise(
            &dp1,
            "PXEClient",
            "tftp://[fd77::5]/smsboot/x64/b.efi",
            false,
        );
        a.observe_frame(
            Duration::ZERO,
            &frame6(
                [2, 0, 0, 0, 0, 5],
                "fe80::5",
                547,
                mcast,
                546,
                &adv.encode(),
            ),
        );
        // The DHCP server's address Advertise (no boot file), named by its address.
        let dhcp = advertise(&[0, 3, 0, 1, 2, 0, 0, 0, 0, 2], "", "", true);
        a.observe_frame(
            Duration::from_millis(1),
            &frame6(
                [2, 0, 0, 0, 0, 2],
                "fd77::2",
                547,
                mcast,
                546,
                &dhcp.encode(),
            ),
        );
        // A rogue HTTP boot server, through a relay: its Relay-Reply to the relay.
        let rogue = advertise(
            &[0, 3, 0, 1, 2, 0, 0, 0, 0, 0x66],
            "HTTPClient",
            "http://[fd66::1]/x.efi",
            false,
        );
        let rr = Message6::Relay {
            msg_type: dhcp6::msg::RELAY_REPL,
            hop_count: 0,
            link_addr: "2001:db8:30::1".parse().unwrap(),
            peer_addr: mcast.parse().unwrap(),
            options: vec![
                opt6(dhcp6::opt::INTERFACE_ID, b"vlan30"),
                opt6(dhcp6::opt::RELAY_MSG, &rogue.encode()),
            ],
        };
        a.observe_frame(
            Duration::from_millis(2),
            &frame6(
                [2, 0, 0, 0, 0, 0x66],
                "fd66::1",
                547,
                "2001:db8:30::1",
                547,
                &rr.encode(),
            ),
        );
        // A relay's Relay-Forward and a client's Solicit are nobody's answer.
        let fwd = Message6::Relay {
            msg_type: dhcp6::msg::RELAY_FORW,
            hop_count: 0,
            link_addr: "2001:db8:30::1".parse().unwrap(),
            peer_addr: mcast.parse().unwrap(),
            options: vec![opt6(dhcp6::opt::RELAY_MSG, &adv.encode())],
        };
        a.observe_frame(
            Duration::from_millis(3),
            &frame6(
                [2, 0, 0, 0, 0, 1],
                "2001:db8:30::1",
                547,
                "fd77::5",
                547,
                &fwd.encode(),
            ),
        );
        // An HTTP boot offer over IPv4 from the named dp1.
        let client = Mac([0x52, 0x54, 0, 0, 0, 1]);
        let d = build_discover(model(FirmwareKind::UefiX64), client, None, 7, 0);
        let http4 = pxelab_engine::dhcp::proxy::build_http_offer(
            &parse(&d).unwrap(),
            ip("10.0.0.5"),
            "http://10.0.0.5/smsboot/x64/b.efi",
        );
        a.observe_frame(
            Duration::from_millis(4),
            &frame(
                [2, 0, 0, 0, 0, 5],
                ip("10.0.0.5"),
                67,
                Ipv4Addr::BROADCAST,
                68,
                &http4,
            ),
        );
        // A DHCPv6 datagram that does not parse is counted.
        a.observe_frame(
            Duration::from_millis(5),
            &frame6([2, 0, 0, 0, 0, 0x66], "fd66::1", 547, mcast, 546, &[2, 0]),
        );
        let s = a.servers();
        assert_eq!(s.len(), 4, "{s:#?}");
        // IPv4 first.
        assert_eq!(s[0].server, IpAddr::V4(ip("10.0.0.5")));
        assert_eq!(s[0].netboot.iter().collect::<Vec<_>>(), ["http4"]);
        assert!(s[0]
            .boot_files
            .contains("http://10.0.0.5/smsboot/x64/b.efi"));
        let by_name = |n: &str| s.iter().find(|x| x.named.as_deref() == Some(n)).unwrap();
        let dp1v6 = s
            .iter()
            .find(|x| x.server.is_ipv6() && x.named.as_deref() == Some("dp1"))
            .unwrap();
        assert_eq!(dp1v6.server.to_string(), "fe80::5");
        assert_eq!(dp1v6.kinds.iter().collect::<Vec<_>>(), ["proxy"]);
        assert_eq!(dp1v6.netboot.iter().collect::<Vec<_>>(), ["pxe6"]);
        assert_eq!(dp1v6.answers, 1, "the Relay-Forward is not counted");
        assert!(!dp1v6.flagged);
        let dhcp = by_name("dhcp");
        assert_eq!(dhcp.kinds.iter().collect::<Vec<_>>(), ["dhcp"]);
        assert!(dhcp.netboot.is_empty());
        assert_eq!(dhcp.duid.as_deref(), Some("00030001020000000002"));
        let rogue = s.iter().find(|x| x.flagged).expect("the rogue is flagged");
        assert_eq!(rogue.server.to_string(), "fd66::1");
        assert_eq!(rogue.netboot.iter().collect::<Vec<_>>(), ["http6"]);
        assert_eq!(
            rogue.messages.iter().collect::<Vec<_>>(),
            ["ADVERTISE", "RELAY-REPLY"]
        );
        assert!(rogue.boot_files.contains("http://[fd66::1]/x.efi"));
        assert_eq!(a.flagged(), 1);
        assert_eq!(a.malformed, 1);
        // dp2 never answered; dp1's address6 counts as answered (by its DUID).
        assert_eq!(
            a.silent(),
            [(
                "fd77::9".parse::<IpAddr>().unwrap(),
                "dp2".to_string(),
                "responder"
            )]
        );
        let text = crate::audit_report::text(&a, true);
        assert!(
            text.contains("FLAGGED: fd66::1 answers as a proxy DHCPv6 server"),
            "{text}"
        );
    }
}
