//! Firmware client models: how each real PXE client in the lab writes its DHCP packets.
//!
//! One table ([`model`]) and three builders that write the options by hand in the
//! firmware's own order. Everything here was read from the firmware sources (no code
//! copied): ipxe/ipxe `src/net/udp/dhcp.c` (`dhcp_request_options_data`,
//! `dhcp_create_packet`, `dhcp_create_request`, `dhcp_tx`, `dhcp_request_tx`,
//! `dhcp_proxy_tx`), `src/net/dhcpopts.c` (`set_dhcp_option`: a new option is created
//! where END was, so later stores append in call order), `src/include/ipxe/dhcp.h`,
//! `src/arch/x86/include/ipxe/pcbios/dhcparch.h`, `src/config/dhcp.h`; tianocore/edk2
//! `NetworkPkg/UefiPxeBcDxe/PxeBcDhcp4.c` (`PxeBcBuildDhcp4Options`,
//! `PxeBcDhcp4CallBack`, `PxeBcDhcp4Discover`, `mPxeDhcpTimeout`), `PxeBcDhcp4.h`,
//! `NetworkPkg/Dhcp4Dxe/Dhcp4Io.c` (`DhcpSendMessage`), `Dhcp4Option.c` (`DhcpBuild`:
//! writes options in ascending code order), `Dhcp4Impl.c` (`SetElapsedTime`,
//! `EfiDhcp4TransmitReceive`), `MdePkg/Include/Protocol/PxeBaseCode.h`.
//!
//! | | iPXE (SeaBIOS option ROM) | EDK2 (OVMF, AAVMF) |
//! |---|---|---|
//! | DISCOVER options | 53 57 93 94 60 77 55 175 61 97 | 53 57 55 97 94 93 60 |
//! | DHCP REQUEST | same, then 54 50 | 53 54 50 57 55 97 94 93 60 |
//! | 4011 REQUEST | DISCOVER's, then 54; from port 68, broadcast flag set | 53 55 57 60 93 94 97 (sorted by `DhcpBuild`); from port 4011, flags 0 |
//! | 57 | 1472 | 1472 in DISCOVER and 4011 REQUEST, 65280 (0xFF00) in the DHCP REQUEST (the PXE callback that rewrites it to 1472 does not see `Dhcp4SendRequest`) |
//! | `secs` | **not elapsed time**: `dhcp_tx` writes `(retries << 2) \| (have DHCP offer ? 2) \| (have proxy offer ? 1)` | elapsed seconds since DHCP started (`SetElapsedTime`); the REQUEST repeats the DISCOVER's; the 4011 REQUEST writes its try number (0 on the first) little-endian |
//! | option 97 | type 0 + SMBIOS UUID with the first three fields little-endian (`uuid_mangle`), omitted when there is no UUID | type 0 + the `EFI_GUID` from SMBIOS (first three fields little-endian), zeros when there is none |
//! | 94 | 1.2.1 (UNDI 2.1) | 1.3.0 (UNDI 3.0; the NII's version when the NIC has one) |
//! | retransmits | 1, 2, 4, 8 s (`DHCP_DISC_START_TIMEOUT_SEC` 1, doubling, max 10); waits 2 s for a proxy offer after the first DHCP offer | 4, 8, 16, 32 s (`mPxeDhcpTimeout`) |
//! | 4011 REQUEST resent | after 0.25, 0.5, 1 s; DHCP ends with the address alone at the first expiry after 2 s (`dhcp_proxy_expired`) | after 1, 2, 3 s; gives up 4 s after the fourth (`PxeBcDhcp4Discover`) |
//!
//! GUID order in detail: iPXE reads the SMBIOS type 1 UUID, turns it to network order
//! when the SMBIOS version is 2.6 or later (`src/interface/smbios/smbios_settings.c`),
//! then `dhcp_create_request` turns the first three fields back to little-endian
//! (`uuid_mangle`, `src/include/ipxe/uuid.h`). EDK2's `NetLibGetSystemGuid` copies the
//! SMBIOS bytes into an `EFI_GUID` as they are. QEMU writes SMBIOS 2.8+ tables with the
//! `-uuid` value's first three fields little-endian.
//! Both firmwares thus put the GUID in the same order, the one [`Guid::to_pxe_bytes`]
//! gives for the scenario's (QEMU `-uuid`) GUID (R-ID-1). Neither gives a usable
//! elapsed time in its first DISCOVER (iPXE writes 0, EDK2 writes 0 at start), which
//! is why R-ANS-5 also counts time since the responder first saw the transaction.

use std::net::Ipv4Addr;
use std::time::Duration;

mod edk2_offer_copy;
mod http;
pub mod profile;
pub mod profile_yaml;
pub use edk2_offer_copy::edk2_accepts_pxe_copy;
pub use http::{http_model, offer_url};
pub use profile::{Profile, ProfileError};

use super::opt;
use super::packet::MessageType;
use super::wire::{chaddr_of, Header, Writer};
use super::BROADCAST_FLAG;
use crate::{Guid, Mac};

/// The client firmware of a scenario (`firmware:` in scenario-format.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FirmwareKind {
    BiosX64,
    BiosX86,
    UefiX64,
    UefiIa32,
    UefiArm64,
}

impl FirmwareKind {
    pub const ALL: [FirmwareKind; 5] = [
        FirmwareKind::BiosX64,
        FirmwareKind::BiosX86,
        FirmwareKind::UefiX64,
        FirmwareKind::UefiIa32,
        FirmwareKind::UefiArm64,
    ];
    /// `bios-x64`, `bios-x86`, `uefi-x64`, `uefi-ia32`, `uefi-arm64`.
    pub fn from_name(name: &str) -> Option<FirmwareKind> {
        FirmwareKind::ALL.into_iter().find(|k| k.name() == name)
    }
    pub fn name(self) -> &'static str {
        match self {
            FirmwareKind::BiosX64 => "bios-x64",
            FirmwareKind::BiosX86 => "bios-x86",
            FirmwareKind::UefiX64 => "uefi-x64",
            FirmwareKind::UefiIa32 => "uefi-ia32",
            FirmwareKind::UefiArm64 => "uefi-arm64",
        }
    }
}

/// Which PXE stack a firmware runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Stack {
    /// iPXE as the SeaBIOS network option ROM.
    Ipxe,
    /// EDK2 `NetworkPkg/UefiPxeBcDxe` over `Dhcp4Dxe`.
    Edk2,
}

/// How one firmware talks DHCP and TFTP. See the module doc for the sources.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FirmwareModel {
    pub kind: FirmwareKind,
    /// Scenario name, `bios-x64`...
    pub name: &'static str,
    pub stack: Stack,
    /// Option 93.
    pub arch_option93: u16,
    /// Option 60.
    pub vendor_class: &'static str,
    /// Option 94.
    pub client_ndi: [u8; 3],
    /// Options of the DISCOVER in wire order.
    pub options_order: &'static [u8],
    /// Options of the DHCP REQUEST (to the DHCP server) in wire order.
    pub request_options_order: &'static [u8],
    /// Options of the REQUEST to the proxy responder's port 4011 in wire order.
    pub pxe_request_options_order: &'static [u8],
    /// Option 55.
    pub param_request_list: &'static [u8],
    /// Option 57 in the DISCOVER and the 4011 REQUEST.
    pub max_msg_size: Option<u16>,
    /// Option 57 in the DHCP REQUEST.
    pub request_max_msg_size: Option<u16>,
    /// `secs` holds elapsed seconds (else iPXE's state bits).
    pub sends_secs: bool,
    /// Broadcast flag in DISCOVER and DHCP REQUEST.
    pub broadcast_flag: bool,
    /// Broadcast flag in the 4011 REQUEST.
    pub pxe_request_broadcast_flag: bool,
    /// The client's source port for the 4011 REQUEST; the ACK goes back there.
    pub pxe_request_src_port: u16,
    /// Option 77.
    pub user_class: Option<&'static [u8]>,
    /// Option 97 is sent (as zeros) even when the machine has no SMBIOS UUID.
    pub guid_zero_when_absent: bool,
    /// How long the client waits for a proxy offer once it has a DHCP offer, counted
    /// from the first DISCOVER and checked when a retransmission timeout expires
    /// (iPXE `dhcp_discovery_expired`; capture `bios-x64.pcap`: offers at 0 and 1.03 s,
    /// no proxy offer, REQUEST at 3.07 s, the expiry after 2 s had passed).
    pub proxy_offer_wait_secs: Option<u64>,
    /// The client collects offers until its current DISCOVER retransmission timeout
    /// expires and only then picks a pair and sends its REQUEST. EDK2 `DhcpOnTimerTick`:
    /// "select offer at each timeout if any offer received" (capture `uefi-x64.pcap`:
    /// offer at 0 s, REQUEST at 3.66 s, on the 4 s timer's last 1-s tick). Debian's
    /// iPXE ROM too, though current iPXE's `dhcp_discovery_rx` would request at once:
    /// in the lab (`pxelab run --lab --pcap`, `scenarios/lab/bios-x64.yaml` and
    /// `bios-x86.yaml`) it held both offers 0.3 ms after its DISCOVER and sent its
    /// REQUEST 1.0 s later, when its first timeout expired.
    pub selects_offer_at_timeout: bool,
    /// A TFTP read ends at the first ICMP port unreachable from the server (EDK2's
    /// `Mtftp4OnPacketReceived` takes the UDP receive error as fatal): in the lab a
    /// killed responder's namespace answers the client's first resent ACK so, and OVMF
    /// gave up about 4 s (one `tftp_timeout`) after the server went silent
    /// (`down-during-transfer-*.yaml`, docs/LAB.md). iPXE keeps retrying.
    pub tftp_gives_up_on_port_unreachable: bool,
    /// From the 4011 ACK (the boot file named) to the firmware's first read of it, under
    /// TCG in the lab (`--pcap` of `scenarios/lab/<firmware>.yaml`): OVMF and AAVMF
    /// 1.0-1.1 s; iPXE 0.1 s where a router advertisement ended its IPv6
    /// autoconfiguration (`scenarios/lab/bios-router-adverts.yaml`), else it also waits
    /// for that to give up (`FirmwareTiming::ipv6_wait`). Profile key
    /// `timing.pxe_ack_to_nbp`.
    pub pxe_ack_to_nbp: Duration,
    /// TFTP options of the firmware's first read request for the boot program, in order.
    pub tftp_options: &'static [(&'static str, &'static str)],
    /// EDK2 first asks only for the size: it reads the OACK's tsize, aborts that transfer
    /// with error 8 ("User aborted the transfer") and then reads the file with the same
    /// options less tsize (tests/fixtures/firmware/uefi-*.pcap). iPXE reads at once.
    pub tftp_size_probe: bool,
    /// DISCOVER retransmission timeouts, seconds.
    pub retransmit: [u64; 4],
    /// DHCP REQUEST retransmission timeouts, seconds (a profile's `request_retransmit`;
    /// without one the rules page's [`REQUEST_RETRANSMIT`]).
    pub request_retransmit: [u64; 4],
    /// How long the firmware waits for a boot server's answer after each REQUEST to
    /// port 4011; it gives up when the last wait ends (a profile's
    /// `pxe_request_retransmit`; without one the rules page's
    /// [`PXE_REQUEST_RETRANSMIT`]). EDK2 `PxeBcDhcp4Discover`: four tries of 1, 2, 3
    /// and 4 s; iPXE's ProxyDHCP retry timer from 0.25 s, doubling, stops at the first
    /// expiry after 2 s (lab captures of a silent port 4011, docs/MODEL.md).
    pub pxe_request_retransmit: &'static [Duration],
    /// Option 175 (iPXE's encapsulated options), sent where the order names 175.
    pub option175: Option<&'static [u8]>,
    /// The firmware's TFTP retransmission timeout and retries (the boot program's too).
    pub tftp_timeout: Duration,
    pub tftp_retries: u32,
    /// The profile's `timing:` section.
    pub timing: FirmwareTiming,
}

/// When the firmware acts, apart from its retransmissions (a profile's `timing:`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FirmwareTiming {
    /// From power-on to the first DISCOVER (PXE and HTTP boot over IPv4).
    pub power_on_to_discover: Duration,
    /// From power-on to the first DHCPv6 Solicit of PXE over IPv6 (EDK2: its IPv6
    /// stack's own or PXE's, the first of them).
    pub power_on_to_solicit: Duration,
    /// From power-on to the first Solicit of UEFI HTTP boot over IPv6. OVMF tries its
    /// boot options in turn (PXEv4, PXEv6, HTTPv4, HTTPv6): with PXE off, HTTPv4 runs
    /// first and gives up 60 s after its first DISCOVER where it gets no address, all
    /// inside this time.
    pub power_on_to_http6_solicit: Duration,
    /// Processing time per packet received before the firmware answers it (per
    /// Ethernet frame: an IP datagram's fragments each).
    pub per_packet: Duration,
    /// Processing time per IP datagram received (a TFTP block, a DHCP message), besides
    /// `per_packet` for each of its frames: a window of four 8 KiB blocks (24 frames)
    /// costs OVMF x64 under TCG 1.2 ms to answer, not 24 one-frame blocks' 3.6 ms
    /// (docs/MODEL.md). Profile key `timing.per_datagram` (absent: none).
    pub per_datagram: Duration,
    /// `per_packet` and `per_datagram` for what comes over IPv6: EDK2's IPv6 stack
    /// (Ip6Dxe, Udp6Dxe, Mtftp6Dxe) is other code than its IPv4 one, and took OVMF
    /// and AAVMF under TCG longer per TFTP block (docs/MODEL.md). Profile keys
    /// `timing.per_packet6` and `timing.per_datagram6` (each absent: its IPv4 one).
    pub per_packet6: Duration,
    pub per_datagram6: Duration,
    /// UEFI HTTP boot: the time per TCP segment it takes in (EDK2's TcpDxe, which
    /// acknowledges every second one; OVMF x64 under TCG 0.08 ms against a one-frame
    /// TFTP block's 0.15 ms). Profile key `timing.per_segment` (absent:
    /// `per_datagram` + `per_packet`).
    pub per_segment: Duration,
    /// How long offers are collected after the first DISCOVER before one is chosen:
    /// when the first DISCOVER timeout falls (the later ones keep `retransmit`'s gaps
    /// after it). Zero: at `retransmit[0]`. A capture shows it a little shorter than
    /// the timeout (EDK2's 1-s timer ticks: 3.58 to 3.80 s for 4 s).
    pub offer_collection: Duration,
    /// iPXE configures IPv4 and IPv6 at once and boots only when both are done: on a
    /// segment where no router answers its solicitations, IPv6 gives up this long after
    /// its first (sent with the first DISCOVER). iPXE `ipv6conf_expired` on the default
    /// retry timer: solicitations at 0, 0.25, 0.75, 1.75, 3.75 and 7.75 s, failure at
    /// 15.75 s; a router advertisement without the M and O flags ends it at once
    /// (`ipv6conf_rx_router_advertisement`). `None`: the firmware does not wait (EDK2).
    pub ipv6_wait: Option<Duration>,
    /// iPXE where a router answers (a segment with `cidr6`): from the first DISCOVER to
    /// when its IPv6 configuration takes the advertisement, which ends it, or with M or
    /// O starts its DHCPv6 (`dhcp6::ipxe_conf`). iPXE's source takes the first one at
    /// once; in the lab the ROM solicited three times and took one 1.0 s after its
    /// DISCOVER, with its DHCPv4 REQUEST (11 of 11 boots: `scenarios/lab/
    /// bios-managed-ra-dhcp6.yaml`, `bios-router-adverts.yaml`): QEMU's e1000 holds
    /// every received frame for 1000 ms after the driver enables its receiver
    /// (`hw/net/e1000.c`: `set_rx_control` arms `flush_queue_timer`, and
    /// `e1000_can_receive` is false while it runs), so real hardware would take it at
    /// once. Profile key `timing.ipv6_advert_taken`.
    pub ipv6_advert_taken: Duration,
    /// iPXE's DHCPv6 after an advertisement with M or O: from a state's first message
    /// to its failure with no answer it takes (iPXE's retry timer, 15.75 s: the
    /// `dhcp6:` section's `give_up`; 16.03-16.09 s under TCG in the lab). Profile key
    /// `timing.ipv6_dhcp6_give_up` (absent or `0s`: `give_up`).
    pub ipv6_dhcp6_give_up: Option<Duration>,
    /// From the DHCP ACK that names the boot file itself (options 66/67, no port-4011
    /// exchange) to the first read of it, before `per_packet` (the captures: ARP of the
    /// TFTP server and the firmware's set-up, 6 to 64 ms under TCG).
    pub ack_to_read: Duration,
    /// iPXE, its DHCP over with an address and no boot file (a silent port 4011, no
    /// proxy offer in time): once its IPv6 configuration is over too it has nothing to
    /// boot, offers its shell again for this long ("Press Ctrl-B", `BANNER_TIMEOUT`
    /// 2 s) and then hands the machine back to the BIOS (its `ipxe()`: "If booting
    /// fails, offer the user another chance to enter the shell"). Profile key
    /// `timing.failed_boot_prompt` (absent: the family's, iPXE 2 s, EDK2 none).
    pub failed_boot_prompt: Duration,
    /// EDK2's size probe: from the OACK to its error 8, and from the error 8 to the
    /// read of the file, each before `per_packet`.
    pub probe_abort: Duration,
    pub probe_to_read: Duration,
}

impl FirmwareModel {
    /// The options of the read request that downloads the boot program (after the size
    /// probe, for firmware that makes one).
    /// The TFTP options of a read by the boot program through this firmware's PXE
    /// interface, asking for `block_size` (`None`: the parameters file, read with the
    /// interface's defaults). As the lab's captures show (docs/LAB.md): iPXE's
    /// `PXENV_TFTP_OPEN` sends `blksize` (at least 512, at most 1432, its largest for a
    /// 1500-byte MTU) and `tsize 0`; EDK2's `Mtftp` sends `blksize` only when given one
    /// and always its own `windowsize 4`, no `tsize` when it reads into a buffer. The
    /// responder's window size never reaches the wire: no firmware interface takes one.
    pub fn boot_program_options(&self, block_size: Option<u16>) -> Vec<(String, String)> {
        match self.stack {
            Stack::Ipxe => {
                let b = block_size.unwrap_or(512).clamp(512, IPXE_MAX_BLKSIZE);
                vec![
                    ("blksize".to_string(), b.to_string()),
                    ("tsize".to_string(), "0".to_string()),
                ]
            }
            Stack::Edk2 => {
                let mut v = Vec::new();
                if let Some(b) = block_size {
                    v.push(("blksize".to_string(), b.to_string()));
                }
                v.push(("windowsize".to_string(), "4".to_string()));
                v
            }
        }
    }

    pub fn tftp_download_options(&self) -> Vec<(String, String)> {
        self.tftp_options
            .iter()
            .filter(|(k, _)| !(self.tftp_size_probe && *k == "tsize"))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }
}

/// DHCP REQUEST retransmission timeouts when a profile names none (R-ANS-5's 4, 8, 16,
/// 32 s; no capture here shows a REQUEST resent).
pub const REQUEST_RETRANSMIT: [u64; 4] = [4, 8, 16, 32];

/// iPXE's `secs` (`dhcp_tx`): not time but its DHCP session's timer expiries so far
/// (`count`: each sends a message, but where one only moves it to the next state) and
/// the offers it holds: (count << 2) | (a DHCP offer: 2) | (a PXE offer, a proxy's or
/// the DHCP server's own with option 60 `PXEClient`: 1). The captures: DISCOVERs 4
/// and 10; a REQUEST 11 (both offers in hand) or 18 (after the proxy wait's expiry,
/// `bios-x64.pcap`); ProxyDHCP requests 15, 19, 23, 27 (`lab-bios-x64-no-4011.pcap`).
pub fn ipxe_secs(count: u16, dhcp_offer: bool, pxe_offer: bool) -> u16 {
    (count.min(0x3fff) << 2) | (u16::from(dhcp_offer) << 1) | u16::from(pxe_offer)
}

/// EDK2's port-4011 REQUEST `secs` (`PxeBcDhcp4Discover`): its try number, 0 on the
/// first, written in host (little-endian) byte order where the field is big-endian:
/// OVMF sent 0, 256, 512, 768 (`lab-uefi-x64-no-4011.pcap`).
pub fn edk2_boot_request_secs(attempt: u8) -> u16 {
    u16::from_be_bytes([attempt, 0])
}

/// Port-4011 REQUEST waits when a profile names none (the 4, 8, 16 and 32 s the
/// DHCP REQUEST's retransmissions take).
pub const PXE_REQUEST_RETRANSMIT: [Duration; 4] = [
    Duration::from_secs(4),
    Duration::from_secs(8),
    Duration::from_secs(16),
    Duration::from_secs(32),
];

/// The largest block size iPXE asks for (MTU 1500 less IP, UDP and TFTP headers).
pub const IPXE_MAX_BLKSIZE: u16 = 1432;

/// The model of a firmware: its built-in profile's (`profiles/*.yaml`, [`profile`]).
pub fn model(f: FirmwareKind) -> &'static FirmwareModel {
    &profile::builtin(f).pxe4
}

/// Which packet is being built.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Discover,
    Request,
    PxeRequest,
}

struct Ctx {
    mac: Mac,
    guid: Option<Guid>,
    requested_ip: Option<Ipv4Addr>,
    server_id: Option<Ipv4Addr>,
}

fn option_data(m: &FirmwareModel, kind: Kind, code: u8, c: &Ctx) -> Option<Vec<u8>> {
    match code {
        opt::MESSAGE_TYPE => Some(vec![match kind {
            Kind::Discover => MessageType::Discover.to_u8(),
            _ => MessageType::Request.to_u8(),
        }]),
        opt::MAX_MSG_SIZE => match kind {
            Kind::Request => m.request_max_msg_size,
            _ => m.max_msg_size,
        }
        .map(|v| v.to_be_bytes().to_vec()),
        opt::CLIENT_ARCH => Some(m.arch_option93.to_be_bytes().to_vec()),
        opt::CLIENT_NDI => Some(m.client_ndi.to_vec()),
        opt::VENDOR_CLASS => Some(m.vendor_class.as_bytes().to_vec()),
        opt::USER_CLASS => m.user_class.map(<[u8]>::to_vec),
        opt::PARAM_REQUEST_LIST => Some(m.param_request_list.to_vec()),
        opt::IPXE_ENCAP => m.option175.map(<[u8]>::to_vec),
        opt::CLIENT_ID => {
            let mut v = vec![1];
            v.extend_from_slice(&c.mac.0);
            Some(v)
        }
        opt::CLIENT_GUID => {
            let bytes = match c.guid {
                Some(g) => g.to_pxe_bytes(),
                None if m.guid_zero_when_absent => [0; 16],
                None => return None,
            };
            let mut v = vec![0];
            v.extend_from_slice(&bytes);
            Some(v)
        }
        opt::SERVER_ID => c.server_id.map(|a| a.octets().to_vec()),
        opt::REQUESTED_IP => c.requested_ip.map(|a| a.octets().to_vec()),
        _ => None,
    }
}

fn build(m: &FirmwareModel, kind: Kind, h: Header, c: &Ctx) -> Vec<u8> {
    let order = match kind {
        Kind::Discover => m.options_order,
        Kind::Request => m.request_options_order,
        Kind::PxeRequest => m.pxe_request_options_order,
    };
    let mut w = Writer::new(&h);
    for &code in order {
        if let Some(d) = option_data(m, kind, code, c) {
            w.option(code, &d);
        }
    }
    w.finish()
}

fn header(m: &FirmwareModel, mac: Mac, xid: u32) -> Header {
    let mut h = Header::new(1);
    h.xid = xid;
    h.chaddr = chaddr_of(mac);
    if m.broadcast_flag {
        h.flags = BROADCAST_FLAG;
    }
    h
}

/// The DISCOVER as the firmware broadcasts it to port 67. `secs` is what the firmware
/// writes there: EDK2 the seconds since DHCP started, iPXE its state bits
/// (`(transmissions << 2) | (DHCP offer held: 2) | (proxy offer held: 1)`, 4 in a first
/// DISCOVER as the captures show), which responders read as seconds (R-ANS-5).
pub fn build_discover(
    m: &FirmwareModel,
    mac: Mac,
    guid: Option<Guid>,
    xid: u32,
    secs: u16,
) -> Vec<u8> {
    let mut h = header(m, mac, xid);
    h.secs = secs;
    let c = Ctx {
        mac,
        guid,
        requested_ip: None,
        server_id: None,
    };
    build(m, Kind::Discover, h, &c)
}

/// The DHCP REQUEST to the DHCP server (broadcast to port 67) selecting
/// `requested_ip` (no option 50 if 0.0.0.0) from `server_id`. `secs` as the firmware
/// writes it: EDK2 repeats its last DISCOVER's (the captures: 0 after its 4 s offer
/// collection), iPXE its state bits ([`ipxe_secs`]).
pub fn build_request(
    m: &FirmwareModel,
    mac: Mac,
    guid: Option<Guid>,
    xid: u32,
    secs: u16,
    requested_ip: Ipv4Addr,
    server_id: Ipv4Addr,
) -> Vec<u8> {
    let mut h = header(m, mac, xid);
    h.secs = secs;
    let c = Ctx {
        mac,
        guid,
        // EDK2 sends no option 50 when it requests a proxy offer (`edk2_offer_copy`).
        requested_ip: Some(requested_ip).filter(|a| !a.is_unspecified()),
        server_id: Some(server_id),
    };
    build(m, Kind::Request, h, &c)
}

/// The REQUEST to the proxy responder's port 4011, unicast from
/// [`FirmwareModel::pxe_request_src_port`], with ciaddr = the leased address.
/// `server` is the responder the client asks: iPXE names it in option 54 (and the
/// brief's signature had no room for it). EDK2 uses a fresh xid here
/// (`PxeBcDhcp4Discover`); iPXE keeps its DHCP xid: pass what the client would.
/// `secs` as the firmware writes it: [`edk2_boot_request_secs`], [`ipxe_secs`].
pub fn build_pxe_request(
    m: &FirmwareModel,
    mac: Mac,
    guid: Option<Guid>,
    xid: u32,
    ciaddr: Ipv4Addr,
    server: Ipv4Addr,
    secs: u16,
) -> Vec<u8> {
    let mut h = header(m, mac, xid);
    h.flags = if m.pxe_request_broadcast_flag {
        BROADCAST_FLAG
    } else {
        0
    };
    h.ciaddr = ciaddr;
    h.secs = secs;
    let c = Ctx {
        mac,
        guid,
        requested_ip: None,
        server_id: Some(server),
    };
    build(m, Kind::PxeRequest, h, &c)
}
