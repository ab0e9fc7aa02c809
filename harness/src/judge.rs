//! Judging a lab boot from what was observed, with no I/O: the boot program's markers
//! on the serial console (`PXELAB BOOTED ...`), whether QEMU exited or the firmware
//! gave up, the boot timeout, and whether a responder answered the client
//! (docs/LAB.md, "Outcomes"). Also the readers of those observations: console lines
//! without escapes, `pxelab serve` log messages, markers.

use std::collections::BTreeMap;

/// What the lab saw of one client boot so far.
#[derive(Clone, Copy, Debug)]
pub struct Observation<'a> {
    /// Console lines, each with the seconds since QEMU started.
    pub serial: &'a [(f64, String)],
    /// When QEMU exited, seconds since it started: SeaBIOS reboots
    /// [`crate::qemu::SEABIOS_REBOOT_WAIT`] after a failed network boot, and
    /// `-no-reboot` turns that into QEMU's exit.
    pub exited: Option<f64>,
    /// The boot ran past the lab's boot timeout.
    pub timed_out: bool,
    /// A responder logged a proxy offer or a boot file for this client's MAC.
    pub answered: bool,
    /// The EDK2 boot option the client boots by (`PXEv4`, `PXEv6`, `HTTPv4`,
    /// `HTTPv6`): its giving up ends the boot.
    pub boot_option: &'static str,
}

/// The name EDK2's boot manager gives the boot option of `netboot` ("UEFI PXEv6 (MAC:...)").
pub fn edk2_boot_option(netboot: pxelab_scenario::Netboot) -> &'static str {
    use pxelab_scenario::Netboot;
    match netboot {
        Netboot::Pxe4 => "PXEv4",
        Netboot::Pxe6 => "PXEv6",
        Netboot::Http4 => "HTTPv4",
        Netboot::Http6 => "HTTPv6",
    }
}

/// A finished boot's outcome, as the format names it, and what it was served.
#[derive(Clone, Debug, PartialEq)]
pub struct Verdict {
    /// `booted`, `declined`, `no_offer` or `failed`.
    pub outcome: &'static str,
    pub boot_image: Option<String>,
    pub deployment: Option<String>,
    /// The address of the responder the boot program names (`server=`).
    pub server: Option<String>,
    /// When the final marker came, or without one the firmware gave up (seconds since
    /// QEMU started); `None` when the boot ran out of time (judged now).
    pub ended_s: Option<f64>,
}

/// The verdict on a boot, or `None` while it is still running: a final marker, QEMU
/// gone, the firmware given up, or out of time.
pub fn judge(obs: &Observation) -> Option<Verdict> {
    let markers: Vec<(String, BTreeMap<String, String>, f64)> = obs
        .serial
        .iter()
        .filter_map(|(t, l)| parse_marker(l).map(|(w, kv)| (w, kv, *t)))
        .collect();
    let fin = markers
        .iter()
        .find(|(w, ..)| matches!(w.as_str(), "BOOTED" | "DECLINED" | "FAILED" | "NOACTION"));
    // EDK2 gave up on the client's boot option (what follows, the next options in its
    // order, is not the boot the scenario asked for).
    let gave_up = obs
        .serial
        .iter()
        .find(|(_, l)| {
            l.contains("BdsDxe: failed to") && l.contains(&format!("UEFI {} ", obs.boot_option))
        })
        .map(|(t, _)| *t);
    if fin.is_none() && obs.exited.is_none() && !obs.timed_out && gave_up.is_none() {
        return None;
    }
    // Without a marker the firmware's end: EDK2's line, or SeaBIOS's exit less the
    // reboot wait the lab sets (iPXE prints to the screen only).
    let wait = crate::qemu::SEABIOS_REBOOT_WAIT.as_secs_f64();
    let firmware_end = gave_up.or(obs.exited.map(|t| (t - wait).max(0.0)));
    let started = markers.iter().any(|(w, ..)| w == "START");
    let served = |outcome, kv: &BTreeMap<String, String>, t: f64| Verdict {
        outcome,
        boot_image: kv.get("image").cloned(),
        deployment: kv.get("deployment").cloned(),
        server: kv.get("server").cloned(),
        ended_s: Some(t),
    };
    let nothing = |outcome, ended_s| Verdict {
        outcome,
        boot_image: None,
        deployment: None,
        server: None,
        ended_s,
    };
    Some(match fin {
        Some((w, kv, t)) => match w.as_str() {
            "BOOTED" => served("booted", kv, *t),
            "DECLINED" => served("declined", kv, *t),
            "NOACTION" => nothing("no_offer", Some(*t)),
            _ => served("failed", kv, *t),
        },
        // Without a marker: failed if the boot program started or a responder
        // answered, else nothing was offered.
        None if started || obs.answered => nothing("failed", firmware_end),
        None => nothing("no_offer", firmware_end),
    })
}

/// Whether a responder's log message says it answered the client with MAC `mac`: over
/// DHCPv4 (a proxy offer, a boot file, an HTTP boot offer) or DHCPv6 (a proxy Advertise
/// or Reply), the engine's `Effect::Answered`.
pub fn answered(message: &str, mac: &str) -> bool {
    const ANSWERS: [&str; 4] = [
        "sent proxy offer",
        "sent boot file",
        "sent HTTP boot offer",
        "sent DHCPv6 proxy",
    ];
    message.contains(mac) && ANSWERS.iter().any(|a| message.contains(a))
}

/// A console line without its escape sequences and control characters.
pub fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.peek() == Some(&'[') {
                chars.next();
                for d in chars.by_ref() {
                    if d.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
            continue;
        }
        if c.is_control() && c != '\t' {
            continue;
        }
        out.push(c);
    }
    out
}

/// The message of a `pxelab serve` log line (tracing's format, colours stripped).
pub fn serve_message(line: &str) -> String {
    let l = strip_ansi(line);
    let msg = match l.find("serve: ") {
        Some(i) => &l[i + "serve: ".len()..],
        None => l.as_str(),
    };
    match msg.rfind(" responder=") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

/// A boot program marker: `PXELAB WORD key=value...`.
pub fn parse_marker(line: &str) -> Option<(String, BTreeMap<String, String>)> {
    let i = line.find("PXELAB ")?;
    let mut it = line[i + 7..].split_whitespace();
    let word = it.next()?.to_string();
    let kv = it
        .filter_map(|t| t.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Some((word, kv))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_parse() {
        let (w, kv) = parse_marker("\u{1b}[0mPXELAB BOOTED image=PS100002 deployment=PS120001 bytes=1048576 crc32=00ff00ff server=10.10.0.5 class=uefi-x64").unwrap();
        assert_eq!(w, "BOOTED");
        assert_eq!(kv["image"], "PS100002");
        assert_eq!(kv["server"], "10.10.0.5");
        assert!(parse_marker("Start PXE over IPv4.").is_none());
    }

    #[test]
    fn serve_lines_lose_their_frame() {
        let l = "2026-11-22T14:00:00.123Z  INFO pxelab_daemon::serve: 52:54:00:00:00:01: sent proxy offer responder=dp1";
        assert_eq!(serve_message(l), "52:54:00:00:00:01: sent proxy offer");
        assert_eq!(strip_ansi("\u{1b}[2J\u{1b}[1;1Hhello\u{7}"), "hello");
    }

    #[test]
    fn an_answer_over_either_family_counts_and_a_refusal_does_not() {
        let mac = "52:54:00:00:06:01";
        let v6 = format!("{mac}, 11111111-2222-3333-4444-555555555566: sent DHCPv6 proxy advertise tftp://[fd10:10::5]/x.efi");
        assert!(answered(&v6, mac));
        assert!(!answered(&v6, "52:54:00:00:06:02"));
        assert!(answered(&format!("{mac}: sent proxy offer"), mac));
        let refused = format!("{mac}: ignoring a DHCPv6 boot request: no link-layer address");
        assert!(!answered(&refused, mac));
    }

    fn lines(l: &[&str]) -> Vec<(f64, String)> {
        l.iter()
            .enumerate()
            .map(|(i, s)| (i as f64, s.to_string()))
            .collect()
    }

    fn obs(serial: &[(f64, String)]) -> Observation<'_> {
        Observation {
            serial,
            exited: None,
            timed_out: false,
            answered: false,
            boot_option: "PXEv4",
        }
    }

    #[test]
    fn a_boot_without_a_final_marker_is_still_running() {
        let s = lines(&["BdsDxe: loading Boot0001", "PXELAB START class=uefi-x64"]);
        assert_eq!(judge(&obs(&s)), None);
    }

    #[test]
    fn booted_names_image_deployment_and_server_at_the_marker() {
        let s = lines(&[
            "PXELAB START",
            "PXELAB BOOTED image=PS100002 deployment=PS120001 server=10.10.0.5",
        ]);
        let v = judge(&obs(&s)).unwrap();
        assert_eq!(v.outcome, "booted");
        assert_eq!(v.boot_image.as_deref(), Some("PS100002"));
        assert_eq!(v.deployment.as_deref(), Some("PS120001"));
        assert_eq!(v.server.as_deref(), Some("10.10.0.5"));
        assert_eq!(v.ended_s, Some(1.0));
    }

    #[test]
    fn declined_and_failed_keep_what_was_selected_noaction_is_no_offer() {
        let d = lines(&["PXELAB DECLINED image=PS100002 deployment=PS120003"]);
        assert_eq!(judge(&obs(&d)).unwrap().outcome, "declined");
        let f = lines(&["PXELAB FAILED reason=crc image=PS100002 server=10.10.0.6"]);
        let v = judge(&obs(&f)).unwrap();
        assert_eq!(
            (v.outcome, v.server.as_deref()),
            ("failed", Some("10.10.0.6"))
        );
        let n = lines(&["PXELAB NOACTION"]);
        let v = judge(&obs(&n)).unwrap();
        assert_eq!((v.outcome, v.boot_image), ("no_offer", None));
    }

    #[test]
    fn firmware_giving_up_is_failed_only_if_someone_answered_or_the_program_started() {
        let s = lines(&["BdsDxe: failed to load Boot0001 \"UEFI PXEv4 (MAC:525400000001)\""]);
        let v = judge(&obs(&s)).unwrap();
        assert_eq!((v.outcome, v.ended_s), ("no_offer", Some(0.0)));
        let answered = Observation {
            answered: true,
            ..obs(&s)
        };
        assert_eq!(judge(&answered).unwrap().outcome, "failed");
        let started = lines(&["PXELAB START"]);
        let exited = Observation {
            exited: Some(20.0),
            ..obs(&started)
        };
        assert_eq!(judge(&exited).unwrap().outcome, "failed");
    }

    #[test]
    fn a_boot_seabios_ended_ends_before_its_reboot_wait() {
        let v = judge(&Observation {
            exited: Some(21.9),
            ..obs(&[])
        })
        .unwrap();
        let wait = crate::qemu::SEABIOS_REBOOT_WAIT.as_secs_f64();
        assert_eq!(v.outcome, "no_offer");
        assert_eq!(v.ended_s, Some(21.9 - wait));
    }

    #[test]
    fn only_the_clients_own_boot_option_giving_up_ends_the_boot() {
        // An http6 boot: OVMF's HTTPv4 option runs first and gives up.
        let s = lines(&["BdsDxe: failed to load Boot0003 \"UEFI HTTPv4 (MAC:525400000001)\""]);
        let http6 = Observation {
            boot_option: edk2_boot_option(pxelab_scenario::Netboot::Http6),
            ..obs(&s)
        };
        assert_eq!(judge(&http6), None);
        let s = lines(&["BdsDxe: failed to load Boot0004 \"UEFI HTTPv6 (MAC:525400000001)\""]);
        let http6 = Observation {
            boot_option: "HTTPv6",
            ..obs(&s)
        };
        assert_eq!(judge(&http6).unwrap().outcome, "no_offer");
    }

    #[test]
    fn out_of_time_with_nothing_seen_is_no_offer() {
        let v = judge(&Observation {
            timed_out: true,
            ..obs(&[])
        })
        .unwrap();
        assert_eq!(v.outcome, "no_offer");
    }

    #[test]
    fn a_responder_answered_when_it_sent_an_offer_or_a_boot_file_to_that_mac() {
        let mac = "52:54:00:00:00:01";
        assert!(answered("52:54:00:00:00:01: sent proxy offer", mac));
        assert!(answered(
            "52:54:00:00:00:01: sent boot file smsboot/x64/bootmgfw.efi",
            mac
        ));
        assert!(!answered("52:54:00:00:00:02: sent proxy offer", mac));
        assert!(!answered(
            "52:54:00:00:00:01: device is in the database",
            mac
        ));
    }
}
