//! The lab's benches and load checks against real servers and firmware: a storm of
//! modelled clients through the switch, a two-minute soak, `pxelab bench tftp` (firmware
//! downloads, every server and client) and `pxelab bench dhcp`. Root and the lab's
//! Debian packages, as tests/lab.rs; scripts/test-all.sh runs both files.

mod common;

use common::lab::{assert_nothing_left, is_root, leftovers, run_json, Timed, PXELAB};
use serde_json::Value;
use std::process::{Command, Stdio};

/// `pxelab bench storm ARGS` for its JSON.
fn storm_json(args: &[&str]) -> Value {
    run_json(&[&["bench", "storm"], args].concat())
}

/// Issue 5, boot storm through the switch: 500 modelled clients (the simulator's UEFI
/// firmware model speaking real frames into the lab's segment switch) boot at once
/// against two real `pxelab serve` peers and the real DHCP server: none fails, and the
/// responders' memory and descriptors stay bounded (a descriptor per transfer at most).
/// Issue 4, the storm's lab check: 20 clients over 100 Mbit/s all boot in the lab and in
/// the simulator; the two times are printed (within 10 % on an idle machine).
#[test]
#[ignore = "lab: needs root and the lab's Debian packages (scripts/test-all.sh)"]
fn storm_of_500_modelled_clients_through_the_switch_and_the_storm_model() {
    let _timed = Timed::start();
    assert!(is_root(), "the lab needs root");
    let before = leftovers();
    let v = storm_json(&[
        "--mode",
        "lab",
        "--clients",
        "500",
        "--responders",
        "2",
        "--image-size",
        "1MiB",
    ]);
    let r = &v["storms"][0];
    eprintln!("storm of 500 in the lab: {r}");
    assert_eq!(r["mode"], "lab");
    assert_eq!(
        (r["booted"].as_u64(), r["not_booted"].as_u64()),
        (Some(500), Some(0)),
        "{r}"
    );
    assert!(r["all_booted_s"].as_f64().is_some(), "{r}");
    let res = r["resources"].as_array().expect("resources");
    for p in res {
        let name = p["process"].as_str().unwrap();
        let (rss, fds) = (
            p["peak_rss_kib"].as_u64().unwrap(),
            p["peak_fds"].as_u64().unwrap(),
        );
        assert!(p["samples"].as_u64().unwrap() > 10, "{p}");
        assert!(rss < 256 * 1024, "{name}: {rss} KiB resident");
        // A socket per transfer (a client makes up to four: the boot program's size
        // probe, the boot program, its parameters, the image), closed as each ends:
        // within the usual soft limit of 1024, so a storm needs no raised ulimit.
        assert!(fds < 1024, "{name}: {fds} descriptors");
    }
    assert_eq!(res.len(), 3, "two responders and the swarm: {r}");

    let v = storm_json(&[
        "--mode",
        "both",
        "--clients",
        "20",
        "--responders",
        "2",
        "--image-size",
        "16MiB",
        "--rate",
        "100Mbit",
    ]);
    let rows = v["storms"].as_array().unwrap();
    let t = |mode: &str| {
        rows.iter()
            .find(|r| r["mode"] == mode)
            .and_then(|r| r["all_booted_s"].as_f64())
            .unwrap_or_else(|| panic!("no {mode} row with all booted: {v}"))
    };
    let (lab, sim) = (t("lab"), t("sim"));
    let rel = (sim - lab) / lab;
    eprintln!(
        "storm of 20 at 100 Mbit/s: lab {lab:.2} s, sim {sim:.2} s, relative error {:+.1} %",
        rel * 100.0
    );
    // Reported, not asserted: the lab's time grows with the machine's other work (the
    // issue-13 run: 21.3 s against 15.7 s on a busy machine), the simulator's does not.
    // BENCHMARKS.md has the comparison on an idle machine.
    assert!(lab > 0.0 && sim > 0.0, "sim {sim} s vs lab {lab} s");
    assert_nothing_left(&before, "left behind: ");
}

/// Issue 12, item 6, the soak in CI (the 30-minute figures are in docs/RELIABILITY.md):
/// two minutes of modelled UEFI clients powering on every second against two real
/// `pxelab serve` peers and a DP, a peer killed every minute and back at the next, the
/// link down for 1.5 s and degraded for 10 s each minute (`pxelab bench soak`, whose
/// timeline keeps every boot's end determined: harness/src/soak.rs). Every boot ends,
/// none hangs, each as planned and as the simulator's same boot; each process's
/// descriptors end where they started and its memory grows less than 1 MiB after its
/// first 30 s. 1 MiB is four of the TFTP read-ahead windows (256 KiB each, taken from
/// the heap and kept by the allocator: a responder's resident memory steps up by one
/// when it first has one more transfer open at once than before, which a loaded machine
/// makes likelier later in the run); a leak of 12 KiB per boot in the swarm (every boot,
/// about 90 after its warm-up) or of 16 KiB in the DP (about 60) breaks it. Measured
/// flat here: no step at all in the DP and the swarm over the measured part.
#[test]
#[ignore = "lab: needs root and the lab's Debian packages (scripts/test-all.sh)"]
fn soak_of_two_minutes_every_boot_as_the_model_says_and_memory_flat() {
    let _timed = Timed::start();
    assert!(is_root(), "the lab needs root");
    let before = leftovers();
    let out = Command::new(PXELAB)
        .args(["bench", "soak", "--format", "json", "--mode", "both"])
        .args(["--minutes", "2", "--every", "1s", "--warmup", "30s"])
        .stderr(Stdio::inherit())
        .output()
        .expect("pxelab runs");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "bench soak printed no JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    let r = &v["soak"];
    eprintln!("soak of 2 minutes: {r}");
    let boots = r["boots"].as_u64().unwrap();
    assert_eq!(boots, 120, "a boot a second for two minutes: {r}");
    assert_eq!(r["peer_crashes"], 2, "{r}");
    for mode in ["sim", "lab"] {
        let m = &r[mode];
        assert_eq!(m["boots"].as_u64(), Some(boots), "{mode}: {m}");
        assert_eq!(m["hung"], 0, "{mode}: a boot never ended: {m}");
        assert_eq!(m["ended"].as_u64(), Some(boots), "{mode}: {m}");
        assert_eq!(m["as_planned"].as_u64(), Some(boots), "{mode}: {m}");
        assert_eq!(m["passed"], true, "{mode}: {m}");
    }
    let a = &r["agreement"];
    assert_eq!(a["compared"].as_u64(), Some(boots), "{a}");
    assert_eq!(a["agree"].as_u64(), Some(boots), "lab and sim differ: {a}");
    let res = r["resources"].as_array().expect("resources");
    let names: Vec<&str> = res.iter().map(|p| p["process"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "responder-dp1",
            "responder-p1",
            "responder-p2",
            "swarm-floor"
        ],
        "{r}"
    );
    for p in res {
        let name = p["process"].as_str().unwrap();
        let get = |k: &str| {
            p[k].as_i64()
                .unwrap_or_else(|| panic!("{name}: no {k}: {p}"))
        };
        assert!(get("samples") >= 15, "{name}: {p}");
        let fds = get("last_fds") - get("first_fds");
        assert!(
            fds.abs() <= 4,
            "{name}: descriptors {fds:+} over the run: {p}"
        );
        let rss = get("last_rss_kib") - get("first_rss_kib");
        assert!(
            rss < 1024,
            "{name}: resident memory {rss:+} KiB over the run: {p}"
        );
    }
    assert_eq!(out.status.code(), Some(0), "{r}");
    assert_nothing_left(&before, "left behind: ");
}

/// Issue 4, firmware clients: OVMF and iPXE themselves (QEMU, TCG) download the bench
/// file as their boot program from pxelab and atftpd over the switch; each measures the
/// one point it asks for (1468/4 and 1432/1), no veth point; the times are printed.
#[test]
#[ignore = "lab: needs root, QEMU and the lab's Debian packages (scripts/test-all.sh)"]
fn bench_tftp_times_ovmf_and_ipxe_downloads() {
    let _timed = Timed::start();
    assert!(is_root(), "the lab bench needs root");
    let before = leftovers();
    let v = run_json(&[
        "bench",
        "tftp",
        "--mode",
        "both",
        "--servers",
        "pxelab,atftpd",
        "--clients",
        "ovmf,ipxe",
        "--block-size",
        "4096",
        "--window-size",
        "1",
        "--rate",
        "1Gbit,veth",
        "--delay",
        "1ms",
        "--size",
        "1MiB",
        "--repeat",
        "1",
    ]);
    let points = v["points"].as_array().expect("points");
    assert_eq!(
        points.len(),
        4,
        "2 servers x 2 firmware, the switch only: {v}"
    );
    let mut by = std::collections::HashMap::new();
    for p in points {
        let client = p["client"].as_str().unwrap();
        let want = if client == "ovmf" {
            (1468, 4)
        } else {
            (1432, 1)
        };
        assert_eq!(
            (
                p["block_size"].as_u64().unwrap(),
                p["window_size"].as_u64().unwrap()
            ),
            want,
            "{p}"
        );
        assert_eq!(p["negotiated_block_size"].as_u64(), Some(want.0), "{p}");
        let t = p["median_s"]
            .as_f64()
            .unwrap_or_else(|| panic!("no time: {p}"));
        // No download beats the link's own bound (5 % for clock granularity); how far
        // below it a run lands depends on the machine's load, so that is not asserted.
        let r = p["ratio_to_bound"].as_f64().unwrap();
        assert!(r > 0.0 && r <= 1.05, "{p}");
        assert!(p["sim_s"].as_f64().is_some(), "{p}");
        by.insert(
            (
                p["server"].as_str().unwrap().to_string(),
                client.to_string(),
            ),
            t,
        );
    }
    for c in ["ovmf", "ipxe"] {
        let (ours, theirs) = (
            by[&("pxelab".into(), c.into())],
            by[&("atftpd".into(), c.into())],
        );
        // A figure, not a verdict: one run each under TCG on a machine that may be busy
        // (BENCHMARKS.md has the repeated comparison).
        eprintln!("{c}: pxelab {ours:.3} s, atftpd {theirs:.3} s");
    }
    assert_nothing_left(&before, "left behind: ");
}

#[test]
#[ignore = "lab: needs root, atftp, atftpd, tftpd-hpa and dnsmasq (scripts/test-all.sh)"]
fn bench_tftp_measures_every_server_and_client_in_the_lab() {
    let _timed = Timed::start();
    assert!(is_root(), "the lab bench needs root");
    let before = leftovers();
    let plot = std::env::temp_dir().join(format!("pxelab-bench-{}.svg", std::process::id()));
    let v = run_json(&[
        "bench",
        "tftp",
        "--mode",
        "both",
        "--servers",
        "pxelab,atftpd,tftpd-hpa,dnsmasq",
        "--clients",
        "pxelab,atftp",
        "--block-size",
        "1432,8192",
        "--window-size",
        "1,8",
        "--rate",
        "100Mbit,veth",
        "--delay",
        "1ms",
        "--size",
        "1MiB",
        "--repeat",
        "1",
        "--plot",
        plot.to_str().unwrap(),
    ]);
    let points = v["points"].as_array().expect("points");
    // 4 servers × 2 clients × 2 links × 2 blocks × 2 windows.
    assert_eq!(points.len(), 64);
    for p in points {
        assert_eq!(p["failures"], 0, "{p}");
        assert!(p["median_s"].as_f64().is_some_and(|t| t > 0.0), "{p}");
        let (server, block, window) = (
            p["server"].as_str().unwrap(),
            p["block_size"].as_u64().unwrap(),
            p["window_size"].as_u64().unwrap(),
        );
        let granted = (
            p["negotiated_block_size"].as_u64().unwrap(),
            p["negotiated_window_size"].as_u64().unwrap(),
        );
        // What each real server grants: tftpd-hpa and dnsmasq have no windowsize,
        // dnsmasq caps the block at the interface MTU.
        let expect = match server {
            "pxelab" | "atftpd" => (block, window),
            "tftpd-hpa" => (block, 1),
            "dnsmasq" => (block.min(1468), 1),
            other => panic!("unexpected server {other}"),
        };
        assert_eq!(granted, expect, "{p}");
        if (granted.0, granted.1) != (block, window) {
            assert!(
                p["note"].as_str().is_some_and(|n| n.contains(server)),
                "{p}"
            );
        }
        match p["link"].as_str().unwrap() {
            "emulated" => {
                assert!(p["bound_s"].as_f64().is_some() && p["sim_s"].as_f64().is_some());
                // Never faster than the link allows.
                assert!(p["ratio_to_bound"].as_f64().unwrap() <= 1.0, "{p}");
                assert!(p["rel_error"].as_f64().is_some(), "{p}");
            }
            "veth" => assert!(p["bound_s"].is_null() && p["sim_s"].is_null(), "{p}"),
            other => panic!("unexpected link {other}"),
        }
    }
    let svg = std::fs::read_to_string(&plot).expect("the plot is written");
    std::fs::remove_file(&plot).ok();
    assert!(svg.contains("veth (no emulation)") && svg.contains("100 Mbit/s"));
    // A panel per client ← server and link, a line per block size in each.
    for who in [
        "pxelab ← tftpd-hpa: ",
        "atftp ← dnsmasq: ",
        "pxelab ← pxelab: ",
    ] {
        assert!(svg.contains(who), "no panel {who}");
    }
    assert!(svg.contains("block 8192") && svg.contains("simulator (dashed)"));
    assert_nothing_left(&before, "left behind by the bench: ");
}

#[test]
#[ignore = "lab: needs root, perfdhcp (kea-admin) and dnsmasq (scripts/test-all.sh)"]
fn bench_dhcp_answers_perfdhcp_from_pxelab_and_dnsmasq() {
    let _timed = Timed::start();
    assert!(is_root(), "the DHCP bench needs root");
    let before = leftovers();
    let v = run_json(&[
        "bench",
        "dhcp",
        "--servers",
        "pxelab,dnsmasq",
        "--rate",
        "50,400",
        "--clients",
        "200",
        "--seconds",
        "2",
    ]);
    let points = v["points"].as_array().expect("points");
    assert_eq!(points.len(), 4, "{v}");
    for p in points {
        let (sent, got) = (p["sent"].as_u64().unwrap(), p["received"].as_u64().unwrap());
        // perfdhcp sends about rate x seconds; a proxy offer answers each DISCOVER.
        let rate = p["rate"].as_u64().unwrap();
        assert!(sent >= rate, "{p}");
        assert!(got as f64 >= 0.95 * sent as f64, "{p}");
        let (p50, p99, max) = (
            p["p50_ms"].as_f64().unwrap(),
            p["p99_ms"].as_f64().unwrap(),
            p["max_ms"].as_f64().unwrap(),
        );
        assert!(0.0 < p50 && p50 <= p99 && p99 <= max, "{p}");
        assert!(
            p["cpu_us_per_answer"].as_f64().is_some_and(|c| c > 0.0),
            "{p}"
        );
    }
    assert_nothing_left(&before, "left behind by the bench: ");
}
