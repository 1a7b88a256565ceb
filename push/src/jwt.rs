//! Compact JWS (JWT) signing and verification: ES256 for APNs provider tokens, RS256 for
//! Google OAuth2 assertions. `ring` does the cryptography; this module only frames it.
//!
//! Keys come as PEM-wrapped PKCS#8; they are parsed once into `ring` key pairs and never
//! printed (the wrappers' `Debug` shows nothing of them).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, KeyPair as _, RsaKeyPair};
use rustls_pki_types::PrivatePkcs8KeyDer;
use rustls_pki_types::pem::PemObject as _;

use crate::PushError;

/// base64url without padding, the JWS encoding.
pub fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes base64url without padding.
pub fn b64url_decode(s: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(s).ok()
}

/// The DER bytes of a `-----BEGIN PRIVATE KEY-----` (PKCS#8) PEM block.
pub fn pkcs8_from_pem(pem: &[u8]) -> Result<Vec<u8>, PushError> {
    PrivatePkcs8KeyDer::from_pem_slice(pem)
        .map(|k| k.secret_pkcs8_der().to_vec())
        .map_err(|e| PushError::Credentials(format!("expected a PKCS#8 PEM private key: {e}")))
}

/// An ES256 (P-256, SHA-256, fixed-size signature) signing key.
pub struct Es256Key {
    key: EcdsaKeyPair,
    rng: SystemRandom,
}

impl std::fmt::Debug for Es256Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Es256Key(<redacted>)")
    }
}

impl Es256Key {
    /// Parses a PEM PKCS#8 P-256 key (an APNs `.p8` file).
    pub fn from_pem(pem: &[u8]) -> Result<Self, PushError> {
        let der = pkcs8_from_pem(pem)?;
        let rng = SystemRandom::new();
        let key = EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &der, &rng)
            .map_err(|e| PushError::Credentials(format!("not a P-256 PKCS#8 key: {e}")))?;
        Ok(Self { key, rng })
    }

    /// The uncompressed public point, as the verifier registers it.
    pub fn public_key(&self) -> Vec<u8> {
        self.key.public_key().as_ref().to_vec()
    }

    /// `header.claims.signature`, where `signing_input` is `header.claims` already encoded.
    pub fn sign(&self, signing_input: &str) -> Result<String, PushError> {
        let sig = self
            .key
            .sign(&self.rng, signing_input.as_bytes())
            .map_err(|_| PushError::Signing("ES256 signing failed".into()))?;
        Ok(format!("{signing_input}.{}", b64url(sig.as_ref())))
    }
}

/// An RS256 (RSASSA-PKCS1-v1_5, SHA-256) signing key.
pub struct Rs256Key {
    key: RsaKeyPair,
    rng: SystemRandom,
}

impl std::fmt::Debug for Rs256Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Rs256Key(<redacted>)")
    }
}

impl Rs256Key {
    /// Parses a PEM PKCS#8 RSA key (a service account's `private_key`).
    pub fn from_pem(pem: &[u8]) -> Result<Self, PushError> {
        let der = pkcs8_from_pem(pem)?;
        let key = RsaKeyPair::from_pkcs8(&der)
            .map_err(|e| PushError::Credentials(format!("not an RSA PKCS#8 key: {e}")))?;
        Ok(Self {
            key,
            rng: SystemRandom::new(),
        })
    }

    /// The public key as DER `RSAPublicKey`, as the verifier registers it.
    pub fn public_key(&self) -> Vec<u8> {
        self.key.public().as_ref().to_vec()
    }

    /// `header.claims.signature`, where `signing_input` is `header.claims` already encoded.
    pub fn sign(&self, signing_input: &str) -> Result<String, PushError> {
        let mut sig = vec![0u8; self.key.public().modulus_len()];
        self.key
            .sign(
                &signature::RSA_PKCS1_SHA256,
                &self.rng,
                signing_input.as_bytes(),
                &mut sig,
            )
            .map_err(|_| PushError::Signing("RS256 signing failed".into()))?;
        Ok(format!("{signing_input}.{}", b64url(&sig)))
    }
}

/// Why a token did not verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JwtError {
    /// Not three base64url parts of JSON.
    Malformed,
    /// The `alg` is not the expected one.
    WrongAlgorithm,
    /// The signature does not match the key.
    BadSignature,
}

/// A decoded, signature-checked token.
#[derive(Debug, Clone)]
pub struct Verified {
    /// The JOSE header.
    pub header: serde_json::Value,
    /// The claims.
    pub claims: serde_json::Value,
}

/// Splits a compact JWS and decodes its header and claims without checking anything.
pub fn decode_unverified(token: &str) -> Result<Verified, JwtError> {
    let mut parts = token.split('.');
    let (Some(h), Some(c), Some(_s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwtError::Malformed);
    };
    let header = b64url_decode(h)
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or(JwtError::Malformed)?;
    let claims = b64url_decode(c)
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or(JwtError::Malformed)?;
    Ok(Verified { header, claims })
}

/// The algorithms the local endpoints verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alg {
    /// ECDSA P-256 SHA-256, fixed-size signature (APNs).
    Es256,
    /// RSASSA-PKCS1-v1_5 SHA-256 (Google service accounts).
    Rs256,
}

/// Verifies `token` against `public_key` (see [`Es256Key::public_key`], [`Rs256Key::public_key`]).
pub fn verify(token: &str, alg: Alg, public_key: &[u8]) -> Result<Verified, JwtError> {
    let decoded = decode_unverified(token)?;
    let want = match alg {
        Alg::Es256 => "ES256",
        Alg::Rs256 => "RS256",
    };
    if decoded.header.get("alg").and_then(|a| a.as_str()) != Some(want) {
        return Err(JwtError::WrongAlgorithm);
    }
    let (input, sig) = token.rsplit_once('.').ok_or(JwtError::Malformed)?;
    let sig = b64url_decode(sig).ok_or(JwtError::Malformed)?;
    let result = match alg {
        Alg::Es256 => {
            signature::UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, public_key)
                .verify(input.as_bytes(), &sig)
        }
        Alg::Rs256 => {
            signature::UnparsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, public_key)
                .verify(input.as_bytes(), &sig)
        }
    };
    result.map_err(|_| JwtError::BadSignature)?;
    Ok(decoded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn es256_signs_and_verifies() {
        let pem = crate::local::creds::apns_test_key_pem();
        let key = Es256Key::from_pem(pem.as_bytes()).unwrap();
        let input = format!(
            "{}.{}",
            b64url(br#"{"alg":"ES256","kid":"K"}"#),
            b64url(b"{}")
        );
        let tok = key.sign(&input).unwrap();
        let v = verify(&tok, Alg::Es256, &key.public_key()).unwrap();
        assert_eq!(v.header["kid"], "K");
        let other =
            Es256Key::from_pem(crate::local::creds::apns_test_key_pem().as_bytes()).unwrap();
        assert_eq!(
            verify(&tok, Alg::Es256, &other.public_key()).unwrap_err(),
            JwtError::BadSignature
        );
        assert_eq!(
            verify(&tok, Alg::Rs256, &key.public_key()).unwrap_err(),
            JwtError::WrongAlgorithm
        );
        assert_eq!(
            verify("a.b", Alg::Es256, &key.public_key()).unwrap_err(),
            JwtError::Malformed
        );
    }

    #[test]
    fn bad_pem_is_a_clear_error() {
        let err = Es256Key::from_pem(b"not a key").unwrap_err();
        assert!(err.to_string().contains("PKCS#8"), "{err}");
    }
}
