//! cgroup v2 groups that account a bench server's CPU time, its forked children
//! included; named `pxelab-ID-...` so that `pxelab lab clean` finds a crashed run's.

use std::path::PathBuf;
use std::time::Duration;

/// A cgroup (v2) holding the bench's server and every process it forks, so that the
/// server's CPU time counts them all: tftpd-hpa serves each transfer from a child that
/// its parent reaps when it likes, which `/proc/PID/stat`'s children times miss.
pub struct CpuGroup {
    dir: PathBuf,
}

impl CpuGroup {
    /// Where cgroup v2 is mounted (`/sys/fs/cgroup` on Debian 12, or
    /// `/sys/fs/cgroup/unified` beside v1 controllers).
    pub fn mount() -> Option<PathBuf> {
        let mounts = std::fs::read_to_string("/proc/mounts").ok()?;
        mounts
            .lines()
            .map(|l| l.split_whitespace().collect::<Vec<_>>())
            .find(|f| f.len() > 2 && f[2] == "cgroup2")
            .map(|f| PathBuf::from(f[1]))
    }

    /// A new group named `name` (a `pxelab-` run name, so `lab clean` finds leftovers).
    pub fn create(name: &str) -> Option<CpuGroup> {
        let dir = Self::mount()?.join(name);
        std::fs::create_dir(&dir).ok()?;
        dir.join("cpu.stat")
            .exists()
            .then_some(CpuGroup { dir: dir.clone() })
            .or_else(|| {
                let _ = std::fs::remove_dir(&dir);
                None
            })
    }

    /// The group at `dir` (an existing one: `lab clean`).
    pub fn at(dir: PathBuf) -> CpuGroup {
        CpuGroup { dir }
    }

    /// Moves `pid` (and the children it forks from now on) into the group.
    pub fn add(&self, pid: u32) -> bool {
        std::fs::write(self.dir.join("cgroup.procs"), pid.to_string()).is_ok()
    }

    /// CPU time used by the group's processes, those that ended included.
    pub fn usage(&self) -> Option<Duration> {
        let stat = std::fs::read_to_string(self.dir.join("cpu.stat")).ok()?;
        let usec = stat
            .lines()
            .find_map(|l| l.strip_prefix("usage_usec "))?
            .trim()
            .parse::<u64>()
            .ok()?;
        Some(Duration::from_micros(usec))
    }

    /// Kills every process in the group (SIGKILL), by PID.
    pub fn kill_members(&self) {
        for pid in std::fs::read_to_string(self.dir.join("cgroup.procs"))
            .unwrap_or_default()
            .lines()
            .filter_map(|p| p.trim().parse::<u32>().ok())
        {
            // A process in a group only pxelab creates.
            pxelab_system::process::signal(pid, pxelab_system::process::Signal::KILL);
        }
    }

    /// Removes the group once its processes are gone (they are stopped first).
    pub fn remove(&self) {
        for _ in 0..50 {
            if std::fs::remove_dir(&self.dir).is_ok() || !self.dir.exists() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
