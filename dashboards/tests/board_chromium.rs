//! The board in real headless Chromium: a simulated on-sale and venue day runs through
//! the real pipelines into an embedded log, a [`Feed`] follows it into the board, and
//! the board's router is served on loopback while a background thread keeps appending
//! (simulated records, then price changes and voucher deliveries). Each page must load
//! with no console error, keep receiving live updates, and have charts with data (and
//! the venue page heat-map cells). A screenshot of each page is saved under
//! `target/board-screenshots/`.

#[path = "support/cdp.rs"]
mod cdp;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sellout_dashboards::{Board, BoardConfig, Feed, board_url, router};
use sellout_ingest::catalog::Catalog;
use sellout_ingest::records::wire;
use sellout_pipelines::{PipelinesConfig, Runner};
use sellout_pricing::change::{ChangeReason, PriceChange, push_change};
use sellout_simulator::{ListPrices, SimConfig, Simulation};
use sellout_streams::log::{EmbeddedLog, LogConfig};
use sellout_streams::{Batch, ManualClock, Transport};
use serde_json::{Value, json};

/// Appends records to the log, runs the pipelines and the feed over them.
struct Producer {
    sim: Simulation,
    log: Arc<EmbeddedLog>,
    runner: Runner,
    feed: Feed,
    catalog: Arc<Catalog>,
    now: i64,
    ticks: u64,
}

impl Producer {
    /// Appends up to `n` simulated records (or, once the simulation ended, a few
    /// price changes and deliveries), then runs the pipelines and the feed to the end.
    fn step(&mut self, n: usize) -> u64 {
        self.ticks += 1;
        let mut batches: std::collections::BTreeMap<&'static str, Batch> = Default::default();
        let mut appended = 0;
        for record in self.sim.by_ref().take(n) {
            self.now = self.now.max(record.time());
            let batch = batches.entry(record.topic().as_str()).or_default();
            batch.push_with(record.key().as_bytes(), record.time(), |buf| {
                wire::encode_any_into(&record, buf)
            });
            appended += 1;
        }
        self.now += 1_000;
        for (topic, batch) in &batches {
            self.log.append(topic, batch).expect("append");
        }
        if self.ticks.is_multiple_of(3) {
            self.price_change();
            appended += 1;
        }
        self.delivery();
        appended += 1;
        self.runner.poll(self.now, usize::MAX).expect("pipelines");
        while self.feed.poll(&*self.log).expect("feed").total() > 0 {}
        appended
    }

    fn price_change(&mut self) {
        let event = &self.catalog.events[0];
        let c = &event.categories[(self.ticks as usize / 3) % event.categories.len()];
        let up = (self.ticks / 3).is_multiple_of(2);
        let change = PriceChange {
            id: self.ticks,
            event_id: event.event_id.clone(),
            category_id: c.category_id.clone(),
            old_minor: c.list_price_minor,
            new_minor: if up {
                c.list_price_minor + 500
            } else {
                c.list_price_minor
            },
            currency: c.currency.clone(),
            reason: ChangeReason::Repricer,
            detail: format!("test tick {}", self.ticks),
            model_version: "rule-based/1".into(),
            guardrail: None,
            time: self.now,
        };
        let mut batch = Batch::new();
        push_change(&mut batch, &change);
        self.log.append("prices", &batch).expect("append");
    }

    fn delivery(&mut self) {
        let event = &self.catalog.events[0];
        let outcome = if self.ticks.is_multiple_of(5) {
            "failed"
        } else {
            "delivered"
        };
        let record = json!({
            "notification_id": "00000000-0000-0000-0000-000000000001",
            "campaign_id": "short-queue", "installation_id": "inst-1", "platform": "fcm",
            "trigger_id": self.ticks, "event_id": event.event_id, "venue_id": event.venue_id,
            "zone_id": null, "offer": null, "voucher_code": "V-1", "voucher_expires_ms": null,
            "outcome": outcome, "reason": null, "attempts": 1, "time_ms": self.now,
        });
        let mut batch = Batch::new();
        batch.push(
            event.event_id.as_bytes(),
            self.now,
            record.to_string().as_bytes(),
        );
        self.log.append("deliveries", &batch).expect("append");
    }
}

fn screenshot_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    target.join("board-screenshots")
}

#[test]
fn board_pages_in_headless_chromium_get_live_data() {
    let chromium = Path::new(cdp::CHROMIUM);
    if !chromium.exists() {
        println!("skipped: chromium not installed (the README test command installs it)");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let log = Arc::new(
        EmbeddedLog::open(
            &dir.path().join("log"),
            LogConfig::default(),
            Arc::new(ManualClock::new(0)),
        )
        .expect("log"),
    );
    let config = SimConfig {
        events: 1,
        scale: 0.004,
        sale_days: 0.5,
        on_sale_stagger_hours: 0.0,
        beacon_interval_s: 30,
        ..SimConfig::default()
    };
    let sim = Simulation::new(config, Arc::new(ListPrices)).expect("simulation");
    let catalog = Arc::new(sim.catalog().clone());
    let board = Arc::new(Board::new(&catalog, BoardConfig::default()));
    let runner = Runner::open(
        PipelinesConfig::default(),
        catalog.clone(),
        log.clone(),
        dir.path().join("checkpoint.bin"),
    )
    .expect("runner");
    let feed = Feed::new(board.clone(), catalog.clone());
    let mut producer = Producer {
        sim,
        log,
        runner,
        feed,
        catalog: catalog.clone(),
        now: 0,
        ticks: 0,
    };
    // The on-sale and the first minutes of the venue day, before anyone looks.
    while producer.step(5_000) > 2 && producer.feed.board().read().counters.features < 2_000 {}

    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    rt.spawn(async move { axum::serve(listener, router(board)).await });
    let url = board_url(addr);
    println!("board at {url}");

    // Keep the streams moving while the browser looks.
    let stop = Arc::new(AtomicBool::new(false));
    let appended = Arc::new(AtomicU64::new(0));
    let live_thread = {
        let (stop, appended) = (stop.clone(), appended.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                appended.fetch_add(producer.step(2_000), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };

    let event = &catalog.events[0];
    let pages = [
        ("board", url.clone(), vec!["booking"]),
        (
            "event",
            format!("{url}/events/{}", event.event_id),
            vec!["booking", "prices"],
        ),
        (
            "venue",
            format!("{url}/venues/{}", event.venue_id),
            vec!["queues"],
        ),
        ("alerts", format!("{url}/alerts"), vec!["alerts"]),
    ];
    let out = screenshot_dir();
    std::fs::create_dir_all(&out).expect("screenshot dir");
    let browser = cdp::Browser::launch(chromium).expect("launch chromium");
    let mut tab = browser.page().expect("page");
    for method in ["Runtime.enable", "Log.enable", "Page.enable"] {
        tab.call(method, json!({})).expect(method);
    }
    let started = Instant::now();
    let records_before = appended.load(Ordering::Relaxed);
    let mut report = Vec::new();
    for (name, page_url, charts) in pages {
        tab.call("Page.navigate", json!({ "url": "about:blank" }))
            .expect("blank");
        tab.pump(Duration::from_millis(200)).expect("pump");
        tab.events.clear();
        tab.call("Page.navigate", json!({ "url": page_url }))
            .expect("navigate");
        let deadline = Instant::now() + Duration::from_secs(20);
        let first = loop {
            let v = cdp::live(&mut tab);
            if v["applied"].as_u64().unwrap_or(0) >= 1 {
                break v;
            }
            assert!(
                Instant::now() < deadline,
                "{name}: no update applied in 20 s: {v}"
            );
            tab.pump(Duration::from_millis(100)).expect("pump");
        };
        tab.pump(Duration::from_millis(1_500)).expect("pump");
        let second = cdp::live(&mut tab);
        let updates = |v: &Value| v["updates"].as_u64().unwrap_or(0);
        assert!(
            updates(&second) > updates(&first)
                && second["applied"].as_u64() > first["applied"].as_u64(),
            "{name}: no live update in 1.5 s: {first} then {second}"
        );
        for chart in charts {
            let points = second["charts"][chart].as_u64().unwrap_or(0);
            assert!(points > 0, "{name}: chart {chart} has no data: {second}");
        }
        if name == "venue" {
            let cells = tab
                .eval("document.querySelectorAll('.heat-cell').length")
                .expect("eval");
            assert!(cells.as_u64().unwrap_or(0) > 0, "venue: no heat-map cells");
        }
        let png = tab.screenshot().expect("screenshot");
        let path = out.join(format!("{name}.png"));
        std::fs::write(&path, png).expect("write screenshot");
        println!("screenshot: {}", path.display());
        let errors = tab.errors();
        assert!(errors.is_empty(), "{name}: console errors: {errors:#?}");
        report.push(format!(
            "{name}: {} updates, {} bytes, {:.0} bytes/update, charts {}",
            updates(&second),
            second["bytes"],
            second["bytes"].as_f64().unwrap_or(0.0) / updates(&second).max(1) as f64,
            second["charts"]
        ));
    }
    let secs = started.elapsed().as_secs_f64();
    let records = appended.load(Ordering::Relaxed) - records_before;
    stop.store(true, Ordering::Relaxed);
    live_thread.join().expect("producer thread");
    println!(
        "records appended while pages were open: {records} in {secs:.1} s ({:.0}/s)",
        records as f64 / secs
    );
    for line in report {
        println!("{line}");
    }
}
