//! The result files a run is asked to write (`--json`, `--junit`).

use crate::junit::junit;
use pxelab_sim::merge::{results_json as json, Suite};
use pxelab_sim::ScenarioResult;
use std::path::Path;

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
