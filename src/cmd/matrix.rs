//! `pxelab matrix`: the firmware compatibility matrix (`pxelab_bench::firmware_matrix`),
//! in the simulator, the lab (root) or both.

use super::lab_run::{run_lab, LabRunFlags};
use pxelab_bench::firmware_matrix::{self as fm, MatrixSpec};
use pxelab_bench::Mode;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct MatrixArgs {
    /// sim (default), lab (root: real firmware under QEMU) or both (with agreement).
    #[arg(long, value_enum, default_value = "sim")]
    mode: Mode,
    /// `all` or a comma-separated list: bios-x64,bios-x86,uefi-x64,uefi-ia32,uefi-arm64.
    #[arg(long, default_value = "all")]
    firmware: String,
    /// `all`, `ci` (the four CI runs) or a comma-separated list of set-up ids.
    #[arg(long, default_value = "all")]
    setup: String,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The matrix as JSON in this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// The markdown table in this file too.
    #[arg(long)]
    markdown: Option<PathBuf>,
    /// Write each set-up's scenario into DIR and stop.
    #[arg(long)]
    emit: Option<PathBuf>,
    /// Which clients the lab boots together: all, stack (BIOS, then UEFI) or each.
    #[arg(long, value_enum, default_value = "stack")]
    lab_batch: fm::LabBatch,
    /// Longest a lab boot may take.
    #[arg(long, default_value = "120s", value_parser = super::run::parse_secs)]
    boot_timeout: std::time::Duration,
}

/// Exit status 1 when, with both modes, a cell's simulator and lab disagree.
pub fn matrix(a: MatrixArgs) -> Result<ExitCode, crate::Error> {
    let spec = MatrixSpec {
        firmware: fm::parse_firmware(&a.firmware)?,
        setups: fm::parse_setups(&a.setup)?,
        mode: a.mode,
        seed: a.seed,
        lab_batch: a.lab_batch,
    };
    if let Some(dir) = &a.emit {
        for f in fm::emit(&spec, dir)? {
            println!("{}", f.display());
        }
        return Ok(ExitCode::SUCCESS);
    }
    let lab = |sc: &pxelab_scenario::Scenario| {
        let flags = LabRunFlags {
            keep: false,
            boot_timeout: a.boot_timeout,
            model_clients: false,
            capture: Default::default(),
        };
        let mut r = run_lab(&[sc], None, flags, false).map_err(pxelab_bench::Error::Lab)?;
        Ok(r.pop())
    };
    let report = fm::run(&spec, lab, |step| eprintln!("matrix: {step}"))?;
    if let Some(f) = &a.json {
        std::fs::write(f, serde_json::to_string_pretty(&report)? + "\n")
            .map_err(|e| format!("{}: {e}", f.display()))?;
    }
    if let Some(f) = &a.markdown {
        std::fs::write(f, fm::markdown(&report)).map_err(|e| format!("{}: {e}", f.display()))?;
    }
    print!("{}", fm::text(&report));
    Ok(if report.disagreements().is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

impl MatrixArgs {
    /// Builds no lab (for `main`'s SIGPIPE handling).
    pub fn sim_only(&self) -> bool {
        self.mode == Mode::Sim || self.emit.is_some()
    }
}
