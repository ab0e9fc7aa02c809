//! EDK2's size probe ends: the OACK gave the size, the firmware aborts that read with
//! error 8 and then reads the file, each after the profile's `timing.probe_abort` and
//! `timing.probe_to_read` (learned from a capture; 0: at once, as before).

use super::{Client, Phase, Send, Stage};
use pxelab_engine::tftp::packet as tftp_packet;
use pxelab_engine::Instant;
use std::net::{Ipv4Addr, SocketAddrV4};

impl Client {
    /// The probe's OACK (or first DATA) came from `peer` to the probe's `port`.
    pub(super) fn size_known(
        &mut self,
        now: Instant,
        peer: SocketAddrV4,
        port: u16,
        server: Ipv4Addr,
        file: String,
        out: &mut Vec<Send>,
    ) {
        self.note(now, || {
            "TFTP size known: aborting with error 8, then reading".into()
        });
        let t = self.model.timing;
        let abort_at = now + t.probe_abort;
        self.phase = Phase::SizeKnown {
            abort: Some((abort_at, peer, port)),
            read_at: abort_at + t.probe_to_read,
            server,
            file,
        };
        self.size_known_timeout(now, out);
    }

    /// Sends the abort, then starts the read, each when its time has come.
    pub(super) fn size_known_timeout(&mut self, now: Instant, out: &mut Vec<Send>) {
        let Phase::SizeKnown {
            abort,
            read_at,
            server,
            file,
        } = &mut self.phase
        else {
            return;
        };
        if let Some((at, peer, port)) = *abort {
            if at > now {
                return;
            }
            *abort = None;
            let mut e = Vec::new();
            tftp_packet::encode_error(&mut e, tftp_packet::ERR_OPTION, "User aborted the transfer");
            let ip = self.ip.unwrap_or(Ipv4Addr::UNSPECIFIED);
            out.push(Send {
                src: SocketAddrV4::new(ip, port),
                dst: peer,
                payload: e,
            });
        }
        if *read_at <= now {
            let (server, file) = (*server, std::mem::take(file));
            let opts = self.model.tftp_download_options();
            self.start_tftp(now, Stage::Nbp, server, file, opts, out);
        }
    }
}
