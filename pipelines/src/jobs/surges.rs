//! Surges and slumps per (event, category): tickets bought and seats added to carts
//! per minute, over a sliding window, against an adaptive baseline
//! ([`ChangeDetector`]: EWMA z-score plus CUSUM, with hysteresis and a cool-down).
//!
//! Every minute of event time (closed once the watermark passed it by the allowed
//! lateness) each category that sold or carted anything in the last
//! `active_hours` gets one observation per rate: the sum over the last
//! `window_minutes`, divided by the window, in units per minute. Quiet categories
//! keep being observed (a slump is the absence of sales) until they have been idle for
//! `active_hours` before a minute; then they start afresh with their next sale or cart
//! add. Idleness is read by event time (activity before the minute), not by what was
//! processed: a live runner may have read records far ahead of the minute it closes
//! while a silent source held the watermark back, and those records restart the
//! category as a bounded run that reads them after that minute would.

use std::collections::BTreeMap;

use sellout_ingest::records::{AnyRecord, Id, SaleKind, Timestamp, Topic};
use serde::{Deserialize, Serialize};

use crate::detector::{ChangeDetector, DetectorConfig, Direction, Trigger};
use crate::job::{Emitter, Input, Job, RestoreError, load_state, save_state};
use crate::output::{RateMetric, Signal, SignalDetail, SignalKind, output_id};
use crate::window::{Buckets, Latest, Ticker, tumbling_start};

const MINUTE: i64 = 60_000;

impl Category {
    /// Whether the category is still watched at `tick`: it was active in the `active`
    /// ms before it, or records read ahead of it start it afresh (as new from its
    /// first minute at or after `tick`: no history, no baseline).
    fn keep_at(&mut self, tick: Timestamp, active: i64) -> bool {
        self.activity.settle(tick);
        if self
            .activity
            .before(tick)
            .is_some_and(|(t, _)| t >= tick - active)
        {
            return true;
        }
        let ahead = [
            self.purchases.first_from(tick),
            self.cart_adds.first_from(tick),
        ];
        let Some(first) = ahead.into_iter().flatten().min() else {
            return false;
        };
        self.purchases.take_before(tick);
        self.cart_adds.take_before(tick);
        self.purchase_detector = ChangeDetector::new();
        self.cart_detector = ChangeDetector::new();
        self.activity.forget_before(tick);
        self.first_tick = first + MINUTE;
        true
    }
}

/// Settings of the surges-and-slumps job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SurgesConfig {
    /// Minutes in the sliding window a rate is measured over (it slides every minute).
    pub window_minutes: u32,
    /// Hours without a sale or cart add after which a category is no longer watched.
    pub active_hours: u32,
    /// The detector's tuning.
    pub detector: DetectorConfig,
}

impl Default for SurgesConfig {
    fn default() -> Self {
        Self {
            window_minutes: 5,
            active_hours: 6,
            detector: DetectorConfig::default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Category {
    purchases: Buckets,
    cart_adds: Buckets,
    purchase_detector: ChangeDetector,
    cart_detector: ChangeDetector,
    /// Purchases and cart adds, by event time.
    activity: Latest<()>,
    /// The first minute this category is observed at: the end of its first active
    /// minute. Ticks still pending from before it (they close behind the watermark)
    /// are not its history; observing them would make its baseline depend on which
    /// other categories keep the shared ticker running.
    first_tick: Timestamp,
}

#[derive(Debug, Serialize, Deserialize)]
struct State {
    categories: BTreeMap<(Id, Id), Category>,
    minutes: Ticker,
}

/// The surges-and-slumps job.
#[derive(Debug)]
pub struct Surges {
    config: SurgesConfig,
    allowed_lateness_ms: i64,
    state: State,
}

impl Surges {
    /// The job; minutes close `allowed_lateness_ms` behind the watermark.
    pub fn new(config: SurgesConfig, allowed_lateness_ms: i64) -> Self {
        Self {
            config,
            allowed_lateness_ms,
            state: State {
                categories: BTreeMap::new(),
                minutes: Ticker::new(MINUTE),
            },
        }
    }

    fn tick(&mut self, tick: Timestamp, out: &mut Emitter) {
        let window = i64::from(self.config.window_minutes.max(1)) * MINUTE;
        let active = i64::from(self.config.active_hours) * 60 * MINUTE;
        let detector = &self.config.detector;
        self.state.categories.retain(|_, c| c.keep_at(tick, active));
        for ((event_id, category_id), c) in &mut self.state.categories {
            if tick < c.first_tick {
                continue;
            }
            c.purchases.expire(tick);
            c.cart_adds.expire(tick);
            for (metric, buckets, state) in [
                (
                    RateMetric::Purchases,
                    &c.purchases,
                    &mut c.purchase_detector,
                ),
                (RateMetric::CartAdds, &c.cart_adds, &mut c.cart_detector),
            ] {
                let rate = buckets.window(tick, window) as f64 / (window / MINUTE) as f64;
                let Some(change) = state.observe(detector, tick, rate) else {
                    continue;
                };
                let kind = match change.direction {
                    Direction::Up => SignalKind::Surge,
                    Direction::Down => SignalKind::Slump,
                };
                let metric_name: &[u8] = match metric {
                    RateMetric::Purchases => b"purchases",
                    RateMetric::CartAdds => b"cart_adds",
                };
                out.signal(Signal {
                    id: output_id(&[
                        b"surges",
                        metric_name,
                        event_id.as_bytes(),
                        category_id.as_bytes(),
                        &tick.to_le_bytes(),
                    ]),
                    kind,
                    time: tick,
                    event_id: Some(event_id.clone()),
                    category_id: Some(category_id.clone()),
                    venue_id: None,
                    zone_id: None,
                    detail: SignalDetail::Rate {
                        metric,
                        rate_per_min: change.value,
                        baseline_per_min: change.baseline,
                        baseline_std: change.baseline_std,
                        z: change.z,
                        cusum: change.cusum,
                        trigger: match change.trigger {
                            Trigger::ZScore => "z_score".into(),
                            Trigger::Cusum => "cusum".into(),
                        },
                    },
                });
            }
        }
        if self.state.categories.is_empty() {
            self.state.minutes.stop();
        }
    }
}

impl Job for Surges {
    fn name(&self) -> &'static str {
        "surges"
    }

    fn inputs(&self) -> &'static [Topic] {
        &[Topic::Sales]
    }

    fn on_record(&mut self, input: &Input<'_>, _out: &mut Emitter) {
        let AnyRecord::Sales(sale) = input.record else {
            return;
        };
        if !matches!(sale.kind, SaleKind::Purchase | SaleKind::CartAdd) {
            return;
        }
        let span = i64::from(self.config.window_minutes.max(1)) * MINUTE;
        let c = self
            .state
            .categories
            .entry((sale.event_id.clone(), sale.category_id.clone()))
            .or_insert_with(|| Category {
                purchases: Buckets::new(MINUTE, span),
                cart_adds: Buckets::new(MINUTE, span),
                purchase_detector: ChangeDetector::new(),
                cart_detector: ChangeDetector::new(),
                activity: Latest::new(MINUTE),
                first_tick: tumbling_start(sale.time, MINUTE) + MINUTE,
            });
        c.activity.set(sale.time, ());
        let quantity = i64::from(sale.quantity);
        let buckets = if sale.kind == SaleKind::Purchase {
            &mut c.purchases
        } else {
            &mut c.cart_adds
        };
        buckets.add(sale.time, quantity);
        self.state.minutes.start(sale.time);
    }

    fn on_watermark(&mut self, watermark: Timestamp, out: &mut Emitter) {
        while let Some(tick) = self.state.minutes.due(watermark, self.allowed_lateness_ms) {
            self.tick(tick, out);
        }
    }

    fn snapshot(&self) -> Vec<u8> {
        save_state(&self.state)
    }

    fn restore(&mut self, bytes: &[u8]) -> Result<(), RestoreError> {
        self.state = load_state(self.name(), bytes)?;
        Ok(())
    }
}
