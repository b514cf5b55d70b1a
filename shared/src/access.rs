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
}
