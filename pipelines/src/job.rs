//! The [`Job`] trait every streaming job implements, the [`Input`] it is handed and
//! the [`Emitter`] it writes signals and features to.
//!
//! A job is a keyed state machine over records in event time: the runtime calls
//! [`Job::on_record`] for every record that is not late, [`Job::on_watermark`] whenever
//! the watermark moves (the job fires its due timers), and [`Job::on_signal`] with the
//! signals other jobs emitted, so jobs can react to each other inside one process.
//! State must be complete in [`Job::snapshot`]: a restored job continues exactly where
//! the snapshot was taken, which is what makes replays after a crash invisible.

use sellout_ingest::erasure::Erasures;
use sellout_ingest::records::{AnyRecord, Timestamp, Topic};
use sellout_streams::Offset;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::output::{Feature, Signal};

/// One input record with where it came from.
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    /// Its topic.
    pub topic: Topic,
    /// Its offset in the topic.
    pub offset: Offset,
    /// The record.
    pub record: &'a AnyRecord,
}

/// Where jobs put what they emit.
#[derive(Debug, Default)]
pub struct Emitter {
    /// Signals emitted, in order.
    pub signals: Vec<Signal>,
    /// Features emitted, in order.
    pub features: Vec<Feature>,
}

impl Emitter {
    /// Emits a signal.
    pub fn signal(&mut self, signal: Signal) {
        self.signals.push(signal);
    }

    /// Emits a feature.
    pub fn feature(&mut self, feature: Feature) {
        self.features.push(feature);
    }
}

/// Why a job's state could not be restored.
#[derive(Debug, thiserror::Error)]
#[error("cannot restore the state of job {job}: {detail}")]
pub struct RestoreError {
    /// The job.
    pub job: &'static str,
    /// What was wrong.
    pub detail: String,
}

/// A streaming job.
pub trait Job: Send {
    /// The job's name (config key, checkpoint key).
    fn name(&self) -> &'static str;

    /// The input topics the job reads; the engine hands it records of these only,
    /// and a runner reads no topic that no configured job reads.
    fn inputs(&self) -> &'static [Topic];

    /// Handles one record that is not late.
    fn on_record(&mut self, input: &Input<'_>, out: &mut Emitter);

    /// The watermark moved to `watermark`: fire what is due.
    fn on_watermark(&mut self, watermark: Timestamp, out: &mut Emitter);

    /// A signal another job (or this one) emitted.
    fn on_signal(&mut self, _signal: &Signal, _out: &mut Emitter) {}

    /// The job's whole state.
    fn snapshot(&self) -> Vec<u8>;

    /// Replaces the job's state with a snapshot.
    fn restore(&mut self, bytes: &[u8]) -> Result<(), RestoreError>;

    /// Forgets every erased installation the state holds (privacy erase; see
    /// [`sellout_ingest::erasure`]). Jobs keeping no per-installation state do nothing.
    fn erase(&mut self, _erasures: &Erasures) {}
}

/// Serialises job state for [`Job::snapshot`].
pub fn save_state<T: Serialize>(state: &T) -> Vec<u8> {
    // Plain in-memory state always serialises; an empty snapshot would fail to restore
    // loudly rather than silently.
    postcard::to_allocvec(state).unwrap_or_default()
}

/// Deserialises job state for [`Job::restore`].
pub fn load_state<T: DeserializeOwned>(job: &'static str, bytes: &[u8]) -> Result<T, RestoreError> {
    postcard::from_bytes(bytes).map_err(|e| RestoreError {
        job,
        detail: e.to_string(),
    })
}
