//! Social posts that mention events.

use serde::{Deserialize, Serialize};

use super::{Id, Timestamp};

/// One post from a social source, with the events it references.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SocialRecord {
    /// Where it was posted (`x`, `instagram`, `tiktok`, `forum`, ...).
    pub source: Id,
    /// The post's text.
    pub text: String,
    /// The post's language as an ISO 639-1 code (`en`, `fr`, `de`, `es`, ...).
    pub language: Id,
    /// How many people the author reaches (followers).
    pub author_reach: u64,
    /// The events the post references (at least one).
    pub event_ids: Vec<Id>,
    /// Event time.
    #[serde(with = "super::time")]
    pub time: Timestamp,
}
