//! `pxelab bench soak`: the command around `pxelab_harness::soak` (the timeline, the
//! comparison and the trends live there): continuous boots of modelled clients against
//! two peers and a DP for `--minutes`, a peer crash every minute and link flaps, in the
//! simulator and in the lab (`--mode sim|lab|both`).

use pxelab_harness::soak::{self, SoakSpec};
use pxelab_scenario as scenario;
use pxelab_sim::{run_scenario, RunOptions};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

fn duration(s: &str) -> Result<Duration, String> {
    scenario::values::parse_duration(s).map_err(|e| e.to_string())
}

#[derive(clap::Args)]
pub struct SoakArgs {
    /// How long clients keep booting (a peer crashes every minute).
    #[arg(long, default_value_t = 30)]
    minutes: u32,
    /// A client powers on every this long.
    #[arg(long, default_value = "2s", value_parser = duration)]
    every: Duration,
    /// Size of each boot image.
    #[arg(long, default_value = "1MiB")]
    image_size: String,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// sim (the model alone), lab (real responders, DHCP server and switch, modelled
    /// clients speaking real frames; root) or both, compared boot by boot.
    #[arg(long, default_value = "both")]
    mode: String,
    /// Memory and descriptor slopes leave out this first part of the run.
    #[arg(long, default_value = "60s", value_parser = duration)]
    warmup: Duration,
    /// Lab: a modelled boot with no outcome after this long counts as hung.
    #[arg(long, default_value = "120s", value_parser = duration)]
    boot_timeout: Duration,
    /// Lab: write each process's samples (once a second) to this CSV file.
    #[arg(long)]
    series: Option<PathBuf>,
    /// table or json.
    #[arg(long, default_value = "table")]
    format: String,
    /// Print the generated scenario and stop (it runs with `pxelab run`).
    #[arg(long)]
    emit: bool,
}

/// Exit status: success when every boot ran and ended as planned in each mode, and the
/// lab's boots agree with the simulator's.
pub fn run(a: &SoakArgs) -> ExitCode {
    match run_inner(a) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run_inner(a: &SoakArgs) -> Result<ExitCode, String> {
    let spec = SoakSpec {
        minutes: a.minutes,
        every: a.every,
        image_size: scenario::values::parse_size(&a.image_size)
            .map_err(|e| format!("--image-size {e}"))?,
        seed: a.seed,
    };
    let yaml = soak::scenario_yaml(&spec)?;
    if a.emit {
        print!("{yaml}");
        return Ok(ExitCode::SUCCESS);
    }
    let (sim, lab) = match a.mode.as_str() {
        "sim" => (true, false),
        "lab" => (false, true),
        "both" => (true, true),
        m => return Err(format!("--mode {m}: use sim, lab or both")),
    };
    if !["table", "json"].contains(&a.format.as_str()) {
        return Err(format!("--format {}: use table or json", a.format));
    }
    // As a file: the lab's responders read their scenario from it.
    let dir = std::env::temp_dir().join(format!("pxelab-soak-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let file = dir.join("soak.yaml");
    let loaded = std::fs::write(&file, &yaml)
        .map_err(|e| format!("{}: {e}", file.display()))
        .and_then(|_| scenario::load_file(&file).map_err(|e| e.to_string()));
    let sc = match loaded {
        Ok(sc) => sc,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&dir);
            return Err(e);
        }
    };
    let lab_result = if lab {
        let flags = crate::LabRunFlags {
            keep: false,
            boot_timeout: a.boot_timeout,
            model_clients: true,
            capture: Default::default(),
        };
        let r = crate::run_lab(&[&sc], None, flags, false);
        let _ = std::fs::remove_dir_all(&dir);
        match r.map(|mut v| v.pop()) {
            Ok(Some(r)) => Some(r),
            Ok(None) => return Err("the lab did not run (interrupted)".into()),
            Err(code) => return Ok(code),
        }
    } else {
        let _ = std::fs::remove_dir_all(&dir);
        None
    };
    let sim_result = sim.then(|| run_scenario(&sc, &RunOptions::default()));
    let report = soak::report(&spec, sim_result.as_ref(), lab_result.as_ref(), a.warmup)?;
    if let (Some(path), Some(l)) = (&a.series, &lab_result) {
        std::fs::write(path, soak::series_csv(&l.resource_series))
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    if a.format == "json" {
        println!("{}", serde_json::json!({ "soak": report }));
    } else {
        print!("{}", soak::table(&report));
    }
    Ok(if report.ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
