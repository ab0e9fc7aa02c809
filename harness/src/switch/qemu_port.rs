//! A switch port towards a QEMU `-netdev dgram` unix socket.
//!
//! Frames from QEMU arrive on the port's bound socket. Frames to QEMU leave by a
//! second socket *connected* to QEMU's: on Linux an unconnected unix datagram socket
//! polls writable whenever its own send buffer has room, however full the receiver's
//! queue (`net.unix.max_dgram_qlen`, 10 datagrams) is, so a switch waiting for QEMU
//! to make room polled, failed with `EAGAIN` and polled again, a core busy for as long
//! as frames waited. A TFTP window of four 8 KiB blocks (24 frames) kept it busy for
//! most of the window, and on the lab's two shared cores that time came out of QEMU's:
//! the firmware took its frames in at 0.15-0.2 ms each against 0.05-0.08 ms in windows
//! that fit the queue (docs/LAB.md). A connected socket polls writable only when the
//! receiver's queue has room.
//!
//! QEMU binds its socket when it starts and every boot starts a new QEMU at the same
//! path, so the send socket connects when it is first needed and again when its peer
//! has gone (`ECONNREFUSED`).

use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;

pub struct QemuPort {
    rx: UnixDatagram,
    tx: Option<UnixDatagram>,
    remote: PathBuf,
}

impl QemuPort {
    /// A port receiving on `rx` (bound, non-blocking) and sending to QEMU's `remote`.
    pub fn new(rx: UnixDatagram, remote: PathBuf) -> QemuPort {
        QemuPort {
            rx,
            tx: None,
            remote,
        }
    }

    /// The descriptor to poll for frames from QEMU.
    pub fn rx_fd(&self) -> RawFd {
        self.rx.as_raw_fd()
    }

    /// The descriptor to poll for room in QEMU's queue (none before the first send).
    pub fn tx_fd(&self) -> Option<RawFd> {
        self.tx.as_ref().map(AsRawFd::as_raw_fd)
    }

    pub fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.rx.recv(buf)
    }

    /// Non-blocking; `WouldBlock` when QEMU's queue is full. Any other error (no QEMU
    /// at the path) loses the frame, as a cable to a machine that is off would.
    pub fn try_send(&mut self, frame: &[u8]) -> io::Result<()> {
        match self.connected()?.send(frame) {
            Err(e) if e.raw_os_error() == Some(libc::ECONNREFUSED) => {
                // The QEMU it was connected to exited; a new one may hold the path.
                self.tx = None;
                self.connected()?.send(frame).map(|_| ())
            }
            r => r.map(|_| ()),
        }
    }

    fn connected(&mut self) -> io::Result<&UnixDatagram> {
        if self.tx.is_none() {
            let s = UnixDatagram::unbound()?;
            s.set_nonblocking(true)?;
            s.connect(&self.remote)?;
            self.tx = Some(s);
        }
        Ok(self.tx.as_ref().expect("connected above"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn writable(fd: RawFd) -> bool {
        let mut p = [libc::pollfd {
            fd,
            events: libc::POLLOUT,
            revents: 0,
        }];
        // SAFETY: one valid pollfd, zero timeout.
        let n = unsafe { libc::poll(p.as_mut_ptr(), 1, 0) };
        n == 1 && p[0].revents & libc::POLLOUT != 0
    }

    #[test]
    fn a_full_qemu_queue_polls_not_writable_until_qemu_reads_and_a_restart_is_followed() {
        let dir = std::env::temp_dir().join(format!("pxelab-qport-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (mine, qemu) = (dir.join("switch"), dir.join("qemu"));
        let rx = UnixDatagram::bind(&mine).unwrap();
        rx.set_nonblocking(true).unwrap();
        let mut port = QemuPort::new(rx, qemu.clone());
        // No QEMU yet: the frame is lost, nothing to poll.
        assert!(port.try_send(b"early").is_err());
        assert_eq!(port.tx_fd(), None);
        let vm = UnixDatagram::bind(&qemu).unwrap();
        let mut sent = 0;
        while port.try_send(&[7u8; 1500]).is_ok() {
            sent += 1;
            assert!(sent < 10_000, "the receiver's queue never filled");
        }
        let fd = port.tx_fd().expect("connected");
        assert!(
            !writable(fd),
            "full receiver: the switch must sleep, not spin"
        );
        let mut buf = [0u8; 2000];
        assert_eq!(vm.recv(&mut buf).unwrap(), 1500);
        assert!(writable(fd), "room again after QEMU read one");
        // QEMU exits and the next boot's QEMU binds the same path.
        drop(vm);
        std::fs::remove_file(&qemu).unwrap();
        let vm = UnixDatagram::bind(&qemu).unwrap();
        port.try_send(b"next boot").unwrap();
        assert_eq!(vm.recv(&mut buf).unwrap(), 9);
        // And QEMU still reaches the switch's bound socket.
        vm.send_to(b"from qemu", &mine).unwrap();
        assert_eq!(port.recv(&mut buf).unwrap(), 9);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
