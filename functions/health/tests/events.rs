//! Feeds `events/health.json` (an API Gateway REST proxy event) through the health handler.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use lambda_http::request::LambdaRequest;
use lambda_http::{Body, Request};

#[tokio::test]
async fn health_event_answers_ok_json() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../events/health.json"
    ))
    .unwrap();
    let request: Request = serde_json::from_str::<LambdaRequest>(&text).unwrap().into();
    let response = health::function_handler(request).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    let Body::Text(body) = response.body() else {
        panic!("expected a text body")
    };
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(body).unwrap(),
        serde_json::json!({"status": "ok"})
    );
}
