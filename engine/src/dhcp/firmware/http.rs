//! The UEFI firmware's HTTP boot over IPv4 (EDK2 `NetworkPkg/HttpBootDxe` over
//! `Dhcp4Dxe`): its DHCP DISCOVER and REQUEST, as captured from OVMF x64, OVMF IA32 and
//! AAVMF (`tests/fixtures/firmware/*-http4.pcap`, docs/MODEL.md's last section).
//!
//! The same packets as EDK2's PXE ([`super::model`]) but for: option 60
//! `HTTPClient:Arch:000NN:UNDI:003000`, option 93 16 / 15 / 19 (`HttpBootDhcp4.c`'s
//! `HttpBootBuildDhcp4Options`), option 57 1472 in the REQUEST too, and option 55 with
//! 59, 60, then a 25th entry that `HttpBootDxe` never writes (`ParaList[24]`: whatever
//! byte was in memory, 235 on x64 and 0 on IA32 and arm64 in the captures), 67 and 97.

use super::{edk2, FirmwareKind, FirmwareModel};

/// `HttpBootDxe`'s parameter request list with the unwritten 25th entry as captured.
const fn prl(unwritten: u8) -> [u8; 27] {
    [
        1, 2, 3, 4, 5, 6, 12, 13, 15, 17, 18, 22, 23, 28, 40, 41, 42, 43, 50, 51, 54, 58, 59, 60,
        unwritten, 67, 97,
    ]
}

static PRL_X64: [u8; 27] = prl(235);
static PRL_OTHER: [u8; 27] = prl(0);

const fn http(
    kind: FirmwareKind,
    name: &'static str,
    arch: u16,
    vendor_class: &'static str,
    prl: &'static [u8],
) -> FirmwareModel {
    let mut m = edk2(kind, name, arch, vendor_class);
    m.param_request_list = prl;
    m.request_max_msg_size = Some(1472);
    // No TFTP: the boot file comes by HTTP.
    m.tftp_options = &[];
    m.tftp_size_probe = false;
    m
}

static UEFI_X64: FirmwareModel = http(
    FirmwareKind::UefiX64,
    "uefi-x64",
    16,
    "HTTPClient:Arch:00016:UNDI:003000",
    &PRL_X64,
);
static UEFI_IA32: FirmwareModel = http(
    FirmwareKind::UefiIa32,
    "uefi-ia32",
    15,
    "HTTPClient:Arch:00015:UNDI:003000",
    &PRL_OTHER,
);
static UEFI_ARM64: FirmwareModel = http(
    FirmwareKind::UefiArm64,
    "uefi-arm64",
    19,
    "HTTPClient:Arch:00019:UNDI:003000",
    &PRL_OTHER,
);

/// The HTTP boot model of a firmware; `None` for BIOS (no UEFI HTTP boot option).
/// Build its packets with [`super::build_discover`] and [`super::build_request`].
pub fn http_model(f: FirmwareKind) -> Option<&'static FirmwareModel> {
    match f {
        FirmwareKind::BiosX64 | FirmwareKind::BiosX86 => None,
        FirmwareKind::UefiX64 => Some(&UEFI_X64),
        FirmwareKind::UefiIa32 => Some(&UEFI_IA32),
        FirmwareKind::UefiArm64 => Some(&UEFI_ARM64),
    }
}

/// The boot file URL of an offer that `HttpBootDxe` takes as an HTTP offer: option 60
/// `HTTPClient` and a URL in option 67 or `file` (`HttpBootParseDhcp4Packet`); `None`
/// for any other offer.
pub fn offer_url(p: &crate::dhcp::DhcpPacket) -> Option<String> {
    if !p.is_http_client() {
        return None;
    }
    let text = |b: &[u8]| {
        String::from_utf8_lossy(b)
            .trim_end_matches('\0')
            .to_string()
    };
    let url = p
        .option(67)
        .map(|f| text(&f))
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| text(p.file_lossy().as_bytes()));
    (url.starts_with("http://") || url.starts_with("https://")).then_some(url)
}
