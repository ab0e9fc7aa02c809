//! The boot storm bench: N clients power on (at once, or spread over a time), P peers
//! or distribution points hold the boot image, one segment with the given link, the
//! responders' TFTP tuning (block and window caps, R-TFTP-2): how long until every
//! client booted, and the peak link use.
//!
//! Each row of the matrix (clients × responders × block × window) is a generated
//! scenario (`scenario_yaml`, the same format as any other, so `--emit` shows it) run
//! by the simulator, or in the lab with modelled clients (`pxelab run --lab
//! --model-clients`): real `pxelab serve` responders, a real DHCP server and the
//! segment switch, the clients the simulator's firmware models speaking real frames.

use crate::matrix::{flag, parse_delays, parse_u16_list, parse_u32_list};
use crate::stats::percentile;
use crate::Error;
use pxelab_scenario::{load_str, Scenario};
use pxelab_sim::run::{run_scenario, ProcessPeak, RunOptions, ScenarioResult};
use pxelab_sim::world::Usage;
use serde::Serialize;
use std::fmt::Write as _;
use std::time::Duration;

/// Who holds the image.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Role {
    Peer,
    #[value(name = "distribution_point")]
    DistributionPoint,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Peer => "peer",
            Role::DistributionPoint => "distribution_point",
        }
    }
}

/// The clients' firmware (one with an image architecture the storm builds).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Firmware {
    UefiX64,
    BiosX64,
    UefiIa32,
    UefiArm64,
}

impl Firmware {
    pub fn as_str(self) -> &'static str {
        match self {
            Firmware::UefiX64 => "uefi-x64",
            Firmware::BiosX64 => "bios-x64",
            Firmware::UefiIa32 => "uefi-ia32",
            Firmware::UefiArm64 => "uefi-arm64",
        }
    }

    /// The image architecture the firmware boots.
    fn arch(self) -> &'static str {
        match self {
            Firmware::UefiX64 | Firmware::BiosX64 => "x64",
            Firmware::UefiIa32 => "x86",
            Firmware::UefiArm64 => "arm64",
        }
    }
}

/// The storm's matrix and link, as the flags write them (lists where a row per value).
#[derive(clap::Args, Clone, Debug)]
pub struct StormFlags {
    /// Clients powering on (list).
    #[arg(long, default_value = "100")]
    pub clients: String,
    /// Responders holding the image (list).
    #[arg(long, default_value = "4")]
    pub responders: String,
    /// peer or distribution_point.
    #[arg(long, value_enum, default_value = "peer")]
    pub role: Role,
    /// uefi-x64, bios-x64, uefi-ia32 or uefi-arm64.
    #[arg(long, value_enum, default_value = "uefi-x64")]
    pub firmware: Firmware,
    #[arg(long, default_value = "100MiB")]
    pub image_size: String,
    #[arg(long, default_value = "1Gbit")]
    pub rate: String,
    /// One-way delay.
    #[arg(long, default_value = "0")]
    pub delay: String,
    #[arg(long, default_value = "0")]
    pub loss: String,
    /// The responders' RamDisk TFTP block size caps (list).
    #[arg(long, default_value = "4096")]
    pub block_size: String,
    /// The responders' RamDisk TFTP window size caps (list).
    #[arg(long, default_value = "1")]
    pub window_size: String,
    /// Power-ons spread evenly over this time (0: all at once).
    #[arg(long, default_value = "0")]
    pub spread: String,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

#[derive(Clone, Debug)]
pub struct StormSpec {
    pub clients: u32,
    pub responders: u32,
    pub role: Role,
    pub firmware: Firmware,
    pub image_size: u64,
    pub rate_bps: u64,
    pub delay: Duration,
    pub loss: f64,
    pub block_size: u16,
    pub window_size: u16,
    /// Power-ons spread evenly over this time (0: all at once).
    pub spread: Duration,
    pub seed: u64,
}

/// A storm per combination of the lists (clients × responders × block × window).
pub fn specs(a: &StormFlags) -> Result<Vec<StormSpec>, Error> {
    use pxelab_scenario::values::{parse_rate, parse_ratio, parse_size};
    let clients = flag("--clients", parse_u32_list(&a.clients))?;
    let responders = flag("--responders", parse_u32_list(&a.responders))?;
    let blocks = flag(
        "--block-size",
        parse_u16_list(&a.block_size, "--block-size", 8),
    )?;
    let windows = flag(
        "--window-size",
        parse_u16_list(&a.window_size, "--window-size", 1),
    )?;
    let one = |name: &str, text: &str| -> Result<Duration, Error> {
        flag(name, parse_delays(text))?
            .first()
            .copied()
            .ok_or_else(|| Error::Usage(format!("{name}: one duration")))
    };
    let delay = one("--delay", &a.delay)?;
    let spread = one("--spread", &a.spread)?;
    let image_size = flag("--image-size", parse_size(&a.image_size))?;
    let rate_bps = flag("--rate", parse_rate(&a.rate))?;
    let loss = flag("--loss", parse_ratio(&a.loss))?;
    let mut specs = Vec::new();
    for &c in &clients {
        for &r in &responders {
            for &b in &blocks {
                for &w in &windows {
                    specs.push(StormSpec {
                        clients: c,
                        responders: r,
                        role: a.role,
                        firmware: a.firmware,
                        image_size,
                        rate_bps,
                        delay,
                        loss,
                        block_size: b,
                        window_size: w,
                        spread,
                        seed: a.seed,
                    });
                }
            }
        }
    }
    if specs.is_empty() {
        return Err(Error::Usage(
            "nothing to run: give --clients, --responders, --block-size and --window-size".into(),
        ));
    }
    Ok(specs)
}

#[derive(Clone, Debug, Serialize)]
pub struct StormResult {
    /// `sim` or `lab`.
    pub mode: String,
    pub clients: u32,
    pub responders: u32,
    pub role: &'static str,
    pub image_size: u64,
    pub rate_bps: u64,
    pub delay_s: f64,
    pub loss: f64,
    pub block_size: u16,
    pub window_size: u16,
    pub spread_s: f64,
    pub booted: usize,
    pub not_booted: usize,
    /// From the first power-on until the last client booted; null if one did not.
    pub all_booted_s: Option<f64>,
    /// Boot times (power-on to boot image started) of the clients that booted.
    pub boot_median_s: Option<f64>,
    pub boot_p95_s: Option<f64>,
    /// The busiest responder's peak send rate over 100 ms, and its share of the link.
    pub peak_responder_bps: f64,
    pub peak_responder_use: f64,
    /// All traffic entering the segment, peak over 100 ms.
    pub peak_segment_bps: f64,
    pub packets: u64,
    pub wall_s: f64,
    /// Lab: peak memory and descriptors of the responders and the modelled clients.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<ProcessPeak>,
    /// Lab: what went wrong, if anything (the lab's own failures, not boots).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub failures: Vec<String>,
}

/// The storm as a scenario file.
pub fn scenario_yaml(s: &StormSpec) -> Result<String, Error> {
    if s.clients == 0 || s.clients > 20_000 {
        return Err(Error::Usage("--clients: from 1 to 20000".into()));
    }
    if s.responders == 0 || s.responders > 200 {
        return Err(Error::Usage("--responders: from 1 to 200".into()));
    }
    let arch = s.firmware.arch();
    let mut y = String::new();
    let _ = writeln!(
        y,
        "scenario: boot storm, {} {} clients against {} {}s (generated by pxelab bench storm)",
        s.clients,
        s.firmware.as_str(),
        s.responders,
        s.role.as_str()
    );
    let _ = writeln!(y, "seed: {}", s.seed);
    // The lab runs it with modelled clients (`pxelab run --lab --model-clients`).
    let _ = writeln!(y, "modes: [sim, lab]");
    let _ = writeln!(y, "site:\n  code: PS1\n  boot_images:");
    let _ = writeln!(
        y,
        "    - {{id: PS100002, arch: {arch}, size: {}}}",
        s.image_size
    );
    let _ = writeln!(y, "  deployments:");
    let collection = match arch {
        "x86" => "x86 Unknown Computer",
        "arm64" => "arm64 Unknown Computer",
        _ => "x64 Unknown Computer",
    };
    let _ = writeln!(
        y,
        "    - {{id: PS120001, collection: {collection}, boot_image: PS100002, purpose: required, available_to: media_pxe}}"
    );
    let _ = writeln!(y, "network:\n  segments:");
    let _ = writeln!(
        y,
        "    - {{name: floor, cidr: 10.50.0.0/16, link: {{rate: {}bit, delay: {}ms, loss: {}}}}}",
        s.rate_bps,
        s.delay.as_nanos() as f64 / 1e6,
        s.loss
    );
    let _ = writeln!(y, "  dhcp_servers:");
    let _ = writeln!(
        y,
        "    - {{name: dhcp, segment: floor, address: 10.50.0.2, pools: {{floor: 10.50.100.0-10.50.199.255}}}}"
    );
    let _ = writeln!(y, "  responders:");
    for r in 0..s.responders {
        let _ = writeln!(
            y,
            "    - {{name: r{}, segment: floor, address: 10.50.1.{}, role: {}, images: [PS100002], unknown_computer_support: true, tftp: {{block_size: {}, window_size: {}}}}}",
            r + 1,
            r + 1,
            s.role.as_str(),
            s.block_size,
            s.window_size
        );
    }
    let _ = writeln!(y, "  clients:");
    for c in 0..s.clients {
        let _ = writeln!(
            y,
            "    - {{name: c{:05}, segment: floor, firmware: {}, mac: \"52:54:00:01:{:02x}:{:02x}\"}}",
            c + 1,
            s.firmware.as_str(),
            (c + 1) >> 8,
            (c + 1) & 0xff
        );
    }
    let _ = writeln!(y, "events:");
    for c in 0..s.clients {
        let at = s.spread.as_secs_f64() * c as f64 / s.clients as f64;
        let _ = writeln!(y, "  - {{at: {:.6}s, boot: c{:05}}}", at, c + 1);
    }
    let _ = writeln!(y, "expect:");
    for c in 0..s.clients {
        let _ = writeln!(y, "  - {{client: c{:05}, outcome: booted}}", c + 1);
    }
    Ok(y)
}

/// The storm's scenario, loaded.
pub fn scenario(s: &StormSpec) -> Result<Scenario, Error> {
    let yaml = scenario_yaml(s)?;
    load_str(&yaml, std::path::Path::new("<bench storm>"))
        .map_err(|e| Error::Scenario(format!("the generated storm scenario does not load: {e}")))
}

/// The storm in the simulator.
pub fn run(s: &StormSpec) -> Result<StormResult, Error> {
    let sc = scenario(s)?;
    let r = run_scenario(
        &sc,
        &RunOptions {
            seed: None,
            trace: false,
            no_verify: true,
            ..Default::default()
        },
    );
    Ok(summarize(s, &r))
}

/// A storm row from a run's result, simulator or lab (the lab has no link use).
pub fn summarize(s: &StormSpec, r: &ScenarioResult) -> StormResult {
    let booted: Vec<&pxelab_sim::run::BootRecord> = r
        .boots
        .iter()
        .filter(|b| b.outcome.as_deref() == Some("booted"))
        .collect();
    let mut times: Vec<f64> = booted.iter().filter_map(|b| b.took_s).collect();
    times.sort_by(|a, b| a.total_cmp(b));
    let not_booted = s.clients as usize - booted.len().min(s.clients as usize);
    // From the first power-on (the lab starts its clock a little before it).
    let first = r.boots.iter().map(|b| b.at_s).fold(f64::INFINITY, f64::min);
    let all_booted_s = (not_booted == 0)
        .then(|| {
            booted
                .iter()
                .map(|b| b.at_s + b.took_s.unwrap_or(0.0) - first)
                .fold(0.0, f64::max)
        })
        .filter(|_| !booted.is_empty());
    let peak_responder_bps = r
        .usage
        .egress
        .iter()
        .map(|v| Usage::peak_bps(v))
        .fold(0.0, f64::max);
    let peak_segment_bps = r
        .usage
        .segments
        .iter()
        .map(|v| Usage::peak_bps(v))
        .fold(0.0, f64::max);
    StormResult {
        mode: r.mode.clone(),
        clients: s.clients,
        responders: s.responders,
        role: s.role.as_str(),
        image_size: s.image_size,
        rate_bps: s.rate_bps,
        delay_s: s.delay.as_secs_f64(),
        loss: s.loss,
        block_size: s.block_size,
        window_size: s.window_size,
        spread_s: s.spread.as_secs_f64(),
        booted: booted.len(),
        not_booted,
        all_booted_s,
        boot_median_s: percentile(&times, 0.5),
        boot_p95_s: percentile(&times, 0.95),
        peak_responder_bps,
        peak_responder_use: peak_responder_bps / s.rate_bps as f64,
        peak_segment_bps,
        packets: r.stats.packets_sent,
        wall_s: r.wall_time_s,
        resources: r.resources.clone(),
        failures: r
            .failures
            .iter()
            .filter(|f| f.starts_with("lab"))
            .cloned()
            .collect(),
    }
}

/// The storms in the lab, one lab run each: every storm written as a scenario file (the
/// lab's responders read their scenario from it), loaded, and given to `lab`, which
/// builds, runs and tears down each in turn (`pxelab run --lab --model-clients`).
pub fn run_in_lab(
    specs: &[StormSpec],
    lab: impl FnOnce(&[&Scenario]) -> Result<Vec<ScenarioResult>, Error>,
) -> Result<Vec<StormResult>, Error> {
    let dir = std::env::temp_dir().join(format!("pxelab-storm-{}", std::process::id()));
    let loaded = (|| -> Result<Vec<Scenario>, Error> {
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        let mut v = Vec::new();
        for (i, s) in specs.iter().enumerate() {
            let f = dir.join(format!("storm-{}.yaml", i + 1));
            std::fs::write(&f, scenario_yaml(s)?).map_err(|e| Error::io(&f, e))?;
            v.push(pxelab_scenario::load_file(&f).map_err(|e| Error::Scenario(e.to_string()))?);
        }
        Ok(v)
    })();
    let results = loaded.and_then(|scenarios| lab(&scenarios.iter().collect::<Vec<_>>()));
    let _ = std::fs::remove_dir_all(&dir);
    Ok(specs
        .iter()
        .zip(&results?)
        .map(|(s, r)| summarize(s, r))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(clients: u32, responders: u32, window: u16) -> StormSpec {
        StormSpec {
            clients,
            responders,
            role: Role::Peer,
            firmware: Firmware::UefiX64,
            image_size: 4 << 20,
            rate_bps: 1_000_000_000,
            delay: Duration::from_micros(100),
            loss: 0.0,
            block_size: 4096,
            window_size: window,
            spread: Duration::ZERO,
            seed: 1,
        }
    }

    #[test]
    fn every_client_boots_and_more_peers_or_a_window_finish_sooner() {
        // At 100 Mbit/s the responder's port is the bottleneck (the line time of 24 ×
        // 4 MiB is 8 s), not the clients' own time per frame taken in (about 1 s each).
        let slow = |responders| {
            let mut s = spec(24, responders, 1);
            s.rate_bps = 100_000_000;
            run(&s).unwrap()
        };
        let base = slow(1);
        assert_eq!((base.booted, base.not_booted), (24, 0));
        let all = base.all_booted_s.unwrap();
        // 24 clients × 4 MiB through one port cannot take less than its line time.
        let floor = 24.0 * (4u64 << 20) as f64 * 8.0 / 100e6;
        assert!(all > floor, "{all} s is below the line time {floor} s");
        assert!(base.peak_responder_use > 0.0 && base.peak_responder_use <= 1.0 + 1e-9);
        let more_peers = slow(4);
        assert!(
            more_peers.all_booted_s.unwrap() < all,
            "{more_peers:?} vs {base:?}"
        );
        // A few clients on a link with a longer round trip: window 1 leaves the port
        // idle between blocks, a window of 8 fills it. The firmware's own start-up and
        // offer collection come first whatever the window, so the download's share is
        // the time beyond a boot of a one-block image.
        let far = |w, image_size| {
            let mut s = spec(2, 1, w);
            s.delay = Duration::from_millis(2);
            s.image_size = image_size;
            run(&s).unwrap()
        };
        let (w1, w8) = (far(1, 4 << 20), far(8, 4 << 20));
        let start = far(1, 4096).all_booted_s.unwrap();
        let download = |r: &StormResult| r.all_booted_s.unwrap() - start;
        assert!(download(&w1) > 0.0, "{w1:?} against a boot in {start} s");
        assert!(
            download(&w8) < download(&w1) / 2.0,
            "{w1:?} {w8:?} start {start} s"
        );
        assert!(
            w8.peak_responder_use > 2.0 * w1.peak_responder_use,
            "{w1:?} {w8:?}"
        );
    }

    #[test]
    fn bad_specs_are_refused_with_the_flag() {
        let mut s = spec(0, 1, 1);
        assert!(scenario_yaml(&s)
            .unwrap_err()
            .to_string()
            .contains("--clients"));
        s.clients = 2;
        s.responders = 201;
        assert!(scenario_yaml(&s)
            .unwrap_err()
            .to_string()
            .contains("--responders"));
    }

    fn flags() -> StormFlags {
        StormFlags {
            clients: "10,20".into(),
            responders: "1,2".into(),
            role: Role::DistributionPoint,
            firmware: Firmware::UefiIa32,
            image_size: "1MiB".into(),
            rate: "100Mbit".into(),
            delay: "0".into(),
            loss: "0".into(),
            block_size: "1432,4096".into(),
            window_size: "1".into(),
            spread: "10s".into(),
            seed: 3,
        }
    }

    #[test]
    fn the_lists_make_a_storm_per_combination() {
        let v = specs(&flags()).unwrap();
        let rows: Vec<(u32, u32, u16)> = v
            .iter()
            .map(|s| (s.clients, s.responders, s.block_size))
            .collect();
        assert_eq!(rows.len(), 8);
        assert_eq!(rows[..3], [(10, 1, 1432), (10, 1, 4096), (10, 2, 1432)]);
        assert_eq!(v[0].spread, Duration::from_secs(10));
        let y = scenario_yaml(&v[0]).unwrap();
        assert!(
            y.contains("arch: x86") && y.contains("role: distribution_point"),
            "{y}"
        );
        assert!(scenario(&v[0]).is_ok());
        let mut bad = flags();
        bad.block_size = "4".into();
        let e = specs(&bad).unwrap_err().to_string();
        assert!(e.starts_with("--block-size `4`"), "{e}");
        bad = flags();
        bad.spread = String::new();
        assert_eq!(
            specs(&bad).unwrap_err().to_string(),
            "--spread: one duration"
        );
    }
}
