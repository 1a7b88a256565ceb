//! [`FluvioConfig`]: where the cluster is, how to reach it, and how topics, the producer
//! and consumers are tuned. Its doc comments are the user docs of the `[fluvio]` table
//! in `sellout.toml`; unknown keys are errors so that typos fail loudly.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::FluvioError;

/// How the transport reaches and uses a Fluvio cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FluvioConfig {
    /// The SC's public address, `host:port` (a local cluster: `127.0.0.1:9003`).
    pub endpoint: String,
    /// TLS to the cluster; absent means plain TCP.
    pub tls: Option<TlsConfig>,
    /// Settings of topics the transport creates when they are missing.
    pub topic: TopicSettings,
    /// Producer batching.
    pub producer: ProducerSettings,
    /// Consumer fetches.
    pub consumer: ConsumerSettings,
    /// Connection retries.
    pub retry: RetrySettings,
    /// The topic holding consumer checkpoints (one partition, created when missing).
    pub checkpoint_topic: String,
    /// How the checkpoint topic is bounded.
    pub checkpoint: CheckpointSettings,
}

impl Default for FluvioConfig {
    fn default() -> Self {
        Self {
            endpoint: "127.0.0.1:9003".to_owned(),
            tls: None,
            topic: TopicSettings::default(),
            producer: ProducerSettings::default(),
            consumer: ConsumerSettings::default(),
            retry: RetrySettings::default(),
            checkpoint_topic: "sellout-checkpoints".to_owned(),
            checkpoint: CheckpointSettings::default(),
        }
    }
}

/// The bound of the checkpoint topic (`[fluvio.checkpoint]`): Fluvio retention on the
/// topic, and how often a process re-appends its positions so retention never drops a
/// live one (the `checkpoint` module of the transport says why this suffices).
/// Applied when the transport creates the topic; an existing topic keeps its settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CheckpointSettings {
    /// Seconds a rolled segment is kept (default 604,800: seven days).
    pub retention_s: u32,
    /// Segment size in bytes (default 1 MiB, about 10,000 commits).
    pub segment_bytes: u32,
    /// Largest size of the topic in bytes, oldest segments dropped first (default 64 MiB).
    pub max_bytes: u64,
    /// A process re-appends each of its positions whose record lies this many records
    /// behind the topic's head, with its next commit (default 1,000: about a tenth of a
    /// segment).
    pub refresh_after_records: u64,
}

impl Default for CheckpointSettings {
    fn default() -> Self {
        Self {
            retention_s: 7 * 24 * 3600,
            segment_bytes: 1 << 20,
            max_bytes: 64 << 20,
            refresh_after_records: 1_000,
        }
    }
}

/// Verified TLS. Fluvio's client TLS is mutual: the client presents a certificate too.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM file of the certificate authority that signed the cluster's certificate.
    pub ca_file: PathBuf,
    /// The name the cluster's certificate is issued for.
    pub domain: String,
    /// PEM file of this client's certificate.
    pub cert_file: PathBuf,
    /// PEM file of this client's private key (never logged).
    pub key_file: PathBuf,
}

/// Partitions and replication of topics created by the transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TopicSettings {
    /// Partitions per topic: the unit of parallelism (one worker consumer per partition).
    pub partitions: u32,
    /// Copies of each partition (at most the number of SPUs).
    pub replication: u32,
}

impl Default for TopicSettings {
    fn default() -> Self {
        Self {
            partitions: 4,
            replication: 1,
        }
    }
}

/// Producer batching: records are grouped per partition into batches of up to
/// `batch_bytes`, sent when full or `linger_ms` after their first record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProducerSettings {
    /// Largest producer batch in bytes.
    pub batch_bytes: usize,
    /// How long a partial batch waits for more records, in milliseconds.
    pub linger_ms: u64,
    /// How long one produce request may take before it fails, in milliseconds.
    pub timeout_ms: u64,
}

impl Default for ProducerSettings {
    fn default() -> Self {
        Self {
            batch_bytes: 1 << 20,
            linger_ms: 5,
            timeout_ms: 10_000,
        }
    }
}

/// Consumer fetches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConsumerSettings {
    /// Largest fetch the SPU is asked for, in bytes (a read asks for twice what its
    /// caller wants, at least 1 MiB, at most this). fluvio 0.50.1 skipped records at
    /// fetch boundaries (NOTES.md); every read checks contiguity whatever this is.
    pub max_fetch_bytes: u32,
    /// Re-fetches of a gap before a read fails.
    pub gap_refetches: u32,
    /// How long one fetch may take before it counts as a lost connection, in milliseconds.
    pub timeout_ms: u64,
}

impl Default for ConsumerSettings {
    fn default() -> Self {
        Self {
            max_fetch_bytes: 64 << 20,
            gap_refetches: 3,
            timeout_ms: 10_000,
        }
    }
}

/// Reconnection after a lost connection or a restarted SPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetrySettings {
    /// Attempts of one operation (first try included) before it fails.
    pub attempts: u32,
    /// First backoff, in milliseconds; doubled after each failure.
    pub backoff_ms: u64,
    /// Largest backoff, in milliseconds.
    pub max_backoff_ms: u64,
}

impl Default for RetrySettings {
    fn default() -> Self {
        Self {
            attempts: 8,
            backoff_ms: 50,
            max_backoff_ms: 2_000,
        }
    }
}

impl RetrySettings {
    /// The backoff before retry number `retry` (0 for the first retry).
    pub fn backoff(&self, retry: u32) -> Duration {
        let ms = self
            .backoff_ms
            .saturating_mul(1u64 << retry.min(20))
            .min(self.max_backoff_ms);
        Duration::from_millis(ms)
    }
}

impl FluvioConfig {
    /// A default config pointing at `endpoint`.
    pub fn at(endpoint: impl Into<String>) -> Self {
        Self {
            endpoint: endpoint.into(),
            ..Self::default()
        }
    }

    /// Checks the values against each other; every error names the offending key.
    pub fn validate(&self) -> Result<(), FluvioError> {
        let bad = |key: &str, why: &str| Err(FluvioError::Config(format!("fluvio.{key}: {why}")));
        if self
            .endpoint
            .rsplit_once(':')
            .is_none_or(|(host, port)| host.is_empty() || port.parse::<u16>().is_err())
        {
            return bad("endpoint", "expected host:port, e.g. 127.0.0.1:9003");
        }
        if self.topic.partitions == 0 || self.topic.partitions > 1024 {
            return bad("topic.partitions", "must be 1..=1024");
        }
        if self.topic.replication == 0 {
            return bad("topic.replication", "must be at least 1");
        }
        if self.producer.batch_bytes < 1024 {
            return bad("producer.batch_bytes", "must be at least 1024");
        }
        if self.consumer.max_fetch_bytes < 1024 || self.consumer.max_fetch_bytes > i32::MAX as u32 {
            return bad("consumer.max_fetch_bytes", "must be 1024..=2147483647");
        }
        if self.retry.attempts == 0 {
            return bad("retry.attempts", "must be at least 1");
        }
        if self.producer.timeout_ms == 0 || self.consumer.timeout_ms == 0 {
            return bad("producer/consumer.timeout_ms", "must be positive");
        }
        let cp = &self.checkpoint;
        if cp.retention_s < 60 {
            return bad("checkpoint.retention_s", "must be at least 60");
        }
        if cp.segment_bytes < 64 * 1024 {
            return bad("checkpoint.segment_bytes", "must be at least 65536");
        }
        if cp.max_bytes < 2 * u64::from(cp.segment_bytes) {
            return bad(
                "checkpoint.max_bytes",
                "must hold at least two segments (2 x segment_bytes)",
            );
        }
        // A commit record takes about 100 bytes: the refresh distance must stay well
        // inside one segment, so live positions are in the newest segment or two.
        if cp.refresh_after_records == 0
            || cp.refresh_after_records.saturating_mul(400) > u64::from(cp.segment_bytes)
        {
            return bad(
                "checkpoint.refresh_after_records",
                "must be 1..=segment_bytes/400 (positions refreshed within a segment)",
            );
        }
        check_topic(&self.checkpoint_topic)
            .map_err(|_| FluvioError::Config("fluvio.checkpoint_topic: invalid name".to_owned()))?;
        if let Some(tls) = &self.tls {
            if tls.domain.is_empty() {
                return bad("tls.domain", "must not be empty");
            }
            if !cfg!(feature = "tls") {
                return bad(
                    "tls",
                    "this build has no TLS: build sellout-streams-fluvio with its `tls` feature",
                );
            }
        }
        Ok(())
    }
}

/// Topic names the transport accepts: 1-63 characters of a-z, 0-9 and '-' (Fluvio's
/// rule; '_' is refused by the cluster).
pub(crate) fn check_topic(topic: &str) -> Result<(), FluvioError> {
    let ok = !topic.is_empty()
        && topic.len() <= 63
        && topic
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !topic.starts_with('-')
        && !topic.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(FluvioError::InvalidTopic(topic.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_parse_from_toml() {
        let parsed: FluvioConfig = toml::from_str(
            "endpoint = \"10.0.0.5:9003\"\n[topic]\npartitions = 8\n[consumer]\ngap_refetches = 5\n",
        )
        .map_err(|e| e.to_string())
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(parsed.endpoint, "10.0.0.5:9003");
        assert_eq!(parsed.topic.partitions, 8);
        assert_eq!(parsed.topic.replication, 1);
        assert_eq!(parsed.consumer.gap_refetches, 5);
        assert!(parsed.validate().is_ok());
        assert!(FluvioConfig::default().validate().is_ok());
    }

    #[test]
    fn unknown_keys_and_bad_values_fail_with_the_key_named() {
        let typo = toml::from_str::<FluvioConfig>("endpont = \"x:1\"\n");
        assert!(typo.is_err());
        let mut c = FluvioConfig::at("nohost");
        assert!(matches!(c.validate(), Err(FluvioError::Config(m)) if m.contains("endpoint")));
        c = FluvioConfig::default();
        c.topic.partitions = 0;
        assert!(matches!(c.validate(), Err(FluvioError::Config(m)) if m.contains("partitions")));
        c = FluvioConfig::default();
        c.checkpoint.refresh_after_records = u64::from(c.checkpoint.segment_bytes);
        assert!(
            matches!(c.validate(), Err(FluvioError::Config(m)) if m.contains("refresh_after_records"))
        );
        c = FluvioConfig::default();
        c.checkpoint.max_bytes = u64::from(c.checkpoint.segment_bytes);
        assert!(matches!(c.validate(), Err(FluvioError::Config(m)) if m.contains("max_bytes")));
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let r = RetrySettings {
            attempts: 5,
            backoff_ms: 10,
            max_backoff_ms: 35,
        };
        assert_eq!(r.backoff(0), Duration::from_millis(10));
        assert_eq!(r.backoff(1), Duration::from_millis(20));
        assert_eq!(r.backoff(2), Duration::from_millis(35));
        assert_eq!(r.backoff(60), Duration::from_millis(35));
    }

    #[test]
    fn topic_names_follow_fluvio_rules() {
        assert!(check_topic("sales").is_ok());
        assert!(check_topic("sales-2").is_ok());
        assert!(check_topic("Sales").is_err());
        assert!(check_topic("dead_letter").is_err());
        assert!(check_topic("").is_err());
    }
}
