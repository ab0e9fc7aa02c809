//! The world's event queue: a radix heap over virtual time in nanoseconds. It hands
//! items back in the order [`DelayQueue`](crate::link::DelayQueue) does (earliest
//! first, equal times in push order) for pushes no earlier than the last pop, which
//! virtual time guarantees. The binary heap's `pop` was a sixth of a storm's run time
//! (a cache miss per level); here an item moves down a few buckets in all, by
//! sequential scans.
//!
//! Bucket 0 holds the items due at `last` (the time of the last pop) in push order;
//! bucket `b` ≥ 1 those whose time first differs from `last` at bit `b - 1`. Each
//! bucket stays in push order: a push appends, and a bucket is refilled only from a
//! higher one when every lower bucket, itself included, is empty.

use std::collections::VecDeque;

const BUCKETS: usize = 65;

pub struct EventQueue<E> {
    last: u64,
    due: VecDeque<E>,
    buckets: Vec<Vec<(u64, E)>>,
    /// Bit `b` set when bucket `b` (≥ 1) holds an item.
    occupied: u128,
    len: usize,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        EventQueue {
            last: 0,
            due: VecDeque::new(),
            buckets: (0..BUCKETS).map(|_| Vec::new()).collect(),
            occupied: 0,
            len: 0,
        }
    }
}

impl<E> EventQueue<E> {
    pub fn new() -> Self {
        Self::default()
    }

    fn bucket(&self, at: u64) -> usize {
        (u64::BITS - (at ^ self.last).leading_zeros()) as usize
    }

    /// `item` is due at `at`, which is no earlier than the last item popped (an
    /// earlier one is taken as due at that time: virtual time does not go back).
    pub fn push(&mut self, at: u64, item: E) {
        debug_assert!(at >= self.last, "pushed at {at}, before {}", self.last);
        let at = at.max(self.last);
        self.len += 1;
        match self.bucket(at) {
            0 => self.due.push_back(item),
            b => {
                self.buckets[b].push((at, item));
                self.occupied |= 1 << b;
            }
        }
    }

    /// When the earliest item is due.
    pub fn peek_time(&self) -> Option<u64> {
        if !self.due.is_empty() {
            return Some(self.last);
        }
        self.lowest().map(|(_, min)| min)
    }

    /// The lowest occupied bucket and the earliest time in it.
    fn lowest(&self) -> Option<(usize, u64)> {
        if self.occupied == 0 {
            return None;
        }
        let b = self.occupied.trailing_zeros() as usize;
        let min = self.buckets[b].iter().map(|&(t, _)| t).min()?;
        Some((b, min))
    }

    /// The earliest item and its time, if it is due at `limit` or before.
    pub fn pop_due(&mut self, limit: u64) -> Option<(u64, E)> {
        if self.due.is_empty() {
            let (b, min) = self.lowest()?;
            if min > limit {
                return None;
            }
            // `min` becomes `last`: every item of bucket `b` moves to a lower bucket,
            // in order; the higher buckets keep theirs (their bit above `b` stands).
            self.last = min;
            self.occupied &= !(1 << b);
            if self.buckets[b].len() == 1 {
                // Alone in its bucket (the common case): no other item to move.
                let (_, item) = self.buckets[b].pop()?;
                self.len -= 1;
                return Some((min, item));
            }
            let mut items = std::mem::take(&mut self.buckets[b]);
            for (at, item) in items.drain(..) {
                match self.bucket(at) {
                    0 => self.due.push_back(item),
                    nb => {
                        self.buckets[nb].push((at, item));
                        self.occupied |= 1 << nb;
                    }
                }
            }
            // Keep the bucket's allocation for its next items.
            self.buckets[b] = items;
        } else if self.last > limit {
            return None;
        }
        let item = self.due.pop_front()?;
        self.len -= 1;
        Some((self.last, item))
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
    use crate::link::DelayQueue;
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
        let ahead = prop_oneof![Just(0u64), 0..8u64, 0..200_000u64, 0..u64::MAX / 4];
        prop_oneof![
            3 => ahead.clone().prop_map(Op::Push),
            2 => prop_oneof![Just(0u64), 0..300_000u64, Just(u64::MAX / 2)].prop_map(Op::Pop),
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
