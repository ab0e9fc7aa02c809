//! `pxelab merge`: the shards of a real run of the suite merge into the unsharded run's
//! results; shards that do not belong together are refused, naming the files.

mod common;

use common::{pxelab, run_ok, scenario_files as files, tmp};
use serde_json::Value;
use std::path::Path;
use std::process::Output;

fn run(args: &[&str], json: &Path) {
    run_ok(pxelab().arg("run").args(args).arg("--json").arg(json));
}

fn merge(files: &[&Path], extra: &[&str]) -> Output {
    pxelab()
        .arg("merge")
        .args(files)
        .args(extra)
        .output()
        .unwrap()
}

fn read(p: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

fn write(p: &Path, v: &Value) {
    std::fs::write(p, serde_json::to_vec_pretty(v).unwrap()).unwrap();
}

/// The scenarios' results without their wall-clock times.
fn scenarios(v: &Value) -> Vec<Value> {
    v["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let mut s = s.clone();
            s.as_object_mut().unwrap().remove("wall_time_s");
            s
        })
        .collect()
}

fn refused(out: &Output, wants: &[&str]) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    for w in wants {
        assert!(err.contains(w), "{w:?} not in: {err}");
    }
}

#[test]
fn shards_of_the_suite_merge_into_the_unsharded_run_and_strangers_are_refused() {
    let dir = tmp("suite");
    let (a, b, whole) = (dir.join("1.json"), dir.join("2.json"), dir.join("all.json"));
    run(&["scenarios", "--shard", "1/2"], &a);
    run(&["scenarios", "--shard", "2/2"], &b);
    run(&["scenarios"], &whole);

    let (va, vb, vw) = (read(&a), read(&b), read(&whole));
    assert_eq!(
        va["suite"]["shard"],
        serde_json::json!({"index": 1, "count": 2})
    );
    assert!(vw["suite"]["shard"].is_null());
    let (fa, fb) = (files(&va), files(&vb));
    assert!(!fa.is_empty() && !fb.is_empty());
    assert!(fa.iter().all(|f| !fb.contains(f)), "the shards overlap");

    // Merged: the same suite, the same scenarios in the same order, the same results.
    let (mj, mx) = (dir.join("merged.json"), dir.join("merged.xml"));
    let out = merge(
        &[&b, &a],
        &[
            "--json",
            mj.to_str().unwrap(),
            "--junit",
            mx.to_str().unwrap(),
            "--format",
            "json",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let m = read(&mj);
    let printed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(printed, m);
    assert_eq!(m["suite"], vw["suite"]);
    assert_eq!(files(&m), files(&vw));
    assert_eq!(scenarios(&m), scenarios(&vw));
    let xml = std::fs::read_to_string(&mx).unwrap();
    assert_eq!(xml.matches("<testcase ").count(), files(&vw).len());
    assert!(xml.contains(&format!("tests=\"{}\" failures=\"0\"", files(&vw).len())));

    // The same shard twice.
    refused(
        &merge(&[&a, &a], &[]),
        &["1.json and", "1.json are both shard 1/2"],
    );
    // A shard missing.
    refused(
        &merge(&[&a], &[]),
        &["incomplete", "missing shard: 2/2", &fb[0]],
    );
    assert!(merge(&[&a], &["--partial"]).status.success());
    // A shard of another suite.
    let relay = dir.join("relay-2.json");
    run(&["scenarios/relay", "--shard", "2/2"], &relay);
    refused(
        &merge(&[&a, &relay], &[]),
        &["1.json and", "relay-2.json are from different suites"],
    );
    // A scenario in two shards.
    let mut dup = vb.clone();
    dup["scenarios"]
        .as_array_mut()
        .unwrap()
        .push(va["scenarios"][0].clone());
    let dup_file = dir.join("2-dup.json");
    write(&dup_file, &dup);
    refused(
        &merge(&[&a, &dup_file], &[]),
        &[
            &format!("scenario {} is in both", fa[0]),
            "1.json and",
            "2-dup.json",
        ],
    );
    // Scenario files that changed between the runners.
    let mut changed = vb.clone();
    changed["suite"]["digest"] = "crc32:00000000".into();
    let changed_file = dir.join("2-changed.json");
    write(&changed_file, &changed);
    refused(&merge(&[&a, &changed_file], &[]), &["different contents"]);
    // A failed scenario in a shard: merged, and the merge's exit status says so.
    let mut failed = vb.clone();
    failed["scenarios"][0]["passed"] = false.into();
    failed["scenarios"][0]["failures"] = serde_json::json!(["c1 boot 1: outcome no_offer"]);
    let failed_file = dir.join("2-failed.json");
    write(&failed_file, &failed);
    let x = dir.join("failed.xml");
    let out = merge(&[&a, &failed_file], &["--junit", x.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(&format!("FAIL {}", fb[0])), "{text}");
    assert!(std::fs::read_to_string(&x)
        .unwrap()
        .contains("c1 boot 1: outcome no_offer"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn results_without_a_suite_are_refused() {
    let dir = tmp("old");
    let old = dir.join("old.json");
    std::fs::write(&old, r#"{"scenarios": []}"#).unwrap();
    refused(
        &merge(&[&old], &[]),
        &["old.json: the results do not say which suite"],
    );
    let bad = dir.join("bad.json");
    std::fs::write(&bad, "not json").unwrap();
    refused(&merge(&[&bad], &[]), &["bad.json: not the JSON results"]);
    refused(&merge(&[&dir.join("none.json")], &[]), &["none.json"]);
    let _ = std::fs::remove_dir_all(&dir);
}
