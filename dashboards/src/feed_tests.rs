use std::sync::Arc;

use sellout_ingest::records::SaleKind;
use sellout_pipelines::SignalKind;

use super::*;
use crate::board::state::{ALERTS, SERIES_MINUTES};
use crate::board::views;
use crate::board::{Board, BoardConfig};
use crate::fixtures::*;

fn setup() -> (
    tempfile::TempDir,
    Arc<sellout_streams::log::EmbeddedLog>,
    Feed,
) {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = log(dir.path());
    let catalog = catalog();
    let board = Arc::new(Board::new(&catalog, BoardConfig::default()));
    let feed = Feed::new(board, catalog);
    (dir, log, feed)
}

fn drain(feed: &mut Feed, log: &dyn Transport) -> FeedStats {
    let mut all = FeedStats::default();
    loop {
        let s = feed.poll(log).expect("poll");
        if s.total() == 0 {
            return all;
        }
        for (t, n) in s.records {
            *all.records.entry(t).or_default() += n;
        }
        all.undecodable += s.undecodable;
    }
}

#[test]
fn counts_reconcile_and_sold_and_prices_are_right() {
    let (_dir, log, mut feed) = setup();
    let mut sales = Vec::new();
    for i in 0..30 {
        sales.push(sale(SaleKind::View, "cat-a", 0, T0 + i * 1000));
        sales.push(sale(SaleKind::Purchase, "cat-a", 2, T0 + i * 1000));
    }
    sales.push(sale(SaleKind::Refund, "cat-a", 2, T0 + 40_000));
    sales.push(sale(SaleKind::Purchase, "cat-b", 5, T0 + 41_000));
    sales.push(sale(SaleKind::Purchase, "cat-zzz", 5, T0 + 42_000));
    write_sales(&*log, &sales);
    write_signals(
        &*log,
        &[
            signal(SignalKind::CartAbandoned, T0 + 60_000),
            signal(SignalKind::CartAbandoned, T0 + 61_000),
            signal(SignalKind::Surge, T0 + 62_000),
            signal(SignalKind::QueueLong, T0 + 63_000),
        ],
    );
    write_raw(&*log, "signals", &[(T0, b"not a signal".to_vec())]);
    write_features(
        &*log,
        &[
            sellout_feature("cat-a", 58, T0 + 60_000),
            occupancy("z-gate", 40, T0 + 60_000),
            occupancy("z-food", 10, T0 + 60_000),
            occupancy("z-gate", 55, T0 + 120_000),
            buzz(T0 + 60_000),
        ],
    );
    write_prices(&*log, &[price("cat-a", 5000, 5500, T0 + 70_000)]);
    let deliveries: Vec<(i64, Vec<u8>)> = ["planned", "delivered", "delivered", "failed"]
        .iter()
        .map(|o| (T0, delivery(o, T0 + 80_000).into_bytes()))
        .collect();
    write_raw(&*log, DELIVERIES_TOPIC, &deliveries);
    write_raw(&*log, "deadletter", &[(T0, b"rejected".to_vec())]);

    let stats = drain(&mut feed, &*log);
    assert_eq!(stats.records["sales"], 63);
    assert_eq!(stats.records["signals"], 5);
    assert_eq!(stats.records["features"], 5);
    assert_eq!(stats.records["prices"], 1);
    assert_eq!(stats.records["deliveries"], 4);
    assert_eq!(stats.records["deadletter"], 1);
    assert_eq!(
        stats.undecodable, 1,
        "the garbage signal is counted, not fatal"
    );

    let state = feed.board().read();
    let c = &state.counters;
    assert_eq!((c.sales_records, c.purchases, c.abandoned), (63, 32, 2));
    assert_eq!((c.deadlettered, c.accepted_inputs), (1, 63));
    assert_eq!((c.delivered, c.delivery_failed, c.unknown_ids), (2, 1, 1));
    let event = &state.events["ev-1"];
    assert_eq!(event.categories[0].sold, 58, "30 × 2 purchased, 2 refunded");
    assert_eq!(event.categories[1].sold, 5);
    assert_eq!(event.categories[0].price_minor, 5500);
    assert_eq!(
        event.categories[1].price_minor, 9000,
        "list price until a change"
    );

    let board = views::board_view(&state, false);
    let row = &board["events"][0];
    assert_eq!(row["sold"], 63);
    assert_eq!(row["sold_pct"], 42.0);
    assert_eq!(row["categories"][0]["sold_pct"], 58.0);
    assert!(row["p_14d"].is_null(), "no model, no probability");
    assert!(
        row["categories"][0]["expected_ms"].is_i64(),
        "pace-based date"
    );
    assert_eq!(row["expected_basis"], "pace");
    assert_eq!(board["kpis"]["abandonment_pct"], 5.9, "2 of 34 carts");
    assert_eq!(board["kpis"]["delivery_failure_pct"], 33.3);

    let venue = views::venue_view(&state, "v-1").expect("venue");
    assert_eq!(venue["minutes"].as_array().map(Vec::len), Some(2));
    assert_eq!(venue["cells"][0], serde_json::json!([40.0, 55.0]));
    assert_eq!(venue["cells"][1], serde_json::json!([10.0, null]));
    assert_eq!(venue["vouchers"]["sent"], 3);
    assert_eq!(venue["queues"][0]["length"], serde_json::json!([12.0]));

    let alerts = views::alerts_view(&state);
    let kinds: Vec<&str> = alerts["alerts"]
        .as_array()
        .expect("alerts")
        .iter()
        .filter_map(|a| a["kind"].as_str())
        .collect();
    assert_eq!(
        kinds,
        vec!["price", "queue_long", "surge"],
        "newest first, no carts"
    );

    // No session, customer, installation or voucher id reaches any view.
    let all = format!(
        "{board}{}{venue}{alerts}",
        views::event_view(&state, "ev-1", false).expect("event")
    );
    for secret in ["secret", "s-1793"] {
        assert!(!all.contains(secret), "{secret} leaked");
    }
}

#[test]
fn memory_stays_bounded_and_polls_are_bounded() {
    let (_dir, log, feed) = setup();
    let mut feed = feed.with_config(FeedConfig {
        max_bytes_per_topic: 4096,
    });
    // Two thousand minutes of sales and surges.
    for chunk in 0..20 {
        let sales: Vec<_> = (0..100)
            .map(|i| {
                sale(
                    SaleKind::Purchase,
                    "cat-a",
                    1,
                    T0 + (chunk * 100 + i) * 60_000,
                )
            })
            .collect();
        write_sales(&*log, &sales);
        let signals: Vec<_> = (0..100)
            .map(|i| signal(SignalKind::Surge, T0 + (chunk * 100 + i) * 60_000))
            .collect();
        write_signals(&*log, &signals);
    }
    let first = feed.poll(&*log).expect("poll");
    assert!(
        first.total() < 4000,
        "a poll reads a bounded amount: {first:?}"
    );
    let rest = drain(&mut feed, &*log);
    assert_eq!(first.total() + rest.total(), 4000);
    let state = feed.board().read();
    let event = &state.events["ev-1"];
    assert_eq!(event.booking.len(), SERIES_MINUTES);
    assert_eq!(event.booking.last().map(|(_, v)| v), Some(2000.0));
    assert_eq!(event.signals.len(), crate::board::state::EVENT_SIGNALS);
    assert_eq!(state.alerts.as_ref().map(|a| a.len()), Some(ALERTS));
    assert_eq!(feed.offsets()["sales"], 2000);
}

#[test]
fn a_topic_past_retention_is_skipped_and_counted() {
    struct Retained;
    impl Transport for Retained {
        fn append(
            &self,
            _: &str,
            _: &sellout_streams::Batch,
        ) -> Result<sellout_streams::AppendAck, StreamError> {
            Err(StreamError::Unavailable("read only".into()))
        }
        fn read(&self, topic: &str, from: Offset, _: usize) -> Result<Fetched, StreamError> {
            if from < 10 {
                return Err(StreamError::OffsetRetained {
                    topic: topic.into(),
                    requested: from,
                    start: 10,
                });
            }
            Ok(Fetched {
                from,
                batches: vec![],
            })
        }
        fn offsets(&self, _: &str) -> Result<sellout_streams::TopicOffsets, StreamError> {
            Ok(Default::default())
        }
        fn commit(&self, _: &str, _: &str, _: Offset) -> Result<(), StreamError> {
            Ok(())
        }
        fn committed(&self, _: &str, _: &str) -> Result<Option<Offset>, StreamError> {
            Ok(None)
        }
        fn flush(&self) -> Result<(), StreamError> {
            Ok(())
        }
        fn topics(&self) -> Result<Vec<String>, StreamError> {
            Ok(vec![])
        }
    }
    let (_dir, _log, mut feed) = setup();
    let stats = feed.poll(&Retained).expect("poll");
    assert_eq!(stats.skipped, 10 * FEED_TOPICS.len() as u64);
}

/// A bundle whose every horizon says 0.5 (zero weights, identity calibration).
fn even_bundle() -> ModelBundle {
    weighted_bundle(0.0)
}

/// A bundle whose every horizon weighs every standardised feature by `w`.
fn weighted_bundle(w: f64) -> ModelBundle {
    let n = sellout_models::sellout::NF;
    use sellout_models::calibration::Calibration;
    use sellout_models::logistic::{Logistic, Platt};
    use sellout_models::sellout::{HorizonModel, SellOutModel};
    let horizons = sellout_models::sellout::Horizon::ALL
        .into_iter()
        .map(|horizon| HorizonModel {
            horizon,
            logistic: Logistic {
                weights: vec![w; n],
                intercept: 0.0,
                mean: vec![0.0; n],
                std: vec![1.0; n],
            },
            calibration: Calibration::Platt(Platt::IDENTITY),
        })
        .collect();
    ModelBundle {
        sellout: SellOutModel {
            horizons,
            diurnal: Vec::new(),
            shape: Vec::new(),
            level: Default::default(),
        },
        demand_prior: Default::default(),
        cold_start: None,
        demand_priors_by_span: Vec::new(),
    }
}

#[test]
fn a_model_bundle_gives_probabilities() {
    let (_dir, log, feed) = setup();
    let mut feed = feed.with_model(Arc::new(even_bundle()));
    write_features(
        &*log,
        &[
            sellout_feature("cat-a", 58, T0 + 60_000),
            sellout_feature("cat-b", 10, T0 + 60_000),
        ],
    );
    drain(&mut feed, &*log);
    let state = feed.board().read();
    let row = views::board_view(&state, feed.board().has_model())["events"][0].clone();
    assert_eq!(row["expected_basis"], "model");
    assert_eq!(row["p_14d"], 0.5);
    assert_eq!(row["p_by_start"], 0.5);
    assert_eq!(row["categories"][1]["p_14d"], 0.5);
}

/// The model reads a category against its event: the same snapshot scores differently
/// once a sibling category's snapshot is on the board (its seats and pace join the
/// event's context), as in training.
#[test]
fn a_category_is_scored_with_its_event_siblings() {
    let bundle = weighted_bundle(0.01);
    let score_a = |with_sibling: bool| {
        let mut state = crate::board::state::BoardState::new(&catalog());
        let mut points = Vec::new();
        if with_sibling {
            state.apply_feature(
                &sellout_feature("cat-b", 90, T0 + 30_000),
                Some(&bundle),
                &mut points,
            );
        }
        state.apply_feature(
            &sellout_feature("cat-a", 10, T0 + 60_000),
            Some(&bundle),
            &mut points,
        );
        let event = state.events.get("ev-1").expect("event");
        let c = event.categories.iter().find(|c| c.category_id == "cat-a");
        let forecast = c.and_then(|c| c.forecast).expect("a forecast");
        forecast.p_14d.expect("p_14d")
    };
    let logit = |p: f64| (p / (1.0 - p)).ln();
    let alone = score_a(false);
    let among = score_a(true);
    assert!(
        (logit(alone) - logit(among)).abs() > 1e-3,
        "the sibling changed nothing: {alone} vs {among}"
    );
}

#[test]
fn sink_points_name_catalogued_measurements_and_fields_carts_included() {
    let catalog = catalog();
    let mut state = crate::board::state::BoardState::new(&catalog);
    let mut points = Vec::new();
    state.apply_feature(
        &sellout_feature("cat-a", 10, T0 + 60_000),
        None,
        &mut points,
    );
    state.apply_signal(&signal(SignalKind::CartAbandoned, T0 + 90_000), &mut points);
    state.apply_signal(&signal(SignalKind::Surge, T0 + 95_000), &mut points);
    let mut seen = std::collections::BTreeSet::new();
    for p in &points {
        let line = p.to_line().expect("line protocol");
        let (head, rest) = line.split_once(' ').expect("fields");
        let name = head.split(',').next().expect("measurement");
        let spec = crate::measurements::CATALOGUE
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("{name} is not catalogued: {line}"));
        let fields = rest.rsplit_once(' ').map_or(rest, |(f, _)| f);
        for field in fields.split(',') {
            let key = field.split('=').next().expect("key");
            assert!(
                spec.fields.contains(&key),
                "{name}.{key} is not catalogued: {line}"
            );
        }
        seen.insert(name.to_owned());
    }
    for name in ["sold", "sales", "carts", "signal"] {
        assert!(seen.contains(name), "no {name} point: {seen:?}");
    }
}
