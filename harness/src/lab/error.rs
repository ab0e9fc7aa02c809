//! Why a lab run could not build its network or play its timeline. Each message says
//! what failed and where (the host, segment, client or file), the same words the lab
//! reported when these were strings; `pxelab lab run` prints them after `lab: `.

use crate::config_error::ConfigError;
use crate::procs::CommandError;
use crate::segment::SwitchError;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum LabError {
    /// `ip`, `sysctl` and the other commands that build the network.
    #[error(transparent)]
    Command(#[from] CommandError),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Switch(#[from] SwitchError),
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    /// A file of the run directory the message of which names it already.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error("{}: {source}", path.display())]
    File {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("unknown client {0}")]
    UnknownClient(String),
    #[error("unknown segment {0}")]
    UnknownSegment(String),
    #[error("no modelled clients on segment {0}")]
    NoModelledClients(String),
    #[error("the modelled clients of {segment}: {source}")]
    ModelledClientsInput {
        segment: String,
        source: std::io::Error,
    },
    #[error("cannot start the modelled clients of {segment}: {source}")]
    ModelledClientsStart {
        segment: String,
        source: std::io::Error,
    },
    #[error("the modelled clients of segment {0} did not start")]
    ModelledClientsNotReady(String),
    #[error("cannot start QEMU for {client}: {source}")]
    QemuStart {
        client: String,
        source: std::io::Error,
    },
    #[error("cannot start {what}: {source}")]
    Start {
        what: String,
        source: std::io::Error,
    },
    #[error("router {router}: {source}")]
    Router { router: String, source: ConfigError },
    #[error("responder {name} did not start within 30 s; its last log lines: {last_lines}")]
    ResponderNotStarted { name: String, last_lines: String },
    #[error("switch {segment}: {source}")]
    SwitchInput {
        segment: String,
        source: std::io::Error,
    },
    #[error("state database: {0}")]
    StateDatabase(#[source] pxelab_engine::state::StateError),
    #[error("interrupted")]
    Interrupted,
    /// An event [`cannot_play`](pxelab_sim::timeline::Testbed::cannot_play) refuses
    /// before the timeline starts; never reached when the check ran.
    #[error("`{0}` cannot be played in the lab (see cannot_play)")]
    CannotPlay(&'static str),
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lab's messages kept their words when they became types: what failed and
    /// where, nested errors after a colon.
    #[test]
    fn messages_name_what_failed_and_where() {
        let relay = LabError::Router {
            router: "r1".into(),
            source: ConfigError::Relay("dhcrelay -6 needs an interface with ip_helpers6"),
        };
        assert_eq!(
            relay.to_string(),
            "router r1: dhcrelay -6 needs an interface with ip_helpers6"
        );
        let file = LabError::File {
            path: "/tmp/pxelab-lab-0000/swarm-hq.json".into(),
            source: std::io::Error::from(std::io::ErrorKind::PermissionDenied),
        };
        assert_eq!(
            file.to_string(),
            "/tmp/pxelab-lab-0000/swarm-hq.json: permission denied"
        );
        assert_eq!(
            LabError::CannotPlay("tftp_request").to_string(),
            "`tftp_request` cannot be played in the lab (see cannot_play)"
        );
        let failed: LabError = CommandError::Failed {
            command: "ip netns add pxelab-0000-r1".into(),
            stderr: "File exists".into(),
        }
        .into();
        assert_eq!(
            failed.to_string(),
            "`ip netns add pxelab-0000-r1` failed: File exists"
        );
    }
}
