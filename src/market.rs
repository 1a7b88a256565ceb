//! The demo's closed loop: simulated shoppers read the pricing service's book
//! ([`ShopperPrices`], with its publication lag and quotes), and after every ingested
//! chunk the pipelines and the repricer run ([`Loop`]), so price changes move
//! simulated demand.

use std::sync::Arc;

use sellout_pipelines::Runner;
use sellout_pricing::Repricer;
pub use sellout_pricing::shoppers::{Progress, ShopperPrices};
use sellout_streams::Timestamp;

/// Every event's prices are in the one service's book.
pub fn one_service(_event_id: &str, _n: u32) -> u32 {
    0
}

/// The pricing side of the loop, run on the ingest thread after each chunk.
pub struct Loop {
    pub runner: Runner,
    pub repricer: Repricer,
    pub progress: Arc<Progress>,
    pub prices: Arc<ShopperPrices>,
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
