//! The firmware's time to take in what it receives (`FirmwareTiming::per_datagram`
//! and `per_packet`): each IP datagram delivered to a client holds its firmware for
//! `per_datagram`, and each of its Ethernet frames (IP fragments) for `per_packet`,
//! before it can send again, one datagram after another (over IPv6 `per_datagram6`
//! and `per_packet6`); a TCP segment of UEFI HTTP boot for `per_segment`. In the lab
//! (OVMF x64 under TCG, docs/MODEL.md) a 4 KiB TFTP block (3 frames) took 0.22 ms to
//! answer, a window of four 8 KiB blocks (24 frames) 1.2 ms, a TCP segment 0.08 ms.

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
        // EDK2's IPv6 stack is other code than its IPv4 one, with its own cost.
        let (per_datagram, per_packet) = if ipv6 {
            (t.per_datagram6, t.per_packet6)
        } else {
            (t.per_datagram, t.per_packet)
        };
        if per_packet.is_zero() && per_datagram.is_zero() {
            return;
        }
        let busy: Duration = per_datagram + per_packet * frames(udp_payload, ipv6);
        let now = self.now;
        self.line_mut(host, iface).egress.transmit(now, busy);
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
        self.line_mut(host, iface).egress.transmit(now, per);
    }
}

#[cfg(test)]
mod tests {
    use super::frames;
    use pxelab_engine::dhcp::firmware::{profile, FirmwareKind};
    use std::path::Path;

    /// The boot time of scenarios/lab/pxe6-uefi-x64-dnsmasq.yaml (OVMF x64 over PXEv6,
    /// a 2 MiB image) with OVMF x64's profile taking `per_packet6` a frame over IPv6
    /// (and no `per_datagram6`).
    fn pxe6_boot_s(dir: &Path, per_packet6: &str) -> f64 {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let keys = format!("  per_packet6: {per_packet6}\n  per_datagram6: 0s\n");
        let profile: String = profile::builtin_text(FirmwareKind::UefiX64)
            .lines()
            .filter(|l| !l.contains("per_packet6:") && !l.contains("per_datagram6:"))
            .map(|l| {
                if l.trim_start().starts_with("per_segment:") {
                    format!("{l}\n{keys}")
                } else {
                    format!("{l}\n")
                }
            })
            .collect();
        std::fs::write(dir.join("x64.yaml"), profile).expect("profile written");
        let text = std::fs::read_to_string(root.join("scenarios/lab/pxe6-uefi-x64-dnsmasq.yaml"))
            .expect("scenario")
            .replace(
                "firmware: uefi-x64,",
                "firmware: {family: uefi-x64, profile: x64.yaml},",
            );
        let sc = pxelab_scenario::load_str(&text, &dir.join("pxe6.yaml")).expect("loads");
        let r = crate::run_scenario(&sc, &crate::RunOptions::default());
        assert!(r.passed, "{:?}", r.failures);
        r.boots[0].took_s.expect("booted")
    }

    #[test]
    fn a_pxe6_download_grows_with_the_firmwares_time_per_frame_over_ipv6() {
        let dir = std::env::temp_dir().join(format!("pxelab-intake6-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let (fast, slow) = (pxe6_boot_s(&dir, "0.03ms"), pxe6_boot_s(&dir, "0.3ms"));
        let _ = std::fs::remove_dir_all(&dir);
        // The image alone is at least 2 MiB / 1448 bytes (an IPv6 frame's most) frames,
        // each 0.27 ms longer to take in.
        let at_least = (2u32 << 20).div_ceil(1448) as f64 * 0.27e-3;
        assert!(
            slow - fast >= at_least,
            "{fast:.3} s, then {slow:.3} s: not {at_least:.3} s longer"
        );
    }

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
