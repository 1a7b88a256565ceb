//! The demand prior every category's online GLM starts from, fitted on history: the
//! level, time, buzz (and, when history varied its prices, price) terms of a Poisson GLM
//! over consecutive snapshots ([`crate::train::demand_observations`]).
//!
//! The time term is a power law in hours to the event, but history's booking curve is
//! not one: over a whole sale the fitted slope is steeper (about −0.58 in the default
//! history) than over its last week (about −0.42), where the curve flattens into the
//! late rise. A sale priced over the last week planned with the whole sale's slope
//! expects too much of its last days and prices its first ones too high (7–10% above
//! the clairvoyant's price in every market scenario). So [`prior_within`] fits the
//! prior on the stretches within the span being priced: the slope that span saw.

use crate::demand::{DemandError, Observation, PoissonGlm, Prior};
use crate::history::Labelled;
use crate::train::{demand_observations, price_varies};

/// Fewest stretches a span's fit needs; with fewer, the whole history's prior is used.
pub const MIN_SPAN_OBSERVATIONS: usize = 200;

/// Fits the prior on `observations` (all of them).
pub fn fit_prior(observations: &[Observation]) -> Result<Prior, DemandError> {
    let default = Prior::default();
    // Momentum is pinned at 0 in the fit as in serving: in a pricing loop it feeds back
    // (a higher price lowers momentum, which lowers predicted demand, which lowers the
    // price; it cost 1–3% revenue in the market evaluation).
    let fit_prior = Prior {
        precision: [1e-4, default.precision[1], 1.0, 1e6, 1.0],
        ..default
    };
    let glm = PoissonGlm::fit(fit_prior, observations, observations.len())?;
    // Keep the fitted level, time shape and buzz. The elasticity is kept only when
    // history varied its prices (else it holds no information about price and the
    // default's stays).
    let elasticity = if price_varies(observations) {
        glm.coef[1].clamp(-6.0, -0.2)
    } else {
        default.mean[1]
    };
    Ok(Prior {
        mean: [
            glm.coef[0],
            elasticity,
            glm.coef[2].clamp(-1.0, 0.0),
            0.0,
            glm.coef[4].clamp(0.0, 1.0),
        ],
        // The buzz term is fitted on every stretch of history (thousands): held as
        // firmly as the time term, so that a single quiet or busy step of a new sale
        // can't swing it (buzz is nearly constant most of the time, so with a loose
        // prior it trades off against the level and a stray step moved the price by
        // a third in the market evaluation).
        precision: [1e-4, 8.0, 16.0, 1e6, 16.0],
    })
}

/// The prior for a sale with `hours_to_event` left: fitted on the stretches of
/// `history` that started within that many hours of their event (the whole history
/// when fewer than [`MIN_SPAN_OBSERVATIONS`] did, or the span is not finite).
pub fn prior_within(history: &[Labelled], hours_to_event: f64) -> Result<Prior, DemandError> {
    let all = demand_observations(history);
    let within: Vec<Observation> = all
        .iter()
        .filter(|o| o.inputs.hours_to_event <= hours_to_event)
        .copied()
        .collect();
    if within.len() >= MIN_SPAN_OBSERVATIONS {
        fit_prior(&within)
    } else {
        fit_prior(&all)
    }
}

/// Spans (hours to the event) a bundle fits priors for: a day, three days, a week,
/// two weeks, a month.
pub const SPANS_H: [f64; 5] = [24.0, 72.0, 168.0, 336.0, 720.0];

/// A prior fitted on the stretches within `hours` of their event ([`prior_within`]).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SpanPrior {
    /// The span's length: hours to the event at most.
    pub hours: f64,
    /// The prior fitted on it.
    pub prior: Prior,
}

/// The priors of [`SPANS_H`] that history has enough stretches for, shortest first.
pub fn span_priors(history: &[Labelled]) -> Vec<SpanPrior> {
    let all = demand_observations(history);
    SPANS_H
        .iter()
        .filter_map(|&hours| {
            let within: Vec<Observation> = all
                .iter()
                .filter(|o| o.inputs.hours_to_event <= hours)
                .copied()
                .collect();
            (within.len() >= MIN_SPAN_OBSERVATIONS)
                .then(|| fit_prior(&within).ok())
                .flatten()
                .map(|prior| SpanPrior { hours, prior })
        })
        .collect()
}

/// The prior for a sale first priced `hours_to_event` before its event: the shortest
/// span that covers it, else `whole` (the whole history's).
pub fn prior_for(spans: &[SpanPrior], whole: Prior, hours_to_event: f64) -> Prior {
    spans
        .iter()
        .filter(|s| hours_to_event.is_finite() && s.hours >= hours_to_event)
        .min_by(|a, b| a.hours.total_cmp(&b.hours))
        .map_or(whole, |s| s.prior)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{HistoryConfig, generate};

    #[test]
    fn the_last_weeks_slope_is_flatter_than_the_whole_sales() {
        let h = generate(&HistoryConfig {
            seeds: vec![61, 62],
            events: 4,
            sale_days: 21.0,
            scale: 0.4,
            hotness: (0.1, 1.2),
            snapshot_hours: 6.0,
            price_factors: Vec::new(),
        })
        .unwrap();
        let whole = fit_prior(&demand_observations(&h.snapshots)).unwrap();
        let week = prior_within(&h.snapshots, 171.0).unwrap();
        eprintln!("whole {:?}\nweek {:?}", whole.mean, week.mean);
        // History's booking curve flattens into its late rise: over the last week the
        // power law's slope is shallower than over the whole sale.
        assert!(week.mean[2] > whole.mean[2] + 0.05, "{week:?} {whole:?}");
        // A span longer than any sale is the whole history; one too short to fit falls
        // back to it.
        assert_eq!(prior_within(&h.snapshots, 1e9).unwrap(), whole);
        assert_eq!(prior_within(&h.snapshots, 0.5).unwrap(), whole);
        assert_eq!(prior_within(&h.snapshots, f64::NAN).unwrap(), whole);
        // The bundle's spans are those fits; a sale is priced with the shortest span
        // that covers its hours left, the whole history's past the longest.
        let spans = span_priors(&h.snapshots);
        let week_span = spans
            .iter()
            .find(|s| s.hours == 168.0)
            .expect("a week's span");
        assert_eq!(week_span.prior, prior_within(&h.snapshots, 168.0).unwrap());
        assert_eq!(prior_for(&spans, whole, 100.0), week_span.prior);
        assert_eq!(prior_for(&spans, whole, 168.0), week_span.prior);
        assert_ne!(prior_for(&spans, whole, 169.0), week_span.prior);
        assert_eq!(prior_for(&spans, whole, 1e6), whole);
        assert_eq!(prior_for(&spans, whole, f64::NAN), whole);
    }
}
