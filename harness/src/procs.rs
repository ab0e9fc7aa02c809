//! Processes the lab starts, and the run's record of them for cleanup.
//!
//! Every child gets its own process group (a terminal's Ctrl-C reaches only the
//! harness, which then tears the lab down in order) and `PR_SET_PDEATHSIG`: if the
//! harness itself dies (`kill -9`), its children die with it. Each PID is also written
//! to the run directory's `pids` file, so `pxelab lab clean` can stop the processes of
//! a crashed run, and only those, by PID.

use pxelab_system::process;
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

    pub fn spawn(&mut self, what: &str, cmd: &mut Command) -> Result<u32, String> {
        let child = prepare(cmd)
            .spawn()
            .map_err(|e| format!("cannot start {what} ({:?}): {e}", cmd.get_program()))?;
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

/// Runs a command to completion; an error names the command and its stderr.
pub fn run(cmd: &mut Command) -> Result<String, String> {
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run {:?}: {e}", cmd.get_program()))?;
    if !out.status.success() {
        let args: Vec<String> = cmd
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        return Err(format!(
            "`{} {}` failed: {}",
            cmd.get_program().to_string_lossy(),
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// `ip ARGS...`
pub fn ip(args: &[&str]) -> Result<String, String> {
    run(Command::new("ip").args(args))
}

/// `ip netns exec NS ARGS...`
pub fn in_ns(ns: &str, args: &[&str]) -> Result<String, String> {
    let mut a = vec!["netns", "exec", ns];
    a.extend_from_slice(args);
    ip(&a)
}
