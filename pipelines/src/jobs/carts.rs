//! Abandoned carts: a cart (session) with seats whose hold expires without a purchase
//! becomes a `cart_abandoned` signal, one per event in the cart.
//!
//! The hold starts with the first seat added and lasts `hold_minutes` (10 by default,
//! the sellers' usual hold); adding more seats doesn't extend it. Removing every seat
//! empties the cart (no signal: the shopper changed their mind on purpose). A purchase
//! before expiry converts the cart. A purchase after expiry is a *recovery*: the cart is
//! first reported abandoned (if it wasn't yet) and then `cart_recovered`, so the
//! notifier can stop reminding. Whether the expiry timer or the late purchase is seen
//! first, the outputs are the same: expiry is decided by record times, not by when the
//! watermark got there.

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;
use sellout_ingest::records::{AnyRecord, Id, SaleKind, SaleRecord, Timestamp, Topic};
use serde::{Deserialize, Serialize};

use crate::job::{Emitter, Input, Job, RestoreError, load_state, save_state};
use crate::output::{Signal, SignalDetail, SignalKind, output_id};
use crate::timers::Timers;

/// Settings of the abandoned-carts job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CartsConfig {
    /// Minutes a cart holds its seats.
    pub hold_minutes: u32,
    /// Minutes after expiry during which a purchase counts as a recovery.
    pub recovery_minutes: u32,
}

impl Default for CartsConfig {
    fn default() -> Self {
        Self {
            hold_minutes: 10,
            recovery_minutes: 60,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Line {
    quantity: u32,
    unit_price_minor: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Cart {
    held_at: Timestamp,
    expires_at: Timestamp,
    customer_id: Option<Id>,
    currency: Id,
    /// (event, category) → seats; ordered so signals list categories stably.
    lines: BTreeMap<(Id, Id), Line>,
}

/// An abandoned cart kept for a while to recognise a recovery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Abandoned {
    until: Timestamp,
    /// The abandoned signals, per event: (event, value).
    events: Vec<(Id, i64)>,
    customer_id: Option<Id>,
    currency: Id,
}

const EXPIRY: u8 = 0;
const FORGET: u8 = 1;

#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    carts: FxHashMap<Id, Cart>,
    abandoned: FxHashMap<Id, Abandoned>,
    timers: Timers<(Id, u8)>,
    counts: CartCounts,
}

/// What the job has seen, for the run summary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CartCounts {
    /// Carts opened.
    pub opened: u64,
    /// Carts bought before expiry.
    pub converted: u64,
    /// Carts whose every seat was removed.
    pub emptied: u64,
    /// Carts that expired with seats.
    pub abandoned: u64,
    /// Abandoned carts bought afterwards.
    pub recovered: u64,
}

/// The abandoned-carts job.
#[derive(Debug)]
pub struct Carts {
    config: CartsConfig,
    state: State,
}

impl Carts {
    /// The job with its settings.
    pub fn new(config: CartsConfig) -> Self {
        Self {
            config,
            state: State::default(),
        }
    }

    /// Counts so far.
    pub fn counts(&self) -> CartCounts {
        self.state.counts
    }

    fn hold_ms(&self) -> i64 {
        i64::from(self.config.hold_minutes) * 60_000
    }

    fn on_sale(&mut self, sale: &SaleRecord, out: &mut Emitter) {
        let session = &sale.session_id;
        // A hold that has run out by this record's time ends first, whatever the
        // watermark says, so the outcome doesn't depend on arrival order.
        if self
            .state
            .carts
            .get(session)
            .is_some_and(|c| sale.time >= c.expires_at)
        {
            self.expire(session, out);
        }
        match sale.kind {
            SaleKind::CartAdd => self.add(sale),
            SaleKind::CartRemove => self.remove(sale),
            SaleKind::Purchase => self.purchase(sale, out),
            SaleKind::View | SaleKind::Checkout | SaleKind::Refund => {}
        }
    }

    fn add(&mut self, sale: &SaleRecord) {
        let hold = self.hold_ms();
        let state = &mut self.state;
        let cart = state
            .carts
            .entry(sale.session_id.clone())
            .or_insert_with(|| {
                state.counts.opened += 1;
                state
                    .timers
                    .schedule(sale.time + hold, (sale.session_id.clone(), EXPIRY));
                Cart {
                    held_at: sale.time,
                    expires_at: sale.time + hold,
                    customer_id: sale.customer_id.clone(),
                    currency: sale.currency.clone(),
                    lines: BTreeMap::new(),
                }
            });
        if cart.customer_id.is_none() {
            cart.customer_id = sale.customer_id.clone();
        }
        let line = cart
            .lines
            .entry((sale.event_id.clone(), sale.category_id.clone()))
            .or_insert(Line {
                quantity: 0,
                unit_price_minor: sale.unit_price_minor,
            });
        line.quantity = line.quantity.saturating_add(sale.quantity);
        line.unit_price_minor = sale.unit_price_minor;
    }

    fn remove(&mut self, sale: &SaleRecord) {
        let Some(cart) = self.state.carts.get_mut(&sale.session_id) else {
            return;
        };
        let key = (sale.event_id.clone(), sale.category_id.clone());
        if let Some(line) = cart.lines.get_mut(&key) {
            line.quantity = line.quantity.saturating_sub(sale.quantity);
            if line.quantity == 0 {
                cart.lines.remove(&key);
            }
        }
        if cart.lines.is_empty() {
            let expires_at = cart.expires_at;
            self.state.carts.remove(&sale.session_id);
            self.state
                .timers
                .cancel(expires_at, &(sale.session_id.clone(), EXPIRY));
            self.state.counts.emptied += 1;
        }
    }

    fn purchase(&mut self, sale: &SaleRecord, out: &mut Emitter) {
        let session = &sale.session_id;
        if let Some(cart) = self.state.carts.remove(session) {
            self.state
                .timers
                .cancel(cart.expires_at, &(session.clone(), EXPIRY));
            self.state.counts.converted += 1;
            return;
        }
        let Some(gone) = self.state.abandoned.get(session) else {
            return;
        };
        if sale.time > gone.until {
            return;
        }
        let Some(gone) = self.state.abandoned.remove(session) else {
            return;
        };
        self.state
            .timers
            .cancel(gone.until, &(session.clone(), FORGET));
        self.state.counts.recovered += 1;
        for (event_id, value) in gone.events {
            out.signal(Signal {
                id: output_id(&[
                    b"carts",
                    b"recovered",
                    session.as_bytes(),
                    event_id.as_bytes(),
                ]),
                kind: SignalKind::CartRecovered,
                time: sale.time,
                event_id: Some(event_id),
                category_id: None,
                venue_id: None,
                zone_id: None,
                detail: SignalDetail::Cart {
                    session_id: session.clone(),
                    customer_id: gone.customer_id.clone(),
                    categories: Vec::new(),
                    quantity: 0,
                    value_minor: value,
                    currency: gone.currency.clone(),
                    held_at: sale.time,
                },
            });
        }
    }

    /// Ends the hold of `session`'s cart: abandoned if it still has seats.
    fn expire(&mut self, session: &Id, out: &mut Emitter) {
        let Some(cart) = self.state.carts.remove(session) else {
            return;
        };
        self.state
            .timers
            .cancel(cart.expires_at, &(session.clone(), EXPIRY));
        self.state.counts.abandoned += 1;
        // One signal per event: campaigns and features are per event.
        let mut per_event: BTreeMap<&Id, (Vec<Id>, u32, i64)> = BTreeMap::new();
        for ((event_id, category_id), line) in &cart.lines {
            let e = per_event.entry(event_id).or_default();
            e.0.push(category_id.clone());
            e.1 += line.quantity;
            e.2 += i64::from(line.quantity) * line.unit_price_minor;
        }
        let until = cart.expires_at + i64::from(self.config.recovery_minutes) * 60_000;
        let mut events = Vec::with_capacity(per_event.len());
        for (event_id, (categories, quantity, value)) in per_event {
            let expires = cart.expires_at.to_le_bytes();
            out.signal(Signal {
                id: output_id(&[
                    b"carts",
                    b"abandoned",
                    session.as_bytes(),
                    event_id.as_bytes(),
                    &expires,
                ]),
                kind: SignalKind::CartAbandoned,
                time: cart.expires_at,
                event_id: Some(event_id.clone()),
                category_id: (categories.len() == 1).then(|| categories[0].clone()),
                venue_id: None,
                zone_id: None,
                detail: SignalDetail::Cart {
                    session_id: session.clone(),
                    customer_id: cart.customer_id.clone(),
                    categories,
                    quantity,
                    value_minor: value,
                    currency: cart.currency.clone(),
                    held_at: cart.held_at,
                },
            });
            events.push((event_id.clone(), value));
        }
        self.state.timers.schedule(until, (session.clone(), FORGET));
        self.state.abandoned.insert(
            session.clone(),
            Abandoned {
                until,
                events,
                customer_id: cart.customer_id,
                currency: cart.currency,
            },
        );
    }
}

impl Job for Carts {
    fn name(&self) -> &'static str {
        "carts"
    }

    fn inputs(&self) -> &'static [Topic] {
        &[Topic::Sales]
    }

    fn on_record(&mut self, input: &Input<'_>, out: &mut Emitter) {
        if let AnyRecord::Sales(sale) = input.record {
            self.on_sale(sale, out);
        }
    }

    fn on_watermark(&mut self, watermark: Timestamp, out: &mut Emitter) {
        while let Some((_, (session, what))) = self.state.timers.pop_due(watermark) {
            match what {
                EXPIRY => self.expire(&session, out),
                _ => {
                    self.state.abandoned.remove(&session);
                }
            }
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

#[cfg(test)]
mod tests {
    use super::*;
    use sellout_ingest::records::{Channel, Topic};

    const MIN: i64 = 60_000;

    fn sale(kind: SaleKind, session: &str, event: &str, qty: u32, t: i64) -> AnyRecord {
        AnyRecord::Sales(SaleRecord {
            kind,
            event_id: event.into(),
            category_id: "cat-1".into(),
            session_id: session.into(),
            customer_id: Some("cust-1".into()),
            quantity: qty,
            unit_price_minor: 5_000,
            currency: "GBP".into(),
            channel: Channel::Web,
            quote_id: None,
            time: t,
        })
    }

    fn run(records: &[AnyRecord], watermark: i64) -> (Carts, Vec<Signal>) {
        let mut job = Carts::new(CartsConfig::default());
        let mut out = Emitter::default();
        for (i, r) in records.iter().enumerate() {
            job.on_record(
                &Input {
                    topic: Topic::Sales,
                    offset: i as u64,
                    record: r,
                },
                &mut out,
            );
        }
        job.on_watermark(watermark, &mut out);
        (job, out.signals)
    }

    #[test]
    fn an_expired_hold_with_seats_is_abandoned_once() {
        let (job, signals) = run(
            &[
                sale(SaleKind::CartAdd, "s", "ev-1", 2, 0),
                sale(SaleKind::CartAdd, "s", "ev-1", 1, 5 * MIN),
            ],
            10 * MIN,
        );
        assert_eq!(signals.len(), 1);
        let s = &signals[0];
        assert_eq!((s.kind, s.time), (SignalKind::CartAbandoned, 10 * MIN));
        let SignalDetail::Cart {
            quantity,
            value_minor,
            ..
        } = &s.detail
        else {
            panic!()
        };
        assert_eq!((*quantity, *value_minor), (3, 15_000));
        assert_eq!(job.counts().abandoned, 1);
    }

    #[test]
    fn nothing_is_abandoned_before_the_hold_ends() {
        let (_, signals) = run(&[sale(SaleKind::CartAdd, "s", "ev-1", 2, 0)], 10 * MIN - 1);
        assert!(signals.is_empty());
    }

    #[test]
    fn purchases_convert_and_removals_empty() {
        let (job, signals) = run(
            &[
                sale(SaleKind::CartAdd, "a", "ev-1", 2, 0),
                sale(SaleKind::Purchase, "a", "ev-1", 2, MIN),
                sale(SaleKind::CartAdd, "b", "ev-1", 2, 0),
                sale(SaleKind::CartRemove, "b", "ev-1", 2, MIN),
            ],
            60 * MIN,
        );
        assert!(signals.is_empty(), "{signals:?}");
        let c = job.counts();
        assert_eq!(
            (c.opened, c.converted, c.emptied, c.abandoned),
            (2, 1, 1, 0)
        );
    }

    #[test]
    fn a_late_purchase_is_a_recovery_whichever_comes_first() {
        let records = [
            sale(SaleKind::CartAdd, "s", "ev-1", 2, 0),
            sale(SaleKind::Purchase, "s", "ev-1", 2, 12 * MIN),
        ];
        // The purchase arrives before the watermark passes the expiry...
        let (_, early) = run(&records, 0);
        // ...or after the expiry timer fired.
        let mut job = Carts::new(CartsConfig::default());
        let mut out = Emitter::default();
        job.on_record(
            &Input {
                topic: Topic::Sales,
                offset: 0,
                record: &records[0],
            },
            &mut out,
        );
        job.on_watermark(11 * MIN, &mut out);
        job.on_record(
            &Input {
                topic: Topic::Sales,
                offset: 1,
                record: &records[1],
            },
            &mut out,
        );
        assert_eq!(early, out.signals);
        let kinds: Vec<_> = early.iter().map(|s| s.kind).collect();
        assert_eq!(
            kinds,
            vec![SignalKind::CartAbandoned, SignalKind::CartRecovered]
        );
    }

    #[test]
    fn a_cart_over_two_events_gives_one_signal_per_event() {
        let (_, signals) = run(
            &[
                sale(SaleKind::CartAdd, "s", "ev-1", 1, 0),
                sale(SaleKind::CartAdd, "s", "ev-2", 3, MIN),
            ],
            10 * MIN,
        );
        let events: Vec<_> = signals
            .iter()
            .map(|s| s.event_id.clone().unwrap())
            .collect();
        assert_eq!(events, vec!["ev-1", "ev-2"]);
        assert_ne!(signals[0].id, signals[1].id);
    }

    #[test]
    fn state_survives_a_snapshot() {
        let (job, _) = run(&[sale(SaleKind::CartAdd, "s", "ev-1", 2, 0)], 0);
        let mut restored = Carts::new(CartsConfig::default());
        restored.restore(&job.snapshot()).unwrap();
        let mut out = Emitter::default();
        restored.on_watermark(10 * MIN, &mut out);
        assert_eq!(out.signals.len(), 1);
        assert!(restored.restore(b"\xff\xff").is_err());
    }
}
