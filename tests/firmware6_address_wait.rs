//! EDK2's wait between PXE's DHCPv6 Reply and its first use of the address, against the
//! PXEv6 captures (`tests/fixtures/firmware/uefi-*-pxe6.pcap`): PXE checks its route
//! table for the boot server once a second until a router advertisement gives a route
//! (`PxeBcCheckRouteTable`), then sets its address through Ip6Config (the manual
//! policy, which makes the stack release its own address) and waits for duplicate
//! address detection (`PxeBcSetIp6Address`). The model (`Firmware6::route_wait`,
//! `address_ready`) follows each capture: the Release a whole number of seconds after
//! the Reply, the detection within 0.5 s of the profile's, and the whole wait within
//! 10 % or 0.5 s once the capture's route wait is given.

mod common;

use pxelab_engine::dhcp::firmware::FirmwareKind;
use pxelab_engine::dhcp6::firmware::model6;
use pxelab_engine::dhcp6::{msg, Message6};
use pxelab_engine::tftp::packet::Packet;

/// (PXE's Reply, the stack's Release after it, the first TFTP read), in seconds.
fn waits(name: &str) -> (f64, f64, f64) {
    let all: Vec<_> = common::fixture::udp_datagrams(name)
        .into_iter()
        .filter(|d| d.ipv6)
        .collect();
    let decode = |p: &[u8]| Message6::decode(p).ok();
    // PXE's Request carries option 16 (the stack's does not); its Reply has its xid.
    let (req_t, req) = all
        .iter()
        .filter(|d| d.dst_port == 547)
        .filter_map(|d| decode(&d.payload).map(|m| (d.t, m)))
        .find(|(_, m)| m.msg_type() == msg::REQUEST && m.option(16).is_some())
        .unwrap_or_else(|| panic!("{name}: no PXE Request"));
    let xid = |m: &Message6| match m {
        Message6::Client { xid, .. } => *xid,
        _ => [0; 3],
    };
    let reply = all
        .iter()
        .filter(|d| d.t >= req_t && d.dst_port == 546)
        .find(|d| {
            decode(&d.payload).is_some_and(|m| m.msg_type() == msg::REPLY && xid(&m) == xid(&req))
        })
        .unwrap_or_else(|| panic!("{name}: no Reply to PXE's Request"))
        .t;
    let release = all
        .iter()
        .filter(|d| d.t >= reply && d.dst_port == 547)
        .find(|d| decode(&d.payload).is_some_and(|m| m.msg_type() == msg::RELEASE))
        .unwrap_or_else(|| panic!("{name}: no Release after PXE's Reply"))
        .t;
    let rrq = all
        .iter()
        .filter(|d| d.t >= reply && d.dst_port == 69)
        .find(|d| matches!(Packet::parse(&d.payload), Ok(Packet::Rrq(_))))
        .unwrap_or_else(|| panic!("{name}: no read request"))
        .t;
    (reply, release, rrq)
}

fn follows(kind: FirmwareKind, name: &str) {
    let m = model6(kind);
    let (reply, release, rrq) = waits(name);
    // The route checks: the Release (the manual policy) whole seconds after the Reply.
    let route = release - reply;
    let checks = route.round();
    assert!(
        (route - checks).abs() < 0.05,
        "{name}: the Release {route:.3} s after the Reply, not after whole route checks"
    );
    // Duplicate address detection: from the Release to the read.
    let dad = rrq - release;
    let ready = m.address_ready.as_secs_f64();
    assert!(
        (dad - ready).abs() <= 0.5,
        "{name}: the address checked in {dad:.3} s, the profile's {ready:.3} s"
    );
    // The whole wait, the capture's route wait given (the built-in profile's is the
    // lab's, none).
    assert_eq!(
        m.route_wait.as_secs_f64(),
        0.0,
        "{name}: the lab's route wait"
    );
    let model = checks + ready;
    let real = rrq - reply;
    assert!(
        (model - real).abs() <= (real * 0.1).max(0.5),
        "{name}: Reply to read {real:.3} s, the model {model:.3} s"
    );
}

#[test]
fn ovmf_x64_waits_one_route_check_then_checks_its_address() {
    follows(FirmwareKind::UefiX64, "uefi-x64-pxe6");
}

#[test]
fn ovmf_ia32_waits_three_route_checks_then_checks_its_address() {
    follows(FirmwareKind::UefiIa32, "uefi-ia32-pxe6");
}

#[test]
fn aavmf_has_its_route_at_once_then_checks_its_address() {
    follows(FirmwareKind::UefiArm64, "uefi-arm64-pxe6");
}
