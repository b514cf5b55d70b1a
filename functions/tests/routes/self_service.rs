//! `/health`, `/v1/me` and `/v1/me/keys`.

use gatehouse::routes::Route;
use gatehouse_testkit::samples::{self, invoke_route};
use serde_json::json;

use crate::{NOW, both_formats, sample, service, with_context};

#[tokio::test]
async fn health_answers_ok_json() {
    let answer = sample(Route::Health, "health.json").await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.headers["content-type"], "application/json");
    assert_eq!(answer.body, json!({"status": "ok"}));
}

#[tokio::test]
async fn me_shows_the_session_and_its_key() {
    let answer = sample(Route::Me, "me-session.json").await;
    assert_eq!(answer.status, 200);
    let body = &answer.body;
    assert_eq!(body["userId"], "user_dev_admin");
    assert_eq!(body["authType"], "session");
    assert_eq!(body["role"], "admin");
    assert_eq!(body["keyId"], "k_sample");
    assert_eq!(body["scopes"], json!(["read", "write"]));
    assert_eq!(body["sessionId"], "sess_dev_demo");

    let answer = sample(Route::Me, "me-api-key.json").await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body["authType"], "api_key");
    assert_eq!(answer.body["keyId"], "k_sample");
    assert_eq!(answer.body["sessionId"], serde_json::Value::Null);
}

/// An authorizer answer the gateway cached outlives the credential: the route refuses the caller
/// from `expiresAt` on, with the 401 the authorizer would give.
#[tokio::test]
async fn an_expired_credential_is_refused_although_the_authorizer_allowed_it() {
    let service = service().await;
    for (file, code, message) in [
        ("me-session.json", "token_expired", "invalid token: expired"),
        ("me-api-key.json", "invalid_api_key", "invalid api key"),
    ] {
        for (expires_at, expected) in [(NOW + 1, 200), (NOW, 401), (NOW - 3600, 401)] {
            let event = with_context(
                samples::load_event(file),
                "expiresAt",
                &expires_at.to_string(),
            );
            let answer = both_formats(Route::Me, &service, &event, true).await;
            assert_eq!(
                answer.status, expected,
                "{file} {expires_at}: {}",
                answer.body
            );
            if expected == 401 {
                assert_eq!(answer.body["code"], code);
                assert_eq!(answer.body["error"], message);
                assert_eq!(answer.headers["www-authenticate"], "Bearer");
            }
        }
    }
}

#[tokio::test]
async fn a_session_creates_a_key_and_sees_the_plaintext_once() {
    let service = service().await;
    let event = samples::load_event("create-key.json");
    let answer = both_formats(Route::CreateKey, &service, &event, false).await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    let body = &answer.body;
    let key = body["key"].as_str().unwrap();
    assert!(key.starts_with("sf_"));
    assert!(body["id"].as_str().unwrap().starts_with("k_"));
    assert_eq!(body["name"], "ci deploy");
    assert_eq!(body["active"], true);
    assert_eq!(body["scopes"], json!(["read"]));
    assert_eq!(body["tail"], &key[key.len() - 4..]);
    assert_eq!(
        body["expiresAt"],
        gatehouse::time::rfc3339(NOW + 30 * 86_400)
    );
    assert_eq!(body["createdAt"], gatehouse::time::rfc3339(NOW));
}

#[tokio::test]
async fn an_api_key_caller_may_not_create_keys() {
    let answer = sample(Route::CreateKey, "create-key-with-api-key.json").await;
    assert_eq!(answer.status, 403);
    assert_eq!(answer.body["code"], "signed_in_user_required");
    assert_eq!(
        answer.body["error"],
        "this endpoint requires a signed-in user"
    );
}

#[tokio::test]
async fn listing_keys_shows_metadata_only() {
    let answer = sample(Route::ListKeys, "list-keys.json").await;
    assert_eq!(answer.status, 200);
    let keys = answer.body["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    let fields: Vec<&str> = keys[0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        fields,
        [
            "active",
            "createdAt",
            "expiresAt",
            "id",
            "lastUsedAt",
            "name",
            "scopes",
            "tail"
        ]
    );
    assert_eq!(keys[0]["id"], "k_sample");
}

#[tokio::test]
async fn revoking_twice_is_harmless_and_another_users_key_is_not_found() {
    let service = service().await;
    let event = samples::load_event("revoke-key.json");
    for _ in 0..2 {
        let answer = both_formats(Route::RevokeKey, &service, &event, true).await;
        assert_eq!(answer.status, 200);
        assert_eq!(answer.body["id"], "k_sample");
        assert_eq!(answer.body["active"], false);
    }
    let other = with_context(event, "userId", "user_other");
    let answer = invoke_route(Route::RevokeKey, &service, &other).await;
    assert_eq!(answer.status, 404);
    assert_eq!(answer.body["code"], "not_found");
    assert_eq!(answer.body["error"], "api key not found");
}

#[tokio::test]
async fn one_key_by_id_and_another_users_key_is_not_found() {
    let service = service().await;
    let event = samples::load_event("get-key.json");
    let answer = both_formats(Route::GetKey, &service, &event, true).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body["id"], "k_sample");
    assert_eq!(answer.body["active"], true);
    assert!(answer.body.get("key").is_none(), "never the plaintext");
    for (who, id) in [("user_other", "k_sample"), ("user_dev_admin", "k_missing1")] {
        let mut event = with_context(event.clone(), "userId", who);
        event["pathParameters"]["id"] = json!(id);
        let answer = both_formats(Route::GetKey, &service, &event, true).await;
        assert_eq!(answer.status, 404, "{who} {id}");
        assert_eq!(answer.body["code"], "not_found");
        assert_eq!(answer.body["error"], "api key not found");
    }
}
