//! Where the protected resource lives as the caller sees it, and the `WWW-Authenticate` challenges
//! that point an OAuth client at its metadata (RFC 9728 section 5.1, RFC 6750 section 3).

use http::HeaderValue;
use http::header::WWW_AUTHENTICATE;
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};

use crate::api::{ApiError, ApiResponse};
use crate::error::Rejection;
use crate::oauth::{self, ResourceServerConfig};

/// The API's absolute base URL for this request ([`oauth::public_base_url`] over the gateway's
/// `domainName` and `stage`, or `PUBLIC_BASE_URL`); `None` when neither says.
pub fn base_url(request: &Request, config: &ResourceServerConfig) -> Option<String> {
    let (domain, stage) = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV1(context)) => {
            (context.domain_name.as_deref(), context.stage.as_deref())
        }
        Some(RequestContext::ApiGatewayV2(context)) => {
            (context.domain_name.as_deref(), context.stage.as_deref())
        }
        _ => (None, None),
    };
    oauth::public_base_url(domain, stage, config.public_base_url.as_deref())
}

/// `text` as an RFC 9110 quoted string (without the quotes).
fn quoted(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Sets `WWW-Authenticate` to `value`, or to a bare `Bearer` when `value` cannot be a header.
fn set_challenge(response: &mut ApiResponse, value: &str) {
    let header =
        HeaderValue::from_str(value).unwrap_or_else(|_| HeaderValue::from_static("Bearer"));
    response.headers_mut().insert(WWW_AUTHENTICATE, header);
}

/// The contract's 401 for `rejection`, challenging with the metadata URL when it is known
/// (`Bearer resource_metadata="…"`; a bare `Bearer` otherwise).
pub fn unauthenticated(rejection: Rejection, metadata_url: Option<&str>) -> ApiResponse {
    let mut response = ApiError::Unauthenticated(rejection).into_response();
    if let Some(url) = metadata_url {
        set_challenge(
            &mut response,
            &format!("Bearer resource_metadata=\"{}\"", quoted(url)),
        );
    }
    response
}

/// Adds the challenge of a missing scope to a route's 403 `insufficient_scope`: `Bearer
/// error="insufficient_scope", scope="<oauth scopes>", resource_metadata="…"` (the `scope` parameter
/// left out when no OAuth scope grants it).
pub fn insufficient_scope(
    mut response: ApiResponse,
    oauth_scopes: &str,
    metadata_url: Option<&str>,
) -> ApiResponse {
    let mut value = String::from("Bearer error=\"insufficient_scope\"");
    if !oauth_scopes.is_empty() {
        value.push_str(&format!(", scope=\"{}\"", quoted(oauth_scopes)));
    }
    if let Some(url) = metadata_url {
        value.push_str(&format!(", resource_metadata=\"{}\"", quoted(url)));
    }
    set_challenge(&mut response, &value);
    response
}

/// Whether the `Origin` header, when present, is the API's own origin (MCP Streamable HTTP:
/// servers must validate it against DNS rebinding). Without an `Origin` (every non-browser client)
/// or without a known base URL, there is nothing to compare and the request passes; the bearer token
/// is the real gate either way.
pub fn origin_allowed(request: &Request, base: Option<&str>) -> bool {
    let Some(origin) = request.headers().get(http::header::ORIGIN) else {
        return true;
    };
    let Some(own) = base.and_then(origin_of) else {
        return true;
    };
    origin
        .to_str()
        .is_ok_and(|origin| origin.trim_end_matches('/').eq_ignore_ascii_case(own))
}

/// `scheme://authority` of an absolute URL.
fn origin_of(url: &str) -> Option<&str> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    url.get(..scheme.len() + 3 + authority.len())
}

/// A JSON response from a body already serialized.
pub fn json_text(status: u16, body: String) -> ApiResponse {
    let mut response = Response::new(Body::Text(body));
    *response.status_mut() =
        http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// The 500 of a function deployed without what it needs; `detail` goes to the log only.
pub fn misconfigured(detail: &'static str) -> ApiResponse {
    tracing::error!(code = "internal_error", detail, "request failed");
    json_text(
        500,
        crate::error::error_body("internal error", "internal_error"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_quote_their_parameters() {
        let response = unauthenticated(
            Rejection::InvalidToken,
            Some("https://api.example.com/prod/.well-known/oauth-protected-resource/mcp"),
        );
        assert_eq!(response.status().as_u16(), 401);
        assert_eq!(
            response.headers()[WWW_AUTHENTICATE],
            "Bearer resource_metadata=\"https://api.example.com/prod/.well-known/oauth-protected-resource/mcp\""
        );
        assert_eq!(
            unauthenticated(Rejection::InvalidToken, None).headers()[WWW_AUTHENTICATE],
            "Bearer"
        );
        let forbidden = insufficient_scope(
            json_text(403, String::from("{}")),
            "read mcp:read",
            Some("https://a.example/x\"y"),
        );
        assert_eq!(
            forbidden.headers()[WWW_AUTHENTICATE],
            r#"Bearer error="insufficient_scope", scope="read mcp:read", resource_metadata="https://a.example/x\"y""#
        );
        let no_scope = insufficient_scope(json_text(403, String::from("{}")), "", None);
        assert_eq!(
            no_scope.headers()[WWW_AUTHENTICATE],
            r#"Bearer error="insufficient_scope""#
        );
    }

    #[test]
    fn origins_compare_scheme_and_authority() {
        assert_eq!(
            origin_of("https://api.example.com/prod"),
            Some("https://api.example.com")
        );
        assert_eq!(
            origin_of("http://127.0.0.1:3000"),
            Some("http://127.0.0.1:3000")
        );
        assert_eq!(origin_of("nope"), None);
        let with_origin = |origin: Option<&str>| {
            let mut request = Request::new(Body::Empty);
            if let Some(origin) = origin {
                request
                    .headers_mut()
                    .insert(http::header::ORIGIN, HeaderValue::from_str(origin).unwrap());
            }
            request
        };
        let base = Some("https://api.example.com/prod");
        assert!(origin_allowed(&with_origin(None), base));
        assert!(origin_allowed(
            &with_origin(Some("https://API.example.com")),
            base
        ));
        assert!(!origin_allowed(
            &with_origin(Some("https://evil.example")),
            base
        ));
        assert!(!origin_allowed(&with_origin(Some("null")), base));
        assert!(origin_allowed(
            &with_origin(Some("https://evil.example")),
            None
        ));
    }
}
