//! End-to-end tests of the `sellout` binary: the demo, simulate → ingest, and
//! simulate → HTTP → serve, each in its own scratch data directory.

use std::io::{BufRead as _, BufReader, Read as _};
use std::path::Path;
use std::process::{Command, Stdio};

fn sellout(data_dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sellout"));
    cmd.arg("--data-dir").arg(data_dir).env_remove("RUST_LOG");
    // Keep the developer's own sellout.toml out of the tests.
    cmd.current_dir(data_dir.parent().unwrap_or(data_dir));
    cmd
}

/// Runs the command, expects success, returns the last stdout line as JSON.
fn last_json(cmd: &mut Command) -> serde_json::Value {
    let out = cmd.output().expect("run sellout");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "sellout failed: {}\nstdout: {stdout}\nstderr: {stderr}",
        out.status
    );
    let line = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(line)
        .unwrap_or_else(|e| panic!("last line is not JSON ({e}): {line}\nstderr: {stderr}"))
}

/// A small, fast, faulty demo run.
const SMALL_DEMO: [&str; 10] = [
    "demo",
    "--headless",
    "--duration",
    "0s",
    "--scale",
    "0.02",
    "--seed",
    "7",
    "--fault-rate",
    "0.01",
];

#[test]
fn headless_demo_reconciles_and_dead_letters_the_faults() {
    let scratch = tempfile::tempdir().unwrap();
    let data = scratch.path().join("data");
    let summary = last_json(sellout(&data).args(SMALL_DEMO));
    assert_eq!(summary["reconciled"], true, "{summary:#}");
    let total_received: u64 = summary["records"]["topics"]
        .as_object()
        .unwrap()
        .values()
        .map(|t| t["received"].as_u64().unwrap())
        .sum();
    assert!(total_received > 10_000, "too few records: {summary:#}");
    for topic in ["sales", "beacons", "social", "queues"] {
        assert!(
            summary["log_end_offsets"][topic].as_u64().unwrap_or(0) > 0,
            "no {topic} records: {summary:#}"
        );
    }
    let injected: u64 = summary["faults_injected"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert!(injected > 0);
    // Every injected fault was rejected with the reason it was made for.
    for (code, n) in summary["faults_injected"].as_object().unwrap() {
        let rejected = summary["records"]["rejected_by_reason"][code]
            .as_u64()
            .unwrap_or(0);
        assert!(
            rejected >= n.as_u64().unwrap(),
            "{code}: {rejected} rejected < {n} injected"
        );
    }
    assert!(data.join("catalog.json").is_file() && data.join("truth.json").is_file());

    // The pipelines saw every accepted record and found something in them.
    let accepted: u64 = ["sales", "beacons", "social", "queues"]
        .iter()
        .map(|t| summary["log_end_offsets"][t].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(
        summary["pipelines"]["records"].as_u64(),
        Some(accepted),
        "{summary:#}"
    );
    let signals = summary["pipelines"]["signals"]
        .as_object()
        .expect("signals by kind");
    assert!(
        signals
            .get("cart_abandoned")
            .and_then(|n| n.as_u64())
            .unwrap_or(0)
            > 0,
        "{summary:#}"
    );
    let features = summary["pipelines"]["features"]
        .as_object()
        .expect("features by type");
    for kind in ["sell_out", "occupancy"] {
        assert!(
            features.get(kind).and_then(|n| n.as_u64()).unwrap_or(0) > 0,
            "no {kind} features: {summary:#}"
        );
    }

    // The same seed gives the same run.
    let again = last_json(sellout(&data).args(SMALL_DEMO));
    assert_eq!(again["records"], summary["records"]);
    assert_eq!(again["log_end_offsets"], summary["log_end_offsets"]);
    // ...and the pipelines start over with it (the old checkpoint is gone).
    assert_eq!(
        again["pipelines"]["signals"],
        summary["pipelines"]["signals"]
    );
    assert_eq!(
        again["pipelines"]["features"],
        summary["pipelines"]["features"]
    );
    // Shoppers read the book with a fixed lag, so the closed loop is deterministic too.
    assert_eq!(again["pricing"], summary["pricing"], "{summary:#}");
    // Vouchers too: same installations, audiences, offers, outcomes and redemptions.
    assert_eq!(
        again["notifications"], summary["notifications"],
        "{summary:#}"
    );
    let n = &summary["notifications"];
    assert_eq!(n["reconciled"], true, "{n:#}");
    assert_eq!(n["duplicates"], 0, "{n:#}");
    assert!(n["campaigns"]["delivered"].as_u64().unwrap() > 0, "{n:#}");
    assert!(
        summary["board"]
            .as_str()
            .unwrap()
            .starts_with("http://127.0.0.1:")
    );
    assert!(summary["pricing"]["revenue_vs_list"].as_f64().unwrap() > 0.0);

    // The archive holds the day, and SQL over it counts what the log holds.
    assert!(
        summary["archived_files"].as_u64().unwrap() > 0,
        "{summary:#}"
    );
    let out = sellout(&data)
        .args([
            "sql",
            "--format",
            "json",
            "SELECT COUNT(*) AS n, COUNT(DISTINCT date) AS days FROM sales",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows[0]["n"], summary["log_end_offsets"]["sales"], "{rows}");
    let out = sellout(&data)
        .args(["sql", "--format", "csv", "SELECT COUNT(*) AS n FROM prices"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("n\n{}", summary["pricing"]["price_changes"]),
    );
    // Shoppers buy with quotes: every purchase carries the quote its cart took.
    assert!(
        summary["pricing"]["quotes_issued"].as_u64().unwrap() > 0,
        "{summary:#}"
    );
    let out = sellout(&data)
        .args([
            "sql",
            "--format",
            "json",
            "SELECT COUNT(*) AS n, COUNT(quote_id) AS quoted FROM sales WHERE kind = 'purchase'",
        ])
        .output()
        .unwrap();
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(rows[0]["n"].as_u64().unwrap() > 0, "{rows}");
    assert_eq!(rows[0]["n"], rows[0]["quoted"], "{rows}");
    let bad = sellout(&data).args(["sql", "SELEC 1"]).output().unwrap();
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("invalid query"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
    // The archive is training history: the models learn from the very features the
    // pipelines computed, as many snapshots as the archive holds.
    let snapshots: serde_json::Value = serde_json::from_slice(
        &sellout(&data)
            .args([
                "sql",
                "--format",
                "json",
                "SELECT COUNT(*) AS n, \
                SUM(CASE WHEN sales_7d >= sales_24h THEN 1 ELSE 0 END) AS with_week, \
                SUM(CASE WHEN hours_since_on_sale > 0 THEN 1 ELSE 0 END) AS after_on_sale \
                FROM features WHERE type = 'sell_out'",
            ])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let trained = last_json(sellout(&data).args(["train", "--archive"]));
    assert_eq!(trained["source"], "archive", "{trained}");
    assert_eq!(trained["trained"], 1, "{trained}");
    let n = snapshots[0]["n"].as_u64().unwrap();
    // The week's sales reach the archive (and training reads them), each at least its day's.
    assert_eq!(snapshots[0]["with_week"].as_u64(), Some(n), "{snapshots}");
    assert_eq!(
        snapshots[0]["after_on_sale"].as_u64(),
        Some(n),
        "{snapshots}"
    );
    let used = trained["snapshots"].as_u64().unwrap();
    // Snapshots after a category sold out are left out (their answer is certain).
    assert!(used > 0 && used <= n, "{trained} of {snapshots}");
    let again = last_json(
        sellout(&data)
            .args(["train", "--history"])
            .arg(data.join("archive")),
    );
    assert_eq!(
        (again["trained"].as_u64(), again["snapshots"].as_u64()),
        (Some(2), Some(used))
    );
}

#[test]
fn demo_refuses_a_data_directory_it_did_not_make() {
    let scratch = tempfile::tempdir().unwrap();
    let data = scratch.path().join("data");
    std::fs::create_dir_all(data.join("log/topics/sales")).unwrap();
    let out = sellout(&data)
        .args(["demo", "--headless", "--duration", "0s"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("did not make"));
}

#[test]
fn simulated_file_ingests_with_exact_counts() {
    let scratch = tempfile::tempdir().unwrap();
    let data = scratch.path().join("data");
    let file = scratch.path().join("season.jsonl");
    let sim = last_json(
        sellout(&data)
            .args([
                "simulate", "--seed", "3", "--scale", "0.02", "--limit", "20000", "--out",
            ])
            .arg(&file),
    );
    assert_eq!(sim["records"], 20000);
    // A broken line and a record for an unknown event ride along.
    let mut text = std::fs::read_to_string(&file).unwrap();
    text.push_str("{\"specversion\":\"1.0\",\"id\":\"x\"\n");
    std::fs::write(&file, text).unwrap();
    let report = last_json(sellout(&data).arg("ingest").arg(&file));
    assert_eq!(report["received"], 20001, "{report:#}");
    assert_eq!(report["accepted"], 20000, "{report:#}");
    assert_eq!(report["rejected"], 1);
}

/// One HTTP request with an optional API key and JSON body: (status, JSON body).
fn http(
    method: &str,
    url: &str,
    key: Option<&str>,
    body: Option<&serde_json::Value>,
) -> (u16, serde_json::Value) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let client = reqwest::Client::new();
        let mut request = match method {
            "POST" => client.post(url),
            "PUT" => client.put(url),
            _ => client.get(url),
        };
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
        )
    })
}

#[test]
fn simulate_posts_to_a_running_server() {
    let scratch = tempfile::tempdir().unwrap();
    let data = scratch.path().join("data");
    let file = scratch.path().join("warmup.jsonl");
    // Writes the catalog the server validates against.
    last_json(
        sellout(&data)
            .args([
                "simulate", "--seed", "5", "--scale", "0.02", "--limit", "10", "--out",
            ])
            .arg(&file),
    );
    let key = |kind: &str| {
        last_json(sellout(&data).args(["key", "new", "--kind", kind]))["key"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (portal, admin, ingest) = (key("portal"), key("admin"), key("ingest"));
    let mut server = sellout(&data)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut first = String::new();
    let mut stdout = BufReader::new(server.stdout.take().unwrap());
    stdout.read_line(&mut first).unwrap();
    let url = serde_json::from_str::<serde_json::Value>(&first).unwrap()["serve"]
        .as_str()
        .unwrap()
        .to_owned();
    let sent = sellout(&data)
        .args([
            "simulate", "--seed", "5", "--scale", "0.02", "--limit", "5000", "--batch", "700",
            "--to", &url,
        ])
        .env("SELLOUT_API_KEY", &ingest)
        .output()
        .unwrap();
    // Ingest, the pricing API and SQL, each for its own kind of key only.
    let post = format!("{url}/v1/records/sales");
    let sale = serde_json::json!([]);
    assert_eq!(http("POST", &post, None, Some(&sale)).0, 401);
    assert_eq!(http("POST", &post, Some(&portal), Some(&sale)).0, 403);
    let catalog: serde_json::Value =
        serde_json::from_slice(&std::fs::read(data.join("catalog.json")).unwrap()).unwrap();
    let event = catalog["events"][0]["event_id"].as_str().unwrap();
    let prices = format!("{url}/v1/events/{event}/prices");
    assert_eq!(http("GET", &prices, None, None).0, 401);
    assert_eq!(http("GET", &prices, Some(&admin), None).0, 403);
    let (status, body) = http("GET", &prices, Some(&portal), None);
    assert_eq!(status, 200, "{body}");
    assert!(body.to_string().contains("price_minor"), "{body}");
    let sql = format!("{url}/v1/sql");
    let count = serde_json::json!({ "sql": "SELECT COUNT(*) AS n FROM sales UNION ALL \
        SELECT COUNT(*) FROM beacons UNION ALL SELECT COUNT(*) FROM social UNION ALL \
        SELECT COUNT(*) FROM queues" });
    assert_eq!(http("POST", &sql, Some(&portal), Some(&count)).0, 403);
    let (status, body) = http("POST", &sql, Some(&admin), Some(&count));
    assert_eq!(status, 200, "{body}");
    let total: u64 = body["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["n"].as_u64().unwrap())
        .sum();
    assert_eq!(total, 5000, "{body}");
    let bad = serde_json::json!({ "sql": "DROP VIEW sales" });
    assert_eq!(http("POST", &sql, Some(&admin), Some(&bad)).0, 400);
    // An error while running is the query's fault: 400 with the reason, not a 500.
    let zero = serde_json::json!({ "sql": "SELECT 1 / 0 AS x" });
    let (status, body) = http("POST", &sql, Some(&admin), Some(&zero));
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap_or("")
            .to_lowercase()
            .contains("zero"),
        "{body}"
    );

    // One document describes every route: pricing, ingest and SQL.
    let (status, doc) = http("GET", &format!("{url}/openapi.json"), None, None);
    assert_eq!(status, 200);
    for (path, method) in [
        ("/v1/records/{topic}", "post"),
        ("/v1/cloudevents", "post"),
        ("/v1/ingest/counters", "get"),
        ("/v1/sql", "post"),
        ("/v1/quotes", "post"),
        ("/v1/admin/events/{event_id}", "put"),
        ("/v1/installations/{id}", "put"),
        ("/v1/campaigns/{id}/stats", "get"),
        ("/v1/redemptions", "post"),
    ] {
        assert!(
            doc["paths"][path][method].is_object(),
            "{method} {path} undocumented"
        );
    }

    // The notifier: installations for the app backend's key, campaigns for admins,
    // redemptions verified offline before they are recorded.
    let installation = serde_json::json!({ "installationId": "ins-test-1", "platform": "fcm",
        "pushChannel": "fcm-token-test", "locale": "en-GB", "tags": ["fan:gold", "cc:UK"] });
    let inst_url = format!("{url}/v1/installations/ins-test-1");
    assert_eq!(
        http("PUT", &inst_url, Some(&portal), Some(&installation)).0,
        403
    );
    let (status, body) = http("PUT", &inst_url, Some(&ingest), Some(&installation));
    assert_eq!(status, 200, "{body}");
    let (status, body) = http(
        "GET",
        &format!("{url}/v1/installations?tag_expression=fan:gold%20%26%26%20cc:UK"),
        Some(&ingest),
        None,
    );
    assert_eq!(
        (status, &body["count"]),
        (200, &serde_json::json!(1)),
        "{body}"
    );
    assert!(
        !body.to_string().contains("fcm-token-test"),
        "a list never shows tokens"
    );
    let (status, body) = http("GET", &format!("{url}/v1/campaigns"), Some(&admin), None);
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        http("GET", &format!("{url}/v1/campaigns"), Some(&ingest), None).0,
        403
    );
    let forged = serde_json::json!({ "voucher_code": "25SV-WSGQ-Q4SP-R0VM-GB76-X0XZ-RP6H", "stand_id": "bar-01" });
    let (status, body) = http(
        "POST",
        &format!("{url}/v1/redemptions"),
        Some(&ingest),
        Some(&forged),
    );
    assert_eq!(status, 422, "{body}");
    assert!(body["reason"].is_string(), "{body}");

    // An event added by an admin at run time is priced and its sales are accepted at
    // once: ingest validation shares the pricing replica's live catalog.
    let mut added = catalog["events"][0].clone();
    added["event_id"] = serde_json::json!("added-at-run-time");
    let put = format!("{url}/v1/admin/events/added-at-run-time");
    assert_eq!(http("PUT", &put, Some(&portal), Some(&added)).0, 403);
    let (status, body) = http("PUT", &put, Some(&admin), Some(&added));
    assert_eq!(status, 200, "{body}");
    let (status, _) = http(
        "GET",
        &format!("{url}/v1/events/added-at-run-time/prices"),
        Some(&portal),
        None,
    );
    assert_eq!(status, 200);
    let category = &added["categories"][0];
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let sale = serde_json::json!([{ "kind": "purchase", "event_id": "added-at-run-time",
        "category_id": category["category_id"], "session_id": "s-added", "quantity": 1,
        "unit_price_minor": category["list_price_minor"], "currency": category["currency"],
        "channel": "web", "time": now_ms }]);
    let (status, body) = http("POST", &post, Some(&ingest), Some(&sale));
    assert_eq!(
        (status, &body["accepted"]),
        (200, &serde_json::json!(1)),
        "{body}"
    );

    // SIGTERM: an orderly stop, after which the pipelines have processed every
    // record that was accepted.
    let term = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    assert!(server.wait().unwrap().success(), "serve exits cleanly");
    assert!(
        sent.status.success(),
        "{}",
        String::from_utf8_lossy(&sent.stderr)
    );
    let stopped: serde_json::Value =
        serde_json::from_str(rest.lines().last().expect("a summary line")).unwrap();
    let pipelines = &stopped["stopped"]["pipelines"];
    // The simulated records and the sale of the event added at run time.
    assert_eq!(pipelines["totals"]["records"], 5001, "{stopped:#}");
    assert!(
        pipelines["checkpoints"].as_u64().unwrap() >= 1,
        "{stopped:#}"
    );
    let report: serde_json::Value = serde_json::from_str(
        String::from_utf8_lossy(&sent.stdout)
            .lines()
            .last()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(report["records"], 5000);
    assert_eq!(report["accepted"], 5000, "{report:#}");
}
