//! A segment as the lab and the bench build it: one switch process (`pxelab lab
//! switch`, see `switch.rs`) started from its spec, and the tap devices it creates
//! moved into their hosts' namespaces.

use crate::procs::{self, in_ns, ip, CommandError, Procs};
use crate::switch::SwitchSpec;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{ChildStdin, ChildStdout, Command, Stdio};

/// Why a switch did not start.
#[derive(Debug, thiserror::Error)]
pub enum SwitchError {
    #[error("cannot write the spec of {label} to {path}: {source}")]
    Spec {
        label: String,
        path: String,
        source: std::io::Error,
    },
    #[error("cannot start {label}: {source}")]
    Spawn {
        label: String,
        source: std::io::Error,
    },
    #[error("{label} did not start")]
    NotReady { label: String },
}

/// A running switch: its stdin takes `link ...` commands; its stdout, after `ready`,
/// reports what it saw (`dhcp HOST`, `tftp ...`, `pcap-stopped`).
pub struct Switch {
    pub stdin: ChildStdin,
    pub stdout: BufReader<ChildStdout>,
}

/// Starts `exe lab switch` on `spec` (written to `spec_file`), recorded in `procs` as
/// `what`, and waits for its `ready`: its taps exist when this returns. `label` names
/// it in errors ("the switch of segment hq").
pub fn start_switch(
    exe: &Path,
    procs: &mut Procs,
    what: &str,
    label: &str,
    spec_file: &Path,
    spec: &SwitchSpec,
) -> Result<Switch, SwitchError> {
    let text = serde_json::to_string_pretty(spec).expect("a switch spec serialises");
    std::fs::write(spec_file, text).map_err(|source| SwitchError::Spec {
        label: label.to_string(),
        path: spec_file.display().to_string(),
        source,
    })?;
    let mut cmd = Command::new(exe);
    cmd.args(["lab", "switch", "--spec"])
        .arg(spec_file)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let mut child = procs::prepare(&mut cmd)
        .spawn()
        .map_err(|source| SwitchError::Spawn {
            label: label.to_string(),
            source,
        })?;
    let stdin = child.stdin.take().expect("piped");
    let mut stdout = BufReader::new(child.stdout.take().expect("piped"));
    procs.add(what, child);
    let mut line = String::new();
    let _ = stdout.read_line(&mut line);
    if line.trim() != "ready" {
        return Err(SwitchError::NotReady {
            label: label.to_string(),
        });
    }
    Ok(Switch { stdin, stdout })
}

/// A switch's tap as a host's interface: moved into namespace `ns`, renamed `name`
/// (unless it keeps its tap name), given `mac` if any and the IPv4 address `cidr` if any
/// (none on an IPv6-only segment), and brought up.
pub fn attach_tap(
    tap: &str,
    ns: &str,
    name: &str,
    mac: Option<&str>,
    cidr: Option<&str>,
) -> Result<(), CommandError> {
    ip(&["link", "set", "dev", tap, "netns", ns])?;
    if name != tap {
        in_ns(ns, &["ip", "link", "set", "dev", tap, "name", name])?;
    }
    if let Some(mac) = mac {
        in_ns(ns, &["ip", "link", "set", "dev", name, "address", mac])?;
    }
    if let Some(cidr) = cidr {
        in_ns(ns, &["ip", "addr", "add", cidr, "dev", name])?;
    }
    in_ns(ns, &["ip", "link", "set", "dev", name, "up"])?;
    Ok(())
}
