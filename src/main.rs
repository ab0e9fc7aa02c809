//! `pxelab`: the command line. It parses the arguments (clap) and hands each command
//! to its function in `cmd/`; the work is in the library crates (sim, harness, daemon,
//! bench, report, scenario). `main` → `try_main` → one function per command, as ripgrep does.

use clap::{Parser, Subcommand, ValueEnum};
use std::process::ExitCode;

mod cmd;

use cmd::bench::BenchCmd;
use cmd::lab::LabCmd;

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

/// `--format` of run, merge, audit and bench sim.
#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Format {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run scenario files or directories (recursive) in the simulator.
    Run(cmd::run::RunArgs),
    /// Validate scenario files only.
    Check(cmd::check::CheckArgs),
    /// Print the scenario format's JSON Schema (for editors: see scenario/REFERENCE.md).
    Schema,
    /// A client's timeline, packet by packet, with each responder's log lines.
    Explain(cmd::explain::ExplainArgs),
    /// Run one responder of a scenario as a real daemon (proxy DHCP 67/4011, TFTP 69).
    ///
    /// The site policy and the responder's settings come from the scenario file, the
    /// files it serves from --root, the required-deployment records from --state (SQLite,
    /// shared by the site's responders). SIGHUP or a change of the responder's
    /// mac_exclusion_file reloads it. Needs root for ports 67 and 69.
    Serve(cmd::serve::ServeArgs),
    /// Firmware profiles (docs/PROFILES.md).
    Firmware {
        #[command(subcommand)]
        what: cmd::firmware::FirmwareCmd,
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
    Audit(cmd::audit::AuditArgs),
    /// Merge the JSON results of a suite's shards (`pxelab run --shard I/N --json F`)
    /// into the results of one run. Refuses shards of different suites, shards split
    /// differently, a scenario in two files, and (unless --partial) a missing shard.
    /// Exit status 0 when every scenario passed, 1 when one failed, 2 on a refusal.
    Merge(cmd::results::MergeArgs),
    /// The firmware compatibility matrix: every built-in firmware against a set of
    /// server set-ups, in the simulator, the lab (root) or both (exit status 1 when
    /// they disagree in a cell). docs/FIRMWARE-MATRIX.md holds the measured one.
    Matrix(cmd::matrix::MatrixArgs),
    /// An HTML report of results files (`run --json`, `merge --json`): summary per tag
    /// and mode, failures, each drawn boot as a ladder; sim and lab side by side.
    Report(cmd::results::ReportArgs),
}

/// A command's error, printed as `error: ...` with exit status 1.
type Error = Box<dyn std::error::Error>;

fn main() -> ExitCode {
    match try_main(Cli::parse()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn try_main(cli: Cli) -> Result<ExitCode, Error> {
    if builds_nothing(&cli.cmd) {
        // Reports piped into `head` and the like: end quietly when the reader goes
        // away, as other command-line tools do, instead of panicking on the write's
        // EPIPE. Only for commands that build nothing to tear down: daemons and
        // everything that builds a lab keep Rust's default (ignored; a write error
        // instead, and teardown runs).
        // SAFETY: setting a signal's disposition to its default at start-up, before
        // any thread exists.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
    match cli.cmd {
        Cmd::Run(args) => cmd::run::run(args),
        Cmd::Check(args) => Ok(cmd::check::check(&args.paths)),
        Cmd::Schema => schema(),
        Cmd::Explain(args) => cmd::explain::explain(args),
        Cmd::Serve(args) => cmd::serve::serve(args),
        Cmd::Firmware { what } => cmd::firmware::firmware(what),
        Cmd::Lab { what } => cmd::lab::lab(what),
        Cmd::Bench { what } => cmd::bench::bench(what),
        Cmd::Audit(args) => Ok(cmd::audit::run(&args)),
        Cmd::Merge(args) => Ok(cmd::results::merge(args)),
        Cmd::Report(args) => cmd::results::report(args),
        Cmd::Matrix(args) => cmd::matrix::matrix(args),
    }
}

/// Whether the command only reads and prints (no lab, no daemon).
fn builds_nothing(cmd: &Cmd) -> bool {
    match cmd {
        Cmd::Run(args) => !args.lab,
        Cmd::Matrix(args) => args.sim_only(),
        Cmd::Check(_)
        | Cmd::Schema
        | Cmd::Explain(_)
        | Cmd::Firmware { .. }
        | Cmd::Audit(_)
        | Cmd::Merge(_)
        | Cmd::Report(_) => true,
        Cmd::Bench {
            what: BenchCmd::Sim(_) | BenchCmd::Storm(_),
        } => true,
        _ => false,
    }
}

/// `pxelab schema`.
fn schema() -> Result<ExitCode, Error> {
    let schema = pxelab_scenario::schema::json_schema();
    println!("{}", serde_json::to_string_pretty(&schema)?);
    Ok(ExitCode::SUCCESS)
}
