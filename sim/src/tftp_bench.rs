//! `pxelab bench tftp --mode sim`: the simulator's prediction of one TFTP transfer, the
//! responder's TFTP server (`engine::tftp::server`) against the engine's client over
//! one segment with the simulator's link model (`link::LinkModel`: each side's link
//! serialises what it sends, the switch port to the receiver serialises it again, then
//! the one-way delay; a datagram over the 1500-byte MTU goes as IPv4 fragments, frame by
//! frame; loss per packet from a seeded generator). Virtual time: a point
//! costs milliseconds of wall time whatever it predicts.

use crate::content::Synthetic;
use crate::link::{DelayQueue, LinkModel, Port};
use pxelab_engine::tftp::client::{ClientConfig, ClientStatus, ClientTransfer};
use pxelab_engine::tftp::packet::Packet;
use pxelab_engine::tftp::server::{FileSource, ServerConfig, Transfer};
use pxelab_engine::Instant;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::sync::Arc;
use std::time::Duration;

/// One point of the matrix.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Point {
    pub block_size: u16,
    pub window_size: u16,
    pub link: LinkModel,
    pub size: u64,
}

/// What the simulator predicts for a point.
#[derive(Clone, Debug, PartialEq)]
pub struct Prediction {
    /// Seconds from the read request to the last block, `None` if the transfer failed.
    pub seconds: Option<f64>,
    pub block_size: usize,
    pub window_size: u64,
    /// The client's timeouts (each resent its last ACK or the request).
    pub timeouts: u64,
    /// The server's timeouts that resent the OACK or a window.
    pub server_timeouts: u64,
    /// Instants at which both the client's and the server's timers fired.
    pub coincident_timeouts: u64,
    pub failure: Option<String>,
}

/// The theoretical bound of a point: `size / min(rate, window × block / RTT)`, RTT
/// being twice the one-way delay (the rate alone when there is no delay).
pub fn bound_seconds(p: &Point) -> f64 {
    let bits = p.size as f64 * 8.0;
    let rate = p.link.rate_bps as f64;
    let rtt = 2.0 * p.link.delay.as_secs_f64();
    let window_rate = if rtt > 0.0 {
        f64::from(p.window_size) * f64::from(p.block_size) * 8.0 / rtt
    } else {
        f64::INFINITY
    };
    bits / rate.min(window_rate)
}

/// A tighter bound for a window protocol that waits for each window's ACK (RFC 7440):
/// every window costs a round trip, and every block its own line time (its frames,
/// headers and IPv4 fragments included), so `windows × RTT + blocks × line time`.
/// [`bound_seconds`] leaves the line time of a window out, which no stop-and-wait
/// sender can: at 8192/16 on 1 Gbit/s with a 2 ms RTT a window is 1.05 ms on the wire.
pub fn window_bound_seconds(p: &Point) -> f64 {
    let block = u64::from(p.block_size.max(1));
    let blocks = p.size / block + 1;
    let windows = blocks.div_ceil(u64::from(p.window_size.max(1)));
    let rtt = 2.0 * p.link.delay.as_secs_f64();
    let full = p.link.tx_time(p.block_size as usize + 4).as_secs_f64();
    windows as f64 * rtt + blocks as f64 * full
}

/// One side's lines: its own link to the switch, and the switch port's link to it.
#[derive(Default)]
struct Side {
    egress: Port<Instant>,
    ingress: Port<Instant>,
}

/// The time each host takes from a datagram's arrival to its answer leaving: its
/// process waking up, the system calls, and in the lab the userspace switch's own
/// forwarding, which a real switch does in microseconds. Zero by default; `pxelab
/// bench tftp --mode both` measures it per point from loss-free lab transfers
/// ([`turnaround_from`]), so that a lossy point compares the loss handling alone.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Hosts {
    pub turnaround: Duration,
}

/// The round trips of a loss-free transfer of `p`: the OACK's, then one per window.
pub fn round_trips(p: &Point) -> u64 {
    let blocks = p.size / u64::from(p.block_size.max(1)) + 1;
    1 + blocks.div_ceil(u64::from(p.window_size.max(1)))
}

/// Each host's turnaround that explains a loss-free lab transfer of `p` taking
/// `lab_seconds`: the time beyond the simulator's plain prediction, spread over the
/// answers on the transfer's path (two per round trip, less the request, which
/// answers nothing). Zero when the lab was as fast or faster.
pub fn turnaround_from(p: &Point, lab_seconds: f64) -> Duration {
    let clean = Point {
        link: LinkModel {
            loss: 0.0,
            ..p.link
        },
        ..*p
    };
    let sim = predict(&clean, 0).seconds.unwrap_or(lab_seconds);
    let excess = (lab_seconds - sim).max(0.0);
    Duration::from_secs_f64(excess / (2 * round_trips(p) - 1) as f64)
}

/// Predicts one transfer. `seed` drives the loss draws.
pub fn predict(p: &Point, seed: u64) -> Prediction {
    predict_with(p, seed, &Hosts::default())
}

/// Predicts one transfer with the hosts' turnaround: every answer to a datagram leaves
/// `hosts.turnaround` after the datagram arrived (resends on a timer leave at once).
pub fn predict_with(p: &Point, seed: u64, hosts: &Hosts) -> Prediction {
    let turn = hosts.turnaround;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let path = "smsimages/bench/boot.bench.wim";
    let file: Arc<dyn FileSource> = Arc::new(Synthetic::new(path, p.size));
    let cfg = ServerConfig {
        caps: pxelab_engine::policy::TftpCaps {
            block_size: p.block_size,
            window_size: p.window_size,
        },
        ..ServerConfig::default()
    };
    let client_cfg = ClientConfig {
        options: vec![
            ("blksize".into(), p.block_size.to_string()),
            ("windowsize".into(), p.window_size.to_string()),
            ("tsize".into(), "0".into()),
        ],
        timeout: Duration::from_secs(1),
        max_retries: 8,
        verify: false,
        keep: false,
    };
    let t0 = Instant::from_nanos(0);
    // Datagrams in flight: (to the client?, payload).
    let mut queue: DelayQueue<Instant, (bool, Vec<u8>)> = DelayQueue::new();
    let (mut client_side, mut server_side) = (Side::default(), Side::default());
    let mut send = |now: Instant,
                    to_client: bool,
                    payload: Vec<u8>,
                    q: &mut DelayQueue<Instant, (bool, Vec<u8>)>,
                    rng: &mut ChaCha8Rng| {
        let (from, to) = if to_client {
            (&mut server_side, &mut client_side)
        } else {
            (&mut client_side, &mut server_side)
        };
        let tx = p.link.tx_time(payload.len());
        let start = from.egress.transmit(now, tx);
        if p.link.loss > 0.0 && rng.random::<f64>() < p.link.datagram_loss(payload.len()) {
            return;
        }
        // The switch sends each frame on once it is in: a fragmented datagram's
        // first frame is in after its own line time.
        let s = to
            .ingress
            .transmit(start + p.link.first_frame_time(payload.len()), tx);
        q.push(s + tx + p.link.delay, (to_client, payload));
    };
    let mut out = Vec::new();
    let mut client = ClientTransfer::start(t0, path, &client_cfg, &mut out);
    for pl in out.drain(..) {
        send(t0, false, pl, &mut queue, &mut rng);
    }
    let mut server: Option<Transfer> = None;
    let mut now = t0;
    let mut coincident = 0;
    loop {
        match client.status() {
            ClientStatus::Active => {}
            ClientStatus::Done { .. } => {
                let st = client.stats();
                return Prediction {
                    seconds: Some(now.as_nanos() as f64 / 1e9),
                    block_size: st.block_size,
                    window_size: st.window_size,
                    timeouts: st.timeouts,
                    server_timeouts: server.as_ref().map_or(0, Transfer::timeouts),
                    coincident_timeouts: coincident,
                    failure: None,
                };
            }
            ClientStatus::Failed(f) => {
                let st = client.stats();
                return Prediction {
                    seconds: None,
                    block_size: st.block_size,
                    window_size: st.window_size,
                    timeouts: st.timeouts,
                    server_timeouts: server.as_ref().map_or(0, Transfer::timeouts),
                    coincident_timeouts: coincident,
                    failure: Some(f.message.clone()),
                };
            }
        }
        let next_packet = queue.peek_time();
        let next_timer = [
            client.poll_timeout(),
            server.as_ref().and_then(|s| s.poll_timeout()),
        ]
        .into_iter()
        .flatten()
        .min();
        let Some(at) = [next_packet, next_timer].into_iter().flatten().min() else {
            return Prediction {
                seconds: None,
                block_size: 0,
                window_size: 0,
                timeouts: 0,
                server_timeouts: 0,
                coincident_timeouts: coincident,
                failure: Some("stalled".into()),
            };
        };
        now = at;
        if next_packet == Some(at) {
            let (_, (to_client, payload)) = queue.pop().expect("peeked");
            if to_client {
                client.handle_packet(now, 69, &payload, &mut out);
                for pl in out.drain(..) {
                    send(now + turn, false, pl, &mut queue, &mut rng);
                }
            } else if let Some(s) = server.as_mut() {
                s.handle_packet(now, &payload, &mut out);
                for pl in out.drain(..) {
                    send(now + turn, true, pl, &mut queue, &mut rng);
                }
            } else if let Ok(Packet::Rrq(req)) = Packet::parse(&payload) {
                server = Some(Transfer::start(now, &req, file.clone(), &cfg, &mut out));
                for pl in out.drain(..) {
                    send(now + turn, true, pl, &mut queue, &mut rng);
                }
            }
            continue;
        }
        let server_due = server.as_ref().and_then(Transfer::poll_timeout) == Some(at);
        if client.poll_timeout() == Some(at) {
            coincident += u64::from(server_due);
            client.handle_timeout(now, &mut out);
            for pl in out.drain(..) {
                send(now, false, pl, &mut queue, &mut rng);
            }
        }
        if let Some(s) = server.as_mut() {
            if s.poll_timeout() == Some(at) {
                s.handle_timeout(now, &mut out);
                for pl in out.drain(..) {
                    send(now, true, pl, &mut queue, &mut rng);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_bound_is_tighter_than_the_bound_and_the_simulator_never_beats_it() {
        for (block, window, rate, delay) in [
            (1432, 1, 1_000_000_000, 1),
            (1432, 16, 1_000_000_000, 1),
            (8192, 16, 1_000_000_000, 1),
            (8192, 4, 100_000_000, 2),
            (4096, 8, 10_000_000, 5),
        ] {
            let p = point(block, window, rate, delay, 2 << 20);
            let (b, w) = (bound_seconds(&p), window_bound_seconds(&p));
            assert!(
                w >= b,
                "{block}/{window}: window bound {w} below the bound {b}"
            );
            let sim = predict(&p, 1).seconds.expect("no loss: it finishes");
            assert!(
                sim >= w,
                "{block}/{window}: the simulator ({sim} s) beat {w} s"
            );
        }
        // 8192/16 at 1 Gbit/s, 1 ms: a window's line time (about 1.1 ms) is half the
        // round trip, which the plain bound leaves out.
        let p = point(8192, 16, 1_000_000_000, 1, 16 << 20);
        assert!(window_bound_seconds(&p) > 1.4 * bound_seconds(&p));
    }

    fn point(block: u16, window: u16, rate: u64, delay_ms: u64, size: u64) -> Point {
        Point {
            block_size: block,
            window_size: window,
            link: LinkModel {
                rate_bps: rate,
                delay: Duration::from_millis(delay_ms),
                loss: 0.0,
            },
            size,
        }
    }

    #[test]
    fn large_blocks_go_as_fragments_and_pipeline_through_the_switch() {
        // 8192 + 8 bytes of UDP in 1480-byte pieces: 6 frames, the last of 800 bytes.
        let frames: Vec<usize> = LinkModel::frames(8192 + 4).collect();
        assert_eq!(frames.len(), 6);
        assert_eq!(frames[0], 1514);
        assert_eq!(frames.iter().map(|f| f - 34).sum::<usize>(), 8192 + 4 + 8);
        assert_eq!(LinkModel::frames(1432 + 4).count(), 1);
        let link = LinkModel {
            rate_bps: 10_000_000,
            delay: Duration::ZERO,
            loss: 0.1,
        };
        assert!(link.tx_time(8196) > link.tx_time(8196 - 1470) + link.first_frame_time(8196) / 2);
        assert!((link.datagram_loss(8196) - (1.0 - 0.9f64.powi(6))).abs() < 1e-12);
        assert!((link.datagram_loss(516) - 0.1).abs() < 1e-12);
        // Window 1 at 10 Mbit: one block costs about its line time once plus one
        // frame's (the switch forwards frame by frame), not twice its line time.
        let p = point(8192, 1, 10_000_000, 0, 1 << 20);
        let per_block = predict(&p, 0).seconds.unwrap() / 128.0;
        let tx = link.tx_time(8196).as_secs_f64();
        assert!(
            per_block < tx * 1.35 && per_block > tx,
            "{per_block} vs {tx}"
        );
    }

    #[test]
    fn lock_step_on_a_slow_round_trip_is_window_bound() {
        // 4 MiB in 4096-byte blocks, one per 20 ms round trip: 1025 round trips.
        let p = point(4096, 1, 1_000_000_000, 10, 4 << 20);
        let r = predict(&p, 0);
        let s = r.seconds.expect("completes");
        let bound = bound_seconds(&p);
        assert!((20.0..21.5).contains(&s), "{s}");
        assert!((bound..bound * 1.05).contains(&s), "{s} vs bound {bound}");
        assert_eq!((r.block_size, r.window_size), (4096, 1));
    }

    #[test]
    fn a_wider_window_divides_the_time() {
        let one = predict(&point(4096, 1, 1_000_000_000, 10, 4 << 20), 0)
            .seconds
            .unwrap();
        let eight = predict(&point(4096, 8, 1_000_000_000, 10, 4 << 20), 0)
            .seconds
            .unwrap();
        assert!(one / eight > 7.0 && one / eight < 8.5, "{one} / {eight}");
    }

    #[test]
    fn without_delay_the_rate_bounds_it() {
        // 16 MiB at 100 Mbit/s: at least 1.34 s of payload. Headers add 5 %, and each
        // window of 4 waits for its ACK behind the switch's store-and-forward (5 line
        // times per 4 blocks): about 1.8 s.
        let p = point(1468, 4, 100_000_000, 0, 16 << 20);
        let s = predict(&p, 0).seconds.unwrap();
        assert!(s >= bound_seconds(&p) && s < bound_seconds(&p) * 1.4, "{s}");
        let wide = predict(&point(1468, 64, 100_000_000, 0, 16 << 20), 0)
            .seconds
            .unwrap();
        assert!(
            wide < bound_seconds(&p) * 1.1,
            "a wide window fills the link: {wide}"
        );
    }

    #[test]
    fn a_turnaround_costs_two_per_round_trip_and_is_recovered_from_the_time() {
        let p = point(1432, 1, 100_000_000, 1, 1 << 20);
        let plain = predict(&p, 0).seconds.unwrap();
        let turnaround = Duration::from_micros(150);
        let slow = predict_with(&p, 0, &Hosts { turnaround }).seconds.unwrap();
        // 733 blocks and the OACK: 734 round trips of two answers each (the client's
        // request is not an answer: one turnaround less).
        let expected = (2 * round_trips(&p) - 1) as f64 * turnaround.as_secs_f64();
        assert!(
            ((slow - plain) - expected).abs() < 1e-6,
            "{} vs {expected}",
            slow - plain
        );
        let back = turnaround_from(&p, slow);
        assert!(
            back.abs_diff(turnaround) < Duration::from_micros(1),
            "{back:?}"
        );
        assert_eq!(turnaround_from(&p, plain * 0.9), Duration::ZERO);
    }

    #[test]
    fn the_server_resends_before_the_client_and_their_timers_never_coincide() {
        // The server's timer (at least 200 ms once a round trip is measured) runs out
        // before the client's 1 s: a lost DATA or ACK costs the server's timeout, and
        // the client's only fires after the server has backed off past it.
        let mut p = point(1432, 1, 100_000_000, 1, 1 << 20);
        p.link.loss = 0.02;
        let (mut client, mut server, mut coincident) = (0, 0, 0);
        for seed in 0..20 {
            let r = predict(&p, seed);
            client += r.timeouts;
            server += r.server_timeouts;
            coincident += r.coincident_timeouts;
        }
        assert!(server > 10 * client, "server {server}, client {client}");
        assert_eq!(coincident, 0);
    }

    #[test]
    fn the_client_waits_out_a_server_backed_off_to_its_cap() {
        // BENCHMARKS.md's lossy point 2 %, 8192/8, 100 Mbit/s, 1 ms, 1 MiB with the
        // lab's 176 µs turnaround: seed 1 lost a window's first block to a server backed
        // off to its 8 s cap, and again in the resend; the client, counting its 1-s
        // timeouts from its last block in order, gave up at the ninth while the server
        // was still resending. It now counts from the server's last DATA (the
        // engine's client), and every seed of the bench's 100 finishes.
        let mut p = point(8192, 8, 100_000_000, 1, 1 << 20);
        p.link.loss = 0.02;
        let hosts = Hosts {
            turnaround: Duration::from_micros(176),
        };
        let r = predict_with(&p, 1, &hosts);
        assert!(r.seconds.is_some(), "{r:?}");
        let failed: Vec<u64> = (0..100)
            .filter(|&seed| predict_with(&p, seed, &hosts).seconds.is_none())
            .collect();
        assert!(failed.is_empty(), "seeds {failed:?} gave up");
    }

    #[test]
    fn loss_costs_timeouts_and_is_seeded() {
        let mut p = point(1432, 4, 1_000_000_000, 1, 2 << 20);
        p.link.loss = 0.01;
        let a = predict(&p, 7);
        assert_eq!(a, predict(&p, 7));
        p.link.loss = 0.0;
        let clean = predict(&p, 7).seconds.unwrap();
        let lossy = a.seconds.expect("completes despite 1 % loss");
        assert!(lossy > clean + 1.0, "timeouts of 1 s: {lossy} vs {clean}");
    }
}
