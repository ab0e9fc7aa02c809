//! Building a lab: the run directory, boot roots, a switch per segment (and the
//! modelled clients' swarm), the hosts' namespaces and interfaces, their processes, and
//! the wait until every responder has started (and peers have found each other).

use super::Lab;
use super::LabError;
use crate::procs;
use crate::procs::in_ns;
use crate::segment::{self, Switch};
use crate::{bootroot, namespaces};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

impl Lab<'_> {
    pub(super) fn build(&mut self) -> Result<(), LabError> {
        let sc = self.sc;
        std::fs::create_dir_all(&self.dir).map_err(|source| LabError::File {
            path: self.dir.clone(),
            source,
        })?;
        std::fs::write(self.dir.join("owner"), format!("{}\n", std::process::id()))?;
        self.hosts = super::plan::plan_hosts(sc, &self.id)?;
        self.say(&format!(
            "{} hosts, {} segments",
            self.hosts.len(),
            sc.network.segments.len()
        ));

        // Boot roots, one per responder.
        let cache = self.dir.join("payloads");
        for r in &sc.network.responders {
            let root = self.dir.join("roots").join(&r.config.name);
            std::fs::create_dir_all(&root)?;
            bootroot::populate(
                &sc.site,
                &r.config.images,
                &root,
                &self.opts.programs,
                &cache,
            )?;
        }
        for r in &sc.network.rogues {
            // A rogue serves nothing: an empty root.
            let root = self.dir.join("roots").join(&r.name);
            std::fs::create_dir_all(&root)?;
        }

        // Segment switches, each with an equal share of what is left of the budget.
        let pcap_share = self
            .opts
            .capture
            .budget
            .as_ref()
            .map(|b| b.remaining() / sc.network.segments.len().max(1) as u64);
        for (si, seg) in sc.network.segments.iter().enumerate() {
            let mut ports = Vec::new();
            for h in &self.hosts {
                for i in h.ifaces.iter().filter(|i| i.0 == si) {
                    ports.push(crate::switch::PortSpec {
                        host: h.name.clone(),
                        kind: crate::switch::PortKind::Tap(i.1.clone()),
                        many_hosts: false,
                    });
                }
            }
            let seg_clients: Vec<&pxelab_scenario::Client> = sc
                .network
                .clients
                .iter()
                .filter(|c| c.segment == seg.name)
                .collect();
            if self.opts.model_clients && !seg_clients.is_empty() {
                ports.push(crate::switch::PortSpec {
                    host: format!("swarm-{}", seg.name),
                    kind: crate::switch::PortKind::Unix {
                        local: self.dir.join(format!("swarm-{}.sw", seg.name)),
                        remote: self.dir.join(format!("swarm-{}.cl", seg.name)),
                    },
                    many_hosts: true,
                });
            }
            for c in seg_clients.iter().filter(|_| !self.opts.model_clients) {
                ports.push(crate::switch::PortSpec {
                    host: c.name.clone(),
                    kind: crate::switch::PortKind::Unix {
                        local: self.dir.join(format!("{}.sw", c.name)),
                        remote: self.dir.join(format!("{}.vm", c.name)),
                    },
                    many_hosts: false,
                });
            }
            let spec = crate::switch::SwitchSpec {
                segment: seg.name.clone(),
                rate_bps: seg.link.rate_bps,
                delay_ns: seg.link.delay.as_nanos() as u64,
                loss: seg.link.loss,
                seed: sc.seed ^ (si as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15),
                pcap: self
                    .opts
                    .pcap_dir
                    .as_ref()
                    .filter(|_| self.opts.capture.open())
                    .map(|d| crate::switch::CaptureSpec {
                        path: d.join(format!("{}.pcap", seg.name)),
                        snaplen: self.opts.capture.snaplen,
                        budget: pcap_share,
                    }),
                ports,
            };
            if let Some(c) = &spec.pcap {
                self.pcaps.push(c.path.clone());
            }
            let Switch { stdin, stdout: out } = segment::start_switch(
                &self.opts.exe,
                &mut self.procs,
                &format!("switch-{}", seg.name),
                &format!("the switch of segment {}", seg.name),
                &self.dir.join(format!("switch-{}.json", seg.name)),
                &spec,
            )?;
            let seen = self.dhcp_seen.clone();
            let budget = self.opts.capture.budget.clone();
            let pcap_path = spec.pcap.as_ref().map(|c| c.path.clone());
            std::thread::spawn(move || {
                for l in out.lines().map_while(Result::ok) {
                    if l == "pcap-stopped" {
                        if let (Some(b), Some(p)) = (&budget, &pcap_path) {
                            b.stop_at(p);
                        }
                    } else if let Some(host) = l.strip_prefix("dhcp ") {
                        seen.lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .entry(host.to_string())
                            .or_default()
                            .push(Instant::now());
                    }
                }
            });
            self.switch_stdin.insert(seg.name.clone(), stdin);
            if self.opts.model_clients && !seg_clients.is_empty() {
                self.start_swarm(&seg.name, &seg_clients)?;
            }
        }

        // Namespaces and their interfaces.
        let hosts = self.hosts.clone();
        for h in &hosts {
            // IPv4 only: no IPv6 autoconfiguration chatter in the captures.
            namespaces::add(&h.ns)?;
            self.namespaces.push(h.ns.clone());
            self.ipv6_on(h)?;
            for (_, tap, ifname, addr, prefix, mac) in &h.ifaces {
                // No IPv4 address on an IPv6-only segment.
                let cidr = super::plan::has_ipv4(*addr).then(|| format!("{addr}/{prefix}"));
                segment::attach_tap(tap, &h.ns, ifname, Some(mac), cidr.as_deref())?;
            }
            self.ipv6_addresses(h)?;
            if h.router.is_some() {
                in_ns(&h.ns, &["sysctl", "-q", "-w", "net.ipv4.ip_forward=1"])?;
            } else if let Some((seg, ..)) = h.ifaces.first() {
                // Default route via a router on the host's segment.
                let seg_name = &sc.network.segments[*seg].name;
                if let Some(gw) = sc.network.routers.iter().find_map(|r| {
                    r.interfaces
                        .iter()
                        .find(|(s, _)| s == seg_name)
                        .map(|(_, a)| *a)
                }) {
                    in_ns(
                        &h.ns,
                        &["ip", "route", "add", "default", "via", &gw.to_string()],
                    )?;
                }
            }
        }

        // Host processes: DHCP servers, relays, responders.
        for h in &hosts {
            self.start_host(h)?;
        }
        self.start_router_advertisements()?;
        // Responders listening before scenario time 0; peers find each other.
        let deadline = Instant::now() + Duration::from_secs(30);
        let started: Vec<&str> = sc.serve_names().collect();
        for name in started {
            while !self.logged(name, "PXE responder started") {
                if Instant::now() > deadline {
                    let log =
                        std::fs::read_to_string(self.dir.join(format!("responder-{name}.log")))
                            .unwrap_or_default();
                    let tail: Vec<&str> = log.lines().rev().take(5).collect();
                    return Err(LabError::ResponderNotStarted {
                        name: name.to_string(),
                        last_lines: tail.into_iter().rev().collect::<Vec<_>>().join(" | "),
                    });
                }
                if procs::interrupted() {
                    return Err(LabError::Interrupted);
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        if sc
            .network
            .responders
            .iter()
            .any(|r| r.config.role == pxelab_engine::policy::Role::Peer)
        {
            std::thread::sleep(self.opts.warmup);
        }
        // Scenario time 0.
        self.t0 = Instant::now();
        Ok(())
    }

    /// The modelled clients of segment `seg`: `pxelab lab swarm` on the switch's swarm
    /// port, its results read from its stdout.
    pub(super) fn start_swarm(
        &mut self,
        seg: &str,
        clients: &[&pxelab_scenario::Client],
    ) -> Result<(), LabError> {
        let spec = crate::swarm::SwarmSpec {
            local: self.dir.join(format!("swarm-{seg}.cl")),
            remote: self.dir.join(format!("swarm-{seg}.sw")),
            clients: clients
                .iter()
                .map(|c| crate::swarm::SwarmClient {
                    name: c.name.clone(),
                    mac: c.mac.to_string(),
                    guid: c.smbios_guid.map(|g| g.to_string()),
                    firmware: c.firmware.as_str().to_string(),
                    press_key: c.press_key,
                })
                .collect(),
            verify: true,
        };
        let f = self.dir.join(format!("swarm-{seg}.json"));
        std::fs::write(&f, serde_json::to_string_pretty(&spec)?).map_err(|source| {
            LabError::File {
                path: f.clone(),
                source,
            }
        })?;
        let mut cmd = Command::new(&self.opts.exe);
        cmd.args(["lab", "swarm", "--spec"])
            .arg(&f)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(std::fs::File::create(
                self.dir.join(format!("swarm-{seg}.log")),
            )?));
        let mut child =
            procs::prepare(&mut cmd)
                .spawn()
                .map_err(|source| LabError::ModelledClientsStart {
                    segment: seg.to_string(),
                    source,
                })?;
        let stdin = child.stdin.take().expect("piped");
        let mut out = BufReader::new(child.stdout.take().expect("piped"));
        self.procs.add(&format!("swarm-{seg}"), child);
        let mut line = String::new();
        let _ = out.read_line(&mut line);
        if line.trim() != "ready" {
            return Err(LabError::ModelledClientsNotReady(seg.to_string()));
        }
        let results = self.swarm_results.clone();
        let logs = self.logs.clone();
        let t0 = self.t0;
        let source = format!("swarm-{seg}");
        std::thread::spawn(move || {
            for l in out.lines().map_while(Result::ok) {
                if let Some(r) = l.strip_prefix("result ") {
                    if let Ok(r) = serde_json::from_str(r) {
                        results.lock().unwrap_or_else(|p| p.into_inner()).push(r);
                    }
                } else {
                    logs.lock().unwrap_or_else(|p| p.into_inner()).push((
                        t0.elapsed().as_secs_f64(),
                        source.clone(),
                        l,
                    ));
                }
            }
        });
        self.swarm_stdin.insert(seg.to_string(), stdin);
        Ok(())
    }
}
