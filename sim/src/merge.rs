//! `pxelab merge`: the JSON results of a suite's shards (`pxelab run --shard I/N`)
//! merged into the results of one run.
//!
//! Each results file says which suite it is from ([`Suite`]: the mode, the seed and tags
//! given, every scenario file of the whole suite in run order, a digest of their
//! contents, and the shard). Shards merge when they are from the same suite, split the
//! same way, and no scenario is in two of them; the merged results are in the suite's
//! order, as an unsharded run gives them. A suite scenario in none of the files is an
//! error unless the merge is partial.

use crate::result::ScenarioResult;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Which slice of a suite a run ran: `index` of `count`, from 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl Shard {
    /// Whether the `k`-th scenario of the suite (from 0) is in this slice.
    pub fn holds(&self, k: usize) -> bool {
        k % self.count == self.index - 1
    }
}

/// The suite a results file is from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suite {
    /// `sim` or `lab`.
    pub mode: String,
    /// `--seed`, when given.
    pub seed: Option<u64>,
    /// `--tag`s given.
    pub tags: Vec<String>,
    /// Every scenario file of the whole suite (all shards), in run order.
    pub files: Vec<String>,
    /// CRC-32 of the files' names and contents, to tell runners on different commits.
    pub digest: String,
    /// The slice this run ran; none for the whole suite.
    pub shard: Option<Shard>,
}

impl Suite {
    /// The suite of scenario `files` (the whole suite, before sharding).
    pub fn new(
        mode: &str,
        seed: Option<u64>,
        tags: &[String],
        files: &[&Path],
        shard: Option<Shard>,
    ) -> Suite {
        let mut crc = crc32fast::Hasher::new();
        for f in files {
            crc.update(f.display().to_string().as_bytes());
            crc.update(&[0]);
            match std::fs::read(f) {
                Ok(bytes) => crc.update(&bytes),
                Err(e) => crc.update(e.to_string().as_bytes()),
            }
            crc.update(&[0]);
        }
        Suite {
            mode: mode.to_string(),
            seed,
            tags: tags.to_vec(),
            files: files.iter().map(|f| f.display().to_string()).collect(),
            digest: format!("crc32:{:08x}", crc.finalize()),
            shard,
        }
    }

    /// How this suite differs from `other`, if it does (the shard aside).
    fn difference(&self, other: &Suite, a: &str, b: &str) -> Option<String> {
        if self.mode != other.mode {
            return Some(format!(
                "{a} ran in the {} mode, {b} in the {} mode",
                self.mode, other.mode
            ));
        }
        if self.seed != other.seed {
            let s = |v: Option<u64>| {
                v.map_or("the scenarios' own seeds".into(), |v| format!("--seed {v}"))
            };
            return Some(format!(
                "{a} ran with {}, {b} with {}",
                s(self.seed),
                s(other.seed)
            ));
        }
        if self.tags != other.tags {
            let t = |v: &[String]| {
                if v.is_empty() {
                    "no --tag".to_string()
                } else {
                    v.iter()
                        .map(|t| format!("--tag {t}"))
                        .collect::<Vec<_>>()
                        .join(" ")
                }
            };
            return Some(format!(
                "{a} ran with {}, {b} with {}",
                t(&self.tags),
                t(&other.tags)
            ));
        }
        if let Some(f) = self.files.iter().find(|f| !other.files.contains(f)) {
            return Some(format!("{f} is in {a}'s suite, not in {b}'s"));
        }
        if let Some(f) = other.files.iter().find(|f| !self.files.contains(f)) {
            return Some(format!("{f} is in {b}'s suite, not in {a}'s"));
        }
        if self.files != other.files {
            return Some(format!(
                "{a} and {b} list the suite's scenarios in different orders"
            ));
        }
        if self.digest != other.digest {
            return Some(format!(
                "the same scenario files with different contents in {a} and {b} (runners on different commits?)"
            ));
        }
        None
    }
}

/// Why results do not merge.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error("nothing to merge: give the results files of the shards")]
    NoInput,
    #[error("{file}: {error}")]
    Read { file: String, error: String },
    #[error(
        "{file}: not the JSON results of `pxelab run --format json` or `--json FILE` ({error})"
    )]
    NotResults { file: String, error: String },
    #[error(
        "{file}: the results do not say which suite they are from (no `suite`; written by a \
         pxelab without `merge`?): run the shard again"
    )]
    NoSuite { file: String },
    #[error("{a} and {b} are from different suites: {difference}")]
    DifferentSuites {
        a: String,
        b: String,
        difference: String,
    },
    #[error(
        "{a} is shard {sa} and {b} is shard {sb}: the shards of one run split the suite into \
         the same number of slices"
    )]
    DifferentSplits {
        a: String,
        sa: String,
        b: String,
        sb: String,
    },
    #[error("{a} and {b} are both shard {shard}")]
    SameShard { a: String, b: String, shard: String },
    #[error("scenario {scenario} is in both {a} and {b}")]
    Duplicate {
        scenario: String,
        a: String,
        b: String,
    },
    #[error("{file} holds scenario {scenario}, which is not in its suite")]
    NotInSuite { file: String, scenario: String },
    #[error(
        "incomplete: {} of the suite's {total} scenarios are in none of the files \
         (missing shard{}: {}): {}; give every shard's results, or --partial to merge what \
         is there", missing.len(), if shards.len() == 1 { "" } else { "s" },
         shards.join(", "), list(missing)
    )]
    Missing {
        total: usize,
        missing: Vec<String>,
        shards: Vec<String>,
    },
}

fn list(v: &[String]) -> String {
    if v.len() <= 5 {
        v.join(", ")
    } else {
        format!("{}, and {} more", v[..5].join(", "), v.len() - 5)
    }
}

/// One results file.
#[derive(Debug)]
pub struct Part {
    /// The file's name, for messages.
    pub name: String,
    pub suite: Suite,
    pub results: Vec<ScenarioResult>,
}

#[derive(Deserialize)]
struct Doc {
    suite: Option<Suite>,
    scenarios: Vec<ScenarioResult>,
}

impl Part {
    /// Parses one results file's text.
    pub fn parse(name: &str, text: &str) -> Result<Part, MergeError> {
        let doc: Doc = serde_json::from_str(text).map_err(|e| MergeError::NotResults {
            file: name.to_string(),
            error: e.to_string(),
        })?;
        let suite = doc.suite.ok_or_else(|| MergeError::NoSuite {
            file: name.to_string(),
        })?;
        Ok(Part {
            name: name.to_string(),
            suite,
            results: doc.scenarios,
        })
    }

    pub fn read(path: &Path) -> Result<Part, MergeError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| MergeError::Read {
            file: name.clone(),
            error: e.to_string(),
        })?;
        Part::parse(&name, &text)
    }
}

/// The merged results: the whole suite (no shard) and its results in run order.
#[derive(Debug)]
pub struct Merged {
    pub suite: Suite,
    pub results: Vec<ScenarioResult>,
}

/// Merges the results files at `paths`.
pub fn merge_files(paths: &[PathBuf], partial: bool) -> Result<Merged, MergeError> {
    let parts = paths
        .iter()
        .map(|p| Part::read(p))
        .collect::<Result<Vec<_>, _>>()?;
    merge(parts, partial)
}

/// Merges shards: one suite, one split, no scenario twice, and (unless `partial`)
/// every scenario of the suite.
pub fn merge(parts: Vec<Part>, partial: bool) -> Result<Merged, MergeError> {
    let first = parts.first().ok_or(MergeError::NoInput)?;
    let whole = Shard { index: 1, count: 1 };
    let shard_of = |p: &Part| p.suite.shard.unwrap_or(whole);
    for p in &parts[1..] {
        if let Some(d) = first.suite.difference(&p.suite, &first.name, &p.name) {
            return Err(MergeError::DifferentSuites {
                a: first.name.clone(),
                b: p.name.clone(),
                difference: d,
            });
        }
        let (sa, sb) = (shard_of(first), shard_of(p));
        if sa.count != sb.count {
            return Err(MergeError::DifferentSplits {
                a: first.name.clone(),
                sa: sa.to_string(),
                b: p.name.clone(),
                sb: sb.to_string(),
            });
        }
    }
    let mut seen_shard: HashMap<usize, &str> = HashMap::new();
    for p in &parts {
        let s = shard_of(p);
        if let Some(a) = seen_shard.insert(s.index, &p.name) {
            return Err(MergeError::SameShard {
                a: a.to_string(),
                b: p.name.clone(),
                shard: s.to_string(),
            });
        }
    }
    let suite = Suite {
        shard: None,
        ..first.suite.clone()
    };
    let order: HashMap<&str, usize> = suite
        .files
        .iter()
        .enumerate()
        .map(|(i, f)| (f.as_str(), i))
        .collect();
    let mut from: HashMap<String, String> = HashMap::new();
    let mut results: Vec<(usize, ScenarioResult)> = Vec::new();
    for p in parts.iter() {
        for r in &p.results {
            let Some(&k) = order.get(r.file.as_str()) else {
                return Err(MergeError::NotInSuite {
                    file: p.name.clone(),
                    scenario: r.file.clone(),
                });
            };
            if let Some(a) = from.insert(r.file.clone(), p.name.clone()) {
                return Err(MergeError::Duplicate {
                    scenario: r.file.clone(),
                    a,
                    b: p.name.clone(),
                });
            }
            results.push((k, r.clone()));
        }
    }
    results.sort_by_key(|(k, _)| *k);
    let missing: Vec<(usize, &String)> = suite
        .files
        .iter()
        .enumerate()
        .filter(|(_, f)| !from.contains_key(*f))
        .collect();
    if !missing.is_empty() && !partial {
        let count = shard_of(first).count;
        let mut shards: Vec<String> = (1..=count)
            .map(|index| Shard { index, count })
            .filter(|s| !seen_shard.contains_key(&s.index))
            .filter(|s| missing.iter().any(|(k, _)| s.holds(*k)))
            .map(|s| s.to_string())
            .collect();
        if shards.is_empty() {
            // Every shard is given, yet scenarios are missing: a shard stopped early.
            shards = (1..=count)
                .map(|index| Shard { index, count })
                .filter(|s| missing.iter().any(|(k, _)| s.holds(*k)))
                .map(|s| format!("{s} (given, but without them)"))
                .collect();
        }
        return Err(MergeError::Missing {
            total: suite.files.len(),
            missing: missing.iter().map(|(_, f)| (*f).clone()).collect(),
            shards,
        });
    }
    Ok(Merged {
        suite,
        results: results.into_iter().map(|(_, r)| r).collect(),
    })
}

/// The JSON results: which suite they are from (what `pxelab merge` checks), when
/// known, and each scenario's result.
pub fn results_json(results: &[ScenarioResult], suite: Option<&Suite>) -> String {
    let v = match suite {
        Some(suite) => serde_json::json!({ "suite": suite, "scenarios": results }),
        None => serde_json::json!({ "scenarios": results }),
    };
    serde_json::to_string_pretty(&v).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn suite(files: &[&str], shard: Option<(usize, usize)>) -> Suite {
        Suite {
            mode: "sim".into(),
            seed: None,
            tags: Vec::new(),
            files: files.iter().map(|s| s.to_string()).collect(),
            digest: "crc32:00000000".into(),
            shard: shard.map(|(index, count)| Shard { index, count }),
        }
    }

    fn result(file: &str, passed: bool) -> ScenarioResult {
        let sc: pxelab_scenario::Scenario = pxelab_scenario::load_str(
            "scenario: t\nnetwork:\n  segments:\n    - {name: hq, cidr: 10.0.0.0/24}\n",
            Path::new(file),
        )
        .unwrap();
        let mut r = ScenarioResult::new(&sc, "sim", 1);
        r.passed = passed;
        r
    }

    fn part(name: &str, s: Suite, files: &[&str]) -> Part {
        Part {
            name: name.into(),
            suite: s,
            results: files.iter().map(|f| result(f, true)).collect(),
        }
    }

    const ALL: [&str; 3] = ["a.yaml", "b.yaml", "c.yaml"];

    #[test]
    fn shards_merge_in_suite_order() {
        let m = merge(
            vec![
                part("2.json", suite(&ALL, Some((2, 2))), &["b.yaml"]),
                part("1.json", suite(&ALL, Some((1, 2))), &["a.yaml", "c.yaml"]),
            ],
            false,
        )
        .unwrap();
        let files: Vec<&str> = m.results.iter().map(|r| r.file.as_str()).collect();
        assert_eq!(files, ALL);
        assert_eq!(m.suite.shard, None);
    }

    /// Why shard 1/2 (a.yaml and c.yaml) does not merge with `second`.
    fn refusal(second: Part) -> String {
        let first = part("1.json", suite(&ALL, Some((1, 2))), &["a.yaml", "c.yaml"]);
        merge(vec![first, second], false).unwrap_err().to_string()
    }

    #[test]
    fn refusals_name_the_files_and_the_scenario() {
        let other = suite(&["a.yaml", "d.yaml"], Some((2, 2)));
        let e = refusal(part("x.json", other, &["d.yaml"]));
        assert!(
            e.contains("1.json and x.json are from different suites"),
            "{e}"
        );
        assert!(
            e.contains("b.yaml is in 1.json's suite, not in x.json's"),
            "{e}"
        );

        let e = refusal(part(
            "2.json",
            suite(&ALL, Some((2, 2))),
            &["b.yaml", "c.yaml"],
        ));
        assert_eq!(e, "scenario c.yaml is in both 1.json and 2.json");

        let e = refusal(part("1b.json", suite(&ALL, Some((1, 2))), &[]));
        assert_eq!(e, "1.json and 1b.json are both shard 1/2");

        let e = refusal(part("3.json", suite(&ALL, Some((2, 3))), &["b.yaml"]));
        assert!(
            e.starts_with("1.json is shard 1/2 and 3.json is shard 2/3"),
            "{e}"
        );

        type Change = fn(&mut Suite);
        let changes: [(Change, &str); 3] = [
            (
                |s| s.mode = "lab".into(),
                "1.json ran in the sim mode, 2.json in the lab mode",
            ),
            (
                |s| s.seed = Some(7),
                "1.json ran with the scenarios' own seeds, 2.json with --seed 7",
            ),
            (
                |s| s.digest = "crc32:00000001".into(),
                "the same scenario files with different contents in 1.json and 2.json",
            ),
        ];
        for (change, want) in changes {
            let mut other = suite(&ALL, Some((2, 2)));
            change(&mut other);
            let e = refusal(part("2.json", other, &["b.yaml"]));
            assert!(e.contains(want), "{e}");
        }

        let e = refusal(part("2.json", suite(&ALL, Some((2, 2))), &["z.yaml"]));
        assert_eq!(e, "2.json holds scenario z.yaml, which is not in its suite");
    }

    #[test]
    fn a_missing_shard_is_named_unless_partial() {
        let parts = || {
            vec![part(
                "1.json",
                suite(&ALL, Some((1, 2))),
                &["a.yaml", "c.yaml"],
            )]
        };
        let e = merge(parts(), false).unwrap_err().to_string();
        assert!(
            e.starts_with("incomplete: 1 of the suite's 3 scenarios are in none of the files (missing shard: 2/2): b.yaml"),
            "{e}"
        );
        let m = merge(parts(), true).unwrap();
        assert_eq!(m.results.len(), 2);
    }

    #[test]
    fn results_round_trip_through_json() {
        let s = suite(&ALL, Some((1, 2)));
        let text = results_json(&[result("a.yaml", false)], Some(&s));
        let p = Part::parse("x.json", &text).unwrap();
        assert_eq!(p.suite, s);
        assert_eq!(p.results[0].file, "a.yaml");
        assert!(!p.results[0].passed);
        let e = Part::parse("old.json", r#"{"scenarios": []}"#)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("old.json: the results do not say which suite"),
            "{e}"
        );
        let e = Part::parse("bad.json", "[1]").unwrap_err().to_string();
        assert!(e.starts_with("bad.json: not the JSON results"), "{e}");
    }
}
