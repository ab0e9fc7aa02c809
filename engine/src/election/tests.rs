//! R-ANS-6: rendezvous ranking and membership in virtual time.

use super::*;

fn mac_n(n: u32) -> Mac {
    let b = n.to_be_bytes();
    Mac([0x52, 0x54, b[0], b[1], b[2], b[3]])
}

const PEERS: [&str; 4] = ["peer-a", "peer-b", "peer-c", "peer-d"];

fn winner<'a>(mac: Mac, peers: &[&'a str]) -> &'a str {
    let w: Vec<&str> = peers
        .iter()
        .copied()
        .filter(|p| rank(mac, p, peers.iter().copied()) == 0)
        .collect();
    assert_eq!(w.len(), 1, "exactly one rank-0 peer");
    w[0]
}

#[test]
fn r_ans_6_score_is_pinned() {
    // Golden values: the hash must never change across platforms or releases.
    let m = Mac([0x52, 0x54, 0x00, 0x00, 0x00, 0x01]);
    assert_eq!(score(m, "peer-a"), GOLDEN_A);
    assert_eq!(score(m, ""), GOLDEN_EMPTY);
    assert_eq!(splitmix64_finalize(0), 0);
}

/// Computed independently (Python) from the definition in [`score`].
const GOLDEN_A: u64 = 0x037d_581e_e6af_6abc;
const GOLDEN_EMPTY: u64 = 0x903d_c138_2d29_accd;

#[test]
fn r_ans_6_rank_is_a_permutation() {
    for n in 0..200 {
        let m = mac_n(n);
        let mut ranks: Vec<usize> = PEERS
            .iter()
            .map(|p| rank(m, p, PEERS.iter().copied()))
            .collect();
        ranks.sort();
        assert_eq!(ranks, [0, 1, 2, 3]);
    }
}

#[test]
fn r_ans_6_me_always_counts_and_once() {
    let m = mac_n(7);
    assert_eq!(rank(m, "lonely", std::iter::empty()), 0);
    let with_me = rank(m, "peer-a", PEERS.iter().copied());
    let without_me = rank(
        m,
        "peer-a",
        PEERS.iter().copied().filter(|p| *p != "peer-a"),
    );
    assert_eq!(with_me, without_me);
    let dup = rank(m, "peer-a", PEERS.iter().chain(PEERS.iter()).copied());
    assert_eq!(dup, with_me);
}

#[test]
fn r_ans_6_spreads_clients() {
    let mut counts = [0usize; 4];
    for n in 0..1000 {
        let w = winner(mac_n(n), &PEERS);
        counts[PEERS.iter().position(|p| *p == w).unwrap()] += 1;
    }
    for c in counts {
        assert!((150..=350).contains(&c), "{counts:?}");
    }
}

#[test]
fn r_ans_6_removing_a_peer_moves_only_its_clients() {
    let three = ["peer-a", "peer-b", "peer-d"];
    let mut moved = 0;
    for n in 0..1000 {
        let m = mac_n(n);
        let w4 = winner(m, &PEERS);
        let w3 = winner(m, &three);
        if w4 == "peer-c" {
            moved += 1;
        } else {
            assert_eq!(w3, w4, "client {m} moved though its peer stayed");
        }
    }
    assert!(moved > 0);
}

#[test]
fn r_ans_6_answer_after() {
    let d = Duration::from_secs(1);
    let s = Duration::from_secs(4);
    assert_eq!(answer_after(0, d, s), d);
    assert_eq!(answer_after(1, d, s), Duration::from_secs(5));
    assert_eq!(answer_after(3, Duration::ZERO, s), Duration::from_secs(12));
    assert_eq!(answer_after(usize::MAX, Duration::MAX, s), Duration::MAX);
}

#[test]
fn frames_reject_foreign_datagrams() {
    assert_eq!(open(None, b"PXL"), Err(Rejection::NotOurs));
    assert_eq!(open(None, b"XXXX\x01\x02abc"), Err(Rejection::NotOurs));
    assert_eq!(open(None, b"PXLP\x03\x02abc"), Err(Rejection::NotOurs));
    // A sealed frame at a peer without a key cannot be verified: refused.
    assert_eq!(
        open(None, b"PXLP\x02\x02abc"),
        Err(Rejection::Unauthenticated)
    );
    assert_eq!(
        open(None, &seal(None, KIND_SWIM, b"abc")),
        Ok((KIND_SWIM, &b"abc"[..]))
    );
    let k = PeerKey::new(*b"k").unwrap();
    let sealed = seal(Some(&k), KIND_SWIM, b"abc");
    assert_eq!(sealed.len(), HEADER_LEN + 3 + TAG_LEN);
    assert_eq!(open(Some(&k), &sealed), Ok((KIND_SWIM, &b"abc"[..])));
    // A plain frame at a keyed peer is refused, as is a frame sealed with another key.
    assert_eq!(
        open(Some(&k), &seal(None, KIND_SWIM, b"abc")),
        Err(Rejection::Unauthenticated)
    );
    let other = PeerKey::new(*b"K").unwrap();
    assert_eq!(open(Some(&other), &sealed), Err(Rejection::Unauthenticated));
    assert_eq!(PeerKey::new(Vec::new()), None);
    assert_eq!(format!("{k:?}"), "PeerKey(1 bytes)");
}

// ---- membership in virtual time ----

const LATENCY: Duration = Duration::from_millis(1);

struct Net {
    now: Instant,
    nodes: Vec<Membership>,
    running: Vec<bool>,
    inflight: Vec<(Instant, SocketAddrV4, SocketAddrV4, Vec<u8>)>,
    datagrams: u64,
    sent: u64,
    /// Drop broadcasts (a network where the hello does not get through).
    no_broadcast: bool,
    /// Percentage of datagrams lost, decided once per datagram when it is sent.
    loss_percent: u64,
    lcg: u64,
}

fn ident(i: usize) -> PeerIdentity {
    PeerIdentity {
        name: format!("peer-{i}"),
        addr: SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 1 + i as u8), PEER_PORT),
        images: vec!["PS100001".into()],
        site: "PS1".into(),
    }
}

impl Net {
    fn new(n: usize, seed: u64) -> Net {
        Net::with_keys(vec![None; n], seed)
    }

    /// One peer per key (peer `i` at `ident(i)`).
    fn with_keys(keys: Vec<Option<PeerKey>>, seed: u64) -> Net {
        let n = keys.len();
        let nodes = keys
            .into_iter()
            .enumerate()
            .map(|(i, k)| Membership::new(ident(i), k, seed.wrapping_add(i as u64), Instant::ZERO))
            .collect();
        Net {
            now: Instant::ZERO,
            nodes,
            running: vec![true; n],
            inflight: Vec::new(),
            datagrams: 0,
            sent: 0,
            no_broadcast: false,
            loss_percent: 0,
            lcg: seed,
        }
    }

    fn emit(&mut self, from: usize, out: Vec<(SocketAddrV4, Vec<u8>)>) {
        let src = self.nodes[from].me().addr;
        for (dst, p) in out {
            self.sent += 1;
            self.lcg = self
                .lcg
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            if (self.lcg >> 33) % 100 < self.loss_percent {
                continue;
            }
            self.inflight.push((self.now + LATENCY, src, dst, p));
        }
    }

    /// One step of virtual time: the next delivery or timeout.
    fn step(&mut self) {
        let next_timer = (0..self.nodes.len())
            .filter(|i| self.running[*i])
            .filter_map(|i| self.nodes[i].poll_timeout())
            .min();
        let next_packet = self.inflight.iter().map(|p| p.0).min();
        let next = [next_timer, next_packet]
            .into_iter()
            .flatten()
            .min()
            .unwrap();
        self.now = self.now.max(next);
        let now = self.now;
        let (due, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut self.inflight)
            .into_iter()
            .partition(|p| p.0 <= now);
        self.inflight = rest;
        for (_, src, dst, payload) in due {
            for i in 0..self.nodes.len() {
                let addr = self.nodes[i].me().addr;
                let to_me = dst == addr || (dst.ip().is_broadcast() && addr != src);
                if !to_me || !self.running[i] || (self.no_broadcast && dst.ip().is_broadcast()) {
                    continue;
                }
                self.datagrams += 1;
                let mut out = Vec::new();
                self.nodes[i].handle_datagram(now, src, &payload, &mut out);
                self.emit(i, out);
            }
        }
        for i in 0..self.nodes.len() {
            if self.running[i] && self.nodes[i].poll_timeout().is_some_and(|t| t <= now) {
                let mut out = Vec::new();
                self.nodes[i].handle_timeout(now, &mut out);
                self.emit(i, out);
            }
        }
    }

    /// Run until `cond` holds; the virtual time it first held, or `None` by `limit`.
    fn run_until(&mut self, limit: Instant, cond: impl Fn(&Net) -> bool) -> Option<Instant> {
        while self.now <= limit {
            if cond(self) {
                return Some(self.now);
            }
            self.step();
        }
        None
    }

    fn live_names(&self, i: usize) -> Vec<String> {
        let mut v: Vec<String> = self.nodes[i].live_peers().map(|p| p.name.clone()).collect();
        v.sort();
        v
    }
}

fn secs(s: u64) -> Instant {
    Instant::ZERO + Duration::from_secs(s)
}

fn converged(net: &Net, running: &[usize]) -> bool {
    running.iter().all(|&i| {
        let want: Vec<String> = running
            .iter()
            .filter(|&&j| j != i)
            .map(|&j| ident(j).name)
            .collect();
        net.live_names(i) == want
    })
}

#[test]
fn r_ans_6_lone_peer_knows_no_one() {
    let mut net = Net::new(1, 1);
    assert!(!net.nodes[0].knows_others());
    assert_eq!(net.run_until(secs(30), |_| false), None);
    assert!(!net.nodes[0].knows_others());
    // It broadcast a hello at once and then every 2 to 2.5 s; nobody received them.
    assert!((12..=16).contains(&net.sent), "{}", net.sent);
    assert_eq!(net.datagrams, 0);
    assert_eq!(
        rank(mac_n(1), "peer-0", net.nodes[0].live_holders("PS100001")),
        0
    );
}

#[test]
fn r_ans_6_membership_converges_and_detects_a_crash() {
    let mut worst_join = Duration::ZERO;
    let mut worst_down = Duration::ZERO;
    let mut best_down = Duration::MAX;
    for seed in 0..20u64 {
        let mut net = Net::new(4, seed * 1000);
        let all = [0, 1, 2, 3];
        let t = net
            .run_until(secs(20), |n| converged(n, &all))
            .expect("4 peers converge within 20 s");
        worst_join = worst_join.max(t - Instant::ZERO);
        // Holders of the image as seen from each peer, for election.
        assert_eq!(net.nodes[0].live_holders("PS100001").count(), 3);
        assert_eq!(net.nodes[0].live_holders("PS1NOPE").count(), 0);
        // Stay converged for a while.
        let later = net.now + Duration::from_secs(30);
        net.run_until(later, |n| !converged(n, &all));
        assert!(
            converged(&net, &all),
            "seed {seed}: a healthy cluster flapped"
        );
        // Crash peer 2: it stops, and its in-flight datagrams are dropped.
        let crash = net.now;
        net.running[2] = false;
        let src2 = ident(2).addr;
        net.inflight.retain(|p| p.1 != src2);
        let t = net
            .run_until(crash + Duration::from_secs(30), |n| {
                converged(n, &[0, 1, 3])
            })
            .expect("crash detected within 30 s");
        worst_down = worst_down.max(t - crash);
        best_down = best_down.min(t - crash);
        let events = net.nodes[0].take_events();
        assert!(
            events.contains(&MembershipEvent::Down(ident(2))),
            "{events:?}"
        );
    }
    eprintln!("worst convergence {worst_join:?}, down detection {best_down:?}..{worst_down:?}");
    assert!(worst_join <= Duration::from_secs(5), "{worst_join:?}");
    assert!(worst_down <= Duration::from_secs(10), "{worst_down:?}");
}

#[test]
fn r_ans_6_restarted_peer_rejoins() {
    let mut net = Net::new(3, 42);
    net.run_until(secs(20), |n| converged(n, &[0, 1, 2]))
        .unwrap();
    net.running[1] = false;
    let t0 = net.now;
    net.run_until(t0 + Duration::from_secs(30), |n| converged(n, &[0, 2]))
        .unwrap();
    // Restart: a fresh Membership with the same identity (generation 0 again).
    let restart = net.now;
    net.nodes[1] = Membership::new(ident(1), None, 7, restart);
    net.running[1] = true;
    let t = net
        .run_until(restart + Duration::from_secs(30), |n| {
            converged(n, &[0, 1, 2])
        })
        .expect("restarted peer rejoins");
    eprintln!("rejoin after restart took {:?}", t - restart);
}

#[test]
fn membership_is_deterministic() {
    let run = || {
        let mut net = Net::new(4, 9);
        net.run_until(secs(15), |_| false);
        (net.datagrams, net.now)
    };
    assert_eq!(run(), run());
}

#[test]
fn r_ans_6_staggered_starts_converge() {
    // Peers power on 3 s apart: the late ones are found through their first hello.
    let mut worst = Duration::ZERO;
    for seed in 0..20u64 {
        let mut net = Net::new(4, seed);
        net.running = vec![true, false, false, false];
        for i in 1..4 {
            let start = secs(3 * i as u64);
            net.run_until(start, |_| false);
            net.nodes[i] = Membership::new(ident(i), None, seed + i as u64, net.now);
            net.running[i] = true;
        }
        let started = net.now;
        let t = net
            .run_until(started + Duration::from_secs(20), |n| {
                converged(n, &[0, 1, 2, 3])
            })
            .expect("converges");
        worst = worst.max(t - started);
    }
    eprintln!("worst convergence after the last start: {worst:?}");
    assert!(worst <= Duration::from_secs(2), "{worst:?}");
}

#[test]
fn r_ans_6_announce_to_without_broadcast() {
    let mut net = Net::new(3, 5);
    net.no_broadcast = true;
    net.run_until(secs(10), |_| false);
    assert!(!net.nodes[0].knows_others());
    let mut out = Vec::new();
    let now = net.now;
    net.nodes[0].announce_to(now, ident(1).addr, &mut out);
    net.emit(0, out);
    let mut out = Vec::new();
    net.nodes[2].announce_to(now, ident(0).addr, &mut out);
    net.emit(2, out);
    let t = net
        .run_until(now + Duration::from_secs(20), |n| converged(n, &[0, 1, 2]))
        .expect("converges through unicast announces");
    eprintln!("unicast join took {:?}", t - now);
    // Names are learned from the replies, not left empty.
    assert!(net.nodes[0].live_peers().all(|p| !p.name.is_empty()));
}

#[test]
fn hello_from_wrong_source_is_rejected() {
    let mut a = Membership::new(ident(0), None, 1, Instant::ZERO);
    let mut b = Membership::new(ident(1), None, 2, Instant::ZERO);
    let mut hello = Vec::new();
    b.handle_timeout(Instant::ZERO, &mut hello);
    assert_eq!(hello.len(), 1);
    let mut out = Vec::new();
    let spoofed = SocketAddrV4::new(Ipv4Addr::new(10, 9, 9, 9), PEER_PORT);
    a.handle_datagram(Instant::ZERO, spoofed, &hello[0].1, &mut out);
    assert!(out.is_empty());
    assert_eq!(a.rejected(), 1);
    a.handle_datagram(Instant::ZERO, ident(1).addr, &hello[0].1, &mut out);
    assert_eq!(out.len(), 1, "an announce to the peer");
    assert_eq!(out[0].0, ident(1).addr);
    // Our own hello echoed back is ignored silently.
    let mut own = Vec::new();
    a.handle_timeout(Instant::ZERO, &mut own);
    let mut out = Vec::new();
    a.handle_datagram(Instant::ZERO, ident(0).addr, &own[0].1, &mut out);
    assert!(out.is_empty());
    assert_eq!(a.rejected(), 1);
    // Not ours.
    a.handle_datagram(Instant::ZERO, ident(1).addr, b"hello", &mut out);
    assert_eq!(a.rejected(), 2);
}

#[test]
fn r_ans_6_no_false_downs_under_loss() {
    for seed in 0..5 {
        no_false_downs(seed, 5);
    }
}

fn no_false_downs(seed: u64, loss_percent: u64) {
    // Seeded loss: SWIM's indirect probes and suspicion keep every healthy peer alive.
    let mut net = Net::new(4, seed);
    net.run_until(secs(20), |n| converged(n, &[0, 1, 2, 3]))
        .unwrap();
    net.loss_percent = loss_percent;
    let start = net.now;
    while net.now < start + Duration::from_secs(120) {
        net.step();
        for i in 0..4 {
            let ev = net.nodes[i].take_events();
            assert!(
                !ev.iter().any(|e| matches!(e, MembershipEvent::Down(_))),
                "peer {i} saw a false down at {:?}: {ev:?}",
                net.now
            );
        }
    }
}

// ---------------------------------------------------------------------------------------
// Authenticated membership (issue 5: rogue peers)
// ---------------------------------------------------------------------------------------

fn key(s: &str) -> Option<PeerKey> {
    PeerKey::new(s.as_bytes())
}

/// A SWIM gossip datagram from `from` telling that `victim` (generation 0) is down, as a
/// host on the segment could build it from the hellos it hears, framed with `frame_key`.
fn forged_down(from: &PeerIdentity, victim: &PeerIdentity, frame_key: Option<&PeerKey>) -> Vec<u8> {
    let node = |p: &PeerIdentity| Node {
        peer: p.clone(),
        generation: 0,
    };
    let mut body = Vec::new();
    let header = foca::Header {
        src: node(from),
        src_incarnation: 0,
        dst: node(&ident(0)),
        message: foca::Message::Gossip,
    };
    Codec::<Node>::encode_header(&mut PostcardCodec, &header, &mut body).unwrap();
    body.extend_from_slice(&1u16.to_be_bytes());
    let down = Member::new(node(victim), 0, foca::State::Down);
    Codec::<Node>::encode_member(&mut PostcardCodec, &down, &mut body).unwrap();
    seal(frame_key, KIND_SWIM, &body)
}

fn rogue_ident() -> PeerIdentity {
    PeerIdentity {
        name: "rogue".into(),
        addr: SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 66), PEER_PORT),
        images: vec!["PS100001".into()],
        site: "PS1".into(),
    }
}

#[test]
fn keyed_peers_converge_and_still_detect_a_crash() {
    let k = key("site PS1 secret");
    let mut net = Net::with_keys(vec![k.clone(), k.clone(), k], 3);
    net.run_until(secs(20), |n| converged(n, &[0, 1, 2]))
        .expect("peers sharing the key converge");
    assert!(net.nodes.iter().all(|n| n.keyed() && n.rejected() == 0));
    let crash = net.now;
    net.running[2] = false;
    net.run_until(crash + Duration::from_secs(10), |n| converged(n, &[0, 1]))
        .expect("the crashed keyed peer is declared down");
}

/// A rogue with no key or a wrong key joins an unkeyed peer set (the attack is real)
/// but not a keyed one.
#[test]
fn a_rogue_without_the_key_cannot_join() {
    let k = key("site PS1 secret");
    for (site_key, rogue_key, joins) in [
        (None, None, true),
        (k.clone(), None, false),
        (k.clone(), key("guessed"), false),
        (k.clone(), k.clone(), true),
    ] {
        let mut net = Net::with_keys(
            vec![site_key.clone(), site_key.clone(), rogue_key.clone()],
            9,
        );
        // Peer 2 is the rogue's host; it claims the name `rogue`.
        net.nodes[2] = Membership::new(rogue_ident(), rogue_key.clone(), 11, Instant::ZERO);
        // The net delivers by node address; the rogue sits at its own.
        net.run_until(secs(30), |_| false);
        for i in 0..2 {
            let names = net.live_names(i);
            assert_eq!(
                names.contains(&"rogue".to_string()),
                joins,
                "site key {site_key:?}, rogue key {rogue_key:?}: peer {i} sees {names:?}"
            );
            assert!(
                names.contains(&ident(1 - i).name),
                "the real peers still see each other"
            );
            if !joins {
                assert!(net.nodes[i].rejected_by_reason().unauthenticated > 0);
            }
        }
    }
}

/// Forged gossip declaring a live peer down evicts it from an unkeyed peer set, and
/// changes nothing in a keyed one, whether unsigned or signed with another key.
#[test]
fn forged_down_gossip_evicts_only_without_the_key() {
    let k = key("site PS1 secret");
    for (site_key, frame_key, evicted) in [
        (None, None, true),
        (k.clone(), None, false),
        (k.clone(), key("guessed"), false),
    ] {
        let mut net = Net::with_keys(vec![site_key.clone(); 3], 5);
        net.run_until(secs(20), |n| converged(n, &[0, 1, 2]))
            .unwrap();
        let _ = net.nodes[0].take_events();
        let forged = forged_down(&rogue_ident(), &ident(1), frame_key.as_ref());
        let mut out = Vec::new();
        let now = net.now;
        net.nodes[0].handle_datagram(now, rogue_ident().addr, &forged, &mut out);
        let downs: Vec<_> = net.nodes[0]
            .take_events()
            .into_iter()
            .filter(|e| matches!(e, MembershipEvent::Down(p) if p.name == ident(1).name))
            .collect();
        assert_eq!(
            !downs.is_empty(),
            evicted,
            "site key {site_key:?}, frame key {frame_key:?}"
        );
        if !evicted {
            assert!(net.live_names(0).contains(&ident(1).name));
            assert_eq!(net.nodes[0].rejected_by_reason().unauthenticated, 1);
        }
    }
}

#[test]
fn a_tampered_or_truncated_sealed_datagram_is_refused() {
    let k = key("site PS1 secret");
    let mut a = Membership::new(ident(0), k.clone(), 1, Instant::ZERO);
    let mut b = Membership::new(ident(1), k, 2, Instant::ZERO);
    let mut hello = Vec::new();
    b.handle_timeout(Instant::ZERO, &mut hello);
    let good = hello[0].1.clone();
    assert_eq!(good[4], VERSION_SEALED);
    let from = ident(1).addr;
    let mut out = Vec::new();
    for i in 0..good.len() {
        let mut bad = good.clone();
        bad[i] ^= 0x01;
        a.handle_datagram(Instant::ZERO, from, &bad, &mut out);
    }
    for cut in [1, TAG_LEN, TAG_LEN + 1, good.len() - HEADER_LEN] {
        a.handle_datagram(Instant::ZERO, from, &good[..good.len() - cut], &mut out);
    }
    assert!(out.is_empty(), "nothing tampered with is answered");
    let r = a.rejected_by_reason();
    // Flipping a magic or the version byte makes it not ours; every other flip or cut
    // fails the tag.
    assert_eq!(r.not_ours, 5);
    assert_eq!(r.unauthenticated, good.len() as u64 - 5 + 4);
    a.handle_datagram(Instant::ZERO, from, &good, &mut out);
    assert_eq!(out.len(), 1, "the genuine hello is taken: an announce back");
}
