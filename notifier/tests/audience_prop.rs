//! Property: bitmap evaluation of a tag expression equals a brute-force scan of the
//! installations, through upserts, erases, expiry, compaction and restart; and every
//! expression printed back parses to the same tree.

use std::collections::BTreeMap;

use proptest::prelude::*;
use sellout_notifier::{EmbeddedOptions, EmbeddedStore, Installation, Platform, TagExpr};

const TAGS: &[&str] = &["a", "b", "c", "sport:rugby", "cc:UK", "fan:gold"];

fn expr() -> impl Strategy<Value = TagExpr> {
    let leaf = prop::sample::select(TAGS).prop_map(|t| TagExpr::Tag(t.to_string()));
    leaf.prop_recursive(4, 16, 2, |inner| {
        prop_oneof![
            inner.clone().prop_map(|e| TagExpr::Not(Box::new(e))),
            (inner.clone(), inner.clone())
                .prop_map(|(a, b)| TagExpr::And(Box::new(a), Box::new(b))),
            (inner.clone(), inner).prop_map(|(a, b)| TagExpr::Or(Box::new(a), Box::new(b))),
        ]
    })
}

#[derive(Debug, Clone)]
enum Op {
    Upsert {
        id: u8,
        tags: Vec<usize>,
        expiry: Option<i64>,
        apns: bool,
    },
    Erase(u8),
    Compact,
    Reopen,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => (0u8..40, prop::collection::btree_set(0..TAGS.len(), 0..4), prop::option::of(0i64..100), any::<bool>())
            .prop_map(|(id, tags, expiry, apns)| Op::Upsert { id, tags: tags.into_iter().collect(), expiry, apns }),
        2 => (0u8..40).prop_map(Op::Erase),
        1 => Just(Op::Compact),
        1 => Just(Op::Reopen),
    ]
}

fn installation(id: u8, tags: &[usize], expiry: Option<i64>, apns: bool) -> Installation {
    Installation {
        installation_id: format!("id-{id}"),
        platform: if apns { Platform::Apns } else { Platform::Fcm },
        push_channel: if apns {
            format!("{:064x}", id)
        } else {
            format!("tok-{id}")
        },
        locale: "en".into(),
        tags: tags.iter().map(|t| TAGS[*t].to_string()).collect(),
        customer_id: None,
        expiration_ms: expiry,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn bitmaps_agree_with_brute_force(ops in prop::collection::vec(op(), 1..60),
                                      exprs in prop::collection::vec(expr(), 1..8),
                                      now in 0i64..120) {
        let dir = tempfile::tempdir().unwrap();
        let mut store = EmbeddedStore::open(dir.path(), EmbeddedOptions::default()).unwrap();
        let mut model: BTreeMap<String, Installation> = BTreeMap::new();
        for op in ops {
            match op {
                Op::Upsert { id, tags, expiry, apns } => {
                    let i = installation(id, &tags, expiry, apns);
                    store.upsert(i.clone()).unwrap();
                    model.insert(i.installation_id.clone(), i);
                }
                Op::Erase(id) => {
                    let id = format!("id-{id}");
                    prop_assert_eq!(store.erase(&id).unwrap(), model.remove(&id).is_some());
                }
                Op::Compact => store.compact().unwrap(),
                Op::Reopen => {
                    drop(store);
                    store = EmbeddedStore::open(dir.path(), EmbeddedOptions::default()).unwrap();
                }
            }
        }
        prop_assert_eq!(store.len(), model.len());
        for (id, i) in &model {
            prop_assert_eq!(store.get(id), Some(i.clone()));
        }
        // Several "now"s, forward then back, to exercise the expired-slot cache.
        for now in [now, now + 7, now / 2, now + 7] {
            for e in &exprs {
                let mut got = store.ids(&store.select(Some(e), None, now), usize::MAX);
                got.sort();
                let want: Vec<String> = model
                    .values()
                    .filter(|i| i.is_live(now) && e.matches(&|t| i.tags.iter().any(|x| x == t)))
                    .map(|i| i.installation_id.clone())
                    .collect();
                prop_assert_eq!(got, want, "expression {} at {}", e, now);
            }
        }
    }

    #[test]
    fn display_parses_back(e in expr()) {
        prop_assert_eq!(TagExpr::parse(&e.to_string()).unwrap(), e);
    }
}
