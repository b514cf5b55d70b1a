//! Where Clerk's signing keys come from, and the per-issuer cache that makes verification networkless
//! on the hot path (README "Clerk session tokens").
//!
//! Sources: a PEM public key (no network), Clerk's Backend API JWKS endpoint authenticated with the
//! secret key, or a JWKS URL. The cache lives as long as the container, but its keys age: once they
//! are older than the maximum age (`CLERK_JWKS_MAX_AGE_SECS`, 300 s by default, as Clerk's own SDK),
//! the next request that needs a key refreshes the set first, so a key Clerk withdraws stops
//! verifying within that age. An unknown `kid` triggers a refetch at most once per refetch interval
//! (10 s); concurrent misses and concurrent refreshes wait for one shared fetch; a failed refresh
//! keeps the keys already known (stale on error) and is not retried before the refetch interval has
//! passed, during which an unknown `kid` is a dependency failure rather than a rejection; every fetch
//! is bounded by a timeout and a body cap. JWKs are filtered to RSA signing keys usable with RS256
//! before they become [`DecodingKey`]s.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::DecodingKey;
use serde::Deserialize;

/// Tuning of the key cache.
#[derive(Debug, Clone, Copy)]
pub struct KeyCacheOptions {
    /// Minimum time between two fetches triggered by unknown kids.
    pub refetch_interval: Duration,
    /// Upper bound of one fetch, connection to last byte.
    pub fetch_timeout: Duration,
    /// Largest JWKS body accepted.
    pub max_body_bytes: usize,
    /// Age after which fetched keys are refreshed before use (`CLERK_JWKS_MAX_AGE_SECS`).
    pub max_age: Duration,
}

impl Default for KeyCacheOptions {
    fn default() -> Self {
        Self {
            refetch_interval: Duration::from_secs(10),
            fetch_timeout: Duration::from_secs(3),
            max_body_bytes: 64 * 1024,
            max_age: Duration::from_secs(DEFAULT_MAX_AGE_SECS),
        }
    }
}

/// Default of `CLERK_JWKS_MAX_AGE_SECS`: five minutes, the JWKS cache lifetime of Clerk's own SDKs.
pub const DEFAULT_MAX_AGE_SECS: u64 = crate::config::DEFAULT_JWKS_MAX_AGE_SECS as u64;

/// A secret string (the Clerk secret key) that never appears in `Debug` output.
#[derive(Clone)]
pub struct SecretString(String);

impl SecretString {
    /// Wraps a secret.
    pub fn new(value: String) -> Self {
        Self(value)
    }

    /// The secret text, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Where the keys of one issuer come from.
#[derive(Clone)]
pub enum KeySource {
    /// A PEM public key (`CLERK_JWT_KEY`): used for every kid, never fetched.
    Pem(Arc<DecodingKey>),
    /// A JWKS document over HTTP, optionally with a bearer secret (Clerk's Backend API).
    Jwks {
        /// The JWKS URL.
        url: String,
        /// The Clerk secret key, for `{CLERK_API_URL}/v1/jwks`.
        bearer: Option<SecretString>,
    },
}

impl fmt::Debug for KeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeySource::Pem(_) => f.write_str("Pem"),
            KeySource::Jwks { url, bearer } => f
                .debug_struct("Jwks")
                .field("url", url)
                .field("authenticated", &bearer.is_some())
                .finish(),
        }
    }
}

impl KeySource {
    /// Parses a PEM public key (SPKI `PUBLIC KEY` or PKCS#1 `RSA PUBLIC KEY`). Literal `\n` sequences
    /// are accepted as newlines, since environment variables often carry keys on one line.
    pub fn from_pem(pem: &str) -> Result<Self, &'static str> {
        let normalized = pem.replace("\\n", "\n");
        let key = DecodingKey::from_rsa_pem(normalized.trim().as_bytes())
            .map_err(|_| "is not an RSA public key in PEM form")?;
        Ok(KeySource::Pem(Arc::new(key)))
    }
}

/// Why no key could be obtained from the source.
#[derive(Debug, Clone, thiserror::Error)]
pub enum KeyFetchError {
    #[error("key fetch timed out")]
    Timeout,
    #[error("key fetch failed: {0}")]
    Transport(String),
    #[error("key endpoint answered HTTP {0}")]
    Status(u16),
    #[error("JWKS body larger than the cap")]
    TooLarge,
    #[error("JWKS body is not valid: {0}")]
    Invalid(String),
    #[error("JWKS has no usable RSA signing key")]
    NoUsableKeys,
    #[error("key source failed recently and is not retried yet")]
    Backoff,
}

/// The result of looking up a kid.
#[derive(Debug, thiserror::Error)]
pub enum KeyLookupError {
    /// The issuer's current key set does not contain the kid (a rejection, not an outage).
    #[error("unknown kid")]
    UnknownKid,
    /// The key set could not be obtained and the kid is not cached.
    #[error(transparent)]
    Unavailable(#[from] KeyFetchError),
}

type KeyMap = HashMap<String, Arc<DecodingKey>>;

#[derive(Default)]
struct CacheState {
    keys: Arc<KeyMap>,
    /// When `keys` were fetched (the last successful fetch).
    loaded_at: Option<Instant>,
    /// When the last fetch, successful or not, finished.
    last_attempt: Option<Instant>,
    /// Why the last fetch failed; `None` once a fetch succeeds.
    last_error: Option<KeyFetchError>,
}

impl CacheState {
    /// Whether the keys were fetched less than `max_age` ago.
    fn fresh(&self, max_age: Duration) -> bool {
        self.loaded_at.is_some_and(|at| at.elapsed() < max_age)
    }
}

/// The HTTP client for key fetches: rustls, bounded timeouts, no redirects.
pub fn http_client(options: KeyCacheOptions) -> Result<reqwest::Client, KeyFetchError> {
    reqwest::Client::builder()
        .connect_timeout(options.fetch_timeout)
        .timeout(options.fetch_timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("gatehouse/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| KeyFetchError::Transport(format!("building the HTTP client: {e}")))
}

/// The keys of one issuer, cached for the life of the container.
pub struct IssuerKeys {
    issuer: String,
    source: KeySource,
    /// Built at the first fetch unless given: loading the platform's root certificates costs about
    /// 5 ms of cold start, which a PEM-configured authorizer never needs.
    http: std::sync::OnceLock<reqwest::Client>,
    options: KeyCacheOptions,
    state: RwLock<CacheState>,
    refresh: tokio::sync::Mutex<()>,
    fetches: std::sync::atomic::AtomicU64,
}

impl fmt::Debug for IssuerKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuerKeys")
            .field("issuer", &self.issuer)
            .field("source", &self.source)
            .finish()
    }
}

impl IssuerKeys {
    /// A cache for `issuer`'s keys from `source`, fetching with `http`.
    pub fn new(
        issuer: impl Into<String>,
        source: KeySource,
        http: reqwest::Client,
        options: KeyCacheOptions,
    ) -> Self {
        let keys = Self::with_lazy_client(issuer, source, options);
        let _fresh = keys.http.set(http);
        keys
    }

    /// A cache for `issuer`'s keys from `source` that builds its HTTP client at the first fetch.
    pub fn with_lazy_client(
        issuer: impl Into<String>,
        source: KeySource,
        options: KeyCacheOptions,
    ) -> Self {
        Self {
            issuer: issuer.into(),
            source,
            http: std::sync::OnceLock::new(),
            options,
            state: RwLock::new(CacheState::default()),
            refresh: tokio::sync::Mutex::new(()),
            fetches: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// The issuer these keys belong to.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// How many fetches this cache has started (for tests and metrics).
    pub fn fetch_count(&self) -> u64 {
        self.fetches.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The kids currently cached.
    pub fn cached_kids(&self) -> Vec<String> {
        let mut kids: Vec<String> = self.read_state().keys.keys().cloned().collect();
        kids.sort();
        kids
    }

    fn read_state(&self) -> std::sync::RwLockReadGuard<'_, CacheState> {
        match self.state.read() {
            Ok(state) => state,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// The key for `kid`: from memory when known and fresh; otherwise after at most one (shared,
    /// rate-limited, time-bounded) fetch. A known key whose refresh fails keeps working.
    pub async fn key(&self, kid: &str) -> Result<Arc<DecodingKey>, KeyLookupError> {
        let url = match &self.source {
            KeySource::Pem(key) => return Ok(Arc::clone(key)),
            KeySource::Jwks { url, .. } => url,
        };
        {
            let state = self.read_state();
            if state.fresh(self.options.max_age)
                && let Some(key) = state.keys.get(kid)
            {
                return Ok(Arc::clone(key));
            }
        }
        // A miss, or keys past their age: one fetch at a time. Whoever waited re-checks what the
        // fetch before it brought.
        let _guard = self.refresh.lock().await;
        {
            let state = self.read_state();
            let known = state.keys.get(kid);
            if let Some(key) = known
                && state.fresh(self.options.max_age)
            {
                return Ok(Arc::clone(key));
            }
            let recently_tried = state
                .last_attempt
                .is_some_and(|at| at.elapsed() < self.options.refetch_interval);
            if recently_tried {
                // No fetch before the window has passed. Keys past their age get here only after a
                // failed refresh (a successful one would have made them fresh): they keep working.
                return match (known, &state.last_error) {
                    (Some(key), _) => Ok(Arc::clone(key)),
                    (None, Some(error)) => Err(KeyLookupError::Unavailable(error.clone())),
                    (None, None) => Err(KeyLookupError::UnknownKid),
                };
            }
        }
        self.fetches
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let fetched = self.fetch(url).await;
        let mut state = match self.state.write() {
            Ok(state) => state,
            Err(poisoned) => poisoned.into_inner(),
        };
        let now = Instant::now();
        state.last_attempt = Some(now);
        match fetched {
            Ok(keys) => {
                state.keys = Arc::new(keys);
                state.loaded_at = Some(now);
                state.last_error = None;
                match state.keys.get(kid) {
                    Some(key) => Ok(Arc::clone(key)),
                    None => Err(KeyLookupError::UnknownKid),
                }
            }
            Err(error) => {
                // Keep serving what we had (stale on error); an unknown kid cannot be decided.
                state.last_error = Some(error.clone());
                match state.keys.get(kid) {
                    Some(key) => {
                        tracing::warn!(error = %error, "key refresh failed; keeping the known keys");
                        Ok(Arc::clone(key))
                    }
                    None => Err(KeyLookupError::Unavailable(error)),
                }
            }
        }
    }

    async fn fetch(&self, url: &str) -> Result<KeyMap, KeyFetchError> {
        let http = match self.http.get() {
            Some(http) => http,
            None => {
                let built = http_client(self.options)?;
                self.http.get_or_init(|| built)
            }
        };
        let work = async {
            let mut request = http.get(url).header("accept", "application/json");
            if let KeySource::Jwks {
                bearer: Some(secret),
                ..
            } = &self.source
            {
                request = request.bearer_auth(secret.expose());
            }
            let mut response = request
                .send()
                .await
                .map_err(|e| KeyFetchError::Transport(transport_reason(&e)))?;
            let status = response.status().as_u16();
            if status != 200 {
                return Err(KeyFetchError::Status(status));
            }
            if response
                .content_length()
                .is_some_and(|len| len > self.options.max_body_bytes as u64)
            {
                return Err(KeyFetchError::TooLarge);
            }
            let mut body = Vec::new();
            while let Some(chunk) = response
                .chunk()
                .await
                .map_err(|e| KeyFetchError::Transport(transport_reason(&e)))?
            {
                if body.len() + chunk.len() > self.options.max_body_bytes {
                    return Err(KeyFetchError::TooLarge);
                }
                body.extend_from_slice(&chunk);
            }
            parse_jwks(&body)
        };
        match tokio::time::timeout(self.options.fetch_timeout, work).await {
            Ok(result) => result,
            Err(_) => Err(KeyFetchError::Timeout),
        }
    }
}

fn transport_reason(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        "timeout".to_owned()
    } else if error.is_connect() {
        "connection failed".to_owned()
    } else {
        "request failed".to_owned()
    }
}

#[derive(Deserialize)]
struct Jwks {
    keys: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
struct RsaJwk<'a> {
    kty: &'a str,
    kid: Option<&'a str>,
    #[serde(rename = "use")]
    use_: Option<&'a str>,
    alg: Option<&'a str>,
    n: Option<&'a str>,
    e: Option<&'a str>,
}

/// Parses a JWKS document, keeping RSA keys with a kid, `use` absent or `sig`, `alg` absent or
/// `RS256`, and valid modulus and exponent. Anything else in the set is ignored.
pub fn parse_jwks(body: &[u8]) -> Result<KeyMap, KeyFetchError> {
    let jwks: Jwks =
        serde_json::from_slice(body).map_err(|e| KeyFetchError::Invalid(e.to_string()))?;
    let mut keys = KeyMap::new();
    for value in &jwks.keys {
        let Ok(jwk) = RsaJwk::deserialize(value) else {
            continue;
        };
        let usable = jwk.kty == "RSA"
            && jwk.use_.is_none_or(|u| u == "sig")
            && jwk.alg.is_none_or(|a| a == "RS256");
        let (true, Some(kid), Some(n), Some(e)) = (usable, jwk.kid, jwk.n, jwk.e) else {
            continue;
        };
        if kid.is_empty() || n.len() < 342 {
            // 342 base64url characters = 2048 bits; smaller RSA keys are not accepted.
            continue;
        }
        if let Ok(key) = DecodingKey::from_rsa_components(n, e) {
            keys.insert(kid.to_owned(), Arc::new(key));
        }
    }
    if keys.is_empty() {
        return Err(KeyFetchError::NoUsableKeys);
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn modulus() -> String {
        format!("s{}", "A".repeat(341))
    }

    #[test]
    fn jwks_filtering_keeps_only_rsa_rs256_signing_keys() {
        let n = modulus();
        let body = serde_json::json!({"keys": [
            {"kty": "RSA", "kid": "good", "use": "sig", "alg": "RS256", "n": n, "e": "AQAB"},
            {"kty": "RSA", "kid": "no-alg", "n": n, "e": "AQAB"},
            {"kty": "RSA", "kid": "enc", "use": "enc", "n": n, "e": "AQAB"},
            {"kty": "RSA", "kid": "rs512", "alg": "RS512", "n": n, "e": "AQAB"},
            {"kty": "EC", "kid": "ec", "crv": "P-256", "x": "a", "y": "b"},
            {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"},
            {"kty": "RSA", "kid": "small", "n": "AQAB", "e": "AQAB"},
            {"kty": "RSA", "n": n, "e": "AQAB"},
            "garbage"
        ]});
        let keys = parse_jwks(body.to_string().as_bytes()).unwrap();
        let mut kids: Vec<&str> = keys.keys().map(String::as_str).collect();
        kids.sort();
        assert_eq!(kids, vec!["good", "no-alg"]);
    }

    #[test]
    fn jwks_without_usable_keys_is_an_error() {
        assert!(matches!(
            parse_jwks(br#"{"keys": []}"#),
            Err(KeyFetchError::NoUsableKeys)
        ));
        assert!(matches!(
            parse_jwks(b"not json"),
            Err(KeyFetchError::Invalid(_))
        ));
        assert!(matches!(
            parse_jwks(br#"{"nokeys": 1}"#),
            Err(KeyFetchError::Invalid(_))
        ));
    }

    #[test]
    fn secret_strings_are_redacted() {
        let secret = SecretString::new("sk_live_abc".into());
        assert_eq!(format!("{secret:?}"), "<redacted>");
        let source = KeySource::Jwks {
            url: "https://api.clerk.com/v1/jwks".into(),
            bearer: Some(secret),
        };
        assert!(!format!("{source:?}").contains("sk_live"));
    }

    #[test]
    fn bad_pem_is_rejected() {
        assert!(
            KeySource::from_pem("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----")
                .is_err()
        );
        assert!(KeySource::from_pem("hello").is_err());
    }
}
