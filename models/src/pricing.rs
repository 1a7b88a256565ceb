//! The pricing entry: from a category's feature snapshot and its bounds to a
//! [`PriceDecision`], by asking a demand model for the rate at every grid price and every
//! remaining step, then solving the optimiser ([`crate::optimiser::optimise`]).
//!
//! The future is extrapolated simply: hours to event advance step by step; momentum
//! stays at its current value; buzz above its baseline (the least seen in the
//! category's recent snapshots) fades by [`PricingConfig::buzz_persistence`] per step,
//! because social spikes do (pricing the whole horizon at a spike's buzz set the cap
//! for a day in the market evaluation). The model is re-solved at every snapshot. The
//! horizon ends when sales close.

use sellout_pipelines::output::SellOutFeatures;
use serde::{Deserialize, Serialize};

use crate::demand::{DemandInputs, PoissonGlm};
use crate::optimiser::{PriceDecision, Problem, optimise};

/// Why no price could be computed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PricingError {
    /// Bounds are missing, negative or upside down.
    #[error("invalid price bounds: {0}")]
    Bounds(String),
    /// The snapshot has a non-finite value.
    #[error("invalid features: {0}")]
    Features(String),
}

/// The bounds of one category's price, minor units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriceBounds {
    /// List price: the reference the demand model's price ratio is taken against.
    pub list_minor: i64,
    /// Lowest allowed price.
    pub floor_minor: i64,
    /// Highest allowed price.
    pub cap_minor: i64,
}

/// How the horizon is discretised.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PricingConfig {
    /// Hours per decision step.
    pub step_hours: f64,
    /// Most steps looked ahead (the last step absorbs the rest of the horizon).
    pub max_steps: usize,
    /// Grid prices between floor and cap.
    pub grid_points: usize,
    /// Hours before the event start at which sales close.
    pub close_hours_before_start: f64,
    /// Share of the buzz above its baseline expected to remain one step later.
    pub buzz_persistence: f64,
}

impl Default for PricingConfig {
    fn default() -> Self {
        Self {
            step_hours: 6.0,
            max_steps: 240,
            grid_points: 40,
            close_hours_before_start: 2.75,
            buzz_persistence: 0.5,
        }
    }
}

/// What the pricing service calls for each category on each snapshot.
pub trait Optimiser {
    /// The revenue-maximising price now, within the bounds, with its reason.
    fn optimal_price(
        &self,
        features: &SellOutFeatures,
        bounds: &PriceBounds,
    ) -> Result<PriceDecision, PricingError>;
}

/// The optimiser over a Poisson GLM demand model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GlmPricer {
    /// The demand model of the category.
    pub demand: PoissonGlm,
    /// The horizon's discretisation.
    pub config: PricingConfig,
    /// Baseline buzz: the least seen in the snapshots learned from (none yet: the
    /// current buzz is the baseline).
    #[serde(default)]
    pub buzz_floor: Option<f64>,
}

impl GlmPricer {
    /// A pricer for a new category, starting from the bundle's demand prior.
    pub fn new(prior: crate::demand::Prior, config: PricingConfig) -> Self {
        Self {
            demand: PoissonGlm::new(prior, 256, 0.97),
            config,
            buzz_floor: None,
        }
    }

    /// Learns from two consecutive snapshots of the category ("learns while it earns"):
    /// the seats sold between them at the earlier snapshot's price, momentum and buzz.
    /// Stretches that ended sold out are skipped (their demand is censored); runs a few
    /// warm Newton steps. Cost: O(window).
    pub fn learn(
        &mut self,
        previous: &SellOutFeatures,
        current: &SellOutFeatures,
        list_minor: i64,
    ) -> Result<(), crate::demand::DemandError> {
        let hours = previous.hours_to_event - current.hours_to_event;
        if !(hours.is_finite() && hours > 0.0) || current.remaining == 0 {
            return Ok(());
        }
        let seen = f64::from(previous.buzz_posts_1h.min(current.buzz_posts_1h));
        self.buzz_floor = Some(self.buzz_floor.map_or(seen, |f| f.min(seen)));
        let sold = f64::from(current.sold) - f64::from(previous.sold);
        self.demand.observe(crate::demand::Observation {
            inputs: DemandInputs::from_features(previous, list_minor),
            purchases: sold.max(0.0),
            exposure_hours: hours,
        })?;
        self.demand.refit(3)
    }
}

impl Optimiser for GlmPricer {
    fn optimal_price(
        &self,
        features: &SellOutFeatures,
        bounds: &PriceBounds,
    ) -> Result<PriceDecision, PricingError> {
        if bounds.list_minor <= 0 || bounds.floor_minor < 0 || bounds.floor_minor > bounds.cap_minor
        {
            return Err(PricingError::Bounds(format!("{bounds:?}")));
        }
        if !features.hours_to_event.is_finite() {
            return Err(PricingError::Features(
                "hours_to_event is not finite".into(),
            ));
        }
        let c = &self.config;
        let step_hours = if c.step_hours.is_finite() && c.step_hours > 0.0 {
            c.step_hours
        } else {
            1.0
        };
        let selling_hours = (features.hours_to_event - c.close_hours_before_start).max(0.0);
        let steps = ((selling_hours / step_hours).ceil() as usize).min(c.max_steps.max(1));
        // The last step stretches to cover whatever the step cap cut off.
        let last_hours = (selling_hours - step_hours * steps.saturating_sub(1) as f64).max(0.0);
        let base = DemandInputs::from_features(features, bounds.list_minor);
        let buzz = base.buzz_posts_1h;
        let floor = self.buzz_floor.map_or(buzz, |f| f.min(buzz));
        let persistence = if c.buzz_persistence.is_finite() {
            c.buzz_persistence.clamp(0.0, 1.0)
        } else {
            1.0
        };
        let list = bounds.list_minor as f64;
        let demand = |price: i64, step: usize| {
            let hours = if step + 1 == steps {
                last_hours
            } else {
                step_hours
            };
            let inputs = DemandInputs {
                hours_to_event: features.hours_to_event - step as f64 * step_hours,
                buzz_posts_1h: floor + (buzz - floor) * persistence.powi(step as i32),
                ..base.at_price(price as f64 / list)
            };
            self.demand.rate_per_hour(&inputs) * hours
        };
        let problem = Problem {
            floor_minor: bounds.floor_minor,
            cap_minor: bounds.cap_minor,
            grid_points: c.grid_points,
            inventory: features.remaining,
            steps,
        };
        Ok(optimise(&problem, &demand))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::demand::Prior;

    pub(crate) fn snapshot(remaining: u32, hours: f64) -> SellOutFeatures {
        SellOutFeatures {
            event_id: "ev-001".into(),
            category_id: "cat-1".into(),
            capacity: 1_000,
            sold: 1_000 - remaining,
            remaining,
            sales_1m: 0,
            sales_15m: 2,
            sales_1h: 8,
            sales_24h: 100,
            sales_7d: 700,
            hours_since_on_sale: 0.0,
            opening_sold: 0,
            cart_adds_1h: 10,
            abandonment_rate_24h: 0.2,
            buzz_posts_1h: 3,
            buzz_sentiment_1h: 0.1,
            hours_to_event: hours,
            price_minor: 10_000,
            currency: "GBP".into(),
        }
    }

    #[test]
    fn prices_within_bounds_and_rise_with_scarcity() {
        let prior = Prior {
            mean: [1.5, -2.0, 0.0, 0.0, 0.0],
            ..Prior::default()
        };
        let pricer = GlmPricer {
            demand: PoissonGlm::new(prior, 100, 1.0),
            config: PricingConfig::default(),
            buzz_floor: None,
        };
        let bounds = PriceBounds {
            list_minor: 10_000,
            floor_minor: 6_000,
            cap_minor: 25_000,
        };
        let plenty = pricer
            .optimal_price(&snapshot(900, 200.0), &bounds)
            .unwrap();
        let scarce = pricer.optimal_price(&snapshot(20, 200.0), &bounds).unwrap();
        for d in [plenty, scarce] {
            assert!((6_000..=25_000).contains(&d.price_minor), "{d:?}");
        }
        assert!(
            scarce.price_minor > plenty.price_minor,
            "{plenty:?} {scarce:?}"
        );
        let bad = PriceBounds {
            floor_minor: 30_000,
            ..bounds
        };
        assert!(pricer.optimal_price(&snapshot(20, 200.0), &bad).is_err());
        let mut nan = snapshot(20, 200.0);
        nan.hours_to_event = f64::NAN;
        assert!(pricer.optimal_price(&nan, &bounds).is_err());
    }

    #[test]
    fn a_buzz_spike_fades_from_the_forecast_once_a_baseline_is_known() {
        // Demand rises with buzz; a spike of posts now, after quiet snapshots.
        let prior = Prior {
            // About 0.5 an hour at list when quiet (100 of 300 seats over the horizon),
            // 16 times that at the spike's buzz.
            mean: [-1.5, -2.0, 0.0, 0.0, 0.6],
            precision: [1e6; 5],
        };
        let mut pricer = GlmPricer::new(prior, PricingConfig::default());
        let bounds = PriceBounds {
            list_minor: 10_000,
            floor_minor: 6_000,
            cap_minor: 25_000,
        };
        let mut spike = snapshot(300, 200.0);
        spike.buzz_posts_1h = 400;
        let unaware = pricer.optimal_price(&spike, &bounds).unwrap();
        let (mut quiet, mut later) = (snapshot(320, 212.0), snapshot(310, 206.0));
        quiet.buzz_posts_1h = 3;
        later.buzz_posts_1h = 3;
        pricer.learn(&quiet, &later, 10_000).unwrap();
        assert_eq!(pricer.buzz_floor, Some(3.0));
        let fading = pricer.optimal_price(&spike, &bounds).unwrap();
        // Priced for a lasting spike, the seats look scarce; priced for a fading one,
        // the price is lower.
        assert!(
            fading.price_minor < unaware.price_minor,
            "{fading:?} {unaware:?}"
        );
        let lasting = GlmPricer {
            config: PricingConfig {
                buzz_persistence: 1.0,
                ..PricingConfig::default()
            },
            ..pricer.clone()
        };
        assert_eq!(
            lasting.optimal_price(&spike, &bounds).unwrap().price_minor,
            unaware.price_minor,
            "persistence 1 is the old forecast"
        );
    }

    #[test]
    fn learning_from_snapshots_moves_the_demand_level() {
        let mut pricer = GlmPricer::new(Prior::default(), PricingConfig::default());
        let before = pricer.demand.coef[0];
        let mut prev = snapshot(900, 200.0);
        for i in 1..=20 {
            let mut next = snapshot(900 - 30 * i, 200.0 - f64::from(i));
            next.price_minor = prev.price_minor;
            pricer.learn(&prev, &next, 10_000).unwrap();
            prev = next;
        }
        // 30 an hour at list is far above the prior's level of about 1 an hour.
        assert!(
            pricer.demand.coef[0] > before + 1.0,
            "{:?}",
            pricer.demand.coef
        );
        // Out-of-order snapshots teach nothing and fail nothing.
        let (a, b) = (snapshot(500, 100.0), snapshot(400, 120.0));
        pricer.learn(&a, &b, 10_000).unwrap();
    }
}
