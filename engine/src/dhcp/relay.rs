//! A DHCP relay agent (RFC 1542 section 4, RFC 3046), sans-IO: the IP helpers of the
//! lab's routers (R-ANS-3).
//!
//! Towards the servers ([`RelayAgent::from_client`]): a BOOTREQUEST heard on a client
//! interface is sent to every helper address of that interface, port 67, from the
//! router's address on that interface. giaddr is set to that address when it is 0
//! (left alone when another relay already set it), `hops` is incremented, and a
//! request that already made more than 16 hops is dropped. When the interface is
//! configured for option 82 and the request carries none, the relay inserts one
//! (sub-options 1 circuit id and 2 remote id) just before END.
//!
//! Towards the client ([`RelayAgent::from_server`]): a BOOTREPLY whose giaddr is one of
//! the router's addresses goes out of that interface to port 68: broadcast when the
//! broadcast flag is set or yiaddr is 0 (a proxy offer), else to yiaddr. The option 82
//! the relay inserted is removed first (RFC 3046 section 2.2). Proxy responders answer
//! relayed DISCOVERs to giaddr:67 too, so their offers come back through here.
//!
//! Packets that do not parse strictly ([`super::parse`]) are dropped and logged: the
//! relay must find END to insert option 82, and the lab's routers need not forward
//! what no responder would act on.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddrV4};

use super::packet::{parse, walk_main};
use super::wire::MIN_LEN;
use super::{opt, CLIENT_PORT, OPTIONS_OFFSET, SERVER_PORT};

/// Most hops a request may already have made (RFC 1542 section 4.1.1).
pub const MAX_HOPS: u8 = 16;

/// Option 82 for one interface: circuit id (sub-option 1), remote id (sub-option 2).
pub type Option82 = (Option<Vec<u8>>, Option<Vec<u8>>);

#[derive(Clone, Debug, PartialEq, Eq)]
struct Iface {
    id: usize,
    addr: Ipv4Addr,
    prefix: u8,
    helpers: Vec<Ipv4Addr>,
    option82: Option<Option82>,
}

/// The relay agent of one router.
#[derive(Clone, Debug)]
pub struct RelayAgent {
    ifaces: Vec<Iface>,
    log: Vec<String>,
}

/// Encodes the option 82 data (sub-options 1 and 2 in that order).
pub fn encode_option82(o: &Option82) -> Vec<u8> {
    let mut v = Vec::new();
    for (sub, val) in [(1u8, &o.0), (2u8, &o.1)] {
        if let Some(val) = val {
            let val = &val[..val.len().min(255)];
            v.push(sub);
            v.push(val.len() as u8);
            v.extend_from_slice(val);
        }
    }
    v
}

impl RelayAgent {
    /// `interfaces`: (interface id, the router's address on it, prefix length).
    /// `helpers`: per interface id, the helper addresses (relay targets).
    /// `option82`: per interface id, the option 82 to insert for its clients.
    pub fn new(
        interfaces: Vec<(usize, Ipv4Addr, u8)>,
        helpers: BTreeMap<usize, Vec<Ipv4Addr>>,
        option82: BTreeMap<usize, Option82>,
    ) -> RelayAgent {
        let ifaces = interfaces
            .into_iter()
            .map(|(id, addr, prefix)| Iface {
                id,
                addr,
                prefix,
                helpers: helpers.get(&id).cloned().unwrap_or_default(),
                option82: option82.get(&id).cloned(),
            })
            .collect();
        RelayAgent {
            ifaces,
            log: Vec::new(),
        }
    }

    /// Log lines since the last call (dropped packets and why).
    pub fn take_log(&mut self) -> Vec<String> {
        std::mem::take(&mut self.log)
    }

    /// The router's address and prefix on an interface.
    pub fn interface(&self, iface: usize) -> Option<(Ipv4Addr, u8)> {
        self.ifaces
            .iter()
            .find(|i| i.id == iface)
            .map(|i| (i.addr, i.prefix))
    }

    /// A client broadcast heard on `iface`: what to send to each helper, as
    /// (destination helper:67, source address, payload).
    pub fn from_client(
        &mut self,
        iface: usize,
        payload: &[u8],
    ) -> Vec<(SocketAddrV4, Ipv4Addr, Vec<u8>)> {
        let Some(i) = self.ifaces.iter().find(|i| i.id == iface).cloned() else {
            self.log.push(format!("no interface {iface}"));
            return Vec::new();
        };
        if i.helpers.is_empty() {
            return Vec::new();
        }
        let req = match parse(payload) {
            Ok(p) => p,
            Err(e) => {
                self.log
                    .push(format!("dropped from interface {iface}: {e}"));
                return Vec::new();
            }
        };
        if req.op != 1 {
            self.log
                .push(format!("dropped from interface {iface}: not a BOOTREQUEST"));
            return Vec::new();
        }
        if req.hops > MAX_HOPS {
            self.log
                .push(format!("dropped from interface {iface}: {} hops", req.hops));
            return Vec::new();
        }
        let mut out = payload.to_vec();
        out[3] = req.hops + 1;
        if req.giaddr.is_unspecified() {
            out[24..28].copy_from_slice(&i.addr.octets());
        }
        if let Some(o82) = &i.option82 {
            let data = encode_option82(o82);
            if req.relay_agent_info.is_none() && !data.is_empty() && data.len() <= 255 {
                // parse() succeeded, so the walk does too.
                if let Ok(area) = walk_main(payload) {
                    let mut v = out[..area.end_offset].to_vec();
                    v.push(opt::RELAY_AGENT_INFO);
                    v.push(data.len() as u8);
                    v.extend_from_slice(&data);
                    v.push(opt::END);
                    if v.len() < payload.len() {
                        v.resize(payload.len(), 0);
                    }
                    out = v;
                }
            }
        }
        i.helpers
            .iter()
            .map(|h| (SocketAddrV4::new(*h, SERVER_PORT), i.addr, out.clone()))
            .collect()
    }

    /// A server reply to a relayed request (received on port 67): the interface to
    /// send it out of, its destination, and the payload.
    pub fn from_server(&mut self, payload: &[u8]) -> Option<(usize, SocketAddrV4, Vec<u8>)> {
        let rep = match parse(payload) {
            Ok(p) => p,
            Err(e) => {
                self.log.push(format!("dropped server reply: {e}"));
                return None;
            }
        };
        if rep.op != 2 {
            self.log
                .push("dropped server message: not a BOOTREPLY".into());
            return None;
        }
        let Some(i) = self.ifaces.iter().find(|i| i.addr == rep.giaddr) else {
            self.log.push(format!(
                "dropped server reply: giaddr {} is not ours",
                rep.giaddr
            ));
            return None;
        };
        let mut out = payload.to_vec();
        if i.option82.is_some() && rep.relay_agent_info.is_some() {
            let area = walk_main(payload).ok()?;
            let mut v = payload[..OPTIONS_OFFSET].to_vec();
            for f in area
                .found
                .iter()
                .filter(|f| f.code != opt::RELAY_AGENT_INFO)
            {
                v.extend_from_slice(&payload[f.offset..f.data.end]);
            }
            v.push(opt::END);
            if v.len() < MIN_LEN {
                v.resize(MIN_LEN, 0);
            }
            out = v;
        }
        let dst = if rep.broadcast() || rep.yiaddr.is_unspecified() {
            SocketAddrV4::new(Ipv4Addr::BROADCAST, CLIENT_PORT)
        } else {
            SocketAddrV4::new(rep.yiaddr, CLIENT_PORT)
        };
        Some((i.id, dst, out))
    }
}
