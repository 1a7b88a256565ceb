//! The demos' input side: the simulator on a compressed clock, its records rendered as
//! JSON Lines with a share corrupted on purpose ([`FaultInjector`]), cut into chunks
//! for ingest. `sellout demo` and `sellout-fluvio demo` both run it, so one seed gives
//! the same lines on the embedded log and on Fluvio.
//!
//! Wall time comes from the [`Clock`] handed in (the pace only); simulated time from
//! the simulation.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::mpsc::SyncSender;
use std::time::Duration;

use sellout_ingest::records::Topic;
use sellout_streams::Clock;

use crate::{FaultInjector, Simulation};

/// Records rendered and ingested together.
pub const CHUNK_RECORDS: usize = 8192;

/// The compressed clock: the simulated span played in `wall_ms` of wall time.
#[derive(Clone)]
pub struct Pace {
    /// Simulated start.
    pub from: i64,
    /// Simulated span, in milliseconds.
    pub span_ms: f64,
    /// Wall time the span is played in (0: as fast as possible).
    pub wall_ms: f64,
    /// Wall time at the start, on `wall`.
    pub started_ms: i64,
    /// The wall clock.
    pub wall: Arc<dyn Clock>,
}

impl Pace {
    /// Simulated time the wall clock has reached (everything, when unpaced).
    pub fn sim_target(&self) -> i64 {
        if self.wall_ms <= 0.0 {
            return i64::MAX;
        }
        let elapsed = (self.wall.now_ms() - self.started_ms) as f64;
        self.from + ((elapsed / self.wall_ms) * self.span_ms) as i64
    }

    /// Wall time until simulated time `at` is due, clamped to keep progress moving.
    pub fn wait_for(&self, at: i64, target: i64) -> Duration {
        let ms = ((at - target) as f64 / self.span_ms * self.wall_ms).clamp(1.0, 200.0);
        Duration::from_millis(ms as u64)
    }
}

/// Rendered JSON Lines per input topic, handed from the simulator thread to ingest.
pub struct Chunk {
    /// One JSON Lines body per topic of [`Topic::ALL`].
    pub lines: [Vec<u8>; 4],
    /// Simulated time when the chunk was cut (the ingest clock is set to it).
    pub sim_now: i64,
    /// Share of the simulated span done.
    pub progress: f64,
    /// Records rendered so far, this chunk included.
    pub records: u64,
    /// The simulator was behind the compressed clock when the chunk was cut.
    pub behind: bool,
}

/// The index of `topic` in [`Topic::ALL`] (a chunk's line slot).
pub fn topic_slot(topic: Topic) -> usize {
    Topic::ALL.iter().position(|t| *t == topic).unwrap_or(0)
}

/// The simulator thread: runs the simulation on the compressed clock, renders records
/// as JSON Lines (corrupting a share) and sends them in chunks. Returns the finished
/// simulation and the faults injected per reason. `on_sent` hears the simulated time
/// each chunk was cut at, once it is handed over.
pub fn produce(
    mut sim: Simulation,
    mut faults: FaultInjector,
    pace: Pace,
    tx: SyncSender<Chunk>,
    on_sent: &dyn Fn(i64),
) -> (Simulation, BTreeMap<&'static str, u64>) {
    let mut injected: BTreeMap<&'static str, u64> = BTreeMap::new();
    let mut lines: [Vec<u8>; 4] = Default::default();
    let mut in_chunk = 0usize;
    let mut records = 0u64;
    let mut line = Vec::with_capacity(512);
    let send = |lines: &mut [Vec<u8>; 4], sim: &Simulation, records: u64, behind: bool| {
        let chunk = Chunk {
            lines: std::mem::take(lines),
            sim_now: sim.now(),
            progress: sim.progress(),
            records,
            behind,
        };
        let sim_now = chunk.sim_now;
        // The receiver only goes away on an ingest error, which it reports itself.
        let sent = tx.send(chunk).is_ok();
        on_sent(sim_now);
        sent
    };
    let mut next = sim.next();
    while let Some(record) = next.take() {
        let target = pace.sim_target();
        if record.time() > target {
            if !send(&mut lines, &sim, records, false) {
                break;
            }
            in_chunk = 0;
            std::thread::sleep(pace.wait_for(record.time(), target));
            next = Some(record);
            continue;
        }
        line.clear();
        record.write_json(&mut line);
        let (corrupted, code) = faults.maybe_corrupt(record.topic(), std::mem::take(&mut line));
        if let Some(code) = code {
            *injected.entry(code).or_default() += 1;
        }
        let slot = &mut lines[topic_slot(record.topic())];
        slot.extend_from_slice(&corrupted);
        slot.push(b'\n');
        line = corrupted;
        in_chunk += 1;
        records += 1;
        if in_chunk >= CHUNK_RECORDS {
            // Behind when a full chunk was cut while the wall clock had already passed
            // the records in it (only meaningful with a pace).
            let behind = pace.wall_ms > 0.0
                && record.time() < pace.sim_target() - (pace.span_ms / 100.0) as i64;
            if !send(&mut lines, &sim, records, behind) {
                break;
            }
            in_chunk = 0;
        }
        next = sim.next();
    }
    send(&mut lines, &sim, records, false);
    (sim, injected)
}

/// A demo's `--duration`: `90s`, `5m`, `1h`, `250ms` or plain seconds, 0 to 7 days.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (number, unit) = match s.find(|c: char| c.is_ascii_alphabetic()) {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let n: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("invalid duration {s:?}: use e.g. 90s, 5m, 1h, 250ms"))?;
    let seconds = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(format!("invalid duration unit {unit:?}: use ms, s, m or h")),
    };
    if !(0.0..=7.0 * 86400.0).contains(&seconds) {
        return Err(format!("duration {s:?} is out of range (0 to 7 days)"));
    }
    Ok(Duration::from_secs_f64(seconds))
}
