//! Fitting the sell-out model's horizons: the design matrix of labelled snapshots, and
//! each horizon's logistic with its calibration on out-of-fold predictions
//! ([`super::SellOutModel::train_cross_fitted`]).

use super::{Horizon, HorizonModel, SellOutError, feature_row};
use crate::calibration::{self, Calibration};
use crate::context::contexts;
use crate::history::Labelled;
use crate::level::LevelModel;
use crate::logistic::{Platt, fit_logistic};

/// Shares of siblings' unmet demand tried by
/// [`super::SellOutModel::train_cross_fitted`]; at
/// most all of it (more would be shoppers who never came).
pub(super) const SPILL_CANDIDATES: [f64; 3] = [0.5, 1.0, 2.0];

/// Each horizon's logistic fitted on all rows and calibrated on out-of-fold
/// predictions, with the out-of-fold squared error summed over the horizons.
pub(super) fn cross_fit(
    data: &[Labelled],
    folds: usize,
    fold_of: &dyn Fn(u64) -> usize,
    diurnal: &[f64],
    shape: &[f64],
    level: &LevelModel,
) -> Result<(Vec<HorizonModel>, f64), SellOutError> {
    let mut error = 0.0;
    let mut horizons = Vec::new();
    for horizon in Horizon::ALL {
        let (rows, labels) = design(data, horizon, diurnal, shape, level);
        if rows.is_empty() {
            return Err(SellOutError::NoData(horizon));
        }
        let row_folds: Vec<usize> = data
            .iter()
            .filter(|l| horizon.effective_hours(l.features.hours_to_event) > 0.0)
            .map(|l| fold_of(l.seed))
            .collect();
        let mut raw = vec![0.5; rows.len()];
        if folds > 1 {
            for f in 0..folds {
                let (fit_rows, fit_labels): (Vec<Vec<f64>>, Vec<bool>) = rows
                    .iter()
                    .zip(&labels)
                    .zip(&row_folds)
                    .filter(|(_, k)| **k != f)
                    .map(|((r, y), _)| (r.clone(), *y))
                    .unzip();
                if fit_rows.is_empty() {
                    continue;
                }
                let model = fit_logistic(&fit_rows, &fit_labels)?;
                for (i, _) in row_folds.iter().enumerate().filter(|(_, k)| **k == f) {
                    raw[i] = model.probability(&rows[i]);
                }
            }
        }
        error += raw
            .iter()
            .zip(&labels)
            .map(|(p, y)| (p - if *y { 1.0 } else { 0.0 }).powi(2))
            .sum::<f64>();
        let positives = labels.iter().filter(|l| **l).count();
        let both = folds > 1 && positives >= 5 && labels.len() - positives >= 5;
        let calibration = if both {
            calibration::choose(&raw, &labels, &row_folds)
        } else {
            Calibration::Platt(Platt::IDENTITY)
        };
        horizons.push(HorizonModel {
            horizon,
            logistic: fit_logistic(&rows, &labels)?,
            calibration,
        });
    }
    Ok((horizons, error))
}

/// Rows and labels of labelled snapshots for one horizon.
pub fn design(
    data: &[Labelled],
    horizon: Horizon,
    diurnal: &[f64],
    shape: &[f64],
    level: &LevelModel,
) -> (Vec<Vec<f64>>, Vec<bool>) {
    data.iter()
        .zip(contexts(data))
        .filter(|(l, _)| horizon.effective_hours(l.features.hours_to_event) > 0.0)
        .map(|(l, event)| {
            (
                feature_row(
                    &l.features,
                    l.list_minor,
                    l.time,
                    horizon,
                    diurnal,
                    shape,
                    level,
                    &event,
                )
                .to_vec(),
                horizon.label(l.time, l.sold_out_at),
            )
        })
        .unzip()
}
