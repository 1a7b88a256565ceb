//! Files written by pyarrow and polars with their natural defaults decode to exactly
//! the records they hold.
//!
//! Runs `python3 scripts/make_fixtures.py <tempdir>`, which needs the packages in
//! `scripts/requirements-test.txt`. Set `SELLOUT_SKIP_PYTHON_FIXTURES=1` to skip.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use sellout_ingest::decode::{self, Format};
use sellout_ingest::records::{AnyRecord, Topic};
use sellout_ingest::validate::Limits;

const INSTALL_HINT: &str = "pip install -r scripts/requirements-test.txt";

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[test]
fn python_written_files_decode_to_the_expected_records() {
    if std::env::var("SELLOUT_SKIP_PYTHON_FIXTURES").is_ok_and(|v| v == "1") {
        println!("skipped: SELLOUT_SKIP_PYTHON_FIXTURES=1");
        return;
    }
    let dir = tempfile::tempdir().expect("a temporary directory");
    let root = workspace_root();
    let output = Command::new("python3")
        .arg(root.join("scripts/make_fixtures.py"))
        .arg(dir.path())
        .current_dir(&root)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run python3 ({e}); install Python 3 and then `{INSTALL_HINT}`")
        });
    assert!(
        output.status.success(),
        "scripts/make_fixtures.py failed ({}); if pyarrow or polars is missing: `{INSTALL_HINT}`\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );

    let expected_text =
        std::fs::read_to_string(dir.path().join("expected.json")).expect("expected.json");
    let mut expected: BTreeMap<Topic, Vec<AnyRecord>> = BTreeMap::new();
    for line in expected_text.lines().filter(|l| !l.trim().is_empty()) {
        let record: AnyRecord =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("expected.json: {e}: {line}"));
        expected.entry(record.topic()).or_default().push(record);
    }

    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.path())
        .expect("fixture directory")
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.file_name().is_some_and(|n| n != "expected.json"))
        .collect();
    files.sort();
    let mut checked = Vec::new();
    let mut failures = Vec::new();
    for path in &files {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        let topic: Topic = name
            .split('.')
            .next()
            .unwrap_or_default()
            .parse()
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let format = Format::from_path(path).unwrap_or_else(|| panic!("{name}: unknown extension"));
        let bytes = std::fs::read(path).expect("fixture file");
        let decoded = decode::decode(format, Some(topic), &bytes, &Limits::default());
        let records: Vec<AnyRecord> = decoded.records.iter().map(|r| r.record.clone()).collect();
        let want = expected.get(&topic).cloned().unwrap_or_default();
        if !decoded.rejected.is_empty() || records != want {
            failures.push(format!(
                "{name}: rejected {:?}\n  got      {records:?}\n  expected {want:?}",
                decoded
                    .rejected
                    .iter()
                    .map(|r| r.reason.to_string())
                    .collect::<Vec<_>>()
            ));
        }
        checked.push(name);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    for topic in [Topic::Sales, Topic::Beacons, Topic::Social] {
        for writer in [
            "pyarrow.arrows",
            "pyarrow.arrow",
            "pyarrow.parquet",
            "polars.parquet",
            "polars.arrow",
        ] {
            let name = format!("{topic}.{writer}");
            assert!(checked.contains(&name), "{name} was not written");
        }
    }
    println!("checked {} files: {}", checked.len(), checked.join(", "));
}
