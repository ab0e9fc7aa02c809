//! The overlay on real simulator runs of the lab's scenarios: what it changes in a
//! boot's phases, and that it reads back from a run's captures what that run applied.

use super::*;
use crate::phases::Phases;
use crate::{run_scenario, RunOptions, ScenarioResult};
use pxelab_scenario::Scenario;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn scenario(name: &str) -> Scenario {
    pxelab_scenario::load_file(&root().join("scenarios/lab").join(name)).expect("scenario loads")
}

/// A scratch directory, removed when dropped (also when a test fails).
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn scratch(tag: &str) -> Scratch {
    Scratch(std::env::temp_dir().join(format!("pxelab-lab-overlay-{tag}-{}", std::process::id())))
}

fn opts(overlay: Option<LabOverlay>, dir: &Path) -> RunOptions {
    RunOptions {
        pcap_dir: Some(dir.to_path_buf()),
        lab_overlay: overlay,
        ..Default::default()
    }
}

/// A result's one boot's phases, from its captures.
fn phases_of(r: &ScenarioResult, sc: &Scenario) -> Phases {
    assert!(r.passed, "{}: {:?}", sc.file.display(), r.failures);
    let got = crate::phases::of_result(r, sc).expect("captures readable");
    assert_eq!(got.len(), 1, "one boot");
    got[0].3.clone()
}

/// The scenario run in the simulator with its captures in `dir`, and its boot's phases.
fn run(sc: &Scenario, overlay: Option<LabOverlay>, dir: &Path) -> (ScenarioResult, Phases) {
    let r = run_scenario(sc, &opts(overlay, dir));
    let p = phases_of(&r, sc);
    (r, p)
}

/// The boot program a run's boot read, with the size it was served at.
fn program_read(r: &ScenarioResult, sc: &Scenario) -> ProgramApplied {
    let got = programs_served(r, sc).expect("readable");
    assert_eq!(got.len(), 1, "{got:?}");
    got[0].clone()
}

/// Where each file a boot read over TFTP starts in its packets: (packet index, file).
fn reads(packets: &[crate::phases::wire::Packet]) -> Vec<(usize, String)> {
    let mut out: Vec<(usize, String)> = Vec::new();
    for (i, p) in packets.iter().enumerate() {
        if let Some(name) = crate::phases::six::rrq_file(p) {
            if out.last().is_none_or(|(_, last)| *last != name) {
                out.push((i, name));
            }
        }
    }
    out
}

#[test]
fn the_lab_served_programs_size_shortens_its_download() {
    for (name, lab_bytes) in [("bios-x86.yaml", 2560), ("uefi-x64.yaml", 20 * 1024)] {
        let sc = scenario(name);
        let (own_dir, sized_dir) = (scratch("own"), scratch("sized"));
        let (own, own_p) = run(&sc, None, &own_dir.0);
        let program = program_read(&own, &sc);
        // Without an overlay the program served is the built-in one.
        assert_eq!(program.lab_bytes, program.builtin_bytes, "{name}");
        let overlay = LabOverlay {
            program_sizes: ProgramSizes::from([(program.path.clone(), lab_bytes)]),
            ..Default::default()
        };
        let (sized, sized_p) = run(&sc, Some(overlay), &sized_dir.0);
        assert_eq!(program_read(&sized, &sc).lab_bytes, lab_bytes, "{name}");
        let (own_nbp, sized_nbp) = (own_p.nbp_download.unwrap(), sized_p.nbp_download.unwrap());
        assert!(
            sized_nbp < own_nbp,
            "{name}: {sized_nbp} s for {lab_bytes} bytes, {own_nbp} s for {}",
            program.builtin_bytes
        );
        // The boot image is the same in both (to float rounding of its clock).
        let (own_img, sized_img) = (
            own_p.image_download.unwrap(),
            sized_p.image_download.unwrap(),
        );
        assert!(
            (own_img - sized_img).abs() < 1e-6,
            "{name}: {own_img} s, {sized_img} s"
        );
    }
}

#[test]
fn the_lab_served_programs_size_is_read_and_served_over_ipv6_and_http() {
    // PXE over IPv6 reads its program over TFTP on IPv6, HTTP boot GETs it (over IPv4
    // and IPv6): each run's captures give back the size it was served at.
    for name in [
        "pxe6-uefi-x64-dnsmasq.yaml",
        "http4-uefi-x64.yaml",
        "http6-uefi-x64.yaml",
    ] {
        let sc = scenario(name);
        let (own_dir, sized_dir) = (scratch("own6"), scratch("sized6"));
        let (own, own_p) = run(&sc, None, &own_dir.0);
        let program = program_read(&own, &sc);
        assert_eq!(program.lab_bytes, crate::content::EFI_NBP_SIZE, "{name}");
        let overlay = LabOverlay {
            program_sizes: ProgramSizes::from([(program.path.clone(), 20 * 1024)]),
            ..Default::default()
        };
        let (sized, sized_p) = run(&sc, Some(overlay), &sized_dir.0);
        assert_eq!(program_read(&sized, &sc).lab_bytes, 20 * 1024, "{name}");
        let (own_nbp, sized_nbp) = (own_p.nbp_download.unwrap(), sized_p.nbp_download.unwrap());
        assert!(sized_nbp < own_nbp, "{name}: {sized_nbp} s, {own_nbp} s");
    }
}

/// A run of `sc` without and with a turnaround of `hold`: the image download's growth,
/// and the image's rounds in the held run's captures.
fn held_image(sc: &Scenario, hold: Duration, tag: &str) -> (f64, usize, Phases, Phases) {
    let (own_dir, held_dir) = (
        scratch(&format!("own-{tag}")),
        scratch(&format!("held-{tag}")),
    );
    let (_, own_p) = run(sc, None, &own_dir.0);
    let overlay = LabOverlay {
        server_turnaround: hold,
        ..Default::default()
    };
    let (held, held_p) = run(sc, Some(overlay), &held_dir.0);
    // The image's rounds: from its read request (the boot's third file) on.
    let captured = capture::client_packets(&held, sc).expect("readable");
    let packets = &captured[0].1;
    let (image_rrq, _) = reads(packets)[2];
    let rounds = capture::server_rounds(&packets[image_rrq..]).len();
    let added = held_p.image_download.unwrap() - own_p.image_download.unwrap();
    (added, rounds, own_p, held_p)
}

#[test]
fn a_turnaround_adds_itself_to_every_round_of_a_download() {
    let hold = Duration::from_micros(200);
    let (added, rounds, own_p, held_p) = held_image(&scenario("bios-x86.yaml"), hold, "t4");
    // 4 MiB in blocks of at most 8 KiB.
    assert!(rounds >= 512, "{rounds} rounds in a 4 MiB image");
    // One hold on the read request, one on each ACK that brought DATA.
    let expected = (rounds + 1) as f64 * hold.as_secs_f64();
    assert!(
        (added - expected).abs() <= 0.01 * expected,
        "{added} s added, {expected} s expected over {rounds} rounds"
    );
    assert!(held_p.nbp_download.unwrap() > own_p.nbp_download.unwrap());
}

#[test]
fn a_turnaround_holds_the_responder_over_ipv6_too() {
    // The responder takes the firmware's and the boot program's TFTP over IPv6
    // (deliver6.rs): each of its rounds is held as over IPv4.
    let hold = Duration::from_micros(200);
    let sc = scenario("pxe6-uefi-x64-dnsmasq.yaml");
    let (added, rounds, own_p, held_p) = held_image(&sc, hold, "t6");
    // 2 MiB in blocks of at most 8 KiB.
    assert!(rounds >= 256, "{rounds} rounds in a 2 MiB image");
    let expected = (rounds + 1) as f64 * hold.as_secs_f64();
    assert!(
        (added - expected).abs() <= 0.01 * expected,
        "{added} s added, {expected} s expected over {rounds} rounds"
    );
    assert!(held_p.nbp_download.unwrap() > own_p.nbp_download.unwrap());
    // The Solicit is no TFTP round: power-on to it is not held.
    assert_eq!(held_p.power_on_to_solicit, own_p.power_on_to_solicit);
}

#[test]
fn the_overlay_measured_from_a_run_gives_back_its_phases() {
    // A simulator run with an overlay stands in for the lab: measured from its
    // captures, the overlay is the one it applied, and the simulator run with it has
    // its phases; over IPv4 and over IPv6.
    for name in ["uefi-x64.yaml", "pxe6-uefi-x64-dnsmasq.yaml"] {
        let sc = scenario(name);
        let (own_dir, lab_dir, sim_dir) = (scratch("own-m"), scratch("lab-m"), scratch("sim-m"));
        let (own, _) = run(&sc, None, &own_dir.0);
        let path = program_read(&own, &sc).path;
        let applied = LabOverlay {
            program_sizes: ProgramSizes::from([(path.clone(), 20 * 1024)]),
            server_turnaround: Duration::from_micros(300),
        };
        let (lab, lab_p) = run(&sc, Some(applied.clone()), &lab_dir.0);
        let (sim, m) = run_with_overlay(&sc, &lab, &opts(None, &sim_dir.0)).expect("measured");
        assert_eq!(
            m.programs,
            [ProgramApplied {
                path,
                lab_bytes: 20 * 1024,
                builtin_bytes: crate::content::EFI_NBP_SIZE,
            }],
            "{name}"
        );
        assert!(m.rounds > 100, "{name}: {m:?}");
        assert!(
            (m.server_turnaround_s - 0.0003).abs() < 1e-6,
            "{name}: {m:?}"
        );
        assert_eq!(m.overlay().program_sizes, applied.program_sizes);
        let sim_p = phases_of(&sim, &sc);
        for phase in crate::phases::phase_names(lab_p.netboot) {
            let (l, s) = (lab_p.get(phase).unwrap(), sim_p.get(phase).unwrap());
            assert!(
                (l - s).abs() < 0.001,
                "{name}: {phase}: lab {l} s, sim {s} s"
            );
        }
        let text = m.describe();
        assert!(text.contains("20.0 KiB (built-in 256.0 KiB)"), "{text}");
        assert!(text.contains("server turnaround 0.300 ms"), "{text}");
    }
}

#[test]
fn an_http_boots_overlay_is_its_program_without_a_turnaround() {
    // HTTP boot has no TFTP rounds: the overlay measured from it resizes the boot
    // program only, and the simulator run with it has the run's phases.
    let sc = scenario("http4-uefi-x64.yaml");
    let (own_dir, lab_dir, sim_dir) = (scratch("own-h"), scratch("lab-h"), scratch("sim-h"));
    let (own, _) = run(&sc, None, &own_dir.0);
    let path = program_read(&own, &sc).path;
    let applied = LabOverlay {
        program_sizes: ProgramSizes::from([(path.clone(), 20 * 1024)]),
        ..Default::default()
    };
    let (lab, lab_p) = run(&sc, Some(applied), &lab_dir.0);
    let (sim, m) = run_with_overlay(&sc, &lab, &opts(None, &sim_dir.0)).expect("measured");
    assert_eq!(m.programs.len(), 1, "{m:?}");
    assert_eq!(
        (m.programs[0].path.as_str(), m.programs[0].lab_bytes),
        (path.as_str(), 20 * 1024)
    );
    assert_eq!((m.rounds, m.server_turnaround_s), (0, 0.0), "{m:?}");
    assert_eq!(phases_of(&sim, &sc), lab_p);
}

#[test]
fn a_capture_that_cannot_be_read_is_named() {
    let sc = scenario("bios-x86.yaml");
    let dir = scratch("gone");
    let (mut lab, _) = run(&sc, None, &dir.0);
    lab.pcaps = vec![dir.0.join("missing/hq.pcap").display().to_string()];
    let e = run_with_overlay(&sc, &lab, &opts(None, &dir.0)).expect_err("no such capture");
    assert!(e.contains("missing/hq.pcap"), "{e}");
    let e = run_with_overlay(&sc, &lab, &RunOptions::default()).expect_err("no captures");
    assert!(e.contains("capture directory"), "{e}");
}

#[test]
fn an_empty_overlay_changes_nothing() {
    let sc = scenario("bios-x86.yaml");
    let (a_dir, b_dir) = (scratch("none"), scratch("empty"));
    let (mut a, pa) = run(&sc, None, &a_dir.0);
    let (mut b, pb) = run(&sc, Some(LabOverlay::default()), &b_dir.0);
    assert_eq!(pa, pb);
    for r in [&mut a, &mut b] {
        r.wall_time_s = 0.0;
        r.pcaps.clear();
    }
    assert_eq!(
        serde_json::to_value(&a).unwrap(),
        serde_json::to_value(&b).unwrap()
    );
}
