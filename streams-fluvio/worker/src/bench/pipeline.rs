//! The pipeline phase of `bench fluvio`: the pipelines over pre-loaded topics of a
//! given partition count, one runner thread per partition.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use sellout_ingest::catalog::Catalog;
use sellout_ingest::records::{AnyRecord, Topic, wire};
use sellout_streams::{Batch, Transport};
use sellout_streams_fluvio::{FluvioTransport, TransportStats};

use super::{BenchError, CHUNK, delete_topics, rate, streams};
use crate::config::{PartitionSet, WorkerConfig};
use crate::namespace::Namespaced;
use crate::worker::Worker;

/// The pipelines over `parts` partitions pre-loaded with `records`: records per
/// second, records per partition, and what the transport repaired.
pub(super) fn pipeline(
    config: &WorkerConfig,
    parts: u32,
    tag: u32,
    catalog: &Arc<Catalog>,
    records: &[AnyRecord],
) -> Result<(f64, Vec<u64>, TransportStats), BenchError> {
    let mut cfg = config.fluvio.clone();
    cfg.topic.partitions = parts;
    let transport = FluvioTransport::connect(cfg).map_err(streams)?;
    let prefix = format!("bp{parts}-{tag}-");
    let mut counts = vec![0u64; parts as usize];
    for chunk in records.chunks(CHUNK) {
        let mut per_topic: BTreeMap<usize, Batch> = BTreeMap::new();
        for r in chunk {
            let slot = Topic::ALL.iter().position(|t| *t == r.topic()).unwrap_or(0);
            per_topic
                .entry(slot)
                .or_default()
                .push_with(r.key().as_bytes(), r.time(), |buf| {
                    wire::encode_any_into(r, buf)
                });
        }
        for (slot, b) in per_topic {
            let name = format!("{prefix}{}", Topic::ALL[slot].as_str());
            for l in transport.append_routed(&name, &b).map_err(streams)? {
                counts[l.partition as usize] += 1;
            }
        }
    }
    // Every topic the runners touch exists before the clock starts, as it does in a
    // deployment: creating one (an SC round trip, then waiting for the SPU's replica)
    // costs hundreds of milliseconds, once, whatever the partition count, and would
    // otherwise be timed as pipeline work.
    let outputs = [
        sellout_pipelines::output::SIGNALS_TOPIC,
        sellout_pipelines::output::FEATURES_TOPIC,
        sellout_pipelines::output::LATE_TOPIC,
        sellout_ingest::erasure::TOPIC,
    ];
    for name in Topic::ALL.iter().map(|t| t.as_str()).chain(outputs) {
        transport
            .partitions(&format!("{prefix}{name}"))
            .map_err(streams)?;
    }
    // The checkpoint topic too (shared by every consumer).
    transport.ensure_checkpoint_topic().map_err(streams)?;
    let dir = std::env::temp_dir().join(format!("sellout-fluvio-bench-{tag}-{parts}"));
    let _ = std::fs::remove_dir_all(&dir);
    // One connection per partition, as separate workers would have.
    if parts == 0 {
        return Err(BenchError::Streams(
            "a phase needs at least one partition".into(),
        ));
    }
    let mut each = Vec::with_capacity(parts as usize);
    for _ in 0..parts {
        let mut cfg = config.fluvio.clone();
        cfg.topic.partitions = parts;
        each.push(FluvioTransport::connect(cfg).map_err(streams)?);
    }
    let worker = {
        let prefix = prefix.clone();
        let fallback = transport.clone();
        Worker::new(
            config.pipelines.clone(),
            dir.clone(),
            catalog.clone(),
            PartitionSet::all(parts),
            Arc::new(move |p| {
                let t = each.get(p as usize).unwrap_or(&fallback);
                Arc::new(Namespaced::new(t.partition(p), prefix.clone())) as Arc<dyn Transport>
            }),
        )
    };
    let end = worker.input_end(parts).map_err(streams)?;
    let started = Instant::now();
    let reports = worker.drain(end).map_err(streams)?;
    let secs = started.elapsed().as_secs_f64();
    let processed: u64 = reports.values().map(|r| r.totals.records).sum();
    let _ = std::fs::remove_dir_all(&dir);
    let stats = transport.stats();
    delete_topics(&transport, &prefix);
    if processed != records.len() as u64 {
        return Err(BenchError::Streams(format!(
            "the pipelines processed {processed} of {} records",
            records.len()
        )));
    }
    Ok((rate(processed, secs), counts, stats))
}
