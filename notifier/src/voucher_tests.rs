use super::*;

const NOW: i64 = 1_764_000_000_000;

fn keys() -> VoucherKeys {
    VoucherKeys::new(3, &[7u8; 32]).unwrap()
}

fn food20() -> Offer {
    Offer {
        kind: OfferKind::Food,
        percent: 20,
        stand: Some("stand-7".into()),
    }
}

#[test]
fn issue_and_verify_round_trip() {
    let n = nonce("food-short-queue", "inst-1", 42);
    let v = issue(&keys(), &food20(), NOW + 5 * MINUTE_MS, n).unwrap();
    assert_eq!(v.code.replace('-', "").len(), CODE_CHARS);
    assert_eq!(v.code.len(), 34);
    let claims = verify(&v.code, &keys(), NOW).unwrap();
    assert_eq!(claims, v);
    assert_eq!(claims.kind, OfferKind::Food);
    assert_eq!(claims.percent, 20);
    assert_eq!(claims.expires_at_ms, NOW + 5 * MINUTE_MS);
    // Lower case, no dashes, O for 0 and L for 1 all read the same.
    let typed = v
        .code
        .replace('-', "")
        .to_ascii_lowercase()
        .replace('0', "o")
        .replace('1', "l");
    assert_eq!(verify(&typed, &keys(), NOW).unwrap().code, v.code);
    // Unique per (campaign, installation, trigger); the same for a replay.
    let other = issue(
        &keys(),
        &food20(),
        NOW + 5 * MINUTE_MS,
        nonce("food-short-queue", "inst-2", 42),
    )
    .unwrap();
    assert_ne!(other.code, v.code);
    let again = issue(&keys(), &food20(), NOW + 5 * MINUTE_MS, n).unwrap();
    assert_eq!(again.code, v.code);
}

#[test]
fn every_single_character_change_is_detected() {
    let v = issue(&keys(), &food20(), NOW + 5 * MINUTE_MS, 12345).unwrap();
    let raw: Vec<char> = v.code.replace('-', "").chars().collect();
    for i in 1..raw.len() {
        let mut changed = raw.clone();
        changed[i] = if raw[i] == 'Z' { 'Y' } else { 'Z' };
        let s: String = changed.into_iter().collect();
        assert_eq!(
            verify(&s, &keys(), NOW),
            Err(VoucherError::Tampered),
            "position {i}"
        );
    }
    // The first character holds the key id's top bits: another key id.
    let mut changed = raw.clone();
    changed[0] = 'Z';
    let s: String = changed.into_iter().collect();
    assert!(matches!(
        verify(&s, &keys(), NOW),
        Err(VoucherError::UnknownKey(_))
    ));
}

#[test]
fn expired_codes_are_refused_after_the_minute() {
    let v = issue(&keys(), &food20(), NOW + 5 * MINUTE_MS, 1).unwrap();
    assert!(verify(&v.code, &keys(), NOW + 5 * MINUTE_MS - 1).is_ok());
    assert_eq!(
        verify(&v.code, &keys(), NOW + 5 * MINUTE_MS),
        Err(VoucherError::Expired {
            expired_at_ms: NOW + 5 * MINUTE_MS
        })
    );
}

#[test]
fn rotated_keys_verify_until_removed() {
    let mut ring = keys();
    let old = issue(&ring, &food20(), NOW + MINUTE_MS, 9).unwrap();
    ring.add(4, &[9u8; 32]).unwrap();
    ring.activate(4).unwrap();
    let new = issue(&ring, &food20(), NOW + MINUTE_MS, 9).unwrap();
    assert_eq!(new.key_id, 4);
    assert!(verify(&old.code, &ring, NOW).is_ok());
    assert!(verify(&new.code, &ring, NOW).is_ok());
    assert!(ring.remove(3));
    assert_eq!(
        verify(&old.code, &ring, NOW),
        Err(VoucherError::UnknownKey(3))
    );
    // A stand that has only the old key cannot verify the new code.
    assert_eq!(
        verify(&new.code, &keys(), NOW),
        Err(VoucherError::UnknownKey(4))
    );
    assert!(!format!("{ring:?}").contains('9'));
}

#[test]
fn malformed_codes_and_bad_inputs() {
    assert!(matches!(
        verify("ABC", &keys(), NOW),
        Err(VoucherError::Malformed(_))
    ));
    assert!(matches!(
        verify(&"U".repeat(28), &keys(), NOW),
        Err(VoucherError::Malformed(_))
    ));
    let mut bad = food20();
    bad.percent = 0;
    assert!(matches!(
        issue(&keys(), &bad, NOW, 1),
        Err(VoucherError::InvalidOffer(_))
    ));
    assert!(matches!(
        VoucherKeys::new(16, &[0; 32]),
        Err(VoucherError::InvalidKey(_))
    ));
    assert!(matches!(
        VoucherKeys::new(1, &[0; 8]),
        Err(VoucherError::InvalidKey(_))
    ));
}
