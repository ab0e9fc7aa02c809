//! A DHCPv6 relay agent (RFC 8415 section 19), the IPv6 side of a router's IP helpers
//! (`ip_helpers6`, `interface_id6`): a client's message heard on an interface goes to
//! each configured destination in a Relay-Forward whose link address is the router's
//! address on that interface, whose peer address is the client's, carrying the
//! Interface-ID option (18) when configured and the client's link-layer address (option
//! 79, RFC 6939: what lets a responder know a DUID-UUID client by its MAC, R-V6-2). A
//! Relay-Reply comes back to the interface its Interface-ID names (else its link
//! address's), and its Relay Message goes to the peer address, port 546 (R-V6-3).
//! Sans-IO, as [`crate::dhcp::relay::RelayAgent`].

use std::collections::BTreeMap;
use std::net::{Ipv6Addr, SocketAddrV6};

use super::wire::{Message6, Opt, HOP_COUNT_LIMIT};
use super::{msg, opt, CLIENT_PORT, SERVER_PORT};
use crate::ids::Mac;

/// One relaying interface: its address (the link address) and what it inserts.
#[derive(Clone, Debug)]
pub struct RelayIface6 {
    pub address: Ipv6Addr,
    pub helpers: Vec<Ipv6Addr>,
    pub interface_id: Option<Vec<u8>>,
    /// Inserts the client's link-layer address (option 79). pxelab's agent does; ISC
    /// `dhcrelay -6` 4.4 does not, which the lab showed leaves a DUID-UUID client without
    /// a MAC (scenarios/lab/pxe6-relay-dhcrelay.yaml).
    pub client_link_layer: bool,
}

#[derive(Clone, Debug, Default)]
pub struct RelayAgent6 {
    /// By interface index.
    ifaces: BTreeMap<usize, RelayIface6>,
}

impl RelayAgent6 {
    pub fn new(ifaces: BTreeMap<usize, RelayIface6>) -> RelayAgent6 {
        RelayAgent6 { ifaces }
    }

    /// Interfaces that relay (have helpers).
    pub fn relays_on(&self, iface: usize) -> bool {
        self.ifaces
            .get(&iface)
            .is_some_and(|i| !i.helpers.is_empty())
    }

    /// A client's (or an inner relay's) message to ff02::1:2 heard on `iface` from
    /// `peer`: one Relay-Forward per helper, (destination, payload).
    pub fn from_client(
        &self,
        iface: usize,
        peer: Ipv6Addr,
        peer_mac: Mac,
        payload: &[u8],
    ) -> Vec<(SocketAddrV6, Vec<u8>)> {
        let Some(i) = self.ifaces.get(&iface) else {
            return Vec::new();
        };
        let Ok(m) = Message6::decode(payload) else {
            return Vec::new();
        };
        let hop_count = match &m {
            Message6::Relay {
                msg_type: msg::RELAY_FORW,
                hop_count,
                ..
            } if *hop_count + 1 >= HOP_COUNT_LIMIT => return Vec::new(),
            Message6::Relay {
                msg_type: msg::RELAY_FORW,
                hop_count,
                ..
            } => hop_count + 1,
            Message6::Relay { .. } => return Vec::new(),
            Message6::Client { .. } => 0,
        };
        let mut options = Vec::new();
        if let Some(id) = &i.interface_id {
            options.push(Opt {
                code: opt::INTERFACE_ID,
                data: id.clone(),
            });
        }
        if i.client_link_layer {
            // Hardware type 1 (Ethernet), then the MAC.
            let mut ll = vec![0, 1];
            ll.extend(peer_mac.0);
            options.push(Opt {
                code: opt::CLIENT_LINKLAYER_ADDR,
                data: ll,
            });
        }
        options.push(Opt {
            code: opt::RELAY_MSG,
            data: payload.to_vec(),
        });
        let fwd = Message6::Relay {
            msg_type: msg::RELAY_FORW,
            hop_count,
            link_addr: i.address,
            peer_addr: peer,
            options,
        }
        .encode();
        i.helpers
            .iter()
            .map(|h| (SocketAddrV6::new(*h, SERVER_PORT, 0, 0), fwd.clone()))
            .collect()
    }

    /// A server's Relay-Reply: (interface, destination, payload) of the message inside.
    pub fn from_server(&self, payload: &[u8]) -> Option<(usize, SocketAddrV6, Vec<u8>)> {
        let Ok(Message6::Relay {
            msg_type: msg::RELAY_REPL,
            link_addr,
            peer_addr,
            options,
            ..
        }) = Message6::decode(payload)
        else {
            return None;
        };
        let find = |code| options.iter().find(|o: &&Opt| o.code == code);
        let inner = find(opt::RELAY_MSG)?.data.clone();
        let iface = match find(opt::INTERFACE_ID) {
            Some(id) => self
                .ifaces
                .iter()
                .find(|(_, i)| i.interface_id.as_deref() == Some(&id.data[..]))
                .map(|(n, _)| *n)?,
            None => self
                .ifaces
                .iter()
                .find(|(_, i)| i.address == link_addr)
                .map(|(n, _)| *n)?,
        };
        // To a client (546) or to an inner relay (547).
        let port = match Message6::decode(&inner) {
            Ok(Message6::Relay { .. }) => SERVER_PORT,
            _ => CLIENT_PORT,
        };
        Some((iface, SocketAddrV6::new(peer_addr, port, 0, 0), inner))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dhcp6::relay::{unwrap_relays, wrap_relays};

    fn agent() -> RelayAgent6 {
        agent_with(true)
    }

    fn agent_with(client_link_layer: bool) -> RelayAgent6 {
        let mut m = BTreeMap::new();
        m.insert(
            1,
            RelayIface6 {
                address: "2001:db8:30::1".parse().unwrap(),
                helpers: vec!["2001:db8:10::5".parse().unwrap()],
                interface_id: Some(b"vlan30".to_vec()),
                client_link_layer,
            },
        );
        RelayAgent6::new(m)
    }

    #[test]
    fn r_v6_3_forward_with_interface_id_and_link_layer_then_back_to_the_client() {
        let a = agent();
        let solicit = Message6::Client {
            msg_type: msg::SOLICIT,
            xid: [1, 2, 3],
            options: vec![],
        };
        let peer: Ipv6Addr = "fe80::5054:ff:fe00:1".parse().unwrap();
        let mac = Mac([0x52, 0x54, 0, 0, 0, 1]);
        let out = a.from_client(1, peer, mac, &solicit.encode());
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].0.to_string(), "[2001:db8:10::5]:547");
        let (layers, inner) = unwrap_relays(Message6::decode(&out[0].1).unwrap()).unwrap();
        assert_eq!(inner, solicit);
        assert_eq!(layers[0].interface_id.as_deref(), Some(&b"vlan30"[..]));
        assert_eq!(layers[0].client_link_layer.as_deref().unwrap()[2..], mac.0);
        assert_eq!(layers[0].peer_addr, peer);
        // The server's answer through the same relay.
        let reply = wrap_relays(&layers, solicit.clone()).encode();
        let (iface, to, payload) = a.from_server(&reply).unwrap();
        assert_eq!((iface, to), (1, SocketAddrV6::new(peer, 546, 0, 0)));
        assert_eq!(Message6::decode(&payload).unwrap(), solicit);
        assert!(a.from_client(0, peer, mac, &solicit.encode()).is_empty());
    }

    #[test]
    fn a_relay_like_isc_dhcrelay_forwards_without_the_link_layer_option() {
        let solicit = Message6::Client {
            msg_type: msg::SOLICIT,
            xid: [1, 2, 3],
            options: vec![],
        };
        let peer: Ipv6Addr = "fe80::5054:ff:fe00:1".parse().unwrap();
        let out = agent_with(false).from_client(
            1,
            peer,
            Mac([0x52, 0x54, 0, 0, 0, 1]),
            &solicit.encode(),
        );
        let (layers, inner) = unwrap_relays(Message6::decode(&out[0].1).unwrap()).unwrap();
        assert_eq!(inner, solicit);
        assert_eq!(layers[0].interface_id.as_deref(), Some(&b"vlan30"[..]));
        assert_eq!(layers[0].client_link_layer, None);
    }
}
