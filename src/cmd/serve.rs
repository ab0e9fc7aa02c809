//! `pxelab serve`: one responder of a scenario as a real daemon (`pxelab_daemon::serve`).

use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct ServeArgs {
    /// Scenario (or site) file holding `site` and `network.responders`.
    #[arg(long)]
    scenario: PathBuf,
    /// Which responder of the file to run.
    #[arg(long)]
    responder: String,
    /// Bind to this interface only (SO_BINDTODEVICE).
    #[arg(long)]
    interface: Option<String>,
    /// The boot root directory served over TFTP.
    #[arg(long)]
    root: PathBuf,
    /// The site's state database.
    #[arg(long, default_value = "pxelab-state.db")]
    state: PathBuf,
    /// Seed of the peer membership's randomness.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// The UDP ports TFTP transfers are served from (their TIDs), FIRST-LAST: each
    /// transfer gets one at random; one another process holds is passed over.
    #[arg(long, value_name = "FIRST-LAST", default_value_t = pxelab_engine::responder::TransferPorts::default())]
    tftp_ports: pxelab_engine::responder::TransferPorts,
    /// Memory the read-ahead windows of all open files may hold together (up to
    /// 256 KiB each); past it, transfers read block by block.
    #[arg(long, value_name = "SIZE", default_value = "32MiB", value_parser = parse_budget)]
    read_ahead_budget: usize,
    /// HTTP boot connections open at once (R-HTTP-3), with `http` in the responder's
    /// configuration; one more is answered 503 and closed.
    #[arg(long, value_name = "N", default_value_t = pxelab_daemon::serve_http::HttpServer::MAX_CONNECTIONS)]
    http_max_connections: usize,
}

/// `--read-ahead-budget`: a size as scenarios write them (`32MiB`, bytes).
fn parse_budget(s: &str) -> Result<usize, String> {
    pxelab_scenario::values::parse_size(s).map(|b| b as usize)
}

pub fn serve(a: ServeArgs) -> Result<ExitCode, crate::Error> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let sc = super::load::load_one(&a.scenario)?;
    // A responder of the file, or one of its rogues (extension `network.rogues`: a peer
    // that never answers, with its own key or none).
    let found = sc
        .network
        .responders
        .iter()
        .find(|r| r.config.name == a.responder)
        .map(|r| (r.config.clone(), r.mac_exclusion_file.clone()))
        .or_else(|| {
            sc.network
                .rogues
                .iter()
                .find(|r| r.name == a.responder)
                .map(|r| (r.responder_config(), None))
        });
    let Some((config, exclusion_file)) = found else {
        let names: Vec<&str> = sc.serve_names().collect();
        return Err(format!(
            "{} has no responder `{}` (responders: {})",
            a.scenario.display(),
            a.responder,
            names.join(", ")
        )
        .into());
    };
    pxelab_daemon::serve::run(pxelab_daemon::serve::ServeOptions {
        config,
        site: sc.site.clone(),
        interface: a.interface,
        root: a.root,
        state: a.state,
        exclusion_file,
        seed: a.seed,
        tftp_ports: a.tftp_ports,
        read_ahead_budget: a.read_ahead_budget,
        http_max_connections: a.http_max_connections,
    })?;
    Ok(ExitCode::SUCCESS)
}
