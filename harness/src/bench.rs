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
//! - Servers, each started on UDP 69 of the server namespace for its points and stopped
//!   after them: our responder (`pxelab serve`), atftpd, tftpd-hpa (`in.tftpd`) and
//!   dnsmasq. Clients: our own (`pxelab lab tftp-get`, the engine's TFTP client) and
//!   `atftp`.
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

pub const SWITCH_SERVER: &str = "10.201.0.1";
pub const VETH_SERVER: &str = "10.202.0.1";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Server {
    Pxelab,
    Atftpd,
    TftpdHpa,
    Dnsmasq,
}

impl Server {
    pub const ALL: [Server; 4] = [
        Server::Pxelab,
        Server::Atftpd,
        Server::TftpdHpa,
        Server::Dnsmasq,
    ];
    pub fn name(self) -> &'static str {
        match self {
            Server::Pxelab => "pxelab",
            Server::Atftpd => "atftpd",
            Server::TftpdHpa => "tftpd-hpa",
            Server::Dnsmasq => "dnsmasq",
        }
    }
    pub fn parse(s: &str) -> Result<Server, String> {
        Server::ALL
            .into_iter()
            .find(|v| v.name() == s)
            .ok_or_else(|| {
                format!("unknown server `{s}`; the servers are pxelab, atftpd, tftpd-hpa, dnsmasq")
            })
    }
    /// The program and the Debian package it comes from.
    pub fn program(self) -> Option<(&'static str, &'static str)> {
        match self {
            Server::Pxelab => None,
            Server::Atftpd => Some(("atftpd", "atftpd")),
            Server::TftpdHpa => Some(("in.tftpd", "tftpd-hpa")),
            Server::Dnsmasq => Some(("dnsmasq", "dnsmasq-base")),
        }
    }
    /// The RFC 7440 window size option: which servers grant it.
    pub fn speaks_windowsize(self) -> bool {
        matches!(self, Server::Pxelab | Server::Atftpd)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Client {
    Pxelab,
    Atftp,
    /// OVMF (x64) itself, under QEMU TCG on the switch: its PXE download of the file
    /// as a boot program, with its own options (blksize 1468, windowsize 4, tsize).
    Ovmf,
    /// iPXE (SeaBIOS, the e1000 option ROM) itself: blksize 1432, tsize.
    Ipxe,
}

impl Client {
    pub const ALL: [Client; 4] = [Client::Pxelab, Client::Atftp, Client::Ovmf, Client::Ipxe];
    pub fn name(self) -> &'static str {
        match self {
            Client::Pxelab => "pxelab",
            Client::Atftp => "atftp",
            Client::Ovmf => "ovmf",
            Client::Ipxe => "ipxe",
        }
    }
    pub fn parse(s: &str) -> Result<Client, String> {
        Client::ALL
            .into_iter()
            .find(|v| v.name() == s)
            .ok_or_else(|| {
                format!("unknown client `{s}`; the clients are pxelab, atftp, ovmf, ipxe")
            })
    }
    /// A firmware client asks for its own block and window size whatever the matrix
    /// says: the one point it measures.
    pub fn fixed_point(self) -> Option<(u16, u16)> {
        match self {
            Client::Ovmf => Some((1468, 4)),
            Client::Ipxe => Some((1432, 1)),
            _ => None,
        }
    }
    fn firmware(self) -> Option<pxelab_scenario::Firmware> {
        match self {
            Client::Ovmf => Some(pxelab_scenario::Firmware::UefiX64),
            Client::Ipxe => Some(pxelab_scenario::Firmware::BiosX64),
            _ => None,
        }
    }
}

/// Where atftpd and tftpd-hpa are unpacked when they are not installed: Debian's two
/// packages conflict (both are `tftpd`), so `scripts/tftp-servers.sh` unpacks their
/// .debs (`apt-get download`, `dpkg-deb -x`) here instead of installing them.
pub const TOOLS_DIR: &str = "/var/cache/pxelab/tools";

/// dnsmasq's flags for every instance the benches and tests start: in the foreground,
/// no configuration file, no DNS, as root.
pub const DNSMASQ_BASE: [&str; 5] = [
    "--keep-in-foreground",
    "--conf-file=/dev/null",
    "--port=0",
    "--user=root",
    "--group=root",
];

/// A program on PATH, in /usr/sbin or /sbin, or unpacked under [`TOOLS_DIR`].
pub fn find_program(name: &str) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    dirs.extend(["/usr/sbin", "/sbin", "/usr/bin"].iter().map(PathBuf::from));
    let tools = std::env::var_os("PXELAB_TOOLS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(TOOLS_DIR));
    dirs.push(tools.join("usr/sbin"));
    dirs.push(tools.join("usr/bin"));
    dirs.into_iter().map(|d| d.join(name)).find(|p| p.is_file())
}

/// What the lab bench lacks for these servers and clients: one line each, naming the
/// Debian package.
pub fn missing(servers: &[Server], clients: &[Client]) -> Vec<String> {
    let mut out = Vec::new();
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        out.push("root (network namespaces and tap devices): run with sudo".to_string());
    }
    if find_program("ip").is_none() {
        out.push("`ip`: apt-get install iproute2".into());
    }
    for s in servers {
        if let Some((prog, pkg)) = s.program() {
            if find_program(prog).is_none() {
                let how = match s {
                    Server::Atftpd | Server::TftpdHpa => format!(
                        "scripts/tftp-servers.sh (unpacks Debian's {pkg}; atftpd and tftpd-hpa conflict as packages)"
                    ),
                    _ => format!("apt-get install {pkg}"),
                };
                out.push(format!("`{prog}` ({} server): {how}", s.name()));
            }
        }
    }
    if clients.contains(&Client::Atftp) && find_program("atftp").is_none() {
        out.push("`atftp` (atftp client): apt-get install atftp".into());
    }
    for c in clients {
        if let Some(f) = c.firmware() {
            for (what, pkg) in crate::qemu::needs(f) {
                let present = if what.starts_with('/') {
                    Path::new(what).exists()
                } else {
                    find_program(what).is_some()
                };
                if !present {
                    out.push(format!(
                        "`{what}` ({} client): apt-get install {pkg}",
                        c.name()
                    ));
                }
            }
        }
    }
    if clients.iter().any(|c| c.firmware().is_some()) && find_program("dnsmasq").is_none() {
        out.push(
            "`dnsmasq` (the firmware clients' DHCP server): apt-get install dnsmasq-base".into(),
        );
    }
    out
}

/// One transfer of the bench.
#[derive(Clone, Copy, Debug)]
pub struct Transfer<'a> {
    pub client: Client,
    pub link: Link,
    pub file: &'a str,
    pub size: u64,
    pub block: u16,
    pub window: u16,
    /// Killed after this long.
    pub limit: Duration,
}

/// The bench's link for a point.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Link {
    /// Through the userspace switch with this model.
    Emulated(LinkModel),
    /// The plain veth pair.
    Veth,
}

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
            self.namespaces.push(ns);
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
            segment::attach_tap(tap, ns, tap, None, addr)?;
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
        Ok(())
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

    /// Starts `server` on UDP 69 of the server namespace (stopping the one before) and
    /// waits until it listens. `block_cap` / `window_cap` are our responder's caps.
    pub fn start_server(
        &mut self,
        server: Server,
        block_cap: u16,
        window_cap: u16,
    ) -> Result<(), String> {
        self.start_server_with(server, block_cap, window_cap, &[])
    }

    /// As [`BenchLab::start_server`], with `serve_flags` added to `pxelab serve`'s
    /// command line (ignored for the other servers). Its log (stderr) is
    /// `DIR/pxelab.err`.
    pub fn start_server_with(
        &mut self,
        server: Server,
        block_cap: u16,
        window_cap: u16,
        serve_flags: &[&str],
    ) -> Result<(), String> {
        self.stop_server();
        let root = self.dir.join("root");
        let log = self.dir.join(format!("{}.log", server.name()));
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.ns_srv]);
        match server {
            Server::Pxelab => {
                let yaml = self.dir.join("bench-responder.yaml");
                std::fs::write(&yaml, responder_yaml(block_cap, window_cap))
                    .map_err(|e| e.to_string())?;
                self.serve_args(&mut cmd, &yaml, "state.db");
                cmd.args(serve_flags);
            }
            Server::Atftpd => {
                cmd.arg(find_program("atftpd").ok_or("atftpd is not installed")?)
                    .args([
                        "--daemon",
                        "--no-fork",
                        "--port",
                        "69",
                        "--user",
                        "root",
                        "--group",
                        "root",
                        "--no-multicast",
                        "--logfile",
                    ])
                    .arg(&log)
                    .arg(&root);
            }
            Server::TftpdHpa => {
                cmd.arg(find_program("in.tftpd").ok_or("in.tftpd (tftpd-hpa) is not installed")?)
                    .args([
                        "--foreground",
                        "--listen",
                        "--address",
                        "0.0.0.0:69",
                        "--user",
                        "root",
                        "--secure",
                    ])
                    .arg(&root);
            }
            Server::Dnsmasq => {
                cmd.arg(find_program("dnsmasq").ok_or("dnsmasq is not installed")?)
                    .args(["--enable-tftp"])
                    .args(DNSMASQ_BASE)
                    .arg(format!("--tftp-root={}", root.display()))
                    .arg(format!(
                        "--pid-file={}",
                        self.dir.join("dnsmasq.pid").display()
                    ))
                    .arg(format!("--log-facility={}", log.display()));
            }
        }
        self.launch(server.name(), cmd, 69)
    }

    /// `pxelab serve` as the responder `bench` of `yaml`, on the run's boot root, with
    /// its state database `state` in the run directory (quiet: warnings only).
    fn serve_args(&self, cmd: &mut Command, yaml: &Path, state: &str) {
        cmd.arg(&self.exe)
            .args(["serve", "--responder", "bench", "--scenario"])
            .arg(yaml)
            .arg("--root")
            .arg(self.dir.join("root"))
            .arg("--state")
            .arg(self.dir.join(state))
            .env("RUST_LOG", "warn");
    }

    /// Starts a server's command (`ip netns exec` in the server namespace), puts it in
    /// a CPU accounting group, and waits until it listens on UDP `port`.
    fn launch(&mut self, name: &'static str, mut cmd: Command, port: u16) -> Result<(), String> {
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(
                std::fs::File::create(self.dir.join(format!("{name}.err")))
                    .map_err(|e| e.to_string())?,
            ));
        self.procs.spawn(&format!("server-{name}"), &mut cmd)?;
        self.server = Some(name);
        // Before the server's first request, so every child it forks is counted too.
        if let Some(g) = self.cpu_group.take() {
            g.remove();
        }
        self.cpu_group = CpuGroup::create(&format!("pxelab-{}-{name}", self.id)).filter(|g| {
            self.procs
                .pid(&format!("server-{name}"))
                .is_some_and(|pid| g.add(pid))
        });
        let deadline = Instant::now() + Duration::from_secs(10);
        let suffix = format!(":{port:04X}");
        loop {
            let udp = in_ns(&self.ns_srv, &["cat", "/proc/net/udp"]).unwrap_or_default();
            // local_address column: 00000000:0045 is 0.0.0.0:69.
            if udp.lines().any(|l| {
                l.split_whitespace()
                    .nth(1)
                    .is_some_and(|a| a.ends_with(&suffix))
            }) {
                return Ok(());
            }
            if self.procs.pid(&format!("server-{name}")).is_none() || Instant::now() > deadline {
                let err = std::fs::read_to_string(self.dir.join(format!("{name}.err")))
                    .unwrap_or_default();
                return Err(format!(
                    "the {name} server did not start listening on UDP {port}: {}",
                    err.lines().last().unwrap_or("(no output)")
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Runs Kea's perfdhcp in the client namespace against the server's veth address
    /// (10.202.0.1): DISCOVER-OFFER only (`-i`), `rate` exchanges a second from
    /// `clients` MACs for `seconds`, with PXE options (`options`: `code,hex` each), as a
    /// relay would send them (perfdhcp sets giaddr; the server answers it on port 67).
    /// Returns perfdhcp's report with the timestamps of every exchange (`-x t`).
    pub fn perfdhcp(
        &mut self,
        rate: u32,
        clients: u32,
        seconds: u32,
        options: &[String],
    ) -> Result<String, String> {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.ns_cli])
            .arg(find_program("perfdhcp").ok_or("perfdhcp (kea-admin) is not installed")?)
            .args(["-4", "-i", "-x", "t", "-l", "10.202.0.2"])
            .arg(format!("-r{rate}"))
            .arg(format!("-R{clients}"))
            .arg(format!("-p{seconds}"));
        for o in options {
            cmd.arg(format!("-o{o}"));
        }
        cmd.arg("10.202.0.1");
        run_limited(&mut cmd, Duration::from_secs(u64::from(seconds) + 30))?
            .ok_or_else(|| "perfdhcp did not finish in time".to_string())
    }

    /// Starts a proxy DHCP server on the veth side of the server namespace (10.202.0.1),
    /// for `pxelab bench dhcp`: `pxelab serve` with a site whose unknown x64 computers
    /// have a required deployment, or dnsmasq in proxy mode (`dhcp-range=...,proxy`,
    /// a `pxe-service` per client architecture).
    pub fn start_proxy(&mut self, server: ProxyServer) -> Result<(), String> {
        self.stop_server();
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.ns_srv]);
        match server {
            ProxyServer::Pxelab => {
                let yaml = self.dir.join("proxy-responder.yaml");
                std::fs::write(&yaml, proxy_responder_yaml()).map_err(|e| e.to_string())?;
                self.serve_args(&mut cmd, &yaml, "proxy-state.db");
            }
            ProxyServer::Dnsmasq => {
                cmd.arg(find_program("dnsmasq").ok_or("dnsmasq is not installed")?)
                    .args(DNSMASQ_BASE)
                    .args([
                        "--dhcp-range=10.202.0.0,proxy,255.255.255.0",
                        "--pxe-service=x86-64_EFI,pxelab,smsboot/x64/bootmgfw.efi",
                        "--pxe-service=x86PC,pxelab,smsboot/x86/wdsnbp.com",
                        "--log-facility=/dev/null",
                    ])
                    .arg(format!("--interface=px{}sva", self.id))
                    .arg(format!(
                        "--pid-file={}",
                        self.dir.join("dnsmasq-proxy.pid").display()
                    ));
            }
        }
        self.launch(server.name(), cmd, 67)
    }

    /// CPU time (user + system) the running server has used so far: its cgroup's (see
    /// [`CpuGroup`]), or without cgroup v2 its process's with that of the children it
    /// has reaped.
    pub fn server_cpu(&mut self) -> Option<Duration> {
        let s = self.server?;
        if let Some(g) = &self.cpu_group {
            return g.usage();
        }
        let pid = self.procs.pid(&format!("server-{s}"))?;
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // Fields after the command name (which is in parentheses): utime, stime,
        // cutime and cstime are the 14th to 17th fields of the line.
        let rest = &stat[stat.rfind(')')? + 2..];
        let f: Vec<&str> = rest.split_whitespace().collect();
        let ticks: u64 = (11..15)
            .map(|i| f.get(i).and_then(|v| v.parse::<u64>().ok()))
            .sum::<Option<u64>>()?;
        // SAFETY: sysconf has no preconditions.
        let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
        Some(Duration::from_nanos(ticks * 1_000_000_000 / hz))
    }

    pub fn stop_server(&mut self) {
        if let Some(s) = self.server.take() {
            self.procs.kill(&format!("server-{s}"));
        }
        if let Some(g) = self.cpu_group.take() {
            g.remove();
        }
    }

    /// One transfer, killed after its time limit.
    pub fn transfer(&mut self, t: &Transfer) -> Result<GetResult, String> {
        let Transfer {
            client,
            link,
            file,
            size,
            block,
            window,
            limit,
        } = *t;
        let server_ip = match link {
            Link::Emulated(m) => {
                self.set_link(m)?;
                SWITCH_SERVER
            }
            Link::Veth => VETH_SERVER,
        };
        match client {
            Client::Ovmf | Client::Ipxe => match link {
                Link::Veth => Err(format!(
                    "{} boots on the switch; it has no veth point",
                    client.name()
                )),
                Link::Emulated(_) => self.firmware_transfer(client, file, size, limit),
            },
            Client::Pxelab => {
                let mut cmd = Command::new("ip");
                cmd.args(["netns", "exec", &self.ns_cli])
                    .arg(&self.exe)
                    .args(["lab", "tftp-get", "--server", server_ip, "--file", file])
                    .args(["--block-size", &block.to_string()])
                    .args(["--window-size", &window.to_string()]);
                let out = run_limited(&mut cmd, limit)?;
                match out {
                    None => Ok(timed_out(limit)),
                    Some(text) => {
                        let line = text.lines().last().unwrap_or("");
                        let mut r: GetResult = serde_json::from_str(line)
                            .map_err(|e| format!("pxelab lab tftp-get printed `{line}`: {e}"))?;
                        if r.error.is_none() && r.bytes != size {
                            r.error = Some(format!("received {} of {size} bytes", r.bytes));
                            r.seconds = None;
                        }
                        Ok(r)
                    }
                }
            }
            Client::Atftp => {
                let local = self.dir.join("atftp.out");
                let _ = std::fs::remove_file(&local);
                let mut cmd = Command::new("ip");
                cmd.args(["netns", "exec", &self.ns_cli])
                    .arg(find_program("atftp").ok_or("atftp is not installed")?)
                    .args(["--option", &format!("blksize {block}")])
                    .args(["--option", &format!("windowsize {window}")])
                    .args(["--option", "tsize 0", "-g", "-r", file, "-l"])
                    .arg(&local)
                    .arg(server_ip);
                let t0 = Instant::now();
                let out = run_limited(&mut cmd, limit)?;
                let secs = t0.elapsed().as_secs_f64();
                let got = std::fs::metadata(&local).map(|m| m.len()).unwrap_or(0);
                let _ = std::fs::remove_file(&local);
                match out {
                    None => Ok(timed_out(limit)),
                    Some(_) if got == size => Ok(GetResult {
                        seconds: Some(secs),
                        bytes: got,
                        crc32: None,
                        block_size: 0,
                        window_size: 0,
                        timeouts: 0,
                        error: None,
                    }),
                    Some(_) => Ok(GetResult {
                        seconds: None,
                        bytes: got,
                        crc32: None,
                        block_size: 0,
                        window_size: 0,
                        timeouts: 0,
                        error: Some(format!("atftp received {got} of {size} bytes")),
                    }),
                }
            }
        }
    }

    /// A firmware client downloads `file` as its boot program: dnsmasq in the client
    /// namespace answers its DHCP with the file and the server's address, QEMU boots
    /// the firmware on the switch's firmware port, and the switch reports the read
    /// request and the DATA lengths it forwards; the time runs from the first read
    /// request to the short last DATA (the firmware's tsize probe included, as it is
    /// part of how it downloads). QEMU and dnsmasq are stopped after each transfer.
    fn firmware_transfer(
        &mut self,
        client: Client,
        file: &str,
        size: u64,
        limit: Duration,
    ) -> Result<GetResult, String> {
        let firmware = client.firmware().expect("a firmware client");
        let vm = self.dir.join("fw-vm");
        let _ = std::fs::remove_dir_all(&vm);
        std::fs::create_dir_all(&vm).map_err(|e| e.to_string())?;
        let mut dhcp = Command::new("ip");
        dhcp.args(["netns", "exec", &self.ns_cli])
            .arg(find_program("dnsmasq").ok_or("dnsmasq is not installed")?)
            .args(DNSMASQ_BASE)
            .args([
                "--bind-interfaces",
                "--dhcp-range=10.201.0.100,10.201.0.200,255.255.255.0",
                "--log-facility=/dev/null",
            ])
            .arg(format!("--interface=px{}s0p1", self.id))
            .arg(format!("--dhcp-boot={file},,{SWITCH_SERVER}"))
            .arg(format!("--dhcp-leasefile={}", vm.join("leases").display()))
            .arg(format!("--pid-file={}", vm.join("dnsmasq.pid").display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let child = procs::prepare(&mut dhcp)
            .spawn()
            .map_err(|e| format!("cannot start dnsmasq for the firmware: {e}"))?;
        self.procs.add("fw-dhcp", child);
        self.switch_events
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
        let switch_sock = self.dir.join("fw.sw");
        let qemu_sock = self.dir.join("fw.vm");
        let _ = std::fs::remove_file(&qemu_sock);
        let m = crate::qemu::ClientMachine {
            firmware,
            mac: "52:54:00:fb:00:01".into(),
            uuid: None,
            memory_mib: 512 + size.div_ceil(1 << 20),
            switch_sock: &switch_sock,
            qemu_sock: &qemu_sock,
            dir: &vm,
            netboot: pxelab_scenario::Netboot::Pxe4,
        };
        let mut cmd = crate::qemu::command(&m)?;
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let child = procs::prepare(&mut cmd)
            .spawn()
            .map_err(|e| format!("cannot start QEMU for {}: {e}", client.name()))?;
        self.procs.add("fw-qemu", child);
        // The firmware's POST under TCG comes first: the limit counts from its request.
        let deadline = Instant::now() + limit + Duration::from_secs(90);
        let mut result = None;
        while Instant::now() < deadline && result.is_none() {
            if procs::interrupted() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
            let ev = self
                .switch_events
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone();
            result = firmware_download_time(&ev, size);
        }
        self.procs.kill("fw-qemu");
        self.procs.kill("fw-dhcp");
        let _ = std::fs::remove_dir_all(&vm);
        Ok(match result {
            Some((secs, block)) => GetResult {
                seconds: Some(secs),
                bytes: size,
                crc32: None,
                block_size: block,
                window_size: 0,
                timeouts: 0,
                error: None,
            },
            None => failed(format!(
                "{} did not download the file within {:.0} s",
                client.name(),
                limit.as_secs_f64() + 90.0
            )),
        })
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

impl Drop for BenchLab {
    fn drop(&mut self) {
        self.teardown();
    }
}

/// From the switch's `rrq T` / `data BLOCK LEN T` lines about the firmware port: the
/// seconds from the first read request to the DATA that ends a transfer of `size`
/// bytes (its block number and length say so), and the block size it used.
pub fn firmware_download_time(events: &[String], size: u64) -> Option<(f64, usize)> {
    let mut first_rrq: Option<u64> = None;
    let mut block_len: Option<usize> = None;
    for e in events {
        let f: Vec<&str> = e.split_whitespace().collect();
        match f.as_slice() {
            ["rrq", t] => {
                let t: u64 = t.parse().ok()?;
                first_rrq.get_or_insert(t);
                block_len = None;
            }
            ["data", block, len, t] => {
                let (block, len, t): (u16, usize, u64) =
                    (block.parse().ok()?, len.parse().ok()?, t.parse().ok()?);
                let data = len.saturating_sub(4);
                match block_len {
                    None if block == 1 => block_len = Some(data),
                    Some(b) if b > 0 => {
                        let last = (size / b as u64 + 1) as u16;
                        if block == last && (data as u64) == size % b as u64 {
                            let start = first_rrq?;
                            return Some((t.saturating_sub(start) as f64 / 1e9, b));
                        }
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }
    None
}

/// A transfer that gave no result, and why.
fn failed(error: String) -> GetResult {
    GetResult {
        seconds: None,
        bytes: 0,
        crc32: None,
        block_size: 0,
        window_size: 0,
        timeouts: 0,
        error: Some(error),
    }
}

fn timed_out(limit: Duration) -> GetResult {
    failed(format!("no result within {} s", limit.as_secs()))
}

/// Runs a command, its stdout captured; `None` when it ran past `limit` (it is killed)
/// or the run was interrupted.
fn run_limited(cmd: &mut Command, limit: Duration) -> Result<Option<String>, String> {
    let mut child = procs::prepare(cmd.stdout(Stdio::piped()).stderr(Stdio::piped()))
        .spawn()
        .map_err(|e| format!("cannot run {:?}: {e}", cmd.get_program()))?;
    let mut stdout = child.stdout.take().expect("piped");
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut stdout, &mut s);
        s
    });
    let deadline = Instant::now() + limit;
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if Instant::now() >= deadline || procs::interrupted() => {
                // SAFETY: the process group of our own child (prepare() made it).
                unsafe {
                    libc::kill(-(child.id() as libc::pid_t), libc::SIGKILL);
                }
                let _ = child.wait();
                return Ok(None);
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(2)),
            Err(e) => return Err(e.to_string()),
        }
    }
    Ok(Some(reader.join().unwrap_or_default()))
}

/// The proxy DHCP servers `pxelab bench dhcp` compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProxyServer {
    Pxelab,
    Dnsmasq,
}

impl ProxyServer {
    pub const ALL: [ProxyServer; 2] = [ProxyServer::Pxelab, ProxyServer::Dnsmasq];
    pub fn name(self) -> &'static str {
        match self {
            ProxyServer::Pxelab => "pxelab",
            ProxyServer::Dnsmasq => "dnsmasq",
        }
    }
    pub fn parse(s: &str) -> Result<ProxyServer, String> {
        ProxyServer::ALL
            .into_iter()
            .find(|v| v.name() == s)
            .ok_or_else(|| {
                format!("unknown proxy DHCP server `{s}`; the servers are pxelab, dnsmasq")
            })
    }
}

/// `pxelab serve`'s configuration for the proxy DHCP bench: on the veth side, a site
/// whose unknown x64 and x86 computers have a required deployment, so that every
/// DISCOVER from a new MAC goes through the whole selection (R-ID, R-SEL) and gets an
/// offer.
pub fn proxy_responder_yaml() -> String {
    "scenario: pxelab bench dhcp's responder (generated)\n\
     site:\n  code: PXB\n  boot_images:\n    - {id: PXB00001, arch: x64, size: 1MiB}\n    - {id: PXB00002, arch: x86, size: 1MiB}\n\
     \x20 deployments:\n    - {id: PXB20001, collection: x64 Unknown Computer, boot_image: PXB00001, purpose: required, available_to: media_pxe}\n    - {id: PXB20002, collection: x86 Unknown Computer, boot_image: PXB00002, purpose: required, available_to: media_pxe}\n\
     network:\n  segments:\n    - {name: bench, cidr: 10.202.0.0/24}\n\
     \x20 responders:\n    - {name: bench, segment: bench, address: 10.202.0.1, role: distribution_point, images: [PXB00001, PXB00002], unknown_computer_support: true}\n\
     events: []\nexpect: []\n"
        .to_string()
}

/// The scenario file `pxelab serve` reads for the bench: one responder whose TFTP caps
/// are the largest the matrix asks for.
pub fn responder_yaml(block_cap: u16, window_cap: u16) -> String {
    format!(
        "scenario: pxelab bench tftp's server (generated)\n\
         site:\n  code: PXB\n  boot_images: []\n\
         network:\n  segments:\n    - {{name: bench, cidr: 10.201.0.0/24}}\n\
         \x20 responders:\n    - {{name: bench, segment: bench, address: 10.201.0.1, role: distribution_point, images: [], listen_dhcp_port: false, tftp: {{block_size: {block_cap}, window_size: {window_cap}}}}}\n\
         events: []\nexpect: []\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_generated_responder_file_loads_with_its_caps() {
        let dir = std::env::temp_dir().join(format!("pxelab-bench-yaml-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("b.yaml");
        std::fs::write(&f, responder_yaml(8192, 16)).unwrap();
        let sc = pxelab_scenario::load_file(&f).unwrap();
        let r = &sc.network.responders[0];
        assert_eq!(r.config.tftp.block_size, 8192);
        assert_eq!(r.config.tftp.window_size, 16);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn servers_and_clients_parse_by_name_and_refuse_others() {
        assert_eq!(Server::parse("tftpd-hpa"), Ok(Server::TftpdHpa));
        assert!(Server::parse("tftpd")
            .unwrap_err()
            .contains("pxelab, atftpd"));
        assert_eq!(Client::parse("atftp"), Ok(Client::Atftp));
        assert!(Client::parse("curl").is_err());
        assert!(Server::Atftpd.speaks_windowsize() && !Server::Dnsmasq.speaks_windowsize());
    }
}
