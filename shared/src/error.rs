//! The one place where failures become outcomes. Every authentication failure is a [`Rejection`] with
//! the code and message README "Errors" lists; everything that prevents a decision is an
//! [`Unavailable`] error, which the authorizer turns into a function error (a 500 at the gateway),
//! never an Allow and never a cacheable Deny.

use crate::keys::KeyFetchError;
use crate::secrets::SecretError;
use crate::store::StoreError;

/// An authentication failure, answered with a Deny (401 at the gateway).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rejection {
    /// No `Authorization` header.
    MissingAuthorization,
    /// A header that is not `Bearer <token>`.
    MalformedAuthorization,
    /// `Bearer` with nothing after it.
    EmptyToken,
    /// API key unknown, revoked, expired, malformed or failing its checksum.
    InvalidApiKey,
    /// A validly signed JWT whose `exp` has passed beyond the skew.
    TokenExpired,
    /// Any other JWT failure.
    InvalidToken,
    /// The resolved user record is suspended.
    AccountSuspended,
}

impl Rejection {
    /// Every rejection, for exhaustive tests and documentation.
    pub const ALL: [Rejection; 7] = [
        Rejection::MissingAuthorization,
        Rejection::MalformedAuthorization,
        Rejection::EmptyToken,
        Rejection::InvalidApiKey,
        Rejection::TokenExpired,
        Rejection::InvalidToken,
        Rejection::AccountSuspended,
    ];

    /// The machine-readable `code`.
    pub const fn code(self) -> &'static str {
        match self {
            Rejection::MissingAuthorization => "missing_authorization",
            Rejection::MalformedAuthorization => "malformed_authorization",
            Rejection::EmptyToken => "empty_token",
            Rejection::InvalidApiKey => "invalid_api_key",
            Rejection::TokenExpired => "token_expired",
            Rejection::InvalidToken => "invalid_token",
            Rejection::AccountSuspended => "account_suspended",
        }
    }

    /// The human-readable `error` message. Never contains token material.
    pub const fn message(self) -> &'static str {
        match self {
            Rejection::MissingAuthorization | Rejection::MalformedAuthorization => {
                "missing or malformed Authorization header"
            }
            Rejection::EmptyToken => "empty bearer token",
            Rejection::InvalidApiKey => "invalid api key",
            Rejection::TokenExpired => "invalid token: expired",
            Rejection::InvalidToken => "invalid token",
            Rejection::AccountSuspended => "account suspended",
        }
    }

    /// The rejection whose [`code`](Self::code) is `code`.
    pub fn from_code(code: &str) -> Option<Rejection> {
        Rejection::ALL.into_iter().find(|r| r.code() == code)
    }

    /// The HTTP status the gateway answers with.
    pub const fn status(self) -> u16 {
        401
    }
}

/// A dependency failed and no decision can be made.
#[derive(Debug, thiserror::Error)]
pub enum Unavailable {
    /// The store could not be read, or returned a record we cannot interpret.
    #[error("store unavailable: {0}")]
    Store(#[from] StoreError),
    /// No usable signing key: the key source failed and nothing cached matches.
    #[error("signing keys unavailable: {0}")]
    Keys(#[from] KeyFetchError),
    /// A secret could not be read.
    #[error("secret unavailable: {0}")]
    Secret(#[from] SecretError),
    /// The event is not something API Gateway sends (e.g. no parseable `methodArn`).
    #[error("invalid authorizer event: {0}")]
    InvalidEvent(&'static str),
    /// The authorizer was invoked with an event shape it does not take (the text names it).
    #[error(
        "unsupported authorizer event: {0}; Gatehouse's authorizer takes {shapes}",
        shapes = crate::authorizer_event::SUPPORTED_SHAPES
    )]
    UnsupportedEvent(&'static str),
    /// The operating system's random generator failed.
    #[error("random generator failed")]
    Random,
    /// Clerk's Backend API could not verify an opaque OAuth token (timeout, 5xx, our own key
    /// refused, an unreadable answer).
    #[error("OAuth token verification unavailable: {0}")]
    OAuthVerification(String),
}

impl Unavailable {
    /// A short, stable name of the failure's kind: the `errorType` of the function error.
    pub const fn kind(&self) -> &'static str {
        match self {
            Unavailable::Store(_) => "Gatehouse.StoreUnavailable",
            Unavailable::Keys(_) => "Gatehouse.SigningKeysUnavailable",
            Unavailable::Secret(_) => "Gatehouse.SecretUnavailable",
            Unavailable::InvalidEvent(_) => "Gatehouse.InvalidEvent",
            Unavailable::UnsupportedEvent(_) => "Gatehouse.UnsupportedEvent",
            Unavailable::Random => "Gatehouse.RandomUnavailable",
            Unavailable::OAuthVerification(_) => "Gatehouse.OAuthVerificationUnavailable",
        }
    }
}

/// The function error the Lambda runtime reports for an [`Unavailable`]: its kind and its one-line
/// message (which never contains a secret).
impl From<Unavailable> for lambda_runtime::Diagnostic {
    fn from(error: Unavailable) -> Self {
        lambda_runtime::Diagnostic {
            error_type: error.kind().to_owned(),
            error_message: error.to_string(),
        }
    }
}

/// The contract's JSON error body, `{"error": ..., "code": ...}`, fields in that order: byte for byte
/// what the REST API's gateway responses render (`template.yaml`), so a 401 a route answers on an HTTP
/// API is the same text as the REST API's.
pub fn error_body(message: &str, code: &str) -> String {
    #[derive(serde::Serialize)]
    struct ErrorBody<'a> {
        error: &'a str,
        code: &'a str,
    }
    serde_json::to_string(&ErrorBody {
        error: message,
        code,
    })
    .unwrap_or_else(|_| String::from(r#"{"error":"internal error","code":"internal_error"}"#))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_messages_match_the_contract() {
        let table: Vec<(&str, &str)> = Rejection::ALL
            .iter()
            .map(|r| (r.code(), r.message()))
            .collect();
        assert_eq!(
            table,
            vec![
                (
                    "missing_authorization",
                    "missing or malformed Authorization header"
                ),
                (
                    "malformed_authorization",
                    "missing or malformed Authorization header"
                ),
                ("empty_token", "empty bearer token"),
                ("invalid_api_key", "invalid api key"),
                ("token_expired", "invalid token: expired"),
                ("invalid_token", "invalid token"),
                ("account_suspended", "account suspended"),
            ]
        );
        assert!(Rejection::ALL.iter().all(|r| r.status() == 401));
    }

    #[test]
    fn error_body_is_json() {
        assert_eq!(
            error_body("invalid token", "invalid_token"),
            r#"{"error":"invalid token","code":"invalid_token"}"#
        );
        let body: serde_json::Value = serde_json::from_str(&error_body("a \"b\"", "c")).unwrap();
        assert_eq!(body["error"], "a \"b\"");
        assert_eq!(body["code"], "c");
    }
}
