//! `pxelab`: run PXE scenarios in the simulator, validate them, explain a boot.

use clap::{Parser, Subcommand, ValueEnum};
use pxelab_scenario::{self as scenario, Mode, Scenario};
use pxelab_sim::merge::{Shard, Suite};
use pxelab_sim::{report, run_scenario, RunOptions, ScenarioResult};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

mod audit;
mod bench_dhcp;
mod bench_plot;
mod bench_soak;
mod bench_storm;
mod bench_tftp;
mod results;

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
        /// Also write the JSON results here (what `pxelab merge` reads).
        #[arg(long)]
        json: Option<PathBuf>,
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
        /// Skip CRC checks of downloads (sizes are still checked).
        #[arg(long)]
        no_verify: bool,
        /// Run in the lab: network namespaces, real DHCP servers and relays, `pxelab
        /// serve` responders and QEMU firmware (root; see docs/LAB.md). Only scenarios
        /// whose `modes` include `lab` run.
        #[arg(long)]
        lab: bool,
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
        /// Lab: longest a client boot may take before it is stopped and judged.
        #[arg(long, default_value = "300s", value_parser = parse_secs)]
        boot_timeout: std::time::Duration,
    },
    /// Validate scenario files only.
    Check {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Print the scenario format's JSON Schema (for editors: see scenario/REFERENCE.md).
    Schema,
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
        /// The UDP ports TFTP transfers are served from (their TIDs), FIRST-LAST: each
        /// transfer gets one at random; one another process holds is passed over.
        #[arg(long, value_name = "FIRST-LAST", default_value_t = pxelab_engine::responder::TransferPorts::default())]
        tftp_ports: pxelab_engine::responder::TransferPorts,
        /// Memory the read-ahead windows of all open files may hold together (up to
        /// 256 KiB each); past it, transfers read block by block.
        #[arg(long, value_name = "SIZE", default_value = "32MiB", value_parser = parse_budget)]
        read_ahead_budget: usize,
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
    /// Every DHCP and proxy DHCP server seen answering on a segment (live on an
    /// interface, or from pcap files), flagged when the scenario does not name it: exit
    /// status 1 when one is flagged, 2 on an error.
    Audit(audit::AuditArgs),
    /// Merge the JSON results of a suite's shards (`pxelab run --shard I/N --json F`)
    /// into the results of one run. Refuses shards of different suites, shards split
    /// differently, a scenario in two files, and (unless --partial) a missing shard.
    /// Exit status 0 when every scenario passed, 1 when one failed, 2 on a refusal.
    Merge(results::MergeArgs),
}

#[derive(Subcommand)]
enum LabCmd {
    /// Remove leftovers of crashed runs: network namespaces named `pxelab-*` and the
    /// processes still running inside them, run directories `/tmp/pxelab-lab-*` whose
    /// run is gone (and the processes they list), and their tap devices.
    Clean,
    /// Say what `pxelab run --lab` needs that this machine lacks (Debian packages).
    Check {
        /// Scenarios to check for (their firmware); all firmware when omitted.
        paths: Vec<PathBuf>,
    },
    /// Build the boot programs (BIOS first stage, UEFI x64/IA32/ARM64) into a directory.
    Images {
        #[arg(long)]
        out: PathBuf,
    },
    /// (internal) A segment's switch process.
    #[command(hide = true)]
    Switch {
        #[arg(long)]
        spec: PathBuf,
    },
    /// (internal) A segment's modelled clients on a switch port.
    #[command(hide = true)]
    Swarm {
        #[arg(long)]
        spec: PathBuf,
    },
    /// Download one file with pxelab's own TFTP client (the engine's client on a real
    /// socket); prints one JSON line: seconds, bytes, CRC-32, granted options.
    TftpGet {
        /// The server's address.
        #[arg(long)]
        server: std::net::Ipv4Addr,
        #[arg(long, default_value_t = 69)]
        port: u16,
        /// The file name to ask for.
        #[arg(long)]
        file: String,
        /// blksize to ask for (none when omitted).
        #[arg(long)]
        block_size: Option<u16>,
        /// windowsize to ask for (none when omitted).
        #[arg(long)]
        window_size: Option<u16>,
        /// Do not ask for tsize.
        #[arg(long)]
        no_tsize: bool,
        /// Retransmission timeout, e.g. 1s or 500ms.
        #[arg(long, default_value = "1s")]
        timeout: String,
    },
    /// (internal) The built-in DHCP server process.
    #[command(hide = true)]
    Dhcpd {
        #[arg(long)]
        spec: PathBuf,
    },
    /// (internal) A router's DHCP relay agent process.
    #[command(hide = true)]
    Relay {
        #[arg(long)]
        spec: PathBuf,
    },
}

/// `pxelab serve --read-ahead-budget`: a size as scenarios write them (`32MiB`, bytes).
fn parse_budget(s: &str) -> Result<usize, String> {
    pxelab_scenario::values::parse_size(s).map(|b| b as usize)
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

fn parse_secs(s: &str) -> Result<std::time::Duration, String> {
    let t = s.trim();
    let n = t.strip_suffix('s').unwrap_or(t);
    n.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v > 0.0)
        .map(std::time::Duration::from_secs_f64)
        .ok_or_else(|| format!("`{s}` is not a duration in seconds (for example 300s)"))
}

fn read_spec<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

fn exit_with(r: Result<(), String>) -> ExitCode {
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
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
    /// TFTP transfer time over a matrix of block size x window size x link x size, with
    /// each point's theoretical bound min(rate, window x block / RTT).
    Tftp(Box<TftpBenchArgs>),
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
    Soak(Box<bench_soak::SoakArgs>),
}

#[derive(clap::Args)]
struct DhcpArgs {
    /// pxelab, dnsmasq.
    #[arg(long, default_value = "pxelab,dnsmasq")]
    servers: String,
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
    #[arg(long, default_value = "uefi-x64")]
    firmware: String,
    /// table or json.
    #[arg(long, default_value = "table")]
    format: String,
}

/// Before a lab bench runs: what this machine lacks (the bench stops, saying so), this
/// program's path (the bench starts it as `pxelab serve` and the switch) and the
/// interrupt handler that tears the bench's lab down on Ctrl-C.
fn lab_bench_prelude(what: &str, missing: &[String]) -> Result<PathBuf, ExitCode> {
    if !missing.is_empty() {
        eprintln!("error: `{what}` needs:");
        for m in missing {
            eprintln!("  - {m}");
        }
        return Err(ExitCode::FAILURE);
    }
    let exe = std::env::current_exe().map_err(|e| {
        eprintln!("error: cannot find this program's path: {e}");
        ExitCode::FAILURE
    })?;
    pxelab_harness::procs::install_interrupt_handler();
    Ok(exe)
}

fn bench_dhcp_cmd(a: &DhcpArgs) -> ExitCode {
    use bench_tftp::list;
    use pxelab_harness::bench::{find_program, ProxyServer};
    let parsed = (|| -> Result<(Vec<ProxyServer>, Vec<u32>), String> {
        let servers = list(&a.servers, ProxyServer::parse).map_err(|e| format!("--servers {e}"))?;
        let rates = list(&a.rate, |x| {
            x.parse::<u32>()
                .ok()
                .filter(|r| *r > 0)
                .ok_or_else(|| "not a rate (DISCOVERs a second, more than 0)".to_string())
        })
        .map_err(|e| format!("--rate {e}"))?;
        bench_dhcp::pxe_options(&a.firmware)?;
        if !["table", "json"].contains(&a.format.as_str()) {
            return Err(format!("--format {}: use table or json", a.format));
        }
        if servers.is_empty() || rates.is_empty() || a.clients == 0 || a.seconds == 0 {
            return Err("nothing to run: give servers, rates, --clients and --seconds".into());
        }
        Ok((servers, rates))
    })();
    let (servers, rates) = match parsed {
        Ok(v) => v,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    // Root and iproute2, as the TFTP bench; then perfdhcp and the servers.
    let mut missing = pxelab_harness::bench::missing(&[], &[]);
    for (prog, pkg, needed) in [
        ("perfdhcp", "kea-admin", true),
        (
            "dnsmasq",
            "dnsmasq-base",
            servers.contains(&ProxyServer::Dnsmasq),
        ),
    ] {
        if needed && find_program(prog).is_none() {
            missing.push(format!("`{prog}`: apt-get install {pkg}"));
        }
    }
    let exe = match lab_bench_prelude("pxelab bench dhcp", &missing) {
        Ok(e) => e,
        Err(code) => return code,
    };
    let bar = indicatif::ProgressBar::new_spinner();
    let plain = bar.is_hidden();
    let bench = bench_dhcp::DhcpBench {
        servers,
        rates,
        clients: a.clients,
        seconds: a.seconds,
        firmware: a.firmware.clone(),
        exe,
    };
    let r = bench_dhcp::run(&bench, |step| {
        if plain {
            eprintln!("bench: {step}");
        } else {
            bar.set_message(step.to_string());
            bar.tick();
        }
    });
    bar.finish_and_clear();
    match r {
        Ok(points) => {
            if a.format == "json" {
                println!("{}", serde_json::json!({ "points": points }));
            } else {
                print!("{}", bench_dhcp::table(&points));
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

#[derive(clap::Args)]
struct StormArgs {
    /// Clients powering on (list).
    #[arg(long, default_value = "100")]
    clients: String,
    /// Responders holding the image (list).
    #[arg(long, default_value = "4")]
    responders: String,
    /// peer or distribution_point.
    #[arg(long, default_value = "peer")]
    role: String,
    /// uefi-x64, bios-x64, uefi-ia32 or uefi-arm64.
    #[arg(long, default_value = "uefi-x64")]
    firmware: String,
    #[arg(long, default_value = "100MiB")]
    image_size: String,
    #[arg(long, default_value = "1Gbit")]
    rate: String,
    /// One-way delay.
    #[arg(long, default_value = "0")]
    delay: String,
    #[arg(long, default_value = "0")]
    loss: String,
    /// The responders' RamDisk TFTP block size caps (list).
    #[arg(long, default_value = "4096")]
    block_size: String,
    /// The responders' RamDisk TFTP window size caps (list).
    #[arg(long, default_value = "1")]
    window_size: String,
    /// Power-ons spread evenly over this time (0: all at once).
    #[arg(long, default_value = "0")]
    spread: String,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// table or json.
    #[arg(long, default_value = "table")]
    format: String,
    /// Print the generated scenario of the first row and stop (it runs with `pxelab run`).
    #[arg(long)]
    emit: bool,
    /// sim (predicted), lab (real responders, DHCP server and switch, modelled clients
    /// speaking real frames; root) or both.
    #[arg(long, default_value = "sim")]
    mode: String,
}

fn bench_storm_cmd(a: &StormArgs) -> ExitCode {
    use bench_tftp::{list, parse_delays, parse_u16_list};
    let parsed = (|| -> Result<Vec<bench_storm::StormSpec>, String> {
        let u32s = |s: &str, flag: &str| {
            list(s, |x| {
                x.parse::<u32>()
                    .map_err(|_| "not a whole number".to_string())
            })
            .map_err(|e| format!("{flag} {e}"))
        };
        let clients = u32s(&a.clients, "--clients")?;
        let responders = u32s(&a.responders, "--responders")?;
        let blocks = parse_u16_list(&a.block_size, "--block-size", 8)
            .map_err(|e| format!("--block-size {e}"))?;
        let windows = parse_u16_list(&a.window_size, "--window-size", 1)
            .map_err(|e| format!("--window-size {e}"))?;
        let one = |v: Vec<Duration>, flag: &str| {
            v.first()
                .copied()
                .ok_or_else(|| format!("{flag}: one duration"))
        };
        use std::time::Duration;
        let delay = one(
            parse_delays(&a.delay).map_err(|e| format!("--delay {e}"))?,
            "--delay",
        )?;
        let spread = one(
            parse_delays(&a.spread).map_err(|e| format!("--spread {e}"))?,
            "--spread",
        )?;
        let image_size =
            scenario::values::parse_size(&a.image_size).map_err(|e| format!("--image-size {e}"))?;
        let rate_bps = scenario::values::parse_rate(&a.rate).map_err(|e| format!("--rate {e}"))?;
        let loss = scenario::values::parse_ratio(&a.loss).map_err(|e| format!("--loss {e}"))?;
        let mut specs = Vec::new();
        for &c in &clients {
            for &r in &responders {
                for &b in &blocks {
                    for &w in &windows {
                        specs.push(bench_storm::StormSpec {
                            clients: c,
                            responders: r,
                            role: a.role.clone(),
                            firmware: a.firmware.clone(),
                            image_size,
                            rate_bps,
                            delay,
                            loss,
                            block_size: b,
                            window_size: w,
                            spread,
                            seed: a.seed,
                        });
                    }
                }
            }
        }
        Ok(specs)
    })();
    let specs = match parsed {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    if !["table", "json"].contains(&a.format.as_str()) {
        eprintln!("error: --format {}: use table or json", a.format);
        return ExitCode::FAILURE;
    }
    if a.emit {
        return match bench_storm::scenario_yaml(&specs[0]) {
            Ok(y) => {
                print!("{y}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let (sim, lab) = match a.mode.as_str() {
        "sim" => (true, false),
        "lab" => (false, true),
        "both" => (true, true),
        m => {
            eprintln!("error: --mode {m}: use sim, lab or both");
            return ExitCode::FAILURE;
        }
    };
    let mut rows = Vec::new();
    if lab {
        // The lab prints its own progress; each storm is one lab run.
        // Each storm as a file: the lab's responders read their scenario from it.
        let dir = std::env::temp_dir().join(format!("pxelab-storm-{}", std::process::id()));
        let loaded = (|| -> Result<Vec<Scenario>, String> {
            std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            let mut v = Vec::new();
            for (i, s) in specs.iter().enumerate() {
                let f = dir.join(format!("storm-{}.yaml", i + 1));
                std::fs::write(&f, bench_storm::scenario_yaml(s)?)
                    .map_err(|e| format!("{}: {e}", f.display()))?;
                v.push(scenario::load_file(&f).map_err(|e| e.to_string())?);
            }
            Ok(v)
        })();
        let scenarios = match loaded {
            Ok(v) => v,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&dir);
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        };
        let refs: Vec<&Scenario> = scenarios.iter().collect();
        let flags = LabRunFlags {
            keep: false,
            boot_timeout: std::time::Duration::from_secs(600),
            model_clients: true,
            capture: Default::default(),
        };
        let results = run_lab(&refs, None, flags, false);
        let _ = std::fs::remove_dir_all(&dir);
        let results = match results {
            Ok(r) => r,
            Err(code) => return code,
        };
        for (s, r) in specs.iter().zip(&results) {
            rows.push(bench_storm::summarize(s, r));
        }
    }
    let bar = indicatif::ProgressBar::new(specs.len() as u64);
    for s in specs.iter().filter(|_| sim) {
        bar.set_message(format!(
            "{} clients, {} responders, block {} window {}",
            s.clients, s.responders, s.block_size, s.window_size
        ));
        match bench_storm::run(s) {
            Ok(r) => rows.push(r),
            Err(e) => {
                bar.finish_and_clear();
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    if a.format == "json" {
        println!("{}", serde_json::json!({ "storms": rows }));
    } else {
        print!("{}", bench_storm::table(&rows));
    }
    ExitCode::SUCCESS
}

#[derive(clap::Args)]
struct TftpBenchArgs {
    /// A bench file (scenarios/bench/*.yaml) with the matrix and settings; flags given
    /// here override it.
    file: Option<PathBuf>,
    /// sim: the simulator's prediction; lab: real transfers between two network
    /// namespaces (root; the lab's switch emulates the link); both: the two, with the
    /// relative error per point. [default: sim]
    #[arg(long)]
    mode: Option<String>,
    /// Servers to compare: pxelab, atftpd, tftpd-hpa, dnsmasq (lab; the simulator models
    /// pxelab's own). [default: pxelab]
    #[arg(long)]
    servers: Option<String>,
    /// Clients: pxelab (our own), atftp, and the firmware itself under QEMU: ovmf
    /// (blksize 1468, windowsize 4), ipxe (blksize 1432): one point each, whatever the
    /// block and window lists (lab). [default: pxelab]
    #[arg(long)]
    clients: Option<String>,
    /// [default: 1432,4096,8192]
    #[arg(long)]
    block_size: Option<String>,
    /// [default: 1,4,8,16]
    #[arg(long)]
    window_size: Option<String>,
    /// Link rates, e.g. 100Mbit,1Gbit; `veth` is the lab's plain veth pair (no
    /// emulation, no delay or loss). [default: 1Gbit]
    #[arg(long)]
    rate: Option<String>,
    /// One-way delays. [default: 1ms]
    #[arg(long)]
    delay: Option<String>,
    /// Loss ratios (0.01 or 1%). [default: 0]
    #[arg(long)]
    loss: Option<String>,
    /// File sizes. [default: 16MiB]
    #[arg(long)]
    size: Option<String>,
    /// Runs per point (each with its own loss draws); median and spread reported.
    /// [default: 3]
    #[arg(long)]
    repeat: Option<u32>,
    /// table (terminal), json ({"points": [...]}), csv or markdown.
    #[arg(long, default_value = "table")]
    format: String,
    /// Also draw transfer time against window size, one line per block size, one panel
    /// per link (SVG).
    #[arg(long)]
    plot: Option<PathBuf>,
    /// Run nothing: show a saved run (the JSON of `--format json`) again, in --format
    /// and --plot.
    #[arg(long, conflicts_with = "file")]
    from: Option<PathBuf>,
}

/// The bench's settings: the command line's, else the bench file's, else the defaults.
struct TftpBench {
    mode: String,
    servers: String,
    clients: String,
    block_size: String,
    window_size: String,
    rate: String,
    delay: String,
    loss: String,
    size: String,
    repeat: u32,
    format: String,
    plot: Option<PathBuf>,
    /// Given on the command line (not from the bench file or the defaults).
    explicit_servers: bool,
    explicit_rate: bool,
}

impl TftpBenchArgs {
    fn resolve(&self) -> Result<TftpBench, String> {
        let f = match &self.file {
            Some(p) => bench_tftp::BenchFile::load(p)?,
            None => bench_tftp::BenchFile::default(),
        };
        let pick = |cli: &Option<String>, file: &Option<bench_tftp::Items>, default: &str| {
            cli.clone()
                .or_else(|| file.as_ref().map(|i| i.joined()))
                .unwrap_or_else(|| default.to_string())
        };
        Ok(TftpBench {
            mode: self
                .mode
                .clone()
                .or(f.mode.clone())
                .unwrap_or_else(|| "sim".into()),
            servers: pick(&self.servers, &f.servers, "pxelab"),
            clients: pick(&self.clients, &f.clients, "pxelab"),
            block_size: pick(&self.block_size, &f.block_size, "1432,4096,8192"),
            window_size: pick(&self.window_size, &f.window_size, "1,4,8,16"),
            rate: pick(&self.rate, &f.rate, "1Gbit"),
            delay: pick(&self.delay, &f.delay, "1ms"),
            loss: pick(&self.loss, &f.loss, "0"),
            size: pick(&self.size, &f.size, "16MiB"),
            repeat: self.repeat.or(f.repeat).unwrap_or(3),
            format: self.format.clone(),
            plot: self.plot.clone(),
            explicit_servers: self.servers.is_some(),
            explicit_rate: self.rate.is_some(),
        })
    }
}

/// `pxelab check`: every error of every file, located (not only each file's first).
fn check(paths: &[PathBuf]) -> ExitCode {
    let (files, mut failed) = match scenario_files(paths) {
        Ok(f) => (f, false),
        Err(e) => {
            eprintln!("error: {e}");
            (Vec::new(), true)
        }
    };
    let mut valid = 0;
    for f in &files {
        let errors = scenario::check_file(f);
        if errors.is_empty() {
            println!("ok: {}", f.display());
            valid += 1;
        }
        for e in &errors {
            eprintln!("error: {e}");
        }
        failed |= !errors.is_empty();
    }
    if failed {
        ExitCode::FAILURE
    } else {
        println!("{valid} scenario(s) valid");
        ExitCode::SUCCESS
    }
}

/// The scenario files among `paths`; none at all is an error that names the paths.
fn scenario_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let files = scenario::discover(paths).map_err(|e| e.to_string())?;
    if files.is_empty() {
        return Err(format!(
            "no scenario files (*.yaml, *.yml) found in {}",
            paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    Ok(files)
}

fn load_all(paths: &[PathBuf]) -> (Vec<Scenario>, Vec<String>) {
    let mut ok = Vec::new();
    let mut errors = Vec::new();
    let files = match scenario_files(paths) {
        Ok(f) => f,
        Err(e) => {
            errors.push(e);
            return (ok, errors);
        }
    };
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

/// `pxelab bench tftp`.
fn bench_tftp_cmd(args: &TftpBenchArgs) -> ExitCode {
    use bench_tftp::*;
    use pxelab_harness::bench::{Client, Server};
    if let Some(from) = &args.from {
        // A saved run (`--format json`), shown again: table, csv, markdown, plot.
        let points = std::fs::read_to_string(from)
            .map_err(|e| e.to_string())
            .and_then(|t| {
                #[derive(serde::Deserialize)]
                struct Saved {
                    points: Vec<PointResult>,
                }
                serde_json::from_str::<Saved>(&t).map_err(|e| e.to_string())
            });
        return match points {
            Ok(mut saved) => {
                saved
                    .points
                    .iter_mut()
                    .for_each(PointResult::fill_window_bound);
                emit_tftp(&saved.points, args.plot.as_deref(), &args.format)
            }
            Err(e) => {
                eprintln!("error: --from {}: {e}", from.display());
                ExitCode::FAILURE
            }
        };
    }
    let a = match args.resolve() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    if !["sim", "lab", "both"].contains(&a.mode.as_str()) {
        eprintln!("error: --mode {}: use sim, lab or both", a.mode);
        return ExitCode::FAILURE;
    }
    if !["table", "json", "csv", "markdown"].contains(&a.format.as_str()) {
        eprintln!(
            "error: --format {}: use table, json, csv or markdown",
            a.format
        );
        return ExitCode::FAILURE;
    }
    let parsed = (|| -> Result<(Matrix, Vec<Server>, Vec<Client>), String> {
        let m = Matrix {
            block_sizes: parse_u16_list(&a.block_size, "--block-size", 8)
                .map_err(|e| format!("--block-size {e}"))?,
            window_sizes: parse_u16_list(&a.window_size, "--window-size", 1)
                .map_err(|e| format!("--window-size {e}"))?,
            rates: parse_rates(&a.rate).map_err(|e| format!("--rate {e}"))?,
            delays: parse_delays(&a.delay).map_err(|e| format!("--delay {e}"))?,
            losses: parse_losses(&a.loss).map_err(|e| format!("--loss {e}"))?,
            sizes: parse_sizes(&a.size).map_err(|e| format!("--size {e}"))?,
            repeat: a.repeat,
        };
        let servers = list(&a.servers, Server::parse).map_err(|e| format!("--servers {e}"))?;
        let clients = list(&a.clients, Client::parse).map_err(|e| format!("--clients {e}"))?;
        let mut m = m;
        if a.mode == "sim" {
            // What only the lab has: an error when asked for on the command line; left
            // out, with a note, when it comes from a bench file run with --mode sim.
            if let Some(s) = servers.iter().find(|s| **s != Server::Pxelab) {
                if a.explicit_servers {
                    return Err(format!(
                        "--servers: `{}` runs only in the lab (--mode lab or both); the simulator models pxelab's own server",
                        s.name()
                    ));
                }
                eprintln!("note: the simulator models pxelab's own server only; the other servers run in the lab (--mode lab or both)");
            }
            if m.rates.contains(&Rate::Veth) {
                if a.explicit_rate {
                    return Err(
                        "--rate veth: the veth pair is a lab link (--mode lab or both)".into(),
                    );
                }
                eprintln!("note: the veth link is left out: it is a lab link (--mode lab or both)");
                m.rates.retain(|r| *r != Rate::Veth);
                if m.rates.is_empty() {
                    return Err("no link to simulate: the bench file has only veth".into());
                }
            }
        }
        if m.block_sizes.iter().any(|b| *b > 65464) {
            return Err("--block-size: at most 65464 (RFC 2348)".into());
        }
        if servers.is_empty() || clients.is_empty() || m.points() == 0 {
            return Err("the matrix is empty".into());
        }
        Ok((m, servers, clients))
    })();
    let (matrix, servers, clients) = match parsed {
        Ok(v) => v,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let points = if a.mode == "sim" {
        let bar = indicatif::ProgressBar::new(matrix.points() as u64);
        let p = run_sim(&matrix, |_| bar.inc(1));
        bar.finish_and_clear();
        p
    } else {
        let missing = pxelab_harness::bench::missing(&servers, &clients);
        let what = format!("pxelab bench tftp --mode {}", a.mode);
        let exe = match lab_bench_prelude(&what, &missing) {
            Ok(e) => e,
            Err(code) => return code,
        };
        let settings = LabSettings {
            servers,
            clients,
            exe,
            with_sim: a.mode == "both",
        };
        let total = (matrix.points() * settings.servers.len() * settings.clients.len()) as u64;
        let bar = indicatif::ProgressBar::new(total).with_style(
            indicatif::ProgressStyle::with_template(
                "{bar:30} {pos}/{len} points {elapsed_precise} {wide_msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        let plain = bar.is_hidden();
        let r = run_lab(
            &matrix,
            &settings,
            |step| {
                if plain {
                    eprintln!("bench: {step}");
                } else {
                    bar.set_message(step.to_string());
                }
            },
            |_| bar.inc(1),
        );
        bar.finish_and_clear();
        match r {
            Ok(p) => p,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        }
    };
    emit_tftp(&points, a.plot.as_deref(), &a.format)
}

/// The bench's output: the plot, then the points in the format asked for.
fn emit_tftp(points: &[bench_tftp::PointResult], plot: Option<&Path>, format: &str) -> ExitCode {
    use bench_tftp::*;
    let points = points.to_vec();
    if let Some(plot) = plot {
        if let Err(e) = bench_plot::plot(&points, plot) {
            eprintln!("error: --plot {}: {e}", plot.display());
            return ExitCode::FAILURE;
        }
    }
    match format {
        "json" => {
            let v = serde_json::json!({ "points": points });
            println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
        }
        "csv" => print!("{}", csv(&points)),
        other => {
            print!("{}", table(&points, other == "markdown"));
            for a in advice(&points) {
                println!("advice: {a}");
            }
        }
    }
    ExitCode::SUCCESS
}

/// Missing lab prerequisites (all firmware when `all`).
fn lab_missing(scenarios: &[&Scenario], all: bool) -> Vec<String> {
    if all {
        let mut sc = scenario::load_str(
            "scenario: all firmware\nnetwork:\n  segments: [{name: s, cidr: 10.0.0.0/24}]\n",
            Path::new("<all>"),
        )
        .expect("built-in scenario loads");
        for (i, f) in pxelab_scenario::Firmware::ALL.iter().enumerate() {
            sc.network.clients.push(pxelab_scenario::Client {
                name: format!("c{i}"),
                segment: "s".into(),
                firmware: *f,
                machine: None,
                mac: pxelab_engine::Mac([2, 0, 0, 0, 0, i as u8]),
                smbios_guid: None,
                press_key: false,
            });
        }
        return pxelab_harness::prereq::missing_prerequisites(&[&sc]);
    }
    pxelab_harness::prereq::missing_prerequisites(scenarios)
}

/// `pxelab run --lab`: each scenario built, run and torn down in turn.
/// How `pxelab run --lab` runs: keep the network up, longest boot, modelled clients.
struct LabRunFlags {
    keep: bool,
    boot_timeout: std::time::Duration,
    model_clients: bool,
    capture: pxelab_sim::pcap::CaptureOptions,
}

fn run_lab(
    scenarios: &[&Scenario],
    pcap: Option<&Path>,
    flags: LabRunFlags,
    several: bool,
) -> Result<Vec<ScenarioResult>, ExitCode> {
    let LabRunFlags {
        keep,
        boot_timeout,
        model_clients,
        capture,
    } = flags;
    let missing = lab_missing(scenarios, false);
    if !missing.is_empty() {
        eprintln!("error: the lab cannot run on this machine; missing:");
        for m in &missing {
            eprintln!("  - {m}");
        }
        eprintln!("(install the packages with apt-get install, or run scripts/test-all.sh once)");
        return Err(ExitCode::FAILURE);
    }
    pxelab_harness::procs::install_interrupt_handler();
    let exe = std::env::current_exe().map_err(|e| {
        eprintln!("error: cannot find the pxelab binary: {e}");
        ExitCode::FAILURE
    })?;
    let programs = std::env::temp_dir().join(format!("pxelab-images-{}", std::process::id()));
    if let Err(e) = pxelab_harness::bootroot::build_images(&programs) {
        eprintln!("error: {e}");
        return Err(ExitCode::FAILURE);
    }
    let bar = indicatif::ProgressBar::new(scenarios.len() as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar.enable_steady_tick(std::time::Duration::from_millis(500));
    let verbose = bar.is_hidden() || std::env::var_os("PXELAB_LAB_VERBOSE").is_some();
    let mut results = Vec::new();
    for s in scenarios {
        if pxelab_harness::procs::interrupted() {
            break;
        }
        bar.set_message(s.file.display().to_string());
        let pcap_dir = pcap.map(|d| pcap_dir_for(d, s, several));
        if let Some(d) = &pcap_dir {
            let _ = std::fs::create_dir_all(d);
        }
        let opts = pxelab_harness::lab::LabOptions {
            exe: exe.clone(),
            programs: programs.clone(),
            pcap_dir,
            capture: capture.clone(),
            keep,
            boot_timeout,
            warmup: std::time::Duration::from_secs(5),
            verbose,
            // A hidden bar (not a terminal): the lab prints its steps (verbose).
            progress: (!bar.is_hidden()).then(|| {
                let bar = bar.clone();
                pxelab_harness::progress::Progress::new(move |m| bar.set_message(m.to_string()))
            }),
            model_clients,
        };
        let r = pxelab_harness::lab::Lab::new(s, opts).run();
        bar.println(format!(
            "{} {} (lab, {:.1}s)",
            if r.passed { "pass" } else { "FAIL" },
            s.file.display(),
            r.wall_time_s
        ));
        if let Some(m) = capture.take_notice() {
            // A hidden bar (not a terminal: CI) prints nothing.
            if bar.is_hidden() {
                eprintln!("warning: {m}");
            } else {
                bar.println(format!("warning: {m}"));
            }
        }
        results.push(r);
        bar.inc(1);
    }
    bar.finish_and_clear();
    let _ = std::fs::remove_dir_all(&programs);
    if pxelab_harness::procs::interrupted() {
        eprintln!("interrupted: the lab was torn down");
    }
    Ok(results)
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
    // Reports piped into `head` and the like: end quietly when the reader goes away, as
    // other command-line tools do, instead of panicking on the write's EPIPE. Only for
    // commands that build nothing to tear down: daemons and everything that builds a
    // lab keep Rust's default (ignored; a write error instead, and teardown runs).
    let builds_nothing = match &cli.cmd {
        Cmd::Run { lab, .. } => !lab,
        Cmd::Check { .. } | Cmd::Schema | Cmd::Explain { .. } | Cmd::Audit(_) | Cmd::Merge(_) => {
            true
        }
        Cmd::Bench {
            what: BenchCmd::Sim { .. } | BenchCmd::Storm(_),
        } => true,
        _ => false,
    };
    if builds_nothing {
        // SAFETY: setting a signal's disposition to its default at start-up, before
        // any thread exists.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
    match cli.cmd {
        Cmd::Run {
            paths,
            tags,
            seed,
            format,
            junit,
            json,
            pcap,
            pcap_full,
            pcap_budget,
            no_verify,
            lab,
            keep,
            model_clients,
            shard,
            boot_timeout,
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
            let mode = if lab { Mode::Lab } else { Mode::Sim };
            let (runnable, skipped): (Vec<&Scenario>, Vec<&Scenario>) =
                wanted.into_iter().partition(|s| s.modes.contains(&mode));
            for s in &skipped {
                eprintln!(
                    "skip: {} (modes do not include {})",
                    s.file.display(),
                    mode.as_str()
                );
            }
            let files: Vec<&Path> = runnable.iter().map(|s| s.file.as_path()).collect();
            let suite = Suite::new(mode.as_str(), seed, &tags, &files, shard);
            let runnable: Vec<&Scenario> = match shard {
                Some(shard) => runnable
                    .into_iter()
                    .enumerate()
                    .filter(|(k, _)| shard.holds(*k))
                    .map(|(_, s)| s)
                    .collect(),
                None => runnable,
            };
            let several = runnable.len() > 1;
            let capture = pxelab_sim::pcap::CaptureOptions::new(pcap_full, pcap_budget);
            let results: Vec<ScenarioResult> = if lab {
                let flags = LabRunFlags {
                    keep,
                    boot_timeout,
                    model_clients,
                    capture,
                };
                match run_lab(&runnable, pcap.as_deref(), flags, several) {
                    Ok(r) => r,
                    Err(code) => return code,
                }
            } else {
                runnable
                    .iter()
                    .map(|s| {
                        let opts = RunOptions {
                            seed,
                            pcap_dir: pcap.as_ref().map(|d| pcap_dir_for(d, s, several)),
                            capture: capture.clone(),
                            trace: true,
                            no_verify,
                        };
                        let r = run_scenario(s, &opts);
                        if let Some(m) = capture.take_notice() {
                            eprintln!("warning: {m}");
                        }
                        r
                    })
                    .collect()
            };
            if let Err(code) = results::emit(&results, &suite, format, json, junit) {
                return code;
            }
            // Scenarios skipped for their modes do not fail a run; files that do not
            // load do (they are in `errors`, as is finding no scenario file at all).
            if errors.is_empty() && results.iter().all(|r| r.passed) {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Cmd::Check { paths } => check(&paths),
        Cmd::Schema => {
            let schema = pxelab_scenario::schema::json_schema();
            println!("{}", serde_json::to_string_pretty(&schema).expect("JSON"));
            ExitCode::SUCCESS
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
                capture: Default::default(),
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
            tftp_ports,
            read_ahead_budget,
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
            // A responder of the file, or one of its rogues (extension `network.rogues`:
            // a peer that never answers, with its own key or none).
            let found = sc
                .network
                .responders
                .iter()
                .find(|r| r.config.name == responder)
                .map(|r| (r.config.clone(), r.mac_exclusion_file.clone()))
                .or_else(|| {
                    sc.network
                        .rogues
                        .iter()
                        .find(|r| r.name == responder)
                        .map(|r| (r.responder_config(), None))
                });
            let Some((config, exclusion_file)) = found else {
                let names: Vec<&str> = sc.serve_names().collect();
                eprintln!(
                    "error: {} has no responder `{responder}` (responders: {})",
                    scenario.display(),
                    names.join(", ")
                );
                return ExitCode::FAILURE;
            };
            let opts = pxelab_daemon::serve::ServeOptions {
                config,
                site: sc.site.clone(),
                interface,
                root,
                state,
                exclusion_file,
                seed,
                tftp_ports,
                read_ahead_budget,
            };
            match pxelab_daemon::serve::run(opts) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Cmd::Lab { what } => match what {
            LabCmd::Clean => match pxelab_harness::namespaces::clean() {
                Ok(n) => {
                    println!("{n} leftover(s) removed");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::FAILURE
                }
            },
            LabCmd::Check { paths } => {
                let (scenarios, errors) = if paths.is_empty() {
                    (Vec::new(), Vec::new())
                } else {
                    load_all(&paths)
                };
                for e in &errors {
                    eprintln!("error: {e}");
                }
                let refs: Vec<&Scenario> = scenarios.iter().collect();
                let missing = lab_missing(&refs, paths.is_empty());
                if missing.is_empty() && errors.is_empty() {
                    println!("the lab has everything it needs");
                    ExitCode::SUCCESS
                } else {
                    for m in &missing {
                        println!("missing: {m}");
                    }
                    ExitCode::FAILURE
                }
            }
            LabCmd::Images { out } => exit_with(pxelab_harness::bootroot::build_images(&out)),
            LabCmd::Switch { spec } => {
                exit_with(read_spec(&spec).and_then(pxelab_harness::switch::run))
            }
            LabCmd::Swarm { spec } => {
                exit_with(read_spec(&spec).and_then(pxelab_harness::swarm::run))
            }
            LabCmd::TftpGet {
                server,
                port,
                file,
                block_size,
                window_size,
                no_tsize,
                timeout,
            } => {
                let timeout = match pxelab_scenario::values::parse_duration(&timeout) {
                    Ok(t) => t,
                    Err(e) => {
                        eprintln!("error: --timeout {timeout}: {e}");
                        return ExitCode::FAILURE;
                    }
                };
                let o = pxelab_harness::tftp_get::GetOptions {
                    server,
                    port,
                    file,
                    block_size,
                    window_size,
                    tsize: !no_tsize,
                    timeout,
                    verify: true,
                    local_port: 0,
                };
                match pxelab_harness::tftp_get::get(&o) {
                    Ok(r) => {
                        println!("{}", serde_json::to_string(&r).unwrap_or_default());
                        if r.error.is_some() {
                            ExitCode::FAILURE
                        } else {
                            ExitCode::SUCCESS
                        }
                    }
                    Err(e) => {
                        eprintln!("error: {e}");
                        ExitCode::FAILURE
                    }
                }
            }
            LabCmd::Dhcpd { spec } => {
                exit_with(read_spec(&spec).and_then(pxelab_harness::hostd::run_dhcpd))
            }
            LabCmd::Relay { spec } => {
                exit_with(read_spec(&spec).and_then(pxelab_harness::hostd::run_relay))
            }
        },
        Cmd::Audit(args) => audit::run(&args),
        Cmd::Merge(args) => results::merge(args),
        Cmd::Bench {
            what: BenchCmd::Tftp(args),
        } => bench_tftp_cmd(&args),
        Cmd::Bench {
            what: BenchCmd::Storm(args),
        } => bench_storm_cmd(&args),
        Cmd::Bench {
            what: BenchCmd::Dhcp(args),
        } => bench_dhcp_cmd(&args),
        Cmd::Bench {
            what: BenchCmd::Soak(args),
        } => bench_soak::run(&args),
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
                capture: Default::default(),
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
