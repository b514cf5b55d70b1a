//! Delegated role administration (README "Delegated role administration"): managers list an
//! organization's members, set a member's role and memberships inside it, remove them from it, and
//! read its audit trail, without an operator and without ever reaching beyond their own scope.
//!
//! Why it is built this way:
//! - Every refusal is decided by `crate::access` ([`access::administration_reach`] for the role and
//!   scope gate, [`access::decide_delegation`] for one change), so the whole policy stays in the one
//!   authorization module; this module reads what the rules need, and writes what they allowed.
//! - A change is computed from the record as read and written with that record's revision
//!   ([`DirectoryStore::change_membership`]): if anyone changed the record in between, nothing is
//!   written, and the change is read and decided again, so a decision is never applied to a record it
//!   was not made on. The audit entry is written in the same transaction: a change without its entry
//!   cannot exist, and a refused request writes nothing at all.
//! - The role is global, memberships are per organization: a change replaces only the target's
//!   memberships inside the route's organization and keeps the rest of the record (and both
//!   suspensions) as they are.
//! - A change takes effect at the user's next uncached authorizer call (README "What the authorizer
//!   cache may delay, and what it may not"); the answer says so ([`TAKES_EFFECT`]).

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::Value;

use crate::access::{
    self, Action, DelegationDenial, Kind, MembershipMap, Placed, Reach, Requested,
};
use crate::api::{self, ApiError, ApiResponse};
use crate::principal::{Memberships, Principal, Role, is_valid_id};
use crate::resources::{ListView, MAX_LIMIT, ResourceService, page_request};
use crate::store::resources::page_of;
use crate::store::{
    AuditAction, AuditActor, AuditEntry, ChangeError, DirectoryStore, MemberEntry, MemberState,
    MembershipChange, Page, PageRequest, StoreError, UserRecord,
};
use lambda_http::Request;

#[cfg(test)]
mod tests;

/// When a change applies, as every `PUT` and `DELETE` answer says (`takesEffect`).
pub const TAKES_EFFECT: &str = "at the user's next uncached authorizer call";

/// Most ids in each membership list of a `PUT` body.
pub const MAX_IDS: usize = 100;

/// How many times a change is read, decided and written before a record that keeps changing under
/// it is a 500.
pub const ATTEMPTS: usize = 4;

/// The delegation rules' refusals as route errors: the general gate's as it maps them, every other
/// refusal a 403 `forbidden` with the rule's message.
impl From<DelegationDenial> for ApiError {
    fn from(denial: DelegationDenial) -> Self {
        match denial {
            DelegationDenial::Access(denial) => ApiError::from(denial),
            refusal => ApiError::Forbidden(refusal.to_string()),
        }
    }
}

/// A member as the API answers it: the global role, whether the user is suspended (by an operator
/// or by Clerk), and the memberships inside the organization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MemberView {
    pub user_id: String,
    pub role: &'static str,
    pub suspended: bool,
    pub organization_ids: Vec<String>,
    pub company_ids: Vec<String>,
    pub location_ids: Vec<String>,
}

/// The answer of `PUT` and `DELETE`: the member as they now are, and when that applies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangedMemberView {
    #[serde(flatten)]
    pub member: MemberView,
    pub takes_effect: &'static str,
}

/// Who made an audited change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ActorView {
    pub user_id: String,
    pub auth_type: &'static str,
    pub key_id: Option<String>,
    pub client_id: Option<String>,
}

/// Whose record an audited change was made to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetView {
    pub user_id: String,
}

/// A member inside the organization before or after an audited change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MemberStateView {
    pub role: &'static str,
    pub organization_ids: Vec<String>,
    pub company_ids: Vec<String>,
    pub location_ids: Vec<String>,
}

/// One audit entry as the API answers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditView {
    pub id: String,
    pub organization_id: String,
    pub at: String,
    pub actor: ActorView,
    pub action: &'static str,
    pub target: TargetView,
    pub before: Option<MemberStateView>,
    pub after: MemberStateView,
}

fn state_view(state: MemberState) -> MemberStateView {
    MemberStateView {
        role: state.role.as_str(),
        organization_ids: state.memberships.organization_ids,
        company_ids: state.memberships.company_ids,
        location_ids: state.memberships.location_ids,
    }
}

fn audit_view(entry: AuditEntry) -> AuditView {
    AuditView {
        id: entry.id,
        organization_id: entry.organization_id,
        at: crate::time::rfc3339(entry.at_ms.div_euclid(1000)),
        actor: ActorView {
            user_id: entry.actor.user_id,
            auth_type: entry.actor.auth_type.as_str(),
            key_id: entry.actor.key_id,
            client_id: entry.actor.client_id,
        },
        action: entry.action.as_str(),
        target: TargetView {
            user_id: entry.target_user_id,
        },
        before: entry.before.map(state_view),
        after: state_view(entry.after),
    }
}

/// The member view of `user_id` with `inside` (the memberships inside the organization) and their
/// record, if any (no record: role `none`, not suspended).
fn member_view(user_id: &str, record: Option<&UserRecord>, inside: Memberships) -> MemberView {
    MemberView {
        user_id: user_id.to_owned(),
        role: record.map_or(Role::None, |r| r.role).as_str(),
        suspended: record.is_some_and(UserRecord::is_suspended),
        organization_ids: inside.organization_ids,
        company_ids: inside.company_ids,
        location_ids: inside.location_ids,
    }
}

/// The validated body of `PUT /v1/organizations/{orgId}/members/{userId}`. `admin` parses (the rules
/// refuse it with a 403, not a 400).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MemberBody {
    pub(crate) role: Role,
    /// Each list deduplicated, in the body's order.
    pub(crate) memberships: Memberships,
}

impl MemberBody {
    /// Parses and validates the JSON body, saying precisely what is wrong when it can't.
    pub(crate) fn from_json(body: &str) -> Result<Self, ApiError> {
        let bad = |m: &str| ApiError::BadRequest(m.to_owned());
        let value: Value =
            serde_json::from_str(body).map_err(|_| bad("request body is not valid JSON"))?;
        let Value::Object(fields) = value else {
            return Err(bad("request body must be a JSON object"));
        };
        const FIELDS: [&str; 4] = ["role", "organizationIds", "companyIds", "locationIds"];
        if let Some(unknown) = fields.keys().find(|k| !FIELDS.contains(&k.as_str())) {
            let shown: String = unknown.chars().take(32).collect();
            return Err(ApiError::BadRequest(format!(
                "unknown field {}; expected role, organizationIds, companyIds, locationIds",
                serde_json::to_string(&shown).unwrap_or_default()
            )));
        }
        let role = match fields.get("role") {
            None | Some(Value::Null) => return Err(bad("role is required")),
            Some(Value::String(text)) => match Role::parse(text) {
                Some(role @ (Role::Manager | Role::Signer | Role::Admin)) => role,
                _ => {
                    let shown: String = text.chars().take(32).collect();
                    return Err(ApiError::BadRequest(format!(
                        "unknown role {}; expected manager or signer",
                        serde_json::to_string(&shown).unwrap_or_default()
                    )));
                }
            },
            Some(_) => return Err(bad("role must be a string: manager or signer")),
        };
        let ids = |name: &str| -> Result<Vec<String>, ApiError> {
            let items = match fields.get(name) {
                None | Some(Value::Null) => return Ok(Vec::new()),
                Some(Value::Array(items)) if items.len() <= MAX_IDS => items,
                Some(_) => {
                    return Err(ApiError::BadRequest(format!(
                        "{name} must be an array of at most {MAX_IDS} ids"
                    )));
                }
            };
            let mut out: Vec<String> = Vec::with_capacity(items.len());
            for item in items {
                match item {
                    Value::String(id) if is_valid_id(id) => {
                        if !out.contains(id) {
                            out.push(id.clone());
                        }
                    }
                    _ => {
                        return Err(ApiError::BadRequest(format!(
                            "{name} must contain only ids (1 to 128 letters, digits, _ or -)"
                        )));
                    }
                }
            }
            Ok(out)
        };
        Ok(MemberBody {
            role,
            memberships: Memberships {
                organization_ids: ids("organizationIds")?,
                company_ids: ids("companyIds")?,
                location_ids: ids("locationIds")?,
            },
        })
    }
}

/// The memberships among `placed` that sit in `organization_id`, each list sorted (as the store's
/// member projection keeps them).
fn inside(placed: &[Placed], organization_id: &str) -> Memberships {
    let mut memberships = Memberships::default();
    for membership in placed.iter().filter(|p| p.is_in(organization_id)) {
        let list = match membership.kind {
            Kind::Organization => &mut memberships.organization_ids,
            Kind::Company => &mut memberships.company_ids,
            _ => &mut memberships.location_ids,
        };
        if !list.contains(&membership.id) {
            list.push(membership.id.clone());
        }
    }
    sort(&mut memberships);
    memberships
}

fn sort(memberships: &mut Memberships) {
    memberships.organization_ids.sort();
    memberships.company_ids.sort();
    memberships.location_ids.sort();
}

fn is_empty(memberships: &Memberships) -> bool {
    memberships.organization_ids.is_empty()
        && memberships.company_ids.is_empty()
        && memberships.location_ids.is_empty()
}

/// `memberships` with `removed` taken out of each list and `added` appended (each id once).
fn replaced(memberships: &Memberships, removed: &Memberships, added: &Memberships) -> Memberships {
    let merge = |kept: &[String], removed: &[String], added: &[String]| -> Vec<String> {
        let mut out: Vec<String> = Vec::with_capacity(kept.len() + added.len());
        for id in kept.iter().filter(|id| !removed.contains(id)).chain(added) {
            if !out.contains(id) {
                out.push(id.clone());
            }
        }
        out
    };
    Memberships {
        organization_ids: merge(
            &memberships.organization_ids,
            &removed.organization_ids,
            &added.organization_ids,
        ),
        company_ids: merge(
            &memberships.company_ids,
            &removed.company_ids,
            &added.company_ids,
        ),
        location_ids: merge(
            &memberships.location_ids,
            &removed.location_ids,
            &added.location_ids,
        ),
    }
}

/// Whether two membership sets hold the same ids (in any order).
fn same_memberships(a: &Memberships, b: &Memberships) -> bool {
    let set = |ids: &[String]| ids.iter().cloned().collect::<BTreeSet<String>>();
    set(&a.organization_ids) == set(&b.organization_ids)
        && set(&a.company_ids) == set(&b.company_ids)
        && set(&a.location_ids) == set(&b.location_ids)
}

/// The audit clock, in milliseconds: the service clock's second, refined by the system clock's
/// milliseconds when both agree on the time (entries of one second then sort in the order they were
/// made); a clock that stands elsewhere (tests) gives the second's start.
fn audit_millis(now_unix: i64) -> i64 {
    let system = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()
        .and_then(|elapsed| i64::try_from(elapsed.as_millis()).ok());
    match system {
        Some(ms) if ms.div_euclid(1000).abs_diff(now_unix) <= 1 => ms,
        _ => now_unix.saturating_mul(1000),
    }
}

/// What a change route does.
#[derive(Debug, Clone)]
enum Change {
    /// `PUT`.
    Put(MemberBody),
    /// `DELETE`.
    Remove,
}

impl<S: DirectoryStore> ResourceService<S> {
    /// The caller, scoped to a key as `X-Use-Api-Key` says (as every write route does), and their
    /// reach over members.
    async fn administrator(
        &self,
        request: &Request,
        action: Action,
    ) -> Result<(Principal, Reach), ApiError> {
        let (principal, memberships) = self.scoped_caller(request).await?;
        let reach = access::administration_reach(&principal, memberships, action)?;
        Ok((principal, reach))
    }

    /// The route's organization (see [`ResourceService::organization_within`]): its id, and a
    /// manager's resolved memberships.
    async fn members_organization(
        &self,
        request: &Request,
        reach: &Reach,
    ) -> Result<(String, Option<MembershipMap>), ApiError> {
        let (org, map) = self.organization_within(request, reach).await?;
        Ok((org.id, map))
    }

    /// `GET /v1/organizations/{orgId}/members`: every member for admins and the organization's
    /// organization-level managers (a page of the store's member projection); for a company- or
    /// location-level manager, the members holding at least one membership inside their scope
    /// (every member read, filtered, paged in memory).
    pub async fn members(&self, request: &Request) -> Result<ListView<MemberView>, ApiError> {
        let (_, reach) = self.administrator(request, Action::Read).await?;
        let (org_id, map) = self.members_organization(request, &reach).await?;
        let page = page_request(request)?;
        let entries = match (&reach, &map) {
            (Reach::Memberships(granter), Some(map)) if !map.organizations.contains(&org_id) => {
                self.members_in_scope(&org_id, granter, &page).await?
            }
            _ => self.store().members_of(&org_id, page).await?,
        };
        let ids: Vec<String> = entries.items.iter().map(|e| e.user_id.clone()).collect();
        let records = if ids.is_empty() {
            Vec::new()
        } else {
            self.store().users_by_ids(&ids).await?
        };
        let items = entries
            .items
            .into_iter()
            .map(|entry| {
                let record = records.iter().find(|r| r.user_id == entry.user_id);
                let mut memberships = entry.memberships;
                sort(&mut memberships);
                member_view(&entry.user_id, record, memberships)
            })
            .collect();
        Ok(ListView {
            items,
            next_cursor: entries.next.map(|c| c.as_str().to_owned()),
        })
    }

    /// The members of `org_id` with a membership `granter` covers, one page of them.
    async fn members_in_scope(
        &self,
        org_id: &str,
        granter: &Memberships,
        page: &PageRequest,
    ) -> Result<Page<MemberEntry>, ApiError> {
        let mut all: Vec<MemberEntry> = Vec::new();
        let mut request = PageRequest::first(MAX_LIMIT);
        loop {
            let chunk = self.store().members_of(org_id, request).await?;
            all.extend(chunk.items);
            match chunk.next {
                Some(next) => request = PageRequest::after(MAX_LIMIT, next),
                None => break,
            }
        }
        // One placement of every membership the members hold (two batched reads), then a lookup.
        let mut union = Memberships::default();
        for entry in &all {
            union
                .company_ids
                .extend(entry.memberships.company_ids.iter().cloned());
            union
                .location_ids
                .extend(entry.memberships.location_ids.iter().cloned());
        }
        union.company_ids.sort();
        union.company_ids.dedup();
        union.location_ids.sort();
        union.location_ids.dedup();
        let placed = access::place(self.store(), &union).await?;
        let covered: BTreeSet<(&str, &str)> = placed
            .iter()
            .filter(|p| p.is_in(org_id) && p.is_covered_by(granter))
            .map(|p| (p.kind.name(), p.id.as_str()))
            .collect();
        let visible: Vec<(String, MemberEntry)> = all
            .into_iter()
            .filter(|entry| {
                let m = &entry.memberships;
                m.company_ids
                    .iter()
                    .any(|id| covered.contains(&(Kind::Company.name(), id.as_str())))
                    || m.location_ids
                        .iter()
                        .any(|id| covered.contains(&(Kind::Location.name(), id.as_str())))
            })
            .map(|entry| (entry.user_id.clone(), entry))
            .collect();
        Ok(page_of(visible, page))
    }

    /// `GET /v1/organizations/{orgId}/audit`: admins, and managers holding the organization itself.
    pub async fn audit(&self, request: &Request) -> Result<ListView<AuditView>, ApiError> {
        let (_, reach) = self.administrator(request, Action::Read).await?;
        let (org_id, map) = self.members_organization(request, &reach).await?;
        if map.is_some_and(|map| !map.organizations.contains(&org_id)) {
            return Err(DelegationDenial::AuditNeedsOrganizationManager.into());
        }
        let page = page_request(request)?;
        let entries = self.store().audit_of(&org_id, page).await?;
        Ok(ListView {
            items: entries.items.into_iter().map(audit_view).collect(),
            next_cursor: entries.next.map(|c| c.as_str().to_owned()),
        })
    }

    /// `PUT /v1/organizations/{orgId}/members/{userId}`.
    pub async fn put_member(&self, request: &Request) -> Result<ChangedMemberView, ApiError> {
        self.change_member(request, true).await
    }

    /// `DELETE /v1/organizations/{orgId}/members/{userId}`.
    pub async fn remove_member(&self, request: &Request) -> Result<ChangedMemberView, ApiError> {
        self.change_member(request, false).await
    }

    /// A change: the gate, the organization, the body; then read, decide, write, until the write
    /// applies to the record it was decided on ([`ATTEMPTS`] times at most).
    async fn change_member(
        &self,
        request: &Request,
        put: bool,
    ) -> Result<ChangedMemberView, ApiError> {
        let (principal, reach) = self.administrator(request, Action::Write).await?;
        let Reach::Memberships(granter) = &reach else {
            // The gate lets only managers write; anything else is refused as it would refuse it.
            return Err(DelegationDenial::ManagersOnly.into());
        };
        let (org_id, _) = self.members_organization(request, &reach).await?;
        let target_id = api::path_parameter(request, "userId").unwrap_or_default();
        if !is_valid_id(target_id) {
            return Err(ApiError::BadRequest("userId must be a user id".into()));
        }
        let change = if put {
            Change::Put(MemberBody::from_json(&api::body_text(request)?)?)
        } else {
            Change::Remove
        };
        let grants = match &change {
            Change::Put(body) => access::place(self.store(), &body.memberships).await?,
            Change::Remove => Vec::new(),
        };
        for _ in 0..ATTEMPTS {
            let record = self
                .store()
                .users_by_ids(&[target_id.to_owned()])
                .await?
                .into_iter()
                .find(|r| r.user_id == target_id);
            let held = match &record {
                Some(record) => access::place(self.store(), &record.memberships).await?,
                None => Vec::new(),
            };
            let requested = match &change {
                Change::Put(body) => Requested::Put {
                    role: body.role,
                    grants: &grants,
                },
                Change::Remove => Requested::Remove,
            };
            access::decide_delegation(
                &access::Delegation {
                    granter_id: &principal.user_id,
                    granter,
                    organization_id: &org_id,
                    target_id,
                    target_role: record.as_ref().map(|r| r.role),
                    held: &held,
                },
                requested,
            )?;
            let before_inside = inside(&held, &org_id);
            let (role, after_inside, action) = match &change {
                Change::Put(body) => {
                    let mut desired = body.memberships.clone();
                    sort(&mut desired);
                    (body.role, desired, AuditAction::MemberPut)
                }
                Change::Remove => {
                    if is_empty(&before_inside) {
                        return Err(ApiError::NotFound("member"));
                    }
                    let role = record.as_ref().map_or(Role::None, |r| r.role);
                    (role, Memberships::default(), AuditAction::MemberDelete)
                }
            };
            let user = match &record {
                Some(record) => UserRecord {
                    role,
                    memberships: replaced(&record.memberships, &before_inside, &after_inside),
                    ..record.clone()
                },
                None => UserRecord::new(target_id, role, after_inside.clone()),
            };
            let answer = ChangedMemberView {
                member: member_view(target_id, Some(&user), after_inside.clone()),
                takes_effect: TAKES_EFFECT,
            };
            if let Some(record) = &record
                && record.role == user.role
                && same_memberships(&record.memberships, &user.memberships)
            {
                // Nothing changes: nothing is written, and nothing is audited.
                return Ok(answer);
            }
            let at_ms = audit_millis(self.clock().now_unix());
            let random = crate::apikey::generate_key_id().map_err(|_| ApiError::Random)?;
            let audit = AuditEntry {
                id: crate::store::directory::audit_entry_id(
                    at_ms,
                    random.strip_prefix("k_").unwrap_or(&random),
                ),
                organization_id: org_id.clone(),
                at_ms,
                actor: AuditActor {
                    user_id: principal.user_id.clone(),
                    auth_type: principal.auth_type,
                    key_id: principal.key_id.clone(),
                    client_id: principal.client_id.clone(),
                },
                action,
                target_user_id: target_id.to_owned(),
                before: record.as_ref().map(|r| MemberState {
                    role: r.role,
                    memberships: before_inside.clone(),
                }),
                after: MemberState {
                    role,
                    memberships: after_inside.clone(),
                },
            };
            let change = MembershipChange {
                expected_revision: record.as_ref().map(|r| r.revision),
                user,
                inside_organization: after_inside,
                audit,
            };
            match self.store().change_membership(&change).await {
                Ok(()) => return Ok(answer),
                Err(ChangeError::Conflict) => continue,
                Err(ChangeError::Store(error)) => return Err(error.into()),
            }
        }
        Err(ApiError::Store(StoreError::Unavailable(format!(
            "the record of {target_id} changed concurrently {ATTEMPTS} times in a row"
        ))))
    }
}

/// The route handlers.
pub mod routes {
    use super::*;

    /// `GET /v1/organizations/{orgId}/members`.
    pub async fn list_members<S: DirectoryStore>(
        service: &ResourceService<S>,
        request: &Request,
    ) -> ApiResponse {
        api::respond(service.members(request).await.map(|body| (200, body)))
    }

    /// `PUT /v1/organizations/{orgId}/members/{userId}`.
    pub async fn put_member<S: DirectoryStore>(
        service: &ResourceService<S>,
        request: &Request,
    ) -> ApiResponse {
        api::respond(service.put_member(request).await.map(|body| (200, body)))
    }

    /// `DELETE /v1/organizations/{orgId}/members/{userId}`.
    pub async fn remove_member<S: DirectoryStore>(
        service: &ResourceService<S>,
        request: &Request,
    ) -> ApiResponse {
        api::respond(service.remove_member(request).await.map(|body| (200, body)))
    }

    /// `GET /v1/organizations/{orgId}/audit`.
    pub async fn list_audit<S: DirectoryStore>(
        service: &ResourceService<S>,
        request: &Request,
    ) -> ApiResponse {
        api::respond(service.audit(request).await.map(|body| (200, body)))
    }
}
