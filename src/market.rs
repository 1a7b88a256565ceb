//! The demo's closed loop: simulated shoppers read the pricing service's book, and
//! after every ingested chunk the pipelines and the repricer run, so price changes
//! move simulated demand.
//!
//! Shoppers see prices with a publication lag (`LAG_MS` of simulated time, as a sales
//! portal's cache would): the price a shopper reads at simulated time `t` is the one
//! in force at `t - LAG_MS`, or at the end of the last chunk handed to ingest if that
//! is earlier. Before answering, the simulator thread waits until the pricing side
//! has processed up to that time, so with `--duration 0s` a run's prices depend on
//! the seed alone, never on thread timing.
//!
//! Shoppers who add seats to a cart get a signed quote for the price they saw and pay
//! it at checkout. The quote's hold (which stops the repricer raising that price) is
//! registered on the ingest side when pricing reaches the quote's time, so the
//! repricer sees holds in simulated-time order too.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};

use sellout_ingest::records::Id;
use sellout_pricing::quotes::Quote;
use sellout_pricing::service::QuoteRequest;

use sellout_pipelines::Runner;
use sellout_pricing::{PricingService, Repricer};
use sellout_simulator::PriceSource;
use sellout_streams::Timestamp;

/// How far behind simulated time shoppers see prices.
pub const LAG_MS: i64 = 60_000;

/// Progress shared by the two demo threads.
#[derive(Debug, Default)]
pub struct Progress {
    state: Mutex<ProgressState>,
    moved: Condvar,
}

#[derive(Debug, Clone, Copy)]
struct ProgressState {
    /// Simulated time up to which chunks were handed to ingest.
    sent: Timestamp,
    /// Simulated time up to which the pipelines and the repricer have run.
    priced: Timestamp,
}

impl Default for ProgressState {
    fn default() -> Self {
        Self {
            sent: Timestamp::MIN,
            priced: Timestamp::MIN,
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

    /// Waits until prices are known as of the time a shopper at `at` sees, and
    /// returns that time.
    fn as_of(&self, at: Timestamp) -> Timestamp {
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

/// The book as the simulator's price source. The service is set once it exists (it
/// needs the catalog the simulation makes); until then shoppers see list prices.
#[derive(Default)]
pub struct BookPrices {
    service: OnceLock<Arc<PricingService>>,
    progress: Arc<Progress>,
    /// Quotes issued to shoppers whose holds pricing hasn't registered yet, in
    /// simulated-time order.
    pending: Mutex<VecDeque<Quote>>,
    issued: AtomicU64,
}

impl BookPrices {
    pub fn new(progress: Arc<Progress>) -> Self {
        Self {
            service: OnceLock::new(),
            progress,
            pending: Mutex::new(VecDeque::new()),
            issued: AtomicU64::new(0),
        }
    }

    /// Quotes issued so far.
    pub fn quotes_issued(&self) -> u64 {
        self.issued.load(Ordering::Relaxed)
    }

    /// Registers the holds of the quotes issued up to simulated time `now`.
    fn register_holds(&self, now: Timestamp) {
        let Some(service) = self.service.get() else {
            return;
        };
        let Ok(mut pending) = self.pending.lock() else {
            return;
        };
        while pending.front().is_some_and(|q| q.issued_at <= now) {
            if let Some(quote) = pending.pop_front() {
                service.holds().hold(&quote);
            }
        }
    }

    /// Connects the book.
    pub fn connect(&self, service: Arc<PricingService>) {
        let _ = self.service.set(service);
    }
}

impl PriceSource for BookPrices {
    fn price(&self, event_id: &str, category_id: &str, at: Timestamp) -> Option<i64> {
        let service = self.service.get()?;
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
        let service = self.service.get()?;
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

/// The pricing side of the loop, run on the ingest thread after each chunk.
pub struct Loop {
    pub runner: Runner,
    pub repricer: Repricer,
    pub progress: Arc<Progress>,
    pub prices: Arc<BookPrices>,
}

impl Loop {
    /// Runs the pipelines over what was ingested, then the repricer over their
    /// outputs, at simulated time `now`; then lets waiting shoppers go on.
    pub fn step(&mut self, now: Timestamp) -> anyhow::Result<()> {
        while self.runner.poll(now, usize::MAX)? > 0 {}
        self.prices.register_holds(now);
        while self.repricer.poll()? > 0 {}
        self.progress.priced(now);
        Ok(())
    }
}
