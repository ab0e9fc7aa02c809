//! `pxelab bench soak`: continuous boots for a long time against two peers and a
//! distribution point, with a peer crash every minute and link flaps, in the simulator
//! and in the lab with modelled clients (issue 12, item 6). Two questions:
//!
//! - **Does every boot end as the model says?** The generated scenario carries an
//!   expectation per boot (outcome, deployment, responder), written from the timeline's
//!   design ([`plan`]); both modes check it, and each lab boot is compared with the
//!   simulator's boot of the same client and number ([`compare`]).
//! - **Are memory and descriptors flat?** The lab samples each responder's and the
//!   swarm's resident memory and open descriptors once a second
//!   ([`pxelab_sim::result::ProcessSample`]); [`trends`] fits a least-squares slope per
//!   process after a warm-up ([`pooled_slope`]: within each PID, so a restarted peer's
//!   fresh start is not read as memory given back).
//!
//! ## The timeline (each minute, seconds from its start)
//!
//! | at | event |
//! |---|---|
//! | 0 | `up` of the peer that crashed the minute before (from the second minute) |
//! | 8 - 9.5 | the link goes down (`loss: 100%`) for 1.5 s, then comes back (`loss: 0`) |
//! | 30 - 40 | the link degrades to 100 Mbit/s and 2 ms one way, then back to 1 Gbit/s, 0 |
//! | 48 | `down` (a crash: SIGKILL in the lab) of p1 in even minutes, p2 in odd ones |
//!
//! and a final `up` at the end. A client powers on every `every` (2 s by default) for
//! the whole run: 12 unknown computers served by the peers and 12 known kiosks served by
//! the DP (more when boots come faster), each rebooting every half minute to a minute
//! and a half. A first boot runs the required
//! deployment (recorded in the state store), every later one the available deployment
//! (the client presses the key).
//!
//! ## Why every boot's outcome is determined
//!
//! Real time and virtual time differ in how long things take, so the timeline keeps
//! every boot away from the moments where that would change who serves it. A slot in a
//! **quiet window** goes to a kiosk (the DP never crashes and no peer answers a kiosk,
//! whose image only the DP holds); every other slot goes to an unknown computer:
//! - *around an `up`* (2 s before to 8 s after): a restarted peer that has not yet
//!   heard the other answers every DISCOVER (R-ANS-6: a peer alone ranks first), so
//!   both peers would answer one client until membership converges;
//! - *around the outage* (3 s before to 20 s after): 1.5 s without a link is longer
//!   than SWIM's probe timeout, so the peers suspect and then declare each other down
//!   (both alone: both answer everyone) and rejoin with a new generation (the
//!   simulator: about 10 s after the link is back). When exactly differs between
//!   virtual and real time; and a DISCOVER or offer lost would be answered at the retry
//!   by both peers. Transfers in flight ride the outage out (TFTP retransmission), a
//!   kiosk's lost DISCOVER is answered at its retry;
//! - *before a crash* (8 s): no peer boot is in flight when a peer dies (a transfer cut
//!   off fails: no firmware restarts PXE; docs/LAB.md).
//!
//! Outside the windows a peer boot is served by the rank-0 peer of its MAC (rendezvous,
//! [`pxelab_engine::election::rank`]) while both peers are up, and by the survivor while
//! one is down: at once if membership has declared the crashed peer down, else at the
//! client's retry 4 s after its first DISCOVER (the failover step), in virtual and in
//! real time alike. The link's degradation changes only how long boots take: it loses
//! nothing.

use pxelab_sim::result::{ProcessSample, ScenarioResult};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::time::Duration;

/// The peers, crashed in turn.
pub const PEERS: [&str; 2] = ["p1", "p2"];
/// The distribution point (never crashed).
pub const DP: &str = "dp1";
/// Unknown computers the peers serve, and as many known kiosks the DP serves: at least
/// this many, more when boots come faster than one every 2 s, so that a client reboots
/// no sooner than about half a minute after its last boot began.
pub const MIN_CLIENTS: usize = 12;

/// Clients of each kind for a boot every `every_ms`.
fn clients_per_kind(every_ms: u64) -> usize {
    (24_000usize.div_ceil(every_ms.max(1) as usize)).max(MIN_CLIENTS)
}

const MINUTE_MS: u64 = 60_000;
/// Within each minute (ms from its start).
const OUTAGE_AT: u64 = 8_000;
const OUTAGE_FOR: u64 = 1_500;
const DEGRADE_AT: u64 = 30_000;
const DEGRADE_UNTIL: u64 = 40_000;
const CRASH_AT: u64 = 48_000;
/// Quiet windows for peer boots (ms): before and after an `up`; before and after the
/// outage; before a crash.
const QUIET_BEFORE_UP: u64 = 2_000;
const QUIET_AFTER_UP: u64 = 8_000;
const QUIET_BEFORE_OUTAGE: u64 = 3_000;
const QUIET_AFTER_OUTAGE: u64 = 20_000;
const QUIET_BEFORE_CRASH: u64 = 8_000;

#[derive(Clone, Debug)]
pub struct SoakSpec {
    pub minutes: u32,
    /// A client powers on every this long.
    pub every: Duration,
    /// Size of each boot image.
    pub image_size: u64,
    pub seed: u64,
}

/// What the timeline holds.
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    Boot(String),
    Down(&'static str),
    Up(&'static str),
    /// A `link` event's mapping, without the segment (`loss: 100%`).
    Link(&'static str),
}

/// One boot as the design says it ends: booted, with this deployment, served by this
/// responder.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PlannedBoot {
    pub client: String,
    pub boot: u32,
    pub at_s: f64,
    pub deployment: &'static str,
    pub served_by: String,
}

#[derive(Clone, Debug, Default)]
pub struct Plan {
    /// Unknown computers (`u01`...) and kiosks (`k01`...).
    pub clients: usize,
    /// (ms since scenario time 0, step), in time order; at equal times crashes, ups and
    /// link changes come before boots.
    pub steps: Vec<(u64, Step)>,
    pub boots: Vec<PlannedBoot>,
}

impl Plan {
    pub fn crashes(&self) -> usize {
        self.count(|s| matches!(s, Step::Down(_)))
    }

    pub fn link_changes(&self) -> usize {
        self.count(|s| matches!(s, Step::Link(_)))
    }

    fn count(&self, f: impl Fn(&Step) -> bool) -> usize {
        self.steps.iter().filter(|(_, s)| f(s)).count()
    }
}

fn peer_client(i: usize) -> (String, String) {
    (
        format!("u{:02}", i + 1),
        format!("52:54:00:5a:00:{:02x}", i + 1),
    )
}

fn dp_client(i: usize) -> (String, String) {
    (
        format!("k{:02}", i + 1),
        format!("52:54:00:5b:00:{:02x}", i + 1),
    )
}

/// How long after its power-on a soak client sends its first DISCOVER, whose answer
/// decides who serves it: OVMF's start-up (the soak's clients are `uefi-x64`;
/// `FirmwareModel::power_on_to_discover`). The windows below hold from that moment; the
/// 8 s before a crash cover its 4 s offer collection and its downloads.
fn dhcp_lead_ms() -> u64 {
    use pxelab_engine::dhcp::firmware::{model, FirmwareKind};
    u64::try_from(
        model(FirmwareKind::UefiX64)
            .timing
            .power_on_to_discover
            .as_millis(),
    )
    .unwrap_or(0)
}

/// The timeline and each boot's designed end (see the module's documentation).
pub fn plan(s: &SoakSpec) -> Result<Plan, String> {
    if s.minutes == 0 || s.minutes > 24 * 60 {
        return Err("--minutes: from 1 to 1440".into());
    }
    let every = u64::try_from(s.every.as_millis()).unwrap_or(u64::MAX);
    if !(500..=30_000).contains(&every) {
        return Err("--every: from 500ms to 30s".into());
    }
    if s.image_size == 0 || s.image_size > 1 << 30 {
        return Err("--image-size: from 1 byte to 1GiB".into());
    }
    let end = u64::from(s.minutes) * MINUTE_MS;
    let clients = clients_per_kind(every);
    let mut steps: Vec<(u64, u8, Step)> = Vec::new();
    // Per peer: when it is down, [down, up).
    let mut down_spans: Vec<(u64, u64, &'static str)> = Vec::new();
    let mut quiet: Vec<(u64, u64)> = Vec::new();
    for m in 0..u64::from(s.minutes) {
        let base = m * MINUTE_MS;
        let outage = base + OUTAGE_AT;
        steps.push((outage, 0, Step::Link("loss: 100%")));
        steps.push((outage + OUTAGE_FOR, 0, Step::Link("loss: 0")));
        quiet.push((
            outage.saturating_sub(QUIET_BEFORE_OUTAGE),
            outage + OUTAGE_FOR + QUIET_AFTER_OUTAGE,
        ));
        let crash = base + CRASH_AT;
        let peer = PEERS[(m % 2) as usize];
        steps.push((crash, 0, Step::Down(peer)));
        quiet.push((crash - QUIET_BEFORE_CRASH, crash));
        let up = base + MINUTE_MS;
        steps.push((up, 0, Step::Up(peer)));
        quiet.push((up - QUIET_BEFORE_UP, up + QUIET_AFTER_UP));
        down_spans.push((crash, up, peer));
        steps.push((
            base + DEGRADE_AT,
            0,
            Step::Link("rate: 100Mbit, delay: 2ms"),
        ));
        steps.push((
            base + DEGRADE_UNTIL,
            0,
            Step::Link("rate: 1Gbit, delay: 0s"),
        ));
    }
    let mut boots = Vec::new();
    let mut counts: BTreeMap<String, u32> = BTreeMap::new();
    let (mut next_peer_client, mut next_dp_client) = (0usize, 0usize);
    let lead = dhcp_lead_ms();
    let mut t = 0;
    while t < end {
        let decided = t + lead;
        let is_quiet = quiet.iter().any(|(a, b)| (*a..*b).contains(&decided));
        let (client, deployments, served_by) = if is_quiet {
            let (name, _) = dp_client(next_dp_client % clients);
            next_dp_client += 1;
            (name, ["PS120003", "PS120004"], DP.to_string())
        } else {
            let (name, mac) = peer_client(next_peer_client % clients);
            next_peer_client += 1;
            let down = down_spans
                .iter()
                .find(|(d, u, _)| (*d..*u).contains(&decided))
                .map(|x| x.2);
            let server = match down {
                Some(p) => PEERS.iter().find(|q| **q != p).copied().unwrap_or(p),
                None => {
                    let mac: pxelab_engine::Mac = mac.parse().map_err(|e| format!("{e}"))?;
                    if pxelab_engine::election::rank(mac, PEERS[0], PEERS.iter().copied()) == 0 {
                        PEERS[0]
                    } else {
                        PEERS[1]
                    }
                }
            };
            (name, ["PS120001", "PS120002"], server.to_string())
        };
        let n = counts.entry(client.clone()).or_default();
        *n += 1;
        boots.push(PlannedBoot {
            client: client.clone(),
            boot: *n,
            at_s: t as f64 / 1e3,
            // The required deployment runs once (R-STATE-1); then the available one.
            deployment: if *n == 1 {
                deployments[0]
            } else {
                deployments[1]
            },
            served_by,
        });
        steps.push((t, 1, Step::Boot(client)));
        t += every;
    }
    steps.sort_by_key(|(t, class, _)| (*t, *class));
    Ok(Plan {
        clients,
        steps: steps.into_iter().map(|(t, _, s)| (t, s)).collect(),
        boots,
    })
}

/// The soak as a scenario file (`pxelab bench soak --emit` prints it).
pub fn scenario_yaml(s: &SoakSpec) -> Result<String, String> {
    let p = plan(s)?;
    let mut y = String::new();
    let _ = writeln!(
        y,
        "scenario: soak, {} minute(s) of modelled UEFI boots against two peers and a DP, a peer crash every minute, link flaps (generated by pxelab bench soak)",
        s.minutes
    );
    let _ = writeln!(y, "seed: {}", s.seed);
    let _ = writeln!(y, "modes: [sim, lab]");
    let _ = writeln!(y, "site:\n  code: PS1\n  boot_images:");
    for id in ["PS100002", "PS100003"] {
        let _ = writeln!(y, "    - {{id: {id}, arch: x64, size: {}}}", s.image_size);
    }
    let _ = writeln!(y, "  machines:");
    for i in 0..p.clients {
        let (name, mac) = dp_client(i);
        let _ = writeln!(
            y,
            "    - {{name: {}, mac: \"{mac}\"}}",
            name.to_ascii_uppercase()
        );
    }
    let members: Vec<String> = (0..p.clients)
        .map(|i| dp_client(i).0.to_ascii_uppercase())
        .collect();
    let _ = writeln!(
        y,
        "  collections:\n    - {{name: Kiosks, members: [{}]}}",
        members.join(", ")
    );
    let _ = writeln!(y, "  deployments:");
    for (id, collection, image, purpose) in [
        ("PS120001", "x64 Unknown Computer", "PS100002", "required"),
        ("PS120002", "x64 Unknown Computer", "PS100002", "available"),
        ("PS120003", "Kiosks", "PS100003", "required"),
        ("PS120004", "Kiosks", "PS100003", "available"),
    ] {
        let _ = writeln!(
            y,
            "    - {{id: {id}, collection: {collection}, boot_image: {image}, purpose: {purpose}, available_to: media_pxe}}"
        );
    }
    let _ = writeln!(y, "network:\n  segments:");
    let _ = writeln!(
        y,
        "    - {{name: floor, cidr: 10.60.0.0/16, link: {{rate: 1Gbit, delay: 0s, loss: 0}}}}"
    );
    let _ = writeln!(y, "  dhcp_servers:");
    let _ = writeln!(
        y,
        "    - {{name: dhcp, segment: floor, address: 10.60.0.2, pools: {{floor: 10.60.100.1-10.60.100.254}}}}"
    );
    let _ = writeln!(y, "  responders:");
    for (i, p) in PEERS.iter().enumerate() {
        let _ = writeln!(
            y,
            "    - {{name: {p}, segment: floor, address: 10.60.1.{}, role: peer, images: [PS100002], unknown_computer_support: true, tftp: {{block_size: 4096, window_size: 4}}}}",
            i + 1
        );
    }
    let _ = writeln!(
        y,
        "    - {{name: {DP}, segment: floor, address: 10.60.1.10, role: distribution_point, images: [PS100003], tftp: {{block_size: 4096, window_size: 4}}}}"
    );
    let _ = writeln!(y, "  clients:");
    for i in 0..p.clients {
        let (name, mac) = peer_client(i);
        let _ = writeln!(
            y,
            "    - {{name: {name}, segment: floor, firmware: uefi-x64, mac: \"{mac}\", press_key: true}}"
        );
    }
    for i in 0..p.clients {
        let (name, _) = dp_client(i);
        let _ = writeln!(
            y,
            "    - {{name: {name}, segment: floor, firmware: uefi-x64, machine: {}, press_key: true}}",
            name.to_ascii_uppercase()
        );
    }
    let _ = writeln!(y, "events:");
    for (t, step) in &p.steps {
        let at = format!("{}.{:03}s", t / 1000, t % 1000);
        let _ = match step {
            Step::Boot(c) => writeln!(y, "  - {{at: {at}, boot: {c}}}"),
            Step::Down(h) => writeln!(y, "  - {{at: {at}, down: {h}}}"),
            Step::Up(h) => writeln!(y, "  - {{at: {at}, up: {h}}}"),
            Step::Link(l) => writeln!(y, "  - {{at: {at}, link: {{segment: floor, {l}}}}}"),
        };
    }
    let _ = writeln!(y, "expect:");
    for b in &p.boots {
        let _ = writeln!(
            y,
            "  - {{client: {}, boot: {}, outcome: booted, deployment: {}, served_by: {}}}",
            b.client, b.boot, b.deployment, b.served_by
        );
    }
    Ok(y)
}

/// The scenario, loaded (`file` is where it was written: the lab's responders read it).
pub fn scenario(s: &SoakSpec, file: &std::path::Path) -> Result<pxelab_scenario::Scenario, String> {
    let yaml = scenario_yaml(s)?;
    pxelab_scenario::load_str(&yaml, file)
        .map_err(|e| format!("the generated soak scenario does not load: {e}"))
}

// ---------------------------------------------------------------------------------------
// Outcomes
// ---------------------------------------------------------------------------------------

/// One mode's boots against the plan.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ModeSummary {
    pub mode: String,
    /// Boots the mode ran, and of those: ended with an outcome, booted, as planned
    /// (booted with the planned deployment and responder).
    pub boots: usize,
    pub ended: usize,
    pub booted: usize,
    pub as_planned: usize,
    /// Lab: boots with no outcome within the boot timeout (judged `failed`).
    pub hung: usize,
    /// The scenario's verdict (every expectation held, the lab ran).
    pub passed: bool,
    /// Up to 20 of its failures.
    pub failures: Vec<String>,
    pub wall_s: f64,
}

pub fn summarize(p: &Plan, r: &ScenarioResult) -> ModeSummary {
    let mut as_planned = 0;
    for b in &p.boots {
        if r.boots.iter().any(|x| {
            x.client == b.client
                && x.boot == b.boot
                && x.outcome.as_deref() == Some("booted")
                && x.deployment.as_deref() == Some(b.deployment)
                && x.served_by.as_deref() == Some(b.served_by.as_str())
        }) {
            as_planned += 1;
        }
    }
    let hung = r
        .logs
        .iter()
        .filter(|(_, src, l)| src == "lab" && l.ends_with(crate::lab::BOOT_TIMED_OUT))
        .count();
    ModeSummary {
        mode: r.mode.clone(),
        boots: r.boots.len(),
        ended: r
            .boots
            .iter()
            .filter(|b| b.outcome.is_some())
            .count()
            .saturating_sub(hung),
        booted: r
            .boots
            .iter()
            .filter(|b| b.outcome.as_deref() == Some("booted"))
            .count(),
        as_planned,
        hung,
        passed: r.passed,
        failures: r.failures.iter().take(20).cloned().collect(),
        wall_s: r.wall_time_s,
    }
}

/// The lab's boots beside the simulator's.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct Agreement {
    /// Boots in either mode (client and boot number).
    pub compared: usize,
    /// Boots with the same outcome, boot image, deployment and responder in both.
    pub agree: usize,
    /// The others, each with both ends.
    pub disagreements: Vec<String>,
}

/// Boot by boot (client, number): outcome, image, deployment and responder.
pub fn compare(sim: &ScenarioResult, lab: &ScenarioResult) -> Agreement {
    type End = (
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
    );
    let ends = |r: &ScenarioResult| -> BTreeMap<(String, u32), End> {
        r.boots
            .iter()
            .map(|b| {
                (
                    (b.client.clone(), b.boot),
                    (
                        b.outcome.clone(),
                        b.boot_image.clone(),
                        b.deployment.clone(),
                        b.served_by.clone(),
                    ),
                )
            })
            .collect()
    };
    let (s, l) = (ends(sim), ends(lab));
    let keys: BTreeSet<&(String, u32)> = s.keys().chain(l.keys()).collect();
    let mut a = Agreement {
        compared: keys.len(),
        ..Agreement::default()
    };
    let show = |e: Option<&End>| match e {
        None => "no such boot".to_string(),
        Some((o, _, d, by)) => format!(
            "{} {} by {}",
            o.as_deref().unwrap_or("no outcome"),
            d.as_deref().unwrap_or("-"),
            by.as_deref().unwrap_or("-")
        ),
    };
    for k in keys {
        let (x, y) = (s.get(k), l.get(k));
        if x.is_some() && x == y {
            a.agree += 1;
        } else {
            a.disagreements.push(format!(
                "{} boot {}: sim {}, lab {}",
                k.0,
                k.1,
                show(x),
                show(y)
            ));
        }
    }
    a
}

// ---------------------------------------------------------------------------------------
// Trends
// ---------------------------------------------------------------------------------------

/// The least-squares slope of `y` over `x`: `None` without two distinct `x`.
pub fn slope(points: &[(f64, f64)]) -> Option<f64> {
    pooled_slope(&[points.to_vec()])
}

/// One least-squares slope for several series that share it but not their level: each
/// group keeps its own intercept (sums of squares about each group's own means). A
/// process restarted at a lower memory level is a new group, not memory given back:
/// flat instances at different levels have slope 0 here, where one line through them
/// all would not. `None` without two distinct `x` in some group.
pub fn pooled_slope(groups: &[Vec<(f64, f64)>]) -> Option<f64> {
    let (mut sxx, mut sxy) = (0.0, 0.0);
    for g in groups.iter().filter(|g| !g.is_empty()) {
        let n = g.len() as f64;
        let mx = g.iter().map(|p| p.0).sum::<f64>() / n;
        let my = g.iter().map(|p| p.1).sum::<f64>() / n;
        for (x, y) in g {
            sxx += (x - mx) * (x - mx);
            sxy += (x - mx) * (y - my);
        }
    }
    (sxx > 0.0).then(|| sxy / sxx)
}

/// A process's memory and descriptors over the run, after the warm-up.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Trend {
    pub process: String,
    /// Processes (PIDs) it was: a restarted peer is one more.
    pub instances: usize,
    /// Samples after each instance's warm-up.
    pub samples: usize,
    /// From the first such sample to the last one.
    pub span_s: f64,
    pub first_rss_kib: u64,
    pub last_rss_kib: u64,
    pub peak_rss_kib: u64,
    /// Least-squares slopes per minute, within each instance ([`pooled_slope`]).
    pub rss_kib_per_min: Option<f64>,
    pub first_anon_kib: u64,
    pub last_anon_kib: u64,
    pub anon_kib_per_min: Option<f64>,
    pub first_fds: u64,
    pub last_fds: u64,
    pub peak_fds: u64,
    pub fds_per_min: Option<f64>,
}

/// Trends of each process from the lab's time series: each process (PID) from `warmup`
/// after its first sample on. A peer started again after a crash warms up again (its
/// first transfers allocate the TFTP read-ahead, its state store its cache), so its
/// first `warmup` is left out too.
pub fn trends(series: &[ProcessSample], warmup: Duration) -> Vec<Trend> {
    let mut by: BTreeMap<&str, Vec<&ProcessSample>> = BTreeMap::new();
    for s in series {
        by.entry(s.process.as_str()).or_default().push(s);
    }
    let mut out = Vec::new();
    for (process, all) in by {
        let mut born: BTreeMap<u32, f64> = BTreeMap::new();
        for s in &all {
            born.entry(s.pid).or_insert(s.t_s);
        }
        let used: Vec<&ProcessSample> = all
            .iter()
            .copied()
            .filter(|s| s.t_s - born[&s.pid] >= warmup.as_secs_f64())
            .collect();
        let (Some(first), Some(last)) = (used.first(), used.last()) else {
            continue;
        };
        let fit = |f: &dyn Fn(&ProcessSample) -> u64| {
            let mut groups: BTreeMap<u32, Vec<(f64, f64)>> = BTreeMap::new();
            for s in &used {
                groups
                    .entry(s.pid)
                    .or_default()
                    .push((s.t_s / 60.0, f(s) as f64));
            }
            pooled_slope(&groups.into_values().collect::<Vec<_>>())
        };
        out.push(Trend {
            process: process.to_string(),
            instances: born.len(),
            samples: used.len(),
            span_s: last.t_s - first.t_s,
            first_rss_kib: first.rss_kib,
            last_rss_kib: last.rss_kib,
            peak_rss_kib: used.iter().map(|s| s.rss_kib).max().unwrap_or(0),
            rss_kib_per_min: fit(&|s| s.rss_kib),
            first_anon_kib: first.anon_kib,
            last_anon_kib: last.anon_kib,
            anon_kib_per_min: fit(&|s| s.anon_kib),
            first_fds: first.fds,
            last_fds: last.fds,
            peak_fds: used.iter().map(|s| s.fds).max().unwrap_or(0),
            fds_per_min: fit(&|s| s.fds),
        });
    }
    out
}

/// The series as CSV (`--series FILE`).
pub fn series_csv(series: &[ProcessSample]) -> String {
    let mut t = String::from("process,pid,t_s,rss_kib,anon_kib,fds\n");
    for s in series {
        let _ = writeln!(
            t,
            "{},{},{:.3},{},{},{}",
            s.process, s.pid, s.t_s, s.rss_kib, s.anon_kib, s.fds
        );
    }
    t
}

// ---------------------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------------------

#[derive(Clone, Debug, Serialize)]
pub struct SoakReport {
    pub minutes: u32,
    pub every_s: f64,
    pub image_size: u64,
    pub seed: u64,
    /// The plan: boots, peer crashes, link changes (each flap is two).
    pub boots: usize,
    pub peer_crashes: usize,
    pub link_changes: usize,
    pub sim: Option<ModeSummary>,
    pub lab: Option<ModeSummary>,
    /// Lab against simulator, with both.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agreement: Option<Agreement>,
    /// Lab: trends leave out each process's first `warmup_s`.
    pub warmup_s: f64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<Trend>,
}

impl SoakReport {
    /// Every boot ran, ended and ended as planned in each mode that ran, and the lab
    /// agreed with the simulator boot by boot.
    pub fn ok(&self) -> bool {
        let mode_ok = |m: &Option<ModeSummary>| {
            m.as_ref().is_none_or(|m| {
                m.passed
                    && m.hung == 0
                    && m.boots == self.boots
                    && m.ended == self.boots
                    && m.as_planned == self.boots
            })
        };
        mode_ok(&self.sim)
            && mode_ok(&self.lab)
            && self
                .agreement
                .as_ref()
                .is_none_or(|a| a.agree == a.compared && a.compared == self.boots)
    }
}

pub fn report(
    s: &SoakSpec,
    sim: Option<&ScenarioResult>,
    lab: Option<&ScenarioResult>,
    warmup: Duration,
) -> Result<SoakReport, String> {
    let p = plan(s)?;
    Ok(SoakReport {
        minutes: s.minutes,
        every_s: s.every.as_secs_f64(),
        image_size: s.image_size,
        seed: s.seed,
        boots: p.boots.len(),
        peer_crashes: p.crashes(),
        link_changes: p.link_changes(),
        sim: sim.map(|r| summarize(&p, r)),
        lab: lab.map(|r| summarize(&p, r)),
        agreement: sim.zip(lab).map(|(s, l)| compare(s, l)),
        warmup_s: warmup.as_secs_f64(),
        resources: lab.map_or_else(Vec::new, |l| trends(&l.resource_series, warmup)),
    })
}

pub fn table(r: &SoakReport) -> String {
    let mut t = String::new();
    let _ = writeln!(
        t,
        "soak: {} min, a boot every {:.1} s: {} boots, {} peer crashes, {} link changes",
        r.minutes, r.every_s, r.boots, r.peer_crashes, r.link_changes
    );
    for m in [&r.sim, &r.lab].into_iter().flatten() {
        let _ = writeln!(
            t,
            "  {}: {} boots, {} ended, {} booted, {} as planned, {} hung; {} ({:.1} s wall)",
            m.mode,
            m.boots,
            m.ended,
            m.booted,
            m.as_planned,
            m.hung,
            if m.passed { "passed" } else { "FAILED" },
            m.wall_s
        );
        for f in &m.failures {
            let _ = writeln!(t, "    {f}");
        }
    }
    if let Some(a) = &r.agreement {
        let _ = writeln!(
            t,
            "  lab vs sim: {} of {} boots agree (outcome, image, deployment, responder)",
            a.agree, a.compared
        );
        for d in a.disagreements.iter().take(20) {
            let _ = writeln!(t, "    {d}");
        }
    }
    if !r.resources.is_empty() {
        let _ = writeln!(
            t,
            "  each process after its first {:.0} s (n: processes it was, a restarted peer is one more; slopes within each):",
            r.warmup_s
        );
        let _ = writeln!(
            t,
            "  {:<16} {:>2} {:>6}  {:>19} {:>9}  {:>19} {:>9}  {:>7} {:>7}",
            "process",
            "n",
            "span s",
            "RSS KiB first-last",
            "KiB/min",
            "anon KiB first-last",
            "KiB/min",
            "fds",
            "fds/min"
        );
        let f = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:+.1}"));
        for x in &r.resources {
            let _ = writeln!(
                t,
                "  {:<16} {:>2} {:>6.0}  {:>19} {:>9}  {:>19} {:>9}  {:>7} {:>7}",
                x.process,
                x.instances,
                x.span_s,
                format!("{}-{}", x.first_rss_kib, x.last_rss_kib),
                f(x.rss_kib_per_min),
                format!("{}-{}", x.first_anon_kib, x.last_anon_kib),
                f(x.anon_kib_per_min),
                format!("{}-{}", x.first_fds, x.last_fds),
                f(x.fds_per_min)
            );
        }
    }
    t
}

#[cfg(test)]
mod tests;
