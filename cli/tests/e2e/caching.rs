//! Authorizer caching (README "The `gatehouse` command", `--authorizer-ttl`): a revoked key keeps working while its
//! cached Allow lives and is refused after; with TTL 0 it is refused at once.

use std::time::{Duration, Instant};

use gatehouse_testkit::serve::Serve;
use serde_json::json;

use crate::common::{create_key, expect_invalid_api_key, get, me, revoke, signed_in};

/// The TTL [`revoked_key_works_until_the_ttl_ends`] runs with.
pub const TTL_SECS: u64 = 3;

/// Run with `--authorizer-ttl 3`.
pub async fn revoked_key_works_until_the_ttl_ends(serve: &Serve) {
    let session = signed_in(serve, "user_cached", "signer");
    let key = create_key(serve, &session, json!({"name": "cached"})).await;

    let first_use = Instant::now();
    me(serve, &key.key).await;
    revoke(serve, &session, &key.id).await.expect_status(200);
    let cached = get(serve, "/v1/me", &key.key).await;
    let elapsed = first_use.elapsed();
    if elapsed < Duration::from_secs(TTL_SECS) {
        // Still within the TTL of the Allow cached by the first use.
        cached.expect_status(200);
        assert_eq!(cached.body["keyId"], key.id.as_str());
    } else {
        eprintln!(
            "note: revoke and reuse took {elapsed:?}, longer than the {TTL_SECS} s TTL; \
             the cached answer could not be observed"
        );
    }

    tokio::time::sleep(Duration::from_millis(TTL_SECS * 1_000 + 500)).await;
    expect_invalid_api_key(&get(serve, "/v1/me", &key.key).await);
}

/// Run with `--authorizer-ttl 0`: the call right after the revoke is refused.
pub async fn ttl_zero_refuses_at_once(serve: &Serve) {
    let session = signed_in(serve, "user_uncached", "signer");
    let key = create_key(serve, &session, json!({"name": "uncached"})).await;
    me(serve, &key.key).await;
    me(serve, &key.key).await;
    revoke(serve, &session, &key.id).await.expect_status(200);
    expect_invalid_api_key(&get(serve, "/v1/me", &key.key).await);
}
