//! Templates and localisation: `$(property)` substitution into plain text, and the
//! per-locale message sets a campaign carries, resolved with a fallback chain
//! (`fr-CA` → `fr` → the campaign's default locale → error).
//!
//! Templates produce plain text only: escaping for JSON belongs to [`crate::payload`],
//! which builds its documents with `serde_json`. Property names are checked when a
//! campaign is loaded ([`Template::validate`] against [`KNOWN_PROPERTIES`]); the open
//! namespaces `recipient.*` and `trigger.*` can only be checked when rendering.
//!
//! Syntax: `$(name)` inserts a property; `$$` is a literal `$`; a `$` followed by
//! anything else is literal too.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Property names every campaign may use; others must start with an open prefix.
pub const KNOWN_PROPERTIES: &[&str] = &[
    "campaign",
    "event",
    "venue",
    "zone",
    "category",
    "locale",
    "installation",
    "value",
    "queue_length",
    "cart_value",
    "offer.kind",
    "offer.percent",
    "offer.stand",
    "voucher.code",
    "voucher.expires_local",
    "voucher.expires_utc",
    "voucher.valid_minutes",
];

/// Prefixes whose names come from the recipient's or the trigger's own properties.
pub const OPEN_PREFIXES: &[&str] = &["recipient.", "trigger."];

/// The values a template is rendered with.
pub type Properties = BTreeMap<String, String>;

/// Why a template could not be parsed, validated or rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// `$(` with no closing `)`.
    #[error("unterminated `$(` at byte {position} of template {template:?}")]
    Unterminated {
        /// Byte offset of the `$`.
        position: usize,
        /// The template text.
        template: String,
    },
    /// A property name with characters outside `[A-Za-z0-9_.-]`, or empty.
    #[error("invalid property name {name:?} at byte {position}")]
    InvalidName {
        /// The name as written.
        name: String,
        /// Byte offset of the `$`.
        position: usize,
    },
    /// A property that is neither known nor in an open namespace (load time).
    #[error("unknown property `$({name})` at byte {position}; known: {known}")]
    UnknownProperty {
        /// The name.
        name: String,
        /// Byte offset of the `$`.
        position: usize,
        /// The known names and prefixes, comma-separated.
        known: String,
    },
    /// A property with no value at render time.
    #[error("property `$({name})` has no value for this notification")]
    Missing {
        /// The name.
        name: String,
    },
    /// No template for the locale, its parents, or the default locale.
    #[error("no template for locale {locale:?} (tried {tried:?}) nor the default {default:?}")]
    NoLocale {
        /// The recipient's locale.
        locale: String,
        /// Locales tried, in order.
        tried: Vec<String>,
        /// The campaign's default locale.
        default: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Property { name: String, position: usize },
}

/// A parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    source: String,
    parts: Vec<Part>,
}

impl Template {
    /// Parses `source`; fails on an unterminated `$(` or an invalid name.
    pub fn parse(source: &str) -> Result<Self, TemplateError> {
        let mut parts = Vec::new();
        let mut text = String::new();
        let mut rest = source;
        let mut offset = 0;
        while let Some(at) = rest.find('$') {
            text.push_str(&rest[..at]);
            let after = &rest[at + 1..];
            let position = offset + at;
            if let Some(tail) = after.strip_prefix('$') {
                text.push('$');
                offset += at + 2;
                rest = tail;
            } else if let Some(tail) = after.strip_prefix('(') {
                let Some(close) = tail.find(')') else {
                    return Err(TemplateError::Unterminated {
                        position,
                        template: source.to_owned(),
                    });
                };
                let name = &tail[..close];
                let valid = !name.is_empty()
                    && name
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
                if !valid {
                    return Err(TemplateError::InvalidName {
                        name: name.to_owned(),
                        position,
                    });
                }
                if !text.is_empty() {
                    parts.push(Part::Text(std::mem::take(&mut text)));
                }
                parts.push(Part::Property {
                    name: name.to_owned(),
                    position,
                });
                offset += at + 2 + close + 1;
                rest = &tail[close + 1..];
            } else {
                text.push('$');
                offset += at + 1;
                rest = after;
            }
        }
        text.push_str(rest);
        if !text.is_empty() {
            parts.push(Part::Text(text));
        }
        Ok(Self {
            source: source.to_owned(),
            parts,
        })
    }

    /// The text it was parsed from.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The property names it uses, in order of appearance.
    pub fn properties(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|part| match part {
            Part::Property { name, .. } => Some(name.as_str()),
            Part::Text(_) => None,
        })
    }

    /// Checks every property is in `known` or starts with an open prefix.
    pub fn validate(&self, known: &[&str]) -> Result<(), TemplateError> {
        for part in &self.parts {
            if let Part::Property { name, position } = part {
                let open = OPEN_PREFIXES
                    .iter()
                    .any(|prefix| name.len() > prefix.len() && name.starts_with(prefix));
                if !open && !known.contains(&name.as_str()) {
                    let mut all: Vec<&str> = known.to_vec();
                    all.extend(OPEN_PREFIXES.iter().map(|p| p.trim_end_matches('.')));
                    return Err(TemplateError::UnknownProperty {
                        name: name.clone(),
                        position: *position,
                        known: all.join(", "),
                    });
                }
            }
        }
        Ok(())
    }

    /// Substitutes every property from `properties`; a missing one is an error.
    pub fn render(&self, properties: &Properties) -> Result<String, TemplateError> {
        let mut out = String::with_capacity(self.source.len() + 32);
        for part in &self.parts {
            match part {
                Part::Text(text) => out.push_str(text),
                Part::Property { name, .. } => match properties.get(name) {
                    Some(value) => out.push_str(value),
                    None => return Err(TemplateError::Missing { name: name.clone() }),
                },
            }
        }
        Ok(out)
    }
}

/// A title and body as written in a campaign file, for one locale.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessageSpec {
    /// Title template.
    pub title: String,
    /// Body template.
    pub body: String,
}

/// A parsed title and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageTemplate {
    /// Title.
    pub title: Template,
    /// Body.
    pub body: Template,
}

/// A rendered title and body, plain text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedMessage {
    /// Title.
    pub title: String,
    /// Body.
    pub body: String,
}

impl MessageTemplate {
    /// Renders title and body.
    pub fn render(&self, properties: &Properties) -> Result<RenderedMessage, TemplateError> {
        Ok(RenderedMessage {
            title: self.title.render(properties)?,
            body: self.body.render(properties)?,
        })
    }
}

/// Normalises a locale tag: `fr_CA` and `FR-ca` both become `fr-ca`.
pub fn normalise_locale(locale: &str) -> String {
    locale.trim().replace('_', "-").to_ascii_lowercase()
}

/// The templates of one campaign, per locale, with a default locale.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalizedTemplates {
    default_locale: String,
    by_locale: BTreeMap<String, MessageTemplate>,
}

impl LocalizedTemplates {
    /// Parses and validates every template against `known`; the default locale need
    /// not have its own template (resolution then fails for locales without one).
    pub fn compile(
        default_locale: &str,
        specs: &BTreeMap<String, MessageSpec>,
        known: &[&str],
    ) -> Result<Self, (String, TemplateError)> {
        let mut by_locale = BTreeMap::new();
        for (locale, spec) in specs {
            let compile = |text: &str| {
                let template = Template::parse(text)?;
                template.validate(known)?;
                Ok(template)
            };
            let title = compile(&spec.title).map_err(|e| (format!("{locale}.title"), e))?;
            let body = compile(&spec.body).map_err(|e| (format!("{locale}.body"), e))?;
            by_locale.insert(normalise_locale(locale), MessageTemplate { title, body });
        }
        Ok(Self {
            default_locale: normalise_locale(default_locale),
            by_locale,
        })
    }

    /// The template for `locale`: the exact tag, then each shorter parent (`fr-ca` →
    /// `fr`), then the default locale and its parents.
    pub fn resolve(&self, locale: &str) -> Result<(&str, &MessageTemplate), TemplateError> {
        let mut tried = Vec::new();
        for start in [normalise_locale(locale), self.default_locale.clone()] {
            let mut tag = start.as_str();
            loop {
                if let Some((key, template)) = self.by_locale.get_key_value(tag) {
                    return Ok((key.as_str(), template));
                }
                if !tried.iter().any(|t| t == tag) {
                    tried.push(tag.to_owned());
                }
                match tag.rfind('-') {
                    Some(cut) => tag = &tag[..cut],
                    None => break,
                }
            }
        }
        Err(TemplateError::NoLocale {
            locale: locale.to_owned(),
            tried,
            default: self.default_locale.clone(),
        })
    }

    /// The locales that have templates.
    pub fn locales(&self) -> impl Iterator<Item = &str> {
        self.by_locale.keys().map(String::as_str)
    }
}

#[cfg(test)]
#[path = "template_tests.rs"]
mod tests;
