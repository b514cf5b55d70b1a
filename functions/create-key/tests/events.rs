//! Feeds `events/create-key*.json` through the handler, on an in-memory store.
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
async fn a_session_creates_a_key_and_sees_the_plaintext_once() {
    let service = memory_key_service(NOW).await;
    let response = create_key::function_handler(&service, event("create-key.json"))
        .await
        .unwrap();
    let (status, body) = status_and_json(&response);
    assert_eq!(status, 201);
    let key = body["key"].as_str().unwrap();
    assert!(key.starts_with("sf_"));
    assert!(body["id"].as_str().unwrap().starts_with("k_"));
    assert_eq!(body["name"], "ci deploy");
    assert_eq!(body["active"], true);
    assert_eq!(body["scopes"], serde_json::json!(["read"]));
    assert_eq!(body["tail"], &key[key.len() - 4..]);
    assert_eq!(
        body["expiresAt"],
        gatehouse::time::rfc3339(NOW + 30 * 86_400)
    );
    assert_eq!(body["createdAt"], gatehouse::time::rfc3339(NOW));
}

#[tokio::test]
async fn an_api_key_caller_is_refused() {
    let service = memory_key_service(NOW).await;
    let response = create_key::function_handler(&service, event("create-key-with-api-key.json"))
        .await
        .unwrap();
    let (status, body) = status_and_json(&response);
    assert_eq!(status, 403);
    assert_eq!(body["code"], "signed_in_user_required");
    assert_eq!(body["error"], "this endpoint requires a signed-in user");
}
