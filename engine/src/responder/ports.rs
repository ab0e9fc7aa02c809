//! The local ports TFTP transfers are served from (their TIDs): the range, drawn at
//! random (RFC 1350), and moving a transfer whose port the driver could not open.

use super::*;

/// The local ports TFTP transfers are served from (their TIDs). Each transfer gets one
/// drawn at random from the range (RFC 1350 asks for random TIDs), not in use by
/// another transfer; the default is IANA's dynamic range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TransferPorts {
    pub first: u16,
    pub last: u16,
}

impl Default for TransferPorts {
    fn default() -> Self {
        TransferPorts {
            first: 49152,
            last: 65535,
        }
    }
}

impl std::str::FromStr for TransferPorts {
    type Err = String;

    /// `FIRST-LAST`, e.g. `49152-65535`: unprivileged ports, FIRST <= LAST, clear of
    /// the responder's own ports (4011 and the peer port).
    fn from_str(s: &str) -> Result<Self, String> {
        let (a, b) = s
            .split_once('-')
            .ok_or_else(|| format!("`{s}`: give a range FIRST-LAST, e.g. 49152-65535"))?;
        let port = |v: &str| {
            v.trim()
                .parse::<u16>()
                .map_err(|_| format!("`{v}` is not a port number"))
        };
        let (first, last) = (port(a)?, port(b)?);
        if first > last {
            return Err(format!("`{s}`: the first port is above the last"));
        }
        if first < 1024 {
            return Err(format!("`{s}`: transfer ports start at 1024 or above"));
        }
        if let Some(p) = [PXE_PORT, PEER_PORT]
            .into_iter()
            .find(|p| (first..=last).contains(p))
        {
            return Err(format!(
                "`{s}` holds port {p}, which the responder listens on"
            ));
        }
        Ok(TransferPorts { first, last })
    }
}

impl std::fmt::Display for TransferPorts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.first, self.last)
    }
}

impl Responder {
    /// A free transfer port: drawn at random from the range, not used by a running
    /// transfer nor in `avoid`; in a crowded range, the first free one after a random
    /// start.
    pub(super) fn alloc_tid(&mut self, avoid: &[u16]) -> Option<u16> {
        if self.transfers.len() >= MAX_TRANSFERS {
            return None;
        }
        let TransferPorts { first, last } = self.ports;
        let transfers = &self.transfers;
        let free = |p: u16| !transfers.contains_key(&p) && !avoid.contains(&p);
        for _ in 0..16 {
            let p = self.tid_rng.random_range(first..=last);
            if free(p) {
                return Some(p);
            }
        }
        let n = u32::from(last - first) + 1;
        let start = self.tid_rng.random_range(0..n);
        (0..n)
            .map(|i| (u32::from(first) + (start + i) % n) as u16)
            .find(|p| free(*p))
    }

    /// The driver could not open local port `port` for the transfer there (another
    /// process holds it). The transfer moves to another port of the range, which is
    /// returned: the driver sends from there what it had to send from `port` (an
    /// [`Effect::TransferMoved`] says so too). After [`MAX_PORT_TRIES`] ports, or with
    /// none free, the transfer is dropped: its client gets a TFTP ERROR from port 69
    /// and an [`Effect::TransferFailed`] ends it. `None` also when no transfer uses
    /// `port` (a one-off error reply: the driver may send it from port 69).
    pub fn transfer_port_unavailable(&mut self, port: u16, out: &mut Output) -> Option<u16> {
        let mut slot = self.transfers.remove(&port)?;
        slot.tried.push(port);
        let next = if slot.tried.len() < MAX_PORT_TRIES {
            self.alloc_tid(&slot.tried)
        } else {
            None
        };
        let client = slot.client;
        match next {
            Some(to) => {
                out.logs.push(format!(
                    "TFTP transfer of {} to {client}: port {port} is in use, moving to port {to}",
                    slot.file
                ));
                slot.armed = None;
                self.by_client.insert(client, to);
                self.transfers.insert(to, slot);
                out.effects.push(Effect::TransferMoved {
                    client,
                    from: port,
                    to,
                });
                self.after_transfer_step(to, out);
                Some(to)
            }
            None => {
                self.by_client.remove(&client);
                let reason = format!(
                    "no free transfer port ({} tried, all in use)",
                    slot.tried.len()
                );
                out.logs.push(format!(
                    "TFTP transfer of {} to {client} dropped: {reason}",
                    slot.file
                ));
                let mut payload = Vec::new();
                tftp_packet::encode_error(
                    &mut payload,
                    tftp_packet::ERR_UNDEFINED,
                    "no free transfer port on the server, try again",
                );
                self.push_udp(TFTP_PORT, client, payload, out);
                out.effects.push(Effect::TransferFailed {
                    client,
                    port,
                    file: slot.file,
                    reason,
                });
                None
            }
        }
    }
}
