//! Runs the real authorizer handler locally, before `gatehouse serve` exists: configured from
//! `events/env.json` (dev-only PEM key, inline pepper), against the DynamoDB at `AWS_ENDPOINT_URL`
//! (DynamoDB Local, started by `scripts/demo`). It creates the table, seeds a dev admin and the sample
//! API key, then decides on each sample event, or on the `Authorization` values given as arguments.
#![allow(clippy::print_stdout)]

use std::collections::HashMap;
use std::path::PathBuf;

use aws_lambda_events::apigw::ApiGatewayCustomAuthorizerRequestTypeRequest;
use gatehouse::apikey::{self, Pepper};
use gatehouse::authorizer::Authorizer;
use gatehouse::config::{AuthorizerConfig, Env};
use gatehouse::keys::KeyCacheOptions;
use gatehouse::principal::{Memberships, Role, Scopes};
use gatehouse::store::{ApiKeyRecord, UserRecord};
use lambda_runtime::{Context, Error, LambdaEvent};

fn events_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../events")
}

fn load(name: &str) -> Result<ApiGatewayCustomAuthorizerRequestTypeRequest, Error> {
    Ok(serde_json::from_str(&std::fs::read_to_string(
        events_dir().join(name),
    )?)?)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    gatehouse::logging::init();
    let env_json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(events_dir().join("env.json"))?)?;
    let mut vars: HashMap<String, String> = env_json
        .get("AuthorizerFunction")
        .and_then(serde_json::Value::as_object)
        .ok_or("events/env.json has no AuthorizerFunction")?
        .iter()
        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
        .collect();
    if let Ok(table) = std::env::var("TABLE_NAME") {
        vars.insert("TABLE_NAME".into(), table);
    }
    let config = AuthorizerConfig::from_env(&Env::new(|var: &str| vars.get(var).cloned()))?;
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let authorizer = Authorizer::from_config(config, &sdk, KeyCacheOptions::default()).await?;
    let store = authorizer.store();
    store.create_table_if_missing().await?;

    store
        .put_user(&UserRecord {
            user_id: "user_dev_admin".into(),
            role: Role::Admin,
            memberships: Memberships {
                organization_ids: vec!["org_demo".into()],
                ..Memberships::default()
            },
            suspended: false,
        })
        .await?;
    let sample = load("authorizer-api-key.json")?;
    let sample_key = sample
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or("sample API key event has no bearer")?
        .to_owned();
    let pepper = Pepper::new(
        vars.get("API_KEY_PEPPER")
            .ok_or("no API_KEY_PEPPER")?
            .as_bytes(),
    )?;
    let record = ApiKeyRecord {
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
    };
    // Already there from an earlier run is fine.
    let _ = store.put_api_key(&record).await;

    let headers: Vec<String> = std::env::args().skip(1).collect();
    let cases: Vec<(String, ApiGatewayCustomAuthorizerRequestTypeRequest)> = if headers.is_empty() {
        let mut files: Vec<String> = std::fs::read_dir(events_dir())?
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.starts_with("authorizer-"))
            .collect();
        files.sort();
        files
            .into_iter()
            .map(|f| Ok((f.clone(), load(&f)?)))
            .collect::<Result<_, Error>>()?
    } else {
        headers
            .into_iter()
            .enumerate()
            .map(|(i, header)| {
                let mut event = load("authorizer-missing-header.json")?;
                event
                    .headers
                    .insert(http::header::AUTHORIZATION, header.parse()?);
                Ok((format!("argument {}", i + 1), event))
            })
            .collect::<Result<_, Error>>()?
    };
    for (name, event) in cases {
        match authorizer::function_handler(&authorizer, LambdaEvent::new(event, Context::default()))
            .await
        {
            Ok(response) => println!("{name}:\n{}\n", serde_json::to_string_pretty(&response)?),
            Err(error) => println!("{name}: function error (API Gateway answers 500): {error}\n"),
        }
    }
    Ok(())
}
