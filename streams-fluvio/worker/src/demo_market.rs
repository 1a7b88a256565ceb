//! The demo's closed loop over partitions: simulated shoppers read live prices, and
//! after every ingested chunk each partition's pipelines runner and repricer run, so
//! price changes move simulated demand.
//!
//! `sellout demo`'s loop with one pricing replica and one repricer per partition
//! instead of one: an event's records, signals and features all live in the partition
//! of its `event_id`, so that partition's repricer prices its categories and appends
//! the changes to that partition of `prices`; a shopper's price is read from the book
//! of the event's partition ([`ShopperPrices`] routed [`by_partition`]; its lag,
//! quotes and holds are `sellout demo`'s).

use sellout_ingest::records::Timestamp;
use sellout_pipelines::Runner;
use sellout_pipelines::runner::RunnerError;
use sellout_pricing::Repricer;
use sellout_pricing::service::PricingError;
pub use sellout_pricing::shoppers::{Progress, ShopperPrices};

/// An event's prices are in the service of its partition (its records' partition).
pub fn by_partition(event_id: &str, partitions: u32) -> u32 {
    sellout_streams_fluvio::routing::partition_of(event_id.as_bytes(), partitions)
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
    prices: &ShopperPrices,
    progress: &Progress,
    now: Timestamp,
) -> Result<(), StepError> {
    prices.register_holds(now);
    each(loops, |l| l.step(now))?;
    progress.priced(now);
    Ok(())
}
