//! A body over 64 KiB is refused with 413 before it is parsed, and the lists in a body are bounded
//! before anything is copied. Its own test binary, with one test, so the allocation count is this
//! handler's alone.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::alloc::System;

use gatehouse_testkit::samples::{
    memory_resource_service, proxy_lambda_event as event, status_and_json,
};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const NOW: i64 = 1_800_000_000;

#[tokio::test(flavor = "current_thread")]
async fn a_six_megabyte_body_is_refused_without_being_parsed() {
    let service = memory_resource_service(NOW).await;
    let mut request = event("create-package.json");
    let signers = vec!["\"user_dev_signer\""; 6 * 1024 * 1024 / 18].join(",");
    let huge = format!(
        r#"{{"locationId":"loc_demo_1","title":"t","signerUserIds":[{signers}],"documents":[{{"name":"a.pdf"}}]}}"#
    );
    assert!(huge.len() > 6_000_000);
    request.payload.body = Some(huge);

    let region = Region::new(GLOBAL);
    let response = create_package::function_handler(&service, request)
        .await
        .unwrap();
    let stats = region.change();

    let (status, body) = status_and_json(&response);
    assert_eq!(status, 413);
    assert_eq!(body["code"], "payload_too_large");
    // Before the caller's scope is known the route reads the store (in memory here: a few small
    // records); the body itself is neither copied nor parsed.
    assert!(
        stats.bytes_allocated < 64 * 1024,
        "the handler allocated {} bytes",
        stats.bytes_allocated
    );

    // Under the size limit, a list over its bound is refused by its count.
    let mut request = event("create-package.json");
    let signers = vec!["\"user_dev_signer\""; 51].join(",");
    request.payload.body = Some(format!(
        r#"{{"locationId":"loc_demo_1","title":"t","signerUserIds":[{signers}],"documents":[{{"name":"a.pdf"}}]}}"#
    ));
    let (status, body) = status_and_json(
        &create_package::function_handler(&service, request)
            .await
            .unwrap(),
    );
    assert_eq!(status, 400);
    assert_eq!(
        body["error"],
        "signerUserIds must be an array of 1 to 50 user ids"
    );
}
