#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! OAuth access tokens against [`ClerkVerifier::verify_any`] (README "OAuth access tokens and MCP"):
//! the audience binding of RFC 8707, the client allow-list, and both confusions (a session token is
//! never an access token, an access token never a session token), each pinned by its own test with
//! the exact [`InvalidReason`]. Networkless: the verifier trusts `test-key-a` as a PEM, at a fixed
//! instant.

mod support;
use support::*;

use gatehouse::jwt::{ClerkVerifier, InvalidReason, VerifiedToken, VerifyError};
use gatehouse::oauth::OAuthSettings;
use gatehouse_testkit::tokens::{
    DEV_ISSUER, access_token_claims, access_token_header, key_a, key_b,
};
use serde_json::{Value, json};

const BASE: &str = "https://abc123.execute-api.eu-west-1.amazonaws.com/prod";

fn oauth_verifier(settings: OAuthSettings) -> ClerkVerifier {
    pem_verifier().with_oauth(settings)
}

fn at_claims() -> Value {
    access_token_claims(DEV_ISSUER, SUB, NOW, BASE)
}

fn at_with(member: &str, value: Value) -> Value {
    let mut c = at_claims();
    c[member] = value;
    c
}

fn at_without(member: &str) -> Value {
    let mut c = at_claims();
    c.as_object_mut().unwrap().remove(member);
    c
}

fn access_token(claims: &Value) -> String {
    key_a().mint(&access_token_header(key_a().kid), claims)
}

async fn oauth_reason(verifier: &ClerkVerifier, token: &str, base: Option<&str>) -> InvalidReason {
    match verifier.verify_any(token, base).await {
        Err((VerifyError::Invalid(reason), _)) => reason,
        Err((VerifyError::KeysUnavailable(e), _)) => panic!("keys unavailable: {e}"),
        Ok(token) => panic!("accepted: {token:?}"),
    }
}

async fn accepted(verifier: &ClerkVerifier, token: &str, base: Option<&str>) -> VerifiedToken {
    match verifier.verify_any(token, base).await {
        Ok(token) => token,
        Err((error, _)) => panic!("refused: {error}"),
    }
}

#[tokio::test]
async fn an_access_token_for_this_api_is_accepted_with_its_client_and_scopes() {
    let verifier = oauth_verifier(OAuthSettings::default());
    match accepted(&verifier, &access_token(&at_claims()), Some(BASE)).await {
        VerifiedToken::AccessToken(claims, kid) => {
            assert_eq!(claims.sub, SUB);
            assert_eq!(claims.client_id, "client_partner");
            assert_eq!(claims.scopes, ["read", "write"]);
            assert_eq!(claims.valid_until, NOW + 3600 + i64::from(SKEW));
            assert_eq!(kid, key_a().kid);
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn the_mcp_resource_and_an_aud_array_are_accepted() {
    let verifier = oauth_verifier(OAuthSettings::default());
    let mcp = at_with(
        "aud",
        json!(["https://other.example", format!("{BASE}/mcp")]),
    );
    assert!(matches!(
        accepted(&verifier, &access_token(&mcp), Some(BASE)).await,
        VerifiedToken::AccessToken(..)
    ));
}

#[tokio::test]
async fn the_media_type_spelling_of_typ_is_an_access_token() {
    let verifier = oauth_verifier(OAuthSettings::default());
    let header = json!({"alg": "RS256", "kid": key_a().kid, "typ": "application/at+jwt"});
    let token = key_a().mint(&header, &at_claims());
    assert!(matches!(
        accepted(&verifier, &token, Some(BASE)).await,
        VerifiedToken::AccessToken(..)
    ));
}

#[tokio::test]
async fn scp_array_is_read_when_scope_is_absent() {
    let verifier = oauth_verifier(OAuthSettings::default());
    let mut claims = at_without("scope");
    claims["scp"] = json!(["read"]);
    match accepted(&verifier, &access_token(&claims), Some(BASE)).await {
        VerifiedToken::AccessToken(claims, _) => assert_eq!(claims.scopes, ["read"]),
        other => panic!("{other:?}"),
    }
    claims["scp"] = json!("read");
    assert_eq!(
        oauth_reason(&verifier, &access_token(&claims), Some(BASE)).await,
        InvalidReason::BadClaims
    );
}

#[tokio::test]
async fn a_token_for_another_resource_is_refused() {
    let verifier = oauth_verifier(OAuthSettings::default());
    for aud in [
        json!("https://abc123.execute-api.eu-west-1.amazonaws.com"),
        json!("https://abc123.execute-api.eu-west-1.amazonaws.com/staging"),
        json!(["https://evil.example/prod"]),
        json!([]),
    ] {
        let token = access_token(&at_with("aud", aud.clone()));
        assert_eq!(
            oauth_reason(&verifier, &token, Some(BASE)).await,
            InvalidReason::WrongAudience,
            "{aud}"
        );
    }
}

#[tokio::test]
async fn an_api_that_cannot_say_where_it_is_accepts_no_audience() {
    let verifier = oauth_verifier(OAuthSettings::default());
    assert_eq!(
        oauth_reason(&verifier, &access_token(&at_claims()), None).await,
        InvalidReason::WrongAudience
    );
}

#[tokio::test]
async fn configured_resources_replace_the_gateway_url() {
    let verifier = oauth_verifier(OAuthSettings {
        resources: Some(vec!["https://api.example.com".to_owned()]),
        ..OAuthSettings::default()
    });
    assert_eq!(
        oauth_reason(&verifier, &access_token(&at_claims()), Some(BASE)).await,
        InvalidReason::WrongAudience
    );
    let pinned = access_token(&at_with("aud", json!("https://api.example.com/")));
    assert!(matches!(
        accepted(&verifier, &pinned, Some(BASE)).await,
        VerifiedToken::AccessToken(..)
    ));
}

#[tokio::test]
async fn a_token_without_aud_is_refused_unless_the_operator_allows_it() {
    let token = access_token(&at_without("aud"));
    let strict = oauth_verifier(OAuthSettings::default());
    assert_eq!(
        oauth_reason(&strict, &token, Some(BASE)).await,
        InvalidReason::MissingAudience
    );
    let lenient = oauth_verifier(OAuthSettings {
        allow_missing_audience: true,
        ..OAuthSettings::default()
    });
    assert!(matches!(
        accepted(&lenient, &token, Some(BASE)).await,
        VerifiedToken::AccessToken(..)
    ));
}

#[tokio::test]
async fn a_token_from_another_issuer_is_refused() {
    let verifier = oauth_verifier(OAuthSettings::default());
    let other = at_with("iss", json!("https://evil.clerk.accounts.dev"));
    assert_eq!(
        oauth_reason(&verifier, &access_token(&other), Some(BASE)).await,
        InvalidReason::WrongIssuer
    );
    // Signed by a key that is not the issuer's.
    let forged = key_b().mint(&access_token_header(key_a().kid), &at_claims());
    assert_eq!(
        oauth_reason(&verifier, &forged, Some(BASE)).await,
        InvalidReason::BadSignature
    );
}

#[tokio::test]
async fn an_expired_access_token_is_token_expired() {
    let verifier = oauth_verifier(OAuthSettings::default());
    let expired = at_with("exp", json!(NOW - i64::from(SKEW)));
    let reason = oauth_reason(&verifier, &access_token(&expired), Some(BASE)).await;
    assert_eq!(reason, InvalidReason::Expired);
    assert_eq!(
        reason.rejection(),
        gatehouse::error::Rejection::TokenExpired
    );
}

#[tokio::test]
async fn client_id_and_jti_are_required_and_the_allow_list_applies() {
    let verifier = oauth_verifier(OAuthSettings::default());
    for (claims, reason) in [
        (at_without("client_id"), InvalidReason::BadClientId),
        (at_with("client_id", json!("")), InvalidReason::BadClientId),
        (at_with("client_id", json!(7)), InvalidReason::BadClaims),
        (at_without("jti"), InvalidReason::BadTokenId),
    ] {
        assert_eq!(
            oauth_reason(&verifier, &access_token(&claims), Some(BASE)).await,
            reason
        );
    }
    let listed = oauth_verifier(OAuthSettings {
        client_ids: Some(vec!["client_other".to_owned()]),
        ..OAuthSettings::default()
    });
    assert_eq!(
        oauth_reason(&listed, &access_token(&at_claims()), Some(BASE)).await,
        InvalidReason::UnauthorizedClient
    );
}

#[tokio::test]
async fn an_access_token_is_never_a_session_token() {
    let verifier = oauth_verifier(OAuthSettings::default());
    // The session-only entry point refuses a genuine access token.
    assert_rejected(
        &verifier,
        &access_token(&at_claims()),
        InvalidReason::AccessTokenAsSession,
    )
    .await;
    // Access-token claims under a session header (a token of another class without typ).
    let untyped = key_a().mint(&header(), &at_claims());
    assert_eq!(
        oauth_reason(&verifier, &untyped, Some(BASE)).await,
        InvalidReason::AccessTokenAsSession
    );
}

#[tokio::test]
async fn a_session_token_is_never_an_access_token() {
    let verifier = oauth_verifier(OAuthSettings::default());
    // A genuine session token is read as a session, whatever the API's resources.
    assert!(matches!(
        accepted(&verifier, &valid_token(), Some(BASE)).await,
        VerifiedToken::Session(_)
    ));
    // Session claims under an access-token header.
    let mut session = claims();
    session["aud"] = json!(BASE);
    let relabelled = key_a().mint(&access_token_header(key_a().kid), &session);
    assert_eq!(
        oauth_reason(&verifier, &relabelled, Some(BASE)).await,
        InvalidReason::SessionAsAccessToken
    );
    // The session category on an access token.
    let mut header = access_token_header(key_a().kid);
    header["cat"] = json!(gatehouse::jwt::SESSION_CATEGORY);
    let categorised = key_a().mint(&header, &at_claims());
    assert_eq!(
        oauth_reason(&verifier, &categorised, Some(BASE)).await,
        InvalidReason::SessionAsAccessToken
    );
}
