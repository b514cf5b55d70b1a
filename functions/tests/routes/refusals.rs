//! A caller the authorizer refused reaches no route logic, on either API type.
//!
//! On an HTTP API (`HTTP_API_REFUSALS=route`, the default) the authorizer lets a refusal through with
//! only `{"refusal": <code>}` as its context, so the route itself must answer the contract's 401. Every
//! route is sent such a caller, in both payload formats, over a store set to fail every call: the answer
//! must be the 401 (a route that read or wrote anything would answer 503 instead), with the same body
//! and `WWW-Authenticate` header the REST API's gateway response gives.

use gatehouse::error::Rejection;
use gatehouse::routes::Route;
use gatehouse::store::memory::MemoryStore;
use gatehouse_testkit::samples::{self, http_api_event, invoke_route, resource_service_on};
use serde_json::{Map, Value, json};

use crate::NOW;

/// The sample event of `route` with the authorizer context replaced by a refusal.
fn refused(route: Route, code: &str) -> Value {
    let file = samples::events_dir().join(format!("{}.json", route.binary()));
    let name = if file.exists() {
        format!("{}.json", route.binary())
    } else {
        format!("{}-session.json", route.binary())
    };
    let mut event = samples::load_event(&name);
    let mut context = Map::new();
    context.insert("refusal".into(), Value::from(code));
    event["requestContext"]["authorizer"] = Value::Object(context);
    event
}

#[tokio::test]
async fn a_refused_caller_gets_the_401_from_every_route_on_both_api_types() {
    let store = MemoryStore::new();
    samples::seed_world(&store, &samples::pepper())
        .await
        .unwrap();
    store.set_failing(true);
    let service = resource_service_on(store, NOW);
    for route in Route::ALL {
        if matches!(
            route,
            Route::Health | Route::ProtectedResource | Route::ClerkWebhook
        ) {
            continue; // `Auth: NONE`: no authorizer runs, no caller is read.
        }
        for rejection in Rejection::ALL {
            let rest = refused(route, rejection.code());
            for (api, event) in [("REST", rest.clone()), ("HTTP", http_api_event(&rest))] {
                let answer = invoke_route(route, &service, &event).await;
                assert_eq!(answer.status, 401, "{route:?} on {api}: {}", answer.body);
                assert_eq!(
                    answer.body,
                    json!({"error": rejection.message(), "code": rejection.code()}),
                    "{route:?} on {api}"
                );
                let challenge = answer.headers["www-authenticate"].as_str();
                if route == Route::Mcp {
                    // /mcp names its protected-resource metadata (RFC 9728), absolute.
                    // The REST event went to stage `prod`; its HTTP API twin to `$default`.
                    let base = match api {
                        "REST" => "https://abcdef1234.execute-api.us-east-1.amazonaws.com/prod",
                        _ => "https://abcdef1234.execute-api.us-east-1.amazonaws.com",
                    };
                    assert_eq!(
                        challenge,
                        format!(
                            "Bearer resource_metadata=\"{base}/.well-known/oauth-protected-resource\""
                        ),
                        "{route:?} on {api}"
                    );
                } else {
                    assert_eq!(challenge, "Bearer", "{route:?} on {api}");
                }
            }
        }
    }
}

#[tokio::test]
async fn an_unknown_refusal_code_is_still_a_401() {
    let service = samples::memory_resource_service(NOW).await;
    let event = refused(Route::Me, "no_such_code");
    for event in [event.clone(), http_api_event(&event)] {
        let answer = invoke_route(Route::Me, &service, &event).await;
        assert_eq!(answer.status, 401, "{}", answer.body);
        assert_eq!(answer.body["code"], "invalid_token");
    }
}
