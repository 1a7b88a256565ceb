//! The model registry: versioned model files in a directory, one folder per version:
//! `<root>/<name>/<version>/model.json` and `meta.json` (format version, kind, features,
//! training range, metrics). Versions are positive integers, assigned in increasing
//! order; serving loads the newest or a pinned one.
//!
//! A version is written to a hidden temporary folder and renamed into place, so a reader
//! never sees half a version. Loading never panics: a missing, unreadable, corrupt or
//! incompatible model is a [`RegistryError`] naming the file and what is wrong with it.

use std::fs;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// The on-disk format this code writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// Why a model could not be saved or loaded.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// No such model, or no such version.
    #[error("model {name:?} has no version {version} in {root}")]
    NotFound {
        /// Registry root.
        root: String,
        /// Model name.
        name: String,
        /// The version asked for (`newest` or a number).
        version: String,
    },
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: String,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// A file is not what it should be (truncated, not JSON, wrong fields).
    #[error("{path}: corrupt model file: {reason}")]
    Corrupt {
        /// The file.
        path: String,
        /// What the parser said.
        reason: String,
    },
    /// The files were written by an incompatible format or hold another kind of model.
    #[error("{path}: incompatible model: {reason}")]
    Incompatible {
        /// The file.
        path: String,
        /// What does not match.
        reason: String,
    },
    /// The name would escape the registry folder.
    #[error("invalid model name {0:?}: use letters, digits, '-' and '_'")]
    Name(String),
}

/// Which version to load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// The highest version present.
    Newest,
    /// Exactly this version.
    Pinned(u64),
}

/// Where the training data came from (event time, milliseconds).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingRange {
    /// Earliest snapshot.
    pub from: i64,
    /// Latest snapshot.
    pub to: i64,
    /// Rows used.
    pub rows: u64,
}

/// What `meta.json` holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Meta {
    /// On-disk format version ([`FORMAT_VERSION`]).
    pub format_version: u32,
    /// Model name (the folder).
    pub name: String,
    /// Version number (the sub-folder).
    pub version: u64,
    /// Kind of model in `model.json` (its Rust type's role, e.g. `sellout_bundle`).
    pub kind: String,
    /// Feature names, in the order the model uses them.
    pub features: Vec<String>,
    /// The training data's range.
    pub training_range: TrainingRange,
    /// Named evaluation figures.
    pub metrics: std::collections::BTreeMap<String, f64>,
    /// When it was trained (event time passed in by the caller, never the wall clock).
    pub trained_at: i64,
}

/// A registry rooted at a directory.
#[derive(Debug, Clone)]
pub struct Registry {
    root: PathBuf,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> RegistryError + '_ {
    move |source| RegistryError::Io {
        path: path.display().to_string(),
        source,
    }
}

impl Registry {
    /// A registry at `root` (created on the first save).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    fn model_dir(&self, name: &str) -> Result<PathBuf, RegistryError> {
        let ok = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !ok {
            return Err(RegistryError::Name(name.to_owned()));
        }
        Ok(self.root.join(name))
    }

    /// Versions of `name` present, ascending (empty when none).
    pub fn versions(&self, name: &str) -> Result<Vec<u64>, RegistryError> {
        let dir = self.model_dir(name)?;
        let entries = match fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io(&dir)(e)),
        };
        let mut versions: Vec<u64> = entries
            .filter_map(Result::ok)
            .filter_map(|e| e.file_name().to_str().and_then(|s| s.parse().ok()))
            .filter(|v| *v > 0)
            .collect();
        versions.sort_unstable();
        Ok(versions)
    }

    /// Saves `model` as the next version of `meta.name`; returns the version written.
    /// `meta.version` and `meta.format_version` are filled in here.
    pub fn save<T: Serialize>(&self, model: &T, mut meta: Meta) -> Result<u64, RegistryError> {
        let dir = self.model_dir(&meta.name)?;
        fs::create_dir_all(&dir).map_err(io(&dir))?;
        let version = self.versions(&meta.name)?.last().copied().unwrap_or(0) + 1;
        meta.version = version;
        meta.format_version = FORMAT_VERSION;
        let tmp = dir.join(format!(".tmp-{version}"));
        if tmp.exists() {
            fs::remove_dir_all(&tmp).map_err(io(&tmp))?;
        }
        fs::create_dir_all(&tmp).map_err(io(&tmp))?;
        let corrupt = |path: &Path, e: serde_json::Error| RegistryError::Corrupt {
            path: path.display().to_string(),
            reason: e.to_string(),
        };
        let model_path = tmp.join("model.json");
        let bytes = serde_json::to_vec(model).map_err(|e| corrupt(&model_path, e))?;
        fs::write(&model_path, bytes).map_err(io(&model_path))?;
        let meta_path = tmp.join("meta.json");
        let bytes = serde_json::to_vec_pretty(&meta).map_err(|e| corrupt(&meta_path, e))?;
        fs::write(&meta_path, bytes).map_err(io(&meta_path))?;
        let target = dir.join(version.to_string());
        fs::rename(&tmp, &target).map_err(io(&target))?;
        Ok(version)
    }

    /// Loads a version of `name`, checking its format and that it is of `kind`.
    pub fn load<T: DeserializeOwned>(
        &self,
        name: &str,
        kind: &str,
        version: Version,
    ) -> Result<(T, Meta), RegistryError> {
        let versions = self.versions(name)?;
        let not_found = || RegistryError::NotFound {
            root: self.root.display().to_string(),
            name: name.to_owned(),
            version: match version {
                Version::Newest => "newest".into(),
                Version::Pinned(v) => v.to_string(),
            },
        };
        let v = match version {
            Version::Newest => versions.last().copied().ok_or_else(not_found)?,
            Version::Pinned(v) if versions.contains(&v) => v,
            Version::Pinned(_) => return Err(not_found()),
        };
        let dir = self.model_dir(name)?.join(v.to_string());
        let meta_path = dir.join("meta.json");
        let bytes = fs::read(&meta_path).map_err(io(&meta_path))?;
        // Check the format before the rest of the fields: a future format may differ.
        let probe: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|e| RegistryError::Corrupt {
                path: meta_path.display().to_string(),
                reason: e.to_string(),
            })?;
        let found = probe.get("format_version").and_then(|f| f.as_u64());
        if found != Some(u64::from(FORMAT_VERSION)) {
            return Err(RegistryError::Incompatible {
                path: meta_path.display().to_string(),
                reason: format!("format_version {found:?}, this build reads {FORMAT_VERSION}"),
            });
        }
        let meta: Meta = serde_json::from_value(probe).map_err(|e| RegistryError::Corrupt {
            path: meta_path.display().to_string(),
            reason: e.to_string(),
        })?;
        if meta.kind != kind {
            return Err(RegistryError::Incompatible {
                path: meta_path.display().to_string(),
                reason: format!("kind {:?}, expected {kind:?}", meta.kind),
            });
        }
        let model_path = dir.join("model.json");
        let bytes = fs::read(&model_path).map_err(io(&model_path))?;
        let model = serde_json::from_slice(&bytes).map_err(|e| RegistryError::Corrupt {
            path: model_path.display().to_string(),
            reason: e.to_string(),
        })?;
        Ok((model, meta))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(kind: &str) -> Meta {
        Meta {
            format_version: 0,
            name: "demo".into(),
            version: 0,
            kind: kind.into(),
            features: vec!["x".into()],
            training_range: TrainingRange {
                from: 1,
                to: 2,
                rows: 3,
            },
            metrics: [("brier".to_string(), 0.1)].into_iter().collect(),
            trained_at: 5,
        }
    }

    #[test]
    fn saves_versions_and_loads_newest_or_pinned() {
        let dir = tempfile::tempdir().unwrap();
        let reg = Registry::new(dir.path());
        assert!(matches!(
            reg.load::<Vec<f64>>("demo", "k", Version::Newest),
            Err(RegistryError::NotFound { .. })
        ));
        assert_eq!(reg.save(&vec![1.0], meta("k")).unwrap(), 1);
        assert_eq!(reg.save(&vec![2.0], meta("k")).unwrap(), 2);
        let (m, found) = reg.load::<Vec<f64>>("demo", "k", Version::Newest).unwrap();
        assert_eq!((m, found.version), (vec![2.0], 2));
        let (m, _) = reg
            .load::<Vec<f64>>("demo", "k", Version::Pinned(1))
            .unwrap();
        assert_eq!(m, vec![1.0]);
        assert!(
            reg.load::<Vec<f64>>("demo", "k", Version::Pinned(9))
                .is_err()
        );
        assert!(matches!(
            reg.save(
                &1,
                Meta {
                    name: "../x".into(),
                    ..meta("k")
                }
            ),
            Err(RegistryError::Name(_))
        ));
    }

    #[test]
    fn corrupt_or_incompatible_models_are_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let reg = Registry::new(dir.path());
        reg.save(&vec![1.0], meta("k")).unwrap();
        let v1 = dir.path().join("demo/1");
        // Another kind of model.
        let err = reg
            .load::<Vec<f64>>("demo", "other", Version::Newest)
            .unwrap_err();
        assert!(matches!(err, RegistryError::Incompatible { .. }), "{err}");
        // The model file is truncated.
        fs::write(v1.join("model.json"), b"[1.0, 2").unwrap();
        let err = reg
            .load::<Vec<f64>>("demo", "k", Version::Newest)
            .unwrap_err();
        assert!(err.to_string().contains("corrupt model file"), "{err}");
        // The model is of another shape.
        fs::write(v1.join("model.json"), b"{\"a\": 1}").unwrap();
        let err = reg
            .load::<Vec<f64>>("demo", "k", Version::Newest)
            .unwrap_err();
        assert!(matches!(err, RegistryError::Corrupt { .. }), "{err}");
        // A future format.
        let text = fs::read_to_string(v1.join("meta.json")).unwrap();
        fs::write(
            v1.join("meta.json"),
            text.replace("\"format_version\": 1", "\"format_version\": 99"),
        )
        .unwrap();
        let err = reg
            .load::<Vec<f64>>("demo", "k", Version::Newest)
            .unwrap_err();
        assert!(err.to_string().contains("format_version Some(99)"), "{err}");
        // Garbage metadata.
        fs::write(v1.join("meta.json"), b"\xff\x00").unwrap();
        let err = reg
            .load::<Vec<f64>>("demo", "k", Version::Newest)
            .unwrap_err();
        assert!(matches!(err, RegistryError::Corrupt { .. }), "{err}");
    }
}
