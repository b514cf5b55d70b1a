//! `X-Use-Api-Key` (README "API keys"): a session request is scoped to the named key when it is the
//! caller's and active, otherwise to the caller's oldest active key, silently; an API-key bearer
//! ignores the header. Resolved per request, so the authorizer cache (default TTL here) never makes
//! it stale.

use std::time::Duration;

use gatehouse_testkit::serve::Serve;
use serde_json::{Value, json};

use crate::common::{create_key, me, me_using, revoke, signed_in};

/// Every rule of the header, with the same session token throughout (so most answers come through a
/// cached authorizer result).
pub async fn use_api_key_header(serve: &Serve) {
    let session = signed_in(serve, "user_scoped", "signer");
    let other = signed_in(serve, "user_other", "signer");

    // No key yet: nothing to scope to.
    let body = me(serve, &session).await;
    assert_eq!(body["keyId"], Value::Null, "{body}");
    assert_eq!(body["authType"], "session");
    assert!(
        body["sessionId"].as_str().is_some_and(|s| !s.is_empty()),
        "{body}"
    );

    // createdAt has whole seconds: space the keys so "oldest" is unambiguous.
    let oldest = create_key(
        serve,
        &session,
        json!({"name": "oldest", "scopes": ["read"]}),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let newer = create_key(serve, &session, json!({"name": "newer"})).await;
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let doomed = create_key(serve, &session, json!({"name": "doomed"})).await;
    revoke(serve, &session, &doomed.id).await.expect_status(200);
    let foreign = create_key(serve, &other, json!({"name": "someone else's"})).await;

    let key_id = |body: &Value| body["keyId"].as_str().map(str::to_owned);

    assert_eq!(
        key_id(&me(serve, &session).await),
        Some(oldest.id.clone()),
        "no header: oldest"
    );
    let named = me_using(serve, &session, &newer.id).await;
    assert_eq!(key_id(&named), Some(newer.id.clone()), "named: {named}");
    assert_eq!(named["authType"], "session");
    // Naming a key acts with its scopes; the silent default only attributes the request.
    assert_eq!(named["scopes"], json!(["read", "write"]), "{named}");
    assert_eq!(
        me_using(serve, &session, &oldest.id).await["scopes"],
        json!(["read"]),
        "named read-only key"
    );
    assert_eq!(
        me(serve, &session).await["scopes"],
        json!(["read", "write"]),
        "default (oldest, read-only) key: attribution only"
    );
    assert_eq!(
        key_id(&me_using(serve, &session, &oldest.id).await),
        Some(oldest.id.clone())
    );
    for (what, header) in [
        ("foreign id", foreign.id.as_str()),
        ("revoked id", doomed.id.as_str()),
        ("garbage", "garbage"),
        ("unknown id", "k_doesnotexist0000000000"),
        ("not an id", "k_<script>"),
        ("empty", " "),
    ] {
        assert_eq!(
            key_id(&me_using(serve, &session, header).await),
            Some(oldest.id.clone()),
            "{what}: falls back to the oldest"
        );
    }

    // An API-key bearer is scoped to itself, whatever the header says.
    let as_newer = me_using(serve, &newer.key, &oldest.id).await;
    assert_eq!(key_id(&as_newer), Some(newer.id.clone()), "{as_newer}");
    assert_eq!(as_newer["authType"], "api_key");
    let as_foreign = me_using(serve, &foreign.key, &newer.id).await;
    assert_eq!(
        key_id(&as_foreign),
        Some(foreign.id.clone()),
        "{as_foreign}"
    );
    assert_eq!(as_foreign["userId"], "user_other");

    // Revoking the oldest moves the default to the next one, at once (cached token or not).
    revoke(serve, &session, &oldest.id).await.expect_status(200);
    assert_eq!(key_id(&me(serve, &session).await), Some(newer.id.clone()));
    assert_eq!(
        key_id(&me_using(serve, &session, &oldest.id).await),
        Some(newer.id.clone())
    );
    revoke(serve, &session, &newer.id).await.expect_status(200);
    assert_eq!(me(serve, &session).await["keyId"], Value::Null);
}
