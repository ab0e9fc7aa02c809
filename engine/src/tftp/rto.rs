//! The server's retransmission timer (RFC 1123 4.2.3.2 asks TFTP for an adaptive
//! timeout with exponential backoff): RFC 6298's estimator of the round trip, fed only
//! by answers to data sent once (Karn's rule), doubled on each timeout up to a cap.
//! A client's RFC 2349 `timeout` option replaces it with the fixed timeout it asked for.

use std::time::Duration;

/// The estimator's bounds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RtoBounds {
    /// Before the first sample (RFC 6298 2.1: 1 s).
    pub initial: Duration,
    /// Never below this. RFC 6298 says 1 s for TCP on any path; a boot server's clients
    /// are a LAN away, where 1 s per lost block makes a lossy transfer crawl, so the
    /// default is Linux TCP's 200 ms (and the measured round trip rules above it).
    pub min: Duration,
    /// The backoff stops doubling here.
    pub max: Duration,
}

impl Default for RtoBounds {
    fn default() -> Self {
        RtoBounds {
            initial: Duration::from_secs(1),
            min: Duration::from_millis(200),
            max: Duration::from_secs(8),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Rto {
    bounds: RtoBounds,
    /// The client's RFC 2349 timeout: fixed, neither measured nor backed off.
    fixed: Option<Duration>,
    /// The estimator in nanoseconds: the same floor arithmetic as `Duration`'s
    /// `* n / d`, without its per-step carries (a sample per block of every transfer).
    srtt: Option<u64>,
    rttvar: u64,
    /// The current timeout, backoff included.
    rto: Duration,
}

impl Rto {
    pub fn new(bounds: RtoBounds, fixed: Option<Duration>) -> Rto {
        Rto {
            bounds,
            fixed,
            srtt: None,
            rttvar: 0,
            rto: fixed.unwrap_or(bounds.initial),
        }
    }

    /// How long to wait for an answer to what was just sent.
    pub fn timeout(&self) -> Duration {
        self.rto
    }

    /// The smoothed round trip, once measured.
    pub fn srtt(&self) -> Option<Duration> {
        self.srtt.map(Duration::from_nanos)
    }

    /// A round trip measured on data sent once (the caller keeps Karn's rule). RFC 6298
    /// 2.2 and 2.3 (alpha 1/8, beta 1/4, K 4); it also ends a backoff.
    pub fn sample(&mut self, rtt: Duration) {
        if self.fixed.is_some() {
            return;
        }
        let rtt = nanos(rtt);
        let (srtt, rttvar) = match self.srtt {
            None => (rtt, rtt / 2),
            Some(srtt) => (
                srtt.saturating_mul(7) / 8 + rtt / 8,
                self.rttvar.saturating_mul(3) / 4 + srtt.abs_diff(rtt) / 4,
            ),
        };
        self.srtt = Some(srtt);
        self.rttvar = rttvar;
        let rto = Duration::from_nanos(srtt.saturating_add(rttvar.saturating_mul(4)));
        self.rto = rto.clamp(self.bounds.min, self.bounds.max);
    }

    /// A timeout fired: the next wait is twice as long, up to the cap (RFC 6298 5.5).
    pub fn back_off(&mut self) {
        if self.fixed.is_none() {
            self.rto = (self.rto * 2).min(self.bounds.max.max(self.rto));
        }
    }
}

/// A duration in nanoseconds, saturating (a round trip is far below 584 years).
fn nanos(d: Duration) -> u64 {
    d.as_secs()
        .saturating_mul(1_000_000_000)
        .saturating_add(u64::from(d.subsec_nanos()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn starts_at_the_initial_timeout_and_adapts_to_the_round_trip() {
        let mut r = Rto::new(RtoBounds::default(), None);
        assert_eq!(r.timeout(), ms(1000));
        // A LAN: 2 ms round trips bring it down to the floor.
        for _ in 0..10 {
            r.sample(ms(2));
        }
        assert_eq!(r.timeout(), ms(200));
        // A slow path: 300 ms round trips, RTO = SRTT + 4 RTTVAR above the floor.
        let mut r = Rto::new(RtoBounds::default(), None);
        r.sample(ms(300));
        assert_eq!(r.srtt(), Some(ms(300)));
        assert_eq!(r.timeout(), ms(300 + 4 * 150));
        for _ in 0..50 {
            r.sample(ms(300));
        }
        assert!(
            r.timeout() >= ms(300) && r.timeout() < ms(320),
            "{:?}",
            r.timeout()
        );
    }

    #[test]
    fn backs_off_doubling_up_to_the_cap_and_a_sample_ends_it() {
        let mut r = Rto::new(RtoBounds::default(), None);
        let mut waits = vec![r.timeout()];
        for _ in 0..6 {
            r.back_off();
            waits.push(r.timeout());
        }
        assert_eq!(
            waits,
            [1000, 2000, 4000, 8000, 8000, 8000, 8000].map(ms).to_vec()
        );
        r.sample(ms(2));
        assert_eq!(r.timeout(), ms(200), "a fresh sample ends the backoff");
    }

    #[test]
    fn a_varying_round_trip_widens_the_timeout() {
        let mut r = Rto::new(RtoBounds::default(), None);
        for i in 0..40 {
            r.sample(if i % 2 == 0 { ms(20) } else { ms(180) });
        }
        // SRTT about 100 ms, RTTVAR about 80 ms: RTO well above the largest sample.
        assert!(r.timeout() > ms(300), "{:?}", r.timeout());
    }

    /// RFC 6298's estimator as `Duration` arithmetic computes it, as it was written
    /// before it moved to nanoseconds.
    fn reference(samples: &[Duration]) -> (Duration, Option<Duration>) {
        let b = RtoBounds::default();
        let (mut srtt, mut rttvar) = (None::<Duration>, Duration::ZERO);
        let mut rto = b.initial;
        for &rtt in samples {
            match srtt {
                None => {
                    srtt = Some(rtt);
                    rttvar = rtt / 2;
                }
                Some(s) => {
                    rttvar = rttvar * 3 / 4 + s.abs_diff(rtt) / 4;
                    srtt = Some(s * 7 / 8 + rtt / 8);
                }
            }
            rto = (srtt.unwrap_or(rtt) + rttvar * 4).clamp(b.min, b.max);
        }
        (rto, srtt)
    }

    proptest::proptest! {
        /// Round trips of nanoseconds to seconds: the same estimate and timeout to the
        /// nanosecond.
        #[test]
        fn nanoseconds_give_what_duration_arithmetic_gives(
            samples in proptest::collection::vec(0u64..3_000_000_000, 1..40)
        ) {
            let samples: Vec<Duration> = samples.into_iter().map(Duration::from_nanos).collect();
            let mut r = Rto::new(RtoBounds::default(), None);
            for &s in &samples {
                r.sample(s);
            }
            proptest::prop_assert_eq!((r.timeout(), r.srtt()), reference(&samples));
        }
    }

    #[test]
    fn the_clients_timeout_is_fixed() {
        let mut r = Rto::new(RtoBounds::default(), Some(Duration::from_secs(3)));
        r.sample(ms(1));
        r.back_off();
        r.back_off();
        assert_eq!(r.timeout(), Duration::from_secs(3));
    }
}
