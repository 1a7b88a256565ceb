//! The seed corpus: a few small valid inputs per target, built with the crates' own
//! encoders so they stay valid as formats move. `examples/seeds.rs` writes them.

use std::sync::Arc;

use sellout_ingest::deadletter::DeadLetter;
use sellout_ingest::decode::{
    encode_arrow_file, encode_arrow_stream, encode_parquet, to_structured,
};
use sellout_ingest::records::{
    AnyRecord, BeaconRecord, Channel, Proximity, QueueRecord, SaleKind, SaleRecord, SocialRecord,
    Topic, wire,
};
use sellout_ingest::validate::Reason;
use sellout_streams::log::{EmbeddedLog, FsyncMode, LogConfig};
use sellout_streams::{Batch, ManualClock, Transport};

use crate::selector_of;

const T0: i64 = 1_795_000_000_000;

/// Two records of each input topic.
pub fn records(topic: Topic) -> Vec<AnyRecord> {
    (0..2i64)
        .map(|i| match topic {
            Topic::Sales => AnyRecord::Sales(SaleRecord {
                kind: SaleKind::ALL[i as usize * 4],
                event_id: "ev-1".into(),
                category_id: "cat-a".into(),
                session_id: "s-1".into(),
                customer_id: (i == 0).then(|| "cust-9".into()),
                quantity: 2,
                unit_price_minor: 4500,
                currency: "EUR".into(),
                channel: Channel::ALL[i as usize],
                quote_id: (i == 1).then(|| "q-1".into()),
                time: T0 + i * 1000,
            }),
            Topic::Beacons => AnyRecord::Beacons(BeaconRecord {
                installation_id: "inst-1".into(),
                venue_id: "venue-1".into(),
                zone_id: "gate-a".into(),
                beacon_id: "b-1".into(),
                rssi: -60,
                proximity: Proximity::ALL[i as usize],
                time: T0 + i,
            }),
            Topic::Social => AnyRecord::Social(SocialRecord {
                source: "x".into(),
                text: "sold out? 🎟️".into(),
                language: "en".into(),
                author_reach: 100,
                event_ids: vec!["ev-1".into()],
                time: T0 - i,
            }),
            Topic::Queues => AnyRecord::Queues(QueueRecord {
                venue_id: "venue-1".into(),
                zone_id: "food-court".into(),
                stand_id: "stand-3".into(),
                length: 12 + i as u32,
                time: T0 + i,
            }),
        })
        .collect()
}

fn record_json(record: &AnyRecord) -> String {
    let value = match record {
        AnyRecord::Sales(r) => serde_json::to_string(r),
        AnyRecord::Beacons(r) => serde_json::to_string(r),
        AnyRecord::Social(r) => serde_json::to_string(r),
        AnyRecord::Queues(r) => serde_json::to_string(r),
    };
    value.unwrap_or_default()
}

fn event_json(record: &AnyRecord, i: usize) -> String {
    to_structured(record, &format!("id-{i}"), "/fuzz").to_string()
}

fn with_selector(selector: u8, body: impl AsRef<[u8]>) -> Vec<u8> {
    let mut out = vec![selector];
    out.extend_from_slice(body.as_ref());
    out
}

/// Seeds of every target, by target name.
pub fn all() -> Vec<(&'static str, Vec<Vec<u8>>)> {
    vec![
        ("decode_json", json()),
        ("decode_jsonl", jsonl()),
        ("decode_cloudevent", cloudevent()),
        ("decode_cloudevent_batch", cloudevent_batch()),
        ("decode_cloudevent_binary", cloudevent_binary()),
        ("decode_arrow_stream", columnar(encode_arrow_stream)),
        ("decode_arrow_file", columnar(encode_arrow_file)),
        ("decode_parquet", columnar(encode_parquet)),
        ("records_wire", records_wire()),
        ("log_segments", log_segments()),
        ("tag_expr", tag_expr()),
        ("template", template()),
        ("voucher_verify", voucher_verify()),
        ("quote_verify", quote_verify()),
        ("pricing_change", pricing_change()),
        ("installation", installation()),
        ("campaign_rules", campaign_rules()),
    ]
}

fn json() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for topic in Topic::ALL {
        let rs = records(topic);
        out.push(with_selector(selector_of(Some(topic)), record_json(&rs[0])));
        let array = format!("[{},{}]", record_json(&rs[0]), record_json(&rs[1]));
        out.push(with_selector(selector_of(Some(topic)), array));
        out.push(with_selector(0, event_json(&rs[1], 1)));
    }
    out
}

fn jsonl() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for topic in Topic::ALL {
        let rs = records(topic);
        let lines = format!("{}\n{}\n", record_json(&rs[0]), record_json(&rs[1]));
        out.push(with_selector(selector_of(Some(topic)), lines));
        let events = format!("{}\n\n{}", event_json(&rs[0], 0), event_json(&rs[1], 1));
        out.push(with_selector(0, events));
    }
    out
}

fn cloudevent() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for topic in Topic::ALL {
        let r = &records(topic)[0];
        out.push(with_selector(0, event_json(r, 0)));
        out.push(with_selector(selector_of(Some(topic)), event_json(r, 1)));
    }
    out
}

fn cloudevent_batch() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for topic in Topic::ALL {
        let rs = records(topic);
        let batch = format!("[{},{}]", event_json(&rs[0], 0), event_json(&rs[1], 1));
        out.push(with_selector(selector_of(Some(topic)), batch));
    }
    out
}

/// `name: value` header lines, an empty line, then the body.
fn cloudevent_binary() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for (i, topic) in Topic::ALL.into_iter().enumerate() {
        let rs = records(topic);
        let (data, content_type) = if i % 2 == 0 {
            (record_json(&rs[0]), "application/json")
        } else {
            (
                format!("{}\n{}\n", record_json(&rs[0]), record_json(&rs[1])),
                "application/x-ndjson",
            )
        };
        let head = format!(
            "ce-specversion: 1.0\nce-id: id-{i}\nce-source: /fuzz%20binary\nce-type: {}\n\
             ce-time: 2026-11-22T19:30:00Z\ncontent-type: {content_type}\n\n",
            rs[0].topic().cloudevent_type()
        );
        out.push([head.into_bytes(), data.into_bytes()].concat());
    }
    let structured = event_json(&records(Topic::Sales)[0], 9);
    out.push(format!("content-type: application/cloudevents+json\n\n{structured}").into_bytes());
    out
}

fn columnar(encode: fn(&[AnyRecord]) -> Vec<u8>) -> Vec<Vec<u8>> {
    Topic::ALL
        .into_iter()
        .map(|topic| with_selector(selector_of(Some(topic)), encode(&records(topic))))
        .collect()
}

/// Selector `0` is a dead letter; `1..=4` a record of that topic.
fn records_wire() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for topic in Topic::ALL {
        let mut bytes = Vec::new();
        wire::encode_any_into(&records(topic)[0], &mut bytes);
        out.push(with_selector(selector_of(Some(topic)), bytes));
    }
    let letter = DeadLetter::new(
        Some(Topic::Sales),
        "http",
        3,
        &Reason::Malformed {
            format: "JSON",
            detail: "expected value at line 1 column 1".into(),
        },
        T0,
        b"{not json".to_vec(),
    );
    let mut bytes = Vec::new();
    letter.encode_into(&mut bytes);
    out.push(with_selector(0, bytes));
    out
}

/// Segments written by the log itself, in the layout the log target reads (see
/// `fuzz_targets/log_segments.rs`): a flags byte, then parts separated by
/// [`crate::segments::PART_SEPARATOR`], each a base-offset byte and a segment's bytes.
fn log_segments() -> Vec<Vec<u8>> {
    let Some(segments) = written_segments() else {
        return Vec::new();
    };
    let sep = crate::segments::PART_SEPARATOR;
    let mut out = Vec::new();
    if let Some((_, first)) = segments.first() {
        out.push([&[0u8, 0][..], first].concat());
        // A torn tail: the last frame cut in half.
        let torn = &first[..first.len() - 7];
        out.push([&[0u8, 0][..], torn].concat());
    }
    if segments.len() >= 2 {
        let mut two = vec![1u8];
        for (i, (base, bytes)) in segments.iter().take(2).enumerate() {
            if i > 0 {
                two.extend_from_slice(sep);
            }
            two.push(u8::try_from(*base).unwrap_or(0));
            two.extend_from_slice(bytes);
        }
        out.push(two);
    }
    out
}

/// Writes a few batches with tiny segments and returns each segment's base and bytes.
fn written_segments() -> Option<Vec<(u64, Vec<u8>)>> {
    let dir = tempfile::tempdir().ok()?;
    let config = LogConfig {
        fsync: FsyncMode::Never,
        segment_bytes: 300,
        ..LogConfig::default()
    };
    {
        let log = EmbeddedLog::open(dir.path(), config, Arc::new(ManualClock::new(T0))).ok()?;
        for i in 0..4i64 {
            let mut batch = Batch::new();
            batch.push(b"ev-1", T0 + i, format!("value {i}").as_bytes());
            batch.push(b"", T0 - i, b"");
            log.append("t", &batch).ok()?;
        }
    }
    let mut segments = Vec::new();
    for entry in std::fs::read_dir(dir.path().join("topics").join("t")).ok()? {
        let path = entry.ok()?.path();
        let base = path.file_stem()?.to_str()?.parse::<u64>().ok()?;
        segments.push((base, std::fs::read(&path).ok()?));
    }
    segments.sort();
    Some(segments)
}

fn tag_expr() -> Vec<Vec<u8>> {
    [
        "sport:rugby",
        "(sport:rugby || sport:tennis) && (cc:UK || cc:US) && !fan:gold",
        "!!a || b && !(c && d)",
        "event:coldplay-2026-06-12 && !purchased:coldplay-2026-06-12",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect()
}

/// The template, a NUL, then `name=value` lines.
fn template() -> Vec<Vec<u8>> {
    [
        "Hi $(recipient.name): $(offer.percent)% off at $(offer.stand)\0recipient.name=Zoë\noffer.percent=20\noffer.stand=Stand 3",
        "$$5 off, $ and $(x)\0x=1",
        "plain text\0",
        "$(a)$(b)$(a)\0a=$(b)\nb=",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect()
}

fn voucher_verify() -> Vec<Vec<u8>> {
    crate::forgeries::issued_vouchers()
        .into_iter()
        .map(|claims| claims.code.into_bytes())
        .collect()
}

fn quote_verify() -> Vec<Vec<u8>> {
    crate::forgeries::signed_quotes()
        .iter()
        .filter_map(|q| serde_json::to_vec(q).ok())
        .collect()
}

/// Selector `0` a price change, `1` a policy update, `2` an audit entry.
fn pricing_change() -> Vec<Vec<u8>> {
    [
        (0u8, r#"{"id":7,"event_id":"ev-1","category_id":"cat-a","old_minor":9000,"new_minor":9900,"currency":"GBP","reason":"repricer","detail":"surge","model_version":"rule-based/1","guardrail":"max_step","time":1795000000000}"#),
        (1, r#"{"event_id":"ev-1","category_id":"cat-a","time":1795000000000,"change":{"limits":{"floor_minor":1000,"cap_minor":20000,"published":{"min_minor":1000,"max_minor":25000}}}}"#),
        (1, r#"{"event_id":"ev-1","category_id":"cat-a","time":1795000000000,"change":{"override":{"price_minor":null}}}"#),
        (2, r#"{"event_id":"ev-1","category_id":"cat-a","actor":"repricer","action":"reprice","decision":{"outcome":"applied","guardrail":null,"proposed_minor":9900,"proposal_reason":"surge","model_version":"rule-based/1","time":1795000000000},"change_id":7}"#),
    ]
    .iter()
    .map(|(selector, body)| with_selector(*selector, body))
    .collect()
}

/// Selector `0` an installation body (PUT), `1` a patch (PATCH).
fn installation() -> Vec<Vec<u8>> {
    [
        (0u8, r#"{"installationId":"inst-1","platform":"apns","pushChannel":"00fc13adff785122b4ad28809a3420982341241421348097878e577c991de8f0","locale":"fr-CA","tags":["sport:rugby","cc:UK"],"customerId":"cust-9","expirationTime":"2027-01-01T00:00:00Z"}"#),
        (0, r#"{"installationId":"inst-2","platform":"fcm","pushChannel":"fcm-token-abc:APA91b","locale":"en"}"#),
        (1, r#"[{"op":"add","path":"/tags","value":"fan:gold"},{"op":"remove","path":"/tags/cc:UK"},{"op":"replace","path":"/locale","value":"en-GB"}]"#),
        (1, r#"[{"op":"replace","path":"/expirationTime","value":"2030-05-01T10:00:00+02:00"},{"op":"remove","path":"/customerId"}]"#),
    ]
    .iter()
    .map(|(selector, body)| with_selector(*selector, body))
    .collect()
}

/// Selector `0` a campaigns TOML file, `1` one campaign as JSON.
fn campaign_rules() -> Vec<Vec<u8>> {
    let toml = include_str!("../../notifier/campaigns.example.toml");
    let mut out = vec![with_selector(0, toml)];
    if let Ok(campaigns) = sellout_notifier::campaign::CampaignsFile::parse_toml(toml) {
        for campaign in campaigns.iter().take(2) {
            if let Ok(json) = serde_json::to_vec(&campaign.spec) {
                out.push(with_selector(1, json));
            }
        }
    }
    out
}
