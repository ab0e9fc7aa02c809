use super::*;

const C: &str = "10.0.0.157:1858";
const S: &str = "10.0.0.1:80";
const RTT_HALF: Duration = Duration::from_millis(5);

fn t(ms: u64) -> Instant {
    Instant::ZERO + Duration::from_millis(ms)
}

/// What the line loses: (n-th segment from the server, the segment) -> lost.
type Loss = Box<dyn FnMut(usize, &Segment) -> bool>;

/// Two ends joined by a line with a fixed one-way delay; `drop` decides (by the n-th
/// segment from the server, counting from 0, and the segment) what the line loses.
struct Pipe {
    now: Instant,
    client: Tcb,
    server: Option<Tcb>,
    /// (arrival, to the server?, segment)
    flight: Vec<(Instant, bool, Segment)>,
    from_server: usize,
    drop: Loss,
    /// Every segment put on the line: (when, from the server?, segment).
    log: Vec<(Instant, bool, Segment)>,
}

impl Pipe {
    fn new(drop: impl FnMut(usize, &Segment) -> bool + 'static) -> Pipe {
        let client = Tcb::connect(
            t(0),
            TcpConfig::edk2(),
            C.parse().unwrap(),
            S.parse().unwrap(),
            600_534_801,
        );
        let mut p = Pipe {
            now: t(0),
            client,
            server: None,
            flight: Vec::new(),
            from_server: 0,
            drop: Box::new(drop),
            log: Vec::new(),
        };
        p.flush();
        p
    }

    fn flush(&mut self) {
        let mut out = Vec::new();
        self.client.take_output(self.now, &mut out);
        for s in out {
            self.log.push((self.now, false, s.clone()));
            self.flight.push((self.now + RTT_HALF, true, s));
        }
        if let Some(srv) = &mut self.server {
            let mut out = Vec::new();
            srv.take_output(self.now, &mut out);
            for s in out {
                self.log.push((self.now, true, s.clone()));
                let n = self.from_server;
                self.from_server += 1;
                if !(self.drop)(n, &s) {
                    self.flight.push((self.now + RTT_HALF, false, s));
                }
            }
        }
    }

    /// Runs until nothing is in flight and no timer is due before `until`.
    fn run(&mut self, until: Instant, mut app: impl FnMut(&mut Pipe)) {
        loop {
            let next_seg = self.flight.iter().map(|f| f.0).min();
            let timers = [
                self.client.poll_timeout(),
                self.server.as_ref().and_then(|s| s.poll_timeout()),
            ];
            let next_timer = timers.into_iter().flatten().min();
            let next = match (next_seg, next_timer) {
                (Some(a), Some(b)) => a.min(b),
                (a, b) => match a.or(b) {
                    Some(x) => x,
                    None => return,
                },
            };
            if next > until {
                return;
            }
            self.now = next;
            if next_seg == Some(next) {
                let i = self.flight.iter().position(|f| f.0 == next).unwrap();
                let (_, to_server, seg) = self.flight.remove(i);
                if to_server {
                    match &mut self.server {
                        None => {
                            self.server =
                                Tcb::accept(self.now, TcpConfig::linux(), &seg, 2_575_806_712)
                        }
                        Some(s) => s.handle_segment(self.now, &seg),
                    }
                } else {
                    self.client.handle_segment(self.now, &seg);
                }
            } else {
                self.client.handle_timeout(self.now);
                if let Some(s) = &mut self.server {
                    s.handle_timeout(self.now);
                }
            }
            app(self);
            self.flush();
        }
    }

    fn server(&mut self) -> &mut Tcb {
        self.server.as_mut().expect("the server accepted")
    }

    /// Sends `n` bytes server to client (counting bytes, as the HTTP driver does),
    /// gathering what the client reads.
    fn transfer(&mut self, n: usize, until: Instant) -> Vec<u8> {
        let data: Vec<u8> = (0..n).map(|i| (i % 251) as u8).collect();
        let mut pos = 0;
        let mut got = Vec::new();
        let mut step = |p: &mut Pipe| {
            if let Some(s) = &mut p.server {
                if s.is_established() && pos < data.len() {
                    pos += s.send(&data[pos..]);
                }
            }
            got.extend(p.client.read());
        };
        step(self);
        self.flush();
        self.run(until, &mut step);
        got
    }
}

fn expected(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i % 251) as u8).collect()
}

#[test]
fn the_handshake_carries_the_mss_and_windows_of_the_captures() {
    let mut p = Pipe::new(|_, _| false);
    p.run(t(100), |_| {});
    let (syn, synack, ack) = (&p.log[0].2, &p.log[1].2, &p.log[2].2);
    assert_eq!(
        (syn.flags, syn.mss, syn.window, syn.seq),
        (SYN, Some(1460), 65535, 600_534_801)
    );
    assert_eq!(
        (synack.flags, synack.mss, synack.window, synack.ack),
        (SYN | ACK, Some(1460), 64240, 600_534_802)
    );
    assert_eq!((ack.flags, ack.ack, ack.mss), (ACK, 2_575_806_713, None));
    assert!(p.client.is_established() && p.server().is_established());
    assert_eq!(p.log.len(), 3);
}

#[test]
fn linux_starts_with_ten_segments_then_slow_start_grows_the_window() {
    let mut p = Pipe::new(|_, _| false);
    p.run(t(20), |_| {});
    assert_eq!(p.server().cwnd(), 10 * 1460);
    p.log.clear();
    let got = p.transfer(200_000, t(10_000));
    assert!(got == expected(200_000), "{} bytes", got.len());
    // The first flight: ten full segments, all sent before the first ACK came back.
    let first_ack = p.log.iter().position(|(_, srv, _)| !srv).unwrap();
    assert_eq!(first_ack, 10, "ten segments in the initial window");
    // Slow start: after the first round trip's ACKs the window has doubled.
    assert!(p.server().cwnd() >= 20 * 1460, "{}", p.server().cwnd());
}

#[test]
fn the_flight_never_exceeds_the_clients_receive_window() {
    let mut p = Pipe::new(|_, _| false);
    p.run(t(20), |_| {});
    // A window of 64 segments: slow start would go past 65535 bytes in flight.
    let mut max_flight = 0u32;
    let data = expected(2_000_000);
    let mut pos = 0;
    let mut got = Vec::new();
    let mut step = |p: &mut Pipe| {
        let s = p.server.as_mut().unwrap();
        pos += s.send(&data[pos..]);
        max_flight = max_flight.max(s.flight());
        got.extend(p.client.read());
    };
    step(&mut p);
    p.flush();
    p.run(t(60_000), &mut step);
    assert_eq!(got.len(), data.len());
    assert!(max_flight <= 65535, "{max_flight}");
    assert!(max_flight > 60_000, "the window is used: {max_flight}");
}

#[test]
fn a_lost_segment_is_resent_by_fast_retransmit_and_arrives_in_order() {
    // The 4th server segment (the 2nd data segment) is lost once.
    let mut lost = false;
    let mut p = Pipe::new(move |n, s| {
        let hit = n == 3 && !s.payload.is_empty() && !lost;
        lost |= hit;
        hit
    });
    p.run(t(20), |_| {});
    let got = p.transfer(50_000, t(10_000));
    assert!(
        got == expected(50_000),
        "in order despite the hole: {}",
        got.len()
    );
    let s = p.server();
    assert_eq!(s.retransmits, 1);
    assert_eq!(s.timeouts, 0, "three duplicate ACKs came before the RTO");
}

#[test]
fn the_rto_has_a_200_ms_floor_and_doubles_on_each_timeout() {
    // Everything the server sends after the handshake is lost, five times.
    let mut n_lost = 0;
    let mut p = Pipe::new(move |_, s| {
        let hit = !s.payload.is_empty() && n_lost < 5;
        n_lost += u32::from(hit);
        hit
    });
    p.run(t(20), |_| {});
    assert_eq!(
        p.server().rto(),
        Duration::from_millis(200),
        "a 10 ms round trip gives the floor"
    );
    p.log.clear();
    let got = p.transfer(1000, t(60_000));
    assert!(got == expected(1000), "{} bytes", got.len());
    let sends: Vec<Instant> = p
        .log
        .iter()
        .filter(|(_, srv, s)| *srv && !s.payload.is_empty())
        .map(|(at, _, _)| *at)
        .collect();
    let gaps: Vec<u64> = sends
        .windows(2)
        .map(|w| (w[1] - w[0]).as_millis() as u64)
        .collect();
    assert_eq!(gaps, [200, 400, 800, 1600, 3200]);
    assert_eq!(p.server().timeouts, 5);
}

#[test]
fn a_connection_that_hears_nothing_times_out() {
    let mut p = Pipe::new(|_, s| !s.payload.is_empty());
    p.run(t(20), |_| {});
    p.transfer(1000, t(3_600_000));
    assert_eq!(p.server().failure(), Some(Failure::TimedOut));
    assert!(p.server().is_closed());
}

#[test]
fn out_of_order_segments_are_held_and_delivered_in_order() {
    let mut c = Tcb::connect(
        t(0),
        TcpConfig::edk2(),
        C.parse().unwrap(),
        S.parse().unwrap(),
        1000,
    );
    let mut out = Vec::new();
    c.take_output(t(0), &mut out);
    let mut s = Tcb::accept(t(0), TcpConfig::linux(), &out[0], 5000).unwrap();
    out.clear();
    s.take_output(t(1), &mut out);
    c.handle_segment(t(1), &out[0]);
    out.clear();
    c.take_output(t(1), &mut out);
    s.handle_segment(t(2), &out[0]);
    s.send(&expected(3000));
    let mut segs = Vec::new();
    s.take_output(t(2), &mut segs);
    assert_eq!(segs.len(), 3);
    // 3rd, then 2nd, then 1st.
    for seg in segs.iter().rev() {
        c.handle_segment(t(3), seg);
    }
    assert_eq!(c.read(), expected(3000));
    let mut acks = Vec::new();
    c.take_output(t(3), &mut acks);
    assert_eq!(acks.len(), 1);
    assert_eq!(acks[0].ack, segs[2].seq + segs[2].payload.len() as u32);
}

#[test]
fn fin_closes_both_sides() {
    let mut p = Pipe::new(|_, _| false);
    p.run(t(20), |_| {});
    let mut got = Vec::new();
    let mut sent = false;
    let mut closed = false;
    p.run(t(10_000), |_| {});
    let mut step = |p: &mut Pipe| {
        let s = p.server.as_mut().unwrap();
        if !sent {
            s.send(b"bye");
            s.close();
            sent = true;
        }
        got.extend(p.client.read());
        if p.client.peer_closed() && !closed {
            p.client.close();
            closed = true;
        }
    };
    step(&mut p);
    p.flush();
    p.run(t(10_000), &mut step);
    assert_eq!(got, b"bye");
    assert!(p.client.is_closed() && p.server().is_closed());
    let fins = p.log.iter().filter(|(_, _, s)| s.has(FIN)).count();
    assert_eq!(fins, 2);
}

#[test]
fn an_abort_sends_one_rst_and_the_peer_is_reset() {
    let mut p = Pipe::new(|_, _| false);
    p.run(t(20), |_| {});
    p.client.abort();
    p.flush();
    p.run(t(100), |_| {});
    assert!(p.client.is_closed());
    assert_eq!(p.server().failure(), Some(Failure::Reset));
    assert_eq!(p.log.iter().filter(|(_, _, s)| s.has(RST)).count(), 1);
}

#[test]
fn a_closed_port_answers_rst() {
    let syn = Segment {
        src: C.parse().unwrap(),
        dst: S.parse().unwrap(),
        seq: 41,
        ack: 0,
        flags: SYN,
        window: 65535,
        mss: Some(1460),
        payload: Vec::new(),
    };
    let rst = reset_for(&syn).unwrap();
    assert_eq!((rst.flags, rst.seq, rst.ack), (RST | ACK, 0, 42));
    assert_eq!((rst.src, rst.dst), (syn.dst, syn.src));
    let data = Segment {
        flags: ACK | PSH,
        ack: 77,
        payload: vec![1, 2],
        mss: None,
        ..syn.clone()
    };
    let rst = reset_for(&data).unwrap();
    assert_eq!((rst.flags, rst.seq), (RST, 77));
    assert_eq!(reset_for(&rst), None, "an RST is never answered");
}
