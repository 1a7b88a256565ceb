//! A small standalone market for pricing evaluation: one category, a known true demand
//! per step (Poisson purchases), and three policies compared on it:
//! - the clairvoyant optimum: the DP solved once with the *true* demand (its exact
//!   expected revenue is the reference);
//! - the best static price: the grid price whose fixed-price expected revenue (the same
//!   DP on a one-price grid) is highest, chosen knowing the true demand;
//! - the closed loop: the optimiser re-solved at every step on a Poisson GLM that starts
//!   from a prior and learns online from what it sells (it is never told the truth).
//!
//! Demand shapes differ from the simulator's: constant elasticity, linear, a surge after
//! a social spike (buzz visible to the learner one step before the arrivals), a slump.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Poisson};
use serde::{Deserialize, Serialize};

use crate::demand::{DemandInputs, Observation, PoissonGlm, Prior};
use crate::optimiser::{Problem, optimise_within, solve_dp};
use crate::sellout::CLOSE_HOURS;

/// The true demand's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Shape {
    /// `a·g(t)·(p/list)^−ε`.
    ConstantElasticity,
    /// `a·g(t)·max(0, 2.2 − 1.2·p/list)`.
    Linear,
    /// Constant elasticity with a bump of arrivals after a social spike.
    Surge,
    /// Constant elasticity, then demand falls to 40% halfway.
    Slump,
}

/// One pricing scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scenario {
    /// Name in the report.
    pub name: String,
    /// Demand shape.
    pub shape: Shape,
    /// Seats to sell.
    pub seats: u32,
    /// Decision steps.
    pub steps: usize,
    /// Hours per step.
    pub step_hours: f64,
    /// List price (minor units); floor is 60% of it, cap 250%.
    pub list_minor: i64,
    /// Expected purchases per step at list price at the start.
    pub base_per_step: f64,
    /// Price elasticity of the constant-elasticity shapes (positive number).
    pub elasticity: f64,
}

impl Scenario {
    /// The four standard scenarios.
    pub fn standard(seats: u32, steps: usize) -> Vec<Scenario> {
        let base = 1.1 * f64::from(seats) / steps as f64;
        let mk = |name: &str, shape, base: f64, elasticity| Scenario {
            name: name.into(),
            shape,
            seats,
            steps,
            step_hours: 6.0,
            list_minor: 10_000,
            base_per_step: base,
            elasticity,
        };
        vec![
            mk("constant_elasticity", Shape::ConstantElasticity, base, 2.2),
            mk("linear", Shape::Linear, base, 0.0),
            mk("surge_after_social_spike", Shape::Surge, 0.7 * base, 2.0),
            mk("slump", Shape::Slump, 1.2 * base, 2.5),
        ]
    }

    fn floor(&self) -> i64 {
        self.list_minor * 6 / 10
    }

    fn cap(&self) -> i64 {
        self.list_minor * 5 / 2
    }

    fn hours_to_event(&self, step: usize) -> f64 {
        (self.steps.saturating_sub(step)) as f64 * self.step_hours + CLOSE_HOURS
    }

    /// Social posts in the hour before `step` (what the learner sees as buzz).
    pub fn buzz(&self, step: usize) -> f64 {
        let spike = self.steps / 3;
        if self.shape == Shape::Surge && step >= spike {
            5.0 + 300.0 * (-((step - spike) as f64) / 2.0).exp()
        } else {
            5.0
        }
    }

    /// True expected purchases in `step` at `price`.
    pub fn true_rate(&self, price: i64, step: usize) -> f64 {
        let ratio = price as f64 / self.list_minor as f64;
        let time = (self.hours_to_event(step) / self.hours_to_event(0)).powf(-0.4);
        let a = self.base_per_step * time;
        match self.shape {
            Shape::ConstantElasticity => a * ratio.powf(-self.elasticity),
            Shape::Linear => a * (2.2 - 1.2 * ratio).max(0.0),
            Shape::Surge => {
                // Arrivals peak two steps after the posts (the simulator's lagged bump).
                let spike = self.steps / 3;
                let bump = if step > spike {
                    let x = (step - spike) as f64 / 2.0;
                    4.0 * x * (1.0 - x).exp()
                } else {
                    0.0
                };
                a * (1.0 + bump) * ratio.powf(-self.elasticity)
            }
            Shape::Slump => {
                let level = if step >= self.steps / 2 { 0.4 } else { 1.0 };
                a * level * ratio.powf(-self.elasticity)
            }
        }
    }

    fn problem(&self, inventory: u32, steps: usize, grid_points: usize) -> Problem {
        Problem {
            floor_minor: self.floor(),
            cap_minor: self.cap(),
            grid_points,
            inventory,
            steps,
        }
    }
}

/// Results of one scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MarketResult {
    /// Scenario name.
    pub scenario: String,
    /// Expected revenue of the clairvoyant DP (minor units).
    pub optimal_revenue: f64,
    /// Mean realised revenue of the learning optimiser over the runs.
    pub closed_loop_revenue: f64,
    /// Expected revenue of the best static price.
    pub static_revenue: f64,
    /// The best static price.
    pub static_price_minor: i64,
    /// `closed_loop_revenue / optimal_revenue`.
    pub revenue_vs_optimal: f64,
    /// `static_revenue / optimal_revenue`.
    pub static_vs_optimal: f64,
    /// Mean share of seats sold by the closed loop.
    pub sell_through: f64,
}

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
    /// Largest relative price move per step (the repricer's guard; 0 = unguarded).
    pub max_move: f64,
    /// Precision of the cold-start level prior: the intercept is centred on "demand at
    /// list equals capacity over the selling hours" (how list prices and capacities are
    /// set); 0 keeps the given prior's intercept.
    pub level_precision: f64,
    /// Share of the buzz above its baseline (the least seen so far) expected to remain
    /// one step later: social spikes fade, so the future is not priced at today's buzz
    /// (1 = buzz persists).
    pub buzz_persistence: f64,
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
            max_move: 0.0,
            level_precision: 1.0,
            buzz_persistence: 0.5,
        }
    }
}

/// Evaluates one scenario.
pub fn evaluate(scenario: &Scenario, config: &LoopConfig) -> MarketResult {
    let truth = |p: i64, t: usize| scenario.true_rate(p, t);
    let full = scenario.problem(scenario.seats, scenario.steps, config.grid_points);
    let optimal = solve_dp(&full, &truth).expected_revenue_minor as f64;
    let (mut static_revenue, mut static_price) = (0.0, full.floor_minor);
    for p in full.grid() {
        let fixed = Problem {
            floor_minor: p,
            cap_minor: p,
            ..full
        };
        let r = solve_dp(&fixed, &truth).expected_revenue_minor as f64;
        if r > static_revenue {
            (static_revenue, static_price) = (r, p);
        }
    }
    let mut total = 0.0;
    let mut sold_share = 0.0;
    for run in 0..config.runs {
        let (revenue, sold) = closed_loop(scenario, config, config.seed + run as u64);
        total += revenue;
        sold_share += f64::from(sold) / f64::from(scenario.seats.max(1));
    }
    let runs = config.runs.max(1) as f64;
    let closed = total / runs;
    let ratio = |x: f64| if optimal > 0.0 { x / optimal } else { 0.0 };
    MarketResult {
        scenario: scenario.name.clone(),
        optimal_revenue: optimal,
        closed_loop_revenue: closed,
        static_revenue,
        static_price_minor: static_price,
        revenue_vs_optimal: ratio(closed),
        static_vs_optimal: ratio(static_revenue),
        sell_through: sold_share / runs,
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

/// One run of the learning optimiser with a per-decision trace (for investigation).
pub fn trace(scenario: &Scenario, config: &LoopConfig, seed: u64) -> Vec<StepTrace> {
    let mut out = Vec::new();
    run_loop(scenario, config, seed, Some(&mut out));
    out
}

/// One run of the learning optimiser; returns (revenue, seats sold).
fn closed_loop(scenario: &Scenario, config: &LoopConfig, seed: u64) -> (f64, u32) {
    run_loop(scenario, config, seed, None)
}

fn run_loop(
    scenario: &Scenario,
    config: &LoopConfig,
    seed: u64,
    mut trace: Option<&mut Vec<StepTrace>>,
) -> (f64, u32) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
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
        let now = DemandInputs {
            price_ratio: 1.0,
            hours_to_event: scenario.hours_to_event(step),
            sales_1h: momentum,
            buzz_posts_1h: buzz,
        };
        let persistence = config.buzz_persistence.clamp(0.0, 1.0);
        let demand = |p: i64, k: usize| {
            let inputs = DemandInputs {
                hours_to_event: scenario.hours_to_event(step + k),
                buzz_posts_1h: buzz_floor + (buzz - buzz_floor) * persistence.powi(k as i32),
                ..now.at_price(p as f64 / list)
            };
            glm.rate_per_hour(&inputs) * h
        };
        let problem = scenario.problem(left, scenario.steps - step, config.grid_points);
        let target = optimise_within(&problem, &demand, config.dp_budget).price_minor;
        let price = match last_price {
            Some(last) if config.max_move > 0.0 => {
                let room = (last as f64 * config.max_move).round() as i64;
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
        let drawn = if mean > 0.0 {
            Poisson::new(mean).map_or(0.0, |d| d.sample(&mut rng))
        } else {
            0.0
        };
        let sold = (drawn as u32).min(left);
        revenue += price as f64 * f64::from(sold);
        left -= sold;
        if let Some(last) = trace.as_deref_mut().and_then(|t| t.last_mut()) {
            last.sold = sold;
            last.left = left;
        }
        // A stock-out censors demand: only uncensored steps teach the model.
        if drawn <= f64::from(sold) {
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

    #[test]
    fn closed_loop_is_near_optimal_and_static_is_below_optimal() {
        for scenario in Scenario::standard(120, 28) {
            let config = LoopConfig {
                runs: 6,
                ..LoopConfig::default()
            };
            let r = evaluate(&scenario, &config);
            eprintln!("{r:?}");
            assert!(r.static_vs_optimal <= 1.0 + 1e-9, "{r:?}");
            assert!(r.revenue_vs_optimal > 0.8, "{r:?}");
        }
    }
}
