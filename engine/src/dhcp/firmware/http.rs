//! The UEFI firmware's HTTP boot over IPv4 (EDK2 `NetworkPkg/HttpBootDxe` over
//! `Dhcp4Dxe`): its DHCP DISCOVER and REQUEST, as captured from OVMF x64, OVMF IA32 and
//! AAVMF (`tests/fixtures/firmware/*-http4.pcap`, docs/MODEL.md's last section).
//!
//! The same packets as EDK2's PXE ([`super::model`]) but for (the profiles' `http4:`): option 60
//! `HTTPClient:Arch:000NN:UNDI:003000`, option 93 16 / 15 / 19 (`HttpBootDhcp4.c`'s
//! `HttpBootBuildDhcp4Options`), option 57 1472 in the REQUEST too, and option 55 with
//! 59, 60, then a 25th entry that `HttpBootDxe` never writes (`ParaList[24]`: whatever
//! byte was in memory, 235 on x64 and 0 on IA32 and arm64 in the captures), 67 and 97.

use super::{FirmwareKind, FirmwareModel};

/// The HTTP boot model of a firmware (its built-in profile's `http4:`); `None` for BIOS
/// (no UEFI HTTP boot option). Build its packets with [`super::build_discover`] and
/// [`super::build_request`].
pub fn http_model(f: FirmwareKind) -> Option<&'static FirmwareModel> {
    super::profile::builtin(f).http4.as_ref()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dhcp::{build_proxy_offer, parse, ProxyParams};
    use std::net::Ipv4Addr;

    fn discover(kind: FirmwareKind) -> crate::dhcp::DhcpPacket {
        let m = http_model(kind).unwrap();
        let mac = "52:54:00:12:34:56".parse().unwrap();
        parse(&super::super::build_discover(m, mac, None, 7, 0)).unwrap()
    }

    #[test]
    fn r_http_1_the_http_models_announce_httpclient_and_their_arch() {
        for (kind, arch) in [
            (FirmwareKind::UefiX64, 16),
            (FirmwareKind::UefiIa32, 15),
            (FirmwareKind::UefiArm64, 19),
        ] {
            let d = discover(kind);
            assert!(d.is_http_client() && !d.is_pxe_client(), "{kind:?}");
            assert_eq!(d.client_arch, vec![arch], "{kind:?}");
        }
        assert!(http_model(FirmwareKind::BiosX64).is_none());
    }

    #[test]
    fn r_http_1_the_firmware_takes_an_offer_with_httpclient_and_a_url_only() {
        let server = Ipv4Addr::new(10, 0, 0, 5);
        let d = discover(FirmwareKind::UefiX64);
        let url = "http://10.0.0.5:8080/smsboot/x64/bootmgfw.efi";
        let http = parse(&crate::dhcp::proxy::build_http_offer(&d, server, url)).unwrap();
        assert_eq!(offer_url(&http).as_deref(), Some(url));
        // A URL too long for `file` is read from option 67 alone.
        let long = format!("http://10.0.0.5/{}", "a".repeat(200));
        let http = parse(&crate::dhcp::proxy::build_http_offer(&d, server, &long)).unwrap();
        assert_eq!(offer_url(&http), Some(long));
        // A PXE proxy offer is not an HTTP offer.
        let pxe = parse(&build_proxy_offer(&d, &ProxyParams::new(server, None))).unwrap();
        assert_eq!(offer_url(&pxe), None);
    }
}
