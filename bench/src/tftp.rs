//! The TFTP bench: a matrix of block size × window size × link × file size, each
//! point's transfer time, its theoretical bound and the ratio between them, and a line
//! of advice. The simulator predicts (`pxelab_sim::tftp_bench`); the lab measures real
//! transfers between two network namespaces (`pxelab_harness::bench`); both together
//! give the relative error.

use crate::matrix::{Matrix, Rate};
use crate::report::{link_name, link_text, size_text};
use crate::stats::{median, median_range, p10_p90};
use crate::Error;
use pxelab_harness::bench::{BenchLab, Client, Family, Link, Server, Transfer};
use pxelab_sim::link::LinkModel;
use pxelab_sim::tftp_bench::{
    bound_seconds, predict_with, turnaround_from, window_bound_seconds, Hosts, Point,
};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

/// One point of the matrix. `Default` is only a base for the fields a kind of run does
/// not fill (the simulator alone and HTTP servers leave the lossy comparison empty).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct PointResult {
    pub mode: Cow<'static, str>,
    pub server: Cow<'static, str>,
    pub client: Cow<'static, str>,
    /// `emulated` (the lab switch, or the simulator) or `veth`.
    pub link: Cow<'static, str>,
    /// The IP family the transfers ran over: 4 or 6 (4 in a run saved before IPv6).
    #[serde(default = "ipv4")]
    pub family: u8,
    /// `tftp`, or `http` for an HTTP server's point (block and window 0: they do not
    /// apply).
    #[serde(default = "tftp")]
    pub protocol: Cow<'static, str>,
    pub block_size: u16,
    pub window_size: u16,
    /// Null for the veth pair.
    pub rate_bps: Option<u64>,
    pub delay_s: f64,
    pub loss: f64,
    pub size: u64,
    /// Median over the repeats; null when every transfer failed.
    pub median_s: Option<f64>,
    pub min_s: Option<f64>,
    pub max_s: Option<f64>,
    /// size / min(rate, window × block / RTT); null on the veth pair (no set rate).
    pub bound_s: Option<f64>,
    /// bound_s / median_s: the share of the theoretical bound reached.
    pub ratio_to_bound: Option<f64>,
    /// windows × RTT + blocks × line time: what a sender that waits for each window's
    /// ACK cannot beat (`window_bound_seconds`); null on the veth pair.
    #[serde(default)]
    pub window_bound_s: Option<f64>,
    /// window_bound_s / median_s.
    #[serde(default)]
    pub ratio_to_window_bound: Option<f64>,
    /// What the server granted (OACK).
    pub negotiated_block_size: usize,
    pub negotiated_window_size: u64,
    pub timeouts: u64,
    pub failures: u32,
    /// The simulator's prediction (`--mode both`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sim_s: Option<f64>,
    /// The lab's median (`--mode both`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lab_s: Option<f64>,
    /// (sim_s − lab_s) / lab_s (`--mode both`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rel_error: Option<f64>,
    /// Throughput of the median transfer, MiB/s (lab).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mib_per_s: Option<f64>,
    /// The server process's CPU time per GiB sent, seconds (lab).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_cpu_s_per_gib: Option<f64>,
    /// What differs from what was asked (an option the server does not grant), or why
    /// a transfer failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The 10th and 90th percentiles of the repeats (nearest rank): under loss a run's
    /// time follows how many packets it lost, and the median alone hides that.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p10_s: Option<f64>,
    /// The transfers behind the figures (failed ones included): `timeouts` is their
    /// total.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runs: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p90_s: Option<f64>,
    /// The server's timeouts that resent something, per transfer: the simulator's
    /// count, or in the lab `pxelab serve`'s own (its log; the other servers say
    /// nothing), over the `server_logged` transfers it logged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_timeouts: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_logged: Option<u32>,
    /// `--mode both`: the simulator's side, over `sim_runs` seeds: its spread and its
    /// client's and server's timeouts per transfer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sim_p10_s: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sim_p90_s: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sim_runs: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sim_timeouts: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sim_server_timeouts: Option<f64>,
    /// `--mode both` under loss: each host's turnaround measured from loss-free lab
    /// transfers of the point (`turnaround_from`), which `sim_s` includes, and the
    /// simulator's median without it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turnaround_s: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sim_plain_s: Option<f64>,
    /// `--mode both` under loss: where the median of as many runs as the lab made
    /// falls 95 times in 100 if the lab behaved as the simulator (`median_range` over
    /// its runs). Under loss a run's time is lumpy, and ten runs' median moves with it:
    /// a lab median inside this range is no evidence against the model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sim_median_lo_s: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sim_median_hi_s: Option<f64>,
}

fn ipv4() -> u8 {
    4
}

fn tftp() -> Cow<'static, str> {
    "tftp".into()
}

/// A saved run (the JSON of `--format json`), read back with its window bounds filled
/// (a run saved before they existed has none).
pub fn load_saved(path: &Path) -> Result<Vec<PointResult>, Error> {
    #[derive(Deserialize)]
    struct Saved {
        points: Vec<PointResult>,
    }
    let usage = |e: String| Error::Usage(format!("--from {}: {e}", path.display()));
    let text = std::fs::read_to_string(path).map_err(|e| usage(e.to_string()))?;
    let mut saved: Saved = serde_json::from_str(&text).map_err(|e| usage(e.to_string()))?;
    saved
        .points
        .iter_mut()
        .for_each(PointResult::fill_window_bound);
    Ok(saved.points)
}

/// The fewest seeds the simulator runs for a lossy point. A run's time follows how
/// many packets it lost, in lumps a server timeout apart, so even a few hundred draws
/// leave its median several per cent off its distribution's (2 % loss, 8 KiB blocks
/// by 8: seeds 0-299 give 1.358 s, seeds 0-999 1.186 s), and every run of the bench
/// draws the same seeds, so that error would repeat in each. A run of 1 MiB costs
/// about half a millisecond, so the prediction takes many and only the lab's own
/// repeats are left to chance. Without loss every seed gives the same run.
pub const SIM_LOSSY_RUNS: u32 = 1000;

/// The runs the simulator makes for a point asked `repeat` times.
pub fn sim_runs(loss: f64, repeat: u32) -> u32 {
    if loss > 0.0 {
        repeat.max(SIM_LOSSY_RUNS)
    } else {
        repeat.max(1)
    }
}

/// The simulator's prediction of one point over its runs.
#[derive(Default)]
struct SimSide {
    times: Vec<f64>,
    runs: u32,
    block_size: usize,
    window_size: u64,
    /// Totals over the runs.
    timeouts: u64,
    server_timeouts: u64,
    failures: u32,
}

fn sim_point(p: &Point, repeat: u32, hosts: &Hosts) -> SimSide {
    let mut side = SimSide {
        runs: sim_runs(p.link.loss, repeat),
        ..SimSide::default()
    };
    for rep in 0..side.runs {
        let r = predict_with(p, u64::from(rep), hosts);
        side.block_size = r.block_size;
        side.window_size = r.window_size;
        side.timeouts += r.timeouts;
        side.server_timeouts += r.server_timeouts;
        match r.seconds {
            Some(s) => side.times.push(s),
            None => side.failures += 1,
        }
    }
    side
}

/// A total per transfer.
fn per_run(total: u64, runs: u32) -> f64 {
    total as f64 / f64::from(runs.max(1))
}

fn sim_link(rate: u64, delay: Duration, loss: f64) -> LinkModel {
    LinkModel {
        rate_bps: rate,
        delay,
        loss,
    }
}

/// Every point of the matrix in the simulator, `on_point` called after each. The
/// veth pair is a lab link: the simulator has no model of it and says so.
pub fn run_sim(m: &Matrix, mut on_point: impl FnMut(&PointResult)) -> Vec<PointResult> {
    let mut out = Vec::new();
    for &size in &m.sizes {
        for (rate, delay, loss) in m.links() {
            for &block in &m.block_sizes {
                for &window in &m.window_sizes {
                    let Rate::Bps(bps) = rate else {
                        continue;
                    };
                    let p = Point {
                        block_size: block,
                        window_size: window,
                        link: sim_link(bps, delay, loss),
                        size,
                    };
                    let side = sim_point(&p, m.repeat, &Hosts::default());
                    let (mut times, nb, nw, timeouts, failures) = (
                        side.times.clone(),
                        side.block_size,
                        side.window_size,
                        side.timeouts,
                        side.failures,
                    );
                    let (p10, p90) = p10_p90(&times);
                    let bound = bound_seconds(&p);
                    let min = times.iter().copied().reduce(f64::min);
                    let max = times.iter().copied().reduce(f64::max);
                    let med = median(&mut times);
                    let mut pr = PointResult {
                        mode: "sim".into(),
                        server: "pxelab".into(),
                        client: "pxelab".into(),
                        link: "emulated".into(),
                        family: 4,
                        protocol: "tftp".into(),
                        block_size: block,
                        window_size: window,
                        rate_bps: Some(bps),
                        delay_s: delay.as_secs_f64(),
                        loss,
                        size,
                        median_s: med,
                        min_s: min,
                        max_s: max,
                        bound_s: Some(bound),
                        ratio_to_bound: med.map(|t| bound / t),
                        window_bound_s: None,
                        ratio_to_window_bound: None,
                        negotiated_block_size: nb,
                        negotiated_window_size: nw,
                        timeouts,
                        failures,
                        sim_s: None,
                        lab_s: None,
                        rel_error: None,
                        mib_per_s: None,
                        server_cpu_s_per_gib: None,
                        note: None,
                        p10_s: p10,
                        runs: Some(side.runs),
                        p90_s: p90,
                        server_timeouts: Some(per_run(side.server_timeouts, side.runs)),
                        ..Default::default()
                    };
                    pr.fill_window_bound();
                    on_point(&pr);
                    out.push(pr);
                }
            }
        }
    }
    out
}

impl PointResult {
    /// Fills the window bound and its ratio from the point's own figures (also for a
    /// run saved before they existed).
    pub fn fill_window_bound(&mut self) {
        let Some(rate_bps) = self.rate_bps.filter(|_| self.protocol != "http") else {
            return;
        };
        let p = Point {
            block_size: self.block_size,
            window_size: self.window_size,
            link: LinkModel {
                rate_bps,
                delay: Duration::from_secs_f64(self.delay_s),
                loss: self.loss,
            },
            size: self.size,
        };
        let b = window_bound_seconds(&p);
        self.window_bound_s = Some(b);
        self.ratio_to_window_bound = self.median_s.map(|m| b / m);
    }
}

/// The repeats of one transfer setting on one server.
#[derive(Default)]
struct Measured {
    times: Vec<f64>,
    timeouts: u64,
    /// `pxelab serve`'s resending timeouts, and the transfers that logged them.
    server_timeouts: u64,
    server_logged: u32,
    /// `--mode both` under loss: a loss-free transfer after each lossy one, so that
    /// both see the same load; their median gives the hosts' turnaround.
    clean: Vec<f64>,
    failures: u32,
    cpu: Option<Duration>,
    error: Option<String>,
    /// The point that measured it.
    first: (u16, u16),
}

/// What `--mode lab|both` needs besides the matrix.
pub struct LabSettings {
    pub servers: Vec<Server>,
    pub clients: Vec<Client>,
    /// The families to run every point over, one after the other.
    pub families: Vec<Family>,
    pub exe: std::path::PathBuf,
    /// Also predict each point with the simulator (`--mode both`).
    pub with_sim: bool,
}

/// Every point of the matrix for every server and client, measured in the lab;
/// `on_point` is called after each point, `on_step` with what runs now.
pub fn run_lab(
    m: &Matrix,
    s: &LabSettings,
    mut on_step: impl FnMut(&str),
    mut on_point: impl FnMut(&PointResult),
) -> Result<Vec<PointResult>, Error> {
    let mut lab = BenchLab::start(&s.exe).map_err(Error::Lab)?;
    // The servers' caps: the largest the matrix or a firmware client asks for.
    let fixed: Vec<(u16, u16)> = s.clients.iter().filter_map(|c| c.fixed_point()).collect();
    let block_cap = m
        .block_sizes
        .iter()
        .copied()
        .chain(fixed.iter().map(|p| p.0))
        .max()
        .unwrap_or(512);
    let window_cap = m
        .window_sizes
        .iter()
        .copied()
        .chain(fixed.iter().map(|p| p.1))
        .max()
        .unwrap_or(1);
    let mut files = Vec::new();
    for &size in &m.sizes {
        on_step(&format!("writing the {} file", size_text(size)));
        files.push((size, lab.file(size).map_err(Error::Lab)?));
    }
    let probe = lab.file(64 << 10).map_err(Error::Lab)?;
    let mut out = Vec::new();
    for (&family, &server) in s
        .families
        .iter()
        .flat_map(|f| s.servers.iter().map(move |v| (f, v)))
    {
        let mut measured: std::collections::HashMap<_, Measured> = Default::default();
        lab.set_family(family);
        on_step(&format!(
            "starting {} on IPv{}",
            server.name(),
            family.number()
        ));
        lab.start_server(server, block_cap, window_cap)
            .map_err(Error::Lab)?;
        if server.is_http() {
            let pts =
                crate::tftp_http::run(&mut lab, m, server, &files, &mut on_step, &mut on_point)?;
            out.extend(pts);
            lab.stop_server();
            continue;
        }
        for (size, file) in &files {
            for (rate, delay, loss) in m.links() {
                let link = match rate {
                    Rate::Veth => Link::Veth,
                    Rate::Bps(bps) => Link::Emulated(sim_link(bps, delay, loss)),
                };
                for &client in &s.clients {
                    // A firmware client measures the one point it asks for, over the
                    // switch only (it boots on the switch's firmware port).
                    let points: Vec<(u16, u16)> = match client.fixed_point() {
                        Some(_) if rate == Rate::Veth => Vec::new(),
                        Some(p) => vec![p],
                        None => m
                            .block_sizes
                            .iter()
                            .flat_map(|&b| m.window_sizes.iter().map(move |&w| (b, w)))
                            .collect(),
                    };
                    for (block, window) in points {
                        {
                            if pxelab_harness::procs::interrupted() {
                                return Err(Error::Interrupted);
                            }
                            let bound = match rate {
                                Rate::Bps(bps) => Some(bound_seconds(&Point {
                                    block_size: block,
                                    window_size: window,
                                    link: sim_link(bps, delay, loss),
                                    size: *size,
                                })),
                                Rate::Veth => None,
                            };
                            // Generous: a lossy window-1 point can take many times its
                            // bound, and a stuck transfer must not stop the bench.
                            let limit = Duration::from_secs_f64(
                                60.0 + 20.0 * bound.unwrap_or(*size as f64 / 1e8),
                            );
                            on_step(&format!(
                                "{} ← {} IPv{} {} block {block} window {window}",
                                client.name(),
                                server.name(),
                                family.number(),
                                link_name(rate, delay, loss, *size)
                            ));
                            // What the server grants, learned with our client (atftp
                            // does not print the OACK without tracing every packet).
                            let granted = lab
                                .transfer(&Transfer {
                                    client: Client::Pxelab,
                                    link,
                                    file: &probe,
                                    size: 64 << 10,
                                    block,
                                    window,
                                    limit: Duration::from_secs(30),
                                })
                                .map_err(Error::Lab)?;
                            // A server that lacks an option grants the same transfer
                            // for several points (tftpd-hpa: every window; dnsmasq: every
                            // block above its cap): measured once, reported for each.
                            let key = (
                                client.name(),
                                link_name(rate, delay, loss, *size),
                                granted.block_size,
                                granted.window_size,
                            );
                            let reused = granted.error.is_none() && measured.contains_key(&key);
                            if !reused {
                                let mut mm = Measured::default();
                                let cpu0 = lab.server_cpu();
                                for _ in 0..m.repeat.max(1) {
                                    let mark = lab.server_log_mark();
                                    let r = lab
                                        .transfer(&Transfer {
                                            client,
                                            link,
                                            file,
                                            size: *size,
                                            block,
                                            window,
                                            limit,
                                        })
                                        .map_err(Error::Lab)?;
                                    mm.timeouts += r.timeouts;
                                    if server == Server::Pxelab && r.error.is_none() {
                                        let logged = lab
                                            .server_resends_since(mark, Duration::from_millis(500));
                                        if let Some(l) = logged {
                                            mm.server_timeouts += l.timeouts;
                                            mm.server_logged += 1;
                                        }
                                    }
                                    match (r.seconds, r.error) {
                                        (Some(t), None) => mm.times.push(t),
                                        (_, e) => {
                                            mm.failures += 1;
                                            mm.error = e;
                                        }
                                    }
                                    if let (true, Rate::Bps(bps)) = (s.with_sim && loss > 0.0, rate)
                                    {
                                        let mark = lab.server_log_mark();
                                        let c = lab
                                            .transfer(&Transfer {
                                                client,
                                                link: Link::Emulated(sim_link(bps, delay, 0.0)),
                                                file,
                                                size: *size,
                                                block,
                                                window,
                                                limit,
                                            })
                                            .map_err(Error::Lab)?;
                                        mm.clean.extend(c.seconds.filter(|_| c.error.is_none()));
                                        // Its line, before the next transfer's mark.
                                        if server == Server::Pxelab {
                                            let _ = lab.server_resends_since(
                                                mark,
                                                Duration::from_millis(500),
                                            );
                                        }
                                    }
                                }
                                mm.cpu = match (cpu0, lab.server_cpu()) {
                                    (Some(a), Some(b)) => Some(b.saturating_sub(a)),
                                    _ => None,
                                };
                                mm.first = (block, window);
                                measured.insert(key.clone(), mm);
                            }
                            let mm = &measured[&key];
                            let (mut times, timeouts, failures, cpu) =
                                (mm.times.clone(), mm.timeouts, mm.failures, mm.cpu);
                            let mut note = mm.error.clone();
                            let sent = *size as f64 * (times.len() as f64) / f64::from(1u32 << 30);
                            let min = times.iter().copied().reduce(f64::min);
                            let max = times.iter().copied().reduce(f64::max);
                            let (p10, p90) = p10_p90(&times);
                            let med = median(&mut times);
                            let (nb, nw) = (granted.block_size, granted.window_size);
                            let (server_timeouts, server_logged) = (
                                (mm.server_logged > 0)
                                    .then(|| per_run(mm.server_timeouts, mm.server_logged)),
                                (server == Server::Pxelab).then_some(mm.server_logged),
                            );
                            let lab_runs = mm.times.len() as u32 + mm.failures;
                            if note.is_none()
                                && (nb != usize::from(block) || nw != u64::from(window))
                            {
                                let mut n = granted_note(server, block, window, nb, nw);
                                if reused {
                                    let (b, w) = mm.first;
                                    let _ = write!(
                                        n,
                                        " (the transfer of block {b} window {w}: measured once)"
                                    );
                                }
                                note = Some(n);
                            }
                            // The same transfer with what this server granted.
                            let granted_point = match rate {
                                Rate::Bps(bps) if nb > 0 => Some(Point {
                                    block_size: nb as u16,
                                    window_size: nw.max(1) as u16,
                                    link: sim_link(bps, delay, loss),
                                    size: *size,
                                }),
                                _ => None,
                            };
                            // Under loss, the hosts' turnaround from the loss-free transfers
                            // made between the lossy ones (the machine's load moves it), so
                            // that the comparison is of the loss handling.
                            let hosts = granted_point
                                .filter(|_| s.with_sim && loss > 0.0)
                                .and_then(|gp| {
                                    median(&mut mm.clean.clone()).map(|t| Hosts {
                                        turnaround: turnaround_from(&gp, t),
                                    })
                                });
                            let sim = granted_point
                                .filter(|_| s.with_sim)
                                .map(|gp| sim_point(&gp, m.repeat, &hosts.unwrap_or_default()));
                            let sim_plain_s = match (hosts, granted_point) {
                                (Some(_), Some(gp)) => {
                                    median(&mut sim_point(&gp, m.repeat, &Hosts::default()).times)
                                }
                                _ => None,
                            };
                            let sim_s = sim.as_ref().and_then(|x| median(&mut x.times.clone()));
                            let sim_spread = sim.as_ref().map(|x| p10_p90(&x.times));
                            let sim_median_range = sim
                                .as_ref()
                                .filter(|_| loss > 0.0)
                                .and_then(|x| median_range(&x.times, mm.times.len() as u32, 0.025));
                            let mut pr = PointResult {
                                mode: if s.with_sim { "both" } else { "lab" }.into(),
                                server: server.name().into(),
                                client: client.name().into(),
                                link: match rate {
                                    Rate::Veth => "veth",
                                    Rate::Bps(_) => "emulated",
                                }
                                .into(),
                                family: family.number(),
                                protocol: "tftp".into(),
                                block_size: block,
                                window_size: window,
                                rate_bps: match rate {
                                    Rate::Bps(b) => Some(b),
                                    Rate::Veth => None,
                                },
                                delay_s: delay.as_secs_f64(),
                                loss,
                                size: *size,
                                median_s: med,
                                min_s: min,
                                max_s: max,
                                bound_s: bound,
                                ratio_to_bound: match (bound, med) {
                                    (Some(b), Some(t)) => Some(b / t),
                                    _ => None,
                                },
                                window_bound_s: None,
                                ratio_to_window_bound: None,
                                negotiated_block_size: nb,
                                negotiated_window_size: nw,
                                timeouts,
                                failures,
                                sim_s,
                                lab_s: if s.with_sim { med } else { None },
                                rel_error: match (s.with_sim, sim_s, med) {
                                    (true, Some(a), Some(b)) => Some((a - b) / b),
                                    _ => None,
                                },
                                mib_per_s: med.map(|t| *size as f64 / t / f64::from(1u32 << 20)),
                                server_cpu_s_per_gib: cpu
                                    .filter(|_| sent > 0.0)
                                    .map(|c| c.as_secs_f64() / sent),
                                note,
                                p10_s: p10,
                                runs: Some(lab_runs),
                                p90_s: p90,
                                server_timeouts,
                                server_logged,
                                sim_p10_s: sim_spread.and_then(|x| x.0),
                                sim_p90_s: sim_spread.and_then(|x| x.1),
                                sim_runs: sim.as_ref().map(|x| x.runs),
                                sim_timeouts: sim.as_ref().map(|x| per_run(x.timeouts, x.runs)),
                                sim_server_timeouts: sim
                                    .as_ref()
                                    .map(|x| per_run(x.server_timeouts, x.runs)),
                                turnaround_s: hosts.map(|h| h.turnaround.as_secs_f64()),
                                sim_plain_s,
                                sim_median_lo_s: sim_median_range.map(|r| r.0),
                                sim_median_hi_s: sim_median_range.map(|r| r.1),
                            };
                            pr.fill_window_bound();
                            on_point(&pr);
                            out.push(pr);
                        }
                    }
                }
            }
        }
        lab.stop_server();
    }
    lab.teardown();
    Ok(out)
}

/// Why a point ran with other options than asked.
fn granted_note(server: Server, block: u16, window: u16, nb: usize, nw: u64) -> String {
    let mut parts = Vec::new();
    if nw != u64::from(window) {
        if !server.speaks_windowsize() {
            parts.push(format!(
                "{} has no windowsize option (RFC 7440): ran with window {nw}",
                server.name()
            ));
        } else {
            parts.push(format!("window {window} granted as {nw}"));
        }
    }
    if nb != usize::from(block) {
        if server == Server::Dnsmasq {
            parts.push(format!(
                "dnsmasq caps blksize at the interface MTU: granted {nb}"
            ));
        } else {
            parts.push(format!("block {block} granted as {nb}"));
        }
    }
    parts.join("; ")
}

/// The fastest point per link and size against Configuration Manager's defaults
/// (block 4096, window 1) on the same link, when the matrix holds them.
/// HTTP points have no block or window to advise: they are left out.
pub fn advice(points: &[PointResult]) -> Vec<String> {
    let tftp: Vec<PointResult> = points
        .iter()
        .filter(|p| p.protocol != "http")
        .cloned()
        .collect();
    let points = &tftp[..];
    let mut links: Vec<String> = points.iter().map(link_text).collect();
    links.dedup();
    let mut seen = Vec::new();
    let mut out = Vec::new();
    for l in links {
        if seen.contains(&l) {
            continue;
        }
        seen.push(l.clone());
        let here: Vec<&PointResult> = points.iter().filter(|p| link_text(p) == l).collect();
        let Some(best) = here
            .iter()
            .filter(|p| p.failures == 0)
            .filter_map(|p| p.median_s.map(|m| (m, *p)))
            .min_by(|a, b| a.0.total_cmp(&b.0))
        else {
            out.push(format!("{l}: every setting failed"));
            continue;
        };
        let default = here
            .iter()
            .find(|p| {
                p.block_size == 4096
                    && p.window_size == 1
                    && p.server == best.1.server
                    && p.client == best.1.client
            })
            .and_then(|p| p.median_s);
        let gain = match default {
            Some(d) => format!(
                ", {:.2}s against {:.2}s with ConfigMgr's defaults (4096/1): {:.1}x faster",
                best.0,
                d,
                d / best.0
            ),
            None => format!(
                ", {:.2}s (add block 4096 window 1 to the matrix to compare with ConfigMgr's defaults)",
                best.0
            ),
        };
        let who = if here.iter().any(|p| p.server != best.1.server) {
            format!(" on {}", best.1.server)
        } else {
            String::new()
        };
        out.push(format!(
            "{l}: fastest without a failed transfer{who}: block {} window {}{gain}",
            best.1.block_size, best.1.window_size
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small matrix in the simulator: 2 block sizes x 2 windows on one link.
    pub(crate) fn small_run() -> Vec<PointResult> {
        let m = Matrix {
            block_sizes: vec![1432, 4096],
            window_sizes: vec![1, 8],
            rates: vec![Rate::Bps(1_000_000_000)],
            delays: vec![Duration::from_millis(5)],
            losses: vec![0.0],
            sizes: vec![2 << 20],
            repeat: 1,
        };
        let mut seen = 0;
        let pts = run_sim(&m, |_| seen += 1);
        assert_eq!((pts.len(), seen), (4, 4));
        pts
    }

    #[test]
    fn the_matrix_runs_and_advises_against_the_defaults() {
        let pts = small_run();
        let best = pts
            .iter()
            .min_by(|a, b| a.median_s.unwrap().total_cmp(&b.median_s.unwrap()))
            .unwrap();
        assert_eq!((best.block_size, best.window_size), (4096, 8));
        for p in &pts {
            let r = p.ratio_to_bound.unwrap();
            assert!(r > 0.5 && r <= 1.0, "{p:?}");
        }
        let a = advice(&pts);
        assert_eq!(a.len(), 1);
        assert!(
            a[0].contains("block 4096 window 8") && a[0].contains("faster"),
            "{a:?}"
        );
    }

    #[test]
    fn a_saved_run_reads_back_and_a_bad_one_names_its_file() {
        let dir = std::env::temp_dir().join(format!("pxelab-bench-saved-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("run.json");
        let pts = small_run();
        std::fs::write(&f, serde_json::json!({ "points": pts }).to_string()).unwrap();
        let back = load_saved(&f).unwrap();
        assert_eq!(back.len(), 4);
        assert_eq!(back[3].window_bound_s, pts[3].window_bound_s);
        std::fs::write(&f, "{\"points\": 3}").unwrap();
        let e = load_saved(&f).unwrap_err().to_string();
        assert!(e.starts_with("--from ") && e.contains("run.json"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
