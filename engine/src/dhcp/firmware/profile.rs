//! Firmware profiles: what is firmware-specific, as data (docs/PROFILES.md).
//!
//! A profile is a YAML file that parameterises one behaviour family ([`Stack`]: the
//! code that plays EDK2 or iPXE) with one firmware's DHCP options, their order and
//! values, its timers and its TFTP options, over IPv4, IPv6 and HTTP. The five
//! built-in profiles (`profiles/*.yaml` at the top of the repository) are compiled in,
//! so a built-in needs no file at run time; a scenario may name another file
//! (`firmware: {family: uefi-x64, profile: dell.yaml}`).
//!
//! Every check is made while the file is read, so that an error names its file, line
//! and key (serde-saphyr gives the place): unknown keys, negative or malformed
//! durations, option lists without option 53 (DHCPv4) or 1 (DHCPv6), or with it not
//! first.
//!
//! A profile's models live as long as the process (`&'static`, as the built-in ones
//! always did): a file is read once per distinct text ([`load`] keeps them).

use super::{FirmwareKind, FirmwareModel, FirmwareTiming, Stack};
use crate::dhcp6::firmware::Firmware6;
use serde::de::{self, Deserializer};
use serde::Deserialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

/// One firmware's profile, read and checked: its models for each network boot option.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Profile {
    /// The profile's `name:`.
    pub name: String,
    /// Where it was read from (`profiles/uefi-x64.yaml` for a built-in).
    pub source: PathBuf,
    /// PXE over IPv4 (DHCP, port 4011, TFTP).
    pub pxe4: FirmwareModel,
    /// UEFI HTTP boot over IPv4; `None`: the firmware has none (BIOS).
    pub http4: Option<FirmwareModel>,
    /// PXE over IPv6.
    pub pxe6: Firmware6,
    /// UEFI HTTP boot over IPv6.
    pub http6: Option<Firmware6>,
}

/// A profile that cannot be used, with where (1-based line and column when known).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}{}: {message}", file.display(), place(*line, *column))]
pub struct ProfileError {
    pub file: PathBuf,
    pub line: Option<u64>,
    pub column: Option<u64>,
    pub message: String,
}

fn place(line: Option<u64>, column: Option<u64>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!(":{l}:{c}"),
        (Some(l), None) => format!(":{l}"),
        _ => String::new(),
    }
}

/// The built-in profiles' text, by firmware.
pub fn builtin_text(kind: FirmwareKind) -> &'static str {
    match kind {
        FirmwareKind::BiosX64 => include_str!("../../../../profiles/bios-x64.yaml"),
        FirmwareKind::BiosX86 => include_str!("../../../../profiles/bios-x86.yaml"),
        FirmwareKind::UefiX64 => include_str!("../../../../profiles/uefi-x64.yaml"),
        FirmwareKind::UefiIa32 => include_str!("../../../../profiles/uefi-ia32.yaml"),
        FirmwareKind::UefiArm64 => include_str!("../../../../profiles/uefi-arm64.yaml"),
    }
}

/// The built-in profile of a firmware (read once; a built-in that does not read is a
/// bug, which the engine's tests catch).
pub fn builtin(kind: FirmwareKind) -> &'static Profile {
    static ALL: OnceLock<Vec<Profile>> = OnceLock::new();
    let all = ALL.get_or_init(|| {
        FirmwareKind::ALL
            .iter()
            .map(|&k| {
                let file = PathBuf::from(format!("profiles/{}.yaml", k.name()));
                parse(builtin_text(k), &file, k).unwrap_or_else(|e| panic!("built-in {e}"))
            })
            .collect()
    });
    &all[FirmwareKind::ALL
        .iter()
        .position(|k| *k == kind)
        .expect("listed")]
}

/// A profile's text read for firmware family `kind` (`file` names it in errors). The
/// result lives for the process; the same text and family read again is not kept twice.
pub fn load(text: &str, file: &Path, kind: FirmwareKind) -> Result<&'static Profile, ProfileError> {
    type Key = (String, PathBuf, FirmwareKind);
    static LOADED: OnceLock<Mutex<HashMap<Key, &'static Profile>>> = OnceLock::new();
    let key = (text.to_string(), file.to_path_buf(), kind);
    let loaded = LOADED.get_or_init(Default::default);
    if let Some(p) = loaded.lock().expect("not poisoned").get(&key) {
        return Ok(p);
    }
    let p: &'static Profile = Box::leak(Box::new(parse(text, file, kind)?));
    loaded.lock().expect("not poisoned").insert(key, p);
    Ok(p)
}

/// Read a profile's text for firmware family `kind`, without keeping it.
pub fn parse(text: &str, file: &Path, kind: FirmwareKind) -> Result<Profile, ProfileError> {
    let f: ProfileFile = serde_saphyr::from_str(text).map_err(|e| {
        let loc = e.location();
        let message = match &e {
            serde_saphyr::Error::Message { msg, .. } => msg.clone(),
            other => {
                // Other errors render with their place and a snippet: keep the first line.
                let s = other.to_string();
                let s = s.trim_start_matches("error: ");
                s.lines().next().unwrap_or_default().to_string()
            }
        };
        // Some messages repeat the place ("line 3 column 5: ..."): the error says it once.
        let message = strip_place(&message).to_string();
        ProfileError {
            file: file.to_path_buf(),
            line: loc.map(|l| l.line()).filter(|l| *l > 0),
            column: loc.map(|l| l.column()).filter(|c| *c > 0),
            message,
        }
    })?;
    Ok(f.into_profile(file, kind))
}

/// `text` without a leading `line N column M: `.
fn strip_place(text: &str) -> &str {
    let all_digits = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
    text.strip_prefix("line ")
        .and_then(|r| r.split_once(" column "))
        .and_then(|(l, r)| {
            r.split_once(": ")
                .filter(|(c, _)| all_digits(l) && all_digits(c))
        })
        .map_or(text, |(_, msg)| msg)
}

// ---- The file's shape. Each check sits in a Deserialize impl so its error is located.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileFile {
    name: String,
    stack: StackName,
    dhcp4: Dhcp4,
    tftp: Tftp,
    #[serde(default)]
    timing: Timing,
    #[serde(default)]
    http4: Option<Http4>,
    dhcp6: Dhcp6,
    #[serde(default)]
    http6: Option<Http6>,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum StackName {
    Edk2,
    Ipxe,
}

#[derive(Deserialize, Clone, Copy, PartialEq)]
#[serde(rename_all = "kebab-case")]
enum Secs {
    /// Seconds since DHCP began (EDK2).
    Elapsed,
    /// iPXE's state bits.
    IpxeState,
}

#[derive(Deserialize, Clone, Copy, PartialEq)]
#[serde(rename_all = "lowercase")]
enum GuidAbsent {
    Zeros,
    Omit,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Dhcp4 {
    discover: Order4,
    request: Order4,
    pxe_request: Order4,
    option93: u16,
    option60: String,
    option94: [u8; 3],
    option55: Vec<u8>,
    option57: Option<u16>,
    request_option57: Option<u16>,
    #[serde(default)]
    option77: Option<String>,
    #[serde(default)]
    option175: Option<Hex>,
    option97_without_guid: GuidAbsent,
    secs: Secs,
    broadcast: bool,
    pxe_request_broadcast: bool,
    pxe_request_source_port: u16,
    retransmit: Retransmit,
    #[serde(default)]
    request_retransmit: Option<Retransmit>,
    #[serde(default)]
    pxe_request_retransmit: Option<Waits>,
    #[serde(default)]
    proxy_offer_wait: Option<Dur>,
    /// Offers picked only when a retransmission timeout expires (absent: true).
    #[serde(default)]
    selects_offer_at_timeout: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Tftp {
    options: Vec<TftpOption>,
    size_probe: bool,
    timeout: Dur,
    retries: u32,
    /// A read ends at an ICMP port unreachable (absent: the family's, EDK2 yes).
    #[serde(default)]
    ends_on_port_unreachable: Option<bool>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Timing {
    #[serde(default)]
    power_on_to_discover: Dur,
    /// PXE over IPv6's first Solicit (absent: `power_on_to_discover`).
    #[serde(default)]
    power_on_to_solicit: Option<Dur>,
    /// HTTP boot over IPv6's first Solicit (absent: `power_on_to_solicit`).
    #[serde(default)]
    power_on_to_http6_solicit: Option<Dur>,
    #[serde(default)]
    per_packet: Dur,
    /// Per IP datagram taken in, besides `per_packet` per frame (absent: none).
    #[serde(default)]
    per_datagram: Dur,
    /// Per frame and per datagram taken in over IPv6 (each absent: its IPv4 key's).
    #[serde(default)]
    per_packet6: Option<Dur>,
    #[serde(default)]
    per_datagram6: Option<Dur>,
    /// UEFI HTTP boot: per TCP segment taken in (absent: `per_datagram` +
    /// `per_packet`).
    #[serde(default)]
    per_segment: Option<Dur>,
    #[serde(default)]
    offer_collection: Dur,
    /// From the 4011 ACK to the boot program's first read (absent: the family's).
    #[serde(default)]
    pxe_ack_to_nbp: Option<Dur>,
    /// iPXE: how long its IPv6 autoconfiguration waits for a router advertisement,
    /// from its first router solicitation, before it boots (absent: the family's,
    /// iPXE 16.07 s, EDK2 none; `0s`: none).
    #[serde(default)]
    ipv6_wait: Option<Dur>,
    /// iPXE: from the first DISCOVER to taking the router advertisement.
    #[serde(default)]
    ipv6_advert_taken: Dur,
    /// iPXE: its DHCPv6 after an advertisement with M or O gives up (absent or `0s`:
    /// `dhcp6`'s `give_up`).
    #[serde(default)]
    ipv6_dhcp6_give_up: Option<Dur>,
    #[serde(default)]
    ack_to_read: Dur,
    /// From giving up a boot with an address and no boot file to handing the machine
    /// back (absent: the family's, iPXE 2 s, EDK2 none).
    #[serde(default)]
    failed_boot_prompt: Option<Dur>,
    #[serde(default)]
    probe_abort: Dur,
    #[serde(default)]
    probe_to_read: Dur,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Http4 {
    option93: u16,
    option60: String,
    option55: Vec<u8>,
    request_option57: Option<u16>,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "kebab-case")]
enum Duid {
    /// The SMBIOS GUID in option 97's byte order (EDK2).
    UuidAsOption97,
    /// The SMBIOS GUID in network order (iPXE).
    UuidNetworkOrder,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Dhcp6 {
    solicit: Order6,
    request: Order6,
    option61: u16,
    option16: String,
    option62: [u8; 3],
    option6: Vec<u16>,
    #[serde(default)]
    option15: Option<String>,
    duid: Duid,
    ia_t1_t2: u32,
    solicit_at: Schedule,
    give_up: Dur,
    #[serde(default)]
    collect: Option<Dur>,
    takes_proxy: bool,
    /// EDK2's wait for a route to the boot server (absent: none).
    #[serde(default)]
    route_wait: Option<Dur>,
    address_ready: Dur,
    request_elapsed: bool,
    #[serde(default)]
    tftp_probe: Option<Vec<TftpOption>>,
    tftp_options: Vec<TftpOption>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Http6 {
    option61: u16,
    option16: String,
    solicit_at: Schedule,
    #[serde(default)]
    collect: Option<Dur>,
    takes_proxy: bool,
    /// From the Reply to the first use of the address (absent: `dhcp6`'s).
    #[serde(default)]
    address_ready: Option<Dur>,
}

/// A duration written as the scenario format writes them: `4s`, `250ms`, `4.85s`, `0s`.
#[derive(Clone, Copy, Default)]
struct Dur(Duration);

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        parse_duration(&s).map(Dur).map_err(de::Error::custom)
    }
}

/// `4s`, `250ms`, `1.5s`, `2m`: a non-negative decimal and a unit ms, s or m.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let bad = || {
        format!(
            "`{s}` is not a duration (expected a number and a unit ms, s or m, like 250ms or 4s)"
        )
    };
    if t.starts_with('-') {
        return Err(format!("`{s}` is negative; a duration is 0s or more"));
    }
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .ok_or_else(bad)?;
    let (num, unit) = t.split_at(split);
    let scale = match unit {
        "ms" => 1e-3,
        "s" => 1.0,
        "m" => 60.0,
        _ => return Err(bad()),
    };
    if num.is_empty() || num.starts_with('.') || num.ends_with('.') {
        return Err(bad());
    }
    let v: f64 = num.parse().map_err(|_| bad())?;
    let secs = v * scale;
    if !secs.is_finite() || secs > 86_400.0 {
        return Err(format!("`{s}` is longer than a day"));
    }
    // Whole microseconds: no firmware timer is finer.
    Ok(Duration::from_micros((secs * 1e6).round() as u64))
}

/// The DHCPv4 options of one message in wire order: 53 first, no repeats.
struct Order4(Vec<u8>);

impl<'de> Deserialize<'de> for Order4 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Vec::<u8>::deserialize(d)?;
        match v.iter().position(|c| *c == 53) {
            None => Err(de::Error::custom(
                "an option list without option 53 (the DHCP message type, which must come first)",
            )),
            Some(i) if i > 0 => Err(de::Error::custom(format!(
                "option 53 (the DHCP message type) must come first, not after {:?}",
                &v[..i]
            ))),
            Some(_) => no_repeats(&v)
                .map(|()| Order4(v))
                .map_err(de::Error::custom),
        }
    }
}

/// The DHCPv6 options of one message in wire order: with 1 (client identifier).
struct Order6(Vec<u16>);

impl<'de> Deserialize<'de> for Order6 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Vec::<u16>::deserialize(d)?;
        if !v.contains(&1) {
            return Err(de::Error::custom(
                "a DHCPv6 option list without option 1 (the client identifier)",
            ));
        }
        no_repeats(&v)
            .map(|()| Order6(v))
            .map_err(de::Error::custom)
    }
}

fn no_repeats<T: PartialEq + std::fmt::Debug>(v: &[T]) -> Result<(), String> {
    for (i, c) in v.iter().enumerate() {
        if v[..i].contains(c) {
            return Err(format!("option {c:?} is listed twice"));
        }
    }
    Ok(())
}

/// DISCOVER retransmission timeouts: four, each a whole number of seconds above 0.
struct Retransmit([u64; 4]);

impl<'de> Deserialize<'de> for Retransmit {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Vec::<Dur>::deserialize(d)?;
        let bad = || {
            de::Error::custom(
                "`retransmit` is four timeouts in whole seconds above 0, like [4s, 8s, 16s, 32s]",
            )
        };
        if v.len() != 4 {
            return Err(bad());
        }
        let mut out = [0; 4];
        for (o, t) in out.iter_mut().zip(&v) {
            if t.0.subsec_nanos() != 0 || t.0.is_zero() {
                return Err(bad());
            }
            *o = t.0.as_secs();
        }
        Ok(Retransmit(out))
    }
}

/// The waits after each port-4011 REQUEST: one to sixteen, each above 0.
struct Waits(Vec<Duration>);

impl<'de> Deserialize<'de> for Waits {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v: Vec<Duration> = Vec::<Dur>::deserialize(d)?
            .into_iter()
            .map(|d| d.0)
            .collect();
        if v.is_empty() || v.len() > 16 || v.iter().any(Duration::is_zero) {
            return Err(de::Error::custom(
                "`pxe_request_retransmit` is one to sixteen waits above 0, like [1s, 2s, 3s, 4s]",
            ));
        }
        Ok(Waits(v))
    }
}

/// When Solicits go out: from 0, ascending.
struct Schedule(Vec<Duration>);

impl<'de> Deserialize<'de> for Schedule {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v: Vec<Duration> = Vec::<Dur>::deserialize(d)?
            .into_iter()
            .map(|d| d.0)
            .collect();
        if v.first() != Some(&Duration::ZERO) || v.windows(2).any(|w| w[1] <= w[0]) {
            return Err(de::Error::custom(
                "`solicit_at` starts at 0s and ascends, like [0s, 4850ms, 13700ms]",
            ));
        }
        Ok(Schedule(v))
    }
}

/// A TFTP option as `name=value`.
struct TftpOption(String, String);

impl<'de> Deserialize<'de> for TftpOption {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        match s.split_once('=') {
            Some((k, v)) if !k.is_empty() && !v.is_empty() && !k.contains(' ') => {
                Ok(TftpOption(k.to_ascii_lowercase(), v.to_string()))
            }
            _ => Err(de::Error::custom(format!(
                "`{s}` is not a TFTP option (expected name=value, like blksize=1468)"
            ))),
        }
    }
}

/// Bytes written in hex, spaces allowed: `b1 05 01`.
struct Hex(Vec<u8>);

impl<'de> Deserialize<'de> for Hex {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let digits: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        let bad = || de::Error::custom(format!("`{s}` is not bytes in hex, like \"b1 05 01\""));
        if !digits.len().is_multiple_of(2) || digits.len() > 510 {
            return Err(bad());
        }
        (0..digits.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&digits[i..i + 2], 16).map_err(|_| bad()))
            .collect::<Result<_, _>>()
            .map(Hex)
    }
}

// ---- From the file to the models the engine and the simulator play.

fn leak<T>(v: Vec<T>) -> &'static [T] {
    Box::leak(v.into_boxed_slice())
}

fn leak_str(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

fn leak_tftp(v: Vec<TftpOption>) -> &'static [(&'static str, &'static str)] {
    leak(
        v.into_iter()
            .map(|o| (leak_str(o.0), leak_str(o.1)))
            .collect(),
    )
}

impl ProfileFile {
    fn into_profile(self, file: &Path, kind: FirmwareKind) -> Profile {
        let stack = match self.stack {
            StackName::Edk2 => Stack::Edk2,
            StackName::Ipxe => Stack::Ipxe,
        };
        let d = self.dhcp4;
        // Absent IPv6 start-ups take the IPv4 one's (iPXE runs DHCPv4 and DHCPv6 at once).
        let solicit = self
            .timing
            .power_on_to_solicit
            .map_or(self.timing.power_on_to_discover.0, |d| d.0);
        let pxe4 = FirmwareModel {
            kind,
            name: kind.name(),
            stack,
            arch_option93: d.option93,
            vendor_class: leak_str(d.option60),
            client_ndi: d.option94,
            options_order: leak(d.discover.0),
            request_options_order: leak(d.request.0),
            pxe_request_options_order: leak(d.pxe_request.0),
            param_request_list: leak(d.option55),
            max_msg_size: d.option57,
            request_max_msg_size: d.request_option57,
            sends_secs: d.secs == Secs::Elapsed,
            broadcast_flag: d.broadcast,
            pxe_request_broadcast_flag: d.pxe_request_broadcast,
            pxe_request_src_port: d.pxe_request_source_port,
            user_class: d.option77.map(|u| leak(u.into_bytes())),
            option175: d.option175.map(|h| leak(h.0)),
            guid_zero_when_absent: d.option97_without_guid == GuidAbsent::Zeros,
            proxy_offer_wait_secs: d.proxy_offer_wait.map(|w| w.0.as_secs()),
            tftp_options: leak_tftp(self.tftp.options),
            tftp_size_probe: self.tftp.size_probe,
            tftp_timeout: self.tftp.timeout.0,
            tftp_retries: self.tftp.retries,
            retransmit: d.retransmit.0,
            request_retransmit: d
                .request_retransmit
                .map_or(super::REQUEST_RETRANSMIT, |r| r.0),
            pxe_request_retransmit: leak(
                d.pxe_request_retransmit
                    .map_or(super::PXE_REQUEST_RETRANSMIT.to_vec(), |w| w.0),
            ),
            // Absent keys take the family's behaviour (the fields' docs name where it
            // was seen): both pick offers at their timeouts; EDK2's Mtftp ends a read
            // at an ICMP port unreachable; the 4011 ACK to the NBP read under TCG.
            selects_offer_at_timeout: d.selects_offer_at_timeout.unwrap_or(true),
            tftp_gives_up_on_port_unreachable: self
                .tftp
                .ends_on_port_unreachable
                .unwrap_or(stack == Stack::Edk2),
            pxe_ack_to_nbp: self.timing.pxe_ack_to_nbp.map_or(
                match stack {
                    Stack::Ipxe => Duration::from_millis(30),
                    Stack::Edk2 => Duration::from_millis(1_000),
                },
                |d| d.0,
            ),
            timing: FirmwareTiming {
                power_on_to_discover: self.timing.power_on_to_discover.0,
                power_on_to_solicit: solicit,
                power_on_to_http6_solicit: self
                    .timing
                    .power_on_to_http6_solicit
                    .map_or(solicit, |d| d.0),
                per_packet: self.timing.per_packet.0,
                per_datagram: self.timing.per_datagram.0,
                per_packet6: self
                    .timing
                    .per_packet6
                    .map_or(self.timing.per_packet.0, |d| d.0),
                per_datagram6: self
                    .timing
                    .per_datagram6
                    .map_or(self.timing.per_datagram.0, |d| d.0),
                per_segment: self
                    .timing
                    .per_segment
                    .map_or(self.timing.per_datagram.0 + self.timing.per_packet.0, |d| {
                        d.0
                    }),
                offer_collection: self.timing.offer_collection.0,
                ipv6_wait: match (self.timing.ipv6_wait, stack) {
                    (Some(w), _) => Some(w.0).filter(|w| !w.is_zero()),
                    (None, Stack::Ipxe) => Some(Duration::from_millis(16_070)),
                    (None, Stack::Edk2) => None,
                },
                ipv6_advert_taken: self.timing.ipv6_advert_taken.0,
                ipv6_dhcp6_give_up: self
                    .timing
                    .ipv6_dhcp6_give_up
                    .map(|d| d.0)
                    .filter(|d| !d.is_zero()),
                ack_to_read: self.timing.ack_to_read.0,
                failed_boot_prompt: self.timing.failed_boot_prompt.map_or(
                    match stack {
                        Stack::Ipxe => Duration::from_secs(2),
                        Stack::Edk2 => Duration::ZERO,
                    },
                    |d| d.0,
                ),
                probe_abort: self.timing.probe_abort.0,
                probe_to_read: self.timing.probe_to_read.0,
            },
        };
        let http4 = self.http4.map(|h| {
            let mut m = pxe4.clone();
            m.arch_option93 = h.option93;
            m.vendor_class = leak_str(h.option60);
            m.param_request_list = leak(h.option55);
            m.request_max_msg_size = h.request_option57;
            // No TFTP: the boot file comes by HTTP.
            m.tftp_options = &[];
            m.tftp_size_probe = false;
            m
        });
        let s = self.dhcp6;
        let pxe6 = Firmware6 {
            kind,
            stack,
            arch: s.option61,
            vendor_class: leak_str(s.option16),
            nii: s.option62,
            oro: leak(s.option6),
            solicit_order: leak(s.solicit.0),
            request_order: leak(s.request.0),
            user_class: s.option15.map(|u| leak(u.into_bytes())),
            duid_network_order: matches!(s.duid, Duid::UuidNetworkOrder),
            solicit_t: s.ia_t1_t2,
            solicit_at: leak(s.solicit_at.0),
            give_up: s.give_up.0,
            collect: s.collect.map(|c| c.0),
            takes_proxy: s.takes_proxy,
            route_wait: s.route_wait.map(|r| r.0).unwrap_or_default(),
            address_ready: s.address_ready.0,
            request_elapsed: s.request_elapsed,
            tftp_probe: s.tftp_probe.map(leak_tftp),
            tftp_options: leak_tftp(s.tftp_options),
        };
        let http6 = self.http6.map(|h| {
            let mut m = pxe6.clone();
            m.arch = h.option61;
            m.vendor_class = leak_str(h.option16);
            m.solicit_at = leak(h.solicit_at.0);
            m.collect = h.collect.map(|c| c.0);
            m.takes_proxy = h.takes_proxy;
            if let Some(a) = h.address_ready {
                m.address_ready = a.0;
            }
            // HTTP boot's `address_ready` is its whole wait from the Reply.
            m.route_wait = Duration::ZERO;
            m
        });
        Profile {
            name: self.name,
            source: file.to_path_buf(),
            pxe4,
            http4,
            pxe6,
            http6,
        }
    }
}
