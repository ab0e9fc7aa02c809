//! `pxelab lab ra --spec FILE`: the lab's router advertisements (RFC 4861) on the
//! segments with `cidr6`, run in a router's namespace (or, on a segment without a
//! router, a DHCP server's). Our own rather than radvd or dnsmasq's: the format wants
//! the managed flag (M) set exactly where a DHCPv6 server's pool covers the prefix,
//! which dnsmasq sets only when it serves the addresses itself, and radvd would be one
//! more Debian package for a 60-line job. An advertisement goes out every few seconds
//! and at once after each router solicitation.

use serde::{Deserialize, Serialize};
use socket2::{Domain, Protocol, Socket, Type};
use std::mem::MaybeUninit;
use std::net::{Ipv6Addr, SocketAddrV6};
use std::time::{Duration, Instant};

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct RaSpec {
    pub interfaces: Vec<RaIface>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct RaIface {
    pub interface: String,
    pub prefix: Ipv6Addr,
    pub prefix_len: u8,
    /// M flag: addresses come from DHCPv6 (a pool covers the prefix).
    pub managed: bool,
    /// A default router (a lifetime above 0): only a real router.
    pub router: bool,
}

const ROUTER_SOLICITATION: u8 = 133;
const ROUTER_ADVERTISEMENT: u8 = 134;

/// The advertisement for one interface with MAC `mac` (the kernel fills the checksum).
pub fn advertisement(i: &RaIface, mac: [u8; 6]) -> Vec<u8> {
    let mut p = vec![ROUTER_ADVERTISEMENT, 0, 0, 0, 64];
    // M, and O with it (other configuration from DHCPv6 too).
    p.push(if i.managed { 0xc0 } else { 0 });
    let lifetime: u16 = if i.router { 1800 } else { 0 };
    p.extend(lifetime.to_be_bytes());
    p.extend([0u8; 8]); // reachable time, retransmission timer: unspecified
                        // Source link-layer address.
    p.extend([1, 1]);
    p.extend(mac);
    // Prefix information: on-link; autonomous (SLAAC) only where DHCPv6 does not
    // hand out the addresses.
    p.extend([3, 4, i.prefix_len]);
    p.push(if i.managed { 0x80 } else { 0xc0 });
    p.extend(86400u32.to_be_bytes());
    p.extend(14400u32.to_be_bytes());
    p.extend([0u8; 4]);
    p.extend(i.prefix.octets());
    p
}

fn mac_of(iface: &str) -> Result<[u8; 6], String> {
    let path = format!("/sys/class/net/{iface}/address");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
    let mut mac = [0u8; 6];
    let parts: Vec<&str> = text.trim().split(':').collect();
    if parts.len() != 6 {
        return Err(format!("{path}: not a MAC address: {}", text.trim()));
    }
    for (m, p) in mac.iter_mut().zip(parts) {
        *m = u8::from_str_radix(p, 16).map_err(|e| format!("{path}: {e}"))?;
    }
    Ok(mac)
}

fn ifindex(iface: &str) -> Result<u32, String> {
    pxelab_system::iface::index(iface).ok_or_else(|| format!("no interface {iface}"))
}

struct Sender {
    sock: Socket,
    index: u32,
    packet: Vec<u8>,
}

impl Sender {
    fn send(&self) -> Result<(), String> {
        let to = SocketAddrV6::new(Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1), 0, 0, self.index);
        self.sock
            .send_to(&self.packet, &to.into())
            .map(|_| ())
            .map_err(|e| format!("sending a router advertisement: {e}"))
    }
}

/// Runs until killed.
pub fn run(spec: RaSpec) -> Result<(), String> {
    let mut senders = Vec::new();
    for i in &spec.interfaces {
        let sock = Socket::new(Domain::IPV6, Type::RAW, Some(Protocol::ICMPV6))
            .map_err(|e| format!("raw ICMPv6 socket: {e}"))?;
        sock.bind_device(Some(i.interface.as_bytes()))
            .map_err(|e| format!("{}: {e}", i.interface))?;
        // RFC 4861: hop limit 255 on every neighbour discovery message.
        sock.set_multicast_hops_v6(255).map_err(|e| e.to_string())?;
        sock.set_unicast_hops_v6(255).map_err(|e| e.to_string())?;
        let index = ifindex(&i.interface)?;
        // Solicitations go to all-routers (a router joins it when forwarding; a DHCP
        // server's host does not).
        let _ = sock.join_multicast_v6(&Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 2), index);
        sock.set_read_timeout(Some(Duration::from_millis(200)))
            .map_err(|e| e.to_string())?;
        let packet = advertisement(i, mac_of(&i.interface)?);
        eprintln!(
            "router advertisements on {}: {}/{}{}",
            i.interface,
            i.prefix,
            i.prefix_len,
            if i.managed { ", managed" } else { "" }
        );
        senders.push(Sender {
            sock,
            index,
            packet,
        });
    }
    let every = Duration::from_secs(3);
    let mut next = Instant::now();
    let mut buf = [MaybeUninit::<u8>::uninit(); 1500];
    loop {
        if Instant::now() >= next {
            for s in &senders {
                s.send()?;
            }
            next = Instant::now() + every;
        }
        for s in &senders {
            if let Ok(n) = s.sock.recv(&mut buf) {
                // SAFETY: recv initialised the first n bytes.
                let first = unsafe { buf[0].assume_init() };
                if n >= 8 && first == ROUTER_SOLICITATION {
                    s.send()?;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iface(managed: bool, router: bool) -> RaIface {
        RaIface {
            interface: "eth0".into(),
            prefix: "2001:db8:10::".parse().unwrap(),
            prefix_len: 64,
            managed,
            router,
        }
    }

    #[test]
    fn a_managed_prefix_sets_m_and_o_and_no_autonomous_flag() {
        let p = advertisement(&iface(true, true), [2, 0, 0, 0, 1, 0]);
        assert_eq!(p[0], 134);
        assert_eq!(p[5], 0xc0);
        assert_eq!(u16::from_be_bytes([p[6], p[7]]), 1800);
        assert_eq!(&p[16..24], &[1, 1, 2, 0, 0, 0, 1, 0]);
        assert_eq!(&p[24..27], &[3, 4, 64]);
        assert_eq!(p[27], 0x80, "on-link, not autonomous");
        assert_eq!(
            &p[40..56],
            &"2001:db8:10::".parse::<Ipv6Addr>().unwrap().octets()
        );
        assert_eq!(p.len(), 56);
    }

    #[test]
    fn an_unmanaged_prefix_is_autonomous_and_a_non_router_has_lifetime_0() {
        let p = advertisement(&iface(false, false), [2, 0, 0, 0, 1, 0]);
        assert_eq!(p[5], 0);
        assert_eq!(u16::from_be_bytes([p[6], p[7]]), 0);
        assert_eq!(p[27], 0xc0);
    }
}
