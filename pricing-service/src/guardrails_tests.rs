use super::*;

const NOW: Timestamp = 1_800_000_000_000;

fn state() -> GuardState {
    GuardState {
        current_minor: 10_000,
        last_change_at: None,
        floor_minor: 5_000,
        cap_minor: 20_000,
        published: None,
        max_step_pct: 10.0,
        min_interval_ms: 300_000,
        frozen: false,
        override_minor: None,
        held_quotes: 0,
        hold_blocks_raises: true,
    }
}

fn propose(target: i64) -> Proposal {
    Proposal {
        target_minor: target,
        reason: "test".into(),
        model_version: "test/1".into(),
    }
}

fn changed(d: &Decision) -> Option<i64> {
    d.new_price()
}

#[test]
fn a_small_move_passes_untouched() {
    let d = decide(&propose(10_500), &state(), NOW);
    assert_eq!(changed(&d), Some(10_500));
    assert_eq!(d.guardrail, None);
    assert_eq!(d.time, NOW);
}

#[test]
fn max_step_limits_each_change_both_ways() {
    let d = decide(&propose(19_000), &state(), NOW);
    assert_eq!(
        (changed(&d), d.guardrail),
        (Some(11_000), Some(GuardrailKind::MaxStep))
    );
    let d = decide(&propose(1_000), &state(), NOW);
    assert_eq!(
        (changed(&d), d.guardrail),
        (Some(9_000), Some(GuardrailKind::MaxStep))
    );
}

#[test]
fn floor_and_cap_clamp() {
    let s = GuardState {
        max_step_pct: 500.0,
        ..state()
    };
    let d = decide(&propose(4_000), &s, NOW);
    assert_eq!(
        (changed(&d), d.guardrail),
        (Some(5_000), Some(GuardrailKind::Floor))
    );
    let d = decide(&propose(25_000), &s, NOW);
    assert_eq!(
        (changed(&d), d.guardrail),
        (Some(20_000), Some(GuardrailKind::Cap))
    );
}

#[test]
fn at_the_cap_a_raise_is_no_change_with_the_cap_as_reason() {
    let s = GuardState {
        current_minor: 20_000,
        ..state()
    };
    let d = decide(&propose(21_000), &s, NOW);
    assert_eq!(changed(&d), None);
    assert_eq!(d.guardrail, Some(GuardrailKind::Cap));
}

#[test]
fn the_published_range_is_never_left_whatever_the_other_limits() {
    let range = PriceRange {
        min_minor: 9_000,
        max_minor: 10_400,
    };
    let s = GuardState {
        published: Some(range),
        max_step_pct: 100.0,
        ..state()
    };
    let d = decide(&propose(15_000), &s, NOW);
    assert_eq!(
        (changed(&d), d.guardrail),
        (Some(10_400), Some(GuardrailKind::PublishedRange))
    );
    let d = decide(&propose(6_000), &s, NOW);
    assert_eq!(
        (changed(&d), d.guardrail),
        (Some(9_000), Some(GuardrailKind::PublishedRange))
    );
    // A current price outside a newly published range is pulled inside even if that
    // is more than one step.
    let s = GuardState {
        current_minor: 15_000,
        max_step_pct: 1.0,
        ..s
    };
    let d = decide(&propose(15_000), &s, NOW);
    assert_eq!(
        (changed(&d), d.guardrail),
        (Some(10_400), Some(GuardrailKind::PublishedRange))
    );
    // Property-style sweep: whatever is proposed, the result stays in the range.
    for target in (0..40_000).step_by(997) {
        for current in [9_000, 9_500, 10_400] {
            let s = GuardState {
                current_minor: current,
                ..s.clone()
            };
            let d = decide(&propose(target), &s, NOW);
            let after = d.new_price().unwrap_or(current);
            assert!(
                range.contains(after),
                "{target} from {current} gave {after}"
            );
        }
    }
}

#[test]
fn min_interval_refuses_a_change_too_soon_and_allows_it_after() {
    let s = GuardState {
        last_change_at: Some(NOW - 299_999),
        ..state()
    };
    let d = decide(&propose(10_500), &s, NOW);
    assert_eq!(
        (changed(&d), d.guardrail),
        (None, Some(GuardrailKind::MinInterval))
    );
    let s = GuardState {
        last_change_at: Some(NOW - 300_000),
        ..s
    };
    assert_eq!(changed(&decide(&propose(10_500), &s, NOW)), Some(10_500));
}

#[test]
fn freeze_stops_everything() {
    let s = GuardState {
        frozen: true,
        ..state()
    };
    let d = decide(&propose(10_500), &s, NOW);
    assert_eq!(
        (changed(&d), d.guardrail),
        (None, Some(GuardrailKind::Freeze))
    );
    assert!(matches!(d.outcome, Outcome::NoChange { ref reason } if reason.contains("frozen")));
}

#[test]
fn an_override_holds_against_the_repricer() {
    let s = GuardState {
        override_minor: Some(12_000),
        ..state()
    };
    let d = decide(&propose(10_500), &s, NOW);
    assert_eq!(
        (changed(&d), d.guardrail),
        (None, Some(GuardrailKind::Override))
    );
}

#[test]
fn held_quotes_block_raises_but_not_cuts() {
    let s = GuardState {
        held_quotes: 3,
        ..state()
    };
    let d = decide(&propose(10_500), &s, NOW);
    assert_eq!(
        (changed(&d), d.guardrail),
        (None, Some(GuardrailKind::QuoteHeld))
    );
    assert_eq!(changed(&decide(&propose(9_500), &s, NOW)), Some(9_500));
    let s = GuardState {
        hold_blocks_raises: false,
        ..s
    };
    assert_eq!(changed(&decide(&propose(10_500), &s, NOW)), Some(10_500));
}

#[test]
fn a_proposal_at_the_current_price_is_an_explained_no_change() {
    let d = decide(&propose(10_000), &state(), NOW);
    assert_eq!(d.guardrail, None);
    assert!(matches!(d.outcome, Outcome::NoChange { .. }));
    let json = serde_json::to_value(&d).expect("serialises");
    assert_eq!(json["outcome"], "no_change");
}
