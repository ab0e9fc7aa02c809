//! Statistics over repeated measurements: median, nearest-rank percentiles, and the
//! spread (min, median, max) the benches report per point.

/// The value at share `p` (0 to 1) of an ascending list, nearest rank.
pub fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    Some(sorted[((sorted.len() - 1) as f64 * p).round() as usize])
}

/// The median (the mean of the middle two for an even count); sorts `v`.
pub fn median(v: &mut [f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    Some(if !n.is_multiple_of(2) {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

/// The 10th and 90th percentiles (nearest rank) of unsorted `times`: the spread the
/// lossy points report, where a run's time follows how many packets it lost.
pub fn p10_p90(times: &[f64]) -> (Option<f64>, Option<f64>) {
    let mut sorted = times.to_vec();
    sorted.sort_by(|a, b| a.total_cmp(b));
    (percentile(&sorted, 0.1), percentile(&sorted, 0.9))
}

/// Lowest, median and highest of a point's repeats; all `None` when there are none.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Spread {
    pub min: Option<f64>,
    pub median: Option<f64>,
    pub max: Option<f64>,
}

impl Spread {
    pub fn of(times: &[f64]) -> Spread {
        let mut sorted = times.to_vec();
        Spread {
            min: times.iter().copied().reduce(f64::min),
            max: times.iter().copied().reduce(f64::max),
            median: median(&mut sorted),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&mut [4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(&mut []), None);
    }

    #[test]
    fn percentiles_take_the_nearest_rank() {
        let v: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(percentile(&v, 0.0), Some(1.0));
        assert_eq!(percentile(&v, 0.5), Some(6.0)); // rank 4.5 rounds to 5 (0-based)
        assert_eq!(percentile(&v, 0.95), Some(10.0));
        assert_eq!(percentile(&v, 1.0), Some(10.0));
        assert_eq!(percentile(&[], 0.5), None);
    }

    #[test]
    fn p10_and_p90_of_ten_runs_leave_out_the_extremes() {
        let v = [9.0, 1.0, 5.0, 3.0, 7.0, 2.0, 10.0, 4.0, 8.0, 6.0];
        assert_eq!(p10_p90(&v), (Some(2.0), Some(9.0)));
        assert_eq!(p10_p90(&[]), (None, None));
    }

    #[test]
    fn a_spread_is_min_median_max() {
        let s = Spread::of(&[0.3, 0.1, 0.2, 0.9]);
        assert_eq!((s.min, s.median, s.max), (Some(0.1), Some(0.25), Some(0.9)));
        assert_eq!(Spread::of(&[]), Spread::default());
    }
}
