//! Keys: API keys (`sellout key new`) and the quote-signing key.
//!
//! API keys are shown once, when made, and only their SHA-256 is stored
//! (`<data_dir>/keys/api-keys.json`, beside any hashes in `pricing.api_keys`). When
//! no quote key is configured (`pricing.quote_keys`), one is generated on first use
//! and kept in `<data_dir>/keys/quote-keys.json`, readable by the owner only, so
//! quotes survive restarts. Keys come from the operating system's random source.

use std::io::Read as _;
use std::path::Path;

use anyhow::Context as _;
use sellout_pricing::PricingConfig;
use sellout_pricing::auth::{KeyHash, KeyKind, hash_key, to_hex};
use sellout_pricing::quotes::QuoteKey;
use serde::{Deserialize, Serialize};

use crate::config::Config;

const API_KEYS: &str = "api-keys.json";
const QUOTE_KEYS: &str = "quote-keys.json";
const VOUCHER_KEY: &str = "voucher-key.json";

#[derive(Serialize, Deserialize)]
struct QuoteKeys {
    active: String,
    keys: Vec<QuoteKey>,
}

/// `n` bytes from the operating system's random source.
fn random_bytes(n: usize) -> anyhow::Result<Vec<u8>> {
    let mut bytes = vec![0; n];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .context("cannot read the system's random source")?;
    Ok(bytes)
}

/// Writes `bytes` readable by the owner only, through a rename.
fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write as _;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt as _;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let tmp = path.with_extension("tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut file = options
        .open(&tmp)
        .with_context(|| format!("cannot create {}", tmp.display()))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))
}

fn stored_hashes(config: &Config) -> anyhow::Result<Vec<KeyHash>> {
    let path = config.keys_dir().join(API_KEYS);
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .with_context(|| format!("{} is not a list of key hashes", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// Makes a new API key of `kind`, stores its hash, and returns the key (the only
/// time it exists outside the caller).
pub fn new_api_key(config: &Config, kind: KeyKind) -> anyhow::Result<String> {
    let prefix = match kind {
        KeyKind::Portal => "so_portal_",
        KeyKind::Admin => "so_admin_",
        KeyKind::Ingest => "so_ingest_",
    };
    let key = format!("{prefix}{}", to_hex(&random_bytes(32)?));
    let mut hashes = stored_hashes(config)?;
    hashes.push(KeyHash {
        kind,
        sha256: hash_key(&key),
    });
    write_private(
        &config.keys_dir().join(API_KEYS),
        &serde_json::to_vec_pretty(&hashes)?,
    )?;
    Ok(key)
}

/// The voucher-signing key ring (stored in clear, readable by the owner only, since a
/// stand verifies codes with the same secret; generated on first use).
pub fn voucher_keys(config: &Config) -> anyhow::Result<sellout_notifier::voucher::VoucherKeys> {
    #[derive(serde::Serialize, serde::Deserialize)]
    struct Stored {
        id: u8,
        secret_hex: String,
    }
    let path = config.keys_dir().join(VOUCHER_KEY);
    let stored: Stored = match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .with_context(|| format!("{} is not a voucher key file", path.display()))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = Stored {
                id: 1,
                secret_hex: to_hex(&random_bytes(32)?),
            };
            write_private(&path, &serde_json::to_vec_pretty(&key)?)?;
            tracing::info!(message = "Generated a voucher-signing key.", path = %path.display());
            key
        }
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let secret = sellout_pricing::auth::from_hex(&stored.secret_hex)
        .with_context(|| format!("{}: the secret is not hex", path.display()))?;
    sellout_notifier::voucher::VoucherKeys::new(stored.id, &secret)
        .with_context(|| format!("{}: unusable voucher key", path.display()))
}

/// The pricing settings with every key filled in: configured and stored API key
/// hashes, and the quote keys (configured, stored, or generated now).
pub fn pricing_config(config: &Config) -> anyhow::Result<PricingConfig> {
    let mut pricing = config.pricing.clone();
    pricing.api_keys.extend(stored_hashes(config)?);
    if pricing.quote_keys.is_empty() {
        let path = config.keys_dir().join(QUOTE_KEYS);
        let stored: QuoteKeys = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .with_context(|| format!("{} is not a quote key file", path.display()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let keys = QuoteKeys {
                    active: "k1".into(),
                    keys: vec![QuoteKey {
                        id: "k1".into(),
                        secret_hex: to_hex(&random_bytes(32)?),
                    }],
                };
                write_private(&path, &serde_json::to_vec_pretty(&keys)?)?;
                tracing::info!(message = "Generated a quote-signing key.", path = %path.display());
                keys
            }
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        pricing.active_quote_key = stored.active;
        pricing.quote_keys = stored.keys;
    }
    Ok(pricing)
}
