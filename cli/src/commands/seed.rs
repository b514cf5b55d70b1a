//! `gatehouse seed <file.json>`: loads organizations, companies, locations, templates, users and
//! signing packages from one JSON file, ids given:
//!
//! ```json
//! {"organizations": [{"id": "org_1", "name": "Acme"}],
//!  "companies": [{"id": "co_1", "organizationId": "org_1", "name": "Acme East"}],
//!  "locations": [{"id": "loc_1", "companyId": "co_1", "name": "Boston"}],
//!  "templates": [{"id": "tpl_1", "organizationId": "org_1", "name": "NDA"}],
//!  "users": [{"id": "user_m", "role": "manager",
//!             "memberships": [{"organizationId": "org_1"}, {"companyId": "co_2"}, {"locationId": "loc_9"}],
//!             "suspended": false}],
//!  "packages": [{"id": "pkg_1", "locationId": "loc_1", "title": "Lease", "signers": ["user_s", "user_c"],
//!                "documents": [{"id": "doc_1", "name": "lease.pdf"}]}]}
//! ```
//!
//! Every list is optional. A location names only its company and a package only its location: the
//! rest of the ancestry is resolved through them, from the same file or, when the parent is not in it,
//! from the store. Companies and templates need their organization the same way. Memberships and
//! signers are user ids and need not exist.
//!
//! Loading is idempotent: each record is created or replaced (a package keeps the `createdAt` it was
//! first stored with). Everything is checked first ([`Seed::parse`] for the file, [`Seed::resolve`]
//! against the store, reads only), so a file with a mistake writes nothing; the failure is one line
//! naming the entry, such as `packages[2].locationId "loc_x": no such location`.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::path::Path;

use gatehouse::clock::{Clock, SystemClock};
use gatehouse::config::Env;
use gatehouse::principal::{Memberships, Role, is_valid_id};
use gatehouse::store::{
    Company, Document, Location, Organization, Package, ResourceStore, Template, UserRecord,
};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::users::quoted;
use super::{print, with_store};
use crate::cli::Failure;
use crate::home::Home;

/// The longest name or title, in characters.
pub const MAX_NAME_CHARS: usize = 200;

/// The file's outer shape: one list per kind, entries checked one by one (so a mistake names its
/// entry).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    organizations: Vec<Value>,
    #[serde(default)]
    companies: Vec<Value>,
    #[serde(default)]
    locations: Vec<Value>,
    #[serde(default)]
    templates: Vec<Value>,
    #[serde(default)]
    users: Vec<Value>,
    #[serde(default)]
    packages: Vec<Value>,
}

/// `organizations[]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OrganizationEntry {
    id: String,
    name: String,
}

/// `companies[]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct CompanyEntry {
    id: String,
    organization_id: String,
    name: String,
}

/// `locations[]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct LocationEntry {
    id: String,
    company_id: String,
    name: String,
}

/// `templates[]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct TemplateEntry {
    id: String,
    organization_id: String,
    name: String,
}

/// `users[]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UserEntry {
    id: String,
    role: String,
    #[serde(default)]
    memberships: Vec<MembershipEntry>,
    #[serde(default)]
    suspended: bool,
}

/// `users[].memberships[]`: exactly one of the three ids.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct MembershipEntry {
    organization_id: Option<String>,
    company_id: Option<String>,
    location_id: Option<String>,
}

/// `packages[]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct PackageEntry {
    id: String,
    location_id: String,
    title: String,
    signers: Vec<String>,
    documents: Vec<DocumentEntry>,
}

/// `packages[].documents[]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DocumentEntry {
    id: String,
    name: String,
}

/// A location as the file gives it: its ancestry is resolved later.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedLocation {
    /// Location id.
    pub id: String,
    /// Company id (in the file or in the store).
    pub company_id: String,
    /// Name.
    pub name: String,
}

/// A package as the file gives it: its ancestry and creation time are resolved later.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedPackage {
    /// Package id.
    pub id: String,
    /// Location id (in the file or in the store).
    pub location_id: String,
    /// Title.
    pub title: String,
    /// Signers' user ids, each once.
    pub signers: Vec<String>,
    /// Documents, ids unique within the package.
    pub documents: Vec<Document>,
}

/// A checked seed file. Organizations, companies, templates and users are complete records; locations
/// and packages still need their ancestry ([`Seed::resolve`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Seed {
    /// Organizations.
    pub organizations: Vec<Organization>,
    /// Companies.
    pub companies: Vec<Company>,
    /// Locations.
    pub locations: Vec<SeedLocation>,
    /// Templates.
    pub templates: Vec<Template>,
    /// Users.
    pub users: Vec<UserRecord>,
    /// Packages.
    pub packages: Vec<SeedPackage>,
}

/// Everything a seed file writes, ancestry resolved.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeedPlan {
    /// Organizations.
    pub organizations: Vec<Organization>,
    /// Companies.
    pub companies: Vec<Company>,
    /// Locations.
    pub locations: Vec<Location>,
    /// Templates.
    pub templates: Vec<Template>,
    /// Users.
    pub users: Vec<UserRecord>,
    /// Packages.
    pub packages: Vec<Package>,
}

/// A failure about one entry (or one of its fields): `<path> <value>: <problem>`.
fn at(path: &str, value: &str, problem: &str) -> Failure {
    Failure::new(format!("{path} {}: {problem}", quoted(value)))
}

/// Checks an id field.
fn check_id(path: &str, id: &str) -> Result<(), Failure> {
    if is_valid_id(id) {
        Ok(())
    } else {
        Err(at(path, id, "use 1 to 128 letters, digits, _ or -"))
    }
}

/// Checks a name or title with the API's one rule ([`gatehouse::text`]), up to [`MAX_NAME_CHARS`].
fn check_name(path: &str, name: &str) -> Result<(), Failure> {
    use gatehouse::text::{TextProblem, check_display_text};
    match check_display_text(name, MAX_NAME_CHARS) {
        Ok(()) => Ok(()),
        Err(TextProblem::Length | TextProblem::Blank) => Err(at(
            path,
            name,
            &format!("use 1 to {MAX_NAME_CHARS} characters, not all blank"),
        )),
        Err(TextProblem::Unprintable) => Err(at(
            path,
            name,
            "control and invisible formatting characters are not allowed",
        )),
    }
}

/// Refuses an id seen before in the same list (`seen` maps ids to the path that first had them).
fn check_unique(seen: &mut HashMap<String, String>, path: &str, id: &str) -> Result<(), Failure> {
    match seen.entry(id.to_owned()) {
        Entry::Occupied(first) => Err(at(
            path,
            id,
            &format!("duplicate id (also {})", first.get()),
        )),
        Entry::Vacant(slot) => {
            slot.insert(path.to_owned());
            Ok(())
        }
    }
}

/// Decodes each entry of one list, naming the entry on failure.
fn entries<T: DeserializeOwned>(kind: &str, values: Vec<Value>) -> Result<Vec<T>, Failure> {
    values
        .into_iter()
        .enumerate()
        .map(|(index, value)| {
            serde_json::from_value(value).map_err(|e| Failure::new(format!("{kind}[{index}]: {e}")))
        })
        .collect()
}

impl Seed {
    /// Parses and checks a seed file without reading the store: the shape (unknown fields refused),
    /// ids, names and titles, roles, memberships, signers, documents, and duplicate ids in each list.
    pub fn parse(text: &str) -> Result<Self, Failure> {
        let invalid = |e: serde_json::Error| Failure::new(format!("invalid seed file: {e}"));
        let value: Value = serde_json::from_str(text).map_err(invalid)?;
        if !value.is_object() {
            return Err(Failure::new(
                "invalid seed file: expected a JSON object of lists",
            ));
        }
        let raw: RawFile = serde_json::from_value(value).map_err(invalid)?;
        let mut seed = Seed::default();

        let mut seen = HashMap::new();
        for (index, entry) in entries::<OrganizationEntry>("organizations", raw.organizations)?
            .into_iter()
            .enumerate()
        {
            let path = format!("organizations[{index}]");
            check_id(&format!("{path}.id"), &entry.id)?;
            check_unique(&mut seen, &format!("{path}.id"), &entry.id)?;
            check_name(&format!("{path}.name"), &entry.name)?;
            seed.organizations.push(Organization {
                id: entry.id,
                name: entry.name,
            });
        }

        let mut seen = HashMap::new();
        for (index, entry) in entries::<CompanyEntry>("companies", raw.companies)?
            .into_iter()
            .enumerate()
        {
            let path = format!("companies[{index}]");
            check_id(&format!("{path}.id"), &entry.id)?;
            check_unique(&mut seen, &format!("{path}.id"), &entry.id)?;
            check_id(&format!("{path}.organizationId"), &entry.organization_id)?;
            check_name(&format!("{path}.name"), &entry.name)?;
            seed.companies.push(Company {
                id: entry.id,
                organization_id: entry.organization_id,
                name: entry.name,
            });
        }

        let mut seen = HashMap::new();
        for (index, entry) in entries::<LocationEntry>("locations", raw.locations)?
            .into_iter()
            .enumerate()
        {
            let path = format!("locations[{index}]");
            check_id(&format!("{path}.id"), &entry.id)?;
            check_unique(&mut seen, &format!("{path}.id"), &entry.id)?;
            check_id(&format!("{path}.companyId"), &entry.company_id)?;
            check_name(&format!("{path}.name"), &entry.name)?;
            seed.locations.push(SeedLocation {
                id: entry.id,
                company_id: entry.company_id,
                name: entry.name,
            });
        }

        let mut seen = HashMap::new();
        for (index, entry) in entries::<TemplateEntry>("templates", raw.templates)?
            .into_iter()
            .enumerate()
        {
            let path = format!("templates[{index}]");
            check_id(&format!("{path}.id"), &entry.id)?;
            check_unique(&mut seen, &format!("{path}.id"), &entry.id)?;
            check_id(&format!("{path}.organizationId"), &entry.organization_id)?;
            check_name(&format!("{path}.name"), &entry.name)?;
            seed.templates.push(Template {
                id: entry.id,
                organization_id: entry.organization_id,
                name: entry.name,
            });
        }

        let mut seen = HashMap::new();
        for (index, entry) in entries::<UserEntry>("users", raw.users)?
            .into_iter()
            .enumerate()
        {
            let path = format!("users[{index}]");
            seed.users.push(user(&path, entry, &mut seen)?);
        }

        let mut seen = HashMap::new();
        for (index, entry) in entries::<PackageEntry>("packages", raw.packages)?
            .into_iter()
            .enumerate()
        {
            let path = format!("packages[{index}]");
            seed.packages.push(package(&path, entry, &mut seen)?);
        }
        Ok(seed)
    }

    /// Resolves the ancestry of companies, locations, templates and packages (from the file first,
    /// then from the store) and the creation time of packages (kept from the store, else `now`).
    /// Reads only: an unknown parent fails naming the entry, and nothing has been written.
    pub async fn resolve<S: ResourceStore>(self, store: &S, now: i64) -> Result<SeedPlan, Failure> {
        let mut lookups = Lookups::default();
        for organization in &self.organizations {
            lookups.organizations.insert(organization.id.clone(), true);
        }
        for company in &self.companies {
            lookups
                .companies
                .insert(company.id.clone(), Some(company.organization_id.clone()));
        }

        let parents = self
            .companies
            .iter()
            .map(|c| ("companies", &c.organization_id))
            .enumerate()
            .chain(
                self.templates
                    .iter()
                    .map(|t| ("templates", &t.organization_id))
                    .enumerate(),
            );
        for (index, (kind, organization_id)) in parents {
            if !lookups.organization(store, organization_id).await? {
                return Err(at(
                    &format!("{kind}[{index}].organizationId"),
                    organization_id,
                    "no such organization",
                ));
            }
        }

        let mut locations = Vec::with_capacity(self.locations.len());
        for (index, location) in self.locations.into_iter().enumerate() {
            let organization_id = lookups
                .company(store, &location.company_id)
                .await?
                .ok_or_else(|| {
                    at(
                        &format!("locations[{index}].companyId"),
                        &location.company_id,
                        "no such company",
                    )
                })?;
            locations.push(Location {
                id: location.id,
                company_id: location.company_id,
                organization_id,
                name: location.name,
            });
        }
        for location in &locations {
            lookups.locations.insert(
                location.id.clone(),
                Some((
                    location.company_id.clone(),
                    location.organization_id.clone(),
                )),
            );
        }

        let mut packages = Vec::with_capacity(self.packages.len());
        for (index, package) in self.packages.into_iter().enumerate() {
            let (company_id, organization_id) = lookups
                .location(store, &package.location_id)
                .await?
                .ok_or_else(|| {
                    at(
                        &format!("packages[{index}].locationId"),
                        &package.location_id,
                        "no such location",
                    )
                })?;
            let created_at = match store.package(&package.id).await? {
                Some(stored) => stored.created_at,
                None => now,
            };
            packages.push(Package {
                id: package.id,
                location_id: package.location_id,
                company_id,
                organization_id,
                title: package.title,
                signers: package.signers,
                documents: package.documents,
                created_at,
            });
        }

        Ok(SeedPlan {
            organizations: self.organizations,
            companies: self.companies,
            locations,
            templates: self.templates,
            users: self.users,
            packages,
        })
    }
}

/// A user entry as a record.
fn user(
    path: &str,
    entry: UserEntry,
    seen: &mut HashMap<String, String>,
) -> Result<UserRecord, Failure> {
    check_id(&format!("{path}.id"), &entry.id)?;
    check_unique(seen, &format!("{path}.id"), &entry.id)?;
    let role = match Role::parse(&entry.role) {
        Some(Role::None) | None => {
            return Err(at(
                &format!("{path}.role"),
                &entry.role,
                "expected signer, manager or admin",
            ));
        }
        Some(role) => role,
    };
    let mut memberships = Memberships::default();
    for (index, membership) in entry.memberships.into_iter().enumerate() {
        let here = format!("{path}.memberships[{index}]");
        let (field, id, list) = match membership {
            MembershipEntry {
                organization_id: Some(id),
                company_id: None,
                location_id: None,
            } => ("organizationId", id, &mut memberships.organization_ids),
            MembershipEntry {
                organization_id: None,
                company_id: Some(id),
                location_id: None,
            } => ("companyId", id, &mut memberships.company_ids),
            MembershipEntry {
                organization_id: None,
                company_id: None,
                location_id: Some(id),
            } => ("locationId", id, &mut memberships.location_ids),
            _ => {
                return Err(Failure::new(format!(
                    "{here}: expected exactly one of organizationId, companyId, locationId"
                )));
            }
        };
        check_id(&format!("{here}.{field}"), &id)?;
        if !list.contains(&id) {
            list.push(id);
        }
    }
    Ok(UserRecord {
        user_id: entry.id,
        role,
        memberships,
        suspended: entry.suspended,
        clerk: Default::default(),
        revision: 0,
    })
}

/// A package entry, checked (its ancestry still to resolve).
fn package(
    path: &str,
    entry: PackageEntry,
    seen: &mut HashMap<String, String>,
) -> Result<SeedPackage, Failure> {
    check_id(&format!("{path}.id"), &entry.id)?;
    check_unique(seen, &format!("{path}.id"), &entry.id)?;
    check_id(&format!("{path}.locationId"), &entry.location_id)?;
    check_name(&format!("{path}.title"), &entry.title)?;
    let max = gatehouse::resources::MAX_ITEMS;
    if entry.signers.is_empty() || entry.signers.len() > max {
        return Err(Failure::new(format!(
            "{path}.signers: expected 1 to {max} signers"
        )));
    }
    let mut signers = HashMap::new();
    for (index, signer) in entry.signers.iter().enumerate() {
        let here = format!("{path}.signers[{index}]");
        check_id(&here, signer)?;
        check_unique(&mut signers, &here, signer)?;
    }
    if entry.documents.is_empty() || entry.documents.len() > max {
        return Err(Failure::new(format!(
            "{path}.documents: expected 1 to {max} documents"
        )));
    }
    let mut documents = Vec::with_capacity(entry.documents.len());
    let mut document_ids = HashMap::new();
    for (index, document) in entry.documents.into_iter().enumerate() {
        let here = format!("{path}.documents[{index}]");
        check_id(&format!("{here}.id"), &document.id)?;
        check_unique(&mut document_ids, &format!("{here}.id"), &document.id)?;
        check_name(&format!("{here}.name"), &document.name)?;
        documents.push(Document {
            id: document.id,
            name: document.name,
        });
    }
    Ok(SeedPackage {
        id: entry.id,
        location_id: entry.location_id,
        title: entry.title,
        signers: entry.signers,
        documents,
    })
}

/// Parents known so far (from the file, then from the store), so each is read at most once.
#[derive(Debug, Default)]
struct Lookups {
    /// Organization id => exists.
    organizations: HashMap<String, bool>,
    /// Company id => its organization id, `None` when it does not exist.
    companies: HashMap<String, Option<String>>,
    /// Location id => its company and organization ids, `None` when it does not exist.
    locations: HashMap<String, Option<(String, String)>>,
}

impl Lookups {
    /// Whether the organization exists.
    async fn organization<S: ResourceStore>(
        &mut self,
        store: &S,
        id: &str,
    ) -> Result<bool, Failure> {
        if let Some(known) = self.organizations.get(id) {
            return Ok(*known);
        }
        let exists = store.organization(id).await?.is_some();
        self.organizations.insert(id.to_owned(), exists);
        Ok(exists)
    }

    /// The company's organization id, if the company exists.
    async fn company<S: ResourceStore>(
        &mut self,
        store: &S,
        id: &str,
    ) -> Result<Option<String>, Failure> {
        if let Some(known) = self.companies.get(id) {
            return Ok(known.clone());
        }
        let organization_id = store.company(id).await?.map(|c| c.organization_id);
        self.companies
            .insert(id.to_owned(), organization_id.clone());
        Ok(organization_id)
    }

    /// The location's company and organization ids, if the location exists.
    async fn location<S: ResourceStore>(
        &mut self,
        store: &S,
        id: &str,
    ) -> Result<Option<(String, String)>, Failure> {
        if let Some(known) = self.locations.get(id) {
            return Ok(known.clone());
        }
        let ancestry = store
            .location(id)
            .await?
            .map(|l| (l.company_id, l.organization_id));
        self.locations.insert(id.to_owned(), ancestry.clone());
        Ok(ancestry)
    }
}

impl SeedPlan {
    /// Writes everything, parents before children (each put an idempotent replace), users last: a
    /// user write projects the memberships into their organizations by reading the companies and
    /// locations, which must exist by then.
    pub async fn write<S: ResourceStore>(&self, store: &S) -> Result<(), Failure> {
        for organization in &self.organizations {
            store.put_organization(organization).await?;
        }
        for company in &self.companies {
            store.put_company(company).await?;
        }
        for location in &self.locations {
            store.put_location(location).await?;
        }
        for template in &self.templates {
            store.put_template(template).await?;
        }
        for package in &self.packages {
            store.put_package(package).await?;
        }
        for user in &self.users {
            store.put_user(user).await?;
        }
        Ok(())
    }

    /// The counts, as in `1 organization, 2 companies, …, 0 packages`.
    pub fn counts(&self) -> String {
        let count =
            |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        [
            count(self.organizations.len(), "organization", "organizations"),
            count(self.companies.len(), "company", "companies"),
            count(self.locations.len(), "location", "locations"),
            count(self.templates.len(), "template", "templates"),
            count(self.users.len(), "user", "users"),
            count(self.packages.len(), "package", "packages"),
        ]
        .join(", ")
    }
}

/// Parses, checks and resolves `text` against `store`, then writes it; what was written.
pub async fn load<S: ResourceStore>(text: &str, store: &S, now: i64) -> Result<SeedPlan, Failure> {
    let plan = Seed::parse(text)?.resolve(store, now).await?;
    plan.write(store).await?;
    Ok(plan)
}

/// Runs `seed`.
pub async fn run<F: Fn(&str) -> Option<String>>(
    file: &Path,
    home: &Home,
    env: &Env<F>,
) -> Result<(), Failure> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| Failure::new(format!("cannot read {}: {e}", file.display())))?;
    // Checked before the store is opened: a malformed file touches no state.
    let seed = Seed::parse(&text)?;
    with_store(home, env, async |target| {
        let plan = seed.resolve(target.store(), SystemClock.now_unix()).await?;
        plan.write(target.store()).await?;
        print(&format!(
            "seeded {} into {}",
            plan.counts(),
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
    use serde_json::json;

    /// The issue's example file.
    fn example() -> Value {
        json!({"organizations": [{"id": "org_1", "name": "Acme"}],
         "companies": [{"id": "co_1", "organizationId": "org_1", "name": "Acme East"}],
         "locations": [{"id": "loc_1", "companyId": "co_1", "name": "Boston"}],
         "templates": [{"id": "tpl_1", "organizationId": "org_1", "name": "NDA"}],
         "users": [{"id": "user_m", "role": "manager", "memberships": [{"organizationId": "org_1"}, {"companyId": "co_2"}, {"locationId": "loc_9"}], "suspended": false}],
         "packages": [{"id": "pkg_1", "locationId": "loc_1", "title": "Lease", "signers": ["user_s", "user_c"], "documents": [{"id": "doc_1", "name": "lease.pdf"}]}]})
    }

    #[test]
    fn parses_the_issue_example() {
        let seed = Seed::parse(&example().to_string()).unwrap();
        assert_eq!(
            seed.organizations,
            [Organization {
                id: "org_1".into(),
                name: "Acme".into()
            }]
        );
        assert_eq!(seed.companies[0].organization_id, "org_1");
        assert_eq!(seed.locations[0].company_id, "co_1");
        assert_eq!(seed.templates[0].organization_id, "org_1");
        let user = &seed.users[0];
        assert_eq!(user.role, Role::Manager);
        assert_eq!(user.memberships.organization_ids, ["org_1"]);
        assert_eq!(user.memberships.company_ids, ["co_2"]);
        assert_eq!(user.memberships.location_ids, ["loc_9"]);
        assert!(!user.suspended);
        assert_eq!(seed.packages[0].signers, ["user_s", "user_c"]);
        assert_eq!(
            seed.packages[0].documents,
            [Document {
                id: "doc_1".into(),
                name: "lease.pdf".into()
            }]
        );
        assert_eq!(Seed::parse("{}").unwrap(), Seed::default());
    }

    #[test]
    fn parses_users_and_memberships() {
        let seed = Seed::parse(
            r#"{"users": [
                {"id": "user_a", "role": "manager",
                 "memberships": [{"organizationId": "org_1"}, {"companyId": "co_1"},
                                 {"locationId": "loc_1"}, {"locationId": "loc_2"}]},
                {"id": "user_b", "role": "signer", "suspended": true}
            ], "organizations": [], "packages": []}"#,
        )
        .unwrap();
        let users = seed.users;
        assert_eq!(users.len(), 2);
        assert_eq!(users[0].memberships.location_ids, ["loc_1", "loc_2"]);
        assert!(users[1].suspended);
        assert!(users[1].memberships.location_ids.is_empty());
    }

    #[test]
    fn refuses_mistakes_naming_the_entry() {
        let long = "x".repeat(201);
        let cases = [
            (
                json!({"users": [{"id": "u", "role": "root"}]}),
                r#"users[0].role "root": expected signer, manager or admin"#,
            ),
            (
                json!({"users": [{"id": "u", "role": "none"}]}),
                "users[0].role",
            ),
            (
                json!({"users": [{"id": "a b", "role": "admin"}]}),
                r#"users[0].id "a b""#,
            ),
            (
                json!({"users": [{"id": "u", "role": "admin", "extra": 1}]}),
                "users[0]: unknown field `extra`",
            ),
            (json!({"userz": []}), "invalid seed file: unknown field"),
            (
                json!({"users": [{"id": "u", "role": "admin", "memberships": [{}]}]}),
                "users[0].memberships[0]: expected exactly one",
            ),
            (
                json!({"users": [{"id": "u", "role": "admin",
                    "memberships": [{"organizationId": "o", "companyId": "c"}]}]}),
                "exactly one",
            ),
            (
                json!({"users": [{"id": "u", "role": "admin",
                    "memberships": [{"locationId": "l,2"}]}]}),
                r#"users[0].memberships[0].locationId "l,2""#,
            ),
            (
                json!({"users": [{"id": "u", "role": "admin"}, {"id": "u", "role": "signer"}]}),
                r#"users[1].id "u": duplicate id (also users[0].id)"#,
            ),
            (
                json!({"organizations": [{"id": "org_1"}]}),
                "organizations[0]: missing field `name`",
            ),
            (
                json!({"organizations": [{"id": "org_1", "name": ""}]}),
                "organizations[0].name",
            ),
            (
                json!({"organizations": [{"id": "org_1", "name": "  "}]}),
                "organizations[0].name",
            ),
            (
                json!({"organizations": [{"id": "org_1", "name": long}]}),
                "organizations[0].name",
            ),
            (
                json!({"organizations": [{"id": "org_1", "name": "a\nb"}]}),
                "control and invisible formatting characters",
            ),
            (
                json!({"organizations": [{"id": "o", "name": "A"}, {"id": "o", "name": "B"}]}),
                "organizations[1].id",
            ),
            (
                json!({"companies": [{"id": "co_1", "organizationId": "org 1", "name": "A"}]}),
                r#"companies[0].organizationId "org 1""#,
            ),
            (
                json!({"companies": [{"id": "co_1", "organizationId": "org_1", "name": "A",
                    "locations": []}]}),
                "companies[0]: unknown field",
            ),
            (
                json!({"locations": [{"id": "loc_1", "companyId": "co_1", "organizationId": "o",
                    "name": "A"}]}),
                "locations[0]: unknown field `organizationId`",
            ),
            (
                json!({"templates": [{"id": "tpl_1", "organizationId": "org_1", "name": 3}]}),
                "templates[0]: invalid type",
            ),
            (json!({"packages": [{}]}), "packages[0]: missing field"),
            (
                json!({"packages": [{"id": "p", "locationId": "l", "title": "T", "signers": [],
                    "documents": [{"id": "d", "name": "d.pdf"}]}]}),
                "packages[0].signers: expected 1 to 50 signers",
            ),
            (
                json!({"packages": [{"id": "p", "locationId": "l", "title": "T",
                    "signers": ["u", "u"], "documents": [{"id": "d", "name": "d.pdf"}]}]}),
                r#"packages[0].signers[1] "u": duplicate id"#,
            ),
            (
                json!({"packages": [{"id": "p", "locationId": "l", "title": "T",
                    "signers": ["u"], "documents": []}]}),
                "packages[0].documents: expected 1 to 50 documents",
            ),
            (
                json!({"packages": [{"id": "p", "locationId": "l", "title": "T",
                    "signers": ["u"], "documents": [{"id": "d", "name": "a"}, {"id": "d", "name": "b"}]}]}),
                "packages[0].documents[1].id",
            ),
            (
                json!({"packages": [{"id": "p", "locationId": "l", "title": "T",
                    "signers": ["u"], "documents": [{"id": "d", "name": "a", "url": "x"}]}]}),
                "packages[0]: unknown field `url`",
            ),
            (
                json!({"packages": [{"id": "p", "locationId": "l", "title": "",
                    "signers": ["u"], "documents": [{"id": "d", "name": "a"}]}]}),
                "packages[0].title",
            ),
            (json!([]), "invalid seed file: expected a JSON object"),
            (json!({"users": {}}), "invalid seed file: invalid type"),
        ];
        for (value, expected) in cases {
            let error = Seed::parse(&value.to_string()).unwrap_err().to_string();
            assert!(error.contains(expected), "{value}: {error}");
            assert!(!error.contains('\n'));
        }
        let error = Seed::parse("[").unwrap_err().to_string();
        assert!(error.starts_with("invalid seed file"), "{error}");
    }

    #[test]
    fn counts_read_naturally() {
        let mut plan = SeedPlan::default();
        assert_eq!(
            plan.counts(),
            "0 organizations, 0 companies, 0 locations, 0 templates, 0 users, 0 packages"
        );
        plan.companies.push(Company {
            id: "c".into(),
            organization_id: "o".into(),
            name: "C".into(),
        });
        assert!(plan.counts().contains("1 company,"));
    }
}
