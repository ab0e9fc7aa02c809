//! Firmware profiles (docs/PROFILES.md): the built-in ones read, and a bad profile is
//! an error that names its file, line and key. That the built-in ones match the real
//! firmware is tests/firmware_models.rs' (and firmware6, http_boot, http6_boot) job.

use pxelab_engine::dhcp::firmware::{self, profile, FirmwareKind, Stack};
use pxelab_engine::dhcp6::firmware::model6;
use std::path::Path;
use std::time::Duration;

#[test]
fn every_builtin_profile_reads_and_is_its_firmwares_model() {
    for k in FirmwareKind::ALL {
        let p = profile::parse(profile::builtin_text(k), Path::new("x.yaml"), k).unwrap();
        assert_eq!(p.name, k.name());
        assert_eq!(&p.pxe4, firmware::model(k));
        assert_eq!(&p.pxe6, model6(k));
        assert_eq!(p.pxe4.options_order[0], 53, "{k:?}");
        // BIOS (iPXE) has no UEFI HTTP boot; the UEFI firmware has it over both families.
        let uefi = p.pxe4.stack == Stack::Edk2;
        assert_eq!(p.http4.is_some(), uefi, "{k:?}");
        assert_eq!(p.http6.is_some(), uefi, "{k:?}");
    }
}

#[test]
fn the_built_in_timing_is_the_labs_and_a_profile_without_it_starts_at_once() {
    // The built-in profiles carry what the lab measured under TCG (docs/LAB.md): every
    // firmware takes time to start and per packet, iPXE starts sooner than EDK2.
    for k in FirmwareKind::ALL {
        let t = firmware::model(k).timing;
        assert!(
            !t.power_on_to_discover.is_zero() && !t.per_packet.is_zero(),
            "{k:?}"
        );
    }
    let start = |k| firmware::model(k).timing.power_on_to_discover;
    assert!(start(FirmwareKind::BiosX64) < start(FirmwareKind::UefiX64));
    // A profile without `timing:` gets none: the simulator's behaviour before profiles.
    let text = profile::builtin_text(FirmwareKind::UefiX64);
    let start = text.find("\ntiming:").unwrap();
    let end = text.find("\nhttp4:").unwrap();
    let without = format!("{}{}", &text[..start], &text[end..]);
    let p = profile::parse(&without, Path::new("t.yaml"), FirmwareKind::UefiX64).unwrap();
    assert_eq!(p.pxe4.timing, firmware::FirmwareTiming::default());
}

#[test]
fn durations_read_as_the_scenario_format_writes_them() {
    let d = profile::parse_duration;
    assert_eq!(d("4s"), Ok(Duration::from_secs(4)));
    assert_eq!(d("250ms"), Ok(Duration::from_millis(250)));
    assert_eq!(d("4.85s"), Ok(Duration::from_millis(4850)));
    assert_eq!(d("1m"), Ok(Duration::from_secs(60)));
    assert!(d("-1s").unwrap_err().contains("negative"));
    assert!(d("4").is_err());
    assert!(d("s").is_err());
    assert!(d("4 parsecs").is_err());
}

/// The built-in uefi-x64 text with the line starting with `find` replaced by `with`;
/// the error it gives, and the (1-based) line it should name.
fn bad(find: &str, with: &str) -> (profile::ProfileError, u64) {
    let text = profile::builtin_text(FirmwareKind::UefiX64);
    let mut line = 0;
    let edited: Vec<String> = text
        .lines()
        .enumerate()
        .map(|(i, l)| {
            if line == 0 && l.trim_start().starts_with(find) {
                line = i as u64 + 1;
                with.to_string()
            } else {
                l.to_string()
            }
        })
        .collect();
    assert!(line > 0, "no line starts with {find}");
    let e = profile::parse(
        &edited.join("\n"),
        Path::new("p/bad.yaml"),
        FirmwareKind::UefiX64,
    )
    .expect_err("a bad profile is refused");
    (e, line)
}

fn assert_located(e: &profile::ProfileError, line: u64, words: &[&str]) {
    assert_eq!(e.file, Path::new("p/bad.yaml"));
    assert_eq!(e.line, Some(line), "{e}");
    for w in words {
        assert!(e.to_string().contains(w), "`{w}` not in: {e}");
    }
}

#[test]
fn an_unknown_key_is_located_and_named() {
    let (e, line) = bad("secs:", "  seconds: elapsed");
    assert_located(&e, line, &["p/bad.yaml:", "seconds"]);
}

#[test]
fn a_negative_time_is_located() {
    let (e, line) = bad("per_packet:", "  per_packet: -5ms");
    assert_located(&e, line, &["negative"]);
    let (e, line) = bad("give_up:", "  give_up: -60s");
    assert_located(&e, line, &["negative"]);
}

#[test]
fn an_option_list_without_option_53_or_with_it_not_first_is_located() {
    let (e, line) = bad("discover:", "  discover: [57, 55, 97, 94, 93, 60]");
    assert_located(&e, line, &["without option 53"]);
    let (e, line) = bad("request:", "  request: [54, 53, 50, 57]");
    assert_located(&e, line, &["53", "first"]);
    let (e, line) = bad("pxe_request:", "  pxe_request: [53, 55, 55]");
    assert_located(&e, line, &["twice"]);
    let (e, line) = bad("solicit:", "  solicit: [8, 3, 6]");
    assert_located(&e, line, &["option 1"]);
}

#[test]
fn impossible_timers_are_located() {
    let (e, line) = bad("retransmit:", "  retransmit: [4s, 8s]");
    assert_located(&e, line, &["retransmit"]);
    for (waits, says) in [
        ("[]", "pxe_request_retransmit"),
        ("[1s, 0s]", "pxe_request_retransmit"),
        ("[1s, soon]", "not a duration"),
        ("2s", "sequence"),
    ] {
        let (e, line) = bad(
            "pxe_request_retransmit:",
            &format!("  pxe_request_retransmit: {waits}"),
        );
        assert_located(&e, line, &[says]);
    }
    let (e, line) = bad("solicit_at:", "  solicit_at: [0s, 5s, 2s]");
    assert_located(&e, line, &["ascends"]);
    let (e, line) = bad("options:", "  options: [tsize, blksize=1468]");
    assert_located(&e, line, &["name=value"]);
}

#[test]
fn a_missing_section_is_an_error() {
    let text = profile::builtin_text(FirmwareKind::BiosX64).replace("stack: ipxe\n", "");
    let e = profile::parse(&text, Path::new("p/bad.yaml"), FirmwareKind::BiosX64).unwrap_err();
    assert!(e.to_string().contains("stack"), "{e}");
}

#[test]
fn a_profile_written_back_reads_as_the_same_profile() {
    use firmware::profile_yaml::{duration_text, to_yaml};
    for k in FirmwareKind::ALL {
        let p = profile::builtin(k);
        let text = to_yaml(p, "written back\nby the test");
        let again =
            profile::parse(&text, Path::new("w.yaml"), k).unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(
            (&again.pxe4, &again.http4, &again.pxe6, &again.http6),
            (&p.pxe4, &p.http4, &p.pxe6, &p.http6),
            "{k:?}"
        );
    }
    assert_eq!(duration_text(Duration::from_millis(4850)), "4850ms");
    assert_eq!(duration_text(Duration::from_micros(1500)), "1.5ms");
    assert_eq!(
        profile::parse_duration("1.5ms"),
        Ok(Duration::from_micros(1500))
    );
}

#[test]
fn an_error_says_its_place_once() {
    let (e, line) = bad("per_packet:", "  per_packet: -5ms");
    let text = e.to_string();
    assert!(text.starts_with(&format!("p/bad.yaml:{line}:")), "{text}");
    assert!(!text.contains(&format!("line {line}")), "{text}");
}

#[test]
fn bad_family_behaviour_keys_are_located() {
    let (e, line) = bad("pxe_ack_to_nbp:", "  pxe_ack_to_nbp: soon");
    assert_located(&e, line, &["not a duration"]);
    let (e, line) = bad(
        "selects_offer_at_timeout:",
        "  selects_offer_at_timeout: maybe",
    );
    assert_located(&e, line, &["boolean"]);
    let (e, line) = bad("ends_on_port_unreachable:", "  ends_on_port_unreachable: 3");
    assert_located(&e, line, &["boolean"]);
    let (e, line) = bad("pxe_ack_to_nbp:", "  failed_boot_prompt: -2s");
    assert_located(&e, line, &["negative"]);
}

#[test]
fn the_port_4011_waits_and_the_failed_boot_prompt_are_the_familys_unless_given() {
    let p = |k: FirmwareKind, t: &str| profile::parse(t, Path::new("p.yaml"), k).unwrap().pxe4;
    let secs = |v: &[u64]| {
        v.iter()
            .map(|s| Duration::from_secs(*s))
            .collect::<Vec<_>>()
    };
    let ms = |v: &[u64]| {
        v.iter()
            .map(|s| Duration::from_millis(*s))
            .collect::<Vec<_>>()
    };
    let ovmf = profile::builtin_text(FirmwareKind::UefiX64);
    let ipxe = profile::builtin_text(FirmwareKind::BiosX64);
    // The built-ins: as the lab's captures of a silent port 4011 show (docs/MODEL.md).
    let m = p(FirmwareKind::UefiX64, ovmf);
    assert_eq!(m.pxe_request_retransmit, secs(&[1, 2, 3, 4]));
    assert_eq!(m.timing.failed_boot_prompt, Duration::ZERO);
    let m = p(FirmwareKind::BiosX64, ipxe);
    assert_eq!(m.pxe_request_retransmit, ms(&[250, 500, 1000, 2000]));
    assert_eq!(m.timing.failed_boot_prompt, Duration::from_secs(2));
    // Given: any number of waits; a prompt of the profile's own.
    let edited = ipxe
        .replace(
            "pxe_request_retransmit: [250ms, 500ms, 1s, 2s]",
            "pxe_request_retransmit: [3s, 1500ms]",
        )
        .replace("failed_boot_prompt: 2s", "failed_boot_prompt: 500ms");
    let m = p(FirmwareKind::BiosX64, &edited);
    assert_eq!(m.pxe_request_retransmit, ms(&[3000, 1500]));
    assert_eq!(m.timing.failed_boot_prompt, Duration::from_millis(500));
    // Without the keys: the DHCP REQUEST's 4, 8, 16 and 32 s; the family's prompt.
    let without = |text: &str| -> String {
        text.lines()
            .filter(|l| {
                !["pxe_request_retransmit:", "failed_boot_prompt:"]
                    .iter()
                    .any(|k| l.trim_start().starts_with(k))
            })
            .map(|l| format!("{l}\n"))
            .collect()
    };
    let m = p(FirmwareKind::UefiX64, &without(ovmf));
    assert_eq!(m.pxe_request_retransmit, secs(&[4, 8, 16, 32]));
    assert_eq!(m.timing.failed_boot_prompt, Duration::ZERO);
    let m = p(FirmwareKind::BiosX64, &without(ipxe));
    assert_eq!(m.pxe_request_retransmit, secs(&[4, 8, 16, 32]));
    assert_eq!(m.timing.failed_boot_prompt, Duration::from_secs(2));
}

#[test]
fn the_family_behaviour_keys_set_the_model_and_default_to_the_familys() {
    let text = profile::builtin_text(FirmwareKind::BiosX64);
    let p = |t: &str| profile::parse(t, Path::new("p.yaml"), FirmwareKind::BiosX64).unwrap();
    let builtin = p(text);
    assert!(builtin.pxe4.selects_offer_at_timeout);
    assert!(!builtin.pxe4.tftp_gives_up_on_port_unreachable);
    assert_eq!(builtin.pxe4.pxe_ack_to_nbp, Duration::from_millis(30));
    assert_eq!(
        builtin.pxe4.timing.ipv6_wait,
        Some(Duration::from_millis(16_070))
    );
    assert_eq!(
        builtin.pxe4.timing.ipv6_advert_taken,
        Duration::from_secs(1)
    );
    assert_eq!(
        builtin.pxe4.timing.ipv6_dhcp6_give_up,
        Some(Duration::from_millis(16_040))
    );
    let edited = text
        .replace(
            "selects_offer_at_timeout: true",
            "selects_offer_at_timeout: false",
        )
        .replace(
            "ends_on_port_unreachable: false",
            "ends_on_port_unreachable: true",
        )
        .replace("pxe_ack_to_nbp: 30ms", "pxe_ack_to_nbp: 2s")
        .replace("ipv6_wait: 16070ms", "ipv6_wait: 0s")
        .replace("ipv6_dhcp6_give_up: 16040ms", "ipv6_dhcp6_give_up: 0s");
    let m = p(&edited).pxe4;
    assert!(!m.selects_offer_at_timeout);
    assert!(m.tftp_gives_up_on_port_unreachable);
    assert_eq!(m.pxe_ack_to_nbp, Duration::from_secs(2));
    assert_eq!(m.timing.ipv6_wait, None, "0s: no wait");
    assert_eq!(
        m.timing.ipv6_dhcp6_give_up, None,
        "0s: the dhcp6 section's give_up"
    );
    // Without the keys: the family's behaviour.
    let without: String = text
        .lines()
        .filter(|l| {
            ![
                "selects_offer_at_timeout:",
                "ends_on_port_unreachable:",
                "pxe_ack_to_nbp:",
                "ipv6_wait:",
                "ipv6_advert_taken:",
                "ipv6_dhcp6_give_up:",
            ]
            .iter()
            .any(|k| l.trim_start().starts_with(k))
        })
        .map(|l| format!("{l}\n"))
        .collect();
    let m = p(&without).pxe4;
    assert!(m.selects_offer_at_timeout && !m.tftp_gives_up_on_port_unreachable);
    assert_eq!(m.pxe_ack_to_nbp, Duration::from_millis(30));
    assert_eq!(m.timing.ipv6_wait, Some(Duration::from_millis(16_070)));
    assert_eq!(m.timing.ipv6_advert_taken, Duration::ZERO);
    assert_eq!(m.timing.ipv6_dhcp6_give_up, None);
}

#[test]
fn the_ipv6_start_ups_are_keys_of_their_own_and_default_to_the_one_before() {
    // OVMF's are the lab's (docs/LAB.md): PXEv6's first Solicit after the firmware's
    // start-up, HTTPv6's after HTTPv4 has run and given up (60 s after its DISCOVER).
    let t = firmware::model(FirmwareKind::UefiX64).timing;
    assert!(t.power_on_to_solicit >= t.power_on_to_discover, "{t:?}");
    assert!(
        t.power_on_to_http6_solicit >= t.power_on_to_discover + Duration::from_secs(60),
        "{t:?}"
    );
    let without = |keys: &[&str]| {
        let text: String = profile::builtin_text(FirmwareKind::UefiX64)
            .lines()
            .filter(|l| !keys.iter().any(|k| l.trim_start().starts_with(k)))
            .map(|l| format!("{l}\n"))
            .collect();
        let p = profile::parse(&text, Path::new("t.yaml"), FirmwareKind::UefiX64);
        p.unwrap_or_else(|e| panic!("{e}")).pxe4.timing
    };
    let no_http6 = without(&["power_on_to_http6_solicit:"]);
    assert_eq!(no_http6.power_on_to_http6_solicit, t.power_on_to_solicit);
    let neither = without(&["power_on_to_solicit:", "power_on_to_http6_solicit:"]);
    assert_eq!(
        (
            neither.power_on_to_solicit,
            neither.power_on_to_http6_solicit
        ),
        (t.power_on_to_discover, t.power_on_to_discover)
    );
    let (e, line) = bad("power_on_to_solicit:", "  power_on_to_solicit: -2s");
    assert_located(&e, line, &["negative"]);
}

#[test]
fn the_ipv6_intake_is_a_pair_of_keys_of_its_own_and_defaults_to_ipv4s() {
    // OVMF x64's IPv6 stack takes longer per TFTP block than its IPv4 one (the lab,
    // docs/MODEL.md): its own keys.
    let t = firmware::model(FirmwareKind::UefiX64).timing;
    assert!(
        t.per_datagram6 + t.per_packet6 > t.per_datagram + t.per_packet,
        "{t:?}"
    );
    // Without them IPv6 costs what IPv4 does; either alone replaces only its own.
    let with = |keys: &str| {
        let text: String = profile::builtin_text(FirmwareKind::UefiX64)
            .lines()
            .filter(|l| !l.trim_start().starts_with("per_packet6:"))
            .filter(|l| !l.trim_start().starts_with("per_datagram6:"))
            .map(|l| {
                if l.trim_start().starts_with("per_segment:") {
                    format!("{l}\n{keys}")
                } else {
                    format!("{l}\n")
                }
            })
            .collect();
        let p = profile::parse(&text, Path::new("t.yaml"), FirmwareKind::UefiX64);
        p.unwrap_or_else(|e| panic!("{e}")).pxe4.timing
    };
    let none = with("");
    assert_eq!(
        (none.per_datagram6, none.per_packet6),
        (none.per_datagram, none.per_packet)
    );
    let one = with("  per_packet6: 0.3ms\n");
    assert_eq!(
        (one.per_datagram6, one.per_packet6),
        (one.per_datagram, Duration::from_micros(300))
    );
    // A bad value is located like any other.
    let (e, line) = bad("per_packet6:", "  per_packet6: -0.3ms");
    assert_located(&e, line, &["negative"]);
    let (e, line) = bad("per_datagram6:", "  per_datagram6: soon");
    assert_located(&e, line, &["not a duration"]);
    let (e, line) = bad("per_segment:", "  per_frame6: 0.3ms");
    assert_located(&e, line, &["per_frame6"]);
}

#[test]
fn http6_may_have_an_address_wait_of_its_own() {
    // OVMF x64's HTTP boot waits far longer for its address than its PXE (the capture
    // and the lab); without the key HTTP boot waits as PXE does.
    let p = profile::builtin(FirmwareKind::UefiX64);
    let http6 = p.http6.as_ref().expect("HTTPv6");
    assert!(http6.address_ready > p.pxe6.address_ready + Duration::from_secs(5));
    let text = profile::builtin_text(FirmwareKind::UefiX64);
    let at = text
        .rfind("  address_ready:")
        .expect("http6's key, the last");
    let end = at + text[at..].find('\n').unwrap() + 1;
    let without = format!("{}{}", &text[..at], &text[end..]);
    let q = profile::parse(&without, Path::new("t.yaml"), FirmwareKind::UefiX64).unwrap();
    let http6 = q.http6.as_ref().expect("HTTPv6");
    assert_eq!(http6.address_ready, q.pxe6.address_ready);
}
