//! `pxelab firmware learn`: a firmware profile (docs/PROFILES.md) from a capture (pcap
//! or pcapng) of one machine's network boot, taken anywhere (a lab switch's mirror
//! port, a customer network): PXE over IPv4 (DHCP and TFTP), PXE over IPv6, UEFI HTTP
//! boot over IPv4 or IPv6, or several of them in one capture.
//!
//! What the capture shows is learned: the family (iPXE's option 77 `iPXE`, option 175
//! or DHCPv6 user class `iPXE`, else EDK2) and the firmware (option 93 or 61), the
//! options of each DHCP message in order and their values, the broadcast flags, the
//! port-4011 REQUEST's source port, the DISCOVER retransmission timeouts (gaps between
//! DISCOVERs of one transaction), the TFTP read request's options and the size probe
//! (an error 8 after the first read, then a second read), a TFTP retransmission
//! timeout, the offer collection and the firmware's time per frame it takes in
//! (`per_packet`, as the simulator models it and `pxelab lab calibrate` measures it);
//! over IPv6 the Solicit's and Request's options, when Solicits go out,
//! the Advertise collection, the address wait and TFTP's options (`six`); for HTTP
//! boot over IPv4 its DISCOVER's options; from TFTP's and HTTP boot's downloads the
//! time per datagram and per frame taken in (`per_datagram`, `per_packet`; over IPv6
//! `per_datagram6`, `per_packet6`). What it cannot show is taken from the
//! built-in profile of the guessed firmware, and the notes say which.

mod capture;
mod gaps;
mod per_packet;
mod six;

use capture::Datagram;
use pxelab_engine::dhcp::firmware::{
    profile, profile_yaml, FirmwareKind, FirmwareModel, Profile, Stack,
};
use pxelab_engine::dhcp::packet::{self as dhcp_packet, DhcpPacket, MessageType};
use pxelab_engine::tftp::packet::Packet;
use pxelab_engine::Mac;
use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

/// A profile learned from a capture, its YAML and what was not learned.
#[derive(Debug)]
pub struct Learned {
    pub profile: Profile,
    pub yaml: String,
    /// What the profile took from the built-in one, and why.
    pub notes: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum LearnError {
    #[error("{0}: {1}")]
    Read(String, String),
    #[error("{0}: no PXE boot in the capture (no DHCP DISCOVER with option 60 PXEClient or HTTPClient, no DHCPv6 Solicit with option 16 PXEClient or HTTPClient)")]
    NoPxeBoot(String),
    #[error("{0}: several clients boot in the capture ({1}); capture one machine's boot, or filter it by MAC first")]
    SeveralClients(String, String),
    #[error("{0}")]
    Profile(#[from] profile::ProfileError),
}

/// A client's DHCP message and when it was sent.
struct Sent {
    at: Duration,
    dport: u16,
    sport: u16,
    p: DhcpPacket,
}

fn codes(p: &DhcpPacket) -> Vec<u8> {
    p.options.iter().map(|(c, _)| *c).collect()
}

fn leak<T>(v: Vec<T>) -> &'static [T] {
    Box::leak(v.into_boxed_slice())
}

fn leak_str(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

/// Learn a profile from the pcap file at `path`.
pub fn learn_file(path: &Path) -> Result<Learned, LearnError> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| LearnError::Read(name.clone(), e.to_string()))?;
    learn(&name, &bytes)
}

/// Learn a profile from a pcap file's bytes (`file` names it in messages and notes).
pub fn learn(file: &str, bytes: &[u8]) -> Result<Learned, LearnError> {
    let frames = capture::frames(file, bytes)?;
    let all = capture::datagrams(&frames);
    let sent: Vec<Sent> = all
        .iter()
        .filter(|d| d.src.is_ipv4() && (d.dport == 67 || d.dport == 4011))
        .filter_map(|d| {
            let p = dhcp_packet::parse(&d.payload).ok()?;
            (p.op == 1 && (p.is_pxe_client() || p.is_http_client())).then_some(Sent {
                at: d.at,
                dport: d.dport,
                sport: d.sport,
                p,
            })
        })
        .collect();
    let sent6 = six::client_messages(&all);
    let is_discover = |s: &&Sent| s.p.message_type == Some(MessageType::Discover);
    let pxe4 = sent
        .iter()
        .filter(is_discover)
        .find(|s| s.p.is_pxe_client());
    let http4 = sent
        .iter()
        .filter(is_discover)
        .find(|s| s.p.is_http_client());
    let solicit6 = |class: &str| {
        sent6.iter().find(|s| {
            s.m.msg_type() == pxelab_engine::dhcp6::msg::SOLICIT
                && six::vendor_class(&s.m).is_some_and(|v| v.starts_with(class))
        })
    };
    let (pxe6, http6) = (solicit6("PXEClient"), solicit6("HTTPClient"));
    if pxe4.is_none() && http4.is_none() && pxe6.is_none() && http6.is_none() {
        return Err(LearnError::NoPxeBoot(file.to_string()));
    }
    // One machine: the DISCOVERs' chaddr and the Solicits' Ethernet source.
    let mut macs: BTreeSet<Mac> = sent
        .iter()
        .filter(is_discover)
        .filter_map(|s| s.p.chaddr)
        .collect();
    macs.extend(
        sent6
            .iter()
            .filter(|s| six::vendor_class(&s.m).is_some())
            .map(|s| s.mac),
    );
    if macs.len() > 1 {
        let list: Vec<String> = macs.iter().map(|m| m.to_string()).collect();
        return Err(LearnError::SeveralClients(
            file.to_string(),
            list.join(", "),
        ));
    }
    let mut notes = Vec::new();

    // The family and the firmware: option 93 over IPv4 (PXE's, else HTTP boot's),
    // else option 61 over IPv6.
    let ipxe = pxe4
        .is_some_and(|d| d.p.user_class.as_deref() == Some(b"iPXE") || d.p.option(175).is_some())
        || [pxe6, http6].iter().flatten().any(|s| {
            s.m.option(pxelab_engine::dhcp6::opt::USER_CLASS)
                .is_some_and(|u| u.ends_with(b"iPXE"))
        });
    let stack = if ipxe { Stack::Ipxe } else { Stack::Edk2 };
    let arch = pxe4
        .or(http4)
        .and_then(|d| d.p.first_arch())
        .or_else(|| pxe6.or(http6).and_then(|s| six::arch(&s.m)))
        .unwrap_or(0);
    let kind = match (stack, arch) {
        (Stack::Ipxe, _) | (_, 0) => FirmwareKind::BiosX64,
        (_, 6 | 15) => FirmwareKind::UefiIa32,
        (_, 11 | 19) => FirmwareKind::UefiArm64,
        _ => FirmwareKind::UefiX64,
    };
    // What the capture cannot show comes from a built-in profile of the same family.
    let template = if profile::builtin(kind).pxe4.stack == stack {
        profile::builtin(kind)
    } else {
        profile::builtin(FirmwareKind::UefiX64)
    };
    let mut p = template.clone();
    p.name = format!(
        "learned from {}",
        Path::new(file)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    );
    p.source = Path::new(file).to_path_buf();
    p.pxe4.kind = kind;
    p.pxe4.name = kind.name();
    p.pxe4.stack = stack;
    p.pxe6.kind = kind;
    p.pxe6.stack = stack;
    // The time per datagram and per frame taken in (TFTP), per segment (HTTP).
    let intake = macs.first().map(|m| per_packet::learn(&frames, *m));
    let (tftp_intake, tftp6_intake, per_segment) =
        intake.map_or((None, None, None), |i| (i.tftp, i.tftp6, i.per_segment));
    // A template without an IPv6 intake of its own follows the IPv4 one learned.
    let t = &p.pxe4.timing;
    let six_follows_four = (t.per_datagram6, t.per_packet6) == (t.per_datagram, t.per_packet);
    match pxe4 {
        Some(d) => learn_pxe4(&all, &sent, &d.p, tftp_intake, &mut p.pxe4, &mut notes),
        None => notes.push(
            "no PXE boot over IPv4: `dhcp4`, `tftp` and `timing` are the built-in profile's".into(),
        ),
    }
    let t = &mut p.pxe4.timing;
    let four = (t.per_datagram, t.per_packet);
    match tftp6_intake {
        Some(six) => (t.per_datagram6, t.per_packet6) = six,
        None if six_follows_four => (t.per_datagram6, t.per_packet6) = four,
        None if pxe6.is_some() => notes.push(
            "no TFTP DATA over IPv6 acknowledged: \
             `per_datagram6` and `per_packet6` are the built-in profile's"
                .into(),
        ),
        None => {}
    }
    if let Some(h) = &mut p.http4 {
        (h.timing.per_datagram6, h.timing.per_packet6) = (t.per_datagram6, t.per_packet6);
    }
    match per_segment {
        Some(t) => {
            p.pxe4.timing.per_segment = t;
            if let Some(h) = &mut p.http4 {
                h.timing.per_segment = t;
            }
        }
        None if http4.is_some() || http6.is_some() => {
            notes.push("no HTTP data acknowledged: `per_segment` is the built-in profile's".into())
        }
        None => {}
    }
    if let Some(d) = http4 {
        let h = p.http4.get_or_insert_with(|| p.pxe4.clone());
        h.arch_option93 = d.p.first_arch().unwrap_or(h.arch_option93);
        h.vendor_class = leak_str(
            String::from_utf8_lossy(d.p.vendor_class.as_deref().unwrap_or_default()).into_owned(),
        );
        if let Some(prl) = &d.p.param_request_list {
            h.param_request_list = leak(prl.clone());
        }
        let request = sent.iter().find(|s| {
            s.dport == 67 && s.p.message_type == Some(MessageType::Request) && s.p.is_http_client()
        });
        match request {
            Some(r) => h.request_max_msg_size = r.p.max_msg_size,
            None => {
                notes.push("http4: no DHCP REQUEST: its option 57 is the built-in profile's".into())
            }
        }
    }
    match six::learn6(&all, &sent6, "PXEClient", &p.pxe6, &mut notes) {
        Some(s) => p.pxe6 = s,
        None => notes.push("no PXE boot over IPv6: `dhcp6` is the built-in profile's".into()),
    }
    let http6_template = p.http6.clone().unwrap_or_else(|| p.pxe6.clone());
    if let Some(s) = six::learn6(&all, &sent6, "HTTPClient", &http6_template, &mut notes) {
        p.http6 = Some(s);
    }
    if http4.is_none() && http6.is_none() && p.http4.is_some() {
        notes.push("no HTTP boot: `http4` and `http6` are the built-in profile's".into());
    }
    notes.push("power-on to the first DISCOVER is not in a capture: the built-in profile's".into());

    let comment = format!(
        "Learned by `pxelab firmware learn` from {file}\n(family {}, {} stack). {}",
        kind.name(),
        match stack {
            Stack::Edk2 => "EDK2",
            Stack::Ipxe => "iPXE",
        },
        notes.join("; ")
    );
    let yaml = profile_yaml::to_yaml(&p, &comment);
    // What is written must read back as what was learned (the reader's checks too).
    let profile = profile::parse(&yaml, Path::new(file), kind)?;
    Ok(Learned {
        profile,
        yaml,
        notes,
    })
}

/// The `dhcp4:`, `tftp:` and `timing:` sections from a PXE boot over IPv4 whose first
/// DISCOVER is `d`; `intake` is the capture's `(per_datagram, per_packet)`, if it has
/// them.
fn learn_pxe4(
    all: &[Datagram],
    sent: &[Sent],
    d: &DhcpPacket,
    intake: Option<(Duration, Duration)>,
    m: &mut FirmwareModel,
    notes: &mut Vec<String>,
) {
    let stack = m.stack;
    let arch = d.first_arch().unwrap_or(0);
    let discovers: Vec<&Sent> = sent
        .iter()
        .filter(|s| s.p.message_type == Some(MessageType::Discover) && s.p.is_pxe_client())
        .collect();
    // The DISCOVER's options and values.
    m.options_order = leak(codes(d));
    m.arch_option93 = arch;
    m.vendor_class = leak_str(
        String::from_utf8_lossy(d.vendor_class.as_deref().unwrap_or_default()).into_owned(),
    );
    if let Some(ndi) = d.client_ndi {
        m.client_ndi = ndi;
    }
    if let Some(prl) = &d.param_request_list {
        m.param_request_list = leak(prl.clone());
    }
    m.max_msg_size = d.max_msg_size;
    m.user_class = d.user_class.clone().map(leak);
    m.option175 = d.option(175).map(leak);
    m.broadcast_flag = d.broadcast();
    m.sends_secs = stack == Stack::Edk2;
    match d.client_guid {
        Some(g) if g.0 == [0; 16] => m.guid_zero_when_absent = true,
        Some(_) => {}
        None => m.guid_zero_when_absent = false,
    }

    // The DHCP REQUEST, and the REQUEST to port 4011.
    // PXE's own (after PXE, UEFI firmware may try HTTP boot with another option 60).
    let request = sent.iter().find(|s| {
        s.dport == 67 && s.p.message_type == Some(MessageType::Request) && s.p.is_pxe_client()
    });
    match request {
        Some(r) => {
            m.request_options_order = leak(codes(&r.p));
            m.request_max_msg_size = r.p.max_msg_size;
        }
        None => notes.push("no DHCP REQUEST: its options are the built-in profile's".into()),
    }
    match sent.iter().find(|s| s.dport == 4011) {
        Some(r) => {
            m.pxe_request_options_order = leak(codes(&r.p));
            m.pxe_request_broadcast_flag = r.p.broadcast();
            m.pxe_request_src_port = r.sport;
        }
        None => notes.push(
            "no REQUEST to port 4011 (no proxy answered): its options, flags and port are the built-in profile's".into(),
        ),
    }
    // Its resends in one transaction, when the boot server was slow or silent.
    let pxe_requests: Vec<Duration> = sent
        .iter()
        .find(|s| s.dport == 4011)
        .map(|first| {
            sent.iter()
                .filter(|s| s.dport == 4011 && s.p.xid == first.p.xid)
                .map(|s| s.at)
                .collect()
        })
        .unwrap_or_default();
    match pxe_request_waits(&pxe_requests, m.pxe_request_retransmit) {
        Some(w) => m.pxe_request_retransmit = leak(w),
        None => notes
            .push("no REQUEST to port 4011 resent: its waits are the built-in profile's".into()),
    }

    // Retransmission: the gaps between the DISCOVERs of the transaction sent most often.
    let mut best: Vec<Duration> = Vec::new();
    for xid in discovers.iter().map(|s| s.p.xid).collect::<BTreeSet<_>>() {
        let times: Vec<Duration> = discovers
            .iter()
            .filter(|s| s.p.xid == xid)
            .map(|s| s.at)
            .collect();
        if times.len() > best.len() {
            best = times;
        }
    }
    match timeouts(&best) {
        Some((rt, seen)) => {
            if seen < 4 {
                notes.push(format!(
                    "{seen} DISCOVER gap(s) seen: the later timeouts double the last"
                ));
            }
            m.retransmit = rt;
        }
        None => notes.push(
            "one DISCOVER per transaction: the retransmission timeouts are the built-in profile's"
                .into(),
        ),
    }
    // The DHCP REQUEST's resends, when the capture has some (the same transaction).
    let requests: Vec<Duration> = request
        .map(|r| {
            sent.iter()
                .filter(|s| {
                    s.dport == 67
                        && s.p.xid == r.p.xid
                        && s.p.message_type == Some(MessageType::Request)
                })
                .map(|s| s.at)
                .collect()
        })
        .unwrap_or_default();
    match timeouts(&requests) {
        Some((rt, _)) => m.request_retransmit = rt,
        None => notes.push(
            "no DHCP REQUEST resent: its retransmission timeouts are the built-in profile's".into(),
        ),
    }

    // Offer collection (EDK2): the REQUEST came well after the last offer before it.
    // iPXE's wait after an offer is its proxy offer wait, which the capture cannot
    // tell from its retransmissions: the built-in profile's.
    if let Some(r) = request.filter(|_| stack == Stack::Edk2) {
        let last_offer = all
            .iter()
            .filter(|x| x.dport == 68 && x.at <= r.at)
            .filter(|x| {
                dhcp_packet::parse(&x.payload)
                    .is_ok_and(|o| o.xid == r.p.xid && o.message_type == Some(MessageType::Offer))
            })
            .map(|x| x.at)
            .next_back();
        let start = discovers.iter().find(|s| s.p.xid == r.p.xid).map(|s| s.at);
        if let (Some(o), Some(s)) = (last_offer, start) {
            if r.at.saturating_sub(o) > Duration::from_millis(500) {
                m.timing.offer_collection = round_ms(r.at.saturating_sub(s));
            }
        }
    }

    // TFTP: the first read request's options; a size probe is an error 8 after it and
    // a second read.
    let client_ip = request.and_then(|r| r.p.requested_ip).map(IpAddr::V4);
    let tftp_from_client: Vec<(&Datagram, Packet)> = all
        .iter()
        .filter(|x| x.src.is_ipv4() && client_ip.is_none_or(|ip| x.src == ip))
        .filter_map(|x| Packet::parse(&x.payload).ok().map(|p| (x, p)))
        .collect();
    let rrqs: Vec<(Duration, Vec<(String, String)>)> = tftp_from_client
        .iter()
        .filter(|(x, _)| x.dport == 69)
        .filter_map(|(x, p)| match p {
            Packet::Rrq(r) => Some((x.at, r.options.clone())),
            _ => None,
        })
        .collect();
    match rrqs.first() {
        Some((at, opts)) => {
            m.tftp_options = leak(
                opts.iter()
                    .map(|(k, v)| (leak_str(k.clone()), leak_str(v.clone())))
                    .collect(),
            );
            let aborted = tftp_from_client
                .iter()
                .any(|(x, p)| x.at >= *at && matches!(p, Packet::Error { code: 8, .. }));
            m.tftp_size_probe = aborted && rrqs.len() > 1;
        }
        None => {
            notes.push("no TFTP read request: the TFTP options are the built-in profile's".into())
        }
    }
    match tftp_resend(&tftp_from_client) {
        Some(t) => m.tftp_timeout = t,
        None => notes.push(
            "no TFTP packet resent: the TFTP timeout and retries are the built-in profile's".into(),
        ),
    }

    // The firmware's time per datagram and frame taken in, as the simulator models it
    // (before the gaps below, which are learned less it).
    match intake {
        Some((per_datagram, per_packet)) => {
            (m.timing.per_datagram, m.timing.per_packet) = (per_datagram, per_packet)
        }
        None => notes.push(
            "no TFTP DATA acknowledged: `per_datagram` and `per_packet` are the built-in profile's"
                .into(),
        ),
    }
    if let (Some(ip), Some(r)) = (client_ip, request) {
        let via_4011 = sent.iter().any(|s| s.dport == 4011);
        gaps::learn_gaps(all, ip, r.p.xid, via_4011, m, notes);
    }
}

/// Four retransmission timeouts in whole seconds (at least 1) from the times one
/// message was sent and resent; past what was seen each doubles the last. With the
/// number of gaps seen; None: it was not resent.
fn timeouts(times: &[Duration]) -> Option<([u64; 4], usize)> {
    let gaps: Vec<u64> = times
        .windows(2)
        .map(|w| (w[1].saturating_sub(w[0]).as_secs_f64().round() as u64).max(1))
        .take(4)
        .collect();
    let last = *gaps.last()?;
    let mut rt = [0u64; 4];
    for (i, t) in rt.iter_mut().enumerate() {
        *t = gaps.get(i).copied().unwrap_or(last << (i + 1 - gaps.len()));
    }
    Some((rt, gaps.len()))
}

/// The waits after each port-4011 REQUEST from the times they were sent (one
/// transaction): the gaps seen, to a quarter second (both families' timers run in
/// them: EDK2's 1 s ticks, iPXE's 0.25 s doubling), then `builtin`'s for the later
/// ones, the wait after the last one seen (when it gives up) included.
fn pxe_request_waits(times: &[Duration], builtin: &[Duration]) -> Option<Vec<Duration>> {
    const QUARTER: f64 = 0.25;
    let mut waits: Vec<Duration> = times
        .windows(2)
        .map(|w| {
            let q = (w[1].saturating_sub(w[0]).as_secs_f64() / QUARTER)
                .round()
                .max(1.0);
            Duration::from_secs_f64(q * QUARTER)
        })
        .take(15)
        .collect();
    if waits.is_empty() {
        return None;
    }
    let seen = waits.len();
    waits.extend(builtin.iter().skip(seen));
    if waits.len() == seen {
        waits.extend(builtin.last());
    }
    Some(waits)
}

/// The client's TFTP retransmission timeout: the gap between a packet and the same
/// packet sent again from the same port with nothing else sent from it in between
/// (a resent read request or ACK), when the capture has one.
fn tftp_resend(from_client: &[(&Datagram, Packet)]) -> Option<Duration> {
    from_client.iter().enumerate().find_map(|(i, (x, _))| {
        let next = from_client[i + 1..]
            .iter()
            .find(|(y, _)| y.sport == x.sport)?;
        let gap = next.0.at.saturating_sub(x.at);
        (next.0.payload == x.payload
            && next.0.dport == x.dport
            && gap >= Duration::from_millis(100))
        .then(|| round_ms(gap))
    })
}

fn round_ms(d: Duration) -> Duration {
    Duration::from_millis((d.as_secs_f64() * 1000.0).round() as u64)
}

fn round_us(d: Duration) -> Duration {
    Duration::from_micros(d.as_micros() as u64)
}

#[cfg(test)]
mod tests {
    use super::pxe_request_waits;
    use std::time::Duration;

    fn s(v: f64) -> Duration {
        Duration::from_secs_f64(v)
    }

    #[test]
    fn the_4011_waits_are_the_gaps_seen_to_a_quarter_second_then_the_builtins() {
        let builtin = [s(4.0), s(8.0), s(16.0), s(32.0)];
        // Three REQUESTs (two gaps, a TCG-late one among them): the third wait, after
        // which the firmware gave up, and the fourth are the built-in's.
        let got = pxe_request_waits(&[s(0.0), s(0.55), s(2.04)], &builtin);
        assert_eq!(got, Some(vec![s(0.5), s(1.5), s(16.0), s(32.0)]));
        // More REQUESTs than the built-in has waits: its last after them.
        let times: Vec<Duration> = (0..6).map(|i| s(f64::from(i))).collect();
        let got = pxe_request_waits(&times, &builtin[..2]).unwrap();
        assert_eq!(
            got,
            vec![s(1.0); 5]
                .into_iter()
                .chain([s(8.0)])
                .collect::<Vec<_>>()
        );
        // A gap under an eighth of a second is still a wait.
        assert_eq!(
            pxe_request_waits(&[s(0.0), s(0.01)], &builtin).unwrap()[0],
            s(0.25)
        );
        // One REQUEST: nothing learned.
        assert_eq!(pxe_request_waits(&[s(3.0)], &builtin), None);
    }
}
