//! The HTTP points of `pxelab bench tftp` (`--servers pxelab-http,lighttpd`): the same
//! file over HTTP, one point per link and size, downloaded by curl in the client
//! namespace and timed like a TFTP transfer. Block and window sizes do not apply (TCP
//! has its own window): the point records 0 for both and says so in its note.

use crate::matrix::{Matrix, Rate};
use crate::report::link_name;
use crate::stats::median;
use crate::tftp::PointResult;
use crate::Error;
use pxelab_harness::bench::{BenchLab, Family, Link, Server};
use pxelab_sim::link::LinkModel;
use std::time::Duration;

/// What every HTTP point says instead of a block and window size.
pub const HTTP_NOTE: &str = "HTTP (TCP): block and window sizes do not apply; curl's time_total";

/// The running HTTP `server`'s points over every link and size of the matrix.
pub(crate) fn run(
    lab: &mut BenchLab,
    m: &Matrix,
    server: Server,
    files: &[(u64, String)],
    on_step: &mut impl FnMut(&str),
    on_point: &mut impl FnMut(&PointResult),
) -> Result<Vec<PointResult>, Error> {
    let family: Family = lab.family();
    let mut out = Vec::new();
    for (size, file) in files {
        for (rate, delay, loss) in m.links() {
            let link = match rate {
                Rate::Veth => Link::Veth,
                Rate::Bps(bps) => Link::Emulated(LinkModel {
                    rate_bps: bps,
                    delay,
                    loss,
                }),
            };
            on_step(&format!(
                "curl ← {} IPv{} {}",
                server.name(),
                family.number(),
                link_name(rate, delay, loss, *size)
            ));
            // The line rate alone: TCP's window is not the bench's to set.
            let bound = match rate {
                Rate::Bps(bps) => Some(*size as f64 * 8.0 / bps as f64),
                Rate::Veth => None,
            };
            let limit = Duration::from_secs_f64(60.0 + 20.0 * bound.unwrap_or(*size as f64 / 1e8));
            let (mut times, mut failures, mut error) = (Vec::new(), 0u32, None);
            let cpu0 = lab.server_cpu();
            for _ in 0..m.repeat.max(1) {
                if pxelab_harness::procs::interrupted() {
                    return Err(Error::Interrupted);
                }
                let r = lab
                    .http_transfer(link, file, *size, limit)
                    .map_err(Error::Lab)?;
                match (r.seconds, r.error) {
                    (Some(t), None) => times.push(t),
                    (_, e) => {
                        failures += 1;
                        error = e;
                    }
                }
            }
            let cpu = match (cpu0, lab.server_cpu()) {
                (Some(a), Some(b)) => Some(b.saturating_sub(a)),
                _ => None,
            };
            let sent = *size as f64 * times.len() as f64 / f64::from(1u32 << 30);
            let min = times.iter().copied().reduce(f64::min);
            let max = times.iter().copied().reduce(f64::max);
            let med = median(&mut times);
            let pr = PointResult {
                mode: "lab".into(),
                server: server.name().into(),
                client: "curl".into(),
                link: match rate {
                    Rate::Veth => "veth",
                    Rate::Bps(_) => "emulated",
                }
                .into(),
                family: family.number(),
                protocol: "http".into(),
                block_size: 0,
                window_size: 0,
                rate_bps: match rate {
                    Rate::Bps(b) => Some(b),
                    Rate::Veth => None,
                },
                delay_s: delay.as_secs_f64(),
                loss,
                size: *size,
                median_s: med,
                min_s: min,
                max_s: max,
                bound_s: bound,
                ratio_to_bound: bound.zip(med).map(|(b, t)| b / t),
                window_bound_s: None,
                ratio_to_window_bound: None,
                negotiated_block_size: 0,
                negotiated_window_size: 0,
                timeouts: 0,
                failures,
                sim_s: None,
                lab_s: None,
                rel_error: None,
                mib_per_s: med.map(|t| *size as f64 / t / f64::from(1u32 << 20)),
                server_cpu_s_per_gib: cpu.filter(|_| sent > 0.0).map(|c| c.as_secs_f64() / sent),
                note: Some(error.unwrap_or_else(|| HTTP_NOTE.to_string())),
                ..Default::default()
            };
            on_point(&pr);
            out.push(pr);
        }
    }
    Ok(out)
}
