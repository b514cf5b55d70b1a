//! An in-memory [`AuthStore`] for unit tests and benchmarks only: it lets the decision logic be measured
//! without I/O. Integration tests use DynamoDB Local instead.

use std::collections::HashMap;
use std::sync::RwLock;
use std::sync::atomic::{AtomicBool, Ordering};

use super::{ApiKeyRecord, AuthStore, StoreError, UserRecord};
use crate::apikey::KeyHash;

/// Records in hash maps; can be told to fail every call.
#[derive(Debug, Default)]
pub struct MemoryStore {
    keys: RwLock<HashMap<String, ApiKeyRecord>>,
    users: RwLock<HashMap<String, UserRecord>>,
    failing: AtomicBool,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds or replaces a key record.
    pub fn put_key(&self, record: ApiKeyRecord) {
        if let Ok(mut keys) = self.keys.write() {
            keys.insert(record.key_hash.to_hex(), record);
        }
    }

    /// Adds or replaces a user record.
    pub fn put_user(&self, record: UserRecord) {
        if let Ok(mut users) = self.users.write() {
            users.insert(record.user_id.clone(), record);
        }
    }

    /// Makes every subsequent call fail (or succeed again).
    pub fn set_failing(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }

    fn check(&self) -> Result<(), StoreError> {
        if self.failing.load(Ordering::SeqCst) {
            Err(StoreError::Unavailable("memory store set to fail".into()))
        } else {
            Ok(())
        }
    }
}

impl AuthStore for MemoryStore {
    async fn api_key_by_hash(&self, hash: &KeyHash) -> Result<Option<ApiKeyRecord>, StoreError> {
        self.check()?;
        let keys = self
            .keys
            .read()
            .map_err(|_| StoreError::Unavailable("lock poisoned".into()))?;
        Ok(keys.get(&hash.to_hex()).cloned())
    }

    async fn user(&self, user_id: &str) -> Result<Option<UserRecord>, StoreError> {
        self.check()?;
        let users = self
            .users
            .read()
            .map_err(|_| StoreError::Unavailable("lock poisoned".into()))?;
        Ok(users.get(user_id).cloned())
    }
}
