//! Signing webhook deliveries as Svix does, for tests that post Clerk events to
//! `POST /v1/webhooks/clerk` (README "Clerk webhooks"). Written from Svix's description ("Verifying
//! Webhooks Manually": HMAC-SHA256 of `{id}.{timestamp}.{body}` under the base64 part of the secret
//! after `whsec_`, sent as `v1,<base64>`), independently of the library's verifier, so a test signs
//! with other code than the code under test. The official `svix` Python library is the third party
//! that checks both (`cli/tests/clerk_webhooks.rs`).
//!
//! Also: Clerk-shaped event bodies (`{"data", "object": "event", "type", "timestamp", "instance_id"}`)
//! and a random secret.

use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::hmac;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

/// The three headers of one signed delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedHeaders {
    /// `svix-id`.
    pub id: String,
    /// `svix-timestamp` (Unix seconds).
    pub timestamp: String,
    /// `svix-signature` (`v1,<base64>`).
    pub signature: String,
}

impl SignedHeaders {
    /// As `(name, value)` pairs, in Svix's header names.
    pub fn pairs(&self) -> [(&'static str, &str); 3] {
        [
            ("svix-id", &self.id),
            ("svix-timestamp", &self.timestamp),
            ("svix-signature", &self.signature),
        ]
    }
}

/// The `v1,<base64>` signature of `body` for delivery `id` at `timestamp` under `secret`
/// (`whsec_<base64>`). Panics on a secret that is not one.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &str) -> String {
    let key_bytes = STANDARD
        .decode(secret.strip_prefix("whsec_").expect("a whsec_ secret"))
        .expect("base64 after whsec_");
    let key = hmac::Key::new(hmac::HMAC_SHA256, &key_bytes);
    let signed = format!("{id}.{timestamp}.{body}");
    let tag = hmac::sign(&key, signed.as_bytes());
    format!("v1,{}", STANDARD.encode(tag.as_ref()))
}

/// The headers of delivery `id` of `body` at `timestamp`.
pub fn headers(secret: &str, id: &str, timestamp: i64, body: &str) -> SignedHeaders {
    SignedHeaders {
        id: id.to_owned(),
        timestamp: timestamp.to_string(),
        signature: sign(secret, id, timestamp, body),
    }
}

/// Now, in Unix seconds.
pub fn now() -> i64 {
    i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap()
}

/// Now, in Unix milliseconds (a Clerk event's `timestamp`).
pub fn now_ms() -> i64 {
    i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

/// A fresh delivery id, shaped like Svix's (`msg_` and base62).
pub fn message_id() -> String {
    let mut bytes = [0u8; 16];
    aws_lc_rs::rand::fill(&mut bytes).unwrap();
    const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let id: String = bytes
        .iter()
        .map(|b| char::from(BASE62[usize::from(*b) % BASE62.len()]))
        .collect();
    format!("msg_{id}")
}

/// A fresh signing secret, as Svix issues them: `whsec_` and the base64 of 24 random bytes.
pub fn random_secret() -> String {
    let mut bytes = [0u8; 24];
    aws_lc_rs::rand::fill(&mut bytes).unwrap();
    format!("whsec_{}", STANDARD.encode(bytes))
}

/// A Clerk event envelope around `data`.
pub fn clerk_event(event_type: &str, data: Value, at_ms: i64) -> Value {
    json!({
        "data": data,
        "event_attributes": {"http_request": {"client_ip": "192.0.2.1", "user_agent": "gatehouse-tests"}},
        "instance_id": "ins_gatehouse_tests",
        "object": "event",
        "timestamp": at_ms,
        "type": event_type,
    })
}

/// `user.created` or `user.updated` for `user_id`: a (trimmed) Clerk User object.
pub fn user_event(
    event_type: &str,
    user_id: &str,
    banned: bool,
    locked: bool,
    at_ms: i64,
) -> Value {
    clerk_event(
        event_type,
        json!({
            "id": user_id,
            "object": "user",
            "banned": banned,
            "locked": locked,
            "email_addresses": [],
            "first_name": "Test",
            "last_name": "User",
            "created_at": at_ms,
            "updated_at": at_ms,
        }),
        at_ms,
    )
}

/// `user.deleted` for `user_id`: Clerk's deleted object.
pub fn deleted_event(user_id: &str, at_ms: i64) -> Value {
    clerk_event(
        "user.deleted",
        json!({"id": user_id, "object": "user", "deleted": true}),
        at_ms,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_svix_documented_example() {
        assert_eq!(
            sign(
                "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                1_614_265_330,
                r#"{"test": 2432232314}"#
            ),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
        assert!(random_secret().starts_with("whsec_"));
        assert_eq!(random_secret().len(), 6 + 32);
        assert!(message_id().starts_with("msg_"));
    }
}
