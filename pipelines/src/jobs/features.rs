//! Sell-out features per (event, category): what the models score.
//!
//! Every `interval_minutes` of event time (15 by default), each category with sales
//! activity in the last 24 hours gets a [`SellOutFeatures`] snapshot: sold, remaining,
//! capacity, tickets sold over the last 1 minute / 15 minutes / 1 hour / 24 hours /
//! 7 days (hourly buckets: from the start of the hour 7 days before the snapshot's),
//! cart adds over the last hour, the abandonment rate over 24 hours, the event's social
//! volume and sentiment over the last hour, hours to the event and since its on-sale
//! (the catalog's), tickets bought in the on-sale's first [`OPENING_HOURS`] and the
//! current price.
//! A surge, slump or abandoned cart adds a snapshot at once (at the start of the
//! signal's minute), so models see the change without waiting for the next tick.
//!
//! Windows are whole minutes ending at the snapshot time (exclusive), and so are the
//! running figures: `sold` counts the purchases less refunds before it, the price is
//! that of the latest purchase or cart add before it, and activity is read before it.
//! A tick is emitted only once the watermark passed it by the allowed lateness, so each
//! figure holds every record before it that was not routed to the late side output,
//! and none after it, whatever order the records came in: it equals a batch count over
//! the same records. (A live runner may have processed records far ahead of a tick
//! while a silent source held the watermark back; a bounded one, not.)

use std::collections::BTreeMap;
use std::sync::Arc;

use sellout_ingest::live_catalog::LiveCatalog;
use sellout_ingest::records::{AnyRecord, Id, SaleKind, Timestamp, Topic};
use serde::{Deserialize, Serialize};

use crate::job::{Emitter, Input, Job, RestoreError, load_state, save_state};
use crate::output::{
    Feature, FeatureBody, OPENING_HOURS, SellOutFeatures, Signal, SignalDetail, SignalKind,
    output_id,
};
use crate::sentiment;
use crate::window::{Buckets, Latest, Ticker, Total, tumbling_start};

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;
const WEEK: i64 = 7 * DAY;

/// Settings of the sell-out features job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FeaturesConfig {
    /// Minutes of event time between two snapshots of a category.
    pub interval_minutes: u32,
}

impl Default for FeaturesConfig {
    fn default() -> Self {
        Self {
            interval_minutes: 15,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Category {
    /// Tickets bought less tickets refunded, by event time.
    sold: Total,
    sales: Buckets,
    /// Tickets bought by the hour over a week (the current hour is read from `sales`).
    sales_hourly: Buckets,
    /// Tickets bought before `opening_until`, by event time.
    opening: Total,
    /// The end of the event's opening hours (its on-sale when the category was first
    /// seen, plus [`OPENING_HOURS`]).
    opening_until: Timestamp,
    cart_adds: Buckets,
    abandoned: Buckets,
    bought: Buckets,
    /// The catalog's price, until a purchase or cart add says otherwise.
    list_price_minor: i64,
    /// Unit price of each purchase and cart add, by event time.
    price_minor: Latest<i64>,
    currency: Id,
    /// Sales records of any kind, by event time.
    activity: Latest<()>,
    /// Time of the last snapshot emitted: a tick and a signal (or two signals) in the
    /// same minute share one snapshot.
    last_snapshot: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Buzz {
    posts: Buckets,
    /// Sentiment summed in thousandths, so buckets stay integers.
    sentiment_milli: Buckets,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    categories: BTreeMap<(Id, Id), Category>,
    buzz: BTreeMap<Id, Buzz>,
    ticks: Option<Ticker>,
}

/// The sell-out features job.
#[derive(Debug)]
pub struct Features {
    config: FeaturesConfig,
    catalog: Arc<LiveCatalog>,
    allowed_lateness_ms: i64,
    state: State,
}

impl Features {
    /// The job over `catalog` (categories added to it later are picked up); ticks wait
    /// `allowed_lateness_ms` behind the watermark.
    pub fn new(
        config: FeaturesConfig,
        catalog: Arc<LiveCatalog>,
        allowed_lateness_ms: i64,
    ) -> Self {
        Self {
            config,
            catalog,
            allowed_lateness_ms,
            state: State::default(),
        }
    }

    fn interval(&self) -> i64 {
        i64::from(self.config.interval_minutes.max(1)) * MINUTE
    }

    fn category(&mut self, event_id: &Id, category_id: &Id) -> Option<&mut Category> {
        let key = (event_id.clone(), category_id.clone());
        if !self.state.categories.contains_key(&key) {
            let catalog = self.catalog.load();
            let event = catalog.event(event_id)?;
            let opening_until = event.on_sale.saturating_add(OPENING_HOURS * HOUR);
            let category = event.category(category_id)?;
            self.state.categories.insert(
                key.clone(),
                Category {
                    sold: Total::new(MINUTE),
                    sales: Buckets::new(MINUTE, DAY),
                    sales_hourly: Buckets::new(HOUR, WEEK),
                    opening: Total::new(MINUTE),
                    opening_until,
                    cart_adds: Buckets::new(MINUTE, HOUR),
                    abandoned: Buckets::new(MINUTE, DAY),
                    bought: Buckets::new(MINUTE, DAY),
                    list_price_minor: category.list_price_minor,
                    price_minor: Latest::new(MINUTE),
                    currency: category.currency.clone(),
                    activity: Latest::new(MINUTE),
                    last_snapshot: Timestamp::MIN,
                },
            );
        }
        self.state.categories.get_mut(&key)
    }

    fn snapshot_of(
        &self,
        event_id: &Id,
        category_id: &Id,
        c: &Category,
        at: Timestamp,
    ) -> Option<SellOutFeatures> {
        let catalog = self.catalog.load();
        let event = catalog.event(event_id)?;
        let capacity = event.category(category_id)?.capacity;
        let (posts, sentiment) = self.state.buzz.get(event_id).map_or((0, 0.0), |b| {
            let posts = b.posts.window(at, HOUR);
            let milli = b.sentiment_milli.window(at, HOUR);
            (
                posts,
                if posts > 0 {
                    milli as f64 / 1000.0 / posts as f64
                } else {
                    0.0
                },
            )
        });
        let abandoned = c.abandoned.window(at, DAY);
        let ended = abandoned + c.bought.window(at, DAY);
        let sold = c.sold.before(at).clamp(0, i64::from(u32::MAX)) as u32;
        let count = |n: i64| n.clamp(0, i64::from(u32::MAX)) as u32;
        Some(SellOutFeatures {
            event_id: event_id.clone(),
            category_id: category_id.clone(),
            capacity,
            sold,
            remaining: capacity.saturating_sub(sold),
            sales_1m: count(c.sales.window(at, MINUTE)),
            sales_15m: count(c.sales.window(at, 15 * MINUTE)),
            sales_1h: count(c.sales.window(at, HOUR)),
            sales_24h: count(c.sales.window(at, DAY)),
            sales_7d: count(sales_7d(c, at)),
            hours_since_on_sale: (at - event.on_sale) as f64 / HOUR as f64,
            opening_sold: count(c.opening.before(at)),
            cart_adds_1h: count(c.cart_adds.window(at, HOUR)),
            abandonment_rate_24h: if ended > 0 {
                abandoned as f64 / ended as f64
            } else {
                0.0
            },
            buzz_posts_1h: count(posts),
            buzz_sentiment_1h: sentiment,
            hours_to_event: (event.start - at) as f64 / HOUR as f64,
            price_minor: c
                .price_minor
                .before(at)
                .map_or(c.list_price_minor, |(_, p)| *p),
            currency: c.currency.clone(),
        })
    }

    fn emit(
        &mut self,
        event_id: &Id,
        category_id: &Id,
        at: Timestamp,
        why: &[u8],
        out: &mut Emitter,
    ) {
        let key = (event_id.clone(), category_id.clone());
        let Some(c) = self.state.categories.get_mut(&key) else {
            return;
        };
        if c.last_snapshot == at {
            return;
        }
        c.last_snapshot = at;
        let Some(c) = self.state.categories.get(&key) else {
            return;
        };
        if let Some(features) = self.snapshot_of(event_id, category_id, c, at) {
            out.feature(Feature {
                id: output_id(&[
                    b"features",
                    why,
                    event_id.as_bytes(),
                    category_id.as_bytes(),
                    &at.to_le_bytes(),
                ]),
                time: at,
                body: FeatureBody::SellOut(features),
            });
        }
    }

    fn tick(&mut self, at: Timestamp, out: &mut Emitter) {
        // Windows end at `at` or later from here on (signal snapshots come before the
        // tick of their minute), so running figures settle up to it.
        for c in self.state.categories.values_mut() {
            c.sold.settle(at);
            c.opening.settle(at);
            c.price_minor.settle(at);
            c.activity.settle(at);
            for buckets in [
                &mut c.sales,
                &mut c.sales_hourly,
                &mut c.cart_adds,
                &mut c.abandoned,
                &mut c.bought,
            ] {
                buckets.expire(at);
            }
        }
        for b in self.state.buzz.values_mut() {
            b.posts.expire(at);
            b.sentiment_milli.expire(at);
        }
        let active: Vec<(Id, Id)> = self
            .state
            .categories
            .iter()
            .filter(|(_, c)| c.activity.before(at).is_some_and(|(t, _)| t >= at - DAY))
            .map(|(k, _)| k.clone())
            .collect();
        for (event_id, category_id) in active {
            self.emit(&event_id, &category_id, at, b"tick", out);
        }
    }
}

/// Tickets bought in `[hour of at − 7 days, at)`: whole hours before the current one,
/// then its minutes up to `at`, so memory stays at a week of hourly buckets.
fn sales_7d(c: &Category, at: Timestamp) -> i64 {
    let hour = tumbling_start(at, HOUR);
    c.sales_hourly.sum(hour - WEEK, hour) + c.sales.sum(hour, at)
}

impl Job for Features {
    fn name(&self) -> &'static str {
        "features"
    }

    fn inputs(&self) -> &'static [Topic] {
        &[Topic::Sales, Topic::Social]
    }

    fn on_record(&mut self, input: &Input<'_>, _out: &mut Emitter) {
        match input.record {
            AnyRecord::Sales(sale) => {
                let interval = self.interval();
                self.state
                    .ticks
                    .get_or_insert_with(|| Ticker::new(interval))
                    .start(sale.time);
                let Some(c) = self.category(&sale.event_id, &sale.category_id) else {
                    return;
                };
                c.activity.set(sale.time, ());
                let quantity = i64::from(sale.quantity);
                match sale.kind {
                    SaleKind::Purchase => {
                        c.sold.add(sale.time, quantity);
                        c.sales.add(sale.time, quantity);
                        c.sales_hourly.add(sale.time, quantity);
                        if sale.time < c.opening_until {
                            c.opening.add(sale.time, quantity);
                        }
                        c.bought.add(sale.time, 1);
                        c.price_minor.set(sale.time, sale.unit_price_minor);
                    }
                    SaleKind::Refund => c.sold.add(sale.time, -quantity),
                    SaleKind::CartAdd => {
                        c.cart_adds.add(sale.time, quantity);
                        c.price_minor.set(sale.time, sale.unit_price_minor);
                    }
                    SaleKind::View | SaleKind::Checkout | SaleKind::CartRemove => {}
                }
            }
            AnyRecord::Social(post) => {
                let score = sentiment::score(&post.text, &post.language).score;
                for event_id in &post.event_ids {
                    let buzz = self
                        .state
                        .buzz
                        .entry(event_id.clone())
                        .or_insert_with(|| Buzz {
                            posts: Buckets::new(MINUTE, HOUR),
                            sentiment_milli: Buckets::new(MINUTE, HOUR),
                        });
                    buzz.posts.add(post.time, 1);
                    buzz.sentiment_milli
                        .add(post.time, (f64::from(score) * 1000.0).round() as i64);
                }
            }
            AnyRecord::Beacons(_) | AnyRecord::Queues(_) => {}
        }
    }

    fn on_watermark(&mut self, watermark: Timestamp, out: &mut Emitter) {
        while let Some(tick) = self
            .state
            .ticks
            .as_mut()
            .and_then(|t| t.due(watermark, self.allowed_lateness_ms))
        {
            self.tick(tick, out);
        }
    }

    fn on_signal(&mut self, signal: &Signal, out: &mut Emitter) {
        let Some(event_id) = &signal.event_id else {
            return;
        };
        let at = tumbling_start(signal.time, MINUTE);
        match (&signal.kind, &signal.detail) {
            (SignalKind::CartAbandoned, SignalDetail::Cart { categories, .. }) => {
                for category_id in categories {
                    if let Some(c) = self.category(event_id, category_id) {
                        c.abandoned.add(signal.time, 1);
                    }
                }
            }
            (SignalKind::Surge | SignalKind::Slump, _) => {
                if let Some(category_id) = &signal.category_id {
                    self.emit(
                        event_id,
                        category_id,
                        at,
                        signal.kind.as_str().as_bytes(),
                        out,
                    );
                }
            }
            _ => {}
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
