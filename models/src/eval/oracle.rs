//! The oracle of sell-out probability: `P(sold out within H)` computed from the
//! simulator's *true* parameters, the reference the learned model's Brier is held to.
//!
//! Per event: expected shopper arrivals are integrated from [`EventTruth::arrival_rate`]
//! on a 5-minute grid. Per (event, set of categories still on sale): a Monte Carlo of
//! 20,000 sessions through the true funnel (first view by preference, correlated
//! log-normal willingness to pay, cart intent, abandonment, views of other categories
//! weighted as the simulator does) gives buying sessions per arrival for each category.
//! Seats demanded within the window are then compound Poisson (sessions × seats per
//! cart from the true quantity weights): Monte Carlo when few sessions are expected, a
//! normal approximation with continuity correction when many.
//!
//! Other categories of the event selling out inside the window change where shoppers
//! buy: the window is cut at their expected (fluid) sell-out times and the sessions are
//! summed over the pieces, each with its own set of categories on sale.
//!
//! Approximations (so the oracle is near, not exactly, the truth): cart holds, refunds,
//! the other categories' sell-out times are their expected ones, and prices are at list.

use std::collections::HashMap;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Poisson, StandardNormal};
use sellout_ingest::records::Timestamp;
use sellout_simulator::truth::EventTruth;
use sellout_simulator::{GroundTruth, normal_cdf};

use crate::history::Labelled;
use crate::sellout::Horizon;

const STEP_MS: i64 = 5 * 60_000;
const SESSIONS: usize = 20_000;

/// Oracle probabilities for the snapshots of one or more simulator runs.
pub struct Oracle<'a> {
    truths: &'a [GroundTruth],
    cum: HashMap<(u64, String), (Timestamp, Vec<f64>)>,
    funnel: HashMap<(u64, String, u32), Vec<f64>>,
    rng: ChaCha8Rng,
}

impl<'a> Oracle<'a> {
    /// An oracle over the ground truth of the runs (matched by seed).
    pub fn new(truths: &'a [GroundTruth]) -> Self {
        Self {
            truths,
            cum: HashMap::new(),
            funnel: HashMap::new(),
            rng: ChaCha8Rng::seed_from_u64(0x0_5eed),
        }
    }

    fn event(&self, seed: u64, event_id: &str) -> Option<(&'a GroundTruth, &'a EventTruth)> {
        let truth = self.truths.iter().find(|t| t.seed == seed)?;
        Some((truth, truth.event(event_id)?))
    }

    /// Expected arrivals of the event between `from` and `to`.
    fn arrivals(&mut self, seed: u64, event: &EventTruth, scale: f64, from: i64, to: i64) -> f64 {
        let (start, cum) = self
            .cum
            .entry((seed, event.event_id.clone()))
            .or_insert_with(|| {
                let (open, close) = (event.curve.on_sale, event.curve.sales_close);
                let mut cum = vec![0.0];
                let mut t = open;
                while t < close {
                    let rate = event.arrival_rate(t + STEP_MS / 2, scale);
                    let last = cum[cum.len() - 1];
                    cum.push(last + rate * STEP_MS as f64 / 60_000.0);
                    t += STEP_MS;
                }
                (open, cum)
            });
        let at = |t: i64| {
            let x = (t - *start) as f64 / STEP_MS as f64;
            let i = (x.floor().max(0.0) as usize).min(cum.len() - 1);
            let j = (i + 1).min(cum.len() - 1);
            let frac = (x - i as f64).clamp(0.0, 1.0);
            cum[i] + frac * (cum[j] - cum[i])
        };
        (at(to) - at(from)).max(0.0)
    }

    /// Buying sessions per arrival for each category, given which are still on sale.
    fn buyers_per_arrival(
        &mut self,
        truth: &GroundTruth,
        event: &EventTruth,
        mask: u32,
    ) -> Vec<f64> {
        let key = (truth.seed, event.event_id.clone(), mask);
        if let Some(v) = self.funnel.get(&key) {
            return v.clone();
        }
        let cats = &event.categories;
        let model = &truth.shopper;
        let rho = model.wtp_correlation;
        let mut buyers = vec![0.0; cats.len()];
        let open = |k: usize| mask & (1 << k) != 0;
        for _ in 0..SESSIONS {
            let z: f64 = StandardNormal.sample(&mut self.rng);
            let mut c = pick(&mut self.rng, cats.iter().map(|c| c.preference));
            let mut seen = 0u32;
            for view in 0..model.max_views {
                seen |= 1 << c;
                let t = &cats[c];
                let e: f64 = StandardNormal.sample(&mut self.rng);
                let wtp = t.wtp_median_minor
                    * (t.wtp_sigma * (rho * z + (1.0 - rho * rho).sqrt() * e)).exp();
                if open(c)
                    && wtp >= t.list_price_minor as f64
                    && self.rng.random::<f64>() < t.cart_intent
                {
                    if self.rng.random::<f64>() >= t.abandonment_rate {
                        buyers[c] += 1.0;
                    }
                    break;
                }
                if view + 1 >= model.max_views
                    || self.rng.random::<f64>() >= model.view_another_probability
                {
                    break;
                }
                let weights: Vec<f64> = (0..cats.len())
                    .map(|k| {
                        let w = if seen & (1 << k) != 0 {
                            0.0
                        } else {
                            cats[k].preference
                        };
                        if open(k) { w } else { 0.15 * w }
                    })
                    .collect();
                if weights.iter().sum::<f64>() <= 0.0 {
                    break;
                }
                c = pick(&mut self.rng, weights.into_iter());
            }
        }
        let out: Vec<f64> = buyers.iter().map(|b| b / SESSIONS as f64).collect();
        self.funnel.insert(key, out.clone());
        out
    }

    /// Time at which the event's expected arrivals after `from` reach `amount` (`None`
    /// past sales close).
    fn time_of_arrivals(
        &mut self,
        seed: u64,
        event: &EventTruth,
        scale: f64,
        from: i64,
        amount: f64,
    ) -> Option<i64> {
        let close = event.curve.sales_close;
        if self.arrivals(seed, event, scale, from, close) < amount {
            return None;
        }
        let (mut lo, mut hi) = (from, close);
        while hi - lo > 60_000 {
            let mid = lo + (hi - lo) / 2;
            if self.arrivals(seed, event, scale, from, mid) < amount {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        Some(hi)
    }

    /// `P(category sold out within horizon)` at the snapshot; `open` lists every category
    /// of the event still on sale (catalog index, seats left), the snapshot's included.
    ///
    /// Other categories selling out inside the window send their shoppers elsewhere:
    /// the window is cut where the expected seats sold (fluid) of each other category
    /// reach its seats left, and the buying sessions of this category are summed over
    /// the pieces, each with the set of categories then on sale.
    pub fn probability(
        &mut self,
        l: &Labelled,
        horizon: Horizon,
        open: &[(usize, u32)],
    ) -> Option<f64> {
        let (truth, event) = self.event(l.seed, &l.features.event_id)?;
        let c = event
            .categories
            .iter()
            .position(|c| c.category_id == l.features.category_id.as_str())?;
        let end = match horizon.hours() {
            Some(h) => (l.time + (h * 3_600_000.0) as i64).min(event.curve.sales_close),
            None => event.curve.sales_close,
        };
        let q1 = mean_quantity(&truth.shopper.quantity_weights);
        let mut left: Vec<(usize, f64)> = open
            .iter()
            .filter(|(k, _)| *k != c && *k < 32)
            .map(|(k, r)| (*k, f64::from(*r)))
            .collect();
        let mut mask = left.iter().fold(1u32 << c, |m, (k, _)| m | (1 << k));
        let mut t = l.time;
        let mut sessions = 0.0;
        while t < end {
            let per_arrival = self.buyers_per_arrival(truth, event, mask);
            // The next other category to run out at this mask's pace, if any.
            let next = left
                .iter()
                .filter(|(k, _)| per_arrival[*k] > 0.0)
                .map(|(k, r)| (*k, r / (per_arrival[*k] * q1)))
                .min_by(|a, b| a.1.total_cmp(&b.1));
            let cut = match next {
                Some((_, amount)) => self
                    .time_of_arrivals(l.seed, event, truth.scale, t, amount)
                    .map_or(end, |at| at.min(end)),
                None => end,
            };
            let arrivals = self.arrivals(l.seed, event, truth.scale, t, cut);
            sessions += arrivals * per_arrival[c];
            for (k, r) in &mut left {
                *r -= arrivals * per_arrival[*k] * q1;
            }
            match next {
                Some((gone, _)) if cut < end => {
                    mask &= !(1 << gone);
                    left.retain(|(k, _)| *k != gone);
                }
                _ => break,
            }
            t = cut;
        }
        let w = &truth.shopper.quantity_weights;
        let total: f64 = w.iter().sum();
        let q2: f64 = w
            .iter()
            .enumerate()
            .map(|(i, p)| ((i + 1) as f64).powi(2) * p)
            .sum::<f64>()
            / total;
        let need = f64::from(l.features.remaining);
        if sessions >= 30.0 {
            let mean = sessions * q1;
            let sd = (sessions * q2).sqrt();
            return Some(1.0 - normal_cdf((need - 0.5 - mean) / sd));
        }
        let Ok(poisson) = Poisson::new(sessions.max(1e-12)) else {
            return Some(0.0);
        };
        let draws = 400;
        let mut hits = 0;
        for _ in 0..draws {
            let n = poisson.sample(&mut self.rng) as usize;
            let seats: usize = (0..n)
                .map(|_| 1 + pick(&mut self.rng, w.iter().copied()))
                .sum();
            if seats as f64 >= need {
                hits += 1;
            }
        }
        Some(f64::from(hits) / f64::from(draws))
    }
}

/// Mean seats per cart from the quantity weights (1 seat at index 0).
fn mean_quantity(w: &[f64]) -> f64 {
    let total: f64 = w.iter().sum();
    if total <= 0.0 {
        return 1.0;
    }
    w.iter()
        .enumerate()
        .map(|(i, p)| (i + 1) as f64 * p)
        .sum::<f64>()
        / total
}

/// Index drawn with probability proportional to the weights.
fn pick(rng: &mut ChaCha8Rng, weights: impl Iterator<Item = f64> + Clone) -> usize {
    let total: f64 = weights.clone().sum();
    let mut x = rng.random::<f64>() * total;
    let mut last = 0;
    for (i, w) in weights.enumerate() {
        if x < w {
            return i;
        }
        x -= w;
        last = i;
    }
    last
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{HistoryConfig, generate};

    #[test]
    fn neighbours_selling_out_raise_a_categorys_probability() {
        let h = generate(&HistoryConfig {
            seeds: vec![7],
            events: 2,
            sale_days: 6.0,
            scale: 0.3,
            hotness: (0.4, 0.9),
            snapshot_hours: 24.0,
            price_factors: Vec::new(),
        })
        .unwrap();
        let mut oracle = Oracle::new(&h.truths);
        let mut raised = 0;
        for l in h
            .snapshots
            .iter()
            .filter(|l| l.features.hours_to_event > 48.0)
        {
            let Some(event) = h.truths[0].event(&l.features.event_id) else {
                continue;
            };
            let Some(c) = event
                .categories
                .iter()
                .position(|k| k.category_id == l.features.category_id.as_str())
            else {
                continue;
            };
            let others = |seats: u32| -> Vec<(usize, u32)> {
                (0..event.categories.len())
                    .map(|k| (k, if k == c { l.features.remaining } else { seats }))
                    .collect()
            };
            // Neighbours that can't run out versus neighbours down to their last seat.
            let plenty = oracle.probability(l, Horizon::ByStart, &others(u32::MAX / 2));
            let scarce = oracle.probability(l, Horizon::ByStart, &others(1));
            let (Some(plenty), Some(scarce)) = (plenty, scarce) else {
                continue;
            };
            assert!(scarce + 0.05 >= plenty, "{scarce} < {plenty} at {l:?}");
            if scarce > plenty + 0.05 {
                raised += 1;
            }
        }
        assert!(
            raised > 0,
            "no category gained from its neighbours selling out"
        );
    }
}
