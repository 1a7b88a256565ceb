//! The streaming jobs, and [`build`], which makes the configured ones.
//!
//! Each job owns one question about the streams: [`carts`] which carts were abandoned.

pub mod carts;

use sellout_ingest::catalog::Catalog;

use crate::config::PipelinesConfig;
use crate::job::Job;

/// The configured jobs, in a fixed order (the order of [`crate::config::JOB_NAMES`]),
/// so outputs interleave the same way on every run.
pub fn build(config: &PipelinesConfig, _catalog: &Catalog) -> Vec<Box<dyn Job>> {
    let mut jobs: Vec<Box<dyn Job>> = Vec::new();
    if config.runs("carts") {
        jobs.push(Box::new(carts::Carts::new(config.carts.clone())));
    }
    jobs
}
