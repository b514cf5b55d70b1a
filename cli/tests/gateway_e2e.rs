//! The gateway in front of the real authorizer and route functions (memory store, dev signing key),
//! through their Lambda JSON envelopes: the contract's 401s come out of ACCESS_DENIED/UNAUTHORIZED as
//! deployed, the authorizer's context reaches the functions, and the authorizer cache has the
//! deployed consequences (a revoked key keeps working until its cached Allow expires).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use gatehouse::apikey::ApiKeyPrefix;
use gatehouse::clock::FixedClock;
use gatehouse::resources::ResourceService;
use gatehouse::self_service::KeyService;
use gatehouse::store::memory::MemoryStore;
use gatehouse_cli::gateway::{Gateway, GatewayOptions, ManualClock};
use gatehouse_cli::template::Template;
use gatehouse_testkit::samples::{self, DEV_ADMIN};
use gatehouse_testkit::tokens::dev_key;
use serde_json::{Value, json};

const NOW: i64 = 1_780_000_000;

struct Stack {
    gateway: Gateway,
    store: MemoryStore,
    clock: Arc<ManualClock>,
}

async fn stack() -> Stack {
    let store = MemoryStore::new();
    samples::seed(&store, &samples::pepper()).await.unwrap();
    let clock = Arc::new(FixedClock::at(NOW));
    let authorizer = Arc::new(samples::dev_authorizer(
        store.clone(),
        samples::pepper(),
        clock.clone(),
    ));
    let service = Arc::new(ResourceService::new(
        KeyService::from_parts(
            store.clone(),
            ApiKeyPrefix::default_prefix(),
            Some(samples::pepper()),
            clock.clone(),
        ),
        clock.clone(),
    ));
    let resources = Arc::new(ResourceService::new(
        KeyService::from_parts(
            store.clone(),
            ApiKeyPrefix::default_prefix(),
            None,
            clock.clone(),
        ),
        clock,
    ));

    let functions = gatehouse_cli::serve::functions(authorizer, service, resources);

    let template =
        Template::load(Path::new(env!("CARGO_MANIFEST_DIR")).join("../template.yaml")).unwrap();
    let manual = Arc::new(ManualClock::new());
    let gateway = Gateway::new(template, functions, GatewayOptions::default())
        .unwrap()
        .with_clock(manual.clone());
    Stack {
        gateway,
        store,
        clock: manual,
    }
}

impl Stack {
    async fn call(
        &self,
        method: &str,
        uri: &str,
        authorization: Option<&str>,
        body: Option<Value>,
    ) -> (u16, http::HeaderMap, Value) {
        let mut builder = http::Request::builder().method(method).uri(uri);
        if let Some(value) = authorization {
            builder = builder.header("authorization", value);
        }
        let body = match body {
            Some(body) => {
                builder = builder.header("content-type", "application/json");
                Bytes::from(body.to_string())
            }
            None => Bytes::new(),
        };
        let response = self.gateway.handle(builder.body(body).unwrap()).await;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let json = serde_json::from_slice(response.body()).unwrap_or(Value::Null);
        (status, headers, json)
    }
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

#[tokio::test]
async fn the_contracts_401s_come_out_of_the_gateway() {
    let s = stack().await;
    let (status, headers, body) = s.call("GET", "/v1/me", None, None).await;
    assert_eq!(status, 401);
    assert_eq!(body["code"], "missing_authorization");
    assert_eq!(headers["www-authenticate"], "Bearer");

    for (authorization, code, error) in [
        ("Bearer", "empty_token", "empty bearer token"),
        (
            "Basic abc",
            "malformed_authorization",
            "missing or malformed Authorization header",
        ),
        ("Bearer not.a.jwt", "invalid_token", "invalid token"),
        ("Bearer sf_nope", "invalid_api_key", "invalid api key"),
    ] {
        let (status, headers, body) = s.call("GET", "/v1/me", Some(authorization), None).await;
        assert_eq!(status, 401, "{authorization}");
        assert_eq!(
            body,
            json!({"error": error, "code": code}),
            "{authorization}"
        );
        assert_eq!(headers["www-authenticate"], "Bearer");
        assert_eq!(headers["content-type"], "application/json");
    }

    let (status, _, body) = s.call("GET", "/health", None, None).await;
    assert_eq!((status, body), (200, json!({"status": "ok"})));
    let (status, _, body) = s.call("GET", "/v1/nothing", None, None).await;
    assert_eq!(
        (status, body),
        (404, json!({"error": "not found", "code": "not_found"}))
    );
}

#[tokio::test]
async fn sessions_and_keys_reach_the_functions_with_their_context() {
    let s = stack().await;
    let session = bearer(&dev_key().session_token(DEV_ADMIN, NOW));
    let (status, _, me) = s.call("GET", "/v1/me", Some(&session), None).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["userId"], DEV_ADMIN);
    assert_eq!(me["authType"], "session");
    assert_eq!(me["role"], "admin");

    let key = bearer(&samples::sample_api_key());
    let (status, _, me) = s.call("GET", "/v1/me", Some(&key), None).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["authType"], "api_key");
    assert_eq!(me["keyId"], "k_sample");
    let (status, _, body) = s
        .call(
            "POST",
            "/v1/me/keys",
            Some(&key),
            Some(json!({"name": "x"})),
        )
        .await;
    assert_eq!(status, 403);
    assert_eq!(body["code"], "signed_in_user_required");
}

#[tokio::test]
async fn the_resource_routes_are_served_with_their_path_parameters() {
    let s = stack().await;
    samples::seed_world(&s.store, &samples::pepper())
        .await
        .unwrap();
    let key = bearer(&samples::sample_api_key());
    let (status, _, body) = s
        .call(
            "GET",
            "/v1/organizations/org_demo/companies",
            Some(&key),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["items"][0]["id"], "co_demo_east");
    let create = json!({"locationId": "loc_demo_1", "title": "Lease", "signerUserIds": [samples::DEV_SIGNER], "documents": [{"name": "a.pdf"}]});
    let (status, _, body) = s
        .call(
            "POST",
            "/v1/signing/manager/signings",
            Some(&key),
            Some(create.clone()),
        )
        .await;
    assert_eq!(
        (status, &body["error"]),
        (403, &json!("admin access is read-only"))
    );

    let manager = bearer(&dev_key().session_token(samples::DEV_MANAGER, NOW));
    let (status, _, created) = s
        .call(
            "POST",
            "/v1/signing/manager/signings",
            Some(&manager),
            Some(create),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let signer = bearer(&dev_key().session_token(samples::DEV_SIGNER, NOW));
    let path = format!("/v1/signing/packages/{}", created["id"].as_str().unwrap());
    let (status, _, body) = s.call("GET", &path, Some(&signer), None).await;
    assert_eq!((status, &body["title"]), (200, &json!("Lease")));
}

#[tokio::test]
async fn a_revoked_key_works_until_its_cached_allow_expires() {
    let s = stack().await;
    let session = bearer(&dev_key().session_token(DEV_ADMIN, NOW));
    let (status, _, created) = s
        .call(
            "POST",
            "/v1/me/keys",
            Some(&session),
            Some(json!({"name": "ci"})),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let key = bearer(created["key"].as_str().unwrap());
    let id = created["id"].as_str().unwrap();
    assert_eq!(s.call("GET", "/v1/me", Some(&key), None).await.0, 200);

    let (status, _, revoked) = s
        .call("DELETE", &format!("/v1/me/keys/{id}"), Some(&session), None)
        .await;
    assert_eq!(status, 200, "{revoked}");
    assert_eq!(revoked["active"], false);

    // API Gateway would still serve the cached Allow for ReauthorizeEvery (60 s).
    s.clock.advance(Duration::from_secs(59));
    assert_eq!(s.call("GET", "/v1/me", Some(&key), None).await.0, 200);
    s.clock.advance(Duration::from_secs(1));
    let (status, _, body) = s.call("GET", "/v1/me", Some(&key), None).await;
    assert_eq!(status, 401);
    assert_eq!(body["code"], "invalid_api_key");
}

#[tokio::test]
async fn a_store_outage_is_a_500_never_cached() {
    let s = stack().await;
    let key = bearer(&samples::sample_api_key());
    s.store.set_failing(true);
    let (status, headers, body) = s.call("GET", "/v1/me", Some(&key), None).await;
    assert_eq!(status, 500);
    assert_eq!(
        body,
        json!({"error": "authorization service unavailable", "code": "authorizer_unavailable"})
    );
    assert!(!headers.contains_key("www-authenticate"));
    s.store.set_failing(false);
    let (status, _, body) = s.call("GET", "/v1/me", Some(&key), None).await;
    assert_eq!(status, 200, "the failure was not cached: {body}");
}
