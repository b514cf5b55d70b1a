//! Reading secrets (the API key pepper, the Clerk secret key) from AWS Secrets Manager, once per
//! container at cold start. Secret values are returned wrapped so they cannot be logged by accident.

use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::error::DisplayErrorContext;

use crate::keys::SecretString;

/// A secret could not be read.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SecretError {
    /// Secrets Manager could not be reached or refused.
    #[error("reading secret {id} failed: {reason}")]
    Unavailable { id: String, reason: String },
    /// The secret has no string value, or it is empty.
    #[error("secret {id} has no non-empty SecretString")]
    Empty { id: String },
}

/// The `SecretString` of secret `id` (name or ARN), trimmed of surrounding white space.
pub async fn secret_string(client: &Client, id: &str) -> Result<SecretString, SecretError> {
    let output = client
        .get_secret_value()
        .secret_id(id)
        .send()
        .await
        .map_err(|e| SecretError::Unavailable {
            id: id.to_owned(),
            reason: DisplayErrorContext(&e).to_string(),
        })?;
    match output.secret_string.map(|s| s.trim().to_owned()) {
        Some(value) if !value.is_empty() => Ok(SecretString::new(value)),
        _ => Err(SecretError::Empty { id: id.to_owned() }),
    }
}
