//! Network namespaces: moving one thread into a named one (`setns`, what
//! `ip netns exec` does for a whole process), so that the sockets and devices it opens
//! belong there for their whole life, whichever thread uses them later.

use std::io;
use std::os::fd::AsFd;

use rustix::thread::{move_into_link_name_space, LinkNameSpaceType};

/// Moves the calling thread (only) into network namespace `ns`, the one
/// `ip netns add NS` made (`/run/netns/NS`).
pub fn enter(ns: &str) -> io::Result<()> {
    let path = format!("/run/netns/{ns}");
    let f =
        std::fs::File::open(&path).map_err(|e| io::Error::new(e.kind(), format!("{path}: {e}")))?;
    move_into_link_name_space(f.as_fd(), Some(LinkNameSpaceType::Network))
        .map_err(|e| io::Error::new(io::Error::from(e).kind(), format!("setns {path}: {e}")))
}

/// Runs `f` on a new thread inside namespace `ns` and returns what it returns; the
/// calling thread stays where it is.
pub fn run_in<T: Send>(ns: &str, f: impl FnOnce() -> T + Send) -> io::Result<T> {
    std::thread::scope(|s| {
        s.spawn(|| enter(ns).map(|()| f()))
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// Gives the calling thread (only) a new, empty network namespace of its own, gone
/// when nothing uses it any more. Needs root.
pub fn unshare_thread() -> io::Result<()> {
    // SAFETY: unsharing only the network namespace of this thread changes which
    // network this thread's new sockets reach; no memory or file table is touched.
    unsafe { rustix::thread::unshare_unsafe(rustix::thread::UnshareFlags::NEWNET) }
        .map_err(io::Error::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_namespace_that_does_not_exist_is_an_error_naming_it() {
        let e = enter("pxl-no-such-ns").unwrap_err();
        assert!(e.to_string().contains("/run/netns/pxl-no-such-ns"), "{e}");
        assert!(run_in("pxl-no-such-ns", || ()).is_err());
    }
}
