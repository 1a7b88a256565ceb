//! `kill -9` of the pipeline runner at varying points, again and again, then a run to
//! the end: the output topics must equal those of one uninterrupted run, record for
//! record: nothing lost, nothing twice.
//!
//! The test re-executes its own binary as the runner child ([`child_runner`] does
//! nothing unless [`DIR_VAR`] is set), reads its `AT <records>` progress lines, and
//! kills it with SIGKILL once it passed a varying number of records.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;

use sellout_ingest::records::wire;
use sellout_pipelines::{PipelinesConfig, Runner};
use sellout_simulator::{ListPrices, SimConfig, Simulation};
use sellout_streams::log::{EmbeddedLog, LogConfig};
use sellout_streams::{Batch, ManualClock, Transport};

const DIR_VAR: &str = "SELLOUT_PIPELINE_CHILD_DIR";
const RECORDS: usize = 60_000;

fn sim() -> Simulation {
    let config = SimConfig {
        events: 2,
        scale: 0.05,
        sale_days: 2.0,
        ..SimConfig::default()
    };
    Simulation::new(config, Arc::new(ListPrices)).expect("simulation")
}

fn open_log(dir: &Path) -> Arc<EmbeddedLog> {
    Arc::new(
        EmbeddedLog::open(
            &dir.join("log"),
            LogConfig::default(),
            Arc::new(ManualClock::new(0)),
        )
        .expect("log"),
    )
}

/// Writes the simulated input records to a fresh log in `dir`.
fn write_input(dir: &Path) {
    let log = open_log(dir);
    let mut batches: std::collections::BTreeMap<&str, Batch> = Default::default();
    for record in sim().take(RECORDS) {
        let batch = batches.entry(record.topic().as_str()).or_default();
        batch.push_with(record.key().as_bytes(), record.time(), |buf| {
            wire::encode_any_into(&record, buf)
        });
        if batch.len() >= 1000 {
            log.append(record.topic().as_str(), batch).expect("append");
            batch.clear();
        }
    }
    for (topic, batch) in &batches {
        log.append(topic, batch).expect("append");
    }
    log.flush().expect("flush");
}

fn runner(dir: &Path) -> Runner {
    let config = PipelinesConfig {
        checkpoint_every_records: 997,
        // Outputs are appended between checkpoints, so kills leave outputs that the
        // checkpoint doesn't cover: the restart must skip exactly those.
        output_every_records: 101,
        ..PipelinesConfig::default()
    };
    Runner::open(
        config,
        Arc::new(sim().catalog().clone()),
        open_log(dir),
        dir.join("pipelines/checkpoint.bin"),
    )
    .expect("runner")
}

/// Every value of `topic`, in offset order, checking offsets are contiguous.
fn values(dir: &Path, topic: &str) -> Vec<Vec<u8>> {
    let log = open_log(dir);
    let mut out = Vec::new();
    loop {
        let fetched = log.read(topic, out.len() as u64, 1 << 20).expect("read");
        if fetched.is_empty() {
            return out;
        }
        for r in fetched.records() {
            assert_eq!(r.offset, out.len() as u64);
            out.push(r.value.to_vec());
        }
    }
}

/// The runner child: works through the input in small steps, printing progress, then
/// runs to the end.
#[test]
fn child_runner() {
    let Ok(dir) = std::env::var(DIR_VAR) else {
        return;
    };
    let mut runner = runner(Path::new(&dir));
    let mut stdout = std::io::stdout().lock();
    loop {
        let n = runner.run_bounded(251).expect("step");
        writeln!(stdout, "AT {}", runner.engine().counts().records).expect("stdout");
        stdout.flush().expect("stdout");
        if n == 0 {
            break;
        }
    }
    runner.run_to_end().expect("run to end");
    writeln!(stdout, "DONE").expect("stdout");
}

#[test]
fn kill_9_at_random_points_changes_no_output() {
    let reference = tempfile::tempdir().expect("tempdir");
    write_input(reference.path());
    let report = runner(reference.path())
        .run_to_end()
        .expect("reference run");
    assert_eq!(report.totals.records, RECORDS as u64);
    let expected_signals = values(reference.path(), "signals");
    let expected_features = values(reference.path(), "features");
    assert!(
        !expected_signals.is_empty(),
        "the reference run detected nothing"
    );

    let dir = tempfile::tempdir().expect("tempdir");
    write_input(dir.path());
    let exe = std::env::current_exe().expect("test binary");
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    let mut kills = 0;
    let mut done = false;
    while !done {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        // Up to 12 kills at growing, varied depths; then one run to the end.
        let target = if kills < 12 {
            (kills + 1) * RECORDS as u64 / 14 + rng % 3_000
        } else {
            u64::MAX
        };
        let mut child = Command::new(&exe)
            .args(["--exact", "child_runner", "--nocapture", "--test-threads=1"])
            .env(DIR_VAR, dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn runner");
        let stdout = child.stdout.take().expect("child stdout");
        let mut reached = false;
        for line in BufReader::new(stdout).lines() {
            let line = line.expect("child stdout");
            if line == "DONE" {
                done = true;
                break;
            }
            if let Some(at) = line.strip_prefix("AT ").and_then(|n| n.parse::<u64>().ok())
                && at >= target
            {
                reached = true;
                break;
            }
        }
        if reached {
            child.kill().expect("kill -9");
            kills += 1;
        }
        let status = child.wait().expect("reap");
        if !reached && !done {
            let mut stderr = String::new();
            let _ = child
                .stderr
                .take()
                .map(|mut s| s.read_to_string(&mut stderr));
            panic!("the runner stopped on its own ({status}): {stderr}");
        }
    }
    assert!(kills >= 10, "only {kills} kills");
    let signals = values(dir.path(), "signals");
    let features = values(dir.path(), "features");
    assert_eq!(
        signals.len(),
        expected_signals.len(),
        "signal count after {kills} kills"
    );
    assert!(
        signals == expected_signals,
        "signals differ from the uninterrupted run"
    );
    assert_eq!(features.len(), expected_features.len());
    assert!(
        features == expected_features,
        "features differ from the uninterrupted run"
    );
}
