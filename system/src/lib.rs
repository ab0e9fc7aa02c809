//! The operating-system plumbing that `pxelab serve` (the daemon) and the lab (the
//! harness) share, each piece written once: system calls and their `unsafe` live here,
//! the protocols and the lab's plans do not.
//!
//! - [`evloop`]: one thread's `ppoll` with signals that arrive only while it waits.
//! - [`tap`]: tap devices through `/dev/net/tun` and `TUNSETIFF`.
//! - [`packet`]: AF_PACKET sockets bound to one interface (or all).
//! - [`iface`]: interface names to indexes.
//! - [`netns`]: moving a thread into a named network namespace (`setns`).
//! - [`process`]: child processes prepared to die with their parent, signals by PID,
//!   the interrupt flag, whether we run as root.

pub mod evloop;
pub mod iface;
pub mod netns;
pub mod packet;
pub mod process;
pub mod tap;
