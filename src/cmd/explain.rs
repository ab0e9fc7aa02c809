//! `pxelab explain`: one client's boots in the simulator, packet by packet
//! (`pxelab_sim::report::explain`).

use pxelab_sim::{report, run_scenario, RunOptions};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct ExplainArgs {
    file: PathBuf,
    #[arg(long)]
    client: String,
    /// Which boot of that client (from 1); all boots when omitted.
    #[arg(long)]
    boot: Option<u32>,
    #[arg(long)]
    seed: Option<u64>,
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
    };
    let r = run_scenario(&sc, &opts);
    print!(
        "{}",
        report::explain(&r, &a.client, &c.mac.to_string(), a.boot)
    );
    Ok(ExitCode::SUCCESS)
}
