//! `pxelab audit` on the real firmware captures of IPv6 PXE and HTTP boot
//! (tests/fixtures/firmware/*-{pxe6,http4,http6}.pcap, MODEL.md): the boot servers that
//! answered there (dnsmasq, and scripts/dhcp6-http-offer.py for HTTPv6) are listed with
//! what they boot, in the scenario format's `netboot` words.

use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;

fn audit(capture: &str) -> Value {
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/firmware")
        .join(capture);
    let out = Command::new(env!("CARGO_BIN_EXE_pxelab"))
        .args(["audit", "--format", "json", "--pcap"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The one server answering in `capture`: (server, netboot, boot files).
fn only_server(capture: &str) -> (String, Vec<String>, Vec<String>) {
    let v = audit(capture);
    let servers = v["servers"].as_array().unwrap();
    assert_eq!(servers.len(), 1, "{capture}: {v:#}");
    let s = &servers[0];
    let strings = |k: &str| -> Vec<String> {
        s[k].as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_str().unwrap().to_string())
            .collect()
    };
    (
        s["server"].as_str().unwrap().to_string(),
        strings("netboot"),
        strings("boot_files"),
    )
}

#[test]
fn audit_lists_the_dhcp6_pxe_server_of_every_pxe6_capture() {
    for c in [
        "uefi-x64-pxe6.pcap",
        "uefi-ia32-pxe6.pcap",
        "uefi-arm64-pxe6.pcap",
        "bios-x64-pxe6.pcap",
    ] {
        let (server, netboot, files) = only_server(c);
        assert!(server.starts_with("fe80::"), "{c}: {server}");
        assert_eq!(netboot, ["pxe6"], "{c}");
        assert!(
            files.iter().all(|f| f.starts_with("tftp://[")),
            "{c}: {files:?}"
        );
    }
}

#[test]
fn audit_lists_the_http_boot_server_of_every_http_capture() {
    for arch in ["uefi-x64", "uefi-ia32", "uefi-arm64"] {
        let (server, netboot, files) = only_server(&format!("{arch}-http4.pcap"));
        assert!(server.contains('.'), "{arch}: {server}");
        assert_eq!(netboot, ["http4"], "{arch}");
        assert!(
            files.iter().any(|f| f.starts_with("http://")),
            "{arch}: {files:?}"
        );
        let (_, netboot, files) = only_server(&format!("{arch}-http6.pcap"));
        assert_eq!(netboot, ["http6"], "{arch}");
        assert!(
            files.iter().any(|f| f.starts_with("http://[")),
            "{arch}: {files:?}"
        );
    }
}
