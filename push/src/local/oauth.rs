//! The local Google OAuth2 token endpoint: exchanges an RS256 JWT bearer assertion
//! (checked against the registered service account: signature, `aud`, scope, lifetime)
//! for an opaque access token, answering like Google, errors included.

use std::sync::PoisonError;
use std::sync::atomic::Ordering;

use super::fcm::State;
use super::server::{self, Resp};
use crate::fcm::FCM_SCOPE;
use crate::fcm_wire::TokenResponse;
use crate::jwt::{self, Alg};

fn oauth_error(error: &str, description: &str) -> Resp {
    let body = serde_json::json!({ "error": error, "error_description": description });
    server::json(400, body.to_string().into_bytes())
}

fn form_value<'a>(body: &'a str, key: &str) -> Option<&'a str> {
    body.split('&')
        .filter_map(|kv| kv.split_once('='))
        .find_map(|(k, v)| (k == key).then_some(v))
}

pub(crate) fn grant(s: &State, body: &[u8]) -> Resp {
    let body = String::from_utf8_lossy(body);
    if form_value(&body, "grant_type")
        != Some("urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer")
    {
        return oauth_error("unsupported_grant_type", "Invalid grant_type.");
    }
    let Some(assertion) = form_value(&body, "assertion") else {
        return oauth_error("invalid_request", "Missing required parameter: assertion");
    };
    let Ok(unverified) = jwt::decode_unverified(assertion) else {
        return oauth_error(
            "invalid_grant",
            "Invalid JWT: Token must be a short-lived token.",
        );
    };
    let claims = &unverified.claims;
    let Some(iss) = claims.get("iss").and_then(|v| v.as_str()) else {
        return oauth_error("invalid_grant", "Invalid JWT: missing iss.");
    };
    let key = s
        .accounts
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(iss)
        .map(|a| a.public_key.clone());
    let Some(key) = key else {
        return oauth_error("invalid_grant", "Invalid grant: account not found");
    };
    if jwt::verify(assertion, Alg::Rs256, &key).is_err() {
        return oauth_error("invalid_grant", "Invalid JWT Signature.");
    }
    let token_uri = s
        .token_uri
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    if claims.get("aud").and_then(|v| v.as_str()) != Some(token_uri.as_str()) {
        return oauth_error("invalid_grant", "Invalid JWT: audience does not match.");
    }
    let scopes = claims.get("scope").and_then(|v| v.as_str()).unwrap_or("");
    if !scopes.split(' ').any(|sc| sc == FCM_SCOPE) {
        return oauth_error(
            "invalid_scope",
            "Invalid OAuth scope or ID token audience provided.",
        );
    }
    let now_s = s.clock.now_ms().div_euclid(1000);
    let (Some(iat), Some(exp)) = (
        claims.get("iat").and_then(|v| v.as_i64()),
        claims.get("exp").and_then(|v| v.as_i64()),
    ) else {
        return oauth_error("invalid_grant", "Invalid JWT: missing iat or exp.");
    };
    if exp - iat > 3600 || exp <= now_s || iat > now_s + 300 {
        return oauth_error(
            "invalid_grant",
            "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.",
        );
    }
    let n = s.grants.fetch_add(1, Ordering::Relaxed) + 1;
    let access_token = format!("ya29.local-{n}-{:x}", ring_nonce());
    let expires_at = s.clock.now_ms() + s.cfg.token_lifetime_s * 1000;
    s.access
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(access_token.clone(), (iss.to_owned(), expires_at));
    let resp = TokenResponse {
        access_token,
        expires_in: s.cfg.token_lifetime_s,
        token_type: "Bearer".into(),
    };
    server::json(200, serde_json::to_vec(&resp).unwrap_or_default())
}

fn ring_nonce() -> u64 {
    let mut b = [0u8; 8];
    let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut b);
    u64::from_le_bytes(b)
}
