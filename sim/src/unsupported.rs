//! What a scenario may ask for that the simulator does not model yet, said once, before
//! a run starts, instead of silently ignoring the keys. Kept apart so that it can move
//! whole into the testbed that plays scenarios (one place says "cannot play this").
//!
//! The simulator plays PXE over IPv4 and IPv6 (`pxe4`, `pxe6`) and UEFI HTTP boot over
//! IPv4 (`http4`: client_http.rs, http_host.rs, tcp.rs). HTTP boot over IPv6 (`http6`)
//! needs TCP over IPv6, which it does not model yet.

use pxelab_scenario::{EventKind, Netboot, Scenario};

/// `Err` with one clear message when the scenario boots a client by `http6`.
pub fn playable(sc: &Scenario) -> Result<(), String> {
    match unplayable_netboot(sc) {
        None => Ok(()),
        Some(what) => Err(format!(
            "{what}: the simulator does not model UEFI HTTP boot over IPv6 yet (issue 14)"
        )),
    }
}

/// The first client or boot event that asks for a boot option the simulator cannot
/// play, named as the file names it.
fn unplayable_netboot(sc: &Scenario) -> Option<String> {
    let played = |nb: Netboot| nb != Netboot::Http6;
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
    fn pxe4_pxe6_and_http4_are_played() {
        for nb in ["pxe4", "pxe6", "http4"] {
            assert_eq!(playable(&boot_by(nb)), Ok(()), "{nb}");
        }
    }

    #[test]
    fn a_boot_event_by_http6_is_refused_with_its_line() {
        assert_eq!(
            playable(&boot_by("http6")).unwrap_err(),
            "line 8: boot of `c1` with `netboot: http6`: the simulator does not model UEFI HTTP boot over IPv6 yet (issue 14)"
        );
    }

    #[test]
    fn a_client_booting_by_http6_is_refused() {
        let s = load(
            "scenario: h6\nnetwork:\n  segments:\n    - {name: hq, cidr: 10.0.0.0/24, cidr6: \"2001:db8::/64\"}\n  clients:\n    - {name: c1, segment: hq, firmware: uefi-x64, mac: \"52:54:00:00:00:01\", netboot: http6}\n",
        );
        assert!(playable(&s)
            .unwrap_err()
            .starts_with("client `c1` has `netboot: http6`"));
    }
}
