//! OAuth 2.0 access tokens and the protected resource they are meant for (README, "OAuth access
//! tokens and MCP"). Three things live here because the authorizer and the routes must agree on them:
//!
//! - [`OAuthSettings`]: which tokens the authorizer accepts (`OAUTH_RESOURCES`,
//!   `OAUTH_ALLOW_MISSING_AUDIENCE`, `OAUTH_CLIENT_IDS`, `CLERK_OAUTH_OPAQUE`);
//! - [`ScopeMap`]: how a token's OAuth scopes become Gatehouse's `read` and `write`
//!   (`OAUTH_SCOPE_MAP`), and back (which OAuth scope to ask for when one is missing);
//! - [`public_base_url`]: the API's absolute URL as the caller sees it, from the gateway's
//!   `domainName` and `stage` (or `PUBLIC_BASE_URL`), which is both the resource a token's `aud` must
//!   name when `OAUTH_RESOURCES` is unset and the base of the protected-resource metadata URLs.
//!
//! The authorizer core uses this module; it never depends on route logic.

use crate::config::{ConfigError, Env};
use crate::principal::Scopes;

/// The OAuth scopes Gatehouse maps by default: `read` grants read, `write` grants write.
pub const DEFAULT_SCOPE_MAP: &str = "read=read,write=write";

/// Path of the protected-resource metadata document (RFC 9728) for the whole API.
pub const PROTECTED_RESOURCE_PATH: &str = "/.well-known/oauth-protected-resource";

/// Path of the MCP endpoint.
pub const MCP_PATH: &str = "/mcp";

/// How a token's OAuth scopes map to Gatehouse scopes: each OAuth scope named in the map grants the
/// Gatehouse scopes it maps to; scopes not in the map grant nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeMap {
    entries: Vec<(String, Scopes)>,
}

impl ScopeMap {
    /// Parses `oauthScope=read|write[+read|write]`, comma-separated (e.g.
    /// `read=read,write=write,profile=read`).
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut entries: Vec<(String, Scopes)> = Vec::new();
        for item in text.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let Some((oauth, granted)) = item.split_once('=') else {
                return Err(format!("entry {item:?} is not oauthScope=gatehouseScope"));
            };
            let oauth = oauth.trim();
            if oauth.is_empty() || !oauth.bytes().all(is_scope_token_byte) {
                return Err(format!("{oauth:?} is not an OAuth scope token"));
            }
            let scopes = Scopes::parse_list(granted.split('+').map(str::trim))
                .filter(|s| s.read || s.write)
                .ok_or_else(|| format!("{granted:?} must be read, write or read+write"))?;
            match entries.iter_mut().find(|(name, _)| name == oauth) {
                Some((_, existing)) => {
                    existing.read |= scopes.read;
                    existing.write |= scopes.write;
                }
                None => entries.push((oauth.to_owned(), scopes)),
            }
        }
        if entries.is_empty() {
            return Err("maps no scope".to_owned());
        }
        Ok(ScopeMap { entries })
    }

    /// The Gatehouse scopes a token granted `oauth_scopes` holds.
    pub fn map<'a>(&self, oauth_scopes: impl IntoIterator<Item = &'a str>) -> Scopes {
        let mut scopes = Scopes {
            read: false,
            write: false,
        };
        for scope in oauth_scopes {
            if let Some((_, granted)) = self.entries.iter().find(|(name, _)| name == scope) {
                scopes.read |= granted.read;
                scopes.write |= granted.write;
            }
        }
        scopes
    }

    /// The OAuth scopes that grant `gatehouse_scope` (`read` or `write`), space-separated, for the
    /// `scope` parameter of an `insufficient_scope` challenge.
    pub fn granting(&self, gatehouse_scope: &str) -> String {
        self.entries
            .iter()
            .filter(|(_, s)| match gatehouse_scope {
                "read" => s.read,
                "write" => s.write,
                _ => false,
            })
            .map(|(name, _)| name.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Every OAuth scope the map knows (`scopes_supported`), in the order configured.
    pub fn supported(&self) -> Vec<&str> {
        self.entries.iter().map(|(name, _)| name.as_str()).collect()
    }
}

impl Default for ScopeMap {
    fn default() -> Self {
        ScopeMap {
            entries: vec![
                (
                    "read".to_owned(),
                    Scopes {
                        read: true,
                        write: false,
                    },
                ),
                (
                    "write".to_owned(),
                    Scopes {
                        read: false,
                        write: true,
                    },
                ),
            ],
        }
    }
}

/// RFC 6749 `scope-token` characters: printable ASCII but space, `"` and `\`.
fn is_scope_token_byte(b: u8) -> bool {
    (0x21..0x7f).contains(&b) && b != b'"' && b != b'\\'
}

/// What the authorizer accepts of OAuth access tokens.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OAuthSettings {
    /// `OAUTH_RESOURCES`: a token's `aud` must contain one of these. `None`: the API's own URL as
    /// the gateway reports it ([`public_base_url`]), and that URL with `/mcp`.
    pub resources: Option<Vec<String>>,
    /// `OAUTH_ALLOW_MISSING_AUDIENCE` (default false): accept a token without `aud`.
    pub allow_missing_audience: bool,
    /// `OAUTH_CLIENT_IDS`: when set, the only accepted `client_id`s.
    pub client_ids: Option<Vec<String>>,
    /// `OAUTH_SCOPE_MAP` (default [`DEFAULT_SCOPE_MAP`]).
    pub scope_map: ScopeMap,
    /// `CLERK_OAUTH_OPAQUE` (default false): verify opaque `oat_` tokens through Clerk's Backend API
    /// (which then needs `CLERK_SECRET_KEY_SECRET_ID`).
    pub opaque: bool,
    /// `PUBLIC_BASE_URL`: the API's base URL when the gateway's domain and stage do not give it.
    pub public_base_url: Option<String>,
}

impl OAuthSettings {
    /// Reads the `OAUTH_*` variables and `CLERK_OAUTH_OPAQUE`.
    pub fn from_env<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<Self, ConfigError> {
        let resources = match env.get("OAUTH_RESOURCES") {
            None => None,
            Some(list) => Some(
                csv(&list)
                    .map(|url| {
                        crate::config::parse_url("OAUTH_RESOURCES", url)
                            .map(|parsed| parsed.trim_end_matches('/').to_owned())
                    })
                    .collect::<Result<Vec<_>, _>>()?,
            ),
        }
        .filter(|list| !list.is_empty());
        let client_ids = env
            .get("OAUTH_CLIENT_IDS")
            .map(|list| csv(&list).map(str::to_owned).collect::<Vec<_>>())
            .filter(|list| !list.is_empty());
        Ok(OAuthSettings {
            resources,
            allow_missing_audience: crate::config::parse_bool(
                "OAUTH_ALLOW_MISSING_AUDIENCE",
                env.get("OAUTH_ALLOW_MISSING_AUDIENCE"),
            )?,
            client_ids,
            scope_map: scope_map_from_env(env)?,
            opaque: crate::config::parse_bool("CLERK_OAUTH_OPAQUE", env.get("CLERK_OAUTH_OPAQUE"))?,
            public_base_url: public_base_url_from_env(env)?,
        })
    }

    /// Whether `aud` (the token's audiences) names this API: one of `OAUTH_RESOURCES`, or, when that
    /// is unset, `base` or `base/mcp` (`base` as [`public_base_url`] gives it; `None` when the event
    /// did not say where it was sent, and then nothing matches). Trailing slashes are ignored.
    pub fn audience_matches(&self, aud: &[String], base: Option<&str>) -> bool {
        let matches = |resource: &str| {
            aud.iter()
                .any(|a| a.trim_end_matches('/') == resource.trim_end_matches('/'))
        };
        match (&self.resources, base) {
            (Some(resources), _) => resources.iter().any(|r| matches(r)),
            (None, Some(base)) => matches(base) || matches(&format!("{base}{MCP_PATH}")),
            (None, None) => false,
        }
    }

    /// Whether `client_id` may call the API.
    pub fn client_allowed(&self, client_id: &str) -> bool {
        self.client_ids
            .as_ref()
            .is_none_or(|ids| ids.iter().any(|id| id == client_id))
    }
}

/// What the protected resource says about itself (the discovery document, the challenges of `/mcp`),
/// read once at cold start by the functions that serve them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceServerConfig {
    /// `PUBLIC_BASE_URL`: the API's base URL when the gateway's domain and stage do not give it (a
    /// custom domain with a base-path mapping); see [`public_base_url`].
    pub public_base_url: Option<String>,
    /// The authorization server: `CLERK_ISSUER` (in `gatehouse serve`'s dev mode, its dev issuer).
    pub authorization_server: String,
    /// `OAUTH_SCOPE_MAP`: the OAuth scopes offered (`scopes_supported`) and what they grant.
    pub scope_map: ScopeMap,
    /// `MCP_OAUTH_ONLY` (default false): `/mcp` accepts only OAuth access tokens, as the MCP
    /// authorization specification asks; by default it also accepts API keys and session tokens.
    pub mcp_oauth_only: bool,
}

impl ResourceServerConfig {
    /// Reads `PUBLIC_BASE_URL`, `CLERK_ISSUER`, `OAUTH_SCOPE_MAP` and `MCP_OAUTH_ONLY`.
    pub fn from_env<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<Self, ConfigError> {
        let public_base_url = public_base_url_from_env(env)?;
        let issuer = env.get("CLERK_ISSUER").ok_or(ConfigError {
            var: "CLERK_ISSUER",
            problem: "is required".to_owned(),
        })?;
        Ok(ResourceServerConfig {
            public_base_url,
            authorization_server: crate::config::parse_url("CLERK_ISSUER", &issuer)?,
            scope_map: scope_map_from_env(env)?,
            mcp_oauth_only: crate::config::parse_bool("MCP_OAUTH_ONLY", env.get("MCP_OAUTH_ONLY"))?,
        })
    }
}

/// `PUBLIC_BASE_URL`, when set (the authorizer and the resource server read it alike).
fn public_base_url_from_env<F: Fn(&str) -> Option<String>>(
    env: &Env<F>,
) -> Result<Option<String>, ConfigError> {
    env.get("PUBLIC_BASE_URL")
        .map(|url| crate::config::parse_url("PUBLIC_BASE_URL", &url))
        .transpose()
}

/// An OAuth `client_id` or `jti`: 1 to 255 visible ASCII characters, no comma (they reach logs and
/// the authorizer context). The one rule for JWT and opaque tokens alike.
pub fn is_token_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 255 && id.bytes().all(|b| b.is_ascii_graphic() && b != b',')
}

/// `OAUTH_SCOPE_MAP`, or the default.
pub fn scope_map_from_env<F: Fn(&str) -> Option<String>>(
    env: &Env<F>,
) -> Result<ScopeMap, ConfigError> {
    match env.get("OAUTH_SCOPE_MAP") {
        None => Ok(ScopeMap::default()),
        Some(text) => ScopeMap::parse(&text).map_err(|problem| ConfigError {
            var: "OAUTH_SCOPE_MAP",
            problem,
        }),
    }
}

fn csv(list: &str) -> impl Iterator<Item = &str> {
    list.split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
}

/// The API's absolute base URL, without a trailing slash, as a caller reaches it:
/// `configured` (`PUBLIC_BASE_URL`, for custom domains and base-path mappings) when set; otherwise
/// built from the gateway's `domainName` and `stage`: `https://{domain}/{stage}` on a default
/// `execute-api` domain (the stage is part of the path there, except the HTTP API's `$default`),
/// `https://{domain}` on any other domain, and `http://` for a loopback host (`gatehouse serve`).
/// `None` when the domain is missing or not a plain host name.
pub fn public_base_url(
    domain_name: Option<&str>,
    stage: Option<&str>,
    configured: Option<&str>,
) -> Option<String> {
    if let Some(url) = configured {
        return Some(url.trim_end_matches('/').to_owned());
    }
    let domain = domain_name.filter(|d| is_host(d))?;
    let host = domain.rsplit_once(':').map_or(domain, |(host, _)| host);
    let loopback = matches!(host, "localhost" | "127.0.0.1" | "[::1]") || host.starts_with("127.");
    let scheme = if loopback { "http" } else { "https" };
    let execute_api = host.contains(".execute-api.")
        && (host.ends_with(".amazonaws.com") || host.ends_with(".amazonaws.com.cn"));
    match stage.filter(|s| execute_api && !s.is_empty() && *s != "$default") {
        Some(stage) if is_path_segment(stage) => Some(format!("{scheme}://{domain}/{stage}")),
        Some(_) => None,
        None => Some(format!("{scheme}://{domain}")),
    }
}

/// The protected-resource metadata URL for the resource at `base` + `resource_path` (RFC 9728
/// section 3.1: the well-known segment goes between the host and the path). `resource_path` is
/// `""` for the whole API or [`MCP_PATH`].
///
/// On a default `execute-api` domain the stage is part of `base`; the document is then served at
/// `{base}/.well-known/oauth-protected-resource{resource_path}`, which is the only place a stage can
/// serve it. Clients that follow RFC 9728 read this URL from the `WWW-Authenticate` challenge.
pub fn resource_metadata_url(base: &str, resource_path: &str) -> String {
    format!("{base}{PROTECTED_RESOURCE_PATH}{resource_path}")
}

fn is_host(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 255
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'))
}

fn is_path_segment(text: &str) -> bool {
    text.len() <= 128
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_map_parses_and_maps() {
        let map = ScopeMap::parse("read=read, write=write,profile=read,admin=read+write").unwrap();
        assert_eq!(
            map.map(["profile"]),
            Scopes {
                read: true,
                write: false
            }
        );
        assert_eq!(map.map(["admin"]), Scopes::ALL);
        assert_eq!(
            map.map(["email", "openid"]),
            Scopes {
                read: false,
                write: false
            }
        );
        assert_eq!(map.granting("write"), "write admin");
        assert_eq!(map.supported(), ["read", "write", "profile", "admin"]);
        assert_eq!(
            ScopeMap::default(),
            ScopeMap::parse(DEFAULT_SCOPE_MAP).unwrap()
        );
        for bad in [
            "",
            "read",
            "read=delete",
            "=read",
            "a b=read",
            "read=",
            "x=\"read\"",
        ] {
            assert!(ScopeMap::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn base_url_follows_the_gateway() {
        let url = |domain, stage, configured| public_base_url(domain, stage, configured);
        assert_eq!(
            url(
                Some("abc123.execute-api.eu-west-1.amazonaws.com"),
                Some("prod"),
                None
            )
            .as_deref(),
            Some("https://abc123.execute-api.eu-west-1.amazonaws.com/prod")
        );
        assert_eq!(
            url(
                Some("abc123.execute-api.eu-west-1.amazonaws.com"),
                Some("$default"),
                None
            )
            .as_deref(),
            Some("https://abc123.execute-api.eu-west-1.amazonaws.com")
        );
        assert_eq!(
            url(Some("api.example.com"), Some("prod"), None).as_deref(),
            Some("https://api.example.com")
        );
        assert_eq!(
            url(Some("127.0.0.1:3000"), Some("Prod"), None).as_deref(),
            Some("http://127.0.0.1:3000")
        );
        assert_eq!(
            url(Some("localhost:3000"), None, None).as_deref(),
            Some("http://localhost:3000")
        );
        assert_eq!(
            url(Some("x"), None, Some("https://api.example.com/v/")).as_deref(),
            Some("https://api.example.com/v")
        );
        assert_eq!(url(None, Some("prod"), None), None);
        assert_eq!(url(Some("evil.com/path"), None, None), None);
        assert_eq!(
            resource_metadata_url("https://a.example/prod", MCP_PATH),
            "https://a.example/prod/.well-known/oauth-protected-resource/mcp"
        );
    }

    #[test]
    fn audience_binding() {
        let settings = OAuthSettings::default();
        let aud = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let base = Some("https://api.example.com/prod");
        assert!(settings.audience_matches(&aud(&["https://api.example.com/prod"]), base));
        assert!(settings.audience_matches(&aud(&["https://api.example.com/prod/mcp/"]), base));
        assert!(!settings.audience_matches(&aud(&["https://api.example.com"]), base));
        assert!(!settings.audience_matches(&aud(&["https://api.example.com/prod"]), None));
        let pinned = OAuthSettings {
            resources: Some(vec!["https://mcp.example.com".to_owned()]),
            ..OAuthSettings::default()
        };
        assert!(pinned.audience_matches(&aud(&["x", "https://mcp.example.com/"]), base));
        assert!(!pinned.audience_matches(&aud(&["https://api.example.com/prod"]), base));
    }
}
