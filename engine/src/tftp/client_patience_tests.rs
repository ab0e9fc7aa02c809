//! The client's give-up against the server's backoff: the engine's client (1 s timeout,
//! 8 retries, as the bench's) and server (`rto.rs`, backing off up to 8 s) over a link
//! 1 ms each way that drops chosen DATA blocks, in virtual time.

use super::client::{ClientConfig, ClientStatus, ClientTransfer};
use super::packet::Packet;
use super::server::{FileSource, ServerConfig, Transfer};
use crate::policy::TftpCaps;
use crate::time::Instant;
use std::sync::Arc;
use std::time::Duration;

const BLOCK: u16 = 8192;
const WINDOW: u16 = 8;

/// The DATA block a datagram carries, if it is one.
fn data_block(p: &[u8]) -> Option<u16> {
    match Packet::parse(p) {
        Ok(Packet::Data { block, .. }) => Some(block),
        _ => None,
    }
}

/// Transfers `blocks` full blocks and a short one; `lost(block, copy)` says whether the
/// `copy`-th sending (from 0) of DATA block `block` is lost. The client's end, when it
/// ended, and when the last DATA reached it.
fn transfer(blocks: u64, lost: impl Fn(u16, u32) -> bool) -> (ClientStatus, f64, f64) {
    let size = blocks * u64::from(BLOCK) + 100;
    let file: Arc<dyn FileSource> = Arc::new(vec![7u8; size as usize]);
    let scfg = ServerConfig {
        caps: TftpCaps {
            block_size: BLOCK,
            window_size: WINDOW,
        },
        ..ServerConfig::default()
    };
    let ccfg = ClientConfig {
        options: vec![
            ("blksize".into(), BLOCK.to_string()),
            ("windowsize".into(), WINDOW.to_string()),
        ],
        timeout: Duration::from_secs(1),
        max_retries: 8,
        verify: false,
        keep: false,
    };
    let one_way = Duration::from_millis(1);
    let mut now = Instant::ZERO;
    let mut out = Vec::new();
    let mut client = ClientTransfer::start(now, "f", &ccfg, &mut out);
    let Ok(Packet::Rrq(rrq)) = Packet::parse(&out[0]) else {
        panic!("a read request")
    };
    let mut sout = Vec::new();
    let mut server = Transfer::start(now + one_way, &rrq, file, &scfg, &mut sout);
    let mut copies = std::collections::HashMap::<u16, u32>::new();
    // In flight: (arrival, to the client?, datagram), in sending order.
    let mut flight: Vec<(Instant, bool, Vec<u8>)> = Vec::new();
    let mut send = |flight: &mut Vec<(Instant, bool, Vec<u8>)>,
                    at: Instant,
                    to_client: bool,
                    sent: &mut Vec<Vec<u8>>| {
        for p in sent.drain(..) {
            if let Some(b) = data_block(&p).filter(|_| to_client) {
                let n = copies.entry(b).or_insert(0);
                *n += 1;
                if lost(b, *n - 1) {
                    continue;
                }
            }
            flight.push((at + one_way, to_client, p));
        }
    };
    send(&mut flight, now + one_way, true, &mut sout);
    let mut last_data = 0.0;
    while client.status() == &ClientStatus::Active {
        let due = [
            flight.first().map(|f| f.0),
            client.poll_timeout(),
            server.poll_timeout(),
        ];
        let Some(t) = due.into_iter().flatten().min() else {
            break;
        };
        now = t;
        let mut o = Vec::new();
        if due[0] == Some(t) {
            let (_, to_client, p) = flight.remove(0);
            if to_client {
                if data_block(&p).is_some() {
                    last_data = now.as_nanos() as f64 / 1e9;
                }
                client.handle_packet(now, 6000, &p, &mut o);
                send(&mut flight, now, false, &mut o);
            } else {
                server.handle_packet(now, &p, &mut o);
                send(&mut flight, now, true, &mut o);
            }
        } else if due[1] == Some(t) {
            client.handle_timeout(now, &mut o);
            send(&mut flight, now, false, &mut o);
        } else {
            server.handle_timeout(now, &mut o);
            send(&mut flight, now, true, &mut o);
        }
    }
    let end = now.as_nanos() as f64 / 1e9;
    (client.status().clone(), end, last_data)
}

#[test]
fn the_client_outlasts_a_server_that_backed_off_over_a_block_lost_again_and_again() {
    // The second window's first block (9) is lost six times in a row. The client gets
    // 10 to 16 each time and acknowledges 8 (once), which the server does not count
    // (the previous window's ACK, R-TFTP-4); the server resends the window after its
    // backed-off timeouts, 0.2, 0.4, 0.8, 1.6, 3.2 and 6.4 s, and block 9 gets through
    // at 12.6 s. A client that counted its 1-s timeouts from its last block in order
    // gave up at its ninth, about 9 s in, while the server was still resending.
    let (status, end, _) = transfer(3 * u64::from(WINDOW), |b, copy| b == 9 && copy < 6);
    assert!(
        matches!(status, ClientStatus::Done { .. }),
        "{status:?} at {end:.3} s"
    );
    assert!(
        end > 12.6,
        "the seventh copy of block 9 came at 12.6 s: {end:.3}"
    );
}

#[test]
fn the_servers_silence_still_ends_the_transfer_nine_timeouts_after_its_last_data() {
    // Everything from block 9 on is lost: the server's window resends stop reaching the
    // client, which gives up at its ninth 1-s timeout after the last DATA it got.
    let (status, end, last_data) = transfer(3 * u64::from(WINDOW), |b, _| b >= 9);
    assert!(
        matches!(&status, ClientStatus::Failed(f) if f.message.contains("timed out")),
        "{status:?}"
    );
    let patience = end - last_data;
    assert!(
        (8.999..9.001).contains(&patience),
        "{patience:.3} s after the last DATA"
    );
}
