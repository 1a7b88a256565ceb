//! The oracle of sell-out probability: `P(sold out within H)` computed from the
//! simulator's *true* parameters and the state at the snapshot, the reference the
//! learned model's Brier is held to. It knows no more of the future than the true laws
//! say: the realised future (arrivals, announcements and social spikes still to come) is
//! drawn at random (`oracle/paths.rs`), never read from the run.
//!
//! What it knows at a snapshot taken at `t`: the true parameters (booking curve,
//! hotness, willingness to pay, funnel, the laws of announcements and spikes), the waves
//! that happened by `t` (with their true strength: the state up to the decision), and
//! the seats left in every category of the event. Per snapshot time it draws
//! [`PATHS`] futures of the event's expected arrivals (future waves from their laws).
//! Per (event, set of categories still on sale): a Monte Carlo of 200,000 sessions
//! through the true funnel (first view by preference, correlated log-normal willingness
//! to pay, cart intent, abandonment, views of other categories weighted as the simulator
//! does) gives buying sessions per arrival for each category. Given a path, seats
//! demanded within the window are compound Poisson (sessions × seats per cart from the
//! true quantity weights): exact (Panjer's recursion) when few sessions are expected, a
//! normal approximation with continuity correction when many. The probability is the
//! mean over paths.
//!
//! Other categories of the event selling out inside the window change where shoppers
//! buy: on each path the window is cut at their expected (fluid) sell-out times and the
//! sessions are summed over the pieces, each with its own set of categories on sale.
//!
//! Approximations (so the oracle is near, not exactly, the truth): cart holds, refunds,
//! the other categories' sell-out times are their expected ones on the path, and prices
//! are at list.

mod paths;

use std::collections::HashMap;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use sellout_ingest::records::Timestamp;
use sellout_simulator::truth::EventTruth;
use sellout_simulator::{GroundTruth, normal_cdf};

use crate::history::Labelled;
use crate::sellout::Horizon;
use paths::Futures;

const SESSIONS: usize = 200_000;

/// Monte Carlo paths of the future per snapshot time.
pub const PATHS: usize = 1024;

/// Oracle probabilities for the snapshots of one or more simulator runs.
pub struct Oracle<'a> {
    truths: &'a [GroundTruth],
    funnel: HashMap<(u64, String, u32), Vec<f64>>,
    rng: ChaCha8Rng,
    paths: usize,
    salt: u64,
    /// The futures of the last (seed, event, time) asked about.
    futures: Option<((u64, String, Timestamp), Futures)>,
}

impl<'a> Oracle<'a> {
    /// An oracle over the ground truth of the runs (matched by seed).
    pub fn new(truths: &'a [GroundTruth]) -> Self {
        Self::with_paths(truths, PATHS, 0)
    }

    /// An oracle drawing `paths` futures per snapshot time; `salt` changes every draw
    /// (to measure the oracle's own Monte Carlo noise).
    pub fn with_paths(truths: &'a [GroundTruth], paths: usize, salt: u64) -> Self {
        Self {
            truths,
            funnel: HashMap::new(),
            rng: ChaCha8Rng::seed_from_u64(0x0_5eed ^ salt),
            paths: paths.max(1),
            salt,
            futures: None,
        }
    }

    fn event(&self, seed: u64, event_id: &str) -> Option<(&'a GroundTruth, &'a EventTruth)> {
        let truth = self.truths.iter().find(|t| t.seed == seed)?;
        Some((truth, truth.event(event_id)?))
    }

    /// The futures of the event seen from `at`, drawn once per (seed, event, time) from
    /// a generator seeded by them (the same whatever order snapshots are asked in).
    fn take_futures(&mut self, truth: &GroundTruth, event: &EventTruth, at: Timestamp) -> Futures {
        let key = (truth.seed, event.event_id.clone(), at);
        if let Some((k, f)) = self.futures.take()
            && k == key
        {
            return f;
        }
        let mut h = truth.seed ^ self.salt.rotate_left(17) ^ (at as u64).rotate_left(29);
        for b in event.event_id.bytes() {
            h = h.wrapping_mul(0x100_0000_01b3) ^ u64::from(b);
        }
        let mut rng = ChaCha8Rng::seed_from_u64(h);
        Futures::draw(event, truth.scale, at, self.paths, &mut rng)
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

    /// `P(category sold out within horizon)` at the snapshot; `open` lists every category
    /// of the event still on sale (catalog index, seats left), the snapshot's included.
    ///
    /// Other categories selling out inside the window send their shoppers elsewhere:
    /// on each path the window is cut where the expected seats sold (fluid) of each other
    /// category reach its seats left, and the buying sessions of this category are
    /// summed over the pieces, each with the set of categories then on sale.
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
        let futures = self.take_futures(truth, event, l.time);
        let w = &truth.shopper.quantity_weights;
        let need = f64::from(l.features.remaining);
        let mut total = 0.0;
        for path in 0..futures.len() {
            let sessions = self.sessions(&futures, path, truth, event, c, l.time, end, open);
            total += tail(sessions, need, w);
        }
        let n = futures.len().max(1) as f64;
        self.futures = Some(((truth.seed, event.event_id.clone(), l.time), futures));
        Some(total / n)
    }

    /// Expected buying sessions of category `c` from `from` to `end` on one path.
    #[allow(clippy::too_many_arguments)]
    fn sessions(
        &mut self,
        futures: &Futures,
        path: usize,
        truth: &GroundTruth,
        event: &EventTruth,
        c: usize,
        from: Timestamp,
        end: Timestamp,
        open: &[(usize, u32)],
    ) -> f64 {
        let q1 = mean_quantity(&truth.shopper.quantity_weights);
        let mut left: Vec<(usize, f64)> = open
            .iter()
            .filter(|(k, _)| *k != c && *k < 32)
            .map(|(k, r)| (*k, f64::from(*r)))
            .collect();
        let mut mask = left.iter().fold(1u32 << c, |m, (k, _)| m | (1 << k));
        let mut t = from;
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
                Some((_, amount)) => futures.time_of(path, t, amount, end).unwrap_or(end),
                None => end,
            };
            let arrivals = futures.arrivals(path, t, cut);
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
        sessions
    }
}

/// `P(seats demanded ≥ need)` when buying sessions are Poisson with mean `sessions` and
/// each takes 1..=10 seats with the weights `w`: a normal approximation (continuity
/// corrected) from 30 sessions on, Panjer's exact recursion below.
fn tail(sessions: f64, need: f64, w: &[f64]) -> f64 {
    if need <= 0.0 {
        return 1.0;
    }
    let total: f64 = w.iter().sum();
    if sessions.is_nan() || sessions <= 0.0 || total <= 0.0 {
        return 0.0;
    }
    let q1 = mean_quantity(w);
    let q2: f64 = w
        .iter()
        .enumerate()
        .map(|(i, p)| ((i + 1) as f64).powi(2) * p)
        .sum::<f64>()
        / total;
    if sessions >= 30.0 {
        let mean = sessions * q1;
        let sd = (sessions * q2).sqrt();
        return 1.0 - normal_cdf((need - 0.5 - mean) / sd);
    }
    // Far beyond the mean the tail is nil (and the recursion would be long).
    if need > sessions * q1 + 14.0 * (sessions * q2).sqrt() + 40.0 {
        return 0.0;
    }
    let need = need.ceil() as usize;
    let mut pmf = Vec::with_capacity(need);
    pmf.push((-sessions).exp());
    for s in 1..need {
        let sum: f64 = (1..=w.len().min(s))
            .map(|j| j as f64 * w[j - 1] / total * pmf[s - j])
            .sum();
        pmf.push(sessions / s as f64 * sum);
    }
    (1.0 - pmf.iter().sum::<f64>()).clamp(0.0, 1.0)
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
mod tests;
