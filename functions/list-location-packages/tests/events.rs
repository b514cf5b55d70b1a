//! Feeds `events/list-location-packages.json` through the handler, on an in-memory store holding the sample world.
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
async fn a_manager_lists_the_packages_at_a_location_in_scope() {
    let service = memory_resource_service(NOW).await;
    let response =
        list_location_packages::function_handler(&service, event("list-location-packages.json"))
            .await
            .unwrap();
    let (status, body) = status_and_json(&response);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["items"][0]["id"], "pkg_demo_lease");
    assert_eq!(body["items"][0]["documents"][0]["name"], "lease.pdf");
}
