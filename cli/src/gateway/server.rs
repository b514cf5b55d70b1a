//! Serves the [`Gateway`] over HTTP with axum: every path the `extra` router (e.g. the dev JWKS) does
//! not handle goes to the gateway, and request bodies are capped at API Gateway's 10 MB payload limit
//! (a larger body gets `REQUEST_TOO_LARGE`, 413, rendered like any gateway response).
//!
//! An oversized body is still read (and dropped, up to [`DRAIN_LIMIT`]) before answering: closing a
//! connection with unread data makes the kernel reset it, and the client would see a connection
//! error instead of the 413.

use std::sync::Arc;

use bytes::BytesMut;
use http_body_util::BodyExt as _;

use super::{Body, Gateway};

/// API Gateway's maximum request payload (10 MB).
pub const MAX_BODY_BYTES: usize = 10 * 1024 * 1024;

/// How much of an oversized body is read and dropped before the 413 is sent.
pub const DRAIN_LIMIT: usize = 8 * MAX_BODY_BYTES;

/// An axum router sending everything `extra` does not route to the gateway.
pub fn router(gateway: Arc<Gateway>, extra: axum::Router) -> axum::Router {
    extra.fallback(move |request: axum::extract::Request| {
        let gateway = Arc::clone(&gateway);
        async move { serve(&gateway, request).await }
    })
}

async fn serve(gateway: &Gateway, request: axum::extract::Request) -> axum::response::Response {
    let (parts, body) = request.into_parts();
    let declared = parts
        .headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok());
    let body = read_body(body, declared).await;
    gateway
        .respond(parts, body)
        .await
        .map(axum::body::Body::from)
}

async fn read_body(mut body: axum::body::Body, declared: Option<u64>) -> Body {
    let mut too_large = declared.is_some_and(|length| length > MAX_BODY_BYTES as u64);
    let mut buffer = BytesMut::new();
    let mut total: usize = 0;
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else {
            return Body::Unreadable;
        };
        let Ok(data) = frame.into_data() else {
            continue; // trailers
        };
        total = total.saturating_add(data.len());
        if total > DRAIN_LIMIT {
            break;
        }
        if too_large {
            continue;
        }
        if buffer.len().saturating_add(data.len()) > MAX_BODY_BYTES {
            too_large = true;
            buffer = BytesMut::new();
        } else {
            buffer.extend_from_slice(&data);
        }
    }
    if too_large || total > MAX_BODY_BYTES {
        Body::TooLarge
    } else {
        Body::Complete(buffer.freeze())
    }
}
