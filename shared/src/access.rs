//! The one authorization module: "may this principal do this action on this resource", answered from
//! the [`Principal`] (role, key scopes, memberships) and the resource's ancestry (organization →
//! company → location). Route logic calls it and never tests roles itself, so the rules below are the
//! whole policy:
//!
//! - a key (or a session scoped to a key) needs `read` to read and `write` to write, before anything
//!   else (`insufficient_scope`);
//! - `admin` reads everything and writes nothing (`admin access is read-only`);
//! - `manager` reads and creates inside its memberships, which cascade down: an organization
//!   membership covers its companies and their locations, a company membership its locations;
//! - `signer` reads the packages it is assigned to, nothing else;
//! - `none` (signed in, no record) reads only the packages it is assigned to (package signers need not
//!   have a record).
//!
//! Scope is decided before existence: an id the caller has no provable scope over is a 403 naming the
//! resource kind whether or not it exists; only a caller with scope learns that something is missing.
//!
//! The rules answer in their own terms ([`Denial`]), not in HTTP: `crate::api` maps a denial to its
//! status and code, in the one place every route error is mapped.
//!
//! Delegated role administration (README "Delegated role administration") is decided here too, by
//! [`administration_reach`] (who may list and change members) and [`decide_delegation`] (whether one
//! change stays inside the granter's scope): a manager grants, replaces and removes only what the
//! same cascade ([`covers`]) gives them, never `admin`, never their own record, and changes the
//! global role only of a user whose every membership they cover. Those refusals are
//! [`DelegationDenial`]s, mapped to route errors by `crate::members`.

use std::collections::{BTreeMap, BTreeSet};

use crate::principal::{Memberships, Principal, Role};
use crate::store::{Location, Package, ResourceStore, StoreError};

/// Why the rules refuse an action (or could not decide it: the store they read failed).
#[derive(Debug, thiserror::Error)]
pub enum Denial {
    /// An API key (or a session scoped to one) without the scope the action needs.
    #[error("this api key does not have the {0} scope")]
    InsufficientScope(&'static str),
    /// Admins read everything and write nothing.
    #[error("admin access is read-only")]
    AdminReadOnly,
    /// Only managers create signing packages.
    #[error("only managers can create signing packages")]
    ManagersOnly,
    /// No provable scope over a resource of this kind (whether or not it exists).
    #[error("you do not have access to this {}", .0.name())]
    NoAccess(Kind),
    /// The store the rules needed failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Read or write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Any `GET`.
    Read,
    /// Creating a signing package.
    Write,
}

/// The kinds of resource, for the role gate and the 403 messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Organization,
    Company,
    Location,
    Template,
    Package,
}

impl Kind {
    /// `organization`, `company`, ….
    pub const fn name(self) -> &'static str {
        match self {
            Kind::Organization => "organization",
            Kind::Company => "company",
            Kind::Location => "location",
            Kind::Template => "template",
            Kind::Package => "package",
        }
    }

    /// The denial for an id of this kind the caller has no scope over.
    pub fn no_access(self) -> Denial {
        Denial::NoAccess(self)
    }
}

/// How far a caller who passed the role gate reaches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reach {
    /// Admin: every organization.
    Everything,
    /// Manager: inside these memberships.
    Memberships(Memberships),
    /// Signer: the packages assigned to this user.
    Assigned,
}

/// The role and scope gate for `action` on resources of `kind`, before any id is looked at.
/// `memberships` are the caller's (see [`memberships_of`]).
pub fn reach(
    principal: &Principal,
    memberships: Memberships,
    action: Action,
    kind: Kind,
) -> Result<Reach, Denial> {
    match action {
        Action::Read if !principal.scopes.read => return Err(Denial::InsufficientScope("read")),
        Action::Write if !principal.scopes.write => {
            return Err(Denial::InsufficientScope("write"));
        }
        _ => {}
    }
    match (principal.role, action, kind) {
        (Role::Admin, Action::Read, _) => Ok(Reach::Everything),
        (Role::Admin, Action::Write, _) => Err(Denial::AdminReadOnly),
        (Role::Manager, _, _) => Ok(Reach::Memberships(memberships)),
        (Role::Signer | Role::None, Action::Read, Kind::Package) => Ok(Reach::Assigned),
        (Role::Signer | Role::None, Action::Write, _) => Err(Denial::ManagersOnly),
        (Role::Signer | Role::None, Action::Read, kind) => Err(kind.no_access()),
    }
}

/// The caller's memberships: from the context, or from the user record when they were over the
/// context budget (a user without a record has none).
pub async fn memberships_of<S: crate::store::AuthStore>(
    principal: &Principal,
    store: &S,
) -> Result<Memberships, Denial> {
    if !principal.memberships_omitted {
        return Ok(principal.memberships.clone());
    }
    Ok(store
        .user(&principal.user_id)
        .await?
        .map(|user| user.memberships)
        .unwrap_or_default())
}

/// Where a resource sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ancestry<'a> {
    pub organization_id: &'a str,
    pub company_id: Option<&'a str>,
    pub location_id: Option<&'a str>,
}

impl<'a> Ancestry<'a> {
    /// A location's.
    pub fn of_location(location: &'a Location) -> Self {
        Ancestry {
            organization_id: &location.organization_id,
            company_id: Some(&location.company_id),
            location_id: Some(&location.id),
        }
    }

    /// A package's (its location's).
    pub fn of_package(package: &'a Package) -> Self {
        Ancestry {
            organization_id: &package.organization_id,
            company_id: Some(&package.company_id),
            location_id: Some(&package.location_id),
        }
    }
}

/// Whether memberships cover a resource: cascade down from organization to company to location.
pub fn covers(memberships: &Memberships, ancestry: Ancestry<'_>) -> bool {
    let has = |ids: &[String], id: Option<&str>| id.is_some_and(|id| ids.iter().any(|m| m == id));
    has(
        &memberships.organization_ids,
        Some(ancestry.organization_id),
    ) || has(&memberships.company_ids, ancestry.company_id)
        || has(&memberships.location_ids, ancestry.location_id)
}

/// A manager's memberships with their ancestry resolved, for the organization-level routes: which
/// organizations the memberships touch, and which member companies and locations sit in each.
#[derive(Debug, Clone, Default)]
pub struct MembershipMap {
    /// Organization memberships.
    pub organizations: BTreeSet<String>,
    /// Member companies (that exist) by organization.
    pub companies_by_org: BTreeMap<String, BTreeSet<String>>,
    /// Member locations (that exist) by organization.
    pub locations_by_org: BTreeMap<String, Vec<Location>>,
}

impl MembershipMap {
    /// Loads the ancestry of the member companies and locations (batched reads).
    pub async fn load<S: ResourceStore>(
        store: &S,
        memberships: &Memberships,
    ) -> Result<Self, Denial> {
        let mut map = MembershipMap {
            organizations: memberships.organization_ids.iter().cloned().collect(),
            ..MembershipMap::default()
        };
        if !memberships.company_ids.is_empty() {
            for company in store.companies_by_ids(&memberships.company_ids).await? {
                map.companies_by_org
                    .entry(company.organization_id)
                    .or_default()
                    .insert(company.id);
            }
        }
        if !memberships.location_ids.is_empty() {
            for location in store.locations_by_ids(&memberships.location_ids).await? {
                map.locations_by_org
                    .entry(location.organization_id.clone())
                    .or_default()
                    .push(location);
            }
        }
        Ok(map)
    }

    /// Every organization the memberships touch.
    pub fn touched(&self) -> BTreeSet<String> {
        let mut touched = self.organizations.clone();
        touched.extend(self.companies_by_org.keys().cloned());
        touched.extend(self.locations_by_org.keys().cloned());
        touched
    }

    /// Whether the memberships touch `organization_id`.
    pub fn touches(&self, organization_id: &str) -> bool {
        self.organizations.contains(organization_id)
            || self.companies_by_org.contains_key(organization_id)
            || self.locations_by_org.contains_key(organization_id)
    }
}

/// One membership with where it sits, read from the store ([`place`]): the ancestry [`covers`]
/// decides on, for memberships that are not resources yet (a grant, a member's record).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placed {
    /// An organization, company or location membership.
    pub kind: Kind,
    /// The id held.
    pub id: String,
    /// The organization it sits in; `None` for a company or location that does not exist, which
    /// sits nowhere and so is covered by no one.
    pub organization_id: Option<String>,
    /// The company it sits in (a company membership: itself; a location: its company).
    pub company_id: Option<String>,
}

impl Placed {
    /// Its ancestry, unless it sits nowhere.
    pub fn ancestry(&self) -> Option<Ancestry<'_>> {
        Some(Ancestry {
            organization_id: self.organization_id.as_deref()?,
            company_id: self.company_id.as_deref(),
            location_id: (self.kind == Kind::Location).then_some(self.id.as_str()),
        })
    }

    /// Whether it sits in `organization_id`.
    pub fn is_in(&self, organization_id: &str) -> bool {
        self.organization_id.as_deref() == Some(organization_id)
    }

    /// Whether `memberships` cover it by the cascade of [`covers`] (never when it sits nowhere).
    pub fn is_covered_by(&self, memberships: &Memberships) -> bool {
        self.ancestry()
            .is_some_and(|ancestry| covers(memberships, ancestry))
    }
}

/// Places every membership of `memberships` (two batched reads: the companies and the locations),
/// in the order organizations, companies, locations, each list in its own order.
pub async fn place<S: ResourceStore>(
    store: &S,
    memberships: &Memberships,
) -> Result<Vec<Placed>, StoreError> {
    let companies: BTreeMap<String, String> = if memberships.company_ids.is_empty() {
        BTreeMap::new()
    } else {
        store
            .companies_by_ids(&memberships.company_ids)
            .await?
            .into_iter()
            .map(|company| (company.id, company.organization_id))
            .collect()
    };
    let locations: BTreeMap<String, (String, String)> = if memberships.location_ids.is_empty() {
        BTreeMap::new()
    } else {
        store
            .locations_by_ids(&memberships.location_ids)
            .await?
            .into_iter()
            .map(|location| (location.id, (location.organization_id, location.company_id)))
            .collect()
    };
    let mut placed = Vec::with_capacity(
        memberships.organization_ids.len()
            + memberships.company_ids.len()
            + memberships.location_ids.len(),
    );
    placed.extend(memberships.organization_ids.iter().map(|id| Placed {
        kind: Kind::Organization,
        id: id.clone(),
        organization_id: Some(id.clone()),
        company_id: None,
    }));
    placed.extend(memberships.company_ids.iter().map(|id| Placed {
        kind: Kind::Company,
        id: id.clone(),
        organization_id: companies.get(id).cloned(),
        company_id: companies.contains_key(id).then(|| id.clone()),
    }));
    placed.extend(memberships.location_ids.iter().map(|id| {
        let parents = locations.get(id);
        Placed {
            kind: Kind::Location,
            id: id.clone(),
            organization_id: parents.map(|(organization, _)| organization.clone()),
            company_id: parents.map(|(_, company)| company.clone()),
        }
    }));
    Ok(placed)
}

/// Why delegated role administration refuses (README "Delegated role administration").
#[derive(Debug, thiserror::Error)]
pub enum DelegationDenial {
    /// The general gate refused (a key's scope, an admin's write, no access to the organization).
    #[error(transparent)]
    Access(#[from] Denial),
    /// Signers and users without a record change nothing.
    #[error("only managers can change roles and memberships")]
    ManagersOnly,
    /// The audit trail is for managers holding the organization itself (and admins).
    #[error("only managers of the whole organization can read its audit trail")]
    AuditNeedsOrganizationManager,
    /// Nobody changes their own record.
    #[error("you cannot change your own role or memberships")]
    OwnRecord,
    /// `admin` is granted by operators only.
    #[error("the admin role cannot be granted through the api")]
    AdminGrant,
    /// An admin's record is changed by operators only.
    #[error("an admin's role and memberships cannot be changed through the api")]
    AdminTarget,
    /// A grant outside the organization or the granter's scope (or of an id that does not exist).
    #[error("you cannot grant {} {}: it is outside your scope", .0.name(), .1)]
    GrantOutsideScope(Kind, String),
    /// The member holds memberships in the organization the granter could not have granted.
    #[error("this member holds memberships in this organization outside your scope")]
    HeldOutsideScope,
    /// The role is global: changing it needs every membership of the user in scope.
    #[error("the role also applies outside your scope")]
    RoleOutsideScope,
}

/// The gate of delegated role administration, before any id is looked at: as [`reach`] on an
/// organization (scope first, admins read, managers within their memberships), except that a
/// signer's or a record-less user's change is [`DelegationDenial::ManagersOnly`].
pub fn administration_reach(
    principal: &Principal,
    memberships: Memberships,
    action: Action,
) -> Result<Reach, DelegationDenial> {
    match reach(principal, memberships, action, Kind::Organization) {
        Err(Denial::ManagersOnly) => Err(DelegationDenial::ManagersOnly),
        Ok(Reach::Assigned) => Err(Kind::Organization.no_access().into()),
        other => Ok(other?),
    }
}

/// A delegated change as [`decide_delegation`] judges it: who asks, over what, for whom.
#[derive(Debug, Clone, Copy)]
pub struct Delegation<'a> {
    /// The granter's user id.
    pub granter_id: &'a str,
    /// The granter's memberships (a manager's: [`administration_reach`] admitted them).
    pub granter: &'a Memberships,
    /// The organization of the route.
    pub organization_id: &'a str,
    /// The target's user id.
    pub target_id: &'a str,
    /// The target's role now; `None` when they have no record.
    pub target_role: Option<Role>,
    /// Every membership the target holds now, anywhere, placed.
    pub held: &'a [Placed],
}

/// What the granter asks for.
#[derive(Debug, Clone, Copy)]
pub enum Requested<'a> {
    /// `PUT`: this role, and exactly these memberships inside the organization (placed).
    Put { role: Role, grants: &'a [Placed] },
    /// `DELETE`: no memberships inside the organization.
    Remove,
}

/// Whether a manager may make a delegated change, in the README's order: not their own record;
/// never `admin`, never an admin's record; every grant inside the organization and their scope;
/// everything the target holds inside the organization (what the change replaces or removes) inside
/// their scope; a role change only when every membership the target holds anywhere afterwards is.
pub fn decide_delegation(
    delegation: &Delegation<'_>,
    requested: Requested<'_>,
) -> Result<(), DelegationDenial> {
    let Delegation {
        granter_id,
        granter,
        organization_id,
        target_id,
        target_role,
        held,
    } = *delegation;
    if target_id == granter_id {
        return Err(DelegationDenial::OwnRecord);
    }
    if let Requested::Put {
        role: Role::Admin, ..
    } = requested
    {
        return Err(DelegationDenial::AdminGrant);
    }
    if target_role == Some(Role::Admin) {
        return Err(DelegationDenial::AdminTarget);
    }
    if let Requested::Put { grants, .. } = requested
        && let Some(outside) = grants
            .iter()
            .find(|grant| !grant.is_in(organization_id) || !grant.is_covered_by(granter))
    {
        return Err(DelegationDenial::GrantOutsideScope(
            outside.kind,
            outside.id.clone(),
        ));
    }
    if held
        .iter()
        .any(|placed| placed.is_in(organization_id) && !placed.is_covered_by(granter))
    {
        return Err(DelegationDenial::HeldOutsideScope);
    }
    if let Requested::Put { role, .. } = requested
        && target_role != Some(role)
        && held
            .iter()
            .any(|placed| !placed.is_in(organization_id) && !placed.is_covered_by(granter))
    {
        // Inside the organization, the grants are all that remains, and they are in scope.
        return Err(DelegationDenial::RoleOutsideScope);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::principal::{AuthType, Scopes};

    fn principal(role: Role, scopes: Scopes) -> Principal {
        Principal {
            user_id: "user_1".into(),
            auth_type: AuthType::ApiKey,
            role,
            key_id: Some("k_1".into()),
            scopes,
            session_id: None,
            client_id: None,
            memberships: Memberships::default(),
            clerk_org_id: None,
            clerk_org_role: None,
            memberships_omitted: false,
            expires_at: None,
        }
    }

    const READ: Scopes = Scopes {
        read: true,
        write: false,
    };

    fn outcome(result: Result<Reach, Denial>) -> String {
        match result {
            Ok(Reach::Everything) => "everything".into(),
            Ok(Reach::Memberships(_)) => "memberships".into(),
            Ok(Reach::Assigned) => "assigned".into(),
            Err(denial) => {
                let error = crate::api::ApiError::from(denial);
                format!("{} {}", error.code(), error)
            }
        }
    }

    #[test]
    fn the_role_gate() {
        let gate = |role, scopes, action, kind| {
            outcome(reach(
                &principal(role, scopes),
                Memberships::default(),
                action,
                kind,
            ))
        };
        use Action::{Read, Write};
        assert_eq!(
            gate(Role::Admin, Scopes::ALL, Read, Kind::Location),
            "everything"
        );
        assert_eq!(
            gate(Role::Admin, Scopes::ALL, Write, Kind::Package),
            "forbidden admin access is read-only"
        );
        assert_eq!(
            gate(Role::Admin, READ, Write, Kind::Package),
            "insufficient_scope this api key does not have the write scope"
        );
        assert_eq!(
            gate(Role::Manager, Scopes::ALL, Write, Kind::Package),
            "memberships"
        );
        assert_eq!(
            gate(Role::Manager, READ, Write, Kind::Package),
            "insufficient_scope this api key does not have the write scope"
        );
        assert_eq!(gate(Role::Signer, READ, Read, Kind::Package), "assigned");
        assert_eq!(
            gate(Role::Signer, READ, Read, Kind::Location),
            "forbidden you do not have access to this location"
        );
        assert_eq!(
            gate(Role::None, Scopes::ALL, Read, Kind::Organization),
            "forbidden you do not have access to this organization"
        );
        assert_eq!(
            gate(Role::Signer, Scopes::ALL, Write, Kind::Package),
            "forbidden only managers can create signing packages"
        );
        let write_only = Scopes {
            read: false,
            write: true,
        };
        assert_eq!(
            gate(Role::Admin, write_only, Read, Kind::Organization),
            "insufficient_scope this api key does not have the read scope"
        );
    }

    #[test]
    fn memberships_cascade_down() {
        let m = Memberships {
            organization_ids: vec!["org_1".into()],
            company_ids: vec!["co_2".into()],
            location_ids: vec!["loc_9".into()],
        };
        let at = |org, company, location| Ancestry {
            organization_id: org,
            company_id: company,
            location_id: location,
        };
        assert!(covers(&m, at("org_1", Some("co_x"), Some("loc_x"))));
        assert!(covers(&m, at("org_2", Some("co_2"), Some("loc_x"))));
        assert!(covers(&m, at("org_3", Some("co_3"), Some("loc_9"))));
        assert!(!covers(&m, at("org_2", Some("co_3"), Some("loc_1"))));
        assert!(!covers(&m, at("org_2", None, None)));
    }

    #[test]
    fn delegation_rules_in_order() {
        let placed = |kind, id: &str, org: Option<&str>, company: Option<&str>| Placed {
            kind,
            id: id.into(),
            organization_id: org.map(Into::into),
            company_id: company.map(Into::into),
        };
        let loc_a1 = placed(Kind::Location, "loc_a1", Some("org_a"), Some("co_a"));
        let loc_b1 = placed(Kind::Location, "loc_b1", Some("org_b"), Some("co_b"));
        let ghost = placed(Kind::Location, "loc_gone", None, None);
        let company_a = placed(Kind::Company, "co_a", Some("org_a"), Some("co_a"));
        let org_a = placed(Kind::Organization, "org_a", Some("org_a"), None);
        fn decide(
            target: &str,
            role: Option<Role>,
            held: &[Placed],
            requested: Requested<'_>,
        ) -> String {
            let granter = Memberships {
                company_ids: vec!["co_a".into()],
                ..Memberships::default()
            };
            let delegation = Delegation {
                granter_id: "user_granter",
                granter: &granter,
                organization_id: "org_a",
                target_id: target,
                target_role: role,
                held,
            };
            match decide_delegation(&delegation, requested) {
                Ok(()) => "ok".to_owned(),
                Err(denial) => denial.to_string(),
            }
        }
        fn put(role: Role, grants: &[Placed]) -> Requested<'_> {
            Requested::Put { role, grants }
        }
        let grants = [loc_a1.clone()];
        // Own record before everything, then admin (granted, then held), then the grants, then
        // what is held inside, then the role.
        assert_eq!(
            decide(
                "user_granter",
                Some(Role::Admin),
                &[],
                put(Role::Admin, &[])
            ),
            "you cannot change your own role or memberships"
        );
        assert_eq!(
            decide("user_t", Some(Role::Admin), &[], put(Role::Admin, &[])),
            "the admin role cannot be granted through the api"
        );
        assert_eq!(
            decide("user_t", Some(Role::Admin), &[], Requested::Remove),
            "an admin's role and memberships cannot be changed through the api"
        );
        assert_eq!(
            decide(
                "user_t",
                None,
                &[],
                put(Role::Signer, std::slice::from_ref(&org_a))
            ),
            "you cannot grant organization org_a: it is outside your scope"
        );
        assert_eq!(
            decide(
                "user_t",
                None,
                &[],
                put(Role::Signer, std::slice::from_ref(&loc_b1))
            ),
            "you cannot grant location loc_b1: it is outside your scope"
        );
        assert_eq!(
            decide(
                "user_t",
                None,
                &[],
                put(Role::Signer, std::slice::from_ref(&ghost))
            ),
            "you cannot grant location loc_gone: it is outside your scope"
        );
        assert_eq!(
            decide("user_t", Some(Role::Signer), &[org_a], Requested::Remove),
            "this member holds memberships in this organization outside your scope"
        );
        let wide = [loc_a1.clone(), loc_b1];
        assert_eq!(
            decide(
                "user_t",
                Some(Role::Signer),
                &wide,
                put(Role::Manager, &grants)
            ),
            "the role also applies outside your scope"
        );
        assert_eq!(
            decide(
                "user_t",
                Some(Role::Signer),
                &[ghost, loc_a1.clone()],
                put(Role::Manager, &grants)
            ),
            "the role also applies outside your scope"
        );
        assert_eq!(
            decide(
                "user_t",
                Some(Role::Signer),
                &wide,
                put(Role::Signer, &grants)
            ),
            "ok"
        );
        assert_eq!(
            decide("user_t", None, &[], put(Role::Manager, &[company_a])),
            "ok"
        );
        assert_eq!(
            decide("user_t", Some(Role::Signer), &wide, Requested::Remove),
            "ok"
        );
    }
}
