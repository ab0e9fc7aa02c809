//! EDK2's IPv6 stack's own DHCPv6 exchange beside PXE's or HTTP boot's
//! (`engine/src/dhcp6/stack_firmware.rs`): on a segment whose router advertisements
//! carry the managed flag (a DHCPv6 pool covers it, as the lab's advertisements say),
//! the stack solicits an address of its own with a random IAID, requests the first
//! Advertise with an address at once, and releases it once the boot's own address is
//! set. Its transaction ids come from the same counter as the boot's (`Client::xid6`).
//! On AAVMF it solicits after PXE has: when the server advertised the same free address
//! to both, the stack binds it first and PXE's Request gets NoAddrsAvail (the race of
//! `uefi-arm64-pxe6-noaddrs.pcap`). Its address, once past duplicate address detection
//! (drawn at its Reply), is where EDK2's port-4011 boot request leaves from
//! (`stack6_source`; the link-local address before: a router refuses that).

use super::six::Send6;
use super::Client;
use crate::ipv6::ALL_DHCP;
use pxelab_engine::dhcp6::firmware::Offer6;
use pxelab_engine::dhcp6::stack_firmware::{self as stack, StackTiming};
use pxelab_engine::dhcp6::{self, Message6};
use pxelab_engine::Instant;
use rand::RngExt as _;
use std::net::{Ipv6Addr, SocketAddrV6};
use std::time::Duration;

/// EDK2's Request retransmissions (REQ_MAX_RC 10, REQ_MRT 30 s).
const REQUEST_TRIES: u32 = 10;

enum Step {
    /// The first Solicit goes at `at`.
    Waiting {
        at: Instant,
    },
    Solicit {
        tx: u32,
        next: Instant,
    },
    Request {
        tx: u32,
        next: Instant,
        server_id: Vec<u8>,
        ia: Vec<u8>,
    },
    /// The stack holds `address`, a usable source from `usable` on (its duplicate
    /// address detection).
    Bound {
        server_id: Vec<u8>,
        ia: Vec<u8>,
        address: Ipv6Addr,
        usable: Instant,
    },
    /// Its Release is due at `at`.
    Releasing {
        at: Instant,
        server_id: Vec<u8>,
        ia: Vec<u8>,
        address: Ipv6Addr,
        usable: Instant,
    },
    Done,
}

pub(crate) struct Stack6 {
    step: Step,
    iaid: u32,
    xid: [u8; 3],
    timing: StackTiming,
}

impl Client {
    /// The boot's first Solicit, after the stack's own exchange started (or `now`).
    pub(super) fn start_stack6(&mut self, now: Instant) -> Instant {
        self.stack6 = None;
        let timing = if self.booting == pxelab_scenario::Netboot::Http6 {
            stack::http6_stack_timing(self.model6.kind)
        } else {
            stack::stack_timing(self.model6.kind)
        };
        let Some(timing) = timing else {
            return now;
        };
        if !self.managed6 {
            return now;
        }
        let iaid = self.draws.random::<u32>();
        self.stack6 = Some(Box::new(Stack6 {
            step: Step::Waiting {
                at: now + timing.stack_solicit,
            },
            iaid,
            xid: [0; 3],
            timing,
        }));
        now + timing.boot_solicit
    }

    pub(super) fn poll_stack6(&self) -> Option<Instant> {
        match &self.stack6.as_ref()?.step {
            Step::Waiting { at } | Step::Releasing { at, .. } => Some(*at),
            Step::Solicit { next, .. } | Step::Request { next, .. } => Some(*next),
            Step::Bound { .. } | Step::Done => None,
        }
    }

    fn stack_send(&mut self, payload: Vec<u8>) {
        let src = SocketAddrV6::new(self.ll6(), dhcp6::CLIENT_PORT, 0, 0);
        self.sends6.push(Send6 {
            src,
            dst: SocketAddrV6::new(ALL_DHCP, dhcp6::SERVER_PORT, 0, 0),
            payload,
        });
    }

    pub(super) fn stack6_timeout(&mut self, now: Instant) {
        let Some(mut s) = self.stack6.take() else {
            return;
        };
        let duid = self.model6.duid(self.mac, self.guid);
        let mut send = None;
        match &mut s.step {
            Step::Waiting { at } if *at <= now => {
                s.xid = self.next_xid6();
                s.step = Step::Solicit {
                    tx: 1,
                    next: now + stack::stack_solicit_gap(0),
                };
                send = Some((stack::solicit(&duid, s.xid, s.iaid, 0), "Solicit"));
            }
            Step::Solicit { tx, next } if *next <= now => {
                *next = now + stack::stack_solicit_gap(*tx);
                *tx += 1;
                send = Some((stack::solicit(&duid, s.xid, s.iaid, 0), "Solicit again"));
            }
            Step::Request {
                tx,
                next,
                server_id,
                ia,
            } if *next <= now => {
                if *tx >= REQUEST_TRIES {
                    s.step = Step::Done;
                } else {
                    *tx += 1;
                    *next = now + Duration::from_secs((1u64 << *tx).min(30));
                    send = Some((
                        stack::request(&duid, s.xid, 0, server_id, ia),
                        "Request again",
                    ));
                }
            }
            Step::Releasing {
                at, server_id, ia, ..
            } if *at <= now => {
                s.xid = self.next_xid6();
                send = Some((stack::release(&duid, s.xid, server_id, ia), "Release"));
                s.step = Step::Done;
            }
            _ => {}
        }
        self.stack6 = Some(s);
        if let Some((payload, what)) = send {
            self.stack_send(payload);
            self.note(now, || {
                format!("IPv6 stack: DHCPv6 {what} (its own address)")
            });
        }
    }

    /// A DHCPv6 answer for the stack's exchange (its transaction id): true if taken.
    pub(super) fn stack6_datagram(&mut self, now: Instant, m: &Message6) -> bool {
        let Some(offer) = Offer6::read(m) else {
            return false;
        };
        let Some(mut s) = self.stack6.take() else {
            return false;
        };
        if offer.xid != s.xid || matches!(s.step, Step::Waiting { .. }) {
            self.stack6 = Some(s);
            return false;
        }
        let duid = self.model6.duid(self.mac, self.guid);
        let mut send = None;
        match &s.step {
            Step::Solicit { .. } if offer.msg_type == dhcp6::msg::ADVERTISE => {
                if let (Some(_), Some(ia)) = (offer.address, offer.ia.clone()) {
                    s.xid = self.next_xid6();
                    send = Some(stack::request(&duid, s.xid, 0, &offer.server_id, &ia));
                    s.step = Step::Request {
                        tx: 1,
                        next: now + Duration::from_secs(1),
                        server_id: offer.server_id.clone(),
                        ia,
                    };
                }
            }
            Step::Request { server_id, .. }
                if offer.msg_type == dhcp6::msg::REPLY && offer.server_id == *server_id =>
            {
                if let (Some(a), Some(ia)) = (offer.address, offer.ia.clone()) {
                    // Drawn here, after the boot's other draws: its duplicate address
                    // detection's join delay and RetransTick.
                    let join = Duration::from_millis(self.draws.random_range(0..1000));
                    let ticks = stack::dad_ticks(self.draws.random::<u32>());
                    let usable = now + stack::stack_address_usable_after(join, ticks);
                    self.note(now, || {
                        format!(
                            "IPv6 stack: DHCPv6 Reply, address {a} (usable as a source after {:.2} s)",
                            usable.saturating_since(now).as_secs_f64()
                        )
                    });
                    s.step = Step::Bound {
                        server_id: server_id.clone(),
                        ia,
                        address: a,
                        usable,
                    };
                }
            }
            _ => {}
        }
        self.stack6 = Some(s);
        if let Some(p) = send {
            self.stack_send(p);
            self.note(now, || "IPv6 stack: DHCPv6 Request".into());
        }
        true
    }

    /// The boot sets its address at `now` (the manual policy): the stack releases its
    /// own (or stops soliciting).
    pub(super) fn stack6_boot_address_set(&mut self, now: Instant) {
        let Some(s) = self.stack6.as_mut() else {
            return;
        };
        s.step = match std::mem::replace(&mut s.step, Step::Done) {
            Step::Bound {
                server_id,
                ia,
                address,
                usable,
            } => Step::Releasing {
                at: now + s.timing.release_after_policy,
                server_id,
                ia,
                address,
                usable,
            },
            _ => Step::Done,
        };
    }

    /// The address the stack holds (from its Reply until its Release goes): reachable
    /// beside the boot's own (`World::with_client` registers it).
    pub fn stack_address6(&self) -> Option<Ipv6Addr> {
        match &self.stack6.as_ref()?.step {
            Step::Bound { address, .. } | Step::Releasing { address, .. } => Some(*address),
            _ => None,
        }
    }

    /// The stack's own address if it is a usable source at `now` (past its duplicate
    /// address detection), which EDK2's boot request leaves from; else `None` (the
    /// link-local address).
    pub(super) fn stack6_source(&self, now: Instant) -> Option<Ipv6Addr> {
        match &self.stack6.as_ref()?.step {
            Step::Bound {
                address, usable, ..
            }
            | Step::Releasing {
                address, usable, ..
            } if *usable <= now => Some(*address),
            _ => None,
        }
    }

    /// The next transaction id of EDK2's one counter (drawn at the first use in a boot).
    pub(super) fn next_xid6(&mut self) -> [u8; 3] {
        self.xid6 = match self.xid6 {
            None => {
                let b = self.draws.random::<u32>().to_le_bytes();
                Some([b[0], b[1], b[2]])
            }
            Some(x) => Some(stack::next_xid(x)),
        };
        self.xid6.unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::{Client, Outcome};
    use pxelab_engine::dhcp::firmware::{self, FirmwareKind};
    use pxelab_engine::dhcp6::server::{DhcpServer6, Pool6};
    use pxelab_engine::policy::ClientClass;
    use pxelab_engine::Mac;
    use pxelab_scenario::Netboot;
    use std::net::Ipv6Addr;

    /// A client on a managed segment with one DHCPv6 server (pool `first`..`last`) and
    /// nothing else: every message on the wire, (time, type, xid, option codes).
    /// A message on the wire: time, type, transaction id, option codes (none for
    /// the server's).
    type Wire = (f64, u8, [u8; 3], Vec<u16>);

    /// `authoritative`: the server's Advertises carry preference 255 (the lab's
    /// dnsmasq); without, none (the captures' dnsmasq).
    fn run(kind: FirmwareKind, last: &str, authoritative: bool) -> (Vec<Wire>, Client) {
        let mac = Mac([0x52, 0x54, 0, 0x12, 0x34, 0x56]);
        let mut c = Client::new(
            "c",
            mac,
            None,
            ClientClass::UefiX64,
            firmware::model(kind),
            false,
        );
        c.netboot = Netboot::Pxe6;
        c.managed6 = true;
        let net: Ipv6Addr = "fd77::".parse().unwrap();
        let mut server = DhcpServer6::new(
            "dnsmasq",
            Some((net, 64)),
            vec![Pool6 {
                prefix: (net, 64),
                first: "fd77::100".parse().unwrap(),
                last: last.parse().unwrap(),
            }],
        );
        let mut wire = Vec::new();
        let mut out = Vec::new();
        let mut now = Instant::ZERO;
        c.boot(now, &mut out);
        for _ in 0..200 {
            while !c.sends6.is_empty() {
                for s in std::mem::take(&mut c.sends6) {
                    if s.dst.port() == 69 {
                        // The boot program's read (type 0 here): the run is over.
                        wire.push((now.as_secs_f64(), 0, [0; 3], vec![69]));
                        return (wire, c);
                    }
                    let m = Message6::decode(&s.payload).unwrap();
                    let codes = m.options().iter().map(|o| o.code).collect();
                    wire.push((now.as_secs_f64(), m.msg_type(), xid(&m), codes));
                    if s.dst.port() == 4011 {
                        // The proxy answers the boot request with the boot file URL.
                        let p = proxy_message(&m, 7);
                        wire.push((now.as_secs_f64(), 7, xid(&m), Vec::new()));
                        c.handle_datagram6(now, s.dst, s.src, &p);
                        continue;
                    }
                    if m.msg_type() == 1 && m.option(16).is_some() {
                        // A proxy's Advertise (PXEClient, a boot file URL, no address).
                        let p = proxy_message(&m, 2);
                        c.handle_datagram6(
                            now,
                            SocketAddrV6::new(Ipv6Addr::LOCALHOST, 547, 0, 0),
                            s.src,
                            &p,
                        );
                    }
                    for mut r in server.handle(s.src, &s.payload) {
                        let mut a = Message6::decode(&r.payload).unwrap();
                        if let (false, Message6::Client { options, .. }) = (authoritative, &mut a) {
                            options.retain(|o| o.code != dhcp6::opt::PREFERENCE);
                            r.payload = a.encode();
                        }
                        wire.push((now.as_secs_f64(), a.msg_type(), xid(&a), Vec::new()));
                        c.handle_datagram6(
                            now,
                            SocketAddrV6::new(Ipv6Addr::LOCALHOST, 547, 0, 0),
                            r.dst,
                            &r.payload,
                        );
                    }
                }
            }
            if c.result.is_some() {
                break;
            }
            let Some(t) = c.poll_timeout() else { break };
            now = t;
            c.handle_timeout(now, &mut out);
        }
        (wire, c)
    }

    /// A proxy's Advertise (2) to a Solicit or Reply (7) to a boot request.
    fn proxy_message(solicit: &Message6, msg_type: u8) -> Vec<u8> {
        use pxelab_engine::dhcp6::wire::Opt;
        let mut vendor = 343u32.to_be_bytes().to_vec();
        vendor.extend(9u16.to_be_bytes());
        vendor.extend(b"PXEClient");
        let opt = |code, data: &[u8]| Opt {
            code,
            data: data.to_vec(),
        };
        Message6::Client {
            msg_type,
            xid: xid(solicit),
            options: vec![
                opt(1, solicit.option(1).unwrap()),
                opt(2, &[0, 4, 9, 9]),
                opt(16, &vendor),
                opt(59, b"tftp://[fd77::5]/boot.efi"),
            ],
        }
        .encode()
    }

    fn xid(m: &Message6) -> [u8; 3] {
        match m {
            Message6::Client { xid, .. } => *xid,
            _ => [0; 3],
        }
    }

    #[test]
    fn ovmf_gets_its_stacks_address_first_and_releases_it_when_pxe_sets_its_own() {
        let (wire, _) = run(FirmwareKind::UefiX64, "fd77::1ff", false);
        let sent: Vec<_> = wire.iter().filter(|w| !w.3.is_empty()).collect();
        // The stack's Solicit and Request, PXE's Solicit and Request, PXE's boot request
        // to the proxy, the Release, the boot program's read.
        let types: Vec<u8> = sent.iter().map(|w| w.1).collect();
        assert_eq!(types, [1, 3, 1, 3, 3, 8, 0], "{wire:?}");
        assert_eq!(sent[0].3, [1, 8, 3, 6], "the stack's Solicit");
        assert_eq!(sent[1].3, [1, 8, 2, 3, 6], "the stack's Request");
        assert_eq!(sent[2].3, [1, 8, 3, 6, 62, 61, 16], "PXE's Solicit");
        assert_eq!(sent[5].3, [1, 2, 8, 3], "the Release");
        // One transaction id counter, its first byte counting (the boot request takes
        // the proxy's Advertise's).
        let counted = [sent[0], sent[1], sent[2], sent[3], sent[5]];
        for w in counted.windows(2) {
            assert_eq!(w[1].2, stack::next_xid(w[0].2));
        }
        assert!((sent[2].0 - sent[0].0 - 2.31).abs() < 0.01);
        // PXE asks the proxy at once (`PxeBcDhcp6Sarr`), then sets its address: no
        // route wait (the lab's advertisements), the Release 2 ms after the proxy's
        // answer, and the read once duplicate address detection is over.
        assert_eq!(sent[4].0, sent[3].0, "the boot request at PXE's Reply");
        assert!((sent[5].0 - sent[4].0 - 0.002).abs() < 0.001);
        let m = firmware::profile::builtin(FirmwareKind::UefiX64)
            .pxe6
            .address_ready;
        assert!((sent[6].0 - sent[4].0 - m.as_secs_f64()).abs() < 0.001);
    }

    #[test]
    fn aavmf_loses_the_race_for_a_pools_last_address_and_gives_up_after_eleven_requests() {
        let (wire, c) = run(FirmwareKind::UefiArm64, "fd77::100", false);
        let sent: Vec<_> = wire.iter().filter(|w| !w.3.is_empty()).collect();
        let types: Vec<u8> = sent.iter().map(|w| w.1).collect();
        // PXE's Solicit, the stack's Solicit and Request (it binds the address), then
        // PXE's Request eleven times, each answered NoAddrsAvail.
        assert_eq!(types[..3], [1, 1, 3]);
        assert_eq!(types[3..], [3; 11], "{wire:?}");
        let r = c.result.as_ref().expect("a result");
        assert_eq!(r.outcome, Outcome::Failed);
        assert!(
            (r.finished.as_secs_f64() - (sent[3].0 + 222.0)).abs() < 0.01,
            "{}",
            r.finished.as_secs_f64()
        );
    }

    #[test]
    fn a_segment_without_the_managed_flag_has_no_stack_exchange() {
        let mac = Mac([0x52, 0x54, 0, 0x12, 0x34, 0x56]);
        let mut c = Client::new(
            "c",
            mac,
            None,
            ClientClass::UefiX64,
            firmware::model(FirmwareKind::UefiX64),
            false,
        );
        c.netboot = Netboot::Pxe6;
        c.boot(Instant::ZERO, &mut Vec::new());
        assert!(c.sends6.is_empty(), "the firmware is starting");
        // After its start-up (`power_on_to_solicit`), PXE solicits at once.
        let up = c.poll_timeout().expect("starting up");
        let start_up = firmware::model(FirmwareKind::UefiX64)
            .timing
            .power_on_to_solicit;
        assert_eq!(up, Instant::ZERO + start_up);
        c.handle_timeout(up, &mut Vec::new());
        let m = Message6::decode(&c.sends6[0].payload).unwrap();
        assert!(m.option(16).is_some(), "PXE solicits at once");
    }

    #[test]
    fn an_authoritative_servers_advertise_is_requested_at_the_next_poll_so_no_race() {
        let (wire, _) = run(FirmwareKind::UefiArm64, "fd77::100", true);
        let sent: Vec<_> = wire.iter().filter(|w| !w.3.is_empty()).collect();
        // PXE's Solicit, its Request 10 ms later (preference 255): PXE has set its
        // address (a manual policy) before the stack would solicit, so it never does.
        assert_eq!(sent[0].1, 1);
        assert_eq!(sent[1].1, 3);
        assert!((sent[1].0 - sent[0].0 - 0.01).abs() < 1e-6, "{wire:?}");
        assert!(sent.iter().all(|w| w.3 != [1, 8, 3, 6]), "{wire:?}");
    }
}
