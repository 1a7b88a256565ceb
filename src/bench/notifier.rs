//! `sellout bench notifier`: a million personalised notifications to an audience a tag
//! expression picks from ten million installations, rendered by the campaign engine
//! and sent through the real HTTP/2 senders (APNs token auth, FCM OAuth) to the local
//! endpoints that speak both protocols, mixed APNs/FCM, all on this machine.
//!
//! Phases: build the store (synthetic installations, reported, not part of the figure),
//! load it from its snapshot as a restarted notifier would, select the audience
//! (`audience_select_ms`), then plan and send in batches (`seconds`, `per_sec`). Peak
//! RSS is the process's high-water mark, the store included.

use std::sync::Arc;
use std::time::Instant;

use sellout_notifier::audience_bench;
use sellout_notifier::campaign::{CampaignsFile, Recipient, Trigger, TriggerKind};
use sellout_notifier::delivery::Outcome;
use sellout_notifier::runtime::Addressed;
use sellout_notifier::voucher::VoucherKeys;
use sellout_notifier::{EmbeddedOptions, EmbeddedStore, Engine, EngineConfig, TagExpr};
use sellout_streams::{Clock, SystemClock};

use crate::config::Config;

/// The audience: about a tenth of the synthetic installations.
const EXPRESSION: &str = "sport:football && !fan:gold && lang:en";
/// Notifications sent at most.
const NOTIFICATIONS: usize = 1_000_000;
/// Recipients planned and sent per batch (bounds the memory of payloads in flight).
const BATCH: usize = 10_000;

const CAMPAIGN: &str = r#"
[[campaign]]
id = "bench-matchday"
trigger = { kind = "surge" }
audience = { tags = "sport:football && !fan:gold && lang:en" }
validity_minutes = 60
default_locale = "en"
push = { sound = "default", time_sensitive = false }
[campaign.templates.en]
title = "Tickets are going fast"
body = "Installation $(installation): your $(locale) match alert. Seats for $(event) are selling quickly."
"#;

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

pub fn run(_config: &Config, installations: u64) -> anyhow::Result<serde_json::Value> {
    let dir = tempfile::tempdir()?;
    eprintln!("building {installations} synthetic installations...");
    let built = audience_bench::build(dir.path(), installations, 7)?;
    let started = Instant::now();
    let store = EmbeddedStore::open(dir.path(), EmbeddedOptions::default())?;
    let load_seconds = started.elapsed().as_secs_f64();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let now = clock.now_ms();
    let expr = TagExpr::parse(EXPRESSION)?;
    let started = Instant::now();
    let audience = store.select(Some(&expr), None, now);
    let audience_select_ms = started.elapsed().as_secs_f64() * 1e3;
    let slots: Vec<u32> = audience.iter().take(NOTIFICATIONS).collect();
    eprintln!(
        "audience {} of {installations} in {audience_select_ms:.2} ms; sending {}...",
        audience.len(),
        slots.len()
    );

    let tokio = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let settings = crate::notify::NotifierConfig {
        local_endpoints: true,
        concurrency: 1_000,
        ..crate::notify::NotifierConfig::default()
    };
    let (senders, endpoints) =
        tokio.block_on(crate::notify::senders(&settings, None, clock.clone()))?;
    let endpoints = endpoints.ok_or_else(|| anyhow::anyhow!("no local endpoints"))?;
    let campaigns = CampaignsFile::parse_toml(CAMPAIGN)?;
    let mut engine = Engine::new(
        campaigns,
        VoucherKeys::new(1, &[9u8; 32])?,
        EngineConfig::default(),
    );
    let trigger = Trigger {
        id: 1,
        kind: TriggerKind::Surge,
        time_ms: now,
        event_id: Some("bench-final".into()),
        venue_id: None,
        zone_id: None,
        category_id: None,
        value: 4.0,
        customer_id: None,
        properties: Default::default(),
    };

    let started = Instant::now();
    let (mut planned, mut delivered, mut other) = (0u64, 0u64, 0u64);
    let mut payload_bytes = 0u64;
    // Planning and sending take turns: overlapping them (tried) gained nothing on 2
    // cores, where the endpoints' own work competes too, and held two batches at once.
    let mut plan_seconds = 0.0;
    for chunk in slots.chunks(BATCH) {
        let planning = Instant::now();
        let bitmap: roaring::RoaringBitmap = chunk.iter().copied().collect();
        let installs = store.resolve(&bitmap, chunk.len());
        let recipients: Vec<Recipient> = installs
            .iter()
            .map(|i| Recipient {
                installation_id: i.installation_id.clone(),
                platform: i.platform,
                locale: i.locale.clone(),
                customer_id: i.customer_id.clone(),
                properties: Default::default(),
            })
            .collect();
        let plan = engine.plan(&trigger, recipients.iter(), now);
        planned += plan.notifications.len() as u64;
        let tokens: std::collections::HashMap<&str, &str> = installs
            .iter()
            .map(|i| (i.installation_id.as_str(), i.push_channel.as_str()))
            .collect();
        let batch: Vec<Addressed> = plan
            .notifications
            .into_iter()
            .map(|p| {
                payload_bytes += match &p.payload {
                    sellout_notifier::payload::Payload::Apns(a) => a.body.len() as u64,
                    sellout_notifier::payload::Payload::Fcm(f) => f.size as u64,
                };
                let token = tokens
                    .get(p.record.installation_id.as_str())
                    .map(|t| (*t).to_owned());
                Addressed { planned: p, token }
            })
            .collect();
        plan_seconds += planning.elapsed().as_secs_f64();
        for outcome in tokio.block_on(senders.send(batch, now)) {
            match outcome.outcome {
                Outcome::Delivered => delivered += 1,
                _ => other += 1,
            }
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let (apns, fcm) = (endpoints.apns.delivered(), endpoints.fcm.delivered());
    anyhow::ensure!(
        apns + fcm == delivered,
        "the endpoints accepted {} but the senders counted {delivered}",
        apns + fcm
    );
    Ok(serde_json::json!({
        "bench": "notifier",
        "installations": installations,
        "build_insert_seconds": built.insert_secs,
        "load_seconds": load_seconds,
        "audience": audience.len(),
        "audience_select_ms": audience_select_ms,
        "notifications": planned,
        "delivered": delivered,
        "not_delivered": other,
        "apns": apns,
        "fcm": fcm,
        "duplicates": endpoints.apns.duplicates() + endpoints.fcm.duplicates(),
        "mean_payload_bytes": payload_bytes as f64 / planned.max(1) as f64,
        "seconds": seconds,
        "plan_seconds": plan_seconds,
        "per_sec": (planned as f64 / seconds).round(),
        "peak_rss_mb": peak_rss_mb(),
        "cores": std::thread::available_parallelism().map(usize::from).unwrap_or(1),
    }))
}
