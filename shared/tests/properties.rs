//! Property tests (proptest) of the codecs and formats a decision rests on:
//!
//! - the authorizer context codec round-trips every principal the authorizer can produce, as API
//!   Gateway delivers it (every value a string, plus its own keys);
//! - key generation always passes its own format check, and any one-character change fails it
//!   (the CRC32 catches every single substitution of the random part; the length and alphabet checks
//!   the rest).
//!
//! The cursor property (no cursor leaves its listing) sits next to the code it checks, in
//! `store/dynamo/resources.rs`; the in-memory store's listings are compared with DynamoDB's in
//! `gatehouse_testkit::listing_properties`, on DynamoDB Local and on the embedded engine.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use gatehouse::apikey::{self, ApiKeyPrefix};
use gatehouse::principal::{AuthType, Memberships, Principal, Role, Scopes};
use proptest::prelude::*;
use serde_json::{Map, Value};

const ID: &str = "[A-Za-z0-9_-]{1,24}";

fn ids() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(ID, 0..6)
}

fn principal() -> impl Strategy<Value = Principal> {
    (
        (
            ID,
            0u8..3,
            0u8..4,
            prop::option::of(ID),
            any::<(bool, bool)>(),
        ),
        (prop::option::of(ID), ids(), ids(), ids()),
        (
            prop::option::of("[a-z_]{1,12}"),
            prop::option::of("[a-z:_]{1,16}"),
            any::<bool>(),
            prop::option::of(-1_000_000_000_000i64..10_000_000_000_000),
        ),
    )
        .prop_map(
            |(
                (user_id, kind, role, key_id, (read, write)),
                (session_id, organization_ids, company_ids, location_ids),
                (clerk_org_id, clerk_org_role, omitted, expires_at),
            )| {
                let is_key = kind == 1;
                let auth_type = match kind {
                    0 => AuthType::Session,
                    1 => AuthType::ApiKey,
                    _ => AuthType::OAuth,
                };
                let memberships = if omitted {
                    Memberships::default()
                } else {
                    Memberships {
                        organization_ids,
                        company_ids,
                        location_ids,
                    }
                };
                Principal {
                    user_id,
                    auth_type,
                    role: [Role::None, Role::Signer, Role::Manager, Role::Admin][usize::from(role)],
                    // A key is always named; a session may be scoped to one.
                    key_id: if is_key {
                        Some(key_id.unwrap_or_else(|| "k_1".into()))
                    } else {
                        key_id
                    },
                    scopes: Scopes { read, write },
                    client_id: (auth_type == AuthType::OAuth).then(|| "client_1".to_owned()),
                    session_id,
                    memberships,
                    clerk_org_id,
                    clerk_org_role,
                    memberships_omitted: omitted,
                    // A token always expires; a key may not.
                    expires_at: if is_key {
                        expires_at
                    } else {
                        Some(expires_at.unwrap_or(1_750_000_065))
                    },
                }
            },
        )
}

/// What API Gateway hands a route: every context value as a string, plus its own keys.
fn as_gateway_delivers(principal: &Principal) -> Map<String, Value> {
    let mut map: Map<String, Value> = principal
        .to_context()
        .iter()
        .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
        .collect();
    map.insert(
        "principalId".into(),
        Value::String(principal.user_id.clone()),
    );
    map.insert("integrationLatency".into(), Value::from(7));
    map
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn the_context_codec_round_trips_every_principal(principal in principal()) {
        let delivered = as_gateway_delivers(&principal);
        let decoded = Principal::from_context(delivered.iter().map(|(k, v)| (k.as_str(), v)));
        prop_assert_eq!(decoded, Ok(principal));
    }

    #[test]
    fn generated_keys_pass_their_check_and_no_single_change_does(
        prefix in "[A-Za-z][A-Za-z0-9_]{0,8}_",
        position in any::<prop::sample::Index>(),
        replacement in "[A-Za-z0-9_.~+/=-]",
        cut in any::<bool>(),
    ) {
        let prefix = match ApiKeyPrefix::parse(&prefix) {
            Ok(prefix) => prefix,
            // Prefixes that could begin a JWT are refused at configuration time.
            Err(_) => return Ok(()),
        };
        let key = apikey::generate(&prefix).unwrap();
        let key = key.reveal();
        prop_assert_eq!(apikey::check_format(key, &prefix), Ok(()));

        // One character changed (never to itself), or one removed, anywhere after the prefix.
        let body_start = prefix.as_str().len();
        let at = body_start + position.index(key.len() - body_start);
        let original = &key[at..=at];
        let mut changed = key.to_owned();
        if cut {
            changed.remove(at);
        } else if replacement != original {
            changed.replace_range(at..=at, &replacement);
        } else {
            return Ok(());
        }
        prop_assert!(
            apikey::check_format(&changed, &prefix).is_err(),
            "{key} -> {changed} still passes"
        );
    }
}
