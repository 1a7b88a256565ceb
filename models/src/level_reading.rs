//! The daily-level reading behind the structural forecast ([`LevelModel::forecast`]):
//! the opening spike still to come from the last quarter hour, the daily level from
//! the sales path ([`LevelModel::daily_level`]: the first day's prior updated by the
//! last hour; past it, the last day weighed against the later prior, the last hour and
//! the longer windows), and the later prior itself ([`later_prior`] over
//! [`later_terms`]). The types it reads and returns ([`Path`], [`Forecast`]) and the
//! constants it applies ([`LevelModel`]) are the parent's (`level.rs`).

use super::{Forecast, LevelModel, Path, SEAT_DISPERSION, SEATS_PER_PURCHASE};
use crate::shape::{expected_days, past_days};

/// The later prior of `ln(daily seats / capacity)` from its coefficients
/// ([`LevelModel::later`]: an intercept, then one per term) and [`later_terms`].
pub fn later_prior(later: &[f64], terms: &[f64]) -> f64 {
    later.first().copied().unwrap_or(0.0)
        + later
            .iter()
            .skip(1)
            .zip(terms)
            .map(|(c, v)| c * v)
            .sum::<f64>()
}

/// Number of regressors of the later prior ([`later_terms`]).
pub const LATER_TERMS: usize = 3;

/// The later prior's regressors: `ln(sold / capacity)`, `ln(1 + days to the event)`
/// and the share of the capacity sold in the opening hours (history weighs it
/// positive: for the same sold share, a big opening goes with more daily demand later;
/// squares of the first two and their product were tried: Brier 0.00527 -> 0.00536).
pub fn later_terms(
    sold: f64,
    opening: f64,
    capacity: f64,
    hours_to_event: f64,
) -> [f64; LATER_TERMS] {
    let cap = capacity.max(1.0);
    let s = ((sold + 1.0) / cap).ln();
    let d = (hours_to_event.max(0.0) / 24.0).ln_1p();
    let o = (opening.max(0.0) / cap).min(1.0);
    [s, d, o]
}

impl LevelModel {
    /// `e^(15/τ) − 1`: the last quarter hour's spike sales over what is still to come.
    fn quarter_ratio(&self) -> f64 {
        (15.0 / self.opening_decay_min.max(1.0)).exp_m1().max(1e-3)
    }

    /// The last hour's sales as a reading of `ln(daily level / capacity)`, with its
    /// variance (counting noise and [`Self::hour_noise`]).
    pub fn hour_reading(&self, sales_1h: f64, activity: f64, capacity: f64) -> (f64, f64) {
        let daily = sales_1h.max(0.5) * 24.0 / activity.max(0.02);
        (
            (daily / capacity.max(1.0)).ln(),
            SEATS_PER_PURCHASE / (sales_1h + SEATS_PER_PURCHASE) + self.hour_noise,
        )
    }

    /// Past days' `sales` (over their `days` worth at the current level) as a reading
    /// of `ln(daily level / capacity)`, with its variance: counting noise plus `noise`
    /// ([`Self::week_noise`], [`Self::middle_noise`] or [`Self::early_noise`]).
    pub fn days_reading(sales: f64, days: f64, capacity: f64, noise: f64) -> (f64, f64) {
        let daily = sales.max(0.5) / days.max(1e-3);
        (
            (daily / capacity.max(1.0)).ln(),
            SEATS_PER_PURCHASE / (sales + SEATS_PER_PURCHASE) + noise,
        )
    }

    /// The daily level (seats a day now) and its squared coefficient of variation;
    /// `activity` is the hour's share of a day's sales relative to the mean hour,
    /// `shape` the booking curve (for the week's reading).
    pub fn daily_level(
        &self,
        p: &Path,
        shape: &[f64],
        activity: f64,
        opening_left: f64,
        hours_to_event: f64,
    ) -> (f64, f64) {
        if !p.first_day() {
            let cv2 = SEATS_PER_PURCHASE / (p.sales_24h + SEATS_PER_PURCHASE) + self.day_noise;
            if self.later_var <= 0.0 || self.later.is_empty() {
                return (p.sales_24h, cv2);
            }
            // Weigh the day's reading against the prior from the path so far (log scale).
            let cap = p.capacity.max(1.0);
            let x = later_terms(p.sold, p.opening, cap, hours_to_event);
            let prior = later_prior(&self.later, &x);
            // A quiet day reads as half a seat: the prior, not zero, carries it.
            let reading = (p.sales_24h.max(0.5) / cap).ln();
            let cv2 = if reading > prior && self.day_noise_up > 0.0 {
                cv2 - self.day_noise + self.day_noise_up
            } else {
                cv2
            };
            let (mut precision, mut sum) = (
                1.0 / cv2 + 1.0 / self.later_var,
                reading / cv2 + prior.clamp(-20.0, 5.0) / self.later_var,
            );
            if self.hour_noise > 0.0 {
                let (hour, hour_var) = self.hour_reading(p.sales_1h, activity, cap);
                let hour_var = if hour > prior && self.hour_noise_up > 0.0 {
                    hour_var - self.hour_noise + self.hour_noise_up
                } else {
                    hour_var
                };
                precision += 1.0 / hour_var;
                sum += hour / hour_var;
            }
            if let Some(week) = p.earlier_week().filter(|_| self.week_noise > 0.0) {
                let days = past_days(shape, hours_to_event, 24.0, 144.0);
                let (reading, var) = Self::days_reading(week, days, cap, self.week_noise);
                precision += 1.0 / var;
                sum += reading / var;
            }
            if let Some((sales, back, span)) = p.middle() {
                // Back past the last day: the early days' window, else the middle's.
                let noise = if back > 24.0 {
                    self.early_noise
                } else {
                    self.middle_noise
                };
                if noise > 0.0 {
                    let days = past_days(shape, hours_to_event, back, span);
                    let (reading, var) = Self::days_reading(sales, days, cap, noise);
                    precision += 1.0 / var;
                    sum += reading / var;
                }
            }
            return (cap * (sum / precision).exp(), 1.0 / precision);
        }
        let cap = p.capacity.max(1.0);
        let opening = p.sold + opening_left;
        let ln_level = self.prior[0] + self.prior[1] * ((opening + 1.0) / cap).ln();
        let prior_mean = cap * ln_level.clamp(-20.0, 5.0).exp();
        // A gamma prior with that mean and a CV of the regression's spread.
        let shape = 1.0 / self.prior_sd.max(0.05).powi(2);
        let mut a = shape;
        let mut b = shape / prior_mean.max(1e-6);
        // The last hour reads the daily level once the spike has faded from it.
        let spike_in_hour = opening_left * ((60.0 / self.opening_decay_min.max(1.0)).exp_m1());
        if spike_in_hour < 0.1 * p.sales_1h.max(1.0) {
            let purchases = p.sales_1h / SEATS_PER_PURCHASE;
            a += purchases;
            b += activity.max(0.02) / 24.0 / SEATS_PER_PURCHASE;
        }
        (a / b, 1.0 / a)
    }

    /// Seats asked for within `horizon_hours` from `hours_to_event` before the start.
    pub fn forecast(
        &self,
        p: &Path,
        shape: &[f64],
        activity: f64,
        hours_to_event: f64,
        horizon_hours: f64,
    ) -> Forecast {
        if horizon_hours <= 0.0 {
            return Forecast {
                mean: 0.0,
                variance: 0.0,
            };
        }
        let base_quarter = if p.first_day() {
            0.0
        } else {
            p.sales_24h / 96.0 * activity
        };
        let excess = (p.sales_15m - base_quarter).max(0.0);
        let mut opening_left = excess / self.quarter_ratio();
        if p.sold >= 1.0 && p.sales_15m >= 0.98 * p.sold {
            opening_left = opening_left.max(self.young_ratio * p.sold);
        }
        let (level, cv2) = self.daily_level(p, shape, activity, opening_left, hours_to_event);
        let mut daily = level * expected_days(shape, hours_to_event, horizon_hours);
        if !p.first_day() {
            let k = (horizon_hours / 24.0).max(0.25);
            daily *= (self.bias[0] + self.bias[1] * k.ln())
                .clamp(-1.0, 1.0)
                .exp();
        }
        let opening_cv2 = SEATS_PER_PURCHASE / (excess + SEATS_PER_PURCHASE);
        let mean = opening_left + daily;
        let variance = SEAT_DISPERSION * mean
            + daily * daily * cv2
            + opening_left * opening_left * opening_cv2;
        Forecast { mean, variance }
    }
}
