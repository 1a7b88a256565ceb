//! The pace forecast: what a board shows before any model is trained. Sales go on at
//! the recent pace (the larger of the last day's hourly rate and half the last hour's,
//! as [`expected_sell_out_hours`] assumes, which walks a demand model's rate instead
//! when given one), as
//! a Poisson process; a category sells out within a horizon when those sales reach
//! its remaining seats. A baseline, not a model: it knows nothing of booking curves
//! slowing down or speeding up towards the event.

use sellout_pipelines::output::SellOutFeatures;

use crate::demand::{DemandInputs, PoissonGlm};
use crate::sellout::{CLOSE_HOURS, Horizon};

/// Tickets per hour at the recent pace.
pub fn pace_per_hour(f: &SellOutFeatures) -> f64 {
    (f64::from(f.sales_24h) / 24.0).max(f64::from(f.sales_1h) * 0.5)
}

/// P(sales at the recent pace reach the remaining seats within `horizon`).
pub fn probability(f: &SellOutFeatures, horizon: Horizon) -> f64 {
    let remaining = f64::from(f.remaining);
    if remaining <= 0.0 {
        return 1.0;
    }
    let lambda = pace_per_hour(f) * horizon.effective_hours(f.hours_to_event);
    poisson_at_least(lambda, f.remaining)
}

/// P(N ≥ k) for N ~ Poisson(λ): exact for small λ, normal approximation with a
/// continuity correction otherwise.
fn poisson_at_least(lambda: f64, k: u32) -> f64 {
    if k == 0 {
        return 1.0;
    }
    if lambda <= 0.0 {
        return 0.0;
    }
    if lambda < 50.0 {
        if f64::from(k) > lambda + 12.0 * lambda.sqrt() + 30.0 {
            return 0.0;
        }
        // 1 - P(N ≤ k-1), summing the pmf term by term.
        let mut term = (-lambda).exp();
        let mut below = term;
        for i in 1..k {
            term *= lambda / f64::from(i);
            below += term;
        }
        return (1.0 - below).clamp(0.0, 1.0);
    }
    let z = (f64::from(k) - 0.5 - lambda) / lambda.sqrt();
    (1.0 - normal_cdf(z)).clamp(0.0, 1.0)
}

/// Φ(z), by the error function (Abramowitz and Stegun 7.1.26, |error| < 1.5e-7).
fn normal_cdf(z: f64) -> f64 {
    let x = z.abs() / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.327_591_1 * x);
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736
                + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let erf = 1.0 - poly * (-x * x).exp();
    if z >= 0.0 {
        0.5 * (1.0 + erf)
    } else {
        0.5 * (1.0 - erf)
    }
}

/// Hours until expected sales cover the seats left, stepping hour by hour to sales close.
pub fn expected_sell_out_hours(
    f: &SellOutFeatures,
    list_minor: i64,
    demand: Option<&PoissonGlm>,
) -> Option<f64> {
    let selling = (f.hours_to_event - CLOSE_HOURS).max(0.0);
    let remaining = f64::from(f.remaining);
    if remaining <= 0.0 {
        return Some(0.0);
    }
    let pace = (f64::from(f.sales_24h) / 24.0).max(f64::from(f.sales_1h) * 0.5);
    let base = DemandInputs::from_features(f, list_minor);
    let mut sold = 0.0;
    let mut hour = 0.0;
    while hour < selling {
        let rate = match demand {
            Some(glm) => glm.rate_per_hour(&DemandInputs {
                hours_to_event: f.hours_to_event - hour,
                ..base
            }),
            None => pace,
        };
        let step = (selling - hour).min(1.0);
        if sold + rate * step >= remaining {
            return Some(hour + (remaining - sold) / rate.max(1e-12));
        }
        sold += rate * step;
        hour += step;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot(remaining: u32, sales_24h: u32, hours_to_event: f64) -> SellOutFeatures {
        SellOutFeatures {
            event_id: "e".into(),
            category_id: "c".into(),
            capacity: 1_000,
            sold: 1_000 - remaining,
            remaining,
            sales_1m: 0,
            sales_15m: 0,
            sales_1h: 0,
            sales_24h,
            sales_7d: 7 * sales_24h,
            hours_since_on_sale: 0.0,
            opening_sold: 0,
            cart_adds_1h: 0,
            abandonment_rate_24h: 0.0,
            buzz_posts_1h: 0,
            buzz_sentiment_1h: 0.0,
            hours_to_event,
            price_minor: 5_000,
            currency: "EUR".into(),
        }
    }

    #[test]
    fn probabilities_follow_pace_seats_and_time() {
        // 240 a day = 10 an hour; 100 seats left.
        let f = snapshot(100, 240, 24.0 * 30.0);
        let week = probability(&f, Horizon::Days7);
        assert!(week > 0.999, "{week}"); // ~1,680 expected in a week
        let near = snapshot(100, 240, 2.75 + 8.0); // 8 selling hours: ~80 expected
        let p = probability(&near, Horizon::ByStart);
        assert!((0.01..0.1).contains(&p), "{p}");
        assert_eq!(probability(&snapshot(0, 0, 10.0), Horizon::Days7), 1.0);
        assert_eq!(probability(&snapshot(5, 0, 100.0), Horizon::Days7), 0.0);
        // More time, more seats sold: never less likely.
        let a = probability(&snapshot(500, 240, 100.0), Horizon::Days7);
        let b = probability(&snapshot(500, 240, 200.0), Horizon::Days7);
        assert!(b >= a);
    }

    #[test]
    fn the_tail_is_exact_for_small_rates_and_smooth_across_the_switch() {
        // P(Poisson(2) >= 1) = 1 - e^-2.
        assert!((poisson_at_least(2.0, 1) - (1.0 - (-2.0f64).exp())).abs() < 1e-12);
        let (below, above) = (poisson_at_least(49.999, 55), poisson_at_least(50.0, 55));
        assert!((below - above).abs() < 0.02, "{below} vs {above}");
        assert!((normal_cdf(0.0) - 0.5).abs() < 1e-7);
        assert!((normal_cdf(1.96) - 0.975).abs() < 1e-3);
    }
}
