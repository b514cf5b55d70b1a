//! Runs the real authorizer handler locally, before `gatehouse serve` exists: configured from
//! `events/env.json` (dev-only PEM key, inline pepper), against the DynamoDB at `AWS_ENDPOINT_URL`
//! (DynamoDB Local, started by `scripts/demo`). It creates the table, seeds a dev admin and the sample
//! API key, then decides on each sample event, or on the `Authorization` values given as arguments.
#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::indexing_slicing)]

use gatehouse::apikey::Pepper;
use gatehouse::authorizer::Authorizer;
use gatehouse::config::{AuthorizerConfig, Env};
use gatehouse::keys::KeyCacheOptions;
use gatehouse_testkit::samples;
use lambda_runtime::{Context, Error, LambdaEvent};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    gatehouse::logging::init();
    let mut vars = samples::env_vars();
    if let Ok(table) = std::env::var("TABLE_NAME") {
        vars.insert("TABLE_NAME".into(), table);
    }
    let config = AuthorizerConfig::from_env(&Env::new(|var: &str| vars.get(var).cloned()))?;
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let authorizer = Authorizer::from_config(config, &sdk, KeyCacheOptions::default()).await?;
    authorizer.store().create_table_if_missing().await?;
    samples::seed(
        authorizer.store(),
        &Pepper::new(vars["API_KEY_PEPPER"].as_bytes())?,
    )
    .await?;

    let headers: Vec<String> = std::env::args().skip(1).collect();
    let mut cases = Vec::new();
    if headers.is_empty() {
        let mut files: Vec<String> = std::fs::read_dir(samples::events_dir())?
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.starts_with("authorizer-"))
            .collect();
        files.sort();
        for file in files {
            cases.push((file.clone(), samples::load_event(&file)));
        }
    }
    for (i, header) in headers.into_iter().enumerate() {
        let mut event = samples::load_event("authorizer-missing-header.json");
        event
            .headers
            .insert(http::header::AUTHORIZATION, header.parse()?);
        cases.push((format!("argument {}", i + 1), event));
    }
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
