//! Parsing of the `Authorization` header (README "How a request is decided") and classification of the bearer token
//! as an API key, a Clerk opaque OAuth access token or a JWT (a Clerk session token or OAuth access
//! token; the JWT's header tells which, see `crate::jwt`). It works on borrowed slices with no `split()[1]` indexing and
//! no string replacement, so no header value can make it panic or smuggle a second token through.

use crate::error::Rejection;

/// What kind of credential a bearer token is, decided by its prefix alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential<'a> {
    /// Starts with the configured API key prefix.
    ApiKey(&'a str),
    /// Starts with [`OPAQUE_OAUTH_PREFIX`]: a Clerk opaque OAuth access token.
    OpaqueOAuth(&'a str),
    /// Anything else is treated as a JWT: a Clerk session token or OAuth access token.
    Jwt(&'a str),
}

/// The prefix of Clerk's opaque OAuth access tokens.
pub const OPAQUE_OAUTH_PREFIX: &str = "oat_";

/// Extracts the token from an `Authorization` header value.
///
/// `None` (no header) and a value that is empty once trimmed are [`Rejection::MissingAuthorization`],
/// as API Gateway treats an empty identity source as absent. The scheme is matched case-insensitively,
/// one or more spaces separate it from the token, and surrounding white space is ignored. A token with
/// inner white space or non-printable characters is malformed.
pub fn bearer_token(header: Option<&str>) -> Result<&str, Rejection> {
    let value = header.map(str::trim).unwrap_or_default();
    if value.is_empty() {
        return Err(Rejection::MissingAuthorization);
    }
    let (scheme, rest) = match value.split_once(' ') {
        Some((scheme, rest)) => (scheme, rest),
        None => (value, ""),
    };
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(Rejection::MalformedAuthorization);
    }
    let token = rest.trim_start_matches(' ');
    if token.is_empty() {
        return Err(Rejection::EmptyToken);
    }
    if !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Rejection::MalformedAuthorization);
    }
    Ok(token)
}

/// Classifies a token by its prefix: the API key prefix first, then Clerk's opaque OAuth prefix.
pub fn classify<'a>(token: &'a str, api_key_prefix: &str) -> Credential<'a> {
    if token.starts_with(api_key_prefix) {
        Credential::ApiKey(token)
    } else if token.starts_with(OPAQUE_OAUTH_PREFIX) {
        Credential::OpaqueOAuth(token)
    } else {
        Credential::Jwt(token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_canonical_form() {
        assert_eq!(bearer_token(Some("Bearer abc.def.ghi")), Ok("abc.def.ghi"));
    }

    #[test]
    fn scheme_is_case_insensitive_and_spacing_is_lenient() {
        assert_eq!(bearer_token(Some("bearer tok")), Ok("tok"));
        assert_eq!(bearer_token(Some("BEARER tok")), Ok("tok"));
        assert_eq!(bearer_token(Some("  Bearer    tok  ")), Ok("tok"));
        assert_eq!(bearer_token(Some("\tBearer tok\r\n")), Ok("tok"));
    }

    #[test]
    fn missing_and_blank_headers_are_missing() {
        assert_eq!(bearer_token(None), Err(Rejection::MissingAuthorization));
        assert_eq!(bearer_token(Some("")), Err(Rejection::MissingAuthorization));
        assert_eq!(
            bearer_token(Some("   ")),
            Err(Rejection::MissingAuthorization)
        );
    }

    #[test]
    fn bearer_without_token_is_empty() {
        assert_eq!(bearer_token(Some("Bearer")), Err(Rejection::EmptyToken));
        assert_eq!(bearer_token(Some("Bearer ")), Err(Rejection::EmptyToken));
        assert_eq!(
            bearer_token(Some("bearer     ")),
            Err(Rejection::EmptyToken)
        );
    }

    #[test]
    fn other_schemes_and_shapes_are_malformed() {
        for value in [
            "Basic dXNlcjpwYXNz",
            "Token abc",
            "Bearertok",
            "Bearer\ttok",
            "Bearer a b",
            "Bearer tok\u{7f}",
            "Bearer tök",
            "abc.def.ghi",
        ] {
            assert_eq!(
                bearer_token(Some(value)),
                Err(Rejection::MalformedAuthorization),
                "{value:?}"
            );
        }
    }

    #[test]
    fn classification_is_by_prefix() {
        assert_eq!(classify("sf_abc", "sf_"), Credential::ApiKey("sf_abc"));
        assert_eq!(classify("eyJ.x.y", "sf_"), Credential::Jwt("eyJ.x.y"));
        assert_eq!(classify("SF_abc", "sf_"), Credential::Jwt("SF_abc"));
        assert_eq!(
            classify("oat_abc", "sf_"),
            Credential::OpaqueOAuth("oat_abc")
        );
    }
}
