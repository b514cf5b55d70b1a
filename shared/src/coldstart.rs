//! Cold-start helpers, in one place: what the authorizer and every route build once per container
//! before the first request (the AWS SDK's configuration, the DynamoDB client with its time bounds,
//! the pepper from its secret), and the one error type for a failed cold start. The configuration
//! itself is parsed into typed values by [`crate::config`]; a bad setting fails the init phase with
//! the variable's name. Part of the authorizer core: nothing here knows a route.

use crate::apikey::Pepper;
use crate::config::PepperSource;
use crate::secrets::{self, SecretError};

/// Failure to build an authorizer at cold start.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    /// A setting is missing or invalid.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// A secret could not be read.
    #[error(transparent)]
    Secret(#[from] SecretError),
}

/// The AWS SDK's configuration from its default chain (region, credentials, endpoint overrides).
pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await
}

/// Reads the pepper from its source (`secrets` is needed for a Secrets Manager source).
pub async fn load_pepper(
    source: &PepperSource,
    secrets: Option<&aws_sdk_secretsmanager::Client>,
) -> Result<Pepper, InitError> {
    let text = match (source, secrets) {
        (PepperSource::SecretId(id), Some(client)) => secrets::secret_string(client, id).await?,
        (PepperSource::SecretId(id), None) => {
            return Err(SecretError::Empty { id: id.clone() }.into());
        }
        (PepperSource::Inline(secret), _) => secret.clone(),
    };
    Pepper::new(text.expose().as_bytes()).map_err(|problem| {
        let var = match source {
            PepperSource::SecretId(_) => "API_KEY_PEPPER_SECRET_ID",
            PepperSource::Inline(_) => "API_KEY_PEPPER",
        };
        InitError::Config(crate::config::ConfigError {
            var,
            problem: format!("secret {problem}"),
        })
    })
}

/// The DynamoDB client for the authorizer: the SDK's defaults plus explicit time bounds, so an
/// unreachable store becomes a function error in about three seconds instead of hanging until the
/// Lambda timeout (each attempt is bounded; the standard retry policy still applies within the total).
pub fn dynamodb_client(sdk: &aws_config::SdkConfig) -> aws_sdk_dynamodb::Client {
    let timeouts = aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(std::time::Duration::from_millis(500))
        .operation_attempt_timeout(std::time::Duration::from_millis(1500))
        .operation_timeout(std::time::Duration::from_secs(3))
        .build();
    let config = aws_sdk_dynamodb::config::Builder::from(sdk)
        .timeout_config(timeouts)
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}
