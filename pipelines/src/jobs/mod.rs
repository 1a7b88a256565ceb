//! The streaming jobs, and [`build`], which makes the configured ones.
//!
//! Each job owns one question about the streams: [`carts`] which carts were abandoned;
//! [`surges`] which categories sell unusually fast or slow; [`buzz`] what social media
//! say and how loudly; [`venue`] where people are and how long the queues are;
//! [`features`] the sell-out features the models score.

pub mod buzz;
pub mod carts;
pub mod features;
pub mod surges;
pub mod venue;

use std::sync::Arc;

use sellout_ingest::live_catalog::LiveCatalog;

use crate::config::PipelinesConfig;
use crate::job::Job;

/// The configured jobs, in a fixed order (the order of [`crate::config::JOB_NAMES`]),
/// so outputs interleave the same way on every run. The features job comes last: it
/// reacts to the signals the others emit.
pub fn build(config: &PipelinesConfig, catalog: &Arc<LiveCatalog>) -> Vec<Box<dyn Job>> {
    let lateness = config.watermark.allowed_lateness_ms;
    let mut jobs: Vec<Box<dyn Job>> = Vec::new();
    for name in crate::config::JOB_NAMES {
        if !config.runs(name) {
            continue;
        }
        let job: Box<dyn Job> = match *name {
            "carts" => Box::new(carts::Carts::new(config.carts.clone())),
            "surges" => Box::new(surges::Surges::new(config.surges.clone(), lateness)),
            "buzz" => Box::new(buzz::Buzz::new(config.buzz.clone(), lateness)),
            "venue" => Box::new(venue::Venue::new(
                config.venue.clone(),
                catalog.clone(),
                lateness,
            )),
            _ => Box::new(features::Features::new(
                config.features.clone(),
                catalog.clone(),
                lateness,
            )),
        };
        jobs.push(job);
    }
    jobs
}
