//! The firmware's time to take in what it receives, split as the simulator models it
//! (`world/firmware_cost.rs`): `per_datagram` for each IP datagram and `per_packet`
//! for each of its Ethernet frames. Read from a capture's answers, each TFTP ACK and
//! the DATA blocks of its window: the client's busy time, from the later of its
//! previous ACK and the window's first block, to the ACK. `pxelab firmware learn` and
//! `pxelab lab calibrate` fit the two to them ([`fit`]); a TCP ACK of HTTP boot and
//! the segments it newly acknowledges are an [`Answer`] too ([`super::tcp_intake`]).

use super::{TftpSeen, OP_ACK, OP_DATA};

/// One answer of the client: how long it was busy before it, over how many datagrams
/// and frames.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Answer {
    pub busy: f64,
    pub datagrams: u32,
    pub frames: u32,
}

/// A busy time of this long or more is a retransmission or a wait, not processing.
const NOT_PROCESSING_S: f64 = 0.5;

/// The answers of a TFTP download: each ACK of a window's last block, busy from the
/// window's first block (or the previous ACK, if later).
pub(crate) fn tftp_answers(seen: impl IntoIterator<Item = TftpSeen>) -> Vec<Answer> {
    let mut out = Vec::new();
    let mut first: Option<f64> = None;
    let mut last_block: Option<u16> = None;
    let mut prev_ack: Option<f64> = None;
    let (mut datagrams, mut frames) = (0u32, 0u32);
    for d in seen {
        match (d.from_client, d.opcode) {
            (false, Some(OP_DATA)) => {
                first.get_or_insert(d.t);
                last_block = d.block;
                datagrams += 1;
                frames += d.frames;
            }
            (true, Some(OP_ACK)) => {
                if let (Some(f), Some(b), Some(a)) = (first, last_block, d.block) {
                    let busy = d.t - prev_ack.map_or(f, |p| p.max(f));
                    if a == b && a != 0 && busy < NOT_PROCESSING_S {
                        out.push(Answer {
                            busy,
                            datagrams,
                            frames,
                        });
                    }
                }
                prev_ack = Some(d.t);
                (first, last_block, datagrams, frames) = (None, None, 0, 0);
            }
            _ => {}
        }
    }
    out
}

/// `(per_datagram, per_packet)`, seconds, that best give the answers' busy times
/// (least squares, neither negative). Where every answer took in the same frames a
/// datagram (one-frame TFTP blocks, TCP segments), the two cannot be told apart: all
/// of it is `per_packet`. `None` without answers.
pub fn fit(answers: &[Answer]) -> Option<(f64, f64)> {
    let (mut dd, mut df, mut ff, mut db, mut fb, mut busy, mut frames) =
        (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
    for a in answers {
        let (d, f) = (f64::from(a.datagrams), f64::from(a.frames));
        (dd, df, ff) = (dd + d * d, df + d * f, ff + f * f);
        (db, fb) = (db + d * a.busy, fb + f * a.busy);
        (busy, frames) = (busy + a.busy, frames + f);
    }
    if frames == 0.0 {
        return None;
    }
    let per_frame_only = (0.0, busy / frames);
    let det = dd * ff - df * df;
    // Proportional columns (one frames-per-datagram ratio): no split to fit.
    if det <= 1e-9 * dd * ff {
        return Some(per_frame_only);
    }
    let per_datagram = (db * ff - fb * df) / det;
    let per_frame = (fb * dd - db * df) / det;
    Some(match (per_datagram >= 0.0, per_frame >= 0.0) {
        (true, true) => (per_datagram, per_frame),
        (false, _) => per_frame_only,
        (true, false) => (db / dd, 0.0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(from_client: bool, opcode: u16, block: u16, t: f64, frames: u32) -> TftpSeen {
        TftpSeen {
            from_client,
            opcode: Some(opcode),
            block: Some(block),
            t,
            frames,
        }
    }

    #[test]
    fn windows_of_one_and_six_frame_blocks_split_into_per_datagram_and_per_frame() {
        // 0.1 ms a datagram, 0.04 ms a frame: a one-frame block 0.14 ms, a window of
        // four 6-frame blocks 1.36 ms from its first block.
        let mut s = vec![
            seen(false, OP_DATA, 1, 1.0, 1),
            seen(true, OP_ACK, 1, 1.00014, 1),
        ];
        for (k, b) in (2..=5u16).enumerate() {
            s.push(seen(false, OP_DATA, b, 1.001 + 1e-5 * k as f64, 6));
        }
        s.push(seen(true, OP_ACK, 5, 1.001 + 0.00136, 1));
        // A resent block answered after 1 s is not processing.
        s.push(seen(false, OP_DATA, 6, 2.0, 1));
        s.push(seen(true, OP_ACK, 6, 3.0, 1));
        let answers = tftp_answers(s);
        assert_eq!(answers.len(), 2);
        let (d, f) = fit(&answers).expect("answers");
        assert!(
            (d - 0.0001).abs() < 1e-9 && (f - 0.00004).abs() < 1e-9,
            "{d} {f}"
        );
        // One ratio only: all of it per frame, as the mean.
        let (d, f) = fit(&answers[..1]).expect("answers");
        assert_eq!(d, 0.0);
        assert!((f - 0.00014).abs() < 1e-12);
        assert_eq!(fit(&[]), None);
    }

    #[test]
    fn a_fit_never_goes_negative() {
        // Bigger windows cheaper per frame than one-frame blocks would need a negative
        // per-frame time: all of it goes per datagram instead.
        let answers = [
            Answer {
                busy: 0.001,
                datagrams: 1,
                frames: 1,
            },
            Answer {
                busy: 0.0005,
                datagrams: 1,
                frames: 6,
            },
        ];
        let (d, f) = fit(&answers).expect("answers");
        assert!(d >= 0.0 && f >= 0.0, "{d} {f}");
    }
}
