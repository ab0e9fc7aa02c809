//! The decision every boot request goes through, whatever its family and kind, and
//! the boot program's parameters it leads to (R-ANS, R-EX, R-ID, R-SEL, R-STATE).

use super::*;

impl Responder {
    /// The rules every boot request goes through, whatever its family (IPv4, IPv6: R-V6-4)
    /// and kind (PXE, HTTP: R-HTTP-1): R-ANS-4, R-EX-2, a peer's own segment, R-ID-2,
    /// selection (R-ID, R-SEL, R-STATE through the store) and, for the first message of
    /// a boot (DISCOVER, Solicit), R-ANS-5 and R-ANS-6. `Some` when the responder
    /// answers, with the client's class and the selected deployment; every silence is
    /// logged and said as an [`Effect::Silent`].
    pub(super) fn decide(
        &mut self,
        now: Instant,
        ask: &Ask,
        out: &mut Output,
    ) -> Option<(ClientClass, Choice)> {
        let (mac, guid) = (ask.mac, ask.guid);
        // R-ANS-4: a responder not allowed to respond stays silent (and logs nothing,
        // as ConfigMgr's does not).
        if !self.cfg.respond {
            out.silent(mac, "R-ANS-4", "not allowed to respond (respond: false)");
            return None;
        }
        // R-EX-2: an excluded MAC never gets an answer from this responder.
        if self.exclusions.is_excluded(&mac) {
            self.silent(
                out,
                mac,
                guid,
                "R-EX-2",
                "MAC address is in the exclusion list. Ignoring.",
            );
            return None;
        }
        if ask.relayed && self.cfg.role == Role::Peer {
            // A peer answers only for its own segment.
            return None;
        }
        // R-ID-2: option 93 (61 over IPv6); absent means BIOS.
        let arch = ask.arch.first().copied();
        let class = if ask.http {
            ClientClass::from_http_arch(arch)
        } else {
            ClientClass::from_option93(arch)
        };
        let Some(class) = class else {
            self.silent(
                out,
                mac,
                guid,
                "R-ID-2",
                &format!(
                    "unsupported client architecture {:?}. Not serviced.",
                    ask.arch
                ),
            );
            return None;
        };

        let sel = select::select(&self.site, &self.cfg, self.store.as_ref(), mac, guid, class);

        if let Some((xid, secs)) = ask.offer {
            // R-ANS-5: elapsed = max(secs, time since first seen by us).
            let first = *self.first_seen.entry((xid, mac)).or_insert_with(|| {
                self.first_seen_order.push_back((now, xid, mac));
                now
            });
            if self.first_seen.len() > XID_MEMORY_MAX {
                if let Some((_, x, m)) = self.first_seen_order.pop_front() {
                    self.first_seen.remove(&(x, m));
                }
            }
            let elapsed = secs.max(now - first);
            let choice = match &sel.outcome {
                Ok(c) => c,
                Err(_) => {
                    self.log_selection(out, mac, guid, &sel);
                    return None;
                }
            };
            let mut needed = self.cfg.response_delay;
            let mut rule = "R-ANS-5";
            if self.cfg.role == Role::Peer {
                // R-ANS-6: rank among the live peers that would answer the client: those
                // holding the selected image, of a site that serves the device (R-ID-5).
                rule = "R-ANS-6";
                let image = choice.boot_image.as_str();
                let rank = match &self.membership {
                    Some(m) => election::rank(
                        mac,
                        &self.cfg.name,
                        m.live_peers()
                            .filter(|p| p.images.iter().any(|i| i == image))
                            .filter(|p| {
                                select::r_id_5_site_serves(&self.site, &sel.device, &p.site).is_ok()
                            })
                            .map(|p| p.name.as_str()),
                    ),
                    None => 0,
                };
                needed =
                    election::answer_after(rank, self.cfg.response_delay, self.cfg.failover_step);
            }
            if elapsed < needed {
                self.silent(
                    out,
                    mac,
                    guid,
                    rule,
                    &format!(
                        "waiting: elapsed {:.1}s is below the response delay {:.1}s",
                        elapsed.as_secs_f64(),
                        needed.as_secs_f64()
                    ),
                );
                return None;
            }
        }
        self.log_selection(out, mac, guid, &sel);
        let choice = sel.outcome.ok()?;
        Some((class, choice))
    }

    /// The boot program for a selected deployment (BIOS clients get the first stage of
    /// an x86 boot image, R-SEL-4), remembering the client's GUID for its boot
    /// program's parameters request.
    pub(super) fn boot_program(
        &mut self,
        mac: Mac,
        guid: Option<Guid>,
        class: ClientClass,
        choice: &Choice,
    ) -> String {
        let nbp_image = if class.is_bios() {
            choice
                .first_stage_image
                .clone()
                .unwrap_or_else(|| choice.boot_image.clone())
        } else {
            choice.boot_image.clone()
        };
        let boot_file = bootfiles::nbp_path(class, &nbp_image);
        self.sessions.insert(mac, Session { guid });
        if self.sessions.len() > XID_MEMORY_MAX {
            self.sessions.clear();
        }
        boot_file
    }

    /// Log a selection's lines; a silence is also an [`Effect::Silent`].
    pub(super) fn log_selection(
        &self,
        out: &mut Output,
        mac: Mac,
        guid: Option<Guid>,
        sel: &Selection,
    ) {
        for line in &sel.log {
            self.log(out, mac, guid, line);
        }
        if let Err(s) = &sel.outcome {
            out.silent(mac, s.reason.rule(), s.why.as_str());
        }
    }

    /// R-STATE-1, R-SEL: selection for the class the boot program learned, the
    /// required deployment recorded before the reply.
    pub(super) fn boot_params(
        &mut self,
        mac: Mac,
        class: ClientClass,
        out: &mut Output,
    ) -> Option<String> {
        if !self.cfg.respond || self.exclusions.is_excluded(&mac) {
            return None;
        }
        let guid = self.sessions.get(&mac).and_then(|s| s.guid);
        let sel = select::select(&self.site, &self.cfg, self.store.as_ref(), mac, guid, class);
        self.log_selection(out, mac, guid, &sel);
        let choice = sel.outcome.ok()?;
        if choice.purpose == Purpose::Required {
            if let Err(e) = self.store.record(&sel.device_key, &choice.deployment) {
                self.log(
                    out,
                    mac,
                    guid,
                    &format!("failed to record deployment state: {e}"),
                );
                return None;
            }
            out.effects.push(Effect::Recorded {
                device: sel.device_key.to_string(),
                deployment: choice.deployment.clone(),
            });
            self.log(
                out,
                mac,
                guid,
                &format!("recorded required deployment {}", choice.deployment),
            );
        }
        let image_path = bootfiles::image_path(&choice.boot_image);
        let norm = image_path.to_ascii_lowercase();
        let size = self
            .site
            .boot_image(&choice.boot_image)
            .map(|b| b.size)
            .unwrap_or(0);
        let params = BootParams {
            deployment: choice.deployment.clone(),
            boot_image: choice.boot_image.clone(),
            purpose: choice.purpose,
            image_path,
            image_size: size,
            image_crc32: self.root.crc32(&norm),
            block_size: self.cfg.tftp.block_size,
            window_size: self.cfg.tftp.window_size,
            prompt: choice.purpose == Purpose::Available,
        };
        Some(params.to_text())
    }
}
