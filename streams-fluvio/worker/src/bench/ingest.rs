//! The ingest phase of `bench fluvio`: sellout's ingest path into Fluvio, by one or
//! several concurrent senders into one `Ingestor`, as into one ingest node.

use std::sync::Arc;
use std::time::Instant;

use sellout_ingest::catalog::Catalog;
use sellout_ingest::deadletter;
use sellout_ingest::decode::{Decoded, DecodedRecord};
use sellout_ingest::dedup::Resends;
use sellout_ingest::ingestor::Ingestor;
use sellout_ingest::records::{AnyRecord, Topic};
use sellout_ingest::validate::{Limits, Validator};
use sellout_streams::{ManualClock, Transport};
use sellout_streams_fluvio::FluvioTransport;

use super::{BenchError, streams};
use crate::namespace::Namespaced;

/// Seconds sellout's ingest takes to validate, encode and append the chunks of every
/// sender (one thread each, all into one `Ingestor` as into one ingest node), with the
/// configured limits (`[limits]`; any record age accepted).
pub(super) fn ingest(
    transport: &FluvioTransport,
    prefix: &str,
    catalog: &Arc<Catalog>,
    limits: &Limits,
    senders: &[Vec<&[AnyRecord]>],
) -> Result<f64, BenchError> {
    let last = senders
        .iter()
        .flatten()
        .flat_map(|c| c.iter())
        .map(AnyRecord::time)
        .max()
        .unwrap_or(0);
    // The re-send window (`limits.dedup_window`, on by default) as on an ingest node:
    // refilled from every partition.
    let limits = Limits {
        max_age_s: i64::MAX / 4_000,
        ..limits.clone()
    };
    let target: Arc<dyn Transport> = Arc::new(Namespaced::new(transport.clone(), prefix));
    // Every topic ingest writes exists before the clock starts, as in a deployment (and
    // as for the raw client): creating one costs an SC round trip and a replica.
    let mut partitions = 0;
    for topic in Topic::ALL
        .iter()
        .map(|t| t.as_str())
        .chain([deadletter::TOPIC])
    {
        partitions = partitions.max(
            transport
                .partitions(&format!("{prefix}{topic}"))
                .map_err(streams)?,
        );
    }
    let parts: Vec<Namespaced<_>> = (0..partitions)
        .map(|p| Namespaced::new(transport.partition(p), prefix))
        .collect();
    let tails: Vec<&dyn Transport> = parts.iter().map(|p| p as &dyn Transport).collect();
    let resends = Resends::refill_parts(limits.dedup_window, &tails).map_err(streams)?;
    let ingestor = Ingestor::with_resends(
        target,
        Validator::new(catalog.clone(), limits),
        Arc::new(ManualClock::new(last)),
        resends,
    );
    let decoded: Vec<Vec<Decoded>> = senders
        .iter()
        .map(|chunks| {
            chunks
                .iter()
                .map(|c| Decoded {
                    records: c
                        .iter()
                        .enumerate()
                        .map(|(index, r)| DecodedRecord {
                            index,
                            record: r.clone(),
                            span: None,
                        })
                        .collect(),
                    rejected: Vec::new(),
                })
                .collect()
        })
        .collect();
    let started = Instant::now();
    let posted: Vec<Result<u64, BenchError>> = std::thread::scope(|scope| {
        let ingestor = &ingestor;
        let threads: Vec<_> = decoded
            .into_iter()
            .map(|mine| {
                scope.spawn(move || {
                    let mut accepted = 0;
                    for d in mine {
                        let report = ingestor.ingest(d, b"", "bench").map_err(streams)?;
                        // A simulated record identical to a recent one is a re-send:
                        // counted, not stored.
                        accepted += report.accepted + report.duplicates;
                    }
                    Ok(accepted)
                })
            })
            .collect();
        threads
            .into_iter()
            .map(|t| {
                t.join()
                    .unwrap_or_else(|_| Err(streams("an ingest sender panicked")))
            })
            .collect()
    });
    let secs = started.elapsed().as_secs_f64();
    let mut accepted = 0;
    for p in posted {
        accepted += p?;
    }
    let expected: usize = senders.iter().flatten().map(|c| c.len()).sum();
    if accepted != expected as u64 {
        return Err(BenchError::Streams(format!(
            "ingest accepted {accepted} of {expected} records (re-sends included)"
        )));
    }
    Ok(secs)
}
