//! The `[pipelines]` configuration: which jobs run, watermarks, checkpoints and each
//! job's settings. Each field's doc comment is its user documentation.

use serde::{Deserialize, Serialize};

use crate::jobs::buzz::BuzzConfig;
use crate::jobs::carts::CartsConfig;
use crate::jobs::features::FeaturesConfig;
use crate::jobs::surges::SurgesConfig;
use crate::jobs::venue::VenueConfig;
use crate::watermark::WatermarkConfig;

/// The jobs there are, by config name.
pub const JOB_NAMES: &[&str] = &["carts", "surges", "buzz", "venue", "features"];

/// Settings of the pipelines.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PipelinesConfig {
    /// The jobs to run (default: all of them).
    pub jobs: Vec<String>,
    /// Watermarks and lateness.
    pub watermark: WatermarkConfig,
    /// Records between two checkpoints.
    pub checkpoint_every_records: u64,
    /// Records between two appends of pending outputs (lower: fresher signals
    /// downstream; higher: fewer, larger appends). Polls also append when they end.
    pub output_every_records: u64,
    /// Milliseconds a live runner (`sellout serve`) waits before it looks again once
    /// it has caught up with the streams.
    pub poll_interval_ms: u64,
    /// Abandoned carts.
    pub carts: CartsConfig,
    /// Surges and slumps.
    pub surges: SurgesConfig,
    /// Social buzz.
    pub buzz: BuzzConfig,
    /// Venue flow: occupancy, dwell, queues.
    pub venue: VenueConfig,
    /// Sell-out features.
    pub features: FeaturesConfig,
}

impl Default for PipelinesConfig {
    fn default() -> Self {
        Self {
            jobs: JOB_NAMES.iter().map(|s| (*s).to_owned()).collect(),
            watermark: WatermarkConfig::default(),
            checkpoint_every_records: 200_000,
            output_every_records: 1_000,
            poll_interval_ms: 100,
            carts: CartsConfig::default(),
            surges: SurgesConfig::default(),
            buzz: BuzzConfig::default(),
            venue: VenueConfig::default(),
            features: FeaturesConfig::default(),
        }
    }
}

impl PipelinesConfig {
    /// Checks the settings, with a message naming the bad one.
    pub fn validate(&self) -> Result<(), String> {
        self.watermark.validate()?;
        for job in &self.jobs {
            if !JOB_NAMES.contains(&job.as_str()) {
                return Err(format!(
                    "unknown job {job:?}: the jobs are {}",
                    JOB_NAMES.join(", ")
                ));
            }
        }
        if self.checkpoint_every_records == 0 || self.output_every_records == 0 {
            return Err(
                "checkpoint_every_records and output_every_records must be at least 1".into(),
            );
        }
        if self.carts.hold_minutes == 0 {
            return Err("carts.hold_minutes must be at least 1".into());
        }
        self.surges
            .detector
            .validate()
            .map_err(|e| format!("surges.detector: {e}"))?;
        self.buzz
            .volume
            .validate()
            .map_err(|e| format!("buzz.volume: {e}"))?;
        self.buzz
            .sentiment
            .validate()
            .map_err(|e| format!("buzz.sentiment: {e}"))?;
        self.venue.validate()?;
        Ok(())
    }

    /// True when `job` is configured to run.
    pub fn runs(&self, job: &str) -> bool {
        self.jobs.iter().any(|j| j == job)
    }
}
