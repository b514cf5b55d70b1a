//! The key lifecycle through the routes (README "API keys"): create (plaintext once), list
//! (metadata only), use, revoke (idempotent, record kept), the revoked key refused; validation
//! errors; another user's key id; scopes.

use std::time::{Duration, Instant};

use gatehouse_testkit::serve::Serve;
use serde_json::{Value, json};

use crate::common::{
    create_key, expect_invalid_api_key, get, list_keys, me, post_keys, revoke, signed_in,
};

/// The fields of a key in a list (and a revoke answer).
const LISTED_FIELDS: [&str; 8] = [
    "id",
    "name",
    "active",
    "createdAt",
    "tail",
    "scopes",
    "expiresAt",
    "lastUsedAt",
];

/// Panics unless `key` has exactly the listed metadata fields (no plaintext, no hash).
fn expect_metadata_only(key: &Value, plaintext: &str) {
    let object = key
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {key}"));
    let mut names: Vec<&str> = object.keys().map(String::as_str).collect();
    names.sort_unstable();
    let mut expected = LISTED_FIELDS.to_vec();
    expected.sort_unstable();
    assert_eq!(names, expected, "unexpected fields in {key}");
    let text = key.to_string();
    assert!(!text.contains(plaintext), "plaintext in {text}");
    assert!(!text.to_lowercase().contains("hash"), "hash in {text}");
}

/// Run with `--authorizer-ttl 0`: create, list, use, revoke twice, list, the revoked key is refused.
pub async fn key_lifecycle(serve: &Serve) {
    let session = signed_in(serve, "user_lifecycle", "signer");
    assert!(list_keys(serve, &session).await.is_empty());

    let created = create_key(serve, &session, json!({"name": "laptop"})).await;
    let body = &created.body;
    assert!(created.id.starts_with("k_"), "{body}");
    assert!(created.key.starts_with("sf_"), "{body}");
    assert!(created.key.len() >= 3 + 32 + 6, "{body}");
    assert_eq!(body["name"], "laptop");
    assert_eq!(body["active"], true);
    assert_eq!(body["scopes"], json!(["read", "write"]));
    assert_eq!(body["expiresAt"], Value::Null);
    assert_eq!(
        body["tail"].as_str().unwrap(),
        &created.key[created.key.len() - 4..]
    );
    assert!(
        body["createdAt"].as_str().is_some_and(|t| t.ends_with('Z')),
        "{body}"
    );

    let listed = list_keys(serve, &session).await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    expect_metadata_only(&listed[0], &created.key);
    assert_eq!(listed[0]["id"], created.id.as_str());
    assert_eq!(listed[0]["active"], true);
    assert_eq!(listed[0]["tail"], body["tail"]);
    assert_eq!(listed[0]["createdAt"], body["createdAt"]);

    let as_key = me(serve, &created.key).await;
    assert_eq!(as_key["userId"], "user_lifecycle");
    assert_eq!(as_key["authType"], "api_key");
    assert_eq!(as_key["role"], "signer");
    assert_eq!(as_key["keyId"], created.id.as_str());
    assert_eq!(as_key["scopes"], json!(["read", "write"]));
    assert_eq!(as_key["sessionId"], Value::Null);

    // lastUsedAt is written after the answer, off the request path: wait for it.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let listed = list_keys(serve, &session).await;
        if listed[0]["lastUsedAt"].as_str().is_some() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "lastUsedAt still null 20 s after the key was used: {listed:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    let revoked = revoke(serve, &session, &created.id).await;
    revoked.expect_status(200).expect_json_content_type();
    expect_metadata_only(&revoked.body, &created.key);
    assert_eq!(revoked.body["id"], created.id.as_str());
    assert_eq!(revoked.body["active"], false);

    let again = revoke(serve, &session, &created.id).await;
    again.expect_status(200);
    assert_eq!(again.body["id"], created.id.as_str());
    assert_eq!(again.body["active"], false);

    let listed = list_keys(serve, &session).await;
    assert_eq!(listed.len(), 1, "the revoked record is kept: {listed:?}");
    assert_eq!(listed[0]["active"], false);
    // `GET /v1/me/keys/{id}` answers the listed entry.
    let one = get(serve, &format!("/v1/me/keys/{}", created.id), &session).await;
    one.expect_status(200).expect_json_content_type();
    expect_metadata_only(&one.body, &created.key);
    assert_eq!(one.body, listed[0]);

    // TTL 0: the very next call is authorized afresh.
    expect_invalid_api_key(&get(serve, "/v1/me", &created.key).await);

    // Newest first (createdAt has whole seconds: space the keys so the order is unambiguous).
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let first = create_key(serve, &session, json!({"name": "first"})).await;
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let second = create_key(serve, &session, json!({"name": "second"})).await;
    let ids: Vec<String> = list_keys(serve, &session)
        .await
        .iter()
        .map(|k| k["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids[..2], [second.id.clone(), first.id.clone()], "{ids:?}");
    assert_eq!(ids[2], created.id.as_str());

    // An expiring key shows its expiry.
    let expiring = create_key(
        serve,
        &session,
        json!({"name": "temp", "expiresInDays": 30}),
    )
    .await;
    assert!(
        expiring.body["expiresAt"].as_str().is_some(),
        "{}",
        expiring.body
    );
}

/// Bad bodies are 400 `bad_request` saying what is wrong, and create nothing.
pub async fn bad_requests(serve: &Serve) {
    let session = signed_in(serve, "user_400", "signer");
    let long_name = "n".repeat(65);
    let cases: [(String, &str); 9] = [
        ("{".into(), "request body is not valid JSON"),
        (
            "".into(),
            "request body must be a JSON object with at least a name",
        ),
        ("[]".into(), "request body must be a JSON object"),
        ("{}".into(), "name is required"),
        (r#"{"name": 5}"#.into(), "name must be a string"),
        (
            json!({ "name": long_name }).to_string(),
            "name must be 1 to 64 printable characters",
        ),
        (
            json!({"name": "x", "scopes": ["admin"]}).to_string(),
            r#"unknown scope "admin"; expected read or write"#,
        ),
        (
            json!({"name": "x", "expiresInDays": 0}).to_string(),
            "expiresInDays must be a whole number from 1 to 3650",
        ),
        (
            json!({"name": "x", "colour": "red"}).to_string(),
            r#"unknown field "colour"; expected name, scopes, expiresInDays"#,
        ),
    ];
    for (body, message) in &cases {
        post_keys(serve, &session, body)
            .await
            .expect_error(400, "bad_request", message);
    }
    assert!(list_keys(serve, &session).await.is_empty());

    // The limits themselves are fine.
    let name = "n".repeat(64);
    let created = create_key(
        serve,
        &session,
        json!({"name": name, "scopes": ["write"], "expiresInDays": 3650}),
    )
    .await;
    assert_eq!(created.body["name"], name.as_str());
    assert_eq!(created.body["scopes"], json!(["write"]));
}

/// User B can neither see nor revoke user A's key (404, as for a key that does not exist); A's key
/// keeps working.
pub async fn foreign_key_id_is_not_found(serve: &Serve) {
    let alice = signed_in(serve, "user_alice", "signer");
    let bob = signed_in(serve, "user_bob", "admin");
    let key = create_key(serve, &alice, json!({"name": "alice's"})).await;

    revoke(serve, &bob, &key.id)
        .await
        .expect_error(404, "not_found", "api key not found");
    get(serve, &format!("/v1/me/keys/{}", key.id), &bob)
        .await
        .expect_error(404, "not_found", "api key not found");
    revoke(serve, &bob, "k_doesnotexist0000000000")
        .await
        .expect_error(404, "not_found", "api key not found");
    revoke(serve, &alice, "not-a-key-id")
        .await
        .expect_error(404, "not_found", "api key not found");
    assert!(list_keys(serve, &bob).await.is_empty());

    let body = me(serve, &key.key).await;
    assert_eq!(body["userId"], "user_alice");
    assert_eq!(body["keyId"], key.id.as_str());
    let listed = list_keys(serve, &alice).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["active"], true);
}

/// A key created with `["read"]` acts with the read scope only.
pub async fn scoped_key(serve: &Serve) {
    let session = signed_in(serve, "user_scopes", "manager");
    let read = create_key(
        serve,
        &session,
        json!({"name": "reader", "scopes": ["read"]}),
    )
    .await;
    assert_eq!(read.body["scopes"], json!(["read"]));
    let body = me(serve, &read.key).await;
    assert_eq!(body["scopes"], json!(["read"]));
    assert_eq!(body["keyId"], read.id.as_str());
    assert_eq!(body["role"], "manager");

    let both = create_key(
        serve,
        &session,
        json!({"name": "both", "scopes": ["write", "read"]}),
    )
    .await;
    assert_eq!(both.body["scopes"], json!(["read", "write"]));
    assert_eq!(
        me(serve, &both.key).await["scopes"],
        json!(["read", "write"])
    );
}
