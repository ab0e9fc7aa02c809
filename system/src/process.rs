//! Child processes and signals: children prepared to die with their parent and kept
//! out of the terminal's Ctrl-C, signals sent by PID, the interrupt flag that lets a
//! run tear down what it built, and whether we run as root.

use std::os::unix::process::CommandExt;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};

pub use rustix::process::Signal;

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_interrupt(_: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// SIGINT and SIGTERM set a flag the caller polls ([`interrupted`]) instead of killing
/// the process, so that it removes what it built.
pub fn install_interrupt_handler() {
    // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_interrupt as *const () as usize;
        libc::sigemptyset(&mut sa.sa_mask);
        libc::sigaction(libc::SIGINT, &sa, std::ptr::null_mut());
        libc::sigaction(libc::SIGTERM, &sa, std::ptr::null_mut());
    }
}

/// Whether SIGINT or SIGTERM arrived since [`install_interrupt_handler`].
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// A command prepared to run as a child of ours: its own process group (a terminal's
/// Ctrl-C reaches only us, and we stop it in order) and `PR_SET_PDEATHSIG`, so it dies
/// with us even when we are killed with SIGKILL.
pub fn prepare(cmd: &mut Command) -> &mut Command {
    cmd.process_group(0);
    // SAFETY: prctl is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    cmd
}

/// Sends `sig` to process `pid`; a process that is already gone is no error to us.
pub fn signal(pid: u32, sig: Signal) {
    if let Some(pid) = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    {
        let _ = rustix::process::kill_process(pid, sig);
    }
}

/// Sends `sig` to every process of group `pgid` (a child [`prepare`] made leads one).
pub fn signal_group(pgid: u32, sig: Signal) {
    if let Some(pid) = i32::try_from(pgid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    {
        let _ = rustix::process::kill_process_group(pid, sig);
    }
}

/// Whether we run with an effective user id of root.
pub fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signal_by_pid_stops_a_prepared_child_in_its_own_group() {
        let mut child = prepare(Command::new("sleep").arg("30")).spawn().unwrap();
        // Its own process group: the group id is its PID.
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", child.id())).unwrap();
        let pgrp: u32 = stat
            .rsplit(')')
            .next()
            .unwrap()
            .split_whitespace()
            .nth(2)
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(pgrp, child.id());
        signal(child.id(), Signal::TERM);
        let status = child.wait().unwrap();
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status.signal(), Some(libc::SIGTERM));
    }
}
