//! OAuth access tokens on the REST routes (README, "OAuth access tokens and MCP"), through `serve`:
//! minted by `gatehouse token mint --oauth` exactly as Clerk shapes them, bound to the API's URL
//! (`aud`), mapped to Gatehouse's scopes, acting as the user's default key, refused on the key routes,
//! and refused outright for a foreign or missing audience.

use std::time::Duration;

use gatehouse_testkit::serve::Serve;
use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{create_key, get, me, request, send, signed_in};

/// An OAuth access token for `user` from `client`, with `scope`, for `aud` (`None`: no `aud`).
fn oauth_token(serve: &Serve, user: &str, scope: &str, aud: Option<&str>) -> String {
    let mut args = vec![
        "token",
        "mint",
        "--oauth",
        "--client-id",
        "client_partner",
        "--scope",
        scope,
        "--sub",
        user,
    ];
    if let Some(aud) = aud {
        args.extend(["--aud", aud]);
    }
    serve.cli_ok(&args).trim().to_owned()
}

/// An OAuth caller acts with the user's role, as the user's default key, narrowed by the token's
/// scopes; the key routes refuse it; the audience must name this API.
pub async fn oauth_tokens_on_the_routes(serve: &Serve) {
    let user = "user_oauth";
    let session = signed_in(serve, user, "manager");
    let base = serve.base_url().to_owned();
    let mcp = format!("{base}/mcp");

    // No key yet: the token's own scopes; the caller is visible as an OAuth client.
    let read_write = oauth_token(serve, user, "read write", Some(&base));
    let body = me(serve, &read_write).await;
    assert_eq!(body["authType"], "oauth", "{body}");
    assert_eq!(body["clientId"], "client_partner", "{body}");
    assert_eq!(body["role"], "manager", "{body}");
    assert_eq!(body["keyId"], Value::Null, "{body}");
    assert_eq!(body["scopes"], json!(["read", "write"]), "{body}");
    assert_eq!(body["sessionId"], Value::Null, "{body}");

    // With keys: the oldest active one is the default; its scopes narrow the token's.
    let oldest = create_key(serve, &session, json!({"name": "ro", "scopes": ["read"]})).await;
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let newer = create_key(serve, &session, json!({"name": "rw"})).await;
    let body = me(serve, &read_write).await;
    assert_eq!(body["keyId"], json!(oldest.id), "{body}");
    assert_eq!(body["scopes"], json!(["read"]), "{body}");
    // X-Use-Api-Key does not move an OAuth caller off its default key.
    let reply = send(
        request(serve, Method::GET, "/v1/me", Some(&read_write)).header("X-Use-Api-Key", &newer.id),
    )
    .await;
    reply.expect_status(200);
    assert_eq!(reply.body["keyId"], json!(oldest.id), "{}", reply.text);

    // The token's scopes narrow too: a read-only token cannot write, whatever the key.
    let mcp_read = oauth_token(serve, user, "read", Some(&mcp));
    let body = me(serve, &mcp_read).await;
    assert_eq!(body["scopes"], json!(["read"]), "{body}");
    send(
        request(
            serve,
            Method::POST,
            "/v1/signing/manager/signings",
            Some(&mcp_read),
        )
        .header("Content-Type", "application/json")
        .body(r#"{"locationId":"loc_x","title":"t","signerUserIds":["u"],"documents":[{"name":"a.pdf"}]}"#),
    )
    .await
    .expect_error(
        403,
        "insufficient_scope",
        "this api key does not have the write scope",
    );
    // Scopes the map does not know grant nothing.
    let profile_only = oauth_token(serve, user, "profile email", Some(&base));
    get(serve, "/v1/organizations", &profile_only)
        .await
        .expect_error(
            403,
            "insufficient_scope",
            "this api key does not have the read scope",
        );

    // Key management is for signed-in users only.
    for (method, path) in [
        (Method::GET, "/v1/me/keys".to_owned()),
        (Method::GET, format!("/v1/me/keys/{}", oldest.id)),
        (Method::DELETE, format!("/v1/me/keys/{}", oldest.id)),
        (Method::POST, "/v1/me/keys".to_owned()),
    ] {
        send(
            request(serve, method.clone(), &path, Some(&read_write))
                .header("Content-Type", "application/json")
                .body(r#"{"name":"x"}"#),
        )
        .await
        .expect_error(
            403,
            "signed_in_user_required",
            "this endpoint requires a signed-in user",
        );
    }

    // The audience binds the token to this API.
    for (what, token) in [
        (
            "another resource",
            oauth_token(serve, user, "read", Some("https://api.example.com")),
        ),
        (
            "this host, another path",
            oauth_token(serve, user, "read", Some(&format!("{base}/other"))),
        ),
        ("no aud", oauth_token(serve, user, "read", None)),
    ] {
        let reply = get(serve, "/v1/me", &token).await;
        assert_eq!(reply.status, 401, "{what}: {}", reply.text);
        assert_eq!(
            reply.body["code"], "invalid_token",
            "{what}: {}",
            reply.text
        );
    }
}
