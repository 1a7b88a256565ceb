//! Sell-out probability: `P(category sold out within H)` for H = 7 days, 14 days and by
//! the event's start, from a [`SellOutFeatures`] snapshot; with the expected sell-out
//! time alongside.
//!
//! One logistic regression per horizon (linfa-logistic, L-BFGS) over standardised
//! features built around the forecast's *shortfall*: the last day's pace shaped by the
//! booking curve ([`crate::shape`]: the last week sells several times an early day's
//! pace) as a coverage of the seats left and as a *shortfall z-score* (the same
//! coverage is near certain for thousands of seats and a coin toss for ten); and the
//! structural forecast of [`crate::level`] (the opening spike still to come, the daily
//! level inferred from the sales path with history-learned priors, and their
//! uncertainty) as shortfall z-scores for the category, on its first day (the
//! opening's snapshots read differently) and with a share of its siblings' unmet
//! demand ([`crate::context`]: neighbours that sell out send their shoppers on). The
//! features are those the training runs' held-out folds score best with: raw paces,
//! the seats left, the days to the event, buzz and the event's own shortfalls let the
//! logistic learn the training events (validation Brier 0.0103 → 0.0090). Then
//! Platt scaling, fitted either on a held-out split of other runs
//! ([`SellOutModel::train`]) or on out-of-fold predictions over all runs
//! ([`SellOutModel::train_cross_fitted`], what training uses: a few held-out runs are a
//! dozen events whose outcomes are correlated, too few to calibrate on).
//!
//! The regression and calibration live in [`crate::logistic`] (which minds linfa 0.8.1's
//! label trap); scoring is a dot product in plain Rust. The feature row is in
//! `sellout_features.rs`, the design matrix and the cross-fitting in `sellout_fit.rs`.
//!
//! The expected sell-out time walks the demand forward hour by hour (the GLM's rate when
//! given, else the recent pace) until the expected sales cover the seats left.

use sellout_ingest::records::Timestamp;
use sellout_pipelines::output::SellOutFeatures;
use serde::{Deserialize, Serialize};

use crate::calibration::{self, Calibration};
use crate::context::EventContext;
use crate::demand::PoissonGlm;
use crate::history::Labelled;
use crate::level::LevelModel;
pub use crate::logistic::{Logistic, Platt, fit_logistic};
pub use crate::pace::expected_sell_out_hours;
pub use crate::shape::diurnal_profile;
use crate::shape::shape_profile;

/// Hours before the event start at which sales close.
pub const CLOSE_HOURS: f64 = 2.75;

/// Why a sell-out model could not be trained.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SellOutError {
    /// No training rows.
    #[error("no training data for horizon {0:?}")]
    NoData(Horizon),
    /// linfa failed.
    #[error("logistic fit failed: {0}")]
    Fit(String),
}

/// A prediction horizon.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Horizon {
    /// Within 7 days.
    Days7,
    /// Within 14 days.
    Days14,
    /// Before the event starts (sales close).
    ByStart,
}

impl Horizon {
    /// All horizons, in order.
    pub const ALL: [Horizon; 3] = [Horizon::Days7, Horizon::Days14, Horizon::ByStart];

    /// Hours of the horizon, `None` for "by start".
    pub fn hours(self) -> Option<f64> {
        match self {
            Horizon::Days7 => Some(168.0),
            Horizon::Days14 => Some(336.0),
            Horizon::ByStart => None,
        }
    }

    /// Selling hours inside the horizon from a snapshot `hours_to_event` before start.
    pub fn effective_hours(self, hours_to_event: f64) -> f64 {
        let left = (hours_to_event - CLOSE_HOURS).max(0.0);
        self.hours().map_or(left, |h| h.min(left))
    }

    /// Whether a category that sold out at `sold_out_at` did so within the horizon.
    pub fn label(self, at: Timestamp, sold_out_at: Option<Timestamp>) -> bool {
        match (sold_out_at, self.hours()) {
            (None, _) => false,
            (Some(_), None) => true,
            (Some(t), Some(h)) => t <= at + (h * 3_600_000.0) as i64,
        }
    }
}

/// The calibrated model of one horizon.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HorizonModel {
    /// Which horizon.
    pub horizon: Horizon,
    /// The raw logistic model.
    pub logistic: Logistic,
    /// Its calibration (Platt or isotonic, chosen on held-out data).
    pub calibration: Calibration,
}

/// Sell-out probabilities of one category now, with the expected sell-out time.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SellOutScore {
    /// `P(sold out within 7 days)`.
    pub within_7d: f64,
    /// `P(sold out within 14 days)`.
    pub within_14d: f64,
    /// `P(sold out before the event starts)`.
    pub by_start: f64,
    /// When the expected sales cover the seats left, if before sales close.
    pub expected_sell_out_at: Option<Timestamp>,
}

/// The three horizons' models.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SellOutModel {
    /// One per horizon, in [`Horizon::ALL`] order.
    pub horizons: Vec<HorizonModel>,
    /// Sales activity by UTC hour ([`diurnal_profile`]; empty: none).
    #[serde(default)]
    pub diurnal: Vec<f64>,
    /// The booking curve's shape by days to the event
    /// ([`crate::shape::shape_profile`]; empty: a flat pace).
    #[serde(default)]
    pub shape: Vec<f64>,
    /// The structural forecast's learned constants ([`crate::level`]).
    #[serde(default)]
    pub level: LevelModel,
}

impl SellOutModel {
    /// Trains on `train` and calibrates on `calibrate` (different runs).
    pub fn train(train: &[Labelled], calibrate: &[Labelled]) -> Result<Self, SellOutError> {
        let diurnal = diurnal_profile(train);
        let shape = shape_profile(train);
        let level = LevelModel::fit(train);
        let mut horizons = Vec::new();
        for horizon in Horizon::ALL {
            let (rows, labels) = design(train, horizon, &diurnal, &shape, &level);
            if rows.is_empty() {
                return Err(SellOutError::NoData(horizon));
            }
            let logistic = fit_logistic(&rows, &labels)?;
            let (cal_rows, cal_labels) = design(calibrate, horizon, &diurnal, &shape, &level);
            let raw: Vec<f64> = cal_rows.iter().map(|r| logistic.probability(r)).collect();
            let positives = cal_labels.iter().filter(|l| **l).count();
            let both = positives >= 5 && cal_labels.len() - positives >= 5;
            let calibration = if both {
                let folds: Vec<usize> = calibrate
                    .iter()
                    .filter(|l| horizon.effective_hours(l.features.hours_to_event) > 0.0)
                    .map(|l| l.seed as usize)
                    .collect();
                calibration::choose(&raw, &cal_labels, &folds)
            } else {
                Calibration::Platt(Platt::IDENTITY)
            };
            horizons.push(HorizonModel {
                horizon,
                logistic,
                calibration,
            });
        }
        Ok(Self {
            horizons,
            diurnal,
            shape,
            level,
        })
    }

    /// Trains on every run, with the calibration (Platt or isotonic, chosen by
    /// held-out Brier across the folds) fitted on out-of-fold predictions: the
    /// runs (seeds) are split into `folds`, each fold is scored by a model fitted on the
    /// others, and the final model is fitted on all. Outcomes of one event are strongly
    /// correlated, so a held-out split of a few runs calibrates on a dozen events only;
    /// cross-fitting calibrates on all of them.
    pub fn train_cross_fitted(data: &[Labelled], folds: usize) -> Result<Self, SellOutError> {
        let mut seeds: Vec<u64> = data.iter().map(|l| l.seed).collect();
        seeds.sort_unstable();
        seeds.dedup();
        let folds = folds.clamp(1, seeds.len().max(1));
        let fold_of = |seed: u64| seeds.binary_search(&seed).unwrap_or(0) % folds;
        let diurnal = diurnal_profile(data);
        let shape = shape_profile(data);
        let fitted = LevelModel::fit(data);
        // The share of siblings' unmet demand a category receives: the candidate
        // with the lowest out-of-fold Brier (the same as the default without folds).
        let mut best: Option<(f64, Vec<HorizonModel>, LevelModel)> = None;
        let candidates: &[f64] = if folds > 1 { &SPILL_CANDIDATES } else { &[0.5] };
        for &spill in candidates {
            let level = LevelModel {
                spill,
                ..fitted.clone()
            };
            let (horizons, error) = cross_fit(data, folds, &fold_of, &diurnal, &shape, &level)?;
            if best.as_ref().is_none_or(|b| error < b.0) {
                best = Some((error, horizons, level));
            }
        }
        let (_, horizons, level) = best.ok_or(SellOutError::NoData(Horizon::Days7))?;
        Ok(Self {
            horizons,
            diurnal,
            shape,
            level,
        })
    }

    /// Calibrated `P(sold out within horizon)` from a snapshot taken at `at`; 1 when
    /// nothing is left. The category is read on its own; [`Self::probability_in`] also
    /// reads its event.
    pub fn probability(
        &self,
        f: &SellOutFeatures,
        list_minor: i64,
        at: Timestamp,
        horizon: Horizon,
    ) -> f64 {
        self.probability_in(f, list_minor, at, horizon, &EventContext::alone(f))
    }

    /// [`Self::probability`] with the category's event ([`EventContext::among`] its
    /// sibling categories' snapshots at the same moment).
    pub fn probability_in(
        &self,
        f: &SellOutFeatures,
        list_minor: i64,
        at: Timestamp,
        horizon: Horizon,
        event: &EventContext,
    ) -> f64 {
        if f.remaining == 0 {
            return 1.0;
        }
        let singles = Horizon::ALL.map(|h| self.single(f, list_minor, at, h, event));
        let k = Horizon::ALL.iter().position(|h| *h == horizon).unwrap_or(0);
        nested(singles, f.hours_to_event)[k]
    }

    /// One horizon's calibrated probability, on its own.
    fn single(
        &self,
        f: &SellOutFeatures,
        list_minor: i64,
        at: Timestamp,
        horizon: Horizon,
        event: &EventContext,
    ) -> f64 {
        if horizon.effective_hours(f.hours_to_event) <= 0.0 {
            return 0.0;
        }
        self.horizons
            .iter()
            .find(|m| m.horizon == horizon)
            .map_or(0.0, |m| {
                let row = feature_row(
                    f,
                    list_minor,
                    at,
                    horizon,
                    &self.diurnal,
                    &self.shape,
                    &self.level,
                    event,
                );
                m.calibration.apply(m.logistic.probability(&row))
            })
    }

    /// Scores a snapshot taken at `at` (the snapshot's event time, never the wall clock).
    pub fn score(
        &self,
        f: &SellOutFeatures,
        list_minor: i64,
        at: Timestamp,
        demand: Option<&PoissonGlm>,
    ) -> SellOutScore {
        self.score_in(f, list_minor, at, demand, &EventContext::alone(f))
    }

    /// [`Self::score`] with the category's event ([`EventContext::among`]): each
    /// horizon's model once, the longer horizons never below the shorter.
    pub fn score_in(
        &self,
        f: &SellOutFeatures,
        list_minor: i64,
        at: Timestamp,
        demand: Option<&PoissonGlm>,
        event: &EventContext,
    ) -> SellOutScore {
        let one = |h| {
            if f.remaining == 0 {
                1.0
            } else {
                self.single(f, list_minor, at, h, event)
            }
        };
        let [within_7d, within_14d, by_start] = nested(Horizon::ALL.map(one), f.hours_to_event);
        SellOutScore {
            within_7d,
            within_14d,
            by_start,
            expected_sell_out_at: expected_sell_out_hours(f, list_minor, demand)
                .map(|h| at + (h * 3_600_000.0) as i64),
        }
    }
}

/// Each horizon's probability (in [`Horizon::ALL`] order) from each horizon's own model
/// (`singles`, same order) `hours_to_event` before the start. Horizons whose windows
/// reach the close ask one question: the mean of their models answers it for all of
/// them (validation Brier 0.00502 → 0.00489; the max of the two cost by-start). Sold out
/// within a shorter window implies within a longer one: never less likely.
fn nested(singles: [f64; 3], hours_to_event: f64) -> [f64; 3] {
    let windows = Horizon::ALL.map(|h| h.effective_hours(hours_to_event));
    std::array::from_fn(|k| {
        let (mut same, mut n, mut shorter) = (0.0f64, 0.0f64, 0.0f64);
        for (p, w) in singles.iter().zip(&windows) {
            if *w == windows[k] {
                same += p;
                n += 1.0;
            } else if *w < windows[k] {
                shorter = shorter.max(*p);
            }
        }
        shorter.max(same / n.max(1.0))
    })
}

#[path = "sellout_fit.rs"]
mod fit;
pub use fit::design;
use fit::{SPILL_CANDIDATES, cross_fit};

#[path = "sellout_features.rs"]
mod features;
pub use features::{NF, SELLOUT_FEATURES, feature_row};

#[cfg(test)]
#[path = "sellout_tests.rs"]
mod tests;
