//! Small files replaced whole and durably: checkpoints, positions, keys.
//!
//! [`write_atomically`] is the one way sellout replaces such a file: a reader (or a
//! process started after a crash) sees the old content or the new, never a torn mix.

use std::io::Write as _;
use std::path::Path;

/// Writes `bytes` to `path` through `path.tmp`: parent directory created, the
/// temporary file written and fsynced, renamed over `path`, the directory fsynced.
/// The error is the failing step's; callers add the path.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    if let Some(dir) = dir {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("tmp");
    {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    std::fs::File::open(dir.unwrap_or(Path::new(".")))?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_file_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("a").join("state.json");
        write_atomically(&path, b"one").expect("first");
        write_atomically(&path, b"two").expect("second");
        assert_eq!(std::fs::read(&path).expect("read"), b"two");
        assert!(!path.with_extension("tmp").exists());
    }
}
