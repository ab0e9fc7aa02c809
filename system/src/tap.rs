//! Tap devices for the switch's ports: `/dev/net/tun` and the `TUNSETIFF` ioctl (what
//! `ip tuntap add` does), not persistent, so a device vanishes with the descriptor that
//! made it and a crashed switch leaves none behind. Frames are read and written whole,
//! Ethernet headers included (`IFF_NO_PI`: no packet-information prefix).

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::fs::OpenOptionsExt;

pub struct Tap {
    file: File,
}

impl Tap {
    /// Creates tap device `name`, up, non-blocking.
    pub fn create(name: &str) -> std::io::Result<Tap> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
            .open("/dev/net/tun")?;
        let mut req = ifreq(name)?;
        req.ifr_ifru.ifru_flags = (libc::IFF_TAP | libc::IFF_NO_PI) as libc::c_short;
        // SAFETY: TUNSETIFF reads and writes one `ifreq`, which `req` is, on a
        // descriptor of /dev/net/tun this function opened.
        if unsafe { libc::ioctl(file.as_raw_fd(), libc::TUNSETIFF, &mut req) } < 0 {
            return Err(std::io::Error::last_os_error());
        }
        set_up(name)?;
        Ok(Tap { file })
    }

    pub fn recv(&self, buf: &mut [u8]) -> std::io::Result<usize> {
        (&self.file).read(buf)
    }

    pub fn send(&self, frame: &[u8]) -> std::io::Result<()> {
        (&self.file).write(frame).map(|_| ())
    }
}

impl AsRawFd for Tap {
    fn as_raw_fd(&self) -> RawFd {
        self.file.as_raw_fd()
    }
}

/// An `ifreq` naming interface `name` (at most 15 bytes, the kernel's IFNAMSIZ - 1).
fn ifreq(name: &str) -> std::io::Result<libc::ifreq> {
    if name.is_empty() || name.len() >= libc::IFNAMSIZ || name.contains(['/', ' ', '\0']) {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("{name:?} is not an interface name (1 to 15 bytes, no '/' or space)"),
        ));
    }
    // SAFETY: ifreq is plain old data (a name and a union of integers); all zeros is a
    // valid value of it.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (d, s) in req.ifr_name.iter_mut().zip(name.bytes()) {
        *d = s as libc::c_char;
    }
    Ok(req)
}

/// A socket for the interface ioctls, in this thread's network namespace.
fn control_socket() -> std::io::Result<socket2::Socket> {
    socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::DGRAM, None)
}

/// Reads the flags of the interface `req` names into `req` (SIOCGIFFLAGS).
fn read_flags(sock: &socket2::Socket, req: &mut libc::ifreq) -> std::io::Result<()> {
    // SAFETY: SIOCGIFFLAGS writes one `ifreq`, which `req` is.
    if unsafe {
        libc::ioctl(
            sock.as_raw_fd(),
            libc::SIOCGIFFLAGS,
            req as *mut libc::ifreq,
        )
    } < 0
    {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Interface `name`'s flags.
#[cfg(test)]
fn flags(name: &str) -> std::io::Result<libc::c_short> {
    let mut req = ifreq(name)?;
    read_flags(&control_socket()?, &mut req)?;
    // SAFETY: SIOCGIFFLAGS filled the union's flags member.
    Ok(unsafe { req.ifr_ifru.ifru_flags })
}

/// Sets IFF_UP on interface `name`, its other flags as they are (SIOCSIFFLAGS).
fn set_up(name: &str) -> std::io::Result<()> {
    let sock = control_socket()?;
    let mut req = ifreq(name)?;
    read_flags(&sock, &mut req)?;
    // SAFETY: SIOCGIFFLAGS filled the union's flags member; SIOCSIFFLAGS reads one
    // `ifreq`, which `req` is.
    unsafe {
        req.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
        if libc::ioctl(sock.as_raw_fd(), libc::SIOCSIFFLAGS, &req) < 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_kernel_would_refuse_are_refused_here() {
        for bad in ["", "sixteen-bytes-xx", "a/b", "a b"] {
            assert!(ifreq(bad).is_err(), "{bad:?}");
        }
        assert!(ifreq("pxl-sw0-p1").is_ok());
    }

    /// In a network namespace of its own (this thread only): the tap exists and is up
    /// while the `Tap` lives, and is gone once it is dropped. Needs root, as the lab.
    #[test]
    fn a_tap_is_up_while_it_lives_and_gone_after() {
        std::thread::spawn(|| {
            crate::netns::unshare_thread().expect("unshare(CLONE_NEWNET) needs root");
            let tap = Tap::create("pxltap0").unwrap();
            let up = libc::IFF_UP as libc::c_short;
            assert_eq!(flags("pxltap0").unwrap() & up, up, "not up");
            // Reads never block: once the kernel's own IPv6 chatter on the new link (router
            // solicitations, MLD reports, sent as soon as it is up) is read, a read would
            // block; nothing else is queued.
            let mut buf = [0u8; 1600];
            let mut kernel_frames = 0;
            let e = loop {
                match tap.recv(&mut buf) {
                    Ok(n) => {
                        assert!(
                            n >= 14 && buf[12..14] == [0x86, 0xdd],
                            "not IPv6: {n} bytes"
                        );
                        kernel_frames += 1;
                        assert!(kernel_frames < 32, "frames keep coming");
                    }
                    Err(e) => break e,
                }
            };
            assert_eq!(e.kind(), std::io::ErrorKind::WouldBlock);
            drop(tap);
            assert!(flags("pxltap0").is_err(), "the tap outlived its descriptor");
        })
        .join()
        .unwrap();
    }
}
