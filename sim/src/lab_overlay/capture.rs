//! The lab overlay's two figures read from a run's segment captures, the same way for
//! the lab and the simulator: the boot program each boot read (its path and size) and
//! the server's side of each TFTP round (a client's ACK to the DATA it brought back).
//! Both IP versions and HTTP boot, from the client's packets as the phases of PXE over
//! IPv6 and of HTTP boot read them ([`crate::phases::wire`]).

use crate::phases::six::{block, is_tftp, opcode, rrq_file};
use crate::phases::wire::{self, Packet};
use crate::phases::{OP_ACK, OP_DATA};
use pxelab_engine::tftp::packet::Packet as Tftp;
use pxelab_scenario::Netboot;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::Path;

/// A round this long or longer is a retransmission timeout, not service (the bound
/// `phases::per_packet` uses for the client's side).
const RETRANSMISSION: f64 = 0.5;

/// Each client's UDP and TCP packets of a result, over IPv4 and IPv6, from the capture
/// of its segment (named after it) on the run's clock: a lab result's from
/// `started_unix_s`, a simulator's from its warm-up. A client whose segment has no
/// capture is left out; an unreadable capture is an error naming it.
pub fn client_packets(
    r: &crate::ScenarioResult,
    sc: &pxelab_scenario::Scenario,
) -> Result<Vec<(String, Vec<Packet>)>, String> {
    let clock0 = r.started_unix_s.unwrap_or(crate::run::WARMUP.as_secs_f64());
    let mut out = Vec::new();
    for c in &sc.network.clients {
        let pcap = r.pcaps.iter().find(|p| {
            Path::new(p)
                .file_stem()
                .is_some_and(|s| s.to_string_lossy() == c.segment)
        });
        if let Some(pcap) = pcap {
            let packets = wire::read(Path::new(pcap), clock0, c.mac.0)?;
            out.push((c.name.clone(), packets))
        }
    }
    Ok(out)
}

/// The boot program of one boot by `netboot`, from its packets: as the responder's
/// root names it (`tftp::path::normalize`, which the HTTP host's paths are normalised
/// with too), and its size as served. PXE over either IP version reads it over TFTP
/// ([`tftp_program`]), HTTP boot from its first GET ([`http_program`]).
pub fn boot_program(packets: &[Packet], netboot: Netboot) -> Option<(String, u64)> {
    match netboot {
        Netboot::Pxe4 | Netboot::Pxe6 => tftp_program(packets),
        Netboot::Http4 | Netboot::Http6 => http_program(packets),
    }
}

/// The first file a boot read over TFTP, its boot program, and its size: the `tsize`
/// of the server's OACK (iPXE asks for it, EDK2 probes for it), else the bytes of its
/// DATA blocks once a block shorter than the others ended the read. `None` if the boot
/// read no file or its size cannot be told.
pub fn tftp_program(packets: &[Packet]) -> Option<(String, u64)> {
    let (at, raw, server) = packets
        .iter()
        .enumerate()
        .find_map(|(i, p)| rrq_file(p).map(|n| (i, n, p.dst.0)))?;
    let path = pxelab_engine::tftp::path::normalize(raw.as_bytes()).ok()?;
    let mut tsize = None;
    let mut blocks: BTreeMap<u16, usize> = BTreeMap::new();
    for p in &packets[at + 1..] {
        if let Some(other) = rrq_file(p) {
            if pxelab_engine::tftp::path::normalize(other.as_bytes()).ok() != Some(path.clone()) {
                break; // the next file
            }
            continue;
        }
        if p.from_client || p.src.0 != server || !is_tftp(p) {
            continue;
        }
        match opcode(p) {
            Some(OP_DATA) => {
                if let Some(b) = block(p) {
                    blocks.insert(b, p.len.saturating_sub(4));
                }
            }
            _ if tsize.is_none() => tsize = oack_tsize(&p.payload),
            _ => {}
        }
    }
    if let Some(t) = tsize {
        return Some((path, t));
    }
    let longest = blocks.values().copied().max()?;
    let (_, &last) = blocks.last_key_value()?;
    (blocks.len() == 1 || last < longest).then(|| (path, blocks.values().sum::<usize>() as u64))
}

/// The boot program of an HTTP boot: the firmware's first GET, at the path the
/// simulator's HTTP host opens for its target, and the `Content-Length` of the 200
/// answer (`phases::http::program_served`). `None` without both.
pub fn http_program(packets: &[Packet]) -> Option<(String, u64)> {
    let (target, bytes) = crate::phases::http::program_served(packets)?;
    Some((pxelab_engine::http::request::target_path(&target)?, bytes))
}

/// The `tsize` option of an OACK.
fn oack_tsize(payload: &[u8]) -> Option<u64> {
    match Tftp::parse(payload).ok()? {
        Tftp::Oack { options } => options
            .iter()
            .find(|(k, _)| k == "tsize")
            .and_then(|(_, v)| v.parse().ok()),
        _ => None,
    }
}

/// The server's side of each TFTP round, over either IP version, seconds: from a
/// client's ACK to the last DATA block the server sent back to it before the client's
/// next datagram (the next block at window size 1, a window's last block otherwise).
/// What the link model gives is in it too (the measurement subtracts the simulator's
/// own rounds); rounds of [`RETRANSMISSION`] or more and an ACK nothing followed (a
/// transfer's last) are left out. HTTP boot's TCP has no such rounds: its segments are
/// not read here.
pub fn server_rounds(packets: &[Packet]) -> Vec<f64> {
    /// A round under way: its ACK's time, where the ACK went, the last DATA since.
    struct Open {
        acked: f64,
        to: (IpAddr, u16),
        last: Option<f64>,
    }
    let mut out = Vec::new();
    let mut open: Option<Open> = None;
    let close = |open: Option<Open>, out: &mut Vec<f64>| {
        if let Some(Open {
            acked,
            last: Some(last),
            ..
        }) = open
        {
            if last - acked < RETRANSMISSION {
                out.push(last - acked);
            }
        }
    };
    for p in packets
        .iter()
        .filter(|p| p.transport == wire::Transport::Udp)
    {
        if p.from_client {
            close(open.take(), &mut out);
            if opcode(p) == Some(OP_ACK) && is_tftp(p) {
                open = Some(Open {
                    acked: p.t,
                    to: p.dst,
                    last: None,
                });
            }
        } else if opcode(p) == Some(OP_DATA) && is_tftp(p) {
            if let Some(o) = open.as_mut().filter(|o| o.to == p.src) {
                o.last = Some(p.t);
            }
        }
    }
    close(open, &mut out);
    out
}

/// The mean of some values; `None` if none.
pub fn mean(v: &[f64]) -> Option<f64> {
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::phases::wire::Transport;

    /// A client and its server, over IPv4 or IPv6.
    #[derive(Clone, Copy)]
    struct Family {
        client: IpAddr,
        server: IpAddr,
    }

    fn v4() -> Family {
        Family {
            client: "10.0.0.100".parse().unwrap(),
            server: "10.0.0.5".parse().unwrap(),
        }
    }

    fn v6() -> Family {
        Family {
            client: "fd10::100".parse().unwrap(),
            server: "fd10::5".parse().unwrap(),
        }
    }

    impl Family {
        fn udp(self, t: f64, from_client: bool, payload: Vec<u8>, len: usize) -> Packet {
            let (c, s) = ((self.client, 2070), (self.server, 50000));
            let (src, dst) = if from_client { (c, s) } else { (s, c) };
            Packet {
                t,
                from_client,
                src,
                dst,
                transport: Transport::Udp,
                len,
                payload,
                seq_ack: None,
            }
        }

        fn rrq(self, t: f64, file: &str, options: &[(&str, &str)]) -> Packet {
            let mut p = vec![0, 1];
            for s in [file, "octet"] {
                p.extend_from_slice(s.as_bytes());
                p.push(0);
            }
            for (k, v) in options {
                for s in [k, v] {
                    p.extend_from_slice(s.as_bytes());
                    p.push(0);
                }
            }
            let len = p.len();
            Packet {
                dst: (self.server, 69),
                ..self.udp(t, true, p, len)
            }
        }

        fn oack(self, t: f64, tsize: u64) -> Packet {
            let mut p = vec![0, 6];
            for s in ["tsize".to_string(), tsize.to_string()] {
                p.extend_from_slice(s.as_bytes());
                p.push(0);
            }
            let len = p.len();
            self.udp(t, false, p, len)
        }

        /// A DATA block of `bytes` file bytes (the capture keeps only its header).
        fn data(self, t: f64, b: u16, bytes: usize) -> Packet {
            let mut p = vec![0, 3];
            p.extend_from_slice(&b.to_be_bytes());
            self.udp(t, false, p, 4 + bytes)
        }

        fn ack(self, t: f64, b: u16) -> Packet {
            let mut p = vec![0, 4];
            p.extend_from_slice(&b.to_be_bytes());
            self.udp(t, true, p, 4)
        }
    }

    #[test]
    fn the_boot_programs_size_is_the_oacks_tsize_over_either_ip_version() {
        for f in [v4(), v6()] {
            // EDK2's probe: RRQ with tsize 0, OACK, then the read itself; the next
            // file's OACK says nothing about this one.
            let packets = vec![
                f.rrq(1.0, "SMSBoot\\PS1\\x64\\bootmgfw.efi", &[("tsize", "0")]),
                f.oack(1.001, 20480),
                f.rrq(
                    1.1,
                    "SMSBoot\\PS1\\x64\\bootmgfw.efi",
                    &[("blksize", "1468")],
                ),
                f.data(1.2, 1, 1468),
                f.rrq(2.0, "smstemp/x.var", &[("tsize", "0")]),
                f.oack(2.001, 77),
            ];
            let want = Some(("smsboot/ps1/x64/bootmgfw.efi".to_string(), 20480));
            assert_eq!(tftp_program(&packets), want);
            assert_eq!(boot_program(&packets, Netboot::Pxe6), want);
            // An HTTP boot's program is its first GET's: there is none here.
            assert_eq!(boot_program(&packets, Netboot::Http6), None);
        }
    }

    #[test]
    fn without_an_oack_the_size_is_the_data_of_a_finished_read() {
        for f in [v4(), v6()] {
            // 512-byte blocks, block 2 sent twice, a short last block.
            let mut packets = vec![
                f.rrq(1.0, "smsboot/ps1/x86/wdsnbp.com", &[]),
                f.data(1.1, 1, 512),
                f.ack(1.11, 1),
                f.data(1.2, 2, 512),
                f.data(1.7, 2, 512),
                f.ack(1.71, 2),
                f.data(1.8, 3, 100),
            ];
            let got = tftp_program(&packets);
            assert_eq!(got, Some(("smsboot/ps1/x86/wdsnbp.com".to_string(), 1124)));
            // A read cut short (no short block yet): the size is not known.
            packets.pop();
            assert_eq!(tftp_program(&packets), None);
        }
        assert_eq!(tftp_program(&[]), None);
    }

    #[test]
    fn a_servers_round_runs_from_an_ack_to_the_last_data_it_brought() {
        for f in [v4(), v6()] {
            let mut packets = vec![
                // Window 1: ACK 1 brings block 2 after 0.3 ms.
                f.data(1.0, 1, 1432),
                f.ack(1.001, 1),
                f.data(1.0013, 2, 1432),
                // Window 4: ACK 2 brings blocks 3-6, the last 1 ms after the ACK.
                f.ack(1.002, 2),
                f.data(1.0022, 3, 1432),
                f.data(1.0025, 4, 1432),
                f.data(1.0028, 5, 1432),
                f.data(1.003, 6, 1432),
                // A lost block: the server resends only at its timeout, not a round.
                f.ack(1.004, 6),
                f.data(1.6, 7, 1432),
                // The last ACK brings nothing.
                f.ack(1.61, 7),
            ];
            // A DHCPv6 answer from the server after block 2 that reads like DATA is no
            // block (it would make the first round 0.6 ms).
            let mut dhcp6 = f.data(1.0016, 9, 8);
            dhcp6.src.1 = 547;
            dhcp6.dst.1 = 546;
            packets.insert(3, dhcp6);
            let got = server_rounds(&packets);
            assert_eq!(got.len(), 2, "{got:?}");
            assert!((got[0] - 0.0003).abs() < 1e-9, "{got:?}");
            assert!((got[1] - 0.001).abs() < 1e-9, "{got:?}");
            assert!(mean(&got).is_some_and(|m| (m - 0.00065).abs() < 1e-9));
        }
        assert_eq!(mean(&[]), None);
    }

    const CLIENT_MAC: [u8; 6] = [0x52, 0x54, 0, 0, 0, 1];
    const SERVER_MAC: [u8; 6] = [0x52, 0x54, 0, 0, 0, 5];

    /// An Ethernet frame of a TCP segment over IPv6 between the client's port 1632 and
    /// the server's 80, as a capture holds it, cut at `snap` bytes.
    fn tcp6_frame(from_client: bool, payload: &[u8], snap: usize) -> Vec<u8> {
        let f = v6();
        let (IpAddr::V6(c), IpAddr::V6(s)) = (f.client, f.server) else {
            unreachable!()
        };
        let ((src, sport, smac), (dst, dport, dmac)) = if from_client {
            ((c, 1632u16, CLIENT_MAC), (s, 80u16, SERVER_MAC))
        } else {
            ((s, 80, SERVER_MAC), (c, 1632, CLIENT_MAC))
        };
        let mut d = dmac.to_vec();
        d.extend(smac);
        d.extend([0x86, 0xdd, 0x60, 0, 0, 0]);
        d.extend(u16::try_from(20 + payload.len()).unwrap().to_be_bytes());
        d.extend([6, 64]);
        d.extend(src.octets());
        d.extend(dst.octets());
        d.extend(sport.to_be_bytes());
        d.extend(dport.to_be_bytes());
        d.extend([0, 0, 0, 1, 0, 0, 0, 1, 0x50, 0x18, 0xff, 0xff, 0, 0, 0, 0]);
        d.extend(payload);
        d.truncate(snap);
        d
    }

    #[test]
    fn an_http_boots_program_is_its_first_gets_path_and_content_length() {
        // The firmware's HEAD, then its GET and the 200 answer, the head in the
        // answer's first segment; then the boot program's own GET. Cut at the lab's
        // snap length (14 + 576 bytes) as the lab captures them.
        let snap = 14 + 576;
        let head = b"HTTP/1.1 200 OK\r\nContent-Length: 19456\r\nContent-Type: application/octet-stream\r\nAccept-Ranges: bytes\r\nConnection: keep-alive\r\n\r\n";
        let mut answer = head.to_vec();
        answer.extend([0x4d; 1100]); // the file's first bytes
        let frames = [
            tcp6_frame(
                true,
                b"HEAD /SMSBoot/PS1/x64/bootmgfw.efi HTTP/1.1\r\n\r\n",
                snap,
            ),
            tcp6_frame(
                false,
                b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n",
                snap,
            ),
            tcp6_frame(
                true,
                b"GET /SMSBoot/PS1/x64/bootmgfw.efi HTTP/1.1\r\nHost: [fd10::5]\r\n\r\n",
                snap,
            ),
            tcp6_frame(false, &answer, snap),
            tcp6_frame(false, &[0x4d; 1200], snap),
            tcp6_frame(true, b"GET /smstemp/x.var HTTP/1.1\r\n\r\n", snap),
            tcp6_frame(
                false,
                b"HTTP/1.1 200 OK\r\nContent-Length: 77\r\n\r\n",
                snap,
            ),
        ];
        let packets: Vec<Packet> = frames
            .iter()
            .enumerate()
            .map(|(i, d)| wire::packet(d, i as f64, CLIENT_MAC).expect("the client's"))
            .collect();
        let want = Some(("smsboot/ps1/x64/bootmgfw.efi".to_string(), 19456));
        assert_eq!(http_program(&packets), want);
        assert_eq!(boot_program(&packets, Netboot::Http6), want);
        assert_eq!(boot_program(&packets, Netboot::Http4), want);
        // TCP has no TFTP rounds: no turnaround is measured from an HTTP boot.
        assert!(server_rounds(&packets).is_empty());
        assert_eq!(boot_program(&packets, Netboot::Pxe6), None);
        // An answer that is not a 200, or a head cut before its length: no size.
        let mut refused = packets.clone();
        refused[3] = wire::packet(
            &tcp6_frame(
                false,
                b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n",
                snap,
            ),
            3.0,
            CLIENT_MAC,
        )
        .expect("to the client");
        assert_eq!(http_program(&refused), None);
        let mut cut = packets.clone();
        cut[3] = wire::packet(
            &tcp6_frame(false, &answer, 14 + 40 + 20 + 30),
            3.0,
            CLIENT_MAC,
        )
        .expect("to the client");
        assert_eq!(http_program(&cut), None);
    }
}
