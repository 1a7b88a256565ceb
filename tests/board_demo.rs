//! The live board of a running `sellout demo`, in real headless Chromium: the demo
//! prints the board's URL, the page loads without console errors and its charts
//! receive live data while the demo streams (screenshot saved as
//! `target/board-screenshots/demo-board.png`).

#[path = "../dashboards/tests/support/cdp.rs"]
mod cdp;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

#[test]
fn a_running_demo_feeds_the_board_in_chromium() {
    let chromium = Path::new(cdp::CHROMIUM);
    if !chromium.exists() {
        println!("skipped: chromium not installed (the README test command installs it)");
        return;
    }
    let scratch = tempfile::tempdir().unwrap();
    // Paced: the simulated span takes 60 s of wall time, so the board is live a while.
    let mut demo = Command::new(env!("CARGO_BIN_EXE_sellout"))
        .arg("--data-dir")
        .arg(scratch.path().join("data"))
        .args([
            "demo",
            "--duration",
            "60s",
            "--scale",
            "0.01",
            "--seed",
            "3",
            "--headless",
        ])
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(demo.stderr.take().unwrap());
    let url = loop {
        let mut line = String::new();
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "the demo ended without a board URL"
        );
        if let Some(url) = line.trim().strip_prefix("live board: ") {
            break url.to_owned();
        }
    };
    // Keep draining the demo's stderr so it never blocks on a full pipe.
    std::thread::spawn(move || for _ in stderr.lines() {});

    let browser = cdp::Browser::launch(chromium).expect("launch chromium");
    let mut tab = browser.page().expect("page");
    for method in ["Runtime.enable", "Log.enable", "Page.enable"] {
        tab.call(method, json!({})).expect(method);
    }
    tab.call("Page.navigate", json!({ "url": url }))
        .expect("navigate");
    let deadline = Instant::now() + Duration::from_secs(60);
    let first = loop {
        let v = cdp::live(&mut tab);
        if v["applied"].as_u64().unwrap_or(0) >= 1
            && v["charts"]["booking"].as_u64().unwrap_or(0) > 0
        {
            break v;
        }
        assert!(
            Instant::now() < deadline,
            "no live data from the demo in 60 s: {v}"
        );
        tab.pump(Duration::from_millis(200)).expect("pump");
    };
    // Updates keep coming while the demo streams.
    let deadline = Instant::now() + Duration::from_secs(30);
    let second = loop {
        tab.pump(Duration::from_millis(500)).expect("pump");
        let v = cdp::live(&mut tab);
        if v["applied"].as_u64() > first["applied"].as_u64() {
            break v;
        }
        assert!(
            Instant::now() < deadline,
            "no further update in 30 s: {first} then {v}"
        );
    };
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    let out = target.join("board-screenshots");
    std::fs::create_dir_all(&out).unwrap();
    let path = out.join("demo-board.png");
    std::fs::write(&path, tab.screenshot().expect("screenshot")).unwrap();
    println!("screenshot: {} after {second}", path.display());
    let errors = tab.errors();
    assert!(errors.is_empty(), "console errors: {errors:#?}");
    demo.kill().ok();
    demo.wait().ok();
}
