//! Ground truth: the parameters the simulation draws its shoppers from, and the formulas.
//!
//! Later models are evaluated against this: the expected arrival rate of shoppers per
//! event at any time ([`EventTruth::arrival_rate`]: an opening spike decaying fast,
//! baseline and late rise shaped by the hour of day, waves after announcements and
//! after social spikes), and per category the willingness-to-pay distribution behind
//! every purchase decision ([`CategoryTruth::purchase_probability`],
//! [`CategoryTruth::elasticity`]). A shopper buys a category when their willingness to
//! pay (log-normal around `wtp_median_minor`) is at least the price read at that moment,
//! they intend to cart (`cart_intent`), and they don't abandon (`abandonment_rate`).

use rand::Rng as _;
use sellout_ingest::catalog::Catalog;
use sellout_streams::Timestamp;
use serde::{Deserialize, Serialize};

use crate::SimConfig;
use crate::catalog::{HOUR, MINUTE};
use crate::random::{self, normal_cdf, normal_pdf, streams};
use crate::waves::{ANNOUNCEMENT_LAW, SPIKE_LAW, wave_window};

/// Everything the simulation draws from, for one config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroundTruth {
    /// The config seed.
    pub seed: u64,
    /// Multiplier on every arrival rate below.
    pub scale: f64,
    /// Minutes a cart holds seats.
    pub cart_hold_minutes: u32,
    /// How shoppers behave, the same for every event.
    pub shopper: ShopperModel,
    /// Per event, in catalog order.
    pub events: Vec<EventTruth>,
}

/// Shopper behaviour shared by all events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShopperModel {
    /// Shares of sessions by channel: web, app, partner, box office.
    pub channel_shares: [f64; 4],
    /// Share of web sessions logged in from the start (app sessions always are; others
    /// never). Every buyer is identified at checkout.
    pub web_logged_in_share: f64,
    /// Probability of 1..=10 seats in a cart.
    pub quantity_weights: [f64; 10],
    /// Correlation of one shopper's willingness to pay across categories.
    pub wtp_correlation: f64,
    /// Probability of viewing another category after not buying one.
    pub view_another_probability: f64,
    /// Most categories one session views.
    pub max_views: u32,
    /// Of abandoned carts: share removed explicitly before the hold ends.
    pub abandon_remove_share: f64,
    /// Of abandoned carts: share that check out but never pay (payment failed).
    pub abandon_after_checkout_share: f64,
    /// Median minutes from cart to checkout.
    pub checkout_median_minutes: f64,
}

impl Default for ShopperModel {
    fn default() -> Self {
        Self {
            channel_shares: [0.55, 0.30, 0.10, 0.05],
            web_logged_in_share: 0.35,
            quantity_weights: [0.14, 0.46, 0.10, 0.18, 0.04, 0.04, 0.01, 0.01, 0.01, 0.01],
            wtp_correlation: 0.8,
            view_another_probability: 0.55,
            max_views: 3,
            abandon_remove_share: 0.35,
            abandon_after_checkout_share: 0.15,
            checkout_median_minutes: 2.5,
        }
    }
}

/// The demand of one event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventTruth {
    /// The event.
    pub event_id: String,
    /// How hot the event is (1.0: sells a stadium out within the hour at list prices).
    pub hotness: f64,
    /// Median willingness to pay over list price, before per-category noise.
    pub wtp_ratio: f64,
    /// The booking curve: expected shopper arrivals per minute.
    pub curve: BookingCurve,
    /// Announcements: waves of arrivals.
    pub announcements: Vec<Wave>,
    /// Social spikes: a burst of posts, then a bump of arrivals over the following hours.
    pub social_spikes: Vec<SocialSpike>,
    /// Per category.
    pub categories: Vec<CategoryTruth>,
}

/// Expected arrivals per minute, before waves and spikes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BookingCurve {
    /// The sale opens.
    #[serde(with = "sellout_ingest::records::time")]
    pub on_sale: Timestamp,
    /// The sale closes (45 minutes before doors open).
    #[serde(with = "sellout_ingest::records::time")]
    pub sales_close: Timestamp,
    /// Arrivals per minute at the opening.
    pub opening_peak_per_min: f64,
    /// Minutes for the opening spike to decay by a factor e.
    pub opening_decay_min: f64,
    /// Arrivals per minute between the spike and the late rise (times `diurnal`).
    pub baseline_per_min: f64,
    /// Extra arrivals per minute at the close (times `diurnal`), rising exponentially.
    pub late_peak_per_min: f64,
    /// Days for the late rise to grow by a factor e.
    pub late_rise_days: f64,
    /// Multiplier by UTC hour of day (mean 1) on the baseline and late rise.
    pub diurnal: Vec<f64>,
}

impl BookingCurve {
    /// Arrivals per minute of the opening spike at `t` (before scale and waves).
    pub fn opening_rate(&self, t: Timestamp) -> f64 {
        let since_open = (t - self.on_sale) as f64 / MINUTE as f64;
        self.opening_peak_per_min * (-since_open / self.opening_decay_min).exp()
    }

    /// Arrivals per minute of the baseline and late rise at `t`, shaped by the hour of
    /// day: what waves multiply (before scale).
    pub fn daily_rate(&self, t: Timestamp) -> f64 {
        let to_close = (self.sales_close - t) as f64 / MINUTE as f64;
        let late = self.late_peak_per_min * (-to_close / (self.late_rise_days * 1440.0)).exp();
        let hour = (t.div_euclid(HOUR).rem_euclid(24)) as usize;
        (self.baseline_per_min + late) * self.diurnal.get(hour).copied().unwrap_or(1.0)
    }
}

/// An announcement: arrivals on the baseline multiplied by `1 + amplitude·e^(−Δt/decay)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Wave {
    /// When it was made.
    #[serde(with = "sellout_ingest::records::time")]
    pub time: Timestamp,
    /// What was announced.
    pub label: String,
    /// Peak extra multiple of the baseline.
    pub amplitude: f64,
    /// Minutes to decay by a factor e.
    pub decay_min: f64,
}

/// A social spike: posts jump at `time`, arrivals follow `lag` later, peaking then.
///
/// Extra posts per minute: `posts_per_min·e^(−Δt/post_decay_min)`. Arrivals on the
/// baseline are multiplied by `1 + arrival_boost·x·e^(1−x)` with `x = Δt/arrival_lag_min`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SocialSpike {
    /// When the burst starts.
    #[serde(with = "sellout_ingest::records::time")]
    pub time: Timestamp,
    /// Extra posts per minute at the start.
    pub posts_per_min: f64,
    /// Minutes for the burst to decay by a factor e.
    pub post_decay_min: f64,
    /// Peak extra multiple of baseline arrivals.
    pub arrival_boost: f64,
    /// Minutes from the burst to the arrivals' peak.
    pub arrival_lag_min: f64,
}

/// The demand model of one category.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CategoryTruth {
    /// The category.
    pub category_id: String,
    /// Its list price.
    pub list_price_minor: i64,
    /// Share of shoppers who look at this category first.
    pub preference: f64,
    /// Median willingness to pay for one seat (log-normal), minor units.
    pub wtp_median_minor: f64,
    /// Log-scale spread of willingness to pay.
    pub wtp_sigma: f64,
    /// Probability that a shopper who is willing to pay puts seats in the cart.
    pub cart_intent: f64,
    /// Probability that a cart is abandoned regardless of price.
    pub abandonment_rate: f64,
    /// Probability that a purchase is refunded later.
    pub refund_rate: f64,
}

impl CategoryTruth {
    /// Probability that a shopper's willingness to pay is at least `price_minor`.
    pub fn willing_share(&self, price_minor: i64) -> f64 {
        if price_minor <= 0 {
            return 1.0;
        }
        1.0 - normal_cdf(self.z(price_minor))
    }

    /// Probability that a shopper viewing this category (with seats left) buys at
    /// `price_minor`, the price staying put during the session.
    pub fn purchase_probability(&self, price_minor: i64) -> f64 {
        self.cart_intent * (1.0 - self.abandonment_rate) * self.willing_share(price_minor)
    }

    /// Price elasticity of the purchase probability at `price_minor` (d ln P / d ln p).
    pub fn elasticity(&self, price_minor: i64) -> f64 {
        let z = self.z(price_minor.max(1));
        let survival = (1.0 - normal_cdf(z)).max(1e-12);
        -normal_pdf(z) / (self.wtp_sigma * survival)
    }

    fn z(&self, price_minor: i64) -> f64 {
        (price_minor as f64 / self.wtp_median_minor).ln() / self.wtp_sigma
    }
}

impl EventTruth {
    /// Expected shopper arrivals per minute at `t`, times `scale`; 0 outside the sale.
    pub fn arrival_rate(&self, t: Timestamp, scale: f64) -> f64 {
        let c = &self.curve;
        if t < c.on_sale || t >= c.sales_close {
            return 0.0;
        }
        let mut boost = 1.0;
        for w in &self.announcements {
            boost += w.boost(t);
        }
        for s in &self.social_spikes {
            boost += s.boost(t);
        }
        scale * (c.opening_rate(t) + c.daily_rate(t) * boost)
    }

    /// Extra social posts per minute at `t` from the seeded spikes (before scale).
    pub fn spike_posts_rate(&self, t: Timestamp) -> f64 {
        self.social_spikes
            .iter()
            .filter(|s| t >= s.time)
            .map(|s| {
                s.posts_per_min * (-((t - s.time) as f64 / MINUTE as f64) / s.post_decay_min).exp()
            })
            .sum()
    }

    /// Extra social posts per minute at `t` from announcements (before scale).
    pub fn announcement_posts_rate(&self, t: Timestamp) -> f64 {
        self.announcements
            .iter()
            .filter(|w| t >= w.time)
            .map(|w| 1.5 * w.amplitude * (-((t - w.time) as f64 / MINUTE as f64) / 60.0).exp())
            .sum()
    }
}

impl GroundTruth {
    /// The truth of one event.
    pub fn event(&self, event_id: &str) -> Option<&EventTruth> {
        self.events.iter().find(|e| e.event_id == event_id)
    }

    /// Expected shopper arrivals per minute for `event_id` at `t`, scale included.
    pub fn arrival_rate(&self, event_id: &str, t: Timestamp) -> f64 {
        self.event(event_id)
            .map(|e| e.arrival_rate(t, self.scale))
            .unwrap_or(0.0)
    }
}

/// Activity by UTC hour (European evenings busiest), normalised to mean 1.
const DIURNAL: [f64; 24] = [
    0.30, 0.18, 0.12, 0.10, 0.10, 0.15, 0.30, 0.55, 0.85, 1.10, 1.25, 1.30, 1.35, 1.30, 1.25, 1.25,
    1.30, 1.45, 1.60, 1.70, 1.70, 1.50, 1.05, 0.60,
];

const ANNOUNCEMENTS: [&str; 5] = [
    "support act announced",
    "tour documentary trailer",
    "radio interview",
    "TV appearance",
    "set times published",
];

/// Minutes between the close of sales and the event start.
pub(crate) const CLOSE_BEFORE_START: i64 = 165 * MINUTE;

/// Draws the truth for the catalog's events.
pub(crate) fn generate(config: &SimConfig, catalog: &Catalog) -> GroundTruth {
    let mut rng = random::stream(config.seed, streams::TRUTH);
    let mean = DIURNAL.iter().sum::<f64>() / 24.0;
    let diurnal: Vec<f64> = DIURNAL.iter().map(|d| d / mean).collect();
    let mut events = Vec::with_capacity(catalog.events.len());
    for (i, e) in catalog.events.iter().enumerate() {
        let drawn = random::uniform(&mut rng, 0.25, 0.8);
        let hotness = config
            .hotness
            .get(i)
            .copied()
            .unwrap_or(if i == 0 { 1.0 } else { drawn });
        let capacity = e.capacity() as f64;
        let sales_close = e.start - CLOSE_BEFORE_START;
        let span_min = ((sales_close - e.on_sale) as f64 / MINUTE as f64).max(60.0);
        let opening_decay_min = 25.0;
        let late_rise_days = (span_min / 1440.0 / 4.0).min(3.0);
        let curve = BookingCurve {
            on_sale: e.on_sale,
            sales_close,
            opening_peak_per_min: capacity * 1.6 * hotness.powf(1.5) / opening_decay_min,
            opening_decay_min,
            baseline_per_min: capacity * 0.5 * hotness / span_min,
            late_peak_per_min: capacity * 0.35 * hotness / (late_rise_days * 1440.0),
            late_rise_days,
            diurnal: diurnal.clone(),
        };
        let (lo, hi) = wave_window(e.on_sale, sales_close);
        let window = |rng: &mut rand_chacha::ChaCha8Rng| random::uniform(rng, lo, hi) as Timestamp;
        let (a, s) = (&ANNOUNCEMENT_LAW, &SPIKE_LAW);
        let mut announcements: Vec<Wave> = (0..rng.random_range(a.count.0..=a.count.1))
            .map(|_| Wave {
                time: window(&mut rng),
                label: ANNOUNCEMENTS[rng.random_range(0..ANNOUNCEMENTS.len())].to_owned(),
                amplitude: random::uniform(&mut rng, a.amplitude.0, a.amplitude.1)
                    * a.hotness_factor(hotness),
                decay_min: random::uniform(&mut rng, a.minutes.0, a.minutes.1),
            })
            .collect();
        announcements.sort_by_key(|w| w.time);
        let mut social_spikes: Vec<SocialSpike> = (0..rng.random_range(s.count.0..=s.count.1))
            .map(|_| SocialSpike {
                time: window(&mut rng),
                posts_per_min: random::uniform(&mut rng, 5.0, 25.0) * (0.3 + hotness),
                post_decay_min: 45.0,
                arrival_boost: random::uniform(&mut rng, s.amplitude.0, s.amplitude.1)
                    * s.hotness_factor(hotness),
                arrival_lag_min: random::uniform(&mut rng, s.minutes.0, s.minutes.1),
            })
            .collect();
        social_spikes.sort_by_key(|s| s.time);
        let wtp_ratio = 0.8 + 0.5 * hotness;
        let categories = e
            .categories
            .iter()
            .map(|c| CategoryTruth {
                category_id: c.category_id.to_string(),
                list_price_minor: c.list_price_minor,
                preference: c.capacity as f64 / capacity.max(1.0),
                wtp_median_minor: c.list_price_minor as f64
                    * wtp_ratio
                    * random::uniform(&mut rng, 0.92, 1.08),
                wtp_sigma: random::uniform(&mut rng, 0.35, 0.55),
                cart_intent: 0.85,
                abandonment_rate: random::uniform(&mut rng, 0.12, 0.25)
                    * (1.3 - 0.6 * hotness.min(1.0)),
                refund_rate: config.refund_rate,
            })
            .collect();
        events.push(EventTruth {
            event_id: e.event_id.to_string(),
            hotness,
            wtp_ratio,
            curve,
            announcements,
            social_spikes,
            categories,
        });
    }
    GroundTruth {
        seed: config.seed,
        scale: config.scale,
        cart_hold_minutes: config.cart_hold_minutes,
        shopper: ShopperModel::default(),
        events,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cat() -> CategoryTruth {
        CategoryTruth {
            category_id: "c".into(),
            list_price_minor: 10_000,
            preference: 1.0,
            wtp_median_minor: 10_000.0,
            wtp_sigma: 0.5,
            cart_intent: 1.0,
            abandonment_rate: 0.0,
            refund_rate: 0.0,
        }
    }

    #[test]
    fn demand_falls_with_price() {
        let c = cat();
        assert!((c.purchase_probability(10_000) - 0.5).abs() < 1e-6);
        assert!(c.purchase_probability(20_000) < c.purchase_probability(15_000));
        assert!(c.elasticity(10_000) < 0.0);
        // At the median, elasticity is −φ(0)/(σ·½).
        assert!((c.elasticity(10_000) + 0.398_942 / 0.25).abs() < 1e-3);
    }

    #[test]
    fn arrivals_spike_at_opening_and_stop_at_close() {
        let config = SimConfig::default();
        let (catalog, _) = crate::catalog::generate(&config).unwrap();
        let truth = generate(&config, &catalog);
        let e = &truth.events[0];
        let open = e.curve.on_sale;
        assert_eq!(e.arrival_rate(open - 1, 1.0), 0.0);
        assert!(e.arrival_rate(open, 1.0) > 10.0 * e.arrival_rate(open + 5 * HOUR, 1.0));
        assert_eq!(e.arrival_rate(e.curve.sales_close, 1.0), 0.0);
        assert!(e.arrival_rate(open, 2.0) > 1.99 * e.arrival_rate(open, 1.0));
        let json = serde_json::to_string(&truth).unwrap();
        let back: GroundTruth = serde_json::from_str(&json).unwrap();
        // JSON keeps floats to within an ulp, not bit for bit.
        assert_eq!(back.events.len(), truth.events.len());
        let (a, b) = (&back.events[1], &truth.events[1]);
        assert_eq!(a.event_id, b.event_id);
        assert_eq!(a.announcements.len(), b.announcements.len());
        let t = b.curve.on_sale + HOUR;
        assert!((a.arrival_rate(t, 1.0) / b.arrival_rate(t, 1.0) - 1.0).abs() < 1e-9);
    }
}
