//! Proxy DHCP over IPv4 (R-ANS-1..6): the proxy offer to a DISCOVER on port 67 and
//! the ACK to a request on port 4011, the boot program named.

use super::*;

impl Responder {
    pub(super) fn on_dhcp(
        &mut self,
        now: Instant,
        src: SocketAddrV4,
        payload: &[u8],
        on_4011: bool,
        out: &mut Output,
    ) {
        let pkt = match dhcp::packet::parse(payload) {
            Ok(p) => p,
            Err(e) => {
                out.logs
                    .push(format!("ignoring malformed DHCP packet from {src}: {e}"));
                return;
            }
        };
        if pkt.op != 1 {
            return;
        }
        let Some(mac) = pkt.chaddr else {
            return;
        };
        if !pkt.is_pxe_client() {
            if self.cfg.http.is_some() && pkt.is_http_client() && !on_4011 {
                self.on_http_discover(now, &pkt, mac, out);
            }
            return; // not a PXE client: not our business
        }
        let guid = pkt.client_guid;
        let wanted = if on_4011 {
            matches!(
                pkt.message_type,
                Some(MessageType::Request | MessageType::Inform)
            )
        } else {
            pkt.message_type == Some(MessageType::Discover)
        };
        if !wanted {
            return;
        }
        let relayed = pkt.giaddr != Ipv4Addr::UNSPECIFIED;
        let ask = Ask {
            mac,
            guid,
            arch: &pkt.client_arch,
            http: false,
            relayed,
            offer: (!on_4011).then(|| (pkt.xid, Duration::from_secs(u64::from(pkt.secs)))),
        };
        let Some((class, choice)) = self.decide(now, &ask, out) else {
            return;
        };
        if !on_4011 {
            let mut params = ProxyParams::new(self.cfg.address, None);
            params.vendor_specific = self.cfg.proxy_option43.clone();
            let reply = dhcp::proxy::build_proxy_offer(&pkt, &params);
            self.send_offer(out, relayed.then_some(pkt.giaddr), reply);
            self.log(out, mac, guid, "sent proxy offer");
            out.effects.push(Effect::Answered { client: mac });
        } else {
            let boot_file = self.boot_program(mac, guid, class, &choice);
            let params = ProxyParams::new(self.cfg.address, Some(boot_file.clone()));
            let reply = dhcp::proxy::build_proxy_ack(&pkt, &params);
            let dst = if relayed {
                SocketAddrV4::new(pkt.giaddr, DHCP_SERVER_PORT)
            } else if src.ip().is_unspecified() {
                SocketAddrV4::new(Ipv4Addr::BROADCAST, src.port())
            } else {
                src
            };
            out.transmits.push(Transmit {
                src: SocketAddrV4::new(self.cfg.address, PXE_PORT),
                dst,
                payload: reply,
                data: None,
            });
            self.log(out, mac, guid, &format!("sent boot file {boot_file}"));
            out.effects.push(Effect::Answered { client: mac });
        }
    }

    /// Sends an offer from port 67: to the relay's port 67 when it came through one
    /// (R-ANS-3), else broadcast to the client's port 68. The PXE and the HTTP boot
    /// offers both go this way.
    pub(super) fn send_offer(&self, out: &mut Output, relay: Option<Ipv4Addr>, payload: Vec<u8>) {
        let dst = match relay {
            Some(giaddr) => SocketAddrV4::new(giaddr, DHCP_SERVER_PORT),
            None => SocketAddrV4::new(Ipv4Addr::BROADCAST, DHCP_CLIENT_PORT),
        };
        out.transmits.push(Transmit {
            src: SocketAddrV4::new(self.cfg.address, DHCP_SERVER_PORT),
            dst,
            payload,
            data: None,
        });
    }
}
