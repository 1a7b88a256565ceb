use super::*;

const T0: i64 = 1_764_000_000_000; // 2025-11-24T16:00:00Z

#[test]
fn offsets_parse_and_print() {
    assert_eq!("+01:00".parse::<UtcOffset>(), Ok(UtcOffset(60)));
    assert_eq!("-05:30".parse::<UtcOffset>(), Ok(UtcOffset(-330)));
    assert_eq!(UtcOffset(-330).to_string(), "-05:30");
    assert!("01:00".parse::<UtcOffset>().is_err());
    assert!("+15:00".parse::<UtcOffset>().is_err());
    assert_eq!(UtcOffset(60).local_hhmm(T0), "17:00");
}

#[test]
fn quiet_hours_cross_midnight_with_offset() {
    let q = QuietHours {
        start: "23:00".into(),
        end: "08:00".into(),
    };
    let paris = UtcOffset(60);
    // 21:59Z = 22:59 local: not quiet; 22:00Z = 23:00 local: quiet.
    let day = T0 - T0.rem_euclid(DAY_MS);
    assert!(!q.contains(day + 21 * HOUR_MS + 59 * MINUTE_MS, paris));
    assert!(q.contains(day + 22 * HOUR_MS, paris));
    // 02:00 local next day (01:00Z) quiet; 07:59 local quiet; 08:00 local not.
    assert!(q.contains(day + DAY_MS + HOUR_MS, paris));
    assert!(q.contains(day + DAY_MS + 6 * HOUR_MS + 59 * MINUTE_MS, paris));
    assert!(!q.contains(day + DAY_MS + 7 * HOUR_MS, paris));
    // In UTC the same instant 22:30Z is not yet quiet.
    assert!(!q.contains(day + 22 * HOUR_MS + 30 * MINUTE_MS - HOUR_MS, UtcOffset(0)));
    // A same-day window.
    let lunch = QuietHours {
        start: "12:00".into(),
        end: "13:00".into(),
    };
    assert!(lunch.contains(day + 12 * HOUR_MS, UtcOffset(0)));
    assert!(!lunch.contains(day + 13 * HOUR_MS, UtcOffset(0)));
}

#[test]
fn hourly_and_daily_caps() {
    let caps = Caps {
        per_hour: Some(2),
        per_day: Some(3),
    };
    let mut state = CapState::default();
    assert_eq!(state.check("c", "i", caps, T0), None);
    state.record("c", "i", T0, 3);
    state.record("c", "i", T0 + MINUTE_MS, 3);
    assert_eq!(
        state.check("c", "i", caps, T0 + 2 * MINUTE_MS),
        Some(CapHit::Hour)
    );
    // Another installation and another campaign are not capped.
    assert_eq!(state.check("c", "j", caps, T0 + 2 * MINUTE_MS), None);
    assert_eq!(state.check("d", "i", caps, T0 + 2 * MINUTE_MS), None);
    // An hour later the hourly cap frees up.
    assert_eq!(state.check("c", "i", caps, T0 + HOUR_MS + MINUTE_MS), None);
    state.record("c", "i", T0 + HOUR_MS + MINUTE_MS, 3);
    assert_eq!(
        state.check("c", "i", caps, T0 + 3 * HOUR_MS),
        Some(CapHit::Day)
    );
    // A day after the first send one slot frees up.
    assert_eq!(state.check("c", "i", caps, T0 + DAY_MS + 1), None);
    state.evict(T0 + 2 * DAY_MS);
    assert!(state.is_empty());
}
