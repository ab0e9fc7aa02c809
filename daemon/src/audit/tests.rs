//! The audit's analysis on frames built here, over both families.

use super::*;
use etherparse::PacketBuilder;
use pxelab_engine::dhcp::firmware::{build_discover, model, FirmwareKind};
use pxelab_engine::dhcp::packet::parse;
use pxelab_engine::dhcp::proxy::{build_proxy_ack, build_proxy_offer, ProxyParams};
use pxelab_engine::dhcp::server::{DhcpServer, Pool};

fn frame(
    src_mac: [u8; 6],
    src: Ipv4Addr,
    sport: u16,
    dst: Ipv4Addr,
    dport: u16,
    p: &[u8],
) -> Vec<u8> {
    let b = PacketBuilder::ethernet2(src_mac, [0xff; 6])
        .ipv4(src.octets(), dst.octets(), 64)
        .udp(sport, dport);
    let mut v = Vec::with_capacity(b.size(p.len()));
    b.write(&mut v, p).unwrap();
    v
}

fn ip(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

#[test]
fn classifies_dhcp_and_proxy_answers_and_flags_unnamed_servers() {
    let client = Mac([0x52, 0x54, 0, 0, 0, 1]);
    let discover = build_discover(model(FirmwareKind::UefiX64), client, None, 7, 0);
    let req = parse(&discover).unwrap();
    // A named DHCP server's offer.
    let mut dhcp = DhcpServer::new(
        ip("10.0.0.2"),
        vec![Pool {
            subnet: (ip("10.0.0.0"), 24),
            router: None,
            start: ip("10.0.0.100"),
            end: ip("10.0.0.199"),
        }],
        false,
    );
    let replies = dhcp.handle(
        pxelab_engine::Instant::ZERO,
        std::net::SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 68),
        &discover,
        (ip("10.0.0.0"), 24),
    );
    assert_eq!(replies.len(), 1, "the DHCP server offers an address");
    let offer = &replies[0].payload;
    // A proxy offer from a named responder and one from an unnamed host.
    let proxy = build_proxy_ack(
        &req,
        &ProxyParams::new(ip("10.0.0.5"), Some("smsboot/x64/wdsmgfw.efi".into())),
    );
    let rogue = build_proxy_offer(
        &req,
        &ProxyParams::new(ip("10.0.0.66"), Some("evil.efi".into())),
    );
    let mut named = Named::default();
    named.add(ip("10.0.0.2"), "dhcp", "DHCP server");
    named.add(ip("10.0.0.5"), "dp1", "responder");
    named.add(ip("10.0.0.9"), "dp2", "responder");
    let mut a = Audit::new(Some(named));
    let bcast = Ipv4Addr::BROADCAST;
    a.observe_frame(
        Duration::ZERO,
        &frame([2, 0, 0, 0, 0, 1], ip("0.0.0.0"), 68, bcast, 67, &discover),
    );
    a.observe_frame(
        Duration::from_millis(1),
        &frame([2, 0, 0, 0, 0, 2], ip("10.0.0.2"), 67, bcast, 68, offer),
    );
    a.observe_frame(
        Duration::from_millis(2),
        &frame(
            [2, 0, 0, 0, 0, 5],
            ip("10.0.0.5"),
            4011,
            ip("10.0.0.100"),
            68,
            &proxy,
        ),
    );
    a.observe_frame(
        Duration::from_millis(3),
        &frame(
            [2, 0, 0, 0, 0, 0x66],
            ip("10.0.0.66"),
            67,
            bcast,
            68,
            &rogue,
        ),
    );
    a.observe_frame(
        Duration::from_millis(4),
        &frame(
            [2, 0, 0, 0, 0, 0x66],
            ip("10.0.0.66"),
            4011,
            ip("10.0.0.100"),
            4011,
            &rogue,
        ),
    );
    // A mangled reply is counted, not fatal.
    a.observe_frame(
        Duration::from_millis(5),
        &frame(
            [2, 0, 0, 0, 0, 0x66],
            ip("10.0.0.66"),
            67,
            bcast,
            68,
            &[2, 1, 6],
        ),
    );
    let s = a.servers();
    assert_eq!(s.len(), 3, "{s:#?}");
    assert_eq!(
        (s[0].server, s[0].named.as_deref(), s[0].flagged),
        (IpAddr::V4(ip("10.0.0.2")), Some("dhcp"), false)
    );
    assert!(s[0].kinds.contains("dhcp") && s[0].messages.contains("OFFER"));
    assert_eq!((s[1].named.as_deref(), s[1].flagged), (Some("dp1"), false));
    assert_eq!(s[1].kinds.iter().collect::<Vec<_>>(), ["proxy"]);
    assert!(s[1].boot_files.contains("smsboot/x64/wdsmgfw.efi"));
    assert!(s[1].messages.contains("ACK") && s[1].ports.contains(&4011));
    assert_eq!(
        (s[2].server, s[2].named.as_deref(), s[2].flagged),
        (IpAddr::V4(ip("10.0.0.66")), None, true)
    );
    assert_eq!(s[2].answers, 2);
    assert_eq!(s[2].ports.iter().copied().collect::<Vec<_>>(), [67, 4011]);
    assert_eq!(s[2].macs.iter().collect::<Vec<_>>(), ["02:00:00:00:00:66"]);
    assert_eq!(a.flagged(), 1);
    // The client's DISCOVER, and the first proxy OFFER addressed to it (dp1 sent an
    // ACK, the rogue an OFFER).
    let c = a.clients();
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].mac, "52:54:00:00:00:01");
    assert_eq!(c[0].discovers, [0.0]);
    assert_eq!(c[0].first_proxy_offer_s, Some(0.003));
    assert_eq!(c[0].proxy_offer_from, Some(ip("10.0.0.66")));
    assert_eq!(c[0].discovers_until_proxy_offer, Some(1));
    assert_eq!(a.malformed, 1);
    assert_eq!(a.frames, 6);
    assert_eq!(
        a.silent(),
        [(IpAddr::V4(ip("10.0.0.9")), "dp2".to_string(), "responder")]
    );
}

#[test]
fn a_relayed_answer_is_the_servers_and_names_the_relay() {
    let client = Mac([0x52, 0x54, 0, 0, 0, 1]);
    let discover = build_discover(model(FirmwareKind::BiosX64), client, None, 9, 0);
    let req = parse(&discover).unwrap();
    let proxy = build_proxy_offer(&req, &ProxyParams::new(ip("10.10.0.5"), None));
    let mut a = Audit::new(None);
    // The router forwards the server's answer to the client from its own address.
    a.observe_frame(
        Duration::ZERO,
        &frame(
            [2, 0, 0, 0, 0, 1],
            ip("10.20.0.1"),
            67,
            Ipv4Addr::BROADCAST,
            68,
            &proxy,
        ),
    );
    let s = a.servers();
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].server, IpAddr::V4(ip("10.10.0.5")));
    assert_eq!(
        s[0].via.iter().copied().collect::<Vec<_>>(),
        [IpAddr::V4(ip("10.20.0.1"))]
    );
    assert!(!s[0].flagged, "nothing is flagged without a scenario");
}

fn frame6(src_mac: [u8; 6], src: &str, sport: u16, dst: &str, dport: u16, p: &[u8]) -> Vec<u8> {
    let a = |s: &str| s.parse::<std::net::Ipv6Addr>().unwrap().octets();
    let b = PacketBuilder::ethernet2(src_mac, [0x33, 0x33, 0, 1, 0, 2])
        .ipv6(a(src), a(dst), 64)
        .udp(sport, dport);
    let mut v = Vec::with_capacity(b.size(p.len()));
    b.write(&mut v, p).unwrap();
    v
}

fn opt6(code: u16, data: &[u8]) -> dhcp6::Opt {
    dhcp6::Opt {
        code,
        data: data.to_vec(),
    }
}

fn vendor6(class: &str) -> Vec<u8> {
    let mut v = 343u32.to_be_bytes().to_vec();
    v.extend((class.len() as u16).to_be_bytes());
    v.extend(class.as_bytes());
    v
}

fn advertise(duid: &[u8], class: &str, url: &str, ia_address: bool) -> Message6 {
    use dhcp6::opt;
    let mut options = vec![
        opt6(opt::CLIENTID, &[0, 4, 1, 2]),
        opt6(opt::SERVERID, duid),
    ];
    if ia_address {
        // IAID, T1, T2, then an IA Address option (5): address, lifetimes.
        let mut ia = vec![0u8; 12];
        ia.extend([0, 5, 0, 24]);
        ia.extend([0xfd, 0x77].iter().chain(&[0u8; 13]).chain(&[0x64]));
        ia.extend([0u8; 8]);
        options.push(opt6(opt::IA_NA, &ia));
    }
    if !class.is_empty() {
        options.push(opt6(opt::VENDOR_CLASS, &vendor6(class)));
    }
    if !url.is_empty() {
        options.push(opt6(opt::BOOTFILE_URL, url.as_bytes()));
    }
    Message6::Client {
        msg_type: dhcp6::msg::ADVERTISE,
        xid: [1, 2, 3],
        options,
    }
}

#[test]
fn dhcp6_pxe_and_http_boot_servers_are_listed_named_by_duid_or_address_and_flagged() {
    let mut named = Named::default();
    named.add(ip("10.0.0.5"), "dp1", "responder");
    named.add(
        "fd77::5".parse::<std::net::Ipv6Addr>().unwrap(),
        "dp1",
        "responder",
    );
    named.add_responder_duid("dp1");
    named.add(
        "fd77::2".parse::<std::net::Ipv6Addr>().unwrap(),
        "dhcp",
        "DHCP server",
    );
    named.add(
        "fd77::9".parse::<std::net::Ipv6Addr>().unwrap(),
        "dp2",
        "responder",
    );
    let mut a = Audit::new(Some(named));
    let dp1 = dhcp6::server_duid("dp1");
    let mcast = "fe80::5054:ff:fe12:3456";
    // dp1's proxy Advertise, from a link-local address: named by its DUID.
    let adv = advertise(
        &dp1,
        "PXEClient",
        "tftp://[fd77::5]/smsboot/x64/b.efi",
        false,
    );
    a.observe_frame(
        Duration::ZERO,
        &frame6(
            [2, 0, 0, 0, 0, 5],
            "fe80::5",
            547,
            mcast,
            546,
            &adv.encode(),
        ),
    );
    // The DHCP server's address Advertise (no boot file), named by its address.
    let dhcp = advertise(&[0, 3, 0, 1, 2, 0, 0, 0, 0, 2], "", "", true);
    a.observe_frame(
        Duration::from_millis(1),
        &frame6(
            [2, 0, 0, 0, 0, 2],
            "fd77::2",
            547,
            mcast,
            546,
            &dhcp.encode(),
        ),
    );
    // A rogue HTTP boot server, through a relay: its Relay-Reply to the relay.
    let rogue = advertise(
        &[0, 3, 0, 1, 2, 0, 0, 0, 0, 0x66],
        "HTTPClient",
        "http://[fd66::1]/x.efi",
        false,
    );
    let rr = Message6::Relay {
        msg_type: dhcp6::msg::RELAY_REPL,
        hop_count: 0,
        link_addr: "2001:db8:30::1".parse().unwrap(),
        peer_addr: mcast.parse().unwrap(),
        options: vec![
            opt6(dhcp6::opt::INTERFACE_ID, b"vlan30"),
            opt6(dhcp6::opt::RELAY_MSG, &rogue.encode()),
        ],
    };
    a.observe_frame(
        Duration::from_millis(2),
        &frame6(
            [2, 0, 0, 0, 0, 0x66],
            "fd66::1",
            547,
            "2001:db8:30::1",
            547,
            &rr.encode(),
        ),
    );
    // A relay's Relay-Forward and a client's Solicit are nobody's answer.
    let fwd = Message6::Relay {
        msg_type: dhcp6::msg::RELAY_FORW,
        hop_count: 0,
        link_addr: "2001:db8:30::1".parse().unwrap(),
        peer_addr: mcast.parse().unwrap(),
        options: vec![opt6(dhcp6::opt::RELAY_MSG, &adv.encode())],
    };
    a.observe_frame(
        Duration::from_millis(3),
        &frame6(
            [2, 0, 0, 0, 0, 1],
            "2001:db8:30::1",
            547,
            "fd77::5",
            547,
            &fwd.encode(),
        ),
    );
    // An HTTP boot offer over IPv4 from the named dp1.
    let client = Mac([0x52, 0x54, 0, 0, 0, 1]);
    let d = build_discover(model(FirmwareKind::UefiX64), client, None, 7, 0);
    let http4 = pxelab_engine::dhcp::proxy::build_http_offer(
        &parse(&d).unwrap(),
        ip("10.0.0.5"),
        "http://10.0.0.5/smsboot/x64/b.efi",
    );
    a.observe_frame(
        Duration::from_millis(4),
        &frame(
            [2, 0, 0, 0, 0, 5],
            ip("10.0.0.5"),
            67,
            Ipv4Addr::BROADCAST,
            68,
            &http4,
        ),
    );
    // A DHCPv6 datagram that does not parse is counted.
    a.observe_frame(
        Duration::from_millis(5),
        &frame6([2, 0, 0, 0, 0, 0x66], "fd66::1", 547, mcast, 546, &[2, 0]),
    );
    let s = a.servers();
    assert_eq!(s.len(), 4, "{s:#?}");
    // IPv4 first.
    assert_eq!(s[0].server, IpAddr::V4(ip("10.0.0.5")));
    assert_eq!(s[0].netboot.iter().collect::<Vec<_>>(), ["http4"]);
    assert!(s[0]
        .boot_files
        .contains("http://10.0.0.5/smsboot/x64/b.efi"));
    let by_name = |n: &str| s.iter().find(|x| x.named.as_deref() == Some(n)).unwrap();
    let dp1v6 = s
        .iter()
        .find(|x| x.server.is_ipv6() && x.named.as_deref() == Some("dp1"))
        .unwrap();
    assert_eq!(dp1v6.server.to_string(), "fe80::5");
    assert_eq!(dp1v6.kinds.iter().collect::<Vec<_>>(), ["proxy"]);
    assert_eq!(dp1v6.netboot.iter().collect::<Vec<_>>(), ["pxe6"]);
    assert_eq!(dp1v6.answers, 1, "the Relay-Forward is not counted");
    assert!(!dp1v6.flagged);
    let dhcp = by_name("dhcp");
    assert_eq!(dhcp.kinds.iter().collect::<Vec<_>>(), ["dhcp"]);
    assert!(dhcp.netboot.is_empty());
    assert_eq!(dhcp.duid.as_deref(), Some("00030001020000000002"));
    let rogue = s.iter().find(|x| x.flagged).expect("the rogue is flagged");
    assert_eq!(rogue.server.to_string(), "fd66::1");
    assert_eq!(rogue.netboot.iter().collect::<Vec<_>>(), ["http6"]);
    assert_eq!(
        rogue.messages.iter().collect::<Vec<_>>(),
        ["ADVERTISE", "RELAY-REPLY"]
    );
    assert!(rogue.boot_files.contains("http://[fd66::1]/x.efi"));
    assert_eq!(a.flagged(), 1);
    assert_eq!(a.malformed, 1);
    // dp2 never answered; dp1's address6 counts as answered (by its DUID).
    assert_eq!(
        a.silent(),
        [(
            "fd77::9".parse::<IpAddr>().unwrap(),
            "dp2".to_string(),
            "responder"
        )]
    );
    let text = crate::audit_report::text(&a, true);
    assert!(
        text.contains("FLAGGED: fd66::1 answers as a proxy DHCPv6 server"),
        "{text}"
    );
}
