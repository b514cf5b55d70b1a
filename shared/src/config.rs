//! Typed configuration (README "Configuration"), read once at cold start. Parsing turns every environment
//! variable into a value that cannot be wrong later; a missing or invalid one is a [`ConfigError`]
//! naming the variable, and the function stops before serving anything. An empty value counts as unset
//! (CloudFormation cannot omit a variable, only pass `""`).

use crate::apikey::ApiKeyPrefix;
use crate::keys::SecretString;

/// A setting is missing or invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("configuration error: {var} {problem}")]
pub struct ConfigError {
    /// The environment variable.
    pub var: &'static str,
    /// What is wrong with it.
    pub problem: String,
}

fn invalid(var: &'static str, problem: impl Into<String>) -> ConfigError {
    ConfigError {
        var,
        problem: problem.into(),
    }
}

/// Where the API key pepper comes from.
#[derive(Debug, Clone)]
pub enum PepperSource {
    /// `API_KEY_PEPPER_SECRET_ID`: a Secrets Manager secret.
    SecretId(String),
    /// `API_KEY_PEPPER`: inline, for local use only.
    Inline(SecretString),
}

/// Where Clerk's signing keys come from, in order of precedence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClerkKeyConfig {
    /// `CLERK_JWT_KEY`: a PEM public key; no network.
    Pem(String),
    /// `CLERK_SECRET_KEY_SECRET_ID`: Backend API JWKS at `{api_url}/v1/jwks`.
    BackendApi {
        /// The secret holding the Clerk secret key.
        secret_id: String,
        /// `CLERK_API_URL`.
        api_url: String,
    },
    /// `CLERK_JWKS_URL`, default `{issuer}/.well-known/jwks.json`.
    JwksUrl(String),
}

/// Clerk verification settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClerkConfig {
    /// `CLERK_ISSUER`, without a trailing slash.
    pub issuer: String,
    /// Key source.
    pub keys: ClerkKeyConfig,
    /// `CLERK_AUTHORIZED_PARTIES`.
    pub authorized_parties: Option<Vec<String>>,
    /// `CLERK_CLOCK_SKEW_SECS` (default 5, at most 300).
    pub clock_skew_secs: u32,
    /// `CLERK_ALLOW_PENDING_SESSIONS` (default false).
    pub allow_pending_sessions: bool,
    /// `CLERK_JWKS_MAX_AGE_SECS` (default 300, from 10 to 86400): fetched keys older than this are
    /// refreshed before use.
    pub jwks_max_age_secs: u32,
}

/// Everything the authorizer reads from its environment.
#[derive(Debug, Clone)]
pub struct AuthorizerConfig {
    /// `TABLE_NAME`.
    pub table_name: String,
    /// `API_KEY_PREFIX` (default `sf_`).
    pub api_key_prefix: ApiKeyPrefix,
    /// The pepper's source.
    pub pepper: PepperSource,
    /// Clerk settings.
    pub clerk: ClerkConfig,
    /// `HTTP_API_REFUSALS`: `route` (default) or `gateway`; how an HTTP API payload 2.0 answer
    /// carries a refusal (see [`crate::policy::HttpApiRefusals`]).
    pub http_api_refusals: crate::policy::HttpApiRefusals,
    /// OAuth access tokens (`OAUTH_*`, `CLERK_OAUTH_OPAQUE`, `PUBLIC_BASE_URL`).
    pub oauth: crate::oauth::OAuthSettings,
    /// With `CLERK_OAUTH_OPAQUE=true`: the Clerk secret key's secret (`CLERK_SECRET_KEY_SECRET_ID`)
    /// and the Backend API (`CLERK_API_URL`) that verify opaque tokens.
    pub opaque_tokens: Option<OpaqueTokenSource>,
}

/// Where opaque OAuth tokens are verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpaqueTokenSource {
    /// `CLERK_SECRET_KEY_SECRET_ID`.
    pub secret_id: String,
    /// `CLERK_API_URL` (default `https://api.clerk.com`).
    pub api_url: String,
}

/// Reads variables through a lookup function, so tests need not touch the process environment.
pub struct Env<F>(F);

impl<F: Fn(&str) -> Option<String>> Env<F> {
    /// Wraps a lookup.
    pub fn new(lookup: F) -> Self {
        Env(lookup)
    }

    /// The trimmed value, `None` when unset or empty.
    pub fn get(&self, var: &str) -> Option<String> {
        (self.0)(var)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    fn required(&self, var: &'static str) -> Result<String, ConfigError> {
        self.get(var).ok_or_else(|| invalid(var, "is required"))
    }
}

/// The process environment.
pub fn process_env() -> Env<impl Fn(&str) -> Option<String>> {
    Env::new(|var: &str| std::env::var(var).ok())
}

/// Accepts `https://…`, and `http://…` only for loopback hosts (local development and tests).
pub fn parse_url(var: &'static str, value: &str) -> Result<String, ConfigError> {
    let (scheme, host) = scheme_and_host(value).map_err(|problem| invalid(var, problem))?;
    match scheme {
        "https" => {}
        "http" if is_loopback_host(host) => {}
        _ => {
            return Err(invalid(
                var,
                "must be an https:// URL (http:// only for localhost)",
            ));
        }
    }
    Ok(value.trim_end_matches('/').to_owned())
}

/// Whether `url` is an absolute URL whose host is this machine (`localhost`, `127.0.0.0/8`, `[::1]`).
pub fn is_loopback_url(url: &str) -> bool {
    scheme_and_host(url).is_ok_and(|(_, host)| is_loopback_host(host))
}

fn is_loopback_host(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host == "[::1]"
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The scheme and host (IPv6 in brackets) of `scheme://host[:port][/…]`; no user info, no white space.
fn scheme_and_host(value: &str) -> Result<(&str, &str), &'static str> {
    let (scheme, rest) = value.split_once("://").ok_or("must be an https:// URL")?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let (host, port) = match authority.find(']') {
        // An IPv6 literal: `[…]`, then nothing or `:port`.
        Some(end) if authority.starts_with('[') => (
            authority.get(..=end).unwrap_or_default(),
            match authority.get(end + 1..).unwrap_or_default() {
                "" => None,
                rest => Some(rest.strip_prefix(':').ok_or("has an invalid host")?),
            },
        ),
        _ => match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        },
    };
    if port.is_some_and(|port| !port.bytes().all(|b| b.is_ascii_digit())) {
        return Err("has an invalid port");
    }
    if host.is_empty() || authority.contains('@') || value.bytes().any(|b| b.is_ascii_whitespace())
    {
        return Err("must be an https:// URL with a host");
    }
    Ok((scheme, host))
}

/// A boolean setting: `true` or `false` (case-insensitive); unset is false.
pub fn parse_bool(var: &'static str, value: Option<String>) -> Result<bool, ConfigError> {
    match value.as_deref().map(str::to_ascii_lowercase).as_deref() {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(_) => Err(invalid(var, "must be true or false")),
    }
}

/// Default of `CLERK_JWKS_MAX_AGE_SECS`.
pub const DEFAULT_JWKS_MAX_AGE_SECS: u32 = 300;
/// Accepted `CLERK_JWKS_MAX_AGE_SECS`: at least the 10 s refetch interval (a shorter age could not
/// refetch any sooner), at most a day.
const JWKS_MAX_AGE_RANGE: std::ops::RangeInclusive<u32> = 10..=86_400;

impl ClerkConfig {
    /// Reads the `CLERK_*` variables.
    pub fn from_env<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<Self, ConfigError> {
        let issuer = parse_url("CLERK_ISSUER", &env.required("CLERK_ISSUER")?)?;
        let keys = if let Some(pem) = env.get("CLERK_JWT_KEY") {
            crate::keys::KeySource::from_pem(&pem).map_err(|p| invalid("CLERK_JWT_KEY", p))?;
            ClerkKeyConfig::Pem(pem)
        } else if let Some(secret_id) = env.get("CLERK_SECRET_KEY_SECRET_ID") {
            let api_url = match env.get("CLERK_API_URL") {
                Some(url) => parse_url("CLERK_API_URL", &url)?,
                None => "https://api.clerk.com".to_owned(),
            };
            ClerkKeyConfig::BackendApi { secret_id, api_url }
        } else {
            match env.get("CLERK_JWKS_URL") {
                Some(url) => ClerkKeyConfig::JwksUrl(parse_url("CLERK_JWKS_URL", &url)?),
                None => ClerkKeyConfig::JwksUrl(format!("{issuer}/.well-known/jwks.json")),
            }
        };
        let authorized_parties = env.get("CLERK_AUTHORIZED_PARTIES").map(|list| {
            list.split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(str::to_owned)
                .collect::<Vec<_>>()
        });
        let authorized_parties = authorized_parties.filter(|parties| !parties.is_empty());
        let clock_skew_secs = match env.get("CLERK_CLOCK_SKEW_SECS") {
            None => 5,
            Some(value) => value
                .parse::<u32>()
                .ok()
                .filter(|s| *s <= 300)
                .ok_or_else(|| {
                    invalid(
                        "CLERK_CLOCK_SKEW_SECS",
                        "must be a whole number of seconds from 0 to 300",
                    )
                })?,
        };
        let allow_pending_sessions = parse_bool(
            "CLERK_ALLOW_PENDING_SESSIONS",
            env.get("CLERK_ALLOW_PENDING_SESSIONS"),
        )?;
        let jwks_max_age_secs = match env.get("CLERK_JWKS_MAX_AGE_SECS") {
            None => DEFAULT_JWKS_MAX_AGE_SECS,
            Some(value) => value
                .parse::<u32>()
                .ok()
                .filter(|age| JWKS_MAX_AGE_RANGE.contains(age))
                .ok_or_else(|| {
                    invalid(
                        "CLERK_JWKS_MAX_AGE_SECS",
                        "must be a whole number of seconds from 10 to 86400",
                    )
                })?,
        };
        Ok(ClerkConfig {
            issuer,
            keys,
            authorized_parties,
            clock_skew_secs,
            allow_pending_sessions,
            jwks_max_age_secs,
        })
    }
}

/// `API_KEY_PREFIX` (default `sf_`).
fn api_key_prefix<F: Fn(&str) -> Option<String>>(
    env: &Env<F>,
) -> Result<ApiKeyPrefix, ConfigError> {
    match env.get("API_KEY_PREFIX") {
        Some(prefix) => ApiKeyPrefix::parse(&prefix).map_err(|p| invalid("API_KEY_PREFIX", p)),
        None => Ok(ApiKeyPrefix::default_prefix()),
    }
}

/// `API_KEY_PEPPER_SECRET_ID`, or `API_KEY_PEPPER` for local use.
fn pepper_source<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<PepperSource, ConfigError> {
    match (
        env.get("API_KEY_PEPPER_SECRET_ID"),
        env.get("API_KEY_PEPPER"),
    ) {
        (Some(id), _) => Ok(PepperSource::SecretId(id)),
        (None, Some(inline)) => {
            crate::apikey::Pepper::new(inline.as_bytes())
                .map_err(|p| invalid("API_KEY_PEPPER", p))?;
            Ok(PepperSource::Inline(SecretString::new(inline)))
        }
        (None, None) => Err(invalid(
            "API_KEY_PEPPER_SECRET_ID",
            "is required (or API_KEY_PEPPER for local use)",
        )),
    }
}

/// Everything a route function reads from its environment.
#[derive(Debug, Clone)]
pub struct RouteConfig {
    /// `TABLE_NAME`.
    pub table_name: String,
    /// `API_KEY_PREFIX` (default `sf_`).
    pub api_key_prefix: ApiKeyPrefix,
    /// The pepper's source, for the functions that create keys.
    pub pepper: Option<PepperSource>,
}

impl RouteConfig {
    /// Reads a route function's variables through `env`; the pepper is required only when
    /// `needs_pepper` (the key-creating function), and not read otherwise.
    pub fn from_env<F: Fn(&str) -> Option<String>>(
        env: &Env<F>,
        needs_pepper: bool,
    ) -> Result<Self, ConfigError> {
        Ok(RouteConfig {
            table_name: env.required("TABLE_NAME")?,
            api_key_prefix: api_key_prefix(env)?,
            pepper: if needs_pepper {
                Some(pepper_source(env)?)
            } else {
                None
            },
        })
    }
}

impl AuthorizerConfig {
    /// Reads the authorizer's variables from the process environment.
    pub fn from_process_env() -> Result<Self, ConfigError> {
        Self::from_env(&process_env())
    }

    /// Reads the authorizer's variables through `env`.
    pub fn from_env<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<Self, ConfigError> {
        let table_name = env.required("TABLE_NAME")?;
        let api_key_prefix = api_key_prefix(env)?;
        let pepper = pepper_source(env)?;
        let clerk = ClerkConfig::from_env(env)?;
        let http_api_refusals = match env.get("HTTP_API_REFUSALS").as_deref() {
            None | Some("route") => crate::policy::HttpApiRefusals::Route,
            Some("gateway") => crate::policy::HttpApiRefusals::Gateway,
            Some(_) => return Err(invalid("HTTP_API_REFUSALS", "must be route or gateway")),
        };
        let oauth = crate::oauth::OAuthSettings::from_env(env)?;
        let opaque_tokens = match (oauth.opaque, env.get("CLERK_SECRET_KEY_SECRET_ID")) {
            (false, _) => None,
            (true, Some(secret_id)) => Some(OpaqueTokenSource {
                secret_id,
                api_url: match env.get("CLERK_API_URL") {
                    Some(url) => parse_url("CLERK_API_URL", &url)?,
                    None => "https://api.clerk.com".to_owned(),
                },
            }),
            (true, None) => {
                return Err(invalid(
                    "CLERK_OAUTH_OPAQUE",
                    "needs CLERK_SECRET_KEY_SECRET_ID (opaque tokens are verified through Clerk's Backend API)",
                ));
            }
        };
        if api_key_prefix
            .as_str()
            .starts_with(crate::bearer::OPAQUE_OAUTH_PREFIX)
            || crate::bearer::OPAQUE_OAUTH_PREFIX.starts_with(api_key_prefix.as_str())
        {
            return Err(invalid(
                "API_KEY_PREFIX",
                "must not overlap oat_, the prefix of Clerk's opaque OAuth tokens",
            ));
        }
        Ok(AuthorizerConfig {
            table_name,
            api_key_prefix,
            pepper,
            clerk,
            http_api_refusals,
            oauth,
            opaque_tokens,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> Env<impl Fn(&str) -> Option<String>> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Env::new(move |var: &str| map.get(var).cloned())
    }

    const BASE: [(&str, &str); 3] = [
        ("TABLE_NAME", "gatehouse"),
        ("API_KEY_PEPPER_SECRET_ID", "pepper"),
        ("CLERK_ISSUER", "https://clerk.example.com/"),
    ];

    #[test]
    fn minimal_config_uses_defaults() {
        let config = AuthorizerConfig::from_env(&env(&BASE)).unwrap();
        assert_eq!(config.table_name, "gatehouse");
        assert_eq!(config.api_key_prefix.as_str(), "sf_");
        assert_eq!(config.clerk.issuer, "https://clerk.example.com");
        assert_eq!(
            config.clerk.keys,
            ClerkKeyConfig::JwksUrl("https://clerk.example.com/.well-known/jwks.json".into())
        );
        assert_eq!(config.clerk.clock_skew_secs, 5);
        assert_eq!(config.clerk.authorized_parties, None);
        assert!(!config.clerk.allow_pending_sessions);
        assert_eq!(config.clerk.jwks_max_age_secs, 300);
        assert!(matches!(config.pepper, PepperSource::SecretId(ref id) if id == "pepper"));
    }

    #[test]
    fn oauth_settings_are_read_and_checked() {
        let config = AuthorizerConfig::from_env(&env(&BASE)).unwrap();
        assert_eq!(config.oauth, crate::oauth::OAuthSettings::default());
        assert_eq!(config.opaque_tokens, None);
        let mut pairs = BASE.to_vec();
        pairs.extend([
            (
                "OAUTH_RESOURCES",
                "https://api.example.com/, https://api.example.com/mcp",
            ),
            ("OAUTH_CLIENT_IDS", "a, b"),
            ("OAUTH_ALLOW_MISSING_AUDIENCE", "TRUE"),
            ("OAUTH_SCOPE_MAP", "profile=read"),
            ("CLERK_OAUTH_OPAQUE", "true"),
            ("CLERK_SECRET_KEY_SECRET_ID", "clerk-secret"),
            ("PUBLIC_BASE_URL", "https://api.example.com/"),
        ]);
        let config = AuthorizerConfig::from_env(&env(&pairs)).unwrap();
        assert_eq!(
            config.oauth.resources,
            Some(vec![
                "https://api.example.com".to_owned(),
                "https://api.example.com/mcp".to_owned()
            ])
        );
        assert_eq!(
            config.oauth.client_ids,
            Some(vec!["a".to_owned(), "b".to_owned()])
        );
        assert!(config.oauth.allow_missing_audience);
        assert_eq!(config.oauth.scope_map.supported(), ["profile"]);
        assert_eq!(
            config.oauth.public_base_url.as_deref(),
            Some("https://api.example.com")
        );
        assert_eq!(
            config.opaque_tokens,
            Some(OpaqueTokenSource {
                secret_id: "clerk-secret".to_owned(),
                api_url: "https://api.clerk.com".to_owned()
            })
        );
        for (var, value) in [
            ("OAUTH_RESOURCES", "http://api.example.com"),
            ("OAUTH_ALLOW_MISSING_AUDIENCE", "yes"),
            ("OAUTH_SCOPE_MAP", "profile=admin"),
            ("CLERK_OAUTH_OPAQUE", "true"),
            ("PUBLIC_BASE_URL", "ftp://x"),
            ("API_KEY_PREFIX", "oat_"),
        ] {
            let mut pairs = BASE.to_vec();
            pairs.push((var, value));
            let error = AuthorizerConfig::from_env(&env(&pairs)).unwrap_err();
            assert_eq!(error.var, var, "{var}={value}: {error}");
        }
    }

    #[test]
    fn loopback_urls_are_recognised() {
        for url in [
            "http://127.0.0.1:8000",
            "http://127.1.2.3",
            "http://localhost:4566/",
            "http://LOCALHOST",
            "http://[::1]:8000",
            "http://[::1]",
            "https://127.0.0.1",
        ] {
            assert!(is_loopback_url(url), "{url}");
        }
        for url in [
            "https://dynamodb.us-east-1.amazonaws.com",
            "http://10.0.0.1:8000",
            "http://127.0.0.1.nip.io",
            "http://localhost.example.com",
            "http://user@127.0.0.1",
            "127.0.0.1:8000",
            "http://[::2]",
            "http://[::1]x",
            "",
        ] {
            assert!(!is_loopback_url(url), "{url}");
        }
        assert!(parse_url("X", "http://[::1]:3000/").is_ok());
    }

    #[test]
    fn jwks_max_age_is_read_and_bounded() {
        let with = |value: &str| {
            let mut pairs = BASE.to_vec();
            pairs.push(("CLERK_JWKS_MAX_AGE_SECS", value));
            AuthorizerConfig::from_env(&env(&pairs))
        };
        assert_eq!(with("10").unwrap().clerk.jwks_max_age_secs, 10);
        assert_eq!(with("86400").unwrap().clerk.jwks_max_age_secs, 86_400);
        assert_eq!(with("").unwrap().clerk.jwks_max_age_secs, 300);
        for bad in ["9", "0", "86401", "-5", "5m", "1.5"] {
            assert_eq!(
                with(bad).unwrap_err().var,
                "CLERK_JWKS_MAX_AGE_SECS",
                "{bad}"
            );
        }
    }

    #[test]
    fn key_source_precedence() {
        let mut vars = BASE.to_vec();
        vars.push(("CLERK_JWKS_URL", "https://jwks.example.com/keys"));
        let config = AuthorizerConfig::from_env(&env(&vars)).unwrap();
        assert_eq!(
            config.clerk.keys,
            ClerkKeyConfig::JwksUrl("https://jwks.example.com/keys".into())
        );
        vars.push(("CLERK_SECRET_KEY_SECRET_ID", "clerk-secret"));
        let config = AuthorizerConfig::from_env(&env(&vars)).unwrap();
        assert_eq!(
            config.clerk.keys,
            ClerkKeyConfig::BackendApi {
                secret_id: "clerk-secret".into(),
                api_url: "https://api.clerk.com".into()
            }
        );
    }

    #[test]
    fn each_bad_setting_names_its_variable() {
        // (variable to remove, variable to set, variable the error must name)
        type Case<'a> = (Option<&'a str>, Option<(&'a str, &'a str)>, &'a str);
        let cases: [Case; 11] = [
            (Some("TABLE_NAME"), None, "TABLE_NAME"),
            (
                Some("API_KEY_PEPPER_SECRET_ID"),
                None,
                "API_KEY_PEPPER_SECRET_ID",
            ),
            (Some("CLERK_ISSUER"), None, "CLERK_ISSUER"),
            (
                None,
                Some(("CLERK_ISSUER", "http://clerk.example.com")),
                "CLERK_ISSUER",
            ),
            (
                None,
                Some(("CLERK_ISSUER", "clerk.example.com")),
                "CLERK_ISSUER",
            ),
            (None, Some(("API_KEY_PREFIX", "eyJ")), "API_KEY_PREFIX"),
            (
                None,
                Some(("CLERK_CLOCK_SKEW_SECS", "-1")),
                "CLERK_CLOCK_SKEW_SECS",
            ),
            (
                None,
                Some(("CLERK_CLOCK_SKEW_SECS", "5000")),
                "CLERK_CLOCK_SKEW_SECS",
            ),
            (
                None,
                Some(("CLERK_ALLOW_PENDING_SESSIONS", "yes")),
                "CLERK_ALLOW_PENDING_SESSIONS",
            ),
            (None, Some(("CLERK_JWT_KEY", "not a pem")), "CLERK_JWT_KEY"),
            (None, Some(("CLERK_JWKS_URL", "ftp://x")), "CLERK_JWKS_URL"),
        ];
        for (remove, set, var) in cases {
            let mut vars: HashMap<&str, &str> = BASE.iter().copied().collect();
            if let Some(name) = remove {
                vars.remove(name);
            }
            if let Some((name, value)) = set {
                vars.insert(name, value);
            }
            let pairs: Vec<(&str, &str)> = vars.into_iter().collect();
            let error = AuthorizerConfig::from_env(&env(&pairs)).unwrap_err();
            assert_eq!(error.var, var, "{pairs:?}");
            assert!(error.to_string().contains(var));
        }
    }

    #[test]
    fn inline_pepper_and_parties() {
        let config = AuthorizerConfig::from_env(&env(&[
            ("TABLE_NAME", "t"),
            ("API_KEY_PEPPER", "local-dev-pepper-0123456789"),
            ("CLERK_ISSUER", "http://127.0.0.1:3000"),
            (
                "CLERK_AUTHORIZED_PARTIES",
                " https://a.example , ,https://b.example",
            ),
            ("CLERK_ALLOW_PENDING_SESSIONS", "TRUE"),
            ("CLERK_CLOCK_SKEW_SECS", ""),
        ]))
        .unwrap();
        assert!(matches!(config.pepper, PepperSource::Inline(_)));
        assert_eq!(
            config.clerk.authorized_parties,
            Some(vec!["https://a.example".into(), "https://b.example".into()])
        );
        assert!(config.clerk.allow_pending_sessions);
        assert_eq!(config.clerk.clock_skew_secs, 5);
        let short = AuthorizerConfig::from_env(&env(&[
            ("TABLE_NAME", "t"),
            ("API_KEY_PEPPER", "short"),
            ("CLERK_ISSUER", "https://c"),
        ]));
        assert_eq!(short.unwrap_err().var, "API_KEY_PEPPER");
    }

    #[test]
    fn url_rules() {
        assert!(parse_url("X", "https://clerk.example.com").is_ok());
        assert!(parse_url("X", "http://localhost:3000/x").is_ok());
        assert!(parse_url("X", "http://127.0.0.1:1234").is_ok());
        assert!(parse_url("X", "http://[::1]:1234").is_ok());
        assert!(parse_url("X", "http://evil.com").is_err());
        assert!(parse_url("X", "http://localhost.evil.com").is_err());
        assert!(parse_url("X", "http://localhost@evil.com").is_err());
        assert!(parse_url("X", "https://").is_err());
    }
}
