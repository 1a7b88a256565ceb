//! Scores of probabilistic predictions against outcomes: Brier score, expected
//! calibration error (equal-width bins) and the area under the ROC curve (rank
//! statistic, ties counted half). Pure functions over slices; empty input gives 0
//! (Brier, ECE) or 0.5 (AUC) rather than NaN.

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
}
