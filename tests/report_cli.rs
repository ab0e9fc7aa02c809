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

/// The table inside a bench page's `<pre>`, unescaped as a browser would show it.
fn page_table(page: &str) -> String {
    let start = page.find("<pre>").expect("a table") + "<pre>".len();
    let end = page[start..].find("</pre>").expect("closed") + start;
    page[start..end]
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

#[test]
fn bench_storm_and_soak_write_their_tables_into_a_page() {
    let d = tmp("bench-storm-soak-html");
    let storm = d.join("storm.html");
    let out = run_ok(
        pxelab()
            .args(["bench", "storm", "--clients", "5,10", "--responders", "1"])
            .args(["--image-size", "1MiB", "--html"])
            .arg(&storm),
    );
    let p = std::fs::read_to_string(&storm).expect("written");
    assert!(p.starts_with("<!DOCTYPE html>") && p.contains("<title>pxelab bench storm</title>"));
    // The page holds the very table the terminal got: a row per client count.
    let table = page_table(&p);
    assert_eq!(table, String::from_utf8_lossy(&out.stdout));
    assert!(table.contains("5/5") && table.contains("10/10"), "{table}");
    // No plot: the storm bench draws none.
    assert!(!p.contains("<svg"));

    let soak = d.join("soak.html");
    let out = run_ok(
        pxelab()
            .args(["bench", "soak", "--mode", "sim", "--minutes", "1", "--html"])
            .arg(&soak),
    );
    let p = std::fs::read_to_string(&soak).expect("written");
    let table = page_table(&p);
    assert_eq!(table, String::from_utf8_lossy(&out.stdout));
    assert!(table.contains("sim: 30 boots, 30 ended"), "{table}");
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn bench_dhcp_shows_a_saved_run_as_a_page_without_root() {
    let d = tmp("bench-dhcp-html");
    let point = |server: &str, rate: u32, received: u64| {
        serde_json::json!({
            "server": server, "firmware": "uefi-x64", "rate": rate, "clients": 1000,
            "seconds": 5, "sent": rate * 5, "received": received,
            "answers_per_s": received as f64 / 5.0,
            "answered": received as f64 / f64::from(rate * 5),
            "p50_ms": 0.25, "p90_ms": 0.5, "p99_ms": 1.25, "max_ms": 3.0,
            "cpu_us_per_answer": null
        })
    };
    let saved = serde_json::json!({
        "points": [point("pxelab", 100, 500), point("dnsmasq", 4000, 12345)]
    });
    let from = d.join("dhcp.json");
    std::fs::write(&from, saved.to_string()).expect("write");
    let page = d.join("dhcp.html");
    let out = run_ok(
        pxelab()
            .args(["bench", "dhcp", "--from"])
            .arg(&from)
            .arg("--html")
            .arg(&page),
    );
    let p = std::fs::read_to_string(&page).expect("written");
    assert!(p.contains("<title>pxelab bench dhcp</title>"));
    let table = page_table(&p);
    assert_eq!(table, String::from_utf8_lossy(&out.stdout));
    let rows: Vec<&str> = table.lines().skip(1).collect();
    assert_eq!(rows.len(), 2, "{table}");
    assert!(
        rows[0].trim_start().starts_with("pxelab      100"),
        "{table}"
    );
    assert!(
        rows[1].contains("12345") && rows[1].contains("61.7%"),
        "{table}"
    );
    // A file that is not a saved run is refused by name, and no page is written.
    std::fs::write(&from, "{\"points\": 3}").expect("write");
    std::fs::remove_file(&page).expect("remove");
    let out = pxelab()
        .args(["bench", "dhcp", "--from"])
        .arg(&from)
        .arg("--html")
        .arg(&page)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--from "));
    assert!(!page.exists());
    let _ = std::fs::remove_dir_all(&d);
}
