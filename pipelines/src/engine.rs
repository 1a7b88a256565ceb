//! The [`Engine`]: jobs driven by event time, with no I/O.
//!
//! It takes records one at a time (with their topic and offset), keeps the watermarks,
//! routes late records out, hands the rest to every job, advances the jobs' timers
//! when the watermark moves and passes each emitted signal back to every job. What
//! comes out is collected for the caller to write. The runner wraps it with reading,
//! writing and checkpoints; benchmarks and golden tests drive it directly.

use sellout_ingest::live_catalog::IntoLiveCatalog;
use sellout_ingest::records::{AnyRecord, Timestamp, Topic};
use sellout_streams::Offset;
use serde::{Deserialize, Serialize};

use crate::config::PipelinesConfig;
use crate::job::{Emitter, Input, Job};
use crate::jobs;
use crate::output::{Feature, Signal};
use crate::watermark::Watermarks;

/// Counts of what the engine has handled.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineCounts {
    /// Records handed in.
    pub records: u64,
    /// Records beyond the allowed lateness, routed to the side output.
    pub late: u64,
    /// Signals emitted.
    pub signals: u64,
    /// Features emitted.
    pub features: u64,
}

/// What [`Engine::process`] did with a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Handed to the jobs.
    Processed,
    /// Too late: the caller must route it to the side output.
    Late {
        /// The watermark it was late against.
        watermark: Timestamp,
    },
}

/// Jobs over event time.
pub struct Engine {
    config: PipelinesConfig,
    jobs: Vec<Box<dyn Job>>,
    watermarks: Watermarks,
    out: Emitter,
    /// Signals emitted and not yet shown to the jobs.
    fed: usize,
    counts: EngineCounts,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<_> = self.jobs.iter().map(|j| j.name()).collect();
        f.debug_struct("Engine")
            .field("jobs", &names)
            .field("watermark", &self.watermarks.current())
            .field("counts", &self.counts)
            .finish_non_exhaustive()
    }
}

/// The saved state of an engine.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EngineState {
    /// Watermarks of the sources.
    pub watermarks: Watermarks,
    /// Counts so far.
    pub counts: EngineCounts,
    /// Each job's snapshot, by name.
    pub jobs: Vec<(String, Vec<u8>)>,
}

/// Why an engine could not be built or restored.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The configuration is invalid.
    #[error("invalid pipelines configuration: {0}")]
    Config(String),
    /// A job's state could not be restored.
    #[error(transparent)]
    Restore(#[from] crate::job::RestoreError),
    /// A saved state names a job that isn't configured, or misses one that is.
    #[error("the checkpoint's jobs {saved:?} differ from the configured jobs {configured:?}")]
    JobsChanged {
        /// Jobs in the checkpoint.
        saved: Vec<String>,
        /// Jobs configured now.
        configured: Vec<String>,
    },
}

impl Engine {
    /// An engine running the configured jobs against `catalog` (fixed, or live).
    pub fn new(
        config: PipelinesConfig,
        catalog: impl IntoLiveCatalog,
    ) -> Result<Self, EngineError> {
        config.validate().map_err(EngineError::Config)?;
        let jobs = jobs::build(&config, &catalog.into_live());
        Ok(Self {
            watermarks: Watermarks::new(Topic::ALL.len()),
            config,
            jobs,
            out: Emitter::default(),
            fed: 0,
            counts: EngineCounts::default(),
        })
    }

    /// The configured job names, in order.
    pub fn job_names(&self) -> Vec<&'static str> {
        self.jobs.iter().map(|j| j.name()).collect()
    }

    /// True when a configured job reads `topic`.
    pub fn reads(&self, topic: Topic) -> bool {
        self.jobs.iter().any(|j| j.inputs().contains(&topic))
    }

    /// The current watermark.
    pub fn watermark(&self) -> Timestamp {
        self.watermarks.current()
    }

    /// Counts so far.
    pub fn counts(&self) -> EngineCounts {
        self.counts
    }

    /// Has every job forget the erased installations its state holds.
    pub fn erase(&mut self, erasures: &sellout_ingest::erasure::Erasures) {
        for job in &mut self.jobs {
            job.erase(erasures);
        }
    }

    /// Handles one record read at processing time `now_ms`.
    pub fn process(
        &mut self,
        topic: Topic,
        offset: Offset,
        record: &AnyRecord,
        now_ms: i64,
    ) -> Outcome {
        self.counts.records += 1;
        let time = record.time();
        if self.watermarks.is_late(&self.config.watermark, time) {
            self.counts.late += 1;
            return Outcome::Late {
                watermark: self.watermarks.current(),
            };
        }
        // The watermark moves with the record first, and the timers it releases fire
        // before the jobs see the record: when a timer fires, a job's state holds the
        // records older than the one that released it, never that one. Which record
        // releases a timer depends on the other keys a runner reads (one runner over
        // every partition, or one per partition); which of one key's records are older
        // does not, so each key's outputs are the same however keys share runners.
        self.watermarks.observe(topic_index(topic), time, now_ms);
        self.advance(now_ms);
        let input = Input {
            topic,
            offset,
            record,
        };
        for job in &mut self.jobs {
            if job.inputs().contains(&topic) {
                job.on_record(&input, &mut self.out);
            }
        }
        self.feed_signals();
        Outcome::Processed
    }

    /// Recomputes the watermark (idle sources drop out as processing time passes).
    pub fn advance(&mut self, now_ms: i64) {
        if let Some(watermark) = self.watermarks.advance(&self.config.watermark, now_ms) {
            self.fire(watermark);
        }
        self.feed_signals();
    }

    /// Notes that the next record of `topic` to be processed has event time `time`
    /// (see [`Watermarks::expect`]).
    pub fn expect(&mut self, topic: Topic, time: Timestamp) {
        self.watermarks.expect(topic_index(topic), time);
    }

    /// Marks a topic as read to its end (bounded input).
    pub fn finish_topic(&mut self, topic: Topic) {
        self.watermarks.finish(topic_index(topic));
    }

    /// End of a bounded input: moves the watermark to the last event time seen so
    /// every timer due by then fires.
    pub fn finish(&mut self) {
        self.finish_at(None);
    }

    /// [`Engine::finish`] to at least `end`: the last event time of the whole input
    /// when this engine read only part of it (one partition).
    pub fn finish_at(&mut self, end: Option<Timestamp>) {
        if let Some(watermark) = self.watermarks.finish_at(end) {
            self.fire(watermark);
        }
        self.feed_signals();
    }

    /// Fires due timers job by job, showing each job's signals to the others before
    /// the next job fires: features closing a tick see the carts that expired by it.
    fn fire(&mut self, watermark: Timestamp) {
        for i in 0..self.jobs.len() {
            self.jobs[i].on_watermark(watermark, &mut self.out);
            self.feed_signals();
        }
    }

    /// Shows every new signal to every job, including signals that reactions emit.
    fn feed_signals(&mut self) {
        while self.fed < self.out.signals.len() {
            let signal = self.out.signals[self.fed].clone();
            self.fed += 1;
            for job in &mut self.jobs {
                job.on_signal(&signal, &mut self.out);
            }
        }
    }

    /// Takes what was emitted since the last call.
    pub fn take_outputs(&mut self) -> (Vec<Signal>, Vec<Feature>) {
        self.feed_signals();
        self.fed = 0;
        let signals = std::mem::take(&mut self.out.signals);
        let features = std::mem::take(&mut self.out.features);
        self.counts.signals += signals.len() as u64;
        self.counts.features += features.len() as u64;
        (signals, features)
    }

    /// The engine's whole state. Take outputs first: pending outputs are not saved.
    pub fn snapshot(&self) -> EngineState {
        EngineState {
            watermarks: self.watermarks.clone(),
            counts: self.counts,
            jobs: self
                .jobs
                .iter()
                .map(|j| (j.name().to_owned(), j.snapshot()))
                .collect(),
        }
    }

    /// Restores a snapshot taken by an engine with the same jobs.
    pub fn restore(&mut self, state: EngineState) -> Result<(), EngineError> {
        let saved: Vec<String> = state.jobs.iter().map(|(n, _)| n.clone()).collect();
        let configured: Vec<String> = self.jobs.iter().map(|j| j.name().to_owned()).collect();
        if saved != configured {
            return Err(EngineError::JobsChanged { saved, configured });
        }
        for (job, (_, bytes)) in self.jobs.iter_mut().zip(&state.jobs) {
            job.restore(bytes)?;
        }
        self.watermarks = state.watermarks;
        self.counts = state.counts;
        self.out = Emitter::default();
        self.fed = 0;
        Ok(())
    }
}

/// The watermark source of a topic.
fn topic_index(topic: Topic) -> usize {
    Topic::ALL.iter().position(|t| *t == topic).unwrap_or(0)
}
