//! Feeds `events/create-package.json` through the handler, on an in-memory store holding the sample world.
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
async fn a_manager_creates_a_package_at_a_location_in_scope() {
    let service = memory_resource_service(NOW).await;
    let response = create_package::function_handler(&service, event("create-package.json"))
        .await
        .unwrap();
    let (status, body) = status_and_json(&response);
    assert_eq!(status, 201, "{body}");
    assert!(body["id"].as_str().unwrap().starts_with("pkg_"));
    assert_eq!(body["locationId"], "loc_demo_1");
    assert_eq!(body["organizationId"], "org_demo");
}

#[tokio::test]
async fn an_admin_may_not_write() {
    let service = memory_resource_service(NOW).await;
    let mut event = event("create-package.json");
    let context = &mut event.payload.request_context.authorizer.fields;
    context.insert("userId".into(), "user_dev_admin".into());
    context.insert("role".into(), "admin".into());
    let response = create_package::function_handler(&service, event)
        .await
        .unwrap();
    let (status, body) = status_and_json(&response);
    assert_eq!(status, 403);
    assert_eq!(body["error"], "admin access is read-only");
}
