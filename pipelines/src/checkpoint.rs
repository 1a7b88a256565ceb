//! Checkpoints: the engine's state, the input positions and the output ends, saved
//! together in one file that is replaced atomically.
//!
//! Layout: `SOCP` magic, a version byte, the CRC-32 and length of the body, then the
//! body (postcard). Written to a temporary file, synced, renamed over the old one and
//! the directory synced, so a crash leaves the old checkpoint or the new one, never a
//! mix; a damaged file is an error, never silently ignored.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sellout_streams::Offset;
use serde::{Deserialize, Serialize};

use crate::engine::EngineState;

const MAGIC: &[u8; 4] = b"SOCP";
/// Bumped whenever a job's state changes shape (postcard is not self-describing, so
/// an old state could decode into nonsense): 2, features, surges and buzz keep their
/// running figures by event time; 3, venue keeps each installation's stay as of the
/// last closed minute and its sightings since; 4, features keeps a week of hourly
/// sales; 5, features keeps each category's opening sales.
const VERSION: u8 = 5;
const HEADER: usize = 4 + 1 + 4 + 4;

/// Everything a restarted runner needs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Next offset to read, per input topic.
    pub inputs: BTreeMap<String, Offset>,
    /// End offset of each output topic when the checkpoint was taken.
    pub outputs: BTreeMap<String, Offset>,
    /// The engine.
    pub engine: EngineState,
}

/// Why a checkpoint could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// File system trouble.
    #[error("checkpoint {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a checkpoint this build can read.
    #[error(
        "checkpoint {path} is damaged or from another version: {detail}; move it away to start over from the beginning of the streams"
    )]
    Damaged {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        detail: String,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> CheckpointError + '_ {
    move |source| CheckpointError::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl Checkpoint {
    /// Writes the checkpoint to `path` atomically.
    pub fn save(&self, path: &Path) -> Result<(), CheckpointError> {
        let body = postcard::to_allocvec(self).map_err(|e| CheckpointError::Damaged {
            path: path.to_path_buf(),
            detail: e.to_string(),
        })?;
        let mut bytes = Vec::with_capacity(HEADER + body.len());
        bytes.extend_from_slice(MAGIC);
        bytes.push(VERSION);
        bytes.extend_from_slice(&crc32fast::hash(&body).to_le_bytes());
        bytes.extend_from_slice(&(body.len() as u32).to_le_bytes());
        bytes.extend_from_slice(&body);
        sellout_streams::files::write_atomically(path, &bytes).map_err(io(path))
    }

    /// Reads the checkpoint at `path`; `None` when there is none.
    pub fn load(path: &Path) -> Result<Option<Checkpoint>, CheckpointError> {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io(path)(e)),
        };
        let damaged = |detail: String| CheckpointError::Damaged {
            path: path.to_path_buf(),
            detail,
        };
        if bytes.len() < HEADER || &bytes[..4] != MAGIC {
            return Err(damaged("no checkpoint header".into()));
        }
        if bytes[4] != VERSION {
            return Err(damaged(format!(
                "version {} (this build reads {VERSION})",
                bytes[4]
            )));
        }
        let crc = u32::from_le_bytes([bytes[5], bytes[6], bytes[7], bytes[8]]);
        let len = u32::from_le_bytes([bytes[9], bytes[10], bytes[11], bytes[12]]) as usize;
        let body = bytes
            .get(HEADER..HEADER + len)
            .ok_or_else(|| damaged(format!("body of {len} bytes is cut short")))?;
        if crc32fast::hash(body) != crc {
            return Err(damaged("checksum mismatch".into()));
        }
        postcard::from_bytes(body)
            .map(Some)
            .map_err(|e| damaged(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::EngineCounts;
    use crate::watermark::Watermarks;

    fn checkpoint() -> Checkpoint {
        Checkpoint {
            inputs: [("sales".to_owned(), 42)].into(),
            outputs: [("signals".to_owned(), 7)].into(),
            engine: EngineState {
                watermarks: Watermarks::new(4),
                counts: EngineCounts::default(),
                jobs: vec![("carts".into(), vec![1, 2, 3])],
            },
        }
    }

    #[test]
    fn round_trips_and_refuses_damage() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cp/checkpoint.bin");
        assert!(Checkpoint::load(&path).unwrap().is_none());
        checkpoint().save(&path).unwrap();
        let back = Checkpoint::load(&path).unwrap().unwrap();
        assert_eq!(back.inputs["sales"], 42);
        assert_eq!(back.engine.jobs, checkpoint().engine.jobs);

        let mut bytes = std::fs::read(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        std::fs::write(&path, &bytes).unwrap();
        let err = Checkpoint::load(&path).unwrap_err().to_string();
        assert!(err.contains("checksum"), "{err}");
        std::fs::write(&path, b"SOCP").unwrap();
        assert!(Checkpoint::load(&path).is_err());
    }
}
