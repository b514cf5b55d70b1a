//! Feeds `events/revoke-key.json` through the handler, on an in-memory store holding the sample key.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use gatehouse_testkit::samples::{
    load_proxy_event, memory_key_service, proxy_lambda_event as event, status_and_json,
};
use lambda_runtime::{Context, LambdaEvent};

const NOW: i64 = 1_800_000_000;

#[tokio::test]
async fn revokes_and_repeating_is_harmless() {
    let service = memory_key_service(NOW).await;
    for _ in 0..2 {
        let response = revoke_key::function_handler(&service, event("revoke-key.json"))
            .await
            .unwrap();
        let (status, body) = status_and_json(&response);
        assert_eq!(status, 200);
        assert_eq!(body["id"], "k_sample");
        assert_eq!(body["active"], false);
    }
}

#[tokio::test]
async fn another_users_key_is_not_found() {
    let service = memory_key_service(NOW).await;
    let mut request = load_proxy_event("revoke-key.json");
    request
        .request_context
        .authorizer
        .fields
        .insert("userId".into(), "user_other".into());
    let response =
        revoke_key::function_handler(&service, LambdaEvent::new(request, Context::default()))
            .await
            .unwrap();
    let (status, body) = status_and_json(&response);
    assert_eq!(status, 404);
    assert_eq!(body["code"], "not_found");
    assert_eq!(body["error"], "api key not found");
}
