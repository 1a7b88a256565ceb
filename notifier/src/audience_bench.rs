//! Synthetic installations and the audience benchmark: insert throughput, snapshot
//! write, load time, selection time over the bitmap index, and memory (RSS).
//!
//! Two phases, meant for two processes so that the load phase's RSS is not inflated by
//! the build phase: [`build`] then [`load_and_query`]. Wall time is measured with
//! `Instant` here only (a benchmark measures its own duration).

use std::path::Path;
use std::time::Instant;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::installation::{Installation, Platform};
use crate::store::StoreError;
use crate::store::embedded::{EmbeddedOptions, EmbeddedStore, SNAPSHOT_FILE};
use crate::tags::TagExpr;

const SPORTS: &[&str] = &[
    "rugby", "football", "tennis", "cricket", "f1", "golf", "cycling", "boxing",
];
const COUNTRIES: &[(&str, &str)] = &[
    ("UK", "en-GB"),
    ("US", "en-US"),
    ("FR", "fr-FR"),
    ("IE", "en-IE"),
    ("DE", "de-DE"),
    ("ES", "es-ES"),
    ("IT", "it-IT"),
    ("AU", "en-AU"),
    ("NZ", "en-NZ"),
    ("CA", "fr-CA"),
];
const FCM_CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Expressions the benchmark times.
pub const BENCH_EXPRESSIONS: &[&str] = &[
    "sport:rugby",
    "(sport:rugby || sport:tennis) && (cc:UK || cc:US)",
    "sport:football && !fan:gold && lang:en",
    "team:t17 || team:t42 || venue:v3",
    "!cc:UK",
];

/// The `i`-th synthetic installation (realistic tags, tokens and locales).
pub fn synthetic_installation(i: u64, rng: &mut impl Rng) -> Installation {
    let platform = if rng.random_bool(0.55) {
        Platform::Apns
    } else {
        Platform::Fcm
    };
    let push_channel = match platform {
        Platform::Apns => (0..64)
            .map(|_| char::from(b"0123456789abcdef"[rng.random_range(0..16)]))
            .collect(),
        Platform::Fcm => {
            let mut t: String = (0..22)
                .map(|_| char::from(FCM_CHARS[rng.random_range(0..64)]))
                .collect();
            t.push(':');
            t.extend((0..129).map(|_| char::from(FCM_CHARS[rng.random_range(0..64)])));
            t
        }
    };
    let (cc, locale) = COUNTRIES[rng.random_range(0..COUNTRIES.len())];
    let mut tags = vec![format!("cc:{cc}"), format!("lang:{}", &locale[..2])];
    let n_sports = rng.random_range(1..=3);
    for _ in 0..n_sports {
        let t = format!("sport:{}", SPORTS[rng.random_range(0..SPORTS.len())]);
        if !tags.contains(&t) {
            tags.push(t);
        }
    }
    for _ in 0..rng.random_range(0..=2) {
        let t = format!("team:t{}", rng.random_range(0..200));
        if !tags.contains(&t) {
            tags.push(t);
        }
    }
    if rng.random_bool(0.2) {
        tags.push(["fan:gold", "fan:silver", "fan:bronze"][rng.random_range(0..3)].to_string());
    }
    if rng.random_bool(0.3) {
        tags.push(format!("venue:v{}", rng.random_range(0..50)));
    }
    Installation {
        installation_id: format!("inst-{i:012}"),
        platform,
        push_channel,
        locale: locale.to_string(),
        tags,
        customer_id: rng
            .random_bool(0.3)
            .then(|| format!("cust-{}", rng.random_range(0..5_000_000))),
        expiration_ms: rng
            .random_bool(0.05)
            .then(|| 1_700_000_000_000 + rng.random_range(0..200_000_000_000i64)),
    }
}

/// `n` synthetic installations from `seed`, generated lazily.
pub fn synthetic(n: u64, seed: u64) -> impl Iterator<Item = Installation> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n).map(move |i| synthetic_installation(i, &mut rng))
}

/// The build phase's figures.
#[derive(Debug, Clone)]
pub struct BuildReport {
    /// Installations inserted.
    pub inserted: u64,
    /// Seconds for all upserts (validation, log write, index).
    pub insert_secs: f64,
    /// Seconds to write the snapshot (compaction).
    pub snapshot_secs: f64,
    /// Snapshot size in bytes.
    pub snapshot_bytes: u64,
}

/// Inserts `n` synthetic installations into a fresh store in `dir`, then compacts.
pub fn build(dir: &Path, n: u64, seed: u64) -> Result<BuildReport, StoreError> {
    let store = EmbeddedStore::open(dir, EmbeddedOptions::default())?;
    let started = Instant::now();
    let mut batch = Vec::with_capacity(10_000);
    for inst in synthetic(n, seed) {
        batch.push(inst);
        if batch.len() == 10_000 {
            store.upsert_batch(&batch)?;
            batch.clear();
        }
    }
    store.upsert_batch(&batch)?;
    let insert_secs = started.elapsed().as_secs_f64();
    let started = Instant::now();
    store.compact()?;
    let snapshot_secs = started.elapsed().as_secs_f64();
    let snapshot_bytes = std::fs::metadata(dir.join(SNAPSHOT_FILE))?.len();
    Ok(BuildReport {
        inserted: n,
        insert_secs,
        snapshot_secs,
        snapshot_bytes,
    })
}

/// The load phase's figures.
#[derive(Debug, Clone)]
pub struct LoadReport {
    /// Installations loaded.
    pub loaded: usize,
    /// Seconds to open the store (read snapshot, build indexes, replay log).
    pub load_secs: f64,
    /// Resident memory before and after loading, in bytes (Linux only).
    pub rss_before: Option<u64>,
    /// Resident memory after loading.
    pub rss_after: Option<u64>,
    /// Bitmap bytes and arena bytes.
    pub breakdown: (usize, usize),
    /// Per expression: the expression, the audience size, the best of 5 runs in ms.
    pub selections: Vec<(String, u64, f64)>,
}

/// Opens the store in `dir`, then times each of [`BENCH_EXPRESSIONS`].
pub fn load_and_query(dir: &Path, now_ms: i64) -> Result<LoadReport, StoreError> {
    let rss_before = rss_bytes();
    let started = Instant::now();
    let store = EmbeddedStore::open(dir, EmbeddedOptions::default())?;
    let load_secs = started.elapsed().as_secs_f64();
    let rss_after = rss_bytes();
    let mut selections = Vec::new();
    for src in BENCH_EXPRESSIONS {
        let expr = TagExpr::parse(src)
            .map_err(|e| crate::installation::ValidationError::new("expr", e.to_string()))?;
        let mut best = f64::MAX;
        let mut count = 0;
        for _ in 0..5 {
            let t = Instant::now();
            count = store.select(Some(&expr), None, now_ms).len();
            best = best.min(t.elapsed().as_secs_f64() * 1e3);
        }
        selections.push(((*src).to_string(), count, best));
    }
    Ok(LoadReport {
        loaded: store.len(),
        load_secs,
        rss_before,
        rss_after,
        breakdown: store.memory_breakdown(),
        selections,
    })
}

/// This process's resident set size, from `/proc/self/statm` (Linux; 4 KiB pages).
pub fn rss_bytes() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = s.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}
