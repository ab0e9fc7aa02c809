//! The simulator's core on its own: the event queue's order, the link model's
//! serialisation and delay, delivery on a segment, and loss drawn from the seed. Probe
//! hosts stand in for every host kind: the world delivers to them like to any other.

use pxelab_engine::{Instant, Mac};
use pxelab_sim::link::LinkModel;
use pxelab_sim::world::{EvKind, Host, HostId, HostKind, Iface, Segment, World};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

const MBIT: u64 = 1_000_000;

fn world(seed: u64, link: LinkModel) -> World {
    let mut w = World::new(ChaCha8Rng::seed_from_u64(seed));
    w.add_segment(Segment {
        name: "hq".into(),
        net: Ipv4Addr::new(10, 0, 0, 0),
        prefix: 24,
        link,
        ports: Vec::new(),
        capture: None,
        gateway: None,
    });
    w
}

fn probe(w: &mut World, n: u8) -> HostId {
    w.add_host(Host::new(
        &format!("p{n}"),
        HostKind::Probe(Box::default()),
        vec![Iface::new(0, Some(addr(n)), Mac([2, 0, 0, 0, 0, n]))],
    ))
}

fn addr(n: u8) -> Ipv4Addr {
    Ipv4Addr::new(10, 0, 0, n)
}

fn sock(n: u8, port: u16) -> SocketAddrV4 {
    SocketAddrV4::new(addr(n), port)
}

/// Every delivery until the queue is empty: (time, receiving host, payload).
fn drain(w: &mut World) -> Vec<(Instant, HostId, Vec<u8>)> {
    let mut got = Vec::new();
    while let Some(ev) = w.next_event(Instant::from_nanos(u64::MAX)) {
        if let EvKind::Deliver { line, payload, .. } = ev {
            got.push((w.now, w.port_of_line(line).0, payload));
        }
    }
    got
}

fn link(rate_bps: u64, delay: Duration, loss: f64) -> LinkModel {
    LinkModel {
        rate_bps,
        delay,
        loss,
    }
}

#[test]
fn events_run_in_time_order_and_at_equal_times_in_the_order_scheduled() {
    let mut w = world(1, link(MBIT, Duration::ZERO, 0.0));
    let at = |ms: u64| Instant::from_nanos(ms * 1_000_000);
    for (ms, tag) in [(5, 0), (1, 1), (5, 2), (3, 3), (5, 4), (1, 5)] {
        w.schedule(at(ms), EvKind::Script(tag));
    }
    let mut order = Vec::new();
    while let Some(EvKind::Script(tag)) = w.next_event(at(100)) {
        order.push((w.now, tag));
    }
    assert_eq!(
        order,
        vec![
            (at(1), 1),
            (at(1), 5),
            (at(3), 3),
            (at(5), 0),
            (at(5), 2),
            (at(5), 4)
        ]
    );
}

#[test]
fn an_event_past_the_limit_stays_queued() {
    let mut w = world(1, link(MBIT, Duration::ZERO, 0.0));
    w.schedule(Instant::from_nanos(2_000), EvKind::Script(7));
    assert!(w.next_event(Instant::from_nanos(1_000)).is_none());
    assert_eq!(w.now, Instant::ZERO, "time moved without an event");
    assert_eq!(w.peek_time(), Some(Instant::from_nanos(2_000)));
    assert!(matches!(
        w.next_event(Instant::from_nanos(2_000)),
        Some(EvKind::Script(7))
    ));
}

/// A sender's link carries one frame at a time: back-to-back datagrams arrive one line
/// time apart, each after the sender's and the receiver's line time and the delay.
#[test]
fn datagrams_from_one_host_are_serialised_on_its_link_then_delayed() {
    let model = link(10 * MBIT, Duration::from_millis(5), 0.0);
    let mut w = world(1, model);
    let (a, b) = (probe(&mut w, 1), probe(&mut w, 2));
    for k in 0..3u8 {
        w.send(a, 0, sock(1, 1000), sock(2, 2000), vec![k; 1000]);
    }
    let got = drain(&mut w);
    let tx = model.tx_time(1000);
    assert_eq!(got.len(), 3);
    for (k, (at, host, payload)) in got.iter().enumerate() {
        assert_eq!((*host, payload[0]), (b, k as u8), "order kept");
        // Sent at k·tx, in the switch after tx, out to b after another tx (b's port is
        // free by then for every datagram but the first's wait), then the delay.
        let want = Instant::ZERO + tx * (k as u32 + 2) + model.delay;
        assert_eq!(*at, want, "datagram {k}");
    }
}

#[test]
fn a_large_datagram_takes_the_line_time_of_all_its_fragments() {
    let model = link(100 * MBIT, Duration::ZERO, 0.0);
    let one = model.tx_time(1400);
    let frags: Vec<usize> = LinkModel::frames(8192).collect();
    assert_eq!(frags.len(), 6, "8 KiB over a 1500-byte MTU");
    assert_eq!(
        model.tx_time(8192),
        frags.iter().map(|f| model.frame_time(*f)).sum::<Duration>()
    );
    assert!(model.tx_time(8192) > one * 5);
    // It starts on towards the receiver once its first fragment is in.
    assert_eq!(model.first_frame_time(8192), model.frame_time(frags[0]));
}

#[test]
fn a_broadcast_reaches_every_other_port_and_a_unicast_only_its_owner() {
    let mut w = world(1, link(MBIT, Duration::ZERO, 0.0));
    let hosts: Vec<HostId> = (1..=4).map(|n| probe(&mut w, n)).collect();
    w.send(
        hosts[0],
        0,
        sock(1, 1000),
        SocketAddrV4::new(Ipv4Addr::BROADCAST, 67),
        b"hello".to_vec(),
    );
    let mut to: Vec<HostId> = drain(&mut w).into_iter().map(|(_, h, _)| h).collect();
    to.sort();
    assert_eq!(to, hosts[1..].to_vec(), "never back to the sender");
    w.send(hosts[0], 0, sock(1, 1000), sock(3, 69), b"x".to_vec());
    let got = drain(&mut w);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].1, hosts[2]);
    // Nobody holds 10.0.0.9: the datagram is counted lost, not delivered.
    let lost = w.stats.packets_lost;
    w.send(hosts[0], 0, sock(1, 1000), sock(9, 69), b"x".to_vec());
    assert!(drain(&mut w).is_empty());
    assert_eq!(w.stats.packets_lost, lost + 1);
}

#[test]
fn a_host_that_is_down_sends_nothing() {
    let mut w = world(1, link(MBIT, Duration::ZERO, 0.0));
    let (a, _) = (probe(&mut w, 1), probe(&mut w, 2));
    w.take_down(a);
    w.send(a, 0, sock(1, 1000), sock(2, 69), b"x".to_vec());
    assert!(drain(&mut w).is_empty());
    assert_eq!(w.stats.packets_sent, 0);
}

/// Which of 2,000 datagrams arrive at 10 % loss, for a seed.
fn survivors(seed: u64) -> Vec<u16> {
    let mut w = world(seed, link(1_000 * MBIT, Duration::ZERO, 0.1));
    let (a, _) = (probe(&mut w, 1), probe(&mut w, 2));
    for k in 0..2000u16 {
        w.send(a, 0, sock(1, 1000), sock(2, 69), k.to_be_bytes().to_vec());
    }
    drain(&mut w)
        .into_iter()
        .map(|(_, _, p)| u16::from_be_bytes([p[0], p[1]]))
        .collect()
}

#[test]
fn loss_is_drawn_from_the_seed() {
    let (a, b, c) = (survivors(7), survivors(7), survivors(8));
    assert_eq!(a, b, "the same seed loses the same datagrams");
    assert_ne!(a, c, "another seed loses others");
    // About 10 % lost (binomial, n = 2000: 4 standard deviations is ±54).
    let lost = 2000 - a.len();
    assert!((146..=254).contains(&lost), "{lost} of 2000 lost at 10 %");
}

#[test]
fn a_fragmented_datagram_is_lost_when_any_of_its_frames_is() {
    let model = link(MBIT, Duration::ZERO, 0.01);
    let n = LinkModel::frames(8192).count() as i32;
    let want = 1.0 - 0.99f64.powi(n);
    assert!((model.datagram_loss(8192) - want).abs() < 1e-12);
    assert!((model.datagram_loss(100) - 0.01).abs() < 1e-12);
}
