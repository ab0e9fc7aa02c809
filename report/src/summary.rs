//! The suite's tallies: passed and failed per mode (sim, lab) and per tag and mode.

use pxelab_sim::ScenarioResult;
use std::collections::BTreeMap;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    pub passed: usize,
    pub failed: usize,
}

impl Tally {
    fn add(&mut self, passed: bool) {
        if passed {
            self.passed += 1;
        } else {
            self.failed += 1;
        }
    }
}

/// Untagged scenarios are counted under this name.
pub const UNTAGGED: &str = "(untagged)";

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// The modes present, `sim` before `lab`, then others by name.
    pub modes: Vec<String>,
    pub all: BTreeMap<String, Tally>,
    /// Tag (as written, case kept from its first use) to mode to tally.
    pub tags: BTreeMap<String, BTreeMap<String, Tally>>,
}

pub fn summarise(results: &[ScenarioResult]) -> Summary {
    let mut s = Summary::default();
    for r in results {
        s.all.entry(r.mode.clone()).or_default().add(r.passed);
        let untagged = [UNTAGGED.to_string()];
        let tags = if r.tags.is_empty() {
            &untagged[..]
        } else {
            &r.tags[..]
        };
        for t in tags {
            // Tags match case-insensitively (`--tag`), so count them that way.
            let key = s
                .tags
                .keys()
                .find(|k| k.eq_ignore_ascii_case(t))
                .cloned()
                .unwrap_or_else(|| t.clone());
            let per_mode = s.tags.entry(key).or_default();
            per_mode.entry(r.mode.clone()).or_default().add(r.passed);
        }
    }
    let rank = |m: &str| match m {
        "sim" => 0,
        "lab" => 1,
        _ => 2,
    };
    s.modes = s.all.keys().cloned().collect();
    s.modes.sort_by(|a, b| rank(a).cmp(&rank(b)).then(a.cmp(b)));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(mode: &str, tags: &[&str], passed: bool) -> ScenarioResult {
        let sc = pxelab_scenario::load_str(
            "scenario: t\nnetwork:\n  segments:\n    - {name: hq, cidr: 10.0.0.0/24}\n",
            std::path::Path::new("t.yaml"),
        )
        .expect("loads");
        let mut r = ScenarioResult::new(&sc, mode, 1);
        r.tags = tags.iter().map(|t| t.to_string()).collect();
        r.passed = passed;
        r
    }

    #[test]
    fn tallies_per_mode_and_tag() {
        let s = summarise(&[
            result("lab", &["R-SEL-1"], false),
            result("sim", &["R-SEL-1", "relay"], true),
            result("sim", &["r-sel-1"], false),
            result("sim", &[], true),
        ]);
        assert_eq!(s.modes, ["sim", "lab"]);
        assert_eq!(
            s.all["sim"],
            Tally {
                passed: 2,
                failed: 1
            }
        );
        assert_eq!(
            s.tags["R-SEL-1"]["sim"],
            Tally {
                passed: 1,
                failed: 1
            }
        );
        assert_eq!(
            s.tags["R-SEL-1"]["lab"],
            Tally {
                passed: 0,
                failed: 1
            }
        );
        assert_eq!(
            s.tags["relay"]["sim"],
            Tally {
                passed: 1,
                failed: 0
            }
        );
        assert_eq!(
            s.tags[UNTAGGED]["sim"],
            Tally {
                passed: 1,
                failed: 0
            }
        );
    }
}
