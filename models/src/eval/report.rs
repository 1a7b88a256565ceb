//! The report types of the evaluation: [`EvalReport`], the one JSON line
//! `sellout eval` prints, and the sell-out figures ([`SellOutEval`]) it holds per
//! horizon. Only the shapes live here; [`super::evaluate`] fills them in, the sell-out
//! figures through [`super::evaluate_sellout`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::market::MarketResult;

/// Sell-out figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SellOutEval {
    /// Brier score of the calibrated model.
    pub brier: f64,
    /// Brier score of the oracle (true parameters).
    pub oracle_brier: f64,
    /// `brier / oracle_brier`: what the target (≤ 1.1) reads.
    #[serde(default)]
    pub brier_vs_oracle: f64,
    /// Jackknife standard error of `brier_vs_oracle` over the test runs (one left out at
    /// a time): a run's events share one market, so runs, not rows, are the samples.
    /// With six runs it is wide; compare models on the same runs, paired.
    #[serde(default)]
    pub brier_vs_oracle_se: f64,
    /// Expected calibration error.
    pub ece: f64,
    /// Expected calibration error of the oracle (a check on the oracle itself).
    pub oracle_ece: f64,
    /// Mean probability of the model.
    pub mean_p: f64,
    /// Mean probability of the oracle.
    pub oracle_mean_p: f64,
    /// Area under the ROC curve.
    pub auc: f64,
    /// Scored (snapshot, horizon) pairs.
    pub n: usize,
    /// Share of positives.
    pub base_rate: f64,
}

/// The report `sellout eval` prints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalReport {
    /// Brier over all horizons.
    pub brier: f64,
    /// Oracle Brier over the same pairs.
    pub oracle_brier: f64,
    /// `brier / oracle_brier`.
    #[serde(default)]
    pub brier_vs_oracle: f64,
    /// Its jackknife standard error over the test runs.
    #[serde(default)]
    pub brier_vs_oracle_se: f64,
    /// ECE over all horizons.
    pub ece: f64,
    /// AUC over all horizons.
    pub auc: f64,
    /// Per horizon (`days7`, `days14`, `by_start`).
    pub sellout_by_horizon: BTreeMap<String, SellOutEval>,
    /// Per pricing scenario.
    pub scenarios: Vec<MarketResult>,
    /// Mean of `revenue_vs_optimal` over scenarios.
    pub revenue_vs_optimal_mean: f64,
    /// Mean of `static_vs_optimal` over scenarios.
    pub static_vs_optimal_mean: f64,
    /// Mean of `foresight_free_vs_optimal` over scenarios.
    #[serde(default)]
    pub foresight_free_vs_optimal_mean: f64,
    /// Whether the closed loop beat the best static price in every scenario.
    pub beats_static_everywhere: bool,
    /// Training rows (snapshots).
    pub train_rows: usize,
    /// Test rows (snapshots).
    pub test_rows: usize,
}
