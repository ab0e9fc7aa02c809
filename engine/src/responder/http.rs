//! HTTP boot (R-HTTP-1, R-HTTP-2): the proxy offer with an http:// URL to an IPv4
//! HTTP boot client, and the files an HTTP connection asks for.

use super::*;

impl Responder {
    // R-HTTP-1 (IPv4): a DISCOVER with option 60 `HTTPClient` gets a proxy offer whose
    // file field and option 67 hold the boot program's http:// URL; the firmware asks
    // nothing on 4011 (the offer names the file).
    pub(super) fn on_http_discover(
        &mut self,
        now: Instant,
        pkt: &dhcp::DhcpPacket,
        mac: Mac,
        out: &mut Output,
    ) {
        if pkt.message_type != Some(MessageType::Discover) {
            return;
        }
        let relayed = pkt.giaddr != Ipv4Addr::UNSPECIFIED;
        let ask = Ask {
            mac,
            guid: pkt.client_guid,
            arch: &pkt.client_arch,
            http: true,
            relayed,
            offer: Some((pkt.xid, Duration::from_secs(u64::from(pkt.secs)))),
        };
        let Some((class, choice)) = self.decide(now, &ask, out) else {
            return;
        };
        let path = self.boot_program(mac, pkt.client_guid, class, &choice);
        let url = self.http_url(&self.cfg.address.to_string(), &path);
        let reply = dhcp::proxy::build_http_offer(pkt, self.cfg.address, &url);
        self.send_offer(out, relayed.then_some(pkt.giaddr), reply);
        self.log(
            out,
            mac,
            pkt.client_guid,
            &format!("sent HTTP boot offer {url}"),
        );
        out.effects.push(Effect::Answered { client: mac });
    }

    /// `http://host[:port]/path` of a file of the boot root (R-HTTP-1); `host` is an
    /// IPv4 address or a bracketed IPv6 one.
    pub(super) fn http_url(&self, host: &str, path: &str) -> String {
        match self.cfg.http.map(|h| h.port) {
            None | Some(80) => format!("http://{host}/{path}"),
            Some(port) => format!("http://{host}:{port}/{path}"),
        }
    }

    // R-HTTP-2: the responder serves its boot root over HTTP the way it does over TFTP,
    // the boot program's parameters file included (so an HTTP boot records its required
    // deployment, R-STATE-1, as a PXE boot does).
    /// The file an HTTP connection ([`crate::http::Connection`]) asks for; `path` is
    /// the request's, already confined to the root (R-TFTP-3). 404 without `http`.
    pub fn http_open(
        &mut self,
        path: &str,
        out: &mut Output,
    ) -> Result<Arc<dyn FileSource>, crate::http::Status> {
        use crate::http::Status;
        if self.cfg.http.is_none() {
            return Err(Status::NOT_FOUND);
        }
        if let Some((mac, class)) = bootfiles::parse_params_path(path) {
            return match self.boot_params(mac, class, out) {
                Some(text) => Ok(Arc::new(text.into_bytes())),
                None => Err(Status::NOT_FOUND),
            };
        }
        self.root.open(path).ok_or(Status::NOT_FOUND)
    }
}
