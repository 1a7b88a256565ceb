//! One point of the InfluxDB line protocol: measurement, tags, fields, and an event time
//! in milliseconds, and its encoding as one line (`precision=ms`).
//!
//! Encoding never fails on odd input: characters the protocol cannot carry are escaped
//! (commas, spaces, equals signs, backslashes) or replaced (line breaks become spaces),
//! tags with an empty value are left out (the protocol has no empty tag value), and
//! non-finite floats are left out (the protocol has no NaN). A point left with no field
//! cannot be written and is reported as [`PointError::NoFields`].

use std::fmt::Write as _;

/// The value of one field.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FieldValue {
    /// A signed integer (written with the `i` suffix).
    Int(i64),
    /// An unsigned integer (written as a signed one when it fits, else as a float).
    UInt(u64),
    /// A float; NaN and infinities are left out when encoding.
    Float(f64),
    /// A boolean.
    Bool(bool),
}

/// Why a point cannot be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PointError {
    /// The measurement name is empty.
    #[error("point has an empty measurement name")]
    EmptyMeasurement,
    /// No field with a writable value is left (all absent or non-finite).
    #[error("point of measurement `{measurement}` has no writable field")]
    NoFields {
        /// The measurement of the rejected point.
        measurement: String,
    },
}

/// One line-protocol point with a millisecond event time.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// The measurement name (stable: see [`crate::measurements`]).
    pub measurement: &'static str,
    /// Tag keys and values, in the order given (sorted when encoded).
    pub tags: Vec<(&'static str, String)>,
    /// Field keys and values.
    pub fields: Vec<(&'static str, FieldValue)>,
    /// Event time, milliseconds since the Unix epoch.
    pub timestamp_ms: i64,
}

impl Point {
    /// A point of `measurement` at `timestamp_ms` with no tags or fields yet.
    pub fn new(measurement: &'static str, timestamp_ms: i64) -> Self {
        Self {
            measurement,
            tags: Vec::new(),
            fields: Vec::new(),
            timestamp_ms,
        }
    }

    /// Adds a tag.
    pub fn tag(mut self, key: &'static str, value: impl Into<String>) -> Self {
        self.tags.push((key, value.into()));
        self
    }

    /// Adds a field.
    pub fn field(mut self, key: &'static str, value: FieldValue) -> Self {
        self.fields.push((key, value));
        self
    }

    /// Appends this point as one line (without the trailing newline) to `out`.
    ///
    /// On error `out` is left as it was.
    pub fn encode_into(&self, out: &mut String) -> Result<(), PointError> {
        if self.measurement.is_empty() {
            return Err(PointError::EmptyMeasurement);
        }
        let start = out.len();
        escape_into(out, self.measurement, Kind::Measurement);
        // Sorted tags are what InfluxDB recommends for write performance.
        let mut tags: Vec<&(&'static str, String)> =
            self.tags.iter().filter(|(_, v)| !v.is_empty()).collect();
        tags.sort_by(|a, b| a.0.cmp(b.0));
        for (key, value) in tags {
            out.push(',');
            escape_into(out, key, Kind::Key);
            out.push('=');
            escape_into(out, value, Kind::Key);
        }
        let mut separator = ' ';
        for (key, value) in &self.fields {
            if let FieldValue::Float(f) = value
                && !f.is_finite()
            {
                continue;
            }
            out.push(separator);
            separator = ',';
            escape_into(out, key, Kind::Key);
            out.push('=');
            write_value(out, *value);
        }
        if separator == ' ' {
            out.truncate(start);
            return Err(PointError::NoFields {
                measurement: self.measurement.to_string(),
            });
        }
        // Writing to a String cannot fail.
        let _ = write!(out, " {}", self.timestamp_ms);
        Ok(())
    }

    /// This point as one line (without the trailing newline).
    pub fn to_line(&self) -> Result<String, PointError> {
        let mut line = String::with_capacity(96);
        self.encode_into(&mut line)?;
        Ok(line)
    }
}

fn write_value(out: &mut String, value: FieldValue) {
    let _ = match value {
        FieldValue::Int(i) => write!(out, "{i}i"),
        FieldValue::UInt(u) => match i64::try_from(u) {
            Ok(i) => write!(out, "{i}i"),
            // Precision loss is better than a rejected batch for counters this large.
            Err(_) => write!(out, "{:?}", u as f64),
        },
        // `{:?}` keeps a decimal point (`1.0`), so the store never reads it as an integer.
        FieldValue::Float(f) => write!(out, "{f:?}"),
        FieldValue::Bool(b) => write!(out, "{b}"),
    };
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Measurement,
    Key,
}

fn escape_into(out: &mut String, text: &str, kind: Kind) {
    for c in text.chars() {
        match c {
            // A line break would end the line: it becomes an (escaped) space.
            '\n' | '\r' | '\t' => out.push_str("\\ "),
            ',' | ' ' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '=' if kind == Kind::Key => out.push_str("\\="),
            _ => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_sorted_tags_typed_fields_and_ms_time() {
        let p = Point::new("sales", 1_700_000_000_123)
            .tag("event", "e1")
            .tag("category", "floor")
            .field("tickets", FieldValue::Int(3))
            .field("rate_per_min", FieldValue::Float(2.0))
            .field("revenue_minor", FieldValue::UInt(1500));
        assert_eq!(
            p.to_line().unwrap(),
            "sales,category=floor,event=e1 tickets=3i,rate_per_min=2.0,revenue_minor=1500i 1700000000123"
        );
    }

    #[test]
    fn escapes_separators_and_drops_line_breaks() {
        let p = Point::new("price", 5)
            .tag("reason", "surge, high=demand\nnow")
            .field("price_minor", FieldValue::Int(1));
        assert_eq!(
            p.to_line().unwrap(),
            r"price,reason=surge\,\ high\=demand\ now price_minor=1i 5"
        );
    }

    #[test]
    fn skips_empty_tags_and_non_finite_floats() {
        let p = Point::new("signal", 7)
            .tag("zone", "")
            .field("value", FieldValue::Float(f64::NAN))
            .field("z", FieldValue::Float(1.5));
        assert_eq!(p.to_line().unwrap(), "signal z=1.5 7");
    }

    #[test]
    fn rejects_points_without_writable_fields_and_leaves_buffer_alone() {
        let mut out = String::from("keep");
        let p = Point::new("signal", 7).field("value", FieldValue::Float(f64::INFINITY));
        assert!(matches!(
            p.encode_into(&mut out),
            Err(PointError::NoFields { .. })
        ));
        assert_eq!(out, "keep");
        assert_eq!(
            Point::new("", 1)
                .field("x", FieldValue::Bool(true))
                .to_line(),
            Err(PointError::EmptyMeasurement)
        );
    }

    #[test]
    fn huge_unsigned_falls_back_to_float_and_backslash_is_escaped() {
        let p = Point::new("m", 1)
            .tag("t", "a\\")
            .field("f", FieldValue::UInt(u64::MAX));
        assert_eq!(p.to_line().unwrap(), r"m,t=a\\ f=1.8446744073709552e19 1");
    }
}
