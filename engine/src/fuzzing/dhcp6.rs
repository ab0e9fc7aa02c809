//! Fuzz target `dhcp6`: one UDP payload through the DHCPv6 decoder, the boot request
//! reader and R-V6-2's identity, the relay unwrapping and the answer builders, and a
//! responder (with `address6` and `http`) on ports 547 and 4011.
//!
//! Invariants: a payload that decodes re-encodes to the same bytes; a relayed answer
//! wraps as many Relay-Replies as there were Relay-Forwards, each echoing its
//! Interface-ID; the responder answers only with well-formed DHCPv6.

use super::ME;
use crate::dhcp6::{self, msg, opt, wire::Message6};
use crate::policy::{HttpConfig, ResponderConfig, Role};
use crate::responder::{Output, Responder};
use crate::state::MemoryStore;
use crate::testkit::{site, PatternRoot};
use crate::{Instant, Mac};
use std::net::{Ipv6Addr, SocketAddrV6};
use std::sync::Arc;

/// The fuzzed responder's IPv6 address.
pub const ME6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0x10, 0, 0, 0, 0, 5);

pub fn dhcp6(data: &[u8]) {
    let Ok(m) = Message6::decode(data) else {
        return responder6(data);
    };
    assert_eq!(
        m.encode(),
        data,
        "a decoded message re-encodes to its bytes"
    );
    if let Ok((layers, inner)) = dhcp6::unwrap_relays(m) {
        if let Ok(Some(req)) = dhcp6::BootRequest6::read(&inner) {
            let ll = layers.last().and_then(|l| l.client_link_layer.as_deref());
            let _ = dhcp6::identity(&req, Some(Mac([2, 0, 0, 0, 0, 1])), ll);
            let params = dhcp6::AnswerParams {
                server_duid: dhcp6::server_duid("dp1"),
                boot_file_url: "tftp://[2001:db8:10::5]/smsboot/x".into(),
                kind: req.kind().unwrap_or(dhcp6::BootKind::Pxe),
            };
            let (_, answer) = dhcp6::answer(&req, &params);
            let mut out = dhcp6::wrap_relays(&layers, answer);
            for l in &layers {
                assert_eq!(out.msg_type(), msg::RELAY_REPL);
                assert_eq!(out.option(opt::INTERFACE_ID), l.interface_id.as_deref());
                let inner = out
                    .option(opt::RELAY_MSG)
                    .expect("a Relay-Reply holds a message");
                out = Message6::decode(inner).expect("what we wrap decodes");
            }
            assert!(matches!(out.msg_type(), msg::ADVERTISE | msg::REPLY));
        }
    }
    responder6(data);
}

fn responder6(data: &[u8]) {
    let mut cfg = ResponderConfig::new("dp1", ME, Role::DistributionPoint);
    cfg.images = vec!["PS100001".into(), "PS100002".into()];
    cfg.address6 = Some(ME6);
    cfg.http = Some(HttpConfig::default());
    let mut r = Responder::new(
        Instant::ZERO,
        cfg,
        Arc::new(site()),
        Box::new(MemoryStore::new()),
        Arc::new(PatternRoot),
        1,
    );
    let src = SocketAddrV6::new("fe80::5054:ff:fe00:1".parse().expect("address"), 546, 0, 2);
    let mut out = Output::default();
    for port in [dhcp6::SERVER_PORT, dhcp6::PXE_PORT] {
        r.handle_datagram6(
            Instant::ZERO,
            src,
            SocketAddrV6::new(ME6, port, 0, 0),
            Some(Mac([0x52, 0x54, 0, 0, 0, 1])),
            data,
            &mut out,
        );
    }
    for t in &out.transmits6 {
        let m = Message6::decode(&t.payload).expect("the responder writes well-formed DHCPv6");
        assert!(matches!(
            m.msg_type(),
            msg::ADVERTISE | msg::REPLY | msg::RELAY_REPL
        ));
    }
}
