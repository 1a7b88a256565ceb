//! The archive and SQL over archive + tail, against a simulated on-sale: a query
//! answers what the records say, whichever part is archived; compaction rewrites the
//! same bytes; queries can't write or escape.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use sellout_analyst::{Archive, ArchiveConfig, Format, SqlError, SqlLimits, SqlSession, render};
use sellout_ingest::records::{AnyRecord, wire};
use sellout_pipelines::{PipelinesConfig, RunReport, Runner};
use sellout_simulator::{ListPrices, SimConfig, Simulation};
use sellout_streams::log::{EmbeddedLog, LogConfig};
use sellout_streams::{Batch, ManualClock, Transport};

struct Fixture {
    _dir: tempfile::TempDir,
    root: std::path::PathBuf,
    log: Arc<EmbeddedLog>,
    /// (event, kind) → (quantity, rows), from the records themselves.
    sales: BTreeMap<(String, String), (i64, i64)>,
    report: RunReport,
}

/// One simulated on-sale for all tests of this file (simulating and running the
/// pipelines is the slow part).
fn fixture() -> &'static Fixture {
    static FIXTURE: std::sync::OnceLock<Fixture> = std::sync::OnceLock::new();
    FIXTURE.get_or_init(make_fixture)
}

fn make_fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().to_owned();
    let log = Arc::new(
        EmbeddedLog::open(
            &root.join("log"),
            LogConfig::default(),
            Arc::new(ManualClock::new(0)),
        )
        .expect("log"),
    );
    let config = SimConfig {
        events: 2,
        scale: 0.01,
        sale_days: 2.0,
        include_venue_day: false,
        ..SimConfig::default()
    };
    let sim = Simulation::new(config, Arc::new(ListPrices)).expect("simulation");
    let catalog = Arc::new(sim.catalog().clone());
    let mut sales = BTreeMap::new();
    let mut batches: BTreeMap<&str, Batch> = BTreeMap::new();
    for record in sim {
        if let AnyRecord::Sales(s) = &record {
            let kind = serde_json::to_value(s.kind).expect("kind");
            let entry = sales
                .entry((
                    s.event_id.to_string(),
                    kind.as_str().unwrap_or_default().to_owned(),
                ))
                .or_insert((0, 0));
            entry.0 += i64::from(s.quantity);
            entry.1 += 1;
        }
        let batch = batches.entry(record.topic().as_str()).or_default();
        batch.push_with(record.key().as_bytes(), record.time(), |buf| {
            wire::encode_any_into(&record, buf)
        });
        if batch.len() >= 2_000 {
            log.append(record.topic().as_str(), batch).expect("append");
            batch.clear();
        }
    }
    for (topic, batch) in &batches {
        log.append(topic, batch).expect("append");
    }
    let report = Runner::open(
        PipelinesConfig::default(),
        catalog,
        log.clone(),
        root.join("checkpoint.bin"),
    )
    .expect("runner")
    .run_to_end()
    .expect("pipelines");
    Fixture {
        _dir: dir,
        root,
        log,
        sales,
        report,
    }
}

fn archive(root: &Path, name: &str) -> Archive {
    Archive::new(
        root.join(name),
        ArchiveConfig {
            chunk_records: 2_000,
            ..ArchiveConfig::default()
        },
    )
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime")
}

fn query_json(session: &SqlSession, sql: &str) -> Vec<serde_json::Value> {
    let result = runtime()
        .block_on(session.query(sql, SqlLimits::default()))
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    let json = render(&result, Format::Json).expect("render");
    serde_json::from_str(&json).expect("json")
}

fn sales_by_sql(session: &SqlSession) -> BTreeMap<(String, String), (i64, i64)> {
    query_json(
        session,
        "SELECT event_id, kind, SUM(quantity) AS q, COUNT(*) AS n FROM sales \
         GROUP BY event_id, kind",
    )
    .into_iter()
    .map(|row| {
        (
            (
                row["event_id"].as_str().unwrap_or_default().to_owned(),
                row["kind"].as_str().unwrap_or_default().to_owned(),
            ),
            (
                row["q"].as_i64().unwrap_or(-1),
                row["n"].as_i64().unwrap_or(-1),
            ),
        )
    })
    .collect()
}

fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read_dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let name = path
                    .strip_prefix(dir)
                    .expect("prefix")
                    .display()
                    .to_string();
                out.insert(name, std::fs::read(&path).expect("read"));
            }
        }
    }
    out
}

#[test]
fn archive_plus_tail_answers_what_the_records_say() {
    let f = fixture();
    let sales_end = f.log.offsets("sales").expect("offsets").end;
    assert!(sales_end > 5_000, "too few sales to judge: {sales_end}");

    // Nothing archived, half archived, everything archived: the same answers.
    let a = archive(&f.root, "archive");
    for until in [Some(0), Some(sales_end / 2), None] {
        let reports = a.compact_all(f.log.as_ref(), until).expect("compact");
        let session = runtime()
            .block_on(SqlSession::open(&a, f.log.as_ref()))
            .expect("session");
        assert_eq!(sales_by_sql(&session), f.sales, "archived up to {until:?}");
        let tail: usize = session.tails().iter().map(|(_, n)| n).sum();
        match until {
            Some(0) => assert!(reports.iter().all(|r| r.files.is_empty()) && tail > 0),
            None => assert_eq!(tail, 0, "everything archived"),
            Some(_) => assert!(tail > 0 && reports.iter().any(|r| !r.files.is_empty())),
        }

        // Pipeline outputs are tables too.
        let signals: BTreeMap<String, u64> = query_json(
            &session,
            "SELECT kind, COUNT(*) AS n FROM signals GROUP BY kind",
        )
        .into_iter()
        .map(|r| {
            (
                r["kind"].as_str().unwrap_or_default().to_owned(),
                r["n"].as_u64().unwrap_or(0),
            )
        })
        .collect();
        assert_eq!(signals, f.report.signals_written);
        let sold_out = query_json(
            &session,
            "SELECT COUNT(*) AS n FROM features WHERE type = 'sell_out' AND sold IS NOT NULL",
        );
        assert_eq!(
            sold_out[0]["n"].as_u64(),
            f.report.features_written.get("sell_out").copied()
        );
    }

    // Files are partitioned by day, and the partition column is queryable.
    let days = query_json(
        &session_of(&a, f),
        "SELECT DISTINCT date FROM sales ORDER BY date",
    );
    assert!(days.len() >= 2, "{days:?}");
    for day in &days {
        let day = day["date"].as_str().expect("date");
        assert!(a.dir().join("sales").join(format!("date={day}")).is_dir());
    }
}

fn session_of(a: &Archive, f: &Fixture) -> SqlSession {
    runtime()
        .block_on(SqlSession::open(a, f.log.as_ref()))
        .expect("session")
}

#[test]
fn compaction_over_the_same_offsets_writes_the_same_bytes() {
    let f = fixture();
    let first = archive(&f.root, "first");
    first.compact_all(f.log.as_ref(), None).expect("compact");
    let written = files(first.dir());
    assert!(written.keys().any(|k| k.ends_with(".parquet")));

    // A crash after the files but before the positions: everything is redone.
    std::fs::remove_file(first.dir().join("_positions.json")).expect("remove");
    first
        .compact_all(f.log.as_ref(), None)
        .expect("compact again");
    assert_eq!(
        files(first.dir()),
        written,
        "rewritten byte for byte, nothing added"
    );

    // Another archive over the same offsets, in two steps that end on the same chunk
    // boundaries, holds the same files.
    let second = archive(&f.root, "second");
    second
        .compact_all(f.log.as_ref(), Some(4_000))
        .expect("compact");
    second.compact_all(f.log.as_ref(), None).expect("compact");
    assert_eq!(files(second.dir()), written);
}

#[test]
fn queries_are_read_only_limited_and_explain_their_errors() {
    let f = fixture();
    let a = archive(&f.root, "archive");
    let session = session_of(&a, f);
    let run = |sql: &str, limits: SqlLimits| runtime().block_on(session.query(sql, limits));

    for sql in [
        "COPY (SELECT 1) TO '/tmp/sellout-escape.csv'",
        "CREATE EXTERNAL TABLE etc STORED AS CSV LOCATION '/etc/'",
        "INSERT INTO sales SELECT * FROM sales",
        "SET datafusion.execution.batch_size = 1",
        "DROP VIEW sales",
    ] {
        match run(sql, SqlLimits::default()) {
            Err(SqlError::Query(message)) => {
                assert!(
                    message.contains("not supported")
                        || message.contains("not allowed")
                        || message.contains("Unsupported"),
                    "{sql}: {message}"
                );
            }
            other => panic!("{sql}: expected a refusal, got {other:?}"),
        }
    }
    assert!(!Path::new("/tmp/sellout-escape.csv").exists());

    match run("SELEC event_id FROM sales", SqlLimits::default()) {
        Err(SqlError::Query(message)) => {
            assert!(
                message.contains("Line: 1") && message.contains("Column"),
                "{message}"
            );
        }
        other => panic!("expected a parse error, got {other:?}"),
    }
    match run("SELECT nope FROM sales", SqlLimits::default()) {
        Err(SqlError::Query(message)) => assert!(message.contains("nope"), "{message}"),
        other => panic!("expected a planning error, got {other:?}"),
    }

    let limited = run(
        "SELECT * FROM sales",
        SqlLimits {
            max_rows: 10,
            ..SqlLimits::default()
        },
    )
    .expect("query");
    assert_eq!(limited.rows(), 10);
    assert!(limited.truncated);
    let csv = render(&limited, Format::Csv).expect("csv");
    assert_eq!(csv.lines().count(), 11, "a header and ten rows");
    assert!(
        csv.starts_with("kind,") || csv.lines().next().unwrap_or_default().contains("event_id")
    );
    let table = render(&limited, Format::Table).expect("table");
    assert!(table.contains("event_id"));
}

#[test]
fn functions_that_could_build_huge_values_are_bounded_per_call() {
    let f = fixture();
    let a = archive(&f.root, "archive");
    let session = session_of(&a, f);
    let run = |sql: &str| runtime().block_on(session.query(sql, SqlLimits::default()));

    for sql in [
        "SELECT repeat('a', 2147483647)",
        "SELECT lpad('x', 100000000)",
        "SELECT rpad('x', 100000000, 'yz')",
        "SELECT replace(repeat('a', 4000), 'a', repeat('b', 20000))",
        "SELECT array_repeat(1, 100000000)",
        "SELECT range(1, 10000000000)",
        "SELECT generate_series(DATE '1970-01-01', DATE '9999-01-01', INTERVAL '1 second')",
        "SELECT repeat(event_id, 100000000) FROM sales",
    ] {
        match run(sql) {
            Err(SqlError::Query(message)) => {
                assert!(message.contains("over the limit"), "{sql}: {message}")
            }
            other => panic!("{sql}: expected a refusal, got {other:?}"),
        }
    }

    // Within the bound the functions still answer, from literals and from columns.
    let rows = query_json(
        &session,
        "SELECT repeat('ab', 3) AS r, lpad('7', 3, '0') AS p, replace('a-b', '-', '+') AS x, \
         cardinality(range(1, 1001)) AS n",
    );
    assert_eq!(rows[0]["r"], "ababab");
    assert_eq!(rows[0]["p"], "007");
    assert_eq!(rows[0]["x"], "a+b");
    assert_eq!(rows[0]["n"], 1000);
    let rows = query_json(
        &session,
        "SELECT repeat(event_id, 2) AS r, event_id FROM sales LIMIT 3",
    );
    for row in &rows {
        let id = row["event_id"].as_str().unwrap_or_default();
        assert_eq!(row["r"], format!("{id}{id}"));
    }
}

/// Rewrites the Parquet file at `path` without `column`, as a version that did not
/// archive that column yet wrote it; returns its rows.
fn drop_column(path: &Path, column: &str) -> usize {
    use parquet::arrow::ArrowWriter;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let file = std::fs::File::open(path).expect("open");
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .expect("parquet")
        .build()
        .expect("reader");
    let batches: Vec<_> = reader.map(|b| b.expect("batch")).collect();
    let schema = batches[0].schema();
    let keep: Vec<usize> = (0..schema.fields().len())
        .filter(|&i| schema.field(i).name() != column)
        .collect();
    assert!(keep.len() < schema.fields().len(), "{column} is archived");
    let projected = Arc::new(schema.project(&keep).expect("project"));
    let mut bytes = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut bytes, projected, None).expect("writer");
    for b in &batches {
        writer
            .write(&b.project(&keep).expect("project"))
            .expect("write");
    }
    writer.close().expect("close");
    std::fs::write(path, bytes).expect("rewrite");
    batches.iter().map(|b| b.num_rows()).sum()
}

#[test]
fn features_archived_before_sales_7d_read_it_as_null_beside_newer_files() {
    let f = fixture();
    let a = archive(&f.root, "evolved");
    a.compact_all(f.log.as_ref(), None).expect("compact");
    let mut old: Vec<_> = files(&a.dir().join("features"))
        .into_keys()
        .filter(|k| k.ends_with(".parquet"))
        .collect();
    old.sort();
    assert!(old.len() >= 2, "one old file and newer ones: {old:?}");
    let old_rows = drop_column(&a.dir().join("features").join(&old[0]), "sales_7d");

    let session = session_of(&a, f);
    let rows = query_json(
        &session,
        "SELECT COUNT(*) AS n, COUNT(sales_7d) AS with_week, \
         SUM(CASE WHEN sales_7d >= sales_24h THEN 1 ELSE 0 END) AS week_holds_day \
         FROM features WHERE type = 'sell_out'",
    );
    let all = rows[0]["n"].as_u64().unwrap_or(0);
    assert_eq!(
        Some(all),
        f.report.features_written.get("sell_out").copied(),
        "every row reads, old file included"
    );
    let with_week = rows[0]["with_week"].as_u64().unwrap_or(0);
    let old_sell_out = query_json(
        &session,
        "SELECT COUNT(*) AS n FROM features WHERE type = 'sell_out' AND sales_7d IS NULL",
    )[0]["n"]
        .as_u64()
        .unwrap_or(0);
    assert!(
        old_sell_out > 0 && old_sell_out as usize <= old_rows,
        "{old_sell_out} of {old_rows}"
    );
    assert_eq!(with_week + old_sell_out, all);
    // Newer files carry the count, and a week holds at least its last day.
    assert_eq!(rows[0]["week_holds_day"].as_u64(), Some(with_week));
}
