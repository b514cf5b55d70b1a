//! Every 401 and 403 of README "Errors", as a client sees them: status, JSON body with the exact
//! message and code, `Content-Type: application/json`, and `WWW-Authenticate: Bearer` on 401s.

use std::time::{Duration, Instant};

use gatehouse_testkit::serve::Serve;
use reqwest::Method;
use serde_json::json;

use crate::common::{
    GatewayAnswer, create_key, expect_invalid_api_key, get, me, post_keys, request, revoke, send,
    signed_in,
};

/// The `--ttl-secs` of the token that must be expired, and how long after minting it is used:
/// past `exp` plus the 5 s clock skew, with a margin for whole-second clocks.
const EXPIRING_TTL_SECS: u64 = 1;
const EXPIRED_AFTER: Duration = Duration::from_millis(7_500);

/// Sends `GET /v1/me` with this raw `Authorization` header value.
async fn me_with_header(serve: &Serve, value: &str) -> crate::common::Reply {
    send(
        serve
            .client()
            .get(serve.url("/v1/me"))
            .header("Authorization", value),
    )
    .await
}

/// No header, a non-Bearer scheme, an empty token, a garbage JWT, an expired JWT, a malformed or
/// unknown API key, and suspended users (by session and by API key).
pub async fn every_401(serve: &Serve) {
    serve.users_put("user_expiring", "signer", &[]);
    let expiring = serve.mint_with_ttl("user_expiring", EXPIRING_TTL_SECS);
    let minted_at = Instant::now();

    // No Authorization header: the gateway answers without invoking the authorizer.
    // On an HTTP API that answer is API Gateway's own 401 `{"message":"Unauthorized"}` (README, "REST
    // API or HTTP API"): the one difference between the two API types' 401s.
    let missing = send(request(serve, Method::GET, "/v1/me", None)).await;
    missing.expect_gateway(serve, GatewayAnswer::MissingAuthorization);
    send(request(serve, Method::POST, "/v1/me/keys", None))
        .await
        .expect_gateway(serve, GatewayAnswer::MissingAuthorization);

    for value in ["Basic x", "Basic Zm9vOmJhcg==", "Token abc", "Bearerabc"] {
        me_with_header(serve, value).await.expect_error(
            401,
            "malformed_authorization",
            "missing or malformed Authorization header",
        );
    }

    // Trailing white space never reaches the server (HTTP trims field values), so both arrive as
    // `Bearer`.
    for value in ["Bearer", "Bearer    ", "bearer "] {
        me_with_header(serve, value)
            .await
            .expect_error(401, "empty_token", "empty bearer token");
    }

    for token in [
        "garbage",
        "not.a.jwt",
        "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.",
        "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ4In0.c2ln",
    ] {
        get(serve, "/v1/me", token)
            .await
            .expect_error(401, "invalid_token", "invalid token");
    }

    // API keys: bad checksum, too short, well-formed but unknown.
    let bad_checksum = format!("sf_{}{}", "A".repeat(32), "zzzzzz");
    let unknown = gatehouse::apikey::generate(&gatehouse::apikey::ApiKeyPrefix::default_prefix())
        .unwrap()
        .reveal()
        .to_owned();
    for key in [bad_checksum.as_str(), "sf_abc", unknown.as_str()] {
        expect_invalid_api_key(&get(serve, "/v1/me", key).await);
    }

    // Suspended: by session...
    serve.users_put("user_suspended", "signer", &["--suspended"]);
    let suspended = serve.mint("user_suspended");
    get(serve, "/v1/me", &suspended).await.expect_error(
        401,
        "account_suspended",
        "account suspended",
    );
    // ...and by an API key created before the suspension.
    let session = signed_in(serve, "user_suspended_later", "manager");
    let key = create_key(serve, &session, json!({"name": "before"})).await;
    serve.users_put("user_suspended_later", "manager", &["--suspended"]);
    get(serve, "/v1/me", &key.key).await.expect_error(
        401,
        "account_suspended",
        "account suspended",
    );
    let fresh_session = serve.mint("user_suspended_later");
    get(serve, "/v1/me", &fresh_session).await.expect_error(
        401,
        "account_suspended",
        "account suspended",
    );

    // Expired: signature valid, exp (+ skew) passed.
    if let Some(rest) = EXPIRED_AFTER.checked_sub(minted_at.elapsed()) {
        tokio::time::sleep(rest).await;
    }
    get(serve, "/v1/me", &expiring).await.expect_error(
        401,
        "token_expired",
        "invalid token: expired",
    );
}

/// The scheme is case-insensitive and several spaces may separate it from the token; a user without
/// a record is signed in with role `none`.
pub async fn bearer_syntax_and_unknown_user(serve: &Serve) {
    let token = signed_in(serve, "user_syntax", "admin");
    for value in [
        format!("bearer {token}"),
        format!("BEARER {token}"),
        format!("Bearer    {token}"),
        format!("  Bearer {token}  "),
    ] {
        let reply = me_with_header(serve, &value).await;
        reply.expect_status(200);
        assert_eq!(reply.body["userId"], "user_syntax");
        assert_eq!(reply.body["role"], "admin");
    }

    let nobody = serve.mint("user_without_record");
    let body = me(serve, &nobody).await;
    assert_eq!(body["userId"], "user_without_record");
    assert_eq!(body["role"], "none");
    assert_eq!(body["authType"], "session");
}

/// The key routes refuse API-key callers with 403 `signed_in_user_required`.
pub async fn api_key_callers_get_403_on_key_routes(serve: &Serve) {
    let session = signed_in(serve, "user_403", "admin");
    let key = create_key(serve, &session, json!({"name": "robot"})).await;

    let expect_403 = |reply: crate::common::Reply| {
        reply.expect_error(
            403,
            "signed_in_user_required",
            "this endpoint requires a signed-in user",
        );
    };
    expect_403(post_keys(serve, &key.key, r#"{"name":"from a key"}"#).await);
    expect_403(get(serve, "/v1/me/keys", &key.key).await);
    expect_403(get(serve, &format!("/v1/me/keys/{}", key.id), &key.key).await);
    expect_403(revoke(serve, &key.key, &key.id).await);

    // Nothing happened: one key, still active, and it still works.
    let body = me(serve, &key.key).await;
    assert_eq!(body["keyId"], key.id.as_str());
    let keys = crate::common::list_keys(serve, &session).await;
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert_eq!(keys[0]["active"], true);
}
