//! The HTML report's commands end to end (without a browser, see report_browser.rs):
//! `explain --format svg|html`, `report` from results files, `merge --html`, and their
//! errors.

mod common;

use common::{pxelab, run_ok, tmp};

#[test]
fn explain_draws_one_boot_as_svg_and_the_client_as_a_page() {
    let args = [
        "explain",
        "scenarios/examples/minimal.yaml",
        "--client",
        "c1",
    ];
    let svg = run_ok(pxelab().args(args).args(["--format", "svg"]));
    let svg = String::from_utf8_lossy(&svg.stdout);
    assert!(
        svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""),
        "{svg}"
    );
    assert!(svg.contains("DISCOVER #1") && svg.contains("device is in the database"));
    let page = run_ok(pxelab().args(args).args(["--format", "html"]));
    let page = String::from_utf8_lossy(&page.stdout);
    assert!(page.starts_with("<!DOCTYPE html>") && page.contains("ladder: c1 boot 1"));
    let out = pxelab()
        .args(args)
        .args(["--boot", "2", "--format", "svg"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: scenarios/examples/minimal.yaml: c1 has no boot 2 (it booted 1 time(s))\n"
    );
}

#[test]
fn merged_shards_and_results_files_make_a_page() {
    let d = tmp("report-cli");
    for i in 1..=2 {
        let status = pxelab()
            .args([
                "run",
                "scenarios/relay",
                "--shard",
                &format!("{i}/2"),
                "--json",
            ])
            .arg(d.join(format!("{i}.json")))
            .output()
            .expect("runs")
            .status;
        assert!(status.success());
    }
    let merged = d.join("merged.html");
    run_ok(
        pxelab()
            .arg("merge")
            .arg(d.join("1.json"))
            .arg(d.join("2.json"))
            .arg("--html")
            .arg(&merged),
    );
    let page = std::fs::read_to_string(&merged).expect("written");
    let files = std::fs::read_dir("scenarios/relay").expect("relay").count();
    assert_eq!(
        page.matches("<article class=\"scenario pass\"").count(),
        files
    );
    // `report` reads the same files; results that are not results are refused by name.
    let again = d.join("report.html");
    run_ok(
        pxelab()
            .arg("report")
            .arg(d.join("1.json"))
            .arg("--html")
            .arg(&again),
    );
    std::fs::write(d.join("bad.json"), "[1, 2]").expect("write");
    let out = pxelab()
        .arg("report")
        .arg(d.join("bad.json"))
        .arg("--html")
        .arg(d.join("bad.html"))
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.json: not pxelab results (no `scenarios`"),
        "{err}"
    );
    assert!(!d.join("bad.html").exists());
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn bench_tftp_writes_its_plot_and_table_into_a_page() {
    let d = tmp("bench-html");
    let page = d.join("bench.html");
    run_ok(
        pxelab()
            .args([
                "bench", "tftp", "--rate", "100Mbit", "--size", "1MiB", "--repeat", "1",
            ])
            .args([
                "--block-size",
                "1432,4096",
                "--window-size",
                "1,4",
                "--html",
            ])
            .arg(&page),
    );
    let p = std::fs::read_to_string(&page).expect("written");
    assert_eq!(p.matches("<div class=\"scroll plot\"><svg").count(), 1);
    assert!(p.contains("advice: 100Mbit"), "{p}");
    // The plot drawn for the page is not left beside it.
    assert_eq!(std::fs::read_dir(&d).expect("dir").count(), 1);
    let _ = std::fs::remove_dir_all(&d);
}
