//! Campaign rules: an arbitrary campaigns TOML file, or one campaign as JSON (the
//! campaign API's body), parsed and compiled.
//!
//! Input: a selector byte (`0` TOML, `1` JSON), then the text.

#![no_main]

use libfuzzer_sys::fuzz_target;
use sellout_notifier::campaign::{Campaign, CampaignSpec, CampaignsFile};

fuzz_target!(|data: &[u8]| {
    let (selector, body) = sellout_fuzz::split_selector(data);
    if selector % 2 == 0 {
        let Ok(text) = std::str::from_utf8(body) else {
            return;
        };
        if let Ok(campaigns) = CampaignsFile::parse_toml(text) {
            for c in &campaigns {
                std::hint::black_box(c.validity_ms());
            }
        }
    } else if let Ok(spec) = CampaignSpec::from_json(body)
        && let Ok(campaign) = Campaign::compile(spec)
    {
        std::hint::black_box(campaign.validity_ms());
    }
});
