//! `pxelab explain`: one client's boots in the simulator, packet by packet
//! (`pxelab_report::explain::text`), or drawn as ladders (`pxelab_report::explain`).

use pxelab_report::explain;
use pxelab_sim::{run_scenario, RunOptions};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct ExplainArgs {
    file: PathBuf,
    #[arg(long)]
    client: String,
    /// Which boot of that client (from 1); all boots when omitted (svg: the first).
    #[arg(long)]
    boot: Option<u32>,
    #[arg(long)]
    seed: Option<u64>,
    /// The packet list as text, or the boot drawn as a ladder: an SVG file or a page.
    #[arg(long, value_enum, default_value = "text")]
    format: ExplainFormat,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum ExplainFormat {
    Text,
    Svg,
    Html,
}

pub fn explain(a: ExplainArgs) -> Result<ExitCode, crate::Error> {
    let sc = super::load::load_one(&a.file)?;
    let Some(c) = sc.network.clients.iter().find(|c| c.name == a.client) else {
        let names: Vec<&str> = sc.network.clients.iter().map(|c| c.name.as_str()).collect();
        return Err(format!(
            "{} has no client `{}` (clients: {})",
            a.file.display(),
            a.client,
            names.join(", ")
        )
        .into());
    };
    let opts = RunOptions {
        seed: a.seed,
        pcap_dir: None,
        capture: Default::default(),
        trace: true,
        no_verify: false,
        lab_overlay: None,
    };
    let r = run_scenario(&sc, &opts);
    let drawn = match a.format {
        ExplainFormat::Text => Ok(explain::text(&r, &a.client, &c.mac.to_string(), a.boot)),
        ExplainFormat::Svg => explain::svg(&r, &sc, &a.client, a.boot),
        ExplainFormat::Html => explain::html(&r, &sc, &a.client, a.boot),
    };
    print!(
        "{}",
        drawn.map_err(|e| format!("{}: {e}", a.file.display()))?
    );
    Ok(ExitCode::SUCCESS)
}
