//! Scores of probabilistic predictions against outcomes: Brier score, expected
//! calibration error (equal-width bins) and the area under the ROC curve (rank
//! statistic, ties counted half), and a ratio of sums with its jackknife standard error
//! over blocks (a model's Brier over the oracle's, the blocks being runs: a run's events
//! share one market, so its rows are not independent). Pure functions over slices;
//! empty input gives 0 (Brier, ECE, the ratio's error) or 0.5 (AUC) rather than NaN.

/// Mean squared error of probabilities against 0/1 outcomes.
pub fn brier(p: &[f64], y: &[bool]) -> f64 {
    if p.is_empty() {
        return 0.0;
    }
    p.iter()
        .zip(y)
        .map(|(p, &y)| (p - if y { 1.0 } else { 0.0 }).powi(2))
        .sum::<f64>()
        / p.len() as f64
}

/// Expected calibration error over `bins` equal-width bins: the share-weighted mean of
/// |mean prediction − observed rate| per bin.
pub fn ece(p: &[f64], y: &[bool], bins: usize) -> f64 {
    let bins = bins.max(1);
    let mut sum_p = vec![0.0; bins];
    let mut sum_y = vec![0.0; bins];
    let mut count = vec![0usize; bins];
    for (&p, &y) in p.iter().zip(y) {
        let b = ((p.clamp(0.0, 1.0) * bins as f64) as usize).min(bins - 1);
        sum_p[b] += p;
        sum_y[b] += if y { 1.0 } else { 0.0 };
        count[b] += 1;
    }
    let n = p.len().max(1) as f64;
    (0..bins)
        .filter(|&b| count[b] > 0)
        .map(|b| (sum_p[b] - sum_y[b]).abs() / n)
        .sum()
}

/// Area under the ROC curve: the probability that a random positive outranks a random
/// negative (ties count half).
pub fn auc(p: &[f64], y: &[bool]) -> f64 {
    let mut pairs: Vec<(f64, bool)> = p.iter().copied().zip(y.iter().copied()).collect();
    pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
    let positives = pairs.iter().filter(|(_, y)| *y).count() as f64;
    let negatives = pairs.len() as f64 - positives;
    if positives == 0.0 || negatives == 0.0 {
        return 0.5;
    }
    // Sum of positive ranks with average ranks for ties.
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < pairs.len() {
        let mut j = i;
        while j + 1 < pairs.len() && pairs[j + 1].0 == pairs[i].0 {
            j += 1;
        }
        let avg_rank = (i + j) as f64 / 2.0 + 1.0;
        rank_sum += avg_rank * pairs[i..=j].iter().filter(|(_, y)| *y).count() as f64;
        i = j + 1;
    }
    (rank_sum - positives * (positives + 1.0) / 2.0) / (positives * negatives)
}

/// `Σ numerator / Σ denominator` over `blocks` of (numerator, denominator) sums, with
/// its leave-one-block-out jackknife standard error (0 with fewer than two blocks, or
/// where leaving a block out leaves no denominator).
pub fn ratio_with_se(blocks: &[(f64, f64)]) -> (f64, f64) {
    let (num, den) = blocks
        .iter()
        .fold((0.0, 0.0), |(n, d), (a, b)| (n + a, d + b));
    let ratio = if den > 0.0 { num / den } else { 0.0 };
    let k = blocks.len();
    let left_out: Vec<f64> = blocks
        .iter()
        .filter(|(_, b)| den - b > 0.0)
        .map(|(a, b)| (num - a) / (den - b))
        .collect();
    if k < 2 || left_out.len() < k {
        return (ratio, 0.0);
    }
    let mean = left_out.iter().sum::<f64>() / k as f64;
    let spread = left_out.iter().map(|t| (t - mean).powi(2)).sum::<f64>();
    (ratio, ((k - 1) as f64 / k as f64 * spread).sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_on_known_cases() {
        let y = [false, false, true, true];
        assert_eq!(auc(&[0.1, 0.2, 0.8, 0.9], &y), 1.0);
        assert_eq!(auc(&[0.9, 0.8, 0.2, 0.1], &y), 0.0);
        assert_eq!(auc(&[0.5; 4], &y), 0.5);
        assert!((brier(&[0.0, 0.0, 1.0, 1.0], &y)).abs() < 1e-12);
        assert!((brier(&[0.5; 4], &y) - 0.25).abs() < 1e-12);
        assert!(ece(&[0.5; 4], &y, 10).abs() < 1e-12);
        assert!((ece(&[0.9; 4], &y, 10) - 0.4).abs() < 1e-12);
        assert_eq!(brier(&[], &[]), 0.0);
    }

    #[test]
    fn the_ratio_error_is_zero_for_equal_blocks_and_grows_with_their_spread() {
        assert_eq!(
            ratio_with_se(&[(2.0, 1.0), (4.0, 2.0), (6.0, 3.0)]),
            (2.0, 0.0)
        );
        // Two blocks: leaving out either gives 1 or 3, so the jackknife error is
        // sqrt(1/2 · ((1 − 2)² + (3 − 2)²)) = 1 around the pooled ratio 2.
        let (r, se) = ratio_with_se(&[(3.0, 1.0), (1.0, 1.0)]);
        assert!(
            (r - 2.0).abs() < 1e-12 && (se - 1.0).abs() < 1e-12,
            "{r} {se}"
        );
        let (_, wider) = ratio_with_se(&[(5.0, 1.0), (1.0, 1.0)]);
        assert!(wider > se);
        assert_eq!(ratio_with_se(&[(3.0, 1.0)]), (3.0, 0.0));
        assert_eq!(ratio_with_se(&[]), (0.0, 0.0));
        assert_eq!(ratio_with_se(&[(1.0, 1.0), (1.0, 0.0)]).1, 0.0);
    }
}
