//! The firmware's time per TCP segment it takes in (UEFI HTTP boot; a segment is one
//! datagram of one frame: `per_datagram` + `per_packet`, [`super::intake`]), read from
//! a boot's packets the same way for the lab, the simulator and `pxelab firmware
//! learn`.
//!
//! EDK2 acknowledges every second segment, and in a download the server keeps its
//! window (64 KiB) full: the client is then busy throughout, and an ACK's time since
//! the client's previous segment is what the segments it newly acknowledges cost.
//! Where the client had nothing to do, its time counts from the first of those
//! segments. So per ACK that acknowledges new data: from the later of the client's
//! previous segment on the connection and the first newly acknowledged segment, to
//! the ACK; summed over the boot and divided by the segments acknowledged. A time of
//! 0.1 s or more is no processing but a delayed ACK (EDK2's 200 ms), a retransmission
//! or the firmware's own wait, and is left out.

use super::intake::Answer;
use super::wire::{Packet, Transport};
use std::net::IpAddr;

/// A connection, as (client port, server address, server port).
type Conn = (u16, IpAddr, u16);

/// What is known of one connection.
struct Flow {
    conn: Conn,
    /// The server's data segments not yet acknowledged: (end sequence number, time).
    unacked: Vec<(u32, f64)>,
    /// The client's previous segment's time.
    last_sent: Option<f64>,
}

/// Whether sequence number `a` is at or before `b` (modulo 2^32).
fn at_or_before(a: u32, b: u32) -> bool {
    // Reinterpreting the distance as signed is how TCP compares sequence numbers.
    (b.wrapping_sub(a) as i32) >= 0
}

/// The mean time per TCP segment the client took in over `packets` (one boot's, the
/// client's and its servers'), seconds; `None` if no data was acknowledged.
pub fn per_segment(packets: &[Packet]) -> Option<f64> {
    let answers = answers(packets);
    let taken: u64 = answers.iter().map(|a| u64::from(a.datagrams)).sum();
    let busy: f64 = answers.iter().map(|a| a.busy).sum();
    (taken > 0).then(|| busy / taken as f64)
}

/// The client's ACKs that acknowledged new data, with their busy times (each segment
/// one datagram of one frame).
pub fn answers(packets: &[Packet]) -> Vec<Answer> {
    let mut out = Vec::new();
    let mut flows: Vec<Flow> = Vec::new();
    for p in packets.iter().filter(|p| p.transport == Transport::Tcp) {
        let Some((seq, ack)) = p.seq_ack else {
            continue;
        };
        let conn = if p.from_client {
            (p.src.1, p.dst.0, p.dst.1)
        } else {
            (p.dst.1, p.src.0, p.src.1)
        };
        let i = match flows.iter().position(|f| f.conn == conn) {
            Some(i) => i,
            None => {
                flows.push(Flow {
                    conn,
                    unacked: Vec::new(),
                    last_sent: None,
                });
                flows.len() - 1
            }
        };
        let f = &mut flows[i];
        if !p.from_client {
            if p.len > 0 {
                let len = u32::try_from(p.len).unwrap_or(u32::MAX);
                f.unacked.push((seq.wrapping_add(len), p.t));
            }
            continue;
        }
        let (done, rest): (Vec<_>, Vec<_>) = f
            .unacked
            .iter()
            .partition(|(end, _)| at_or_before(*end, ack));
        if let Some(first) = done.iter().map(|(_, t)| *t).reduce(f64::min) {
            let from = f.last_sent.map_or(first, |s| s.max(first));
            let took = p.t - from;
            if (0.0..0.1).contains(&took) {
                let n = u32::try_from(done.len()).unwrap_or(u32::MAX);
                out.push(Answer {
                    busy: took,
                    datagrams: n,
                    frames: n,
                });
            }
            f.unacked = rest;
        }
        f.last_sent = Some(p.t);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(t: f64, from_client: bool, seq: u32, ack: u32, len: usize) -> Packet {
        let c: IpAddr = "10.10.0.100".parse().unwrap();
        let s: IpAddr = "10.10.0.5".parse().unwrap();
        let (src, dst) = if from_client {
            ((c, 1239), (s, 80))
        } else {
            ((s, 80), (c, 1239))
        };
        Packet {
            t,
            from_client,
            src,
            dst,
            transport: Transport::Tcp,
            len,
            payload: Vec::new(),
            seq_ack: Some((seq, ack)),
        }
    }

    #[test]
    fn a_busy_client_counts_ack_to_ack_and_an_idle_one_from_the_segments_arrival() {
        const MSS: u32 = 1460;
        let mut p = Vec::new();
        // Ten segments at once (the server's first flight), then the client's ACKs of
        // every second one 0.2 ms apart: busy throughout, 0.1 ms a segment.
        for k in 0..10 {
            p.push(seg(1.0 + 1e-5 * f64::from(k), false, k * MSS, 1, 1460));
        }
        for k in 1..=5 {
            p.push(seg(1.0 + 0.0002 * f64::from(k), true, 1, 2 * k * MSS, 0));
        }
        let got = per_segment(&p).expect("acknowledged");
        assert!((got - 0.0001).abs() < 1e-9, "{got}");
        // Later two more, 10 ms after: the client was idle; 0.3 ms for both from the
        // first one's arrival.
        p.push(seg(1.011, false, 10 * MSS, 1, 1460));
        p.push(seg(1.011_01, false, 11 * MSS, 1, 1460));
        p.push(seg(1.0113, true, 1, 12 * MSS, 0));
        let got = per_segment(&p).expect("acknowledged");
        assert!((got - 0.0013 / 12.0).abs() < 1e-9, "{got}");
        // A duplicate ACK acknowledges nothing new; one 0.2 s later (delayed) is left out.
        p.push(seg(1.012, true, 1, 12 * MSS, 0));
        p.push(seg(1.02, false, 12 * MSS, 1, 1460));
        p.push(seg(1.22, true, 1, 13 * MSS, 0));
        let again = per_segment(&p).expect("acknowledged");
        assert!((again - got).abs() < 1e-12, "{again} {got}");
    }

    #[test]
    fn sequence_numbers_wrap_and_other_packets_are_not_segments() {
        let start = u32::MAX - 100;
        let mut p = vec![
            seg(0.0, false, start, 1, 1460),
            seg(0.0005, true, 1, start.wrapping_add(1460), 0),
        ];
        let mut udp = seg(0.0001, false, 0, 0, 1000);
        udp.transport = Transport::Udp;
        udp.seq_ack = None;
        p.push(udp);
        assert!((per_segment(&p).unwrap() - 0.0005).abs() < 1e-12);
        assert_eq!(per_segment(&p[..1]), None);
    }
}
