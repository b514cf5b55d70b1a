//! A stand-in for the parts of Clerk's Backend API Gateway calls, on a loopback port, so the code
//! that talks to Clerk is tested over real HTTP without a Clerk account. Every endpoint takes
//! `Authorization: Bearer <secret key>` and answers as Clerk's published API does (the OpenAPI
//! document of the Backend API, `https://api.clerk.com/v1`), errors with Clerk's `{"errors":
//! [{"message", "long_message", "code"}]}` body:
//!
//! - `POST /oauth_applications/access_tokens/verify` (unversioned, as Clerk serves it; body
//!   `{"access_token": …}`; README, "OAuth access tokens and MCP"): `200` with the token as an
//!   `clerk_idp_oauth_access_token` object (`subject`, `client_id`, `scopes`, `revoked`, `expired`,
//!   `expiration` in Unix milliseconds, …), `404` for a token it does not know, `401` for a wrong
//!   secret key.
//! - `POST /v1/sessions` (body `{"user_id": …}`; what `gatehouse token mint --clerk` calls, README
//!   "Service tokens for scripts"): `200` with a `session` object for a user the test made known
//!   ([`ClerkBackend::add_user`]), `404 resource_not_found` for any other user, `422` without a
//!   `user_id`.
//! - `POST /v1/sessions/{session_id}/tokens` (optional body `{"expires_in_seconds": N}`, 30 to
//!   315360000): `200` with `{"object": "token", "jwt": …}`, a Clerk-shaped v2 session JWT (RS256,
//!   `kid`, `iss`, `sub`, `sid` = the session, `iat`, `nbf`, `exp` = now + `expires_in_seconds`, or
//!   60 s, Clerk's default lifetime) signed by [`ClerkBackend::signing_key`], whose JWKS a test
//!   serves with [`crate::jwks_server`] so the real authorizer verifies it; `404` for an unknown
//!   session, `422` for a lifetime out of range.
//!
//! It records every request it receives (path, the bearer it was given, the body) so tests can check
//! what Gatehouse sent, and can be switched to fail (a `429` carries `Retry-After`) or hang.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};

use crate::tokens::{DEV_ISSUER, TestKey, key_a, session_claims, session_header};

/// Clerk's default session token lifetime, in seconds, when `expires_in_seconds` is not given.
pub const DEFAULT_TOKEN_LIFETIME_SECS: i64 = 60;
/// The `expires_in_seconds` Clerk accepts (its OpenAPI document: minimum 30, maximum 315360000).
pub const TOKEN_LIFETIME_RANGE: std::ops::RangeInclusive<i64> = 30..=315_360_000;
/// The `Retry-After` (seconds) of a `429` from [`Mode::Fail`].
pub const RETRY_AFTER_SECS: u64 = 7;

/// How the stand-in answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// As Clerk does.
    Serve,
    /// Every request answers this status (with Clerk's error body).
    Fail(u16),
    /// Wait this long, then answer as Clerk does.
    Delay(Duration),
}

/// An opaque token the stand-in knows.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    /// The user.
    pub subject: String,
    /// The OAuth client.
    pub client_id: String,
    /// Granted scopes.
    pub scopes: Vec<String>,
    /// Revoked in Clerk.
    pub revoked: bool,
    /// Unix seconds, or none.
    pub expires_at: Option<i64>,
}

/// A request the stand-in received.
#[derive(Debug, Clone)]
pub struct Received {
    /// The path.
    pub path: String,
    /// The `Authorization` header as given.
    pub authorization: Option<String>,
    /// The body, parsed (`null` when not JSON).
    pub body: Value,
}

/// A session the stand-in created (`POST /v1/sessions`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedSession {
    /// `sess_…`.
    pub id: String,
    /// The user.
    pub user_id: String,
    /// Unix seconds.
    pub created_at: i64,
}

/// How session tokens are signed and what they claim.
struct Signing {
    key: TestKey,
    issuer: String,
    azp: Option<String>,
}

struct Shared {
    secret_key: String,
    tokens: Mutex<HashMap<String, IssuedToken>>,
    mode: Mutex<Mode>,
    received: Mutex<Vec<Received>>,
    calls: AtomicU64,
    users: Mutex<Vec<String>>,
    sessions: Mutex<Vec<CreatedSession>>,
    signing: Mutex<Signing>,
}

/// A running stand-in; stops when dropped.
pub struct ClerkBackend {
    /// `http://127.0.0.1:PORT` (what `CLERK_API_URL` names).
    pub base_url: String,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for ClerkBackend {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn clerk_error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        [("content-type", "application/json")],
        json!({"errors": [{"message": message, "long_message": message, "code": code}]})
            .to_string(),
    )
        .into_response()
}

async fn verify(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: String) -> Response {
    shared.calls.fetch_add(1, Ordering::SeqCst);
    let authorization = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let parsed: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    shared.received.lock().unwrap().push(Received {
        path: "/oauth_applications/access_tokens/verify".to_owned(),
        authorization: authorization.clone(),
        body: parsed.clone(),
    });
    let mode = *shared.mode.lock().unwrap();
    match mode {
        Mode::Fail(status) => {
            return clerk_error(
                StatusCode::from_u16(status).unwrap(),
                "internal_clerk_error",
                "failed",
            );
        }
        Mode::Delay(delay) => tokio::time::sleep(delay).await,
        Mode::Serve => {}
    }
    if authorization.as_deref() != Some(format!("Bearer {}", shared.secret_key).as_str()) {
        return clerk_error(
            StatusCode::UNAUTHORIZED,
            "authentication_invalid",
            "Unauthorized request",
        );
    }
    let Some(token) = parsed["access_token"].as_str() else {
        return clerk_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "form_param_missing",
            "access_token must be included",
        );
    };
    let Some(issued) = shared.tokens.lock().unwrap().get(token).cloned() else {
        return clerk_error(StatusCode::NOT_FOUND, "resource_not_found", "not found");
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let answer = json!({
        "object": "clerk_idp_oauth_access_token",
        "id": "oat_id_1",
        "type": "oauth_token",
        "client_id": issued.client_id,
        "subject": issued.subject,
        "scopes": issued.scopes,
        "revoked": issued.revoked,
        "revocation_reason": if issued.revoked { Value::from("revoked") } else { Value::Null },
        "expired": issued.expires_at.is_some_and(|at| now >= at),
        "expiration": issued.expires_at.map(|at| at * 1000),
        "created_at": (now - 60) * 1000,
        "updated_at": (now - 60) * 1000
    });
    ([("content-type", "application/json")], answer.to_string()).into_response()
}

/// Unix seconds now.
fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Clerk's error body with a distinct short and long message.
fn clerk_error_long(status: StatusCode, code: &str, message: &str, long_message: &str) -> Response {
    (
        status,
        [("content-type", "application/json")],
        json!({
            "errors": [{"message": message, "long_message": long_message, "code": code, "meta": {}}],
            "clerk_trace_id": "trace_standin"
        })
        .to_string(),
    )
        .into_response()
}

/// The answer of [`Mode::Fail`] on the session endpoints: Clerk's error body, and for `429`
/// Clerk's `Retry-After`.
fn failure(status: u16) -> Response {
    let status = StatusCode::from_u16(status).unwrap();
    if status == StatusCode::TOO_MANY_REQUESTS {
        let mut response = clerk_error_long(
            status,
            "too_many_requests",
            "Too many requests",
            "Too many requests, please retry later",
        );
        response
            .headers_mut()
            .insert("retry-after", RETRY_AFTER_SECS.into());
        return response;
    }
    clerk_error_long(
        status,
        "internal_clerk_error",
        "Oops, an unexpected error occurred",
        "There was an internal error on our servers. We've been notified and are working on fixing it.",
    )
}

/// Records a request and applies the mode: its body parsed (`null` when not JSON) to go on with
/// (after any delay), or the answer to give now: [`Mode::Fail`]'s, or the `401` Clerk gives a
/// wrong secret key.
async fn admit(
    shared: &Shared,
    path: String,
    headers: &HeaderMap,
    body: &str,
) -> Result<Value, Response> {
    shared.calls.fetch_add(1, Ordering::SeqCst);
    let authorization = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let parsed: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    shared.received.lock().unwrap().push(Received {
        path,
        authorization: authorization.clone(),
        body: parsed.clone(),
    });
    let mode = *shared.mode.lock().unwrap();
    match mode {
        Mode::Fail(status) => return Err(failure(status)),
        Mode::Delay(delay) => tokio::time::sleep(delay).await,
        Mode::Serve => {}
    }
    if authorization.as_deref() != Some(format!("Bearer {}", shared.secret_key).as_str()) {
        return Err(clerk_error_long(
            StatusCode::UNAUTHORIZED,
            "clerk_key_invalid",
            "Invalid authentication",
            "The provided Clerk Secret Key is invalid. Make sure that your Clerk Secret Key is correct.",
        ));
    }
    Ok(parsed)
}

/// `POST /v1/sessions`: Clerk's "Create a new active session" (development instances only). Its
/// timestamps are Unix milliseconds, as Clerk's Backend API sends them.
async fn create_session(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let parsed = match admit(&shared, "/v1/sessions".to_owned(), &headers, &body).await {
        Ok(parsed) => parsed,
        Err(answer) => return answer,
    };
    let Some(user_id) = parsed["user_id"].as_str().filter(|u| !u.is_empty()) else {
        return clerk_error_long(
            StatusCode::UNPROCESSABLE_ENTITY,
            "form_param_missing",
            "missing required parameter",
            "user_id must be included",
        );
    };
    if !shared.users.lock().unwrap().iter().any(|u| u == user_id) {
        return clerk_error_long(
            StatusCode::NOT_FOUND,
            "resource_not_found",
            "not found",
            "Resource not found",
        );
    }
    let now = now();
    let session = {
        let mut sessions = shared.sessions.lock().unwrap();
        let session = CreatedSession {
            id: format!("sess_standin{:015}{}", sessions.len() + 1, now % 1000),
            user_id: user_id.to_owned(),
            created_at: now,
        };
        sessions.push(session.clone());
        session
    };
    let answer = json!({
        "object": "session",
        "id": session.id,
        "user_id": session.user_id,
        "client_id": format!("client_{}", session.id.trim_start_matches("sess_")),
        "actor": null,
        "status": "active",
        "last_active_organization_id": null,
        "last_active_at": now * 1000,
        "expire_at": (now + 7 * 24 * 3600) * 1000,
        "abandon_at": (now + 30 * 24 * 3600) * 1000,
        "updated_at": now * 1000,
        "created_at": now * 1000,
        "tasks": null
    });
    ([("content-type", "application/json")], answer.to_string()).into_response()
}

/// `POST /v1/sessions/{session_id}/tokens`: Clerk's "Create a session token".
async fn create_session_token(
    State(shared): State<Arc<Shared>>,
    Path(session_id): Path<String>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let path = format!("/v1/sessions/{session_id}/tokens");
    let parsed = match admit(&shared, path, &headers, &body).await {
        Ok(parsed) => parsed,
        Err(answer) => return answer,
    };
    let lifetime = match &parsed["expires_in_seconds"] {
        Value::Null => DEFAULT_TOKEN_LIFETIME_SECS,
        value => match value.as_i64().filter(|n| TOKEN_LIFETIME_RANGE.contains(n)) {
            Some(n) => n,
            None => {
                return clerk_error_long(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "form_param_value_invalid",
                    "is invalid",
                    "expires_in_seconds must be an integer from 30 to 315360000",
                );
            }
        },
    };
    let Some(session) = shared
        .sessions
        .lock()
        .unwrap()
        .iter()
        .find(|s| s.id == session_id)
        .cloned()
    else {
        return clerk_error_long(
            StatusCode::NOT_FOUND,
            "resource_not_found",
            "not found",
            "Resource not found",
        );
    };
    let now = now();
    let jwt = {
        let signing = shared.signing.lock().unwrap();
        let mut claims = session_claims(&signing.issuer, &session.user_id, now);
        claims["sid"] = json!(session.id);
        claims["iat"] = json!(now);
        claims["nbf"] = json!(now - 10);
        claims["exp"] = json!(now + lifetime);
        match &signing.azp {
            Some(azp) => claims["azp"] = json!(azp),
            None => {
                claims.as_object_mut().unwrap().remove("azp");
            }
        }
        signing.key.mint(&session_header(signing.key.kid), &claims)
    };
    let answer = json!({"object": "token", "jwt": jwt});
    ([("content-type", "application/json")], answer.to_string()).into_response()
}

impl ClerkBackend {
    /// Starts a stand-in that accepts `secret_key`.
    pub async fn start(secret_key: &str) -> Self {
        let shared = Arc::new(Shared {
            secret_key: secret_key.to_owned(),
            tokens: Mutex::new(HashMap::new()),
            mode: Mutex::new(Mode::Serve),
            received: Mutex::new(Vec::new()),
            calls: AtomicU64::new(0),
            users: Mutex::new(Vec::new()),
            sessions: Mutex::new(Vec::new()),
            signing: Mutex::new(Signing {
                key: key_a(),
                issuer: DEV_ISSUER.to_owned(),
                azp: None,
            }),
        });
        let app = Router::new()
            .route("/oauth_applications/access_tokens/verify", post(verify))
            .route("/v1/sessions", post(create_session))
            .route(
                "/v1/sessions/{session_id}/tokens",
                post(create_session_token),
            )
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        ClerkBackend {
            base_url,
            shared,
            task,
        }
    }

    /// Makes `token` known, as Clerk would after issuing it.
    pub fn issue(&self, token: &str, issued: IssuedToken) {
        self.shared
            .tokens
            .lock()
            .unwrap()
            .insert(token.to_owned(), issued);
    }

    /// Revokes `token`.
    pub fn revoke(&self, token: &str) {
        if let Some(issued) = self.shared.tokens.lock().unwrap().get_mut(token) {
            issued.revoked = true;
        }
    }

    /// Switches how it answers.
    pub fn set_mode(&self, mode: Mode) {
        *self.shared.mode.lock().unwrap() = mode;
    }

    /// Requests received so far.
    pub fn calls(&self) -> u64 {
        self.shared.calls.load(Ordering::SeqCst)
    }

    /// Every request received so far.
    pub fn received(&self) -> Vec<Received> {
        self.shared.received.lock().unwrap().clone()
    }

    /// Makes `user_id` a user of the instance, so `POST /v1/sessions` creates sessions for it.
    pub fn add_user(&self, user_id: &str) {
        self.shared.users.lock().unwrap().push(user_id.to_owned());
    }

    /// Every session created so far, oldest first.
    pub fn sessions(&self) -> Vec<CreatedSession> {
        self.shared.sessions.lock().unwrap().clone()
    }

    /// The key session tokens are signed with ([`key_a`] unless changed): serve its JWKS with
    /// [`crate::jwks_server::JwksServer::start`].
    pub fn signing_key(&self) -> TestKey {
        self.shared.signing.lock().unwrap().key.clone()
    }

    /// The `iss` of session tokens ([`DEV_ISSUER`] unless changed): what `CLERK_ISSUER` must be.
    pub fn issuer(&self) -> String {
        self.shared.signing.lock().unwrap().issuer.clone()
    }

    /// Signs session tokens with `key` and names `issuer` in them.
    pub fn set_signing(&self, key: TestKey, issuer: &str) {
        let mut signing = self.shared.signing.lock().unwrap();
        signing.key = key;
        signing.issuer = issuer.to_owned();
    }

    /// The `azp` of session tokens (none by default: Clerk takes it from the `Origin` of a browser
    /// request, which a Backend API call does not have).
    pub fn set_azp(&self, azp: Option<&str>) {
        self.shared.signing.lock().unwrap().azp = azp.map(str::to_owned);
    }
}
