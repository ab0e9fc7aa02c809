//! The link model, one for the simulator's world, the TFTP predictor and the lab's
//! switch: a link's rate, delay and loss ([`LinkModel`]), a line that serialises what
//! crosses it ([`Port`]), and the queue that holds what is in flight until it arrives
//! ([`DelayQueue`]).

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::ops::Add;
use std::time::Duration;

/// Ethernet + IPv4 + UDP header bytes on the wire; frames shorter than 60 are padded.
const OVERHEAD: usize = 14 + 20 + 8;
const MIN_FRAME: usize = 60;
/// Preamble, start delimiter, FCS and inter-frame gap also take line time.
const WIRE_EXTRA: usize = 8 + 4 + 12;
/// The links' MTU: a datagram larger than fits (a TFTP block of 4096 or 8192 bytes) is
/// sent as IPv4 fragments, each a frame of its own, as the lab's hosts do.
pub const MTU: usize = 1500;

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LinkModel {
    pub rate_bps: u64,
    pub delay: Duration,
    pub loss: f64,
}

impl LinkModel {
    /// The Ethernet frames (header included, FCS not) that carry a UDP datagram of
    /// `payload` bytes: one, or IPv4 fragments of at most [`MTU`] bytes.
    pub fn frames(payload: usize) -> impl Iterator<Item = usize> {
        // IP payload: UDP header + data, cut into pieces of a multiple of 8 bytes.
        let per = (MTU - 20) / 8 * 8;
        let ip_payload = payload + 8;
        let n = ip_payload.div_ceil(per).max(1);
        (0..n).map(move |k| {
            let len = if k + 1 < n {
                per
            } else {
                ip_payload - per * (n - 1)
            };
            14 + 20 + len
        })
    }

    /// Line time of a UDP datagram of `payload` bytes: all of its frames.
    pub fn tx_time(&self, payload: usize) -> Duration {
        if payload + OVERHEAD <= MTU + 14 {
            return self.frame_time(payload + OVERHEAD);
        }
        Self::frames(payload).map(|f| self.frame_time(f)).sum()
    }

    /// Line time of the datagram's first frame: a store-and-forward switch starts
    /// sending a fragmented datagram on towards its receiver once that frame is in,
    /// while the sender is still sending the rest.
    pub fn first_frame_time(&self, payload: usize) -> Duration {
        Self::frames(payload)
            .next()
            .map_or(Duration::ZERO, |f| self.frame_time(f))
    }

    /// The chance that a datagram is lost: it is lost when any of its frames is.
    pub fn datagram_loss(&self, payload: usize) -> f64 {
        let n = Self::frames(payload).count() as i32;
        1.0 - (1.0 - self.loss).powi(n)
    }

    /// Line time of an Ethernet frame of `frame` bytes (header included, FCS not): the
    /// lab's segment switches use this for the frames they forward.
    pub fn frame_time(&self, frame: usize) -> Duration {
        let bits = (frame.max(MIN_FRAME) + WIRE_EXTRA) as u128 * 8;
        Duration::from_nanos((bits * 1_000_000_000 / self.rate_bps.max(1) as u128) as u64)
    }
}

/// What the link arithmetic gives for one datagram length: its line time, its first
/// frame's line time, and its bytes on the wire (fragments counted).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LineTimes {
    pub tx: Duration,
    pub first: Duration,
    pub wire: u64,
}

impl LinkModel {
    pub fn line_times(&self, payload: usize) -> LineTimes {
        LineTimes {
            tx: self.tx_time(payload),
            first: self.first_frame_time(payload),
            wire: Self::frames(payload).map(|f| f as u64).sum(),
        }
    }
}

/// [`LineTimes`] remembered per (rate, length): a storm sends millions of datagrams of
/// a few lengths (a DATA block, an ACK), and the fragment walk and the 128-bit
/// divisions were a tenth of the simulator's time. A few entries scanned in turn (a
/// hash map cost as much as it saved); keyed by the rate so that a link changed mid-run
/// is recomputed.
#[derive(Debug, Default)]
pub struct LineCache {
    known: [(u64, usize, Option<LineTimes>); 4],
    next: usize,
}

impl LineCache {
    /// Inlined, the lookup only: it runs for every datagram a storm sends.
    #[inline]
    pub fn get(&mut self, link: &LinkModel, payload: usize) -> LineTimes {
        for (rate, len, times) in &self.known {
            if let Some(t) = times {
                if *rate == link.rate_bps && *len == payload {
                    return *t;
                }
            }
        }
        self.compute(link, payload)
    }

    #[cold]
    fn compute(&mut self, link: &LinkModel, payload: usize) -> LineTimes {
        let t = link.line_times(payload);
        self.known[self.next] = (link.rate_bps, payload, Some(t));
        self.next = (self.next + 1) % self.known.len();
        t
    }
}

/// One direction of one line (a host's link to the switch, or the switch port's link
/// to a host): a transmission starts when it is ready and the line is free, and keeps
/// the line busy for its line time. `T` is the clock: virtual time in the simulator,
/// time since the switch started in the lab.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Port<T> {
    busy_until: T,
}

impl<T: Copy + Ord + Add<Duration, Output = T>> Port<T> {
    /// Takes the line for `tx` from `ready` on, or from when it is free if later;
    /// returns when the transmission starts.
    pub fn transmit(&mut self, ready: T, tx: Duration) -> T {
        let start = ready.max(self.busy_until);
        self.busy_until = start + tx;
        start
    }

    /// When the line is next free.
    pub fn busy_until(&self) -> T {
        self.busy_until
    }
}

/// Items in flight, handed back earliest first; items due at the same time come back
/// in the order they were pushed, which keeps runs deterministic.
#[derive(Debug)]
pub struct DelayQueue<T, E> {
    heap: BinaryHeap<Entry<T, E>>,
    seq: u64,
}

#[derive(Debug)]
struct Entry<T, E> {
    at: T,
    seq: u64,
    item: E,
}

impl<T: Ord, E> PartialEq for Entry<T, E> {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o) == Ordering::Equal
    }
}
impl<T: Ord, E> Eq for Entry<T, E> {}
impl<T: Ord, E> PartialOrd for Entry<T, E> {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl<T: Ord, E> Ord for Entry<T, E> {
    /// Reversed: `BinaryHeap` is a max-heap and the earliest entry must come out first.
    fn cmp(&self, o: &Self) -> Ordering {
        (&o.at, o.seq).cmp(&(&self.at, self.seq))
    }
}

impl<T, E> Default for DelayQueue<T, E> {
    fn default() -> Self {
        DelayQueue {
            heap: BinaryHeap::new(),
            seq: 0,
        }
    }
}

impl<T: Copy + Ord, E> DelayQueue<T, E> {
    pub fn new() -> Self {
        Self::default()
    }

    /// `item` arrives at `at`.
    pub fn push(&mut self, at: T, item: E) {
        self.seq += 1;
        self.heap.push(Entry {
            at,
            seq: self.seq,
            item,
        });
    }

    /// When the earliest item arrives.
    pub fn peek_time(&self) -> Option<T> {
        self.heap.peek().map(|e| e.at)
    }

    /// The earliest item and its time, if it arrives at `now` or before.
    pub fn pop_due(&mut self, now: T) -> Option<(T, E)> {
        if self.peek_time()? > now {
            return None;
        }
        self.pop()
    }

    /// The earliest item and its time.
    pub fn pop(&mut self) -> Option<(T, E)> {
        self.heap.pop().map(|e| (e.at, e.item))
    }

    pub fn len(&self) -> usize {
        self.heap.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn a_port_sends_back_to_back_when_busy_and_at_once_when_idle() {
        let mut p = Port::<Duration>::default();
        assert_eq!(p.transmit(ms(10), ms(3)), ms(10));
        // Ready while the first is still on the line: waits for it.
        assert_eq!(p.transmit(ms(11), ms(3)), ms(13));
        assert_eq!(p.busy_until(), ms(16));
        // Ready after the line is free: starts when ready.
        assert_eq!(p.transmit(ms(20), ms(1)), ms(20));
    }

    #[test]
    fn the_queue_hands_back_earliest_first_and_equal_times_in_push_order() {
        let mut q = DelayQueue::new();
        q.push(ms(5), "b1");
        q.push(ms(1), "a");
        q.push(ms(5), "b2");
        q.push(ms(5), "b3");
        q.push(ms(9), "c");
        assert_eq!(q.len(), 5);
        assert_eq!(q.pop_due(ms(0)), None, "nothing is due before 1 ms");
        let order: Vec<_> = std::iter::from_fn(|| q.pop_due(ms(5))).collect();
        assert_eq!(
            order,
            vec![(ms(1), "a"), (ms(5), "b1"), (ms(5), "b2"), (ms(5), "b3")]
        );
        assert_eq!(q.peek_time(), Some(ms(9)));
        assert_eq!(q.pop(), Some((ms(9), "c")));
        assert!(q.is_empty());
    }

    /// Against a reference (a sorted list by time, then push order), over random
    /// pushes no earlier than the last pop and pops with random horizons.
    #[test]
    fn the_queue_agrees_with_a_sorted_list() {
        use rand::{RngExt, SeedableRng};
        for seed in 0..50 {
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
            let mut q = DelayQueue::new();
            let mut reference: Vec<(Duration, u32)> = Vec::new();
            let mut now = Duration::ZERO;
            for n in 0..2000u32 {
                if rng.random::<f64>() < 0.55 {
                    // Often the same time as another item, sometimes far ahead.
                    let ahead = match rng.random_range(0..4) {
                        0 => Duration::ZERO,
                        1 => Duration::from_nanos(rng.random_range(0..8)),
                        2 => Duration::from_micros(rng.random_range(0..5000)),
                        _ => Duration::from_secs(rng.random_range(0..100)),
                    };
                    q.push(now + ahead, n);
                    // Stable: equal times keep push order.
                    let at = reference.partition_point(|&(t, _)| t <= now + ahead);
                    reference.insert(at, (now + ahead, n));
                } else {
                    let horizon = now + Duration::from_micros(rng.random_range(0..3000));
                    let want = reference.first().filter(|&&(t, _)| t <= horizon).copied();
                    assert_eq!(q.peek_time(), reference.first().map(|&(t, _)| t));
                    let got = q.pop_due(horizon);
                    assert_eq!(got, want, "seed {seed}, step {n}");
                    if got.is_some() {
                        now = reference.remove(0).0;
                    }
                }
                assert_eq!(q.len(), reference.len());
            }
        }
    }

    #[test]
    fn the_line_cache_gives_what_the_link_computes_and_follows_a_rate_change() {
        let mut cache = LineCache::default();
        let mut link = LinkModel {
            rate_bps: 1_000_000_000,
            delay: ms(1),
            loss: 0.0,
        };
        for len in [4, 516, 1472, 1473, 4100, 8196, 4100, 4] {
            assert_eq!(cache.get(&link, len), link.line_times(len), "len {len}");
        }
        let fast = cache.get(&link, 4100);
        link.rate_bps = 100_000_000;
        let slow = cache.get(&link, 4100);
        assert_eq!(slow, link.line_times(4100));
        assert_eq!(slow.tx, fast.tx * 10);
        assert_eq!(slow.wire, fast.wire);
    }

    #[test]
    fn a_datagram_over_the_mtu_goes_as_fragments_that_each_take_line_time() {
        let link = LinkModel {
            rate_bps: 100_000_000,
            delay: Duration::ZERO,
            loss: 0.01,
        };
        // 1472 bytes of UDP payload fill one 1500-byte IP packet; one more byte splits it.
        assert_eq!(LinkModel::frames(1472).count(), 1);
        assert_eq!(LinkModel::frames(1473).count(), 2);
        let eight_k: Vec<usize> = LinkModel::frames(8196).collect();
        assert_eq!(eight_k.len(), 6);
        assert_eq!(
            link.tx_time(8196),
            eight_k.iter().map(|&f| link.frame_time(f)).sum()
        );
        assert!(link.first_frame_time(8196) < link.tx_time(8196));
        // A short frame is padded to 60 bytes: its line time is that of 60.
        assert_eq!(link.frame_time(42), link.frame_time(60));
        // A datagram is lost when any of its frames is.
        let p = link.datagram_loss(8196);
        assert!((p - (1.0 - 0.99f64.powi(6))).abs() < 1e-12);
    }
}
