//! The phases of a boot by PXE over IPv6 (`netboot: pxe6`): power-on to the first
//! DHCPv6 Solicit (EDK2's IPv6 stack's own or PXE's, whichever comes first), that
//! Solicit to the boot program's first TFTP read (its parameters file), and the two
//! downloads over TFTP on IPv6, as the IPv4 phases are read (`super::phases`).

use super::wire::{self, Packet, Transport};
use super::Phases;
use pxelab_scenario::Netboot;
use std::net::IpAddr;

const OP_RRQ: u16 = 1;
const OP_DATA: u16 = 3;

/// A DHCPv6 message type: Solicit.
pub const SOLICIT: u8 = 1;

/// The client's DHCPv6 messages of type `kind` (to port 547).
pub fn is_dhcp6(p: &Packet, kind: u8) -> bool {
    p.from_client
        && p.transport == Transport::Udp
        && p.dst.1 == 547
        && p.payload.first() == Some(&kind)
}

/// A TFTP packet's opcode, its payload's first two bytes ([`is_tftp`] says whether it is TFTP).
pub(crate) fn opcode(p: &Packet) -> Option<u16> {
    let b = p.payload.get(0..2)?;
    Some(u16::from_be_bytes([b[0], b[1]]))
}

/// A TFTP DATA or ACK packet's block number.
pub(crate) fn block(p: &Packet) -> Option<u16> {
    let b = p.payload.get(2..4)?;
    Some(u16::from_be_bytes([b[0], b[1]]))
}

/// A TFTP packet (UDP, not DHCP), over either IP version.
pub(crate) fn is_tftp(p: &Packet) -> bool {
    p.transport == Transport::Udp && !wire::is_dhcp_port(p.src.1, p.dst.1)
}

/// The file a client's TFTP read request names, as requested but with `/` for `\`
/// (the boot image's path is written with `\` by some boot programs).
pub(crate) fn rrq_file(p: &Packet) -> Option<String> {
    if !p.from_client || !is_tftp(p) || opcode(p) != Some(OP_RRQ) {
        return None;
    }
    let name = p.payload.get(2..)?;
    let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
    Some(String::from_utf8_lossy(&name[..end]).replace('\\', "/"))
}

/// A file's reads: the first read request's time, the server, and the last DATA block
/// from that server before the next file's read.
pub struct Read {
    pub file: String,
    pub requested: f64,
    server: IpAddr,
    pub last_data: Option<f64>,
}

impl Read {
    /// From the first read request to the last DATA block.
    pub fn download(&self) -> Option<f64> {
        Some(self.last_data? - self.requested)
    }
}

/// The files read in order (a file's repeated requests, EDK2's size probe included,
/// are one read).
pub fn tftp_reads(packets: &[Packet]) -> Vec<Read> {
    let mut reads: Vec<Read> = Vec::new();
    for p in packets.iter().filter(|p| is_tftp(p)) {
        if let Some(file) = rrq_file(p) {
            if reads.last().is_none_or(|r| r.file != file) {
                reads.push(Read {
                    file,
                    requested: p.t,
                    server: p.dst.0,
                    last_data: None,
                });
            }
        } else if !p.from_client && opcode(p) == Some(OP_DATA) {
            if let Some(r) = reads.last_mut().filter(|r| r.server == p.src.0) {
                r.last_data = Some(p.t);
            }
        }
    }
    reads
}

/// The phases of one pxe6 boot: `packets` are the client's from its power-on up to its
/// next one, `power_on` the boot's start on the same clock.
pub fn phases(packets: &[Packet], power_on: f64) -> Phases {
    let solicit = packets.iter().find(|p| is_dhcp6(p, SOLICIT)).map(|p| p.t);
    let reads = tftp_reads(packets);
    Phases {
        netboot: Netboot::Pxe6,
        power_on_to_solicit: solicit.map(|t| t - power_on),
        // The boot program's first read: the first of a file other than the NBP's.
        solicit_to_program: solicit.and_then(|s| reads.get(1).map(|r| r.requested - s)),
        nbp_download: reads.first().and_then(Read::download),
        image_download: reads.get(2).and_then(Read::download),
        per_packet: per_packet(packets),
        intake: super::intake::fit(&tftp_answers(packets)),
        ..Phases::default()
    }
}

/// The firmware's time per frame it takes in over TFTP, as
/// [`super::per_packet`] reads it over IPv4: each window's last DATA block to the
/// client's ACK of it, summed over the frames the window took; a gap of 0.5 s or more
/// is a retransmission and left out.
pub fn per_packet(packets: &[Packet]) -> Option<f64> {
    super::per_frame_mean(tftp_seen(packets))
}

/// The TFTP answers over IPv6 ([`super::intake::Answer`]), which
/// [`super::intake::fit`] splits into `per_datagram6` and `per_packet6`: each ACK of a
/// window's last block, busy from the window's first block.
pub fn tftp_answers(packets: &[Packet]) -> Vec<super::intake::Answer> {
    let v6: Vec<Packet> = packets
        .iter()
        .filter(|p| p.src.0.is_ipv6())
        .cloned()
        .collect();
    super::intake::tftp_answers(tftp_seen(&v6))
}

fn tftp_seen(packets: &[Packet]) -> impl Iterator<Item = super::TftpSeen> + '_ {
    packets
        .iter()
        .filter(|p| is_tftp(p))
        .map(|p| super::TftpSeen {
            from_client: p.from_client,
            opcode: opcode(p),
            block: block(p),
            t: p.t,
            frames: wire::frames(p.len, p.src.0.is_ipv6()),
        })
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    fn udp(t: f64, from_client: bool, ports: (u16, u16), payload: Vec<u8>) -> Packet {
        let client: IpAddr = "fd10::100".parse().unwrap();
        let server: IpAddr = "fd10::5".parse().unwrap();
        let (src, dst) = if from_client {
            ((client, ports.0), (server, ports.1))
        } else {
            ((server, ports.0), (client, ports.1))
        };
        Packet {
            t,
            from_client,
            src,
            dst,
            transport: Transport::Udp,
            len: payload.len(),
            payload,
            seq_ack: None,
        }
    }

    fn rrq(t: f64, file: &str) -> Packet {
        let mut p = vec![0, 1];
        p.extend(file.as_bytes());
        p.extend(b"\0octet\0");
        udp(t, true, (2070, 69), p)
    }

    fn data(t: f64, block: u16, len: usize) -> Packet {
        let mut p = vec![0, 3];
        p.extend(block.to_be_bytes());
        Packet {
            len,
            ..udp(t, false, (50000, 2070), p)
        }
    }

    fn ack(t: f64, block: u16) -> Packet {
        let mut p = vec![0, 4];
        p.extend(block.to_be_bytes());
        udp(t, true, (2070, 50000), p)
    }

    #[test]
    fn a_pxe6_boots_phases_come_from_its_first_solicit_reads_and_last_data() {
        let solicit = |t: f64| {
            let mut p = udp(t, true, (546, 547), vec![SOLICIT, 1, 2, 3]);
            p.dst.0 = "ff02::1:2".parse().unwrap();
            p
        };
        let packets = vec![
            solicit(19.0),
            solicit(21.3),
            rrq(30.0, "smsboot/x64/wdsmgfw.efi"),
            rrq(30.1, "smsboot/x64/wdsmgfw.efi"),
            data(30.2, 1, 1232),
            ack(30.2003, 1),
            data(30.4, 2, 100),
            ack(30.4001, 2),
            // A DHCPv6 message from that server that begins like TFTP DATA is no block.
            udp(30.45, false, (547, 546), vec![0, 3, 0, 3]),
            rrq(32.0, "smstemp/x.var"),
            data(32.1, 1, 60),
            ack(32.1002, 1),
            rrq(33.0, "smsimages\\PS100002\\boot.PS100002.wim"),
            data(34.0, 1, 8196),
            ack(34.0060, 1),
            data(36.0, 2, 10),
            ack(37.0, 2), // a retransmission's gap: left out
        ];
        let p = phases(&packets, 10.0);
        let near = |a: Option<f64>, b: f64| a.is_some_and(|a| (a - b).abs() < 1e-9);
        assert_eq!(p.netboot, Netboot::Pxe6);
        assert!(near(p.power_on_to_solicit, 9.0), "{p:?}");
        assert!(near(p.solicit_to_program, 13.0), "{p:?}");
        assert!(near(p.nbp_download, 0.4), "{p:?}");
        assert!(near(p.image_download, 3.0), "{p:?}");
        assert_eq!(
            (p.power_on_to_discover, p.discover_to_program),
            (None, None)
        );
        // 0.3 + 0.1 + 0.2 + 6.0 ms over 1 + 1 + 1 + 6 frames (an 8 KiB block over IPv6).
        assert!(near(p.per_packet, 0.0066 / 9.0), "{p:?}");
        assert_eq!(phases(&[], 0.0).power_on_to_solicit, None);
    }

    /// The simulator's phases of a lab scenario, with its captures: `(client, boot,
    /// firmware, phases)` of each boot.
    pub(crate) fn simulated(file: &str) -> Vec<(String, u32, String, Phases)> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let sc = pxelab_scenario::load_file(&root.join(file)).expect("scenario loads");
        let name = file.replace('/', "_");
        let dir = std::env::temp_dir().join(format!("pxelab-{name}-{}", std::process::id()));
        let opts = crate::RunOptions {
            pcap_dir: Some(dir.clone()),
            ..Default::default()
        };
        let r = crate::run_scenario(&sc, &opts);
        let got = super::super::of_result(&r, &sc);
        let _ = std::fs::remove_dir_all(&dir);
        assert!(r.passed, "{file}: {:?}", r.failures);
        got.expect("readable")
    }

    #[test]
    fn a_pxe6_boot_by_a_boot_event_starts_up_then_solicits_in_the_simulator() {
        // The second boot is the event's `netboot: pxe6`, the client's own is pxe4.
        let got = simulated("scenarios/lab/netboot-per-boot-pxe4-then-pxe6.yaml");
        let (.., p) = got.iter().find(|(_, n, ..)| *n == 2).expect("boot 2");
        let m = pxelab_engine::dhcp::firmware::model(
            pxelab_engine::dhcp::firmware::FirmwareKind::UefiX64,
        );
        let start = m.timing.power_on_to_solicit.as_secs_f64();
        assert_eq!(p.netboot, Netboot::Pxe6);
        assert!(
            p.power_on_to_solicit
                .is_some_and(|t| (t - start).abs() < 0.01),
            "{p:?}"
        );
        assert!(
            p.solicit_to_program.is_some() && p.image_download.is_some(),
            "{p:?}"
        );
    }
}
