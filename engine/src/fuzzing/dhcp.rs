//! Fuzz target `dhcp`: one UDP payload through the DHCP decoding path, the proxy
//! reply builders, the relay agent and the built-in DHCP server.

use super::ME;
use crate::dhcp::packet::{parse, walk_main, DhcpPacket, MessageType};
use crate::dhcp::proxy::{build_proxy_ack, build_proxy_offer, ProxyParams};
use crate::dhcp::relay::{encode_option82, Option82, RelayAgent};
use crate::dhcp::server::{DhcpServer, Pool};
use crate::dhcp::wire::{Header, Writer};
use crate::dhcp::{opt, OPTIONS_OFFSET};
use crate::Instant;
use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

const DHCP_SERVER: Ipv4Addr = Ipv4Addr::new(10, 10, 0, 2);
const RELAY_IFACES: [(usize, Ipv4Addr, u8); 2] = [
    (0, Ipv4Addr::new(10, 20, 0, 1), 24),
    (1, Ipv4Addr::new(10, 30, 0, 1), 24),
];

fn relay() -> RelayAgent {
    let o82: Option82 = (Some(b"vlan20".to_vec()), Some(b"r1".to_vec()));
    RelayAgent::new(
        RELAY_IFACES.to_vec(),
        BTreeMap::from([(0, vec![DHCP_SERVER, ME]), (1, vec![DHCP_SERVER])]),
        BTreeMap::from([(0, o82)]),
    )
}

fn pools() -> Vec<Pool> {
    vec![
        Pool {
            subnet: (Ipv4Addr::new(10, 10, 0, 0), 24),
            router: Some(Ipv4Addr::new(10, 10, 0, 1)),
            start: Ipv4Addr::new(10, 10, 0, 100),
            end: Ipv4Addr::new(10, 10, 0, 199),
        },
        Pool {
            subnet: (Ipv4Addr::new(10, 20, 0, 0), 24),
            router: None,
            start: Ipv4Addr::new(10, 20, 0, 100),
            end: Ipv4Addr::new(10, 20, 0, 103),
        },
    ]
}

/// Parses a payload the engine itself wrote: it must parse (the builders only write
/// what the strict parser accepts).
pub(super) fn must_parse(what: &str, payload: &[u8]) -> DhcpPacket {
    parse(payload).unwrap_or_else(|e| panic!("{what} does not parse: {e}"))
}

/// Every option instance of `p`, written again by the engine's encoder, parses back to
/// the same packet: the parser and the encoder agree (sname and file are cut to 63 and
/// 127 bytes by the encoder, and END is written).
fn check_reencode(p: &DhcpPacket) {
    let mut h = Header::new(p.op);
    h.htype = p.htype;
    h.hlen = p.hlen;
    h.hops = p.hops;
    h.xid = p.xid;
    h.secs = p.secs;
    h.flags = p.flags;
    h.ciaddr = p.ciaddr;
    h.yiaddr = p.yiaddr;
    h.siaddr = p.siaddr;
    h.giaddr = p.giaddr;
    h.chaddr = p.chaddr_raw;
    h.sname = p.sname.clone();
    h.file = p.file.clone();
    let mut w = Writer::new(&h);
    for (code, data) in &p.options {
        w.option(*code, data);
    }
    let again = must_parse("a parsed packet written again", &w.finish());
    let mut want = p.clone();
    want.sname.truncate(63);
    want.file.truncate(127);
    want.end_missing = false;
    assert_eq!(again, want, "parse(write(parse(x))) != parse(x)");
}

/// The proxy replies to a parsed request parse, and echo what R-ANS-1/R-ANS-3 say they
/// echo (xid, chaddr, giaddr, option 97, option 82).
fn check_proxy_replies(p: &DhcpPacket) {
    let echoes = |what: &str, r: &DhcpPacket, mt: MessageType| {
        assert_eq!(r.op, 2, "{what}");
        assert_eq!(r.message_type, Some(mt), "{what}");
        assert_eq!(r.xid, p.xid, "{what}");
        assert_eq!(r.chaddr_raw, p.chaddr_raw, "{what}");
        assert_eq!(r.giaddr, p.giaddr, "{what}");
        assert_eq!(r.server_id, Some(ME), "{what}");
        assert!(r.is_pxe_client(), "{what}");
        assert_eq!(r.client_guid, p.client_guid, "{what}");
        assert_eq!(
            r.relay_agent_info.as_ref().map(|i| &i.raw),
            p.relay_agent_info.as_ref().map(|i| &i.raw),
            "{what}"
        );
    };
    let mut params = ProxyParams::new(ME, None);
    let offer = must_parse("proxy offer", &build_proxy_offer(p, &params));
    echoes("proxy offer", &offer, MessageType::Offer);
    assert_eq!(offer.yiaddr, Ipv4Addr::UNSPECIFIED);
    let file = "smsboot/PS100002/x64/bootmgfw.efi";
    params.boot_file = Some(file.into());
    let ack = must_parse("proxy ack", &build_proxy_ack(p, &params));
    echoes("proxy ack", &ack, MessageType::Ack);
    assert_eq!(ack.file, file.as_bytes());
    assert_eq!(
        ack.option(opt::BOOTFILE_NAME).as_deref(),
        Some(file.as_bytes())
    );
}

fn check_relay(data: &[u8], parsed: &Result<DhcpPacket, impl std::fmt::Debug>) {
    let mut r = relay();
    for iface in [0usize, 1, 2] {
        let outs = r.from_client(iface, data);
        if outs.is_empty() {
            continue;
        }
        let req = parsed
            .as_ref()
            .expect("the relay forwarded what does not parse");
        assert_eq!(
            req.op, 1,
            "the relay forwarded a BOOTREPLY towards the servers"
        );
        assert!(req.hops <= crate::dhcp::relay::MAX_HOPS);
        let (_, addr, _) = RELAY_IFACES[iface];
        for (dst, src, payload) in &outs {
            assert_eq!(dst.port(), 67);
            assert_eq!(*src, addr);
            let f = must_parse("a relayed request", payload);
            assert_eq!(f.hops, req.hops + 1);
            assert_eq!(f.xid, req.xid);
            assert_eq!(f.chaddr_raw, req.chaddr_raw);
            let want_gi = if req.giaddr.is_unspecified() {
                addr
            } else {
                req.giaddr
            };
            assert_eq!(f.giaddr, want_gi);
            if iface == 0 && req.relay_agent_info.is_none() {
                // RFC 3046: the relay adds its option 82 to a request that has none.
                let want = encode_option82(&(Some(b"vlan20".to_vec()), Some(b"r1".to_vec())));
                assert_eq!(f.relay_agent_info.map(|i| i.raw), Some(want));
            } else {
                assert_eq!(f.relay_agent_info, req.relay_agent_info);
            }
        }
    }
    if let Some((iface, dst, out)) = r.from_server(data) {
        let rep = parsed
            .as_ref()
            .expect("the relay forwarded a reply that does not parse");
        assert_eq!(rep.op, 2, "the relay forwarded a BOOTREQUEST to a client");
        let (_, addr, _) = RELAY_IFACES
            .iter()
            .find(|i| i.0 == iface)
            .copied()
            .expect("a known interface");
        assert_eq!(rep.giaddr, addr);
        assert_eq!(dst.port(), 68);
        let f = must_parse("a relayed reply", &out);
        assert_eq!(f.xid, rep.xid);
        if iface == 0 {
            // RFC 3046 2.2: the relay removes its option 82 before the client sees it.
            let area = walk_main(&out).expect("walks");
            assert!(area.found.iter().all(|f| f.code != opt::RELAY_AGENT_INFO));
        }
    }
}

fn check_server(data: &[u8], parsed: &Result<DhcpPacket, impl std::fmt::Debug>) {
    let mut srv = DhcpServer::new(DHCP_SERVER, pools(), true);
    let src = SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 68);
    let local = (Ipv4Addr::new(10, 10, 0, 0), 24);
    let t0 = Instant::ZERO;
    if let Ok(p) = parsed {
        // The same client first DISCOVERs, so a REQUEST finds an offer to take.
        let mut h = Header::new(1);
        h.htype = p.htype;
        h.hlen = p.hlen;
        h.chaddr = p.chaddr_raw;
        h.giaddr = p.giaddr;
        h.xid = p.xid;
        let mut w = Writer::new(&h);
        w.option(opt::MESSAGE_TYPE, &[1]);
        let _ = srv.handle(t0, src, &w.finish(), local);
    }
    for i in 1..=2u64 {
        let now = t0 + Duration::from_secs(i);
        let replies = srv.handle(now, src, data, local);
        if replies.is_empty() {
            continue;
        }
        let req = parsed
            .as_ref()
            .expect("the server answered what does not parse");
        assert_eq!(req.op, 1);
        for r in replies {
            let p = must_parse("a DHCP server reply", &r.payload);
            assert_eq!(p.op, 2);
            assert_eq!(p.xid, req.xid);
            assert_eq!(p.chaddr_raw, req.chaddr_raw);
            assert_eq!(p.server_id, Some(DHCP_SERVER));
            if req.is_relayed() {
                assert_eq!(r.dst, SocketAddrV4::new(req.giaddr, 67));
            }
            match p.message_type {
                Some(MessageType::Offer | MessageType::Ack) => {
                    // Only addresses of a pool are leased.
                    let y = u32::from(p.yiaddr);
                    assert!(
                        pools()
                            .iter()
                            .any(|pl| (u32::from(pl.start)..=u32::from(pl.end)).contains(&y)),
                        "leased {} outside every pool",
                        p.yiaddr
                    );
                }
                Some(MessageType::Nak) => assert_eq!(p.yiaddr, Ipv4Addr::UNSPECIFIED),
                other => panic!("the server sent {other:?}"),
            }
        }
    }
}

/// Fuzz target `dhcp`: one UDP payload through the DHCP decoding path.
pub fn dhcp(data: &[u8]) {
    let parsed = parse(data);
    if let Ok(p) = &parsed {
        // Parsing is a function of the bytes.
        assert_eq!(parse(data).as_ref(), Ok(p));
        assert!(walk_main(data).is_ok());
        assert!(data.len() >= OPTIONS_OFFSET);
        let _ = (p.client_class(), p.file_lossy(), p.sname_lossy());
        check_reencode(p);
        check_proxy_replies(p);
    } else if let Err(e) = &parsed {
        let _ = e.to_string();
    }
    check_relay(data, &parsed);
    check_server(data, &parsed);
}
