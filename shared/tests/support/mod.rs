//! Helpers shared by the verifier test files: a verifier at a fixed instant trusting `test-key-a` (as a
//! PEM, or as whatever a JWKS server publishes), Clerk-shaped headers and claims around that instant,
//! and assertions that name the exact rejection reason.
#![allow(dead_code)]

use std::sync::Arc;

use gatehouse::authorizer::http_client;
use gatehouse::clock::FixedClock;
use gatehouse::error::Rejection;
use gatehouse::jwt::{ClerkVerifier, InvalidReason, Verified, VerifierSettings, VerifyError};
use gatehouse::keys::{IssuerKeys, KeyCacheOptions, KeySource};
use gatehouse_testkit::jwks_server::JwksServer;
use gatehouse_testkit::tokens::{DEV_ISSUER, key_a, session_claims, session_header};
use serde_json::Value;

/// The fixed instant every token is verified at.
pub const NOW: i64 = 1_750_000_000;

/// The contract's default clock skew.
pub const SKEW: u32 = 5;

pub const SUB: &str = "user_2abcDEF";

pub fn settings() -> VerifierSettings {
    VerifierSettings {
        issuer: DEV_ISSUER.to_owned(),
        authorized_parties: None,
        clock_skew_secs: SKEW,
        allow_pending_sessions: false,
    }
}

pub fn verifier_with(settings: VerifierSettings, source: KeySource) -> ClerkVerifier {
    let options = KeyCacheOptions::default();
    let keys = IssuerKeys::new(DEV_ISSUER, source, http_client(options).unwrap(), options);
    ClerkVerifier::new(settings, Arc::new(keys), Arc::new(FixedClock::at(NOW)))
}

/// Trusts `test-key-a` as a PEM: no network, any well-formed kid.
pub fn pem_verifier_with(settings: VerifierSettings) -> ClerkVerifier {
    verifier_with(settings, KeySource::from_pem(key_a().public_pem).unwrap())
}

pub fn pem_verifier() -> ClerkVerifier {
    pem_verifier_with(settings())
}

/// Trusts whatever `server` publishes, matched by kid.
pub fn jwks_verifier(server: &JwksServer) -> ClerkVerifier {
    verifier_with(
        settings(),
        KeySource::Jwks {
            url: server.jwks_url(),
            bearer: None,
        },
    )
}

/// Clerk's session header for `test-key-a`.
pub fn header() -> Value {
    session_header(key_a().kid)
}

/// Clerk v2 session claims around [`NOW`].
pub fn claims() -> Value {
    session_claims(DEV_ISSUER, SUB, NOW)
}

/// `claims()` without `member`.
pub fn claims_without(member: &str) -> Value {
    let mut c = claims();
    c.as_object_mut().unwrap().remove(member);
    c
}

/// `claims()` with `member` set to `value`.
pub fn claims_with(member: &str, value: Value) -> Value {
    let mut c = claims();
    c[member] = value;
    c
}

/// `header()` with `member` set to `value`.
pub fn header_with(member: &str, value: Value) -> Value {
    let mut h = header();
    h[member] = value;
    h
}

/// A token signed by the trusted key with these claims.
pub fn token_with(claims: &Value) -> String {
    key_a().mint(&header(), claims)
}

/// A fully valid token signed by the trusted key.
pub fn valid_token() -> String {
    token_with(&claims())
}

/// The reason `token` is rejected; panics when it is accepted or when no decision was possible.
pub async fn reason(verifier: &ClerkVerifier, token: &str) -> InvalidReason {
    match verifier.verify(token).await {
        Err((VerifyError::Invalid(reason), _)) => reason,
        Err((VerifyError::KeysUnavailable(error), _)) => {
            panic!("expected a rejection, keys were unavailable: {error}")
        }
        Ok(verified) => panic!(
            "expected a rejection, token was accepted: {:?}",
            verified.claims
        ),
    }
}

/// Asserts the exact reason, and that only expiry answers `token_expired`.
pub async fn assert_rejected(verifier: &ClerkVerifier, token: &str, expected: InvalidReason) {
    let got = reason(verifier, token).await;
    assert_eq!(
        got, expected,
        "token {token:?} rejected for the wrong reason"
    );
    let answer = if expected == InvalidReason::Expired {
        Rejection::TokenExpired
    } else {
        Rejection::InvalidToken
    };
    assert_eq!(got.rejection(), answer);
}

pub async fn assert_accepted(verifier: &ClerkVerifier, token: &str) -> Verified {
    match verifier.verify(token).await {
        Ok(verified) => verified,
        Err((error, kid)) => panic!("expected acceptance, got {error} (kid {kid:?})"),
    }
}
