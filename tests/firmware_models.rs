//! The simulator's firmware models (the built-in firmware profiles, `profiles/*.yaml`,
//! docs/PROFILES.md) against captures of the real firmware
//! (`scripts/capture-firmware.sh`, pcaps in `tests/fixtures/firmware/`): the DHCP
//! DISCOVER and REQUEST carry the same options in the same order with the same values,
//! option 97 decodes to the GUID QEMU was given (R-ID-1), and the TFTP read request asks
//! for the same options.

mod common;

use common::fixture::udp_datagrams;
use pxelab_engine::dhcp::firmware::{self, FirmwareKind};
use pxelab_engine::dhcp::packet::{self, DhcpPacket, MessageType};
use pxelab_engine::tftp::packet::Packet;
use pxelab_engine::{Guid, Mac};
use std::net::Ipv4Addr;

const MAC: &str = "52:54:00:12:34:56";
const UUID: &str = "00112233-4455-6677-8899-aabbccddeeff";

struct Capture {
    discover: DhcpPacket,
    request: Option<DhcpPacket>,
    /// The options of each TFTP read request, in order.
    rrqs: Vec<Vec<(String, String)>>,
    /// Error codes the client sent to the TFTP server.
    client_errors: Vec<u16>,
}

fn capture(name: &str) -> Capture {
    let mut discover = None;
    let mut request = None;
    let mut rrqs = Vec::new();
    let mut client_errors = Vec::new();
    for d in udp_datagrams(name) {
        let (dport, payload) = (d.dst_port, d.payload);
        if dport == 67 {
            let Ok(p) = packet::parse(&payload) else {
                continue;
            };
            if p.op != 1 {
                continue;
            }
            match p.message_type {
                Some(MessageType::Discover) if discover.is_none() => discover = Some(p),
                Some(MessageType::Request) if request.is_none() => request = Some(p),
                _ => {}
            }
        } else if dport == 69 {
            match Packet::parse(&payload) {
                Ok(Packet::Rrq(r)) => rrqs.push(r.options.clone()),
                Ok(Packet::Error { code, .. }) => client_errors.push(code),
                _ => {}
            }
        }
    }
    Capture {
        discover: discover.unwrap_or_else(|| panic!("{name}: no DHCP DISCOVER in the capture")),
        request,
        rrqs,
        client_errors,
    }
}

fn codes(p: &DhcpPacket) -> Vec<u8> {
    p.options.iter().map(|(c, _)| *c).collect()
}

fn compare(kind: FirmwareKind, name: &str) {
    let real = capture(name);
    let m = firmware::model(kind);
    let mac: Mac = MAC.parse().unwrap();
    let guid: Guid = UUID.parse().unwrap();
    let d = &real.discover;
    // R-ID-1: option 97 as the firmware sends it decodes to the GUID QEMU was given.
    assert_eq!(d.client_guid, Some(guid), "{name}: option 97");
    let model =
        packet::parse(&firmware::build_discover(m, mac, Some(guid), d.xid, d.secs)).unwrap();
    assert_eq!(codes(&model), codes(d), "{name}: DISCOVER option order");
    for code in [53u8, 55, 57, 60, 93, 94, 97] {
        assert_eq!(
            model.option(code),
            d.option(code),
            "{name}: DISCOVER option {code}"
        );
    }
    assert_eq!(model.vendor_class, d.vendor_class, "{name}: vendor class");
    assert_eq!(model.client_arch, d.client_arch, "{name}: option 93");
    assert_eq!(model.flags, d.flags, "{name}: DISCOVER flags");
    if let Some(req) = &real.request {
        let server = req.server_id.unwrap_or(Ipv4Addr::new(10, 0, 2, 2));
        let yiaddr = req.requested_ip.unwrap_or(Ipv4Addr::new(10, 0, 2, 15));
        let model = packet::parse(&firmware::build_request(
            m,
            mac,
            Some(guid),
            req.xid,
            req.secs,
            yiaddr,
            server,
        ))
        .unwrap();
        assert_eq!(codes(&model), codes(req), "{name}: REQUEST option order");
        for code in [50u8, 54, 55, 57, 60, 93, 94, 97] {
            assert_eq!(
                model.option(code),
                req.option(code),
                "{name}: REQUEST option {code}"
            );
        }
    }
    assert!(
        !real.rrqs.is_empty(),
        "{name}: no TFTP read request in the capture"
    );
    let want: Vec<(String, String)> = m
        .tftp_options
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    assert_eq!(want, real.rrqs[0], "{name}: first TFTP read request");
    if m.tftp_size_probe {
        // The size probe is aborted with error 8, then the file is read without tsize.
        assert_eq!(
            real.client_errors.first(),
            Some(&8),
            "{name}: probe aborted with error 8"
        );
        assert_eq!(
            real.rrqs.get(1),
            Some(&m.tftp_download_options()),
            "{name}: download request"
        );
    } else {
        assert!(real.client_errors.is_empty(), "{name}: no abort expected");
        assert_eq!(
            m.tftp_download_options(),
            real.rrqs[0],
            "{name}: download request"
        );
    }
}

#[test]
fn bios_x64_model_matches_seabios_ipxe() {
    compare(FirmwareKind::BiosX64, "bios-x64");
}

#[test]
fn bios_x86_model_matches_seabios_ipxe() {
    compare(FirmwareKind::BiosX86, "bios-x86");
}

#[test]
fn uefi_x64_model_matches_ovmf() {
    compare(FirmwareKind::UefiX64, "uefi-x64");
}

#[test]
fn uefi_ia32_model_matches_ovmf_ia32() {
    compare(FirmwareKind::UefiIa32, "uefi-ia32");
}

#[test]
fn uefi_arm64_model_matches_aavmf() {
    compare(FirmwareKind::UefiArm64, "uefi-arm64");
}

/// The read requests of a lab run (`pxelab run --lab ... --pcap DIR`, filtered to UDP
/// port 69): the firmware's own read of the boot program, then the boot program's reads
/// through the firmware's PXE interface (its parameters file, then the boot image).
fn lab_rrqs(name: &str) -> Vec<(String, Vec<(String, String)>)> {
    udp_datagrams(name)
        .into_iter()
        .filter_map(|d| match Packet::parse(&d.payload) {
            Ok(Packet::Rrq(r)) => Some((
                String::from_utf8_lossy(r.filename).into_owned(),
                r.options.clone(),
            )),
            _ => None,
        })
        .collect()
}

fn boot_program_reads_match(kind: FirmwareKind, name: &str, block_size: u16) {
    let m = firmware::model(kind);
    let rrqs = lab_rrqs(name);
    let params = rrqs
        .iter()
        .find(|(f, _)| f.starts_with("smstemp/"))
        .unwrap_or_else(|| panic!("{name}: no parameters read"));
    assert_eq!(
        params.1,
        m.boot_program_options(None),
        "{name}: parameters read"
    );
    let image = rrqs
        .iter()
        .find(|(f, _)| f.starts_with("smsimages/"))
        .unwrap_or_else(|| panic!("{name}: no boot image read"));
    assert_eq!(
        image.1,
        m.boot_program_options(Some(block_size)),
        "{name}: boot image read asking for block size {block_size}"
    );
}

#[test]
fn boot_program_reads_through_ipxe_match_the_lab() {
    // scenarios/lab/bios-x64.yaml: the responder's default block size, 4096.
    boot_program_reads_match(FirmwareKind::BiosX64, "lab-bios-x64-rrq", 4096);
}

#[test]
fn boot_program_reads_through_edk2_match_the_lab() {
    // scenarios/lab/large-image-uefi.yaml: block size 8192.
    boot_program_reads_match(FirmwareKind::UefiX64, "lab-uefi-x64-rrq", 8192);
}
