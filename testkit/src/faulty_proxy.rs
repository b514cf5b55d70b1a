//! An HTTP reverse proxy in front of DynamoDB Local that can make the store fail in the middle of an
//! operation, for the crash-safety tests of the Clerk webhook (README "Clerk webhooks"): a deletion
//! must leave the user suspended when the store goes away after the first writes, and Svix's retry
//! must finish the job. A `gatehouse serve` whose `AWS_ENDPOINT_URL` names the proxy talks to DynamoDB
//! Local through it.
//!
//! Disarmed, it forwards every request as is (method, path, query, headers, body) and hands back
//! DynamoDB Local's answer. Armed with [`FaultyProxy::fail_after`]`(n)`, it lets `n` more requests
//! through, then answers every request with DynamoDB's `500 InternalServerError` until
//! [`FaultyProxy::disarm`]: the AWS SDK retries a 500, so the failure must last, not be a single
//! dropped request.
//!
//! It runs on a runtime of its own, on its own thread, so a test that blocks (starting `serve`,
//! running a `gatehouse` command) cannot starve it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderName, StatusCode, header};
use axum::response::Response;

/// The largest request or answer body forwarded (DynamoDB items are at most 400 KB; pages 1 MB).
const MAX_BODY: usize = 16 * 1024 * 1024;

/// Headers that belong to one connection, not to the request: never forwarded.
const HOP_BY_HOP: [HeaderName; 4] = [
    header::HOST,
    header::CONNECTION,
    header::CONTENT_LENGTH,
    header::TRANSFER_ENCODING,
];

struct Shared {
    upstream: String,
    client: reqwest::Client,
    /// `None`: forward everything; `Some(n)`: forward `n` more, then fail.
    budget: Mutex<Option<usize>>,
    forwarded: AtomicUsize,
    failed: AtomicUsize,
}

/// A running proxy; stopped when dropped.
pub struct FaultyProxy {
    url: String,
    shared: Arc<Shared>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for FaultyProxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaultyProxy")
            .field("url", &self.url)
            .field("upstream", &self.shared.upstream)
            .finish_non_exhaustive()
    }
}

impl FaultyProxy {
    /// Starts a disarmed proxy on a free loopback port in front of `upstream`
    /// (`http://127.0.0.1:<port>`).
    pub fn start(upstream: &str) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let shared = Arc::new(Shared {
            upstream: upstream.trim_end_matches('/').to_owned(),
            client: reqwest::Client::builder().no_proxy().build().unwrap(),
            budget: Mutex::new(None),
            forwarded: AtomicUsize::new(0),
            failed: AtomicUsize::new(0),
        });
        let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
        let state = Arc::clone(&shared);
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                let app = axum::Router::new().fallback(proxy).with_state(state);
                axum::serve(listener, app)
                    .with_graceful_shutdown(async move {
                        let _sender_gone = stopped.await;
                    })
                    .await
                    .unwrap();
            });
        });
        FaultyProxy {
            url,
            shared,
            shutdown: Some(shutdown),
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:<port>`: the endpoint to give the SDK.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Lets `requests` more requests through, then fails every request until [`Self::disarm`].
    pub fn fail_after(&self, requests: usize) {
        *self.shared.budget.lock().unwrap() = Some(requests);
    }

    /// Forwards every request again.
    pub fn disarm(&self) {
        *self.shared.budget.lock().unwrap() = None;
    }

    /// How many requests were forwarded so far.
    pub fn forwarded(&self) -> usize {
        self.shared.forwarded.load(Ordering::SeqCst)
    }

    /// How many requests were answered with the injected 500 so far.
    pub fn failed(&self) -> usize {
        self.shared.failed.load(Ordering::SeqCst)
    }
}

impl Drop for FaultyProxy {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _server_gone = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _joined = thread.join();
        }
    }
}

/// Whether this request may go through (and uses one from the budget).
fn admit(shared: &Shared) -> bool {
    let mut budget = shared.budget.lock().unwrap();
    match budget.as_mut() {
        None => true,
        Some(0) => false,
        Some(left) => {
            *left -= 1;
            true
        }
    }
}

async fn proxy(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    if !admit(&shared) {
        shared.failed.fetch_add(1, Ordering::SeqCst);
        return internal_server_error();
    }
    shared.forwarded.fetch_add(1, Ordering::SeqCst);
    let (parts, body) = request.into_parts();
    let target = format!(
        "{}{}",
        shared.upstream,
        parts
            .uri
            .path_and_query()
            .map_or("/", |path_and_query| path_and_query.as_str())
    );
    let body = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(bytes) => bytes,
        Err(_) => return status_only(StatusCode::PAYLOAD_TOO_LARGE),
    };
    let mut headers = parts.headers;
    for name in &HOP_BY_HOP {
        headers.remove(name);
    }
    let answer = shared
        .client
        .request(parts.method, target)
        .headers(headers)
        .body(body)
        .send()
        .await;
    let Ok(answer) = answer else {
        return status_only(StatusCode::BAD_GATEWAY);
    };
    let status = answer.status();
    let mut answer_headers = answer.headers().clone();
    for name in &HOP_BY_HOP {
        answer_headers.remove(name);
    }
    let Ok(bytes) = answer.bytes().await else {
        return status_only(StatusCode::BAD_GATEWAY);
    };
    let mut response = Response::new(Body::from(bytes));
    *response.status_mut() = status;
    *response.headers_mut() = answer_headers;
    response
}

/// DynamoDB's own answer to an internal failure (JSON 1.0 protocol), which the SDK retries.
fn internal_server_error() -> Response {
    let body = r#"{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"Internal server error (injected by the test's faulty proxy)"}"#;
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/x-amz-json-1.0"),
    );
    headers.insert(
        "x-amzn-errortype",
        header::HeaderValue::from_static("InternalServerError"),
    );
    headers.insert(
        "x-amzn-requestid",
        header::HeaderValue::from_static("FAULTYPROXY0000000000000000000000000000000000000000"),
    );
    response
}

fn status_only(status: StatusCode) -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = status;
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A proxy in front of nothing (the discard port): what it forwards comes back 502, enough to
    /// tell a forwarded request from an injected failure without another server.
    fn proxy_to_nowhere() -> FaultyProxy {
        FaultyProxy::start("http://127.0.0.1:9")
    }

    #[tokio::test]
    async fn lets_n_through_then_fails_until_disarmed() {
        let proxy = proxy_to_nowhere();
        let client = reqwest::Client::builder().no_proxy().build().unwrap();
        let status = |_: ()| async {
            client
                .post(format!("{}/", proxy.url()))
                .body("{}")
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        };
        assert_eq!(status(()).await, 502);
        proxy.fail_after(2);
        assert_eq!(status(()).await, 502);
        assert_eq!(status(()).await, 502);
        for _ in 0..3 {
            assert_eq!(status(()).await, 500);
        }
        let failed = client
            .post(format!("{}/", proxy.url()))
            .send()
            .await
            .unwrap();
        assert_eq!(failed.headers()["x-amzn-errortype"], "InternalServerError");
        assert!(
            failed
                .text()
                .await
                .unwrap()
                .contains("#InternalServerError")
        );
        proxy.disarm();
        assert_eq!(status(()).await, 502);
        assert_eq!(proxy.forwarded(), 4);
        assert_eq!(proxy.failed(), 4);
    }
}
