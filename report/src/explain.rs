//! `pxelab explain`: one client's boots of a run, as a timeline of text lines with the
//! responders' reasons for staying silent (`--format text`), or drawn as ladders
//! (`--format svg|html`).

use pxelab_scenario::Scenario;
use pxelab_sim::ladder::{boot_ladder, Ladder};
use pxelab_sim::result::Decision;
use pxelab_sim::ScenarioResult;
use std::fmt::Write as _;

/// The client's boots (`boot`: only that one) as ladders; an error naming what the run
/// has when there is none.
pub fn ladders(
    r: &ScenarioResult,
    sc: &Scenario,
    client: &str,
    boot: Option<u32>,
) -> Result<Vec<Ladder>, String> {
    let boots: Vec<_> = r.boots.iter().filter(|b| b.client == client).collect();
    let chosen: Vec<Ladder> = boots
        .iter()
        .filter(|b| boot.is_none_or(|n| n == b.boot))
        .map(|b| boot_ladder(r, sc, b))
        .collect();
    if chosen.is_empty() {
        return Err(match boot {
            Some(n) => format!(
                "{client} has no boot {n} (it booted {} time(s))",
                boots.len()
            ),
            None => format!("{client} never booted in this run"),
        });
    }
    Ok(chosen)
}

/// One boot as a standalone SVG file: `boot`, or the client's first.
pub fn svg(
    r: &ScenarioResult,
    sc: &Scenario,
    client: &str,
    boot: Option<u32>,
) -> Result<String, String> {
    let l = ladders(r, sc, client, boot.or(Some(1)))?;
    Ok(format!(
        "{}\n",
        crate::ladder_svg::svg(&l[0], &format!("{client}-{}", l[0].boot), true)
    ))
}

/// The client's boots (or `boot`) as a page.
pub fn html(
    r: &ScenarioResult,
    sc: &Scenario,
    client: &str,
    boot: Option<u32>,
) -> Result<String, String> {
    let l = ladders(r, sc, client, boot)?;
    let title = format!("{} — client {client}", r.scenario);
    Ok(crate::page::explain_page(r, &l, &title))
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
pub fn text(r: &ScenarioResult, client: &str, mac: &str, boot: Option<u32>) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn run() -> (Scenario, ScenarioResult) {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../scenarios/examples/minimal.yaml");
        let sc = pxelab_scenario::load_file(&path).expect("loads");
        let opts = pxelab_sim::RunOptions {
            trace: true,
            ..Default::default()
        };
        let r = pxelab_sim::run_scenario(&sc, &opts);
        (sc, r)
    }

    #[test]
    fn a_boot_is_drawn_as_an_svg_file_and_a_page() {
        let (sc, r) = run();
        let s = svg(&r, &sc, "c1", None).expect("svg");
        assert!(s.starts_with("<svg xmlns="));
        assert!(s.contains("DISCOVER #1"));
        let h = html(&r, &sc, "c1", Some(1)).expect("html");
        assert!(h.starts_with("<!DOCTYPE html>") && h.contains("<svg class=\"ladder\""));
    }

    #[test]
    fn a_missing_boot_is_an_error_naming_how_many_there_were() {
        let (sc, r) = run();
        let e = svg(&r, &sc, "c1", Some(3)).expect_err("no boot 3");
        assert_eq!(e, "c1 has no boot 3 (it booted 1 time(s))");
    }
}
