//! A bench's results as the command prints them, in the format asked for: the
//! terminal table (`table`), markdown (`markdown`), CSV (`csv`) and JSON; the SVG plot
//! of the TFTP bench (`plot`). The labels of links, rates and sizes are shared here.

pub mod csv;
#[cfg(test)]
mod fixtures;
pub mod markdown;
pub mod plot;
pub mod table;

use crate::dhcp::DhcpPoint;
use crate::matrix::Rate;
use crate::storm::StormResult;
use crate::tftp::{advice, PointResult};
use std::time::Duration;

/// How the storm, DHCP and soak benches print their rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
}

/// How the TFTP bench prints its points.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum TftpFormat {
    Table,
    Json,
    Csv,
    Markdown,
}

/// The TFTP bench's points: table or markdown followed by the advice, CSV, or JSON
/// (`{"points": [...]}`, pretty).
pub fn tftp(points: &[PointResult], format: TftpFormat) -> String {
    match format {
        TftpFormat::Json => {
            let v = serde_json::json!({ "points": points });
            format!("{}\n", serde_json::to_string_pretty(&v).unwrap_or_default())
        }
        TftpFormat::Csv => csv::tftp(points),
        TftpFormat::Table | TftpFormat::Markdown => {
            let mut s = if format == TftpFormat::Markdown {
                markdown::tftp(points)
            } else {
                table::tftp(points)
            };
            for a in advice(points) {
                s.push_str(&format!("advice: {a}\n"));
            }
            s
        }
    }
}

/// The storm bench's rows: the table, or JSON (`{"storms": [...]}`).
pub fn storm(rows: &[StormResult], format: Format) -> String {
    match format {
        Format::Json => format!("{}\n", serde_json::json!({ "storms": rows })),
        Format::Table => table::storm(rows),
    }
}

/// The DHCP bench's points: the table, or JSON (`{"points": [...]}`).
pub fn dhcp(points: &[DhcpPoint], format: Format) -> String {
    match format {
        Format::Json => format!("{}\n", serde_json::json!({ "points": points })),
        Format::Table => table::dhcp(points),
    }
}

/// The soak's report: the harness's table, or JSON (`{"soak": {...}}`).
pub fn soak(report: &pxelab_harness::soak::SoakReport, format: Format) -> String {
    match format {
        Format::Json => format!("{}\n", serde_json::json!({ "soak": report })),
        Format::Table => pxelab_harness::soak::table(report),
    }
}

/// The TFTP table's cells, for the terminal and for markdown: the heading, a row per
/// point (lab and `both` columns only when a point has them), and the servers' notes.
pub(crate) struct Cells {
    pub head: Vec<&'static str>,
    pub rows: Vec<Vec<String>>,
    pub notes: Vec<String>,
}

pub(crate) fn tftp_cells(points: &[PointResult]) -> Cells {
    let both = points.iter().any(|p| p.mode == "both");
    let lab = points.iter().any(|p| p.mode != "sim");
    let mut head = vec![
        "mode", "server", "client", "link", "block", "window", "median s", "min s", "max s",
        "bound s", "ratio", "ratio w", "granted", "timeouts",
    ];
    if both {
        head.extend(["sim s", "rel err"]);
    }
    if lab {
        head.extend(["MiB/s", "cpu s/GiB"]);
    }
    // Under loss: each side's spread and its timers' work per transfer.
    let lossy = points.iter().any(|p| p.loss > 0.0);
    if lossy {
        head.extend(["p10 s", "p90 s", "cli to/run", "srv to/run"]);
        if both {
            head.extend([
                "sim p10 s",
                "sim p90 s",
                "sim cli to/run",
                "sim srv to/run",
                "turnaround us",
                "sim plain s",
                "sim median 95%",
            ]);
        }
    }
    let dash = |v: Option<f64>, f: &dyn Fn(f64) -> String| v.map_or("-".to_string(), f);
    let rows = points
        .iter()
        .map(|p| {
            let mut r = vec![
                p.mode.to_string(),
                p.server.to_string(),
                p.client.to_string(),
                link_text(p),
                not_http(p, p.block_size.to_string()),
                not_http(p, p.window_size.to_string()),
                failed(p.median_s),
                failed(p.min_s),
                failed(p.max_s),
                dash(p.bound_s, &|b| format!("{b:.3}")),
                dash(p.ratio_to_bound, &|x| format!("{x:.2}")),
                dash(p.ratio_to_window_bound, &|x| format!("{x:.2}")),
                not_http(
                    p,
                    format!("{}/{}", p.negotiated_block_size, p.negotiated_window_size),
                ),
                p.timeouts.to_string(),
            ];
            if both {
                r.push(dash(p.sim_s, &|x| format!("{x:.3}")));
                r.push(dash(p.rel_error, &|x| format!("{:+.1}%", x * 100.0)));
            }
            if lab {
                r.push(dash(p.mib_per_s, &|x| format!("{x:.1}")));
                r.push(dash(p.server_cpu_s_per_gib, &|x| format!("{x:.2}")));
            }
            if lossy {
                let two = |x: f64| format!("{x:.2}");
                r.push(dash(p.p10_s, &|x| format!("{x:.3}")));
                r.push(dash(p.p90_s, &|x| format!("{x:.3}")));
                let per = p.runs.map(|n| p.timeouts as f64 / f64::from(n.max(1)));
                r.push(dash(per, &two));
                r.push(dash(p.server_timeouts, &two));
                if both {
                    r.push(dash(p.sim_p10_s, &|x| format!("{x:.3}")));
                    r.push(dash(p.sim_p90_s, &|x| format!("{x:.3}")));
                    r.push(dash(p.sim_timeouts, &two));
                    r.push(dash(p.sim_server_timeouts, &two));
                    r.push(dash(p.turnaround_s, &|x| format!("{:.0}", x * 1e6)));
                    r.push(dash(p.sim_plain_s, &|x| format!("{x:.3}")));
                    r.push(match (p.sim_median_lo_s, p.sim_median_hi_s) {
                        (Some(lo), Some(hi)) => format!("{lo:.3}-{hi:.3}"),
                        _ => "-".into(),
                    });
                }
            }
            r
        })
        .collect();
    let mut notes: Vec<String> = points
        .iter()
        .filter_map(|p| p.note.as_ref().map(|n| format!("{}: {n}", p.server)))
        .collect();
    notes.sort();
    notes.dedup();
    Cells { head, rows, notes }
}

/// A block or window cell: `-` for an HTTP point, where they do not apply (its note
/// says so).
fn not_http(p: &PointResult, cell: String) -> String {
    if p.protocol == "http" {
        "-".into()
    } else {
        cell
    }
}

/// A time to three decimals, or `failed` when every transfer failed.
fn failed(v: Option<f64>) -> String {
    v.map_or("failed".to_string(), |x| format!("{x:.3}"))
}

/// A link and file size as the table and the advice name it: `100Mbit 2ms 0% 1MiB`,
/// `veth 16MiB`.
pub(crate) fn link_label(rate_bps: Option<u64>, delay_s: f64, loss: f64, size: u64) -> String {
    match rate_bps {
        None => format!("veth {}", size_text(size)),
        Some(r) => format!(
            "{} {}ms {}% {}",
            rate_text(r),
            delay_s * 1000.0,
            loss * 100.0,
            size_text(size)
        ),
    }
}

/// The link and size, and ` IPv6` after them for a point over IPv6 (IPv4 is the
/// default and unmarked), so that the advice and the plot keep the families apart.
pub(crate) fn link_text(p: &PointResult) -> String {
    let l = link_label(p.rate_bps, p.delay_s, p.loss, p.size);
    if p.family == 6 {
        format!("{l} IPv6")
    } else {
        l
    }
}

pub(crate) fn link_name(rate: Rate, delay: Duration, loss: f64, size: u64) -> String {
    let bps = match rate {
        Rate::Bps(b) => Some(b),
        Rate::Veth => None,
    };
    link_label(bps, delay.as_secs_f64(), loss, size)
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

pub(crate) fn size_text(b: u64) -> String {
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

#[cfg(test)]
mod tests {
    use super::fixtures::{dhcp_points, storm_rows, tftp_points};
    use super::*;

    #[test]
    fn tftp_table_aligns_columns_and_ends_with_notes_and_advice() {
        insta::assert_snapshot!(tftp(&tftp_points(), TftpFormat::Table));
    }

    #[test]
    fn tftp_markdown_is_a_pipe_table() {
        insta::assert_snapshot!(tftp(&tftp_points(), TftpFormat::Markdown));
    }

    #[test]
    fn tftp_csv_has_every_field_and_empty_cells_for_none() {
        insta::assert_snapshot!(tftp(&tftp_points(), TftpFormat::Csv));
    }

    #[test]
    fn a_lossy_run_shows_each_sides_spread_and_timers() {
        let mut points = tftp_points();
        let head = tftp_cells(&points).head;
        assert!(
            !head.contains(&"p10 s"),
            "no loss, no spread columns: {head:?}"
        );
        let lab = &mut points[1];
        lab.loss = 0.02;
        lab.runs = Some(10);
        lab.timeouts = 5;
        lab.p10_s = Some(0.9);
        lab.p90_s = Some(2.5);
        lab.server_timeouts = Some(4.6);
        lab.sim_p10_s = Some(0.8);
        lab.sim_timeouts = Some(0.53);
        lab.sim_server_timeouts = Some(4.89);
        lab.turnaround_s = Some(120e-6);
        lab.sim_median_lo_s = Some(0.963);
        lab.sim_median_hi_s = Some(2.174);
        let cells = tftp_cells(&points);
        let cell = |row: usize, name: &str| {
            let i = cells.head.iter().position(|h| *h == name).expect(name);
            cells.rows[row][i].clone()
        };
        assert_eq!(cell(1, "p10 s"), "0.900");
        assert_eq!(cell(1, "p90 s"), "2.500");
        assert_eq!(cell(1, "cli to/run"), "0.50");
        assert_eq!(cell(1, "srv to/run"), "4.60");
        assert_eq!(cell(1, "sim p10 s"), "0.800");
        assert_eq!(cell(1, "sim p90 s"), "-");
        assert_eq!(cell(1, "sim srv to/run"), "4.89");
        assert_eq!(cell(1, "turnaround us"), "120");
        assert_eq!(cell(1, "sim median 95%"), "0.963-2.174");
        assert_eq!(cell(0, "srv to/run"), "-");
    }

    #[test]
    fn tftp_json_reads_back() {
        let text = tftp(&tftp_points(), TftpFormat::Json);
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["points"][1]["rel_error"], 0.25);
        // Lab-only fields are left out of a simulator point.
        assert!(v["points"][0].get("sim_s").is_none());
    }

    #[test]
    fn storm_table_lists_resources_and_lab_failures_under_the_rows() {
        insta::assert_snapshot!(storm(&storm_rows(), Format::Table));
        let v: serde_json::Value =
            serde_json::from_str(&storm(&storm_rows(), Format::Json)).unwrap();
        assert_eq!(v["storms"][1]["failures"][0], "lab: r2 exited");
    }

    #[test]
    fn dhcp_table_has_a_row_per_rate() {
        insta::assert_snapshot!(dhcp(&dhcp_points(), Format::Table));
    }

    #[test]
    fn dhcp_json_reads_back_for_from() {
        let dir = std::env::temp_dir().join(format!("pxelab-dhcp-from-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("dhcp.json");
        std::fs::write(&f, dhcp(&dhcp_points(), Format::Json)).unwrap();
        let back = crate::dhcp::load_saved(&f).unwrap();
        assert_eq!(table::dhcp(&back), table::dhcp(&dhcp_points()));
        std::fs::write(&f, "{\"points\": 3}").unwrap();
        let e = crate::dhcp::load_saved(&f).unwrap_err().to_string();
        assert!(e.starts_with("--from ") && e.contains("dhcp.json"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn an_ipv6_point_is_marked_and_advised_apart_and_an_http_point_has_no_block_or_window() {
        let mut pts = tftp_points();
        pts.truncate(1);
        let mut v6 = pts[0].clone();
        v6.family = 6;
        v6.median_s = Some(0.2);
        pts.push(v6);
        assert_eq!(link_text(&pts[1]), format!("{} IPv6", link_text(&pts[0])));
        let a = advice(&pts);
        assert_eq!(a.len(), 2, "{a:?}");
        assert!(a[1].contains("IPv6") && a[1].contains("0.20s"), "{a:?}");
        let mut http = pts[0].clone();
        (http.protocol, http.block_size, http.window_size) = ("http".into(), 0, 0);
        http.median_s = Some(0.01);
        pts.push(http);
        // The HTTP point is faster but has no block and window to advise.
        assert_eq!(advice(&pts), a);
        let cells = tftp_cells(&pts);
        assert_eq!(cells.rows[2][4..6], ["-", "-"]);
        let csv = tftp(&pts, TftpFormat::Csv);
        assert!(
            csv.lines()
                .nth(2)
                .unwrap()
                .starts_with("sim,pxelab,pxelab,emulated,6,tftp,"),
            "{csv}"
        );
    }

    #[test]
    fn links_and_sizes_are_labelled_as_the_flags_write_them() {
        assert_eq!(
            link_name(
                Rate::Bps(100_000_000),
                Duration::from_millis(2),
                0.01,
                1 << 20
            ),
            "100Mbit 2ms 1% 1MiB"
        );
        assert_eq!(
            link_label(Some(1_000_000_000), 0.0, 0.0, 16 << 20),
            "1Gbit 0ms 0% 16MiB"
        );
        assert_eq!(
            link_name(Rate::Veth, Duration::ZERO, 0.0, 64 << 10),
            "veth 64KiB"
        );
        assert_eq!(
            link_label(Some(1500), 0.001, 0.0, 1000),
            "1500bit 1ms 0% 1000"
        );
        assert_eq!(size_text(2 << 30), "2GiB");
    }
}
