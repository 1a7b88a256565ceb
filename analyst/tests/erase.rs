//! Privacy erasure of one installation among several: gone from SQL at once (archive
//! and live tail), gone from the Parquet files' bytes after the next compaction, the
//! other installations untouched; a crash between rewriting and saving converges; an
//! unknown id changes nothing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parquet::file::reader::{FileReader, SerializedFileReader};
use sellout_analyst::erase::EraseReport;
use sellout_analyst::{Archive, ArchiveConfig, Format, SqlLimits, SqlSession, Table, render};
use sellout_ingest::erasure::{self, Erasures};
use sellout_ingest::records::{AnyRecord, BeaconRecord, Proximity, Topic, wire};
use sellout_streams::log::{EmbeddedLog, LogConfig};
use sellout_streams::{Batch, ManualClock, Transport};

const VICTIM: &str = "ins-victim-7f3a9c";
const OTHERS: [&str; 3] = ["ins-alpha-001", "ins-bravo-002", "ins-charlie-3"];
/// 2026-11-24T00:00:00Z.
const T0: i64 = 1_795_478_400_000;

struct Fixture {
    dir: tempfile::TempDir,
    log: Arc<EmbeddedLog>,
}

impl Fixture {
    fn archive(&self, name: &str) -> Archive {
        Archive::new(
            self.dir.path().join(name),
            ArchiveConfig {
                chunk_records: 50,
                ..ArchiveConfig::default()
            },
        )
    }
}

fn everyone() -> Vec<&'static str> {
    let mut ids = OTHERS.to_vec();
    ids.push(VICTIM);
    ids
}

/// Appends `n` beacons and `n / 4` deliveries per installation from record `first`
/// on, ten minutes apart (so they span several days).
fn append_records(log: &EmbeddedLog, first: i64, n: i64) {
    let mut beacons = Batch::new();
    let mut deliveries = Batch::new();
    for i in first..first + n {
        for (k, id) in everyone().into_iter().enumerate() {
            let time = T0 + i * 600_000 + k as i64;
            let record = AnyRecord::Beacons(BeaconRecord {
                installation_id: id.into(),
                venue_id: "ven-1".into(),
                zone_id: format!("zone-{}", i % 3).into(),
                beacon_id: "b-1".into(),
                rssi: -60,
                proximity: Proximity::Near,
                time,
            });
            beacons.push_with(b"ven-1", time, |buf| wire::encode_any_into(&record, buf));
            if i % 4 == 0 {
                let delivery = serde_json::json!({
                    "notification_id": format!("n-{i}-{k}"), "campaign_id": "food",
                    "installation_id": id, "platform": "fcm", "trigger_id": i,
                    "event_id": "ev-1", "venue_id": "ven-1", "zone_id": "food-1",
                    "offer": null, "voucher_code": null, "outcome": "delivered",
                    "reason": null, "attempts": 1, "time_ms": time,
                });
                let value = serde_json::to_vec(&delivery).expect("json");
                deliveries.push(id.as_bytes(), time, &value);
            }
        }
    }
    log.append(Topic::Beacons.as_str(), &beacons)
        .expect("beacons");
    log.append("deliveries", &deliveries).expect("deliveries");
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = Arc::new(
        EmbeddedLog::open(
            &dir.path().join("log"),
            LogConfig::default(),
            Arc::new(ManualClock::new(T0)),
        )
        .expect("log"),
    );
    append_records(&log, 0, 120);
    Fixture { dir, log }
}

/// Rows per installation in `table`, by SQL over archive + tail.
fn counts(archive: &Archive, log: &EmbeddedLog, table: &str) -> BTreeMap<String, u64> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime");
    let session = runtime
        .block_on(SqlSession::open(archive, log))
        .expect("session");
    let sql = format!("SELECT installation_id AS id, COUNT(*) AS n FROM {table} GROUP BY 1");
    let result = runtime
        .block_on(session.query(&sql, SqlLimits::default()))
        .expect("query");
    let rows: Vec<serde_json::Value> =
        serde_json::from_str(&render(&result, Format::Json).expect("render")).expect("json");
    rows.into_iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap_or_default().to_owned(),
                r["n"].as_u64().unwrap_or(0),
            )
        })
        .collect()
}

fn without_victim(mut counts: BTreeMap<String, u64>) -> BTreeMap<String, u64> {
    counts.remove(VICTIM);
    counts
}

fn parquet_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|x| x == "parquet") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// True when `needle` is in the file's bytes or in any of its decompressed pages.
fn file_holds(path: &Path, needle: &[u8]) -> bool {
    let has = |hay: &[u8]| hay.windows(needle.len()).any(|w| w == needle);
    if has(&std::fs::read(path).expect("read")) {
        return true;
    }
    let reader = SerializedFileReader::new(std::fs::File::open(path).expect("open")).expect("pq");
    for g in 0..reader.num_row_groups() {
        let group = reader.get_row_group(g).expect("row group");
        for c in 0..group.num_columns() {
            let mut pages = group.get_column_page_reader(c).expect("pages");
            while let Some(page) = pages.get_next_page().expect("page") {
                if has(page.buffer().as_ref()) {
                    return true;
                }
            }
        }
    }
    false
}

fn holders(archive: &Archive, id: &str) -> Vec<PathBuf> {
    parquet_files(archive.dir())
        .into_iter()
        .filter(|p| file_holds(p, id.as_bytes()))
        .collect()
}

fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    parquet_files(dir)
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(&p).expect("read");
            (p.strip_prefix(dir).expect("prefix").to_owned(), bytes)
        })
        .collect()
}

#[test]
fn an_erased_installation_leaves_sql_at_once_and_the_files_at_compaction() {
    let f = fixture();
    let archive = f.archive("archive");
    archive.compact_all(f.log.as_ref(), None).expect("compact");
    // More records after the archive's position: the live tail.
    append_records(&f.log, 120, 40);
    let beacons = counts(&archive, &f.log, "beacons");
    let deliveries = counts(&archive, &f.log, "deliveries");
    assert_eq!(beacons.len(), 4);
    assert_eq!(beacons[VICTIM], 160, "archive + tail");
    assert_eq!(deliveries[VICTIM], 40);
    let before = holders(&archive, VICTIM);
    assert!(
        before.len() >= 4,
        "the grep must see the id first: {before:?}"
    );

    erasure::append(f.log.as_ref(), VICTIM, T0 + 1).expect("erase");

    // Right after the erase, before any compaction: nothing of it, everything else.
    assert_eq!(
        counts(&archive, &f.log, "beacons"),
        without_victim(beacons.clone())
    );
    assert_eq!(
        counts(&archive, &f.log, "deliveries"),
        without_victim(deliveries.clone())
    );
    assert_eq!(archive.erasures_applied().expect("applied"), 0);

    let reports = archive.compact_all(f.log.as_ref(), None).expect("compact");
    let erased_in_tail: u64 = reports.iter().map(|r| r.erased_rows).sum();
    assert_eq!(
        erased_in_tail,
        40 + 10,
        "the tail's rows of it were left out"
    );
    assert_eq!(archive.erasures_applied().expect("applied"), 1);
    assert_eq!(holders(&archive, VICTIM), Vec::<PathBuf>::new());
    for other in OTHERS {
        assert!(
            !holders(&archive, other).is_empty(),
            "{other} still archived"
        );
    }
    assert_eq!(counts(&archive, &f.log, "beacons"), without_victim(beacons));
    assert_eq!(
        counts(&archive, &f.log, "deliveries"),
        without_victim(deliveries)
    );
}

#[test]
fn a_crash_between_rewrite_and_saving_converges() {
    let f = fixture();
    let crashed = f.archive("crashed");
    crashed.compact_all(f.log.as_ref(), None).expect("compact");
    erasure::append(f.log.as_ref(), VICTIM, T0 + 1).expect("erase");
    let erasures = Erasures::load(f.log.as_ref()).expect("erasures");

    // The first compaction after the erase dies after rewriting beacons' files,
    // leaving a half-written temporary file, before deliveries and the save.
    let mut report = EraseReport::default();
    crashed
        .rewrite_erased(Table::Input(Topic::Beacons), &erasures, &mut report)
        .expect("rewrite");
    assert!(!report.rewritten.is_empty());
    let torn = PathBuf::from(&report.rewritten[0]).with_extension("tmp");
    std::fs::write(&torn, b"PAR1 torn").expect("torn tmp");
    assert_eq!(crashed.erasures_applied().expect("applied"), 0);
    assert!(
        !holders(&crashed, VICTIM).is_empty(),
        "deliveries still hold it"
    );

    // The next compaction finishes the job: the same files as an archive built after
    // the erase, byte for byte.
    let report = crashed.apply_erasures(&erasures).expect("apply");
    assert_eq!(report.applied, 1);
    assert!(report.rewritten.iter().all(|p| p.contains("deliveries")));
    assert!(!report.rewritten.is_empty());
    crashed.compact_all(f.log.as_ref(), None).expect("compact");
    let fresh = f.archive("fresh");
    fresh.compact_all(f.log.as_ref(), None).expect("compact");
    assert_eq!(snapshot(crashed.dir()), snapshot(fresh.dir()));
    assert_eq!(holders(&crashed, VICTIM), Vec::<PathBuf>::new());
    // Applied once: the next compaction scans nothing.
    let again = crashed.apply_erasures(&erasures).expect("again");
    assert_eq!((again.scanned, again.applied), (0, 1));
}

#[test]
fn erasing_an_unknown_id_changes_nothing() {
    let f = fixture();
    let archive = f.archive("archive");
    archive.compact_all(f.log.as_ref(), None).expect("compact");
    let files = snapshot(archive.dir());
    let beacons = counts(&archive, &f.log, "beacons");
    erasure::append(f.log.as_ref(), "ins-nobody-000", T0 + 1).expect("erase");
    let erasures = Erasures::load(f.log.as_ref()).expect("erasures");
    let report = archive.apply_erasures(&erasures).expect("apply");
    assert!(report.scanned > 0);
    assert!(report.rewritten.is_empty() && report.removed.is_empty());
    assert_eq!(report.rows_removed, 0);
    assert_eq!(snapshot(archive.dir()), files);
    assert_eq!(counts(&archive, &f.log, "beacons"), beacons);
}
