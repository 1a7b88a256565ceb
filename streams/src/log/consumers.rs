//! Named consumer positions: `consumers/<topic>/<consumer>.pos`, one decimal offset per
//! file, replaced atomically (write a temp file, fsync it, rename it over, fsync the
//! directory) so a crash leaves either the old position or the new one.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;

use super::topic::sync_dir;
use crate::transport::{Offset, StreamError};

/// Known positions by (topic, consumer); `None` caches "no such file".
type Cache = HashMap<(String, String), Option<Offset>>;

/// The consumer positions of one log, cached in memory after the first look.
#[derive(Debug)]
pub(crate) struct Consumers {
    dir: PathBuf,
    /// Also serialises commits, so two never share a temp file.
    cache: Mutex<Cache>,
}

/// Checks a consumer name: 1-64 characters of a-z, A-Z, 0-9, '-', '_' and '.'.
pub(crate) fn validate_consumer(name: &str) -> Result<(), StreamError> {
    let ok = (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(StreamError::InvalidConsumer(name.to_string()))
    }
}

impl Consumers {
    /// Positions stored under `dir` (which must exist).
    pub fn new(dir: PathBuf) -> Self {
        Self {
            dir,
            cache: Mutex::new(HashMap::new()),
        }
    }

    fn path(&self, topic: &str, consumer: &str) -> PathBuf {
        self.dir.join(topic).join(format!("{consumer}.pos"))
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Cache>, StreamError> {
        self.cache.lock().map_err(|_| {
            StreamError::Unavailable(
                "consumer positions lock poisoned by an earlier panic".to_string(),
            )
        })
    }

    /// Durably saves `offset` as the position of `consumer` on `topic` (names validated
    /// by the caller).
    pub fn commit(&self, topic: &str, consumer: &str, offset: Offset) -> Result<(), StreamError> {
        let mut cache = self.lock()?;
        let topic_dir = self.dir.join(topic);
        if !topic_dir.is_dir() {
            fs::create_dir_all(&topic_dir).map_err(|e| {
                StreamError::io(format!("creating directory {}", topic_dir.display()), e)
            })?;
            sync_dir(&self.dir)?;
        }
        let path = self.path(topic, consumer);
        let tmp = topic_dir.join(format!("{consumer}.pos.tmp"));
        let write = || -> std::io::Result<()> {
            let mut file = File::create(&tmp)?;
            file.write_all(format!("{offset}\n").as_bytes())?;
            file.sync_all()?;
            fs::rename(&tmp, &path)
        };
        write().map_err(|e| {
            StreamError::io(format!("saving consumer position {}", path.display()), e)
        })?;
        sync_dir(&topic_dir)?;
        cache.insert((topic.to_string(), consumer.to_string()), Some(offset));
        Ok(())
    }

    /// The saved position of `consumer` on `topic`, if any.
    pub fn committed(&self, topic: &str, consumer: &str) -> Result<Option<Offset>, StreamError> {
        let mut cache = self.lock()?;
        let key = (topic.to_string(), consumer.to_string());
        if let Some(known) = cache.get(&key) {
            return Ok(*known);
        }
        let path = self.path(topic, consumer);
        let position = match fs::read_to_string(&path) {
            Ok(text) => Some(
                text.trim()
                    .parse::<Offset>()
                    .map_err(|_| StreamError::Corrupt {
                        path: path.display().to_string(),
                        detail: format!(
                            "not an offset: {:?}",
                            text.chars().take(40).collect::<String>()
                        ),
                    })?,
            ),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => {
                return Err(StreamError::io(
                    format!("reading consumer position {}", path.display()),
                    e,
                ));
            }
        };
        cache.insert(key, position);
        Ok(position)
    }
}
