//! A stand-in for the part of Clerk's Backend API Gateway calls, on a loopback port: `POST
//! /oauth_applications/access_tokens/verify` (body `{"access_token": …}`, `Authorization: Bearer
//! <secret key>`), answering as Clerk documents it: `200` with the token as an
//! `clerk_idp_oauth_access_token` object (`subject`, `client_id`, `scopes`, `revoked`, `expired`,
//! `expiration` in Unix milliseconds, …), `404` with Clerk's `{"errors": […]}` body for a token it
//! does not know, `401` for a wrong secret key. It records every request it receives (path, the
//! bearer it was given, the body) so tests can check what Gatehouse sent, and can be switched to fail
//! or hang.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};

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

struct Shared {
    secret_key: String,
    tokens: Mutex<HashMap<String, IssuedToken>>,
    mode: Mutex<Mode>,
    received: Mutex<Vec<Received>>,
    calls: AtomicU64,
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

impl ClerkBackend {
    /// Starts a stand-in that accepts `secret_key`.
    pub async fn start(secret_key: &str) -> Self {
        let shared = Arc::new(Shared {
            secret_key: secret_key.to_owned(),
            tokens: Mutex::new(HashMap::new()),
            mode: Mutex::new(Mode::Serve),
            received: Mutex::new(Vec::new()),
            calls: AtomicU64::new(0),
        });
        let app = Router::new()
            .route("/oauth_applications/access_tokens/verify", post(verify))
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
}
