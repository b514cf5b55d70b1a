//! The user directory behind Clerk webhooks and delegated role administration (README "Clerk
//! webhooks" and "Delegated role administration"): what the store must do beyond keys and resources.
//!
//! - Clerk's view of a user ([`ClerkStatus`]) lives on the user record beside the operator's, so a
//!   webhook never lifts a suspension an operator set and an operator's `users put` never lifts one
//!   Clerk caused. Events apply in the order of their own timestamps ([`DirectoryStore::apply_clerk_event`]).
//! - Revoking every key of a deleted user ([`DirectoryStore::revoke_keys_of`]) is safe to repeat and to
//!   interrupt: the user is suspended first, so a half-finished revocation leaves no usable key, and
//!   a retry finishes it.
//! - Each organization keeps a projection of its members (the user id and the memberships inside that
//!   organization), written with the user record in one transaction, so a manager's listing is a
//!   query, never a scan; role and suspension are read from the user records themselves.
//! - Every delegated change writes its audit entry in the same transaction as the change: a change
//!   without its entry cannot exist, and a refused request writes nothing.

use std::collections::BTreeMap;
use std::future::Future;

use super::resources::check_ids;
use super::{Page, PageRequest, ResourceStore, StoreError, UserRecord};
use crate::principal::{AuthType, Memberships, Role};

/// Clerk's side of a user record, as the signed webhooks reported it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClerkStatus {
    /// Banned or locked in Clerk, or deleted: set and lifted by webhooks only.
    pub suspended: bool,
    /// Deleted in Clerk. Final: no later event lifts it.
    pub deleted: bool,
    /// The timestamp (Unix milliseconds) of the newest Clerk event applied to the record.
    pub event_at: Option<i64>,
}

/// What a Clerk user event says about the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClerkChange {
    /// `user.created`: the record is created with the default role unless it exists; `suspended`
    /// when the new user is already banned or locked.
    Created { suspended: bool },
    /// `user.updated`: `suspended` = banned or locked.
    Updated { suspended: bool },
    /// `user.deleted`.
    Deleted,
}

/// A Clerk user event, reduced to what Gatehouse keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClerkEvent {
    /// The Clerk user id.
    pub user_id: String,
    /// The event's own timestamp, Unix milliseconds (Clerk's `timestamp`).
    pub at_ms: i64,
    /// What happened.
    pub change: ClerkChange,
}

/// What [`DirectoryStore::apply_clerk_event`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClerkOutcome {
    /// The record now reflects the event.
    Applied,
    /// An event at least as new was applied before (or the user is deleted): nothing changed.
    Superseded,
}

/// How the event changes a record's Clerk status, or `None` when the record already reflects a newer
/// event (or a deletion). The one rule both stores apply: events apply in timestamp order, a deletion
/// always applies (nothing in Clerk follows it) and is never lifted.
pub fn next_clerk_status(current: Option<&ClerkStatus>, event: &ClerkEvent) -> Option<ClerkStatus> {
    let newest = |at: Option<i64>| Some(at.map_or(event.at_ms, |at| at.max(event.at_ms)));
    match (current, event.change) {
        (current, ClerkChange::Deleted) => Some(ClerkStatus {
            suspended: true,
            deleted: true,
            event_at: newest(current.and_then(|c| c.event_at)),
        }),
        (Some(current), _) if current.deleted => None,
        (Some(current), _) if current.event_at.is_some_and(|at| at >= event.at_ms) => None,
        (_, ClerkChange::Created { suspended } | ClerkChange::Updated { suspended }) => {
            Some(ClerkStatus {
                suspended,
                deleted: false,
                event_at: Some(event.at_ms),
            })
        }
    }
}

/// One member of an organization: the projection a listing reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberEntry {
    /// The organization.
    pub organization_id: String,
    /// The Clerk user id.
    pub user_id: String,
    /// The user's memberships inside the organization (the organization itself, its companies and
    /// its locations).
    pub memberships: Memberships,
}

/// A user's standing inside one organization, before or after a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberState {
    /// The user's role (global).
    pub role: Role,
    /// The memberships inside the organization.
    pub memberships: Memberships,
}

/// Who made a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditActor {
    /// The Clerk user id.
    pub user_id: String,
    /// How they authenticated.
    pub auth_type: AuthType,
    /// The API key the request was made with or scoped to.
    pub key_id: Option<String>,
    /// The OAuth client, for an OAuth caller.
    pub client_id: Option<String>,
}

/// What a delegated change did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditAction {
    /// `PUT /v1/organizations/{orgId}/members/{userId}`.
    MemberPut,
    /// `DELETE /v1/organizations/{orgId}/members/{userId}`.
    MemberDelete,
}

impl AuditAction {
    /// The stored and answered form.
    pub const fn as_str(self) -> &'static str {
        match self {
            AuditAction::MemberPut => "member.put",
            AuditAction::MemberDelete => "member.delete",
        }
    }

    /// Parses the stored form.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "member.put" => Some(AuditAction::MemberPut),
            "member.delete" => Some(AuditAction::MemberDelete),
            _ => None,
        }
    }
}

/// One entry of an organization's audit trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// Sorts newest first: [`audit_entry_id`].
    pub id: String,
    /// The organization.
    pub organization_id: String,
    /// When, Unix milliseconds.
    pub at_ms: i64,
    /// Who.
    pub actor: AuditActor,
    /// What.
    pub action: AuditAction,
    /// Whose record.
    pub target_user_id: String,
    /// The target inside the organization before (`None`: no record).
    pub before: Option<MemberState>,
    /// And after.
    pub after: MemberState,
}

/// Largest millisecond timestamp an audit id can order (the year 2286).
const AUDIT_CLOCK_LIMIT: i64 = 9_999_999_999_999;

/// An audit entry id that sorts newest first in ascending order: the milliseconds to
/// [`AUDIT_CLOCK_LIMIT`] (13 digits), then `_` and `random` (unique among entries of one instant).
pub fn audit_entry_id(at_ms: i64, random: &str) -> String {
    let inverted = AUDIT_CLOCK_LIMIT.saturating_sub(at_ms.clamp(0, AUDIT_CLOCK_LIMIT));
    format!("{inverted:013}_{random}")
}

/// One delegated change, written atomically: the user record's role and memberships (on condition
/// that its revision is still the one read), the organization's member projection, the audit entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MembershipChange {
    /// The revision the change was computed from; `None` when there was no record (it is created,
    /// on condition that it still does not exist).
    pub expected_revision: Option<u64>,
    /// The user's whole record after the change. Only `role` and `memberships` are written: the
    /// operator's and Clerk's suspensions are never changed by a delegated change.
    pub user: UserRecord,
    /// The user's memberships inside the organization after the change (empty: the projection is
    /// deleted).
    pub inside_organization: Memberships,
    /// The entry (its `organization_id` names the organization).
    pub audit: AuditEntry,
}

/// Why a delegated change was not written.
#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    /// The record changed since it was read (or appeared): nothing was written; read again.
    #[error("the user record changed concurrently")]
    Conflict,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The directory on top of the key and resource stores (one store serves all three).
pub trait DirectoryStore: ResourceStore {
    /// Applies a Clerk user event to the user's record as [`next_clerk_status`] says, atomically
    /// (a conditional write; concurrent events end in timestamp order). A missing record is created
    /// with `default_role`, no memberships and no operator suspension. Role, memberships and the
    /// operator's suspension of an existing record are never changed, nor is its revision (it counts
    /// role and membership writes only). A user id that is not an id is refused.
    fn apply_clerk_event(
        &self,
        event: &ClerkEvent,
        default_role: Role,
    ) -> impl Future<Output = Result<ClerkOutcome, StoreError>> + Send;

    /// Revokes every active key of the user (active = false, revokedAt = `now`, out of the active-key
    /// set), including keys seeded without a set element. Returns how many were revoked by this call;
    /// `Ok(0)` when none is left, so a retry after a failure finishes the job and a repeat is harmless.
    fn revoke_keys_of(
        &self,
        user_id: &str,
        now: i64,
    ) -> impl Future<Output = Result<usize, StoreError>> + Send;

    /// Whether a webhook delivery (Svix `svix-id`) was recorded as processed (`false`, without a
    /// read, for an id that is not an id: such a delivery cannot have been recorded).
    fn webhook_delivery_seen(
        &self,
        delivery_id: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Records a webhook delivery as processed (idempotent: the first record stands), with its event
    /// type and when (Unix seconds). It is remembered for at least 30 days. A delivery id that is not
    /// an id ([`crate::principal::is_valid_id`]) is refused ([`StoreError::Corrupt`]).
    fn record_webhook_delivery(
        &self,
        delivery_id: &str,
        event_type: &str,
        at: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// An organization's members, by user id ascending, a page at a time: the projections written
    /// with the user records (by `put_user` and [`Self::change_membership`]), never recomputed, so
    /// a company or location created after a user was written is not reflected until the next write.
    /// An organization id that is not an id is an empty page.
    fn members_of(
        &self,
        organization_id: &str,
        page: PageRequest,
    ) -> impl Future<Output = Result<Page<MemberEntry>, StoreError>> + Send;

    /// The user records that exist among `user_ids` (strongly consistent; any order; duplicates and
    /// ids that are not ids ignored).
    fn users_by_ids(
        &self,
        user_ids: &[String],
    ) -> impl Future<Output = Result<Vec<UserRecord>, StoreError>> + Send;

    /// Writes a delegated change (see [`MembershipChange`]): the record's role and memberships with
    /// revision = expected + 1 (1 for a created record, which is not suspended and has no Clerk
    /// history), the projection in the audit entry's organization (deleted when
    /// `inside_organization` is empty), the entry. [`ChangeError::Conflict`] when the revision is not
    /// the expected one (or the record appeared): nothing is written. Ids that are not ids are
    /// refused ([`StoreError::Corrupt`]).
    fn change_membership(
        &self,
        change: &MembershipChange,
    ) -> impl Future<Output = Result<(), ChangeError>> + Send;

    /// An organization's audit trail, newest first (ascending entry ids), a page at a time.
    fn audit_of(
        &self,
        organization_id: &str,
        page: PageRequest,
    ) -> impl Future<Output = Result<Page<AuditEntry>, StoreError>> + Send;
}

/// Memberships grouped by the organization they sit in: an organization membership under itself, a
/// company under its organization, a location under its organization. Ids whose company or location
/// does not exist belong to no organization and are left out (they grant nothing either).
pub async fn memberships_by_organization<S: ResourceStore>(
    store: &S,
    memberships: &Memberships,
) -> Result<BTreeMap<String, Memberships>, StoreError> {
    let mut grouped: BTreeMap<String, Memberships> = BTreeMap::new();
    for org in &memberships.organization_ids {
        push_unique(
            &mut grouped.entry(org.clone()).or_default().organization_ids,
            org,
        );
    }
    if !memberships.company_ids.is_empty() {
        for company in store.companies_by_ids(&memberships.company_ids).await? {
            push_unique(
                &mut grouped
                    .entry(company.organization_id)
                    .or_default()
                    .company_ids,
                &company.id,
            );
        }
    }
    if !memberships.location_ids.is_empty() {
        for location in store.locations_by_ids(&memberships.location_ids).await? {
            push_unique(
                &mut grouped
                    .entry(location.organization_id)
                    .or_default()
                    .location_ids,
                &location.id,
            );
        }
    }
    for entry in grouped.values_mut() {
        entry.organization_ids.sort();
        entry.company_ids.sort();
        entry.location_ids.sort();
    }
    Ok(grouped)
}

/// Member projections written in the same transaction as the user record (a DynamoDB transaction
/// holds 100 items, one of them the record); more go in follow-up transactions.
pub(crate) const MAX_PROJECTIONS: usize = 99;

/// Refuses memberships holding ids that could be stored but never read back or paged (both stores
/// refuse them alike; `kind` names the record in the error).
pub(crate) fn check_memberships(kind: &str, memberships: &Memberships) -> Result<(), StoreError> {
    check_ids(
        kind,
        memberships
            .organization_ids
            .iter()
            .map(|id| ("organizationIds", id.as_str()))
            .chain(
                memberships
                    .company_ids
                    .iter()
                    .map(|id| ("companyIds", id.as_str())),
            )
            .chain(
                memberships
                    .location_ids
                    .iter()
                    .map(|id| ("locationIds", id.as_str())),
            ),
    )
}

/// [`check_memberships`] for a user record, and its id.
pub(crate) fn check_user(user: &UserRecord) -> Result<(), StoreError> {
    check_ids("USER", [("userId", user.user_id.as_str())])?;
    check_memberships("USER", &user.memberships)
}

fn push_unique(ids: &mut Vec<String>, id: &str) {
    if !ids.iter().any(|existing| existing == id) {
        ids.push(id.to_owned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(at_ms: i64, change: ClerkChange) -> ClerkEvent {
        ClerkEvent {
            user_id: "user_1".into(),
            at_ms,
            change,
        }
    }

    #[test]
    fn events_apply_in_timestamp_order_and_deletion_is_final() {
        let banned = next_clerk_status(None, &event(10, ClerkChange::Updated { suspended: true }));
        assert_eq!(
            banned,
            Some(ClerkStatus {
                suspended: true,
                deleted: false,
                event_at: Some(10)
            })
        );
        let banned = banned.unwrap();
        // An older lift does not override the newer ban; an equal timestamp neither.
        for at in [5, 10] {
            assert_eq!(
                next_clerk_status(
                    Some(&banned),
                    &event(at, ClerkChange::Updated { suspended: false })
                ),
                None
            );
        }
        let lifted = next_clerk_status(
            Some(&banned),
            &event(11, ClerkChange::Updated { suspended: false }),
        )
        .unwrap();
        assert!(!lifted.suspended);
        // A deletion applies even when older than the newest event, and keeps the newest timestamp.
        let deleted = next_clerk_status(Some(&lifted), &event(3, ClerkChange::Deleted)).unwrap();
        assert_eq!(
            deleted,
            ClerkStatus {
                suspended: true,
                deleted: true,
                event_at: Some(11)
            }
        );
        assert_eq!(
            next_clerk_status(
                Some(&deleted),
                &event(99, ClerkChange::Updated { suspended: false })
            ),
            None
        );
        assert_eq!(
            next_clerk_status(
                Some(&deleted),
                &event(99, ClerkChange::Created { suspended: false })
            ),
            None
        );
    }

    #[test]
    fn audit_ids_sort_newest_first() {
        let older = audit_entry_id(1_000, "b");
        let newer = audit_entry_id(2_000, "a");
        assert!(newer < older);
        assert_eq!(older.len(), 13 + 2);
        assert!(crate::principal::is_valid_id(&older));
        assert_eq!(audit_entry_id(-5, "x"), format!("{AUDIT_CLOCK_LIMIT}_x"));
    }
}
