//! The IPv6 side of a scenario's world (v1.1 keys, docs/MODEL.md "IPv6"), wired after
//! the hosts are built: each segment's `cidr6`, link-local addresses, routers'
//! `interfaces6` with their DHCPv6 relay agents (`ip_helpers6`, `interface_id6`), DHCP
//! servers' `address6` and `pools6`, responders' `address6`, and clients that boot by
//! `netboot: pxe6`.

use crate::ipv6::link_local;
use crate::world::{HostKind, Iface, World};
use pxelab_engine::dhcp6::relay_agent::{RelayAgent6, RelayIface6};
use pxelab_engine::dhcp6::server::{DhcpServer6, Pool6};
use pxelab_scenario::{DhcpEngine, RelayEngine, Scenario};
use std::collections::{BTreeMap, HashMap};

pub(crate) fn wire(
    world: &mut World,
    sc: &Scenario,
    seg_ids: &HashMap<String, usize>,
    host_by_name: &HashMap<String, usize>,
) {
    let prefix_of = |name: &str| {
        sc.network
            .segments
            .iter()
            .find(|s| s.name == name)
            .and_then(|s| s.cidr6)
            .map(|c| (c.addr, c.prefix))
    };
    for s in &sc.network.segments {
        if let Some(&id) = seg_ids.get(&s.name) {
            world
                .net6
                .set_prefix(id, s.cidr6.map(|c| (c.addr, c.prefix)));
        }
    }
    // Every interface has its link-local address.
    for h in 0..world.hosts.len() {
        for i in 0..world.hosts[h].ifaces.len() {
            let (seg, mac) = (world.hosts[h].ifaces[i].seg, world.hosts[h].ifaces[i].mac);
            world.net6.add(seg, link_local(mac), (h, i));
        }
    }
    for r in &sc.network.routers {
        let Some(&h) = host_by_name.get(&r.name) else {
            continue;
        };
        let mut relay = BTreeMap::new();
        for (sname, addr) in &r.interfaces6 {
            let Some(&seg) = seg_ids.get(sname) else {
                continue;
            };
            // The router's interface on that segment; an IPv6-only segment gets one.
            let i = match world.hosts[h].ifaces.iter().position(|f| f.seg == seg) {
                Some(i) => i,
                None => {
                    let mac = crate::build::infra_mac(h, world.hosts[h].ifaces.len());
                    let i = world.add_iface(h, Iface::new(seg, None, mac));
                    world.net6.add(seg, link_local(mac), (h, i));
                    i
                }
            };
            world.net6.add(seg, *addr, (h, i));
            world.net6.gateways.entry(seg).or_insert((h, i));
            let helpers = r
                .ip_helpers6
                .iter()
                .find(|(s, _)| s == sname)
                .map(|(_, v)| v.clone())
                .unwrap_or_default();
            if !helpers.is_empty() {
                world.net6.listen_dhcp(seg, (h, i));
            }
            let interface_id = r
                .interface_id6
                .iter()
                .find(|(s, _)| s == sname)
                .map(|(_, id)| id.as_bytes().to_vec());
            relay.insert(
                i,
                RelayIface6 {
                    address: *addr,
                    helpers,
                    interface_id,
                    // As the lab's relay does: ISC dhcrelay inserts no option 79.
                    client_link_layer: r.relay != RelayEngine::Dhcrelay,
                },
            );
        }
        if let HostKind::Router(rh) = &mut world.hosts[h].kind {
            rh.relay6 = RelayAgent6::new(relay);
        }
    }
    for d in &sc.network.dhcp_servers {
        let (Some(addr), Some(&h)) = (d.address6, host_by_name.get(&d.name)) else {
            continue;
        };
        let seg = world.hosts[h].ifaces[0].seg;
        world.net6.add(seg, addr, (h, 0));
        world.net6.listen_dhcp(seg, (h, 0));
        let pools = d
            .pools6
            .iter()
            .filter_map(|(s, first, last)| {
                Some(Pool6 {
                    prefix: prefix_of(s)?,
                    first: *first,
                    last: *last,
                })
            })
            .collect();
        if let HostKind::Server(s) = &mut world.hosts[h].kind {
            let server = DhcpServer6::new(&d.name, prefix_of(&d.segment), pools);
            s.dhcp6 = Some(match d.engine {
                DhcpEngine::Kea => server.without_preference(),
                _ => server,
            });
        }
    }
    for r in &sc.network.responders {
        let (Some(addr), Some(&h)) = (r.config.address6, host_by_name.get(&r.config.name)) else {
            continue;
        };
        let seg = world.hosts[h].ifaces[0].seg;
        world.net6.add(seg, addr, (h, 0));
        world.net6.listen_dhcp(seg, (h, 0));
    }
    // The lab's router advertisements carry the managed flag where a DHCPv6 pool
    // covers the segment (harness's `start_router_advertisements`): EDK2's IPv6 stack
    // then asks DHCPv6 for an address of its own (client/stack6.rs).
    for c in &sc.network.clients {
        let managed = sc.network.segments.iter().any(|s| {
            s.name == c.segment
                && s.cidr6.is_some()
                && sc
                    .network
                    .dhcp_servers
                    .iter()
                    .any(|d| d.pools6.iter().any(|(p, ..)| *p == s.name))
        });
        if let Some(&h) = host_by_name.get(&c.name) {
            if let HostKind::Client(cl) = &mut world.hosts[h].kind {
                cl.managed6 = managed;
            }
        }
    }
}
