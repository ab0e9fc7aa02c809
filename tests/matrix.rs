//! The firmware matrix in CI: every built-in firmware against the CI set-ups
//! (`pxelab matrix --setup ci`: proxy at once, option 60 with a responder on 4011, the
//! DHCP server's own boot file, a proxy offer with option 43) in the simulator and in
//! the lab with the real firmware. Needs root and the lab's packages, so `#[ignore]`d in
//! a plain `cargo test`; scripts/test-all.sh runs it with
//! `cargo test --release --test matrix -- --ignored --nocapture` (about 4 minutes).

use serde_json::Value;
use std::process::{Command, Stdio};

const PXELAB: &str = env!("CARGO_BIN_EXE_pxelab");

#[test]
#[ignore = "lab: needs root, QEMU and the lab's Debian packages (scripts/test-all.sh)"]
fn ci_matrix_boots_in_the_simulator_as_the_real_firmware_does_in_the_lab() {
    let dir = std::env::temp_dir().join(format!("pxelab-matrix-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let json = dir.join("matrix.json");
    let child = Command::new(PXELAB)
        .args(["matrix", "--mode", "both", "--setup", "ci", "--json"])
        .arg(&json)
        .stderr(Stdio::inherit())
        .stdout(Stdio::inherit())
        .spawn()
        .expect("pxelab runs");
    let pid = child.id();
    let status = child.wait_with_output().expect("pxelab ends").status;
    let text = std::fs::read_to_string(&json).unwrap_or_default();
    let _ = std::fs::remove_dir_all(&dir);
    let v: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("no matrix JSON ({e}), pxelab exited {status}"));
    // Its own leftovers only: the scenarios it wrote for the lab's responders.
    let own = std::env::temp_dir().join(format!("pxelab-matrix-{pid}"));
    assert!(!own.exists(), "{} was left behind", own.display());

    let cells = v["cells"].as_array().expect("cells");
    assert_eq!(cells.len(), 5 * 4, "every firmware x the 4 CI set-ups");
    assert!(
        v["problems"].as_array().is_none_or(|p| p.is_empty()),
        "the runs themselves failed: {}",
        v["problems"]
    );
    let mut wrong = Vec::new();
    for c in cells {
        let (sim, lab) = (&c["sim"], &c["lab"]);
        let cell = format!("{} x {}", c["firmware"], c["setup"]);
        if sim["outcome"].as_str().is_none_or(|o| o == "none") {
            wrong.push(format!("{cell}: no outcome in the simulator"));
        }
        if sim["outcome"] != lab["outcome"] || sim["served_by"] != lab["served_by"] {
            wrong.push(format!(
                "{cell}: lab {} ({}), sim {} ({})",
                lab["outcome"], lab["served_by"], sim["outcome"], sim["served_by"]
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "sim and lab differ:\n{}",
        wrong.join("\n")
    );
    assert!(status.success(), "pxelab matrix exited {status}");
}
