//! Boot ladders: each boot of a run as the message sequence between the client, relays,
//! DHCP servers and responders, with the responders' log lines beside it. Built from a
//! result's client timelines and logs (what `explain` prints) and the scenario's
//! addresses, kept compact in the JSON results so that `pxelab report` can draw them
//! later (the drawing is `pxelab-report`'s).

use crate::ladder_pcap::{self, Event, Frame};
use crate::run::{BootRecord, ScenarioResult};
use pxelab_scenario::Scenario;
use serde::{Deserialize, Serialize};
use std::net::Ipv4Addr;

/// Most boots of one scenario drawn (failed boots first): a storm of a thousand clients
/// would otherwise fill the results with near-identical ladders.
pub const MAX_LADDERS: usize = 6;
/// Most steps of one ladder; the rest are counted in [`Ladder::omitted`].
pub const MAX_STEPS: usize = 160;

/// One boot of one client.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Ladder {
    pub client: String,
    pub boot: u32,
    /// Lanes from left to right: the client, relays, DHCP servers, responders, others.
    pub lanes: Vec<Lane>,
    pub steps: Vec<Step>,
    /// Steps left out past [`MAX_STEPS`].
    #[serde(default, skip_serializing_if = "is_zero")]
    pub omitted: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lane {
    pub name: String,
    pub kind: LaneKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LaneKind {
    Client,
    Relay,
    Dhcp,
    Responder,
    Other,
}

/// An arrow (`from` != `to`) or a line on one lane (`from` == `to`): indexes into
/// [`Ladder::lanes`]. `label` is what the arrow says; `text` the whole line it came
/// from, shown beside it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Step {
    pub t: f64,
    pub from: usize,
    pub to: usize,
    pub kind: StepKind,
    pub label: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub text: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    /// A DHCP, proxy DHCP or TFTP control message.
    Message,
    /// A TFTP transfer's DATA, summarised.
    Data,
    /// A message that failed the boot or a refusal (NAK, TFTP error, giving up).
    Error,
    /// A responder's log line about the client.
    Log,
    /// What the client noted (power on, outcome, serial console lines).
    Note,
}

impl Step {
    pub fn is_arrow(&self) -> bool {
        self.from != self.to
    }
}

/// Where an address is: its lane and segment.
struct Place {
    name: String,
    kind: LaneKind,
    segment: String,
    addr: Ipv4Addr,
}

/// The ladders of a result's boots (at most [`MAX_LADDERS`], failed boots first), from
/// its timelines; none when it has no timelines.
pub fn ladders(r: &ScenarioResult, sc: &Scenario) -> Vec<Ladder> {
    if r.traces.is_empty() {
        return Vec::new();
    }
    let failed = |b: &BootRecord| {
        let who = format!("{} boot {}:", b.client, b.boot);
        r.failures.iter().any(|f| f.starts_with(&who))
    };
    let mut order: Vec<&BootRecord> = r.boots.iter().filter(|b| failed(b)).collect();
    order.extend(r.boots.iter().filter(|b| !failed(b)));
    order.truncate(MAX_LADDERS);
    // Back in the run's order.
    order.sort_by_key(|b| {
        r.boots
            .iter()
            .position(|x| std::ptr::eq(x, *b))
            .unwrap_or(0)
    });
    // Each drawn client's captured frames, read once for all its boots.
    let mut frames: std::collections::HashMap<&str, Vec<Frame>> = Default::default();
    order
        .into_iter()
        .map(|b| {
            let f = frames
                .entry(b.client.as_str())
                .or_insert_with(|| captured(r, sc, &b.client));
            boot_ladder_from(r, sc, b, f)
        })
        .collect()
}

/// A lab client's frames in its segment's capture, on the run's clock; none in the
/// simulator (its client timelines have every packet) or without a capture.
fn captured(r: &ScenarioResult, sc: &Scenario, client: &str) -> Vec<Frame> {
    let (Some(started), Some(c)) = (
        r.started_unix_s,
        sc.network.clients.iter().find(|c| c.name == client),
    ) else {
        return Vec::new();
    };
    let file = r.pcaps.iter().find(|p| {
        std::path::Path::new(p)
            .file_stem()
            .is_some_and(|s| s.to_string_lossy() == c.segment)
    });
    // An unreadable capture leaves the ladder to the servers' logs, as without one.
    file.and_then(|f| ladder_pcap::read(std::path::Path::new(f), started, c.mac.0).ok())
        .unwrap_or_default()
}

fn places(sc: &Scenario) -> Vec<Place> {
    let mut p = Vec::new();
    for d in &sc.network.dhcp_servers {
        p.push(Place {
            name: d.name.clone(),
            kind: LaneKind::Dhcp,
            segment: d.segment.clone(),
            addr: d.address,
        });
    }
    for x in &sc.network.responders {
        p.push(Place {
            name: x.config.name.clone(),
            kind: LaneKind::Responder,
            segment: x.segment.clone(),
            addr: x.config.address,
        });
    }
    for x in &sc.network.rogues {
        p.push(Place {
            name: x.name.clone(),
            kind: LaneKind::Responder,
            segment: x.segment.clone(),
            addr: x.address,
        });
    }
    for router in &sc.network.routers {
        for (seg, addr) in &router.interfaces {
            p.push(Place {
                name: router.name.clone(),
                kind: LaneKind::Relay,
                segment: seg.clone(),
                addr: *addr,
            });
        }
    }
    p
}

/// Builds one ladder, adding lanes as they are used and sorting them by kind at the end.
struct Builder<'a> {
    places: &'a [Place],
    segment: String,
    /// The relay on the client's segment, if its router has IP helpers there.
    relay: Option<(String, Vec<Ipv4Addr>)>,
    lanes: Vec<Lane>,
    steps: Vec<Step>,
}

impl Builder<'_> {
    fn lane(&mut self, name: &str, kind: LaneKind) -> usize {
        if let Some(i) = self.lanes.iter().position(|l| l.name == name) {
            return i;
        }
        self.lanes.push(Lane {
            name: name.to_string(),
            kind,
        });
        self.lanes.len() - 1
    }

    fn lane_of(&mut self, addr: &str) -> usize {
        let found = addr
            .parse::<Ipv4Addr>()
            .ok()
            .and_then(|a| self.places.iter().find(|p| p.addr == a));
        match found {
            Some(p) => {
                let (name, kind) = (p.name.clone(), p.kind);
                self.lane(&name, kind)
            }
            None => self.lane(addr, LaneKind::Other),
        }
    }

    /// Whether a DHCP-port message between the client and `addr` goes through the relay.
    fn relayed(&self, addr: &str) -> bool {
        let Some((_, helpers)) = &self.relay else {
            return false;
        };
        addr.parse::<Ipv4Addr>().is_ok_and(|a| {
            helpers.contains(&a)
                || self
                    .places
                    .iter()
                    .any(|p| p.addr == a && p.segment != self.segment)
        })
    }

    fn push(&mut self, t: f64, from: usize, to: usize, kind: StepKind, label: &str, text: &str) {
        self.steps.push(Step {
            t,
            from,
            to,
            kind,
            label: label.to_string(),
            text: text.to_string(),
        });
    }

    /// A broadcast from the client: to the relay and on to its helpers, or to the DHCP
    /// servers and responders of the client's segment.
    fn broadcast(&mut self, t: f64, label: &str, text: &str) {
        if let Some((relay, helpers)) = self.relay.clone() {
            let r = self.lane(&relay, LaneKind::Relay);
            self.push(t, 0, r, StepKind::Message, label, text);
            for h in helpers {
                let to = self.lane_of(&h.to_string());
                self.push(t, r, to, StepKind::Message, label, "relayed");
            }
            return;
        }
        let local: Vec<(String, LaneKind)> = self
            .places
            .iter()
            .filter(|p| p.segment == self.segment && p.kind == LaneKind::Dhcp)
            .map(|p| (p.name.clone(), p.kind))
            .collect();
        match local.first() {
            Some((name, kind)) => {
                let to = self.lane(name, *kind);
                self.push(t, 0, to, StepKind::Message, label, text);
            }
            None => self.push(t, 0, 0, StepKind::Note, label, text),
        }
    }

    /// A DHCP-port answer from `addr` to the client, through the relay when it is off
    /// the client's segment.
    fn answer(&mut self, t: f64, addr: &str, kind: StepKind, label: &str, text: &str) {
        let from = self.lane_of(addr);
        if self.relayed(addr) {
            if let Some((relay, _)) = self.relay.clone() {
                let r = self.lane(&relay, LaneKind::Relay);
                self.push(t, from, r, kind, label, "");
                self.push(t, r, 0, kind, label, text);
                return;
            }
        }
        self.push(t, from, 0, kind, label, text);
    }

    /// One line of the client's timeline.
    fn client_line(&mut self, t: f64, line: &str, last_dhcp: &mut String, tftp: &mut String) {
        let word = |s: &str, n: usize| s.split_whitespace().nth(n).unwrap_or("").to_string();
        if let Some(rest) = line.strip_prefix("DHCPDISCOVER ") {
            let n = word(rest, 0);
            self.broadcast(t, &format!("DISCOVER {n}"), line);
        } else if let Some(rest) = line.strip_prefix("DHCPOFFER from ") {
            let (addr, got) = rest.split_once(": ").unwrap_or((rest, ""));
            *last_dhcp = addr.to_string();
            let label = format!("OFFER {}", word(got, 0));
            self.answer(t, addr, StepKind::Message, &label, line);
        } else if let Some(addr) = line.strip_prefix("proxy DHCP offer from ") {
            self.answer(t, addr, StepKind::Message, "proxy OFFER", line);
        } else if let Some(addr) = line.strip_prefix("ignoring later proxy offer from ") {
            self.answer(t, addr, StepKind::Message, "proxy OFFER (late)", line);
        } else if let Some(ip) = line.strip_prefix("DHCPREQUEST for ") {
            self.broadcast(t, &format!("REQUEST {ip}"), line);
        } else if let Some(ip) = line.strip_prefix("DHCPACK: address ") {
            let from = last_dhcp.clone();
            self.answer(t, &from, StepKind::Message, &format!("ACK {ip}"), line);
        } else if line.starts_with("DHCPNAK") {
            let from = last_dhcp.clone();
            self.answer(t, &from, StepKind::Error, "NAK", line);
        } else if let Some(rest) = line.strip_prefix("PXE REQUEST to ") {
            let addr = rest.split(':').next().unwrap_or(rest);
            let to = self.lane_of(addr);
            self.push(t, 0, to, StepKind::Message, "REQUEST :4011", line);
        } else if let Some(rest) = line.strip_prefix("PXE ACK from ") {
            let (addr, file) = rest.split_once(": boot file ").unwrap_or((rest, ""));
            let from = self.lane_of(addr);
            let label = format!("ACK :4011 {}", basename(file));
            self.push(t, from, 0, StepKind::Message, label.trim_end(), line);
        } else if let Some(rest) = line.strip_prefix("TFTP RRQ ") {
            // `TFTP RRQ FILE from ADDR [OPTIONS]`
            let (file, after) = rest.split_once(" from ").unwrap_or((rest, ""));
            let addr = word(after, 0);
            *tftp = addr.clone();
            let to = self.lane_of(&addr);
            let label = format!("RRQ {}", basename(file));
            self.push(t, 0, to, StepKind::Message, &label, line);
        } else if line.starts_with("TFTP size known") {
            let to = self.lane_of(&tftp.clone());
            self.push(t, 0, to, StepKind::Message, "ERROR 8 (abort)", line);
        } else if line.starts_with("TFTP ") && line.contains(" failed: ") {
            let from = self.lane_of(&tftp.clone());
            self.push(t, from, 0, StepKind::Error, "TFTP ERROR", line);
        } else if let Some(rest) = line.strip_prefix("TFTP DATA: ") {
            // `N blocks (B bytes) in Ss, K blocks so far`: a second of DATA.
            let from = self.lane_of(&tftp.clone());
            let label = format!(
                "DATA {} blocks, {}",
                word(rest, 0),
                size(word(rest, 2).trim_start_matches('(').parse().ok())
            );
            self.push(t, from, 0, StepKind::Data, &label, line);
        } else if line.starts_with("TFTP ") && line.contains(" bytes received") {
            let from = self.lane_of(&tftp.clone());
            self.push(t, from, 0, StepKind::Data, &data_label(line), line);
        } else if line.starts_with("no ")
            || line.contains("gives up")
            || line.contains("aborted")
            || line.starts_with("bad ")
            || (line.starts_with("outcome: ") && line != "outcome: booted")
        {
            self.push(t, 0, 0, StepKind::Error, line, "");
        } else {
            self.push(t, 0, 0, StepKind::Note, line, "");
        }
    }

    /// An arrow from the client's captured frames (the lab's).
    fn captured(&mut self, t: f64, e: Event) {
        const TEXT: &str = "captured";
        match e {
            Event::ClientDhcp { label, to } if to == Ipv4Addr::BROADCAST => {
                self.broadcast(t, &label, TEXT)
            }
            Event::ClientDhcp { label, to } => {
                let to = self.lane_of(&to.to_string());
                self.push(t, 0, to, StepKind::Message, &label, TEXT);
            }
            Event::ServerDhcp { label, from, nak } => {
                let kind = if nak {
                    StepKind::Error
                } else {
                    StepKind::Message
                };
                self.answer(t, &from.to_string(), kind, &label, TEXT);
            }
            Event::PxeRequest { to } => {
                let to = self.lane_of(&to.to_string());
                self.push(t, 0, to, StepKind::Message, "REQUEST :4011", TEXT);
            }
            Event::PxeAck { from, file } => {
                let from = self.lane_of(&from.to_string());
                let label = format!("ACK :4011 {}", basename(&file));
                self.push(t, from, 0, StepKind::Message, label.trim_end(), TEXT);
            }
            Event::Tftp {
                label,
                server,
                from_client,
                error,
            } => {
                let s = self.lane_of(&server.to_string());
                let kind = if error {
                    StepKind::Error
                } else {
                    StepKind::Message
                };
                let (from, to) = if from_client { (0, s) } else { (s, 0) };
                self.push(t, from, to, kind, &label, TEXT);
            }
            Event::Data {
                server,
                blocks,
                bytes,
                total,
            } => {
                let s = self.lane_of(&server.to_string());
                let label = format!("DATA {blocks} blocks, {}", size(Some(bytes)));
                let text = if total {
                    "captured: the whole transfer"
                } else {
                    TEXT
                };
                self.push(t, s, 0, StepKind::Data, &label, text);
            }
        }
    }

    fn finish(mut self, client: &str, boot: u32) -> Ladder {
        // Lanes by kind (stable: first use within a kind), then steps renumbered.
        let mut order: Vec<usize> = (0..self.lanes.len()).collect();
        order.sort_by_key(|&i| self.lanes[i].kind);
        let mut new_index = vec![0; self.lanes.len()];
        for (new, &old) in order.iter().enumerate() {
            new_index[old] = new;
        }
        let lanes = order.iter().map(|&i| self.lanes[i].clone()).collect();
        for s in &mut self.steps {
            s.from = new_index[s.from];
            s.to = new_index[s.to];
        }
        let omitted = self.steps.len().saturating_sub(MAX_STEPS);
        self.steps.truncate(MAX_STEPS);
        Ladder {
            client: client.to_string(),
            boot,
            lanes,
            steps: self.steps,
            omitted,
        }
    }
}

fn basename(path: &str) -> &str {
    path.rsplit(['/', '\\']).next().unwrap_or(path)
}

/// `TFTP F: N bytes received (blksize B, windowsize W, K blocks, ...)` as
/// `DATA K blocks, 4.0 MiB`.
fn data_label(line: &str) -> String {
    let bytes: Option<u64> = line
        .split(": ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|n| n.parse().ok());
    match line.split(", ").find(|s| s.ends_with(" blocks")) {
        Some(blocks) => format!("DATA {blocks}, {}", size(bytes)),
        None => format!("DATA {}", size(bytes)),
    }
}

fn size(bytes: Option<u64>) -> String {
    match bytes {
        Some(n) if n < 1024 => format!("{n} B"),
        Some(n) if n < 1 << 20 => format!("{:.1} KiB", n as f64 / 1024.0),
        Some(n) => format!("{:.1} MiB", n as f64 / 1048576.0),
        None => "? bytes".into(),
    }
}

/// An answer to the client that a server's log line reports: the responders' `sent
/// proxy offer` and `sent boot file F`, the built-in DHCP server's `ACK IP to MAC` and
/// `NAK MAC: ...`.
fn logged_answer(line: &str) -> Option<(StepKind, String)> {
    let what = line.rsplit_once(": ").map_or(line, |(_, w)| w);
    if what == "sent proxy offer" {
        return Some((StepKind::Message, "proxy OFFER".into()));
    }
    if let Some(file) = what.strip_prefix("sent boot file ") {
        return Some((StepKind::Message, format!("ACK :4011 {}", basename(file))));
    }
    if let Some(rest) = line.strip_prefix("ACK ") {
        let ip = rest.split_whitespace().next().unwrap_or("");
        return Some((StepKind::Message, format!("ACK {ip}")));
    }
    if line.starts_with("NAK ") {
        return Some((StepKind::Error, "NAK".into()));
    }
    None
}

/// The ladder of one boot of `r` (whatever its rank; `explain` draws any boot).
pub fn boot_ladder(r: &ScenarioResult, sc: &Scenario, b: &BootRecord) -> Ladder {
    boot_ladder_from(r, sc, b, &captured(r, sc, &b.client))
}

/// A boot's ladder; in the lab, its arrows from `frames` (its client's captured
/// frames) when there are any, else from what the servers log they sent.
fn boot_ladder_from(r: &ScenarioResult, sc: &Scenario, b: &BootRecord, frames: &[Frame]) -> Ladder {
    let places = places(sc);
    let client = sc.network.clients.iter().find(|c| c.name == b.client);
    let segment = client.map(|c| c.segment.clone()).unwrap_or_default();
    let mac = client.map(|c| c.mac.to_string()).unwrap_or_default();
    let relay = sc.network.routers.iter().find_map(|router| {
        router
            .ip_helpers
            .iter()
            .find(|(seg, _)| *seg == segment)
            .map(|(_, helpers)| (router.name.clone(), helpers.clone()))
    });
    let mut builder = Builder {
        places: &places,
        segment,
        relay,
        lanes: vec![Lane {
            name: b.client.clone(),
            kind: LaneKind::Client,
        }],
        steps: Vec::new(),
    };
    // The boot's window: until the client's next boot (as `explain --boot`).
    let to = r
        .boots
        .iter()
        .filter(|x| x.client == b.client && x.boot > b.boot)
        .map(|x| x.at_s)
        .fold(f64::INFINITY, f64::min);
    let within = |t: f64| t >= b.at_s && t < to;
    // Timelines: the simulator keys them by client, the lab by `client#boot` (serial).
    let lab_key = format!("{}#{}", b.client, b.boot);
    let (trace, windowed) = match r.traces.get(&lab_key) {
        Some(t) => (Some(t), false),
        None => (r.traces.get(&b.client), true),
    };
    let mut lines: Vec<(f64, usize, bool, &str, &str)> = Vec::new();
    if let Some(t) = trace {
        for (i, (at, text)) in t.iter().enumerate() {
            if !windowed || within(*at) {
                lines.push((*at, i, true, "", text));
            }
        }
    }
    let n = lines.len();
    for (i, (at, who, text)) in r.logs.iter().enumerate() {
        if within(*at) && !mac.is_empty() && text.contains(&mac) {
            lines.push((*at, n + i, false, who, text));
        }
    }
    lines.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let from_capture = !windowed && !frames.is_empty();
    if from_capture {
        let mine: Vec<Frame> = frames.iter().filter(|f| within(f.t)).cloned().collect();
        for (t, e) in ladder_pcap::events(&mine) {
            builder.captured(t, e);
        }
    }
    let (mut last_dhcp, mut tftp) = (String::new(), String::new());
    for (at, _, from_client, who, text) in lines {
        if from_client {
            if windowed {
                builder.client_line(at, text, &mut last_dhcp, &mut tftp);
            } else if !text.trim().is_empty() {
                // The lab's serial console: what the firmware printed.
                builder.push(at, 0, 0, StepKind::Note, text.trim(), "");
            }
            continue;
        }
        let kind = places
            .iter()
            .find(|p| p.name == who && p.kind != LaneKind::Relay)
            .map_or(LaneKind::Responder, |p| p.kind);
        let lane = builder.lane(who, kind);
        // `MAC, GUID: what` without the identity the ladder already names.
        let what = text.rsplit_once(": ").map(|(_, w)| w).unwrap_or(text);
        // The lab has no client timeline of packets: its arrows are the captured
        // frames, or without a capture what the servers say they sent (the
        // simulator's come from the client's side).
        match logged_answer(text).filter(|_| !windowed && !from_capture) {
            Some((kind, label)) => builder.push(at, lane, 0, kind, &label, text),
            None => builder.push(at, lane, lane, StepKind::Log, what, text),
        }
    }
    // Captured arrows and logged lines, in time order.
    builder.steps.sort_by(|a, b| a.t.total_cmp(&b.t));
    builder.finish(&b.client, b.boot)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{run_scenario, RunOptions};

    fn run(file: &str) -> (Scenario, ScenarioResult) {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join(file);
        let sc = pxelab_scenario::load_file(&path).expect("scenario loads");
        let opts = RunOptions {
            trace: true,
            ..Default::default()
        };
        let r = run_scenario(&sc, &opts);
        (sc, r)
    }

    #[test]
    fn a_direct_boot_is_drawn_from_dhcp_to_the_boot_image() {
        let (sc, r) = run("scenarios/examples/minimal.yaml");
        let l = ladders(&r, &sc);
        assert_eq!(l.len(), 1);
        let names: Vec<&str> = l[0].lanes.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(names, ["c1", "dhcp", "dp1"]);
        let arrows: Vec<(&str, &str, &str)> = l[0]
            .steps
            .iter()
            .filter(|s| s.is_arrow())
            .map(|s| {
                (
                    names[s.from],
                    names[s.to],
                    s.label.split_whitespace().next().unwrap_or(""),
                )
            })
            .collect();
        assert_eq!(
            &arrows[..6],
            [
                ("c1", "dhcp", "DISCOVER"),
                ("dhcp", "c1", "OFFER"),
                ("dp1", "c1", "proxy"),
                ("c1", "dhcp", "REQUEST"),
                ("dhcp", "c1", "ACK"),
                ("c1", "dp1", "REQUEST"),
            ]
        );
        assert!(arrows.contains(&("dp1", "c1", "DATA")));
        assert!(l[0]
            .steps
            .iter()
            .any(|s| s.kind == StepKind::Log && s.label == "device is in the database"));
    }

    #[test]
    fn a_relayed_boot_goes_through_the_relay_lane() {
        let (sc, r) = run("scenarios/relay/bios-through-relay.yaml");
        let l = &ladders(&r, &sc)[0];
        let relay = l
            .lanes
            .iter()
            .position(|x| x.kind == LaneKind::Relay)
            .expect("a relay lane");
        let first = &l.steps.iter().find(|s| s.is_arrow()).expect("an arrow");
        assert_eq!((first.from, first.to), (0, relay));
        assert!(l.steps.iter().any(|s| s.from == relay && s.to == 0));
    }

    #[test]
    fn a_long_transfer_is_summarised_once_a_second() {
        // 16 MiB over a 10 ms link: about 11 s of DATA.
        let (sc, r) = run("scenarios/tftp/tuned-caps-fast.yaml");
        let l = &ladders(&r, &sc)[0];
        let seconds: Vec<&Step> = l
            .steps
            .iter()
            .filter(|s| s.kind == StepKind::Data && s.text.starts_with("TFTP DATA: "))
            .collect();
        assert!(seconds.len() >= 3, "{seconds:?}");
        for w in seconds.windows(2) {
            assert!(w[1].t - w[0].t >= 1.0 - 1e-9);
        }
        let label = &seconds[0].label;
        assert!(
            label.starts_with("DATA ") && label.ends_with(" MiB"),
            "{label}"
        );
    }

    #[test]
    fn failed_boots_come_first_and_the_count_is_capped() {
        let (sc, mut r) = run("scenarios/examples/minimal.yaml");
        let b = r.boots[0].clone();
        r.boots = (1..=MAX_LADDERS as u32 + 3)
            .map(|n| BootRecord {
                boot: n,
                ..b.clone()
            })
            .collect();
        r.failures = vec![format!("c1 boot {}: expected x, got y", MAX_LADDERS + 2)];
        let l = ladders(&r, &sc);
        assert_eq!(l.len(), MAX_LADDERS);
        assert!(l.iter().any(|x| x.boot == MAX_LADDERS as u32 + 2));
    }

    #[test]
    fn a_lab_boot_draws_the_servers_answers_and_the_serial_console() {
        let (sc, mut r) = run("scenarios/examples/minimal.yaml");
        // As the lab reports a boot: serial lines under `client#boot`, the servers' logs.
        r.traces.clear();
        r.traces.insert(
            "c1#1".into(),
            vec![
                (1.0, "  Station IP address is 10.10.0.100".into()),
                (1.1, "".into()),
            ],
        );
        let mac = "52:54:00:00:00:01, 11111111-2222-3333-4444-555555555555";
        r.logs = vec![
            (0.5, "dp1".into(), format!("{mac}: sent proxy offer")),
            (
                0.6,
                "dhcp".into(),
                "ACK 10.10.0.100 to 52:54:00:00:00:01".into(),
            ),
            (
                0.7,
                "dp1".into(),
                format!("{mac}: sent boot file smsboot/PS100002/x64/bootmgfw.efi"),
            ),
            (
                0.8,
                "dp1".into(),
                format!("{mac}: recorded required deployment PS120001"),
            ),
        ];
        let l = &ladders(&r, &sc)[0];
        let lane = |n: &str| l.lanes.iter().position(|x| x.name == n).expect("lane");
        assert_eq!(l.lanes[lane("dhcp")].kind, LaneKind::Dhcp);
        let steps: Vec<(usize, usize, &str)> = l
            .steps
            .iter()
            .map(|s| (s.from, s.to, s.label.as_str()))
            .collect();
        assert_eq!(
            steps,
            [
                (lane("dp1"), 0, "proxy OFFER"),
                (lane("dhcp"), 0, "ACK 10.10.0.100"),
                (lane("dp1"), 0, "ACK :4011 bootmgfw.efi"),
                (
                    lane("dp1"),
                    lane("dp1"),
                    "recorded required deployment PS120001"
                ),
                (0, 0, "Station IP address is 10.10.0.100"),
            ]
        );
    }

    /// The fixture: a lab-like result (its JSON, without the in-memory logs and serial
    /// lines) and its segment's capture on the wall clock, from `started_unix_s` on.
    fn lab_fixture() -> (Scenario, ScenarioResult) {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let dir = root.join("tests/fixtures/report/lab-ladder");
        let text = std::fs::read_to_string(dir.join("results.json")).expect("fixture");
        let v: serde_json::Value = serde_json::from_str(&text).expect("json");
        let mut r: ScenarioResult =
            serde_json::from_value(v["scenarios"][0].clone()).expect("a result");
        let sc = pxelab_scenario::load_file(&root.join(&r.file)).expect("scenario loads");
        r.pcaps = vec![dir.join("hq.pcap").display().to_string()];
        r.traces.insert(
            "c1#1".into(),
            vec![(0.0, "BdsDxe: loading Boot0001".into())],
        );
        let mac = "52:54:00:00:00:01, 11111111-2222-3333-4444-555555555555";
        r.logs = vec![(0.001, "dp1".into(), format!("{mac}: sent proxy offer"))];
        (sc, r)
    }

    #[test]
    fn a_lab_boot_is_drawn_from_its_segment_capture() {
        let (sc, r) = lab_fixture();
        let l = &ladders(&r, &sc)[0];
        let names: Vec<&str> = l.lanes.iter().map(|l| l.name.as_str()).collect();
        let arrows: Vec<(&str, &str, &str)> = l
            .steps
            .iter()
            .filter(|s| s.is_arrow())
            .map(|s| (names[s.from], names[s.to], s.label.as_str()))
            .collect();
        // On the run's clock, not the capture's: the boot took 5 ms from time 0.
        assert!(l.steps.iter().all(|s| (0.0..0.01).contains(&s.t)));
        let c = |a: &'static str, b: &'static str, label: &'static str| (a, b, label);
        assert_eq!(
            arrows,
            [
                c("c1", "dhcp", "DISCOVER"),
                c("dhcp", "c1", "OFFER 10.10.0.100"),
                c("dp1", "c1", "proxy OFFER"),
                c("c1", "dhcp", "REQUEST 10.10.0.100"),
                c("dhcp", "c1", "ACK 10.10.0.100"),
                c("c1", "dp1", "REQUEST :4011"),
                c("dp1", "c1", "ACK :4011 bootmgfw.efi"),
                c("c1", "dp1", "RRQ bootmgfw.efi"),
                c("dp1", "c1", "OACK tsize=262144 blksize=1468 windowsize=1"),
                c("c1", "dp1", "ERROR 8 (abort)"),
                c("c1", "dp1", "RRQ bootmgfw.efi"),
                c("dp1", "c1", "OACK blksize=1468 windowsize=1"),
                c("dp1", "c1", "DATA 179 blocks, 256.0 KiB"),
                c("c1", "dp1", "RRQ 525400000001.uefi-x64.var"),
                c("dp1", "c1", "OACK windowsize=1"),
                c("dp1", "c1", "DATA 1 blocks, 192 B"),
                c("c1", "dp1", "RRQ boot.PS100002.wim"),
                c("dp1", "c1", "OACK blksize=4096 windowsize=1"),
                c("dp1", "c1", "DATA 17 blocks, 64.0 KiB"),
            ]
        );
        // The server's line stays, as a note on its lane; the console's too.
        let notes: Vec<(&str, &str)> = l
            .steps
            .iter()
            .filter(|s| !s.is_arrow())
            .map(|s| (names[s.from], s.label.as_str()))
            .collect();
        assert_eq!(
            notes,
            [
                ("c1", "BdsDxe: loading Boot0001"),
                ("dp1", "sent proxy offer")
            ]
        );
    }

    #[test]
    fn without_the_runs_start_a_lab_boot_is_drawn_from_the_logs() {
        // Results of a lab run before `started_unix_s`: the captures cannot be placed.
        let (sc, mut r) = lab_fixture();
        r.started_unix_s = None;
        let l = &ladders(&r, &sc)[0];
        let arrows: Vec<&str> = l
            .steps
            .iter()
            .filter(|s| s.is_arrow())
            .map(|s| s.label.as_str())
            .collect();
        assert_eq!(arrows, ["proxy OFFER"]);
    }

    #[test]
    fn the_json_round_trips() {
        let (sc, r) = run("scenarios/examples/minimal.yaml");
        let l = ladders(&r, &sc);
        let back: Vec<Ladder> =
            serde_json::from_str(&serde_json::to_string(&l).expect("json")).expect("parses");
        assert_eq!(back, l);
    }
}
