//! PXE vendor options (option 43, PXE 2.1 table 2-1) in a proxy offer: what a responder
//! may add (`option43` in a scenario) and how the firmware reads it.
//!
//! Read from the sources (nothing copied): tianocore/edk2
//! `NetworkPkg/UefiPxeBcDxe/PxeBcDhcp4.c` (`PxeBcParseDhcp4Packet`: an offer whose
//! option 43 holds any of sub-options 6 to 10 is a **PXE10** offer, 1 to 5 a WfM11a
//! one, dropped) and `PxeBcBoot.c` (`PxeBcDiscoverBootFile`: for a PXE10 offer without
//! a boot menu, sub-option 9, the selected boot type is 0, "PXE bootstrap server",
//! which aborts: "Local boot (PXE bootstrap server) need abort"); ipxe/ipxe
//! `src/net/udp/dhcp.c` (`dhcp_has_pxeopts`: only a boot menu, 43.9, or siaddr with a
//! boot file makes an offer complete; otherwise iPXE asks on port 4011 as for a
//! proxy offer without option 43).

/// Sub-option 6, PXE_DISCOVERY_CONTROL.
pub const DISCOVERY_CONTROL: u8 = 6;
/// Sub-option 8, PXE_BOOT_SERVERS.
pub const BOOT_SERVERS: u8 = 8;
/// Sub-option 9, PXE_BOOT_MENU.
pub const BOOT_MENU: u8 = 9;

/// What a responder puts in option 43 (`option43: {discovery_control, boot_servers}`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Option43 {
    /// Sub-option 6: bit 0 no broadcast discovery, 1 no multicast, 2 only the listed
    /// servers, 3 take the boot file of the offer without a prompt or menu.
    pub discovery_control: Option<u8>,
    /// Sub-option 8: one entry of boot server type 0 with these addresses.
    pub boot_servers: Vec<std::net::Ipv4Addr>,
}

impl Option43 {
    /// The option's data: the sub-options, then END (255).
    pub fn encode(&self) -> Vec<u8> {
        let mut v = Vec::new();
        if let Some(d) = self.discovery_control {
            v.extend_from_slice(&[DISCOVERY_CONTROL, 1, d]);
        }
        if !self.boot_servers.is_empty() {
            let n = self.boot_servers.len().min(63);
            v.extend_from_slice(&[BOOT_SERVERS, (3 + 4 * n) as u8, 0, 0, n as u8]);
            for a in &self.boot_servers[..n] {
                v.extend_from_slice(&a.octets());
            }
        }
        v.push(255);
        v
    }
}

/// The sub-option codes present in an option 43's data (stops at END or a cut one).
pub fn suboptions(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < data.len() {
        let code = data[i];
        if code == 255 {
            break;
        }
        if code == 0 {
            i += 1;
            continue;
        }
        let Some(&len) = data.get(i + 1) else { break };
        if i + 2 + usize::from(len) > data.len() {
            break;
        }
        out.push(code);
        i += 2 + usize::from(len);
    }
    out
}

/// EDK2: a PXE offer whose option 43 holds a discovery sub-option (6 to 10) is PXE10.
pub fn is_pxe10(data: &[u8]) -> bool {
    suboptions(data).iter().any(|c| (6..=10).contains(c))
}

/// A boot menu (43.9) is present.
pub fn has_boot_menu(data: &[u8]) -> bool {
    suboptions(data).contains(&BOOT_MENU)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discovery_control_and_servers_make_a_pxe10_offer_without_a_menu() {
        let o = Option43 {
            discovery_control: Some(3),
            boot_servers: vec!["10.10.0.5".parse().unwrap()],
        };
        let d = o.encode();
        assert_eq!(d, vec![6, 1, 3, 8, 7, 0, 0, 1, 10, 10, 0, 5, 255]);
        assert_eq!(suboptions(&d), vec![6, 8]);
        assert!(is_pxe10(&d));
        assert!(!has_boot_menu(&d));
    }

    #[test]
    fn mtftp_suboptions_alone_are_not_pxe10_and_a_cut_suboption_is_ignored() {
        assert!(!is_pxe10(&[1, 4, 224, 0, 0, 1, 255]));
        assert_eq!(suboptions(&[6, 5, 1]), Vec::<u8>::new());
    }
}
