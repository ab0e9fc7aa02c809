//! `pxelab explain --format svg|html`: one client's boots of a run drawn as ladders.

use pxelab_scenario::Scenario;
use pxelab_sim::ladder::{boot_ladder, Ladder};
use pxelab_sim::ScenarioResult;

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
