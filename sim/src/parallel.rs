//! Runs a suite's scenarios on several threads and hands the results back in the
//! suite's order, so that what is printed and written does not depend on `--jobs`.
//! Each simulation is self-contained (its own world, seed and clock): nothing is shared
//! between runs but the inputs.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// The number of jobs when none is asked for: every core the process may use.
pub fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// `f` over `items` on up to `jobs` threads; the results in `items`' order. Threads
/// take the next item as they finish one, the costliest by `cost` first (a long
/// scenario started last would run alone at the end). `jobs` 0 or 1 (or one item)
/// runs on this thread, in order.
pub fn map_in_order<T, R, F, C>(items: &[T], jobs: usize, cost: C, f: F) -> Vec<R>
where
    T: Sync,
    R: Send,
    F: Fn(&T) -> R + Sync,
    C: Fn(&T) -> u64,
{
    let jobs = jobs.min(items.len());
    if jobs <= 1 {
        return items.iter().map(&f).collect();
    }
    let mut order: Vec<usize> = (0..items.len()).collect();
    // Stable: equal costs keep file order.
    order.sort_by_key(|&k| std::cmp::Reverse(cost(&items[k])));
    let next = AtomicUsize::new(0);
    let slots: Vec<Mutex<Option<R>>> = items.iter().map(|_| Mutex::new(None)).collect();
    std::thread::scope(|s| {
        for _ in 0..jobs {
            s.spawn(|| {
                while let Some(&k) = order.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let r = f(&items[k]);
                    *slots[k].lock().unwrap_or_else(|p| p.into_inner()) = Some(r);
                }
            });
        }
    });
    slots
        .into_iter()
        .map(|m| {
            m.into_inner()
                .unwrap_or_else(|p| p.into_inner())
                .expect("every item was run: a panicking job ends the scope with a panic")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_back_in_input_order_whatever_the_jobs() {
        let items: Vec<u64> = (0..50).collect();
        // Uneven work, so that threads finish out of order.
        let work = |&n: &u64| -> u64 { (0..(50 - n) * 1000).fold(n, |a, x| a ^ x) ^ (n << 32) };
        let serial = map_in_order(&items, 1, |_| 0, work);
        for jobs in [2, 3, 8, 100] {
            assert_eq!(
                map_in_order(&items, jobs, |_| 0, work),
                serial,
                "jobs {jobs}"
            );
            // Started in another order, handed back in this one.
            assert_eq!(map_in_order(&items, jobs, |&n| n % 7, work), serial);
        }
        assert!(serial.iter().zip(&items).all(|(r, n)| r >> 32 == *n));
    }

    #[test]
    fn no_items_no_threads() {
        let none: Vec<u8> = Vec::new();
        assert!(map_in_order(&none, 4, |_| 0, |x| *x).is_empty());
    }
}
