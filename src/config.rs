//! Layered configuration: built-in defaults → `./sellout.toml` (if present) → `--config
//! FILE` → `SELLOUT__*` environment variables (`SELLOUT__LOG__FSYNC=always` sets
//! `log.fsync`). Unknown keys are errors, so a typo fails loudly instead of being ignored.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use figment::Figment;
use figment::providers::{Env, Format as _, Serialized, Toml};
use serde::{Deserialize, Serialize};

use sellout_analyst::ArchiveConfig;
use sellout_ingest::http::HttpIngestConfig;
use sellout_ingest::validate::Limits;
use sellout_pipelines::PipelinesConfig;
use sellout_pricing::PricingConfig;
use sellout_simulator::SimConfig;
use sellout_streams::log::LogConfig;

/// Everything `sellout` can be configured with. Each section's doc comments are its docs.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Directory every command reads and writes: the log, the catalog, ground truth.
    pub data_dir: PathBuf,
    /// The embedded log (segments, fsync policy, retention).
    pub log: LogConfig,
    /// Validation limits for incoming records.
    pub limits: Limits,
    /// The HTTP server.
    pub server: ServerConfig,
    /// The HTTP ingest routes.
    pub http_ingest: HttpIngestConfig,
    /// The simulator used by `demo`, `simulate` and benchmarks.
    pub simulator: SimConfig,
    /// The streaming jobs: watermarks, checkpoints, each job's settings.
    pub pipelines: PipelinesConfig,
    /// The Parquet archive of the streams.
    pub archive: ArchiveConfig,
    /// The pricing service: guardrails, quotes, keys, limits.
    pub pricing: PricingConfig,
    /// Which optimiser the repricer asks, and where trained models live.
    pub models: ModelsConfig,
    /// Push notifications: campaigns, APNs and FCM credentials, polling.
    pub notifier: crate::notify::NotifierConfig,
    /// The live board and the InfluxDB sink.
    pub dashboards: crate::board::DashboardsConfig,
    /// The Fluvio cluster, topics, producer and consumers: read and checked by the
    /// `sellout-fluvio` worker binary (`sellout_streams_fluvio::FluvioConfig`), kept
    /// opaque here so that this binary does not build the Fluvio client.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fluvio: Option<serde_json::Value>,
}

/// What proposes prices to the repricer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PriceWith {
    /// The rule-based fallback (step up on sustained surges, down on slumps).
    #[default]
    Rules,
    /// The newest trained model in the registry (`sellout train`).
    Model,
}

/// `[models]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModelsConfig {
    /// `rules` (default) or `model`.
    pub price_with: PriceWith,
    /// The model registry (default `<data_dir>/models`).
    pub registry: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("sellout-data"),
            log: LogConfig::default(),
            limits: Limits::default(),
            server: ServerConfig::default(),
            http_ingest: HttpIngestConfig::default(),
            simulator: SimConfig::default(),
            pipelines: PipelinesConfig::default(),
            archive: ArchiveConfig::default(),
            pricing: PricingConfig::default(),
            models: ModelsConfig::default(),
            notifier: crate::notify::NotifierConfig::default(),
            dashboards: crate::board::DashboardsConfig::default(),
            fluvio: None,
        }
    }
}

/// Where the HTTP server listens.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address to bind (`127.0.0.1:0` picks a free port).
    pub listen: SocketAddr,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
        }
    }
}

impl Config {
    /// Loads the layers; `explicit` is the `--config` file, which must exist.
    pub fn load(explicit: Option<&Path>) -> anyhow::Result<Self> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()))
            .merge(Toml::file("sellout.toml"));
        if let Some(path) = explicit {
            anyhow::ensure!(
                path.is_file(),
                "config file {} does not exist",
                path.display()
            );
            figment = figment.merge(Toml::file(path));
        }
        figment = figment.merge(Env::prefixed("SELLOUT__").split("__"));
        figment.extract().context("invalid configuration")
    }

    /// Path of the embedded log.
    pub fn log_dir(&self) -> PathBuf {
        self.data_dir.join("log")
    }

    /// Path of the catalog file.
    pub fn catalog_path(&self) -> PathBuf {
        self.data_dir.join("catalog.json")
    }

    /// Path of the pipelines' checkpoint.
    pub fn pipelines_checkpoint(&self) -> PathBuf {
        self.data_dir.join("pipelines").join("checkpoint.bin")
    }

    /// The repricer's state: memory per category and read positions.
    pub fn repricer_checkpoint(&self) -> PathBuf {
        self.data_dir.join("pricing").join("repricer.json")
    }

    /// The Parquet archive of the streams.
    pub fn archive_dir(&self) -> PathBuf {
        self.data_dir.join("archive")
    }

    /// The model registry.
    pub fn registry_dir(&self) -> PathBuf {
        self.models
            .registry
            .clone()
            .unwrap_or_else(|| self.data_dir.join("models"))
    }

    /// Keys made by `sellout key` and the generated quote-signing key.
    pub fn keys_dir(&self) -> PathBuf {
        self.data_dir.join("keys")
    }

    /// Path of the simulator's ground truth.
    pub fn truth_path(&self) -> PathBuf {
        self.data_dir.join("truth.json")
    }
}

#[cfg(test)]
// figment's Jail returns its own large error type; that is its API, not ours.
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;

    #[test]
    fn environment_overrides_and_unknown_keys_fail() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "sellout.toml",
                "data_dir = \"from-toml\"\n[server]\nlisten = \"127.0.0.1:9000\"\n",
            )?;
            jail.set_env("SELLOUT__SERVER__LISTEN", "127.0.0.1:9100");
            let config = Config::load(None).map_err(|e| e.to_string())?;
            assert_eq!(config.data_dir, PathBuf::from("from-toml"));
            assert_eq!(config.server.listen.port(), 9100);
            jail.create_file("sellout.toml", "data_dri = \"typo\"\n")?;
            let err = Config::load(None).map(|_| ()).map_err(|e| format!("{e:#}"));
            assert!(
                err.as_ref().is_err_and(|e| e.contains("data_dri")),
                "{err:?}"
            );
            Ok(())
        });
    }
}
