//! `pxelab bench ...`: the flags of each bench, its progress on the terminal, and what
//! it prints; the benches themselves are `pxelab_bench` (and `pxelab_harness::bench`,
//! `pxelab_sim::tftp_bench` under it).

use super::lab_run::{run_lab, LabRunFlags};
use pxelab_bench::report::{self, Format, TftpFormat};
use pxelab_bench::{bench_file, dhcp, soak, storm, tftp, Mode};
use pxelab_harness::bench::ProxyServer;
use pxelab_sim::{run_scenario, RunOptions};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(clap::Subcommand)]
pub enum BenchCmd {
    /// The simulator's speed on a scenario (default: the 1,000-client storm).
    Sim(SimArgs),
    /// TFTP transfer time over a matrix of block size x window size x link x size, with
    /// each point's theoretical bound min(rate, window x block / RTT).
    Tftp(Box<TftpArgs>),
    /// Boot storm capacity, from the simulator: N clients, P peers or distribution
    /// points, an image size, a link and the responders' TFTP tuning; time until every
    /// client booted and the peak link use. Lists give a row per combination.
    Storm(Box<StormArgs>),
    /// Proxy DHCP under load (root): Kea's perfdhcp against `pxelab serve` and dnsmasq in
    /// proxy mode, PXE vendor class set: answers per second, latency percentiles, CPU.
    Dhcp(Box<DhcpArgs>),
    /// A soak: modelled clients boot continuously for --minutes against two peers and a
    /// DP, a peer crash every minute, link flaps; every boot against the model, and the
    /// responders' memory and descriptors over time (lab: root).
    Soak(Box<SoakArgs>),
}

#[derive(clap::Args)]
pub struct SimArgs {
    #[arg(default_value = "scenarios/perf/storm-1000.yaml")]
    file: PathBuf,
    #[arg(long, default_value_t = 1)]
    repeat: u32,
    /// Skip CRC checks of downloads.
    #[arg(long)]
    no_verify: bool,
    /// text (a line per run) or json ({"runs": [...]}).
    #[arg(long, value_enum, default_value = "text")]
    format: crate::Format,
}

#[derive(clap::Args)]
pub struct TftpArgs {
    /// A bench file (scenarios/bench/*.yaml) with the matrix and settings; flags given
    /// here override it.
    file: Option<PathBuf>,
    #[command(flatten)]
    flags: bench_file::TftpFlags,
    /// table (terminal), json ({"points": [...]}), csv or markdown.
    #[arg(long, value_enum, default_value = "table")]
    format: TftpFormat,
    /// Also draw transfer time against window size, one line per block size, one panel
    /// per link (SVG).
    #[arg(long)]
    plot: Option<PathBuf>,
    /// Also write a page with the plot and the table (self-contained HTML).
    #[arg(long)]
    html: Option<PathBuf>,
    /// Run nothing: show a saved run (the JSON of `--format json`) again, in --format,
    /// --plot and --html.
    #[arg(long, conflicts_with = "file")]
    from: Option<PathBuf>,
}

#[derive(clap::Args)]
pub struct StormArgs {
    #[command(flatten)]
    storm: storm::StormFlags,
    /// table or json.
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
    /// Print the generated scenario of the first row and stop (it runs with `pxelab run`).
    #[arg(long)]
    emit: bool,
    /// Also write a page with the table (self-contained HTML).
    #[arg(long)]
    html: Option<PathBuf>,
    /// sim (predicted), lab (real responders, DHCP server and switch, modelled clients
    /// speaking real frames; root) or both.
    #[arg(long, value_enum, default_value = "sim")]
    mode: Mode,
}

#[derive(clap::Args)]
pub struct DhcpArgs {
    /// pxelab, dnsmasq.
    #[arg(long, default_value = "pxelab,dnsmasq", value_delimiter = ',', value_parser = ProxyServer::parse)]
    servers: Vec<ProxyServer>,
    /// DISCOVERs a second perfdhcp sends (list).
    #[arg(long, default_value = "100,1000,4000")]
    rate: String,
    /// Distinct client MACs.
    #[arg(long, default_value_t = 1000)]
    clients: u32,
    /// Seconds per rate.
    #[arg(long, default_value_t = 5)]
    seconds: u32,
    /// uefi-x64 or bios-x64 (option 60's architecture, 93, 94).
    #[arg(long, value_enum, default_value = "uefi-x64")]
    firmware: dhcp::Firmware,
    /// table or json.
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
    /// Also write a page with the table (self-contained HTML).
    #[arg(long)]
    html: Option<PathBuf>,
    /// Run nothing: show a saved run (the JSON of `--format json`) again, in --format
    /// and --html (no root needed).
    #[arg(long)]
    from: Option<PathBuf>,
}

fn duration(s: &str) -> Result<Duration, String> {
    pxelab_scenario::values::parse_duration(s)
}

#[derive(clap::Args)]
pub struct SoakArgs {
    /// How long clients keep booting (a peer crashes every minute).
    #[arg(long, default_value_t = 30)]
    minutes: u32,
    /// A client powers on every this long.
    #[arg(long, default_value = "2s", value_parser = duration)]
    every: Duration,
    /// Size of each boot image.
    #[arg(long, default_value = "1MiB")]
    image_size: String,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// sim (the model alone), lab (real responders, DHCP server and switch, modelled
    /// clients speaking real frames; root) or both, compared boot by boot.
    #[arg(long, value_enum, default_value = "both")]
    mode: Mode,
    /// Memory and descriptor slopes leave out this first part of the run.
    #[arg(long, default_value = "60s", value_parser = duration)]
    warmup: Duration,
    /// Lab: a modelled boot with no outcome after this long counts as hung.
    #[arg(long, default_value = "120s", value_parser = duration)]
    boot_timeout: Duration,
    /// Lab: write each process's samples (once a second) to this CSV file.
    #[arg(long)]
    series: Option<PathBuf>,
    /// table or json.
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
    /// Print the generated scenario and stop (it runs with `pxelab run`).
    #[arg(long)]
    emit: bool,
    /// Also write a page with the table (self-contained HTML).
    #[arg(long)]
    html: Option<PathBuf>,
}

pub fn bench(what: BenchCmd) -> Result<ExitCode, crate::Error> {
    match what {
        BenchCmd::Sim(a) => sim(&a),
        BenchCmd::Tftp(a) => tftp(&a),
        BenchCmd::Storm(a) => storm(&a),
        BenchCmd::Dhcp(a) => dhcp(&a),
        BenchCmd::Soak(a) => soak(&a),
    }
}

/// `pxelab bench sim`: one line per run; fails when a run's expectations fail.
fn sim(a: &SimArgs) -> Result<ExitCode, crate::Error> {
    let sc = super::load::load_one(&a.file)?;
    let opts = RunOptions {
        no_verify: a.no_verify,
        trace: false,
        ..Default::default()
    };
    let mut runs = Vec::new();
    for i in 0..a.repeat.max(1) {
        let run = pxelab_bench::sim::SimRun::new(i + 1, &run_scenario(&sc, &opts));
        if a.format == crate::Format::Text {
            println!("{}", run.text());
        }
        runs.push(run);
    }
    if a.format == crate::Format::Json {
        println!("{}", pxelab_bench::sim::json(&runs));
    }
    let ok = runs.iter().all(|r| r.passed);
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `pxelab bench tftp`: the matrix in the simulator or the lab (or a saved run), then
/// the plot and the points in the format asked for.
fn tftp(a: &TftpArgs) -> Result<ExitCode, crate::Error> {
    let points = match &a.from {
        Some(from) => tftp::load_saved(from)?,
        None => run_tftp(a)?,
    };
    if let Some(plot) = &a.plot {
        report::plot::plot(&points, plot)?;
    }
    if let Some(html) = &a.html {
        tftp_page(&points, html)?;
    }
    print!("{}", report::tftp(&points, a.format));
    Ok(ExitCode::SUCCESS)
}

/// `bench tftp --html`: the plot (drawn to a file beside the page, read back, removed)
/// and the table with its advice.
fn tftp_page(points: &[tftp::PointResult], html: &std::path::Path) -> Result<(), crate::Error> {
    let svg_file = html.with_extension("plot.svg");
    report::plot::plot(points, &svg_file)?;
    let svg = std::fs::read_to_string(&svg_file);
    let _ = std::fs::remove_file(&svg_file);
    let svg = svg.map_err(|e| format!("{}: {e}", svg_file.display()))?;
    let text = report::tftp(points, TftpFormat::Table);
    write_page("pxelab bench tftp", &[svg], &text, html)
}

/// `bench ... --html`: a bench's page, its plots (SVG documents) and its table as the
/// terminal shows it.
fn write_page(
    title: &str,
    plots: &[String],
    text: &str,
    html: &std::path::Path,
) -> Result<(), crate::Error> {
    let page = pxelab_report::bench::page(title, plots, text);
    std::fs::write(html, page).map_err(|e| format!("--html {}: {e}", html.display()))?;
    Ok(())
}

fn run_tftp(a: &TftpArgs) -> Result<Vec<tftp::PointResult>, crate::Error> {
    let s = a.flags.resolve(a.file.as_deref())?;
    for n in &s.notes {
        eprintln!("note: {n}");
    }
    let m = &s.matrix;
    if s.mode == Mode::Sim {
        let bar = indicatif::ProgressBar::new(m.points() as u64);
        let p = tftp::run_sim(m, |_| bar.inc(1));
        bar.finish_and_clear();
        return Ok(p);
    }
    let missing = pxelab_harness::bench::missing(&s.servers, &s.clients);
    let exe = lab_prelude(
        &format!("pxelab bench tftp --mode {}", s.mode.as_str()),
        &missing,
    )?;
    let total = (m.points() * s.servers.len() * s.clients.len() * s.families.len()) as u64;
    let settings = tftp::LabSettings {
        servers: s.servers,
        clients: s.clients,
        families: s.families,
        exe,
        with_sim: s.mode == Mode::Both,
    };
    let bar = indicatif::ProgressBar::new(total).with_style(
        indicatif::ProgressStyle::with_template(
            "{bar:30} {pos}/{len} points {elapsed_precise} {wide_msg}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let r = tftp::run_lab(m, &settings, step_printer(&bar), |_| bar.inc(1));
    bar.finish_and_clear();
    Ok(r?)
}

/// `pxelab bench storm`: the lab's rows first (one lab run each), then the
/// simulator's.
fn storm(a: &StormArgs) -> Result<ExitCode, crate::Error> {
    let specs = storm::specs(&a.storm)?;
    if a.emit {
        print!("{}", storm::scenario_yaml(&specs[0])?);
        return Ok(ExitCode::SUCCESS);
    }
    let mut rows = Vec::new();
    if a.mode.lab() {
        // The lab prints its own progress.
        rows = storm::run_in_lab(&specs, |scenarios| {
            let flags = LabRunFlags {
                keep: false,
                boot_timeout: Duration::from_secs(600),
                model_clients: true,
                capture: Default::default(),
            };
            run_lab(scenarios, None, flags, false).map_err(pxelab_bench::Error::Lab)
        })?;
    }
    if a.mode.sim() {
        let bar = indicatif::ProgressBar::new(specs.len() as u64);
        let sim: Result<Vec<_>, _> = specs
            .iter()
            .map(|s| {
                bar.set_message(format!(
                    "{} clients, {} responders, block {} window {}",
                    s.clients, s.responders, s.block_size, s.window_size
                ));
                let r = storm::run(s);
                bar.inc(1);
                r
            })
            .collect();
        bar.finish_and_clear();
        rows.extend(sim?);
    }
    if let Some(html) = &a.html {
        let text = report::storm(&rows, Format::Table);
        write_page("pxelab bench storm", &[], &text, html)?;
    }
    print!("{}", report::storm(&rows, a.format));
    Ok(ExitCode::SUCCESS)
}

/// `pxelab bench dhcp` (root), or a saved run of it shown again.
fn dhcp(a: &DhcpArgs) -> Result<ExitCode, crate::Error> {
    let points = match &a.from {
        Some(from) => dhcp::load_saved(from)?,
        None => run_dhcp(a)?,
    };
    if let Some(html) = &a.html {
        let text = report::dhcp(&points, Format::Table);
        write_page("pxelab bench dhcp", &[], &text, html)?;
    }
    print!("{}", report::dhcp(&points, a.format));
    Ok(ExitCode::SUCCESS)
}

fn run_dhcp(a: &DhcpArgs) -> Result<Vec<dhcp::DhcpPoint>, crate::Error> {
    let rates = dhcp::parse_rates(&a.rate)?;
    let mut bench = dhcp::DhcpBench {
        servers: a.servers.clone(),
        rates,
        clients: a.clients,
        seconds: a.seconds,
        firmware: a.firmware,
        exe: PathBuf::new(),
    };
    bench.check()?;
    bench.exe = lab_prelude("pxelab bench dhcp", &dhcp::missing(&bench.servers))?;
    let bar = indicatif::ProgressBar::new_spinner();
    let r = dhcp::run(&bench, step_printer(&bar));
    bar.finish_and_clear();
    Ok(r?)
}

/// `pxelab bench soak`: success when every boot ran and ended as planned in each mode,
/// and the lab's boots agree with the simulator's.
fn soak(a: &SoakArgs) -> Result<ExitCode, crate::Error> {
    let spec = soak::spec(a.minutes, a.every, &a.image_size, a.seed)?;
    if a.emit {
        print!("{}", soak::scenario_yaml(&spec)?);
        return Ok(ExitCode::SUCCESS);
    }
    let report = soak::run(&spec, a.mode, a.warmup, a.series.as_deref(), |sc| {
        let flags = LabRunFlags {
            keep: false,
            boot_timeout: a.boot_timeout,
            model_clients: true,
            capture: Default::default(),
        };
        let mut r = run_lab(&[sc], None, flags, false).map_err(pxelab_bench::Error::Lab)?;
        Ok(r.pop())
    })?;
    // Written whatever the verdict: a failed soak's page is the one to read.
    if let Some(html) = &a.html {
        let text = report::soak(&report, Format::Table);
        write_page("pxelab bench soak", &[], &text, html)?;
    }
    print!("{}", report::soak(&report, a.format));
    Ok(if report.ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Before a lab bench runs: what this machine lacks (the bench stops, saying so), this
/// program's path (the bench starts it as `pxelab serve` and the switch) and the
/// interrupt handler that tears the bench's lab down on Ctrl-C.
fn lab_prelude(what: &str, missing: &[String]) -> Result<PathBuf, String> {
    if !missing.is_empty() {
        let list: String = missing.iter().map(|m| format!("\n  - {m}")).collect();
        return Err(format!("`{what}` needs:{list}"));
    }
    let exe =
        std::env::current_exe().map_err(|e| format!("cannot find this program's path: {e}"))?;
    pxelab_harness::procs::install_interrupt_handler();
    Ok(exe)
}

/// What a lab bench runs now: the bar's message on a terminal, a `bench:` line
/// otherwise (CI logs).
fn step_printer(bar: &indicatif::ProgressBar) -> impl FnMut(&str) + '_ {
    let plain = bar.is_hidden();
    move |step| {
        if plain {
            eprintln!("bench: {step}");
        } else {
            bar.set_message(step.to_string());
            bar.tick();
        }
    }
}
