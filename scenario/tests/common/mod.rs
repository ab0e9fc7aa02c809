//! What the scenario loader's tests share: the test data directory and a small valid
//! scenario (`BASE`) the cases change, loaded as if from `tests/data/case.yaml`.
#![allow(dead_code)]

use pxelab_scenario::{load_str, LoadError, Scenario};
use std::path::{Path, PathBuf};

pub fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// A small valid scenario the tests change. Line numbers matter.
pub const BASE: &str = "\
scenario: base
site:
  boot_images:
    - {id: B1, arch: x64}
  machines:
    - {name: M1, mac: \"52:54:00:00:00:01\"}
  collections:
    - {name: C1, members: [M1]}
  deployments:
    - {id: D1, collection: C1, boot_image: B1, purpose: required, available_to: media_pxe}
network:
  segments:
    - {name: lan, cidr: 10.0.0.0/24}
  responders:
    - {name: dp, segment: lan, address: 10.0.0.5, role: distribution_point, images: [B1]}
  clients:
    - {name: c1, segment: lan, firmware: uefi-x64, machine: M1}
events:
  - {at: 0s, boot: c1}
expect:
  - {client: c1, outcome: booted, served_by: dp}
";

pub fn load(text: &str) -> Result<Scenario, LoadError> {
    load_str(text, &data("case.yaml"))
}

/// Replace the first occurrence of `from` in BASE (which must exist).
pub fn base_with(from: &str, to: &str) -> String {
    assert!(BASE.contains(from), "{from}");
    BASE.replacen(from, to, 1)
}
