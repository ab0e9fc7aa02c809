//! EDK2's port-4011 boot request over IPv6 through a router (docs/MODEL.md, "EDK2";
//! docs/LAB.md, "What the real firmware showed"): the lab's captures of OVMF x64 and
//! AAVMF behind `pxelab lab relay6` (`tests/fixtures/firmware/lab-*-pxe6-relay*.pcap`)
//! show the request leaving from the stack's own address once that passed duplicate
//! address detection, else from the link-local address, which the router refuses with
//! ICMPv6 "beyond scope of source address", after which PXE releases its address. The
//! simulator draws the race from the seed and plays the refusal frame for frame.

mod common;

use common::fixture::path as fixture;
use common::{pxelab, run_ok, tmp};
use std::net::Ipv6Addr;
use std::path::Path;

/// What a test needs of one frame on the client's segment.
#[derive(Debug)]
enum Seen {
    /// A UDP datagram: its source, destination port, DHCPv6 message type (547 only).
    Udp {
        src: Ipv6Addr,
        dst_port: u16,
        dhcp6: Option<u8>,
    },
    /// ICMPv6 destination unreachable with this code.
    Unreachable(u8),
    /// A duplicate address detection probe (Neighbor Solicitation from ::) for this address.
    Dad(Ipv6Addr),
    Other,
}

/// (seconds, frame length on the wire, what) of every IPv6 frame of a capture.
fn frames(path: &Path) -> Vec<(f64, u32, Seen)> {
    let mut out = Vec::new();
    for f in common::fixture::frames_in(path) {
        let Ok(s) = etherparse::SlicedPacket::from_ethernet(&f.data) else {
            continue;
        };
        let Some(etherparse::NetSlice::Ipv6(ip)) = &s.net else {
            continue;
        };
        let src = ip.header().source_addr();
        let seen = match &s.transport {
            Some(etherparse::TransportSlice::Udp(u)) => Seen::Udp {
                src,
                dst_port: u.destination_port(),
                dhcp6: (u.destination_port() == 547)
                    .then(|| u.payload().first().copied())
                    .flatten(),
            },
            Some(etherparse::TransportSlice::Icmpv6(i)) => match i.icmp_type() {
                etherparse::Icmpv6Type::DestinationUnreachable(c) => Seen::Unreachable(c.code_u8()),
                etherparse::Icmpv6Type::NeighborSolicitation if src.is_unspecified() => {
                    let p = i.payload();
                    match <[u8; 16]>::try_from(p.get(..16).unwrap_or_default()) {
                        Ok(t) => Seen::Dad(Ipv6Addr::from(t)),
                        Err(_) => Seen::Other,
                    }
                }
                _ => Seen::Other,
            },
            _ => Seen::Other,
        };
        out.push((f.t, f.wire_len, seen));
    }
    out
}

/// The boot request to port 4011: (index, time, source).
fn boot_request(f: &[(f64, u32, Seen)]) -> Option<(usize, f64, Ipv6Addr)> {
    f.iter().enumerate().find_map(|(i, (t, _, s))| match s {
        Seen::Udp {
            src,
            dst_port: 4011,
            ..
        } => Some((i, *t, *src)),
        _ => None,
    })
}

/// After the boot request at `i`: the router's ICMPv6 code 2, then a DHCPv6 Release;
/// the three frames' lengths.
fn refusal_after(f: &[(f64, u32, Seen)], i: usize) -> [u32; 3] {
    let icmp = (i + 1..f.len())
        .find(|&j| matches!(f[j].2, Seen::Unreachable(_)))
        .expect("an ICMPv6 destination unreachable after the boot request");
    assert!(matches!(f[icmp].2, Seen::Unreachable(2)), "{:?}", f[icmp]);
    let release = (icmp + 1..f.len())
        .find(|&j| matches!(f[j].2, Seen::Udp { dhcp6: Some(8), .. }))
        .expect("PXE's Release after the ICMPv6 error");
    assert!(f[release].0 - f[i].0 < 0.01, "PXE stops at once");
    [f[i].1, f[icmp].1, f[release].1]
}

#[test]
fn the_lab_captures_show_the_request_leaving_from_the_stacks_address_or_the_link_local_one() {
    // Won: from the stack's address, whose DAD probe went more than its 1 s before.
    let won = frames(&fixture("lab-uefi-x64-pxe6-relay-won"));
    let (i, t, src) = boot_request(&won).expect("a boot request");
    assert!(!src.is_unicast_link_local(), "{src}");
    let dad = won
        .iter()
        .find_map(|(t, _, s)| matches!(s, Seen::Dad(a) if *a == src).then_some(*t))
        .expect("the stack's address was probed");
    assert!(t - dad > 1.0, "usable when it left: {:.2} s", t - dad);
    assert!(!won[i..]
        .iter()
        .any(|(_, _, s)| matches!(s, Seen::Unreachable(_))));

    // Lost: the stack's address still tentative, the request from the link-local one.
    let lost = frames(&fixture("lab-uefi-x64-pxe6-relay-lost"));
    let (i, t, src) = boot_request(&lost).expect("a boot request");
    assert!(src.is_unicast_link_local(), "{src}");
    let (probe_t, _) = lost
        .iter()
        .rev()
        .find_map(|(pt, _, s)| match s {
            Seen::Dad(a) if !a.is_unicast_link_local() && *pt < t => Some((*pt, *a)),
            _ => None,
        })
        .expect("the stack's address probed before");
    assert!(t - probe_t < 1.0, "still tentative: {:.2} s", t - probe_t);
    refusal_after(&lost, i);

    // AAVMF: its stack has no address at PXE's Reply.
    let arm = frames(&fixture("lab-uefi-arm64-pxe6-relay"));
    let (i, _, src) = boot_request(&arm).expect("a boot request");
    assert!(src.is_unicast_link_local(), "{src}");
    refusal_after(&arm, i);
    // Before any router advertisement it has no route at all: nothing leaves, and PXE
    // releases its address just the same (docs/MODEL.md).
    let no_route = frames(&fixture("lab-uefi-arm64-pxe6-relay-no-route"));
    assert!(boot_request(&no_route).is_none());
    assert!(no_route
        .iter()
        .any(|(_, _, s)| matches!(s, Seen::Udp { dhcp6: Some(8), .. })));
}

#[test]
fn the_simulator_draws_the_race_and_plays_the_refusal_as_the_lab_does() {
    let lab = frames(&fixture("lab-uefi-x64-pxe6-relay-lost"));
    let (i, ..) = boot_request(&lab).unwrap();
    let lab_lengths = refusal_after(&lab, i);
    let file =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/lab-long/pxe6-relay-builtin.yaml");
    let (mut won, mut lost) = (0, 0);
    for seed in 1..=30 {
        let dir = tmp(&format!("relay6-race-{seed}"));
        let json = dir.join("results.json");
        // Exits 1 when the race is lost (the file expects `booted`).
        pxelab()
            .args(["run", "--pcap-full", "--seed", &seed.to_string(), "--json"])
            .arg(&json)
            .arg("--pcap")
            .arg(&dir)
            .arg(&file)
            .output()
            .unwrap();
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
        let outcome = v["scenarios"][0]["boots"][0]["outcome"].clone();
        let f = frames(&dir.join("branch.pcap"));
        let (i, _, src) = boot_request(&f).expect("a boot request");
        if src.is_unicast_link_local() {
            lost += 1;
            assert_eq!(outcome, "failed", "seed {seed}");
            assert_eq!(refusal_after(&f, i), lab_lengths, "seed {seed}");
        } else {
            won += 1;
            assert_eq!(outcome, "booted", "seed {seed}");
        }
    }
    assert!(won > lost && lost > 0, "won {won}, lost {lost} of 30 seeds");

    // AAVMF loses it whatever the seed.
    let arm =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/lab/pxe6-relay-uefi-arm64.yaml");
    let dir = tmp("relay6-arm64");
    run_ok(
        pxelab()
            .args(["run", "--pcap-full", "--pcap"])
            .arg(&dir)
            .arg(&arm),
    );
    let f = frames(&dir.join("branch.pcap"));
    let (i, _, src) = boot_request(&f).expect("a boot request");
    assert!(src.is_unicast_link_local());
    assert_eq!(refusal_after(&f, i), lab_lengths);
}
