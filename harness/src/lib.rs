//! pxelab's lab: a scenario built as a real network. Network namespaces for the hosts
//! (responders, DHCP servers, routers), one userspace switch process per segment that
//! applies the scenario's link model, real DHCP servers and relays, `pxelab serve`
//! responders, and QEMU machines running real firmware. See docs/LAB.md.

pub mod bench;
pub mod bootroot;
pub mod cgroups;
pub mod config_error;
pub mod hostd;
pub mod hostd6;
pub mod judge;
pub mod lab;
pub mod namespaces;
pub mod prereq;
pub mod procs;
pub mod progress;
pub mod qemu;
pub mod ra;
pub mod segment;
pub mod servers;
pub mod servers6;
pub mod soak;
pub mod swarm;
pub mod switch;
pub mod tftp_get;
