//! The embedded store: persistence across restart, torn tail, privacy erase down to the
//! files, expiry, near-zone audiences, paging.

use std::io::Write;
use std::path::Path;

use sellout_notifier::store::embedded::{LOG_FILE, SNAPSHOT_FILE};
use sellout_notifier::{EmbeddedOptions, EmbeddedStore, Installation, Near, Platform, TagExpr};

fn inst(id: &str, tags: &[&str]) -> Installation {
    Installation {
        installation_id: id.into(),
        platform: Platform::Fcm,
        push_channel: format!("fcm-token-for-{id}"),
        locale: "en-GB".into(),
        tags: tags.iter().map(|t| t.to_string()).collect(),
        customer_id: None,
        expiration_ms: None,
    }
}

fn open(dir: &Path) -> EmbeddedStore {
    EmbeddedStore::open(dir, EmbeddedOptions::default()).unwrap()
}

fn ids(store: &EmbeddedStore, expr: &str, now: i64) -> Vec<String> {
    let e = TagExpr::parse(expr).unwrap();
    let mut v = store.ids(&store.select(Some(&e), None, now), usize::MAX);
    v.sort();
    v
}

#[test]
fn survives_restart_from_log_and_from_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = open(dir.path());
        s.upsert(inst("a", &["sport:rugby"])).unwrap();
        s.upsert(inst("b", &["sport:tennis", "cc:UK"])).unwrap();
        let mut apns = inst("c", &["cc:UK"]);
        apns.platform = Platform::Apns;
        apns.push_channel = "0a".repeat(32);
        apns.customer_id = Some("cust-1".into());
        apns.expiration_ms = Some(5_000);
        s.upsert(apns).unwrap();
        s.upsert(inst("a", &["sport:rugby", "fan:gold"])).unwrap(); // replace
    }
    let s = open(dir.path());
    assert_eq!(s.len(), 3);
    assert_eq!(s.get("a").unwrap().tags, ["sport:rugby", "fan:gold"]);
    let c = s.get("c").unwrap();
    assert_eq!(c.push_channel, "0a".repeat(32));
    assert_eq!(c.customer_id.as_deref(), Some("cust-1"));
    assert_eq!(ids(&s, "cc:UK", 0), ["b", "c"]);
    s.compact().unwrap();
    s.upsert(inst("d", &["cc:UK"])).unwrap(); // after the snapshot: in the log
    drop(s);
    let s = open(dir.path());
    assert_eq!(s.len(), 4);
    assert_eq!(ids(&s, "cc:UK", 0), ["b", "c", "d"]);
    assert_eq!(ids(&s, "fan:gold", 0), ["a"]);
    assert_eq!(s.get("c").unwrap().expiration_ms, Some(5_000));
}

#[test]
fn torn_tail_is_cut_and_earlier_entries_kept() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = open(dir.path());
        s.upsert(inst("a", &["x"])).unwrap();
        s.upsert(inst("b", &["x"])).unwrap();
    }
    let log = dir.path().join(LOG_FILE);
    let good_len = std::fs::metadata(&log).unwrap().len();
    // A half-written frame: a header promising 200 bytes, then 10.
    let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
    f.write_all(&200u32.to_le_bytes()).unwrap();
    f.write_all(&[7u8; 14]).unwrap();
    drop(f);
    let (s, report) =
        EmbeddedStore::open_with_report(dir.path(), EmbeddedOptions::default()).unwrap();
    assert_eq!(report.replayed, 2);
    assert_eq!(report.cut_bytes, 18);
    assert_eq!(std::fs::metadata(&log).unwrap().len(), good_len);
    s.upsert(inst("c", &["x"])).unwrap();
    drop(s);
    let s = open(dir.path());
    assert_eq!(ids(&s, "x", 0), ["a", "b", "c"]);
}

#[test]
fn corrupt_frame_in_the_middle_cuts_from_there() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = open(dir.path());
        s.upsert(inst("a", &["x"])).unwrap();
        s.upsert(inst("b", &["x"])).unwrap();
    }
    let log = dir.path().join(LOG_FILE);
    let mut bytes = std::fs::read(&log).unwrap();
    let last = bytes.len() - 3;
    bytes[last] ^= 0xff; // flip a byte of the second frame's payload
    std::fs::write(&log, &bytes).unwrap();
    let (s, report) =
        EmbeddedStore::open_with_report(dir.path(), EmbeddedOptions::default()).unwrap();
    assert_eq!(report.replayed, 1);
    assert!(s.get("a").is_some());
    assert!(s.get("b").is_none());
}

fn files_contain(dir: &Path, needle: &str) -> bool {
    std::fs::read_dir(dir).unwrap().any(|e| {
        let bytes = std::fs::read(e.unwrap().path()).unwrap();
        bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
    })
}

#[test]
fn erase_removes_everything_and_compaction_leaves_no_trace() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    let mut victim = inst("victim-7", &["sport:rugby", "private:victim-tag"]);
    victim.customer_id = Some("cust-victim".into());
    s.upsert(victim).unwrap();
    s.upsert(inst("other", &["sport:rugby"])).unwrap();
    s.compact().unwrap(); // now in the snapshot, too
    s.upsert(inst("victim-7", &["sport:rugby", "private:victim-tag"]))
        .unwrap(); // and in the log
    assert!(s.sighting("victim-7", "v1", "north", 1_000));
    assert!(files_contain(dir.path(), "fcm-token-for-victim-7"));

    assert!(s.erase("victim-7").unwrap());
    assert!(!s.erase("victim-7").unwrap());
    assert!(s.get("victim-7").is_none());
    assert_eq!(ids(&s, "sport:rugby", 0), ["other"]);
    assert!(ids(&s, "private:victim-tag", 0).is_empty());
    let near = Near {
        venue: "v1".into(),
        zone: "north".into(),
        within_ms: 10_000,
    };
    assert!(s.select(None, Some(&near), 2_000).is_empty());
    assert_eq!(s.select(None, None, 0).len(), 1);

    assert!(s.log_bytes() > 0);
    s.compact().unwrap();
    assert_eq!(s.log_bytes(), 0);
    for needle in [
        "victim-7",
        "fcm-token-for-victim",
        "cust-victim",
        "private:victim-tag",
    ] {
        assert!(!files_contain(dir.path(), needle), "{needle} still on disk");
    }
    assert!(files_contain(dir.path(), "fcm-token-for-other"));
    drop(s);
    let s = open(dir.path());
    assert!(s.get("victim-7").is_none());
    assert_eq!(s.len(), 1);
    assert!(dir.path().join(SNAPSHOT_FILE).exists());
}

#[test]
fn expired_installations_are_not_targeted() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    let mut e = inst("soon", &["cc:UK"]);
    e.expiration_ms = Some(1_000);
    s.upsert(e).unwrap();
    s.upsert(inst("forever", &["cc:UK"])).unwrap();
    assert_eq!(ids(&s, "cc:UK", 999), ["forever", "soon"]);
    assert_eq!(ids(&s, "cc:UK", 1_000), ["forever"]);
    // `!` is relative to targetable installations, so expired ones stay out.
    assert_eq!(ids(&s, "!nothing", 1_000), ["forever"]);
    assert_eq!(s.select(None, None, 5_000).len(), 1);
}

#[test]
fn near_zone_audience_combines_with_tags() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    for (id, tags) in [
        ("a", ["fan:gold"]),
        ("b", ["fan:silver"]),
        ("c", ["fan:gold"]),
    ] {
        s.upsert(inst(id, &tags)).unwrap();
    }
    assert!(s.sighting("a", "arena", "gate-1", 100_000));
    assert!(s.sighting("b", "arena", "gate-1", 110_000));
    assert!(s.sighting("c", "arena", "gate-2", 115_000));
    assert!(!s.sighting("unknown", "arena", "gate-1", 115_000));
    let near = Near {
        venue: "arena".into(),
        zone: "gate-1".into(),
        within_ms: 15_000,
    };
    let gold = TagExpr::parse("fan:gold").unwrap();
    let at = |now| {
        let mut v = s.ids(&s.select(Some(&gold), Some(&near), now), 10);
        v.sort();
        v
    };
    assert_eq!(at(112_000), ["a"]);
    assert_eq!(at(116_000), Vec::<String>::new()); // a's sighting is now too old
    assert_eq!(s.select(None, Some(&near), 116_000).len(), 1); // b only
    s.sighting("a", "arena", "gate-2", 120_000); // a moved
    let near2 = Near {
        zone: "gate-2".into(),
        ..near.clone()
    };
    let mut v = s.ids(&s.select(Some(&gold), Some(&near2), 121_000), 10);
    v.sort();
    assert_eq!(v, ["a", "c"]);
    assert!(s.select(Some(&gold), Some(&near), 121_000).is_empty());
}

#[test]
fn scan_pages_through_an_audience() {
    use sellout_notifier::InstallationStore;
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    for n in 0..25 {
        let tags: &[&str] = if n % 2 == 0 { &["even"] } else { &["odd"] };
        s.upsert(inst(&format!("i{n:02}"), tags)).unwrap();
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let even = TagExpr::parse("even").unwrap();
    let mut cursor: Option<String> = None;
    let mut seen = Vec::new();
    loop {
        let page = rt
            .block_on(InstallationStore::scan(
                &s,
                Some(&even),
                0,
                cursor.as_deref(),
                5,
            ))
            .unwrap();
        seen.extend(page.installations.into_iter().map(|i| i.installation_id));
        match page.next {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(seen.len(), 13);
    assert!(
        seen.iter()
            .all(|id| id[1..].parse::<u32>().unwrap() % 2 == 0)
    );
    let sel = rt
        .block_on(InstallationStore::select(&s, Some(&even), 0, 3))
        .unwrap();
    assert_eq!(sel.count, 13);
    assert_eq!(sel.sample.len(), 3);
}
