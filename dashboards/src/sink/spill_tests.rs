//! The spill: framing round trip, order, deletion after ack, budget, torn tails, reopen.

use super::*;

fn payload(i: u32) -> Vec<u8> {
    format!("m f={i}i {i}\n").into_bytes()
}

#[test]
fn replays_in_order_across_segments_and_deletes_acked_segments() {
    let dir = tempfile::tempdir().unwrap();
    let mut spill = Spill::open(dir.path(), 1 << 20, 40).unwrap();
    for i in 0..10 {
        spill.append(&payload(i), 1).unwrap();
    }
    assert_eq!(spill.unread_points(), 10);
    let files = fs::read_dir(dir.path()).unwrap().count();
    assert!(files > 1, "segments roll at 40 bytes");
    for i in 0..10 {
        let frame = spill.peek().unwrap().unwrap();
        assert_eq!(frame.payload, payload(i));
        assert_eq!(
            spill.peek().unwrap().unwrap(),
            frame,
            "peek is stable until ack"
        );
        spill.ack().unwrap();
    }
    assert!(spill.peek().unwrap().is_none());
    assert!(spill.is_empty());
    assert_eq!(spill.bytes_on_disk(), 0);
    assert_eq!(
        fs::read_dir(dir.path()).unwrap().count(),
        0,
        "acked segments deleted"
    );
    spill.append(&payload(11), 1).unwrap();
    assert_eq!(spill.peek().unwrap().unwrap().payload, payload(11));
}

#[test]
fn refuses_beyond_budget() {
    let dir = tempfile::tempdir().unwrap();
    let mut spill = Spill::open(dir.path(), 50, 1 << 20).unwrap();
    spill.append(&payload(1), 1).unwrap();
    spill.append(&payload(2), 1).unwrap();
    assert!(matches!(
        spill.append(&payload(3), 1),
        Err(SpillError::Full { .. })
    ));
    assert_eq!(spill.unread_points(), 2);
}

#[test]
fn reopen_replays_what_an_earlier_run_left() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut spill = Spill::open(dir.path(), 1 << 20, 1 << 20).unwrap();
        spill.append(&payload(1), 1).unwrap();
        spill.append(&payload(2), 2).unwrap();
    }
    let mut spill = Spill::open(dir.path(), 1 << 20, 1 << 20).unwrap();
    assert_eq!(spill.unread_points(), 3);
    assert_eq!(spill.peek().unwrap().unwrap().payload, payload(1));
    spill.ack().unwrap();
    spill.append(&payload(3), 1).unwrap();
    assert_eq!(spill.peek().unwrap().unwrap().payload, payload(2));
    spill.ack().unwrap();
    assert_eq!(spill.peek().unwrap().unwrap().payload, payload(3));
}

#[test]
fn a_torn_or_corrupt_tail_is_skipped_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut spill = Spill::open(dir.path(), 1 << 20, 1 << 20).unwrap();
        spill.append(&payload(1), 1).unwrap();
        spill.append(&payload(2), 1).unwrap();
    }
    let path = fs::read_dir(dir.path())
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let mut bytes = fs::read(&path).unwrap();
    let last = bytes.len() - 2;
    bytes[last] ^= 0xff; // flip a payload byte of the second frame
    fs::write(&path, &bytes).unwrap();
    let mut spill = Spill::open(dir.path(), 1 << 20, 1 << 20).unwrap();
    assert_eq!(spill.peek().unwrap().unwrap().payload, payload(1));
    spill.ack().unwrap();
    assert!(matches!(spill.peek(), Err(SpillError::Corrupt { .. })));
    assert!(spill.peek().unwrap().is_none());
    assert!(spill.is_empty());

    // Cut short: a header with no payload.
    fs::write(
        dir.path().join("spill-00000000000000000009.lp"),
        [9u8, 0, 0, 0, 1],
    )
    .unwrap();
    let mut spill = Spill::open(dir.path(), 1 << 20, 1 << 20).unwrap();
    assert!(matches!(spill.peek(), Err(SpillError::Corrupt { .. })));
    assert!(spill.peek().unwrap().is_none());
}
