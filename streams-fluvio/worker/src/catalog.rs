//! The live catalog of a Fluvio process: `catalog.json` of the data directory as the
//! base, and the one-partition `catalog` topic on the cluster applied on top of it, in
//! order ([`sellout_ingest::live_catalog`]). An ingest node appends admin edits to the
//! topic; every worker follows it, so a new event, category or capacity reaches the
//! pipelines of every machine without a restart.
//!
//! The topic has one partition whatever `[fluvio.topic] partitions` says: every
//! process reads it whole and in order (created so when missing; a partitioned
//! `catalog` topic is refused at start).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use sellout_ingest::catalog::Catalog;
use sellout_ingest::live_catalog::{CATALOG_TOPIC, LiveCatalog};
use sellout_streams::Transport;
use sellout_streams_fluvio::FluvioTransport;

use crate::shutdown::Shutdown;

/// Why the live catalog could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum CatalogSetupError {
    /// `catalog.json` is unreadable or inconsistent.
    #[error("cannot load the catalog {path}: {why}")]
    Base {
        /// The file.
        path: String,
        /// What is wrong with it.
        why: String,
    },
    /// The topic could not be opened or read.
    #[error("catalog topic {topic}: {why}")]
    Topic {
        /// The topic's name on the cluster.
        topic: String,
        /// What failed.
        why: String,
    },
}

/// The catalog file at `path`, or an empty catalog with a warning when there is none.
pub fn load_base(path: &Path) -> Result<Catalog, CatalogSetupError> {
    if !path.exists() {
        tracing::warn!(
            message = "No catalog in the data directory: only the catalog topic's events are \
                       known. Copy the catalog.json of the ingesting server there.",
            path = %path.display()
        );
        return Ok(Catalog::default());
    }
    Catalog::load(path).map_err(|e| CatalogSetupError::Base {
        path: path.display().to_string(),
        why: e.to_string(),
    })
}

/// Opens the catalog topic `prefix` + `catalog` with one partition (creating it so when
/// missing), refusing one with several.
pub fn open_topic(fluvio: &FluvioTransport, prefix: &str) -> Result<(), CatalogSetupError> {
    let topic = format!("{prefix}{CATALOG_TOPIC}");
    match fluvio.ensure_topic(&topic, 1) {
        Ok(1) => Ok(()),
        Ok(n) => Err(CatalogSetupError::Topic {
            topic,
            why: format!(
                "it has {n} partitions; it needs one (every process reads it whole, in order)"
            ),
        }),
        Err(e) => Err(CatalogSetupError::Topic {
            topic,
            why: e.to_string(),
        }),
    }
}

/// A live catalog over `base`, caught up with the topic `topics` names `catalog`.
pub fn live(base: Catalog, topics: &dyn Transport) -> Result<Arc<LiveCatalog>, CatalogSetupError> {
    let live = Arc::new(LiveCatalog::new(base));
    live.catch_up(topics)
        .map_err(|e| CatalogSetupError::Topic {
            topic: CATALOG_TOPIC.to_owned(),
            why: e.to_string(),
        })?;
    Ok(live)
}

/// Applies what is appended to the catalog topic every `every` until `shutdown`; a
/// failed read is logged and tried again at the next turn.
pub fn follow(live: &LiveCatalog, topics: &dyn Transport, every: Duration, shutdown: &Shutdown) {
    let mut failing = false;
    loop {
        match live.catch_up(topics) {
            Ok(applied) => {
                if applied > 0 {
                    tracing::info!(
                        message = "Catalog changes applied.",
                        applied,
                        version = live.version()
                    );
                }
                failing = false;
            }
            Err(error) => {
                // Once per failing spell, not once per turn.
                if !failing {
                    tracing::warn!(message = "Cannot read the catalog topic; retrying.", %error);
                }
                failing = true;
            }
        }
        if shutdown.wait(every) {
            return;
        }
    }
}
