//! `pxelab lab calibrate`: boots each firmware a few times in the lab (QEMU under TCG,
//! `pxelab serve`, the built-in DHCP server) with segment captures, measures from them
//! the firmware's power-on to first DISCOVER and its per-packet time
//! (`pxelab_sim::phases`), and writes each firmware's medians as an overlay on its
//! profile: `DIR/<firmware>.yaml` with `timing: {power_on_to_discover, per_datagram,
//! per_packet}` (the last two fitted to each boot's answers, `phases::intake`).

use super::lab_run::{run_lab, LabRunFlags};
use pxelab_scenario::{Firmware, Scenario};
use pxelab_sim::phases;
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
pub struct CalibrateArgs {
    /// Firmware to measure (repeat for several; all five when omitted).
    #[arg(long = "firmware")]
    firmware: Vec<String>,
    /// Boots per firmware.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=20))]
    runs: u32,
    /// Directory for the overlays (`<firmware>.yaml`).
    #[arg(long, default_value = "calibration")]
    out: PathBuf,
}

/// The scenario a calibration boots: one client of `fw` booting a 2 MiB image of its
/// architecture from one distribution point, written to `dir` (the lab's responders read
/// the file). `k` makes each run's file name (and so its capture directory) its own.
fn scenario(fw: Firmware, k: u32, dir: &Path) -> Result<Scenario, String> {
    let image = match fw {
        Firmware::BiosX86 | Firmware::UefiIa32 => "PS100001",
        Firmware::UefiArm64 => "PS100003",
        Firmware::BiosX64 | Firmware::UefiX64 => "PS100002",
    };
    let text = format!(
        "scenario: calibrate {fw}
modes: [lab]
site:
  code: PS1
  boot_images:
    - {{id: PS100001, arch: x86, size: 2MiB}}
    - {{id: PS100002, arch: x64, size: 2MiB}}
    - {{id: PS100003, arch: arm64, size: 2MiB}}
  machines:
    - {{name: WS01, mac: \"52:54:00:00:00:01\", smbios_guid: \"11111111-2222-3333-4444-555555555555\"}}
  collections:
    - {{name: Lab, members: [WS01]}}
  deployments:
    - {{id: PS120001, collection: Lab, boot_image: {image}, purpose: required, available_to: media_pxe}}
network:
  segments:
    - {{name: hq, cidr: 10.10.0.0/24}}
  dhcp_servers:
    - {{name: dhcp, segment: hq, address: 10.10.0.2, pools: {{hq: 10.10.0.100-10.10.0.199}}}}
  responders:
    - {{name: dp1, segment: hq, address: 10.10.0.5, role: distribution_point, images: [PS100001, PS100002, PS100003]}}
  clients:
    - {{name: c1, segment: hq, firmware: {fw}, machine: WS01}}
events:
  - {{at: 0s, boot: c1}}
expect:
  - {{client: c1, outcome: booted}}
",
        fw = fw.as_str()
    );
    let file = dir.join(format!("calibrate-{}-{k}.yaml", fw.as_str()));
    write(&file, &text)?;
    pxelab_scenario::load_file(&file).map_err(|e| e.to_string())
}

fn firmware_list(names: &[String]) -> Result<Vec<Firmware>, String> {
    if names.is_empty() {
        return Ok(Firmware::ALL.to_vec());
    }
    names
        .iter()
        .map(|n| {
            Firmware::ALL
                .into_iter()
                .find(|f| f.as_str() == n)
                .ok_or_else(|| {
                    let all: Vec<&str> = Firmware::ALL.iter().map(|f| f.as_str()).collect();
                    format!("--firmware {n}: not a firmware (one of {})", all.join(", "))
                })
        })
        .collect()
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "unknown".into())
}

pub fn calibrate(a: CalibrateArgs) -> Result<std::process::ExitCode, crate::Error> {
    let firmware = firmware_list(&a.firmware)?;
    std::fs::create_dir_all(&a.out).map_err(|e| format!("{}: {e}", a.out.display()))?;
    let pcap = std::env::temp_dir().join(format!("pxelab-calibrate-{}", std::process::id()));
    let files = pcap.with_extension("scenarios");
    std::fs::create_dir_all(&files).map_err(|e| format!("{}: {e}", files.display()))?;
    let mut failed = false;
    println!("firmware    boots  power_on_to_discover  per_packet  overlay");
    for fw in firmware {
        let load = load_average();
        let scenarios: Vec<Scenario> = (1..=a.runs)
            .map(|k| scenario(fw, k, &files))
            .collect::<Result<_, _>>()?;
        let refs: Vec<&Scenario> = scenarios.iter().collect();
        let flags = LabRunFlags {
            keep: false,
            boot_timeout: std::time::Duration::from_secs(300),
            model_clients: false,
            capture: pxelab_sim::pcap::CaptureOptions::default(),
        };
        let results = run_lab(&refs, Some(&pcap), flags, true)?;
        let (mut starts, mut datagrams, mut packets) = (Vec::new(), Vec::new(), Vec::new());
        for (r, sc) in results.iter().zip(&scenarios) {
            for f in &r.failures {
                eprintln!("{}: {f}", fw.as_str());
            }
            for (_, _, _, p) in phases::of_result(r, sc)? {
                starts.extend(p.power_on_to_discover);
                datagrams.extend(p.intake.map(|i| i.0));
                packets.extend(p.intake.map(|i| i.1));
            }
        }
        let _ = std::fs::remove_dir_all(&pcap);
        let (Some(start), Some(packet)) =
            (phases::median(&mut starts), phases::median(&mut packets))
        else {
            eprintln!(
                "{}: no boot got as far as a TFTP transfer; nothing written",
                fw.as_str()
            );
            failed = true;
            continue;
        };
        let note = format!(
            "median of {} boot(s) under TCG, load average {load} at the start",
            starts.len()
        );
        let path = a.out.join(format!("{}.yaml", fw.as_str()));
        write(
            &path,
            &phases::overlay_yaml(
                fw.as_str(),
                start,
                (phases::median(&mut datagrams).unwrap_or(0.0), packet),
                &note,
            ),
        )?;
        println!(
            "{:<11} {:>5}  {:>20}  {:>10}  {}",
            fw.as_str(),
            starts.len(),
            phases::duration_text(start),
            phases::duration_text(packet),
            path.display()
        );
    }
    let _ = std::fs::remove_dir_all(&files);
    Ok(if failed {
        std::process::ExitCode::FAILURE
    } else {
        std::process::ExitCode::SUCCESS
    })
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_firmware_has_a_calibration_scenario_that_loads() {
        let dir = std::env::temp_dir().join(format!("pxelab-cal-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for fw in Firmware::ALL {
            let sc = scenario(fw, 2, &dir);
            let sc = sc.unwrap_or_else(|e| panic!("{}: {e}", fw.as_str()));
            assert_eq!(sc.network.clients[0].firmware, fw);
            assert!(sc.file.display().to_string().ends_with("-2.yaml"));
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_unknown_firmware_is_named_in_the_error() {
        let e = firmware_list(&["uefi-x65".into()]).expect_err("not a firmware");
        assert!(e.contains("uefi-x65") && e.contains("uefi-x64"), "{e}");
        assert_eq!(firmware_list(&[]).map(|v| v.len()), Ok(5));
    }
}
