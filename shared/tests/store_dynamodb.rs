#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! Store conformance against DynamoDB Local (AWS's own engine, reached by the real AWS SDK over HTTP).
//!
//! The unit tests in `store/dynamo.rs` only round-trip items through the mapping functions in memory.
//! This file proves what they cannot: that the items, keys, condition expression, table schema and
//! `gsi1` index are accepted by a real DynamoDB engine, that nothing the table holds is a plaintext API
//! key, that a corrupt item or an unreachable store is an error (never a decision), and that the API-key
//! decisions of contract section 6 come out right end to end through `Authorizer::decide`.
//!
//! Every test that needs DynamoDB Local starts with `let Some(endpoint) = dynamodb_endpoint() else
//! { return };` and works on its own fresh table, so the tests run in parallel. The tests that point a
//! store at a closed loopback port need no server at all.

use std::sync::Arc;

use aws_sdk_dynamodb::types::AttributeValue;
use gatehouse::apikey::{self, ApiKeyPrefix, Pepper};
use gatehouse::authorizer::{Authorizer, Decision, DecisionFacts, Parts, http_client};
use gatehouse::clock::FixedClock;
use gatehouse::error::{Rejection, Unavailable};
use gatehouse::jwt::VerifierSettings;
use gatehouse::keys::{IssuerKeys, KeyCacheOptions, KeySource};
use gatehouse::principal::{AuthType, Memberships, Principal, Role, Scopes};
use gatehouse::store::dynamo::{DynamoStore, GSI1, api_key_item, user_item};
use gatehouse::store::{ApiKeyRecord, AuthStore, StoreError, UserRecord};
use gatehouse_testkit::servers::{dynamodb_endpoint, fresh_store, sdk_config, unique_name};
use gatehouse_testkit::tokens::{DEV_ISSUER, dev_key};

/// The instant every decision in this file is made at, as far as the authorizer knows.
const NOW: i64 = 1_750_000_000;
const PEPPER: &[u8] = b"store-conformance-pepper-0123456789abcdef";

fn pepper() -> Pepper {
    Pepper::new(PEPPER).unwrap()
}

fn new_key() -> String {
    apikey::generate(&ApiKeyPrefix::default_prefix())
        .unwrap()
        .reveal()
        .to_owned()
}

/// An active read-only key for `plaintext`, owned by `user_id`, valid for an hour after [`NOW`].
fn key_record(plaintext: &str, user_id: &str) -> ApiKeyRecord {
    ApiKeyRecord {
        key_id: apikey::generate_key_id().unwrap(),
        user_id: user_id.to_owned(),
        key_hash: pepper().hash(plaintext),
        name: "ci deploys".into(),
        scopes: Scopes {
            read: true,
            write: false,
        },
        active: true,
        created_at: NOW - 100,
        expires_at: Some(NOW + 3600),
        tail: apikey::tail(plaintext),
        last_used_at: None,
    }
}

fn user(user_id: &str, role: Role, suspended: bool) -> UserRecord {
    UserRecord {
        user_id: user_id.to_owned(),
        role,
        memberships: Memberships {
            organization_ids: vec!["org_1".into(), "org_2".into()],
            company_ids: vec!["co_9".into()],
            location_ids: vec![],
        },
        suspended,
    }
}

/// An authorizer on `store`: default prefix, the test pepper, the dev key as a PEM source (no network),
/// a clock frozen at [`NOW`].
fn authorizer(store: DynamoStore) -> Authorizer<DynamoStore> {
    let options = KeyCacheOptions::default();
    let source = KeySource::from_pem(dev_key().public_pem).unwrap();
    let keys = IssuerKeys::new(DEV_ISSUER, source, http_client(options).unwrap(), options);
    Authorizer::from_parts(Parts {
        prefix: ApiKeyPrefix::default_prefix(),
        pepper: pepper(),
        settings: VerifierSettings {
            issuer: DEV_ISSUER.to_owned(),
            authorized_parties: None,
            clock_skew_secs: 5,
            allow_pending_sessions: false,
        },
        keys: Arc::new(keys),
        store,
        clock: Arc::new(FixedClock::at(NOW)),
    })
}

async fn decide(
    authorizer: &Authorizer<DynamoStore>,
    token: &str,
) -> (Result<Decision, Unavailable>, DecisionFacts) {
    let mut facts = DecisionFacts::default();
    let header = format!("Bearer {token}");
    let result = authorizer.decide(Some(&header), &mut facts).await;
    (result, facts)
}

/// A loopback URL nothing listens on: bind an ephemeral port, note it, release it.
fn closed_port_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

/// A store whose SDK client (default retry and timeout settings) points at a closed port.
async fn unreachable_store() -> DynamoStore {
    let sdk = sdk_config(&closed_port_url()).await;
    DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), "gatehouse-unreachable")
}

async fn put_raw(store: &DynamoStore, item: std::collections::HashMap<String, AttributeValue>) {
    store
        .client()
        .put_item()
        .table_name(store.table())
        .set_item(Some(item))
        .send()
        .await
        .unwrap();
}

/// Every string anywhere in an attribute value (lists, maps and sets included).
fn strings_in(value: &AttributeValue, out: &mut Vec<String>) {
    match value {
        AttributeValue::S(text) | AttributeValue::N(text) => out.push(text.clone()),
        AttributeValue::Ss(texts) | AttributeValue::Ns(texts) => out.extend(texts.iter().cloned()),
        AttributeValue::B(blob) => out.push(String::from_utf8_lossy(blob.as_ref()).into_owned()),
        AttributeValue::Bs(blobs) => out.extend(
            blobs
                .iter()
                .map(|b| String::from_utf8_lossy(b.as_ref()).into_owned()),
        ),
        AttributeValue::L(values) => values.iter().for_each(|v| strings_in(v, out)),
        AttributeValue::M(map) => map.iter().for_each(|(k, v)| {
            out.push(k.clone());
            strings_in(v, out);
        }),
        _ => {}
    }
}

// ---------------------------------------------------------------------------------------------------------
// The store itself

#[tokio::test]
async fn user_records_round_trip() {
    let Some(endpoint) = dynamodb_endpoint() else {
        return;
    };
    let store = fresh_store(&endpoint).await;
    let suspended_manager = user("user_roundtrip", Role::Manager, true);
    store.put_user(&suspended_manager).await.unwrap();
    assert_eq!(
        store.user("user_roundtrip").await.unwrap(),
        Some(suspended_manager)
    );

    // put_user replaces: role, memberships and suspension all follow the latest write.
    let admin = UserRecord {
        user_id: "user_roundtrip".into(),
        role: Role::Admin,
        memberships: Memberships::default(),
        suspended: false,
    };
    store.put_user(&admin).await.unwrap();
    assert_eq!(store.user("user_roundtrip").await.unwrap(), Some(admin));

    let signer = user("user_signer", Role::Signer, false);
    store.put_user(&signer).await.unwrap();
    assert_eq!(store.user("user_signer").await.unwrap(), Some(signer));
}

#[tokio::test]
async fn unknown_user_is_none() {
    let Some(endpoint) = dynamodb_endpoint() else {
        return;
    };
    let store = fresh_store(&endpoint).await;
    assert_eq!(store.user("user_nobody").await.unwrap(), None);
    // A key item's owner id is not a user record either.
    let key = new_key();
    store
        .put_api_key(&key_record(&key, "user_owner"))
        .await
        .unwrap();
    assert_eq!(store.user("user_owner").await.unwrap(), None);
}

#[tokio::test]
async fn api_key_records_round_trip() {
    let Some(endpoint) = dynamodb_endpoint() else {
        return;
    };
    let store = fresh_store(&endpoint).await;

    let first_key = new_key();
    let first = key_record(&first_key, "user_1");
    store.put_api_key(&first).await.unwrap();

    // The other optional shapes: no expiry, a last use, both scopes, revoked.
    let second_key = new_key();
    let second = ApiKeyRecord {
        scopes: Scopes::ALL,
        active: false,
        expires_at: None,
        last_used_at: Some(NOW - 5),
        ..key_record(&second_key, "user_1")
    };
    store.put_api_key(&second).await.unwrap();

    assert_eq!(
        store
            .api_key_by_hash(&pepper().hash(&first_key))
            .await
            .unwrap(),
        Some(first)
    );
    assert_eq!(
        store
            .api_key_by_hash(&pepper().hash(&second_key))
            .await
            .unwrap(),
        Some(second)
    );
}

#[tokio::test]
async fn unknown_hash_is_none() {
    let Some(endpoint) = dynamodb_endpoint() else {
        return;
    };
    let store = fresh_store(&endpoint).await;
    let stored = new_key();
    store
        .put_api_key(&key_record(&stored, "user_1"))
        .await
        .unwrap();
    assert_eq!(
        store
            .api_key_by_hash(&pepper().hash(&new_key()))
            .await
            .unwrap(),
        None
    );
    // The same key under another pepper is another hash, hence unknown.
    let other_pepper = Pepper::new(b"a-completely-different-pepper-42").unwrap();
    assert_eq!(
        store
            .api_key_by_hash(&other_pepper.hash(&stored))
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn put_api_key_refuses_a_second_record_with_the_same_hash() {
    let Some(endpoint) = dynamodb_endpoint() else {
        return;
    };
    let store = fresh_store(&endpoint).await;
    let key = new_key();
    let original = key_record(&key, "user_1");
    store.put_api_key(&original).await.unwrap();

    let intruder = ApiKeyRecord {
        scopes: Scopes::ALL,
        ..key_record(&key, "user_2")
    };
    let error = store.put_api_key(&intruder).await.unwrap_err();
    match &error {
        // The store reports a failed condition as a refused request.
        StoreError::Unavailable(reason) => {
            assert!(
                reason.contains("ConditionalCheckFailed"),
                "unexpected reason: {reason}"
            );
        }
        other => panic!("expected a refused request, got {other:?}"),
    }
    // The first record is untouched.
    assert_eq!(
        store.api_key_by_hash(&pepper().hash(&key)).await.unwrap(),
        Some(original)
    );
}

#[tokio::test]
async fn corrupt_key_item_is_an_error_never_a_decision() {
    let Some(endpoint) = dynamodb_endpoint() else {
        return;
    };
    let store = fresh_store(&endpoint).await;
    let key = new_key();
    let mut item = api_key_item(&key_record(&key, "user_1"));
    item.insert("active".into(), AttributeValue::S("true".into()));
    put_raw(&store, item).await;

    let error = store
        .api_key_by_hash(&pepper().hash(&key))
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::Corrupt { .. }), "{error:?}");

    let authorizer = authorizer(store);
    let (result, _) = decide(&authorizer, &key).await;
    assert!(
        matches!(result, Err(Unavailable::Store(StoreError::Corrupt { .. }))),
        "{result:?}"
    );
}

#[tokio::test]
async fn corrupt_user_item_is_an_error_never_a_decision() {
    let Some(endpoint) = dynamodb_endpoint() else {
        return;
    };
    let store = fresh_store(&endpoint).await;
    let mut item = user_item(&user("user_root", Role::Admin, false));
    item.insert("role".into(), AttributeValue::S("root".into()));
    put_raw(&store, item).await;
    let error = store.user("user_root").await.unwrap_err();
    assert!(matches!(error, StoreError::Corrupt { .. }), "{error:?}");

    // A stored role of "none" is not a role a record may hold either.
    let mut item = user_item(&user("user_none", Role::Admin, false));
    item.insert("role".into(), AttributeValue::S("none".into()));
    put_raw(&store, item).await;
    assert!(matches!(
        store.user("user_none").await,
        Err(StoreError::Corrupt { .. })
    ));

    // Through the authorizer: a valid key and a valid session of that user both fail, neither allows.
    let key = new_key();
    store
        .put_api_key(&key_record(&key, "user_root"))
        .await
        .unwrap();
    let authorizer = authorizer(store);
    let (result, _) = decide(&authorizer, &key).await;
    assert!(
        matches!(result, Err(Unavailable::Store(StoreError::Corrupt { .. }))),
        "{result:?}"
    );
    let (result, _) = decide(&authorizer, &dev_key().session_token("user_root", NOW)).await;
    assert!(
        matches!(result, Err(Unavailable::Store(StoreError::Corrupt { .. }))),
        "{result:?}"
    );
}

#[tokio::test]
async fn create_table_if_missing_is_idempotent() {
    let Some(endpoint) = dynamodb_endpoint() else {
        return;
    };
    // fresh_store has created the table once already.
    let store = fresh_store(&endpoint).await;
    let record = user("user_keep", Role::Signer, false);
    store.put_user(&record).await.unwrap();
    store.create_table_if_missing().await.unwrap();
    store.create_table_if_missing().await.unwrap();
    // Nothing was recreated or wiped.
    assert_eq!(store.user("user_keep").await.unwrap(), Some(record));

    // From nothing, twice in a row, then usable.
    let sdk = sdk_config(&endpoint).await;
    let other = DynamoStore::new(
        aws_sdk_dynamodb::Client::new(&sdk),
        unique_name("gatehouse-idempotent"),
    );
    other.create_table_if_missing().await.unwrap();
    other.create_table_if_missing().await.unwrap();
    assert_eq!(other.user("user_keep").await.unwrap(), None);
}

#[tokio::test]
async fn gsi1_lists_a_users_keys_newest_first() {
    let Some(endpoint) = dynamodb_endpoint() else {
        return;
    };
    let store = fresh_store(&endpoint).await;
    let mut expected = Vec::new();
    for created_at in [NOW - 300, NOW - 100, NOW - 200] {
        let record = ApiKeyRecord {
            created_at,
            ..key_record(&new_key(), "user_lister")
        };
        store.put_api_key(&record).await.unwrap();
        expected.push((created_at, record.key_id));
    }
    store
        .put_api_key(&key_record(&new_key(), "user_someone_else"))
        .await
        .unwrap();
    expected.sort_by_key(|(created_at, _)| std::cmp::Reverse(*created_at));

    let output = store
        .client()
        .query()
        .table_name(store.table())
        .index_name(GSI1)
        .key_condition_expression("gsi1pk = :pk")
        .expression_attribute_values(":pk", AttributeValue::S("USER#user_lister".into()))
        .scan_index_forward(false)
        .send()
        .await
        .unwrap();
    let listed: Vec<String> = output
        .items()
        .iter()
        .map(|item| match &item["keyId"] {
            AttributeValue::S(id) => id.clone(),
            other => panic!("keyId is {other:?}"),
        })
        .collect();
    assert_eq!(
        listed,
        expected.into_iter().map(|(_, id)| id).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn the_table_holds_no_plaintext_key() {
    let Some(endpoint) = dynamodb_endpoint() else {
        return;
    };
    let store = fresh_store(&endpoint).await;
    let prefix = ApiKeyPrefix::default_prefix();
    let mut plaintexts = Vec::new();
    for owner in ["user_a", "user_b"] {
        let generated = apikey::generate(&prefix).unwrap();
        let record = ApiKeyRecord {
            key_id: apikey::generate_key_id().unwrap(),
            user_id: owner.into(),
            key_hash: pepper().hash(generated.reveal()),
            name: "laptop".into(),
            scopes: Scopes::ALL,
            active: true,
            created_at: NOW,
            expires_at: None,
            tail: generated.tail(),
            last_used_at: Some(NOW),
        };
        store.put_api_key(&record).await.unwrap();
        store
            .put_user(&user(owner, Role::Manager, false))
            .await
            .unwrap();
        plaintexts.push(generated.reveal().to_owned());
    }

    // The whole table, every page.
    let mut strings = Vec::new();
    let mut items = 0;
    let mut start = None;
    loop {
        let page = store
            .client()
            .scan()
            .table_name(store.table())
            .set_exclusive_start_key(start)
            .send()
            .await
            .unwrap();
        for item in page.items() {
            items += 1;
            for (name, value) in item {
                strings.push(name.clone());
                strings_in(value, &mut strings);
            }
        }
        start = page.last_evaluated_key().cloned();
        if start.is_none() {
            break;
        }
    }
    assert_eq!(items, 4, "two keys and two users");
    for text in &strings {
        assert!(
            !text.starts_with("sf_"),
            "a stored value starts with the key prefix: {text}"
        );
        for plaintext in &plaintexts {
            assert!(
                !text.contains(plaintext.as_str()),
                "the table holds a plaintext key"
            );
            // Nor the random part without its prefix.
            assert!(
                !text.contains(&plaintext[3..]),
                "the table holds a key's random part"
            );
        }
    }
    // What is there instead: the HMAC hex in pk, and only the 4-character tail.
    for plaintext in &plaintexts {
        let pk = format!("APIKEY#{}", pepper().hash(plaintext).to_hex());
        assert!(strings.contains(&pk));
        assert!(strings.contains(&apikey::tail(plaintext)));
    }
}

// ---------------------------------------------------------------------------------------------------------
// An unreachable store

#[tokio::test]
async fn unreachable_store_is_unavailable() {
    let store = unreachable_store().await;
    // Each call spends about two seconds in the SDK's default retries, so they run concurrently.
    let hash = pepper().hash(&new_key());
    let record = user("user_1", Role::Admin, false);
    let (by_hash, user, put, create) = tokio::join!(
        store.api_key_by_hash(&hash),
        store.user("user_1"),
        store.put_user(&record),
        store.create_table_if_missing(),
    );
    assert!(
        matches!(by_hash, Err(StoreError::Unavailable(_))),
        "{by_hash:?}"
    );
    assert!(matches!(user, Err(StoreError::Unavailable(_))), "{user:?}");
    assert!(matches!(put, Err(StoreError::Unavailable(_))), "{put:?}");
    assert!(
        matches!(create, Err(StoreError::Unavailable(_))),
        "{create:?}"
    );
}

#[tokio::test]
async fn unreachable_store_never_allows() {
    let authorizer = authorizer(unreachable_store().await);

    // A well-formed API key: the store must be asked, and it cannot answer. A valid session token: the
    // signature verifies (PEM source, no network), then the user read fails. Concurrently, to share the
    // SDK's retry delays.
    let key = new_key();
    let session = dev_key().session_token("user_valid", NOW);
    let ((key_result, key_facts), (session_result, session_facts)) =
        tokio::join!(decide(&authorizer, &key), decide(&authorizer, &session));
    assert!(
        matches!(
            key_result,
            Err(Unavailable::Store(StoreError::Unavailable(_)))
        ),
        "{key_result:?}"
    );
    assert_eq!(key_facts.auth_type, Some(AuthType::ApiKey));
    assert!(
        matches!(
            session_result,
            Err(Unavailable::Store(StoreError::Unavailable(_)))
        ),
        "{session_result:?}"
    );
    assert_eq!(session_facts.auth_type, Some(AuthType::Session));
    assert_eq!(session_facts.user_id.as_deref(), Some("user_valid"));
}

#[tokio::test]
async fn checksum_failing_key_is_denied_without_a_store_read() {
    // The store is unreachable: any read would be an error, so a Deny proves no read happened.
    let authorizer = authorizer(unreachable_store().await);
    let key = new_key();
    let mut bytes = key.clone().into_bytes();
    let last = bytes.len() - 1;
    bytes[last] = if bytes[last] == b'A' { b'B' } else { b'A' };
    let typo = String::from_utf8(bytes).unwrap();

    let (result, facts) = decide(&authorizer, &typo).await;
    assert_eq!(result.unwrap(), Decision::Deny(Rejection::InvalidApiKey));
    assert_eq!(facts.reason, Some("checksum"));
    assert_eq!(facts.key_id, None);

    // Garbage with the prefix is a format failure, also without a read.
    let (result, facts) = decide(&authorizer, "sf_not-a-key").await;
    assert_eq!(result.unwrap(), Decision::Deny(Rejection::InvalidApiKey));
    assert_eq!(facts.reason, Some("format"));
}

// ---------------------------------------------------------------------------------------------------------
// API-key decisions end to end

#[tokio::test]
async fn valid_key_allows_with_the_users_role_and_the_keys_scopes() {
    let Some(endpoint) = dynamodb_endpoint() else {
        return;
    };
    let store = fresh_store(&endpoint).await;
    let owner = user("user_valid", Role::Manager, false);
    store.put_user(&owner).await.unwrap();
    let key = new_key();
    let record = key_record(&key, "user_valid");
    store.put_api_key(&record).await.unwrap();
    let authorizer = authorizer(store);

    let (result, facts) = decide(&authorizer, &key).await;
    assert_eq!(
        result.unwrap(),
        Decision::Allow(Principal {
            user_id: "user_valid".into(),
            auth_type: AuthType::ApiKey,
            role: Role::Manager,
            key_id: Some(record.key_id.clone()),
            scopes: Scopes {
                read: true,
                write: false
            },
            session_id: None,
            memberships: owner.memberships,
            clerk_org_id: None,
            clerk_org_role: None,
        })
    );
    assert_eq!(facts.key_id, Some(record.key_id));
    assert_eq!(facts.user_id.as_deref(), Some("user_valid"));
    assert_eq!(facts.reason, None);
}

#[tokio::test]
async fn unknown_well_formed_key_is_denied() {
    let Some(endpoint) = dynamodb_endpoint() else {
        return;
    };
    let store = fresh_store(&endpoint).await;
    store
        .put_api_key(&key_record(&new_key(), "user_1"))
        .await
        .unwrap();
    let authorizer = authorizer(store);
    let (result, facts) = decide(&authorizer, &new_key()).await;
    assert_eq!(result.unwrap(), Decision::Deny(Rejection::InvalidApiKey));
    assert_eq!(facts.reason, Some("unknown_key"));
}

#[tokio::test]
async fn revoked_key_is_denied() {
    let Some(endpoint) = dynamodb_endpoint() else {
        return;
    };
    let store = fresh_store(&endpoint).await;
    store
        .put_user(&user("user_revoked", Role::Admin, false))
        .await
        .unwrap();
    let key = new_key();
    store
        .put_api_key(&ApiKeyRecord {
            active: false,
            ..key_record(&key, "user_revoked")
        })
        .await
        .unwrap();
    let authorizer = authorizer(store);
    let (result, facts) = decide(&authorizer, &key).await;
    assert_eq!(result.unwrap(), Decision::Deny(Rejection::InvalidApiKey));
    assert_eq!(facts.reason, Some("revoked"));
}

#[tokio::test]
async fn expired_key_is_denied() {
    let Some(endpoint) = dynamodb_endpoint() else {
        return;
    };
    let store = fresh_store(&endpoint).await;
    store
        .put_user(&user("user_expiry", Role::Admin, false))
        .await
        .unwrap();
    let past = new_key();
    store
        .put_api_key(&ApiKeyRecord {
            expires_at: Some(NOW - 1),
            ..key_record(&past, "user_expiry")
        })
        .await
        .unwrap();
    // Expiry is exclusive: a key expiring exactly now is expired.
    let boundary = new_key();
    store
        .put_api_key(&ApiKeyRecord {
            expires_at: Some(NOW),
            ..key_record(&boundary, "user_expiry")
        })
        .await
        .unwrap();
    let next_second = new_key();
    store
        .put_api_key(&ApiKeyRecord {
            expires_at: Some(NOW + 1),
            ..key_record(&next_second, "user_expiry")
        })
        .await
        .unwrap();
    let authorizer = authorizer(store);

    for key in [&past, &boundary] {
        let (result, facts) = decide(&authorizer, key).await;
        assert_eq!(result.unwrap(), Decision::Deny(Rejection::InvalidApiKey));
        assert_eq!(facts.reason, Some("expired"));
    }
    let (result, _) = decide(&authorizer, &next_second).await;
    assert!(matches!(result, Ok(Decision::Allow(_))), "{result:?}");
}

#[tokio::test]
async fn owner_without_a_user_record_allows_with_role_none() {
    let Some(endpoint) = dynamodb_endpoint() else {
        return;
    };
    let store = fresh_store(&endpoint).await;
    let key = new_key();
    let record = ApiKeyRecord {
        scopes: Scopes::ALL,
        ..key_record(&key, "user_norecord")
    };
    store.put_api_key(&record).await.unwrap();
    let authorizer = authorizer(store);
    let (result, _) = decide(&authorizer, &key).await;
    assert_eq!(
        result.unwrap(),
        Decision::Allow(Principal {
            user_id: "user_norecord".into(),
            auth_type: AuthType::ApiKey,
            role: Role::None,
            key_id: Some(record.key_id),
            scopes: Scopes::ALL,
            session_id: None,
            memberships: Memberships::default(),
            clerk_org_id: None,
            clerk_org_role: None,
        })
    );
}

#[tokio::test]
async fn suspended_owner_is_denied() {
    let Some(endpoint) = dynamodb_endpoint() else {
        return;
    };
    let store = fresh_store(&endpoint).await;
    store
        .put_user(&user("user_suspended", Role::Admin, true))
        .await
        .unwrap();
    let key = new_key();
    store
        .put_api_key(&key_record(&key, "user_suspended"))
        .await
        .unwrap();
    let authorizer = authorizer(store);

    let (result, facts) = decide(&authorizer, &key).await;
    assert_eq!(result.unwrap(), Decision::Deny(Rejection::AccountSuspended));
    assert_eq!(facts.reason, Some("suspended"));
    // The same user's session is refused the same way.
    let (result, _) = decide(&authorizer, &dev_key().session_token("user_suspended", NOW)).await;
    assert_eq!(result.unwrap(), Decision::Deny(Rejection::AccountSuspended));
}
