//! `pxelab run`'s and `pxelab merge`'s results on stdout and in files; the merge itself
//! is `pxelab_sim::merge`.

use crate::Format;
use pxelab_sim::merge::Suite;
use pxelab_sim::{report, ScenarioResult};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct MergeArgs {
    /// The shards' results files.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Print the merged results as text lines or JSON.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// Write the merged JSON results here.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Write the merged JUnit XML here.
    #[arg(long)]
    pub junit: Option<PathBuf>,
    /// Merge what is there when scenarios of the suite are in none of the files.
    #[arg(long)]
    pub partial: bool,
}

/// `pxelab merge`.
pub fn merge(a: MergeArgs) -> ExitCode {
    let m = match pxelab_sim::merge::merge_files(&a.files, a.partial) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = emit(&m.results, &m.suite, a.format, a.json, a.junit) {
        eprintln!("error: {e}");
        return ExitCode::FAILURE;
    }
    if m.results.iter().all(|r| r.passed) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Results on stdout (text or JSON), and in the files asked for.
pub fn emit(
    results: &[ScenarioResult],
    suite: &Suite,
    format: Format,
    json: Option<PathBuf>,
    junit: Option<PathBuf>,
) -> Result<(), String> {
    match format {
        Format::Text => print!("{}", report::text(results)),
        Format::Json => println!("{}", report::json(results, Some(suite))),
    }
    report::write_files(results, Some(suite), json.as_deref(), junit.as_deref())
}
