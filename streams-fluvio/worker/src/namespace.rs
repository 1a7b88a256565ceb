//! [`Namespaced`]: any transport with a prefix put before every topic name.
//!
//! Tests and benchmarks run against one long-lived cluster: with a prefix of their own
//! (`t-1234-`), the pipelines' fixed topic names (`sales`, `signals`, ...) become topics
//! no other run sees. A deployment could use it the same way to share a cluster.

use sellout_streams::{
    AppendAck, Appending, Batch, Fetched, Offset, StreamError, TopicOffsets, Transport,
};

/// `inner` with every topic name prefixed by `prefix`.
#[derive(Debug, Clone)]
pub struct Namespaced<T> {
    inner: T,
    prefix: String,
}

impl<T: Transport> Namespaced<T> {
    /// Wraps `inner`; `prefix` must keep names valid for it (Fluvio: a-z, 0-9, '-').
    pub fn new(inner: T, prefix: impl Into<String>) -> Self {
        Self {
            inner,
            prefix: prefix.into(),
        }
    }

    /// The wrapped transport.
    pub fn inner(&self) -> &T {
        &self.inner
    }

    fn name(&self, topic: &str) -> String {
        format!("{}{topic}", self.prefix)
    }
}

impl<T: Transport> Transport for Namespaced<T> {
    fn append(&self, topic: &str, batch: &Batch) -> Result<AppendAck, StreamError> {
        self.inner.append(&self.name(topic), batch)
    }

    fn begin_append<'a>(&'a self, topic: &str) -> Result<Box<dyn Appending + 'a>, StreamError> {
        self.inner.begin_append(&self.name(topic))
    }

    fn read(&self, topic: &str, from: Offset, max_bytes: usize) -> Result<Fetched, StreamError> {
        self.inner.read(&self.name(topic), from, max_bytes)
    }

    fn offsets(&self, topic: &str) -> Result<TopicOffsets, StreamError> {
        self.inner.offsets(&self.name(topic))
    }

    fn commit(&self, topic: &str, consumer: &str, offset: Offset) -> Result<(), StreamError> {
        self.inner.commit(&self.name(topic), consumer, offset)
    }

    fn committed(&self, topic: &str, consumer: &str) -> Result<Option<Offset>, StreamError> {
        self.inner.committed(&self.name(topic), consumer)
    }

    fn flush(&self) -> Result<(), StreamError> {
        self.inner.flush()
    }

    fn topics(&self) -> Result<Vec<String>, StreamError> {
        Ok(self
            .inner
            .topics()?
            .into_iter()
            .filter_map(|t| t.strip_prefix(&self.prefix).map(str::to_owned))
            .collect())
    }
}
