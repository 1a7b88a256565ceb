//! Reads of one partition: bounded, non-continuous fetches checked for contiguity.
//!
//! A read opens a non-continuous consumer stream at the expected offset (the client
//! asks the SPU for the partition's offsets first and stops at the end it saw, so a read
//! at the end returns at once), takes records until `max_bytes`, and hands them to
//! [`crate::contiguity`]. The client's own reconnect loop is disabled: the transport's
//! retry loop reconnects and re-reads from the same offset, which is what makes a
//! restarted SPU cost nothing but time.
//!
//! Right after an SPU restart, reads may come back empty for a moment: the SPU reports
//! its end before it has recovered its log. The caller sees what it sees at the end of
//! a stream and polls again; nothing is skipped (an offset below the expected one is
//! dropped as a repeat, one above it is a gap).

use std::collections::HashMap;
use std::time::Duration;

use fluvio::consumer::{ConsumerConfigExt, RetryMode};
use fluvio::{Fluvio, Offset as FluvioOffset};
use futures_util::StreamExt;
use sellout_streams::transport::FetchedBatch;
use sellout_streams::{Fetched, Offset, TopicOffsets};

use crate::contiguity::fetch_contiguous;
use crate::session::{Attempt, Conn, Session};

/// Reads `topic`/`partition` from `from`, about `max_bytes` of records, contiguous.
pub(crate) async fn read(
    conn: &Conn,
    topic: &str,
    partition: u32,
    from: Offset,
    max_bytes: usize,
) -> Result<Fetched, crate::FluvioError> {
    let cfg = conn.config();
    let cap = cfg.consumer.max_fetch_bytes;
    let max_bytes = max_bytes.clamp(1, cap as usize);
    // Ask the SPU for a little more than the caller wants (whole batches come back), but
    // never less than 1 MiB nor more than the configured cap.
    let fetch_bytes = u32::try_from(max_bytes.saturating_mul(2))
        .unwrap_or(u32::MAX)
        .clamp(1 << 20, cap.max(1 << 20));
    let refetches = cfg.consumer.gap_refetches;
    let timeout = Duration::from_millis(cfg.consumer.timeout_ms);
    let asm = conn
        .retry(&format!("read of {topic}/{partition}"), |s| async move {
            fetch_contiguous(topic, partition, from, refetches, |at| {
                fetch_once(
                    &s.fluvio,
                    topic,
                    partition,
                    at,
                    max_bytes,
                    fetch_bytes,
                    timeout,
                )
            })
            .await
        })
        .await?;
    conn.count_refetches(asm.refetches());
    let (base_offset, count, bytes) = asm.into_parts();
    let batches = if count == 0 {
        Vec::new()
    } else {
        vec![FetchedBatch {
            base_offset,
            count: count as u32,
            bytes,
        }]
    };
    Ok(Fetched { from, batches })
}

/// One non-continuous fetch from `from`: `(offset, value)` pairs in arrival order.
async fn fetch_once(
    fluvio: &Fluvio,
    topic: &str,
    partition: u32,
    from: Offset,
    max_bytes: usize,
    fetch_bytes: u32,
    timeout: Duration,
) -> Result<Vec<(Offset, Vec<u8>)>, Attempt> {
    let start = i64::try_from(from)
        .ok()
        .and_then(|o| FluvioOffset::absolute(o).ok())
        .ok_or_else(|| Attempt::Transient(format!("offset {from} out of range")))?;
    fetch_at(
        fluvio,
        topic,
        partition,
        start,
        max_bytes,
        fetch_bytes,
        timeout,
    )
    .await
}

#[allow(clippy::too_many_arguments)]
async fn fetch_at(
    fluvio: &Fluvio,
    topic: &str,
    partition: u32,
    start: FluvioOffset,
    max_bytes: usize,
    fetch_bytes: u32,
    timeout: Duration,
) -> Result<Vec<(Offset, Vec<u8>)>, Attempt> {
    let config = ConsumerConfigExt::builder()
        .topic(topic)
        .partition(partition)
        .offset_start(start)
        .disable_continuous(true)
        .max_bytes(fetch_bytes as i32)
        .retry_mode(RetryMode::Disabled)
        .build()
        .map_err(|e| Attempt::Transient(format!("consumer config: {e:#}")))?;
    let fetch = async {
        let mut stream = fluvio
            .consumer_with_config(config)
            .await
            .map_err(|e| Attempt::Transient(format!("open {topic}/{partition}: {e:#}")))?;
        let mut out = Vec::new();
        let mut bytes = 0usize;
        while let Some(item) = stream.next().await {
            let record =
                item.map_err(|e| Attempt::Transient(format!("fetch {topic}/{partition}: {e:?}")))?;
            let offset = u64::try_from(record.offset()).map_err(|_| {
                Attempt::Transient(format!("negative offset {} fetched", record.offset()))
            })?;
            bytes += record.value().len();
            out.push((offset, record.value().to_vec()));
            if bytes >= max_bytes {
                break;
            }
        }
        Ok(out)
    };
    tokio::time::timeout(timeout, fetch).await.map_err(|_| {
        Attempt::Transient(format!(
            "fetch of {topic}/{partition} timed out after {timeout:?}"
        ))
    })?
}

/// The retained range of `topic`/`partition`: the first record's offset and one past
/// the last one's (`0..0` when empty).
pub(crate) async fn offsets(
    conn: &Conn,
    topic: &str,
    partition: u32,
) -> Result<TopicOffsets, crate::FluvioError> {
    let timeout = Duration::from_millis(conn.config().consumer.timeout_ms);
    // One batch at each end is all this needs.
    let fetch_bytes = 1 << 20;
    conn.retry(&format!("offsets of {topic}/{partition}"), |s| async move {
        let first = fetch_at(
            &s.fluvio,
            topic,
            partition,
            FluvioOffset::beginning(),
            1,
            fetch_bytes,
            timeout,
        )
        .await?;
        let Some((start, _)) = first.first() else {
            return Ok(TopicOffsets::default());
        };
        let last = fetch_at(
            &s.fluvio,
            topic,
            partition,
            FluvioOffset::from_end(1),
            usize::MAX,
            fetch_bytes,
            timeout,
        )
        .await?;
        let end = last.iter().map(|(o, _)| o + 1).max().unwrap_or(*start + 1);
        Ok(TopicOffsets { start: *start, end })
    })
    .await
}

/// The tagged records of `topic`/`partition` from `from` to its end: tag → offset
/// (records without a tag are passed over). A writer's look before it sends again.
pub(crate) async fn tags_from(
    s: &Session,
    conn: &Conn,
    topic: &str,
    partition: u32,
    from: Offset,
) -> Result<HashMap<(u64, u64), Offset>, Attempt> {
    let timeout = Duration::from_millis(conn.config().consumer.timeout_ms);
    let fetch_bytes = conn.config().consumer.max_fetch_bytes.min(16 << 20) as i32;
    // A restarted SPU answers before it has recovered its log: an end below the floor
    // (or a scan that stops short of the end) means "not yet", never "not stored".
    let tail = fetch_at(
        &s.fluvio,
        topic,
        partition,
        FluvioOffset::from_end(1),
        usize::MAX,
        1 << 20,
        timeout,
    )
    .await?;
    let end = tail.iter().map(|(o, _)| o + 1).max().unwrap_or(0);
    if end < from {
        return Err(Attempt::Transient(format!(
            "{topic}/{partition} ends at {end}, below {from}: not recovered yet"
        )));
    }
    let mut tags = HashMap::new();
    let mut next = from;
    loop {
        let start = i64::try_from(next)
            .ok()
            .and_then(|o| FluvioOffset::absolute(o).ok())
            .ok_or_else(|| Attempt::Transient(format!("offset {next} out of range")))?;
        let config = ConsumerConfigExt::builder()
            .topic(topic)
            .partition(partition)
            .offset_start(start)
            .disable_continuous(true)
            .max_bytes(fetch_bytes)
            .retry_mode(RetryMode::Disabled)
            .build()
            .map_err(|e| Attempt::Transient(format!("consumer config: {e:#}")))?;
        let fetch = async {
            let mut stream = s
                .fluvio
                .consumer_with_config(config)
                .await
                .map_err(|e| Attempt::Transient(format!("open {topic}/{partition}: {e:#}")))?;
            let mut last = None;
            while let Some(item) = stream.next().await {
                let record = item
                    .map_err(|e| Attempt::Transient(format!("fetch {topic}/{partition}: {e:?}")))?;
                let Ok(offset) = u64::try_from(record.offset()) else {
                    continue;
                };
                if let Some(tag) = record.key().and_then(crate::codec::tag) {
                    tags.insert(tag, offset);
                }
                last = Some(offset);
            }
            Ok::<_, Attempt>(last)
        };
        let last = tokio::time::timeout(timeout, fetch)
            .await
            .map_err(|_| Attempt::Transient(format!("scan of {topic}/{partition} timed out")))??;
        match last {
            Some(last) if last >= next => next = last + 1,
            _ if next < end => {
                return Err(Attempt::Transient(format!(
                    "scan of {topic}/{partition} stopped at {next} before its end {end}"
                )));
            }
            _ => return Ok(tags),
        }
    }
}
