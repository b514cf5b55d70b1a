//! Feeds `events/list-keys.json` through the handler, on an in-memory store holding the sample key.
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
async fn lists_metadata_only() {
    let service = memory_key_service(NOW).await;
    let response = list_keys::function_handler(&service, event("list-keys.json"))
        .await
        .unwrap();
    let (status, body) = status_and_json(&response);
    assert_eq!(status, 200);
    let keys = body["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    let fields: Vec<&str> = keys[0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        fields,
        [
            "active",
            "createdAt",
            "expiresAt",
            "id",
            "lastUsedAt",
            "name",
            "scopes",
            "tail"
        ]
    );
    assert_eq!(keys[0]["id"], "k_sample");
}
