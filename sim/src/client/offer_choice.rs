//! Which offers a firmware boots from, once it holds an address offer: a boot server
//! on port 4011 (a BINL proxy offer, or the DHCP server's own option 60), the boot file
//! the DHCP server named itself (options 66/67), or nothing (EDK2 with a PXE10 offer
//! and no boot menu). The firmware matrix (`pxelab matrix`, docs/FIRMWARE-MATRIX.md)
//! checks these against the real firmware.
//!
//! From the sources (nothing copied): EDK2 `PxeBcSelectDhcp4Offer` ranks DhcpPxe10,
//! DhcpOnly + ProxyPxe10, DhcpBinl, DhcpOnly + ProxyBinl, and only then a DhcpOnly offer
//! with a boot file; `PxeBcDiscoverBootFile` aborts a PXE10 offer without a boot menu
//! (boot type 0, "PXE bootstrap server"); see `pxelab_engine::dhcp::pxe_options`. iPXE
//! (`dhcp_discovery_rx`, `dhcp_request_rx`) takes any `PXEClient` offer as its proxy
//! offer and asks on port 4011 unless it already holds a boot menu or a boot file;
//! with no proxy offer it boots the DHCP server's `filename` from `next-server`.

use super::dhcp::Offer;
use pxelab_engine::dhcp::firmware::Stack;
use std::net::Ipv4Addr;

/// What the firmware does after the DHCP ACK.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum BootVia {
    /// Ask this boot server on port 4011.
    Binl(Ipv4Addr),
    /// TFTP this file from this server (the DHCP server named it).
    File(Ipv4Addr, String),
    /// EDK2: a PXE10 proxy offer without a boot menu: PXE gives up after the ACK.
    Abort,
}

/// The PXE parts of the address offer the firmware holds.
pub(crate) struct AddressOffer<'a> {
    /// Option 60 `PXEClient` (R-ANS-2).
    pub pxe: bool,
    pub server: Ipv4Addr,
    /// (TFTP server, boot file) named by the offer.
    pub boot_file: Option<&'a (Ipv4Addr, String)>,
}

/// The first proxy offer: its server, and whether option 43 made it PXE10 for EDK2.
pub(crate) struct ProxyOffer {
    pub server: Ipv4Addr,
    pub pxe10: bool,
}

/// `None`: keep collecting offers.
pub(crate) fn choose(
    stack: Stack,
    offer: &AddressOffer,
    proxy: Option<&ProxyOffer>,
) -> Option<BootVia> {
    match (stack, proxy) {
        (Stack::Edk2, Some(p)) if p.pxe10 => Some(BootVia::Abort),
        (_, Some(p)) => Some(BootVia::Binl(p.server)),
        (_, None) if offer.pxe => Some(BootVia::Binl(offer.server)),
        (_, None) => offer.boot_file.map(|(s, f)| BootVia::File(*s, f.clone())),
    }
}

/// The offer EDK2's DHCP driver REQUESTs once PXE chose `chosen`: that one if the driver
/// accepts PXE's copy of it, else the last offer it received (`last`: server id,
/// yiaddr), whoever sent it; a proxy's has no address, so the REQUEST has no option 50
/// (`pxelab_engine::dhcp::firmware::edk2_accepts_pxe_copy`, EDK2's `DhcpChooseOffer`).
/// The DHCP server ignores a REQUEST for another server: whether EDK2 boots depends on
/// which offer came last.
pub(super) fn edk2_requested(chosen: &Offer, last: Option<(Ipv4Addr, Ipv4Addr)>) -> Offer {
    match last {
        Some((server, yiaddr)) if !chosen.edk2_copy_ok => Offer {
            server,
            yiaddr,
            ..chosen.clone()
        },
        _ => chosen.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(d: u8) -> Ipv4Addr {
        Ipv4Addr::new(10, 10, 0, d)
    }

    #[test]
    fn a_proxy_offer_wins_over_the_dhcp_servers_boot_file() {
        let bf = (ip(5), "a.efi".to_string());
        let o = AddressOffer {
            pxe: false,
            server: ip(2),
            boot_file: Some(&bf),
        };
        for s in [Stack::Edk2, Stack::Ipxe] {
            let p = ProxyOffer {
                server: ip(6),
                pxe10: false,
            };
            assert_eq!(choose(s, &o, Some(&p)), Some(BootVia::Binl(ip(6))));
            assert_eq!(
                choose(s, &o, None),
                Some(BootVia::File(ip(5), "a.efi".into()))
            );
        }
    }

    #[test]
    fn only_edk2_aborts_a_pxe10_offer_and_nothing_usable_waits() {
        let o = AddressOffer {
            pxe: false,
            server: ip(2),
            boot_file: None,
        };
        let p = ProxyOffer {
            server: ip(5),
            pxe10: true,
        };
        assert_eq!(choose(Stack::Edk2, &o, Some(&p)), Some(BootVia::Abort));
        assert_eq!(
            choose(Stack::Ipxe, &o, Some(&p)),
            Some(BootVia::Binl(ip(5)))
        );
        assert_eq!(choose(Stack::Edk2, &o, None), None);
    }

    fn dhcp_offer(edk2_copy_ok: bool) -> Offer {
        Offer {
            server: ip(2),
            yiaddr: ip(100),
            router: None,
            pxe: false,
            boot_file: Some((ip(6), "a.efi".into())),
            edk2_copy_ok,
        }
    }

    #[test]
    fn edk2_requests_the_last_offer_when_it_rejects_pxes_copy() {
        let spoiled = dhcp_offer(false);
        // The DHCP server's offer first, the proxy's last: option 54 the proxy, no address.
        let r = edk2_requested(&spoiled, Some((ip(5), Ipv4Addr::UNSPECIFIED)));
        assert_eq!((r.server, r.yiaddr), (ip(5), Ipv4Addr::UNSPECIFIED));
        // The proxy's first, the DHCP server's last: its own offer again.
        let r = edk2_requested(&spoiled, Some((ip(2), ip(100))));
        assert_eq!((r.server, r.yiaddr), (ip(2), ip(100)));
        // A copy the driver accepts: PXE's choice whatever came last.
        let r = edk2_requested(&dhcp_offer(true), Some((ip(5), Ipv4Addr::UNSPECIFIED)));
        assert_eq!((r.server, r.yiaddr), (ip(2), ip(100)));
    }
}
