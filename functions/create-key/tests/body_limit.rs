//! A body over 64 KiB is refused with 413 before it is read: a 6 MB body costs the handler no memory
//! beyond the event the runtime already holds. Its own test binary, with one test, so the allocation
//! count is this handler's alone.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::alloc::System;

use gatehouse_testkit::samples::{
    memory_key_service, proxy_lambda_event as event, status_and_json,
};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const NOW: i64 = 1_800_000_000;

#[tokio::test(flavor = "current_thread")]
async fn a_six_megabyte_body_is_refused_without_being_read() {
    let service = memory_key_service(NOW).await;
    let mut request = event("create-key.json");
    let huge = format!(
        r#"{{"name":"x","scopes":[{}"read"]}}"#,
        "\"read\",".repeat(6 * 1024 * 1024 / 7)
    );
    assert!(huge.len() > 6_000_000);
    request.payload.body = Some(huge);

    let region = Region::new(GLOBAL);
    let response = create_key::function_handler(&service, request)
        .await
        .unwrap();
    let allocated = region.change().bytes_allocated;

    let (status, body) = status_and_json(&response);
    assert_eq!(status, 413);
    assert_eq!(body["code"], "payload_too_large");
    assert_eq!(body["error"], "request body too large");
    // Parsing it (as before) allocated about 170 MB; refusing it allocates only the answer.
    assert!(
        allocated < 16 * 1024,
        "the handler allocated {allocated} bytes"
    );

    // Just under the limit is read and judged on its content.
    let mut request = event("create-key.json");
    let scopes = format!("[{}]", ["\"read\""; 3].join(","));
    request.payload.body = Some(format!(r#"{{"name":"x","scopes":{scopes}}}"#));
    let (status, body) = status_and_json(
        &create_key::function_handler(&service, request)
            .await
            .unwrap(),
    );
    assert_eq!(status, 400);
    assert_eq!(
        body["error"],
        "scopes must name at most 2 scopes (read, write)"
    );
}
