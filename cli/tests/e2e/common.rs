//! Helpers shared by the scenarios: requests with a bearer token, the parsed reply, and assertions
//! on README "Errors" error bodies.

use gatehouse_testkit::serve::{Api, Serve};
use reqwest::header::{CONTENT_TYPE, HeaderMap, WWW_AUTHENTICATE};
use reqwest::{Method, RequestBuilder};
use serde_json::{Value, json};

/// A response, read completely.
#[derive(Debug)]
pub struct Reply {
    /// What was asked, for failure messages.
    pub request: String,
    /// The status code.
    pub status: u16,
    /// The response headers.
    pub headers: HeaderMap,
    /// The body as text.
    pub text: String,
    /// The body as JSON (`Value::Null` when it is not JSON).
    pub body: Value,
}

impl Reply {
    /// Panics unless the status is `status`; the reply, for chaining.
    pub fn expect_status(&self, status: u16) -> &Self {
        assert_eq!(
            self.status, status,
            "{}: expected {status}, got {} with headers {:?} and body {}",
            self.request, self.status, self.headers, self.text
        );
        self
    }

    /// Panics unless the status is `status` and the body `{"error": message, "code": code}`, served as
    /// JSON; 401s must also carry `WWW-Authenticate: Bearer`.
    pub fn expect_error(&self, status: u16, code: &str, message: &str) {
        self.expect_status(status);
        assert_eq!(
            self.body,
            json!({"error": message, "code": code}),
            "{}: wrong error body {}",
            self.request,
            self.text
        );
        self.expect_json_content_type();
        if status == 401 {
            assert!(
                self.header(WWW_AUTHENTICATE.as_str())
                    .is_some_and(is_bearer_challenge),
                "{}: a 401 must carry WWW-Authenticate: Bearer; headers {:?}",
                self.request,
                self.headers
            );
        }
    }

    /// Panics unless `Content-Type` is `application/json` (parameters allowed).
    pub fn expect_json_content_type(&self) {
        let content_type = self.header(CONTENT_TYPE.as_str()).unwrap_or_default();
        assert!(
            content_type == "application/json" || content_type.starts_with("application/json;"),
            "{}: Content-Type is {content_type:?}, not application/json",
            self.request
        );
    }

    /// A response header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// An answer API Gateway gives itself, before or instead of any route: on a REST API a gateway
/// response with the contract's body, on an HTTP API (no gateway responses) API Gateway's own
/// `{"message": ...}`.
#[derive(Debug, Clone, Copy)]
pub enum GatewayAnswer {
    /// No `Authorization` header: the authorizer is not invoked.
    MissingAuthorization,
    /// No route for the method and path.
    NotFound,
    /// The authorizer failed.
    AuthorizerUnavailable,
}

impl Reply {
    /// Panics unless this is `answer` as the API type of `serve` gives it.
    pub fn expect_gateway(&self, serve: &Serve, answer: GatewayAnswer) {
        match (serve.api(), answer) {
            (Api::Rest, GatewayAnswer::MissingAuthorization) => self.expect_error(
                401,
                "missing_authorization",
                "missing or malformed Authorization header",
            ),
            (Api::Rest, GatewayAnswer::NotFound) => {
                self.expect_error(404, "not_found", "not found")
            }
            (Api::Rest, GatewayAnswer::AuthorizerUnavailable) => self.expect_error(
                500,
                "authorizer_unavailable",
                "authorization service unavailable",
            ),
            (Api::Http, answer) => {
                let (status, message) = match answer {
                    GatewayAnswer::MissingAuthorization => (401, "Unauthorized"),
                    GatewayAnswer::NotFound => (404, "Not Found"),
                    GatewayAnswer::AuthorizerUnavailable => (500, "Internal Server Error"),
                };
                self.expect_status(status);
                assert_eq!(self.body, json!({"message": message}), "{}", self.request);
                self.expect_json_content_type();
                assert!(
                    self.header("apigw-requestid").is_some(),
                    "{:?}",
                    self.headers
                );
            }
        }
    }

    /// Panics unless this is the 401 a route answers itself (a credential that expired under a cached
    /// Allow, or on an HTTP API any refusal): the contract's body and `WWW-Authenticate: Bearer`. A
    /// REST API delivers an integration's `WWW-Authenticate` as `x-amzn-Remapped-WWW-Authenticate`
    /// (API Gateway's rule for Lambda proxy responses, which `serve` reproduces); an HTTP API passes it
    /// through.
    pub fn expect_route_401(&self, serve: &Serve, code: &str, message: &str) {
        self.expect_status(401);
        assert_eq!(
            self.body,
            json!({"error": message, "code": code}),
            "{}",
            self.text
        );
        self.expect_json_content_type();
        let header = match serve.api() {
            Api::Rest => "x-amzn-remapped-www-authenticate",
            Api::Http => "www-authenticate",
        };
        assert_eq!(self.header(header), Some("Bearer"), "{:?}", self.headers);
    }
}

/// `Bearer`, or (a REST API's gateway responses with `PublicBaseUrl` set, as `serve` sets it) `Bearer`
/// naming the API's protected-resource metadata (README, "OAuth access tokens and MCP").
pub fn is_bearer_challenge(value: &str) -> bool {
    value == "Bearer"
        || value
            .strip_prefix("Bearer resource_metadata=\"http://127.0.0.1:")
            .and_then(|rest| rest.split_once('/'))
            .is_some_and(|(port, path)| {
                port.bytes().all(|b| b.is_ascii_digit())
                    && path == ".well-known/oauth-protected-resource\""
            })
}

/// Sends `request` and reads the whole reply.
pub async fn send(request: RequestBuilder) -> Reply {
    let (client, built) = request.build_split();
    let built = built.unwrap();
    let description = format!("{} {}", built.method(), built.url().path());
    let response = client
        .execute(built)
        .await
        .unwrap_or_else(|e| panic!("{description}: request failed: {e}"));
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response
        .text()
        .await
        .unwrap_or_else(|e| panic!("{description}: reading the body failed: {e}"));
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Reply {
        request: description,
        status,
        headers,
        text,
        body,
    }
}

/// A request with `Authorization: Bearer <token>` when a token is given.
pub fn request(serve: &Serve, method: Method, path: &str, token: Option<&str>) -> RequestBuilder {
    let builder = serve.client().request(method, serve.url(path));
    match token {
        Some(token) => builder.header("Authorization", format!("Bearer {token}")),
        None => builder,
    }
}

/// `GET path` as `token`.
pub async fn get(serve: &Serve, path: &str, token: &str) -> Reply {
    send(request(serve, Method::GET, path, Some(token))).await
}

/// `GET /v1/me` as `token`, expecting 200; the body.
pub async fn me(serve: &Serve, token: &str) -> Value {
    let reply = get(serve, "/v1/me", token).await;
    reply.expect_status(200).expect_json_content_type();
    reply.body
}

/// `GET /v1/me` as `token` with `X-Use-Api-Key: use`, expecting 200; the body.
pub async fn me_using(serve: &Serve, token: &str, use_key: &str) -> Value {
    let reply =
        send(request(serve, Method::GET, "/v1/me", Some(token)).header("X-Use-Api-Key", use_key))
            .await;
    reply.expect_status(200);
    reply.body
}

/// `POST /v1/me/keys` as `token` with a raw body.
pub async fn post_keys(serve: &Serve, token: &str, body: &str) -> Reply {
    send(
        request(serve, Method::POST, "/v1/me/keys", Some(token))
            .header("Content-Type", "application/json")
            .body(body.to_owned()),
    )
    .await
}

/// Creates a key as `token` with `body`, expecting 201; the created key.
pub async fn create_key(serve: &Serve, token: &str, body: Value) -> CreatedKey {
    let reply = post_keys(serve, token, &body.to_string()).await;
    reply.expect_status(201).expect_json_content_type();
    CreatedKey {
        id: reply.body["id"].as_str().unwrap().to_owned(),
        key: reply.body["key"].as_str().unwrap().to_owned(),
        body: reply.body,
    }
}

/// `GET /v1/me/keys` as `token`, expecting 200; the `keys` array.
pub async fn list_keys(serve: &Serve, token: &str) -> Vec<Value> {
    let reply = get(serve, "/v1/me/keys", token).await;
    reply.expect_status(200).expect_json_content_type();
    reply.body["keys"]
        .as_array()
        .unwrap_or_else(|| panic!("no keys array in {}", reply.text))
        .clone()
}

/// `DELETE /v1/me/keys/{id}` as `token`.
pub async fn revoke(serve: &Serve, token: &str, id: &str) -> Reply {
    send(request(
        serve,
        Method::DELETE,
        &format!("/v1/me/keys/{id}"),
        Some(token),
    ))
    .await
}

/// A key as `POST /v1/me/keys` answered it.
#[derive(Debug, Clone)]
pub struct CreatedKey {
    /// `k_…`.
    pub id: String,
    /// The plaintext.
    pub key: String,
    /// The whole body.
    pub body: Value,
}

/// A signed-in user with a record of `role` and a fresh session token.
pub fn signed_in(serve: &Serve, user: &str, role: &str) -> String {
    serve.users_put(user, role, &[]);
    serve.mint(user)
}

/// Expects the `invalid_api_key` 401.
pub fn expect_invalid_api_key(reply: &Reply) {
    reply.expect_error(401, "invalid_api_key", "invalid api key");
}
