//! Scenarios run in the lab one after another (`pxelab run --lab`, and the storm and
//! soak benches' lab side), with the terminal's progress bar: each built, run and torn
//! down in turn by `pxelab_harness::lab::Lab`.

use pxelab_scenario::Scenario;
use pxelab_sim::ScenarioResult;
use std::path::Path;

/// How the scenarios run in the lab: keep the network up, longest boot, modelled
/// clients, captures.
pub struct LabRunFlags {
    pub keep: bool,
    pub boot_timeout: std::time::Duration,
    pub model_clients: bool,
    pub capture: pxelab_sim::pcap::CaptureOptions,
}

pub fn run_lab(
    scenarios: &[&Scenario],
    pcap: Option<&Path>,
    flags: LabRunFlags,
    several: bool,
) -> Result<Vec<ScenarioResult>, String> {
    let LabRunFlags {
        keep,
        boot_timeout,
        model_clients,
        capture,
    } = flags;
    let missing = super::lab::missing(scenarios, false);
    if !missing.is_empty() {
        let list: String = missing.iter().map(|m| format!("\n  - {m}")).collect();
        return Err(format!(
            "the lab cannot run on this machine; missing:{list}\n(install the packages with apt-get install, or run scripts/test-all.sh once)"
        ));
    }
    pxelab_harness::procs::install_interrupt_handler();
    let exe = std::env::current_exe().map_err(|e| format!("cannot find the pxelab binary: {e}"))?;
    let programs = std::env::temp_dir().join(format!("pxelab-images-{}", std::process::id()));
    pxelab_harness::bootroot::build_images(&programs)?;
    let bar = indicatif::ProgressBar::new(scenarios.len() as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar.enable_steady_tick(std::time::Duration::from_millis(500));
    let verbose = bar.is_hidden() || std::env::var_os("PXELAB_LAB_VERBOSE").is_some();
    let mut results = Vec::new();
    for s in scenarios {
        if pxelab_harness::procs::interrupted() {
            break;
        }
        bar.set_message(s.file.display().to_string());
        let pcap_dir = pcap.map(|d| pxelab_sim::pcap::dir_for(d, &s.file, several));
        if let Some(d) = &pcap_dir {
            let _ = std::fs::create_dir_all(d);
        }
        let opts = pxelab_harness::lab::LabOptions {
            exe: exe.clone(),
            programs: programs.clone(),
            pcap_dir,
            capture: capture.clone(),
            keep,
            boot_timeout,
            warmup: std::time::Duration::from_secs(5),
            verbose,
            // A hidden bar (not a terminal): the lab prints its steps (verbose).
            progress: (!bar.is_hidden()).then(|| {
                let bar = bar.clone();
                pxelab_harness::progress::Progress::new(move |m| bar.set_message(m.to_string()))
            }),
            model_clients,
        };
        let r = pxelab_harness::lab::Lab::new(s, opts).run();
        bar.println(format!(
            "{} {} (lab, {:.1}s)",
            if r.passed { "pass" } else { "FAIL" },
            s.file.display(),
            r.wall_time_s
        ));
        if let Some(m) = capture.take_notice() {
            // A hidden bar (not a terminal: CI) prints nothing.
            if bar.is_hidden() {
                eprintln!("warning: {m}");
            } else {
                bar.println(format!("warning: {m}"));
            }
        }
        results.push(r);
        bar.inc(1);
    }
    bar.finish_and_clear();
    let _ = std::fs::remove_dir_all(&programs);
    if pxelab_harness::procs::interrupted() {
        eprintln!("interrupted: the lab was torn down");
    }
    Ok(results)
}
