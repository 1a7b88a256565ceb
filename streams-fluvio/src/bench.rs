//! The Fluvio benchmark: in one run, the raw `fluvio` client producing the same bytes
//! the transport produces, the transport's append path, and read throughput with one
//! consumer thread per partition for each partition count asked for.
//!
//! Every phase writes its own fresh topic (named after the process id) and deletes it
//! afterwards. Durations are measured with `Instant`, the benchmark's own clock.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use fluvio::dataplane::record::RecordData;
use fluvio::{Fluvio, FluvioClusterConfig, RecordKey, TopicProducerConfigBuilder};
use sellout_streams::{Batch, StreamError, Transport};
use serde::{Deserialize, Serialize};

use crate::config::FluvioConfig;
use crate::error::FluvioError;
use crate::transport::FluvioTransport;
use crate::{codec, writer};

/// Records per transport append.
const APPEND_BATCH: usize = 10_000;
/// Distinct event ids the records are keyed by.
const EVENTS: u64 = 1_000;
/// Read size per transport read.
const READ_BYTES: usize = 4 << 20;

/// What one benchmark run measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BenchReport {
    /// Records written per phase.
    pub records: u64,
    /// Bytes of one Fluvio record value (the record in the batch layout).
    pub value_bytes: usize,
    /// The raw client producing the same keys and values, every produce confirmed.
    pub raw_produce_records_per_sec: f64,
    /// The transport's append path (batches of 10,000), every produce confirmed.
    pub ingest_records_per_sec: f64,
    /// `ingest_records_per_sec / raw_produce_records_per_sec`.
    pub ingest_vs_raw: f64,
    /// Read throughput (all partitions together) by partition count, one consumer
    /// thread per partition, every offset checked.
    pub read_records_per_sec_by_partitions: BTreeMap<u32, f64>,
    /// Gaps the transport re-fetched during the run (reads of every phase).
    pub gap_refetches: u64,
    /// Reconnects during the run.
    pub reconnects: u64,
}

/// The `i`th benchmark record: key `evt-{i % 1000}`, time `i`, a 32-byte value.
fn record(batch: &mut Batch, i: u64) {
    let key = format!("evt-{}", i % EVENTS);
    let mut value = [0u8; 32];
    value[..8].copy_from_slice(&i.to_le_bytes());
    batch.push(key.as_bytes(), i as i64, &value);
}

/// Runs the benchmark against the cluster of `config` with `records` records per phase.
pub fn run(
    config: &FluvioConfig,
    records: u64,
    partitions: &[u32],
) -> Result<BenchReport, FluvioError> {
    let tag = std::process::id();
    let mut cfg = config.clone();
    cfg.topic.partitions = partitions.iter().copied().max().unwrap_or(1).max(1);
    let transport = FluvioTransport::connect(cfg.clone())?;

    let mut batches = Vec::new();
    let mut i = 0;
    while i < records {
        let mut b = Batch::with_capacity(APPEND_BATCH * 64);
        while i < records && b.len() < APPEND_BATCH as u32 {
            record(&mut b, i);
            i += 1;
        }
        batches.push(b);
    }
    let value_bytes = batches
        .first()
        .map_or(0, |b| b.bytes().len() / b.len().max(1) as usize);

    // Raw client: same keys and values, one producer, confirm every record.
    let raw_topic = format!("bench-raw-{tag}");
    transport.partitions(&raw_topic)?;
    let raw_secs = raw_produce(&cfg, batches.iter().map(|b| (raw_topic.as_str(), b)))?;
    transport.delete_topic(&raw_topic)?;

    // Transport append path.
    let ingest_topic = format!("bench-ingest-{tag}");
    transport.partitions(&ingest_topic)?;
    let started = Instant::now();
    for b in &batches {
        transport.append(&ingest_topic, b)?;
    }
    let ingest_secs = started.elapsed().as_secs_f64();
    transport.delete_topic(&ingest_topic)?;

    let mut by_partitions = BTreeMap::new();
    let mut repaired = transport.stats();
    for &n in partitions {
        let mut c = cfg.clone();
        c.topic.partitions = n.max(1);
        let t = FluvioTransport::connect(c)?;
        let topic = format!("bench-read-{n}-{tag}");
        let mut per_partition = vec![0u64; n.max(1) as usize];
        for b in &batches {
            for l in t.append_routed(&topic, b)? {
                per_partition[l.partition as usize] += 1;
            }
        }
        let secs = read_all(&t, &topic, &per_partition)?;
        by_partitions.insert(n, rate(records, secs));
        t.delete_topic(&topic)?;
        repaired.gap_refetches += t.stats().gap_refetches;
        repaired.reconnects += t.stats().reconnects;
    }

    let raw_rate = rate(records, raw_secs);
    let ingest_rate = rate(records, ingest_secs);
    Ok(BenchReport {
        records,
        value_bytes,
        raw_produce_records_per_sec: raw_rate,
        ingest_records_per_sec: ingest_rate,
        ingest_vs_raw: if raw_rate > 0.0 {
            ingest_rate / raw_rate
        } else {
            0.0
        },
        read_records_per_sec_by_partitions: by_partitions,
        gap_refetches: repaired.gap_refetches,
        reconnects: repaired.reconnects,
    })
}

/// Records per second (0 for no time: a phase too short to time).
pub fn rate(records: u64, secs: f64) -> f64 {
    if secs > 0.0 {
        records as f64 / secs
    } else {
        0.0
    }
}

/// Reads every partition of `topic` on its own thread until it holds `expected[p]`
/// records; the wall time of the slowest.
fn read_all(t: &FluvioTransport, topic: &str, expected: &[u64]) -> Result<f64, FluvioError> {
    let started = Instant::now();
    let results: Vec<Result<u64, FluvioError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = expected
            .iter()
            .enumerate()
            .map(|(p, &want)| {
                let view = t.partition(p as u32);
                scope.spawn(move || -> Result<u64, FluvioError> {
                    let mut next = 0;
                    while next < want {
                        let f = view.read(topic, next, READ_BYTES)?;
                        if f.is_empty() {
                            return Err(FluvioError::Stream(StreamError::Unavailable(format!(
                                "bench topic {topic} partition {p} ended at {next} of {want}"
                            ))));
                        }
                        next = f.next_offset();
                    }
                    Ok(next)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(FluvioError::Runtime("reader thread panicked".to_owned()))
                })
            })
            .collect()
    });
    for r in results {
        r?;
    }
    Ok(started.elapsed().as_secs_f64())
}

/// Produces each `(topic, batch)` in turn with the raw client, one producer per topic
/// (the transport's keys and values, byte for byte), waiting for every confirmation
/// of a batch before the next: what the transport's appends do, without the
/// transport. Seconds from the first send to the last confirmation.
pub fn raw_produce<'a>(
    cfg: &FluvioConfig,
    appends: impl IntoIterator<Item = (&'a str, &'a Batch)>,
) -> Result<f64, FluvioError> {
    raw_produce_concurrently(cfg, vec![appends.into_iter().collect()])
}

/// As [`raw_produce`] for several senders at once: each list of appends is produced in
/// turn by a task of its own with producers of its own (two tasks sharing a producer
/// made the 0.50 client build a request over its own size limit), the tasks running
/// together on two threads. Seconds from the first send to the last confirmation of
/// any sender.
pub fn raw_produce_concurrently(
    cfg: &FluvioConfig,
    senders: Vec<Vec<(&str, &Batch)>>,
) -> Result<f64, FluvioError> {
    // The same bytes as the transport's: keys carry a tag of the same size.
    let mut seq = 0u64;
    let senders: Vec<SenderAppends> = senders
        .into_iter()
        .map(|appends| {
            appends
                .into_iter()
                .map(|(t, b)| {
                    let records = writer::to_records(b)
                        .into_iter()
                        .map(|(k, v)| {
                            seq += 1;
                            (RecordData::from(codec::tagged_key(k.as_ref(), (0, seq))), v)
                        })
                        .collect();
                    (t.to_owned(), records)
                })
                .collect()
        })
        .collect();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| FluvioError::Runtime(e.to_string()))?;
    let endpoint = cfg.endpoint.clone();
    let producer_cfg = || {
        TopicProducerConfigBuilder::default()
            .batch_size(cfg.producer.batch_bytes)
            .max_request_size(cfg.producer.batch_bytes.max(1 << 20))
            .linger(Duration::from_millis(cfg.producer.linger_ms))
            .build()
            .map_err(|e| raw_failed("config", e.to_string()))
    };
    let configs = senders
        .iter()
        .map(|appends| {
            let mut topics: Vec<String> = appends.iter().map(|(t, _)| t.clone()).collect();
            topics.sort();
            topics.dedup();
            topics
                .into_iter()
                .map(|t| Ok((t, producer_cfg()?)))
                .collect::<Result<Vec<_>, FluvioError>>()
        })
        .collect::<Result<Vec<_>, FluvioError>>()?;
    let secs = rt.block_on(async move {
        let fluvio = Fluvio::connect_with_config(&FluvioClusterConfig::new(endpoint))
            .await
            .map_err(|e| raw_failed("connect", format!("{e:#}")))?;
        let mut producers = Vec::new();
        for mine in configs {
            let mut by_topic = std::collections::HashMap::new();
            for (topic, config) in mine {
                let p = fluvio
                    .topic_producer_with_config(&topic, config)
                    .await
                    .map_err(|e| raw_failed("producer", format!("{e:#}")))?;
                by_topic.insert(topic, p);
            }
            producers.push(by_topic);
        }
        let started = Instant::now();
        let tasks: Vec<_> = senders
            .into_iter()
            .zip(producers)
            .map(|(appends, mine)| tokio::spawn(produce_in_turn(mine, appends)))
            .collect();
        for task in tasks {
            task.await
                .map_err(|e| raw_failed("sender", e.to_string()))??;
        }
        Ok::<_, FluvioError>(started.elapsed().as_secs_f64())
    })?;
    rt.shutdown_background();
    Ok(secs)
}

/// One raw sender's appends: each topic with its records, tagged keys and values.
type SenderAppends = Vec<(String, Vec<(RecordData, RecordData)>)>;

/// One raw sender: each batch sent, flushed and confirmed before the next.
async fn produce_in_turn(
    producers: std::collections::HashMap<String, fluvio::TopicProducerPool>,
    appends: SenderAppends,
) -> Result<(), FluvioError> {
    for (topic, batch) in appends {
        let Some(producer) = producers.get(&topic) else {
            continue;
        };
        let mut outs = Vec::with_capacity(batch.len());
        for (k, v) in batch {
            outs.push(
                producer
                    .send(RecordKey::from(k), v)
                    .await
                    .map_err(|e| raw_failed("send", format!("{e:#}")))?,
            );
        }
        producer
            .flush()
            .await
            .map_err(|e| raw_failed("flush", format!("{e:#}")))?;
        for o in outs {
            o.wait()
                .await
                .map_err(|e| raw_failed("wait", format!("{e:#}")))?;
        }
    }
    Ok(())
}

fn raw_failed(what: &str, e: String) -> FluvioError {
    FluvioError::Cluster {
        what: format!("raw produce: {what}"),
        attempts: 1,
        last: e,
    }
}
