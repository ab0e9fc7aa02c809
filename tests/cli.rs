//! End-to-end tests of the `pxelab` binary: the suite passes, bad input gets a
//! located error, the same seed gives the same bytes, and `explain` timelines.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

fn pxelab() -> Command {
    Command::new(env!("CARGO_BIN_EXE_pxelab"))
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn suite_passes_in_json() {
    // Everything but the scenarios tagged `long` runs here, the 1,000-client storm too.
    let out = pxelab()
        .current_dir(root())
        .args(["run", "scenarios", "--format", "json"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let list = v["scenarios"].as_array().unwrap();
    assert!(list.len() >= 40, "only {} scenarios ran", list.len());
    // Scenarios tagged `long` (the 10,000-client storm) run only when asked for.
    assert!(
        list.iter()
            .all(|s| !s["file"].as_str().unwrap().contains("storm-10000")),
        "the long storm ran in the default suite"
    );
    let failed: Vec<_> = list
        .iter()
        .filter(|s| s["passed"] != true)
        .map(|s| format!("{}: {}", s["file"], s["failures"]))
        .collect();
    assert!(
        failed.is_empty(),
        "failed scenarios:\n{}",
        failed.join("\n")
    );
    for s in list {
        for key in [
            "file",
            "scenario",
            "mode",
            "passed",
            "sim_time_s",
            "wall_time_s",
            "boots",
            "failures",
        ] {
            assert!(s.get(key).is_some(), "missing {key} in {s}");
        }
    }
    assert!(out.status.success());
}

#[test]
fn malformed_scenarios_get_located_errors() {
    let dir = root().join("tests/fixtures/bad");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "yaml") {
            continue;
        }
        n += 1;
        let want = std::fs::read_to_string(path.with_extension("expect")).unwrap();
        let want = want.trim();
        let out = pxelab().args(["check"]).arg(&path).output().unwrap();
        assert!(!out.status.success(), "{} was accepted", path.display());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(want),
            "{}: error should contain {want:?}, got:\n{err}",
            path.display()
        );
    }
    assert!(n >= 6, "too few malformed fixtures: {n}");
}

fn files_in(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn same_seed_gives_identical_pcaps_and_results() {
    let tmp = std::env::temp_dir().join(format!("pxelab-det-{}", std::process::id()));
    let scenario = root().join("scenarios/relay/relay-option82.yaml");
    let mut outputs = Vec::new();
    for i in 0..2 {
        let dir = tmp.join(format!("run{i}"));
        let out = pxelab()
            .args(["run", "--format", "json", "--pcap"])
            .arg(&dir)
            .arg(&scenario)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let mut s = json["scenarios"][0].clone();
        s.as_object_mut().unwrap().remove("wall_time_s");
        // Where the captures went differs by run; their names must not.
        let pcaps = s.as_object_mut().unwrap().remove("pcaps").unwrap();
        let names: Vec<String> = pcaps
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_str().unwrap().rsplit('/').next().unwrap().to_string())
            .collect();
        s["pcap_names"] = names.into();
        outputs.push((s, files_in(&dir)));
    }
    let _ = std::fs::remove_dir_all(&tmp);
    assert!(outputs[0].1.len() >= 2, "expected a pcap per segment");
    for (name, bytes) in &outputs[0].1 {
        assert!(bytes.len() > 24, "{name} holds no packets");
    }
    assert_eq!(outputs[0].0, outputs[1].0, "results differ between runs");
    assert!(outputs[0].1 == outputs[1].1, "pcaps differ between runs");
}

#[test]
fn a_different_seed_changes_a_lossy_run() {
    let scenario = root().join("scenarios/tftp/lossy-link.yaml");
    let run = |seed: &str| {
        let out = pxelab()
            .args(["run", "--format", "json", "--seed", seed])
            .arg(&scenario)
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v["scenarios"][0]["packets"].clone()
    };
    assert_ne!(run("1"), run("2"));
}

#[test]
fn explain_timelines() {
    for (file, client) in [
        ("scenarios/selection/required-before-available.yaml", "c1"),
        ("scenarios/answering/response-delay-backup.yaml", "c1"),
        ("scenarios/selection/bios-needs-x86-image.yaml", "c1"),
        // R-ID-5: why PS1's DP stayed silent for PS2's machine.
        ("scenarios/sites/other-site-machine-gets-nothing.yaml", "c2"),
    ] {
        let out = pxelab()
            .current_dir(root())
            .args(["explain", file, "--client", client])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let name = file.replace(['/', '.'], "_");
        insta::assert_snapshot!(name, text);
    }
}

fn files_run(args: &[&str]) -> Vec<String> {
    let out = pxelab()
        .current_dir(root())
        .args(args)
        .args(["--format", "json"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    common::scenario_files(&v)
}

#[test]
fn shards_split_a_suite_without_overlap_or_gaps() {
    let all = files_run(&["run", "scenarios/selection", "scenarios/prompt"]);
    let mut parts: Vec<String> = Vec::new();
    for i in 1..=3 {
        let shard = format!("{i}/3");
        let part = files_run(&[
            "run",
            "scenarios/selection",
            "scenarios/prompt",
            "--shard",
            &shard,
        ]);
        assert!(!part.is_empty(), "shard {shard} ran nothing");
        parts.extend(part);
    }
    parts.sort();
    let mut all_sorted = all.clone();
    all_sorted.sort();
    assert_eq!(parts, all_sorted);
    let bad = pxelab()
        .args(["run", "scenarios", "--shard", "4/3"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("1 <= I <= N"));
}

#[test]
fn bench_tftp_json_has_the_checked_fields() {
    let out = pxelab()
        .args([
            "bench",
            "tftp",
            "--mode",
            "sim",
            "--block-size",
            "1432,4096",
            "--window-size",
            "1,4",
            "--rate",
            "100Mbit",
            "--delay",
            "2ms",
            "--loss",
            "0",
            "--size",
            "1MiB",
            "--repeat",
            "2",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let points = v["points"].as_array().unwrap();
    assert_eq!(points.len(), 4);
    for p in points {
        let (m, b, r) = (
            p["median_s"].as_f64().unwrap(),
            p["bound_s"].as_f64().unwrap(),
            p["ratio_to_bound"].as_f64().unwrap(),
        );
        assert!(m >= b && (r - b / m).abs() < 1e-9, "{p}");
        // The window bound (round trips and line time) is tighter, and still a bound.
        let w = p["window_bound_s"].as_f64().unwrap();
        assert!(b <= w && w <= m, "{p}");
        assert!((p["ratio_to_window_bound"].as_f64().unwrap() - w / m).abs() < 1e-9);
    }
    // The lab modes: a server or client the bench does not know is refused before
    // anything is built, with the list it knows. (The lab runs are in tests/lab.rs.)
    for (flag, bad, known) in [
        (
            "--servers",
            "pxelab,tftpd",
            "pxelab, atftpd, tftpd-hpa, dnsmasq",
        ),
        ("--clients", "curl", "pxelab, atftp"),
    ] {
        let lab = pxelab()
            .args(["bench", "tftp", "--mode", "both", flag, bad])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&lab.stderr);
        assert!(!lab.status.success(), "{flag} {bad}");
        assert!(err.contains(known), "{flag} {bad}: {err}");
    }
}

#[test]
fn bench_tftp_reads_a_bench_file_and_flags_override_it() {
    let dir = std::env::temp_dir().join(format!("pxelab-benchfile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("b.yaml");
    std::fs::write(
        &f,
        "bench: two points\nmode: sim\nblock_size: [1432, 8192]\nwindow_size: 4\nrate: 100Mbit\ndelay: 2ms\nsize: 1MiB\nrepeat: 1\n",
    )
    .unwrap();
    let run = |extra: &[&str]| {
        let out = pxelab()
            .args(["bench", "tftp"])
            .arg(&f)
            .args(extra)
            .args(["--format", "json"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v["points"].as_array().unwrap().clone()
    };
    let points = run(&[]);
    let blocks: Vec<u64> = points
        .iter()
        .map(|p| p["block_size"].as_u64().unwrap())
        .collect();
    assert_eq!(blocks, [1432, 8192]);
    assert!(points
        .iter()
        .all(|p| p["window_size"] == 4 && p["size"] == 1 << 20));
    let points = run(&["--block-size", "4096", "--window-size", "1,2"]);
    let got: Vec<(u64, u64)> = points
        .iter()
        .map(|p| {
            (
                p["block_size"].as_u64().unwrap(),
                p["window_size"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(got, [(4096, 1), (4096, 2)], "the flags win over the file");

    std::fs::write(&f, "bench: typo\nblock_sise: [512]\n").unwrap();
    let out = pxelab().args(["bench", "tftp"]).arg(&f).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("b.yaml") && err.contains("line 2") && err.contains("block_sise"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bench_storm_reports_the_time_until_all_booted_and_the_peak_link_use() {
    let out = pxelab()
        .args([
            "bench",
            "storm",
            "--clients",
            "6",
            "--responders",
            "1,3",
            "--image-size",
            "2MiB",
            "--rate",
            "100Mbit",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = v["storms"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    for r in rows {
        assert_eq!(r["booted"], 6, "{r}");
        // 6 clients x 2 MiB through 100 Mbit/s ports: at least the line time of one
        // responder's share.
        let per = 6.0 * 2.0 * 1048576.0 * 8.0 / 1e8 / r["responders"].as_f64().unwrap();
        assert!(r["all_booted_s"].as_f64().unwrap() > per * 0.9, "{r}");
        let u = r["peak_responder_use"].as_f64().unwrap();
        assert!(u > 0.5 && u <= 1.0 + 1e-9, "{r}");
    }
    assert!(
        rows[1]["all_booted_s"].as_f64().unwrap() < rows[0]["all_booted_s"].as_f64().unwrap(),
        "three responders share the load"
    );
    // --emit prints the generated scenario, which `pxelab check` accepts.
    let check = with_emitted(&["storm", "--clients", "3"], "check");
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
}

/// `pxelab bench BENCH... --emit` written to a file, then `pxelab CMD FILE`.
fn with_emitted(bench: &[&str], cmd: &str) -> std::process::Output {
    let out = pxelab()
        .arg("bench")
        .args(bench)
        .arg("--emit")
        .output()
        .unwrap();
    let dir = common::tmp(&format!("emit-{}", bench[0]));
    let f = dir.join("emitted.yaml");
    std::fs::write(&f, &out.stdout).unwrap();
    let r = pxelab().arg(cmd).arg(&f).output().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    r
}

/// `pxelab bench soak --mode sim`: the soak's timeline in the simulator alone (the lab
/// soak is in tests/lab_bench.rs): every boot ends as designed; `--emit` is a valid scenario.
#[test]
fn bench_soak_in_the_simulator_ends_every_boot_as_planned() {
    let out = pxelab()
        .args(["bench", "soak", "--minutes", "3", "--mode", "sim"])
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let r = &v["soak"];
    assert_eq!(
        (&r["boots"], &r["peer_crashes"], &r["link_changes"]),
        (&90.into(), &3.into(), &12.into()),
        "{r}"
    );
    assert_eq!(r["sim"]["as_planned"], 90, "{r}");
    assert!(r["lab"].is_null() && r["agreement"].is_null(), "{r}");
    let run = with_emitted(&["soak", "--minutes", "2"], "run");
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stdout)
    );
    for args in [
        ["--every", "100ms", "--mode", "sim"],
        ["--minutes", "0", "--mode", "sim"],
        ["--mode", "lan", "--minutes", "1"],
    ] {
        let (flag, bad) = (args[0], args[1]);
        let out = pxelab()
            .args(["bench", "soak"])
            .args(args)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{flag} {bad}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(flag), "{flag} {bad}: {err}");
    }
}

#[test]
fn bench_tftp_shows_a_saved_run_again_with_from() {
    let dir = std::env::temp_dir().join(format!("pxelab-benchfrom-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = pxelab()
        .args([
            "bench",
            "tftp",
            "--block-size",
            "1432,8192",
            "--window-size",
            "1,4",
            "--size",
            "1MiB",
            "--repeat",
            "1",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let saved = dir.join("run.json");
    std::fs::write(&saved, &out.stdout).unwrap();
    let svg = dir.join("run.svg");
    let again = pxelab()
        .args(["bench", "tftp", "--format", "csv", "--from"])
        .arg(&saved)
        .arg("--plot")
        .arg(&svg)
        .output()
        .unwrap();
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    let csv = String::from_utf8_lossy(&again.stdout);
    assert_eq!(
        csv.lines().count(),
        1 + 4,
        "a header and the four points: {csv}"
    );
    assert!(std::fs::read_to_string(&svg)
        .unwrap()
        .contains("block 8192"));
    std::fs::write(&saved, "{\"points\": 3}").unwrap();
    let bad = pxelab()
        .args(["bench", "tftp", "--from"])
        .arg(&saved)
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("run.json"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// `file` without its site's `peer_key` line, written to `dir/unkeyed.yaml` (made anew).
fn without_peer_key(file: &Path, dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(file).unwrap();
    assert!(
        text.contains("\n  peer_key: "),
        "{} has a peer key",
        file.display()
    );
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).unwrap();
    let unkeyed = dir.join("unkeyed.yaml");
    let stripped: String = text
        .lines()
        .filter(|l| !l.starts_with("  peer_key: "))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&unkeyed, stripped).unwrap();
    unkeyed
}

/// Issue 5, rogue peers: the keyed scenario passes (p1 answers at once); the same file
/// without the site's peer key lets the rogues join, and the client moves to dp1 — so
/// the scenario's expectation is what the key buys, not a result that holds anyway.
#[test]
fn a_rogue_changes_who_answers_only_without_the_peer_key() {
    let file = root().join("scenarios/peers/rogue-peer-keyed.yaml");
    let dir = std::env::temp_dir().join(format!("pxelab-rogue-{}", std::process::id()));
    let unkeyed = without_peer_key(&file, &dir);
    let served_by = |f: &Path| {
        let out = pxelab()
            .args(["run", "--format", "json"])
            .arg(f)
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let boot = &v["scenarios"][0]["boots"][0];
        (
            v["scenarios"][0]["passed"].as_bool().unwrap(),
            boot["served_by"].as_str().unwrap_or("").to_string(),
        )
    };
    let keyed = served_by(&file);
    let open = served_by(&unkeyed);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(keyed, (true, "p1".to_string()));
    assert_eq!(open, (false, "dp1".to_string()));
}

/// `pxelab audit --pcap`: the segment capture of a run in which dp1 answered (the rogue
/// scenario without its key) lists the DHCP server and dp1; against a scenario that
/// does not name 10.10.0.5, dp1 is flagged and the exit status is 1.
#[test]
fn audit_reads_a_segment_capture_and_flags_unnamed_servers() {
    let file = root().join("scenarios/peers/rogue-peer-keyed.yaml");
    let dir = std::env::temp_dir().join(format!("pxelab-audit-{}", std::process::id()));
    let unkeyed = without_peer_key(&file, &dir);
    let st = pxelab()
        .args(["run", "--pcap"])
        .arg(dir.join("pcap"))
        .arg(&unkeyed)
        .output()
        .unwrap();
    assert_eq!(
        st.status.code(),
        Some(1),
        "the unkeyed run fails its expectations"
    );
    let pcap = dir.join("pcap/hq.pcap");
    let audit = |scenario: &Path| {
        let out = pxelab()
            .args(["audit", "--format", "json", "--pcap"])
            .arg(&pcap)
            .arg("--scenario")
            .arg(scenario)
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!("{e}: {}", String::from_utf8_lossy(&out.stderr));
        });
        (out.status.code(), v)
    };
    let (code, v) = audit(&file);
    assert_eq!(code, Some(0), "{v}");
    let servers: Vec<(String, String)> = v["servers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["server"].as_str().unwrap().to_string(),
                s["named"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert_eq!(
        servers,
        [
            ("10.10.0.2".to_string(), "dhcp".to_string()),
            ("10.10.0.5".to_string(), "dp1".to_string())
        ]
    );
    let (code, v) = audit(&root().join("scenarios/peers/one-peer-answers.yaml"));
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(code, Some(1), "{v}");
    assert_eq!(v["flagged"], 1);
    let flagged: Vec<&serde_json::Value> = v["servers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["flagged"] == true)
        .collect();
    assert_eq!(flagged[0]["server"], "10.10.0.5");
    // A missing capture is an error (2) that names the file.
    let out = pxelab()
        .args(["audit", "--pcap", "/nonexistent/x.pcap"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/x.pcap"));
}

#[test]
fn schema_prints_a_json_schema_of_the_scenario_format() {
    let out = pxelab().arg("schema").output().unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(v["$schema"], "https://json-schema.org/draft/2020-12/schema");
    assert_eq!(v["required"], serde_json::json!(["scenario"]));
    let responder = &v["$defs"]["responder"]["properties"];
    for key in ["tftp", "mac_exclusion_file", "response_delay"] {
        assert!(responder.get(key).is_some(), "responder has no {key}");
    }
    assert_eq!(v["$defs"]["responder"]["additionalProperties"], false);
}

/// The suite's JSON results with the wall times taken out (they are the only figures
/// that depend on the machine).
fn results_without_wall_times(args: &[&str]) -> serde_json::Value {
    let out = pxelab()
        .current_dir(root())
        .args(args)
        .args(["--format", "json"])
        .output()
        .unwrap();
    let mut v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stderr)));
    fn strip(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(m) => {
                m.retain(|k, _| !k.starts_with("wall_time"));
                m.values_mut().for_each(strip);
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(strip),
            _ => {}
        }
    }
    strip(&mut v);
    v
}

#[test]
fn parallel_run_gives_the_serial_results_in_file_order() {
    // Every directory of the suite but perf/ (the storm runs in suite_passes_in_json).
    let mut dirs: Vec<String> = std::fs::read_dir(root().join("scenarios"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir() && !p.ends_with("perf"))
        .map(|p| p.strip_prefix(root()).unwrap().display().to_string())
        .collect();
    dirs.sort();
    let mut args: Vec<&str> = vec!["run"];
    args.extend(dirs.iter().map(String::as_str));
    let serial = results_without_wall_times(&[&args[..], &["--jobs", "1"]].concat());
    let parallel = results_without_wall_times(&[&args[..], &["--jobs", "3"]].concat());
    assert!(serial["scenarios"].as_array().unwrap().len() >= 40);
    assert_eq!(serial, parallel);
}
