//! Feeds `events/signing-session.json` through the handler, on an in-memory store holding the sample world.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use gatehouse_testkit::samples::{
    memory_resource_service, proxy_lambda_event as event, status_and_json,
};

const NOW: i64 = 1_800_000_000;

#[tokio::test]
async fn a_signer_sees_the_packages_assigned_to_them() {
    let service = memory_resource_service(NOW).await;
    let response = signing_session::function_handler(&service, event("signing-session.json"))
        .await
        .unwrap();
    let (status, body) = status_and_json(&response);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["items"][0]["id"], "pkg_demo_lease");
    assert_eq!(
        body["items"][0]["signers"],
        serde_json::json!(["user_dev_signer"])
    );
}
