//! Validation of installations: one rule per field, each error naming its field.

use super::{Installation, MAX_ID_LEN, MAX_TAG_LEN, MAX_TAGS, Platform};

/// Longest customer id, in bytes.
pub const MAX_CUSTOMER_ID_LEN: usize = 128;
/// Longest FCM registration token, in bytes.
pub const MAX_FCM_TOKEN_LEN: usize = 4096;

/// A rule an installation broke, with the (camelCase) field it concerns.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ValidationError {
    /// The wire name of the offending field, e.g. `pushChannel` or `tags`.
    pub field: String,
    /// What is wrong, for a person.
    pub message: String,
}

impl ValidationError {
    /// A new error about `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Checks every rule; the first failure is returned.
pub fn validate(inst: &Installation) -> Result<(), ValidationError> {
    validate_id(&inst.installation_id)?;
    validate_push_channel(inst.platform, &inst.push_channel)?;
    validate_locale(&inst.locale)?;
    validate_tags(&inst.tags)?;
    if let Some(c) = &inst.customer_id {
        validate_customer_id(c)?;
    }
    Ok(())
}

/// Installation ids: 1–64 chars of `[A-Za-z0-9_.-]`.
pub fn validate_id(id: &str) -> Result<(), ValidationError> {
    let field = "installationId";
    if id.is_empty() || id.len() > MAX_ID_LEN {
        return Err(ValidationError::new(
            field,
            format!("must be 1 to {MAX_ID_LEN} characters"),
        ));
    }
    if !id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
    {
        return Err(ValidationError::new(
            field,
            "may only contain letters, digits, '_', '.' and '-'",
        ));
    }
    Ok(())
}

/// APNs: 64–200 hex digits; FCM: 1–4096 printable ASCII characters.
pub fn validate_push_channel(platform: Platform, token: &str) -> Result<(), ValidationError> {
    let field = "pushChannel";
    match platform {
        Platform::Apns => {
            if !(64..=200).contains(&token.len()) || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(ValidationError::new(
                    field,
                    "an APNs device token must be 64 to 200 hexadecimal digits",
                ));
            }
        }
        Platform::Fcm => {
            if token.is_empty()
                || token.len() > MAX_FCM_TOKEN_LEN
                || !token.bytes().all(|b| b.is_ascii_graphic())
            {
                return Err(ValidationError::new(
                    field,
                    format!(
                        "an FCM token must be 1 to {MAX_FCM_TOKEN_LEN} printable ASCII characters"
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// A BCP-47 tag (simplified): a 2–3 or 5–8 letter language, then `-` subtags of 1–8
/// letters or digits; 35 characters at most.
pub fn validate_locale(locale: &str) -> Result<(), ValidationError> {
    let bad = || {
        ValidationError::new(
            "locale",
            "must be a BCP-47 language tag such as 'fr' or 'fr-CA'",
        )
    };
    if locale.len() > 35 {
        return Err(bad());
    }
    let mut parts = locale.split('-');
    let lang = parts.next().unwrap_or("");
    if !matches!(lang.len(), 2..=3 | 5..=8) || !lang.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err(bad());
    }
    for sub in parts {
        if sub.is_empty() || sub.len() > 8 || !sub.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(bad());
        }
    }
    Ok(())
}

/// Whether `b` may appear in a tag: `[A-Za-z0-9_@#.:-]`.
pub fn is_tag_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'@' | b'#' | b'.' | b':' | b'-')
}

/// One tag: 1–120 chars of `[A-Za-z0-9_@#.:-]`.
pub fn validate_tag(tag: &str) -> Result<(), ValidationError> {
    if tag.is_empty() || tag.len() > MAX_TAG_LEN {
        return Err(ValidationError::new(
            "tags",
            format!("each tag must be 1 to {MAX_TAG_LEN} characters"),
        ));
    }
    if !tag.bytes().all(is_tag_byte) {
        return Err(ValidationError::new(
            "tags",
            "tags may only contain letters, digits and '_', '@', '#', '.', ':', '-'",
        ));
    }
    Ok(())
}

/// At most 60 tags, each valid, no duplicates.
pub fn validate_tags(tags: &[String]) -> Result<(), ValidationError> {
    if tags.len() > MAX_TAGS {
        return Err(ValidationError::new(
            "tags",
            format!("at most {MAX_TAGS} tags per installation"),
        ));
    }
    for (i, t) in tags.iter().enumerate() {
        validate_tag(t)?;
        if tags[..i].contains(t) {
            return Err(ValidationError::new("tags", "duplicate tag"));
        }
    }
    Ok(())
}

/// Customer ids: 1–128 printable ASCII characters.
pub fn validate_customer_id(c: &str) -> Result<(), ValidationError> {
    if c.is_empty() || c.len() > MAX_CUSTOMER_ID_LEN || !c.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ValidationError::new(
            "customerId",
            format!("must be 1 to {MAX_CUSTOMER_ID_LEN} printable ASCII characters"),
        ));
    }
    Ok(())
}
