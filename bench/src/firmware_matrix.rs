//! The firmware compatibility matrix (`pxelab matrix`, issue 15): every built-in
//! firmware against a set of server set-ups ([`setups`]), in the simulator, in the lab
//! with the real firmware under QEMU, or both; per cell the outcome, the responder
//! whose boot file the client took and, with both modes, whether they agree. The lab is
//! the judge: a cell's expected value is the lab's outcome.
//!
//! Each set-up is one scenario with one client per firmware, all booting at once, so
//! the lab builds each set-up once (its QEMU machines run side by side).

pub mod setups;

use crate::{Error, Mode};
use pxelab_scenario::{Firmware, Scenario};
use pxelab_sim::run::ScenarioResult;
use pxelab_sim::run::{run_scenario, RunOptions};
use serde::{Deserialize, Serialize};
use setups::Setup;
use std::path::{Path, PathBuf};

/// What to run.
#[derive(Clone, Debug)]
pub struct MatrixSpec {
    pub firmware: Vec<Firmware>,
    pub setups: Vec<Setup>,
    pub mode: Mode,
    pub seed: u64,
    /// How the lab runs a set-up's clients.
    pub lab_batch: LabBatch,
}

/// Which of a set-up's clients the lab boots together. QEMU under TCG on a loaded host
/// slows a BIOS guest's per-block turnaround through iPXE's PXE API past the
/// responder's TFTP timeout, and iPXE aborts on the resent block (docs/LAB.md): five
/// guests at once on two cores made BIOS cells fail that pass alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LabBatch {
    /// Every firmware in one lab run per set-up.
    All,
    /// The BIOS clients in one run, the UEFI clients in another (the default).
    Stack,
    /// One lab run per firmware and set-up.
    Each,
}

impl LabBatch {
    fn split(self, firmware: &[Firmware]) -> Vec<Vec<Firmware>> {
        let groups: Vec<Vec<Firmware>> = match self {
            LabBatch::All => vec![firmware.to_vec()],
            LabBatch::Stack => {
                let (bios, uefi): (Vec<Firmware>, Vec<Firmware>) = firmware
                    .iter()
                    .partition(|f| matches!(f, Firmware::BiosX64 | Firmware::BiosX86));
                vec![bios, uefi]
            }
            LabBatch::Each => firmware.iter().map(|f| vec![*f]).collect(),
        };
        groups.into_iter().filter(|g| !g.is_empty()).collect()
    }
}

/// One boot's result in one mode.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct CellResult {
    /// booted, no_offer, failed, declined; `none` when the boot reached no outcome.
    pub outcome: String,
    /// The responder whose boot file it took (a set-up's per-segment copies, `dp1s2`,
    /// are named by their role: `dp1`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub served_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub boot_image: Option<String>,
    /// Seconds from the first DHCP request to the outcome.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub took_s: Option<f64>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Cell {
    pub firmware: String,
    pub setup: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sim: Option<CellResult>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lab: Option<CellResult>,
    /// Which responder serves is a race in the lab (two proxies answering at once):
    /// only the outcomes are compared.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub racing: bool,
    /// The simulator with the proxy's offer before the DHCP server's, where which comes
    /// first is the lab's race and decides EDK2's outcome (`Setup::offer_order_race`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sim_proxy_first: Option<CellResult>,
}

impl Cell {
    /// Both modes ran and gave the same outcome and (unless racing) responder.
    /// With `sim_proxy_first`, either order of the offers may agree.
    pub fn agrees(&self) -> Option<bool> {
        let same = |s: &CellResult, l: &CellResult| {
            s.outcome == l.outcome && (self.racing || s.served_by == l.served_by)
        };
        match (&self.sim, &self.lab) {
            (Some(s), Some(l)) => {
                Some(same(s, l) || self.sim_proxy_first.as_ref().is_some_and(|p| same(p, l)))
            }
            _ => None,
        }
    }

    /// Agrees only with the simulator's proxy-first order.
    fn agrees_proxy_first(&self) -> bool {
        match (&self.sim, &self.lab) {
            (Some(s), Some(l)) => {
                self.agrees() == Some(true)
                    && !(s.outcome == l.outcome && (self.racing || s.served_by == l.served_by))
            }
            _ => false,
        }
    }
}

/// The measured matrix, as `--json` writes it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MatrixReport {
    pub mode: String,
    pub seed: u64,
    pub firmware: Vec<String>,
    /// (id, title) in column order.
    pub setups: Vec<(String, String)>,
    pub cells: Vec<Cell>,
    /// Per set-up and mode: failures of the run itself (not of a cell).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
}

impl MatrixReport {
    pub fn cell(&self, firmware: &str, setup: &str) -> Option<&Cell> {
        self.cells
            .iter()
            .find(|c| c.firmware == firmware && c.setup == setup)
    }

    /// Cells where both modes ran and disagree.
    pub fn disagreements(&self) -> Vec<&Cell> {
        self.cells
            .iter()
            .filter(|c| c.agrees() == Some(false))
            .collect()
    }
}

/// Parses `--firmware` / `--setup` lists (`all` or comma-separated names).
pub fn parse_firmware(list: &str) -> Result<Vec<Firmware>, Error> {
    if list == "all" {
        return Ok(Firmware::ALL.to_vec());
    }
    list.split(',')
        .map(|n| {
            Firmware::ALL
                .iter()
                .copied()
                .find(|f| f.as_str() == n.trim())
                .ok_or_else(|| {
                    let names: Vec<&str> = Firmware::ALL.iter().map(|f| f.as_str()).collect();
                    Error::Usage(format!(
                        "--firmware: `{n}` is not a built-in firmware (expected all or {})",
                        names.join(", ")
                    ))
                })
        })
        .collect()
}

pub fn parse_setups(list: &str) -> Result<Vec<Setup>, Error> {
    let ids: Vec<&str> = match list {
        "all" => setups::ALL.iter().map(|s| s.id).collect(),
        "ci" => setups::CI.to_vec(),
        l => l.split(',').map(str::trim).collect(),
    };
    ids.into_iter()
        .map(|id| {
            setups::find(id).ok_or_else(|| {
                let names: Vec<&str> = setups::ALL.iter().map(|s| s.id).collect();
                Error::Usage(format!(
                    "--setup: `{id}` is not a set-up (expected all, ci or {})",
                    names.join(", ")
                ))
            })
        })
        .collect()
}

/// Writes each set-up's scenario into `dir` (`<setup>.yaml`), for reading or for
/// running with `pxelab run`.
pub fn emit(spec: &MatrixSpec, dir: &Path) -> Result<Vec<PathBuf>, Error> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    spec.setups
        .iter()
        .map(|s| {
            let f = dir.join(format!("{}.yaml", s.id));
            std::fs::write(&f, setups::scenario_yaml(s, &spec.firmware, spec.seed))
                .map_err(|e| Error::io(&f, e))?;
            Ok(f)
        })
        .collect()
}

/// Runs the matrix: per set-up, its scenario in the simulator and (with `lab`) in the
/// lab, which the caller runs (`pxelab run --lab`'s machinery). `progress` hears each
/// set-up as it starts.
pub fn run(
    spec: &MatrixSpec,
    mut lab: impl FnMut(&Scenario) -> Result<Option<ScenarioResult>, Error>,
    mut progress: impl FnMut(&str),
) -> Result<MatrixReport, Error> {
    // As files: the lab's responders read their scenario from it.
    let dir = std::env::temp_dir().join(format!("pxelab-matrix-{}", std::process::id()));
    let files = emit(spec, &dir)?;
    let mut report = MatrixReport {
        mode: spec.mode.as_str().to_string(),
        seed: spec.seed,
        firmware: spec
            .firmware
            .iter()
            .map(|f| f.as_str().to_string())
            .collect(),
        setups: spec
            .setups
            .iter()
            .map(|s| (s.id.to_string(), s.title.to_string()))
            .collect(),
        cells: Vec::new(),
        problems: Vec::new(),
    };
    let outcome = (|| {
        for (setup, file) in spec.setups.iter().zip(&files) {
            let sc = pxelab_scenario::load_file(file)
                .map_err(|e| Error::Scenario(format!("set-up {}: {e}", setup.id)))?;
            let sim = spec.mode.sim().then(|| {
                progress(&format!("{} (sim)", setup.id));
                run_scenario(&sc, &RunOptions::default())
            });
            let sim_proxy_first = match spec.mode.sim() && setup.offer_order_race() {
                true => {
                    let f = dir.join(format!("{}-proxy-first.yaml", setup.id));
                    let y = setups::scenario_yaml_proxy_first(setup, &spec.firmware, spec.seed);
                    std::fs::write(&f, y).map_err(|e| Error::io(&f, e))?;
                    let sc = pxelab_scenario::load_file(&f)
                        .map_err(|e| Error::Scenario(format!("set-up {}: {e}", setup.id)))?;
                    progress(&format!("{} (sim, proxy offer first)", setup.id));
                    Some(run_scenario(&sc, &RunOptions::default()))
                }
                false => None,
            };
            let mut labs = Vec::new();
            if spec.mode.lab() {
                for (k, batch) in spec.lab_batch.split(&spec.firmware).into_iter().enumerate() {
                    let f = dir.join(format!("{}-lab{k}.yaml", setup.id));
                    std::fs::write(&f, setups::scenario_yaml(setup, &batch, spec.seed))
                        .map_err(|e| Error::io(&f, e))?;
                    let sc = pxelab_scenario::load_file(&f)
                        .map_err(|e| Error::Scenario(format!("set-up {}: {e}", setup.id)))?;
                    let names: Vec<&str> = batch.iter().map(|f| f.as_str()).collect();
                    progress(&format!("{} (lab: {})", setup.id, names.join(", ")));
                    match lab(&sc)? {
                        Some(r) => labs.push((batch, r)),
                        None => return Err(Error::Interrupted),
                    }
                }
            }
            let runs = sim.iter().map(|r| ("sim", r));
            for (mode, r) in runs.chain(labs.iter().map(|(_, r)| ("lab", r))) {
                report.problems.extend(
                    r.failures
                        .iter()
                        .map(|f| format!("{} ({mode}): {f}", setup.id)),
                );
            }
            for f in &spec.firmware {
                let lab_of = labs.iter().find(|(b, _)| b.contains(f)).map(|(_, r)| r);
                report.cells.push(Cell {
                    firmware: f.as_str().to_string(),
                    setup: setup.id.to_string(),
                    sim: sim.as_ref().map(|r| cell_result(r, *f)),
                    lab: lab_of.map(|r| cell_result(r, *f)),
                    racing: setup.racing(),
                    sim_proxy_first: sim_proxy_first.as_ref().map(|r| cell_result(r, *f)),
                });
            }
        }
        Ok(())
    })();
    let _ = std::fs::remove_dir_all(&dir);
    outcome.map(|_| report)
}

/// A firmware's boot in a set-up's result.
fn cell_result(r: &ScenarioResult, f: Firmware) -> CellResult {
    let name = setups::client_name(f);
    match r.boots.iter().find(|b| b.client == name) {
        Some(b) => CellResult {
            outcome: b.outcome.clone().unwrap_or_else(|| "none".into()),
            served_by: b.served_by.as_deref().map(role_name),
            boot_image: b.boot_image.clone(),
            took_s: b.took_s.map(|t| (t * 10.0).round() / 10.0),
        },
        None => CellResult {
            outcome: "none".into(),
            served_by: None,
            boot_image: None,
            took_s: None,
        },
    }
}

/// `dp2s3` (the set-up's copy of dp2 on segment s3) → `dp2`.
fn role_name(responder: &str) -> String {
    match responder.rfind('s') {
        Some(i)
            if i > 0
                && i + 1 < responder.len()
                && responder[i + 1..].bytes().all(|b| b.is_ascii_digit()) =>
        {
            responder[..i].to_string()
        }
        _ => responder.to_string(),
    }
}

/// The matrix as a markdown table: a row per firmware, a column per set-up; a cell is
/// `outcome (responder)` of the lab, else the simulator; with both modes a cell where
/// they disagree shows both (`lab: ...; sim: ...`) and is marked.
pub fn markdown(r: &MatrixReport) -> String {
    let mut s = String::new();
    s.push_str("| firmware |");
    for (id, _) in &r.setups {
        s.push_str(&format!(" {id} |"));
    }
    s.push_str("\n|---|");
    for _ in &r.setups {
        s.push_str("---|");
    }
    s.push('\n');
    for f in &r.firmware {
        s.push_str(&format!("| {f} |"));
        for (id, _) in &r.setups {
            let text = r.cell(f, id).map(cell_text).unwrap_or_default();
            s.push_str(&format!(" {text} |"));
        }
        s.push('\n');
    }
    s.push('\n');
    for (id, title) in &r.setups {
        s.push_str(&format!("- `{id}`: {title}\n"));
    }
    s
}

fn short(c: &CellResult) -> String {
    match &c.served_by {
        Some(by) => format!("{} ({by})", c.outcome),
        None => c.outcome.clone(),
    }
}

fn cell_text(c: &Cell) -> String {
    match (&c.sim, &c.lab, c.agrees()) {
        (Some(_), Some(l), Some(true)) if c.agrees_proxy_first() => {
            format!("{} ✓ (proxy offer first)", short(l))
        }
        (Some(_), Some(l), Some(true)) => format!("{} ✓", short(l)),
        (Some(s), Some(l), _) => format!("**lab: {}; sim: {}** ✗", short(l), short(s)),
        (None, Some(l), _) => short(l),
        (Some(s), None, _) => short(s),
        (None, None, _) => String::new(),
    }
}

/// A plain-text table for the terminal (the markdown one reads as text too), then the
/// count of agreeing cells with both modes.
pub fn text(r: &MatrixReport) -> String {
    let mut s = markdown(r);
    let both: Vec<&Cell> = r.cells.iter().filter(|c| c.agrees().is_some()).collect();
    if !both.is_empty() {
        let agree = both.iter().filter(|c| c.agrees() == Some(true)).count();
        s.push_str(&format!(
            "\nsim and lab agree in {agree} of {} cells\n",
            both.len()
        ));
    }
    for p in &r.problems {
        s.push_str(&format!("problem: {p}\n"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(setups: &str) -> MatrixSpec {
        MatrixSpec {
            firmware: Firmware::ALL.to_vec(),
            setups: parse_setups(setups).unwrap(),
            mode: Mode::Sim,
            seed: 1,
            lab_batch: LabBatch::Stack,
        }
    }

    #[test]
    fn every_setup_scenario_loads() {
        let s = spec("all");
        for setup in &s.setups {
            let y = setups::scenario_yaml(setup, &s.firmware, 1);
            pxelab_scenario::load_str(&y, Path::new("matrix.yaml"))
                .unwrap_or_else(|e| panic!("{}: {e}\n{y}", setup.id));
            let y = setups::scenario_yaml_proxy_first(setup, &s.firmware, 1);
            pxelab_scenario::load_str(&y, Path::new("matrix.yaml"))
                .unwrap_or_else(|e| panic!("{} (proxy first): {e}\n{y}", setup.id));
        }
    }

    #[test]
    fn a_cell_with_both_offer_orders_agrees_with_either() {
        let r = |o: &str, by: Option<&str>| CellResult {
            outcome: o.into(),
            served_by: by.map(Into::into),
            boot_image: None,
            took_s: None,
        };
        let mut c = Cell {
            firmware: "uefi-arm64".into(),
            setup: "66-67+proxy".into(),
            sim: Some(r("failed", None)),
            lab: Some(r("booted", Some("dp1"))),
            racing: false,
            sim_proxy_first: None,
        };
        assert_eq!(c.agrees(), Some(false));
        c.sim_proxy_first = Some(r("booted", Some("dp1")));
        assert_eq!(c.agrees(), Some(true));
        assert!(cell_text(&c).ends_with("✓ (proxy offer first)"));
        c.lab = Some(r("failed", None));
        assert_eq!(cell_text(&c), "failed ✓");
        c.lab = Some(r("booted", Some("dp2")));
        assert_eq!(c.agrees(), Some(false));
    }

    #[test]
    fn lists_are_checked() {
        assert!(parse_firmware("bios-x64,uefi-ia32").is_ok());
        assert!(parse_firmware("uefi-x65").is_err());
        assert!(parse_setups("proxy-0s,nope").is_err());
        assert_eq!(parse_setups("ci").unwrap().len(), setups::CI.len());
    }

    #[test]
    fn lab_batches_split_by_stack_or_firmware() {
        let all = Firmware::ALL.to_vec();
        assert_eq!(LabBatch::All.split(&all), vec![all.clone()]);
        let s = LabBatch::Stack.split(&all);
        assert_eq!(s[0], vec![Firmware::BiosX64, Firmware::BiosX86]);
        assert_eq!(s[1].len(), 3);
        assert_eq!(LabBatch::Stack.split(&[Firmware::UefiX64]).len(), 1);
        assert_eq!(LabBatch::Each.split(&all).len(), 5);
    }

    #[test]
    fn responder_copies_are_named_by_role() {
        assert_eq!(role_name("dp2s3"), "dp2");
        assert_eq!(role_name("dp1"), "dp1");
        assert_eq!(role_name("dps"), "dps");
    }

    #[test]
    fn sim_matrix_of_the_ci_setups_boots_every_firmware_where_the_firmware_can() {
        let r = run(&spec("ci"), |_| Ok(None), |_| {}).unwrap();
        assert!(r.problems.is_empty(), "{:?}", r.problems);
        let outcome = |f: &str, s: &str| r.cell(f, s).unwrap().sim.clone().unwrap();
        for f in Firmware::ALL {
            let f = f.as_str();
            assert_eq!(outcome(f, "proxy-0s").outcome, "booted", "{f}");
            assert_eq!(outcome(f, "proxy-0s").served_by.as_deref(), Some("dp1"));
            assert_eq!(outcome(f, "opt60-4011").outcome, "booted", "{f}");
            assert_eq!(outcome(f, "dhcp-66-67").outcome, "booted", "{f}");
        }
        // EDK2 takes a proxy offer with discovery sub-options but no menu as PXE10 and
        // aborts; iPXE asks on 4011 as for a plain proxy offer.
        assert_eq!(outcome("uefi-x64", "proxy-opt43").outcome, "failed");
        assert_eq!(outcome("bios-x64", "proxy-opt43").outcome, "booted");
        // iPXE's PXE API aborts the boot program's read on a resent block: at 2 %
        // loss BIOS clients fail, EDK2's Mtftp boots.
        let mut lossy = spec("loss-2pct");
        lossy.firmware = vec![Firmware::BiosX86, Firmware::UefiX64];
        let l = run(&lossy, |_| Ok(None), |_| {}).unwrap();
        let lossy_outcome = |f: &str| l.cell(f, "loss-2pct").unwrap().sim.clone().unwrap().outcome;
        assert_eq!(lossy_outcome("bios-x86"), "failed");
        assert_eq!(lossy_outcome("uefi-x64"), "booted");
        // EDK2 REQUESTs the proxy's offer when it came after the DHCP server's offer
        // naming a boot file (`edk2_accepts_pxe_copy`); iPXE boots from the proxy.
        let mut both = spec("66-67+proxy");
        both.firmware = vec![Firmware::BiosX64, Firmware::UefiX64];
        let b = run(&both, |_| Ok(None), |_| {}).unwrap();
        let both_outcome = |f: &str| {
            b.cell(f, "66-67+proxy")
                .unwrap()
                .sim
                .clone()
                .unwrap()
                .outcome
        };
        assert_eq!(both_outcome("uefi-x64"), "failed");
        assert_eq!(both_outcome("bios-x64"), "booted");
        // The other order, the proxy's offer first: EDK2 boots from the proxy.
        let first = b
            .cell("uefi-x64", "66-67+proxy")
            .unwrap()
            .sim_proxy_first
            .clone();
        let first = first.expect("66-67+proxy runs both orders");
        assert_eq!(
            (first.outcome.as_str(), first.served_by.as_deref()),
            ("booted", Some("dp1"))
        );
        let md = markdown(&r);
        assert!(md.starts_with("| firmware | proxy-0s | opt60-4011 |"));
    }
}
