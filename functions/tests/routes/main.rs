//! Every route binary's handler (`gatehouse::routes`), fed the sample events in `events/` exactly as
//! its Lambda runtime loop feeds it (`routes::invoke`, `lambda_http`'s own adapter), each event both as
//! the REST API sends it (payload 1.0) and as its HTTP API twin (payload 2.0): same answer either way.
//! `refusals` proves that a caller the authorizer refused reaches no route logic on either API type.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod refusals;
mod resources;
mod self_service;

use gatehouse::resources::ResourceService;
use gatehouse::routes::Route;
use gatehouse::store::memory::MemoryStore;
use gatehouse_testkit::samples::{self, RouteAnswer, http_api_event, invoke_route};
use serde_json::Value;

/// The instant the tests run at.
pub const NOW: i64 = 1_800_000_000;

/// A service on a fresh in-memory world ([`samples::seed_world`]).
pub async fn service() -> ResourceService<MemoryStore> {
    samples::memory_resource_service(NOW).await
}

/// Runs the REST event `event` through `route`, then its HTTP API twin; asserts both answers have the
/// same status and body (`same_body: false` for routes that create something new each time) and
/// returns the REST answer.
pub async fn both_formats(
    route: Route,
    service: &ResourceService<MemoryStore>,
    event: &Value,
    same_body: bool,
) -> RouteAnswer {
    let rest = invoke_route(route, service, event).await;
    let http = invoke_route(route, service, &http_api_event(event)).await;
    assert_eq!(
        rest.status, http.status,
        "{route:?}: {} vs {}",
        rest.body, http.body
    );
    if same_body {
        assert_eq!(rest.body, http.body, "{route:?}");
    }
    assert_eq!(
        rest.headers.get("content-type"),
        http.headers.get("content-type")
    );
    rest
}

/// [`both_formats`] on the sample event `file`.
pub async fn sample(route: Route, file: &str) -> RouteAnswer {
    both_formats(route, &service().await, &samples::load_event(file), true).await
}

/// Sets a field of a REST event's authorizer context.
pub fn with_context(mut event: Value, key: &str, value: &str) -> Value {
    event["requestContext"]["authorizer"][key] = Value::from(value);
    event
}

#[test]
fn every_route_has_a_sample_event() {
    for route in Route::ALL {
        let file = samples::events_dir().join(format!("{}.json", route.binary()));
        let session = samples::events_dir().join(format!("{}-session.json", route.binary()));
        assert!(
            file.exists() || session.exists(),
            "events/{}.json is missing",
            route.binary()
        );
    }
}
