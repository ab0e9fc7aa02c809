//! The run's results as JUnit XML, for CI systems that show test reports.

use crate::escape::{escape, Markup};
use pxelab_sim::ScenarioResult;
use std::fmt::Write as _;

/// JUnit's XML: the apostrophe as `&apos;`, control characters dropped.
fn xml(s: &str) -> String {
    escape(s, Markup::Xml)
}

/// One `testsuite` per run, one `testcase` per scenario, a `failure` holding every
/// failed expectation.
pub fn junit(results: &[ScenarioResult]) -> String {
    let failed = results.iter().filter(|r| !r.passed).count();
    let total: f64 = results.iter().map(|r| r.wall_time_s).sum();
    let mut s = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        s,
        "<testsuites name=\"pxelab\" tests=\"{}\" failures=\"{failed}\" time=\"{total:.3}\">",
        results.len()
    );
    let _ = writeln!(
        s,
        "  <testsuite name=\"pxelab\" tests=\"{}\" failures=\"{failed}\" time=\"{total:.3}\">",
        results.len()
    );
    for r in results {
        let _ = write!(
            s,
            "    <testcase classname=\"{}\" name=\"{}\" time=\"{:.3}\"",
            xml(&format!("pxelab.{}", r.mode)),
            xml(&format!("{} ({})", r.scenario, r.file)),
            r.wall_time_s
        );
        if r.passed {
            s.push_str("/>\n");
        } else {
            s.push_str(">\n");
            let _ = writeln!(
                s,
                "      <failure message=\"{}\">{}</failure>",
                xml(r.failures.first().map(String::as_str).unwrap_or("failed")),
                xml(&r.failures.join("\n"))
            );
            s.push_str("    </testcase>\n");
        }
    }
    s.push_str("  </testsuite>\n</testsuites>\n");
    s
}
