//! AF_PACKET sockets: the frames of one interface (or of all) as the wire carries them,
//! for the live audit (every frame, link header included) and for `pxelab serve`'s
//! DHCPv6 MAC lookup (IPv6 packets a BPF filter passes, from the network header on).

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

/// Every protocol (`ETH_P_ALL`).
pub const ALL: u16 = libc::ETH_P_ALL as u16;
/// IPv6 (`ETH_P_IPV6`).
pub const IPV6: u16 = 0x86dd;

/// One classic BPF instruction, for [`PacketSocket::open`]'s filter.
pub type Insn = libc::sock_filter;

/// A classic BPF instruction.
pub const fn bpf(code: u16, jt: u8, jf: u8, k: u32) -> Insn {
    libc::sock_filter { code, jt, jf, k }
}

/// What a read returns of a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    /// The whole frame, link header included (`SOCK_RAW`).
    Link,
    /// From the network header on (`SOCK_DGRAM`); the sender's address comes apart.
    Network,
}

/// One frame read by [`PacketSocket::recv_from`].
#[derive(Clone, Copy, Debug)]
pub struct Received {
    /// Its length on the wire (more than the buffer when it was cut).
    pub len: usize,
    /// We sent it (`PACKET_OUTGOING`), rather than received it.
    pub outgoing: bool,
    /// The sender's MAC, when its link has 6-byte addresses.
    pub mac: Option<[u8; 6]>,
}

/// A non-blocking AF_PACKET socket.
pub struct PacketSocket {
    fd: OwnedFd,
}

impl PacketSocket {
    /// Opens a socket for frames of ethertype `protocol` ([`ALL`]: every one) on
    /// interface `ifindex` (0: every interface), passing only what `filter` accepts (an
    /// empty filter: everything). Needs root or CAP_NET_RAW.
    pub fn open(
        framing: Framing,
        protocol: u16,
        ifindex: u32,
        filter: &[Insn],
    ) -> io::Result<PacketSocket> {
        let kind = match framing {
            Framing::Link => libc::SOCK_RAW,
            Framing::Network => libc::SOCK_DGRAM,
        };
        // SAFETY: plain socket calls; every pointer passed points to a live value of
        // the size given.
        unsafe {
            let fd = libc::socket(
                libc::AF_PACKET,
                kind | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                i32::from(protocol.to_be()),
            );
            if fd < 0 {
                return Err(io::Error::last_os_error());
            }
            let fd = OwnedFd::from_raw_fd(fd);
            if !filter.is_empty() {
                let prog = libc::sock_fprog {
                    len: filter.len() as u16,
                    filter: filter.as_ptr() as *mut libc::sock_filter,
                };
                if libc::setsockopt(
                    fd.as_raw_fd(),
                    libc::SOL_SOCKET,
                    libc::SO_ATTACH_FILTER,
                    (&prog as *const libc::sock_fprog).cast(),
                    size_of::<libc::sock_fprog>() as libc::socklen_t,
                ) < 0
                {
                    return Err(io::Error::last_os_error());
                }
            }
            let mut ll: libc::sockaddr_ll = std::mem::zeroed();
            ll.sll_family = libc::AF_PACKET as u16;
            ll.sll_protocol = protocol.to_be();
            ll.sll_ifindex = ifindex as i32;
            if libc::bind(
                fd.as_raw_fd(),
                (&ll as *const libc::sockaddr_ll).cast(),
                size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            ) < 0
            {
                return Err(io::Error::last_os_error());
            }
            Ok(PacketSocket { fd })
        }
    }

    /// Reads one frame into `buf` without waiting; returns its length in `buf`.
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        // SAFETY: reading into our own buffer of its length.
        let len = unsafe {
            libc::recv(
                self.fd.as_raw_fd(),
                buf.as_mut_ptr().cast(),
                buf.len(),
                libc::MSG_DONTWAIT,
            )
        };
        if len < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(len as usize)
    }

    /// Reads one frame into `buf` without waiting, with who sent it.
    pub fn recv_from(&self, buf: &mut [u8]) -> io::Result<Received> {
        // SAFETY: sockaddr_ll is plain data: all zeroes is a valid value.
        let mut from: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        let mut len = size_of::<libc::sockaddr_ll>() as libc::socklen_t;
        // SAFETY: recvfrom writes at most buf.len() bytes to buf and `len` bytes to
        // `from`, both live for the call.
        let n = unsafe {
            libc::recvfrom(
                self.fd.as_raw_fd(),
                buf.as_mut_ptr().cast(),
                buf.len(),
                libc::MSG_DONTWAIT | libc::MSG_TRUNC,
                (&mut from as *mut libc::sockaddr_ll).cast(),
                &mut len,
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        let mac = (from.sll_halen == 6).then(|| {
            let mut mac = [0u8; 6];
            mac.copy_from_slice(&from.sll_addr[..6]);
            mac
        });
        Ok(Received {
            len: n as usize,
            outgoing: from.sll_pkttype == libc::PACKET_OUTGOING,
            mac,
        })
    }

    /// Waits up to `timeout` (at least a millisecond) for a frame; `false` when none
    /// came or a signal cut the wait short.
    pub fn wait_readable(&self, timeout: Duration) -> io::Result<bool> {
        let ms = timeout.as_millis().clamp(1, i32::MAX as u128) as i32;
        let mut pfd = libc::pollfd {
            fd: self.fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        let r = unsafe { libc::poll(&mut pfd, 1, ms) };
        if r < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                return Ok(false);
            }
            return Err(e);
        }
        Ok(r > 0)
    }
}

impl AsRawFd for PacketSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl AsFd for PacketSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// On loopback: a UDP datagram we send is read back whole, Ethernet header first
    /// (all-zero MACs on lo). Needs root or CAP_NET_RAW.
    #[test]
    fn a_link_socket_on_loopback_reads_a_datagram_sent_there() {
        let lo = crate::iface::index("lo").unwrap();
        let sock = PacketSocket::open(Framing::Link, ALL, lo, &[]).expect("needs root");
        let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let marker = b"pxelab-system packet test";
        udp.send_to(marker, udp.local_addr().unwrap()).unwrap();
        let mut buf = [0u8; 2048];
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            assert!(std::time::Instant::now() < deadline, "never read back");
            if !sock.wait_readable(Duration::from_millis(200)).unwrap() {
                continue;
            }
            let Ok(got) = sock.recv_from(&mut buf) else {
                continue;
            };
            let frame = &buf[..got.len.min(buf.len())];
            if frame.ends_with(marker) {
                assert_eq!(
                    &frame[12..14],
                    &[0x08, 0x00],
                    "IPv4 behind an Ethernet header"
                );
                assert_eq!(got.mac, Some([0; 6]));
                break;
            }
        }
    }
}
