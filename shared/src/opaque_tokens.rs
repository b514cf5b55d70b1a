//! Clerk's opaque OAuth access tokens (`oat_…`), which only Clerk can verify: through its Backend
//! API, `POST {CLERK_API_URL}/oauth_applications/access_tokens/verify` with `{"access_token": …}`,
//! authenticated with the instance's secret key (README, "OAuth access tokens and MCP"). Off unless
//! `CLERK_OAUTH_OPAQUE=true`, because it puts a network call on the decision path.
//!
//! The same failure rules as a JWKS fetch: an answer that says the token is unknown, revoked or
//! expired is a refusal; anything else that is not a clear yes (a timeout, a 5xx, a 401 for our own
//! secret key, a body we cannot read) is a dependency failure, a 500, never an Allow. A positive
//! answer is cached for [`POSITIVE_TTL_SECS`] (by the token's SHA-256, never the token itself), and
//! the Allow says it expires then, so a token Clerk revokes stops working within that time even
//! through the gateway's cache.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use serde::Deserialize;

use crate::keys::{KeyCacheOptions, SecretString, http_client};

/// How long a positive answer is trusted, in seconds.
pub const POSITIVE_TTL_SECS: i64 = 60;
/// Most cached answers; when full the cache forgets everything.
const CAPACITY: usize = 1024;
/// Largest answer read from Clerk, in bytes.
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// A token Clerk vouched for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpaqueClaims {
    /// The user (`subject`).
    pub sub: String,
    /// The OAuth client.
    pub client_id: String,
    /// The granted OAuth scopes.
    pub scopes: Vec<String>,
    /// The first instant (Unix seconds) the Allow built from this answer is no longer valid: the
    /// token's expiry or the end of the positive cache period, whichever is first.
    pub valid_until: i64,
}

/// Why an opaque token could not be accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpaqueError {
    /// Clerk says no (unknown, revoked, expired) or the answer names no usable user or client.
    #[error("opaque token refused: {0}")]
    Refused(&'static str),
    /// No decision is possible.
    #[error("Clerk Backend API unavailable: {0}")]
    Unavailable(String),
}

/// The verifier: Clerk's Backend API, the secret key, and the positive cache.
pub struct OpaqueTokens {
    verify_url: String,
    secret_key: SecretString,
    options: KeyCacheOptions,
    http: OnceLock<reqwest::Client>,
    cache: Mutex<HashMap<[u8; 32], OpaqueClaims>>,
}

impl std::fmt::Debug for OpaqueTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpaqueTokens")
            .field("verify_url", &self.verify_url)
            .finish_non_exhaustive()
    }
}

/// What Clerk answers (the members Gatehouse reads).
#[derive(Deserialize)]
struct VerifyAnswer {
    #[serde(default)]
    subject: Option<String>,
    #[serde(default)]
    client_id: Option<String>,
    #[serde(default)]
    scopes: Option<Vec<String>>,
    #[serde(default)]
    revoked: bool,
    #[serde(default)]
    expired: bool,
    /// Unix milliseconds, or null.
    #[serde(default)]
    expiration: Option<i64>,
}

impl OpaqueTokens {
    /// A verifier against `api_url` (`CLERK_API_URL`, e.g. `https://api.clerk.com`) with the
    /// instance's secret key; fetch timeouts as the key cache's.
    pub fn new(api_url: &str, secret_key: SecretString, options: KeyCacheOptions) -> Self {
        OpaqueTokens {
            verify_url: format!(
                "{}/oauth_applications/access_tokens/verify",
                api_url.trim_end_matches('/')
            ),
            secret_key,
            options,
            http: OnceLock::new(),
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// Verifies `token` at `now` (Unix seconds).
    pub async fn verify(&self, token: &str, now: i64) -> Result<OpaqueClaims, OpaqueError> {
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes());
        let mut key = [0u8; 32];
        key.copy_from_slice(digest.as_ref());
        if let Some(claims) = self.cached(&key, now) {
            return Ok(claims);
        }
        let claims = self.ask_clerk(token, now).await?;
        if let Ok(mut cache) = self.cache.lock() {
            if cache.len() >= CAPACITY {
                cache.clear();
            }
            cache.insert(key, claims.clone());
        }
        Ok(claims)
    }

    fn cached(&self, key: &[u8; 32], now: i64) -> Option<OpaqueClaims> {
        let mut cache = self.cache.lock().ok()?;
        match cache.get(key) {
            Some(claims) if now < claims.valid_until => Some(claims.clone()),
            Some(_) => {
                cache.remove(key);
                None
            }
            None => None,
        }
    }

    async fn ask_clerk(&self, token: &str, now: i64) -> Result<OpaqueClaims, OpaqueError> {
        let http = match self.http.get() {
            Some(http) => http,
            None => {
                let built = http_client(self.options)
                    .map_err(|e| OpaqueError::Unavailable(e.to_string()))?;
                self.http.get_or_init(|| built)
            }
        };
        let body = serde_json::json!({ "access_token": token }).to_string();
        let response = http
            .post(&self.verify_url)
            .bearer_auth(self.secret_key.expose())
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await
            .map_err(|e| OpaqueError::Unavailable(transport_error(&e)))?;
        let status = response.status().as_u16();
        match status {
            200 => {}
            // Clerk's answers for a token it does not know or will not vouch for.
            400 | 404 | 410 | 422 => return Err(OpaqueError::Refused("unknown")),
            other => {
                return Err(OpaqueError::Unavailable(format!(
                    "verify answered HTTP {other}"
                )));
            }
        }
        let bytes = response
            .bytes()
            .await
            .map_err(|e| OpaqueError::Unavailable(transport_error(&e)))?;
        if bytes.len() > MAX_ANSWER_BYTES {
            return Err(OpaqueError::Unavailable(
                "verify answer too large".to_owned(),
            ));
        }
        let answer: VerifyAnswer = serde_json::from_slice(&bytes)
            .map_err(|_| OpaqueError::Unavailable("verify answer is not JSON".to_owned()))?;
        if answer.revoked {
            return Err(OpaqueError::Refused("revoked"));
        }
        if answer.expired {
            return Err(OpaqueError::Refused("expired"));
        }
        let expires = answer.expiration.map(|ms| ms.div_euclid(1000));
        if expires.is_some_and(|at| now >= at) {
            return Err(OpaqueError::Refused("expired"));
        }
        let sub = answer
            .subject
            .filter(|s| crate::principal::is_valid_id(s))
            .ok_or(OpaqueError::Refused("bad subject"))?;
        let client_id = answer
            .client_id
            .filter(|id| crate::oauth::is_token_id(id))
            .ok_or(OpaqueError::Refused("bad client_id"))?;
        let cache_end = now.saturating_add(POSITIVE_TTL_SECS);
        Ok(OpaqueClaims {
            sub,
            client_id,
            scopes: answer.scopes.unwrap_or_default(),
            valid_until: expires.map_or(cache_end, |at| at.min(cache_end)),
        })
    }
}

/// A transport error without the URL's query or anything from the request (no token, no key).
fn transport_error(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        "timed out".to_owned()
    } else if error.is_connect() {
        "could not connect".to_owned()
    } else {
        "transport error".to_owned()
    }
}
