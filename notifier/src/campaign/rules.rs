//! Campaign rules as written (TOML file or JSON through the routes), their validation,
//! and the compiled [`Campaign`] the engine runs.
//!
//! Every struct denies unknown fields, so a typo fails the load with its position
//! rather than silently changing a campaign. Templates are checked against the
//! properties the campaign can actually fill: `offer.*` and `voucher.*` only with an
//! offer, `cart_value` only for abandoned carts, `queue_length` only for queues.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::caps::{Caps, QuietHours, UtcOffset};
use super::offer::Offer;
use crate::payload::PushOptions;
use crate::template::{KNOWN_PROPERTIES, LocalizedTemplates, MessageSpec, TemplateError};

/// Default validity of an offer, in minutes.
pub const DEFAULT_VALIDITY_MINUTES: u32 = 5;

/// Why campaign rules were refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RuleError {
    /// The file is not valid TOML or does not fit the schema (message has the position).
    #[error("campaigns file: {0}")]
    Toml(String),
    /// The JSON body does not fit the schema.
    #[error("campaign JSON at {path} (line {line}, column {column}): {message}")]
    Json {
        /// The field path.
        path: String,
        /// Line.
        line: usize,
        /// Column.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// A rule breaks a constraint.
    #[error("campaign {campaign:?}: {message}")]
    Invalid {
        /// The campaign id.
        campaign: String,
        /// What is wrong.
        message: String,
    },
    /// A template does not parse or uses an unknown property.
    #[error("campaign {campaign:?}, template {at}: {source}")]
    Template {
        /// The campaign id.
        campaign: String,
        /// `locale.title` or `locale.body`.
        at: String,
        /// The template error.
        source: TemplateError,
    },
    /// Two campaigns share an id.
    #[error("campaign id {0:?} is defined twice")]
    Duplicate(String),
}

/// What triggers a campaign, with its conditions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum TriggerRule {
    /// A queue longer than `longer_than` people (at `zone`, or any zone).
    QueueLong {
        /// Only this zone.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        zone: Option<String>,
        /// Length must exceed this.
        longer_than: f64,
    },
    /// A short queue: at most `at_most` people when set (at `zone`, or any zone).
    QueueShort {
        /// Only this zone.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        zone: Option<String>,
        /// Length must be at most this.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        at_most: Option<f64>,
    },
    /// An abandoned cart worth more than `value_above_minor` (minor units).
    CartAbandoned {
        /// Cart value must exceed this.
        value_above_minor: i64,
    },
    /// A sales surge (of `category`, or any), with z at least `min_z` when set.
    Surge {
        /// Only this category.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        category: Option<String>,
        /// Minimum z-score.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min_z: Option<f64>,
    },
    /// A sales slump (of `category`, or any).
    Slump {
        /// Only this category.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        category: Option<String>,
    },
    /// Social buzz with z at least `min_z` when set.
    Buzz {
        /// Minimum z-score.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min_z: Option<f64>,
    },
    /// Once, at `at` (RFC 3339, e.g. `2026-06-12T18:30:00+02:00`).
    Scheduled {
        /// When.
        at: String,
    },
}

/// Installations seen near a zone recently.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NearZone {
    /// Seen within this many minutes.
    pub within_minutes: u32,
    /// This zone; none: the trigger's zone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
}

/// Who a campaign is for; both parts must hold when both are set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AudienceRule {
    /// A tag expression (evaluated by the installations store, opaque here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<String>,
    /// Proximity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub near_zone: Option<NearZone>,
}

/// The offer: fixed (`kind`, `percent`, `stand`) or `choose_from` a list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OfferRule {
    /// Fixed offer: what for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<super::OfferKind>,
    /// Fixed offer: percent off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percent: Option<u8>,
    /// Fixed offer: where.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stand: Option<String>,
    /// Options for the offer chooser.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub choose_from: Vec<Offer>,
}

/// One campaign as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CampaignSpec {
    /// Unique id (`[A-Za-z0-9_.-]`, at most 64 bytes).
    pub id: String,
    /// For people.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Off: matches nothing.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Only triggers about this event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    /// Only triggers at this venue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub venue_id: Option<String>,
    /// What triggers it.
    pub trigger: TriggerRule,
    /// Who receives it.
    #[serde(default)]
    pub audience: AudienceRule,
    /// The offer, when it carries a voucher.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offer: Option<OfferRule>,
    /// How long the offer (and the notification) stays valid.
    #[serde(default = "default_validity")]
    pub validity_minutes: u32,
    /// Frequency caps per installation.
    #[serde(default)]
    pub caps: Caps,
    /// Local window in which nothing is sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quiet_hours: Option<QuietHours>,
    /// The venue's UTC offset; none: the engine's per-venue offset, else UTC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utc_offset: Option<UtcOffset>,
    /// Locale used when the recipient's has no template.
    pub default_locale: String,
    /// Title and body per locale.
    pub templates: BTreeMap<String, MessageSpec>,
    /// Presentation options.
    #[serde(default)]
    pub push: PushOptions,
}

fn yes() -> bool {
    true
}

fn default_validity() -> u32 {
    DEFAULT_VALIDITY_MINUTES
}

/// A campaigns file: `[[campaign]]` tables.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CampaignsFile {
    /// The campaigns.
    #[serde(default, rename = "campaign")]
    pub campaigns: Vec<CampaignSpec>,
}

impl CampaignsFile {
    /// Parses and compiles every campaign of a TOML document.
    pub fn parse_toml(text: &str) -> Result<Vec<Campaign>, RuleError> {
        let file: CampaignsFile =
            toml::from_str(text).map_err(|e| RuleError::Toml(e.to_string()))?;
        let mut seen = std::collections::BTreeSet::new();
        let mut out = Vec::with_capacity(file.campaigns.len());
        for spec in file.campaigns {
            if !seen.insert(spec.id.clone()) {
                return Err(RuleError::Duplicate(spec.id));
            }
            out.push(Campaign::compile(spec)?);
        }
        Ok(out)
    }
}

impl CampaignSpec {
    /// Parses one campaign from JSON, with the failing field's path and position.
    pub fn from_json(bytes: &[u8]) -> Result<Self, RuleError> {
        let mut de = serde_json::Deserializer::from_slice(bytes);
        serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            RuleError::Json {
                path,
                line: inner.line(),
                column: inner.column(),
                message: inner.to_string(),
            }
        })
    }
}

/// A validated campaign, ready to match triggers.
#[derive(Debug, Clone, PartialEq)]
pub struct Campaign {
    /// As written.
    pub spec: CampaignSpec,
    /// Compiled templates.
    pub templates: LocalizedTemplates,
    /// Offer options (one for a fixed offer; empty without an offer).
    pub offers: Vec<Offer>,
    /// For scheduled campaigns, when (ms since the epoch).
    pub scheduled_at_ms: Option<i64>,
}

impl Campaign {
    /// Validates `spec` and compiles its templates.
    pub fn compile(spec: CampaignSpec) -> Result<Self, RuleError> {
        let invalid = |message: String| RuleError::Invalid {
            campaign: spec.id.clone(),
            message,
        };
        let id_ok = !spec.id.is_empty()
            && spec.id.len() <= 64
            && spec
                .id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
        if !id_ok {
            return Err(invalid(
                "id must be 1 to 64 characters of [A-Za-z0-9_.-]".into(),
            ));
        }
        if !(1..=1440).contains(&spec.validity_minutes) {
            return Err(invalid(format!(
                "validity_minutes {} outside 1..=1440",
                spec.validity_minutes
            )));
        }
        if let Some(q) = &spec.quiet_hours {
            q.validate()
                .map_err(|e| invalid(format!("quiet_hours: {e}")))?;
        }
        if spec
            .audience
            .near_zone
            .as_ref()
            .is_some_and(|n| n.within_minutes == 0)
        {
            return Err(invalid(
                "audience.near_zone.within_minutes must be at least 1".into(),
            ));
        }
        let offers = match &spec.offer {
            None => Vec::new(),
            Some(rule) => offers_of(rule).map_err(invalid)?,
        };
        if let Some(bad) = offers.iter().find(|o| !(1..=100).contains(&o.percent)) {
            return Err(invalid(format!(
                "offer percent {} outside 1..=100",
                bad.percent
            )));
        }
        let scheduled_at_ms = match &spec.trigger {
            TriggerRule::Scheduled { at } => Some(
                chrono::DateTime::parse_from_rfc3339(at)
                    .map_err(|e| invalid(format!("trigger.at {at:?} is not RFC 3339: {e}")))?
                    .timestamp_millis(),
            ),
            _ => None,
        };
        if spec.templates.is_empty() {
            return Err(invalid("templates: at least one locale is needed".into()));
        }
        let known = known_properties(&spec);
        let templates = LocalizedTemplates::compile(&spec.default_locale, &spec.templates, &known)
            .map_err(|(at, source)| RuleError::Template {
                campaign: spec.id.clone(),
                at,
                source,
            })?;
        templates.resolve(&spec.default_locale).map_err(|e| {
            invalid(format!(
                "default_locale {:?} has no template: {e}",
                spec.default_locale
            ))
        })?;
        Ok(Self {
            spec,
            templates,
            offers,
            scheduled_at_ms,
        })
    }

    /// The campaign id.
    pub fn id(&self) -> &str {
        &self.spec.id
    }

    /// Validity in ms.
    pub fn validity_ms(&self) -> i64 {
        i64::from(self.spec.validity_minutes) * 60_000
    }
}

fn offers_of(rule: &OfferRule) -> Result<Vec<Offer>, String> {
    match (rule.kind, rule.percent, rule.choose_from.is_empty()) {
        (Some(kind), Some(percent), true) => Ok(vec![Offer {
            kind,
            percent,
            stand: rule.stand.clone(),
        }]),
        (None, None, false) if rule.stand.is_none() => Ok(rule.choose_from.clone()),
        (None, None, true) => Err("offer: set kind and percent, or choose_from".into()),
        (_, _, false) => Err("offer: kind/percent/stand and choose_from are exclusive".into()),
        _ => Err("offer: a fixed offer needs both kind and percent".into()),
    }
}

fn known_properties(spec: &CampaignSpec) -> Vec<&'static str> {
    KNOWN_PROPERTIES
        .iter()
        .copied()
        .filter(|p| match *p {
            p if p.starts_with("offer.") || p.starts_with("voucher.") => spec.offer.is_some(),
            "cart_value" => matches!(spec.trigger, TriggerRule::CartAbandoned { .. }),
            "queue_length" => matches!(
                spec.trigger,
                TriggerRule::QueueLong { .. } | TriggerRule::QueueShort { .. }
            ),
            _ => true,
        })
        .collect()
}

#[cfg(test)]
#[path = "rules_tests.rs"]
mod tests;
