//! `gatehouse users put|get`: user records (role, memberships, suspension) by Clerk user id, the
//! record the authorizer reads on every decision.

use gatehouse::config::Env;
use gatehouse::principal::{Memberships, Role, is_valid_id};
use gatehouse::store::{AuthStore, KeyStore, UserRecord};
use serde::Serialize;

use super::{print_json, with_store};
use crate::cli::{Failure, UsersCommand};
use crate::home::Home;

/// Runs `users put` or `users get`.
pub async fn run<F: Fn(&str) -> Option<String>>(
    command: UsersCommand,
    home: &Home,
    env: &Env<F>,
) -> Result<(), Failure> {
    match command {
        UsersCommand::Put {
            id,
            role,
            organizations,
            companies,
            locations,
            suspended,
        } => {
            let record = user_record(
                &id,
                &role,
                Memberships {
                    organization_ids: organizations,
                    company_ids: companies,
                    location_ids: locations,
                },
                suspended,
            )?;
            with_store(home, env, async |target| {
                target.store().put_user(&record).await?;
                print_json(&user_json(&record))
            })
            .await
        }
        UsersCommand::Get { id } => {
            check_id("user id", &id)?;
            with_store(home, env, async |target| {
                match target.store().user(&id).await? {
                    Some(record) => print_json(&user_json(&record)),
                    None => Err(Failure::new(format!("no user {id}"))),
                }
            })
            .await
        }
    }
}

/// A validated user record: id and membership ids of `[A-Za-z0-9_-]` (1 to 128), role `signer`,
/// `manager` or `admin`.
pub fn user_record(
    id: &str,
    role: &str,
    memberships: Memberships,
    suspended: bool,
) -> Result<UserRecord, Failure> {
    check_id("user id", id)?;
    let role = match Role::parse(role) {
        Some(Role::None) | None => {
            return Err(Failure::new(format!(
                "invalid role {}: expected signer, manager or admin",
                quoted(role)
            )));
        }
        Some(role) => role,
    };
    for (what, ids) in [
        ("organization id", &memberships.organization_ids),
        ("company id", &memberships.company_ids),
        ("location id", &memberships.location_ids),
    ] {
        for id in ids {
            check_id(what, id)?;
        }
    }
    Ok(UserRecord {
        user_id: id.to_owned(),
        role,
        memberships,
        suspended,
        clerk: Default::default(),
        revision: 0,
    })
}

/// Fails unless `id` is a valid record id.
pub fn check_id(what: &str, id: &str) -> Result<(), Failure> {
    if is_valid_id(id) {
        Ok(())
    } else {
        Err(Failure::new(format!(
            "invalid {what} {}: use 1 to 128 letters, digits, _ or -",
            quoted(id)
        )))
    }
}

/// A user-supplied value for a message: JSON-quoted, cut short, on one line.
pub fn quoted(text: &str) -> String {
    let short: String = text.chars().take(64).collect();
    serde_json::to_string(&short).unwrap_or_default()
}

/// A user record as `users get` prints it (fields in this order).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserJson<'a> {
    user_id: &'a str,
    role: &'static str,
    organization_ids: &'a [String],
    company_ids: &'a [String],
    location_ids: &'a [String],
    /// The operator's suspension (`--suspended`).
    suspended: bool,
    /// What Clerk's webhooks reported, once any did (README "Clerk webhooks").
    #[serde(skip_serializing_if = "Option::is_none")]
    clerk: Option<ClerkJson>,
}

/// Clerk's side of a record, as `users get` prints it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClerkJson {
    suspended: bool,
    deleted: bool,
    /// The newest Clerk event applied, RFC 3339.
    event_at: Option<String>,
}

/// The record as `users get` prints it.
pub fn user_json(record: &UserRecord) -> UserJson<'_> {
    UserJson {
        user_id: &record.user_id,
        role: record.role.as_str(),
        organization_ids: &record.memberships.organization_ids,
        company_ids: &record.memberships.company_ids,
        location_ids: &record.memberships.location_ids,
        suspended: record.suspended,
        clerk: (record.clerk != gatehouse::store::ClerkStatus::default()).then(|| ClerkJson {
            suspended: record.clerk.suspended,
            deleted: record.clerk.deleted,
            event_at: record
                .clerk
                .event_at
                .map(|ms| gatehouse::time::rfc3339(ms.div_euclid(1000))),
        }),
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
    use serde_json::json;

    #[test]
    fn records_are_validated() {
        let record = user_record(
            "user_1",
            "manager",
            Memberships {
                organization_ids: vec!["org_1".into()],
                ..Memberships::default()
            },
            false,
        )
        .unwrap();
        assert_eq!(
            serde_json::to_value(user_json(&record)).unwrap(),
            json!({"userId": "user_1", "role": "manager", "organizationIds": ["org_1"],
                   "companyIds": [], "locationIds": [], "suspended": false})
        );
        assert_eq!(
            serde_json::to_string(&user_json(&record)).unwrap(),
            r#"{"userId":"user_1","role":"manager","organizationIds":["org_1"],"companyIds":[],"locationIds":[],"suspended":false}"#
        );
        assert!(user_record("user_1", "root", Memberships::default(), false).is_err());
        assert!(user_record("user_1", "none", Memberships::default(), false).is_err());
        assert!(user_record("a,b", "admin", Memberships::default(), false).is_err());
        let bad_org = Memberships {
            organization_ids: vec!["o 1".into()],
            ..Memberships::default()
        };
        let error = user_record("u", "admin", bad_org, false).unwrap_err();
        assert!(error.to_string().contains("organization id"));
    }
}
