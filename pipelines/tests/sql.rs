//! The streaming windowed counts against a batch answer: DataFusion SQL over the same
//! records gives exactly the counts the jobs emitted.
//!
//! A simulated on-sale day is fed to the engine in a perturbed arrival order: most
//! records a few seconds out of order (within the bound), some minutes late (beyond
//! the allowed lateness, so the engine routes them to the late side output). The
//! records the engine accepted become the `sales` and `mentions` tables; its sell-out
//! features and buzz series become the `features` and `buzz` tables. Then one SQL
//! query per table recounts every window from the records, and each row must match.

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, Int64Array, RecordBatch, StringArray, UInt64Array,
};
use datafusion::prelude::SessionContext;
use sellout_ingest::records::{AnyRecord, Topic};
use sellout_pipelines::engine::Outcome;
use sellout_pipelines::output::FeatureBody;
use sellout_pipelines::{Engine, PipelinesConfig};
use sellout_simulator::{ListPrices, SimConfig, Simulation};

/// A deterministic arrival delay for record `i`: mostly within the 5 s
/// out-of-orderness bound, one in 500 three minutes late.
fn delay_ms(i: u64) -> i64 {
    let h = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 33;
    if h.is_multiple_of(500) {
        180_000
    } else {
        (h % 4_000) as i64
    }
}

#[derive(Default)]
struct Tables {
    sales: Vec<(String, String, String, i64, i64)>,
    mentions: Vec<(String, i64)>,
    /// id → (time, event, category, [sales_1m, sales_15m, sales_1h, sales_24h, cart_adds_1h, buzz_posts_1h])
    features: BTreeMap<u64, (i64, String, String, [i64; 6])>,
    /// id → (time, event, posts)
    buzz: BTreeMap<u64, (i64, String, i64)>,
    late: u64,
}

fn run_streaming() -> Tables {
    let config = SimConfig {
        events: 3,
        scale: 0.04,
        sale_days: 1.0,
        ..SimConfig::default()
    };
    let sim = Simulation::new(config, Arc::new(ListPrices)).expect("simulation");
    let catalog = Arc::new(sim.catalog().clone());
    let mut records: Vec<(i64, u64, AnyRecord)> = sim
        .enumerate()
        .map(|(i, r)| (r.time() + delay_ms(i as u64), i as u64, r))
        .collect();
    records.sort_by_key(|(arrival, i, _)| (*arrival, *i));

    let pipelines = PipelinesConfig {
        jobs: vec![
            "carts".into(),
            "surges".into(),
            "buzz".into(),
            "features".into(),
        ],
        ..PipelinesConfig::default()
    };
    let mut engine = Engine::new(pipelines, catalog).expect("engine");
    let mut tables = Tables::default();
    let mut offsets = [0u64; 4];
    let take = |engine: &mut Engine, tables: &mut Tables| {
        for f in engine.take_outputs().1 {
            match f.body {
                FeatureBody::SellOut(s) => {
                    let counts = [
                        s.sales_1m,
                        s.sales_15m,
                        s.sales_1h,
                        s.sales_24h,
                        s.cart_adds_1h,
                        s.buzz_posts_1h,
                    ]
                    .map(i64::from);
                    let row = (
                        f.time,
                        s.event_id.to_string(),
                        s.category_id.to_string(),
                        counts,
                    );
                    assert!(tables.features.insert(f.id, row).is_none(), "duplicate id");
                }
                FeatureBody::Buzz(b) => {
                    let row = (f.time, b.event_id.to_string(), i64::from(b.posts));
                    assert!(tables.buzz.insert(f.id, row).is_none(), "duplicate id");
                }
                FeatureBody::Occupancy(_) => {}
            }
        }
    };
    for (arrival, _, record) in &records {
        let topic = record.topic();
        let slot = Topic::ALL.iter().position(|t| *t == topic).unwrap_or(0);
        // Processing time is the arrival time: a feed silent for the idle timeout
        // (social media at night) stops holding the watermark back.
        let outcome = engine.process(topic, offsets[slot], record, *arrival);
        offsets[slot] += 1;
        if let Outcome::Late { .. } = outcome {
            tables.late += 1;
        } else {
            match record {
                AnyRecord::Sales(s) => tables.sales.push((
                    s.event_id.to_string(),
                    s.category_id.to_string(),
                    serde_json::to_value(s.kind)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default(),
                    i64::from(s.quantity),
                    s.time,
                )),
                AnyRecord::Social(p) => {
                    for e in &p.event_ids {
                        tables.mentions.push((e.to_string(), p.time));
                    }
                }
                AnyRecord::Beacons(_) | AnyRecord::Queues(_) => {}
            }
        }
        take(&mut engine, &mut tables);
    }
    engine.finish();
    take(&mut engine, &mut tables);
    tables
}

fn strings(v: impl Iterator<Item = String>) -> ArrayRef {
    Arc::new(StringArray::from_iter_values(v))
}

fn ints(v: impl Iterator<Item = i64>) -> ArrayRef {
    Arc::new(Int64Array::from_iter_values(v))
}

fn ids(v: impl Iterator<Item = u64>) -> ArrayRef {
    Arc::new(UInt64Array::from_iter_values(v))
}

fn register(ctx: &SessionContext, t: &Tables) {
    let sales = RecordBatch::try_from_iter([
        ("event_id", strings(t.sales.iter().map(|r| r.0.clone()))),
        ("category_id", strings(t.sales.iter().map(|r| r.1.clone()))),
        ("kind", strings(t.sales.iter().map(|r| r.2.clone()))),
        ("quantity", ints(t.sales.iter().map(|r| r.3))),
        ("time", ints(t.sales.iter().map(|r| r.4))),
    ])
    .expect("sales batch");
    let mentions = RecordBatch::try_from_iter([
        ("event_id", strings(t.mentions.iter().map(|r| r.0.clone()))),
        ("time", ints(t.mentions.iter().map(|r| r.1))),
    ])
    .expect("mentions batch");
    let features = RecordBatch::try_from_iter([
        ("id", ids(t.features.keys().copied())),
        ("time", ints(t.features.values().map(|r| r.0))),
        (
            "event_id",
            strings(t.features.values().map(|r| r.1.clone())),
        ),
        (
            "category_id",
            strings(t.features.values().map(|r| r.2.clone())),
        ),
    ])
    .expect("features batch");
    let buzz = RecordBatch::try_from_iter([
        ("id", ids(t.buzz.keys().copied())),
        ("time", ints(t.buzz.values().map(|r| r.0))),
        ("event_id", strings(t.buzz.values().map(|r| r.1.clone()))),
    ])
    .expect("buzz batch");
    for (name, batch) in [
        ("sales", sales),
        ("mentions", mentions),
        ("features", features),
        ("buzz", buzz),
    ] {
        ctx.register_batch(name, batch).expect("register");
    }
}

/// Every window is the whole minutes before the snapshot time (exclusive).
const FEATURES_SQL: &str = "
WITH sales_per_minute AS (
    SELECT event_id, category_id, time - time % 60000 AS minute,
           SUM(CASE WHEN kind = 'purchase' THEN quantity ELSE 0 END) AS bought,
           SUM(CASE WHEN kind = 'cart_add' THEN quantity ELSE 0 END) AS added
    FROM sales GROUP BY 1, 2, 3
), mentions_per_minute AS (
    SELECT event_id, time - time % 60000 AS minute, COUNT(*) AS posts
    FROM mentions GROUP BY 1, 2
), sales_windows AS (
    SELECT f.id,
        COALESCE(SUM(CASE WHEN m.minute >= f.time - 60000 THEN m.bought END), 0) AS sales_1m,
        COALESCE(SUM(CASE WHEN m.minute >= f.time - 900000 THEN m.bought END), 0) AS sales_15m,
        COALESCE(SUM(CASE WHEN m.minute >= f.time - 3600000 THEN m.bought END), 0) AS sales_1h,
        COALESCE(SUM(m.bought), 0) AS sales_24h,
        COALESCE(SUM(CASE WHEN m.minute >= f.time - 3600000 THEN m.added END), 0) AS cart_adds_1h
    FROM features f LEFT JOIN sales_per_minute m
      ON m.event_id = f.event_id AND m.category_id = f.category_id
     AND m.minute < f.time AND m.minute >= f.time - 86400000
    GROUP BY f.id
), buzz_windows AS (
    SELECT f.id, COALESCE(SUM(m.posts), 0) AS buzz_posts_1h
    FROM features f LEFT JOIN mentions_per_minute m
      ON m.event_id = f.event_id AND m.minute < f.time AND m.minute >= f.time - 3600000
    GROUP BY f.id
)
SELECT s.id, s.sales_1m, s.sales_15m, s.sales_1h, s.sales_24h, s.cart_adds_1h,
       b.buzz_posts_1h
FROM sales_windows s JOIN buzz_windows b ON s.id = b.id
ORDER BY s.id";

/// The buzz series: posts per event in the tumbling minute ending at the point's time.
const BUZZ_SQL: &str = "
SELECT b.id, COUNT(m.time) AS posts
FROM buzz b LEFT JOIN mentions m
  ON m.event_id = b.event_id AND m.time >= b.time - 60000 AND m.time < b.time
GROUP BY b.id ORDER BY b.id";

fn column_i64(batch: &RecordBatch, i: usize) -> Vec<i64> {
    let column = batch.column(i);
    if let Some(a) = column.as_any().downcast_ref::<Int64Array>() {
        return a.values().to_vec();
    }
    let cast =
        datafusion::arrow::compute::cast(column, &datafusion::arrow::datatypes::DataType::Int64)
            .expect("cast to i64");
    cast.as_any()
        .downcast_ref::<Int64Array>()
        .expect("i64")
        .values()
        .to_vec()
}

async fn query(ctx: &SessionContext, sql: &str) -> Vec<RecordBatch> {
    ctx.sql(sql)
        .await
        .expect("plan")
        .collect()
        .await
        .expect("execute")
}

#[test]
fn streamed_window_counts_equal_sql_over_the_same_records() {
    let tables = run_streaming();
    assert!(
        tables.late > 0,
        "the perturbation must make some records late"
    );
    assert!(
        tables.features.len() > 500 && tables.buzz.len() > 100,
        "too few outputs to judge: {} features, {} buzz points",
        tables.features.len(),
        tables.buzz.len()
    );

    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let ctx = SessionContext::new();
    register(&ctx, &tables);

    let mut checked = 0;
    let mut nonzero = [0usize; 6];
    for batch in runtime.block_on(query(&ctx, FEATURES_SQL)) {
        let ids = batch
            .column(0)
            .as_any()
            .downcast_ref::<UInt64Array>()
            .expect("ids")
            .clone();
        let columns: Vec<Vec<i64>> = (1..=6).map(|i| column_i64(&batch, i)).collect();
        for (row, id) in ids.values().iter().enumerate() {
            let (time, event, category, streamed) = &tables.features[id];
            let batch_counts: [i64; 6] = std::array::from_fn(|c| columns[c][row]);
            assert_eq!(
                *streamed, batch_counts,
                "feature {id} of {event}/{category} at {time}: streamed \
                 [1m, 15m, 1h, 24h, carts 1h, posts 1h] vs SQL"
            );
            for (c, n) in batch_counts.iter().enumerate() {
                nonzero[c] += usize::from(*n > 0);
            }
            checked += 1;
        }
    }
    assert_eq!(checked, tables.features.len(), "every feature was checked");
    assert!(
        nonzero.iter().all(|n| *n > 0),
        "every window count is non-zero somewhere: {nonzero:?}"
    );

    let mut checked = 0;
    for batch in runtime.block_on(query(&ctx, BUZZ_SQL)) {
        let ids = batch
            .column(0)
            .as_any()
            .downcast_ref::<UInt64Array>()
            .expect("ids")
            .clone();
        let posts = column_i64(&batch, 1);
        for (id, posts) in ids.values().iter().zip(posts) {
            let (time, event, streamed) = &tables.buzz[id];
            assert_eq!(*streamed, posts, "buzz point {id} of {event} at {time}");
            checked += 1;
        }
    }
    assert_eq!(checked, tables.buzz.len(), "every buzz point was checked");
}
