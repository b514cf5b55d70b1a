//! [`ResourceStore`] on the DynamoDB table (same single table as the keys; no new index, no scans):
//!
//! | item | `pk` | `sk` | `gsi1pk` | `gsi1sk` |
//! |---|---|---|---|---|
//! | organization | `ORG#<id>` | `ORG` | `ORGS` | `ORG#<id>` |
//! | company | `COMPANY#<id>` | `COMPANY` | `ORG#<orgId>` | `COMPANY#<id>` |
//! | location | `LOCATION#<id>` | `LOCATION` | `ORG#<orgId>` | `LOCATION#<companyId>#<id>` |
//! | template | `TEMPLATE#<id>` | `TEMPLATE` | `ORG#<orgId>` | `TEMPLATE#<id>` |
//! | package | `PACKAGE#<id>` | `PACKAGE` | `LOCATION#<locationId>` | `PACKAGE#<id>` |
//! | signer assignment (a copy of the package) | `SIGNER#<userId>` | `PACKAGE#<id>` | – | – |
//!
//! Attributes (camelCase): `id`, `name`, `organizationId`, `companyId`, `locationId`, `title`, `signers`
//! (list of strings), `documents` (list of maps `{id, name}`), `createdAt` (number).
//!
//! - Puts are single `PutItem`s; a package and its signer copies are one `TransactWriteItems` (one put
//!   per distinct signer, so at most 99 signers). `create_package` conditions the package's put on
//!   `attribute_not_exists(pk)`; `put_package` (seeding) has no conditions, so a replacement that drops
//!   a signer leaves that signer's stale copy behind (acceptable for seeding: packages are not edited).
//! - Point lookups are strongly consistent `GetItem`s; lookups by ids are `BatchGetItem`s of at most
//!   100 keys (strongly consistent), retrying `UnprocessedKeys` a bounded number of times.
//! - Listings are `Query`s with `<sk> BETWEEN <prefix><cursor position>! AND <prefix>~` (ids are
//!   `[A-Za-z0-9_-]`: `!` sorts before and `~` after every id character), `Limit` = what is still
//!   wanted (limit + 1, to know whether more follow), following `LastEvaluatedKey`. Signer listings
//!   read the main table (strongly consistent); the others read `gsi1` (eventually consistent).

use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, Put, TransactWriteItem};

use super::{
    DynamoStore, GSI1, Item, Reader, TransactFailure, back_off, build_error, n, s, unavailable,
};
use crate::principal::is_valid_id;
use crate::store::StoreError;
use crate::store::resources::{
    Company, CreatePackageError, Cursor, Document, Location, Organization, Package, Page,
    PageRequest, ResourceStore, Template, check_ids, check_package,
};

const ORG_SK: &str = "ORG";
const COMPANY_SK: &str = "COMPANY";
const LOCATION_SK: &str = "LOCATION";
const TEMPLATE_SK: &str = "TEMPLATE";
const PACKAGE_SK: &str = "PACKAGE";
/// `gsi1pk` of every organization.
const ORGS_GSI1PK: &str = "ORGS";
/// Keys per `BatchGetItem` call (the service maximum).
const BATCH_GET_KEYS: usize = 100;
/// Calls per chunk of a batch lookup before unprocessed keys are an error.
const BATCH_GET_ATTEMPTS: u32 = 8;
/// Items per transaction (the service maximum): the package and 99 signer copies.
const TRANSACTION_ITEMS: usize = 100;

fn org_pk(id: &str) -> String {
    format!("ORG#{id}")
}

fn package_sk(id: &str) -> String {
    format!("PACKAGE#{id}")
}

fn signer_pk(user_id: &str) -> String {
    format!("SIGNER#{user_id}")
}

/// Where a listing reads: the partition and the sort-key prefix its items share.
pub(super) struct Listing {
    /// `gsi1` (eventually consistent) or the main table (strongly consistent).
    pub(super) index: bool,
    pub(super) partition: String,
    pub(super) prefix: String,
}

fn keyed(pk: String, sk: &str, gsi: Option<(String, String)>) -> Item {
    let mut item = Item::new();
    item.insert("pk".into(), AttributeValue::S(pk));
    item.insert("sk".into(), s(sk));
    if let Some((gsi1pk, gsi1sk)) = gsi {
        item.insert("gsi1pk".into(), AttributeValue::S(gsi1pk));
        item.insert("gsi1sk".into(), AttributeValue::S(gsi1sk));
    }
    item
}

/// The item of an organization.
pub fn organization_item(organization: &Organization) -> Item {
    let mut item = keyed(
        org_pk(&organization.id),
        ORG_SK,
        Some((ORGS_GSI1PK.to_owned(), org_pk(&organization.id))),
    );
    item.insert("id".into(), s(&organization.id));
    item.insert("name".into(), s(&organization.name));
    item
}

/// The item of a company.
pub fn company_item(company: &Company) -> Item {
    let mut item = keyed(
        format!("COMPANY#{}", company.id),
        COMPANY_SK,
        Some((
            org_pk(&company.organization_id),
            format!("COMPANY#{}", company.id),
        )),
    );
    item.insert("id".into(), s(&company.id));
    item.insert("organizationId".into(), s(&company.organization_id));
    item.insert("name".into(), s(&company.name));
    item
}

/// The item of a location.
pub fn location_item(location: &Location) -> Item {
    let mut item = keyed(
        format!("LOCATION#{}", location.id),
        LOCATION_SK,
        Some((
            org_pk(&location.organization_id),
            format!("LOCATION#{}#{}", location.company_id, location.id),
        )),
    );
    item.insert("id".into(), s(&location.id));
    item.insert("companyId".into(), s(&location.company_id));
    item.insert("organizationId".into(), s(&location.organization_id));
    item.insert("name".into(), s(&location.name));
    item
}

/// The item of a template.
pub fn template_item(template: &Template) -> Item {
    let mut item = keyed(
        format!("TEMPLATE#{}", template.id),
        TEMPLATE_SK,
        Some((
            org_pk(&template.organization_id),
            format!("TEMPLATE#{}", template.id),
        )),
    );
    item.insert("id".into(), s(&template.id));
    item.insert("organizationId".into(), s(&template.organization_id));
    item.insert("name".into(), s(&template.name));
    item
}

fn package_attributes(item: &mut Item, package: &Package) {
    item.insert("id".into(), s(&package.id));
    item.insert("locationId".into(), s(&package.location_id));
    item.insert("companyId".into(), s(&package.company_id));
    item.insert("organizationId".into(), s(&package.organization_id));
    item.insert("title".into(), s(&package.title));
    item.insert(
        "signers".into(),
        AttributeValue::L(package.signers.iter().map(|id| s(id)).collect()),
    );
    let documents = package
        .documents
        .iter()
        .map(|document| {
            AttributeValue::M(
                [
                    ("id".to_owned(), s(&document.id)),
                    ("name".to_owned(), s(&document.name)),
                ]
                .into_iter()
                .collect(),
            )
        })
        .collect();
    item.insert("documents".into(), AttributeValue::L(documents));
    item.insert("createdAt".into(), n(package.created_at));
}

/// The item of a package.
pub fn package_item(package: &Package) -> Item {
    let mut item = keyed(
        format!("PACKAGE#{}", package.id),
        PACKAGE_SK,
        Some((
            format!("LOCATION#{}", package.location_id),
            package_sk(&package.id),
        )),
    );
    package_attributes(&mut item, package);
    item
}

/// The copy of a package under one of its signers.
pub fn signer_item(package: &Package, user_id: &str) -> Item {
    let mut item = keyed(signer_pk(user_id), &package_sk(&package.id), None);
    package_attributes(&mut item, package);
    item
}

fn reader<'a>(item: &'a Item, key: &'a str) -> Reader<'a> {
    Reader { item, key }
}

/// Parses an organization item.
pub fn parse_organization(item: &Item) -> Result<Organization, StoreError> {
    let r = reader(item, ORG_SK);
    Ok(Organization {
        id: r.string("id")?,
        name: r.string("name")?,
    })
}

/// Parses a company item.
pub fn parse_company(item: &Item) -> Result<Company, StoreError> {
    let r = reader(item, COMPANY_SK);
    Ok(Company {
        id: r.string("id")?,
        organization_id: r.string("organizationId")?,
        name: r.string("name")?,
    })
}

/// Parses a location item.
pub fn parse_location(item: &Item) -> Result<Location, StoreError> {
    let r = reader(item, LOCATION_SK);
    Ok(Location {
        id: r.string("id")?,
        company_id: r.string("companyId")?,
        organization_id: r.string("organizationId")?,
        name: r.string("name")?,
    })
}

/// Parses a template item.
pub fn parse_template(item: &Item) -> Result<Template, StoreError> {
    let r = reader(item, TEMPLATE_SK);
    Ok(Template {
        id: r.string("id")?,
        organization_id: r.string("organizationId")?,
        name: r.string("name")?,
    })
}

/// Parses a package item or a signer's copy of one.
pub fn parse_package(item: &Item) -> Result<Package, StoreError> {
    let r = reader(item, PACKAGE_SK);
    let documents = match item.get("documents") {
        None => return Err(r.corrupt("documents missing")),
        Some(AttributeValue::L(values)) => values
            .iter()
            .map(|value| match value {
                AttributeValue::M(map) => {
                    let d = reader(map, PACKAGE_SK);
                    Ok(Document {
                        id: d.string("id")?,
                        name: d.string("name")?,
                    })
                }
                _ => Err(r.corrupt("documents holds a non-map")),
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(r.corrupt("documents is not a list")),
    };
    Ok(Package {
        id: r.string("id")?,
        location_id: r.string("locationId")?,
        company_id: r.string("companyId")?,
        organization_id: r.string("organizationId")?,
        title: r.string("title")?,
        signers: r.ids("signers")?,
        documents,
        created_at: r.number("createdAt")?,
    })
}

/// The `BETWEEN` bounds of a listing's sort key: from just after the cursor's position (or from the
/// prefix itself) to the end of the prefix. Both bounds start with the prefix and the low one sorts
/// first (a position is ids and `#`, which sort between `!` and `~`), so every key in between has the
/// prefix: no cursor reaches outside its listing. (The partition is the listing's, never the
/// cursor's.)
pub(crate) fn sort_key_bounds(prefix: &str, after: Option<&Cursor>) -> (String, String) {
    let low = match after {
        Some(cursor) => format!("{prefix}{}!", cursor.position()),
        None => prefix.to_owned(),
    };
    (low, format!("{prefix}~"))
}

/// `ids` that are ids, each once, in order.
fn distinct_valid(ids: &[String]) -> Vec<&str> {
    let mut distinct: Vec<&str> = Vec::new();
    for id in ids {
        if is_valid_id(id) && !distinct.contains(&id.as_str()) {
            distinct.push(id);
        }
    }
    distinct
}

/// Orders `found` as `wanted` (the ids each record was asked for).
fn in_order<T>(wanted: &[&str], found: Vec<T>, id: impl Fn(&T) -> &str) -> Vec<T> {
    let mut slots: Vec<Option<T>> = wanted.iter().map(|_| None).collect();
    for record in found {
        if let Some(slot) = wanted
            .iter()
            .position(|w| *w == id(&record))
            .and_then(|at| slots.get_mut(at))
        {
            *slot = Some(record);
        }
    }
    slots.into_iter().flatten().collect()
}

impl DynamoStore {
    async fn put(&self, item: Item) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    /// The package and one copy per distinct signer in one transaction; `create`: only if the package
    /// does not exist.
    async fn write_package(
        &self,
        package: &Package,
        create: bool,
    ) -> Result<(), CreatePackageError> {
        check_package(package)?;
        let signers = package.distinct_signers();
        if signers.len() >= TRANSACTION_ITEMS {
            return Err(StoreError::Corrupt {
                key: PACKAGE_SK.to_owned(),
                problem: format!("more than {} signers", TRANSACTION_ITEMS - 1),
            }
            .into());
        }
        let mut builder = Put::builder()
            .table_name(&self.table)
            .set_item(Some(package_item(package)));
        if create {
            builder = builder.condition_expression("attribute_not_exists(pk)");
        }
        let mut items = vec![
            TransactWriteItem::builder()
                .put(builder.build().map_err(build_error)?)
                .build(),
        ];
        for signer in signers {
            let put = Put::builder()
                .table_name(&self.table)
                .set_item(Some(signer_item(package, signer)))
                .build()
                .map_err(build_error)?;
            items.push(TransactWriteItem::builder().put(put).build());
        }
        match self.transact(items, "write package").await {
            Ok(()) => Ok(()),
            Err(TransactFailure::Refused(cancellation)) if create && cancellation.failed(0) => {
                Err(CreatePackageError::Conflict)
            }
            Err(failure) => Err(StoreError::from(failure).into()),
        }
    }

    /// The items at `(pk, sk)` for each key (strongly consistent), in no particular order: chunks of
    /// [`BATCH_GET_KEYS`], unprocessed keys retried with backoff at most [`BATCH_GET_ATTEMPTS`] times.
    /// Keys must be distinct.
    pub(super) async fn batch_get(
        &self,
        keys: Vec<(String, &str)>,
    ) -> Result<Vec<Item>, StoreError> {
        let mut found = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(BATCH_GET_KEYS) {
            let mut pending = KeysAndAttributes::builder()
                .set_keys(Some(
                    chunk
                        .iter()
                        .map(|(pk, sk)| {
                            [("pk".to_owned(), s(pk)), ("sk".to_owned(), s(sk))]
                                .into_iter()
                                .collect()
                        })
                        .collect(),
                ))
                .consistent_read(true)
                .build()
                .map_err(build_error)?;
            let mut attempts = 0;
            loop {
                let mut output = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, pending)
                    .send()
                    .await
                    .map_err(unavailable)?;
                if let Some(items) = output
                    .responses
                    .as_mut()
                    .and_then(|responses| responses.remove(&self.table))
                {
                    found.extend(items);
                }
                let unprocessed = output
                    .unprocessed_keys
                    .as_mut()
                    .and_then(|unprocessed| unprocessed.remove(&self.table))
                    .filter(|rest| !rest.keys.is_empty());
                let Some(rest) = unprocessed else {
                    break;
                };
                attempts += 1;
                if attempts >= BATCH_GET_ATTEMPTS {
                    return Err(StoreError::Unavailable(format!(
                        "batch get: {} keys still unprocessed after {BATCH_GET_ATTEMPTS} attempts",
                        rest.keys.len()
                    )));
                }
                back_off(attempts).await;
                pending = rest;
            }
        }
        Ok(found)
    }

    /// One page of a listing (see the module docs).
    async fn list(
        &self,
        listing: Listing,
        request: &PageRequest,
    ) -> Result<(Vec<Item>, Option<Cursor>), StoreError> {
        let limit = request.clamped_limit();
        let wanted = limit + 1;
        let prefix = &listing.prefix;
        let (low, high) = sort_key_bounds(prefix, request.after.as_ref());
        let (pk_name, sk_name) = if listing.index {
            ("gsi1pk", "gsi1sk")
        } else {
            ("pk", "sk")
        };
        let mut items: Vec<Item> = Vec::with_capacity(wanted);
        let mut start = None;
        loop {
            let remaining = i32::try_from(wanted.saturating_sub(items.len())).unwrap_or(i32::MAX);
            let page_limit = self.page_size.map_or(remaining, |cap| cap.min(remaining));
            let mut query = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression(format!(
                    "{pk_name} = :pk AND {sk_name} BETWEEN :low AND :high"
                ))
                .expression_attribute_values(":pk", s(&listing.partition))
                .expression_attribute_values(":low", s(&low))
                .expression_attribute_values(":high", s(&high))
                .limit(page_limit)
                .set_exclusive_start_key(start);
            query = if listing.index {
                query.index_name(GSI1)
            } else {
                query.consistent_read(true)
            };
            let output = query.send().await.map_err(unavailable)?;
            items.extend(output.items.unwrap_or_default());
            start = output.last_evaluated_key.filter(|key| !key.is_empty());
            if items.len() >= wanted || start.is_none() {
                break;
            }
        }
        let more = items.len() > limit;
        items.truncate(limit);
        let next = match items.last() {
            Some(last) if more => {
                let r = reader(last, sk_name);
                let sort_key = r.string(sk_name)?;
                let position = sort_key
                    .strip_prefix(prefix.as_str())
                    .ok_or_else(|| r.corrupt(format!("{sk_name} lacks the prefix {prefix}")))?;
                Some(Cursor::at(position))
            }
            _ => None,
        };
        Ok((items, next))
    }

    /// [`Self::list`] parsed into a page.
    pub(super) async fn list_parsed<T>(
        &self,
        listing: Listing,
        request: &PageRequest,
        parse: fn(&Item) -> Result<T, StoreError>,
    ) -> Result<Page<T>, StoreError> {
        let (items, next) = self.list(listing, request).await?;
        Ok(Page {
            items: items.iter().map(parse).collect::<Result<_, _>>()?,
            next,
        })
    }

    async fn lookup<T>(
        &self,
        pk: String,
        sk: &str,
        id: &str,
        parse: fn(&Item) -> Result<T, StoreError>,
    ) -> Result<Option<T>, StoreError> {
        if !is_valid_id(id) {
            return Ok(None);
        }
        self.get(pk, sk).await?.as_ref().map(parse).transpose()
    }
}

fn gsi1(partition: String, prefix: &str) -> Listing {
    Listing {
        index: true,
        partition,
        prefix: prefix.to_owned(),
    }
}

impl ResourceStore for DynamoStore {
    async fn put_organization(&self, organization: &Organization) -> Result<(), StoreError> {
        check_ids(ORG_SK, [("id", organization.id.as_str())])?;
        self.put(organization_item(organization)).await
    }

    async fn put_company(&self, company: &Company) -> Result<(), StoreError> {
        check_ids(
            COMPANY_SK,
            [
                ("id", company.id.as_str()),
                ("organizationId", company.organization_id.as_str()),
            ],
        )?;
        self.put(company_item(company)).await
    }

    async fn put_location(&self, location: &Location) -> Result<(), StoreError> {
        check_ids(
            LOCATION_SK,
            [
                ("id", location.id.as_str()),
                ("companyId", location.company_id.as_str()),
                ("organizationId", location.organization_id.as_str()),
            ],
        )?;
        self.put(location_item(location)).await
    }

    async fn put_template(&self, template: &Template) -> Result<(), StoreError> {
        check_ids(
            TEMPLATE_SK,
            [
                ("id", template.id.as_str()),
                ("organizationId", template.organization_id.as_str()),
            ],
        )?;
        self.put(template_item(template)).await
    }

    async fn put_package(&self, package: &Package) -> Result<(), StoreError> {
        match self.write_package(package, false).await {
            Ok(()) => Ok(()),
            Err(CreatePackageError::Store(error)) => Err(error),
            Err(CreatePackageError::Conflict) => Err(StoreError::Unavailable(
                "unconditional package write reported a conflict".into(),
            )),
        }
    }

    async fn create_package(&self, package: &Package) -> Result<(), CreatePackageError> {
        self.write_package(package, true).await
    }

    async fn organization(&self, id: &str) -> Result<Option<Organization>, StoreError> {
        self.lookup(org_pk(id), ORG_SK, id, parse_organization)
            .await
    }

    async fn company(&self, id: &str) -> Result<Option<Company>, StoreError> {
        self.lookup(format!("COMPANY#{id}"), COMPANY_SK, id, parse_company)
            .await
    }

    async fn location(&self, id: &str) -> Result<Option<Location>, StoreError> {
        self.lookup(format!("LOCATION#{id}"), LOCATION_SK, id, parse_location)
            .await
    }

    async fn package(&self, id: &str) -> Result<Option<Package>, StoreError> {
        self.lookup(format!("PACKAGE#{id}"), PACKAGE_SK, id, parse_package)
            .await
    }

    async fn companies_by_ids(&self, ids: &[String]) -> Result<Vec<Company>, StoreError> {
        let wanted = distinct_valid(ids);
        let keys = wanted
            .iter()
            .map(|id| (format!("COMPANY#{id}"), COMPANY_SK))
            .collect();
        let found = self
            .batch_get(keys)
            .await?
            .iter()
            .map(parse_company)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(in_order(&wanted, found, |c| &c.id))
    }

    async fn locations_by_ids(&self, ids: &[String]) -> Result<Vec<Location>, StoreError> {
        let wanted = distinct_valid(ids);
        let keys = wanted
            .iter()
            .map(|id| (format!("LOCATION#{id}"), LOCATION_SK))
            .collect();
        let found = self
            .batch_get(keys)
            .await?
            .iter()
            .map(parse_location)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(in_order(&wanted, found, |l| &l.id))
    }

    async fn organizations(&self, page: PageRequest) -> Result<Page<Organization>, StoreError> {
        self.list_parsed(
            gsi1(ORGS_GSI1PK.to_owned(), "ORG#"),
            &page,
            parse_organization,
        )
        .await
    }

    async fn companies_of(
        &self,
        organization_id: &str,
        page: PageRequest,
    ) -> Result<Page<Company>, StoreError> {
        if !is_valid_id(organization_id) {
            return Ok(Page::empty());
        }
        self.list_parsed(
            gsi1(org_pk(organization_id), "COMPANY#"),
            &page,
            parse_company,
        )
        .await
    }

    async fn locations_of_organization(
        &self,
        organization_id: &str,
        page: PageRequest,
    ) -> Result<Page<Location>, StoreError> {
        if !is_valid_id(organization_id) {
            return Ok(Page::empty());
        }
        self.list_parsed(
            gsi1(org_pk(organization_id), "LOCATION#"),
            &page,
            parse_location,
        )
        .await
    }

    async fn locations_of_company(
        &self,
        company_id: &str,
        page: PageRequest,
    ) -> Result<Page<Location>, StoreError> {
        let Some(company) = self.company(company_id).await? else {
            return Ok(Page::empty());
        };
        self.list_parsed(
            gsi1(
                org_pk(&company.organization_id),
                &format!("LOCATION#{company_id}#"),
            ),
            &page,
            parse_location,
        )
        .await
    }

    async fn templates_of(
        &self,
        organization_id: &str,
        page: PageRequest,
    ) -> Result<Page<Template>, StoreError> {
        if !is_valid_id(organization_id) {
            return Ok(Page::empty());
        }
        self.list_parsed(
            gsi1(org_pk(organization_id), "TEMPLATE#"),
            &page,
            parse_template,
        )
        .await
    }

    async fn packages_at(
        &self,
        location_id: &str,
        page: PageRequest,
    ) -> Result<Page<Package>, StoreError> {
        if !is_valid_id(location_id) {
            return Ok(Page::empty());
        }
        self.list_parsed(
            gsi1(format!("LOCATION#{location_id}"), "PACKAGE#"),
            &page,
            parse_package,
        )
        .await
    }

    async fn packages_of_signer(
        &self,
        user_id: &str,
        page: PageRequest,
    ) -> Result<Page<Package>, StoreError> {
        if !is_valid_id(user_id) {
            return Ok(Page::empty());
        }
        let listing = Listing {
            index: false,
            partition: signer_pk(user_id),
            prefix: "PACKAGE#".to_owned(),
        };
        self.list_parsed(listing, &page, parse_package).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;
    use proptest::prelude::*;

    /// The listings' sort-key prefixes, and anything a prefix could be made of.
    fn prefix() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("ORG#".to_owned()),
            Just("COMPANY#".to_owned()),
            Just("LOCATION#".to_owned()),
            Just("TEMPLATE#".to_owned()),
            Just("PACKAGE#".to_owned()),
            "[A-Z]{1,8}#",
        ]
    }

    /// Cursor text: mostly valid positions (one id, or two joined by `#`), sometimes anything.
    fn cursor_text() -> impl Strategy<Value = String> {
        let id = "[A-Za-z0-9_-]{1,12}";
        prop_oneof![
            id.prop_map(|id| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(id)),
            (id, id).prop_map(|(a, b)| {
                base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{a}#{b}"))
            }),
            ".{0,40}",
            "[A-Za-z0-9_-]{0,40}",
        ]
    }

    proptest! {
        /// Whatever cursor a client sends back, the Query it leads to stays inside its listing: both
        /// bounds keep the prefix, the low one sorts first, so every key between them has the prefix.
        #[test]
        fn a_cursor_never_leaves_its_prefix(prefix in prefix(), text in cursor_text()) {
            let cursor = Cursor::parse(&text);
            let (low, high) = sort_key_bounds(&prefix, cursor.as_ref());
            prop_assert!(low.starts_with(&prefix));
            prop_assert_eq!(&high, &format!("{prefix}~"));
            prop_assert!(low < high, "{low:?} !< {high:?}");
            if cursor.is_none() {
                prop_assert_eq!(&low, &prefix);
            }
        }
    }

    fn package() -> Package {
        Package {
            id: "pkg_1".into(),
            location_id: "loc_1".into(),
            company_id: "co_1".into(),
            organization_id: "org_1".into(),
            title: "Lease".into(),
            signers: vec!["user_s".into(), "user_c".into()],
            documents: vec![Document {
                id: "doc_1".into(),
                name: "lease.pdf".into(),
            }],
            created_at: 1_750_000_000,
        }
    }

    #[test]
    fn resource_items_round_trip() {
        let organization = Organization {
            id: "org_1".into(),
            name: "Acme".into(),
        };
        let item = organization_item(&organization);
        assert_eq!(item["gsi1pk"], s("ORGS"));
        assert_eq!(parse_organization(&item).unwrap(), organization);
        let company = Company {
            id: "co_1".into(),
            organization_id: "org_1".into(),
            name: "East".into(),
        };
        assert_eq!(parse_company(&company_item(&company)).unwrap(), company);
        let location = Location {
            id: "loc_1".into(),
            company_id: "co_1".into(),
            organization_id: "org_1".into(),
            name: "Boston".into(),
        };
        let item = location_item(&location);
        assert_eq!(item["gsi1sk"], s("LOCATION#co_1#loc_1"));
        assert_eq!(parse_location(&item).unwrap(), location);
        let template = Template {
            id: "tpl_1".into(),
            organization_id: "org_1".into(),
            name: "NDA".into(),
        };
        assert_eq!(parse_template(&template_item(&template)).unwrap(), template);
        let item = package_item(&package());
        assert_eq!(item["gsi1pk"], s("LOCATION#loc_1"));
        assert_eq!(parse_package(&item).unwrap(), package());
        let copy = signer_item(&package(), "user_s");
        assert_eq!(copy["pk"], s("SIGNER#user_s"));
        assert_eq!(copy["sk"], s("PACKAGE#pkg_1"));
        assert!(!copy.contains_key("gsi1pk"));
        assert_eq!(parse_package(&copy).unwrap(), package());
    }

    #[test]
    fn corrupt_packages_are_errors() {
        let mut item = package_item(&package());
        item.insert("documents".into(), AttributeValue::L(vec![s("doc")]));
        assert!(parse_package(&item).is_err());
        let mut item = package_item(&package());
        item.insert("signers".into(), AttributeValue::L(vec![s("a b")]));
        assert!(parse_package(&item).is_err());
    }

    #[test]
    fn batch_results_follow_the_request() {
        let asked: Vec<String> = ["b", "x y", "a", "b"].map(String::from).into();
        let wanted = distinct_valid(&asked);
        assert_eq!(wanted, ["b", "a"]);
        let ordered = in_order(&wanted, vec!["a", "b"], |id| id);
        assert_eq!(ordered, ["b", "a"]);
    }
}
