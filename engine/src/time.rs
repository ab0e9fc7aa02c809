//! Virtual or real time as seen by the engine: a monotonic instant in nanoseconds
//! since an arbitrary origin chosen by the driver (the simulator starts at 0).

use std::ops::{Add, Sub};
use std::time::Duration;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(pub u64);

impl Instant {
    pub const ZERO: Instant = Instant(0);

    #[inline]
    pub fn from_nanos(n: u64) -> Self {
        Instant(n)
    }
    #[inline]
    pub fn as_nanos(self) -> u64 {
        self.0
    }
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e9
    }
    /// Time elapsed since `earlier`, zero if `earlier` is later.
    #[inline]
    pub fn saturating_since(self, earlier: Instant) -> Duration {
        Duration::from_nanos(self.0.saturating_sub(earlier.0))
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;
    /// Saturating. In 64-bit arithmetic: the simulator adds a line time or a timeout
    /// to every packet, and `Duration::as_nanos`'s 128-bit product was 3 % of a storm.
    #[inline]
    fn add(self, d: Duration) -> Instant {
        let nanos = d
            .as_secs()
            .saturating_mul(1_000_000_000)
            .saturating_add(u64::from(d.subsec_nanos()));
        Instant(self.0.saturating_add(nanos))
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;
    #[inline]
    fn sub(self, other: Instant) -> Duration {
        self.saturating_since(other)
    }
}
