//! `pxelab bench tftp`: a matrix of block size × window size × link × file size, each
//! point's transfer time, its theoretical bound and the ratio between them, and a line
//! of advice. `--mode sim` predicts with the simulator (`pxelab_sim::tftp_bench`).

use pxelab_scenario::values::{parse_duration, parse_rate, parse_ratio, parse_size};
use pxelab_sim::tftp_bench::{bound_seconds, predict, Point};
use pxelab_sim::world::LinkModel;
use serde::Serialize;
use std::fmt::Write as _;

#[derive(Clone, Debug)]
pub struct Matrix {
    pub block_sizes: Vec<u16>,
    pub window_sizes: Vec<u16>,
    pub rates: Vec<u64>,
    pub delays: Vec<std::time::Duration>,
    pub losses: Vec<f64>,
    pub sizes: Vec<u64>,
    pub repeat: u32,
}

#[derive(Clone, Debug, Serialize)]
pub struct PointResult {
    pub mode: &'static str,
    pub server: &'static str,
    pub client: &'static str,
    pub block_size: u16,
    pub window_size: u16,
    pub rate_bps: u64,
    pub delay_s: f64,
    pub loss: f64,
    pub size: u64,
    /// Median over the repeats; null when a transfer failed.
    pub median_s: Option<f64>,
    pub min_s: Option<f64>,
    pub max_s: Option<f64>,
    pub bound_s: f64,
    /// bound_s / median_s: the share of the theoretical bound reached.
    pub ratio_to_bound: Option<f64>,
    /// What the server granted (OACK).
    pub negotiated_block_size: usize,
    pub negotiated_window_size: u64,
    pub timeouts: u64,
    pub failures: u32,
}

/// A comma-separated list, each item parsed by `f`.
pub fn list<T>(s: &str, f: impl Fn(&str) -> Result<T, String>) -> Result<Vec<T>, String> {
    s.split(',')
        .map(|x| x.trim())
        .filter(|x| !x.is_empty())
        .map(|x| f(x).map_err(|e| format!("`{x}`: {e}")))
        .collect()
}

pub fn parse_u16_list(s: &str, what: &str, min: u16) -> Result<Vec<u16>, String> {
    list(s, |x| {
        x.parse::<u16>()
            .ok()
            .filter(|v| *v >= min)
            .ok_or_else(|| format!("{what} must be a whole number from {min} to 65535"))
    })
}

pub fn parse_rates(s: &str) -> Result<Vec<u64>, String> {
    list(s, parse_rate)
}
pub fn parse_delays(s: &str) -> Result<Vec<std::time::Duration>, String> {
    list(s, parse_duration)
}
pub fn parse_losses(s: &str) -> Result<Vec<f64>, String> {
    list(s, parse_ratio)
}
pub fn parse_sizes(s: &str) -> Result<Vec<u64>, String> {
    list(s, parse_size)
}

fn median(v: &mut [f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    Some(if !n.is_multiple_of(2) {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

/// Every point of the matrix in the simulator, `on_point` called after each.
pub fn run_sim(m: &Matrix, mut on_point: impl FnMut(&PointResult)) -> Vec<PointResult> {
    let mut out = Vec::new();
    for &size in &m.sizes {
        for &rate in &m.rates {
            for &delay in &m.delays {
                for &loss in &m.losses {
                    for &block in &m.block_sizes {
                        for &window in &m.window_sizes {
                            let p = Point {
                                block_size: block,
                                window_size: window,
                                link: LinkModel {
                                    rate_bps: rate,
                                    delay,
                                    loss,
                                },
                                size,
                            };
                            let mut times = Vec::new();
                            let (mut nb, mut nw, mut timeouts, mut failures) = (0, 0, 0, 0);
                            for rep in 0..m.repeat.max(1) {
                                let r = predict(&p, u64::from(rep));
                                nb = r.block_size;
                                nw = r.window_size;
                                timeouts += r.timeouts;
                                match r.seconds {
                                    Some(s) => times.push(s),
                                    None => failures += 1,
                                }
                            }
                            let bound = bound_seconds(&p);
                            let min = times.iter().copied().reduce(f64::min);
                            let max = times.iter().copied().reduce(f64::max);
                            let med = median(&mut times);
                            let pr = PointResult {
                                mode: "sim",
                                server: "pxelab",
                                client: "pxelab",
                                block_size: block,
                                window_size: window,
                                rate_bps: rate,
                                delay_s: delay.as_secs_f64(),
                                loss,
                                size,
                                median_s: med,
                                min_s: min,
                                max_s: max,
                                bound_s: bound,
                                ratio_to_bound: med.map(|t| bound / t),
                                negotiated_block_size: nb,
                                negotiated_window_size: nw,
                                timeouts,
                                failures,
                            };
                            on_point(&pr);
                            out.push(pr);
                        }
                    }
                }
            }
        }
    }
    out
}

fn rate_text(bps: u64) -> String {
    if bps.is_multiple_of(1_000_000_000) {
        format!("{}Gbit", bps / 1_000_000_000)
    } else if bps.is_multiple_of(1_000_000) {
        format!("{}Mbit", bps / 1_000_000)
    } else {
        format!("{bps}bit")
    }
}

fn size_text(b: u64) -> String {
    if b.is_multiple_of(1 << 30) {
        format!("{}GiB", b >> 30)
    } else if b.is_multiple_of(1 << 20) {
        format!("{}MiB", b >> 20)
    } else if b.is_multiple_of(1 << 10) {
        format!("{}KiB", b >> 10)
    } else {
        format!("{b}")
    }
}

fn link_text(p: &PointResult) -> String {
    format!(
        "{} {}ms {}% {}",
        rate_text(p.rate_bps),
        p.delay_s * 1000.0,
        p.loss * 100.0,
        size_text(p.size)
    )
}

fn opt(v: Option<f64>, prec: usize) -> String {
    v.map_or("failed".to_string(), |x| format!("{x:.prec$}"))
}

/// The fastest point per link and size against Configuration Manager's defaults
/// (block 4096, window 1) on the same link, when the matrix holds them.
pub fn advice(points: &[PointResult]) -> Vec<String> {
    let mut links: Vec<String> = points.iter().map(link_text).collect();
    links.dedup();
    let mut seen = Vec::new();
    let mut out = Vec::new();
    for l in links {
        if seen.contains(&l) {
            continue;
        }
        seen.push(l.clone());
        let here: Vec<&PointResult> = points.iter().filter(|p| link_text(p) == l).collect();
        let Some(best) = here
            .iter()
            .filter(|p| p.failures == 0)
            .filter_map(|p| p.median_s.map(|m| (m, *p)))
            .min_by(|a, b| a.0.total_cmp(&b.0))
        else {
            out.push(format!("{l}: every setting failed"));
            continue;
        };
        let default = here
            .iter()
            .find(|p| p.block_size == 4096 && p.window_size == 1)
            .and_then(|p| p.median_s);
        let gain = match default {
            Some(d) => format!(
                ", {:.2}s against {:.2}s with ConfigMgr's defaults (4096/1): {:.1}x faster",
                best.0,
                d,
                d / best.0
            ),
            None => format!(
                ", {:.2}s (add block 4096 window 1 to the matrix to compare with ConfigMgr's defaults)",
                best.0
            ),
        };
        out.push(format!(
            "{l}: fastest without a failed transfer: block {} window {}{gain}",
            best.1.block_size, best.1.window_size
        ));
    }
    out
}

pub fn table(points: &[PointResult], markdown: bool) -> String {
    let mut s = String::new();
    let head = [
        "mode", "server", "link", "block", "window", "median s", "min s", "max s", "bound s",
        "ratio", "granted", "timeouts",
    ];
    let rows: Vec<Vec<String>> = points
        .iter()
        .map(|p| {
            vec![
                p.mode.to_string(),
                p.server.to_string(),
                link_text(p),
                p.block_size.to_string(),
                p.window_size.to_string(),
                opt(p.median_s, 3),
                opt(p.min_s, 3),
                opt(p.max_s, 3),
                format!("{:.3}", p.bound_s),
                opt(p.ratio_to_bound, 2),
                format!("{}/{}", p.negotiated_block_size, p.negotiated_window_size),
                p.timeouts.to_string(),
            ]
        })
        .collect();
    if markdown {
        let _ = writeln!(s, "| {} |", head.join(" | "));
        let _ = writeln!(s, "|{}", "---|".repeat(head.len()));
        for r in &rows {
            let _ = writeln!(s, "| {} |", r.join(" | "));
        }
        return s;
    }
    let mut w: Vec<usize> = head.iter().map(|h| h.len()).collect();
    for r in &rows {
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
    let head: Vec<String> = head.iter().map(|h| h.to_string()).collect();
    let _ = writeln!(s, "{}", line(&head));
    for r in &rows {
        let _ = writeln!(s, "{}", line(r));
    }
    s
}

pub fn csv(points: &[PointResult]) -> String {
    let mut s = String::from(
        "mode,server,client,block_size,window_size,rate_bps,delay_s,loss,size,median_s,min_s,max_s,bound_s,ratio_to_bound,negotiated_block_size,negotiated_window_size,timeouts,failures\n",
    );
    let o = |v: Option<f64>| v.map_or(String::new(), |x| x.to_string());
    for p in points {
        let _ = writeln!(
            s,
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
            p.mode,
            p.server,
            p.client,
            p.block_size,
            p.window_size,
            p.rate_bps,
            p.delay_s,
            p.loss,
            p.size,
            o(p.median_s),
            o(p.min_s),
            o(p.max_s),
            p.bound_s,
            o(p.ratio_to_bound),
            p.negotiated_block_size,
            p.negotiated_window_size,
            p.timeouts,
            p.failures
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_parse_and_say_what_is_wrong() {
        assert_eq!(
            parse_u16_list("512, 1432,4096", "block", 8).unwrap(),
            vec![512, 1432, 4096]
        );
        assert!(parse_u16_list("4", "block", 8)
            .unwrap_err()
            .contains("from 8"));
        assert_eq!(
            parse_rates("100Mbit,1Gbit").unwrap(),
            vec![100_000_000, 1_000_000_000]
        );
        assert!(parse_sizes("12XB").is_err());
    }

    #[test]
    fn the_matrix_runs_and_advises_against_the_defaults() {
        let m = Matrix {
            block_sizes: vec![1432, 4096],
            window_sizes: vec![1, 8],
            rates: vec![1_000_000_000],
            delays: vec![std::time::Duration::from_millis(5)],
            losses: vec![0.0],
            sizes: vec![2 << 20],
            repeat: 1,
        };
        let mut seen = 0;
        let pts = run_sim(&m, |_| seen += 1);
        assert_eq!((pts.len(), seen), (4, 4));
        let best = pts
            .iter()
            .min_by(|a, b| a.median_s.unwrap().total_cmp(&b.median_s.unwrap()))
            .unwrap();
        assert_eq!((best.block_size, best.window_size), (4096, 8));
        for p in &pts {
            let r = p.ratio_to_bound.unwrap();
            assert!(r > 0.5 && r <= 1.0, "{p:?}");
        }
        let a = advice(&pts);
        assert_eq!(a.len(), 1);
        assert!(
            a[0].contains("block 4096 window 8") && a[0].contains("faster"),
            "{a:?}"
        );
        assert!(table(&pts, true).lines().count() == 6);
        assert_eq!(csv(&pts).lines().count(), 5);
    }
}
