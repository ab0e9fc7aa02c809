//! TFTP (R-TFTP-1..6): read requests on port 69, the transfers on their own ports
//! over either family (R-V6-5), each finished or failed alone.

use super::*;

impl Responder {
    pub(super) fn send_error(&mut self, src: SocketAddr, code: u16, msg: &str, out: &mut Output) {
        let tid = self.alloc_tid(&[]).unwrap_or(TFTP_PORT);
        let mut payload = Vec::new();
        tftp_packet::encode_error(&mut payload, code, msg);
        self.push_udp(tid, src, payload, out);
    }

    /// A TFTP datagram without file data ([`push_udp_data`]).
    pub(super) fn push_udp(&self, port: u16, dst: SocketAddr, payload: Vec<u8>, out: &mut Output) {
        push_udp_data(&self.cfg, port, dst, payload, None, out);
    }

    pub(super) fn on_tftp_request(
        &mut self,
        now: Instant,
        src: SocketAddr,
        payload: &[u8],
        out: &mut Output,
    ) {
        let req = match Packet::parse(payload) {
            Ok(Packet::Rrq(r)) => r,
            Ok(Packet::Wrq(_)) => {
                // R-TFTP-1: read requests only.
                out.logs
                    .push(format!("TFTP write request from {src} refused"));
                self.send_error(
                    src,
                    tftp_packet::ERR_ACCESS,
                    "write requests are not allowed",
                    out,
                );
                return;
            }
            Ok(_) => return,
            Err(e) => {
                out.logs
                    .push(format!("malformed TFTP request from {src}: {e}"));
                // RFC 1350: an illegal TFTP operation gets error 4 (one small datagram,
                // no amplification), but only for what claims to be a request.
                if matches!(payload.get(..2), Some([0, 1]) | Some([0, 2])) {
                    self.send_error(src, tftp_packet::ERR_ILLEGAL_OP, "malformed request", out);
                }
                return;
            }
        };
        // RFC 1350's modes: octet as is, netascii translated; mail is for writing to a
        // user, which a boot server does not do.
        let netascii = match req.mode.as_str() {
            "octet" => false,
            "netascii" => true,
            other => {
                let msg = format!(
                    "transfer mode \"{other:.32}\" is not served: ask for octet or netascii"
                );
                out.logs
                    .push(format!("TFTP request from {src} refused: {msg}"));
                self.send_error(src, tftp_packet::ERR_ILLEGAL_OP, &msg, out);
                return;
            }
        };
        // A retransmitted RRQ for a transfer that is already running is ignored: the
        // transfer's own timer resends (no second stream to the same client).
        if let Some(tid) = self.by_client.get(&src) {
            if self.transfers.contains_key(tid) {
                return;
            }
        }
        // R-TFTP-3: the name is normalised and confined to the boot root.
        let path = match crate::tftp::path::normalize(req.filename) {
            Ok(p) => p,
            Err(e) => {
                out.logs.push(format!(
                    "TFTP request from {src} for {:?} refused: {e}",
                    String::from_utf8_lossy(req.filename)
                ));
                self.send_error(src, e.code(), &e.to_string(), out);
                return;
            }
        };
        let file: Arc<dyn FileSource> =
            if let Some((mac, class)) = bootfiles::parse_params_path(&path) {
                match self.boot_params(mac, class, out) {
                    Some(text) => Arc::new(text.into_bytes()),
                    None => {
                        self.send_error(src, tftp_packet::ERR_NOT_FOUND, "no boot action", out);
                        return;
                    }
                }
            } else {
                match self.root.open(&path) {
                    Some(f) => f,
                    None => {
                        out.logs
                            .push(format!("TFTP request from {src}: {path} not found"));
                        self.send_error(src, tftp_packet::ERR_NOT_FOUND, "file not found", out);
                        return;
                    }
                }
            };
        let file: Arc<dyn FileSource> = if netascii {
            match Netascii::shared(file) {
                Some(n) => n,
                None => {
                    let msg = format!(
                        "netascii is served for files up to {} MiB: ask for this one in octet mode",
                        netascii::MAX_SOURCE >> 20
                    );
                    out.logs
                        .push(format!("TFTP request from {src} for {path} refused: {msg}"));
                    self.send_error(src, tftp_packet::ERR_UNDEFINED, &msg, out);
                    return;
                }
            }
        } else {
            file
        };
        let Some(tid) = self.alloc_tid(&[]) else {
            self.send_error(src, 3, "too many transfers", out);
            return;
        };
        let size = file.len();
        let mut pooled = Pooled {
            sent: Vec::new(),
            data: out.data_by_reference.then(Vec::new),
            spare: &mut out.spare,
        };
        let transfer = Transfer::start(now, &req, file, &self.tftp_cfg, &mut pooled);
        let (mut payloads, mut data) = (pooled.sent, pooled.data);
        self.transfers.insert(
            tid,
            Slot {
                client: src,
                file: path.clone(),
                transfer,
                armed: None,
                tried: Vec::new(),
            },
        );
        self.by_client.insert(src, tid);
        out.effects.push(Effect::TransferStarted {
            client: src,
            port: tid,
            file: path,
            size,
        });
        self.emit_transfer(tid, &mut payloads, &mut data, out);
        self.after_transfer_step(tid, out);
    }

    pub(super) fn on_tftp_transfer(
        &mut self,
        now: Instant,
        src: SocketAddr,
        tid: u16,
        payload: &[u8],
        out: &mut Output,
    ) {
        // One lookup of the transfer for the whole step (an ACK in, a DATA out).
        let Some(slot) = self.transfers.get_mut(&tid) else {
            return;
        };
        if slot.client != src {
            // RFC 1350: a packet from an unknown TID is not part of this transfer.
            return;
        }
        // The step's vectors are kept in `out` from call to call: one ACK in, one
        // DATA out, millions of times in a storm.
        let mut payloads = Pooled {
            sent: std::mem::take(&mut out.step_sent),
            data: out
                .data_by_reference
                .then(|| std::mem::take(&mut out.step_data)),
            spare: &mut out.spare,
        };
        slot.transfer.handle_packet(now, payload, &mut payloads);
        let (mut sent, mut data) = (payloads.sent, payloads.data);
        if matches!(slot.transfer.status(), TransferStatus::Active) {
            emit(&self.cfg, tid, slot.client, &mut sent, &mut data, out);
            arm_timer(slot, tid, &mut self.timers);
        } else {
            self.emit_transfer(tid, &mut sent, &mut data, out);
            self.after_transfer_step(tid, out);
        }
        out.step_sent = sent;
        if let Some(d) = data {
            out.step_data = d;
        }
    }

    pub(super) fn emit_transfer(
        &mut self,
        tid: u16,
        payloads: &mut Vec<Vec<u8>>,
        data: &mut Option<Vec<Option<FileData>>>,
        out: &mut Output,
    ) {
        let Some(slot) = self.transfers.get(&tid) else {
            payloads.clear();
            if let Some(d) = data {
                d.clear();
            }
            return;
        };
        emit(&self.cfg, tid, slot.client, payloads, data, out);
    }

    /// R-TFTP-6: a finished or failed transfer is removed alone.
    pub(super) fn after_transfer_step(&mut self, tid: u16, out: &mut Output) {
        let Some(slot) = self.transfers.get_mut(&tid) else {
            return;
        };
        match slot.transfer.status() {
            TransferStatus::Active => arm_timer(slot, tid, &mut self.timers),
            TransferStatus::Done => {
                let slot = self.transfers.remove(&tid).expect("present");
                self.by_client.remove(&slot.client);
                out.effects.push(Effect::TransferDone {
                    client: slot.client,
                    port: tid,
                    timeouts: slot.transfer.timeouts(),
                    resent_blocks: slot.transfer.retransmissions(),
                    file: slot.file,
                });
            }
            TransferStatus::Failed(reason) => {
                let reason = reason.clone();
                let slot = self.transfers.remove(&tid).expect("present");
                self.by_client.remove(&slot.client);
                out.logs.push(format!(
                    "TFTP transfer of {} to {} failed: {reason}",
                    slot.file, slot.client
                ));
                out.effects.push(Effect::TransferFailed {
                    client: slot.client,
                    port: tid,
                    file: slot.file,
                    reason,
                });
            }
        }
    }
}

/// Lazy timer: a transfer keeps at most one live entry; a deadline that moved later is
/// found when the earlier entry fires.
fn arm_timer(slot: &mut Slot, tid: u16, timers: &mut BinaryHeap<Reverse<(Instant, u16)>>) {
    if let Some(deadline) = slot.transfer.poll_timeout() {
        if slot.armed.is_none_or(|a| deadline < a) {
            slot.armed = Some(deadline);
            timers.push(Reverse((deadline, tid)));
        }
    }
}

/// A transfer step's datagrams, from its port `tid` to its client.
fn emit(
    cfg: &ResponderConfig,
    tid: u16,
    client: SocketAddr,
    payloads: &mut Vec<Vec<u8>>,
    data: &mut Option<Vec<Option<FileData>>>,
    out: &mut Output,
) {
    let mut data = data.iter_mut().flat_map(|d| d.drain(..));
    for payload in payloads.drain(..) {
        push_udp_data(cfg, tid, client, payload, data.next().flatten(), out);
    }
}

/// R-V6-5: a TFTP datagram from local port `port` to `dst`, over the family of `dst`
/// (from `address6` for an IPv6 client).
fn push_udp_data(
    cfg: &ResponderConfig,
    port: u16,
    dst: SocketAddr,
    mut payload: Vec<u8>,
    data: Option<FileData>,
    out: &mut Output,
) {
    match dst {
        SocketAddr::V4(dst) => out.transmits.push(Transmit {
            src: SocketAddrV4::new(cfg.address, port),
            dst,
            payload,
            data,
        }),
        // Datagrams over IPv6 carry their bytes.
        SocketAddr::V6(dst) if data.is_some() => {
            if let Some(d) = data {
                d.append_to(&mut payload);
            }
            push_udp_data(cfg, port, SocketAddr::V6(dst), payload, None, out);
        }
        SocketAddr::V6(dst) => out.transmits6.push(Transmit6 {
            src: SocketAddrV6::new(
                cfg.address6.unwrap_or(std::net::Ipv6Addr::UNSPECIFIED),
                port,
                0,
                0,
            ),
            dst,
            payload,
        }),
    }
}
