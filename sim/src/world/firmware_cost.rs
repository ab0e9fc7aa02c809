//! The firmware's time to take in what it receives (`FirmwareTiming::per_datagram`
//! and `per_packet`): each IP datagram delivered to a client holds its firmware for
//! `per_datagram`, and each of its Ethernet frames (IP fragments) for `per_packet`,
//! before it can send again, one datagram after another; a TCP segment of UEFI HTTP
//! boot for `per_segment`. In the lab (OVMF x64 under TCG, docs/MODEL.md) a 4 KiB
//! TFTP block (3 frames) took 0.22 ms to answer, a window of four 8 KiB blocks (24
//! frames) 1.2 ms, a TCP segment 0.08 ms.

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
        let t = &c.model.timing;
        if t.per_packet.is_zero() && t.per_datagram.is_zero() {
            return;
        }
        let busy: Duration = t.per_datagram + t.per_packet * frames(udp_payload, ipv6);
        let now = self.now;
        self.hosts[host].ifaces[iface].egress.transmit(now, busy);
    }

    /// A TCP segment reaches client `host` on `iface` (UEFI HTTP boot): it holds the
    /// firmware for `per_segment`. Its ACKs wait, and with them the server's window:
    /// the lab's HTTP downloads keep the 64 KiB window full and go at its pace.
    pub(crate) fn firmware_receives_segment(&mut self, host: HostId, iface: usize) {
        let HostKind::Client(c) = &self.hosts[host].kind else {
            return;
        };
        let per = c.model.timing.per_segment;
        if per.is_zero() {
            return;
        }
        let now = self.now;
        self.hosts[host].ifaces[iface].egress.transmit(now, per);
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
