//! Calibration of raw probabilities: isotonic regression (pool-adjacent-violators) and
//! the choice between it and [`Platt`] scaling on held-out data.
//!
//! Isotonic regression fits the best non-decreasing step function of the raw
//! probability; it corrects any monotone distortion (Platt only a sigmoid-shaped one)
//! but needs more data and can overfit small sets. [`choose`] decides per model: both
//! calibrators are fitted on all folds but one of the (out-of-fold) raw predictions and
//! scored (Brier) on the fold left out; the one with the lower held-out Brier is then
//! fitted on all of them.

use serde::{Deserialize, Serialize};

use crate::logistic::Platt;
use crate::metrics::brier;

/// Probabilities are kept this far from 0 and 1 (a certain answer is never calibrated).
const EDGE: f64 = 1e-4;

/// A fitted isotonic calibration: block centres (ascending raw probability) and the
/// calibrated value of each block, interpolated linearly between centres.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Isotonic {
    /// Mean raw probability of each block, ascending.
    pub x: Vec<f64>,
    /// Calibrated probability of each block, non-decreasing.
    pub y: Vec<f64>,
}

impl Isotonic {
    /// Fits by pool-adjacent-violators; `None` without data.
    pub fn fit(raw: &[f64], labels: &[bool]) -> Option<Isotonic> {
        let mut pairs: Vec<(f64, f64)> = raw
            .iter()
            .zip(labels)
            .filter(|(p, _)| p.is_finite())
            .map(|(&p, &y)| (p, if y { 1.0 } else { 0.0 }))
            .collect();
        if pairs.is_empty() {
            return None;
        }
        pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
        // Blocks of (sum of x, sum of y, count), merged while they violate monotonicity.
        let mut blocks: Vec<(f64, f64, f64)> = Vec::with_capacity(pairs.len());
        for (x, y) in pairs {
            blocks.push((x, y, 1.0));
            while blocks.len() > 1 {
                let n = blocks.len();
                let (a, b) = (blocks[n - 2], blocks[n - 1]);
                if a.1 / a.2 < b.1 / b.2 {
                    break;
                }
                blocks.truncate(n - 2);
                blocks.push((a.0 + b.0, a.1 + b.1, a.2 + b.2));
            }
        }
        Some(Isotonic {
            x: blocks.iter().map(|b| b.0 / b.2).collect(),
            y: blocks
                .iter()
                .map(|b| (b.1 / b.2).clamp(EDGE, 1.0 - EDGE))
                .collect(),
        })
    }

    /// Calibrated probability of a raw one.
    pub fn apply(&self, p: f64) -> f64 {
        let n = self.x.len().min(self.y.len());
        if n == 0 || !p.is_finite() {
            return p.clamp(0.0, 1.0);
        }
        let i = self.x[..n].partition_point(|&x| x <= p);
        if i == 0 {
            return self.y[0];
        }
        if i == n {
            return self.y[n - 1];
        }
        let (x0, x1, y0, y1) = (self.x[i - 1], self.x[i], self.y[i - 1], self.y[i]);
        if x1 - x0 <= 1e-15 {
            return y1;
        }
        y0 + (y1 - y0) * (p - x0) / (x1 - x0)
    }
}

/// The calibration of one model: Platt or isotonic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Calibration {
    /// Platt scaling.
    Platt(Platt),
    /// Isotonic regression.
    Isotonic(Isotonic),
}

impl Calibration {
    /// Calibrated probability of a raw one.
    pub fn apply(&self, p: f64) -> f64 {
        match self {
            Calibration::Platt(c) => c.apply(p),
            Calibration::Isotonic(c) => c.apply(p),
        }
    }

    /// Fits Platt when `isotonic` is false, else isotonic (Platt when that fails).
    pub fn fit(raw: &[f64], labels: &[bool], isotonic: bool) -> Calibration {
        if isotonic && let Some(c) = Isotonic::fit(raw, labels) {
            return Calibration::Isotonic(c);
        }
        Calibration::Platt(Platt::fit(raw, labels))
    }
}

/// Chooses Platt or isotonic by held-out Brier over `folds` (a fold index per
/// prediction, e.g. by run so that correlated outcomes stay together), then fits the
/// winner on everything. With fewer than two folds, Platt.
pub fn choose(raw: &[f64], labels: &[bool], folds: &[usize]) -> Calibration {
    let mut ids: Vec<usize> = folds.to_vec();
    ids.sort_unstable();
    ids.dedup();
    if ids.len() < 2 || raw.len() != labels.len() || raw.len() != folds.len() {
        return Calibration::Platt(Platt::fit(raw, labels));
    }
    let mut held = [(Vec::new(), Vec::new()), (Vec::new(), Vec::new())];
    for &f in &ids {
        let split = |keep: bool| -> (Vec<f64>, Vec<bool>) {
            raw.iter()
                .zip(labels)
                .zip(folds)
                .filter(|(_, k)| (**k == f) == keep)
                .map(|((p, y), _)| (*p, *y))
                .unzip()
        };
        let (fit_p, fit_y) = split(false);
        let (test_p, test_y) = split(true);
        for (slot, isotonic) in [false, true].into_iter().enumerate() {
            let c = Calibration::fit(&fit_p, &fit_y, isotonic);
            held[slot].0.extend(test_p.iter().map(|p| c.apply(*p)));
            held[slot].1.extend(test_y.iter().copied());
        }
    }
    let platt = brier(&held[0].0, &held[0].1);
    let isotonic = brier(&held[1].0, &held[1].1);
    Calibration::fit(raw, labels, isotonic < platt)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn isotonic_is_monotone_and_fixes_a_distortion_platt_cannot() {
        // True probability is a step: 0.05 below 0.5 raw, 0.9 above (not a sigmoid of
        // the logit), seen through many deterministic outcomes at each raw value.
        let mut raw = Vec::new();
        let mut y = Vec::new();
        for i in 0..2000 {
            let p = (i % 100) as f64 / 100.0 + 0.005;
            let truth = if p < 0.5 { 0.05 } else { 0.9 };
            raw.push(p);
            y.push(((i / 100) as f64 + 0.5) / 20.0 < truth);
        }
        let iso = Isotonic::fit(&raw, &y).unwrap();
        assert!(iso.y.windows(2).all(|w| w[0] <= w[1]), "{iso:?}");
        assert!((iso.apply(0.2) - 0.05).abs() < 0.03, "{}", iso.apply(0.2));
        assert!((iso.apply(0.8) - 0.9).abs() < 0.03, "{}", iso.apply(0.8));
        // Outside the fitted range: the end values.
        assert_eq!(iso.apply(-1.0), iso.y[0]);
        assert_eq!(iso.apply(2.0), iso.y[iso.y.len() - 1]);
        // Held-out choice picks isotonic here (Platt can't make a step).
        let folds: Vec<usize> = (0..raw.len()).map(|i| i % 4).collect();
        assert!(matches!(choose(&raw, &y, &folds), Calibration::Isotonic(_)));
    }

    #[test]
    fn held_out_choice_keeps_platt_when_the_raw_model_is_already_a_sigmoid() {
        // Outcomes drawn exactly at the raw probability, few rows: Platt (2 parameters)
        // generalises better than a step function fitted on a few hundred points.
        let mut raw = Vec::new();
        let mut y = Vec::new();
        let mut state = 12_345u64;
        for i in 0..300 {
            let p = (i % 50) as f64 / 50.0 + 0.01;
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            let u = (state >> 11) as f64 / (1u64 << 53) as f64;
            raw.push(p);
            y.push(u < p);
        }
        let folds: Vec<usize> = (0..raw.len()).map(|i| i % 3).collect();
        assert!(matches!(choose(&raw, &y, &folds), Calibration::Platt(_)));
        // No folds to hold out: Platt.
        assert!(matches!(choose(&raw, &y, &[0; 300]), Calibration::Platt(_)));
    }
}
