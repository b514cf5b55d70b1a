//! Clients for the real servers `scripts/test` starts: DynamoDB Local (AWS's own engine) and moto's
//! server for Secrets Manager. Their endpoints arrive in `GATEHOUSE_TEST_DYNAMODB_ENDPOINT` and
//! `GATEHOUSE_TEST_SECRETSMANAGER_ENDPOINT`. When a test runs without them (a bare `cargo test`), it is
//! skipped with a message, unless `GATEHOUSE_TEST_REQUIRE_SERVERS=1` (set by `scripts/test` and CI),
//! in which case a missing server is a failure.

use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_dynamodb::config::Credentials;
use gatehouse::store::dynamo::DynamoStore;

/// The endpoint in `var`, or `None` (skip) when not required. Panics when required but missing.
pub fn endpoint(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(value) if !value.is_empty() => Some(value),
        _ => {
            if std::env::var("GATEHOUSE_TEST_REQUIRE_SERVERS").is_ok_and(|v| v == "1") {
                panic!(
                    "{var} is not set but GATEHOUSE_TEST_REQUIRE_SERVERS=1: run the tests through scripts/test"
                );
            }
            eprintln!(
                "skipping: {var} is not set (run scripts/test to start DynamoDB Local and moto)"
            );
            None
        }
    }
}

/// DynamoDB Local's endpoint, if running.
pub fn dynamodb_endpoint() -> Option<String> {
    endpoint("GATEHOUSE_TEST_DYNAMODB_ENDPOINT")
}

/// moto's endpoint, if running.
pub fn secretsmanager_endpoint() -> Option<String> {
    endpoint("GATEHOUSE_TEST_SECRETSMANAGER_ENDPOINT")
}

/// The SDK loader for local servers: fixed region and dummy credentials, nothing from the machine.
pub fn local_defaults() -> aws_config::ConfigLoader {
    aws_config::defaults(BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(Credentials::new(
            "test",
            "test",
            None,
            None,
            "gatehouse-tests",
        ))
}

/// An SDK configuration for a local server: [`local_defaults`] with the given endpoint.
pub async fn sdk_config(endpoint: &str) -> SdkConfig {
    local_defaults().endpoint_url(endpoint).load().await
}

/// A unique name, for tables and secrets that must not collide between tests.
pub fn unique_name(prefix: &str) -> String {
    format!(
        "{prefix}-{}",
        gatehouse::apikey::generate_key_id()
            .unwrap()
            .trim_start_matches("k_")
    )
}

/// A store on a new, empty table in DynamoDB Local.
pub async fn fresh_store(endpoint: &str) -> DynamoStore {
    let sdk = sdk_config(endpoint).await;
    let store = DynamoStore::new(
        aws_sdk_dynamodb::Client::new(&sdk),
        unique_name("gatehouse-test"),
    );
    store.create_table_if_missing().await.unwrap();
    store
}

/// Creates a secret in moto and returns its ARN.
pub async fn create_secret(endpoint: &str, name: &str, value: &str) -> String {
    let sdk = sdk_config(endpoint).await;
    let client = aws_sdk_secretsmanager::Client::new(&sdk);
    let out = client
        .create_secret()
        .name(name)
        .secret_string(value)
        .send()
        .await
        .unwrap();
    out.arn.unwrap()
}
