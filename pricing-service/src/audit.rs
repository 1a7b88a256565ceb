//! The audit log: every pricing decision (a change, or "no change" and the guardrail
//! that stopped it) and every admin action, with its reason.
//!
//! Entries are appended to the `price-decisions` topic (the durable trail, keyed by
//! `event_id`); each replica follows that topic into a bounded in-memory window that
//! the admin audit query reads, newest first.

use std::collections::VecDeque;
use std::sync::Mutex;

use sellout_ingest::records::Id;
use sellout_streams::{Offset, StreamError, Transport};
use serde::{Deserialize, Serialize};

use crate::change::{DECISIONS_TOPIC, decode_json};
use crate::guardrails::Decision;

/// Who decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Actor {
    /// The repricer (an optimiser and the guardrails).
    Repricer,
    /// An operator through the admin API.
    Admin,
}

/// One audited decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditEntry {
    /// The event.
    pub event_id: Id,
    /// The category.
    pub category_id: Id,
    /// Who decided.
    pub actor: Actor,
    /// What was done (`reprice`, `override`, `freeze`, `limits`).
    pub action: String,
    /// The decision, with its outcome, guardrail and reason.
    pub decision: Decision,
    /// The id of the price change it produced, if any.
    pub change_id: Option<u64>,
}

/// Filters of an audit query.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Only this event.
    pub event_id: Option<String>,
    /// Only this category.
    pub category_id: Option<String>,
    /// Only entries this guardrail shaped (`snake_case` name).
    pub guardrail: Option<String>,
    /// Most entries returned (default 100, at most 1000).
    pub limit: Option<usize>,
}

/// The in-memory window of the audit topic.
#[derive(Debug)]
pub struct AuditLog {
    inner: Mutex<(VecDeque<AuditEntry>, Offset)>,
    capacity: usize,
}

impl AuditLog {
    /// A window keeping the latest `capacity` entries.
    pub fn new(capacity: usize) -> Self {
        Self {
            inner: Mutex::new((VecDeque::new(), 0)),
            capacity: capacity.max(1),
        }
    }

    /// Reads the audit topic from where it stopped, keeping the latest entries.
    pub fn catch_up(&self, transport: &dyn Transport) -> Result<u64, StreamError> {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let mut read = 0;
        loop {
            let fetched = match transport.read(DECISIONS_TOPIC, inner.1, 1 << 20) {
                Err(StreamError::OffsetRetained { start, .. }) => {
                    transport.read(DECISIONS_TOPIC, start, 1 << 20)?
                }
                other => other?,
            };
            if fetched.is_empty() {
                return Ok(read);
            }
            for r in fetched.records() {
                match decode_json::<AuditEntry>("audit entry", r.offset, r.value) {
                    Ok(entry) => {
                        if inner.0.len() >= self.capacity {
                            inner.0.pop_front();
                        }
                        inner.0.push_back(entry);
                        read += 1;
                    }
                    Err(error) => tracing::warn!(message = "Skipped an audit record.", %error),
                }
            }
            inner.1 = fetched.next_offset();
        }
    }

    /// Entries matching `q`, newest first.
    pub fn query(&self, q: &AuditQuery) -> Vec<AuditEntry> {
        let limit = q.limit.unwrap_or(100).clamp(1, 1000);
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner
            .0
            .iter()
            .rev()
            .filter(|e| q.event_id.as_deref().is_none_or(|id| e.event_id == id))
            .filter(|e| {
                q.category_id
                    .as_deref()
                    .is_none_or(|id| e.category_id == id)
            })
            .filter(|e| {
                q.guardrail
                    .as_deref()
                    .is_none_or(|g| e.decision.guardrail.is_some_and(|k| k.as_str() == g))
            })
            .take(limit)
            .cloned()
            .collect()
    }
}
