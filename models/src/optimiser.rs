//! The price optimiser: for one category, the price that maximises expected revenue over
//! the remaining horizon given the remaining inventory, on a grid between floor and cap.
//!
//! Two solvers, one answer type ([`PriceDecision`]):
//! - [`solve_dp`]: the exact finite-horizon dynamic programme over (step, seats left).
//!   Purchases in a step are Poisson with the demand's mean at the chosen price, cut at
//!   the seats left (a sale never exceeds inventory); the Poisson tail beyond
//!   `mean + 10·sqrt(mean) + 10` is folded into the last term, so no mass is lost.
//!   Unsold seats are worth nothing at the end. Cost: steps × seats × grid × support.
//! - [`solve_fluid`]: the fluid (deterministic) relaxation, for large inventories where
//!   the DP is too expensive and the law of large numbers makes randomness second order:
//!   maximise `Σ_t p_t·λ_t(p_t)` subject to `Σ_t λ_t(p_t) ≤ seats`, solved by its
//!   Lagrangian: one dual price `μ` of a seat, each step picks `argmax (p − μ)·λ_t(p)`,
//!   and bisection finds the smallest `μ` that keeps expected sales within inventory.
//!
//! [`optimise`] picks the DP when its cost fits [`DP_BUDGET`] and the fluid otherwise.
//! Both are meant to be re-solved at every decision with the latest demand estimate
//! (re-solving is what makes the fluid policy near optimal). Pure functions: no clock,
//! no I/O, no allocation beyond a few vectors of the inventory's size.

use serde::{Deserialize, Serialize};

/// Largest `steps × seats × grid × support` the DP is allowed before the fluid is used.
pub const DP_BUDGET: f64 = 4.0e7;

/// Expected purchases in one step as a function of price and step index (0 = now).
pub trait DemandCurve {
    /// Expected seats sold in step `step` at `price_minor`, never negative.
    fn expected(&self, price_minor: i64, step: usize) -> f64;
}

impl<F: Fn(i64, usize) -> f64> DemandCurve for F {
    fn expected(&self, price_minor: i64, step: usize) -> f64 {
        self(price_minor, step)
    }
}

/// What stopped the price from going where demand alone would put it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Binding {
    /// Nothing: the price is an interior revenue maximum without scarcity.
    None,
    /// The floor: demand would want a lower price.
    Floor,
    /// The cap: demand would bear a higher price.
    Cap,
    /// Scarcity: the price is above the myopic optimum to ration the seats left.
    Inventory,
}

/// The optimiser's answer for one category now, with its reason.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PriceDecision {
    /// The price to set now, in minor units (within floor and cap).
    pub price_minor: i64,
    /// Expected revenue over the remaining horizon under the optimal policy.
    pub expected_revenue_minor: i64,
    /// Expected share of the remaining seats sold by the end of the horizon, 0..=1.
    pub expected_sell_through: f64,
    /// What constrains the price.
    pub binding: Binding,
}

/// The problem of one category: bounds, grid, inventory and horizon.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Problem {
    /// Lowest allowed price (minor units).
    pub floor_minor: i64,
    /// Highest allowed price (minor units).
    pub cap_minor: i64,
    /// Number of grid prices (at least 2), evenly spaced from floor to cap.
    pub grid_points: usize,
    /// Seats left.
    pub inventory: u32,
    /// Decision steps left (the demand curve is asked for steps `0..steps`).
    pub steps: usize,
}

impl Problem {
    /// The price grid, floor and cap included, ascending and without duplicates.
    pub fn grid(&self) -> Vec<i64> {
        let (lo, hi) = if self.floor_minor <= self.cap_minor {
            (self.floor_minor.max(0), self.cap_minor.max(0))
        } else {
            (self.cap_minor.max(0), self.cap_minor.max(0))
        };
        let n = self.grid_points.max(2);
        let mut grid: Vec<i64> = (0..n)
            .map(|i| lo + ((hi - lo) as f64 * i as f64 / (n - 1) as f64).round() as i64)
            .collect();
        grid.dedup();
        grid
    }
}

/// Solves with the DP when affordable ([`DP_BUDGET`]), else with the fluid relaxation.
pub fn optimise(problem: &Problem, demand: &dyn DemandCurve) -> PriceDecision {
    optimise_within(problem, demand, DP_BUDGET)
}

/// [`optimise`] with another DP budget (0 = always the fluid).
pub fn optimise_within(problem: &Problem, demand: &dyn DemandCurve, budget: f64) -> PriceDecision {
    let grid = problem.grid();
    let peak = grid
        .first()
        .map(|&p| demand.expected(p, 0).max(0.0))
        .unwrap_or(0.0);
    let support = (peak + 10.0 * peak.sqrt() + 10.0).min(f64::from(problem.inventory) + 1.0);
    let cost = problem.steps as f64 * f64::from(problem.inventory) * grid.len() as f64 * support;
    if cost <= budget {
        solve_dp(problem, demand)
    } else {
        solve_fluid(problem, demand)
    }
}

/// Clean rate: finite and non-negative.
fn rate(demand: &dyn DemandCurve, price: i64, step: usize) -> f64 {
    let r = demand.expected(price, step);
    if r.is_finite() { r.max(0.0) } else { 0.0 }
}

/// Poisson probabilities `P(D = k)` for `k < n` and the tail `P(D ≥ n)` last.
fn truncated_pmf(mean: f64, n: usize, out: &mut Vec<f64>) {
    out.clear();
    let kmax = ((mean + 10.0 * mean.sqrt() + 10.0).ceil() as usize).min(n);
    let mut p = (-mean).exp();
    let mut cum = 0.0;
    // exp(−mean) underflows past ~745: start from the mode in log space instead.
    if p == 0.0 && mean > 0.0 {
        let mut lp = -mean;
        for k in 0..kmax {
            let pk = lp.exp();
            out.push(pk);
            cum += pk;
            lp += mean.ln() - ((k + 1) as f64).ln();
        }
    } else {
        for k in 0..kmax {
            out.push(p);
            cum += p;
            p *= mean / (k + 1) as f64;
        }
    }
    out.push((1.0 - cum).max(0.0));
}

/// The exact DP. Returns the first step's optimal price for the full inventory.
pub fn solve_dp(problem: &Problem, demand: &dyn DemandCurve) -> PriceDecision {
    let grid = problem.grid();
    let n = problem.inventory as usize;
    if n == 0 || problem.steps == 0 || grid.is_empty() {
        return idle_decision(&grid, problem);
    }
    // Value and expected sales to go, indexed by seats left; rolled backwards in time.
    let mut value = vec![0.0f64; n + 1];
    let mut sales = vec![0.0f64; n + 1];
    let mut next_value = vec![0.0f64; n + 1];
    let mut next_sales = vec![0.0f64; n + 1];
    let mut pmf = Vec::new();
    let mut first_choice = 0usize;
    for t in (0..problem.steps).rev() {
        next_value.fill(f64::NEG_INFINITY);
        next_value[0] = 0.0;
        next_sales[0] = 0.0;
        for (j, &price) in grid.iter().enumerate() {
            let mean = rate(demand, price, t);
            truncated_pmf(mean, n, &mut pmf);
            let p = price as f64;
            let tail_at = pmf.len() - 1;
            for m in 1..=n {
                // Seats sold k < m with their pmf, then the tail sells all m.
                let upto = tail_at.min(m);
                let mut v = 0.0;
                let mut s = 0.0;
                let mut mass = 0.0;
                for (k, &pk) in pmf.iter().enumerate().take(upto) {
                    v += pk * (p * k as f64 + value[m - k]);
                    s += pk * (k as f64 + sales[m - k]);
                    mass += pk;
                }
                let rest = (1.0 - mass).max(0.0);
                v += rest * p * m as f64;
                s += rest * m as f64;
                if v > next_value[m] + 1e-9 {
                    next_value[m] = v;
                    next_sales[m] = s;
                    if t == 0 && m == n {
                        first_choice = j;
                    }
                }
            }
        }
        std::mem::swap(&mut value, &mut next_value);
        std::mem::swap(&mut sales, &mut next_sales);
    }
    let price = grid[first_choice];
    PriceDecision {
        price_minor: price,
        expected_revenue_minor: value[n].round() as i64,
        expected_sell_through: (sales[n] / n as f64).clamp(0.0, 1.0),
        binding: binding(&grid, price, demand),
    }
}

/// The fluid relaxation with one dual price of a seat. Returns the first step's price.
pub fn solve_fluid(problem: &Problem, demand: &dyn DemandCurve) -> PriceDecision {
    let grid = problem.grid();
    let seats = f64::from(problem.inventory);
    if problem.inventory == 0 || problem.steps == 0 || grid.is_empty() {
        return idle_decision(&grid, problem);
    }
    // Rates on the grid, computed once: steps × grid evaluations of the demand.
    let rates: Vec<Vec<f64>> = (0..problem.steps)
        .map(|t| grid.iter().map(|&p| rate(demand, p, t)).collect())
        .collect();
    let plan = |mu: f64| -> (usize, f64, f64) {
        let mut first = 0;
        let (mut revenue, mut sold) = (0.0, 0.0);
        for (t, row) in rates.iter().enumerate() {
            let mut best = (f64::NEG_INFINITY, 0usize);
            for (j, &r) in row.iter().enumerate() {
                let gain = (grid[j] as f64 - mu) * r;
                if gain > best.0 + 1e-12 {
                    best = (gain, j);
                }
            }
            if t == 0 {
                first = best.1;
            }
            revenue += grid[best.1] as f64 * row[best.1];
            sold += row[best.1];
        }
        (first, revenue, sold)
    };
    let free = plan(0.0);
    let (choice, revenue, sold) = if free.2 <= seats {
        free
    } else {
        let (mut lo, mut hi) = (0.0, grid[grid.len() - 1] as f64);
        for _ in 0..60 {
            let mid = 0.5 * (lo + hi);
            if plan(mid).2 <= seats {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        // On a grid, expected sales jump at the dual price: mix the plans on either side
        // (a time-sharing of the two prices) so that the seats are exactly used up.
        let (under, over) = (plan(hi), plan(lo));
        let gap = over.2 - under.2;
        let theta = if gap > 1e-9 {
            ((seats - under.2) / gap).clamp(0.0, 1.0)
        } else {
            0.0
        };
        let first = if theta >= 0.5 { over.0 } else { under.0 };
        let revenue = theta * over.1 + (1.0 - theta) * under.1;
        let sold = theta * over.2 + (1.0 - theta) * under.2;
        (first, revenue, sold)
    };
    let price = grid[choice];
    PriceDecision {
        price_minor: price,
        expected_revenue_minor: revenue.round() as i64,
        expected_sell_through: (sold / seats).clamp(0.0, 1.0),
        binding: binding(&grid, price, demand),
    }
}

/// Nothing to sell or no time left: the myopic price, no revenue.
fn idle_decision(grid: &[i64], problem: &Problem) -> PriceDecision {
    let price = grid
        .last()
        .copied()
        .unwrap_or(problem.cap_minor.max(problem.floor_minor));
    PriceDecision {
        price_minor: price,
        expected_revenue_minor: 0,
        expected_sell_through: 0.0,
        binding: if problem.inventory == 0 {
            Binding::Inventory
        } else {
            Binding::None
        },
    }
}

/// Why `price` is where it is: the bounds, or scarcity above the myopic optimum.
fn binding(grid: &[i64], price: i64, demand: &dyn DemandCurve) -> Binding {
    let myopic = grid
        .iter()
        .copied()
        .max_by(|&a, &b| {
            let ra = a as f64 * rate(demand, a, 0);
            let rb = b as f64 * rate(demand, b, 0);
            ra.total_cmp(&rb).then(b.cmp(&a))
        })
        .unwrap_or(price);
    let (floor, cap) = (grid[0], grid[grid.len() - 1]);
    if price == cap {
        Binding::Cap
    } else if price == floor {
        Binding::Floor
    } else if price > myopic {
        Binding::Inventory
    } else {
        Binding::None
    }
}

#[cfg(test)]
#[path = "optimiser_tests.rs"]
mod tests;
