//! The resources the API serves (organizations, companies, locations, templates and signing packages)
//! and [`ResourceStore`], the store behind the resource routes: idempotent puts (seeding), one
//! conditional create (a new package and its signer assignments, atomically), strongly consistent point
//! lookups, batched lookups by id, and keyset-paged listings.
//!
//! Listings are ordered by id (locations of an organization: by company id, then id) and paged with an
//! opaque [`Cursor`]: base64url (no padding) of the last returned item's sort-key suffix (`<id>`, or
//! `<companyId>#<id>` for the locations of an organization). A page holds at most `limit` items and
//! carries a cursor exactly when more items follow. Ids that are not ids ([`is_valid_id`]) are never
//! read: lookups answer `None`, listings an empty page.

use std::future::Future;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::{KeyStore, StoreError};
use crate::principal::is_valid_id;

/// The largest page a listing returns, whatever the request says.
pub const MAX_PAGE_LIMIT: usize = 100;

/// An organization, the root of the hierarchy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organization {
    pub id: String,
    pub name: String,
}

/// A company inside an organization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Company {
    pub id: String,
    pub organization_id: String,
    pub name: String,
}

/// A location inside a company (and so inside the company's organization).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub id: String,
    pub company_id: String,
    pub organization_id: String,
    pub name: String,
}

/// A document template of an organization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pub id: String,
    pub organization_id: String,
    pub name: String,
}

/// One document of a signing package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    pub id: String,
    pub name: String,
}

/// A signing package at a location, with its signers (Clerk user ids) and documents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Package {
    pub id: String,
    pub location_id: String,
    pub company_id: String,
    pub organization_id: String,
    pub title: String,
    pub signers: Vec<String>,
    pub documents: Vec<Document>,
    /// Creation, Unix seconds.
    pub created_at: i64,
}

impl Package {
    /// The signers, each once, in order of first appearance.
    pub fn distinct_signers(&self) -> Vec<&str> {
        let mut distinct: Vec<&str> = Vec::with_capacity(self.signers.len());
        for signer in &self.signers {
            if !distinct.contains(&signer.as_str()) {
                distinct.push(signer);
            }
        }
        distinct
    }
}

/// One page, ordered by id (for locations of an organization: by company id, then id). `next` is the
/// cursor of the following page, `None` on the last one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<Cursor>,
}

impl<T> Page<T> {
    /// A page with nothing on it and nothing after it.
    pub fn empty() -> Self {
        Self {
            items: Vec::new(),
            next: None,
        }
    }
}

/// An opaque position in a listing: base64url (no padding) of the last item's sort-key suffix (`<id>`
/// or `<companyId>#<id>`). [`Cursor::parse`] rejects anything else.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Cursor(String);

impl Cursor {
    /// A cursor from its text (as a client sends it back), or `None` unless it is the canonical
    /// base64url (no padding) encoding of one id or of two ids joined by `#`.
    pub fn parse(text: &str) -> Option<Self> {
        let decoded = URL_SAFE_NO_PAD.decode(text).ok()?;
        let position = String::from_utf8(decoded).ok()?;
        if !is_position(&position) || URL_SAFE_NO_PAD.encode(&position) != text {
            return None;
        }
        Some(Self(text.to_owned()))
    }

    /// The cursor's text, as handed to clients.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The cursor after the item whose sort-key suffix is `position`.
    pub(crate) fn at(position: &str) -> Self {
        Self(URL_SAFE_NO_PAD.encode(position))
    }

    /// The sort-key suffix this cursor stands for.
    pub(crate) fn position(&self) -> String {
        URL_SAFE_NO_PAD
            .decode(&self.0)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .unwrap_or_default()
    }
}

impl std::fmt::Display for Cursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether `position` is one id or two ids joined by `#`.
fn is_position(position: &str) -> bool {
    let mut parts = position.split('#');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(one), None, None) => is_valid_id(one),
        (Some(one), Some(two), None) => is_valid_id(one) && is_valid_id(two),
        _ => false,
    }
}

/// Which page of a listing to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    /// Items per page, 1 to [`MAX_PAGE_LIMIT`] (validated by the caller; the store clamps).
    pub limit: usize,
    /// Start after this position; `None` for the first page.
    pub after: Option<Cursor>,
}

impl PageRequest {
    /// The first page of `limit` items.
    pub fn first(limit: usize) -> Self {
        Self { limit, after: None }
    }

    /// The page of `limit` items after `cursor`.
    pub fn after(limit: usize, cursor: Cursor) -> Self {
        Self {
            limit,
            after: Some(cursor),
        }
    }

    /// The limit clamped to 1..=[`MAX_PAGE_LIMIT`].
    pub(crate) fn clamped_limit(&self) -> usize {
        self.limit.clamp(1, MAX_PAGE_LIMIT)
    }
}

/// The page `request` selects from `entries` (sort-key suffix, item) in any order: the entries after
/// the cursor, ascending by suffix, at most the limit, with a cursor when more follow. The in-memory
/// store's paging, identical to a DynamoDB `Query` between `prefix + position + "!"` and `prefix + "~"`
/// for suffixes made of ids and `#`. The resource routes page merged membership listings with it too.
pub(crate) fn page_of<T>(mut entries: Vec<(String, T)>, request: &PageRequest) -> Page<T> {
    let after = request.after.as_ref().map(Cursor::position);
    entries.retain(|(suffix, _)| after.as_ref().is_none_or(|after| suffix > after));
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    let limit = request.clamped_limit();
    let more = entries.len() > limit;
    entries.truncate(limit);
    let next = if more {
        entries.last().map(|(suffix, _)| Cursor::at(suffix))
    } else {
        None
    };
    Page {
        items: entries.into_iter().map(|(_, item)| item).collect(),
        next,
    }
}

/// Why a package could not be created.
#[derive(Debug, thiserror::Error)]
pub enum CreatePackageError {
    /// A package with this id exists; nothing was written.
    #[error("package exists")]
    Conflict,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The resource data behind the resource routes (on top of the key store: one store serves both).
///
/// Puts are idempotent replaces (seeding) and refuse records whose ids are not ids
/// ([`StoreError::Corrupt`]). Lookups and listings take ids from requests: one that is not an id is
/// answered with `None` or an empty page, without a read.
pub trait ResourceStore: KeyStore {
    /// Creates or replaces an organization.
    fn put_organization(
        &self,
        organization: &Organization,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Creates or replaces a company.
    fn put_company(&self, company: &Company)
    -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Creates or replaces a location.
    fn put_location(
        &self,
        location: &Location,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Creates or replaces a template.
    fn put_template(
        &self,
        template: &Template,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Creates or replaces a package and its assignment to each of its signers (seeding). A signer
    /// dropped by a replacement keeps its stale assignment (it is not looked up, only overwritten).
    fn put_package(&self, package: &Package)
    -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Creates a new package and its signer assignments in one transaction; fails
    /// [`CreatePackageError::Conflict`] (writing nothing) when the id exists.
    fn create_package(
        &self,
        package: &Package,
    ) -> impl Future<Output = Result<(), CreatePackageError>> + Send;

    /// One organization (strongly consistent).
    fn organization(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Option<Organization>, StoreError>> + Send;

    /// One company (strongly consistent).
    fn company(&self, id: &str)
    -> impl Future<Output = Result<Option<Company>, StoreError>> + Send;

    /// One location (strongly consistent).
    fn location(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Option<Location>, StoreError>> + Send;

    /// One package (strongly consistent).
    fn package(&self, id: &str)
    -> impl Future<Output = Result<Option<Package>, StoreError>> + Send;

    /// The companies among `ids` that exist, each once, in the order of `ids` (strongly consistent;
    /// invalid and missing ids are skipped).
    fn companies_by_ids(
        &self,
        ids: &[String],
    ) -> impl Future<Output = Result<Vec<Company>, StoreError>> + Send;

    /// The locations among `ids` that exist, each once, in the order of `ids` (strongly consistent;
    /// invalid and missing ids are skipped).
    fn locations_by_ids(
        &self,
        ids: &[String],
    ) -> impl Future<Output = Result<Vec<Location>, StoreError>> + Send;

    /// All organizations, by id.
    fn organizations(
        &self,
        page: PageRequest,
    ) -> impl Future<Output = Result<Page<Organization>, StoreError>> + Send;

    /// The companies of an organization, by id.
    fn companies_of(
        &self,
        organization_id: &str,
        page: PageRequest,
    ) -> impl Future<Output = Result<Page<Company>, StoreError>> + Send;

    /// The locations of an organization, by company id, then id.
    fn locations_of_organization(
        &self,
        organization_id: &str,
        page: PageRequest,
    ) -> impl Future<Output = Result<Page<Location>, StoreError>> + Send;

    /// The locations of a company, by id (empty when the company does not exist).
    fn locations_of_company(
        &self,
        company_id: &str,
        page: PageRequest,
    ) -> impl Future<Output = Result<Page<Location>, StoreError>> + Send;

    /// The templates of an organization, by id.
    fn templates_of(
        &self,
        organization_id: &str,
        page: PageRequest,
    ) -> impl Future<Output = Result<Page<Template>, StoreError>> + Send;

    /// The packages at a location, by id.
    fn packages_at(
        &self,
        location_id: &str,
        page: PageRequest,
    ) -> impl Future<Output = Result<Page<Package>, StoreError>> + Send;

    /// The packages a user is a signer of, by id (strongly consistent).
    fn packages_of_signer(
        &self,
        user_id: &str,
        page: PageRequest,
    ) -> impl Future<Output = Result<Page<Package>, StoreError>> + Send;
}

/// Refuses to store a record with an id that is not an id (it could not be read back by key).
pub(crate) fn check_ids<'a>(
    kind: &str,
    ids: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Result<(), StoreError> {
    for (field, id) in ids {
        if !is_valid_id(id) {
            return Err(StoreError::Corrupt {
                key: kind.to_owned(),
                problem: format!("{field} is not 1 to 128 characters of [A-Za-z0-9_-]"),
            });
        }
    }
    Ok(())
}

/// [`check_ids`] for a package: its own id, its ancestry and its signers.
pub(crate) fn check_package(package: &Package) -> Result<(), StoreError> {
    check_ids(
        "PACKAGE",
        [
            ("id", package.id.as_str()),
            ("locationId", package.location_id.as_str()),
            ("companyId", package.company_id.as_str()),
            ("organizationId", package.organization_id.as_str()),
        ]
        .into_iter()
        .chain(package.signers.iter().map(|s| ("signers", s.as_str()))),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        for position in ["org_1", "co_1#loc_1", "A-z_9"] {
            let cursor = Cursor::at(position);
            assert_eq!(Cursor::parse(cursor.as_str()), Some(cursor.clone()));
            assert_eq!(cursor.position(), position);
        }
        let two_hashes = URL_SAFE_NO_PAD.encode("a#b#c");
        let space = URL_SAFE_NO_PAD.encode("a b");
        let padded = format!("{}=", Cursor::at("org_12").as_str());
        for garbage in [
            "",
            "!!!",
            "b3JnXzE=",
            padded.as_str(),
            two_hashes.as_str(),
            space.as_str(),
            "b3JnXzF",
        ] {
            assert_eq!(Cursor::parse(garbage), None, "{garbage:?}");
        }
    }

    #[test]
    fn pages_are_ordered_and_cut_after_the_cursor() {
        let entries = |ids: &[&str]| -> Vec<(String, String)> {
            ids.iter()
                .map(|id| (id.to_string(), id.to_string()))
                .collect()
        };
        let all = entries(&["c", "a", "b", "b0"]);
        let first = page_of(all.clone(), &PageRequest::first(2));
        assert_eq!(first.items, ["a", "b"]);
        let second = page_of(all.clone(), &PageRequest::after(2, first.next.unwrap()));
        assert_eq!(second.items, ["b0", "c"]);
        assert_eq!(second.next, None);
        assert_eq!(page_of(all, &PageRequest::first(0)).items.len(), 1);
    }

    #[test]
    fn distinct_signers_keep_first_appearance() {
        let package = Package {
            id: "p".into(),
            location_id: "l".into(),
            company_id: "c".into(),
            organization_id: "o".into(),
            title: "t".into(),
            signers: vec!["b".into(), "a".into(), "b".into()],
            documents: vec![],
            created_at: 0,
        };
        assert_eq!(package.distinct_signers(), ["b", "a"]);
    }
}
