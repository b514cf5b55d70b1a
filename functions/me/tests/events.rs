//! Feeds `events/me-*.json` through the handler, on an in-memory store holding the sample key.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use gatehouse_testkit::samples::{
    memory_key_service, proxy_lambda_event as event, status_and_json,
};

const NOW: i64 = 1_800_000_000;

#[tokio::test]
async fn a_session_request_is_scoped_to_the_key_it_names() {
    let service = memory_key_service(NOW).await;
    let response = me::function_handler(&service, event("me-session.json"))
        .await
        .unwrap();
    let (status, body) = status_and_json(&response);
    assert_eq!(status, 200);
    assert_eq!(body["userId"], "user_dev_admin");
    assert_eq!(body["authType"], "session");
    assert_eq!(body["role"], "admin");
    assert_eq!(body["keyId"], "k_sample");
    assert_eq!(body["scopes"], serde_json::json!(["read", "write"]));
    assert_eq!(body["sessionId"], "sess_dev_demo");
}

#[tokio::test]
async fn an_api_key_request_shows_its_key() {
    let service = memory_key_service(NOW).await;
    let response = me::function_handler(&service, event("me-api-key.json"))
        .await
        .unwrap();
    let (status, body) = status_and_json(&response);
    assert_eq!(status, 200);
    assert_eq!(body["authType"], "api_key");
    assert_eq!(body["keyId"], "k_sample");
    assert_eq!(body["sessionId"], serde_json::Value::Null);
}

/// An authorizer answer the gateway cached outlives the credential: the route refuses the caller
/// from `expiresAt` on, with the 401 the authorizer would give.
#[tokio::test]
async fn an_expired_credential_is_refused_although_the_authorizer_allowed_it() {
    let service = memory_key_service(NOW).await;
    for (file, code, message) in [
        ("me-session.json", "token_expired", "invalid token: expired"),
        ("me-api-key.json", "invalid_api_key", "invalid api key"),
    ] {
        for (expires_at, expected) in [(NOW + 1, 200), (NOW, 401), (NOW - 3600, 401)] {
            let mut request = event(file);
            request
                .payload
                .request_context
                .authorizer
                .fields
                .insert("expiresAt".into(), expires_at.to_string().into());
            let response = me::function_handler(&service, request).await.unwrap();
            let (status, body) = status_and_json(&response);
            assert_eq!(status, expected, "{file} {expires_at}: {body}");
            if expected == 401 {
                assert_eq!(body["code"], code);
                assert_eq!(body["error"], message);
                assert_eq!(response.headers["www-authenticate"], "Bearer");
            }
        }
    }
}
