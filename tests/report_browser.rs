//! The HTML report in a real browser (Debian's `chromium`, headless, offline): a report
//! of the scenario suite plus a deliberately failing scenario and a lab-like side, its
//! DOM checked (one entry per scenario, the failure texts, the arrows of a known boot,
//! the script ran without error, no sideways scrolling at a phone's width), screenshots
//! kept in target/ for CI, and the page's size and load time printed (`--nocapture`).

mod common;

use common::{pxelab, run_ok, tmp};
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const FAILING: &str = "tests/fixtures/report/failing.yaml";

/// The report in a phone-sized frame; the frame's document width and window width
/// are written to `data-frame` as `SCROLLxCLIENT`.
const PHONE_FRAME: &str = "<!DOCTYPE html><html><body style=\"margin:0\">\
<iframe id=\"f\" src=\"report.html\" style=\"width:390px;height:844px;border:0\"></iframe>\
<script>document.getElementById('f').addEventListener('load',function(){\
var d=this.contentDocument.documentElement;\
document.body.setAttribute('data-frame',d.scrollWidth+'x'+d.clientWidth);});</script>\
</body></html>";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// What one headless run printed, and how long it took.
struct Run {
    stdout: String,
    stderr: String,
    wall: Duration,
}

/// Runs headless chromium on `url` with `args`, in a profile of its own (removed
/// after), without the network; stops it (its process group, which it leads) if it
/// takes over two minutes.
fn chromium(url: &str, args: &[&str]) -> Run {
    let profile = tmp(&format!("chromium-{}", args.len()));
    let mut cmd = Command::new("chromium");
    cmd.args([
        "--headless",
        "--disable-gpu",
        "--no-sandbox",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-extensions",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        // Nothing on the page may come from a network: any name lookup fails.
        "--host-resolver-rules=MAP * ~NOTFOUND",
        "--enable-logging=stderr",
        "--v=0",
    ])
    .arg(format!("--user-data-dir={}", profile.display()))
    .args(args)
    .arg(url)
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .process_group(0);
    let start = Instant::now();
    let mut child = cmd.spawn().unwrap_or_else(|e| {
        panic!("cannot start chromium ({e}): install Debian's chromium (scripts/test-all.sh does)")
    });
    let pid = child.id() as i32;
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break Some(s);
        }
        if start.elapsed() > Duration::from_secs(120) {
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let wall = start.elapsed();
    // Chromium's helpers (renderer, crash handler) are in the group it leads: stop what
    // is left of it, then reap it.
    // SAFETY: kill(2) on the process group of a child this test started.
    unsafe {
        libc::kill(-pid, libc::SIGKILL);
    }
    let _ = child.wait();
    let stdout = reader.join().unwrap_or_default();
    let stderr = err_reader.join().unwrap_or_default();
    let _ = std::fs::remove_dir_all(&profile);
    let Some(status) = status else {
        panic!("chromium took over 2 minutes on {url}:\n{stderr}");
    };
    assert!(
        status.success(),
        "chromium failed on {url}: {status}\n{stderr}"
    );
    Run {
        stdout,
        stderr,
        wall,
    }
}

fn url(p: &Path) -> String {
    format!(
        "file://{}",
        std::path::absolute(p).expect("absolute").display()
    )
}

/// Console errors and uncaught exceptions chromium logged.
fn script_errors(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| l.contains("Uncaught") || (l.contains(":CONSOLE(") && l.contains("rror")))
        .collect()
}

/// The value of attribute `name` on the first element that has it.
fn attr<'a>(dom: &'a str, name: &str) -> Option<&'a str> {
    let at = dom.find(&format!(" {name}=\""))? + name.len() + 3;
    dom[at..].split('"').next()
}

/// The HTML of the `<article>` of scenario `file`.
fn article<'a>(dom: &'a str, file: &str) -> &'a str {
    let at = dom
        .find(&format!("data-file=\"{file}\""))
        .unwrap_or_else(|| panic!("no entry for {file}"));
    let end = dom[at..].find("</article>").expect("closed") + at;
    &dom[at..end]
}

#[test]
fn the_report_of_the_suite_renders_in_chromium() {
    let out = root().join("target/report-test");
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).expect("target/report-test");
    let sim = out.join("sim.json");
    // The suite and a failing scenario, in the simulator.
    let status = pxelab()
        .args(["run", "scenarios", FAILING, "--json"])
        .arg(&sim)
        .arg("--html")
        .arg(out.join("sim.html"))
        .stdout(Stdio::null())
        .status()
        .expect("pxelab runs");
    assert_eq!(status.code(), Some(1), "the failing fixture fails the run");
    // A lab-like side, to see sim and lab side by side: the lab suite's sim results
    // labelled `lab` (the lab itself needs root and QEMU; tests/lab.rs runs it).
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&sim).expect("results")).expect("JSON");
    let lab: Vec<serde_json::Value> = v["scenarios"]
        .as_array()
        .expect("scenarios")
        .iter()
        .filter(|s| {
            s["file"]
                .as_str()
                .is_some_and(|f| f.starts_with("scenarios/lab/"))
        })
        .cloned()
        .map(|mut s| {
            s["mode"] = "lab".into();
            s
        })
        .collect();
    assert!(!lab.is_empty());
    let lab_file = out.join("lab-like.json");
    std::fs::write(
        &lab_file,
        serde_json::json!({ "scenarios": lab }).to_string(),
    )
    .expect("write");
    let html = out.join("report.html");
    run_ok(
        pxelab()
            .arg("report")
            .arg(&sim)
            .arg(&lab_file)
            .arg("--html")
            .arg(&html),
    );

    let files: Vec<String> = {
        let mut f = common::scenario_files(&v);
        f.dedup();
        f
    };
    let known = v["scenarios"]
        .as_array()
        .expect("scenarios")
        .iter()
        .find(|s| s["file"] == FAILING)
        .expect("the failing fixture's result");
    let ladder = &known["ladders"][0];
    let want_arrows = ladder["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .filter(|s| s["from"] != s["to"])
        .count();

    // The desktop view: the DOM after the page loaded, then a screenshot.
    let run = chromium(&url(&html), &["--window-size=1280,900", "--dump-dom"]);
    let dom = &run.stdout;
    assert_eq!(script_errors(&run.stderr), Vec::<&str>::new());
    assert_eq!(
        attr(dom, "data-js"),
        Some("ok"),
        "the page's script ran to its end"
    );
    assert_eq!(
        dom.matches("<article class=\"scenario ").count(),
        files.len()
    );
    assert_eq!(dom.matches("<article class=\"scenario fail\"").count(), 1);
    let failing = article(dom, FAILING);
    assert!(
        failing.contains("<td>outcome no_offer</td><td>booted</td>"),
        "{failing}"
    );
    assert!(failing.contains("this line is never logged"));
    assert!(failing.contains("none found"));
    // Its boot: DHCP, proxy DHCP, 4011, TFTP: 15 arrows (sim/src/ladder.rs's tests
    // check which), all drawn.
    assert_eq!(want_arrows, 15);
    let svg_at = failing.find("<svg").expect("a ladder");
    let svg = &failing[svg_at..failing[svg_at..].find("</svg>").expect("closed") + svg_at];
    assert_eq!(svg.matches("<g class=\"arrow").count(), want_arrows);
    // Sim and lab side by side for a lab scenario.
    let lab_entry = article(dom, "scenarios/lab/uefi-x64.yaml");
    assert!(lab_entry.contains("data-mode=\"sim\"") && lab_entry.contains("data-mode=\"lab\""));

    // Failed scenarios come first: the screenshot shows the failing boot's ladder.
    let shot = root().join("target/report-screenshot.png");
    chromium(
        &url(&html),
        &[
            "--window-size=1280,1400",
            "--virtual-time-budget=5000",
            &format!("--screenshot={}", shot.display()),
        ],
    );
    assert!(shot.metadata().is_ok_and(|m| m.len() > 10_000));
    println!("screenshot: {}", shot.display());

    // A phone's width. Headless chromium keeps its window at least ~500 px wide, so
    // the report goes in a 390 px frame of a page that notes the frame's measures
    // (file pages may read each other with --allow-file-access-from-files).
    let phone = out.join("phone.html");
    std::fs::write(&phone, PHONE_FRAME).expect("write");
    let frame_args = ["--allow-file-access-from-files", "--window-size=1280,900"];
    let run_phone = chromium(&url(&phone), &[&frame_args[..], &["--dump-dom"]].concat());
    assert_eq!(script_errors(&run_phone.stderr), Vec::<&str>::new());
    let measured = attr(&run_phone.stdout, "data-frame")
        .unwrap_or_else(|| panic!("the frame was not measured:\n{}", run_phone.stdout));
    let (scroll, client) = measured.split_once('x').expect("WxH");
    let (scroll, client): (u32, u32) = (scroll.parse().expect("n"), client.parse().expect("n"));
    assert!(client <= 390, "the frame is a phone's: {client}");
    assert!(
        scroll <= client,
        "the page scrolls sideways at a phone's width: {scroll} > {client}"
    );
    let phone_shot = root().join("target/report-phone.png");
    let shot_arg = format!("--screenshot={}", phone_shot.display());
    let shot_args = [&frame_args[..], &["--virtual-time-budget=5000", &shot_arg]].concat();
    chromium(&url(&phone), &shot_args);
    println!(
        "screenshot at a phone's width (the left 390 px): {}",
        phone_shot.display()
    );

    // Figures, not assertions: the page's size, and how long chromium took to start,
    // load and lay it out, and print its DOM (the load alone is in the page).
    let size = html.metadata().expect("report").len();
    println!(
        "report of {} scenario files ({} runs): {:.2} MiB; chromium --dump-dom {:.2}s wall; page loaded after {} ms",
        files.len(),
        v["scenarios"].as_array().map_or(0, |a| a.len()) + lab.len(),
        size as f64 / 1048576.0,
        run.wall.as_secs_f64(),
        attr(dom, "data-loaded-ms").unwrap_or("?")
    );
    println!("report: {}", html.display());
}
