//! The responder over IPv6 (R-V6-1..4) and for HTTP boot clients (R-HTTP-1): the same
//! decision as over IPv4, answered in DHCPv6 or with an http:// URL.

use super::*;
use crate::dhcp6::wire::{Message6, Opt};
use crate::dhcp6::{msg, opt};
use crate::policy::{Arch, AvailableTo, Collection, HttpConfig, Purpose, Site};
use crate::testkit::{self, deployment, image, machine};
use dhcp::firmware::{self, FirmwareKind};
use proptest::prelude::*;
use std::net::Ipv6Addr;

const ME4: Ipv4Addr = testkit::RESPONDER_ADDRESS;
pub(super) const ME6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0x10, 0, 0, 0, 0, 5);
const RELAY6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0x30, 0, 0, 0, 0, 1);

fn mac(i: u8) -> Mac {
    Mac([0x52, 0x54, 0, 0, 0, i])
}

fn guid1() -> Guid {
    "11111111-2222-3333-4444-555555555555".parse().unwrap()
}

/// WS01 (mac 1) has a required deployment; WS02 (known by GUID only) an available one.
fn site() -> Arc<Site> {
    Arc::new(Site {
        code: "PS1".into(),
        boot_images: vec![
            image("PS100001", Arch::X86, 1000, true),
            image("PS100002", Arch::X64, 1000, true),
        ],
        machines: vec![
            machine("WS01", Some(mac(1)), None),
            machine("WS02", None, Some(guid1())),
        ],
        collections: vec![
            Collection {
                name: "Req".into(),
                members: vec!["WS01".into()],
            },
            Collection {
                name: "Avail".into(),
                members: vec!["WS02".into()],
            },
        ],
        deployments: vec![
            deployment(
                "PS120001",
                "Req",
                "PS100002",
                Purpose::Required,
                AvailableTo::MediaPxe,
            ),
            deployment(
                "PS120002",
                "Avail",
                "PS100002",
                Purpose::Available,
                AvailableTo::MediaPxe,
            ),
        ],
        ..Site::default()
    })
}

/// The test kit's responder on this site, dual-stack (`address6` [`ME6`]).
pub(super) fn responder(f: impl FnOnce(&mut ResponderConfig)) -> Responder {
    testkit::responder(site(), |c| {
        c.address6 = Some(ME6);
        f(c)
    })
}

fn vendor(class: &str) -> Vec<u8> {
    let mut v = 343u32.to_be_bytes().to_vec();
    v.extend((class.len() as u16).to_be_bytes());
    v.extend(class.as_bytes());
    v
}

fn duid_llt(m: Mac) -> Vec<u8> {
    let mut d = vec![0, 1, 0, 1, 0x2a, 0x2b, 0x2c, 0x2d];
    d.extend(m.0);
    d
}

/// A client message as EDK2 writes its PXE Solicit (the options R-V6 reads).
fn message(msg_type: u8, duid: Vec<u8>, class: &str, arch: u16, elapsed_cs: u16) -> Message6 {
    Message6::Client {
        msg_type,
        xid: [0, 0, 42],
        options: vec![
            Opt {
                code: opt::CLIENTID,
                data: duid,
            },
            Opt {
                code: opt::ELAPSED_TIME,
                data: elapsed_cs.to_be_bytes().to_vec(),
            },
            Opt {
                code: opt::VENDOR_CLASS,
                data: vendor(class),
            },
            Opt {
                code: opt::CLIENT_ARCH_TYPE,
                data: arch.to_be_bytes().to_vec(),
            },
        ],
    }
}

fn pxe_solicit(m: Mac) -> Message6 {
    message(
        msg::SOLICIT,
        duid_llt(m),
        "PXEClient:Arch:00007:UNDI:003016",
        7,
        0,
    )
}

fn client6(i: u8) -> SocketAddrV6 {
    let ll = Ipv6Addr::new(0xfe80, 0, 0, 0, 0x5054, 0xff, 0xfe00, u16::from(i));
    SocketAddrV6::new(ll, 546, 0, 2)
}

fn send6(
    r: &mut Responder,
    now: Instant,
    src: SocketAddrV6,
    port: u16,
    link: Option<Mac>,
    m: &Message6,
) -> Output {
    let mut out = Output::default();
    let dst = SocketAddrV6::new("ff02::1:2".parse().unwrap(), port, 0, 2);
    r.handle_datagram6(now, src, dst, link, &m.encode(), &mut out);
    out
}

fn answer_of(out: &Output) -> Message6 {
    assert_eq!(out.transmits6.len(), 1, "{:?}", out.logs);
    Message6::decode(&out.transmits6[0].payload).unwrap()
}

fn silences(out: &Output) -> Vec<&'static str> {
    out.effects
        .iter()
        .filter_map(|e| match e {
            Effect::Silent { rule, .. } => Some(*rule),
            _ => None,
        })
        .collect()
}

#[test]
fn r_v6_1_solicit_gets_an_advertise_with_the_boot_file_url() {
    let mut r = responder(|_| {});
    let out = send6(
        &mut r,
        Instant::ZERO,
        client6(1),
        547,
        Some(mac(1)),
        &pxe_solicit(mac(1)),
    );
    let t = &out.transmits6[0];
    assert_eq!(t.dst, client6(1), "on-link: back to the client");
    assert_eq!(t.src, SocketAddrV6::new(ME6, 547, 0, 0));
    let a = answer_of(&out);
    assert_eq!(a.msg_type(), msg::ADVERTISE);
    let Message6::Client { xid, .. } = &a else {
        panic!()
    };
    assert_eq!(*xid, [0, 0, 42]);
    assert_eq!(a.option(opt::CLIENTID), Some(&duid_llt(mac(1))[..]));
    assert_eq!(
        a.option(opt::SERVERID),
        Some(&dhcp6::server_duid("dp1")[..])
    );
    assert_eq!(a.option(opt::VENDOR_CLASS), Some(&vendor("PXEClient")[..]));
    assert_eq!(
        a.option(opt::BOOTFILE_URL),
        Some(&b"tftp://[2001:db8:10::5]/smsboot/PS100002/x64/bootmgfw.efi"[..])
    );
    assert_eq!(a.option(opt::IA_NA), None, "no address");
    assert!(out.effects.contains(&Effect::Answered { client: mac(1) }));
}

#[test]
fn r_v6_1_the_request_on_4011_or_547_gets_a_reply() {
    let mut r = responder(|_| {});
    for port in [4011, 547] {
        let req = message(msg::REQUEST, duid_llt(mac(1)), "PXEClient:Arch:00007", 7, 0);
        let out = send6(&mut r, Instant::ZERO, client6(1), port, Some(mac(1)), &req);
        let a = answer_of(&out);
        assert_eq!(a.msg_type(), msg::REPLY, "port {port}");
        assert_eq!(out.transmits6[0].src.port(), port);
    }
    let info = message(
        msg::INFORMATION_REQUEST,
        duid_llt(mac(1)),
        "PXEClient",
        7,
        0,
    );
    let out = send6(&mut r, Instant::ZERO, client6(1), 4011, Some(mac(1)), &info);
    assert_eq!(answer_of(&out).msg_type(), msg::REPLY);
}

#[test]
fn r_v6_1_a_request_to_another_server_is_not_answered() {
    let mut r = responder(|_| {});
    let Message6::Client {
        msg_type,
        xid,
        mut options,
    } = message(msg::REQUEST, duid_llt(mac(1)), "PXEClient", 7, 0)
    else {
        panic!()
    };
    options.push(Opt {
        code: opt::SERVERID,
        data: vec![0, 3, 0, 1, 2, 0, 0, 0, 0, 2],
    });
    let req = Message6::Client {
        msg_type,
        xid,
        options,
    };
    let out = send6(&mut r, Instant::ZERO, client6(1), 547, Some(mac(1)), &req);
    assert!(out.transmits6.is_empty());
}

#[test]
fn r_v6_1_silent_for_other_clients_and_without_address6() {
    let mut r = responder(|_| {});
    let other = message(msg::SOLICIT, duid_llt(mac(1)), "MSFT 5.0", 7, 0);
    let out = send6(&mut r, Instant::ZERO, client6(1), 547, Some(mac(1)), &other);
    assert!(out.transmits6.is_empty() && out.effects.is_empty());
    let mut v4only = responder(|c| c.address6 = None);
    let out = send6(
        &mut v4only,
        Instant::ZERO,
        client6(1),
        547,
        Some(mac(1)),
        &pxe_solicit(mac(1)),
    );
    assert!(out.transmits6.is_empty() && out.effects.is_empty());
    // An unknown device (no unknown-computer support) is silent by selection.
    let out = send6(
        &mut r,
        Instant::ZERO,
        client6(9),
        547,
        Some(mac(9)),
        &pxe_solicit(mac(9)),
    );
    assert!(out.transmits6.is_empty());
    assert!(!silences(&out).is_empty());
}

#[test]
fn r_v6_2_a_duid_uuid_client_is_known_by_its_guid() {
    let mut r = responder(|_| {});
    let mut uuid = vec![0, 4];
    uuid.extend(guid1().to_pxe_bytes());
    let s = message(msg::SOLICIT, uuid, "PXEClient:Arch:00007", 7, 0);
    let out = send6(&mut r, Instant::ZERO, client6(7), 547, Some(mac(7)), &s);
    assert_eq!(answer_of(&out).msg_type(), msg::ADVERTISE);
    assert!(
        out.logs
            .iter()
            .any(|l| l.contains("device is in the database")),
        "{:?}",
        out.logs
    );
}

#[test]
fn r_v6_2_a_duid_uuid_in_ipxes_network_order_is_known_too() {
    let mut r = responder(|_| {});
    let mut uuid = vec![0, 4];
    uuid.extend(guid1().0);
    let s = message(msg::SOLICIT, uuid, "PXEClient:Arch:00000:UNDI:002001", 0, 0);
    let out = send6(&mut r, Instant::ZERO, client6(7), 547, Some(mac(7)), &s);
    assert!(
        out.logs
            .iter()
            .any(|l| l.contains("device is in the database")),
        "{:?}",
        out.logs
    );
}

#[test]
fn r_v6_2_no_mac_anywhere_is_ignored_with_a_log_line() {
    let mut r = responder(|_| {});
    let s = message(msg::SOLICIT, vec![0, 2, 0, 0, 0, 9, 1], "PXEClient", 7, 0);
    let out = send6(&mut r, Instant::ZERO, client6(1), 547, None, &s);
    assert!(out.transmits6.is_empty());
    assert!(
        out.logs[0].contains("no link-layer address"),
        "{:?}",
        out.logs
    );
}

#[test]
fn r_v6_2_http_architecture_16_is_uefi_x64() {
    let mut r = responder(|c| c.http = Some(HttpConfig { port: 8080 }));
    let s = message(
        msg::SOLICIT,
        duid_llt(mac(1)),
        "HTTPClient:Arch:00016:UNDI:003016",
        16,
        0,
    );
    let out = send6(&mut r, Instant::ZERO, client6(1), 547, Some(mac(1)), &s);
    assert_eq!(
        answer_of(&out).option(opt::BOOTFILE_URL),
        Some(&b"http://[2001:db8:10::5]:8080/smsboot/PS100002/x64/bootmgfw.efi"[..])
    );
}

fn relayed(inner: &Message6, interface_id: Option<&[u8]>, ll: Option<Mac>) -> Message6 {
    let mut options = Vec::new();
    if let Some(id) = interface_id {
        options.push(Opt {
            code: opt::INTERFACE_ID,
            data: id.to_vec(),
        });
    }
    if let Some(m) = ll {
        let mut d = vec![0, 1];
        d.extend(m.0);
        options.push(Opt {
            code: opt::CLIENT_LINKLAYER_ADDR,
            data: d,
        });
    }
    options.push(Opt {
        code: opt::RELAY_MSG,
        data: inner.encode(),
    });
    Message6::Relay {
        msg_type: msg::RELAY_FORW,
        hop_count: 0,
        link_addr: RELAY6,
        peer_addr: *client6(1).ip(),
        options,
    }
}

#[test]
fn r_v6_3_relayed_solicit_answered_to_the_relay_echoing_the_interface_id() {
    let mut r = responder(|_| {});
    // The client's DUID is not an LL one: its MAC comes from option 79 alone.
    let mut uuid = vec![0, 4];
    uuid.extend([9u8; 16]);
    let s = message(msg::SOLICIT, uuid, "PXEClient:Arch:00007", 7, 0);
    let forw = relayed(&s, Some(b"vlan30"), Some(mac(1)));
    let relay = SocketAddrV6::new(RELAY6, 547, 0, 0);
    let out = send6(
        &mut r,
        Instant::ZERO,
        relay,
        547,
        Some(Mac([2, 0, 0, 0, 0, 0xee])),
        &forw,
    );
    let t = &out.transmits6[0];
    assert_eq!(t.dst, SocketAddrV6::new(RELAY6, 547, 0, 0));
    let reply = answer_of(&out);
    assert_eq!(reply.msg_type(), msg::RELAY_REPL);
    assert_eq!(reply.option(opt::INTERFACE_ID), Some(&b"vlan30"[..]));
    let Message6::Relay {
        link_addr,
        peer_addr,
        ..
    } = &reply
    else {
        panic!()
    };
    assert_eq!((*link_addr, *peer_addr), (RELAY6, *client6(1).ip()));
    let inner = Message6::decode(reply.option(opt::RELAY_MSG).unwrap()).unwrap();
    assert_eq!(inner.msg_type(), msg::ADVERTISE);
    assert!(
        out.effects.contains(&Effect::Answered { client: mac(1) }),
        "MAC from option 79, not the relay's frame"
    );
}

#[test]
fn r_v6_3_a_peer_does_not_answer_relayed_requests() {
    let mut r = responder(|c| c.role = Role::Peer);
    let forw = relayed(&pxe_solicit(mac(1)), None, Some(mac(1)));
    let out = send6(
        &mut r,
        Instant::ZERO,
        SocketAddrV6::new(RELAY6, 547, 0, 0),
        547,
        None,
        &forw,
    );
    assert!(out.transmits6.is_empty());
}

/// The boot program's parameters request over TFTP (IPv4): records WS01's required
/// deployment (R-STATE-1).
fn fetch_params_v4(r: &mut Responder) -> Output {
    let mut rrq = Vec::new();
    let params = bootfiles::params_path(mac(1), ClientClass::UefiX64);
    tftp_packet::encode_rrq(&mut rrq, params.as_bytes(), "octet", &[]);
    let mut out = Output::default();
    r.handle_datagram(
        Instant::ZERO,
        SocketAddrV4::new(Ipv4Addr::new(10, 10, 0, 100), 2000),
        SocketAddrV4::new(ME4, 69),
        &rrq,
        &mut out,
    );
    out
}

#[test]
fn r_v6_4_a_deployment_recorded_over_ipv4_is_not_offered_over_ipv6() {
    let mut r = responder(|_| {});
    let out = send6(
        &mut r,
        Instant::ZERO,
        client6(1),
        547,
        Some(mac(1)),
        &pxe_solicit(mac(1)),
    );
    assert_eq!(out.transmits6.len(), 1);
    let out = fetch_params_v4(&mut r);
    assert!(out
        .effects
        .iter()
        .any(|e| matches!(e, Effect::Recorded { .. })));
    let out = send6(
        &mut r,
        Instant::ZERO,
        client6(1),
        547,
        Some(mac(1)),
        &pxe_solicit(mac(1)),
    );
    assert!(out.transmits6.is_empty());
    assert_eq!(silences(&out), vec!["R-SEL-5"]);
}

#[test]
fn r_v6_4_a_deployment_offered_over_ipv6_then_recorded_is_not_offered_over_ipv4() {
    let mut r = responder(|_| {});
    // The IPv6 offer remembers nothing that IPv4 would not: the record is the state.
    let out = send6(
        &mut r,
        Instant::ZERO,
        client6(1),
        4011,
        Some(mac(1)),
        &message(msg::REQUEST, duid_llt(mac(1)), "PXEClient", 7, 0),
    );
    assert_eq!(out.transmits6.len(), 1);
    fetch_params_v4(&mut r);
    let discover =
        firmware::build_discover(firmware::model(FirmwareKind::UefiX64), mac(1), None, 77, 0);
    let mut out = Output::default();
    r.handle_datagram(
        Instant::ZERO,
        SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 68),
        SocketAddrV4::new(Ipv4Addr::BROADCAST, 67),
        &discover,
        &mut out,
    );
    assert!(out.transmits.is_empty());
    assert_eq!(silences(&out), vec!["R-SEL-5"]);
}

#[test]
fn r_v6_4_an_excluded_mac_gets_no_answer_over_either_family() {
    let mut r = responder(|c| c.mac_exclusions = vec![mac(1)]);
    let out = send6(
        &mut r,
        Instant::ZERO,
        client6(1),
        547,
        Some(mac(1)),
        &pxe_solicit(mac(1)),
    );
    assert!(out.transmits6.is_empty());
    assert_eq!(silences(&out), vec!["R-EX-2"]);
    // Relayed, identified by option 79: excluded all the same.
    let forw = relayed(&pxe_solicit(mac(1)), None, Some(mac(1)));
    let out = send6(
        &mut r,
        Instant::ZERO,
        SocketAddrV6::new(RELAY6, 547, 0, 0),
        547,
        None,
        &forw,
    );
    assert_eq!(silences(&out), vec!["R-EX-2"]);
    let discover =
        firmware::build_discover(firmware::model(FirmwareKind::UefiX64), mac(1), None, 77, 0);
    let mut out = Output::default();
    r.handle_datagram(
        Instant::ZERO,
        SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 68),
        SocketAddrV4::new(Ipv4Addr::BROADCAST, 67),
        &discover,
        &mut out,
    );
    assert_eq!(silences(&out), vec!["R-EX-2"]);
}

#[test]
fn r_v6_1_r_ans_5_the_delay_counts_option_8_in_hundredths() {
    let mut r = responder(|c| c.response_delay = Duration::from_secs(4));
    let early = message(msg::SOLICIT, duid_llt(mac(1)), "PXEClient", 7, 100);
    let out = send6(&mut r, Instant::ZERO, client6(1), 547, Some(mac(1)), &early);
    assert_eq!(silences(&out), vec!["R-ANS-5"]);
    let late = message(msg::SOLICIT, duid_llt(mac(1)), "PXEClient", 7, 400);
    let out = send6(&mut r, Instant::ZERO, client6(1), 547, Some(mac(1)), &late);
    assert_eq!(out.transmits6.len(), 1);
}

#[test]
fn r_http_1_an_httpclient_discover_gets_an_http_offer_over_ipv4() {
    let mut r = responder(|c| c.http = Some(HttpConfig::default()));
    let pxe = firmware::build_discover(firmware::model(FirmwareKind::UefiX64), mac(1), None, 77, 0);
    // A DISCOVER of the same client saying HTTPClient (and architecture 16).
    let http = dhcp::parse(&pxe).unwrap();
    let mut h = dhcp::proxy::reply_header(&http);
    h.op = 1;
    let mut w = dhcp::wire::Writer::new(&h);
    w.option(dhcp::opt::MESSAGE_TYPE, &[1]);
    w.option(
        dhcp::opt::VENDOR_CLASS,
        b"HTTPClient:Arch:00016:UNDI:003016",
    );
    w.u16(dhcp::opt::CLIENT_ARCH, 16);
    let discover = w.finish();
    let mut out = Output::default();
    r.handle_datagram(
        Instant::ZERO,
        SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 68),
        SocketAddrV4::new(Ipv4Addr::BROADCAST, 67),
        &discover,
        &mut out,
    );
    assert_eq!(out.transmits.len(), 1, "{:?}", out.logs);
    let offer = dhcp::parse(&out.transmits[0].payload).unwrap();
    let url = "http://10.10.0.5/smsboot/PS100002/x64/bootmgfw.efi";
    assert_eq!(offer.vendor_class.as_deref(), Some(&b"HTTPClient"[..]));
    assert_eq!(
        offer.option(dhcp::opt::BOOTFILE_NAME).as_deref(),
        Some(url.as_bytes())
    );
    assert_eq!(offer.yiaddr, Ipv4Addr::UNSPECIFIED);
    // Without `http`, an HTTP client is not the responder's business.
    let mut pxe_only = responder(|_| {});
    let mut out = Output::default();
    pxe_only.handle_datagram(
        Instant::ZERO,
        SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 68),
        SocketAddrV4::new(Ipv4Addr::BROADCAST, 67),
        &discover,
        &mut out,
    );
    assert!(out.transmits.is_empty() && out.effects.is_empty());
}

#[test]
fn r_http_1_without_http_an_ipv6_http_client_is_not_answered() {
    let mut r = responder(|_| {});
    let s = message(
        msg::SOLICIT,
        duid_llt(mac(1)),
        "HTTPClient:Arch:00016",
        16,
        0,
    );
    let out = send6(&mut r, Instant::ZERO, client6(1), 547, Some(mac(1)), &s);
    assert!(out.transmits6.is_empty() && out.effects.is_empty());
}

proptest! {
    #[test]
    fn arbitrary_dhcpv6_datagrams_never_panic(
        payload in proptest::collection::vec(any::<u8>(), 0..300),
        port in prop_oneof![Just(547u16), Just(4011u16), Just(69u16)],
    ) {
        let mut r = responder(|c| c.http = Some(HttpConfig::default()));
        let mut out = Output::default();
        r.handle_datagram6(
            Instant::ZERO,
            client6(1),
            SocketAddrV6::new(ME6, port, 0, 0),
            Some(mac(1)),
            &payload,
            &mut out,
        );
    }

    #[test]
    fn well_formed_solicits_with_arbitrary_options_never_panic(
        opts in proptest::collection::vec((0u16..100, proptest::collection::vec(any::<u8>(), 0..24)), 0..8),
    ) {
        let mut r = responder(|c| c.http = Some(HttpConfig::default()));
        let Message6::Client { mut options, .. } = pxe_solicit(mac(1)) else { unreachable!() };
        options.extend(opts.into_iter().map(|(code, data)| Opt { code, data }));
        let m = Message6::Client { msg_type: msg::SOLICIT, xid: [1, 2, 3], options };
        send6(&mut r, Instant::ZERO, client6(1), 547, Some(mac(1)), &m);
        let forw = relayed(&m, Some(b"x"), None);
        send6(&mut r, Instant::ZERO, SocketAddrV6::new(RELAY6, 547, 0, 0), 547, None, &forw);
    }
}

#[test]
fn r_http_2_r_v6_4_the_parameters_over_http_record_the_deployment_for_both_families() {
    use crate::http::{Connection, HttpLimits};
    let mut r = responder(|c| c.http = Some(HttpConfig::default()));
    let mut conn = Connection::new(Instant::ZERO, HttpLimits::default());
    let params = bootfiles::params_path(mac(1), ClientClass::UefiX64);
    conn.handle_input(
        Instant::ZERO,
        format!("GET /{params} HTTP/1.1\r\n\r\n").as_bytes(),
    );
    let head = conn.poll_request(Instant::ZERO).unwrap();
    let mut out = Output::default();
    let file = r.http_open(&head.path, &mut out);
    assert!(out
        .effects
        .iter()
        .any(|e| matches!(e, Effect::Recorded { .. })));
    conn.respond(file);
    let mut bytes = Vec::new();
    while conn.poll_send(Instant::ZERO, 1 << 16, &mut bytes) > 0 {}
    let text = String::from_utf8(bytes).unwrap();
    assert!(text.starts_with("HTTP/1.1 200 OK"), "{text}");
    assert!(text.contains("PS120001"), "{text}");
    // Recorded: neither family offers it again.
    let out = send6(
        &mut r,
        Instant::ZERO,
        client6(1),
        547,
        Some(mac(1)),
        &pxe_solicit(mac(1)),
    );
    assert_eq!(silences(&out), vec!["R-SEL-5"]);
    // A boot program file is served; a missing one is 404; without `http`, nothing.
    let mut out = Output::default();
    assert!(r
        .http_open("smsboot/ps100002/x64/bootmgfw.efi", &mut out)
        .is_ok());
    assert_eq!(
        r.http_open("nope", &mut out).err(),
        Some(crate::http::Status::NOT_FOUND)
    );
    let mut pxe_only = responder(|_| {});
    assert!(pxe_only
        .http_open("smsboot/ps100002/x64/bootmgfw.efi", &mut out)
        .is_err());
}

/// R-V6-2: EDK2's boot request from a remote client comes routed to port 4011 with a
/// DUID-UUID and no link-layer address; the MAC its relayed Solicit gave (option 79)
/// identifies it.
#[test]
fn r_v6_2_a_routed_boot_request_is_known_by_the_mac_its_duid_came_with() {
    let mut r = responder(|_| {});
    let mut duid = vec![0, 4];
    duid.extend(guid1().to_pxe_bytes());
    let req = message(
        msg::REQUEST,
        duid.clone(),
        "PXEClient:Arch:00007:UNDI:003000",
        7,
        0,
    );
    let remote = SocketAddrV6::new("2001:db8:30::100".parse().unwrap(), 4011, 0, 0);
    // Before any relayed message: no MAC anywhere.
    let out = send6(&mut r, Instant::ZERO, remote, 4011, None, &req);
    assert!(out.transmits6.is_empty(), "{:?}", out.logs);
    let solicit = message(msg::SOLICIT, duid, "PXEClient:Arch:00007:UNDI:003000", 7, 0);
    let relay = SocketAddrV6::new(RELAY6, 547, 0, 0);
    let out = send6(
        &mut r,
        Instant::ZERO,
        relay,
        547,
        None,
        &relayed(&solicit, None, Some(mac(5))),
    );
    assert_eq!(out.transmits6.len(), 1, "{:?}", out.logs);
    let out = send6(&mut r, Instant::ZERO, remote, 4011, None, &req);
    assert_eq!(out.transmits6.len(), 1, "{:?}", out.logs);
    assert!(
        out.logs.iter().any(|l| l.contains("52:54:00:00:00:05")),
        "{:?}",
        out.logs
    );
}
