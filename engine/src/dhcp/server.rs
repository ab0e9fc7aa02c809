//! The simulator's built-in DHCP server, a sans-IO state machine (R-ANS-2).
//!
//! It leases addresses from per-segment pools: a relayed message (giaddr set) gets an
//! address from the pool whose subnet holds giaddr, a local one from the pool of the
//! server's own segment. The address is deterministic: the client's previous address
//! when it still is free for it, else the lowest free address of the pool. It knows
//! nothing of PXE except, when configured, option 60 `PXEClient` in its OFFER and ACK,
//! which sends a PXE client to this host's port 4011 (the co-located responder of
//! R-ANS-2; see [`super::proxy`] for why both firmwares then ask there).
//!
//! Malformed or non-DHCP input gets no reply; [`DhcpServer::take_log`] says why.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

use super::packet::{parse, DhcpPacket, MessageType};
use super::wire::Writer;
use super::{opt, CLIENT_PORT, PXE_CLIENT, SERVER_PORT};
use crate::Instant;

/// How long an OFFER holds its address for the client.
pub const OFFER_HOLD: Duration = Duration::from_secs(60);
/// Default lease time (option 51).
pub const DEFAULT_LEASE_SECS: u32 = 3600;

/// An address pool for one subnet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pool {
    /// Network and prefix length, e.g. (10.20.0.0, 24).
    pub subnet: (Ipv4Addr, u8),
    /// Router (option 3) for local clients; relayed clients get giaddr.
    pub router: Option<Ipv4Addr>,
    /// First and last address to lease, inclusive.
    pub start: Ipv4Addr,
    pub end: Ipv4Addr,
}

/// A datagram to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    /// 255.255.255.255:68, the client's ciaddr:68, or giaddr:67 when relayed.
    pub dst: SocketAddrV4,
    pub payload: Vec<u8>,
}

/// Netmask of a prefix length (clamped to 32).
pub fn netmask(prefix: u8) -> Ipv4Addr {
    let p = u32::from(prefix.min(32));
    let m = if p == 0 { 0 } else { u32::MAX << (32 - p) };
    Ipv4Addr::from(m)
}

/// `addr` lies in `(net, prefix)`.
pub fn in_subnet(addr: Ipv4Addr, subnet: (Ipv4Addr, u8)) -> bool {
    let m = u32::from(netmask(subnet.1));
    u32::from(addr) & m == u32::from(subnet.0) & m
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Lease {
    ip: Ipv4Addr,
    bound: bool,
    until: Instant,
}

/// The built-in DHCP server.
#[derive(Clone, Debug)]
pub struct DhcpServer {
    addr: Ipv4Addr,
    pools: Vec<Pool>,
    option60_pxeclient: bool,
    /// Options 66/67: (TFTP server, boot file) it names itself (no proxy needed).
    boot_file: Option<(Option<Ipv4Addr>, String)>,
    lease_secs: u32,
    /// By chaddr field (16 bytes), ordered for determinism.
    leases: BTreeMap<[u8; 16], Lease>,
    log: Vec<String>,
}

impl DhcpServer {
    pub fn new(addr: Ipv4Addr, pools: Vec<Pool>, option60_pxeclient: bool) -> DhcpServer {
        DhcpServer {
            addr,
            pools,
            option60_pxeclient,
            boot_file: None,
            lease_secs: DEFAULT_LEASE_SECS,
            leases: BTreeMap::new(),
            log: Vec::new(),
        }
    }

    /// Changes the lease time (option 51), seconds.
    pub fn with_lease_secs(mut self, secs: u32) -> DhcpServer {
        self.lease_secs = secs;
        self
    }

    /// Names a boot file in its OFFER and ACK (scenario `option67`): the `file` field
    /// and option 67, and the TFTP server (`option66`) in siaddr and option 66, as ISC,
    /// dnsmasq and Kea do with `filename` / `next-server`.
    pub fn with_boot_file(mut self, tftp_server: Option<Ipv4Addr>, file: Option<String>) -> Self {
        self.boot_file = file.map(|f| (tftp_server, f));
        self
    }

    pub fn addr(&self) -> Ipv4Addr {
        self.addr
    }

    /// The address bound (ACKed, unexpired at `now`) to a chaddr, if any.
    pub fn bound_address(&self, now: Instant, chaddr: [u8; 16]) -> Option<Ipv4Addr> {
        self.leases
            .get(&chaddr)
            .filter(|l| l.bound && now < l.until)
            .map(|l| l.ip)
    }

    /// Log lines since the last call (ignored and refused messages, leases).
    pub fn take_log(&mut self) -> Vec<String> {
        std::mem::take(&mut self.log)
    }

    /// Handles one datagram received on port 67 from `src`. `local_segment` is the
    /// subnet of the segment the server sits on (used when giaddr is 0).
    pub fn handle(
        &mut self,
        now: Instant,
        src: SocketAddrV4,
        payload: &[u8],
        local_segment: (Ipv4Addr, u8),
    ) -> Vec<Reply> {
        let req = match parse(payload) {
            Ok(p) => p,
            Err(e) => {
                self.log.push(format!("ignored from {src}: {e}"));
                return Vec::new();
            }
        };
        if req.op != 1 {
            self.log
                .push(format!("ignored from {src}: not a BOOTREQUEST"));
            return Vec::new();
        }
        let Some(mt) = req.message_type else {
            self.log
                .push(format!("ignored from {src}: BOOTP (no option 53)"));
            return Vec::new();
        };
        let pool_subnet = if req.is_relayed() {
            req.giaddr
        } else {
            local_segment.0
        };
        let Some(pool) = self
            .pools
            .iter()
            .position(|p| in_subnet(pool_subnet, p.subnet))
        else {
            self.log
                .push(format!("no pool for {pool_subnet} (from {src}), no answer"));
            return Vec::new();
        };
        match mt {
            MessageType::Discover => self.discover(now, &req, pool),
            MessageType::Request => self.request(now, &req, pool),
            MessageType::Release | MessageType::Decline => {
                if req.server_id == Some(self.addr) {
                    self.leases.remove(&req.chaddr_raw);
                    self.log.push(format!("{mt:?} from {src}: lease dropped"));
                }
                Vec::new()
            }
            other => {
                self.log.push(format!("ignored {other:?} from {src}"));
                Vec::new()
            }
        }
    }

    fn held_by_other(&self, now: Instant, ip: Ipv4Addr, me: &[u8; 16]) -> bool {
        self.leases
            .iter()
            .any(|(k, l)| k != me && l.ip == ip && now < l.until)
    }

    fn usable(&self, ip: Ipv4Addr, pool: &Pool) -> bool {
        let n = u32::from(ip);
        n >= u32::from(pool.start)
            && n <= u32::from(pool.end)
            && in_subnet(ip, pool.subnet)
            && ip != self.addr
            && Some(ip) != pool.router
    }

    fn pick(&self, now: Instant, req: &DhcpPacket, pool: &Pool) -> Option<Ipv4Addr> {
        let me = &req.chaddr_raw;
        if let Some(l) = self.leases.get(me) {
            if self.usable(l.ip, pool) && !self.held_by_other(now, l.ip, me) {
                return Some(l.ip);
            }
        }
        // The addresses others hold, gathered once: asking `held_by_other` of each
        // address of the pool made a storm's DISCOVERs quadratic in the leases.
        let held: std::collections::HashSet<Ipv4Addr> = self
            .leases
            .iter()
            .filter(|(k, l)| *k != me && now < l.until)
            .map(|(_, l)| l.ip)
            .collect();
        let (a, b) = (u32::from(pool.start), u32::from(pool.end));
        (a..=b)
            .map(Ipv4Addr::from)
            .find(|&ip| self.usable(ip, pool) && !held.contains(&ip))
    }

    fn discover(&mut self, now: Instant, req: &DhcpPacket, pool: usize) -> Vec<Reply> {
        let p = self.pools[pool].clone();
        let Some(ip) = self.pick(now, req, &p) else {
            self.log.push(format!(
                "pool {}/{} exhausted, no offer for {}",
                p.subnet.0,
                p.subnet.1,
                client_name(req)
            ));
            return Vec::new();
        };
        let bound = self.bound_address(now, req.chaddr_raw) == Some(ip);
        let until = if bound {
            self.leases[&req.chaddr_raw].until
        } else {
            now + OFFER_HOLD
        };
        self.leases
            .insert(req.chaddr_raw, Lease { ip, bound, until });
        vec![self.reply(req, &p, MessageType::Offer, ip)]
    }

    fn request(&mut self, now: Instant, req: &DhcpPacket, pool: usize) -> Vec<Reply> {
        let p = self.pools[pool].clone();
        if let Some(sid) = req.server_id {
            if sid != self.addr {
                // The client took another server's offer: forget ours.
                if self.leases.get(&req.chaddr_raw).is_some_and(|l| !l.bound) {
                    self.leases.remove(&req.chaddr_raw);
                }
                return Vec::new();
            }
        }
        let wanted = req.requested_ip.unwrap_or(req.ciaddr);
        let ok = if req.server_id.is_some() {
            // SELECTING: must be what we offered (or hold) for this client.
            self.leases
                .get(&req.chaddr_raw)
                .is_some_and(|l| l.ip == wanted && now < l.until)
                && self.usable(wanted, &p)
        } else {
            // INIT-REBOOT / RENEWING: any free address of the right pool.
            self.usable(wanted, &p) && !self.held_by_other(now, wanted, &req.chaddr_raw)
        };
        if !ok {
            self.log.push(format!(
                "NAK {}: {wanted} is not available on {}/{}",
                client_name(req),
                p.subnet.0,
                p.subnet.1
            ));
            return vec![self.nak(req)];
        }
        let until = now + Duration::from_secs(u64::from(self.lease_secs));
        self.leases.insert(
            req.chaddr_raw,
            Lease {
                ip: wanted,
                bound: true,
                until,
            },
        );
        self.log
            .push(format!("ACK {wanted} to {}", client_name(req)));
        vec![self.reply(req, &p, MessageType::Ack, wanted)]
    }

    fn dst(req: &DhcpPacket, nak: bool) -> SocketAddrV4 {
        if req.is_relayed() {
            SocketAddrV4::new(req.giaddr, SERVER_PORT)
        } else if !nak && !req.ciaddr.is_unspecified() && !req.broadcast() {
            SocketAddrV4::new(req.ciaddr, CLIENT_PORT)
        } else {
            SocketAddrV4::new(Ipv4Addr::BROADCAST, CLIENT_PORT)
        }
    }

    fn reply(&self, req: &DhcpPacket, pool: &Pool, mt: MessageType, ip: Ipv4Addr) -> Reply {
        let mut h = super::proxy::reply_header(req);
        h.yiaddr = ip;
        if mt == MessageType::Ack {
            h.ciaddr = req.ciaddr;
        }
        if let Some((server, file)) = &self.boot_file {
            h.siaddr = server.unwrap_or(Ipv4Addr::UNSPECIFIED);
            h.file = file.as_bytes().to_vec();
        }
        let mut w = Writer::new(&h);
        w.option(opt::MESSAGE_TYPE, &[mt.to_u8()]);
        w.ip(opt::SERVER_ID, self.addr);
        w.u32(opt::LEASE_TIME, self.lease_secs);
        w.ip(opt::SUBNET_MASK, netmask(pool.subnet.1));
        let router = if req.is_relayed() {
            Some(req.giaddr)
        } else {
            pool.router
        };
        if let Some(r) = router {
            w.ip(opt::ROUTER, r);
        }
        if self.option60_pxeclient {
            w.option(opt::VENDOR_CLASS, PXE_CLIENT.as_bytes());
        }
        if let Some((server, file)) = &self.boot_file {
            if let Some(s) = server {
                w.option(opt::TFTP_SERVER_NAME, s.to_string().as_bytes());
            }
            w.option(opt::BOOTFILE_NAME, file.as_bytes());
        }
        if let Some(r) = &req.relay_agent_info {
            w.option(opt::RELAY_AGENT_INFO, &r.raw);
        }
        Reply {
            dst: Self::dst(req, false),
            payload: w.finish(),
        }
    }

    fn nak(&self, req: &DhcpPacket) -> Reply {
        let mut w = Writer::new(&super::proxy::reply_header(req));
        w.option(opt::MESSAGE_TYPE, &[MessageType::Nak.to_u8()]);
        w.ip(opt::SERVER_ID, self.addr);
        if let Some(r) = &req.relay_agent_info {
            w.option(opt::RELAY_AGENT_INFO, &r.raw);
        }
        Reply {
            dst: Self::dst(req, true),
            payload: w.finish(),
        }
    }
}

/// How the log names a client: its MAC, or (when the hardware address is not Ethernet's)
/// the chaddr bytes the client sent, in hex.
fn client_name(req: &DhcpPacket) -> String {
    match req.chaddr {
        Some(mac) => mac.to_string(),
        None => {
            let hex: Vec<String> = req.chaddr_raw.iter().map(|b| format!("{b:02x}")).collect();
            format!("chaddr {}", hex.concat())
        }
    }
}
