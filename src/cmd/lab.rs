//! `pxelab lab ...`: the lab's housekeeping (clean, check, images), its internal
//! processes (switch, swarm, DHCP server, relay; started by the lab itself) and
//! pxelab's own TFTP client.

use super::load::load_all;
use pxelab_harness as harness;
use pxelab_scenario::Scenario;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

#[derive(clap::Subcommand)]
pub enum LabCmd {
    /// Remove leftovers of crashed runs: network namespaces named `pxelab-*` and the
    /// processes still running inside them, run directories `/tmp/pxelab-lab-*` whose
    /// run is gone (and the processes they list), and their tap devices.
    Clean,
    /// Say what `pxelab run --lab` needs that this machine lacks (Debian packages).
    Check {
        /// Scenarios to check for (their firmware); all firmware when omitted.
        paths: Vec<PathBuf>,
    },
    /// Boot each firmware a few times (QEMU under TCG) and measure its power-on to first
    /// DISCOVER and per-packet time; writes `<firmware>.yaml` overlays for the profiles.
    Calibrate(super::calibrate::CalibrateArgs),
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
    TftpGet(TftpGetArgs),
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
    /// (internal) The built-in DHCPv6 server process.
    #[command(hide = true)]
    Dhcpd6 {
        #[arg(long)]
        spec: PathBuf,
    },
    /// (internal) A router's DHCPv6 relay agent process.
    #[command(hide = true)]
    Relay6 {
        #[arg(long)]
        spec: PathBuf,
    },
    /// (internal) Router advertisements on a host's IPv6 segments.
    #[command(hide = true)]
    Ra {
        #[arg(long)]
        spec: PathBuf,
    },
}

#[derive(clap::Args)]
pub struct TftpGetArgs {
    /// The server's address, IPv4 or IPv6.
    #[arg(long)]
    server: std::net::IpAddr,
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
    #[arg(long, default_value = "1s", value_parser = pxelab_scenario::values::parse_duration)]
    timeout: Duration,
}

pub fn lab(what: LabCmd) -> Result<ExitCode, crate::Error> {
    match what {
        LabCmd::Clean => {
            println!("{} leftover(s) removed", harness::namespaces::clean()?);
        }
        LabCmd::Check { paths } => return Ok(check(&paths)),
        LabCmd::Calibrate(a) => return super::calibrate::calibrate(a),
        LabCmd::Images { out } => harness::bootroot::build_images(&out)?,
        LabCmd::Switch { spec } => harness::switch::run(read_spec(&spec)?)?,
        LabCmd::Swarm { spec } => harness::swarm::run(read_spec(&spec)?)?,
        LabCmd::TftpGet(a) => return tftp_get(a),
        LabCmd::Dhcpd { spec } => harness::hostd::run_dhcpd(read_spec(&spec)?)?,
        LabCmd::Relay { spec } => harness::hostd::run_relay(read_spec(&spec)?)?,
        LabCmd::Dhcpd6 { spec } => harness::hostd6::run_dhcpd6(read_spec(&spec)?)?,
        LabCmd::Relay6 { spec } => harness::hostd6::run_relay6(read_spec(&spec)?)?,
        LabCmd::Ra { spec } => harness::ra::run(read_spec(&spec)?)?,
    }
    Ok(ExitCode::SUCCESS)
}

/// An internal process's spec, written by the lab as JSON.
fn read_spec<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// `pxelab lab check`.
fn check(paths: &[PathBuf]) -> ExitCode {
    let (scenarios, errors) = if paths.is_empty() {
        (Vec::new(), Vec::new())
    } else {
        load_all(paths)
    };
    for e in &errors {
        eprintln!("error: {e}");
    }
    let refs: Vec<&Scenario> = scenarios.iter().collect();
    let missing = missing(&refs, paths.is_empty());
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

/// `pxelab lab tftp-get`: one JSON line; exit status 1 when the transfer failed.
fn tftp_get(a: TftpGetArgs) -> Result<ExitCode, crate::Error> {
    let o = harness::tftp_get::GetOptions {
        server: a.server,
        port: a.port,
        file: a.file,
        block_size: a.block_size,
        window_size: a.window_size,
        tsize: !a.no_tsize,
        timeout: a.timeout,
        verify: true,
        local_port: 0,
    };
    let r = harness::tftp_get::get(&o)?;
    println!("{}", serde_json::to_string(&r).unwrap_or_default());
    Ok(if r.error.is_some() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Missing lab prerequisites of these scenarios (of every firmware when `all`).
pub fn missing(scenarios: &[&Scenario], all: bool) -> Vec<String> {
    if all {
        let mut sc = pxelab_scenario::load_str(
            "scenario: all firmware\nnetwork:\n  segments: [{name: s, cidr: 10.0.0.0/24}]\n",
            Path::new("<all>"),
        )
        .expect("built-in scenario loads");
        for (i, f) in pxelab_scenario::Firmware::ALL.iter().enumerate() {
            sc.network.clients.push(pxelab_scenario::Client {
                name: format!("c{i}"),
                segment: "s".into(),
                firmware: *f,
                profile: None,
                machine: None,
                mac: pxelab_engine::Mac([2, 0, 0, 0, 0, i as u8]),
                smbios_guid: None,
                press_key: false,
                netboot: Default::default(),
            });
        }
        return harness::prereq::missing_prerequisites(&[&sc]);
    }
    harness::prereq::missing_prerequisites(scenarios)
}
