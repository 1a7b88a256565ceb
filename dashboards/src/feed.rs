//! [`Feed`]: follows the topics the board shows (`sales`, `deadletter`, `signals`,
//! `features`, `prices`, `deliveries`) through any [`Transport`] from remembered
//! offsets, folds each record into the [`Board`], and optionally hands the matching
//! typed measurements to the InfluxDB sink.
//!
//! Each [`Feed::poll`] reads at most `max_bytes_per_topic` per topic and updates the
//! board once, so a caller polling in a loop keeps the board live under any rate
//! without holding its lock for long. Offsets live in memory: the board is a view, so a
//! restarted process replays from the retained start (records past retention are
//! counted in [`FeedStats::skipped`], never silently). Time is the records' event time;
//! nothing here reads a clock. Undecodable records are counted, never fatal.

use std::collections::BTreeMap;
use std::sync::Arc;

use sellout_ingest::catalog::Catalog;
use sellout_ingest::live_catalog::LiveCatalog;
use sellout_ingest::records::{SaleRecord, Topic, wire};
use sellout_models::train::ModelBundle;
use sellout_pipelines::output::{self, FEATURES_TOPIC, SIGNALS_TOPIC};
use sellout_pricing::change::{PRICES_TOPIC, PriceChange};
use sellout_streams::{Fetched, Offset, StreamError, Transport};

use crate::board::{Board, BoardState, DeliveryView};
use crate::sink::{Point, SendOutcome, SinkHandle};

/// The topics a feed follows, in the order it reads them.
pub const FEED_TOPICS: [&str; 6] = [
    "sales",
    sellout_ingest::deadletter::TOPIC,
    SIGNALS_TOPIC,
    FEATURES_TOPIC,
    PRICES_TOPIC,
    DELIVERIES_TOPIC,
];

/// The notifier's outcome topic (`sellout_notifier::delivery::DELIVERIES_TOPIC`).
pub const DELIVERIES_TOPIC: &str = "deliveries";

/// Where the feed gets events, categories, venues and zones.
#[derive(Debug, Clone)]
pub enum CatalogSource {
    /// A fixed catalog.
    Fixed(Arc<Catalog>),
    /// The process's live catalog: new events appear on the board at the next poll.
    Live(Arc<LiveCatalog>),
}

impl From<Arc<Catalog>> for CatalogSource {
    fn from(c: Arc<Catalog>) -> Self {
        CatalogSource::Fixed(c)
    }
}

impl From<Arc<LiveCatalog>> for CatalogSource {
    fn from(c: Arc<LiveCatalog>) -> Self {
        CatalogSource::Live(c)
    }
}

/// How much one poll reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeedConfig {
    /// Bytes read per topic per poll (at least one batch when there is one).
    pub max_bytes_per_topic: usize,
}

impl Default for FeedConfig {
    fn default() -> Self {
        Self {
            max_bytes_per_topic: 1 << 20,
        }
    }
}

/// What one poll did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FeedStats {
    /// Records read, per topic.
    pub records: BTreeMap<&'static str, u64>,
    /// Records that could not be decoded.
    pub undecodable: u64,
    /// Records no longer retained when the feed reached them.
    pub skipped: u64,
    /// Points handed to the sink.
    pub points_sent: u64,
    /// Points the sink did not keep.
    pub points_dropped: u64,
}

impl FeedStats {
    /// Records read over all topics.
    pub fn total(&self) -> u64 {
        self.records.values().sum()
    }
}

/// Why a poll failed (decoding problems never fail a poll).
#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    /// A topic could not be read.
    #[error("reading topic {topic}: {source}")]
    Read {
        /// The topic.
        topic: &'static str,
        /// The transport's error.
        #[source]
        source: StreamError,
    },
}

/// Follows the topics into a board (and a sink).
pub struct Feed {
    board: Arc<Board>,
    catalog: CatalogSource,
    catalog_version: Option<u64>,
    model: Option<Arc<ModelBundle>>,
    sink: Option<SinkHandle>,
    offsets: BTreeMap<&'static str, Offset>,
    accepted: u64,
    config: FeedConfig,
}

impl std::fmt::Debug for Feed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Feed")
            .field("offsets", &self.offsets)
            .field("model", &self.model.is_some())
            .field("sink", &self.sink.is_some())
            .finish()
    }
}

impl Feed {
    /// A feed into `board` from the start of every topic, without model or sink.
    pub fn new(board: Arc<Board>, catalog: impl Into<CatalogSource>) -> Self {
        Self {
            board,
            catalog: catalog.into(),
            catalog_version: None,
            model: None,
            sink: None,
            offsets: BTreeMap::new(),
            accepted: 0,
            config: FeedConfig::default(),
        }
    }

    /// Scores sell-out features with `model` (probabilities on the board and sink).
    pub fn with_model(mut self, model: Arc<ModelBundle>) -> Self {
        self.board.set_has_model(true);
        self.model = Some(model);
        self
    }

    /// Also hands typed measurements to the InfluxDB sink.
    pub fn with_sink(mut self, sink: SinkHandle) -> Self {
        self.sink = Some(sink);
        self
    }

    /// Changes how much one poll reads.
    pub fn with_config(mut self, config: FeedConfig) -> Self {
        self.config = config;
        self
    }

    /// The next offset the feed will read, per topic.
    pub fn offsets(&self) -> &BTreeMap<&'static str, Offset> {
        &self.offsets
    }

    /// The board it feeds.
    pub fn board(&self) -> &Arc<Board> {
        &self.board
    }

    /// Reads what is new on every topic (bounded per topic) and updates the board
    /// once. Call it in a loop; a poll returning `total() == 0` means caught up.
    pub fn poll(&mut self, transport: &dyn Transport) -> Result<FeedStats, FeedError> {
        let mut stats = FeedStats::default();
        let mut fetched = Vec::with_capacity(FEED_TOPICS.len());
        for topic in FEED_TOPICS {
            let from = self.offsets.get(topic).copied().unwrap_or(0);
            let data = match transport.read(topic, from, self.config.max_bytes_per_topic) {
                Err(StreamError::OffsetRetained { start, .. }) => {
                    stats.skipped += start.saturating_sub(from);
                    transport.read(topic, start, self.config.max_bytes_per_topic)
                }
                other => other,
            }
            .map_err(|source| FeedError::Read { topic, source })?;
            fetched.push((topic, data));
        }
        let mut accepted = 0;
        for topic in Topic::ALL {
            accepted += transport
                .offsets(topic.as_str())
                .map_err(|source| FeedError::Read {
                    topic: topic.as_str(),
                    source,
                })?
                .end;
        }
        let catalog = self.catalog_update();
        let model = self.model.clone();
        let mut points = Vec::new();
        let read: u64 = fetched
            .iter()
            .map(|(_, d)| d.records().count() as u64)
            .sum();
        let unchanged = read == 0 && catalog.is_none() && self.accepted == accepted;
        self.accepted = accepted;
        if unchanged {
            // Nothing new: live streams are not woken.
            return Ok(stats);
        }
        self.board.update(|state| {
            if let Some(catalog) = &catalog {
                state.sync_catalog(catalog);
            }
            state.counters.accepted_inputs = accepted;
            for (topic, data) in &fetched {
                let (read, bad) = apply_topic(state, topic, data, model.as_deref(), &mut points);
                *stats.records.entry(topic).or_default() += read;
                stats.undecodable += bad;
                state.counters.undecodable += bad;
            }
        });
        for (topic, data) in &fetched {
            self.offsets.insert(topic, data.next_offset());
        }
        if let Some(sink) = &self.sink {
            for point in &points {
                match sink.send(point) {
                    SendOutcome::Dropped => stats.points_dropped += 1,
                    SendOutcome::Queued | SendOutcome::Overflowed => stats.points_sent += 1,
                }
            }
        }
        Ok(stats)
    }

    /// The catalog when it changed since the last poll.
    fn catalog_update(&mut self) -> Option<Arc<Catalog>> {
        let (version, catalog) = match &self.catalog {
            CatalogSource::Fixed(c) => (0, c.clone()),
            CatalogSource::Live(live) => (live.version(), live.load()),
        };
        if self.catalog_version == Some(version) {
            return None;
        }
        self.catalog_version = Some(version);
        Some(catalog)
    }
}

/// Applies the records of one topic; returns (records read, undecodable).
fn apply_topic(
    state: &mut BoardState,
    topic: &str,
    data: &Fetched,
    model: Option<&ModelBundle>,
    points: &mut Vec<Point>,
) -> (u64, u64) {
    let (mut read, mut bad) = (0, 0);
    for record in data.records() {
        read += 1;
        let ok = match topic {
            "sales" => wire::decode_value::<SaleRecord>("sales", record.value)
                .map(|sale| state.apply_sale(&sale))
                .is_ok(),
            SIGNALS_TOPIC => output::decode_signal(record.value)
                .map(|signal| state.apply_signal(&signal, points))
                .is_ok(),
            FEATURES_TOPIC => output::decode_feature(record.value)
                .map(|feature| state.apply_feature(&feature, model, points))
                .is_ok(),
            PRICES_TOPIC => serde_json::from_slice::<PriceChange>(record.value)
                .map(|change| state.apply_price(&change, points))
                .is_ok(),
            DELIVERIES_TOPIC => serde_json::from_slice::<DeliveryView>(record.value)
                .map(|d| state.apply_delivery(&d, points))
                .is_ok(),
            // Dead letters are counted whole: their content is rejected input.
            _ => {
                state.apply_deadletter();
                true
            }
        };
        if !ok {
            bad += 1;
        }
    }
    (read, bad)
}

#[cfg(test)]
#[path = "feed_tests.rs"]
mod tests;
