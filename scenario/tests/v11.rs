//! Format v1.1, IPv6 and UEFI HTTP boot: every key of the format page's section, and
//! each impossible combination refused with a located message.

use pxelab_scenario::{load_file, load_str, EventKind, Firmware, Netboot, NetbootSupport};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::Path;

fn data(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join(name)
}

fn ip6(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}

#[test]
fn every_v11_key_of_the_format_page_loads() {
    let s = load_file(&data("fixtures/v11.yaml")).unwrap();
    let hq = s.segment("hq").unwrap();
    assert_eq!(hq.cidr.unwrap().to_string(), "10.10.0.0/24");
    assert_eq!(hq.cidr6.unwrap().to_string(), "2001:db8:10::/64");
    let v6 = s.segment("v6only").unwrap();
    assert_eq!(v6.cidr, None);
    assert!(v6.cidr6.unwrap().contains(ip6("2001:db8:30::1")));

    let r = &s.network.routers[0];
    assert_eq!(
        r.interfaces,
        vec![("hq".into(), Ipv4Addr::new(10, 10, 0, 1))]
    );
    assert_eq!(
        r.interfaces6,
        vec![
            ("hq".into(), ip6("2001:db8:10::1")),
            ("v6only".into(), ip6("2001:db8:30::1"))
        ]
    );
    assert_eq!(
        r.ip_helpers6,
        vec![(
            "v6only".into(),
            vec![ip6("2001:db8:10::2"), ip6("2001:db8:10::5")]
        )]
    );
    assert_eq!(r.interface_id6, vec![("v6only".into(), "vlan30".into())]);

    let d = &s.network.dhcp_servers[0];
    assert_eq!(d.address6, Some(ip6("2001:db8:10::2")));
    assert_eq!(
        d.pools6,
        vec![
            (
                "hq".into(),
                ip6("2001:db8:10::100"),
                ip6("2001:db8:10::1ff")
            ),
            (
                "v6only".into(),
                ip6("2001:db8:30::100"),
                ip6("2001:db8:30::1ff")
            )
        ]
    );

    let dp = &s.responder("dp1").unwrap().config;
    assert_eq!(dp.address6, Some(ip6("2001:db8:10::5")));
    assert_eq!(dp.http.map(|h| h.port), Some(80));
    assert!(dp.has_ipv4());
    let peer = &s.responder("peer6").unwrap().config;
    assert!(
        !peer.has_ipv4(),
        "an IPv6-only responder has no IPv4 address"
    );
    assert_eq!(peer.http, None);

    assert_eq!(s.client("c1").unwrap().netboot, Netboot::Pxe6);
    assert_eq!(s.client("c2").unwrap().netboot, Netboot::Http6);
    // bios and pxe6: "if the iPXE ROM does it (the lab decides)": accepted.
    assert_eq!(s.client("c3").unwrap().netboot, Netboot::Pxe6);
    let boots: Vec<Option<Netboot>> = s
        .events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Boot { netboot, .. } => Some(*netboot),
            _ => None,
        })
        .collect();
    assert_eq!(boots, vec![None, None, Some(Netboot::Pxe4)]);
}

#[test]
fn netboot_defaults_to_pxe4() {
    let s = load_file(&data("data/full.yaml")).unwrap();
    assert!(s.network.clients.iter().all(|c| c.netboot == Netboot::Pxe4));
}

#[test]
fn the_firmware_table() {
    use NetbootSupport::*;
    let row = |f: Firmware| Netboot::ALL.map(|n| f.netboot(n));
    assert_eq!(row(Firmware::BiosX64), [Yes, LabDecides, No, No]);
    assert_eq!(row(Firmware::BiosX86), [Yes, LabDecides, No, No]);
    assert_eq!(row(Firmware::UefiX64), [Yes, Yes, Yes, Yes]);
    assert_eq!(
        row(Firmware::UefiIa32),
        [Yes, LabDecides, LabDecides, LabDecides]
    );
    assert_eq!(
        row(Firmware::UefiArm64),
        [Yes, LabDecides, LabDecides, LabDecides]
    );
    assert_eq!(Firmware::UefiX64.http_arch(), Some(16));
    assert_eq!(Firmware::UefiIa32.http_arch(), Some(15));
    assert_eq!(Firmware::UefiArm64.http_arch(), Some(19));
    assert_eq!(Firmware::BiosX64.http_arch(), None);
}

const BASE: &str = r#"scenario: v1.1 base
site:
  code: PS1
  boot_images:
    - {id: B1, arch: x64}
network:
  segments:
    - {name: hq, cidr: 10.10.0.0/24, cidr6: "2001:db8:10::/64"}
    - {name: v4, cidr: 10.20.0.0/24}
    - {name: v6, cidr6: "2001:db8:30::/64"}
  routers:
    - {name: r1, interfaces: {hq: 10.10.0.1, v4: 10.20.0.1}, interfaces6: {hq: "2001:db8:10::1", v6: "2001:db8:30::1"}, ip_helpers6: {v6: ["2001:db8:10::5"]}}
  dhcp_servers:
    - {name: dhcp, segment: hq, address: 10.10.0.2, address6: "2001:db8:10::2", pools6: {v6: "2001:db8:30::100-2001:db8:30::1ff"}}
  responders:
    - {name: dp1, segment: hq, address: 10.10.0.5, address6: "2001:db8:10::5", role: distribution_point, images: [B1], http: {port: 8080}}
  clients:
    - {name: c1, segment: hq, firmware: uefi-x64, mac: "52:54:00:00:00:01", netboot: pxe6}
    - {name: c2, segment: hq, firmware: bios-x64, mac: "52:54:00:00:00:02"}
events:
  - {at: 0s, boot: c1}
  - {at: 0s, boot: c2}
"#;

fn with(from: &str, to: &str) -> String {
    assert!(BASE.contains(from), "{from}");
    BASE.replacen(from, to, 1)
}

#[test]
fn the_base_loads() {
    let s = load_str(BASE, Path::new("v11.yaml")).unwrap();
    assert_eq!(s.responder("dp1").unwrap().config.http.unwrap().port, 8080);
}

/// Each impossible combination: the message, at the line and column of the value
/// that makes it impossible.
#[test]
fn impossible_combinations_are_located() {
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "http4 on bios-x64",
            with(
                "firmware: bios-x64, mac: \"52:54:00:00:00:02\"}",
                "firmware: bios-x64, mac: \"52:54:00:00:00:02\", netboot: http4}",
            ),
            "v11.yaml:19:86: client `c2`: firmware bios-x64 has no network boot option http4 (it has pxe4, pxe6)",
        ),
        (
            "http6 on bios-x64, for one boot",
            with("{at: 0s, boot: c2}", "{at: 0s, boot: c2, netboot: http6}"),
            "v11.yaml:22:33: client `c2`: firmware bios-x64 has no network boot option http6 (it has pxe4, pxe6)",
        ),
        (
            "address6 outside the segment's cidr6",
            with("address6: \"2001:db8:10::5\"", "address6: \"2001:db8:20::5\""),
            "v11.yaml:16:62: address 2001:db8:20::5 is outside segment `hq` (2001:db8:10::/64)",
        ),
        (
            "ip_helpers6 on a segment without cidr6",
            with(
                "ip_helpers6: {v6: [\"2001:db8:10::5\"]}",
                "ip_helpers6: {v4: [\"2001:db8:10::5\"]}",
            ),
            "v11.yaml:12:135: `ip_helpers6` for segment `v4`, which has no `cidr6` (DHCPv6 relaying needs IPv6 on the segment)",
        ),
        (
            "pools6 on a v4-only segment",
            with(
                "pools6: {v6: \"2001:db8:30::100-2001:db8:30::1ff\"}",
                "pools6: {v4: \"2001:db8:30::100-2001:db8:30::1ff\"}",
            ),
            "v11.yaml:14:90: `pools6` for segment `v4`, which has no `cidr6` (IPv4 only: use `pools`)",
        ),
        (
            "pools on an IPv6-only segment",
            with(
                "address6: \"2001:db8:10::2\", pools6",
                "address6: \"2001:db8:10::2\", pools: {v6: 10.20.0.9-10.20.0.10}, pools6",
            ),
            "v11.yaml:14:89: `pools` for segment `v6`, which has no `cidr` (IPv6 only: use `pools6`)",
        ),
        (
            "pools6 outside the segment",
            with("2001:db8:30::100-2001:db8:30::1ff", "2001:db8:30::100-2001:db8:31::1ff"),
            "v11.yaml:14:94: pool 2001:db8:30::100-2001:db8:31::1ff is not inside segment `v6` (2001:db8:30::/64)",
        ),
        (
            "pools6 without address6",
            with("address: 10.10.0.2, address6: \"2001:db8:10::2\",", "address: 10.10.0.2,"),
            "v11.yaml:14:53: DHCP server `dhcp` has `pools6` but no `address6` (a DHCPv6 server needs an IPv6 address)",
        ),
        (
            "a segment with neither cidr nor cidr6",
            with("{name: v6, cidr6: \"2001:db8:30::/64\"}", "{name: v6}"),
            "v11.yaml:10:7: segment `v6` needs `cidr`, `cidr6` or both (an IPv4 network, an IPv6 prefix)",
        ),
        (
            "a bad cidr6",
            with("cidr6: \"2001:db8:30::/64\"", "cidr6: \"2001:db8:30::/129\""),
            "v11.yaml:10:25: `cidr6`: `2001:db8:30::/129`: the prefix length is at most 128",
        ),
        (
            "an IPv4 address on an IPv6-only segment",
            with("interfaces: {hq: 10.10.0.1, v4: 10.20.0.1}", "interfaces: {hq: 10.10.0.1, v6: 10.20.0.1}"),
            "v11.yaml:12:50: address 10.20.0.1 is on segment `v6`, which has no `cidr` (IPv6 only: give an IPv6 address)",
        ),
        (
            "interfaces6 on a v4-only segment",
            with("v6: \"2001:db8:30::1\"}", "v4: \"2001:db8:30::1\"}"),
            "v11.yaml:12:102: `interfaces6` 2001:db8:30::1 is on segment `v4`, which has no `cidr6` (IPv4 only)",
        ),
        (
            "ip_helpers6 where the router has no IPv6 interface",
            with("v6: \"2001:db8:30::1\"}", "v6: \"2001:db8:30::1\"}, ip_helpers: {}").replacen(
                "interfaces6: {hq: \"2001:db8:10::1\", v6: \"2001:db8:30::1\"}",
                "interfaces6: {hq: \"2001:db8:10::1\"}",
                1,
            ),
            "v11.yaml:12:129: router `r1` has no IPv6 interface on segment `v6` (give it in `interfaces6`)",
        ),
        (
            "interface_id6 without ip_helpers6 there",
            with("ip_helpers6: {v6: [\"2001:db8:10::5\"]}", "interface_id6: {v6: vlan30}"),
            "v11.yaml:12:137: `interface_id6` for segment `v6`, but router `r1` relays nothing from it (no `ip_helpers6` entry)",
        ),
        (
            "a responder on an IPv6-only segment without address6",
            with("images: [B1], http: {port: 8080}}", "images: [B1], http: {port: 8080}}\n    - {name: p6, segment: v6, role: peer}"),
            "v11.yaml:17:7: `p6` is on segment `v6`, which is IPv6 only (no `cidr`): give `address6`",
        ),
        (
            "pxe6 on a segment without cidr6",
            with("{name: c2, segment: hq,", "{name: c2, segment: v4,")
                .replacen("firmware: bios-x64, mac: \"52:54:00:00:00:02\"}", "firmware: uefi-x64, mac: \"52:54:00:00:00:02\", netboot: pxe6}", 1),
            "v11.yaml:19:86: client `c2` boots by pxe6, but its segment `v4` has no `cidr6` (IPv4 only)",
        ),
        (
            "pxe4 (the default) on an IPv6-only segment",
            with("{name: c2, segment: hq,", "{name: c2, segment: v6,"),
            "v11.yaml:19:27: client `c2` boots by pxe4, but its segment `v6` has no `cidr` (IPv6 only)",
        ),
        (
            "netboot on another event than boot",
            with("{at: 0s, boot: c2}", "{at: 0s, down: dp1, netboot: pxe6}"),
            "v11.yaml:22:25: `netboot` goes only with `boot`",
        ),
        (
            "an unknown netboot",
            with("netboot: pxe6}", "netboot: pxe5}"),
            "v11.yaml:18:86: `netboot`: `pxe5` is not a network boot option (expected one of pxe4, pxe6, http4, http6)",
        ),
        (
            "an http port of 0",
            with("http: {port: 8080}", "http: {port: 0}"),
            "v11.yaml:16:133: `port`: 0 is out of range (expected a TCP port, 1 to 65535)",
        ),
        (
            "an unknown key in http",
            with("http: {port: 8080}", "http: {prot: 8080}"),
            "v11.yaml:16:127: unknown key `prot` in `http` (allowed keys: port)",
        ),
    ];
    let mut wrong = Vec::new();
    for (what, text, want) in cases {
        match load_str(&text, Path::new("v11.yaml")) {
            Ok(_) => wrong.push(format!("{what}: loaded")),
            Err(e) if e.to_string() != want => {
                wrong.push(format!("{what}:\n  want {want}\n  got  {e}"))
            }
            Err(_) => {}
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
