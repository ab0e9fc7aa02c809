//! A one-thread event loop's pieces: `ppoll` over descriptors with a precise timeout and
//! signals that are blocked except inside `ppoll`, so one that arrives between two
//! polls is never missed and never interrupts anything else. Used by `pxelab serve`
//! (its TFTP transfers go from socket to engine to socket without a thread or task
//! hop) and by the lab's switch and swarm.

use std::os::fd::RawFd;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Signals caught so far, one bit per signal number.
static CAUGHT: AtomicU64 = AtomicU64::new(0);

extern "C" fn on_signal(sig: libc::c_int) {
    if (0..64).contains(&sig) {
        CAUGHT.fetch_or(1 << sig, Ordering::SeqCst);
    }
}

/// The signal mask to hand to [`poll`]: the thread's mask without the caught signals.
pub struct Signals {
    unblocked: libc::sigset_t,
}

impl Signals {
    /// Catches `sigs` from now on: blocks them on this thread and installs a handler
    /// that only records them; [`poll`] unblocks them while it waits. Also sets this
    /// thread's timer slack to 1 ns, so a timeout wakes when it says.
    pub fn catch(sigs: &[libc::c_int]) -> Signals {
        // SAFETY: plain libc calls on this process's signal state and this thread's
        // timer slack; the handler only stores to an atomic.
        unsafe {
            libc::prctl(libc::PR_SET_TIMERSLACK, 1 as libc::c_ulong, 0, 0, 0);
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_signal as *const () as usize;
            libc::sigemptyset(&mut sa.sa_mask);
            let mut block: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut block);
            for &s in sigs {
                libc::sigaction(s, &sa, std::ptr::null_mut());
                libc::sigaddset(&mut block, s);
            }
            let mut old: libc::sigset_t = std::mem::zeroed();
            libc::pthread_sigmask(libc::SIG_BLOCK, &block, &mut old);
            for &s in sigs {
                libc::sigdelset(&mut old, s);
            }
            Signals { unblocked: old }
        }
    }

    /// Whether `sig` arrived since the last call; clears it.
    pub fn take(&self, sig: libc::c_int) -> bool {
        CAUGHT.fetch_and(!(1 << sig), Ordering::SeqCst) & (1 << sig) != 0
    }

    /// Whether `sig` arrived (without clearing it).
    pub fn caught(&self, sig: libc::c_int) -> bool {
        CAUGHT.load(Ordering::SeqCst) & (1 << sig) != 0
    }
}

/// Makes our standard input non-blocking (a process fed commands or frames on stdin
/// that polls it alongside its sockets).
pub fn stdin_nonblocking() -> std::io::Result<()> {
    let stdin = std::io::stdin();
    let flags = rustix::fs::fcntl_getfl(&stdin)?;
    rustix::fs::fcntl_setfl(&stdin, flags | rustix::fs::OFlags::NONBLOCK)?;
    Ok(())
}

/// Reads what standard input holds, unbuffered (what the poll saw is what is read;
/// `std::io::Stdin` would keep some in its buffer). 0: end of input.
pub fn read_stdin(buf: &mut [u8]) -> std::io::Result<usize> {
    Ok(rustix::io::read(std::io::stdin(), buf)?)
}

/// A `pollfd` waiting for input on `fd`.
pub fn readable(fd: RawFd) -> libc::pollfd {
    libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    }
}

/// Waits until one of `fds` is ready, `timeout` passes (`None`: no timeout) or a caught
/// signal arrives. Returns the number of ready descriptors (0 on timeout or signal).
pub fn poll(
    fds: &mut [libc::pollfd],
    timeout: Option<Duration>,
    signals: &Signals,
) -> std::io::Result<usize> {
    let ts = timeout.map(|d| libc::timespec {
        tv_sec: d.as_secs().min(i32::MAX as u64) as libc::time_t,
        tv_nsec: d.subsec_nanos() as libc::c_long,
    });
    // SAFETY: fds is a valid array of pollfd; the timespec and the mask outlive the call.
    let n = unsafe {
        libc::ppoll(
            fds.as_mut_ptr(),
            fds.len() as libc::nfds_t,
            ts.as_ref()
                .map_or(std::ptr::null(), |t| t as *const libc::timespec),
            &signals.unblocked,
        )
    };
    if n < 0 {
        let e = std::io::Error::last_os_error();
        if e.kind() == std::io::ErrorKind::Interrupted {
            return Ok(0);
        }
        return Err(e);
    }
    Ok(n as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signal_raised_while_blocked_is_seen_by_the_next_poll() {
        let signals = Signals::catch(&[libc::SIGUSR2]);
        // SAFETY: raising a signal this thread catches.
        unsafe { libc::raise(libc::SIGUSR2) };
        assert!(!signals.caught(libc::SIGUSR2), "blocked until the poll");
        let mut fds = [];
        let t = std::time::Instant::now();
        let n = poll(&mut fds, Some(Duration::from_secs(5)), &signals).unwrap();
        assert_eq!(n, 0);
        assert!(
            t.elapsed() < Duration::from_secs(4),
            "the signal ended the wait"
        );
        assert!(signals.take(libc::SIGUSR2));
        assert!(!signals.take(libc::SIGUSR2), "taken once");
    }

    #[test]
    fn poll_reports_a_readable_socket_and_times_out_without_one() {
        let signals = Signals::catch(&[]);
        let a = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        use std::os::fd::AsRawFd;
        let mut fds = [readable(a.as_raw_fd())];
        let n = poll(&mut fds, Some(Duration::from_millis(20)), &signals).unwrap();
        assert_eq!(n, 0);
        a.send_to(b"x", a.local_addr().unwrap()).unwrap();
        let n = poll(&mut fds, Some(Duration::from_secs(5)), &signals).unwrap();
        assert_eq!(n, 1);
        assert_ne!(fds[0].revents & libc::POLLIN, 0);
    }
}
