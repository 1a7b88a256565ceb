//! Appends: every record of a batch produced, every produce confirmed.
//!
//! Records are handed to the topic's producer one by one (it groups them per partition
//! into batches of `producer.batch_bytes`, waiting up to `producer.linger_ms`), the
//! producer is flushed, and each record's `ProduceOutput` is awaited with `.wait()`:
//! only that confirms delivery. Records not confirmed are sent again after a reconnect,
//! in their original order, up to `retry.attempts` times (at-least-once: a record whose
//! confirmation was lost may be stored twice; consumers downstream derive deterministic
//! ids from content and offsets, see ARCHITECTURE.md).

use std::sync::Arc;

use fluvio::RecordKey;
use fluvio::dataplane::record::RecordData;
use sellout_streams::{Batch, Offset};
use tokio::sync::Mutex;

use crate::codec;
use crate::session::{Attempt, Conn};

/// Where to send a batch's records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    /// Each record to the partition of its key.
    ByKey,
    /// Every record to this partition.
    Partition(u32),
}

/// Where one record landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Landed {
    /// The partition.
    pub partition: u32,
    /// Its offset there.
    pub offset: Offset,
}

/// The records of a batch as the producer takes them (cheap to clone for a re-send).
pub(crate) fn to_records(batch: &Batch) -> Vec<(RecordData, RecordData)> {
    batch
        .iter(0)
        .map(|r| {
            let mut value = Vec::with_capacity(
                sellout_streams::batch::RECORD_OVERHEAD + r.key.len() + r.value.len(),
            );
            codec::encode_into(&mut value, &r);
            (RecordData::from(r.key.to_vec()), RecordData::from(value))
        })
        .collect()
}

/// Produces `records` to `topic` and returns where each landed, in record order.
pub(crate) async fn append(
    conn: &Conn,
    topic: &str,
    target: Target,
    records: Vec<(RecordData, RecordData)>,
) -> Result<Vec<Landed>, crate::FluvioError> {
    let n = records.len();
    let records = Arc::new(records);
    let landed: Arc<Mutex<Vec<Option<Landed>>>> = Arc::new(Mutex::new(vec![None; n]));
    let cfg = conn.config().clone();
    conn.retry(&format!("append to {topic}"), |s| {
        let records = records.clone();
        let landed = landed.clone();
        let cfg = cfg.clone();
        async move {
            let producer = s.producer(topic, target, &cfg).await?;
            let mut landed = landed.lock().await;
            let mut outputs = Vec::new();
            for (i, (key, value)) in records.iter().enumerate() {
                if landed[i].is_some() {
                    continue;
                }
                let out = producer
                    .send(RecordKey::from(key.clone()), value.clone())
                    .await
                    .map_err(|e| Attempt::Transient(format!("send to {topic}: {e:#}")))?;
                outputs.push((i, out));
            }
            producer
                .flush()
                .await
                .map_err(|e| Attempt::Transient(format!("flush to {topic}: {e:#}")))?;
            let mut failed = None;
            for (i, out) in outputs {
                match out.wait().await {
                    Ok(meta) => {
                        landed[i] = Some(Landed {
                            partition: meta.partition_id(),
                            offset: u64::try_from(meta.offset()).unwrap_or_default(),
                        });
                    }
                    Err(e) => failed = Some(format!("produce to {topic} not confirmed: {e:#}")),
                }
            }
            match failed {
                None => Ok(()),
                Some(m) => Err(Attempt::Transient(m)),
            }
        }
    })
    .await?;
    let landed = landed.lock().await;
    // Every slot is filled once the retry loop succeeded.
    Ok(landed.iter().flatten().copied().collect())
}
