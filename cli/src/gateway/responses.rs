//! Gateway responses: what API Gateway itself answers (unknown route, missing identity, Deny, authorizer
//! or integration failure), rendered from the template's `GatewayResponses` exactly as a deployment
//! would, so local error bodies are the deployed ones.
//!
//! Selection: the entry for the type; else `DEFAULT_4XX` / `DEFAULT_5XX` by the type's class; else API
//! Gateway's built-in `{"message":$context.error.messageString}`. Status: the entry's `StatusCode`, else
//! the class default's, else the type's default status. Templates support the `$context` variables a
//! gateway response can use (`$context.authorizer.<key>`, `$context.error.message`,
//! `$context.error.messageString`, `$context.error.responseType`, `$context.requestId`, ...). Like API
//! Gateway, substitution escapes nothing: `$context.authorizer.<key>` is pasted raw, so a context value
//! holding a `"` would break a JSON template. Our authorizer only puts fixed strings there.

use std::collections::BTreeMap;

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Response, StatusCode};

use crate::template::{GatewayResponse, HeaderMapping};

/// API Gateway's gateway response types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ResponseType {
    AccessDenied,
    ApiConfigurationError,
    AuthorizerConfigurationError,
    AuthorizerFailure,
    BadRequestParameters,
    BadRequestBody,
    Default4xx,
    Default5xx,
    ExpiredToken,
    IntegrationFailure,
    IntegrationTimeout,
    InvalidApiKey,
    InvalidSignature,
    MissingAuthenticationToken,
    QuotaExceeded,
    RequestTooLarge,
    ResourceNotFound,
    Throttled,
    Unauthorized,
    UnsupportedMediaType,
    WafFiltered,
}

const ALL: [ResponseType; 21] = [
    ResponseType::AccessDenied,
    ResponseType::ApiConfigurationError,
    ResponseType::AuthorizerConfigurationError,
    ResponseType::AuthorizerFailure,
    ResponseType::BadRequestParameters,
    ResponseType::BadRequestBody,
    ResponseType::Default4xx,
    ResponseType::Default5xx,
    ResponseType::ExpiredToken,
    ResponseType::IntegrationFailure,
    ResponseType::IntegrationTimeout,
    ResponseType::InvalidApiKey,
    ResponseType::InvalidSignature,
    ResponseType::MissingAuthenticationToken,
    ResponseType::QuotaExceeded,
    ResponseType::RequestTooLarge,
    ResponseType::ResourceNotFound,
    ResponseType::Throttled,
    ResponseType::Unauthorized,
    ResponseType::UnsupportedMediaType,
    ResponseType::WafFiltered,
];

impl ResponseType {
    /// The name used in templates, e.g. `ACCESS_DENIED`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AccessDenied => "ACCESS_DENIED",
            Self::ApiConfigurationError => "API_CONFIGURATION_ERROR",
            Self::AuthorizerConfigurationError => "AUTHORIZER_CONFIGURATION_ERROR",
            Self::AuthorizerFailure => "AUTHORIZER_FAILURE",
            Self::BadRequestParameters => "BAD_REQUEST_PARAMETERS",
            Self::BadRequestBody => "BAD_REQUEST_BODY",
            Self::Default4xx => "DEFAULT_4XX",
            Self::Default5xx => "DEFAULT_5XX",
            Self::ExpiredToken => "EXPIRED_TOKEN",
            Self::IntegrationFailure => "INTEGRATION_FAILURE",
            Self::IntegrationTimeout => "INTEGRATION_TIMEOUT",
            Self::InvalidApiKey => "INVALID_API_KEY",
            Self::InvalidSignature => "INVALID_SIGNATURE",
            Self::MissingAuthenticationToken => "MISSING_AUTHENTICATION_TOKEN",
            Self::QuotaExceeded => "QUOTA_EXCEEDED",
            Self::RequestTooLarge => "REQUEST_TOO_LARGE",
            Self::ResourceNotFound => "RESOURCE_NOT_FOUND",
            Self::Throttled => "THROTTLED",
            Self::Unauthorized => "UNAUTHORIZED",
            Self::UnsupportedMediaType => "UNSUPPORTED_MEDIA_TYPE",
            Self::WafFiltered => "WAF_FILTERED",
        }
    }

    /// Parses a template name.
    pub fn parse(name: &str) -> Option<Self> {
        ALL.into_iter().find(|kind| kind.as_str() == name)
    }

    /// API Gateway's default status for the type (`None` for the two class defaults).
    pub fn default_status(self) -> Option<u16> {
        Some(match self {
            Self::AccessDenied
            | Self::ExpiredToken
            | Self::InvalidApiKey
            | Self::InvalidSignature
            | Self::MissingAuthenticationToken
            | Self::WafFiltered => 403,
            Self::ApiConfigurationError
            | Self::AuthorizerConfigurationError
            | Self::AuthorizerFailure => 500,
            Self::BadRequestParameters | Self::BadRequestBody => 400,
            Self::IntegrationFailure | Self::IntegrationTimeout => 504,
            Self::QuotaExceeded | Self::Throttled => 429,
            Self::RequestTooLarge => 413,
            Self::ResourceNotFound => 404,
            Self::Unauthorized => 401,
            Self::UnsupportedMediaType => 415,
            Self::Default4xx | Self::Default5xx => return None,
        })
    }

    /// The class default this type falls back to.
    pub fn class_default(self) -> Self {
        match self.default_status() {
            Some(status) if status < 500 => Self::Default4xx,
            Some(_) => Self::Default5xx,
            None => self,
        }
    }

    /// API Gateway's `$context.error.message` for the type; `None` renders as JSON `null` (what API
    /// Gateway sends for authorizer errors: `{"message":null}`).
    pub fn default_message(self) -> Option<&'static str> {
        Some(match self {
            Self::AccessDenied => "User is not authorized to access this resource",
            Self::MissingAuthenticationToken => "Missing Authentication Token",
            Self::Unauthorized => "Unauthorized",
            Self::AuthorizerConfigurationError | Self::AuthorizerFailure => return None,
            Self::IntegrationTimeout => "Endpoint request timed out",
            Self::IntegrationFailure | Self::Default5xx | Self::ApiConfigurationError => {
                "Internal server error"
            }
            Self::RequestTooLarge => "Request Too Long",
            Self::BadRequestBody => "Invalid request body",
            Self::BadRequestParameters => "Invalid request parameters",
            Self::ResourceNotFound => "Not Found",
            Self::Throttled => "Too Many Requests",
            Self::QuotaExceeded => "Limit Exceeded",
            Self::UnsupportedMediaType => "Unsupported Media Type",
            Self::ExpiredToken => "The security token included in the request is expired",
            Self::InvalidApiKey | Self::WafFiltered => "Forbidden",
            Self::InvalidSignature => "Invalid signature",
            Self::Default4xx => "Bad Request",
        })
    }
}

/// What a gateway response template can refer to.
#[derive(Debug, Clone, Default)]
pub struct ResponseContext<'a> {
    /// `$context.requestId`.
    pub request_id: &'a str,
    /// `$context.extendedRequestId`.
    pub extended_request_id: &'a str,
    /// `$context.error.message`; `None` is JSON `null` in `messageString`.
    pub message: Option<&'a str>,
    /// `$context.authorizer.principalId`.
    pub principal_id: Option<&'a str>,
    /// `$context.authorizer.<key>`, values as strings.
    pub authorizer: Option<&'a BTreeMap<String, String>>,
    /// `$context.stage`, `$context.apiId`, `$context.accountId`, `$context.domainName`.
    pub stage: &'a str,
    pub api_id: &'a str,
    pub account_id: &'a str,
    pub domain_name: &'a str,
    /// `$context.httpMethod`, `$context.resourcePath` (empty when no route matched), `$context.path`.
    pub http_method: &'a str,
    pub resource_path: &'a str,
    pub path: &'a str,
    /// `$context.identity.sourceIp`, `$context.identity.userAgent`.
    pub source_ip: &'a str,
    pub user_agent: &'a str,
    /// `$context.requestTimeEpoch` (ms) and `$context.requestTime`.
    pub request_time_epoch: i64,
    pub request_time: &'a str,
    /// Request headers (lower-case names, last value), query string and path parameters, for
    /// `method.request.*` header mappings.
    pub request_headers: Option<&'a BTreeMap<String, String>>,
    pub query: Option<&'a BTreeMap<String, String>>,
    pub path_parameters: Option<&'a BTreeMap<String, String>>,
}

/// The template's gateway responses, ready to render.
#[derive(Debug, Clone, Default)]
pub struct GatewayResponses {
    entries: BTreeMap<ResponseType, GatewayResponse>,
}

/// API Gateway's built-in template.
const BUILT_IN_TEMPLATE: &str = r#"{"message":$context.error.messageString}"#;

impl GatewayResponses {
    /// From the template's `GatewayResponses`.
    pub fn new(entries: BTreeMap<ResponseType, GatewayResponse>) -> Self {
        Self { entries }
    }

    /// The status this type answers with.
    pub fn status(&self, kind: ResponseType) -> u16 {
        let class = kind.class_default();
        self.entries
            .get(&kind)
            .and_then(|entry| entry.status_code)
            .or_else(|| self.entries.get(&class).and_then(|entry| entry.status_code))
            .or_else(|| kind.default_status())
            .unwrap_or(if class == ResponseType::Default4xx {
                400
            } else {
                500
            })
    }

    /// Renders the response of `kind` with `status` instead of the type's own (API Gateway does so for
    /// Lambda proxy failures: 502 with the `DEFAULT_5XX` response).
    pub fn render_with_status(
        &self,
        kind: ResponseType,
        status: u16,
        context: &ResponseContext,
    ) -> Response<Bytes> {
        let entry = self
            .entries
            .get(&kind)
            .or_else(|| self.entries.get(&kind.class_default()));
        let (content_type, template) = entry
            .and_then(|entry| {
                entry
                    .templates
                    .get_key_value("application/json")
                    .or_else(|| entry.templates.iter().next())
            })
            .map_or(("application/json", BUILT_IN_TEMPLATE), |(key, value)| {
                (key.as_str(), value.as_str())
            });
        let body = render_template(template, kind, context);
        let mut response = Response::new(Bytes::from(body));
        *response.status_mut() =
            StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let headers = response.headers_mut();
        if let Ok(value) = HeaderValue::from_str(content_type) {
            headers.insert(http::header::CONTENT_TYPE, value);
        }
        for (name, mapping) in entry
            .map(|entry| entry.headers.as_slice())
            .unwrap_or_default()
        {
            let value = match mapping {
                HeaderMapping::Static(text) => Some(text.as_str()),
                HeaderMapping::RequestHeader(header) => context
                    .request_headers
                    .and_then(|map| map.get(&header.to_ascii_lowercase()))
                    .map(String::as_str),
                HeaderMapping::RequestQueryString(key) => context
                    .query
                    .and_then(|map| map.get(key))
                    .map(String::as_str),
                HeaderMapping::RequestPath(key) => context
                    .path_parameters
                    .and_then(|map| map.get(key))
                    .map(String::as_str),
            };
            let (Ok(name), Some(Ok(value))) = (
                HeaderName::from_bytes(name.as_bytes()),
                value.map(HeaderValue::from_str),
            ) else {
                continue;
            };
            headers.insert(name, value);
        }
        response
    }

    /// Renders the response of `kind` with its own status.
    pub fn render(&self, kind: ResponseType, context: &ResponseContext) -> Response<Bytes> {
        self.render_with_status(kind, self.status(kind), context)
    }
}

/// Substitutes `$context.…` / `${context.…}` references; an unknown variable renders empty, as in API
/// Gateway. Nothing is escaped.
pub fn render_template(template: &str, kind: ResponseType, context: &ResponseContext) -> String {
    let mut out = String::with_capacity(template.len() + 64);
    let mut rest = template;
    while let Some(index) = rest.find('$') {
        let (before, from_dollar) = rest.split_at(index);
        out.push_str(before);
        let after = from_dollar.get(1..).unwrap_or_default();
        let (braced, body) = match after.strip_prefix('{') {
            Some(inner) => (true, inner),
            None => (false, after),
        };
        let Some(reference) = body.strip_prefix("context.") else {
            out.push('$');
            rest = after;
            continue;
        };
        let (path, remainder) = reference_path(reference);
        if path.is_empty() {
            out.push('$');
            rest = after;
            continue;
        }
        let remainder = if braced {
            match remainder.strip_prefix('}') {
                Some(remainder) => remainder,
                None => {
                    out.push('$');
                    rest = after;
                    continue;
                }
            }
        } else {
            remainder
        };
        out.push_str(&lookup(&path, kind, context));
        rest = remainder;
    }
    out.push_str(rest);
    out
}

/// Splits the dotted identifiers after `$context.`: `authorizer` and `error` take one more segment,
/// `identity` too; everything else is one segment.
fn reference_path(text: &str) -> (Vec<&str>, &str) {
    fn identifier(text: &str) -> (&str, &str) {
        let end = text
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(text.len());
        text.split_at(end)
    }
    let (first, rest) = identifier(text);
    if first.is_empty() {
        return (Vec::new(), text);
    }
    if matches!(first, "authorizer" | "error" | "identity")
        && let Some(after_dot) = rest.strip_prefix('.')
    {
        let (second, remainder) = identifier(after_dot);
        if !second.is_empty() {
            return (vec![first, second], remainder);
        }
    }
    (vec![first], rest)
}

fn lookup(path: &[&str], kind: ResponseType, context: &ResponseContext) -> String {
    let owned = |text: &str| text.to_owned();
    match path {
        ["authorizer", "principalId"] => context.principal_id.map(owned).unwrap_or_default(),
        ["authorizer", key] => context
            .authorizer
            .and_then(|map| map.get(*key))
            .cloned()
            .unwrap_or_default(),
        ["error", "message"] => context.message.map(owned).unwrap_or_default(),
        ["error", "messageString"] => match context.message {
            Some(message) => serde_json::Value::from(message).to_string(),
            None => "null".to_owned(),
        },
        ["error", "responseType"] => kind.as_str().to_owned(),
        ["identity", "sourceIp"] => owned(context.source_ip),
        ["identity", "userAgent"] => owned(context.user_agent),
        ["requestId"] => owned(context.request_id),
        ["extendedRequestId"] => owned(context.extended_request_id),
        ["stage"] => owned(context.stage),
        ["apiId"] => owned(context.api_id),
        ["accountId"] => owned(context.account_id),
        ["domainName"] => owned(context.domain_name),
        ["httpMethod"] => owned(context.http_method),
        ["resourcePath"] => owned(context.resource_path),
        ["path"] => owned(context.path),
        ["requestTime"] => owned(context.request_time),
        ["requestTimeEpoch"] => context.request_time_epoch.to_string(),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )]

    use super::*;

    fn entry(
        status: Option<u16>,
        template: &str,
        headers: &[(&str, HeaderMapping)],
    ) -> GatewayResponse {
        GatewayResponse {
            status_code: status,
            headers: headers
                .iter()
                .map(|(name, mapping)| ((*name).to_owned(), mapping.clone()))
                .collect(),
            templates: [("application/json".to_owned(), template.to_owned())].into(),
        }
    }

    #[test]
    fn names_round_trip() {
        for kind in ALL {
            assert_eq!(ResponseType::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(ResponseType::parse("NOPE"), None);
        assert_eq!(
            ResponseType::MissingAuthenticationToken.class_default(),
            ResponseType::Default4xx
        );
        assert_eq!(
            ResponseType::IntegrationTimeout.class_default(),
            ResponseType::Default5xx
        );
    }

    #[test]
    fn renders_context_variables_without_escaping() {
        let authorizer: BTreeMap<String, String> = [
            ("error".to_owned(), "invalid \"token\"".to_owned()),
            ("code".to_owned(), "invalid_token".to_owned()),
        ]
        .into();
        let context = ResponseContext {
            request_id: "req-1",
            message: Some("say \"hi\""),
            principal_id: Some("anonymous"),
            authorizer: Some(&authorizer),
            stage: "prod",
            ..ResponseContext::default()
        };
        let render =
            |template: &str| render_template(template, ResponseType::AccessDenied, &context);
        assert_eq!(
            render(r#"{"error":"$context.authorizer.error","code":"${context.authorizer.code}"}"#),
            r#"{"error":"invalid "token"","code":"invalid_token"}"#
        );
        assert_eq!(
            render(
                "$context.error.messageString|$context.error.message|$context.error.responseType"
            ),
            r#""say \"hi\""|say "hi"|ACCESS_DENIED"#
        );
        assert_eq!(
            render("$context.requestId $context.stage $context.authorizer.principalId."),
            "req-1 prod anonymous."
        );
        assert_eq!(
            render("[$context.authorizer.missing][$context.nope]"),
            "[][]"
        );
        assert_eq!(
            render("$input.body $ $context. ${context.stage"),
            "$input.body $ $context. ${context.stage"
        );
        let null = ResponseContext::default();
        assert_eq!(
            render_template(BUILT_IN_TEMPLATE, ResponseType::AuthorizerFailure, &null),
            r#"{"message":null}"#
        );
    }

    #[test]
    fn selects_entry_then_class_default_then_built_in() {
        let responses = GatewayResponses::new(
            [
                (
                    ResponseType::AccessDenied,
                    entry(
                        Some(401),
                        r#"{"code":"$context.authorizer.code"}"#,
                        &[
                            ("WWW-Authenticate", HeaderMapping::Static("Bearer".into())),
                            ("X-Echo", HeaderMapping::RequestHeader("X-In".into())),
                            ("X-Absent", HeaderMapping::RequestQueryString("q".into())),
                        ],
                    ),
                ),
                (
                    ResponseType::Default4xx,
                    entry(None, r#"{"error":$context.error.messageString}"#, &[]),
                ),
            ]
            .into(),
        );
        let authorizer: BTreeMap<String, String> =
            [("code".to_owned(), "token_expired".to_owned())].into();
        let headers: BTreeMap<String, String> = [("x-in".to_owned(), "echo".to_owned())].into();
        let context = ResponseContext {
            authorizer: Some(&authorizer),
            request_headers: Some(&headers),
            message: ResponseType::AccessDenied.default_message(),
            ..ResponseContext::default()
        };
        let denied = responses.render(ResponseType::AccessDenied, &context);
        assert_eq!(denied.status(), 401);
        assert_eq!(denied.headers()["www-authenticate"], "Bearer");
        assert_eq!(denied.headers()["x-echo"], "echo");
        assert_eq!(denied.headers()["content-type"], "application/json");
        assert!(!denied.headers().contains_key("x-absent"));
        assert_eq!(denied.body().as_ref(), br#"{"code":"token_expired"}"#);

        let context = ResponseContext {
            message: ResponseType::MissingAuthenticationToken.default_message(),
            ..ResponseContext::default()
        };
        let missing = responses.render(ResponseType::MissingAuthenticationToken, &context);
        assert_eq!(missing.status(), 403);
        assert_eq!(
            missing.body().as_ref(),
            br#"{"error":"Missing Authentication Token"}"#
        );

        let context = ResponseContext {
            message: ResponseType::Default5xx.default_message(),
            ..ResponseContext::default()
        };
        let failed = responses.render_with_status(ResponseType::Default5xx, 502, &context);
        assert_eq!(failed.status(), 502);
        assert_eq!(
            failed.body().as_ref(),
            br#"{"message":"Internal server error"}"#
        );
        assert_eq!(failed.headers()["content-type"], "application/json");
    }

    #[test]
    fn class_default_status_overrides_type_defaults() {
        let responses =
            GatewayResponses::new([(ResponseType::Default4xx, entry(Some(400), "x", &[]))].into());
        assert_eq!(responses.status(ResponseType::Unauthorized), 400);
        assert_eq!(responses.status(ResponseType::AuthorizerFailure), 500);
        let none = GatewayResponses::default();
        assert_eq!(none.status(ResponseType::MissingAuthenticationToken), 403);
        assert_eq!(none.status(ResponseType::Default4xx), 400);
        assert_eq!(none.status(ResponseType::RequestTooLarge), 413);
    }
}
