//! Routing as README "Routes" declares it: `/health` needs no token, anything the template does not
//! declare (path or method) is a JSON 404 (on an HTTP API, API Gateway's own `{"message":"Not Found"}`).

use gatehouse_testkit::serve::Serve;
use reqwest::Method;
use serde_json::json;

use crate::common::{GatewayAnswer, request, send, signed_in};

/// `/health` answers without a token (and ignores a bad one); unknown paths and methods are 404s.
pub async fn health_and_unknown_routes(serve: &Serve) {
    let health = send(request(serve, Method::GET, "/health", None)).await;
    health.expect_status(200).expect_json_content_type();
    assert_eq!(health.body, json!({"status": "ok"}), "{}", health.text);

    let with_garbage = send(
        serve
            .client()
            .get(serve.url("/health"))
            .header("Authorization", "Basic Zm9vOmJhcg=="),
    )
    .await;
    with_garbage.expect_status(200);
    assert_eq!(with_garbage.body, json!({"status": "ok"}));

    let token = signed_in(serve, "user_routes", "signer");
    let cases: [(Method, &str, Option<&str>); 8] = [
        (Method::GET, "/nope", None),
        (Method::GET, "/nope", Some(&token)),
        (Method::GET, "/v1/nope", Some(&token)),
        (Method::GET, "/v1/me/keys/k_x/extra", Some(&token)),
        (Method::PUT, "/v1/me", Some(&token)),
        (Method::POST, "/health", None),
        (Method::PATCH, "/v1/me/keys", Some(&token)),
        (Method::DELETE, "/v1/me/keys", Some(&token)),
    ];
    for (method, path, token) in cases {
        let reply = send(request(serve, method, path, token)).await;
        reply.expect_gateway(serve, GatewayAnswer::NotFound);
    }

    // The known route still works with the same token.
    send(request(serve, Method::GET, "/v1/me", Some(&token)))
        .await
        .expect_status(200);
}
