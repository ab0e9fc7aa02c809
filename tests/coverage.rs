//! The rules page, `docs/RULES.md`, against the scenario suite and against the contract.
//!
//! - Every implemented rule is the tag of at least one scenario, and the suite has at
//!   least 40 scenarios. Planned rules (`Status: planned ...`) are printed, not required;
//!   a planned rule that a scenario is tagged with fails, so the marker cannot outlive the
//!   implementation.
//! - Where the contract's page exists beside the repository
//!   (`../shared/spec/responder-rules.md`, or under `$PXELAB_SHARED_DIR`), both pages
//!   list the same rule ids. A clone alone skips that check with a note.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The one reader of rule ids, for this repository's page and the contract's.
mod rules {
    use std::collections::BTreeSet;

    #[derive(Clone, Debug, PartialEq, Eq)]
    pub enum Status {
        Implemented,
        /// What follows `planned` on the `Status:` line, e.g. `(issue 14)`.
        Planned(String),
    }

    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct Rule {
        pub id: String,
        /// 1-based line of the rule's start.
        pub line: usize,
        pub status: Status,
        /// The paths in backticks of its `Code:` paragraph (those with a `/`).
        pub code: Vec<String>,
    }

    /// The rule id at the start of `s`: `R-`, a family (an upper-case letter, then
    /// upper-case letters and digits: `SEL`, `V6`), `-`, a number.
    pub fn id_at(s: &str) -> Option<&str> {
        let b = s.as_bytes();
        if !s.starts_with("R-") || !b.get(2).is_some_and(u8::is_ascii_uppercase) {
            return None;
        }
        let mut j = 3;
        while b
            .get(j)
            .is_some_and(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        {
            j += 1;
        }
        if b.get(j) != Some(&b'-') || !b.get(j + 1).is_some_and(u8::is_ascii_digit) {
            return None;
        }
        let mut k = j + 1;
        while b.get(k).is_some_and(u8::is_ascii_digit) {
            k += 1;
        }
        Some(&s[..k])
    }

    /// Every id a text mentions, references included (`R-TFTP-1..6` gives `R-TFTP-1`).
    pub fn mentioned(text: &str) -> BTreeSet<String> {
        let mut ids = BTreeSet::new();
        let mut rest = text;
        while let Some(i) = rest.find("R-") {
            let at = &rest[i..];
            let before = text.len() - rest.len() + i;
            let word_start = before == 0 || !text.as_bytes()[before - 1].is_ascii_alphanumeric();
            match id_at(at).filter(|_| word_start) {
                Some(id) => {
                    ids.insert(id.to_string());
                    rest = &at[id.len()..];
                }
                None => rest = &at[2..],
            }
        }
        ids
    }

    /// The rule a line starts, if any: `### R-SEL-3 ...` (this repository's page) or
    /// `- R-SEL-3 ...` (the contract's), the id followed by a space or the line's end.
    fn rule_start(line: &str) -> Option<&str> {
        let rest = line
            .strip_prefix("### ")
            .or_else(|| line.strip_prefix("- "))?;
        let id = id_at(rest)?;
        match rest[id.len()..].chars().next() {
            None | Some(' ') => Some(id),
            Some(_) => None,
        }
    }

    /// The rules a page defines, in page order. A rule runs from its start to the next
    /// rule or heading. Inside it, a line `Status: planned ...` marks it planned (no
    /// other status exists: an implemented rule has no `Status:` line), and a `Code:`
    /// paragraph (to the next blank line) names its files in backticks.
    pub fn parse(text: &str) -> Result<Vec<Rule>, String> {
        let mut rules: Vec<Rule> = Vec::new();
        let mut in_rule = false;
        let mut status_seen = false;
        let mut in_code = false;
        for (n, line) in text.lines().enumerate() {
            let n = n + 1;
            if line.trim().is_empty() {
                in_code = false;
            }
            if let Some(id) = rule_start(line) {
                if let Some(first) = rules.iter().find(|r| r.id == id) {
                    return Err(format!(
                        "line {n}: {id} is defined twice (first at line {})",
                        first.line
                    ));
                }
                rules.push(Rule {
                    id: id.to_string(),
                    line: n,
                    status: Status::Implemented,
                    code: Vec::new(),
                });
                (in_rule, status_seen, in_code) = (true, false, false);
                continue;
            }
            if line.starts_with('#') {
                (in_rule, in_code) = (false, false);
                continue;
            }
            if let Some(value) = line.strip_prefix("Status:") {
                let rule = rules
                    .last_mut()
                    .filter(|_| in_rule)
                    .ok_or_else(|| format!("line {n}: a Status: line outside any rule"))?;
                if status_seen {
                    return Err(format!("line {n}: {} has two Status: lines", rule.id));
                }
                status_seen = true;
                let value = value.trim();
                let note = value
                    .strip_prefix("planned")
                    .filter(|r| r.is_empty() || r.starts_with(' '))
                    .ok_or_else(|| {
                        format!(
                            "line {n}: {}: unknown status `{value}` (the only status is \
                             `planned (issue N)`; an implemented rule has no Status: line)",
                            rule.id
                        )
                    })?;
                rule.status = Status::Planned(note.trim().to_string());
                continue;
            }
            if line.starts_with("Code:") {
                if !in_rule {
                    return Err(format!("line {n}: a Code: line outside any rule"));
                }
                in_code = true;
            }
            if in_code {
                let rule = rules.last_mut().expect("in_code only inside a rule");
                let quoted = line.split('`').skip(1).step_by(2);
                rule.code
                    .extend(quoted.filter(|q| q.contains('/')).map(str::to_string));
            }
        }
        Ok(rules)
    }

    pub fn ids(rules: &[Rule]) -> BTreeSet<String> {
        rules.iter().map(|r| r.id.clone()).collect()
    }
}

use rules::{Rule, Status};

const RULES_PAGE: &str = "docs/RULES.md";
const CONTRACT_PAGE: &str = "spec/responder-rules.md";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn rules_page() -> (String, Vec<Rule>) {
    let path = repo().join(RULES_PAGE);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let rules = rules::parse(&text).unwrap_or_else(|e| panic!("{RULES_PAGE}: {e}"));
    assert!(
        rules.len() >= 30,
        "found only {} rules in {RULES_PAGE}",
        rules.len()
    );
    (text, rules)
}

/// Where the contract's `shared/` directory would be: `$PXELAB_SHARED_DIR`, else beside
/// the repository.
fn shared_dir() -> PathBuf {
    std::env::var_os("PXELAB_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("../shared"))
}

/// The text of `path`, or `None` when it does not exist (a clone without `shared/`).
/// Any other error (permissions, not UTF-8) fails.
fn read_if_present(path: &Path) -> Option<String> {
    match std::fs::read_to_string(path) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => panic!("{}: {e}", path.display()),
    }
}

/// What the suite's tags say of the page's rules.
#[derive(Debug, Default, PartialEq)]
struct Coverage {
    /// Implemented rules no scenario is tagged with.
    uncovered: Vec<String>,
    /// Planned rules, with their note.
    planned: Vec<(String, String)>,
    /// Planned rules some scenario is tagged with, and those scenarios.
    planned_but_tagged: Vec<(String, Vec<PathBuf>)>,
    /// Tags that are rule ids the page does not define, and where.
    unknown_ids: Vec<(String, Vec<PathBuf>)>,
}

impl Coverage {
    fn of(rules: &[Rule], tags: &BTreeMap<String, Vec<PathBuf>>) -> Self {
        let mut c = Coverage::default();
        for r in rules {
            match (&r.status, tags.get(&r.id)) {
                (Status::Implemented, None) => c.uncovered.push(r.id.clone()),
                (Status::Implemented, Some(_)) => {}
                (Status::Planned(note), None) => c.planned.push((r.id.clone(), note.clone())),
                (Status::Planned(_), Some(files)) => {
                    c.planned_but_tagged.push((r.id.clone(), files.clone()))
                }
            }
        }
        let defined = rules::ids(rules);
        for (tag, files) in tags {
            if rules::id_at(tag) == Some(tag.as_str()) && !defined.contains(tag) {
                c.unknown_ids.push((tag.clone(), files.clone()));
            }
        }
        c
    }

    fn errors(&self) -> Vec<String> {
        let mut errors = Vec::new();
        if !self.uncovered.is_empty() {
            errors.push(format!(
                "rules no scenario is tagged with: {:?}",
                self.uncovered
            ));
        }
        for (id, files) in &self.planned_but_tagged {
            errors.push(format!(
                "{id} is marked planned in {RULES_PAGE} but scenarios are tagged with it \
                 ({files:?}): delete its Status: line and give its Code:"
            ));
        }
        for (id, files) in &self.unknown_ids {
            errors.push(format!(
                "scenarios are tagged {id}, which is not a rule of {RULES_PAGE}: {files:?}"
            ));
        }
        errors
    }
}

/// `Err` naming the ids each page lacks, when the two sets differ.
fn compare_ids(page: &BTreeSet<String>, contract: &BTreeSet<String>) -> Result<(), String> {
    let not_in_page: Vec<&String> = contract.difference(page).collect();
    let not_in_contract: Vec<&String> = page.difference(contract).collect();
    if not_in_page.is_empty() && not_in_contract.is_empty() {
        return Ok(());
    }
    Err(format!(
        "the rule ids differ: in the contract but not in {RULES_PAGE}: {not_in_page:?}; \
         in {RULES_PAGE} but not in the contract: {not_in_contract:?}"
    ))
}

#[test]
fn every_implemented_rule_is_covered_by_a_scenario() {
    let (_, rules) = rules_page();
    let files = pxelab_scenario::discover(&[repo().join("scenarios")]).unwrap();
    assert!(files.len() >= 40, "only {} scenarios", files.len());
    let mut tags: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new();
    for f in &files {
        let s = pxelab_scenario::load_file(f).unwrap_or_else(|e| panic!("{e}"));
        let rel = f.strip_prefix(repo()).unwrap_or(f).to_path_buf();
        for t in s.tags {
            tags.entry(t).or_default().push(rel.clone());
        }
    }
    let coverage = Coverage::of(&rules, &tags);
    for (id, note) in &coverage.planned {
        println!("planned, no scenario required yet: {id} {note}");
    }
    let errors = coverage.errors();
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}

#[test]
fn rules_page_is_consistent() {
    let (text, rules) = rules_page();
    let defined = rules::ids(&rules);
    let undefined: Vec<String> = rules::mentioned(&text)
        .into_iter()
        .filter(|id| !defined.contains(id))
        .collect();
    assert!(
        undefined.is_empty(),
        "{RULES_PAGE} mentions ids it does not define: {undefined:?}"
    );
    let mut errors = Vec::new();
    for r in &rules {
        if r.status == Status::Implemented && r.code.is_empty() {
            errors.push(format!(
                "{}: implemented, but no Code: line names a file",
                r.id
            ));
        }
        for path in &r.code {
            if !repo().join(path).exists() {
                errors.push(format!(
                    "{}: Code: names `{path}`, which does not exist",
                    r.id
                ));
            }
        }
    }
    assert!(errors.is_empty(), "{RULES_PAGE}:\n{}", errors.join("\n"));
}

#[test]
fn rules_page_has_the_ids_of_the_contract() {
    let path = shared_dir().join(CONTRACT_PAGE);
    let Some(text) = read_if_present(&path) else {
        println!(
            "note: {} is not here (a clone without shared/): the ids of {RULES_PAGE} are \
             not compared with the contract",
            path.display()
        );
        return;
    };
    let contract = rules::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let (_, page) = rules_page();
    if let Err(e) = compare_ids(&rules::ids(&page), &rules::ids(&contract)) {
        panic!("{e} ({})", path.display());
    }
}

mod parser {
    use super::*;

    const PAGE: &str = "\
# Rules

- R-NOT-1 a list item here is a rule too (the contract's style)

## Family (R-FAM)

### R-FAM-1 Implemented

Text that cites R-FAM-2 and R-V6-1..5.

Code: `engine/src/a.rs` (`item`), `engine/src/b.rs`
(wrapped), `daemon/src/c.rs`

Not code: `engine/src/d.rs`

### R-FAM-2 Planned
Status: planned (issue 14)

### R-V6-1 Planned without a note

Status: planned
Code: `engine/src/v6.rs`
";

    fn id_set(ids: &[&str]) -> BTreeSet<String> {
        ids.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn reads_rules_status_and_code() {
        let rules = rules::parse(PAGE).unwrap();
        let got: Vec<(&str, &Status, usize)> = rules
            .iter()
            .map(|r| (r.id.as_str(), &r.status, r.code.len()))
            .collect();
        assert_eq!(
            got,
            [
                ("R-NOT-1", &Status::Implemented, 0),
                ("R-FAM-1", &Status::Implemented, 3),
                ("R-FAM-2", &Status::Planned("(issue 14)".into()), 0),
                ("R-V6-1", &Status::Planned(String::new()), 1),
            ]
        );
        assert_eq!(
            rules[1].code,
            ["engine/src/a.rs", "engine/src/b.rs", "daemon/src/c.rs"]
        );
        assert_eq!(rules[1].line, 7);
    }

    #[test]
    fn bad_markers_are_errors() {
        let cases = [
            (
                "### R-A-1 x\nStatus: plannned (issue 1)\n",
                "unknown status",
            ),
            ("### R-A-1 x\nStatus: implemented\n", "unknown status"),
            (
                "### R-A-1 x\nStatus: planned\nStatus: planned\n",
                "two Status",
            ),
            (
                "### R-A-1 x\n## Next\nStatus: planned\n",
                "outside any rule",
            ),
            ("Status: planned\n", "outside any rule"),
            ("### R-A-1 x\n### R-A-1 y\n", "defined twice"),
        ];
        for (text, want) in cases {
            let err = rules::parse(text).unwrap_err();
            assert!(err.contains(want), "{text:?}: {err}");
        }
    }

    #[test]
    fn ids_have_families_with_digits_and_references_count_as_mentions() {
        assert_eq!(rules::id_at("R-V6-12 x"), Some("R-V6-12"));
        assert_eq!(rules::id_at("R-SEL-3."), Some("R-SEL-3"));
        assert_eq!(rules::id_at("R-SEL, R-ANS-4"), None);
        assert_eq!(rules::id_at("R-6V-1"), None);
        assert_eq!(rules::id_at("R-sel-1"), None);
        // Mid-line ids are references, not rules: the contract's continuation lines.
        let contract = "- R-A-1 one\n  (R-ID, R-EX,\n  R-SEL, R-ANS-4..7) R-B-2\n- R-C-3x no\n";
        assert_eq!(
            rules::ids(&rules::parse(contract).unwrap()),
            id_set(&["R-A-1"])
        );
        assert_eq!(
            rules::mentioned(contract),
            id_set(&["R-A-1", "R-ANS-4", "R-B-2", "R-C-3"])
        );
        assert_eq!(rules::mentioned("XR-A-1 R-A-2"), id_set(&["R-A-2"]));
    }

    #[test]
    fn a_planned_rule_that_a_scenario_tags_fails() {
        let rules = rules::parse(PAGE).unwrap();
        let mut tags: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new();
        for (tag, file) in [
            ("R-NOT-1", "a.yaml"),
            ("R-FAM-1", "a.yaml"),
            ("R-FAM-2", "b.yaml"),
            ("R-ZZ-9", "c.yaml"),
            ("peers", "c.yaml"),
        ] {
            tags.entry(tag.into()).or_default().push(file.into());
        }
        let c = Coverage::of(&rules, &tags);
        assert_eq!(
            c,
            Coverage {
                uncovered: vec![],
                planned: vec![("R-V6-1".into(), String::new())],
                planned_but_tagged: vec![("R-FAM-2".into(), vec!["b.yaml".into()])],
                unknown_ids: vec![("R-ZZ-9".into(), vec!["c.yaml".into()])],
            }
        );
        assert_eq!(c.errors().len(), 2);

        tags.remove("R-FAM-1");
        tags.remove("R-FAM-2");
        tags.remove("R-ZZ-9");
        let c = Coverage::of(&rules, &tags);
        assert_eq!(c.uncovered, ["R-FAM-1"]);
        assert_eq!(c.planned.len(), 2);
        assert_eq!(c.errors().len(), 1);
    }

    #[test]
    fn id_sets_that_differ_name_both_sides() {
        let page = id_set(&["R-A-1", "R-A-2", "R-B-1"]);
        assert_eq!(compare_ids(&page, &page.clone()), Ok(()));
        let contract = id_set(&["R-A-1", "R-A-2", "R-V6-1"]);
        let err = compare_ids(&page, &contract).unwrap_err();
        assert!(
            err.contains(r#"not in docs/RULES.md: ["R-V6-1"]"#)
                && err.contains(r#"not in the contract: ["R-B-1"]"#),
            "{err}"
        );
    }

    #[test]
    fn a_missing_contract_page_is_none_not_an_error() {
        let dir = std::env::temp_dir().join(format!("pxelab-coverage-{}", std::process::id()));
        assert_eq!(read_if_present(&dir.join("no/such/page.md")), None);
        std::fs::create_dir_all(&dir).unwrap();
        let page = dir.join("page.md");
        std::fs::write(&page, "- R-A-1 x\n").unwrap();
        assert_eq!(read_if_present(&page).as_deref(), Some("- R-A-1 x\n"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
