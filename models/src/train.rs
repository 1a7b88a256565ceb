//! Training: from labelled history to a [`ModelBundle`] (sell-out models for the three
//! horizons and the demand prior every category's online GLM starts from), and the
//! bundle's round trip through the [`Registry`].
//!
//! The demand prior ([`crate::demand_prior`]) is a Poisson GLM fitted on consecutive
//! snapshots of the same category (purchases between them over the hours between them).
//! History sold at list prices says nothing about elasticity, so the elasticity keeps
//! the default prior and the fit learns the level, time, momentum and buzz terms.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::demand::{DEMAND_FEATURES, DemandInputs, Observation, Prior};
use crate::history::Labelled;
use crate::registry::{Meta, Registry, RegistryError, TrainingRange, Version};
use crate::sellout::{SELLOUT_FEATURES, SellOutError, SellOutModel};

/// Registry name of the bundle.
pub const BUNDLE_NAME: &str = "sellout";
/// Registry kind of the bundle.
pub const BUNDLE_KIND: &str = "sellout_bundle";

/// Why training failed.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// The sell-out model could not be fitted.
    #[error(transparent)]
    SellOut(#[from] SellOutError),
    /// The demand prior could not be fitted.
    #[error(transparent)]
    Demand(#[from] crate::demand::DemandError),
    /// The registry failed.
    #[error(transparent)]
    Registry(#[from] RegistryError),
}

/// Everything serving needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelBundle {
    /// Sell-out probability per horizon.
    pub sellout: SellOutModel,
    /// The prior of every category's demand GLM (fitted on history).
    pub demand_prior: Prior,
    /// Priors of new events from their cluster (absent in bundles trained before it).
    #[serde(default)]
    pub cold_start: Option<crate::coldstart::ColdStartModel>,
    /// Demand priors fitted on the last day, days, week… before events
    /// ([`crate::demand_prior::span_priors`]): a sale is priced with the slope of the
    /// span it has left, not the whole sale's (empty in bundles trained before them).
    #[serde(default)]
    pub demand_priors_by_span: Vec<crate::demand_prior::SpanPrior>,
}

/// Demand observations from consecutive snapshots of each category.
pub fn demand_observations(history: &[Labelled]) -> Vec<Observation> {
    let mut by_key: BTreeMap<(u64, &str, &str), Vec<&Labelled>> = BTreeMap::new();
    for l in history {
        by_key
            .entry((l.seed, &l.features.event_id, &l.features.category_id))
            .or_default()
            .push(l);
    }
    let mut out = Vec::new();
    for snaps in by_key.values_mut() {
        snaps.sort_by_key(|l| l.time);
        // The opening spike (first day) is its own phenomenon, not the price response
        // and time trend the pricing horizon needs: it would bend the time term upwards.
        let opening_end = snaps.first().map_or(0, |l| l.time) + 24 * 3_600_000;
        for pair in snaps.windows(2).filter(|p| p[0].time >= opening_end) {
            let (a, b) = (pair[0], pair[1]);
            let hours = (b.time - a.time) as f64 / 3_600_000.0;
            // Skip stretches that ended in a sell-out (their demand is censored) and
            // stretches whose price changed on the way (the price they sold at is not
            // the one at their start).
            if hours <= 0.0
                || b.features.remaining == 0
                || a.features.price_minor != b.features.price_minor
            {
                continue;
            }
            let bought = f64::from(b.features.sold) - f64::from(a.features.sold);
            out.push(Observation {
                inputs: DemandInputs::from_features(&a.features, a.list_minor),
                purchases: bought.max(0.0),
                exposure_hours: hours,
            });
        }
    }
    out
}

/// Whether the observations' prices vary enough to identify the price response: a
/// standard deviation of ln(price / list) of at least 0.05.
pub fn price_varies(observations: &[Observation]) -> bool {
    let n = observations.len() as f64;
    if n < 2.0 {
        return false;
    }
    let x: Vec<f64> = observations
        .iter()
        .map(|o| o.inputs.price_ratio.max(1e-3).ln())
        .collect();
    let mean = x.iter().sum::<f64>() / n;
    let var = x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
    var.sqrt() >= 0.05
}

/// Trains the bundle on both sets: sell-out cross-fitted over the runs (Platt on
/// out-of-fold predictions, see [`SellOutModel::train_cross_fitted`]), demand on all.
pub fn train(train: &[Labelled], calibrate: &[Labelled]) -> Result<ModelBundle, TrainError> {
    let mut all_rows = train.to_vec();
    all_rows.extend_from_slice(calibrate);
    let sellout = SellOutModel::train_cross_fitted(&all_rows, 4)?;
    let mut all = demand_observations(train);
    all.extend(demand_observations(calibrate));
    let demand_prior = crate::demand_prior::fit_prior(&all)?;
    let events = {
        let mut ids: Vec<(u64, &str)> = all_rows
            .iter()
            .map(|l| (l.seed, l.features.event_id.as_str()))
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids.len()
    };
    let cold_start =
        crate::coldstart::ColdStartModel::fit(&all_rows, demand_prior, (events / 4).clamp(1, 6));
    let demand_priors_by_span = crate::demand_prior::span_priors(&all_rows);
    Ok(ModelBundle {
        sellout,
        demand_prior,
        cold_start,
        demand_priors_by_span,
    })
}

/// Saves a bundle as the next version; `trained_at` is event time passed in.
pub fn save(
    registry: &Registry,
    bundle: &ModelBundle,
    history: &[Labelled],
    metrics: BTreeMap<String, f64>,
    trained_at: i64,
) -> Result<u64, TrainError> {
    let features = feature_names();
    let meta = Meta {
        format_version: 0,
        name: BUNDLE_NAME.into(),
        version: 0,
        kind: BUNDLE_KIND.into(),
        features,
        training_range: TrainingRange {
            from: history.iter().map(|l| l.time).min().unwrap_or(0),
            to: history.iter().map(|l| l.time).max().unwrap_or(0),
            rows: history.len() as u64,
        },
        metrics,
        trained_at,
    };
    Ok(registry.save(bundle, meta)?)
}

/// Loads the newest or a pinned bundle; one trained on other features (an older build)
/// is incompatible, not silently misread.
pub fn load(registry: &Registry, version: Version) -> Result<(ModelBundle, Meta), TrainError> {
    let (bundle, meta): (ModelBundle, Meta) = registry.load(BUNDLE_NAME, BUNDLE_KIND, version)?;
    let expected = feature_names();
    if meta.features != expected {
        return Err(TrainError::Registry(RegistryError::Incompatible {
            path: format!("{BUNDLE_NAME} version {}", meta.version),
            reason: format!(
                "trained on features {:?}, this build reads {expected:?}",
                meta.features
            ),
        }));
    }
    Ok((bundle, meta))
}

/// The features a bundle is trained on, in its metadata: sell-out then demand.
fn feature_names() -> Vec<String> {
    SELLOUT_FEATURES
        .iter()
        .chain(DEMAND_FEATURES.iter())
        .map(|s| (*s).to_owned())
        .collect()
}

/// `sellout train --history DIR`: reads the Parquet history in `history_dir`, trains
/// (the last third of the seeds, at least one, calibrate), scores the calibration split
/// and saves the bundle as the next version in `registry`. Returns the version.
pub fn train_dir(
    history_dir: &std::path::Path,
    registry: &Registry,
    trained_at: i64,
) -> Result<u64, TrainDirError> {
    train_rows(
        crate::history_io::read_dir(history_dir)?,
        registry,
        trained_at,
    )
}

/// Trains on labelled `rows` (from any source: simulated history, or the archive via
/// [`crate::recorded`]) as [`train_dir`] does, holding out the last third of the groups
/// (`seed`s) for calibration. Returns the version saved.
pub fn train_rows(
    rows: Vec<Labelled>,
    registry: &Registry,
    trained_at: i64,
) -> Result<u64, TrainDirError> {
    let mut seeds: Vec<u64> = rows.iter().map(|l| l.seed).collect();
    seeds.sort_unstable();
    seeds.dedup();
    if seeds.len() < 2 {
        return Err(TrainDirError::Seeds(seeds.len()));
    }
    let cut = seeds[seeds.len() - (seeds.len() / 3).max(1)];
    let (fit, cal): (Vec<_>, Vec<_>) = rows.iter().cloned().partition(|l| l.seed < cut);
    let bundle = train(&fit, &cal)?;
    let mut metrics = BTreeMap::new();
    for horizon in crate::sellout::Horizon::ALL {
        let (p, y): (Vec<f64>, Vec<bool>) = cal
            .iter()
            .filter(|l| horizon.effective_hours(l.features.hours_to_event) > 0.0)
            .map(|l| {
                (
                    bundle
                        .sellout
                        .probability(&l.features, l.list_minor, l.time, horizon),
                    horizon.label(l.time, l.sold_out_at),
                )
            })
            .unzip();
        let name = format!("{horizon:?}").to_lowercase();
        metrics.insert(
            format!("calibration_brier_{name}"),
            crate::metrics::brier(&p, &y),
        );
        metrics.insert(
            format!("calibration_auc_{name}"),
            crate::metrics::auc(&p, &y),
        );
    }
    Ok(save(registry, &bundle, &rows, metrics, trained_at)?)
}

/// Why `train_dir` failed.
#[derive(Debug, thiserror::Error)]
pub enum TrainDirError {
    /// The history could not be read.
    #[error(transparent)]
    History(#[from] crate::history_io::HistoryIoError),
    /// Training or saving failed.
    #[error(transparent)]
    Train(#[from] TrainError),
    /// Too few runs to hold some out for calibration.
    #[error("history has {0} run(s) or event(s) (seeds); at least 2 are needed to calibrate")]
    Seeds(usize),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{HistoryConfig, generate};

    #[test]
    fn price_changes_in_history_make_the_elasticity_identifiable() {
        let config = HistoryConfig {
            seeds: vec![41, 42],
            events: 4,
            sale_days: 10.0,
            scale: 0.3,
            hotness: (0.3, 0.8),
            snapshot_hours: 6.0,
            price_factors: vec![0.8, 1.0, 1.25],
        };
        let h = generate(&config).unwrap();
        // The simulator's elasticity of purchase at list, averaged over categories.
        let truths: Vec<f64> = h
            .truths
            .iter()
            .flat_map(|t| &t.events)
            .flat_map(|e| &e.categories)
            .map(|c| c.elasticity(c.list_price_minor))
            .collect();
        let truth = truths.iter().sum::<f64>() / truths.len() as f64;
        let obs = demand_observations(&h.snapshots);
        assert!(price_varies(&obs));
        let (train_rows, cal_rows): (Vec<_>, Vec<_>) =
            h.snapshots.iter().cloned().partition(|l| l.seed == 41);
        let bundle = train(&train_rows, &cal_rows).unwrap();
        let fitted = bundle.demand_prior.mean[1];
        eprintln!("fitted elasticity {fitted}, simulator's {truth}");
        // The single view's elasticity overstates the funnel's a little (a shopper who
        // declines looks at other categories, so a sale survives some price rises).
        assert!((fitted - truth).abs() < 0.5, "{fitted} vs {truth}");
        // Learned from the price changes, not the default's −2.
        assert!((fitted - Prior::default().mean[1]).abs() > 0.3, "{fitted}");
        // At list prices only, history says nothing and the default stays.
        let flat = generate(&HistoryConfig {
            price_factors: Vec::new(),
            ..config
        })
        .unwrap();
        assert!(!price_varies(&demand_observations(&flat.snapshots)));
        let (a, b): (Vec<_>, Vec<_>) = flat.snapshots.into_iter().partition(|l| l.seed == 41);
        assert_eq!(
            train(&a, &b).unwrap().demand_prior.mean[1],
            Prior::default().mean[1]
        );
    }

    #[test]
    fn trains_from_a_parquet_directory_into_the_registry_and_loads_back() {
        let h = generate(&HistoryConfig {
            seeds: vec![21, 22],
            events: 4,
            sale_days: 6.0,
            scale: 0.3,
            hotness: (0.2, 1.5),
            snapshot_hours: 12.0,
            price_factors: Vec::new(),
        })
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let hist = dir.path().join("history");
        std::fs::create_dir_all(&hist).unwrap();
        crate::history_io::write(&hist.join("part-0.parquet"), &h.snapshots).unwrap();
        let registry = Registry::new(dir.path().join("models"));
        let v = train_dir(&hist, &registry, 1_795_424_400_000).unwrap();
        assert_eq!(v, 1);
        let (bundle, meta) = load(&registry, Version::Newest).unwrap();
        assert_eq!(meta.training_range.rows, h.snapshots.len() as u64);
        assert!(meta.metrics.contains_key("calibration_auc_bystart"));
        assert_eq!(bundle.sellout.horizons.len(), 3);
    }
}
