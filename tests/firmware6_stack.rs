//! EDK2's IPv6 stack's own DHCPv6 exchange (`engine/src/dhcp6/stack_firmware.rs`)
//! against the PXEv6 captures of OVMF x64, OVMF IA32 and AAVMF: the model's Solicit,
//! Request and Release are the captured ones byte for byte (given the capture's random
//! IAID and transaction ids), the transaction ids of both exchanges come from one
//! counter, and the order of the two exchanges and the Release's time are the model's.

mod common;

use pxelab_engine::dhcp::firmware::FirmwareKind;
use pxelab_engine::dhcp6::firmware::{model6, Offer6};
use pxelab_engine::dhcp6::stack_firmware::{self as stack, stack_timing};
use pxelab_engine::dhcp6::{msg, Message6};
use pxelab_engine::{Guid, Mac};

/// (seconds, payload, DHCPv6 message) of each DHCPv6 datagram of a capture.
fn dhcp6(name: &str) -> Vec<(f64, Vec<u8>, Message6)> {
    common::fixture::udp_datagrams(name)
        .into_iter()
        .filter(|d| matches!(d.dst_port, 546 | 547))
        .filter_map(|d| {
            Message6::decode(&d.payload)
                .ok()
                .map(|m| (d.t, d.payload, m))
        })
        .collect()
}

fn xid(m: &Message6) -> [u8; 3] {
    match m {
        Message6::Client { xid, .. } => *xid,
        _ => panic!("not a client message"),
    }
}

fn check(kind: FirmwareKind, name: &str) {
    let all = dhcp6(name);
    let find = |t: u8, pxe: bool| {
        all.iter()
            .find(|(_, _, m)| m.msg_type() == t && m.option(16).is_some() == pxe)
            .unwrap_or_else(|| panic!("{name}: no message {t} (PXE {pxe})"))
    };
    let (t_sol, raw_sol, sol) = find(msg::SOLICIT, false);
    let (_, raw_req, req) = find(msg::REQUEST, false);
    let (t_rel, raw_rel, rel) = find(msg::RELEASE, false);
    let (t_pxe, _, pxe_sol) = find(msg::SOLICIT, true);
    let (_, _, pxe_req) = find(msg::REQUEST, true);
    let t_pxe_reply = all
        .iter()
        .find(|(_, _, m)| m.msg_type() == msg::REPLY && xid(m) == xid(pxe_req))
        .expect("PXE's Reply")
        .0;
    let adv = all
        .iter()
        .find(|(_, _, m)| m.msg_type() == msg::ADVERTISE && xid(m) == xid(sol))
        .map(|(_, _, m)| Offer6::read(m).unwrap())
        .expect("the stack's Advertise");
    let mac: Mac = "52:54:00:12:34:56".parse().unwrap();
    let guid: Guid = "00112233-4455-6677-8899-aabbccddeeff".parse().unwrap();
    let duid = model6(kind).duid(mac, Some(guid));
    let ia = sol.option(3).unwrap();
    let iaid = u32::from_be_bytes([ia[0], ia[1], ia[2], ia[3]]);
    let server_ia = adv.ia.as_deref().unwrap();
    assert_eq!(
        &stack::solicit(&duid, xid(sol), iaid, 0),
        raw_sol,
        "{name}: Solicit"
    );
    assert_eq!(
        &stack::request(&duid, xid(req), 0, &adv.server_id, server_ia),
        raw_req,
        "{name}: Request"
    );
    assert_eq!(
        &stack::release(&duid, xid(rel), &adv.server_id, server_ia),
        raw_rel,
        "{name}: Release"
    );
    assert_ne!(
        pxe_sol.option(3).unwrap()[..4],
        ia[..4],
        "{name}: PXE's IAID is another"
    );
    // One counter: each new message of either exchange takes the next id.
    let mut ids: Vec<[u8; 3]> = all
        .iter()
        .filter(|(_, _, m)| matches!(m.msg_type(), 1 | 3 | 8))
        .map(|(_, _, m)| xid(m))
        .collect();
    ids.dedup();
    for w in ids.windows(2) {
        assert_eq!(w[1], stack::next_xid(w[0]), "{name}: xids {ids:02x?}");
    }
    let t = stack_timing(kind).unwrap();
    let model_gap = t.boot_solicit.as_secs_f64() - t.stack_solicit.as_secs_f64();
    assert!(
        ((t_pxe - t_sol) - model_gap).abs() < 0.06,
        "{name}: PXE's Solicit {:.3} s after the stack's, the model {model_gap:.3}",
        t_pxe - t_sol
    );
    // The Release goes when PXE sets its address: after whole seconds of route checks
    // (the captures' dnsmasq advertised late: tests/firmware6_address_wait.rs), then
    // the model's delay.
    let release = t_rel - t_pxe_reply;
    let after = release - release.round();
    assert!(
        (after - t.release_after_policy.as_secs_f64()).abs() < 0.04,
        "{name}: Release {release:.3} s after PXE's Reply"
    );
}

#[test]
fn ovmf_x64_stack_exchange_matches_the_capture() {
    check(FirmwareKind::UefiX64, "uefi-x64-pxe6");
}

#[test]
fn ovmf_ia32_stack_exchange_matches_the_capture() {
    check(FirmwareKind::UefiIa32, "uefi-ia32-pxe6");
}

#[test]
fn aavmf_stack_exchange_matches_the_capture() {
    check(FirmwareKind::UefiArm64, "uefi-arm64-pxe6");
}

/// The race: AAVMF's PXE and its stack were advertised one address; the stack's
/// Request bound it, and PXE's Request was answered NoAddrsAvail at each of its eleven
/// tries (the model's `request_gap`), after which AAVMF gave up.
#[test]
fn aavmf_noaddrs_race_is_the_models() {
    let all = dhcp6("uefi-arm64-pxe6-noaddrs");
    let pxe_reqs: Vec<f64> = all
        .iter()
        .filter(|(_, _, m)| m.msg_type() == msg::REQUEST && m.option(16).is_some())
        .map(|(t, ..)| *t)
        .collect();
    assert_eq!(pxe_reqs.len(), 11);
    let m = model6(FirmwareKind::UefiArm64);
    let mut at = 0.0;
    for (n, t) in pxe_reqs.iter().enumerate() {
        assert!((t - pxe_reqs[0] - at).abs() < 1.5, "Request {n} at {t}");
        at += m.request_gap(n as u32).unwrap().as_secs_f64();
    }
    assert!(m.request_gap(11).is_none());
}
