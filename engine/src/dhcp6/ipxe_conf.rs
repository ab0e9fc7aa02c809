//! iPXE's IPv6 autoconfiguration during a boot over IPv4 (sans-IO). iPXE's `ifconf`
//! starts every configurator of the interface at once (DHCPv4 and IPv6) and boots only
//! when all are over (`ifconf_progress`). The IPv6 one (`net/ndp.c`, `ipv6conf`)
//! solicits a router; the first advertisement ends it, unless it sets the managed (M)
//! or other-configuration (O) flag: then it runs DHCPv6 first
//! (`ipv6conf_rx_router_advertisement` → `start_dhcpv6`), stateful with M (Solicit,
//! Advertise, Request, Reply: an address, IA_NA), stateless with O alone
//! (Information-request, Reply), and the configuration is over when that session is.
//!
//! The session (`net/udp/dhcpv6.c`, Debian's 2019 ROM and current iPXE alike) is the
//! one of iPXE's PXE over IPv6 ([`super::firmware`]: the same messages, option by
//! option). One transaction id for the whole session. Each state (Solicit, Request,
//! Information-request) restarts its retry timer with no delay (`dhcpv6_set_state`,
//! `start_timer_nodelay`): sent at once, again 0.25, 0.75, 1.75, 3.75 and 7.75 s later
//! (the default timer, 1/4 s doubling), given up at 15.75 s when the timeout would pass
//! 10 s. It takes the first Advertise whose IA_NA has its IAID and a usable address
//! (`dhcpv6_iaaddr`: a proxy's Advertise, with no address, is ignored), then requests
//! that address from that server; a message with an error status is ignored. A failed
//! session ends the configuration too: iPXE then boots over IPv4.

use super::firmware::{Firmware6, Offer6};
use super::wire::Message6;
use super::{msg, opt};
use crate::ids::{Guid, Mac};
use crate::time::Instant;
use std::net::Ipv6Addr;
use std::time::Duration;

/// The flags of a router advertisement that iPXE reads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RouterAdvert {
    /// M: addresses from DHCPv6.
    pub managed: bool,
    /// O: other configuration from DHCPv6.
    pub other: bool,
}

/// What the advertisement makes iPXE do before its IPv6 configuration is over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dhcp6Session {
    /// M: Solicit, Request, an address.
    Stateful,
    /// O alone: an Information-request.
    Stateless,
}

impl RouterAdvert {
    /// `None`: the advertisement ends the configuration at once.
    pub fn session(self) -> Option<Dhcp6Session> {
        match (self.managed, self.other) {
            (true, _) => Some(Dhcp6Session::Stateful),
            (false, true) => Some(Dhcp6Session::Stateless),
            (false, false) => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Step {
    Solicit,
    Request {
        server_id: Vec<u8>,
        /// The Advertise's IA_NA (its address is requested).
        ia: Vec<u8>,
    },
    InformationRequest,
    Over {
        leased: Option<Ipv6Addr>,
    },
}

/// One DHCPv6 session of iPXE's IPv6 configurator.
#[derive(Clone, Debug)]
pub struct IpxeConf6 {
    model: &'static Firmware6,
    mac: Mac,
    guid: Option<Guid>,
    xid: [u8; 3],
    step: Step,
    /// The session's start (its elapsed time counts from there).
    started: Instant,
    /// The current state's start (its retry timer's).
    state_started: Instant,
    /// Messages sent in the current state.
    sent: usize,
    next: Instant,
    /// From a state's start to its failure.
    give_up: Duration,
    over_at: Option<Instant>,
}

/// What a message or a timeout did to the session.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Step6 {
    /// A message to send to ff02::1:2, port 547, from the link-local address.
    pub send: Option<Vec<u8>>,
    /// A line for the client's timeline.
    pub note: Option<String>,
}

impl IpxeConf6 {
    /// The session the advertisement started at `now`: its first message is due at
    /// once ([`Self::poll_timeout`]). `give_up`: from a state's start to its failure
    /// (iPXE's timer: the model's `give_up`, 15.75 s).
    pub fn start(
        model: &'static Firmware6,
        session: Dhcp6Session,
        mac: Mac,
        guid: Option<Guid>,
        xid: [u8; 3],
        now: Instant,
        give_up: Duration,
    ) -> IpxeConf6 {
        IpxeConf6 {
            model,
            mac,
            guid,
            xid,
            step: match session {
                Dhcp6Session::Stateful => Step::Solicit,
                Dhcp6Session::Stateless => Step::InformationRequest,
            },
            started: now,
            state_started: now,
            sent: 0,
            next: now,
            give_up,
            over_at: None,
        }
    }

    /// When the session ended (the configuration is then over), if it has.
    pub fn over_at(&self) -> Option<Instant> {
        self.over_at
    }

    /// The address the Reply leased, once over.
    pub fn leased(&self) -> Option<Ipv6Addr> {
        match self.step {
            Step::Over { leased } => leased,
            _ => None,
        }
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        self.over_at.is_none().then_some(self.next)
    }

    fn elapsed_cs(&self, now: Instant) -> u16 {
        (now.saturating_since(self.started).as_millis() / 10).min(u128::from(u16::MAX)) as u16
    }

    fn message(&self, now: Instant) -> Vec<u8> {
        let (m, e) = (self.model, self.elapsed_cs(now));
        match &self.step {
            Step::Solicit => {
                let iaid = m.fixed_iaid(self.mac).unwrap_or(0);
                m.solicit(self.mac, self.guid, self.xid, e, iaid)
            }
            Step::Request { server_id, ia } => {
                m.request(self.mac, self.guid, self.xid, e, server_id, ia)
            }
            Step::InformationRequest | Step::Over { .. } => {
                m.information_request(self.mac, self.guid, self.xid, e)
            }
        }
    }

    fn name(&self) -> &'static str {
        match self.step {
            Step::Solicit => "Solicit",
            Step::Request { .. } => "Request",
            _ => "Information-request",
        }
    }

    /// The retry timer: the state's next message, or its failure, which ends the
    /// session (and so the configuration: iPXE boots over IPv4 all the same).
    pub fn handle_timeout(&mut self, now: Instant) -> Step6 {
        if self.over_at.is_some() || now < self.next {
            return Step6::default();
        }
        if self.sent >= self.model.solicit_at.len() {
            let what = self.name();
            self.end(now, None);
            return Step6 {
                send: None,
                note: Some(format!(
                    "IPv6: DHCPv6 {what} unanswered: gave up, IPv6 configuration over"
                )),
            };
        }
        self.sent += 1;
        self.next = self.state_started
            + self
                .model
                .solicit_at
                .get(self.sent)
                .copied()
                .unwrap_or(self.give_up);
        let n = self.sent;
        Step6 {
            send: Some(self.message(now)),
            note: Some(format!("IPv6: DHCPv6 {} #{n}", self.name())),
        }
    }

    /// A DHCPv6 message to the client's port. Whatever iPXE's `dhcpv6_rx` drops
    /// (another transaction, client or server, another type than the state's, an error
    /// status, no usable address where one is wanted) changes nothing.
    pub fn handle_message(&mut self, now: Instant, m: &Message6) -> Step6 {
        if self.over_at.is_some() {
            return Step6::default();
        }
        let Some(offer) = Offer6::read(m) else {
            return Step6::default();
        };
        let duid = self.model.duid(self.mac, self.guid);
        if offer.xid != self.xid || m.option(opt::CLIENTID) != Some(&duid[..]) {
            return Step6::default();
        }
        if has_error_status(m) {
            return Step6::default();
        }
        let iaid = self.model.fixed_iaid(self.mac).unwrap_or(0);
        let usable = |o: &Offer6| {
            o.address.filter(|_| {
                o.ia.as_ref().and_then(|ia| ia.get(..4)) == Some(&iaid.to_be_bytes()[..])
            })
        };
        match &self.step {
            Step::Solicit if offer.msg_type == msg::ADVERTISE => {
                let (Some(a), Some(ia)) = (usable(&offer), offer.ia.clone()) else {
                    return Step6::default();
                };
                self.step = Step::Request {
                    server_id: offer.server_id,
                    ia,
                };
                self.restart(now);
                let mut s = self.handle_timeout(now);
                s.note = Some(format!("IPv6: DHCPv6 Advertise, address {a}: Request"));
                s
            }
            Step::Request { server_id, .. }
                if offer.msg_type == msg::REPLY && offer.server_id == *server_id =>
            {
                let Some(a) = usable(&offer) else {
                    return Step6::default();
                };
                self.end(now, Some(a));
                Step6 {
                    send: None,
                    note: Some(format!(
                        "IPv6: DHCPv6 Reply, address {a}: IPv6 configuration over"
                    )),
                }
            }
            Step::InformationRequest if offer.msg_type == msg::REPLY => {
                self.end(now, None);
                Step6 {
                    send: None,
                    note: Some("IPv6: DHCPv6 Reply: IPv6 configuration over".into()),
                }
            }
            _ => Step6::default(),
        }
    }

    fn restart(&mut self, now: Instant) {
        self.state_started = now;
        self.sent = 0;
        self.next = now;
    }

    fn end(&mut self, now: Instant, leased: Option<Ipv6Addr>) {
        self.step = Step::Over { leased };
        self.over_at = Some(now);
    }
}

/// A top-level status code other than success (iPXE's `dhcpv6_status_code`).
fn has_error_status(m: &Message6) -> bool {
    m.option(opt::STATUS_CODE)
        .is_some_and(|s| s.len() >= 2 && s[..2] != [0, 0])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dhcp::firmware::FirmwareKind;
    use crate::dhcp6::firmware::model6;
    use crate::dhcp6::server::{DhcpServer6, Pool6};
    use std::net::SocketAddrV6;

    const MAC: Mac = Mac([0x52, 0x54, 0, 0, 0, 1]);

    fn at(ms: u64) -> Instant {
        Instant::ZERO + Duration::from_millis(ms)
    }

    fn conf(session: Dhcp6Session) -> IpxeConf6 {
        let m = model6(FirmwareKind::BiosX64);
        IpxeConf6::start(m, session, MAC, None, [1, 2, 3], at(10), m.give_up)
    }

    fn codes(p: &[u8]) -> (u8, Vec<u16>) {
        let m = Message6::decode(p).unwrap();
        (m.msg_type(), m.options().iter().map(|o| o.code).collect())
    }

    #[test]
    fn the_flags_choose_the_session() {
        let ra = |managed, other| RouterAdvert { managed, other }.session();
        assert_eq!(ra(false, false), None);
        assert_eq!(ra(true, false), Some(Dhcp6Session::Stateful));
        assert_eq!(ra(true, true), Some(Dhcp6Session::Stateful));
        assert_eq!(ra(false, true), Some(Dhcp6Session::Stateless));
    }

    #[test]
    fn unanswered_solicits_follow_ipxes_timer_and_give_up_after_15_75_s() {
        let mut c = conf(Dhcp6Session::Stateful);
        let mut sent = Vec::new();
        while let Some(t) = c.poll_timeout() {
            if let Some(p) = c.handle_timeout(t).send {
                assert_eq!(codes(&p).0, msg::SOLICIT);
                sent.push(t.as_nanos() / 1_000_000);
            }
        }
        assert_eq!(sent, [10, 260, 760, 1760, 3760, 7760]);
        assert_eq!(c.over_at(), Some(at(15_760)));
        assert_eq!(c.leased(), None);
    }

    #[test]
    fn a_servers_advertise_is_requested_at_once_and_its_reply_ends_the_session() {
        let net: Ipv6Addr = "fd10::".parse().unwrap();
        let mut server = DhcpServer6::new(
            "d",
            Some((net, 64)),
            vec![Pool6 {
                prefix: (net, 64),
                first: "fd10::100".parse().unwrap(),
                last: "fd10::1ff".parse().unwrap(),
            }],
        );
        let ll: Ipv6Addr = "fe80::5054:ff:fe00:1".parse().unwrap();
        let src = SocketAddrV6::new(ll, 546, 0, 0);
        let mut c = conf(Dhcp6Session::Stateful);
        let solicit = c.handle_timeout(at(10)).send.unwrap();
        let adv = server.handle(src, &solicit).remove(0).payload;
        // A proxy's Advertise (no address) first: ignored.
        let mut proxy = Message6::decode(&adv).unwrap();
        if let Message6::Client { options, .. } = &mut proxy {
            options.retain(|o| o.code != opt::IA_NA);
        }
        assert_eq!(c.handle_message(at(11), &proxy), Step6::default());
        let step = c.handle_message(at(12), &Message6::decode(&adv).unwrap());
        let request = step.send.expect("a Request at once");
        assert_eq!(
            codes(&request),
            (msg::REQUEST, vec![1, 2, 3, 6, 16, 61, 62, 15, 8])
        );
        assert_eq!(c.poll_timeout(), Some(at(262)), "its retry timer restarted");
        let reply = server.handle(src, &request).remove(0).payload;
        let step = c.handle_message(at(13), &Message6::decode(&reply).unwrap());
        assert_eq!(step.send, None);
        assert_eq!(c.over_at(), Some(at(13)));
        let offered = Offer6::read(&Message6::decode(&adv).unwrap())
            .unwrap()
            .address;
        assert!(offered.is_some());
        assert_eq!(
            c.leased(),
            offered,
            "the address advertised, requested, replied"
        );
        assert_eq!(c.poll_timeout(), None);
    }

    #[test]
    fn the_other_flag_alone_sends_an_information_request_without_ia() {
        let mut c = conf(Dhcp6Session::Stateless);
        let p = c.handle_timeout(at(10)).send.unwrap();
        assert_eq!(
            codes(&p),
            (msg::INFORMATION_REQUEST, vec![1, 6, 16, 61, 62, 15, 8])
        );
    }
}
