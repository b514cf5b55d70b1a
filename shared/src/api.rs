//! The HTTP edge of the route functions (Lambda proxy integration behind the REST API). Route logic
//! returns typed [`ApiError`]s; this module is the one place where they become the contract's status
//! codes and `{"error", "code"}` bodies (section 3), and where the caller is read back from the
//! authorizer context the gateway put into `requestContext.authorizer`.

use aws_lambda_events::apigw::{ApiGatewayProxyRequest, ApiGatewayProxyResponse};
use aws_lambda_events::encodings::Body;
use http::HeaderValue;
use http::header::CONTENT_TYPE;
use serde::Serialize;

use crate::principal::{AuthType, Principal};
use crate::store::{MAX_ACTIVE_KEYS, StoreError};

/// A request the route refuses, or could not serve.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 403: a user-only route called with an API key.
    #[error("this endpoint requires a signed-in user")]
    SignedInUserRequired,
    /// 403: role or scope does not allow it (the message names the resource kind).
    #[error("{0}")]
    Forbidden(String),
    /// 403: an API key without the scope the route needs.
    #[error("this api key does not have the {0} scope")]
    InsufficientScope(&'static str),
    /// 400: malformed JSON or a bad field; the message says what is wrong.
    #[error("{0}")]
    BadRequest(String),
    /// 404: unknown resource, or one that belongs to someone else (`what` is e.g. `api key`).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// 409: the user already holds the maximum number of active keys.
    #[error(
        "you already have {MAX_ACTIVE_KEYS} active api keys; revoke one before creating another"
    )]
    KeyLimitReached,
    /// 500: the request context carries no usable principal. Only a misconfigured deployment (a route
    /// without the authorizer) gets here; it is never treated as anonymous access.
    #[error("internal error")]
    NoPrincipal(#[source] crate::principal::ContextError),
    /// 500: the store failed.
    #[error("internal error")]
    Store(#[from] StoreError),
    /// 500: the random generator failed.
    #[error("internal error")]
    Random,
    /// 500: a key was to be created by a function configured without the pepper.
    #[error("internal error")]
    NoPepper,
}

impl ApiError {
    /// The HTTP status.
    pub const fn status(&self) -> u16 {
        match self {
            ApiError::SignedInUserRequired
            | ApiError::Forbidden(_)
            | ApiError::InsufficientScope(_) => 403,
            ApiError::BadRequest(_) => 400,
            ApiError::NotFound(_) => 404,
            ApiError::KeyLimitReached => 409,
            ApiError::NoPrincipal(_)
            | ApiError::Store(_)
            | ApiError::Random
            | ApiError::NoPepper => 500,
        }
    }

    /// The machine-readable `code`.
    pub const fn code(&self) -> &'static str {
        match self {
            ApiError::SignedInUserRequired => "signed_in_user_required",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::InsufficientScope(_) => "insufficient_scope",
            ApiError::BadRequest(_) => "bad_request",
            ApiError::NotFound(_) => "not_found",
            ApiError::KeyLimitReached => "key_limit_reached",
            ApiError::NoPrincipal(_)
            | ApiError::Store(_)
            | ApiError::Random
            | ApiError::NoPepper => "internal_error",
        }
    }

    /// What went wrong on the server side, for logs only.
    fn detail(&self) -> String {
        match self {
            ApiError::NoPrincipal(context) => context.to_string(),
            ApiError::Store(store) => store.to_string(),
            other => other.to_string(),
        }
    }

    /// The response. Server-side failures are logged here (with their detail, which never reaches
    /// the caller and never contains a secret).
    pub fn into_response(self) -> ApiGatewayProxyResponse {
        if self.status() >= 500 {
            tracing::error!(code = self.code(), detail = %self.detail(), "request failed");
        }
        let body = crate::error::error_body(&self.to_string(), self.code());
        raw_json_response(self.status(), body)
    }
}

/// A JSON response with `status` and `body` serialized.
pub fn json_response(status: u16, body: &impl Serialize) -> ApiGatewayProxyResponse {
    match serde_json::to_string(body) {
        Ok(text) => raw_json_response(status, text),
        Err(_) => raw_json_response(
            500,
            crate::error::error_body("internal error", "internal_error"),
        ),
    }
}

fn raw_json_response(status: u16, body: String) -> ApiGatewayProxyResponse {
    let mut response = ApiGatewayProxyResponse::default();
    response.status_code = i64::from(status);
    response
        .headers
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response.body = Some(Body::Text(body));
    response
}

/// Turns a route's outcome into the response: `Ok((status, body))` serialized, `Err` mapped in one
/// place.
pub fn respond<T: Serialize>(outcome: Result<(u16, T), ApiError>) -> ApiGatewayProxyResponse {
    match outcome {
        Ok((status, body)) => json_response(status, &body),
        Err(error) => error.into_response(),
    }
}

/// The caller, as the authorizer resolved it.
pub fn principal_of(request: &ApiGatewayProxyRequest) -> Result<Principal, ApiError> {
    let fields = &request.request_context.authorizer.fields;
    Principal::from_context(fields.iter().map(|(k, v)| (k.as_str(), v)))
        .map_err(ApiError::NoPrincipal)
}

/// The caller, who must be a signed-in user (session JWT), not an API key.
pub fn signed_in_user(request: &ApiGatewayProxyRequest) -> Result<Principal, ApiError> {
    let principal = principal_of(request)?;
    match principal.auth_type {
        AuthType::Session => Ok(principal),
        AuthType::ApiKey => Err(ApiError::SignedInUserRequired),
    }
}

/// A request header's value (names are case-insensitive); `None` when absent or not visible ASCII.
pub fn header<'a>(request: &'a ApiGatewayProxyRequest, name: &str) -> Option<&'a str> {
    request.headers.get(name).and_then(|v| v.to_str().ok())
}

/// A query-string parameter (the first value).
pub fn query_parameter<'a>(request: &'a ApiGatewayProxyRequest, name: &str) -> Option<&'a str> {
    request.query_string_parameters.first(name)
}

/// A path parameter.
pub fn path_parameter<'a>(request: &'a ApiGatewayProxyRequest, name: &str) -> Option<&'a str> {
    request.path_parameters.get(name).map(String::as_str)
}

/// The request body as UTF-8 text (decoding base64 when the gateway encoded it).
pub fn body_text(request: &ApiGatewayProxyRequest) -> Result<String, ApiError> {
    let Some(body) = request.body.as_deref() else {
        return Ok(String::new());
    };
    if !request.is_base64_encoded {
        return Ok(body.to_owned());
    }
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(body)
        .map_err(|_| ApiError::BadRequest("request body is not valid base64".into()))?;
    String::from_utf8(bytes).map_err(|_| ApiError::BadRequest("request body is not UTF-8".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body_json(response: &ApiGatewayProxyResponse) -> serde_json::Value {
        match &response.body {
            Some(Body::Text(text)) => serde_json::from_str(text).unwrap(),
            other => panic!("unexpected body {other:?}"),
        }
    }

    #[test]
    fn errors_map_to_the_contract() {
        let cases = [
            (
                ApiError::SignedInUserRequired,
                403,
                "signed_in_user_required",
                "this endpoint requires a signed-in user",
            ),
            (
                ApiError::InsufficientScope("write"),
                403,
                "insufficient_scope",
                "this api key does not have the write scope",
            ),
            (
                ApiError::BadRequest("name is required".into()),
                400,
                "bad_request",
                "name is required",
            ),
            (
                ApiError::NotFound("api key"),
                404,
                "not_found",
                "api key not found",
            ),
            (
                ApiError::KeyLimitReached,
                409,
                "key_limit_reached",
                "you already have 25 active api keys; revoke one before creating another",
            ),
            (
                ApiError::Store(StoreError::Unavailable("secret detail".into())),
                500,
                "internal_error",
                "internal error",
            ),
        ];
        for (error, status, code, message) in cases {
            let response = error.into_response();
            assert_eq!(response.status_code, status);
            assert_eq!(
                response.headers.get(CONTENT_TYPE).unwrap(),
                "application/json"
            );
            let body = body_json(&response);
            assert_eq!(body["code"], code);
            assert_eq!(body["error"], message);
        }
    }

    #[test]
    fn a_request_without_context_has_no_principal() {
        let request = ApiGatewayProxyRequest::default();
        assert!(matches!(
            principal_of(&request),
            Err(ApiError::NoPrincipal(_))
        ));
    }

    #[test]
    fn base64_bodies_are_decoded() {
        let mut request = ApiGatewayProxyRequest::default();
        request.body = Some("eyJuYW1lIjoieCJ9".into());
        request.is_base64_encoded = true;
        assert_eq!(body_text(&request).unwrap(), r#"{"name":"x"}"#);
        request.body = Some("***".into());
        assert!(matches!(body_text(&request), Err(ApiError::BadRequest(_))));
    }
}
