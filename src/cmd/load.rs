//! Finding and loading the scenario files a command names, with the errors it prints.

use pxelab_scenario::{self as scenario, Scenario};
use std::path::{Path, PathBuf};

/// The scenario files among `paths`; none at all is an error that names the paths.
pub fn scenario_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let files = scenario::discover(paths).map_err(|e| e.to_string())?;
    if files.is_empty() {
        return Err(format!(
            "no scenario files (*.yaml, *.yml) found in {}",
            paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    Ok(files)
}

/// Every scenario that loads, and the errors of those that do not.
pub fn load_all(paths: &[PathBuf]) -> (Vec<Scenario>, Vec<String>) {
    let mut ok = Vec::new();
    let mut errors = Vec::new();
    let files = match scenario_files(paths) {
        Ok(f) => f,
        Err(e) => {
            errors.push(e);
            return (ok, errors);
        }
    };
    for f in files {
        match scenario::load_file(&f) {
            Ok(s) => ok.push(s),
            Err(e) => errors.push(e.to_string()),
        }
    }
    (ok, errors)
}

/// One scenario file, or its located error.
pub fn load_one(file: &Path) -> Result<Scenario, String> {
    scenario::load_file(file).map_err(|e| e.to_string())
}
