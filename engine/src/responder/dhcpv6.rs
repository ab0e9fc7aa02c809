//! DHCPv6 (R-V6-1..4): Advertise and Reply on port 547 and 4011, with the boot
//! program's tftp:// or http:// URL; the IPv6 datagrams' dispatch.

use super::*;

impl Responder {
    /// A datagram arrived over IPv6 (R-V6): DHCPv6 on port 547 (unless
    /// `listen_dhcp_port: false`) and 4011. `link_src` is the link-layer source of the
    /// frame when the driver knows it (the client's MAC for an on-link message, R-V6-2).
    /// A responder without `address6` ignores IPv6.
    pub fn handle_datagram6(
        &mut self,
        now: Instant,
        src: SocketAddrV6,
        dst: SocketAddrV6,
        link_src: Option<Mac>,
        payload: &[u8],
        out: &mut Output,
    ) {
        if self.cfg.address6.is_none() {
            return;
        }
        match dst.port() {
            dhcp6::SERVER_PORT if self.cfg.listen_dhcp_port => {
                self.on_dhcp6(now, src, link_src, payload, dhcp6::SERVER_PORT, out)
            }
            dhcp6::PXE_PORT => self.on_dhcp6(now, src, link_src, payload, dhcp6::PXE_PORT, out),
            // R-V6-5: TFTP over IPv6, the same transfers as over IPv4.
            TFTP_PORT => self.on_tftp_request(now, src.into(), payload, out),
            port if self.transfers.contains_key(&port) => {
                self.on_tftp_transfer(now, src.into(), port, payload, out)
            }
            _ => {}
        }
    }

    pub(super) fn on_dhcp6(
        &mut self,
        now: Instant,
        src: SocketAddrV6,
        link_src: Option<Mac>,
        payload: &[u8],
        port: u16,
        out: &mut Output,
    ) {
        let Some(me) = self.cfg.address6 else {
            return;
        };
        let msg = match dhcp6::Message6::decode(payload) {
            Ok(m) => m,
            Err(e) => {
                out.logs
                    .push(format!("ignoring malformed DHCPv6 message from {src}: {e}"));
                return;
            }
        };
        // R-V6-3: a Relay-Forward is answered through the same relays.
        let (layers, inner) = match dhcp6::unwrap_relays(msg) {
            Ok(x) => x,
            Err(e) => {
                out.logs
                    .push(format!("ignoring malformed DHCPv6 message from {src}: {e}"));
                return;
            }
        };
        let req = match dhcp6::BootRequest6::read(&inner) {
            Ok(Some(r)) => r,
            Ok(None) => return,
            Err(e) => {
                out.logs
                    .push(format!("ignoring malformed DHCPv6 request from {src}: {e}"));
                return;
            }
        };
        let kind = match req.kind() {
            Some(dhcp6::BootKind::Pxe) => dhcp6::BootKind::Pxe,
            Some(dhcp6::BootKind::Http) if self.cfg.http.is_some() => dhcp6::BootKind::Http,
            _ => return, // not a PXE (or served HTTP) client: not our business
        };
        let duid = dhcp6::server_duid(&self.cfg.name);
        if req.server_id.as_ref().is_some_and(|s| *s != duid) {
            return; // addressed to another server (the DHCPv6 server's Request)
        }
        let relayed = !layers.is_empty();
        // R-V6-2: the client's MAC and GUID.
        let id = dhcp6::identity(
            &req,
            (!relayed).then_some(link_src).flatten(),
            layers.last().and_then(|l| l.client_link_layer.as_deref()),
        );
        // R-V6-2: a DUID-UUID in EDK2's order (option 97's) or iPXE's (network order):
        // the one the site knows.
        let known = |g: Guid| self.site.machines.iter().any(|m| m.smbios_guid == Some(g));
        let guid = match (id.guid, id.guid_network_order) {
            (Some(a), Some(b)) if !known(a) && known(b) => Some(b),
            (a, _) => a,
        };
        let mut id = dhcp6::Identity6 { guid, ..id };
        // R-V6-2: a DUID seen before with a MAC keeps it (bounded memory).
        if let Some(duid) = &req.client_id {
            match id.mac {
                Some(m) => {
                    if self.duid_macs.len() >= XID_MEMORY_MAX {
                        self.duid_macs.clear();
                    }
                    self.duid_macs.insert(duid.clone(), m);
                }
                None => id.mac = self.duid_macs.get(duid).copied(),
            }
        }
        let Some(mac) = id.mac else {
            out.logs.push(format!(
                "ignoring a DHCPv6 boot request from {src}: no link-layer address (R-V6-2: none on the link, no option 79, no DUID-LL/LLT)"
            ));
            return;
        };
        let solicit = req.msg_type == dhcp6::msg::SOLICIT;
        let ask = Ask {
            mac,
            guid: id.guid,
            arch: &req.arch,
            http: kind == dhcp6::BootKind::Http,
            relayed,
            // Option 8 counts hundredths of a second.
            offer: solicit.then(|| {
                (
                    req.xid(),
                    Duration::from_millis(u64::from(req.elapsed_cs) * 10),
                )
            }),
        };
        let Some((class, choice)) = self.decide(now, &ask, out) else {
            return;
        };
        let path = self.boot_program(mac, id.guid, class, &choice);
        // R-V6-1: tftp://[address6]/path; R-HTTP-1: http://[address6]:port/path.
        let url = match kind {
            dhcp6::BootKind::Pxe => format!("tftp://[{me}]/{path}"),
            dhcp6::BootKind::Http => self.http_url(&format!("[{me}]"), &path),
        };
        let params = dhcp6::AnswerParams {
            server_duid: duid,
            boot_file_url: url.clone(),
            kind,
        };
        let (what, answer) = dhcp6::answer(&req, &params);
        let (dst, payload) = if relayed {
            // R-V6-3: to the relay, port 547.
            let reply = dhcp6::wrap_relays(&layers, answer);
            (
                SocketAddrV6::new(*src.ip(), dhcp6::SERVER_PORT, 0, src.scope_id()),
                reply.encode(),
            )
        } else {
            (src, answer.encode())
        };
        out.transmits6.push(Transmit6 {
            src: SocketAddrV6::new(me, port, 0, 0),
            dst,
            payload,
        });
        let what = match what {
            dhcp6::Answer6::Advertise => "advertise",
            dhcp6::Answer6::Reply => "reply",
        };
        self.log(
            out,
            mac,
            id.guid,
            &format!("sent DHCPv6 proxy {what} {url}"),
        );
        out.effects.push(Effect::Answered { client: mac });
    }
}
