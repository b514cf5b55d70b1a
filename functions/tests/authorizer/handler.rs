//! Every outcome of README "Errors" and "Authorizer output" that the authorizer produces, through the same handler the
//! Lambda binary runs, against DynamoDB Local: Allow with context, Deny with `error`/`code`, and a
//! function error (never an Allow) when a dependency fails.
use std::io::Write;
use std::sync::{Arc, Mutex};

use crate::common::*;
use gatehouse::clock::FixedClock;
use gatehouse::principal::{Role, Scopes};
use gatehouse::store::dynamo::DynamoStore;
use gatehouse::store::{AuthStore as _, KeyStore as _};
use gatehouse_testkit::servers::{dynamodb_endpoint, fresh_store, sdk_config};
use gatehouse_testkit::tokens::{DEV_ISSUER, dev_key, key_b, session_claims, session_header};

async fn setup() -> Option<(Authorizer, DynamoStore)> {
    let endpoint = dynamodb_endpoint()?;
    let store = fresh_store(&endpoint).await;
    Some((
        authorizer_on(store.clone(), Arc::new(FixedClock::at(NOW))),
        store,
    ))
}

type Authorizer = gatehouse::authorizer::Authorizer<DynamoStore>;

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

#[tokio::test]
async fn session_with_user_record_is_allowed_with_role_and_memberships() {
    let Some((authorizer, store)) = setup().await else {
        return;
    };
    store
        .put_user(&user("user_admin", Role::Admin, false))
        .await
        .unwrap();
    let token = dev_key().session_token("user_admin", NOW);
    let response = function_handler(&authorizer, event(Some(&bearer(&token))))
        .await
        .unwrap();
    let context = assert_allow(&response, "user_admin");
    assert_eq!(context["userId"], "user_admin");
    assert_eq!(context["authType"], "session");
    assert_eq!(context["role"], "admin");
    assert_eq!(context["keyId"], "");
    assert_eq!(context["scopes"], "read,write");
    assert_eq!(context["sessionId"], "sess_test123");
    assert_eq!(context["organizationIds"], "org_1");
    assert_eq!(context["companyIds"], "co_1");
    assert_eq!(context["locationIds"], "loc_1,loc_2");
    // The instant the token stops being valid: its exp (NOW + 60) plus the 5 s clock skew.
    assert_eq!(context["expiresAt"], (NOW + 65).to_string().as_str());
}

#[tokio::test]
async fn session_without_user_record_has_role_none() {
    let Some((authorizer, _store)) = setup().await else {
        return;
    };
    let token = dev_key().session_token("user_new", NOW);
    let response = function_handler(&authorizer, event(Some(&bearer(&token))))
        .await
        .unwrap();
    let context = assert_allow(&response, "user_new");
    assert_eq!(context["role"], "none");
    assert_eq!(context["organizationIds"], "");
}

#[tokio::test]
async fn api_key_is_allowed_with_owner_role_and_key_scopes() {
    let Some((authorizer, store)) = setup().await else {
        return;
    };
    store
        .put_user(&user("user_mgr", Role::Manager, false))
        .await
        .unwrap();
    let (key, key_id) = add_key(
        &store,
        "user_mgr",
        true,
        Some(NOW + 3600),
        Scopes {
            read: true,
            write: false,
        },
    )
    .await;
    let response = function_handler(&authorizer, event(Some(&bearer(&key))))
        .await
        .unwrap();
    let context = assert_allow(&response, "user_mgr");
    assert_eq!(context["authType"], "api_key");
    assert_eq!(context["role"], "manager");
    assert_eq!(context["keyId"], key_id.as_str());
    assert_eq!(context["scopes"], "read");
    assert_eq!(context["sessionId"], "");
    assert_eq!(context["expiresAt"], (NOW + 3600).to_string().as_str());
}

#[tokio::test]
async fn api_key_whose_owner_has_no_record_has_role_none() {
    let Some((authorizer, store)) = setup().await else {
        return;
    };
    let (key, _) = add_key(&store, "user_ghost", true, None, Scopes::ALL).await;
    let response = function_handler(&authorizer, event(Some(&bearer(&key))))
        .await
        .unwrap();
    let context = assert_allow(&response, "user_ghost");
    assert_eq!(context["role"], "none");
    // A key that never expires: present, empty.
    assert_eq!(context["expiresAt"], "");
}

#[tokio::test]
async fn missing_header_is_missing_authorization() {
    let Some((authorizer, _)) = setup().await else {
        return;
    };
    let response = function_handler(&authorizer, event(None)).await.unwrap();
    assert_deny(&response, "missing_authorization");
}

#[tokio::test]
async fn non_bearer_header_is_malformed_authorization() {
    let Some((authorizer, _)) = setup().await else {
        return;
    };
    let response = function_handler(&authorizer, event(Some("Basic dXNlcjpwYXNz")))
        .await
        .unwrap();
    assert_deny(&response, "malformed_authorization");
}

#[tokio::test]
async fn bearer_without_token_is_empty_token() {
    let Some((authorizer, _)) = setup().await else {
        return;
    };
    let response = function_handler(&authorizer, event(Some("Bearer   ")))
        .await
        .unwrap();
    assert_deny(&response, "empty_token");
}

#[tokio::test]
async fn unknown_api_key_is_invalid_api_key() {
    let Some((authorizer, _)) = setup().await else {
        return;
    };
    let key =
        gatehouse::apikey::generate(&gatehouse::apikey::ApiKeyPrefix::default_prefix()).unwrap();
    let response = function_handler(&authorizer, event(Some(&bearer(key.reveal()))))
        .await
        .unwrap();
    assert_deny(&response, "invalid_api_key");
}

#[tokio::test]
async fn revoked_api_key_is_invalid_api_key() {
    let Some((authorizer, store)) = setup().await else {
        return;
    };
    let (key, _) = add_key(&store, "user_a", false, None, Scopes::ALL).await;
    let response = function_handler(&authorizer, event(Some(&bearer(&key))))
        .await
        .unwrap();
    assert_deny(&response, "invalid_api_key");
}

#[tokio::test]
async fn expired_api_key_is_invalid_api_key() {
    let Some((authorizer, store)) = setup().await else {
        return;
    };
    let (key, _) = add_key(&store, "user_a", true, Some(NOW), Scopes::ALL).await;
    let response = function_handler(&authorizer, event(Some(&bearer(&key))))
        .await
        .unwrap();
    assert_deny(&response, "invalid_api_key");
}

#[tokio::test]
async fn api_key_failing_its_checksum_is_invalid_api_key() {
    let Some((authorizer, store)) = setup().await else {
        return;
    };
    let (key, _) = add_key(&store, "user_a", true, None, Scopes::ALL).await;
    let mut altered = key.into_bytes();
    let last = altered.len() - 1;
    altered[last] = if altered[last] == b'0' { b'1' } else { b'0' };
    let response = function_handler(
        &authorizer,
        event(Some(&bearer(&String::from_utf8(altered).unwrap()))),
    )
    .await
    .unwrap();
    assert_deny(&response, "invalid_api_key");
}

#[tokio::test]
async fn expired_session_is_token_expired() {
    let Some((authorizer, _)) = setup().await else {
        return;
    };
    let token = dev_key().session_token("user_a", NOW - 3600);
    let response = function_handler(&authorizer, event(Some(&bearer(&token))))
        .await
        .unwrap();
    assert_deny(&response, "token_expired");
}

#[tokio::test]
async fn badly_signed_session_is_invalid_token() {
    let Some((authorizer, _)) = setup().await else {
        return;
    };
    let token = key_b().mint(
        &session_header("dev-signing-key"),
        &session_claims(DEV_ISSUER, "user_a", NOW),
    );
    let response = function_handler(&authorizer, event(Some(&bearer(&token))))
        .await
        .unwrap();
    assert_deny(&response, "invalid_token");
    let response = function_handler(&authorizer, event(Some("Bearer not.a.jwt")))
        .await
        .unwrap();
    assert_deny(&response, "invalid_token");
}

#[tokio::test]
async fn suspended_user_is_account_suspended_for_sessions_and_keys() {
    let Some((authorizer, store)) = setup().await else {
        return;
    };
    store
        .put_user(&user("user_susp", Role::Manager, true))
        .await
        .unwrap();
    let token = dev_key().session_token("user_susp", NOW);
    let response = function_handler(&authorizer, event(Some(&bearer(&token))))
        .await
        .unwrap();
    assert_deny(&response, "account_suspended");
    let (key, _) = add_key(&store, "user_susp", true, None, Scopes::ALL).await;
    let response = function_handler(&authorizer, event(Some(&bearer(&key))))
        .await
        .unwrap();
    assert_deny(&response, "account_suspended");
}

#[tokio::test]
async fn unreachable_store_is_a_function_error_never_an_allow() {
    if dynamodb_endpoint().is_none() {
        return;
    }
    let closed_port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let sdk = sdk_config(&format!("http://127.0.0.1:{closed_port}")).await;
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), "unreachable");
    let authorizer = authorizer_on(store, Arc::new(FixedClock::at(NOW)));
    let token = dev_key().session_token("user_a", NOW);
    let key =
        gatehouse::apikey::generate(&gatehouse::apikey::ApiKeyPrefix::default_prefix()).unwrap();
    for header in [bearer(&token), bearer(key.reveal())] {
        let error = function_handler(&authorizer, event(Some(&header)))
            .await
            .unwrap_err();
        // "Unauthorized" would make API Gateway answer 401 and cache nothing useful; any other message is
        // AUTHORIZER_FAILURE (500).
        assert_ne!(error.error_message, "Unauthorized");
        assert!(
            error.error_message.contains("store unavailable"),
            "{}",
            error.error_message
        );
    }
    // Rejections that need no store still answer.
    let response = function_handler(&authorizer, event(None)).await.unwrap();
    assert_deny(&response, "missing_authorization");
}

#[tokio::test]
async fn event_without_method_arn_is_a_function_error() {
    let Some((authorizer, _)) = setup().await else {
        return;
    };
    let mut lambda_event = event(Some("Bearer x"));
    lambda_event
        .payload
        .as_object_mut()
        .unwrap()
        .remove("methodArn");
    assert!(function_handler(&authorizer, lambda_event).await.is_err());
    let mut lambda_event = event(Some("Bearer x"));
    lambda_event.payload["methodArn"] = "arn:aws:s3:::bucket".into();
    assert!(function_handler(&authorizer, lambda_event).await.is_err());
}

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn decision_logs_are_json_with_ids_and_never_secrets() {
    let Some((authorizer, store)) = setup().await else {
        return;
    };
    store
        .put_user(&user("user_log", Role::Signer, false))
        .await
        .unwrap();
    let (key, key_id) = add_key(&store, "user_log", true, None, Scopes::ALL).await;
    let token = dev_key().session_token("user_log", NOW);
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    for header in [
        bearer(&token),
        bearer(&key),
        "Basic secret-basic-credential".to_owned(),
    ] {
        function_handler(&authorizer, event(Some(&header)))
            .await
            .unwrap();
    }
    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert_eq!(lines[0]["outcome"], "allow");
    assert_eq!(lines[0]["auth_type"], "session");
    assert_eq!(lines[0]["user_id"], "user_log");
    assert_eq!(lines[0]["kid"], "dev-signing-key");
    assert!(lines[0]["duration_us"].is_u64());
    assert_eq!(lines[1]["auth_type"], "api_key");
    assert_eq!(lines[1]["key_id"], key_id.as_str());
    assert_eq!(lines[2]["outcome"], "malformed_authorization");
    for secret in [
        token.as_str(),
        key.as_str(),
        "secret-basic-credential",
        &token[..20],
        &key[3..20],
    ] {
        assert!(!text.contains(secret), "log leaks {secret}");
    }
}

#[tokio::test]
async fn api_key_use_sets_last_used_at_in_the_background_at_most_once_per_interval() {
    let endpoint = match dynamodb_endpoint() {
        Some(endpoint) => endpoint,
        None => return,
    };
    let store = fresh_store(&endpoint).await;
    let clock = Arc::new(FixedClock::at(NOW));
    let authorizer = authorizer_on(store.clone(), Arc::clone(&clock));
    let (key, key_id) = add_key(&store, "user_key", true, None, Scopes::ALL).await;
    let hash = gatehouse::apikey::Pepper::new(PEPPER).unwrap().hash(&key);
    let last_used = || async {
        store
            .api_key_by_hash(&hash)
            .await
            .unwrap()
            .unwrap()
            .last_used_at
    };
    let allow = || async {
        let response = function_handler(&authorizer, event(Some(&bearer(&key))))
            .await
            .unwrap();
        assert_allow(&response, "user_key");
    };
    allow().await;
    // The write is spawned, not awaited by the decision: wait for it to land.
    let mut seen = None;
    for _ in 0..100 {
        seen = last_used().await;
        if seen.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(seen, Some(NOW), "key {key_id}");
    // Within the interval nothing more is written, by this container or (through the record) any.
    clock.set(NOW + 60);
    allow().await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(last_used().await, Some(NOW));
    // After it, the next use moves it.
    clock.set(NOW + gatehouse::store::LAST_USED_INTERVAL_SECS + 1);
    allow().await;
    let mut moved = false;
    for _ in 0..100 {
        if last_used().await == Some(NOW + gatehouse::store::LAST_USED_INTERVAL_SECS + 1) {
            moved = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(moved);
}
