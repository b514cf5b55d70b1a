#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! Adversarial Clerk session tokens against [`ClerkVerifier`] (README "Clerk session tokens").
//!
//! This file exists so that every known way to forge, confuse, smuggle or malform a JWT is pinned by
//! its own named test, asserting the precise [`InvalidReason`] (and that only expiry is told to the
//! caller as `token_expired`). Verification runs at a fixed instant ([`FixedClock`]) so no case races
//! the wall clock. Networkless cases trust `test-key-a` as a PEM (which accepts any well-formed kid by
//! design); cases where kid matching or key fetching matters use a real in-process [`JwksServer`],
//! whose fetch counter proves which requests did (not) happen.

mod support;
use support::*;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gatehouse::error::Rejection;
use gatehouse::jwt::{InvalidReason, SESSION_CATEGORY, VerifierSettings};
use gatehouse_testkit::jwks_server::JwksServer;
use gatehouse_testkit::tokens::{DEV_ISSUER, b64, key_a, key_b, session_header};
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// `header.payload` (base64url) for raw JSON texts.
fn signing_input(header: &str, payload: &str) -> String {
    format!("{}.{}", b64(header), b64(payload))
}

/// A valid header and claims whose header names `alg`, really signed with the trusted key under
/// `algorithm`: the signature is genuine, only the algorithm is one we refuse.
fn signed_by_trusted_key_as(algorithm: Algorithm, alg: &str) -> String {
    let input = signing_input(
        &header_with("alg", json!(alg)).to_string(),
        &claims().to_string(),
    );
    format!("{input}.{}", rsa_sign(&input, algorithm))
}

/// Signs `input` with `test-key-a`'s private key under any RSA-family algorithm.
fn rsa_sign(input: &str, alg: Algorithm) -> String {
    let key = EncodingKey::from_rsa_pem(key_a().private_pem.as_bytes()).unwrap();
    jsonwebtoken::crypto::sign(input.as_bytes(), &key, alg).unwrap()
}

/// The token's three segments, owned.
fn segments(token: &str) -> Vec<String> {
    let parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    assert_eq!(parts.len(), 3);
    parts
}

/// Inserts `stray` at the start, middle and end of each segment of a valid token in turn: always Malformed.
async fn assert_stray_rejected_in_every_segment(stray: &str) {
    let verifier = pem_verifier();
    let token = valid_token();
    for index in 0..3 {
        for position in 0..3 {
            let mut parts = segments(&token);
            let segment = parts[index].clone();
            let mid = segment.len() / 2;
            parts[index] = match position {
                0 => format!("{stray}{segment}"),
                1 => format!("{}{stray}{}", &segment[..mid], &segment[mid..]),
                _ => format!("{segment}{stray}"),
            };
            assert_rejected(&verifier, &parts.join("."), InvalidReason::Malformed).await;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Algorithm attacks
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn alg_none_with_empty_signature_is_malformed() {
    let input = signing_input(
        r#"{"alg":"none","typ":"JWT","kid":"test-key-a"}"#,
        &claims().to_string(),
    );
    // The empty third segment fails the shape check before the header is even read.
    assert_rejected(
        &pem_verifier(),
        &format!("{input}."),
        InvalidReason::Malformed,
    )
    .await;
}

#[tokio::test]
async fn alg_none_with_garbage_signature_is_rejected() {
    let input = signing_input(
        r#"{"alg":"none","typ":"JWT","kid":"test-key-a"}"#,
        &claims().to_string(),
    );
    assert_rejected(
        &pem_verifier(),
        &format!("{input}.Z2FyYmFnZQ"),
        InvalidReason::UnsupportedAlgorithm,
    )
    .await;
}

#[tokio::test]
async fn alg_none_spellings_are_rejected_even_with_a_valid_rs256_signature() {
    let verifier = pem_verifier();
    for alg in ["none", "None", "NONE", "nOnE", ""] {
        let input = signing_input(
            &header_with("alg", json!(alg)).to_string(),
            &claims().to_string(),
        );
        let token = format!("{input}.{}", rsa_sign(&input, Algorithm::RS256));
        assert_rejected(&verifier, &token, InvalidReason::UnsupportedAlgorithm).await;
    }
}

#[tokio::test]
async fn alg_missing_is_rejected() {
    let mut h = header();
    h.as_object_mut().unwrap().remove("alg");
    assert_rejected(
        &pem_verifier(),
        &key_a().mint(&h, &claims()),
        InvalidReason::UnsupportedAlgorithm,
    )
    .await;
}

#[tokio::test]
async fn alg_lowercase_rs256_is_rejected() {
    let token = key_a().mint(&header_with("alg", json!("rs256")), &claims());
    assert_rejected(&pem_verifier(), &token, InvalidReason::UnsupportedAlgorithm).await;
}

#[tokio::test]
async fn rs256_to_hs256_key_confusion_is_rejected() {
    // The classic confusion: HMAC-SHA256 keyed with the verifier's own public key PEM.
    let input = signing_input(
        &header_with("alg", json!("HS256")).to_string(),
        &claims().to_string(),
    );
    let secret = EncodingKey::from_secret(key_a().public_pem.as_bytes());
    let signature =
        jsonwebtoken::crypto::sign(input.as_bytes(), &secret, Algorithm::HS256).unwrap();
    assert_rejected(
        &pem_verifier(),
        &format!("{input}.{signature}"),
        InvalidReason::UnsupportedAlgorithm,
    )
    .await;
}

#[tokio::test]
async fn rs256_to_hs256_confusion_keyed_with_the_jwk_is_rejected() {
    let input = signing_input(
        &header_with("alg", json!("HS256")).to_string(),
        &claims().to_string(),
    );
    let jwk = key_a().jwk().to_string();
    let signature = jsonwebtoken::crypto::sign(
        input.as_bytes(),
        &EncodingKey::from_secret(jwk.as_bytes()),
        Algorithm::HS256,
    )
    .unwrap();
    assert_rejected(
        &pem_verifier(),
        &format!("{input}.{signature}"),
        InvalidReason::UnsupportedAlgorithm,
    )
    .await;
}

#[tokio::test]
async fn rs384_signed_by_the_trusted_key_is_rejected() {
    let token = signed_by_trusted_key_as(Algorithm::RS384, "RS384");
    assert_rejected(&pem_verifier(), &token, InvalidReason::UnsupportedAlgorithm).await;
}

#[tokio::test]
async fn rs512_signed_by_the_trusted_key_is_rejected() {
    let token = signed_by_trusted_key_as(Algorithm::RS512, "RS512");
    assert_rejected(&pem_verifier(), &token, InvalidReason::UnsupportedAlgorithm).await;
}

#[tokio::test]
async fn ps256_signed_by_the_trusted_key_is_rejected() {
    let token = signed_by_trusted_key_as(Algorithm::PS256, "PS256");
    assert_rejected(&pem_verifier(), &token, InvalidReason::UnsupportedAlgorithm).await;
}

#[tokio::test]
async fn es256_is_rejected() {
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
    let input = signing_input(
        &header_with("alg", json!("ES256")).to_string(),
        &claims().to_string(),
    );
    let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
    let signature =
        URL_SAFE_NO_PAD.encode(pair.sign(&SystemRandom::new(), input.as_bytes()).unwrap());
    assert_rejected(
        &pem_verifier(),
        &format!("{input}.{signature}"),
        InvalidReason::UnsupportedAlgorithm,
    )
    .await;
}

#[tokio::test]
async fn alg_as_a_non_string_is_a_bad_header() {
    let token = key_a().mint(&header_with("alg", json!(["RS256"])), &claims());
    assert_rejected(&pem_verifier(), &token, InvalidReason::BadHeader).await;
}

// ---------------------------------------------------------------------------------------------
// kid and key selection
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn unknown_kid_is_rejected() {
    let server = JwksServer::start(&[&key_a()]).await;
    let token = key_a().mint(&session_header("other"), &claims());
    assert_rejected(&jwks_verifier(&server), &token, InvalidReason::UnknownKid).await;
}

#[tokio::test]
async fn kid_must_match_exactly() {
    let server = JwksServer::start(&[&key_a()]).await;
    let verifier = jwks_verifier(&server);
    for kid in [
        "Test-Key-A",
        "TEST-KEY-A",
        "test-key",
        "test-key-a-",
        "test-key-a.",
        "xtest-key-a",
    ] {
        let token = key_a().mint(&session_header(kid), &claims());
        assert_rejected(&verifier, &token, InvalidReason::UnknownKid).await;
    }
    // The exact kid, same key: accepted.
    assert_accepted(&verifier, &valid_token()).await;
}

#[tokio::test]
async fn kid_with_padding_or_control_characters_is_a_bad_kid() {
    let server = JwksServer::start(&[&key_a()]).await;
    let verifier = jwks_verifier(&server);
    for kid in [
        "test-key-a ",
        " test-key-a",
        "test-key-a\u{0}",
        "test-key-a\n",
        "tést-key-a",
        "",
    ] {
        let token = key_a().mint(&session_header(kid), &claims());
        assert_rejected(&verifier, &token, InvalidReason::BadKid).await;
    }
    assert_eq!(
        server.fetches(),
        0,
        "a malformed kid must not trigger a fetch"
    );
}

#[tokio::test]
async fn kid_missing_is_a_bad_kid() {
    let mut h = header();
    h.as_object_mut().unwrap().remove("kid");
    assert_rejected(
        &pem_verifier(),
        &key_a().mint(&h, &claims()),
        InvalidReason::BadKid,
    )
    .await;
}

#[tokio::test]
async fn kid_longer_than_128_bytes_is_a_bad_kid() {
    let token = key_a().mint(&session_header(&"k".repeat(129)), &claims());
    assert_rejected(&pem_verifier(), &token, InvalidReason::BadKid).await;
}

#[tokio::test]
async fn kid_as_a_number_is_a_bad_header() {
    let token = key_a().mint(&header_with("kid", json!(7)), &claims());
    assert_rejected(&pem_verifier(), &token, InvalidReason::BadHeader).await;
}

#[tokio::test]
async fn kid_path_traversal_dotdot_slash_is_a_bad_kid() {
    let server = JwksServer::start(&[&key_a()]).await;
    let token = key_a().mint(&session_header("../../etc/passwd"), &claims());
    assert_rejected(&jwks_verifier(&server), &token, InvalidReason::BadKid).await;
    assert_eq!(server.fetches(), 0);
}

#[tokio::test]
async fn kid_path_traversal_percent_encoded_is_a_bad_kid() {
    let server = JwksServer::start(&[&key_a()]).await;
    let token = key_a().mint(&session_header("..%2F.."), &claims());
    assert_rejected(&jwks_verifier(&server), &token, InvalidReason::BadKid).await;
    assert_eq!(server.fetches(), 0);
}

#[tokio::test]
async fn kid_absolute_path_is_a_bad_kid() {
    let server = JwksServer::start(&[&key_a()]).await;
    let token = key_a().mint(&session_header("/etc/passwd"), &claims());
    assert_rejected(&jwks_verifier(&server), &token, InvalidReason::BadKid).await;
    assert_eq!(server.fetches(), 0);
}

#[tokio::test]
async fn kid_dotdot_without_slash_is_a_bad_kid() {
    let server = JwksServer::start(&[&key_a()]).await;
    for kid in ["..", "a..b", "...", "..\\..\\windows"] {
        let token = key_a().mint(&session_header(kid), &claims());
        assert_rejected(&jwks_verifier(&server), &token, InvalidReason::BadKid).await;
    }
    assert_eq!(server.fetches(), 0);
}

#[tokio::test]
async fn wrong_key_under_the_trusted_kid_is_a_bad_signature() {
    let server = JwksServer::start(&[&key_a()]).await;
    let token = key_b().mint(&session_header("test-key-a"), &claims());
    assert_rejected(&jwks_verifier(&server), &token, InvalidReason::BadSignature).await;
}

#[tokio::test]
async fn wrong_key_with_a_pem_source_is_a_bad_signature() {
    let token = key_b().mint(&session_header("test-key-a"), &claims());
    assert_rejected(&pem_verifier(), &token, InvalidReason::BadSignature).await;
}

#[tokio::test]
async fn kid_selects_the_key_so_cross_signed_tokens_fail() {
    // Both keys are trusted, but a token must verify under the key its own kid names.
    let server = JwksServer::start(&[&key_a(), &key_b()]).await;
    let verifier = jwks_verifier(&server);
    let token = key_a().mint(&session_header("test-key-b"), &claims());
    assert_rejected(&verifier, &token, InvalidReason::BadSignature).await;
    assert_accepted(
        &verifier,
        &key_b().mint(&session_header("test-key-b"), &claims()),
    )
    .await;
}

// ---------------------------------------------------------------------------------------------
// Signature integrity
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn tampered_payload_is_a_bad_signature() {
    let mut parts = segments(&valid_token());
    parts[1] = b64(&claims_with("sub", json!("user_admin")).to_string());
    assert_rejected(
        &pem_verifier(),
        &parts.join("."),
        InvalidReason::BadSignature,
    )
    .await;
}

#[tokio::test]
async fn tampered_header_is_a_bad_signature() {
    let mut parts = segments(&valid_token());
    parts[0] = b64(&session_header("test-key-b").to_string());
    assert_rejected(
        &pem_verifier(),
        &parts.join("."),
        InvalidReason::BadSignature,
    )
    .await;
}

#[tokio::test]
async fn stripped_signature_with_trailing_dot_is_malformed() {
    let parts = segments(&valid_token());
    assert_rejected(
        &pem_verifier(),
        &format!("{}.{}.", parts[0], parts[1]),
        InvalidReason::Malformed,
    )
    .await;
}

#[tokio::test]
async fn stripped_signature_without_trailing_dot_is_malformed() {
    let parts = segments(&valid_token());
    assert_rejected(
        &pem_verifier(),
        &format!("{}.{}", parts[0], parts[1]),
        InvalidReason::Malformed,
    )
    .await;
}

#[tokio::test]
async fn truncated_signature_is_a_bad_signature() {
    let mut parts = segments(&valid_token());
    let shorter = parts[2].len() - 4;
    parts[2].truncate(shorter);
    assert_rejected(
        &pem_verifier(),
        &parts.join("."),
        InvalidReason::BadSignature,
    )
    .await;
}

#[tokio::test]
async fn signature_with_appended_bytes_is_a_bad_signature() {
    let mut parts = segments(&valid_token());
    parts[2].push_str("AAAA");
    assert_rejected(
        &pem_verifier(),
        &parts.join("."),
        InvalidReason::BadSignature,
    )
    .await;
}

#[tokio::test]
async fn non_canonical_base64_signature_is_rejected() {
    // A 256-byte signature is 342 base64url characters whose last one carries 4 unused bits; setting
    // one of them decodes (leniently) to the same bytes. Strict decoding must refuse the variant.
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut parts = segments(&valid_token());
    assert_eq!(parts[2].len(), 342, "test assumes a 2048-bit key");
    let last = *parts[2].as_bytes().last().unwrap();
    let index = ALPHABET.iter().position(|&c| c == last).unwrap();
    assert_eq!(
        index & 0x0f,
        0,
        "canonical encoding leaves the low 4 bits clear"
    );
    parts[2].pop();
    parts[2].push(char::from(ALPHABET[index | 1]));
    assert_rejected(
        &pem_verifier(),
        &parts.join("."),
        InvalidReason::BadSignature,
    )
    .await;
}

#[tokio::test]
async fn non_canonical_base64_header_is_malformed() {
    // Find a header whose encoding ends in a partial quantum, then set an unused trailing bit.
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut h = header();
    let mut pad = String::new();
    while b64(&h.to_string()).len().is_multiple_of(4) {
        pad.push('x');
        h["x"] = json!(pad);
    }
    let mut parts = segments(&key_a().mint(&h, &claims()));
    let last = *parts[0].as_bytes().last().unwrap();
    let index = ALPHABET.iter().position(|&c| c == last).unwrap();
    parts[0].pop();
    parts[0].push(char::from(ALPHABET[index | 1]));
    assert_rejected(&pem_verifier(), &parts.join("."), InvalidReason::Malformed).await;
}

#[tokio::test]
async fn bad_signature_hides_expiry() {
    // A forged token that is also expired must not be answered token_expired (no oracle before the signature).
    let token = key_b().mint(&header(), &claims_with("exp", json!(NOW - 3600)));
    assert_rejected(&pem_verifier(), &token, InvalidReason::BadSignature).await;
}

// ---------------------------------------------------------------------------------------------
// Time claims
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn expired_beyond_skew_is_expired() {
    let token = token_with(&claims_with("exp", json!(NOW - i64::from(SKEW) - 1)));
    assert_rejected(&pem_verifier(), &token, InvalidReason::Expired).await;
}

#[tokio::test]
async fn expired_within_skew_is_accepted() {
    let token = token_with(&claims_with("exp", json!(NOW - i64::from(SKEW) + 1)));
    assert_accepted(&pem_verifier(), &token).await;
}

#[tokio::test]
async fn expired_long_ago_is_expired() {
    let token = token_with(&claims_with("exp", json!(0)));
    assert_rejected(&pem_verifier(), &token, InvalidReason::Expired).await;
}

#[tokio::test]
async fn exp_at_i64_min_is_expired_without_overflow() {
    let token = token_with(&claims_with("exp", json!(i64::MIN)));
    assert_rejected(&pem_verifier(), &token, InvalidReason::Expired).await;
}

#[tokio::test]
async fn nbf_in_the_future_beyond_skew_is_not_yet_valid() {
    let token = token_with(&claims_with("nbf", json!(NOW + i64::from(SKEW) + 1)));
    assert_rejected(&pem_verifier(), &token, InvalidReason::NotYetValid).await;
}

#[tokio::test]
async fn nbf_far_future_is_not_yet_valid_without_overflow() {
    let token = token_with(&claims_with("nbf", json!(i64::MAX)));
    assert_rejected(&pem_verifier(), &token, InvalidReason::NotYetValid).await;
}

#[tokio::test]
async fn iat_in_the_future_beyond_skew_is_issued_in_future() {
    let token = token_with(&claims_with("iat", json!(NOW + i64::from(SKEW) + 1)));
    assert_rejected(&pem_verifier(), &token, InvalidReason::IssuedInFuture).await;
}

#[tokio::test]
async fn missing_exp_is_missing_expiry() {
    assert_rejected(
        &pem_verifier(),
        &token_with(&claims_without("exp")),
        InvalidReason::MissingExpiry,
    )
    .await;
}

#[tokio::test]
async fn exp_as_string_is_bad_claims() {
    let token = token_with(&claims_with("exp", json!((NOW + 60).to_string())));
    assert_rejected(&pem_verifier(), &token, InvalidReason::BadClaims).await;
}

#[tokio::test]
async fn exp_as_null_is_bad_claims() {
    assert_rejected(
        &pem_verifier(),
        &token_with(&claims_with("exp", Value::Null)),
        InvalidReason::BadClaims,
    )
    .await;
}

#[tokio::test]
async fn exp_beyond_i64_is_bad_claims() {
    let payload = claims().to_string().replace(
        &format!("\"exp\":{}", NOW + 60),
        "\"exp\":18446744073709551615",
    );
    assert_rejected(
        &pem_verifier(),
        &key_a().mint_raw(&header().to_string(), &payload),
        InvalidReason::BadClaims,
    )
    .await;
}

#[tokio::test]
async fn exp_as_huge_float_is_bad_claims() {
    let payload = claims()
        .to_string()
        .replace(&format!("\"exp\":{}", NOW + 60), "\"exp\":1e300");
    assert_rejected(
        &pem_verifier(),
        &key_a().mint_raw(&header().to_string(), &payload),
        InvalidReason::BadClaims,
    )
    .await;
}

#[tokio::test]
async fn nbf_as_string_is_bad_claims() {
    let token = token_with(&claims_with("nbf", json!((NOW - 10).to_string())));
    assert_rejected(&pem_verifier(), &token, InvalidReason::BadClaims).await;
}

#[tokio::test]
async fn iat_as_string_is_bad_claims() {
    let token = token_with(&claims_with("iat", json!((NOW - 10).to_string())));
    assert_rejected(&pem_verifier(), &token, InvalidReason::BadClaims).await;
}

// ---------------------------------------------------------------------------------------------
// Issuer, subject, authorized party, session status
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn wrong_issuer_is_rejected() {
    let token = token_with(&claims_with(
        "iss",
        json!("https://evil.clerk.accounts.dev"),
    ));
    assert_rejected(&pem_verifier(), &token, InvalidReason::WrongIssuer).await;
}

#[tokio::test]
async fn issuer_with_trailing_slash_is_wrong_issuer() {
    let token = token_with(&claims_with("iss", json!(format!("{DEV_ISSUER}/"))));
    assert_rejected(&pem_verifier(), &token, InvalidReason::WrongIssuer).await;
}

#[tokio::test]
async fn issuer_in_another_case_is_wrong_issuer() {
    let token = token_with(&claims_with("iss", json!(DEV_ISSUER.to_uppercase())));
    assert_rejected(&pem_verifier(), &token, InvalidReason::WrongIssuer).await;
}

#[tokio::test]
async fn missing_issuer_is_wrong_issuer() {
    assert_rejected(
        &pem_verifier(),
        &token_with(&claims_without("iss")),
        InvalidReason::WrongIssuer,
    )
    .await;
}

#[tokio::test]
async fn missing_sub_is_bad_subject() {
    assert_rejected(
        &pem_verifier(),
        &token_with(&claims_without("sub")),
        InvalidReason::BadSubject,
    )
    .await;
}

#[tokio::test]
async fn sub_as_a_number_is_rejected_as_invalid_token() {
    // Holds today (reason BadClaims) and after the fix tracked by the ignored test below (BadSubject).
    let got = reason(
        &pem_verifier(),
        &token_with(&claims_with("sub", json!(12345))),
    )
    .await;
    assert!(
        matches!(got, InvalidReason::BadSubject | InvalidReason::BadClaims),
        "got {got:?}"
    );
    assert_eq!(got.rejection(), Rejection::InvalidToken);
}

#[tokio::test]
async fn sub_as_a_number_is_bad_subject() {
    assert_rejected(
        &pem_verifier(),
        &token_with(&claims_with("sub", json!(12345))),
        InvalidReason::BadSubject,
    )
    .await;
}

#[tokio::test]
async fn sub_empty_or_with_path_characters_is_bad_subject() {
    let verifier = pem_verifier();
    for sub in ["", "user/../admin", "user 1", "user%2F1", "üser"] {
        assert_rejected(
            &verifier,
            &token_with(&claims_with("sub", json!(sub))),
            InvalidReason::BadSubject,
        )
        .await;
    }
    let long = "u".repeat(129);
    assert_rejected(
        &verifier,
        &token_with(&claims_with("sub", json!(long))),
        InvalidReason::BadSubject,
    )
    .await;
}

fn party_settings() -> VerifierSettings {
    VerifierSettings {
        authorized_parties: Some(vec!["https://app.example.com".to_owned()]),
        ..settings()
    }
}

#[tokio::test]
async fn missing_azp_when_parties_are_set_is_rejected() {
    let token = token_with(&claims_without("azp"));
    assert_rejected(
        &pem_verifier_with(party_settings()),
        &token,
        InvalidReason::MissingAuthorizedParty,
    )
    .await;
}

#[tokio::test]
async fn wrong_azp_is_rejected() {
    let verifier = pem_verifier_with(party_settings());
    for azp in [
        "https://evil.example.com",
        "https://app.example.com/",
        "HTTPS://APP.EXAMPLE.COM",
        "https://app.example.com.evil.io",
    ] {
        let token = token_with(&claims_with("azp", json!(azp)));
        assert_rejected(&verifier, &token, InvalidReason::UnauthorizedParty).await;
    }
}

#[tokio::test]
async fn listed_azp_is_accepted_when_parties_are_set() {
    let verified = assert_accepted(&pem_verifier_with(party_settings()), &valid_token()).await;
    assert_eq!(
        verified.claims.azp.as_deref(),
        Some("https://app.example.com")
    );
}

#[tokio::test]
async fn azp_not_required_when_parties_unset() {
    let verified = assert_accepted(&pem_verifier(), &token_with(&claims_without("azp"))).await;
    assert_eq!(verified.claims.azp, None);
}

#[tokio::test]
async fn pending_session_is_rejected_by_default() {
    let token = token_with(&claims_with("sts", json!("pending")));
    assert_rejected(&pem_verifier(), &token, InvalidReason::PendingSession).await;
}

#[tokio::test]
async fn pending_session_is_accepted_when_allowed() {
    let verifier = pem_verifier_with(VerifierSettings {
        allow_pending_sessions: true,
        ..settings()
    });
    let verified = assert_accepted(
        &verifier,
        &token_with(&claims_with("sts", json!("pending"))),
    )
    .await;
    assert_eq!(verified.claims.sts.as_deref(), Some("pending"));
}

#[tokio::test]
async fn unknown_session_status_is_rejected() {
    let token = token_with(&claims_with("sts", json!("revoked")));
    assert_rejected(&pem_verifier(), &token, InvalidReason::BadSessionStatus).await;
}

// ---------------------------------------------------------------------------------------------
// Header rules: typ, cat, crit, key-carrying headers
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn typ_at_jwt_is_never_a_session_token() {
    // An OAuth access token's typ: the session path refuses it (see oauth_attacks.rs).
    let mut header = header_with("typ", json!("at+jwt"));
    header.as_object_mut().unwrap().remove("cat");
    let token = key_a().mint(&header, &claims());
    assert_rejected(&pem_verifier(), &token, InvalidReason::AccessTokenAsSession).await;
    // With the session category too, the header contradicts itself.
    let token = key_a().mint(&header_with("typ", json!("at+jwt")), &claims());
    assert_rejected(&pem_verifier(), &token, InvalidReason::SessionAsAccessToken).await;
}

#[tokio::test]
async fn typ_lowercase_jwt_is_rejected() {
    let token = key_a().mint(&header_with("typ", json!("jwt")), &claims());
    assert_rejected(&pem_verifier(), &token, InvalidReason::BadType).await;
}

#[tokio::test]
async fn m2m_category_is_rejected() {
    let token = key_a().mint(&header_with("cat", json!("cl_B7d4PD333AAA")), &claims());
    assert_rejected(&pem_verifier(), &token, InvalidReason::NotSessionCategory).await;
}

#[tokio::test]
async fn jwt_template_category_is_rejected() {
    let token = key_a().mint(&header_with("cat", json!("cl_B7d4PD222AAA")), &claims());
    assert_rejected(&pem_verifier(), &token, InvalidReason::NotSessionCategory).await;
}

#[tokio::test]
async fn session_category_is_accepted() {
    let token = key_a().mint(&header_with("cat", json!(SESSION_CATEGORY)), &claims());
    assert_accepted(&pem_verifier(), &token).await;
}

#[tokio::test]
async fn crit_header_is_rejected() {
    let token = key_a().mint(&header_with("crit", json!(["exp"])), &claims());
    assert_rejected(&pem_verifier(), &token, InvalidReason::CriticalHeader).await;
}

#[tokio::test]
async fn empty_or_null_crit_header_is_still_rejected() {
    let verifier = pem_verifier();
    for crit in [json!([]), Value::Null] {
        let token = key_a().mint(&header_with("crit", crit), &claims());
        assert_rejected(&verifier, &token, InvalidReason::CriticalHeader).await;
    }
}

/// A token naming an attacker-hosted (or embedded) key in `member` is judged only against the trusted
/// JWKS: signed by the attacker's key it is rejected, and the attacker's server is never contacted.
async fn assert_key_header_not_honoured(
    member: &str,
    attacker_value: impl Fn(&JwksServer) -> Value,
) {
    let trusted = JwksServer::start(&[&key_a()]).await;
    let attacker = JwksServer::start(&[&key_b()]).await;
    let verifier = jwks_verifier(&trusted);

    let mut forged_header = session_header(key_b().kid);
    forged_header[member] = attacker_value(&attacker);
    assert_rejected(
        &verifier,
        &key_b().mint(&forged_header, &claims()),
        InvalidReason::UnknownKid,
    )
    .await;

    let mut spoofed_header = session_header(key_a().kid);
    spoofed_header[member] = attacker_value(&attacker);
    assert_rejected(
        &verifier,
        &key_b().mint(&spoofed_header, &claims()),
        InvalidReason::BadSignature,
    )
    .await;

    assert_eq!(
        attacker.fetches(),
        0,
        "the {member} header made the verifier fetch from the attacker"
    );
    assert_eq!(trusted.fetches(), 1);
}

#[tokio::test]
async fn jku_header_is_not_honoured() {
    assert_key_header_not_honoured("jku", |attacker| json!(attacker.jwks_url())).await;
}

#[tokio::test]
async fn x5u_header_is_not_honoured() {
    assert_key_header_not_honoured("x5u", |attacker| json!(attacker.jwks_url())).await;
}

#[tokio::test]
async fn embedded_jwk_header_is_not_honoured() {
    assert_key_header_not_honoured("jwk", |_| key_b().jwk()).await;
}

#[tokio::test]
async fn trusted_token_with_key_headers_is_accepted_and_they_are_ignored() {
    let trusted = JwksServer::start(&[&key_a()]).await;
    let attacker = JwksServer::start(&[&key_b()]).await;
    let verifier = jwks_verifier(&trusted);
    let mut h = header_with("jku", json!(attacker.jwks_url()));
    h["x5u"] = json!(attacker.jwks_url());
    h["jwk"] = key_b().jwk();
    assert_accepted(&verifier, &key_a().mint(&h, &claims())).await;
    assert_eq!((attacker.fetches(), trusted.fetches()), (0, 1));
}

// ---------------------------------------------------------------------------------------------
// Duplicate JSON members
// ---------------------------------------------------------------------------------------------

fn raw_claims(members: &str) -> String {
    format!(
        r#"{{"iss":"{DEV_ISSUER}","exp":{},"iat":{},"nbf":{},{members}}}"#,
        NOW + 60,
        NOW - 10,
        NOW - 10
    )
}

#[tokio::test]
async fn duplicate_sub_is_rejected() {
    let payload = raw_claims(r#""sub":"user_victim","sub":"user_attacker""#);
    let token = key_a().mint_raw(&header().to_string(), &payload);
    assert_rejected(&pem_verifier(), &token, InvalidReason::DuplicateMember).await;
}

#[tokio::test]
async fn duplicate_sub_spelled_with_an_escape_is_rejected() {
    let payload = raw_claims(r#""sub":"user_victim","s\u0075b":"user_attacker""#);
    let token = key_a().mint_raw(&header().to_string(), &payload);
    assert_rejected(&pem_verifier(), &token, InvalidReason::DuplicateMember).await;
}

#[tokio::test]
async fn duplicate_exp_is_rejected() {
    let payload = raw_claims(&format!(r#""sub":"{SUB}","exp":{}"#, NOW + 999_999));
    let token = key_a().mint_raw(&header().to_string(), &payload);
    assert_rejected(&pem_verifier(), &token, InvalidReason::DuplicateMember).await;
}

#[tokio::test]
async fn duplicate_unknown_claim_is_rejected() {
    let payload = raw_claims(&format!(r#""sub":"{SUB}","fea":"a","fea":"b""#));
    let token = key_a().mint_raw(&header().to_string(), &payload);
    assert_rejected(&pem_verifier(), &token, InvalidReason::DuplicateMember).await;
}

#[tokio::test]
async fn duplicate_header_alg_is_rejected() {
    let raw = r#"{"alg":"RS256","typ":"JWT","kid":"test-key-a","alg":"none"}"#;
    let token = key_a().mint_raw(raw, &claims().to_string());
    assert_rejected(&pem_verifier(), &token, InvalidReason::DuplicateMember).await;
}

#[tokio::test]
async fn duplicate_header_kid_is_rejected() {
    let raw = r#"{"alg":"RS256","typ":"JWT","kid":"test-key-a","k\u0069d":"test-key-b"}"#;
    let token = key_a().mint_raw(raw, &claims().to_string());
    assert_rejected(&pem_verifier(), &token, InvalidReason::DuplicateMember).await;
}

#[tokio::test]
async fn duplicate_unknown_header_member_is_rejected() {
    let raw = r#"{"alg":"RS256","typ":"JWT","kid":"test-key-a","x":1,"x":2}"#;
    let token = key_a().mint_raw(raw, &claims().to_string());
    assert_rejected(&pem_verifier(), &token, InvalidReason::DuplicateMember).await;
}

// ---------------------------------------------------------------------------------------------
// Encoding and shape
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn base64_padding_in_any_segment_is_malformed() {
    let verifier = pem_verifier();
    let token = valid_token();
    for index in 0..3 {
        for padding in ["=", "=="] {
            let mut parts = segments(&token);
            parts[index].push_str(padding);
            assert_rejected(&verifier, &parts.join("."), InvalidReason::Malformed).await;
        }
    }
}

#[tokio::test]
async fn space_in_any_segment_is_malformed() {
    assert_stray_rejected_in_every_segment(" ").await;
}

#[tokio::test]
async fn plus_in_any_segment_is_malformed() {
    assert_stray_rejected_in_every_segment("+").await;
}

#[tokio::test]
async fn slash_in_any_segment_is_malformed() {
    assert_stray_rejected_in_every_segment("/").await;
}

#[tokio::test]
async fn percent_in_any_segment_is_malformed() {
    assert_stray_rejected_in_every_segment("%").await;
}

#[tokio::test]
async fn newline_in_any_segment_is_malformed() {
    assert_stray_rejected_in_every_segment("\n").await;
}

#[tokio::test]
async fn other_stray_bytes_in_any_segment_are_malformed() {
    for stray in ["\r", "\t", "\0", "é", "\u{feff}"] {
        assert_stray_rejected_in_every_segment(stray).await;
    }
}

#[tokio::test]
async fn surrounding_whitespace_is_malformed() {
    let verifier = pem_verifier();
    for token in [
        format!(" {}", valid_token()),
        format!("{}\n", valid_token()),
    ] {
        assert_rejected(&verifier, &token, InvalidReason::Malformed).await;
    }
}

#[tokio::test]
async fn two_segments_are_malformed() {
    let parts = segments(&valid_token());
    assert_rejected(
        &pem_verifier(),
        &format!("{}.{}", parts[0], parts[2]),
        InvalidReason::Malformed,
    )
    .await;
}

#[tokio::test]
async fn four_segments_are_malformed() {
    let verifier = pem_verifier();
    let token = valid_token();
    let signature = segments(&token)[2].clone();
    assert_rejected(
        &verifier,
        &format!("{token}.{signature}"),
        InvalidReason::Malformed,
    )
    .await;
    assert_rejected(&verifier, &format!("{token}."), InvalidReason::Malformed).await;
}

#[tokio::test]
async fn dots_only_are_malformed() {
    let verifier = pem_verifier();
    for token in [".", "..", "...", "a..c", ".b.c", "a.b."] {
        assert_rejected(&verifier, token, InvalidReason::Malformed).await;
    }
}

#[tokio::test]
async fn empty_string_is_malformed() {
    assert_rejected(&pem_verifier(), "", InvalidReason::Malformed).await;
}

#[tokio::test]
async fn one_megabyte_validly_signed_token_is_too_large() {
    let server = JwksServer::start(&[&key_a()]).await;
    let token = token_with(&claims_with("pad", json!("x".repeat(1 << 20))));
    assert!(token.len() > 1_000_000);
    assert_rejected(&jwks_verifier(&server), &token, InvalidReason::TooLarge).await;
    assert_eq!(
        server.fetches(),
        0,
        "an oversized token must be refused before any key work"
    );
}

#[tokio::test]
async fn header_not_base64_decodable_is_malformed() {
    // One base64url character alone is never a valid encoding.
    let parts = segments(&valid_token());
    assert_rejected(
        &pem_verifier(),
        &format!("A.{}.{}", parts[1], parts[2]),
        InvalidReason::Malformed,
    )
    .await;
}

#[tokio::test]
async fn header_not_json_is_a_bad_header() {
    let token = key_a().mint_raw("not json", &claims().to_string());
    assert_rejected(&pem_verifier(), &token, InvalidReason::BadHeader).await;
}

#[tokio::test]
async fn header_json_but_not_an_object_is_a_bad_header() {
    let verifier = pem_verifier();
    for raw in ["[]", "null", "\"RS256\"", "42"] {
        assert_rejected(
            &verifier,
            &key_a().mint_raw(raw, &claims().to_string()),
            InvalidReason::BadHeader,
        )
        .await;
    }
}

#[tokio::test]
async fn header_with_trailing_garbage_is_a_bad_header() {
    let raw = format!("{}x", header());
    assert_rejected(
        &pem_verifier(),
        &key_a().mint_raw(&raw, &claims().to_string()),
        InvalidReason::BadHeader,
    )
    .await;
}

#[tokio::test]
async fn payload_not_json_is_bad_claims() {
    let token = key_a().mint_raw(&header().to_string(), "not json");
    assert_rejected(&pem_verifier(), &token, InvalidReason::BadClaims).await;
}

#[tokio::test]
async fn payload_json_but_not_an_object_is_bad_claims() {
    let verifier = pem_verifier();
    for raw in ["[]", "null", "\"sub\"", "42"] {
        assert_rejected(
            &verifier,
            &key_a().mint_raw(&header().to_string(), raw),
            InvalidReason::BadClaims,
        )
        .await;
    }
}

#[tokio::test]
async fn payload_with_trailing_garbage_is_bad_claims() {
    let raw = format!("{}{{}}", claims());
    assert_rejected(
        &pem_verifier(),
        &key_a().mint_raw(&header().to_string(), &raw),
        InvalidReason::BadClaims,
    )
    .await;
}

#[tokio::test]
async fn payload_with_a_lone_surrogate_in_sub_is_bad_claims() {
    let payload = raw_claims(r#""sub":"user_\ud800""#);
    assert_rejected(
        &pem_verifier(),
        &key_a().mint_raw(&header().to_string(), &payload),
        InvalidReason::BadClaims,
    )
    .await;
}

#[tokio::test]
async fn deeply_nested_unknown_claim_is_refused_without_a_crash() {
    // 2,000 levels of nesting inside a claim we do not read: skipped claims are parsed as strictly as
    // read ones, within serde_json's recursion limit (128), so this is bad claims, not a stack overflow
    // and not a valid token.
    let nested = format!("{}{}", "[".repeat(2000), "]".repeat(2000));
    let payload = raw_claims(&format!(r#""sub":"{SUB}","x":{nested}"#));
    let token = key_a().mint_raw(&header().to_string(), &payload);
    assert_rejected(&pem_verifier(), &token, InvalidReason::BadClaims).await;
    // Within the limit it is just an unread claim.
    let nested = format!("{}{}", "[".repeat(100), "]".repeat(100));
    let payload = raw_claims(&format!(r#""sub":"{SUB}","x":{nested}"#));
    let token = key_a().mint_raw(&header().to_string(), &payload);
    assert_eq!(
        assert_accepted(&pem_verifier(), &token).await.claims.sub,
        SUB
    );
}

#[tokio::test]
async fn deeply_nested_sub_is_refused() {
    let nested = format!("{}{}", "[".repeat(2000), "]".repeat(2000));
    let payload = raw_claims(&format!(r#""sub":{nested}"#));
    assert_rejected(
        &pem_verifier(),
        &key_a().mint_raw(&header().to_string(), &payload),
        InvalidReason::BadClaims,
    )
    .await;
}

#[tokio::test]
async fn undecodable_strings_and_repeated_members_in_unread_claims_are_refused() {
    for (claim, reason) in [
        (r#""x":"\ud800""#, InvalidReason::BadClaims),
        (r#""x":{"a":1,"a":2}"#, InvalidReason::DuplicateMember),
        (
            r#""x":[{"deep":{"b":true,"b":false}}]"#,
            InvalidReason::DuplicateMember,
        ),
    ] {
        let payload = raw_claims(&format!(r#""sub":"{SUB}",{claim}"#));
        let token = key_a().mint_raw(&header().to_string(), &payload);
        assert_rejected(&pem_verifier(), &token, reason).await;
    }
}

#[tokio::test]
async fn duplicate_member_inside_the_org_claim_is_a_duplicate_member() {
    // Nested objects are parsed by serde's derive, which refuses repeated fields on its own terms.
    let payload = raw_claims(&format!(
        r#""sub":"{SUB}","o":{{"id":"org_1","rol":"member","rol":"admin"}}"#
    ));
    let token = key_a().mint_raw(&header().to_string(), &payload);
    assert_rejected(&pem_verifier(), &token, InvalidReason::DuplicateMember).await;
}

#[tokio::test]
async fn org_claim_of_the_wrong_shape_is_bad_claims() {
    let verifier = pem_verifier();
    for org in [
        json!("org_1"),
        Value::Null,
        json!({"id": 1}),
        json!({"id": "org_1", "rol": ["admin"]}),
    ] {
        assert_rejected(
            &verifier,
            &token_with(&claims_with("o", org)),
            InvalidReason::BadClaims,
        )
        .await;
    }
}

#[tokio::test]
async fn org_claim_as_an_array_is_bad_claims() {
    let token = token_with(&claims_with("o", json!(["org_1", "admin"])));
    assert_rejected(&pem_verifier(), &token, InvalidReason::BadClaims).await;
}
