//! The audit's report as `pxelab audit` prints it: a text table of the servers seen
//! answering (flagged ones named), the PXE clients and when each first got a proxy
//! offer, the named servers never seen; and the same as a JSON document.

use crate::audit::{Audit, ClientSeen, Seen};
use serde::Serialize;
use std::fmt::Write as _;
use std::net::IpAddr;

/// The JSON report.
#[derive(Serialize)]
pub struct Report {
    pub clients: Vec<ClientSeen>,
    pub flagged: usize,
    pub frames: u64,
    pub malformed_replies: u64,
    pub named_but_silent: Vec<Silent>,
    pub servers: Vec<Seen>,
}

/// A server the scenario names that was never seen answering.
#[derive(Serialize)]
pub struct Silent {
    pub address: IpAddr,
    pub name: String,
    pub what: &'static str,
}

pub fn report(audit: &Audit) -> Report {
    Report {
        clients: audit.clients(),
        flagged: audit.flagged(),
        frames: audit.frames,
        malformed_replies: audit.malformed,
        named_but_silent: audit
            .silent()
            .into_iter()
            .map(|(address, name, what)| Silent {
                address,
                name,
                what,
            })
            .collect(),
        servers: audit.servers(),
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

/// The text report; `with_scenario`: unnamed servers show as `NOT NAMED` (else `-`).
pub fn text(audit: &Audit, with_scenario: bool) -> String {
    let servers = audit.servers();
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
            "{:<16} {:<12} {:<11} {:<11} {:<9} {:>7} {:>8} {:>8}  {:<18} {:<16} boot files",
            "server",
            "named",
            "answers as",
            "boots",
            "ports",
            "answers",
            "first s",
            "last s",
            "MAC",
            "via"
        );
    }
    for s in &servers {
        let name = match (&s.named, with_scenario) {
            (Some(n), _) => n.clone(),
            (None, true) => "NOT NAMED".into(),
            (None, false) => "-".into(),
        };
        let _ = writeln!(
            o,
            "{:<16} {:<12} {:<11} {:<11} {:<9} {:>7} {:>8.3} {:>8.3}  {:<18} {:<16} {}",
            s.server.to_string(),
            name,
            join(&s.kinds),
            join(&s.netboot),
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
            join(
                s.kinds
                    .iter()
                    .map(|k| match (k.as_str(), s.server.is_ipv6()) {
                        ("dhcp", false) => "a DHCP",
                        ("dhcp", true) => "a DHCPv6",
                        (_, false) => "a proxy DHCP",
                        (_, true) => "a proxy DHCPv6",
                    })
            ),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::Named;

    #[test]
    fn a_named_server_never_seen_is_reported_in_text_and_json() {
        let mut named = Named::default();
        named.add("10.0.0.9".parse::<IpAddr>().unwrap(), "dp2", "responder");
        let a = Audit::new(Some(named));
        assert_eq!(
            text(&a, true),
            "0 frames, 0 server(s) answering\nnot seen answering: responder `dp2` (10.0.0.9)\n"
        );
        let r = report(&a);
        assert_eq!((r.frames, r.flagged, r.servers.len()), (0, 0, 0));
        let s = &r.named_but_silent[0];
        assert_eq!((s.name.as_str(), s.what), ("dp2", "responder"));
    }
}
