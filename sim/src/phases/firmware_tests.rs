//! The phase reader on the real firmware's captures (tests/fixtures/firmware, QEMU's
//! own pcaps of OVMF, OVMF IA32, AAVMF and iPXE, scripts/capture-netboot.sh). A
//! capture starts when QEMU does, so its first record stands for power-on. Their boot
//! program is a stub that reads nothing, so only the firmware's phases are there.

use super::wire;
use super::{netboot_phases, phase_names, Phases};
use pxelab_scenario::Netboot;
use std::path::Path;

const CLIENT: [u8; 6] = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];

/// The phases of the one boot in a fixture, its first record at 0.
fn fixture(name: &str, netboot: Netboot) -> Phases {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/firmware")
        .join(name);
    let file = std::fs::File::open(&path).expect("fixture");
    let mut r = pcap_file::pcap::PcapReader::new(file).expect("a pcap");
    let frac = if r.header().ts_resolution == pcap_file::TsResolution::NanoSecond {
        1e-9
    } else {
        1e-6
    };
    let first = r.next_raw_packet().expect("a record").expect("readable");
    let clock0 = f64::from(first.ts_sec) + f64::from(first.ts_frac) * frac;
    let packets = wire::read(&path, clock0, CLIENT).expect("readable");
    netboot_phases(&packets, 0.0, netboot)
}

/// Each phase of `netboot` in order, to the millisecond as tshark reads the capture.
fn assert_phases(name: &str, netboot: Netboot, want: [Option<f64>; 4]) -> Phases {
    let p = fixture(name, netboot);
    for (phase, want) in phase_names(netboot).into_iter().zip(want) {
        let got = p.get(phase);
        let same = match (got, want) {
            (Some(g), Some(w)) => (g - w).abs() < 0.0005,
            (g, w) => g.is_none() && w.is_none(),
        };
        assert!(same, "{name}: {phase} {got:?}, want {want:?}: {p:?}");
    }
    p
}

#[test]
fn pxe6_phases_are_the_first_solicit_and_the_boot_programs_tftp_read_over_ipv6() {
    // OVMF x64 and IA32: the IPv6 stack's own Solicit first, PXE's 2.3 s later; the
    // size probe's read at 20.128 s, the last of three blocks at 20.141 s.
    assert_phases(
        "uefi-x64-pxe6.pcap",
        Netboot::Pxe6,
        [Some(9.629), None, Some(0.0129), None],
    );
    assert_phases(
        "uefi-ia32-pxe6.pcap",
        Netboot::Pxe6,
        [Some(9.119), None, Some(0.0057), None],
    );
    // AAVMF: PXE's Solicit first (the stack's 0.9 s later), 2 s between the read and
    // the first block.
    assert_phases(
        "uefi-arm64-pxe6.pcap",
        Netboot::Pxe6,
        [Some(6.077), None, Some(2.0366), None],
    );
    // iPXE: its Solicit after the router advertisement, one read without a probe.
    let ipxe = assert_phases(
        "bios-x64-pxe6.pcap",
        Netboot::Pxe6,
        [Some(3.278), None, Some(0.0238), None],
    );
    // DATA to ACK: 0.195, 0.069 and 0.034 ms, one frame each.
    assert!(
        ipxe.per_packet
            .is_some_and(|t| (t - 0.000_099_3).abs() < 1e-6),
        "{ipxe:?}"
    );
    // AAVMF's Request refused (NoAddrsAvail): a Solicit and nothing read.
    assert_phases(
        "uefi-arm64-pxe6-noaddrs.pcap",
        Netboot::Pxe6,
        [Some(5.980), None, None, None],
    );
}

#[test]
fn http4_phases_run_from_the_discover_to_the_get_of_the_boot_program_and_its_last_byte() {
    // The HEAD of boot.efi on one connection, its GET on the next; the response's last
    // segment 0.4 ms after the GET.
    assert_phases(
        "uefi-x64-http4.pcap",
        Netboot::Http4,
        [Some(5.642), Some(3.9454), Some(0.0004), None],
    );
    assert_phases(
        "uefi-ia32-http4.pcap",
        Netboot::Http4,
        [Some(5.432), Some(3.9033), Some(0.0006), None],
    );
    assert_phases(
        "uefi-arm64-http4.pcap",
        Netboot::Http4,
        [Some(7.5995), Some(3.8272), Some(0.0044), None],
    );
}

#[test]
fn http6_phases_start_at_the_http_boot_options_solicit_after_httpv4_gave_up() {
    // HTTPv4 runs first (DISCOVERs from 7.7 s, given up 60 s later); the HTTPv6
    // Solicit with vendor class HTTPClient at 70.4 s; then GET of boot.efi over IPv6.
    let p = assert_phases(
        "uefi-x64-http6.pcap",
        Netboot::Http6,
        [Some(70.364), Some(18.1754), Some(0.0006), None],
    );
    assert_eq!(p.power_on_to_discover, None, "no IPv4 phase: {p:?}");
    assert_phases(
        "uefi-ia32-http6.pcap",
        Netboot::Http6,
        [Some(73.6904), Some(7.5929), Some(0.0019), None],
    );
    assert_phases(
        "uefi-arm64-http6.pcap",
        Netboot::Http6,
        [Some(66.034), Some(6.4774), Some(0.0004), None],
    );
}
