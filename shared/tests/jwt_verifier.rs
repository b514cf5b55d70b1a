#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! The accepting side of [`ClerkVerifier`] (README "Clerk session tokens"), at a fixed instant.
//!
//! This file exists to pin what a valid Clerk session token yields (subject, session, authorized
//! party, organization from v2's compact `o` claim or v1's `org_*` claims, token version), where the
//! time and size boundaries sit exactly, and that a JWKS-served key is fetched once and then used
//! without network. The attack side lives in `jwt_attacks.rs`.

mod support;
use support::*;

use gatehouse::jwt::{IGNORED_CATEGORY, InvalidReason, MAX_TOKEN_BYTES, VerifierSettings};
use gatehouse::keys::KeySource;
use gatehouse_testkit::jwks_server::JwksServer;
use gatehouse_testkit::tokens::{DEV_ISSUER, b64, key_a, key_b};
use serde_json::json;

/// A validly signed token of exactly `len` bytes, grown with padding members in header and payload.
fn token_of_len(len: usize) -> String {
    let key = key_a();
    let signature_len = key.sign("probe").len();
    let encoded = |raw: usize| (4 * raw).div_ceil(3);
    let mut h = header();
    h["x-pad"] = json!("");
    let mut c = claims();
    c["pad"] = json!("");
    let (h0, c0) = (h.to_string().len(), c.to_string().len());
    for hp in 0..3 {
        for cp in 0..len {
            let total = encoded(h0 + hp) + 1 + encoded(c0 + cp) + 1 + signature_len;
            if total == len {
                h["x-pad"] = json!("h".repeat(hp));
                c["pad"] = json!("p".repeat(cp));
                let token = key.mint(&h, &c);
                assert_eq!(token.len(), len);
                return token;
            }
            if total > len {
                break;
            }
        }
    }
    panic!("no padding reaches {len} bytes");
}

// ---------------------------------------------------------------------------------------------
// Claim extraction
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn v2_token_yields_subject_session_party_and_compact_org() {
    let token = token_with(&claims_with(
        "o",
        json!({"id": "org_1", "rol": "admin", "slg": "acme"}),
    ));
    let verified = assert_accepted(&pem_verifier(), &token).await;
    let c = &verified.claims;
    assert_eq!(c.sub, SUB);
    assert_eq!(c.sid.as_deref(), Some("sess_test123"));
    assert_eq!(c.azp.as_deref(), Some("https://app.example.com"));
    assert_eq!(c.sts.as_deref(), Some("active"));
    assert_eq!(
        (c.org_id.as_deref(), c.org_role.as_deref()),
        (Some("org_1"), Some("admin"))
    );
    assert_eq!((c.version, c.exp), (2, NOW + 60));
    assert_eq!(verified.kid, "test-key-a");
}

#[tokio::test]
async fn v2_token_without_an_active_org_has_no_org() {
    let verified = assert_accepted(&pem_verifier(), &token_with(&claims())).await;
    assert_eq!(
        (
            verified.claims.org_id,
            verified.claims.org_role,
            verified.claims.version
        ),
        (None, None, 2)
    );
}

#[tokio::test]
async fn v1_token_yields_org_from_org_claims() {
    let mut c = claims_with("v", json!(1));
    c["org_id"] = json!("org_legacy");
    c["org_role"] = json!("org:member");
    c["org_slug"] = json!("legacy");
    let verified = assert_accepted(&pem_verifier(), &token_with(&c)).await;
    assert_eq!(verified.claims.org_id.as_deref(), Some("org_legacy"));
    assert_eq!(verified.claims.org_role.as_deref(), Some("org:member"));
    assert_eq!(verified.claims.version, 1);
}

#[tokio::test]
async fn missing_version_means_version_1() {
    let mut c = claims();
    c.as_object_mut().unwrap().remove("v");
    c["org_id"] = json!("org_legacy");
    let verified = assert_accepted(&pem_verifier(), &token_with(&c)).await;
    assert_eq!(
        (verified.claims.version, verified.claims.org_id.as_deref()),
        (1, Some("org_legacy"))
    );
}

#[tokio::test]
async fn compact_org_claim_takes_precedence_over_v1_org_claims() {
    let mut c = claims_with("o", json!({"id": "org_v2", "rol": "admin"}));
    c["org_id"] = json!("org_v1");
    c["org_role"] = json!("member");
    let verified = assert_accepted(&pem_verifier(), &token_with(&c)).await;
    assert_eq!(verified.claims.org_id.as_deref(), Some("org_v2"));
    assert_eq!(verified.claims.org_role.as_deref(), Some("admin"));
}

#[tokio::test]
async fn optional_header_members_may_be_absent() {
    // Neither typ nor cat is required.
    let verified = assert_accepted(
        &pem_verifier(),
        &key_a().mint(&json!({"alg": "RS256", "kid": "k1"}), &claims()),
    )
    .await;
    assert_eq!(verified.kid, "k1");
}

#[tokio::test]
async fn ignored_category_is_accepted_like_clerks_sdk() {
    // Not listed in README "Clerk session tokens", but deliberate in jwt.rs (IGNORED_CATEGORY).
    let mut h = header();
    h["cat"] = json!(IGNORED_CATEGORY);
    assert_accepted(&pem_verifier(), &key_a().mint(&h, &claims())).await;
}

#[tokio::test]
async fn optional_claims_may_be_absent() {
    let c = json!({"iss": DEV_ISSUER, "sub": SUB, "exp": NOW + 60});
    let verified = assert_accepted(&pem_verifier(), &token_with(&c)).await;
    let c = verified.claims;
    assert_eq!((c.sid, c.azp, c.sts, c.version), (None, None, None, 1));
}

#[tokio::test]
async fn pem_with_literal_backslash_n_sequences_is_accepted() {
    let one_line = key_a().public_pem.trim().replace('\n', "\\n");
    let verifier = verifier_with(settings(), KeySource::from_pem(&one_line).unwrap());
    assert_accepted(&verifier, &token_with(&claims())).await;
}

#[tokio::test]
async fn failures_report_the_kid_only_once_the_header_was_read() {
    let verifier = pem_verifier();
    let forged = key_b().mint(&header(), &claims());
    let Err((_, kid)) = verifier.verify(&forged).await else {
        panic!("forged token accepted")
    };
    assert_eq!(kid.as_deref(), Some("test-key-a"));
    let Err((_, kid)) = verifier.verify("not.a.token!").await else {
        panic!("garbage accepted")
    };
    assert_eq!(kid, None);
}

// ---------------------------------------------------------------------------------------------
// Time boundaries (rule, as Clerk's SDK and RFC 7519: reject when now >= exp + skew, nbf > now + skew,
// iat > now + skew)
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn exp_at_now_minus_skew_is_expired() {
    // exp + skew must still be in the future; one second earlier than that boundary is accepted.
    let verifier = pem_verifier();
    let skew = i64::from(SKEW);
    assert_accepted(
        &verifier,
        &token_with(&claims_with("exp", json!(NOW - skew + 1))),
    )
    .await;
    assert_rejected(
        &verifier,
        &token_with(&claims_with("exp", json!(NOW - skew))),
        InvalidReason::Expired,
    )
    .await;
}

#[tokio::test]
async fn exp_equal_to_now_is_expired_without_skew() {
    // RFC 7519 4.1.4: the current time must be before exp.
    let verifier = pem_verifier_with(VerifierSettings {
        clock_skew_secs: 0,
        ..settings()
    });
    assert_accepted(&verifier, &token_with(&claims_with("exp", json!(NOW + 1)))).await;
    assert_rejected(
        &verifier,
        &token_with(&claims_with("exp", json!(NOW))),
        InvalidReason::Expired,
    )
    .await;
}

#[tokio::test]
async fn nbf_exactly_at_now_plus_skew_is_accepted() {
    let verifier = pem_verifier();
    let skew = i64::from(SKEW);
    assert_accepted(
        &verifier,
        &token_with(&claims_with("nbf", json!(NOW + skew))),
    )
    .await;
    assert_rejected(
        &verifier,
        &token_with(&claims_with("nbf", json!(NOW + skew + 1))),
        InvalidReason::NotYetValid,
    )
    .await;
}

#[tokio::test]
async fn iat_exactly_at_now_plus_skew_is_accepted() {
    let verifier = pem_verifier();
    let skew = i64::from(SKEW);
    assert_accepted(
        &verifier,
        &token_with(&claims_with("iat", json!(NOW + skew))),
    )
    .await;
    assert_rejected(
        &verifier,
        &token_with(&claims_with("iat", json!(NOW + skew + 1))),
        InvalidReason::IssuedInFuture,
    )
    .await;
}

#[tokio::test]
async fn float_numeric_dates_are_accepted_and_truncated() {
    let mut c = claims_with("exp", json!(NOW as f64 + 30.75));
    c["nbf"] = json!(NOW as f64 - 0.5);
    c["iat"] = json!(NOW as f64 + 5.9);
    let verified = assert_accepted(&pem_verifier(), &token_with(&c)).await;
    assert_eq!(verified.claims.exp, NOW + 30);
}

#[tokio::test]
async fn float_exp_is_truncated_before_the_expiry_check() {
    // The fraction never extends a token: NOW - 4 + 0.9 truncates to NOW - 4 (one second inside the
    // skew, accepted); NOW - 5 + 0.9 truncates to NOW - 5 (at the boundary, expired).
    let verifier = pem_verifier();
    let skew = i64::from(SKEW);
    let inside = token_with(&claims_with("exp", json!((NOW - skew + 1) as f64 + 0.9)));
    assert_eq!(
        assert_accepted(&verifier, &inside).await.claims.exp,
        NOW - skew + 1
    );
    let past = token_with(&claims_with("exp", json!((NOW - skew) as f64 + 0.9)));
    assert_rejected(&verifier, &past, InvalidReason::Expired).await;
}

// ---------------------------------------------------------------------------------------------
// Size boundary
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn token_of_exactly_8_kib_is_accepted() {
    assert_accepted(&pem_verifier(), &token_of_len(MAX_TOKEN_BYTES)).await;
}

#[tokio::test]
async fn token_one_byte_over_8_kib_is_too_large() {
    assert_rejected(
        &pem_verifier(),
        &token_of_len(MAX_TOKEN_BYTES + 1),
        InvalidReason::TooLarge,
    )
    .await;
}

// ---------------------------------------------------------------------------------------------
// JWKS-served keys
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn jwks_key_is_fetched_once_then_used_without_network() {
    let server = JwksServer::start(&[&key_a()]).await;
    let verifier = verifier_with(
        settings(),
        KeySource::Jwks {
            url: server.jwks_url(),
            bearer: None,
        },
    );
    let token = token_with(&claims());
    for _ in 0..100 {
        assert_eq!(assert_accepted(&verifier, &token).await.claims.sub, SUB);
    }
    assert_eq!(server.fetches(), 1);
    assert_eq!(verifier.keys().fetch_count(), 1);
    assert_eq!(verifier.keys().cached_kids(), vec!["test-key-a".to_owned()]);
}

#[tokio::test]
async fn jwks_with_several_keys_verifies_each_by_kid() {
    let server = JwksServer::start(&[&key_a(), &key_b()]).await;
    let verifier = verifier_with(
        settings(),
        KeySource::Jwks {
            url: server.jwks_url(),
            bearer: None,
        },
    );
    let from_a = assert_accepted(&verifier, &key_a().session_token(SUB, NOW)).await;
    let from_b = assert_accepted(&verifier, &key_b().session_token(SUB, NOW)).await;
    assert_eq!(
        (from_a.kid.as_str(), from_b.kid.as_str()),
        ("test-key-a", "test-key-b")
    );
    assert_eq!(server.fetches(), 1);
}

#[tokio::test]
async fn hand_built_token_matches_testkit_minting() {
    // Guards the helpers above: a token assembled from the same JSON verifies the same way.
    let input = format!(
        "{}.{}",
        b64(&header().to_string()),
        b64(&claims().to_string())
    );
    let token = format!("{input}.{}", key_a().sign(&input));
    assert_eq!(token, token_with(&claims()));
    assert_accepted(&pem_verifier(), &token).await;
}
