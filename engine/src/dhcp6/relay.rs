//! Relayed DHCPv6 (R-V6-3): a Relay-Forward is unwrapped to the client's message, and
//! the answer goes back in a Relay-Reply per relay, each with that relay's hop count,
//! link and peer addresses and its Interface-ID option (18) unchanged
//! (RFC 8415 sections 19.3 and 9).

use std::net::Ipv6Addr;

use super::wire::{decode_relayed, Malformed6, Message6, Opt, HOP_COUNT_LIMIT};
use super::{msg, opt};

/// One relay a request came through.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RelayLayer {
    pub hop_count: u8,
    pub link_addr: Ipv6Addr,
    pub peer_addr: Ipv6Addr,
    /// Option 18 as the relay sent it: echoed unchanged.
    pub interface_id: Option<Vec<u8>>,
    /// Option 79 (RFC 6939) if the relay added one: the client's link-layer address.
    pub client_link_layer: Option<Vec<u8>>,
}

/// The client's message inside `m` and the relays it came through, outermost first
/// (empty for an on-link message). Relay-Replies and over-deep nesting are errors.
pub fn unwrap_relays(m: Message6) -> Result<(Vec<RelayLayer>, Message6), Malformed6> {
    let mut layers = Vec::new();
    let mut m = m;
    // Offsets of nested messages are relative to their option; the outermost is 0.
    loop {
        match m {
            Message6::Relay {
                msg_type,
                hop_count,
                link_addr,
                peer_addr,
                options,
            } => {
                if msg_type != msg::RELAY_FORW {
                    return Err(Malformed6 {
                        offset: 0,
                        what: "a Relay-Reply is for a relay agent, not a server".into(),
                    });
                }
                if layers.len() > usize::from(HOP_COUNT_LIMIT) {
                    return Err(Malformed6 {
                        offset: 0,
                        what: format!("relay messages nested more than {HOP_COUNT_LIMIT} deep"),
                    });
                }
                let find = |code| {
                    options
                        .iter()
                        .find(|o: &&Opt| o.code == code)
                        .map(|o| o.data.clone())
                };
                let Some(inner) = find(opt::RELAY_MSG) else {
                    return Err(Malformed6 {
                        offset: 34,
                        what: "a Relay-Forward without a Relay Message option (9)".into(),
                    });
                };
                layers.push(RelayLayer {
                    hop_count,
                    link_addr,
                    peer_addr,
                    interface_id: find(opt::INTERFACE_ID),
                    client_link_layer: find(opt::CLIENT_LINKLAYER_ADDR),
                });
                m = decode_relayed(&inner, 0)?;
            }
            client => return Ok((layers, client)),
        }
    }
}

// R-V6-3: the answer to a relayed request goes back through the same relays, each
// Relay-Reply echoing its Relay-Forward's hop count, addresses and Interface-ID.
pub fn wrap_relays(layers: &[RelayLayer], answer: Message6) -> Message6 {
    layers.iter().rev().fold(answer, |inner, l| {
        let mut options = Vec::new();
        if let Some(id) = &l.interface_id {
            options.push(Opt {
                code: opt::INTERFACE_ID,
                data: id.clone(),
            });
        }
        options.push(Opt {
            code: opt::RELAY_MSG,
            data: inner.encode(),
        });
        Message6::Relay {
            msg_type: msg::RELAY_REPL,
            hop_count: l.hop_count,
            link_addr: l.link_addr,
            peer_addr: l.peer_addr,
            options,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forw(hop: u8, id: Option<&[u8]>, inner: &Message6) -> Message6 {
        let mut options = Vec::new();
        if let Some(id) = id {
            options.push(Opt {
                code: opt::INTERFACE_ID,
                data: id.to_vec(),
            });
        }
        options.push(Opt {
            code: opt::RELAY_MSG,
            data: inner.encode(),
        });
        Message6::Relay {
            msg_type: msg::RELAY_FORW,
            hop_count: hop,
            link_addr: "2001:db8:30::1".parse().unwrap(),
            peer_addr: "fe80::5054:ff:fe00:1".parse().unwrap(),
            options,
        }
    }

    fn solicit() -> Message6 {
        Message6::Client {
            msg_type: msg::SOLICIT,
            xid: [1, 2, 3],
            options: vec![],
        }
    }

    #[test]
    fn r_v6_3_relay_reply_echoes_the_interface_id_at_every_hop() {
        let two = forw(1, Some(b"core"), &forw(0, Some(b"vlan30"), &solicit()));
        let (layers, inner) = unwrap_relays(two).unwrap();
        assert_eq!(inner, solicit());
        assert_eq!(layers.len(), 2);
        let reply = Message6::Client {
            msg_type: msg::ADVERTISE,
            xid: [1, 2, 3],
            options: vec![],
        };
        let out = wrap_relays(&layers, reply.clone());
        assert_eq!(out.msg_type(), msg::RELAY_REPL);
        assert_eq!(out.option(opt::INTERFACE_ID), Some(&b"core"[..]));
        let inner = Message6::decode(out.option(opt::RELAY_MSG).unwrap()).unwrap();
        assert_eq!(inner.option(opt::INTERFACE_ID), Some(&b"vlan30"[..]));
        let Message6::Relay { hop_count, .. } = &inner else {
            panic!()
        };
        assert_eq!(*hop_count, 0);
        assert_eq!(
            Message6::decode(inner.option(opt::RELAY_MSG).unwrap()).unwrap(),
            reply
        );
    }

    #[test]
    fn r_v6_3_without_interface_id_none_is_invented() {
        let (layers, _) = unwrap_relays(forw(0, None, &solicit())).unwrap();
        let out = wrap_relays(&layers, solicit());
        assert_eq!(out.option(opt::INTERFACE_ID), None);
    }

    #[test]
    fn a_relay_forward_without_a_message_is_an_error() {
        let m = Message6::Relay {
            msg_type: msg::RELAY_FORW,
            hop_count: 0,
            link_addr: Ipv6Addr::UNSPECIFIED,
            peer_addr: Ipv6Addr::UNSPECIFIED,
            options: vec![],
        };
        assert!(unwrap_relays(m).is_err());
    }
}
