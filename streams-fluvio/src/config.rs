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
