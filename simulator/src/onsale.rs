//! The on-sale: shoppers arrive, view categories, hold seats in carts, buy or abandon.
//!
//! Arrivals per event are a non-homogeneous Poisson process drawn minute by minute from
//! [`EventTruth::arrival_rate`]. Each arrival is a session with its own dice (SplitMix64
//! seeded from the event's stream) that walks a small funnel: view a category (its price
//! read *now* from the [`PriceSource`]), maybe view others, put 1–10 seats in the cart if
//! its willingness to pay covers the price, then check out and pay within the hold, or
//! abandon (removing the seats, failing to pay, or just letting the hold expire). Seats
//! in carts are held: a category never sells beyond its capacity. A small share of
//! purchases is refunded later, which puts the seats back on sale.
//!
//! State is one slot per live session (about a hundred bytes), freed when it ends, plus
//! per event the list of ticket holders (bounded by the venue's capacity) that the
//! venue day turns into attendees.

use compact_str::format_compact;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use sellout_ingest::catalog::Catalog;
use sellout_ingest::records::{AnyRecord, Channel, Id, SaleKind, SaleRecord};
use sellout_streams::Timestamp;

use crate::catalog::{HOUR, MINUTE};
use crate::price::PriceSource;
use crate::random::{self, Dice, streams};
use crate::sim::{Actor, Outbox};
use crate::truth::{EventTruth, ShopperModel};
use crate::{GroundTruth, SimConfig};

/// Highest unit price a record may carry (the validator's limit).
const MAX_PRICE_MINOR: i64 = 10_000_000;

/// Minutes between the close of sales and taking the ticket holders to the venue day.
const HOLDERS_FROZEN_AFTER_CLOSE: i64 = 15 * MINUTE;

/// A ticket holder: the buyer (customer number) and the seats of one purchase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Holder {
    /// The buyer's customer number (`cus-NNNNNN`).
    pub customer: u32,
    /// Seats held; 0 once refunded.
    pub seats: u32,
}

/// Where a session is in the funnel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    View,
    Cart,
    Checkout,
    Purchase,
    Remove,
    Expire,
    Refund,
}

/// One shopper's visit.
struct Session {
    dice: Dice,
    id: Id,
    customer: Option<Id>,
    customer_num: u32,
    /// Willingness to pay for one seat of the current category, minor units.
    wtp: f64,
    /// Price of the seats in the cart.
    price: i64,
    /// The quote holding that price, when the price source gives quotes.
    quote: Option<Id>,
    cart_at: Timestamp,
    holder: u32,
    /// Standard-normal taste shared across categories.
    z: f32,
    event: u16,
    channel: Channel,
    stage: Stage,
    cat: u8,
    want: u8,
    qty: u8,
    views: u8,
    seen: u32,
    fail: bool,
}

/// Running totals of one category.
struct CategorySale {
    id: Id,
    capacity: u32,
    list: i64,
    sold: u32,
    held: u32,
    revenue_minor: i64,
    sold_out_at: Option<Timestamp>,
}

impl CategorySale {
    fn available(&self) -> u32 {
        self.capacity.saturating_sub(self.sold + self.held)
    }
}

/// One event's sale.
struct EventSale {
    event_id: Id,
    currency: Id,
    arrivals: ChaCha8Rng,
    truth: EventTruth,
    pref_cdf: Vec<f64>,
    cats: Vec<CategorySale>,
    holders: Vec<Holder>,
    holders_taken: bool,
    /// When holders are taken to the venue day; purchases and refunds stop then.
    frozen_at: Timestamp,
    purchases_this_minute: u32,
    sold_out_at: Option<Timestamp>,
}

/// Totals over all events.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct SaleCounters {
    pub sessions: u64,
    pub carts: u64,
    pub carts_abandoned: u64,
    pub carts_removed: u64,
    pub purchases: u64,
    pub refunds: u64,
}

/// Totals of one category, for stats.
#[derive(Debug, Clone)]
pub(crate) struct CategoryTotals {
    pub category_id: String,
    pub capacity: u32,
    pub sold: u32,
    pub held: u32,
    pub revenue_minor: i64,
    pub sold_out_at: Option<Timestamp>,
}

/// All on-sales.
pub(crate) struct OnSale {
    events: Vec<EventSale>,
    sessions: Vec<Session>,
    free: Vec<u32>,
    next_session: u64,
    hold_ms: i64,
    keep_holders: bool,
    scale: f64,
    shopper: ShopperModel,
    channel_cdf: Vec<f64>,
    qty_cdf: Vec<f64>,
    counters: SaleCounters,
}

impl OnSale {
    pub(crate) fn new(config: &SimConfig, catalog: &Catalog, truth: &GroundTruth) -> Self {
        let events = catalog
            .events
            .iter()
            .zip(&truth.events)
            .enumerate()
            .map(|(i, (e, t))| EventSale {
                event_id: e.event_id.clone(),
                currency: e
                    .categories
                    .first()
                    .map(|c| c.currency.clone())
                    .unwrap_or_default(),
                arrivals: random::stream(config.seed, streams::ARRIVALS + i as u64),
                truth: t.clone(),
                pref_cdf: random::cdf(
                    &t.categories
                        .iter()
                        .map(|c| c.preference)
                        .collect::<Vec<_>>(),
                ),
                cats: e
                    .categories
                    .iter()
                    .map(|c| CategorySale {
                        id: c.category_id.clone(),
                        capacity: c.capacity,
                        list: c.list_price_minor,
                        sold: 0,
                        held: 0,
                        revenue_minor: 0,
                        sold_out_at: None,
                    })
                    .collect(),
                holders: Vec::new(),
                holders_taken: false,
                frozen_at: t.curve.sales_close + HOLDERS_FROZEN_AFTER_CLOSE,
                purchases_this_minute: 0,
                sold_out_at: None,
            })
            .collect();
        let shopper = truth.shopper.clone();
        Self {
            events,
            sessions: Vec::new(),
            free: Vec::new(),
            next_session: 0,
            hold_ms: i64::from(config.cart_hold_minutes) * MINUTE,
            keep_holders: config.include_venue_day,
            scale: config.scale,
            channel_cdf: random::cdf(&shopper.channel_shares),
            qty_cdf: random::cdf(&shopper.quantity_weights),
            shopper,
            counters: SaleCounters::default(),
        }
    }

    /// Draws the arrivals of the minute starting at `t` for every event.
    pub(crate) fn arrivals(&mut self, t: Timestamp, out: &mut Outbox) {
        for e in 0..self.events.len() {
            let lambda = self.events[e]
                .truth
                .arrival_rate(t + MINUTE / 2, self.scale);
            if lambda <= 0.0 {
                continue;
            }
            let n = random::poisson(&mut self.events[e].arrivals, lambda);
            for _ in 0..n {
                let (at, slot) = self.spawn(e, t);
                out.schedule(at, Actor::Session(slot));
            }
        }
    }

    /// A new session of event `e` arriving in the minute from `t`. Always the same
    /// number of draws from the event's stream, whatever happens later.
    fn spawn(&mut self, e: usize, t: Timestamp) -> (Timestamp, u32) {
        let ev = &mut self.events[e];
        let rng = &mut ev.arrivals;
        let at = t + rng.random_range(0..MINUTE);
        let dice = Dice::from_rng(rng);
        let channel = Channel::ALL[random::pick_cdf(&self.channel_cdf, random::unit(rng))];
        let logged_in_u = random::unit(rng);
        let customer_num = rng.random_range(0..1_000_000u32);
        let cat = random::pick_cdf(&ev.pref_cdf, random::unit(rng)) as u8;
        let want = random::pick_cdf(&self.qty_cdf, random::unit(rng)) as u8 + 1;
        let z = random::normal(rng) as f32;
        let logged_in = match channel {
            Channel::App => true,
            Channel::Web => logged_in_u < self.shopper.web_logged_in_share,
            Channel::Partner | Channel::BoxOffice => false,
        };
        let session = Session {
            dice,
            id: format_compact!("s-{:07}", self.next_session),
            customer: logged_in.then(|| customer_id(customer_num)),
            customer_num,
            wtp: 0.0,
            price: 0,
            quote: None,
            cart_at: 0,
            holder: u32::MAX,
            z,
            event: e as u16,
            channel,
            stage: Stage::View,
            cat,
            want,
            qty: 0,
            views: 0,
            seen: 0,
            fail: false,
        };
        self.next_session += 1;
        self.counters.sessions += 1;
        let slot = match self.free.pop() {
            Some(slot) => {
                self.sessions[slot as usize] = session;
                slot
            }
            None => {
                self.sessions.push(session);
                (self.sessions.len() - 1) as u32
            }
        };
        (at, slot)
    }

    /// Runs session `slot` at `now`; returns when it acts next, or `None` when it ended.
    pub(crate) fn run_session(
        &mut self,
        slot: u32,
        now: Timestamp,
        prices: &dyn PriceSource,
        out: &mut Outbox,
    ) -> Option<Timestamp> {
        let next = self.step(slot as usize, now, prices, out);
        if next.is_none() {
            self.free.push(slot);
        }
        next
    }

    fn step(
        &mut self,
        slot: usize,
        now: Timestamp,
        prices: &dyn PriceSource,
        out: &mut Outbox,
    ) -> Option<Timestamp> {
        let hold = self.hold_ms;
        let model = &self.shopper;
        let s = &mut self.sessions[slot];
        let ev = &mut self.events[s.event as usize];
        let c = s.cat as usize;
        match s.stage {
            Stage::View => {
                let price = read_price(prices, ev, c, now);
                out.record(sale(ev, s, SaleKind::View, 0, price, now));
                s.views += 1;
                s.seen |= 1 << c;
                let truth = &ev.truth.categories[c];
                let rho = model.wtp_correlation;
                let taste =
                    rho * f64::from(s.z) + (1.0 - rho * rho).sqrt() * random::normal(&mut s.dice);
                s.wtp = truth.wtp_median_minor * (truth.wtp_sigma * taste).exp();
                let open = now < ev.truth.curve.sales_close;
                if open
                    && ev.cats[c].available() > 0
                    && s.wtp >= price as f64
                    && random::unit(&mut s.dice) < truth.cart_intent
                {
                    s.stage = Stage::Cart;
                    return Some(now + s.dice.random_range(10_000..90_000));
                }
                let unseen = (0..ev.cats.len()).filter(|&k| s.seen & (1 << k) == 0);
                if u32::from(s.views) < model.max_views
                    && random::unit(&mut s.dice) < model.view_another_probability
                {
                    // Sold-out categories are shown as such, so shoppers mostly look elsewhere.
                    let weights: Vec<(usize, f64)> = unseen
                        .map(|k| {
                            let w = ev.truth.categories[k].preference;
                            (
                                k,
                                if ev.cats[k].available() > 0 {
                                    w
                                } else {
                                    0.15 * w
                                },
                            )
                        })
                        .collect();
                    let total: f64 = weights.iter().map(|(_, w)| w).sum();
                    if total > 0.0 {
                        let mut x = random::unit(&mut s.dice) * total;
                        let mut pick = weights[weights.len() - 1].0;
                        for &(k, w) in &weights {
                            if x < w {
                                pick = k;
                                break;
                            }
                            x -= w;
                        }
                        s.cat = pick as u8;
                        return Some(now + s.dice.random_range(8_000..60_000));
                    }
                }
                None
            }
            Stage::Cart => {
                let price = read_price(prices, ev, c, now);
                let cat = &mut ev.cats[c];
                if s.wtp < price as f64 || cat.available() == 0 || now >= ev.truth.curve.sales_close
                {
                    return None;
                }
                s.qty = u32::from(s.want).min(cat.available()) as u8;
                cat.held += u32::from(s.qty);
                s.price = price;
                s.cart_at = now;
                s.quote = prices.quote(&ev.event_id, &cat.id, u32::from(s.qty), price, now);
                out.record(sale(ev, s, SaleKind::CartAdd, s.qty, price, now));
                self.counters.carts += 1;
                let checkout_at =
                    now + checkout_delay(&mut s.dice, model.checkout_median_minutes, hold);
                if random::unit(&mut s.dice) < ev.truth.categories[c].abandonment_rate {
                    let style = random::unit(&mut s.dice);
                    if style < model.abandon_remove_share {
                        s.stage = Stage::Remove;
                        return Some(
                            now + s.dice.random_range(30_000..(hold - 30_000).max(30_001)),
                        );
                    }
                    if style < model.abandon_remove_share + model.abandon_after_checkout_share {
                        s.fail = true;
                        s.stage = Stage::Checkout;
                        return Some(checkout_at);
                    }
                    s.stage = Stage::Expire;
                    return Some(now + hold);
                }
                s.stage = Stage::Checkout;
                Some(checkout_at)
            }
            Stage::Checkout => {
                // A quoted price holds for the whole cart hold; without a quote the
                // shopper sees the price of now.
                let price = if s.quote.is_some() {
                    s.price
                } else {
                    read_price(prices, ev, c, now)
                };
                if s.wtp < price as f64 {
                    // The price moved above what the shopper will pay: they walk away.
                    if random::unit(&mut s.dice) < 0.5 {
                        s.stage = Stage::Remove;
                        return Some(
                            now + s
                                .dice
                                .random_range(5_000..30_000)
                                .min(s.cart_at + hold - now - 1),
                        );
                    }
                    s.stage = Stage::Expire;
                    return Some(s.cart_at + hold);
                }
                if s.customer.is_none() {
                    s.customer = Some(customer_id(s.customer_num));
                }
                s.price = price;
                out.record(sale(ev, s, SaleKind::Checkout, s.qty, price, now));
                if s.fail {
                    s.stage = Stage::Expire;
                    return Some(s.cart_at + hold);
                }
                s.stage = Stage::Purchase;
                Some((now + s.dice.random_range(5_000..45_000)).min(s.cart_at + hold - 1))
            }
            Stage::Purchase => {
                let q = u32::from(s.qty);
                let cat = &mut ev.cats[c];
                cat.held -= q;
                if now >= ev.frozen_at || ev.holders_taken {
                    // The sale closed while paying: treated as an expired hold.
                    self.counters.carts_abandoned += 1;
                    return None;
                }
                cat.sold += q;
                cat.revenue_minor += i64::from(q) * s.price;
                if cat.sold >= cat.capacity && cat.sold_out_at.is_none() {
                    cat.sold_out_at = Some(now);
                }
                if ev.sold_out_at.is_none() && ev.cats.iter().all(|k| k.sold >= k.capacity) {
                    ev.sold_out_at = Some(now);
                }
                out.record(sale(ev, s, SaleKind::Purchase, s.qty, s.price, now));
                self.counters.purchases += 1;
                ev.purchases_this_minute += 1;
                if self.keep_holders {
                    s.holder = ev.holders.len() as u32;
                    ev.holders.push(Holder {
                        customer: s.customer_num,
                        seats: q,
                    });
                }
                if random::unit(&mut s.dice) < ev.truth.categories[c].refund_rate {
                    let at = now + s.dice.random_range(6 * HOUR..10 * 24 * HOUR);
                    if at < ev.frozen_at - HOUR {
                        s.stage = Stage::Refund;
                        return Some(at);
                    }
                }
                None
            }
            Stage::Remove => {
                ev.cats[c].held -= u32::from(s.qty);
                out.record(sale(ev, s, SaleKind::CartRemove, s.qty, s.price, now));
                self.counters.carts_abandoned += 1;
                self.counters.carts_removed += 1;
                None
            }
            Stage::Expire => {
                ev.cats[c].held -= u32::from(s.qty);
                self.counters.carts_abandoned += 1;
                None
            }
            Stage::Refund => {
                if now >= ev.frozen_at || ev.holders_taken {
                    return None;
                }
                let q = u32::from(s.qty);
                let cat = &mut ev.cats[c];
                cat.sold -= q;
                cat.revenue_minor -= i64::from(q) * s.price;
                if let Some(h) = ev.holders.get_mut(s.holder as usize) {
                    h.seats = 0;
                }
                out.record(sale(ev, s, SaleKind::Refund, s.qty, s.price, now));
                self.counters.refunds += 1;
                None
            }
        }
    }

    /// Purchases of event `e` since the last call.
    pub(crate) fn take_minute_purchases(&mut self, e: usize) -> u32 {
        std::mem::take(&mut self.events[e].purchases_this_minute)
    }

    /// When event `e` sold out, if it has.
    pub(crate) fn sold_out_at(&self, e: usize) -> Option<Timestamp> {
        self.events[e].sold_out_at
    }

    /// Tickets sold for event `e`, net of refunds.
    pub(crate) fn tickets_sold(&self, e: usize) -> u64 {
        self.events[e].cats.iter().map(|c| u64::from(c.sold)).sum()
    }

    /// Current price over list price, averaged over the categories of event `e`.
    pub(crate) fn price_ratio(&self, e: usize, now: Timestamp, prices: &dyn PriceSource) -> f64 {
        let ev = &self.events[e];
        let n = ev.cats.len().max(1) as f64;
        (0..ev.cats.len())
            .map(|c| read_price(prices, ev, c, now) as f64 / ev.cats[c].list.max(1) as f64)
            .sum::<f64>()
            / n
    }

    /// Hands the ticket holders of event `e` to its venue day; sales of `e` are over.
    pub(crate) fn take_holders(&mut self, e: usize) -> Vec<Holder> {
        let ev = &mut self.events[e];
        ev.holders_taken = true;
        let mut holders = std::mem::take(&mut ev.holders);
        holders.retain(|h| h.seats > 0);
        holders
    }

    /// Live sessions (including those waiting for a refund).
    pub(crate) fn live_sessions(&self) -> usize {
        self.sessions.len() - self.free.len()
    }

    /// Session slots allocated (live or free).
    pub(crate) fn session_slots(&self) -> usize {
        self.sessions.len()
    }

    /// Ticket holders kept for venue days.
    pub(crate) fn holders(&self) -> usize {
        self.events.iter().map(|e| e.holders.len()).sum()
    }

    pub(crate) fn counters(&self) -> SaleCounters {
        self.counters
    }

    /// Per-category totals of event `e`.
    pub(crate) fn category_totals(&self, e: usize) -> Vec<CategoryTotals> {
        self.events[e]
            .cats
            .iter()
            .map(|c| CategoryTotals {
                category_id: c.id.to_string(),
                capacity: c.capacity,
                sold: c.sold,
                held: c.held,
                revenue_minor: c.revenue_minor,
                sold_out_at: c.sold_out_at,
            })
            .collect()
    }
}

/// The pseudonymous id of customer number `n` (`cus-000123`).
pub fn customer_id(n: u32) -> Id {
    format_compact!("cus-{n:06}")
}

fn read_price(prices: &dyn PriceSource, ev: &EventSale, c: usize, now: Timestamp) -> i64 {
    let cat = &ev.cats[c];
    prices
        .price(&ev.event_id, &cat.id, now)
        .unwrap_or(cat.list)
        .clamp(0, MAX_PRICE_MINOR)
}

/// Cart to checkout: log-normal around the median, within the hold with time to pay.
fn checkout_delay(dice: &mut Dice, median_min: f64, hold: i64) -> i64 {
    let minutes = median_min * (0.6 * random::normal(dice)).exp();
    let ms = (minutes * MINUTE as f64) as i64;
    ms.clamp(20_000, (hold - 90_000).max(20_000))
}

fn sale(
    ev: &EventSale,
    s: &Session,
    kind: SaleKind,
    quantity: u8,
    price: i64,
    now: Timestamp,
) -> AnyRecord {
    AnyRecord::Sales(SaleRecord {
        kind,
        event_id: ev.event_id.clone(),
        category_id: ev.cats[s.cat as usize].id.clone(),
        session_id: s.id.clone(),
        customer_id: s.customer.clone(),
        quantity: u32::from(quantity),
        unit_price_minor: price,
        currency: ev.currency.clone(),
        channel: s.channel,
        // The quote travels with the cart: add, checkout, purchase.
        quote_id: match kind {
            SaleKind::CartAdd | SaleKind::Checkout | SaleKind::Purchase => s.quote.clone(),
            _ => None,
        },
        time: now,
    })
}
