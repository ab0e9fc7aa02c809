//! The proxy DHCP bench: Kea's perfdhcp sends PXE DISCOVERs (option 60 `PXEClient`, 93
//! and 94 of the chosen firmware) at a set rate from many MACs, as a relay agent would,
//! to `pxelab serve` and to dnsmasq in proxy mode in turn, in the same two namespaces
//! over a plain veth pair (`pxelab_harness::bench`): answers per second, latency
//! percentiles from perfdhcp's per-exchange timestamps, and the server's CPU time per
//! answer.

use crate::stats::percentile;
use crate::Error;
use pxelab_harness::bench::{find_program, BenchLab, ProxyServer};
use serde::{Deserialize, Serialize};

/// The firmware whose PXE options the DISCOVERs carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Firmware {
    UefiX64,
    BiosX64,
}

impl Firmware {
    pub fn as_str(self) -> &'static str {
        match self {
            Firmware::UefiX64 => "uefi-x64",
            Firmware::BiosX64 => "bios-x64",
        }
    }
}

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
pub fn parse_perfdhcp(out: &str) -> Result<PerfReport, Error> {
    let mut r = PerfReport::default();
    let mut seen = false;
    let number = |l: &str| -> Option<u64> { l.split(':').nth(1)?.trim().parse().ok() };
    for l in out.lines() {
        let l = l.trim();
        if l.starts_with("sent packets:") {
            r.sent = number(l).ok_or_else(|| Error::Lab(format!("perfdhcp: cannot read `{l}`")))?;
            seen = true;
        } else if l.starts_with("received packets:") {
            r.received =
                number(l).ok_or_else(|| Error::Lab(format!("perfdhcp: cannot read `{l}`")))?;
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
        return Err(Error::Lab(format!(
            "perfdhcp printed no statistics: {}",
            tail.into_iter().rev().collect::<Vec<_>>().join(" / ")
        )));
    }
    Ok(r)
}

/// The PXE options perfdhcp adds to every DISCOVER for a firmware.
pub fn pxe_options(firmware: Firmware) -> Vec<String> {
    let (arch, undi) = match firmware {
        Firmware::UefiX64 => (7u16, "003016"),
        Firmware::BiosX64 => (0u16, "002001"),
    };
    let class = format!("PXEClient:Arch:{arch:05}:UNDI:{undi}");
    let hex: String = class.bytes().map(|b| format!("{b:02x}")).collect();
    vec![
        format!("60,{hex}"),
        format!("93,{arch:04x}"),
        "94,010201".to_string(),
    ]
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DhcpPoint {
    pub server: String,
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
    pub firmware: Firmware,
    pub exe: std::path::PathBuf,
}

/// `--rate`: DISCOVERs a second, each more than 0.
pub fn parse_rates(s: &str) -> Result<Vec<u32>, Error> {
    crate::matrix::flag(
        "--rate",
        crate::matrix::list(s, |x| {
            x.parse::<u32>()
                .ok()
                .filter(|r| *r > 0)
                .ok_or_else(|| "not a rate (DISCOVERs a second, more than 0)".to_string())
        }),
    )
}

/// What this machine lacks for the bench: root and iproute2 (as the TFTP bench), then
/// perfdhcp and the servers asked for, each with its Debian package.
pub fn missing(servers: &[ProxyServer]) -> Vec<String> {
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
    missing
}

impl DhcpBench {
    /// Refuses a bench with nothing to run.
    pub fn check(&self) -> Result<(), Error> {
        if self.servers.is_empty()
            || self.rates.is_empty()
            || self.clients == 0
            || self.seconds == 0
        {
            return Err(Error::Usage(
                "nothing to run: give servers, rates, --clients and --seconds".into(),
            ));
        }
        Ok(())
    }
}

/// A saved run (the JSON of `--format json`, `{"points": [...]}`) read back for
/// `--from`: the bench needs root and perfdhcp, its page need not.
pub fn load_saved(path: &std::path::Path) -> Result<Vec<DhcpPoint>, Error> {
    #[derive(Deserialize)]
    struct Saved {
        points: Vec<DhcpPoint>,
    }
    let usage = |e: String| Error::Usage(format!("--from {}: {e}", path.display()));
    let text = std::fs::read_to_string(path).map_err(|e| usage(e.to_string()))?;
    let saved: Saved = serde_json::from_str(&text).map_err(|e| usage(e.to_string()))?;
    Ok(saved.points)
}

pub fn run(b: &DhcpBench, mut on_step: impl FnMut(&str)) -> Result<Vec<DhcpPoint>, Error> {
    let options = pxe_options(b.firmware);
    let mut lab = BenchLab::start(&b.exe).map_err(Error::Lab)?;
    let mut out = Vec::new();
    for &server in &b.servers {
        on_step(&format!("starting {}", server.name()));
        lab.start_proxy(server).map_err(Error::Lab)?;
        for &rate in &b.rates {
            if pxelab_harness::procs::interrupted() {
                return Err(Error::Interrupted);
            }
            on_step(&format!(
                "{}: {rate} DISCOVERs/s for {} s",
                server.name(),
                b.seconds
            ));
            let cpu0 = lab.server_cpu();
            let printed = lab
                .perfdhcp(rate, b.clients, b.seconds, &options)
                .map_err(Error::Lab)?;
            let report = parse_perfdhcp(&printed)?;
            let cpu = match (cpu0, lab.server_cpu()) {
                (Some(a), Some(c)) => Some(c.saturating_sub(a)),
                _ => None,
            };
            let mut l = report.latencies_ms.clone();
            l.sort_by(|a, b| a.total_cmp(b));
            out.push(DhcpPoint {
                server: server.name().to_string(),
                firmware: b.firmware.as_str().to_string(),
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
        let e = parse_perfdhcp("Error: cannot open socket\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("cannot open socket"), "{e}");
    }

    #[test]
    fn rates_are_positive_and_an_empty_bench_is_refused() {
        assert_eq!(parse_rates("100, 1000").unwrap(), vec![100, 1000]);
        let e = parse_rates("100,0").unwrap_err().to_string();
        assert!(e.starts_with("--rate `0`: not a rate"), "{e}");
        let b = DhcpBench {
            servers: vec![ProxyServer::Pxelab],
            rates: vec![],
            clients: 10,
            seconds: 1,
            firmware: Firmware::UefiX64,
            exe: "pxelab".into(),
        };
        assert!(b
            .check()
            .unwrap_err()
            .to_string()
            .contains("nothing to run"));
    }

    #[test]
    fn pxe_options_carry_the_firmwares_class_and_architecture() {
        let o = pxe_options(Firmware::UefiX64);
        let class = "PXEClient:Arch:00007:UNDI:003016";
        let hex: String = class.bytes().map(|b| format!("{b:02x}")).collect();
        assert_eq!(o[0], format!("60,{hex}"));
        assert_eq!(o[1], "93,0007");
        assert_eq!(pxe_options(Firmware::BiosX64)[1], "93,0000");
    }
}
