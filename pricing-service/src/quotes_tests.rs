use super::*;

fn key(id: &str, byte: u8) -> QuoteKey {
    QuoteKey {
        id: id.into(),
        secret_hex: crate::auth::to_hex(&[byte; 32]),
    }
}

fn quote() -> Quote {
    Quote {
        id: "q-1".into(),
        event_id: "ev-1".into(),
        category_id: "cat-1".into(),
        quantity: 2,
        unit_price_minor: 9_000,
        total_minor: 18_000,
        currency: "GBP".into(),
        issued_at: 1_000,
        expires_at: 601_000,
        key_id: String::new(),
        signature: String::new(),
    }
}

#[test]
fn a_signed_quote_verifies_until_it_expires() {
    let ring = KeyRing::new("k1", &[key("k1", 1)]).expect("ring");
    let mut q = quote();
    ring.sign(&mut q);
    assert_eq!(q.key_id, "k1");
    assert_eq!(q.signature.len(), 64);
    assert_eq!(ring.verify(&q, 600_999), Ok(()));
    assert_eq!(
        ring.verify(&q, 601_000),
        Err(QuoteError::Expired {
            expired_at: 601_000,
            now: 601_000
        })
    );
}

#[test]
fn any_tampered_field_breaks_the_signature() {
    let ring = KeyRing::new("k1", &[key("k1", 1)]).expect("ring");
    let mut q = quote();
    ring.sign(&mut q);
    type Tamper = Box<dyn Fn(&mut Quote)>;
    let tampers: Vec<Tamper> = vec![
        Box::new(|q| q.unit_price_minor -= 1),
        Box::new(|q| q.total_minor = 1),
        Box::new(|q| q.quantity = 10),
        Box::new(|q| q.expires_at += 3_600_000),
        Box::new(|q| q.category_id = "cat-2".into()),
        Box::new(|q| q.event_id = "ev-2".into()),
        Box::new(|q| q.currency = "EUR".into()),
        Box::new(|q| q.id = "q-2".into()),
        Box::new(|q| q.signature = q.signature.replace('a', "b").replace('0', "1")),
        Box::new(|q| q.signature = "not hex".into()),
    ];
    for (i, tamper) in tampers.iter().enumerate() {
        let mut t = q.clone();
        tamper(&mut t);
        assert_eq!(
            ring.verify(&t, 2_000),
            Err(QuoteError::BadSignature),
            "tamper #{i}"
        );
    }
    let mut t = q.clone();
    t.key_id = "k9".into();
    assert_eq!(
        ring.verify(&t, 2_000),
        Err(QuoteError::UnknownKey("k9".into()))
    );
}

#[test]
fn rotation_signs_with_the_new_key_and_still_verifies_the_old() {
    let old = KeyRing::new("k1", &[key("k1", 1)]).expect("ring");
    let mut before = quote();
    old.sign(&mut before);
    let rotated = KeyRing::new("k2", &[key("k1", 1), key("k2", 2)]).expect("ring");
    let mut after = quote();
    rotated.sign(&mut after);
    assert_eq!(after.key_id, "k2");
    assert_ne!(after.signature, before.signature);
    assert_eq!(rotated.verify(&before, 2_000), Ok(()));
    assert_eq!(rotated.verify(&after, 2_000), Ok(()));
    // Once k1 is retired, its quotes are refused.
    let retired = KeyRing::new("k2", &[key("k2", 2)]).expect("ring");
    assert_eq!(
        retired.verify(&before, 2_000),
        Err(QuoteError::UnknownKey("k1".into()))
    );
    // A quote claiming k1 but signed by k2 fails.
    let mut forged = after.clone();
    forged.key_id = "k1".into();
    assert_eq!(
        rotated.verify(&forged, 2_000),
        Err(QuoteError::BadSignature)
    );
}

#[test]
fn bad_rings_are_refused_and_secrets_never_printed() {
    assert_eq!(KeyRing::new("k1", &[]).unwrap_err(), KeyRingError::Empty);
    assert_eq!(
        KeyRing::new("k2", &[key("k1", 1)]).unwrap_err(),
        KeyRingError::UnknownActive("k2".into())
    );
    assert_eq!(
        KeyRing::new("k1", &[key("k1", 1), key("k1", 2)]).unwrap_err(),
        KeyRingError::Duplicate("k1".into())
    );
    let short = QuoteKey {
        id: "k1".into(),
        secret_hex: "abcd".into(),
    };
    assert_eq!(
        KeyRing::new("k1", &[short]).unwrap_err(),
        KeyRingError::BadSecret("k1".into())
    );
    let ring = KeyRing::new("k1", &[key("k1", 0xab)]).expect("ring");
    let shown = format!("{ring:?} {:?}", key("k1", 0xab));
    assert!(!shown.contains("abab"), "{shown}");
}

#[test]
fn holds_count_unexpired_quotes_at_a_price_and_forget_expired_ones() {
    let holds = HoldRegistry::new();
    let mut q = quote();
    holds.hold(&q);
    holds.hold(&q);
    q.unit_price_minor = 9_500;
    q.expires_at = 1_200_000;
    holds.hold(&q);
    assert_eq!(holds.held_at("ev-1", "cat-1", 9_000, 2_000), 2);
    assert_eq!(holds.held_at("ev-1", "cat-1", 9_500, 2_000), 1);
    assert_eq!(holds.held_at("ev-1", "cat-2", 9_000, 2_000), 0);
    // Buckets round expiry up to the next second: held through 601_999 at most.
    assert_eq!(holds.held_at("ev-1", "cat-1", 9_000, 602_000), 0);
    assert_eq!(holds.held_at("ev-1", "cat-1", 9_500, 602_000), 1);
    assert_eq!(holds.held_at("ev-1", "cat-1", 9_500, 1_201_000), 0);
}

#[test]
fn quote_ids_are_unique_per_process_and_seed() {
    let a = QuoteIds::new(b"replica-a");
    let b = QuoteIds::new(b"replica-b");
    let (a1, a2, b1) = (a.next_id(), a.next_id(), b.next_id());
    assert_ne!(a1, a2);
    assert_ne!(a1, b1);
}
