//! The lab overlay of `pxelab run --lab --compare` (docs/LAB.md, "The lab overlay"):
//! what the lab's test bed adds to a boot that is no firmware's, measured from the lab
//! run and applied to the simulator run compared with it, so that the comparison
//! measures the firmware model only.
//!
//! - **Boot programs.** The lab serves the programs it builds from `images/` (about
//!   2.5 KiB for BIOS, 20 KiB for UEFI); the simulator's stand-ins are 32 and 256 KiB
//!   (`content.rs`). The overlay gives each program the lab served its size there:
//!   read over TFTP on IPv4 or IPv6 (the first read's OACK `tsize`, or its DATA), or
//!   by HTTP boot (the `Content-Length` of the 200 answer to the firmware's first GET).
//! - **Server turnaround.** From a client's ACK to the DATA it brings back, `pxelab
//!   serve` and the userspace switch take time the link model does not have (median
//!   0.04 ms, mean 0.1-0.4 ms under load). The overlay holds a responder's host for the
//!   difference of the mean rounds, lab less simulator, on each TFTP datagram it takes
//!   in over either IP version (`world/server_turnaround.rs`). HTTP boot has no TFTP
//!   rounds and takes no turnaround.
//!
//! Both are read from the client's packets as the phases of PXE over IPv6 and HTTP
//! boot are (`phases::wire`), in [`capture`].
//!
//! Neither is a firmware profile key: real firmware against another server has neither.
//! A run without an overlay (every run but `--compare`'s) is unchanged.

pub mod capture;

use pxelab_scenario::Netboot;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

/// Boot program sizes in bytes, by their path in the responder's root (lower case,
/// `/`-separated, as `tftp::path::normalize` gives it).
pub type ProgramSizes = BTreeMap<String, u64>;

/// What a simulator run takes from the lab's test bed (`RunOptions::lab_overlay`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LabOverlay {
    /// These boot programs have these sizes instead of the built-in ones.
    pub program_sizes: ProgramSizes,
    /// A responder's host is held this long by each TFTP datagram it takes in.
    pub server_turnaround: Duration,
}

/// A boot program the overlay resized.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProgramApplied {
    pub path: String,
    /// Its size as the lab served it.
    pub lab_bytes: u64,
    /// The simulator's built-in size it replaced.
    pub builtin_bytes: u64,
}

/// The overlay a compared run applied and how it was measured: a lab result's
/// `timing_overlay` in the JSON, a line under the `--compare` table.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct OverlayApplied {
    pub programs: Vec<ProgramApplied>,
    /// Added to each TFTP datagram a responder takes in (lab round less simulator round,
    /// 0 if the lab's was not longer).
    pub server_turnaround_s: f64,
    /// The mean server round (ACK to the DATA it brought) in the lab's capture, and in
    /// the simulator's without the overlay; `None` where there was no round.
    pub lab_round_s: Option<f64>,
    pub sim_round_s: Option<f64>,
    /// The lab's rounds measured.
    pub rounds: usize,
}

impl OverlayApplied {
    /// The overlay as the run applies it.
    pub fn overlay(&self) -> LabOverlay {
        LabOverlay {
            program_sizes: self
                .programs
                .iter()
                .map(|p| (p.path.clone(), p.lab_bytes))
                .collect(),
            server_turnaround: Duration::from_secs_f64(self.server_turnaround_s.max(0.0)),
        }
    }

    /// One line for the `--compare` table.
    pub fn describe(&self) -> String {
        let kib = |b: u64| format!("{:.1} KiB", b as f64 / 1024.0);
        let programs = if self.programs.is_empty() {
            "none".to_string()
        } else {
            self.programs
                .iter()
                .map(|p| {
                    format!(
                        "{} {} (built-in {})",
                        p.path,
                        kib(p.lab_bytes),
                        kib(p.builtin_bytes)
                    )
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        let ms = |s: Option<f64>| s.map_or("-".to_string(), |s| format!("{:.3} ms", s * 1e3));
        format!(
            "lab overlay: boot programs {programs}; server turnaround {} a TFTP datagram (mean round: lab {}, simulator {}, {} rounds)",
            ms(Some(self.server_turnaround_s)),
            ms(self.lab_round_s),
            ms(self.sim_round_s),
            self.rounds
        )
    }
}

/// The boot program each boot of a lab result read first, with the size the lab served
/// (from its segment captures: over TFTP on either IP version, or HTTP); only programs
/// the simulator has a stand-in for.
pub fn programs_served(
    lab: &crate::ScenarioResult,
    sc: &pxelab_scenario::Scenario,
) -> Result<Vec<ProgramApplied>, String> {
    let mut sizes = ProgramSizes::new();
    for (client, packets) in capture::client_packets(lab, sc)? {
        let mut boots: Vec<&crate::result::BootRecord> =
            lab.boots.iter().filter(|b| b.client == client).collect();
        boots.sort_by(|a, b| a.at_s.total_cmp(&b.at_s));
        for (k, b) in boots.iter().enumerate() {
            let next = boots.get(k + 1).map(|n| n.at_s);
            let netboot: Netboot = b
                .netboot
                .as_deref()
                .and_then(|n| n.parse().ok())
                .unwrap_or_default();
            let mine = crate::phases::wire::of_boot(&packets, b.at_s, next);
            if let Some((path, size)) = capture::boot_program(&mine, netboot) {
                sizes.insert(path, size);
            }
        }
    }
    Ok(sizes
        .into_iter()
        .filter_map(|(path, lab_bytes)| {
            let builtin_bytes = crate::content::builtin_program_size(&path)?;
            Some(ProgramApplied {
                path,
                lab_bytes,
                builtin_bytes,
            })
        })
        .collect())
}

/// The mean server round of each TFTP download in a result's captures (over either IP
/// version), and how many.
fn mean_round(
    r: &crate::ScenarioResult,
    sc: &pxelab_scenario::Scenario,
) -> Result<(Option<f64>, usize), String> {
    let rounds: Vec<f64> = capture::client_packets(r, sc)?
        .iter()
        .flat_map(|(_, p)| capture::server_rounds(p))
        .collect();
    Ok((capture::mean(&rounds), rounds.len()))
}

/// Runs `sc` in the simulator with the overlay measured from `lab` (a lab result with
/// its segment captures): first with the lab's boot programs only, so that its
/// downloads are the lab's, whose mean server round is subtracted from the lab's; then
/// with that turnaround too. `opts` must name a capture directory (`pcap_dir`): the
/// second run's captures replace the first's there. An unreadable capture is an error
/// naming it.
pub fn run_with_overlay(
    sc: &pxelab_scenario::Scenario,
    lab: &crate::ScenarioResult,
    opts: &crate::RunOptions,
) -> Result<(crate::ScenarioResult, OverlayApplied), String> {
    if opts.pcap_dir.is_none() {
        return Err("the lab overlay is measured from captures: no capture directory".into());
    }
    let mut applied = OverlayApplied {
        programs: programs_served(lab, sc)?,
        ..Default::default()
    };
    let sized = crate::RunOptions {
        lab_overlay: Some(applied.overlay()),
        ..opts.clone()
    };
    let first = crate::run_scenario(sc, &sized);
    let (lab_round_s, rounds) = mean_round(lab, sc)?;
    let (sim_round_s, _) = mean_round(&first, sc)?;
    applied.lab_round_s = lab_round_s;
    applied.sim_round_s = sim_round_s;
    applied.rounds = rounds;
    applied.server_turnaround_s = match (lab_round_s, sim_round_s) {
        (Some(l), Some(s)) => (l - s).max(0.0),
        _ => 0.0,
    };
    if applied.server_turnaround_s == 0.0 {
        return Ok((first, applied));
    }
    let full = crate::RunOptions {
        lab_overlay: Some(applied.overlay()),
        ..opts.clone()
    };
    Ok((crate::run_scenario(sc, &full), applied))
}

#[cfg(test)]
mod tests;
