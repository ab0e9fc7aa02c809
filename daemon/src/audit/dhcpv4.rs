//! DHCPv4 on the segment: a server's answer (port 67 or 4011, direct or relayed) and a
//! client's DISCOVER (port 68), which times how long a proxy offer took.

use super::*;

impl Audit {
    /// A DHCPv4 answer from port 67 or 4011, sent from `src_ip`: a server's, or a
    /// relay's on its behalf (its server identifier says whose).
    pub(super) fn observe_dhcp4(
        &mut self,
        at: Duration,
        src_ip: Ipv4Addr,
        src_port: u16,
        src_mac: Option<String>,
        payload: &[u8],
    ) {
        // A fragmented reply: only its first fragment has the UDP header; DHCP replies
        // are small, so this does not happen with real servers.
        if payload.first() != Some(&2) {
            return; // a BOOTREQUEST (a relay forwarding a client's request) or junk
        }
        let Ok(d) = parse(payload) else {
            self.malformed += 1;
            return;
        };
        let server = d.server_id.unwrap_or(src_ip);
        let named = self.named.as_ref().map(|n| {
            n.servers
                .get(&IpAddr::V4(server))
                .map(|(name, _)| name.clone())
        });
        let s = self.entry(ServerKey::V4(server), server.into(), None, named, at);
        s.ports.insert(src_port);
        if let Some(m) = src_mac {
            s.macs.insert(m);
        }
        if src_ip != server {
            s.via.insert(src_ip.into());
        }
        // R-HTTP-1 / R-ANS-1: what the answer boots, by its vendor class.
        if d.is_pxe_client() {
            s.netboot.insert("pxe4".into());
        } else if d.is_http_client() {
            s.netboot.insert("http4".into());
        }
        if let Some(m) = d.message_type {
            s.messages.insert(message_name(m));
        }
        s.kinds.insert(
            if d.yiaddr.is_unspecified() {
                "proxy"
            } else {
                "dhcp"
            }
            .to_string(),
        );
        if d.yiaddr.is_unspecified() && d.message_type == Some(MessageType::Offer) {
            if let Some(c) = d.chaddr.and_then(|m| self.clients.get_mut(&m)) {
                if c.first_proxy_offer_s.is_none() {
                    c.first_proxy_offer_s = Some(at.as_secs_f64());
                    c.proxy_offer_from = Some(server);
                    c.discovers_until_proxy_offer = Some(c.discovers.len());
                }
            }
        }
        let s = self
            .seen
            .get_mut(&ServerKey::V4(server))
            .expect("inserted above");
        let file = d
            .option(67)
            .map(|f| {
                String::from_utf8_lossy(&f)
                    .trim_end_matches('\0')
                    .to_string()
            })
            .unwrap_or_else(|| d.file_lossy());
        if !file.is_empty() {
            s.boot_files.insert(file);
        }
    }

    /// A client's DISCOVER (from port 68).
    pub(super) fn observe_request(&mut self, at: Duration, payload: &[u8]) {
        let Ok(d) = parse(payload) else { return };
        if d.op != 1 || d.message_type != Some(MessageType::Discover) {
            return;
        }
        let Some(mac) = d.chaddr else { return };
        self.clients
            .entry(mac)
            .or_insert_with(|| ClientSeen {
                mac: mac.to_string(),
                discovers: Vec::new(),
                first_proxy_offer_s: None,
                proxy_offer_from: None,
                discovers_until_proxy_offer: None,
            })
            .discovers
            .push(at.as_secs_f64());
    }
}
