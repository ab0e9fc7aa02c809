//! `pxelab bench tftp --mode lab`: real TFTP transfers between two network namespaces.
//!
//! - `pxelab-ID-bsrv` holds the server, `pxelab-ID-bcli` the client.
//! - Two links join them, both always up:
//!   - the lab's userspace segment switch (`pxelab lab switch`), which applies the
//!     simulator's link model (rate, one-way delay, seeded loss); a point's link is set
//!     through the switch's `link` command. Taps `pxIDs0p0` / `pxIDs0p1`, addresses
//!     10.201.0.1 (server) and 10.201.0.2 (client);
//!   - a plain veth pair with no emulation, for raw speed (`--rate veth`). Devices
//!     `pxIDsva` / `pxIDsvb`, addresses 10.202.0.1 and 10.202.0.2.
//!   - Both links also carry IPv6 (`--family 6`): fd00:201::1 / ::2 on the switch,
//!     fd00:202::1 / ::2 on the veth pair, added without duplicate address detection.
//! - Servers, each started on UDP 69 of the server namespace for its points and stopped
//!   after them: our responder (`pxelab serve`), atftpd, tftpd-hpa (`in.tftpd`) and
//!   dnsmasq. Clients: our own (`pxelab lab tftp-get`, the engine's TFTP client) and
//!   `atftp`.
//! - Both namespaces may hold 16 MiB of incomplete IP datagrams for 1 s (`reassembly`):
//!   with the kernel's 4 MiB, 8 KiB blocks at 2 % loss stalled the transfer.
//!
//! Everything lives under the run id like a lab run's: `pxelab lab clean` removes what a
//! killed bench left behind.

use crate::cgroups::CpuGroup;
use crate::procs::{self, in_ns, ip, Procs};
use crate::tftp_get::GetResult;
use crate::{namespaces, segment};
use pxelab_engine::tftp::server::FileSource;
use pxelab_sim::link::LinkModel;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::{ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

mod family;
mod programs;
pub mod reassembly;
mod server_log;
mod servers;
mod transfer;

pub use family::Family;
pub use programs::{find_program, missing, Client, Server, DNSMASQ_BASE, TOOLS_DIR};
pub use server_log::{parse_done_line, LogMark, ServerResends};
pub use servers::{proxy_responder_yaml, responder_yaml, ProxyServer, HTTP_PORT};
pub use transfer::{firmware_download_time, Link, Transfer};

pub const SWITCH_SERVER: &str = "10.201.0.1";
pub const VETH_SERVER: &str = "10.202.0.1";

pub struct BenchLab {
    pub id: String,
    pub dir: PathBuf,
    exe: PathBuf,
    procs: Procs,
    ns_srv: String,
    ns_cli: String,
    namespaces: Vec<String>,
    switch: Option<ChildStdin>,
    /// The switch's `tftp ...` lines about the firmware port, with when they came.
    switch_events: Arc<Mutex<Vec<String>>>,
    link: Option<LinkModel>,
    /// The running server's name.
    server: Option<&'static str>,
    /// The family the servers are started on and the transfers run over.
    family: Family,
    /// The running server's start (server, block cap, window cap, serve flags) and,
    /// over IPv6, the address our responder answers from (see `serve_from`).
    started: Option<(Server, u16, u16, Vec<String>)>,
    address6: &'static str,
    cpu_group: Option<CpuGroup>,
    torn_down: bool,
}

impl BenchLab {
    /// Builds the namespaces, the switch and the veth pair.
    pub fn start(exe: &Path) -> Result<BenchLab, String> {
        let id = namespaces::new_run_id();
        let dir = PathBuf::from(format!("/tmp/pxelab-lab-{id}"));
        let mut b = BenchLab {
            ns_srv: format!("pxelab-{id}-bsrv"),
            ns_cli: format!("pxelab-{id}-bcli"),
            procs: Procs::new(&dir),
            id,
            dir,
            exe: exe.to_path_buf(),
            namespaces: Vec::new(),
            switch: None,
            switch_events: Arc::new(Mutex::new(Vec::new())),
            link: None,
            server: None,
            family: Family::V4,
            started: None,
            address6: "fd00:201::1",
            cpu_group: None,
            torn_down: false,
        };
        b.build()?;
        Ok(b)
    }

    fn build(&mut self) -> Result<(), String> {
        std::fs::create_dir_all(self.dir.join("root"))
            .map_err(|e| format!("{}: {e}", self.dir.display()))?;
        std::fs::write(self.dir.join("owner"), format!("{}\n", std::process::id()))
            .map_err(|e| e.to_string())?;
        for ns in [self.ns_srv.clone(), self.ns_cli.clone()] {
            namespaces::add(&ns)?;
            self.namespaces.push(ns.clone());
            reassembly::size_for_loss(&ns)?;
        }
        // The switch: two tap ports.
        let taps = [format!("px{}s0p0", self.id), format!("px{}s0p1", self.id)];
        let spec = crate::switch::SwitchSpec {
            segment: "bench".into(),
            rate_bps: 1_000_000_000,
            delay_ns: 0,
            loss: 0.0,
            seed: 1,
            pcap: None,
            ports: vec![
                crate::switch::PortSpec {
                    host: "server".into(),
                    kind: crate::switch::PortKind::Tap(taps[0].clone()),
                    many_hosts: false,
                },
                crate::switch::PortSpec {
                    host: "client".into(),
                    kind: crate::switch::PortKind::Tap(taps[1].clone()),
                    many_hosts: false,
                },
                // The firmware clients' QEMU (started per transfer).
                crate::switch::PortSpec {
                    host: "firmware".into(),
                    kind: crate::switch::PortKind::Unix {
                        local: self.dir.join("fw.sw"),
                        remote: self.dir.join("fw.vm"),
                    },
                    many_hosts: false,
                },
            ],
        };
        let segment::Switch { stdin, stdout: out } = segment::start_switch(
            &self.exe,
            &mut self.procs,
            "switch",
            "the bench switch",
            &self.dir.join("switch.json"),
            &spec,
        )
        .map_err(|e| e.to_string())?;
        self.switch = Some(stdin);
        let events = self.switch_events.clone();
        std::thread::spawn(move || {
            for l in out.lines().map_while(Result::ok) {
                if let Some(e) = l.strip_prefix("tftp firmware ") {
                    events
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push(e.to_string());
                }
            }
        });
        for (tap, ns, addr) in [
            (&taps[0], &self.ns_srv, "10.201.0.1/24"),
            (&taps[1], &self.ns_cli, "10.201.0.2/24"),
        ] {
            segment::attach_tap(tap, ns, tap, None, Some(addr))?;
        }
        // IPv6 beside IPv4 on both links; nodad: usable at once, no duplicate to fear.
        for (dev, ns, addr) in [
            (&taps[0], &self.ns_srv, "fd00:201::1/64"),
            (&taps[1], &self.ns_cli, "fd00:201::2/64"),
        ] {
            add_ipv6(ns, dev, addr)?;
        }
        // The veth pair.
        let (va, vb) = (format!("px{}sva", self.id), format!("px{}svb", self.id));
        ip(&[
            "link",
            "add",
            &va,
            "netns",
            &self.ns_srv,
            "type",
            "veth",
            "peer",
            "name",
            &vb,
            "netns",
            &self.ns_cli,
        ])?;
        for (dev, ns, addr) in [
            (&va, &self.ns_srv, "10.202.0.1/24"),
            (&vb, &self.ns_cli, "10.202.0.2/24"),
        ] {
            in_ns(ns, &["ip", "addr", "add", addr, "dev", dev])?;
            in_ns(ns, &["ip", "link", "set", "dev", dev, "up"])?;
        }
        for (dev, ns, addr) in [
            (&va, &self.ns_srv, "fd00:202::1/64"),
            (&vb, &self.ns_cli, "fd00:202::2/64"),
        ] {
            add_ipv6(ns, dev, addr)?;
        }
        Ok(())
    }

    /// The family servers are started on and transfers run over from now on (a server
    /// already running keeps its own: start it again).
    pub fn set_family(&mut self, family: Family) {
        self.family = family;
    }

    pub fn family(&self) -> Family {
        self.family
    }

    /// The server's namespace (10.201.0.1 on the switch, 10.202.0.1 on the veth pair).
    pub fn server_ns(&self) -> &str {
        &self.ns_srv
    }

    /// The client's namespace (10.201.0.2 on the switch, 10.202.0.2 on the veth pair).
    pub fn client_ns(&self) -> &str {
        &self.ns_cli
    }

    /// The file of `size` bytes in the boot root (the simulator's synthetic content, so
    /// a CRC can be compared with the simulator's).
    pub fn file(&self, size: u64) -> Result<String, String> {
        let name = format!("bench-{size}.bin");
        let path = self.dir.join("root").join(&name);
        if !path.exists() {
            let content = pxelab_sim::content::Synthetic::new(&name, size);
            let mut f = std::io::BufWriter::new(
                std::fs::File::create(&path).map_err(|e| format!("{}: {e}", path.display()))?,
            );
            let mut off = 0u64;
            let mut buf = vec![0u8; 1 << 20];
            while off < size {
                let n = (size - off).min(buf.len() as u64) as usize;
                content.read_at(off, &mut buf[..n]);
                f.write_all(&buf[..n]).map_err(|e| e.to_string())?;
                off += n as u64;
            }
            f.flush().map_err(|e| e.to_string())?;
        }
        Ok(name)
    }

    /// Sets the switch's link model (no-op when unchanged).
    pub fn set_link(&mut self, link: LinkModel) -> Result<(), String> {
        if self.link == Some(link) {
            return Ok(());
        }
        let s = self
            .switch
            .as_mut()
            .ok_or("the bench switch is not running")?;
        writeln!(
            s,
            "link {} {} {}",
            link.rate_bps,
            link.delay.as_nanos(),
            link.loss
        )
        .and_then(|_| s.flush())
        .map_err(|e| format!("the bench switch: {e}"))?;
        self.link = Some(link);
        // The switch applies it to frames that arrive after the command.
        std::thread::sleep(Duration::from_millis(20));
        Ok(())
    }

    /// Stops every process, deletes the namespaces (the veth pair and the taps go with
    /// them and with the switch) and the run directory.
    pub fn teardown(&mut self) {
        if self.torn_down {
            return;
        }
        self.torn_down = true;
        self.switch = None;
        self.procs.stop_all(Duration::from_secs(2));
        if let Some(g) = self.cpu_group.take() {
            g.kill_members();
            g.remove();
        }
        for ns in self.namespaces.drain(..) {
            namespaces::kill_processes(&ns);
            let _ = namespaces::delete(&ns);
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// IPv6 on in namespace `ns` (a new namespace has it on unless the host turned it off
/// by default) and `addr` on `dev` without duplicate address detection.
fn add_ipv6(ns: &str, dev: &str, addr: &str) -> Result<(), String> {
    for key in ["all", "default", dev] {
        in_ns(
            ns,
            &[
                "sysctl",
                "-q",
                "-w",
                &format!("net.ipv6.conf.{key}.disable_ipv6=0"),
            ],
        )?;
    }
    in_ns(ns, &["ip", "-6", "addr", "add", addr, "dev", dev, "nodad"])?;
    Ok(())
}

impl Drop for BenchLab {
    fn drop(&mut self) {
        self.teardown();
    }
}
