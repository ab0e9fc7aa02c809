//! A site's deployment policy and a responder's settings, as the engine sees them.
//! The scenario loader (`pxelab-scenario`) and the daemon's config both build these.

use crate::ids::{Guid, Mac};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::Duration;

/// Boot image / deployment architecture.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Arch {
    X86,
    X64,
    Arm64,
}

impl Arch {
    pub fn as_str(self) -> &'static str {
        match self {
            Arch::X86 => "x86",
            Arch::X64 => "x64",
            Arch::Arm64 => "arm64",
        }
    }
}

/// What the client machine is, as far as selection needs to know (R-ID-2, R-SEL-2).
/// For BIOS, DHCP cannot tell x86 from x64; the first-stage program learns it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ClientClass {
    /// BIOS, CPU not known yet (what DHCP option 93 = 0 tells).
    Bios,
    BiosX86,
    BiosX64,
    UefiIa32,
    UefiX64,
    UefiArm64,
}

impl ClientClass {
    /// R-ID-2: client system architecture (option 93, RFC 4578 / IANA) to class.
    /// Absent option 93 means BIOS. Unknown values are `None`.
    pub fn from_option93(arch: Option<u16>) -> Option<ClientClass> {
        match arch {
            None | Some(0) => Some(ClientClass::Bios),
            Some(6) => Some(ClientClass::UefiIa32),
            Some(7) | Some(9) => Some(ClientClass::UefiX64),
            Some(11) => Some(ClientClass::UefiArm64),
            Some(_) => None,
        }
    }

    /// R-V6-2, R-HTTP-1: the architecture of an HTTP boot client (DHCPv4 option 93,
    /// DHCPv6 option 61): the numbers of R-ID-2 and 15, 16, 19 for UEFI HTTP on IA32,
    /// x64 and ARM64 (RFC 5970's registry).
    pub fn from_http_arch(arch: Option<u16>) -> Option<ClientClass> {
        match arch {
            Some(15) => Some(ClientClass::UefiIa32),
            Some(16) => Some(ClientClass::UefiX64),
            Some(19) => Some(ClientClass::UefiArm64),
            other => ClientClass::from_option93(other),
        }
    }

    pub fn is_bios(self) -> bool {
        matches!(
            self,
            ClientClass::Bios | ClientClass::BiosX86 | ClientClass::BiosX64
        )
    }

    /// The architecture the unknown-computer collections test against (R-ID-4):
    /// `x64 Unknown Computer` matches x64 and arm64 clients, `x86 Unknown Computer` x86.
    pub fn unknown_collection(self) -> Option<&'static str> {
        match self {
            ClientClass::BiosX86 | ClientClass::UefiIa32 => Some(X86_UNKNOWN),
            ClientClass::BiosX64 | ClientClass::UefiX64 | ClientClass::UefiArm64 => {
                Some(X64_UNKNOWN)
            }
            ClientClass::Bios => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ClientClass::Bios => "bios",
            ClientClass::BiosX86 => "bios-x86",
            ClientClass::BiosX64 => "bios-x64",
            ClientClass::UefiIa32 => "uefi-ia32",
            ClientClass::UefiX64 => "uefi-x64",
            ClientClass::UefiArm64 => "uefi-arm64",
        }
    }
}

pub const X86_UNKNOWN: &str = "x86 Unknown Computer";
pub const X64_UNKNOWN: &str = "x64 Unknown Computer";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BootImage {
    pub id: String,
    pub arch: Arch,
    /// Size of the boot image payload in bytes.
    pub size: u64,
    pub pxe_enabled: bool,
}

pub const DEFAULT_BOOT_IMAGE_SIZE: u64 = 16 * 1024 * 1024;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Machine {
    pub name: String,
    pub mac: Option<Mac>,
    pub smbios_guid: Option<Guid>,
    /// The primary site the machine is assigned to (R-ID-5); `None` is the site's own
    /// code (see [`Site::assigned_site`]).
    pub assigned_site: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Collection {
    pub name: String,
    /// Machine names.
    pub members: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    Required,
    Available,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AvailableTo {
    ClientsMediaPxe,
    MediaPxe,
    MediaPxeHidden,
    Clients,
}

impl AvailableTo {
    /// R-SEL-1: made available to PXE.
    pub fn includes_pxe(self) -> bool {
        !matches!(self, AvailableTo::Clients)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Deployment {
    pub id: String,
    /// A declared collection or one of the built-in unknown-computer collections.
    pub collection: String,
    pub boot_image: String,
    pub purpose: Purpose,
    pub available_to: AvailableTo,
}

/// A site's policy: what the ConfigMgr site database knows.
///
/// One policy for the whole hierarchy: `code` is the primary site the scenario is
/// about and `other_sites` the other primary sites beside it. Machines and responders
/// each belong to one of them (R-ID-5); collections and deployments are the
/// hierarchy's, seen alike at every site.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Site {
    pub code: String,
    /// The other primary sites of the hierarchy (R-ID-5).
    pub other_sites: Vec<String>,
    pub boot_images: Vec<BootImage>,
    pub machines: Vec<Machine>,
    pub collections: Vec<Collection>,
    pub deployments: Vec<Deployment>,
    pub duplicate_macs: Vec<Mac>,
    pub duplicate_guids: Vec<Guid>,
}

impl Site {
    pub fn boot_image(&self, id: &str) -> Option<&BootImage> {
        self.boot_images.iter().find(|b| b.id == id)
    }
    pub fn machine(&self, name: &str) -> Option<&Machine> {
        self.machines.iter().find(|m| m.name == name)
    }
    pub fn collection(&self, name: &str) -> Option<&Collection> {
        self.collections.iter().find(|c| c.name == name)
    }
    /// The primary site `machine` is assigned to: its `assigned_site`, else `code`.
    pub fn assigned_site<'a>(&'a self, machine: &'a Machine) -> &'a str {
        machine.assigned_site.as_deref().unwrap_or(&self.code)
    }
    /// The primary site `responder` belongs to: its `site`, else `code`.
    pub fn responder_site<'a>(&'a self, responder: &'a ResponderConfig) -> &'a str {
        responder.site.as_deref().unwrap_or(&self.code)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    DistributionPoint,
    Peer,
}

/// TFTP caps of a responder (R-TFTP-2): ConfigMgr's RamDiskTFTPBlockSize and
/// RamDiskTFTPWindowSize. Defaults 4096 and 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TftpCaps {
    pub block_size: u16,
    pub window_size: u16,
}

impl Default for TftpCaps {
    fn default() -> Self {
        TftpCaps {
            block_size: 4096,
            window_size: 1,
        }
    }
}

/// One responder's settings (scenario `network.responders[]`, or `pxelab serve` config).
#[derive(Clone, Debug, PartialEq)]
pub struct ResponderConfig {
    pub name: String,
    /// Its IPv4 address; 0.0.0.0 for a responder on an IPv6-only segment (see
    /// [`ResponderConfig::has_ipv4`]).
    pub address: Ipv4Addr,
    pub role: Role,
    /// The primary site it belongs to (R-ID-5); `None` is the site's own code (see
    /// [`Site::responder_site`]).
    pub site: Option<String>,
    /// Boot image ids: distributed to a DP, pre-cached on a peer.
    pub images: Vec<String>,
    pub unknown_computer_support: bool,
    pub listen_dhcp_port: bool,
    pub respond: bool,
    pub response_delay: Duration,
    pub failover_step: Duration,
    pub mac_exclusions: Vec<Mac>,
    pub tftp: TftpCaps,
    /// The site's peer key (peers only): membership datagrams are sealed and verified
    /// with it (issue 5, rogue peers). `None`: plain, unauthenticated membership.
    pub peer_key: Option<crate::election::PeerKey>,
    /// Its IPv6 address (`address6`): it answers PXE over IPv6 (R-V6-1). `None`: IPv4 only.
    pub address6: Option<Ipv6Addr>,
    /// `http`: it also answers HTTP boot clients and serves its boot root over HTTP
    /// (R-HTTP-1, R-HTTP-2). `None`: PXE only.
    pub http: Option<HttpConfig>,
    /// Extension `option43`: raw option 43 added to its proxy offers
    /// ([`crate::dhcp::pxe_options`]). `None`: a plain BINL offer.
    pub proxy_option43: Option<Vec<u8>>,
}

/// A responder's HTTP boot settings (scenario `http: {port}`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HttpConfig {
    /// The TCP port of its HTTP server; default 80.
    pub port: u16,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig { port: 80 }
    }
}

impl ResponderConfig {
    /// A responder with the format page's defaults.
    pub fn new(name: &str, address: Ipv4Addr, role: Role) -> Self {
        ResponderConfig {
            name: name.to_string(),
            address,
            role,
            site: None,
            images: Vec::new(),
            unknown_computer_support: false,
            listen_dhcp_port: true,
            respond: true,
            response_delay: Duration::ZERO,
            failover_step: Duration::from_secs(4),
            mac_exclusions: Vec::new(),
            tftp: TftpCaps::default(),
            peer_key: None,
            address6: None,
            http: None,
            proxy_option43: None,
        }
    }

    /// Whether it has an IPv4 address: a responder on an IPv6-only segment has none and
    /// holds 0.0.0.0 in `address`.
    pub fn has_ipv4(&self) -> bool {
        !self.address.is_unspecified()
    }
}
