//! `pxelab bench dhcp`: proxy DHCP under load. Kea's perfdhcp sends PXE DISCOVERs
//! (option 60 `PXEClient`, 93 and 94 of the chosen firmware) at a set rate from many
//! MACs, as a relay agent would, to `pxelab serve` and to dnsmasq in proxy mode in turn,
//! in the same two namespaces over a plain veth pair (`pxelab_harness::bench`): answers
//! per second, latency percentiles from perfdhcp's per-exchange timestamps, and the
//! server's CPU time per answer.

use crate::bench_tftp::percentile;
use pxelab_harness::bench::{BenchLab, ProxyServer};
use serde::Serialize;
use std::fmt::Write as _;

/// What perfdhcp reported for one run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PerfReport {
    pub sent: u64,
    pub received: u64,
    pub drops: u64,
    /// Milliseconds from DISCOVER to OFFER, one per answered exchange.
    pub latencies_ms: Vec<f64>,
}

/// Reads perfdhcp's DISCOVER-OFFER statistics and its `-x t` timestamps.
pub fn parse_perfdhcp(out: &str) -> Result<PerfReport, String> {
    let mut r = PerfReport::default();
    let mut seen = false;
    let number = |l: &str| -> Option<u64> { l.split(':').nth(1)?.trim().parse().ok() };
    for l in out.lines() {
        let l = l.trim();
        if l.starts_with("sent packets:") {
            r.sent = number(l).ok_or_else(|| format!("perfdhcp: cannot read `{l}`"))?;
            seen = true;
        } else if l.starts_with("received packets:") {
            r.received = number(l).ok_or_else(|| format!("perfdhcp: cannot read `{l}`"))?;
        } else if l.starts_with("drops:") {
            r.drops = number(l).unwrap_or(0);
        } else if let Some(t) = l.strip_prefix("sent / received:") {
            let mut it = t.split('/').map(|x| x.trim().parse::<f64>());
            if let (Some(Ok(a)), Some(Ok(b))) = (it.next(), it.next()) {
                r.latencies_ms.push((b - a) * 1e3);
            }
        }
    }
    if !seen {
        let tail: Vec<&str> = out.lines().rev().take(3).collect();
        return Err(format!(
            "perfdhcp printed no statistics: {}",
            tail.into_iter().rev().collect::<Vec<_>>().join(" / ")
        ));
    }
    Ok(r)
}

/// The PXE options perfdhcp adds to every DISCOVER for a firmware.
pub fn pxe_options(firmware: &str) -> Result<Vec<String>, String> {
    let (arch, undi) = match firmware {
        "uefi-x64" => (7u16, "003016"),
        "bios-x64" => (0u16, "002001"),
        other => return Err(format!("--firmware {other}: use uefi-x64 or bios-x64")),
    };
    let class = format!("PXEClient:Arch:{arch:05}:UNDI:{undi}");
    let hex: String = class.bytes().map(|b| format!("{b:02x}")).collect();
    Ok(vec![
        format!("60,{hex}"),
        format!("93,{arch:04x}"),
        "94,010201".to_string(),
    ])
}

#[derive(Clone, Debug, Serialize)]
pub struct DhcpPoint {
    pub server: &'static str,
    pub firmware: String,
    /// DISCOVERs a second perfdhcp was asked to send.
    pub rate: u32,
    pub clients: u32,
    pub seconds: u32,
    pub sent: u64,
    pub received: u64,
    pub answers_per_s: f64,
    pub answered: f64,
    pub p50_ms: Option<f64>,
    pub p90_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub max_ms: Option<f64>,
    /// The server's CPU time per answer, microseconds (its cgroup).
    pub cpu_us_per_answer: Option<f64>,
}

pub struct DhcpBench {
    pub servers: Vec<ProxyServer>,
    pub rates: Vec<u32>,
    pub clients: u32,
    pub seconds: u32,
    pub firmware: String,
    pub exe: std::path::PathBuf,
}

pub fn run(b: &DhcpBench, mut on_step: impl FnMut(&str)) -> Result<Vec<DhcpPoint>, String> {
    let options = pxe_options(&b.firmware)?;
    let mut lab = BenchLab::start(&b.exe)?;
    let mut out = Vec::new();
    for &server in &b.servers {
        on_step(&format!("starting {}", server.name()));
        lab.start_proxy(server)?;
        for &rate in &b.rates {
            if pxelab_harness::procs::interrupted() {
                return Err("interrupted".into());
            }
            on_step(&format!(
                "{}: {rate} DISCOVERs/s for {} s",
                server.name(),
                b.seconds
            ));
            let cpu0 = lab.server_cpu();
            let report = parse_perfdhcp(&lab.perfdhcp(rate, b.clients, b.seconds, &options)?)?;
            let cpu = match (cpu0, lab.server_cpu()) {
                (Some(a), Some(c)) => Some(c.saturating_sub(a)),
                _ => None,
            };
            let mut l = report.latencies_ms.clone();
            l.sort_by(|a, b| a.total_cmp(b));
            out.push(DhcpPoint {
                server: server.name(),
                firmware: b.firmware.clone(),
                rate,
                clients: b.clients,
                seconds: b.seconds,
                sent: report.sent,
                received: report.received,
                answers_per_s: report.received as f64 / f64::from(b.seconds.max(1)),
                answered: if report.sent > 0 {
                    report.received as f64 / report.sent as f64
                } else {
                    0.0
                },
                p50_ms: percentile(&l, 0.5),
                p90_ms: percentile(&l, 0.9),
                p99_ms: percentile(&l, 0.99),
                max_ms: l.last().copied(),
                cpu_us_per_answer: cpu
                    .filter(|_| report.received > 0)
                    .map(|c| c.as_secs_f64() * 1e6 / report.received as f64),
            });
        }
    }
    lab.teardown();
    Ok(out)
}

pub fn table(points: &[DhcpPoint]) -> String {
    let mut t = String::new();
    let _ = writeln!(
        t,
        "{:>8} {:>8} {:>7} {:>7} {:>9} {:>8} {:>8} {:>8} {:>8} {:>8} {:>10}",
        "server",
        "rate/s",
        "sent",
        "answers",
        "answers/s",
        "answered",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "max ms",
        "cpu µs/ans"
    );
    let f = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.3}"));
    for p in points {
        let _ = writeln!(
            t,
            "{:>8} {:>8} {:>7} {:>7} {:>9.0} {:>7.1}% {:>8} {:>8} {:>8} {:>8} {:>10}",
            p.server,
            p.rate,
            p.sent,
            p.received,
            p.answers_per_s,
            p.answered * 100.0,
            f(p.p50_ms),
            f(p.p90_ms),
            f(p.p99_ms),
            f(p.max_ms),
            p.cpu_us_per_answer
                .map_or("-".into(), |c| format!("{c:.1}"))
        );
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPORT: &str = "Running: perfdhcp -4 -i -r 20 ...\n\
        ***Rate statistics***\n\
        Rate: 19.4932 DISCOVER-OFFER/second, expected rate: 20\n\n\
        ***Statistics for: DISCOVER-OFFER***\n\
        sent packets: 39\n\
        received packets: 38\n\
        drops: 1\n\
        drops ratio: 2.5 %\n\n\
        min delay: 0.222 ms\n\
        ***Timestamps for packets: DISCOVER-OFFER***\n\
        sent / received: 000000.000070 / 000000.000714\n\
        sent / received: 000000.100142 / 000000.100386\n";

    #[test]
    fn perfdhcp_reports_are_read_with_every_timestamp() {
        let r = parse_perfdhcp(REPORT).unwrap();
        assert_eq!((r.sent, r.received, r.drops), (39, 38, 1));
        assert_eq!(r.latencies_ms.len(), 2);
        assert!(
            (r.latencies_ms[0] - 0.644).abs() < 1e-6,
            "{:?}",
            r.latencies_ms
        );
        assert!((r.latencies_ms[1] - 0.244).abs() < 1e-6);
        let e = parse_perfdhcp("Error: cannot open socket\n").unwrap_err();
        assert!(e.contains("cannot open socket"), "{e}");
    }

    #[test]
    fn pxe_options_carry_the_firmwares_class_and_architecture() {
        let o = pxe_options("uefi-x64").unwrap();
        let class = "PXEClient:Arch:00007:UNDI:003016";
        let hex: String = class.bytes().map(|b| format!("{b:02x}")).collect();
        assert_eq!(o[0], format!("60,{hex}"));
        assert_eq!(o[1], "93,0007");
        assert_eq!(pxe_options("bios-x64").unwrap()[1], "93,0000");
        assert!(pxe_options("arm").is_err());
    }
}
