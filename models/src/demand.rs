//! Demand (price response) of one category: a Poisson GLM with a log link for purchases
//! per hour, fitted by Newton's method (IRLS) in plain Rust on a 5×5 system.
//!
//! `ln rate = β0 + β1·ln(price / list) + β2·ln(hours to event) + β3·ln(1 + sales last
//! hour) + β4·ln(1 + buzz posts last hour)`; `β1` is the price elasticity. The fit is
//! penalised towards a prior (a Gaussian prior on each coefficient: ridge towards the
//! prior mean), so a new category starts from what history (or its cluster) says and a
//! few observations at one price can't produce a wild elasticity.
//!
//! Online updating ("pricing learns while it earns"): [`PoissonGlm::observe`] appends an
//! observation to a bounded window (oldest dropped) with exponential forgetting, and
//! [`PoissonGlm::refit`] runs Newton steps warm-started from the current coefficients:
//! the cost of an update is `O(window × 25)`, independent of the sale's length. We chose
//! this over linfa's `TweedieRegressor` because it needs a prior, weights and warm starts,
//! and a 5×5 Newton step is both simpler and more robust (step halving, no panics).

use std::collections::VecDeque;

use sellout_pipelines::output::SellOutFeatures;
use serde::{Deserialize, Serialize};

use crate::linalg::solve_spd;

/// Number of coefficients (intercept included).
pub const K: usize = 5;

/// Hours to event the time term is centred on (a week): centring keeps the intercept
/// and the time coefficient from trading off against each other early in a sale.
pub const REFERENCE_HOURS: f64 = 168.0;

/// Names of the coefficients, in order (stored in model metadata).
pub const DEMAND_FEATURES: [&str; K] = [
    "intercept",
    "ln_price_over_list",
    "ln_hours_to_event_over_168",
    "ln1p_sales_1h",
    "ln1p_buzz_posts_1h",
];

/// Why a demand model could not be fitted or used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DemandError {
    /// An input was NaN, infinite or out of range.
    #[error("invalid demand input: {0}")]
    Input(String),
    /// The Newton system was singular (should not happen with a prior).
    #[error("demand fit failed: {0}")]
    Fit(String),
}

/// What the demand depends on at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DemandInputs {
    /// Price over list price (> 0).
    pub price_ratio: f64,
    /// Hours until the event starts (clamped to at least 0.25 h).
    pub hours_to_event: f64,
    /// Tickets sold in the last hour (momentum).
    pub sales_1h: f64,
    /// Social posts about the event in the last hour (buzz).
    pub buzz_posts_1h: f64,
}

impl DemandInputs {
    /// Reads the inputs from a feature snapshot, at the snapshot's own price.
    pub fn from_features(f: &SellOutFeatures, list_minor: i64) -> Self {
        Self {
            price_ratio: f.price_minor as f64 / list_minor.max(1) as f64,
            hours_to_event: f.hours_to_event,
            sales_1h: f64::from(f.sales_1h),
            buzz_posts_1h: f64::from(f.buzz_posts_1h),
        }
    }

    /// The same inputs at another price ratio.
    pub fn at_price(self, price_ratio: f64) -> Self {
        Self {
            price_ratio,
            ..self
        }
    }

    /// The design row.
    pub fn row(&self) -> [f64; K] {
        [
            1.0,
            self.price_ratio.max(1e-3).ln(),
            (self.hours_to_event.max(0.25) / REFERENCE_HOURS).ln(),
            self.sales_1h.max(0.0).ln_1p(),
            self.buzz_posts_1h.max(0.0).ln_1p(),
        ]
    }

    fn check(&self) -> Result<(), DemandError> {
        let ok = self.price_ratio.is_finite()
            && self.price_ratio > 0.0
            && self.hours_to_event.is_finite()
            && self.sales_1h.is_finite()
            && self.buzz_posts_1h.is_finite();
        if ok {
            Ok(())
        } else {
            Err(DemandError::Input(format!("{self:?}")))
        }
    }
}

/// Purchases seen over a stretch of time under given inputs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    /// The inputs during the stretch (price, time, momentum and buzz at its start).
    pub inputs: DemandInputs,
    /// Tickets sold in the stretch.
    pub purchases: f64,
    /// Length of the stretch in hours (> 0).
    pub exposure_hours: f64,
}

/// A Gaussian prior on the coefficients: mean and precision (1 / variance) of each.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Prior {
    /// Prior mean of each coefficient.
    pub mean: [f64; K],
    /// Prior precision of each coefficient (0 = flat).
    pub precision: [f64; K],
}

impl Default for Prior {
    /// A weak prior: elasticity around −2, everything else around 0.
    fn default() -> Self {
        Self {
            mean: [0.0, -2.0, 0.0, 0.0, 0.0],
            precision: [1e-4, 1.0, 4.0, 1.0, 1.0],
        }
    }
}

/// A Poisson GLM with its online window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PoissonGlm {
    /// Coefficients, in [`DEMAND_FEATURES`] order.
    pub coef: [f64; K],
    /// The prior the fit is penalised towards.
    pub prior: Prior,
    /// Recent observations, oldest first.
    window: VecDeque<Observation>,
    /// Most observations kept.
    max_window: usize,
    /// Weight of an observation per newer observation (1 = no forgetting).
    forgetting: f64,
}

impl PoissonGlm {
    /// A model that predicts the prior mean until it sees data.
    pub fn new(prior: Prior, max_window: usize, forgetting: f64) -> Self {
        Self {
            coef: prior.mean,
            prior,
            window: VecDeque::new(),
            max_window: max_window.max(1),
            forgetting: if forgetting.is_finite() {
                forgetting.clamp(0.5, 1.0)
            } else {
                1.0
            },
        }
    }

    /// Fits on a batch (kept as the window, newest last) from the prior mean.
    pub fn fit(
        prior: Prior,
        observations: &[Observation],
        max_window: usize,
    ) -> Result<Self, DemandError> {
        let mut glm = Self::new(prior, max_window.max(observations.len()), 1.0);
        for o in observations {
            glm.push(*o)?;
        }
        glm.refit(50)?;
        Ok(glm)
    }

    /// Expected purchases per hour under `inputs`.
    pub fn rate_per_hour(&self, inputs: &DemandInputs) -> f64 {
        let eta: f64 = inputs
            .row()
            .iter()
            .zip(&self.coef)
            .map(|(x, b)| x * b)
            .sum();
        eta.clamp(-50.0, 30.0).exp()
    }

    /// Price elasticity (d ln rate / d ln price).
    pub fn elasticity(&self) -> f64 {
        self.coef[1]
    }

    /// Observations in the window.
    pub fn window_len(&self) -> usize {
        self.window.len()
    }

    /// Adds an observation (dropping the oldest past the window) without refitting.
    pub fn observe(&mut self, observation: Observation) -> Result<(), DemandError> {
        self.push(observation)
    }

    fn push(&mut self, o: Observation) -> Result<(), DemandError> {
        o.inputs.check()?;
        if !(o.purchases.is_finite() && o.purchases >= 0.0) {
            return Err(DemandError::Input(format!("purchases {}", o.purchases)));
        }
        if !(o.exposure_hours.is_finite() && o.exposure_hours > 0.0) {
            return Err(DemandError::Input(format!("exposure {}", o.exposure_hours)));
        }
        if self.window.len() == self.max_window {
            self.window.pop_front();
        }
        self.window.push_back(o);
        Ok(())
    }

    /// Penalised negative log-likelihood (up to constants) at `coef`.
    fn objective(&self, coef: &[f64; K]) -> f64 {
        let n = self.window.len();
        let mut total = 0.0;
        for (i, o) in self.window.iter().enumerate() {
            let w = self.forgetting.powi((n - 1 - i) as i32);
            let row = o.inputs.row();
            let eta: f64 = row.iter().zip(coef).map(|(x, b)| x * b).sum::<f64>();
            let eta = eta.clamp(-50.0, 30.0);
            total += w * (o.exposure_hours * eta.exp() - o.purchases * eta);
        }
        for ((c, m), p) in coef.iter().zip(&self.prior.mean).zip(&self.prior.precision) {
            total += 0.5 * p * (c - m) * (c - m);
        }
        total
    }

    /// Runs up to `iterations` Newton steps (with step halving) from the current coefficients.
    pub fn refit(&mut self, iterations: usize) -> Result<(), DemandError> {
        let n = self.window.len();
        let mut current = self.objective(&self.coef);
        for _ in 0..iterations {
            let mut grad = [0.0; K];
            let mut hess = [0.0; K * K];
            for (i, o) in self.window.iter().enumerate() {
                let w = self.forgetting.powi((n - 1 - i) as i32);
                let row = o.inputs.row();
                let eta: f64 = row.iter().zip(&self.coef).map(|(x, b)| x * b).sum();
                let mu = o.exposure_hours * eta.clamp(-50.0, 30.0).exp();
                for a in 0..K {
                    grad[a] += w * (mu - o.purchases) * row[a];
                    for b in 0..K {
                        hess[a * K + b] += w * mu * row[a] * row[b];
                    }
                }
            }
            for j in 0..K {
                grad[j] += self.prior.precision[j] * (self.coef[j] - self.prior.mean[j]);
                // A tiny ridge keeps the system definite even with a flat prior.
                hess[j * K + j] += self.prior.precision[j] + 1e-9;
            }
            let mut step = grad;
            solve_spd(&hess, &mut step, K)
                .ok_or_else(|| DemandError::Fit("singular Newton system".into()))?;
            let mut t = 1.0;
            let mut improved = false;
            for _ in 0..30 {
                let mut trial = self.coef;
                for j in 0..K {
                    trial[j] -= t * step[j];
                }
                let value = self.objective(&trial);
                if value.is_finite() && value <= current {
                    let gain = current - value;
                    self.coef = trial;
                    current = value;
                    improved = gain > 1e-10 * (1.0 + current.abs());
                    break;
                }
                t *= 0.5;
            }
            if !improved {
                break;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_distr::{Distribution, Poisson};

    #[test]
    fn recovers_known_coefficients_from_synthetic_poisson_data() {
        let truth = [0.5, -2.0, -0.3, 0.2, 0.15];
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let mut obs = Vec::new();
        for i in 0..4000 {
            let inputs = DemandInputs {
                price_ratio: 0.6 + 1.4 * ((i * 37) % 100) as f64 / 100.0,
                hours_to_event: 1.0 + ((i * 53) % 500) as f64,
                sales_1h: ((i * 11) % 30) as f64,
                buzz_posts_1h: ((i * 7) % 50) as f64,
            };
            let eta: f64 = inputs.row().iter().zip(&truth).map(|(x, b)| x * b).sum();
            let y = Poisson::new(eta.exp() * 2.0).unwrap().sample(&mut rng);
            obs.push(Observation {
                inputs,
                purchases: y,
                exposure_hours: 2.0,
            });
        }
        let flat = Prior {
            mean: [0.0; K],
            precision: [0.0; K],
        };
        let glm = PoissonGlm::fit(flat, &obs, 10_000).unwrap();
        for (got, want) in glm.coef.iter().zip(&truth) {
            assert!((got - want).abs() < 0.08, "{:?} vs {truth:?}", glm.coef);
        }
    }

    #[test]
    fn online_updates_move_towards_the_data_and_reject_bad_input() {
        let mut glm = PoissonGlm::new(Prior::default(), 200, 0.99);
        let base = DemandInputs {
            price_ratio: 1.0,
            hours_to_event: 100.0,
            sales_1h: 0.0,
            buzz_posts_1h: 0.0,
        };
        let before = glm.rate_per_hour(&base);
        for i in 0..300 {
            let ratio = if i % 2 == 0 { 0.8 } else { 1.25 };
            // True rate 20/h at list with elasticity −3.
            let y = 20.0 * ratio_pow(ratio, -3.0);
            glm.observe(Observation {
                inputs: base.at_price(ratio),
                purchases: y,
                exposure_hours: 1.0,
            })
            .unwrap();
            glm.refit(3).unwrap();
        }
        assert_eq!(glm.window_len(), 200);
        let after = glm.rate_per_hour(&base);
        assert!(
            before < 5.0 && (after - 20.0).abs() < 2.0,
            "{before} {after}"
        );
        assert!((glm.elasticity() + 3.0).abs() < 0.3, "{}", glm.elasticity());
        let bad = Observation {
            inputs: base.at_price(f64::NAN),
            purchases: 1.0,
            exposure_hours: 1.0,
        };
        assert!(glm.observe(bad).is_err());
        let bad = Observation {
            inputs: base,
            purchases: 1.0,
            exposure_hours: 0.0,
        };
        assert!(glm.observe(bad).is_err());
    }

    fn ratio_pow(r: f64, e: f64) -> f64 {
        r.powf(e)
    }
}
