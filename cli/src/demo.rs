//! `gatehouse serve --demo`: a small world ([`DEMO_WORLD`], `demo_world.json`, in the
//! `gatehouse seed` format and loaded by the same code) so the walkthrough can start with a token
//! straight away:
//!
//! - organizations `org_demo` (companies `co_demo_east` with locations `loc_demo_1` and `loc_demo_2`,
//!   `co_demo_west` with `loc_demo_3`; templates `tpl_demo_nda`, `tpl_demo_lease`) and `org_other`
//!   (`co_other`, `loc_other_1`, `tpl_other`);
//! - users `user_demo_admin` (admin), `user_demo_manager` (manager of `org_demo`),
//!   `user_demo_company_manager` (manager of `co_demo_east`), `user_demo_signer` (signer, location
//!   `loc_demo_1`), `user_demo_cosigner` (signer, no memberships) and `user_demo_suspended`
//!   (suspended signer);
//! - packages `pkg_demo_lease` at `loc_demo_1` (signers `user_demo_signer`, `user_demo_cosigner`; two
//!   documents), `pkg_demo_nda` at `loc_demo_3` (`user_demo_cosigner`) and `pkg_other` at
//!   `loc_other_1` (`user_demo_signer`, so a signer's packages can lie outside their memberships).
//!
//! Seeding is idempotent (each record is created or replaced) and makes no API keys: creating one is
//! the first step of the walkthrough.

use gatehouse::clock::{Clock, SystemClock};
use gatehouse::principal::Role;
use gatehouse::store::{ResourceStore, UserRecord};

use crate::cli::Failure;
use crate::commands::seed::{SeedPlan, load};

/// The demo world, in the `gatehouse seed` format.
pub const DEMO_WORLD: &str = include_str!("demo_world.json");

/// Writes the demo world; the banner lines describing it (one token command per user).
pub async fn seed<S: ResourceStore>(store: &S) -> Result<Vec<String>, Failure> {
    let plan = load(DEMO_WORLD, store, SystemClock.now_unix())
        .await
        .map_err(|failure| Failure::new(format!("demo world: {failure}")))?;
    Ok(banner(&plan))
}

/// The banner lines for a seeded world.
pub fn banner(plan: &SeedPlan) -> Vec<String> {
    let notes: Vec<(String, &str)> = plan
        .users
        .iter()
        .map(|user| (note(user, plan), user.user_id.as_str()))
        .collect();
    let width = notes.iter().map(|(note, _)| note.len()).max().unwrap_or(0);
    let mut lines = vec![
        format!("  demo world: {}", plan.counts()),
        "  demo users (one token command each):".to_owned(),
    ];
    lines.extend(
        notes
            .iter()
            .map(|(note, id)| format!("    {note:<width$}  gatehouse token mint --sub {id}")),
    );
    lines
}

/// What a user is, for the banner: role, then a manager's memberships or a signer's packages, and
/// suspension.
fn note(user: &UserRecord, plan: &SeedPlan) -> String {
    let m = &user.memberships;
    let scope: Vec<&str> = m
        .organization_ids
        .iter()
        .chain(&m.company_ids)
        .chain(&m.location_ids)
        .map(String::as_str)
        .collect();
    let mut note = user.role.to_string();
    let packages: Vec<&str> = plan
        .packages
        .iter()
        .filter(|p| p.signers.contains(&user.user_id))
        .map(|p| p.id.as_str())
        .collect();
    let of = match user.role {
        Role::Manager => scope,
        Role::Signer => packages,
        Role::Admin | Role::None => Vec::new(),
    };
    if !of.is_empty() {
        note.push_str(&format!(" of {}", of.join(", ")));
    }
    if user.suspended {
        note.push_str(" (suspended)");
    }
    note
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
    use crate::commands::seed::Seed;

    #[test]
    fn the_world_parses_and_validates() {
        let seed = Seed::parse(DEMO_WORLD).unwrap();
        let ids = |items: Vec<&str>| items.join(" ");
        assert_eq!(
            ids(seed.organizations.iter().map(|o| o.id.as_str()).collect()),
            "org_demo org_other"
        );
        assert_eq!(seed.organizations[0].name, "Demo Realty");
        assert_eq!(seed.organizations[1].name, "Other Corp");
        assert_eq!(
            ids(seed.companies.iter().map(|c| c.id.as_str()).collect()),
            "co_demo_east co_demo_west co_other"
        );
        assert_eq!(
            ids(seed.locations.iter().map(|l| l.id.as_str()).collect()),
            "loc_demo_1 loc_demo_2 loc_demo_3 loc_other_1"
        );
        assert_eq!(
            ids(seed.templates.iter().map(|t| t.id.as_str()).collect()),
            "tpl_demo_nda tpl_demo_lease tpl_other"
        );
        let users: Vec<_> = seed
            .users
            .iter()
            .map(|u| (u.user_id.as_str(), u.role, u.suspended))
            .collect();
        assert_eq!(
            users,
            [
                ("user_demo_admin", Role::Admin, false),
                ("user_demo_manager", Role::Manager, false),
                ("user_demo_company_manager", Role::Manager, false),
                ("user_demo_signer", Role::Signer, false),
                ("user_demo_cosigner", Role::Signer, false),
                ("user_demo_suspended", Role::Signer, true),
            ]
        );
        assert_eq!(seed.users[1].memberships.organization_ids, ["org_demo"]);
        assert_eq!(seed.users[2].memberships.company_ids, ["co_demo_east"]);
        assert_eq!(seed.users[3].memberships.location_ids, ["loc_demo_1"]);
        let packages: Vec<_> = seed
            .packages
            .iter()
            .map(|p| {
                (
                    p.id.as_str(),
                    p.location_id.as_str(),
                    p.signers.join(" "),
                    p.documents.len(),
                )
            })
            .collect();
        assert_eq!(
            packages,
            [
                (
                    "pkg_demo_lease",
                    "loc_demo_1",
                    "user_demo_signer user_demo_cosigner".to_owned(),
                    2
                ),
                (
                    "pkg_demo_nda",
                    "loc_demo_3",
                    "user_demo_cosigner".to_owned(),
                    1
                ),
                ("pkg_other", "loc_other_1", "user_demo_signer".to_owned(), 1),
            ]
        );
    }

    #[test]
    fn every_parent_is_in_the_world() {
        let seed = Seed::parse(DEMO_WORLD).unwrap();
        let has = |list: Vec<&str>, id: &str| list.contains(&id);
        let organizations: Vec<&str> = seed.organizations.iter().map(|o| o.id.as_str()).collect();
        let companies: Vec<&str> = seed.companies.iter().map(|c| c.id.as_str()).collect();
        let locations: Vec<&str> = seed.locations.iter().map(|l| l.id.as_str()).collect();
        for company in &seed.companies {
            assert!(has(organizations.clone(), &company.organization_id));
        }
        for template in &seed.templates {
            assert!(has(organizations.clone(), &template.organization_id));
        }
        for location in &seed.locations {
            assert!(has(companies.clone(), &location.company_id));
        }
        for package in &seed.packages {
            assert!(has(locations.clone(), &package.location_id));
        }
    }

    #[tokio::test]
    async fn seeding_twice_is_idempotent_and_resolves_ancestry() {
        let store = gatehouse::store::memory::MemoryStore::new();
        let lines = seed(&store).await.unwrap();
        assert_eq!(
            lines[0],
            "  demo world: 2 organizations, 3 companies, 4 locations, 3 templates, 6 users, 3 packages"
        );
        for id in [
            "user_demo_admin",
            "user_demo_manager",
            "user_demo_company_manager",
            "user_demo_signer",
            "user_demo_suspended",
        ] {
            let line = format!("gatehouse token mint --sub {id}");
            assert_eq!(
                lines.iter().filter(|l| l.ends_with(&line)).count(),
                1,
                "{lines:?}"
            );
        }
        assert!(lines.iter().any(|l| l.contains("manager of co_demo_east")));
        assert!(lines.iter().any(|l| l.contains("signer (suspended)")));
        assert!(
            lines
                .iter()
                .any(|l| l.contains("signer of pkg_demo_lease, pkg_other "))
        );

        let lease = store.package("pkg_demo_lease").await.unwrap().unwrap();
        assert_eq!(lease.company_id, "co_demo_east");
        assert_eq!(lease.organization_id, "org_demo");
        let west = store.location("loc_demo_3").await.unwrap().unwrap();
        assert_eq!(west.company_id, "co_demo_west");
        assert_eq!(west.organization_id, "org_demo");

        assert_eq!(seed(&store).await.unwrap(), lines);
        let again = store.package("pkg_demo_lease").await.unwrap().unwrap();
        assert_eq!(again, lease, "createdAt is kept");
    }
}
