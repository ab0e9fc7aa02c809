//! The lab overlay's two figures read from a run's segment captures, the same way for
//! the lab and the simulator: the boot program each boot read (its path and size) and
//! the server's side of each TFTP round (a client's ACK to the DATA it brought back).

use crate::ladder_pcap::Frame;
use crate::phases::{block, opcode, rrq_file, OP_ACK, OP_DATA};
use pxelab_engine::tftp::packet::Packet;
use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::Path;

/// A round this long or longer is a retransmission timeout, not service (the bound
/// `phases::per_packet` uses for the client's side).
const RETRANSMISSION: f64 = 0.5;

/// A TFTP frame of a transfer (not a DHCP one on 67/68).
fn is_tftp(f: &Frame) -> bool {
    f.src.1 != 67 && f.dst.1 != 68
}

/// Each client's frames of a result, from the capture of its segment (named after it)
/// on the run's clock: a lab result's from `started_unix_s`, a simulator's from its
/// warm-up. A client whose segment has no capture is left out; an unreadable capture
/// is an error naming it.
pub fn client_frames(
    r: &crate::ScenarioResult,
    sc: &pxelab_scenario::Scenario,
) -> Result<Vec<(String, Vec<Frame>)>, String> {
    let clock0 = r.started_unix_s.unwrap_or(crate::run::WARMUP.as_secs_f64());
    let mut out = Vec::new();
    for c in &sc.network.clients {
        let pcap = r.pcaps.iter().find(|p| {
            Path::new(p)
                .file_stem()
                .is_some_and(|s| s.to_string_lossy() == c.segment)
        });
        if let Some(pcap) = pcap {
            let frames = crate::ladder_pcap::read(Path::new(pcap), clock0, c.mac.0)?;
            out.push((c.name.clone(), frames));
        }
    }
    Ok(out)
}

/// The first file a boot read over TFTP, its boot program, as the responder's root
/// names it (`tftp::path::normalize`), and its size: the `tsize` of the server's OACK
/// (iPXE asks for it, EDK2 probes for it), else the bytes of its DATA blocks once a
/// block shorter than the others ended the read. `None` if the boot read no file or
/// its size cannot be told.
pub fn boot_program(frames: &[Frame]) -> Option<(String, u64)> {
    let (at, raw, server) = frames
        .iter()
        .enumerate()
        .find_map(|(i, f)| rrq_file(f).map(|n| (i, n, f.dst.0)))?;
    let path = pxelab_engine::tftp::path::normalize(raw.as_bytes()).ok()?;
    let mut tsize = None;
    let mut blocks: BTreeMap<u16, usize> = BTreeMap::new();
    for f in &frames[at + 1..] {
        if let Some(other) = rrq_file(f) {
            if pxelab_engine::tftp::path::normalize(other.as_bytes()).ok() != Some(path.clone()) {
                break; // the next file
            }
            continue;
        }
        if f.from_client || f.src.0 != server || !is_tftp(f) {
            continue;
        }
        match opcode(f) {
            Some(OP_DATA) => {
                if let Some(b) = block(f) {
                    blocks.insert(b, f.len.saturating_sub(4));
                }
            }
            _ if tsize.is_none() => tsize = oack_tsize(&f.payload),
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

/// The `tsize` option of an OACK.
fn oack_tsize(payload: &[u8]) -> Option<u64> {
    match Packet::parse(payload).ok()? {
        Packet::Oack { options } => options
            .iter()
            .find(|(k, _)| k == "tsize")
            .and_then(|(_, v)| v.parse().ok()),
        _ => None,
    }
}

/// The server's side of each TFTP round, seconds: from a client's ACK to the last DATA
/// block the server sent back to it before the client's next datagram (the next block
/// at window size 1, a window's last block otherwise). What the link model gives is in
/// it too (the measurement subtracts the simulator's own rounds); rounds of
/// [`RETRANSMISSION`] or more and an ACK nothing followed (a transfer's last) are left
/// out.
pub fn server_rounds(frames: &[Frame]) -> Vec<f64> {
    /// A round under way: its ACK's time, where the ACK went, the last DATA since.
    struct Open {
        acked: f64,
        to: (Ipv4Addr, u16),
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
    for f in frames {
        if f.from_client {
            close(open.take(), &mut out);
            if opcode(f) == Some(OP_ACK) && is_tftp(f) {
                open = Some(Open {
                    acked: f.t,
                    to: f.dst,
                    last: None,
                });
            }
        } else if opcode(f) == Some(OP_DATA) && is_tftp(f) {
            if let Some(o) = open.as_mut().filter(|o| o.to == f.src) {
                o.last = Some(f.t);
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

    const CLIENT: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 100);
    const SERVER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 5);

    fn frame(t: f64, from_client: bool, payload: Vec<u8>, len: usize) -> Frame {
        let (c, s) = ((CLIENT, 2070), (SERVER, 50000));
        let (src, dst) = if from_client { (c, s) } else { (s, c) };
        Frame {
            t,
            from_client,
            src,
            dst,
            len,
            payload,
        }
    }

    fn rrq(t: f64, file: &str, options: &[(&str, &str)]) -> Frame {
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
        Frame {
            dst: (SERVER, 69),
            ..frame(t, true, p, len)
        }
    }

    fn oack(t: f64, tsize: u64) -> Frame {
        let mut p = vec![0, 6];
        for s in ["tsize".to_string(), tsize.to_string()] {
            p.extend_from_slice(s.as_bytes());
            p.push(0);
        }
        let len = p.len();
        frame(t, false, p, len)
    }

    /// A DATA block of `bytes` file bytes (the capture keeps only its header).
    fn data(t: f64, b: u16, bytes: usize) -> Frame {
        let mut p = vec![0, 3];
        p.extend_from_slice(&b.to_be_bytes());
        frame(t, false, p, 4 + bytes)
    }

    fn ack(t: f64, b: u16) -> Frame {
        let mut p = vec![0, 4];
        p.extend_from_slice(&b.to_be_bytes());
        frame(t, true, p, 4)
    }

    #[test]
    fn the_boot_programs_size_is_the_oacks_tsize() {
        // EDK2's probe: RRQ with tsize 0, OACK, then the read itself; the next file's
        // OACK says nothing about this one.
        let frames = vec![
            rrq(1.0, "SMSBoot\\PS1\\x64\\bootmgfw.efi", &[("tsize", "0")]),
            oack(1.001, 20480),
            rrq(
                1.1,
                "SMSBoot\\PS1\\x64\\bootmgfw.efi",
                &[("blksize", "1468")],
            ),
            data(1.2, 1, 1468),
            rrq(2.0, "smstemp/x.var", &[("tsize", "0")]),
            oack(2.001, 77),
        ];
        assert_eq!(
            boot_program(&frames),
            Some(("smsboot/ps1/x64/bootmgfw.efi".to_string(), 20480))
        );
    }

    #[test]
    fn without_an_oack_the_size_is_the_data_of_a_finished_read() {
        // 512-byte blocks, block 2 sent twice, a short last block.
        let mut frames = vec![
            rrq(1.0, "smsboot/ps1/x86/wdsnbp.com", &[]),
            data(1.1, 1, 512),
            ack(1.11, 1),
            data(1.2, 2, 512),
            data(1.7, 2, 512),
            ack(1.71, 2),
            data(1.8, 3, 100),
        ];
        let got = boot_program(&frames);
        assert_eq!(got, Some(("smsboot/ps1/x86/wdsnbp.com".to_string(), 1124)));
        // A read cut short (no short block yet): the size is not known.
        frames.pop();
        assert_eq!(boot_program(&frames), None);
        assert_eq!(boot_program(&[]), None);
    }

    #[test]
    fn a_servers_round_runs_from_an_ack_to_the_last_data_it_brought() {
        let frames = vec![
            // Window 1: ACK 1 brings block 2 after 0.3 ms.
            data(1.0, 1, 1432),
            ack(1.001, 1),
            data(1.0013, 2, 1432),
            // Window 4: ACK 2 brings blocks 3-6, the last 1 ms after the ACK.
            ack(1.002, 2),
            data(1.0022, 3, 1432),
            data(1.0025, 4, 1432),
            data(1.0028, 5, 1432),
            data(1.003, 6, 1432),
            // A lost block: the server resends only at its timeout, not a round.
            ack(1.004, 6),
            data(1.6, 7, 1432),
            // The last ACK brings nothing.
            ack(1.61, 7),
        ];
        let got = server_rounds(&frames);
        assert_eq!(got.len(), 2, "{got:?}");
        assert!((got[0] - 0.0003).abs() < 1e-9, "{got:?}");
        assert!((got[1] - 0.001).abs() < 1e-9, "{got:?}");
        assert!(mean(&got).is_some_and(|m| (m - 0.00065).abs() < 1e-9));
        assert_eq!(mean(&[]), None);
    }
}
