//! `pxelab run`'s, `pxelab merge`'s and `pxelab report`'s results on stdout and in
//! files; the merge itself is `pxelab_sim::merge`, the HTML page `pxelab_report`.

use crate::Format;
use pxelab_report::PageOptions;
use pxelab_sim::merge::Suite;
use pxelab_sim::ScenarioResult;
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
    /// Write the merged results as an HTML report here (self-contained).
    #[arg(long)]
    pub html: Option<PathBuf>,
    /// Merge what is there when scenarios of the suite are in none of the files.
    #[arg(long)]
    pub partial: bool,
}

#[derive(clap::Args)]
pub struct ReportArgs {
    /// Results files (`pxelab run --json`, `pxelab merge --json`): a sim run's and a
    /// lab run's are shown side by side.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// The HTML page to write.
    #[arg(long, required = true)]
    pub html: PathBuf,
}

/// Where `emit` writes the results besides stdout.
pub struct Outputs {
    pub json: Option<PathBuf>,
    pub junit: Option<PathBuf>,
    pub html: Option<PathBuf>,
}

/// `pxelab report`: exit status 0 when the page is written, whatever the results'
/// verdict.
pub fn report(a: ReportArgs) -> Result<ExitCode, crate::Error> {
    let results = pxelab_report::read_results(&a.files)?;
    let opts = PageOptions {
        sources: a.files.iter().map(|f| f.display().to_string()).collect(),
        ..Default::default()
    };
    pxelab_report::write(&a.html, &results, &opts)?;
    eprintln!("report: {}", a.html.display());
    Ok(ExitCode::SUCCESS)
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
    let out = Outputs {
        json: a.json,
        junit: a.junit,
        html: a.html,
    };
    if let Err(e) = emit(&m.results, &m.suite, a.format, out) {
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
    out: Outputs,
) -> Result<(), String> {
    match format {
        Format::Text => print!("{}", pxelab_report::text::text(results)),
        Format::Json => println!("{}", pxelab_sim::merge::results_json(results, Some(suite))),
    }
    pxelab_report::files::write_files(
        results,
        Some(suite),
        out.json.as_deref(),
        out.junit.as_deref(),
    )?;
    if let Some(h) = &out.html {
        pxelab_report::write(h, results, &PageOptions::default())?;
        eprintln!("report: {}", h.display());
    }
    Ok(())
}
