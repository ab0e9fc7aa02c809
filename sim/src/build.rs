//! A scenario's world built for the simulator: its segments (with captures), routers
//! with their relay agents, DHCP servers, responders running the engine (a host shared
//! with a DHCP server at the same address), rogues, and clients with firmware models.

use crate::client::Client;
use crate::content::SimRoot;
use crate::lab_overlay::ProgramSizes;
use crate::pcap::{CaptureOptions, SegmentCapture};
use crate::world::{
    Host, HostId, HostKind, Iface, LinkModel, RouterHost, Segment, ServerHost, World,
};
use pxelab_engine::dhcp::firmware;
use pxelab_engine::dhcp::relay::RelayAgent;
use pxelab_engine::dhcp::server::{DhcpServer, Pool};
use pxelab_engine::policy::{ClientClass, ResponderConfig, Site};
use pxelab_engine::responder::Responder;
use pxelab_engine::state::MemoryStore;
use pxelab_engine::{Instant, Mac};
use pxelab_scenario::{Firmware, Scenario};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::Arc;

/// How a scenario is run in the simulator and what it records.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// Overrides the scenario's seed.
    pub seed: Option<u64>,
    /// Write one pcap per segment into this directory.
    pub pcap_dir: Option<PathBuf>,
    /// The captures' snap length and the run's budget (shared by its scenarios).
    pub capture: CaptureOptions,
    /// Record client timelines (for `explain`).
    pub trace: bool,
    /// Compute CRCs of downloads (default on).
    pub no_verify: bool,
    /// `pxelab run --lab --compare`: the lab test bed's boot program sizes and server
    /// turnaround, measured from the lab run (`crate::lab_overlay`); `None` otherwise.
    pub lab_overlay: Option<crate::lab_overlay::LabOverlay>,
}

pub fn client_class(f: Firmware) -> ClientClass {
    match f {
        Firmware::BiosX64 => ClientClass::BiosX64,
        Firmware::BiosX86 => ClientClass::BiosX86,
        Firmware::UefiX64 => ClientClass::UefiX64,
        Firmware::UefiIa32 => ClientClass::UefiIa32,
        Firmware::UefiArm64 => ClientClass::UefiArm64,
    }
}

pub fn firmware_kind(f: Firmware) -> firmware::FirmwareKind {
    match f {
        Firmware::BiosX64 => firmware::FirmwareKind::BiosX64,
        Firmware::BiosX86 => firmware::FirmwareKind::BiosX86,
        Firmware::UefiX64 => firmware::FirmwareKind::UefiX64,
        Firmware::UefiIa32 => firmware::FirmwareKind::UefiIa32,
        Firmware::UefiArm64 => firmware::FirmwareKind::UefiArm64,
    }
}

pub(crate) fn infra_mac(host: usize, iface: usize) -> Mac {
    Mac([
        0x02,
        0,
        0,
        0,
        (host >> 8) as u8 ^ ((iface as u8) << 4),
        host as u8,
    ])
}

pub(crate) struct Built {
    pub(crate) world: World,
    pub(crate) host_by_name: HashMap<String, HostId>,
    pub(crate) responder_specs: Vec<(HostId, ResponderConfig)>,
    pub(crate) responder_by_ip: HashMap<Ipv4Addr, String>,
    pub(crate) store: Rc<RefCell<MemoryStore>>,
    pub(crate) site: Arc<Site>,
    pub(crate) probe_hosts: HashMap<usize, HostId>,
    /// The lab overlay's boot program sizes (empty: the built-in ones), for responders
    /// built again on `up`.
    pub(crate) program_sizes: Arc<ProgramSizes>,
}

pub(crate) fn new_responder(
    b_site: &Arc<Site>,
    store: &Rc<RefCell<MemoryStore>>,
    cfg: &ResponderConfig,
    program_sizes: &ProgramSizes,
    now: Instant,
    seed: u64,
    idx: usize,
) -> Responder {
    let root = Arc::new(SimRoot::with_program_sizes(
        b_site,
        &cfg.images,
        program_sizes,
    ));
    Responder::new(
        now,
        cfg.clone(),
        b_site.clone(),
        Box::new(store.clone()),
        root,
        seed ^ (idx as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15),
    )
}

/// A segment's IPv4 network; an IPv6-only segment (v1.1) has none: 0.0.0.0/32 holds no
/// IPv4 host.
fn ipv4_net(s: &pxelab_scenario::Segment) -> (Ipv4Addr, u8) {
    s.cidr
        .map_or((Ipv4Addr::UNSPECIFIED, 32), |c| (c.addr, c.prefix))
}

/// The IPv6 part of a server host's key: only on an IPv6-only segment (no `address`).
fn v6_key(address: Ipv4Addr, address6: Option<std::net::Ipv6Addr>) -> Option<std::net::Ipv6Addr> {
    address6.filter(|_| address.is_unspecified())
}

pub(crate) fn build(sc: &Scenario, seed: u64, opts: &RunOptions) -> Result<Built, String> {
    let mut world = World::new(ChaCha8Rng::seed_from_u64(seed));
    let overlay = opts.lab_overlay.clone().unwrap_or_default();
    world.server_turnaround = overlay.server_turnaround;
    let programs = Arc::new(overlay.program_sizes);
    let site = Arc::new(sc.site.clone());
    let store = Rc::new(RefCell::new(MemoryStore::new()));
    let mut seg_ids = HashMap::new();
    if let Some(dir) = &opts.pcap_dir {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    for s in &sc.network.segments {
        // Once the run's budget is reached, no further captures (the budget's message
        // says so).
        let capture = match &opts.pcap_dir {
            Some(dir) if opts.capture.open() => Some(SegmentCapture::create(
                &dir.join(format!("{}.pcap", s.name)),
                &crate::pcap::for_scenario(&opts.capture, sc),
            )?),
            _ => None,
        };
        let (net, prefix) = ipv4_net(s);
        let id = world.add_segment(Segment {
            name: s.name.clone(),
            net,
            prefix,
            link: LinkModel {
                rate_bps: s.link.rate_bps,
                delay: s.link.delay,
                loss: s.link.loss,
            },
            ports: Vec::new(),
            capture,
            gateway: None,
        });
        seg_ids.insert(s.name.clone(), id);
    }
    let seg = |name: &str| -> Result<usize, String> {
        seg_ids
            .get(name)
            .copied()
            .ok_or_else(|| format!("no segment {name}"))
    };
    let mut host_by_name = HashMap::new();

    // Routers first, so that they are each segment's gateway.
    for r in &sc.network.routers {
        let hid = world.hosts.len();
        let mut ifaces = Vec::new();
        let mut relay_ifaces = Vec::new();
        let mut helpers = BTreeMap::new();
        let mut opt82 = BTreeMap::new();
        for (i, (sname, ip)) in r.interfaces.iter().enumerate() {
            let sid = seg(sname)?;
            ifaces.push(Iface::new(sid, Some(*ip), infra_mac(hid, i)));
            relay_ifaces.push((i, *ip, world.segments[sid].prefix));
            if let Some((_, h)) = r.ip_helpers.iter().find(|(s, _)| s == sname) {
                helpers.insert(i, h.clone());
            }
            if let Some((_, o)) = r.option82.iter().find(|(s, _)| s == sname) {
                opt82.insert(
                    i,
                    (
                        o.circuit_id.as_ref().map(|c| c.as_bytes().to_vec()),
                        o.remote_id.as_ref().map(|c| c.as_bytes().to_vec()),
                    ),
                );
            }
        }
        let relay = RelayAgent::new(relay_ifaces, helpers, opt82);
        let id = world.add_host(Host::new(
            &r.name,
            HostKind::Router(Box::new(RouterHost {
                relay,
                relay6: Default::default(),
            })),
            ifaces,
        ));
        host_by_name.insert(r.name.clone(), id);
    }

    // Servers: DHCP servers and responders; one host per (segment, address).
    // On an IPv6-only segment (address 0.0.0.0) hosts are told apart by `address6`.
    let mut server_at: HashMap<(String, Ipv4Addr, Option<std::net::Ipv6Addr>), HostId> =
        HashMap::new();
    let mut responder_specs = Vec::new();
    let mut responder_by_ip = HashMap::new();
    for d in &sc.network.dhcp_servers {
        let hid = world.hosts.len();
        let sid = seg(&d.segment)?;
        let mut pools = Vec::new();
        for (sname, start, end) in &d.pools {
            let s = sc
                .network
                .segments
                .iter()
                .find(|x| &x.name == sname)
                .ok_or_else(|| format!("no segment {sname}"))?;
            let router = sc
                .network
                .routers
                .iter()
                .flat_map(|r| r.interfaces.iter())
                .find(|(n, _)| n == sname)
                .map(|(_, ip)| *ip);
            pools.push(Pool {
                subnet: ipv4_net(s),
                router,
                start: *start,
                end: *end,
            });
        }
        let dhcp = DhcpServer::new(d.address, pools, d.option60_pxeclient)
            .with_boot_file(d.boot_file.tftp_server, d.boot_file.file.clone());
        let id = world.add_host(Host::new(
            &d.name,
            HostKind::Server(Box::new(ServerHost {
                responder: None,
                responder_spec: None,
                dhcp: Some(dhcp),
                dhcp6: None,
                down_on_transfer: false,
            })),
            vec![Iface::new(sid, Some(d.address), infra_mac(hid, 0))],
        ));
        host_by_name.insert(d.name.clone(), id);
        server_at.insert(
            (d.segment.clone(), d.address, v6_key(d.address, d.address6)),
            id,
        );
    }
    for (idx, r) in sc.network.responders.iter().enumerate() {
        let cfg = r.config.clone();
        let responder = new_responder(&site, &store, &cfg, &programs, Instant::ZERO, seed, idx);
        responder_by_ip.insert(cfg.address, cfg.name.clone());
        let key = (
            r.segment.clone(),
            cfg.address,
            v6_key(cfg.address, cfg.address6),
        );
        let id = if let Some(&hid) = server_at.get(&key) {
            if let HostKind::Server(s) = &mut world.hosts[hid].kind {
                s.responder = Some(responder);
                s.responder_spec = Some(responder_specs.len());
            }
            hid
        } else {
            let hid = world.hosts.len();
            let sid = seg(&r.segment)?;
            let id = world.add_host(Host::new(
                &cfg.name,
                HostKind::Server(Box::new(ServerHost {
                    responder: Some(responder),
                    responder_spec: Some(responder_specs.len()),
                    dhcp: None,
                    dhcp6: None,
                    down_on_transfer: false,
                })),
                vec![Iface::new(sid, Some(cfg.address), infra_mac(hid, 0))],
            ));
            server_at.insert(key, id);
            id
        };
        host_by_name.insert(cfg.name.clone(), id);
        responder_specs.push((id, cfg));
        world.rearm(id);
    }
    // Rogues (extension): a peer that never answers, with its own key or none.
    for (i, r) in sc.network.rogues.iter().enumerate() {
        let cfg = r.responder_config();
        let idx = sc.network.responders.len() + i;
        let responder = new_responder(&site, &store, &cfg, &programs, Instant::ZERO, seed, idx);
        let hid = world.hosts.len();
        let sid = seg(&r.segment)?;
        let id = world.add_host(Host::new(
            &r.name,
            HostKind::Server(Box::new(ServerHost {
                responder: Some(responder),
                responder_spec: Some(responder_specs.len()),
                dhcp: None,
                dhcp6: None,
                down_on_transfer: false,
            })),
            vec![Iface::new(sid, Some(r.address), infra_mac(hid, 0))],
        ));
        host_by_name.insert(r.name.clone(), id);
        responder_specs.push((id, cfg));
        world.rearm(id);
    }
    for c in &sc.network.clients {
        let sid = seg(&c.segment)?;
        // The scenario's firmware profile, else the family's built-in one.
        let profile = c
            .profile
            .unwrap_or_else(|| firmware::profile::builtin(firmware_kind(c.firmware)));
        let model = &profile.pxe4;
        let mut client = Client::new(
            &c.name,
            c.mac,
            c.smbios_guid,
            client_class(c.firmware),
            model,
            c.press_key,
        );
        client.profile = profile;
        client.model6 = &profile.pxe6;
        client.verify = !opts.no_verify;
        // The firmware's random draws: the scenario's seed with the MAC, so each
        // client's are its own and a run is repeated exactly.
        client.draws = ChaCha8Rng::seed_from_u64(
            seed ^ u64::from_be_bytes([
                0, 0, c.mac.0[0], c.mac.0[1], c.mac.0[2], c.mac.0[3], c.mac.0[4], c.mac.0[5],
            ]),
        );
        client.netboot = c.netboot;
        // The lab advertises a router on every segment with an IPv6 prefix (docs/LAB.md).
        client.router_adverts = sc
            .network
            .segments
            .iter()
            .any(|s| s.name == c.segment && s.cidr6.is_some());
        if opts.trace {
            client.trace = Some(Vec::new());
        }
        let id = world.add_host(Host::new(
            &c.name,
            HostKind::Client(Box::new(client)),
            vec![Iface::new(sid, None, c.mac)],
        ));
        host_by_name.insert(c.name.clone(), id);
    }
    crate::build6::wire(&mut world, sc, &seg_ids, &host_by_name);
    Ok(Built {
        world,
        host_by_name,
        responder_specs,
        responder_by_ip,
        store,
        site,
        probe_hosts: HashMap::new(),
        program_sizes: programs,
    })
}
