//! Where `pxelab serve`'s IPv6 answers leave from: the address the request came to.
//!
//! The engine gives every IPv6 datagram the responder's `address6` as its source. A host
//! may hold more addresses than that one (another address on the segment, a link-local
//! one), and a client that sent its TFTP request to one of them takes answers from that
//! address only (TFTP's transfer identifier is the address and port, RFC 1350): answered
//! from `address6`, it sees a stranger and the download never starts. So each IPv6 socket
//! reports the destination of what it receives (IPV6_RECVPKTINFO, see [`recv6`]), and an
//! answer to a peer whose last request came to a unicast address leaves from that
//! address ([`ReplySources`]). What came to a multicast group (a Solicit to ff02::1:2) is
//! answered from `address6`, as the engine says.

use pxelab_engine::responder::Transmit6;
use std::collections::{HashMap, VecDeque};
use std::net::{Ipv6Addr, SocketAddrV6, UdpSocket};
use std::os::fd::AsRawFd;

/// Asks the kernel to report each datagram's destination address on `socket`.
pub fn report_destination(socket: &socket2::Socket) -> std::io::Result<()> {
    let on: libc::c_int = 1;
    // SAFETY: setsockopt with a pointer to a live c_int and its size.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::IPPROTO_IPV6,
            libc::IPV6_RECVPKTINFO,
            (&on as *const libc::c_int).cast(),
            size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// One datagram from an IPv6 socket: its length, its source, and the address it was sent
/// to (`None` when the socket does not report it, see [`report_destination`]).
pub fn recv6(
    socket: &UdpSocket,
    buf: &mut [u8],
) -> std::io::Result<(usize, SocketAddrV6, Option<Ipv6Addr>)> {
    // SAFETY: sockaddr_in6 and msghdr are plain data (all zeroes is valid); every
    // pointer in `msg` points to a live buffer of the length given, and the CMSG_*
    // walk stays within `control`, whose length the kernel set in msg_controllen.
    unsafe {
        let mut from: libc::sockaddr_in6 = std::mem::zeroed();
        let mut iov = libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        };
        // Room for an in6_pktinfo's cmsghdr and any other the kernel adds, aligned.
        let mut control = [0u64; 16];
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_name = (&mut from as *mut libc::sockaddr_in6).cast();
        msg.msg_namelen = size_of::<libc::sockaddr_in6>() as libc::socklen_t;
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = size_of_val(&control) as _;
        let n = libc::recvmsg(socket.as_raw_fd(), &mut msg, 0);
        if n < 0 {
            return Err(std::io::Error::last_os_error());
        }
        if i32::from(from.sin6_family) != libc::AF_INET6 {
            return Err(std::io::Error::other("not an IPv6 source"));
        }
        let src = SocketAddrV6::new(
            Ipv6Addr::from(from.sin6_addr.s6_addr),
            u16::from_be(from.sin6_port),
            0,
            from.sin6_scope_id,
        );
        let mut to = None;
        let mut c = libc::CMSG_FIRSTHDR(&msg);
        while !c.is_null() {
            if (*c).cmsg_level == libc::IPPROTO_IPV6 && (*c).cmsg_type == libc::IPV6_PKTINFO {
                let info: libc::in6_pktinfo =
                    std::ptr::read_unaligned(libc::CMSG_DATA(c).cast::<libc::in6_pktinfo>());
                to = Some(Ipv6Addr::from(info.ipi6_addr.s6_addr));
            }
            c = libc::CMSG_NXTHDR(&msg, c);
        }
        Ok((n as usize, src, to))
    }
}

/// The unicast address each peer (address and port) last sent a request to, for as many
/// peers as a busy responder has at once; the oldest are forgotten first.
#[derive(Default)]
pub struct ReplySources {
    to: HashMap<SocketAddrV6, Ipv6Addr>,
    order: VecDeque<SocketAddrV6>,
}

impl ReplySources {
    /// Peers remembered: far more than the transfers a responder runs at once.
    const KEEP: usize = 4096;

    /// A request from `peer` came to `to`: answers to `peer` leave from there when it is
    /// a unicast address, from the engine's source otherwise.
    pub fn remember(&mut self, peer: SocketAddrV6, to: Option<Ipv6Addr>) {
        let peer = Self::key(peer);
        match to.filter(|a| !a.is_multicast() && !a.is_unspecified()) {
            Some(a) => {
                if self.to.insert(peer, a).is_none() {
                    self.order.push_back(peer);
                    if self.order.len() > Self::KEEP {
                        if let Some(old) = self.order.pop_front() {
                            self.to.remove(&old);
                        }
                    }
                }
            }
            None => {
                if self.to.remove(&peer).is_some() {
                    self.order.retain(|p| *p != peer);
                }
            }
        }
    }

    /// `t`'s source set to where `t.dst`'s last request came, if it is remembered.
    pub fn apply(&self, t: &mut Transmit6) {
        if let Some(a) = self.to.get(&Self::key(t.dst)) {
            t.src.set_ip(*a);
        }
    }

    /// Peers by address, port and scope (flow information is not the peer's identity).
    fn key(mut peer: SocketAddrV6) -> SocketAddrV6 {
        peer.set_flowinfo(0);
        peer
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t6(src: &str, dst: SocketAddrV6) -> Transmit6 {
        Transmit6 {
            src: SocketAddrV6::new(src.parse().unwrap(), 69, 0, 0),
            dst,
            payload: Vec::new(),
        }
    }

    #[test]
    fn an_answer_leaves_from_the_unicast_address_its_request_came_to() {
        let mut r = ReplySources::default();
        let peer = SocketAddrV6::new("fd77::100".parse().unwrap(), 2000, 0, 0);
        let other = SocketAddrV6::new("fd77::101".parse().unwrap(), 2000, 0, 0);
        r.remember(peer, Some("fd77::6".parse().unwrap()));
        let mut t = t6("fd77::5", peer);
        r.apply(&mut t);
        assert_eq!(t.src, "[fd77::6]:69".parse().unwrap());
        // Another peer, unknown: the engine's source.
        let mut t = t6("fd77::5", other);
        r.apply(&mut t);
        assert_eq!(*t.src.ip(), "fd77::5".parse::<Ipv6Addr>().unwrap());
        // The same peer now through a multicast group: the engine's source again.
        r.remember(peer, Some("ff02::1:2".parse().unwrap()));
        let mut t = t6("fd77::5", peer);
        r.apply(&mut t);
        assert_eq!(*t.src.ip(), "fd77::5".parse::<Ipv6Addr>().unwrap());
    }

    #[test]
    fn the_oldest_peers_are_forgotten_past_the_bound() {
        let mut r = ReplySources::default();
        let peer = |i: usize| SocketAddrV6::new("fd77::100".parse().unwrap(), i as u16, 0, 0);
        for i in 0..=ReplySources::KEEP {
            r.remember(peer(i), Some("fd77::6".parse().unwrap()));
        }
        assert_eq!(r.to.len(), ReplySources::KEEP);
        assert_eq!(r.order.len(), ReplySources::KEEP);
        assert!(!r.to.contains_key(&peer(0)));
        assert!(r.to.contains_key(&peer(ReplySources::KEEP)));
    }

    #[test]
    fn recv6_reports_the_address_a_datagram_came_to_on_loopback() {
        let Ok(server) = crate::serve6::bind6(0, None, false) else {
            return; // no IPv6 on this host: nothing to test
        };
        let port = server.local_addr().unwrap().port();
        let client = UdpSocket::bind("[::1]:0").unwrap();
        client.send_to(b"rrq", ("::1", port)).unwrap();
        server.set_nonblocking(false).unwrap();
        server
            .set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .unwrap();
        let mut buf = [0u8; 16];
        let (n, src, to) = recv6(&server, &mut buf).unwrap();
        assert_eq!(&buf[..n], b"rrq");
        assert_eq!(src.port(), client.local_addr().unwrap().port());
        assert_eq!(to, Some(Ipv6Addr::LOCALHOST));
    }
}
