//! `gatehouse seed <file.json>`: loads users (and, once the resource routes exist, resources) from one
//! JSON file. Loading is idempotent: each user record is created or replaced.
//!
//! ```json
//! {
//!   "users": [
//!     {"id": "user_a", "role": "manager",
//!      "memberships": [{"organizationId": "org_1"}, {"companyId": "co_1"}, {"locationId": "loc_1"}],
//!      "suspended": false}
//!   ],
//!   "organizations": [], "companies": [], "locations": [], "templates": [], "packages": []
//! }
//! ```
//!
//! Every entry is checked before anything is written, so a file with a mistake writes nothing.

use std::path::Path;

use gatehouse::config::Env;
use gatehouse::principal::Memberships;
use gatehouse::store::{KeyStore, UserRecord};
use serde::Deserialize;
use serde_json::Value;

use super::users::user_record;
use super::{print, with_store};
use crate::cli::Failure;
use crate::home::Home;

/// The seed file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedFile {
    /// Users.
    #[serde(default)]
    pub users: Vec<SeedUser>,
    /// Organizations (with the resource routes).
    #[serde(default)]
    pub organizations: Vec<Value>,
    /// Companies (with the resource routes).
    #[serde(default)]
    pub companies: Vec<Value>,
    /// Locations (with the resource routes).
    #[serde(default)]
    pub locations: Vec<Value>,
    /// Templates (with the resource routes).
    #[serde(default)]
    pub templates: Vec<Value>,
    /// Packages (with the resource routes).
    #[serde(default)]
    pub packages: Vec<Value>,
}

/// One user.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedUser {
    /// Clerk user id.
    pub id: String,
    /// `signer`, `manager` or `admin`.
    pub role: String,
    /// Memberships, one id each.
    #[serde(default)]
    pub memberships: Vec<SeedMembership>,
    /// Suspended users are refused.
    #[serde(default)]
    pub suspended: bool,
}

/// One membership: exactly one of the three ids.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SeedMembership {
    /// An organization.
    pub organization_id: Option<String>,
    /// A company.
    pub company_id: Option<String>,
    /// A location.
    pub location_id: Option<String>,
}

impl SeedFile {
    /// Parses and checks a seed file; the user records to write.
    pub fn parse(text: &str) -> Result<Vec<UserRecord>, Failure> {
        let file: SeedFile = serde_json::from_str(text)
            .map_err(|e| Failure::new(format!("invalid seed file: {e}")))?;
        let resources = [
            &file.organizations,
            &file.companies,
            &file.locations,
            &file.templates,
            &file.packages,
        ];
        if resources.iter().any(|list| !list.is_empty()) {
            return Err(Failure::new(
                "resources (organizations, companies, locations, templates, packages) are not \
                 supported yet; seed users only",
            ));
        }
        let mut seen = std::collections::HashSet::new();
        file.users
            .into_iter()
            .enumerate()
            .map(|(index, user)| {
                let at = |failure: Failure| Failure::new(format!("users[{index}]: {failure}"));
                if !seen.insert(user.id.clone()) {
                    return Err(at(Failure::new(format!("duplicate user id {}", user.id))));
                }
                let mut memberships = Memberships::default();
                for membership in user.memberships {
                    match membership {
                        SeedMembership {
                            organization_id: Some(id),
                            company_id: None,
                            location_id: None,
                        } => memberships.organization_ids.push(id),
                        SeedMembership {
                            organization_id: None,
                            company_id: Some(id),
                            location_id: None,
                        } => memberships.company_ids.push(id),
                        SeedMembership {
                            organization_id: None,
                            company_id: None,
                            location_id: Some(id),
                        } => memberships.location_ids.push(id),
                        _ => {
                            return Err(at(Failure::new(
                                "each membership has exactly one of organizationId, companyId, \
                                 locationId",
                            )));
                        }
                    }
                }
                user_record(&user.id, &user.role, memberships, user.suspended).map_err(at)
            })
            .collect()
    }
}

/// Runs `seed`.
pub async fn run<F: Fn(&str) -> Option<String>>(
    file: &Path,
    home: &Home,
    env: &Env<F>,
) -> Result<(), Failure> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| Failure::new(format!("cannot read {}: {e}", file.display())))?;
    let users = SeedFile::parse(&text)?;
    with_store(home, env, async |target| {
        for user in &users {
            target.store().put_user(user).await?;
        }
        print(&format!(
            "seeded {} user{} into {}",
            users.len(),
            if users.len() == 1 { "" } else { "s" },
            target.description()
        ))
    })
    .await
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
    use gatehouse::principal::Role;

    #[test]
    fn parses_users_and_memberships() {
        let users = SeedFile::parse(
            r#"{"users": [
                {"id": "user_a", "role": "manager",
                 "memberships": [{"organizationId": "org_1"}, {"companyId": "co_1"},
                                 {"locationId": "loc_1"}, {"locationId": "loc_2"}]},
                {"id": "user_b", "role": "signer", "suspended": true}
            ], "organizations": [], "packages": []}"#,
        )
        .unwrap();
        assert_eq!(users.len(), 2);
        assert_eq!(users[0].role, Role::Manager);
        assert_eq!(users[0].memberships.organization_ids, ["org_1"]);
        assert_eq!(users[0].memberships.company_ids, ["co_1"]);
        assert_eq!(users[0].memberships.location_ids, ["loc_1", "loc_2"]);
        assert!(!users[0].suspended);
        assert!(users[1].suspended);
        assert!(users[1].memberships.location_ids.is_empty());
        assert!(SeedFile::parse("{}").unwrap().is_empty());
    }

    #[test]
    fn refuses_mistakes() {
        let cases = [
            (
                r#"{"users": [{"id": "u", "role": "root"}]}"#,
                "users[0]: invalid role",
            ),
            (
                r#"{"users": [{"id": "a b", "role": "admin"}]}"#,
                "invalid user id",
            ),
            (
                r#"{"users": [{"id": "u", "role": "admin", "extra": 1}]}"#,
                "unknown field",
            ),
            (r#"{"userz": []}"#, "unknown field"),
            (
                r#"{"users": [{"id": "u", "role": "admin", "memberships": [{}]}]}"#,
                "exactly one",
            ),
            (
                r#"{"users": [{"id": "u", "role": "admin",
                    "memberships": [{"organizationId": "o", "companyId": "c"}]}]}"#,
                "exactly one",
            ),
            (
                r#"{"users": [{"id": "u", "role": "admin"}, {"id": "u", "role": "signer"}]}"#,
                "duplicate",
            ),
            (
                r#"{"organizations": [{"id": "org_1"}]}"#,
                "not supported yet",
            ),
            (r#"{"packages": [{}]}"#, "not supported yet"),
            ("[", "invalid seed file"),
        ];
        for (text, expected) in cases {
            let error = SeedFile::parse(text).unwrap_err().to_string();
            assert!(error.contains(expected), "{text}: {error}");
            assert!(!error.contains('\n'));
        }
    }
}
