//! Terminal tables: the TFTP bench's right-aligned columns, the storm's and the DHCP
//! bench's fixed columns.

use super::tftp_cells;
use crate::dhcp::DhcpPoint;
use crate::storm::StormResult;
use crate::tftp::PointResult;
use std::fmt::Write as _;

/// The TFTP points, each column as wide as its widest cell, then the servers' notes.
pub fn tftp(points: &[PointResult]) -> String {
    let cells = tftp_cells(points);
    let mut w: Vec<usize> = cells.head.iter().map(|h| h.len()).collect();
    for r in &cells.rows {
        for (i, c) in r.iter().enumerate() {
            w[i] = w[i].max(c.len());
        }
    }
    let line = |cells: &[String]| {
        cells
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c:>width$}", width = w[i]))
            .collect::<Vec<_>>()
            .join("  ")
    };
    let mut s = String::new();
    let head: Vec<String> = cells.head.iter().map(|h| h.to_string()).collect();
    let _ = writeln!(s, "{}", line(&head));
    for r in &cells.rows {
        let _ = writeln!(s, "{}", line(r));
    }
    for n in &cells.notes {
        let _ = writeln!(s, "note: {n}");
    }
    s
}

pub fn storm(rows: &[StormResult]) -> String {
    let mut t = String::new();
    let _ = writeln!(
        t,
        "{:>4} {:>7} {:>5} {:>6} {:>6}  {:>9} {:>9} {:>9} {:>8}  {:>13} {:>5}  {:>12}  {:>7}",
        "mode",
        "clients",
        "resp",
        "block",
        "window",
        "booted",
        "all in s",
        "median s",
        "p95 s",
        "peak resp",
        "use",
        "peak segment",
        "wall s"
    );
    for r in rows {
        let f = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.1}"));
        let (resp, pct, segm) = if r.mode == "lab" {
            ("-".to_string(), "-".to_string(), "-".to_string())
        } else {
            (
                format!("{:.0} Mbit", r.peak_responder_bps / 1e6),
                format!("{:.0}%", r.peak_responder_use * 100.0),
                format!("{:.0} Mbit", r.peak_segment_bps / 1e6),
            )
        };
        let _ = writeln!(
            t,
            "{:>4} {:>7} {:>5} {:>6} {:>6}  {:>9} {:>9} {:>9} {:>8}  {:>13} {:>5}  {:>12}  {:>7.2}",
            r.mode,
            r.clients,
            r.responders,
            r.block_size,
            r.window_size,
            format!("{}/{}", r.booted, r.clients),
            f(r.all_booted_s),
            f(r.boot_median_s),
            f(r.boot_p95_s),
            resp,
            pct,
            segm,
            r.wall_s
        );
    }
    for r in rows {
        for p in &r.resources {
            let _ = writeln!(
                t,
                "  {} {} clients: {} peak {:.1} MiB resident, {} descriptors",
                r.mode,
                r.clients,
                p.process,
                p.peak_rss_kib as f64 / 1024.0,
                p.peak_fds
            );
        }
        for f in &r.failures {
            let _ = writeln!(t, "  {} {} clients: {f}", r.mode, r.clients);
        }
    }
    t
}

pub fn dhcp(points: &[DhcpPoint]) -> String {
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
