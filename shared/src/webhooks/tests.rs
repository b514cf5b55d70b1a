//! `POST /v1/webhooks/clerk` through the route table (`routes::invoke`, the `lambda_http` adapter
//! its Lambda binary runs), over a memory store, with REST API (payload 1.0) and HTTP API (payload
//! 2.0) events: every refusal changes nothing, every event type, ordering, replays, and a deletion
//! interrupted by a store failure, then retried. Deliveries are signed by `gatehouse_testkit::svix`,
//! code apart from the verifier under test.
//!
//! The whole file is test code: `webhooks.rs` declares it `#[cfg(test)] mod tests;`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeMap;
use std::sync::Arc;

use base64::Engine as _;
use serde_json::{Value, json};

use super::*;
use crate::apikey::{ApiKeyPrefix, Pepper};
use crate::clock::FixedClock;
use crate::principal::{Memberships, Scopes};
use crate::routes::Route;
use crate::self_service::KeyService;
use crate::store::memory::MemoryStore;
use crate::store::{ApiKeyRecord, AuthStore as _, KeyStore as _, UserRecord};
use gatehouse_testkit::svix;

const NOW: i64 = 1_800_000_000;
const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const PATH: &str = "/v1/webhooks/clerk";

/// A webhook service on `store` at [`NOW`], with [`SECRET`] and `default_role`.
fn service_on(store: MemoryStore, default_role: Role) -> ResourceService<MemoryStore> {
    let clock = Arc::new(FixedClock::at(NOW));
    let config = WebhookConfig::new(WebhookSecret::parse(SECRET).unwrap(), default_role).unwrap();
    ResourceService::new(
        KeyService::from_parts(store, ApiKeyPrefix::default_prefix(), None, clock.clone()),
        clock,
    )
    .with_webhooks(Arc::new(config))
}

fn service() -> (MemoryStore, ResourceService<MemoryStore>) {
    let store = MemoryStore::new();
    (store.clone(), service_on(store, Role::None))
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Api {
    Rest,
    Http,
}

/// A REST API proxy event for the route (no authorizer context: the route has none).
fn rest_event(headers: &[(&str, &str)], body: &str) -> Value {
    let headers: BTreeMap<&str, &str> = headers.iter().copied().collect();
    json!({
        "resource": PATH, "path": PATH, "httpMethod": "POST", "headers": headers,
        "queryStringParameters": null, "pathParameters": null,
        "requestContext": {"resourcePath": PATH, "httpMethod": "POST", "stage": "prod",
            "requestId": "r", "accountId": "123456789012", "apiId": "abcdef1234",
            "identity": {"sourceIp": "203.0.113.7"}},
        "body": body, "isBase64Encoded": false
    })
}

/// The same request as an HTTP API payload 2.0 event.
fn http_event(headers: &[(&str, &str)], body: &str) -> Value {
    let headers: BTreeMap<String, &str> = headers
        .iter()
        .map(|(name, value)| (name.to_ascii_lowercase(), *value))
        .collect();
    json!({
        "version": "2.0", "routeKey": format!("POST {PATH}"), "rawPath": PATH, "rawQueryString": "",
        "headers": headers,
        "requestContext": {"accountId": "123456789012", "apiId": "abcdef1234",
            "domainName": "abcdef1234.execute-api.us-east-1.amazonaws.com",
            "http": {"method": "POST", "path": PATH, "protocol": "HTTP/1.1",
                     "sourceIp": "203.0.113.7", "userAgent": "Svix-Webhooks/1.0"},
            "requestId": "r", "routeKey": format!("POST {PATH}"), "stage": "$default",
            "time": "01/Jan/2027:00:00:00 +0000", "timeEpoch": 0},
        "body": body, "isBase64Encoded": false
    })
}

/// A route's answer.
#[derive(Debug)]
struct Answer {
    status: u16,
    headers: BTreeMap<String, String>,
    body: Value,
}

/// Invokes the route with `event` exactly as its Lambda binary's runtime loop does.
async fn invoke(service: &ResourceService<MemoryStore>, event: &Value) -> Answer {
    let bytes = serde_json::to_vec(event).unwrap();
    let answer = crate::routes::invoke(
        Route::ClerkWebhook,
        service,
        &bytes,
        lambda_runtime::Context::default(),
    )
    .await
    .unwrap();
    // Payload 1.0 answers carry headers in `multiValueHeaders`, 2.0 answers in `headers`.
    let mut headers = BTreeMap::new();
    for (name, value) in answer["multiValueHeaders"]
        .as_object()
        .into_iter()
        .flatten()
    {
        headers.insert(
            name.to_ascii_lowercase(),
            value[0].as_str().unwrap().to_owned(),
        );
    }
    for (name, value) in answer["headers"].as_object().into_iter().flatten() {
        headers.insert(
            name.to_ascii_lowercase(),
            value.as_str().unwrap().to_owned(),
        );
    }
    Answer {
        status: u16::try_from(answer["statusCode"].as_u64().unwrap()).unwrap(),
        headers,
        body: serde_json::from_str(answer["body"].as_str().unwrap_or("null")).unwrap(),
    }
}

/// Posts `body` signed with [`SECRET`] as delivery `id` at [`NOW`].
async fn deliver(service: &ResourceService<MemoryStore>, id: &str, body: &Value) -> Answer {
    deliver_on(Api::Rest, service, id, body).await
}

async fn deliver_on(
    api: Api,
    service: &ResourceService<MemoryStore>,
    id: &str,
    body: &Value,
) -> Answer {
    let text = body.to_string();
    let signed = svix::headers(SECRET, id, NOW, &text);
    let headers = signed.pairs();
    let event = match api {
        Api::Rest => rest_event(&headers, &text),
        Api::Http => http_event(&headers, &text),
    };
    invoke(service, &event).await
}

fn expect_error(answer: &Answer, status: u16, code: &str, message: &str) {
    assert_eq!(answer.status, status, "{answer:?}");
    assert_eq!(
        answer.body,
        json!({"error": message, "code": code}),
        "{answer:?}"
    );
    assert_eq!(answer.headers["content-type"], "application/json");
    assert_eq!(
        answer.headers.get("www-authenticate").map(String::as_str),
        (status == 401).then_some("Bearer"),
        "{answer:?}"
    );
}

fn expect_delivered(answer: &Answer, id: &str, event_type: &str, user: &str, outcome: &str) {
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.body["id"], id, "{answer:?}");
    assert_eq!(answer.body["type"], event_type, "{answer:?}");
    assert_eq!(answer.body["userId"], user, "{answer:?}");
    assert_eq!(answer.body["outcome"], outcome, "{answer:?}");
}

fn user_event(event_type: &str, user: &str, banned: bool, locked: bool, at_ms: i64) -> Value {
    svix::user_event(event_type, user, banned, locked, at_ms)
}

async fn record(store: &MemoryStore, user: &str) -> Option<UserRecord> {
    store.user(user).await.unwrap()
}

/// `count` active keys of `user`.
fn put_keys(store: &MemoryStore, user: &str, count: usize) {
    let pepper = Pepper::new(b"unit-test-pepper-0123456789").unwrap();
    for i in 0..count {
        store.put_key(ApiKeyRecord {
            key_id: format!("k_{user}_{i}"),
            user_id: user.to_owned(),
            key_hash: pepper.hash(&format!("sf_{user}_{i}")),
            name: format!("key {i}"),
            scopes: Scopes {
                read: true,
                write: true,
            },
            active: true,
            created_at: NOW - 1000,
            expires_at: None,
            tail: "abcd".into(),
            last_used_at: None,
            revoked_at: None,
        });
    }
}

async fn active_keys(store: &MemoryStore, user: &str) -> usize {
    store
        .api_keys_of(user)
        .await
        .unwrap()
        .iter()
        .filter(|k| k.active)
        .count()
}

#[tokio::test]
async fn refusals_change_nothing_and_touch_no_store() {
    let store = MemoryStore::new();
    // Any store call would fail and answer 500: every refusal below must come before one.
    store.set_failing(true);
    let service = service_on(store.clone(), Role::None);
    let body = user_event("user.created", "user_new", false, false, NOW * 1000).to_string();
    let good = svix::headers(SECRET, "msg_1", NOW, &body);
    let id = ("svix-id", good.id.as_str());
    let ts = ("svix-timestamp", good.timestamp.as_str());
    let sig = ("svix-signature", good.signature.as_str());

    for api in [Api::Rest, Api::Http] {
        let event = |headers: &[(&str, &str)], body: &str| match api {
            Api::Rest => rest_event(headers, body),
            Api::Http => http_event(headers, body),
        };
        // Missing headers (each one, all three).
        for headers in [vec![ts, sig], vec![id, sig], vec![id, ts], vec![]] {
            expect_error(
                &invoke(&service, &event(&headers, &body)).await,
                401,
                "invalid_signature",
                "missing webhook signature",
            );
        }
        // Tampered body, wrong secret, another id, a signature of another version only.
        let wrong_secret = svix::sign(&svix::random_secret(), "msg_1", NOW, &body);
        let tampered = body.replace("user_new", "user_evil");
        let v2 = good.signature.replacen("v1,", "v2,", 1);
        for (headers, body) in [
            (vec![id, ts, sig], tampered.as_str()),
            (
                vec![id, ts, ("svix-signature", wrong_secret.as_str())],
                &body,
            ),
            (vec![("svix-id", "msg_2"), ts, sig], &body),
            (vec![id, ts, ("svix-signature", v2.as_str())], &body),
            (vec![id, ("svix-timestamp", "soon"), sig], &body),
        ] {
            expect_error(
                &invoke(&service, &event(&headers, body)).await,
                401,
                "invalid_signature",
                "invalid webhook signature",
            );
        }
        // Stale and early: validly signed, more than 5 minutes away from now.
        for at in [NOW - 301, NOW + 301] {
            let stale = svix::headers(SECRET, "msg_1", at, &body);
            expect_error(
                &invoke(&service, &event(&stale.pairs(), &body)).await,
                401,
                "invalid_signature",
                "webhook timestamp outside the tolerance",
            );
        }
        // Oversized: refused before any signature work, even a validly signed one.
        let huge = format!("{{\"pad\":\"{}\"}}", "x".repeat(api::MAX_BODY_BYTES));
        let signed = svix::headers(SECRET, "msg_1", NOW, &huge);
        for headers in [signed.pairs().to_vec(), vec![]] {
            expect_error(
                &invoke(&service, &event(&headers, &huge)).await,
                413,
                "payload_too_large",
                "request body too large",
            );
        }
        // Validly signed, but not a Clerk event.
        for (body, message) in [
            ("not json".to_owned(), None),
            (
                json!({"data": {"id": "user_1"}, "timestamp": 1}).to_string(),
                Some("type is required"),
            ),
            (
                json!({"type": "user.deleted", "data": {"deleted": true}, "timestamp": 1})
                    .to_string(),
                Some("data.id is required"),
            ),
            (
                json!({"type": "user.deleted", "data": {"id": "user_1"}}).to_string(),
                Some("timestamp is required"),
            ),
            (
                svix::deleted_event("user 1", NOW * 1000).to_string(),
                Some("data.id is not a valid user id"),
            ),
        ] {
            let signed = svix::headers(SECRET, "msg_1", NOW, &body);
            let answer = invoke(&service, &event(&signed.pairs(), &body)).await;
            assert_eq!(answer.status, 400, "{answer:?}");
            assert_eq!(answer.body["code"], "bad_request");
            if let Some(message) = message {
                assert_eq!(answer.body["error"], message);
            }
        }
        let signed = svix::headers(SECRET, "msg/1", NOW, &body);
        expect_error(
            &invoke(&service, &event(&signed.pairs(), &body)).await,
            400,
            "bad_request",
            "svix-id is not a valid delivery id",
        );
    }
    store.set_failing(false);
    assert_eq!(record(&store, "user_new").await, None);
    assert_eq!(record(&store, "user_evil").await, None);
    assert!(!store.webhook_delivery_seen("msg_1").await.unwrap());
}

#[tokio::test]
async fn a_function_without_its_secret_answers_500() {
    let clock = Arc::new(FixedClock::at(NOW));
    let service = ResourceService::new(
        KeyService::from_parts(
            MemoryStore::new(),
            ApiKeyPrefix::default_prefix(),
            None,
            clock.clone(),
        ),
        clock,
    );
    let body = svix::deleted_event("user_1", NOW * 1000).to_string();
    let signed = svix::headers(SECRET, "msg_1", NOW, &body);
    expect_error(
        &invoke(&service, &rest_event(&signed.pairs(), &body)).await,
        500,
        "internal_error",
        "internal error",
    );
}

#[tokio::test]
async fn user_created_records_the_default_role_and_never_overwrites() {
    let (store, service) = service();
    let answer = deliver(
        &service,
        "msg_c1",
        &user_event("user.created", "user_new", false, false, 1_000),
    )
    .await;
    expect_delivered(&answer, "msg_c1", "user.created", "user_new", "applied");
    assert_eq!(answer.body["revokedKeys"], 0);
    let created = record(&store, "user_new").await.unwrap();
    assert_eq!(created.role, Role::None);
    assert!(!created.is_suspended());

    // An existing record keeps its role and memberships.
    let manager = UserRecord::new(
        "user_manager",
        Role::Manager,
        Memberships {
            organization_ids: vec!["org_1".into()],
            ..Memberships::default()
        },
    );
    store.put_user(manager.clone());
    let answer = deliver(
        &service,
        "msg_c2",
        &user_event("user.created", "user_manager", false, false, 2_000),
    )
    .await;
    expect_delivered(&answer, "msg_c2", "user.created", "user_manager", "applied");
    let kept = record(&store, "user_manager").await.unwrap();
    assert_eq!(kept.role, Role::Manager);
    assert_eq!(kept.memberships, manager.memberships);

    // DEFAULT_ROLE=signer; a user created banned starts suspended.
    let service = service_on(store.clone(), Role::Signer);
    deliver(
        &service,
        "msg_c3",
        &user_event("user.created", "user_banned_at_birth", true, false, 3_000),
    )
    .await;
    let banned = record(&store, "user_banned_at_birth").await.unwrap();
    assert_eq!(banned.role, Role::Signer);
    assert!(banned.is_suspended());
    assert!(!banned.suspended, "Clerk's suspension, not the operator's");
}

#[test]
fn admin_is_never_the_default_role() {
    let secret = WebhookSecret::parse(SECRET).unwrap();
    assert!(WebhookConfig::new(secret.clone(), Role::Admin).is_err());
    for role in [Role::None, Role::Signer, Role::Manager] {
        assert_eq!(
            WebhookConfig::new(secret.clone(), role)
                .unwrap()
                .default_role(),
            role
        );
    }
}

#[tokio::test]
async fn banned_suspends_unbanned_lifts_and_the_operators_suspension_stays() {
    let (store, service) = service();
    store.put_user(UserRecord::new(
        "user_a",
        Role::Signer,
        Memberships::default(),
    ));
    for (id, banned, locked, at, suspended) in [
        ("msg_u1", true, false, 10, true),
        ("msg_u2", false, false, 20, false),
        ("msg_u3", false, true, 30, true),
        ("msg_u4", false, false, 40, false),
    ] {
        let answer = deliver(
            &service,
            id,
            &user_event("user.updated", "user_a", banned, locked, at),
        )
        .await;
        expect_delivered(&answer, id, "user.updated", "user_a", "applied");
        let user = record(&store, "user_a").await.unwrap();
        assert_eq!(user.is_suspended(), suspended, "{id}");
        assert_eq!(user.role, Role::Signer);
    }

    // An operator's suspension is not Clerk's to lift.
    let mut operator_suspended = UserRecord::new("user_op", Role::Manager, Memberships::default());
    operator_suspended.suspended = true;
    store.put_user(operator_suspended);
    deliver(
        &service,
        "msg_o1",
        &user_event("user.updated", "user_op", true, false, 10),
    )
    .await;
    let answer = deliver(
        &service,
        "msg_o2",
        &user_event("user.updated", "user_op", false, false, 20),
    )
    .await;
    expect_delivered(&answer, "msg_o2", "user.updated", "user_op", "applied");
    let user = record(&store, "user_op").await.unwrap();
    assert!(user.suspended && user.is_suspended());
    assert!(!user.clerk.suspended);
}

#[tokio::test]
async fn events_apply_in_the_order_of_their_own_timestamps() {
    let (store, service) = service();
    // Banned at t2 arrives first; the unban of t1 arrives late and changes nothing.
    let answer = deliver(
        &service,
        "msg_t2",
        &user_event("user.updated", "user_b", true, false, 2_000),
    )
    .await;
    expect_delivered(&answer, "msg_t2", "user.updated", "user_b", "applied");
    let answer = deliver(
        &service,
        "msg_t1",
        &user_event("user.updated", "user_b", false, false, 1_000),
    )
    .await;
    expect_delivered(&answer, "msg_t1", "user.updated", "user_b", "superseded");
    assert!(record(&store, "user_b").await.unwrap().is_suspended());
    // Both deliveries are recorded: a superseded event is done too.
    assert!(store.webhook_delivery_seen("msg_t1").await.unwrap());
    // A user.created older than the ban does not lift it either.
    let answer = deliver(
        &service,
        "msg_t0",
        &user_event("user.created", "user_b", false, false, 500),
    )
    .await;
    expect_delivered(&answer, "msg_t0", "user.created", "user_b", "superseded");
    assert!(record(&store, "user_b").await.unwrap().is_suspended());

    // A deletion is final: nothing after it lifts the suspension.
    deliver(&service, "msg_t3", &svix::deleted_event("user_b", 3_000)).await;
    let answer = deliver(
        &service,
        "msg_t4",
        &user_event("user.updated", "user_b", false, false, 4_000),
    )
    .await;
    expect_delivered(&answer, "msg_t4", "user.updated", "user_b", "superseded");
    assert!(record(&store, "user_b").await.unwrap().is_suspended());
}

#[tokio::test]
async fn a_replayed_delivery_has_no_second_effect() {
    let (store, service) = service();
    let unban = user_event("user.updated", "user_r", false, false, 1_000);
    deliver(&service, "msg_r1", &unban).await;
    // A newer ban, then the old unban's delivery replayed (Svix retry or an attacker inside the
    // window): answered 200 `duplicate`, the ban stays.
    deliver(
        &service,
        "msg_r2",
        &user_event("user.updated", "user_r", true, false, 2_000),
    )
    .await;
    let replay = deliver(&service, "msg_r1", &unban).await;
    expect_delivered(&replay, "msg_r1", "user.updated", "user_r", "duplicate");
    assert_eq!(replay.body["revokedKeys"], 0);
    assert!(record(&store, "user_r").await.unwrap().is_suspended());

    // Deleting twice revokes once.
    put_keys(&store, "user_r", 3);
    let first = deliver(&service, "msg_r3", &svix::deleted_event("user_r", 3_000)).await;
    assert_eq!(first.body["revokedKeys"], 3);
    put_keys(&store, "user_r", 1); // (re-seeded: a replay must not revoke it)
    let again = deliver(&service, "msg_r3", &svix::deleted_event("user_r", 3_000)).await;
    expect_delivered(&again, "msg_r3", "user.deleted", "user_r", "duplicate");
    assert_eq!(again.body["revokedKeys"], 0);
}

#[tokio::test]
async fn user_deleted_suspends_and_revokes_every_key() {
    let (store, service) = service();
    store.put_user(UserRecord::new(
        "user_d",
        Role::Manager,
        Memberships::default(),
    ));
    put_keys(&store, "user_d", 25);
    put_keys(&store, "user_other", 2);
    let answer = deliver(&service, "msg_d1", &svix::deleted_event("user_d", 5_000)).await;
    assert_eq!(
        answer.body,
        json!({"id": "msg_d1", "type": "user.deleted", "userId": "user_d",
               "outcome": "applied", "revokedKeys": 25})
    );
    let user = record(&store, "user_d").await.unwrap();
    assert!(user.is_suspended() && user.clerk.deleted);
    assert_eq!(active_keys(&store, "user_d").await, 0);
    assert!(
        store
            .api_keys_of("user_d")
            .await
            .unwrap()
            .iter()
            .all(|k| k.revoked_at == Some(NOW))
    );
    assert_eq!(active_keys(&store, "user_other").await, 2);

    // A user Gatehouse never knew: recorded as deleted (suspended), nothing to revoke.
    let answer = deliver(
        &service,
        "msg_d2",
        &svix::deleted_event("user_ghost", 5_000),
    )
    .await;
    expect_delivered(&answer, "msg_d2", "user.deleted", "user_ghost", "applied");
    assert!(record(&store, "user_ghost").await.unwrap().is_suspended());
}

#[tokio::test]
async fn a_deletion_the_store_interrupts_leaves_the_user_suspended_and_the_retry_finishes() {
    let (store, service) = service();
    store.put_user(UserRecord::new(
        "user_crash",
        Role::Manager,
        Memberships::default(),
    ));
    put_keys(&store, "user_crash", 25);
    let deletion = svix::deleted_event("user_crash", 9_000);

    // The store goes away before anything: nothing changes.
    store.fail_after(0);
    expect_error(
        &deliver(&service, "msg_x", &deletion).await,
        500,
        "internal_error",
        "internal error",
    );
    store.set_failing(false);
    assert!(!record(&store, "user_crash").await.unwrap().is_suspended());

    // It goes away after the delivery check and the suspension, before the keys are revoked: 500
    // (Svix retries), the user is already suspended, so none of the 25 keys is usable.
    store.fail_after(2);
    expect_error(
        &deliver(&service, "msg_x", &deletion).await,
        500,
        "internal_error",
        "internal error",
    );
    store.set_failing(false);
    let user = record(&store, "user_crash").await.unwrap();
    assert!(user.is_suspended() && user.clerk.deleted);
    assert_eq!(active_keys(&store, "user_crash").await, 25);
    assert!(!store.webhook_delivery_seen("msg_x").await.unwrap());

    // The retry (same svix-id) finishes: 200, all 25 revoked, the delivery recorded.
    let retry = deliver(&service, "msg_x", &deletion).await;
    assert_eq!(
        retry.body,
        json!({"id": "msg_x", "type": "user.deleted", "userId": "user_crash",
               "outcome": "applied", "revokedKeys": 25})
    );
    assert_eq!(active_keys(&store, "user_crash").await, 0);
    assert!(store.webhook_delivery_seen("msg_x").await.unwrap());

    // Failing at the very end (recording the delivery) is a 500 too; the retry re-applies
    // harmlessly (nothing left to revoke) and records it.
    put_keys(&store, "user_late", 2);
    let late = svix::deleted_event("user_late", 9_000);
    store.fail_after(3);
    expect_error(
        &deliver(&service, "msg_y", &late).await,
        500,
        "internal_error",
        "internal error",
    );
    store.set_failing(false);
    assert_eq!(active_keys(&store, "user_late").await, 0);
    let retry = deliver(&service, "msg_y", &late).await;
    expect_delivered(&retry, "msg_y", "user.deleted", "user_late", "applied");
    assert_eq!(retry.body["revokedKeys"], 0);
    let replay = deliver(&service, "msg_y", &late).await;
    expect_delivered(&replay, "msg_y", "user.deleted", "user_late", "duplicate");
}

#[tokio::test]
async fn other_event_types_are_recorded_without_effect() {
    let (store, service) = service();
    let session = svix::clerk_event(
        "session.created",
        json!({"id": "sess_1", "object": "session", "user_id": "user_s"}),
        1_000,
    );
    let answer = deliver(&service, "msg_s1", &session).await;
    assert_eq!(
        answer.body,
        json!({"id": "msg_s1", "type": "session.created", "userId": null,
               "outcome": "ignored", "revokedKeys": 0})
    );
    assert!(store.webhook_delivery_seen("msg_s1").await.unwrap());
    assert_eq!(record(&store, "user_s").await, None);
    let again = deliver(&service, "msg_s1", &session).await;
    assert_eq!(again.body["outcome"], "duplicate");
}

#[tokio::test]
async fn both_payload_formats_and_base64_bodies_give_the_same_answer() {
    let (store, service) = service();
    let rest = deliver_on(
        Api::Rest,
        &service,
        "msg_f1",
        &user_event("user.updated", "user_f", true, false, 1_000),
    )
    .await;
    let http = deliver_on(
        Api::Http,
        &service,
        "msg_f2",
        &user_event("user.updated", "user_f", true, true, 2_000),
    )
    .await;
    assert_eq!(rest.status, http.status);
    expect_delivered(&http, "msg_f2", "user.updated", "user_f", "applied");
    assert!(record(&store, "user_f").await.unwrap().is_suspended());

    // API Gateway base64-encodes a binary body; the signature covers the decoded bytes.
    let body = user_event("user.updated", "user_f", false, false, 3_000).to_string();
    let signed = svix::headers(SECRET, "msg_f3", NOW, &body);
    let mut event = rest_event(
        &signed.pairs(),
        &base64::engine::general_purpose::STANDARD.encode(&body),
    );
    event["isBase64Encoded"] = true.into();
    let answer = invoke(&service, &event).await;
    expect_delivered(&answer, "msg_f3", "user.updated", "user_f", "applied");
    assert!(!record(&store, "user_f").await.unwrap().is_suspended());
}

#[tokio::test]
async fn the_sample_event_is_a_valid_delivery_at_its_own_time() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let secret =
        std::fs::read_to_string(root.join("testdata/webhooks/dev-only-insecure-sample-secret"))
            .unwrap();
    let event: Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("events/clerk-webhook.json")).unwrap(),
    )
    .unwrap();
    let sent_at: i64 = event["headers"]["svix-timestamp"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let store = MemoryStore::new();
    let clock = Arc::new(FixedClock::at(sent_at));
    let config = WebhookConfig::new(WebhookSecret::parse(&secret).unwrap(), Role::None).unwrap();
    let service = ResourceService::new(
        KeyService::from_parts(
            store.clone(),
            ApiKeyPrefix::default_prefix(),
            None,
            clock.clone(),
        ),
        clock.clone(),
    )
    .with_webhooks(Arc::new(config));
    let answer = invoke(&service, &event).await;
    expect_delivered(
        &answer,
        "msg_2sampleClerkWebhook0000001",
        "user.created",
        "user_sample_webhook",
        "applied",
    );
    // Six minutes later the same event is stale.
    clock.advance(360);
    let late = invoke(&service, &event).await;
    expect_error(
        &late,
        401,
        "invalid_signature",
        "webhook timestamp outside the tolerance",
    );
}

/// A dummy SDK configuration: no request is made with it unless a secret id is configured.
fn offline_sdk() -> aws_config::SdkConfig {
    aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .build()
}

#[tokio::test]
async fn configuration_names_the_variable_never_the_value() {
    let sdk = offline_sdk();
    let from = |vars: &[(&'static str, &'static str)]| {
        let vars: BTreeMap<&str, &str> = vars.iter().copied().collect();
        Env::new(move |var: &str| vars.get(var).map(|v| (*v).to_owned()))
    };
    let config = WebhookConfig::from_env(&from(&[("CLERK_WEBHOOK_SECRET", SECRET)]), &sdk)
        .await
        .unwrap();
    assert_eq!(config.default_role(), Role::None);
    let shown = format!("{config:?}");
    assert!(!shown.contains("MfKQ9r8"), "{shown}");
    let config = WebhookConfig::from_env(
        &from(&[
            ("CLERK_WEBHOOK_SECRET", SECRET),
            ("DEFAULT_ROLE", "manager"),
        ]),
        &sdk,
    )
    .await
    .unwrap();
    assert_eq!(config.default_role(), Role::Manager);

    for (vars, var) in [
        (vec![], "CLERK_WEBHOOK_SECRET_ID"),
        (
            vec![("CLERK_WEBHOOK_SECRET", "")],
            "CLERK_WEBHOOK_SECRET_ID",
        ),
        (
            vec![("CLERK_WEBHOOK_SECRET", "whsec_notbase64!!secretvalue")],
            "CLERK_WEBHOOK_SECRET",
        ),
        (
            vec![("CLERK_WEBHOOK_SECRET", "sk_live_secretvalue")],
            "CLERK_WEBHOOK_SECRET",
        ),
        (
            vec![("CLERK_WEBHOOK_SECRET", SECRET), ("DEFAULT_ROLE", "admin")],
            "DEFAULT_ROLE",
        ),
        (
            vec![("CLERK_WEBHOOK_SECRET", SECRET), ("DEFAULT_ROLE", "owner")],
            "DEFAULT_ROLE",
        ),
    ] {
        let error = WebhookConfig::from_env(&from(&vars), &sdk)
            .await
            .unwrap_err();
        let text = error.to_string();
        assert!(
            matches!(&error, InitError::Config(c) if c.var == var),
            "{vars:?}: {text}"
        );
        assert!(!text.contains("secretvalue"), "{text}");
        assert!(!text.contains("MfKQ9r8"), "{text}");
    }
}

/// With moto (`GATEHOUSE_TEST_SECRETSMANAGER_ENDPOINT`): the secret is read from Secrets Manager,
/// and the template's placeholder value (`set-me`) stops the cold start naming the variable.
#[tokio::test]
async fn the_secret_comes_from_secrets_manager() {
    let Some(endpoint) = gatehouse_testkit::servers::secretsmanager_endpoint() else {
        return;
    };
    let sdk = gatehouse_testkit::servers::sdk_config(&endpoint).await;
    let good = gatehouse_testkit::servers::create_secret(
        &endpoint,
        &gatehouse_testkit::servers::unique_name("clerk-webhook"),
        SECRET,
    )
    .await;
    let placeholder = gatehouse_testkit::servers::create_secret(
        &endpoint,
        &gatehouse_testkit::servers::unique_name("clerk-webhook"),
        "set-me",
    )
    .await;
    let env = |id: String| {
        Env::new(move |var: &str| match var {
            "CLERK_WEBHOOK_SECRET_ID" => Some(id.clone()),
            // The secret id wins over the inline value.
            "CLERK_WEBHOOK_SECRET" => Some("whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".to_owned()),
            _ => None,
        })
    };
    let config = WebhookConfig::from_env(&env(good), &sdk).await.unwrap();
    let service = service_on(MemoryStore::new(), Role::None).with_webhooks(Arc::new(config));
    let answer = deliver(
        &service,
        "msg_sm",
        &user_event("user.created", "user_sm", false, false, 1),
    )
    .await;
    assert_eq!(answer.status, 200, "{answer:?}");

    let error = WebhookConfig::from_env(&env(placeholder), &sdk)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, InitError::Config(c) if c.var == "CLERK_WEBHOOK_SECRET_ID"),
        "{error}"
    );
    assert!(!error.to_string().contains("set-me"), "{error}");
    let error = WebhookConfig::from_env(&env("no-such-secret".into()), &sdk)
        .await
        .unwrap_err();
    assert!(matches!(error, InitError::Secret(_)), "{error}");
}
