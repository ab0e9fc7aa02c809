//! Every rule id of the responder rules is exercised by at least one scenario (by its
//! tags), and the suite has at least 40 scenarios.

use std::collections::BTreeSet;
use std::path::PathBuf;

fn rule_ids(text: &str) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    let b = text.as_bytes();
    let mut i = 0;
    while i + 2 < b.len() {
        if b[i] == b'R' && b[i + 1] == b'-' {
            let mut j = i + 2;
            while j < b.len() && b[j].is_ascii_uppercase() {
                j += 1;
            }
            if j > i + 2 && j + 1 < b.len() && b[j] == b'-' && b[j + 1].is_ascii_digit() {
                let mut k = j + 1;
                while k < b.len() && b[k].is_ascii_digit() {
                    k += 1;
                }
                ids.insert(text[i..k].to_string());
                i = k;
                continue;
            }
        }
        i += 1;
    }
    ids
}

#[test]
fn every_rule_is_covered_by_a_scenario() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let spec = root.join("../shared/spec/responder-rules.md");
    let text = std::fs::read_to_string(&spec).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (shared/ must sit beside the repository)",
            spec.display()
        )
    });
    let ids = rule_ids(&text);
    assert!(
        ids.len() >= 30,
        "found only {} rule ids in {}",
        ids.len(),
        spec.display()
    );
    let files = pxelab_scenario::discover(&[root.join("scenarios")]).unwrap();
    assert!(files.len() >= 40, "only {} scenarios", files.len());
    let mut tagged = BTreeSet::new();
    for f in &files {
        let s = pxelab_scenario::load_file(f).unwrap_or_else(|e| panic!("{e}"));
        tagged.extend(s.tags.iter().cloned());
    }
    let missing: Vec<&String> = ids.iter().filter(|id| !tagged.contains(*id)).collect();
    assert!(
        missing.is_empty(),
        "rules no scenario is tagged with: {missing:?}"
    );
}
