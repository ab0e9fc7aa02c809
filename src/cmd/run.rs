//! `pxelab run`: the scenarios of the paths given, filtered by tag, mode and shard, in
//! the simulator or the lab; their results on stdout and in the files asked for.

use super::lab_run::{run_lab, LabRunFlags};
use super::load::load_all;
use crate::Format;
use pxelab_scenario::{Mode, Scenario};
use pxelab_sim::merge::{Shard, Suite};
use pxelab_sim::{run_scenario, RunOptions, ScenarioResult};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct RunArgs {
    /// Scenario files or directories.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Only scenarios with this tag (repeat for any of several).
    #[arg(long = "tag")]
    tags: Vec<String>,
    /// Override every scenario's seed.
    #[arg(long)]
    seed: Option<u64>,
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    /// Also write JUnit XML here.
    #[arg(long)]
    junit: Option<PathBuf>,
    /// Also write the JSON results here (what `pxelab merge` reads).
    #[arg(long)]
    json: Option<PathBuf>,
    /// Also write an HTML report here (self-contained: summary, failures, ladders).
    #[arg(long)]
    html: Option<PathBuf>,
    /// Write one pcap per segment into this directory (a subdirectory per
    /// scenario when several run).
    #[arg(long)]
    pcap: Option<PathBuf>,
    /// Capture whole frames: by default each record keeps the first 590 bytes
    /// (every header, whole DHCP messages, the start of each TFTP DATA block).
    #[arg(long, requires = "pcap")]
    pcap_full: bool,
    /// Most bytes the run's pcaps may take on disk (KiB, MiB, GiB; 0: no limit).
    /// When reached, that capture stops (a valid file) and the run goes on.
    #[arg(long, requires = "pcap", default_value = "1GiB",
          value_parser = pxelab_scenario::values::parse_size)]
    pcap_budget: u64,
    /// Scenarios run at once, one per thread (default: every core). Results are
    /// printed and written in file order whatever N is. Serial with `--pcap` and a
    /// budget (which capture the budget cuts would depend on timing), and with `--lab`.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    jobs: Option<u32>,
    /// Skip CRC checks of downloads (sizes are still checked).
    #[arg(long)]
    no_verify: bool,
    /// Run in the lab: network namespaces, real DHCP servers and relays, `pxelab
    /// serve` responders and QEMU firmware (root; see docs/LAB.md). Only scenarios
    /// whose `modes` include `lab` run.
    #[arg(long)]
    pub lab: bool,
    /// Lab: leave the network up after each scenario and print how to enter it.
    #[arg(long, requires = "lab")]
    keep: bool,
    /// Lab: modelled clients instead of QEMU: the simulator's firmware models speak
    /// real frames into each segment's switch (`pxelab lab swarm`), so hundreds of
    /// clients can boot at once against the real responders and DHCP servers.
    #[arg(long, requires = "lab")]
    model_clients: bool,
    /// Run only the I-th of N slices of the suite (1-based), to spread a suite over
    /// CI runners: `--shard 2/4`.
    #[arg(long, value_parser = parse_shard)]
    shard: Option<Shard>,
    /// Lab: run each scenario in the simulator too and compare every boot's phases
    /// (power-on to DISCOVER, DISCOVER to the boot program's first read, the downloads)
    /// from both modes' captures: a table on stdout, `timing` in the JSON results. The
    /// simulator takes the lab's boot program sizes and server turnaround from the lab
    /// run (`timing_overlay`, docs/LAB.md "The lab overlay").
    #[arg(long, requires = "lab")]
    compare: bool,
    /// Lab: longest a client boot may take before it is stopped and judged.
    #[arg(long, default_value = "300s", value_parser = parse_secs)]
    boot_timeout: std::time::Duration,
}

fn parse_shard(s: &str) -> Result<Shard, String> {
    let (i, n) = s
        .split_once('/')
        .ok_or_else(|| format!("`{s}` is not I/N (for example 2/4)"))?;
    let i: usize = i
        .trim()
        .parse()
        .map_err(|_| format!("`{i}` is not a number"))?;
    let n: usize = n
        .trim()
        .parse()
        .map_err(|_| format!("`{n}` is not a number"))?;
    if n == 0 || i == 0 || i > n {
        return Err(format!("shard {i}/{n}: need 1 <= I <= N"));
    }
    Ok(Shard { index: i, count: n })
}

pub(crate) fn parse_secs(s: &str) -> Result<std::time::Duration, String> {
    let t = s.trim();
    let n = t.strip_suffix('s').unwrap_or(t);
    n.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v > 0.0)
        .map(std::time::Duration::from_secs_f64)
        .ok_or_else(|| format!("`{s}` is not a duration in seconds (for example 300s)"))
}

pub fn run(a: RunArgs) -> Result<ExitCode, crate::Error> {
    let (scenarios, errors) = load_all(&a.paths);
    for e in &errors {
        eprintln!("error: {e}");
    }
    let mode = if a.lab { Mode::Lab } else { Mode::Sim };
    let (runnable, skipped): (Vec<&Scenario>, Vec<&Scenario>) = scenarios
        .iter()
        .filter(|s| has_tag(s, &a.tags) && !held_back(s, &a.tags, &a.paths))
        .partition(|s| s.modes.contains(&mode));
    for s in &skipped {
        eprintln!(
            "skip: {} (modes do not include {})",
            s.file.display(),
            mode.as_str()
        );
    }
    let files: Vec<&Path> = runnable.iter().map(|s| s.file.as_path()).collect();
    let suite = Suite::new(mode.as_str(), a.seed, &a.tags, &files, a.shard);
    let runnable: Vec<&Scenario> = runnable
        .into_iter()
        .enumerate()
        .filter(|(k, _)| a.shard.is_none_or(|shard| shard.holds(*k)))
        .map(|(_, s)| s)
        .collect();
    let several = runnable.len() > 1;
    let capture = pxelab_sim::pcap::CaptureOptions::new(a.pcap_full, a.pcap_budget);
    let results: Vec<ScenarioResult> = if a.lab {
        let flags = LabRunFlags {
            keep: a.keep,
            boot_timeout: a.boot_timeout,
            model_clients: a.model_clients,
            capture,
        };
        // A comparison reads the lab's captures: to a scratch directory if not kept.
        let scratch = (a.compare && a.pcap.is_none()).then(super::compare::scratch_dir);
        let pcap = a.pcap.clone().or_else(|| scratch.clone());
        let mut results = run_lab(&runnable, pcap.as_deref(), flags, several)?;
        if a.compare {
            let dir = pcap.clone().unwrap_or_else(super::compare::scratch_dir);
            super::compare::attach(&runnable, &mut results, a.seed, &dir);
        }
        if let Some(d) = scratch {
            let _ = std::fs::remove_dir_all(d);
            for r in &mut results {
                r.pcaps.clear();
            }
        }
        results
    } else {
        // A budget shared by parallel captures would cut whichever got there first.
        let jobs = if a.pcap.is_some() && a.pcap_budget > 0 {
            1
        } else {
            a.jobs
                .map_or_else(pxelab_sim::parallel::default_jobs, |n| n as usize)
        };
        // The scenarios with the most clients (the storm) start first.
        let cost = |s: &&Scenario| s.network.clients.len() as u64;
        pxelab_sim::parallel::map_in_order(&runnable, jobs, cost, |s| {
            let opts = RunOptions {
                seed: a.seed,
                pcap_dir: a
                    .pcap
                    .as_ref()
                    .map(|d| pxelab_sim::pcap::dir_for(d, &s.file, several)),
                capture: capture.clone(),
                trace: true,
                no_verify: a.no_verify,
                lab_overlay: None,
            };
            let r = run_scenario(s, &opts);
            if let Some(m) = capture.take_notice() {
                eprintln!("warning: {m}");
            }
            r
        })
    };
    let out = super::results::Outputs {
        json: a.json,
        junit: a.junit,
        html: a.html,
    };
    super::results::emit(&results, &suite, a.format, out)?;
    if a.compare && matches!(a.format, Format::Text) {
        print!("{}", super::compare::table(&results));
    }
    // Scenarios skipped for their modes do not fail a run; files that do not load do
    // (they are in `errors`, as is finding no scenario file at all).
    Ok(if errors.is_empty() && results.iter().all(|r| r.passed) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Scenarios tagged `long` (the 10,000-client storm: minutes) run only when asked for
/// by `--tag long` or by their own file name, so that `pxelab run scenarios` and CI
/// stay short.
fn held_back(s: &Scenario, tags: &[String], paths: &[PathBuf]) -> bool {
    let long = |t: &String| t.eq_ignore_ascii_case("long");
    s.tags.iter().any(long) && !tags.iter().any(long) && !paths.contains(&s.file)
}

/// No tags asked for, or one of the scenario's (case does not matter).
fn has_tag(s: &Scenario, tags: &[String]) -> bool {
    tags.is_empty()
        || s.tags
            .iter()
            .any(|t| tags.iter().any(|w| w.eq_ignore_ascii_case(t)))
}
