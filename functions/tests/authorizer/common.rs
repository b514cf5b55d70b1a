//! Fixtures shared by the authorizer's handler and event tests: an authorizer wired to a fresh table in
//! DynamoDB Local, the dev-only PEM key, seeded users and keys, and [`function_handler`], the path the
//! Lambda binary's runtime loop takes from JSON event to answer.
#![allow(dead_code)]

use std::sync::Arc;

use gatehouse::apikey::{self, ApiKeyPrefix, Pepper};
use gatehouse::authorizer::Authorizer;
use gatehouse::authorizer_event::{AuthorizerAnswer, AuthorizerEvent};
use gatehouse::clock::FixedClock;
use gatehouse::policy::AuthorizerResponse;
use gatehouse::principal::{Memberships, Role, Scopes};
use gatehouse::store::dynamo::DynamoStore;
use gatehouse::store::{ApiKeyRecord, UserRecord};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{Value, json};

/// The fixed instant tests run at.
pub const NOW: i64 = 1_750_000_000;
pub const PEPPER: &[u8] = b"handler-test-pepper-0123456789";
pub const METHOD_ARN: &str = "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/prod/GET/v1/me";

pub fn authorizer_on(store: DynamoStore, clock: Arc<FixedClock>) -> Authorizer<DynamoStore> {
    gatehouse_testkit::samples::dev_authorizer(store, Pepper::new(PEPPER).unwrap(), clock)
}

pub fn user(id: &str, role: Role, suspended: bool) -> UserRecord {
    UserRecord {
        user_id: id.to_owned(),
        role,
        memberships: Memberships {
            organization_ids: vec!["org_1".into()],
            company_ids: vec!["co_1".into()],
            location_ids: vec!["loc_1".into(), "loc_2".into()],
        },
        suspended,
        clerk: Default::default(),
        revision: 0,
    }
}

/// Stores a new key for `user_id` and returns its plaintext.
pub async fn add_key(
    store: &DynamoStore,
    user_id: &str,
    active: bool,
    expires_at: Option<i64>,
    scopes: Scopes,
) -> (String, String) {
    let key = apikey::generate(&ApiKeyPrefix::default_prefix()).unwrap();
    let key_id = apikey::generate_key_id().unwrap();
    store
        .put_api_key(&ApiKeyRecord {
            key_id: key_id.clone(),
            user_id: user_id.to_owned(),
            key_hash: Pepper::new(PEPPER).unwrap().hash(key.reveal()),
            name: "test".into(),
            scopes,
            active,
            created_at: NOW - 100,
            expires_at,
            tail: key.tail(),
            last_used_at: None,
            revoked_at: None,
        })
        .await
        .unwrap();
    (key.reveal().to_owned(), key_id)
}

/// Runs a JSON event through the authorizer as its runtime loop does (parse, decide, answer), for a
/// REST API event: the IAM policy, or the function error the runtime would report.
pub async fn function_handler<S: gatehouse::store::AuthStore + 'static>(
    authorizer: &Authorizer<S>,
    event: LambdaEvent<Value>,
) -> Result<AuthorizerResponse, lambda_runtime::Diagnostic> {
    match answer(authorizer, event.payload).await? {
        AuthorizerAnswer::Policy(policy) => Ok(policy),
        AuthorizerAnswer::Simple(simple) => panic!("a REST event answered {simple:?}"),
    }
}

/// Runs any JSON event through the authorizer: its answer as JSON, or the function error.
pub async fn answer<S: gatehouse::store::AuthStore + 'static>(
    authorizer: &Authorizer<S>,
    event: Value,
) -> Result<AuthorizerAnswer, lambda_runtime::Diagnostic> {
    let event: AuthorizerEvent =
        serde_json::from_value(event).map_err(|error| lambda_runtime::Diagnostic {
            error_type: "DeserializeError".into(),
            error_message: error.to_string(),
        })?;
    authorizer
        .handle(&event)
        .await
        .map_err(lambda_runtime::Diagnostic::from)
}

/// A REST REQUEST authorizer event with the given Authorization header (or none).
pub fn event(authorization: Option<&str>) -> LambdaEvent<Value> {
    let mut headers = json!({"Host": "abcdef1234.execute-api.us-east-1.amazonaws.com"});
    let mut multi = json!({"Host": ["abcdef1234.execute-api.us-east-1.amazonaws.com"]});
    if let Some(value) = authorization {
        headers["Authorization"] = json!(value);
        multi["Authorization"] = json!([value]);
    }
    let payload = json!({
        "type": "REQUEST",
        "methodArn": METHOD_ARN,
        "resource": "/v1/me",
        "path": "/v1/me",
        "httpMethod": "GET",
        "headers": headers,
        "multiValueHeaders": multi,
        "requestContext": {"accountId": "123456789012", "apiId": "abcdef1234", "stage": "prod"}
    });
    LambdaEvent::new(payload, Context::default())
}

/// The response as API Gateway reads it.
pub fn as_json(response: &AuthorizerResponse) -> Value {
    serde_json::to_value(response).unwrap()
}

/// Asserts a Deny carrying `code` and the contract message.
pub fn assert_deny(response: &AuthorizerResponse, code: &str) {
    let json = as_json(response);
    assert_eq!(
        json["policyDocument"]["Statement"][0]["Effect"], "Deny",
        "{json}"
    );
    assert_eq!(json["principalId"], "anonymous");
    assert_eq!(json["context"]["code"], code, "{json}");
    let expected = gatehouse::error::Rejection::ALL
        .iter()
        .find(|r| r.code() == code)
        .unwrap()
        .message();
    assert_eq!(json["context"]["error"], expected);
    assert_eq!(
        json["policyDocument"]["Statement"][0]["Resource"][0],
        "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/prod/*/*"
    );
}

/// Asserts an Allow and returns its context.
pub fn assert_allow(response: &AuthorizerResponse, user_id: &str) -> Value {
    let json = as_json(response);
    assert_eq!(
        json["policyDocument"]["Statement"][0]["Effect"], "Allow",
        "{json}"
    );
    assert_eq!(json["principalId"], user_id);
    assert_eq!(
        json["policyDocument"]["Statement"][0]["Resource"][0],
        "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/prod/*/*"
    );
    assert!(
        json["context"]
            .as_object()
            .unwrap()
            .values()
            .all(Value::is_string)
    );
    json["context"].clone()
}
