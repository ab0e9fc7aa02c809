//! Which namespace hosts a scenario becomes (pure): routers, DHCP servers, responders
//! (sharing a DHCP server's host when at its address), rogues; their interfaces, tap
//! names and MACs.

use super::LabError;
use pxelab_scenario::Scenario;
use std::net::{Ipv4Addr, Ipv6Addr};

/// A namespace host and its interfaces.
#[derive(Debug, Clone)]
pub(super) struct Host {
    pub(super) name: String,
    pub(super) ns: String,
    /// (segment index, tap name, interface name, address, prefix, MAC); the address is
    /// 0.0.0.0 (prefix 0) on an IPv6-only segment (v1.1: no `cidr`), see [`has_ipv4`].
    pub(super) ifaces: Vec<(usize, String, String, Ipv4Addr, u8, String)>,
    /// v1.1: IPv6 addresses, (index into `ifaces`, address, prefix length).
    pub(super) ifaces6: Vec<(usize, Ipv6Addr, u8)>,
    pub(super) responders: Vec<String>,
    pub(super) dhcp: Vec<String>,
    pub(super) router: Option<String>,
}

/// The namespace hosts of a scenario: a router each, a DHCP server each, a responder
/// each unless it shares a DHCP server's address (R-ANS-2: one host), a rogue each;
/// their taps named for run `id` and their MACs `02:00:00:00:hh:ii`.
pub(super) fn plan_hosts(sc: &Scenario, id: &str) -> Result<Vec<Host>, LabError> {
    let seg_index = |name: &str| -> Result<usize, LabError> {
        sc.network
            .segments
            .iter()
            .position(|s| s.name == name)
            .ok_or_else(|| LabError::UnknownSegment(name.to_string()))
    };
    let mut hosts: Vec<Host> = Vec::new();
    let add_iface = |h: &mut Host, seg: usize, addr: Ipv4Addr| {
        let s = &sc.network.segments[seg];
        // IPv6 only (no `cidr`): the interface gets no IPv4 address.
        let (addr, prefix) = match s.cidr {
            Some(c) => (addr, c.prefix),
            None => (Ipv4Addr::UNSPECIFIED, 0),
        };
        h.ifaces.push((
            seg,
            String::new(),
            format!("eth{}", h.ifaces.len()),
            addr,
            prefix,
            String::new(),
        ));
    };
    // An IPv6 address on the host's interface on that segment, the interface added
    // when the host has no IPv4 address there (a router's `interfaces6` only).
    let add_iface6 = |h: &mut Host, seg: usize, addr: Ipv6Addr| {
        let len = sc.network.segments[seg].cidr6.map_or(128, |c| c.prefix);
        let i = match h.ifaces.iter().position(|i| i.0 == seg) {
            Some(i) => i,
            None => {
                add_iface(h, seg, Ipv4Addr::UNSPECIFIED);
                h.ifaces.len() - 1
            }
        };
        if !h.ifaces6.iter().any(|x| x.0 == i && x.1 == addr) {
            h.ifaces6.push((i, addr, len));
        }
    };
    // A host (not a router) that already holds one of these addresses on the segment:
    // a server at another's address shares its host (R-ANS-2), by either family.
    let holder = |hosts: &[Host], seg: usize, v4: Ipv4Addr, v6: Option<Ipv6Addr>| {
        hosts.iter().position(|h| {
            h.router.is_none()
                && h.ifaces.iter().enumerate().any(|(ii, i)| {
                    i.0 == seg
                        && ((has_ipv4(i.3) && i.3 == v4)
                            || v6.is_some_and(|a| h.ifaces6.iter().any(|x| x.0 == ii && x.1 == a)))
                })
        })
    };
    for r in &sc.network.routers {
        let mut h = Host {
            name: r.name.clone(),
            ns: String::new(),
            ifaces: Vec::new(),
            ifaces6: Vec::new(),
            responders: Vec::new(),
            dhcp: Vec::new(),
            router: Some(r.name.clone()),
        };
        for (seg, addr) in &r.interfaces {
            add_iface(&mut h, seg_index(seg)?, *addr);
        }
        for (seg, addr) in &r.interfaces6 {
            add_iface6(&mut h, seg_index(seg)?, *addr);
        }
        hosts.push(h);
    }
    for d in &sc.network.dhcp_servers {
        let seg = seg_index(&d.segment)?;
        if let Some(hi) = holder(&hosts, seg, d.address, d.address6) {
            let h = &mut hosts[hi];
            h.dhcp.push(d.name.clone());
            if let Some(a6) = d.address6 {
                add_iface6(h, seg, a6);
            }
            continue;
        }
        let mut h = Host {
            name: d.name.clone(),
            ns: String::new(),
            ifaces: Vec::new(),
            ifaces6: Vec::new(),
            responders: Vec::new(),
            dhcp: vec![d.name.clone()],
            router: None,
        };
        add_iface(&mut h, seg, d.address);
        if let Some(a6) = d.address6 {
            add_iface6(&mut h, seg, a6);
        }
        hosts.push(h);
    }
    for r in &sc.network.responders {
        let seg = seg_index(&r.segment)?;
        let addr = r.config.address;
        if let Some(hi) = holder(&hosts, seg, addr, r.config.address6) {
            let h = &mut hosts[hi];
            h.responders.push(r.config.name.clone());
            if let Some(a6) = r.config.address6 {
                add_iface6(h, seg, a6);
            }
            continue;
        }
        let mut h = Host {
            name: r.config.name.clone(),
            ns: String::new(),
            ifaces: Vec::new(),
            ifaces6: Vec::new(),
            responders: vec![r.config.name.clone()],
            dhcp: Vec::new(),
            router: None,
        };
        add_iface(&mut h, seg, addr);
        if let Some(a6) = r.config.address6 {
            add_iface6(&mut h, seg, a6);
        }
        hosts.push(h);
    }
    // Rogues (extension): a host of their own running `pxelab serve` as the rogue.
    for r in &sc.network.rogues {
        let mut h = Host {
            name: r.name.clone(),
            ns: String::new(),
            ifaces: Vec::new(),
            ifaces6: Vec::new(),
            responders: vec![r.name.clone()],
            dhcp: Vec::new(),
            router: None,
        };
        add_iface(&mut h, seg_index(&r.segment)?, r.address);
        hosts.push(h);
    }
    let mut port_count = vec![0usize; sc.network.segments.len()];
    for (hi, h) in hosts.iter_mut().enumerate() {
        h.ns = format!("pxelab-{id}-{}", h.name);
        for (ii, i) in h.ifaces.iter_mut().enumerate() {
            let p = port_count[i.0];
            port_count[i.0] += 1;
            i.1 = format!("px{id}s{}p{p}", i.0);
            i.5 = format!("02:00:00:00:{:02x}:{:02x}", hi + 1, ii);
        }
    }
    Ok(hosts)
}

/// Whether an interface's address is an IPv4 one (not the 0.0.0.0 of an interface on
/// an IPv6-only segment).
pub(super) fn has_ipv4(addr: Ipv4Addr) -> bool {
    !addr.is_unspecified()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(name: &str) -> Scenario {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../scenarios/lab")
            .join(name);
        pxelab_scenario::load_file(&path).unwrap()
    }

    #[test]
    fn a_responder_at_a_dhcp_servers_address_shares_its_host() {
        let sc = load("colocated-option60-dnsmasq.yaml");
        let hosts = plan_hosts(&sc, "abcd").unwrap();
        let shared: Vec<&Host> = hosts
            .iter()
            .filter(|h| !h.dhcp.is_empty() && !h.responders.is_empty())
            .collect();
        assert_eq!(shared.len(), 1, "{hosts:?}");
        assert_eq!(shared[0].ifaces.len(), 1);
    }

    #[test]
    fn taps_macs_and_namespaces_are_named_for_the_run_in_file_order() {
        let sc = load("relay-option82-kea.yaml");
        let hosts = plan_hosts(&sc, "abcd").unwrap();
        let router = hosts.iter().find(|h| h.router.is_some()).unwrap();
        assert_eq!(router.ns, format!("pxelab-abcd-{}", router.name));
        assert!(router.ifaces.len() >= 2);
        for (ii, i) in router.ifaces.iter().enumerate() {
            assert_eq!(i.2, format!("eth{ii}"));
            assert!(i.1.starts_with(&format!("pxabcds{}p", i.0)), "{}", i.1);
            assert!(i.5.starts_with("02:00:00:00:"));
        }
        let mut taps: Vec<&String> = hosts
            .iter()
            .flat_map(|h| h.ifaces.iter().map(|i| &i.1))
            .collect();
        let n = taps.len();
        taps.dedup();
        taps.sort();
        taps.dedup();
        assert_eq!(taps.len(), n, "every tap has its own name");
    }

    #[test]
    fn hosts_on_an_ipv6_only_segment_get_no_ipv4_address_and_keep_their_own_namespace() {
        let sc = load("pxe6-ipv6-only-segment.yaml");
        let hosts = plan_hosts(&sc, "abcd").unwrap();
        // The DHCP server and the responder both have 0.0.0.0 as `address`: that is
        // no shared address, each is a host of its own.
        assert_eq!(hosts.len(), 2, "{hosts:?}");
        for h in &hosts {
            assert_eq!(h.ifaces.len(), 1, "{h:?}");
            assert!(!has_ipv4(h.ifaces[0].3), "{h:?}");
            assert_eq!(h.ifaces6.len(), 1, "{h:?}");
            assert_eq!(h.ifaces6[0].2, 64);
        }
    }
}
