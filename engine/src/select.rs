//! Device identity and deployment selection: R-ID-3, R-ID-4, R-ID-5, R-EX-4, R-SEL-1..5.
//!
//! Pure functions of the site policy, the responder's settings and the deployment state.
//! Each rule is one function that names its id. Log lines use the vocabulary of
//! ConfigMgr's SMSPXE.log that admins know; they are the constants of [`log`].

use crate::ids::{Guid, Mac};
use crate::policy::{
    Arch, ClientClass, Deployment, Purpose, ResponderConfig, Site, X64_UNKNOWN, X86_UNKNOWN,
};
use crate::state::{DeviceKey, StateStore};
use std::cmp::Ordering;

/// The log lines of selection, in one place. Fixed lines are logged exactly as written;
/// the others are followed by a space and a deployment or boot image id.
///
/// The wording follows SMSPXE.log (as quoted in Microsoft's PXE troubleshooting
/// articles: `device is in the database.`, `no advertisements found`,
/// `No boot action. Aborted.`, `Not serviced.`, `found optional advertisement SB120083`)
/// with the spelling the rules page fixes (R-ID-3, R-SEL-5: no trailing period after
/// `database`). SMSPXE puts `<MAC>, <SMBIOS GUID>: ` before each line; [`Selection::log`]
/// holds the bare messages and a driver writing an SMSPXE-style file prepends
/// [`smspxe_prefix`].
pub mod log {
    /// R-ID-3: the device matched a site record.
    pub const KNOWN: &str = "device is in the database";
    /// R-ID-4: no site record matched.
    pub const UNKNOWN: &str = "device is not in the database";
    /// R-SEL-5, first line.
    pub const NO_ADVERTISEMENTS: &str = "no advertisements found";
    /// R-SEL-5, second line.
    pub const NO_BOOT_ACTION: &str = "No boot action. Aborted.";
    /// R-SEL-5, third line (also ends every other silence).
    pub const NOT_SERVICED: &str = "Not serviced.";
    /// R-SEL-4: a BIOS client and no PXE-enabled x86 boot image on this responder.
    pub const NO_X86_FOR_BIOS: &str =
        "no PXE-enabled x86 boot image on this responder to start a BIOS client";
    /// R-ID-4: an unknown device and `unknown_computer_support: false`.
    pub const UNKNOWN_NOT_SUPPORTED: &str = "unknown computer support is disabled";
    /// R-ID-5: a known device of another primary site; followed by its site, then
    /// [`OTHER_SITE_NOT_VISIBLE`] and this responder's site
    /// (`device is assigned to site PS2, its policies are not visible at site PS1`).
    pub const OTHER_SITE: &str = "device is assigned to site";
    /// R-ID-5, the second half of the line (see [`OTHER_SITE`]).
    pub const OTHER_SITE_NOT_VISIBLE: &str = ", its policies are not visible at site";
    /// R-SEL-3 choice, followed by the deployment id.
    pub const FOUND_REQUIRED: &str = "found required advertisement";
    /// R-SEL-3 choice, followed by the deployment id.
    pub const FOUND_AVAILABLE: &str = "found optional advertisement";
    /// R-STATE-1: a required deployment skipped because it already ran; followed by its id.
    pub const ALREADY_RAN: &str = "required advertisement already ran on this device, skipped:";
    /// R-SEL-4: the image the first stage comes from; followed by the boot image id.
    pub const FIRST_STAGE: &str = "BIOS first stage from x86 boot image";
}

/// The `<MAC>, <SMBIOS GUID>: ` prefix SMSPXE puts before each line about a client
/// (`52:54:00:00:00:01, 11111111-2222-3333-4444-555555555555: `; `<MAC>: ` without a GUID).
pub fn smspxe_prefix(mac: Mac, guid: Option<Guid>) -> String {
    match guid {
        Some(g) => format!("{mac}, {g}: "),
        None => format!("{mac}: "),
    }
}

/// Which identifier found the site record (R-ID-3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MatchedBy {
    Mac,
    Guid,
}

/// Outcome of the site lookup (R-ID-3, R-ID-4).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum DeviceMatch {
    /// A site machine matched.
    Known { machine: String, by: MatchedBy },
    /// No record matched: an unknown computer.
    Unknown,
}

impl DeviceMatch {
    /// The key deployment state is kept under for this device (see [`DeviceKey`]).
    pub fn device_key(&self, mac: Mac, guid: Option<Guid>) -> DeviceKey {
        match self {
            DeviceMatch::Known { machine, .. } => DeviceKey::Machine(machine.clone()),
            DeviceMatch::Unknown => DeviceKey::Unknown { mac, guid },
        }
    }
}

/// R-ID-3, R-ID-4, R-EX-4: find the site machine a client is.
///
/// Identifiers listed in the site's duplicate hardware identifiers are removed first
/// (R-EX-4): they are never used for lookup, but the device may still match by its other
/// identifier, or be an unknown computer. The GUID is looked up first: when the MAC
/// matches one record and the GUID another, the GUID wins (R-ID-3). When several records
/// share an identifier, the first in site order is taken.
pub fn identify(site: &Site, mac: Mac, guid: Option<Guid>) -> DeviceMatch {
    let guid = guid.filter(|g| !site.duplicate_guids.contains(g));
    let mac = Some(mac).filter(|m| !site.duplicate_macs.contains(m));
    if let Some(g) = guid {
        if let Some(m) = site.machines.iter().find(|m| m.smbios_guid == Some(g)) {
            return DeviceMatch::Known {
                machine: m.name.clone(),
                by: MatchedBy::Guid,
            };
        }
    }
    if let Some(mac) = mac {
        if let Some(m) = site.machines.iter().find(|m| m.mac == Some(mac)) {
            return DeviceMatch::Known {
                machine: m.name.clone(),
                by: MatchedBy::Mac,
            };
        }
    }
    DeviceMatch::Unknown
}

/// R-ID-5: may a responder of primary site `responder_site` serve `device`?
///
/// A known device assigned to another primary site cannot boot from it: that site's
/// management point cannot see the device's policies. `Err` holds the device's site.
/// An unknown device has no site record: any site's responder may serve it as an
/// unknown computer (R-ID-4). A known device of `responder_site` is served as usual.
///
/// The one place the rule lives: [`select`] asks it for this responder, and a peer's
/// election (R-ANS-6) asks it for each live peer, so that a peer of another site (which
/// stays silent) is not ranked ahead of one that answers.
pub fn r_id_5_site_serves<'a>(
    site: &'a Site,
    device: &DeviceMatch,
    responder_site: &str,
) -> Result<(), &'a str> {
    let DeviceMatch::Known { machine, .. } = device else {
        return Ok(());
    };
    match site.machine(machine).map(|m| site.assigned_site(m)) {
        Some(assigned) if assigned != responder_site => Err(assigned),
        _ => Ok(()),
    }
}

/// R-SEL-2: the architecture classes of a client: (exact, compatible).
///
/// [`ClientClass::Bios`] is a BIOS client whose CPU is not known yet: DHCP option 93 = 0
/// does not tell x86 from x64 (R-ID-2), yet the responder must decide at DISCOVER time
/// whether to answer. It is treated as the union of `bios-x86` and `bios-x64`, which is
/// `bios-x64`'s classes (x64 exact, x86 compatible): answering is right if the client
/// *could* be served. The precise class comes later from the first-stage program, and
/// selection runs again with `BiosX86` or `BiosX64`.
pub fn arch_classes(class: ClientClass) -> (&'static [Arch], &'static [Arch]) {
    match class {
        ClientClass::Bios | ClientClass::BiosX64 => (&[Arch::X64], &[Arch::X86]),
        ClientClass::BiosX86 => (&[Arch::X86], &[]),
        ClientClass::UefiX64 => (&[Arch::X64], &[]),
        ClientClass::UefiIa32 => (&[Arch::X86], &[]),
        ClientClass::UefiArm64 => (&[Arch::Arm64], &[]),
    }
}

/// R-ID-4: the built-in unknown-computer collections a client of `class` belongs to.
/// `x64 Unknown Computer` holds x64 and arm64 clients, `x86 Unknown Computer` x86 ones;
/// a BIOS client of unknown CPU may be either (the union, as in [`arch_classes`]).
pub fn unknown_collections(class: ClientClass) -> &'static [&'static str] {
    match class.unknown_collection() {
        Some(X86_UNKNOWN) => &[X86_UNKNOWN],
        Some(_) => &[X64_UNKNOWN],
        None => &[X64_UNKNOWN, X86_UNKNOWN],
    }
}

/// A deployment that passed R-SEL-1 and R-SEL-2, with what R-SEL-3 orders by.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    pub deployment: String,
    pub boot_image: String,
    pub image_arch: Arch,
    pub purpose: Purpose,
    /// Exact architecture class (else compatible), R-SEL-2.
    pub exact: bool,
}

/// The selected deployment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Choice {
    pub deployment: String,
    pub boot_image: String,
    pub image_arch: Arch,
    pub purpose: Purpose,
    /// Exact architecture class (else compatible), R-SEL-2.
    pub exact: bool,
    /// BIOS clients only: the PXE-enabled x86 boot image on this responder that provides
    /// the first-stage program (R-SEL-4). The chosen image if it is x86, otherwise the
    /// highest id (plain string order) among this responder's PXE-enabled x86 images.
    pub first_stage_image: Option<String>,
}

/// Why the responder stays silent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SilenceReason {
    /// R-ID-4: unknown device, and the responder has `unknown_computer_support: false`.
    UnknownNotSupported,
    /// R-ID-5: a known device assigned to another primary site than the responder's.
    OtherSite,
    /// R-SEL-5: nothing eligible.
    NoEligibleDeployment,
    /// R-SEL-4: BIOS client, no PXE-enabled x86 boot image on this responder.
    NoX86ImageForBios,
}

impl SilenceReason {
    /// The rule id this silence follows.
    pub fn rule(self) -> &'static str {
        match self {
            SilenceReason::UnknownNotSupported => "R-ID-4",
            SilenceReason::OtherSite => "R-ID-5",
            SilenceReason::NoEligibleDeployment => "R-SEL-5",
            SilenceReason::NoX86ImageForBios => "R-SEL-4",
        }
    }
}

/// The responder stays silent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Silence {
    pub reason: SilenceReason,
    /// The logged line that says why (one of [`Selection::log`]).
    pub why: String,
    /// What would have been chosen without the reason (R-SEL-4 only).
    pub would_have_chosen: Option<String>,
}

/// Everything selection decided, with its log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selection {
    pub device: DeviceMatch,
    pub device_key: DeviceKey,
    pub outcome: Result<Choice, Silence>,
    /// Log lines, in order (constants of [`log`]).
    pub log: Vec<String>,
}

/// R-SEL-1 (membership part) and R-ID-4: the collections that contain the device. A known
/// device is in the site collections that list it (never in the unknown-computer ones);
/// an unknown device is in the built-in unknown-computer collection(s) of its class, and
/// only where the responder has `unknown_computer_support`.
pub fn r_sel_1_collections_of<'a>(
    site: &'a Site,
    responder: &ResponderConfig,
    device: &DeviceMatch,
    class: ClientClass,
) -> Vec<&'a str> {
    match device {
        DeviceMatch::Known { machine, .. } => site
            .collections
            .iter()
            .filter(|c| c.members.iter().any(|m| m == machine))
            .map(|c| c.name.as_str())
            .collect(),
        DeviceMatch::Unknown if responder.unknown_computer_support => {
            unknown_collections(class).to_vec()
        }
        DeviceMatch::Unknown => Vec::new(),
    }
}

/// R-SEL-1 (boot image part): PXE-enabled and present on this responder.
fn r_sel_1_image_served(site: &Site, responder: &ResponderConfig, image: &str) -> Option<Arch> {
    let img = site.boot_image(image)?;
    (img.pxe_enabled && responder.images.iter().any(|i| i == image)).then_some(img.arch)
}

/// What eligibility is judged against: one client at one responder.
struct Ctx<'a> {
    site: &'a Site,
    responder: &'a ResponderConfig,
    state: &'a dyn StateStore,
    key: &'a DeviceKey,
    class: ClientClass,
    /// [`r_sel_1_collections_of`] the device, computed once.
    collections: Vec<&'a str>,
}

impl<'a> Ctx<'a> {
    fn new(
        site: &'a Site,
        responder: &'a ResponderConfig,
        state: &'a dyn StateStore,
        device: &'a DeviceMatch,
        key: &'a DeviceKey,
        class: ClientClass,
    ) -> Self {
        Ctx {
            site,
            responder,
            state,
            key,
            class,
            collections: r_sel_1_collections_of(site, responder, device, class),
        }
    }
}

/// R-SEL-1 and R-SEL-2 for one deployment: `Some(candidate)` when eligible.
/// A required deployment that is eligible but for R-STATE-1 is pushed on `already_ran`.
fn r_sel_1_eligible(
    cx: &Ctx<'_>,
    d: &Deployment,
    already_ran: &mut Vec<String>,
) -> Option<Candidate> {
    if !cx.collections.contains(&d.collection.as_str()) {
        return None;
    }
    // Purpose: both `required` and `available` qualify (the enum holds nothing else).
    match d.purpose {
        Purpose::Required | Purpose::Available => {}
    }
    if !d.available_to.includes_pxe() {
        return None;
    }
    let arch = r_sel_1_image_served(cx.site, cx.responder, &d.boot_image)?;
    // R-SEL-2
    let (exact, compatible) = arch_classes(cx.class);
    let exact = if exact.contains(&arch) {
        true
    } else if compatible.contains(&arch) {
        false
    } else {
        return None;
    };
    // R-STATE-1
    if d.purpose == Purpose::Required && cx.state.is_recorded(cx.key, &d.id) {
        already_ran.push(d.id.clone());
        return None;
    }
    Some(Candidate {
        deployment: d.id.clone(),
        boot_image: d.boot_image.clone(),
        image_arch: arch,
        purpose: d.purpose,
        exact,
    })
}

/// R-SEL-3 order: exact before compatible; within a class required before available;
/// then the highest deployment id by plain string comparison.
pub fn r_sel_3_order(a: &Candidate, b: &Candidate) -> Ordering {
    let rank = |c: &Candidate| (!c.exact, c.purpose != Purpose::Required);
    rank(a)
        .cmp(&rank(b))
        .then_with(|| b.deployment.cmp(&a.deployment))
}

fn eligible_inner(cx: &Ctx<'_>, already_ran: &mut Vec<String>) -> Vec<Candidate> {
    let mut out: Vec<Candidate> = cx
        .site
        .deployments
        .iter()
        .filter_map(|d| r_sel_1_eligible(cx, d, already_ran))
        .collect();
    out.sort_by(r_sel_3_order);
    out
}

/// Every eligible deployment (R-SEL-1, R-SEL-2) for the client, in R-SEL-3 order: the
/// first is what [`select`] picks. R-SEL-4 is not applied here.
pub fn eligible(
    site: &Site,
    responder: &ResponderConfig,
    state: &dyn StateStore,
    mac: Mac,
    guid: Option<Guid>,
    class: ClientClass,
) -> Vec<Candidate> {
    let device = identify(site, mac, guid);
    let key = device.device_key(mac, guid);
    let cx = Ctx::new(site, responder, state, &device, &key, class);
    eligible_inner(&cx, &mut Vec::new())
}

/// R-SEL-4: the PXE-enabled x86 boot image on this responder a BIOS client's first
/// stage comes from: `preferred` if it qualifies, else the highest id.
pub fn r_sel_4_first_stage_image(
    site: &Site,
    responder: &ResponderConfig,
    preferred: Option<&str>,
) -> Option<String> {
    let x86 = |id: &str| r_sel_1_image_served(site, responder, id) == Some(Arch::X86);
    if let Some(p) = preferred.filter(|p| x86(p)) {
        return Some(p.to_string());
    }
    responder.images.iter().filter(|i| x86(i)).max().cloned()
}

/// Select what this responder offers the client, or why it stays silent
/// (R-ID-3, R-ID-4, R-ID-5, R-EX-4, R-SEL-1..5, R-STATE-1).
///
/// Steps: identify the device; a known device must be of this responder's site
/// (R-ID-5); an unknown device needs `unknown_computer_support`;
/// list the eligible deployments in R-SEL-3 order; none is R-SEL-5 silence; a BIOS client
/// additionally needs an x86 boot image for its first stage (R-SEL-4); else the first
/// candidate is chosen. This does not record state: the caller records a required
/// deployment when it hands out the boot file (R-STATE-1).
pub fn select(
    site: &Site,
    responder: &ResponderConfig,
    state: &dyn StateStore,
    mac: Mac,
    guid: Option<Guid>,
    class: ClientClass,
) -> Selection {
    let device = identify(site, mac, guid);
    let device_key = device.device_key(mac, guid);
    let mut log_lines = Vec::new();
    // `why` is the logged line that says why; `Not serviced.` ends the lines.
    let silence =
        |reason, why: String, would: Option<String>, mut lines: Vec<String>, device, device_key| {
            lines.push(log::NOT_SERVICED.to_string());
            Selection {
                device,
                device_key,
                outcome: Err(Silence {
                    reason,
                    why,
                    would_have_chosen: would,
                }),
                log: lines,
            }
        };
    match &device {
        DeviceMatch::Known { .. } => {
            log_lines.push(log::KNOWN.to_string());
            // R-ID-5: known, but assigned to another primary site: silent, and not
            // treated as an unknown computer either.
            let mine = site.responder_site(responder);
            if let Err(theirs) = r_id_5_site_serves(site, &device, mine) {
                let why = format!(
                    "{} {theirs}{} {mine}",
                    log::OTHER_SITE,
                    log::OTHER_SITE_NOT_VISIBLE
                );
                log_lines.push(why.clone());
                return silence(
                    SilenceReason::OtherSite,
                    why,
                    None,
                    log_lines,
                    device,
                    device_key,
                );
            }
        }
        DeviceMatch::Unknown => {
            log_lines.push(log::UNKNOWN.to_string());
            if !responder.unknown_computer_support {
                log_lines.push(log::UNKNOWN_NOT_SUPPORTED.to_string());
                return silence(
                    SilenceReason::UnknownNotSupported,
                    log::UNKNOWN_NOT_SUPPORTED.to_string(),
                    None,
                    log_lines,
                    device,
                    device_key,
                );
            }
        }
    }
    let mut already_ran = Vec::new();
    let cx = Ctx::new(site, responder, state, &device, &device_key, class);
    let candidates = eligible_inner(&cx, &mut already_ran);
    for id in &already_ran {
        log_lines.push(format!("{} {id}", log::ALREADY_RAN));
    }
    let Some(best) = candidates.into_iter().next() else {
        // R-SEL-5
        log_lines.push(log::NO_ADVERTISEMENTS.to_string());
        log_lines.push(log::NO_BOOT_ACTION.to_string());
        return silence(
            SilenceReason::NoEligibleDeployment,
            log::NO_ADVERTISEMENTS.to_string(),
            None,
            log_lines,
            device,
            device_key,
        );
    };
    let first_stage_image = if class.is_bios() {
        match r_sel_4_first_stage_image(site, responder, Some(&best.boot_image)) {
            Some(img) => Some(img),
            None => {
                log_lines.push(log::NO_X86_FOR_BIOS.to_string());
                return silence(
                    SilenceReason::NoX86ImageForBios,
                    log::NO_X86_FOR_BIOS.to_string(),
                    Some(best.deployment),
                    log_lines,
                    device,
                    device_key,
                );
            }
        }
    } else {
        None
    };
    let found = match best.purpose {
        Purpose::Required => log::FOUND_REQUIRED,
        Purpose::Available => log::FOUND_AVAILABLE,
    };
    log_lines.push(format!("{found} {}", best.deployment));
    if let Some(img) = &first_stage_image {
        log_lines.push(format!("{} {img}", log::FIRST_STAGE));
    }
    Selection {
        device,
        device_key,
        outcome: Ok(Choice {
            deployment: best.deployment,
            boot_image: best.boot_image,
            image_arch: best.image_arch,
            purpose: best.purpose,
            exact: best.exact,
            first_stage_image,
        }),
        log: log_lines,
    }
}

#[cfg(test)]
mod tests;
