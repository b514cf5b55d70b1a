//! The DynamoDB implementation of the store: one table, single-table design, strongly consistent
//! `GetItem`s for every point lookup, one `Query` on `gsi1` for listings, transactions where two items
//! must change together, no scans.
//!
//! | item | `pk` | `sk` | other attributes |
//! |---|---|---|---|
//! | API key | `APIKEY#<hmac hex>` | `APIKEY` | `keyId`, `userId`, `name`, `scopes` (list), `active`, `createdAt`, `expiresAt`, `tail`, `lastUsedAt`, `revokedAt`, `gsi1pk` = `USER#<userId>`, `gsi1sk` = `APIKEY#<createdAt, 12 digits>#<keyId>` |
//! | key-id pointer | `KEYID#<keyId>` | `KEYID` | `userId`, `keyHash` (hmac hex) |
//! | active-key set | `USER#<userId>` | `ACTIVEKEYS` | `keys` (string set of `<createdAt, 12 digits>#<keyId>#<expiresAt or ->#<scopes csv>`) |
//! | user | `USER#<userId>` | `PROFILE` | `userId`, `role` (`none`, `signer`, `manager`, `admin`), `organizationIds`, `companyIds`, `locationIds` (lists), `suspended` (the operator's), `clerkSuspended`, `clerkDeleted`, `clerkEventAt` (Unix ms; absent until a Clerk event applied), `revision` (absent on records written before revisions: 0) |
//! | member projection | `ORG#<orgId>` | `MEMBER#<userId>` | `userId`, `organizationId`, `organizationIds`, `companyIds`, `locationIds` (the memberships inside the organization) |
//! | audit entry | `ORG#<orgId>` | `AUDIT#<entryId>` | see [`directory`] |
//! | webhook delivery | `WEBHOOK#<deliveryId>` | `WEBHOOK` | `deliveryId`, `eventType`, `receivedAt`, `ttl` (the table's time-to-live attribute) |
//!
//! The `gsi1` index (all attributes projected) lists a user's keys newest first without a scan.
//! Organizations, companies, locations, templates and signing packages live in the same table: their
//! items and access patterns are in [`resources`]. The user directory (Clerk's status, member
//! projections, the audit trail, webhook deliveries) and the operator's [`KeyStore::put_user`] are in
//! [`directory`]: `put_user` reads the record and writes it with its organizations' member projections
//! in one transaction, on condition of the revision read. Time to live is on `ttl` (one attribute per
//! table; never a key's `expiresAt`, so expired keys stay readable): only webhook deliveries carry it.
//!
//! - Create is one `TransactWriteItems`: add the key's element to the active-key set on condition
//!   `attribute_not_exists(keys) OR size(keys) < :limit`, put the key and put its pointer, each on
//!   condition `attribute_not_exists(pk)`. The set's size is the per-user limit, enforced by DynamoDB, so
//!   concurrent creates cannot exceed it. When the set is full, its elements expired at `now` are
//!   deleted (an unconditional `DELETE`) and, if fewer than `limit` usable ones remain, the create is
//!   retried once. `keys` is a reserved word: expressions name it `#keys`. DynamoDB drops a set that
//!   becomes empty, so a user without active keys has a set item without `keys`, or none.
//! - Revoke reads the pointer (owner check) and the key, then in one transaction sets `active = false`,
//!   `revokedAt` on condition `active = true` and deletes the element from the set. A failed condition
//!   is a concurrent revoke: the key is read again and returned as that revoke left it.
//! - Touch is a conditional `UpdateItem` of `lastUsedAt`, throttled by its own condition.
//! - Listing is a `Query` on `gsi1`, page by page: index reads are eventually consistent, so a key
//!   created a moment ago may be missing from a listing (the point lookups are never stale).
//!
//! Transactions cancelled only by contention (`TransactionConflict`: another transaction held one of
//! their items; throttling) are retried with jittered exponential backoff, at most
//! `CONTENTION_ATTEMPTS` times; any other SDK failure is [`StoreError::Unavailable`].
//!
//! Keys stored with [`DynamoStore::put_api_key`] (seeding, tests) get neither a pointer nor an element
//! in the active-key set: they authenticate and are listed, but are not found by id and do not count
//! against the limit.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, GlobalSecondaryIndex, KeySchemaElement,
    KeyType, Projection, ProjectionType, Put, ScalarAttributeType, TimeToLiveSpecification,
    TimeToLiveStatus, TransactWriteItem, Update,
};

use super::{
    ActiveKeyRef, ApiKeyRecord, AuthStore, CreateKeyError, KeyStore, StoreError, UserRecord,
};
use crate::apikey::KeyHash;
use crate::principal::{Memberships, Role, Scopes, is_valid_id};

pub mod directory;
pub mod resources;

/// Name of the secondary index listing a user's items.
pub const GSI1: &str = "gsi1";

/// The table's key, its one index (all string attributes, the index projecting everything) and its
/// time-to-live attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableDefinition {
    /// The partition key.
    pub partition_key: &'static str,
    /// The sort key.
    pub sort_key: &'static str,
    /// The global secondary index.
    pub index: &'static str,
    /// The index's partition key.
    pub index_partition_key: &'static str,
    /// The index's sort key.
    pub index_sort_key: &'static str,
    /// The attribute DynamoDB's time to live reads (Unix seconds; items past it are deleted). A table
    /// has at most one; only webhook deliveries carry it.
    pub time_to_live_attribute: &'static str,
}

/// The one definition of the table: `create_table_if_missing` (behind `gatehouse init`, the embedded
/// engine and the tests) creates exactly this, and `template.yaml`'s `GatehouseTable` must declare the
/// same (a test of the `gatehouse` command checks it).
pub const TABLE: TableDefinition = TableDefinition {
    partition_key: "pk",
    sort_key: "sk",
    index: GSI1,
    index_partition_key: "gsi1pk",
    index_sort_key: "gsi1sk",
    time_to_live_attribute: "ttl",
};

/// Sort key of a key record.
const APIKEY_SK: &str = "APIKEY";
/// Sort key of a key-id pointer.
const KEYID_SK: &str = "KEYID";
/// Sort key of a user's active-key set.
const ACTIVE_KEYS_SK: &str = "ACTIVEKEYS";
/// Sort key of a user record.
const PROFILE_SK: &str = "PROFILE";
/// Attempts at a write that keeps meeting another transaction on the same item.
const CONTENTION_ATTEMPTS: u32 = 12;
/// Cancellation reason codes that mean "try again later", not "your request is wrong".
const RETRYABLE_REASONS: [&str; 3] = [
    "TransactionConflict",
    "ThrottlingError",
    "ProvisionedThroughputExceeded",
];

type Item = HashMap<String, AttributeValue>;

/// The store on a DynamoDB table.
#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
    page_size: Option<i32>,
}

fn key_pk(hash: &KeyHash) -> String {
    format!("APIKEY#{}", hash.to_hex())
}

fn user_pk(user_id: &str) -> String {
    format!("USER#{user_id}")
}

fn pointer_pk(key_id: &str) -> String {
    format!("KEYID#{key_id}")
}

fn unavailable<E, R>(error: SdkError<E, R>) -> StoreError
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    StoreError::Unavailable(DisplayErrorContext(&error).to_string())
}

fn build_error(error: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(error.to_string())
}

fn still_contended(what: &str) -> StoreError {
    StoreError::Unavailable(format!(
        "{what}: still conflicting with other transactions after {CONTENTION_ATTEMPTS} attempts"
    ))
}

/// Sleeps before attempt `attempt + 1`: full jitter over a window doubling from 10 ms up to 640 ms.
async fn back_off(attempt: u32) {
    let window_ms = 10u64 << attempt.min(6);
    let mut random = [0u8; 2];
    let fraction = match aws_lc_rs::rand::fill(&mut random) {
        Ok(()) => u64::from(u16::from_le_bytes(random)),
        Err(_) => 32_768,
    };
    tokio::time::sleep(Duration::from_millis(1 + window_ms * fraction / 65_536)).await;
}

/// Why [`DynamoStore::transact`] did not write.
enum TransactFailure {
    /// An item failed its condition: the caller says what that means.
    Refused(Cancellation),
    /// Anything else (still contended after the retries included).
    Store(StoreError),
}

impl From<TransactFailure> for StoreError {
    /// For callers whose conditions cannot fail but for a store fault.
    fn from(failure: TransactFailure) -> Self {
        match failure {
            TransactFailure::Refused(cancellation) => StoreError::Unavailable(format!(
                "transaction refused: {}",
                cancellation.codes.join(", ")
            )),
            TransactFailure::Store(error) => error,
        }
    }
}

impl DynamoStore {
    /// One `TransactWriteItems` of `items`, retried with jittered backoff while it meets only
    /// contention (another transaction, throttling), at most [`CONTENTION_ATTEMPTS`] times. `what`
    /// names it in the error.
    async fn transact(
        &self,
        items: Vec<TransactWriteItem>,
        what: &str,
    ) -> Result<(), TransactFailure> {
        let mut attempts = 0;
        loop {
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .send()
                .await;
            let error = match result {
                Ok(_) => return Ok(()),
                Err(error) => error,
            };
            match Cancellation::of(&error) {
                Some(cancellation) if cancellation.any_failed() => {
                    return Err(TransactFailure::Refused(cancellation));
                }
                Some(cancellation) if cancellation.contended() => {}
                _ => return Err(TransactFailure::Store(unavailable(error))),
            }
            attempts += 1;
            if attempts >= CONTENTION_ATTEMPTS {
                return Err(TransactFailure::Store(still_contended(what)));
            }
            back_off(attempts).await;
        }
    }
}

/// How the items of a cancelled transaction fared, by index.
struct Cancellation {
    codes: Vec<String>,
}

impl Cancellation {
    /// The cancellation of a `TransactWriteItems` call, if that is what `error` is.
    fn of<R>(error: &SdkError<TransactWriteItemsError, R>) -> Option<Self> {
        match error.as_service_error()? {
            TransactWriteItemsError::TransactionCanceledException(cancelled) => Some(Self {
                codes: cancelled
                    .cancellation_reasons()
                    .iter()
                    .map(|reason| reason.code().unwrap_or("None").to_owned())
                    .collect(),
            }),
            _ => None,
        }
    }

    /// Whether the item at `index` failed its condition.
    fn failed(&self, index: usize) -> bool {
        self.codes
            .get(index)
            .is_some_and(|code| code == "ConditionalCheckFailed")
    }

    /// Whether any item failed its condition.
    fn any_failed(&self) -> bool {
        self.codes
            .iter()
            .any(|code| code == "ConditionalCheckFailed")
    }

    /// Whether some item met contention (another transaction, throttling) rather than a condition.
    fn contended(&self) -> bool {
        self.codes
            .iter()
            .any(|code| RETRYABLE_REASONS.contains(&code.as_str()))
    }

    /// What a cancelled create transaction came to: items are [set update (when `counted`), key put,
    /// pointer put]. An existing key or pointer wins over a full set (retrying cannot help it). `None`:
    /// cancelled for another reason (validation, size), an error.
    fn create_attempt(&self, counted: bool) -> Option<CreateAttempt> {
        let first_put = usize::from(counted);
        if self.failed(first_put) || self.failed(first_put + 1) {
            Some(CreateAttempt::Duplicate)
        } else if counted && self.failed(0) {
            Some(CreateAttempt::Full)
        } else if self.contended() {
            Some(CreateAttempt::Contended)
        } else {
            None
        }
    }
}

/// What one create transaction came to.
#[derive(Debug, PartialEq, Eq)]
enum CreateAttempt {
    Done,
    /// The active-key set's size condition failed.
    Full,
    /// The key or its pointer exists.
    Duplicate,
    /// Cancelled by contention; worth another attempt.
    Contended,
}

/// What pruning the active-key set came to.
enum Prune {
    /// Room was made (or found): create again.
    Retry,
    /// Every element is usable and there are `limit` of them.
    Full,
    /// The delete met a transaction on the set.
    Contended,
}

impl DynamoStore {
    /// A store on `table` through `client` (built once per container).
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            page_size: None,
        }
    }

    /// Caps every `Query` page at `n` items, so tests exercise pagination with few keys.
    #[doc(hidden)]
    pub fn with_page_size(mut self, n: i32) -> Self {
        self.page_size = Some(n);
        self
    }

    /// The table name.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// The SDK client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    async fn get(&self, pk: String, sk: &str) -> Result<Option<Item>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(pk))
            .key("sk", AttributeValue::S(sk.to_owned()))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(output.item)
    }

    /// Stores a key record as is (a single `PutItem`); fails if one with the same hash exists. For
    /// seeding and tests: no pointer, no active-key set entry, no limit (see the module docs).
    /// [`KeyStore::create_api_key`] is how keys are created.
    pub async fn put_api_key(&self, record: &ApiKeyRecord) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(api_key_item(record)))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    /// The raw elements of a user's active-key set with their parsed form (strongly consistent).
    async fn active_elements(
        &self,
        user_id: &str,
    ) -> Result<Vec<(String, ActiveKeyRef)>, StoreError> {
        let Some(item) = self.get(user_pk(user_id), ACTIVE_KEYS_SK).await? else {
            return Ok(Vec::new());
        };
        let reader = Reader {
            item: &item,
            key: ACTIVE_KEYS_SK,
        };
        reader
            .string_set("keys")?
            .into_iter()
            .map(|element| {
                let parsed = parse_active_key_element(&element)?;
                Ok((element, parsed))
            })
            .collect()
    }

    /// One create transaction. `counted`: the record is active, so it takes a slot in the set (item 0).
    async fn try_create(
        &self,
        record: &ApiKeyRecord,
        limit: usize,
    ) -> Result<CreateAttempt, StoreError> {
        let counted = record.active;
        let mut items = Vec::with_capacity(3);
        if counted {
            let element = active_key_element(&ActiveKeyRef::from(record));
            let update = Update::builder()
                .table_name(&self.table)
                .key("pk", s(&user_pk(&record.user_id)))
                .key("sk", s(ACTIVE_KEYS_SK))
                .update_expression("ADD #keys :element")
                .condition_expression("attribute_not_exists(#keys) OR size(#keys) < :limit")
                .expression_attribute_names("#keys", "keys")
                .expression_attribute_values(":element", AttributeValue::Ss(vec![element]))
                .expression_attribute_values(":limit", n(i64::try_from(limit).unwrap_or(i64::MAX)))
                .build()
                .map_err(build_error)?;
            items.push(TransactWriteItem::builder().update(update).build());
        }
        for item in [api_key_item(record), pointer_item(record)] {
            let put = Put::builder()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(pk)")
                .build()
                .map_err(build_error)?;
            items.push(TransactWriteItem::builder().put(put).build());
        }
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await;
        let error = match result {
            Ok(_) => return Ok(CreateAttempt::Done),
            Err(error) => error,
        };
        match Cancellation::of(&error).and_then(|c| c.create_attempt(counted)) {
            Some(attempt) => Ok(attempt),
            None => Err(unavailable(error)),
        }
    }

    /// Deletes the elements of the user's active-key set that are expired at `now`.
    async fn prune_expired(
        &self,
        user_id: &str,
        limit: usize,
        now: i64,
    ) -> Result<Prune, StoreError> {
        let (usable, expired): (Vec<_>, Vec<_>) = self
            .active_elements(user_id)
            .await?
            .into_iter()
            .partition(|(_, key)| key.is_usable_at(now));
        let verdict = if usable.len() < limit {
            Prune::Retry
        } else {
            Prune::Full
        };
        if expired.is_empty() {
            return Ok(verdict);
        }
        let deleted = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(&user_pk(user_id)))
            .key("sk", s(ACTIVE_KEYS_SK))
            .update_expression("DELETE #keys :expired")
            .expression_attribute_names("#keys", "keys")
            .expression_attribute_values(
                ":expired",
                AttributeValue::Ss(expired.into_iter().map(|(raw, _)| raw).collect()),
            )
            .send()
            .await;
        match deleted {
            Ok(_) => Ok(verdict),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_transaction_conflict_exception()) =>
            {
                Ok(Prune::Contended)
            }
            Err(error) => Err(unavailable(error)),
        }
    }

    /// Creates the table (same schema as `template.yaml`, time to live included) if it does not
    /// exist, and waits until it is active. Idempotent. An existing table is left as it is (`gatehouse
    /// init` turns its time to live on).
    pub async fn create_table_if_missing(&self) -> Result<(), StoreError> {
        let exists = self
            .client
            .describe_table()
            .table_name(&self.table)
            .send()
            .await;
        if exists.is_ok() {
            return Ok(());
        }
        let attr = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(|e| StoreError::Unavailable(e.to_string()))
        };
        let key = |name: &str, kind: KeyType| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(kind)
                .build()
                .map_err(|e| StoreError::Unavailable(e.to_string()))
        };
        let gsi = GlobalSecondaryIndex::builder()
            .index_name(TABLE.index)
            .key_schema(key(TABLE.index_partition_key, KeyType::Hash)?)
            .key_schema(key(TABLE.index_sort_key, KeyType::Range)?)
            .projection(
                Projection::builder()
                    .projection_type(ProjectionType::All)
                    .build(),
            )
            .build()
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        let created = self
            .client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(attr(TABLE.partition_key)?)
            .attribute_definitions(attr(TABLE.sort_key)?)
            .attribute_definitions(attr(TABLE.index_partition_key)?)
            .attribute_definitions(attr(TABLE.index_sort_key)?)
            .key_schema(key(TABLE.partition_key, KeyType::Hash)?)
            .key_schema(key(TABLE.sort_key, KeyType::Range)?)
            .global_secondary_indexes(gsi)
            .send()
            .await;
        if let Err(error) = created {
            let in_use = error
                .as_service_error()
                .is_some_and(|e| e.is_resource_in_use_exception());
            if !in_use {
                return Err(unavailable(error));
            }
        }
        for _ in 0..100 {
            let described = self
                .client
                .describe_table()
                .table_name(&self.table)
                .send()
                .await
                .map_err(unavailable)?;
            let active = described
                .table
                .and_then(|t| t.table_status)
                .is_some_and(|s| s == aws_sdk_dynamodb::types::TableStatus::Active);
            if active {
                return self.enable_time_to_live().await;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        Err(StoreError::Unavailable(format!(
            "table {} did not become active",
            self.table
        )))
    }
}

impl DynamoStore {
    /// Turns on time to live on [`TABLE`]`.time_to_live_attribute` unless it is on (or turning on)
    /// already; another creator turning it on meanwhile is success.
    async fn enable_time_to_live(&self) -> Result<(), StoreError> {
        let described = self
            .client
            .describe_time_to_live()
            .table_name(&self.table)
            .send()
            .await
            .map_err(unavailable)?;
        let on = described.time_to_live_description.is_some_and(|d| {
            matches!(
                d.time_to_live_status,
                Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling)
            ) && d.attribute_name.as_deref() == Some(TABLE.time_to_live_attribute)
        });
        if on {
            return Ok(());
        }
        let specification = TimeToLiveSpecification::builder()
            .attribute_name(TABLE.time_to_live_attribute)
            .enabled(true)
            .build()
            .map_err(build_error)?;
        let updated = self
            .client
            .update_time_to_live()
            .table_name(&self.table)
            .time_to_live_specification(specification)
            .send()
            .await;
        match updated {
            Ok(_) => Ok(()),
            Err(error)
                if DisplayErrorContext(&error)
                    .to_string()
                    .contains("already enabled") =>
            {
                Ok(())
            }
            Err(error) => Err(unavailable(error)),
        }
    }

    /// Brings key records written before `expiresAt` was always written up to date: a key record
    /// without the attribute gets `expiresAt = NULL` (never expires, as such a record always meant).
    /// Until then the authorizer and the routes refuse such a record as corrupt (a 500). It scans the
    /// table, so only `gatehouse init` (an administrator's command) calls it, never a function.
    /// Idempotent; returns how many records it changed.
    pub async fn backfill_key_expiry(&self) -> Result<usize, StoreError> {
        let mut updated = 0;
        let mut start = None;
        loop {
            let page = self
                .client
                .scan()
                .table_name(&self.table)
                .filter_expression(
                    "begins_with(pk, :prefix) AND sk = :sk AND attribute_not_exists(expiresAt)",
                )
                .projection_expression("pk, sk")
                .expression_attribute_values(":prefix", s("APIKEY#"))
                .expression_attribute_values(":sk", s(APIKEY_SK))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(unavailable)?;
            for item in page.items.unwrap_or_default() {
                let (Some(pk), Some(sk)) = (item.get("pk"), item.get("sk")) else {
                    continue;
                };
                let result = self
                    .client
                    .update_item()
                    .table_name(&self.table)
                    .key("pk", pk.clone())
                    .key("sk", sk.clone())
                    .update_expression("SET expiresAt = :never")
                    .condition_expression(
                        "attribute_exists(pk) AND attribute_not_exists(expiresAt)",
                    )
                    .expression_attribute_values(":never", AttributeValue::Null(true))
                    .send()
                    .await;
                match result {
                    Ok(_) => updated += 1,
                    // Someone else filled it in (another init) or deleted it meanwhile.
                    Err(error)
                        if error
                            .as_service_error()
                            .is_some_and(|e| e.is_conditional_check_failed_exception()) => {}
                    Err(error) => return Err(unavailable(error)),
                }
            }
            start = page.last_evaluated_key;
            if start.is_none() {
                return Ok(updated);
            }
        }
    }
}

impl AuthStore for DynamoStore {
    async fn api_key_by_hash(&self, hash: &KeyHash) -> Result<Option<ApiKeyRecord>, StoreError> {
        match self.get(key_pk(hash), APIKEY_SK).await? {
            Some(item) => parse_api_key(&item).map(Some),
            None => Ok(None),
        }
    }

    async fn user(&self, user_id: &str) -> Result<Option<UserRecord>, StoreError> {
        match self.get(user_pk(user_id), PROFILE_SK).await? {
            Some(item) => parse_user(&item).map(Some),
            None => Ok(None),
        }
    }

    async fn touch_api_key(
        &self,
        hash: &KeyHash,
        now: i64,
        min_interval: i64,
    ) -> Result<bool, StoreError> {
        let written = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(&key_pk(hash)))
            .key("sk", s(APIKEY_SK))
            .update_expression("SET lastUsedAt = :now")
            .condition_expression(
                "attribute_exists(pk) AND (attribute_not_exists(lastUsedAt) OR lastUsedAt <= :threshold)",
            )
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":threshold", n(now.saturating_sub(min_interval)))
            .send()
            .await;
        match written {
            Ok(_) => Ok(true),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(error) => Err(unavailable(error)),
        }
    }
}

impl KeyStore for DynamoStore {
    async fn create_api_key(
        &self,
        record: &ApiKeyRecord,
        limit: usize,
        now: i64,
    ) -> Result<(), CreateKeyError> {
        check_key_id(record)?;
        if record.active && limit == 0 {
            return Err(CreateKeyError::LimitReached);
        }
        let mut pruned = false;
        let mut contention = 0;
        loop {
            let contended = match self.try_create(record, limit).await? {
                CreateAttempt::Done => return Ok(()),
                CreateAttempt::Duplicate => return Err(CreateKeyError::Conflict),
                CreateAttempt::Contended => true,
                CreateAttempt::Full if pruned => return Err(CreateKeyError::LimitReached),
                CreateAttempt::Full => {
                    match self.prune_expired(&record.user_id, limit, now).await? {
                        Prune::Retry => {
                            pruned = true;
                            false
                        }
                        Prune::Full => return Err(CreateKeyError::LimitReached),
                        Prune::Contended => true,
                    }
                }
            };
            if contended {
                contention += 1;
                if contention >= CONTENTION_ATTEMPTS {
                    return Err(still_contended("create key").into());
                }
                back_off(contention).await;
            }
        }
    }

    async fn api_keys_of(&self, user_id: &str) -> Result<Vec<ApiKeyRecord>, StoreError> {
        let mut records = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(GSI1)
                .key_condition_expression("gsi1pk = :pk AND begins_with(gsi1sk, :prefix)")
                .expression_attribute_values(":pk", s(&user_pk(user_id)))
                .expression_attribute_values(":prefix", s("APIKEY#"))
                .scan_index_forward(false)
                .set_limit(self.page_size)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(unavailable)?;
            for item in page.items() {
                records.push(parse_api_key(item)?);
            }
            start = page.last_evaluated_key.filter(|key| !key.is_empty());
            if start.is_none() {
                return Ok(records);
            }
        }
    }

    async fn api_key_by_id(&self, key_id: &str) -> Result<Option<ApiKeyRecord>, StoreError> {
        // Ids arrive from request paths: anything that is not an id cannot be one of ours.
        if !is_valid_id(key_id) {
            return Ok(None);
        }
        let Some(item) = self.get(pointer_pk(key_id), KEYID_SK).await? else {
            return Ok(None);
        };
        let (owner, hash) = parse_key_pointer(&item)?;
        let dangling = || StoreError::Corrupt {
            key: KEYID_SK.to_owned(),
            problem: format!("pointer {key_id} does not match a key record"),
        };
        let record = self.api_key_by_hash(&hash).await?.ok_or_else(dangling)?;
        if record.key_id != key_id || record.user_id != owner {
            return Err(dangling());
        }
        Ok(Some(record))
    }

    async fn revoke_api_key(
        &self,
        user_id: &str,
        key_id: &str,
        now: i64,
    ) -> Result<Option<ApiKeyRecord>, StoreError> {
        let mut attempts = 0;
        loop {
            let Some(record) = self.api_key_by_id(key_id).await? else {
                return Ok(None);
            };
            if record.user_id != user_id {
                return Ok(None);
            }
            if !record.active {
                return Ok(Some(record));
            }
            let revoke = Update::builder()
                .table_name(&self.table)
                .key("pk", s(&key_pk(&record.key_hash)))
                .key("sk", s(APIKEY_SK))
                .update_expression("SET active = :false, revokedAt = :now")
                .condition_expression("active = :true")
                .expression_attribute_values(":false", AttributeValue::Bool(false))
                .expression_attribute_values(":true", AttributeValue::Bool(true))
                .expression_attribute_values(":now", n(now))
                .build()
                .map_err(build_error)?;
            let release = Update::builder()
                .table_name(&self.table)
                .key("pk", s(&user_pk(user_id)))
                .key("sk", s(ACTIVE_KEYS_SK))
                .update_expression("DELETE #keys :element")
                .expression_attribute_names("#keys", "keys")
                .expression_attribute_values(
                    ":element",
                    AttributeValue::Ss(vec![active_key_element(&ActiveKeyRef::from(&record))]),
                )
                .build()
                .map_err(build_error)?;
            let result = self
                .client
                .transact_write_items()
                .transact_items(TransactWriteItem::builder().update(revoke).build())
                .transact_items(TransactWriteItem::builder().update(release).build())
                .send()
                .await;
            let error = match result {
                Ok(_) => {
                    return Ok(Some(ApiKeyRecord {
                        active: false,
                        revoked_at: Some(now),
                        ..record
                    }));
                }
                Err(error) => error,
            };
            // A failed `active = true` is a concurrent revoke: the next read returns its result.
            let retry = Cancellation::of(&error).is_some_and(|c| c.failed(0) || c.contended());
            attempts += 1;
            if !retry {
                return Err(unavailable(error));
            }
            if attempts >= CONTENTION_ATTEMPTS {
                return Err(still_contended("revoke key"));
            }
            back_off(attempts).await;
        }
    }

    async fn active_keys_of(&self, user_id: &str) -> Result<Vec<ActiveKeyRef>, StoreError> {
        let mut keys: Vec<ActiveKeyRef> = self
            .active_elements(user_id)
            .await?
            .into_iter()
            .map(|(_, key)| key)
            .collect();
        keys.sort_by(|a, b| {
            a.created_at
                .cmp(&b.created_at)
                .then_with(|| a.key_id.cmp(&b.key_id))
        });
        Ok(keys)
    }

    /// Reads the record, then one transaction: the profile's role, memberships, suspension and
    /// revision + 1 (on condition of the revision read; Clerk's attributes untouched) and the member
    /// projections (see [`directory`]).
    async fn put_user(&self, user: &UserRecord) -> Result<(), StoreError> {
        self.replace_user(user).await
    }
}

/// Refuses to store a key whose id could not be read back (ids travel in set elements and keys).
fn check_key_id(record: &ApiKeyRecord) -> Result<(), StoreError> {
    if is_valid_id(&record.key_id) {
        Ok(())
    } else {
        Err(StoreError::Corrupt {
            key: APIKEY_SK.to_owned(),
            problem: "key id is not 1 to 128 characters of [A-Za-z0-9_-]".to_owned(),
        })
    }
}

fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_owned())
}

fn n(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn list(values: &[impl AsRef<str>]) -> AttributeValue {
    AttributeValue::L(values.iter().map(|v| s(v.as_ref())).collect())
}

/// The item for a key record.
pub fn api_key_item(record: &ApiKeyRecord) -> Item {
    let mut item = Item::new();
    item.insert("pk".into(), s(&key_pk(&record.key_hash)));
    item.insert("sk".into(), s(APIKEY_SK));
    item.insert("keyId".into(), s(&record.key_id));
    item.insert("userId".into(), s(&record.user_id));
    item.insert("name".into(), s(&record.name));
    item.insert("scopes".into(), list(&record.scopes.names()));
    item.insert("active".into(), AttributeValue::Bool(record.active));
    item.insert("createdAt".into(), n(record.created_at));
    // Always written (NULL for a key that never expires): a record without it is corrupt.
    item.insert(
        "expiresAt".into(),
        record.expires_at.map_or(AttributeValue::Null(true), n),
    );
    if let Some(last_used_at) = record.last_used_at {
        item.insert("lastUsedAt".into(), n(last_used_at));
    }
    if let Some(revoked_at) = record.revoked_at {
        item.insert("revokedAt".into(), n(revoked_at));
    }
    item.insert("tail".into(), s(&record.tail));
    item.insert("gsi1pk".into(), s(&user_pk(&record.user_id)));
    item.insert(
        "gsi1sk".into(),
        s(&format!(
            "APIKEY#{:012}#{}",
            record.created_at, record.key_id
        )),
    );
    item
}

/// The key-id pointer of a key record: finds the key (and its owner) by id.
pub fn pointer_item(record: &ApiKeyRecord) -> Item {
    let mut item = Item::new();
    item.insert("pk".into(), s(&pointer_pk(&record.key_id)));
    item.insert("sk".into(), s(KEYID_SK));
    item.insert("userId".into(), s(&record.user_id));
    item.insert("keyHash".into(), s(&record.key_hash.to_hex()));
    item
}

/// A key's element in its owner's active-key set:
/// `<createdAt, 12 digits>#<keyId>#<expiresAt or ->#<scopes csv>`.
pub fn active_key_element(key: &ActiveKeyRef) -> String {
    let expires = key
        .expires_at
        .map_or_else(|| "-".to_owned(), |at| at.to_string());
    format!(
        "{:012}#{}#{}#{}",
        key.created_at,
        key.key_id,
        expires,
        key.scopes.as_csv()
    )
}

/// Parses an element of an active-key set.
pub fn parse_active_key_element(element: &str) -> Result<ActiveKeyRef, StoreError> {
    let corrupt = |problem: &str| StoreError::Corrupt {
        key: ACTIVE_KEYS_SK.to_owned(),
        problem: format!("element {element:?}: {problem}"),
    };
    let mut parts = element.splitn(4, '#');
    let (Some(created_at), Some(key_id), Some(expires_at), Some(scopes)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(corrupt("not four #-separated fields"));
    };
    let created_at = created_at
        .parse()
        .map_err(|_| corrupt("createdAt is not an integer"))?;
    if !is_valid_id(key_id) {
        return Err(corrupt("keyId is not an id"));
    }
    let expires_at = match expires_at {
        "-" => None,
        at => Some(
            at.parse()
                .map_err(|_| corrupt("expiresAt is neither - nor an integer"))?,
        ),
    };
    let scopes = match scopes {
        "" => Some(Scopes {
            read: false,
            write: false,
        }),
        csv => Scopes::parse_list(csv.split(',')),
    }
    .ok_or_else(|| corrupt("unknown scope"))?;
    Ok(ActiveKeyRef {
        key_id: key_id.to_owned(),
        created_at,
        expires_at,
        scopes,
    })
}

/// The item for a user record.
pub fn user_item(user: &UserRecord) -> Item {
    let mut item = Item::new();
    item.insert("pk".into(), s(&user_pk(&user.user_id)));
    item.insert("sk".into(), s(PROFILE_SK));
    item.insert("userId".into(), s(&user.user_id));
    item.insert("role".into(), s(user.role.as_str()));
    item.insert(
        "organizationIds".into(),
        list(&user.memberships.organization_ids),
    );
    item.insert("companyIds".into(), list(&user.memberships.company_ids));
    item.insert("locationIds".into(), list(&user.memberships.location_ids));
    item.insert("suspended".into(), AttributeValue::Bool(user.suspended));
    item.insert(
        "clerkSuspended".into(),
        AttributeValue::Bool(user.clerk.suspended),
    );
    item.insert(
        "clerkDeleted".into(),
        AttributeValue::Bool(user.clerk.deleted),
    );
    if let Some(at) = user.clerk.event_at {
        item.insert("clerkEventAt".into(), n(at));
    }
    item.insert(
        "revision".into(),
        n(i64::try_from(user.revision).unwrap_or(i64::MAX)),
    );
    item
}

struct Reader<'a> {
    item: &'a Item,
    key: &'a str,
}

impl Reader<'_> {
    fn corrupt(&self, problem: impl Into<String>) -> StoreError {
        StoreError::Corrupt {
            key: self.key.to_owned(),
            problem: problem.into(),
        }
    }

    fn string(&self, name: &str) -> Result<String, StoreError> {
        match self.item.get(name) {
            Some(AttributeValue::S(value)) => Ok(value.clone()),
            _ => Err(self.corrupt(format!("{name} missing or not a string"))),
        }
    }

    fn boolean(&self, name: &str) -> Result<bool, StoreError> {
        match self.item.get(name) {
            Some(AttributeValue::Bool(value)) => Ok(*value),
            _ => Err(self.corrupt(format!("{name} missing or not a boolean"))),
        }
    }

    /// A number Gatehouse always writes.
    fn number(&self, name: &str) -> Result<i64, StoreError> {
        self.nullable_number(name)?
            .ok_or_else(|| self.corrupt(format!("{name} is null")))
    }

    /// A number Gatehouse always writes, as NULL when there is none (a key's `expiresAt`): a record
    /// without the attribute is corrupt, never read as "none".
    fn nullable_number(&self, name: &str) -> Result<Option<i64>, StoreError> {
        match self.item.get(name) {
            None => Err(self.corrupt(format!("{name} missing"))),
            Some(_) => self.later_number(name),
        }
    }

    /// A number written only once something happens (`lastUsedAt`, `revokedAt`): absent until then.
    fn later_number(&self, name: &str) -> Result<Option<i64>, StoreError> {
        match self.item.get(name) {
            None | Some(AttributeValue::Null(_)) => Ok(None),
            Some(AttributeValue::N(value)) => value
                .parse()
                .map(Some)
                .map_err(|_| self.corrupt(format!("{name} is not an integer"))),
            _ => Err(self.corrupt(format!("{name} is not a number"))),
        }
    }

    /// A list of strings Gatehouse always writes (possibly empty).
    fn strings(&self, name: &str) -> Result<Vec<String>, StoreError> {
        match self.item.get(name) {
            None => Err(self.corrupt(format!("{name} missing"))),
            Some(AttributeValue::L(values)) => values
                .iter()
                .map(|v| match v {
                    AttributeValue::S(text) => Ok(text.clone()),
                    _ => Err(self.corrupt(format!("{name} holds a non-string"))),
                })
                .collect(),
            Some(AttributeValue::Ss(values)) => Ok(values.clone()),
            _ => Err(self.corrupt(format!("{name} is not a list"))),
        }
    }

    /// A string set; absent means empty (DynamoDB removes a set attribute whose last element is
    /// deleted, so the active-key set of a user who revoked every key has none).
    fn string_set(&self, name: &str) -> Result<Vec<String>, StoreError> {
        match self.item.get(name) {
            None => Ok(Vec::new()),
            Some(AttributeValue::Ss(values)) => Ok(values.clone()),
            _ => Err(self.corrupt(format!("{name} is not a string set"))),
        }
    }

    fn ids(&self, name: &str) -> Result<Vec<String>, StoreError> {
        let ids = self.strings(name)?;
        if ids.iter().all(|id| is_valid_id(id)) {
            Ok(ids)
        } else {
            Err(self.corrupt(format!("{name} holds an invalid id")))
        }
    }
}

/// Parses a key item.
pub fn parse_api_key(item: &Item) -> Result<ApiKeyRecord, StoreError> {
    let r = Reader {
        item,
        key: APIKEY_SK,
    };
    let pk = r.string("pk")?;
    let key_hash = pk
        .strip_prefix("APIKEY#")
        .and_then(KeyHash::from_hex)
        .ok_or_else(|| r.corrupt("pk is not APIKEY#<hash>"))?;
    let scope_names = r.strings("scopes")?;
    let scopes = Scopes::parse_list(scope_names.iter().map(String::as_str))
        .ok_or_else(|| r.corrupt("unknown scope"))?;
    Ok(ApiKeyRecord {
        key_id: r.string("keyId")?,
        user_id: r.string("userId")?,
        key_hash,
        name: r.string("name")?,
        scopes,
        active: r.boolean("active")?,
        created_at: r.number("createdAt")?,
        expires_at: r.nullable_number("expiresAt")?,
        tail: r.string("tail")?,
        last_used_at: r.later_number("lastUsedAt")?,
        revoked_at: r.later_number("revokedAt")?,
    })
}

/// Parses a key-id pointer into the owner's id and the key's hash.
fn parse_key_pointer(item: &Item) -> Result<(String, KeyHash), StoreError> {
    let r = Reader {
        item,
        key: KEYID_SK,
    };
    let hash = KeyHash::from_hex(&r.string("keyHash")?)
        .ok_or_else(|| r.corrupt("keyHash is not a hash"))?;
    Ok((r.string("userId")?, hash))
}

/// Parses a user item.
pub fn parse_user(item: &Item) -> Result<UserRecord, StoreError> {
    let r = Reader { item, key: "USER" };
    let role = r.string("role")?;
    let role = Role::parse(&role)
        .ok_or_else(|| r.corrupt("role is not none, signer, manager or admin"))?;
    // Written since Clerk webhooks and delegated administration: absent on older records.
    let optional_boolean = |name: &str| match item.get(name) {
        None => Ok(false),
        Some(_) => r.boolean(name),
    };
    let revision = r.later_number("revision")?.unwrap_or(0);
    Ok(UserRecord {
        user_id: r.string("userId")?,
        role,
        memberships: Memberships {
            organization_ids: r.ids("organizationIds")?,
            company_ids: r.ids("companyIds")?,
            location_ids: r.ids("locationIds")?,
        },
        // The operator's suspension: always written by `put_user`; a record created by a delegated
        // change or a webhook (it has a `revision`) never names it, so those writers' IAM policies
        // need not allow the attribute (README "Least privilege"). Without a `revision` (a record
        // from before), a missing `suspended` is corrupt, never "not suspended".
        suspended: if item.contains_key("revision") {
            optional_boolean("suspended")?
        } else {
            r.boolean("suspended")?
        },
        clerk: super::ClerkStatus {
            suspended: optional_boolean("clerkSuspended")?,
            deleted: optional_boolean("clerkDeleted")?,
            event_at: r.later_number("clerkEventAt")?,
        },
        revision: u64::try_from(revision).map_err(|_| r.corrupt("revision is negative"))?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apikey::Pepper;

    fn record() -> ApiKeyRecord {
        ApiKeyRecord {
            key_id: "k_1".into(),
            user_id: "user_1".into(),
            key_hash: Pepper::new(b"0123456789abcdef").unwrap().hash("sf_x"),
            name: "ci".into(),
            scopes: Scopes {
                read: true,
                write: false,
            },
            active: true,
            created_at: 1_700_000_000,
            expires_at: Some(1_800_000_000),
            tail: "abcd".into(),
            last_used_at: None,
            revoked_at: None,
        }
    }

    #[test]
    fn key_items_round_trip() {
        let item = api_key_item(&record());
        assert_eq!(parse_api_key(&item).unwrap(), record());
        assert_eq!(item["gsi1sk"], s("APIKEY#001700000000#k_1"));
        assert!(
            !item
                .values()
                .any(|v| matches!(v, AttributeValue::S(text) if text.starts_with("sf_")))
        );
    }

    #[test]
    fn revoked_key_items_round_trip() {
        let revoked = ApiKeyRecord {
            active: false,
            revoked_at: Some(1_700_000_500),
            last_used_at: Some(1_700_000_400),
            expires_at: None,
            ..record()
        };
        let item = api_key_item(&revoked);
        assert_eq!(item["revokedAt"], n(1_700_000_500));
        assert_eq!(parse_api_key(&item).unwrap(), revoked);
        assert!(!api_key_item(&record()).contains_key("revokedAt"));
    }

    #[test]
    fn pointer_items_round_trip() {
        let item = pointer_item(&record());
        assert_eq!(item["pk"], s("KEYID#k_1"));
        assert_eq!(item["sk"], s("KEYID"));
        let (owner, hash) = parse_key_pointer(&item).unwrap();
        assert_eq!(owner, "user_1");
        assert!(hash.ct_eq(&record().key_hash));
        let mut bad = item.clone();
        bad.insert("keyHash".into(), s("sf_plaintext"));
        assert!(matches!(
            parse_key_pointer(&bad),
            Err(StoreError::Corrupt { .. })
        ));
    }

    #[test]
    fn active_key_elements_round_trip() {
        let key = ActiveKeyRef::from(&record());
        let element = active_key_element(&key);
        assert_eq!(element, "001700000000#k_1#1800000000#read");
        assert_eq!(parse_active_key_element(&element).unwrap(), key);

        for scopes in [
            Scopes::ALL,
            Scopes {
                read: false,
                write: true,
            },
            Scopes {
                read: false,
                write: false,
            },
        ] {
            let key = ActiveKeyRef {
                key_id: "k_Zz9-_".into(),
                created_at: 7,
                expires_at: None,
                scopes,
            };
            let element = active_key_element(&key);
            assert!(element.starts_with("000000000007#k_Zz9-_#-#"), "{element}");
            assert_eq!(parse_active_key_element(&element).unwrap(), key);
        }
    }

    #[test]
    fn malformed_active_key_elements_are_corrupt() {
        for element in [
            "",
            "001700000000",
            "001700000000#k_1#-",
            "x#k_1#-#read",
            "001700000000##-#read",
            "001700000000#k 1#-#read",
            "001700000000#k_1#soon#read",
            "001700000000#k_1#-#admin",
            "001700000000#k_1#-#read,",
            "001700000000#k_1#-#read#write",
        ] {
            assert!(
                matches!(
                    parse_active_key_element(element),
                    Err(StoreError::Corrupt { .. })
                ),
                "{element:?}"
            );
        }
    }

    fn cancelled(codes: &[&str]) -> Option<Cancellation> {
        use aws_sdk_dynamodb::types::CancellationReason;
        use aws_sdk_dynamodb::types::error::TransactionCanceledException;
        let reasons = codes
            .iter()
            .map(|code| CancellationReason::builder().code(*code).build())
            .collect();
        let exception = TransactionCanceledException::builder()
            .set_cancellation_reasons(Some(reasons))
            .build();
        let error: SdkError<TransactWriteItemsError, ()> = SdkError::service_error(
            TransactWriteItemsError::TransactionCanceledException(exception),
            (),
        );
        Cancellation::of(&error)
    }

    #[test]
    fn cancelled_creates_are_classified_by_item() {
        let attempt = |codes: &[&str], counted| cancelled(codes).unwrap().create_attempt(counted);
        const CCF: &str = "ConditionalCheckFailed";
        // Counted: [set, key, pointer].
        assert_eq!(
            attempt(&[CCF, "None", "None"], true),
            Some(CreateAttempt::Full)
        );
        assert_eq!(
            attempt(&["None", CCF, "None"], true),
            Some(CreateAttempt::Duplicate)
        );
        assert_eq!(
            attempt(&["None", "None", CCF], true),
            Some(CreateAttempt::Duplicate)
        );
        assert_eq!(
            attempt(&[CCF, CCF, "None"], true),
            Some(CreateAttempt::Duplicate)
        );
        assert_eq!(
            attempt(&["TransactionConflict", "None", "None"], true),
            Some(CreateAttempt::Contended)
        );
        assert_eq!(
            attempt(&["None", "ThrottlingError", "None"], true),
            Some(CreateAttempt::Contended)
        );
        assert_eq!(attempt(&["ValidationError", "None", "None"], true), None);
        assert_eq!(attempt(&[], true), None);
        // Not counted: [key, pointer]; a failure at 0 is the key.
        assert_eq!(
            attempt(&[CCF, "None"], false),
            Some(CreateAttempt::Duplicate)
        );
        assert_eq!(
            attempt(&["None", "TransactionConflict"], false),
            Some(CreateAttempt::Contended)
        );
    }

    #[test]
    fn only_transaction_cancellations_are_cancellations() {
        use aws_sdk_dynamodb::types::error::InternalServerError;
        let error: SdkError<TransactWriteItemsError, ()> = SdkError::service_error(
            TransactWriteItemsError::InternalServerError(InternalServerError::builder().build()),
            (),
        );
        assert!(Cancellation::of(&error).is_none());
        let revoke = cancelled(&["ConditionalCheckFailed", "None"]).unwrap();
        assert!(revoke.failed(0) && !revoke.failed(1) && !revoke.contended());
    }

    #[test]
    fn user_items_round_trip() {
        let user = UserRecord {
            user_id: "user_1".into(),
            role: Role::Manager,
            memberships: Memberships {
                organization_ids: vec!["org_1".into()],
                company_ids: vec![],
                location_ids: vec!["l".into()],
            },
            suspended: true,
            clerk: Default::default(),
            revision: 0,
        };
        assert_eq!(parse_user(&user_item(&user)).unwrap(), user);
    }

    #[test]
    fn corrupt_items_are_errors() {
        let mut item = api_key_item(&record());
        item.insert("active".into(), s("yes"));
        assert!(matches!(
            parse_api_key(&item),
            Err(StoreError::Corrupt { .. })
        ));
        let mut user = user_item(&UserRecord {
            user_id: "u".into(),
            role: Role::Admin,
            memberships: Memberships::default(),
            suspended: false,
            clerk: Default::default(),
            revision: 0,
        });
        user.insert("role".into(), s("root"));
        assert!(parse_user(&user).is_err());
        // `none` is a stored role (a Clerk user created without one, a member whose role was taken).
        user.insert("role".into(), s("none"));
        assert_eq!(parse_user(&user).unwrap().role, Role::None);
        user.insert("revision".into(), n(-1));
        assert!(parse_user(&user).is_err());
        user.insert("revision".into(), n(3));
        user.insert("clerkDeleted".into(), s("yes"));
        assert!(parse_user(&user).is_err());
        user.remove("clerkDeleted");
        user.remove("revision");
        assert_eq!(parse_user(&user).unwrap().revision, 0);
        user.insert("role".into(), s("admin"));
        user.insert("locationIds".into(), list(&["a,b"]));
        assert!(parse_user(&user).is_err());
    }

    /// An attribute Gatehouse always writes is never read as its permissive default when missing.
    #[test]
    fn records_missing_an_attribute_gatehouse_writes_are_corrupt() {
        let corrupt = |result: Result<(), StoreError>, what: &str| {
            assert!(
                matches!(&result, Err(StoreError::Corrupt { problem, .. }) if problem.contains(what)),
                "{what}: {result:?}"
            );
        };
        let never_expires = ApiKeyRecord {
            expires_at: None,
            ..record()
        };
        let item = api_key_item(&never_expires);
        assert_eq!(item.get("expiresAt"), Some(&AttributeValue::Null(true)));
        assert_eq!(parse_api_key(&item).unwrap(), never_expires);
        for attribute in [
            "expiresAt",
            "createdAt",
            "active",
            "scopes",
            "userId",
            "tail",
        ] {
            let mut item = api_key_item(&never_expires);
            item.remove(attribute);
            corrupt(parse_api_key(&item).map(drop), attribute);
        }
        // Written only once something happens: absent is "not yet".
        let mut item = api_key_item(&never_expires);
        item.remove("lastUsedAt");
        item.remove("revokedAt");
        assert!(parse_api_key(&item).is_ok());

        let user = UserRecord {
            user_id: "u".into(),
            role: Role::Manager,
            memberships: Memberships::default(),
            suspended: false,
            clerk: Default::default(),
            revision: 0,
        };
        for attribute in [
            "suspended",
            "organizationIds",
            "companyIds",
            "locationIds",
            "role",
        ] {
            let mut item = user_item(&user);
            item.remove(attribute);
            // A record from before revisions: every attribute is required.
            item.remove("revision");
            corrupt(parse_user(&item).map(drop), attribute);
        }
        // Created by a delegated change or a webhook: no operator suspension named, none held.
        let mut item = user_item(&user);
        item.remove("suspended");
        assert!(!parse_user(&item).unwrap().suspended);
    }
}
