//! [`Streamed`]: an append to a Fluvio topic whose parts are sent as they come
//! ([`sellout_streams::Transport::begin_append`]).
//!
//! Beginning starts a task on the transport's runtime that takes the topic's append
//! lock and holds it until finished, so that the parts stay contiguous in each
//! partition as one append's records do. The caller does not wait for the lock: a
//! second sender validates its parts while the first one's are sent, and each task
//! holds one lock only, so callers that finish in one order of topics (the trait's
//! rule) cannot deadlock. Each pushed part is tagged on the caller's thread and goes to the
//! task over a channel without waiting: the task fixes the floors of partitions it is
//! the first to reach and gives the records to the producer, which sends each batch
//! as it fills, while the caller builds the next part. Finishing flushes the same
//! producer and awaits every answer, also after a failed send: the client's producer
//! sends what it holds once it reconnects, so an answer left unawaited could land
//! after the re-send looked for it. If a send or an answer failed, the unconfirmed
//! records are built again from the kept parts and delivered the way every append
//! does (`writer::deliver`: records found stored are not sent again). Abandoned
//! (dropped unfinished), the task stops sending; what it sent may or may not be
//! stored.

use std::sync::Arc;
use std::time::Duration;

use fluvio::TopicProducerPool;
use sellout_streams::{AppendAck, Appending, Batch, StreamError};
use tokio::sync::Mutex;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

use crate::FluvioConfig;
use crate::bridge::{Bridge, Pending, answer};
use crate::error::FluvioError;
use crate::session::{Attempt, Conn, Session};
use crate::writer::{self, Landed, Outgoing, Target};

/// What the caller tells the task.
enum Part {
    /// The next records: the batch, and its records tagged for the producer (built
    /// on the caller's thread, off the task's path).
    Records(Batch, Vec<Outgoing>),
    /// No more records: deliver and answer.
    Finish,
}

/// An append in progress whose parts are sent as they are pushed.
pub(crate) struct Streamed {
    topic: String,
    conn: Arc<Conn>,
    partitions: u32,
    parts: UnboundedSender<Part>,
    done: Pending<Vec<Landed>>,
}

impl Streamed {
    /// Starts the task for an append to `topic` (of `partitions` partitions); it
    /// holds `lock`, the topic's append lock, from its first part to its answer.
    pub(crate) fn start(
        bridge: &Bridge,
        conn: Arc<Conn>,
        topic: &str,
        partitions: u32,
        lock: Arc<Mutex<()>>,
    ) -> Result<Self, FluvioError> {
        let (parts, rx) = unbounded_channel();
        let owned = topic.to_owned();
        let task_conn = conn.clone();
        let done = bridge.start(async move {
            let _serialised = lock.lock_owned().await;
            run(&task_conn, &owned, rx).await
        })?;
        Ok(Self {
            topic: topic.to_owned(),
            conn,
            partitions,
            parts,
            done,
        })
    }
}

impl Appending for Streamed {
    fn push(&mut self, batch: Batch) -> Result<(), StreamError> {
        if batch.is_empty() {
            return Ok(());
        }
        let outgoing = writer::outgoing(&self.conn, self.partitions, Target::ByKey, &batch);
        if self.parts.send(Part::Records(batch, outgoing)).is_ok() {
            return Ok(());
        }
        // The task ended early: its answer says why.
        Err(match answer(&self.done) {
            Err(e) => e.into(),
            Ok(_) => StreamError::Unavailable(format!(
                "the append to {} ended before its last part",
                self.topic
            )),
        })
    }

    fn finish(self: Box<Self>) -> Result<AppendAck, StreamError> {
        // A closed channel means the task ended early; its answer says why.
        let _ = self.parts.send(Part::Finish);
        let landed = answer(&self.done)?;
        Ok(AppendAck {
            base_offset: landed.first().map_or(0, |l| l.offset),
            count: landed.len() as u32,
        })
    }
}

/// The task: sends each part as it comes, then delivers everything on `Finish`.
/// Abandoned (the channel closed without `Finish`), it answers nothing.
async fn run(
    conn: &Conn,
    topic: &str,
    mut parts: UnboundedReceiver<Part>,
) -> Result<Vec<Landed>, FluvioError> {
    let cfg = conn.config().clone();
    // Every part kept, with each record's partition and tag: the first send gives the
    // records away, and a delivery after a failure builds them again from these.
    let mut batches: Vec<Batch> = Vec::new();
    let mut tags: Vec<(u32, u64)> = Vec::new();
    let mut outputs = Vec::new();
    // The session and producer of the first send, flushed at the end; `None` once a
    // send failed (the rest waits for `writer::deliver`).
    let mut sending: Option<(Arc<Session>, Arc<TopicProducerPool>)> = None;
    let mut healthy = true;
    loop {
        let (batch, outgoing) = match parts.recv().await {
            Some(Part::Records(b, o)) => (b, o),
            Some(Part::Finish) => break,
            None => {
                return Err(FluvioError::Runtime(format!(
                    "the append to {topic} was abandoned"
                )));
            }
        };
        writer::fix_floors(conn, topic, &outgoing).await?;
        let first = tags.len();
        tags.extend(outgoing.iter().map(|o| (o.partition, o.seq)));
        batches.push(batch);
        if !healthy {
            continue;
        }
        if sending.is_none() {
            sending = match open(conn, topic, &cfg).await {
                Ok(open) => Some(open),
                Err(e) => {
                    fall_back(topic, "opening a producer", &e);
                    healthy = false;
                    continue;
                }
            };
        }
        let Some((session, producer)) = &sending else {
            continue;
        };
        match writer::send_owned(producer, topic, outgoing, first, &mut outputs).await {
            Ok(()) => {}
            Err(e) => {
                fall_back(topic, "sending a part", &e);
                // A failed session is replaced before the delivery at the end.
                conn.drop_session(session).await;
                healthy = false;
            }
        }
    }
    let mut landed = vec![None; tags.len()];
    // Every answer of the first send is awaited, whether a send failed or not, before
    // anything is sent again (see `writer::confirm`); the producer is dropped after.
    if let Some((session, producer)) = sending.take() {
        let settle = Duration::from_millis(cfg.producer.timeout_ms);
        if let Err(e) = writer::confirm(&producer, topic, outputs, &mut landed, settle).await
            && healthy
        {
            fall_back(topic, "confirming", &e);
            conn.drop_session(&session).await;
            healthy = false;
        }
    }
    if !healthy {
        let outgoing = Arc::new(writer::retagged(conn, &batches, &tags));
        let shared = Arc::new(Mutex::new(landed));
        writer::deliver(conn, topic, Target::ByKey, &outgoing, &shared, true).await?;
        landed = std::mem::take(&mut *shared.lock().await);
    }
    Ok(writer::confirmed(conn, topic, &landed))
}

/// The current session and its producer for `topic`.
async fn open(
    conn: &Conn,
    topic: &str,
    cfg: &FluvioConfig,
) -> Result<(Arc<Session>, Arc<TopicProducerPool>), Attempt> {
    let session = conn.session().await?;
    let producer = session.producer(topic, Target::ByKey, cfg).await?;
    Ok((session, producer))
}

/// Notes that the first attempt failed and the delivery at the end takes over.
fn fall_back(topic: &str, what: &str, e: &Attempt) {
    tracing::warn!(
        message = "An append's first attempt failed; delivering what is unconfirmed at the end.",
        topic,
        what,
        error = %e
    );
}
