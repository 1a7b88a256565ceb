//! [`WorkerConfig`]: the parts of `sellout.toml` a worker reads, and [`PartitionSet`].
//!
//! The layers are `sellout`'s: built-in defaults → `./sellout.toml` (if present) →
//! `--config FILE` → `SELLOUT__*` environment variables. A worker reads `data_dir`,
//! `[fluvio]` and `[pipelines]`, and an ingest node (`serve --listen`) `[limits]`,
//! `[http_ingest]` and the keys of `[pricing]` (`api_keys`, `rate_limits`); the other
//! tables belong to `sellout` (which checks them), so they are not errors here. Inside
//! the tables it reads, unknown keys are (except `[pricing]`, read in part).

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use figment::Figment;
use figment::providers::{Env, Format as _, Serialized, Toml};
use sellout_ingest::http::HttpIngestConfig;
use sellout_ingest::validate::Limits;
use sellout_pipelines::PipelinesConfig;
use sellout_pricing::auth::KeyHash;
use sellout_pricing::rate::RateLimits;
use sellout_streams_fluvio::FluvioConfig;
use serde::{Deserialize, Serialize};

/// What a worker is configured with.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct WorkerConfig {
    /// The data directory: the catalog (`catalog.json`) and the checkpoints
    /// (`pipelines/partition-<p>.checkpoint`).
    pub data_dir: PathBuf,
    /// The cluster, topics, producer and consumer settings.
    pub fluvio: FluvioConfig,
    /// The streaming jobs.
    pub pipelines: PipelinesConfig,
    /// Validation limits of the ingest node (`sellout serve`'s `[limits]`).
    pub limits: Limits,
    /// The ingest node's HTTP routes (`sellout serve`'s `[http_ingest]`).
    pub http_ingest: HttpIngestConfig,
    /// The API keys and their rates (the part of `[pricing]` an ingest node reads).
    pub pricing: KeysConfig,
}

/// The keys of `[pricing]`: ingest keys for the record routes, admin keys for the
/// catalog routes (and `<data_dir>/keys/api-keys.json`, written by `sellout key new`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct KeysConfig {
    /// API keys, as SHA-256 hashes with their kind.
    pub api_keys: Vec<KeyHash>,
    /// Request rates per key, by kind.
    pub rate_limits: RateLimits,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("sellout-data"),
            fluvio: FluvioConfig::default(),
            pipelines: PipelinesConfig::default(),
            limits: Limits::default(),
            http_ingest: HttpIngestConfig::default(),
            pricing: KeysConfig::default(),
        }
    }
}

/// Why the configuration could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// `--config` names no file.
    #[error("config file {0} does not exist")]
    Missing(PathBuf),
    /// A layer does not parse, or a value has the wrong type or an unknown key.
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

impl WorkerConfig {
    /// Loads the layers; `explicit` is the `--config` file, which must exist.
    pub fn load(explicit: Option<&Path>) -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(WorkerConfig::default()))
            .merge(Toml::file("sellout.toml"));
        if let Some(path) = explicit {
            if !path.is_file() {
                return Err(ConfigError::Missing(path.to_owned()));
            }
            figment = figment.merge(Toml::file(path));
        }
        figment = figment.merge(Env::prefixed("SELLOUT__").split("__"));
        let config: Self = figment
            .extract()
            .map_err(|e| ConfigError::Invalid(e.to_string()))?;
        config
            .fluvio
            .validate()
            .map_err(|e| ConfigError::Invalid(e.to_string()))?;
        config
            .pipelines
            .validate()
            .map_err(|e| ConfigError::Invalid(format!("pipelines: {e}")))?;
        Ok(config)
    }

    /// The checkpoint file of the runner of `partition`.
    pub fn checkpoint_path(&self, partition: u32) -> PathBuf {
        checkpoint_path(&self.data_dir, partition)
    }

    /// The catalog file.
    pub fn catalog_path(&self) -> PathBuf {
        self.data_dir.join("catalog.json")
    }

    /// The key hashes `sellout key new` stores.
    pub fn stored_keys_path(&self) -> PathBuf {
        self.data_dir.join("keys").join("api-keys.json")
    }
}

/// The checkpoint file of the runner of `partition` under `data_dir`.
pub fn checkpoint_path(data_dir: &Path, partition: u32) -> PathBuf {
    data_dir
        .join("pipelines")
        .join(format!("partition-{partition}.checkpoint"))
}

/// A set of partition indexes, written `0,2`, `0-3` or `0-1,5`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionSet(BTreeSet<u32>);

/// Partitions a set may name at most (Fluvio topics here have at most 1024).
const MAX_PARTITION: u32 = 1023;

impl PartitionSet {
    /// The partitions, ascending.
    pub fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        self.0.iter().copied()
    }

    /// How many.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when empty (a parsed set never is).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The largest partition named.
    pub fn max(&self) -> Option<u32> {
        self.0.last().copied()
    }

    /// Every partition of a topic of `partitions` partitions.
    pub fn all(partitions: u32) -> Self {
        Self((0..partitions).collect())
    }
}

impl FromStr for PartitionSet {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let bad = |why: &str| {
            Err(format!(
                "invalid partition set {s:?}: {why} (e.g. 0,2 or 0-3)"
            ))
        };
        let number = |n: &str| n.trim().parse::<u32>().ok().filter(|&p| p <= MAX_PARTITION);
        let mut set = BTreeSet::new();
        for part in s.split(',') {
            match part.split_once('-') {
                Some((a, b)) => match (number(a), number(b)) {
                    (Some(a), Some(b)) if a <= b => set.extend(a..=b),
                    (Some(_), Some(_)) => return bad("a range must go upwards"),
                    _ => return bad("expected numbers 0..=1023"),
                },
                None => match number(part) {
                    Some(p) => {
                        set.insert(p);
                    }
                    None => return bad("expected numbers 0..=1023"),
                },
            }
        }
        Ok(Self(set))
    }
}

impl fmt::Display for PartitionSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.0.iter().map(u32::to_string).collect();
        f.write_str(&parts.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_parse_lists_and_ranges() {
        let s: PartitionSet = "0-3".parse().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.iter().collect::<Vec<_>>(), vec![0, 1, 2, 3]);
        let s: PartitionSet = "5, 0-1,1".parse().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.iter().collect::<Vec<_>>(), vec![0, 1, 5]);
        assert_eq!(s.to_string(), "0,1,5");
        assert_eq!(s.max(), Some(5));
        for bad in ["", "a", "3-1", "0,", "-1", "2000", "1-2-3"] {
            assert!(bad.parse::<PartitionSet>().is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn config_reads_its_tables_and_ignores_the_others() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("sellout.toml");
        std::fs::write(
            &path,
            "data_dir = \"d\"\n[server]\nlisten = \"127.0.0.1:1\"\n[pricing]\nquote_ttl_s = 5\n[http_ingest]\nmax_in_flight = 9\n[fluvio]\nendpoint = \"10.1.2.3:9003\"\n[fluvio.topic]\npartitions = 8\n[pipelines]\ncheckpoint_every_records = 5\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let c = WorkerConfig::load(Some(&path)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.fluvio.endpoint, "10.1.2.3:9003");
        assert_eq!(c.fluvio.topic.partitions, 8);
        assert_eq!(c.pipelines.checkpoint_every_records, 5);
        assert_eq!(c.http_ingest.max_in_flight, 9);
        assert_eq!(
            c.checkpoint_path(3),
            Path::new("d/pipelines/partition-3.checkpoint")
        );
        std::fs::write(&path, "[fluvio]\nendpont = \"x:1\"\n").unwrap_or_else(|e| panic!("{e}"));
        let err = WorkerConfig::load(Some(&path)).map(|_| ());
        assert!(
            matches!(&err, Err(ConfigError::Invalid(m)) if m.contains("endpont")),
            "{err:?}"
        );
        assert!(matches!(
            WorkerConfig::load(Some(&dir.path().join("none.toml"))),
            Err(ConfigError::Missing(_))
        ));
    }
}
