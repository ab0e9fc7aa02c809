use super::client::{ClientConfig, ClientStatus, ClientTransfer};
use super::packet::{self, Packet, Request};
use super::server::{FileSource, Pooled, ServerConfig, Transfer, TransferStatus};
use crate::policy::TftpCaps;
use crate::time::Instant;
use proptest::prelude::*;
use std::sync::Arc;
use std::time::Duration;

fn file(n: usize) -> Arc<dyn FileSource> {
    Arc::new((0..n).map(|i| (i * 7 + i / 251) as u8).collect::<Vec<u8>>())
}

fn req<'a>(opts: &[(&str, &str)]) -> Request<'a> {
    Request {
        filename: b"f",
        mode: "octet".into(),
        options: opts
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    }
}

fn cfg(block: u16, window: u16) -> ServerConfig {
    ServerConfig {
        caps: TftpCaps {
            block_size: block,
            window_size: window,
        },
        ..ServerConfig::default()
    }
}

fn ack(b: u16) -> Vec<u8> {
    let mut v = Vec::new();
    packet::encode_ack(&mut v, b);
    v
}

fn blocks(out: &[Vec<u8>]) -> Vec<u16> {
    out.iter()
        .filter_map(|p| match Packet::parse(p) {
            Ok(Packet::Data { block, .. }) => Some(block),
            _ => None,
        })
        .collect()
}

#[test]
fn r_tftp_2_oack_capped_unknown_left_out_no_data_before_ack0() {
    let mut out = Vec::new();
    let r = req(&[
        ("blksize", "8192"),
        ("windowsize", "16"),
        ("tsize", "0"),
        ("multicast", "x"),
        ("timeout", "3"),
    ]);
    let t = Transfer::start(Instant::ZERO, &r, file(100_000), &cfg(4096, 4), &mut out);
    assert_eq!(out.len(), 1, "only the OACK before ACK 0");
    let Packet::Oack { options } = Packet::parse(&out[0]).unwrap() else {
        panic!("not an OACK")
    };
    let o: Vec<(&str, &str)> = options
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        o,
        [
            ("blksize", "4096"),
            ("windowsize", "4"),
            ("tsize", "100000"),
            ("timeout", "3")
        ]
    );
    assert_eq!(t.block_size(), 4096);
    let mut t = t;
    out.clear();
    t.handle_packet(Instant::ZERO, &ack(0), &mut out);
    assert_eq!(blocks(&out), [1, 2, 3, 4]);
}

#[test]
fn r_tftp_2_invalid_values_are_ignored() {
    let mut out = Vec::new();
    let r = req(&[("blksize", "7"), ("windowsize", "0"), ("tsize", "-5")]);
    let _ = Transfer::start(Instant::ZERO, &r, file(10), &cfg(4096, 4), &mut out);
    // Nothing valid was asked: no OACK, data in the RFC 1350 default block size.
    assert_eq!(blocks(&out), [1]);
    out.clear();
    let r = req(&[
        ("blksize", "65465"),
        ("tsize", "0"),
        ("windowsize", "65536"),
    ]);
    let _ = Transfer::start(Instant::ZERO, &r, file(10), &cfg(4096, 4), &mut out);
    let Packet::Oack { options } = Packet::parse(&out[0]).unwrap() else {
        panic!()
    };
    assert_eq!(options, vec![("tsize".to_string(), "10".to_string())]);
}

#[test]
fn no_options_means_data_at_once_in_512_byte_blocks() {
    let mut out = Vec::new();
    let t = Transfer::start(
        Instant::ZERO,
        &req(&[]),
        file(1000),
        &cfg(4096, 8),
        &mut out,
    );
    assert_eq!(blocks(&out), [1]);
    assert_eq!(t.block_size(), 512);
    assert_eq!(out[0].len(), 4 + 512);
}

#[test]
fn r_tftp_4_duplicate_ack_sends_no_second_window() {
    let mut out = Vec::new();
    let mut t = Transfer::start(
        Instant::ZERO,
        &req(&[("blksize", "512"), ("windowsize", "4")]),
        file(512 * 20),
        &cfg(512, 4),
        &mut out,
    );
    out.clear();
    t.handle_packet(Instant::ZERO, &ack(0), &mut out);
    assert_eq!(blocks(&out), [1, 2, 3, 4]);
    out.clear();
    t.handle_packet(Instant::ZERO, &ack(4), &mut out);
    assert_eq!(blocks(&out), [5, 6, 7, 8]);
    out.clear();
    // The same ACK again (delayed duplicate): nothing.
    t.handle_packet(Instant::ZERO, &ack(4), &mut out);
    t.handle_packet(Instant::ZERO, &ack(2), &mut out);
    t.handle_packet(Instant::ZERO, &ack(0), &mut out);
    assert!(out.is_empty(), "duplicate ACK caused {:?}", blocks(&out));
}

#[test]
fn r_tftp_4_partial_ack_and_timeout_resend_from_first_unacked() {
    let mut out = Vec::new();
    let mut t = Transfer::start(
        Instant::ZERO,
        &req(&[("blksize", "512"), ("windowsize", "4")]),
        file(512 * 20),
        &cfg(512, 4),
        &mut out,
    );
    t.handle_packet(Instant::ZERO, &ack(0), &mut out);
    out.clear();
    // The client saw 1, 2 then a gap: it acknowledges 2; the next window starts at 3.
    t.handle_packet(Instant::ZERO, &ack(2), &mut out);
    assert_eq!(blocks(&out), [3, 4, 5, 6]);
    out.clear();
    let later = Instant::ZERO + Duration::from_secs(1);
    t.handle_timeout(later, &mut out);
    assert_eq!(blocks(&out), [3, 4, 5, 6]);
    assert_eq!(t.retransmissions(), 4);
    // One timeout resent the window: the count the daemon logs at the end.
    assert_eq!(t.timeouts(), 1);
    // A timeout that is not due resends nothing and is not counted.
    out.clear();
    t.handle_timeout(later, &mut out);
    assert!(out.is_empty());
    assert_eq!((t.timeouts(), t.retransmissions()), (1, 4));
}

/// A 5000-byte transfer at block size 512, window 1, for a request with `opts`.
fn small(opts: &[(&str, &str)], out: &mut Vec<Vec<u8>>) -> Transfer {
    Transfer::start(Instant::ZERO, &req(opts), file(5000), &cfg(512, 1), out)
}

/// Seconds (to the millisecond) at which a transfer whose client went silent resends,
/// and when it gives up.
fn silent_schedule(t: &mut Transfer, out: &mut Vec<Vec<u8>>) -> (Vec<f64>, f64) {
    let mut resends = Vec::new();
    loop {
        let now = t.poll_timeout().expect("a timer while active");
        out.clear();
        t.handle_timeout(now, out);
        let s = (now.as_nanos() as f64 / 1e6).round() / 1e3;
        if t.status() != &TransferStatus::Active {
            return (resends, s);
        }
        assert!(!out.is_empty(), "a timeout resends");
        resends.push(s);
    }
}

#[test]
fn r_tftp_4_backs_off_and_gives_up_after_retries_and_patience() {
    // No answer at all (no round trip measured): 1 s, then doubling up to 8 s; given up
    // once 6 resends went out and 30 s passed without progress.
    let mut out = Vec::new();
    let mut t = small(&[], &mut out);
    let (resends, end) = silent_schedule(&mut t, &mut out);
    assert_eq!(resends, [1.0, 3.0, 7.0, 15.0, 23.0, 31.0]);
    assert_eq!(end, 39.0);
    assert!(matches!(t.status(), TransferStatus::Failed(r) if r.contains("39.0 s")));
    assert_eq!(t.poll_timeout(), None);

    // A client 2 ms away answers the OACK, then goes silent: the timeout starts at the
    // 200 ms floor and backs off; patience (30 s since its last ACK) still holds.
    let mut t = small(&[("blksize", "512")], &mut out);
    let at = Instant::ZERO + Duration::from_millis(2);
    t.handle_packet(at, &ack(0), &mut out);
    assert_eq!(t.retransmission_timeout(), Duration::from_millis(200));
    let (resends, end) = silent_schedule(&mut t, &mut out);
    assert_eq!(
        resends,
        [0.202, 0.602, 1.402, 3.002, 6.202, 12.602, 20.602, 28.602]
    );
    assert_eq!(end, 36.602);
}

#[test]
fn r_tftp_4_a_long_client_timeout_still_gets_its_resends() {
    // RFC 2349: the client asked for 40 s; that timeout is used as it is, and the
    // retries count even though 30 s of patience passed at the first.
    let mut out = Vec::new();
    let mut t = small(&[("timeout", "40")], &mut out);
    let (resends, end) = silent_schedule(&mut t, &mut out);
    assert_eq!(resends, [40.0, 80.0, 120.0, 160.0, 200.0, 240.0]);
    assert_eq!(end, 280.0);
    // A 1 s timeout: every second, until 30 s without progress.
    let mut t = small(&[("timeout", "1")], &mut out);
    let (resends, end) = silent_schedule(&mut t, &mut out);
    assert_eq!(resends, (1..=29).map(f64::from).collect::<Vec<_>>());
    assert_eq!(end, 30.0);
}

#[test]
fn karns_rule_no_sample_from_an_answer_to_a_resend() {
    // A 300 ms round trip is measured on the OACK; then block 1 is resent once, and
    // its ACK (which may answer either copy) must not count as a round trip: the
    // backed-off timeout stays until fresh data is answered.
    let ms = Duration::from_millis;
    let mut out = Vec::new();
    let mut t = Transfer::start(
        Instant::ZERO,
        &req(&[("blksize", "512")]),
        file(512 * 10),
        &cfg(512, 1),
        &mut out,
    );
    let t0 = Instant::ZERO + ms(300);
    t.handle_packet(t0, &ack(0), &mut out);
    let measured = t.retransmission_timeout();
    assert_eq!(measured, ms(300 + 4 * 150));
    let resend_at = t.poll_timeout().unwrap();
    t.handle_timeout(resend_at, &mut out);
    let backed_off = t.retransmission_timeout();
    assert_eq!(backed_off, measured * 2);
    // The ACK comes 1 ms after the resend: a 1 ms "round trip" that is not one.
    t.handle_packet(resend_at + ms(1), &ack(1), &mut out);
    assert_eq!(
        t.retransmission_timeout(),
        backed_off,
        "no sample after a resend"
    );
    // Block 2 was sent once; its ACK 300 ms later is a sample again.
    t.handle_packet(resend_at + ms(301), &ack(2), &mut out);
    assert!(t.retransmission_timeout() < backed_off);
    assert!(t.retransmission_timeout() >= ms(300));
}

#[test]
fn r_tftp_5_block_numbers_roll_over_to_zero() {
    // 65536 + 3 blocks of 8 bytes.
    let n = 8 * (65536 + 3);
    let mut out = Vec::new();
    let mut srv = Transfer::start(
        Instant::ZERO,
        &req(&[("blksize", "8")]),
        file(n),
        &cfg(8, 1),
        &mut out,
    );
    let ccfg = ClientConfig {
        options: vec![],
        timeout: Duration::from_secs(1),
        max_retries: 3,
        verify: true,
        keep: false,
    };
    let mut cout = Vec::new();
    let mut cl = ClientTransfer::start(Instant::ZERO, "f", &ccfg, &mut cout);
    let mut seen_zero = false;
    let mut to_client = out;
    for _ in 0..200_000 {
        let mut to_server = Vec::new();
        for p in to_client.drain(..) {
            if let Ok(Packet::Data { block: 0, .. }) = Packet::parse(&p) {
                seen_zero = true;
            }
            cl.handle_packet(Instant::ZERO, 50000, &p, &mut to_server);
        }
        for p in to_server.drain(..) {
            srv.handle_packet(Instant::ZERO, &p, &mut to_client);
        }
        if srv.status() != &TransferStatus::Active {
            break;
        }
    }
    assert!(seen_zero, "block 0 after 65535 expected");
    assert_eq!(srv.status(), &TransferStatus::Done);
    let ClientStatus::Done { bytes, crc32 } = cl.status().clone() else {
        panic!("{:?}", cl.status())
    };
    assert_eq!(bytes, n as u64);
    let mut whole = vec![0u8; n];
    file(n).read_at(0, &mut whole);
    assert_eq!(crc32, Some(crc32fast::hash(&whole)));
}

#[test]
fn client_ignores_other_tids_and_fails_on_error() {
    let ccfg = ClientConfig {
        options: vec![],
        timeout: Duration::from_secs(1),
        max_retries: 1,
        verify: false,
        keep: true,
    };
    let mut out = Vec::new();
    let mut cl = ClientTransfer::start(Instant::ZERO, "f", &ccfg, &mut out);
    let mut d = Vec::new();
    packet::encode_data(&mut d, 1, &[1; 512]);
    cl.handle_packet(Instant::ZERO, 4000, &d, &mut out);
    assert_eq!(cl.server_port(), Some(4000));
    assert_eq!(cl.data().map(<[u8]>::len), Some(512), "kept when asked");
    let no_keep = ClientConfig {
        keep: false,
        ..ccfg.clone()
    };
    let other = ClientTransfer::start(Instant::ZERO, "f", &no_keep, &mut out);
    assert!(other.data().is_none());
    let mut e = Vec::new();
    packet::encode_error(&mut e, 1, "nope");
    cl.handle_packet(Instant::ZERO, 4001, &e, &mut out);
    assert_eq!(cl.status(), &ClientStatus::Active);
    cl.handle_packet(Instant::ZERO, 4000, &e, &mut out);
    assert!(matches!(cl.status(), ClientStatus::Failed(f) if f.code == Some(1)));
}

/// A client and a server joined by a channel that drops, duplicates and reorders,
/// in virtual time. Returns (client status, server, window starts sent per timeout-free
/// stretch were never repeated).
fn run_lossy(
    size: usize,
    blk: u16,
    win: u16,
    seed: u64,
    loss: u32,
    dup: u32,
) -> (ClientStatus, u64, bool) {
    let mut rng = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut next = || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        (rng % 100) as u32
    };
    let data = file(size);
    let scfg = ServerConfig {
        caps: TftpCaps {
            block_size: blk,
            window_size: win,
        },
        max_retries: 50,
        patience: Duration::from_secs(60),
        ..ServerConfig::default()
    };
    let ccfg = ClientConfig {
        options: vec![
            ("blksize".into(), blk.to_string()),
            ("windowsize".into(), win.to_string()),
            ("tsize".into(), "0".into()),
        ],
        timeout: Duration::from_millis(700),
        max_retries: 50,
        verify: true,
        keep: false,
    };
    let mut now = Instant::ZERO;
    let mut cout = Vec::new();
    let mut cl = ClientTransfer::start(now, "f", &ccfg, &mut cout);
    let Packet::Rrq(r) = Packet::parse(&cout[0]).unwrap() else {
        panic!()
    };
    let mut sout = Vec::new();
    let mut srv = Transfer::start(now, &r, data.clone(), &scfg, &mut sout);
    // In flight: (arrival, to_client, payload)
    let mut flight: Vec<(Instant, bool, Vec<u8>)> = Vec::new();
    let send = |flight: &mut Vec<(Instant, bool, Vec<u8>)>,
                now: Instant,
                to_client: bool,
                pkts: &mut Vec<Vec<u8>>,
                rnd: &mut dyn FnMut() -> u32| {
        for p in pkts.drain(..) {
            if rnd() < loss {
                continue;
            }
            let delay = Duration::from_millis(5 + u64::from(rnd() % 20));
            if rnd() < dup {
                flight.push((now + delay + Duration::from_millis(3), to_client, p.clone()));
            }
            flight.push((now + delay, to_client, p));
        }
    };
    send(&mut flight, now, true, &mut sout, &mut next);
    // No duplicated window: between two server timeouts, a window start is sent once.
    let mut starts_since_timeout: Vec<u16> = Vec::new();
    let mut no_dup_window = true;
    for _ in 0..2_000_000 {
        let t_c = cl.poll_timeout();
        let t_s = srv.poll_timeout();
        let t_f = flight.iter().map(|f| f.0).min();
        let Some(t) = [t_c, t_s, t_f].into_iter().flatten().min() else {
            break;
        };
        now = t;
        if t_f == Some(t) {
            let i = flight.iter().position(|f| f.0 == t).unwrap();
            let (_, to_client, p) = flight.remove(i);
            let mut o = Vec::new();
            if to_client {
                cl.handle_packet(now, 6000, &p, &mut o);
                send(&mut flight, now, false, &mut o, &mut next);
            } else {
                srv.handle_packet(now, &p, &mut o);
                if let Some(first) = blocks(&o).first() {
                    if starts_since_timeout.contains(first) && srv.retransmissions() == 0 {
                        no_dup_window = false;
                    }
                    starts_since_timeout.push(*first);
                }
                send(&mut flight, now, true, &mut o, &mut next);
            }
        } else if t_s == Some(t) {
            let mut o = Vec::new();
            srv.handle_timeout(now, &mut o);
            starts_since_timeout.clear();
            send(&mut flight, now, true, &mut o, &mut next);
        } else {
            let mut o = Vec::new();
            cl.handle_timeout(now, &mut o);
            send(&mut flight, now, false, &mut o, &mut next);
        }
        if !matches!(cl.status(), ClientStatus::Active) && flight.is_empty() {
            break;
        }
    }
    let mut whole = vec![0u8; size];
    data.read_at(0, &mut whole);
    let expected = crc32fast::hash(&whole);
    match cl.status().clone() {
        ClientStatus::Done { bytes, crc32 } => {
            assert_eq!(bytes, size as u64);
            assert_eq!(crc32, Some(expected), "content differs");
        }
        other => return (other, srv.retransmissions(), no_dup_window),
    }
    (cl.status().clone(), srv.retransmissions(), no_dup_window)
}

#[test]
fn lossless_channel_transfers_without_retransmission() {
    let (st, re, ok) = run_lossy(100_000, 1468, 4, 1, 0, 0);
    assert!(matches!(st, ClientStatus::Done { .. }));
    assert_eq!(re, 0);
    assert!(ok);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// R-TFTP-4: under loss, duplication and reordering the file arrives byte-identical.
    #[test]
    fn file_arrives_identical_under_loss_and_reordering(
        size in prop_oneof![Just(0usize), Just(512), Just(4096 * 3), 1usize..60_000],
        blk in prop_oneof![Just(8u16), Just(512), Just(1432), Just(1468), Just(4096)],
        win in prop_oneof![Just(1u16), Just(2), Just(4), Just(8), Just(16)],
        seed in any::<u64>(),
        loss in 0u32..15,
        dup in 0u32..10,
    ) {
        let size = if blk == 8 { size.min(4000) } else { size };
        let (st, _, no_dup) = run_lossy(size, blk, win, seed, loss, dup);
        prop_assert!(matches!(st, ClientStatus::Done { .. }), "{:?}", st);
        prop_assert!(no_dup, "a window was sent twice without a timeout");
    }

    /// The parser never panics.
    #[test]
    fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = Packet::parse(&bytes);
        let _ = super::path::normalize(&bytes);
    }
}

#[test]
fn pooled_data_reuses_the_spare_buffers_and_sends_the_same_bytes() {
    let r = req(&[("blksize", "4096"), ("windowsize", "4")]);
    let mut plain = Vec::new();
    let mut t = Transfer::start(Instant::ZERO, &r, file(100_000), &cfg(4096, 4), &mut plain);
    plain.clear();
    t.handle_packet(Instant::ZERO, &ack(0), &mut plain);

    // Spare buffers with stale bytes in them: handed out cleared.
    let mut spare: Vec<Vec<u8>> = (0..2).map(|_| vec![0xee; 8192]).collect();
    let kept: Vec<*const u8> = spare.iter().map(|b| b.as_ptr()).collect();
    let mut pooled = Pooled {
        sent: Vec::new(),
        spare: &mut spare,
        data: None,
    };
    let mut t = Transfer::start(Instant::ZERO, &r, file(100_000), &cfg(4096, 4), &mut pooled);
    pooled.sent.clear();
    t.handle_packet(Instant::ZERO, &ack(0), &mut pooled);
    assert_eq!(pooled.sent, plain, "the same four DATA packets");
    let used: Vec<*const u8> = pooled.sent.iter().map(|b| b.as_ptr()).collect();
    assert!(kept.iter().all(|p| used.contains(p)), "both spares reused");
    assert!(spare.is_empty());
}

/// DATA by reference: the server's sink keeps (file, offset, length) after a bare
/// header, and a client fed those blocks' CRCs (some as bytes) ends where a client fed
/// the bytes does: the same ACKs, the same size and CRC-32.
#[test]
fn data_by_reference_reaches_the_same_acks_and_crc_as_bytes() {
    let n = 4096 * 5 + 123;
    let f = file(n);
    let r = req(&[("blksize", "4096")]);
    let mut spare = Vec::new();
    let mut sink = Pooled {
        sent: Vec::new(),
        spare: &mut spare,
        data: Some(Vec::new()),
    };
    let mut srv = Transfer::start(Instant::ZERO, &r, f.clone(), &cfg(4096, 1), &mut sink);
    let ccfg = ClientConfig {
        options: vec![("blksize".into(), "4096".into())],
        timeout: Duration::from_secs(1),
        max_retries: 3,
        verify: true,
        keep: false,
    };
    let mut cout = Vec::new();
    let mut by_ref = ClientTransfer::start(Instant::ZERO, "f", &ccfg, &mut cout);
    let mut by_bytes = ClientTransfer::start(Instant::ZERO, "f", &ccfg, &mut cout);
    let mut block_no = 0;
    for _ in 0..20 {
        let sent = std::mem::take(&mut sink.sent);
        let data = sink.data.replace(Vec::new()).unwrap();
        assert_eq!(sent.len(), data.len());
        let mut acks_ref = Vec::new();
        let mut acks_bytes = Vec::new();
        for (header, d) in sent.into_iter().zip(data) {
            let Some(d) = d else {
                // The OACK goes whole.
                by_ref.handle_packet(Instant::ZERO, 50000, &header, &mut acks_ref);
                by_bytes.handle_packet(Instant::ZERO, 50000, &header, &mut acks_bytes);
                continue;
            };
            assert_eq!(header.len(), 4, "a bare DATA header");
            assert!(d.is_of(&f));
            let mut whole = header.clone();
            d.append_to(&mut whole);
            by_bytes.handle_packet(Instant::ZERO, 50000, &whole, &mut acks_bytes);
            block_no += 1;
            let block = u16::from_be_bytes([header[2], header[3]]);
            if block_no % 2 == 0 {
                by_ref.handle_packet(Instant::ZERO, 50000, &whole, &mut acks_ref);
            } else {
                let crc = crc32fast::hash(&whole[4..]);
                by_ref.handle_data_crc(Instant::ZERO, 50000, block, d.len, crc, &mut acks_ref);
            }
        }
        assert_eq!(acks_ref, acks_bytes);
        for a in &acks_ref {
            srv.handle_packet(Instant::ZERO, a, &mut sink);
        }
        if srv.status() != &TransferStatus::Active {
            break;
        }
    }
    assert_eq!(srv.status(), &TransferStatus::Done);
    let mut whole = vec![0u8; n];
    f.read_at(0, &mut whole);
    let want = ClientStatus::Done {
        bytes: n as u64,
        crc32: Some(crc32fast::hash(&whole)),
    };
    assert_eq!(by_bytes.status(), &want);
    assert_eq!(by_ref.status(), &want);
}

/// A block given by its CRC is checked as one given as bytes: out of order it is a
/// duplicate answered with the last in-order ACK; longer than the block size it fails.
#[test]
fn a_block_by_crc_out_of_order_or_too_long_is_refused() {
    let ccfg = ClientConfig {
        options: vec![],
        timeout: Duration::from_secs(1),
        max_retries: 3,
        verify: true,
        keep: false,
    };
    let mut out = Vec::new();
    let mut cl = ClientTransfer::start(Instant::ZERO, "f", &ccfg, &mut out);
    out.clear();
    cl.handle_data_crc(Instant::ZERO, 50000, 2, 512, 0, &mut out);
    assert_eq!(out, vec![ack(0)], "block 2 before block 1");
    assert_eq!(cl.stats().duplicates, 1);
    assert_eq!(cl.status(), &ClientStatus::Active);
    cl.handle_data_crc(Instant::ZERO, 50000, 1, 513, 0, &mut out);
    assert!(matches!(cl.status(), ClientStatus::Failed(_)));
}
