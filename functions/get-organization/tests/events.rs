//! Feeds `events/get-organization.json` through the handler, on an in-memory store holding the sample world.
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
async fn a_company_manager_reads_the_organization_it_touches() {
    let service = memory_resource_service(NOW).await;
    let response = get_organization::function_handler(&service, event("get-organization.json"))
        .await
        .unwrap();
    let (status, body) = status_and_json(&response);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["id"], "org_demo");
    assert_eq!(body["name"], "Demo Holdings");
}
