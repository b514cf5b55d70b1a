//! The API Gateway emulator against the real `template.yaml`, with fake functions: routing, the
//! authorizer's identity check, cache and policy evaluation, gateway responses and the proxy
//! integration's failure modes.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use aws_lambda_events::apigw::{
    ApiGatewayCustomAuthorizerRequestTypeRequest, ApiGatewayProxyRequest,
};
use bytes::Bytes;
use gatehouse_cli::gateway::{
    FunctionError, Gateway, GatewayError, GatewayOptions, LambdaFunction, ManualClock,
};
use gatehouse_cli::template::Template;
use serde_json::{Value, json};

const STAGE_WILDCARD: &str = "arn:aws:execute-api:us-east-1:123456789012:local/prod/*/*";

fn template() -> Template {
    Template::load(Path::new(env!("CARGO_MANIFEST_DIR")).join("../template.yaml")).unwrap()
}

fn policy(effect: &str, resource: &str) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": [resource]}]
    })
}

/// What the fake authorizer does, chosen by the bearer token.
async fn fake_authorizer(event: Value) -> Result<Value, FunctionError> {
    let typed: ApiGatewayCustomAuthorizerRequestTypeRequest =
        serde_json::from_value(event.clone()).expect("a REQUEST authorizer event");
    let arn = typed.method_arn.unwrap();
    let token = event["headers"]["authorization"]
        .as_str()
        .unwrap_or_default()
        .trim_start_matches("Bearer ")
        .to_owned();
    match token.as_str() {
        "deny" => Ok(json!({
            "principalId": "anonymous",
            "policyDocument": policy("Deny", STAGE_WILDCARD),
            "context": {"error": "invalid token: expired", "code": "token_expired"}
        })),
        "fail" => Err(FunctionError::new("Unavailable", "store unreachable")),
        "unauthorized" => Err(FunctionError::new("Error", "Unauthorized")),
        "garbage" => Ok(json!({"hello": "world"})),
        "object-context" => Ok(json!({
            "principalId": "u",
            "policyDocument": policy("Allow", STAGE_WILDCARD),
            "context": {"nested": {"a": 1}}
        })),
        // Names only the method ARN it was called for: wrong under caching.
        "first-route-only" => Ok(json!({
            "principalId": "user_narrow",
            "policyDocument": policy("Allow", &arn),
            "context": {"authType": "session"}
        })),
        user => Ok(json!({
            "principalId": user,
            "policyDocument": policy("Allow", STAGE_WILDCARD),
            "context": {"userId": user, "authType": "api_key", "scopes": "read,write", "n": 7, "flag": true}
        })),
    }
}

/// A route function answering 200 with the event it received.
async fn echo(event: Value) -> Result<Value, FunctionError> {
    let typed: ApiGatewayProxyRequest =
        serde_json::from_value(event.clone()).expect("a proxy event");
    assert_eq!(typed.request_context.stage.as_deref(), Some("prod"));
    Ok(json!({
        "statusCode": 200,
        "headers": {"content-type": "application/json"},
        "body": event.to_string(),
        "isBase64Encoded": false
    }))
}

struct Fixture {
    gateway: Gateway,
    authorizer_calls: Arc<AtomicUsize>,
    route_calls: Arc<AtomicUsize>,
    clock: Arc<ManualClock>,
}

type Route = Arc<dyn Fn(Value) -> Result<Value, FunctionError> + Send + Sync>;

fn fixture_with(options: GatewayOptions, me: Option<Route>) -> Fixture {
    fixture_on(template(), options, me)
}

fn fixture_on(template: Template, options: GatewayOptions, me: Option<Route>) -> Fixture {
    let authorizer_calls = Arc::new(AtomicUsize::new(0));
    let route_calls = Arc::new(AtomicUsize::new(0));
    let mut functions: HashMap<String, Arc<dyn LambdaFunction>> = HashMap::new();
    let calls = Arc::clone(&authorizer_calls);
    functions.insert(
        gatehouse::routes::AUTHORIZER_BINARY.into(),
        Arc::new(move |event: Value| {
            calls.fetch_add(1, Ordering::SeqCst);
            fake_authorizer(event)
        }),
    );
    for uri in gatehouse::routes::Route::ALL.map(|route| route.binary()) {
        let calls = Arc::clone(&route_calls);
        let custom = if uri == "me" { me.clone() } else { None };
        functions.insert(
            uri.into(),
            Arc::new(move |event: Value| {
                calls.fetch_add(1, Ordering::SeqCst);
                let custom = custom.clone();
                async move {
                    match custom {
                        Some(custom) => custom(event),
                        None => echo(event).await,
                    }
                }
            }),
        );
    }
    let clock = Arc::new(ManualClock::new());
    let gateway = Gateway::new(template, functions, options)
        .unwrap()
        .with_clock(clock.clone());
    Fixture {
        gateway,
        authorizer_calls,
        route_calls,
        clock,
    }
}

fn fixture() -> Fixture {
    fixture_with(GatewayOptions::default(), None)
}

struct Answer {
    status: u16,
    headers: http::HeaderMap,
    json: Value,
}

impl Fixture {
    async fn call(&self, method: &str, uri: &str, token: Option<&str>) -> Answer {
        let mut builder = http::Request::builder()
            .method(method)
            .uri(uri)
            .header("host", "localhost:3000");
        if let Some(token) = token {
            builder = builder.header("authorization", token);
        }
        let response = self
            .gateway
            .handle(builder.body(Bytes::new()).unwrap())
            .await;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.into_body();
        let json = serde_json::from_slice(&body)
            .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&body)));
        Answer {
            status,
            headers,
            json,
        }
    }

    fn authorizer_calls(&self) -> usize {
        self.authorizer_calls.load(Ordering::SeqCst)
    }
}

/// The proxy event the echo function received.
fn event_of(answer: &Answer) -> Value {
    assert_eq!(answer.status, 200, "{}", answer.json);
    answer.json.clone()
}

#[tokio::test]
async fn routes_with_path_parameters() {
    let f = fixture();
    let answer = f
        .call("DELETE", "/v1/me/keys/k_123?x=1", Some("Bearer user_1"))
        .await;
    let event = event_of(&answer);
    assert_eq!(event["resource"], "/v1/me/keys/{id}");
    assert_eq!(event["path"], "/v1/me/keys/k_123");
    assert_eq!(event["httpMethod"], "DELETE");
    assert_eq!(event["pathParameters"], json!({"id": "k_123"}));
    assert_eq!(event["queryStringParameters"], json!({"x": "1"}));
    assert_eq!(event["requestContext"]["resourcePath"], "/v1/me/keys/{id}");
    assert_eq!(event["requestContext"]["path"], "/prod/v1/me/keys/k_123");
    assert_eq!(answer.headers["content-type"], "application/json");
    assert!(answer.headers.contains_key("x-amzn-requestid"));

    let listed = event_of(&f.call("GET", "/v1/me/keys", Some("Bearer user_1")).await);
    assert_eq!(listed["resource"], "/v1/me/keys");
    assert_eq!(listed["pathParameters"], Value::Null);
    let created = event_of(&f.call("POST", "/v1/me/keys", Some("Bearer user_1")).await);
    assert_eq!(created["httpMethod"], "POST");
}

#[tokio::test]
async fn unknown_routes_and_methods_are_404_without_the_authorizer() {
    let f = fixture();
    for (method, path) in [
        ("GET", "/nope"),
        ("POST", "/health"),
        ("GET", "/v1"),
        ("PUT", "/v1/me/keys"),
        ("GET", "/prod/health"),
    ] {
        let answer = f.call(method, path, Some("Bearer user_1")).await;
        assert_eq!(answer.status, 404, "{method} {path}");
        assert_eq!(
            answer.json,
            json!({"error": "not found", "code": "not_found"})
        );
        assert_eq!(answer.headers["content-type"], "application/json");
    }
    assert_eq!(f.authorizer_calls(), 0);
    assert_eq!(f.route_calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn missing_identity_is_401_without_invoking_the_authorizer() {
    let f = fixture();
    for token in [None, Some("")] {
        let answer = f.call("GET", "/v1/me", token).await;
        assert_eq!(answer.status, 401);
        assert_eq!(
            answer.json,
            json!({"error": "missing or malformed Authorization header", "code": "missing_authorization"})
        );
        assert_eq!(answer.headers["www-authenticate"], "Bearer");
    }
    assert_eq!(f.authorizer_calls(), 0);
    assert_eq!(f.route_calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn deny_is_401_with_the_authorizers_error_and_code() {
    let f = fixture();
    let answer = f.call("GET", "/v1/me", Some("Bearer deny")).await;
    assert_eq!(answer.status, 401);
    assert_eq!(
        answer.json,
        json!({"error": "invalid token: expired", "code": "token_expired"})
    );
    assert_eq!(answer.headers["www-authenticate"], "Bearer");
    assert_eq!(answer.headers["content-type"], "application/json");
    assert_eq!(f.route_calls.load(Ordering::SeqCst), 0);
    // A Deny is cached like an Allow.
    let again = f.call("GET", "/v1/me/keys", Some("Bearer deny")).await;
    assert_eq!(again.status, 401);
    assert_eq!(f.authorizer_calls(), 1);
}

#[tokio::test]
async fn allow_passes_the_context_as_strings() {
    let f = fixture();
    let event = event_of(&f.call("GET", "/v1/me", Some("Bearer user_1")).await);
    let authorizer = &event["requestContext"]["authorizer"];
    assert_eq!(authorizer["principalId"], "user_1");
    assert_eq!(authorizer["userId"], "user_1");
    assert_eq!(authorizer["authType"], "api_key");
    assert_eq!(authorizer["n"], "7");
    assert_eq!(authorizer["flag"], "true");
    assert!(authorizer["integrationLatency"].is_number());
    let typed: ApiGatewayProxyRequest = serde_json::from_value(event).unwrap();
    assert_eq!(
        typed.request_context.authorizer.fields["scopes"],
        "read,write"
    );
}

#[tokio::test]
async fn results_are_cached_per_identity_for_the_ttl() {
    let f = fixture();
    assert_eq!(
        f.gateway.authorizer_ttl("GatehouseAuthorizer"),
        Some(Duration::from_secs(60))
    );
    f.call("GET", "/v1/me", Some("Bearer user_1")).await;
    assert_eq!(f.authorizer_calls(), 1);
    let cached = event_of(&f.call("GET", "/v1/me/keys", Some("Bearer user_1")).await);
    assert_eq!(f.authorizer_calls(), 1, "same identity: cached");
    assert_eq!(
        cached["requestContext"]["authorizer"]["integrationLatency"],
        0
    );
    f.call("GET", "/v1/me", Some("Bearer user_2")).await;
    assert_eq!(f.authorizer_calls(), 2, "another identity: invoked");

    f.clock.advance(Duration::from_secs(59));
    f.call("GET", "/v1/me", Some("Bearer user_1")).await;
    assert_eq!(f.authorizer_calls(), 2, "59 s later: still cached");
    f.clock.advance(Duration::from_secs(1));
    f.call("GET", "/v1/me", Some("Bearer user_1")).await;
    assert_eq!(f.authorizer_calls(), 3, "60 s later: expired");
}

#[tokio::test]
async fn the_ttl_option_overrides_and_zero_disables_caching() {
    let f = fixture_with(
        GatewayOptions {
            authorizer_ttl: Some(Duration::ZERO),
            ..GatewayOptions::default()
        },
        None,
    );
    for _ in 0..3 {
        f.call("GET", "/v1/me", Some("Bearer user_1")).await;
    }
    assert_eq!(f.authorizer_calls(), 3);

    let f = fixture_with(
        GatewayOptions {
            authorizer_ttl: Some(Duration::from_secs(5)),
            ..GatewayOptions::default()
        },
        None,
    );
    f.call("GET", "/v1/me", Some("Bearer user_1")).await;
    f.clock.advance(Duration::from_secs(4));
    f.call("GET", "/v1/me", Some("Bearer user_1")).await;
    assert_eq!(f.authorizer_calls(), 1);
    f.clock.advance(Duration::from_secs(1));
    f.call("GET", "/v1/me", Some("Bearer user_1")).await;
    assert_eq!(f.authorizer_calls(), 2);
}

#[tokio::test]
async fn a_cached_policy_is_evaluated_for_each_request() {
    let f = fixture();
    let first = f
        .call("GET", "/v1/me", Some("Bearer first-route-only"))
        .await;
    assert_eq!(first.status, 200);
    // Same identity, another route: the cached policy names only GET /v1/me -> ACCESS_DENIED (401 in
    // our template), with the Allow's context (no error/code in it).
    let second = f
        .call("GET", "/v1/me/keys", Some("Bearer first-route-only"))
        .await;
    assert_eq!(second.status, 401);
    assert_eq!(second.json, json!({"error": "", "code": ""}));
    assert_eq!(f.authorizer_calls(), 1);
    let third = f
        .call("DELETE", "/v1/me/keys/k_1", Some("Bearer first-route-only"))
        .await;
    assert_eq!(third.status, 401);
}

#[tokio::test]
async fn authorizer_failures_are_500_and_not_cached() {
    let f = fixture();
    for token in ["Bearer fail", "Bearer garbage", "Bearer object-context"] {
        let answer = f.call("GET", "/v1/me", Some(token)).await;
        assert_eq!(answer.status, 500, "{token}");
        assert_eq!(
            answer.json,
            json!({"error": "authorization service unavailable", "code": "authorizer_unavailable"})
        );
        assert!(!answer.headers.contains_key("www-authenticate"));
    }
    f.call("GET", "/v1/me", Some("Bearer fail")).await;
    assert_eq!(f.authorizer_calls(), 4, "failures are never cached");
    assert_eq!(f.route_calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn an_authorizer_failing_with_unauthorized_is_a_401() {
    let f = fixture();
    let answer = f.call("GET", "/v1/me", Some("Bearer unauthorized")).await;
    assert_eq!(answer.status, 401);
    assert_eq!(answer.json["code"], "missing_authorization");
}

#[tokio::test]
async fn function_errors_and_malformed_responses_are_502() {
    let failing: Route = Arc::new(|_| Err(FunctionError::new("Boom", "it broke")));
    let f = fixture_with(GatewayOptions::default(), Some(failing));
    let answer = f.call("GET", "/v1/me", Some("Bearer user_1")).await;
    assert_eq!(answer.status, 502);
    assert_eq!(
        answer.json,
        json!({"error": "Internal server error", "code": "internal_error"})
    );

    for malformed in [
        json!({"statusCode": 200, "body": {"not": "a string"}}),
        json!({"body": "no status"}),
        json!("just a string"),
        json!({"statusCode": 200, "unexpected": true}),
    ] {
        let route: Route = Arc::new(move |_| Ok(malformed.clone()));
        let f = fixture_with(GatewayOptions::default(), Some(route));
        let answer = f.call("GET", "/v1/me", Some("Bearer user_1")).await;
        assert_eq!(answer.status, 502);
        assert_eq!(answer.json["code"], "internal_error");
    }
}

#[tokio::test]
async fn proxy_responses_keep_status_headers_and_body() {
    let route: Route = Arc::new(|_| {
        Ok(json!({
            "statusCode": 403,
            "headers": {"x-one": "1", "WWW-Authenticate": "Bearer"},
            "multiValueHeaders": {"set-cookie": ["a=1", "b=2"]},
            "body": "{\"error\":\"no\",\"code\":\"forbidden\"}"
        }))
    });
    let f = fixture_with(GatewayOptions::default(), Some(route));
    let answer = f.call("GET", "/v1/me", Some("Bearer user_1")).await;
    assert_eq!(answer.status, 403);
    assert_eq!(answer.json["code"], "forbidden");
    assert_eq!(answer.headers["x-one"], "1");
    assert_eq!(answer.headers.get_all("set-cookie").iter().count(), 2);
    assert_eq!(answer.headers["content-type"], "application/json");
    // API Gateway REST remaps WWW-Authenticate from a proxy response.
    assert!(!answer.headers.contains_key("www-authenticate"));
    assert_eq!(answer.headers["x-amzn-remapped-www-authenticate"], "Bearer");
}

#[tokio::test]
async fn auth_none_routes_skip_the_authorizer() {
    let f = fixture();
    let event = event_of(&f.call("GET", "/health", None).await);
    assert!(event["requestContext"].get("authorizer").is_none());
    let event = event_of(&f.call("GET", "/health/", Some("Bearer deny")).await);
    assert_eq!(event["resource"], "/health");
    assert_eq!(f.authorizer_calls(), 0);
}

#[test]
fn a_missing_function_is_named() {
    let mut functions: HashMap<String, Arc<dyn LambdaFunction>> = HashMap::new();
    functions.insert("health".into(), Arc::new(|event: Value| echo(event)));
    let error = Gateway::new(template(), functions, GatewayOptions::default()).unwrap_err();
    let GatewayError::MissingFunctions(missing) = &error else {
        panic!("{error}");
    };
    let ids: Vec<&str> = missing.iter().map(|m| m.logical_id.as_str()).collect();
    assert!(ids.contains(&"AuthorizerFunction") && ids.contains(&"MeFunction"));
    assert!(!ids.contains(&"HealthFunction"));
    let message = error.to_string();
    assert!(
        message.contains("AuthorizerFunction (authorizer)"),
        "{message}"
    );
}

fn template_text() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../template.yaml")).unwrap()
}

#[test]
fn a_declared_function_without_a_route_must_be_known_too() {
    let text = template_text().replace(
        "\nOutputs:\n",
        "\n  ExtraFunction:\n    Type: AWS::Serverless::Function\n    Properties:\n      CodeUri: functions/unknown\n\nOutputs:\n",
    );
    let template = Template::parse(&text).unwrap();
    let mut functions: HashMap<String, Arc<dyn LambdaFunction>> = HashMap::new();
    for uri in gatehouse::routes::Route::ALL
        .map(|route| route.binary())
        .into_iter()
        .chain([gatehouse::routes::AUTHORIZER_BINARY])
    {
        functions.insert(uri.into(), Arc::new(|event: Value| echo(event)));
    }
    let error = Gateway::new(template, functions, GatewayOptions::default()).unwrap_err();
    let GatewayError::MissingFunctions(missing) = &error else {
        panic!("{error}");
    };
    let ids: Vec<&str> = missing.iter().map(|m| m.logical_id.as_str()).collect();
    assert_eq!(ids, ["ExtraFunction"]);
}

#[tokio::test]
async fn an_authorizer_without_identity_sources_is_never_cached_whatever_the_ttl() {
    // The template itself may only leave out identity sources when it disables caching...
    let text = template_text()
        .replace("              Headers: [Authorization]\n", "")
        .replace(
            "ReauthorizeEvery: !Ref ReauthorizeEvery",
            "ReauthorizeEvery: 0",
        );
    let template = Template::parse(&text).unwrap();
    // ...and the command-line TTL must not turn caching back on for it.
    let options = GatewayOptions {
        authorizer_ttl: Some(std::time::Duration::from_secs(60)),
        ..GatewayOptions::default()
    };
    let fixture = fixture_on(template, options, None);
    for _ in 0..2 {
        let answer = fixture.call("GET", "/v1/me", Some("Bearer user_1")).await;
        assert_eq!(answer.status, 200);
    }
    assert_eq!(fixture.authorizer_calls.load(Ordering::SeqCst), 2);
}
