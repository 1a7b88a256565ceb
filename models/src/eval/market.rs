//! A small standalone market for pricing evaluation: one category, a known true demand
//! per step (Poisson purchases), and four policies compared on it:
//! - the clairvoyant optimum: the DP solved once with the *true* demand (its exact
//!   expected revenue is the reference);
//! - the best static price: the grid price whose fixed-price expected revenue (the same
//!   DP on a one-price grid) is highest, chosen knowing the true demand;
//! - the closed loop ([`super::closed_loop`]): the optimiser re-solved at every step on a
//!   Poisson GLM that starts from a prior and learns online from what it sells (it is
//!   never told the truth);
//! - the foresight-free reference: the DP re-solved every step on the true demand of the
//!   regime in force, blind to a slump or surge until it starts (how much of the gap to
//!   the optimum no learning can close without foresight).
//!
//! Runs share their draws (one uniform per step): the closed loop and the static price
//! are compared on the same luck, and the report carries the paired difference with its
//! standard error, so a change of policy is measured against the noise.
//!
//! Demand shapes differ from the simulator's: constant elasticity, linear, a surge after
//! a social spike (buzz visible to the learner one step before the arrivals), a slump.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

pub use super::closed_loop::{LoopConfig, StepTrace, poisson_quantile};
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
    /// Constant elasticity, then demand rises to 160% halfway (the slump's mirror).
    Boom,
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
    /// The standard scenarios.
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
            mk("boom", Shape::Boom, 0.8 * base, 2.5),
        ]
    }

    fn floor(&self) -> i64 {
        self.list_minor * 6 / 10
    }

    fn cap(&self) -> i64 {
        self.list_minor * 5 / 2
    }

    /// Hours to the event at the start of `step`.
    pub fn hours_to_event(&self, step: usize) -> f64 {
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
            Shape::Slump | Shape::Boom => {
                let after = if self.shape == Shape::Slump { 0.4 } else { 1.6 };
                let level = if step >= self.steps / 2 { after } else { 1.0 };
                a * level * ratio.powf(-self.elasticity)
            }
        }
    }

    /// True expected purchases in `step` at `price` as they could be known at step `now`:
    /// the regime in force then continues (a slump not yet begun is unknown; a surge is
    /// known from its posts on). What a DP without foresight of regime changes is told.
    pub fn rate_known_at(&self, price: i64, step: usize, now: usize) -> f64 {
        let unseen = match self.shape {
            Shape::Surge => now < self.steps / 3,
            Shape::Slump | Shape::Boom => now < self.steps / 2,
            Shape::ConstantElasticity | Shape::Linear => false,
        };
        if unseen {
            let before = Scenario {
                shape: Shape::ConstantElasticity,
                ..self.clone()
            };
            before.true_rate(price, step)
        } else {
            self.true_rate(price, step)
        }
    }

    /// The pricing problem with `inventory` seats and `steps` steps left.
    pub fn problem(&self, inventory: u32, steps: usize, grid_points: usize) -> Problem {
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
    /// Mean revenue over the optimum of the DP re-solved at every step on the true
    /// demand of the regime in force ([`Scenario::rate_known_at`]): a reference for a
    /// policy that cannot foresee a slump or a surge; one that also learns the demand
    /// (and doesn't hedge against regime changes it can't see) earns less.
    #[serde(default)]
    pub foresight_free_vs_optimal: f64,
    /// Mean share of seats sold by the closed loop.
    pub sell_through: f64,
    /// Closed-loop runs.
    #[serde(default)]
    pub runs: usize,
    /// Standard error of `revenue_vs_optimal` over the runs.
    #[serde(default)]
    pub revenue_se: f64,
    /// Mean of (closed loop − static price) over the optimum, each run on the same draws.
    #[serde(default)]
    pub gain_vs_static: f64,
    /// Standard error of `gain_vs_static`.
    #[serde(default)]
    pub gain_se: f64,
}

/// The uniforms of run `run` (one per step).
pub fn draws(config: &LoopConfig, steps: usize, run: usize) -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed.wrapping_add(run as u64));
    (0..steps).map(|_| rng.random::<f64>()).collect()
}

/// Revenue of holding `price` for the whole sale on the given uniforms.
fn fixed_price_run(scenario: &Scenario, price: i64, draws: &[f64]) -> f64 {
    let mut left = scenario.seats;
    for step in 0..scenario.steps {
        let u = draws.get(step).copied().unwrap_or(0.5);
        left -= poisson_quantile(scenario.true_rate(price, step), u).min(left);
    }
    price as f64 * f64::from(scenario.seats - left)
}

/// Revenue of the DP re-solved every step on the demand known at that step.
fn foresight_free_run(scenario: &Scenario, config: &LoopConfig, draws: &[f64]) -> f64 {
    let mut left = scenario.seats;
    let mut revenue = 0.0;
    for step in 0..scenario.steps {
        if left == 0 {
            break;
        }
        let known = |p: i64, k: usize| scenario.rate_known_at(p, step + k, step);
        let problem = scenario.problem(left, scenario.steps - step, config.grid_points);
        let price = optimise_within(&problem, &known, config.dp_budget).price_minor;
        let u = draws.get(step).copied().unwrap_or(0.5);
        let sold = poisson_quantile(scenario.true_rate(price, step), u).min(left);
        revenue += price as f64 * f64::from(sold);
        left -= sold;
    }
    revenue
}

/// Mean and standard error of a sample.
fn mean_se(xs: &[f64]) -> (f64, f64) {
    let n = xs.len().max(1) as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
    (mean, (var / n).sqrt())
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
    let scale = if optimal > 0.0 { 1.0 / optimal } else { 0.0 };
    let (mut closed, mut gains, mut ceiling) = (Vec::new(), Vec::new(), 0.0);
    let mut sold_share = 0.0;
    for run in 0..config.runs {
        let u = draws(config, scenario.steps, run);
        let (revenue, sold) = super::closed_loop::run(scenario, config, &u, None);
        closed.push(revenue * scale);
        gains.push((revenue - fixed_price_run(scenario, static_price, &u)) * scale);
        ceiling += foresight_free_run(scenario, config, &u) * scale;
        sold_share += f64::from(sold) / f64::from(scenario.seats.max(1));
    }
    let (revenue_vs_optimal, revenue_se) = mean_se(&closed);
    let (gain_vs_static, gain_se) = mean_se(&gains);
    MarketResult {
        scenario: scenario.name.clone(),
        optimal_revenue: optimal,
        closed_loop_revenue: revenue_vs_optimal * optimal,
        static_revenue,
        static_price_minor: static_price,
        revenue_vs_optimal,
        static_vs_optimal: static_revenue * scale,
        foresight_free_vs_optimal: ceiling / config.runs.max(1) as f64,
        sell_through: sold_share / config.runs.max(1) as f64,
        runs: config.runs,
        revenue_se,
        gain_vs_static,
        gain_se,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closed_loop_is_near_optimal_and_static_is_below_optimal() {
        for scenario in Scenario::standard(120, 28) {
            // A prior like the one history trains (the evaluation's own): under the
            // guard, a loop that starts far off can't catch a surge in time.
            let config = LoopConfig {
                runs: 6,
                prior: crate::demand::Prior {
                    mean: [0.0, -2.0, -0.45, 0.0, 0.45],
                    precision: [1e-4, 8.0, 16.0, 1e6, 16.0],
                },
                ..LoopConfig::default()
            };
            let r = evaluate(&scenario, &config);
            eprintln!("{r:?}");
            assert!(r.static_vs_optimal <= 1.0 + 1e-9, "{r:?}");
            assert!(r.revenue_vs_optimal > 0.8, "{r:?}");
            assert!(r.revenue_se > 0.0 && r.gain_se > 0.0, "{r:?}");
            // Knowing the demand of the regime in force beats the static price, unless a
            // regime change is coming that only the static price was chosen knowing.
            assert!(
                r.foresight_free_vs_optimal <= 1.0 + 3.0 * r.revenue_se,
                "{r:?}"
            );
            if matches!(scenario.shape, Shape::ConstantElasticity | Shape::Linear) {
                assert!(r.foresight_free_vs_optimal > r.static_vs_optimal, "{r:?}");
            }
        }
    }

    #[test]
    fn a_fixed_price_on_the_shared_draws_earns_its_exact_expectation() {
        let config = LoopConfig::default();
        for scenario in Scenario::standard(120, 28) {
            let price = scenario.list_minor * 13 / 10;
            let full = scenario.problem(scenario.seats, scenario.steps, 2);
            let fixed = Problem {
                floor_minor: price,
                cap_minor: price,
                ..full
            };
            let truth = |p: i64, t: usize| scenario.true_rate(p, t);
            let exact = solve_dp(&fixed, &truth).expected_revenue_minor as f64;
            let runs: Vec<f64> = (0..600)
                .map(|run| fixed_price_run(&scenario, price, &draws(&config, scenario.steps, run)))
                .collect();
            let (mean, se) = mean_se(&runs);
            assert!(
                (mean - exact).abs() < 4.0 * se + 1.0,
                "{mean} ± {se} vs {exact}"
            );
        }
    }
}
