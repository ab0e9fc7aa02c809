//! The lab's IPv6 (format v1.1): IPv6 switched on in the namespaces of hosts with an
//! IPv6 address, those addresses, routes and forwarding; router advertisements on
//! every segment with `cidr6` (`pxelab lab ra`, see `ra.rs` for why our own); DHCPv6
//! address servers (dnsmasq's ranges in its one configuration, Kea's `kea-dhcp6` as a
//! process of its own, the engine's built-in one as `pxelab lab dhcpd6`); a router's
//! `ip_helpers6` as `pxelab lab relay6` (the engine's relay agent) or ISC `dhcrelay -6`
//! (`relay: dhcrelay`). Hosts on an IPv6-only segment (no `cidr`) have these addresses
//! only (`plan.rs`).

use super::LabError;
use super::{Host, Lab};
use crate::procs::in_ns;
use crate::ra::{RaIface, RaSpec};
use crate::servers6::{Pool6Conf, Relay6Iface};
use pxelab_scenario::{DhcpEngine, Netboot, RelayEngine};

/// The OVMF fw_cfg knobs that make the firmware's boot option for `netboot` the first
/// to run: its order is PXEv4, PXEv6, HTTPv4, HTTPv6 (docs/MODEL.md), and the knobs
/// turn the PXE options off. HTTPv4 cannot be turned off: an `http6` boot first waits
/// for HTTPv4 to give up (about 30 s of DISCOVERs).
pub fn ovmf_knobs(netboot: Netboot) -> Vec<String> {
    let off = |what: &str| {
        vec![
            "-fw_cfg".to_string(),
            format!("name=opt/org.tianocore/{what}Support,string=n"),
        ]
    };
    match netboot {
        Netboot::Pxe4 => Vec::new(),
        Netboot::Pxe6 => off("IPv4PXE"),
        Netboot::Http4 | Netboot::Http6 => [off("IPv4PXE"), off("IPv6PXE")].concat(),
    }
}

impl Lab<'_> {
    /// IPv6 on in a host's namespace before its interfaces arrive (they take the
    /// namespace's defaults): no duplicate address detection (the lab's addresses are
    /// unique by construction), no autoconfiguration from the lab's advertisements.
    pub(super) fn ipv6_on(&self, h: &Host) -> Result<(), LabError> {
        if h.ifaces6.is_empty() {
            return Ok(());
        }
        in_ns(
            &h.ns,
            &[
                "sysctl",
                "-q",
                "-w",
                "net.ipv6.conf.all.disable_ipv6=0",
                "net.ipv6.conf.default.disable_ipv6=0",
                "net.ipv6.conf.all.accept_dad=0",
                "net.ipv6.conf.default.accept_dad=0",
                "net.ipv6.conf.all.accept_ra=0",
                "net.ipv6.conf.default.accept_ra=0",
            ],
        )?;
        Ok(())
    }

    /// A host's IPv6 addresses; forwarding on a router, else a default route through
    /// the router on its segment.
    pub(super) fn ipv6_addresses(&self, h: &Host) -> Result<(), LabError> {
        let sc = self.sc;
        for (i, addr, len) in &h.ifaces6 {
            let ifname = &h.ifaces[*i].2;
            in_ns(
                &h.ns,
                &[
                    "ip",
                    "-6",
                    "addr",
                    "add",
                    &format!("{addr}/{len}"),
                    "dev",
                    ifname,
                    "nodad",
                ],
            )?;
        }
        if h.ifaces6.is_empty() {
            return Ok(());
        }
        if h.router.is_some() {
            in_ns(
                &h.ns,
                &["sysctl", "-q", "-w", "net.ipv6.conf.all.forwarding=1"],
            )?;
        } else if let Some((i, ..)) = h.ifaces6.first() {
            let seg = &sc.network.segments[h.ifaces[*i].0].name;
            if let Some(gw) = sc.network.routers.iter().find_map(|r| {
                r.interfaces6
                    .iter()
                    .find(|(s, _)| s == seg)
                    .map(|(_, a)| *a)
            }) {
                in_ns(
                    &h.ns,
                    &[
                        "ip",
                        "-6",
                        "route",
                        "add",
                        "default",
                        "via",
                        &gw.to_string(),
                    ],
                )?;
            }
        }
        Ok(())
    }

    /// Router advertisements for every segment with `cidr6`: from the router on it
    /// (a default router), else from a host with an IPv6 address there (lifetime 0),
    /// managed where a DHCPv6 pool covers the prefix.
    pub(super) fn start_router_advertisements(&mut self) -> Result<(), LabError> {
        let sc = self.sc;
        let mut per_host: Vec<(String, String, Vec<RaIface>)> = Vec::new();
        for (si, seg) in sc.network.segments.iter().enumerate() {
            let Some(c6) = seg.cidr6 else { continue };
            let on_seg = |h: &Host| {
                h.ifaces6
                    .iter()
                    .find(|(i, ..)| h.ifaces[*i].0 == si)
                    .map(|(i, ..)| h.ifaces[*i].2.clone())
            };
            let host = self
                .hosts
                .iter()
                .filter(|h| h.router.is_some())
                .chain(self.hosts.iter().filter(|h| h.router.is_none()))
                .find_map(|h| on_seg(h).map(|ifname| (h, ifname)));
            let Some((h, ifname)) = host else { continue };
            let managed = sc
                .network
                .dhcp_servers
                .iter()
                .any(|d| d.pools6.iter().any(|(s, ..)| *s == seg.name));
            let iface = RaIface {
                interface: ifname,
                prefix: c6.addr,
                prefix_len: c6.prefix,
                managed,
                router: h.router.is_some(),
            };
            match per_host.iter_mut().find(|p| p.0 == h.name) {
                Some(p) => p.2.push(iface),
                None => per_host.push((h.name.clone(), h.ns.clone(), vec![iface])),
            }
        }
        for (name, ns, interfaces) in per_host {
            self.spawn_host_daemon(
                &ns,
                "ra",
                &format!("ra-{name}"),
                &name,
                &RaSpec { interfaces },
            )?;
        }
        Ok(())
    }

    /// A DHCP server's IPv6 pools, as its configuration names them.
    pub(super) fn pools6(&self, d: &pxelab_scenario::DhcpServer) -> Vec<Pool6Conf> {
        d.pools6
            .iter()
            .filter_map(|(seg, start, end)| {
                let c6 = self.sc.segment(seg)?.cidr6?;
                Some(Pool6Conf {
                    tag: seg.clone(),
                    prefix: (c6.addr, c6.prefix),
                    start: *start,
                    end: *end,
                })
            })
            .collect()
    }

    /// `kea-dhcp6` for a Kea server with `pools6`, `pxelab lab dhcpd6` for a built-in
    /// one (dnsmasq serves its IPv6 pools from its one process).
    pub(super) fn start_dhcp6(
        &mut self,
        h: &Host,
        d: &pxelab_scenario::DhcpServer,
    ) -> Result<(), LabError> {
        if d.pools6.is_empty() || d.engine == DhcpEngine::Dnsmasq {
            return Ok(());
        }
        if d.engine == DhcpEngine::Builtin {
            let spec = crate::hostd6::Dhcpd6Spec {
                name: d.name.clone(),
                interface: h.ifaces[0].2.clone(),
                local: self
                    .sc
                    .segment(&d.segment)
                    .and_then(|s| s.cidr6)
                    .map(|c| (c.addr, c.prefix)),
                pools: self
                    .pools6(d)
                    .iter()
                    .map(|p| (p.prefix, p.start, p.end))
                    .collect(),
            };
            return self.spawn_host_daemon(
                &h.ns,
                "dhcpd6",
                &format!("dhcp6-{}", d.name),
                &d.name,
                &spec,
            );
        }
        let own = self
            .sc
            .segment(&d.segment)
            .and_then(|s| s.cidr6)
            .map(|c| (c.addr, c.prefix));
        let inner = crate::servers6::kea_command(
            &self.dir.join(format!("dhcp6-{}", d.name)),
            &h.ifaces[0].2,
            own,
            &self.pools6(d),
        )?;
        let mut cmd = std::process::Command::new("ip");
        cmd.args(["netns", "exec", &h.ns])
            .arg(inner.get_program())
            .args(inner.get_args());
        for (k, v) in inner.get_envs() {
            if let Some(v) = v {
                cmd.env(k, v);
            }
        }
        self.spawn_logged(&format!("dhcp6-{}", d.name), &d.name, cmd)
    }

    /// A router's `ip_helpers6`: the engine's relay agent (`pxelab lab relay6`, with
    /// option 79), or `dhcrelay -6` with `relay: dhcrelay`.
    pub(super) fn start_relay6(
        &mut self,
        h: &Host,
        r: &pxelab_scenario::Router,
    ) -> Result<(), LabError> {
        if r.ip_helpers6.is_empty() {
            return Ok(());
        }
        let sc = self.sc;
        if r.relay != RelayEngine::Dhcrelay {
            let mut interfaces = Vec::new();
            for (seg, _, ifname, ..) in &h.ifaces {
                let seg = &sc.network.segments[*seg].name;
                let Some(address) = r
                    .interfaces6
                    .iter()
                    .find(|(s, _)| s == seg)
                    .map(|(_, a)| *a)
                else {
                    continue;
                };
                interfaces.push(crate::hostd6::Relay6IfaceSpec {
                    interface: ifname.clone(),
                    address,
                    helpers: r
                        .ip_helpers6
                        .iter()
                        .find(|(s, _)| s == seg)
                        .map(|(_, v)| v.clone())
                        .unwrap_or_default(),
                    interface_id: r
                        .interface_id6
                        .iter()
                        .find(|(s, _)| s == seg)
                        .map(|(_, v)| v.clone()),
                });
            }
            let spec = crate::hostd6::Relay6Spec {
                name: r.name.clone(),
                interfaces,
            };
            return self.spawn_host_daemon(
                &h.ns,
                "relay6",
                &format!("relay6-{}", r.name),
                &r.name,
                &spec,
            );
        }
        let ifaces: Vec<Relay6Iface> = h
            .ifaces
            .iter()
            .map(|(seg, _, ifname, ..)| {
                let seg = &sc.network.segments[*seg];
                Relay6Iface {
                    interface: ifname.clone(),
                    prefix: seg.cidr6.map(|c| (c.addr, c.prefix)),
                    helpers: r
                        .ip_helpers6
                        .iter()
                        .find(|(s, _)| *s == seg.name)
                        .map(|(_, v)| v.clone())
                        .unwrap_or_default(),
                    interface_id: r.interface_id6.iter().any(|(s, _)| *s == seg.name),
                }
            })
            .collect();
        let cmd = crate::servers6::dhcrelay6_command(
            &h.ns,
            &ifaces,
            &self.dir.join(format!("dhcrelay6-{}.pid", r.name)),
        )
        .map_err(|source| LabError::Router {
            router: r.name.clone(),
            source,
        })?;
        self.spawn_logged(&format!("relay6-{}", r.name), &r.name, cmd)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_netboot_turns_off_the_pxe_options_before_it() {
        assert!(ovmf_knobs(Netboot::Pxe4).is_empty());
        let pxe6 = ovmf_knobs(Netboot::Pxe6).join(" ");
        assert_eq!(
            pxe6,
            "-fw_cfg name=opt/org.tianocore/IPv4PXESupport,string=n"
        );
        let http = ovmf_knobs(Netboot::Http6).join(" ");
        assert!(
            http.contains("IPv4PXESupport,string=n") && http.contains("IPv6PXESupport,string=n")
        );
    }
}
