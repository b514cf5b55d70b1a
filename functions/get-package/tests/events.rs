//! Feeds `events/get-package.json` through the handler, on an in-memory store holding the sample world.
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
async fn an_admin_reads_any_package() {
    let service = memory_resource_service(NOW).await;
    let response = get_package::function_handler(&service, event("get-package.json"))
        .await
        .unwrap();
    let (status, body) = status_and_json(&response);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["id"], "pkg_demo_lease");
    assert_eq!(body["locationId"], "loc_demo_1");
}
