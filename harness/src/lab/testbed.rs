//! The lab as a [`Testbed`]: the timeline played in wall-clock time on the built
//! network, and what the lab cannot play declared in `cannot_play`.

use super::Lab;
use super::LabError;
use crate::procs;
use pxelab_engine::state::{self, DeviceKey, StateStore};
use pxelab_engine::Mac;
use pxelab_scenario::{ClearTarget, EventKind, Netboot, TftpRequest};
use pxelab_sim::timeline::{LinkChange, Testbed};
use std::io::Write;
use std::path::Path;
use std::time::Duration;

/// The lab plays the timeline in wall-clock time: between events it judges the boots
/// that have finished and samples the processes, every 100 ms.
impl Testbed for Lab<'_> {
    type Error = LabError;

    fn name(&self) -> &str {
        "the lab"
    }

    fn cannot_play(&self, event: &EventKind) -> Option<String> {
        match event {
            // The modelled clients (`pxelab lab swarm`) speak PXE over IPv4 only.
            EventKind::Boot { client, netboot }
                if self.opts.model_clients
                    && netboot
                        .or_else(|| self.sc.client(client).map(|c| c.netboot))
                        .is_some_and(|n| n != Netboot::Pxe4) =>
            {
                Some("modelled clients (--model-clients) boot by PXE over IPv4 only".into())
            }
            EventKind::TftpRequest(_) => Some("it is a simulator extension".into()),
            EventKind::ReloadExclusions { .. } => Some(
                "it is a simulator extension (in the lab, change the file and the responder reloads it)"
                    .into(),
            ),
            // The lab boots the real firmware of a client's family: a firmware profile
            // (docs/PROFILES.md) other than that family's built-in one (other options,
            // order, timers or timing) is the simulator's alone.
            EventKind::Boot { client, .. } => self.custom_profile(client),
            EventKind::Down { .. }
            | EventKind::Up { .. }
            | EventKind::ClearRequired(_)
            | EventKind::Link { .. } => None,
        }
    }

    fn wait_until(&mut self, _index: usize, at: Duration) -> Result<(), LabError> {
        loop {
            if procs::interrupted() {
                return Err(LabError::Interrupted);
            }
            if self.t0.elapsed() >= at {
                return Ok(());
            }
            self.judge();
            self.sample_peaks();
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn boot(&mut self, client: &str) -> Result<(), LabError> {
        self.boot_client(client, None)
    }

    /// QEMU starts per boot, so each boot can take its own boot option.
    fn boot_with(&mut self, client: &str, netboot: Option<Netboot>) -> Result<(), LabError> {
        self.boot_client(client, netboot)
    }

    fn down(&mut self, host: &str) -> Result<(), LabError> {
        self.say(&format!("down {host}"));
        self.host_down(host);
        Ok(())
    }

    fn down_during_transfer(&mut self, host: &str) -> Result<(), LabError> {
        self.say(&format!("down {host} during its next transfer"));
        self.arm_transfer_crash(host);
        Ok(())
    }

    fn up(&mut self, host: &str) -> Result<(), LabError> {
        self.say(&format!("up {host}"));
        self.host_up(host)
    }

    /// The segment's switch takes the whole model on its stdin.
    fn set_link(&mut self, segment: &str, change: LinkChange) -> Result<(), LabError> {
        let seg = self
            .sc
            .segment(segment)
            .ok_or_else(|| LabError::UnknownSegment(segment.to_string()))?;
        let line = format!(
            "link {} {} {}\n",
            change.rate_bps.unwrap_or(seg.link.rate_bps),
            change.delay.unwrap_or(seg.link.delay).as_nanos(),
            change.loss.unwrap_or(seg.link.loss)
        );
        if let Some(s) = self.switch_stdin.get_mut(segment) {
            s.write_all(line.as_bytes())
                .map_err(|source| LabError::SwitchInput {
                    segment: segment.to_string(),
                    source,
                })?;
        }
        Ok(())
    }

    /// Straight in the run's state database, as an administrator would.
    fn clear_required(&mut self, target: &ClearTarget) -> Result<(), LabError> {
        let mut store = pxelab_daemon::store::SqliteStore::open(&self.dir.join("state.db"))
            .map_err(LabError::StateDatabase)?;
        let n = match target {
            ClearTarget::Machine(m) => store.clear_device(&DeviceKey::machine(m)),
            ClearTarget::Collection(c) => state::clear_collection(&mut store, &self.sc.site, c),
        };
        self.logs.lock().unwrap_or_else(|p| p.into_inner()).push((
            self.t0.elapsed().as_secs_f64(),
            "site".into(),
            format!("cleared {n} required PXE deployment record(s)"),
        ));
        Ok(())
    }

    fn tftp_request(&mut self, _request: &TftpRequest) -> Result<(), LabError> {
        Err(LabError::CannotPlay("tftp_request"))
    }

    fn reload_exclusions(
        &mut self,
        _responder: &str,
        _file: &Path,
        _macs: &Result<Vec<Mac>, String>,
    ) -> Result<(), LabError> {
        Err(LabError::CannotPlay("reload_exclusions"))
    }

    /// Until every boot has an outcome.
    fn finish(&mut self) -> Result<(), LabError> {
        loop {
            if procs::interrupted() {
                return Err(LabError::Interrupted);
            }
            self.judge();
            self.sample_peaks();
            if self.boots.iter().all(|b| b.done.is_some()) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Lab<'_> {
    /// Why the lab cannot boot `client` as its scenario describes it: a firmware profile
    /// that is not its family's built-in one (see `cannot_play`).
    fn custom_profile(&self, client: &str) -> Option<String> {
        let c = self.sc.network.clients.iter().find(|c| c.name == client)?;
        let p = c.profile?;
        let kind = pxelab_engine::dhcp::firmware::FirmwareKind::from_name(c.firmware.as_str())?;
        let builtin = pxelab_engine::dhcp::firmware::profile::builtin(kind);
        let same = (&p.pxe4, &p.http4, &p.pxe6, &p.http6)
            == (&builtin.pxe4, &builtin.http4, &builtin.pxe6, &builtin.http6);
        (!same).then(|| {
            format!(
                "client `{client}` uses the firmware profile {}: the lab boots the real {} firmware, whose options and timing are not the profile's (the simulator plays it)",
                p.source.display(),
                c.firmware.as_str()
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::LabOptions;
    use super::*;
    use pxelab_sim::timeline;

    fn lab_of(sc: &pxelab_scenario::Scenario) -> Lab<'_> {
        Lab::new(
            sc,
            LabOptions {
                exe: "pxelab".into(),
                programs: "programs".into(),
                pcap_dir: None,
                capture: Default::default(),
                keep: false,
                boot_timeout: Duration::from_secs(1),
                warmup: Duration::ZERO,
                verbose: false,
                progress: None,
                model_clients: false,
            },
        )
    }

    fn load(path: &str) -> pxelab_scenario::Scenario {
        let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path);
        pxelab_scenario::load_file(&p).unwrap()
    }

    #[test]
    fn the_lab_refuses_the_simulator_extensions_by_event() {
        let sc = load("scenarios/tftp/write-refused.yaml");
        let lab = lab_of(&sc);
        let refused = timeline::check(&sc.events, &lab);
        assert_eq!(refused.len(), 2);
        assert!(refused.iter().all(|u| u.kind == "tftp_request"));
        assert_eq!(refused[0].testbed, "the lab");
    }

    #[test]
    fn the_lab_plays_every_event_of_its_own_suite() {
        for f in [
            "down-during-transfer-backup.yaml",
            "peer-down-next-peer.yaml",
            "netboot-per-boot-pxe4-then-pxe6.yaml",
            "pxe6-ipv6-only-segment.yaml",
        ] {
            let sc = load(&format!("scenarios/lab/{f}"));
            assert!(timeline::check(&sc.events, &lab_of(&sc)).is_empty(), "{f}");
        }
    }

    #[test]
    fn modelled_clients_refuse_a_boot_by_another_option_than_pxe4() {
        let sc = load("scenarios/lab/netboot-per-boot-pxe4-then-pxe6.yaml");
        let mut lab = lab_of(&sc);
        lab.opts.model_clients = true;
        let refused = timeline::check(&sc.events, &lab);
        // The first boot is by the client's pxe4; the second by the event's pxe6.
        assert_eq!(refused.len(), 1, "{refused:?}");
        assert!(
            refused[0].to_string().contains("IPv4 only"),
            "{}",
            refused[0]
        );
    }
}
