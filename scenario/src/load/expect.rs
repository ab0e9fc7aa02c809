//! One entry of `expect`: a boot's outcome, a log line, a TFTP answer.

use super::*;

impl Cx<'_> {
    pub(super) fn expect(&self, n: &Node, s: &Scenario, sn: &SiteNames) -> R<Expect> {
        let is_map = matches!(n.kind, Kind::Map(_));
        let probe = |k: &str| match &n.kind {
            Kind::Map(e) => e.iter().any(|(kk, _)| kk.scalar() == Some(k)),
            _ => false,
        };
        let responder_ref = |v: &Node, what: &str| -> R<String> {
            let r = self.text(v, what)?;
            if s.responder(&r).is_none() {
                let names: Vec<&str> = s
                    .network
                    .responders
                    .iter()
                    .map(|r| r.config.name.as_str())
                    .collect();
                return Err(self.err(
                    v,
                    format!(
                        "`{r}` is not a responder (responders: {})",
                        if names.is_empty() {
                            "none".to_string()
                        } else {
                            names.join(", ")
                        }
                    ),
                ));
            }
            Ok(r)
        };
        if is_map && probe("tftp_request") {
            let o = self.obj(n, "a tftp_request expectation", EXPECT_TFTP)?;
            let idx_node = self.req(&o, "tftp_request")?;
            let index = self.value(idx_node, "`tftp_request`", parse_u64)? as usize;
            let count = s
                .events
                .iter()
                .filter(|e| matches!(e.kind, EventKind::TftpRequest(_)))
                .count();
            if index == 0 || index > count {
                return Err(self.err(
                    idx_node,
                    format!("`tftp_request: {index}` but the events hold {count} tftp_request(s) (counted from 1 in file order)"),
                ));
            }
            let result = o
                .get("result")
                .map(|v| {
                    self.choice(
                        v,
                        "`result`",
                        &[("error", "error"), ("oack", "oack"), ("data", "data")],
                    )
                })
                .transpose()?
                .map(str::to_string);
            let mut error_codes = Vec::new();
            if let Some(c) = o.get("error_code") {
                error_codes.push(self.value(c, "`error_code`", parse_u64)? as u16);
            }
            if o.get("error_codes").is_some() {
                for c in self.list(o.get("error_codes"), "`error_codes`")? {
                    error_codes.push(self.value(c, "an error code", parse_u64)? as u16);
                }
            }
            let mut oack = Vec::new();
            if let Some(on) = o.get("oack") {
                let Kind::Map(entries) = &on.kind else {
                    return Err(
                        self.err(on, "`oack` is a mapping of option names to expected values")
                    );
                };
                for (k, val) in entries {
                    oack.push((
                        self.text(k, "an option name")?,
                        self.text(val, "an option value")?,
                    ));
                }
            }
            let mut oack_absent = Vec::new();
            if o.get("oack_absent").is_some() {
                for k in self.list(o.get("oack_absent"), "`oack_absent`")? {
                    oack_absent.push(self.text(k, "an option name")?);
                }
            }
            return Ok(Expect::TftpRequest(TftpExpect {
                index,
                result,
                error_codes,
                oack,
                oack_absent,
                line: n.line,
            }));
        }
        if is_map && !probe("client") && probe("responder") {
            let o = self.obj(n, "a log expectation", EXPECT_LOG)?;
            let responder = responder_ref(self.req(&o, "responder")?, "a responder name")?;
            let logged = self.text(self.req(&o, "logged")?, "the text expected in the log")?;
            return Ok(Expect::Logged {
                responder,
                logged,
                line: n.line,
            });
        }
        if is_map && !probe("client") {
            return Err(self.err(
                n,
                "an expectation needs `client` (what a boot comes to) or `responder` (what a responder logged)",
            ));
        }
        let o = self.obj(n, "a boot expectation", EXPECT_BOOT)?;
        let cn = self.req(&o, "client")?;
        let client = self.text(cn, "a client name")?;
        if s.client(&client).is_none() {
            let names: Vec<&str> = s.network.clients.iter().map(|c| c.name.as_str()).collect();
            return Err(self.err(
                cn,
                format!(
                    "`{client}` is not a client (clients: {})",
                    if names.is_empty() {
                        "none".to_string()
                    } else {
                        names.join(", ")
                    }
                ),
            ));
        }
        let boots = s.boot_count(&client);
        let boot = match o.get("boot") {
            None => 1,
            Some(b) => {
                let v = self.value(b, "`boot`", parse_u64)?;
                if v == 0 {
                    return Err(self.err(b, "`boot` counts from 1"));
                }
                u32::try_from(v).map_err(|_| self.err(b, "`boot` is too large"))?
            }
        };
        if boot as usize > boots {
            return Err(self.err(
                o.get("boot").unwrap_or(cn),
                format!(
                    "expectation for boot {boot} of client `{client}`, but `events` boot it {boots} time(s)"
                ),
            ));
        }
        let outcome = o
            .get("outcome")
            .map(|v| {
                self.choice(
                    v,
                    "`outcome`",
                    &[
                        ("booted", Outcome::Booted),
                        ("no_offer", Outcome::NoOffer),
                        ("declined", Outcome::Declined),
                        ("failed", Outcome::Failed),
                    ],
                )
            })
            .transpose()?;
        let boot_image = o
            .get("boot_image")
            .map(|v| self.refer(&sn.images, v, "boot image"))
            .transpose()?;
        let deployment = o
            .get("deployment")
            .map(|v| self.refer(&sn.deployments, v, "deployment"))
            .transpose()?;
        let served_by = match o.get("served_by") {
            None => None,
            Some(v) if matches!(v.kind, Kind::Seq(_)) => {
                let items = self.list(Some(v), "`served_by`")?;
                if items.is_empty() {
                    return Err(self.err(
                        v,
                        "`served_by` is an empty list (expected a responder or a list of them)",
                    ));
                }
                let mut out = Vec::new();
                for i in items {
                    out.push(responder_ref(i, "a responder name")?);
                }
                Some(out)
            }
            Some(v) => Some(vec![responder_ref(
                v,
                "a responder name or a list of them",
            )?]),
        };
        // No responder answered: there is no image, deployment or server to name.
        if outcome == Some(Outcome::NoOffer) {
            for key in ["boot_image", "deployment", "served_by"] {
                if let Some((k, _)) = o.entry(key).filter(|(_, v)| !v.is_null()) {
                    return Err(self.err(
                        k,
                        format!(
                            "`{key}` cannot hold with outcome no_offer (no responder answered)"
                        ),
                    ));
                }
            }
        }
        if let (Some(img), Some(dep)) = (&boot_image, &deployment) {
            let d = s
                .site
                .deployments
                .iter()
                .find(|d| d.id == *dep)
                .expect("declared");
            if d.boot_image != *img {
                return Err(self.err(
                    o.get("boot_image").unwrap_or(n),
                    format!(
                        "deployment `{dep}` uses boot image `{}`, not `{img}`; this can never hold",
                        d.boot_image
                    ),
                ));
            }
        }
        Ok(Expect::Boot(BootExpect {
            client,
            boot,
            outcome,
            boot_image,
            deployment,
            served_by,
            within: self.opt(&o, "within", parse_duration)?,
            line: n.line,
        }))
    }
}
