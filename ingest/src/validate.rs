//! Validation: every check a record passes before it is appended, and the [`Reason`]
//! a rejected record carries to the dead-letter stream.
//!
//! Decoders already reject what isn't well-formed (bad JSON, wrong types, missing
//! required fields); the [`Validator`] then checks ranges, the catalog (unknown event or
//! category ids, currency), and the time window around the clock's "now" (records
//! absurdly far in the future or past).

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::catalog::Catalog;
use crate::live_catalog::{IntoLiveCatalog, LiveCatalog};
use crate::records::{
    AnyRecord, BeaconRecord, Id, QueueRecord, SaleKind, SaleRecord, SocialRecord, Timestamp, Topic,
    time,
};

/// Why a record was rejected. Its `Display` is the human reason; [`Reason::code`] is a
/// stable machine-readable code for counters and tests.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Reason {
    /// The bytes are not valid in their format (JSON syntax, Arrow, Parquet, ...).
    #[error("malformed {format}: {detail}")]
    Malformed {
        /// The format being decoded.
        format: &'static str,
        /// What was wrong, with position where the decoder knows it.
        detail: String,
    },
    /// A required field is absent or null.
    #[error("missing required field `{0}`")]
    MissingField(String),
    /// A field has the wrong type or an unacceptable value.
    #[error("field `{field}`: {detail}")]
    InvalidField {
        /// The field.
        field: String,
        /// What was wrong.
        detail: String,
    },
    /// A number is outside its allowed range.
    #[error("field `{field}` is {value}, outside the allowed range {min}..={max}")]
    OutOfRange {
        /// The field.
        field: &'static str,
        /// The value found.
        value: i128,
        /// Smallest allowed.
        min: i128,
        /// Largest allowed.
        max: i128,
    },
    /// The event id is not in the catalog.
    #[error("unknown event `{0}`")]
    UnknownEvent(Id),
    /// The category id is not a category of the event.
    #[error("unknown category `{category}` of event `{event}`")]
    UnknownCategory {
        /// The event.
        event: Id,
        /// The category.
        category: Id,
    },
    /// The venue id is not in the catalog.
    #[error("unknown venue `{0}`")]
    UnknownVenue(Id),
    /// The record's currency differs from the category's.
    #[error("currency `{found}` does not match the category's currency `{expected}`")]
    CurrencyMismatch {
        /// The record's currency.
        found: Id,
        /// The category's currency.
        expected: Id,
    },
    /// The event time is too far ahead of now.
    #[error("time {time} is more than {limit_s} s ahead of now ({now})")]
    TooFarInFuture {
        /// The record's time (RFC 3339).
        time: String,
        /// Now (RFC 3339).
        now: String,
        /// The allowed skew in seconds.
        limit_s: i64,
    },
    /// The event time is too far behind now.
    #[error("time {time} is more than {limit_s} s behind now ({now})")]
    TooFarInPast {
        /// The record's time (RFC 3339).
        time: String,
        /// Now (RFC 3339).
        now: String,
        /// The allowed age in seconds.
        limit_s: i64,
    },
    /// One record is larger than allowed.
    #[error("record of {bytes} bytes exceeds the limit of {limit} bytes")]
    Oversized {
        /// The record's size.
        bytes: usize,
        /// The limit.
        limit: usize,
    },
    /// A CloudEvent is not acceptable as an envelope (version, attributes, type).
    #[error("CloudEvent rejected: {0}")]
    CloudEvent(String),
    /// The record belongs to another topic than the route it was sent to.
    #[error("record is for topic `{found}` but was sent to `{expected}`")]
    WrongTopic {
        /// The topic of the route.
        expected: Topic,
        /// The topic the record belongs to.
        found: Topic,
    },
}

impl Reason {
    /// A stable, machine-readable code for the reason.
    pub fn code(&self) -> &'static str {
        match self {
            Reason::Malformed { .. } => "malformed",
            Reason::MissingField(_) => "missing_field",
            Reason::InvalidField { .. } => "invalid_field",
            Reason::OutOfRange { .. } => "out_of_range",
            Reason::UnknownEvent(_) => "unknown_event",
            Reason::UnknownCategory { .. } => "unknown_category",
            Reason::UnknownVenue(_) => "unknown_venue",
            Reason::CurrencyMismatch { .. } => "currency_mismatch",
            Reason::TooFarInFuture { .. } => "time_in_future",
            Reason::TooFarInPast { .. } => "time_in_past",
            Reason::Oversized { .. } => "oversized",
            Reason::CloudEvent(_) => "cloudevent",
            Reason::WrongTopic { .. } => "wrong_topic",
        }
    }
}

/// Limits the validator enforces. Defaults follow `../shared/DOMAIN.md`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Most seats in one cart or purchase.
    pub max_quantity: u32,
    /// Highest unit price accepted, in minor units.
    pub max_unit_price_minor: i64,
    /// How far ahead of now an event time may be, in seconds.
    pub max_future_skew_s: i64,
    /// How far behind now an event time may be, in seconds.
    pub max_age_s: i64,
    /// Largest single record, in bytes of its original encoding.
    pub max_record_bytes: usize,
    /// Longest social post text, in characters.
    pub max_text_chars: usize,
    /// Most events one social post may reference.
    pub max_event_refs: usize,
    /// Longest queue that is believable at one stand.
    pub max_queue_length: u32,
    /// Records remembered per input topic to recognise a re-sent record (identical
    /// key, event time and value) and append it once; 0 turns the check off. See
    /// [`crate::dedup`].
    pub dedup_window: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_quantity: 10,
            max_unit_price_minor: 10_000_000,
            max_future_skew_s: 3600,
            max_age_s: 400 * 24 * 3600,
            max_record_bytes: 64 * 1024,
            max_text_chars: 10_000,
            max_event_refs: 16,
            max_queue_length: 10_000,
            dedup_window: 262_144,
        }
    }
}

/// Checks decoded records against the limits, the catalog and the clock's "now".
#[derive(Debug, Clone)]
pub struct Validator {
    catalog: Arc<LiveCatalog>,
    limits: Limits,
}

impl Validator {
    /// A validator for records of events and venues in `catalog` (a fixed catalog,
    /// or a live one that follows the `catalog` topic).
    pub fn new(catalog: impl IntoLiveCatalog, limits: Limits) -> Self {
        Self {
            catalog: catalog.into_live(),
            limits,
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The catalog records are checked against, now.
    pub fn catalog(&self) -> Arc<Catalog> {
        self.catalog.load()
    }

    /// The live catalog behind [`Validator::catalog`].
    pub fn live_catalog(&self) -> &Arc<LiveCatalog> {
        &self.catalog
    }

    /// Checks one record; `now` is the ingest clock's time.
    pub fn check(&self, record: &AnyRecord, now: Timestamp) -> Result<(), Reason> {
        match record {
            AnyRecord::Sales(r) => self.check_sale(r)?,
            AnyRecord::Beacons(r) => self.check_beacon(r)?,
            AnyRecord::Social(r) => self.check_social(r)?,
            AnyRecord::Queues(r) => self.check_queue(r)?,
        }
        self.check_time(record.time(), now)
    }

    fn check_time(&self, t: Timestamp, now: Timestamp) -> Result<(), Reason> {
        let ahead_ms = self.limits.max_future_skew_s.saturating_mul(1000);
        let behind_ms = self.limits.max_age_s.saturating_mul(1000);
        if t > now.saturating_add(ahead_ms) {
            return Err(Reason::TooFarInFuture {
                time: time::to_rfc3339(t),
                now: time::to_rfc3339(now),
                limit_s: self.limits.max_future_skew_s,
            });
        }
        if t < now.saturating_sub(behind_ms) {
            return Err(Reason::TooFarInPast {
                time: time::to_rfc3339(t),
                now: time::to_rfc3339(now),
                limit_s: self.limits.max_age_s,
            });
        }
        Ok(())
    }

    fn check_sale(&self, r: &SaleRecord) -> Result<(), Reason> {
        non_empty("session_id", &r.session_id)?;
        let catalog = self.catalog.load();
        let event = catalog
            .event(&r.event_id)
            .ok_or_else(|| Reason::UnknownEvent(r.event_id.clone()))?;
        let category = event
            .category(&r.category_id)
            .ok_or_else(|| Reason::UnknownCategory {
                event: r.event_id.clone(),
                category: r.category_id.clone(),
            })?;
        let min_quantity = if r.kind == SaleKind::View { 0 } else { 1 };
        in_range(
            "quantity",
            i128::from(r.quantity),
            min_quantity,
            i128::from(self.limits.max_quantity),
        )?;
        in_range(
            "unit_price_minor",
            i128::from(r.unit_price_minor),
            0,
            i128::from(self.limits.max_unit_price_minor),
        )?;
        if r.currency != category.currency {
            return Err(Reason::CurrencyMismatch {
                found: r.currency.clone(),
                expected: category.currency.clone(),
            });
        }
        if let Some(c) = &r.customer_id {
            non_empty("customer_id", c)?;
        }
        if let Some(q) = &r.quote_id {
            non_empty("quote_id", q)?;
        }
        Ok(())
    }

    fn check_venue_zone(&self, venue_id: &Id, zone_id: &Id) -> Result<(), Reason> {
        let catalog = self.catalog.load();
        let venue = catalog
            .venue(venue_id)
            .ok_or_else(|| Reason::UnknownVenue(venue_id.clone()))?;
        if !venue.zones.iter().any(|z| z.zone_id == *zone_id) {
            return Err(Reason::InvalidField {
                field: "zone_id".into(),
                detail: format!("`{zone_id}` is not a zone of venue `{venue_id}`"),
            });
        }
        Ok(())
    }

    fn check_beacon(&self, r: &BeaconRecord) -> Result<(), Reason> {
        non_empty("installation_id", &r.installation_id)?;
        non_empty("beacon_id", &r.beacon_id)?;
        self.check_venue_zone(&r.venue_id, &r.zone_id)?;
        in_range("rssi", i128::from(r.rssi), -120, 0)
    }

    fn check_social(&self, r: &SocialRecord) -> Result<(), Reason> {
        non_empty("source", &r.source)?;
        non_empty("text", &r.text)?;
        let chars = r.text.chars().count();
        if chars > self.limits.max_text_chars {
            return Err(Reason::InvalidField {
                field: "text".into(),
                detail: format!(
                    "{chars} characters exceed the limit of {}",
                    self.limits.max_text_chars
                ),
            });
        }
        let lang_ok = (2..=3).contains(&r.language.len())
            && r.language.bytes().all(|b| b.is_ascii_lowercase());
        if !lang_ok {
            return Err(Reason::InvalidField {
                field: "language".into(),
                detail: format!("`{}` is not an ISO 639 code such as `en`", r.language),
            });
        }
        in_range(
            "event_ids",
            r.event_ids.len() as i128,
            1,
            self.limits.max_event_refs as i128,
        )?;
        let catalog = self.catalog.load();
        for id in &r.event_ids {
            if catalog.event(id).is_none() {
                return Err(Reason::UnknownEvent(id.clone()));
            }
        }
        in_range(
            "author_reach",
            i128::from(r.author_reach),
            0,
            10_000_000_000,
        )
    }

    fn check_queue(&self, r: &QueueRecord) -> Result<(), Reason> {
        non_empty("stand_id", &r.stand_id)?;
        self.check_venue_zone(&r.venue_id, &r.zone_id)?;
        in_range(
            "length",
            i128::from(r.length),
            0,
            i128::from(self.limits.max_queue_length),
        )
    }
}

fn non_empty(field: &str, value: &str) -> Result<(), Reason> {
    if value.trim().is_empty() {
        return Err(Reason::InvalidField {
            field: field.into(),
            detail: "must not be empty".into(),
        });
    }
    Ok(())
}

fn in_range(field: &'static str, value: i128, min: i128, max: i128) -> Result<(), Reason> {
    if value < min || value > max {
        return Err(Reason::OutOfRange {
            field,
            value,
            min,
            max,
        });
    }
    Ok(())
}
