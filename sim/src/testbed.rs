//! The simulator as a [`Testbed`]: the world in virtual time, stepped event by event up
//! to each event of the timeline, and each event applied to the world (hosts taken down
//! and started again, links changed, the site's store cleared, probes sent).

use crate::build::{infra_mac, new_responder, Built};
use crate::client::Outcome;
use crate::result::{secs, BootRecord, ProbeRecord, ScenarioResult};
use crate::timeline::{LinkChange, Testbed};
use crate::world::{EvKind, Host, HostId, HostKind, Iface, LineId, ProbeHost};
use pxelab_engine::state;
use pxelab_engine::tftp::packet as tftp_packet;
use pxelab_engine::tftp::server::FileData;
use pxelab_engine::{Instant, Mac};
use pxelab_scenario::{ClearTarget, Event, EventKind, Netboot, TftpRequest};
use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr, SocketAddrV4};
use std::path::Path;
use std::time::Duration;

/// How long after the last scripted event a run may go on (virtual time is cheap: a
/// 2 GiB image over 10 Mbit with window 1 takes hours of it).
const TAIL: Duration = Duration::from_secs(24 * 3600);

/// A built world and what its run has produced so far.
pub(crate) struct SimBed {
    pub(crate) b: Built,
    pub(crate) result: ScenarioResult,
    /// Scenario time 0 (after the warm-up).
    pub(crate) t0: Instant,
    /// Per client: boot records (index into `result.boots`) in order.
    pub(crate) boots_of: HashMap<HostId, Vec<usize>>,
    /// No event is taken past this (the last event plus [`TAIL`]).
    limit: Instant,
    /// Events of the timeline not reached yet.
    scripts_left: usize,
    /// Whether the timeline has events (an empty one stops only after a first step).
    scripted: bool,
    /// Boots in progress.
    busy: usize,
    /// `tftp_request` events sent so far.
    probe_index: usize,
}

impl SimBed {
    /// Each event of the timeline is put in the world's queue now, at its time, so
    /// that it comes before anything else the run schedules for the same instant.
    pub(crate) fn new(
        mut b: Built,
        result: ScenarioResult,
        events: &[Event],
        t0: Instant,
    ) -> SimBed {
        for (i, ev) in events.iter().enumerate() {
            b.world.schedule(t0 + ev.at, EvKind::Script(i));
        }
        let last = events.iter().map(|e| e.at).max().unwrap_or_default();
        SimBed {
            b,
            result,
            t0,
            boots_of: HashMap::new(),
            limit: t0 + last + TAIL,
            scripts_left: events.len(),
            scripted: !events.is_empty(),
            busy: 0,
            probe_index: 0,
        }
    }

    /// One step of the world: a timer or a delivery (events of the timeline are
    /// [`Testbed::wait_until`]'s). False for a timer that no longer stands (the host
    /// rearmed it or went down): nothing happened, so the run is not judged over then.
    fn step(&mut self, ev: EvKind) -> bool {
        match ev {
            EvKind::Script(_) => {}
            EvKind::Wake { host } => {
                if !self.b.world.take_wake(host) {
                    return false;
                }
                match &self.b.world.hosts[host].kind {
                    HostKind::Client(_) => {
                        self.b
                            .world
                            .with_client(host, |c, now, out| c.handle_timeout(now, out));
                        self.note_finish(host);
                    }
                    HostKind::Server(_) => {
                        self.b
                            .world
                            .with_responder(host, |r, now, out| r.handle_timeout(now, out));
                        crate::http_host::on_wake(&mut self.b.world, host);
                    }
                    _ => {}
                }
            }
            EvKind::DeliverTcp { host, iface, seg } => {
                crate::http_host::deliver(&mut self.b.world, host, iface, *seg);
                if matches!(self.b.world.hosts[host].kind, HostKind::Client(_)) {
                    self.note_finish(host);
                }
            }
            EvKind::Deliver {
                line,
                src,
                dst,
                payload,
                data,
            } => {
                let (host, iface) = self.b.world.port_of_line(line);
                if !self.b.world.hosts[host].up {
                    let w = &mut self.b.world;
                    if let Some(c) = crate::unreachable::port_unreachable(w, host, iface, src, dst)
                    {
                        self.note_finish(c);
                    }
                }
                deliver(&mut self.b, line, src, dst, (payload, data));
                if matches!(self.b.world.hosts[host].kind, HostKind::Client(_)) {
                    self.note_finish(host);
                }
            }
            EvKind::Deliver6 {
                host,
                iface,
                addrs,
                link_src,
                payload,
            } => {
                let (src, dst) = *addrs;
                let refused = crate::deliver6::deliver6(
                    &mut self.b,
                    host,
                    iface,
                    src,
                    dst,
                    link_src,
                    payload,
                );
                if let Some(c) = refused {
                    self.note_finish(c);
                }
                if matches!(self.b.world.hosts[host].kind, HostKind::Client(_)) {
                    self.note_finish(host);
                }
            }
        }
        true
    }

    /// The run is over: the timeline played, no boot in progress, nothing in flight.
    fn done(&self) -> bool {
        self.scripts_left == 0 && self.busy == 0 && quiet(&self.b)
    }

    /// A client's boot in progress, if any, stops counting as one (rebooted or down).
    fn interrupt_boot(&mut self, host: HostId) {
        if let HostKind::Client(c) = &self.b.world.hosts[host].kind {
            if c.is_busy() {
                self.busy = self.busy.saturating_sub(1);
            }
        }
    }

    /// Records a client's outcome once its boot has one.
    fn note_finish(&mut self, host: HostId) {
        let b = &mut self.b;
        let HostKind::Client(c) = &mut b.world.hosts[host].kind else {
            return;
        };
        let Some(r) = c.result.take() else {
            return;
        };
        let Some(&idx) = self.boots_of.get(&host).and_then(|v| v.last()) else {
            return;
        };
        let rec = &mut self.result.boots[idx];
        if rec.outcome.is_some() {
            return;
        }
        rec.outcome = Some(r.outcome.as_str().to_string());
        rec.boot_image = r.boot_image;
        rec.deployment = r.deployment;
        rec.served_by = match r.outcome {
            Outcome::NoOffer => None,
            _ => r.served_by.map(|ip| {
                match ip {
                    IpAddr::V4(a) => b.responder_by_ip.get(&a).cloned(),
                    // A pxe6 or http6 boot: the responder with that address6.
                    IpAddr::V6(a) => b
                        .responder_specs
                        .iter()
                        .find(|(_, c)| c.address6 == Some(a))
                        .map(|(_, c)| c.name.clone()),
                }
                .unwrap_or_else(|| ip.to_string())
            }),
        };
        rec.took_s = Some(secs(r.finished.saturating_since(r.at)));
        self.busy = self.busy.saturating_sub(1);
    }
}

impl Testbed for SimBed {
    /// The simulator plays every event.
    type Error = Infallible;

    fn name(&self) -> &str {
        "the simulator"
    }

    fn cannot_play(&self, event: &EventKind) -> Option<String> {
        // Every kind, named: a kind added to the format is decided here. A boot's
        // `netboot` the simulator's firmware models cannot do yet belongs here too.
        match event {
            EventKind::Boot { .. }
            | EventKind::Down { .. }
            | EventKind::Up { .. }
            | EventKind::ClearRequired(_)
            | EventKind::Link { .. }
            | EventKind::TftpRequest(_)
            | EventKind::ReloadExclusions { .. } => None,
        }
    }

    /// Steps the world until the event's own entry in the queue comes up.
    fn wait_until(&mut self, index: usize, _at: Duration) -> Result<(), Infallible> {
        while let Some(ev) = self.b.world.next_event(self.limit) {
            if let EvKind::Script(i) = ev {
                debug_assert_eq!(i, index, "the timeline's events come in order");
                self.scripts_left -= 1;
                return Ok(());
            }
            self.step(ev);
        }
        Ok(())
    }

    fn boot(&mut self, client: &str) -> Result<(), Infallible> {
        self.boot_with(client, None)
    }

    /// A boot by the client's `netboot`, or by the event's for this boot only.
    fn boot_with(&mut self, client: &str, netboot: Option<Netboot>) -> Result<(), Infallible> {
        let Some(&host) = self.b.host_by_name.get(client) else {
            return Ok(());
        };
        // A reboot interrupts the boot in progress.
        self.interrupt_boot(host);
        self.b.world.hosts[host].up = true;
        let n = self.boots_of.get(&host).map(|v| v.len()).unwrap_or(0) as u32 + 1;
        let now = self.b.world.now;
        self.result.boots.push(BootRecord {
            client: client.to_string(),
            boot: n,
            outcome: None,
            boot_image: None,
            deployment: None,
            served_by: None,
            at_s: secs(now.saturating_since(self.t0)),
            took_s: None,
            netboot: None,
        });
        self.boots_of
            .entry(host)
            .or_default()
            .push(self.result.boots.len() - 1);
        self.busy += 1;
        self.b.world.with_client(host, |c, now, out| {
            let default = c.netboot;
            c.netboot = netboot.unwrap_or(default);
            c.boot(now, out);
            c.netboot = default;
        });
        if let (Some(rec), HostKind::Client(c)) =
            (self.result.boots.last_mut(), &self.b.world.hosts[host].kind)
        {
            // Only boots other than PXE over IPv4 say so: v1 results stay as they were.
            let nb = netboot.unwrap_or(c.netboot);
            rec.netboot = (nb != Netboot::Pxe4).then(|| nb.to_string());
        }
        self.note_finish(host);
        Ok(())
    }

    fn down(&mut self, host: &str) -> Result<(), Infallible> {
        let Some(&h) = self.b.host_by_name.get(host) else {
            return Ok(());
        };
        self.interrupt_boot(h);
        self.b.world.take_down(h);
        Ok(())
    }

    /// Armed for the host's next TFTP DATA packet; a host already sending one goes
    /// down now.
    fn down_during_transfer(&mut self, host: &str) -> Result<(), Infallible> {
        let Some(&h) = self.b.host_by_name.get(host) else {
            return Ok(());
        };
        let transferring = match &self.b.world.hosts[h].kind {
            HostKind::Server(s) => s
                .responder
                .as_ref()
                .is_some_and(|r| r.active_transfers() > 0),
            _ => false,
        };
        if transferring {
            return self.down(host);
        }
        if let HostKind::Server(s) = &mut self.b.world.hosts[h].kind {
            s.down_on_transfer = true;
        }
        Ok(())
    }

    fn up(&mut self, host: &str) -> Result<(), Infallible> {
        let b = &mut self.b;
        let Some(&h) = b.host_by_name.get(host) else {
            return Ok(());
        };
        if b.world.hosts[h].up {
            return Ok(());
        }
        b.world.hosts[h].up = true;
        let spec = match &b.world.hosts[h].kind {
            HostKind::Server(s) => s.responder_spec,
            _ => None,
        };
        if let Some(idx) = spec {
            let now = b.world.now;
            let cfg = b.responder_specs[idx].1.clone();
            let r = new_responder(
                &b.site,
                &b.store,
                &cfg,
                &b.program_sizes,
                now,
                self.result.seed ^ now.as_nanos(),
                idx,
            );
            if let HostKind::Server(s) = &mut b.world.hosts[h].kind {
                s.responder = Some(r);
            }
            b.world.rearm(h);
        }
        Ok(())
    }

    fn set_link(&mut self, segment: &str, change: LinkChange) -> Result<(), Infallible> {
        if let Some(s) = self.b.world.segments.iter_mut().find(|s| s.name == segment) {
            if let Some(r) = change.rate_bps {
                s.link.rate_bps = r;
            }
            if let Some(d) = change.delay {
                s.link.delay = d;
            }
            if let Some(l) = change.loss {
                s.link.loss = l;
            }
        }
        Ok(())
    }

    fn clear_required(&mut self, target: &ClearTarget) -> Result<(), Infallible> {
        let b = &mut self.b;
        let mut store = b.store.clone();
        let n = match target {
            ClearTarget::Machine(m) => {
                state::StateStore::clear_device(&mut store, &state::DeviceKey::machine(m))
            }
            ClearTarget::Collection(c) => state::clear_collection(&mut store, &b.site, c),
        };
        let now = b.world.now;
        b.world.logs.push((
            now,
            "site".into(),
            format!("cleared {n} required PXE deployment record(s)"),
        ));
        Ok(())
    }

    fn tftp_request(&mut self, req: &TftpRequest) -> Result<(), Infallible> {
        self.probe_index += 1;
        let index = self.probe_index;
        let b = &mut self.b;
        let now = b.world.now;
        let Some((rhost, cfg)) = b
            .responder_specs
            .iter()
            .find(|(_, c)| c.name == req.responder)
            .map(|(h, c)| (*h, c.clone()))
        else {
            return Ok(());
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
        self.result.tftp_requests.push(ProbeRecord {
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
        Ok(())
    }

    fn reload_exclusions(
        &mut self,
        responder: &str,
        file: &Path,
        macs: &Result<Vec<Mac>, String>,
    ) -> Result<(), Infallible> {
        let b = &mut self.b;
        let Some(&(rhost, _)) = b.responder_specs.iter().find(|(_, c)| c.name == responder) else {
            return Ok(());
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
                    .find(|(_, c)| c.name == responder)
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
        let now = b.world.now;
        b.world.logs.push((now, responder.to_string(), line));
        Ok(())
    }

    /// Steps the world until the run is over or reaches its limit.
    fn finish(&mut self) -> Result<(), Infallible> {
        if self.scripted && self.done() {
            return Ok(());
        }
        while let Some(ev) = self.b.world.next_event(self.limit) {
            if self.step(ev) && self.done() {
                break;
            }
        }
        Ok(())
    }
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

/// A datagram reaches the interface of `line`.
fn deliver(
    b: &mut Built,
    line: LineId,
    src: SocketAddrV4,
    dst: SocketAddrV4,
    (mut payload, data): (Vec<u8>, Option<FileData>),
) {
    let w = &mut b.world;
    let (host, iface) = w.port_of_line(line);
    if !w.hosts[host].up {
        return;
    }
    let my_ip = w.line_ip(line);
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
    // DATA by reference: a client's download takes it by its CRC (block_crc.rs); any
    // other host reads the bytes.
    let data = match (data, &tag) {
        (Some(d), Tag::Client) => Some(d),
        (Some(d), _) => {
            d.append_to(&mut payload);
            None
        }
        (None, _) => None,
    };
    match tag {
        Tag::Client => {
            // Port 68 replies reach a client by its MAC before it holds an address.
            if to_me || dst.port() == 68 {
                let len = payload.len() + data.as_ref().map_or(0, |d| d.len);
                w.firmware_receives(host, iface, len, false);
                match data {
                    Some(d) => {
                        crate::block_crc::deliver_to_client(w, host, src, dst, &mut payload, d)
                    }
                    None => w.with_client(host, |c, now, out| {
                        c.handle_datagram(now, src, dst, &payload, out)
                    }),
                }
            }
            // A DATA block's buffer goes back to the responders for their next one.
            w.recycle(payload);
        }
        Tag::Server => {
            if !to_me {
                return;
            }
            w.server_receives(host, iface, dst.port());
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
            // A client's ACK buffer goes back for its next one.
            w.recycle(payload);
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
