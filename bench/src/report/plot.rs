//! The TFTP bench's plot (`--plot FILE`): transfer time (log axis) against window size,
//! one line per block size, one panel per link (and per client ← server when there are
//! several, with a shared time axis per link), as SVG (plotters). With `--mode both`
//! the simulator's predictions are drawn beside the lab's as dashed lines.

use crate::tftp::PointResult;
use crate::Error;
use plotters::prelude::*;
use std::path::Path;

fn link_key(p: &PointResult) -> String {
    let size = if p.size.is_multiple_of(1 << 20) {
        format!("{} MiB", p.size >> 20)
    } else {
        format!("{} B", p.size)
    };
    match p.rate_bps {
        None => format!("veth (no emulation), {size}"),
        Some(r) => format!(
            "{} Mbit/s, {} ms one way, {}% loss, {size}",
            r as f64 / 1e6,
            p.delay_s * 1000.0,
            p.loss * 100.0
        ),
    }
}

/// Ten distinct colours (matplotlib's tab10), then `Palette99` for more series.
const COLOURS: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

fn colour(i: usize) -> RGBColor {
    if i < COLOURS.len() {
        COLOURS[i]
    } else {
        let c = Palette99::pick(i - COLOURS.len()).to_rgba();
        RGBColor(c.0, c.1, c.2)
    }
}

/// Panel sizes: the chart, and the legend column beside it.
const CHART_W: u32 = 560;
const LEGEND_W: u32 = 170;
const PANEL_H: u32 = 420;

/// Writes the plot; an error says what failed. Time is on a logarithmic axis (a
/// window-1 transfer takes tens of times a window-16 one); each panel's legend is a
/// column beside it, with one entry for the simulator's dashed lines. HTTP points have
/// no window size to draw against: they are in the table only.
pub fn plot(points: &[PointResult], file: &Path) -> Result<(), Error> {
    let tftp: Vec<PointResult> = points
        .iter()
        .filter(|p| p.protocol != "http")
        .cloned()
        .collect();
    draw(&tftp, file).map_err(|e| Error::Plot(format!("--plot {}: {e}", file.display())))
}

fn draw(points: &[PointResult], file: &Path) -> Result<(), String> {
    let mut links: Vec<String> = Vec::new();
    for p in points {
        let k = link_key(p);
        if !links.contains(&k) {
            links.push(k);
        }
    }
    if links.is_empty() {
        return Err("no points to plot".into());
    }
    let mut windows: Vec<u16> = points.iter().map(|p| p.window_size).collect();
    windows.sort_unstable();
    windows.dedup();
    let mut blocks: Vec<u16> = points.iter().map(|p| p.block_size).collect();
    blocks.sort_unstable();
    blocks.dedup();
    // A panel per link, and per client ← server when there are several: each with a
    // line per block size, the same colour for a block size everywhere, and the same
    // time axis for one link's panels.
    let mut panels_of: Vec<(String, String)> = Vec::new();
    let several_servers = points.iter().any(|p| p.server != points[0].server)
        || points.iter().any(|p| p.client != points[0].client);
    for link in &links {
        for p in points.iter().filter(|p| &link_key(p) == link) {
            let who = if several_servers {
                format!("{} ← {}", p.client, p.server)
            } else {
                String::new()
            };
            if !panels_of.iter().any(|(l, w)| l == link && *w == who) {
                panels_of.push((link.clone(), who));
            }
        }
    }
    let cols = panels_of.len().min(2);
    let rows = panels_of.len().div_ceil(cols);
    let (w, h) = ((CHART_W + LEGEND_W) * cols as u32, PANEL_H * rows as u32);
    let root = SVGBackend::new(file, (w, h)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let panels = root.split_evenly((rows, cols));
    for ((link, who), panel) in panels_of.iter().zip(panels.iter()) {
        let (area, legend) = panel.split_horizontally(CHART_W);
        let of_link: Vec<&PointResult> = points.iter().filter(|p| &link_key(p) == link).collect();
        let here: Vec<&PointResult> = of_link
            .iter()
            .copied()
            .filter(|p| who.is_empty() || *who == format!("{} ← {}", p.client, p.server))
            .collect();
        let ys: Vec<f64> = of_link
            .iter()
            .flat_map(|p| [p.median_s, p.sim_s])
            .flatten()
            .filter(|y| *y > 0.0)
            .collect();
        let ymax = ys.iter().copied().fold(1e-3f64, f64::max) * 1.3;
        let ymin = ys.iter().copied().fold(ymax, f64::min).max(1e-4) / 1.3;
        let caption = if who.is_empty() {
            link.clone()
        } else {
            format!("{who}: {link}")
        };
        let mut chart = ChartBuilder::on(&area)
            .caption(caption, ("sans-serif", 14))
            .margin(12)
            .x_label_area_size(34)
            .y_label_area_size(52)
            .build_cartesian_2d(
                0f64..(windows.len() as f64 - 1.0).max(1.0),
                (ymin..ymax).log_scale(),
            )
            .map_err(|e| e.to_string())?;
        let ws = windows.clone();
        chart
            .configure_mesh()
            .x_labels(windows.len())
            .x_label_formatter(&move |x| {
                let i = x.round() as usize;
                if (x - i as f64).abs() < 1e-6 {
                    ws.get(i).map(|w| w.to_string()).unwrap_or_default()
                } else {
                    String::new()
                }
            })
            .y_label_formatter(&|y| {
                if *y >= 10.0 {
                    format!("{y:.0}")
                } else if *y >= 1.0 {
                    format!("{y:.1}")
                } else {
                    format!("{y:.2}")
                }
            })
            .x_desc("window size (blocks)")
            .y_desc("transfer time (s, log)")
            .draw()
            .map_err(|e| e.to_string())?;
        let mut series: Vec<(String, &str, &str, u16)> = Vec::new();
        for p in &here {
            let label = format!("block {}", p.block_size);
            if !series.iter().any(|s| s.0 == label) {
                series.push((label, &p.server, &p.client, p.block_size));
            }
        }
        series.sort_by_key(|s| s.3);
        let mut keys: Vec<(String, RGBColor, bool)> = Vec::new();
        let mut has_sim = false;
        for (label, server, client, block) in &series {
            let colour = colour(blocks.iter().position(|b| b == block).unwrap_or(0));
            let mut line: Vec<(f64, f64, Option<f64>)> = here
                .iter()
                .filter(|p| p.server == *server && p.client == *client && p.block_size == *block)
                .filter_map(|p| {
                    let x = windows.iter().position(|w| *w == p.window_size)? as f64;
                    Some((x, p.median_s?, p.sim_s))
                })
                .collect();
            line.sort_by(|a, b| a.0.total_cmp(&b.0));
            let measured: Vec<(f64, f64)> = line.iter().map(|(x, y, _)| (*x, *y)).collect();
            chart
                .draw_series(LineSeries::new(measured.clone(), colour.stroke_width(2)))
                .map_err(|e| e.to_string())?;
            chart
                .draw_series(
                    measured
                        .iter()
                        .map(|(x, y)| Circle::new((*x, *y), 3, colour.filled())),
                )
                .map_err(|e| e.to_string())?;
            keys.push((label.clone(), colour, false));
            let sim: Vec<(f64, f64)> = line
                .iter()
                .filter_map(|(x, _, s)| s.map(|s| (*x, s)))
                .collect();
            if !sim.is_empty() {
                chart
                    .draw_series(DashedLineSeries::new(sim, 6, 4, colour.stroke_width(1)))
                    .map_err(|e| e.to_string())?;
                has_sim = true;
            }
        }
        if has_sim {
            keys.push(("simulator (dashed)".into(), BLACK, true));
        }
        // The legend column: a key line and the label, one row each.
        for (i, (label, colour, dashed)) in keys.iter().enumerate() {
            let y = 40 + i as i32 * 18;
            let key: Vec<(i32, i32)> = if *dashed {
                vec![(4, y), (10, y)]
            } else {
                vec![(4, y), (26, y)]
            };
            legend
                .draw(&PathElement::new(key, colour.stroke_width(2)))
                .map_err(|e| e.to_string())?;
            if *dashed {
                legend
                    .draw(&PathElement::new(
                        vec![(16, y), (26, y)],
                        colour.stroke_width(2),
                    ))
                    .map_err(|e| e.to_string())?;
            }
            legend
                .draw(&Text::new(
                    label.clone(),
                    (32, y - 7),
                    ("sans-serif", 12).into_font().color(&BLACK),
                ))
                .map_err(|e| e.to_string())?;
        }
    }
    root.present().map_err(|e| e.to_string())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matrix::{Matrix, Rate};
    use crate::tftp::run_sim;

    #[test]
    fn the_plot_has_a_panel_per_link_and_a_line_per_block_size() {
        let m = Matrix {
            block_sizes: vec![1432, 4096],
            window_sizes: vec![1, 4, 8],
            rates: vec![Rate::Bps(100_000_000), Rate::Bps(1_000_000_000)],
            delays: vec![std::time::Duration::from_millis(2)],
            losses: vec![0.0],
            sizes: vec![1 << 20],
            repeat: 1,
        };
        let pts = run_sim(&m, |_| {});
        let f = std::env::temp_dir().join(format!("pxelab-plot-{}.svg", std::process::id()));
        plot(&pts, &f).unwrap();
        let svg = std::fs::read_to_string(&f).unwrap();
        std::fs::remove_file(&f).unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..80.min(svg.len())]);
        assert!(svg.contains("100 Mbit/s, 2 ms one way") && svg.contains("1000 Mbit/s"));
        assert!(svg.contains("block 1432") && svg.contains("block 4096"));
        assert!(svg.contains("window size (blocks)"));
        // Two panels × two lines of three windows each (axes and legend keys are
        // polylines of two points), with a legend entry per line.
        let lines = svg
            .split("<polyline")
            .skip(1)
            .filter(|p| {
                let pts = p.split("points=\"").nth(1).unwrap_or("");
                let pts = pts.split('"').next().unwrap_or("");
                p.contains("stroke-width=\"2\"") && pts.split_whitespace().count() == 3
            })
            .count();
        assert_eq!(lines, 4);
    }

    #[test]
    fn nothing_to_plot_is_an_error() {
        let f = std::env::temp_dir().join("pxelab-plot-empty.svg");
        assert!(plot(&[], &f).unwrap_err().to_string().contains("no points"));
    }
}
