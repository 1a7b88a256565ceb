//! The pricing service as the simulator's price source: the demos' closed loop, where
//! simulated shoppers read live prices and price changes move simulated demand.
//! `sellout demo` runs it over one service, `sellout-fluvio demo` over one service per
//! partition (an event's prices live in its partition's book).
//!
//! Shoppers see prices with a publication lag ([`LAG_MS`] of simulated time, as a
//! sales portal's cache would): the price a shopper reads at simulated time `t` is the
//! one in force at `t - LAG_MS`, or at the end of the last chunk handed to ingest if
//! that is earlier. Before answering, the simulator thread waits until the pricing side
//! has run up to that time ([`Progress`]), so an unpaced run's prices depend on the
//! seed alone, never on thread timing.
//!
//! Shoppers who add seats to a cart get a signed quote for the price they saw and pay
//! it at checkout. The quote's hold (which stops the repricer raising that price) is
//! registered when pricing reaches the quote's time ([`ShopperPrices::register_holds`]),
//! so the repricer sees holds in simulated-time order too.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};

use sellout_ingest::records::{Id, Timestamp};
use sellout_simulator::PriceSource;

use crate::quotes::Quote;
use crate::service::{PricingService, QuoteRequest};

/// How far behind simulated time shoppers see prices.
pub const LAG_MS: i64 = 60_000;

/// Progress shared by the simulator thread and the pricing side.
#[derive(Debug)]
pub struct Progress {
    state: Mutex<ProgressState>,
    moved: Condvar,
}

#[derive(Debug, Clone, Copy)]
struct ProgressState {
    /// Simulated time up to which chunks were handed to ingest.
    sent: Timestamp,
    /// Simulated time up to which the pipelines and the repricers have run.
    priced: Timestamp,
}

impl Default for Progress {
    fn default() -> Self {
        Self {
            state: Mutex::new(ProgressState {
                sent: Timestamp::MIN,
                priced: Timestamp::MIN,
            }),
            moved: Condvar::new(),
        }
    }
}

impl Progress {
    fn update(&self, f: impl FnOnce(&mut ProgressState)) {
        if let Ok(mut s) = self.state.lock() {
            f(&mut s);
        }
        self.moved.notify_all();
    }

    /// The simulator handed everything up to `at` to ingest.
    pub fn sent(&self, at: Timestamp) {
        self.update(|s| s.sent = s.sent.max(at));
    }

    /// The pricing side has run up to `at` (`Timestamp::MAX`: it stopped, don't wait).
    pub fn priced(&self, at: Timestamp) {
        self.update(|s| s.priced = s.priced.max(at));
    }

    /// Waits until prices are known as of the time a shopper at `at` sees; that time.
    pub fn as_of(&self, at: Timestamp) -> Timestamp {
        let Ok(mut s) = self.state.lock() else {
            return at - LAG_MS;
        };
        let as_of = (at - LAG_MS).min(s.sent);
        while s.priced < as_of {
            match self.moved.wait(s) {
                Ok(next) => s = next,
                Err(_) => return as_of,
            }
        }
        as_of
    }
}

/// Which of `n` services holds `event_id`'s prices.
pub type Route = fn(event_id: &str, n: u32) -> u32;

/// The services' books as the simulator's price source. The services are set once
/// they exist (they need the catalog the simulation makes); until then shoppers see
/// list prices.
pub struct ShopperPrices {
    services: OnceLock<Vec<Arc<PricingService>>>,
    route: Route,
    progress: Arc<Progress>,
    /// Quotes issued to shoppers whose holds pricing hasn't registered yet, in
    /// simulated-time order.
    pending: Mutex<VecDeque<Quote>>,
    issued: AtomicU64,
}

impl ShopperPrices {
    /// No services yet; `route` picks an event's service among those connected.
    pub fn new(progress: Arc<Progress>, route: Route) -> Self {
        Self {
            services: OnceLock::new(),
            route,
            progress,
            pending: Mutex::new(VecDeque::new()),
            issued: AtomicU64::new(0),
        }
    }

    /// Connects the services (in the order `route` numbers them).
    pub fn connect(&self, services: Vec<Arc<PricingService>>) {
        let _ = self.services.set(services);
    }

    /// Quotes issued so far.
    pub fn quotes_issued(&self) -> u64 {
        self.issued.load(Ordering::Relaxed)
    }

    fn service(&self, event_id: &str) -> Option<&Arc<PricingService>> {
        let services = self.services.get()?;
        let n = u32::try_from(services.len()).ok()?;
        services.get((self.route)(event_id, n) as usize)
    }

    /// Registers the holds of the quotes issued up to simulated time `now`, each with
    /// its event's service.
    pub fn register_holds(&self, now: Timestamp) {
        let Ok(mut pending) = self.pending.lock() else {
            return;
        };
        while pending.front().is_some_and(|q| q.issued_at <= now) {
            if let Some(quote) = pending.pop_front()
                && let Some(service) = self.service(&quote.event_id)
            {
                service.holds().hold(&quote);
            }
        }
    }
}

impl PriceSource for ShopperPrices {
    fn price(&self, event_id: &str, category_id: &str, at: Timestamp) -> Option<i64> {
        let service = self.service(event_id)?;
        let as_of = self.progress.as_of(at);
        let snapshot = service.book().snapshot();
        let category = snapshot.category(event_id, category_id)?;
        // The last change in force by `as_of`; before any, the price it replaced.
        let history = &category.history;
        let price = match history.iter().rposition(|c| c.time <= as_of) {
            Some(i) => history.get(i).map(|c| c.new_minor),
            None => history.front().map(|c| c.old_minor),
        };
        Some(price.unwrap_or(category.price_minor))
    }

    fn quote(
        &self,
        event_id: &str,
        category_id: &str,
        quantity: u32,
        unit_price_minor: i64,
        at: Timestamp,
    ) -> Option<Id> {
        let service = self.service(event_id)?;
        // The simulator thread is the only caller, so the numbering is the seed's.
        let n = self.issued.fetch_add(1, Ordering::Relaxed);
        let request = QuoteRequest {
            event_id: event_id.to_owned(),
            category_id: category_id.to_owned(),
            quantity,
        };
        let quote = service
            .make_quote(format!("q-{n:010}"), &request, unit_price_minor, at)
            .ok()?;
        let id = Id::from(quote.id.as_str());
        if let Ok(mut pending) = self.pending.lock() {
            pending.push_back(quote);
        }
        Some(id)
    }
}
