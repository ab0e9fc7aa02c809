//! The responder's rules over IPv4: proxy DHCP, 4011, sites, peers, TFTP.

use super::*;
use crate::dhcp::firmware::{self, FirmwareKind};
use crate::dhcp::packet::parse;
use crate::dhcp::relay::RelayAgent;
use crate::policy::{Arch, AvailableTo, Collection, Machine, Purpose, Site};
use crate::state::MemoryStore;
use crate::testkit::{self, deployment, image, machine, SameFileRoot};
use proptest::prelude::*;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

/// Every `smsboot/` file is 3,000 bytes of 7.
fn root() -> SameFileRoot {
    SameFileRoot::new("smsboot/", vec![7u8; 3000])
}

const ME: Ipv4Addr = testkit::RESPONDER_ADDRESS;

fn mac(i: u8) -> Mac {
    Mac([0x52, 0x54, 0, 0, 0, i])
}

fn site() -> Arc<Site> {
    Arc::new(Site {
        code: "PS1".into(),
        boot_images: vec![
            image("PS100001", Arch::X86, 1000, true),
            image("PS100002", Arch::X64, 1000, true),
        ],
        machines: vec![machine("WS01", Some(mac(1)), None)],
        collections: vec![Collection {
            name: "Lab".into(),
            members: vec!["WS01".into()],
        }],
        deployments: vec![deployment(
            "PS120001",
            "Lab",
            "PS100002",
            Purpose::Available,
            AvailableTo::MediaPxe,
        )],
        ..Site::default()
    })
}

fn uefi() -> &'static firmware::FirmwareModel {
    firmware::model(FirmwareKind::UefiX64)
}

fn discover(secs: u16) -> Vec<u8> {
    firmware::build_discover(uefi(), mac(1), None, 77, secs)
}

const CLIENT_IP: Ipv4Addr = Ipv4Addr::new(10, 10, 0, 100);

/// EDK2's request to port 4011, sent from its new address and port 4011.
fn ask_4011(r: &mut Responder) -> Output {
    let req = firmware::build_pxe_request(uefi(), mac(1), None, 77, CLIENT_IP, ME, 0);
    send(
        r,
        Instant::ZERO,
        SocketAddrV4::new(CLIENT_IP, 4011),
        4011,
        &req,
    )
}

fn client68() -> SocketAddrV4 {
    SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 68)
}

fn send(r: &mut Responder, now: Instant, src: SocketAddrV4, port: u16, p: &[u8]) -> Output {
    let mut out = Output::default();
    r.handle_datagram(now, src, SocketAddrV4::new(ME, port), p, &mut out);
    out
}

#[test]
fn r_ans_1_proxy_offer_then_4011_ack_names_the_boot_file() {
    let mut r = testkit::responder(site(), |_| {});
    let out = send(&mut r, Instant::ZERO, client68(), 67, &discover(0));
    assert_eq!(out.transmits.len(), 1);
    let t = &out.transmits[0];
    assert_eq!(t.dst, SocketAddrV4::new(Ipv4Addr::BROADCAST, 68));
    let offer = parse(&t.payload).unwrap();
    assert_eq!(offer.yiaddr, Ipv4Addr::UNSPECIFIED);
    assert!(offer.is_pxe_client());
    assert_eq!(offer.server_id, Some(ME));
    // EDK2 asks port 4011 from port 4011 with its new address; the ACK goes back there.
    let ip = Ipv4Addr::new(10, 10, 0, 100);
    let req = firmware::build_pxe_request(uefi(), mac(1), None, 77, ip, ME, 0);
    let src = SocketAddrV4::new(ip, 4011);
    let out = send(&mut r, Instant::ZERO, src, 4011, &req);
    assert_eq!(out.transmits.len(), 1);
    assert_eq!(out.transmits[0].dst, src);
    let ack = parse(&out.transmits[0].payload).unwrap();
    assert_eq!(ack.message_type, Some(MessageType::Ack));
    assert_eq!(
        ack.file_lossy().trim_end_matches('\0'),
        "smsboot/PS100002/x64/bootmgfw.efi"
    );
}

#[test]
fn r_ex_2_excluded_mac_gets_no_4011_answer_either() {
    let mut r = testkit::responder(site(), |c| c.mac_exclusions = vec![mac(1)]);
    let out = ask_4011(&mut r);
    assert!(out.transmits.is_empty());
    let out = send(&mut r, Instant::ZERO, client68(), 67, &discover(0));
    assert!(out.transmits.is_empty());
    // R-EX-3: a reload lifts it.
    r.set_exclusions(vec![]);
    assert_eq!(
        send(&mut r, Instant::ZERO, client68(), 67, &discover(0))
            .transmits
            .len(),
        1
    );
}

#[test]
fn r_ans_4_respond_false_is_silent_on_67_and_4011() {
    let mut r = testkit::responder(site(), |c| c.respond = false);
    assert!(send(&mut r, Instant::ZERO, client68(), 67, &discover(0))
        .transmits
        .is_empty());
    assert!(ask_4011(&mut r).transmits.is_empty());
}

#[test]
fn r_ans_2_not_listening_on_67_still_answers_4011() {
    let mut r = testkit::responder(site(), |c| c.listen_dhcp_port = false);
    assert!(send(&mut r, Instant::ZERO, client68(), 67, &discover(0))
        .transmits
        .is_empty());
    let out = ask_4011(&mut r);
    assert_eq!(out.transmits.len(), 1);
}

#[test]
fn r_ans_5_elapsed_is_the_larger_of_secs_and_local_time() {
    let mut r = testkit::responder(site(), |c| c.response_delay = Duration::from_secs(4));
    // secs 0 and first seen now: wait.
    assert!(send(&mut r, Instant::ZERO, client68(), 67, &discover(0))
        .transmits
        .is_empty());
    // Same transaction 4 s later, still secs 0: local elapsed counts.
    let t4 = Instant::ZERO + Duration::from_secs(4);
    assert_eq!(
        send(&mut r, t4, client68(), 67, &discover(0))
            .transmits
            .len(),
        1
    );
    // A fresh responder and a client that says secs 5: answered at once.
    let mut r = testkit::responder(site(), |c| c.response_delay = Duration::from_secs(4));
    assert_eq!(
        send(&mut r, Instant::ZERO, client68(), 67, &discover(5))
            .transmits
            .len(),
        1
    );
}

#[test]
fn r_ans_3_relayed_discover_answered_to_giaddr_with_option82_echoed() {
    let mut relay = RelayAgent::new(
        vec![
            (0, Ipv4Addr::new(10, 20, 0, 1), 24),
            (1, Ipv4Addr::new(10, 10, 0, 1), 24),
        ],
        BTreeMap::from([(0, vec![ME])]),
        BTreeMap::from([(0, (Some(b"vlan20".to_vec()), Some(b"r1".to_vec())))]),
    );
    let relayed = relay.from_client(0, &discover(0));
    assert_eq!(relayed.len(), 1);
    let (_, src_ip, payload) = &relayed[0];
    let sent = parse(payload).unwrap();
    let mut r = testkit::responder(site(), |_| {});
    let out = send(
        &mut r,
        Instant::ZERO,
        SocketAddrV4::new(*src_ip, 67),
        67,
        payload,
    );
    assert_eq!(out.transmits.len(), 1);
    assert_eq!(
        out.transmits[0].dst,
        SocketAddrV4::new(Ipv4Addr::new(10, 20, 0, 1), 67)
    );
    let offer = parse(&out.transmits[0].payload).unwrap();
    assert_eq!(
        offer.relay_agent_info.as_ref().map(|o| o.raw.clone()),
        sent.relay_agent_info.as_ref().map(|o| o.raw.clone())
    );
    assert!(offer.relay_agent_info.is_some());
}

// ---- R-ID-5: sites of a hierarchy ----

/// `site()` with WS02 (`mac(2)`, assigned to the other primary site PS2) beside
/// WS01 in `Lab`, whose deployment is required.
fn two_sites() -> Arc<Site> {
    let mut s = (*site()).clone();
    s.other_sites = vec!["PS2".into()];
    s.machines.push(Machine {
        name: "WS02".into(),
        mac: Some(mac(2)),
        smbios_guid: None,
        assigned_site: Some("PS2".into()),
    });
    s.collections[0].members.push("WS02".into());
    s.deployments[0].purpose = Purpose::Required;
    Arc::new(s)
}

/// A responder of `site_code` (`None`: the site's own) on the two-site site.
fn of_site(
    name: &str,
    last_octet: u8,
    role: Role,
    site_code: Option<&str>,
    site: &Arc<Site>,
    store: Box<dyn StateStore>,
) -> Responder {
    let mut cfg = ResponderConfig::new(name, Ipv4Addr::new(10, 10, 0, last_octet), role);
    cfg.images = vec!["PS100001".into(), "PS100002".into()];
    cfg.site = site_code.map(str::to_string);
    Responder::new(Instant::ZERO, cfg, site.clone(), store, Arc::new(root()), 1)
}

/// A client's DISCOVER (EDK2, `secs` 0) at a responder, at `now`.
fn discover_at(r: &mut Responder, now: Instant, client: Mac) -> Output {
    let d = firmware::build_discover(uefi(), client, None, 77, 0);
    let mut out = Output::default();
    let dst = SocketAddrV4::new(Ipv4Addr::BROADCAST, 67);
    r.handle_datagram(now, client68(), dst, &d, &mut out);
    out
}

fn silences(out: &Output) -> Vec<(&'static str, &str)> {
    out.effects
        .iter()
        .filter_map(|e| match e {
            Effect::Silent { rule, reason, .. } => Some((*rule, reason.as_str())),
            _ => None,
        })
        .collect()
}

#[test]
fn r_id_5_no_proxy_offer_and_no_4011_ack_for_a_device_of_another_site() {
    let s = two_sites();
    let store = Box::new(MemoryStore::new());
    let mut dp1 = of_site("dp1", 5, Role::DistributionPoint, None, &s, store);
    let out = discover_at(&mut dp1, Instant::ZERO, mac(2));
    assert!(out.transmits.is_empty(), "no proxy offer");
    let why = "device is assigned to site PS2, its policies are not visible at site PS1";
    assert_eq!(silences(&out), vec![("R-ID-5", why)]);
    assert!(out
        .logs
        .iter()
        .all(|l| l.starts_with("52:54:00:00:00:02, ")));
    let lines: Vec<&str> = out
        .logs
        .iter()
        .filter_map(|l| l.split_once(": ").map(|(_, text)| text))
        .collect();
    assert_eq!(
        lines,
        vec!["device is in the database", why, "Not serviced."]
    );
    // Its 4011 request is not answered either.
    let req = firmware::build_pxe_request(uefi(), mac(2), None, 77, CLIENT_IP, ME, 0);
    let from = SocketAddrV4::new(CLIENT_IP, 4011);
    let out = send(&mut dp1, Instant::ZERO, from, 4011, &req);
    assert!(out.transmits.is_empty(), "no 4011 ACK");
    assert_eq!(silences(&out), vec![("R-ID-5", why)]);
    // PS1's own machine gets its offer from the same DP.
    let out = discover_at(&mut dp1, Instant::ZERO, mac(1));
    assert_eq!(out.transmits.len(), 1);
    assert_eq!(out.effects, vec![Effect::Answered { client: mac(1) }]);
}

#[test]
fn r_id_5_state_recorded_by_one_sites_responder_is_seen_by_the_others() {
    // One state store for the hierarchy, as the simulator and `pxelab serve --state`
    // share it: dp2 (PS2) records WS02's required deployment; dp1 (PS1) sees it.
    let s = two_sites();
    let store = Rc::new(RefCell::new(MemoryStore::new()));
    let dp = |name, octet, code| {
        let store = Box::new(store.clone());
        of_site(name, octet, Role::DistributionPoint, code, &s, store)
    };
    let (mut dp1, mut dp2) = (dp("dp1", 5, None), dp("dp2", 6, Some("PS2")));
    assert_eq!(
        discover_at(&mut dp2, Instant::ZERO, mac(2)).transmits.len(),
        1
    );
    // The boot program asks dp2 for its parameters: the deployment is recorded.
    let mut rrq = Vec::new();
    let params = bootfiles::params_path(mac(2), ClientClass::UefiX64);
    tftp_packet::encode_rrq(&mut rrq, params.as_bytes(), "octet", &[]);
    let from = SocketAddrV4::new(CLIENT_IP, 2000);
    let out = send(&mut dp2, Instant::ZERO, from, 69, &rrq);
    assert!(out.effects.contains(&Effect::Recorded {
        device: "machine:WS02".into(),
        deployment: "PS120001".into()
    }));
    let ws02 = crate::state::DeviceKey::machine("WS02");
    assert!(dp1.store_mut().is_recorded(&ws02, "PS120001"));
    // dp2 does not offer it again (R-STATE-1); dp1 still stays silent by R-ID-5,
    // and records of PS1's machines live in the same store.
    let out = discover_at(&mut dp2, Instant::ZERO + Duration::from_secs(1), mac(2));
    assert_eq!(silences(&out), vec![("R-SEL-5", "no advertisements found")]);
    assert_eq!(
        silences(&discover_at(&mut dp1, Instant::ZERO, mac(2)))[0].0,
        "R-ID-5"
    );
    let ws01 = crate::state::DeviceKey::machine("WS01");
    dp1.store_mut().record(&ws01, "PS120001").unwrap();
    assert!(dp2.store_mut().is_recorded(&ws01, "PS120001"));
    assert_eq!(store.borrow().len(), 2);
}

/// Runs the peers' membership (every datagram delivered 1 ms later, broadcasts to
/// all others) until each counts all the others alive; returns the time.
fn converge(peers: &mut [Responder]) -> Instant {
    let mut now = Instant::ZERO;
    let mut inflight: Vec<(Instant, usize, Transmit)> = Vec::new();
    let step = Duration::from_millis(1);
    while peers.iter().any(|p| p.live_peers().len() + 1 < peers.len()) {
        assert!(
            now < Instant::ZERO + Duration::from_secs(30),
            "no convergence"
        );
        let mut due = Vec::new();
        inflight.retain(|(at, from, t)| {
            if *at <= now {
                due.push((*from, t.clone()));
                false
            } else {
                true
            }
        });
        for (from, t) in due {
            for (i, p) in peers.iter_mut().enumerate() {
                let to_me = t.dst.ip().is_broadcast() || *t.dst.ip() == p.config().address;
                if i != from && to_me {
                    let mut out = Output::default();
                    p.handle_datagram(now, t.src, t.dst, &t.payload, &mut out);
                    inflight.extend(out.transmits.into_iter().map(|t| (now + step, i, t)));
                }
            }
        }
        for (i, p) in peers.iter_mut().enumerate() {
            if p.poll_timeout().is_some_and(|t| t <= now) {
                let mut out = Output::default();
                p.handle_timeout(now, &mut out);
                inflight.extend(out.transmits.into_iter().map(|t| (now + step, i, t)));
            }
        }
        now = now + step;
    }
    now
}

#[test]
fn r_ans_6_r_id_5_a_peer_of_another_site_is_not_ranked() {
    // A client for which p2 ranks ahead of p1: WS01 gets that MAC.
    let client = (1..=255u8)
        .map(mac)
        .find(|m| election::score(*m, "p2") > election::score(*m, "p1"))
        .expect("some MAC ranks p2 first");
    let mut s = (*two_sites()).clone();
    s.machines[0].mac = Some(client);
    s.machines[1].mac = Some(mac(0));
    let s = Arc::new(s);
    let peer = |name: &str, octet, code: Option<&str>| {
        of_site(
            name,
            octet,
            Role::Peer,
            code,
            &s,
            Box::new(MemoryStore::new()),
        )
    };
    // p1 of PS1 and p2 of PS2 on one segment, both holding the image: for WS01 (PS1)
    // p2 would stay silent (R-ID-5), so p1 does not wait for it.
    let mut peers = vec![peer("p1", 11, None), peer("p2", 12, Some("PS2"))];
    let now = converge(&mut peers);
    assert_eq!(peers[0].live_peers(), vec!["p2".to_string()]);
    let out = discover_at(&mut peers[0], now, client);
    assert_eq!(out.transmits.len(), 1, "p1 answers at once: {:?}", out.logs);
    assert_eq!(
        silences(&discover_at(&mut peers[1], now, client))[0].0,
        "R-ID-5"
    );
    // Control: with p2 of PS1 too, p2 is ranked first and p1 waits one failover step.
    let mut peers = vec![peer("p1", 11, None), peer("p2", 12, None)];
    let now = converge(&mut peers);
    let out = discover_at(&mut peers[0], now, client);
    assert!(out.transmits.is_empty());
    assert_eq!(
        silences(&out),
        vec![(
            "R-ANS-6",
            "waiting: elapsed 0.0s is below the response delay 4.0s"
        )]
    );
    assert_eq!(discover_at(&mut peers[1], now, client).transmits.len(), 1);
}

#[test]
fn r_tftp_1_write_request_refused_from_a_new_port() {
    let mut r = testkit::responder(site(), |_| {});
    let mut wrq = Vec::new();
    tftp_packet::encode_wrq(&mut wrq, b"smsboot/x", "octet", &[]);
    let out = send(
        &mut r,
        Instant::ZERO,
        SocketAddrV4::new(Ipv4Addr::new(10, 10, 0, 100), 2000),
        69,
        &wrq,
    );
    assert_eq!(out.transmits.len(), 1);
    assert_ne!(out.transmits[0].src.port(), 69);
    assert!(matches!(
        Packet::parse(&out.transmits[0].payload),
        Ok(Packet::Error { code: 2, .. })
    ));
    assert_eq!(r.active_transfers(), 0);
}

#[test]
fn r_tftp_6_a_client_that_vanishes_fails_alone() {
    let mut r = testkit::responder(site(), |c| c.tftp.window_size = 1);
    let a = SocketAddrV4::new(Ipv4Addr::new(10, 10, 0, 100), 2000);
    let b = SocketAddrV4::new(Ipv4Addr::new(10, 10, 0, 101), 2000);
    let mut rrq = Vec::new();
    tftp_packet::encode_rrq(&mut rrq, b"smsboot/a", "octet", &[]);
    let ta = send(&mut r, Instant::ZERO, a, 69, &rrq).transmits[0]
        .src
        .port();
    let tb = send(&mut r, Instant::ZERO, b, 69, &rrq).transmits[0]
        .src
        .port();
    assert_ne!(ta, tb);
    // b acknowledges its six blocks; a never answers. Time runs from timer to timer.
    let mut failed = 0;
    for block in 1..=6u16 {
        let mut ack = Vec::new();
        tftp_packet::encode_ack(&mut ack, block);
        let _ = send(&mut r, Instant::ZERO, b, tb, &ack);
    }
    let mut guard = 0;
    while let Some(now) = r.poll_timeout() {
        guard += 1;
        if r.active_transfers() == 0 || guard > 100 {
            break;
        }
        let mut out = Output::default();
        r.handle_timeout(now, &mut out);
        failed += out
            .effects
            .iter()
            .filter(|e| matches!(e, Effect::TransferFailed { client, .. } if *client == SocketAddr::V4(a)))
            .count();
    }
    assert_eq!(failed, 1, "the silent client's transfer fails");
    assert_eq!(r.active_transfers(), 0, "b finished its 3000 bytes");
}

fn rrq(file: &str, mode: &str, opts: &[(&str, &str)]) -> Vec<u8> {
    let mut b = Vec::new();
    tftp_packet::encode_rrq(&mut b, file.as_bytes(), mode, opts);
    b
}

fn client(i: u8) -> SocketAddrV4 {
    SocketAddrV4::new(Ipv4Addr::new(10, 10, 0, 100 + i), 2000)
}

#[test]
fn transfer_ports_are_drawn_at_random_from_the_range_and_repeat_with_the_seed() {
    let ports = |seed: u64| {
        let mut r = testkit::responder(site(), |_| {});
        r.set_transfer_ports(
            TransferPorts {
                first: 50000,
                last: 50099,
            },
            seed,
        );
        (0..40u8)
            .map(|i| {
                let out = send(
                    &mut r,
                    Instant::ZERO,
                    client(i),
                    69,
                    &rrq("smsboot/a", "octet", &[]),
                );
                out.transmits[0].src.port()
            })
            .collect::<Vec<u16>>()
    };
    let a = ports(7);
    assert!(a.iter().all(|p| (50000..=50099).contains(p)), "{a:?}");
    let mut distinct = a.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!(
        distinct.len(),
        a.len(),
        "no port twice among running transfers"
    );
    assert!(
        a.windows(2).filter(|w| w[1] == w[0] + 1).count() < 5,
        "not handed out in sequence: {a:?}"
    );
    assert_eq!(ports(7), a, "the same seed, the same ports (the simulator)");
    assert_ne!(ports(8), a);
    // The default range, drawn from the responder's own seed.
    let mut r = testkit::responder(site(), |_| {});
    assert_eq!(r.transfer_ports(), TransferPorts::default());
    let out = send(
        &mut r,
        Instant::ZERO,
        client(0),
        69,
        &rrq("smsboot/a", "octet", &[]),
    );
    assert!(out.transmits[0].src.port() >= 49152);
}

#[test]
fn transfer_ports_parse_as_a_range_clear_of_the_responders_ports() {
    assert_eq!(
        "50000-50010".parse::<TransferPorts>(),
        Ok(TransferPorts {
            first: 50000,
            last: 50010
        })
    );
    assert_eq!(TransferPorts::default().to_string(), "49152-65535");
    for bad in [
        "50000",
        "5-4",
        "100-2000",
        "4000-5000",
        "a-b",
        "60000-70000",
    ] {
        assert!(bad.parse::<TransferPorts>().is_err(), "{bad}");
    }
}

#[test]
fn a_port_the_driver_cannot_open_moves_the_transfer_then_drops_it_with_an_error() {
    let mut r = testkit::responder(site(), |c| c.tftp.window_size = 1);
    r.set_transfer_ports(
        TransferPorts {
            first: 50000,
            last: 50015,
        },
        3,
    );
    let c = client(0);
    let out = send(
        &mut r,
        Instant::ZERO,
        c,
        69,
        &rrq("smsboot/a", "octet", &[]),
    );
    let mut port = out.transmits[0].src.port();
    let mut tried = vec![port];
    for i in 1..MAX_PORT_TRIES {
        let mut o = Output::default();
        let to = r
            .transfer_port_unavailable(port, &mut o)
            .expect("moved to another port");
        assert!(!tried.contains(&to), "a port tried before: {to}");
        assert!(o.effects.contains(&Effect::TransferMoved {
            client: SocketAddr::V4(c),
            from: port,
            to
        }));
        assert!(o.logs.iter().any(|l| l.contains("in use")), "{:?}", o.logs);
        assert_eq!(r.active_transfers(), 1, "try {i}");
        tried.push(to);
        port = to;
    }
    // The client's ACK reaches the transfer on its new port.
    let mut ack = Vec::new();
    tftp_packet::encode_ack(&mut ack, 1);
    let o = send(&mut r, Instant::ZERO, c, port, &ack);
    assert!(matches!(
        Packet::parse(&o.transmits[0].payload),
        Ok(Packet::Data { block: 2, .. })
    ));
    // Its timer followed it.
    let at = r.poll_timeout().expect("a timer");
    let mut o = Output::default();
    r.handle_timeout(at, &mut o);
    assert_eq!(o.transmits.len(), 1);
    assert_eq!(o.transmits[0].src.port(), port);
    // The last try: dropped, the client told from port 69, nothing kept.
    let mut o = Output::default();
    assert_eq!(r.transfer_port_unavailable(port, &mut o), None);
    assert_eq!(r.active_transfers(), 0);
    assert_eq!(o.transmits.len(), 1);
    assert_eq!(o.transmits[0].src.port(), TFTP_PORT);
    assert_eq!(o.transmits[0].dst, c);
    assert!(matches!(
        Packet::parse(&o.transmits[0].payload),
        Ok(Packet::Error { code: 0, message }) if message.contains("transfer port")
    ));
    assert!(matches!(&o.effects[..], [Effect::TransferFailed { port: p, .. }] if *p == port));
    // Its retransmitted request starts a new transfer: nothing "exists" any more.
    let out = send(
        &mut r,
        Instant::ZERO,
        c,
        69,
        &rrq("smsboot/a", "octet", &[]),
    );
    assert!(matches!(
        Packet::parse(&out.transmits[0].payload),
        Ok(Packet::Data { block: 1, .. })
    ));
    // A port no transfer uses (a one-off error reply's): nothing to move.
    let mut o = Output::default();
    assert_eq!(r.transfer_port_unavailable(12345, &mut o), None);
    assert!(o.transmits.is_empty() && o.effects.is_empty());
}

#[test]
fn netascii_is_served_translated_and_other_modes_are_named_in_the_error() {
    let mut r = testkit::responder(site(), |_| {});
    // The root's files are 3000 bytes of 7: nothing to translate; tsize is the
    // translated length all the same (the parameters file has LFs).
    let out = send(
        &mut r,
        Instant::ZERO,
        client(0),
        69,
        &rrq("smsboot/a", "netascii", &[("tsize", "0")]),
    );
    assert!(matches!(
        Packet::parse(&out.transmits[0].payload),
        Ok(Packet::Oack { options }) if options == [("tsize".to_string(), "3000".to_string())]
    ));
    for mode in ["mail", "binary", "ascii"] {
        let out = send(
            &mut r,
            Instant::ZERO,
            client(1),
            69,
            &rrq("smsboot/a", mode, &[]),
        );
        let Ok(Packet::Error { code, message }) = Packet::parse(&out.transmits[0].payload) else {
            panic!("{mode}: no error")
        };
        assert_eq!(code, tftp_packet::ERR_ILLEGAL_OP);
        assert!(
            message.contains(mode) && message.contains("octet or netascii"),
            "{message}"
        );
        assert!(!message.contains("only octet"));
    }
}

/// Bytes and datagrams a responder sends for one spoofed read request whose
/// "client" never answers, until the transfer gives up.
fn spoofed(options: &[(&str, &str)]) -> (usize, usize, usize, usize) {
    let mut r = testkit::responder(site(), |c| {
        c.tftp.block_size = 8192;
        c.tftp.window_size = 16;
    });
    let mut rrq = Vec::new();
    tftp_packet::encode_rrq(
        &mut rrq,
        b"smsboot/PS100002/x64/bootmgfw.efi",
        "octet",
        options,
    );
    let victim = SocketAddrV4::new(Ipv4Addr::new(192, 0, 2, 1), 69);
    let first = send(&mut r, Instant::ZERO, victim, 69, &rrq);
    let first_datagrams = first.transmits.len();
    let (mut datagrams, mut bytes) = (
        first_datagrams,
        first
            .transmits
            .iter()
            .map(|t| t.payload.len())
            .sum::<usize>(),
    );
    while let Some(t) = r.poll_timeout() {
        if r.active_transfers() == 0 {
            break;
        }
        let mut out = Output::default();
        r.handle_timeout(t, &mut out);
        datagrams += out.transmits.len();
        bytes += out.transmits.iter().map(|t| t.payload.len()).sum::<usize>();
    }
    (first_datagrams, datagrams, bytes, rrq.len())
}

#[test]
fn spoofed_request_amplification_is_bounded() {
    // With options: only the OACK before the client answers, then its retries.
    let (first, n, bytes, req) =
        spoofed(&[("blksize", "8192"), ("windowsize", "16"), ("tsize", "0")]);
    assert_eq!(first, 1, "only an OACK before the client answers");
    assert_eq!(n, 1 + ServerConfig::default().max_retries as usize);
    println!(
        "spoofed RRQ with options: {n} datagrams, {bytes} bytes for {req} request bytes ({:.1}x)",
        bytes as f64 / req as f64
    );
    assert!(bytes <= 7 * 64, "{bytes}");
    // Without options: one window of one 512-byte block, then its retries.
    let (first, n, bytes, req) = spoofed(&[]);
    assert_eq!(first, 1, "one block before the client answers");
    assert_eq!(n, 1 + ServerConfig::default().max_retries as usize);
    println!("spoofed RRQ without options: {n} datagrams, {bytes} bytes for {req} request bytes ({:.1}x)", bytes as f64 / req as f64);
    assert!(bytes <= 7 * 516, "{bytes}");
}

proptest! {
    /// No datagram on any port makes the responder panic, and its memory of
    /// transactions and transfers stays bounded.
    #[test]
    fn arbitrary_datagrams_never_panic(
        packets in proptest::collection::vec(
            (prop_oneof![Just(67u16), Just(68), Just(69), Just(4011), Just(PEER_PORT), Just(49152), 0u16..=65535],
             proptest::collection::vec(any::<u8>(), 0..700)),
            1..40),
    ) {
        let mut r = testkit::responder(site(), |c| c.response_delay = Duration::from_secs(1));
        let mut now = Instant::ZERO;
        for (port, bytes) in &packets {
            now = now + Duration::from_millis(100);
            let _ = send(&mut r, now, SocketAddrV4::new(Ipv4Addr::new(10, 10, 0, 200), 2000), *port, bytes);
            // Mutated real packets reach deeper than random bytes.
            let mut d = discover(0);
            for (i, b) in bytes.iter().enumerate().take(8) {
                let at = (*b as usize * 7 + i * 31) % d.len();
                d[at] ^= b;
            }
            let _ = send(&mut r, now, client68(), 67, &d);
            let mut out = Output::default();
            r.handle_timeout(now, &mut out);
        }
        prop_assert!(r.active_transfers() <= packets.len());
    }
}
