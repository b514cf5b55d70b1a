//! The HTTP edge of the route functions: `lambda_http` requests in, `http` responses out, whichever
//! gateway called (a REST API's payload 1.0 proxy event or an HTTP API's payload 2.0 event; see the
//! README, "REST API or HTTP API"). Route logic returns typed [`ApiError`]s; this module is the one
//! place where they become the contract's status codes and `{"error", "code"}` bodies (README,
//! "Errors"), and where the caller is read back from the authorizer context the gateway put into the
//! request (`requestContext.authorizer.*` on a REST API, `requestContext.authorizer.lambda.*` on an
//! HTTP API): [`principal_of`] is the one extractor every route starts with.

use std::borrow::Cow;

use http::HeaderValue;
use http::header::{CONTENT_TYPE, WWW_AUTHENTICATE};
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;

use crate::error::Rejection;
use crate::policy::REFUSAL_CONTEXT_KEY;
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
    /// 401: a webhook whose Svix signature is missing, wrong or outside the timestamp tolerance (the
    /// message says which, never what was expected).
    #[error("{0}")]
    InvalidSignature(&'static str),
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

/// The access rules' denials as route errors: scope → 403 `insufficient_scope`, every other refusal →
/// 403 `forbidden` with the rule's message, a store failure → 500.
impl From<crate::access::Denial> for ApiError {
    fn from(denial: crate::access::Denial) -> Self {
        use crate::access::Denial;
        match denial {
            Denial::InsufficientScope(scope) => ApiError::InsufficientScope(scope),
            Denial::Store(error) => ApiError::Store(error),
            refusal @ (Denial::AdminReadOnly | Denial::ManagersOnly | Denial::NoAccess(_)) => {
                ApiError::Forbidden(refusal.to_string())
            }
        }
    }
}

impl ApiError {
    /// The HTTP status.
    pub const fn status(&self) -> u16 {
        match self {
            ApiError::Unauthenticated(rejection) => rejection.status(),
            ApiError::InvalidSignature(_) => 401,
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
            ApiError::InvalidSignature(_) => "invalid_signature",
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
    pub fn into_response(self) -> ApiResponse {
        if self.status() >= 500 {
            tracing::error!(code = self.code(), detail = %self.detail(), "request failed");
        }
        let body = crate::error::error_body(&self.to_string(), self.code());
        let mut response = raw_json_response(self.status(), body);
        // Every 401 carries the challenge (HTTP requires one; the webhook's too, as the contract's
        // one rule for 401s).
        if matches!(
            self,
            ApiError::Unauthenticated(_) | ApiError::InvalidSignature(_)
        ) {
            response
                .headers_mut()
                .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// What every route answers: an HTTP response whose body `lambda_http` turns into the gateway's
/// response format (payload 1.0 or 2.0, the one the request came in).
pub type ApiResponse = Response<Body>;

/// A JSON response with `status` and `body` serialized.
pub fn json_response(status: u16, body: &impl Serialize) -> ApiResponse {
    match serde_json::to_string(body) {
        Ok(text) => raw_json_response(status, text),
        Err(_) => raw_json_response(
            500,
            crate::error::error_body("internal error", "internal_error"),
        ),
    }
}

fn raw_json_response(status: u16, body: String) -> ApiResponse {
    let mut response = Response::new(Body::Text(body));
    *response.status_mut() =
        http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// Turns a route's outcome into the response: `Ok((status, body))` serialized, `Err` mapped in one
/// place.
pub fn respond<T: Serialize>(outcome: Result<(u16, T), ApiError>) -> ApiResponse {
    match outcome {
        Ok((status, body)) => json_response(status, &body),
        Err(error) => error.into_response(),
    }
}

/// The caller, as the authorizer resolved it, provided their credential is still valid at `now`.
///
/// This is the one place routes read the caller, on either API type, so it is where three rules are
/// enforced:
/// - A caller the authorizer refused (an HTTP API cannot restyle its own 401/403, so there the
///   authorizer lets a refusal through marked with its code) gets exactly the 401 the REST API's
///   gateway response gives, and no route logic runs.
/// - API Gateway may answer from a cached authorizer decision for up to `ReauthorizeEvery` seconds;
///   without the expiry check a token used a second before its `exp` (or a key just before its
///   `expiresAt`) would keep working for that long. An expired caller gets the 401 the authorizer
///   would give.
/// - A missing or partial context (a route deployed without the authorizer) is a 500, never an
///   anonymous caller.
pub fn principal_of(request: &Request, now: i64) -> Result<Principal, ApiError> {
    let fields = request
        .request_context_ref()
        .and_then(|context| context.authorizer())
        .map(|authorizer| &authorizer.fields);
    let Some(fields) = fields else {
        return Err(ApiError::NoPrincipal(
            crate::principal::ContextError::Missing("authorizer"),
        ));
    };
    if let Some(refusal) = fields.get(REFUSAL_CONTEXT_KEY) {
        let rejection = refusal
            .as_str()
            .and_then(Rejection::from_code)
            .unwrap_or(Rejection::InvalidToken);
        return Err(ApiError::Unauthenticated(rejection));
    }
    let principal = Principal::from_context(fields.iter().map(|(k, v)| (k.as_str(), v)))
        .map_err(ApiError::NoPrincipal)?;
    match principal.expiry_rejection(now) {
        Some(rejection) => Err(ApiError::Unauthenticated(rejection)),
        None => Ok(principal),
    }
}

/// The caller, who must be a signed-in user (session JWT), not an API key or an OAuth client, with
/// a valid credential at `now`.
pub fn signed_in_user(request: &Request, now: i64) -> Result<Principal, ApiError> {
    let principal = principal_of(request, now)?;
    match principal.auth_type {
        AuthType::Session => Ok(principal),
        AuthType::ApiKey | AuthType::OAuth => Err(ApiError::SignedInUserRequired),
    }
}

/// A request header's value (names are case-insensitive); `None` when absent or not visible ASCII.
pub fn header<'a>(request: &'a Request, name: &str) -> Option<&'a str> {
    request.headers().get(name).and_then(|v| v.to_str().ok())
}

/// A query-string parameter (the first value).
pub fn query_parameter<'a>(request: &'a Request, name: &str) -> Option<&'a str> {
    request
        .query_string_parameters_ref()
        .and_then(|query| query.first(name))
}

/// A path parameter.
pub fn path_parameter<'a>(request: &'a Request, name: &str) -> Option<&'a str> {
    request
        .path_parameters_ref()
        .and_then(|parameters| parameters.first(name))
}

/// The request body as UTF-8 text, refused with [`ApiError::PayloadTooLarge`] when it is over
/// [`MAX_BODY_BYTES`]: the size is checked before anything is copied or parsed. (`lambda_http` has
/// already decoded a base64 body; the gateway itself caps events at 6 MB.) A text body is borrowed.
pub fn body_text(request: &Request) -> Result<Cow<'_, str>, ApiError> {
    match request.body() {
        Body::Empty => Ok(Cow::Borrowed("")),
        Body::Text(text) if text.len() > MAX_BODY_BYTES => Err(ApiError::PayloadTooLarge),
        Body::Text(text) => Ok(Cow::Borrowed(text)),
        Body::Binary(bytes) if bytes.len() > MAX_BODY_BYTES => Err(ApiError::PayloadTooLarge),
        Body::Binary(bytes) => std::str::from_utf8(bytes)
            .map(Cow::Borrowed)
            .map_err(|_| ApiError::BadRequest("request body is not UTF-8".into())),
        _ => Err(ApiError::BadRequest("unsupported request body".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body_json(response: &ApiResponse) -> serde_json::Value {
        match response.body() {
            Body::Text(text) => serde_json::from_str(text).unwrap(),
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
            assert_eq!(response.status().as_u16(), status);
            assert_eq!(
                response.headers().get(CONTENT_TYPE).unwrap(),
                "application/json"
            );
            assert_eq!(
                response.headers().get(WWW_AUTHENTICATE).is_some(),
                status == 401,
                "{code}"
            );
            let body = body_json(&response);
            assert_eq!(body["code"], code);
            assert_eq!(body["error"], message);
        }
    }

    /// A REST API (payload 1.0) event with `context` as the authorizer's, through `lambda_http`.
    fn rest_event(context: serde_json::Value) -> Request {
        let mut event = serde_json::json!({
            "httpMethod": "GET", "path": "/v1/me", "resource": "/v1/me", "headers": {},
            "requestContext": {"httpMethod": "GET", "stage": "prod", "requestId": "r", "accountId": "1",
                               "resourcePath": "/v1/me", "apiId": "a", "identity": {}}
        });
        if !context.is_null() {
            event["requestContext"]["authorizer"] = context;
        }
        lambda_http::request::from_str(&event.to_string()).unwrap()
    }

    /// The same request as an HTTP API payload 2.0 event.
    fn http_event(context: serde_json::Value) -> Request {
        let mut event = serde_json::json!({
            "version": "2.0", "routeKey": "GET /v1/me", "rawPath": "/v1/me", "rawQueryString": "",
            "headers": {},
            "requestContext": {"accountId": "1", "apiId": "a", "domainName": "a.example",
                "http": {"method": "GET", "path": "/v1/me", "protocol": "HTTP/1.1",
                         "sourceIp": "127.0.0.1", "userAgent": "t"},
                "requestId": "r", "routeKey": "GET /v1/me", "stage": "$default",
                "time": "01/Jan/2026:00:00:00 +0000", "timeEpoch": 0},
            "isBase64Encoded": false
        });
        if !context.is_null() {
            event["requestContext"]["authorizer"] = serde_json::json!({"lambda": context});
        }
        lambda_http::request::from_str(&event.to_string()).unwrap()
    }

    #[test]
    fn a_request_without_context_has_no_principal() {
        for request in [
            rest_event(serde_json::Value::Null),
            http_event(serde_json::Value::Null),
            rest_event(serde_json::json!({"userId": "user_1"})),
            http_event(serde_json::json!({"userId": "user_1"})),
        ] {
            assert!(matches!(
                principal_of(&request, 0),
                Err(ApiError::NoPrincipal(_))
            ));
        }
    }

    #[test]
    fn both_payload_formats_carry_the_same_caller() {
        let context = serde_json::json!({
            "userId": "user_1", "authType": "session", "role": "admin", "scopes": "read,write",
            "expiresAt": "1000"
        });
        let rest = principal_of(&rest_event(context.clone()), 0).unwrap();
        let http = principal_of(&http_event(context), 0).unwrap();
        assert_eq!(rest, http);
        assert_eq!(rest.user_id, "user_1");
    }

    #[test]
    fn a_refusal_let_through_is_the_contracts_401() {
        for code in [
            "invalid_token",
            "token_expired",
            "account_suspended",
            "something_else",
        ] {
            let refused = principal_of(
                &http_event(serde_json::json!({REFUSAL_CONTEXT_KEY: code})),
                0,
            )
            .unwrap_err();
            let expected = Rejection::from_code(code).unwrap_or(Rejection::InvalidToken);
            let response = refused.into_response();
            assert_eq!(response.status().as_u16(), 401);
            assert_eq!(response.headers().get(WWW_AUTHENTICATE).unwrap(), "Bearer");
            let body = body_json(&response);
            assert_eq!(body["code"], expected.code());
            assert_eq!(body["error"], expected.message());
        }
    }

    fn with_context(context: serde_json::Value) -> Request {
        rest_event(context)
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
            assert_eq!(response.status().as_u16(), 401);
            assert_eq!(response.headers().get(WWW_AUTHENTICATE).unwrap(), "Bearer");
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
    fn bodies_over_the_limit_are_refused_before_parsing() {
        let with_body = |body: Body| {
            let mut request = Request::new(body);
            *request.method_mut() = http::Method::POST;
            request
        };
        let text = with_body(Body::Text("x".repeat(MAX_BODY_BYTES)));
        assert_eq!(body_text(&text).unwrap().len(), MAX_BODY_BYTES);
        let text = with_body(Body::Text("x".repeat(MAX_BODY_BYTES + 1)));
        assert!(matches!(body_text(&text), Err(ApiError::PayloadTooLarge)));
        let bytes = with_body(Body::Binary(vec![b'y'; MAX_BODY_BYTES]));
        assert_eq!(body_text(&bytes).unwrap().len(), MAX_BODY_BYTES);
        let bytes = with_body(Body::Binary(vec![b'y'; MAX_BODY_BYTES + 1]));
        assert!(matches!(body_text(&bytes), Err(ApiError::PayloadTooLarge)));
        let not_utf8 = with_body(Body::Binary(vec![0xff, 0xfe]));
        assert!(matches!(body_text(&not_utf8), Err(ApiError::BadRequest(_))));
        assert_eq!(body_text(&with_body(Body::Empty)).unwrap(), "");
    }

    #[test]
    fn base64_bodies_arrive_decoded() {
        let mut event = serde_json::json!({
            "httpMethod": "POST", "path": "/v1/me/keys", "headers": {},
            "requestContext": {"httpMethod": "POST", "stage": "prod", "identity": {}},
            "body": "eyJuYW1lIjoieCJ9", "isBase64Encoded": true
        });
        let request = lambda_http::request::from_str(&event.to_string()).unwrap();
        assert_eq!(body_text(&request).unwrap(), r#"{"name":"x"}"#);
        event["isBase64Encoded"] = false.into();
        let request = lambda_http::request::from_str(&event.to_string()).unwrap();
        assert_eq!(body_text(&request).unwrap(), "eyJuYW1lIjoieCJ9");
    }
}
