//! Modelled clients in the lab (`pxelab lab swarm --spec FILE`): the simulator's
//! firmware models (`pxelab_sim::client::Client`, built from captures of the real
//! firmware) speaking real Ethernet frames into a segment's switch, on one port of it,
//! instead of one QEMU per client. Hundreds of boots at once against real responders,
//! real DHCP servers and the switch's link model, for storms (issue 5, item 6).
//!
//! Each modelled client has its own MAC; the switch gives each MAC a link of its own
//! ([`crate::switch::PortSpec::many_hosts`]). The swarm answers ARP for its clients'
//! addresses, learns the servers' MACs from the frames they send (and asks by ARP when
//! it has not seen one), and reassembles IPv4 fragments (TFTP blocks above the MTU).
//!
//! Control on stdin, one command a line: `boot CLIENT`. Output on stdout: `ready`, then
//! one `result {json}` line per finished boot, and at exit a `stats {json}` line (peak
//! resident memory, descriptors, frames).

use etherparse::defrag::IpDefragPool;
use etherparse::{ArpHardwareId, ArpPacket, EtherType, LinkSlice, NetSlice, SlicedPacket};
use pxelab_engine::dhcp::firmware::{self, FirmwareKind};
use pxelab_engine::policy::ClientClass;
use pxelab_engine::{Guid, Instant, Mac};
use pxelab_sim::client::{Client, Send};
use pxelab_system::evloop;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, VecDeque};
use std::io::Write;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SwarmSpec {
    /// The socket the swarm binds (the switch sends here).
    pub local: PathBuf,
    /// The switch's socket for this port.
    pub remote: PathBuf,
    pub clients: Vec<SwarmClient>,
    /// Check downloads' CRCs (sizes are always checked).
    pub verify: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SwarmClient {
    pub name: String,
    pub mac: String,
    pub guid: Option<String>,
    /// Scenario firmware name (`uefi-x64`, ...).
    pub firmware: String,
    pub press_key: bool,
}

/// A finished boot, as printed on a `result` line.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct SwarmResult {
    pub client: String,
    pub outcome: String,
    pub boot_image: Option<String>,
    pub deployment: Option<String>,
    pub served_by: Option<Ipv4Addr>,
    /// From the first DISCOVER (the boot command) to the outcome.
    pub took_s: f64,
}

/// Resources at exit, as printed on the `stats` line.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct SwarmStats {
    pub clients: usize,
    pub frames_in: u64,
    pub frames_out: u64,
    pub arp_requests: u64,
    pub peak_rss_kib: u64,
    pub fds: u64,
}

fn class_of(kind: FirmwareKind) -> ClientClass {
    match kind {
        FirmwareKind::BiosX64 => ClientClass::BiosX64,
        FirmwareKind::BiosX86 => ClientClass::BiosX86,
        FirmwareKind::UefiX64 => ClientClass::UefiX64,
        FirmwareKind::UefiIa32 => ClientClass::UefiIa32,
        FirmwareKind::UefiArm64 => ClientClass::UefiArm64,
    }
}

const BROADCAST: [u8; 6] = [0xff; 6];

/// The swarm's state, without I/O: frames in, frames out.
pub struct Swarm {
    pub clients: Vec<Client>,
    by_mac: HashMap<[u8; 6], usize>,
    by_name: HashMap<String, usize>,
    /// Learned neighbours (IP → MAC).
    arp: HashMap<Ipv4Addr, [u8; 6]>,
    /// Datagrams waiting for an ARP answer: (client, datagram, ARP asked at).
    waiting: HashMap<Ipv4Addr, Vec<(usize, Send)>>,
    asked: HashMap<Ipv4Addr, Instant>,
    defrag: IpDefragPool<u64, ()>,
    /// Per client: its subnet (address, mask) and default gateway, from its DHCP
    /// server's answer (options 1 and 3): off-subnet datagrams go to the gateway's MAC.
    routes: Vec<Option<(Ipv4Addr, Ipv4Addr, Option<Ipv4Addr>)>>,
    reported: Vec<bool>,
    pub out: VecDeque<Vec<u8>>,
    pub results: Vec<SwarmResult>,
    pub stats: SwarmStats,
    ip_id: u16,
}

impl Swarm {
    pub fn new(spec: &SwarmSpec) -> Result<Swarm, String> {
        let mut clients = Vec::new();
        let mut by_mac = HashMap::new();
        let mut by_name = HashMap::new();
        for (i, c) in spec.clients.iter().enumerate() {
            let mac: Mac = c
                .mac
                .parse()
                .map_err(|e| format!("client {}: {e}", c.name))?;
            let guid: Option<Guid> = match &c.guid {
                Some(g) => Some(g.parse().map_err(|e| format!("client {}: {e}", c.name))?),
                None => None,
            };
            let kind = FirmwareKind::from_name(&c.firmware)
                .ok_or_else(|| format!("client {}: unknown firmware {}", c.name, c.firmware))?;
            let mut client = Client::new(
                &c.name,
                mac,
                guid,
                class_of(kind),
                firmware::model(kind),
                c.press_key,
            );
            client.verify = spec.verify;
            by_mac.insert(mac.0, i);
            by_name.insert(c.name.clone(), i);
            clients.push(client);
        }
        let n = clients.len();
        Ok(Swarm {
            clients,
            by_mac,
            by_name,
            arp: HashMap::new(),
            waiting: HashMap::new(),
            asked: HashMap::new(),
            defrag: IpDefragPool::new(),
            routes: vec![None; n],
            reported: vec![false; n],
            out: VecDeque::new(),
            results: Vec::new(),
            stats: SwarmStats {
                clients: n,
                ..SwarmStats::default()
            },
            ip_id: 1,
        })
    }

    /// `boot NAME`: power on and network-boot that client.
    pub fn boot(&mut self, now: Instant, name: &str) -> Result<(), String> {
        let i = *self
            .by_name
            .get(name)
            .ok_or_else(|| format!("no modelled client `{name}`"))?;
        self.reported[i] = false;
        let mut sends = Vec::new();
        self.clients[i].boot(now, &mut sends);
        self.after(now, i, sends);
        Ok(())
    }

    /// The earliest client timer.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let mut t = self.clients.iter().filter_map(|c| c.poll_timeout()).min();
        // Unanswered ARP requests are asked again after a second.
        for at in self.asked.values() {
            let again = *at + Duration::from_secs(1);
            t = Some(t.map_or(again, |x: Instant| x.min(again)));
        }
        t
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        for i in 0..self.clients.len() {
            if self.clients[i].poll_timeout().is_some_and(|t| t <= now) {
                let mut sends = Vec::new();
                self.clients[i].handle_timeout(now, &mut sends);
                self.after(now, i, sends);
            }
        }
        let again: Vec<Ipv4Addr> = self
            .asked
            .iter()
            .filter(|(_, at)| **at + Duration::from_secs(1) <= now)
            .map(|(ip, _)| *ip)
            .collect();
        for ip in again {
            match self.waiting.get(&ip).and_then(|w| w.first()).map(|x| x.0) {
                Some(c) => self.ask(now, c, ip),
                None => {
                    self.asked.remove(&ip);
                }
            }
        }
        let ms = now.as_nanos() / 1_000_000;
        self.defrag.retain(|t| *t + 5_000 > ms);
    }

    /// Sends of client `i` become frames; a finished boot becomes a result.
    fn after(&mut self, now: Instant, i: usize, sends: Vec<Send>) {
        for s in sends {
            self.transmit(now, i, s);
        }
        if !self.reported[i] {
            if let Some(r) = &self.clients[i].result {
                self.reported[i] = true;
                let start = r.at.as_nanos();
                let took = r.finished.as_nanos().saturating_sub(start) as f64 / 1e9;
                self.results.push(SwarmResult {
                    client: self.clients[i].name.clone(),
                    outcome: r.outcome.as_str().to_string(),
                    boot_image: r.boot_image.clone(),
                    deployment: r.deployment.clone(),
                    // The modelled clients boot over IPv4.
                    served_by: match r.served_by {
                        Some(std::net::IpAddr::V4(a)) => Some(a),
                        _ => None,
                    },
                    took_s: took,
                });
            }
        }
    }

    fn transmit(&mut self, now: Instant, i: usize, s: Send) {
        // The next hop: the destination on the client's subnet, else its gateway.
        let dst_ip = match self.routes[i] {
            Some((net, mask, Some(gw)))
                if !s.dst.ip().is_broadcast()
                    && u32::from(*s.dst.ip()) & u32::from(mask)
                        != u32::from(net) & u32::from(mask) =>
            {
                gw
            }
            _ => *s.dst.ip(),
        };
        let dst_mac = if dst_ip.is_broadcast() {
            BROADCAST
        } else if let Some(m) = self.arp.get(&dst_ip) {
            *m
        } else {
            self.waiting.entry(dst_ip).or_default().push((i, s));
            if !self.asked.contains_key(&dst_ip) {
                self.ask(now, i, dst_ip);
            }
            return;
        };
        self.frame_out(i, dst_mac, s);
    }

    fn frame_out(&mut self, i: usize, dst_mac: [u8; 6], s: Send) {
        let src_mac = self.clients[i].mac.0;
        let b = etherparse::PacketBuilder::ethernet2(src_mac, dst_mac)
            .ipv4(s.src.ip().octets(), s.dst.ip().octets(), 64)
            .udp(s.src.port(), s.dst.port());
        let mut v = Vec::with_capacity(b.size(s.payload.len()));
        if b.write(&mut v, &s.payload).is_ok() {
            // A fresh IP identification per datagram, as a real stack sets it.
            if v.len() >= 20 {
                let id = self.ip_id.to_be_bytes();
                self.ip_id = self.ip_id.wrapping_add(1);
                v[18] = id[0];
                v[19] = id[1];
                // Header checksum again over the changed identification.
                v[24] = 0;
                v[25] = 0;
                let mut sum = 0u32;
                for w in v[14..34].chunks(2) {
                    sum += u32::from(u16::from_be_bytes([w[0], w[1]]));
                }
                while sum > 0xffff {
                    sum = (sum & 0xffff) + (sum >> 16);
                }
                let c = (!(sum as u16)).to_be_bytes();
                v[24] = c[0];
                v[25] = c[1];
            }
            self.stats.frames_out += 1;
            self.out.push_back(v);
        }
    }

    /// ARP request for `ip` from client `i` (which has an address by then: unicast is
    /// only sent after DHCP).
    fn ask(&mut self, now: Instant, i: usize, ip: Ipv4Addr) {
        self.asked.insert(ip, now);
        let c = &self.clients[i];
        let Some(sender_ip) = c.ip else { return };
        let Some(v) = arp_frame(
            etherparse::ArpOperation::REQUEST,
            c.mac.0,
            sender_ip.octets(),
            BROADCAST,
            ip.octets(),
        ) else {
            return;
        };
        self.stats.arp_requests += 1;
        self.stats.frames_out += 1;
        self.out.push_back(v);
    }

    fn learned(&mut self, ip: Ipv4Addr, mac: [u8; 6]) {
        if ip.is_unspecified() || mac[0] & 1 == 1 {
            return;
        }
        self.arp.insert(ip, mac);
        self.asked.remove(&ip);
        if let Some(w) = self.waiting.remove(&ip) {
            for (i, s) in w {
                self.frame_out(i, mac, s);
            }
        }
    }

    /// One frame from the switch.
    pub fn frame_in(&mut self, now: Instant, frame: &[u8]) {
        self.stats.frames_in += 1;
        let Ok(p) = SlicedPacket::from_ethernet(frame) else {
            return;
        };
        let Some(LinkSlice::Ethernet2(eth)) = &p.link else {
            return;
        };
        let (src_mac, dst_mac) = (eth.source(), eth.destination());
        match &p.net {
            Some(NetSlice::Arp(arp)) => {
                let (Ok(sip), Ok(tip)) = (
                    <[u8; 4]>::try_from(arp.sender_protocol_addr()),
                    <[u8; 4]>::try_from(arp.target_protocol_addr()),
                ) else {
                    return;
                };
                let Ok(smac) = <[u8; 6]>::try_from(arp.sender_hw_addr()) else {
                    return;
                };
                self.learned(Ipv4Addr::from(sip), smac);
                if arp.operation() == etherparse::ArpOperation::REQUEST {
                    let tip = Ipv4Addr::from(tip);
                    if let Some(c) = self.clients.iter().find(|c| c.ip == Some(tip)) {
                        let Some(v) = arp_frame(
                            etherparse::ArpOperation::REPLY,
                            c.mac.0,
                            tip.octets(),
                            smac,
                            sip,
                        ) else {
                            return;
                        };
                        self.stats.frames_out += 1;
                        self.out.push_back(v);
                    }
                }
            }
            Some(NetSlice::Ipv4(ip)) => {
                let h = ip.header();
                let (src_ip, dst_ip) = (h.source_addr(), h.destination_addr());
                self.learned(src_ip, src_mac);
                // The whole UDP datagram: as it came, or reassembled from fragments.
                let whole: Vec<u8>;
                let udp_bytes: &[u8] = if h.is_fragmenting_payload() {
                    let ms = now.as_nanos() / 1_000_000;
                    match self.defrag.process_sliced_packet(&p, ms, ()) {
                        Ok(Some(done)) => {
                            whole = done.payload;
                            &whole
                        }
                        _ => return,
                    }
                } else {
                    ip.payload().payload
                };
                if h.protocol() != etherparse::IpNumber::UDP {
                    return;
                }
                let Ok(udp) = etherparse::UdpSlice::from_slice(udp_bytes) else {
                    return;
                };
                let payload = udp.payload();
                let src = SocketAddrV4::new(src_ip, udp.source_port());
                let dst = SocketAddrV4::new(dst_ip, udp.destination_port());
                let target = if dst_mac[0] & 1 == 1 {
                    // Broadcast: a DHCP reply goes to the client its chaddr names.
                    if udp.destination_port() != 68 || payload.len() < 34 {
                        return;
                    }
                    let mut ch = [0u8; 6];
                    ch.copy_from_slice(&payload[28..34]);
                    self.by_mac.get(&ch).copied()
                } else {
                    self.by_mac.get(&dst_mac).copied()
                };
                let Some(i) = target else { return };
                if udp.destination_port() == 68 {
                    self.learn_route(i, payload);
                }
                let mut sends = Vec::new();
                self.clients[i].handle_datagram(now, src, dst, payload, &mut sends);
                self.after(now, i, sends);
            }
            _ => {}
        }
    }
}

impl Swarm {
    /// A DHCP answer that gives the client an address: remember its subnet and gateway.
    fn learn_route(&mut self, i: usize, payload: &[u8]) {
        let Ok(d) = pxelab_engine::dhcp::packet::parse(payload) else {
            return;
        };
        if d.yiaddr.is_unspecified() {
            return;
        }
        let v4 = |o: Option<Vec<u8>>| {
            o.and_then(|v| <[u8; 4]>::try_from(v.get(..4)?).ok())
                .map(Ipv4Addr::from)
        };
        let mask = v4(d.option(1)).unwrap_or(Ipv4Addr::new(255, 255, 255, 0));
        self.routes[i] = Some((d.yiaddr, mask, v4(d.option(3))));
    }
}

/// An Ethernet II frame carrying an ARP `op` from (`smac`, `sip`) to `dmac` about
/// `tip`: a request goes to the broadcast address with an empty target MAC, a reply to
/// the asker with its MAC as the target.
fn arp_frame(
    op: etherparse::ArpOperation,
    smac: [u8; 6],
    sip: [u8; 4],
    dmac: [u8; 6],
    tip: [u8; 4],
) -> Option<Vec<u8>> {
    let target_mac = if dmac == BROADCAST { [0; 6] } else { dmac };
    let arp = ArpPacket::new(
        ArpHardwareId::ETHERNET,
        EtherType::IPV4,
        op,
        &smac,
        &sip,
        &target_mac,
        &tip,
    )
    .ok()?;
    let mut v = Vec::with_capacity(42);
    v.extend_from_slice(&dmac);
    v.extend_from_slice(&smac);
    v.extend_from_slice(&EtherType::ARP.0.to_be_bytes());
    v.extend_from_slice(&arp.to_bytes());
    Some(v)
}

fn proc_status(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn open_fds() -> u64 {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count() as u64)
}

/// The swarm process: binds `spec.local`, prints `ready`, then runs until stdin closes
/// or SIGTERM/SIGINT.
pub fn run(spec: SwarmSpec) -> Result<(), String> {
    let mut swarm = Swarm::new(&spec)?;
    let _ = std::fs::remove_file(&spec.local);
    let sock =
        UnixDatagram::bind(&spec.local).map_err(|e| format!("{}: {e}", spec.local.display()))?;
    sock.set_nonblocking(true).map_err(|e| e.to_string())?;
    // A storm's answers come in bursts: a deep receive queue.
    let _ = socket2::SockRef::from(&sock).set_recv_buffer_size(8 << 20);
    let signals = evloop::Signals::catch(&[libc::SIGTERM, libc::SIGINT]);
    let _ = evloop::stdin_nonblocking();
    let mut stdout = std::io::stdout();
    let _ = writeln!(stdout, "ready");
    let _ = stdout.flush();
    let t0 = std::time::Instant::now();
    let now = || Instant::ZERO + t0.elapsed();
    let mut buf = vec![0u8; 65536];
    let mut line = Vec::new();
    let mut stdin_open = true;
    let mut peak_rss = 0;
    let mut last_sample = t0;
    while stdin_open && !signals.caught(libc::SIGTERM) && !signals.caught(libc::SIGINT) {
        let mut fds = [evloop::readable(sock.as_raw_fd()), evloop::readable(0)];
        if !swarm.out.is_empty() {
            fds[0].events |= libc::POLLOUT;
        }
        let timeout = swarm
            .poll_timeout()
            .map(|t| Duration::from_nanos(t.as_nanos().saturating_sub(now().as_nanos())));
        evloop::poll(&mut fds, timeout, &signals).map_err(|e| format!("poll: {e}"))?;
        // Frames from the switch.
        for _ in 0..256 {
            match sock.recv(&mut buf) {
                Ok(n) => swarm.frame_in(now(), &buf[..n]),
                Err(_) => break,
            }
        }
        // Commands.
        if fds[1].revents != 0 {
            let mut tmp = [0u8; 4096];
            let n = evloop::read_stdin(&mut tmp);
            if matches!(n, Ok(0)) {
                stdin_open = false;
            } else if let Ok(n) = n {
                line.extend_from_slice(&tmp[..n]);
                while let Some(p) = line.iter().position(|b| *b == b'\n') {
                    let l: Vec<u8> = line.drain(..=p).collect();
                    let l = String::from_utf8_lossy(&l).trim().to_string();
                    if let Some(name) = l.strip_prefix("boot ") {
                        if let Err(e) = swarm.boot(now(), name.trim()) {
                            eprintln!("swarm: {e}");
                        }
                    } else if !l.is_empty() {
                        eprintln!("swarm: unknown command `{l}`");
                    }
                }
            }
        }
        let t = now();
        if swarm.poll_timeout().is_some_and(|d| d <= t) {
            swarm.handle_timeout(t);
        }
        // Frames to the switch; a full switch socket keeps them for POLLOUT.
        while let Some(f) = swarm.out.front() {
            match sock.send_to(f, &spec.remote) {
                Ok(_) => {
                    swarm.out.pop_front();
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(_) => {
                    // The switch is not there (yet or any more): the frame is lost, as
                    // on a wire with nothing at the other end.
                    swarm.out.pop_front();
                }
            }
        }
        for r in swarm.results.drain(..) {
            let _ = writeln!(
                stdout,
                "result {}",
                serde_json::to_string(&r).unwrap_or_default()
            );
            let _ = stdout.flush();
        }
        if last_sample.elapsed() > Duration::from_millis(200) {
            last_sample = std::time::Instant::now();
            peak_rss = peak_rss.max(proc_status("VmRSS:"));
        }
    }
    swarm.stats.peak_rss_kib = proc_status("VmHWM:").max(peak_rss);
    swarm.stats.fds = open_fds();
    let _ = writeln!(
        stdout,
        "stats {}",
        serde_json::to_string(&swarm.stats).unwrap_or_default()
    );
    let _ = stdout.flush();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn swarm() -> Swarm {
        Swarm::new(&SwarmSpec {
            local: PathBuf::from("/nonexistent/l"),
            remote: PathBuf::from("/nonexistent/r"),
            clients: vec![SwarmClient {
                name: "c1".into(),
                mac: "52:54:00:00:00:01".into(),
                guid: None,
                firmware: "uefi-x64".into(),
                press_key: false,
            }],
            verify: true,
        })
        .unwrap()
    }

    const MAC: [u8; 6] = [0x52, 0x54, 0, 0, 0, 1];
    const GW_MAC: [u8; 6] = [2, 0, 0, 0, 0, 0x99];

    fn arp(op: etherparse::ArpOperation, smac: [u8; 6], sip: [u8; 4], tip: [u8; 4]) -> Vec<u8> {
        arp_frame(op, smac, sip, BROADCAST, tip).unwrap()
    }

    #[test]
    fn a_boot_broadcasts_the_models_discover_from_the_clients_mac() {
        let mut s = swarm();
        s.boot(Instant::ZERO, "c1").unwrap();
        assert!(s.boot(Instant::ZERO, "nobody").is_err());
        // The firmware starts first (`FirmwareModel::power_on_to_discover`).
        let start = s.poll_timeout().expect("the DISCOVER is due");
        s.handle_timeout(start);
        let f = s.out.pop_front().expect("a DISCOVER");
        let p = SlicedPacket::from_ethernet(&f).unwrap();
        let Some(LinkSlice::Ethernet2(e)) = &p.link else {
            panic!("not Ethernet II")
        };
        assert_eq!((e.source(), e.destination()), (MAC, BROADCAST));
        let Some(etherparse::TransportSlice::Udp(u)) = &p.transport else {
            panic!("not UDP")
        };
        assert_eq!((u.source_port(), u.destination_port()), (68, 67));
        let d = pxelab_engine::dhcp::packet::parse(u.payload()).unwrap();
        assert_eq!(d.chaddr, Some(Mac(MAC)));
        assert!(d.is_pxe_client());
    }

    #[test]
    fn arp_is_answered_for_the_clients_address_and_off_subnet_goes_to_the_gateway() {
        let mut s = swarm();
        let me = Ipv4Addr::new(10, 20, 0, 100);
        s.clients[0].ip = Some(me);
        // Someone asks for the client's address: answered with its MAC; for another
        // address: silence.
        s.frame_in(
            Instant::ZERO,
            &arp(
                etherparse::ArpOperation::REQUEST,
                GW_MAC,
                [10, 20, 0, 1],
                [10, 20, 0, 7],
            ),
        );
        assert!(s.out.is_empty());
        s.frame_in(
            Instant::ZERO,
            &arp(
                etherparse::ArpOperation::REQUEST,
                [2, 0, 0, 0, 0, 5],
                [10, 20, 0, 5],
                me.octets(),
            ),
        );
        let reply = s.out.pop_front().expect("an ARP reply");
        assert_eq!(&reply[0..6], &[2, 0, 0, 0, 0, 5]);
        assert_eq!(&reply[6..12], &MAC);
        // The DHCP server said: /24, gateway 10.20.0.1. A datagram to another subnet
        // waits for the gateway's MAC, asked for by ARP, then goes to it.
        s.routes[0] = Some((
            me,
            Ipv4Addr::new(255, 255, 255, 0),
            Some(Ipv4Addr::new(10, 20, 0, 200)),
        ));
        let send = Send {
            src: SocketAddrV4::new(me, 2070),
            dst: SocketAddrV4::new(Ipv4Addr::new(10, 10, 0, 5), 69),
            payload: b"\x00\x01f\x00octet\x00".to_vec(),
        };
        s.transmit(Instant::ZERO, 0, send);
        let ask = s.out.pop_front().expect("an ARP request");
        let p = SlicedPacket::from_ethernet(&ask).unwrap();
        let Some(NetSlice::Arp(a)) = &p.net else {
            panic!("not ARP")
        };
        assert_eq!(
            a.target_protocol_addr(),
            &[10, 20, 0, 200],
            "the gateway, not the server"
        );
        assert!(s.out.is_empty(), "the datagram waits");
        s.frame_in(
            Instant::ZERO,
            &arp(
                etherparse::ArpOperation::REPLY,
                GW_MAC,
                [10, 20, 0, 200],
                me.octets(),
            ),
        );
        let f = s.out.pop_front().expect("the datagram, now");
        assert_eq!(&f[0..6], &GW_MAC);
        let p = SlicedPacket::from_ethernet(&f).unwrap();
        let Some(NetSlice::Ipv4(ip)) = &p.net else {
            panic!("not IPv4")
        };
        assert_eq!(ip.header().destination_addr(), Ipv4Addr::new(10, 10, 0, 5));
        assert_eq!(s.stats.arp_requests, 1);
    }
}
