//! The `dhcp6:` and `http6:` sections of a learned profile, from a capture's DHCPv6
//! boot (PXE over IPv6 with option 16 `PXEClient`, UEFI HTTP boot over IPv6 with
//! `HTTPClient`) and, for PXE, its TFTP over IPv6 (docs/PROFILES.md).

use super::capture::Datagram;
use super::{leak, leak_str, round_us};
use pxelab_engine::dhcp6::firmware::Firmware6;
use pxelab_engine::dhcp6::wire::Message6;
use pxelab_engine::dhcp6::{msg, opt, SERVER_PORT};
use pxelab_engine::tftp::packet::Packet;
use pxelab_engine::Mac;
use std::net::IpAddr;
use std::time::Duration;

/// A client's DHCPv6 message and when it went.
pub(super) struct Sent6 {
    pub at: Duration,
    pub mac: Mac,
    pub xid: [u8; 3],
    pub m: Message6,
}

/// The class data of option 16 (enterprise number, then length-prefixed strings): the
/// first string.
pub(super) fn vendor_class(m: &Message6) -> Option<String> {
    let d = m.option(opt::VENDOR_CLASS)?;
    let len = usize::from(u16::from_be_bytes([*d.get(4)?, *d.get(5)?]));
    d.get(6..6 + len)
        .map(|s| String::from_utf8_lossy(s).into_owned())
}

/// Option 61 (client architecture).
pub(super) fn arch(m: &Message6) -> Option<u16> {
    let d = m.option(opt::CLIENT_ARCH_TYPE)?;
    Some(u16::from_be_bytes([*d.first()?, *d.get(1)?]))
}

/// The client's DHCPv6 messages of the capture (to port 547).
pub(super) fn client_messages(all: &[Datagram]) -> Vec<Sent6> {
    all.iter()
        .filter(|d| d.dport == SERVER_PORT && d.src.is_ipv6())
        .filter_map(|d| match Message6::decode(&d.payload).ok()? {
            m @ Message6::Client { xid, .. } => Some(Sent6 {
                at: d.at,
                mac: d.src_mac,
                xid,
                m,
            }),
            Message6::Relay { .. } => None,
        })
        .collect()
}

fn is(m: &Message6, t: u8, class: &str) -> bool {
    m.msg_type() == t && vendor_class(m).is_some_and(|v| v.starts_with(class))
}

fn codes(m: &Message6) -> Vec<u16> {
    m.options().iter().map(|o| o.code).collect()
}

/// One DHCPv6 boot (`class` `PXEClient` or `HTTPClient`) learned into `s`, a copy of
/// the template's section. None: the capture has no such Solicit.
pub(super) fn learn6(
    all: &[Datagram],
    sent: &[Sent6],
    class: &str,
    template: &Firmware6,
    notes: &mut Vec<String>,
) -> Option<Firmware6> {
    let solicit = sent.iter().find(|s| is(&s.m, msg::SOLICIT, class))?;
    let label = if class == "PXEClient" {
        "dhcp6"
    } else {
        "http6"
    };
    let mut s = template.clone();
    let m = &solicit.m;
    s.solicit_order = leak(codes(m));
    if let Some(a) = arch(m) {
        s.arch = a;
    }
    if let Some(v) = vendor_class(m) {
        s.vendor_class = leak_str(v);
    }
    if let Some(n) = m.option(opt::NII).filter(|n| n.len() == 3) {
        s.nii = [n[0], n[1], n[2]];
    }
    if let Some(o) = m.option(opt::ORO) {
        s.oro = leak(
            o.chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect(),
        );
    }
    s.user_class = m.option(opt::USER_CLASS).and_then(|u| {
        let len = usize::from(u16::from_be_bytes([*u.first()?, *u.get(1)?]));
        u.get(2..2 + len).map(|b| leak(b.to_vec()))
    });
    if let Some(ia) = m.option(opt::IA_NA).filter(|ia| ia.len() >= 12) {
        s.solicit_t = u32::from_be_bytes([ia[4], ia[5], ia[6], ia[7]]);
    }

    // The Solicits of that transaction: when they went.
    let times: Vec<Duration> = sent
        .iter()
        .filter(|x| x.xid == solicit.xid && x.m.msg_type() == msg::SOLICIT)
        .map(|x| x.at.saturating_sub(solicit.at))
        .collect();
    if times.len() > 1 {
        let mut at: Vec<Duration> = times.iter().map(|t| round_ms(*t)).collect();
        // The later ones the capture does not show keep the template's gaps.
        let shift = at[at.len() - 1].saturating_sub(
            template
                .solicit_at
                .get(at.len() - 1)
                .copied()
                .unwrap_or_default(),
        );
        for t in template.solicit_at.iter().skip(at.len()) {
            at.push(*t + shift);
        }
        at.dedup();
        s.solicit_at = leak(at);
    } else {
        notes.push(format!(
            "{label}: one Solicit per transaction: when it retransmits is the built-in profile's"
        ));
    }

    // The Request (of the same class) after an Advertise: requested at once, or after
    // collecting Advertises.
    let request = sent
        .iter()
        .find(|x| x.at >= solicit.at && is(&x.m, msg::REQUEST, class));
    let Some(request) = request else {
        notes.push(format!(
            "{label}: no Request: its options, the Advertise collection and the address wait are the built-in profile's"
        ));
        return Some(s);
    };
    s.request_order = leak(codes(&request.m));
    s.request_elapsed = request
        .m
        .option(opt::ELAPSED_TIME)
        .is_some_and(|e| e.iter().any(|b| *b != 0));
    let last_advertise = all
        .iter()
        .filter(|d| d.at <= request.at && d.at >= solicit.at && d.dport == 546)
        .filter(|d| Message6::decode(&d.payload).is_ok_and(|a| a.msg_type() == msg::ADVERTISE))
        .map(|d| d.at)
        .next_back();
    if let Some(a) = last_advertise {
        s.collect = (request.at.saturating_sub(a) > Duration::from_millis(500))
            .then(|| round_ms(request.at.saturating_sub(solicit.at)));
    }

    // The Reply to that Request, then the first use of the leased address.
    let reply = all
        .iter()
        .filter(|d| d.at >= request.at && d.dport == 546)
        .find(|d| {
            Message6::decode(&d.payload).is_ok_and(|r| {
                r.msg_type() == msg::REPLY
                    && matches!(r, Message6::Client { xid, .. } if xid == request.xid)
            })
        });
    let leased = request
        .m
        .option(opt::IA_NA)
        .and_then(ia_address)
        .map(IpAddr::V6);
    let first_use = reply.and_then(|r| {
        all.iter()
            .find(|d| d.at >= r.at && leased.is_some_and(|l| d.src == l))
            .map(|d| (r.at, d.at))
    });
    match first_use {
        Some((r, u)) if class == "PXEClient" => {
            let (route_wait, ready) = address_wait(all, r, u);
            s.route_wait = route_wait;
            s.address_ready = ready;
        }
        Some((r, u)) => s.address_ready = round_us(u.saturating_sub(r)),
        None => notes.push(format!(
            "{label}: the leased address is not used in the capture: `address_ready` is the built-in profile's"
        )),
    }
    // TFTP over IPv6 (PXE only): a probe then the read, or the read alone.
    if class == "PXEClient" {
        if let Some(l) = leased {
            tftp6(all, l, &mut s);
        }
    }
    Some(s)
}

/// EDK2's wait between PXE's Reply at `reply` and the first use of its address at
/// `used`, as the route wait and the address check (`Firmware6::route_wait`,
/// `address_ready`). A proxy's answer to the boot request (port 4011 to 4011) comes
/// first; the address is set when the stack's Release goes (the manual policy), after
/// whole seconds of route checks (`PxeBcCheckRouteTable`). No Release: no route wait
/// is seen, the whole wait is the check.
fn address_wait(all: &[Datagram], reply: Duration, used: Duration) -> (Duration, Duration) {
    let between = |d: &&Datagram| d.at >= reply && d.at < used;
    let known = all
        .iter()
        .filter(between)
        .filter(|d| d.sport == 4011 && d.dport == 4011)
        .map(|d| d.at)
        .next_back()
        .unwrap_or(reply);
    let release = all
        .iter()
        .filter(between)
        .filter(|d| d.at >= known && d.dport == SERVER_PORT)
        .find(|d| Message6::decode(&d.payload).is_ok_and(|m| m.msg_type() == msg::RELEASE))
        .map(|d| d.at);
    let route_wait = release.map_or(Duration::ZERO, |r| {
        Duration::from_secs(r.saturating_sub(known).as_secs_f64().round() as u64)
    });
    let ready = used.saturating_sub(known).saturating_sub(route_wait);
    (route_wait, round_us(ready))
}

/// Option 5, IA Address (RFC 8415 section 21.6).
const IAADDR: u16 = 5;

/// The IA Address inside an IA_NA option's data (IAID, T1, T2, then options).
fn ia_address(ia: &[u8]) -> Option<std::net::Ipv6Addr> {
    let mut rest = ia.get(12..)?;
    while rest.len() >= 4 {
        let code = u16::from_be_bytes([rest[0], rest[1]]);
        let len = usize::from(u16::from_be_bytes([rest[2], rest[3]]));
        let data = rest.get(4..4 + len)?;
        if code == IAADDR && len >= 16 {
            let a: [u8; 16] = data[..16].try_into().ok()?;
            return Some(a.into());
        }
        rest = &rest[4 + len..];
    }
    None
}

fn tftp6(all: &[Datagram], client: IpAddr, s: &mut Firmware6) {
    let sent: Vec<(u16, Packet)> = all
        .iter()
        .filter(|d| d.src == client)
        .filter_map(|d| Packet::parse(&d.payload).ok().map(|p| (d.dport, p)))
        .collect();
    let rrqs: Vec<(usize, &Vec<(String, String)>)> = sent
        .iter()
        .enumerate()
        .filter_map(|(i, (port, p))| match p {
            Packet::Rrq(r) if *port == 69 => Some((i, &r.options)),
            _ => None,
        })
        .collect();
    let opts = |o: &Vec<(String, String)>| {
        leak(
            o.iter()
                .map(|(k, v)| (leak_str(k.clone()), leak_str(v.clone())))
                .collect(),
        )
    };
    match rrqs.as_slice() {
        [(i, first), (j, second), ..]
            if sent[*i..*j]
                .iter()
                .any(|(_, p)| matches!(p, Packet::Error { code: 8, .. })) =>
        {
            s.tftp_probe = Some(opts(first));
            s.tftp_options = opts(second);
        }
        [(_, first), ..] => {
            s.tftp_probe = None;
            s.tftp_options = opts(first);
        }
        [] => {}
    }
}

fn round_ms(d: Duration) -> Duration {
    Duration::from_millis((d.as_secs_f64() * 1000.0).round() as u64)
}
