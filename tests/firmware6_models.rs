//! The IPv6 PXE firmware models (the built-in profiles' `dhcp6:`, `profiles/*.yaml`) against the captures
//! of the real firmware booting over PXEv6 (`tests/fixtures/firmware/*-pxe6.pcap`,
//! `scripts/capture-netboot.sh`): the PXE Solicit and Request carry the same options in
//! the same order with the same values, the DUID is the one the firmware writes (R-V6-2),
//! the Advertise collection window and the Request's timing are the captured ones, and
//! TFTP over IPv6 asks for the same options (R-V6-5).

mod common;

use pxelab_engine::dhcp::firmware::FirmwareKind;
use pxelab_engine::dhcp6::firmware::{model6, Firmware6, Offer6};
use pxelab_engine::dhcp6::{msg, Message6};
use pxelab_engine::tftp::packet::Packet;
use pxelab_engine::{Guid, Mac};

const MAC: &str = "52:54:00:12:34:56";
const UUID: &str = "00112233-4455-6677-8899-aabbccddeeff";

/// (seconds, UDP destination port, payload) of each IPv6 UDP datagram.
fn datagrams(name: &str) -> Vec<(f64, u16, Vec<u8>)> {
    common::fixture::udp_datagrams(name)
        .into_iter()
        .filter(|d| d.ipv6)
        .map(|d| (d.t, d.dst_port, d.payload))
        .collect()
}

struct Capture {
    /// The PXE exchange's messages (those with option 16): (time, message).
    solicit: (f64, Message6),
    advertise: (f64, Message6),
    request: (f64, Message6),
    rrqs: Vec<Vec<(String, String)>>,
}

fn capture(name: &str) -> Capture {
    let mut pxe_xids = Vec::new();
    let mut solicit = None;
    let mut advertise = None;
    let mut request = None;
    let mut rrqs = Vec::new();
    for (t, port, payload) in datagrams(name) {
        match port {
            546 | 547 => {
                let Ok(m) = Message6::decode(&payload) else {
                    continue;
                };
                let Message6::Client { msg_type, xid, .. } = &m else {
                    continue;
                };
                let pxe = m.option(16).is_some();
                match *msg_type {
                    msg::SOLICIT if pxe && solicit.is_none() => {
                        pxe_xids.push(*xid);
                        solicit = Some((t, m));
                    }
                    msg::ADVERTISE if pxe_xids.contains(xid) && advertise.is_none() => {
                        advertise = Some((t, m))
                    }
                    msg::REQUEST if pxe && request.is_none() => request = Some((t, m)),
                    _ => {}
                }
            }
            69 => {
                if let Ok(Packet::Rrq(r)) = Packet::parse(&payload) {
                    rrqs.push(r.options.clone());
                }
            }
            _ => {}
        }
    }
    Capture {
        solicit: solicit.unwrap_or_else(|| panic!("{name}: no PXE Solicit")),
        advertise: advertise.unwrap_or_else(|| panic!("{name}: no Advertise to it")),
        request: request.unwrap_or_else(|| panic!("{name}: no PXE Request")),
        rrqs,
    }
}

fn codes(m: &Message6) -> Vec<u16> {
    m.options().iter().map(|o| o.code).collect()
}

/// The IAID of a message's IA_NA (EDK2's is random: the model is given the capture's).
fn iaid(m: &Message6) -> u32 {
    let ia = m.option(3).expect("an IA_NA");
    u32::from_be_bytes([ia[0], ia[1], ia[2], ia[3]])
}

fn xid(m: &Message6) -> [u8; 3] {
    match m {
        Message6::Client { xid, .. } => *xid,
        _ => panic!("not a client message"),
    }
}

fn compare(kind: FirmwareKind, name: &str) -> (&'static Firmware6, Capture) {
    let real = capture(name);
    let m = model6(kind);
    let mac: Mac = MAC.parse().unwrap();
    let guid: Guid = UUID.parse().unwrap();
    let s = &real.solicit.1;
    let model = Message6::decode(&m.solicit(
        mac,
        Some(guid),
        xid(s),
        0,
        m.fixed_iaid(mac).unwrap_or(iaid(s)),
    ))
    .unwrap();
    assert_eq!(codes(&model), codes(s), "{name}: Solicit option order");
    for code in [1u16, 6, 8, 15, 16, 61, 62] {
        assert_eq!(
            model.option(code),
            s.option(code),
            "{name}: Solicit option {code}"
        );
    }
    // IA_NA: the IAID is random in EDK2; T1 and T2 are the firmware's.
    assert_eq!(
        model.option(3).unwrap()[4..],
        s.option(3).unwrap()[4..],
        "{name}: Solicit IA_NA T1, T2"
    );
    if m.duid_network_order {
        assert_eq!(model.option(3), s.option(3), "{name}: iPXE's IAID");
    }
    // The Request for the Advertise's address: the server's id and IA repeated.
    let adv = Offer6::read(&real.advertise.1).expect("an Advertise");
    assert!(
        adv.address.is_some(),
        "{name}: the Advertise gives an address"
    );
    let r = &real.request.1;
    let elapsed = u16::from_be_bytes(r.option(8).unwrap().try_into().unwrap());
    let model = Message6::decode(&m.request(
        mac,
        Some(guid),
        xid(r),
        elapsed,
        &adv.server_id,
        adv.ia.as_deref().unwrap(),
    ))
    .unwrap();
    assert_eq!(codes(&model), codes(r), "{name}: Request option order");
    for code in [1u16, 2, 3, 6, 8, 15, 16, 61, 62] {
        assert_eq!(
            model.option(code),
            r.option(code),
            "{name}: Request option {code}"
        );
    }
    if !m.request_elapsed {
        assert_eq!(
            elapsed, 0,
            "{name}: EDK2's Request starts its elapsed time anew"
        );
    }
    (m, real)
}

/// EDK2 collects Advertises until its first retransmission time (4.83 to 4.88 s in the
/// captures) and then requests; the model's window is within 0.1 s of each capture.
fn edk2(kind: FirmwareKind, name: &str) {
    let (m, real) = compare(kind, name);
    let waited = real.request.0 - real.solicit.0;
    let model = m.collect.expect("EDK2 collects").as_secs_f64();
    assert!(
        (waited - model).abs() < 0.1,
        "{name}: Request {waited:.3} s after the Solicit, the model {model:.3} s"
    );
    assert!(
        real.advertise.0 - real.solicit.0 < 1.0,
        "{name}: the Advertise came at once"
    );
    // TFTP over IPv6: the size probe, then the read, with blksize 1228 (R-V6-5).
    let own = |o: &[(&str, &str)]| -> Vec<(String, String)> {
        o.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    assert_eq!(real.rrqs.len(), 2, "{name}: two read requests");
    assert_eq!(real.rrqs[0], own(m.tftp_probe.unwrap()), "{name}: probe");
    assert_eq!(real.rrqs[1], own(m.tftp_options), "{name}: read");
}

#[test]
fn uefi_x64_pxe6_model_matches_the_capture() {
    edk2(FirmwareKind::UefiX64, "uefi-x64-pxe6");
}

#[test]
fn uefi_ia32_pxe6_model_matches_the_capture() {
    edk2(FirmwareKind::UefiIa32, "uefi-ia32-pxe6");
}

#[test]
fn uefi_arm64_pxe6_model_matches_the_capture() {
    edk2(FirmwareKind::UefiArm64, "uefi-arm64-pxe6");
}

/// iPXE requests the first Advertise at once and reads with blksize 1432 tsize 0.
#[test]
fn bios_x64_pxe6_model_matches_the_capture() {
    let (m, real) = compare(FirmwareKind::BiosX64, "bios-x64-pxe6");
    assert!(m.collect.is_none());
    assert!(
        real.request.0 - real.advertise.0 < 0.1,
        "iPXE requests at once after the Advertise"
    );
    let elapsed = u16::from_be_bytes(real.request.1.option(8).unwrap().try_into().unwrap());
    let took_cs = ((real.request.0 - real.solicit.0) * 100.0).round() as u16;
    assert!(
        elapsed.abs_diff(took_cs) <= 1,
        "iPXE's elapsed time is real: {elapsed} cs"
    );
    let want: Vec<(String, String)> = m
        .tftp_options
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    assert_eq!(real.rrqs, vec![want]);
}

/// The captured EDK2 Solicit's DUID decodes to QEMU's UUID in option 97's order, iPXE's
/// in network order (R-V6-2), which is what the models write.
#[test]
fn the_duid_uuid_byte_orders_are_the_firmwares() {
    let guid: Guid = UUID.parse().unwrap();
    let edk2 = capture("uefi-x64-pxe6")
        .solicit
        .1
        .option(1)
        .unwrap()
        .to_vec();
    let mut want = vec![0, 4];
    want.extend(guid.to_pxe_bytes());
    assert_eq!(edk2, want);
    let ipxe = capture("bios-x64-pxe6")
        .solicit
        .1
        .option(1)
        .unwrap()
        .to_vec();
    let mut want = vec![0, 4];
    want.extend(guid.0);
    assert_eq!(ipxe, want);
}
