//! `pxelab`: run PXE scenarios in the simulator, validate them, explain a boot.

use clap::{Parser, Subcommand, ValueEnum};
use pxelab_scenario::{self as scenario, Mode, Scenario};
use pxelab_sim::{report, run_scenario, RunOptions, ScenarioResult};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "pxelab",
    version,
    about = "Virtual lab and conformance simulator for peer PXE"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Format {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run scenario files or directories (recursive) in the simulator.
    Run {
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
        /// Write one pcap per segment into this directory (a subdirectory per
        /// scenario when several run).
        #[arg(long)]
        pcap: Option<PathBuf>,
        /// Skip CRC checks of downloads (sizes are still checked).
        #[arg(long)]
        no_verify: bool,
    },
    /// Validate scenario files only.
    Check {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// A client's timeline, packet by packet, with each responder's log lines.
    Explain {
        file: PathBuf,
        #[arg(long)]
        client: String,
        /// Which boot of that client (from 1); all boots when omitted.
        #[arg(long)]
        boot: Option<u32>,
        #[arg(long)]
        seed: Option<u64>,
    },
    /// Run one responder of a scenario as a real daemon (proxy DHCP 67/4011, TFTP 69).
    ///
    /// The site policy and the responder's settings come from the scenario file, the
    /// files it serves from --root, the required-deployment records from --state (SQLite,
    /// shared by the site's responders). SIGHUP or a change of the responder's
    /// mac_exclusion_file reloads it. Needs root for ports 67 and 69.
    Serve {
        /// Scenario (or site) file holding `site` and `network.responders`.
        #[arg(long)]
        scenario: PathBuf,
        /// Which responder of the file to run.
        #[arg(long)]
        responder: String,
        /// Bind to this interface only (SO_BINDTODEVICE).
        #[arg(long)]
        interface: Option<String>,
        /// The boot root directory served over TFTP.
        #[arg(long)]
        root: PathBuf,
        /// The site's state database.
        #[arg(long, default_value = "pxelab-state.db")]
        state: PathBuf,
        /// Seed of the peer membership's randomness.
        #[arg(long, default_value_t = 0)]
        seed: u64,
    },
    /// The lab (network namespaces).
    Lab {
        #[command(subcommand)]
        what: LabCmd,
    },
    /// Benchmarks.
    Bench {
        #[command(subcommand)]
        what: BenchCmd,
    },
}

#[derive(Subcommand)]
enum LabCmd {
    /// Remove leftovers of crashed runs: network namespaces named `pxelab-*` and the
    /// processes still running inside them.
    Clean,
}

#[derive(Subcommand)]
enum BenchCmd {
    /// The simulator's speed on a scenario (default: the 1,000-client storm).
    Sim {
        #[arg(default_value = "scenarios/perf/storm-1000.yaml")]
        file: PathBuf,
        #[arg(long, default_value_t = 1)]
        repeat: u32,
        /// Skip CRC checks of downloads.
        #[arg(long)]
        no_verify: bool,
    },
}

fn load_all(paths: &[PathBuf]) -> (Vec<Scenario>, Vec<String>) {
    let mut ok = Vec::new();
    let mut errors = Vec::new();
    let files = match scenario::discover(paths) {
        Ok(f) => f,
        Err(e) => {
            errors.push(e.to_string());
            return (ok, errors);
        }
    };
    if files.is_empty() {
        errors.push(format!(
            "no scenario files (*.yaml, *.yml) found in {}",
            paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    for f in files {
        match scenario::load_file(&f) {
            Ok(s) => ok.push(s),
            Err(e) => errors.push(e.to_string()),
        }
    }
    (ok, errors)
}

/// Load one scenario file, or print its located error.
fn load_one(file: &Path) -> Option<Scenario> {
    match scenario::load_file(file) {
        Ok(s) => Some(s),
        Err(e) => {
            eprintln!("error: {e}");
            None
        }
    }
}

/// `pxelab lab clean`: every namespace this project names `pxelab-*`, the processes in
/// it (started by pxelab runs), then the namespace itself.
fn lab_clean() -> ExitCode {
    let list = match std::process::Command::new("ip")
        .args(["netns", "list"])
        .output()
    {
        Ok(o) => String::from_utf8_lossy(&o.stdout).into_owned(),
        Err(e) => {
            eprintln!("error: cannot run `ip netns list` (iproute2): {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut n = 0;
    for ns in list.lines().filter_map(|l| l.split_whitespace().next()) {
        if !ns.starts_with("pxelab-") {
            continue;
        }
        if let Ok(o) = std::process::Command::new("ip")
            .args(["netns", "pids", ns])
            .output()
        {
            for pid in String::from_utf8_lossy(&o.stdout).split_whitespace() {
                let _ = std::process::Command::new("kill")
                    .args(["-9", pid])
                    .status();
            }
        }
        match std::process::Command::new("ip")
            .args(["netns", "del", ns])
            .status()
        {
            Ok(s) if s.success() => {
                println!("removed namespace {ns}");
                n += 1;
            }
            _ => eprintln!("could not remove namespace {ns}"),
        }
    }
    println!("{n} namespace(s) removed");
    ExitCode::SUCCESS
}

fn pcap_dir_for(base: &Path, sc: &Scenario, several: bool) -> PathBuf {
    if !several {
        return base.to_path_buf();
    }
    let stem: String = sc
        .file
        .with_extension("")
        .components()
        .filter_map(|c| match c {
            std::path::Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("_");
    base.join(stem)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.cmd {
        Cmd::Run {
            paths,
            tags,
            seed,
            format,
            junit,
            pcap,
            no_verify,
        } => {
            let (scenarios, errors) = load_all(&paths);
            for e in &errors {
                eprintln!("error: {e}");
            }
            let wanted: Vec<&Scenario> = scenarios
                .iter()
                .filter(|s| {
                    tags.is_empty()
                        || s.tags
                            .iter()
                            .any(|t| tags.iter().any(|w| w.eq_ignore_ascii_case(t)))
                })
                .collect();
            let (runnable, skipped): (Vec<&Scenario>, Vec<&Scenario>) = wanted
                .into_iter()
                .partition(|s| s.modes.contains(&Mode::Sim));
            for s in &skipped {
                eprintln!("skip: {} (modes do not include sim)", s.file.display());
            }
            let several = runnable.len() > 1;
            let results: Vec<ScenarioResult> = runnable
                .iter()
                .map(|s| {
                    let opts = RunOptions {
                        seed,
                        pcap_dir: pcap.as_ref().map(|d| pcap_dir_for(d, s, several)),
                        trace: true,
                        no_verify,
                    };
                    run_scenario(s, &opts)
                })
                .collect();
            match format {
                Format::Text => print!("{}", report::text(&results)),
                Format::Json => println!("{}", report::json(&results)),
            }
            if let Some(j) = junit {
                if let Err(e) = std::fs::write(&j, report::junit(&results)) {
                    eprintln!("error: {}: {e}", j.display());
                    return ExitCode::FAILURE;
                }
            }
            // Scenarios skipped for their modes do not fail a run; files that do not
            // load do (they are in `errors`, as is finding no scenario file at all).
            if errors.is_empty() && results.iter().all(|r| r.passed) {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Cmd::Check { paths } => {
            let (scenarios, errors) = load_all(&paths);
            for s in &scenarios {
                println!("ok: {}", s.file.display());
            }
            for e in &errors {
                eprintln!("error: {e}");
            }
            if errors.is_empty() {
                println!("{} scenario(s) valid", scenarios.len());
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Cmd::Explain {
            file,
            client,
            boot,
            seed,
        } => {
            let Some(sc) = load_one(&file) else {
                return ExitCode::FAILURE;
            };
            let Some(c) = sc.network.clients.iter().find(|c| c.name == client) else {
                let names: Vec<&str> = sc.network.clients.iter().map(|c| c.name.as_str()).collect();
                eprintln!(
                    "error: {} has no client `{client}` (clients: {})",
                    file.display(),
                    names.join(", ")
                );
                return ExitCode::FAILURE;
            };
            let opts = RunOptions {
                seed,
                pcap_dir: None,
                trace: true,
                no_verify: false,
            };
            let r = run_scenario(&sc, &opts);
            print!("{}", report::explain(&r, &client, &c.mac.to_string(), boot));
            ExitCode::SUCCESS
        }
        Cmd::Serve {
            scenario,
            responder,
            interface,
            root,
            state,
            seed,
        } => {
            tracing_subscriber::fmt()
                .with_env_filter(
                    tracing_subscriber::EnvFilter::try_from_default_env()
                        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
                )
                .with_writer(std::io::stderr)
                .init();
            let Some(sc) = load_one(&scenario) else {
                return ExitCode::FAILURE;
            };
            let Some(r) = sc
                .network
                .responders
                .iter()
                .find(|r| r.config.name == responder)
            else {
                let names: Vec<&str> = sc
                    .network
                    .responders
                    .iter()
                    .map(|r| r.config.name.as_str())
                    .collect();
                eprintln!(
                    "error: {} has no responder `{responder}` (responders: {})",
                    scenario.display(),
                    names.join(", ")
                );
                return ExitCode::FAILURE;
            };
            let opts = pxelab_daemon::serve::ServeOptions {
                config: r.config.clone(),
                site: sc.site.clone(),
                interface,
                root,
                state,
                exclusion_file: r.mac_exclusion_file.clone(),
                seed,
            };
            match pxelab_daemon::serve::run(opts) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Cmd::Lab {
            what: LabCmd::Clean,
        } => lab_clean(),
        Cmd::Bench {
            what:
                BenchCmd::Sim {
                    file,
                    repeat,
                    no_verify,
                },
        } => {
            let Some(sc) = load_one(&file) else {
                return ExitCode::FAILURE;
            };
            let opts = RunOptions {
                seed: None,
                pcap_dir: None,
                trace: false,
                no_verify,
            };
            let mut ok = true;
            for i in 0..repeat.max(1) {
                let r = run_scenario(&sc, &opts);
                let rate = r.stats.packets_delivered as f64 / r.wall_time_s.max(1e-9);
                println!(
                    "run {}: {} — passed {}, {} boots, sim {:.1}s, wall {:.2}s, {} packets sent, {} delivered, {} events, {:.2} M packet events/s",
                    i + 1,
                    r.scenario,
                    r.passed,
                    r.boots.len(),
                    r.sim_time_s,
                    r.wall_time_s,
                    r.stats.packets_sent,
                    r.stats.packets_delivered,
                    r.stats.events,
                    rate / 1e6
                );
                ok &= r.passed;
            }
            if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
    }
}
