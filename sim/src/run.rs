//! Run one scenario in the simulator: build its world, play its timeline on it (the
//! simulator's [`Testbed`](crate::timeline::Testbed) is `testbed.rs`), collect the
//! result and check its expectations.

use crate::build::build;
use crate::result::secs;
use crate::testbed::SimBed;
use crate::timeline::{self, PlayError};
use crate::world::HostKind;
use pxelab_engine::tftp::packet as tftp_packet;
use pxelab_engine::Instant;
use pxelab_scenario::Scenario;
use std::time::Duration;

// Defined here before; `crate::result` and `crate::build` hold them now.
pub use crate::build::{client_class, firmware_kind, RunOptions};
pub use crate::result::{
    BootRecord, Decision, ProbeRecord, ProcessPeak, ProcessSample, ScenarioResult,
};

/// Virtual time before scenario time 0, in which peers find each other (MODEL.md).
pub const WARMUP: Duration = Duration::from_secs(30);

/// Run a scenario in the simulator.
pub fn run_scenario(sc: &Scenario, opts: &RunOptions) -> ScenarioResult {
    let wall = std::time::Instant::now();
    let seed = opts.seed.unwrap_or(sc.seed);
    let mut result = ScenarioResult::new(sc, "sim", seed);
    let b = match build(sc, seed, opts) {
        Ok(b) => b,
        Err(e) => {
            result
                .failures
                .push(format!("could not build the network: {e}"));
            return result;
        }
    };
    let t0 = Instant::ZERO + WARMUP;
    let mut bed = SimBed::new(b, result, &sc.events, t0);
    if let Err(e) = timeline::play(&sc.events, &mut bed) {
        match e {
            PlayError::Unsupported(list) => bed
                .result
                .failures
                .extend(list.iter().map(|u| u.to_string())),
            PlayError::Testbed(never) => match never {},
        }
    }
    let SimBed {
        mut b,
        mut result,
        boots_of,
        ..
    } = bed;
    let end = b.world.now;
    result.sim_time_s = secs(end.saturating_since(t0));
    result.stats = b.world.stats;
    result.usage = std::mem::take(&mut b.world.usage);
    result.packets = b.world.stats.packets_sent;
    result.events = b.world.stats.events;
    // Boots still running when the run stopped.
    for (host, recs) in &boots_of {
        if let HostKind::Client(c) = &b.world.hosts[*host].kind {
            if c.is_busy() {
                if let Some(&last) = recs.last() {
                    if result.boots[last].outcome.is_none() {
                        result.failures.push(format!(
                            "{} boot {}: still running when the simulation stopped",
                            c.name, result.boots[last].boot
                        ));
                    }
                }
            }
        }
    }
    // Seconds since scenario time 0, to the millisecond; negative during the warm-up.
    let since_t0 =
        |at: Instant| ((at.as_nanos() as f64 - t0.as_nanos() as f64) / 1e6).round() / 1e3;
    for (at, who, text) in std::mem::take(&mut b.world.logs) {
        result.logs.push((since_t0(at), who, text));
    }
    for (at, responder, client, silent) in std::mem::take(&mut b.world.decisions) {
        result.decisions.push(Decision {
            at: since_t0(at),
            responder,
            client,
            silent,
        });
    }
    for h in &mut b.world.hosts {
        if let HostKind::Client(c) = &mut h.kind {
            if let Some(t) = c.trace.take() {
                let lines = t
                    .into_iter()
                    .map(|x| (secs(x.at.saturating_since(t0)), x.text))
                    .collect();
                result.traces.insert(c.name.clone(), lines);
            }
        }
    }
    // Probe answers.
    for p in &mut result.tftp_requests {
        let Some(&ph) = b.probe_hosts.get(&p.index) else {
            continue;
        };
        if let HostKind::Probe(probe) = &b.world.hosts[ph].kind {
            if let Some(ans) = probe.answers.get(&p.index) {
                match tftp_packet::Packet::parse(ans) {
                    Ok(tftp_packet::Packet::Error { code, .. }) => {
                        p.result = Some("error".into());
                        p.error_code = Some(code);
                    }
                    Ok(tftp_packet::Packet::Oack { options }) => {
                        p.result = Some("oack".into());
                        p.oack = options.into_iter().collect();
                    }
                    Ok(tftp_packet::Packet::Data { .. }) => p.result = Some("data".into()),
                    _ => p.result = Some("other".into()),
                }
            }
        }
    }
    for s in &mut b.world.segments {
        if let Some(c) = &mut s.capture {
            c.finish();
            if let Some(e) = c.error() {
                result
                    .failures
                    .push(format!("pcap for segment {}: {e}", s.name));
            }
        }
    }
    drop(b);
    crate::expect::check(sc, &mut result);
    result.ladders = crate::ladder::ladders(&result, sc);
    if let Some(dir) = &opts.pcap_dir {
        let files = sc
            .network
            .segments
            .iter()
            .map(|s| dir.join(format!("{}.pcap", s.name)));
        result.pcaps = files
            .filter(|p| p.exists())
            .map(|p| p.display().to_string())
            .collect();
    }
    result.passed = result.failures.is_empty();
    result.wall_time_s = wall.elapsed().as_secs_f64();
    result
}
