//! Folding decoded records into a [`BoardState`], and the sink points each one makes.
//!
//! One function per record type. Each takes the record's own event time, never the
//! wall clock; ids missing from the catalog are counted in
//! [`Counters::unknown_ids`](super::state::Counters) and skipped so memory stays
//! bounded. Cart, session, customer and installation ids are never copied into the
//! state: the board shows counts, not people.

use sellout_ingest::records::{SaleKind, SaleRecord};
use sellout_models::context::EventContext;
use sellout_models::sellout::{Horizon, expected_sell_out_hours};
use sellout_models::train::ModelBundle;
use sellout_pipelines::output::{Feature, FeatureBody, Signal, SignalDetail, SignalKind};
use sellout_pricing::change::PriceChange;

use super::series::Combine;
use super::state::{AlertRow, BoardState, Forecast, PriceRow};
use super::text::{describe, money};
use crate::measurements::{self as m, IntoPoint};
use crate::sink::Point;

/// The parts of a `deliveries` record the board reads (the topic's JSON is
/// `sellout_notifier::delivery::DeliveryRecord`; unknown fields are ignored so the
/// board keeps working when the notifier adds some).
#[derive(Debug, Clone, serde::Deserialize)]
pub struct DeliveryView {
    /// The campaign.
    pub campaign_id: String,
    /// `apns` or `fcm`.
    pub platform: String,
    /// `planned`, `delivered`, `failed`, `pruned` or `suppressed`.
    pub outcome: String,
    /// The venue, when known.
    #[serde(default)]
    pub venue_id: Option<String>,
    /// The voucher code, when one (only its presence is used).
    #[serde(default)]
    pub voucher_code: Option<String>,
    /// When (ms).
    pub time_ms: i64,
}

impl BoardState {
    /// A record of the `sales` topic: purchases and refunds move the sold counts and
    /// the booking curve.
    pub fn apply_sale(&mut self, sale: &SaleRecord) {
        self.counters.sales_records += 1;
        self.saw(sale.time);
        let sign = match sale.kind {
            SaleKind::Purchase => 1,
            SaleKind::Refund => -1,
            _ => return,
        };
        if sale.kind == SaleKind::Purchase {
            self.counters.purchases += 1;
        }
        let Some(event) = self.events.get_mut(sale.event_id.as_str()) else {
            self.counters.unknown_ids += 1;
            return;
        };
        let Some(category) = event.category_mut(&sale.category_id) else {
            self.counters.unknown_ids += 1;
            return;
        };
        category.sold += sign * i64::from(sale.quantity);
        event.last_ms = event.last_ms.max(sale.time);
        let sold = event.sold() as f64;
        event.booking.record(sale.time, sold, Combine::Last);
    }

    /// A record of the `deadletter` topic.
    pub fn apply_deadletter(&mut self) {
        self.counters.deadlettered += 1;
    }

    /// A record of the `signals` topic.
    pub fn apply_signal(&mut self, signal: &Signal, points: &mut Vec<Point>) {
        self.counters.signals += 1;
        self.saw(signal.time);
        let event_id = signal.event_id.as_deref().map(str::to_string);
        let venue_id = signal.venue_id.as_deref().map(str::to_string);
        let (value, z, text) = describe(signal);
        points.push(
            m::Signal {
                kind: signal.kind.as_str().to_string(),
                event: event_id.clone().unwrap_or_default(),
                zone: signal.zone_id.as_deref().map(str::to_string),
                time_ms: signal.time,
                value,
                z,
            }
            .to_point(),
        );
        let row = AlertRow {
            time_ms: signal.time,
            kind: signal.kind.as_str().to_string(),
            event_id: event_id.clone(),
            venue_id: venue_id.clone(),
            text,
        };
        if let SignalDetail::Queue {
            stand_id,
            length,
            wait_minutes,
            ..
        } = &signal.detail
        {
            let venue = venue_id.as_deref().unwrap_or_default();
            match self
                .venues
                .get_mut(venue)
                .and_then(|v| v.stand_mut(stand_id))
            {
                Some(stand) => {
                    stand
                        .length
                        .record(signal.time, f64::from(*length), Combine::Last);
                    stand.wait_minutes = *wait_minutes;
                    points.push(
                        m::Queue {
                            venue: venue.to_string(),
                            stand: stand_id.to_string(),
                            time_ms: signal.time,
                            length: u64::from(*length),
                            wait_minutes: *wait_minutes,
                        }
                        .to_point(),
                    );
                }
                None => self.counters.unknown_ids += 1,
            }
        }
        if signal.kind == SignalKind::CartAbandoned {
            self.counters.abandoned += 1;
        }
        let adds_1h = event_id.as_deref().map_or(0, |id| self.cart_adds_1h(id));
        if let Some(event) = event_id.as_deref().and_then(|id| self.events.get_mut(id)) {
            match signal.kind {
                SignalKind::CartAbandoned => {
                    event.abandoned_total += 1;
                    event.abandoned.record(signal.time, 1.0, Combine::Sum);
                    points.push(
                        m::Carts {
                            event: event.event_id.clone(),
                            time_ms: signal.time,
                            adds_per_min: adds_1h as f64 / 60.0,
                            abandoned: 1,
                        }
                        .to_point(),
                    );
                }
                // Carts are counted on their own chart, not listed one by one.
                SignalKind::CartRecovered => {}
                _ => event.signals.push(row.clone()),
            }
        }
        // Every cart is a signal; only what marketing acts on goes to the alerts feed.
        if matches!(
            signal.kind,
            SignalKind::Surge | SignalKind::Slump | SignalKind::Buzz | SignalKind::QueueLong
        ) {
            self.alert(row);
        }
    }

    /// The event's cart rate: its categories' latest cart adds over an hour, summed.
    fn cart_adds_1h(&self, event_id: &str) -> u64 {
        self.events.get(event_id).map_or(0, |e| {
            e.categories
                .iter()
                .filter_map(|c| c.forecast.as_ref())
                .map(|fc| u64::from(fc.cart_adds_1h))
                .sum()
        })
    }

    /// A record of the `features` topic: forecasts, heat-map cells, buzz.
    pub fn apply_feature(
        &mut self,
        feature: &Feature,
        model: Option<&ModelBundle>,
        points: &mut Vec<Point>,
    ) {
        self.counters.features += 1;
        self.saw(feature.time);
        let t = feature.time;
        match &feature.body {
            FeatureBody::SellOut(f) => {
                // The event's other categories, as their latest snapshots say: the
                // model reads a category against its event's seats and pace.
                let context = self.events.get(f.event_id.as_str()).map(|e| {
                    EventContext::among(f, e.categories.iter().filter_map(|c| c.latest.as_ref()))
                });
                let Some(c) = self
                    .events
                    .get_mut(f.event_id.as_str())
                    .and_then(|e| e.category_mut(&f.category_id))
                else {
                    self.counters.unknown_ids += 1;
                    return;
                };
                c.latest = Some(f.clone());
                let context = context.unwrap_or_else(|| EventContext::alone(f));
                let score = model.map(|b| b.sellout.score_in(f, c.list_minor, t, None, &context));
                let expected_ms = match score {
                    Some(s) => s.expected_sell_out_at,
                    None => expected_sell_out_hours(f, c.list_minor, None)
                        .map(|h| t + (h * 3_600_000.0) as i64),
                };
                // Without a trained model: the pace forecast (the board says "pace").
                let pace = |h| sellout_models::pace::probability(f, h);
                let forecast = Forecast {
                    at_ms: t,
                    p_7d: Some(score.map_or_else(|| pace(Horizon::Days7), |s| s.within_7d)),
                    p_14d: Some(score.map_or_else(|| pace(Horizon::Days14), |s| s.within_14d)),
                    p_by_start: Some(score.map_or_else(|| pace(Horizon::ByStart), |s| s.by_start)),
                    expected_ms,
                    rate_now_per_h: f64::from(f.sales_15m) * 4.0,
                    rate_1h_per_h: f64::from(f.sales_1h),
                    rate_24h_per_h: f64::from(f.sales_24h) / 24.0,
                    cart_adds_1h: f.cart_adds_1h,
                };
                c.forecast = Some(forecast);
                let adds_1h = self.cart_adds_1h(f.event_id.as_str());
                points.push(
                    m::Carts {
                        event: f.event_id.to_string(),
                        time_ms: t,
                        adds_per_min: adds_1h as f64 / 60.0,
                        abandoned: 0,
                    }
                    .to_point(),
                );
                let (event, category) = (f.event_id.to_string(), f.category_id.to_string());
                let capacity = f64::from(f.capacity.max(1));
                points.push(
                    m::Sold {
                        event: event.clone(),
                        category: category.clone(),
                        time_ms: t,
                        sold_pct: 100.0 * f64::from(f.sold) / capacity,
                        remaining: u64::from(f.remaining),
                    }
                    .to_point(),
                );
                points.push(
                    m::Sales {
                        event: event.clone(),
                        category: category.clone(),
                        time_ms: t,
                        tickets: u64::from(f.sales_1m),
                        revenue_minor: i64::from(f.sales_1m) * f.price_minor,
                        rate_per_min: f64::from(f.sales_15m) / 15.0,
                    }
                    .to_point(),
                );
                if let Some(s) = score {
                    points.push(
                        m::Sellout {
                            event,
                            category,
                            time_ms: t,
                            p_7d: s.within_7d,
                            p_14d: s.within_14d,
                            p_by_start: s.by_start,
                            expected_date_ms: expected_ms,
                        }
                        .to_point(),
                    );
                }
            }
            FeatureBody::Occupancy(o) => {
                let known = self
                    .catalog_zones
                    .get(o.venue_id.as_str())
                    .copied()
                    .unwrap_or(0);
                let Some(venue) = self.venues.get_mut(o.venue_id.as_str()) else {
                    self.counters.unknown_ids += 1;
                    return;
                };
                match venue.zone_mut(&o.zone_id, known) {
                    Some(zone) => zone
                        .occupancy
                        .record(t, f64::from(o.present), Combine::Last),
                    None => self.counters.unknown_ids += 1,
                }
                // A zone with a stand carries its queue every minute (signals only
                // when it turns long or short): the queue chart's series.
                if let Some(q) = o.queue_length
                    && let Some(stand) = venue.stand_mut(&o.zone_id)
                {
                    stand.length.record(t, f64::from(q), Combine::Last);
                }
                points.push(
                    m::ZoneOccupancy {
                        venue: o.venue_id.to_string(),
                        zone: o.zone_id.to_string(),
                        time_ms: t,
                        occupancy: u64::from(o.present),
                    }
                    .to_point(),
                );
            }
            FeatureBody::Buzz(b) => {
                let Some(event) = self.events.get_mut(b.event_id.as_str()) else {
                    self.counters.unknown_ids += 1;
                    return;
                };
                event
                    .buzz_posts
                    .record(t, f64::from(b.posts), Combine::Last);
                event.buzz_sentiment.record(t, b.sentiment, Combine::Last);
            }
        }
    }

    /// A record of the `prices` topic.
    pub fn apply_price(&mut self, change: &PriceChange, points: &mut Vec<Point>) {
        self.counters.price_changes += 1;
        self.saw(change.time);
        let reason = serde_json::to_value(change.reason)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let Some(c) = self
            .events
            .get_mut(change.event_id.as_str())
            .and_then(|e| e.category_mut(&change.category_id))
        else {
            self.counters.unknown_ids += 1;
            return;
        };
        c.price_minor = change.new_minor;
        c.price_series
            .record(change.time, change.new_minor as f64, Combine::Last);
        let row = PriceRow {
            time_ms: change.time,
            old_minor: change.old_minor,
            new_minor: change.new_minor,
            reason: reason.clone(),
            detail: change.detail.clone(),
        };
        c.prices.push(row);
        let text = format!(
            "{}: {} → {} {} ({reason})",
            c.name,
            money(change.old_minor),
            money(change.new_minor),
            change.currency
        );
        points.push(
            m::Price {
                event: change.event_id.to_string(),
                category: change.category_id.to_string(),
                reason: reason.clone(),
                time_ms: change.time,
                price_minor: change.new_minor,
            }
            .to_point(),
        );
        self.alert(AlertRow {
            time_ms: change.time,
            kind: "price".into(),
            event_id: Some(change.event_id.to_string()),
            venue_id: None,
            text,
        });
    }

    /// A record of the `deliveries` topic.
    pub fn apply_delivery(&mut self, d: &DeliveryView, points: &mut Vec<Point>) {
        self.counters.deliveries += 1;
        self.saw(d.time_ms);
        let (sent, delivered, failed) = match d.outcome.as_str() {
            "delivered" => (1, 1, 0),
            "failed" | "pruned" => (1, 0, 1),
            _ => (0, 0, 0),
        };
        let redeemed = u64::from(d.outcome == "redeemed");
        self.counters.delivered += delivered;
        self.counters.delivery_failed += failed;
        if d.voucher_code.is_some()
            && let Some(v) = d.venue_id.as_deref().and_then(|id| self.venues.get_mut(id))
        {
            v.vouchers.sent += sent;
            v.vouchers.delivered += delivered;
            v.vouchers.failed += failed;
            v.vouchers.redeemed += redeemed;
        }
        points.push(
            m::Notification {
                campaign: d.campaign_id.clone(),
                platform: d.platform.clone(),
                outcome: d.outcome.clone(),
                time_ms: d.time_ms,
                count: 1,
            }
            .to_point(),
        );
    }
}
