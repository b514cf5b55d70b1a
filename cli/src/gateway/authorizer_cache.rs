//! API Gateway's authorizer result cache: one Allow/Deny result (principal, policy, context) per
//! combination of identity source values, kept for the authorizer's TTL (`ReauthorizeEvery`). Emulating
//! it matters because it changes behaviour: a revoked key keeps working until its entry expires, and a
//! policy is evaluated again for every request it is reused for.
//!
//! Keys are SHA-256 digests of the identity values, so bearer tokens are not kept in memory as map
//! keys. The cache holds at most `capacity` entries, evicting the oldest insertion first. Time comes
//! from a [`MonotonicClock`] so tests can move it instead of sleeping.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use aws_lc_rs::digest;

/// How many results the cache keeps at most.
pub const DEFAULT_CAPACITY: usize = 10_000;

/// A monotonic time source: time elapsed since an arbitrary fixed origin.
pub trait MonotonicClock: Send + Sync + fmt::Debug {
    /// Time since the clock's origin; never decreases.
    fn now(&self) -> Duration;
}

/// The real monotonic clock ([`Instant`]).
#[derive(Debug, Clone, Copy)]
pub struct InstantClock {
    origin: Instant,
}

impl Default for InstantClock {
    fn default() -> Self {
        Self {
            origin: Instant::now(),
        }
    }
}

impl MonotonicClock for InstantClock {
    fn now(&self) -> Duration {
        self.origin.elapsed()
    }
}

/// A clock that moves only when told; for tests.
#[derive(Debug, Default)]
pub struct ManualClock {
    nanos: AtomicU64,
}

impl ManualClock {
    /// A clock at zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        let nanos = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        self.nanos.fetch_add(nanos, Ordering::SeqCst);
    }
}

impl MonotonicClock for ManualClock {
    fn now(&self) -> Duration {
        Duration::from_nanos(self.nanos.load(Ordering::SeqCst))
    }
}

/// The digest of one authorizer's identity source values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CacheKey([u8; 32]);

impl CacheKey {
    /// Digests the authorizer name and each value (length-prefixed, so `("ab","c")` ≠ `("a","bc")`).
    pub fn new<'a>(authorizer: &'a str, values: impl IntoIterator<Item = &'a str>) -> Self {
        let mut context = digest::Context::new(&digest::SHA256);
        for part in std::iter::once(authorizer).chain(values) {
            context.update(&(part.len() as u64).to_be_bytes());
            context.update(part.as_bytes());
        }
        let mut key = [0u8; 32];
        let out = context.finish();
        for (slot, byte) in key.iter_mut().zip(out.as_ref()) {
            *slot = *byte;
        }
        Self(key)
    }
}

struct Entry<V> {
    value: Arc<V>,
    expires_at: Duration,
    sequence: u64,
}

struct Inner<V> {
    entries: HashMap<CacheKey, Entry<V>>,
    /// Insertion order; an item whose sequence no longer matches its entry is stale.
    order: VecDeque<(u64, CacheKey)>,
    next_sequence: u64,
}

/// A bounded TTL cache of authorizer results.
pub struct AuthorizerCache<V> {
    ttl: Duration,
    capacity: usize,
    inner: Mutex<Inner<V>>,
}

impl<V> fmt::Debug for AuthorizerCache<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthorizerCache")
            .field("ttl", &self.ttl)
            .field("capacity", &self.capacity)
            .field("len", &self.len())
            .finish()
    }
}

impl<V> AuthorizerCache<V> {
    /// A cache keeping results for `ttl` (zero disables it), at most `capacity` of them.
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        Self {
            ttl,
            capacity: capacity.max(1),
            inner: Mutex::new(Inner {
                entries: HashMap::new(),
                order: VecDeque::new(),
                next_sequence: 0,
            }),
        }
    }

    /// The TTL.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Whether results are cached at all.
    pub fn enabled(&self) -> bool {
        !self.ttl.is_zero()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner<V>> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Live entries (expired ones still held count until they are evicted or looked up).
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// Whether the cache holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The unexpired result for `key` at `now`.
    pub fn get(&self, key: &CacheKey, now: Duration) -> Option<Arc<V>> {
        if !self.enabled() {
            return None;
        }
        let mut inner = self.lock();
        match inner.entries.get(key) {
            Some(entry) if now < entry.expires_at => Some(Arc::clone(&entry.value)),
            Some(_) => {
                inner.entries.remove(key);
                None
            }
            None => None,
        }
    }

    /// Stores `value` for `key` from `now` for the TTL, evicting the oldest entries beyond capacity.
    pub fn insert(&self, key: CacheKey, value: Arc<V>, now: Duration) {
        if !self.enabled() {
            return;
        }
        let capacity = self.capacity;
        let mut inner = self.lock();
        let sequence = inner.next_sequence;
        inner.next_sequence = sequence.wrapping_add(1);
        inner.entries.insert(
            key,
            Entry {
                value,
                expires_at: now.saturating_add(self.ttl),
                sequence,
            },
        );
        inner.order.push_back((sequence, key));
        while inner.entries.len() > capacity {
            let Some((old_sequence, old_key)) = inner.order.pop_front() else {
                break;
            };
            if inner
                .entries
                .get(&old_key)
                .is_some_and(|entry| entry.sequence == old_sequence)
            {
                inner.entries.remove(&old_key);
            }
        }
        // Drop stale order items (replaced or expired-and-removed keys) so the queue stays bounded.
        if inner.order.len() > capacity.saturating_mul(2) {
            let Inner { entries, order, .. } = &mut *inner;
            order.retain(|(sequence, key)| {
                entries
                    .get(key)
                    .is_some_and(|entry| entry.sequence == *sequence)
            });
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )]

    use super::*;

    fn key(text: &str) -> CacheKey {
        CacheKey::new("auth", [text])
    }

    #[test]
    fn keys_separate_values_and_authorizers() {
        assert_ne!(
            CacheKey::new("a", ["ab", "c"]),
            CacheKey::new("a", ["a", "bc"])
        );
        assert_ne!(CacheKey::new("a", ["x"]), CacheKey::new("b", ["x"]));
        assert_eq!(CacheKey::new("a", ["x"]), CacheKey::new("a", ["x"]));
    }

    #[test]
    fn entries_expire_after_the_ttl() {
        let clock = ManualClock::new();
        let cache = AuthorizerCache::new(Duration::from_secs(60), 10);
        cache.insert(key("t"), Arc::new(1), clock.now());
        clock.advance(Duration::from_secs(59));
        assert_eq!(cache.get(&key("t"), clock.now()).as_deref(), Some(&1));
        assert!(cache.get(&key("u"), clock.now()).is_none());
        clock.advance(Duration::from_secs(1));
        assert!(cache.get(&key("t"), clock.now()).is_none());
        assert!(cache.is_empty());
    }

    #[test]
    fn zero_ttl_disables_the_cache() {
        let cache = AuthorizerCache::new(Duration::ZERO, 10);
        cache.insert(key("t"), Arc::new(1), Duration::ZERO);
        assert!(cache.get(&key("t"), Duration::ZERO).is_none());
        assert!(!cache.enabled());
    }

    #[test]
    fn capacity_evicts_the_oldest() {
        let cache = AuthorizerCache::new(Duration::from_secs(60), 3);
        let now = Duration::ZERO;
        for (i, name) in ["a", "b", "c"].iter().enumerate() {
            cache.insert(key(name), Arc::new(i), now);
        }
        // Re-inserting `a` makes it the newest: `b` is now the oldest.
        cache.insert(key("a"), Arc::new(10), now);
        cache.insert(key("d"), Arc::new(3), now);
        assert_eq!(cache.len(), 3);
        assert!(cache.get(&key("b"), now).is_none());
        assert_eq!(cache.get(&key("a"), now).as_deref(), Some(&10));
        assert!(cache.get(&key("c"), now).is_some());
        assert!(cache.get(&key("d"), now).is_some());
        for i in 0..100 {
            cache.insert(key("a"), Arc::new(i), now);
        }
        assert!(cache.lock().order.len() <= 6);
        assert_eq!(cache.len(), 3);
    }
}
