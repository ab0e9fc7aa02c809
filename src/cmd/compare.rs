//! `pxelab run --lab --compare`: each lab scenario is run again in the simulator, both
//! with segment captures, and every boot's phases are compared
//! (`pxelab_sim::phases`): power-on to the first DISCOVER, the first DISCOVER to the
//! boot program's first TFTP read, the boot program's and the boot image's downloads.
//! The simulator run takes the lab's test bed from the lab run (the lab overlay: the
//! boot programs' sizes, the server's turnaround), so that the phases compare the
//! firmware model only. The comparison goes into each lab result's `timing` (the JSON
//! results) and `timing_overlay`, and, as a table, to stdout.

use pxelab_scenario::Scenario;
use pxelab_sim::lab_overlay;
use pxelab_sim::phases::{self, BootTiming};
use pxelab_sim::{RunOptions, ScenarioResult};
use std::path::Path;

/// Where the captures of a compared run go when `--pcap` was not given.
pub fn scratch_dir() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("pxelab-compare-{}", std::process::id()))
}

/// Runs each lab result's scenario in the simulator (captures under `dir/sim`) with the
/// lab overlay measured from the lab run (`pxelab_sim::lab_overlay`: the boot programs
/// the lab served, its server's turnaround) and sets the lab result's `timing` and
/// `timing_overlay`. A scenario whose captures cannot be read gets a warning and no
/// timing.
pub fn attach(scenarios: &[&Scenario], lab: &mut [ScenarioResult], seed: Option<u64>, dir: &Path) {
    let several = scenarios.len() > 1;
    for r in lab.iter_mut() {
        let Some(sc) = scenarios
            .iter()
            .find(|s| s.file.display().to_string() == r.file)
        else {
            continue;
        };
        let opts = RunOptions {
            seed,
            pcap_dir: Some(pxelab_sim::pcap::dir_for(
                &dir.join("sim"),
                &sc.file,
                several,
            )),
            ..Default::default()
        };
        let compared = lab_overlay::run_with_overlay(sc, r, &opts)
            .and_then(|(sim, overlay)| Ok((phases::compare_results(r, &sim, sc)?, overlay)));
        match compared {
            Ok((timing, overlay)) => {
                r.timing = timing;
                r.timing_overlay = Some(overlay);
            }
            Err(e) => eprintln!("warning: {}: no timing comparison: {e}", r.file),
        }
    }
}

/// The comparison of every result as a table, with a closing tally.
pub fn table(results: &[ScenarioResult]) -> String {
    let mut s = format!("\ntiming, lab against simulator (sim − lab; within: 10 %, or 0.5 s for a phase under 5 s)\n{}\n", phases::TABLE_HEADING);
    let all: Vec<&BootTiming> = results.iter().flat_map(|r| &r.timing).collect();
    for r in results {
        s.push_str(&phases::table(&r.file, &r.timing));
    }
    // What the simulator runs took from the lab's test bed (docs/LAB.md, "The lab overlay").
    for r in results {
        if let Some(o) = &r.timing_overlay {
            s.push_str(&format!("{}: {}\n", r.file, o.describe()));
        }
    }
    let judged: Vec<bool> = all
        .iter()
        .flat_map(|t| t.phases.iter().filter_map(|p| p.within))
        .collect();
    let within = judged.iter().filter(|w| **w).count();
    s.push_str(&format!(
        "{within} of {} phases within (boots compared: {})\n",
        judged.len(),
        all.len()
    ));
    s
}
