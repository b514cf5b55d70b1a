//! `gatehouse serve --demo`: one user per role, so the walkthrough can start with a token straight
//! away. Seeding is idempotent (each record is created or replaced) and makes no API keys: creating
//! one is the first step of the walkthrough.

use gatehouse::principal::Memberships;
use gatehouse::store::dynamo::DynamoStore;
use gatehouse::store::{KeyStore, UserRecord};

use crate::cli::Failure;
use crate::commands::users::user_record;

/// A demo user: id, role, organizations, locations, suspended.
type DemoUser = (
    &'static str,
    &'static str,
    &'static [&'static str],
    &'static [&'static str],
    bool,
);

/// The demo users.
const DEMO_USERS: [DemoUser; 4] = [
    ("user_demo_signer", "signer", &[], &["loc_demo_1"], false),
    ("user_demo_manager", "manager", &["org_demo"], &[], false),
    ("user_demo_admin", "admin", &[], &[], false),
    ("user_demo_suspended", "signer", &[], &[], true),
];

/// The demo user records.
pub fn demo_users() -> Result<Vec<UserRecord>, Failure> {
    DEMO_USERS
        .iter()
        .map(|(id, role, organizations, locations, suspended)| {
            let memberships = Memberships {
                organization_ids: organizations.iter().map(|s| (*s).to_owned()).collect(),
                company_ids: Vec::new(),
                location_ids: locations.iter().map(|s| (*s).to_owned()).collect(),
            };
            user_record(id, role, memberships, *suspended)
        })
        .collect()
}

/// Writes the demo users; the banner lines describing them.
pub async fn seed(store: &DynamoStore) -> Result<Vec<String>, Failure> {
    let users = demo_users()?;
    let mut lines = vec!["demo users (one token command each):".to_owned()];
    for user in &users {
        store.put_user(user).await?;
        let note = if user.suspended {
            format!("{} (suspended)", user.role)
        } else {
            user.role.to_string()
        };
        lines.push(format!(
            "  {note:<20} gatehouse token mint --sub {}",
            user.user_id
        ));
    }
    Ok(lines)
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
    fn one_user_per_role_and_a_suspended_one() {
        let users = demo_users().unwrap();
        let roles: Vec<_> = users.iter().map(|u| (u.user_id.as_str(), u.role)).collect();
        assert_eq!(
            roles,
            [
                ("user_demo_signer", Role::Signer),
                ("user_demo_manager", Role::Manager),
                ("user_demo_admin", Role::Admin),
                ("user_demo_suspended", Role::Signer),
            ]
        );
        assert_eq!(users[0].memberships.location_ids, ["loc_demo_1"]);
        assert_eq!(users[1].memberships.organization_ids, ["org_demo"]);
        assert!(users[3].suspended);
    }
}
