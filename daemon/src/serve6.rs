//! `pxelab serve` over IPv6 (R-V6): the UDP sockets of DHCPv6 PXE and where a message's
//! link-layer source (R-V6-2) comes from.
//!
//! Sockets, opened when the responder has `address6`: UDP 547 (unless
//! `listen_dhcp_port: false`) and 4011, each bound to `[::]` (IPV6_V6ONLY, so the IPv4
//! sockets keep their ports) on the interface, with the All_DHCP_Relay_Agents_and_Servers
//! group ff02::1:2 joined on it, where clients send their Solicit; TFTP on 69 and each
//! IPv6 transfer's own port (R-V6-5), bound the same way ([`bind6`]). Replies leave through
//! IPV6_PKTINFO from the address the request came to (`crate::reply6`), else from the
//! engine's source (`address6`), and from the kernel's choice when that address is not on
//! the host.
//!
//! The link-layer source: an IPv6 UDP socket does not tell it, and R-V6-2 needs it for a
//! directly received message (EDK2 and iPXE send a DUID-UUID, which holds no MAC). The
//! neighbour table does not have it either (a multicast Solicit creates no entry). So a
//! packet socket (AF_PACKET, with a BPF filter that passes only UDP to 547 and 4011)
//! sees the same frames, and the UDP datagram is matched to its frame by source address,
//! port and payload: the MAC is the one the frame came from, whatever address the client
//! uses, when that address is on the link (link-local or in the interface's prefixes; a
//! routed datagram's frame is the router's, as the simulator has it). When the packet socket cannot be opened (no CAP_NET_RAW) or has lost the frame,
//! a link-local source in modified EUI-64 form gives the MAC instead (every firmware in
//! tests/fixtures/firmware/*-pxe6.pcap sends from one); otherwise the engine falls back to
//! option 79 and the DUID, as for a relayed message.

use pxelab_engine::responder::Transmit6;
use pxelab_engine::Mac;
use pxelab_system::packet::{self, bpf, Framing, PacketSocket};
use socket2::{Domain, Protocol, Socket, Type};
use std::collections::VecDeque;
use std::hash::{Hash, Hasher};
use std::net::{Ipv6Addr, SocketAddr, SocketAddrV6, UdpSocket};
use std::os::fd::AsRawFd;

/// All_DHCP_Relay_Agents_and_Servers (RFC 8415 section 7.1).
pub const ALL_DHCP_SERVERS: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 1, 2);

/// The index of interface `name` (0: none by that name).
pub fn if_index(name: &str) -> u32 {
    pxelab_system::iface::index(name).unwrap_or(0)
}

/// The interfaces to join ff02::1:2 on: the given one, or every one the host has.
fn interfaces(iface: Option<&str>) -> Vec<u32> {
    if let Some(i) = iface {
        return vec![if_index(i)];
    }
    pxelab_system::iface::all()
}

/// A UDP socket on `[::]:port` (of `iface` only when given). `shared`: SO_REUSEADDR (the
/// well-known ports); a TFTP transfer's port is its own.
pub fn bind6(port: u16, iface: Option<&str>, shared: bool) -> std::io::Result<UdpSocket> {
    let s = Socket::new(Domain::IPV6, Type::DGRAM, Some(Protocol::UDP))?;
    s.set_only_v6(true)?;
    s.set_reuse_address(shared)?;
    if let Some(i) = iface {
        s.bind_device(Some(i.as_bytes()))?;
    }
    s.set_nonblocking(true)?;
    // Which of the host's addresses a request came to: the answer leaves from it.
    crate::reply6::report_destination(&s)?;
    s.bind(&SocketAddrV6::new(Ipv6Addr::UNSPECIFIED, port, 0, 0).into())?;
    Ok(s.into())
}

/// A DHCPv6 server socket: [`bind6`] and ff02::1:2 joined on the interface (on every
/// interface that takes it when none is given).
pub fn bind_dhcp6(port: u16, iface: Option<&str>) -> std::io::Result<UdpSocket> {
    let s = bind6(port, iface, true)?;
    let mut joined = 0;
    let mut last = None;
    for i in interfaces(iface) {
        match s.join_multicast_v6(&ALL_DHCP_SERVERS, i) {
            Ok(()) => joined += 1,
            Err(e) => last = Some(e),
        }
    }
    match (joined, last) {
        (0, Some(e)) => Err(e),
        _ => Ok(s),
    }
}

/// Sends one datagram from `t.src`'s address (IPV6_PKTINFO, on the destination's
/// interface when it is link-local); when the host does not hold that address, from the
/// kernel's choice.
pub fn send6(socket: &UdpSocket, t: &Transmit6) -> std::io::Result<()> {
    match send_from(socket, t) {
        Ok(()) => Ok(()),
        Err(e)
            if matches!(
                e.raw_os_error(),
                Some(libc::EADDRNOTAVAIL) | Some(libc::EINVAL)
            ) =>
        {
            socket
                .send_to(&t.payload, SocketAddr::V6(t.dst))
                .map(|_| ())
        }
        Err(e) => Err(e),
    }
}

fn send_from(socket: &UdpSocket, t: &Transmit6) -> std::io::Result<()> {
    let mut dst: libc::sockaddr_in6 = sockaddr6(&t.dst);
    let mut iov = libc::iovec {
        iov_base: t.payload.as_ptr() as *mut libc::c_void,
        iov_len: t.payload.len(),
    };
    let info = libc::in6_pktinfo {
        ipi6_addr: libc::in6_addr {
            s6_addr: t.src.ip().octets(),
        },
        ipi6_ifindex: t.dst.scope_id(),
    };
    // Room for one cmsghdr with an in6_pktinfo, aligned as the kernel wants (u64).
    let mut control = [0u64; 8];
    // SAFETY: msghdr is plain data; the pointers set below outlive the sendmsg call, and
    // CMSG_* are used within `control`, whose size is checked against CMSG_SPACE.
    unsafe {
        let space = libc::CMSG_SPACE(size_of::<libc::in6_pktinfo>() as u32) as usize;
        assert!(space <= size_of_val(&control));
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_name = (&mut dst as *mut libc::sockaddr_in6).cast();
        msg.msg_namelen = size_of::<libc::sockaddr_in6>() as libc::socklen_t;
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = space as _;
        let c = libc::CMSG_FIRSTHDR(&msg);
        (*c).cmsg_level = libc::IPPROTO_IPV6;
        (*c).cmsg_type = libc::IPV6_PKTINFO;
        (*c).cmsg_len = libc::CMSG_LEN(size_of::<libc::in6_pktinfo>() as u32) as _;
        std::ptr::write_unaligned(libc::CMSG_DATA(c).cast::<libc::in6_pktinfo>(), info);
        if libc::sendmsg(socket.as_raw_fd(), &msg, 0) < 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

fn sockaddr6(a: &SocketAddrV6) -> libc::sockaddr_in6 {
    libc::sockaddr_in6 {
        sin6_family: libc::AF_INET6 as libc::sa_family_t,
        sin6_port: a.port().to_be(),
        sin6_flowinfo: 0,
        sin6_addr: libc::in6_addr {
            s6_addr: a.ip().octets(),
        },
        sin6_scope_id: a.scope_id(),
    }
}

/// The MAC inside a link-local address in modified EUI-64 form (RFC 4291 appendix A):
/// fe80::XXYY:ZZff:feUU:VVWW is XX^02:YY:ZZ:UU:VV:WW.
pub fn eui64_mac(ip: &Ipv6Addr) -> Option<Mac> {
    let o = ip.octets();
    let link_local = o[0] == 0xfe && o[1] & 0xc0 == 0x80 && o[2..8] == [0; 6];
    (link_local && o[11] == 0xff && o[12] == 0xfe)
        .then(|| Mac([o[8] ^ 0x02, o[9], o[10], o[13], o[14], o[15]]))
}

/// A frame the packet socket saw: who sent it and which datagram it carried.
struct Seen {
    src: Ipv6Addr,
    port: u16,
    payload: u64,
    mac: Mac,
}

fn digest(payload: &[u8]) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    payload.hash(&mut h);
    h.finish()
}

/// The link-layer sources of the DHCPv6 datagrams (R-V6-2), from a packet socket (see
/// the module's comment for why). A frame's source is the client's only when the client
/// is on the link: a datagram routed to us (a boot request to 4011 from another segment)
/// comes in a frame from the router, so its MAC is not taken.
pub struct LinkSources {
    packet: Option<PacketSocket>,
    seen: VecDeque<Seen>,
    iface: Option<String>,
    /// The interface's on-link prefixes, and when they were read.
    on_link: Vec<(Ipv6Addr, u8)>,
    on_link_read: Option<std::time::Instant>,
}

impl LinkSources {
    /// Frames remembered while their datagram has not been read: a burst's worth.
    const KEEP: usize = 256;

    /// A packet socket on `iface` (every interface when `None`); without one (no
    /// CAP_NET_RAW), only the EUI-64 fallback.
    pub fn open(iface: Option<&str>) -> (LinkSources, Option<std::io::Error>) {
        let (packet, err) = match open_packet_socket(iface) {
            Ok(fd) => (Some(fd), None),
            Err(e) => (None, Some(e)),
        };
        (
            LinkSources {
                packet,
                seen: VecDeque::new(),
                iface: iface.map(str::to_string),
                on_link: Vec::new(),
                on_link_read: None,
            },
            err,
        )
    }

    /// Whether the packet socket is open.
    pub fn has_packet_socket(&self) -> bool {
        self.packet.is_some()
    }

    /// The MAC of the frame that brought `payload` from `src`: the frame seen by the
    /// packet socket (it is queued there before the UDP socket gets the datagram), else
    /// an EUI-64 link-local source's.
    pub fn lookup(&mut self, src: &SocketAddrV6, payload: &[u8]) -> Option<Mac> {
        self.drain();
        let d = digest(payload);
        let found = self
            .seen
            .iter()
            .rposition(|s| s.src == *src.ip() && s.port == src.port() && s.payload == d);
        let seen = found.and_then(|i| self.seen.remove(i));
        if !self.is_on_link(src.ip()) {
            return None;
        }
        match seen {
            Some(s) => Some(s.mac),
            None => eui64_mac(src.ip()),
        }
    }

    /// Whether `ip` is on the link: link-local, or in a prefix of the interface (read
    /// again at most once a second: addresses may come after the responder starts).
    fn is_on_link(&mut self, ip: &Ipv6Addr) -> bool {
        if ip.is_unicast_link_local() {
            return true;
        }
        let stale = self
            .on_link_read
            .is_none_or(|t| t.elapsed() > std::time::Duration::from_secs(1));
        if stale {
            self.on_link = interface_prefixes(self.iface.as_deref());
            self.on_link_read = Some(std::time::Instant::now());
        }
        self.on_link.iter().any(|(p, len)| in_prefix(ip, p, *len))
    }

    /// Reads what the packet socket holds.
    fn drain(&mut self) {
        let Some(fd) = &self.packet else {
            return;
        };
        let mut buf = [0u8; 2048];
        while let Ok(got) = fd.recv_from(&mut buf) {
            let n = got.len.min(buf.len());
            let Some(mac) = got.mac.filter(|_| !got.outgoing) else {
                continue;
            };
            // IPv6 header (40 bytes, next header UDP: the filter checked), then UDP (8).
            let p = &buf[..n];
            if p.len() < 48 || p[6] != 17 {
                continue;
            }
            let src = Ipv6Addr::from(<[u8; 16]>::try_from(&p[8..24]).expect("16 bytes"));
            let port = u16::from_be_bytes([p[40], p[41]]);
            let udp_len = usize::from(u16::from_be_bytes([p[44], p[45]]));
            let end = (40 + udp_len).clamp(48, p.len());
            if self.seen.len() >= Self::KEEP {
                self.seen.pop_front();
            }
            self.seen.push_back(Seen {
                src,
                port,
                payload: digest(&p[48..end]),
                mac: Mac(mac),
            });
        }
    }
}

/// Whether `ip` is in `prefix/len`.
fn in_prefix(ip: &Ipv6Addr, prefix: &Ipv6Addr, len: u8) -> bool {
    let mask = u128::MAX
        .checked_shl(128 - u32::from(len.min(128)))
        .unwrap_or(0);
    u128::from(*ip) & mask == u128::from(*prefix) & mask
}

/// The IPv6 prefixes (address, prefix length) of interface `iface`, of every interface
/// when `None` (getifaddrs).
pub fn interface_prefixes(iface: Option<&str>) -> Vec<(Ipv6Addr, u8)> {
    let mut out = Vec::new();
    let mut list: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs fills `list` with a linked list freed below by freeifaddrs; each
    // entry's pointers are valid until then, and an AF_INET6 address and netmask are
    // sockaddr_in6.
    unsafe {
        if libc::getifaddrs(&mut list) != 0 {
            return out;
        }
        let mut p = list;
        while !p.is_null() {
            let a = &*p;
            p = a.ifa_next;
            if a.ifa_addr.is_null()
                || a.ifa_netmask.is_null()
                || i32::from((*a.ifa_addr).sa_family) != libc::AF_INET6
            {
                continue;
            }
            if let Some(want) = iface {
                if std::ffi::CStr::from_ptr(a.ifa_name).to_bytes() != want.as_bytes() {
                    continue;
                }
            }
            let addr = std::ptr::read_unaligned(a.ifa_addr.cast::<libc::sockaddr_in6>());
            let mask = std::ptr::read_unaligned(a.ifa_netmask.cast::<libc::sockaddr_in6>());
            let len = u128::from_be_bytes(mask.sin6_addr.s6_addr).count_ones() as u8;
            out.push((Ipv6Addr::from(addr.sin6_addr.s6_addr), len));
        }
        libc::freeifaddrs(list);
    }
    out
}

/// AF_PACKET, IPv6 frames of `iface` (all interfaces when `None`), passed by a BPF
/// filter only when they carry UDP to port 547 or 4011 (no extension headers: DHCPv6
/// messages carry none), so the socket costs nothing for other traffic.
fn open_packet_socket(iface: Option<&str>) -> std::io::Result<PacketSocket> {
    let ifindex = match iface {
        Some(i) => match if_index(i) {
            0 => return Err(std::io::Error::other(format!("no interface {i}"))),
            n => n,
        },
        None => 0,
    };
    // Offsets from the IPv6 header (a SOCK_DGRAM packet socket has no link header).
    let filter = [
        bpf(0x30, 0, 0, 6),    // ldb [6]: next header
        bpf(0x15, 0, 4, 17),   // UDP, else drop
        bpf(0x28, 0, 0, 42),   // ldh [42]: UDP destination port
        bpf(0x15, 1, 0, 547),  // 547: accept
        bpf(0x15, 0, 1, 4011), // 4011: accept, else drop
        bpf(0x06, 0, 0, 0xffff),
        bpf(0x06, 0, 0, 0),
    ];
    PacketSocket::open(Framing::Network, packet::IPV6, ifindex, &filter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eui64_link_local_gives_the_mac_and_other_addresses_do_not() {
        // The firmware captures' Solicit source and frame source.
        let ll: Ipv6Addr = "fe80::5054:ff:fe12:3456".parse().unwrap();
        assert_eq!(eui64_mac(&ll), Some("52:54:00:12:34:56".parse().unwrap()));
        for other in [
            "fe80::1",                  // not EUI-64
            "fe80::a1b2:c3d4:e5f6:789", // stable-privacy style
            "fd00::5054:ff:fe12:3456",  // EUI-64 form, but not link-local
            "fe80:1::5054:ff:fe12:3456",
        ] {
            assert_eq!(eui64_mac(&other.parse().unwrap()), None, "{other}");
        }
    }

    #[test]
    fn r_v6_2_a_frame_gives_the_mac_only_of_a_source_on_the_link() {
        assert!(in_prefix(
            &"fd77::100".parse().unwrap(),
            &"fd77::5".parse().unwrap(),
            64
        ));
        assert!(!in_prefix(
            &"fd78::100".parse().unwrap(),
            &"fd77::5".parse().unwrap(),
            64
        ));
        assert!(in_prefix(
            &"fd78::1".parse().unwrap(),
            &Ipv6Addr::UNSPECIFIED,
            0
        ));
        let mut l = LinkSources {
            packet: None,
            seen: VecDeque::new(),
            iface: None,
            on_link: vec![("fd77::5".parse().unwrap(), 64)],
            on_link_read: Some(std::time::Instant::now()),
        };
        // A routed source: its frame came from a router, and an EUI-64 interface
        // identifier off the link is not trusted either.
        let routed = SocketAddrV6::new("fd30::5054:ff:fe12:3456".parse().unwrap(), 546, 0, 0);
        assert_eq!(l.lookup(&routed, b"x"), None);
        let ll = SocketAddrV6::new("fe80::5054:ff:fe12:3456".parse().unwrap(), 546, 0, 0);
        assert_eq!(
            l.lookup(&ll, b"x"),
            Some("52:54:00:12:34:56".parse().unwrap())
        );
    }

    #[test]
    fn loopback_has_its_prefix() {
        let p = interface_prefixes(Some("lo"));
        if !p.is_empty() {
            assert!(p.contains(&(Ipv6Addr::LOCALHOST, 128)), "{p:?}");
        }
    }

    #[test]
    fn a_dhcp6_socket_takes_multicast_and_replies_from_the_given_source_on_loopback() {
        // Loopback has no multicast by default, so this tests the unicast path and the
        // source chosen with IPV6_PKTINFO (::1 is the only address loopback holds).
        let Ok(server) = bind6(0, None, true) else {
            return; // no IPv6 on this host: nothing to test
        };
        let port = server.local_addr().unwrap().port();
        let client = UdpSocket::bind("[::1]:0").unwrap();
        client.send_to(b"solicit", ("::1", port)).unwrap();
        server.set_nonblocking(false).unwrap();
        let t = Some(std::time::Duration::from_secs(5));
        server.set_read_timeout(t).unwrap();
        client.set_read_timeout(t).unwrap();
        let mut buf = [0u8; 64];
        let (n, from) = server.recv_from(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"solicit");
        let SocketAddr::V6(from) = from else {
            panic!("IPv6 source expected")
        };
        let t = Transmit6 {
            src: SocketAddrV6::new(Ipv6Addr::LOCALHOST, port, 0, 0),
            dst: from,
            payload: b"advertise".to_vec(),
        };
        send6(&server, &t).unwrap();
        let (n, src) = client.recv_from(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"advertise");
        assert_eq!(
            src,
            SocketAddr::V6(SocketAddrV6::new(Ipv6Addr::LOCALHOST, port, 0, 0))
        );
        // A source the host does not hold: sent anyway, from the kernel's choice.
        let t = Transmit6 {
            src: SocketAddrV6::new("2001:db8::5".parse().unwrap(), port, 0, 0),
            ..t
        };
        send6(&server, &t).unwrap();
        let (n, _) = client.recv_from(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"advertise");
    }
}
