//! A lab's resource samples: memory and descriptors of the responders and swarms, their
//! peaks and a time series (what a soak reads).

use super::Lab;
use pxelab_sim::result::{ProcessPeak, ProcessSample};
use std::time::{Duration, Instant};

/// How often the resource time series samples each process (the peaks: every 100 ms).
const SERIES_INTERVAL: Duration = Duration::from_secs(1);

impl Lab<'_> {
    /// Sample memory and descriptors of the responders and swarms.
    pub(super) fn sample_peaks(&mut self) {
        let sc = self.sc;
        let mut names: Vec<String> = sc
            .network
            .responders
            .iter()
            .map(|r| format!("responder-{}", r.config.name))
            .collect();
        names.extend(
            sc.network
                .segments
                .iter()
                .map(|s| format!("swarm-{}", s.name)),
        );
        for what in names {
            let Some(pid) = self.procs.pid(&what) else {
                continue;
            };
            let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
            let field = |name: &str| {
                status
                    .lines()
                    .find(|l| l.starts_with(name))
                    .and_then(|l| l.split_whitespace().nth(1))
                    .and_then(|v| v.parse::<u64>().ok())
            };
            let Some(rss) = field("VmRSS:") else { continue };
            let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count() as u64);
            let now = Instant::now();
            if self
                .series_at
                .get(&what)
                .is_none_or(|at| now.duration_since(*at) >= SERIES_INTERVAL)
            {
                self.series_at.insert(what.clone(), now);
                self.series.push(ProcessSample {
                    process: what.clone(),
                    pid,
                    t_s: now.duration_since(self.t0).as_secs_f64(),
                    rss_kib: rss,
                    anon_kib: field("RssAnon:").unwrap_or(0),
                    fds,
                });
            }
            let p = self.peaks.entry(what.clone()).or_insert(ProcessPeak {
                process: what,
                peak_rss_kib: 0,
                peak_fds: 0,
                samples: 0,
            });
            p.peak_rss_kib = p.peak_rss_kib.max(rss);
            p.peak_fds = p.peak_fds.max(fds);
            p.samples += 1;
        }
    }
}
