//! Secrets stay secret (README "Errors" and "API keys"): after a full lifecycle, no plaintext key and no
//! JWT appears anywhere in the store (a full table scan on DynamoDB Local, every byte of the state
//! folder for the embedded engine) nor in anything `serve` printed.

use std::time::{Duration, Instant};

use gatehouse_testkit::serve::Serve;
use serde_json::json;

use crate::common::{create_key, list_keys, me, me_using, post_keys, revoke, signed_in};

/// Whether `haystack` contains `needle`.
fn contains(haystack: &[u8], needle: &str) -> bool {
    let needle = needle.as_bytes();
    !needle.is_empty()
        && haystack
            .windows(needle.len())
            .any(|window| window == needle)
}

/// The pieces of a secret that must never show: the whole of it and, for a JWT, its signature; for
/// an API key, its random part (everything between the prefix and the 4-character display tail).
fn secret_pieces(secret: &str) -> Vec<String> {
    let mut pieces = vec![secret.to_owned()];
    if let Some(signature) = secret.rsplit('.').next().filter(|_| secret.contains('.')) {
        pieces.push(signature.to_owned());
    }
    if let Some(body) = secret.strip_prefix("sf_") {
        pieces.push(body[..body.len() - 4].to_owned());
    }
    pieces
}

/// A lifecycle with two users, two keys each, uses, a revoke and failures; then the store and the
/// logs are searched for every secret.
pub async fn no_secret_in_store_or_logs(serve: &Serve) {
    let alice = signed_in(serve, "user_secret_a", "admin");
    let bob = signed_in(serve, "user_secret_b", "signer");
    let a1 = create_key(serve, &alice, json!({"name": "a1"})).await;
    let a2 = create_key(serve, &alice, json!({"name": "a2", "scopes": ["read"]})).await;
    let b1 = create_key(serve, &bob, json!({"name": "b1", "expiresInDays": 7})).await;
    let b2 = create_key(serve, &bob, json!({"name": "b2"})).await;
    for key in [&a1, &a2, &b1, &b2] {
        me(serve, &key.key).await;
    }
    me_using(serve, &alice, &a2.id).await;
    revoke(serve, &alice, &a1.id).await.expect_status(200);
    revoke(serve, &bob, &b2.id).await.expect_status(200);
    list_keys(serve, &alice).await;
    list_keys(serve, &bob).await;
    // Refusals log too: a revoked key, a bad body, another user's key, a 403.
    crate::common::get(serve, "/v1/me", &b2.key).await;
    post_keys(serve, &alice, "{").await.expect_status(400);
    revoke(serve, &bob, &a2.id).await.expect_status(404);
    post_keys(serve, &a2.key, r#"{"name":"x"}"#)
        .await
        .expect_status(403);
    let expired_format = format!("{}zzzzzz", "sf_0123456789abcdefghijABCDEFGHIJ01");
    crate::common::get(serve, "/v1/me", &expired_format).await;
    crate::common::get(serve, "/v1/me", "not.a.jwt").await;

    let secrets: Vec<String> = [&a1, &a2, &b1, &b2]
        .iter()
        .map(|key| key.key.clone())
        .chain([alice.clone(), bob.clone(), expired_format.clone()])
        .collect();

    // Give lastUsedAt writes and the access log a moment to land.
    tokio::time::sleep(Duration::from_secs(2)).await;

    let dump = serve.store_dump().await;
    assert!(
        contains(&dump, "user_secret_a") && contains(&dump, &a1.id),
        "the store dump does not hold the records at all ({} bytes): the check would prove nothing",
        dump.len()
    );
    for secret in &secrets {
        for piece in secret_pieces(secret) {
            assert!(
                !contains(&dump, &piece),
                "the store holds a secret ({}…)",
                &piece[..8.min(piece.len())]
            );
        }
    }

    // The access log must have caught up with the requests above before it proves anything.
    let deadline = Instant::now() + Duration::from_secs(20);
    let logs = loop {
        let logs = serve.logs();
        if logs.matches("/v1/me").count() >= 15 || Instant::now() > deadline {
            break logs;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    // The banner's ready-to-paste command (`curl -H "Authorization: Bearer $(gatehouse token mint
    // ...)"`) is documentation, not a credential.
    let logs: String = logs
        .lines()
        .filter(|line| !line.contains("$(gatehouse token mint"))
        .map(|line| format!("{line}\n"))
        .collect();
    assert!(
        logs.contains("/v1/me/keys"),
        "no access log line for /v1/me/keys in the captured output:\n{logs}"
    );
    for secret in &secrets {
        for piece in secret_pieces(secret) {
            assert!(
                !logs.contains(&piece),
                "the logs hold a secret ({}…):\n{logs}",
                &piece[..8.min(piece.len())]
            );
        }
    }
    assert!(
        !logs.contains("Bearer "),
        "the logs hold a bearer header:\n{logs}"
    );
    assert!(
        !logs.contains("eyJ"),
        "the logs hold something like a JWT:\n{logs}"
    );
}
