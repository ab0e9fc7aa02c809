//! One entry of `events`: boots, crashes, link changes and the extensions.

use super::*;

impl Cx<'_> {
    pub(super) fn event(&self, n: &Node, net: &Network, sn: &SiteNames, segs: &Names) -> R<Event> {
        let o = self.obj(n, "an event", EVENT)?;
        let at = self.value(self.req(&o, "at")?, "`at`", parse_duration)?;
        let mut action: Option<&(Node, Node)> = None;
        for e in o.entries {
            let k = &e.0;
            let key = k.scalar().unwrap_or_default();
            if !ACTIONS.contains(&key) {
                continue;
            }
            if let Some((first, _)) = action {
                return Err(self.err(
                    k,
                    format!(
                        "an event has one action, this one has `{}` and `{key}`",
                        first.scalar().unwrap_or_default()
                    ),
                ));
            }
            action = Some(e);
        }
        let Some((k, v)) = action else {
            return Err(self.err(
                n,
                format!(
                    "an event needs an action (expected one of {})",
                    ACTIONS.join(", ")
                ),
            ));
        };
        let key = k.scalar().unwrap_or_default();
        if let Some((dk, _)) = o.entry("during") {
            if key != "down" {
                return Err(self.err(dk, "`during` goes only with `down`"));
            }
        }
        if let Some((nk, _)) = o.entry("netboot") {
            if key != "boot" {
                return Err(self.err(nk, "`netboot` goes only with `boot`"));
            }
        }
        let host = |what: &str| -> R<String> {
            let s = self.text(v, what)?;
            if !self.hosts.contains(&s) {
                return Err(self.err(
                    v,
                    format!("host `{s}` is not declared ({})", self.hosts.known()),
                ));
            }
            Ok(s)
        };
        let kind = match key {
            "boot" => {
                let s = self.text(v, "a client name")?;
                if !net.clients.iter().any(|c| c.name == s) {
                    let names: Vec<&str> = net.clients.iter().map(|c| c.name.as_str()).collect();
                    return Err(self.err(
                        v,
                        format!(
                            "`boot` names `{s}`, which is not a client (clients: {})",
                            if names.is_empty() {
                                "none".to_string()
                            } else {
                                names.join(", ")
                            }
                        ),
                    ));
                }
                let netboot = match o.get("netboot") {
                    None => None,
                    Some(nb) => {
                        let netboot = self.value(nb, "`netboot`", Netboot::from_str)?;
                        let c = net.clients.iter().find(|c| c.name == s).expect("checked");
                        self.netboot_fits(nb, c, netboot, &net.segments)?;
                        Some(netboot)
                    }
                };
                EventKind::Boot { client: s, netboot }
            }
            "down" => EventKind::Down {
                host: host("a host name")?,
                during_transfer: match o.get("during") {
                    None => false,
                    Some(d) => {
                        self.choice(d, "`during`", &[("transfer", ())])?;
                        true
                    }
                },
            },
            "up" => EventKind::Up {
                host: host("a host name")?,
            },
            "clear_required" => {
                let co = self.obj(v, "`clear_required`", CLEAR)?;
                match (co.entry("machine"), co.entry("collection")) {
                    (Some((_, m)), None) => {
                        ClearTarget::Machine(self.refer(&sn.machines, m, "machine")?)
                    }
                    (None, Some((_, c))) => {
                        let s = self.text(c, "a collection name")?;
                        if s != X86_UNKNOWN && s != X64_UNKNOWN && !sn.collections.contains(&s) {
                            return Err(self.err(
                                c,
                                format!(
                                    "collection `{s}` is not declared ({})",
                                    sn.collections.known()
                                ),
                            ));
                        }
                        ClearTarget::Collection(s)
                    }
                    _ => {
                        return Err(
                            self.err(v, "`clear_required` takes one of `machine` or `collection`")
                        )
                    }
                }
                .into()
            }
            "reload_exclusions" => {
                let ro = self.obj(v, "`reload_exclusions`", EVENT_RELOAD)?;
                let rn = self.req(&ro, "responder")?;
                let responder = self.text(rn, "a responder name")?;
                if !net.responders.iter().any(|r| r.config.name == responder) {
                    return Err(self.err(rn, format!("`{responder}` is not a responder")));
                }
                let fnode = self.req(&ro, "file")?;
                let rel = self.text(fnode, "a file path relative to the scenario")?;
                let path = self
                    .file
                    .parent()
                    .unwrap_or_else(|| Path::new("."))
                    .join(&rel);
                let text = std::fs::read_to_string(&path).map_err(|e| {
                    self.err(
                        fnode,
                        format!("cannot read exclusion file {}: {e}", path.display()),
                    )
                })?;
                // A bad file is not a scenario error: it is what the event tests (R-EX-1
                // keeps the previous list), so the error travels with the event.
                let macs = parse_exclusion_list(&text)
                    .map_err(|e| format!("{}:{}: {}", path.display(), e.line, e.message));
                EventKind::ReloadExclusions {
                    responder,
                    file: path,
                    macs,
                }
            }
            "tftp_request" => {
                let to = self.obj(v, "`tftp_request`", EVENT_TFTP)?;
                let rn = self.req(&to, "responder")?;
                let responder = self.text(rn, "a responder name")?;
                if !net.responders.iter().any(|r| r.config.name == responder) {
                    return Err(self.err(rn, format!("`{responder}` is not a responder")));
                }
                let write = match to.get("op") {
                    None => false,
                    Some(op) => self.choice(op, "`op`", &[("read", false), ("write", true)])?,
                };
                let file = self.text(self.req(&to, "file")?, "a file name")?;
                let mut options = Vec::new();
                if let Some(on) = to.get("options") {
                    let Kind::Map(entries) = &on.kind else {
                        return Err(
                            self.err(on, "`options` is a mapping of TFTP option names to values")
                        );
                    };
                    for (k, val) in entries {
                        options.push((
                            self.text(k, "an option name")?,
                            self.text(val, "an option value")?,
                        ));
                    }
                }
                EventKind::TftpRequest(TftpRequest {
                    responder,
                    write,
                    file,
                    options,
                })
            }
            _ => {
                let lo = self.obj(v, "`link`", EVENT_LINK)?;
                let segment = self.refer(segs, self.req(&lo, "segment")?, "segment")?;
                let rate_bps = self.opt(&lo, "rate", parse_rate)?;
                let delay = self.opt(&lo, "delay", parse_duration)?;
                let loss = self.opt(&lo, "loss", parse_ratio)?;
                if rate_bps.is_none() && delay.is_none() && loss.is_none() {
                    return Err(self.err(
                        v,
                        "`link` changes nothing (expected at least one of rate, delay, loss)",
                    ));
                }
                EventKind::Link {
                    segment,
                    rate_bps,
                    delay,
                    loss,
                }
            }
        };
        Ok(Event {
            at,
            kind,
            line: n.line,
        })
    }
}
