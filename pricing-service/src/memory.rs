//! [`MemoryTransport`]: a [`Transport`] kept in memory, for tests and the benchmark
//! (no disk in the way of what they measure). Same contract as the embedded log:
//! contiguous offsets, whole batches per read, named consumer positions.

use std::collections::BTreeMap;
use std::sync::Mutex;

use sellout_streams::transport::FetchedBatch;
use sellout_streams::{AppendAck, Batch, Fetched, Offset, StreamError, TopicOffsets, Transport};

/// An in-memory transport.
#[derive(Debug, Default)]
pub struct MemoryTransport {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    topics: BTreeMap<String, Vec<FetchedBatch>>,
    consumers: BTreeMap<(String, String), Offset>,
}

impl MemoryTransport {
    /// An empty transport.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn end(batches: &[FetchedBatch]) -> Offset {
    batches
        .last()
        .map_or(0, |b| b.base_offset + u64::from(b.count))
}

impl Transport for MemoryTransport {
    fn append(&self, topic: &str, batch: &Batch) -> Result<AppendAck, StreamError> {
        sellout_streams::log::validate_topic(topic)?;
        let mut inner = self.lock();
        let batches = inner.topics.entry(topic.to_string()).or_default();
        let base_offset = end(batches);
        if !batch.is_empty() {
            batches.push(FetchedBatch {
                base_offset,
                count: batch.len(),
                bytes: batch.bytes().to_vec(),
            });
        }
        Ok(AppendAck {
            base_offset,
            count: batch.len(),
        })
    }

    fn read(&self, topic: &str, from: Offset, max_bytes: usize) -> Result<Fetched, StreamError> {
        let inner = self.lock();
        let mut fetched = Fetched {
            from,
            batches: Vec::new(),
        };
        let Some(batches) = inner.topics.get(topic) else {
            return Ok(fetched);
        };
        let first = batches.partition_point(|b| b.base_offset + u64::from(b.count) <= from);
        let mut bytes = 0;
        for b in &batches[first..] {
            if !fetched.batches.is_empty() && bytes + b.bytes.len() > max_bytes {
                break;
            }
            bytes += b.bytes.len();
            fetched.batches.push(b.clone());
        }
        Ok(fetched)
    }

    fn offsets(&self, topic: &str) -> Result<TopicOffsets, StreamError> {
        let inner = self.lock();
        let end = inner.topics.get(topic).map_or(0, |b| end(b));
        Ok(TopicOffsets { start: 0, end })
    }

    fn commit(&self, topic: &str, consumer: &str, offset: Offset) -> Result<(), StreamError> {
        self.lock()
            .consumers
            .insert((topic.to_string(), consumer.to_string()), offset);
        Ok(())
    }

    fn committed(&self, topic: &str, consumer: &str) -> Result<Option<Offset>, StreamError> {
        Ok(self
            .lock()
            .consumers
            .get(&(topic.to_string(), consumer.to_string()))
            .copied())
    }

    fn flush(&self) -> Result<(), StreamError> {
        Ok(())
    }

    fn topics(&self) -> Result<Vec<String>, StreamError> {
        Ok(self.lock().topics.keys().cloned().collect())
    }
}
