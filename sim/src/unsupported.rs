//! What a scenario may ask for that the simulator does not model yet, said once, before
//! a run starts, instead of silently ignoring the keys. Kept apart so that it can move
//! whole into the testbed that plays scenarios (one place says "cannot play this").

use pxelab_scenario::{EventKind, Scenario};

/// `Err` with one clear message when the scenario uses UEFI HTTP boot (format v1.1),
/// which the simulator does not model yet (issue 14). IPv6 PXE (`cidr6`, `address6`,
/// `interfaces6`, `ip_helpers6`, `interface_id6`, `pools6`, `netboot: pxe6`) is played.
pub fn playable(sc: &Scenario) -> Result<(), String> {
    match http_feature(sc) {
        None => Ok(()),
        Some(what) => Err(format!(
            "{what}: the scenario needs IPv6 PXE / HTTP boot, which the simulator does not model yet (issue 14)"
        )),
    }
}

/// The first v1.1 feature a scenario uses that the simulator cannot play (HTTP boot),
/// named as the file names it.
pub fn http_feature(sc: &Scenario) -> Option<String> {
    let n = &sc.network;
    if let Some(r) = n.responders.iter().find(|r| r.config.http.is_some()) {
        return Some(format!("responder `{}` has `http`", r.config.name));
    }
    if let Some(c) = n.clients.iter().find(|c| c.netboot.is_http()) {
        return Some(format!("client `{}` has `netboot: {}`", c.name, c.netboot));
    }
    sc.events.iter().find_map(|e| match &e.kind {
        EventKind::Boot {
            client,
            netboot: Some(nb),
        } if nb.is_http() => Some(format!(
            "line {}: boot of `{client}` with `netboot: {nb}`",
            e.line
        )),
        _ => None,
    })
}

/// The first v1.1 IPv6 / HTTP boot feature a scenario uses (what the lab cannot play
/// yet), named as the file names it.
pub fn v11_feature(sc: &Scenario) -> Option<String> {
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
        .find(|r| r.config.address6.is_some() || r.config.http.is_some())
    {
        let key = if r.config.http.is_some() {
            "http"
        } else {
            "address6"
        };
        return Some(format!("responder `{}` has `{key}`", r.config.name));
    }
    if let Some(c) = n.clients.iter().find(|c| c.netboot != Default::default()) {
        return Some(format!("client `{}` has `netboot: {}`", c.name, c.netboot));
    }
    sc.events.iter().find_map(|e| match &e.kind {
        EventKind::Boot {
            client,
            netboot: Some(nb),
        } if *nb != Default::default() => Some(format!(
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
    fn ipv6_pxe_is_playable() {
        let s = load(
            "scenario: v6\nnetwork:\n  segments:\n    - {name: hq, cidr: 10.0.0.0/24, cidr6: \"2001:db8::/64\"}\n  clients:\n    - {name: c1, segment: hq, firmware: uefi-x64, mac: \"52:54:00:00:00:01\", netboot: pxe6}\n",
        );
        assert_eq!(playable(&s), Ok(()));
    }

    #[test]
    fn a_responder_with_http_is_refused_with_one_message() {
        let s = load(
            "scenario: h\nnetwork:\n  segments:\n    - {name: hq, cidr: 10.0.0.0/24}\n  responders:\n    - {name: dp1, segment: hq, address: 10.0.0.5, role: distribution_point, http: {port: 8080}}\n",
        );
        assert_eq!(
            playable(&s).unwrap_err(),
            "responder `dp1` has `http`: the scenario needs IPv6 PXE / HTTP boot, which the simulator does not model yet (issue 14)"
        );
    }

    #[test]
    fn a_boot_event_by_http4_is_refused() {
        let s = load(
            "scenario: http\nnetwork:\n  segments:\n    - {name: hq, cidr: 10.0.0.0/24}\n  clients:\n    - {name: c1, segment: hq, firmware: uefi-x64, mac: \"52:54:00:00:00:01\"}\nevents:\n  - {at: 0s, boot: c1, netboot: http4}\n",
        );
        assert!(playable(&s)
            .unwrap_err()
            .starts_with("line 8: boot of `c1` with `netboot: http4`"));
    }
}
