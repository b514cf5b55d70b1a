#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! The Clerk key cache (`IssuerKeys`) and the verifier on top of it, against a real HTTP JWKS server on a
//! loopback port (`gatehouse_testkit::jwks_server`), so rotation, the unknown-kid refetch rate limit,
//! shared fetches, outages and timeouts (README "Clerk session tokens") are exercised over real sockets with the
//! production HTTP client (`authorizer::http_client`), not a mock.
//!
//! The rule under test: a known kid never waits for the network; an unknown kid costs at most one fetch
//! per refetch interval, shared by everyone who asks at the same time; when no usable key can be had
//! the answer is `KeysUnavailable` (a function error, 500), never an `Invalid` (a Deny, 401) and never
//! an Allow; a failed or useless refresh keeps the keys already known.
//!
//! The last tests run the Backend-API key source end to end: the Clerk secret key read from moto, the
//! JWKS fetched from `/v1/jwks` with it as a bearer, and the whole `Authorizer::from_config` cold start
//! against DynamoDB Local and moto. Those skip without the servers; the others need none.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_config::SdkConfig;
use gatehouse::apikey::{self, ApiKeyPrefix, Pepper};
use gatehouse::authorizer::{Authorizer, Decision, DecisionFacts, Parts, http_client};
use gatehouse::clock::FixedClock;
use gatehouse::config::{AuthorizerConfig, ClerkKeyConfig, Env};
use gatehouse::error::Unavailable;
use gatehouse::jwt::{ClerkVerifier, InvalidReason, VerifierSettings, VerifyError};
use gatehouse::keys::{IssuerKeys, KeyCacheOptions, KeyFetchError, KeyLookupError, KeySource};
use gatehouse::principal::{AuthType, Memberships, Role, Scopes};
use gatehouse::secrets::secret_string;
use gatehouse::store::memory::MemoryStore;
use gatehouse::store::{ApiKeyRecord, KeyStore as _, UserRecord};
use gatehouse_testkit::jwks_server::{JwksServer, Mode};
use gatehouse_testkit::servers::{
    create_secret, dynamodb_endpoint, fresh_store, local_defaults, sdk_config,
    secretsmanager_endpoint, unique_name,
};
use gatehouse_testkit::tokens::{
    DEV_ISSUER, TestKey, key_a, key_b, session_claims, session_header,
};
use serde_json::json;

/// The instant tokens are minted for and verified at (a [`FixedClock`]), except in the `from_config`
/// test, whose authorizer reads the system clock.
const NOW: i64 = 1_750_000_000;
const SUB: &str = "user_keycache";
/// Generous upper bound for "returns promptly / does not hang". Well below the 5 s the slow server
/// takes, so passing it proves the fetch timeout cut the wait short.
const PROMPT: Duration = Duration::from_secs(4);

fn options(refetch_interval: Duration, fetch_timeout: Duration) -> KeyCacheOptions {
    KeyCacheOptions {
        refetch_interval,
        fetch_timeout,
        ..KeyCacheOptions::default()
    }
}

fn settings() -> VerifierSettings {
    VerifierSettings {
        issuer: DEV_ISSUER.to_owned(),
        authorized_parties: None,
        clock_skew_secs: 5,
        allow_pending_sessions: false,
    }
}

/// A cold cache for `source`, using the production HTTP client.
fn cache_for(source: KeySource, options: KeyCacheOptions) -> Arc<IssuerKeys> {
    Arc::new(IssuerKeys::new(
        DEV_ISSUER,
        source,
        http_client(options).unwrap(),
        options,
    ))
}

/// A cold cache on the server's frontend-API-style JWKS URL.
fn cache(server: &JwksServer, options: KeyCacheOptions) -> Arc<IssuerKeys> {
    cache_for(
        KeySource::Jwks {
            url: server.jwks_url(),
            bearer: None,
        },
        options,
    )
}

fn verifier(keys: &Arc<IssuerKeys>) -> ClerkVerifier {
    ClerkVerifier::new(settings(), Arc::clone(keys), Arc::new(FixedClock::at(NOW)))
}

/// A valid session token signed by `key` whose header names `kid`.
fn token(key: &TestKey, kid: &str) -> String {
    key.mint(&session_header(kid), &session_claims(DEV_ISSUER, SUB, NOW))
}

/// A kid no server publishes (well-formed, different every call).
fn unknown_kid() -> String {
    format!("unknown-{}", apikey::generate_key_id().unwrap())
}

async fn assert_verifies(verifier: &ClerkVerifier, token: &str, kid: &str) {
    match verifier.verify(token).await {
        Ok(verified) => {
            assert_eq!(verified.kid, kid);
            assert_eq!(verified.claims.sub, SUB);
        }
        Err((error, _)) => panic!("expected {kid} to verify, got {error:?}"),
    }
}

async fn verify_error(verifier: &ClerkVerifier, token: &str) -> VerifyError {
    match verifier.verify(token).await {
        Ok(verified) => panic!("expected a failure, got {verified:?}"),
        Err((error, _)) => error,
    }
}

// ---------------------------------------------------------------------------------------------------------
// Rotation and the refetch rate limit

#[tokio::test]
async fn rotation_is_picked_up_by_a_refetch() {
    let (a, b) = (key_a(), key_b());
    let server = JwksServer::start(&[&a]).await;
    // No rate limit, so the rotation is visible on the very next unknown kid.
    let keys = cache(&server, options(Duration::ZERO, Duration::from_secs(3)));
    let verifier = verifier(&keys);

    assert_verifies(&verifier, &token(&a, a.kid), a.kid).await;
    assert_eq!((keys.fetch_count(), server.fetches()), (1, 1));
    // Known: served from memory.
    assert_verifies(&verifier, &token(&a, a.kid), a.kid).await;
    assert_eq!((keys.fetch_count(), server.fetches()), (1, 1));

    // Clerk rotates: only key b is published now.
    server.set_keys(&[&b]);
    assert_verifies(&verifier, &token(&b, b.kid), b.kid).await;
    assert_eq!((keys.fetch_count(), server.fetches()), (2, 2));
    assert_eq!(keys.cached_kids(), vec![b.kid.to_owned()]);

    // The retired key is gone with the set it belonged to: a token under it is now an unknown kid.
    let error = verify_error(&verifier, &token(&a, a.kid)).await;
    assert!(
        matches!(error, VerifyError::Invalid(InvalidReason::UnknownKid)),
        "{error:?}"
    );
    assert_eq!(keys.fetch_count(), 3);
    // A token claiming kid b but signed by key a does not verify.
    let error = verify_error(&verifier, &token(&a, b.kid)).await;
    assert!(
        matches!(error, VerifyError::Invalid(InvalidReason::BadSignature)),
        "{error:?}"
    );
    assert_eq!(keys.fetch_count(), 3);
}

#[tokio::test]
async fn unknown_kids_cause_at_most_one_fetch_per_interval() {
    let a = key_a();
    let server = JwksServer::start(&[&a]).await;
    let keys = cache(
        &server,
        options(Duration::from_secs(10), Duration::from_secs(3)),
    );
    let verifier = verifier(&keys);

    // Cold cache: 20 tokens with random unknown kids in a row load the set once, then are refused from
    // memory.
    for _ in 0..20 {
        let error = verify_error(&verifier, &token(&a, &unknown_kid())).await;
        assert!(
            matches!(error, VerifyError::Invalid(InvalidReason::UnknownKid)),
            "{error:?}"
        );
    }
    assert_eq!((keys.fetch_count(), server.fetches()), (1, 1));
    // The set that fetch loaded serves the known kid without another fetch.
    assert_verifies(&verifier, &token(&a, a.kid), a.kid).await;
    assert_eq!((keys.fetch_count(), server.fetches()), (1, 1));
}

#[tokio::test]
async fn unknown_kids_after_a_load_do_not_refetch_within_the_interval() {
    let a = key_a();
    let server = JwksServer::start(&[&a]).await;
    let keys = cache(
        &server,
        options(Duration::from_secs(10), Duration::from_secs(3)),
    );
    let verifier = verifier(&keys);

    assert_verifies(&verifier, &token(&a, a.kid), a.kid).await;
    assert_eq!(keys.fetch_count(), 1);
    // The interval counts from the last fetch, whatever caused it: within 10 s of the load, 20 unknown
    // kids cost no fetch at all, and are refused (a Deny), not errors.
    for _ in 0..20 {
        let error = verify_error(&verifier, &token(&a, &unknown_kid())).await;
        assert!(
            matches!(error, VerifyError::Invalid(InvalidReason::UnknownKid)),
            "{error:?}"
        );
    }
    assert_eq!((keys.fetch_count(), server.fetches()), (1, 1));
}

#[tokio::test]
async fn an_unknown_kid_refetches_once_the_interval_has_passed() {
    let a = key_a();
    let server = JwksServer::start(&[&a]).await;
    let interval = Duration::from_millis(200);
    let keys = cache(&server, options(interval, Duration::from_secs(3)));
    let verifier = verifier(&keys);

    assert_verifies(&verifier, &token(&a, a.kid), a.kid).await;
    assert_eq!(keys.fetch_count(), 1);
    for round in 2..=3 {
        tokio::time::sleep(interval + Duration::from_millis(100)).await;
        let error = verify_error(&verifier, &token(&a, &unknown_kid())).await;
        assert!(
            matches!(error, VerifyError::Invalid(InvalidReason::UnknownKid)),
            "{error:?}"
        );
        assert_eq!((keys.fetch_count(), server.fetches()), (round, round));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_misses_share_one_fetch() {
    let a = key_a();
    let server = JwksServer::start(&[&a]).await;
    server.set_mode(Mode::Delay(Duration::from_millis(300)));
    let keys = cache(&server, KeyCacheOptions::default());

    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let keys = Arc::clone(&keys);
            tokio::spawn(async move { keys.key("test-key-a").await.map(|_| ()) })
        })
        .collect();
    for task in tasks {
        let result = task.await.unwrap();
        assert!(result.is_ok(), "{result:?}");
    }
    assert_eq!((keys.fetch_count(), server.fetches()), (1, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_verifications_on_a_cold_cache_share_one_fetch() {
    let a = key_a();
    let server = JwksServer::start(&[&a]).await;
    server.set_mode(Mode::Delay(Duration::from_millis(300)));
    let keys = cache(&server, KeyCacheOptions::default());
    let verifier = Arc::new(verifier(&keys));
    let token = token(&a, a.kid);

    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let verifier = Arc::clone(&verifier);
            let token = token.clone();
            tokio::spawn(async move {
                verifier
                    .verify(&token)
                    .await
                    .map(|v| v.kid)
                    .map_err(|(e, _)| e)
            })
        })
        .collect();
    for task in tasks {
        let result = task.await.unwrap();
        assert!(matches!(result.as_deref(), Ok("test-key-a")), "{result:?}");
    }
    assert_eq!((keys.fetch_count(), server.fetches()), (1, 1));
}

// ---------------------------------------------------------------------------------------------------------
// The maximum age (CLERK_JWKS_MAX_AGE_SECS)

/// Options with a short age (and a shorter refetch interval), so ageing is observable in a test.
fn ageing(max_age: Duration) -> KeyCacheOptions {
    KeyCacheOptions {
        refetch_interval: Duration::from_millis(100),
        fetch_timeout: Duration::from_secs(3),
        max_age,
        ..KeyCacheOptions::default()
    }
}

#[tokio::test]
async fn a_withdrawn_kid_is_refused_once_the_age_has_passed() {
    let (a, b) = (key_a(), key_b());
    let server = JwksServer::start(&[&a, &b]).await;
    let age = Duration::from_millis(1000);
    let keys = cache(&server, ageing(age));
    let verifier = verifier(&keys);
    assert_verifies(&verifier, &token(&a, a.kid), a.kid).await;

    // Clerk withdraws a without publishing anything new.
    server.set_keys(&[&b]);
    // Within the age the keys are not refetched: a still verifies, from memory.
    assert_verifies(&verifier, &token(&a, a.kid), a.kid).await;
    assert_eq!(server.fetches(), 1);

    tokio::time::sleep(age + Duration::from_millis(100)).await;
    // Past the age, the next request refreshes the set first: a is gone, so its tokens are refused
    // (a rejection: the refresh succeeded), and b keeps verifying without another fetch.
    let error = verify_error(&verifier, &token(&a, a.kid)).await;
    assert!(
        matches!(error, VerifyError::Invalid(InvalidReason::UnknownKid)),
        "{error:?}"
    );
    assert_eq!(server.fetches(), 2);
    assert_eq!(keys.cached_kids(), vec![b.kid.to_owned()]);
    assert_verifies(&verifier, &token(&b, b.kid), b.kid).await;
    assert_eq!(server.fetches(), 2);
}

#[tokio::test]
async fn known_keys_keep_verifying_while_the_jwks_server_is_down() {
    let a = key_a();
    let server = JwksServer::start(&[&a]).await;
    let age = Duration::from_millis(1000);
    let mut options = ageing(age);
    options.refetch_interval = Duration::from_millis(800);
    let keys = cache(&server, options);
    let verifier = verifier(&keys);
    assert_verifies(&verifier, &token(&a, a.kid), a.kid).await;

    server.set_mode(Mode::Fail(503));
    tokio::time::sleep(age + Duration::from_millis(100)).await;
    // Past the age the refresh is tried and fails: the known key keeps working (stale on error).
    assert_verifies(&verifier, &token(&a, a.kid), a.kid).await;
    assert_eq!(server.fetches(), 2);
    // The next attempt waits for the refetch window: no fetch per request meanwhile.
    for _ in 0..5 {
        assert_verifies(&verifier, &token(&a, a.kid), a.kid).await;
    }
    assert_eq!(server.fetches(), 2);
    // An unknown kid inside that window, right after a failed refresh, is a dependency failure
    // (a function error, 500), not a Deny the gateway would cache against a possibly valid token.
    let error = verify_error(&verifier, &token(&a, &unknown_kid())).await;
    assert!(
        matches!(
            error,
            VerifyError::KeysUnavailable(KeyFetchError::Status(503))
        ),
        "{error:?}"
    );
    assert_eq!(server.fetches(), 2);

    // After the window the refresh is tried again, still failing, and the key still works.
    tokio::time::sleep(Duration::from_millis(900)).await;
    assert_verifies(&verifier, &token(&a, a.kid), a.kid).await;
    assert_eq!(server.fetches(), 3);

    // The server is back: the next refresh (after the window) succeeds, and an unknown kid inside
    // the window after a successful refresh is a rejection again.
    server.set_mode(Mode::Serve);
    tokio::time::sleep(Duration::from_millis(900)).await;
    assert_verifies(&verifier, &token(&a, a.kid), a.kid).await;
    assert_eq!(server.fetches(), 4);
    let error = verify_error(&verifier, &token(&a, &unknown_kid())).await;
    assert!(
        matches!(error, VerifyError::Invalid(InvalidReason::UnknownKid)),
        "{error:?}"
    );
    assert_eq!(server.fetches(), 4);
}

#[tokio::test]
async fn concurrent_requests_past_the_age_share_one_refresh() {
    let a = key_a();
    let server = JwksServer::start(&[&a]).await;
    let age = Duration::from_millis(300);
    let keys = cache(&server, ageing(age));
    let verifier = Arc::new(verifier(&keys));
    assert_verifies(&verifier, &token(&a, a.kid), a.kid).await;
    tokio::time::sleep(age + Duration::from_millis(50)).await;
    // The refresh is slow; everyone who needs the keys meanwhile waits for that one fetch.
    server.set_mode(Mode::Delay(Duration::from_millis(300)));
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let verifier = Arc::clone(&verifier);
            let token = token(&a, a.kid);
            tokio::spawn(async move { verifier.verify(&token).await.map(|v| v.kid) })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap().map_err(|(e, _)| e).unwrap(), a.kid);
    }
    assert_eq!(server.fetches(), 2);
}

#[tokio::test]
async fn a_pem_key_never_ages_and_never_fetches() {
    let a = key_a();
    let keys = cache_for(
        KeySource::from_pem(a.public_pem).unwrap(),
        ageing(Duration::from_millis(1)),
    );
    let verifier = verifier(&keys);
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_verifies(&verifier, &token(&a, a.kid), a.kid).await;
    assert_eq!(keys.fetch_count(), 0);
}

// ---------------------------------------------------------------------------------------------------------
// Outages

#[tokio::test]
async fn endpoint_down_after_a_load_keeps_known_keys_and_fails_unknown_kids() {
    let a = key_a();
    let server = JwksServer::start(&[&a]).await;
    let interval = Duration::from_millis(200);
    let keys = cache(&server, options(interval, Duration::from_secs(3)));
    let verifier = verifier(&keys);
    assert_verifies(&verifier, &token(&a, a.kid), a.kid).await;

    server.set_mode(Mode::Fail(500));
    tokio::time::sleep(interval + Duration::from_millis(100)).await;

    // Known kid: verified from memory, the server is not asked.
    assert_verifies(&verifier, &token(&a, a.kid), a.kid).await;
    assert_eq!(server.fetches(), 1);

    // Unknown kid: the refetch fails, so no decision is possible. An error, not a Deny.
    let started = Instant::now();
    let error = verify_error(&verifier, &token(&a, &unknown_kid())).await;
    assert!(started.elapsed() < PROMPT, "took {:?}", started.elapsed());
    assert!(
        matches!(
            error,
            VerifyError::KeysUnavailable(KeyFetchError::Status(500))
        ),
        "{error:?}"
    );
    assert_eq!((keys.fetch_count(), server.fetches()), (2, 2));

    // Within the interval the failure is remembered: still unavailable, still not Invalid.
    let error = verify_error(&verifier, &token(&a, &unknown_kid())).await;
    assert!(
        matches!(error, VerifyError::KeysUnavailable(_)),
        "{error:?}"
    );

    // And the known key keeps working throughout.
    assert_verifies(&verifier, &token(&a, a.kid), a.kid).await;
    assert_eq!(keys.cached_kids(), vec![a.kid.to_owned()]);
}

#[tokio::test]
async fn slow_endpoint_is_cut_off_by_the_fetch_timeout() {
    let a = key_a();
    let server = JwksServer::start(&[&a]).await;
    let interval = Duration::from_millis(200);
    let keys = cache(&server, options(interval, Duration::from_millis(300)));
    let verifier = verifier(&keys);
    assert_verifies(&verifier, &token(&a, a.kid), a.kid).await;

    server.set_mode(Mode::Delay(Duration::from_secs(5)));
    tokio::time::sleep(interval + Duration::from_millis(100)).await;

    // Known kid: no fetch, so nothing to wait for.
    let started = Instant::now();
    assert_verifies(&verifier, &token(&a, a.kid), a.kid).await;
    assert!(started.elapsed() < PROMPT, "took {:?}", started.elapsed());
    assert_eq!(keys.fetch_count(), 1);

    // Unknown kid: the fetch is abandoned after 300 ms, well before the server's 5 s.
    let started = Instant::now();
    let error = verify_error(&verifier, &token(&a, &unknown_kid())).await;
    assert!(started.elapsed() < PROMPT, "took {:?}", started.elapsed());
    assert!(
        matches!(
            error,
            VerifyError::KeysUnavailable(KeyFetchError::Timeout | KeyFetchError::Transport(_))
        ),
        "{error:?}"
    );
    assert_eq!(keys.fetch_count(), 2);
    // Known kid still fine.
    assert_verifies(&verifier, &token(&a, a.kid), a.kid).await;
}

#[tokio::test]
async fn cold_cache_with_the_endpoint_down_is_a_function_error() {
    let a = key_a();
    let server = JwksServer::start(&[&a]).await;
    server.set_mode(Mode::Fail(500));
    let keys = cache(&server, KeyCacheOptions::default());

    let error = verify_error(&verifier(&keys), &token(&a, a.kid)).await;
    assert!(
        matches!(
            error,
            VerifyError::KeysUnavailable(KeyFetchError::Status(500))
        ),
        "{error:?}"
    );

    // Through the authorizer: Err(Unavailable::Keys), which the handler turns into a 500; never a Deny.
    let store = MemoryStore::new();
    store.put_user(UserRecord {
        user_id: SUB.into(),
        role: Role::Admin,
        memberships: Memberships::default(),
        suspended: false,
        clerk: Default::default(),
        revision: 0,
    });
    let authorizer = Authorizer::from_parts(Parts {
        prefix: ApiKeyPrefix::default_prefix(),
        pepper: Pepper::new(b"key-cache-tests-pepper-0123456789").unwrap(),
        settings: settings(),
        keys: Arc::clone(&keys),
        store,
        clock: Arc::new(FixedClock::at(NOW)),
    });
    let mut facts = DecisionFacts::default();
    let header = format!("Bearer {}", token(&a, a.kid));
    let result = authorizer.decide(Some(&header), &mut facts).await;
    assert!(matches!(result, Err(Unavailable::Keys(_))), "{result:?}");
    assert_eq!(facts.kid.as_deref(), Some(a.kid));

    // Timeouts and refused connections are the same kind of failure.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed = format!(
        "http://{}/.well-known/jwks.json",
        listener.local_addr().unwrap()
    );
    drop(listener);
    let keys = cache_for(
        KeySource::Jwks {
            url: closed,
            bearer: None,
        },
        KeyCacheOptions::default(),
    );
    let started = Instant::now();
    let error = verify_error(&verifier(&keys), &token(&a, a.kid)).await;
    assert!(started.elapsed() < PROMPT, "took {:?}", started.elapsed());
    assert!(
        matches!(
            error,
            VerifyError::KeysUnavailable(KeyFetchError::Transport(_))
        ),
        "{error:?}"
    );
}

#[tokio::test]
async fn jwks_without_usable_keys_is_a_failed_fetch_and_keeps_stale_keys() {
    let a = key_a();
    let server = JwksServer::start(&[&a]).await;
    let keys = cache(&server, options(Duration::ZERO, Duration::from_secs(3)));
    let verifier = verifier(&keys);
    assert_verifies(&verifier, &token(&a, a.kid), a.kid).await;

    // The right key material, but marked for encryption, or for another algorithm.
    let mut encryption = a.jwk();
    encryption["use"] = json!("enc");
    let mut rs512 = a.jwk();
    rs512["alg"] = json!("RS512");
    let useless = [
        json!({"keys": []}),
        json!({"keys": [encryption, rs512]}),
        json!({"keys": [{"kty": "EC", "kid": "ec", "crv": "P-256", "x": "AA", "y": "AA"}]}),
    ];
    for (round, document) in useless.into_iter().enumerate() {
        server.set_document(document);
        let error = verify_error(&verifier, &token(&a, &unknown_kid())).await;
        assert!(
            matches!(
                error,
                VerifyError::KeysUnavailable(KeyFetchError::NoUsableKeys)
            ),
            "round {round}: {error:?}"
        );
        // The stale set survives and still verifies.
        assert_eq!(keys.cached_kids(), vec![a.kid.to_owned()]);
        assert_verifies(&verifier, &token(&a, a.kid), a.kid).await;
    }

    // Not JSON at all, or JSON of the wrong shape: likewise.
    for document in [json!("garbage"), json!({"nokeys": true})] {
        server.set_document(document);
        let error = verify_error(&verifier, &token(&a, &unknown_kid())).await;
        assert!(
            matches!(
                error,
                VerifyError::KeysUnavailable(KeyFetchError::Invalid(_))
            ),
            "{error:?}"
        );
        assert_verifies(&verifier, &token(&a, a.kid), a.kid).await;
    }
}

#[tokio::test]
async fn oversized_jwks_is_a_failed_fetch() {
    let a = key_a();
    let server = JwksServer::start(&[&a]).await;
    let small = KeyCacheOptions {
        max_body_bytes: 100,
        ..KeyCacheOptions::default()
    };
    let keys = cache(&server, small);
    let error = verify_error(&verifier(&keys), &token(&a, a.kid)).await;
    assert!(
        matches!(error, VerifyError::KeysUnavailable(KeyFetchError::TooLarge)),
        "{error:?}"
    );
    assert!(keys.cached_kids().is_empty());
}

#[tokio::test]
async fn a_mixed_jwks_yields_only_its_usable_keys() {
    let (a, b) = (key_a(), key_b());
    let server = JwksServer::start(&[&a]).await;
    let mut encryption_b = b.jwk();
    encryption_b["use"] = json!("enc");
    server.set_document(
        json!({"keys": [a.jwk(), encryption_b, {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"}]}),
    );
    let keys = cache(&server, KeyCacheOptions::default());
    let verifier = verifier(&keys);
    assert_verifies(&verifier, &token(&a, a.kid), a.kid).await;
    assert_eq!(keys.cached_kids(), vec![a.kid.to_owned()]);
    // An HMAC "key" in the set is never a way to verify a token.
    assert!(matches!(
        keys.key("hmac").await,
        Err(KeyLookupError::UnknownKid)
    ));
}

// ---------------------------------------------------------------------------------------------------------
// Backend-API key source

const CLERK_SECRET: &str = "sk_test_abc";

/// An SDK configuration with a different endpoint per service, through the SDK's own service-specific
/// endpoint configuration (an in-memory shared config file), so nothing touches the process environment.
/// The Rust SDK looks services up by their id in lower case with spaces as hyphens: `secrets-manager`.
#[allow(deprecated)] // the aws-config aliases of aws-runtime's EnvConfigFiles; aws-runtime is not a dependency.
async fn per_service_sdk_config(dynamodb: &str, secrets_manager: &str) -> SdkConfig {
    use aws_config::profile::profile_file::{ProfileFileKind, ProfileFiles};
    let config_file = format!(
        "[profile gatehouse-tests]\nservices = gatehouse-local\n\n[services gatehouse-local]\n\
         dynamodb =\n  endpoint_url = {dynamodb}\nsecrets-manager =\n  endpoint_url = {secrets_manager}\n"
    );
    local_defaults()
        .profile_files(
            ProfileFiles::builder()
                .with_contents(ProfileFileKind::Config, config_file)
                .build(),
        )
        .profile_name("gatehouse-tests")
        .load()
        .await
}

#[tokio::test]
async fn backend_api_source_sends_the_secret_key_read_from_secrets_manager() {
    let Some(secrets_endpoint) = secretsmanager_endpoint() else {
        return;
    };
    let a = key_a();
    let server = JwksServer::start(&[&a]).await;
    server.require_bearer(CLERK_SECRET);
    let arn = create_secret(
        &secrets_endpoint,
        &unique_name("clerk-secret-key"),
        CLERK_SECRET,
    )
    .await;
    let client = aws_sdk_secretsmanager::Client::new(&sdk_config(&secrets_endpoint).await);
    let secret = secret_string(&client, &arn).await.unwrap();
    let url = format!("{}/v1/jwks", server.base_url);

    let keys = cache_for(
        KeySource::Jwks {
            url: url.clone(),
            bearer: Some(secret),
        },
        KeyCacheOptions::default(),
    );
    assert_verifies(&verifier(&keys), &token(&a, a.kid), a.kid).await;
    assert_eq!(server.fetches(), 1);

    // A wrong secret: the server answers 401, which is an outage, not a verdict on the token.
    let wrong = gatehouse::keys::SecretString::new("sk_test_wrong".into());
    let keys = cache_for(
        KeySource::Jwks {
            url: url.clone(),
            bearer: Some(wrong),
        },
        KeyCacheOptions::default(),
    );
    let error = verify_error(&verifier(&keys), &token(&a, a.kid)).await;
    assert!(
        matches!(
            error,
            VerifyError::KeysUnavailable(KeyFetchError::Status(401))
        ),
        "{error:?}"
    );
    // No secret at all: likewise.
    let keys = cache_for(
        KeySource::Jwks { url, bearer: None },
        KeyCacheOptions::default(),
    );
    let error = verify_error(&verifier(&keys), &token(&a, a.kid)).await;
    assert!(
        matches!(
            error,
            VerifyError::KeysUnavailable(KeyFetchError::Status(401))
        ),
        "{error:?}"
    );
}

/// The environment of a Backend-API-mode authorizer.
fn backend_env(
    table: &str,
    pepper_id: &str,
    clerk_secret_id: &str,
    api_url: &str,
) -> AuthorizerConfig {
    let vars: HashMap<String, String> = [
        ("TABLE_NAME", table),
        ("API_KEY_PEPPER_SECRET_ID", pepper_id),
        ("CLERK_ISSUER", DEV_ISSUER),
        ("CLERK_SECRET_KEY_SECRET_ID", clerk_secret_id),
        ("CLERK_API_URL", api_url),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    AuthorizerConfig::from_env(&Env::new(move |var: &str| vars.get(var).cloned())).unwrap()
}

#[tokio::test]
async fn from_config_in_backend_api_mode_against_dynamodb_local_and_moto() {
    let Some(dynamodb) = dynamodb_endpoint() else {
        return;
    };
    let Some(secrets) = secretsmanager_endpoint() else {
        return;
    };
    let a = key_a();
    let server = JwksServer::start(&[&a]).await;
    server.require_bearer(CLERK_SECRET);

    let pepper_text = "p".repeat(32) + &"e".repeat(32);
    assert_eq!(pepper_text.len(), 64);
    let pepper_arn = create_secret(&secrets, &unique_name("pepper"), &pepper_text).await;
    let clerk_arn = create_secret(&secrets, &unique_name("clerk-secret-key"), CLERK_SECRET).await;

    let store = fresh_store(&dynamodb).await;
    store
        .put_user(&UserRecord {
            user_id: SUB.into(),
            role: Role::Admin,
            memberships: Memberships {
                organization_ids: vec!["org_1".into()],
                ..Memberships::default()
            },
            suspended: false,
            clerk: Default::default(),
            revision: 0,
        })
        .await
        .unwrap();
    // A key hashed with the pepper held in moto: it only matches if from_config read that pepper.
    let api_key = apikey::generate(&ApiKeyPrefix::default_prefix()).unwrap();
    let key_id = apikey::generate_key_id().unwrap();
    let now = gatehouse::clock::Clock::now_unix(&gatehouse::clock::SystemClock);
    store
        .put_api_key(&ApiKeyRecord {
            key_id: key_id.clone(),
            user_id: SUB.into(),
            key_hash: Pepper::new(pepper_text.as_bytes())
                .unwrap()
                .hash(api_key.reveal()),
            name: "backend".into(),
            scopes: Scopes {
                read: true,
                write: false,
            },
            active: true,
            created_at: now,
            expires_at: None,
            tail: api_key.tail(),
            last_used_at: None,
            revoked_at: None,
        })
        .await
        .unwrap();

    let config = backend_env(store.table(), &pepper_arn, &clerk_arn, &server.base_url);
    assert_eq!(
        config.clerk.keys,
        ClerkKeyConfig::BackendApi {
            secret_id: clerk_arn.clone(),
            api_url: server.base_url.clone()
        }
    );
    // DynamoDB Local and moto listen on different ports; from_config takes one SdkConfig.
    let sdk = per_service_sdk_config(&dynamodb, &secrets).await;
    let authorizer = Authorizer::from_config(config, &sdk, KeyCacheOptions::default())
        .await
        .unwrap();
    assert_eq!(
        server.fetches(),
        0,
        "keys are fetched on first use, not at cold start"
    );

    let mut facts = DecisionFacts::default();
    let header = format!("Bearer {}", a.session_token(SUB, now));
    match authorizer.decide(Some(&header), &mut facts).await {
        Ok(Decision::Allow(principal)) => {
            assert_eq!(principal.user_id, SUB);
            assert_eq!(principal.auth_type, AuthType::Session);
            assert_eq!(principal.role, Role::Admin);
            assert_eq!(
                principal.memberships.organization_ids,
                vec!["org_1".to_owned()]
            );
        }
        other => panic!("expected an Allow, got {other:?}"),
    }
    assert_eq!(server.fetches(), 1);

    let mut facts = DecisionFacts::default();
    let header = format!("Bearer {}", api_key.reveal());
    match authorizer.decide(Some(&header), &mut facts).await {
        Ok(Decision::Allow(principal)) => {
            assert_eq!(principal.auth_type, AuthType::ApiKey);
            assert_eq!(principal.key_id, Some(key_id));
            assert_eq!(principal.role, Role::Admin);
            assert_eq!(
                principal.scopes,
                Scopes {
                    read: true,
                    write: false
                }
            );
        }
        other => panic!("expected an Allow, got {other:?}"),
    }

    // The same deployment with the wrong Clerk secret key: sessions fail as an outage, never a Deny.
    let wrong_arn =
        create_secret(&secrets, &unique_name("clerk-secret-key"), "sk_test_wrong").await;
    let config = backend_env(store.table(), &pepper_arn, &wrong_arn, &server.base_url);
    let authorizer = Authorizer::from_config(config, &sdk, KeyCacheOptions::default())
        .await
        .unwrap();
    let mut facts = DecisionFacts::default();
    let header = format!("Bearer {}", a.session_token(SUB, now));
    let result = authorizer.decide(Some(&header), &mut facts).await;
    assert!(
        matches!(result, Err(Unavailable::Keys(KeyFetchError::Status(401)))),
        "{result:?}"
    );
}
