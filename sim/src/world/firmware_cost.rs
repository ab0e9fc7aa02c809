//! The firmware's time to take in what it receives (`FirmwareTiming::per_packet`):
//! each Ethernet frame of a datagram delivered to a client holds its firmware for
//! `per_packet` before it can send again, one frame after another. In the lab (QEMU
//! under TCG) a TFTP ACK leaves the client the longer after the DATA the more frames
//! the window brought: EDK2's window of four 8 KiB blocks (24 frames) cost it about
//! 24 times a one-frame block's time (docs/MODEL.md), so the cost is per frame
//! received, not per ACK sent.

use super::{HostId, HostKind, World};
use std::time::Duration;

/// Ethernet's payload (the IP MTU) on the simulated and the lab's segments.
const MTU: usize = 1500;

/// How many frames a UDP datagram of `udp_payload` bytes takes: IPv4 fragments carry up
/// to 1480 bytes of the UDP datagram each, IPv6 ones 1448 (the fragment header's 8
/// bytes, a multiple of 8).
pub fn frames(udp_payload: usize, ipv6: bool) -> u32 {
    let udp = udp_payload + 8;
    let (header, per_fragment) = if ipv6 { (40, 1448) } else { (20, 1480) };
    let n = if udp + header <= MTU {
        1
    } else {
        udp.div_ceil(per_fragment)
    };
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl World {
    /// A datagram of `udp_payload` bytes reaches client `host` on `iface`: its firmware
    /// is busy taking it in, and what it sends next waits for that.
    pub(crate) fn firmware_receives(
        &mut self,
        host: HostId,
        iface: usize,
        udp_payload: usize,
        ipv6: bool,
    ) {
        let HostKind::Client(c) = &self.hosts[host].kind else {
            return;
        };
        let per = c.model.timing.per_packet;
        if per.is_zero() {
            return;
        }
        let busy: Duration = per * frames(udp_payload, ipv6);
        let now = self.now;
        self.hosts[host].ifaces[iface].egress.transmit(now, busy);
    }
}

#[cfg(test)]
mod tests {
    use super::frames;

    #[test]
    fn a_block_that_fits_the_mtu_is_one_frame_and_larger_ones_are_fragmented() {
        assert_eq!(frames(1432 + 4, false), 1);
        assert_eq!(frames(1468 + 4, false), 1);
        assert_eq!(frames(1473, false), 2);
        // EDK2's 8 KiB blocks: 8196 + 8 bytes in 1480-byte fragments.
        assert_eq!(frames(8192 + 4, false), 6);
        assert_eq!(frames(4096 + 4, false), 3);
        assert_eq!(frames(1228 + 4, true), 1);
        assert_eq!(frames(1452, true), 1);
        assert_eq!(frames(1453, true), 2);
    }
}
