//! The run's results as terminal text: a line per scenario and, for a failure, each
//! failed expectation with the timelines of the clients it names.

use pxelab_sim::ScenarioResult;
use std::fmt::Write as _;

/// One line per scenario; for a failure each failed expectation and the timelines of
/// the clients it names.
pub fn text(results: &[ScenarioResult]) -> String {
    let mut s = String::new();
    for r in results {
        let _ = writeln!(
            s,
            "{} {} [{}] {} (sim {:.1}s, wall {:.3}s)",
            if r.passed { "PASS" } else { "FAIL" },
            r.file,
            r.mode,
            r.scenario,
            r.sim_time_s,
            r.wall_time_s
        );
        if !r.passed {
            for f in &r.failures {
                let _ = writeln!(s, "    - {f}");
            }
            for b in &r.boots {
                if r.failures
                    .iter()
                    .any(|f| f.starts_with(&format!("{} boot {}:", b.client, b.boot)))
                {
                    let _ = writeln!(
                        s,
                        "      {} boot {}: outcome {} image {} deployment {} served_by {} at {:.1}s took {}",
                        b.client,
                        b.boot,
                        b.outcome.as_deref().unwrap_or("-"),
                        b.boot_image.as_deref().unwrap_or("-"),
                        b.deployment.as_deref().unwrap_or("-"),
                        b.served_by.as_deref().unwrap_or("-"),
                        b.at_s,
                        b.took_s.map(|t| format!("{t:.1}s")).unwrap_or_else(|| "-".into())
                    );
                    if let Some(t) = r.traces.get(&b.client) {
                        for (at, line) in t.iter().filter(|(at, _)| *at >= b.at_s) {
                            let _ = writeln!(s, "        {at:>9.3}s  {line}");
                        }
                    }
                }
            }
        }
    }
    let passed = results.iter().filter(|r| r.passed).count();
    let _ = writeln!(s, "{} passed, {} failed", passed, results.len() - passed);
    s
}
