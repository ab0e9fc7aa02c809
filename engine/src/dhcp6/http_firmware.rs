//! The firmware's UEFI HTTP boot over IPv6 (netboot `http6`, EDK2's `HttpBootDxe`), as
//! the captures show it (`tests/fixtures/firmware/uefi-*-http6.pcap`): the DHCPv6
//! Solicit and Request of PXE over IPv6 ([`super::firmware`]), option for option and in
//! the same order (1, 8, 3, 6 [59, 60, 23, 16], 62 (1.3.0), 61, 16; the Request adds
//! 2), with the HTTP architecture in option 61 (16 x64, 15 IA32, 19 ARM64) and option
//! 16 `HTTPClient:Arch:000NN:UNDI:003000` (R-HTTP-1). The Request came 5.35, 4.56 and
//! 4.07 s after the Solicit (x64, IA32, ARM64): Dhcp6Dxe's first retransmission time,
//! randomised; the model takes 4.7 s. `HttpBootDxe` takes an Advertise that gives an
//! address and a boot file URL (`HttpOfferTypeDhcpIpUri`) and asks no proxy: it has no
//! port-4011 exchange. Its first TCP SYN came 2.4 to 3.0 s after the Reply (12.8 s once,
//! x64), as the PXE model's address check; it offers MSS 1220 (1280 less 60).

use super::firmware::Firmware6;
use crate::dhcp::firmware::{profile, FirmwareKind};

/// The MSS EDK2's TcpDxe offers over IPv6 (the captures' SYN).
pub const EDK2_MSS6: u16 = 1220;

/// The HTTP-boot-over-IPv6 model of a firmware (its built-in profile's `http6:`);
/// `None` for BIOS (no UEFI HTTP boot).
pub fn http_model6(kind: FirmwareKind) -> Option<&'static Firmware6> {
    profile::builtin(kind).http6.as_ref()
}

/// `http://[addr]:port/path` (R-HTTP-1's IPv6 form): the URL's host is an IPv6 literal.
pub fn is_http6_url(url: &str) -> bool {
    url.strip_prefix("http://[")
        .and_then(|r| r.split_once(']'))
        .is_some_and(|(h, _)| h.parse::<std::net::Ipv6Addr>().is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bios_has_no_http6_model_and_uefi_says_httpclient() {
        assert!(http_model6(FirmwareKind::BiosX64).is_none());
        let m = http_model6(FirmwareKind::UefiArm64).unwrap();
        assert_eq!(
            (m.arch, m.vendor_class),
            (19, "HTTPClient:Arch:00019:UNDI:003000")
        );
        assert!(!m.takes_proxy);
        // The collection ends at the first retransmission (the Solicit that follows).
        assert_eq!(m.collect, m.solicit_at.get(1).copied());
    }

    #[test]
    fn http6_urls_have_an_ipv6_literal() {
        assert!(is_http6_url("http://[fd77::1]/boot.efi"));
        assert!(is_http6_url("http://[fd77::1]:8080/boot.efi"));
        assert!(!is_http6_url("http://10.0.0.1/boot.efi"));
        assert!(!is_http6_url("http://[zz]/a"));
    }
}
