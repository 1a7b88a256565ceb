//! Every typed measurement writes exactly the names its catalogue entry lists.

use super::*;

fn s(v: &str) -> String {
    v.to_string()
}

fn samples() -> Vec<(MeasurementSpec, Point)> {
    fn one<T: IntoPoint>(v: T) -> (MeasurementSpec, Point) {
        (T::SPEC, v.to_point())
    }
    vec![
        one(Sales {
            event: s("e"),
            category: s("c"),
            time_ms: 1,
            tickets: 2,
            revenue_minor: 3,
            rate_per_min: 4.0,
        }),
        one(Carts {
            event: s("e"),
            time_ms: 1,
            adds_per_min: 2.0,
            abandoned: 3,
        }),
        one(Sold {
            event: s("e"),
            category: s("c"),
            time_ms: 1,
            sold_pct: 50.0,
            remaining: 3,
        }),
        one(Sellout {
            event: s("e"),
            category: s("c"),
            time_ms: 1,
            p_7d: 0.1,
            p_14d: 0.2,
            p_by_start: 0.3,
            expected_date_ms: Some(9),
        }),
        one(Price {
            event: s("e"),
            category: s("c"),
            reason: s("surge"),
            time_ms: 1,
            price_minor: 100,
        }),
        one(Signal {
            kind: s("surge"),
            event: s("e"),
            zone: Some(s("z")),
            time_ms: 1,
            value: 1.0,
            z: 2.0,
        }),
        one(ZoneOccupancy {
            venue: s("v"),
            zone: s("z"),
            time_ms: 1,
            occupancy: 3,
        }),
        one(Queue {
            venue: s("v"),
            stand: s("s"),
            time_ms: 1,
            length: 3,
            wait_minutes: 1.5,
        }),
        one(Notification {
            campaign: s("c"),
            platform: s("fcm"),
            outcome: s("delivered"),
            time_ms: 1,
            count: 3,
        }),
    ]
}

#[test]
fn every_struct_writes_exactly_its_catalogue_names() {
    let samples = samples();
    assert_eq!(samples.len(), CATALOGUE.len(), "one sample per measurement");
    for (spec, point) in samples {
        assert_eq!(point.measurement, spec.name);
        let tags: Vec<&str> = point.tags.iter().map(|t| t.0).collect();
        let fields: Vec<&str> = point.fields.iter().map(|f| f.0).collect();
        assert_eq!(tags, spec.tags, "tags of {}", spec.name);
        assert_eq!(fields, spec.fields, "fields of {}", spec.name);
        assert_eq!(point.timestamp_ms, 1);
        assert!(point.to_line().is_ok());
    }
}

#[test]
fn catalogue_names_are_unique_and_findable() {
    for (i, m) in CATALOGUE.iter().enumerate() {
        assert_eq!(spec(m.name), Some(m));
        assert!(CATALOGUE[i + 1..].iter().all(|o| o.name != m.name));
    }
    assert_eq!(spec("nope"), None);
}

#[test]
fn optional_values_are_left_out() {
    let p = Sellout {
        event: s("e"),
        category: s("c"),
        time_ms: 5,
        p_7d: 0.5,
        p_14d: 0.6,
        p_by_start: 0.7,
        expected_date_ms: None,
    }
    .to_point();
    assert_eq!(
        p.to_line().unwrap(),
        "sellout,category=c,event=e p_7d=0.5,p_14d=0.6,p_by_start=0.7 5"
    );
    let p = Signal {
        kind: s("slump"),
        event: s("e"),
        zone: None,
        time_ms: 5,
        value: 1.0,
        z: -2.5,
    }
    .to_point();
    assert_eq!(
        p.to_line().unwrap(),
        "signal,event=e,kind=slump value=1.0,z=-2.5 5"
    );
}
