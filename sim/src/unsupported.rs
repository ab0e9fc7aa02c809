//! What a scenario may ask for that the simulator does not model yet, said once, before
//! a run starts, instead of silently ignoring the keys. Kept apart so that it can move
//! whole into the testbed that plays scenarios (one place says "cannot play this").

use pxelab_scenario::{EventKind, Netboot, Scenario};

/// `Err` with one clear message when the scenario uses IPv6 (PXE or UEFI HTTP boot,
/// format v1.1), which the simulator does not model yet (issue 14). UEFI HTTP boot over
/// IPv4 (`netboot: http4`, responders' `http`) it plays (client_http.rs, http_host.rs).
pub fn playable(sc: &Scenario) -> Result<(), String> {
    match feature(sc, true) {
        None => Ok(()),
        Some(what) => Err(format!(
            "{what}: the scenario needs IPv6 PXE / HTTP boot, which the simulator does not model yet (issue 14)"
        )),
    }
}

/// The first v1.1 IPv6 / HTTP boot feature a scenario uses, named as the file names it
/// (what the lab cannot run yet).
pub fn v11_feature(sc: &Scenario) -> Option<String> {
    feature(sc, false)
}

/// The first v1.1 feature of the scenario, HTTP boot over IPv4 left out when `http4`.
fn feature(sc: &Scenario, http4: bool) -> Option<String> {
    let n = &sc.network;
    if let Some(s) = n.segments.iter().find(|s| s.cidr6.is_some()) {
        return Some(format!("segment `{}` has `cidr6`", s.name));
    }
    if let Some(r) = n.routers.iter().find(|r| !r.interfaces6.is_empty()) {
        return Some(format!("router `{}` has `interfaces6`", r.name));
    }
    if let Some(d) = n
        .dhcp_servers
        .iter()
        .find(|d| d.address6.is_some() || !d.pools6.is_empty())
    {
        return Some(format!("DHCP server `{}` has `address6`", d.name));
    }
    if let Some(r) = n
        .responders
        .iter()
        .find(|r| r.config.address6.is_some() || (r.config.http.is_some() && !http4))
    {
        let key = if r.config.address6.is_some() {
            "address6"
        } else {
            "http"
        };
        return Some(format!("responder `{}` has `{key}`", r.config.name));
    }
    let played = |nb: Netboot| nb == Netboot::Pxe4 || (http4 && nb == Netboot::Http4);
    if let Some(c) = n.clients.iter().find(|c| !played(c.netboot)) {
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

    #[test]
    fn a_v1_scenario_is_playable() {
        let s = load("scenario: v1\nnetwork:\n  segments:\n    - {name: hq, cidr: 10.0.0.0/24}\n");
        assert_eq!(playable(&s), Ok(()));
    }

    #[test]
    fn ipv6_is_refused_with_one_message() {
        let s = load(
            "scenario: v6\nnetwork:\n  segments:\n    - {name: hq, cidr: 10.0.0.0/24, cidr6: \"2001:db8::/64\"}\n",
        );
        assert_eq!(
            playable(&s).unwrap_err(),
            "segment `hq` has `cidr6`: the scenario needs IPv6 PXE / HTTP boot, which the simulator does not model yet (issue 14)"
        );
    }

    fn boot_by(netboot: &str, segment: &str) -> Scenario {
        load(&format!(
            "scenario: http\nnetwork:\n  segments:\n    - {{name: hq, cidr: 10.0.0.0/24{segment}}}\n  clients:\n    - {{name: c1, segment: hq, firmware: uefi-x64, mac: \"52:54:00:00:00:01\"}}\nevents:\n  - {{at: 0s, boot: c1, netboot: {netboot}}}\n"
        ))
    }

    #[test]
    fn a_boot_event_by_http6_is_refused() {
        let s = boot_by("http6", ", cidr6: \"2001:db8::/64\"");
        assert!(playable(&s)
            .unwrap_err()
            .ends_with("does not model yet (issue 14)"));
        let no_v6_segment = Scenario {
            network: pxelab_scenario::Network {
                segments: Vec::new(),
                ..s.network.clone()
            },
            ..s
        };
        assert_eq!(
            playable(&no_v6_segment).unwrap_err(),
            "line 8: boot of `c1` with `netboot: http6`: the scenario needs IPv6 PXE / HTTP boot, which the simulator does not model yet (issue 14)"
        );
    }

    #[test]
    fn http_boot_over_ipv4_is_played_but_is_still_a_v11_feature_for_the_lab() {
        let s = boot_by("http4", "");
        assert_eq!(playable(&s), Ok(()));
        assert_eq!(
            v11_feature(&s),
            Some("line 8: boot of `c1` with `netboot: http4`".into())
        );
    }
}
