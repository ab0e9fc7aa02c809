//! Processes the lab starts, and the run's record of them for cleanup.
//!
//! Every child gets its own process group (a terminal's Ctrl-C reaches only the
//! harness, which then tears the lab down in order) and `PR_SET_PDEATHSIG`: if the
//! harness itself dies (`kill -9`), its children die with it. Each PID is also written
//! to the run directory's `pids` file, so `pxelab lab clean` can stop the processes of
//! a crashed run, and only those, by PID.

use pxelab_system::process;
use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

// Preparing a child and the interrupt flag are the system crate's; the lab names them
// here, beside its record of the children it started.
pub use pxelab_system::process::{install_interrupt_handler, interrupted, prepare};

/// The children of one lab run.
pub struct Procs {
    pub list: Vec<(String, Child)>,
    pid_file: PathBuf,
}

impl Procs {
    pub fn new(run_dir: &Path) -> Procs {
        Procs {
            list: Vec::new(),
            pid_file: run_dir.join("pids"),
        }
    }

    pub fn spawn(&mut self, what: &str, cmd: &mut Command) -> Result<u32, CommandError> {
        let child = prepare(cmd).spawn().map_err(|source| CommandError::Spawn {
            what: what.to_string(),
            program: cmd.get_program().to_owned(),
            source,
        })?;
        let pid = child.id();
        self.record(pid);
        self.list.push((what.to_string(), child));
        Ok(pid)
    }

    /// The PID of a running child.
    pub fn pid(&mut self, what: &str) -> Option<u32> {
        let (_, c) = self.list.iter_mut().find(|(w, _)| w == what)?;
        matches!(c.try_wait(), Ok(None)).then(|| c.id())
    }

    pub fn add(&mut self, what: &str, child: Child) {
        // A host started again replaces its earlier (crashed or stopped) process.
        self.kill(what);
        self.record(child.id());
        self.list.push((what.to_string(), child));
    }

    fn record(&self, pid: u32) {
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.pid_file)
        {
            let _ = writeln!(f, "{pid}");
        }
    }

    /// Stops one child (SIGKILL: a crash, no goodbye) and reaps it.
    pub fn kill(&mut self, what: &str) -> bool {
        let Some(i) = self.list.iter().position(|(w, _)| w == what) else {
            return false;
        };
        let (_, mut c) = self.list.remove(i);
        let _ = c.kill();
        let _ = c.wait();
        true
    }

    /// Stops every child: SIGTERM, then SIGKILL for those still running after `grace`.
    pub fn stop_all(&mut self, grace: Duration) {
        for (_, c) in &self.list {
            process::signal(c.id(), process::Signal::TERM);
        }
        let deadline = Instant::now() + grace;
        for (_, c) in &mut self.list {
            loop {
                match c.try_wait() {
                    Ok(Some(_)) | Err(_) => break,
                    Ok(None) if Instant::now() >= deadline => {
                        let _ = c.kill();
                        let _ = c.wait();
                        break;
                    }
                    Ok(None) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
        }
        self.list.clear();
    }
}

/// Why a command the lab runs did not do its job: each names the command.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error("cannot run {program:?}: {source}")]
    Run {
        program: OsString,
        source: std::io::Error,
    },
    /// It ran and failed: the command line and what it said on stderr.
    #[error("`{command}` failed: {stderr}")]
    Failed { command: String, stderr: String },
    #[error("cannot start {what} ({program:?}): {source}")]
    Spawn {
        what: String,
        program: OsString,
        source: std::io::Error,
    },
}

/// For the callers that still report errors as text (the benches, the soak).
impl From<CommandError> for String {
    fn from(e: CommandError) -> String {
        e.to_string()
    }
}

/// Runs a command to completion; an error names the command and its stderr.
pub fn run(cmd: &mut Command) -> Result<String, CommandError> {
    let out = cmd.output().map_err(|source| CommandError::Run {
        program: cmd.get_program().to_owned(),
        source,
    })?;
    if !out.status.success() {
        let args: Vec<String> = cmd
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        return Err(CommandError::Failed {
            command: format!("{} {}", cmd.get_program().to_string_lossy(), args.join(" ")),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// `ip ARGS...`
pub fn ip(args: &[&str]) -> Result<String, CommandError> {
    run(Command::new("ip").args(args))
}

/// `ip netns exec NS ARGS...`
pub fn in_ns(ns: &str, args: &[&str]) -> Result<String, CommandError> {
    let mut a = vec!["netns", "exec", ns];
    a.extend_from_slice(args);
    ip(&a)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_command_is_named_with_its_arguments_and_its_stderr() {
        let e =
            run(Command::new("sh").args(["-c", "echo no such device >&2; exit 1"])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "`sh -c echo no such device >&2; exit 1` failed: no such device"
        );
        let e = run(&mut Command::new("/nonexistent/pxelab-tool")).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("cannot run \"/nonexistent/pxelab-tool\": "),
            "{e}"
        );
        assert_eq!(run(Command::new("echo").arg("ok")).unwrap(), "ok\n");
    }
}
