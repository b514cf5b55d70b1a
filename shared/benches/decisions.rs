//! Warm-path cost of one authorizer decision, against its floor, in one criterion group so the ratio
//! is measured in the same run on the same machine state.
//!
//! - `rs256_verify_raw`: aws-lc-rs RS256 verification alone (key DER parsed per call, as jsonwebtoken
//!   does), same 2048-bit key and same token as `jwt_decision`.
//! - `jwt_decision`: `Authorizer::handle` on a realistic REST REQUEST event with a Clerk session JWT
//!   (PEM key source, so no fetch; FixedClock so the token stays valid), then the response serialized.
//! - `jwt_decision_jwks`: the same with the keys from a JWKS (a real HTTP server on loopback, fetched
//!   once before timing): the key cache's lookup with its age check, the path a Clerk deployment
//!   takes (`jwt_decision` minus this is what the JWKS cache costs per decision).
//! - `api_key_decision`: the same with an API key bearer.
//! - `oauth_decision`: the same with a Clerk OAuth access token (`typ` `at+jwt`, same key, `aud` the
//!   API's URL from the event's domain and stage): the session path plus the audience binding and the
//!   scope mapping.
//! - `jwks_key_lookup`: the JWKS key cache's warm lookup alone (the key of a kid, fresh keys): what the
//!   maximum age adds to the warm path shows here, undiluted.
//!
//! Both decisions read a [`MemoryStore`], run on a tokio current_thread runtime (`block_on` per
//! iteration: criterion's `async_tokio` feature is not enabled in the workspace), and log through
//! `tracing` with no subscriber installed, so the one `info!` line per decision is near-free.
//!
//! Run with `scripts/bench` (or `cargo bench -p gatehouse-shared --bench decisions`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use aws_lc_rs::signature::{RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use criterion::{Criterion, criterion_group, criterion_main};
use gatehouse::apikey::{self, ApiKeyPrefix, Pepper};
use gatehouse::authorizer::{Authorizer, Parts};
use gatehouse::authorizer_event::AuthorizerEvent;
use gatehouse::clock::FixedClock;
use gatehouse::jwt::VerifierSettings;
use gatehouse::keys::{IssuerKeys, KeyCacheOptions, KeySource};
use gatehouse::principal::{Memberships, Role, Scopes};
use gatehouse::store::memory::MemoryStore;
use gatehouse::store::{ApiKeyRecord, UserRecord};
use gatehouse_testkit::jwks_server::JwksServer;
use gatehouse_testkit::tokens::{self, DEV_ISSUER};
use jsonwebtoken::DecodingKey;
use serde_json::json;

/// The instant the benchmark runs at, as far as the authorizer knows.
const NOW: i64 = 1_750_000_000;
const USER_ID: &str = "user_2yQbenchmarkUser0000000001";
const METHOD_ARN: &str =
    "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/prod/GET/v1/packages/pkg_123";
const PEPPER: &[u8] = b"bench-pepper-0123456789abcdef";

/// A REST API REQUEST authorizer event as API Gateway sends it, with `Authorization: <value>`.
fn event(authorization: &str) -> AuthorizerEvent {
    let value = json!({
        "type": "REQUEST",
        "methodArn": METHOD_ARN,
        "resource": "/v1/packages/{id}",
        "path": "/v1/packages/pkg_123",
        "httpMethod": "GET",
        "headers": {
            "Accept": "application/json",
            "Accept-Encoding": "gzip, deflate, br",
            "Authorization": authorization,
            "CloudFront-Forwarded-Proto": "https",
            "CloudFront-Is-Desktop-Viewer": "true",
            "CloudFront-Viewer-Country": "US",
            "Host": "abcdef1234.execute-api.us-east-1.amazonaws.com",
            "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36",
            "Via": "2.0 0123456789abcdef0123456789abcdef.cloudfront.net (CloudFront)",
            "X-Amz-Cf-Id": "cDehVQoZnx43VYQb9j2-nvCh-9z396Uhbp027Y2JvkCPNLmGJHqlaA==",
            "X-Amzn-Trace-Id": "Root=1-5e66d96f-7491f09xmpl79d18acf3d050",
            "X-Forwarded-For": "198.51.100.7, 130.176.0.1",
            "X-Forwarded-Port": "443",
            "X-Forwarded-Proto": "https"
        },
        "multiValueHeaders": {
            "Accept": ["application/json"],
            "Accept-Encoding": ["gzip, deflate, br"],
            "Authorization": [authorization],
            "Host": ["abcdef1234.execute-api.us-east-1.amazonaws.com"],
            "X-Forwarded-For": ["198.51.100.7, 130.176.0.1"],
            "X-Forwarded-Port": ["443"],
            "X-Forwarded-Proto": ["https"]
        },
        "queryStringParameters": {"include": "documents"},
        "multiValueQueryStringParameters": {"include": ["documents"]},
        "pathParameters": {"id": "pkg_123"},
        "stageVariables": {},
        "requestContext": {
            "path": "/prod/v1/packages/pkg_123",
            "accountId": "123456789012",
            "resourceId": "a1b2c3",
            "stage": "prod",
            "domainName": "abcdef1234.execute-api.us-east-1.amazonaws.com",
            "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
            "identity": {"apiKey": "", "sourceIp": "198.51.100.7"},
            "resourcePath": "/v1/packages/{id}",
            "httpMethod": "GET",
            "apiId": "abcdef1234"
        }
    });
    serde_json::from_value(value).expect("the sample event deserializes")
}

/// A Clerk v2 session token signed by the dev key, with an active organization.
fn session_token() -> String {
    let key = tokens::dev_key();
    let mut claims = tokens::session_claims(DEV_ISSUER, USER_ID, NOW);
    claims["o"] = json!({"id": "org_2yQbenchmarkOrg00000000001", "rol": "admin", "slg": "acme"});
    claims["fea"] = json!("o:documents");
    claims["pla"] = json!("o:business");
    key.mint(&tokens::session_header(key.kid), &claims)
}

fn authorizer_with(store: MemoryStore, source: KeySource) -> Authorizer<MemoryStore> {
    let options = KeyCacheOptions::default();
    let http = gatehouse::authorizer::http_client(options).expect("http client");
    Authorizer::from_parts(Parts {
        prefix: ApiKeyPrefix::default_prefix(),
        pepper: Pepper::new(PEPPER).expect("pepper"),
        settings: VerifierSettings {
            issuer: DEV_ISSUER.to_owned(),
            authorized_parties: Some(vec!["https://app.example.com".to_owned()]),
            clock_skew_secs: 5,
            allow_pending_sessions: false,
        },
        keys: Arc::new(IssuerKeys::new(DEV_ISSUER, source, http, options)),
        store,
        clock: Arc::new(FixedClock::at(NOW)),
    })
}

fn decisions(c: &mut Criterion) {
    // The same token and key for the floor and the full decision.
    let token = session_token();
    let (signing_input, signature_b64) = token.rsplit_once('.').expect("three segments");
    let signature = URL_SAFE_NO_PAD
        .decode(signature_b64)
        .expect("base64url signature");
    // Exactly the bytes jsonwebtoken hands to aws-lc-rs for a PEM key (PKCS#1 RSAPublicKey DER).
    let decoding_key =
        DecodingKey::from_rsa_pem(tokens::dev_key().public_pem.as_bytes()).expect("PEM");
    let key_der = decoding_key.try_get_as_bytes().expect("DER bytes").to_vec();

    let pepper = Pepper::new(PEPPER).expect("pepper");
    let api_key = apikey::generate(&ApiKeyPrefix::default_prefix()).expect("random");
    let seeded = || {
        let store = MemoryStore::new();
        store.put_user(UserRecord {
            user_id: USER_ID.to_owned(),
            role: Role::Manager,
            memberships: Memberships {
                organization_ids: vec!["org_2yQbenchmarkOrg00000000001".to_owned()],
                company_ids: vec!["cmp_1".to_owned(), "cmp_2".to_owned()],
                location_ids: vec!["loc_1".to_owned(), "loc_2".to_owned(), "loc_3".to_owned()],
            },
            suspended: false,
            clerk: Default::default(),
            revision: 0,
        });
        store.put_key(ApiKeyRecord {
            key_id: "k_2yQbenchmarkKey000000001".to_owned(),
            user_id: USER_ID.to_owned(),
            key_hash: pepper.hash(api_key.reveal()),
            name: "ci".to_owned(),
            scopes: Scopes {
                read: true,
                write: false,
            },
            active: true,
            created_at: NOW - 86_400,
            expires_at: Some(NOW + 86_400 * 90),
            tail: api_key.tail(),
            last_used_at: None,
            revoked_at: None,
        });
        store
    };
    let pem = KeySource::from_pem(tokens::dev_key().public_pem).expect("dev public key parses");
    let authorizer = authorizer_with(seeded(), pem);
    let jwt_event = event(&format!("Bearer {token}"));
    let key_event = event(&format!("Bearer {}", api_key.reveal()));
    let access_token = {
        let key = tokens::dev_key();
        let claims = tokens::access_token_claims(
            DEV_ISSUER,
            USER_ID,
            NOW,
            "https://abcdef1234.execute-api.us-east-1.amazonaws.com/prod",
        );
        key.mint(&tokens::access_token_header(key.kid), &claims)
    };
    let oauth_event = event(&format!("Bearer {access_token}"));

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let dev_key = tokens::dev_key();
    let jwks_server = rt.block_on(JwksServer::start(&[&dev_key]));
    let jwks_authorizer = authorizer_with(
        seeded(),
        KeySource::Jwks {
            url: jwks_server.jwks_url(),
            bearer: None,
        },
    );

    // Every case must measure the path it names: check the outcomes once before timing anything.
    UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &key_der)
        .verify(signing_input.as_bytes(), &signature)
        .expect("the raw signature verifies");
    for (name, authorizer, ev, auth_type) in [
        ("jwt", &authorizer, &jwt_event, "session"),
        ("jwt (jwks)", &jwks_authorizer, &jwt_event, "session"),
        ("api key", &authorizer, &key_event, "api_key"),
        ("oauth", &authorizer, &oauth_event, "oauth"),
    ] {
        let response = rt.block_on(authorizer.handle(ev)).expect("no outage");
        let value = serde_json::to_value(&response).expect("serializes");
        assert_eq!(
            value["policyDocument"]["Statement"][0]["Effect"], "Allow",
            "{name}: {value}"
        );
        assert_eq!(value["context"]["authType"], auth_type, "{name}: {value}");
        assert_eq!(value["context"]["userId"], USER_ID, "{name}: {value}");
    }

    let mut group = c.benchmark_group("decisions");
    group
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(5))
        .sample_size(100);

    group.bench_function("rs256_verify_raw", |b| {
        b.iter(|| {
            UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, black_box(key_der.as_slice()))
                .verify(
                    black_box(signing_input.as_bytes()),
                    black_box(signature.as_slice()),
                )
                .is_ok()
        });
    });

    group.bench_function("jwt_decision", |b| {
        b.iter(|| {
            let response = rt
                .block_on(authorizer.handle(black_box(&jwt_event)))
                .expect("no outage");
            serde_json::to_vec(&response).expect("serializes")
        });
    });

    group.bench_function("jwt_decision_jwks", |b| {
        b.iter(|| {
            let response = rt
                .block_on(jwks_authorizer.handle(black_box(&jwt_event)))
                .expect("no outage");
            serde_json::to_vec(&response).expect("serializes")
        });
    });
    assert_eq!(
        jwks_server.fetches(),
        1,
        "the JWKS was fetched once, before timing"
    );

    let jwks_keys = jwks_authorizer.verifier().keys().clone();
    let kid = dev_key.kid;
    group.bench_function("jwks_key_lookup", |b| {
        b.iter(|| {
            rt.block_on(jwks_keys.key(black_box(kid)))
                .expect("a known kid")
        });
    });

    group.bench_function("oauth_decision", |b| {
        b.iter(|| {
            let response = rt
                .block_on(authorizer.handle(black_box(&oauth_event)))
                .expect("no outage");
            serde_json::to_vec(&response).expect("serializes")
        });
    });

    group.bench_function("api_key_decision", |b| {
        b.iter(|| {
            let response = rt
                .block_on(authorizer.handle(black_box(&key_event)))
                .expect("no outage");
            serde_json::to_vec(&response).expect("serializes")
        });
    });

    group.finish();
}

criterion_group!(benches, decisions);
criterion_main!(benches);
