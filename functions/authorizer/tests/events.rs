//! Feeds every sample event in `events/` through the authorizer handler, configured from
//! `events/env.json` exactly as `sam local invoke --env-vars events/env.json` would, so the samples and
//! their documented outcomes can never rot. A new `authorizer-*.json` without an expectation here fails.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::collections::HashMap;
use std::path::PathBuf;

use authorizer::function_handler;
use aws_lambda_events::apigw::ApiGatewayCustomAuthorizerRequestTypeRequest;
use common::{as_json, user};
use gatehouse::apikey::{self, Pepper};
use gatehouse::authorizer::Authorizer;
use gatehouse::config::{AuthorizerConfig, Env};
use gatehouse::keys::KeyCacheOptions;
use gatehouse::principal::{Role, Scopes};
use gatehouse::store::ApiKeyRecord;
use gatehouse_testkit::servers::{dynamodb_endpoint, sdk_config, unique_name};
use lambda_runtime::{Context, LambdaEvent};

fn events_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../events")
}

fn load(name: &str) -> ApiGatewayCustomAuthorizerRequestTypeRequest {
    serde_json::from_str(&std::fs::read_to_string(events_dir().join(name)).unwrap()).unwrap()
}

/// (file, expected effect, expected code or user)
const EXPECTED: [(&str, &str, &str); 4] = [
    ("authorizer-session.json", "Allow", "user_dev_admin"),
    ("authorizer-api-key.json", "Allow", "user_dev_admin"),
    (
        "authorizer-missing-header.json",
        "Deny",
        "missing_authorization",
    ),
    (
        "authorizer-malformed-header.json",
        "Deny",
        "malformed_authorization",
    ),
];

#[test]
fn every_authorizer_event_has_an_expectation() {
    let mut files: Vec<String> = std::fs::read_dir(events_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with("authorizer-") && n.ends_with(".json"))
        .collect();
    files.sort();
    let mut expected: Vec<&str> = EXPECTED.iter().map(|(f, _, _)| *f).collect();
    expected.sort();
    assert_eq!(files, expected);
}

#[tokio::test]
async fn sample_events_produce_their_documented_outcomes() {
    let Some(endpoint) = dynamodb_endpoint() else {
        return;
    };
    let env_json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(events_dir().join("env.json")).unwrap())
            .unwrap();
    let mut vars: HashMap<String, String> = env_json["AuthorizerFunction"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
        .collect();
    vars.insert("TABLE_NAME".into(), unique_name("gatehouse-events"));
    let config = AuthorizerConfig::from_env(&Env::new(|var: &str| vars.get(var).cloned())).unwrap();
    let authorizer = Authorizer::from_config(
        config,
        &sdk_config(&endpoint).await,
        KeyCacheOptions::default(),
    )
    .await
    .unwrap();
    let store = authorizer.store();
    store.create_table_if_missing().await.unwrap();

    // Seed what the samples refer to: the dev admin and the sample API key (stored as its hash only).
    store
        .put_user(&user("user_dev_admin", Role::Admin, false))
        .await
        .unwrap();
    let sample_key = load("authorizer-api-key.json").headers["authorization"]
        .to_str()
        .unwrap()["Bearer ".len()..]
        .to_owned();
    let pepper = Pepper::new(vars["API_KEY_PEPPER"].as_bytes()).unwrap();
    store
        .put_api_key(&ApiKeyRecord {
            key_id: "k_sample".into(),
            user_id: "user_dev_admin".into(),
            key_hash: pepper.hash(&sample_key),
            name: "sample".into(),
            scopes: Scopes::ALL,
            active: true,
            created_at: 1_767_225_600,
            expires_at: None,
            tail: apikey::tail(&sample_key),
            last_used_at: None,
        })
        .await
        .unwrap();

    for (file, effect, detail) in EXPECTED {
        let response = function_handler(
            &authorizer,
            LambdaEvent::new(load(file), Context::default()),
        )
        .await
        .unwrap();
        let json = as_json(&response);
        assert_eq!(
            json["policyDocument"]["Statement"][0]["Effect"], effect,
            "{file}: {json}"
        );
        if effect == "Allow" {
            assert_eq!(json["principalId"], detail, "{file}");
            assert_eq!(json["context"]["role"], "admin", "{file}");
        } else {
            assert_eq!(json["context"]["code"], detail, "{file}");
        }
    }
}
