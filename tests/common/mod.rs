//! Helpers shared by the binary's end-to-end tests (`mod common;`).
#![allow(dead_code)]

pub mod fixture;
pub mod lab;
pub mod netns;

use std::path::PathBuf;
use std::process::{Command, Output};

/// The binary, run from the repository's root.
pub fn pxelab() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_pxelab"));
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

/// A fresh directory for one test.
pub fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("pxelab-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Runs `cmd`, which must succeed.
pub fn run_ok(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The `file` of each scenario of JSON results, in order.
pub fn scenario_files(results: &serde_json::Value) -> Vec<String> {
    results["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["file"].as_str().unwrap().to_string())
        .collect()
}
