//! The attendees' app in the demo: what a real app backend and the stands would do.
//!
//! - **Registers installations**: a signed-in shopper (a sale record with a customer
//!   id) gets the app with probability [`APP_SHARE`]; so does an attendee whose phone
//!   is seen by a beacon. Platform, locale and push token are drawn from a hash of the
//!   installation id, tags name the customer (`customer:<id>`, for cart reminders),
//!   the event and the venue. A few tokens are dead ([`DEAD_SHARE`]): the local APNs
//!   and FCM endpoints answer them as Apple and Google answer an uninstalled app.
//! - **Redeems vouchers**: a delivered voucher is used at its stand with a probability
//!   rising with its discount, at a time within its validity; the stand reports it on
//!   the `redemptions` topic.
//!
//! Every draw is a hash of ids, so the same records make the same installations,
//! tokens and redemptions on every run.

use std::collections::{BTreeMap, HashSet};

use sellout_ingest::catalog::Catalog;
use sellout_ingest::records::{AnyRecord, Topic, wire};
use sellout_notifier::delivery::{DELIVERIES_TOPIC, DeliveryRecord, Outcome, Redemption};
use sellout_notifier::installation::Platform;
use sellout_notifier::runtime::append_redemption;
use sellout_notifier::{EmbeddedStore, Installation};
use sellout_push::local::Fault;
use sellout_streams::{Offset, Transport};
use serde::Serialize;

use crate::notify::LocalEndpoints;

/// Share of shoppers and attendees with the app.
pub const APP_SHARE: f64 = 0.7;
/// Share of installations whose token is dead (app uninstalled).
pub const DEAD_SHARE: f64 = 0.02;
/// Bytes read per topic per step.
const READ_BYTES: usize = 4 << 20;

/// What the app did.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct AppSummary {
    /// Installations registered.
    pub installations: u64,
    /// Of which with a dead token.
    pub dead_tokens: u64,
    /// Redemptions reported by stands.
    pub redemptions_reported: u64,
}

/// The simulated app backend and stands; see the module docs.
#[derive(Default)]
pub struct AttendeeApp {
    sales: Offset,
    beacons: Offset,
    deliveries: Offset,
    registered: HashSet<String>,
    /// Redemptions due, by time (then notification id, for a stable order).
    due: BTreeMap<(i64, String), Redemption>,
    summary: AppSummary,
}

fn hash(s: &str, salt: u64) -> u64 {
    // FNV-1a, then a splitmix finaliser: stable across runs and platforms.
    let mut h = 0xcbf2_9ce4_8422_2325_u64 ^ salt;
    for b in s.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

fn unit(s: &str, salt: u64) -> f64 {
    (hash(s, salt) >> 11) as f64 / (1u64 << 53) as f64
}

fn locale(country: &str) -> &'static str {
    match country {
        "FR" | "BE" => "fr-FR",
        "DE" | "AT" => "de-DE",
        "ES" => "es-ES",
        "GB" | "IE" => "en-GB",
        _ => "en",
    }
}

impl AttendeeApp {
    /// What the app did so far.
    pub fn summary(&self) -> AppSummary {
        self.summary
    }

    /// Registers the installations the new records reveal, then reports the
    /// redemptions due by `now_ms`.
    pub fn step(
        &mut self,
        log: &dyn Transport,
        catalog: &Catalog,
        store: &EmbeddedStore,
        endpoints: &LocalEndpoints,
        now_ms: i64,
    ) -> anyhow::Result<()> {
        let fetched = log.read(Topic::Sales.as_str(), self.sales, READ_BYTES)?;
        for r in fetched.records() {
            if let Ok(AnyRecord::Sales(s)) = wire::decode(Topic::Sales, r.value)
                && let Some(customer) = &s.customer_id
            {
                let installation = customer.replacen("cus-", "ins-", 1);
                let country = catalog
                    .event(&s.event_id)
                    .and_then(|e| catalog.venue(&e.venue_id))
                    .map_or("", |v| v.country.as_str());
                let tags = vec![
                    format!("customer:{customer}"),
                    format!("event:{}", s.event_id),
                ];
                self.register(
                    store,
                    endpoints,
                    &installation,
                    Some(customer),
                    country,
                    tags,
                )?;
            }
        }
        if !fetched.is_empty() {
            self.sales = fetched.next_offset();
        }
        let fetched = log.read(Topic::Beacons.as_str(), self.beacons, READ_BYTES)?;
        for r in fetched.records() {
            if let Ok(AnyRecord::Beacons(b)) = wire::decode(Topic::Beacons, r.value) {
                let country = catalog
                    .venue(&b.venue_id)
                    .map_or("", |v| v.country.as_str());
                let tags = vec![format!("venue:{}", b.venue_id)];
                self.register(store, endpoints, &b.installation_id, None, country, tags)?;
            }
        }
        if !fetched.is_empty() {
            self.beacons = fetched.next_offset();
        }
        self.plan_redemptions(log)?;
        let later = self.due.split_off(&(now_ms + 1, String::new()));
        for redemption in std::mem::replace(&mut self.due, later).into_values() {
            append_redemption(log, &redemption)?;
            self.summary.redemptions_reported += 1;
        }
        Ok(())
    }

    fn register(
        &mut self,
        store: &EmbeddedStore,
        endpoints: &LocalEndpoints,
        installation: &str,
        customer: Option<&str>,
        country: &str,
        tags: Vec<String>,
    ) -> anyhow::Result<()> {
        if self.registered.contains(installation) {
            return Ok(());
        }
        self.registered.insert(installation.to_owned());
        if unit(installation, 1) >= APP_SHARE {
            return Ok(());
        }
        let platform = if unit(installation, 2) < 0.55 {
            Platform::Apns
        } else {
            Platform::Fcm
        };
        let token = match platform {
            Platform::Apns => format!(
                "{:016x}{:016x}{:016x}{:016x}",
                hash(installation, 3),
                hash(installation, 4),
                hash(installation, 5),
                hash(installation, 6)
            ),
            Platform::Fcm => format!(
                "fcm-{:016x}{:016x}",
                hash(installation, 3),
                hash(installation, 4)
            ),
        };
        if unit(installation, 7) < DEAD_SHARE {
            match platform {
                Platform::Apns => endpoints.apns.inject(&token, Fault::Unregistered),
                Platform::Fcm => endpoints.fcm.inject(&token, Fault::Unregistered),
            }
            self.summary.dead_tokens += 1;
        }
        // A companion's phone (`ins-000123-2`) belongs to the buyer's group.
        let customer = customer.map(str::to_owned).or_else(|| {
            let base = installation
                .split('-')
                .take(2)
                .collect::<Vec<_>>()
                .join("-");
            (base == installation).then(|| installation.replacen("ins-", "cus-", 1))
        });
        let mut tags = tags;
        if let Some(c) = &customer {
            let tag = format!("customer:{c}");
            if !tags.contains(&tag) {
                tags.push(tag);
            }
        }
        store.upsert(Installation {
            installation_id: installation.to_owned(),
            platform,
            push_channel: token,
            locale: locale(country).to_owned(),
            tags,
            customer_id: customer,
            expiration_ms: None,
        })?;
        self.summary.installations += 1;
        Ok(())
    }

    /// Delivered vouchers are redeemed with probability `2% × percent − 5%` (10% → 15%,
    /// 20% → 35%), at a time within their validity.
    fn plan_redemptions(&mut self, log: &dyn Transport) -> anyhow::Result<()> {
        let fetched = log.read(DELIVERIES_TOPIC, self.deliveries, READ_BYTES)?;
        for r in fetched.records() {
            let Ok(d) = DeliveryRecord::from_json(r.value) else {
                continue;
            };
            let (Outcome::Delivered, Some(code), Some(offer), Some(expires)) =
                (d.outcome, &d.voucher_code, &d.offer, d.voucher_expires_ms)
            else {
                continue;
            };
            let id = d.notification_id.to_string();
            let p = (0.02 * f64::from(offer.percent) - 0.05).clamp(0.0, 0.9);
            if unit(&id, 8) >= p {
                continue;
            }
            let span = (expires - d.time_ms).max(1) as f64;
            let at = d.time_ms + (unit(&id, 9) * span * 0.9) as i64;
            let stand = offer
                .stand
                .clone()
                .or(d.zone_id.clone())
                .unwrap_or_else(|| "box-office".to_owned());
            self.due.insert(
                (at, id),
                Redemption {
                    voucher_code: code.clone(),
                    time_ms: at,
                    stand_id: stand,
                },
            );
        }
        if !fetched.is_empty() {
            self.deliveries = fetched.next_offset();
        }
        Ok(())
    }
}

/// The notifier of the demo: the runtime sending to local APNs and FCM endpoints over
/// HTTP/2 TLS, the demo's campaigns, and the attendees' app, all driven by simulated
/// time on one tokio thread.
pub struct DemoNotifier {
    tokio: tokio::runtime::Runtime,
    store: std::sync::Arc<EmbeddedStore>,
    runtime: sellout_notifier::runtime::Runtime,
    endpoints: LocalEndpoints,
    app: AttendeeApp,
    catalog: std::sync::Arc<Catalog>,
    log: std::sync::Arc<dyn Transport>,
}

/// What the notifier did in the demo.
#[derive(Debug, Clone, Serialize)]
pub struct NotificationsSummary {
    /// The app's side.
    pub app: AppSummary,
    /// The runtime's totals.
    pub runtime: sellout_notifier::runtime::PollReport,
    /// Every campaign's counters summed.
    pub campaigns: sellout_notifier::CampaignStats,
    /// Per-campaign counters add up (targeted = sent + pending + suppressed, ...).
    pub reconciled: bool,
    /// Notifications the local endpoints accepted (APNs, FCM) and duplicates they saw.
    pub endpoints_delivered: (u64, u64),
    /// Duplicates seen by the endpoints (must be 0).
    pub duplicates: u64,
}

impl DemoNotifier {
    /// Starts the endpoints and the runtime with one campaign per stand.
    pub fn new(
        config: &crate::config::Config,
        log: std::sync::Arc<dyn Transport>,
        catalog: std::sync::Arc<Catalog>,
        clock: std::sync::Arc<dyn sellout_streams::Clock>,
        seed: u64,
    ) -> anyhow::Result<Self> {
        let tokio = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let settings = crate::notify::NotifierConfig {
            local_endpoints: true,
            ..config.notifier.clone()
        };
        let (senders, endpoints) =
            tokio.block_on(crate::notify::senders(&settings, None, clock))?;
        let endpoints = endpoints.ok_or_else(|| anyhow::anyhow!("no local endpoints"))?;
        let campaigns = crate::notify::demo_campaigns(&catalog)?;
        // The demo feeds records in steps of up to hours of simulated time; plan each
        // trigger three minutes after its event time, about when the pipelines emit it
        // (the minute closes, then the watermark and allowed lateness pass), as a
        // notifier following the stream would.
        // Vouchers are remembered 30 days past expiry: early in a sale one step of the
        // demo spans days of simulated time, and a stand's redemption is read only after
        // the notifier planned that step's later triggers.
        let engine_config = sellout_notifier::EngineConfig {
            retention_margin_ms: 30 * 24 * 3_600_000,
            ..sellout_notifier::EngineConfig::default()
        };
        let store = crate::notify::embedded_store(config)?;
        let runtime = crate::notify::runtime(
            config,
            sellout_notifier::runtime::Directory::Embedded(store.clone()),
            log.clone(),
            senders,
            campaigns,
            seed,
            engine_config,
        )?
        .replay_lag(Some(3 * 60_000));
        Ok(Self {
            tokio,
            store,
            runtime,
            endpoints,
            app: AttendeeApp::default(),
            catalog,
            log,
        })
    }

    /// The app registers and redeems, then the notifier polls, at simulated `now_ms`.
    pub fn step(&mut self, now_ms: i64) -> anyhow::Result<()> {
        self.app.step(
            self.log.as_ref(),
            &self.catalog,
            &self.store,
            &self.endpoints,
            now_ms,
        )?;
        self.tokio.block_on(self.runtime.poll(now_ms))?;
        Ok(())
    }

    /// Lets the last vouchers be redeemed (validity is minutes), then sums up.
    pub fn finish(mut self, end_ms: i64) -> anyhow::Result<NotificationsSummary> {
        for later in [end_ms, end_ms + 30 * 60_000] {
            self.step(later)?;
        }
        self.store.compact()?;
        let engine = self
            .runtime
            .engine()
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let mut total = sellout_notifier::CampaignStats::default();
        let mut reconciled = true;
        for c in engine.campaigns() {
            let s = engine.stats(c.id());
            reconciled &= s.reconciles();
            total.absorb(&s);
        }
        drop(engine);
        Ok(NotificationsSummary {
            app: self.app.summary(),
            runtime: self.runtime.totals(),
            reconciled: reconciled && total.reconciles(),
            campaigns: total,
            endpoints_delivered: (
                self.endpoints.apns.delivered(),
                self.endpoints.fcm.delivered(),
            ),
            duplicates: self.endpoints.apns.duplicates() + self.endpoints.fcm.duplicates(),
        })
    }
}
