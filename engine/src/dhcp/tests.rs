//! Tests across the DHCP building blocks: firmware → relay → server/responder → relay.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddrV4};

use proptest::prelude::*;

use super::firmware::{self, FirmwareKind};
use super::packet::{parse, MessageType};
use super::proxy::{build_proxy_ack, build_proxy_offer, ProxyParams};
use super::relay::RelayAgent;
use super::server::{DhcpServer, Pool};
use super::*;
use crate::{Guid, Instant, Mac};

fn mac(n: u8) -> Mac {
    Mac([0x52, 0x54, 0, 0, 0, n])
}
fn guid() -> Guid {
    "11111111-2222-3333-4444-555555555555".parse().unwrap()
}
fn ip(a: u8, b: u8, c: u8, d: u8) -> Ipv4Addr {
    Ipv4Addr::new(a, b, c, d)
}
const HQ: (Ipv4Addr, u8) = (Ipv4Addr::new(10, 10, 0, 0), 24);
const BRANCH: (Ipv4Addr, u8) = (Ipv4Addr::new(10, 20, 0, 0), 24);

fn discover(k: FirmwareKind, m: Mac) -> Vec<u8> {
    firmware::build_discover(firmware::model(k), m, Some(guid()), 0xabcd, 0)
}

fn relay() -> RelayAgent {
    RelayAgent::new(
        vec![(0, ip(10, 10, 0, 1), 24), (1, ip(10, 20, 0, 1), 24)],
        BTreeMap::from([(1, vec![ip(10, 10, 0, 2), ip(10, 10, 0, 5)])]),
        BTreeMap::from([(1, (Some(b"vlan20".to_vec()), Some(b"r1".to_vec())))]),
    )
}

fn server(opt60: bool) -> DhcpServer {
    DhcpServer::new(
        ip(10, 10, 0, 2),
        vec![
            Pool {
                subnet: HQ,
                router: Some(ip(10, 10, 0, 1)),
                start: ip(10, 10, 0, 100),
                end: ip(10, 10, 0, 102),
            },
            Pool {
                subnet: BRANCH,
                router: None,
                start: ip(10, 20, 0, 100),
                end: ip(10, 20, 0, 199),
            },
        ],
        opt60,
    )
}

fn client_src() -> SocketAddrV4 {
    SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, CLIENT_PORT)
}

#[test]
fn firmware_names() {
    for k in FirmwareKind::ALL {
        assert_eq!(FirmwareKind::from_name(k.name()), Some(k));
    }
    assert_eq!(
        FirmwareKind::from_name("uefi-x64"),
        Some(FirmwareKind::UefiX64)
    );
    assert_eq!(FirmwareKind::from_name("efi"), None);
    let m = firmware::model(FirmwareKind::UefiArm64);
    assert_eq!(m.vendor_class, "PXEClient:Arch:00011:UNDI:003000");
    // As captured from AAVMF: the size probe puts tsize first.
    assert_eq!(m.tftp_options[0], ("tsize", "0"));
    assert_eq!(m.tftp_options[1], ("blksize", "1468"));
    assert!(m.tftp_size_probe);
}

#[test]
fn proxy_offer_and_ack_hold_what_firmware_needs() {
    let p = ProxyParams::new(ip(10, 10, 0, 5), Some("boot\\x64\\wdsmgfw.efi".into()));
    for k in FirmwareKind::ALL {
        let req = parse(&discover(k, mac(1))).unwrap();
        let o = parse(&build_proxy_offer(&req, &p)).unwrap();
        assert_eq!(o.op, 2);
        assert_eq!(o.message_type, Some(MessageType::Offer));
        assert_eq!(o.xid, req.xid);
        assert_eq!(o.chaddr, Some(mac(1)));
        assert_eq!(o.flags, req.flags);
        assert_eq!(o.yiaddr, Ipv4Addr::UNSPECIFIED);
        assert_eq!(o.server_id, Some(p.server));
        assert!(o.is_pxe_client());
        assert_eq!(o.option(opt::CLIENT_GUID), req.option(opt::CLIENT_GUID));
        // What sends both firmwares to 4011: no boot file, no option 43.
        assert!(o.file.is_empty() && o.option(opt::BOOTFILE_NAME).is_none());
        assert!(o.vendor_specific.is_none());

        let m = firmware::model(k);
        let r = firmware::build_pxe_request(
            m,
            mac(1),
            Some(guid()),
            7,
            ip(10, 10, 0, 100),
            p.server,
            0,
        );
        let r = parse(&r).unwrap();
        let a = parse(&build_proxy_ack(&r, &p)).unwrap();
        assert_eq!(a.message_type, Some(MessageType::Ack));
        assert_eq!(a.server_id, Some(p.server));
        assert_eq!(a.siaddr, p.server);
        assert_eq!(a.file, b"boot\\x64\\wdsmgfw.efi");
        assert_eq!(
            a.option(opt::BOOTFILE_NAME).unwrap(),
            b"boot\\x64\\wdsmgfw.efi"
        );
        assert!(a.is_pxe_client());
        assert_eq!(a.client_guid, Some(guid()));
        assert_eq!(a.ciaddr, ip(10, 10, 0, 100));
    }
}

#[test]
fn relay_inserts_82_and_proxy_echoes_it_and_relay_strips_it() {
    let mut r = relay();
    let d = discover(FirmwareKind::UefiX64, mac(3));
    let out = r.from_client(1, &d);
    assert_eq!(out.len(), 2);
    assert_eq!(out[0].0, SocketAddrV4::new(ip(10, 10, 0, 2), 67));
    assert_eq!(out[1].0, SocketAddrV4::new(ip(10, 10, 0, 5), 67));
    assert_eq!(out[0].1, ip(10, 20, 0, 1));
    let relayed = parse(&out[1].2).unwrap();
    assert_eq!(relayed.giaddr, ip(10, 20, 0, 1));
    assert_eq!(relayed.hops, 1);
    let info = relayed.relay_agent_info.clone().unwrap();
    assert_eq!(info.circuit_id.as_deref(), Some(&b"vlan20"[..]));
    assert_eq!(info.remote_id.as_deref(), Some(&b"r1"[..]));
    // 82 is the last option, the client's options are untouched and in order.
    let before = parse(&d).unwrap();
    assert_eq!(
        &relayed.options[..before.options.len()],
        &before.options[..]
    );
    assert_eq!(relayed.options.last().unwrap().0, opt::RELAY_AGENT_INFO);

    // The responder answers to giaddr:67 and echoes 82 byte for byte.
    let p = ProxyParams::new(ip(10, 10, 0, 5), None);
    let offer = build_proxy_offer(&relayed, &p);
    let po = parse(&offer).unwrap();
    assert_eq!(po.giaddr, ip(10, 20, 0, 1));
    assert_eq!(po.relay_agent_info.as_ref().unwrap().raw, info.raw);

    let (iface, dst, back) = r.from_server(&offer).unwrap();
    assert_eq!(iface, 1);
    assert_eq!(dst, SocketAddrV4::new(Ipv4Addr::BROADCAST, 68));
    let back = parse(&back).unwrap();
    assert!(back.relay_agent_info.is_none());
    let mut without: Vec<_> = po.options.clone();
    without.retain(|(c, _)| *c != opt::RELAY_AGENT_INFO);
    assert_eq!(back.options, without);
}

#[test]
fn relay_keeps_existing_82_giaddr_and_drops_loops() {
    let mut r = relay();
    let mut d = discover(FirmwareKind::BiosX64, mac(4));
    d[24..28].copy_from_slice(&[10, 30, 0, 1]);
    d[3] = 16;
    let out = r.from_client(1, &d);
    let p = parse(&out[0].2).unwrap();
    assert_eq!(p.giaddr, ip(10, 30, 0, 1));
    assert_eq!(p.hops, 17);
    assert!(
        r.from_client(1, &out[0].2).is_empty(),
        "17 hops is too many"
    );
    // No helpers on interface 0, unknown interface 9: nothing.
    assert!(r.from_client(0, &d).is_empty());
    assert!(r.from_client(9, &d).is_empty());
    // Garbage is dropped and logged.
    assert!(r.from_client(1, &d[..100]).is_empty());
    assert!(!r.take_log().is_empty());
    // A reply for someone else's giaddr is not ours.
    let o = build_proxy_offer(&p, &ProxyParams::new(ip(10, 10, 0, 5), None));
    assert!(r.from_server(&o).is_none());
}

#[test]
fn server_leases_deterministically_per_pool() {
    let mut s = server(false);
    let t = Instant::ZERO;
    let src = client_src();
    let mut got = Vec::new();
    for n in 1..=3 {
        let rep = s.handle(t, src, &discover(FirmwareKind::BiosX64, mac(n)), HQ);
        assert_eq!(rep.len(), 1);
        assert_eq!(rep[0].dst, SocketAddrV4::new(Ipv4Addr::BROADCAST, 68));
        let o = parse(&rep[0].payload).unwrap();
        assert_eq!(o.message_type, Some(MessageType::Offer));
        assert_eq!(o.option(opt::ROUTER).unwrap(), vec![10, 10, 0, 1]);
        assert_eq!(o.option(opt::SUBNET_MASK).unwrap(), vec![255, 255, 255, 0]);
        assert_eq!(o.option(opt::LEASE_TIME).unwrap(), 3600u32.to_be_bytes());
        assert_eq!(o.server_id, Some(ip(10, 10, 0, 2)));
        assert!(o.vendor_class.is_none(), "option 60 only when configured");
        got.push(o.yiaddr);
    }
    assert_eq!(
        got,
        vec![ip(10, 10, 0, 100), ip(10, 10, 0, 101), ip(10, 10, 0, 102)]
    );
    // Pool exhausted for a fourth client; the first one gets its address again.
    assert!(s
        .handle(t, src, &discover(FirmwareKind::BiosX64, mac(4)), HQ)
        .is_empty());
    let again = s.handle(t, src, &discover(FirmwareKind::BiosX64, mac(1)), HQ);
    assert_eq!(parse(&again[0].payload).unwrap().yiaddr, ip(10, 10, 0, 100));

    // REQUEST → ACK, wrong address → NAK, other server → silence.
    let m = firmware::model(FirmwareKind::UefiX64);
    let req = firmware::build_request(m, mac(2), None, 1, 0, ip(10, 10, 0, 101), ip(10, 10, 0, 2));
    let ack = parse(&s.handle(t, src, &req, HQ)[0].payload).unwrap();
    assert_eq!(ack.message_type, Some(MessageType::Ack));
    assert_eq!(ack.yiaddr, ip(10, 10, 0, 101));
    let bad = firmware::build_request(m, mac(2), None, 1, 0, ip(10, 10, 0, 100), ip(10, 10, 0, 2));
    let nak = parse(&s.handle(t, src, &bad, HQ)[0].payload).unwrap();
    assert_eq!(nak.message_type, Some(MessageType::Nak));
    let other =
        firmware::build_request(m, mac(3), None, 1, 0, ip(10, 10, 0, 102), ip(10, 10, 0, 9));
    assert!(s.handle(t, src, &other, HQ).is_empty());
    // The log names clients by their MAC, as the other servers' logs do.
    let log = s.take_log();
    let client = mac(2).to_string();
    assert!(
        log.contains(&format!("ACK 10.10.0.101 to {client}")),
        "{log:?}"
    );
    assert!(
        log.iter()
            .any(|l| l.starts_with(&format!("NAK {client}: 10.10.0.100"))),
        "{log:?}"
    );
    assert!(
        log.iter()
            .any(|l| l.ends_with(&format!("no offer for {}", mac(4)))),
        "{log:?}"
    );
    // After the offer hold time, freed addresses come back lowest first.
    let later = Instant::from_nanos(120_000_000_000);
    let o = s.handle(later, src, &discover(FirmwareKind::BiosX64, mac(9)), HQ);
    assert_eq!(parse(&o[0].payload).unwrap().yiaddr, ip(10, 10, 0, 100));
}

#[test]
fn server_answers_relayed_requests_from_the_giaddr_pool() {
    let mut s = server(true);
    let mut r = relay();
    let t = Instant::ZERO;
    let d = discover(FirmwareKind::UefiX64, mac(5));
    let relayed = &r.from_client(1, &d)[0];
    let rep = s.handle(t, SocketAddrV4::new(relayed.1, 67), &relayed.2, HQ);
    assert_eq!(rep[0].dst, SocketAddrV4::new(ip(10, 20, 0, 1), 67));
    let o = parse(&rep[0].payload).unwrap();
    assert_eq!(o.yiaddr, ip(10, 20, 0, 100));
    assert_eq!(o.option(opt::ROUTER).unwrap(), vec![10, 20, 0, 1]);
    assert!(o.is_pxe_client(), "option 60 when configured (R-ANS-2)");
    assert!(o.relay_agent_info.is_some(), "82 echoed");
    let (_, dst, back) = r.from_server(&rep[0].payload).unwrap();
    assert_eq!(dst, SocketAddrV4::new(Ipv4Addr::BROADCAST, 68));
    assert!(parse(&back).unwrap().relay_agent_info.is_none());
    // Malformed and non-DHCP input: no reply, a log line.
    assert!(s.handle(t, client_src(), b"hello", HQ).is_empty());
    assert!(s.handle(t, client_src(), &rep[0].payload, HQ).is_empty());
    assert_eq!(s.take_log().len(), 2);
}

fn arb_valid() -> impl Strategy<Value = Vec<u8>> {
    (0usize..5, any::<u8>(), any::<bool>()).prop_map(|(k, n, g)| {
        let m = firmware::model(FirmwareKind::ALL[k]);
        let guid = g.then(guid);
        firmware::build_discover(m, mac(n), guid, u32::from(n), 3)
    })
}

proptest! {
    #[test]
    fn parse_never_panics_on_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = parse(&bytes);
    }

    #[test]
    fn parse_never_panics_on_options(opts in proptest::collection::vec(any::<u8>(), 0..300)) {
        let mut v = discover(FirmwareKind::UefiX64, mac(1));
        v.truncate(OPTIONS_OFFSET);
        v.extend_from_slice(&opts);
        // Our walk and dhcproto's borrowed walker always agree.
        if let Err(e) = parse(&v) {
            prop_assert_ne!(e.kind, MalformedKind::WalkerDisagrees);
        }
        let mut r = relay();
        let _ = r.from_client(1, &v);
        let _ = r.from_server(&v);
        let mut s = server(true);
        let _ = s.handle(Instant::ZERO, client_src(), &v, HQ);
    }

    #[test]
    fn parse_never_panics_on_mutated_packets(
        v in arb_valid(),
        edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8),
        cut in any::<usize>(),
    ) {
        let mut v = v;
        for (at, b) in edits {
            let n = v.len();
            v[OPTIONS_OFFSET.min(n - 1) + at % (n - OPTIONS_OFFSET.min(n - 1))] = b;
        }
        let keep = v.len() - cut % 64;
        v.truncate(keep);
        if let Ok(p) = parse(&v) {
            // Whatever parses can be answered without panicking.
            let pp = ProxyParams::new(ip(10, 10, 0, 5), Some("x".into()));
            prop_assert!(parse(&build_proxy_offer(&p, &pp)).is_ok());
            prop_assert!(parse(&build_proxy_ack(&p, &pp)).is_ok());
        }
    }

    #[test]
    fn header_mutations_never_panic(v in arb_valid(), at in 0usize..240, b in any::<u8>()) {
        let mut v = v;
        v[at] = b;
        let _ = parse(&v);
    }
}

proptest! {
    /// Well-formed option areas of any codes: the walk gives back every instance in
    /// order and never disagrees with dhcproto's walker; typed errors only.
    #[test]
    fn structured_options_walk_back(
        opts in proptest::collection::vec((1u8..=254, proptest::collection::vec(any::<u8>(), 0..20)), 0..20),
        pads in 0usize..3,
    ) {
        let mut v = discover(FirmwareKind::UefiX64, mac(1));
        v.truncate(OPTIONS_OFFSET);
        for (c, d) in &opts {
            v.push(*c);
            v.push(d.len() as u8);
            v.extend_from_slice(d);
            v.extend(std::iter::repeat_n(0u8, pads));
        }
        v.push(255);
        match parse(&v) {
            Ok(p) => prop_assert_eq!(p.options, opts),
            Err(e) => prop_assert!(!matches!(
                e.kind,
                MalformedKind::WalkerDisagrees
                    | MalformedKind::OptionOverrun { .. }
                    | MalformedKind::OptionHeaderTruncated
            ), "{}", e),
        }
    }
}

#[test]
fn server_init_reboot_and_renew() {
    let mut s = server(false);
    let t = Instant::ZERO;
    // INIT-REBOOT: REQUEST with option 50 and no option 54.
    let m = firmware::model(FirmwareKind::UefiX64);
    let mut req =
        firmware::build_request(m, mac(7), None, 5, 0, ip(10, 10, 0, 101), ip(10, 10, 0, 2));
    // Drop option 54 by renaming it to a private option code (same length).
    let at = req
        .windows(2)
        .position(|w| w == [54, 4])
        .expect("option 54");
    req[at] = 224;
    let ack = parse(&s.handle(t, client_src(), &req, HQ)[0].payload).unwrap();
    assert_eq!(ack.message_type, Some(MessageType::Ack));
    assert_eq!(ack.yiaddr, ip(10, 10, 0, 101));
    assert_eq!(s.bound_address(t, ack.chaddr_raw), Some(ip(10, 10, 0, 101)));
    // Someone else asking for it is refused; an address of another subnet too.
    let mut other = req.clone();
    other[28 + 5] = 8;
    let nak = parse(&s.handle(t, client_src(), &other, HQ)[0].payload).unwrap();
    assert_eq!(nak.message_type, Some(MessageType::Nak));
    assert_eq!(
        s.handle(t, client_src(), &other, HQ)[0].dst,
        SocketAddrV4::new(Ipv4Addr::BROADCAST, 68)
    );
    // The bound client's DISCOVER gets its address back.
    let o = s.handle(
        t,
        client_src(),
        &discover(FirmwareKind::UefiX64, mac(7)),
        HQ,
    );
    assert_eq!(parse(&o[0].payload).unwrap().yiaddr, ip(10, 10, 0, 101));
    // RELEASE frees it.
    let mut rel =
        firmware::build_request(m, mac(7), None, 6, 0, ip(10, 10, 0, 101), ip(10, 10, 0, 2));
    let mt = rel.windows(3).position(|w| w == [53, 1, 3]).unwrap();
    rel[mt + 2] = 7;
    assert!(s.handle(t, client_src(), &rel, HQ).is_empty());
    assert_eq!(s.bound_address(t, ack.chaddr_raw), None);
}

/// R-ANS-2 through EDK2's eyes: the DHCP server's offer with option 60 is a
/// "DhcpBinl" offer (yiaddr set, PXEClient, no option 43), which makes EDK2 ask
/// option 54's port 4011; without option 60 it is "DhcpOnly".
#[test]
fn option60_offer_is_binl_for_edk2() {
    for (opt60, binl) in [(true, true), (false, false)] {
        let mut s = server(opt60);
        let rep = s.handle(
            Instant::ZERO,
            client_src(),
            &discover(FirmwareKind::UefiX64, mac(1)),
            HQ,
        );
        let o = parse(&rep[0].payload).unwrap();
        assert!(!o.yiaddr.is_unspecified());
        assert_eq!(o.is_pxe_client() && o.vendor_specific.is_none(), binl);
        assert_eq!(o.server_id, Some(ip(10, 10, 0, 2)));
    }
}

#[test]
fn boot_program_reads_carry_what_the_lab_captured() {
    let opts = |k, b| {
        firmware::model(k)
            .boot_program_options(b)
            .into_iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    // iPXE's PXE API: blksize within 512..=1432, tsize; no window size.
    assert_eq!(
        opts(FirmwareKind::BiosX64, Some(4096)),
        "blksize=1432 tsize=0"
    );
    assert_eq!(
        opts(FirmwareKind::BiosX86, Some(1024)),
        "blksize=1024 tsize=0"
    );
    assert_eq!(opts(FirmwareKind::BiosX64, None), "blksize=512 tsize=0");
    // EDK2's Mtftp: blksize as asked, its own windowsize 4.
    assert_eq!(
        opts(FirmwareKind::UefiX64, Some(8192)),
        "blksize=8192 windowsize=4"
    );
    assert_eq!(opts(FirmwareKind::UefiArm64, None), "windowsize=4");
}

#[test]
fn server_names_its_boot_file_in_offer_and_ack_only_when_configured() {
    let file = "smsboot/PS100002/x64/bootmgfw.efi";
    let mut s = server(false).with_boot_file(Some(ip(10, 10, 0, 5)), Some(file.into()));
    let rep = s.handle(
        Instant::ZERO,
        client_src(),
        &discover(FirmwareKind::UefiX64, mac(1)),
        HQ,
    );
    let o = parse(&rep[0].payload).unwrap();
    assert_eq!(o.siaddr, ip(10, 10, 0, 5));
    assert_eq!(o.file_lossy().trim_end_matches('\0'), file);
    assert_eq!(o.option(opt::BOOTFILE_NAME).unwrap(), file.as_bytes());
    assert_eq!(o.option(opt::TFTP_SERVER_NAME).unwrap(), b"10.10.0.5");
    let plain = server(false).handle(
        Instant::ZERO,
        client_src(),
        &discover(FirmwareKind::UefiX64, mac(1)),
        HQ,
    );
    let p = parse(&plain[0].payload).unwrap();
    assert!(p.file.is_empty() && p.option(opt::BOOTFILE_NAME).is_none());
    assert_eq!(p.siaddr, Ipv4Addr::UNSPECIFIED);
}
