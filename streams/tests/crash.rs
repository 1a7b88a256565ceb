//! `kill -9` in the middle of appending: every acknowledged record must survive, intact,
//! with contiguous offsets, under every fsync policy.
//!
//! The test re-executes its own binary as a writer child ([`child_writer`] does nothing
//! unless [`DIR_VAR`] is set), reads its `ACK <base> <count>` lines, kills it with
//! SIGKILL after a varying number of acks, reopens the log and checks it. The same
//! directory is reused across iterations, so recovery followed by more appends and
//! another crash is covered too.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;

use sellout_streams::log::{EmbeddedLog, FsyncPolicy, LogConfig};
use sellout_streams::{Batch, ManualClock, Transport};

const DIR_VAR: &str = "SELLOUT_CRASH_CHILD_DIR";
const POLICY_VAR: &str = "SELLOUT_CRASH_CHILD_POLICY";
const TOPIC: &str = "crash";

fn policy(name: &str) -> FsyncPolicy {
    match name {
        "always" => FsyncPolicy::Always,
        "interval" => FsyncPolicy::Interval { ms: 2 },
        _ => FsyncPolicy::Never,
    }
}

fn open(dir: &Path, policy: FsyncPolicy) -> EmbeddedLog {
    let config = LogConfig {
        segment_bytes: 8 << 10,
        ..LogConfig::default()
    }
    .with_fsync(policy);
    EmbeddedLog::open(dir, config, Arc::new(ManualClock::new(0))).expect("open log")
}

/// The record every writer puts at `offset`, so the parent can check any of them.
fn expected(offset: u64) -> (Vec<u8>, i64, Vec<u8>) {
    let value = vec![(offset.wrapping_mul(31) % 256) as u8; (offset % 50) as usize];
    (offset.to_le_bytes().to_vec(), offset as i64, value)
}

/// The writer child: appends forever, printing an ack line after each append.
#[test]
fn child_writer() {
    let (Ok(dir), Ok(policy_name)) = (std::env::var(DIR_VAR), std::env::var(POLICY_VAR)) else {
        return;
    };
    let log = open(Path::new(&dir), policy(&policy_name));
    let mut next = log.offsets(TOPIC).expect("offsets").end;
    let mut out = std::io::stdout().lock();
    let mut batch = Batch::new();
    loop {
        batch.clear();
        let count = 1 + next % 7;
        for offset in next..next + count {
            let (key, time, value) = expected(offset);
            batch.push(&key, time, &value);
        }
        let ack = log.append(TOPIC, &batch).expect("append");
        assert_eq!(ack.base_offset, next);
        writeln!(out, "ACK {} {}", ack.base_offset, ack.count).expect("stdout");
        out.flush().expect("stdout");
        next += count;
    }
}

/// Runs `iterations` writer children against one directory, killing each after a
/// varying number of acks, and checks the log after every kill.
fn crash_and_check(policy_name: &str, iterations: u64, seed: u64) {
    let dir = tempfile::tempdir().expect("tempdir");
    let exe = std::env::current_exe().expect("test binary");
    let mut rng = seed;
    let mut acked_end = 0u64;
    for iteration in 0..iterations {
        // xorshift: a different, reproducible kill point each time.
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let target = 20 + rng % 300;
        let mut child = Command::new(&exe)
            .args(["--exact", "child_writer", "--nocapture", "--test-threads=1"])
            .env(DIR_VAR, dir.path())
            .env(POLICY_VAR, policy_name)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn writer");
        let stdout = child.stdout.take().expect("child stdout");
        let mut acks = 0;
        for line in BufReader::new(stdout).lines() {
            let line = line.expect("read child stdout");
            let Some(rest) = line.strip_prefix("ACK ") else {
                continue;
            };
            let mut parts = rest
                .split(' ')
                .map(|p| p.parse::<u64>().expect("ack number"));
            let (base, count) = (parts.next().expect("base"), parts.next().expect("count"));
            assert!(
                base >= acked_end || acks > 0,
                "a new writer starts at or after every ack"
            );
            acked_end = acked_end.max(base + count);
            acks += 1;
            if acks == target {
                break;
            }
        }
        child.kill().expect("kill -9");
        child.wait().expect("reap");
        if acks < target {
            let mut stderr = String::new();
            let _ = child
                .stderr
                .take()
                .map(|mut s| s.read_to_string(&mut stderr));
            panic!("{policy_name} #{iteration}: writer stopped after {acks} acks: {stderr}");
        }

        let log = open(dir.path(), FsyncPolicy::Never);
        let offsets = log.offsets(TOPIC).expect("offsets");
        assert_eq!(offsets.start, 0);
        assert!(
            offsets.end >= acked_end,
            "{policy_name} #{iteration}: end {} < acked {acked_end}",
            offsets.end
        );
        let mut next = 0;
        loop {
            let fetched = log.read(TOPIC, next, 64 << 10).expect("read after crash");
            if fetched.is_empty() {
                break;
            }
            for r in fetched.records() {
                assert_eq!(
                    r.offset, next,
                    "{policy_name} #{iteration}: offsets are contiguous"
                );
                let (key, time, value) = expected(r.offset);
                assert_eq!(
                    (r.key, r.time, r.value),
                    (&key[..], time, &value[..]),
                    "record {next} intact"
                );
                next += 1;
            }
        }
        assert_eq!(
            next, offsets.end,
            "{policy_name} #{iteration}: every record up to the end is readable"
        );
    }
}

#[test]
fn kill_9_keeps_every_ack_with_interval_fsync() {
    crash_and_check("interval", 5, 0x9e37_79b9_7f4a_7c15);
}

#[test]
fn kill_9_keeps_every_ack_with_no_fsync() {
    crash_and_check("never", 5, 0x2545_f491_4f6c_dd1d);
}

#[test]
fn kill_9_keeps_every_ack_with_fsync_always() {
    crash_and_check("always", 1, 0x1234_5678_9abc_def1);
}
