#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! Opaque OAuth tokens (`oat_…`) through the authorizer, verified by a local stand-in of Clerk's
//! Backend API (`testkit::clerk_backend`) over real HTTP (README, "OAuth access tokens and MCP"):
//! what Gatehouse sends, what each answer of Clerk's becomes (an Allow, a 401, or a 500, never an
//! Allow on a failure), the positive cache, and the setting that keeps it all off by default.

use std::sync::Arc;
use std::time::Duration;

use gatehouse::authorizer::{Decision, DecisionFacts};
use gatehouse::clock::FixedClock;
use gatehouse::error::Rejection;
use gatehouse::keys::{KeyCacheOptions, SecretString};
use gatehouse::oauth::OAuthSettings;
use gatehouse::opaque_tokens::OpaqueTokens;
use gatehouse::principal::{AuthType, Scopes};
use gatehouse::store::memory::MemoryStore;
use gatehouse_testkit::clerk_backend::{ClerkBackend, IssuedToken, Mode};
use gatehouse_testkit::samples;

const NOW: i64 = 1_750_000_000;
const SECRET: &str = "sk_test_standin_secret";
const TOKEN: &str = "oat_2yQopaqueTOKEN0000000000001";

fn issued(expires_at: Option<i64>) -> IssuedToken {
    IssuedToken {
        subject: samples::DEV_MANAGER.to_owned(),
        client_id: "client_partner".to_owned(),
        scopes: vec!["read".to_owned()],
        revoked: false,
        expires_at,
    }
}

fn opaque_authorizer(
    clerk: &ClerkBackend,
    settings: OAuthSettings,
) -> gatehouse::authorizer::Authorizer<MemoryStore> {
    let options = KeyCacheOptions {
        fetch_timeout: Duration::from_millis(500),
        ..KeyCacheOptions::default()
    };
    let opaque = OpaqueTokens::new(
        &clerk.base_url,
        SecretString::new(SECRET.to_owned()),
        options,
    );
    samples::dev_authorizer(
        MemoryStore::new(),
        samples::pepper(),
        Arc::new(FixedClock::at(NOW)),
    )
    .with_oauth(settings, Some(opaque))
}

async fn decide(
    authorizer: &gatehouse::authorizer::Authorizer<MemoryStore>,
    token: &str,
) -> Result<Decision, gatehouse::error::Unavailable> {
    authorizer
        .decide(
            Some(&format!("Bearer {token}")),
            &mut DecisionFacts::default(),
        )
        .await
}

#[tokio::test]
async fn a_token_clerk_vouches_for_is_an_oauth_caller_and_the_answer_is_cached() {
    let clerk = ClerkBackend::start(SECRET).await;
    // Clerk judges expiry by its own (real) clock: an hour from now.
    let in_an_hour = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
        + 3600;
    clerk.issue(TOKEN, issued(Some(in_an_hour)));
    let authorizer = opaque_authorizer(&clerk, OAuthSettings::default());
    let Decision::Allow(principal) = decide(&authorizer, TOKEN).await.unwrap() else {
        panic!("refused");
    };
    assert_eq!(principal.auth_type, AuthType::OAuth);
    assert_eq!(principal.user_id, samples::DEV_MANAGER);
    assert_eq!(principal.client_id.as_deref(), Some("client_partner"));
    assert_eq!(
        principal.scopes,
        Scopes {
            read: true,
            write: false
        }
    );
    // The Allow lasts no longer than the positive cache.
    assert_eq!(principal.expires_at, Some(NOW + 60));
    // What Clerk received: the token in the body, our secret key as the bearer, nothing else.
    let received = clerk.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].path, "/oauth_applications/access_tokens/verify");
    assert_eq!(
        received[0].authorization.as_deref(),
        Some(format!("Bearer {SECRET}").as_str())
    );
    assert_eq!(received[0].body, serde_json::json!({"access_token": TOKEN}));
    // Cached: a second decision asks Clerk nothing.
    assert!(matches!(
        decide(&authorizer, TOKEN).await.unwrap(),
        Decision::Allow(_)
    ));
    assert_eq!(clerk.calls(), 1);
}

#[tokio::test]
async fn unknown_revoked_and_expired_tokens_are_401s() {
    let clerk = ClerkBackend::start(SECRET).await;
    clerk.issue("oat_revoked", issued(None));
    clerk.revoke("oat_revoked");
    clerk.issue("oat_expired", issued(Some(NOW - 1)));
    let authorizer = opaque_authorizer(&clerk, OAuthSettings::default());
    for token in ["oat_unknown", "oat_revoked", "oat_expired"] {
        assert_eq!(
            decide(&authorizer, token).await.unwrap(),
            Decision::Deny(Rejection::InvalidToken),
            "{token}"
        );
    }
}

#[tokio::test]
async fn the_client_allow_list_applies_to_opaque_tokens() {
    let clerk = ClerkBackend::start(SECRET).await;
    clerk.issue(TOKEN, issued(None));
    let authorizer = opaque_authorizer(
        &clerk,
        OAuthSettings {
            client_ids: Some(vec!["client_other".to_owned()]),
            ..OAuthSettings::default()
        },
    );
    assert_eq!(
        decide(&authorizer, TOKEN).await.unwrap(),
        Decision::Deny(Rejection::InvalidToken)
    );
}

#[tokio::test]
async fn a_failing_clerk_is_a_500_never_an_allow() {
    let clerk = ClerkBackend::start(SECRET).await;
    clerk.issue(TOKEN, issued(None));
    let authorizer = opaque_authorizer(&clerk, OAuthSettings::default());
    for mode in [
        Mode::Fail(500),
        Mode::Fail(503),
        Mode::Fail(429),
        Mode::Delay(Duration::from_secs(2)),
    ] {
        clerk.set_mode(mode);
        assert!(
            decide(&authorizer, TOKEN).await.is_err(),
            "{mode:?} must be a dependency failure"
        );
    }
    // Our own secret key refused: also an outage, not the caller's fault.
    let wrong_key = ClerkBackend::start("sk_test_other").await;
    wrong_key.issue(TOKEN, issued(None));
    let refused_key = opaque_authorizer(&wrong_key, OAuthSettings::default());
    assert!(decide(&refused_key, TOKEN).await.is_err());
}

#[tokio::test]
async fn opaque_tokens_are_refused_unless_turned_on() {
    let clerk = ClerkBackend::start(SECRET).await;
    clerk.issue(TOKEN, issued(None));
    let authorizer = samples::dev_authorizer(
        MemoryStore::new(),
        samples::pepper(),
        Arc::new(FixedClock::at(NOW)),
    );
    assert_eq!(
        decide(&authorizer, TOKEN).await.unwrap(),
        Decision::Deny(Rejection::InvalidToken)
    );
    assert_eq!(
        clerk.calls(),
        0,
        "nothing is sent to Clerk when the setting is off"
    );
}
