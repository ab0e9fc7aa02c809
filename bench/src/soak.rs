//! The soak bench around `pxelab_harness::soak` (the timeline, the comparison and the
//! trends live there): continuous boots of modelled clients against two peers and a
//! DP for some minutes, a peer crash every minute and link flaps, in the simulator, in
//! the lab, or both, compared boot by boot.

use crate::{Error, Mode};
use pxelab_harness::soak::{self, SoakReport, SoakSpec};
use pxelab_scenario::Scenario;
use pxelab_sim::{run_scenario, RunOptions, ScenarioResult};
use std::path::Path;
use std::time::Duration;

/// The soak's timeline from the flags; `--image-size` as scenarios write sizes.
pub fn spec(minutes: u32, every: Duration, image_size: &str, seed: u64) -> Result<SoakSpec, Error> {
    let image_size = crate::matrix::flag(
        "--image-size",
        pxelab_scenario::values::parse_size(image_size),
    )?;
    Ok(SoakSpec {
        minutes,
        every,
        image_size,
        seed,
    })
}

/// The soak's generated scenario (`--emit`; it runs with `pxelab run`).
pub fn scenario_yaml(spec: &SoakSpec) -> Result<String, Error> {
    soak::scenario_yaml(spec).map_err(Error::Usage)
}

/// Runs the soak in `mode`: the lab through `lab` (which builds, runs and tears down
/// the scenario, `None` when interrupted), the simulator in process; the report
/// compares them, its slopes leave out `warmup`. With `series`, the lab's samples are
/// written there as CSV.
pub fn run(
    spec: &SoakSpec,
    mode: Mode,
    warmup: Duration,
    series: Option<&Path>,
    lab: impl FnOnce(&Scenario) -> Result<Option<ScenarioResult>, Error>,
) -> Result<SoakReport, Error> {
    let yaml = scenario_yaml(spec)?;
    // As a file: the lab's responders read their scenario from it.
    let dir = std::env::temp_dir().join(format!("pxelab-soak-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let file = dir.join("soak.yaml");
    let loaded = std::fs::write(&file, &yaml)
        .map_err(|e| Error::io(&file, e))
        .and_then(|_| {
            pxelab_scenario::load_file(&file).map_err(|e| Error::Scenario(e.to_string()))
        });
    let lab_result = match loaded {
        Ok(sc) if mode.lab() => lab(&sc).map(|r| (sc, r)),
        Ok(sc) => Ok((sc, None)),
        Err(e) => Err(e),
    };
    let _ = std::fs::remove_dir_all(&dir);
    let (sc, lab_result) = lab_result?;
    if mode.lab() && lab_result.is_none() {
        return Err(Error::Lab("the lab did not run (interrupted)".into()));
    }
    let sim_result = mode
        .sim()
        .then(|| run_scenario(&sc, &RunOptions::default()));
    let report = soak::report(spec, sim_result.as_ref(), lab_result.as_ref(), warmup)
        .map_err(Error::Usage)?;
    if let (Some(path), Some(l)) = (series, &lab_result) {
        std::fs::write(path, soak::series_csv(&l.resource_series))
            .map_err(|e| Error::io(path, e))?;
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_soak_in_the_simulator_ends_every_boot_as_planned() {
        let s = spec(1, Duration::from_secs(2), "1MiB", 1).unwrap();
        let r = run(&s, Mode::Sim, Duration::ZERO, None, |_| {
            unreachable!("the simulator alone")
        })
        .unwrap();
        assert!(r.ok());
        let e = spec(1, Duration::from_secs(2), "1XB", 1).unwrap_err();
        assert!(e.to_string().starts_with("--image-size"), "{e}");
    }
}
