//! The JSON Patch subset Azure Notification Hubs accepts on installations.
//!
//! - `{"op":"add","path":"/tags","value":"tag"}` adds a tag (no-op when present);
//! - `{"op":"remove","path":"/tags/{tag}"}` removes one tag, `"/tags"` removes all;
//! - `{"op":"replace","path":"/pushChannel"|"/locale"|"/customerId"|"/expirationTime","value":..}`;
//!   `remove` on `/customerId` or `/expirationTime` clears it.
//!
//! The patched installation is validated as a whole afterwards.

use serde::Deserialize;

use super::{Installation, ValidationError, parse_rfc3339_ms, validate};

/// One patch operation, as sent. `Debug` omits the value (it may be a push token).
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatchOp {
    /// `add`, `remove` or `replace`.
    pub op: String,
    /// A JSON pointer such as `/tags` or `/tags/sport:rugby`.
    pub path: String,
    /// The value for `add` and `replace`.
    #[serde(default)]
    pub value: Option<serde_json::Value>,
}

impl std::fmt::Debug for PatchOp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PatchOp")
            .field("op", &self.op)
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

fn string_value(op: &PatchOp, field: &str) -> Result<String, ValidationError> {
    match &op.value {
        Some(serde_json::Value::String(s)) => Ok(s.clone()),
        _ => Err(ValidationError::new(
            field,
            format!("'{}' on '{}' needs a string value", op.op, op.path),
        )),
    }
}

/// Applies `ops` in order to a copy of `inst`, then validates the result.
pub fn apply_patch(inst: &Installation, ops: &[PatchOp]) -> Result<Installation, ValidationError> {
    if ops.len() > 100 {
        return Err(ValidationError::new("patch", "at most 100 operations"));
    }
    let mut out = inst.clone();
    for op in ops {
        match (op.op.as_str(), op.path.as_str()) {
            ("add", "/tags") => {
                let tag = string_value(op, "tags")?;
                if !out.tags.contains(&tag) {
                    out.tags.push(tag);
                }
            }
            ("remove", "/tags") => out.tags.clear(),
            ("remove", p) if p.starts_with("/tags/") => {
                let tag = &p["/tags/".len()..];
                out.tags.retain(|t| t != tag);
            }
            ("replace", "/pushChannel") => out.push_channel = string_value(op, "pushChannel")?,
            ("replace", "/locale") => out.locale = string_value(op, "locale")?,
            ("replace", "/customerId") => out.customer_id = Some(string_value(op, "customerId")?),
            ("remove", "/customerId") => out.customer_id = None,
            ("replace", "/expirationTime") => {
                let raw = string_value(op, "expirationTime")?;
                let ms = parse_rfc3339_ms(&raw).ok_or_else(|| {
                    ValidationError::new("expirationTime", "expected an RFC 3339 timestamp")
                })?;
                out.expiration_ms = Some(ms);
            }
            ("remove", "/expirationTime") => out.expiration_ms = None,
            ("add" | "remove" | "replace", path) => {
                return Err(ValidationError::new(
                    "path",
                    format!("'{}' is not supported on '{path}'", op.op),
                ));
            }
            (other, _) => {
                return Err(ValidationError::new(
                    "op",
                    format!("unknown op '{other}': expected add, remove or replace"),
                ));
            }
        }
    }
    validate(&out)?;
    Ok(out)
}
