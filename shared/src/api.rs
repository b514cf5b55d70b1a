//! The HTTP edge of the route functions (Lambda proxy integration behind the REST API). Route logic
//! returns typed [`ApiError`]s; this module is the one place where they become the contract's status
//! codes and `{"error", "code"}` bodies (section 3), and where the caller is read back from the
//! authorizer context the gateway put into `requestContext.authorizer`.

use std::borrow::Cow;

use aws_lambda_events::apigw::{ApiGatewayProxyRequest, ApiGatewayProxyResponse};
use aws_lambda_events::encodings::Body;
use http::HeaderValue;
use http::header::{CONTENT_TYPE, WWW_AUTHENTICATE};
use serde::Serialize;

use crate::error::Rejection;
use crate::principal::{AuthType, Principal};
use crate::store::{MAX_ACTIVE_KEYS, StoreError};

/// The largest request body a route reads, in bytes (64 KiB, decoded). Larger bodies are refused
/// with 413 before any parsing, so a caller cannot make a function spend memory on its input.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// A request the route refuses, or could not serve.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 401: the credential the authorizer accepted has expired since (an authorizer answer cached by
    /// the gateway outlives it); the same code and message the authorizer would give now.
    #[error("{}", .0.message())]
    Unauthenticated(Rejection),
    /// 413: the request body is larger than [`MAX_BODY_BYTES`]; refused before it is parsed.
    #[error("request body too large")]
    PayloadTooLarge,
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
            ApiError::Unauthenticated(rejection) => rejection.status(),
            ApiError::PayloadTooLarge => 413,
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
            ApiError::Unauthenticated(rejection) => rejection.code(),
            ApiError::PayloadTooLarge => "payload_too_large",
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
        let mut response = raw_json_response(self.status(), body);
        if matches!(self, ApiError::Unauthenticated(_)) {
            response
                .headers
                .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
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

/// The caller, as the authorizer resolved it, provided their credential is still valid at `now`.
///
/// This is the one place routes read the caller, so it is where expiry is enforced: API Gateway may
/// answer from a cached authorizer decision for up to `ReauthorizeEvery` seconds, and without this
/// check a token used a second before its `exp` (or a key just before its `expiresAt`) would keep
/// working for that long. An expired caller gets the 401 the authorizer would give.
pub fn principal_of(request: &ApiGatewayProxyRequest, now: i64) -> Result<Principal, ApiError> {
    let fields = &request.request_context.authorizer.fields;
    let principal = Principal::from_context(fields.iter().map(|(k, v)| (k.as_str(), v)))
        .map_err(ApiError::NoPrincipal)?;
    match principal.expiry_rejection(now) {
        Some(rejection) => Err(ApiError::Unauthenticated(rejection)),
        None => Ok(principal),
    }
}

/// The caller, who must be a signed-in user (session JWT), not an API key, with a valid credential
/// at `now`.
pub fn signed_in_user(request: &ApiGatewayProxyRequest, now: i64) -> Result<Principal, ApiError> {
    let principal = principal_of(request, now)?;
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

/// The request body as UTF-8 text (decoding base64 when the gateway encoded it), refused with
/// [`ApiError::PayloadTooLarge`] when it is over [`MAX_BODY_BYTES`]: the size is checked before
/// anything is decoded, copied or parsed. A text body is borrowed, not copied.
pub fn body_text(request: &ApiGatewayProxyRequest) -> Result<Cow<'_, str>, ApiError> {
    let Some(body) = request.body.as_deref() else {
        return Ok(Cow::Borrowed(""));
    };
    if !request.is_base64_encoded {
        if body.len() > MAX_BODY_BYTES {
            return Err(ApiError::PayloadTooLarge);
        }
        return Ok(Cow::Borrowed(body));
    }
    // Base64 carries 3 bytes in every 4 characters: the decoded size is known before decoding.
    if body.len().div_ceil(4).saturating_mul(3) > MAX_BODY_BYTES.saturating_add(2) {
        return Err(ApiError::PayloadTooLarge);
    }
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(body)
        .map_err(|_| ApiError::BadRequest("request body is not valid base64".into()))?;
    if bytes.len() > MAX_BODY_BYTES {
        return Err(ApiError::PayloadTooLarge);
    }
    String::from_utf8(bytes)
        .map(Cow::Owned)
        .map_err(|_| ApiError::BadRequest("request body is not UTF-8".into()))
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
                ApiError::PayloadTooLarge,
                413,
                "payload_too_large",
                "request body too large",
            ),
            (
                ApiError::Unauthenticated(Rejection::TokenExpired),
                401,
                "token_expired",
                "invalid token: expired",
            ),
            (
                ApiError::Unauthenticated(Rejection::InvalidApiKey),
                401,
                "invalid_api_key",
                "invalid api key",
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
            assert_eq!(
                response.headers.get(WWW_AUTHENTICATE).is_some(),
                status == 401,
                "{code}"
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
            principal_of(&request, 0),
            Err(ApiError::NoPrincipal(_))
        ));
    }

    fn with_context(context: serde_json::Value) -> ApiGatewayProxyRequest {
        let mut request = ApiGatewayProxyRequest::default();
        for (key, value) in context.as_object().unwrap() {
            request
                .request_context
                .authorizer
                .fields
                .insert(key.clone(), value.clone());
        }
        request
    }

    #[test]
    fn an_expired_caller_is_refused_with_the_authorizers_401() {
        let session = with_context(serde_json::json!({
            "userId": "user_1", "authType": "session", "role": "admin", "scopes": "read,write",
            "expiresAt": "1000"
        }));
        assert_eq!(principal_of(&session, 999).unwrap().user_id, "user_1");
        for now in [1000, 5000] {
            let refused = principal_of(&session, now).unwrap_err();
            assert!(matches!(
                refused,
                ApiError::Unauthenticated(Rejection::TokenExpired)
            ));
            let response = refused.into_response();
            assert_eq!(response.status_code, 401);
            assert_eq!(response.headers.get(WWW_AUTHENTICATE).unwrap(), "Bearer");
            assert_eq!(body_json(&response)["code"], "token_expired");
        }
        assert!(matches!(
            signed_in_user(&session, 1000),
            Err(ApiError::Unauthenticated(Rejection::TokenExpired))
        ));
        let key = with_context(serde_json::json!({
            "userId": "user_1", "authType": "api_key", "role": "admin", "scopes": "read",
            "keyId": "k_1", "expiresAt": "1000"
        }));
        assert!(matches!(
            principal_of(&key, 1000),
            Err(ApiError::Unauthenticated(Rejection::InvalidApiKey))
        ));
        let forever = with_context(serde_json::json!({
            "userId": "user_1", "authType": "api_key", "role": "admin", "scopes": "read",
            "keyId": "k_1", "expiresAt": ""
        }));
        assert!(principal_of(&forever, i64::MAX).is_ok());
    }

    #[test]
    fn bodies_over_the_limit_are_refused_before_decoding() {
        use base64::Engine as _;
        let mut request = ApiGatewayProxyRequest::default();
        request.body = Some("x".repeat(MAX_BODY_BYTES));
        assert_eq!(body_text(&request).unwrap().len(), MAX_BODY_BYTES);
        request.body = Some("x".repeat(MAX_BODY_BYTES + 1));
        assert!(matches!(
            body_text(&request),
            Err(ApiError::PayloadTooLarge)
        ));
        let encode = |n: usize| base64::engine::general_purpose::STANDARD.encode("y".repeat(n));
        request.is_base64_encoded = true;
        request.body = Some(encode(MAX_BODY_BYTES));
        assert_eq!(body_text(&request).unwrap().len(), MAX_BODY_BYTES);
        request.body = Some(encode(MAX_BODY_BYTES + 1));
        assert!(matches!(
            body_text(&request),
            Err(ApiError::PayloadTooLarge)
        ));
        // Not even looked at: far too long to be decoded.
        request.body = Some("*".repeat(6 * 1024 * 1024));
        assert!(matches!(
            body_text(&request),
            Err(ApiError::PayloadTooLarge)
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
