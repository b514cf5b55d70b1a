//! End-to-end tests: `gatehouse serve` started as a process (the real binary) and driven over HTTP
//! with a real client, through the whole key lifecycle, the `X-Use-Api-Key` rules, every 401 and 403
//! of the contract, authorizer caching, the active-key limit under concurrency, a store outage, and
//! the secrecy of keys and tokens in the store and the logs.
//!
//! Every scenario is written once (`async fn scenario(&Serve)` in a module under `tests/e2e/`) and
//! instantiated by [`e2e_tests!`] for each API type (`serve --api rest` and `--api http`) and each
//! store: the embedded engine (always) and DynamoDB Local
//! (skipped without `GATEHOUSE_TEST_DYNAMODB_ENDPOINT`, a failure then if
//! `GATEHOUSE_TEST_REQUIRE_SERVERS=1`). Each test has its own `serve` process, state folder and
//! table, so they run in parallel safely.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "e2e/caching.rs"]
mod caching;
#[path = "e2e/common.rs"]
mod common;
#[path = "e2e/concurrency.rs"]
mod concurrency;
#[path = "e2e/demo.rs"]
mod demo;
#[path = "e2e/hardening.rs"]
mod hardening;
#[path = "e2e/keys.rs"]
mod keys;
#[path = "e2e/mcp.rs"]
mod mcp;
#[path = "e2e/members.rs"]
mod members;
#[path = "e2e/oauth.rs"]
mod oauth;
#[path = "e2e/outage.rs"]
mod outage;
#[path = "e2e/resources.rs"]
mod resources;
#[path = "e2e/routes.rs"]
mod routes;
#[path = "e2e/secrecy.rs"]
mod secrecy;
#[path = "e2e/unauthorized.rs"]
mod unauthorized;
#[path = "e2e/use_api_key.rs"]
mod use_api_key;
#[path = "e2e/webhooks.rs"]
mod webhooks;

use gatehouse_testkit::serve::{Api, Serve, ServeOptions, StoreKind};

/// The stores the suite runs on.
#[derive(Debug, Clone, Copy)]
enum Store {
    Embedded,
    DynamoDbLocal,
}

/// Starts `serve` on `store`, or `None` when that store's server is not running (skip).
fn start(store: Store, options: ServeOptions) -> Option<Serve> {
    let kind = match store {
        Store::Embedded => StoreKind::Embedded,
        Store::DynamoDbLocal => StoreKind::DynamoDbLocal {
            endpoint: gatehouse_testkit::servers::dynamodb_endpoint()?,
        },
    };
    Some(Serve::start(env!("CARGO_BIN_EXE_gatehouse"), kind, options))
}

/// Default flags: the template's authorizer TTL.
const DEFAULT: ServeOptions = ServeOptions {
    api: Api::Rest,
    ttl: None,
    demo: false,
};

/// `--authorizer-ttl <secs>`.
const fn ttl(secs: u64) -> ServeOptions {
    ServeOptions {
        api: Api::Rest,
        ttl: Some(secs),
        demo: false,
    }
}

/// The whole suite against one store and API type: `e2e_tests!(module_name, StoreVariant, ApiVariant)`.
macro_rules! e2e_tests {
    ($module:ident, $store:ident, $api:ident) => {
        mod $module {
            use super::*;

            e2e_tests!(@scenarios $store, $api;
                health_and_unknown_routes => routes::health_and_unknown_routes, DEFAULT;
                every_401 => unauthorized::every_401, DEFAULT;
                bearer_syntax_and_unknown_user => unauthorized::bearer_syntax_and_unknown_user, DEFAULT;
                api_key_callers_get_403_on_key_routes => unauthorized::api_key_callers_get_403_on_key_routes, DEFAULT;
                key_lifecycle => keys::key_lifecycle, ttl(0);
                bad_requests => keys::bad_requests, DEFAULT;
                foreign_key_id_is_not_found => keys::foreign_key_id_is_not_found, DEFAULT;
                scoped_key => keys::scoped_key, DEFAULT;
                use_api_key_header => use_api_key::use_api_key_header, DEFAULT;
                revoked_key_works_until_the_ttl_ends => caching::revoked_key_works_until_the_ttl_ends, ttl(caching::TTL_SECS);
                ttl_zero_refuses_at_once => caching::ttl_zero_refuses_at_once, ttl(0);
                fifty_parallel_creates_end_with_25 => concurrency::fifty_parallel_creates_end_with_25, DEFAULT;
                no_secret_in_store_or_logs => secrecy::no_secret_in_store_or_logs, DEFAULT;
                demo_users => demo::demo_users, ServeOptions { api: Api::Rest, ttl: None, demo: true };
                store_outage_is_a_500 => outage::store_outage_is_a_500, DEFAULT;
                resources_matrix => resources::matrix, DEFAULT;
                resources_pagination => resources::pagination, DEFAULT;
                expired_credentials_are_refused_from_the_cache => hardening::expired_credentials_are_refused_from_the_cache, ttl(hardening::LONG_TTL_SECS);
                bodies_over_64_kib_are_refused => hardening::bodies_over_64_kib_are_refused, DEFAULT;
                only_the_api_listens => hardening::only_the_api_listens, DEFAULT;
                oauth_tokens_on_the_routes => oauth::oauth_tokens_on_the_routes, DEFAULT;
                members_matrix => members::members_matrix, DEFAULT;
                member_changes_wait_for_the_authorizer_cache => members::member_changes_wait_for_the_authorizer_cache, ttl(members::CACHE_TTL_SECS);
                webhook_deletion_revokes_keys_and_refuses_sessions => webhooks::deletion_revokes_keys_and_refuses_sessions, ttl(0);
                webhook_cached_allow_outlives_a_deletion_until_the_ttl => webhooks::cached_allow_outlives_a_deletion_until_the_ttl, ttl(webhooks::TTL_SECS);
                webhook_ban_then_unban => webhooks::ban_then_unban, ttl(0);
                webhook_operator_suspension_survives_an_unban => webhooks::operator_suspension_survives_an_unban, ttl(0);
                webhook_user_created_gives_role_none => webhooks::user_created_gives_role_none, DEFAULT;
                webhook_refusals_change_nothing => webhooks::refusals_change_nothing, ttl(0);
            );
        }
    };
    (@scenarios $store:ident, $api:ident; $($name:ident => $scenario:path, $options:expr;)*) => {
        $(
            #[tokio::test]
            async fn $name() {
                let options = ServeOptions { api: Api::$api, ..$options };
                let Some(serve) = start(Store::$store, options) else {
                    return;
                };
                $scenario(&serve).await;
            }
        )*
    };
}

e2e_tests!(embedded_rest, Embedded, Rest);
e2e_tests!(embedded_http, Embedded, Http);
e2e_tests!(dynamodb_local_rest, DynamoDbLocal, Rest);
e2e_tests!(dynamodb_local_http, DynamoDbLocal, Http);
