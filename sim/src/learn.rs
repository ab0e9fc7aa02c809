//! `pxelab firmware learn`: a firmware profile (docs/PROFILES.md) from a capture of
//! one machine's PXE boot over IPv4 (DHCP and TFTP), taken anywhere (a lab switch's
//! mirror port, a customer network).
//!
//! What the capture shows is learned: the family (iPXE's option 77 `iPXE` or option
//! 175, else EDK2) and the firmware (option 93), the options of each DHCP message in
//! order and their values, the broadcast flags, the port-4011 REQUEST's source port,
//! the DISCOVER retransmission timeouts (gaps between DISCOVERs of one transaction),
//! the TFTP read request's options and the size probe (an error 8 after the first
//! read, then a second read), the offer collection and the time per packet (the
//! client's ACK after each TFTP DATA). What it cannot show (the port-4011 exchange
//! when no proxy answered, later retransmissions, IPv6 and HTTP boot, TFTP timers) is
//! taken from the built-in profile of the guessed firmware, and the notes say which.

use pxelab_engine::dhcp::firmware::{profile, profile_yaml, FirmwareKind, Profile, Stack};
use pxelab_engine::dhcp::packet::{self as dhcp_packet, DhcpPacket, MessageType};
use pxelab_engine::tftp::packet::Packet;
use pxelab_engine::Mac;
use std::collections::BTreeSet;
use std::net::Ipv4Addr;
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
    #[error("{0}: no PXE boot in the capture (no DHCP DISCOVER with option 60 PXEClient)")]
    NoPxeBoot(String),
    #[error("{0}: several clients boot in the capture ({1}); capture one machine's boot, or filter it by MAC first")]
    SeveralClients(String, String),
    #[error("{0}")]
    Profile(#[from] profile::ProfileError),
}

/// One UDP datagram of the capture.
#[derive(Clone, Debug)]
struct Datagram {
    at: Duration,
    src: Ipv4Addr,
    sport: u16,
    dport: u16,
    payload: Vec<u8>,
}

fn datagrams(file: &str, bytes: &[u8]) -> Result<Vec<Datagram>, LearnError> {
    let read = |e: String| LearnError::Read(file.to_string(), e);
    let mut r = pcap_file::pcap::PcapReader::new(bytes)
        .map_err(|e| read(format!("not a pcap file ({e})")))?;
    let mut out = Vec::new();
    let nanos = r.header().ts_resolution == pcap_file::TsResolution::NanoSecond;
    // Raw records: a capture cut to a snap length (`tcpdump -s 590`) has records
    // shorter than their frames, which the checked reader refuses.
    while let Some(pkt) = r.next_raw_packet() {
        let pkt = pkt.map_err(|e| read(format!("a damaged record ({e})")))?;
        let Ok(s) = etherparse::SlicedPacket::from_ethernet(&pkt.data) else {
            continue;
        };
        let at = Duration::new(
            u64::from(pkt.ts_sec),
            if nanos {
                pkt.ts_frac
            } else {
                pkt.ts_frac.saturating_mul(1000)
            },
        );
        let (Some(etherparse::NetSlice::Ipv4(ip)), Some(etherparse::TransportSlice::Udp(u))) =
            (&s.net, &s.transport)
        else {
            continue;
        };
        out.push(Datagram {
            at,
            src: ip.header().source_addr(),
            sport: u.source_port(),
            dport: u.destination_port(),
            payload: u.payload().to_vec(),
        });
    }
    Ok(out)
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
    let all = datagrams(file, bytes)?;
    let sent: Vec<Sent> = all
        .iter()
        .filter(|d| d.dport == 67 || d.dport == 4011)
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
    let discovers: Vec<&Sent> = sent
        .iter()
        .filter(|s| s.p.message_type == Some(MessageType::Discover) && s.p.is_pxe_client())
        .collect();
    let Some(first) = discovers.first() else {
        return Err(LearnError::NoPxeBoot(file.to_string()));
    };
    let macs: BTreeSet<Mac> = discovers.iter().filter_map(|s| s.p.chaddr).collect();
    if macs.len() > 1 {
        let list: Vec<String> = macs.iter().map(|m| m.to_string()).collect();
        return Err(LearnError::SeveralClients(
            file.to_string(),
            list.join(", "),
        ));
    }
    let d = &first.p;
    let mut notes = Vec::new();

    // The family and the firmware.
    let ipxe = d.user_class.as_deref() == Some(b"iPXE") || d.option(175).is_some();
    let stack = if ipxe { Stack::Ipxe } else { Stack::Edk2 };
    let arch = d.first_arch().unwrap_or(0);
    let kind = match (stack, arch) {
        (Stack::Ipxe, _) | (_, 0) => FirmwareKind::BiosX64,
        (_, 6) => FirmwareKind::UefiIa32,
        (_, 11) => FirmwareKind::UefiArm64,
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
    let m = &mut p.pxe4;
    m.kind = kind;
    m.name = kind.name();
    m.stack = stack;

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
    let gaps: Vec<u64> = best
        .windows(2)
        .map(|w| (w[1].saturating_sub(w[0]).as_secs_f64().round() as u64).max(1))
        .take(4)
        .collect();
    if gaps.is_empty() {
        notes.push(
            "one DISCOVER per transaction: the retransmission timeouts are the built-in profile's"
                .into(),
        );
    } else {
        let mut rt = [0u64; 4];
        for (i, t) in rt.iter_mut().enumerate() {
            *t = match gaps.get(i) {
                Some(g) => *g,
                None => {
                    let last = gaps.last().copied().unwrap_or(1);
                    last << (i + 1 - gaps.len())
                }
            };
        }
        if gaps.len() < 4 {
            notes.push(format!(
                "{} DISCOVER gap(s) seen: the later timeouts double the last",
                gaps.len()
            ));
        }
        m.retransmit = rt;
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
    let client_ip = request.and_then(|r| r.p.requested_ip);
    let tftp_from_client: Vec<(&Datagram, Packet)> = all
        .iter()
        .filter(|x| client_ip.is_none_or(|ip| x.src == ip))
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

    // Time per packet: the client's ACK after each DATA (median).
    let mut gaps: Vec<Duration> = Vec::new();
    for (i, x) in all.iter().enumerate() {
        let Ok(Packet::Ack { .. }) = Packet::parse(&x.payload) else {
            continue;
        };
        if client_ip.is_some_and(|ip| x.src != ip) {
            continue;
        }
        let data = all[..i].iter().rev().find(|y| {
            y.dport == x.sport && matches!(Packet::parse(&y.payload), Ok(Packet::Data { .. }))
        });
        if let Some(y) = data {
            gaps.push(x.at.saturating_sub(y.at));
        }
    }
    gaps.sort();
    if let Some(mid) = gaps.get(gaps.len() / 2) {
        m.timing.per_packet = round_us(*mid);
    }
    notes.push(
        "power-on to the first DISCOVER is not in a capture: 0s; IPv6 and HTTP boot are the built-in profile's".into(),
    );

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

fn round_ms(d: Duration) -> Duration {
    Duration::from_millis((d.as_secs_f64() * 1000.0).round() as u64)
}

fn round_us(d: Duration) -> Duration {
    Duration::from_micros(d.as_micros() as u64)
}
