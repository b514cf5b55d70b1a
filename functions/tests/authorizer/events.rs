//! Feeds every sample event in `events/` through the authorizer handler, configured from
//! `events/env.json` exactly as `sam local invoke --env-vars events/env.json` would, so the samples and
//! their documented outcomes can never rot. A new `authorizer-*.json` without an expectation here fails.
use crate::common::{answer, as_json, function_handler};
use gatehouse::apikey::Pepper;
use gatehouse::authorizer::Authorizer;
use gatehouse::config::{AuthorizerConfig, Env};
use gatehouse::keys::KeyCacheOptions;
use gatehouse_testkit::samples;
use gatehouse_testkit::servers::{dynamodb_endpoint, sdk_config, unique_name};
use lambda_runtime::{Context, LambdaEvent};

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
    let mut files: Vec<String> = std::fs::read_dir(samples::events_dir())
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
    let mut vars = samples::env_vars();
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
    samples::seed(
        store,
        &Pepper::new(vars["API_KEY_PEPPER"].as_bytes()).unwrap(),
    )
    .await
    .unwrap();

    for (file, effect, detail) in EXPECTED {
        let response = function_handler(
            &authorizer,
            LambdaEvent::new(samples::load_event(file), Context::default()),
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

        // The same request on an HTTP API (payload 2.0): a simple response. A refusal is let through
        // with only its code (`HTTP_API_REFUSALS=route`, the default) for the route to answer 401.
        let twin = samples::http_api_event(&samples::load_event(file));
        let json = serde_json::to_value(answer(&authorizer, twin).await.unwrap()).unwrap();
        assert_eq!(json["isAuthorized"], true, "{file}: {json}");
        if effect == "Allow" {
            assert_eq!(json["context"]["userId"], detail, "{file}");
            assert_eq!(json["context"]["role"], "admin", "{file}");
        } else {
            assert_eq!(
                json["context"],
                serde_json::json!({"refusal": detail}),
                "{file}"
            );
        }
    }
}
