//! Recorded training history for `sellout train --archive`: the pipelines' sell-out
//! feature snapshots read with SQL from the archive (and the log's tail not archived
//! yet), labelled by [`sellout_models::recorded::label`].

use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use sellout_analyst::{Archive, Format, QueryResult, SqlLimits, SqlSession, render};
use sellout_models::history::Labelled;
use sellout_pipelines::output::SellOutFeatures;
use sellout_streams::{ManualClock, Transport};

use crate::config::Config;
use crate::wiring;

/// Columns of a `sell_out` feature row, named as [`SellOutFeatures`]' fields, and
/// whether the row was archived before `sales_7d` and the opening were (they read as 0
/// then).
const QUERY: &str = "SELECT CAST(time AS BIGINT) AS t, event_id, category_id, capacity, sold, \
    remaining, sales_1m, sales_15m, sales_1h, sales_24h, sales_7d, opening_sold, \
    cart_adds_1h, abandonment_rate_24h, buzz_posts_1h, buzz_sentiment_1h, hours_to_event, \
    hours_since_on_sale, price_minor, currency, \
    (sales_7d IS NULL OR opening_sold IS NULL) AS predates_columns \
    FROM features WHERE type = 'sell_out'";

/// Snapshots read at most (a season of minute snapshots of many categories).
const MAX_ROWS: usize = 20_000_000;

#[derive(serde::Deserialize)]
struct Row {
    t: i64,
    predates_columns: bool,
    #[serde(flatten)]
    features: SellOutFeatures,
}

/// The labelled sell-out snapshots of the archive in `dir`, plus the data directory's
/// unarchived tail when `with_tail`.
pub fn history(config: &Config, dir: &Path, with_tail: bool) -> anyhow::Result<Vec<Labelled>> {
    let archive = Archive::new(dir, config.archive.clone());
    let tail: Arc<dyn Transport> = if with_tail {
        wiring::open_log(config, Arc::new(ManualClock::new(0)))?
    } else {
        Arc::new(sellout_pricing::memory::MemoryTransport::new())
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()?;
    let limits = SqlLimits {
        max_rows: MAX_ROWS,
        timeout_ms: 600_000,
        ..SqlLimits::default()
    };
    let result = runtime
        .block_on(async {
            let session = SqlSession::open(&archive, tail.as_ref()).await?;
            session.query(QUERY, limits).await
        })
        .with_context(|| {
            format!(
                "cannot read the features of the archive in {}",
                dir.display()
            )
        })?;
    anyhow::ensure!(
        !result.truncated,
        "more than {MAX_ROWS} feature snapshots: train on a narrower archive"
    );
    // One batch at a time, so the JSON in between never holds the whole history.
    let mut rows: Vec<Row> = Vec::new();
    for batch in &result.batches {
        let one = QueryResult {
            batches: vec![batch.clone()],
            schema: result.schema.clone(),
            truncated: false,
        };
        let json = render(&one, Format::Json)?;
        if !json.trim().is_empty() {
            let part: Vec<Row> = serde_json::from_str(&json).context("unexpected feature rows")?;
            rows.extend(part);
        }
    }
    anyhow::ensure!(
        !rows.is_empty(),
        "no sell-out features in {} (run the pipelines, e.g. `sellout demo`, then `sellout archive`)",
        dir.display()
    );
    let predates_columns = rows.iter().filter(|r| r.predates_columns).count();
    if predates_columns > 0 {
        tracing::warn!(
            message = "Snapshots archived before the 7-day sales and the opening were recorded read them as 0; the sell-out model's week and middle readings are wrong for them. Train on snapshots recorded since.",
            predates_columns,
            snapshots = rows.len()
        );
    }
    let catalog = wiring::load_catalog(config)?;
    Ok(sellout_models::recorded::label(
        rows.into_iter().map(|r| (r.t, r.features)).collect(),
        &catalog,
    ))
}
