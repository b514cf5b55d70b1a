//! A real HTTP JWKS server on a loopback port, serving `/.well-known/jwks.json` (frontend API style) and
//! `/v1/jwks` (Backend API style, optionally requiring a bearer secret). It counts fetches and can be
//! switched to fail, hang or answer slowly, so the key cache's rotation, rate limit and outage handling
//! are tested over real sockets.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use crate::tokens::TestKey;

/// How the server answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Serve the current key set.
    Serve,
    /// Answer with this HTTP status.
    Fail(u16),
    /// Wait this long, then serve.
    Delay(Duration),
}

struct Shared {
    jwks: Mutex<Value>,
    mode: Mutex<Mode>,
    bearer: Mutex<Option<String>>,
    fetches: AtomicU64,
}

/// A running JWKS server; stops when dropped.
pub struct JwksServer {
    /// `http://127.0.0.1:PORT`.
    pub base_url: String,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for JwksServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    shared.fetches.fetch_add(1, Ordering::SeqCst);
    let mode = *shared.mode.lock().unwrap();
    match mode {
        Mode::Fail(status) => return StatusCode::from_u16(status).unwrap().into_response(),
        Mode::Delay(delay) => tokio::time::sleep(delay).await,
        Mode::Serve => {}
    }
    let required = shared.bearer.lock().unwrap().clone();
    if let Some(secret) = required {
        let expected = format!("Bearer {secret}");
        let given = headers.get("authorization").and_then(|v| v.to_str().ok());
        if given != Some(expected.as_str()) {
            return StatusCode::UNAUTHORIZED.into_response();
        }
    }
    let body = shared.jwks.lock().unwrap().to_string();
    ([("content-type", "application/json")], body).into_response()
}

impl JwksServer {
    /// Starts a server publishing `keys`.
    pub async fn start(keys: &[&TestKey]) -> Self {
        let shared = Arc::new(Shared {
            jwks: Mutex::new(jwks_of(keys)),
            mode: Mutex::new(Mode::Serve),
            bearer: Mutex::new(None),
            fetches: AtomicU64::new(0),
        });
        let app = Router::new()
            .route("/.well-known/jwks.json", get(serve))
            .route("/v1/jwks", get(serve))
            .with_state(Arc::clone(&shared));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        JwksServer {
            base_url,
            shared,
            task,
        }
    }

    /// The frontend-API-style JWKS URL.
    pub fn jwks_url(&self) -> String {
        format!("{}/.well-known/jwks.json", self.base_url)
    }

    /// Publishes a new key set (rotation).
    pub fn set_keys(&self, keys: &[&TestKey]) {
        *self.shared.jwks.lock().unwrap() = jwks_of(keys);
    }

    /// Publishes an arbitrary JWKS document.
    pub fn set_document(&self, document: Value) {
        *self.shared.jwks.lock().unwrap() = document;
    }

    /// Changes how the server answers.
    pub fn set_mode(&self, mode: Mode) {
        *self.shared.mode.lock().unwrap() = mode;
    }

    /// Requires `Authorization: Bearer <secret>`.
    pub fn require_bearer(&self, secret: &str) {
        *self.shared.bearer.lock().unwrap() = Some(secret.to_owned());
    }

    /// Requests received so far.
    pub fn fetches(&self) -> u64 {
        self.shared.fetches.load(Ordering::SeqCst)
    }
}

/// A JWKS document holding the public halves of `keys`.
pub fn jwks_of(keys: &[&TestKey]) -> Value {
    json!({"keys": keys.iter().map(|k| k.jwk()).collect::<Vec<_>>()})
}
