//! `pxelab bench tftp`: a matrix of block size × window size × link × file size, each
//! point's transfer time, its theoretical bound and the ratio between them, and a line
//! of advice. `--mode sim` predicts with the simulator (`pxelab_sim::tftp_bench`);
//! `--mode lab` measures real transfers between two network namespaces
//! (`pxelab_harness::bench`); `--mode both` does both and reports the relative error.

use pxelab_harness::bench::{BenchLab, Client, Link, Server, Transfer};
use pxelab_scenario::values::{parse_duration, parse_rate, parse_ratio, parse_size};
use pxelab_sim::tftp_bench::{bound_seconds, predict, window_bound_seconds, Point};
use pxelab_sim::world::LinkModel;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::fmt::Write as _;
use std::time::Duration;

/// A point's link rate: emulated at a rate by the lab's switch, or the plain veth pair.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Rate {
    Bps(u64),
    /// The lab's veth pair, no emulation (lab only).
    Veth,
}

#[derive(Clone, Debug)]
pub struct Matrix {
    pub block_sizes: Vec<u16>,
    pub window_sizes: Vec<u16>,
    pub rates: Vec<Rate>,
    pub delays: Vec<Duration>,
    pub losses: Vec<f64>,
    pub sizes: Vec<u64>,
    pub repeat: u32,
}

impl Matrix {
    /// The links of the matrix: every rate × delay × loss; `veth` once, with no delay
    /// or loss (it has no emulation).
    pub fn links(&self) -> Vec<(Rate, Duration, f64)> {
        let mut out = Vec::new();
        for &r in &self.rates {
            match r {
                Rate::Veth => out.push((r, Duration::ZERO, 0.0)),
                Rate::Bps(_) => {
                    for &d in &self.delays {
                        for &l in &self.losses {
                            out.push((r, d, l));
                        }
                    }
                }
            }
        }
        out
    }

    pub fn points(&self) -> usize {
        self.links().len() * self.sizes.len() * self.block_sizes.len() * self.window_sizes.len()
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PointResult {
    pub mode: Cow<'static, str>,
    pub server: Cow<'static, str>,
    pub client: Cow<'static, str>,
    /// `emulated` (the lab switch, or the simulator) or `veth`.
    pub link: Cow<'static, str>,
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
}

/// A comma-separated list, each item parsed by `f`.
/// A bench file (`scenarios/bench/*.yaml`): the matrix and the run's settings, each key
/// as the flag of the same name (`block_size` is `--block-size`); a value is one item or
/// a list. Flags given on the command line override the file. Documented in
/// `scenario/REFERENCE.md`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BenchFile {
    /// A title, printed nowhere; for the reader.
    #[allow(dead_code)]
    pub bench: Option<String>,
    pub mode: Option<String>,
    pub servers: Option<Items>,
    pub clients: Option<Items>,
    pub block_size: Option<Items>,
    pub window_size: Option<Items>,
    pub rate: Option<Items>,
    pub delay: Option<Items>,
    pub loss: Option<Items>,
    pub size: Option<Items>,
    pub repeat: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Items {
    Many(Vec<Item>),
    One(Item),
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Item {
    Int(i64),
    Float(f64),
    Text(String),
}

impl Items {
    /// The flag's form: items joined by commas.
    pub fn joined(&self) -> String {
        let one = |i: &Item| match i {
            Item::Int(v) => v.to_string(),
            Item::Float(v) => v.to_string(),
            Item::Text(v) => v.clone(),
        };
        match self {
            Items::One(i) => one(i),
            Items::Many(v) => v.iter().map(one).collect::<Vec<_>>().join(","),
        }
    }
}

impl BenchFile {
    pub fn load(path: &std::path::Path) -> Result<BenchFile, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        serde_saphyr::from_str(&text).map_err(|e| {
            let e = e.to_string();
            format!("{}: {}", path.display(), e.trim_start_matches("error: "))
        })
    }
}

pub fn list<T>(s: &str, f: impl Fn(&str) -> Result<T, String>) -> Result<Vec<T>, String> {
    s.split(',')
        .map(|x| x.trim())
        .filter(|x| !x.is_empty())
        .map(|x| f(x).map_err(|e| format!("`{x}`: {e}")))
        .collect()
}

pub fn parse_u16_list(s: &str, what: &str, min: u16) -> Result<Vec<u16>, String> {
    list(s, |x| {
        x.parse::<u16>()
            .ok()
            .filter(|v| *v >= min)
            .ok_or_else(|| format!("{what} must be a whole number from {min} to 65535"))
    })
}

pub fn parse_rates(s: &str) -> Result<Vec<Rate>, String> {
    list(s, |x| {
        if x == "veth" {
            Ok(Rate::Veth)
        } else {
            parse_rate(x).map(Rate::Bps)
        }
    })
}
pub fn parse_delays(s: &str) -> Result<Vec<Duration>, String> {
    // A bare 0 is no delay (a duration needs a unit otherwise).
    list(s, |d| {
        if d.trim() == "0" {
            Ok(Duration::ZERO)
        } else {
            parse_duration(d)
        }
    })
}
pub fn parse_losses(s: &str) -> Result<Vec<f64>, String> {
    list(s, parse_ratio)
}
pub fn parse_sizes(s: &str) -> Result<Vec<u64>, String> {
    list(s, parse_size)
}

/// The value at share `p` (0 to 1) of an ascending list, nearest rank.
pub fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    Some(sorted[((sorted.len() - 1) as f64 * p).round() as usize])
}

fn median(v: &mut [f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    Some(if !n.is_multiple_of(2) {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

/// The simulator's prediction of one point over its repeats: (times, granted block,
/// granted window, timeouts, failures).
fn sim_point(p: &Point, repeat: u32) -> (Vec<f64>, usize, u64, u64, u32) {
    let mut times = Vec::new();
    let (mut nb, mut nw, mut timeouts, mut failures) = (0, 0, 0, 0);
    for rep in 0..repeat.max(1) {
        let r = predict(p, u64::from(rep));
        nb = r.block_size;
        nw = r.window_size;
        timeouts += r.timeouts;
        match r.seconds {
            Some(s) => times.push(s),
            None => failures += 1,
        }
    }
    (times, nb, nw, timeouts, failures)
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
                    let (mut times, nb, nw, timeouts, failures) = sim_point(&p, m.repeat);
                    let bound = bound_seconds(&p);
                    let min = times.iter().copied().reduce(f64::min);
                    let max = times.iter().copied().reduce(f64::max);
                    let med = median(&mut times);
                    let pr = PointResult {
                        mode: "sim".into(),
                        server: "pxelab".into(),
                        client: "pxelab".into(),
                        link: "emulated".into(),
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
                    };
                    let mut pr = pr;
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
        let Some(rate_bps) = self.rate_bps else {
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
) -> Result<Vec<PointResult>, String> {
    let mut lab = BenchLab::start(&s.exe)?;
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
        files.push((size, lab.file(size)?));
    }
    let probe = lab.file(64 << 10)?;
    let mut out = Vec::new();
    for &server in &s.servers {
        let mut measured: std::collections::HashMap<_, Measured> = Default::default();
        on_step(&format!("starting {}", server.name()));
        lab.start_server(server, block_cap, window_cap)?;
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
                                return Err("interrupted".into());
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
                                "{} ← {} {} block {block} window {window}",
                                client.name(),
                                server.name(),
                                link_name(rate, delay, loss, *size)
                            ));
                            // What the server grants, learned with our client (atftp
                            // does not print the OACK without tracing every packet).
                            let granted = lab.transfer(&Transfer {
                                client: Client::Pxelab,
                                link,
                                file: &probe,
                                size: 64 << 10,
                                block,
                                window,
                                limit: Duration::from_secs(30),
                            })?;
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
                                    let r = lab.transfer(&Transfer {
                                        client,
                                        link,
                                        file,
                                        size: *size,
                                        block,
                                        window,
                                        limit,
                                    })?;
                                    mm.timeouts += r.timeouts;
                                    match (r.seconds, r.error) {
                                        (Some(t), None) => mm.times.push(t),
                                        (_, e) => {
                                            mm.failures += 1;
                                            mm.error = e;
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
                            let med = median(&mut times);
                            let (nb, nw) = (granted.block_size, granted.window_size);
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
                            let sim_s = match (s.with_sim, rate) {
                                (true, Rate::Bps(bps)) if nb > 0 => {
                                    // The same transfer with what this server granted.
                                    let p = Point {
                                        block_size: nb as u16,
                                        window_size: nw.max(1) as u16,
                                        link: sim_link(bps, delay, loss),
                                        size: *size,
                                    };
                                    let (mut t, ..) = sim_point(&p, m.repeat);
                                    median(&mut t)
                                }
                                _ => None,
                            };
                            let pr = PointResult {
                                mode: if s.with_sim { "both" } else { "lab" }.into(),
                                server: server.name().into(),
                                client: client.name().into(),
                                link: match rate {
                                    Rate::Veth => "veth",
                                    Rate::Bps(_) => "emulated",
                                }
                                .into(),
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
                            };
                            let mut pr = pr;
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

fn link_name(rate: Rate, delay: Duration, loss: f64, size: u64) -> String {
    match rate {
        Rate::Veth => format!("veth {}", size_text(size)),
        Rate::Bps(b) => format!(
            "{} {}ms {}% {}",
            rate_text(b),
            delay.as_secs_f64() * 1000.0,
            loss * 100.0,
            size_text(size)
        ),
    }
}

fn rate_text(bps: u64) -> String {
    if bps.is_multiple_of(1_000_000_000) {
        format!("{}Gbit", bps / 1_000_000_000)
    } else if bps.is_multiple_of(1_000_000) {
        format!("{}Mbit", bps / 1_000_000)
    } else {
        format!("{bps}bit")
    }
}

fn size_text(b: u64) -> String {
    if b.is_multiple_of(1 << 30) {
        format!("{}GiB", b >> 30)
    } else if b.is_multiple_of(1 << 20) {
        format!("{}MiB", b >> 20)
    } else if b.is_multiple_of(1 << 10) {
        format!("{}KiB", b >> 10)
    } else {
        format!("{b}")
    }
}

fn link_text(p: &PointResult) -> String {
    match p.rate_bps {
        None => format!("veth {}", size_text(p.size)),
        Some(r) => format!(
            "{} {}ms {}% {}",
            rate_text(r),
            p.delay_s * 1000.0,
            p.loss * 100.0,
            size_text(p.size)
        ),
    }
}

fn opt(v: Option<f64>, prec: usize) -> String {
    v.map_or("failed".to_string(), |x| format!("{x:.prec$}"))
}

/// The fastest point per link and size against Configuration Manager's defaults
/// (block 4096, window 1) on the same link, when the matrix holds them.
pub fn advice(points: &[PointResult]) -> Vec<String> {
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

pub fn table(points: &[PointResult], markdown: bool) -> String {
    let mut s = String::new();
    let both = points.iter().any(|p| p.mode == "both");
    let lab = points.iter().any(|p| p.mode != "sim");
    let mut head = vec![
        "mode", "server", "client", "link", "block", "window", "median s", "min s", "max s",
        "bound s", "ratio", "ratio w", "granted", "timeouts",
    ];
    if both {
        head.extend(["sim s", "rel err"]);
    }
    if lab {
        head.extend(["MiB/s", "cpu s/GiB"]);
    }
    let rows: Vec<Vec<String>> = points
        .iter()
        .map(|p| {
            let mut r = vec![
                p.mode.to_string(),
                p.server.to_string(),
                p.client.to_string(),
                link_text(p),
                p.block_size.to_string(),
                p.window_size.to_string(),
                opt(p.median_s, 3),
                opt(p.min_s, 3),
                opt(p.max_s, 3),
                p.bound_s.map_or("-".into(), |b| format!("{b:.3}")),
                p.ratio_to_bound.map_or("-".into(), |x| format!("{x:.2}")),
                p.ratio_to_window_bound
                    .map_or("-".into(), |x| format!("{x:.2}")),
                format!("{}/{}", p.negotiated_block_size, p.negotiated_window_size),
                p.timeouts.to_string(),
            ];
            if both {
                r.push(p.sim_s.map_or("-".into(), |x| format!("{x:.3}")));
                r.push(
                    p.rel_error
                        .map_or("-".into(), |x| format!("{:+.1}%", x * 100.0)),
                );
            }
            if lab {
                r.push(p.mib_per_s.map_or("-".into(), |x| format!("{x:.1}")));
                r.push(
                    p.server_cpu_s_per_gib
                        .map_or("-".into(), |x| format!("{x:.2}")),
                );
            }
            r
        })
        .collect();
    let notes: Vec<String> = {
        let mut v: Vec<String> = points
            .iter()
            .filter_map(|p| p.note.as_ref().map(|n| format!("{}: {n}", p.server)))
            .collect();
        v.sort();
        v.dedup();
        v
    };
    if markdown {
        let _ = writeln!(s, "| {} |", head.join(" | "));
        let _ = writeln!(s, "|{}", "---|".repeat(head.len()));
        for r in &rows {
            let _ = writeln!(s, "| {} |", r.join(" | "));
        }
        for n in &notes {
            let _ = writeln!(s, "\nnote: {n}");
        }
        return s;
    }
    let mut w: Vec<usize> = head.iter().map(|h| h.len()).collect();
    for r in &rows {
        for (i, c) in r.iter().enumerate() {
            w[i] = w[i].max(c.len());
        }
    }
    let line = |cells: &[String]| {
        cells
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c:>width$}", width = w[i]))
            .collect::<Vec<_>>()
            .join("  ")
    };
    let head: Vec<String> = head.iter().map(|h| h.to_string()).collect();
    let _ = writeln!(s, "{}", line(&head));
    for r in &rows {
        let _ = writeln!(s, "{}", line(r));
    }
    for n in &notes {
        let _ = writeln!(s, "note: {n}");
    }
    s
}

pub fn csv(points: &[PointResult]) -> String {
    let mut s = String::from(
        "mode,server,client,link,block_size,window_size,rate_bps,delay_s,loss,size,median_s,min_s,max_s,bound_s,ratio_to_bound,window_bound_s,ratio_to_window_bound,negotiated_block_size,negotiated_window_size,timeouts,failures,sim_s,lab_s,rel_error,mib_per_s,server_cpu_s_per_gib,note\n",
    );
    let o = |v: Option<f64>| v.map_or(String::new(), |x| x.to_string());
    for p in points {
        let _ = writeln!(
            s,
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},\"{}\"",
            p.mode,
            p.server,
            p.client,
            p.link,
            p.block_size,
            p.window_size,
            p.rate_bps.map_or(String::new(), |r| r.to_string()),
            p.delay_s,
            p.loss,
            p.size,
            o(p.median_s),
            o(p.min_s),
            o(p.max_s),
            o(p.bound_s),
            o(p.ratio_to_bound),
            o(p.window_bound_s),
            o(p.ratio_to_window_bound),
            p.negotiated_block_size,
            p.negotiated_window_size,
            p.timeouts,
            p.failures,
            o(p.sim_s),
            o(p.lab_s),
            o(p.rel_error),
            o(p.mib_per_s),
            o(p.server_cpu_s_per_gib),
            p.note.as_deref().unwrap_or("").replace('"', "'")
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_parse_and_say_what_is_wrong() {
        assert_eq!(
            parse_u16_list("512, 1432,4096", "block", 8).unwrap(),
            vec![512, 1432, 4096]
        );
        assert!(parse_u16_list("4", "block", 8)
            .unwrap_err()
            .contains("from 8"));
        assert_eq!(
            parse_rates("100Mbit,1Gbit, veth").unwrap(),
            vec![Rate::Bps(100_000_000), Rate::Bps(1_000_000_000), Rate::Veth]
        );
        assert!(parse_rates("fast").unwrap_err().contains("`fast`"));
        assert!(parse_sizes("12XB").is_err());
    }

    #[test]
    fn the_matrix_runs_and_advises_against_the_defaults() {
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
        assert!(table(&pts, true).lines().count() == 6);
        assert_eq!(csv(&pts).lines().count(), 5);
    }
}
