//! An in-memory [`AuthStore`] and [`KeyStore`] for unit tests and benchmarks only: it lets the decision
//! and key-management logic be exercised without I/O. It has the DynamoDB store's semantics (the same
//! ordering, limit, throttle and revocation rules), enforced under one mutex; integration tests use
//! DynamoDB Local (and the same conformance suite) instead.
//!
//! Unlike [`super::dynamo::DynamoStore::put_api_key`], seeding with [`MemoryStore::put_key`] makes a
//! key fully known: found by id, counted against the limit, listed among the active keys.
//!
//! The resources ([`ResourceStore`]) are kept as the table keeps them, in ordered maps: the records by
//! id and each signer's copy of a package by (user, package id), so a re-seed that drops a signer
//! leaves that signer's stale copy, as on DynamoDB. Listings order and page exactly as the table's
//! sort keys do.
//!
//! The directory ([`DirectoryStore`]) keeps what the table keeps too: each organization's member
//! projections are stored, written with the user record (grouped by the companies and locations that
//! exist at that moment) and never recomputed on read, so a member listing here shows exactly what
//! it would show on DynamoDB, including after a company appears or moves later. Ids DynamoDB would
//! refuse to store are refused here, and ids that are not ids are never found.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use super::directory::{check_memberships, check_user, next_clerk_status};
use super::resources::{check_ids, check_package, page_of};
use super::{
    ActiveKeyRef, ApiKeyRecord, AuditEntry, AuthStore, ChangeError, ClerkEvent, ClerkOutcome,
    Company, CreateKeyError, CreatePackageError, DirectoryStore, KeyStore, Location, MemberEntry,
    MembershipChange, Organization, Package, Page, PageRequest, ResourceStore, StoreError,
    Template, UserRecord,
};
use crate::apikey::KeyHash;
use crate::principal::{Memberships, Role, is_valid_id};

/// Records in hash maps behind one mutex; cheap to clone (clones share the records); can be told to
/// fail every call.
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    shared: Arc<Shared>,
}

#[derive(Debug, Default)]
struct Shared {
    records: Mutex<Records>,
    failing: AtomicBool,
    /// When set, how many more calls succeed before every call fails ([`MemoryStore::fail_after`]).
    calls_left: Mutex<Option<usize>>,
}

#[derive(Debug, Default)]
struct Records {
    /// Key records by hash hex.
    keys: HashMap<String, ApiKeyRecord>,
    /// Hash hex by key id.
    ids: HashMap<String, String>,
    /// User records by id.
    users: HashMap<String, UserRecord>,
    organizations: BTreeMap<String, Organization>,
    companies: BTreeMap<String, Company>,
    locations: BTreeMap<String, Location>,
    templates: BTreeMap<String, Template>,
    packages: BTreeMap<String, Package>,
    /// Each signer's copy of a package, by (user id, package id).
    assignments: BTreeMap<(String, String), Package>,
    /// Processed webhook deliveries: id → (event type, when).
    deliveries: HashMap<String, (String, i64)>,
    /// Audit entries by (organization id, entry id).
    audit: BTreeMap<(String, String), AuditEntry>,
    /// Member projections by (organization id, user id).
    members: BTreeMap<(String, String), MemberEntry>,
}

impl Records {
    fn by_id_mut(&mut self, key_id: &str) -> Option<&mut ApiKeyRecord> {
        let hash = self.ids.get(key_id)?;
        self.keys.get_mut(hash)
    }

    fn insert_key(&mut self, record: ApiKeyRecord) {
        let hash = record.key_hash.to_hex();
        if let Some(replaced) = self.keys.get(&hash) {
            self.ids.remove(&replaced.key_id);
        }
        self.ids.insert(record.key_id.clone(), hash.clone());
        self.keys.insert(hash, record);
    }
}

impl Records {
    /// [`memberships_by_organization`] on these records (under the lock, so a user write and its
    /// projections are one step).
    fn group(&self, memberships: &Memberships) -> BTreeMap<String, Memberships> {
        let mut grouped: BTreeMap<String, Memberships> = BTreeMap::new();
        let mut add =
            |organization_id: &str, pick: fn(&mut Memberships) -> &mut Vec<String>, id: &str| {
                let ids = pick(grouped.entry(organization_id.to_owned()).or_default());
                if !ids.iter().any(|existing| existing == id) {
                    ids.push(id.to_owned());
                }
            };
        for id in &memberships.organization_ids {
            add(id, |m| &mut m.organization_ids, id);
        }
        for id in &memberships.company_ids {
            if let Some(company) = self.companies.get(id) {
                add(&company.organization_id, |m| &mut m.company_ids, id);
            }
        }
        for id in &memberships.location_ids {
            if let Some(location) = self.locations.get(id) {
                add(&location.organization_id, |m| &mut m.location_ids, id);
            }
        }
        for entry in grouped.values_mut() {
            entry.organization_ids.sort();
            entry.company_ids.sort();
            entry.location_ids.sort();
        }
        grouped
    }

    /// Stores `record` and rewrites its projections as the DynamoDB store's `put_user` does: one per
    /// organization the new memberships touch, and the ones only the old memberships touched gone.
    fn write_user(&mut self, record: UserRecord) {
        let new_groups = self.group(&record.memberships);
        let old_groups = self
            .users
            .get(&record.user_id)
            .map(|old| self.group(&old.memberships))
            .unwrap_or_default();
        for organization_id in old_groups.keys() {
            if !new_groups.contains_key(organization_id) {
                self.members
                    .remove(&(organization_id.clone(), record.user_id.clone()));
            }
        }
        for (organization_id, memberships) in new_groups {
            self.members.insert(
                (organization_id.clone(), record.user_id.clone()),
                MemberEntry {
                    organization_id,
                    user_id: record.user_id.clone(),
                    memberships,
                },
            );
        }
        self.users.insert(record.user_id.clone(), record);
    }

    fn write_package(&mut self, package: &Package) {
        for signer in package.distinct_signers() {
            self.assignments
                .insert((signer.to_owned(), package.id.clone()), package.clone());
        }
        self.packages.insert(package.id.clone(), package.clone());
    }
}

/// `(id, record)` pairs of `records` matching `keep`, for [`page_of`].
fn by_id<'a, T: Clone + 'a>(
    records: impl IntoIterator<Item = (&'a String, &'a T)>,
    keep: impl Fn(&T) -> bool,
) -> Vec<(String, T)> {
    records
        .into_iter()
        .filter(|(_, record)| keep(record))
        .map(|(id, record)| (id.clone(), record.clone()))
        .collect()
}

/// The records of `map` for the valid ids among `ids`, each once, in the order of `ids`.
fn found<T: Clone>(map: &BTreeMap<String, T>, ids: &[String]) -> Vec<T> {
    let mut seen: Vec<&str> = Vec::new();
    let mut out = Vec::new();
    for id in ids {
        if seen.contains(&id.as_str()) {
            continue;
        }
        seen.push(id);
        if let Some(record) = map.get(id) {
            out.push(record.clone());
        }
    }
    out
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds or replaces a key record (synchronously, with no limit: for seeding).
    pub fn put_key(&self, record: ApiKeyRecord) {
        if let Ok(mut records) = self.shared.records.lock() {
            records.insert_key(record);
        }
    }

    /// Adds or replaces a user record as given, revision and Clerk status included (synchronously,
    /// for seeding), with its member projections. Shadows [`KeyStore::put_user`] in method syntax on
    /// a `MemoryStore`; generic code over `S: KeyStore` calls the trait's.
    pub fn put_user(&self, record: UserRecord) {
        if let Ok(mut records) = self.shared.records.lock() {
            records.write_user(record);
        }
    }

    /// Makes every subsequent call fail (or succeed again).
    pub fn set_failing(&self, failing: bool) {
        self.shared.failing.store(failing, Ordering::SeqCst);
        if let Ok(mut left) = self.shared.calls_left.lock() {
            *left = None;
        }
    }

    /// Lets `calls` more calls succeed, then fails every call until [`Self::set_failing`]`(false)`:
    /// a store that goes away in the middle of a multi-step operation.
    pub fn fail_after(&self, calls: usize) {
        if let Ok(mut left) = self.shared.calls_left.lock() {
            *left = Some(calls);
        }
    }

    /// The records, unless the store is set to fail.
    fn records(&self) -> Result<MutexGuard<'_, Records>, StoreError> {
        if self.shared.failing.load(Ordering::SeqCst) {
            return Err(StoreError::Unavailable("memory store set to fail".into()));
        }
        if let Ok(mut left) = self.shared.calls_left.lock()
            && let Some(calls) = left.as_mut()
        {
            if *calls == 0 {
                return Err(StoreError::Unavailable("memory store set to fail".into()));
            }
            *calls -= 1;
        }
        self.shared
            .records
            .lock()
            .map_err(|_| StoreError::Unavailable("lock poisoned".into()))
    }
}

impl AuthStore for MemoryStore {
    async fn api_key_by_hash(&self, hash: &KeyHash) -> Result<Option<ApiKeyRecord>, StoreError> {
        Ok(self.records()?.keys.get(&hash.to_hex()).cloned())
    }

    async fn user(&self, user_id: &str) -> Result<Option<UserRecord>, StoreError> {
        Ok(self.records()?.users.get(user_id).cloned())
    }

    async fn touch_api_key(
        &self,
        hash: &KeyHash,
        now: i64,
        min_interval: i64,
    ) -> Result<bool, StoreError> {
        let mut records = self.records()?;
        let Some(record) = records.keys.get_mut(&hash.to_hex()) else {
            return Ok(false);
        };
        let due = record
            .last_used_at
            .is_none_or(|last| last <= now.saturating_sub(min_interval));
        if due {
            record.last_used_at = Some(now);
        }
        Ok(due)
    }
}

impl KeyStore for MemoryStore {
    async fn create_api_key(
        &self,
        record: &ApiKeyRecord,
        limit: usize,
        now: i64,
    ) -> Result<(), CreateKeyError> {
        if !is_valid_id(&record.key_id) {
            return Err(StoreError::Corrupt {
                key: "APIKEY".to_owned(),
                problem: "key id is not 1 to 128 characters of [A-Za-z0-9_-]".to_owned(),
            }
            .into());
        }
        let mut records = self.records()?;
        if records.keys.contains_key(&record.key_hash.to_hex())
            || records.ids.contains_key(&record.key_id)
        {
            return Err(CreateKeyError::Conflict);
        }
        if record.active {
            let usable = records
                .keys
                .values()
                .filter(|key| key.user_id == record.user_id && key.is_usable_at(now))
                .count();
            if usable >= limit {
                return Err(CreateKeyError::LimitReached);
            }
        }
        records.insert_key(record.clone());
        Ok(())
    }

    async fn api_keys_of(&self, user_id: &str) -> Result<Vec<ApiKeyRecord>, StoreError> {
        let mut keys: Vec<ApiKeyRecord> = self
            .records()?
            .keys
            .values()
            .filter(|key| key.user_id == user_id)
            .cloned()
            .collect();
        keys.sort_by(|a, b| {
            b.created_at
                .cmp(&a.created_at)
                .then_with(|| b.key_id.cmp(&a.key_id))
        });
        Ok(keys)
    }

    async fn api_key_by_id(&self, key_id: &str) -> Result<Option<ApiKeyRecord>, StoreError> {
        let records = self.records()?;
        Ok(records
            .ids
            .get(key_id)
            .and_then(|hash| records.keys.get(hash))
            .cloned())
    }

    async fn revoke_api_key(
        &self,
        user_id: &str,
        key_id: &str,
        now: i64,
    ) -> Result<Option<ApiKeyRecord>, StoreError> {
        let mut records = self.records()?;
        let Some(record) = records.by_id_mut(key_id) else {
            return Ok(None);
        };
        if record.user_id != user_id {
            return Ok(None);
        }
        if record.active {
            record.active = false;
            record.revoked_at = Some(now);
        }
        Ok(Some(record.clone()))
    }

    async fn active_keys_of(&self, user_id: &str) -> Result<Vec<ActiveKeyRef>, StoreError> {
        let mut keys: Vec<ActiveKeyRef> = self
            .records()?
            .keys
            .values()
            .filter(|key| key.user_id == user_id && key.active)
            .map(ActiveKeyRef::from)
            .collect();
        keys.sort_by(|a, b| {
            a.created_at
                .cmp(&b.created_at)
                .then_with(|| a.key_id.cmp(&b.key_id))
        });
        Ok(keys)
    }

    async fn put_user(&self, user: &UserRecord) -> Result<(), StoreError> {
        check_user(user)?;
        let mut records = self.records()?;
        let existing = records.users.get(&user.user_id);
        let record = UserRecord {
            clerk: existing.map(|e| e.clerk).unwrap_or_default(),
            revision: existing.map_or(0, |e| e.revision).saturating_add(1),
            ..user.clone()
        };
        records.write_user(record);
        Ok(())
    }
}

impl DirectoryStore for MemoryStore {
    async fn apply_clerk_event(
        &self,
        event: &ClerkEvent,
        default_role: Role,
    ) -> Result<ClerkOutcome, StoreError> {
        check_ids("USER", [("userId", event.user_id.as_str())])?;
        let mut records = self.records()?;
        let existing = records.users.get(&event.user_id);
        let Some(clerk) = next_clerk_status(existing.map(|user| &user.clerk), event) else {
            return Ok(ClerkOutcome::Superseded);
        };
        let record = match existing {
            Some(user) => UserRecord {
                clerk,
                ..user.clone()
            },
            None => UserRecord {
                clerk,
                ..UserRecord::new(event.user_id.clone(), default_role, Memberships::default())
            },
        };
        records.users.insert(event.user_id.clone(), record);
        Ok(ClerkOutcome::Applied)
    }

    async fn revoke_keys_of(&self, user_id: &str, now: i64) -> Result<usize, StoreError> {
        if !is_valid_id(user_id) {
            return Ok(0);
        }
        let mut records = self.records()?;
        let mut revoked = 0;
        for key in records.keys.values_mut() {
            if key.user_id == user_id && key.active {
                key.active = false;
                key.revoked_at = Some(now);
                revoked += 1;
            }
        }
        Ok(revoked)
    }

    async fn webhook_delivery_seen(&self, delivery_id: &str) -> Result<bool, StoreError> {
        if !is_valid_id(delivery_id) {
            return Ok(false);
        }
        Ok(self.records()?.deliveries.contains_key(delivery_id))
    }

    async fn record_webhook_delivery(
        &self,
        delivery_id: &str,
        event_type: &str,
        at: i64,
    ) -> Result<(), StoreError> {
        check_ids("WEBHOOK", [("deliveryId", delivery_id)])?;
        self.records()?
            .deliveries
            .entry(delivery_id.to_owned())
            .or_insert_with(|| (event_type.to_owned(), at));
        Ok(())
    }

    async fn members_of(
        &self,
        organization_id: &str,
        page: PageRequest,
    ) -> Result<Page<MemberEntry>, StoreError> {
        if !is_valid_id(organization_id) {
            return Ok(Page::empty());
        }
        let entries = self
            .records()?
            .members
            .iter()
            .filter(|((org, _), _)| org == organization_id)
            .map(|((_, user_id), entry)| (user_id.clone(), entry.clone()))
            .collect();
        Ok(page_of(entries, &page))
    }

    async fn users_by_ids(&self, user_ids: &[String]) -> Result<Vec<UserRecord>, StoreError> {
        let records = self.records()?;
        let mut seen: Vec<&str> = Vec::new();
        let mut out = Vec::new();
        for id in user_ids {
            if seen.contains(&id.as_str()) || !is_valid_id(id) {
                continue;
            }
            seen.push(id);
            if let Some(user) = records.users.get(id) {
                out.push(user.clone());
            }
        }
        Ok(out)
    }

    async fn change_membership(&self, change: &MembershipChange) -> Result<(), ChangeError> {
        check_user(&change.user)?;
        check_memberships("MEMBER", &change.inside_organization)?;
        let organization_id = change.audit.organization_id.clone();
        check_ids(
            "AUDIT",
            [
                ("organizationId", organization_id.as_str()),
                ("id", change.audit.id.as_str()),
                ("targetUserId", change.audit.target_user_id.as_str()),
            ],
        )?;
        let mut records = self.records()?;
        let audit_key = (organization_id.clone(), change.audit.id.clone());
        let existing = records.users.get(&change.user.user_id);
        let record = match (existing, change.expected_revision) {
            (None, None) => UserRecord {
                revision: 1,
                suspended: false,
                clerk: Default::default(),
                ..change.user.clone()
            },
            (Some(user), Some(revision)) if user.revision == revision => UserRecord {
                role: change.user.role,
                memberships: change.user.memberships.clone(),
                revision: revision.saturating_add(1),
                ..user.clone()
            },
            _ => return Err(ChangeError::Conflict),
        };
        if records.audit.contains_key(&audit_key) {
            return Err(StoreError::Unavailable(format!(
                "audit entry {} exists in {organization_id}",
                change.audit.id
            ))
            .into());
        }
        let member_key = (organization_id.clone(), record.user_id.clone());
        if change.inside_organization == Memberships::default() {
            records.members.remove(&member_key);
        } else {
            records.members.insert(
                member_key,
                MemberEntry {
                    organization_id,
                    user_id: record.user_id.clone(),
                    memberships: change.inside_organization.clone(),
                },
            );
        }
        records.users.insert(record.user_id.clone(), record);
        records.audit.insert(audit_key, change.audit.clone());
        Ok(())
    }

    async fn audit_of(
        &self,
        organization_id: &str,
        page: PageRequest,
    ) -> Result<Page<AuditEntry>, StoreError> {
        if !is_valid_id(organization_id) {
            return Ok(Page::empty());
        }
        let entries = self
            .records()?
            .audit
            .iter()
            .filter(|((org, _), _)| org == organization_id)
            .map(|((_, id), entry)| (id.clone(), entry.clone()))
            .collect();
        Ok(page_of(entries, &page))
    }
}

impl ResourceStore for MemoryStore {
    async fn put_organization(&self, organization: &Organization) -> Result<(), StoreError> {
        check_ids("ORG", [("id", organization.id.as_str())])?;
        self.records()?
            .organizations
            .insert(organization.id.clone(), organization.clone());
        Ok(())
    }

    async fn put_company(&self, company: &Company) -> Result<(), StoreError> {
        check_ids(
            "COMPANY",
            [
                ("id", company.id.as_str()),
                ("organizationId", company.organization_id.as_str()),
            ],
        )?;
        self.records()?
            .companies
            .insert(company.id.clone(), company.clone());
        Ok(())
    }

    async fn put_location(&self, location: &Location) -> Result<(), StoreError> {
        check_ids(
            "LOCATION",
            [
                ("id", location.id.as_str()),
                ("companyId", location.company_id.as_str()),
                ("organizationId", location.organization_id.as_str()),
            ],
        )?;
        self.records()?
            .locations
            .insert(location.id.clone(), location.clone());
        Ok(())
    }

    async fn put_template(&self, template: &Template) -> Result<(), StoreError> {
        check_ids(
            "TEMPLATE",
            [
                ("id", template.id.as_str()),
                ("organizationId", template.organization_id.as_str()),
            ],
        )?;
        self.records()?
            .templates
            .insert(template.id.clone(), template.clone());
        Ok(())
    }

    async fn put_package(&self, package: &Package) -> Result<(), StoreError> {
        check_package(package)?;
        self.records()?.write_package(package);
        Ok(())
    }

    async fn create_package(&self, package: &Package) -> Result<(), CreatePackageError> {
        check_package(package)?;
        let mut records = self.records()?;
        if records.packages.contains_key(&package.id) {
            return Err(CreatePackageError::Conflict);
        }
        records.write_package(package);
        Ok(())
    }

    async fn organization(&self, id: &str) -> Result<Option<Organization>, StoreError> {
        Ok(self.records()?.organizations.get(id).cloned())
    }

    async fn company(&self, id: &str) -> Result<Option<Company>, StoreError> {
        Ok(self.records()?.companies.get(id).cloned())
    }

    async fn location(&self, id: &str) -> Result<Option<Location>, StoreError> {
        Ok(self.records()?.locations.get(id).cloned())
    }

    async fn package(&self, id: &str) -> Result<Option<Package>, StoreError> {
        Ok(self.records()?.packages.get(id).cloned())
    }

    async fn companies_by_ids(&self, ids: &[String]) -> Result<Vec<Company>, StoreError> {
        Ok(found(&self.records()?.companies, ids))
    }

    async fn locations_by_ids(&self, ids: &[String]) -> Result<Vec<Location>, StoreError> {
        Ok(found(&self.records()?.locations, ids))
    }

    async fn organizations(&self, page: PageRequest) -> Result<Page<Organization>, StoreError> {
        let records = self.records()?;
        Ok(page_of(by_id(&records.organizations, |_| true), &page))
    }

    async fn companies_of(
        &self,
        organization_id: &str,
        page: PageRequest,
    ) -> Result<Page<Company>, StoreError> {
        let records = self.records()?;
        let entries = by_id(&records.companies, |c| c.organization_id == organization_id);
        Ok(page_of(entries, &page))
    }

    async fn locations_of_organization(
        &self,
        organization_id: &str,
        page: PageRequest,
    ) -> Result<Page<Location>, StoreError> {
        let records = self.records()?;
        let entries = records
            .locations
            .values()
            .filter(|l| l.organization_id == organization_id)
            .map(|l| (format!("{}#{}", l.company_id, l.id), l.clone()))
            .collect();
        Ok(page_of(entries, &page))
    }

    async fn locations_of_company(
        &self,
        company_id: &str,
        page: PageRequest,
    ) -> Result<Page<Location>, StoreError> {
        let records = self.records()?;
        let Some(company) = records.companies.get(company_id) else {
            return Ok(Page::empty());
        };
        let entries = by_id(&records.locations, |l| {
            l.company_id == company.id && l.organization_id == company.organization_id
        });
        Ok(page_of(entries, &page))
    }

    async fn templates_of(
        &self,
        organization_id: &str,
        page: PageRequest,
    ) -> Result<Page<Template>, StoreError> {
        let records = self.records()?;
        let entries = by_id(&records.templates, |t| t.organization_id == organization_id);
        Ok(page_of(entries, &page))
    }

    async fn packages_at(
        &self,
        location_id: &str,
        page: PageRequest,
    ) -> Result<Page<Package>, StoreError> {
        let records = self.records()?;
        let entries = by_id(&records.packages, |p| p.location_id == location_id);
        Ok(page_of(entries, &page))
    }

    async fn packages_of_signer(
        &self,
        user_id: &str,
        page: PageRequest,
    ) -> Result<Page<Package>, StoreError> {
        let records = self.records()?;
        let entries = records
            .assignments
            .iter()
            .filter(|((signer, _), _)| signer == user_id)
            .map(|((_, id), package)| (id.clone(), package.clone()))
            .collect();
        Ok(page_of(entries, &page))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apikey::Pepper;
    use crate::principal::{Memberships, Role, Scopes};
    use crate::store::directory::memberships_by_organization;

    const NOW: i64 = 1_750_000_000;

    fn pepper() -> Pepper {
        Pepper::new(b"memory-store-tests-pepper").unwrap()
    }

    fn key(user_id: &str, key_id: &str, created_at: i64) -> ApiKeyRecord {
        ApiKeyRecord {
            key_id: key_id.into(),
            user_id: user_id.into(),
            key_hash: pepper().hash(&format!("sf_{key_id}")),
            name: "ci".into(),
            scopes: Scopes::ALL,
            active: true,
            created_at,
            expires_at: None,
            tail: "abcd".into(),
            last_used_at: None,
            revoked_at: None,
        }
    }

    fn ids(records: &[ApiKeyRecord]) -> Vec<&str> {
        records.iter().map(|r| r.key_id.as_str()).collect()
    }

    #[tokio::test]
    async fn clones_share_records() {
        let store = MemoryStore::new();
        let clone = store.clone();
        clone
            .create_api_key(&key("user_1", "k_1", NOW), 25, NOW)
            .await
            .unwrap();
        assert!(store.api_key_by_id("k_1").await.unwrap().is_some());
    }

    #[tokio::test]
    async fn the_limit_holds_under_concurrency() {
        let store = MemoryStore::new();
        let tasks: Vec<_> = (0..50)
            .map(|i| {
                let store = store.clone();
                tokio::spawn(async move {
                    store
                        .create_api_key(&key("user_1", &format!("k_{i}"), NOW), 25, NOW)
                        .await
                })
            })
            .collect();
        let mut created = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(()) => created += 1,
                Err(CreateKeyError::LimitReached) => {}
                Err(other) => panic!("{other:?}"),
            }
        }
        assert_eq!(created, 25);
        assert_eq!(store.active_keys_of("user_1").await.unwrap().len(), 25);
        // Another user is not affected.
        store
            .create_api_key(&key("user_2", "k_other", NOW), 25, NOW)
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn revoked_and_expired_keys_do_not_count() {
        let store = MemoryStore::new();
        let expiring = ApiKeyRecord {
            expires_at: Some(NOW + 10),
            ..key("user_1", "k_expiring", NOW)
        };
        store.create_api_key(&expiring, 2, NOW).await.unwrap();
        store
            .create_api_key(&key("user_1", "k_a", NOW), 2, NOW)
            .await
            .unwrap();
        assert!(matches!(
            store
                .create_api_key(&key("user_1", "k_b", NOW), 2, NOW)
                .await,
            Err(CreateKeyError::LimitReached)
        ));
        // At NOW + 10 the first key has expired (expiry is exclusive).
        store
            .create_api_key(&key("user_1", "k_b", NOW), 2, NOW + 10)
            .await
            .unwrap();
        store.revoke_api_key("user_1", "k_a", NOW).await.unwrap();
        store
            .create_api_key(&key("user_1", "k_c", NOW), 2, NOW + 10)
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn duplicates_conflict_and_change_nothing() {
        let store = MemoryStore::new();
        let original = key("user_1", "k_1", NOW);
        store.create_api_key(&original, 25, NOW).await.unwrap();
        let same_id = ApiKeyRecord {
            key_hash: pepper().hash("sf_other"),
            ..key("user_2", "k_1", NOW)
        };
        let same_hash = key("user_2", "k_1", NOW);
        for duplicate in [same_id, same_hash] {
            assert!(matches!(
                store.create_api_key(&duplicate, 25, NOW).await,
                Err(CreateKeyError::Conflict)
            ));
        }
        assert_eq!(
            store.api_key_by_id("k_1").await.unwrap(),
            Some(original.clone())
        );
        assert!(store.api_keys_of("user_2").await.unwrap().is_empty());
        // Ids that could not be stored in DynamoDB are refused here too.
        assert!(matches!(
            store
                .create_api_key(&key("user_1", "k#1", NOW), 25, NOW)
                .await,
            Err(CreateKeyError::Store(StoreError::Corrupt { .. }))
        ));
    }

    #[tokio::test]
    async fn listings_are_ordered() {
        let store = MemoryStore::new();
        for (id, created_at) in [
            ("k_b", NOW),
            ("k_old", NOW - 5),
            ("k_a", NOW),
            ("k_new", NOW + 5),
        ] {
            store
                .create_api_key(&key("user_1", id, created_at), 25, NOW)
                .await
                .unwrap();
        }
        store
            .create_api_key(&key("user_2", "k_x", NOW), 25, NOW)
            .await
            .unwrap();
        store.revoke_api_key("user_1", "k_b", NOW).await.unwrap();
        assert_eq!(
            ids(&store.api_keys_of("user_1").await.unwrap()),
            ["k_new", "k_b", "k_a", "k_old"]
        );
        let active: Vec<String> = store
            .active_keys_of("user_1")
            .await
            .unwrap()
            .into_iter()
            .map(|k| k.key_id)
            .collect();
        assert_eq!(active, ["k_old", "k_a", "k_new"]);
    }

    #[tokio::test]
    async fn revocation_is_owner_only_and_once() {
        let store = MemoryStore::new();
        store
            .create_api_key(&key("user_1", "k_1", NOW), 25, NOW)
            .await
            .unwrap();
        assert_eq!(
            store.revoke_api_key("user_2", "k_1", NOW).await.unwrap(),
            None
        );
        assert_eq!(
            store.revoke_api_key("user_1", "k_none", NOW).await.unwrap(),
            None
        );
        let revoked = store
            .revoke_api_key("user_1", "k_1", NOW + 1)
            .await
            .unwrap()
            .unwrap();
        assert!(!revoked.active);
        assert_eq!(revoked.revoked_at, Some(NOW + 1));
        let again = store
            .revoke_api_key("user_1", "k_1", NOW + 2)
            .await
            .unwrap();
        assert_eq!(again, Some(revoked.clone()));
        let by_hash = store.api_key_by_hash(&revoked.key_hash).await.unwrap();
        assert_eq!(by_hash, Some(revoked));
    }

    #[tokio::test]
    async fn touch_is_throttled() {
        let store = MemoryStore::new();
        let record = key("user_1", "k_1", NOW);
        store.create_api_key(&record, 25, NOW).await.unwrap();
        let hash = record.key_hash;
        assert!(store.touch_api_key(&hash, NOW, 300).await.unwrap());
        assert!(!store.touch_api_key(&hash, NOW + 299, 300).await.unwrap());
        assert!(store.touch_api_key(&hash, NOW + 300, 300).await.unwrap());
        let stored = store.api_key_by_hash(&hash).await.unwrap().unwrap();
        assert_eq!(stored.last_used_at, Some(NOW + 300));
        assert!(
            !store
                .touch_api_key(&pepper().hash("sf_unknown"), NOW, 300)
                .await
                .unwrap()
        );
    }

    /// The grouping done under the lock is the shared one.
    #[tokio::test]
    async fn projections_group_as_memberships_by_organization() {
        let store = MemoryStore::new();
        for (id, organization_id) in [("co_1", "org_1"), ("co_2", "org_2"), ("co_3", "org_1")] {
            store
                .put_company(&Company {
                    id: id.into(),
                    organization_id: organization_id.into(),
                    name: id.into(),
                })
                .await
                .unwrap();
        }
        store
            .put_location(&Location {
                id: "loc_1".into(),
                company_id: "co_2".into(),
                organization_id: "org_2".into(),
                name: "loc".into(),
            })
            .await
            .unwrap();
        let memberships = Memberships {
            organization_ids: vec!["org_9".into(), "org_1".into(), "org_9".into()],
            company_ids: vec![
                "co_3".into(),
                "co_1".into(),
                "co_2".into(),
                "co_x".into(),
                "co_1".into(),
            ],
            location_ids: vec!["loc_1".into(), "loc_x".into()],
        };
        let shared = memberships_by_organization(&store, &memberships)
            .await
            .unwrap();
        let grouped = store.records().unwrap().group(&memberships);
        assert_eq!(grouped, shared);
        assert_eq!(
            grouped.keys().collect::<Vec<_>>(),
            ["org_1", "org_2", "org_9"]
        );
    }

    #[tokio::test]
    async fn users_are_replaced_and_failures_reported() {
        let store = MemoryStore::new();
        let user = UserRecord {
            user_id: "user_1".into(),
            role: Role::Manager,
            memberships: Memberships::default(),
            suspended: false,
            clerk: Default::default(),
            revision: 0,
        };
        KeyStore::put_user(&store, &user).await.unwrap();
        let admin = UserRecord {
            role: Role::Admin,
            ..user
        };
        KeyStore::put_user(&store, &admin).await.unwrap();
        assert_eq!(
            store.user("user_1").await.unwrap(),
            Some(UserRecord {
                revision: 2,
                ..admin
            })
        );

        store.set_failing(true);
        assert!(matches!(
            store.active_keys_of("user_1").await,
            Err(StoreError::Unavailable(_))
        ));
        assert!(matches!(
            store
                .create_api_key(&key("user_1", "k_1", NOW), 25, NOW)
                .await,
            Err(CreateKeyError::Store(StoreError::Unavailable(_)))
        ));
        store.set_failing(false);
        assert_eq!(store.active_keys_of("user_1").await.unwrap(), []);
    }
}
