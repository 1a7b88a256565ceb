//! The demo's closed loop over partitions: simulated shoppers read live prices, and
//! after every ingested chunk each partition's pipelines runner and repricer run, so
//! price changes move simulated demand.
//!
//! `sellout demo`'s loop (the binary's `market.rs`) with one pricing replica and one
//! repricer per partition instead of one: an event's records, signals and features all
//! live in the partition of its `event_id`, so that partition's repricer prices its
//! categories and appends the changes to that partition of `prices`; a shopper's price
//! is read from the book of the event's partition. The rest is the same: shoppers see
//! prices with a publication lag ([`LAG_MS`] of simulated time), and before answering
//! the simulator thread waits until pricing has run up to that time, so with an
//! unpaced run a seed gives the same prices whatever the thread timing. Quotes' holds
//! are registered when pricing reaches the quote's time.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};

use sellout_ingest::records::{Id, Timestamp};
use sellout_pipelines::Runner;
use sellout_pipelines::runner::RunnerError;
use sellout_pricing::quotes::Quote;
use sellout_pricing::service::{PricingError, QuoteRequest};
use sellout_pricing::{PricingService, Repricer};
use sellout_simulator::PriceSource;
use sellout_streams_fluvio::routing::partition_of;

/// How far behind simulated time shoppers see prices (as `sellout demo`).
pub const LAG_MS: i64 = 60_000;

/// Progress shared by the simulator thread and the loop.
#[derive(Debug, Default)]
pub struct Progress {
    state: Mutex<(Timestamp, Timestamp)>,
    moved: Condvar,
}

impl Progress {
    /// Nothing sent, nothing priced.
    pub fn new() -> Self {
        Self {
            state: Mutex::new((Timestamp::MIN, Timestamp::MIN)),
            moved: Condvar::new(),
        }
    }

    fn update(&self, f: impl FnOnce(&mut (Timestamp, Timestamp))) {
        if let Ok(mut s) = self.state.lock() {
            f(&mut s);
        }
        self.moved.notify_all();
    }

    /// The simulator handed everything up to `at` to ingest.
    pub fn sent(&self, at: Timestamp) {
        self.update(|s| s.0 = s.0.max(at));
    }

    /// Pricing has run up to `at` (`Timestamp::MAX`: it stopped, don't wait).
    pub fn priced(&self, at: Timestamp) {
        self.update(|s| s.1 = s.1.max(at));
    }

    /// Waits until prices are known as of the time a shopper at `at` sees; that time.
    fn as_of(&self, at: Timestamp) -> Timestamp {
        let Ok(mut s) = self.state.lock() else {
            return at - LAG_MS;
        };
        let as_of = (at - LAG_MS).min(s.0);
        while s.1 < as_of {
            match self.moved.wait(s) {
                Ok(next) => s = next,
                Err(_) => return as_of,
            }
        }
        as_of
    }
}

/// The partitions' books as the simulator's price source. The services are set once
/// they exist (they need the catalog the simulation makes); until then, list prices.
pub struct PartitionedPrices {
    services: OnceLock<Vec<Arc<PricingService>>>,
    progress: Arc<Progress>,
    /// Quotes whose holds pricing hasn't registered yet, in simulated-time order.
    pending: Mutex<VecDeque<Quote>>,
    issued: AtomicU64,
}

impl PartitionedPrices {
    /// No services yet.
    pub fn new(progress: Arc<Progress>) -> Self {
        Self {
            services: OnceLock::new(),
            progress,
            pending: Mutex::new(VecDeque::new()),
            issued: AtomicU64::new(0),
        }
    }

    /// Connects the books, one service per partition in partition order.
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
        services.get(partition_of(event_id.as_bytes(), n) as usize)
    }

    /// Registers the holds of the quotes issued up to simulated time `now`, each with
    /// the service of its event's partition.
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

impl PriceSource for PartitionedPrices {
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

/// Why a partition's step failed.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    /// The pipelines failed.
    #[error("pipelines of partition {partition}: {source}")]
    Pipelines {
        /// The partition.
        partition: u32,
        /// What failed.
        #[source]
        source: RunnerError,
    },
    /// The repricer failed.
    #[error("repricer of partition {partition}: {source}")]
    Pricing {
        /// The partition.
        partition: u32,
        /// What failed.
        #[source]
        source: PricingError,
    },
    /// A partition's thread panicked (a bug).
    #[error("partition {0}: its thread panicked")]
    Panicked(u32),
}

/// The pipelines runner and the repricer of one partition.
pub struct PartitionLoop {
    /// The partition.
    pub partition: u32,
    /// Its pipelines.
    pub runner: Runner,
    /// Its repricer, over its service.
    pub repricer: Repricer,
}

impl PartitionLoop {
    /// Runs the pipelines over what was ingested at simulated `now`, then the repricer
    /// over their outputs.
    fn step(&mut self, now: Timestamp) -> Result<(), StepError> {
        let partition = self.partition;
        while self
            .runner
            .poll(now, usize::MAX)
            .map_err(|source| StepError::Pipelines { partition, source })?
            > 0
        {}
        self.drain_repricer()
    }

    /// Polls the repricer until it has read everything.
    pub fn drain_repricer(&mut self) -> Result<(), StepError> {
        let partition = self.partition;
        while self
            .repricer
            .poll()
            .map_err(|source| StepError::Pricing { partition, source })?
            > 0
        {}
        Ok(())
    }
}

/// Runs `f` on every partition's loop, each on a thread of its own.
pub fn each<F>(loops: &mut [PartitionLoop], f: F) -> Result<(), StepError>
where
    F: Fn(&mut PartitionLoop) -> Result<(), StepError> + Sync,
{
    std::thread::scope(|scope| {
        let handles: Vec<_> = loops
            .iter_mut()
            .map(|l| {
                let p = l.partition;
                (p, scope.spawn(|| f(l)))
            })
            .collect();
        let mut first = Ok(());
        for (p, h) in handles {
            let r = h.join().unwrap_or(Err(StepError::Panicked(p)));
            if first.is_ok() {
                first = r;
            }
        }
        first
    })
}

/// One step of the loop at simulated `now`: holds registered, every partition's
/// pipelines and repricer run, then waiting shoppers go on.
pub fn step(
    loops: &mut [PartitionLoop],
    prices: &PartitionedPrices,
    progress: &Progress,
    now: Timestamp,
) -> Result<(), StepError> {
    prices.register_holds(now);
    each(loops, |l| l.step(now))?;
    progress.priced(now);
    Ok(())
}
