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

/// Where the median of `n` runs drawn from the distribution `runs` samples falls,
/// but for `tail` on each side: a lab median outside it is unlikely to differ from
/// the simulator's by chance alone. Exact, no resampling: the k-th smallest of `n`
/// draws is at most `x` when at least k draws are, a binomial count. An even `n`'s
/// median lies between its two middle runs: the range runs from the lower one's
/// low end to the upper one's high end.
pub fn median_range(runs: &[f64], n: u32, tail: f64) -> Option<(f64, f64)> {
    if runs.is_empty() || n == 0 {
        return None;
    }
    let mut sorted = runs.to_vec();
    sorted.sort_by(|a, b| a.total_cmp(b));
    let m = sorted.len();
    // P(the k-th smallest of n draws <= sorted[j]) = P(Binomial(n, (j+1)/m) >= k).
    let at_most = |k: u32, j: usize| -> f64 {
        let p = (j + 1) as f64 / m as f64;
        (k..=n)
            .map(|i| binomial(n, i) * p.powi(i as i32) * (1.0 - p).powi((n - i) as i32))
            .sum()
    };
    let quantile = |k: u32, q: f64| -> f64 {
        let j = (0..m).find(|&j| at_most(k, j) >= q).unwrap_or(m - 1);
        sorted[j]
    };
    let (lower_middle, upper_middle) = (n.div_ceil(2), n / 2 + 1);
    Some((
        quantile(lower_middle, tail),
        quantile(upper_middle, 1.0 - tail),
    ))
}

/// n choose k, as a float (n is a repeat count: small).
fn binomial(n: u32, k: u32) -> f64 {
    (0..k).fold(1.0, |acc, i| acc * f64::from(n - i) / f64::from(i + 1))
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
    fn a_median_of_more_runs_falls_in_a_narrower_range() {
        let runs: Vec<f64> = (1..=100).map(f64::from).collect();
        // One run: the distribution's own 2.5 and 97.5 percentiles.
        assert_eq!(median_range(&runs, 1, 0.025), Some((3.0, 98.0)));
        let (lo10, hi10) = median_range(&runs, 10, 0.025).unwrap();
        let (lo100, hi100) = median_range(&runs, 100, 0.025).unwrap();
        assert!(
            lo10 < lo100 && hi100 < hi10,
            "{lo10}-{hi10} vs {lo100}-{hi100}"
        );
        // About 50 ± 2 standard errors (29 / sqrt(100) each) for 100 runs.
        assert!((38.0..=44.0).contains(&lo100) && (57.0..=63.0).contains(&hi100));
        assert_eq!(median_range(&[2.0; 7], 10, 0.025), Some((2.0, 2.0)));
        assert_eq!(median_range(&[], 10, 0.025), None);
        assert_eq!(binomial(10, 3), 120.0);
    }

    #[test]
    fn a_spread_is_min_median_max() {
        let s = Spread::of(&[0.3, 0.1, 0.2, 0.9]);
        assert_eq!((s.min, s.median, s.max), (Some(0.1), Some(0.25), Some(0.9)));
        assert_eq!(Spread::of(&[]), Spread::default());
    }
}
