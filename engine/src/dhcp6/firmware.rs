//! The firmware's PXE over IPv6 (netboot `pxe6`), as the captures of the real firmware
//! show it (`tests/fixtures/firmware/*-pxe6.pcap`, docs/MODEL.md's last section) and
//! the EDK2 and iPXE sources explain it: the Solicit and Request each firmware sends,
//! option by option in its order, its DUID, its timing, which Advertise it takes and
//! where its boot request goes. The simulator's IPv6 client (`sim/src/client/six.rs`)
//! plays these; `tests/firmware6_models.rs` compares them with the captures.
//!
//! - **EDK2** (OVMF x64, OVMF IA32, AAVMF): DUID-UUID in option 97's byte order (the
//!   `EFI_GUID` as stored); Solicit 1, 8, 3 (T1 = T2 = infinity), 6 [59, 60, 23, 16],
//!   62 (1.3.0), 61, 16 `PXEClient:Arch:0000N:UNDI:003000`; it collects Advertises for
//!   4.85 s (captured 4.83 to 4.88 s) and then requests the DHCP server's address
//!   (options 1, 8, 2, 3, 6, 62, 61, 16; elapsed time 0). A proxy Advertise (PXEClient,
//!   no address: EDK2's `PxeOfferTypeProxyBinl`) is then asked for its boot file by a
//!   Request from port 4011 to the boot file URL's host, port 4011, carrying the
//!   proxy's server identifier first and the other options of the first Request but the
//!   IA (`PxeBcRequestBootService`). Solicits at 0, 4.85, 13.7 and 31.3 s (elapsed 0,
//!   485, 1370, 3130), given up at 60 s (IRT 4, MRT 32, MRD 60). EDK2's Dhcp6Dxe
//!   retransmits only while it has no Advertise: once the first retransmission time
//!   passes with one, it selects (`PxeBcSelectDhcp6Offer`), and with no proxy offer
//!   and no boot file URL it aborts PXE. So a responder that waits for a
//!   retransmission (R-ANS-5, R-ANS-6) is not heard when a DHCPv6 server answers.
//! - **iPXE** (SeaBIOS + iPXE, bios-x64): DUID-UUID in network order; Solicit 1, 3
//!   (T1 = T2 = 0, IAID the CRC-32 of the MAC), 6 [23, 24, 59, 60], 16
//!   `PXEClient:Arch:00000:UNDI:002001`, 61 = 0, 62 = 2.1.0, 15 `iPXE`, 8. It takes the
//!   first Advertise with a usable address at once and ignores one without (a proxy's:
//!   iPXE has no proxy DHCPv6); the boot file URL comes from the Reply of the server
//!   that gave the address. Retries on iPXE's default timer: 0.25 s doubling to 8 s.

use super::wire::{Message6, Opt};
use super::{msg, opt, PXE_ENTERPRISE};
use crate::dhcp::firmware::{FirmwareKind, Stack};
use crate::ids::{Guid, Mac};
use std::time::Duration;

/// One firmware's PXE over IPv6 (a profile's `dhcp6:`, docs/PROFILES.md).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Firmware6 {
    pub kind: FirmwareKind,
    pub stack: Stack,
    /// Option 61.
    pub arch: u16,
    /// Option 16's class data.
    pub vendor_class: &'static str,
    /// Option 62: type, major, minor.
    pub nii: [u8; 3],
    /// Option 6.
    pub oro: &'static [u16],
    /// The Solicit's options in order (the Request adds 2 where [`Self::request_order`] says).
    pub solicit_order: &'static [u16],
    pub request_order: &'static [u16],
    /// Option 15, if sent (iPXE's user class).
    pub user_class: Option<&'static [u8]>,
    /// The DUID-UUID in network order (iPXE) or as option 97 (EDK2).
    pub duid_network_order: bool,
    /// T1 and T2 of the Solicit's IA_NA.
    pub solicit_t: u32,
    /// When Solicits are sent, from the first (the first is at 0).
    pub solicit_at: &'static [Duration],
    /// When the firmware gives up without an Advertise it takes.
    pub give_up: Duration,
    /// How long Advertises are collected after the first Solicit; `None`: the first
    /// usable Advertise is requested at once.
    pub collect: Option<Duration>,
    /// Takes a proxy Advertise (PXEClient, no address) and asks it for the boot file on
    /// port 4011 (EDK2); iPXE ignores one.
    pub takes_proxy: bool,
    /// How long EDK2 waits for a route to its boot server before it sets its address
    /// (`PxeBcCheckRouteTable`: its route table once, then once a second until a router
    /// advertisement gives one). 0 where the segment's router advertisements were heard
    /// before (the lab's `pxelab lab ra`, every 3 s); the captures' dnsmasq advertised
    /// late (1 s on x64, 3 s on IA32), which a profile learned from them keeps.
    pub route_wait: Duration,
    /// From setting the address (after the route wait) to its first use: duplicate
    /// address detection (Ip6Dxe: a random 0-1 s before joining the solicited-node
    /// group, 0.1-0.9 s to the Neighbor Solicitation, then RetransTimer, 1 s). PXE's
    /// boot request to a proxy goes before it, from the Reply at once.
    pub address_ready: Duration,
    /// The elapsed time of the Request is counted (iPXE) or 0 (EDK2 starts anew).
    pub request_elapsed: bool,
    /// TFTP over IPv6: the size probe's options (EDK2) and the download's.
    pub tftp_probe: Option<&'static [(&'static str, &'static str)]>,
    pub tftp_options: &'static [(&'static str, &'static str)],
}

/// The IPv6 PXE model of a firmware (its built-in profile's `dhcp6:`).
pub fn model6(kind: FirmwareKind) -> &'static Firmware6 {
    &crate::dhcp::firmware::profile::builtin(kind).pxe6
}

impl Firmware6 {
    /// A model of UEFI HTTP boot over IPv6 (`super::http_firmware`), not of PXE.
    pub fn is_http(&self) -> bool {
        self.vendor_class.starts_with("HTTPClient")
    }

    /// The client DUID: a DUID-UUID from the SMBIOS GUID, in the firmware's byte order;
    /// without one, EDK2 falls back to a DUID-LLT and iPXE to a DUID-LL (time 0 here:
    /// the simulator's clients have no clock of their own).
    pub fn duid(&self, mac: Mac, guid: Option<Guid>) -> Vec<u8> {
        match guid {
            Some(g) => {
                let mut d = vec![0, 4];
                if self.duid_network_order {
                    d.extend(g.0);
                } else {
                    d.extend(g.to_pxe_bytes());
                }
                d
            }
            None if self.stack == Stack::Edk2 => {
                let mut d = vec![0, 1, 0, 1, 0, 0, 0, 0];
                d.extend(mac.0);
                d
            }
            None => {
                let mut d = vec![0, 3, 0, 1];
                d.extend(mac.0);
                d
            }
        }
    }

    /// The wait after the Request numbered `sent` (0 for the first) before the next one,
    /// `None`: the firmware gives up. EDK2 retransmits it ten times whatever the Reply
    /// (a Reply with NoAddrsAvail does not stop it), 2, 3, 5, 9, 17 then 31 s apart,
    /// and gives up 31 s after the last (`uefi-arm64-pxe6-noaddrs.pcap`: Requests at
    /// 0, 2, 5, 10, 19, 36, 67, 98, 129, 161, 192 s, the next boot option at 223 s).
    /// iPXE: 1, 4, 8, 16 s (its source's timer).
    pub fn request_gap(&self, sent: u32) -> Option<Duration> {
        let s = match self.stack {
            Stack::Edk2 if sent <= 10 => (1u64 << sent.min(5)) + 1,
            Stack::Ipxe if sent == 0 => 1,
            Stack::Ipxe if sent < 4 => 1 << (sent + 1),
            _ => return None,
        };
        Some(Duration::from_secs(s.min(31)))
    }

    /// The IA_NA's IAID when the firmware fixes it: iPXE's is the CRC-32 of the MAC
    /// (seed 0, no final inversion). EDK2's is random at each start (`NET_RANDOM`):
    /// `None`, and the caller draws one (the simulator from the scenario's seed).
    pub fn fixed_iaid(&self, mac: Mac) -> Option<u32> {
        if self.stack != Stack::Ipxe {
            return None;
        }
        let mut crc = 0u32;
        for b in mac.0 {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 != 0 {
                    (crc >> 1) ^ 0xedb8_8320
                } else {
                    crc >> 1
                };
            }
        }
        Some(crc)
    }

    fn option(
        &self,
        code: u16,
        mac: Mac,
        guid: Option<Guid>,
        elapsed_cs: u16,
        ia: &[u8],
        server_id: &[u8],
    ) -> Option<Opt> {
        let data = match code {
            opt::CLIENTID => self.duid(mac, guid),
            opt::SERVERID => server_id.to_vec(),
            opt::ELAPSED_TIME => elapsed_cs.to_be_bytes().to_vec(),
            opt::IA_NA => ia.to_vec(),
            opt::ORO => self.oro.iter().flat_map(|c| c.to_be_bytes()).collect(),
            opt::NII => self.nii.to_vec(),
            opt::CLIENT_ARCH_TYPE => self.arch.to_be_bytes().to_vec(),
            opt::VENDOR_CLASS => {
                let mut v = PXE_ENTERPRISE.to_be_bytes().to_vec();
                v.extend((self.vendor_class.len() as u16).to_be_bytes());
                v.extend(self.vendor_class.as_bytes());
                v
            }
            opt::USER_CLASS => {
                let u = self.user_class?;
                let mut v = (u.len() as u16).to_be_bytes().to_vec();
                v.extend(u);
                v
            }
            _ => return None,
        };
        Some(Opt { code, data })
    }

    fn message(
        &self,
        msg_type: u8,
        xid: [u8; 3],
        order: &[u16],
        fill: impl Fn(u16) -> Option<Opt>,
    ) -> Vec<u8> {
        Message6::Client {
            msg_type,
            xid,
            options: order.iter().filter_map(|c| fill(*c)).collect(),
        }
        .encode()
    }

    /// The PXE Solicit (to ff02::1:2, port 547, from the link-local address, 546), with
    /// IA_NA `iaid` ([`Self::fixed_iaid`] where the firmware fixes it).
    pub fn solicit(
        &self,
        mac: Mac,
        guid: Option<Guid>,
        xid: [u8; 3],
        elapsed_cs: u16,
        iaid: u32,
    ) -> Vec<u8> {
        let mut ia = iaid.to_be_bytes().to_vec();
        ia.extend(self.solicit_t.to_be_bytes());
        ia.extend(self.solicit_t.to_be_bytes());
        self.message(msg::SOLICIT, xid, self.solicit_order, |c| {
            self.option(c, mac, guid, elapsed_cs, &ia, &[])
        })
    }

    /// The Request for the address of the Advertise taken: its server identifier and
    /// its IA_NA (as the server wrote it) repeated.
    pub fn request(
        &self,
        mac: Mac,
        guid: Option<Guid>,
        xid: [u8; 3],
        elapsed_cs: u16,
        server_id: &[u8],
        ia: &[u8],
    ) -> Vec<u8> {
        let e = if self.request_elapsed { elapsed_cs } else { 0 };
        // EDK2 repeats the server's IA as is; iPXE writes its own: its IAID, T1 = T2 =
        // 0 and the address with lifetimes 0 (the capture).
        let own_ia;
        let ia = match (self.stack, ia_address_of(ia)) {
            (Stack::Ipxe, Some(a)) => {
                let mut v = self.fixed_iaid(mac).unwrap_or(0).to_be_bytes().to_vec();
                v.extend([0; 8]);
                v.extend([0, 5, 0, 24]);
                v.extend(a.octets());
                v.extend([0; 8]);
                own_ia = v;
                &own_ia[..]
            }
            _ => ia,
        };
        self.message(msg::REQUEST, xid, self.request_order, |c| {
            self.option(c, mac, guid, e, ia, server_id)
        })
    }

    /// The Information-request of a stateless session (iPXE after an advertisement with
    /// O and not M, `ipxe_conf`): the Solicit's options but the IA_NA, as iPXE's
    /// `dhcpv6_tx` writes every message (no IA where the state has none).
    pub fn information_request(
        &self,
        mac: Mac,
        guid: Option<Guid>,
        xid: [u8; 3],
        elapsed_cs: u16,
    ) -> Vec<u8> {
        let order: Vec<u16> = self
            .solicit_order
            .iter()
            .copied()
            .filter(|c| *c != opt::IA_NA)
            .collect();
        self.message(msg::INFORMATION_REQUEST, xid, &order, |c| {
            self.option(c, mac, guid, elapsed_cs, &[], &[])
        })
    }

    /// EDK2's boot request to a proxy (`PxeBcRequestBootService`): a Request from port
    /// 4011 to the boot file URL's host, port 4011, with the proxy Advertise's
    /// transaction id, its server identifier first, then the first Request's options
    /// but the IA and the other server's identifier.
    pub fn boot_request(
        &self,
        mac: Mac,
        guid: Option<Guid>,
        xid: [u8; 3],
        elapsed_cs: u16,
        proxy_id: &[u8],
    ) -> Vec<u8> {
        let mut order = vec![opt::SERVERID];
        order.extend(
            self.request_order
                .iter()
                .filter(|c| **c != opt::SERVERID && **c != opt::IA_NA),
        );
        self.message(msg::REQUEST, xid, &order, |c| {
            self.option(c, mac, guid, elapsed_cs, &[], proxy_id)
        })
    }
}

/// What an Advertise or Reply offers a PXE client (EDK2's classification,
/// `PxeBcParseDhcp6Packet`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Offer6 {
    pub msg_type: u8,
    pub xid: [u8; 3],
    pub server_id: Vec<u8>,
    /// The IA_NA as sent, and its address when it has one with a success status.
    pub ia: Option<Vec<u8>>,
    pub address: Option<std::net::Ipv6Addr>,
    /// Option 16 of enterprise 343 with `PXEClient` at offset 6.
    pub pxe: bool,
    /// Option 59.
    pub boot_file_url: Option<String>,
    /// Option 7 (0 without it): 255 ends EDK2's Advertise collection.
    pub preference: u8,
}

impl Offer6 {
    /// `None` for anything but an Advertise or Reply with a server identifier.
    pub fn read(m: &Message6) -> Option<Offer6> {
        let Message6::Client { msg_type, xid, .. } = m else {
            return None;
        };
        if *msg_type != msg::ADVERTISE && *msg_type != msg::REPLY {
            return None;
        }
        let pxe = m.option(opt::VENDOR_CLASS).is_some_and(|v| {
            v.len() >= 15 && v[..4] == PXE_ENTERPRISE.to_be_bytes() && &v[6..15] == b"PXEClient"
        });
        Some(Offer6 {
            msg_type: *msg_type,
            xid: *xid,
            server_id: m.option(opt::SERVERID)?.to_vec(),
            ia: m.option(opt::IA_NA).map(<[u8]>::to_vec),
            address: super::server::ia_address(m),
            pxe,
            boot_file_url: m
                .option(opt::BOOTFILE_URL)
                .map(|u| String::from_utf8_lossy(u).into_owned()),
            preference: m
                .option(opt::PREFERENCE)
                .and_then(|p| p.first().copied())
                .unwrap_or(0),
        })
    }

    /// A proxy offer: PXEClient and no address.
    pub fn is_proxy(&self) -> bool {
        self.pxe && self.address.is_none()
    }
}

/// The first IAADDR of an IA_NA option's data.
fn ia_address_of(ia: &[u8]) -> Option<std::net::Ipv6Addr> {
    let m = Message6::Client {
        msg_type: msg::REPLY,
        xid: [0; 3],
        options: vec![Opt {
            code: opt::IA_NA,
            data: ia.to_vec(),
        }],
    };
    super::server::ia_address(&m)
}

/// `tftp://[addr]/path` (R-V6-1's form) split into the server and the path.
pub fn parse_tftp_url(url: &str) -> Option<(std::net::Ipv6Addr, String)> {
    let rest = url.strip_prefix("tftp://[")?;
    let (host, path) = rest.split_once(']')?;
    let path = path.strip_prefix('/')?;
    Some((host.parse().ok()?, path.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAC: Mac = Mac([0x52, 0x54, 0, 0x12, 0x34, 0x56]);

    #[test]
    fn ipxe_iaid_is_the_crc_of_the_mac_as_captured() {
        assert_eq!(
            model6(FirmwareKind::BiosX64).fixed_iaid(MAC),
            Some(0xaa55_b0df)
        );
        assert_eq!(model6(FirmwareKind::UefiX64).fixed_iaid(MAC), None);
    }

    #[test]
    fn the_boot_request_carries_the_proxys_id_first_and_no_ia() {
        let m = model6(FirmwareKind::UefiX64);
        let b = m.boot_request(MAC, None, [1, 2, 3], 500, &[0, 4, 9]);
        let msg = Message6::decode(&b).unwrap();
        let codes: Vec<u16> = msg.options().iter().map(|o| o.code).collect();
        assert_eq!(codes, [2, 1, 8, 6, 62, 61, 16]);
        assert_eq!(msg.option(2), Some(&[0u8, 4, 9][..]));
        assert_eq!(msg.option(8), Some(&[1u8, 0xf4][..]));
    }

    #[test]
    fn edk2_requests_eleven_times_as_captured_then_gives_up() {
        let m = model6(FirmwareKind::UefiArm64);
        let mut at = 0;
        let mut sent = Vec::new();
        let mut n = 0;
        while let Some(g) = m.request_gap(n) {
            sent.push(at);
            at += g.as_secs();
            n += 1;
        }
        assert_eq!(sent, [0, 2, 5, 10, 19, 36, 67, 98, 129, 160, 191]);
        assert_eq!(at, 222);
    }

    #[test]
    fn a_tftp_url_splits_into_server_and_path() {
        assert_eq!(
            parse_tftp_url("tftp://[2001:db8::5]/smsboot/x64/a.efi"),
            Some(("2001:db8::5".parse().unwrap(), "smsboot/x64/a.efi".into()))
        );
        assert_eq!(parse_tftp_url("http://[::1]/a"), None);
        assert_eq!(parse_tftp_url("tftp://[zz]/a"), None);
    }
}
