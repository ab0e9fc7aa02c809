//! What a scenario may ask for that the simulator does not model yet, said once, before
//! a run starts, instead of silently ignoring the keys. Kept apart so that it can move
//! whole into the testbed that plays scenarios (one place says "cannot play this").
//!
//! The simulator plays PXE over IPv4 and IPv6 (`pxe4`, `pxe6`) and UEFI HTTP boot over
//! IPv4 and IPv6 (`http4`, `http6`: client_http.rs, client/http6.rs, http_host.rs,
//! tcp.rs): every boot option of the format. [`UNPLAYED`] lists what a future key
//! would add before the simulator models it.

use pxelab_scenario::{EventKind, Netboot, Scenario};

/// Boot options the simulator refuses (none since issue 14 added `http6`).
const UNPLAYED: &[Netboot] = &[];

/// `Err` with one clear message when the scenario boots a client by an option in
/// [`UNPLAYED`].
pub fn playable(sc: &Scenario) -> Result<(), String> {
    match unplayable_netboot(sc, UNPLAYED) {
        None => Ok(()),
        Some(what) => Err(format!("{what}: the simulator does not model it yet")),
    }
}

/// The first client or boot event that asks for a boot option the simulator cannot
/// play, named as the file names it.
fn unplayable_netboot(sc: &Scenario, unplayed: &[Netboot]) -> Option<String> {
    let played = |nb: Netboot| !unplayed.contains(&nb);
    if let Some(c) = sc.network.clients.iter().find(|c| !played(c.netboot)) {
        return Some(format!("client `{}` has `netboot: {}`", c.name, c.netboot));
    }
    sc.events.iter().find_map(|e| match &e.kind {
        EventKind::Boot {
            client,
            netboot: Some(nb),
        } if !played(*nb) => Some(format!(
            "line {}: boot of `{client}` with `netboot: {nb}`",
            e.line
        )),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Scenario {
        pxelab_scenario::load_str(text, "x.yaml".as_ref()).unwrap()
    }

    fn boot_by(netboot: &str) -> Scenario {
        load(&format!(
            "scenario: nb\nnetwork:\n  segments:\n    - {{name: hq, cidr: 10.0.0.0/24, cidr6: \"2001:db8::/64\"}}\n  clients:\n    - {{name: c1, segment: hq, firmware: uefi-x64, mac: \"52:54:00:00:00:01\"}}\nevents:\n  - {{at: 0s, boot: c1, netboot: {netboot}}}\n"
        ))
    }

    #[test]
    fn a_v1_scenario_is_playable() {
        let s = load("scenario: v1\nnetwork:\n  segments:\n    - {name: hq, cidr: 10.0.0.0/24}\n");
        assert_eq!(playable(&s), Ok(()));
    }

    #[test]
    fn every_netboot_is_played() {
        for nb in ["pxe4", "pxe6", "http4", "http6"] {
            assert_eq!(playable(&boot_by(nb)), Ok(()), "{nb}");
        }
    }

    #[test]
    fn an_unplayed_boot_event_is_named_with_its_line() {
        assert_eq!(
            unplayable_netboot(&boot_by("http6"), &[Netboot::Http6]).unwrap(),
            "line 8: boot of `c1` with `netboot: http6`"
        );
        assert_eq!(
            unplayable_netboot(&boot_by("http6"), &[Netboot::Pxe6]),
            None
        );
    }

    #[test]
    fn an_unplayed_client_netboot_is_named() {
        let s = load(
            "scenario: h6\nnetwork:\n  segments:\n    - {name: hq, cidr: 10.0.0.0/24, cidr6: \"2001:db8::/64\"}\n  clients:\n    - {name: c1, segment: hq, firmware: uefi-x64, mac: \"52:54:00:00:00:01\", netboot: http6}\n",
        );
        assert_eq!(playable(&s), Ok(()));
        assert_eq!(
            unplayable_netboot(&s, &[Netboot::Http6]).unwrap(),
            "client `c1` has `netboot: http6`"
        );
    }
}
