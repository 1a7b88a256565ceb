//! Privacy erasures: the `erasures` topic and the [`Erasures`] set.
//!
//! When an installation is erased (`DELETE /v1/installations/{id}`), the notifier
//! appends one [`ErasureRecord`] here. The record names the installation by a
//! [`Digest`] of its id, never the id itself, so the list of erasures is not a list of
//! the people who asked to be forgotten. Readers of tables that carry installation ids
//! (the archive's compaction, SQL's live tail, the pipelines) load the set and leave
//! out every row whose id's digest is in it.
//!
//! The digest is SHA-256 over a domain prefix and the id. It is not keyed: ids are
//! pseudonymous values the app generates (random per installation), so the digest of
//! one can't be guessed from a list of people; a key would have to be shared by every
//! reader, and losing it would make erasures unreadable.
//!
//! Erasure is a tombstone: records carrying an erased id are left out whenever they
//! were written, also after the erase (an app that registers again uses a new id).
//! Appending the same erasure twice is harmless (the set is a set).
//!
//! [`redact_log`] also overwrites erased ids in the embedded log's sealed segments
//! (see [`redact`]); readers treat such a redacted id as erased.
//!
//! The topic is tiny (about 120 bytes per erasure, so one 64 MiB segment holds half a
//! million) and must outlive the records it erases: log retention deletes only closed
//! segments, so with the default segment size it never touches it in practice.

pub mod redact;

pub use redact::{REDACTED, Redactor, is_redacted, redact_log};

use rustc_hash::FxHashSet;
use sellout_streams::{AppendAck, Batch, Offset, StreamError, Transport};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

/// The stream name of the erasures topic.
pub const TOPIC: &str = "erasures";

/// Domain prefix of the digest, so it matches no other hash of the same id.
const DOMAIN: &[u8] = b"sellout/erasure/v1\0";
/// Bytes fetched per read while loading.
const FETCH_BYTES: usize = 1 << 20;

/// The digest naming an erased installation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest(pub [u8; 32]);

impl Digest {
    /// The digest of `installation_id`.
    pub fn of(installation_id: &str) -> Self {
        let mut h = Sha256::new();
        h.update(DOMAIN);
        h.update(installation_id.as_bytes());
        Self(h.finalize().into())
    }

    /// Lower-case hex, as stored.
    pub fn to_hex(&self) -> String {
        use std::fmt::Write as _;
        let mut s = String::with_capacity(64);
        for b in self.0 {
            let _ = write!(s, "{b:02x}");
        }
        s
    }

    /// Parses 64 hex digits.
    pub fn from_hex(s: &str) -> Option<Self> {
        let bytes = s.as_bytes();
        if bytes.len() != 64 {
            return None;
        }
        let mut out = [0u8; 32];
        for (o, pair) in out.iter_mut().zip(bytes.chunks_exact(2)) {
            let hi = (pair[0] as char).to_digit(16)?;
            let lo = (pair[1] as char).to_digit(16)?;
            *o = (hi * 16 + lo) as u8;
        }
        Some(Self(out))
    }
}

/// One erasure on the `erasures` topic (JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErasureRecord {
    /// [`Digest::to_hex`] of the erased installation's id.
    pub installation_digest: String,
    /// When the erase was asked for (the caller's clock).
    pub time_ms: i64,
}

/// Why erasures could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ErasureError {
    /// The topic could not be read.
    #[error("erasures: {0}")]
    Stream(#[from] StreamError),
    /// A stored erasure does not decode.
    #[error("erasures: the record at offset {offset} is not an erasure: {detail}")]
    Corrupt {
        /// Its offset.
        offset: Offset,
        /// What was wrong.
        detail: String,
    },
}

/// Appends the erasure of `installation_id` at `now_ms`, durable as the transport's
/// appends are. Call it after the installation left the store; calling it again for
/// the same id is harmless.
pub fn append(
    transport: &dyn Transport,
    installation_id: &str,
    now_ms: i64,
) -> Result<AppendAck, StreamError> {
    let digest = Digest::of(installation_id).to_hex();
    let record = ErasureRecord {
        installation_digest: digest,
        time_ms: now_ms,
    };
    let mut batch = Batch::new();
    batch.push_with(record.installation_digest.as_bytes(), now_ms, |buf| {
        // Serialising a plain struct into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *buf, &record);
    });
    transport.append(TOPIC, &batch)
}

/// The erased installations read so far, and how far the topic was read.
#[derive(Debug, Clone, Default)]
pub struct Erasures {
    digests: FxHashSet<Digest>,
    end: Offset,
}

impl Erasures {
    /// No erasures.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every erasure on the topic.
    pub fn load(transport: &dyn Transport) -> Result<Self, ErasureError> {
        let mut e = Self::new();
        e.catch_up(transport, None)?;
        Ok(e)
    }

    /// Reads erasures after the last one read, up to `until` (exclusive) when given;
    /// returns how many records were read.
    pub fn catch_up(
        &mut self,
        transport: &dyn Transport,
        until: Option<Offset>,
    ) -> Result<u64, ErasureError> {
        let range = transport.offsets(TOPIC)?;
        let end = until.map_or(range.end, |u| u.min(range.end));
        let mut at = self.end.max(range.start);
        let first = self.end;
        while at < end {
            let fetched = transport.read(TOPIC, at, FETCH_BYTES)?;
            if fetched.is_empty() {
                break;
            }
            for r in fetched.records().take_while(|r| r.offset < end) {
                let record: ErasureRecord =
                    serde_json::from_slice(r.value).map_err(|e| ErasureError::Corrupt {
                        offset: r.offset,
                        detail: e.to_string(),
                    })?;
                let digest = Digest::from_hex(&record.installation_digest).ok_or_else(|| {
                    ErasureError::Corrupt {
                        offset: r.offset,
                        detail: "installation_digest is not 64 hex digits".into(),
                    }
                })?;
                self.digests.insert(digest);
                at = r.offset + 1;
            }
        }
        self.end = at.max(self.end);
        Ok(self.end - first)
    }

    /// The offset after the last erasure read.
    pub fn end(&self) -> Offset {
        self.end
    }

    /// Distinct erased installations.
    pub fn len(&self) -> usize {
        self.digests.len()
    }

    /// True when nothing was erased.
    pub fn is_empty(&self) -> bool {
        self.digests.is_empty()
    }

    /// True when `installation_id` was erased (or is an id the log redacted).
    pub fn contains(&self, installation_id: &str) -> bool {
        !self.digests.is_empty()
            && (is_redacted(installation_id) || self.digests.contains(&Digest::of(installation_id)))
    }

    /// True when the installation with this digest was erased.
    pub fn contains_digest(&self, digest: &Digest) -> bool {
        self.digests.contains(digest)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use sellout_streams::ManualClock;
    use sellout_streams::log::{EmbeddedLog, LogConfig};

    use super::*;

    #[test]
    fn digests_round_trip_and_differ_per_id() {
        let a = Digest::of("ins-000001");
        assert_eq!(Digest::from_hex(&a.to_hex()), Some(a));
        assert_ne!(a, Digest::of("ins-000002"));
        assert!(!a.to_hex().contains("ins-000001"));
        assert_eq!(Digest::from_hex("zz"), None);
        assert_eq!(Digest::from_hex(&"g".repeat(64)), None);
    }

    #[test]
    fn erasures_load_catch_up_and_hold_no_ids() {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = EmbeddedLog::open(
            dir.path(),
            LogConfig::default(),
            Arc::new(ManualClock::new(0)),
        )
        .expect("log");
        let mut set = Erasures::load(&log).expect("empty");
        assert!(set.is_empty() && set.end() == 0);
        append(&log, "ins-000001", 10).expect("append");
        append(&log, "ins-000001", 11).expect("twice");
        assert_eq!(set.catch_up(&log, None).expect("catch up"), 2);
        assert_eq!(set.len(), 1);
        assert!(set.contains("ins-000001") && !set.contains("ins-000002"));
        append(&log, "ins-000002", 12).expect("append");
        assert_eq!(set.catch_up(&log, Some(2)).expect("bounded"), 0);
        assert_eq!(set.catch_up(&log, None).expect("more"), 1);
        assert!(set.contains("ins-000002") && set.end() == 3);
        let fetched = log.read(TOPIC, 0, 1 << 20).expect("read");
        for r in fetched.records() {
            let text = String::from_utf8_lossy(r.value);
            assert!(!text.contains("ins-00000"), "{text}");
            assert!(!String::from_utf8_lossy(r.key).contains("ins-00000"));
        }
        log.append(TOPIC, &{
            let mut b = Batch::new();
            b.push(b"k", 0, b"{not json");
            b
        })
        .expect("append junk");
        assert!(matches!(
            set.catch_up(&log, None),
            Err(ErasureError::Corrupt { offset: 3, .. })
        ));
    }
}
