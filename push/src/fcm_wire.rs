//! FCM HTTP v1 and Google OAuth2 wire types, shared by the sender and the local endpoint:
//! the service-account key file, the token response, Google's error body, and how an
//! answer is classified into an outcome.

use serde::{Deserialize, Serialize};

use crate::PushError;
use crate::delivery::Outcome;

/// The fields of a service-account key file the sender uses.
#[derive(Clone, Deserialize)]
pub struct ServiceAccount {
    /// Must be `service_account`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The Firebase project.
    pub project_id: String,
    /// PEM PKCS#8 RSA key. Secret: never logged.
    pub private_key: String,
    /// The account's email (`iss` of the assertion).
    pub client_email: String,
    /// Where assertions are exchanged for access tokens (`aud` of the assertion).
    pub token_uri: String,
}

impl std::fmt::Debug for ServiceAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceAccount")
            .field("project_id", &self.project_id)
            .field("client_email", &self.client_email)
            .field("token_uri", &self.token_uri)
            .field("private_key", &"<redacted>")
            .finish()
    }
}

impl ServiceAccount {
    /// Parses a key file, naming the first missing or wrong field (never echoing the key).
    pub fn parse(json: &str) -> Result<Self, PushError> {
        let account: Self = serde_json::from_str(json).map_err(|e| {
            PushError::Credentials(format!(
                "service account JSON at line {} column {}: {}",
                e.line(),
                e.column(),
                match e.classify() {
                    serde_json::error::Category::Data => "missing or mistyped field",
                    _ => "not valid JSON",
                }
            ))
        })?;
        if account.kind != "service_account" {
            return Err(PushError::Credentials(format!(
                "service account JSON: type is {:?}, expected \"service_account\"",
                account.kind
            )));
        }
        Ok(account)
    }
}

/// Google's OAuth2 token response.
#[derive(Debug, Serialize, Deserialize)]
pub struct TokenResponse {
    /// The bearer token.
    pub access_token: String,
    /// Lifetime in seconds.
    pub expires_in: i64,
    /// Always `Bearer`.
    pub token_type: String,
}

/// Google's error body: `{"error":{"code","message","status","details":[...]}}`.
#[derive(Debug, Serialize, Deserialize)]
pub struct FcmErrorBody {
    /// The error.
    pub error: FcmError,
}

/// The inner error object.
#[derive(Debug, Serialize, Deserialize)]
pub struct FcmError {
    /// The HTTP status again.
    pub code: u16,
    /// Human-readable text.
    pub message: String,
    /// The canonical status (`NOT_FOUND`, `INVALID_ARGUMENT`, ...).
    pub status: String,
    /// Typed details (`FcmError` with `errorCode`, `BadRequest` with `fieldViolations`).
    #[serde(default)]
    pub details: Vec<serde_json::Value>,
}

impl FcmError {
    /// The FCM `errorCode` from the details, if present.
    pub fn error_code(&self) -> Option<&str> {
        self.details
            .iter()
            .find_map(|d| d.get("errorCode").and_then(|c| c.as_str()))
    }

    /// Whether a field violation (or the message) blames the registration token.
    pub fn blames_token(&self) -> bool {
        let field_hit = self.details.iter().any(|d| {
            d.get("fieldViolations")
                .and_then(|v| v.as_array())
                .is_some_and(|v| {
                    v.iter()
                        .any(|f| f.get("field").and_then(|f| f.as_str()) == Some("message.token"))
                })
        });
        field_hit || self.message.contains("registration token")
    }
}

/// The reason string reported for an answer: the FCM error code, else the status.
pub fn error_reason(code: u16, body: Option<&FcmErrorBody>) -> String {
    match body {
        Some(b) => b
            .error
            .error_code()
            .unwrap_or(b.error.status.as_str())
            .to_owned(),
        None => format!("HTTP {code}"),
    }
}

/// The final outcome of an answer, or `None` when it should be retried (429, 5xx).
pub fn classify(code: u16, body: Option<&FcmErrorBody>) -> Option<Outcome> {
    let error_code = body.and_then(|b| b.error.error_code());
    match code {
        200 => Some(Outcome::Delivered),
        429 | 500..=599 => None,
        _ if error_code == Some("UNREGISTERED") => Some(Outcome::Pruned),
        404 if body.is_some_and(|b| b.error.status == "NOT_FOUND") => Some(Outcome::Pruned),
        400 if body.is_some_and(|b| b.error.blames_token()) => Some(Outcome::Pruned),
        _ => Some(Outcome::Failed),
    }
}

/// Builds Google's error body for `code`/`status`, with an FCM `errorCode` detail.
pub fn error_body(
    code: u16,
    status: &str,
    error_code: Option<&str>,
    message: &str,
) -> FcmErrorBody {
    let mut details = Vec::new();
    if let Some(ec) = error_code {
        details.push(serde_json::json!({
            "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError",
            "errorCode": ec,
        }));
    }
    FcmErrorBody {
        error: FcmError {
            code,
            message: message.to_owned(),
            status: status.to_owned(),
            details,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(v: serde_json::Value) -> FcmErrorBody {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn classifies_googles_answers() {
        let unregistered = error_body(404, "NOT_FOUND", Some("UNREGISTERED"), "gone");
        assert_eq!(classify(404, Some(&unregistered)), Some(Outcome::Pruned));
        assert_eq!(error_reason(404, Some(&unregistered)), "UNREGISTERED");
        let token_blamed = parsed(serde_json::json!({"error": {"code": 400, "message": "x",
            "status": "INVALID_ARGUMENT", "details": [{"fieldViolations": [{"field": "message.token"}]}]}}));
        assert_eq!(classify(400, Some(&token_blamed)), Some(Outcome::Pruned));
        let other_invalid = error_body(
            400,
            "INVALID_ARGUMENT",
            Some("INVALID_ARGUMENT"),
            "bad data",
        );
        assert_eq!(classify(400, Some(&other_invalid)), Some(Outcome::Failed));
        assert_eq!(classify(429, None), None);
        assert_eq!(classify(503, None), None);
        assert_eq!(classify(200, None), Some(Outcome::Delivered));
        assert_eq!(classify(403, None), Some(Outcome::Failed));
        assert_eq!(error_reason(502, None), "HTTP 502");
    }

    #[test]
    fn service_account_errors_name_the_problem_without_the_key() {
        let err = ServiceAccount::parse(r#"{"type":"user","project_id":"p","private_key":"SECRET","client_email":"e","token_uri":"t"}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("\"user\"") && !err.contains("SECRET"), "{err}");
        let err = ServiceAccount::parse("{\n\"type\": 5}")
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 2"), "{err}");
    }
}
