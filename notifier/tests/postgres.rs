//! The PostgreSQL store. Runs only when `SELLOUT_TEST_POSTGRES` holds a connection
//! string (e.g. `host=127.0.0.1 user=sellout password=sellout dbname=sellout_test`);
//! each test uses its own table and drops it.

use sellout_notifier::installation::PatchOp;
use sellout_notifier::store::embedded::EmbeddedStore;
use sellout_notifier::{
    EmbeddedOptions, Installation, InstallationStore, Platform, PostgresStore, StoreError, TagExpr,
};

async fn store(name: &str) -> Option<PostgresStore> {
    let Ok(conn) = std::env::var("SELLOUT_TEST_POSTGRES") else {
        println!("skipped: no PostgreSQL at SELLOUT_TEST_POSTGRES");
        return None;
    };
    let table = format!("test_{name}_{}", std::process::id());
    let s = PostgresStore::connect(&conn, &table).await.unwrap();
    s.drop_table().await.unwrap();
    Some(PostgresStore::connect(&conn, &table).await.unwrap())
}

fn inst(id: &str, tags: &[&str], expiry: Option<i64>) -> Installation {
    Installation {
        installation_id: id.into(),
        platform: if id.len().is_multiple_of(2) {
            Platform::Apns
        } else {
            Platform::Fcm
        },
        push_channel: if id.len().is_multiple_of(2) {
            "ab".repeat(32)
        } else {
            format!("tok-{id}")
        },
        locale: "en-GB".into(),
        tags: tags.iter().map(|t| t.to_string()).collect(),
        customer_id: None,
        expiration_ms: expiry,
    }
}

#[tokio::test]
async fn crud_patch_and_erase() {
    let Some(s) = store("crud").await else { return };
    let mut i = inst("i1", &["sport:rugby", "user@x#1"], None);
    i.customer_id = Some("cust-1".into());
    s.upsert(i.clone()).await.unwrap();
    assert_eq!(s.get("i1").await.unwrap(), Some(i.clone()));
    let bad = inst("i2", &["bad tag"], None);
    assert!(matches!(s.upsert(bad).await, Err(StoreError::Invalid(_))));
    let ops = vec![
        PatchOp {
            op: "add".into(),
            path: "/tags".into(),
            value: Some("fan:gold".into()),
        },
        PatchOp {
            op: "remove".into(),
            path: "/tags/sport:rugby".into(),
            value: None,
        },
    ];
    let p = s.patch("i1", &ops).await.unwrap();
    assert_eq!(p.tags, ["user@x#1", "fan:gold"]);
    assert_eq!(
        s.get("i1").await.unwrap().unwrap().tags,
        ["user@x#1", "fan:gold"]
    );
    assert!(matches!(
        s.patch("nope", &ops).await,
        Err(StoreError::NotFound)
    ));
    assert!(s.erase("i1").await.unwrap());
    assert!(!s.erase("i1").await.unwrap());
    assert_eq!(s.get("i1").await.unwrap(), None);
    s.drop_table().await.unwrap();
}

#[tokio::test]
async fn selection_matches_the_embedded_store() {
    let Some(pg) = store("select").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let emb = EmbeddedStore::open(dir.path(), EmbeddedOptions::default()).unwrap();
    let data = [
        inst("a", &["sport:rugby", "cc:UK"], None),
        inst("bb", &["sport:tennis", "cc:US", "fan:gold"], None),
        inst("c", &["sport:rugby", "cc:US"], Some(500)),
        inst("dd", &["cc:UK", "fan:gold"], None),
        inst("e", &[], None),
    ];
    for i in &data {
        pg.upsert(i.clone()).await.unwrap();
        emb.upsert(i.clone()).unwrap();
    }
    for src in [
        "sport:rugby",
        "(sport:rugby || sport:tennis) && (cc:UK || cc:US)",
        "!fan:gold",
        "!(cc:UK && fan:gold) && !sport:tennis",
        "nobody",
    ] {
        let e = TagExpr::parse(src).unwrap();
        for now in [0, 1_000] {
            let want = InstallationStore::select(&emb, Some(&e), now, 100)
                .await
                .unwrap();
            let got = pg.select(Some(&e), now, 100).await.unwrap();
            let mut w = want.sample.clone();
            w.sort();
            assert_eq!(got.count, want.count, "{src} at {now}");
            assert_eq!(got.sample, w, "{src} at {now}");
        }
    }
    let all = pg.select(None, 1_000, 2).await.unwrap();
    assert_eq!((all.count, all.sample.len()), (4, 2));
    // Paging by id.
    let mut cursor = None;
    let mut seen = Vec::new();
    loop {
        let page = pg.scan(None, 0, cursor.as_deref(), 2).await.unwrap();
        seen.extend(page.installations.iter().map(|i| i.installation_id.clone()));
        match page.next {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(seen, ["a", "bb", "c", "dd", "e"]);
    pg.drop_table().await.unwrap();
}
