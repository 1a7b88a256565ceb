//! The notifier in the binary: `[notifier]` settings, the voucher key, the campaigns
//! (a file, or for the demo one per stand of the catalog), the push senders (real
//! APNs/FCM credentials, or the local endpoints that speak both protocols), and the
//! Thompson-sampling offer chooser of the models crate behind the notifier's trait.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use rand::SeedableRng as _;
use rand_chacha::ChaCha8Rng;
use sellout_ingest::catalog::{Catalog, ZoneKind};
use sellout_notifier::campaign::{Campaign, CampaignsFile, Offer, OfferChooser, OfferContext};
use sellout_notifier::runtime::{Directory, Runtime, Senders};
use sellout_notifier::{EmbeddedOptions, EmbeddedStore, Engine, EngineConfig};
use sellout_push::local::{self, ApnsServer, ApnsServerConfig, FcmServer, FcmServerConfig};
use sellout_push::{ApnsClient, ApnsConfig, FcmClient, FcmConfig};
use sellout_streams::{Clock, Transport};
use serde::{Deserialize, Serialize};

use crate::config::Config;

/// `[notifier]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NotifierConfig {
    /// Run the notifier in `sellout serve`.
    pub enabled: bool,
    /// Campaigns file (TOML, see `notifier/campaigns.example.toml`); default
    /// `<data_dir>/campaigns.toml` when it exists, else no campaigns until some are PUT.
    pub campaigns: Option<PathBuf>,
    /// Milliseconds between polls of the streams.
    pub poll_interval_ms: u64,
    /// Sends in flight at most.
    pub concurrency: usize,
    /// APNs credentials; none: iOS installations fail with `no_sender`.
    pub apns: Option<ApnsSettings>,
    /// FCM credentials; none: Android installations fail with `no_sender`.
    pub fcm: Option<FcmSettings>,
    /// Send to local endpoints started in-process that speak the APNs and FCM protocols
    /// (the demo, trials): no credentials needed, nothing leaves the machine.
    pub local_endpoints: bool,
    /// Keep installations in PostgreSQL (a libpq connection string) shared by a fleet of
    /// notifier instances, instead of the embedded store of the data directory. A
    /// secret when it holds a password: set it with `SELLOUT__NOTIFIER__POSTGRES`.
    #[serde(skip_serializing)]
    pub postgres: Option<String>,
    /// Backfills and drills that feed history: plan each trigger as of its own event
    /// time plus this many milliseconds instead of as of now, so triggers older than
    /// their offer's validity are acted on (and a replay decides the same way every
    /// time). Unset (live): such triggers are stale and skipped.
    pub replay_lag_ms: Option<i64>,
}

impl Default for NotifierConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            campaigns: None,
            poll_interval_ms: 500,
            concurrency: 512,
            apns: None,
            fcm: None,
            local_endpoints: false,
            postgres: None,
            replay_lag_ms: None,
        }
    }
}

/// `[notifier.apns]`: token-based provider authentication.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApnsSettings {
    /// The `.p8` signing key (PKCS#8 PEM) file.
    pub key_file: PathBuf,
    /// Its key id (`kid`).
    pub key_id: String,
    /// The team id (`iss`).
    pub team_id: String,
    /// The app's bundle id (`apns-topic`).
    pub topic: String,
    /// Default `https://api.push.apple.com`.
    #[serde(default)]
    pub base_url: Option<String>,
    /// An extra root certificate (PEM) to trust.
    #[serde(default)]
    pub extra_root_file: Option<PathBuf>,
}

/// `[notifier.fcm]`: a service account of the Firebase project.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FcmSettings {
    /// The service-account key JSON file.
    pub service_account_file: PathBuf,
    /// Default `https://fcm.googleapis.com`.
    #[serde(default)]
    pub base_url: Option<String>,
    /// An extra root certificate (PEM) to trust.
    #[serde(default)]
    pub extra_root_file: Option<PathBuf>,
}

/// Local endpoints kept alive while they are used.
pub struct LocalEndpoints {
    /// The APNs-speaking server.
    pub apns: ApnsServer,
    /// The FCM-speaking server.
    pub fcm: FcmServer,
}

fn read(path: &PathBuf) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

/// The senders `settings` ask for; with `local_endpoints`, starts those (call inside
/// the tokio runtime that will drive them). `apns_token_file` keeps the APNs provider
/// token across restarts (see `ApnsConfig::token_file`).
pub async fn senders(
    settings: &NotifierConfig,
    apns_token_file: Option<PathBuf>,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<(Senders, Option<LocalEndpoints>)> {
    let mut senders = Senders {
        concurrency: settings.concurrency.max(1),
        ..Senders::default()
    };
    if settings.local_endpoints {
        let apns = ApnsServer::start(ApnsServerConfig::default(), clock.clone()).await?;
        let key = local::apns_test_key_pem();
        let public = sellout_push::jwt::Es256Key::from_pem(key.as_bytes())?.public_key();
        apns.register_key("LOCALKEY01", "LOCALTEAM1", public);
        let mut cfg = ApnsConfig::new(
            key,
            "LOCALKEY01".into(),
            "LOCALTEAM1".into(),
            "app.sellout.demo".into(),
        );
        cfg.base_url = apns.base_url();
        cfg.extra_root_pem = Some(apns.cert_pem());
        senders.apns = Some(ApnsClient::new(cfg, clock.clone())?);
        let fcm = FcmServer::start(FcmServerConfig::default(), clock.clone()).await?;
        let account = local::test_service_account_json(&fcm.token_uri());
        fcm.register_service_account(&account)?;
        let mut cfg = FcmConfig::new(account);
        cfg.base_url = fcm.base_url();
        cfg.extra_root_pem = Some(fcm.cert_pem());
        senders.fcm = Some(FcmClient::new(cfg, clock)?);
        return Ok((senders, Some(LocalEndpoints { apns, fcm })));
    }
    if let Some(a) = &settings.apns {
        let key = String::from_utf8(read(&a.key_file)?).context("the APNs key file is not text")?;
        let mut cfg = ApnsConfig::new(key, a.key_id.clone(), a.team_id.clone(), a.topic.clone());
        if let Some(url) = &a.base_url {
            cfg.base_url.clone_from(url);
        }
        cfg.extra_root_pem = a.extra_root_file.as_ref().map(read).transpose()?;
        cfg.token_file = apns_token_file;
        senders.apns = Some(ApnsClient::new(cfg, clock.clone()).context("APNs settings")?);
    }
    if let Some(f) = &settings.fcm {
        let account = String::from_utf8(read(&f.service_account_file)?)
            .context("the FCM service account file is not text")?;
        let mut cfg = FcmConfig::new(account);
        if let Some(url) = &f.base_url {
            cfg.base_url.clone_from(url);
        }
        cfg.extra_root_pem = f.extra_root_file.as_ref().map(read).transpose()?;
        senders.fcm = Some(FcmClient::new(cfg, clock).context("FCM settings")?);
    }
    Ok((senders, None))
}

/// The campaigns of the configured file, if any.
pub fn campaigns(config: &Config) -> anyhow::Result<Vec<Campaign>> {
    let path = config
        .notifier
        .campaigns
        .clone()
        .unwrap_or_else(|| config.data_dir.join("campaigns.toml"));
    if !path.exists() {
        anyhow::ensure!(
            config.notifier.campaigns.is_none(),
            "campaigns file {} does not exist",
            path.display()
        );
        return Ok(Vec::new());
    }
    let text = String::from_utf8(read(&path)?).context("the campaigns file is not text")?;
    CampaignsFile::parse_toml(&text).with_context(|| format!("in {}", path.display()))
}

/// The demo's campaigns: for every food, bar and merchandise stand of the catalog, a
/// voucher for people near it while its queue is short (10% or 20%, chosen by the
/// offer model), and a reminder for abandoned carts over 100 in the event's currency.
pub fn demo_campaigns(catalog: &Catalog) -> anyhow::Result<Vec<Campaign>> {
    let mut toml = String::from(CART_REMINDER);
    for venue in &catalog.venues {
        let offset = match venue.country.as_str() {
            "GB" | "IE" | "PT" => "+00:00",
            _ => "+01:00",
        };
        for zone in &venue.zones {
            let kind = match zone.kind {
                ZoneKind::Food => "food",
                ZoneKind::Bar => "drink",
                ZoneKind::Merch => "merchandise",
                _ => continue,
            };
            toml.push_str(&format!(
                r#"
[[campaign]]
id = "short-queue-{venue_id}-{zone_id}"
description = "{kind} voucher near {name} while its queue is short"
venue_id = "{venue_id}"
trigger = {{ kind = "queue_short", zone = "{zone_id}" }}
audience = {{ near_zone = {{ within_minutes = 10 }} }}
offer = {{ choose_from = [{{ kind = "{kind}", percent = 10, stand = "{name}" }}, {{ kind = "{kind}", percent = 20, stand = "{name}" }}] }}
validity_minutes = 5
caps = {{ per_hour = 1, per_day = 4 }}
quiet_hours = {{ start = "23:30", end = "08:00" }}
utc_offset = "{offset}"
default_locale = "en"
{TEMPLATES}"#,
                zone_id = zone.zone_id,
                venue_id = venue.venue_id,
                name = zone.name.replace('"', "'"),
            ));
        }
    }
    CampaignsFile::parse_toml(&toml).context("the demo campaigns")
}

const CART_REMINDER: &str = r#"
[[campaign]]
id = "cart-reminder"
description = "Seats left in a cart worth more than 100"
trigger = { kind = "cart_abandoned", value_above_minor = 10000 }
offer = { kind = "ticket", percent = 5 }
validity_minutes = 30
caps = { per_day = 1 }
default_locale = "en"
[campaign.templates.en]
title = "Your seats are still waiting"
body = "Come back within 30 minutes: $(offer.percent)% off with $(voucher.code)."
[campaign.templates.fr]
title = "Vos places vous attendent"
body = "Revenez dans les 30 minutes : -$(offer.percent) % avec $(voucher.code)."
[campaign.templates.de]
title = "Ihre Plätze warten"
body = "Kommen Sie in 30 Minuten zurück: $(offer.percent) % Rabatt mit $(voucher.code)."
"#;

const TEMPLATES: &str = r#"
[campaign.templates.en]
title = "$(offer.percent)% off at $(offer.stand)"
body = "No queue right now. Show $(voucher.code) before $(voucher.expires_local)."
[campaign.templates.fr]
title = "-$(offer.percent) % chez $(offer.stand)"
body = "Pas d'attente en ce moment. Montrez $(voucher.code) avant $(voucher.expires_local)."
[campaign.templates.de]
title = "$(offer.percent) % Rabatt bei $(offer.stand)"
body = "Gerade keine Schlange. Zeigen Sie $(voucher.code) bis $(voucher.expires_local)."
[campaign.templates.es]
title = "$(offer.percent) % en $(offer.stand)"
body = "Sin cola ahora mismo. Muestra $(voucher.code) antes de las $(voucher.expires_local)."
"#;

/// The models crate's Thompson sampler as the notifier's offer chooser: one Beta
/// posterior per (zone, hour of day, offer), expected margin per voucher sent.
pub struct ThompsonOffers {
    chooser: sellout_models::offers::OfferChooser,
    rng: ChaCha8Rng,
}

impl ThompsonOffers {
    /// A chooser whose draws follow `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            chooser: sellout_models::offers::OfferChooser::default(),
            rng: ChaCha8Rng::seed_from_u64(seed),
        }
    }

    fn bucket(context: &OfferContext) -> String {
        format!(
            "{}/{:02}",
            context.zone_id.as_deref().unwrap_or("-"),
            context.local_hour
        )
    }

    fn id(offer: &Offer) -> String {
        format!("{:?}-{}", offer.kind, offer.percent)
    }
}

/// Margin a redeemed voucher leaves on an average basket of 12.00 at a 35% gross
/// margin, in minor units.
fn margin_minor(offer: &Offer) -> i64 {
    1_200 * (35 - i64::from(offer.percent)) / 100
}

impl OfferChooser for ThompsonOffers {
    fn choose(&mut self, options: &[Offer], context: &OfferContext) -> usize {
        let offers: Vec<sellout_models::offers::Offer> = options
            .iter()
            .map(|o| sellout_models::offers::Offer {
                id: Self::id(o),
                margin_minor: margin_minor(o),
            })
            .collect();
        let bucket = Self::bucket(context);
        self.chooser
            .choose(&bucket, &offers, &mut self.rng)
            .and_then(|chosen| offers.iter().position(|o| o.id == chosen.id))
            .unwrap_or(0)
    }

    fn observe(&mut self, offer: &Offer, context: &OfferContext, redeemed: bool) {
        self.chooser
            .update(&Self::bucket(context), &Self::id(offer), redeemed);
    }
}

/// The data directory's embedded installations store.
pub fn embedded_store(config: &Config) -> anyhow::Result<Arc<EmbeddedStore>> {
    Ok(Arc::new(
        EmbeddedStore::open(
            &config.data_dir.join("installations"),
            EmbeddedOptions::default(),
        )
        .context("cannot open the installations store")?,
    ))
}

/// Where installations live: PostgreSQL when `notifier.postgres` is set (call inside
/// a tokio runtime), else the data directory's embedded store.
pub async fn directory(config: &Config) -> anyhow::Result<Directory> {
    match &config.notifier.postgres {
        Some(conn) => {
            let store = sellout_notifier::PostgresStore::connect(conn, "installations")
                .await
                .context("cannot connect to the installations database (notifier.postgres)")?;
            tracing::info!(message = "Installations are in PostgreSQL, shared by the fleet.");
            Ok(Directory::shared(Arc::new(store)))
        }
        None => Ok(Directory::Embedded(embedded_store(config)?)),
    }
}

/// The runtime over `directory`, with `campaigns`.
pub fn runtime(
    config: &Config,
    directory: Directory,
    transport: Arc<dyn Transport>,
    senders: Senders,
    campaigns: Vec<Campaign>,
    seed: u64,
    engine_config: EngineConfig,
) -> anyhow::Result<Runtime> {
    let engine = Engine::new(campaigns, crate::keys::voucher_keys(config)?, engine_config)
        .with_chooser(Box::new(ThompsonOffers::new(seed)));
    Runtime::open(
        directory,
        engine,
        senders,
        transport,
        Some(config.data_dir.join("notifier.checkpoint")),
    )
    .context("cannot start the notifier")
}
