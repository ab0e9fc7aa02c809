//! The world's event queue: a calendar over virtual time in nanoseconds. It hands
//! items back in the order [`DelayQueue`] does (earliest first, equal times in push
//! order) for pushes no earlier than the last pop, which virtual time guarantees.
//!
//! A ring of buckets of 2^[`SHIFT`] ns each covers the next [`BUCKETS`] of them from the
//! current one. Every item has a node from its push to its pop: its key (time, push
//! number) in `nodes`, the item itself under the same number in `items`. A ring bucket
//! is a list of nodes linked unsorted (the ring holds only list heads, 16 KiB), sorted
//! once, by reference, when it becomes the current one (a storm's buckets hold ten or
//! so). Items beyond the ring's window wait in a heap and move into the ring as it
//! comes to them. The radix heap before this moved each item down a bucket at a time,
//! many times over a storm's delays of milliseconds: an eighth of the simulator's
//! instructions. An item is written once and read once: a world's event is some 80
//! bytes, and the table of event slots the world kept beside this queue copied it twice
//! more; a bucket's walk reads only the keys, 24 bytes each (with the items beside them
//! in the nodes, that walk was a third of the time of taking the next event).

use crate::link::DelayQueue;

/// A bucket is 2^16 ns, 66 µs: a storm's bucket holds ten events or so, and the next
/// one is known while one is handled ([`EventQueue::peek_next`]).
const SHIFT: u32 = 16;
/// Buckets in the ring: a window of 268 ms, longer than a switch port's queue of DATA
/// blocks in a storm.
const BUCKETS: usize = 1 << 12;
const MASK: u64 = BUCKETS as u64 - 1;
const WORDS: usize = BUCKETS / 64;
/// The end of a bucket's list.
const NIL: u32 = u32::MAX;

/// An item's key from its push to its pop: its time, push number, and the next node in
/// its ring bucket. The item itself is in `items` under the node's number: a bucket's
/// walk reads only keys, 24 bytes each, which stay in the cache.
struct Node {
    at: u64,
    seq: u64,
    next: u32,
}

pub struct EventQueue<E> {
    /// The time of the last item popped: no item is pushed before it.
    last: u64,
    /// The current bucket's number (time >> SHIFT), that of `last`. The ring holds the
    /// items of buckets `base + 1 .. base + BUCKETS` and `current` those of `base`;
    /// `far` those of later ones.
    base: u64,
    /// The current bucket's items, sorted, earliest last: (time, push number, node).
    current: Vec<(u64, u64, u32)>,
    /// Per ring bucket: the first node of its list.
    heads: Vec<u32>,
    nodes: Vec<Node>,
    items: Vec<Option<E>>,
    free: Vec<u32>,
    /// Bit `i` set when ring bucket `i` holds an item.
    occupied: Vec<u64>,
    /// Nodes due beyond the ring's window.
    far: DelayQueue<u64, u32>,
    /// Push number: equal times come back in push order.
    seq: u64,
    len: usize,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        EventQueue {
            last: 0,
            base: 0,
            current: Vec::new(),
            heads: vec![NIL; BUCKETS],
            nodes: Vec::new(),
            items: Vec::new(),
            free: Vec::new(),
            occupied: vec![0; WORDS],
            far: DelayQueue::new(),
            seq: 0,
            len: 0,
        }
    }
}

impl<E> EventQueue<E> {
    pub fn new() -> Self {
        Self::default()
    }

    /// `item` is due at `at`, which is no earlier than the last item popped (an
    /// earlier one is taken as due at that time: virtual time does not go back).
    pub fn push(&mut self, at: u64, item: E) {
        debug_assert!(at >= self.last, "pushed at {at}, before {}", self.last);
        let at = at.max(self.last);
        self.seq += 1;
        self.len += 1;
        let node = Node {
            at,
            seq: self.seq,
            next: NIL,
        };
        let n = match self.free.pop() {
            Some(n) => {
                self.nodes[n as usize] = node;
                self.items[n as usize] = Some(item);
                n
            }
            None => {
                self.nodes.push(node);
                self.items.push(Some(item));
                (self.nodes.len() - 1) as u32
            }
        };
        let b = at >> SHIFT;
        if b >= self.base + BUCKETS as u64 {
            // The heap's own push order breaks ties among far nodes as `seq` would.
            self.far.push(at, n);
        } else {
            self.put(b, n);
        }
    }

    /// Node `n` into bucket `b`, in the window.
    fn put(&mut self, b: u64, n: u32) {
        let node = &mut self.nodes[n as usize];
        let (at, seq) = (node.at, node.seq);
        if b == self.base {
            // Earliest last; the newest push goes before the others of its time.
            let pos = self
                .current
                .partition_point(|&(t, s, _)| (t, s) > (at, seq));
            self.current.insert(pos, (at, seq, n));
            return;
        }
        let i = (b & MASK) as usize;
        node.next = self.heads[i];
        self.heads[i] = n;
        self.occupied[i / 64] |= 1 << (i % 64);
    }

    /// The number of the first bucket after the current one that holds an item, in
    /// the ring.
    fn next_occupied(&self) -> Option<u64> {
        let start = (self.base & MASK) as usize;
        let (w0, b0) = (start / 64, start % 64);
        for k in 0..=WORDS {
            let w = (w0 + k) % WORDS;
            let bits = match k {
                0 => self.occupied[w] & (!0u64 << b0),
                // Back at the start word: only the buckets before the current one.
                WORDS => self.occupied[w] & ((1u64 << b0) - 1),
                _ => self.occupied[w],
            };
            if bits != 0 {
                let i = w * 64 + bits.trailing_zeros() as usize;
                let ahead = (i + BUCKETS - start) % BUCKETS;
                return Some(self.base + ahead as u64);
            }
        }
        None
    }

    /// The earliest time in ring bucket `b` (not the current one).
    fn earliest_in(&self, b: u64) -> Option<u64> {
        let mut n = self.heads[(b & MASK) as usize];
        let mut min = None;
        while n != NIL {
            let node = &self.nodes[n as usize];
            min = Some(min.map_or(node.at, |m: u64| m.min(node.at)));
            n = node.next;
        }
        min
    }

    /// When the earliest item is due.
    pub fn peek_time(&self) -> Option<u64> {
        if let Some(&(t, _, _)) = self.current.last() {
            return Some(t);
        }
        match self.next_occupied() {
            Some(b) => self.earliest_in(b),
            None => self.far.peek_time(),
        }
    }

    /// The item to come after the last one popped, when it is in the current bucket
    /// (no search).
    pub fn peek_next(&self) -> Option<&E> {
        let &(_, _, n) = self.current.last()?;
        self.items[n as usize].as_ref()
    }

    /// The earliest item and its time, if it is due at `limit` or before.
    pub fn pop_due(&mut self, limit: u64) -> Option<(u64, E)> {
        loop {
            if let Some(&(at, _, n)) = self.current.last() {
                if at > limit {
                    return None;
                }
                self.current.pop();
                self.last = at;
                self.len -= 1;
                self.free.push(n);
                return Some((at, self.items[n as usize].take()?));
            }
            // The current bucket is empty: on to the next that holds an item (every
            // ring item is earlier than every far one). Only when that item is due,
            // so that no later push goes into a bucket behind the current one.
            let (next, earliest) = match self.next_occupied() {
                Some(b) => (b, self.earliest_in(b)?),
                None => {
                    let t = self.far.peek_time()?;
                    (t >> SHIFT, t)
                }
            };
            if earliest > limit {
                return None;
            }
            self.base = next;
            self.take_bucket(next);
            while let Some(t) = self.far.peek_time() {
                if t >> SHIFT >= self.base + BUCKETS as u64 {
                    break;
                }
                let (t, n) = self.far.pop()?;
                self.put(t >> SHIFT, n);
            }
        }
    }

    /// Ring bucket `b`'s nodes become the current ones, sorted.
    fn take_bucket(&mut self, b: u64) {
        let i = (b & MASK) as usize;
        let mut n = std::mem::replace(&mut self.heads[i], NIL);
        self.occupied[i / 64] &= !(1 << (i % 64));
        while n != NIL {
            let node = &self.nodes[n as usize];
            self.current.push((node.at, node.seq, n));
            n = node.next;
        }
        if self.current.len() > 1 {
            self.current
                .sort_unstable_by_key(|&(at, seq, _)| std::cmp::Reverse((at, seq)));
        }
    }

    /// The earliest item and its time.
    #[cfg(test)]
    pub fn pop(&mut self) -> Option<(u64, E)> {
        self.pop_due(u64::MAX)
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.len
    }

    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn equal_times_come_back_in_push_order_and_later_ones_wait_their_turn() {
        let mut q = EventQueue::new();
        q.push(5, "b1");
        q.push(1, "a");
        q.push(5, "b2");
        q.push(9, "c");
        q.push(5, "b3");
        assert_eq!(q.len(), 5);
        assert_eq!(q.pop_due(0), None, "nothing is due before 1");
        assert_eq!(q.peek_time(), Some(1));
        let order: Vec<_> = std::iter::from_fn(|| q.pop_due(5)).collect();
        assert_eq!(order, vec![(1, "a"), (5, "b1"), (5, "b2"), (5, "b3")]);
        q.push(5, "b4");
        assert_eq!(q.pop(), Some((5, "b4")));
        assert_eq!(q.peek_time(), Some(9));
        assert_eq!(q.pop(), Some((9, "c")));
        assert!(q.is_empty());
        assert_eq!(q.pop(), None);
    }

    #[derive(Clone, Debug)]
    enum Op {
        /// Push this far ahead of the last pop.
        Push(u64),
        /// Pop what is due this far ahead of the last pop.
        Pop(u64),
    }

    fn op() -> impl Strategy<Value = Op> {
        // Ahead: often nothing (same time), small steps, link-like delays, far off.
        // Ahead: often nothing (same time), small steps, link-like delays, around the
        // ring's window (268 ms), far off.
        let ahead = prop_oneof![
            Just(0u64),
            0..8u64,
            0..200_000u64,
            200_000_000..400_000_000u64,
            0..u64::MAX / 4
        ];
        prop_oneof![
            3 => ahead.clone().prop_map(Op::Push),
            2 => prop_oneof![Just(0u64), 0..300_000u64, 0..400_000_000u64, Just(u64::MAX / 2)]
                .prop_map(Op::Pop),
        ]
    }

    proptest! {
        /// The world's order: the same items, at the same times, in the same order as
        /// the binary heap the world used before.
        #[test]
        fn it_pops_what_the_binary_heap_pops(ops in proptest::collection::vec(op(), 1..600)) {
            let mut radix = EventQueue::new();
            let mut heap = DelayQueue::new();
            let mut now = 0u64;
            for (n, op) in ops.into_iter().enumerate() {
                match op {
                    Op::Push(ahead) => {
                        radix.push(now.saturating_add(ahead), n);
                        heap.push(now.saturating_add(ahead), n);
                    }
                    Op::Pop(ahead) => {
                        prop_assert_eq!(radix.peek_time(), heap.peek_time());
                        let got = radix.pop_due(now.saturating_add(ahead));
                        prop_assert_eq!(got, heap.pop_due(now.saturating_add(ahead)));
                        if let Some((t, _)) = got {
                            now = t;
                        }
                    }
                }
                prop_assert_eq!(radix.len(), heap.len());
            }
            while let Some(want) = heap.pop() {
                prop_assert_eq!(radix.pop(), Some(want));
            }
            prop_assert!(radix.is_empty());
        }
    }
}
