//! The demo on a Fluvio cluster: fresh topics under a prefix of their own (the
//! checkpoint topic included), one connection per partition, then the topics and the
//! work directory deleted unless kept.

use std::sync::Arc;

use sellout_streams::{Clock, Transport};
use sellout_streams_fluvio::FluvioTransport;

use crate::config::WorkerConfig;
use crate::demo::{self, DemoError, DemoOptions, DemoStreams, DemoSummary};
use crate::namespace::Namespaced;

/// Runs the demo on the cluster of `config.fluvio` over topics of `partitions`
/// partitions named `<prefix><topic>`; deletes them afterwards unless `keep`.
pub fn run_on_cluster(
    config: &WorkerConfig,
    options: &DemoOptions,
    partitions: u32,
    keep: bool,
    wall: Arc<dyn Clock>,
) -> Result<DemoSummary, DemoError> {
    if partitions == 0 || partitions > 1024 {
        return Err(DemoError::Options(format!(
            "--partitions must be 1..=1024, got {partitions}"
        )));
    }
    // Lowercase letters, digits and '-' only (Fluvio topic names).
    let prefix = format!(
        "demo-{}-{}-",
        std::process::id(),
        wall.now_ms().rem_euclid(1_000_000_000)
    );
    let mut cfg = config.fluvio.clone();
    cfg.topic.partitions = partitions;
    cfg.checkpoint_topic = format!("{prefix}checkpoints");
    let cannot_reach = |e: sellout_streams_fluvio::FluvioError| {
        DemoError::Streams(format!(
            "cannot reach the Fluvio cluster at {} (fluvio.endpoint, --endpoint or \
             SELLOUT_FLUVIO): {e}",
            cfg.endpoint
        ))
    };
    let main = FluvioTransport::connect(cfg.clone()).map_err(cannot_reach)?;
    // One connection per partition, so partitions don't queue behind one client.
    let mut views: Vec<Arc<dyn Transport>> = Vec::with_capacity(partitions as usize);
    for p in 0..partitions {
        let t = FluvioTransport::connect(cfg.clone()).map_err(cannot_reach)?;
        views.push(Arc::new(Namespaced::new(t.partition(p), prefix.clone())));
    }
    let streams = DemoStreams {
        ingest: Arc::new(Namespaced::new(main.clone(), prefix.clone())),
        partitions: views,
    };
    let work_dir = demo::work_dir(&config.data_dir, &prefix);
    if options.progress {
        eprintln!(
            "demo: {} partitions on {}, topics {prefix}*",
            partitions, cfg.endpoint
        );
    }
    let result = demo::run(&streams, &work_dir, config.pipelines.clone(), options, wall);
    drop(streams);
    if keep {
        if let Err(e) = write_catalog(options, &work_dir) {
            tracing::warn!(message = "Catalog not written.", error = %e);
        }
    } else {
        if let Err(e) = main.delete_prefixed(&prefix) {
            tracing::warn!(message = "Cannot list the demo's topics to delete them.", error = %e);
        }
        if let Err(e) = std::fs::remove_dir_all(&work_dir) {
            tracing::debug!(message = "Work directory not removed.", error = %e);
        }
    }
    let mut summary = result?;
    summary.topic_prefix = prefix;
    summary.kept = keep;
    Ok(summary)
}

/// Writes the run's catalog beside its checkpoints, for a worker that follows the
/// kept topics later.
fn write_catalog(options: &DemoOptions, work_dir: &std::path::Path) -> Result<(), String> {
    let sim = sellout_simulator::Simulation::new(
        options.sim.clone(),
        Arc::new(sellout_simulator::ListPrices),
    )
    .map_err(|e| e.to_string())?;
    sim.catalog()
        .save(&work_dir.join("catalog.json"))
        .map_err(|e| e.to_string())
}
