//! `pxelab run --lab`: one scenario built as a real network, its timeline played in
//! wall-clock time, its outcomes read from the serial consoles and the responders' logs.
//!
//! The build, for a run with the unique id `ID` (4 hex digits):
//! - a run directory `/tmp/pxelab-lab-ID/` (boot roots, state database, sockets, logs,
//!   the `pids` file `pxelab lab clean` reads after a crash);
//! - per segment one switch process (`pxelab lab switch`) owning tap devices named
//!   `pxIDsSSpPP` and QEMU's unix datagram sockets;
//! - per host (responder, DHCP server, router) a namespace `pxelab-ID-HOST` holding its
//!   taps, renamed `eth0`, `eth1`... in segment order, and its processes
//!   (`ip netns exec`);
//! - per client boot a QEMU process in the root namespace (no kernel networking).
//!
//! `ip` (iproute2) drives the kernel rather than rtnetlink: every step is a command an
//! administrator can repeat by hand when inspecting a `--keep` network, errors come
//! back as `ip`'s own messages, and namespace creation (bind mounts under
//! /run/netns) stays iproute2's business.
//!
//! Teardown (also on error, on SIGINT/SIGTERM and when a panic unwinds): children get
//! SIGTERM, then SIGKILL; namespaces are deleted; the taps vanish with their switch;
//! the run directory is removed unless `--keep`.

use crate::judge::{self, serve_message, strip_ansi};
use crate::procs::{self, in_ns, Procs};
use crate::progress::Progress;
use crate::segment::{self, Switch};
use crate::{bootroot, namespaces, qemu};
use pxelab_engine::state::{self, DeviceKey, StateStore};
use pxelab_engine::Mac;
use pxelab_scenario::{ClearTarget, DhcpEngine, EventKind, Scenario, TftpRequest};
use pxelab_sim::result::{BootRecord, ScenarioResult};
use pxelab_sim::timeline::{self, LinkChange, Testbed};
use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

// `pxelab lab clean` and `pxelab lab check` have modules of their own now; the old
// paths still work.
pub use crate::namespaces::clean;
pub use crate::prereq::missing_prerequisites;

#[derive(Clone, Debug)]
pub struct LabOptions {
    /// The `pxelab` binary (children run its `serve` and `lab` subcommands).
    pub exe: PathBuf,
    /// Built boot programs (see [`bootroot::build_images`]).
    pub programs: PathBuf,
    pub pcap_dir: Option<PathBuf>,
    /// The captures' snap length and the run's budget: each segment's switch gets an
    /// equal share of what is left of it, and is charged what its file took.
    pub capture: pxelab_sim::pcap::CaptureOptions,
    /// Leave the network up at the end and print how to enter it.
    pub keep: bool,
    /// Longest a client boot may take before it is stopped and judged.
    pub boot_timeout: Duration,
    /// Wait after the responders start (peer membership) before scenario time 0.
    pub warmup: Duration,
    /// Print progress lines to stderr (when there is no `progress`).
    pub verbose: bool,
    /// Where the lab's steps are reported (a terminal's progress display).
    pub progress: Option<Progress>,
    /// Modelled clients instead of QEMU: the simulator's firmware models speaking real
    /// frames into each segment's switch (`pxelab lab swarm`, one per segment).
    pub model_clients: bool,
}

/// The lab's log line (source `lab`) for a modelled boot that reached no outcome within
/// the boot timeout.
pub const BOOT_TIMED_OUT: &str = "no outcome within the boot timeout";

/// How often the resource time series samples each process (the peaks: every 100 ms).
const SERIES_INTERVAL: Duration = Duration::from_secs(1);

/// A namespace host and its interfaces.
#[derive(Debug, Clone)]
struct Host {
    name: String,
    ns: String,
    /// (segment index, tap name, interface name, address, prefix, MAC)
    ifaces: Vec<(usize, String, String, Ipv4Addr, u8, String)>,
    responders: Vec<String>,
    dhcp: Vec<String>,
    router: Option<String>,
}

/// What one client boot printed and when.
#[derive(Default)]
struct Serial {
    lines: Vec<(f64, String)>,
    exited: bool,
}

struct Boot {
    client: String,
    n: u32,
    at_s: f64,
    started: Instant,
    serial: Arc<Mutex<Serial>>,
    what: String,
    done: Option<BootRecord>,
}

pub struct Lab<'a> {
    sc: &'a Scenario,
    opts: LabOptions,
    id: String,
    dir: PathBuf,
    procs: Procs,
    namespaces: Vec<String>,
    hosts: Vec<Host>,
    switch_stdin: HashMap<String, ChildStdin>,
    logs: Arc<Mutex<Vec<(f64, String, String)>>>,
    /// When each client's port sent a DHCP request (from the switches).
    dhcp_seen: Arc<Mutex<HashMap<String, Vec<Instant>>>>,
    t0: Instant,
    boots: Vec<Boot>,
    torn_down: bool,
    /// Modelled clients: each segment's swarm (its stdin), and the boots they finished.
    swarm_stdin: HashMap<String, ChildStdin>,
    swarm_results: Arc<Mutex<Vec<crate::swarm::SwarmResult>>>,
    /// Peak memory and descriptors per process, sampled while the timeline plays.
    peaks: BTreeMap<String, pxelab_sim::result::ProcessPeak>,
    /// The same samples, one a second per process (the time series a soak reads).
    series: Vec<pxelab_sim::result::ProcessSample>,
    /// When the series last took a sample of each process.
    series_at: HashMap<String, Instant>,
    /// The segments' pcaps, charged to the run's budget after teardown.
    pcaps: Vec<PathBuf>,
}

impl<'a> Lab<'a> {
    pub fn new(sc: &'a Scenario, opts: LabOptions) -> Lab<'a> {
        let id = namespaces::new_run_id();
        let dir = PathBuf::from(format!("/tmp/pxelab-lab-{id}"));
        Lab {
            sc,
            procs: Procs::new(&dir),
            opts,
            id,
            dir,
            namespaces: Vec::new(),
            hosts: Vec::new(),
            switch_stdin: HashMap::new(),
            logs: Arc::new(Mutex::new(Vec::new())),
            dhcp_seen: Arc::new(Mutex::new(HashMap::new())),
            pcaps: Vec::new(),
            t0: Instant::now(),
            boots: Vec::new(),
            torn_down: false,
            swarm_stdin: HashMap::new(),
            swarm_results: Arc::new(Mutex::new(Vec::new())),
            peaks: BTreeMap::new(),
            series: Vec::new(),
            series_at: HashMap::new(),
        }
    }

    fn say(&self, msg: &str) {
        if let Some(p) = &self.opts.progress {
            p.report(&format!("{}: {msg}", self.sc.file.display()));
        } else if self.opts.verbose {
            eprintln!(
                "  [lab {} {:>6.1}s] {msg}",
                self.id,
                self.t0.elapsed().as_secs_f64()
            );
        }
    }

    /// Builds the network, plays the timeline, tears it all down.
    pub fn run(mut self) -> ScenarioResult {
        let wall = Instant::now();
        let mut result = ScenarioResult::new(self.sc, "lab", self.sc.seed);
        // Events the lab cannot play fail the scenario before anything is built.
        let unsupported = timeline::check(&self.sc.events, &self);
        if !unsupported.is_empty() {
            result.failures = unsupported.iter().map(|u| u.to_string()).collect();
            result.wall_time_s = wall.elapsed().as_secs_f64();
            return result;
        }
        let sc = self.sc;
        if let Err(e) = self.build() {
            result.failures.push(format!("lab: {e}"));
        } else if let Err(e) = timeline::play(&sc.events, &mut self) {
            result.failures.push(format!("lab: {e}"));
        }
        let interrupted = procs::interrupted();
        result.sim_time_s = self.t0.elapsed().as_secs_f64();
        result.resources = self.peaks.values().cloned().collect();
        result.resource_series = std::mem::take(&mut self.series);
        for b in &mut self.boots {
            if let Some(r) = b.done.take() {
                result.boots.push(r);
            }
        }
        result.logs = std::mem::take(&mut *self.logs.lock().unwrap_or_else(|p| p.into_inner()));
        for b in &self.boots {
            let s = b.serial.lock().unwrap_or_else(|p| p.into_inner());
            result
                .traces
                .insert(format!("{}#{}", b.client, b.n), s.lines.clone());
        }
        if self.opts.keep && !interrupted {
            // The lab's processes die with the harness, so it stays in the foreground.
            self.print_keep();
            while !procs::interrupted() {
                std::thread::sleep(Duration::from_millis(200));
            }
        }
        self.teardown();
        if let Some(b) = &self.opts.capture.budget {
            let used: u64 = self
                .pcaps
                .iter()
                .filter_map(|p| std::fs::metadata(p).ok())
                .map(|m| m.len())
                .sum();
            b.charge(used);
        }
        if interrupted {
            result.failures.push("lab: interrupted".into());
        }
        if result.failures.is_empty() {
            pxelab_sim::expect::check(self.sc, &mut result);
        }
        result.passed = result.failures.is_empty();
        result.wall_time_s = wall.elapsed().as_secs_f64();
        result
    }

    fn print_keep(&self) {
        eprintln!(
            "lab {} is up (--keep) until you press Ctrl-C. Enter a host with:",
            self.id
        );
        for h in &self.hosts {
            eprintln!("  ip netns exec {} bash     # {}", h.ns, h.name);
        }
        for seg in &self.sc.network.segments {
            eprintln!(
                "  segment {}: switch ports {}",
                seg.name,
                self.hosts
                    .iter()
                    .flat_map(|h| h.ifaces.iter().map(move |i| (h, i)))
                    .filter(|(_, i)| self.sc.network.segments[i.0].name == seg.name)
                    .map(|(h, i)| format!("{}:{} {}/{}", h.name, i.2, i.3, i.4))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        eprintln!(
            "Run directory {} (serial consoles in vm-*/serial.log, daemon logs in *.log). \
             After a crash, `pxelab lab clean` removes what is left.",
            self.dir.display()
        );
    }

    fn plan_hosts(&mut self) -> Result<(), String> {
        let sc = self.sc;
        let seg_index = |name: &str| -> Result<usize, String> {
            sc.network
                .segments
                .iter()
                .position(|s| s.name == name)
                .ok_or_else(|| format!("unknown segment {name}"))
        };
        let mut hosts: Vec<Host> = Vec::new();
        let add_iface = |h: &mut Host, seg: usize, addr: Ipv4Addr| {
            let s = &sc.network.segments[seg];
            h.ifaces.push((
                seg,
                String::new(),
                format!("eth{}", h.ifaces.len()),
                addr,
                s.cidr.prefix,
                String::new(),
            ));
        };
        for r in &sc.network.routers {
            let mut h = Host {
                name: r.name.clone(),
                ns: String::new(),
                ifaces: Vec::new(),
                responders: Vec::new(),
                dhcp: Vec::new(),
                router: Some(r.name.clone()),
            };
            for (seg, addr) in &r.interfaces {
                add_iface(&mut h, seg_index(seg)?, *addr);
            }
            hosts.push(h);
        }
        for d in &sc.network.dhcp_servers {
            let seg = seg_index(&d.segment)?;
            if let Some(h) = hosts.iter_mut().find(|h| {
                h.router.is_none() && h.ifaces.iter().any(|i| i.0 == seg && i.3 == d.address)
            }) {
                h.dhcp.push(d.name.clone());
                continue;
            }
            let mut h = Host {
                name: d.name.clone(),
                ns: String::new(),
                ifaces: Vec::new(),
                responders: Vec::new(),
                dhcp: vec![d.name.clone()],
                router: None,
            };
            add_iface(&mut h, seg, d.address);
            hosts.push(h);
        }
        for r in &sc.network.responders {
            let seg = seg_index(&r.segment)?;
            let addr = r.config.address;
            if let Some(h) = hosts
                .iter_mut()
                .find(|h| h.router.is_none() && h.ifaces.iter().any(|i| i.0 == seg && i.3 == addr))
            {
                h.responders.push(r.config.name.clone());
                continue;
            }
            let mut h = Host {
                name: r.config.name.clone(),
                ns: String::new(),
                ifaces: Vec::new(),
                responders: vec![r.config.name.clone()],
                dhcp: Vec::new(),
                router: None,
            };
            add_iface(&mut h, seg, addr);
            hosts.push(h);
        }
        // Rogues (extension): a host of their own running `pxelab serve` as the rogue.
        for r in &sc.network.rogues {
            let mut h = Host {
                name: r.name.clone(),
                ns: String::new(),
                ifaces: Vec::new(),
                responders: vec![r.name.clone()],
                dhcp: Vec::new(),
                router: None,
            };
            add_iface(&mut h, seg_index(&r.segment)?, r.address);
            hosts.push(h);
        }
        let mut port_count = vec![0usize; sc.network.segments.len()];
        for (hi, h) in hosts.iter_mut().enumerate() {
            h.ns = format!("pxelab-{}-{}", self.id, h.name);
            for (ii, i) in h.ifaces.iter_mut().enumerate() {
                let p = port_count[i.0];
                port_count[i.0] += 1;
                i.1 = format!("px{}s{}p{}", self.id, i.0, p);
                i.5 = format!("02:00:00:00:{:02x}:{:02x}", hi + 1, ii);
            }
        }
        self.hosts = hosts;
        Ok(())
    }

    fn spawn_logged(&mut self, what: &str, source: &str, mut cmd: Command) -> Result<(), String> {
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        cmd.env("NO_COLOR", "1");
        let child = procs::prepare(&mut cmd)
            .spawn()
            .map_err(|e| format!("cannot start {what}: {e}"))?;
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

    fn build(&mut self) -> Result<(), String> {
        let sc = self.sc;
        std::fs::create_dir_all(&self.dir).map_err(|e| format!("{}: {e}", self.dir.display()))?;
        std::fs::write(self.dir.join("owner"), format!("{}\n", std::process::id()))
            .map_err(|e| e.to_string())?;
        self.plan_hosts()?;
        self.say(&format!(
            "{} hosts, {} segments",
            self.hosts.len(),
            sc.network.segments.len()
        ));

        // Boot roots, one per responder.
        let cache = self.dir.join("payloads");
        for r in &sc.network.responders {
            let root = self.dir.join("roots").join(&r.config.name);
            std::fs::create_dir_all(&root).map_err(|e| e.to_string())?;
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
            std::fs::create_dir_all(&root).map_err(|e| e.to_string())?;
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
            )
            .map_err(|e| e.to_string())?;
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
            for (_, tap, ifname, addr, prefix, mac) in &h.ifaces {
                segment::attach_tap(tap, &h.ns, ifname, Some(mac), &format!("{addr}/{prefix}"))?;
            }
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
                    return Err(format!(
                        "responder {name} did not start within 30 s; its last log lines: {}",
                        tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
                    ));
                }
                if procs::interrupted() {
                    return Err("interrupted".into());
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
    fn start_swarm(
        &mut self,
        seg: &str,
        clients: &[&pxelab_scenario::Client],
    ) -> Result<(), String> {
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
        std::fs::write(
            &f,
            serde_json::to_string_pretty(&spec).map_err(|e| e.to_string())?,
        )
        .map_err(|e| format!("{}: {e}", f.display()))?;
        let mut cmd = Command::new(&self.opts.exe);
        cmd.args(["lab", "swarm", "--spec"])
            .arg(&f)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(
                std::fs::File::create(self.dir.join(format!("swarm-{seg}.log")))
                    .map_err(|e| e.to_string())?,
            ));
        let mut child = procs::prepare(&mut cmd)
            .spawn()
            .map_err(|e| format!("cannot start the modelled clients of {seg}: {e}"))?;
        let stdin = child.stdin.take().expect("piped");
        let mut out = BufReader::new(child.stdout.take().expect("piped"));
        self.procs.add(&format!("swarm-{seg}"), child);
        let mut line = String::new();
        let _ = out.read_line(&mut line);
        if line.trim() != "ready" {
            return Err(format!(
                "the modelled clients of segment {seg} did not start"
            ));
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

    /// Sample memory and descriptors of the responders and swarms.
    fn sample_peaks(&mut self) {
        let sc = self.sc;
        let mut names: Vec<String> = sc
            .network
            .responders
            .iter()
            .map(|r| format!("responder-{}", r.config.name))
            .collect();
        names.extend(
            sc.network
                .segments
                .iter()
                .map(|s| format!("swarm-{}", s.name)),
        );
        for what in names {
            let Some(pid) = self.procs.pid(&what) else {
                continue;
            };
            let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
            let field = |name: &str| {
                status
                    .lines()
                    .find(|l| l.starts_with(name))
                    .and_then(|l| l.split_whitespace().nth(1))
                    .and_then(|v| v.parse::<u64>().ok())
            };
            let Some(rss) = field("VmRSS:") else { continue };
            let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count() as u64);
            let now = Instant::now();
            if self
                .series_at
                .get(&what)
                .is_none_or(|at| now.duration_since(*at) >= SERIES_INTERVAL)
            {
                self.series_at.insert(what.clone(), now);
                self.series.push(pxelab_sim::result::ProcessSample {
                    process: what.clone(),
                    pid,
                    t_s: now.duration_since(self.t0).as_secs_f64(),
                    rss_kib: rss,
                    anon_kib: field("RssAnon:").unwrap_or(0),
                    fds,
                });
            }
            let p = self
                .peaks
                .entry(what.clone())
                .or_insert(pxelab_sim::result::ProcessPeak {
                    process: what,
                    peak_rss_kib: 0,
                    peak_fds: 0,
                    samples: 0,
                });
            p.peak_rss_kib = p.peak_rss_kib.max(rss);
            p.peak_fds = p.peak_fds.max(fds);
            p.samples += 1;
        }
    }

    fn logged(&self, source: &str, text: &str) -> bool {
        self.logs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .any(|(_, s, l)| s == source && l.contains(text))
    }

    fn start_host(&mut self, h: &Host) -> Result<(), String> {
        let sc = self.sc;
        for d in &h.dhcp {
            let d = sc
                .network
                .dhcp_servers
                .iter()
                .find(|x| &x.name == d)
                .expect("planned");
            let iface = &h.ifaces[0];
            let subnet = |seg: &str| sc.segment(seg).map(|s| (s.cidr.addr, s.cidr.prefix));
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
                    dir: &self.dir.join(format!("dhcp-{}", d.name)),
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
                continue;
            }
            let spec = crate::hostd::DhcpdSpec {
                name: d.name.clone(),
                interface: iface.2.clone(),
                address: d.address,
                subnet: subnet(&d.segment).unwrap_or((d.address, 24)),
                pools,
                option60_pxeclient: d.option60_pxeclient,
            };
            self.spawn_host_daemon(&h.ns, "dhcpd", &format!("dhcp-{}", d.name), &d.name, &spec)?;
        }
        if let Some(rname) = &h.router {
            let r = sc
                .network
                .routers
                .iter()
                .find(|x| &x.name == rname)
                .expect("planned");
            if !r.ip_helpers.is_empty() {
                let interfaces = h
                    .ifaces
                    .iter()
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
                    .map_err(|e| format!("router {}: {e}", r.name))?;
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

    fn start_responders(&mut self, h: &Host) -> Result<(), String> {
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
    fn spawn_host_daemon(
        &mut self,
        ns: &str,
        kind: &str,
        what: &str,
        source: &str,
        spec: &impl serde::Serialize,
    ) -> Result<(), String> {
        let f = self.dir.join(format!("{what}.json"));
        let text = serde_json::to_string_pretty(spec).map_err(|e| e.to_string())?;
        std::fs::write(&f, text).map_err(|e| format!("{}: {e}", f.display()))?;
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", ns])
            .arg(&self.opts.exe)
            .args(["lab", kind, "--spec"])
            .arg(&f);
        self.spawn_logged(what, source, cmd)
    }

    fn host_of(&self, name: &str) -> Option<Host> {
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
    fn host_down(&mut self, name: &str) {
        let Some(h) = self.host_of(name) else { return };
        for r in &h.responders {
            self.procs.kill(&format!("responder-{r}"));
        }
        for d in &h.dhcp {
            self.procs.kill(&format!("dhcp-{d}"));
        }
        if let Some(r) = &h.router {
            self.procs.kill(&format!("relay-{r}"));
            let _ = in_ns(&h.ns, &["sysctl", "-q", "-w", "net.ipv4.ip_forward=0"]);
        }
    }

    /// `down ... during: transfer`: each responder of the host goes down just before it
    /// sends its next TFTP DATA packet (`pxelab serve` on SIGUSR1).
    fn arm_transfer_crash(&mut self, name: &str) {
        let Some(h) = self.host_of(name) else { return };
        for r in &h.responders {
            if let Some(pid) = self.procs.pid(&format!("responder-{r}")) {
                // SAFETY: signalling our own child by its PID.
                unsafe {
                    libc::kill(pid as libc::pid_t, libc::SIGUSR1);
                }
            }
        }
    }

    fn host_up(&mut self, name: &str) -> Result<(), String> {
        let Some(h) = self.host_of(name) else {
            return Ok(());
        };
        if h.router.is_some() {
            in_ns(&h.ns, &["sysctl", "-q", "-w", "net.ipv4.ip_forward=1"])?;
        }
        self.start_host(&h)
    }

    fn boot_client(&mut self, client: &str) -> Result<(), String> {
        let sc = self.sc;
        let c = sc
            .client(client)
            .ok_or_else(|| format!("unknown client {client}"))?;
        if self.opts.model_clients {
            let n = self.boots.iter().filter(|b| b.client == client).count() as u32 + 1;
            if let Some(prev) = self.boots.iter_mut().rev().find(|b| b.client == client) {
                // A reboot: the swarm starts the client over; the earlier boot is over.
                if prev.done.is_none() {
                    prev.what = "rebooted".into();
                }
            }
            let stdin = self
                .swarm_stdin
                .get_mut(&c.segment)
                .ok_or_else(|| format!("no modelled clients on segment {}", c.segment))?;
            stdin
                .write_all(format!("boot {client}\n").as_bytes())
                .and_then(|_| stdin.flush())
                .map_err(|e| format!("the modelled clients of {}: {e}", c.segment))?;
            self.boots.push(Boot {
                client: client.to_string(),
                n,
                at_s: self.t0.elapsed().as_secs_f64(),
                started: Instant::now(),
                serial: Arc::new(Mutex::new(Serial::default())),
                what: "model".into(),
                done: None,
            });
            return Ok(());
        }
        // A client booted again is the same machine rebooted.
        if let Some(prev) = self.boots.iter_mut().rev().find(|b| b.client == client) {
            if prev.done.is_none() {
                self.procs.kill(&prev.what);
            }
        }
        let n = self.boots.iter().filter(|b| b.client == client).count() as u32 + 1;
        let vm_dir = self.dir.join(format!("vm-{client}-{n}"));
        std::fs::create_dir_all(&vm_dir).map_err(|e| e.to_string())?;
        let max_image = sc
            .site
            .boot_images
            .iter()
            .map(|i| i.size)
            .max()
            .unwrap_or(0);
        let memory_mib = 512 + max_image.div_ceil(1 << 20);
        let switch_sock = self.dir.join(format!("{client}.sw"));
        let qemu_sock = self.dir.join(format!("{client}.vm"));
        let _ = std::fs::remove_file(&qemu_sock);
        let m = qemu::ClientMachine {
            firmware: c.firmware,
            mac: c.mac.to_string().to_ascii_lowercase(),
            uuid: c.smbios_guid.map(|g| g.to_string()),
            memory_mib,
            switch_sock: &switch_sock,
            qemu_sock: &qemu_sock,
            dir: &vm_dir,
        };
        let mut cmd = qemu::command(&m)?;
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(
                std::fs::File::create(vm_dir.join("qemu.stderr")).map_err(|e| e.to_string())?,
            ));
        let mut child = procs::prepare(&mut cmd)
            .spawn()
            .map_err(|e| format!("cannot start QEMU for {client}: {e}"))?;
        let mut stdin = child.stdin.take().expect("piped");
        let mut stdout = child.stdout.take().expect("piped");
        let what = format!("qemu-{client}-{n}");
        self.procs.add(&what, child);
        let serial = Arc::new(Mutex::new(Serial::default()));
        let (s2, t0, press) = (serial.clone(), Instant::now(), c.press_key);
        let console = vm_dir.join("serial.log");
        std::thread::spawn(move || {
            let mut f = std::fs::File::create(console).ok();
            let mut buf = [0u8; 4096];
            let mut cur = Vec::new();
            loop {
                let n = match stdout.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                if let Some(f) = f.as_mut() {
                    let _ = f.write_all(&buf[..n]);
                }
                for &b in &buf[..n] {
                    if b == b'\n' || b == b'\r' {
                        if cur.is_empty() {
                            continue;
                        }
                        let line = strip_ansi(&String::from_utf8_lossy(&cur));
                        cur.clear();
                        if press && line.contains("PXELAB PROMPT") {
                            // The user presses Enter at the network boot prompt.
                            let _ = stdin.write_all(b"\r");
                            let _ = stdin.flush();
                        }
                        s2.lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .lines
                            .push((t0.elapsed().as_secs_f64(), line));
                    } else {
                        cur.push(b);
                    }
                }
            }
            s2.lock().unwrap_or_else(|p| p.into_inner()).exited = true;
        });
        self.boots.push(Boot {
            client: client.to_string(),
            n,
            at_s: self.t0.elapsed().as_secs_f64(),
            started: Instant::now(),
            serial,
            what,
            done: None,
        });
        self.say(&format!("boot {client} ({})", c.firmware.as_str()));
        Ok(())
    }

    /// Judges boots that have finished (a final marker, QEMU gone, or out of time).
    fn judge(&mut self) {
        if self.opts.model_clients {
            self.judge_models();
            return;
        }
        let sc = self.sc;
        let mut finished = Vec::new();
        for (i, b) in self.boots.iter().enumerate() {
            if b.done.is_some() {
                continue;
            }
            let s = b.serial.lock().unwrap_or_else(|p| p.into_inner());
            let mac = sc
                .client(&b.client)
                .expect("booted clients exist")
                .mac
                .to_string();
            let answered = self
                .logs
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .iter()
                .any(|(_, _, l)| judge::answered(l, &mac));
            let Some(v) = judge::judge(&judge::Observation {
                serial: &s.lines,
                exited: s.exited,
                timed_out: b.started.elapsed() > self.opts.boot_timeout,
                answered,
            }) else {
                continue;
            };
            // From the firmware's first DHCP request, as the simulator counts (its
            // power-on is the first DISCOVER); QEMU's start-up under TCG is not the
            // network's time. From QEMU's start when no request was seen.
            let end = v
                .ended_s
                .map(|t| b.started + Duration::from_secs_f64(t))
                .unwrap_or_else(Instant::now);
            let first_dhcp = self
                .dhcp_seen
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get(&b.client)
                .and_then(|v| v.iter().find(|t| **t >= b.started).copied());
            let took = end
                .saturating_duration_since(first_dhcp.unwrap_or(b.started))
                .as_secs_f64();
            let firmware_start = first_dhcp.map(|t| t.duration_since(b.started).as_secs_f64());
            let served_by = v.server.as_deref().and_then(|ip| {
                sc.network
                    .responders
                    .iter()
                    .find(|r| r.config.address.to_string() == ip)
                    .map(|r| r.config.name.clone())
            });
            finished.push((
                i,
                firmware_start,
                BootRecord {
                    client: b.client.clone(),
                    boot: b.n,
                    outcome: Some(v.outcome.into()),
                    boot_image: v.boot_image,
                    deployment: v.deployment,
                    served_by,
                    at_s: b.at_s,
                    took_s: Some(took),
                },
            ));
        }
        for (i, firmware_start, rec) in finished {
            self.say(&format!(
                "{} boot {}: {} after {:.1}s (first DHCP request {} after QEMU started)",
                rec.client,
                rec.boot,
                rec.outcome.as_deref().unwrap_or("?"),
                rec.took_s.unwrap_or(0.0),
                firmware_start.map_or("never".to_string(), |t| format!("{t:.1}s"))
            ));
            let what = self.boots[i].what.clone();
            self.procs.kill(&what);
            self.boots[i].done = Some(rec);
        }
    }

    /// Judges modelled boots from the swarms' results (in order per client), or when
    /// out of time.
    fn judge_models(&mut self) {
        let sc = self.sc;
        let results: Vec<crate::swarm::SwarmResult> =
            std::mem::take(&mut *self.swarm_results.lock().unwrap_or_else(|p| p.into_inner()));
        let name_of = |ip: Option<Ipv4Addr>| {
            ip.and_then(|ip| {
                sc.network
                    .responders
                    .iter()
                    .find(|r| r.config.address == ip)
                    .map(|r| r.config.name.clone())
            })
        };
        for r in results {
            let Some(b) = self
                .boots
                .iter_mut()
                .find(|b| b.client == r.client && b.done.is_none() && b.what == "model")
            else {
                continue;
            };
            b.done = Some(BootRecord {
                client: b.client.clone(),
                boot: b.n,
                outcome: Some(r.outcome.clone()),
                boot_image: r.boot_image.clone(),
                deployment: r.deployment.clone(),
                served_by: name_of(r.served_by),
                at_s: b.at_s,
                took_s: Some(r.took_s),
            });
        }
        let timeout = self.opts.boot_timeout;
        for b in &mut self.boots {
            if b.done.is_none() && (b.what == "rebooted" || b.started.elapsed() > timeout) {
                if b.what != "rebooted" {
                    // A boot the model never finished: judged failed, and said so (a
                    // soak counts these as hung).
                    self.logs.lock().unwrap_or_else(|p| p.into_inner()).push((
                        self.t0.elapsed().as_secs_f64(),
                        "lab".into(),
                        format!("{} boot {}: {BOOT_TIMED_OUT}", b.client, b.n),
                    ));
                }
                b.done = Some(BootRecord {
                    client: b.client.clone(),
                    boot: b.n,
                    outcome: Some("failed".into()),
                    boot_image: None,
                    deployment: None,
                    served_by: None,
                    at_s: b.at_s,
                    took_s: Some(b.started.elapsed().as_secs_f64()),
                });
            }
        }
        let pending = self.boots.iter().filter(|b| b.done.is_none()).count();
        if pending > 0 {
            let done = self.boots.len() - pending;
            if let Some(p) = &self.opts.progress {
                p.report(&format!(
                    "{done} of {} modelled boots finished",
                    self.boots.len()
                ));
            }
        }
    }

    fn teardown(&mut self) {
        if self.torn_down {
            return;
        }
        self.torn_down = true;
        self.switch_stdin.clear();
        self.procs.stop_all(Duration::from_secs(2));
        for ns in self.namespaces.drain(..) {
            if let Err(e) = namespaces::delete(&ns) {
                eprintln!("lab {}: {e}", self.id);
            }
        }
        // Taps vanish with their switch; remove any left in the root namespace.
        namespaces::remove_devices(&self.id);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The lab plays the timeline in wall-clock time: between events it judges the boots
/// that have finished and samples the processes, every 100 ms.
impl Testbed for Lab<'_> {
    type Error = String;

    fn name(&self) -> &str {
        "the lab"
    }

    fn cannot_play(&self, event: &EventKind) -> Option<String> {
        // What the lab cannot build yet. A boot's `netboot` other than PXE over IPv4
        // belongs here until the lab boots it.
        match event {
            EventKind::TftpRequest(_) => Some("it is a simulator extension".into()),
            EventKind::ReloadExclusions { .. } => Some(
                "it is a simulator extension (in the lab, change the file and the responder reloads it)"
                    .into(),
            ),
            EventKind::Boot { .. }
            | EventKind::Down { .. }
            | EventKind::Up { .. }
            | EventKind::ClearRequired(_)
            | EventKind::Link { .. } => None,
        }
    }

    fn wait_until(&mut self, _index: usize, at: Duration) -> Result<(), String> {
        loop {
            if procs::interrupted() {
                return Err("interrupted".into());
            }
            if self.t0.elapsed() >= at {
                return Ok(());
            }
            self.judge();
            self.sample_peaks();
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn boot(&mut self, client: &str) -> Result<(), String> {
        self.boot_client(client)
    }

    fn down(&mut self, host: &str) -> Result<(), String> {
        self.say(&format!("down {host}"));
        self.host_down(host);
        Ok(())
    }

    fn down_during_transfer(&mut self, host: &str) -> Result<(), String> {
        self.say(&format!("down {host} during its next transfer"));
        self.arm_transfer_crash(host);
        Ok(())
    }

    fn up(&mut self, host: &str) -> Result<(), String> {
        self.say(&format!("up {host}"));
        self.host_up(host)
    }

    /// The segment's switch takes the whole model on its stdin.
    fn set_link(&mut self, segment: &str, change: LinkChange) -> Result<(), String> {
        let seg = self
            .sc
            .segment(segment)
            .ok_or_else(|| format!("unknown segment {segment}"))?;
        let line = format!(
            "link {} {} {}\n",
            change.rate_bps.unwrap_or(seg.link.rate_bps),
            change.delay.unwrap_or(seg.link.delay).as_nanos(),
            change.loss.unwrap_or(seg.link.loss)
        );
        if let Some(s) = self.switch_stdin.get_mut(segment) {
            s.write_all(line.as_bytes())
                .map_err(|e| format!("switch {segment}: {e}"))?;
        }
        Ok(())
    }

    /// Straight in the run's state database, as an administrator would.
    fn clear_required(&mut self, target: &ClearTarget) -> Result<(), String> {
        let mut store = pxelab_daemon::store::SqliteStore::open(&self.dir.join("state.db"))
            .map_err(|e| format!("state database: {e}"))?;
        let n = match target {
            ClearTarget::Machine(m) => store.clear_device(&DeviceKey::machine(m)),
            ClearTarget::Collection(c) => state::clear_collection(&mut store, &self.sc.site, c),
        };
        self.logs.lock().unwrap_or_else(|p| p.into_inner()).push((
            self.t0.elapsed().as_secs_f64(),
            "site".into(),
            format!("cleared {n} required PXE deployment record(s)"),
        ));
        Ok(())
    }

    fn tftp_request(&mut self, _request: &TftpRequest) -> Result<(), String> {
        Err("`tftp_request` cannot be played in the lab (see cannot_play)".into())
    }

    fn reload_exclusions(
        &mut self,
        _responder: &str,
        _file: &Path,
        _macs: &Result<Vec<Mac>, String>,
    ) -> Result<(), String> {
        Err("`reload_exclusions` cannot be played in the lab (see cannot_play)".into())
    }

    /// Until every boot has an outcome.
    fn finish(&mut self) -> Result<(), String> {
        loop {
            if procs::interrupted() {
                return Err("interrupted".into());
            }
            self.judge();
            self.sample_peaks();
            if self.boots.iter().all(|b| b.done.is_some()) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
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
) -> Result<Command, String> {
    let down: Vec<&crate::hostd::RelayIface> =
        ifaces.iter().filter(|i| !i.helpers.is_empty()).collect();
    let Some(first) = down.first() else {
        return Err("dhcrelay needs an interface with ip_helpers".into());
    };
    if down.iter().any(|i| i.helpers != first.helpers) {
        return Err("dhcrelay relays every client segment to one helper list; give them the same ip_helpers".into());
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

impl Drop for Lab<'_> {
    fn drop(&mut self) {
        self.teardown();
    }
}
