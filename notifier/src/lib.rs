//! # sellout-notifier
//!
//! Owns **push notifications to attendees**: device installations (Notification
//! Hubs-style, with an embedded store by default and PostgreSQL for fleets), tag
//! expressions evaluated over bitmaps, last-seen zones from beacons, localised `$(property)` templates, APNs and FCM v1
//! payloads within the 4096-byte limit, campaign rules (TOML and HTTP) with triggers,
//! audiences, offers, frequency caps and quiet hours, the planning engine with
//! deterministic notification ids, offline-verifiable signed vouchers, and the records
//! and counters of the `deliveries` topic.
//!
//! It must not read the wall clock (every decision takes `now_ms`), must never put a
//! push token, key or personal data in a record, payload log or `Debug` output, and
//! must not send twice for one (campaign, installation, trigger), even on replay.
//!
//! # Layout
//! - [`installation`]: the [`Installation`] model, its validation and JSON Patch subset.
//! - [`tags`]: tag expressions ([`TagExpr`]): parser, limits, evaluation on one tag set.
//! - [`index`]: the bitmap index ([`TagIndex`]) that evaluates expressions over slots.
//! - [`zones`]: last-seen zones from beacon sightings ([`ZoneIndex`], [`Near`]).
//! - [`store`]: the [`InstallationStore`] trait, the embedded store and PostgreSQL.
//! - [`api`]: the installations HTTP routes ([`api::router`]).
//! - [`openapi`]: the OpenAPI description of every notifier route.
//! - [`audience_bench`]: synthetic installations and the 10M audience benchmark.
//! - [`template`]: `$(property)` templates, validation, per-locale fallback.
//! - [`payload`]: APNs bodies and headers, FCM v1 messages, the size limit.
//! - [`campaign`]: recipients and triggers; [`campaign::rules`] (TOML/JSON rules),
//!   [`campaign::caps`] (frequency caps, quiet hours), [`campaign::offer`] (offers,
//!   the chooser trait), [`campaign::engine`] (planning, dedup, restore),
//!   [`campaign::http`] (the `/v1/campaigns` routes).
//! - [`voucher`]: signed, typeable voucher codes and offline verification.
//! - [`runtime`]: following `beacons` and `signals`, planning, recording to `deliveries`
//!   and sending through APNs and FCM ([`sellout_push`]).
//! - [`delivery`]: delivery records, redemptions, per-campaign counters.

pub mod api;
pub mod audience_bench;
pub mod campaign;
pub mod delivery;
pub mod index;
pub mod installation;
pub mod openapi;
pub mod payload;
pub mod runtime;
pub mod store;
pub mod tags;
pub mod template;
pub mod voucher;
pub mod zones;

pub use index::TagIndex;
pub use installation::Installation;
pub use store::embedded::{EmbeddedOptions, EmbeddedStore};
pub use store::postgres::PostgresStore;
pub use store::{InstallationStore, StoreError};
pub use tags::TagExpr;
pub use zones::{Near, ZoneIndex};

pub use campaign::http::{SharedEngine, router as campaigns_router};
pub use campaign::{Engine, EngineConfig, Plan, Recipient, Trigger, TriggerKind};
pub use delivery::{CampaignStats, DeliveryRecord, NotificationId, Outcome, Redemption};
pub use payload::Platform;
