//! Appends: every record of a batch produced, every produce confirmed.
//!
//! Records are handed to the topic's producer one by one (it groups them per partition
//! into batches of `producer.batch_bytes`, waiting up to `producer.linger_ms`), the
//! producer is flushed, and each record's `ProduceOutput` is awaited with `.wait()`:
//! only that confirms delivery. Records not confirmed are sent again after a reconnect,
//! in their original order, up to `retry.attempts` times, except those found stored
//! already under their tag (see [`append`]): a confirmation lost with a restarting SPU
//! does not store a record twice. Before a re-send looks, every answer of the failed
//! attempt is awaited ([`confirm`]): the client sends what it holds once it reconnects.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use fluvio::dataplane::record::RecordData;
use fluvio::{ProduceOutput, RecordKey, TopicProducerPool};
use sellout_streams::{Batch, Offset, RecordView};
use tokio::sync::Mutex;

use crate::session::{Attempt, Conn, Session};
use crate::{codec, reader, routing};

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

/// The records of a batch as the producer takes them: untagged keys, and values in
/// the batch layout (the raw benchmark's records; appends tag theirs in [`outgoing`]).
pub(crate) fn to_records(batch: &Batch) -> Vec<(RecordData, RecordData)> {
    batch
        .iter(0)
        .map(|r| {
            (
                RecordData::from(r.key.to_vec()),
                RecordData::from(value_of(&r)),
            )
        })
        .collect()
}

/// One record's Fluvio value: the record in the batch layout.
fn value_of(r: &RecordView<'_>) -> Vec<u8> {
    let mut value =
        Vec::with_capacity(sellout_streams::batch::RECORD_OVERHEAD + r.key.len() + r.value.len());
    codec::encode_into(&mut value, r);
    value
}

/// One record on its way: its tagged Fluvio key, value, partition and tag.
pub(crate) struct Outgoing {
    key: RecordData,
    value: RecordData,
    /// The partition it goes to.
    pub(crate) partition: u32,
    /// The sequence number of its tag.
    pub(crate) seq: u64,
}

impl Outgoing {
    fn of(r: &RecordView<'_>, (producer, seq): (u64, u64), partition: u32) -> Self {
        Self {
            key: RecordData::from(codec::tagged_key(r.key, (producer, seq))),
            value: RecordData::from(value_of(r)),
            partition,
            seq,
        }
    }
}

/// Produces `batch` to `topic` and returns where each record landed, in record order.
///
/// Every record gets a tag (this process's producer id and a sequence number) in its
/// Fluvio key. Fluvio has no idempotent producer and an answer lost with a restarting
/// SPU leaves records of unknown fate; the client is told never to re-send, and before
/// this writer sends again it reads the partitions from below anything unconfirmed
/// (a floor kept per partition) and takes the records it finds with its tags as landed.
/// Nothing is stored twice by a re-send, nothing is lost.
pub(crate) async fn append(
    conn: &Conn,
    topic: &str,
    target: Target,
    batch: &Batch,
) -> Result<Vec<Landed>, crate::FluvioError> {
    let partitions = match conn.cached_partitions(topic) {
        Some(p) => p,
        None => conn.partitions(topic).await?,
    };
    let outgoing = outgoing(conn, partitions, target, batch);
    fix_floors(conn, topic, &outgoing).await?;
    let outgoing = Arc::new(outgoing);
    let landed = Arc::new(Mutex::new(vec![None; outgoing.len()]));
    deliver(conn, topic, target, &outgoing, &landed, false).await?;
    let landed = landed.lock().await;
    Ok(confirmed(conn, topic, &landed))
}

/// The records of `batch` as sent to a topic of `partitions` partitions: each tagged
/// and routed for `target`. Needs no runtime: a caller may build them on its own
/// thread while earlier ones are being sent.
pub(crate) fn outgoing(
    conn: &Conn,
    partitions: u32,
    target: Target,
    batch: &Batch,
) -> Vec<Outgoing> {
    batch
        .iter(0)
        .map(|r| {
            let partition = match target {
                Target::Partition(p) => p,
                Target::ByKey => routing::partition_of(r.key, partitions),
            };
            Outgoing::of(&r, conn.next_tag(), partition)
        })
        .collect()
}

/// The records of `batches` again, with the partition and sequence number each was
/// given the first time (`tags`, in record order): for a delivery after a first send
/// that gave them away.
pub(crate) fn retagged(conn: &Conn, batches: &[Batch], tags: &[(u32, u64)]) -> Vec<Outgoing> {
    batches
        .iter()
        .flat_map(|b| b.iter(0))
        .zip(tags)
        .map(|(r, &(partition, seq))| Outgoing::of(&r, (conn.producer_id(), seq), partition))
        .collect()
}

/// Fixes a floor for each partition `outgoing` goes to that has none yet: where a
/// re-send would start looking, below anything of theirs. Before they are sent.
pub(crate) async fn fix_floors(
    conn: &Conn,
    topic: &str,
    outgoing: &[Outgoing],
) -> Result<(), crate::FluvioError> {
    let mut targets: Vec<u32> = outgoing.iter().map(|o| o.partition).collect();
    targets.sort_unstable();
    targets.dedup();
    for p in targets {
        if conn.floor(topic, p).is_none() {
            let end = reader::offsets(conn, topic, p).await?.end;
            conn.raise_floor(topic, p, end);
        }
    }
    Ok(())
}

/// Gives each record of `outgoing` (numbered from `first`) to `producer`, in order,
/// pushing the pending answer of each onto `outputs` by its number. The records are
/// gone afterwards ([`retagged`] builds them again for a re-send).
pub(crate) async fn send_owned(
    producer: &TopicProducerPool,
    topic: &str,
    outgoing: Vec<Outgoing>,
    first: usize,
    outputs: &mut Vec<(usize, ProduceOutput)>,
) -> Result<(), Attempt> {
    let records = outgoing
        .into_iter()
        .enumerate()
        .map(|(i, o)| (first + i, o.key, o.value));
    send_each(producer, topic, records, outputs).await
}

/// Hands each (number, key, value) of `records` to `producer`, in order, pushing its
/// pending answer onto `outputs` as it goes: when a send fails, the answers of what
/// was handed over before it are there to be awaited ([`confirm`]).
async fn send_each(
    producer: &TopicProducerPool,
    topic: &str,
    records: impl Iterator<Item = (usize, RecordData, RecordData)>,
    outputs: &mut Vec<(usize, ProduceOutput)>,
) -> Result<(), Attempt> {
    for (i, key, value) in records {
        let out = producer
            .send(RecordKey::from(key), value)
            .await
            .map_err(|e| Attempt::Transient(format!("send to {topic}: {e:#}")))?;
        outputs.push((i, out));
    }
    Ok(())
}

/// Flushes `producer` and awaits every answer of `outputs` (all of them within
/// `settle`), marking what landed; an error when the flush failed or any record was not
/// confirmed (those stay unmarked).
///
/// The answers are awaited even after a failed flush: the client's partition producers
/// reconnect by themselves and send the batches they hold, even once their pool is
/// dropped, so a record left unsettled could land after a re-send looked for it and be
/// stored twice. Only one unanswered past `settle` can still do that.
pub(crate) async fn confirm(
    producer: &TopicProducerPool,
    topic: &str,
    outputs: Vec<(usize, ProduceOutput)>,
    landed: &mut [Option<Landed>],
    settle: Duration,
) -> Result<(), Attempt> {
    let flushed = producer
        .flush()
        .await
        .map_err(|e| Attempt::Transient(format!("flush to {topic}: {e:#}")));
    let deadline = tokio::time::Instant::now() + settle;
    let mut failed = None;
    for (i, out) in outputs {
        let Ok(answer) = tokio::time::timeout_at(deadline, out.wait()).await else {
            failed = Some(format!("produce to {topic} unanswered after {settle:?}"));
            continue;
        };
        match answer {
            Ok(meta) => {
                if let Some(l) = landed.get_mut(i) {
                    *l = Some(Landed {
                        partition: meta.partition_id(),
                        offset: u64::try_from(meta.offset()).unwrap_or_default(),
                    });
                }
            }
            Err(e) => failed = Some(format!("produce to {topic} not confirmed: {e:#}")),
        }
    }
    flushed?;
    match failed {
        None => Ok(()),
        Some(m) => Err(Attempt::Transient(m)),
    }
}

/// Sends every record of `outgoing` not marked in `landed` and awaits its answer,
/// reconnecting and trying again up to the configured attempts. `sent`: records may
/// have been sent before (their fate unknown), so the first attempt too looks for what
/// landed before sending anything.
pub(crate) async fn deliver(
    conn: &Conn,
    topic: &str,
    target: Target,
    outgoing: &Arc<Vec<Outgoing>>,
    landed: &Arc<Mutex<Vec<Option<Landed>>>>,
    sent: bool,
) -> Result<(), crate::FluvioError> {
    let sent = Arc::new(AtomicBool::new(sent));
    let cfg = conn.config().clone();
    let settle = Duration::from_millis(cfg.producer.timeout_ms);
    conn.retry(&format!("append to {topic}"), |s| {
        let outgoing = outgoing.clone();
        let landed = landed.clone();
        let sent = sent.clone();
        let cfg = cfg.clone();
        async move {
            let producer = s.producer(topic, target, &cfg).await?;
            let mut landed = landed.lock().await;
            if sent.swap(true, Ordering::AcqRel) {
                let found = find_landed(&s, conn, topic, &outgoing, &mut landed).await?;
                if found > 0 {
                    conn.count_resends_avoided(found);
                    tracing::info!(
                        message =
                            "Records of a failed produce were stored; not sending them again.",
                        topic,
                        records = found
                    );
                }
            }
            let mut outputs = Vec::new();
            let unlanded = outgoing
                .iter()
                .zip(landed.iter())
                .enumerate()
                .filter(|(_, (_, l))| l.is_none())
                .map(|(i, (o, _))| (i, o.key.clone(), o.value.clone()));
            let sent = send_each(&producer, topic, unlanded, &mut outputs).await;
            // What was handed over is settled even when a send failed.
            let confirmed = confirm(&producer, topic, outputs, &mut landed, settle).await;
            sent.and(confirmed)
        }
    })
    .await
}

/// Where every record of a delivered append landed, in record order, after raising
/// each partition's floor above them: later records land above.
pub(crate) fn confirmed(conn: &Conn, topic: &str, landed: &[Option<Landed>]) -> Vec<Landed> {
    let landed: Vec<Landed> = landed.iter().flatten().copied().collect();
    let mut tops: Vec<(u32, Offset)> = Vec::new();
    for l in &landed {
        match tops.iter_mut().find(|(p, _)| *p == l.partition) {
            Some((_, top)) => *top = (*top).max(l.offset + 1),
            None => tops.push((l.partition, l.offset + 1)),
        }
    }
    for (p, top) in tops {
        conn.raise_floor(topic, p, top);
    }
    landed
}

/// Marks as landed the records of `outgoing` found stored in their partitions (from
/// each partition's floor to its end) under this process's tags; returns how many.
async fn find_landed(
    s: &Session,
    conn: &Conn,
    topic: &str,
    outgoing: &[Outgoing],
    landed: &mut [Option<Landed>],
) -> Result<u64, Attempt> {
    let mut partitions: Vec<u32> = outgoing
        .iter()
        .zip(landed.iter())
        .filter(|(_, l)| l.is_none())
        .map(|(o, _)| o.partition)
        .collect();
    partitions.sort_unstable();
    partitions.dedup();
    let mut found = 0;
    for p in partitions {
        let from = conn.floor(topic, p).unwrap_or(0);
        let stored = reader::tags_from(s, conn, topic, p, from).await?;
        for (i, o) in outgoing.iter().enumerate() {
            if landed[i].is_some() || o.partition != p {
                continue;
            }
            if let Some(&offset) = stored.get(&(conn.producer_id(), o.seq)) {
                landed[i] = Some(Landed {
                    partition: p,
                    offset,
                });
                found += 1;
            }
        }
    }
    Ok(found)
}
