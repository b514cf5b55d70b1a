//! [`DirectoryStore`] on the DynamoDB table, and the operator's user write behind
//! [`KeyStore::put_user`](crate::store::KeyStore::put_user): the same single table, no new index, no
//! scans. Three kinds of items join the user record (whose `clerk*` and `revision` attributes are in
//! the table of [`super`]):
//!
//! | item | `pk` | `sk` | other attributes |
//! |---|---|---|---|
//! | member projection | `MEMBERS#<orgId>` | `MEMBER#<userId>` | `userId`, `organizationId`, `organizationIds`, `companyIds`, `locationIds` (lists: the user's memberships inside that organization) |
//! | audit entry | `AUDIT#<orgId>` | `AUDIT#<entryId>` | `id`, `organizationId`, `atMs`, `actorUserId`, `actorAuthType`, `actorKeyId`, `actorClientId` (NULL when none), `action`, `targetUserId`, `before` (map `{role, organizationIds, companyIds, locationIds}`, NULL when there was no record), `after` (same map) |
//! | webhook delivery | `WEBHOOK#<deliveryId>` | `WEBHOOK` | `deliveryId`, `eventType`, `receivedAt` (Unix seconds), `ttl` = receivedAt + 30 days |
//!
//! A member projection lives in its organization's partition, so a manager's listing is one `Query`;
//! it holds only what the organization grants (role and suspension are global and are read from the
//! user records, [`DirectoryStore::users_by_ids`]). Entry ids sort newest first ascending
//! ([`crate::store::directory::audit_entry_id`]), so the trail is read forwards. A delivery expires
//! through the table's time to live ([`super::TABLE`]`.time_to_live_attribute`, `ttl`; DynamoDB allows
//! one such attribute per table, and a key's `expiresAt` must never be it: expired keys stay readable).
//!
//! Every write of a user record's role and memberships is conditional on the revision it was computed
//! from, in one `TransactWriteItems` with the projections (and the audit entry), so a projection never
//! disagrees with the record it was written with. What each operation sends (all reads strongly
//! consistent; transactions cancelled by contention retried with backoff, at most
//! `CONTENTION_ATTEMPTS` times):
//!
//! - `put_user`: `BatchGetItem` of `COMPANY#*`/`LOCATION#*` (grouping the new memberships, and the old
//!   ones when they differ), `GetItem` of `USER#<u>`/`PROFILE`, then `TransactWriteItems`: `Update` of
//!   the profile (role, lists, `suspended`, `revision` + 1; never `clerk*`), a `Put` of
//!   `MEMBERS#<o>`/`MEMBER#<u>` per organization the new memberships touch, a `Delete` per organization
//!   only the old ones touched (at most 99 projections). A failed revision condition re-reads.
//! - `change_membership`: `TransactWriteItems`: `Update` of the profile, `Put` or `Delete` of
//!   `MEMBERS#<o>`/`MEMBER#<u>`, `Put` of `AUDIT#<o>`/`AUDIT#<id>`.
//! - `apply_clerk_event`: `GetItem` of the profile, then a conditional `UpdateItem` of it (the state
//!   read); a failed condition re-reads.
//! - `revoke_keys_of`: `GetItem` of `USER#<u>`/`ACTIVEKEYS`, `Query` of `gsi1` (`USER#<u>`),
//!   `BatchGetItem` of `KEYID#*` (keys known only from the set) and of `APIKEY#*`, then
//!   `TransactWriteItems` of at most 24 key `Update`s and one `Update` of the active-key set.
//! - `webhook_delivery_seen`: `GetItem`; `record_webhook_delivery`: `PutItem`.
//! - `members_of`, `audit_of`: `Query` of `MEMBERS#<o>` / `AUDIT#<o>` (main table); `users_by_ids`: `BatchGetItem` of
//!   `USER#*`/`PROFILE`.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem, Update};

use super::resources::Listing;
use super::{
    ACTIVE_KEYS_SK, APIKEY_SK, CONTENTION_ATTEMPTS, DynamoStore, Item, KEYID_SK, PROFILE_SK,
    Reader, TransactFailure, back_off, build_error, key_pk, list, n, parse_api_key,
    parse_key_pointer, parse_user, pointer_pk, s, still_contended, unavailable, user_pk,
};
use crate::apikey::KeyHash;
use crate::principal::{AuthType, Memberships, Role, is_valid_id};
use crate::store::directory::{
    MAX_PROJECTIONS, check_memberships, check_user, memberships_by_organization, next_clerk_status,
};
use crate::store::resources::check_ids;
use crate::store::{
    ApiKeyRecord, AuditAction, AuditActor, AuditEntry, AuthStore, ChangeError, ClerkEvent,
    ClerkOutcome, ClerkStatus, DirectoryStore, KeyStore, MemberEntry, MemberState,
    MembershipChange, Page, PageRequest, StoreError, UserRecord,
};

/// Sort key of a webhook delivery.
const WEBHOOK_SK: &str = "WEBHOOK";
/// Sort-key prefix of a member projection.
const MEMBER_PREFIX: &str = "MEMBER#";
/// Sort-key prefix of an audit entry.
const AUDIT_PREFIX: &str = "AUDIT#";
/// How long a delivery is remembered: longer than Svix retries a message (about 27 hours).
pub const DELIVERY_RETENTION_SECS: i64 = 30 * 24 * 3600;
/// Keys revoked per transaction (the 25th item is the active-key set).
const REVOKE_CHUNK: usize = 24;

/// Partition of an organization's member projections: apart from the organization's own item
/// (`ORG#<id>`) and from its audit trail, so each function's policy names only what it touches.
fn members_pk(organization_id: &str) -> String {
    format!("MEMBERS#{organization_id}")
}

/// Partition of an organization's audit trail.
fn audit_pk(organization_id: &str) -> String {
    format!("AUDIT#{organization_id}")
}

fn member_sk(user_id: &str) -> String {
    format!("{MEMBER_PREFIX}{user_id}")
}

fn webhook_pk(delivery_id: &str) -> String {
    format!("WEBHOOK#{delivery_id}")
}

fn boolean(value: bool) -> AttributeValue {
    AttributeValue::Bool(value)
}

fn revision_value(revision: u64) -> AttributeValue {
    n(i64::try_from(revision).unwrap_or(i64::MAX))
}

/// The member projection of `user_id` in `organization_id`.
pub fn member_item(entry: &MemberEntry) -> Item {
    let mut item = Item::new();
    item.insert("pk".into(), s(&members_pk(&entry.organization_id)));
    item.insert("sk".into(), s(&member_sk(&entry.user_id)));
    item.insert("userId".into(), s(&entry.user_id));
    item.insert("organizationId".into(), s(&entry.organization_id));
    item.insert(
        "organizationIds".into(),
        list(&entry.memberships.organization_ids),
    );
    item.insert("companyIds".into(), list(&entry.memberships.company_ids));
    item.insert("locationIds".into(), list(&entry.memberships.location_ids));
    item
}

/// Parses a member projection.
pub fn parse_member(item: &Item) -> Result<MemberEntry, StoreError> {
    let r = Reader {
        item,
        key: "MEMBER",
    };
    Ok(MemberEntry {
        organization_id: r.string("organizationId")?,
        user_id: r.string("userId")?,
        memberships: Memberships {
            organization_ids: r.ids("organizationIds")?,
            company_ids: r.ids("companyIds")?,
            location_ids: r.ids("locationIds")?,
        },
    })
}

fn state_value(state: &MemberState) -> AttributeValue {
    AttributeValue::M(
        [
            ("role".to_owned(), s(state.role.as_str())),
            (
                "organizationIds".to_owned(),
                list(&state.memberships.organization_ids),
            ),
            (
                "companyIds".to_owned(),
                list(&state.memberships.company_ids),
            ),
            (
                "locationIds".to_owned(),
                list(&state.memberships.location_ids),
            ),
        ]
        .into_iter()
        .collect(),
    )
}

fn optional_string(value: Option<&String>) -> AttributeValue {
    value.map_or(AttributeValue::Null(true), |text| s(text))
}

/// The item of an audit entry.
pub fn audit_item(entry: &AuditEntry) -> Item {
    let mut item = Item::new();
    item.insert("pk".into(), s(&audit_pk(&entry.organization_id)));
    item.insert("sk".into(), s(&format!("{AUDIT_PREFIX}{}", entry.id)));
    item.insert("id".into(), s(&entry.id));
    item.insert("organizationId".into(), s(&entry.organization_id));
    item.insert("atMs".into(), n(entry.at_ms));
    item.insert("actorUserId".into(), s(&entry.actor.user_id));
    item.insert("actorAuthType".into(), s(entry.actor.auth_type.as_str()));
    item.insert(
        "actorKeyId".into(),
        optional_string(entry.actor.key_id.as_ref()),
    );
    item.insert(
        "actorClientId".into(),
        optional_string(entry.actor.client_id.as_ref()),
    );
    item.insert("action".into(), s(entry.action.as_str()));
    item.insert("targetUserId".into(), s(&entry.target_user_id));
    item.insert(
        "before".into(),
        entry
            .before
            .as_ref()
            .map_or(AttributeValue::Null(true), state_value),
    );
    item.insert("after".into(), state_value(&entry.after));
    item
}

fn parse_auth_type(value: &str) -> Option<AuthType> {
    [AuthType::Session, AuthType::ApiKey, AuthType::OAuth]
        .into_iter()
        .find(|kind| kind.as_str() == value)
}

/// A string Gatehouse always writes, as NULL when there is none.
fn nullable_string(r: &Reader<'_>, name: &str) -> Result<Option<String>, StoreError> {
    match r.item.get(name) {
        Some(AttributeValue::S(text)) => Ok(Some(text.clone())),
        Some(AttributeValue::Null(true)) => Ok(None),
        _ => Err(r.corrupt(format!("{name} missing or neither a string nor null"))),
    }
}

fn parse_state(r: &Reader<'_>, value: &AttributeValue) -> Result<MemberState, StoreError> {
    let AttributeValue::M(map) = value else {
        return Err(r.corrupt("member state is not a map"));
    };
    let m = Reader {
        item: map,
        key: r.key,
    };
    let role = Role::parse(&m.string("role")?).ok_or_else(|| m.corrupt("unknown role"))?;
    Ok(MemberState {
        role,
        memberships: Memberships {
            organization_ids: m.ids("organizationIds")?,
            company_ids: m.ids("companyIds")?,
            location_ids: m.ids("locationIds")?,
        },
    })
}

/// Parses an audit entry: every attribute must be there, with its type.
pub fn parse_audit_entry(item: &Item) -> Result<AuditEntry, StoreError> {
    let r = Reader { item, key: "AUDIT" };
    let auth_type = parse_auth_type(&r.string("actorAuthType")?)
        .ok_or_else(|| r.corrupt("actorAuthType is not session, api_key or oauth"))?;
    let action = AuditAction::parse(&r.string("action")?)
        .ok_or_else(|| r.corrupt("action is not member.put or member.delete"))?;
    let before = match item.get("before") {
        Some(AttributeValue::Null(true)) => None,
        Some(value) => Some(parse_state(&r, value)?),
        None => return Err(r.corrupt("before missing")),
    };
    let after = match item.get("after") {
        Some(value) => parse_state(&r, value)?,
        None => return Err(r.corrupt("after missing")),
    };
    Ok(AuditEntry {
        id: r.string("id")?,
        organization_id: r.string("organizationId")?,
        at_ms: r.number("atMs")?,
        actor: AuditActor {
            user_id: r.string("actorUserId")?,
            auth_type,
            key_id: nullable_string(&r, "actorKeyId")?,
            client_id: nullable_string(&r, "actorClientId")?,
        },
        action,
        target_user_id: r.string("targetUserId")?,
        before,
        after,
    })
}

/// The item recording a processed webhook delivery; DynamoDB deletes it after
/// [`DELIVERY_RETENTION_SECS`] through the table's time to live.
pub fn webhook_item(delivery_id: &str, event_type: &str, received_at: i64) -> Item {
    let mut item = Item::new();
    item.insert("pk".into(), s(&webhook_pk(delivery_id)));
    item.insert("sk".into(), s(WEBHOOK_SK));
    item.insert("deliveryId".into(), s(delivery_id));
    item.insert("eventType".into(), s(event_type));
    item.insert("receivedAt".into(), n(received_at));
    item.insert(
        super::TABLE.time_to_live_attribute.into(),
        n(received_at.saturating_add(DELIVERY_RETENTION_SECS)),
    );
    item
}

/// The profile update of a role-and-memberships write: SETs `userId`, `role`, the three lists and
/// `revision` (plus `extra` assignments), on condition that the revision is still `expected`
/// (`None`: that there is no record; a record written before revisions has revision 0).
struct ProfileWrite<'a> {
    user: &'a UserRecord,
    expected: Option<u64>,
    /// `(attribute, value)` set besides the role and memberships.
    extra: Vec<(&'static str, AttributeValue)>,
}

impl ProfileWrite<'_> {
    fn build(self, table: &str) -> Result<Update, StoreError> {
        let next = self
            .expected
            .map_or(1, |revision| revision.saturating_add(1));
        let mut assignments: Vec<(&str, AttributeValue)> = vec![
            ("userId", s(&self.user.user_id)),
            ("role", s(self.user.role.as_str())),
            (
                "organizationIds",
                list(&self.user.memberships.organization_ids),
            ),
            ("companyIds", list(&self.user.memberships.company_ids)),
            ("locationIds", list(&self.user.memberships.location_ids)),
            ("revision", revision_value(next)),
        ];
        assignments.extend(self.extra);
        let expression = assignments
            .iter()
            .map(|(name, _)| format!("#{name} = :{name}"))
            .collect::<Vec<_>>()
            .join(", ");
        let mut builder = Update::builder()
            .table_name(table)
            .key("pk", s(&user_pk(&self.user.user_id)))
            .key("sk", s(PROFILE_SK))
            .update_expression(format!("SET {expression}"));
        for (name, value) in assignments {
            builder = builder
                .expression_attribute_names(format!("#{name}"), name)
                .expression_attribute_values(format!(":{name}"), value);
        }
        builder = match self.expected {
            None => builder.condition_expression("attribute_not_exists(pk)"),
            Some(0) => builder
                .condition_expression(
                    "attribute_exists(pk) AND (attribute_not_exists(#revision) OR #revision = :expected)",
                )
                .expression_attribute_values(":expected", revision_value(0)),
            Some(revision) => builder
                .condition_expression("#revision = :expected")
                .expression_attribute_values(":expected", revision_value(revision)),
        };
        builder.build().map_err(build_error)
    }
}

fn put_item(
    table: &str,
    item: Item,
    condition: Option<&str>,
) -> Result<TransactWriteItem, StoreError> {
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .set_condition_expression(condition.map(str::to_owned))
        .build()
        .map_err(build_error)?;
    Ok(TransactWriteItem::builder().put(put).build())
}

fn delete_item(table: &str, pk: String, sk: String) -> Result<TransactWriteItem, StoreError> {
    let delete = Delete::builder()
        .table_name(table)
        .key("pk", AttributeValue::S(pk))
        .key("sk", AttributeValue::S(sk))
        .build()
        .map_err(build_error)?;
    Ok(TransactWriteItem::builder().delete(delete).build())
}

/// The condition of a Clerk update: the record is still in the state it was read in.
fn clerk_condition(read: Option<&ClerkStatus>) -> (String, Vec<(&'static str, AttributeValue)>) {
    let Some(read) = read else {
        return ("attribute_not_exists(pk)".to_owned(), Vec::new());
    };
    let mut values = Vec::new();
    let at = match read.event_at {
        Some(at) => {
            values.push((":readAt", n(at)));
            "#clerkEventAt = :readAt"
        }
        None => "attribute_not_exists(#clerkEventAt)",
    };
    let deleted = if read.deleted {
        values.push((":readDeleted", boolean(true)));
        "#clerkDeleted = :readDeleted"
    } else {
        values.push((":readDeleted", boolean(false)));
        "(attribute_not_exists(#clerkDeleted) OR #clerkDeleted = :readDeleted)"
    };
    (
        format!("attribute_exists(pk) AND {at} AND {deleted}"),
        values,
    )
}

/// What one key of a revocation comes to: its record update (when it is active) and its element
/// in the active-key set (when it has one).
struct Revocation {
    hash: Option<KeyHash>,
    element: Option<String>,
}

impl DynamoStore {
    /// `KeyStore::put_user` (see the module docs).
    pub(super) async fn replace_user(&self, user: &UserRecord) -> Result<(), StoreError> {
        check_user(user)?;
        let new_groups = memberships_by_organization(self, &user.memberships).await?;
        let mut attempts = 0;
        loop {
            let current = self.user(&user.user_id).await?;
            let old_groups = match &current {
                Some(old) if old.memberships == user.memberships => new_groups.clone(),
                Some(old) => memberships_by_organization(self, &old.memberships).await?,
                None => BTreeMap::new(),
            };
            let gone: Vec<&String> = old_groups
                .keys()
                .filter(|org| !new_groups.contains_key(*org))
                .collect();
            let profile = ProfileWrite {
                user,
                expected: current.as_ref().map(|old| old.revision),
                extra: vec![("suspended", boolean(user.suspended))],
            }
            .build(&self.table)?;
            let mut projections = Vec::with_capacity(new_groups.len() + gone.len());
            for (organization_id, memberships) in &new_groups {
                let entry = MemberEntry {
                    organization_id: organization_id.clone(),
                    user_id: user.user_id.clone(),
                    memberships: memberships.clone(),
                };
                projections.push(put_item(&self.table, member_item(&entry), None)?);
            }
            for organization_id in gone {
                projections.push(delete_item(
                    &self.table,
                    members_pk(organization_id),
                    member_sk(&user.user_id),
                )?);
            }
            // The profile and the first projections in one transaction; a user in more
            // organizations than one transaction holds gets the rest in follow-up transactions
            // (unconditional, idempotent: an interrupted write is finished by running it again).
            let later = projections.split_off(projections.len().min(MAX_PROJECTIONS));
            let mut items = vec![TransactWriteItem::builder().update(profile).build()];
            items.extend(projections);
            match self.transact(items, "put user").await {
                Ok(()) => return self.write_remaining_projections(later).await,
                // The record changed since it was read: read it again.
                Err(TransactFailure::Refused(cancellation)) if cancellation.failed(0) => {}
                Err(failure) => return Err(failure.into()),
            }
            attempts += 1;
            if attempts >= CONTENTION_ATTEMPTS {
                return Err(still_contended("put user"));
            }
            back_off(attempts).await;
        }
    }

    /// The projection writes that did not fit [`Self::replace_user`]'s transaction, in transactions
    /// of at most 100 items.
    async fn write_remaining_projections(
        &self,
        mut items: Vec<TransactWriteItem>,
    ) -> Result<(), StoreError> {
        while !items.is_empty() {
            let rest = items.split_off(items.len().min(100));
            self.transact(items, "put user projections").await?;
            items = rest;
        }
        Ok(())
    }

    /// One conditional `UpdateItem` of the profile with the Clerk status `next`; `read` is the
    /// record's status as read (`None`: no record, it is created). Ok(false): the condition failed.
    async fn write_clerk_status(
        &self,
        user_id: &str,
        read: Option<&ClerkStatus>,
        next: &ClerkStatus,
        default_role: Role,
    ) -> Result<bool, StoreError> {
        let mut assignments: Vec<(&'static str, AttributeValue)> = vec![
            ("clerkSuspended", boolean(next.suspended)),
            ("clerkDeleted", boolean(next.deleted)),
        ];
        if let Some(at) = next.event_at {
            assignments.push(("clerkEventAt", n(at)));
        }
        if read.is_none() {
            assignments.extend([
                ("userId", s(user_id)),
                ("role", s(default_role.as_str())),
                ("organizationIds", AttributeValue::L(Vec::new())),
                ("companyIds", AttributeValue::L(Vec::new())),
                ("locationIds", AttributeValue::L(Vec::new())),
                ("revision", revision_value(0)),
            ]);
        }
        let (condition, condition_values) = clerk_condition(read);
        let expression = assignments
            .iter()
            .map(|(name, _)| format!("#{name} = :{name}"))
            .collect::<Vec<_>>()
            .join(", ");
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(&user_pk(user_id)))
            .key("sk", s(PROFILE_SK))
            .update_expression(format!("SET {expression}"))
            .condition_expression(condition);
        for (name, value) in assignments {
            request = request
                .expression_attribute_names(format!("#{name}"), name)
                .expression_attribute_values(format!(":{name}"), value);
        }
        if read.is_some() {
            // The condition names these even when the update does not set them.
            request = request
                .expression_attribute_names("#clerkEventAt", "clerkEventAt")
                .expression_attribute_names("#clerkDeleted", "clerkDeleted");
        }
        for (name, value) in condition_values {
            request = request.expression_attribute_values(name, value);
        }
        match request.send().await {
            Ok(_) => Ok(true),
            Err(error)
                if error.as_service_error().is_some_and(|e| {
                    e.is_conditional_check_failed_exception()
                        || e.is_transaction_conflict_exception()
                }) =>
            {
                Ok(false)
            }
            Err(error) => Err(unavailable(error)),
        }
    }

    /// What revoking every active key of `user_id` takes, from the active-key set, the `gsi1`
    /// listing and strongly consistent reads of the key records: one [`Revocation`] per key that is
    /// active or still has an element, and how many of them are active.
    async fn revocations(&self, user_id: &str) -> Result<Vec<Revocation>, StoreError> {
        let elements = self.active_elements(user_id).await?;
        let listed = self.api_keys_of(user_id).await?;
        // Key ids to their hashes: from the listing, then from the pointers of set-only keys.
        let mut hashes: BTreeMap<String, KeyHash> = listed
            .iter()
            .map(|record| (record.key_id.clone(), record.key_hash))
            .collect();
        let set_only: Vec<&str> = elements
            .iter()
            .map(|(_, key)| key.key_id.as_str())
            .filter(|key_id| !hashes.contains_key(*key_id))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        if !set_only.is_empty() {
            let pointers = self
                .batch_get(
                    set_only
                        .iter()
                        .map(|key_id| (pointer_pk(key_id), KEYID_SK))
                        .collect(),
                )
                .await?;
            for item in &pointers {
                let (owner, hash) = parse_key_pointer(item)?;
                let r = Reader {
                    item,
                    key: KEYID_SK,
                };
                let key_id = r
                    .string("pk")?
                    .strip_prefix("KEYID#")
                    .map(str::to_owned)
                    .ok_or_else(|| r.corrupt("pk is not KEYID#<keyId>"))?;
                if owner != user_id {
                    return Err(StoreError::Corrupt {
                        key: ACTIVE_KEYS_SK.to_owned(),
                        problem: format!("key {key_id} in the set of {user_id} belongs to {owner}"),
                    });
                }
                hashes.insert(key_id, hash);
            }
        }
        // Candidates: keys the listing shows active (the index may lag: read them again) and keys
        // with an element. A key listed as revoked stays revoked (revocation is final).
        let mut wanted: BTreeMap<String, KeyHash> = BTreeMap::new();
        // (By hash hex: distinct keys for the batch.)
        for record in listed.iter().filter(|record| record.active) {
            wanted.insert(record.key_hash.to_hex(), record.key_hash);
        }
        for (_, key) in &elements {
            if let Some(hash) = hashes.get(&key.key_id) {
                wanted.insert(hash.to_hex(), *hash);
            }
        }
        let records: Vec<ApiKeyRecord> = self
            .batch_get(
                wanted
                    .values()
                    .map(|hash| (key_pk(hash), APIKEY_SK))
                    .collect(),
            )
            .await?
            .iter()
            .map(parse_api_key)
            .collect::<Result<_, _>>()?;
        let mut by_id: BTreeMap<String, Revocation> = BTreeMap::new();
        for record in records {
            if record.user_id != user_id {
                return Err(StoreError::Corrupt {
                    key: APIKEY_SK.to_owned(),
                    problem: format!("key {} is not owned by {user_id}", record.key_id),
                });
            }
            if record.active {
                by_id.insert(
                    record.key_id.clone(),
                    Revocation {
                        hash: Some(record.key_hash),
                        element: None,
                    },
                );
            }
        }
        // Every element goes, whether its key is active, revoked or unknown.
        for (raw, key) in elements {
            by_id
                .entry(key.key_id)
                .or_insert(Revocation {
                    hash: None,
                    element: None,
                })
                .element = Some(raw);
        }
        Ok(by_id.into_values().collect())
    }

    /// One revocation transaction: the key updates, then the set update (when elements go).
    /// Returns how many keys it revoked.
    async fn revoke_chunk(
        &self,
        user_id: &str,
        chunk: &[Revocation],
        now: i64,
    ) -> Result<usize, StoreError> {
        let mut items = Vec::with_capacity(chunk.len() + 1);
        for hash in chunk.iter().filter_map(|r| r.hash.as_ref()) {
            let update = Update::builder()
                .table_name(&self.table)
                .key("pk", s(&key_pk(hash)))
                .key("sk", s(APIKEY_SK))
                .update_expression(
                    "SET active = :false, revokedAt = if_not_exists(revokedAt, :now)",
                )
                .condition_expression("attribute_exists(pk)")
                .expression_attribute_values(":false", boolean(false))
                .expression_attribute_values(":now", n(now))
                .build()
                .map_err(build_error)?;
            items.push(TransactWriteItem::builder().update(update).build());
        }
        let revoked = items.len();
        let elements: Vec<String> = chunk.iter().filter_map(|r| r.element.clone()).collect();
        if !elements.is_empty() {
            let release = Update::builder()
                .table_name(&self.table)
                .key("pk", s(&user_pk(user_id)))
                .key("sk", s(ACTIVE_KEYS_SK))
                .update_expression("DELETE #keys :elements")
                .expression_attribute_names("#keys", "keys")
                .expression_attribute_values(":elements", AttributeValue::Ss(elements))
                .build()
                .map_err(build_error)?;
            items.push(TransactWriteItem::builder().update(release).build());
        }
        if items.is_empty() {
            return Ok(0);
        }
        self.transact(items, "revoke keys").await?;
        Ok(revoked)
    }
}

impl DirectoryStore for DynamoStore {
    async fn apply_clerk_event(
        &self,
        event: &ClerkEvent,
        default_role: Role,
    ) -> Result<ClerkOutcome, StoreError> {
        check_ids("USER", [("userId", event.user_id.as_str())])?;
        let mut attempts = 0;
        loop {
            let current = self.user(&event.user_id).await?;
            let read = current.as_ref().map(|user| &user.clerk);
            let Some(next) = next_clerk_status(read, event) else {
                return Ok(ClerkOutcome::Superseded);
            };
            if self
                .write_clerk_status(&event.user_id, read, &next, default_role)
                .await?
            {
                return Ok(ClerkOutcome::Applied);
            }
            attempts += 1;
            if attempts >= CONTENTION_ATTEMPTS {
                return Err(still_contended("apply clerk event"));
            }
            back_off(attempts).await;
        }
    }

    async fn revoke_keys_of(&self, user_id: &str, now: i64) -> Result<usize, StoreError> {
        if !is_valid_id(user_id) {
            return Ok(0);
        }
        let revocations = self.revocations(user_id).await?;
        let mut revoked = 0;
        for chunk in revocations.chunks(REVOKE_CHUNK) {
            revoked += self.revoke_chunk(user_id, chunk, now).await?;
        }
        Ok(revoked)
    }

    async fn webhook_delivery_seen(&self, delivery_id: &str) -> Result<bool, StoreError> {
        if !is_valid_id(delivery_id) {
            return Ok(false);
        }
        Ok(self
            .get(webhook_pk(delivery_id), WEBHOOK_SK)
            .await?
            .is_some())
    }

    async fn record_webhook_delivery(
        &self,
        delivery_id: &str,
        event_type: &str,
        at: i64,
    ) -> Result<(), StoreError> {
        check_ids(WEBHOOK_SK, [("deliveryId", delivery_id)])?;
        let written = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(webhook_item(delivery_id, event_type, at)))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match written {
            Ok(_) => Ok(()),
            // Recorded before (a redelivery): the first record stands.
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(())
            }
            Err(error) => Err(unavailable(error)),
        }
    }

    async fn members_of(
        &self,
        organization_id: &str,
        page: PageRequest,
    ) -> Result<Page<MemberEntry>, StoreError> {
        if !is_valid_id(organization_id) {
            return Ok(Page::empty());
        }
        let listing = Listing {
            index: false,
            partition: members_pk(organization_id),
            prefix: MEMBER_PREFIX.to_owned(),
        };
        self.list_parsed(listing, &page, parse_member).await
    }

    async fn users_by_ids(&self, user_ids: &[String]) -> Result<Vec<UserRecord>, StoreError> {
        let wanted: BTreeSet<&str> = user_ids
            .iter()
            .map(String::as_str)
            .filter(|id| is_valid_id(id))
            .collect();
        if wanted.is_empty() {
            return Ok(Vec::new());
        }
        self.batch_get(wanted.iter().map(|id| (user_pk(id), PROFILE_SK)).collect())
            .await?
            .iter()
            .map(parse_user)
            .collect()
    }

    async fn change_membership(&self, change: &MembershipChange) -> Result<(), ChangeError> {
        let organization_id = change.audit.organization_id.as_str();
        let user_id = change.user.user_id.as_str();
        check_user(&change.user)?;
        check_memberships("MEMBER", &change.inside_organization)?;
        check_ids(
            "AUDIT",
            [
                ("organizationId", organization_id),
                ("id", change.audit.id.as_str()),
                ("targetUserId", change.audit.target_user_id.as_str()),
            ],
        )?;
        // Never the operator's or Clerk's suspension, not even on creation (absent reads as not
        // suspended on a record with a revision): the delegated writers' policy does not allow them.
        let profile = ProfileWrite {
            user: &change.user,
            expected: change.expected_revision,
            extra: Vec::new(),
        }
        .build(&self.table)?;
        let projection = if change.inside_organization == Memberships::default() {
            delete_item(&self.table, members_pk(organization_id), member_sk(user_id))?
        } else {
            let entry = MemberEntry {
                organization_id: organization_id.to_owned(),
                user_id: user_id.to_owned(),
                memberships: change.inside_organization.clone(),
            };
            put_item(&self.table, member_item(&entry), None)?
        };
        let items = vec![
            TransactWriteItem::builder().update(profile).build(),
            projection,
            put_item(
                &self.table,
                audit_item(&change.audit),
                Some("attribute_not_exists(pk)"),
            )?,
        ];
        match self.transact(items, "change membership").await {
            Ok(()) => Ok(()),
            Err(TransactFailure::Refused(cancellation)) if cancellation.failed(0) => {
                Err(ChangeError::Conflict)
            }
            Err(TransactFailure::Refused(cancellation)) if cancellation.failed(2) => {
                Err(StoreError::Unavailable(format!(
                    "audit entry {} exists in {organization_id}",
                    change.audit.id
                ))
                .into())
            }
            Err(failure) => Err(StoreError::from(failure).into()),
        }
    }

    async fn audit_of(
        &self,
        organization_id: &str,
        page: PageRequest,
    ) -> Result<Page<AuditEntry>, StoreError> {
        if !is_valid_id(organization_id) {
            return Ok(Page::empty());
        }
        let listing = Listing {
            index: false,
            partition: audit_pk(organization_id),
            prefix: AUDIT_PREFIX.to_owned(),
        };
        self.list_parsed(listing, &page, parse_audit_entry).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::directory::audit_entry_id;

    fn entry() -> AuditEntry {
        AuditEntry {
            id: audit_entry_id(1_750_000_000_123, "r1"),
            organization_id: "org_1".into(),
            at_ms: 1_750_000_000_123,
            actor: AuditActor {
                user_id: "user_admin".into(),
                auth_type: AuthType::ApiKey,
                key_id: Some("k_1".into()),
                client_id: None,
            },
            action: AuditAction::MemberPut,
            target_user_id: "user_t".into(),
            before: None,
            after: MemberState {
                role: Role::Manager,
                memberships: Memberships {
                    organization_ids: vec![],
                    company_ids: vec!["co_1".into()],
                    location_ids: vec!["loc_1".into(), "loc_2".into()],
                },
            },
        }
    }

    #[test]
    fn audit_items_round_trip() {
        let original = entry();
        let item = audit_item(&original);
        assert_eq!(item["pk"], s("AUDIT#org_1"));
        assert_eq!(item["sk"], s(&format!("AUDIT#{}", original.id)));
        assert_eq!(item["actorClientId"], AttributeValue::Null(true));
        assert_eq!(item["before"], AttributeValue::Null(true));
        assert_eq!(parse_audit_entry(&item).unwrap(), original);

        let other = AuditEntry {
            actor: AuditActor {
                auth_type: AuthType::OAuth,
                key_id: None,
                client_id: Some("client_1".into()),
                ..original.actor.clone()
            },
            action: AuditAction::MemberDelete,
            before: Some(original.after.clone()),
            after: MemberState {
                role: Role::None,
                memberships: Memberships::default(),
            },
            ..original
        };
        assert_eq!(parse_audit_entry(&audit_item(&other)).unwrap(), other);
    }

    #[test]
    fn corrupt_audit_items_are_errors() {
        let corrupt = |change: &dyn Fn(&mut Item)| {
            let mut item = audit_item(&entry());
            change(&mut item);
            assert!(
                matches!(parse_audit_entry(&item), Err(StoreError::Corrupt { .. })),
                "{item:?}"
            );
        };
        for name in [
            "id",
            "organizationId",
            "atMs",
            "actorUserId",
            "actorAuthType",
            "actorKeyId",
            "actorClientId",
            "action",
            "targetUserId",
            "before",
            "after",
        ] {
            corrupt(&|item| {
                item.remove(name);
            });
        }
        corrupt(&|item| {
            item.insert("actorAuthType".into(), s("password"));
        });
        corrupt(&|item| {
            item.insert("action".into(), s("member.promote"));
        });
        corrupt(&|item| {
            item.insert("atMs".into(), s("now"));
        });
        corrupt(&|item| {
            item.insert("actorKeyId".into(), n(1));
        });
        corrupt(&|item| {
            item.insert("after".into(), AttributeValue::Null(true));
        });
        corrupt(&|item| {
            item.insert("before".into(), s("nothing"));
        });
        corrupt(&|item| {
            let mut after = state_value(&entry().after);
            if let AttributeValue::M(map) = &mut after {
                map.insert("role".into(), s("root"));
            }
            item.insert("after".into(), after);
        });
        corrupt(&|item| {
            let mut after = state_value(&entry().after);
            if let AttributeValue::M(map) = &mut after {
                map.remove("companyIds");
            }
            item.insert("after".into(), after);
        });
    }

    #[test]
    fn member_items_round_trip() {
        let member = MemberEntry {
            organization_id: "org_1".into(),
            user_id: "user_1".into(),
            memberships: Memberships {
                organization_ids: vec!["org_1".into()],
                company_ids: vec!["co_1".into()],
                location_ids: vec![],
            },
        };
        let item = member_item(&member);
        assert_eq!(item["pk"], s("MEMBERS#org_1"));
        assert_eq!(item["sk"], s("MEMBER#user_1"));
        assert_eq!(parse_member(&item).unwrap(), member);
        let mut bad = item.clone();
        bad.insert("companyIds".into(), list(&["co 1"]));
        assert!(parse_member(&bad).is_err());
        bad.remove("companyIds");
        assert!(parse_member(&bad).is_err());
    }

    #[test]
    fn webhook_items_expire_after_thirty_days() {
        let item = webhook_item("msg_1", "user.updated", 1_750_000_000);
        assert_eq!(item["pk"], s("WEBHOOK#msg_1"));
        assert_eq!(item["sk"], s("WEBHOOK"));
        assert_eq!(item["ttl"], n(1_750_000_000 + 30 * 86_400));
        assert_eq!(item["receivedAt"], n(1_750_000_000));
    }

    #[test]
    fn clerk_conditions_name_the_state_read() {
        assert_eq!(clerk_condition(None).0, "attribute_not_exists(pk)");
        let (condition, values) = clerk_condition(Some(&ClerkStatus::default()));
        assert_eq!(
            condition,
            "attribute_exists(pk) AND attribute_not_exists(#clerkEventAt) AND \
             (attribute_not_exists(#clerkDeleted) OR #clerkDeleted = :readDeleted)"
        );
        assert_eq!(values.len(), 1);
        let (condition, values) = clerk_condition(Some(&ClerkStatus {
            suspended: true,
            deleted: true,
            event_at: Some(5),
        }));
        assert_eq!(
            condition,
            "attribute_exists(pk) AND #clerkEventAt = :readAt AND #clerkDeleted = :readDeleted"
        );
        assert_eq!(values.len(), 2);
    }
}
