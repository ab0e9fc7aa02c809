//! `firmware: {family, profile}` (docs/PROFILES.md): a client may name a firmware
//! profile file, relative to the scenario file; an error in the profile names the
//! profile's file, line and key and where the scenario named it.

use pxelab_scenario::*;
use std::path::{Path, PathBuf};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn scenario(firmware: &str) -> String {
    format!(
        "\
scenario: profile
site:
  boot_images:
    - {{id: B1, arch: x64}}
network:
  segments:
    - {{name: lan, cidr: 10.0.0.0/24}}
  responders:
    - {{name: dp, segment: lan, address: 10.0.0.5, role: distribution_point, images: [B1]}}
  clients:
    - {{name: c1, segment: lan, firmware: {firmware}, mac: \"52:54:00:00:00:01\"}}
"
    )
}

fn load(text: &str) -> Result<Scenario, LoadError> {
    load_str(text, &data("case.yaml"))
}

#[test]
fn a_family_name_alone_has_no_profile() {
    let s = load(&scenario("uefi-x64")).unwrap();
    let c = s.client("c1").unwrap();
    assert_eq!((c.firmware, c.profile), (Firmware::UefiX64, None));
    let s = load(&scenario("{family: bios-x64}")).unwrap();
    let c = s.client("c1").unwrap();
    assert_eq!((c.firmware, c.profile), (Firmware::BiosX64, None));
}

#[test]
fn a_profile_is_read_relative_to_the_scenario_file() {
    let s = load(&scenario(
        "{family: uefi-x64, profile: profiles/vendor-x64.yaml}",
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    let c = s.client("c1").unwrap();
    let p = c.profile.expect("a profile");
    assert_eq!(c.firmware, Firmware::UefiX64);
    assert_eq!(p.name, "vendor-x64");
    assert_eq!(p.pxe4.client_ndi, [1, 3, 16]);
    assert_eq!(p.source, data("profiles/vendor-x64.yaml"));
}

#[test]
fn a_bad_profile_names_its_file_line_and_key_and_the_scenario_line() {
    let e = load(&scenario(
        "{family: uefi-x64, profile: profiles/negative.yaml}",
    ))
    .unwrap_err();
    assert_eq!(e.file, data("profiles/negative.yaml"));
    let line = std::fs::read_to_string(data("profiles/negative.yaml"))
        .unwrap()
        .lines()
        .position(|l| l.contains("per_packet"))
        .unwrap()
        + 1;
    assert_eq!(e.line, Some(line), "{e}");
    let text = e.to_string();
    assert!(
        text.contains("negative") && text.contains("case.yaml:11:"),
        "{text}"
    );
}

#[test]
fn a_missing_profile_file_or_an_unknown_key_is_located_in_the_scenario() {
    let e = load(&scenario("{family: uefi-x64, profile: profiles/none.yaml}")).unwrap_err();
    assert_eq!((e.file.clone(), e.line), (data("case.yaml"), Some(11)));
    assert!(
        e.message.contains("cannot read the firmware profile"),
        "{e}"
    );
    let e = load(&scenario("{family: uefi-x64, profil: x.yaml}")).unwrap_err();
    assert_eq!(e.line, Some(11));
    assert!(e.message.contains("profil"), "{e}");
}

#[test]
fn a_directory_walk_leaves_profile_files_out() {
    let found = discover(&[data("")]).unwrap();
    assert!(found.contains(&data("full.yaml")), "{found:?}");
    assert!(
        !found.iter().any(|f| f.starts_with(data("profiles"))),
        "{found:?}"
    );
}
