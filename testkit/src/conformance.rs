//! The store conformance suite: one set of tests that every DynamoDB engine the project runs on must
//! pass, whatever serves the DynamoDB API (DynamoDB Local in `shared`, the embedded engine in the cli).
//!
//! The tests are ordinary async functions here, so they are compiled, linted and formatted once; the
//! [`store_conformance_tests!`](crate::store_conformance_tests) macro only expands to one
//! `#[tokio::test]` wrapper per function in the invoking test crate, which needs `tokio` (features
//! `macros`, `rt-multi-thread`) among its dependencies:
//!
//! ```ignore
//! async fn fresh_store_or_skip() -> Option<DynamoStore> { /* a store on a new, empty table, or None */ }
//! gatehouse_testkit::store_conformance_tests!(fresh_store_or_skip);
//! ```
//!
//! The factory returns `None` when its server is not available: the test is then skipped (the factory
//! decides, e.g. through [`crate::servers::dynamodb_endpoint`], whether that is allowed). Each test asks
//! for its own store, so the tests run in parallel.
//!
//! Three groups:
//! - key-store semantics, generic over [`KeyStore`], resource-store semantics, generic over
//!   [`ResourceStore`] (round trips, listings and their paging, batch lookups, the package create
//!   conflict), and directory semantics, generic over [`DirectoryStore`] (Clerk events in timestamp
//!   order, revisions and member projections of user writes, delegated changes all or nothing, the
//!   audit trail, revoking every key, webhook deliveries): the same functions also run against the
//!   in-memory store (this crate's own tests), which proves the two implementations agree;
//! - DynamoDB specifics: raw items, the `gsi1` index, pagination, pruning, corrupt items, time to
//!   live, records written before revisions, the API-key decisions of README "API keys" end to end
//!   through `Authorizer::decide`;
//! - an unreachable endpoint (no server needed): every call is an error, never a decision.

use std::collections::HashMap;
use std::sync::Arc;

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::types::TimeToLiveStatus;
use gatehouse::apikey::{self, ApiKeyPrefix, Pepper};
use gatehouse::authorizer::{Authorizer, Decision, DecisionFacts};
use gatehouse::clock::FixedClock;
use gatehouse::error::{Rejection, Unavailable};
use gatehouse::principal::{AuthType, Memberships, Principal, Role, Scopes};
use gatehouse::store::directory::audit_entry_id;
use gatehouse::store::dynamo::directory::{audit_item, member_item, webhook_item};
use gatehouse::store::dynamo::resources::{
    company_item, location_item, organization_item, package_item, signer_item, template_item,
};
use gatehouse::store::dynamo::{
    DynamoStore, GSI1, TABLE, active_key_element, api_key_item, pointer_item, user_item,
};
use gatehouse::store::memory::MemoryStore;
use gatehouse::store::{
    ActiveKeyRef, ApiKeyRecord, AuditAction, AuditActor, AuditEntry, AuthStore, ChangeError,
    ClerkChange, ClerkEvent, ClerkOutcome, ClerkStatus, Company, CreateKeyError,
    CreatePackageError, Cursor, DirectoryStore, Document, KeyStore, LAST_USED_INTERVAL_SECS,
    Location, MAX_ACTIVE_KEYS, MemberEntry, MemberState, MembershipChange, Organization, Package,
    Page, PageRequest, ResourceStore, StoreError, Template, UserRecord,
};

use crate::servers::{sdk_config, unique_name};
use crate::tokens::dev_key;

/// Expands to one `#[tokio::test]` per conformance test, each on a store from `$store`, an async fn
/// (or a path to one) `async fn() -> Option<DynamoStore>` returning `None` to skip. See the
/// [module docs](crate::conformance).
#[macro_export]
macro_rules! store_conformance_tests {
    ($store:expr) => {
        $crate::__store_semantics_tests!($store);
        $crate::__resource_semantics_tests!($store);
        $crate::__directory_semantics_tests!($store);
        $crate::__conformance_tests!($store;
            directory_items_are_the_documented_ones,
            records_without_a_revision_are_revision_zero,
            corrupt_directory_items_are_errors,
            revoke_keys_of_drops_elements_of_unknown_keys,
            resource_items_are_the_documented_ones,
            short_query_pages_still_fill_a_listing_page,
            unknown_user_is_none,
            api_key_records_round_trip,
            unknown_hash_is_none,
            put_api_key_refuses_a_second_record_with_the_same_hash,
            corrupt_key_item_is_an_error_never_a_decision,
            corrupt_user_item_is_an_error_never_a_decision,
            records_missing_an_attribute_are_corrupt_until_backfilled,
            corrupt_active_key_set_is_an_error,
            dangling_key_pointer_is_an_error,
            create_table_if_missing_is_idempotent,
            gsi1_lists_a_users_keys_newest_first,
            api_keys_of_pages_through_every_key,
            expired_elements_are_pruned_when_the_set_is_full,
            created_items_are_the_documented_ones,
            the_table_holds_no_plaintext_key,
            valid_key_allows_with_the_users_role_and_the_keys_scopes,
            unknown_well_formed_key_is_denied,
            revoked_key_is_denied,
            expired_key_is_denied,
            owner_without_a_user_record_allows_with_role_none,
            suspended_owner_is_denied,
        );
        $crate::__conformance_offline_tests!(
            unreachable_store_is_unavailable,
            unreachable_store_never_allows,
            checksum_failing_key_is_denied_without_a_store_read,
        );
    };
}

/// The [`KeyStore`] semantics tests, on any store type (`$store`: `async fn() -> Option<S>`).
#[doc(hidden)]
#[macro_export]
macro_rules! __store_semantics_tests {
    ($store:expr) => {
        $crate::__conformance_tests!($store;
            user_records_round_trip,
            created_keys_are_found_by_hash_and_by_id,
            concurrent_creates_never_exceed_the_limit,
            revoking_frees_a_slot,
            expired_keys_do_not_count,
            duplicate_id_or_hash_conflicts_and_changes_nothing,
            inactive_records_take_no_slot,
            api_keys_of_is_newest_first,
            active_keys_of_is_oldest_first_and_excludes_revoked,
            revoking_a_foreign_or_unknown_key_is_none,
            revoking_twice_is_harmless,
            concurrent_revokes_agree,
            revoked_keys_stay_readable_by_hash,
            touch_is_throttled,
            touch_of_an_unknown_hash_is_false,
            created_key_authenticates_until_revoked,
        );
    };
}

/// The [`ResourceStore`] semantics tests, on any store type (`$store`: `async fn() -> Option<S>`).
#[doc(hidden)]
#[macro_export]
macro_rules! __resource_semantics_tests {
    ($store:expr) => {
        $crate::__conformance_tests!($store;
            resources_round_trip,
            missing_and_invalid_ids_are_none,
            puts_refuse_invalid_ids,
            children_are_listed_under_their_parents,
            locations_are_ordered_by_company_then_id,
            packages_of_signer_lists_each_signers_packages,
            reseeding_a_package_keeps_dropped_signers_copies,
            admin_walks_250_organizations_in_pages_of_100,
            limit_one_walks_five_companies,
            cursors_are_opaque_base64url,
            creating_a_package_twice_conflicts,
            batch_lookups_return_the_existing_records,
        );
    };
}

/// The [`DirectoryStore`] semantics tests, on any store type that also [`SeedsKeys`] (`$store`:
/// `async fn() -> Option<S>`).
#[doc(hidden)]
#[macro_export]
macro_rules! __directory_semantics_tests {
    ($store:expr) => {
        $crate::__conformance_tests!($store;
            clerk_events_apply_in_timestamp_order,
            clerk_status_and_operator_writes_stay_apart,
            concurrent_clerk_events_end_in_timestamp_order,
            put_user_moves_member_projections,
            projections_follow_writes_not_later_resources,
            put_user_projects_more_organizations_than_one_transaction_holds,
            change_membership_writes_everything_or_nothing,
            change_membership_creates_a_missing_record,
            concurrent_changes_of_one_revision_write_once,
            audit_of_is_newest_first_and_pages,
            members_of_pages_250_members,
            users_by_ids_returns_existing_records_once,
            revoke_keys_of_revokes_every_active_key,
            webhook_deliveries_are_idempotent,
            directory_refuses_ids_that_are_not_ids,
        );
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_tests {
    ($store:expr; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() {
                if let Some(store) = ($store)().await {
                    $crate::conformance::$name(store).await;
                }
            }
        )*
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_offline_tests {
    ($($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() {
                $crate::conformance::$name().await;
            }
        )*
    };
}

// ---------------------------------------------------------------------------------------------------------
// Fixtures

/// The instant every decision in this suite is made at, as far as the authorizer knows.
pub const NOW: i64 = 1_750_000_000;
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
        revoked_at: None,
    }
}

/// [`key_record`] for a fresh key.
fn fresh_record(user_id: &str) -> ApiKeyRecord {
    key_record(&new_key(), user_id)
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
        clerk: Default::default(),
        revision: 0,
    }
}

fn key_ids(records: &[ApiKeyRecord]) -> Vec<String> {
    records.iter().map(|r| r.key_id.clone()).collect()
}

fn active_ids(keys: &[ActiveKeyRef]) -> Vec<String> {
    keys.iter().map(|k| k.key_id.clone()).collect()
}

/// Creates `record` with the default limit at [`NOW`], which must succeed.
async fn create<S: KeyStore>(store: &S, record: &ApiKeyRecord) {
    store
        .create_api_key(record, MAX_ACTIVE_KEYS, NOW)
        .await
        .unwrap();
}

/// An authorizer on `store`: default prefix, the test pepper, the dev key as a PEM source (no network),
/// a clock frozen at [`NOW`].
fn authorizer<S: AuthStore + 'static>(store: S) -> Authorizer<S> {
    crate::samples::dev_authorizer(store, pepper(), Arc::new(FixedClock::at(NOW)))
}

async fn decide<S: AuthStore + 'static>(
    authorizer: &Authorizer<S>,
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

type Item = HashMap<String, AttributeValue>;

async fn put_raw(store: &DynamoStore, item: Item) {
    store
        .client()
        .put_item()
        .table_name(store.table())
        .set_item(Some(item))
        .send()
        .await
        .unwrap();
}

/// The whole table, every page.
async fn scan_all(store: &DynamoStore) -> Vec<Item> {
    let mut items = Vec::new();
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
        items.extend(page.items().iter().cloned());
        start = page.last_evaluated_key().cloned();
        if start.is_none() {
            return items;
        }
    }
}

async fn get_raw(store: &DynamoStore, pk: &str, sk: &str) -> Option<Item> {
    store
        .client()
        .get_item()
        .table_name(store.table())
        .key("pk", AttributeValue::S(pk.to_owned()))
        .key("sk", AttributeValue::S(sk.to_owned()))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
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
// Resource-store semantics (any ResourceStore)

fn org(id: &str) -> Organization {
    Organization {
        id: id.to_owned(),
        name: format!("Organization {id}"),
    }
}

fn company(id: &str, organization_id: &str) -> Company {
    Company {
        id: id.to_owned(),
        organization_id: organization_id.to_owned(),
        name: format!("Company {id}"),
    }
}

fn location(id: &str, company_id: &str, organization_id: &str) -> Location {
    Location {
        id: id.to_owned(),
        company_id: company_id.to_owned(),
        organization_id: organization_id.to_owned(),
        name: format!("Location {id}"),
    }
}

fn template(id: &str, organization_id: &str) -> Template {
    Template {
        id: id.to_owned(),
        organization_id: organization_id.to_owned(),
        name: format!("Template {id}"),
    }
}

/// A package at `loc_1` (of `co_1`, `org_1`) with two documents.
fn package(id: &str, signers: &[&str]) -> Package {
    Package {
        id: id.to_owned(),
        location_id: "loc_1".into(),
        company_id: "co_1".into(),
        organization_id: "org_1".into(),
        title: format!("Package {id}"),
        signers: signers.iter().map(|s| (*s).to_owned()).collect(),
        documents: vec![
            Document {
                id: "doc_1".into(),
                name: "lease.pdf".into(),
            },
            Document {
                id: "doc_2".into(),
                name: "addendum.pdf".into(),
            },
        ],
        created_at: NOW,
    }
}

fn ids_of<T>(items: &[T], id: impl Fn(&T) -> &str) -> Vec<String> {
    items.iter().map(|item| id(item).to_owned()).collect()
}

fn strings(ids: &[&str]) -> Vec<String> {
    ids.iter().map(|id| (*id).to_owned()).collect()
}

/// Every page of a listing, following cursors (at most 1000 pages); the pages' sizes and all ids.
async fn walk<T, F, Fut>(
    limit: usize,
    id: impl Fn(&T) -> &str,
    list: F,
) -> (Vec<usize>, Vec<String>)
where
    F: Fn(PageRequest) -> Fut,
    Fut: std::future::Future<Output = Result<Page<T>, StoreError>>,
{
    let (mut sizes, mut ids) = (Vec::new(), Vec::new());
    let mut request = PageRequest::first(limit);
    for _ in 0..1000 {
        let page = list(request).await.unwrap();
        sizes.push(page.items.len());
        ids.extend(ids_of(&page.items, &id));
        match page.next {
            Some(cursor) => {
                // What a client sends back is the cursor's text.
                let cursor = Cursor::parse(cursor.as_str()).unwrap();
                request = PageRequest::after(limit, cursor);
            }
            None => return (sizes, ids),
        }
    }
    panic!("listing did not end");
}

/// Every record reads back as written; a put replaces.
pub async fn resources_round_trip<S: ResourceStore>(store: S) {
    let organization = org("org_1");
    let company = company("co_1", "org_1");
    let location = location("loc_1", "co_1", "org_1");
    let template = template("tpl_1", "org_1");
    let package = package("pkg_1", &["user_s", "user_c"]);
    store.put_organization(&organization).await.unwrap();
    store.put_company(&company).await.unwrap();
    store.put_location(&location).await.unwrap();
    store.put_template(&template).await.unwrap();
    store.put_package(&package).await.unwrap();

    assert_eq!(
        store.organization("org_1").await.unwrap(),
        Some(organization)
    );
    assert_eq!(store.company("co_1").await.unwrap(), Some(company.clone()));
    assert_eq!(
        store.location("loc_1").await.unwrap(),
        Some(location.clone())
    );
    assert_eq!(store.package("pkg_1").await.unwrap(), Some(package.clone()));
    let templates = store
        .templates_of("org_1", PageRequest::first(10))
        .await
        .unwrap();
    assert_eq!(templates.items, [template]);

    // Replacing.
    let renamed = Organization {
        name: "Renamed".into(),
        ..org("org_1")
    };
    store.put_organization(&renamed).await.unwrap();
    assert_eq!(store.organization("org_1").await.unwrap(), Some(renamed));
    let retitled = Package {
        title: "Retitled".into(),
        documents: vec![],
        signers: vec![],
        ..package.clone()
    };
    store.put_package(&retitled).await.unwrap();
    assert_eq!(store.package("pkg_1").await.unwrap(), Some(retitled));

    // A created package reads back too.
    let created = self::package("pkg_2", &["user_s"]);
    store.create_package(&created).await.unwrap();
    assert_eq!(store.package("pkg_2").await.unwrap(), Some(created));
}

/// Unknown ids are `None`; ids that are not ids are `None` or empty, without an error.
pub async fn missing_and_invalid_ids_are_none<S: ResourceStore>(store: S) {
    store.put_organization(&org("org_1")).await.unwrap();
    store.put_company(&company("co_1", "org_1")).await.unwrap();
    assert_eq!(store.organization("org_none").await.unwrap(), None);
    assert_eq!(store.company("co_none").await.unwrap(), None);
    assert_eq!(store.location("loc_none").await.unwrap(), None);
    assert_eq!(store.package("pkg_none").await.unwrap(), None);
    let long = "x".repeat(2000);
    for invalid in ["", "org#1", "org 1", "ORG#org_1", "é", long.as_str()] {
        assert_eq!(store.organization(invalid).await.unwrap(), None);
        assert_eq!(store.company(invalid).await.unwrap(), None);
        assert_eq!(store.location(invalid).await.unwrap(), None);
        assert_eq!(store.package(invalid).await.unwrap(), None);
        let first = || PageRequest::first(10);
        assert_eq!(
            store.companies_of(invalid, first()).await.unwrap(),
            Page::empty()
        );
        assert_eq!(
            store
                .locations_of_organization(invalid, first())
                .await
                .unwrap(),
            Page::empty()
        );
        assert_eq!(
            store.locations_of_company(invalid, first()).await.unwrap(),
            Page::empty()
        );
        assert_eq!(
            store.templates_of(invalid, first()).await.unwrap(),
            Page::empty()
        );
        assert_eq!(
            store.packages_at(invalid, first()).await.unwrap(),
            Page::empty()
        );
        assert_eq!(
            store.packages_of_signer(invalid, first()).await.unwrap(),
            Page::empty()
        );
    }
    let asked = strings(&["", "co#1", "co_1", "co_none"]);
    assert_eq!(
        store.companies_by_ids(&asked).await.unwrap(),
        [company("co_1", "org_1")]
    );
    assert_eq!(store.locations_by_ids(&asked).await.unwrap(), []);
    assert_eq!(store.companies_by_ids(&[]).await.unwrap(), []);
    // Unknown parents list nothing.
    assert_eq!(
        store
            .companies_of("org_none", PageRequest::first(10))
            .await
            .unwrap(),
        Page::empty()
    );
    assert_eq!(
        store
            .locations_of_company("co_none", PageRequest::first(10))
            .await
            .unwrap(),
        Page::empty()
    );
}

/// A record whose ids could not be read back by key is refused, and nothing is written.
pub async fn puts_refuse_invalid_ids<S: ResourceStore>(store: S) {
    assert!(matches!(
        store.put_organization(&org("org#1")).await,
        Err(StoreError::Corrupt { .. })
    ));
    assert!(matches!(
        store.put_company(&company("co_1", "")).await,
        Err(StoreError::Corrupt { .. })
    ));
    assert!(matches!(
        store
            .put_location(&location("loc_1", "co 1", "org_1"))
            .await,
        Err(StoreError::Corrupt { .. })
    ));
    assert!(matches!(
        store.put_template(&template("tpl~1", "org_1")).await,
        Err(StoreError::Corrupt { .. })
    ));
    let bad_signer = package("pkg_1", &["user_s", "user#x"]);
    assert!(matches!(
        store.put_package(&bad_signer).await,
        Err(StoreError::Corrupt { .. })
    ));
    assert!(matches!(
        store.create_package(&bad_signer).await,
        Err(CreatePackageError::Store(StoreError::Corrupt { .. }))
    ));
    assert_eq!(store.package("pkg_1").await.unwrap(), None);
    assert_eq!(store.company("co_1").await.unwrap(), None);
    assert_eq!(store.location("loc_1").await.unwrap(), None);
}

/// Each listing holds its parent's children, by id, and nothing of another parent.
pub async fn children_are_listed_under_their_parents<S: ResourceStore>(store: S) {
    for id in ["org_1", "org_2"] {
        store.put_organization(&org(id)).await.unwrap();
    }
    for (id, organization) in [("co_b", "org_1"), ("co_a", "org_1"), ("co_x", "org_2")] {
        store.put_company(&company(id, organization)).await.unwrap();
    }
    for (id, company, organization) in [
        ("loc_2", "co_a", "org_1"),
        ("loc_1", "co_b", "org_1"),
        ("loc_3", "co_a", "org_1"),
        ("loc_x", "co_x", "org_2"),
    ] {
        store
            .put_location(&location(id, company, organization))
            .await
            .unwrap();
    }
    for (id, organization) in [("tpl_2", "org_1"), ("tpl_1", "org_1"), ("tpl_x", "org_2")] {
        store
            .put_template(&template(id, organization))
            .await
            .unwrap();
    }
    for id in ["pkg_b", "pkg_a"] {
        store.put_package(&package(id, &["user_s"])).await.unwrap();
    }
    let elsewhere = Package {
        location_id: "loc_x".into(),
        company_id: "co_x".into(),
        organization_id: "org_2".into(),
        ..package("pkg_x", &["user_s"])
    };
    store.put_package(&elsewhere).await.unwrap();

    let first = || PageRequest::first(100);
    let companies = store.companies_of("org_1", first()).await.unwrap();
    assert_eq!(ids_of(&companies.items, |c| &c.id), ["co_a", "co_b"]);
    assert_eq!(companies.next, None);
    let templates = store.templates_of("org_1", first()).await.unwrap();
    assert_eq!(ids_of(&templates.items, |t| &t.id), ["tpl_1", "tpl_2"]);
    let locations = store
        .locations_of_organization("org_1", first())
        .await
        .unwrap();
    assert_eq!(
        ids_of(&locations.items, |l| &l.id),
        ["loc_2", "loc_3", "loc_1"]
    );
    let of_a = store.locations_of_company("co_a", first()).await.unwrap();
    assert_eq!(ids_of(&of_a.items, |l| &l.id), ["loc_2", "loc_3"]);
    let of_b = store.locations_of_company("co_b", first()).await.unwrap();
    assert_eq!(of_b.items, [location("loc_1", "co_b", "org_1")]);
    let packages = store.packages_at("loc_1", first()).await.unwrap();
    assert_eq!(ids_of(&packages.items, |p| &p.id), ["pkg_a", "pkg_b"]);
    assert_eq!(packages.items.first(), Some(&package("pkg_a", &["user_s"])));
    let there = store.packages_at("loc_x", first()).await.unwrap();
    assert_eq!(there.items, [elsewhere]);
    let org_2 = store.companies_of("org_2", first()).await.unwrap();
    assert_eq!(ids_of(&org_2.items, |c| &c.id), ["co_x"]);
    let none = store.packages_at("loc_2", first()).await.unwrap();
    assert_eq!(none, Page::empty());
}

/// An organization's locations come by company id, then id, also across pages; a company's by id.
pub async fn locations_are_ordered_by_company_then_id<S: ResourceStore>(store: S) {
    store.put_company(&company("co_1", "org_1")).await.unwrap();
    store.put_company(&company("co_1a", "org_1")).await.unwrap();
    store.put_company(&company("co_2", "org_1")).await.unwrap();
    // "co_1" sorts before "co_1a" although "co_1#…" and "co_1a#…" share a prefix.
    for (id, company) in [
        ("z", "co_1a"),
        ("b", "co_2"),
        ("y", "co_1"),
        ("a", "co_1a"),
        ("a", "co_1"),
        ("c", "co_2"),
    ] {
        let id = format!("{id}_{company}");
        store
            .put_location(&location(&id, company, "org_1"))
            .await
            .unwrap();
    }
    let expected = ["a_co_1", "y_co_1", "a_co_1a", "z_co_1a", "b_co_2", "c_co_2"];
    for limit in [1, 2, 4, 100] {
        let (_, ids) = walk(
            limit,
            |l: &Location| &l.id,
            |request| store.locations_of_organization("org_1", request),
        )
        .await;
        assert_eq!(ids, expected, "limit {limit}");
    }
    let (sizes, ids) = walk(
        1,
        |l: &Location| &l.id,
        |request| store.locations_of_company("co_1a", request),
    )
    .await;
    assert_eq!(ids, ["a_co_1a", "z_co_1a"]);
    assert_eq!(sizes, [1, 1]);
}

/// A package with two signers is listed for both of them and for nobody else.
pub async fn packages_of_signer_lists_each_signers_packages<S: ResourceStore>(store: S) {
    let shared = package("pkg_shared", &["user_s", "user_c", "user_s"]);
    let own = package("pkg_own", &["user_s"]);
    store.create_package(&shared).await.unwrap();
    store.put_package(&own).await.unwrap();
    let first = || PageRequest::first(100);
    let of_s = store.packages_of_signer("user_s", first()).await.unwrap();
    assert_eq!(of_s.items, [own.clone(), shared.clone()]);
    let of_c = store.packages_of_signer("user_c", first()).await.unwrap();
    assert_eq!(of_c.items, [shared]);
    assert_eq!(
        store.packages_of_signer("user_x", first()).await.unwrap(),
        Page::empty()
    );
    let (sizes, ids) = walk(
        1,
        |p: &Package| &p.id,
        |request| store.packages_of_signer("user_s", request),
    )
    .await;
    assert_eq!(
        (sizes, ids),
        (vec![1, 1], strings(&["pkg_own", "pkg_shared"]))
    );
}

/// Re-seeding a package with fewer signers replaces it and the kept signers' copies; a dropped
/// signer's copy stays as it was (documented: seeding does not edit packages).
pub async fn reseeding_a_package_keeps_dropped_signers_copies<S: ResourceStore>(store: S) {
    let original = package("pkg_1", &["user_a", "user_b"]);
    store.put_package(&original).await.unwrap();
    let reseeded = Package {
        title: "Reseeded".into(),
        ..package("pkg_1", &["user_a"])
    };
    store.put_package(&reseeded).await.unwrap();
    let first = || PageRequest::first(10);
    assert_eq!(
        store.package("pkg_1").await.unwrap(),
        Some(reseeded.clone())
    );
    let of_a = store.packages_of_signer("user_a", first()).await.unwrap();
    assert_eq!(of_a.items, [reseeded]);
    let of_b = store.packages_of_signer("user_b", first()).await.unwrap();
    assert_eq!(of_b.items, [original]);
}

/// 250 organizations in pages of 100: 100, 100, 50, each id exactly once, ascending, and no cursor
/// after the last page.
pub async fn admin_walks_250_organizations_in_pages_of_100<S: ResourceStore + Clone + 'static>(
    store: S,
) {
    let ids: Vec<String> = (0..250).map(|i| format!("org_{i:03}")).collect();
    let tasks: Vec<_> = ids
        .iter()
        .rev()
        .map(|id| {
            let store = store.clone();
            let organization = org(id);
            tokio::spawn(async move { store.put_organization(&organization).await })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let (sizes, walked) = walk(
        100,
        |o: &Organization| &o.id,
        |request| store.organizations(request),
    )
    .await;
    assert_eq!(sizes, [100, 100, 50]);
    assert_eq!(walked, ids);
    // The same walk again gives the same pages (cursors are stable).
    let again = walk(
        100,
        |o: &Organization| &o.id,
        |request| store.organizations(request),
    )
    .await;
    assert_eq!(again, (sizes, walked));
    // A limit above the maximum is clamped to it.
    let capped = store.organizations(PageRequest::first(1000)).await.unwrap();
    assert_eq!(capped.items.len(), 100);
}

/// Limit 1 over 5 companies: 5 pages of one, the last without a cursor.
pub async fn limit_one_walks_five_companies<S: ResourceStore>(store: S) {
    for id in ["co_5", "co_3", "co_1", "co_4", "co_2"] {
        store.put_company(&company(id, "org_1")).await.unwrap();
    }
    store.put_company(&company("co_0", "org_2")).await.unwrap();
    let (sizes, ids) = walk(
        1,
        |c: &Company| &c.id,
        |request| store.companies_of("org_1", request),
    )
    .await;
    assert_eq!(sizes, [1, 1, 1, 1, 1]);
    assert_eq!(ids, ["co_1", "co_2", "co_3", "co_4", "co_5"]);
}

/// A cursor is base64url text without padding; `Cursor::parse` takes it back and rejects garbage; a
/// cursor past the end gives an empty page.
pub async fn cursors_are_opaque_base64url<S: ResourceStore>(store: S) {
    for id in ["co_1", "co_2", "co_3"] {
        store.put_company(&company(id, "org_1")).await.unwrap();
    }
    let page = store
        .companies_of("org_1", PageRequest::first(1))
        .await
        .unwrap();
    let cursor = page.next.unwrap();
    let text = cursor.as_str();
    assert!(!text.is_empty());
    assert!(
        text.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
        "{text}"
    );
    assert!(!text.contains("co_1"), "the cursor is not the id in clear");
    assert_eq!(Cursor::parse(text), Some(cursor.clone()));
    let second = store
        .companies_of("org_1", PageRequest::after(1, cursor))
        .await
        .unwrap();
    assert_eq!(ids_of(&second.items, |c| &c.id), ["co_2"]);
    for garbage in [
        "", "co_1", "!!!!", "Y29fMQ==", "Y29fMQ=", "Y29fMR", "%%", "YSNiI2M",
    ] {
        assert_eq!(Cursor::parse(garbage), None, "{garbage:?}");
    }
    let past_the_end = store
        .companies_of(
            "org_1",
            PageRequest::after(10, Cursor::parse("enp6").unwrap()),
        )
        .await
        .unwrap();
    assert_eq!(past_the_end, Page::empty());
}

/// A second create with the same id is a conflict and changes nothing, neither the package nor any
/// signer's assignments.
pub async fn creating_a_package_twice_conflicts<S: ResourceStore>(store: S) {
    let first = package("pkg_1", &["user_a"]);
    store.create_package(&first).await.unwrap();
    let second = Package {
        title: "Other".into(),
        location_id: "loc_2".into(),
        ..package("pkg_1", &["user_b"])
    };
    assert!(matches!(
        store.create_package(&second).await,
        Err(CreatePackageError::Conflict)
    ));
    assert_eq!(store.package("pkg_1").await.unwrap(), Some(first.clone()));
    let page = || PageRequest::first(10);
    assert_eq!(
        store.packages_of_signer("user_b", page()).await.unwrap(),
        Page::empty()
    );
    assert_eq!(
        store
            .packages_of_signer("user_a", page())
            .await
            .unwrap()
            .items,
        std::slice::from_ref(&first)
    );
    assert_eq!(
        store.packages_at("loc_2", page()).await.unwrap(),
        Page::empty()
    );
    assert_eq!(
        store.packages_at("loc_1", page()).await.unwrap().items,
        [first]
    );
}

/// 250 ids (existing, missing, repeated and invalid ones) of companies and of locations: the existing
/// records, each once, in the order asked (more than one `BatchGetItem` of 100).
pub async fn batch_lookups_return_the_existing_records<S: ResourceStore + Clone + 'static>(
    store: S,
) {
    let existing: Vec<usize> = (0..250).filter(|i| i % 5 != 0).collect();
    let tasks: Vec<_> = existing
        .iter()
        .map(|i| {
            let store = store.clone();
            let company = company(&format!("co_{i:03}"), "org_1");
            let location = location(&format!("loc_{i:03}"), &company.id, "org_1");
            tokio::spawn(async move {
                store.put_company(&company).await?;
                store.put_location(&location).await
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    // Descending, with two repeats and an invalid id mixed in.
    let mut asked: Vec<usize> = (0..250).rev().collect();
    asked.extend([7, 7]);
    let company_ids: Vec<String> = asked
        .iter()
        .map(|i| format!("co_{i:03}"))
        .chain(["co#1".to_owned()])
        .collect();
    let expected: Vec<String> = (0..250)
        .rev()
        .filter(|i| i % 5 != 0)
        .map(|i| format!("co_{i:03}"))
        .collect();
    let companies = store.companies_by_ids(&company_ids).await.unwrap();
    assert_eq!(ids_of(&companies, |c| &c.id), expected);
    assert_eq!(companies.first(), Some(&company("co_249", "org_1")));

    let location_ids: Vec<String> = asked.iter().map(|i| format!("loc_{i:03}")).collect();
    let locations = store.locations_by_ids(&location_ids).await.unwrap();
    assert_eq!(locations.len(), 200);
    assert_eq!(
        locations.first(),
        Some(&location("loc_249", "co_249", "org_1"))
    );
    assert!(locations.iter().all(|l| l.id.starts_with("loc_")));
}

// ---------------------------------------------------------------------------------------------------------
// Key-store semantics (any KeyStore)

// ---------------------------------------------------------------------------------------------------------
// Key-store semantics (any KeyStore)

/// `put_user` creates, then replaces: role, memberships and suspension all follow the latest write,
/// and each write counts one revision (whatever revision the record passed in says).
pub async fn user_records_round_trip<S: KeyStore>(store: S) {
    let suspended_manager = user("user_roundtrip", Role::Manager, true);
    store.put_user(&suspended_manager).await.unwrap();
    assert_eq!(
        store.user("user_roundtrip").await.unwrap(),
        Some(UserRecord {
            revision: 1,
            ..suspended_manager
        })
    );

    let admin = UserRecord {
        user_id: "user_roundtrip".into(),
        role: Role::Admin,
        memberships: Memberships::default(),
        suspended: false,
        clerk: Default::default(),
        revision: 7,
    };
    store.put_user(&admin).await.unwrap();
    assert_eq!(
        store.user("user_roundtrip").await.unwrap(),
        Some(UserRecord {
            revision: 2,
            ..admin
        })
    );

    let signer = user("user_signer", Role::Signer, false);
    store.put_user(&signer).await.unwrap();
    assert_eq!(
        store.user("user_signer").await.unwrap(),
        Some(UserRecord {
            revision: 1,
            ..signer
        })
    );
    // Role none is a role a record may hold (a user Clerk created, before anyone gave them one).
    let nobody = user("user_role_none", Role::None, false);
    store.put_user(&nobody).await.unwrap();
    assert_eq!(
        store.user("user_role_none").await.unwrap().map(|u| u.role),
        Some(Role::None)
    );
}

/// A created key reads back identically by hash and by id, whoever asks; unknown and malformed ids
/// are `None`.
pub async fn created_keys_are_found_by_hash_and_by_id<S: KeyStore>(store: S) {
    let plaintext = new_key();
    let record = ApiKeyRecord {
        scopes: Scopes::ALL,
        expires_at: None,
        ..key_record(&plaintext, "user_owner")
    };
    create(&store, &record).await;
    assert_eq!(
        store
            .api_key_by_hash(&pepper().hash(&plaintext))
            .await
            .unwrap(),
        Some(record.clone())
    );
    assert_eq!(
        store.api_key_by_id(&record.key_id).await.unwrap(),
        Some(record)
    );
    let unknown = apikey::generate_key_id().unwrap();
    assert_eq!(store.api_key_by_id(&unknown).await.unwrap(), None);
    for malformed in ["", "k#1", "k 1", &"k".repeat(2000)] {
        assert_eq!(store.api_key_by_id(malformed).await.unwrap(), None);
    }
}

/// 50 parallel creates for one user: exactly [`MAX_ACTIVE_KEYS`] succeed, the others are
/// `LimitReached`, and so is the next one. Other users are not affected.
pub async fn concurrent_creates_never_exceed_the_limit<S: KeyStore + Clone + 'static>(store: S) {
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .create_api_key(&fresh_record("user_busy"), MAX_ACTIVE_KEYS, NOW)
                    .await
            })
        })
        .collect();
    let (mut created, mut refused) = (0, 0);
    for task in tasks {
        match task.await.unwrap() {
            Ok(()) => created += 1,
            Err(CreateKeyError::LimitReached) => refused += 1,
            Err(other) => panic!("unexpected create failure: {other:?}"),
        }
    }
    assert_eq!((created, refused), (MAX_ACTIVE_KEYS, 50 - MAX_ACTIVE_KEYS));
    assert_eq!(
        store.active_keys_of("user_busy").await.unwrap().len(),
        MAX_ACTIVE_KEYS
    );
    assert_eq!(
        store.api_keys_of("user_busy").await.unwrap().len(),
        MAX_ACTIVE_KEYS
    );
    assert!(matches!(
        store
            .create_api_key(&fresh_record("user_busy"), MAX_ACTIVE_KEYS, NOW)
            .await,
        Err(CreateKeyError::LimitReached)
    ));
    create(&store, &fresh_record("user_idle")).await;
}

/// At the limit, revoking a key lets exactly one more be created.
pub async fn revoking_frees_a_slot<S: KeyStore>(store: S) {
    let mut held = Vec::new();
    for _ in 0..3 {
        let record = fresh_record("user_full");
        store.create_api_key(&record, 3, NOW).await.unwrap();
        held.push(record);
    }
    assert!(matches!(
        store
            .create_api_key(&fresh_record("user_full"), 3, NOW)
            .await,
        Err(CreateKeyError::LimitReached)
    ));
    store
        .revoke_api_key("user_full", &held[1].key_id, NOW)
        .await
        .unwrap()
        .unwrap();
    store
        .create_api_key(&fresh_record("user_full"), 3, NOW)
        .await
        .unwrap();
    assert!(matches!(
        store
            .create_api_key(&fresh_record("user_full"), 3, NOW)
            .await,
        Err(CreateKeyError::LimitReached)
    ));
    // Revoking an already revoked key frees nothing more.
    store
        .revoke_api_key("user_full", &held[1].key_id, NOW)
        .await
        .unwrap();
    assert!(matches!(
        store
            .create_api_key(&fresh_record("user_full"), 3, NOW)
            .await,
        Err(CreateKeyError::LimitReached)
    ));
}

/// Keys expired at the create's `now` do not count against the limit (expiry is exclusive).
pub async fn expired_keys_do_not_count<S: KeyStore>(store: S) {
    for expires_at in [Some(NOW + 10), Some(NOW + 20), None] {
        let record = ApiKeyRecord {
            expires_at,
            ..fresh_record("user_expiring")
        };
        store.create_api_key(&record, 3, NOW).await.unwrap();
    }
    for now in [NOW, NOW + 9] {
        assert!(matches!(
            store
                .create_api_key(&fresh_record("user_expiring"), 3, now)
                .await,
            Err(CreateKeyError::LimitReached)
        ));
    }
    store
        .create_api_key(&fresh_record("user_expiring"), 3, NOW + 10)
        .await
        .unwrap();
    assert!(matches!(
        store
            .create_api_key(&fresh_record("user_expiring"), 3, NOW + 10)
            .await,
        Err(CreateKeyError::LimitReached)
    ));
    store
        .create_api_key(&fresh_record("user_expiring"), 3, NOW + 20)
        .await
        .unwrap();
    let usable = store
        .active_keys_of("user_expiring")
        .await
        .unwrap()
        .into_iter()
        .filter(|key| key.is_usable_at(NOW + 20))
        .count();
    assert_eq!(usable, 3);
    // Expired is not revoked: every key is still listed, and the expired ones are still active.
    let listed = store.api_keys_of("user_expiring").await.unwrap();
    assert_eq!(listed.len(), 5);
    assert!(listed.iter().all(|record| record.active));
}

/// A second key with an existing id or hash is `Conflict` and writes nothing (not even a slot); an id
/// that could not be read back is refused.
pub async fn duplicate_id_or_hash_conflicts_and_changes_nothing<S: KeyStore>(store: S) {
    let plaintext = new_key();
    let original = key_record(&plaintext, "user_dup");
    store.create_api_key(&original, 2, NOW).await.unwrap();

    let same_id = ApiKeyRecord {
        key_id: original.key_id.clone(),
        ..fresh_record("user_intruder")
    };
    let same_hash = key_record(&plaintext, "user_intruder");
    let same_both = ApiKeyRecord {
        user_id: "user_dup".into(),
        ..original.clone()
    };
    for duplicate in [&same_id, &same_hash, &same_both] {
        assert!(
            matches!(
                store.create_api_key(duplicate, 2, NOW).await,
                Err(CreateKeyError::Conflict)
            ),
            "{duplicate:?}"
        );
    }
    assert_eq!(
        store.api_key_by_id(&original.key_id).await.unwrap(),
        Some(original.clone())
    );
    assert_eq!(
        store.api_key_by_hash(&original.key_hash).await.unwrap(),
        Some(original.clone())
    );
    assert_eq!(store.api_key_by_id(&same_hash.key_id).await.unwrap(), None);
    assert_eq!(store.api_keys_of("user_intruder").await.unwrap(), []);
    assert_eq!(store.active_keys_of("user_intruder").await.unwrap(), []);
    assert_eq!(
        active_ids(&store.active_keys_of("user_dup").await.unwrap()),
        [original.key_id]
    );
    // The refused creates took no slot: one more fits under a limit of 2.
    store
        .create_api_key(&fresh_record("user_dup"), 2, NOW)
        .await
        .unwrap();

    let unreadable = ApiKeyRecord {
        key_id: "k#1".into(),
        ..fresh_record("user_dup")
    };
    assert!(matches!(
        store.create_api_key(&unreadable, 25, NOW).await,
        Err(CreateKeyError::Store(StoreError::Corrupt { .. }))
    ));
}

/// A record created inactive is stored, listed and found, but takes no slot and is not active.
pub async fn inactive_records_take_no_slot<S: KeyStore>(store: S) {
    store
        .create_api_key(&fresh_record("user_inactive"), 1, NOW)
        .await
        .unwrap();
    let dormant = ApiKeyRecord {
        active: false,
        revoked_at: Some(NOW - 1),
        ..fresh_record("user_inactive")
    };
    store.create_api_key(&dormant, 1, NOW).await.unwrap();
    assert_eq!(
        store.api_key_by_id(&dormant.key_id).await.unwrap(),
        Some(dormant.clone())
    );
    assert_eq!(store.api_keys_of("user_inactive").await.unwrap().len(), 2);
    assert!(
        !active_ids(&store.active_keys_of("user_inactive").await.unwrap())
            .contains(&dormant.key_id)
    );
}

/// All of a user's keys, revoked ones included, newest first, ties on `createdAt` by key id
/// descending; nobody else's. Run on a DynamoDB store with a small page size, it crosses pages.
pub async fn api_keys_of_is_newest_first<S: KeyStore>(store: S) {
    let mut expected = Vec::new();
    for created_at in [
        NOW - 300,
        NOW - 100,
        NOW - 200,
        NOW - 100,
        NOW,
        NOW - 100,
        NOW,
    ] {
        let record = ApiKeyRecord {
            created_at,
            ..fresh_record("user_lister")
        };
        create(&store, &record).await;
        expected.push(record);
    }
    create(&store, &fresh_record("user_someone_else")).await;
    for index in [1, 4] {
        let revoked = store
            .revoke_api_key("user_lister", &expected[index].key_id, NOW + 1)
            .await
            .unwrap()
            .unwrap();
        expected[index] = revoked;
    }
    expected.sort_by(|a, b| {
        b.created_at
            .cmp(&a.created_at)
            .then_with(|| b.key_id.cmp(&a.key_id))
    });
    assert_eq!(store.api_keys_of("user_lister").await.unwrap(), expected);
    assert_eq!(store.api_keys_of("user_nobody").await.unwrap(), []);
}

/// Active keys, oldest first (ties by key id ascending), revoked ones left out, expired ones kept.
pub async fn active_keys_of_is_oldest_first_and_excludes_revoked<S: KeyStore>(store: S) {
    let mut records = Vec::new();
    for (created_at, expires_at, scopes) in [
        (NOW - 10, None, Scopes::ALL),
        (NOW - 30, Some(NOW - 1), Scopes::ALL),
        (
            NOW - 20,
            Some(NOW + 50),
            Scopes {
                read: false,
                write: true,
            },
        ),
        (
            NOW - 20,
            None,
            Scopes {
                read: true,
                write: false,
            },
        ),
        (NOW - 40, None, Scopes::ALL),
    ] {
        let record = ApiKeyRecord {
            created_at,
            expires_at,
            scopes,
            ..fresh_record("user_active")
        };
        create(&store, &record).await;
        records.push(record);
    }
    create(&store, &fresh_record("user_other")).await;
    let revoked = records.remove(4);
    store
        .revoke_api_key("user_active", &revoked.key_id, NOW)
        .await
        .unwrap();

    let mut expected: Vec<ActiveKeyRef> = records.iter().map(ActiveKeyRef::from).collect();
    expected.sort_by(|a, b| {
        a.created_at
            .cmp(&b.created_at)
            .then_with(|| a.key_id.cmp(&b.key_id))
    });
    let active = store.active_keys_of("user_active").await.unwrap();
    assert_eq!(active, expected);
    let usable: Vec<bool> = active.iter().map(|key| key.is_usable_at(NOW)).collect();
    assert_eq!(usable, [false, true, true, true]);
    assert_eq!(store.active_keys_of("user_nobody").await.unwrap(), []);
}

/// Another user's key id, an unknown id and a malformed id all revoke nothing and answer `None`.
pub async fn revoking_a_foreign_or_unknown_key_is_none<S: KeyStore>(store: S) {
    let record = fresh_record("user_victim");
    create(&store, &record).await;
    assert_eq!(
        store
            .revoke_api_key("user_attacker", &record.key_id, NOW)
            .await
            .unwrap(),
        None
    );
    let unknown = apikey::generate_key_id().unwrap();
    for key_id in [unknown.as_str(), "", "k#1"] {
        assert_eq!(
            store
                .revoke_api_key("user_victim", key_id, NOW)
                .await
                .unwrap(),
            None
        );
    }
    assert_eq!(
        store.api_key_by_id(&record.key_id).await.unwrap(),
        Some(record.clone())
    );
    assert_eq!(
        active_ids(&store.active_keys_of("user_victim").await.unwrap()),
        [record.key_id]
    );
}

/// The first revoke sets `active = false` and `revokedAt`; repeating it returns the same record and
/// keeps the first `revokedAt`.
pub async fn revoking_twice_is_harmless<S: KeyStore>(store: S) {
    let record = fresh_record("user_twice");
    create(&store, &record).await;
    let revoked = store
        .revoke_api_key("user_twice", &record.key_id, NOW + 1)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        revoked,
        ApiKeyRecord {
            active: false,
            revoked_at: Some(NOW + 1),
            ..record.clone()
        }
    );
    let again = store
        .revoke_api_key("user_twice", &record.key_id, NOW + 2)
        .await
        .unwrap();
    assert_eq!(again, Some(revoked.clone()));
    assert_eq!(
        store.api_key_by_id(&record.key_id).await.unwrap(),
        Some(revoked)
    );
    assert_eq!(store.active_keys_of("user_twice").await.unwrap(), []);
}

/// Parallel revokes of one key all answer the same revoked record: exactly one of them wrote it.
pub async fn concurrent_revokes_agree<S: KeyStore + Clone + 'static>(store: S) {
    let record = fresh_record("user_racing");
    create(&store, &record).await;
    let tasks: Vec<_> = (1..=8)
        .map(|i| {
            let store = store.clone();
            let key_id = record.key_id.clone();
            tokio::spawn(async move {
                store
                    .revoke_api_key("user_racing", &key_id, NOW + i)
                    .await
                    .unwrap()
                    .unwrap()
            })
        })
        .collect();
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.unwrap());
    }
    let stored = store.api_key_by_id(&record.key_id).await.unwrap().unwrap();
    assert!(!stored.active);
    assert!(
        stored
            .revoked_at
            .is_some_and(|at| at > NOW && at <= NOW + 8)
    );
    assert!(
        results.iter().all(|result| *result == stored),
        "{results:?}"
    );
    assert_eq!(store.active_keys_of("user_racing").await.unwrap(), []);
}

/// The authorizer's read still finds a revoked key, inactive, with its revocation time.
pub async fn revoked_keys_stay_readable_by_hash<S: KeyStore>(store: S) {
    let plaintext = new_key();
    let record = key_record(&plaintext, "user_revoker");
    create(&store, &record).await;
    store
        .revoke_api_key("user_revoker", &record.key_id, NOW)
        .await
        .unwrap();
    let stored = store
        .api_key_by_hash(&pepper().hash(&plaintext))
        .await
        .unwrap()
        .unwrap();
    assert!(!stored.active);
    assert_eq!(stored.revoked_at, Some(NOW));
    assert!(!stored.is_usable_at(NOW));
    assert_eq!(stored.key_id, record.key_id);
}

/// `lastUsedAt` is written on first use, then at most once per interval.
pub async fn touch_is_throttled<S: KeyStore>(store: S) {
    let record = fresh_record("user_toucher");
    create(&store, &record).await;
    let hash = record.key_hash;
    let interval = LAST_USED_INTERVAL_SECS;
    assert!(store.touch_api_key(&hash, NOW, interval).await.unwrap());
    assert!(!store.touch_api_key(&hash, NOW, interval).await.unwrap());
    assert!(
        !store
            .touch_api_key(&hash, NOW + interval - 1, interval)
            .await
            .unwrap()
    );
    let read = store.api_key_by_hash(&hash).await.unwrap().unwrap();
    assert_eq!(read.last_used_at, Some(NOW));
    assert!(
        store
            .touch_api_key(&hash, NOW + interval, interval)
            .await
            .unwrap()
    );
    let read = store.api_key_by_hash(&hash).await.unwrap().unwrap();
    assert_eq!(read.last_used_at, Some(NOW + interval));
    // Nothing else about the key changed.
    assert_eq!(
        read,
        ApiKeyRecord {
            last_used_at: Some(NOW + interval),
            ..record
        }
    );
}

/// Touching a hash no key has is `false`, and creates nothing.
pub async fn touch_of_an_unknown_hash_is_false<S: KeyStore>(store: S) {
    let hash = pepper().hash(&new_key());
    assert!(
        !store
            .touch_api_key(&hash, NOW, LAST_USED_INTERVAL_SECS)
            .await
            .unwrap()
    );
    assert_eq!(store.api_key_by_hash(&hash).await.unwrap(), None);
}

/// End to end: a created key is allowed by the authorizer, and denied as revoked once revoked.
pub async fn created_key_authenticates_until_revoked<S: KeyStore + Clone + 'static>(store: S) {
    let owner = user("user_lifecycle", Role::Signer, false);
    store.put_user(&owner).await.unwrap();
    let plaintext = new_key();
    let record = key_record(&plaintext, "user_lifecycle");
    create(&store, &record).await;
    let authorizer = authorizer(store.clone());

    let (result, facts) = decide(&authorizer, &plaintext).await;
    match result.unwrap() {
        Decision::Allow(principal) => {
            assert_eq!(principal.user_id, "user_lifecycle");
            assert_eq!(principal.key_id.as_deref(), Some(record.key_id.as_str()));
            assert_eq!(principal.role, Role::Signer);
        }
        other => panic!("expected an allow, got {other:?}"),
    }
    assert_eq!(facts.key_id.as_deref(), Some(record.key_id.as_str()));

    store
        .revoke_api_key("user_lifecycle", &record.key_id, NOW)
        .await
        .unwrap();
    let (result, facts) = decide(&authorizer, &plaintext).await;
    assert_eq!(result.unwrap(), Decision::Deny(Rejection::InvalidApiKey));
    assert_eq!(facts.reason, Some("revoked"));
}

// ---------------------------------------------------------------------------------------------------------
// Directory semantics (any DirectoryStore)

/// Stores a key record as seeding does, outside `create_api_key`: on DynamoDB
/// ([`DynamoStore::put_api_key`]) without a pointer or an element in the active-key set, so only
/// the `gsi1` listing knows it; in memory ([`MemoryStore::put_key`]).
pub trait SeedsKeys {
    fn seed_key(&self, record: &ApiKeyRecord) -> impl std::future::Future<Output = ()> + Send;
}

impl SeedsKeys for DynamoStore {
    async fn seed_key(&self, record: &ApiKeyRecord) {
        self.put_api_key(record).await.unwrap();
    }
}

impl SeedsKeys for MemoryStore {
    async fn seed_key(&self, record: &ApiKeyRecord) {
        self.put_key(record.clone());
    }
}

fn clerk_event(user_id: &str, at_ms: i64, change: ClerkChange) -> ClerkEvent {
    ClerkEvent {
        user_id: user_id.to_owned(),
        at_ms,
        change,
    }
}

fn updated(suspended: bool) -> ClerkChange {
    ClerkChange::Updated { suspended }
}

fn memberships(organizations: &[&str], companies: &[&str], locations: &[&str]) -> Memberships {
    Memberships {
        organization_ids: strings(organizations),
        company_ids: strings(companies),
        location_ids: strings(locations),
    }
}

fn member(organization_id: &str, user_id: &str, inside: Memberships) -> MemberEntry {
    MemberEntry {
        organization_id: organization_id.to_owned(),
        user_id: user_id.to_owned(),
        memberships: inside,
    }
}

/// Three organizations: `org_a` (company `co_a1`), `org_b` (`co_b1` with `loc_b1`), `org_c`
/// (`co_c1` with `loc_c1`).
async fn directory_world<S: ResourceStore>(store: &S) {
    for id in ["org_a", "org_b", "org_c"] {
        store.put_organization(&org(id)).await.unwrap();
    }
    for (id, organization_id) in [("co_a1", "org_a"), ("co_b1", "org_b"), ("co_c1", "org_c")] {
        store
            .put_company(&company(id, organization_id))
            .await
            .unwrap();
    }
    for (id, company_id, organization_id) in
        [("loc_b1", "co_b1", "org_b"), ("loc_c1", "co_c1", "org_c")]
    {
        store
            .put_location(&location(id, company_id, organization_id))
            .await
            .unwrap();
    }
}

async fn members<S: DirectoryStore>(store: &S, organization_id: &str) -> Vec<MemberEntry> {
    let page = store
        .members_of(organization_id, PageRequest::first(100))
        .await
        .unwrap();
    assert_eq!(page.next, None);
    page.items
}

async fn audit_trail<S: DirectoryStore>(store: &S, organization_id: &str) -> Vec<AuditEntry> {
    let page = store
        .audit_of(organization_id, PageRequest::first(100))
        .await
        .unwrap();
    assert_eq!(page.next, None);
    page.items
}

/// An audit entry of `org_a` about `target`, made with an API key at `at_ms`.
fn audit_entry(target: &str, at_ms: i64, random: &str, after: MemberState) -> AuditEntry {
    AuditEntry {
        id: audit_entry_id(at_ms, random),
        organization_id: "org_a".into(),
        at_ms,
        actor: AuditActor {
            user_id: "user_manager".into(),
            auth_type: AuthType::ApiKey,
            key_id: Some("k_manager".into()),
            client_id: None,
        },
        action: AuditAction::MemberPut,
        target_user_id: target.to_owned(),
        before: None,
        after,
    }
}

/// A change making `user_id` a manager of company `co_a1` (inside `org_a`), on top of `keep`.
fn manage_co_a1(
    user_id: &str,
    expected_revision: Option<u64>,
    keep: Memberships,
    at_ms: i64,
    random: &str,
) -> MembershipChange {
    let mut all = keep;
    all.company_ids.push("co_a1".into());
    let inside = memberships(&[], &["co_a1"], &[]);
    MembershipChange {
        expected_revision,
        user: UserRecord::new(user_id, Role::Manager, all),
        inside_organization: inside.clone(),
        audit: audit_entry(
            user_id,
            at_ms,
            random,
            MemberState {
                role: Role::Manager,
                memberships: inside,
            },
        ),
    }
}

/// Events apply in the order of their own timestamps: an older one never overrides a newer one, an
/// equal timestamp is superseded, a deletion applies even when older and is final. A missing record
/// is created with the default role, no memberships, not suspended by an operator, revision 0.
pub async fn clerk_events_apply_in_timestamp_order<S: DirectoryStore>(store: S) {
    let id = "user_clerk";
    let apply = |at_ms, change| {
        let event = clerk_event(id, at_ms, change);
        let store = &store;
        async move { store.apply_clerk_event(&event, Role::Signer).await.unwrap() }
    };
    assert_eq!(
        apply(100, ClerkChange::Created { suspended: false }).await,
        ClerkOutcome::Applied
    );
    let created = store.user(id).await.unwrap().unwrap();
    assert_eq!(
        created,
        UserRecord {
            clerk: ClerkStatus {
                suspended: false,
                deleted: false,
                event_at: Some(100),
            },
            ..UserRecord::new(id, Role::Signer, Memberships::default())
        }
    );
    assert_eq!(apply(200, updated(true)).await, ClerkOutcome::Applied);
    assert!(store.user(id).await.unwrap().unwrap().is_suspended());
    // Older, then equal: superseded, still suspended.
    for at in [150, 200] {
        assert_eq!(apply(at, updated(false)).await, ClerkOutcome::Superseded);
        assert!(store.user(id).await.unwrap().unwrap().clerk.suspended);
    }
    // A late user.created never recreates or changes anything.
    assert_eq!(
        apply(50, ClerkChange::Created { suspended: false }).await,
        ClerkOutcome::Superseded
    );
    assert_eq!(apply(300, updated(false)).await, ClerkOutcome::Applied);
    let lifted = store.user(id).await.unwrap().unwrap();
    assert!(!lifted.is_suspended());
    assert_eq!(lifted.clerk.event_at, Some(300));
    // A deletion older than the newest event still applies, keeps the newest timestamp, and is final.
    assert_eq!(apply(10, ClerkChange::Deleted).await, ClerkOutcome::Applied);
    let deleted = store.user(id).await.unwrap().unwrap();
    let final_status = ClerkStatus {
        suspended: true,
        deleted: true,
        event_at: Some(300),
    };
    assert_eq!(deleted.clerk, final_status);
    for change in [updated(false), ClerkChange::Created { suspended: false }] {
        assert_eq!(apply(999, change).await, ClerkOutcome::Superseded);
    }
    // A redelivered deletion is harmless.
    assert_eq!(apply(5, ClerkChange::Deleted).await, ClerkOutcome::Applied);
    let after = store.user(id).await.unwrap().unwrap();
    assert_eq!(after.clerk, final_status);
    assert_eq!(
        (after.role, after.revision, after.suspended),
        (Role::Signer, 0, false)
    );
    // A deletion of a user without a record creates a deleted one with the default role.
    assert_eq!(
        store
            .apply_clerk_event(
                &clerk_event("user_gone", 7, ClerkChange::Deleted),
                Role::None
            )
            .await
            .unwrap(),
        ClerkOutcome::Applied
    );
    let gone = store.user("user_gone").await.unwrap().unwrap();
    assert_eq!(gone.role, Role::None);
    assert!(gone.is_suspended() && gone.clerk.deleted);
}

/// Clerk's events never touch the role, the memberships, the operator's suspension or the revision;
/// the operator's `put_user` never touches Clerk's status. Either side's suspension refuses the user.
pub async fn clerk_status_and_operator_writes_stay_apart<S: DirectoryStore>(store: S) {
    directory_world(&store).await;
    let id = "user_apart";
    let operator = UserRecord {
        suspended: true,
        ..UserRecord::new(id, Role::Manager, memberships(&["org_a"], &["co_b1"], &[]))
    };
    store.put_user(&operator).await.unwrap();
    for (at, suspended) in [(10, true), (20, false)] {
        let event = clerk_event(id, at, updated(suspended));
        store.apply_clerk_event(&event, Role::Signer).await.unwrap();
    }
    let record = store.user(id).await.unwrap().unwrap();
    assert_eq!(
        record,
        UserRecord {
            clerk: ClerkStatus {
                suspended: false,
                deleted: false,
                event_at: Some(20),
            },
            revision: 1,
            ..operator.clone()
        }
    );
    assert!(record.is_suspended(), "the operator's suspension stands");
    // Clerk bans; the operator lifts their own suspension and changes the role: Clerk's ban stands.
    let ban = clerk_event(id, 30, updated(true));
    store.apply_clerk_event(&ban, Role::Signer).await.unwrap();
    let lifted = UserRecord {
        suspended: false,
        ..UserRecord::new(id, Role::Signer, Memberships::default())
    };
    store.put_user(&lifted).await.unwrap();
    let record = store.user(id).await.unwrap().unwrap();
    assert_eq!(record.role, Role::Signer);
    assert_eq!(record.memberships, Memberships::default());
    assert!(!record.suspended);
    assert_eq!(record.revision, 2);
    assert_eq!(
        record.clerk,
        ClerkStatus {
            suspended: true,
            deleted: false,
            event_at: Some(30),
        }
    );
    assert!(record.is_suspended());
    // The members listings followed the operator's writes, never the events.
    assert_eq!(members(&store, "org_a").await, []);
    assert_eq!(members(&store, "org_b").await, []);
}

/// Concurrent events of one user end as the newest one says, whatever order they land in.
pub async fn concurrent_clerk_events_end_in_timestamp_order<S: DirectoryStore + Clone + 'static>(
    store: S,
) {
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let store = store.clone();
            // The newest (at 15) bans.
            let event = clerk_event("user_race", 100 + i, updated(i % 2 == 1));
            tokio::spawn(async move { store.apply_clerk_event(&event, Role::Signer).await })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let record = store.user("user_race").await.unwrap().unwrap();
    assert_eq!(
        record.clerk,
        ClerkStatus {
            suspended: true,
            deleted: false,
            event_at: Some(115),
        }
    );
    assert_eq!((record.role, record.revision), (Role::Signer, 0));
}

/// `put_user` counts revisions and keeps one projection per organization the memberships reach
/// (an organization itself, a company's, a location's), moving them when the memberships move and
/// skipping ids of companies and locations that do not exist.
pub async fn put_user_moves_member_projections<S: DirectoryStore>(store: S) {
    directory_world(&store).await;
    let id = "user_mover";
    let first = UserRecord::new(
        id,
        Role::Manager,
        memberships(
            &["org_a"],
            &["co_b1", "co_unknown"],
            &["loc_b1", "loc_unknown"],
        ),
    );
    store.put_user(&first).await.unwrap();
    assert_eq!(
        store.user(id).await.unwrap(),
        Some(UserRecord {
            revision: 1,
            ..first.clone()
        })
    );
    assert_eq!(
        members(&store, "org_a").await,
        [member("org_a", id, memberships(&["org_a"], &[], &[]))]
    );
    assert_eq!(
        members(&store, "org_b").await,
        [member(
            "org_b",
            id,
            memberships(&[], &["co_b1"], &["loc_b1"])
        )]
    );
    assert_eq!(members(&store, "org_c").await, []);

    // Moved: out of org_a and org_b, into org_c (by a location only).
    let moved = UserRecord::new(id, Role::Manager, memberships(&[], &[], &["loc_c1"]));
    store.put_user(&moved).await.unwrap();
    assert_eq!(store.user(id).await.unwrap().unwrap().revision, 2);
    assert_eq!(members(&store, "org_a").await, []);
    assert_eq!(members(&store, "org_b").await, []);
    assert_eq!(
        members(&store, "org_c").await,
        [member("org_c", id, memberships(&[], &[], &["loc_c1"]))]
    );
    // The same write again: same projections, next revision.
    store.put_user(&moved).await.unwrap();
    assert_eq!(store.user(id).await.unwrap().unwrap().revision, 3);
    assert_eq!(members(&store, "org_c").await.len(), 1);
    // Partly moved: org_c keeps the user with other memberships, org_a gains them.
    let partly = UserRecord::new(id, Role::Manager, memberships(&["org_c"], &["co_a1"], &[]));
    store.put_user(&partly).await.unwrap();
    assert_eq!(
        members(&store, "org_c").await,
        [member("org_c", id, memberships(&["org_c"], &[], &[]))]
    );
    assert_eq!(
        members(&store, "org_a").await,
        [member("org_a", id, memberships(&[], &["co_a1"], &[]))]
    );
    // No memberships: no projection anywhere.
    store
        .put_user(&UserRecord::new(id, Role::Signer, Memberships::default()))
        .await
        .unwrap();
    for organization_id in ["org_a", "org_b", "org_c"] {
        assert_eq!(members(&store, organization_id).await, []);
    }
    assert_eq!(store.user(id).await.unwrap().unwrap().revision, 5);
}

/// A projection is written with the user: a company created after the user's write is reflected by
/// the next write, not before (nothing is recomputed on read).
pub async fn projections_follow_writes_not_later_resources<S: DirectoryStore>(store: S) {
    let id = "user_early";
    let record = UserRecord::new(id, Role::Manager, memberships(&[], &["co_late"], &[]));
    store.put_user(&record).await.unwrap();
    store.put_organization(&org("org_late")).await.unwrap();
    store
        .put_company(&company("co_late", "org_late"))
        .await
        .unwrap();
    assert_eq!(members(&store, "org_late").await, []);
    store.put_user(&record).await.unwrap();
    assert_eq!(
        members(&store, "org_late").await,
        [member("org_late", id, memberships(&[], &["co_late"], &[]))]
    );
}

/// A user in more organizations than one transaction holds (150): the record and the first
/// projections are written together, the rest in follow-up transactions; every organization lists
/// the user, and moving to one organization deletes all 150 projections.
pub async fn put_user_projects_more_organizations_than_one_transaction_holds<S: DirectoryStore>(
    store: S,
) {
    let many: Vec<String> = (0..150).map(|i| format!("org_{i:03}")).collect();
    let record = UserRecord::new(
        "user_many",
        Role::Manager,
        Memberships {
            organization_ids: many.clone(),
            ..Memberships::default()
        },
    );
    store.put_user(&record).await.unwrap();
    for org in ["org_000", "org_098", "org_099", "org_149"] {
        assert_eq!(members(&store, org).await.len(), 1, "{org}");
    }
    let moved = UserRecord::new(
        "user_many",
        Role::Manager,
        memberships(&["org_new"], &[], &[]),
    );
    store.put_user(&moved).await.unwrap();
    for org in ["org_000", "org_098", "org_099", "org_149"] {
        assert!(members(&store, org).await.is_empty(), "{org}");
    }
    assert_eq!(members(&store, "org_new").await.len(), 1);
    assert_eq!(store.user("user_many").await.unwrap().unwrap().revision, 2);
}

/// A delegated change writes the record (role and memberships, revision + 1, suspensions kept), the
/// projection and its audit entry together; a stale revision writes nothing at all.
pub async fn change_membership_writes_everything_or_nothing<S: DirectoryStore>(store: S) {
    directory_world(&store).await;
    let id = "user_target";
    let before = UserRecord {
        suspended: true,
        ..UserRecord::new(id, Role::Signer, memberships(&[], &["co_b1"], &[]))
    };
    store.put_user(&before).await.unwrap();
    let event = clerk_event(id, 500, updated(true));
    store.apply_clerk_event(&event, Role::None).await.unwrap();

    let change = manage_co_a1(id, Some(1), before.memberships.clone(), NOW * 1000, "r1");
    store.change_membership(&change).await.unwrap();
    let after = store.user(id).await.unwrap().unwrap();
    assert_eq!(after.role, Role::Manager);
    assert_eq!(
        after.memberships,
        memberships(&[], &["co_b1", "co_a1"], &[])
    );
    assert_eq!(after.revision, 2);
    assert!(after.suspended, "the operator's suspension is kept");
    assert_eq!(after.clerk.event_at, Some(500));
    assert!(after.clerk.suspended, "Clerk's suspension is kept");
    assert_eq!(
        members(&store, "org_a").await,
        [member("org_a", id, memberships(&[], &["co_a1"], &[]))]
    );
    // Other organizations' projections are the caller's business, not the change's.
    assert_eq!(members(&store, "org_b").await.len(), 1);
    assert_eq!(
        audit_trail(&store, "org_a").await,
        std::slice::from_ref(&change.audit)
    );

    // Decided on revision 1, which is gone: a conflict, and neither the record, the projection nor
    // the trail changes.
    let stale = MembershipChange {
        inside_organization: Memberships::default(),
        ..manage_co_a1(id, Some(1), Memberships::default(), NOW * 1000 + 1, "r2")
    };
    assert!(matches!(
        store.change_membership(&stale).await,
        Err(ChangeError::Conflict)
    ));
    assert_eq!(store.user(id).await.unwrap(), Some(after.clone()));
    assert_eq!(members(&store, "org_a").await.len(), 1);
    assert_eq!(
        audit_trail(&store, "org_a").await,
        std::slice::from_ref(&change.audit)
    );
    // A change that expects no record while there is one conflicts too.
    let creating = manage_co_a1(id, None, Memberships::default(), NOW * 1000 + 2, "r3");
    assert!(matches!(
        store.change_membership(&creating).await,
        Err(ChangeError::Conflict)
    ));
    assert_eq!(audit_trail(&store, "org_a").await.len(), 1);

    // Removed from org_a on the current revision: the projection goes, the trail grows.
    let removal = MembershipChange {
        expected_revision: Some(2),
        user: UserRecord::new(id, Role::Manager, memberships(&[], &["co_b1"], &[])),
        inside_organization: Memberships::default(),
        audit: AuditEntry {
            action: AuditAction::MemberDelete,
            before: Some(change.audit.after.clone()),
            after: MemberState {
                role: Role::Manager,
                memberships: Memberships::default(),
            },
            ..audit_entry(id, NOW * 1000 + 3, "r4", change.audit.after.clone())
        },
    };
    store.change_membership(&removal).await.unwrap();
    assert_eq!(members(&store, "org_a").await, []);
    assert_eq!(store.user(id).await.unwrap().unwrap().revision, 3);
    assert_eq!(
        audit_trail(&store, "org_a").await,
        [removal.audit.clone(), change.audit.clone()]
    );
}

/// A change for a user without a record creates it (revision 1, not suspended, no Clerk history),
/// unless a record appeared meanwhile; one decided on revision 0 applies to a record Clerk created.
pub async fn change_membership_creates_a_missing_record<S: DirectoryStore>(store: S) {
    directory_world(&store).await;
    let creation = manage_co_a1("user_new", None, Memberships::default(), NOW * 1000, "c1");
    store.change_membership(&creation).await.unwrap();
    assert_eq!(
        store.user("user_new").await.unwrap(),
        Some(UserRecord {
            revision: 1,
            ..UserRecord::new("user_new", Role::Manager, memberships(&[], &["co_a1"], &[]))
        })
    );
    assert_eq!(members(&store, "org_a").await.len(), 1);
    // Expecting revision 0 (or any) of a record that does not exist is a conflict.
    let ghost = manage_co_a1(
        "user_ghost",
        Some(0),
        Memberships::default(),
        NOW * 1000,
        "c2",
    );
    assert!(matches!(
        store.change_membership(&ghost).await,
        Err(ChangeError::Conflict)
    ));
    assert_eq!(store.user("user_ghost").await.unwrap(), None);

    // Clerk created the record (revision 0) after the change was decided on "no record".
    let event = clerk_event(
        "user_clerk_first",
        9,
        ClerkChange::Created { suspended: true },
    );
    store.apply_clerk_event(&event, Role::None).await.unwrap();
    let late = manage_co_a1(
        "user_clerk_first",
        None,
        Memberships::default(),
        NOW * 1000,
        "c3",
    );
    assert!(matches!(
        store.change_membership(&late).await,
        Err(ChangeError::Conflict)
    ));
    // Decided again on what is there, revision 0: applies, keeps Clerk's status.
    let again = manage_co_a1(
        "user_clerk_first",
        Some(0),
        Memberships::default(),
        NOW * 1000 + 10,
        "c4",
    );
    store.change_membership(&again).await.unwrap();
    let record = store.user("user_clerk_first").await.unwrap().unwrap();
    assert_eq!((record.role, record.revision), (Role::Manager, 1));
    assert!(record.clerk.suspended && record.is_suspended());
    assert_eq!(
        ids_of(&audit_trail(&store, "org_a").await, |e| &e.id),
        [again.audit.id.clone(), creation.audit.id.clone()]
    );
}

/// Of concurrent changes decided on the same revision, exactly one is written.
pub async fn concurrent_changes_of_one_revision_write_once<S: DirectoryStore + Clone + 'static>(
    store: S,
) {
    directory_world(&store).await;
    store
        .put_user(&UserRecord::new(
            "user_contested",
            Role::Signer,
            Memberships::default(),
        ))
        .await
        .unwrap();
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let store = store.clone();
            let change = manage_co_a1(
                "user_contested",
                Some(1),
                Memberships::default(),
                NOW * 1000 + i,
                &format!("race{i}"),
            );
            tokio::spawn(async move { store.change_membership(&change).await })
        })
        .collect();
    let mut written = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(()) => written += 1,
            Err(ChangeError::Conflict) => {}
            Err(other) => panic!("{other:?}"),
        }
    }
    assert_eq!(written, 1);
    assert_eq!(audit_trail(&store, "org_a").await.len(), 1);
    assert_eq!(
        store
            .user("user_contested")
            .await
            .unwrap()
            .unwrap()
            .revision,
        2
    );
}

/// The audit trail reads newest first, whatever order the entries were written in, page by page,
/// and only the organization's own entries.
pub async fn audit_of_is_newest_first_and_pages<S: DirectoryStore>(store: S) {
    directory_world(&store).await;
    let times = [5, 1, 7, 3, 2, 6, 4];
    let mut written = Vec::new();
    for (revision, at) in times.iter().enumerate() {
        let expected = (revision > 0).then(|| u64::try_from(revision).unwrap());
        let at_ms = NOW * 1000 + at;
        let change = manage_co_a1(
            "user_audited",
            expected,
            Memberships::default(),
            at_ms,
            &format!("e{at}"),
        );
        store.change_membership(&change).await.unwrap();
        written.push(change.audit);
    }
    // Another organization's trail.
    let mut elsewhere = manage_co_a1("user_other", None, Memberships::default(), NOW * 1000, "x");
    elsewhere.audit.organization_id = "org_b".into();
    store.change_membership(&elsewhere).await.unwrap();

    written.sort_by_key(|entry| std::cmp::Reverse(entry.at_ms));
    let expected_ids = ids_of(&written, |e| &e.id);
    let (sizes, walked) = walk(
        3,
        |e: &AuditEntry| &e.id,
        |request| store.audit_of("org_a", request),
    )
    .await;
    assert_eq!(sizes, [3, 3, 1]);
    assert_eq!(walked, expected_ids);
    assert_eq!(audit_trail(&store, "org_a").await, written);
    assert_eq!(audit_trail(&store, "org_b").await, [elsewhere.audit]);
    assert_eq!(audit_trail(&store, "org_c").await, []);
}

/// 250 members in pages of 100: 100, 100, 50, by user id, each once.
pub async fn members_of_pages_250_members<S: DirectoryStore + Clone + 'static>(store: S) {
    let ids: Vec<String> = (0..250).map(|i| format!("user_{i:03}")).collect();
    let tasks: Vec<_> = ids
        .iter()
        .rev()
        .map(|id| {
            let store = store.clone();
            let record = UserRecord::new(
                id.clone(),
                Role::Signer,
                memberships(&["org_big"], &[], &[]),
            );
            tokio::spawn(async move { store.put_user(&record).await })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    store
        .put_user(&UserRecord::new(
            "user_outside",
            Role::Signer,
            memberships(&["org_small"], &[], &[]),
        ))
        .await
        .unwrap();
    let (sizes, walked) = walk(
        100,
        |m: &MemberEntry| &m.user_id,
        |request| store.members_of("org_big", request),
    )
    .await;
    assert_eq!(sizes, [100, 100, 50]);
    assert_eq!(walked, ids);
    let first = store
        .members_of("org_big", PageRequest::first(1000))
        .await
        .unwrap();
    assert_eq!(first.items.len(), 100);
    assert_eq!(
        first.items.first(),
        Some(&member(
            "org_big",
            "user_000",
            memberships(&["org_big"], &[], &[])
        ))
    );
}

/// Users by id: the existing records, each once, across more than one batch; unknown, repeated and
/// invalid ids ignored.
pub async fn users_by_ids_returns_existing_records_once<S: DirectoryStore + Clone + 'static>(
    store: S,
) {
    let existing: Vec<String> = (0..130).map(|i| format!("user_b{i:03}")).collect();
    let tasks: Vec<_> = existing
        .iter()
        .map(|id| {
            let store = store.clone();
            let record = UserRecord::new(id.clone(), Role::Signer, Memberships::default());
            tokio::spawn(async move { store.put_user(&record).await })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let mut asked: Vec<String> = existing.iter().rev().cloned().collect();
    asked.extend(strings(&[
        "user_b007",
        "user_b007",
        "user_none",
        "user#1",
        "",
        "user b",
        "user_b000",
    ]));
    let mut found = store.users_by_ids(&asked).await.unwrap();
    found.sort_by(|a, b| a.user_id.cmp(&b.user_id));
    assert_eq!(ids_of(&found, |u| &u.user_id), existing);
    assert!(
        found
            .iter()
            .all(|u| u.revision == 1 && u.role == Role::Signer)
    );
    assert_eq!(store.users_by_ids(&[]).await.unwrap(), []);
    assert_eq!(
        store.users_by_ids(&strings(&["user#1", ""])).await.unwrap(),
        []
    );
}

/// Every active key goes: 25 created (with set elements) and 2 seeded (without), not the one revoked
/// before nor another user's key. The slots are free again, no key is usable, a repeat revokes none,
/// and a run that finds some keys revoked already (an interrupted one) finishes the rest.
pub async fn revoke_keys_of_revokes_every_active_key<S: DirectoryStore + SeedsKeys>(store: S) {
    let owner = "user_leaving";
    let earlier = fresh_record(owner);
    create(&store, &earlier).await;
    let earlier = store
        .revoke_api_key(owner, &earlier.key_id, NOW - 50)
        .await
        .unwrap()
        .unwrap();
    let mut keys = Vec::new();
    for _ in 0..MAX_ACTIVE_KEYS {
        let record = fresh_record(owner);
        create(&store, &record).await;
        keys.push(record);
    }
    for _ in 0..2 {
        let record = fresh_record(owner);
        store.seed_key(&record).await;
        keys.push(record);
    }
    let bystander = fresh_record("user_staying");
    create(&store, &bystander).await;
    // As if an earlier run had revoked three before failing.
    for record in keys.iter().take(3) {
        store
            .revoke_api_key(owner, &record.key_id, NOW - 10)
            .await
            .unwrap();
    }

    assert_eq!(store.revoke_keys_of(owner, NOW).await.unwrap(), 24);
    assert_eq!(store.revoke_keys_of(owner, NOW + 1).await.unwrap(), 0);
    for (i, record) in keys.iter().enumerate() {
        let stored = store
            .api_key_by_hash(&record.key_hash)
            .await
            .unwrap()
            .unwrap();
        assert!(!stored.active && !stored.is_usable_at(NOW), "{i}");
        let revoked_at = if i < 3 { NOW - 10 } else { NOW };
        assert_eq!(stored.revoked_at, Some(revoked_at), "{i}");
    }
    assert_eq!(
        store.api_key_by_hash(&earlier.key_hash).await.unwrap(),
        Some(earlier)
    );
    assert_eq!(store.active_keys_of(owner).await.unwrap(), []);
    let listed = store.api_keys_of(owner).await.unwrap();
    assert_eq!(listed.len(), 28);
    assert!(listed.iter().all(|key| !key.active));
    // The bystander's key is untouched; the owner may create keys again (the set is empty).
    assert!(
        store
            .api_key_by_hash(&bystander.key_hash)
            .await
            .unwrap()
            .unwrap()
            .active
    );
    create(&store, &fresh_record(owner)).await;
    assert_eq!(store.active_keys_of(owner).await.unwrap().len(), 1);
    assert_eq!(store.revoke_keys_of("user_nobody", NOW).await.unwrap(), 0);
    assert_eq!(store.revoke_keys_of("user#1", NOW).await.unwrap(), 0);
}

/// Recording a delivery is idempotent (the first record stands), and only its id is seen.
pub async fn webhook_deliveries_are_idempotent<S: DirectoryStore>(store: S) {
    // Real time: the record must not be past its time to live while the test runs.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let now = i64::try_from(now).unwrap();
    assert!(!store.webhook_delivery_seen("msg_1").await.unwrap());
    store
        .record_webhook_delivery("msg_1", "user.created", now)
        .await
        .unwrap();
    assert!(store.webhook_delivery_seen("msg_1").await.unwrap());
    store
        .record_webhook_delivery("msg_1", "user.deleted", now + 5)
        .await
        .unwrap();
    assert!(store.webhook_delivery_seen("msg_1").await.unwrap());
    assert!(!store.webhook_delivery_seen("msg_2").await.unwrap());
    assert!(!store.webhook_delivery_seen("msg#1").await.unwrap());
    assert!(!store.webhook_delivery_seen("").await.unwrap());
    assert!(matches!(
        store
            .record_webhook_delivery("msg 1", "user.created", now)
            .await,
        Err(StoreError::Corrupt { .. })
    ));
}

/// Ids that are not ids: lookups answer nothing, writes are refused and write nothing.
pub async fn directory_refuses_ids_that_are_not_ids<S: DirectoryStore>(store: S) {
    for bad in ["", "org#1", "a b", "ORG~"] {
        assert_eq!(
            store.members_of(bad, PageRequest::first(10)).await.unwrap(),
            Page::empty()
        );
        assert_eq!(
            store.audit_of(bad, PageRequest::first(10)).await.unwrap(),
            Page::empty()
        );
        assert!(matches!(
            store
                .apply_clerk_event(&clerk_event(bad, 1, updated(true)), Role::None)
                .await,
            Err(StoreError::Corrupt { .. })
        ));
        assert!(matches!(
            store
                .put_user(&UserRecord::new(bad, Role::Signer, Memberships::default()))
                .await,
            Err(StoreError::Corrupt { .. })
        ));
        assert!(matches!(
            store
                .put_user(&UserRecord::new(
                    "user_ok",
                    Role::Signer,
                    memberships(&[], &[bad], &[])
                ))
                .await,
            Err(StoreError::Corrupt { .. })
        ));
        let mut change = manage_co_a1("user_ok", None, Memberships::default(), NOW, "b");
        change.audit.organization_id = bad.to_owned();
        assert!(matches!(
            store.change_membership(&change).await,
            Err(ChangeError::Store(StoreError::Corrupt { .. }))
        ));
    }
    assert_eq!(store.user("user_ok").await.unwrap(), None);
}

// ---------------------------------------------------------------------------------------------------------
// DynamoDB specifics

/// The directory's items are the documented ones: the profile a `put_user`, a Clerk event and a
/// delegated change write, the member projections, the audit entry, the webhook delivery with its
/// time to live, which the table has on `ttl`.
pub async fn directory_items_are_the_documented_ones(store: DynamoStore) {
    directory_world(&store).await;
    let profile = |user_id: &str| {
        let pk = format!("USER#{user_id}");
        let store = &store;
        async move { get_raw(store, &pk, "PROFILE").await }
    };
    let operator = UserRecord::new(
        "user_doc",
        Role::Manager,
        memberships(&["org_a"], &["co_b1"], &[]),
    );
    store.put_user(&operator).await.unwrap();
    let mut expected = user_item(&UserRecord {
        revision: 1,
        ..operator.clone()
    });
    // The operator's write never writes Clerk's attributes.
    for name in ["clerkSuspended", "clerkDeleted", "clerkEventAt"] {
        expected.remove(name);
    }
    assert_eq!(profile("user_doc").await, Some(expected));
    assert_eq!(
        get_raw(&store, "MEMBERS#org_a", "MEMBER#user_doc").await,
        Some(member_item(&member(
            "org_a",
            "user_doc",
            memberships(&["org_a"], &[], &[])
        )))
    );
    assert_eq!(
        get_raw(&store, "MEMBERS#org_b", "MEMBER#user_doc").await,
        Some(member_item(&member(
            "org_b",
            "user_doc",
            memberships(&[], &["co_b1"], &[])
        )))
    );
    let ban = clerk_event("user_doc", 42, updated(true));
    store.apply_clerk_event(&ban, Role::None).await.unwrap();
    let banned = UserRecord {
        revision: 1,
        clerk: ClerkStatus {
            suspended: true,
            deleted: false,
            event_at: Some(42),
        },
        ..operator
    };
    assert_eq!(profile("user_doc").await, Some(user_item(&banned)));

    let created = clerk_event(
        "user_from_clerk",
        7,
        ClerkChange::Created { suspended: false },
    );
    store
        .apply_clerk_event(&created, Role::Signer)
        .await
        .unwrap();
    let from_clerk = UserRecord {
        clerk: ClerkStatus {
            suspended: false,
            deleted: false,
            event_at: Some(7),
        },
        ..UserRecord::new("user_from_clerk", Role::Signer, Memberships::default())
    };
    // Created by a webhook: the record never names the operator's suspension.
    let mut expected = user_item(&from_clerk);
    expected.remove("suspended");
    assert_eq!(profile("user_from_clerk").await, Some(expected));

    let change = manage_co_a1(
        "user_delegated",
        None,
        Memberships::default(),
        NOW * 1000,
        "d1",
    );
    store.change_membership(&change).await.unwrap();
    // Created by a delegated change: neither the operator's nor Clerk's suspension is named.
    let mut expected = user_item(&UserRecord {
        revision: 1,
        ..change.user.clone()
    });
    for attribute in ["suspended", "clerkSuspended", "clerkDeleted"] {
        expected.remove(attribute);
    }
    assert_eq!(profile("user_delegated").await, Some(expected));
    assert_eq!(
        get_raw(&store, "AUDIT#org_a", &format!("AUDIT#{}", change.audit.id)).await,
        Some(audit_item(&change.audit))
    );
    assert_eq!(
        get_raw(&store, "MEMBERS#org_a", "MEMBER#user_delegated").await,
        Some(member_item(&member(
            "org_a",
            "user_delegated",
            memberships(&[], &["co_a1"], &[])
        )))
    );

    let now = i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap();
    store
        .record_webhook_delivery("msg_doc", "user.updated", now)
        .await
        .unwrap();
    let delivery = get_raw(&store, "WEBHOOK#msg_doc", "WEBHOOK").await.unwrap();
    assert_eq!(delivery, webhook_item("msg_doc", "user.updated", now));
    assert_eq!(
        delivery.get(TABLE.time_to_live_attribute),
        Some(&AttributeValue::N((now + 30 * 24 * 3600).to_string()))
    );
    let ttl = store
        .client()
        .describe_time_to_live()
        .table_name(store.table())
        .send()
        .await
        .unwrap()
        .time_to_live_description
        .unwrap();
    assert_eq!(ttl.attribute_name.as_deref(), Some("ttl"));
    assert_eq!(ttl.time_to_live_status, Some(TimeToLiveStatus::Enabled));
    // 3 organizations, 3 companies, 2 locations, 3 users, 3 projections, 1 entry, 1 delivery.
    assert_eq!(scan_all(&store).await.len(), 16);
}

/// A record written before revisions and Clerk's attributes existed reads as revision 0 with no
/// Clerk history; the operator's write and a change decided on revision 0 both apply to it, and
/// neither adds Clerk's attributes.
pub async fn records_without_a_revision_are_revision_zero(store: DynamoStore) {
    directory_world(&store).await;
    let legacy = |user_id: &str| {
        let mut item = user_item(&UserRecord::new(
            user_id,
            Role::Manager,
            memberships(&["org_a"], &[], &[]),
        ));
        for name in ["revision", "clerkSuspended", "clerkDeleted", "clerkEventAt"] {
            item.remove(name);
        }
        item
    };
    put_raw(&store, legacy("user_old_op")).await;
    put_raw(&store, legacy("user_old_change")).await;
    let read = store.user("user_old_op").await.unwrap().unwrap();
    assert_eq!((read.revision, read.clerk), (0, ClerkStatus::default()));

    // No projection was ever written for it: the operator's write puts org_b's, deletes org_a's.
    let moved = UserRecord::new(
        "user_old_op",
        Role::Signer,
        memberships(&["org_b"], &[], &[]),
    );
    store.put_user(&moved).await.unwrap();
    let raw = get_raw(&store, "USER#user_old_op", "PROFILE")
        .await
        .unwrap();
    assert_eq!(raw.get("revision"), Some(&AttributeValue::N("1".into())));
    assert!(!raw.contains_key("clerkSuspended") && !raw.contains_key("clerkDeleted"));
    assert_eq!(members(&store, "org_b").await.len(), 1);
    assert_eq!(members(&store, "org_a").await, []);

    let change = manage_co_a1(
        "user_old_change",
        Some(0),
        memberships(&["org_a"], &[], &[]),
        NOW * 1000,
        "l1",
    );
    store.change_membership(&change).await.unwrap();
    let after = store.user("user_old_change").await.unwrap().unwrap();
    assert_eq!((after.revision, after.role), (1, Role::Manager));
    let raw = get_raw(&store, "USER#user_old_change", "PROFILE")
        .await
        .unwrap();
    assert!(!raw.contains_key("clerkSuspended"));
}

/// Corrupt directory items are errors, never answers; a corrupt user record is not overwritten by
/// an operator's write or an event (its memberships, hence its projections, are unknown).
pub async fn corrupt_directory_items_are_errors(store: DynamoStore) {
    let mut projection = member_item(&member(
        "org_x",
        "user_x",
        memberships(&["org_x"], &[], &[]),
    ));
    projection.insert("companyIds".into(), AttributeValue::S("co_1".into()));
    put_raw(&store, projection).await;
    assert!(matches!(
        store.members_of("org_x", PageRequest::first(10)).await,
        Err(StoreError::Corrupt { .. })
    ));

    let mut entry = audit_item(&audit_entry(
        "user_x",
        NOW * 1000,
        "z",
        MemberState {
            role: Role::Signer,
            memberships: Memberships::default(),
        },
    ));
    entry.remove("after");
    put_raw(&store, entry).await;
    assert!(matches!(
        store.audit_of("org_a", PageRequest::first(10)).await,
        Err(StoreError::Corrupt { .. })
    ));

    let mut user = user_item(&UserRecord::new(
        "user_bad",
        Role::Signer,
        Memberships::default(),
    ));
    user.insert("role".into(), AttributeValue::S("root".into()));
    put_raw(&store, user.clone()).await;
    assert!(matches!(
        store.users_by_ids(&strings(&["user_bad"])).await,
        Err(StoreError::Corrupt { .. })
    ));
    assert!(matches!(
        store
            .apply_clerk_event(&clerk_event("user_bad", 1, updated(true)), Role::None)
            .await,
        Err(StoreError::Corrupt { .. })
    ));
    assert!(matches!(
        store
            .put_user(&UserRecord::new(
                "user_bad",
                Role::Admin,
                Memberships::default()
            ))
            .await,
        Err(StoreError::Corrupt { .. })
    ));
    assert_eq!(
        get_raw(&store, "USER#user_bad", "PROFILE").await,
        Some(user)
    );
}

/// An element of the active-key set whose key is unknown (no pointer) is dropped by a revocation
/// and not counted; its owner's keys known only from the set are found through their pointers.
pub async fn revoke_keys_of_drops_elements_of_unknown_keys(store: DynamoStore) {
    let owner = "user_dangling";
    let known = fresh_record(owner);
    create(&store, &known).await;
    let ghost = ActiveKeyRef::from(&fresh_record(owner));
    store
        .client()
        .update_item()
        .table_name(store.table())
        .key("pk", AttributeValue::S(format!("USER#{owner}")))
        .key("sk", AttributeValue::S("ACTIVEKEYS".into()))
        .update_expression("ADD #keys :element")
        .expression_attribute_names("#keys", "keys")
        .expression_attribute_values(
            ":element",
            AttributeValue::Ss(vec![active_key_element(&ghost)]),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(store.active_keys_of(owner).await.unwrap().len(), 2);
    assert_eq!(store.revoke_keys_of(owner, NOW).await.unwrap(), 1);
    assert_eq!(store.active_keys_of(owner).await.unwrap(), []);
    assert_eq!(store.revoke_keys_of(owner, NOW).await.unwrap(), 0);
    assert!(
        !store
            .api_key_by_hash(&known.key_hash)
            .await
            .unwrap()
            .unwrap()
            .active
    );
}

pub async fn unknown_user_is_none(store: DynamoStore) {
    assert_eq!(store.user("user_nobody").await.unwrap(), None);
    // A key item's owner id is not a user record, nor is the owner's active-key set.
    create(&store, &fresh_record("user_owner")).await;
    store
        .put_api_key(&fresh_record("user_owner"))
        .await
        .unwrap();
    assert_eq!(store.user("user_owner").await.unwrap(), None);
}

pub async fn api_key_records_round_trip(store: DynamoStore) {
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
        revoked_at: Some(NOW - 2),
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

pub async fn unknown_hash_is_none(store: DynamoStore) {
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

pub async fn put_api_key_refuses_a_second_record_with_the_same_hash(store: DynamoStore) {
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

pub async fn corrupt_key_item_is_an_error_never_a_decision(store: DynamoStore) {
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

/// A record missing an attribute Gatehouse always writes is corrupt (a 500), never its permissive
/// default: a key without `expiresAt` is not "never expires", a user without `suspended` is not
/// "active". `backfill_key_expiry` (run by `gatehouse init`) upgrades key records an earlier version
/// wrote without `expiresAt`, and only those.
pub async fn records_missing_an_attribute_are_corrupt_until_backfilled(store: DynamoStore) {
    let key = new_key();
    let record = ApiKeyRecord {
        expires_at: None,
        ..key_record(&key, "user_old")
    };
    let mut item = api_key_item(&record);
    assert_eq!(item.remove("expiresAt"), Some(AttributeValue::Null(true)));
    put_raw(&store, item).await;
    store
        .put_user(&user("user_old", Role::Manager, false))
        .await
        .unwrap();
    let expiring = new_key();
    store
        .put_api_key(&key_record(&expiring, "user_old"))
        .await
        .unwrap();

    let authorizer = authorizer(store.clone());
    let (result, _) = decide(&authorizer, &key).await;
    assert!(
        matches!(&result, Err(Unavailable::Store(StoreError::Corrupt { problem, .. })) if problem.contains("expiresAt")),
        "{result:?}"
    );

    assert_eq!(store.backfill_key_expiry().await.unwrap(), 1);
    assert_eq!(store.backfill_key_expiry().await.unwrap(), 0);
    let (result, _) = decide(&authorizer, &key).await;
    match result.unwrap() {
        Decision::Allow(principal) => assert_eq!(principal.expires_at, None),
        other => panic!("expected an Allow, got {other:?}"),
    }
    // The key that had an expiry keeps it.
    let stored = store
        .api_key_by_hash(&pepper().hash(&expiring))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.expires_at, Some(NOW + 3600));

    // A record from before revisions: a missing `suspended` is corrupt.
    let mut item = user_item(&user("user_nosusp", Role::Admin, false));
    item.remove("suspended");
    item.remove("revision");
    put_raw(&store, item).await;
    let error = store.user("user_nosusp").await.unwrap_err();
    assert!(
        matches!(&error, StoreError::Corrupt { problem, .. } if problem.contains("suspended")),
        "{error:?}"
    );
    let session_key = new_key();
    store
        .put_api_key(&key_record(&session_key, "user_nosusp"))
        .await
        .unwrap();
    let (result, _) = decide(&authorizer, &session_key).await;
    assert!(
        matches!(result, Err(Unavailable::Store(StoreError::Corrupt { .. }))),
        "{result:?}"
    );
}

pub async fn corrupt_user_item_is_an_error_never_a_decision(store: DynamoStore) {
    let mut item = user_item(&user("user_root", Role::Admin, false));
    item.insert("role".into(), AttributeValue::S("root".into()));
    put_raw(&store, item).await;
    let error = store.user("user_root").await.unwrap_err();
    assert!(matches!(error, StoreError::Corrupt { .. }), "{error:?}");

    // A stored role of "none" is a role (a user Clerk created, no role given yet), not corruption.
    let mut item = user_item(&user("user_none", Role::Admin, false));
    item.insert("role".into(), AttributeValue::S("none".into()));
    put_raw(&store, item).await;
    assert_eq!(
        store.user("user_none").await.unwrap().map(|u| u.role),
        Some(Role::None)
    );

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

/// A malformed element, or a `keys` attribute that is not a string set, is `Corrupt` for every
/// operation that reads the set.
pub async fn corrupt_active_key_set_is_an_error(store: DynamoStore) {
    let set = |user_id: &str, keys: AttributeValue| {
        HashMap::from([
            (
                "pk".to_owned(),
                AttributeValue::S(format!("USER#{user_id}")),
            ),
            ("sk".to_owned(), AttributeValue::S("ACTIVEKEYS".into())),
            ("keys".to_owned(), keys),
        ])
    };
    let valid = active_key_element(&ActiveKeyRef::from(&fresh_record("user_bad_element")));
    put_raw(
        &store,
        set(
            "user_bad_element",
            AttributeValue::Ss(vec![valid, "001750000000#k_1#soon#read".into()]),
        ),
    )
    .await;
    put_raw(
        &store,
        set(
            "user_bad_type",
            AttributeValue::L(vec![AttributeValue::S("x".into())]),
        ),
    )
    .await;
    for user_id in ["user_bad_element", "user_bad_type"] {
        assert!(
            matches!(
                store.active_keys_of(user_id).await,
                Err(StoreError::Corrupt { .. })
            ),
            "{user_id}"
        );
    }
    // A create that finds the set full reads it to prune: the corruption surfaces there too.
    assert!(matches!(
        store
            .create_api_key(&fresh_record("user_bad_element"), 2, NOW)
            .await,
        Err(CreateKeyError::Store(StoreError::Corrupt { .. }))
    ));
}

/// A key-id pointer whose key record is missing, or belongs to another id, is `Corrupt`.
pub async fn dangling_key_pointer_is_an_error(store: DynamoStore) {
    let orphan = fresh_record("user_orphan");
    put_raw(&store, pointer_item(&orphan)).await;
    assert!(matches!(
        store.api_key_by_id(&orphan.key_id).await,
        Err(StoreError::Corrupt { .. })
    ));
    assert!(matches!(
        store
            .revoke_api_key("user_orphan", &orphan.key_id, NOW)
            .await,
        Err(StoreError::Corrupt { .. })
    ));

    let real = fresh_record("user_orphan");
    store.put_api_key(&real).await.unwrap();
    let mislabelled = ApiKeyRecord {
        key_id: apikey::generate_key_id().unwrap(),
        ..real
    };
    put_raw(&store, pointer_item(&mislabelled)).await;
    assert!(matches!(
        store.api_key_by_id(&mislabelled.key_id).await,
        Err(StoreError::Corrupt { .. })
    ));
}

pub async fn create_table_if_missing_is_idempotent(store: DynamoStore) {
    // The factory has created the table once already.
    let record = user("user_keep", Role::Signer, false);
    store.put_user(&record).await.unwrap();
    store.create_table_if_missing().await.unwrap();
    store.create_table_if_missing().await.unwrap();
    // Nothing was recreated or wiped.
    assert_eq!(
        store.user("user_keep").await.unwrap(),
        Some(UserRecord {
            revision: 1,
            ..record
        })
    );

    // From nothing, twice in a row, then usable.
    let other = DynamoStore::new(store.client().clone(), unique_name("gatehouse-idempotent"));
    other.create_table_if_missing().await.unwrap();
    other.create_table_if_missing().await.unwrap();
    assert_eq!(other.user("user_keep").await.unwrap(), None);
    create(&other, &fresh_record("user_keep")).await;
}

pub async fn gsi1_lists_a_users_keys_newest_first(store: DynamoStore) {
    let mut expected = Vec::new();
    for created_at in [NOW - 300, NOW - 100, NOW - 200] {
        let record = ApiKeyRecord {
            created_at,
            ..fresh_record("user_lister")
        };
        store.put_api_key(&record).await.unwrap();
        expected.push((created_at, record.key_id));
    }
    store
        .put_api_key(&fresh_record("user_someone_else"))
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

/// [`api_keys_of_is_newest_first`] with two keys per `Query` page (and one), so the listing crosses
/// several pages.
pub async fn api_keys_of_pages_through_every_key(store: DynamoStore) {
    api_keys_of_is_newest_first(store.clone().with_page_size(2)).await;
    let all = store.api_keys_of("user_lister").await.unwrap();
    assert_eq!(all.len(), 7);
    let one_by_one = store.with_page_size(1);
    assert_eq!(
        key_ids(&one_by_one.api_keys_of("user_lister").await.unwrap()),
        key_ids(&all)
    );
}

/// When the set is full, the create deletes the elements expired at its `now` from the set: they no
/// longer appear among the active keys, while their records stay (active, expired, listed).
pub async fn expired_elements_are_pruned_when_the_set_is_full(store: DynamoStore) {
    let mut expiring = Vec::new();
    for expires_at in [Some(NOW + 10), Some(NOW + 10), None] {
        let record = ApiKeyRecord {
            expires_at,
            ..fresh_record("user_pruned")
        };
        store.create_api_key(&record, 3, NOW).await.unwrap();
        expiring.push(record);
    }
    let permanent = expiring.pop().unwrap();
    // Room left: nothing is pruned.
    let early = fresh_record("user_pruned");
    store.create_api_key(&early, 4, NOW + 20).await.unwrap();
    assert_eq!(store.active_keys_of("user_pruned").await.unwrap().len(), 4);
    // Full: both expired elements go, one new key comes in.
    let late = fresh_record("user_pruned");
    store.create_api_key(&late, 4, NOW + 20).await.unwrap();
    let mut remaining = active_ids(&store.active_keys_of("user_pruned").await.unwrap());
    remaining.sort();
    let mut expected = vec![permanent.key_id, early.key_id, late.key_id];
    expected.sort();
    assert_eq!(remaining, expected);
    for record in &expiring {
        let stored = store.api_key_by_id(&record.key_id).await.unwrap().unwrap();
        assert!(stored.active && !stored.is_usable_at(NOW + 20));
    }
    assert_eq!(store.api_keys_of("user_pruned").await.unwrap().len(), 5);
}

/// A create writes exactly the documented items: the key, its pointer and the set element.
/// The resource items are the documented ones (keys, index keys, camelCase attributes), and each
/// distinct signer gets a copy of the package outside the index.
pub async fn resource_items_are_the_documented_ones(store: DynamoStore) {
    let organization = org("org_1");
    let company = company("co_1", "org_1");
    let location = location("loc_1", "co_1", "org_1");
    let template = template("tpl_1", "org_1");
    let package = package("pkg_1", &["user_s", "user_c", "user_s"]);
    store.put_organization(&organization).await.unwrap();
    store.put_company(&company).await.unwrap();
    store.put_location(&location).await.unwrap();
    store.put_template(&template).await.unwrap();
    store.create_package(&package).await.unwrap();

    let raw = |pk: &'static str, sk: &'static str| get_raw(&store, pk, sk);
    assert_eq!(
        raw("ORG#org_1", "ORG").await,
        Some(organization_item(&organization))
    );
    assert_eq!(
        raw("COMPANY#co_1", "COMPANY").await,
        Some(company_item(&company))
    );
    assert_eq!(
        raw("LOCATION#loc_1", "LOCATION").await,
        Some(location_item(&location))
    );
    assert_eq!(
        raw("TEMPLATE#tpl_1", "TEMPLATE").await,
        Some(template_item(&template))
    );
    let item = raw("PACKAGE#pkg_1", "PACKAGE").await.unwrap();
    assert_eq!(item, package_item(&package));
    let text = |name: &str| match item.get(name) {
        Some(AttributeValue::S(text)) => text.clone(),
        other => panic!("{name} is {other:?}"),
    };
    assert_eq!(text("gsi1pk"), "LOCATION#loc_1");
    assert_eq!(text("gsi1sk"), "PACKAGE#pkg_1");
    assert_eq!(text("organizationId"), "org_1");
    assert_eq!(text("companyId"), "co_1");
    assert_eq!(text("locationId"), "loc_1");
    assert_eq!(
        item.get("createdAt"),
        Some(&AttributeValue::N(NOW.to_string()))
    );
    assert!(matches!(item.get("signers"), Some(AttributeValue::L(list)) if list.len() == 3));
    assert!(
        matches!(item.get("documents"), Some(AttributeValue::L(list))
        if matches!(list.first(), Some(AttributeValue::M(map)) if map.contains_key("id") && map.contains_key("name")))
    );
    for signer in ["user_s", "user_c"] {
        let copy = get_raw(&store, &format!("SIGNER#{signer}"), "PACKAGE#pkg_1")
            .await
            .unwrap();
        assert_eq!(copy, signer_item(&package, signer));
        assert!(!copy.contains_key("gsi1pk"));
    }
    // Package, two copies, four other records: nothing else.
    assert_eq!(scan_all(&store).await.len(), 7);
}

/// With every `Query` cut to 2 items, listings still fill their pages by following
/// `LastEvaluatedKey`, and walk every item once.
pub async fn short_query_pages_still_fill_a_listing_page(store: DynamoStore) {
    let store = store.with_page_size(2);
    for i in 0..9 {
        store
            .put_template(&template(&format!("tpl_{i}"), "org_1"))
            .await
            .unwrap();
        store
            .put_package(&package(&format!("pkg_{i}"), &["user_s"]))
            .await
            .unwrap();
    }
    let page = store
        .templates_of("org_1", PageRequest::first(5))
        .await
        .unwrap();
    assert_eq!(page.items.len(), 5);
    assert!(page.next.is_some());
    let (sizes, ids) = walk(
        4,
        |t: &Template| &t.id,
        |request| store.templates_of("org_1", request),
    )
    .await;
    assert_eq!(sizes, [4, 4, 1]);
    assert_eq!(ids, (0..9).map(|i| format!("tpl_{i}")).collect::<Vec<_>>());
    let (sizes, ids) = walk(
        3,
        |p: &Package| &p.id,
        |request| store.packages_of_signer("user_s", request),
    )
    .await;
    assert_eq!(sizes, [3, 3, 3]);
    assert_eq!(ids.len(), 9);
}

pub async fn created_items_are_the_documented_ones(store: DynamoStore) {
    let record = fresh_record("user_items");
    create(&store, &record).await;
    let hash = record.key_hash.to_hex();

    let key = get_raw(&store, &format!("APIKEY#{hash}"), "APIKEY")
        .await
        .unwrap();
    assert_eq!(key, api_key_item(&record));
    let pointer = get_raw(&store, &format!("KEYID#{}", record.key_id), "KEYID")
        .await
        .unwrap();
    assert_eq!(
        pointer,
        HashMap::from([
            (
                "pk".to_owned(),
                AttributeValue::S(format!("KEYID#{}", record.key_id))
            ),
            ("sk".to_owned(), AttributeValue::S("KEYID".into())),
            ("userId".to_owned(), AttributeValue::S("user_items".into())),
            ("keyHash".to_owned(), AttributeValue::S(hash)),
        ])
    );
    let set = get_raw(&store, "USER#user_items", "ACTIVEKEYS")
        .await
        .unwrap();
    let element = format!(
        "{:012}#{}#{}#read",
        record.created_at,
        record.key_id,
        record.expires_at.unwrap()
    );
    assert_eq!(set["keys"], AttributeValue::Ss(vec![element]));
    assert_eq!(scan_all(&store).await.len(), 3);

    // Revoking flips the key, keeps the pointer, and empties the set (DynamoDB drops an empty set).
    store
        .revoke_api_key("user_items", &record.key_id, NOW)
        .await
        .unwrap();
    let set = get_raw(&store, "USER#user_items", "ACTIVEKEYS")
        .await
        .unwrap();
    assert!(!set.contains_key("keys"), "{set:?}");
    let key = get_raw(
        &store,
        &format!("APIKEY#{}", record.key_hash.to_hex()),
        "APIKEY",
    )
    .await
    .unwrap();
    assert_eq!(key["active"], AttributeValue::Bool(false));
    assert_eq!(key["revokedAt"], AttributeValue::N(NOW.to_string()));
    assert_eq!(scan_all(&store).await.len(), 3);
}

pub async fn the_table_holds_no_plaintext_key(store: DynamoStore) {
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
            last_used_at: None,
            revoked_at: None,
        };
        create(&store, &record).await;
        store
            .touch_api_key(&record.key_hash, NOW, LAST_USED_INTERVAL_SECS)
            .await
            .unwrap();
        store
            .put_user(&user(owner, Role::Manager, false))
            .await
            .unwrap();
        plaintexts.push(generated.reveal().to_owned());
    }
    // One of them revoked, so every attribute a key item can hold is there.
    let revoked = store.api_keys_of("user_b").await.unwrap();
    store
        .revoke_api_key("user_b", &revoked[0].key_id, NOW)
        .await
        .unwrap()
        .unwrap();

    let items = scan_all(&store).await;
    let mut strings = Vec::new();
    for item in &items {
        for (name, value) in item {
            strings.push(name.clone());
            strings_in(value, &mut strings);
        }
    }
    assert_eq!(
        items.len(),
        12,
        "per user: a key, its pointer, the active-key set, the user, its projections in org_1 and org_2"
    );
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

// API-key decisions end to end (seeded with put_api_key, as the authorizer only reads key items)

pub async fn valid_key_allows_with_the_users_role_and_the_keys_scopes(store: DynamoStore) {
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
            client_id: None,
            memberships: owner.memberships,
            clerk_org_id: None,
            clerk_org_role: None,
            memberships_omitted: false,
            expires_at: record.expires_at,
        })
    );
    assert_eq!(facts.key_id, Some(record.key_id));
    assert_eq!(facts.user_id.as_deref(), Some("user_valid"));
    assert_eq!(facts.reason, None);
}

pub async fn unknown_well_formed_key_is_denied(store: DynamoStore) {
    store.put_api_key(&fresh_record("user_1")).await.unwrap();
    let authorizer = authorizer(store);
    let (result, facts) = decide(&authorizer, &new_key()).await;
    assert_eq!(result.unwrap(), Decision::Deny(Rejection::InvalidApiKey));
    assert_eq!(facts.reason, Some("unknown_key"));
}

pub async fn revoked_key_is_denied(store: DynamoStore) {
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

pub async fn expired_key_is_denied(store: DynamoStore) {
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

pub async fn owner_without_a_user_record_allows_with_role_none(store: DynamoStore) {
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
            client_id: None,
            memberships: Memberships::default(),
            clerk_org_id: None,
            clerk_org_role: None,
            memberships_omitted: false,
            expires_at: record.expires_at,
        })
    );
}

pub async fn suspended_owner_is_denied(store: DynamoStore) {
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

// ---------------------------------------------------------------------------------------------------------
// An unreachable store (no server needed)

/// Every operation fails `Unavailable`. Each call spends about two seconds in the SDK's default
/// retries, so they run concurrently.
pub async fn unreachable_store_is_unavailable() {
    let store = unreachable_store().await;
    let hash = pepper().hash(&new_key());
    let record = user("user_1", Role::Admin, false);
    let key = fresh_record("user_1");
    let (by_hash, user, put, create_table, touch) = tokio::join!(
        store.api_key_by_hash(&hash),
        store.user("user_1"),
        store.put_user(&record),
        store.create_table_if_missing(),
        store.touch_api_key(&hash, NOW, LAST_USED_INTERVAL_SECS),
    );
    let (create, list, by_id, revoke, active) = tokio::join!(
        store.create_api_key(&key, MAX_ACTIVE_KEYS, NOW),
        store.api_keys_of("user_1"),
        store.api_key_by_id(&key.key_id),
        store.revoke_api_key("user_1", &key.key_id, NOW),
        store.active_keys_of("user_1"),
    );
    let event = clerk_event("user_1", NOW, updated(true));
    let change = manage_co_a1("user_1", Some(1), Memberships::default(), NOW * 1000, "u");
    let ids = strings(&["user_1"]);
    let (clerk, revoke_all, seen, record_delivery, members, users, changed, audit) = tokio::join!(
        store.apply_clerk_event(&event, Role::None),
        store.revoke_keys_of("user_1", NOW),
        store.webhook_delivery_seen("msg_1"),
        store.record_webhook_delivery("msg_1", "user.updated", NOW),
        store.members_of("org_1", PageRequest::first(10)),
        store.users_by_ids(&ids),
        store.change_membership(&change),
        store.audit_of("org_1", PageRequest::first(10)),
    );
    fn unavailable<T: std::fmt::Debug>(result: &Result<T, StoreError>) -> bool {
        matches!(result, Err(StoreError::Unavailable(_)))
    }
    assert!(unavailable(&clerk), "{clerk:?}");
    assert!(unavailable(&revoke_all), "{revoke_all:?}");
    assert!(unavailable(&seen), "{seen:?}");
    assert!(unavailable(&record_delivery), "{record_delivery:?}");
    assert!(unavailable(&members), "{members:?}");
    assert!(unavailable(&users), "{users:?}");
    assert!(unavailable(&audit), "{audit:?}");
    assert!(
        matches!(changed, Err(ChangeError::Store(StoreError::Unavailable(_)))),
        "{changed:?}"
    );
    assert!(unavailable(&by_hash), "{by_hash:?}");
    assert!(unavailable(&user), "{user:?}");
    assert!(unavailable(&put), "{put:?}");
    assert!(unavailable(&create_table), "{create_table:?}");
    assert!(unavailable(&touch), "{touch:?}");
    assert!(
        matches!(
            create,
            Err(CreateKeyError::Store(StoreError::Unavailable(_)))
        ),
        "{create:?}"
    );
    assert!(unavailable(&list), "{list:?}");
    assert!(unavailable(&by_id), "{by_id:?}");
    assert!(unavailable(&revoke), "{revoke:?}");
    assert!(unavailable(&active), "{active:?}");
}

pub async fn unreachable_store_never_allows() {
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

pub async fn checksum_failing_key_is_denied_without_a_store_read() {
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

#[cfg(test)]
mod memory_store {
    //! The key-store, resource-store and directory semantics above, against the in-memory store.

    use gatehouse::store::memory::MemoryStore;

    async fn memory_store() -> Option<MemoryStore> {
        Some(MemoryStore::new())
    }

    crate::__store_semantics_tests!(memory_store);
    crate::__resource_semantics_tests!(memory_store);
    crate::__directory_semantics_tests!(memory_store);
}
