//! The simulator's built-in DHCPv6 address server (RFC 8415), beside the IPv4 one
//! ([`crate::dhcp::server`]): the firmware needs an address from somewhere before it
//! boots over IPv6. A sans-IO state machine.
//!
//! It leases one address (IA_NA) per client DUID from per-segment pools (`pools6`): a
//! relayed message gets an address from the pool whose prefix holds the innermost
//! relay's link address, a local one from the pool of the server's own segment. The
//! address is deterministic: the client's previous one, else the lowest free one.
//! Solicit gets an Advertise, Request a Reply with the lease, Release a Reply; a
//! Request naming another server is ignored. A relayed message is answered through
//! its relays (R-V6-3's wrapping). It knows nothing of PXE.
//!
//! With no address left the Advertise carries status NoAddrsAvail (2) in the IA, as
//! dnsmasq's did in the AAVMF capture (docs/MODEL.md).

use std::collections::BTreeMap;
use std::net::{Ipv6Addr, SocketAddrV6};

use super::relay::{unwrap_relays, wrap_relays};
use super::wire::{Message6, Opt};
use super::{msg, opt, CLIENT_PORT, SERVER_PORT};

/// Preferred and valid lifetimes of a lease, seconds.
pub const LIFETIME_SECS: u32 = 3600;
/// Status code NoAddrsAvail (RFC 8415 section 21.13).
pub const NO_ADDRS_AVAIL: u16 = 2;

/// An address pool of one segment's prefix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pool6 {
    /// The segment's prefix (network, length).
    pub prefix: (Ipv6Addr, u8),
    /// First and last address to lease, inclusive.
    pub first: Ipv6Addr,
    pub last: Ipv6Addr,
}

/// `a` lies in `(net, len)`.
pub fn in_prefix(a: Ipv6Addr, (net, len): (Ipv6Addr, u8)) -> bool {
    let m = if len == 0 {
        0
    } else {
        u128::MAX << (128 - u32::from(len.min(128)))
    };
    u128::from(a) & m == u128::from(net) & m
}

/// A datagram to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply6 {
    /// The client (its link-local address, port 546) or the relay (port 547).
    pub dst: SocketAddrV6,
    pub payload: Vec<u8>,
}

#[derive(Clone, Debug)]
pub struct DhcpServer6 {
    duid: Vec<u8>,
    /// The pool of the server's own segment first, then the others.
    pools: Vec<Pool6>,
    local: Option<(Ipv6Addr, u8)>,
    /// Bindings by client DUID and IAID (one client may hold several addresses: EDK2's
    /// IPv6 stack and its PXE each have an IA), ordered for determinism. An Advertise
    /// binds nothing, as dnsmasq's (the lab's server).
    leases: BTreeMap<(Vec<u8>, [u8; 4]), Ipv6Addr>,
    log: Vec<String>,
    /// Advertises carry preference 255 (dnsmasq, the lab's `dhcp-authoritative`);
    /// Kea's carry none, so EDK2 collects Advertises for its whole window.
    authoritative: bool,
}

impl DhcpServer6 {
    /// `name` makes the server's DUID (a DUID-EN of enterprise 343 would pretend to be
    /// Intel: a DUID-UUID from the name, as the responders' own, [`super::server_duid`]).
    /// `local` is the server's own segment prefix.
    pub fn new(name: &str, local: Option<(Ipv6Addr, u8)>, pools: Vec<Pool6>) -> DhcpServer6 {
        DhcpServer6 {
            duid: super::server_duid(&format!("dhcp6:{name}")),
            pools,
            local,
            leases: BTreeMap::new(),
            log: Vec::new(),
            authoritative: true,
        }
    }

    /// Without preference 255 in its Advertises (the lab's Kea: OVMF's Request went
    /// 4.87 s after its Solicit, its collection window).
    pub fn without_preference(mut self) -> DhcpServer6 {
        self.authoritative = false;
        self
    }

    pub fn duid(&self) -> &[u8] {
        &self.duid
    }

    /// Log lines since the last call.
    pub fn take_log(&mut self) -> Vec<String> {
        std::mem::take(&mut self.log)
    }

    /// A datagram to port 547 from `src`.
    pub fn handle(&mut self, src: SocketAddrV6, payload: &[u8]) -> Vec<Reply6> {
        let m = match Message6::decode(payload) {
            Ok(m) => m,
            Err(e) => {
                self.log.push(format!("malformed DHCPv6 from {src}: {e}"));
                return Vec::new();
            }
        };
        let (layers, inner) = match unwrap_relays(m) {
            Ok(x) => x,
            Err(e) => {
                self.log.push(format!("malformed DHCPv6 from {src}: {e}"));
                return Vec::new();
            }
        };
        let Message6::Client {
            msg_type,
            xid,
            options,
        } = &inner
        else {
            return Vec::new();
        };
        let find = |code: u16| options.iter().find(|o| o.code == code).map(|o| &o.data);
        let Some(client_id) = find(opt::CLIENTID).cloned() else {
            return Vec::new();
        };
        if let Some(s) = find(opt::SERVERID) {
            if *s != self.duid {
                return Vec::new(); // for another server (a proxy's Request on 547)
            }
        }
        // The IAID the client chose, echoed.
        let iaid = find(opt::IA_NA)
            .and_then(|d| d.get(..4))
            .map(|d| [d[0], d[1], d[2], d[3]]);
        // The link: the innermost relay's link address, else our own segment.
        let link = match layers.last() {
            Some(l) => Some(l.link_addr),
            None => self.local.map(|p| p.0),
        };
        let answer_type = match *msg_type {
            msg::SOLICIT => msg::ADVERTISE,
            msg::REQUEST | msg::RENEW | msg::REBIND | msg::RELEASE | msg::CONFIRM => msg::REPLY,
            _ => return Vec::new(),
        };
        let mut out = vec![
            Opt {
                code: opt::CLIENTID,
                data: client_id.clone(),
            },
            Opt {
                code: opt::SERVERID,
                data: self.duid.clone(),
            },
        ];
        if *msg_type == msg::RELEASE {
            if let Some(iaid) = iaid {
                self.leases.remove(&(client_id.clone(), iaid));
            }
            out.push(status(0, "released"));
        } else if let Some(iaid) = iaid {
            let bind = *msg_type != msg::SOLICIT;
            let wanted = ia_address(&inner);
            let addr = link.and_then(|l| self.lease(&client_id, iaid, l, wanted, bind));
            let mut ia = iaid.to_vec();
            match addr {
                Some(a) => {
                    ia.extend((LIFETIME_SECS / 2).to_be_bytes()); // T1
                    ia.extend((LIFETIME_SECS * 4 / 5).to_be_bytes()); // T2
                    let mut iaaddr = a.octets().to_vec();
                    iaaddr.extend(LIFETIME_SECS.to_be_bytes());
                    iaaddr.extend(LIFETIME_SECS.to_be_bytes());
                    push_opt(&mut ia, 5, &iaaddr);
                    self.log.push(format!(
                        "DHCPv6 {} {a} to {}",
                        if answer_type == msg::ADVERTISE {
                            "advertise"
                        } else {
                            "reply"
                        },
                        hex(&client_id)
                    ));
                }
                None => {
                    ia.extend([0; 8]);
                    let st = status(NO_ADDRS_AVAIL, "no addresses available");
                    push_opt(&mut ia, st.code, &st.data);
                    self.log.push(format!(
                        "DHCPv6: no address for {} (no pool for its link, or the pool is full)",
                        hex(&client_id)
                    ));
                }
            }
            out.push(Opt {
                code: opt::IA_NA,
                data: ia,
            });
            if addr.is_some() {
                // As the lab's dnsmasq (`dhcp-authoritative`): success, and in an
                // Advertise preference 255, "do not wait for other servers".
                out.push(status(0, "success"));
                if answer_type == msg::ADVERTISE && self.authoritative {
                    out.push(Opt {
                        code: opt::PREFERENCE,
                        data: vec![255],
                    });
                }
            }
        }
        let answer = Message6::Client {
            msg_type: answer_type,
            xid: *xid,
            options: out,
        };
        let reply = if layers.is_empty() {
            Reply6 {
                dst: SocketAddrV6::new(*src.ip(), CLIENT_PORT, 0, src.scope_id()),
                payload: answer.encode(),
            }
        } else {
            Reply6 {
                dst: SocketAddrV6::new(*src.ip(), SERVER_PORT, 0, src.scope_id()),
                payload: wrap_relays(&layers, answer).encode(),
            }
        };
        vec![reply]
    }

    /// The address of the client's IA on `link`, as dnsmasq chooses it: its binding
    /// if in that pool; for a Request naming an address, that one unless another IA
    /// holds it (then none: NoAddrsAvail, as dnsmasq answered in
    /// `uefi-arm64-pxe6-noaddrs.pcap`); else the pool's address at dnsmasq's hash of
    /// the IAID and DUID, or the next free one after it. `bind` (Request) records it;
    /// a Solicit's Advertise does not, so two IAs can be advertised one address.
    fn lease(
        &mut self,
        client: &[u8],
        iaid: [u8; 4],
        link: Ipv6Addr,
        wanted: Option<Ipv6Addr>,
        bind: bool,
    ) -> Option<Ipv6Addr> {
        let pool = self
            .pools
            .iter()
            .find(|p| in_prefix(link, p.prefix))?
            .clone();
        let (first, last) = (u128::from(pool.first), u128::from(pool.last));
        let key = (client.to_vec(), iaid);
        if let Some(a) = self.leases.get(&key) {
            if (first..=last).contains(&u128::from(*a)) {
                return Some(*a);
            }
        }
        let held = |a: u128| self.leases.values().any(|l| u128::from(*l) == a);
        let chosen = match wanted.map(u128::from) {
            Some(w) if (first..=last).contains(&w) => (!held(w)).then_some(w)?,
            _ => {
                let size = last.checked_sub(first)? + 1;
                let start = u128::from(dnsmasq_hash(u32::from_be_bytes(iaid), client)) % size;
                (0..size.min(1 << 16))
                    .map(|i| first + (start + i) % size)
                    .find(|a| !held(*a))?
            }
        };
        let a = Ipv6Addr::from(chosen);
        if bind {
            self.leases.insert(key, a);
        }
        Some(a)
    }
}

/// dnsmasq's address hash (`address6_allocate`, SDBM over the client id from the IAID):
/// with it the model gives the captures' addresses (fd77::182 and ::17a to OVMF x64's two
/// IAs, ::1fb and ::1fc to IA32's, ::103 and ::1fb to AAVMF's, pool fd77::100-1ff).
fn dnsmasq_hash(iaid: u32, client_id: &[u8]) -> u64 {
    client_id.iter().fold(u64::from(iaid), |j, b| {
        u64::from(*b)
            .wrapping_add(j << 6)
            .wrapping_add(j << 16)
            .wrapping_sub(j)
    })
}

fn status(code: u16, text: &str) -> Opt {
    let mut d = code.to_be_bytes().to_vec();
    d.extend(text.as_bytes());
    Opt {
        code: opt::STATUS_CODE,
        data: d,
    }
}

fn push_opt(out: &mut Vec<u8>, code: u16, data: &[u8]) {
    out.extend(code.to_be_bytes());
    out.extend((data.len() as u16).to_be_bytes());
    out.extend(data);
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The address of an IA_NA option's first IAADDR with a success status, if any (what a
/// client takes from an Advertise or Reply).
pub fn ia_address(m: &Message6) -> Option<Ipv6Addr> {
    let ia = m.option(opt::IA_NA)?;
    let mut b = ia.get(12..)?;
    let mut found = None;
    while b.len() >= 4 {
        let code = u16::from_be_bytes([b[0], b[1]]);
        let len = usize::from(u16::from_be_bytes([b[2], b[3]]));
        let data = b.get(4..4 + len)?;
        match code {
            5 if data.len() >= 16 => {
                let mut a = [0u8; 16];
                a.copy_from_slice(&data[..16]);
                found = Some(Ipv6Addr::from(a));
            }
            opt::STATUS_CODE if data.len() >= 2 && data[..2] != [0, 0] => return None,
            _ => {}
        }
        b = &b[4 + len..];
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    const LL: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0x5054, 0xff, 0xfe12, 0x3456);

    fn net(s: &str) -> Ipv6Addr {
        s.parse().unwrap()
    }

    fn server() -> DhcpServer6 {
        DhcpServer6::new(
            "dhcp",
            Some((net("2001:db8:10::"), 64)),
            vec![
                Pool6 {
                    prefix: (net("2001:db8:10::"), 64),
                    first: net("2001:db8:10::100"),
                    last: net("2001:db8:10::101"),
                },
                Pool6 {
                    prefix: (net("2001:db8:30::"), 64),
                    first: net("2001:db8:30::100"),
                    last: net("2001:db8:30::1ff"),
                },
            ],
        )
    }

    fn client_msg(t: u8, duid: u8, server: Option<&[u8]>) -> Message6 {
        let mut options = vec![Opt {
            code: opt::CLIENTID,
            data: vec![0, 3, 0, 1, 0x52, 0x54, 0, 0, 0, duid],
        }];
        if let Some(s) = server {
            options.push(Opt {
                code: opt::SERVERID,
                data: s.to_vec(),
            });
        }
        options.push(Opt {
            code: opt::IA_NA,
            data: vec![0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 0],
        });
        Message6::Client {
            msg_type: t,
            xid: [1, 2, 3],
            options,
        }
    }

    fn from_client() -> SocketAddrV6 {
        SocketAddrV6::new(LL, 546, 0, 0)
    }

    #[test]
    fn solicit_gets_an_advertise_then_request_a_reply_with_the_same_address() {
        let mut s = server();
        let r = s.handle(from_client(), &client_msg(msg::SOLICIT, 1, None).encode());
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].dst, SocketAddrV6::new(LL, 546, 0, 0));
        let adv = Message6::decode(&r[0].payload).unwrap();
        assert_eq!(adv.msg_type(), msg::ADVERTISE);
        let first = ia_address(&adv).expect("an address");
        assert!(first == net("2001:db8:10::100") || first == net("2001:db8:10::101"));
        assert_eq!(adv.option(opt::IA_NA).unwrap()[..4], [0, 0, 0, 9], "IAID");
        let duid = s.duid().to_vec();
        let r = s.handle(
            from_client(),
            &client_msg(msg::REQUEST, 1, Some(&duid)).encode(),
        );
        let reply = Message6::decode(&r[0].payload).unwrap();
        assert_eq!(reply.msg_type(), msg::REPLY);
        assert_eq!(ia_address(&reply), Some(first));
        // A second client gets the other address; a third finds the pool full.
        let r = s.handle(
            from_client(),
            &client_msg(msg::REQUEST, 2, Some(&duid)).encode(),
        );
        let other = ia_address(&Message6::decode(&r[0].payload).unwrap());
        assert!(other.is_some() && other != Some(first));
        let r = s.handle(from_client(), &client_msg(msg::SOLICIT, 3, None).encode());
        let adv = Message6::decode(&r[0].payload).unwrap();
        assert_eq!(ia_address(&adv), None, "NoAddrsAvail");
    }

    #[test]
    fn dnsmasqs_advertise_has_preference_255_keas_none() {
        let solicit = client_msg(msg::SOLICIT, 1, None).encode();
        let pref = |s: &mut DhcpServer6| {
            let r = s.handle(from_client(), &solicit);
            Message6::decode(&r[0].payload)
                .unwrap()
                .option(opt::PREFERENCE)
                .map(|p| p.to_vec())
        };
        assert_eq!(pref(&mut server()), Some(vec![255]));
        assert_eq!(pref(&mut server().without_preference()), None);
    }

    #[test]
    fn a_request_for_another_server_is_ignored() {
        let mut s = server();
        let r = s.handle(
            from_client(),
            &client_msg(msg::REQUEST, 1, Some(&[0, 4, 1, 2])).encode(),
        );
        assert!(r.is_empty());
    }

    #[test]
    fn a_relayed_solicit_gets_an_address_of_the_relays_link_through_the_relay() {
        let mut s = server();
        let relay = net("2001:db8:30::1");
        let fwd = Message6::Relay {
            msg_type: msg::RELAY_FORW,
            hop_count: 0,
            link_addr: relay,
            peer_addr: LL,
            options: vec![
                Opt {
                    code: opt::INTERFACE_ID,
                    data: b"vlan30".to_vec(),
                },
                Opt {
                    code: opt::RELAY_MSG,
                    data: client_msg(msg::SOLICIT, 1, None).encode(),
                },
            ],
        };
        let r = s.handle(SocketAddrV6::new(relay, 547, 0, 0), &fwd.encode());
        assert_eq!(r[0].dst.port(), 547);
        let (layers, inner) = unwrap_relays_reply(&r[0].payload);
        assert_eq!(layers, vec![b"vlan30".to_vec()]);
        let a = ia_address(&inner).expect("an address");
        assert!(in_prefix(a, (net("2001:db8:30::"), 64)), "{a}");
    }

    fn unwrap_relays_reply(b: &[u8]) -> (Vec<Vec<u8>>, Message6) {
        let mut m = Message6::decode(b).unwrap();
        let mut ids = Vec::new();
        while let Message6::Relay { .. } = &m {
            assert_eq!(m.msg_type(), msg::RELAY_REPL);
            ids.push(m.option(opt::INTERFACE_ID).unwrap().to_vec());
            m = Message6::decode(m.option(opt::RELAY_MSG).unwrap()).unwrap();
        }
        (ids, m)
    }

    #[test]
    fn release_frees_the_address() {
        let mut s = server();
        let duid = s.duid().to_vec();
        s.handle(
            from_client(),
            &client_msg(msg::REQUEST, 1, Some(&duid)).encode(),
        );
        assert_eq!(s.leases.len(), 1);
        let r = s.handle(
            from_client(),
            &client_msg(msg::RELEASE, 1, Some(&duid)).encode(),
        );
        assert_eq!(
            Message6::decode(&r[0].payload).unwrap().msg_type(),
            msg::REPLY
        );
        assert!(s.leases.is_empty());
    }

    /// An IA_NA with `iaid` and, if given, the address asked for.
    fn ia_msg(t: u8, iaid: u32, addr: Option<Ipv6Addr>, server: Option<&[u8]>) -> Message6 {
        let mut ia = iaid.to_be_bytes().to_vec();
        ia.extend([0; 8]);
        if let Some(a) = addr {
            ia.extend([0, 5, 0, 24]);
            ia.extend(a.octets());
            ia.extend([0; 8]);
        }
        let mut options = vec![Opt {
            code: opt::CLIENTID,
            data: hex_bytes("000433221100554477668899aabbccddeeff"),
        }];
        if let Some(id) = server {
            options.push(Opt {
                code: opt::SERVERID,
                data: id.to_vec(),
            });
        }
        options.push(Opt {
            code: opt::IA_NA,
            data: ia,
        });
        Message6::Client {
            msg_type: t,
            xid: [1, 2, 3],
            options,
        }
    }

    fn hex_bytes(h: &str) -> Vec<u8> {
        (0..h.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap())
            .collect()
    }

    fn capture_server() -> DhcpServer6 {
        DhcpServer6::new(
            "dnsmasq",
            Some((net("fd77::"), 64)),
            vec![Pool6 {
                prefix: (net("fd77::"), 64),
                first: net("fd77::100"),
                last: net("fd77::1ff"),
            }],
        )
    }

    fn answer(s: &mut DhcpServer6, m: &Message6) -> Message6 {
        Message6::decode(&s.handle(from_client(), &m.encode())[0].payload).unwrap()
    }

    #[test]
    fn addresses_are_dnsmasqs_as_in_the_captures() {
        let mut s = capture_server();
        let id = s.duid().to_vec();
        // OVMF x64: the IPv6 stack's IA binds ::182, then PXE's is advertised ::17a.
        let a = answer(&mut s, &ia_msg(msg::REQUEST, 0x3f87_f77e, None, Some(&id)));
        assert_eq!(ia_address(&a), Some(net("fd77::182")));
        let a = answer(&mut s, &ia_msg(msg::SOLICIT, 0x56a0_df76, None, None));
        assert_eq!(ia_address(&a), Some(net("fd77::17a")));
        // OVMF IA32: both IAs hash to ::1fb; the second is given the next, ::1fc.
        let mut s = capture_server();
        answer(&mut s, &ia_msg(msg::REQUEST, 0xfea9_5e77, None, Some(&id)));
        let a = answer(&mut s, &ia_msg(msg::SOLICIT, 0x13c2_5677, None, None));
        assert_eq!(ia_address(&a), Some(net("fd77::1fc")));
    }

    #[test]
    fn an_address_advertised_twice_goes_to_the_first_request_the_other_gets_noaddrsavail() {
        let mut s = capture_server();
        let id = s.duid().to_vec();
        // AAVMF's race: PXE's IA (0x7b06d776) and the stack's (0x73eddf76) hash alike.
        let pxe = answer(&mut s, &ia_msg(msg::SOLICIT, 0x7b06_d776, None, None));
        let stack = answer(&mut s, &ia_msg(msg::SOLICIT, 0x73ed_df76, None, None));
        let addr = ia_address(&pxe);
        assert!(addr.is_some());
        assert_eq!(ia_address(&stack), addr, "the Advertise binds nothing");
        let r = answer(&mut s, &ia_msg(msg::REQUEST, 0x73ed_df76, addr, Some(&id)));
        assert_eq!(ia_address(&r), addr);
        let r = answer(&mut s, &ia_msg(msg::REQUEST, 0x7b06_d776, addr, Some(&id)));
        assert_eq!(ia_address(&r), None);
        let ia = r.option(opt::IA_NA).unwrap();
        assert_eq!(ia[12..14], [0, opt::STATUS_CODE as u8]);
        assert_eq!(ia[16..18], NO_ADDRS_AVAIL.to_be_bytes());
    }

    proptest::proptest! {
        #[test]
        fn any_datagram_is_answered_or_not_without_panic(b in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
            let _ = server().handle(from_client(), &b);
        }
    }
}
