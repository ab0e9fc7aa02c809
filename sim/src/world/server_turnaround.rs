//! The lab overlay's server turnaround (`crate::lab_overlay`, `pxelab run --lab
//! --compare` only): each TFTP datagram a responder's host takes in holds it for the
//! turnaround before it sends again, as the lab's `pxelab serve` and userspace switch
//! take that long from a client's ACK to the next DATA beyond what the link model
//! gives. The one hold for both IP versions: `testbed.rs` calls it on each IPv4
//! datagram a server takes in, `deliver6.rs` on each IPv6 one. HTTP boot's TCP segments
//! (`http_host.rs`) are not held: the turnaround was measured on TFTP rounds, and a
//! TCP sender does not wait for each segment's acknowledgement as TFTP waits for an
//! ACK. Zero (every other run) changes nothing.

use super::{HostId, World};

/// DHCP, proxy DHCP and DHCPv6 (67, 4011, 547) answers are not TFTP rounds: the
/// turnaround was measured on TFTP only.
fn is_tftp_port(dst_port: u16) -> bool {
    !matches!(dst_port, 67 | 68 | 4011 | 546 | 547)
}

impl World {
    /// A datagram to `dst_port`, over either IP version, reaches server `host` on
    /// `iface`: with a turnaround, what it sends next waits for it.
    pub(crate) fn server_receives(&mut self, host: HostId, iface: usize, dst_port: u16) {
        let hold = self.server_turnaround;
        if hold.is_zero() || !is_tftp_port(dst_port) {
            return;
        }
        let now = self.now;
        self.line_mut(host, iface).egress.transmit(now, hold);
    }
}

#[cfg(test)]
mod tests {
    use super::is_tftp_port;

    #[test]
    fn only_tftp_datagrams_take_the_turnaround() {
        assert!(is_tftp_port(69));
        assert!(is_tftp_port(50123));
        assert!(!is_tftp_port(67));
        assert!(!is_tftp_port(4011));
        assert!(!is_tftp_port(547));
    }
}
