//! A body over 64 KiB is refused with 413 before it is read: a 6 MB body costs the route no memory
//! beyond the request the runtime already holds. Its own test binary, with one test, so the allocation
//! count is the routes' alone. The request is built (`lambda_http` parses the event) before counting
//! starts, as the runtime builds it before calling the handler.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::alloc::System;

use gatehouse::api::ApiResponse;
use gatehouse::routes::{Route, handle};
use gatehouse_testkit::samples::{self, memory_resource_service};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const NOW: i64 = 1_800_000_000;

/// The sample event `file` with `body`, as the `http::Request` `lambda_http` hands the handler.
fn request(file: &str, body: &str) -> lambda_http::Request {
    let mut event = samples::load_event(file);
    event["body"] = serde_json::Value::from(body);
    lambda_http::request::from_str(&event.to_string()).unwrap()
}

fn status_and_json(response: &ApiResponse) -> (u16, serde_json::Value) {
    let body = match response.body() {
        lambda_http::Body::Text(text) => serde_json::from_str(text).unwrap(),
        other => panic!("unexpected body {other:?}"),
    };
    (response.status().as_u16(), body)
}

#[tokio::test(flavor = "current_thread")]
async fn six_megabyte_bodies_are_refused_without_being_read() {
    let service = memory_resource_service(NOW).await;

    // POST /v1/me/keys
    let huge = format!(
        r#"{{"name":"x","scopes":[{}"read"]}}"#,
        "\"read\",".repeat(6 * 1024 * 1024 / 7)
    );
    assert!(huge.len() > 6_000_000);
    let big = request("create-key.json", &huge);
    let region = Region::new(GLOBAL);
    let response = handle(Route::CreateKey, &service, &big).await;
    let allocated = region.change().bytes_allocated;
    let (status, body) = status_and_json(&response);
    assert_eq!(status, 413);
    assert_eq!(body["code"], "payload_too_large");
    assert_eq!(body["error"], "request body too large");
    // Parsing it allocated about 170 MB; refusing it allocates only the answer.
    assert!(
        allocated < 16 * 1024,
        "create-key allocated {allocated} bytes"
    );
    // Just under the limit is read and judged on its content.
    let scopes = format!("[{}]", ["\"read\""; 3].join(","));
    let small = request(
        "create-key.json",
        &format!(r#"{{"name":"x","scopes":{scopes}}}"#),
    );
    let (status, body) = status_and_json(&handle(Route::CreateKey, &service, &small).await);
    assert_eq!(status, 400);
    assert_eq!(
        body["error"],
        "scopes must name at most 2 scopes (read, write)"
    );

    // POST /v1/signing/manager/signings
    let package = |signers: &str| {
        format!(
            r#"{{"locationId":"loc_demo_1","title":"t","signerUserIds":[{signers}],"documents":[{{"name":"a.pdf"}}]}}"#
        )
    };
    let huge = package(&vec!["\"user_dev_signer\""; 6 * 1024 * 1024 / 18].join(","));
    assert!(huge.len() > 6_000_000);
    let big = request("create-package.json", &huge);
    let region = Region::new(GLOBAL);
    let response = handle(Route::CreatePackage, &service, &big).await;
    let stats = region.change();
    let (status, body) = status_and_json(&response);
    assert_eq!(status, 413);
    assert_eq!(body["code"], "payload_too_large");
    // Before the caller's scope is known the route reads the store (in memory here: a few small
    // records); the body itself is neither copied nor parsed.
    assert!(
        stats.bytes_allocated < 64 * 1024,
        "create-package allocated {} bytes",
        stats.bytes_allocated
    );
    // Under the size limit, a list over its bound is refused by its count.
    let small = request(
        "create-package.json",
        &package(&vec!["\"user_dev_signer\""; 51].join(",")),
    );
    let (status, body) = status_and_json(&handle(Route::CreatePackage, &service, &small).await);
    assert_eq!(status, 400);
    assert_eq!(
        body["error"],
        "signerUserIds must be an array of 1 to 50 user ids"
    );
}
