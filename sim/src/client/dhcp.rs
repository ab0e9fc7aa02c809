//! The firmware's DHCP phase: DISCOVER and its retransmissions, offer collection and
//! the choice at the firmware's timeouts (`offer_choice`), the REQUEST to the DHCP
//! server and the PXE boot server request on port 4011 (docs/MODEL.md).

use super::offer_choice::{self, BootVia};
use super::{Client, Phase, Send};
use pxelab_engine::dhcp::firmware;
use pxelab_engine::dhcp::packet::{self as dhcp_packet, MessageType};
use pxelab_engine::Instant;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

/// An address offer the firmware holds while it waits for a PXE offer to pair it with.
#[derive(Clone, Debug)]
pub(super) struct Offer {
    pub(super) server: Ipv4Addr,
    pub(super) yiaddr: Ipv4Addr,
    /// Option 3 (the default gateway), shown in the timeline.
    pub(super) router: Option<Ipv4Addr>,
    /// The DHCP server's own offer carries option 60 PXEClient (R-ANS-2).
    pub(super) pxe: bool,
    /// (TFTP server, boot file) the offer names itself (options 66/67).
    pub(super) boot_file: Option<(Ipv4Addr, String)>,
    /// EDK2's DHCP driver accepts PXE's copy of it (`offer_choice::edk2_requested`).
    pub(super) edk2_copy_ok: bool,
}

impl Client {
    /// A REQUEST to the DHCP server got no DHCPACK in time: resend, else restart
    /// discovery.
    pub(super) fn request_timeout(&mut self, now: Instant, out: &mut Vec<Send>) {
        let Phase::Request {
            xid,
            tx,
            next,
            offer,
            ..
        } = &mut self.phase
        else {
            return;
        };
        if *next > now {
            return;
        }
        let waits = &self.model.request_retransmit;
        if *tx >= waits.len() && self.model.stack == firmware::Stack::Edk2 {
            // Dhcp4Dxe ends its session (DhcpOnTimerTick): PXE-E16, no new DISCOVER
            // (lab capture, set-up 66-67+proxy).
            self.note(now, || "no DHCPACK: PXE gives up".into());
            return self.give_up(now);
        }
        if *tx >= waits.len() {
            self.note(now, || "no DHCPACK: restarting discovery".into());
            self.restart_or_fail(now, out);
            return;
        }
        *tx += 1;
        *next = now + Duration::from_secs(waits[*tx - 1]);
        let (x, o) = (*xid, offer.clone());
        self.send_request(now, x, &o, out);
    }

    /// The boot server on port 4011 did not answer in time: resend, else give up.
    pub(super) fn pxe_request_timeout(&mut self, now: Instant, out: &mut Vec<Send>) {
        let Phase::PxeRequest {
            tx,
            next,
            boot_server,
            xid,
        } = &mut self.phase
        else {
            return;
        };
        if *next > now {
            return;
        }
        let waits = self.model.pxe_request_retransmit;
        if *tx >= waits.len() {
            // The firmware's boot server discovery gives up; it does not start
            // DHCP again (only a REQUEST without a DHCPACK restarts discovery).
            self.note(now, || "no answer on port 4011: PXE gives up".into());
            return self.end_without_file(now);
        }
        *tx += 1;
        *next = now + waits[*tx - 1];
        let (x, bs, attempt) = (*xid, *boot_server, *tx - 1);
        self.send_pxe_request(now, x, bs, attempt, out);
    }

    /// The firmware's DHCP is over with an address and no boot file. EDK2 gives up
    /// now; iPXE once its IPv6 configuration is over too (`ifconf` waits for every
    /// configurator) and then after its prompt (`timing.failed_boot_prompt`): a lab
    /// boot with a silent port 4011 ended 18.4-18.5 s after its first DISCOVER, its
    /// IPv6 wait's 16.07 s and the prompt's 2 s (docs/MODEL.md).
    pub(super) fn end_without_file(&mut self, now: Instant) {
        let prompt = self.model.timing.failed_boot_prompt;
        let until = match self.ipv6_configured(now) {
            Some(t) => t.max(now) + prompt,
            // Its DHCPv6 runs: the session's end sets the time (`conf6_step`).
            None => Instant::from_nanos(u64::MAX),
        };
        if until <= now {
            return self.give_up(now);
        }
        if until < Instant::from_nanos(u64::MAX) {
            let wait = until.saturating_since(now).as_secs_f64();
            self.note(now, || {
                format!("nothing to boot: iPXE hands the machine back in {wait:.2} s (its IPv6 configuration, then its prompt)")
            });
        }
        self.phase = Phase::NoBootFile { until };
    }

    pub(super) fn new_xid(&mut self) -> u32 {
        self.xid_counter = self.xid_counter.wrapping_add(1);
        let m = self.mac.0;
        u32::from_be_bytes([m[2] ^ m[3], m[4], m[5], 0])
            ^ self.xid_counter.wrapping_mul(0x9e37_79b9)
    }

    pub(super) fn start_discover(&mut self, now: Instant, out: &mut Vec<Send>) {
        let xid = self.new_xid();
        self.dhcp_count = 0;
        self.pxe_offer_held = false;
        self.ip = None;
        self.proxy_pxe10 = false;
        self.last_offer = None;
        self.via = None;
        self.phase = Phase::Discover {
            xid,
            started: now,
            tx: 0,
            next: now,
            offer: None,
            proxy: None,
        };
        self.send_discover(now, out);
    }

    pub(super) fn secs(&self, now: Instant, started: Instant) -> u16 {
        if self.model.sends_secs {
            (now - started).as_secs().min(u64::from(u16::MAX)) as u16
        } else {
            0
        }
    }

    pub(super) fn send_discover(&mut self, now: Instant, out: &mut Vec<Send>) {
        let Phase::Discover {
            xid,
            started,
            tx,
            next,
            offer,
            proxy,
        } = &mut self.phase
        else {
            return;
        };
        let (x, st) = (*xid, *started);
        *tx += 1;
        let held = (
            offer.is_some(),
            proxy.is_some() || offer.as_ref().is_some_and(|o| o.pxe),
        );
        *next = discover_deadline(self.model, st, *tx);
        let n = *tx;
        // iPXE's `secs` is not elapsed time (`firmware::ipxe_secs`): 4 in its first
        // DISCOVER. A responder reads it as seconds (R-ANS-5).
        self.dhcp_count = self.dhcp_count.saturating_add(1);
        let secs = if self.model.sends_secs {
            self.secs(now, st)
        } else {
            firmware::ipxe_secs(self.dhcp_count, held.0, held.1)
        };
        self.discover_secs = secs;
        let payload = firmware::build_discover(self.model, self.mac, self.guid, x, secs);
        out.push(Send {
            src: SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 68),
            dst: SocketAddrV4::new(Ipv4Addr::BROADCAST, 67),
            payload,
        });
        self.note(now, || format!("DHCPDISCOVER #{n} xid={x:08x} secs={secs}"));
    }

    /// A DISCOVER retransmission timeout expired: EDK2 picks its offers now; iPXE stops
    /// waiting for a proxy offer; else retransmit or give up.
    pub(super) fn discover_timeout(&mut self, now: Instant, out: &mut Vec<Send>) {
        let Phase::Discover {
            tx,
            started,
            offer,
            proxy,
            ..
        } = &self.phase
        else {
            return;
        };
        let (tx, held, has_proxy) = (*tx, offer.clone(), proxy.is_some());
        let waited = now.saturating_since(*started);
        // Done collecting: a pair is picked now (EDK2, Debian's iPXE), or a DHCP
        // server's own boot file is taken if no proxy offer came (`offer_choice`).
        let file_held = held.as_ref().is_some_and(|o| o.boot_file.is_some());
        // iPXE takes a DHCP server's own boot file only once its wait for a proxy offer
        // has passed (`dhcp_discovery_expired`; capture bios-x64.pcap: QEMU's offer
        // naming boot.pxe at 0 and 1.03 s, the REQUEST at 3.07 s).
        let proxy_wait = self.model.proxy_offer_wait_secs.map(Duration::from_secs);
        let awaits_proxy = file_held
            && !has_proxy
            && !held.as_ref().is_some_and(|o| o.pxe)
            && proxy_wait.is_some_and(|w| waited <= w);
        if (self.model.selects_offer_at_timeout || file_held)
            && !awaits_proxy
            && self.request_if_usable(now, true, out)
        {
            return;
        }
        if let (Some(wait), Some(o), false) = (self.model.proxy_offer_wait_secs, &held, has_proxy) {
            if !o.pxe && waited > Duration::from_secs(wait) {
                // iPXE takes the address without PXE; the DHCP offer names no boot
                // file, so there is nothing to boot (no responder answered in time).
                let Phase::Discover { xid, .. } = self.phase else {
                    return;
                };
                // This expiry moved iPXE on to its REQUEST: it counts (`ipxe_secs`).
                self.dhcp_count = self.dhcp_count.saturating_add(1);
                self.pxe_offer_held = false;
                self.send_request(now, xid, o, out);
                self.note(now, || {
                    format!("no proxy offer within {wait} s of the address offer: nothing to boot")
                });
                return self.end_without_file(now);
            }
        }
        if tx >= self.model.retransmit.len() {
            self.note(now, || "no boot offer received: PXE gives up".into());
            self.give_up(now);
        } else {
            self.send_discover(now, out);
        }
    }

    pub(super) fn send_pxe_request(
        &mut self,
        now: Instant,
        xid: u32,
        server: Ipv4Addr,
        attempt: usize,
        out: &mut Vec<Send>,
    ) {
        let ip = self.ip.unwrap_or(Ipv4Addr::UNSPECIFIED);
        self.dhcp_count = self.dhcp_count.saturating_add(1);
        let secs = if self.model.sends_secs {
            firmware::edk2_boot_request_secs(u8::try_from(attempt).unwrap_or(u8::MAX))
        } else {
            firmware::ipxe_secs(self.dhcp_count, true, true)
        };
        let payload =
            firmware::build_pxe_request(self.model, self.mac, self.guid, xid, ip, server, secs);
        out.push(Send {
            src: SocketAddrV4::new(ip, self.model.pxe_request_src_port),
            dst: SocketAddrV4::new(server, 4011),
            payload,
        });
        self.note(now, || format!("PXE REQUEST to {server}:4011"));
    }

    pub(super) fn on_dhcp(
        &mut self,
        now: Instant,
        src: SocketAddrV4,
        payload: &[u8],
        out: &mut Vec<Send>,
    ) {
        let Ok(p) = dhcp_packet::parse(payload) else {
            return;
        };
        if p.op != 2 || p.chaddr != Some(self.mac) {
            return;
        }
        let pxe = p.is_pxe_client();
        match &mut self.phase {
            Phase::Discover { xid, .. }
                if p.xid == *xid && p.message_type == Some(MessageType::Offer) =>
            {
                let server = p.server_id.unwrap_or(*src.ip());
                if let Some(id) = p.server_id {
                    self.last_offer = Some((id, p.yiaddr));
                }
                if p.yiaddr != Ipv4Addr::UNSPECIFIED {
                    let boot_file = offered_boot_file(&p, server);
                    let o = Offer {
                        server,
                        yiaddr: p.yiaddr,
                        router: p
                            .option(3)
                            .filter(|r| r.len() >= 4)
                            .map(|r| Ipv4Addr::new(r[0], r[1], r[2], r[3])),
                        pxe,
                        boot_file,
                        edk2_copy_ok: self.model.stack != firmware::Stack::Edk2
                            || firmware::edk2_accepts_pxe_copy(payload),
                    };
                    let first = matches!(&self.phase, Phase::Discover { offer: None, .. });
                    if first {
                        self.note_offer(now, &o);
                        if let Phase::Discover { offer, .. } = &mut self.phase {
                            *offer = Some(o);
                        }
                    }
                } else if pxe {
                    // R-ANS-7: the first acceptable proxy offer wins; later ones ignored.
                    let first = matches!(&self.phase, Phase::Discover { proxy: None, .. });
                    if first {
                        if let Phase::Discover { proxy, .. } = &mut self.phase {
                            *proxy = Some(server);
                        }
                        self.proxy_pxe10 = p
                            .vendor_specific
                            .as_deref()
                            .is_some_and(pxelab_engine::dhcp::pxe_options::is_pxe10);
                        self.answered = true;
                        self.note(now, || format!("proxy DHCP offer from {server}"));
                    } else {
                        self.note(now, || format!("ignoring later proxy offer from {server}"));
                    }
                }
                self.maybe_request(now, out);
            }
            Phase::Request {
                xid,
                offer,
                boot_server,
                ..
            } if p.xid == *xid => {
                if p.message_type == Some(MessageType::Ack) {
                    let (x, bs) = (*xid, *boot_server);
                    self.ip = Some(offer.yiaddr);
                    let ip = offer.yiaddr;
                    self.note(now, || format!("DHCPACK: address {ip}"));
                    match self.via.take() {
                        Some(BootVia::File(server, file)) => {
                            self.note(now, || {
                                format!("boot file {file} from {server}, named by the DHCP server")
                            });
                            self.served_by = Some(server);
                            // iPXE's `ifconf` waits for every configurator, IPv6's too,
                            // whoever named the file (as after a 4011 ACK below).
                            let until = match self.ipv6_configured(now) {
                                Some(t) => t.max(now) + self.model.timing.ack_to_read,
                                None => Instant::from_nanos(u64::MAX),
                            };
                            if until <= now {
                                return self.start_nbp(now, server, file, out);
                            }
                            self.phase = Phase::BeforeNbp {
                                until,
                                server,
                                file,
                            };
                            return;
                        }
                        Some(BootVia::Abort) => {
                            self.note(now, || {
                                "PXE10 offer (option 43) without a boot menu: boot type 0, PXE aborts".into()
                            });
                            return self.give_up(now);
                        }
                        _ => {}
                    }
                    self.phase = Phase::PxeRequest {
                        xid: x,
                        tx: 1,
                        next: now + self.model.pxe_request_retransmit[0],
                        boot_server: bs,
                    };
                    self.send_pxe_request(now, x, bs, 0, out);
                } else if p.message_type == Some(MessageType::Nak) {
                    self.note(now, || "DHCPNAK: restarting discovery".into());
                    self.start_discover(now, out);
                }
            }
            Phase::PxeRequest {
                xid, boot_server, ..
            } if p.xid == *xid
                && p.message_type == Some(MessageType::Ack)
                && *src.ip() == *boot_server =>
            {
                let server = if p.siaddr != Ipv4Addr::UNSPECIFIED {
                    p.siaddr
                } else {
                    *boot_server
                };
                let file = p
                    .option(67)
                    .map(|f| {
                        String::from_utf8_lossy(&f)
                            .trim_end_matches('\0')
                            .to_string()
                    })
                    .filter(|f| !f.is_empty())
                    .or_else(|| Some(p.file_lossy().trim_end_matches('\0').to_string()))
                    .filter(|f| !f.is_empty());
                let Some(file) = file else {
                    self.note(now, || "PXE ACK without a boot file".into());
                    return;
                };
                self.answered = true;
                self.served_by = Some(server);
                self.note(now, || format!("PXE ACK from {server}: boot file {file}"));
                // iPXE boots once its IPv6 configuration, begun with the first
                // DISCOVER, is over too; while its DHCPv6 runs, the session's end
                // sets the time (ipxe_conf6.rs).
                let until = match self.ipv6_configured(now) {
                    Some(t) => t + self.model.pxe_ack_to_nbp,
                    None => Instant::from_nanos(u64::MAX),
                };
                self.phase = Phase::BeforeNbp {
                    until,
                    server,
                    file,
                };
                if until <= now {
                    self.handle_timeout(now, out);
                }
            }
            _ => {}
        }
    }

    /// The DHCP REQUEST for an offered address (broadcast, as the firmware does).
    pub(super) fn send_request(&mut self, now: Instant, xid: u32, o: &Offer, out: &mut Vec<Send>) {
        self.dhcp_count = self.dhcp_count.saturating_add(1);
        let secs = if self.model.sends_secs {
            self.discover_secs
        } else {
            firmware::ipxe_secs(self.dhcp_count, true, self.pxe_offer_held)
        };
        let payload = firmware::build_request(
            self.model, self.mac, self.guid, xid, secs, o.yiaddr, o.server,
        );
        out.push(Send {
            src: SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 68),
            dst: SocketAddrV4::new(Ipv4Addr::BROADCAST, 67),
            payload,
        });
        let y = o.yiaddr;
        self.note(now, || format!("DHCPREQUEST for {y}"));
    }

    pub(super) fn note_offer(&mut self, now: Instant, o: &Offer) {
        let (s, y, pxe, gw) = (o.server, o.yiaddr, o.pxe, o.router);
        self.note(now, || {
            format!(
                "DHCPOFFER from {s}: {y}{}{}",
                gw.map(|g| format!(" gateway {g}")).unwrap_or_default(),
                if pxe { " with option 60 PXEClient" } else { "" }
            )
        });
    }

    /// On an offer: request at once if the offers make a way to boot, unless the
    /// firmware picks its offers only at its retransmission timeouts
    /// (`selects_offer_at_timeout`).
    pub(super) fn maybe_request(&mut self, now: Instant, out: &mut Vec<Send>) {
        if !self.model.selects_offer_at_timeout {
            self.request_if_usable(now, false, out);
        }
    }

    /// Requests the offered address once the offers make a way to boot
    /// (`offer_choice`); a DHCP server's boot file alone only when the firmware is done
    /// collecting offers (`collected`). True if it sent the REQUEST.
    pub(super) fn request_if_usable(
        &mut self,
        now: Instant,
        collected: bool,
        out: &mut Vec<Send>,
    ) -> bool {
        let Phase::Discover {
            xid,
            offer: Some(offer),
            proxy,
            ..
        } = &self.phase
        else {
            return false;
        };
        let a = offer_choice::AddressOffer {
            pxe: offer.pxe, // co-located responder (R-ANS-2)
            server: offer.server,
            boot_file: offer.boot_file.as_ref(),
        };
        let p = proxy.map(|server| offer_choice::ProxyOffer {
            server,
            pxe10: self.proxy_pxe10,
        });
        let Some(via) = offer_choice::choose(self.model.stack, &a, p.as_ref()) else {
            return false; // keep waiting for a PXE offer
        };
        if matches!(via, BootVia::File(..)) && !collected {
            return false; // a proxy offer may still come
        }
        let boot_server = match &via {
            BootVia::Binl(s) | BootVia::File(s, _) => *s,
            BootVia::Abort => offer.server,
        };
        self.via = Some(via);
        // A DHCP server's option 60 is not a responder's answer: only a proxy offer or
        // a 4011 ACK counts (`no_offer` is "no responder answered").
        let x = *xid;
        // iPXE requests as soon as it holds a PXE offer beside the address; one that
        // waited for a proxy offer in vain moves on at a timer expiry, which counts
        // (`firmware::ipxe_secs`).
        let pxe_held = proxy.is_some() || offer.pxe;
        let o = offer_choice::edk2_requested(offer, self.last_offer);
        self.pxe_offer_held = pxe_held;
        if collected && !pxe_held {
            self.dhcp_count = self.dhcp_count.saturating_add(1);
        }
        if o.server != offer.server {
            let (s, chosen) = (o.server, offer.server);
            self.note(now, || {
                format!("EDK2 rejects PXE's copy of {chosen}'s offer (option 67 without a NUL): requesting the last offer, from {s}")
            });
        }
        self.send_request(now, x, &o, out);
        self.phase = Phase::Request {
            xid: x,
            tx: 1,
            next: now + Duration::from_secs(self.model.request_retransmit[0]),
            offer: o,
            boot_server,
        };
        true
    }
}

/// When the retransmission timeout of the `tx`-th DISCOVER of a transaction begun at
/// `started` expires: the profile's `retransmit` gaps summed. A profile's
/// `offer_collection` puts the first timeout where the firmware's timer tick put it
/// (learned from a capture: EDK2's 1-s ticks end its 4 s early), and the later ones
/// after it. PXE's and UEFI HTTP boot's DHCP alike (`client_http.rs`).
pub(crate) fn discover_deadline(
    model: &firmware::FirmwareModel,
    started: Instant,
    tx: usize,
) -> Instant {
    let waits = &model.retransmit;
    let waited: u64 = waits[..tx.min(waits.len())].iter().sum();
    let collection = model.timing.offer_collection;
    if collection.is_zero() {
        started + Duration::from_secs(waited)
    } else {
        started + collection + Duration::from_secs(waited.saturating_sub(waits[0]))
    }
}

/// The boot file an address offer names itself (the `file` field, else option 67) and
/// its TFTP server: siaddr, else the offer's server (as EDK2's `PxeBcDhcp4BootInfo`).
fn offered_boot_file(p: &dhcp_packet::DhcpPacket, server: Ipv4Addr) -> Option<(Ipv4Addr, String)> {
    let file = Some(p.file_lossy().trim_end_matches('\0').to_string())
        .filter(|f| !f.is_empty())
        .or_else(|| {
            p.option(67).map(|f| {
                String::from_utf8_lossy(&f)
                    .trim_end_matches('\0')
                    .to_string()
            })
        })
        .filter(|f| !f.is_empty())?;
    let tftp = if p.siaddr.is_unspecified() {
        server
    } else {
        p.siaddr
    };
    Some((tftp, file))
}
