//! The sink against a real victoria-metrics (the InfluxDB v2 write API): every point
//! arrives exactly once with its tags, values and millisecond time, through an outage.

mod support;

use std::sync::Arc;
use std::time::Instant;

use sellout_dashboards::{Point, SendOutcome, SinkConfig, SinkStats};
use sellout_streams::ManualClock;
use support::Store;
use support::points::{ALL, BASE_MS, expected, point};

fn config(url: String, spill: &std::path::Path) -> SinkConfig {
    let mut config = SinkConfig::new(url, spill);
    config.token = "test-token".into();
    config.linger_ms = 20;
    config
}

fn stats_of(handle: &sellout_dashboards::SinkHandle) -> SinkStats {
    handle.stats()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_points_read_back_exactly() {
    if support::missing() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let store = Store::start(&dir.path().join("vm"));
    let clock = Arc::new(ManualClock::new(BASE_MS));
    let (sink, task) = sellout_dashboards::spawn(
        &config(store.url(), &dir.path().join("spill")),
        clock.clone(),
    )
    .unwrap();

    let points: Vec<Point> = (0..10_000u64)
        .map(|i| point(i, BASE_MS + i as i64))
        .collect();
    let started = Instant::now();
    for p in &points {
        assert_ne!(sink.send(p), SendOutcome::Dropped);
    }
    sink.flush().await;
    assert!(
        support::wait_for(30, || stats_of(&sink).written == 10_000).await,
        "{:?}",
        sink.stats()
    );
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "sink wrote 10000 points in {elapsed:.3}s ({:.0} points/s)",
        10_000.0 / elapsed
    );

    let http = reqwest::Client::new();
    let want = expected(&points);
    let got = support::export_until(&http, &store.url(), ALL, want.len(), 30).await;
    assert_eq!(got.len(), want.len());
    assert_eq!(got, want);

    drop(sink);
    let stats = task.await.unwrap();
    assert_eq!(
        (stats.written, stats.dropped, stats.spilled, stats.invalid),
        (10_000, 0, 0, 0)
    );
    assert_eq!(stats.last_error, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_of_over_a_minute_of_points_loses_none() {
    if support::missing() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let spill_dir = dir.path().join("spill");
    let mut store = Store::start(&dir.path().join("vm"));
    let clock = Arc::new(ManualClock::new(BASE_MS));
    let mut cfg = config(store.url(), &spill_dir);
    cfg.batch_points = 250;
    cfg.max_buffered_points = 1_000;
    cfg.channel_capacity = 500;
    cfg.spill_segment_bytes = 32 << 10;
    cfg.backoff_initial_ms = 20;
    cfg.backoff_max_ms = 400;
    cfg.request_timeout_ms = 2_000;
    let (sink, task) = sellout_dashboards::spawn(&cfg, clock.clone()).unwrap();

    // 10 ms of event time between points: 3,000 before the outage (30 s), 9,000
    // during it (90 s of points), 1,000 after it.
    let step = 10;
    let points: Vec<Point> = (0..13_000u64)
        .map(|i| point(i, BASE_MS + i as i64 * step))
        .collect();
    let send = |range: std::ops::Range<usize>| {
        for p in &points[range] {
            clock.set(p.timestamp_ms);
            assert_ne!(sink.send(p), SendOutcome::Dropped);
        }
    };
    send(0..3_000);
    assert!(support::wait_for(30, || stats_of(&sink).written >= 1_000).await);
    store.stop();
    send(3_000..12_000);
    sink.flush().await;
    // The outage is real (about 2.5 s of wall time: ten failed writes, backing off from
    // 20 ms to 400 ms): writes fail and the backlog goes to disk.
    assert!(
        support::wait_for(30, || {
            let s = stats_of(&sink);
            s.retried >= 10 && s.spilled > 0
        })
        .await,
        "{:?}",
        sink.stats()
    );
    let during = sink.stats();
    assert!(during.written < 12_000);
    assert!(
        std::fs::read_dir(&spill_dir).unwrap().count() > 0,
        "spill files exist"
    );
    println!("during the outage: {during:?}");

    store.restart();
    send(12_000..13_000);
    sink.flush().await;
    assert!(
        support::wait_for(60, || {
            let s = stats_of(&sink);
            s.written == 13_000 && s.spill_pending == 0
        })
        .await,
        "{:?}",
        sink.stats()
    );

    let http = reqwest::Client::new();
    let want = expected(&points);
    let got = support::export_until(&http, &store.url(), ALL, want.len(), 30).await;
    assert_eq!(got.len(), want.len(), "every point exactly once");
    assert_eq!(got, want);

    drop(sink);
    let stats = task.await.unwrap();
    println!("after the outage: {stats:?}");
    assert_eq!(stats.dropped, 0);
    assert_eq!(stats.written, 13_000);
    assert!(
        stats.replayed > 0 && stats.replayed == stats.spilled,
        "{stats:?}"
    );
    assert_eq!(
        std::fs::read_dir(&spill_dir).unwrap().count(),
        0,
        "acknowledged spill deleted"
    );
}

/// A store back from an outage while the next retry is due later than the shutdown
/// grace: shutting down tries the store once more at once, so nothing is left behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_tries_a_store_back_from_an_outage_before_the_backoff_is_over() {
    if support::missing() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::start(&dir.path().join("vm"));
    let clock = Arc::new(ManualClock::new(BASE_MS));
    let mut cfg = config(store.url(), &dir.path().join("spill"));
    cfg.backoff_initial_ms = 200;
    cfg.backoff_max_ms = 60_000;
    cfg.shutdown_grace_ms = 2_000;
    cfg.request_timeout_ms = 2_000;
    let (sink, task) = sellout_dashboards::spawn(&cfg, clock.clone()).unwrap();
    store.stop();
    let points: Vec<Point> = (0..500u64).map(|i| point(i, BASE_MS + i as i64)).collect();
    for p in &points {
        clock.set(p.timestamp_ms);
        assert_ne!(sink.send(p), SendOutcome::Dropped);
    }
    sink.flush().await;
    // Five failures in a row: the next retry is 6.4 s away, past the 2 s grace.
    assert!(support::wait_for(30, || stats_of(&sink).retried >= 5).await);
    assert_eq!(stats_of(&sink).written, 0);
    store.restart();
    drop(sink);
    let stats = task.await.unwrap();
    assert_eq!(stats.written, 500, "{stats:?}");
    assert_eq!(stats.spill_pending, 0, "{stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_budget_drops_and_counts_and_the_spill_outlives_the_process() {
    let dir = tempfile::tempdir().unwrap();
    let spill_dir = dir.path().join("spill");
    let nowhere = format!("http://127.0.0.1:{}", support::free_port());
    let clock = Arc::new(ManualClock::new(BASE_MS));
    let mut cfg = config(nowhere, &spill_dir);
    cfg.batch_points = 100;
    cfg.max_buffered_points = 200;
    cfg.channel_capacity = 100;
    cfg.max_spill_bytes = 64 << 10;
    cfg.backoff_initial_ms = 10;
    cfg.backoff_max_ms = 50;
    cfg.shutdown_grace_ms = 100;
    let (sink, task) = sellout_dashboards::spawn(&cfg, clock.clone()).unwrap();
    let points: Vec<Point> = (0..5_000u64)
        .map(|i| point(i, BASE_MS + i as i64))
        .collect();
    for p in &points {
        clock.set(p.timestamp_ms);
        sink.send(p); // never waits, whatever the outcome
    }
    sink.flush().await;
    drop(sink);
    let stats = task.await.unwrap();
    assert_eq!(stats.written, 0);
    assert!(stats.dropped > 0 && stats.spilled > 0, "{stats:?}");
    assert_eq!(
        stats.spilled + stats.dropped,
        5_000,
        "every point spilled or counted: {stats:?}"
    );
    assert!(
        stats
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("budget")),
        "{stats:?}"
    );

    // A later run with a store replays what this one spilled.
    if support::missing() {
        return;
    }
    let store = Store::start(&dir.path().join("vm"));
    let (sink, task) =
        sellout_dashboards::spawn(&config(store.url(), &spill_dir), clock.clone()).unwrap();
    assert_eq!(sink.stats().spill_pending, stats.spilled);
    assert!(
        support::wait_for(30, || stats_of(&sink).replayed == stats.spilled).await,
        "{:?}",
        sink.stats()
    );
    let http = reqwest::Client::new();
    let want = expected(&points);
    let deadline = Instant::now() + std::time::Duration::from_secs(30);
    let got = loop {
        let got = support::export(&http, &store.url(), ALL).await;
        let times: std::collections::BTreeSet<i64> = got.iter().map(|s| s.2).collect();
        if times.len() as u64 >= stats.spilled || Instant::now() > deadline {
            assert_eq!(
                times.len() as u64,
                stats.spilled,
                "every spilled point replayed"
            );
            break got;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    let distinct: std::collections::BTreeSet<_> = got.iter().map(|s| (&s.0, &s.1, s.2)).collect();
    assert_eq!(distinct.len(), got.len(), "no sample twice");
    for sample in &got {
        let at =
            want.binary_search_by(|w| (&w.0, &w.1, w.2).cmp(&(&sample.0, &sample.1, sample.2)));
        assert!(
            at.is_ok_and(|at| want[at].3 == sample.3),
            "unexpected sample {sample:?}"
        );
    }
    drop(sink);
    let again = task.await.unwrap();
    assert_eq!(again.dropped, 0);
    assert_eq!(std::fs::read_dir(&spill_dir).unwrap().count(), 0);
}

/// Not a check: prints points/s for `SELLOUT_SINK_POINTS` points (default 200,000).
/// Run with `cargo test -p sellout-dashboards --test sink_vm -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement, not a test"]
async fn throughput() {
    if support::missing() {
        return;
    }
    let n: u64 = std::env::var("SELLOUT_SINK_POINTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000);
    let dir = tempfile::tempdir().unwrap();
    let store = Store::start(&dir.path().join("vm"));
    let clock = Arc::new(ManualClock::new(BASE_MS));
    let (sink, task) = sellout_dashboards::spawn(
        &config(store.url(), &dir.path().join("spill")),
        clock.clone(),
    )
    .unwrap();
    let started = Instant::now();
    for i in 0..n {
        sink.send(&point(i, BASE_MS + i as i64));
    }
    sink.flush().await;
    assert!(
        support::wait_for(120, || stats_of(&sink).written + stats_of(&sink).dropped
            >= n)
        .await
    );
    let elapsed = started.elapsed().as_secs_f64();
    drop(sink);
    let stats = task.await.unwrap();
    println!(
        "{{\"bench\":\"influx_sink\",\"points\":{n},\"seconds\":{elapsed:.3},\"points_per_sec\":{:.0},\"spilled\":{},\"dropped\":{}}}",
        n as f64 / elapsed,
        stats.spilled,
        stats.dropped
    );
}
