//! The JSON views of a [`BoardState`]: one per page, served by the JSON API and pushed
//! (whole, coalesced) over the live stream. Times are event-time milliseconds.
//!
//! Event-level figures combine categories: sold % over all seats; P(sell-out) is the
//! lowest category's (an upper bound on every category selling out); the expected
//! sell-out date is the latest category's, absent while any category has none.
//! Probabilities are `null` without a model bundle; the expected date is then still
//! given from the sales pace (`expected_basis: "pace"`).

use serde_json::{Value, json};

use super::series::{MINUTE_MS, MinuteSeries};
use super::state::{BoardState, CategoryState, Counters, EventState};

/// Minutes of the heat map shown (columns).
pub const HEAT_MINUTES: usize = 60;
/// Stands on the venue page's queue chart (the longest queues now).
pub const QUEUE_STANDS: usize = 8;
/// Minutes ahead the booking forecast band reaches.
pub const FORECAST_MINUTES: i64 = 60;

fn pct(part: f64, whole: f64) -> Value {
    if whole > 0.0 {
        json!((1000.0 * part / whole).round() / 10.0)
    } else {
        Value::Null
    }
}

/// The business KPIs.
pub fn kpis(c: &Counters) -> Value {
    let carts_ended = (c.abandoned + c.purchases) as f64;
    let sent = (c.delivered + c.delivery_failed) as f64;
    let inputs = (c.accepted_inputs + c.deadlettered) as f64;
    json!({
        "abandonment_pct": pct(c.abandoned as f64, carts_ended),
        "delivery_failure_pct": pct(c.delivery_failed as f64, sent),
        "deadletter_pct": pct(c.deadlettered as f64, inputs),
        "counters": c,
    })
}

fn series(s: &MinuteSeries) -> Value {
    let (t, v) = s.columns();
    json!({ "t": t, "v": v })
}

fn category_row(c: &CategoryState) -> Value {
    let f = c.forecast;
    json!({
        "category_id": c.category_id,
        "name": c.name,
        "price_minor": c.price_minor,
        "list_minor": c.list_minor,
        "currency": c.currency,
        "sold": c.sold,
        "capacity": c.capacity,
        "sold_pct": pct(c.sold as f64, f64::from(c.capacity)),
        "p_7d": f.and_then(|f| f.p_7d),
        "p_14d": f.and_then(|f| f.p_14d),
        "p_by_start": f.and_then(|f| f.p_by_start),
        "expected_ms": f.and_then(|f| f.expected_ms),
        "rate_per_h": f.map(|f| f.rate_1h_per_h),
    })
}

fn min_p(e: &EventState, pick: impl Fn(&CategoryState) -> Option<f64>) -> Option<f64> {
    e.categories
        .iter()
        .map(pick)
        .try_fold(f64::INFINITY, |acc, p| p.map(|p| acc.min(p)))
        .filter(|p| p.is_finite())
}

/// `up`, `down` or `flat`: sales of the last 15 minutes against the last hour.
fn trend(e: &EventState) -> &'static str {
    let (now, hour) = e
        .categories
        .iter()
        .filter_map(|c| c.forecast)
        .fold((0.0, 0.0), |(n, h), f| {
            (n + f.rate_now_per_h, h + f.rate_1h_per_h)
        });
    if now > hour * 1.25 + 0.5 {
        "up"
    } else if now < hour * 0.75 - 0.5 {
        "down"
    } else {
        "flat"
    }
}

/// The sell-out board row of an event.
pub fn event_row(e: &EventState, has_model: bool) -> Value {
    let expected = e
        .categories
        .iter()
        .map(|c| {
            if c.capacity > 0 && c.sold >= i64::from(c.capacity) {
                Some(e.last_ms)
            } else {
                c.forecast.and_then(|f| f.expected_ms)
            }
        })
        .try_fold(i64::MIN, |acc, t| t.map(|t| acc.max(t)))
        .filter(|t| *t > i64::MIN);
    json!({
        "event_id": e.event_id,
        "name": e.name,
        "venue_id": e.venue_id,
        "on_sale_ms": e.on_sale_ms,
        "start_ms": e.start_ms,
        "sold": e.sold(),
        "capacity": e.capacity(),
        "sold_pct": pct(e.sold() as f64, e.capacity() as f64),
        "p_14d": min_p(e, |c| c.forecast.and_then(|f| f.p_14d)),
        "p_by_start": min_p(e, |c| c.forecast.and_then(|f| f.p_by_start)),
        "expected_ms": expected,
        "expected_basis": if has_model { "model" } else { "pace" },
        "trend": trend(e),
        "abandoned": e.abandoned_total,
        "categories": e.categories.iter().map(category_row).collect::<Vec<_>>(),
    })
}

/// `/board/api/board`: every event, and the KPIs.
pub fn board_view(state: &BoardState, has_model: bool) -> Value {
    json!({
        "as_of_ms": state.as_of_ms,
        "kpis": kpis(&state.counters),
        "events": state.events.values().map(|e| {
            let mut row = event_row(e, has_model);
            row["booking"] = series(&e.booking);
            row
        }).collect::<Vec<_>>(),
    })
}

/// The booking curve with a forecast band: seats sold per minute, then
/// `FORECAST_MINUTES` ahead at the last hour's pace ± 2 √(expected) (Poisson),
/// capped at capacity. Columns share one time axis; absent values are `null`.
fn booking(e: &EventState) -> Value {
    let (mut t, sold) = e.booking.columns();
    let mut sold: Vec<Option<f64>> = sold.into_iter().map(Some).collect();
    let mut lo = vec![None; t.len()];
    let mut mid = vec![None; t.len()];
    let mut hi = vec![None; t.len()];
    if let Some((t0, s0)) = e.booking.last() {
        let per_min: f64 = e
            .categories
            .iter()
            .filter_map(|c| c.forecast.map(|f| f.rate_1h_per_h.max(f.rate_24h_per_h)))
            .sum::<f64>()
            / 60.0;
        let cap = e.capacity() as f64;
        if let (Some(l), Some(m), Some(h)) = (lo.last_mut(), mid.last_mut(), hi.last_mut()) {
            (*l, *m, *h) = (Some(s0), Some(s0), Some(s0));
        }
        for step in (5..=FORECAST_MINUTES).step_by(5) {
            let expect = per_min * step as f64;
            let spread = 2.0 * expect.sqrt();
            t.push(t0 + step * MINUTE_MS);
            sold.push(None);
            mid.push(Some((s0 + expect).min(cap)));
            lo.push(Some((s0 + expect - spread).max(s0).min(cap)));
            hi.push(Some((s0 + expect + spread).min(cap)));
        }
    }
    json!({ "t": t, "sold": sold, "lo": lo, "mid": mid, "hi": hi })
}

/// `/board/api/events/{id}`: the event page.
pub fn event_view(state: &BoardState, event_id: &str, has_model: bool) -> Option<Value> {
    let e = state.events.get(event_id)?;
    let categories: Vec<Value> = e
        .categories
        .iter()
        .map(|c| {
            let mut row = category_row(c);
            row["prices"] = json!(c.prices.iter().rev().collect::<Vec<_>>());
            row["price_series"] = series(&c.price_series);
            row
        })
        .collect();
    Some(json!({
        "as_of_ms": state.as_of_ms,
        "event": event_row(e, has_model),
        "booking": booking(e),
        "categories": categories,
        "abandoned": series(&e.abandoned),
        "buzz": { "posts": series(&e.buzz_posts), "sentiment": series(&e.buzz_sentiment) },
        "signals": e.signals.iter().rev().collect::<Vec<_>>(),
    }))
}

/// `/board/api/venues/{id}`: the venue page. The heat map is zones × the last
/// `HEAT_MINUTES` minutes that have data, `null` where a zone had no reading.
pub fn venue_view(state: &BoardState, venue_id: &str) -> Option<Value> {
    let v = state.venues.get(venue_id)?;
    let mut minutes: Vec<i64> = v
        .zones
        .iter()
        .flat_map(|z| {
            z.occupancy
                .points()
                .rev()
                .take(HEAT_MINUTES)
                .map(|(t, _)| *t)
        })
        .collect();
    minutes.sort_unstable();
    minutes.dedup();
    let minutes = minutes.split_off(minutes.len().saturating_sub(HEAT_MINUTES));
    let cells: Vec<Vec<Option<f64>>> = v
        .zones
        .iter()
        .map(|z| minutes.iter().map(|m| z.occupancy.at(*m)).collect())
        .collect();
    let max = cells
        .iter()
        .flatten()
        .flatten()
        .fold(0.0_f64, |a, b| a.max(*b));
    // The longest queues now, over the heat map's minutes: a readable chart and a
    // small payload however many stands the venue has.
    let mut stands: Vec<_> = v.stands.values().collect();
    stands.sort_by(|a, b| {
        let now = |s: &&super::state::StandState| s.length.last().map_or(0.0, |(_, v)| v);
        now(b)
            .total_cmp(&now(a))
            .then_with(|| a.stand_id.cmp(&b.stand_id))
    });
    let queues: Vec<Value> = stands
        .into_iter()
        .take(QUEUE_STANDS)
        .map(|s| {
            let skip = s.length.len().saturating_sub(HEAT_MINUTES);
            let (t, v): (Vec<i64>, Vec<f64>) = s.length.points().skip(skip).copied().unzip();
            json!({ "stand_id": s.stand_id, "t": t, "length": v, "wait_minutes": s.wait_minutes })
        })
        .collect();
    Some(json!({
        "as_of_ms": state.as_of_ms,
        "venue_id": v.venue_id,
        "name": v.name,
        "zones": v.zones.iter().map(|z| json!({"zone_id": z.zone_id, "name": z.name})).collect::<Vec<_>>(),
        "minutes": minutes,
        "cells": cells,
        "max": max,
        "queues": queues,
        "vouchers": {
            "sent": v.vouchers.sent,
            "delivered": v.vouchers.delivered,
            "failed": v.vouchers.failed,
            "redeemed": v.vouchers.redeemed,
        },
    }))
}

/// `/board/api/alerts`: the alerts feed (newest first) and the KPIs.
pub fn alerts_view(state: &BoardState) -> Value {
    let alerts: Vec<Value> = state
        .alerts
        .iter()
        .flat_map(|r| r.iter().rev())
        .map(|a| json!(a))
        .collect();
    json!({
        "as_of_ms": state.as_of_ms,
        "kpis": kpis(&state.counters),
        "alerts": alerts,
    })
}
