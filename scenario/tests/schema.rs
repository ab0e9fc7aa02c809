//! The JSON Schema (`pxelab schema`) against the loader: every scenario of the
//! repository is valid under it, and files the loader refuses for their shape are
//! refused by the schema too.

use pxelab_scenario::{discover, load_str, schema};
use std::path::{Path, PathBuf};

fn validator() -> jsonschema::Validator {
    jsonschema::draft202012::new(&schema::json_schema()).expect("the schema is a valid schema")
}

/// A YAML file as the JSON value an editor's YAML language server validates.
fn as_json(text: &str) -> serde_json::Value {
    // The 10,000-client storm has ~300,000 nodes, over serde-saphyr's default budget of
    // 250,000 (a guard against hostile input; these are the repository's own files).
    let options = serde_saphyr::options! {
        budget: serde_saphyr::budget! { max_nodes: 10_000_000 },
    };
    serde_saphyr::from_str_with_options(text, options).expect("YAML")
}

fn errors(v: &jsonschema::Validator, text: &str) -> Vec<String> {
    v.iter_errors(&as_json(text))
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

#[test]
fn every_scenario_of_the_repository_is_valid() {
    let v = validator();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let files: Vec<PathBuf> = discover(&[root.join("scenarios"), root.join("scenario/tests/data")])
        .unwrap()
        .into_iter()
        // The loader's own test data includes files that are wrong on purpose.
        .filter(|f| load_str(&std::fs::read_to_string(f).unwrap(), f).is_ok())
        .collect();
    assert!(files.len() >= 40, "only {} scenarios found", files.len());
    for f in files {
        let e = errors(&v, &std::fs::read_to_string(&f).unwrap());
        assert!(e.is_empty(), "{}: {e:#?}", f.display());
    }
}

/// Format v1.1 (IPv6 and HTTP boot): the file with every key of the format page's
/// section, which the simulator cannot play yet and so is not among `scenarios/`.
#[test]
fn the_v11_keys_are_valid() {
    let v = validator();
    let f = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/v11.yaml");
    let text = std::fs::read_to_string(&f).unwrap();
    assert!(load_str(&text, &f).is_ok());
    let e = errors(&v, &text);
    assert!(e.is_empty(), "{e:#?}");
    // A segment needs `cidr` or `cidr6`, a responder `address` or `address6`.
    for (from, to) in [
        (
            "{name: v6only, cidr6: \"2001:db8:30::/64\"}",
            "{name: v6only}",
        ),
        (
            "{name: peer6, segment: v6only, address6: \"2001:db8:30::7\",",
            "{name: peer6, segment: v6only,",
        ),
        ("netboot: http6}", "netboot: http5}"),
    ] {
        let bad = text.replacen(from, to, 1);
        assert_ne!(bad, text, "{from}");
        assert!(!errors(&v, &bad).is_empty(), "the schema took {to}");
    }
}

const GOOD: &str = r#"
scenario: a minimal one
site:
  code: PS1
  boot_images:
    - {id: PS100002, arch: x64, size: 64MiB}
network:
  segments:
    - {name: hq, cidr: 10.10.0.0/24}
  responders:
    - {name: dp1, segment: hq, address: 10.10.0.5, role: distribution_point, images: [PS100002]}
  clients:
    - {name: c1, segment: hq, firmware: uefi-x64, mac: "52:54:00:00:00:01"}
events:
  - {at: 0s, boot: c1}
expect:
  - {client: c1, outcome: no_offer}
"#;

#[test]
fn files_the_loader_refuses_for_their_shape_the_schema_refuses_too() {
    let v = validator();
    assert!(errors(&v, GOOD).is_empty(), "{:?}", errors(&v, GOOD));
    assert!(load_str(GOOD, Path::new("good.yaml")).is_ok());
    for (what, from, to) in [
        (
            "an unknown key",
            "firmware: uefi-x64,",
            "firmwar: uefi-x64,",
        ),
        ("an unknown arch", "arch: x64", "arch: x65"),
        ("a duration without a unit", "at: 0s", "at: 0"),
        ("a missing required key", "role: distribution_point, ", ""),
        ("a decimal size unit", "size: 64MiB", "size: 64MB"),
        ("a bad MAC", "\"52:54:00:00:00:01\"", "\"52:54:00:00:01\""),
        (
            "an unknown outcome",
            "outcome: no_offer",
            "outcome: booting",
        ),
        (
            "an unknown top-level key",
            "scenario: a minimal one",
            "scenari: a minimal one",
        ),
    ] {
        let bad = GOOD.replacen(from, to, 1);
        assert_ne!(bad, GOOD, "{what}: the replacement did not apply");
        assert!(
            load_str(&bad, Path::new("bad.yaml")).is_err(),
            "{what}: the loader took it"
        );
        assert!(!errors(&v, &bad).is_empty(), "{what}: the schema took it");
    }
}
