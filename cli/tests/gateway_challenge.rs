//! The REST API's 401 challenge as `gatehouse serve` answers it: the real binary, driven over HTTP.
//!
//! `template.yaml` builds the `WWW-Authenticate` header of the `UNAUTHORIZED` and `ACCESS_DENIED`
//! gateway responses with `!If [HasPublicBaseUrl, !Sub ..., 'Bearer']`, and `serve` loads it with
//! `PublicBaseUrl` set to its own URL, so both 401s name serve's protected-resource metadata
//! (RFC 9728), which serve answers.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use gatehouse_testkit::serve::{Api, Serve, ServeOptions, StoreKind};
use reqwest::header::WWW_AUTHENTICATE;
use serde_json::{Value, json};

fn start() -> Serve {
    Serve::start(
        env!("CARGO_BIN_EXE_gatehouse"),
        StoreKind::Embedded,
        ServeOptions {
            api: Api::Rest,
            ttl: None,
            demo: false,
        },
    )
}

/// Sends `request`; its status, every `WWW-Authenticate` value, and its body as JSON.
async fn send(request: reqwest::RequestBuilder) -> (u16, Vec<String>, Value) {
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let challenges = response
        .headers()
        .get_all(WWW_AUTHENTICATE)
        .iter()
        .map(|value| value.to_str().unwrap().to_owned())
        .collect();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, challenges, body)
}

#[tokio::test]
async fn rest_401s_name_the_protected_resource_metadata() {
    let serve = start();
    let metadata = serve.url("/.well-known/oauth-protected-resource");
    let expected = vec![format!("Bearer resource_metadata=\"{metadata}\"")];

    // No Authorization header: UNAUTHORIZED, answered without the authorizer.
    let (status, challenges, body) = send(serve.client().get(serve.url("/v1/me"))).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(
        body,
        json!({"error": "missing or malformed Authorization header", "code": "missing_authorization"})
    );
    assert_eq!(challenges, expected, "UNAUTHORIZED");

    // A token the authorizer refuses: ACCESS_DENIED.
    let (status, challenges, body) = send(
        serve
            .client()
            .get(serve.url("/v1/me"))
            .bearer_auth("not.a.jwt"),
    )
    .await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(
        body,
        json!({"error": "invalid token", "code": "invalid_token"})
    );
    assert_eq!(challenges, expected, "ACCESS_DENIED");

    // The URL the challenge names is served, and describes this API.
    let (status, _, document) = send(serve.client().get(&metadata)).await;
    assert_eq!(status, 200, "{document}");
    assert_eq!(
        document["resource"].as_str(),
        Some(serve.base_url()),
        "{document}"
    );
}
