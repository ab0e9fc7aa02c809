//! `pxelab run --lab`: one scenario built as a real network, its timeline played in
//! wall-clock time, its outcomes read from the serial consoles and the responders' logs.
//! This file runs it all in order (build, play, collect, tear down); `plan.rs` decides
//! the hosts, `build.rs` builds them, `hosts.rs` runs their processes, `boot.rs` boots
//! and judges the clients, `resources.rs` samples the processes, `testbed.rs` plays the
//! timeline.
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

use crate::namespaces;
use crate::procs::{self, Procs};
use crate::progress::Progress;
use pxelab_scenario::Scenario;
use pxelab_sim::result::{BootRecord, ScenarioResult};
use pxelab_sim::timeline;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::process::ChildStdin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

mod boot;
mod build;
mod error;
mod hosts;
mod ipv6;
mod plan;
mod resources;
mod testbed;

pub use error::LabError;
pub use ipv6::ovmf_knobs;

use plan::Host;

#[derive(Clone, Debug)]
pub struct LabOptions {
    /// The `pxelab` binary (children run its `serve` and `lab` subcommands).
    pub exe: PathBuf,
    /// Built boot programs (see [`crate::bootroot::build_images`]).
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

/// What one client boot printed and when.
#[derive(Default)]
struct Serial {
    lines: Vec<(f64, String)>,
    /// When QEMU exited (its console closed), seconds since it started.
    exited: Option<f64>,
}

struct Boot {
    client: String,
    n: u32,
    at_s: f64,
    started: Instant,
    serial: Arc<Mutex<Serial>>,
    what: String,
    /// The boot option it boots by (the `boot` event's, else the client's).
    netboot: pxelab_scenario::Netboot,
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
        // What the lab cannot play fails the scenario before anything is built.
        let unsupported: Vec<String> = timeline::check(&self.sc.events, &self)
            .iter()
            .map(|u| u.to_string())
            .collect();
        if !unsupported.is_empty() {
            result.failures = unsupported;
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
        result.pcaps = self.pcaps.iter().map(|p| p.display().to_string()).collect();
        // The captures are on the wall clock: where the run's time 0 was on it.
        result.started_unix_s = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .ok()
            .map(|now| now.as_secs_f64() - self.t0.elapsed().as_secs_f64());
        result.ladders = pxelab_sim::ladder::ladders(&result, self.sc);
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
                    .map(|(h, i)| match plan::has_ipv4(i.3) {
                        true => format!("{}:{} {}/{}", h.name, i.2, i.3, i.4),
                        false => format!("{}:{} (IPv6 only)", h.name, i.2),
                    })
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

impl Drop for Lab<'_> {
    fn drop(&mut self) {
        self.teardown();
    }
}
