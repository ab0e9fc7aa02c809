//! Scenario loader for pxelab: reads scenario files (format v1.1,
//! `shared/spec/scenario-format.md`, with IPv6 and UEFI HTTP boot) into checked, typed
//! values.
//!
//! Every error names the file, the line and column (1-based) and what was expected.
//! Unknown keys are errors that list the keys allowed at that place. Additions and
//! interpretations beyond the format page are listed in `scenario/REFERENCE.md`.
//!
//! ```
//! let s = pxelab_scenario::load_str("scenario: empty\n", "x.yaml".as_ref()).unwrap();
//! assert_eq!(s.title, "empty");
//! assert_eq!(s.modes, vec![pxelab_scenario::Mode::Sim]);
//! ```

#![forbid(unsafe_code)]

mod load;
pub mod schema;
mod shape;
pub mod values;
mod yaml;

pub use pxelab_engine::election::PeerKey;
use pxelab_engine::policy::{ClientClass, ResponderConfig, Role, Site};
use pxelab_engine::{Guid, Mac};
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use load::{check_file, discover, is_bench_file, load_file, load_str};

/// One scenario file, checked.
#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    /// The file it was read from (as given to [`load_file`] / [`load_str`]).
    pub file: PathBuf,
    /// `scenario:` (required).
    pub title: String,
    pub description: Option<String>,
    pub tags: Vec<String>,
    /// Where it may run; default `[sim]`.
    pub modes: Vec<Mode>,
    /// Simulator randomness; default 0.
    pub seed: u64,
    pub site: Site,
    pub network: Network,
    /// Sorted stably by time: events at the same time keep their file order.
    pub events: Vec<Event>,
    pub expect: Vec<Expect>,
}

impl Scenario {
    pub fn segment(&self, name: &str) -> Option<&Segment> {
        self.network.segments.iter().find(|s| s.name == name)
    }
    pub fn client(&self, name: &str) -> Option<&Client> {
        self.network.clients.iter().find(|c| c.name == name)
    }
    /// Names `pxelab serve --responder` takes: the responders, then the rogues.
    pub fn serve_names(&self) -> impl Iterator<Item = &str> {
        self.network
            .responders
            .iter()
            .map(|r| r.config.name.as_str())
            .chain(self.network.rogues.iter().map(|r| r.name.as_str()))
    }
    pub fn responder(&self, name: &str) -> Option<&Responder> {
        self.network
            .responders
            .iter()
            .find(|r| r.config.name == name)
    }
    /// Number of `boot` events of a client.
    pub fn boot_count(&self, client: &str) -> usize {
        self.events
            .iter()
            .filter(|e| matches!(&e.kind, EventKind::Boot { client: c, .. } if c == client))
            .count()
    }
}

/// Where a scenario may run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mode {
    /// The simulator: virtual time, in-process.
    Sim,
    /// The lab: network namespaces, real servers and firmware.
    Lab,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Sim => "sim",
            Mode::Lab => "lab",
        }
    }
}

impl std::str::FromStr for Mode {
    type Err = String;
    /// `sim` or `lab`.
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "sim" => Ok(Mode::Sim),
            "lab" => Ok(Mode::Lab),
            _ => Err(format!("`{s}` is not a mode (expected sim or lab)")),
        }
    }
}

/// The hosts and links of a scenario.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Network {
    pub segments: Vec<Segment>,
    pub routers: Vec<Router>,
    pub dhcp_servers: Vec<DhcpServer>,
    pub responders: Vec<Responder>,
    pub clients: Vec<Client>,
    /// `rogues` (an extension): hosts that try to join the peer set.
    pub rogues: Vec<Rogue>,
}

/// A rogue host on a segment (extension `network.rogues`): it speaks the peer membership
/// protocol claiming to be a peer holding `images`, signing with its own `peer_key` (or
/// none), and never answers a client. Against a site without a peer key it joins the peer
/// set and, when it ranks first for a client, makes the real peers wait (R-ANS-6); against
/// a keyed site its datagrams are refused.
#[derive(Clone, Debug, PartialEq)]
pub struct Rogue {
    pub name: String,
    pub segment: String,
    pub address: Ipv4Addr,
    /// The peer name it announces (default: its own name).
    pub claims: String,
    pub images: Vec<String>,
    pub peer_key: Option<PeerKey>,
}

impl Rogue {
    /// The rogue as the engine runs it: a peer that never responds (R-ANS-4), with the
    /// claimed name and images and its own key.
    pub fn responder_config(&self) -> ResponderConfig {
        let mut cfg = ResponderConfig::new(&self.claims, self.address, Role::Peer);
        cfg.images = self.images.clone();
        cfg.respond = false;
        cfg.peer_key = self.peer_key.clone();
        cfg
    }
}

/// An IPv4 network: the network address (host bits cleared) and the prefix length.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Cidr {
    pub addr: Ipv4Addr,
    pub prefix: u8,
}

impl Cidr {
    /// The netmask, e.g. 255.255.255.0 for /24.
    pub fn mask(&self) -> Ipv4Addr {
        let m = if self.prefix == 0 {
            0
        } else {
            u32::MAX << (32 - u32::from(self.prefix))
        };
        Ipv4Addr::from(m)
    }
    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        let m = u32::from(self.mask());
        u32::from(ip) & m == u32::from(self.addr) & m
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// An IPv6 prefix (v1.1 `cidr6`): the network address (host bits cleared) and the
/// prefix length.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Cidr6 {
    pub addr: Ipv6Addr,
    pub prefix: u8,
}

impl Cidr6 {
    fn mask(&self) -> u128 {
        if self.prefix == 0 {
            0
        } else {
            u128::MAX << (128 - u32::from(self.prefix))
        }
    }
    pub fn contains(&self, ip: Ipv6Addr) -> bool {
        u128::from(ip) & self.mask() == u128::from(self.addr) & self.mask()
    }
}

impl fmt::Display for Cidr6 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Segment {
    pub name: String,
    /// The IPv4 network; `None` on an IPv6-only segment (v1.1: a segment has `cidr`,
    /// `cidr6` or both).
    pub cidr: Option<Cidr>,
    /// v1.1: the IPv6 prefix.
    pub cidr6: Option<Cidr6>,
    pub link: Link,
}

/// A segment's link model (see the format page).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Link {
    /// Each host's own link rate on the segment, bits per second; default 1 Gbit.
    pub rate_bps: u64,
    /// One-way latency between two hosts of the segment; default 0.
    pub delay: Duration,
    /// Chance that a packet is dropped, `0..=1`; default 0.
    pub loss: f64,
}

impl Default for Link {
    fn default() -> Self {
        Link {
            rate_bps: 1_000_000_000,
            delay: Duration::ZERO,
            loss: 0.0,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Router {
    pub name: String,
    /// (segment, address), in file order.
    pub interfaces: Vec<(String, Ipv4Addr)>,
    /// (client-side segment, relay targets), in file order.
    pub ip_helpers: Vec<(String, Vec<Ipv4Addr>)>,
    /// (client-side segment, option 82 to insert), in file order.
    pub option82: Vec<(String, Option82)>,
    /// Extension (REFERENCE.md): the relay agent the lab runs as the IP helpers.
    pub relay: RelayEngine,
    /// v1.1 `interfaces6`: (segment, address), in file order.
    pub interfaces6: Vec<(String, Ipv6Addr)>,
    /// v1.1 `ip_helpers6`: (client-side segment, DHCPv6 relay destinations), in file order.
    pub ip_helpers6: Vec<(String, Vec<Ipv6Addr>)>,
    /// v1.1 `interface_id6`: (client-side segment, Interface-ID option 18 it inserts).
    pub interface_id6: Vec<(String, String)>,
}

/// Extension (REFERENCE.md): the lab's relay agent for a router's IP helpers; the
/// simulator always runs pxelab's own.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum RelayEngine {
    /// pxelab's relay agent (the simulator's), as a process.
    #[default]
    Pxelab,
    /// ISC's `dhcrelay` (Debian isc-dhcp-relay), to cross-check it.
    Dhcrelay,
}

/// Relay agent information (RFC 3046) a router inserts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Option82 {
    pub circuit_id: Option<String>,
    pub remote_id: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DhcpServer {
    pub name: String,
    pub segment: String,
    /// Its IPv4 address; 0.0.0.0 for a server on an IPv6-only segment.
    pub address: Ipv4Addr,
    /// (segment, first, last), inclusive, in file order.
    pub pools: Vec<(String, Ipv4Addr, Ipv4Addr)>,
    /// v1.1 `address6`.
    pub address6: Option<Ipv6Addr>,
    /// v1.1 `pools6`: (segment, first, last), inclusive, in file order.
    pub pools6: Vec<(String, Ipv6Addr, Ipv6Addr)>,
    /// Send option 60 `PXEClient` (R-ANS-2); default false.
    pub option60_pxeclient: bool,
    /// Extension `option66` / `option67`: the server names the boot file itself.
    pub boot_file: DhcpBootFile,
    pub engine: DhcpEngine,
}

/// A DHCP server's own boot file options (extension keys `option66`, `option67`): the
/// TFTP server (siaddr and option 66) and the boot file (the `file` field and option
/// 67) in its OFFER and ACK, as an administrator sets them when no proxy serves PXE.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DhcpBootFile {
    pub tftp_server: Option<Ipv4Addr>,
    pub file: Option<String>,
}

/// The DHCP server used in the lab; the simulator models each as builtin.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum DhcpEngine {
    #[default]
    Builtin,
    Dnsmasq,
    Kea,
}

impl DhcpEngine {
    pub fn as_str(self) -> &'static str {
        match self {
            DhcpEngine::Builtin => "builtin",
            DhcpEngine::Dnsmasq => "dnsmasq",
            DhcpEngine::Kea => "kea",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Responder {
    /// Settings; `mac_exclusions` holds the inline list or the loaded file's MACs.
    pub config: ResponderConfig,
    pub segment: String,
    /// `mac_exclusion_file`, resolved against the scenario file's directory.
    pub mac_exclusion_file: Option<PathBuf>,
}

/// Client firmware (format page table).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Firmware {
    BiosX64,
    BiosX86,
    UefiX64,
    UefiIa32,
    UefiArm64,
}

impl Firmware {
    pub const ALL: [Firmware; 5] = [
        Firmware::BiosX64,
        Firmware::BiosX86,
        Firmware::UefiX64,
        Firmware::UefiIa32,
        Firmware::UefiArm64,
    ];

    /// The scenario name: `bios-x64`, `bios-x86`, `uefi-x64`, `uefi-ia32`, `uefi-arm64`.
    pub fn as_str(self) -> &'static str {
        match self {
            Firmware::BiosX64 => "bios-x64",
            Firmware::BiosX86 => "bios-x86",
            Firmware::UefiX64 => "uefi-x64",
            Firmware::UefiIa32 => "uefi-ia32",
            Firmware::UefiArm64 => "uefi-arm64",
        }
    }

    /// DHCP option 93 the firmware sends (format page table).
    pub fn option93(self) -> u16 {
        match self {
            Firmware::BiosX64 | Firmware::BiosX86 => 0,
            Firmware::UefiX64 => 7,
            Firmware::UefiIa32 => 6,
            Firmware::UefiArm64 => 11,
        }
    }

    /// Whether it has a network boot option (format page, v1.1 firmware table).
    pub fn netboot(self, n: Netboot) -> NetbootSupport {
        use NetbootSupport::*;
        match (self, n) {
            (_, Netboot::Pxe4) => Yes,
            (Firmware::BiosX64 | Firmware::BiosX86, Netboot::Pxe6) => LabDecides,
            (Firmware::BiosX64 | Firmware::BiosX86, _) => No,
            (Firmware::UefiX64, _) => Yes,
            (Firmware::UefiIa32 | Firmware::UefiArm64, _) => LabDecides,
        }
    }

    /// The client architecture (DHCPv4 option 93 / DHCPv6 option 61) it sends for HTTP
    /// boot (format page table; R-V6-2): 15 IA32, 16 x64, 19 ARM64. `None` for BIOS.
    pub fn http_arch(self) -> Option<u16> {
        match self {
            Firmware::BiosX64 | Firmware::BiosX86 => None,
            Firmware::UefiX64 => Some(16),
            Firmware::UefiIa32 => Some(15),
            Firmware::UefiArm64 => Some(19),
        }
    }

    /// The machine's class once its CPU is known (R-ID-2, R-SEL-2).
    pub fn class(self) -> ClientClass {
        match self {
            Firmware::BiosX64 => ClientClass::BiosX64,
            Firmware::BiosX86 => ClientClass::BiosX86,
            Firmware::UefiX64 => ClientClass::UefiX64,
            Firmware::UefiIa32 => ClientClass::UefiIa32,
            Firmware::UefiArm64 => ClientClass::UefiArm64,
        }
    }
}

impl std::str::FromStr for Firmware {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Firmware::ALL
            .into_iter()
            .find(|f| f.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "`{s}` is not a firmware (expected one of bios-x64, bios-x86, uefi-x64, uefi-ia32, uefi-arm64)"
                )
            })
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Client {
    pub name: String,
    pub segment: String,
    pub firmware: Firmware,
    /// The firmware profile `firmware: {family, profile}` names (docs/PROFILES.md);
    /// `None`: the family's built-in one. The simulator plays it; the lab boots the
    /// family's real firmware.
    pub profile: Option<&'static pxelab_engine::dhcp::firmware::Profile>,
    /// The site machine it is, if named.
    pub machine: Option<String>,
    /// Given, or taken from the machine.
    pub mac: Mac,
    /// Given, or taken from the machine.
    pub smbios_guid: Option<Guid>,
    /// The user presses F12 / Enter at the prompt (R-PROMPT-2); default false.
    pub press_key: bool,
    /// v1.1: which network boot option it uses; default `pxe4`. A `boot` event may
    /// choose another for that boot.
    pub netboot: Netboot,
}

/// v1.1: a firmware's network boot option (`netboot:` on clients and `boot` events, and
/// in the results).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Netboot {
    /// PXE over IPv4 (v1).
    #[default]
    Pxe4,
    /// PXE over IPv6 (DHCPv6, TFTP over IPv6).
    Pxe6,
    /// UEFI HTTP boot over IPv4.
    Http4,
    /// UEFI HTTP boot over IPv6.
    Http6,
}

impl Netboot {
    pub const ALL: [Netboot; 4] = [Netboot::Pxe4, Netboot::Pxe6, Netboot::Http4, Netboot::Http6];

    /// `pxe4`, `pxe6`, `http4`, `http6`.
    pub fn as_str(self) -> &'static str {
        match self {
            Netboot::Pxe4 => "pxe4",
            Netboot::Pxe6 => "pxe6",
            Netboot::Http4 => "http4",
            Netboot::Http6 => "http6",
        }
    }
    /// Over IPv6 (`pxe6`, `http6`).
    pub fn is_v6(self) -> bool {
        matches!(self, Netboot::Pxe6 | Netboot::Http6)
    }
    /// UEFI HTTP boot (`http4`, `http6`).
    pub fn is_http(self) -> bool {
        matches!(self, Netboot::Http4 | Netboot::Http6)
    }
}

impl fmt::Display for Netboot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Netboot {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Netboot::ALL
            .into_iter()
            .find(|n| n.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "`{s}` is not a network boot option (expected one of pxe4, pxe6, http4, http6)"
                )
            })
    }
}

/// Whether a firmware has a network boot option (the format page's firmware table).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NetbootSupport {
    Yes,
    /// "the lab decides": accepted; the lab's real firmware settles it.
    LabDecides,
    No,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// Since the scenario start.
    pub at: Duration,
    pub kind: EventKind,
    /// Line of the event in the file.
    pub line: usize,
}

#[derive(Clone, Debug, PartialEq)]
pub enum EventKind {
    /// Power on and network-boot a client; v1.1 `netboot`: this boot only, another of
    /// the firmware's network boot options (`None`: the client's own).
    Boot {
        client: String,
        netboot: Option<Netboot>,
    },
    /// A host stops answering; with `during: transfer`, once it is sending a file.
    Down {
        host: String,
        during_transfer: bool,
    },
    Up {
        host: String,
    },
    /// Clear required PXE deployments (R-STATE-2).
    ClearRequired(ClearTarget),
    /// Change a segment's link; `None` keeps the current value.
    Link {
        segment: String,
        rate_bps: Option<u64>,
        delay: Option<Duration>,
        loss: Option<f64>,
    },
    /// Extension: a one-off TFTP request (REFERENCE.md).
    TftpRequest(TftpRequest),
    /// Extension: reload a responder's exclusion list (R-EX-3). `macs` is the parsed
    /// file, or the R-EX-1 error (`file:line: message`) when it has a bad line.
    ReloadExclusions {
        responder: String,
        file: PathBuf,
        macs: Result<Vec<Mac>, String>,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClearTarget {
    Machine(String),
    /// A declared collection or a built-in unknown-computer collection.
    Collection(String),
}

#[derive(Clone, Debug, PartialEq)]
pub enum Expect {
    Boot(BootExpect),
    Logged {
        responder: String,
        logged: String,
        line: usize,
    },
    /// Extension: the answer to the Nth `tftp_request` event.
    TftpRequest(TftpExpect),
}

/// Extension (REFERENCE.md): what the responder's first answer to a `tftp_request`
/// event should be. Empty / `None` fields are not checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TftpExpect {
    /// Which `tftp_request` event, counting from 1 in file order.
    pub index: usize,
    /// `error`, `oack` or `data`.
    pub result: Option<String>,
    /// Any of these error codes.
    pub error_codes: Vec<u16>,
    /// Options and values the OACK must hold.
    pub oack: Vec<(String, String)>,
    /// Options the OACK must not hold.
    pub oack_absent: Vec<String>,
    pub line: usize,
}

/// Extension (REFERENCE.md): a one-off TFTP request sent to a responder from a probe
/// address on its segment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TftpRequest {
    pub responder: String,
    /// A write request (WRQ) instead of a read request.
    pub write: bool,
    pub file: String,
    /// Options in the order given.
    pub options: Vec<(String, String)>,
}

impl Expect {
    pub fn line(&self) -> usize {
        match self {
            Expect::Boot(b) => b.line,
            Expect::Logged { line, .. } => *line,
            Expect::TftpRequest(t) => t.line,
        }
    }
}

/// What one boot of a client should come to. `None` fields are not checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BootExpect {
    pub client: String,
    /// Which boot of that client, from 1; default 1.
    pub boot: u32,
    pub outcome: Option<Outcome>,
    pub boot_image: Option<String>,
    pub deployment: Option<String>,
    /// Any of these responders (a single name is a list of one).
    pub served_by: Option<Vec<String>>,
    /// Bound on the time from power-on to outcome.
    pub within: Option<Duration>,
    pub line: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    Booted,
    NoOffer,
    Declined,
    Failed,
}

impl Outcome {
    /// `booted`, `no_offer`, `declined`, `failed`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Booted => "booted",
            Outcome::NoOffer => "no_offer",
            Outcome::Declined => "declined",
            Outcome::Failed => "failed",
        }
    }
}

/// A scenario that could not be loaded: where and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadError {
    pub file: PathBuf,
    /// 1-based.
    pub line: Option<usize>,
    /// 1-based, in characters.
    pub column: Option<usize>,
    pub message: String,
}

impl LoadError {
    pub(crate) fn at(file: &Path, line: usize, column: usize, message: impl Into<String>) -> Self {
        LoadError {
            file: file.to_path_buf(),
            line: (line > 0).then_some(line),
            column: (line > 0 && column > 0).then_some(column),
            message: message.into(),
        }
    }
}

impl fmt::Display for LoadError {
    /// `file:line:column: message`, leaving out what is not known.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(l) = self.line {
            write!(f, ":{l}")?;
            if let Some(c) = self.column {
                write!(f, ":{c}")?;
            }
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for LoadError {}
