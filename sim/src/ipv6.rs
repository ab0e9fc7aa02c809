//! IPv6 on the simulator's segments (docs/MODEL.md, "IPv6"): each interface has its
//! link-local address from its MAC (modified EUI-64, RFC 4291) and its global addresses
//! (`address6` of servers, `interfaces6` of routers, a client's leased one); multicast
//! to ff02::1:2 reaches every DHCPv6 listener on the segment; a unicast to an address
//! off the segment's `cidr6` goes to the segment's IPv6 router. Router advertisements
//! are not sent: no outcome or timing of the model depends on them (the firmware gets
//! its address by DHCPv6 and the router is the only way off the link), so they are
//! taken as heard. Frames are Ethernet II / IPv6 / UDP with checksums.

use crate::world::{HostId, SegId};
use pxelab_engine::Mac;
use rustc_hash::FxHashMap as HashMap;
use std::net::{Ipv6Addr, SocketAddrV6};

/// All DHCP relay agents and servers (RFC 8415).
pub const ALL_DHCP: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0x1, 0x2);

/// The link-local address of a MAC (fe80::/64, modified EUI-64).
pub fn link_local(mac: Mac) -> Ipv6Addr {
    let m = mac.0;
    Ipv6Addr::from([
        0xfe,
        0x80,
        0,
        0,
        0,
        0,
        0,
        0,
        m[0] ^ 0x02,
        m[1],
        m[2],
        0xff,
        0xfe,
        m[3],
        m[4],
        m[5],
    ])
}

/// The Ethernet address of an IPv6 multicast group (RFC 2464: 33:33 and the last 32 bits).
pub fn multicast_mac(ip: Ipv6Addr) -> Mac {
    let o = ip.octets();
    Mac([0x33, 0x33, o[12], o[13], o[14], o[15]])
}

/// `a` lies in `(net, len)`.
pub fn in_prefix(a: Ipv6Addr, p: (Ipv6Addr, u8)) -> bool {
    pxelab_engine::dhcp6::server::in_prefix(a, p)
}

/// The IPv6 side of the world: prefixes, addresses and who holds them.
#[derive(Default)]
pub struct Net6 {
    /// Per segment (by id): its `cidr6`.
    pub prefixes: Vec<Option<(Ipv6Addr, u8)>>,
    /// Per segment: the router interface that forwards off it.
    pub gateways: HashMap<SegId, (HostId, usize)>,
    /// (segment, address) -> port.
    index: HashMap<(SegId, Ipv6Addr), (HostId, usize)>,
    /// Ports that listen on ff02::1:2 (DHCPv6 servers, responders with address6,
    /// relaying router interfaces), per segment.
    pub dhcp_listeners: HashMap<SegId, Vec<(HostId, usize)>>,
    /// Each port's own global address (the source it sends from).
    pub global: HashMap<(HostId, usize), Ipv6Addr>,
}

impl Net6 {
    pub fn set_prefix(&mut self, seg: SegId, p: Option<(Ipv6Addr, u8)>) {
        if self.prefixes.len() <= seg {
            self.prefixes.resize(seg + 1, None);
        }
        self.prefixes[seg] = p;
    }

    pub fn prefix(&self, seg: SegId) -> Option<(Ipv6Addr, u8)> {
        self.prefixes.get(seg).copied().flatten()
    }

    /// A port holds `ip` on `seg`.
    pub fn add(&mut self, seg: SegId, ip: Ipv6Addr, port: (HostId, usize)) {
        self.index.insert((seg, ip), port);
        if !ip.is_unicast_link_local() {
            self.global.insert(port, ip);
        }
    }

    pub fn remove(&mut self, seg: SegId, ip: Ipv6Addr, port: (HostId, usize)) {
        if self.index.get(&(seg, ip)) == Some(&port) {
            self.index.remove(&(seg, ip));
        }
        if self.global.get(&port) == Some(&ip) {
            self.global.remove(&port);
        }
    }

    /// A second address of a port (EDK2's stack's own beside the boot's): reachable,
    /// not the port's `global` one.
    pub fn add_secondary(&mut self, seg: SegId, ip: Ipv6Addr, port: (HostId, usize)) {
        self.index.insert((seg, ip), port);
    }

    pub fn remove_secondary(&mut self, seg: SegId, ip: Ipv6Addr, port: (HostId, usize)) {
        if self.index.get(&(seg, ip)) == Some(&port) && self.global.get(&port) != Some(&ip) {
            self.index.remove(&(seg, ip));
        }
    }

    pub fn lookup(&self, seg: SegId, ip: Ipv6Addr) -> Option<(HostId, usize)> {
        self.index.get(&(seg, ip)).copied()
    }

    pub fn listen_dhcp(&mut self, seg: SegId, port: (HostId, usize)) {
        let v = self.dhcp_listeners.entry(seg).or_default();
        if !v.contains(&port) {
            v.push(port);
        }
    }

    /// Whether `ip` is on `seg` (link-local, or in its prefix).
    pub fn on_link(&self, seg: SegId, ip: Ipv6Addr) -> bool {
        ip.is_unicast_link_local() || self.prefix(seg).is_some_and(|p| in_prefix(ip, p))
    }
}

/// A router's ICMPv6 "destination unreachable, beyond scope of source address" (RFC
/// 4443 3.1, code 2) for the datagram `src` → `dst`: as much of the invoking packet as
/// keeps the error within the minimum MTU of 1280 bytes.
pub fn build_beyond_scope6(
    out: &mut Vec<u8>,
    router_mac: Mac,
    client_mac: Mac,
    router: Ipv6Addr,
    src: SocketAddrV6,
    dst: SocketAddrV6,
    payload: &[u8],
) {
    let mut invoking = Vec::with_capacity(payload.len() + 48);
    let inner = etherparse::PacketBuilder::ipv6(src.ip().octets(), dst.ip().octets(), 64)
        .udp(src.port(), dst.port());
    if inner.write(&mut invoking, payload).is_err() {
        invoking.clear();
    }
    invoking.truncate(1280 - 40 - 8);
    let code = etherparse::icmpv6::DestUnreachableCode::BeyondScope;
    let builder = etherparse::PacketBuilder::ethernet2(router_mac.0, client_mac.0)
        .ipv6(router.octets(), src.ip().octets(), 64)
        .icmpv6(etherparse::Icmpv6Type::DestinationUnreachable(code));
    if builder.write(out, &invoking).is_err() {
        out.clear();
    }
}

/// Ethernet II + IPv6 (hop limit 64, or 1 to a link-scoped multicast group... 64
/// throughout: the simulator has no hop-limit semantics) + UDP with checksum.
pub fn build_frame6(
    out: &mut Vec<u8>,
    src_mac: Mac,
    dst_mac: Mac,
    src: SocketAddrV6,
    dst: SocketAddrV6,
    payload: &[u8],
) {
    let hop = if dst.ip().is_multicast() { 1 } else { 64 };
    let builder = etherparse::PacketBuilder::ethernet2(src_mac.0, dst_mac.0)
        .ipv6(src.ip().octets(), dst.ip().octets(), hop)
        .udp(src.port(), dst.port());
    let max = 65535 - 8;
    let payload = &payload[..payload.len().min(max)];
    if builder.write(out, payload).is_err() {
        out.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_local_is_the_modified_eui64_of_the_mac() {
        let mac = Mac([0x52, 0x54, 0, 0x12, 0x34, 0x56]);
        assert_eq!(link_local(mac).to_string(), "fe80::5054:ff:fe12:3456");
        assert_eq!(multicast_mac(ALL_DHCP).to_string(), "33:33:00:01:00:02");
    }

    #[test]
    fn a_frame_parses_back() {
        let mut f = Vec::new();
        let src = SocketAddrV6::new("fe80::1".parse().unwrap(), 546, 0, 0);
        let dst = SocketAddrV6::new(ALL_DHCP, 547, 0, 0);
        build_frame6(
            &mut f,
            Mac([2, 0, 0, 0, 0, 1]),
            multicast_mac(ALL_DHCP),
            src,
            dst,
            b"abc",
        );
        let p = etherparse::SlicedPacket::from_ethernet(&f).unwrap();
        let Some(etherparse::TransportSlice::Udp(u)) = p.transport else {
            panic!("no UDP")
        };
        assert_eq!(u.payload(), b"abc");
        assert_eq!(u.destination_port(), 547);
    }
}
