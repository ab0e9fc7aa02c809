//! Starting and stopping the server under test in the server namespace: `pxelab
//! serve`, atftpd, tftpd-hpa, dnsmasq (TFTP), and the proxy DHCP servers.

use super::transfer::run_limited;
use super::*;

impl BenchLab {
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
        if let Some(why) = self.family.refuses(server) {
            return Err(why);
        }
        self.started = Some((
            server,
            block_cap,
            window_cap,
            serve_flags.iter().map(|f| f.to_string()).collect(),
        ));
        let root = self.dir.join("root");
        let log = self.dir.join(format!("{}.log", server.name()));
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.ns_srv]);
        match server {
            Server::Pxelab | Server::PxelabHttp => {
                let yaml = self.dir.join("bench-responder.yaml");
                let mut text = responder_yaml(block_cap, window_cap, self.family, self.address6);
                if server == Server::PxelabHttp {
                    text = text.replace(
                        ", tftp: {",
                        &format!(", http: {{port: {HTTP_PORT}}}, tftp: {{"),
                    );
                }
                std::fs::write(&yaml, text).map_err(|e| e.to_string())?;
                self.serve_args(&mut cmd, &yaml, "state.db");
                cmd.args(serve_flags);
            }
            Server::Lighttpd => {
                let conf = self.dir.join("lighttpd.conf");
                std::fs::write(&conf, lighttpd_conf(&root, &self.dir))
                    .map_err(|e| format!("{}: {e}", conf.display()))?;
                cmd.arg(find_program("lighttpd").ok_or("lighttpd is not installed")?)
                    .arg("-D")
                    .arg("-f")
                    .arg(&conf);
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
        let listen = if server.is_http() {
            Listen::Tcp(HTTP_PORT)
        } else {
            Listen::Udp(69)
        };
        self.launch(server.name(), cmd, listen)
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
            // Warnings, and a line per finished transfer with its resends
            // (`server_log`).
            .env("RUST_LOG", "warn,pxelab::tftp_done=debug");
    }

    /// Starts a server's command (`ip netns exec` in the server namespace), puts it in
    /// a CPU accounting group, and waits until it listens on UDP `port`.
    fn launch(
        &mut self,
        name: &'static str,
        mut cmd: Command,
        listen: Listen,
    ) -> Result<(), String> {
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
        let (proto, port) = match listen {
            Listen::Udp(p) => ("udp", p),
            Listen::Tcp(p) => ("tcp", p),
        };
        let suffix = format!(":{port:04X}");
        let table = match self.family {
            Family::V4 => format!("/proc/net/{proto}"),
            Family::V6 => format!("/proc/net/{proto}6"),
        };
        loop {
            let socks = in_ns(&self.ns_srv, &["cat", &table]).unwrap_or_default();
            // local_address column: 00000000:0045 is 0.0.0.0:69; a TCP socket's state
            // (fourth column) 0A is LISTEN.
            if socks.lines().any(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                f.get(1).is_some_and(|a| a.ends_with(&suffix))
                    && (proto == "udp" || f.get(3) == Some(&"0A"))
            }) {
                return Ok(());
            }
            if self.procs.pid(&format!("server-{name}")).is_none() || Instant::now() > deadline {
                let err = std::fs::read_to_string(self.dir.join(format!("{name}.err")))
                    .unwrap_or_default();
                return Err(format!(
                    "the {name} server did not start listening on {} {port}: {}",
                    proto.to_uppercase(),
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
        self.launch(server.name(), cmd, Listen::Udp(67))
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

    /// Over IPv6 our responder answers TFTP from its `address6`, not from the address
    /// the request came to (`pxelab serve` sends with IPV6_PKTINFO set to it): a client
    /// that checks the answer's source, as ours and most do, ignores an answer from the
    /// switch address to a request sent over the veth pair. So it is started again
    /// with `address6` set to the server's address on the link a transfer uses.
    pub(super) fn serve_from(&mut self, address6: &'static str) -> Result<(), String> {
        if self.address6 == address6 {
            return Ok(());
        }
        self.address6 = address6;
        match self.started.clone() {
            Some((server @ Server::Pxelab, b, w, flags)) if self.family == Family::V6 => {
                let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
                self.start_server_with(server, b, w, &flags)
            }
            _ => Ok(()),
        }
    }

    pub fn stop_server(&mut self) {
        if let Some(s) = self.server.take() {
            self.procs.kill(&format!("server-{s}"));
        }
        self.started = None;
        if let Some(g) = self.cpu_group.take() {
            g.remove();
        }
    }
}

/// The port a server is ready on once it listens.
#[derive(Clone, Copy)]
enum Listen {
    Udp(u16),
    Tcp(u16),
}

/// The TCP port of the HTTP servers.
pub const HTTP_PORT: u16 = 80;

/// lighttpd's configuration for the bench: the boot root on port 80 of every IPv4 and
/// IPv6 address, no access log, sendfile on (its default, said for the reader).
fn lighttpd_conf(root: &Path, dir: &Path) -> String {
    format!(
        "server.document-root = \"{}\"\n\
         server.port = {HTTP_PORT}\n\
         $SERVER[\"socket\"] == \"[::]:{HTTP_PORT}\" {{ }}\n\
         server.errorlog = \"{}\"\n\
         server.pid-file = \"{}\"\n\
         server.network-backend = \"sendfile\"\n\
         mimetype.assign = (\"\" => \"application/octet-stream\")\n",
        root.display(),
        dir.join("lighttpd.log").display(),
        dir.join("lighttpd.pid").display()
    )
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
/// are the largest the matrix asks for; over IPv6 it also has `address6`, so that it
/// serves TFTP on [::]:69 (R-V6-5).
/// `address6` is the server's address on the link of the transfers (see
/// [`BenchLab::serve_from`]).
pub fn responder_yaml(block_cap: u16, window_cap: u16, family: Family, address6: &str) -> String {
    let (cidr6, address6) = match family {
        Family::V4 => (String::new(), String::new()),
        Family::V6 => (
            ", cidr6: \"fd00::/16\"".to_string(),
            format!(", address6: \"{address6}\""),
        ),
    };
    format!(
        "scenario: pxelab bench tftp's server (generated)\n\
         site:\n  code: PXB\n  boot_images: []\n\
         network:\n  segments:\n    - {{name: bench, cidr: 10.201.0.0/24{cidr6}}}\n\
         \x20 responders:\n    - {{name: bench, segment: bench, address: 10.201.0.1{address6}, role: distribution_point, images: [], listen_dhcp_port: false, tftp: {{block_size: {block_cap}, window_size: {window_cap}}}}}\n\
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
        std::fs::write(&f, responder_yaml(8192, 16, Family::V4, "fd00:201::1")).unwrap();
        let sc = pxelab_scenario::load_file(&f).unwrap();
        let r = &sc.network.responders[0];
        assert_eq!(r.config.tftp.block_size, 8192);
        assert_eq!(r.config.tftp.window_size, 16);
        assert_eq!(r.config.address6, None);
        std::fs::write(&f, responder_yaml(1432, 8, Family::V6, "fd00:202::1")).unwrap();
        let sc = pxelab_scenario::load_file(&f).unwrap();
        let r = &sc.network.responders[0];
        assert_eq!(r.config.address6, Some("fd00:202::1".parse().unwrap()));
        assert_eq!(r.config.tftp.block_size, 1432);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
