//! [`FluvioTransport`] and [`PartitionView`]: the streams trait over Fluvio topics.
//!
//! The trait has no partitions; the mapping is:
//! - [`FluvioTransport`] is the producer side. `append` routes each record by a stable
//!   hash of its key (the `event_id`, [`crate::routing`]) to a partition, so one event's
//!   records stay in one partition, in append order. Its ack's `base_offset` is the
//!   first record's offset *in its partition*; [`FluvioTransport::append_routed`] says
//!   where every record landed. Topic-wide reads, offsets and checkpoints work only on
//!   single-partition topics (anything else is refused, never silently partition 0).
//! - [`PartitionView`] (from [`FluvioTransport::partition`]) is the consumer side of one
//!   partition index: every trait method on topic `t` means partition `p` of `t`. A
//!   worker owning partitions {0, 2} runs one view, one consumer, per partition; the
//!   pipeline code takes it as any `&dyn Transport`. Topics a worker joins must share a
//!   partition count, so that one event lands at the same index in each.
//!
//! Appends to one topic from one process are serialised, so a batch's records are
//! contiguous within each partition they land in; so are the parts of one
//! [`Transport::begin_append`], which holds the topic until it is finished.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use fluvio::metadata::topic::TopicSpec;
use sellout_streams::{
    AppendAck, Appending, Batch, Fetched, Offset, StreamError, TopicOffsets, Transport,
};

use crate::appending::Streamed;
use crate::bridge::Bridge;
use crate::checkpoint::{self, Checkpoints};
use crate::config::FluvioConfig;
use crate::error::FluvioError;
use crate::session::{Attempt, Conn, TransportStats};
use crate::writer::{self, Landed, Target};
use crate::{reader, routing};

/// The streams transport over a Fluvio cluster (see the module docs for the mapping).
#[derive(Clone)]
pub struct FluvioTransport {
    inner: Arc<Inner>,
}

struct Inner {
    bridge: Bridge,
    conn: Arc<Conn>,
    checkpoints: Arc<tokio::sync::Mutex<Checkpoints>>,
    append_locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl std::fmt::Debug for FluvioTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FluvioTransport")
            .field("endpoint", &self.inner.conn.config().endpoint)
            .finish_non_exhaustive()
    }
}

impl FluvioTransport {
    /// Validates `config`, starts the private runtime and connects (with retries).
    pub fn connect(config: FluvioConfig) -> Result<Self, FluvioError> {
        config.validate()?;
        let bridge = Bridge::new(2)?;
        let checkpoints = Checkpoints::new(&config.checkpoint);
        let conn = Arc::new(Conn::new(Arc::new(config)));
        let c = conn.clone();
        bridge.run(async move { c.retry("connect", |_| async { Ok::<_, Attempt>(()) }).await })?;
        Ok(Self {
            inner: Arc::new(Inner {
                bridge,
                conn,
                checkpoints: Arc::new(tokio::sync::Mutex::new(checkpoints)),
                append_locks: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// The config it runs with.
    pub fn config(&self) -> &FluvioConfig {
        self.inner.conn.config()
    }

    /// What the transport has had to repair so far (reconnects, gap re-fetches).
    pub fn stats(&self) -> TransportStats {
        self.inner.conn.stats()
    }

    /// The partition count of `topic`, creating the topic when it is missing.
    pub fn partitions(&self, topic: &str) -> Result<u32, FluvioError> {
        let conn = self.inner.conn.clone();
        let topic = topic.to_owned();
        self.inner
            .bridge
            .run(async move { conn.partitions(&topic).await })
    }

    /// The partition count of `topic`, creating it with `partitions` partitions (not
    /// the configured count) when it is missing: e.g. the one-partition `catalog` topic
    /// every process reads whole.
    pub fn ensure_topic(&self, topic: &str, partitions: u32) -> Result<u32, FluvioError> {
        let conn = self.inner.conn.clone();
        let topic = topic.to_owned();
        self.inner
            .bridge
            .run(async move { conn.ensure_topic(&topic, partitions.max(1)).await })
    }

    /// Creates the checkpoint topic (`checkpoint_topic`, one partition, the retention of
    /// `[fluvio.checkpoint]`) when it is missing, so that the first commit does not pay
    /// for it (a benchmark creates it before anything is timed).
    pub fn ensure_checkpoint_topic(&self) -> Result<(), FluvioError> {
        let conn = self.inner.conn.clone();
        self.inner.bridge.run(async move {
            let topic = conn.config().checkpoint_topic.clone();
            conn.ensure_checkpoint_topic(&topic).await.map(|_| ())
        })
    }

    /// The partition `key` routes to in `topic`.
    pub fn partition_of(&self, topic: &str, key: &[u8]) -> Result<u32, FluvioError> {
        Ok(routing::partition_of(key, self.partitions(topic)?))
    }

    /// The consumer side of partition `partition` of every topic.
    pub fn partition(&self, partition: u32) -> PartitionView {
        PartitionView {
            transport: self.clone(),
            partition,
        }
    }

    /// Appends `batch` to `topic`, each record to the partition of its key, and says
    /// where each record landed (in batch order).
    pub fn append_routed(&self, topic: &str, batch: &Batch) -> Result<Vec<Landed>, FluvioError> {
        self.append_to(topic, Target::ByKey, batch)
    }

    fn append_to(
        &self,
        topic: &str,
        target: Target,
        batch: &Batch,
    ) -> Result<Vec<Landed>, FluvioError> {
        let partitions = self.partitions(topic)?;
        if let Target::Partition(p) = target {
            check_partition(topic, p, partitions)?;
        }
        if batch.is_empty() {
            return Ok(Vec::new());
        }
        let batch = batch.clone();
        let lock = self.append_lock(topic);
        let conn = self.inner.conn.clone();
        let topic = topic.to_owned();
        self.inner.bridge.run(async move {
            let _serialised = lock.lock().await;
            writer::append(&conn, &topic, target, &batch).await
        })
    }

    fn append_lock(&self, topic: &str) -> Arc<tokio::sync::Mutex<()>> {
        match self.inner.append_locks.lock() {
            Ok(mut locks) => locks.entry(topic.to_owned()).or_default().clone(),
            // A panic elsewhere poisoned the map: appends stay correct, only unserialised.
            Err(_) => Arc::new(tokio::sync::Mutex::new(())),
        }
    }

    fn read_partition(
        &self,
        topic: &str,
        partition: u32,
        from: Offset,
        max_bytes: usize,
    ) -> Result<Fetched, FluvioError> {
        check_partition(topic, partition, self.partitions(topic)?)?;
        let conn = self.inner.conn.clone();
        let topic = topic.to_owned();
        self.inner
            .bridge
            .run(async move { reader::read(&conn, &topic, partition, from, max_bytes).await })
    }

    fn offsets_partition(&self, topic: &str, partition: u32) -> Result<TopicOffsets, FluvioError> {
        check_partition(topic, partition, self.partitions(topic)?)?;
        let conn = self.inner.conn.clone();
        let topic = topic.to_owned();
        self.inner
            .bridge
            .run(async move { reader::offsets(&conn, &topic, partition).await })
    }

    fn commit_partition(
        &self,
        topic: &str,
        partition: u32,
        consumer: &str,
        offset: Offset,
    ) -> Result<(), FluvioError> {
        check_consumer(consumer)?;
        check_partition(topic, partition, self.partitions(topic)?)?;
        let key = checkpoint::key(topic, partition, consumer);
        let (conn, cps) = (self.inner.conn.clone(), self.inner.checkpoints.clone());
        self.inner
            .bridge
            .run(async move { cps.lock().await.put(&conn, key, offset).await })
    }

    fn committed_partition(
        &self,
        topic: &str,
        partition: u32,
        consumer: &str,
    ) -> Result<Option<Offset>, FluvioError> {
        check_consumer(consumer)?;
        check_partition(topic, partition, self.partitions(topic)?)?;
        let key = checkpoint::key(topic, partition, consumer);
        let (conn, cps) = (self.inner.conn.clone(), self.inner.checkpoints.clone());
        self.inner
            .bridge
            .run(async move { cps.lock().await.get(&conn, &key).await })
    }

    fn list_topics(&self) -> Result<Vec<String>, FluvioError> {
        let conn = self.inner.conn.clone();
        self.inner.bridge.run(async move {
            conn.retry("listing topics", |s| async move {
                let admin = s.fluvio.admin().await;
                let all = admin
                    .all::<TopicSpec>()
                    .await
                    .map_err(|e| Attempt::Transient(format!("list topics: {e:#}")))?;
                let mut names: Vec<String> = all.into_iter().map(|m| m.name).collect();
                names.sort();
                Ok(names)
            })
            .await
        })
    }

    /// Deletes `topic` (benchmarks and tests clean up with it).
    pub fn delete_topic(&self, topic: &str) -> Result<(), FluvioError> {
        let conn = self.inner.conn.clone();
        let topic = topic.to_owned();
        self.inner.bridge.run(async move {
            conn.retry(&format!("deleting topic {topic}"), |s| {
                let topic = topic.clone();
                async move {
                    let admin = s.fluvio.admin().await;
                    admin
                        .delete::<TopicSpec>(topic.clone())
                        .await
                        .map_err(|e| Attempt::Transient(format!("delete topic {topic}: {e:#}")))
                }
            })
            .await?;
            conn.forget(&topic);
            Ok(())
        })
    }

    /// Deletes every topic whose name starts with `prefix`: a namespace's (`t-1234-`),
    /// as tests, benchmarks and the demo clean up. Best effort past the listing: a topic
    /// that can't be deleted is logged and left (it only costs disk); returns how many
    /// were deleted. An empty prefix is refused, since it names every topic.
    pub fn delete_prefixed(&self, prefix: &str) -> Result<usize, FluvioError> {
        if prefix.is_empty() {
            return Err(FluvioError::InvalidTopic(prefix.to_owned()));
        }
        let mut deleted = 0;
        for topic in self.list_topics()?.iter().filter(|t| t.starts_with(prefix)) {
            match self.delete_topic(topic) {
                Ok(()) => deleted += 1,
                Err(e) => tracing::warn!(message = "Topic not deleted.", topic, error = %e),
            }
        }
        Ok(deleted)
    }

    /// The single partition of `topic`, or an error when it has several.
    fn only_partition(&self, topic: &str) -> Result<u32, FluvioError> {
        match self.partitions(topic)? {
            1 => Ok(0),
            partitions => Err(FluvioError::Partitioned {
                topic: topic.to_owned(),
                partitions,
            }),
        }
    }
}

fn check_partition(topic: &str, partition: u32, partitions: u32) -> Result<(), FluvioError> {
    if partition < partitions {
        Ok(())
    } else {
        Err(FluvioError::NoSuchPartition {
            topic: topic.to_owned(),
            partition,
            partitions,
        })
    }
}

fn check_consumer(consumer: &str) -> Result<(), FluvioError> {
    let ok = !consumer.is_empty()
        && consumer.len() <= 64
        && consumer
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(FluvioError::InvalidConsumer(consumer.to_owned()))
    }
}

/// The ack of an append whose records landed at `landed`.
fn ack(landed: &[Landed]) -> AppendAck {
    AppendAck {
        base_offset: landed.first().map_or(0, |l| l.offset),
        count: landed.len() as u32,
    }
}

impl Transport for FluvioTransport {
    fn append(&self, topic: &str, batch: &Batch) -> Result<AppendAck, StreamError> {
        Ok(ack(&self.append_to(topic, Target::ByKey, batch)?))
    }

    /// Sends each part as it is pushed ([`Streamed`]): the caller's work on the next
    /// part overlaps the sending of this one. The topic's append lock is held from
    /// the first part until finished or dropped, without the caller waiting for it.
    fn begin_append<'a>(&'a self, topic: &str) -> Result<Box<dyn Appending + 'a>, StreamError> {
        let partitions = self.partitions(topic)?;
        let streamed = Streamed::start(
            &self.inner.bridge,
            self.inner.conn.clone(),
            topic,
            partitions,
            self.append_lock(topic),
        )?;
        Ok(Box::new(streamed))
    }

    fn read(&self, topic: &str, from: Offset, max_bytes: usize) -> Result<Fetched, StreamError> {
        let p = self.only_partition(topic)?;
        Ok(self.read_partition(topic, p, from, max_bytes)?)
    }

    fn offsets(&self, topic: &str) -> Result<TopicOffsets, StreamError> {
        let p = self.only_partition(topic)?;
        Ok(self.offsets_partition(topic, p)?)
    }

    fn commit(&self, topic: &str, consumer: &str, offset: Offset) -> Result<(), StreamError> {
        let p = self.only_partition(topic)?;
        Ok(self.commit_partition(topic, p, consumer, offset)?)
    }

    fn committed(&self, topic: &str, consumer: &str) -> Result<Option<Offset>, StreamError> {
        let p = self.only_partition(topic)?;
        Ok(self.committed_partition(topic, p, consumer)?)
    }

    fn flush(&self) -> Result<(), StreamError> {
        // Every append already waited for the cluster's confirmation.
        Ok(())
    }

    fn topics(&self) -> Result<Vec<String>, StreamError> {
        Ok(self.list_topics()?)
    }
}

/// One partition index of every topic, as a [`Transport`] (see the module docs).
#[derive(Debug, Clone)]
pub struct PartitionView {
    transport: FluvioTransport,
    partition: u32,
}

impl PartitionView {
    /// The partition this view reads and writes.
    pub fn partition(&self) -> u32 {
        self.partition
    }
}

impl Transport for PartitionView {
    fn append(&self, topic: &str, batch: &Batch) -> Result<AppendAck, StreamError> {
        let landed = self
            .transport
            .append_to(topic, Target::Partition(self.partition), batch)?;
        Ok(ack(&landed))
    }

    fn read(&self, topic: &str, from: Offset, max_bytes: usize) -> Result<Fetched, StreamError> {
        Ok(self
            .transport
            .read_partition(topic, self.partition, from, max_bytes)?)
    }

    fn offsets(&self, topic: &str) -> Result<TopicOffsets, StreamError> {
        Ok(self.transport.offsets_partition(topic, self.partition)?)
    }

    fn commit(&self, topic: &str, consumer: &str, offset: Offset) -> Result<(), StreamError> {
        Ok(self
            .transport
            .commit_partition(topic, self.partition, consumer, offset)?)
    }

    fn committed(&self, topic: &str, consumer: &str) -> Result<Option<Offset>, StreamError> {
        Ok(self
            .transport
            .committed_partition(topic, self.partition, consumer)?)
    }

    fn flush(&self) -> Result<(), StreamError> {
        Ok(())
    }

    fn topics(&self) -> Result<Vec<String>, StreamError> {
        self.transport.topics()
    }
}
