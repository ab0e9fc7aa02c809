//! One or more tests per rule id.

use super::*;
use crate::policy::{AvailableTo, BootImage, Collection, Role};
use crate::state::MemoryStore;
use crate::testkit::{self, machine};

const X86: &str = "PS100001";
const X64: &str = "PS100002";
const X64_OFF: &str = "PS100003";
const ARM: &str = "PS100004";

fn mac(n: u8) -> Mac {
    Mac([0x52, 0x54, 0, 0, 0, n])
}
fn guid(n: u8) -> Guid {
    Guid([n; 16])
}

fn image(id: &str, arch: Arch, pxe_enabled: bool) -> BootImage {
    testkit::image(id, arch, 1, pxe_enabled)
}

use testkit::deployment as dep;

fn req(id: &str, coll: &str, img: &str) -> Deployment {
    dep(id, coll, img, Purpose::Required, AvailableTo::MediaPxe)
}
fn avail(id: &str, coll: &str, img: &str) -> Deployment {
    dep(
        id,
        coll,
        img,
        Purpose::Available,
        AvailableTo::ClientsMediaPxe,
    )
}

fn site(deployments: Vec<Deployment>) -> Site {
    Site {
        code: "PS1".into(),
        boot_images: vec![
            image(X86, Arch::X86, true),
            image(X64, Arch::X64, true),
            image(X64_OFF, Arch::X64, false),
            image(ARM, Arch::Arm64, true),
        ],
        machines: vec![
            machine("WS01", Some(mac(1)), Some(guid(1))),
            machine("WS02", Some(mac(2)), Some(guid(2))),
            machine("WS03", Some(mac(3)), None),
        ],
        collections: vec![Collection {
            name: "Lab".into(),
            members: vec!["WS01".into(), "WS02".into()],
        }],
        deployments,
        duplicate_macs: vec![],
        duplicate_guids: vec![],
        other_sites: vec![],
    }
}

fn dp(images: &[&str]) -> ResponderConfig {
    let mut r = ResponderConfig::new("dp1", "10.10.0.5".parse().unwrap(), Role::DistributionPoint);
    r.images = images.iter().map(|s| s.to_string()).collect();
    r
}

fn all_dp() -> ResponderConfig {
    dp(&[X86, X64, X64_OFF, ARM])
}

fn chosen(s: &Selection) -> &str {
    &s.outcome.as_ref().expect("a choice").deployment
}

fn silence(s: &Selection) -> SilenceReason {
    s.outcome.as_ref().expect_err("silence").reason
}

fn ws01(site: &Site, r: &ResponderConfig, st: &dyn StateStore, class: ClientClass) -> Selection {
    select(site, r, st, mac(1), Some(guid(1)), class)
}

// ---- R-ID-3 / R-ID-4 / R-EX-4 ----

#[test]
fn r_id_3_known_by_mac_and_by_guid() {
    let s = site(vec![]);
    assert_eq!(
        identify(&s, mac(3), None),
        DeviceMatch::Known {
            machine: "WS03".into(),
            by: MatchedBy::Mac
        }
    );
    assert_eq!(
        identify(&s, mac(99), Some(guid(2))),
        DeviceMatch::Known {
            machine: "WS02".into(),
            by: MatchedBy::Guid
        }
    );
    assert_eq!(identify(&s, mac(99), Some(guid(99))), DeviceMatch::Unknown);
}

#[test]
fn r_id_3_guid_wins_over_mac() {
    let s = site(vec![]);
    // MAC of WS01, GUID of WS02.
    assert_eq!(
        identify(&s, mac(1), Some(guid(2))),
        DeviceMatch::Known {
            machine: "WS02".into(),
            by: MatchedBy::Guid
        }
    );
}

#[test]
fn r_id_3_logs_known() {
    let s = site(vec![req("PS120001", "Lab", X64)]);
    let sel = ws01(&s, &all_dp(), &MemoryStore::new(), ClientClass::UefiX64);
    assert_eq!(sel.log[0], log::KNOWN);
    assert_eq!(sel.device_key, DeviceKey::machine("WS01"));
}

#[test]
fn r_ex_4_duplicate_mac_removed_but_guid_still_identifies() {
    let mut s = site(vec![]);
    s.duplicate_macs = vec![mac(1)];
    assert_eq!(
        identify(&s, mac(1), Some(guid(1))),
        DeviceMatch::Known {
            machine: "WS01".into(),
            by: MatchedBy::Guid
        }
    );
    // Without a usable GUID the duplicate MAC alone finds nothing.
    assert_eq!(identify(&s, mac(1), None), DeviceMatch::Unknown);
}

#[test]
fn r_ex_4_duplicate_guid_removed_mac_still_identifies() {
    let mut s = site(vec![]);
    s.duplicate_guids = vec![guid(2)];
    // GUID of WS02 is a duplicate, so the MAC of WS01 decides.
    assert_eq!(
        identify(&s, mac(1), Some(guid(2))),
        DeviceMatch::Known {
            machine: "WS01".into(),
            by: MatchedBy::Mac
        }
    );
}

#[test]
fn r_ex_4_both_duplicates_boot_as_unknown() {
    let mut s = site(vec![req("PS120001", X64_UNKNOWN, X64)]);
    s.duplicate_macs = vec![mac(1)];
    s.duplicate_guids = vec![guid(1)];
    let mut r = all_dp();
    r.unknown_computer_support = true;
    let sel = ws01(&s, &r, &MemoryStore::new(), ClientClass::UefiX64);
    assert_eq!(sel.device, DeviceMatch::Unknown);
    assert_eq!(
        sel.device_key,
        DeviceKey::Unknown {
            mac: mac(1),
            guid: Some(guid(1))
        }
    );
    assert_eq!(chosen(&sel), "PS120001");
}

#[test]
fn r_id_4_unknown_needs_support() {
    let s = site(vec![req("PS120001", X64_UNKNOWN, X64)]);
    let st = MemoryStore::new();
    let mut r = all_dp();
    let sel = select(&s, &r, &st, mac(50), Some(guid(50)), ClientClass::UefiX64);
    assert_eq!(silence(&sel), SilenceReason::UnknownNotSupported);
    assert_eq!(
        sel.log,
        vec![log::UNKNOWN, log::UNKNOWN_NOT_SUPPORTED, log::NOT_SERVICED]
    );
    r.unknown_computer_support = true;
    let sel = select(&s, &r, &st, mac(50), Some(guid(50)), ClientClass::UefiX64);
    assert_eq!(chosen(&sel), "PS120001");
    assert_eq!(sel.log[0], log::UNKNOWN);
}

#[test]
fn r_id_4_unknown_collection_by_architecture() {
    let s = site(vec![
        req("PS120086", X86_UNKNOWN, X86),
        req("PS120064", X64_UNKNOWN, X64),
        req("PS1200A6", X64_UNKNOWN, ARM),
    ]);
    let st = MemoryStore::new();
    let mut r = all_dp();
    r.unknown_computer_support = true;
    let pick = |class| {
        let sel = select(&s, &r, &st, mac(50), None, class);
        sel.outcome.map(|c| c.deployment).ok()
    };
    assert_eq!(pick(ClientClass::UefiX64).as_deref(), Some("PS120064"));
    assert_eq!(pick(ClientClass::UefiArm64).as_deref(), Some("PS1200A6"));
    assert_eq!(pick(ClientClass::UefiIa32).as_deref(), Some("PS120086"));
    assert_eq!(pick(ClientClass::BiosX86).as_deref(), Some("PS120086"));
    // bios-x64 is in the x64 collection only: the x64 deployment, exact.
    assert_eq!(pick(ClientClass::BiosX64).as_deref(), Some("PS120064"));
}

#[test]
fn r_id_4_known_device_not_in_unknown_collection() {
    let s = site(vec![req("PS120064", X64_UNKNOWN, X64)]);
    let mut r = all_dp();
    r.unknown_computer_support = true;
    let sel = ws01(&s, &r, &MemoryStore::new(), ClientClass::UefiX64);
    assert_eq!(silence(&sel), SilenceReason::NoEligibleDeployment);
}

#[test]
fn r_id_4_x86_unknown_collection_does_not_take_x64_client() {
    let s = site(vec![req("PS120086", X86_UNKNOWN, X86)]);
    let mut r = all_dp();
    r.unknown_computer_support = true;
    let sel = unknown(&s, &r, ClientClass::UefiX64);
    assert_eq!(silence(&sel), SilenceReason::NoEligibleDeployment);
    // A bios-x64 unknown client belongs to the x64 collection only, even though an
    // x86 image would be architecture-compatible.
    let sel = unknown(&s, &r, ClientClass::BiosX64);
    assert_eq!(silence(&sel), SilenceReason::NoEligibleDeployment);
}

/// An unknown computer (`mac(50)`, no GUID) of `class` at `r`, with no state.
fn unknown(s: &Site, r: &ResponderConfig, class: ClientClass) -> Selection {
    select(s, r, &MemoryStore::new(), mac(50), None, class)
}

// ---- R-ID-5 ----

/// The site with WS02 assigned to the other primary site PS2, and a DP of `dp_site`
/// (`None`: the site's own code) that supports unknown computers.
fn two_sites(deployments: Vec<Deployment>, dp_site: Option<&str>) -> (Site, ResponderConfig) {
    let mut s = site(deployments);
    s.other_sites = vec!["PS2".into()];
    s.machines[1].assigned_site = Some("PS2".into());
    let mut r = all_dp();
    r.unknown_computer_support = true;
    r.site = dp_site.map(str::to_string);
    (s, r)
}

fn ws02(site: &Site, r: &ResponderConfig) -> Selection {
    select(
        site,
        r,
        &MemoryStore::new(),
        mac(2),
        Some(guid(2)),
        ClientClass::UefiX64,
    )
}

const NOT_VISIBLE_AT_PS1: &str =
    "device is assigned to site PS2, its policies are not visible at site PS1";

#[test]
fn r_id_5_device_of_another_site_is_silent_with_its_log_lines() {
    let (s, r) = two_sites(vec![req("PS120001", "Lab", X64)], None);
    let sel = ws02(&s, &r);
    assert_eq!(silence(&sel), SilenceReason::OtherSite);
    assert_eq!(SilenceReason::OtherSite.rule(), "R-ID-5");
    assert_eq!(
        sel.log,
        vec![log::KNOWN, NOT_VISIBLE_AT_PS1, log::NOT_SERVICED]
    );
    assert_eq!(sel.outcome.unwrap_err().why, NOT_VISIBLE_AT_PS1);
    // Its own site's machine, in the same collection, is served by the same DP.
    assert_eq!(
        chosen(&ws01(&s, &r, &MemoryStore::new(), ClientClass::UefiX64)),
        "PS120001"
    );
}

#[test]
fn r_id_5_known_device_of_another_site_is_not_an_unknown_computer() {
    // The DP serves unknown computers an x64 deployment: WS02 is known (R-ID-3), so it
    // gets neither its collection's deployment nor the unknown-computer one.
    let (s, r) = two_sites(
        vec![
            req("PS120001", "Lab", X64),
            req("PS120064", X64_UNKNOWN, X64),
        ],
        None,
    );
    let sel = ws02(&s, &r);
    assert!(matches!(sel.device, DeviceMatch::Known { ref machine, .. } if machine == "WS02"));
    assert_eq!(sel.device_key, DeviceKey::machine("WS02"));
    assert_eq!(silence(&sel), SilenceReason::OtherSite);
    // A truly unknown computer still gets the unknown-computer deployment there.
    assert_eq!(chosen(&unknown(&s, &r, ClientClass::UefiX64)), "PS120064");
}

#[test]
fn r_id_5_responder_of_the_devices_site_serves_it_and_not_the_others() {
    let (s, r) = two_sites(vec![req("PS120001", "Lab", X64)], Some("PS2"));
    assert_eq!(chosen(&ws02(&s, &r)), "PS120001");
    let sel = ws01(&s, &r, &MemoryStore::new(), ClientClass::UefiX64);
    assert_eq!(silence(&sel), SilenceReason::OtherSite);
    assert_eq!(
        sel.log[1],
        "device is assigned to site PS1, its policies are not visible at site PS2"
    );
}

#[test]
fn r_id_5_defaults_are_the_site_code() {
    let (s, mut r) = two_sites(vec![req("PS120001", "Lab", X64)], None);
    let ws01_device = identify(&s, mac(1), None);
    let ws02_device = identify(&s, mac(2), None);
    // No `site` on the responder, no `assigned_site` on WS01: both are PS1.
    assert_eq!(s.responder_site(&r), "PS1");
    assert_eq!(s.assigned_site(&s.machines[0]), "PS1");
    assert_eq!(r_id_5_site_serves(&s, &ws01_device, "PS1"), Ok(()));
    assert_eq!(r_id_5_site_serves(&s, &ws02_device, "PS1"), Err("PS2"));
    assert_eq!(r_id_5_site_serves(&s, &ws02_device, "PS2"), Ok(()));
    // An unknown computer is any site's to serve (R-ID-4 decides).
    assert_eq!(r_id_5_site_serves(&s, &DeviceMatch::Unknown, "PS2"), Ok(()));
    // Naming the site's own code is the same as leaving it out.
    r.site = Some("PS1".into());
    assert_eq!(
        chosen(&ws01(&s, &r, &MemoryStore::new(), ClientClass::UefiX64)),
        "PS120001"
    );
    assert_eq!(silence(&ws02(&s, &r)), SilenceReason::OtherSite);
}

#[test]
fn r_id_5_the_record_the_guid_finds_decides_the_site() {
    // MAC of WS01 (PS1), GUID of WS02 (PS2): the GUID wins (R-ID-3), so the device is
    // WS02, of PS2, and PS1's DP stays silent.
    let (s, r) = two_sites(vec![req("PS120001", "Lab", X64)], None);
    let sel = select(
        &s,
        &r,
        &MemoryStore::new(),
        mac(1),
        Some(guid(2)),
        ClientClass::UefiX64,
    );
    assert_eq!(silence(&sel), SilenceReason::OtherSite);
    // With WS02's GUID listed as a duplicate (R-EX-4) the MAC finds WS01: served.
    let mut s = s;
    s.duplicate_guids = vec![guid(2)];
    let sel = select(
        &s,
        &r,
        &MemoryStore::new(),
        mac(1),
        Some(guid(2)),
        ClientClass::UefiX64,
    );
    assert_eq!(chosen(&sel), "PS120001");
}

// ---- R-SEL-1 ----

#[test]
fn r_sel_1_clients_only_is_not_pxe() {
    let s = site(vec![dep(
        "PS120001",
        "Lab",
        X64,
        Purpose::Required,
        AvailableTo::Clients,
    )]);
    let sel = ws01(&s, &all_dp(), &MemoryStore::new(), ClientClass::UefiX64);
    assert_eq!(silence(&sel), SilenceReason::NoEligibleDeployment);
    for to in [
        AvailableTo::ClientsMediaPxe,
        AvailableTo::MediaPxe,
        AvailableTo::MediaPxeHidden,
    ] {
        let s = site(vec![dep("PS120001", "Lab", X64, Purpose::Required, to)]);
        let sel = ws01(&s, &all_dp(), &MemoryStore::new(), ClientClass::UefiX64);
        assert_eq!(chosen(&sel), "PS120001", "{to:?}");
    }
}

#[test]
fn r_sel_1_image_not_pxe_enabled() {
    let s = site(vec![req("PS120001", "Lab", X64_OFF)]);
    let sel = ws01(&s, &all_dp(), &MemoryStore::new(), ClientClass::UefiX64);
    assert_eq!(silence(&sel), SilenceReason::NoEligibleDeployment);
}

#[test]
fn r_sel_1_image_not_on_responder() {
    let s = site(vec![req("PS120001", "Lab", X64)]);
    let sel = ws01(
        &s,
        &dp(&[X86, ARM]),
        &MemoryStore::new(),
        ClientClass::UefiX64,
    );
    assert_eq!(silence(&sel), SilenceReason::NoEligibleDeployment);
    // An image id the site does not know is not eligible either.
    let s = site(vec![req("PS120001", "Lab", "PS1NOPE")]);
    let sel = ws01(
        &s,
        &dp(&["PS1NOPE"]),
        &MemoryStore::new(),
        ClientClass::UefiX64,
    );
    assert_eq!(silence(&sel), SilenceReason::NoEligibleDeployment);
}

#[test]
fn r_sel_1_collection_must_contain_device() {
    let s = site(vec![
        req("PS120001", "Lab", X64),
        req("PS120002", "Other", X64),
    ]);
    let st = MemoryStore::new();
    // WS03 is in no collection.
    let sel = select(&s, &all_dp(), &st, mac(3), None, ClientClass::UefiX64);
    assert_eq!(silence(&sel), SilenceReason::NoEligibleDeployment);
    assert_eq!(sel.log[0], log::KNOWN);
}

#[test]
fn r_sel_1_required_already_ran_is_skipped() {
    // R-STATE-1 through R-SEL-1: the next candidate follows, then silence.
    let s = site(vec![
        req("PS120002", "Lab", X64),
        req("PS120001", "Lab", X64),
    ]);
    let mut st = MemoryStore::new();
    let r = all_dp();
    let sel = ws01(&s, &r, &st, ClientClass::UefiX64);
    assert_eq!(chosen(&sel), "PS120002");
    st.record(&sel.device_key, "PS120002").unwrap();
    let sel = ws01(&s, &r, &st, ClientClass::UefiX64);
    assert_eq!(chosen(&sel), "PS120001");
    assert!(sel.log.contains(&format!("{} PS120002", log::ALREADY_RAN)));
    st.record(&sel.device_key, "PS120001").unwrap();
    let sel = ws01(&s, &r, &st, ClientClass::UefiX64);
    assert_eq!(silence(&sel), SilenceReason::NoEligibleDeployment);
    // Another machine is not affected.
    let sel = select(&s, &r, &st, mac(2), Some(guid(2)), ClientClass::UefiX64);
    assert_eq!(chosen(&sel), "PS120002");
}

#[test]
fn r_sel_1_available_is_not_consumed_by_state() {
    let s = site(vec![avail("PS120001", "Lab", X64)]);
    let mut st = MemoryStore::new();
    st.record(&DeviceKey::machine("WS01"), "PS120001").unwrap();
    let sel = ws01(&s, &all_dp(), &st, ClientClass::UefiX64);
    assert_eq!(chosen(&sel), "PS120001");
}

// ---- R-SEL-2 ----

#[test]
fn r_sel_2_classes() {
    use ClientClass::*;
    assert_eq!(arch_classes(BiosX64), (&[Arch::X64][..], &[Arch::X86][..]));
    assert_eq!(arch_classes(Bios), arch_classes(BiosX64));
    assert_eq!(arch_classes(BiosX86), (&[Arch::X86][..], &[][..]));
    assert_eq!(arch_classes(UefiX64), (&[Arch::X64][..], &[][..]));
    assert_eq!(arch_classes(UefiIa32), (&[Arch::X86][..], &[][..]));
    assert_eq!(arch_classes(UefiArm64), (&[Arch::Arm64][..], &[][..]));
}

#[test]
fn r_sel_2_no_compatible_class_for_uefi() {
    let s = site(vec![req("PS120001", "Lab", X86)]);
    let sel = ws01(&s, &all_dp(), &MemoryStore::new(), ClientClass::UefiX64);
    assert_eq!(silence(&sel), SilenceReason::NoEligibleDeployment);
    let sel = ws01(&s, &all_dp(), &MemoryStore::new(), ClientClass::BiosX64);
    let c = sel.outcome.unwrap();
    assert_eq!(c.deployment, "PS120001");
    assert!(!c.exact);
}

// ---- R-SEL-3 ----

#[test]
fn r_sel_3_exact_before_compatible() {
    // An x86 required deployment (compatible for bios-x64) loses to an x64 available one.
    let s = site(vec![
        req("PS120009", "Lab", X86),
        avail("PS120001", "Lab", X64),
    ]);
    let sel = ws01(&s, &all_dp(), &MemoryStore::new(), ClientClass::BiosX64);
    let c = sel.outcome.unwrap();
    assert_eq!(c.deployment, "PS120001");
    assert!(c.exact);
    assert_eq!(c.first_stage_image.as_deref(), Some(X86));
}

#[test]
fn r_sel_3_required_before_available_within_class() {
    let s = site(vec![
        avail("PS120009", "Lab", X64),
        req("PS120001", "Lab", X64),
    ]);
    let sel = ws01(&s, &all_dp(), &MemoryStore::new(), ClientClass::UefiX64);
    assert_eq!(chosen(&sel), "PS120001");
    assert_eq!(
        sel.log.last().unwrap(),
        "found required advertisement PS120001"
    );
}

#[test]
fn r_sel_3_highest_id_zzz_beats_aaa() {
    let s = site(vec![
        avail("AAA20001", "Lab", X64),
        avail("ZZZ20001", "Lab", X64),
        avail("MMM20001", "Lab", X64),
    ]);
    let sel = ws01(&s, &all_dp(), &MemoryStore::new(), ClientClass::UefiX64);
    assert_eq!(chosen(&sel), "ZZZ20001");
    assert_eq!(
        sel.log.last().unwrap(),
        "found optional advertisement ZZZ20001"
    );
    let order: Vec<String> = eligible(
        &s,
        &all_dp(),
        &MemoryStore::new(),
        mac(1),
        Some(guid(1)),
        ClientClass::UefiX64,
    )
    .into_iter()
    .map(|c| c.deployment)
    .collect();
    assert_eq!(order, ["ZZZ20001", "MMM20001", "AAA20001"]);
}

#[test]
fn r_sel_3_full_order() {
    let s = site(vec![
        avail("A-compat-avail", "Lab", X86),
        req("B-compat-req", "Lab", X86),
        avail("C-exact-avail", "Lab", X64),
        req("D-exact-req", "Lab", X64),
        req("E-exact-req", "Lab", X64),
    ]);
    let order: Vec<String> = eligible(
        &s,
        &all_dp(),
        &MemoryStore::new(),
        mac(1),
        Some(guid(1)),
        ClientClass::Bios,
    )
    .into_iter()
    .map(|c| c.deployment)
    .collect();
    assert_eq!(
        order,
        [
            "E-exact-req",
            "D-exact-req",
            "C-exact-avail",
            "B-compat-req",
            "A-compat-avail"
        ]
    );
}

// ---- R-SEL-4 ----

#[test]
fn r_sel_4_bios_without_x86_image_is_silent() {
    let s = site(vec![req("PS120001", "Lab", X64)]);
    let r = dp(&[X64]);
    for class in [ClientClass::Bios, ClientClass::BiosX64] {
        let sel = ws01(&s, &r, &MemoryStore::new(), class);
        assert_eq!(silence(&sel), SilenceReason::NoX86ImageForBios);
        assert_eq!(
            sel.outcome
                .as_ref()
                .unwrap_err()
                .would_have_chosen
                .as_deref(),
            Some("PS120001")
        );
        assert_eq!(
            sel.log,
            vec![log::KNOWN, log::NO_X86_FOR_BIOS, log::NOT_SERVICED]
        );
    }
    // The same responder serves a UEFI x64 client.
    let sel = ws01(&s, &r, &MemoryStore::new(), ClientClass::UefiX64);
    assert_eq!(chosen(&sel), "PS120001");
    assert_eq!(sel.outcome.unwrap().first_stage_image, None);
}

#[test]
fn r_sel_4_x86_image_must_be_pxe_enabled() {
    let mut s = site(vec![req("PS120001", "Lab", X64)]);
    s.boot_images[0].pxe_enabled = false; // the x86 image
    let sel = ws01(&s, &all_dp(), &MemoryStore::new(), ClientClass::BiosX64);
    assert_eq!(silence(&sel), SilenceReason::NoX86ImageForBios);
}

#[test]
fn r_sel_4_first_stage_from_x86_image() {
    let s = site(vec![req("PS120001", "Lab", X64)]);
    let sel = ws01(&s, &all_dp(), &MemoryStore::new(), ClientClass::Bios);
    let c = sel.outcome.unwrap();
    assert_eq!(c.boot_image, X64);
    assert_eq!(c.first_stage_image.as_deref(), Some(X86));
    assert_eq!(
        sel.log,
        vec![
            log::KNOWN.to_string(),
            "found required advertisement PS120001".to_string(),
            format!("{} {X86}", log::FIRST_STAGE),
        ]
    );
}

// ---- R-SEL-5 ----

#[test]
fn r_sel_5_log_lines_exactly() {
    let s = site(vec![]);
    let sel = ws01(&s, &all_dp(), &MemoryStore::new(), ClientClass::UefiX64);
    assert_eq!(silence(&sel), SilenceReason::NoEligibleDeployment);
    assert_eq!(
        sel.log,
        vec![
            "device is in the database",
            "no advertisements found",
            "No boot action. Aborted.",
            "Not serviced.",
        ]
    );
    let mut r = all_dp();
    r.unknown_computer_support = true;
    let sel = select(
        &s,
        &r,
        &MemoryStore::new(),
        mac(77),
        None,
        ClientClass::UefiX64,
    );
    assert_eq!(
        sel.log,
        vec![
            "device is not in the database",
            "no advertisements found",
            "No boot action. Aborted.",
            "Not serviced.",
        ]
    );
}

// ---- R-STATE-2 through selection ----

#[test]
fn r_state_2_clear_gives_most_recent_required_again() {
    use crate::state::devices_of_collection;
    let s = site(vec![
        req("PS120001", "Lab", X64),
        req("PS120002", "Lab", X64),
    ]);
    let mut st = MemoryStore::new();
    let r = all_dp();
    for _ in 0..2 {
        let sel = ws01(&s, &r, &st, ClientClass::UefiX64);
        st.record(&sel.device_key, chosen(&sel)).unwrap();
    }
    assert_eq!(
        silence(&ws01(&s, &r, &st, ClientClass::UefiX64)),
        SilenceReason::NoEligibleDeployment
    );
    st.clear_device(&DeviceKey::machine("WS01"));
    assert_eq!(chosen(&ws01(&s, &r, &st, ClientClass::UefiX64)), "PS120002");
    st.record(&DeviceKey::machine("WS01"), "PS120002").unwrap();
    st.record(&DeviceKey::machine("WS01"), "PS120001").unwrap();
    st.clear_devices(&devices_of_collection(&s, "Lab"));
    assert_eq!(chosen(&ws01(&s, &r, &st, ClientClass::UefiX64)), "PS120002");
}

mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// R-SEL-3: `select` picks the first of `eligible`, and `eligible` is sorted.
        #[test]
        fn select_is_first_eligible(
            ids in proptest::collection::vec("[A-Z]{3}[0-9]{2}", 0..8),
            kinds in proptest::collection::vec(0u8..4, 8),
        ) {
            let imgs = [X86, X64, ARM, X64_OFF];
            let deps: Vec<Deployment> = ids.iter().zip(&kinds).map(|(id, k)| {
                let img = imgs[*k as usize % imgs.len()];
                if k % 2 == 0 { req(id, "Lab", img) } else { avail(id, "Lab", img) }
            }).collect();
            let s = site(deps);
            let st = MemoryStore::new();
            let r = all_dp();
            let el = eligible(&s, &r, &st, mac(1), Some(guid(1)), ClientClass::BiosX64);
            for w in el.windows(2) {
                prop_assert!(r_sel_3_order(&w[0], &w[1]) != Ordering::Greater);
            }
            let sel = ws01(&s, &r, &st, ClientClass::BiosX64);
            match el.first() {
                Some(c) => prop_assert_eq!(&sel.outcome.unwrap().deployment, &c.deployment),
                None => prop_assert_eq!(sel.outcome.unwrap_err().reason, SilenceReason::NoEligibleDeployment),
            }
        }
    }
}

#[test]
fn smspxe_prefix_format() {
    let g: Guid = "11111111-2222-3333-4444-555555555555".parse().unwrap();
    assert_eq!(
        smspxe_prefix(mac(1), Some(g)),
        "52:54:00:00:00:01, 11111111-2222-3333-4444-555555555555: "
    );
    assert_eq!(smspxe_prefix(mac(1), None), "52:54:00:00:00:01: ");
}
