//! Run one scenario in the simulator and check its expectations.

use crate::client::{Client, Outcome};
use crate::content::SimRoot;
use crate::pcap::{CaptureOptions, SegmentCapture};
use crate::world::{
    EvKind, Host, HostId, HostKind, Iface, LinkModel, ProbeHost, RouterHost, Segment, ServerHost,
    Stats, World,
};
use pxelab_engine::dhcp::firmware;
use pxelab_engine::dhcp::relay::RelayAgent;
use pxelab_engine::dhcp::server::{DhcpServer, Pool};
use pxelab_engine::policy::{ClientClass, ResponderConfig, Site};
use pxelab_engine::responder::Responder;
use pxelab_engine::state::{self, MemoryStore};
use pxelab_engine::tftp::packet as tftp_packet;
use pxelab_engine::{Instant, Mac};
use pxelab_scenario::{ClearTarget, EventKind, Firmware, Scenario};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

/// Virtual time before scenario time 0, in which peers find each other (MODEL.md).
pub const WARMUP: Duration = Duration::from_secs(30);
/// How long after the last scripted event a run may go on (virtual time is cheap: a
/// 2 GiB image over 10 Mbit with window 1 takes hours of it).
const TAIL: Duration = Duration::from_secs(24 * 3600);

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
}

/// What a responder did with one request of a client (its `Silent` and `Answered`
/// effects), for `pxelab explain`.
#[derive(Clone, Debug, PartialEq)]
pub struct Decision {
    /// Seconds since scenario time 0.
    pub at: f64,
    pub responder: String,
    pub client: Mac,
    /// `None`: it answered; else the rule it stayed silent by and why.
    pub silent: crate::world::Held,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct BootRecord {
    pub client: String,
    pub boot: u32,
    pub outcome: Option<String>,
    pub boot_image: Option<String>,
    pub deployment: Option<String>,
    pub served_by: Option<String>,
    pub at_s: f64,
    pub took_s: Option<f64>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ProbeRecord {
    pub index: usize,
    pub responder: String,
    pub file: String,
    /// `error`, `oack`, `data` or null (no answer).
    pub result: Option<String>,
    pub error_code: Option<u16>,
    pub oack: BTreeMap<String, String>,
}

/// A process's peak resident memory and open descriptors over a lab run.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ProcessPeak {
    pub process: String,
    pub peak_rss_kib: u64,
    pub peak_fds: u64,
    /// Samples taken (every 100 ms of the run).
    pub samples: u64,
}

/// One sample of a lab process's memory and descriptors, for a time series (the soak,
/// `pxelab bench soak`): a process's trend, not only its peak.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ProcessSample {
    /// The lab's name for it (`responder-p1`, `swarm-floor`).
    pub process: String,
    /// A host started again (`up`) is a new process with a new PID.
    pub pid: u32,
    /// Seconds since scenario time 0.
    pub t_s: f64,
    /// Resident memory (`VmRSS`) and its anonymous part (`RssAnon`: the heap, without
    /// the mapped program), KiB.
    pub rss_kib: u64,
    pub anon_kib: u64,
    /// Open descriptors.
    pub fds: u64,
}

/// One scenario's result; its JSON is read back by `pxelab merge`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ScenarioResult {
    pub file: String,
    pub scenario: String,
    pub mode: String,
    /// The scenario's tags (for the report's tallies; absent from older results).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    pub passed: bool,
    pub seed: u64,
    pub sim_time_s: f64,
    pub wall_time_s: f64,
    pub boots: Vec<BootRecord>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tftp_requests: Vec<ProbeRecord>,
    pub failures: Vec<String>,
    pub packets: u64,
    pub events: u64,
    /// Lab only: peak memory and descriptors of the lab's long-running processes
    /// (responders, the modelled-client swarm), sampled while the scenario ran.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<ProcessPeak>,
    /// Lab only: the same processes sampled once a second (not in the JSON results: a
    /// long run has thousands; `pxelab bench soak` reports their trends).
    #[serde(skip)]
    pub resource_series: Vec<ProcessSample>,
    #[serde(skip)]
    pub logs: Vec<(f64, String, String)>,
    /// What responders did with clients' requests (sim only).
    #[serde(skip)]
    pub decisions: Vec<Decision>,
    #[serde(skip)]
    pub traces: HashMap<String, Vec<(f64, String)>>,
    #[serde(skip)]
    pub stats: Stats,
    /// Bytes on the wire over virtual time (`pxelab bench storm`).
    #[serde(skip)]
    pub usage: crate::world::Usage,
    /// Boots as message sequences, for `pxelab report` (a few per scenario, see
    /// `ladder::MAX_LADDERS`; absent from older results).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ladders: Vec<crate::ladder::Ladder>,
    /// The segment captures written (`--pcap`), as their paths were given.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pcaps: Vec<String>,
    /// Lab: the wall clock (Unix seconds) at the run's time 0, which turns the segment
    /// captures' timestamps into the run's times (the simulator's captures are on its
    /// own clock already).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_unix_s: Option<f64>,
}

impl ScenarioResult {
    /// A result with nothing in it yet, for a run of `sc` in `mode`.
    pub fn new(sc: &Scenario, mode: &str, seed: u64) -> ScenarioResult {
        ScenarioResult {
            file: sc.file.display().to_string(),
            scenario: sc.title.clone(),
            mode: mode.into(),
            tags: sc.tags.clone(),
            passed: false,
            seed,
            sim_time_s: 0.0,
            wall_time_s: 0.0,
            boots: Vec::new(),
            tftp_requests: Vec::new(),
            failures: Vec::new(),
            packets: 0,
            events: 0,
            resources: Vec::new(),
            resource_series: Vec::new(),
            logs: Vec::new(),
            decisions: Vec::new(),
            traces: HashMap::new(),
            stats: Stats::default(),
            usage: Default::default(),
            ladders: Vec::new(),
            pcaps: Vec::new(),
            started_unix_s: None,
        }
    }
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

fn infra_mac(host: usize, iface: usize) -> Mac {
    Mac([
        0x02,
        0,
        0,
        0,
        (host >> 8) as u8 ^ ((iface as u8) << 4),
        host as u8,
    ])
}

struct Built {
    world: World,
    host_by_name: HashMap<String, HostId>,
    responder_specs: Vec<(HostId, ResponderConfig)>,
    responder_by_ip: HashMap<Ipv4Addr, String>,
    store: Rc<RefCell<MemoryStore>>,
    site: Arc<Site>,
    probe_hosts: HashMap<usize, HostId>,
}

fn new_responder(
    b_site: &Arc<Site>,
    store: &Rc<RefCell<MemoryStore>>,
    cfg: &ResponderConfig,
    now: Instant,
    seed: u64,
    idx: usize,
) -> Responder {
    let root = Arc::new(SimRoot::new(b_site, &cfg.images));
    Responder::new(
        now,
        cfg.clone(),
        b_site.clone(),
        Box::new(store.clone()),
        root,
        seed ^ (idx as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15),
    )
}

/// A segment's IPv4 network. An IPv6-only segment (v1.1) never gets here: the run is
/// refused first (`unsupported.rs`); 0.0.0.0/32 holds no host.
fn ipv4_net(s: &pxelab_scenario::Segment) -> (Ipv4Addr, u8) {
    s.cidr
        .map_or((Ipv4Addr::UNSPECIFIED, 32), |c| (c.addr, c.prefix))
}

fn build(sc: &Scenario, seed: u64, opts: &RunOptions) -> Result<Built, String> {
    let mut world = World::new(ChaCha8Rng::seed_from_u64(seed));
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
                &opts.capture,
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
            HostKind::Router(Box::new(RouterHost { relay })),
            ifaces,
        ));
        host_by_name.insert(r.name.clone(), id);
    }

    // Servers: DHCP servers and responders; one host per (segment, address).
    let mut server_at: HashMap<(String, Ipv4Addr), HostId> = HashMap::new();
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
        let dhcp = DhcpServer::new(d.address, pools, d.option60_pxeclient);
        let id = world.add_host(Host::new(
            &d.name,
            HostKind::Server(Box::new(ServerHost {
                responder: None,
                responder_spec: None,
                dhcp: Some(dhcp),
                down_on_transfer: false,
            })),
            vec![Iface::new(sid, Some(d.address), infra_mac(hid, 0))],
        ));
        host_by_name.insert(d.name.clone(), id);
        server_at.insert((d.segment.clone(), d.address), id);
    }
    for (idx, r) in sc.network.responders.iter().enumerate() {
        let cfg = r.config.clone();
        let responder = new_responder(&site, &store, &cfg, Instant::ZERO, seed, idx);
        responder_by_ip.insert(cfg.address, cfg.name.clone());
        let key = (r.segment.clone(), cfg.address);
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
        let responder = new_responder(&site, &store, &cfg, Instant::ZERO, seed, idx);
        let hid = world.hosts.len();
        let sid = seg(&r.segment)?;
        let id = world.add_host(Host::new(
            &r.name,
            HostKind::Server(Box::new(ServerHost {
                responder: Some(responder),
                responder_spec: Some(responder_specs.len()),
                dhcp: None,
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
        let model = firmware::model(firmware_kind(c.firmware));
        let mut client = Client::new(
            &c.name,
            c.mac,
            c.smbios_guid,
            client_class(c.firmware),
            model,
            c.press_key,
        );
        client.verify = !opts.no_verify;
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
    Ok(Built {
        world,
        host_by_name,
        responder_specs,
        responder_by_ip,
        store,
        site,
        probe_hosts: HashMap::new(),
    })
}

fn secs(d: Duration) -> f64 {
    (d.as_nanos() as f64 / 1e6).round() / 1e3
}

/// Run a scenario in the simulator.
pub fn run_scenario(sc: &Scenario, opts: &RunOptions) -> ScenarioResult {
    let wall = std::time::Instant::now();
    let seed = opts.seed.unwrap_or(sc.seed);
    let mut result = ScenarioResult::new(sc, "sim", seed);
    if let Err(e) = crate::unsupported::playable(sc) {
        result.failures.push(e);
        return result;
    }
    let mut b = match build(sc, seed, opts) {
        Ok(b) => b,
        Err(e) => {
            result
                .failures
                .push(format!("could not build the network: {e}"));
            return result;
        }
    };
    let t0 = Instant::ZERO + WARMUP;
    for (i, ev) in sc.events.iter().enumerate() {
        b.world.schedule(t0 + ev.at, EvKind::Script(i));
    }
    let last = sc.events.iter().map(|e| e.at).max().unwrap_or_default();
    let limit = t0 + last + TAIL;
    let mut scripts_left = sc.events.len();
    let mut busy: usize = 0;
    // Per client: boot records (index into result.boots) in order.
    let mut boots_of: HashMap<HostId, Vec<usize>> = HashMap::new();
    let mut probe_index = 0usize;

    while let Some(ev) = b.world.next_event(limit) {
        match ev {
            EvKind::Script(i) => {
                scripts_left -= 1;
                apply_event(
                    sc,
                    i,
                    &mut b,
                    &mut result,
                    &mut boots_of,
                    &mut busy,
                    &mut probe_index,
                    t0,
                );
            }
            EvKind::Wake { host } => {
                if !b.world.take_wake(host) {
                    continue;
                }
                match &b.world.hosts[host].kind {
                    HostKind::Client(_) => {
                        b.world
                            .with_client(host, |c, now, out| c.handle_timeout(now, out));
                        note_finish(&mut b, host, &mut result, &boots_of, &mut busy);
                    }
                    HostKind::Server(_) => b
                        .world
                        .with_responder(host, |r, now, out| r.handle_timeout(now, out)),
                    _ => {}
                }
            }
            EvKind::Deliver {
                host,
                iface,
                src,
                dst,
                payload,
            } => {
                deliver(&mut b, host, iface, src, dst, payload);
                if matches!(b.world.hosts[host].kind, HostKind::Client(_)) {
                    note_finish(&mut b, host, &mut result, &boots_of, &mut busy);
                }
            }
        }
        if scripts_left == 0 && busy == 0 && quiet(&b) {
            break;
        }
    }
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

/// Nothing left in flight: every probe answered (or given 10 s) and no responder
/// still has a TFTP transfer running (so that failures at the server are seen).
fn quiet(b: &Built) -> bool {
    let now = b.world.now;
    !b.world.hosts.iter().any(|h| match &h.kind {
        HostKind::Probe(p) => p
            .pending
            .iter()
            .any(|(_, _, sent)| now < *sent + Duration::from_secs(10)),
        HostKind::Server(s) => s
            .responder
            .as_ref()
            .is_some_and(|r| r.active_transfers() > 0),
        _ => false,
    })
}

fn note_finish(
    b: &mut Built,
    host: HostId,
    result: &mut ScenarioResult,
    boots_of: &HashMap<HostId, Vec<usize>>,
    busy: &mut usize,
) {
    let HostKind::Client(c) = &mut b.world.hosts[host].kind else {
        return;
    };
    let Some(r) = c.result.take() else {
        return;
    };
    let Some(&idx) = boots_of.get(&host).and_then(|v| v.last()) else {
        return;
    };
    let rec = &mut result.boots[idx];
    if rec.outcome.is_some() {
        return;
    }
    rec.outcome = Some(r.outcome.as_str().to_string());
    rec.boot_image = r.boot_image;
    rec.deployment = r.deployment;
    rec.served_by = match r.outcome {
        Outcome::NoOffer => None,
        _ => r.served_by.map(|ip| {
            b.responder_by_ip
                .get(&ip)
                .cloned()
                .unwrap_or_else(|| ip.to_string())
        }),
    };
    rec.took_s = Some(secs(r.finished.saturating_since(r.at)));
    *busy = busy.saturating_sub(1);
}

#[allow(clippy::too_many_arguments)]
fn apply_event(
    sc: &Scenario,
    i: usize,
    b: &mut Built,
    result: &mut ScenarioResult,
    boots_of: &mut HashMap<HostId, Vec<usize>>,
    busy: &mut usize,
    probe_index: &mut usize,
    t0: Instant,
) {
    let now = b.world.now;
    match &sc.events[i].kind {
        EventKind::Boot { client, .. } => {
            let Some(&host) = b.host_by_name.get(client) else {
                return;
            };
            if let HostKind::Client(c) = &b.world.hosts[host].kind {
                if c.is_busy() {
                    // A reboot interrupts the boot in progress.
                    *busy = busy.saturating_sub(1);
                }
            }
            b.world.hosts[host].up = true;
            let n = boots_of.get(&host).map(|v| v.len()).unwrap_or(0) as u32 + 1;
            result.boots.push(BootRecord {
                client: client.clone(),
                boot: n,
                outcome: None,
                boot_image: None,
                deployment: None,
                served_by: None,
                at_s: secs(now.saturating_since(t0)),
                took_s: None,
            });
            boots_of
                .entry(host)
                .or_default()
                .push(result.boots.len() - 1);
            *busy += 1;
            b.world.with_client(host, |c, now, out| c.boot(now, out));
            note_finish(b, host, result, boots_of, busy);
        }
        EventKind::Down {
            host,
            during_transfer,
        } => {
            let Some(&h) = b.host_by_name.get(host) else {
                return;
            };
            let transferring = match &b.world.hosts[h].kind {
                HostKind::Server(s) => s
                    .responder
                    .as_ref()
                    .is_some_and(|r| r.active_transfers() > 0),
                _ => false,
            };
            if *during_transfer && !transferring {
                if let HostKind::Server(s) = &mut b.world.hosts[h].kind {
                    s.down_on_transfer = true;
                }
            } else {
                if let HostKind::Client(c) = &b.world.hosts[h].kind {
                    if c.is_busy() {
                        *busy = busy.saturating_sub(1);
                    }
                }
                b.world.take_down(h);
            }
        }
        EventKind::Up { host } => {
            let Some(&h) = b.host_by_name.get(host) else {
                return;
            };
            if b.world.hosts[h].up {
                return;
            }
            b.world.hosts[h].up = true;
            let spec = match &b.world.hosts[h].kind {
                HostKind::Server(s) => s.responder_spec,
                _ => None,
            };
            if let Some(idx) = spec {
                let cfg = b.responder_specs[idx].1.clone();
                let r = new_responder(
                    &b.site,
                    &b.store,
                    &cfg,
                    now,
                    result.seed ^ now.as_nanos(),
                    idx,
                );
                if let HostKind::Server(s) = &mut b.world.hosts[h].kind {
                    s.responder = Some(r);
                }
                b.world.rearm(h);
            }
        }
        EventKind::ClearRequired(target) => {
            let mut store = b.store.clone();
            let n = match target {
                ClearTarget::Machine(m) => {
                    state::StateStore::clear_device(&mut store, &state::DeviceKey::machine(m))
                }
                ClearTarget::Collection(c) => state::clear_collection(&mut store, &b.site, c),
            };
            b.world.logs.push((
                now,
                "site".into(),
                format!("cleared {n} required PXE deployment record(s)"),
            ));
        }
        EventKind::Link {
            segment,
            rate_bps,
            delay,
            loss,
        } => {
            if let Some(s) = b.world.segments.iter_mut().find(|s| &s.name == segment) {
                if let Some(r) = rate_bps {
                    s.link.rate_bps = *r;
                }
                if let Some(d) = delay {
                    s.link.delay = *d;
                }
                if let Some(l) = loss {
                    s.link.loss = *l;
                }
            }
        }
        EventKind::ReloadExclusions {
            responder,
            file,
            macs,
        } => {
            let Some(&(rhost, _)) = b.responder_specs.iter().find(|(_, c)| &c.name == responder)
            else {
                return;
            };
            let line = match macs {
                Ok(list) => {
                    let n = list.len();
                    if let HostKind::Server(s) = &mut b.world.hosts[rhost].kind {
                        if let Some(r) = s.responder.as_mut() {
                            r.set_exclusions(list.clone());
                        }
                    }
                    // The list also survives a restart of the responder.
                    if let Some(spec) = b
                        .responder_specs
                        .iter_mut()
                        .find(|(_, c)| &c.name == responder)
                    {
                        spec.1.mac_exclusions = list.clone();
                    }
                    format!(
                        "reloaded MAC exclusion list {} ({n} entries)",
                        file.display()
                    )
                }
                Err(e) => format!("MAC exclusion list not reloaded, keeping the previous one: {e}"),
            };
            b.world.logs.push((now, responder.clone(), line));
        }
        EventKind::TftpRequest(req) => {
            *probe_index += 1;
            let index = *probe_index;
            let Some((rhost, cfg)) = b
                .responder_specs
                .iter()
                .find(|(_, c)| c.name == req.responder)
                .map(|(h, c)| (*h, c.clone()))
            else {
                return;
            };
            let seg_id = b.world.hosts[rhost].ifaces[0].seg;
            let probe = *b.probe_hosts.entry(usize::MAX - seg_id).or_insert_with(|| {
                let s = &b.world.segments[seg_id];
                let bcast = u32::from(s.net) | (u32::MAX >> s.prefix);
                let ip = Ipv4Addr::from(bcast - 1);
                let hid = b.world.hosts.len();
                b.world.add_host(Host::new(
                    "probe",
                    HostKind::Probe(Box::<ProbeHost>::default()),
                    vec![Iface::new(seg_id, Some(ip), infra_mac(hid, 0))],
                ))
            });
            b.probe_hosts.insert(index, probe);
            let port = 30000 + index as u16;
            let mut payload = Vec::new();
            let opts: Vec<(String, String)> = req.options.clone();
            let opt_refs: Vec<(&str, &str)> =
                opts.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            if req.write {
                tftp_packet::encode_wrq(&mut payload, req.file.as_bytes(), "octet", &opt_refs);
            } else {
                tftp_packet::encode_rrq(&mut payload, req.file.as_bytes(), "octet", &opt_refs);
            }
            if let HostKind::Probe(p) = &mut b.world.hosts[probe].kind {
                p.pending.push((port, index, now));
            }
            let ip = b.world.hosts[probe].ifaces[0]
                .ip
                .unwrap_or(Ipv4Addr::UNSPECIFIED);
            result.tftp_requests.push(ProbeRecord {
                index,
                responder: req.responder.clone(),
                file: req.file.clone(),
                result: None,
                error_code: None,
                oack: BTreeMap::new(),
            });
            b.world.send(
                probe,
                0,
                SocketAddrV4::new(ip, port),
                SocketAddrV4::new(cfg.address, 69),
                payload,
            );
        }
    }
}

fn deliver(
    b: &mut Built,
    host: HostId,
    iface: usize,
    src: SocketAddrV4,
    dst: SocketAddrV4,
    payload: Vec<u8>,
) {
    let w = &mut b.world;
    if !w.hosts[host].up {
        return;
    }
    let my_ip = w.hosts[host].ifaces[iface].ip;
    let to_me = *dst.ip() == Ipv4Addr::BROADCAST || Some(*dst.ip()) == my_ip;
    enum Tag {
        Client,
        Server,
        Router,
        Probe,
    }
    let tag = match &w.hosts[host].kind {
        HostKind::Client(_) => Tag::Client,
        HostKind::Server(_) => Tag::Server,
        HostKind::Router(_) => Tag::Router,
        HostKind::Probe(_) => Tag::Probe,
    };
    match tag {
        Tag::Client => {
            // Port 68 replies reach a client by its MAC before it holds an address.
            if to_me || dst.port() == 68 {
                w.with_client(host, |c, now, out| {
                    c.handle_datagram(now, src, dst, &payload, out)
                });
            }
            // A DATA block's buffer goes back to the responders for their next one.
            w.recycle(payload);
        }
        Tag::Server => {
            if !to_me {
                return;
            }
            if dst.port() == 67 {
                let now = w.now;
                let seg = w.hosts[host].ifaces[iface].seg;
                let local = (w.segments[seg].net, w.segments[seg].prefix);
                let replies = match &mut w.hosts[host].kind {
                    HostKind::Server(s) => {
                        s.dhcp.as_mut().map(|d| d.handle(now, src, &payload, local))
                    }
                    _ => None,
                };
                let me = my_ip.unwrap_or(Ipv4Addr::UNSPECIFIED);
                for r in replies.into_iter().flatten() {
                    w.send(host, iface, SocketAddrV4::new(me, 67), r.dst, r.payload);
                }
            }
            w.with_responder(host, |r, now, out| {
                r.handle_datagram(now, src, dst, &payload, out)
            });
        }
        Tag::Router => {
            let own = w.hosts[host].ifaces.iter().any(|i| i.ip == Some(*dst.ip()));
            let HostKind::Router(r) = &mut w.hosts[host].kind else {
                return;
            };
            if dst.port() == 67 && *dst.ip() == Ipv4Addr::BROADCAST {
                // IP helper: relay the client's broadcast to each helper.
                let sends = r.relay.from_client(iface, &payload);
                for (to, src_ip, payload) in sends {
                    if let Some(out_if) = w.router_iface_for(host, *to.ip()) {
                        w.send(host, out_if, SocketAddrV4::new(src_ip, 67), to, payload);
                    }
                }
            } else if own && dst.port() == 67 {
                if let Some((out_if, to, payload)) = r.relay.from_server(&payload) {
                    let src_ip = w.hosts[host].ifaces[out_if]
                        .ip
                        .unwrap_or(Ipv4Addr::UNSPECIFIED);
                    w.send(host, out_if, SocketAddrV4::new(src_ip, 67), to, payload);
                }
            } else if !own && *dst.ip() != Ipv4Addr::BROADCAST {
                if let Some(out_if) = w.router_iface_for(host, *dst.ip()) {
                    if out_if != iface {
                        w.send(host, out_if, src, dst, payload);
                    }
                }
            }
        }
        Tag::Probe => {
            if let HostKind::Probe(p) = &mut w.hosts[host].kind {
                if let Some(pos) = p
                    .pending
                    .iter()
                    .position(|(port, _, _)| *port == dst.port())
                {
                    let (_, idx, _) = p.pending.remove(pos);
                    p.answers.insert(idx, payload);
                }
            }
        }
    }
}
