//! A lab's host processes: DHCP servers (built-in, dnsmasq, Kea), relays (built-in,
//! dhcrelay) and `pxelab serve` responders started in their namespaces with their logs
//! collected; hosts taken down (a crash), armed to crash mid-transfer, started again.

use super::LabError;
use super::{Host, Lab};
use crate::config_error::ConfigError;
use crate::judge::serve_message;
use crate::procs::{self, in_ns};
use pxelab_scenario::DhcpEngine;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};

impl Lab<'_> {
    pub(super) fn spawn_logged(
        &mut self,
        what: &str,
        source: &str,
        mut cmd: Command,
    ) -> Result<(), LabError> {
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        cmd.env("NO_COLOR", "1");
        let child = procs::prepare(&mut cmd)
            .spawn()
            .map_err(|source| LabError::Start {
                what: what.to_string(),
                source,
            })?;
        let mut child = child;
        let stderr = child.stderr.take().expect("piped");
        self.procs.add(what, child);
        let logs = self.logs.clone();
        let t0 = self.t0;
        let source = source.to_string();
        let file = self.dir.join(format!("{what}.log"));
        std::thread::spawn(move || {
            let mut f = std::fs::File::create(file).ok();
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(f) = f.as_mut() {
                    let _ = writeln!(f, "{line}");
                }
                let t = t0.elapsed().as_secs_f64();
                logs.lock().unwrap_or_else(|p| p.into_inner()).push((
                    t,
                    source.clone(),
                    serve_message(&line),
                ));
            }
        });
        Ok(())
    }

    pub(super) fn logged(&self, source: &str, text: &str) -> bool {
        self.logs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .any(|(_, s, l)| s == source && l.contains(text))
    }

    pub(super) fn start_host(&mut self, h: &Host) -> Result<(), LabError> {
        let sc = self.sc;
        for d in &h.dhcp {
            let d = sc
                .network
                .dhcp_servers
                .iter()
                .find(|x| &x.name == d)
                .expect("planned");
            let iface = &h.ifaces[0];
            let subnet = |seg: &str| {
                sc.segment(seg)
                    .and_then(|s| s.cidr)
                    .map(|c| (c.addr, c.prefix))
            };
            let pools =
                d.pools
                    .iter()
                    .filter_map(|(seg, a, b)| -> Option<crate::hostd::PoolSpec> {
                        let router = sc.network.routers.iter().find_map(|r| {
                            r.interfaces.iter().find(|(s, _)| s == seg).map(|(_, a)| *a)
                        });
                        Some(crate::hostd::PoolSpec {
                            subnet: subnet(seg)?,
                            router,
                            start: *a,
                            end: *b,
                        })
                    })
                    .collect::<Vec<_>>();
            // A server on an IPv6-only segment (no `cidr`) serves DHCPv6 only; dnsmasq
            // serves both families from one process, so it runs with its IPv6 pools.
            let v4 = sc.segment(&d.segment).is_some_and(|s| s.cidr.is_some());
            if !v4 && d.engine != DhcpEngine::Dnsmasq {
                self.start_dhcp6(h, d)?;
                continue;
            }
            if d.engine != DhcpEngine::Builtin {
                let conf = crate::servers::ServerConf {
                    name: &d.name,
                    interface: &iface.2,
                    pools: pools
                        .iter()
                        .zip(&d.pools)
                        .map(|(p, (seg, ..))| crate::servers::PoolConf {
                            tag: seg.clone(),
                            subnet: p.subnet,
                            router: p.router,
                            start: p.start,
                            end: p.end,
                        })
                        .collect(),
                    option60_pxeclient: d.option60_pxeclient,
                    boot_file: &d.boot_file,
                    dir: &self.dir.join(format!("dhcp-{}", d.name)),
                    pools6: if d.engine == DhcpEngine::Dnsmasq {
                        self.pools6(d)
                    } else {
                        Vec::new()
                    },
                };
                let inner = crate::servers::command(d.engine, &conf)?;
                let mut cmd = Command::new("ip");
                cmd.args(["netns", "exec", &h.ns])
                    .arg(inner.get_program())
                    .args(inner.get_args());
                for (k, v) in inner.get_envs() {
                    if let Some(v) = v {
                        cmd.env(k, v);
                    }
                }
                self.spawn_logged(&format!("dhcp-{}", d.name), &d.name, cmd)?;
                self.start_dhcp6(h, d)?;
                continue;
            }
            let spec = crate::hostd::DhcpdSpec {
                name: d.name.clone(),
                interface: iface.2.clone(),
                address: d.address,
                subnet: subnet(&d.segment).unwrap_or((d.address, 24)),
                pools,
                option60_pxeclient: d.option60_pxeclient,
                tftp_server: d.boot_file.tftp_server,
                boot_file: d.boot_file.file.clone(),
            };
            self.spawn_host_daemon(&h.ns, "dhcpd", &format!("dhcp-{}", d.name), &d.name, &spec)?;
            self.start_dhcp6(h, d)?;
        }
        if let Some(rname) = &h.router {
            let r = sc
                .network
                .routers
                .iter()
                .find(|x| &x.name == rname)
                .expect("planned");
            self.start_relay6(h, r)?;
            if !r.ip_helpers.is_empty() {
                // Its IPv4 interfaces (none on an IPv6-only segment).
                let interfaces = h
                    .ifaces
                    .iter()
                    .filter(|i| super::plan::has_ipv4(i.3))
                    .map(|(seg, _, ifname, addr, prefix, _)| {
                        let seg_name = &sc.network.segments[*seg].name;
                        let o82 = r
                            .option82
                            .iter()
                            .find(|(s, _)| s == seg_name)
                            .map(|(_, o)| o.clone());
                        crate::hostd::RelayIface {
                            interface: ifname.clone(),
                            address: *addr,
                            prefix: *prefix,
                            helpers: r
                                .ip_helpers
                                .iter()
                                .find(|(s, _)| s == seg_name)
                                .map(|(_, v)| v.clone())
                                .unwrap_or_default(),
                            circuit_id: o82.as_ref().and_then(|o| o.circuit_id.clone()),
                            remote_id: o82.as_ref().and_then(|o| o.remote_id.clone()),
                        }
                    })
                    .collect::<Vec<_>>();
                if r.relay == pxelab_scenario::RelayEngine::Dhcrelay {
                    let cmd = dhcrelay_command(
                        &h.ns,
                        &interfaces,
                        &self.dir.join(format!("dhcrelay-{}.pid", r.name)),
                    )
                    .map_err(|source| LabError::Router {
                        router: r.name.clone(),
                        source,
                    })?;
                    self.spawn_logged(&format!("relay-{}", r.name), &r.name, cmd)?;
                    return self.start_responders(h);
                }
                let spec = crate::hostd::RelaySpec {
                    name: r.name.clone(),
                    interfaces,
                };
                self.spawn_host_daemon(
                    &h.ns,
                    "relay",
                    &format!("relay-{}", r.name),
                    &r.name,
                    &spec,
                )?;
            }
        }
        self.start_responders(h)
    }

    pub(super) fn start_responders(&mut self, h: &Host) -> Result<(), LabError> {
        let sc = self.sc;
        for name in &h.responders {
            let mut cmd = Command::new("ip");
            cmd.args(["netns", "exec", &h.ns])
                .arg(&self.opts.exe)
                .arg("serve")
                .arg("--scenario")
                .arg(&sc.file)
                .args(["--responder", name, "--interface", &h.ifaces[0].2, "--root"])
                .arg(self.dir.join("roots").join(name))
                .arg("--state")
                .arg(self.dir.join("state.db"))
                .args(["--seed", &sc.seed.to_string()]);
            self.spawn_logged(&format!("responder-{name}"), name, cmd)?;
        }
        Ok(())
    }

    /// `pxelab lab KIND --spec FILE` in namespace `ns`, its spec written to the run
    /// directory as `WHAT.json`.
    pub(super) fn spawn_host_daemon(
        &mut self,
        ns: &str,
        kind: &str,
        what: &str,
        source: &str,
        spec: &impl serde::Serialize,
    ) -> Result<(), LabError> {
        let f = self.dir.join(format!("{what}.json"));
        let text = serde_json::to_string_pretty(spec)?;
        std::fs::write(&f, text).map_err(|source| LabError::File {
            path: f.clone(),
            source,
        })?;
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", ns])
            .arg(&self.opts.exe)
            .args(["lab", kind, "--spec"])
            .arg(&f);
        self.spawn_logged(what, source, cmd)
    }

    pub(super) fn host_of(&self, name: &str) -> Option<Host> {
        self.hosts
            .iter()
            .find(|h| {
                h.name == name
                    || h.responders.iter().any(|r| r == name)
                    || h.dhcp.iter().any(|d| d == name)
                    || h.router.as_deref() == Some(name)
            })
            .cloned()
    }

    /// Stops a host's processes at once (a crash: no goodbye).
    pub(super) fn host_down(&mut self, name: &str) {
        let Some(h) = self.host_of(name) else { return };
        for r in &h.responders {
            self.procs.kill(&format!("responder-{r}"));
        }
        for d in &h.dhcp {
            self.procs.kill(&format!("dhcp-{d}"));
            self.procs.kill(&format!("dhcp6-{d}"));
        }
        if let Some(r) = &h.router {
            self.procs.kill(&format!("relay-{r}"));
            self.procs.kill(&format!("relay6-{r}"));
            let _ = in_ns(&h.ns, &["sysctl", "-q", "-w", "net.ipv4.ip_forward=0"]);
        }
    }

    /// `down ... during: transfer`: each responder of the host goes down just before it
    /// sends its next TFTP DATA packet (`pxelab serve` on SIGUSR1).
    pub(super) fn arm_transfer_crash(&mut self, name: &str) {
        let Some(h) = self.host_of(name) else { return };
        for r in &h.responders {
            if let Some(pid) = self.procs.pid(&format!("responder-{r}")) {
                // Our own child.
                pxelab_system::process::signal(pid, pxelab_system::process::Signal::USR1);
            }
        }
    }

    pub(super) fn host_up(&mut self, name: &str) -> Result<(), LabError> {
        let Some(h) = self.host_of(name) else {
            return Ok(());
        };
        if h.router.is_some() {
            in_ns(&h.ns, &["sysctl", "-q", "-w", "net.ipv4.ip_forward=1"])?;
        }
        self.start_host(&h)
    }
}

/// ISC's `dhcrelay` as a router's IP helpers (`relay: dhcrelay`): the interfaces with
/// helpers listen for clients (`-id`), the others face the servers (`-iu`). dhcrelay
/// relays every client interface to one server list, and its option 82 (`-a`) carries
/// its own circuit id (the interface name), not the scenario's values.
fn dhcrelay_command(
    ns: &str,
    ifaces: &[crate::hostd::RelayIface],
    pid_file: &Path,
) -> Result<Command, ConfigError> {
    let down: Vec<&crate::hostd::RelayIface> =
        ifaces.iter().filter(|i| !i.helpers.is_empty()).collect();
    let Some(first) = down.first() else {
        return Err(ConfigError::Relay(
            "dhcrelay needs an interface with ip_helpers",
        ));
    };
    if down.iter().any(|i| i.helpers != first.helpers) {
        return Err(ConfigError::Relay(
            "dhcrelay relays every client segment to one helper list; give them the same ip_helpers",
        ));
    }
    let mut cmd = Command::new("ip");
    cmd.args(["netns", "exec", ns, "dhcrelay", "-4", "-d", "-pf"])
        .arg(pid_file);
    if down
        .iter()
        .any(|i| i.circuit_id.is_some() || i.remote_id.is_some())
    {
        cmd.arg("-a");
    }
    for i in &down {
        cmd.args(["-id", &i.interface]);
    }
    for i in ifaces.iter().filter(|i| i.helpers.is_empty()) {
        cmd.args(["-iu", &i.interface]);
    }
    for h in &first.helpers {
        cmd.arg(h.to_string());
    }
    Ok(cmd)
}
