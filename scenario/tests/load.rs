//! Loading whole scenario files: the format page's example, and malformed files whose
//! errors must point at the right line and column and say what was expected. Sites
//! (format v1.1) are tests/sites.rs.

mod common;

use common::{base_with, data, load, BASE};
use pxelab_engine::policy::{Arch, AvailableTo, Purpose, Role};
use pxelab_scenario::*;
use std::net::Ipv4Addr;
use std::time::Duration;

fn ip(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

#[test]
fn the_format_page_example_loads_with_its_values() {
    let s = load_file(&data("full.yaml")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.title, "short title");
    assert_eq!(s.description.as_deref(), Some("free text"));
    assert_eq!(s.tags, ["selection", "failover"]);
    assert_eq!(s.modes, [Mode::Sim, Mode::Lab]);
    assert_eq!(s.seed, 7);

    let site = &s.site;
    assert_eq!(site.code, "PS1");
    assert_eq!(site.boot_images.len(), 3);
    assert_eq!(site.boot_images[0].arch, Arch::X86);
    assert_eq!(site.boot_images[0].size, 16 << 20);
    assert!(site.boot_images[0].pxe_enabled);
    assert_eq!(site.boot_images[1].size, 300 << 20);
    assert!(!site.boot_images[2].pxe_enabled);
    let ws01 = site.machine("WS01").unwrap();
    assert_eq!(ws01.mac, Some("52:54:00:00:00:01".parse().unwrap()));
    assert_eq!(
        ws01.smbios_guid,
        Some("11111111-2222-3333-4444-555555555555".parse().unwrap())
    );
    assert_eq!(site.collection("Lab").unwrap().members, ["WS01"]);
    let d = &site.deployments[0];
    assert_eq!(
        (d.id.as_str(), d.collection.as_str(), d.boot_image.as_str()),
        ("PS120001", "Lab", "PS100002")
    );
    assert_eq!(d.purpose, Purpose::Required);
    assert_eq!(d.available_to, AvailableTo::MediaPxe);
    assert_eq!(site.duplicate_macs, ["52:54:00:00:00:09".parse().unwrap()]);
    assert!(site.duplicate_guids.is_empty());

    let net = &s.network;
    let hq = s.segment("hq").unwrap();
    let cidr = hq.cidr.unwrap();
    assert_eq!(cidr.to_string(), "10.10.0.0/24");
    assert!(cidr.contains(ip("10.10.0.77")) && !cidr.contains(ip("10.20.0.1")));
    assert_eq!(hq.link, Link::default());
    assert_eq!(hq.link.rate_bps, 1_000_000_000);
    let br = s.segment("branch").unwrap();
    assert_eq!(br.link.rate_bps, 100_000_000);
    assert_eq!(br.link.delay, Duration::from_millis(20));
    assert!((br.link.loss - 0.001).abs() < 1e-12);

    let r1 = &net.routers[0];
    assert_eq!(
        r1.interfaces,
        [
            ("hq".to_string(), ip("10.10.0.1")),
            ("branch".to_string(), ip("10.20.0.1"))
        ]
    );
    assert_eq!(
        r1.ip_helpers,
        [("branch".to_string(), vec![ip("10.10.0.2"), ip("10.10.0.5")])]
    );
    assert_eq!(r1.option82[0].1.circuit_id.as_deref(), Some("vlan20"));
    assert_eq!(r1.option82[0].1.remote_id.as_deref(), Some("r1"));

    let dhcp = &net.dhcp_servers[0];
    assert_eq!(dhcp.address, ip("10.10.0.2"));
    assert_eq!(
        dhcp.pools[0],
        ("branch".to_string(), ip("10.20.0.100"), ip("10.20.0.199"))
    );
    assert!(!dhcp.option60_pxeclient);
    assert_eq!(dhcp.engine, DhcpEngine::Builtin);

    let dp1 = s.responder("dp1").unwrap();
    assert_eq!(dp1.segment, "hq");
    let c = &dp1.config;
    assert_eq!(c.role, Role::DistributionPoint);
    assert_eq!(c.images, ["PS100001", "PS100002"]);
    assert!(!c.unknown_computer_support && c.listen_dhcp_port && c.respond);
    assert_eq!(c.response_delay, Duration::ZERO);
    assert_eq!(c.failover_step, Duration::from_secs(4));
    assert_eq!(c.mac_exclusions, ["01:23:45:67:89:ab".parse().unwrap()]);
    assert_eq!((c.tftp.block_size, c.tftp.window_size), (4096, 1));
    assert_eq!(dp1.mac_exclusion_file, None);

    let c1 = s.client("c1").unwrap();
    assert_eq!(c1.firmware, Firmware::UefiX64);
    assert_eq!(c1.firmware.as_str(), "uefi-x64");
    assert_eq!(c1.machine.as_deref(), Some("WS01"));
    assert_eq!(Some(c1.mac), ws01.mac);
    assert_eq!(c1.smbios_guid, ws01.smbios_guid);
    assert!(c1.press_key);

    // Sorted by time, same time in file order.
    let kinds: Vec<(u64, usize)> = s.events.iter().map(|e| (e.at.as_secs(), e.line)).collect();
    assert_eq!(
        kinds,
        [(0, 68), (0, 69), (0, 73), (12, 71), (30, 70), (40, 72)]
    );
    assert_eq!(
        s.events[0].kind,
        EventKind::Boot {
            client: "c1".into(),
            netboot: None
        }
    );
    assert_eq!(
        s.events[3].kind,
        EventKind::Down {
            host: "dp1".into(),
            during_transfer: true
        }
    );
    assert_eq!(
        s.events[5].kind,
        EventKind::ClearRequired(ClearTarget::Machine("WS01".into()))
    );
    assert_eq!(
        s.events[2].kind,
        EventKind::Link {
            segment: "branch".into(),
            rate_bps: Some(10_000_000),
            delay: Some(Duration::from_millis(50)),
            loss: Some(0.01)
        }
    );

    assert_eq!(
        s.expect[0],
        Expect::Boot(BootExpect {
            client: "c1".into(),
            boot: 1,
            outcome: Some(Outcome::Booted),
            boot_image: Some("PS100002".into()),
            deployment: Some("PS120001".into()),
            served_by: Some(vec!["dp1".into()]),
            within: Some(Duration::from_secs(20)),
            line: 75,
        })
    );
    assert_eq!(
        s.expect[1],
        Expect::Logged {
            responder: "dp1".into(),
            logged: "device is in the database".into(),
            line: 82
        }
    );
}

#[test]
fn base_is_valid_and_fills_defaults() {
    let s = load(BASE).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.modes, [Mode::Sim]);
    assert_eq!(s.seed, 0);
    assert_eq!(s.client("c1").unwrap().mac.to_string(), "52:54:00:00:00:01");
    assert!(!s.client("c1").unwrap().press_key);
    let dp = &s.responder("dp").unwrap().config;
    assert!(dp.listen_dhcp_port && dp.respond && !dp.unknown_computer_support);
    assert_eq!(dp.failover_step, Duration::from_secs(4));
    assert_eq!(dp.tftp.block_size, 4096);
}

#[test]
fn malformed_files_are_located_and_explained() {
    let cases: Vec<(&str, String, usize, usize, &str)> = vec![
        (
            "unknown top-level key lists the allowed keys",
            format!("{BASE}exepct: []\n"),
            22,
            1,
            "unknown key `exepct` in the scenario (allowed keys: scenario, description, tags, modes, seed, site, network, events, expect)",
        ),
        (
            "unknown responder key lists the allowed keys",
            base_with("images: [B1]}", "images: [B1], delay: 4s}"),
            15,
            91,
            "unknown key `delay` in a responder (allowed keys: name, segment, address, address6, role, site, images, unknown_computer_support, listen_dhcp_port, respond, response_delay, failover_step, mac_exclusions, mac_exclusion_file, tftp, http, option43)",
        ),
        (
            "bad MAC",
            base_with("mac: \"52:54:00:00:00:01\"", "mac: \"52:54:00:00:01\""),
            6,
            23,
            "`52:54:00:00:01` is not a MAC address",
        ),
        (
            "deployment naming a missing image",
            base_with("boot_image: B1", "boot_image: B9"),
            10,
            44,
            "boot image `B9` is not a declared boot image (declared: B1)",
        ),
        (
            "client on a missing segment",
            base_with("{name: c1, segment: lan", "{name: c1, segment: wan"),
            17,
            27,
            "segment `wan` is not a declared segment (declared: lan)",
        ),
        (
            "missing title",
            BASE.replacen("scenario: base\n", "description: x\n", 1),
            1,
            1,
            "the scenario is missing the required key `scenario`",
        ),
        (
            "bad name",
            base_with("{name: lan,", "{name: my lan,"),
            13,
            14,
            "`my lan` is not a valid name",
        ),
        (
            "duplicate host across kinds",
            base_with("{name: c1, segment", "{name: dp, segment"),
            17,
            14,
            "host `dp` is declared twice (first at line 15, column 14)",
        ),
        (
            "declaring a built-in collection",
            base_with("{name: C1, members", "{name: \"x64 Unknown Computer\", members"),
            8,
            14,
            "is built in and may not be declared",
        ),
        (
            "collection member that is no machine",
            base_with("members: [M1]", "members: [M2]"),
            8,
            28,
            "member `M2` is not a declared machine",
        ),
        (
            "responder image not in the site",
            base_with("images: [B1]}", "images: [B2]}"),
            15,
            86,
            "image `B2` is not a declared boot image",
        ),
        (
            "address outside its segment",
            base_with("address: 10.0.0.5", "address: 10.0.1.5"),
            15,
            41,
            "address 10.0.1.5 is outside segment `lan` (10.0.0.0/24)",
        ),
        (
            "client machine and a different mac",
            base_with("machine: M1}", "machine: M1, mac: \"52:54:00:00:00:02\"}"),
            17,
            70,
            "gives mac 52:54:00:00:00:02 but its machine `M1` has mac 52:54:00:00:00:01",
        ),
        (
            "client with no MAC",
            base_with("machine: M1}", "smbios_guid: \"11111111-2222-3333-4444-555555555555\"}"),
            17,
            7,
            "client `c1` has no MAC",
        ),
        (
            "event with two actions",
            base_with("{at: 0s, boot: c1}", "{at: 0s, boot: c1, up: dp}"),
            19,
            24,
            "an event has one action, this one has `boot` and `up`",
        ),
        (
            "event with no action",
            base_with("{at: 0s, boot: c1}", "{at: 0s}"),
            19,
            5,
            "an event needs an action (expected one of boot, down, up, clear_required, link, tftp_request, reload_exclusions)",
        ),
        (
            "during without down",
            base_with("{at: 0s, boot: c1}", "{at: 0s, boot: c1, during: transfer}"),
            19,
            24,
            "`during` goes only with `down`",
        ),
        (
            "negative duration",
            base_with("{at: 0s, boot: c1}", "{at: -1s, boot: c1}"),
            19,
            10,
            "`at`: `-1s` is negative",
        ),
        (
            "link event without change",
            base_with("{at: 0s, boot: c1}", "{at: 0s, boot: c1}\n  - {at: 1s, link: {segment: lan}}"),
            20,
            20,
            "`link` changes nothing",
        ),
        (
            "event on a missing host",
            base_with("{at: 0s, boot: c1}", "{at: 0s, boot: c1}\n  - {at: 1s, down: dp2}"),
            20,
            20,
            "host `dp2` is not declared (declared: dp, c1)",
        ),
        (
            "expectation on a boot that never happens",
            base_with("{client: c1, outcome", "{client: c1, boot: 2, outcome"),
            21,
            24,
            "expectation for boot 2 of client `c1`, but `events` boot it 1 time(s)",
        ),
        (
            "expect naming a missing responder",
            base_with("served_by: dp}", "served_by: [dp, dp9]}"),
            21,
            51,
            "`dp9` is not a responder (responders: dp)",
        ),
        (
            "bad boolean",
            base_with("machine: M1}", "machine: M1, press_key: yes}"),
            17,
            76,
            "`press_key`: `yes` is not a boolean (expected true or false)",
        ),
        (
            "tftp block size out of range",
            base_with("images: [B1]}", "images: [B1], tftp: {block_size: 65465}}"),
            15,
            110,
            "65465 is out of range (expected 8 to 65464, RFC 2348)",
        ),
        (
            "pool outside the segment",
            base_with(
                "  responders:",
                "  dhcp_servers:\n    - {name: d, segment: lan, address: 10.0.0.2, pools: {lan: 10.0.0.100-10.0.1.10}}\n  responders:",
            ),
            15,
            63,
            "pool 10.0.0.100-10.0.1.10 is not inside segment `lan` (10.0.0.0/24)",
        ),
        (
            "both exclusion forms",
            base_with("images: [B1]}", "images: [B1], mac_exclusions: [], mac_exclusion_file: x.txt}"),
            15,
            91,
            "has both `mac_exclusions` and `mac_exclusion_file`",
        ),
        (
            "duplicate key",
            base_with("{at: 0s, boot: c1}", "{at: 0s, at: 1s, boot: c1}"),
            19,
            14,
            "duplicate key `at` (first given at line 19, column 6)",
        ),
        (
            "YAML syntax error",
            base_with("{at: 0s, boot: c1}", "{at: 0s, boot: c1"),
            21,
            3,
            "YAML syntax error",
        ),
    ];
    // Cases whose position is found from a marker in the text (first occurrence on
    // the given line), for long lines.
    let marked: Vec<(&str, String, usize, &str, &str)> = vec![
        (
            "pool that starts after it ends",
            base_with(
                "  responders:",
                "  dhcp_servers:\n    - {name: d, segment: lan, address: 10.0.0.2, pools: {lan: 10.0.0.200-10.0.0.100}}\n  responders:",
            ),
            15,
            "10.0.0.200-",
            "pool `10.0.0.200-10.0.0.100` starts after it ends",
        ),
        (
            "unknown key in a segment link lists rate, delay, loss",
            base_with("cidr: 10.0.0.0/24}", "cidr: 10.0.0.0/24, link: {latency: 1ms}}"),
            13,
            "latency",
            "unknown key `latency` in `link` (allowed keys: rate, delay, loss)",
        ),
        (
            "log key in a boot expectation",
            base_with("served_by: dp}", "served_by: dp, logged: hi}"),
            21,
            "logged",
            "unknown key `logged` in a boot expectation (allowed keys: client, boot, outcome, boot_image, deployment, served_by, within)",
        ),
        (
            "expectation naming neither client nor responder",
            base_with("{client: c1, outcome: booted, served_by: dp}", "{outcome: booted}"),
            21,
            "{outcome",
            "an expectation needs `client`",
        ),
        (
            "expectation naming a missing client",
            base_with("{client: c1,", "{client: c2,"),
            21,
            "c2",
            "`c2` is not a client (clients: c1)",
        ),
        (
            "no_offer with served_by",
            base_with("outcome: booted", "outcome: no_offer"),
            21,
            "served_by",
            "`served_by` cannot hold with outcome no_offer",
        ),
        (
            "image and deployment that disagree",
            base_with("{client: c1, outcome: booted,", "{client: c1, boot_image: B1, deployment: D1, outcome: booted,")
                .replace("    - {id: B1, arch: x64}\n", "    - {id: B1, arch: x64}\n    - {id: B2, arch: x86}\n")
                .replace("boot_image: B1, deployment: D1", "boot_image: B2, deployment: D1"),
            22,
            "B2",
            "deployment `D1` uses boot image `B1`, not `B2`",
        ),
        (
            "bad mode",
            format!("{BASE}modes: [sim, qemu]\n"),
            22,
            "qemu",
            "`qemu` is not allowed (expected one of sim, lab)",
        ),
        (
            "bad firmware",
            base_with("firmware: uefi-x64", "firmware: efi"),
            17,
            "efi",
            "`efi` is not a firmware (expected one of bios-x64, bios-x86, uefi-x64, uefi-ia32, uefi-arm64)",
        ),
        (
            "bad size unit",
            base_with("{id: B1, arch: x64}", "{id: B1, arch: x64, size: 300MB}"),
            4,
            "300MB",
            "unit `MB` is not allowed",
        ),
        (
            "loss over 100%",
            base_with("cidr: 10.0.0.0/24}", "cidr: 10.0.0.0/24, link: {loss: 120%}}"),
            13,
            "120%",
            "`loss`: `120%` is more than 100%",
        ),
        (
            "zero rate",
            base_with("cidr: 10.0.0.0/24}", "cidr: 10.0.0.0/24, link: {rate: 0Gbit}}"),
            13,
            "0Gbit",
            "a rate must be more than 0",
        ),
        (
            "deployment on a missing collection",
            base_with("collection: C1", "collection: C2"),
            10,
            "C2",
            "collection `C2` is not declared (declared: C1; built in: `x86 Unknown Computer`, `x64 Unknown Computer`)",
        ),
        (
            "clear_required on a missing machine",
            base_with("{at: 0s, boot: c1}", "{at: 0s, clear_required: {machine: M9}}"),
            19,
            "M9",
            "machine `M9` is not a declared machine (declared: M1)",
        ),
        (
            "IP helper on a segment the router is not on",
            base_with(
                "  responders:",
                "  routers:\n    - {name: r, interfaces: {lan: 10.0.0.1}, ip_helpers: {wan: [10.0.0.5]}}\n  responders:",
            )
            .replace(
                "    - {name: lan, cidr: 10.0.0.0/24}\n",
                "    - {name: lan, cidr: 10.0.0.0/24}\n    - {name: wan, cidr: 10.1.0.0/24}\n",
            ),
            16,
            "wan",
            "router `r` has no interface on segment `wan`",
        ),
        (
            "two hosts at one address",
            base_with(
                "  responders:",
                "  routers:\n    - {name: r, interfaces: {lan: 10.0.0.5}}\n  responders:",
            ),
            17,
            "10.0.0.5",
            "address 10.0.0.5 of `dp` is already the address of router `r`",
        ),
        (
            "empty file",
            "# nothing\n".to_string(),
            1,
            "#",
            "the file is empty",
        ),
    ];
    let mut failures = Vec::new();
    for (what, text, line, col, phrase) in &cases {
        match load(text) {
            Ok(_) => failures.push(format!("{what}: loaded")),
            Err(e) => {
                if e.line != Some(*line) || e.column != Some(*col) || !e.message.contains(phrase) {
                    failures.push(format!(
                        "{what}: expected {line}:{col} containing {phrase:?}\n     got {e}"
                    ));
                }
                assert_eq!(e.file, data("case.yaml"));
            }
        }
    }
    for (what, text, line, marker, phrase) in &marked {
        let col = text
            .lines()
            .nth(line - 1)
            .and_then(|l| l.find(marker))
            .unwrap_or(0)
            + 1;
        match load(text) {
            Ok(_) => failures.push(format!("{what}: loaded")),
            Err(e) => {
                if e.line != Some(*line) || e.column != Some(col) || !e.message.contains(phrase) {
                    failures.push(format!(
                        "{what}: expected {line}:{col} containing {phrase:?}\n     got {e}"
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn exclusion_file_is_read_relative_to_the_scenario() {
    let s = load(&base_with(
        "images: [B1]}",
        "images: [B1], mac_exclusion_file: exclusions.txt}",
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    let dp = s.responder("dp").unwrap();
    assert_eq!(dp.mac_exclusion_file, Some(data("exclusions.txt")));
    assert_eq!(dp.config.mac_exclusions.len(), 2);
    assert_eq!(dp.config.mac_exclusions[1].to_string(), "52:54:00:AA:BB:08");
}

#[test]
fn exclusion_file_errors_name_the_file_and_its_line() {
    let e = load(&base_with(
        "images: [B1]}",
        "images: [B1], mac_exclusion_file: bad-exclusions.txt}",
    ))
    .unwrap_err();
    assert_eq!(e.file, data("bad-exclusions.txt"));
    assert_eq!(e.line, Some(4));
    assert!(e.message.contains("`52:54:00:00:00` is not a MAC"), "{e}");
    assert!(e.message.contains("responder `dp`"), "{e}");
    assert!(e.to_string().contains("bad-exclusions.txt:4: "), "{e}");

    let e = load(&base_with(
        "images: [B1]}",
        "images: [B1], mac_exclusion_file: missing.txt}",
    ))
    .unwrap_err();
    assert_eq!((e.line, e.column), (Some(15), Some(111)));
    assert!(e.message.contains("cannot read mac_exclusion_file"), "{e}");
}

#[test]
fn unquoted_mac_and_yaml_numbers_are_read_as_text() {
    let s = load(&base_with(
        "mac: \"52:54:00:00:00:01\"",
        "mac: 52:54:00:00:00:01, smbios_guid: 11111111-2222-3333-4444-555555555555",
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        s.site.machines[0].mac.unwrap().to_string(),
        "52:54:00:00:00:01"
    );
    let s = load(&format!("{BASE}seed: 18446744073709551615\n",)).unwrap();
    assert_eq!(s.seed, u64::MAX);
    let s = load(&base_with(
        "{name: lan, cidr: 10.0.0.0/24}",
        "{name: lan, cidr: 10.0.0.0/24, link: {loss: 0.005, rate: 512Kbit}}",
    ))
    .unwrap();
    assert_eq!(s.network.segments[0].link.loss, 0.005);
    assert_eq!(s.network.segments[0].link.rate_bps, 512_000);
}

#[test]
fn served_by_takes_a_name_or_a_list_and_errors_display_with_location() {
    let s = load(&base_with("served_by: dp}", "served_by: [dp]}")).unwrap();
    let Expect::Boot(b) = &s.expect[0] else {
        panic!()
    };
    assert_eq!(b.served_by.as_deref(), Some(&["dp".to_string()][..]));
    let e = load("scenario: x\nbogus: 1\n").unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "{}:2:1: unknown key `bogus` in the scenario (allowed keys: scenario, description, tags, modes, seed, site, network, events, expect)",
            data("case.yaml").display()
        )
    );
}

#[test]
fn discover_finds_yaml_files_sorted() {
    let found = discover(&[data(""), data("full.yaml")]).unwrap();
    assert_eq!(found, [data("full.yaml")]);
    assert!(discover(&[data("nope")]).is_err());
    // A bench file (top-level `bench:`) is not a scenario: a walk leaves it out, but a
    // file named alone is taken as given.
    assert!(is_bench_file(&data("bench.yaml")) && !is_bench_file(&data("full.yaml")));
    assert_eq!(
        discover(&[data(""), data("bench.yaml")]).unwrap(),
        [data("bench.yaml"), data("full.yaml")]
    );
}

#[test]
fn a_responder_may_share_a_dhcp_servers_address() {
    let s = load(&base_with(
        "  responders:",
        "  dhcp_servers:\n    - {name: d, segment: lan, address: 10.0.0.5, option60_pxeclient: true}\n  responders:",
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(s.network.dhcp_servers[0].option60_pxeclient);
    assert_eq!(
        s.network.dhcp_servers[0].address,
        s.responder("dp").unwrap().config.address
    );
}

#[test]
fn built_in_collections_aliases_and_nulls() {
    let text = "\
scenario: unknown computers
description:
tags: ~
site:
  boot_images: [{id: B1, arch: x86}]
  deployments:
    - {id: D1, collection: x86 Unknown Computer, boot_image: B1, purpose: available, available_to: clients_media_pxe}
network:
  segments: [{name: lan, cidr: 10.0.0.1/24}]
  responders:
    - {name: dp, segment: lan, address: 10.0.0.5, role: peer, images: [B1], mac_exclusions: ~}
  clients:
    - {name: c1, segment: lan, firmware: bios-x86, mac: 52-54-00-00-00-01}
events:
  - &b {at: 2s, boot: c1}
  - {at: 1s, clear_required: {collection: x64 Unknown Computer}}
  - *b
expect:
  - {client: c1, boot: 2, outcome: declined, within: 1.5s}
";
    let s = load(text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.site.deployments[0].collection, "x86 Unknown Computer");
    assert_eq!(s.description, None);
    assert!(s.tags.is_empty());
    assert_eq!(
        s.segment("lan").unwrap().cidr.unwrap().to_string(),
        "10.0.0.0/24"
    );
    assert!(s.responder("dp").unwrap().config.mac_exclusions.is_empty());
    assert_eq!(s.client("c1").unwrap().firmware.option93(), 0);
    assert_eq!(s.boot_count("c1"), 2);
    assert_eq!(
        s.events[0].kind,
        EventKind::ClearRequired(ClearTarget::Collection("x64 Unknown Computer".into()))
    );
    let Expect::Boot(b) = &s.expect[0] else {
        panic!()
    };
    assert_eq!(b.boot, 2);
    assert_eq!(b.within, Some(Duration::from_millis(1500)));
}

#[test]
fn peer_key_goes_to_peers_and_rogues_are_loaded_and_checked() {
    let text = base_with("site:\n", "site:\n  peer_key: s3cret\n").replacen(
        "  clients:\n",
        "    - {name: p1, segment: lan, address: 10.0.0.11, role: peer, images: [B1]}\n  rogues:\n    - {name: r1, segment: lan, address: 10.0.0.66, claims: P7, images: [B1], peer_key: guess}\n    - {name: r2, segment: lan, address: 10.0.0.67}\n  clients:\n",
        1,
    );
    let s = load(&text).unwrap_or_else(|e| panic!("{e}"));
    let p1 = &s.responder("p1").unwrap().config;
    assert_eq!(p1.peer_key, PeerKey::new(*b"s3cret"));
    // A distribution point takes no part in membership: no key.
    assert_eq!(s.responder("dp").unwrap().config.peer_key, None);
    let r1 = &s.network.rogues[0];
    assert_eq!((r1.claims.as_str(), r1.address), ("P7", ip("10.0.0.66")));
    let cfg = r1.responder_config();
    assert!(!cfg.respond && cfg.role == Role::Peer && cfg.name == "P7");
    assert_eq!(cfg.images, ["B1"]);
    assert_eq!(cfg.peer_key, PeerKey::new(*b"guess"));
    let r2 = &s.network.rogues[1];
    assert_eq!((r2.claims.as_str(), r2.peer_key.clone()), ("r2", None));

    for (from, to, msg) in [
        (
            "site:\n",
            "site:\n  peer_key: \"\"\n",
            "`peer_key` is empty",
        ),
        (
            "site:\n",
            "site:\n  peer_key: a\n  peer_key_file: k.txt\n",
            "has both `peer_key` and `peer_key_file`",
        ),
        (
            "site:\n",
            "site:\n  peer_key_file: no-such-key.txt\n",
            "cannot read peer_key_file",
        ),
    ] {
        let e = load(&base_with(from, to)).unwrap_err().to_string();
        assert!(e.contains(msg), "{e}");
    }
    let e = load(&text.replace("address: 10.0.0.66", "address: 10.0.0.5"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("already the address of responder `dp`"), "{e}");
    let e = load(&text.replace("images: [B1], peer_key", "images: [B9], peer_key"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("B9"), "{e}");
    let e = load(&text.replace("claims: P7", "claim: P7"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("unknown key `claim` in a rogue (allowed keys: name, segment, address, claims, images, peer_key)"), "{e}");
}
