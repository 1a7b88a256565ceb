//! The connection to the cluster and the retry loop every operation runs in.
//!
//! One [`Session`] is a connected `Fluvio` client plus its topic producers. An
//! operation that fails with anything but a final error (a gap, corrupt data) drops
//! the session it used, waits a doubling backoff, reconnects and tries again, up to
//! `retry.attempts` times: a lost connection or a restarted SPU costs a reconnect, and
//! the operation resumes from where its caller stands (reads re-fetch from the expected
//! offset, appends re-send the records not yet confirmed).

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use fluvio::metadata::topic::{
    CleanupPolicy, SegmentBasedPolicy, TopicResolution, TopicSpec, TopicStorageConfig,
};
use fluvio::{
    DeliverySemantic, Fluvio, FluvioClusterConfig, Partitioner, RetryPolicy,
    TopicProducerConfigBuilder, TopicProducerPool,
};
use tokio::sync::Mutex;

use crate::config::FluvioConfig;
use crate::error::FluvioError;
use crate::routing::{FixedPartitioner, KeyPartitioner};
use crate::writer::Target;

/// How one attempt of an operation failed.
#[derive(Debug)]
pub(crate) enum Attempt {
    /// Not worth retrying: the answer will not change (a gap, corrupt data, bad input).
    Final(FluvioError),
    /// Worth a reconnect and another try.
    Transient(String),
}

impl std::fmt::Display for Attempt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Attempt::Final(e) => write!(f, "{e}"),
            Attempt::Transient(m) => f.write_str(m),
        }
    }
}

impl From<FluvioError> for Attempt {
    fn from(e: FluvioError) -> Self {
        Attempt::Final(e)
    }
}

/// A connected client and its producers.
pub(crate) struct Session {
    /// The client.
    pub(crate) fluvio: Fluvio,
    producers: Mutex<HashMap<String, Arc<TopicProducerPool>>>,
}

/// The shared connection: at most one live session, replaced after failures.
pub(crate) struct Conn {
    cfg: Arc<FluvioConfig>,
    slot: Mutex<Option<Arc<Session>>>,
    partitions: std::sync::Mutex<HashMap<String, u32>>,
    reconnects: AtomicU64,
    gap_refetches: AtomicU64,
    /// This process's producer id, in every record's tag (see `writer`).
    producer_id: u64,
    /// The next record sequence number.
    next_seq: AtomicU64,
    /// Per (topic, partition): an offset at or below every record this process has
    /// not had confirmed yet (where a re-send looks for what already landed).
    floors: std::sync::Mutex<HashMap<(String, u32), u64>>,
    /// Re-sends avoided because the record had landed.
    resends_avoided: AtomicU64,
}

/// Counters of what the transport had to repair.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TransportStats {
    /// Sessions dropped after a failure (each followed by a reconnect when used again).
    pub reconnects: u64,
    /// Offset gaps answered by fetching again from the expected offset.
    pub gap_refetches: u64,
    /// Records not sent again after a failure because they were found stored already.
    #[serde(default)]
    pub resends_avoided: u64,
}

impl Conn {
    /// A connection that connects on first use.
    pub(crate) fn new(cfg: Arc<FluvioConfig>) -> Self {
        Self {
            cfg,
            slot: Mutex::new(None),
            partitions: std::sync::Mutex::new(HashMap::new()),
            reconnects: AtomicU64::new(0),
            gap_refetches: AtomicU64::new(0),
            producer_id: random_id(),
            next_seq: AtomicU64::new(0),
            floors: std::sync::Mutex::new(HashMap::new()),
            resends_avoided: AtomicU64::new(0),
        }
    }

    /// The tag of the next record this process produces: producer id, sequence.
    pub(crate) fn next_tag(&self) -> (u64, u64) {
        (
            self.producer_id,
            self.next_seq.fetch_add(1, Ordering::Relaxed),
        )
    }

    /// This process's producer id.
    pub(crate) fn producer_id(&self) -> u64 {
        self.producer_id
    }

    /// The floor of (`topic`, `partition`), if known.
    pub(crate) fn floor(&self, topic: &str, partition: u32) -> Option<u64> {
        self.floors
            .lock()
            .ok()?
            .get(&(topic.to_owned(), partition))
            .copied()
    }

    /// Raises the floor of (`topic`, `partition`) to `offset` (never lowers it).
    pub(crate) fn raise_floor(&self, topic: &str, partition: u32, offset: u64) {
        if let Ok(mut floors) = self.floors.lock() {
            let f = floors
                .entry((topic.to_owned(), partition))
                .or_insert(offset);
            *f = (*f).max(offset);
        }
    }

    /// Counts `n` re-sends avoided.
    pub(crate) fn count_resends_avoided(&self, n: u64) {
        self.resends_avoided.fetch_add(n, Ordering::Relaxed);
    }

    /// The counters so far.
    pub(crate) fn stats(&self) -> TransportStats {
        TransportStats {
            reconnects: self.reconnects.load(Ordering::Relaxed),
            gap_refetches: self.gap_refetches.load(Ordering::Relaxed),
            resends_avoided: self.resends_avoided.load(Ordering::Relaxed),
        }
    }

    /// Counts `n` gap re-fetches.
    pub(crate) fn count_refetches(&self, n: u32) {
        self.gap_refetches
            .fetch_add(u64::from(n), Ordering::Relaxed);
    }

    /// The config.
    pub(crate) fn config(&self) -> &FluvioConfig {
        &self.cfg
    }

    pub(crate) async fn session(&self) -> Result<Arc<Session>, Attempt> {
        let mut slot = self.slot.lock().await;
        if let Some(s) = slot.as_ref() {
            return Ok(s.clone());
        }
        let cluster = cluster_config(&self.cfg)?;
        let fluvio = Fluvio::connect_with_config(&cluster)
            .await
            .map_err(|e| Attempt::Transient(format!("connect to {}: {e:#}", self.cfg.endpoint)))?;
        let s = Arc::new(Session {
            fluvio,
            producers: Mutex::new(HashMap::new()),
        });
        *slot = Some(s.clone());
        Ok(s)
    }

    pub(crate) async fn drop_session(&self, used: &Arc<Session>) {
        let mut slot = self.slot.lock().await;
        if slot.as_ref().is_some_and(|s| Arc::ptr_eq(s, used)) {
            *slot = None;
            self.reconnects.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Runs `op` with a session, reconnecting and retrying transient failures.
    pub(crate) async fn retry<T, F, Fut>(&self, what: &str, mut op: F) -> Result<T, FluvioError>
    where
        F: FnMut(Arc<Session>) -> Fut,
        Fut: Future<Output = Result<T, Attempt>>,
    {
        let attempts = self.cfg.retry.attempts;
        let mut last = String::new();
        for attempt in 0..attempts {
            if attempt > 0 {
                tokio::time::sleep(self.cfg.retry.backoff(attempt - 1)).await;
            }
            let session = match self.session().await {
                Ok(s) => s,
                Err(Attempt::Final(e)) => return Err(e),
                Err(Attempt::Transient(m)) => {
                    last = m;
                    continue;
                }
            };
            match op(session.clone()).await {
                Ok(v) => return Ok(v),
                Err(Attempt::Final(e)) => return Err(e),
                Err(Attempt::Transient(m)) => {
                    tracing::warn!(
                        message = "Fluvio operation failed; reconnecting.",
                        what,
                        attempt,
                        error = %m
                    );
                    self.drop_session(&session).await;
                    last = m;
                }
            }
        }
        Err(FluvioError::Cluster {
            what: what.to_owned(),
            attempts,
            last,
        })
    }

    /// The partition count of `topic`, creating the topic (configured partitions and
    /// replication) when it does not exist and waiting until it is provisioned.
    pub(crate) async fn partitions(&self, topic: &str) -> Result<u32, FluvioError> {
        self.ensure_topic(topic, self.cfg.topic.partitions).await
    }

    /// The partition count of `topic`, creating it with `create_partitions` when missing.
    pub(crate) async fn ensure_topic(
        &self,
        topic: &str,
        create_partitions: u32,
    ) -> Result<u32, FluvioError> {
        let spec = TopicSpec::new_computed(create_partitions, self.cfg.topic.replication, None);
        self.ensure_topic_spec(topic, spec).await
    }

    /// The checkpoint topic (one partition), created when missing with the retention
    /// of `[fluvio.checkpoint]`.
    pub(crate) async fn ensure_checkpoint_topic(&self, topic: &str) -> Result<u32, FluvioError> {
        let cp = self.cfg.checkpoint;
        let mut spec = TopicSpec::new_computed(1, self.cfg.topic.replication, None);
        spec.set_cleanup_policy(CleanupPolicy::Segment(SegmentBasedPolicy {
            time_in_seconds: cp.retention_s,
        }));
        spec.set_storage(TopicStorageConfig {
            segment_size: Some(cp.segment_bytes),
            max_partition_size: Some(cp.max_bytes),
        });
        self.ensure_topic_spec(topic, spec).await
    }

    /// The partition count of `topic`, creating it as `spec` says when missing.
    async fn ensure_topic_spec(&self, topic: &str, spec: TopicSpec) -> Result<u32, FluvioError> {
        crate::config::check_topic(topic)?;
        if let Some(n) = self.cached_partitions(topic) {
            return Ok(n);
        }
        let retry = self.cfg.retry;
        let n = self
            .retry(&format!("opening topic {topic}"), |s| {
                let topic = topic.to_owned();
                let spec = spec.clone();
                async move {
                    let admin = s.fluvio.admin().await;
                    let mut created = false;
                    // A new topic takes a moment to be provisioned: poll it here rather
                    // than fail the attempt, which would drop a healthy connection.
                    for poll in 0..retry.attempts.max(1) * 4 {
                        if poll > 0 {
                            tokio::time::sleep(retry.backoff(poll.min(4))).await;
                        }
                        let found = admin
                            .list::<TopicSpec, _>(vec![topic.clone()])
                            .await
                            .map_err(|e| Attempt::Transient(format!("list topic {topic}: {e:#}")))?;
                        match found.into_iter().next() {
                            Some(meta) if meta.status.resolution == TopicResolution::Provisioned => {
                                return Ok(meta.spec.partitions());
                            }
                            Some(_) => {}
                            None if !created => {
                                // A concurrent creator makes this fail; the next poll lists it.
                                if let Err(e) = admin.create(topic.clone(), false, spec.clone()).await {
                                    tracing::debug!(message = "Topic creation refused.", topic, error = %e);
                                }
                                created = true;
                            }
                            None => {}
                        }
                    }
                    Err(Attempt::Transient(format!("topic {topic} is not provisioned")))
                }
            })
            .await?;
        if let Ok(mut map) = self.partitions.lock() {
            map.insert(topic.to_owned(), n);
        }
        Ok(n)
    }

    /// Forgets what is known of `topic` (after deleting it).
    pub(crate) fn forget(&self, topic: &str) {
        if let Ok(mut map) = self.partitions.lock() {
            map.remove(topic);
        }
        if let Ok(mut floors) = self.floors.lock() {
            floors.retain(|(t, _), _| t != topic);
        }
    }

    /// The partition count of `topic` when already known.
    pub(crate) fn cached_partitions(&self, topic: &str) -> Option<u32> {
        self.partitions.lock().ok()?.get(topic).copied()
    }
}

impl Session {
    /// The producer of `topic`, created on first use with the configured batching.
    pub(crate) async fn producer(
        &self,
        topic: &str,
        target: Target,
        cfg: &FluvioConfig,
    ) -> Result<Arc<TopicProducerPool>, Attempt> {
        let name = match target {
            Target::ByKey => topic.to_owned(),
            Target::Partition(p) => format!("{topic}#{p}"),
        };
        let mut producers = self.producers.lock().await;
        if let Some(p) = producers.get(&name) {
            return Ok(p.clone());
        }
        let partitioner: Arc<dyn Partitioner + Send + Sync> = match target {
            Target::ByKey => Arc::new(KeyPartitioner),
            Target::Partition(p) => Arc::new(FixedPartitioner(p)),
        };
        let config = TopicProducerConfigBuilder::default()
            .batch_size(cfg.producer.batch_bytes)
            .max_request_size(cfg.producer.batch_bytes.max(1 << 20))
            .linger(Duration::from_millis(cfg.producer.linger_ms))
            .timeout(Duration::from_millis(cfg.producer.timeout_ms))
            .partitioner(partitioner)
            // Wait for every answer, but never re-send inside the client: a request
            // whose answer was lost may have been stored, and only the writer can
            // find out before sending it again (see `writer`).
            .delivery_semantic(DeliverySemantic::AtLeastOnce(RetryPolicy {
                max_retries: 0,
                timeout: Duration::from_millis(cfg.producer.timeout_ms),
                ..RetryPolicy::default()
            }))
            .build()
            .map_err(|e| Attempt::Final(FluvioError::Config(format!("producer: {e}"))))?;
        let p = self
            .fluvio
            .topic_producer_with_config(topic, config)
            .await
            .map_err(|e| Attempt::Transient(format!("producer for {topic}: {e:#}")))?;
        let p = Arc::new(p);
        producers.insert(name, p.clone());
        Ok(p)
    }
}

/// The client's cluster config for `cfg` (TLS included when configured).
fn cluster_config(cfg: &FluvioConfig) -> Result<FluvioClusterConfig, Attempt> {
    let cluster = FluvioClusterConfig::new(cfg.endpoint.clone());
    match &cfg.tls {
        None => Ok(cluster),
        Some(tls) => Ok(cluster.with_tls(fluvio::config::TlsPaths {
            domain: tls.domain.clone(),
            key: tls.key_file.clone(),
            cert: tls.cert_file.clone(),
            ca_cert: tls.ca_file.clone(),
        })),
    }
}

/// A random producer id: from the standard library's randomly keyed hasher (seeded from
/// the operating system's entropy, not from a clock), mixed with the process id.
fn random_id() -> u64 {
    use std::hash::{BuildHasher as _, Hasher as _};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    h.finish()
}
