//! The closed loop of the pricing evaluation: the optimiser re-solved at every step on a
//! Poisson GLM that starts from a prior and learns online from what it sells, never told
//! the scenario's true demand. Its purchases are drawn from one uniform per step
//! ([`poisson_quantile`]) so that two policies, or a policy and the static price, run on
//! the same draws (common random numbers: their difference is measured, not their noise).

use serde::{Deserialize, Serialize};

use super::market::Scenario;
use crate::demand::{DemandInputs, Observation, PoissonGlm, Prior};
use crate::optimiser::{optimise_within, solve_dp};

/// How the closed loop is run.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LoopConfig {
    /// Grid prices.
    pub grid_points: usize,
    /// Monte Carlo runs of the closed loop.
    pub runs: usize,
    /// Seed of the first run.
    pub seed: u64,
    /// DP budget of each re-solve (above it the fluid is used).
    pub dp_budget: f64,
    /// The learner's prior.
    pub prior: Prior,
    /// Observations kept by the learner.
    pub window: usize,
    /// Forgetting factor of the learner.
    pub forgetting: f64,
    /// Largest relative price move per step (0 = unguarded): the pricing service's
    /// guardrail (`max_step_pct`, 10% by default) applies to every change the repricer
    /// proposes, so the loop is evaluated under it. It also damps the price's response
    /// to one step's luck, which costs most where revenue falls fastest off the best
    /// price (the linear demand: 0.958 unguarded, 0.970 guarded).
    pub max_move: f64,
    /// Precision of the cold-start level prior: the intercept is centred on "demand at
    /// list equals capacity over the selling hours" (how list prices and capacities are
    /// set); 0 keeps the given prior's intercept.
    pub level_precision: f64,
    /// Share of the buzz above its baseline (the least seen so far) expected to remain
    /// one step later: social spikes fade, so the future is not priced at today's buzz
    /// (1 = buzz persists).
    pub buzz_persistence: f64,
    /// Steps by which purchases lag the posts that move them (0 = same step): the
    /// scenarios', like the simulator's, arrive after the posts (one step before the
    /// arrivals), so a burst of posts raises the forecast of the next step, not this one.
    #[serde(default)]
    pub buzz_lag: usize,
}

impl Default for LoopConfig {
    fn default() -> Self {
        Self {
            grid_points: 40,
            runs: 20,
            seed: 9_001,
            dp_budget: 2.0e6,
            prior: Prior {
                mean: [0.0, -2.0, 0.0, 0.0, 0.0],
                precision: [1e-4, 2.0, 4.0, 1.0, 1.0],
            },
            window: 64,
            forgetting: 0.85,
            max_move: 0.10,
            level_precision: 1.0,
            buzz_persistence: 0.5,
            buzz_lag: 1,
        }
    }
}

/// One decision of a traced closed-loop run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepTrace {
    /// Decision step.
    pub step: usize,
    /// Price set.
    pub price_minor: i64,
    /// What the clairvoyant DP would set in the same state (seats left, step).
    pub clairvoyant_minor: i64,
    /// Seats sold in the step.
    pub sold: u32,
    /// Seats left after the step.
    pub left: u32,
    /// True expected purchases at the price set.
    pub true_mean: f64,
    /// The learner's expected purchases at the price set.
    pub learned_mean: f64,
    /// The learner's coefficients when it set the price.
    pub coef: [f64; crate::demand::K],
}

/// The `u`-quantile of a Poisson law with mean `mean` (inverse CDF): one uniform per
/// draw whatever the mean, so runs at different prices share their luck.
pub fn poisson_quantile(mean: f64, u: f64) -> u32 {
    if !(mean.is_finite() && mean > 0.0) {
        return 0;
    }
    let u = if u.is_finite() {
        u.clamp(0.0, 1.0)
    } else {
        0.5
    };
    // Start from the log of P(0) so that large means don't underflow.
    let mut log_p = -mean;
    let mut cum = 0.0;
    let limit = (mean + 40.0 * mean.sqrt() + 40.0) as u32;
    for k in 0..limit {
        cum += log_p.exp();
        if cum >= u {
            return k;
        }
        log_p += mean.ln() - f64::from(k + 1).ln();
    }
    limit
}

/// One run of the learning optimiser with a per-decision trace (for investigation).
pub fn trace(scenario: &Scenario, config: &LoopConfig, draws: &[f64]) -> Vec<StepTrace> {
    let mut out = Vec::new();
    run(scenario, config, draws, Some(&mut out));
    out
}

/// One run of the learning optimiser on the given uniforms (one per step; missing ones
/// count as the median); returns (revenue, seats sold).
pub fn run(
    scenario: &Scenario,
    config: &LoopConfig,
    draws: &[f64],
    mut trace: Option<&mut Vec<StepTrace>>,
) -> (f64, u32) {
    let mut prior = config.prior;
    if config.level_precision > 0.0 {
        let hours = scenario.steps as f64 * scenario.step_hours;
        // Solve for the intercept that makes the prior's rate at list, at the start,
        // equal to capacity over the selling hours.
        let start = DemandInputs {
            price_ratio: 1.0,
            hours_to_event: scenario.hours_to_event(0),
            sales_1h: 0.0,
            buzz_posts_1h: scenario.buzz(0),
        };
        let rest: f64 = start.row()[1..]
            .iter()
            .zip(&prior.mean[1..])
            .map(|(x, b)| x * b)
            .sum();
        prior.mean[0] = (f64::from(scenario.seats) / hours).ln() - rest;
        prior.precision[0] = config.level_precision;
    }
    let mut glm = PoissonGlm::new(prior, config.window, config.forgetting);
    let mut left = scenario.seats;
    let mut revenue = 0.0;
    let mut momentum = 0.0;
    let mut last_price: Option<i64> = None;
    let mut buzz_floor = f64::INFINITY;
    let list = scenario.list_minor as f64;
    let h = scenario.step_hours;
    for step in 0..scenario.steps {
        if left == 0 {
            break;
        }
        let buzz = scenario.buzz(step);
        buzz_floor = buzz_floor.min(buzz);
        let lag = config.buzz_lag;
        // The posts that move step `step + k`'s purchases: seen ones while the lag reaches
        // back before now, then today's excess fading.
        let persistence = config.buzz_persistence.clamp(0.0, 1.0);
        let buzz_for = |k: usize| {
            if k < lag {
                scenario.buzz((step + k).saturating_sub(lag))
            } else {
                buzz_floor + (buzz - buzz_floor) * persistence.powi((k - lag) as i32)
            }
        };
        let now = DemandInputs {
            price_ratio: 1.0,
            hours_to_event: scenario.hours_to_event(step),
            sales_1h: momentum,
            buzz_posts_1h: buzz_for(0),
        };
        let demand = |p: i64, k: usize| {
            let inputs = DemandInputs {
                hours_to_event: scenario.hours_to_event(step + k),
                buzz_posts_1h: buzz_for(k),
                ..now.at_price(p as f64 / list)
            };
            glm.rate_per_hour(&inputs) * h
        };
        let problem = scenario.problem(left, scenario.steps - step, config.grid_points);
        let target = optimise_within(&problem, &demand, config.dp_budget).price_minor;
        let price = match last_price {
            Some(last) if config.max_move > 0.0 => {
                // As the guardrail rounds: down, in minor units.
                let room = (last as f64 * config.max_move).floor() as i64;
                target.clamp(last - room, last + room)
            }
            _ => target,
        };
        last_price = Some(price);
        let mean = scenario.true_rate(price, step);
        if let Some(out) = trace.as_deref_mut() {
            let truth = |p: i64, k: usize| scenario.true_rate(p, step + k);
            out.push(StepTrace {
                step,
                price_minor: price,
                clairvoyant_minor: solve_dp(&problem, &truth).price_minor,
                sold: 0,
                left,
                true_mean: mean,
                learned_mean: demand(price, 0),
                coef: glm.coef,
            });
        }
        let drawn = poisson_quantile(mean, draws.get(step).copied().unwrap_or(0.5));
        let sold = drawn.min(left);
        revenue += price as f64 * f64::from(sold);
        left -= sold;
        if let Some(last) = trace.as_deref_mut().and_then(|t| t.last_mut()) {
            last.sold = sold;
            last.left = left;
        }
        // A stock-out censors demand: only uncensored steps teach the model.
        if drawn <= sold {
            let observed = Observation {
                inputs: now.at_price(price as f64 / list),
                purchases: f64::from(sold),
                exposure_hours: h,
            };
            if glm.observe(observed).is_ok() {
                let _ = glm.refit(4);
            }
        }
        momentum = f64::from(sold) / h;
    }
    (revenue, scenario.seats - left)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::market::draws;

    #[test]
    fn poisson_quantiles_of_even_uniforms_have_the_poisson_mean_and_variance() {
        for mean in [0.3, 3.7, 40.0, 900.0] {
            let n = 20_000;
            let xs: Vec<f64> = (0..n)
                .map(|i| f64::from(poisson_quantile(mean, (i as f64 + 0.5) / n as f64)))
                .collect();
            let m = xs.iter().sum::<f64>() / n as f64;
            let v = xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / n as f64;
            assert!((m - mean).abs() < 0.01 * mean + 0.01, "{mean}: mean {m}");
            assert!(
                (v - mean).abs() < 0.03 * mean + 0.01,
                "{mean}: variance {v}"
            );
            // One uniform, higher mean: never fewer purchases.
            assert!(poisson_quantile(mean, 0.7) <= poisson_quantile(mean * 1.1, 0.7));
        }
        assert_eq!(poisson_quantile(0.0, 0.9), 0);
        assert_eq!(poisson_quantile(f64::NAN, 0.9), 0);
        assert_eq!(poisson_quantile(2.0, f64::NAN), poisson_quantile(2.0, 0.5));
    }

    /// The learner's demand at list implied by a traced step (its price effect removed).
    fn at_list(t: &StepTrace, list: f64) -> f64 {
        t.learned_mean / (t.price_minor as f64 / list).powf(t.coef[1])
    }

    #[test]
    fn posts_raise_the_forecast_of_the_step_after_them_when_purchases_lag() {
        let surge = Scenario::standard(120, 28)
            .into_iter()
            .find(|s| s.shape == crate::eval::market::Shape::Surge)
            .expect("a surge scenario");
        let spike = surge.steps / 3;
        let list = surge.list_minor as f64;
        // A prior like history's: purchases rise with posts (and with time to the event).
        let lagged = LoopConfig {
            prior: Prior {
                mean: [0.0, -2.0, -0.6, 0.0, 0.4],
                precision: [1e-4, 8.0, 16.0, 1e6, 16.0],
            },
            ..LoopConfig::default()
        };
        let same = LoopConfig {
            buzz_lag: 0,
            ..lagged
        };
        let u = draws(&lagged, surge.steps, 0);
        let (a, b) = (trace(&surge, &same, &u), trace(&surge, &lagged, &u));
        // Without the lag the burst lifts the forecast at once; with it, one step later.
        assert!(at_list(&a[spike], list) > 2.0 * at_list(&a[spike - 1], list));
        assert!(at_list(&b[spike], list) < 1.3 * at_list(&b[spike - 1], list));
        assert!(at_list(&b[spike + 1], list) > 2.0 * at_list(&b[spike - 1], list));
        // The same draws and config give the same run.
        assert_eq!(b, trace(&surge, &lagged, &u));
    }

    #[test]
    fn the_guard_bounds_every_move_and_unguarded_runs_move_further() {
        let linear = Scenario::standard(120, 28)
            .into_iter()
            .find(|s| s.shape == crate::eval::market::Shape::Linear)
            .expect("a linear scenario");
        let guarded = LoopConfig::default();
        let free = LoopConfig {
            max_move: 0.0,
            ..guarded
        };
        let (mut widest_guarded, mut widest_free) = (0.0f64, 0.0f64);
        for run in 0..20 {
            let u = draws(&guarded, linear.steps, run);
            for (config, widest) in [(&guarded, &mut widest_guarded), (&free, &mut widest_free)] {
                let t = trace(&linear, config, &u);
                for pair in t.windows(2) {
                    let (a, b) = (pair[0].price_minor as f64, pair[1].price_minor as f64);
                    *widest = widest.max((b - a).abs() / a);
                }
            }
        }
        assert!(widest_guarded <= 0.10 + 1e-12, "{widest_guarded}");
        assert!(widest_free > 0.12, "{widest_free}");
    }
}
