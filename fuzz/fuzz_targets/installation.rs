//! Installation bodies (PUT) and patches (PATCH): decode, validate, apply. A valid
//! installation must survive its JSON form; a patch result is always valid.
//!
//! Input: a selector byte (`0` an installation body, `1` a patch applied to a fixed
//! valid installation), then the JSON body.

#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use sellout_notifier::Installation;
use sellout_notifier::installation::{PatchOp, apply_patch, validate};

static BASE: LazyLock<Option<Installation>> = LazyLock::new(|| {
    serde_json::from_str(
        r#"{"installationId":"inst-1","platform":"fcm","pushChannel":"fcm-token-abc:APA91b","locale":"fr-CA","tags":["sport:rugby","cc:UK"],"customerId":"cust-9"}"#,
    )
    .ok()
});

fn check_round_trip(inst: &Installation) {
    let json = serde_json::to_vec(inst).unwrap_or_default();
    match serde_json::from_slice::<Installation>(&json) {
        Ok(back) => assert_eq!(&back, inst, "an installation changed in its JSON form"),
        Err(e) => panic!("a valid installation does not decode from its own JSON: {e}"),
    }
}

fuzz_target!(|data: &[u8]| {
    let (selector, body) = sellout_fuzz::split_selector(data);
    if selector % 2 == 0 {
        let Ok(inst) = serde_json::from_slice::<Installation>(body) else {
            return;
        };
        if validate(&inst).is_ok() {
            check_round_trip(&inst);
            std::hint::black_box(inst.is_live(sellout_fuzz::NOW_MS));
        }
    } else {
        let Ok(ops) = serde_json::from_slice::<Vec<PatchOp>>(body) else {
            return;
        };
        let Some(base) = BASE.as_ref() else {
            return;
        };
        if let Ok(patched) = apply_patch(base, &ops) {
            assert!(
                validate(&patched).is_ok(),
                "a patch produced an invalid installation"
            );
            check_round_trip(&patched);
        }
    }
});
