//! The HTTP-boot-over-IPv6 firmware models (the built-in profiles' `http6:`, `profiles/*.yaml`)
//! against the captures of the real firmware (`tests/fixtures/firmware/*-http6.pcap`):
//! the DHCPv6 Solicit and Request carry the same options in the same order with the
//! same values (vendor class `HTTPClient`, R-HTTP-1), the Advertise taken names an
//! `http://[address]/` boot file URL, the Request comes after the collection window,
//! and the TCP SYN offers the modelled MSS.

use pcap_file::pcap::PcapReader;
use pxelab_engine::dhcp::firmware::FirmwareKind;
use pxelab_engine::dhcp6::firmware::Offer6;
use pxelab_engine::dhcp6::http_firmware::{http_model6, is_http6_url, EDK2_MSS6};
use pxelab_engine::dhcp6::{msg, Message6};
use pxelab_engine::{Guid, Mac};
use std::path::PathBuf;

const MAC: &str = "52:54:00:12:34:56";
const UUID: &str = "00112233-4455-6677-8899-aabbccddeeff";

struct Capture {
    /// (seconds, message) of each DHCPv6 message.
    dhcp: Vec<(f64, Message6)>,
    /// MSS options of the client's SYNs (to port 80).
    syn_mss: Vec<u16>,
}

fn capture(name: &str) -> Capture {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join(format!("tests/fixtures/firmware/{name}.pcap"));
    let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut r = PcapReader::new(file).unwrap();
    let (mut dhcp, mut syn_mss) = (Vec::new(), Vec::new());
    while let Some(pkt) = r.next_packet() {
        let pkt = pkt.unwrap();
        let Ok(s) = etherparse::SlicedPacket::from_ethernet(&pkt.data) else {
            continue;
        };
        if !matches!(s.net, Some(etherparse::NetSlice::Ipv6(_))) {
            continue;
        }
        match s.transport {
            Some(etherparse::TransportSlice::Udp(u))
                if matches!(u.destination_port(), 546 | 547) =>
            {
                if let Ok(m) = Message6::decode(u.payload()) {
                    dhcp.push((pkt.timestamp.as_secs_f64(), m));
                }
            }
            Some(etherparse::TransportSlice::Tcp(t))
                if t.syn() && !t.ack() && t.destination_port() == 80 =>
            {
                for o in t.options_iterator().flatten() {
                    if let etherparse::TcpOptionElement::MaximumSegmentSize(m) = o {
                        syn_mss.push(m);
                    }
                }
            }
            _ => {}
        }
    }
    Capture { dhcp, syn_mss }
}

fn first(c: &Capture, t: u8) -> &(f64, Message6) {
    c.dhcp
        .iter()
        .find(|(_, m)| matches!(m, Message6::Client { msg_type, .. } if *msg_type == t))
        .unwrap_or_else(|| panic!("no message {t}"))
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

fn compare(kind: FirmwareKind, name: &str) {
    let real = capture(name);
    let m = http_model6(kind).expect("UEFI has HTTP boot");
    let mac: Mac = MAC.parse().unwrap();
    let guid: Guid = UUID.parse().unwrap();
    let (ts, s) = first(&real, msg::SOLICIT);
    let model = Message6::decode(&m.solicit(mac, Some(guid), xid(s), 0, iaid(s))).unwrap();
    assert_eq!(codes(&model), codes(s), "{name}: Solicit option order");
    for code in [1u16, 6, 8, 16, 61, 62] {
        assert_eq!(
            model.option(code),
            s.option(code),
            "{name}: Solicit option {code}"
        );
    }
    assert_eq!(
        model.option(3).unwrap()[4..],
        s.option(3).unwrap()[4..],
        "{name}: T1, T2"
    );
    let (_, a) = first(&real, msg::ADVERTISE);
    let adv = Offer6::read(a).expect("an Advertise");
    assert!(
        adv.address.is_some(),
        "{name}: the Advertise gives an address"
    );
    let url = adv.boot_file_url.clone().expect("a boot file URL");
    assert!(is_http6_url(&url), "{name}: {url}");
    let (tr, r) = first(&real, msg::REQUEST);
    let model = Message6::decode(&m.request(
        mac,
        Some(guid),
        xid(r),
        0,
        &adv.server_id,
        adv.ia.as_deref().unwrap(),
    ))
    .unwrap();
    assert_eq!(codes(&model), codes(r), "{name}: Request option order");
    for code in [1u16, 2, 3, 6, 8, 16, 61, 62] {
        assert_eq!(
            model.option(code),
            r.option(code),
            "{name}: Request option {code}"
        );
    }
    // Dhcp6Dxe's randomised first retransmission time: 4.07 to 5.35 s in the captures.
    let waited = tr - ts;
    let collect = m.collect.unwrap().as_secs_f64();
    assert!(
        (waited - collect).abs() < 0.7,
        "{name}: Request after {waited:.3} s"
    );
    assert!(!real.syn_mss.is_empty(), "{name}: TCP SYNs");
    assert!(
        real.syn_mss.iter().all(|m| *m == EDK2_MSS6),
        "{name}: {:?}",
        real.syn_mss
    );
}

#[test]
fn uefi_x64_http6_model_matches_the_capture() {
    compare(FirmwareKind::UefiX64, "uefi-x64-http6");
}

#[test]
fn uefi_ia32_http6_model_matches_the_capture() {
    compare(FirmwareKind::UefiIa32, "uefi-ia32-http6");
}

#[test]
fn uefi_arm64_http6_model_matches_the_capture() {
    compare(FirmwareKind::UefiArm64, "uefi-arm64-http6");
}
