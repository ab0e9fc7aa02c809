//! The lab against real firmware (QEMU under TCG), and sim/lab parity: the lab suite
//! (`scenarios/lab`), IPv6 and HTTP boot, rogue peers, failover, SIGINT and the timing
//! comparison. The lab's benches are tests/lab_bench.rs. These tests need root and the
//! lab's Debian packages, so they are `#[ignore]`d in a plain `cargo test`; the README's
//! test command (scripts/test-all.sh) runs them as root with
//! `cargo test --release --test lab --test lab_bench -- --ignored --test-threads=1`.

mod common;

use common::lab::{assert_nothing_left, is_root, leftovers, run_json, TempDir, Timed, PXELAB};
use serde_json::Value;
use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What a boot came to, by scenario file and client/boot: outcome, image, deployment
/// and responder.
type Boots = BTreeMap<(String, String, u64), (Value, Value, Value, Value)>;

fn boots(v: &Value) -> (Boots, Vec<String>) {
    let mut m = BTreeMap::new();
    let mut failed = Vec::new();
    for s in v["scenarios"].as_array().expect("scenarios") {
        let file = s["file"].as_str().unwrap_or_default().to_string();
        if s["passed"] != Value::Bool(true) {
            failed.push(format!("{file} [{}]: {}", s["mode"], s["failures"]));
        }
        for b in s["boots"].as_array().into_iter().flatten() {
            m.insert(
                (
                    file.clone(),
                    b["client"].as_str().unwrap_or_default().to_string(),
                    b["boot"].as_u64().unwrap_or(0),
                ),
                (
                    b["outcome"].clone(),
                    b["boot_image"].clone(),
                    b["deployment"].clone(),
                    b["served_by"].clone(),
                ),
            );
        }
    }
    (m, failed)
}

/// The lab suite's files: those that pick a network boot option (`netboot:`, format
/// v1.1: IPv6 PXE and UEFI HTTP boot) or the others; each set has its own test so that
/// either can be run alone and none runs twice.
fn lab_files(v11: bool) -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir("scenarios/lab")
        .expect("scenarios/lab")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .filter(|p| std::fs::read_to_string(p).is_ok_and(|t| t.contains("netboot:") == v11))
        .map(|p| p.display().to_string())
        .collect();
    files.sort();
    files
}

fn with_files<'a>(args: &[&'a str], files: &'a [String]) -> Vec<&'a str> {
    let mut v = args.to_vec();
    v.extend(files.iter().map(String::as_str));
    v
}

#[test]
#[ignore = "lab: needs root, QEMU and the lab's Debian packages (scripts/test-all.sh)"]
fn lab_suite_passes_with_real_firmware_and_matches_the_simulator() {
    let _timed = Timed::start();
    assert!(is_root(), "the lab needs root");
    let before = leftovers();
    let files = lab_files(false);
    let lab = run_json(&with_files(&["run", "--lab"], &files));
    let sim = run_json(&with_files(&["run"], &files));
    let (lab_boots, lab_failed) = boots(&lab);
    let (sim_boots, sim_failed) = boots(&sim);
    let n = lab["scenarios"].as_array().map_or(0, |a| a.len());
    eprintln!("lab: {n} scenarios, {} boots", lab_boots.len());
    assert!(n >= 10, "the lab suite has at least 10 scenarios, ran {n}");
    assert!(
        lab_failed.is_empty(),
        "lab failures:\n{}",
        lab_failed.join("\n")
    );
    assert!(
        sim_failed.is_empty(),
        "sim failures:\n{}",
        sim_failed.join("\n")
    );
    // Parity: every boot the lab ran of a scenario that runs in both modes came to the
    // same outcome, image, deployment and responder in the simulator (`modes: [lab]`
    // scenarios, such as IPv6 / HTTP boot before the simulator models it, are lab only).
    let in_sim: std::collections::BTreeSet<String> = sim["scenarios"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["file"].as_str().map(str::to_string))
        .collect();
    let lab_boots: Boots = lab_boots
        .into_iter()
        .filter(|(k, _)| in_sim.contains(&k.0))
        .collect();
    let mut diffs = Vec::new();
    for (k, l) in &lab_boots {
        match sim_boots.get(k) {
            Some(s) if s == l => {}
            other => diffs.push(format!("{k:?}: lab {l:?}, sim {other:?}")),
        }
    }
    assert!(diffs.is_empty(), "sim/lab differ:\n{}", diffs.join("\n"));
    assert_eq!(
        lab_boots.len(),
        sim_boots.len(),
        "the same boots in both modes"
    );
    assert_nothing_left(&before, "left behind: ");
}

/// Issue 14: real firmware boots over IPv6 PXE (dnsmasq's and Kea's DHCPv6 addresses,
/// through `dhcrelay -6`, on an IPv6-only segment) and UEFI HTTP boot (IPv4, IPv6) from
/// `pxelab serve`, and a client reboots by a `boot` event's own `netboot`, judged by the
/// boot program's markers: every boot of `scenarios/lab`'s v1.1 files (those with
/// `netboot:`) ends as its file expects, and nothing is left behind.
#[test]
#[ignore = "lab: needs root, QEMU and the lab's Debian packages (scripts/test-all.sh)"]
fn ipv6_pxe_and_http_boot_with_real_firmware() {
    let _timed = Timed::start();
    assert!(is_root(), "the lab needs root");
    let before = leftovers();
    let files = lab_files(true);
    let count = |how: &str| files.iter().filter(|f| f.contains(how)).count();
    assert!(
        count("pxe6") >= 3 && count("http4") >= 1 && count("http6") >= 1,
        "three IPv6 PXE and two HTTP boot scenarios: {files:?}"
    );
    // The v1.1 shapes a file written elsewhere may take: an IPv6-only segment, and a
    // boot event with its own `netboot`.
    let scenarios: Vec<pxelab_scenario::Scenario> = files
        .iter()
        .map(|f| pxelab_scenario::load_file(std::path::Path::new(f)).expect("loads"))
        .collect();
    assert!(
        scenarios
            .iter()
            .any(|sc| sc.network.segments.iter().any(|s| s.cidr.is_none())),
        "a scenario with an IPv6-only segment: {files:?}"
    );
    assert!(
        scenarios.iter().any(|sc| sc.events.iter().any(|e| matches!(
            e.kind,
            pxelab_scenario::EventKind::Boot {
                netboot: Some(_),
                ..
            }
        ))),
        "a scenario with a boot event's own netboot: {files:?}"
    );
    let lab = run_json(&with_files(&["run", "--lab"], &files));
    let sim = run_json(&with_files(&["run"], &files));
    let (lab_boots, lab_failed) = boots(&lab);
    let (sim_boots, sim_failed) = boots(&sim);
    assert!(
        lab_failed.is_empty() && sim_failed.is_empty(),
        "failures:\n{}",
        [lab_failed, sim_failed].concat().join("\n")
    );
    assert!(
        lab_boots.len() >= files.len(),
        "a boot per file: {lab_boots:?}"
    );
    // Parity where the simulator runs the file too (`modes: [sim, lab]`).
    assert!(
        !sim_boots.is_empty(),
        "some v1.1 lab scenarios run in both modes"
    );
    for (k, s) in &sim_boots {
        assert_eq!(lab_boots.get(k), Some(s), "{k:?}: sim and lab differ");
    }
    assert_nothing_left(&before, "left behind: ");
}

/// Issue 5, rogue peers, in the lab: `scenarios/lab/rogue-peer-keyed.yaml` (in the lab
/// suite) passes with the site's peer key; the same file without it lets the rogue
/// `pxelab serve` processes join the real peers' membership, and OVMF is served by dp1.
#[test]
#[ignore = "lab: needs root, QEMU and the lab's Debian packages (scripts/test-all.sh)"]
fn a_rogue_moves_the_client_in_the_lab_only_without_the_peer_key() {
    let _timed = Timed::start();
    assert!(is_root(), "the lab needs root");
    let text = std::fs::read_to_string("scenarios/lab/rogue-peer-keyed.yaml").unwrap();
    assert!(text.contains("\n  peer_key: "));
    let dir = std::env::temp_dir().join(format!("pxelab-rogue-lab-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("unkeyed.yaml");
    let stripped: String = text
        .lines()
        .filter(|l| !l.starts_with("  peer_key: "))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&f, stripped).unwrap();
    let v = run_json(&["run", "--lab", f.to_str().unwrap()]);
    std::fs::remove_dir_all(&dir).unwrap();
    let boot = &v["scenarios"][0]["boots"][0];
    assert_eq!(boot["outcome"], "booted", "{v}");
    assert_eq!(boot["served_by"], "dp1", "{v}");
}

/// Issue 5, failover under fire: `scenarios/peers/failover-under-fire.yaml` in the lab
/// (p1 killed with SIGKILL as two OVMF clients power on) and in the simulator, each with
/// its segment capture; `pxelab audit` reads how many DISCOVERs each affected client
/// sent before a surviving peer's proxy offer: at most two (one retry) in both modes.
#[test]
#[ignore = "lab: needs root, QEMU and the lab's Debian packages (scripts/test-all.sh)"]
fn failover_under_fire_serves_each_client_within_one_retry() {
    let _timed = Timed::start();
    assert!(is_root(), "the lab needs root");
    let file = "scenarios/peers/failover-under-fire.yaml";
    let dir = TempDir(std::env::temp_dir().join(format!("pxelab-fire-{}", std::process::id())));
    let _ = std::fs::remove_dir_all(&dir.0);
    let mut figures = Vec::new();
    for mode in ["lab", "sim"] {
        let pcaps = dir.0.join(mode);
        let mut args = vec!["run", file, "--pcap", pcaps.to_str().unwrap()];
        if mode == "lab" {
            args.push("--lab");
        }
        let v = run_json(&args);
        assert_eq!(v["scenarios"][0]["passed"], true, "{mode}: {v}");
        let out = Command::new(PXELAB)
            .args(["audit", "--format", "json", "--scenario", file, "--pcap"])
            .arg(pcaps.join("hq.pcap"))
            .output()
            .unwrap();
        let a: Value = serde_json::from_slice(&out.stdout).expect("audit JSON");
        assert_eq!(out.status.code(), Some(0), "only named servers answer: {a}");
        for mac in ["52:54:00:00:00:04", "52:54:00:00:00:05"] {
            let c = a["clients"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["mac"] == mac)
                .unwrap_or_else(|| panic!("{mode}: {mac} not in the capture: {a}"));
            let peer = c["proxy_offer_from"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            assert!(
                peer == "10.10.0.12" || peer == "10.10.0.13",
                "{mode}: {mac}'s first proxy offer came from {peer}, not a survivor: {c}"
            );
            let tries = c["discovers_until_proxy_offer"].as_u64().unwrap();
            assert!(tries <= 2, "{mode}: {mac} needed {tries} DISCOVERs: {c}");
            let waited =
                c["first_proxy_offer_s"].as_f64().unwrap() - c["discovers"][0].as_f64().unwrap();
            figures.push(format!("{mode} {mac}: proxy offer from {peer} at DISCOVER #{tries}, {waited:.3} s after the first"));
        }
    }
    eprintln!("failover under fire:\n  {}", figures.join("\n  "));
}

#[test]
#[ignore = "lab: needs root, QEMU and the lab's Debian packages (scripts/test-all.sh)"]
fn sigint_tears_the_lab_down() {
    let _timed = Timed::start();
    assert!(is_root(), "the lab needs root");
    let before = leftovers();
    let mut child = Command::new(PXELAB)
        .args(["run", "--lab", "scenarios/lab/bios-x64.yaml"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("pxelab runs");
    // Wait until the network is up and the firmware runs, then interrupt.
    let t0 = Instant::now();
    loop {
        let up = leftovers()
            .iter()
            .any(|l| l.starts_with("process") && l.contains("qemu-system"))
            || Command::new("pgrep")
                .args(["-P", &child.id().to_string(), "qemu-system"])
                .output()
                .map(|o| !o.stdout.is_empty())
                .unwrap_or(false);
        if up {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "the lab did not come up"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_secs(3));
    let during = leftovers();
    assert!(
        during.iter().any(|l| l.starts_with("namespace")),
        "a namespace exists while the lab runs: {during:?}"
    );
    // SAFETY: signalling our own child.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    let t1 = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            t1.elapsed() < Duration::from_secs(30),
            "pxelab did not stop on SIGINT"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(!status.success(), "an interrupted run does not pass");
    assert_nothing_left(&before, "left behind after SIGINT: ");
}

/// Issue 15, timing that matches the lab: three firmware scenarios, one over IPv6
/// (PXE, OVMF x64) and one by HTTP boot (OVMF x64, IPv4) with `--compare`
/// (each boot's phases from the lab's and the simulator's captures). The table is
/// printed; the assertion is loose enough for a loaded CI machine (QEMU under TCG slows
/// with the load: within 4× or 15 s of the lab, whichever is looser; at a load average
/// of 12-15 on 2 cores OVMF's power-on took 19.5 s against 3.55 s idle), the 10 % is the
/// table's figure (docs/LAB.md, "Timing against the simulator").
#[test]
#[ignore = "lab: needs root, QEMU and the lab's Debian packages (scripts/test-all.sh)"]
fn lab_timing_comparison_per_boot_and_phase() {
    let _timed = Timed::start();
    assert!(is_root(), "the lab needs root");
    let before = leftovers();
    let dir = TempDir(std::env::temp_dir().join(format!("pxelab-timing-{}", std::process::id())));
    std::fs::create_dir_all(&dir.0).unwrap();
    let json = dir.0.join("results.json");
    let files = [
        "scenarios/lab/bios-x86.yaml",
        "scenarios/lab/uefi-x64.yaml",
        "scenarios/lab/uefi-arm64.yaml",
        // PXE over IPv6 (its phases from the first Solicit; 15 s in the lab).
        "scenarios/lab/pxe6-uefi-x64-dnsmasq.yaml",
        // HTTP boot over IPv4 (from the first DISCOVER to the GET; 10 s in the lab).
        "scenarios/lab/http4-uefi-x64.yaml",
    ];
    let out = Command::new(PXELAB)
        .args([
            "run",
            "--lab",
            "--compare",
            "--json",
            json.to_str().unwrap(),
        ])
        .args(files)
        .stderr(Stdio::inherit())
        .output()
        .expect("pxelab runs");
    let text = String::from_utf8_lossy(&out.stdout);
    eprintln!("{text}");
    assert!(
        out.status.success(),
        "the scenarios pass in the lab: {text}"
    );
    assert!(
        text.contains("phases within"),
        "the table is printed: {text}"
    );
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    for s in v["scenarios"].as_array().expect("scenarios") {
        let timing = s["timing"]
            .as_array()
            .unwrap_or_else(|| panic!("no timing: {s}"));
        assert_eq!(timing.len(), 1, "{}: one boot compared", s["file"]);
        // The simulator ran with the lab's boot program (built from images/, not the
        // simulator's 32 or 256 KiB stand-in), read over TFTP on either IP version or
        // by HTTP, and its server's turnaround, measured on TFTP rounds (HTTP boot has
        // none: its turnaround is 0).
        let overlay = &s["timing_overlay"];
        let programs = overlay["programs"].as_array().expect("an overlay");
        assert_eq!(programs.len(), 1, "{overlay}");
        let (lab, builtin) = (
            programs[0]["lab_bytes"].as_u64(),
            programs[0]["builtin_bytes"].as_u64(),
        );
        assert!(lab.zip(builtin).is_some_and(|(l, b)| l < b), "{overlay}");
        let (turnaround, rounds) = (
            overlay["server_turnaround_s"].as_f64(),
            overlay["rounds"].as_u64(),
        );
        if timing[0]["netboot"].as_str() == Some("http4") {
            assert_eq!((turnaround, rounds), (Some(0.0), Some(0)), "{overlay}");
        } else {
            assert!(turnaround.is_some_and(|t| t >= 0.0), "{overlay}");
            assert!(rounds.is_some_and(|n| n > 0), "{overlay}");
        }
        for p in timing[0]["phases"].as_array().unwrap() {
            let (lab, sim) = (p["lab_s"].as_f64(), p["sim_s"].as_f64());
            let (Some(lab), Some(sim)) = (lab, sim) else {
                panic!("{}: phase {} missing in a mode: {p}", s["file"], p["phase"]);
            };
            let ratio = (sim.max(0.01) / lab.max(0.01)).max(lab.max(0.01) / sim.max(0.01));
            // Loose on purpose: under TCG on a loaded CI machine the lab's phases grow
            // several-fold (OVMF's power-on 3.55 s quiet, 24 s at load 15, up to 49 s
            // seen); a model that lost a phase or a wait still fails.
            assert!(
                ratio <= 8.0 || (sim - lab).abs() <= 30.0,
                "{}: {} lab {lab:.2} s, sim {sim:.2} s",
                s["file"],
                p["phase"]
            );
        }
    }
    drop(dir);
    assert_nothing_left(&before, "the timing comparison left: ");
}
