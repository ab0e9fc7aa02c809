//! The HTTP boot's DHCP follows its profile's timers as PXE's does (`client/dhcp.rs`):
//! `retransmit`, `request_retransmit`, `timing.offer_collection`,
//! `selects_offer_at_timeout` and `proxy_offer_wait`; the built-in profiles' values are
//! `HttpBootDxe`'s (DISCOVER at 0, 4, 12, 28 s, given up at 60 s; REQUEST resent after
//! 4, 8, 16, 32 s).

use super::HttpBoot;
use crate::client::{Outcome, Send};
use pxelab_engine::dhcp::firmware::{profile, FirmwareKind, Profile};
use pxelab_engine::dhcp::packet::{self as dhcp_packet, MessageType};
use pxelab_engine::policy::ClientClass;
use pxelab_engine::{Instant, Mac};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::Path;
use std::time::Duration;

const SERVER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 5);
const URL: &str = "http://10.0.0.5/smsboot/x64/bootmgfw.efi";

fn mac() -> Mac {
    "52:54:00:12:34:56".parse().expect("a MAC")
}

fn at(ms: u64) -> Instant {
    Instant::ZERO + Duration::from_millis(ms)
}

fn ms(i: Instant) -> u64 {
    i.as_nanos() / 1_000_000
}

/// The built-in uefi-x64 profile with `edit` applied to its text.
fn edited(edit: impl Fn(String) -> String) -> &'static Profile {
    let text = edit(profile::builtin_text(FirmwareKind::UefiX64).to_string());
    let p = profile::parse(&text, Path::new("edited.yaml"), FirmwareKind::UefiX64)
        .unwrap_or_else(|e| panic!("{e}"));
    Box::leak(Box::new(p))
}

fn boot(p: &'static Profile) -> (HttpBoot, Vec<Send>) {
    let mut h = HttpBoot::new(p, mac(), None, ClientClass::UefiX64, false, false).expect("HTTP");
    let mut out = Vec::new();
    h.boot(at(0), &mut out);
    (h, out)
}

/// What a DHCP message the client sent is.
fn kind(s: &Send) -> MessageType {
    dhcp_packet::parse(&s.payload)
        .ok()
        .and_then(|p| p.message_type)
        .expect("a DHCP message")
}

/// Runs the client's timers up to `until`: when each message went out, by kind.
fn timers(h: &mut HttpBoot, until: u64) -> Vec<(u64, MessageType)> {
    let mut sent = Vec::new();
    while let Some(t) = h.poll_timeout().filter(|t| ms(*t) <= until) {
        let mut out = Vec::new();
        h.handle_timeout(t, &mut out);
        sent.extend(out.iter().map(|s| (ms(t), kind(s))));
    }
    sent
}

/// An offer answering the client's first DISCOVER: an address with the URL (`address`
/// true) or a proxy offer with it.
fn offer(first: &Send, address: bool) -> Vec<u8> {
    let d = dhcp_packet::parse(&first.payload).expect("DISCOVER");
    let mut o = pxelab_engine::dhcp::proxy::build_http_offer(&d, SERVER, URL);
    if address {
        o[16..20].copy_from_slice(&[10, 0, 0, 100]);
    }
    o
}

fn deliver(h: &mut HttpBoot, now: Instant, payload: &[u8]) -> Vec<Send> {
    let mut out = Vec::new();
    h.handle_datagram(
        now,
        SocketAddrV4::new(SERVER, 67),
        SocketAddrV4::new(Ipv4Addr::BROADCAST, 68),
        payload,
        &mut out,
    );
    out
}

#[test]
fn the_builtin_profiles_time_discovers_and_requests_as_httpbootdxe() {
    use MessageType::{Discover, Request};
    for kind in [
        FirmwareKind::UefiX64,
        FirmwareKind::UefiIa32,
        FirmwareKind::UefiArm64,
    ] {
        // No answer: DISCOVERs at 0, 4, 12 and 28 s, given up at 60 s.
        let (mut h, first) = boot(profile::builtin(kind));
        assert_eq!(kind_of(&first), [Discover], "{kind:?}");
        let sent = timers(&mut h, 100_000);
        assert_eq!(
            sent,
            [(4_000, Discover), (12_000, Discover), (28_000, Discover)],
            "{kind:?}"
        );
        let r = h.result.take().expect("gave up");
        assert_eq!((r.outcome, ms(r.finished)), (Outcome::NoOffer, 60_000));
        // An offer at 1 s: the REQUEST at 4 s, resent after 4, 8, 16 s, then discovery
        // starts again 32 s later.
        let (mut h, first) = boot(profile::builtin(kind));
        assert!(deliver(&mut h, at(1_000), &offer(&first[0], true)).is_empty());
        let sent = timers(&mut h, 64_000);
        assert_eq!(
            sent,
            [
                (4_000, Request),
                (8_000, Request),
                (16_000, Request),
                (32_000, Request),
                (64_000, Discover)
            ],
            "{kind:?}"
        );
    }
}

fn kind_of(out: &[Send]) -> Vec<MessageType> {
    out.iter().map(kind).collect()
}

#[test]
fn a_profiles_discover_and_request_timers_and_offer_collection_are_followed() {
    use MessageType::{Discover, Request};
    let p = edited(|t| {
        t.replace(
            "retransmit: [4s, 8s, 16s, 32s]",
            "retransmit: [2s, 3s, 4s, 5s]\n  request_retransmit: [1s, 2s, 3s, 4s]",
        )
        .replace("offer_collection: 0s", "offer_collection: 3700ms")
    });
    // No answer: the first timeout at the collection's end, the later ones 3, 4, 5 s
    // after; given up at 3.7 + 12 s.
    let (mut h, _) = boot(p);
    let sent = timers(&mut h, 100_000);
    assert_eq!(
        sent,
        [(3_700, Discover), (6_700, Discover), (10_700, Discover)]
    );
    assert_eq!(h.result.take().map(|r| ms(r.finished)), Some(15_700));
    // An offer at 1 s: the REQUEST when the collection ends, resent 1, 2, 3 s later.
    let (mut h, first) = boot(p);
    assert!(deliver(&mut h, at(1_000), &offer(&first[0], true)).is_empty());
    let sent = timers(&mut h, 9_700);
    assert_eq!(
        sent,
        [
            (3_700, Request),
            (4_700, Request),
            (6_700, Request),
            (9_700, Request)
        ]
    );
}

#[test]
fn a_firmware_that_does_not_collect_offers_requests_at_the_first_usable_one() {
    let p = edited(|t| {
        t.replace(
            "selects_offer_at_timeout: true",
            "selects_offer_at_timeout: false",
        )
    });
    let (mut h, first) = boot(p);
    // A proxy offer alone is no address: nothing yet.
    assert!(deliver(&mut h, at(300), &offer(&first[0], false)).is_empty());
    // The address offer makes the pair: the REQUEST at once, for that address.
    let out = deliver(&mut h, at(500), &offer(&first[0], true));
    assert_eq!(kind_of(&out), [MessageType::Request]);
    let req = dhcp_packet::parse(&out[0].payload).expect("REQUEST");
    assert_eq!(req.requested_ip, Some(Ipv4Addr::new(10, 0, 0, 100)));
}

#[test]
fn a_firmware_that_waits_for_a_proxy_offer_takes_an_offers_own_url_after_the_wait() {
    use MessageType::{Discover, Request};
    let p = edited(|t| {
        t.replace(
            "retransmit: [4s, 8s, 16s, 32s]",
            "retransmit: [1s, 2s, 4s, 8s]\n  proxy_offer_wait: 2s",
        )
    });
    // The address offer names a URL at 0.1 s: still waiting at 1 s, taken at 3 s.
    let (mut h, first) = boot(p);
    deliver(&mut h, at(100), &offer(&first[0], true));
    assert_eq!(timers(&mut h, 3_000), [(1_000, Discover), (3_000, Request)]);
    // An address offer naming no boot file and no proxy offer by then: it requests the
    // address and gives up, nothing to boot.
    let (mut h, first) = boot(p);
    let d = dhcp_packet::parse(&first[0].payload).expect("DISCOVER");
    let mut plain = pxelab_engine::dhcp::build_proxy_offer(
        &d,
        &pxelab_engine::dhcp::ProxyParams::new(SERVER, None),
    );
    plain[16..20].copy_from_slice(&[10, 0, 0, 100]);
    deliver(&mut h, at(100), &plain);
    assert_eq!(timers(&mut h, 3_000), [(1_000, Discover), (3_000, Request)]);
    let r = h.result.take().expect("gave up");
    assert_eq!((r.outcome, ms(r.finished)), (Outcome::NoOffer, 3_000));
}
