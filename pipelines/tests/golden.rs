//! Golden tests: for each folder under `tests/golden/`, records in → expected outputs
//! out (see `tests/golden/README.md`). `SELLOUT_BLESS=1` rewrites the expected files.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use sellout_ingest::catalog::Catalog;
use sellout_ingest::records::{AnyRecord, Topic};
use sellout_pipelines::engine::Outcome;
use sellout_pipelines::{Engine, PipelinesConfig};

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

/// Runs one case and renders its outputs as JSON Lines.
fn run_case(dir: &Path, catalog: &Arc<Catalog>) -> String {
    let config: PipelinesConfig = serde_json::from_str(
        &std::fs::read_to_string(dir.join("config.json")).expect("config.json"),
    )
    .unwrap_or_else(|e| panic!("{}: config.json: {e}", dir.display()));
    let mut engine = Engine::new(config, catalog.clone()).expect("engine");
    let input = std::fs::read_to_string(dir.join("input.jsonl")).expect("input.jsonl");
    let mut offsets = [0u64; 4];
    // Processing time follows the records (a replay at their own pace), so a source
    // that falls silent goes idle after the configured timeout.
    let mut now = i64::MIN;
    let mut lines = Vec::new();
    let drain = |engine: &mut Engine, lines: &mut Vec<String>| {
        let (signals, features) = engine.take_outputs();
        for s in signals {
            lines.push(serde_json::json!({ "signal": s }).to_string());
        }
        for f in features {
            lines.push(serde_json::json!({ "feature": f }).to_string());
        }
    };
    for (n, line) in input
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let record: AnyRecord = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("{}: input line {}: {e}", dir.display(), n + 1));
        let topic = record.topic();
        let slot = Topic::ALL.iter().position(|t| *t == topic).unwrap_or(0);
        now = now.max(record.time());
        if let Outcome::Late { .. } = engine.process(topic, offsets[slot], &record, now) {
            lines.push(
                serde_json::json!({ "late": { "topic": topic, "offset": offsets[slot] } })
                    .to_string(),
            );
        }
        offsets[slot] += 1;
        drain(&mut engine, &mut lines);
    }
    engine.finish();
    drain(&mut engine, &mut lines);
    lines.iter().map(|l| format!("{l}\n")).collect()
}

#[test]
fn golden_cases() {
    let root = golden_dir();
    let catalog = Arc::new(Catalog::load(&root.join("catalog.json")).expect("golden catalog"));
    let bless = std::env::var("SELLOUT_BLESS").is_ok_and(|v| v == "1");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("golden dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    assert!(cases.len() >= 3, "golden cases missing");
    let mut failures = Vec::new();
    for case in &cases {
        let actual = run_case(case, &catalog);
        let path = case.join("expected.jsonl");
        if bless {
            std::fs::write(&path, &actual).expect("write expected.jsonl");
            continue;
        }
        let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
            panic!(
                "{} is missing: run with SELLOUT_BLESS=1 to write it",
                path.display()
            )
        });
        if actual != expected {
            failures.push(format!(
                "{}:\n--- expected\n{expected}--- actual\n{actual}",
                case.display()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "golden outputs differ (SELLOUT_BLESS=1 rewrites them after a deliberate change):\n{}",
        failures.join("\n")
    );
}
