//! Test credentials for the local endpoints: a fresh APNs P-256 signing key, and a
//! service-account key file for the local FCM endpoint.
//!
//! `ring` cannot generate RSA keys, so the service account's RSA key is a committed
//! fixture (`tests/fixtures/test-service-account.json`), made for local tests only: it
//! is no Google key and is trusted by nothing but [`super::FcmServer`].

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};

const TEST_SERVICE_ACCOUNT: &str = include_str!("../../tests/fixtures/test-service-account.json");

/// A freshly generated P-256 key as a PEM PKCS#8 `.p8` file (empty if the RNG failed).
pub fn apns_test_key_pem() -> String {
    let rng = SystemRandom::new();
    let Ok(doc) = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng) else {
        return String::new();
    };
    pem_wrap("PRIVATE KEY", doc.as_ref())
}

/// The test service account's key file with `token_uri` pointed at `token_uri`.
pub fn test_service_account_json(token_uri: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(TEST_SERVICE_ACCOUNT) {
        Ok(mut v) => {
            v["token_uri"] = serde_json::Value::String(token_uri.to_owned());
            v.to_string()
        }
        Err(_) => String::new(),
    }
}

/// Wraps DER bytes in a PEM block with 64-column lines.
pub fn pem_wrap(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}
