//! `sellout simulate`: simulated records to a CloudEvents JSON Lines file, or POSTed to a
//! running `sellout serve` in CloudEvents batches.
//!
//! The catalog and ground truth go to the data directory, so `sellout ingest` and
//! `sellout serve` run there validate against the same events. Unless `--start` says
//! otherwise, the simulated span is placed so that it has just ended: the records are
//! history, and validation (which rejects records far in the future) accepts them.

use std::io::Write as _;
use std::sync::Arc;

use anyhow::Context as _;
use sellout_ingest::decode::cloudevents;
use sellout_ingest::records::{AnyRecord, time};
use sellout_simulator::{ListPrices, SimConfig, Simulation};
use sellout_streams::{Clock as _, SystemClock};

use crate::cli::SimulateArgs;
use crate::config::Config;

/// CloudEvents `source` of simulated records.
const SOURCE: &str = "urn:sellout:simulator";

pub fn run(config: &Config, args: SimulateArgs) -> anyhow::Result<()> {
    let sim = build(config, &args)?;
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("cannot create {}", config.data_dir.display()))?;
    sim.catalog().save(&config.catalog_path())?;
    std::fs::write(config.truth_path(), serde_json::to_vec_pretty(sim.truth())?)?;
    let seed = config.simulator.seed ^ args.seed.unwrap_or(0);
    let limit = args.limit.unwrap_or(u64::MAX);
    let records = sim.take(usize::try_from(limit).unwrap_or(usize::MAX));
    let summary = match (&args.out, &args.to) {
        (Some(path), _) => write_file(path, records, seed)?,
        (None, Some(url)) => post(
            url,
            records,
            seed,
            args.batch.max(1),
            args.api_key.as_deref(),
        )?,
        (None, None) => anyhow::bail!("give --out FILE or --to URL"),
    };
    println!("{}", serde_json::to_string(&summary)?);
    Ok(())
}

/// A simulation placed at `--start`, or ending now.
fn build(config: &Config, args: &SimulateArgs) -> anyhow::Result<Simulation> {
    let mut sim_config: SimConfig = config.simulator.clone();
    if let Some(seed) = args.seed {
        sim_config.seed = seed;
    }
    if let Some(scale) = args.scale {
        anyhow::ensure!(
            scale > 0.0 && scale.is_finite(),
            "--scale must be positive, got {scale}"
        );
        sim_config.scale = scale;
    }
    match &args.start {
        Some(start) => sim_config.start = time::parse_rfc3339(start).map_err(anyhow::Error::msg)?,
        None => {
            let probe = Simulation::new(sim_config.clone(), Arc::new(ListPrices))?;
            let (from, to) = probe.horizon();
            let hour = 3_600_000;
            let end = SystemClock.now_ms() / hour * hour - hour;
            sim_config.start = sim_config.start - from + end - (to - from);
        }
    }
    Ok(Simulation::new(sim_config, Arc::new(ListPrices))?)
}

fn write_file(
    path: &std::path::Path,
    records: impl Iterator<Item = AnyRecord>,
    seed: u64,
) -> anyhow::Result<serde_json::Value> {
    let file =
        std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
    let mut n = 0u64;
    for record in records {
        let event = cloudevents::to_structured(&record, &format!("{seed}-{n}"), SOURCE);
        serde_json::to_writer(&mut out, &event)?;
        out.write_all(b"\n")?;
        n += 1;
    }
    out.flush()
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(serde_json::json!({ "simulate": "file", "path": path.display().to_string(), "records": n }))
}

fn post(
    url: &str,
    records: impl Iterator<Item = AnyRecord>,
    seed: u64,
    batch: usize,
    api_key: Option<&str>,
) -> anyhow::Result<serde_json::Value> {
    let endpoint = format!("{}/v1/cloudevents", url.trim_end_matches('/'));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let client = reqwest::Client::new();
    let (mut sent, mut accepted, mut rejected) = (0u64, 0u64, 0u64);
    let mut pending = Vec::with_capacity(batch);
    let mut records = records.peekable();
    while records.peek().is_some() {
        pending.clear();
        for record in records.by_ref().take(batch) {
            pending.push(cloudevents::to_structured(
                &record,
                &format!("{seed}-{sent}"),
                SOURCE,
            ));
            sent += 1;
        }
        let body = serde_json::to_vec(&pending)?;
        let report: serde_json::Value =
            runtime.block_on(send_with_retry(&client, &endpoint, api_key, body))?;
        accepted += report["accepted"].as_u64().unwrap_or(0);
        rejected += report["rejected"].as_u64().unwrap_or(0);
    }
    Ok(
        serde_json::json!({ "simulate": "http", "url": endpoint, "records": sent, "accepted": accepted, "rejected": rejected }),
    )
}

/// POSTs one batch, waiting out 429 and 503 answers as `Retry-After` says.
async fn send_with_retry(
    client: &reqwest::Client,
    endpoint: &str,
    api_key: Option<&str>,
    body: Vec<u8>,
) -> anyhow::Result<serde_json::Value> {
    for attempt in 0..20u32 {
        let mut request = client
            .post(endpoint)
            .header("content-type", "application/cloudevents-batch+json");
        if let Some(key) = api_key {
            request = request.bearer_auth(key);
        }
        let response = request
            .body(body.clone())
            .send()
            .await
            .with_context(|| format!("cannot reach {endpoint}"))?;
        let status = response.status();
        if status.as_u16() == 429 || status.as_u16() == 503 {
            let wait = response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(1);
            tracing::info!(message = "Server busy; retrying.", %status, attempt, wait_s = wait);
            tokio::time::sleep(std::time::Duration::from_secs(wait)).await;
            continue;
        }
        let text = response.text().await?;
        anyhow::ensure!(
            status.is_success() || status.as_u16() == 422,
            "{endpoint} answered {status}: {text}"
        );
        return serde_json::from_str(&text)
            .with_context(|| format!("{endpoint} answered with invalid JSON"));
    }
    anyhow::bail!("{endpoint} stayed busy after 20 attempts")
}
