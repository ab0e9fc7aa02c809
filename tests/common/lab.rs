//! What the lab tests share (tests/lab.rs, tests/lab_bench.rs): the binary run for its
//! JSON, what a lab run may leave behind, a self-removing directory, a test's wall time.

use serde_json::Value;
use std::process::{Command, Stdio};
use std::time::Instant;

pub const PXELAB: &str = env!("CARGO_BIN_EXE_pxelab");

pub fn run_json(args: &[&str]) -> Value {
    let out = Command::new(PXELAB)
        .args(args)
        .args(["--format", "json"])
        .stderr(Stdio::inherit())
        .output()
        .expect("pxelab runs");
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "pxelab {args:?} printed no JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// Namespaces, tap devices, run directories and processes a lab run may leave.
pub fn leftovers() -> Vec<String> {
    let mut v = Vec::new();
    let ns = Command::new("ip").args(["netns", "list"]).output().unwrap();
    for l in String::from_utf8_lossy(&ns.stdout).lines() {
        if l.starts_with("pxelab-") {
            v.push(format!("namespace {l}"));
        }
    }
    let links = Command::new("ip")
        .args(["-o", "link", "show"])
        .output()
        .unwrap();
    for l in String::from_utf8_lossy(&links.stdout).lines() {
        if let Some(name) = l.split(": ").nth(1) {
            let name = name.split('@').next().unwrap_or(name);
            if name.starts_with("px")
                && name.len() > 7
                && name[2..6].chars().all(|c| c.is_ascii_hexdigit())
                && name[6..].starts_with('s')
            {
                v.push(format!("device {name}"));
            }
        }
    }
    for e in std::fs::read_dir("/tmp").unwrap().flatten() {
        let n = e.file_name().to_string_lossy().into_owned();
        if n.starts_with("pxelab-lab-") {
            v.push(format!("run directory /tmp/{n}"));
        }
    }
    // The benches' CPU accounting groups (cgroup v2).
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
    if let Some(m) = mounts
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|f| f.len() > 2 && f[2] == "cgroup2")
    {
        for e in std::fs::read_dir(m[1]).into_iter().flatten().flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            if n.starts_with("pxelab-") {
                v.push(format!("cgroup {n}"));
            }
        }
    }
    let ps = Command::new("ps")
        .args(["-eo", "pid,args"])
        .output()
        .unwrap();
    for l in String::from_utf8_lossy(&ps.stdout).lines() {
        if l.contains("pxelab lab ") || l.contains("pxelab serve") || l.contains("/tmp/pxelab-lab-")
        {
            v.push(format!("process {}", l.trim()));
        }
    }
    v
}

/// A directory removed on drop (also when an assertion fails).
pub struct TempDir(pub std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Prints a test's wall time when it ends, passed or not: CI's time budget is spent here.
/// The test's name is its thread's (libtest names each test's thread after it).
pub struct Timed(Instant);

impl Timed {
    pub fn start() -> Timed {
        Timed(Instant::now())
    }
}

impl Drop for Timed {
    fn drop(&mut self) {
        let thread = std::thread::current();
        let name = thread.name().unwrap_or("?");
        eprintln!("lab test {name}: {:.0} s", self.0.elapsed().as_secs_f64());
    }
}

/// What `leftovers` finds now that it did not find `before`: nothing, or the test fails
/// with `what` and the list.
pub fn assert_nothing_left(before: &[String], what: &str) {
    let after: Vec<String> = leftovers()
        .into_iter()
        .filter(|l| !before.contains(l))
        .collect();
    assert!(after.is_empty(), "{what}{after:?}");
}

pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}
