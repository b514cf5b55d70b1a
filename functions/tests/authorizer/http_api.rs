//! HTTP API payload 2.0 events: a simple response whose context is the REST answer's, refusals in both
//! `HTTP_API_REFUSALS` modes, and an explicit error naming the supported shapes for every event the
//! authorizer cannot answer (a TOKEN event, a WebSocket event, garbage).

use std::sync::Arc;

use gatehouse::authorizer::Authorizer;
use gatehouse::clock::FixedClock;
use gatehouse::policy::HttpApiRefusals;
use gatehouse::principal::Role;
use gatehouse::store::memory::MemoryStore;
use gatehouse_testkit::samples::http_api_event;
use gatehouse_testkit::tokens::dev_key;
use serde_json::{Value, json};

use crate::common::{NOW, PEPPER, answer, event, user};

async fn authorizer(refusals: HttpApiRefusals) -> Authorizer<MemoryStore> {
    let store = MemoryStore::new();
    store.put_user(user("user_admin", Role::Admin, false));
    gatehouse_testkit::samples::dev_authorizer(
        store,
        gatehouse::apikey::Pepper::new(PEPPER).unwrap(),
        Arc::new(FixedClock::at(NOW)),
    )
    .with_http_api_refusals(refusals)
}

fn v2(authorization: Option<&str>) -> Value {
    http_api_event(&event(authorization).payload)
}

async fn json_answer(authorizer: &Authorizer<MemoryStore>, event: Value) -> Value {
    serde_json::to_value(answer(authorizer, event).await.unwrap()).unwrap()
}

#[tokio::test]
async fn an_allowed_caller_gets_a_simple_response_with_the_rest_context() {
    let authorizer = authorizer(HttpApiRefusals::Route).await;
    let header = format!("Bearer {}", dev_key().session_token("user_admin", NOW));
    let simple = json_answer(&authorizer, v2(Some(&header))).await;
    let rest = json_answer(&authorizer, event(Some(&header)).payload).await;
    assert_eq!(simple["isAuthorized"], true, "{simple}");
    assert_eq!(simple["context"], rest["context"]);
    assert_eq!(simple["context"]["userId"], "user_admin");
    assert_eq!(simple.as_object().unwrap().len(), 2, "{simple}");
}

#[tokio::test]
async fn refusals_reach_the_route_as_a_code_or_stop_at_the_gateway() {
    let route = authorizer(HttpApiRefusals::Route).await;
    let gateway = authorizer(HttpApiRefusals::Gateway).await;
    let expired = format!(
        "Bearer {}",
        dev_key().session_token("user_admin", NOW - 3600)
    );
    for (header, code) in [
        (None, "missing_authorization"),
        (Some("Basic dXNlcjpwYXNz"), "malformed_authorization"),
        (Some("Bearer not.a.jwt"), "invalid_token"),
        (Some(expired.as_str()), "token_expired"),
    ] {
        let simple = json_answer(&route, v2(header)).await;
        assert_eq!(
            simple,
            json!({"isAuthorized": true, "context": {"refusal": code}}),
            "{header:?}"
        );
        let simple = json_answer(&gateway, v2(header)).await;
        assert_eq!(
            simple,
            json!({"isAuthorized": false, "context": {}}),
            "{header:?}"
        );
    }
}

#[tokio::test]
async fn a_payload_2_event_without_route_arn_is_a_function_error() {
    let authorizer = authorizer(HttpApiRefusals::Route).await;
    let mut event = v2(Some("Bearer x"));
    event.as_object_mut().unwrap().remove("routeArn");
    let error = answer(&authorizer, event).await.unwrap_err();
    assert_eq!(error.error_type, "Gatehouse.InvalidEvent");
    assert!(
        error.error_message.contains("routeArn"),
        "{}",
        error.error_message
    );
}

#[tokio::test]
async fn every_other_shape_is_an_error_naming_the_supported_ones() {
    let authorizer = authorizer(HttpApiRefusals::Route).await;
    let token_event = json!({
        "type": "TOKEN",
        "authorizationToken": "Bearer x",
        "methodArn": "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/prod/GET/v1/me"
    });
    let websocket = json!({
        "type": "REQUEST",
        "methodArn": "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/prod/$connect",
        "headers": {"Authorization": "Bearer x"},
        "requestContext": {"eventType": "CONNECT", "connectionId": "abc=", "routeKey": "$connect"}
    });
    let mut unknown_version = v2(Some("Bearer x"));
    unknown_version["version"] = json!("3.0");
    for (shape, event) in [
        ("a TOKEN authorizer event", token_event),
        ("a WebSocket API event", websocket),
        (
            "an event with an unknown payload format version",
            unknown_version,
        ),
        ("a JSON array", json!([1, 2])),
        ("a JSON string", json!("Bearer x")),
        ("JSON null", Value::Null),
        ("an event without a type", json!({"headers": {}})),
    ] {
        let error = answer(&authorizer, event).await.unwrap_err();
        assert_eq!(error.error_type, "Gatehouse.UnsupportedEvent", "{shape}");
        let message = &error.error_message;
        assert!(message.contains(shape), "{shape}: {message}");
        assert!(
            message.contains(gatehouse::authorizer_event::SUPPORTED_SHAPES),
            "{message}"
        );
        assert!(!message.contains('\n'), "one line: {message}");
        assert!(!message.contains("Bearer x"), "never the header: {message}");
    }
}

/// `/mcp` writes its own 401 (naming the resource metadata), so on an HTTP API its refusals always
/// reach it, whatever `HTTP_API_REFUSALS` says; other routes follow the setting.
#[tokio::test]
async fn mcp_refusals_always_reach_the_route() {
    let gateway = authorizer(HttpApiRefusals::Gateway).await;
    for header in [None, Some("Bearer not.a.jwt")] {
        let mut event = v2(header);
        let arn = event["routeArn"].as_str().unwrap().to_owned();
        let (stage_part, _) = arn.split_once("/GET/").unwrap_or((arn.as_str(), ""));
        event["routeArn"] = json!(format!("{stage_part}/POST/mcp"));
        let simple = json_answer(&gateway, event).await;
        assert_eq!(simple["isAuthorized"], true, "{header:?}: {simple}");
        assert!(simple["context"]["refusal"].is_string(), "{simple}");
        assert!(simple["context"].get("userId").is_none(), "{simple}");
    }
}

/// An OAuth access token is bound to the API the event says it was sent to (`domainName`, `stage`).
#[tokio::test]
async fn an_access_token_is_checked_against_the_events_domain() {
    let authorizer = authorizer(HttpApiRefusals::Route).await;
    let key = dev_key();
    let mint = |aud: &str| {
        let claims = gatehouse_testkit::tokens::access_token_claims(
            gatehouse_testkit::tokens::DEV_ISSUER,
            "user_admin",
            NOW,
            aud,
        );
        format!(
            "Bearer {}",
            key.mint(
                &gatehouse_testkit::tokens::access_token_header(key.kid),
                &claims
            )
        )
    };
    let mut rest = event(None).payload;
    rest["requestContext"]["domainName"] = json!("abc123.execute-api.us-east-1.amazonaws.com");
    rest["requestContext"]["stage"] = json!("prod");
    for (aud, allowed) in [
        (
            "https://abc123.execute-api.us-east-1.amazonaws.com/prod",
            true,
        ),
        (
            "https://abc123.execute-api.us-east-1.amazonaws.com/prod/mcp",
            true,
        ),
        (
            "https://abc123.execute-api.us-east-1.amazonaws.com/dev",
            false,
        ),
    ] {
        let header = mint(aud);
        let mut with_token = rest.clone();
        with_token["headers"] = json!({"Authorization": header});
        with_token["multiValueHeaders"] = json!({"Authorization": [header]});
        let answer = json_answer(&authorizer, with_token.clone()).await;
        let effect = &answer["policyDocument"]["Statement"][0]["Effect"];
        assert_eq!(effect == "Allow", allowed, "{aud}: {answer}");
        if allowed {
            assert_eq!(answer["context"]["authType"], "oauth");
            assert_eq!(answer["context"]["clientId"], "client_partner");
        } else {
            assert_eq!(answer["context"]["code"], "invalid_token");
        }
        // The HTTP API twin is sent to its own `$default` stage: no stage in its URL.
        let simple = json_answer(&authorizer, http_api_event(&with_token)).await;
        assert_eq!(
            simple["context"]["refusal"], "invalid_token",
            "{aud}: {simple}"
        );
    }
}

/// On an HTTP API's `$default` stage the API's URL has no stage segment.
#[tokio::test]
async fn an_access_token_for_a_default_stage_http_api() {
    let authorizer = authorizer(HttpApiRefusals::Route).await;
    let key = dev_key();
    let claims = gatehouse_testkit::tokens::access_token_claims(
        gatehouse_testkit::tokens::DEV_ISSUER,
        "user_admin",
        NOW,
        "https://abcdef1234.execute-api.us-east-1.amazonaws.com/mcp",
    );
    let header = format!(
        "Bearer {}",
        key.mint(
            &gatehouse_testkit::tokens::access_token_header(key.kid),
            &claims
        )
    );
    let simple = json_answer(&authorizer, v2(Some(&header))).await;
    assert_eq!(simple["isAuthorized"], true, "{simple}");
    assert_eq!(simple["context"]["authType"], "oauth", "{simple}");
}
