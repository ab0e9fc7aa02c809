//! The report page: a header with the verdict, the summary table, the failed scenarios,
//! then one entry per scenario file (its sim and lab runs side by side) with failures
//! (expected against got), boots, capture links and ladders. HTML with inline CSS and
//! SVG; a few lines of script add expand/collapse buttons, and the page works without.

use crate::escape::html;
use crate::ladder_svg;
use crate::summary::{summarise, Tally};
use pxelab_sim::ladder::Ladder;
use pxelab_sim::ScenarioResult;
use std::fmt::Write as _;
use std::path::{Component, Path, PathBuf};

/// Boots listed per run (the first ones, and as many failed ones): a storm's thousand
/// would bloat the page.
const MAX_BOOT_ROWS: usize = 20;
/// Failures listed per run.
const MAX_FAILURE_ROWS: usize = 40;

#[derive(Clone, Debug, Default)]
pub struct PageOptions {
    /// The page's title.
    pub title: String,
    /// Where the page will be written: capture links are made relative to its folder.
    pub out: Option<PathBuf>,
    /// What the results were read from, named in the header.
    pub sources: Vec<String>,
}

const CSS: &str = "\
*{box-sizing:border-box}\
body{font:15px/1.4 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;padding:0 12px 40px;color:#1d1d1f;background:#f6f7f9}\
header{padding:12px 0}\
h1{font-size:1.4rem;margin:.2rem 0}\
h2{font-size:1.15rem;margin:1.4rem 0 .4rem}\
h3{font-size:1rem;margin:0;overflow-wrap:anywhere}\
code,.mono{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.85rem}\
.pass-t{color:#1a7f37}.fail-t{color:#c00}\
.verdict{font-weight:bold}\
.scroll{overflow-x:auto;max-width:100%}\
table{border-collapse:collapse;background:#fff;margin:.3rem 0}\
th,td{border:1px solid #d0d7de;padding:3px 7px;text-align:left;vertical-align:top}\
td.n{text-align:right;white-space:nowrap}\
.scenario{background:#fff;border:1px solid #d0d7de;border-left:5px solid #1a7f37;border-radius:6px;margin:.6rem 0;padding:8px 10px}\
.scenario.fail{border-left-color:#c00}\
.runs{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,30rem),1fr));gap:10px}\
.run{min-width:0}\
summary{cursor:pointer}\
.failure td{color:#c00}\
.failure td.who{color:#1d1d1f}\
.boot{margin:.3rem 0}\
.muted{color:#57606a}\
#only-failed:checked~main .scenario.pass{display:none}\
.tools button{margin-right:6px}\
@media (max-width:600px){body{font-size:14px;padding:0 6px 30px}th,td{padding:2px 4px}}";

/// Expand/collapse all boots (buttons only exist when the script runs), and notes for
/// whoever measures the page (tests/report_browser.rs): its width against the
/// window's (`data-scroll-width` over `data-client-width` means it scrolls sideways) and
/// when it finished loading (`data-loaded-ms`, from the navigation's start).
const SCRIPT: &str = "\
(function(){\
var t=document.getElementById('tools');\
function all(open){document.querySelectorAll('details').forEach(function(d){d.open=open;});}\
[['expand all',true],['collapse all',false]].forEach(function(b){\
var e=document.createElement('button');e.type='button';e.textContent=b[0];\
e.addEventListener('click',function(){all(b[1]);});t.appendChild(e);});\
var h=document.documentElement;\
h.setAttribute('data-scroll-width',String(h.scrollWidth));\
h.setAttribute('data-client-width',String(h.clientWidth));\
h.setAttribute('data-js','ok');\
window.addEventListener('load',function(){h.setAttribute('data-loaded-ms',String(Math.round(performance.now())));});\
})();";

/// The results of `pxelab run --json` (or `merge --json`) files, in the order given.
pub fn read_results(paths: &[PathBuf]) -> Result<Vec<ScenarioResult>, String> {
    let mut all = Vec::new();
    for p in paths {
        let text = std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))?;
        let doc: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| format!("{}: not JSON results: {e}", p.display()))?;
        let Some(list) = doc.get("scenarios") else {
            return Err(format!(
                "{}: not pxelab results (no `scenarios`; write them with `pxelab run --json FILE`)",
                p.display()
            ));
        };
        let results: Vec<ScenarioResult> = serde_json::from_value(list.clone())
            .map_err(|e| format!("{}: scenarios: {e}", p.display()))?;
        all.extend(results);
    }
    Ok(all)
}

/// Writes the page for `results` to `path`.
pub fn write(path: &Path, results: &[ScenarioResult], opts: &PageOptions) -> Result<(), String> {
    let mut o = opts.clone();
    o.out = Some(path.to_path_buf());
    std::fs::write(path, page(results, &o)).map_err(|e| format!("{}: {e}", path.display()))
}

fn head(s: &mut String, title: &str) {
    let _ = write!(
        s,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>{}</title><style>{CSS}{}</style></head><body>",
        html(title),
        ladder_svg::CSS
    );
}

fn tail(s: &mut String) {
    let _ = writeln!(s, "<script>{SCRIPT}</script></body></html>");
}

fn tally(t: Option<&Tally>) -> String {
    match t {
        None => "<td class=\"n muted\">-</td>".into(),
        Some(t) if t.failed == 0 => format!("<td class=\"n pass-t\">{} passed</td>", t.passed),
        Some(t) => format!(
            "<td class=\"n fail-t\">{} passed, {} failed</td>",
            t.passed, t.failed
        ),
    }
}

/// The whole page for `results`.
pub fn page(results: &[ScenarioResult], opts: &PageOptions) -> String {
    let mut s = String::with_capacity(64 * 1024);
    let title = if opts.title.is_empty() {
        "pxelab report"
    } else {
        &opts.title
    };
    head(&mut s, title);
    let failed = results.iter().filter(|r| !r.passed).count();
    let _ = write!(
        s,
        "<header><h1>{}</h1><p class=\"verdict {}\">{} runs: {} passed, {} failed</p>",
        html(title),
        if failed == 0 { "pass-t" } else { "fail-t" },
        results.len(),
        results.len() - failed,
        failed
    );
    if !opts.sources.is_empty() {
        let names: Vec<String> = opts
            .sources
            .iter()
            .map(|x| format!("<code>{}</code>", html(x)))
            .collect();
        let _ = write!(s, "<p class=\"muted\">from {}</p>", names.join(", "));
    }
    s.push_str("<div class=\"tools\" id=\"tools\"></div></header>");
    // The filter works without script: a checkbox before <main> and a CSS rule.
    s.push_str("<input type=\"checkbox\" id=\"only-failed\"><label for=\"only-failed\"> only failed scenarios</label>");
    s.push_str("<main>");
    summary_table(&mut s, results);
    let groups = group(results);
    if failed > 0 {
        s.push_str("<section id=\"failed\"><h2>Failed</h2><ul>");
        for (k, (file, runs)) in groups.iter().enumerate() {
            for r in runs.iter().filter(|r| !r.passed) {
                let _ = write!(
                    s,
                    "<li><a href=\"#s-{k}\">{}</a> <span class=\"muted\">[{}]</span> {}</li>",
                    html(file),
                    html(&r.mode),
                    html(r.failures.first().map(String::as_str).unwrap_or("failed"))
                );
            }
        }
        s.push_str("</ul></section>");
    }
    s.push_str("<section id=\"scenarios\"><h2>Scenarios</h2>");
    // Failed scenarios first (in the suite's order), then the others.
    let mut order: Vec<usize> = (0..groups.len()).collect();
    order.sort_by_key(|&k| groups[k].1.iter().all(|r| r.passed));
    let mut budget = Budget {
        bytes: LADDER_BUDGET,
        open: OPEN_LADDERS,
    };
    for k in order {
        let (file, runs) = &groups[k];
        let ok = runs.iter().all(|r| r.passed);
        let _ = write!(
            s,
            "<article class=\"scenario {}\" id=\"s-{k}\" data-file=\"{}\"><h3>{} {} <span class=\"muted\">{}</span></h3><div class=\"runs\">",
            if ok { "pass" } else { "fail" },
            html(file),
            if ok { "<span class=\"pass-t\">PASS</span>" } else { "<span class=\"fail-t\">FAIL</span>" },
            html(&runs[0].scenario),
            html(file)
        );
        for r in runs {
            run_section(&mut s, r, &format!("s{k}-{}", r.mode), opts, &mut budget);
        }
        s.push_str("</div></article>");
    }
    s.push_str("</section></main>");
    tail(&mut s);
    s
}

/// Results grouped by scenario file, in first-appearance order.
fn group(results: &[ScenarioResult]) -> Vec<(String, Vec<&ScenarioResult>)> {
    let mut g: Vec<(String, Vec<&ScenarioResult>)> = Vec::new();
    for r in results {
        match g.iter_mut().find(|(f, _)| *f == r.file) {
            Some((_, v)) => v.push(r),
            None => g.push((r.file.clone(), vec![r])),
        }
    }
    g
}

fn summary_table(s: &mut String, results: &[ScenarioResult]) {
    let sum = summarise(results);
    let header = |s: &mut String| {
        s.push_str("<div class=\"scroll\"><table><tr><th>tag</th>");
        for m in &sum.modes {
            let _ = write!(s, "<th>{}</th>", html(m));
        }
        s.push_str("</tr>");
    };
    let row = |s: &mut String, tag: &str, per_mode: &std::collections::BTreeMap<String, Tally>| {
        let _ = write!(s, "<tr><td><code>{}</code></td>", html(tag));
        for m in &sum.modes {
            s.push_str(&tally(per_mode.get(m)));
        }
        s.push_str("</tr>");
    };
    // The whole run and the tags with failures in sight; every tag one click away.
    s.push_str("<section id=\"summary\"><h2>Summary</h2>");
    header(s);
    s.push_str("<tr><th>all</th>");
    for m in &sum.modes {
        s.push_str(&tally(sum.all.get(m)));
    }
    s.push_str("</tr>");
    for (tag, per_mode) in sum
        .tags
        .iter()
        .filter(|(_, p)| p.values().any(|t| t.failed > 0))
    {
        row(s, tag, per_mode);
    }
    s.push_str("</table></div>");
    let _ = write!(
        s,
        "<details><summary>per tag ({} tags)</summary>",
        sum.tags.len()
    );
    header(s);
    for (tag, per_mode) in &sum.tags {
        row(s, tag, per_mode);
    }
    s.push_str("</table></div></details></section>");
}

/// `who: expected X, got Y` as its three parts; other failures whole.
fn split_failure(f: &str) -> (&str, &str, &str) {
    let Some((who, rest)) = f.split_once(": ") else {
        return ("", f, "");
    };
    let Some(want) = rest.strip_prefix("expected ") else {
        return (who, rest, "");
    };
    for sep in [
        ", got ",
        ", took ",
        ", but ",
        ", none found",
        ", option absent",
    ] {
        if let Some((w, g)) = want.split_once(sep) {
            let got = if g.is_empty() {
                sep.trim_start_matches(", ")
            } else {
                g
            };
            return (who, w, got);
        }
    }
    (who, want, "")
}

fn run_section(
    s: &mut String,
    r: &ScenarioResult,
    id: &str,
    opts: &PageOptions,
    budget: &mut Budget,
) {
    let _ = write!(
        s,
        "<section class=\"run {}\" data-mode=\"{}\"><details{}><summary><b class=\"{}\">{}</b> {} <span class=\"muted\">seed {}, {:.1}s {} time, {} boot{}</span></summary>",
        if r.passed { "pass" } else { "fail" },
        html(&r.mode),
        if r.passed { "" } else { " open" },
        if r.passed { "pass-t" } else { "fail-t" },
        if r.passed { "PASS" } else { "FAIL" },
        html(&r.mode),
        r.seed,
        r.sim_time_s,
        if r.mode == "sim" { "virtual" } else { "wall" },
        r.boots.len(),
        if r.boots.len() == 1 { "" } else { "s" }
    );
    if !r.failures.is_empty() {
        s.push_str("<div class=\"scroll\"><table class=\"failures\"><tr><th></th><th>expected</th><th>got</th></tr>");
        for f in r.failures.iter().take(MAX_FAILURE_ROWS) {
            let (who, want, got) = split_failure(f);
            let _ = write!(
                s,
                "<tr class=\"failure\" title=\"{}\"><td class=\"who\">{}</td><td>{}</td><td>{}</td></tr>",
                html(f),
                html(who),
                html(want),
                html(got)
            );
        }
        s.push_str("</table></div>");
        if r.failures.len() > MAX_FAILURE_ROWS {
            let _ = write!(
                s,
                "<p class=\"muted\">{} more failures (all are in the JSON results and `pxelab run`'s text)</p>",
                r.failures.len() - MAX_FAILURE_ROWS
            );
        }
    }
    if !r.tags.is_empty() {
        let tags: Vec<String> = r
            .tags
            .iter()
            .map(|t| format!("<code>{}</code>", html(t)))
            .collect();
        let _ = write!(s, "<p class=\"muted\">tags {}</p>", tags.join(" "));
    }
    boots_table(s, r);
    if !r.pcaps.is_empty() {
        s.push_str("<p>captures: ");
        for p in &r.pcaps {
            let name = Path::new(p)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| p.clone());
            let _ = write!(
                s,
                "<a class=\"pcap\" href=\"{}\">{}</a> ",
                html(&href(opts.out.as_deref(), p)),
                html(&name)
            );
        }
        s.push_str("</p>");
    }
    if !r.ladders.is_empty() && r.ladders.len() < r.boots.len() {
        let _ = write!(
            s,
            "<p class=\"muted\">{} of {} boots drawn (failed boots first)</p>",
            r.ladders.len(),
            r.boots.len()
        );
    }
    for l in &r.ladders {
        ladder_section(s, r, l, id, budget);
    }
    s.push_str("</details></section>");
}

fn boot_failed(r: &ScenarioResult, client: &str, boot: u32) -> bool {
    let who = format!("{client} boot {boot}:");
    r.failures.iter().any(|f| f.starts_with(&who))
}

fn boots_table(s: &mut String, r: &ScenarioResult) {
    if r.boots.is_empty() {
        return;
    }
    s.push_str("<div class=\"scroll\"><table class=\"boots\"><tr><th>client</th><th>boot</th><th>outcome</th><th>image</th><th>deployment</th><th>served by</th><th>at</th><th>took</th></tr>");
    let dash = |o: &Option<String>| html(o.as_deref().unwrap_or("-"));
    let (mut shown, mut failed_shown) = (0, 0);
    for (i, b) in r.boots.iter().enumerate() {
        let failed = boot_failed(r, &b.client, b.boot);
        if (!failed && i >= MAX_BOOT_ROWS) || (failed && failed_shown >= MAX_BOOT_ROWS) {
            continue;
        }
        shown += 1;
        failed_shown += usize::from(failed);
        let _ = write!(
            s,
            "<tr{}><td>{}</td><td class=\"n\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{:.3}s</td><td class=\"n\">{}</td></tr>",
            if failed { " class=\"fail-t\"" } else { "" },
            html(&b.client),
            b.boot,
            dash(&b.outcome),
            dash(&b.boot_image),
            dash(&b.deployment),
            dash(&b.served_by),
            b.at_s,
            b.took_s.map(|t| format!("{t:.3}s")).unwrap_or_else(|| "-".into())
        );
    }
    s.push_str("</table></div>");
    if shown < r.boots.len() {
        let _ = write!(
            s,
            "<p class=\"muted\">{} more boots not listed</p>",
            r.boots.len() - shown
        );
    }
}

/// Bytes of SVG one page may hold: past it, ladders are named with the command that
/// draws them instead (failed scenarios come first, so theirs are drawn). A page of a
/// hundred scenarios stays a few MiB and opens in well under a second.
pub const LADDER_BUDGET: usize = 3 << 20;
/// Failed boots' ladders shown open; the rest are a click away (a closed `<details>`
/// is not laid out, so a page of many failures still opens quickly).
pub const OPEN_LADDERS: usize = 12;

/// What is left of a page's ladder budgets.
struct Budget {
    bytes: usize,
    open: usize,
}

fn ladder_section(s: &mut String, r: &ScenarioResult, l: &Ladder, id: &str, budget: &mut Budget) {
    let failed = boot_failed(r, &l.client, l.boot);
    let b = r
        .boots
        .iter()
        .find(|b| b.client == l.client && b.boot == l.boot);
    let outcome = b.and_then(|b| b.outcome.as_deref()).unwrap_or("no outcome");
    let svg_id = format!("{id}-{}-{}", l.client, l.boot);
    let svg = ladder_svg::svg(l, &svg_id, false);
    let open = failed && budget.open > 0;
    if open {
        budget.open -= 1;
    }
    let body = if svg.len() <= budget.bytes {
        budget.bytes -= svg.len();
        svg
    } else {
        budget.bytes = 0;
        format!(
            "<p class=\"muted\">not drawn: the page's {} MiB of ladders is spent; <code>pxelab explain {} --client {} --boot {} --format html</code> draws it</p>",
            LADDER_BUDGET >> 20,
            html(&r.file),
            html(&l.client),
            l.boot
        )
    };
    let _ = write!(
        s,
        "<details class=\"boot\" data-client=\"{}\" data-boot=\"{}\"{}><summary>ladder: {} boot {}: <span class=\"{}\">{}</span> <span class=\"muted\">({} arrows)</span></summary><div class=\"scroll\">{body}</div></details>",
        html(&l.client),
        l.boot,
        if open { " open" } else { "" },
        html(&l.client),
        l.boot,
        if failed { "fail-t" } else { "" },
        html(outcome),
        ladder_svg::arrows(l),
    );
}

/// A page for `pxelab explain --format html`: the client's boots as ladders.
pub fn explain_page(r: &ScenarioResult, ladders: &[Ladder], title: &str) -> String {
    let mut s = String::new();
    head(&mut s, title);
    let _ = write!(s, "<header><h1>{}</h1><p class=\"muted\">{}</p><div class=\"tools\" id=\"tools\"></div></header><main>", html(title), html(&r.file));
    let mut unlimited = Budget {
        bytes: usize::MAX,
        open: usize::MAX,
    };
    for l in ladders {
        ladder_section(&mut s, r, l, "explain", &mut unlimited);
    }
    if ladders.is_empty() {
        s.push_str("<p>no boot to draw</p>");
    }
    s.push_str("</main>");
    tail(&mut s);
    s
}

/// A link from the page at `out` to `target` (a path as the run named it): relative
/// when both can be resolved, so the report and its captures move together.
fn href(out: Option<&Path>, target: &str) -> String {
    let rel = out
        .and_then(|o| {
            let dir = o
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            let dir = std::path::absolute(dir).ok()?;
            let to = std::path::absolute(target).ok()?;
            Some(relative(&dir, &to))
        })
        .unwrap_or_else(|| PathBuf::from(target));
    let mut o = String::new();
    for c in rel.to_string_lossy().chars() {
        match c {
            ' ' => o.push_str("%20"),
            '#' => o.push_str("%23"),
            '?' => o.push_str("%3F"),
            '%' => o.push_str("%25"),
            c => o.push(c),
        }
    }
    o
}

/// `to` relative to the folder `from` (both absolute).
fn relative(from: &Path, to: &Path) -> PathBuf {
    let a: Vec<Component> = from
        .components()
        .filter(|c| *c != Component::CurDir)
        .collect();
    let b: Vec<Component> = to
        .components()
        .filter(|c| *c != Component::CurDir)
        .collect();
    let common = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let mut p = PathBuf::new();
    for _ in common..a.len() {
        p.push("..");
    }
    for c in &b[common..] {
        p.push(c);
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_split_into_expected_and_got() {
        assert_eq!(
            split_failure("c1 boot 1: expected outcome booted, got no_offer"),
            ("c1 boot 1", "outcome booted", "no_offer")
        );
        assert_eq!(
            split_failure("dp1: expected a log line containing \"x\", none found"),
            ("dp1", "a log line containing \"x\"", "none found")
        );
        assert_eq!(split_failure("lab: qemu died"), ("lab", "qemu died", ""));
    }

    /// A hundred failed scenarios, each with as many ladders as a result holds, each
    /// as long as a ladder may be.
    fn worst_case() -> Vec<ScenarioResult> {
        use pxelab_sim::ladder::{Lane, LaneKind, Step, StepKind, MAX_LADDERS, MAX_STEPS};
        let sc = pxelab_scenario::load_str(
            "scenario: t\nnetwork:\n  segments:\n    - {name: hq, cidr: 10.0.0.0/24}\n",
            Path::new("t.yaml"),
        )
        .expect("loads");
        let lane = |n: &str, kind| Lane {
            name: n.into(),
            kind,
        };
        let step = |i: usize| {
            Step {
            t: i as f64 * 0.25,
            from: i % 3,
            to: (i + 1) % 3,
            kind: StepKind::Message,
            label: "RRQ boot.PS100002.wim".into(),
            text: format!("TFTP RRQ smsimages\\PS100002\\boot.PS100002.wim from 10.10.0.5 [blksize=4096 windowsize=4] {i}"),
        }
        };
        (0..100)
            .map(|k| {
                let mut r = ScenarioResult::new(&sc, "sim", 1);
                r.file = format!("s{k}.yaml");
                r.failures = vec!["c1 boot 1: expected outcome booted, got no_offer".into()];
                r.ladders = (1..=MAX_LADDERS as u32)
                    .map(|boot| Ladder {
                        client: "c1".into(),
                        boot,
                        lanes: vec![
                            lane("c1", LaneKind::Client),
                            lane("dhcp", LaneKind::Dhcp),
                            lane("dp1", LaneKind::Responder),
                        ],
                        steps: (0..MAX_STEPS).map(step).collect(),
                        omitted: 0,
                    })
                    .collect();
                r
            })
            .collect()
    }

    #[test]
    fn a_hundred_long_failures_stay_under_5_mib() {
        let p = page(&worst_case(), &PageOptions::default());
        println!(
            "a hundred worst-case failures: {:.2} MiB",
            p.len() as f64 / 1048576.0
        );
        assert!(p.len() < 5 << 20, "{} bytes", p.len());
        assert!(p.contains("not drawn: the page's 3 MiB of ladders is spent"));
        assert!(p.contains("pxelab explain s99.yaml --client c1 --boot 6 --format html"));
        // Every scenario is still listed, with its failure.
        assert_eq!(p.matches("<article class=\"scenario fail\"").count(), 100);
        assert_eq!(p.matches("<tr class=\"failure\"").count(), 100);
    }

    #[test]
    fn links_are_relative_to_the_page() {
        assert_eq!(
            relative(Path::new("/a/b/out"), Path::new("/a/b/pcaps/x y.pcap")),
            PathBuf::from("../pcaps/x y.pcap")
        );
        assert_eq!(href(None, "p/x y#1.pcap"), "p/x%20y%231.pcap");
    }

    #[test]
    fn results_files_that_are_not_results_are_refused_with_their_name() {
        let dir = std::env::temp_dir().join(format!("pxelab-report-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let f = dir.join("bad.json");
        std::fs::write(&f, "{\"x\": 1}").expect("write");
        let e = read_results(std::slice::from_ref(&f)).expect_err("refused");
        assert!(
            e.contains("bad.json") && e.contains("no `scenarios`"),
            "{e}"
        );
        std::fs::write(&f, "{not json").expect("write");
        let e = read_results(std::slice::from_ref(&f)).expect_err("refused");
        assert!(e.contains("bad.json: not JSON results"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
