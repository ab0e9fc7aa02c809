//! iPXE's IPv6 configuration beside its DHCPv4 in a boot over IPv4
//! (`engine/src/dhcp6/ipxe_conf.rs`): iPXE boots only once both are over. Where no
//! router answers (a segment without `cidr6`) its router solicitations give up after
//! `timing.ipv6_wait`; where one does, the advertisement ends the configuration, unless
//! it carries M or O: then iPXE runs DHCPv6 first, and boots once that session has its
//! Reply or has given up. The lab's advertisements carry M and O where a DHCPv6 server's
//! `pools6` covers the segment (`managed6`), none elsewhere (docs/LAB.md). The simulator
//! plays no solicitation or advertisement: the firmware takes the advertisement
//! `timing.ipv6_advert_taken` after its first DISCOVER (when the lab's iPXE did), and
//! its DHCPv6 gives up `timing.ipv6_dhcp6_give_up` after a state's first message.

use super::six::Send6;
use super::{Client, Phase};
use crate::ipv6::ALL_DHCP;
use pxelab_engine::dhcp6::ipxe_conf::{IpxeConf6, RouterAdvert, Step6};
use pxelab_engine::dhcp6::{self, Message6};
use pxelab_engine::Instant;
use rand::RngExt as _;
use std::net::SocketAddrV6;

/// The state of the configuration, per boot.
pub(crate) enum Conf6 {
    /// The advertisement's DHCPv6 session starts at `at`.
    Waiting {
        at: Instant,
    },
    Session(Box<IpxeConf6>),
}

impl Client {
    /// The flags of the segment's router advertisements: M and O where a `pools6`
    /// covers the segment, as the lab's `pxelab lab ra` sets them.
    fn router_advert(&self) -> RouterAdvert {
        RouterAdvert {
            managed: self.managed6,
            other: self.managed6,
        }
    }

    /// At the first DISCOVER: iPXE's IPv6 configuration starts with it.
    pub(super) fn start_ipxe_conf6(&mut self, now: Instant) {
        self.conf6 = None;
        let ra = self.router_advert();
        if self.model.timing.ipv6_wait.is_none() || !self.router_adverts || ra.session().is_none() {
            return;
        }
        self.conf6 = Some(Conf6::Waiting {
            at: now + self.model.timing.ipv6_advert_taken,
        });
    }

    /// When iPXE's IPv6 configuration is (or was) over, seen at `now`: `None` while its
    /// DHCPv6 session runs. No router answering: `ipv6_wait` after the first DISCOVER;
    /// an advertisement without M or O: when it is taken (`ipv6_advert_taken`). EDK2
    /// does not wait (`ipv6_wait` none).
    pub(super) fn ipv6_configured(&self, now: Instant) -> Option<Instant> {
        let Some(wait) = self.model.timing.ipv6_wait else {
            return Some(now);
        };
        if !self.router_adverts {
            return Some(now.max(self.boot_started + wait));
        }
        match &self.conf6 {
            None => Some(now.max(self.boot_started + self.model.timing.ipv6_advert_taken)),
            Some(Conf6::Waiting { .. }) => None,
            Some(Conf6::Session(s)) => s.over_at().map(|t| t.max(now)),
        }
    }

    pub(super) fn poll_conf6(&self) -> Option<Instant> {
        match self.conf6.as_ref()? {
            Conf6::Waiting { at } => Some(*at),
            Conf6::Session(s) => s.poll_timeout(),
        }
    }

    pub(super) fn conf6_timeout(&mut self, now: Instant) {
        let step = match self.conf6.take() {
            Some(Conf6::Waiting { at }) if at <= now => {
                let Some(session) = self.router_advert().session() else {
                    return;
                };
                let b = self.draws.random::<u32>().to_le_bytes();
                let mut s = IpxeConf6::start(
                    self.model6,
                    session,
                    self.mac,
                    self.guid,
                    [b[0], b[1], b[2]],
                    now,
                    self.model
                        .timing
                        .ipv6_dhcp6_give_up
                        .unwrap_or(self.model6.give_up),
                );
                self.note(now, || {
                    "IPv6: router advertisement with M and O: DHCPv6 before booting".into()
                });
                let step = s.handle_timeout(now);
                self.conf6 = Some(Conf6::Session(Box::new(s)));
                step
            }
            Some(Conf6::Session(mut s)) => {
                let step = s.handle_timeout(now);
                self.conf6 = Some(Conf6::Session(s));
                step
            }
            other => {
                self.conf6 = other;
                return;
            }
        };
        self.conf6_step(now, step);
    }

    /// A DHCPv6 message for the client during a boot over IPv4: true if the
    /// configuration's session took it.
    pub(super) fn conf6_datagram(&mut self, now: Instant, payload: &[u8]) -> bool {
        let Some(Conf6::Session(s)) = self.conf6.as_mut() else {
            return false;
        };
        let Ok(m) = Message6::decode(payload) else {
            return false;
        };
        let step = s.handle_message(now, &m);
        self.conf6_step(now, step);
        true
    }

    fn conf6_step(&mut self, now: Instant, step: Step6) {
        if let Some(payload) = step.send {
            let src = SocketAddrV6::new(self.ll6(), dhcp6::CLIENT_PORT, 0, 0);
            self.sends6.push(Send6 {
                src,
                dst: SocketAddrV6::new(ALL_DHCP, dhcp6::SERVER_PORT, 0, 0),
                payload,
            });
        }
        if let Some(text) = step.note {
            self.note(now, || text);
        }
        let Some(Conf6::Session(s)) = &self.conf6 else {
            return;
        };
        let Some(over) = s.over_at() else { return };
        // The 4011 ACK came first: the boot program is read once this is over.
        match &mut self.phase {
            Phase::BeforeNbp { until, .. } => {
                *until = (*until).min(over + self.model.pxe_ack_to_nbp);
            }
            // Nothing to boot: it gives up once this is over and its prompt passed.
            Phase::NoBootFile { until } => {
                *until = (*until).min(over + self.model.timing.failed_boot_prompt);
            }
            _ => {}
        }
    }
}
