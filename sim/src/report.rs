//! Output of a run: text lines, JSON (the format page's shape), JUnit XML, and
//! `explain` timelines.

use crate::merge::Suite;
use crate::result::{Decision, ScenarioResult};
use std::fmt::Write as _;
use std::path::Path;

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

/// The JSON results: which suite they are from (what `pxelab merge` checks), when
/// known, and each scenario's result.
pub fn json(results: &[ScenarioResult], suite: Option<&Suite>) -> String {
    let v = match suite {
        Some(suite) => serde_json::json!({ "suite": suite, "scenarios": results }),
        None => serde_json::json!({ "scenarios": results }),
    };
    serde_json::to_string_pretty(&v).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

/// Writes the JSON results and JUnit XML to the files asked for.
pub fn write_files(
    results: &[ScenarioResult],
    suite: Option<&Suite>,
    json_file: Option<&Path>,
    junit_file: Option<&Path>,
) -> Result<(), String> {
    if let Some(f) = json_file {
        std::fs::write(f, json(results, suite) + "\n")
            .map_err(|e| format!("{}: {e}", f.display()))?;
    }
    if let Some(f) = junit_file {
        std::fs::write(f, junit(results)).map_err(|e| format!("{}: {e}", f.display()))?;
    }
    Ok(())
}

fn xml_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' => {}
            c => o.push(c),
        }
    }
    o
}

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
            xml_escape(&format!("pxelab.{}", r.mode)),
            xml_escape(&format!("{} ({})", r.scenario, r.file)),
            r.wall_time_s
        );
        if r.passed {
            s.push_str("/>\n");
        } else {
            s.push_str(">\n");
            let _ = writeln!(
                s,
                "      <failure message=\"{}\">{}</failure>",
                xml_escape(r.failures.first().map(String::as_str).unwrap_or("failed")),
                xml_escape(&r.failures.join("\n"))
            );
            s.push_str("    </testcase>\n");
        }
    }
    s.push_str("  </testsuite>\n</testsuites>\n");
    s
}

/// Why responders stayed silent for the client (MAC `mac`) in `[from, to)`: per
/// responder and rule, how often and when, the last reason it gave, and when it
/// answered after that, if it did. Empty when no responder held back.
fn silences(r: &ScenarioResult, mac: &str, from: f64, to: f64) -> String {
    struct Held<'a> {
        responder: &'a str,
        rule: &'static str,
        count: usize,
        first: f64,
        last: f64,
        why: &'a str,
    }
    let mine: Vec<&Decision> = r
        .decisions
        .iter()
        .filter(|d| d.at >= from && d.at < to && d.client.to_string() == mac)
        .collect();
    let mut held: Vec<Held> = Vec::new();
    for d in &mine {
        let Some((rule, why)) = &d.silent else {
            continue;
        };
        match held
            .iter_mut()
            .find(|h| h.responder == d.responder && h.rule == *rule)
        {
            Some(h) => {
                h.count += 1;
                h.last = d.at;
                h.why = why;
            }
            None => held.push(Held {
                responder: &d.responder,
                rule,
                count: 1,
                first: d.at,
                last: d.at,
                why,
            }),
        }
    }
    let mut s = String::new();
    if held.is_empty() {
        return s;
    }
    s.push_str("why responders stayed silent:\n");
    for h in &held {
        let when = if h.count == 1 {
            format!("once at {:.3}s", h.first)
        } else {
            format!("{} times, {:.3}s to {:.3}s", h.count, h.first, h.last)
        };
        let answered = mine
            .iter()
            .find(|d| d.silent.is_none() && d.responder == h.responder && d.at >= h.last)
            .map(|d| format!("; then answered at {:.3}s", d.at))
            .unwrap_or_default();
        let _ = writeln!(
            s,
            "  {:<10} {:<8} {when}: {}{answered}",
            h.responder, h.rule, h.why
        );
    }
    s
}

/// A client's timeline, packet by packet, with each responder's log lines about it,
/// then why responders stayed silent for it.
pub fn explain(r: &ScenarioResult, client: &str, mac: &str, boot: Option<u32>) -> String {
    let mut lines: Vec<(f64, usize, String)> = Vec::new();
    let boots: Vec<_> = r.boots.iter().filter(|b| b.client == client).collect();
    let (from, to) = match boot {
        Some(n) => {
            let Some(b) = boots.iter().find(|b| b.boot == n) else {
                return format!(
                    "{client} has no boot {n} (it booted {} time(s))\n",
                    boots.len()
                );
            };
            let end = boots
                .iter()
                .find(|x| x.boot == n + 1)
                .map(|x| x.at_s)
                .unwrap_or(f64::INFINITY);
            (b.at_s, end)
        }
        None => (f64::NEG_INFINITY, f64::INFINITY),
    };
    if let Some(t) = r.traces.get(client) {
        for (i, (at, text)) in t.iter().enumerate() {
            if *at >= from && *at < to {
                lines.push((*at, i, format!("{client:<10} {text}")));
            }
        }
    }
    let n = lines.len();
    for (i, (at, who, text)) in r.logs.iter().enumerate() {
        if *at >= from && *at < to && text.contains(mac) {
            lines.push((*at, n + i, format!("{who:<10} | {text}")));
        }
    }
    lines.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let mut s = String::new();
    let _ = writeln!(s, "{} — {}: client {client} ({mac})", r.file, r.scenario);
    for (at, _, text) in lines {
        let _ = writeln!(s, "{at:>9.3}s  {text}");
    }
    for b in boots.iter().filter(|b| boot.is_none_or(|n| n == b.boot)) {
        let _ = writeln!(
            s,
            "boot {}: outcome {} image {} deployment {} served_by {} took {}",
            b.boot,
            b.outcome.as_deref().unwrap_or("-"),
            b.boot_image.as_deref().unwrap_or("-"),
            b.deployment.as_deref().unwrap_or("-"),
            b.served_by.as_deref().unwrap_or("-"),
            b.took_s
                .map(|t| format!("{t:.3}s"))
                .unwrap_or_else(|| "-".into())
        );
    }
    s.push_str(&silences(r, mac, from, to));
    s
}
