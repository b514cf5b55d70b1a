//! Persistence behind two narrow traits. The authorizer needs two reads (an API key record by its hash,
//! a user record by Clerk user id) and one throttled write (a key's last use): [`AuthStore`] is that and
//! nothing more. Key management (README "API keys") adds [`KeyStore`]: creating keys under an atomic
//! per-user limit, listing, revoking, and the user's active keys in one read. Both are implemented on
//! DynamoDB ([`dynamo::DynamoStore`]) and in memory (`memory::MemoryStore`, feature `test-util`) with the
//! same semantics, so the logic above them can be unit tested without I/O. The resource routes add
//! [`ResourceStore`] (module [`resources`]): organizations, companies, locations, templates and signing
//! packages, on the same table.

pub mod directory;
pub mod dynamo;
#[cfg(any(test, feature = "test-util"))]
pub mod memory;
pub mod resources;

pub use directory::{
    AuditAction, AuditActor, AuditEntry, ChangeError, ClerkChange, ClerkEvent, ClerkOutcome,
    ClerkStatus, DirectoryStore, MemberEntry, MemberState, MembershipChange,
};

pub use resources::{
    Company, CreatePackageError, Cursor, Document, Location, MAX_PAGE_LIMIT, Organization, Package,
    Page, PageRequest, ResourceStore, Template,
};

use std::future::Future;

use crate::apikey::KeyHash;
use crate::principal::{Memberships, Role, Scopes};

/// How many usable keys a user may hold at once (README "API keys").
pub const MAX_ACTIVE_KEYS: usize = 25;
/// Minimum seconds between two lastUsedAt writes of one key.
pub const LAST_USED_INTERVAL_SECS: i64 = 300;

/// A stored API key. The plaintext is never stored; `key_hash` is its peppered HMAC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyRecord {
    /// `k_…`.
    pub key_id: String,
    /// Owner's Clerk user id.
    pub user_id: String,
    /// HMAC-SHA256 of the key under the pepper.
    pub key_hash: KeyHash,
    /// Owner-chosen name.
    pub name: String,
    /// What the key may do.
    pub scopes: Scopes,
    /// False once revoked.
    pub active: bool,
    /// Creation, Unix seconds.
    pub created_at: i64,
    /// Expiry, Unix seconds.
    pub expires_at: Option<i64>,
    /// Last four characters, for display.
    pub tail: String,
    /// Last use, Unix seconds (approximate).
    pub last_used_at: Option<i64>,
    /// When the key was revoked, Unix seconds; set once, by the first revocation.
    pub revoked_at: Option<i64>,
}

impl ApiKeyRecord {
    /// Whether the key may authenticate at `now`.
    pub fn is_usable_at(&self, now: i64) -> bool {
        self.active && self.expires_at.is_none_or(|expiry| now < expiry)
    }
}

/// One of a user's active (not revoked) keys, as held in the user's active-key set: enough to count
/// the key against the limit and to scope a session request to it without reading the key itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveKeyRef {
    /// `k_…`.
    pub key_id: String,
    /// Creation, Unix seconds.
    pub created_at: i64,
    /// Expiry, Unix seconds.
    pub expires_at: Option<i64>,
    /// What the key may do.
    pub scopes: Scopes,
}

impl ActiveKeyRef {
    /// Whether the key may authenticate at `now` (it is active by construction; expiry is exclusive).
    pub fn is_usable_at(&self, now: i64) -> bool {
        self.expires_at.is_none_or(|expiry| now < expiry)
    }
}

impl From<&ApiKeyRecord> for ActiveKeyRef {
    fn from(record: &ApiKeyRecord) -> Self {
        Self {
            key_id: record.key_id.clone(),
            created_at: record.created_at,
            expires_at: record.expires_at,
            scopes: record.scopes,
        }
    }
}

/// A user's authorization record, keyed by Clerk user id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    /// Clerk user id.
    pub user_id: String,
    /// Role.
    pub role: Role,
    /// Memberships.
    pub memberships: Memberships,
    /// Suspended by an operator (`gatehouse users put --suspended`). Only an operator lifts it.
    pub suspended: bool,
    /// What Clerk's signed webhooks reported (README "Clerk webhooks"); only webhooks change it.
    pub clerk: ClerkStatus,
    /// Counts the writes of role and memberships (0 for a record never written with one), so a
    /// delegated change applies only to the record it was decided on.
    pub revision: u64,
}

impl UserRecord {
    /// A record with a role and memberships, not suspended, with no Clerk history.
    pub fn new(user_id: impl Into<String>, role: Role, memberships: Memberships) -> Self {
        Self {
            user_id: user_id.into(),
            role,
            memberships,
            suspended: false,
            clerk: ClerkStatus::default(),
            revision: 0,
        }
    }

    /// Whether the user is refused: suspended by an operator, or by Clerk (banned, locked, deleted).
    pub fn is_suspended(&self) -> bool {
        self.suspended || self.clerk.suspended
    }
}

/// A store operation failed; no decision can be based on it.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// The store could not be reached or refused the request.
    #[error("store request failed: {0}")]
    Unavailable(String),
    /// A record exists but cannot be interpreted.
    #[error("corrupt record {key}: {problem}")]
    Corrupt { key: String, problem: String },
}

/// Why a key could not be created.
#[derive(Debug, thiserror::Error)]
pub enum CreateKeyError {
    /// The user already holds the maximum number of usable keys.
    #[error("key limit reached")]
    LimitReached,
    /// A key with the same id or hash exists (random ids and keys: practically never).
    #[error("key id or hash already exists")]
    Conflict,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What the authorizer needs: two reads and the throttled last-use write.
pub trait AuthStore: Send + Sync {
    /// The key record whose hash is `hash` (strongly consistent).
    fn api_key_by_hash(
        &self,
        hash: &KeyHash,
    ) -> impl Future<Output = Result<Option<ApiKeyRecord>, StoreError>> + Send;

    /// The user record for a Clerk user id.
    fn user(
        &self,
        user_id: &str,
    ) -> impl Future<Output = Result<Option<UserRecord>, StoreError>> + Send;

    /// Sets lastUsedAt = now on the key with this hash unless it was set less than `min_interval`
    /// seconds ago (conditional write: the item must exist, and `attribute_not_exists(lastUsedAt) OR
    /// lastUsedAt <= now - min_interval`). Ok(true) written, Ok(false) condition not met (throttled, or
    /// no such key).
    fn touch_api_key(
        &self,
        hash: &KeyHash,
        now: i64,
        min_interval: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// Key management on top of [`AuthStore`]: what the self-service routes need.
pub trait KeyStore: AuthStore {
    /// Stores a new key. Atomically fails [`CreateKeyError::LimitReached`] when the user already holds
    /// `limit` usable (active, unexpired at `now`) keys: two concurrent creates can never exceed it (50
    /// parallel creates => exactly 25). Fails [`CreateKeyError::Conflict`] when the id or the hash
    /// exists; nothing is written then.
    fn create_api_key(
        &self,
        record: &ApiKeyRecord,
        limit: usize,
        now: i64,
    ) -> impl Future<Output = Result<(), CreateKeyError>> + Send;

    /// All of a user's keys (active and revoked), newest first (createdAt desc, then keyId desc).
    /// Paginates internally. On DynamoDB this reads the `gsi1` index, which is eventually consistent.
    fn api_keys_of(
        &self,
        user_id: &str,
    ) -> impl Future<Output = Result<Vec<ApiKeyRecord>, StoreError>> + Send;

    /// One key by id (strongly consistent), whoever owns it.
    fn api_key_by_id(
        &self,
        key_id: &str,
    ) -> impl Future<Output = Result<Option<ApiKeyRecord>, StoreError>> + Send;

    /// Revokes `key_id` if owned by `user_id`: active=false, revokedAt=now (conditional update; the
    /// record is kept). Ok(None) when the key does not exist or belongs to someone else. Revoking a
    /// revoked key returns it unchanged.
    fn revoke_api_key(
        &self,
        user_id: &str,
        key_id: &str,
        now: i64,
    ) -> impl Future<Output = Result<Option<ApiKeyRecord>, StoreError>> + Send;

    /// The user's active (not revoked) keys, oldest first (createdAt asc, then keyId asc), from ONE
    /// strongly consistent read. Expired ones may be included: callers filter with
    /// [`ActiveKeyRef::is_usable_at`].
    fn active_keys_of(
        &self,
        user_id: &str,
    ) -> impl Future<Output = Result<Vec<ActiveKeyRef>, StoreError>> + Send;

    /// Creates or replaces a user record's role, memberships and operator suspension (the operator's
    /// write: `gatehouse users put`, seeding). Clerk's status on an existing record is kept; the
    /// revision is incremented; a store that keeps organization member projections
    /// ([`DirectoryStore`]) rewrites them.
    fn put_user(&self, user: &UserRecord) -> impl Future<Output = Result<(), StoreError>> + Send;
}
