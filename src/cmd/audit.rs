//! `pxelab audit`: every DHCP and proxy DHCP server seen answering on a segment, live or
//! from pcap files, flagged when the scenario (or site file) does not name it. The
//! analysis is `pxelab_daemon::audit`, the report `pxelab_daemon::audit_report`; this
//! is the command line and who the scenario names.

use pxelab_daemon::audit::{capture_live, read_pcap, Audit, Named};
use pxelab_daemon::audit_report;
use pxelab_scenario::Scenario;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(clap::Args)]
pub struct AuditArgs {
    /// Watch this interface live (AF_PACKET; needs root or CAP_NET_RAW).
    #[arg(long)]
    pub interface: Option<String>,
    /// How long to watch the interface.
    #[arg(long, default_value = "30s", value_parser = pxelab_scenario::values::parse_duration)]
    pub duration: Duration,
    /// While watching, broadcast a PXE DHCPDISCOVER (UEFI x64, random MAC) every 2 s so
    /// that every server on the segment answers.
    #[arg(long)]
    pub probe: bool,
    /// Probe as this MAC (a machine the responders know, so that they answer); default
    /// a random locally administered one.
    #[arg(long)]
    pub probe_mac: Option<pxelab_engine::Mac>,
    /// Read these pcap files (Ethernet) instead, or as well: the lab's and the
    /// simulator's segment captures (`pxelab run --pcap DIR`).
    #[arg(long)]
    pub pcap: Vec<PathBuf>,
    /// The scenario or site file describing the segment: its DHCP servers and responders
    /// are the servers allowed to answer; every other one is flagged (exit status 1).
    #[arg(long)]
    pub scenario: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "text")]
    pub format: crate::Format,
}

/// Who the scenario says may answer.
pub fn named(sc: &Scenario) -> Named {
    let mut n = Named::default();
    for d in &sc.network.dhcp_servers {
        n.add(d.address, &d.name, "DHCP server");
        if let Some(a) = d.address6 {
            n.add(a, &d.name, "DHCP server");
        }
    }
    for r in &sc.network.responders {
        n.add(r.config.address, &r.config.name, "responder");
        if let Some(a) = r.config.address6 {
            n.add(a, &r.config.name, "responder");
            n.add_responder_duid(&r.config.name);
        }
    }
    n
}

pub fn run(args: &AuditArgs) -> ExitCode {
    if args.interface.is_none() && args.pcap.is_empty() {
        eprintln!("error: give --interface IF (live) or --pcap FILE (a capture)");
        return ExitCode::from(2);
    }
    if (args.probe || args.probe_mac.is_some()) && args.interface.is_none() {
        eprintln!("error: --probe sends from the --interface being watched; give one");
        return ExitCode::from(2);
    }
    let named = match &args.scenario {
        None => None,
        Some(f) => match pxelab_scenario::load_file(f) {
            Ok(sc) => Some(named(&sc)),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        },
    };
    let mut audit = Audit::new(named);
    for p in &args.pcap {
        if let Err(e) = read_pcap(p, &mut audit) {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    }
    if let Some(i) = &args.interface {
        let probe = (args.probe || args.probe_mac.is_some()).then_some(args.probe_mac);
        if let Err(e) = capture_live(i, args.duration, probe, &mut audit) {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    }
    match args.format {
        crate::Format::Json => {
            // Through a JSON value: every object's keys sorted, as the report has always
            // printed them.
            let v = serde_json::to_value(audit_report::report(&audit)).unwrap_or_default();
            println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
        }
        crate::Format::Text => print!("{}", audit_report::text(&audit, args.scenario.is_some())),
    }
    if audit.flagged() > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
