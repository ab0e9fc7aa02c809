//! `pxelab audit`: every DHCP and proxy DHCP server seen answering on a segment, live or
//! from pcap files, flagged when the scenario (or site file) does not name it. The
//! analysis is `pxelab_daemon::audit`; this is the command line and the report.

use pxelab_daemon::audit::{capture_live, read_pcap, Audit, Named, Seen};
use pxelab_scenario::Scenario;
use std::fmt::Write as _;
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
    }
    for r in &sc.network.responders {
        n.add(r.config.address, &r.config.name, "responder");
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
    let servers = audit.servers();
    match args.format {
        crate::Format::Json => {
            let silent: Vec<serde_json::Value> = audit
                .silent()
                .into_iter()
                .map(|(a, n, w)| serde_json::json!({"address": a, "name": n, "what": w}))
                .collect();
            let v = serde_json::json!({
                "frames": audit.frames,
                "malformed_replies": audit.malformed,
                "servers": servers,
                "clients": audit.clients(),
                "flagged": audit.flagged(),
                "named_but_silent": silent,
            });
            println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
        }
        crate::Format::Text => print!("{}", text(&audit, &servers, args.scenario.is_some())),
    }
    if audit.flagged() > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn join<T: std::fmt::Display>(it: impl IntoIterator<Item = T>) -> String {
    let v: Vec<String> = it.into_iter().map(|x| x.to_string()).collect();
    if v.is_empty() {
        "-".into()
    } else {
        v.join(",")
    }
}

fn text(audit: &Audit, servers: &[Seen], with_scenario: bool) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "{} frames, {} server(s) answering{}",
        audit.frames,
        servers.len(),
        if audit.malformed > 0 {
            format!(", {} malformed DHCP replies", audit.malformed)
        } else {
            String::new()
        }
    );
    if !servers.is_empty() {
        let _ = writeln!(
            o,
            "{:<16} {:<12} {:<11} {:<9} {:>7} {:>8} {:>8}  {:<18} {:<16} boot files",
            "server", "named", "answers as", "ports", "answers", "first s", "last s", "MAC", "via"
        );
    }
    for s in servers {
        let name = match (&s.named, with_scenario) {
            (Some(n), _) => n.clone(),
            (None, true) => "NOT NAMED".into(),
            (None, false) => "-".into(),
        };
        let _ = writeln!(
            o,
            "{:<16} {:<12} {:<11} {:<9} {:>7} {:>8.3} {:>8.3}  {:<18} {:<16} {}",
            s.server.to_string(),
            name,
            join(&s.kinds),
            join(&s.ports),
            s.answers,
            s.first_s,
            s.last_s,
            join(&s.macs),
            join(&s.via),
            join(&s.boot_files)
        );
    }
    for s in servers.iter().filter(|s| s.flagged) {
        let _ = writeln!(
            o,
            "FLAGGED: {} answers as {} server from {} and is not named by the scenario",
            s.server,
            join(s.kinds.iter().map(|k| if k == "dhcp" {
                "a DHCP"
            } else {
                "a proxy DHCP"
            })),
            join(&s.macs)
        );
    }
    let clients = audit.clients();
    if !clients.is_empty() {
        let _ = writeln!(
            o,
            "{:<18} {:>10} {:>10} {:>16} {:>15}",
            "client", "DISCOVERs", "first s", "proxy offer s", "from (try)"
        );
    }
    for c in &clients {
        let _ = writeln!(
            o,
            "{:<18} {:>10} {:>10.3} {:>16} {:>15}",
            c.mac,
            c.discovers.len(),
            c.discovers.first().copied().unwrap_or_default(),
            c.first_proxy_offer_s
                .map_or("-".to_string(), |t| format!("{t:.3}")),
            match (c.proxy_offer_from, c.discovers_until_proxy_offer) {
                (Some(f), Some(n)) => format!("{f} ({n})"),
                _ => "none".into(),
            }
        );
    }
    for (a, n, w) in audit.silent() {
        let _ = writeln!(o, "not seen answering: {w} `{n}` ({a})");
    }
    o
}
