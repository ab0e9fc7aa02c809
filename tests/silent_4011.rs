//! A silent port 4011: a DHCP server that sends option 60 `PXEClient` with no boot
//! server on its host (`pxelab matrix` set-up `opt60-no-4011`), against the lab's
//! captures of it (`tests/fixtures/firmware/lab-{uefi,bios}-x64-no-4011.pcap`,
//! 2026-12-02, OVMF x64 and SeaBIOS's iPXE under TCG, each REQUEST to port 4011
//! answered by the server host's ICMP port unreachable; docs/MODEL.md):
//! `firmware learn` takes each firmware's waits from the capture, and the simulator,
//! with the built-in profiles, resends at the capture's gaps, writes the capture's
//! `secs` in every DHCP message and ends the boot when the lab's did.

mod common;

use common::fixture::path as fixture;
use common::fixture::udp_datagrams_in;
use common::{pxelab, run_ok, tmp};
use pxelab_engine::dhcp::firmware::{profile, FirmwareKind};
use pxelab_engine::dhcp::packet;
use pxelab_engine::Mac;
use std::path::Path;

/// The matrix's clients: (firmware, fixture, its MAC in the matrix's scenario and in
/// the capture, the lab's time from the first DISCOVER to the outcome). The captured
/// run's `no_offer after`: 13.9 s (OVMF) and 19.4 s (iPXE), which then held SeaBIOS's
/// 1 s reboot wait (the lab's, `harness::qemu::SEABIOS_REBOOT_WAIT`); the lab leaves
/// it out since: 18.4 and 18.5 s for iPXE in the next `pxelab matrix --mode both`.
const CLIENTS: [(FirmwareKind, &str, &str, f64); 2] = [
    (
        FirmwareKind::BiosX64,
        "lab-bios-x64-no-4011",
        "52:54:00:00:15:01",
        18.4,
    ),
    (
        FirmwareKind::UefiX64,
        "lab-uefi-x64-no-4011",
        "52:54:00:00:15:02",
        13.9,
    ),
];

/// The DHCP messages the client `mac` sent in a capture: (seconds from the first, to
/// port 4011, `secs`).
fn client_dhcp(pcap: &Path, mac: &str) -> Vec<(f64, bool, u16)> {
    let mac: Mac = mac.parse().unwrap();
    let out: Vec<(f64, bool, u16)> = udp_datagrams_in(pcap)
        .into_iter()
        .filter(|d| d.dst_port == 67 || d.dst_port == 4011)
        .filter_map(|d| {
            let p = packet::parse(&d.payload).ok()?;
            (p.op == 1 && p.chaddr == Some(mac)).then_some((d.t, d.dst_port == 4011, p.secs))
        })
        .collect();
    let t0 = out.first().map_or(0.0, |r| r.0);
    out.into_iter().map(|(t, to, s)| (t - t0, to, s)).collect()
}

/// The REQUESTs to port 4011 among them: (seconds, `secs`).
fn to_4011(v: &[(f64, bool, u16)]) -> Vec<(f64, u16)> {
    v.iter().filter(|m| m.1).map(|m| (m.0, m.2)).collect()
}

#[test]
fn a_capture_of_a_silent_4011_teaches_the_firmwares_waits() {
    let dir = tmp("silent-4011-learn");
    for (kind, name, ..) in CLIENTS {
        let out = dir.join(format!("{name}.yaml"));
        let o = run_ok(
            pxelab()
                .args(["firmware", "learn"])
                .arg(fixture(name))
                .arg("-o")
                .arg(&out),
        );
        let text = std::fs::read_to_string(&out).unwrap();
        // Learned, not taken from the built-in profile (which has the same waits).
        assert!(
            !text.contains("no REQUEST to port 4011 resent"),
            "{name}: {text}\n{}",
            String::from_utf8_lossy(&o.stderr)
        );
        let learned = profile::parse(&text, &out, kind).unwrap_or_else(|e| panic!("{e}"));
        let builtin = profile::builtin(kind);
        assert_eq!(
            learned.pxe4.pxe_request_retransmit, builtin.pxe4.pxe_request_retransmit,
            "{name}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_simulator_resends_to_a_silent_4011_and_gives_up_as_the_lab_did() {
    let dir = tmp("silent-4011-sim");
    run_ok(
        pxelab()
            .args([
                "matrix",
                "--setup",
                "opt60-no-4011",
                "--firmware",
                "bios-x64,uefi-x64",
                "--emit",
            ])
            .arg(&dir),
    );
    let sc = dir.join("opt60-no-4011.yaml");
    let (pcaps, json) = (dir.join("pcap"), dir.join("results.json"));
    run_ok(
        pxelab()
            .args(["run", "--pcap-full", "--pcap"])
            .arg(&pcaps)
            .arg("--json")
            .arg(&json)
            .arg(&sc),
    );
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let boots = results["scenarios"][0]["boots"].as_array().unwrap().clone();
    for (kind, name, mac, lab_took) in CLIENTS {
        let (real_all, sim_all) = (
            client_dhcp(&fixture(name), mac),
            client_dhcp(&pcaps.join("hq.pcap"), mac),
        );
        // Every message's `secs` as the firmware wrote it: EDK2's REQUEST repeats its
        // DISCOVER's and its boot requests carry their try number in host byte order;
        // iPXE's count its session's timer expiries (`firmware::ipxe_secs`).
        let secs = |v: &[(f64, bool, u16)]| v.iter().map(|m| (m.1, m.2)).collect::<Vec<_>>();
        assert_eq!(secs(&sim_all), secs(&real_all), "{name}: (to 4011, secs)");
        let (real, sim) = (to_4011(&real_all), to_4011(&sim_all));
        assert_eq!(
            sim.len(),
            real.len(),
            "{name}: sim {sim:?}, capture {real:?}"
        );
        for (i, (s, r)) in sim.iter().zip(&real).enumerate().skip(1) {
            let (sg, rg) = (s.0 - sim[i - 1].0, r.0 - real[i - 1].0);
            eprintln!(
                "{name}: REQUEST {i} to 4011 {sg:.3} s after the one before (capture {rg:.3} s)"
            );
            assert!(
                (sg - rg).abs() <= (rg * 0.1).max(0.06),
                "{name}: REQUEST {i} to 4011 {sg:.3} s after the one before, {rg:.3} s in the capture"
            );
        }
        let client = format!("c-{}", kind.name());
        let boot = boots
            .iter()
            .find(|b| b["client"] == client.as_str())
            .unwrap_or_else(|| panic!("{client} in {boots:?}"));
        assert_eq!(boot["outcome"], "no_offer", "{client}");
        let took = boot["took_s"].as_f64().unwrap();
        eprintln!("{client}: gave up {took:.2} s after its first DISCOVER (lab {lab_took} s)");
        assert!(
            (took - lab_took).abs() <= lab_took * 0.1,
            "{client}: gave up {took:.2} s after its first DISCOVER, the lab's {lab_took} s"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
