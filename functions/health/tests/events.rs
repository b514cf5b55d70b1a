//! Feeds `events/health.json` (an API Gateway REST proxy event) through the health handler.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use aws_lambda_events::apigw::ApiGatewayProxyRequest;
use aws_lambda_events::encodings::Body;
use lambda_runtime::{Context, LambdaEvent};

#[tokio::test]
async fn health_event_answers_ok_json() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../events/health.json"
    ))
    .unwrap();
    let event: ApiGatewayProxyRequest = serde_json::from_str(&text).unwrap();
    let response = health::function_handler(LambdaEvent::new(event, Context::default()))
        .await
        .unwrap();
    assert_eq!(response.status_code, 200);
    assert_eq!(response.headers["content-type"], "application/json");
    let Some(Body::Text(body)) = response.body else {
        panic!("expected a text body")
    };
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&body).unwrap(),
        serde_json::json!({"status": "ok"})
    );
}
