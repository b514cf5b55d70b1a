//! Persistence behind a narrow trait. The authorizer needs exactly two reads: an API key record by its
//! hash and a user record by Clerk user id. [`AuthStore`] is that and nothing more, so the decision
//! logic can be exercised against an in-memory store in unit tests and against DynamoDB everywhere
//! else ([`dynamo::DynamoStore`]).

pub mod dynamo;
#[cfg(any(test, feature = "test-util"))]
pub mod memory;

use std::future::Future;

use crate::apikey::KeyHash;
use crate::principal::{Memberships, Role, Scopes};

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
}

impl ApiKeyRecord {
    /// Whether the key may authenticate at `now`.
    pub fn is_usable_at(&self, now: i64) -> bool {
        self.active && self.expires_at.is_none_or(|expiry| now < expiry)
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
    /// Suspended users are refused.
    pub suspended: bool,
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

/// The reads the authorizer needs.
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
}
