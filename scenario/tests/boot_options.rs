//! The boot-file extension keys: a DHCP server's `option66` / `option67` and a
//! responder's `option43` (scenario/REFERENCE.md), read and checked with located errors.

use pxelab_scenario::load_str;
use std::path::Path;

fn scenario(dhcp_extra: &str, responder_extra: &str) -> String {
    format!(
        "\
scenario: boot file options
site:
  boot_images: [{{id: B1, arch: x64}}]
network:
  segments: [{{name: lan, cidr: 10.0.0.0/24}}]
  dhcp_servers:
    - {{name: d, segment: lan, address: 10.0.0.2, pools: {{lan: 10.0.0.100-10.0.0.199}}{dhcp_extra}}}
  responders:
    - {{name: dp, segment: lan, address: 10.0.0.5, role: distribution_point, images: [B1]{responder_extra}}}
"
    )
}

fn load(text: &str) -> Result<pxelab_scenario::Scenario, String> {
    load_str(text, Path::new("case.yaml")).map_err(|e| e.to_string())
}

#[test]
fn option66_and_option67_name_the_tftp_server_and_boot_file() {
    let s = load(&scenario(
        ", option66: 10.0.0.5, option67: \"smsboot/B1/x64/bootmgfw.efi\"",
        "",
    ))
    .unwrap();
    let b = &s.network.dhcp_servers[0].boot_file;
    assert_eq!(b.tftp_server, Some("10.0.0.5".parse().unwrap()));
    assert_eq!(b.file.as_deref(), Some("smsboot/B1/x64/bootmgfw.efi"));
    let plain = load(&scenario("", "")).unwrap();
    assert_eq!(plain.network.dhcp_servers[0].boot_file, Default::default());
}

#[test]
fn bad_boot_file_options_are_located_errors() {
    let e = load(&scenario(", option66: 10.0.0.5", "")).unwrap_err();
    assert!(
        e.contains("case.yaml:7:") && e.contains("`option66` without `option67`"),
        "{e}"
    );
    let e = load(&scenario(", option66: 10.0.0, option67: a", "")).unwrap_err();
    assert!(
        e.contains("case.yaml:7:") && e.contains("not an IPv4 address"),
        "{e}"
    );
    let long = "x".repeat(128);
    let e = load(&scenario(&format!(", option67: {long}"), "")).unwrap_err();
    assert!(e.contains("1 to 127 bytes"), "{e}");
}

#[test]
fn option43_is_encoded_for_the_proxy_offer() {
    let s = load(&scenario(
        "",
        ", option43: {discovery_control: 3, boot_servers: [10.0.0.5]}",
    ))
    .unwrap();
    let cfg = &s.responder("dp").unwrap().config;
    assert_eq!(
        cfg.proxy_option43.as_deref(),
        Some(&[6, 1, 3, 8, 7, 0, 0, 1, 10, 0, 0, 5, 255][..])
    );
    assert!(load(&scenario("", ""))
        .unwrap()
        .responder("dp")
        .unwrap()
        .config
        .proxy_option43
        .is_none());
}

#[test]
fn bad_option43_is_a_located_error() {
    let e = load(&scenario("", ", option43: {discovery_control: 16}")).unwrap_err();
    assert!(
        e.contains("case.yaml:9:") && e.contains("out of range"),
        "{e}"
    );
    let e = load(&scenario("", ", option43: {}")).unwrap_err();
    assert!(
        e.contains("needs `discovery_control` or `boot_servers`"),
        "{e}"
    );
    let e = load(&scenario("", ", option43: {menu: 1}")).unwrap_err();
    assert!(e.contains("menu"), "{e}");
}
