//! The resource routes (organizations, companies, locations, templates, signing packages): request
//! parsing, the calls to [`crate::access`] that decide, the store reads, and the JSON views. The route
//! table ([`crate::routes`]) dispatches to [`routes`].

use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;

use crate::access::{self, Action, Ancestry, Kind, MembershipMap, Reach};
use crate::api::{self, ApiError, ApiResponse};
use crate::clock::Clock;
use crate::principal::{Principal, is_valid_id};
use crate::self_service::{KeyService, USE_API_KEY_HEADER};
use crate::store::resources::page_of;
use crate::store::{
    Company, CreatePackageError, Cursor, Document, Location, Organization, Package, Page,
    PageRequest, ResourceStore, Template,
};
use lambda_http::Request;

/// Default page size.
pub const DEFAULT_LIMIT: usize = 25;
/// Largest page size a client may ask for.
pub const MAX_LIMIT: usize = 100;

/// A page as the API answers it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListView<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> ListView<T> {
    fn of<U>(page: Page<U>, view: impl Fn(U) -> T) -> Self {
        ListView {
            items: page.items.into_iter().map(view).collect(),
            next_cursor: page.next.map(|c| c.as_str().to_owned()),
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrganizationView {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CompanyView {
    pub id: String,
    pub organization_id: String,
    pub name: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LocationView {
    pub id: String,
    pub company_id: String,
    pub organization_id: String,
    pub name: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TemplateView {
    pub id: String,
    pub organization_id: String,
    pub name: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DocumentView {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PackageView {
    pub id: String,
    pub location_id: String,
    pub company_id: String,
    pub organization_id: String,
    pub title: String,
    pub signers: Vec<String>,
    pub documents: Vec<DocumentView>,
    pub created_at: String,
}

fn organization_view(o: Organization) -> OrganizationView {
    OrganizationView {
        id: o.id,
        name: o.name,
    }
}

fn company_view(c: Company) -> CompanyView {
    CompanyView {
        id: c.id,
        organization_id: c.organization_id,
        name: c.name,
    }
}

fn location_view(l: Location) -> LocationView {
    LocationView {
        id: l.id,
        company_id: l.company_id,
        organization_id: l.organization_id,
        name: l.name,
    }
}

fn template_view(t: Template) -> TemplateView {
    TemplateView {
        id: t.id,
        organization_id: t.organization_id,
        name: t.name,
    }
}

fn package_view(p: Package) -> PackageView {
    PackageView {
        id: p.id,
        location_id: p.location_id,
        company_id: p.company_id,
        organization_id: p.organization_id,
        title: p.title,
        signers: p.signers,
        documents: p
            .documents
            .into_iter()
            .map(|d| DocumentView {
                id: d.id,
                name: d.name,
            })
            .collect(),
        created_at: crate::time::rfc3339(p.created_at),
    }
}

/// `limit` and `cursor` from the query string.
pub fn page_request(request: &Request) -> Result<PageRequest, ApiError> {
    let limit = match api::query_parameter(request, "limit") {
        None => DEFAULT_LIMIT,
        Some(text) => Some(text)
            .filter(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|t| t.parse::<usize>().ok())
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| {
                ApiError::BadRequest(format!(
                    "limit must be a whole number from 1 to {MAX_LIMIT}"
                ))
            })?,
    };
    let after = match api::query_parameter(request, "cursor") {
        None | Some("") => None,
        Some(text) => {
            Some(Cursor::parse(text).ok_or_else(|| ApiError::BadRequest("invalid cursor".into()))?)
        }
    };
    Ok(PageRequest { limit, after })
}

/// The resource routes' logic over a store.
pub struct ResourceService<S> {
    keys: KeyService<S>,
    clock: Arc<dyn Clock>,
    /// What the protected resource says about itself, for the functions that serve discovery and
    /// `/mcp` (read at their cold start; `None` for every other route).
    resource_server: Option<Arc<crate::oauth::ResourceServerConfig>>,
    /// The Clerk webhook's signing secret and settings, for the function that receives Clerk's
    /// webhooks (read at its cold start; `None` for every other route).
    webhooks: Option<Arc<crate::webhooks::WebhookConfig>>,
}

impl<S> std::fmt::Debug for ResourceService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResourceService").finish_non_exhaustive()
    }
}

impl ResourceService<crate::store::dynamo::DynamoStore> {
    /// Cold start of a route function: the key service's configuration (the pepper only when
    /// `needs_pepper`, i.e. for the route that creates keys).
    pub async fn from_env(needs_pepper: bool) -> Result<Self, crate::coldstart::InitError> {
        let keys = KeyService::from_env(needs_pepper).await?;
        Ok(Self::new(keys, Arc::new(crate::clock::SystemClock)))
    }

    /// Cold start of a function that serves OAuth discovery or `/mcp`: as [`Self::from_env`], plus
    /// the resource server's settings ([`crate::oauth::ResourceServerConfig`]).
    pub async fn from_env_with_resource_server() -> Result<Self, crate::coldstart::InitError> {
        let config = crate::oauth::ResourceServerConfig::from_env(&crate::config::process_env())?;
        Ok(Self::from_env(false)
            .await?
            .with_resource_server(Arc::new(config)))
    }

    /// Cold start of the function that receives Clerk's webhooks: as [`Self::from_env`], plus the
    /// signing secret and settings ([`crate::webhooks::WebhookConfig`]).
    pub async fn from_env_with_webhooks() -> Result<Self, crate::coldstart::InitError> {
        // One SDK configuration for both (loading it is most of a cold start's setup).
        let env = crate::config::process_env();
        let sdk = crate::coldstart::sdk_config().await;
        let webhooks = crate::webhooks::WebhookConfig::from_env(&env, &sdk).await?;
        let keys =
            KeyService::from_config(crate::config::RouteConfig::from_env(&env, false)?, &sdk)
                .await?;
        Ok(Self::new(keys, Arc::new(crate::clock::SystemClock)).with_webhooks(Arc::new(webhooks)))
    }
}

impl<S: ResourceStore> ResourceService<S> {
    /// Wraps a key service (for `X-Use-Api-Key` scoping and the store).
    pub fn new(keys: KeyService<S>, clock: Arc<dyn Clock>) -> Self {
        ResourceService {
            keys,
            clock,
            resource_server: None,
            webhooks: None,
        }
    }

    /// Adds the Clerk webhook settings (the webhook route).
    #[must_use]
    pub fn with_webhooks(mut self, config: Arc<crate::webhooks::WebhookConfig>) -> Self {
        self.webhooks = Some(config);
        self
    }

    /// The Clerk webhook settings, `None` in a function that was not built with them.
    pub fn webhooks(&self) -> Option<&crate::webhooks::WebhookConfig> {
        self.webhooks.as_deref()
    }

    /// Adds the resource server's settings (discovery and `/mcp`).
    #[must_use]
    pub fn with_resource_server(mut self, config: Arc<crate::oauth::ResourceServerConfig>) -> Self {
        self.resource_server = Some(config);
        self
    }

    /// The resource server's settings, `None` in a function that was not built with them.
    pub fn resource_server(&self) -> Option<&crate::oauth::ResourceServerConfig> {
        self.resource_server.as_deref()
    }

    /// The clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// The store.
    pub fn store(&self) -> &S {
        self.keys.store()
    }

    /// The key service the key routes run on (same store, same clock).
    pub fn keys(&self) -> &KeyService<S> {
        &self.keys
    }

    /// The caller, scoped to a key as `X-Use-Api-Key` says, and the reach of `action` on `kind`.
    pub(crate) async fn caller(
        &self,
        request: &Request,
        action: Action,
        kind: Kind,
    ) -> Result<(Principal, Reach), ApiError> {
        let (principal, memberships) = self.scoped_caller(request).await?;
        let reach = access::reach(&principal, memberships, action, kind)?;
        Ok((principal, reach))
    }

    /// The caller, scoped to a key as `X-Use-Api-Key` says (and OAuth callers to their default
    /// key), with their memberships (from the context, or the record when the context left them out).
    pub(crate) async fn scoped_caller(
        &self,
        request: &Request,
    ) -> Result<(Principal, crate::principal::Memberships), ApiError> {
        let principal = api::principal_of(request, self.clock.now_unix())?;
        let principal = self
            .keys
            .scoped(principal, api::header(request, USE_API_KEY_HEADER))
            .await?;
        let memberships = access::memberships_of(&principal, self.store()).await?;
        Ok((principal, memberships))
    }

    /// `GET /v1/organizations`.
    pub async fn organizations(
        &self,
        request: &Request,
    ) -> Result<ListView<OrganizationView>, ApiError> {
        let (_, reach) = self
            .caller(request, Action::Read, Kind::Organization)
            .await?;
        let page = page_request(request)?;
        match reach {
            Reach::Everything => Ok(ListView::of(
                self.store().organizations(page).await?,
                organization_view,
            )),
            Reach::Memberships(memberships) => {
                let map = MembershipMap::load(self.store(), &memberships).await?;
                let ids = page_of(
                    map.touched()
                        .into_iter()
                        .map(|id| (id.clone(), id))
                        .collect(),
                    &page,
                );
                let mut items = Vec::with_capacity(ids.items.len());
                for id in &ids.items {
                    if let Some(org) = self.store().organization(id).await? {
                        items.push(organization_view(org));
                    }
                }
                Ok(ListView {
                    items,
                    next_cursor: ids.next.map(|c| c.as_str().to_owned()),
                })
            }
            Reach::Assigned => Err(Kind::Organization.no_access().into()),
        }
    }

    /// Scope over an organization (before existence), then its record (404 when missing).
    async fn organization_in_scope(
        &self,
        request: &Request,
        kind: Kind,
    ) -> Result<(Organization, Option<MembershipMap>), ApiError> {
        let (_, reach) = self.caller(request, Action::Read, kind).await?;
        self.organization_within(request, &reach).await
    }

    /// The request's `{orgId}` within `reach`: scope before existence (a 403 whether or not it
    /// exists), then its record (404). A manager's resolved memberships come back with it.
    pub(crate) async fn organization_within(
        &self,
        request: &Request,
        reach: &Reach,
    ) -> Result<(Organization, Option<MembershipMap>), ApiError> {
        let org_id = api::path_parameter(request, "orgId").unwrap_or_default();
        let map = match reach {
            Reach::Everything => None,
            Reach::Memberships(memberships) => {
                let map = MembershipMap::load(self.store(), memberships).await?;
                if !is_valid_id(org_id) || !map.touches(org_id) {
                    return Err(Kind::Organization.no_access().into());
                }
                Some(map)
            }
            Reach::Assigned => return Err(Kind::Organization.no_access().into()),
        };
        let org = self
            .store()
            .organization(org_id)
            .await?
            .ok_or(ApiError::NotFound("organization"))?;
        Ok((org, map))
    }

    /// `GET /v1/organizations/{orgId}`.
    pub async fn organization(&self, request: &Request) -> Result<OrganizationView, ApiError> {
        let (org, _) = self
            .organization_in_scope(request, Kind::Organization)
            .await?;
        Ok(organization_view(org))
    }

    /// `GET /v1/organizations/{orgId}/companies`: all of them for an organization-level manager and
    /// admins; the member companies inside it for a company-level manager.
    pub async fn companies(&self, request: &Request) -> Result<ListView<CompanyView>, ApiError> {
        let (org, map) = self.organization_in_scope(request, Kind::Company).await?;
        let page = page_request(request)?;
        match map {
            Some(map) if !map.organizations.contains(&org.id) => {
                let ids: Vec<String> = map
                    .companies_by_org
                    .get(&org.id)
                    .map(|set| set.iter().cloned().collect())
                    .unwrap_or_default();
                let companies = self.store().companies_by_ids(&ids).await?;
                let page = page_of(
                    companies.into_iter().map(|c| (c.id.clone(), c)).collect(),
                    &page,
                );
                Ok(ListView::of(page, company_view))
            }
            _ => Ok(ListView::of(
                self.store().companies_of(&org.id, page).await?,
                company_view,
            )),
        }
    }

    /// `GET /v1/organizations/{orgId}/locations`: all of them for an organization-level manager and
    /// admins; the locations of member companies plus member locations otherwise.
    pub async fn locations(&self, request: &Request) -> Result<ListView<LocationView>, ApiError> {
        let (org, map) = self.organization_in_scope(request, Kind::Location).await?;
        let page = page_request(request)?;
        match map {
            Some(map) if !map.organizations.contains(&org.id) => {
                let mut found: Vec<(String, Location)> = Vec::new();
                for company in map.companies_by_org.get(&org.id).into_iter().flatten() {
                    let mut request = PageRequest::first(MAX_LIMIT);
                    loop {
                        let chunk = self.store().locations_of_company(company, request).await?;
                        found.extend(chunk.items.into_iter().map(|l| (sort_key(&l), l)));
                        match chunk.next {
                            Some(next) => request = PageRequest::after(MAX_LIMIT, next),
                            None => break,
                        }
                    }
                }
                for location in map.locations_by_org.get(&org.id).into_iter().flatten() {
                    found.push((sort_key(location), location.clone()));
                }
                found.sort_by(|a, b| a.0.cmp(&b.0));
                found.dedup_by(|a, b| a.0 == b.0);
                Ok(ListView::of(page_of(found, &page), location_view))
            }
            _ => Ok(ListView::of(
                self.store()
                    .locations_of_organization(&org.id, page)
                    .await?,
                location_view,
            )),
        }
    }

    /// `GET /v1/organizations/{orgId}/templates`: an organization's templates, for every manager whose
    /// memberships touch it (packages anywhere in it are made from them) and for admins.
    pub async fn templates(&self, request: &Request) -> Result<ListView<TemplateView>, ApiError> {
        let (org, _) = self.organization_in_scope(request, Kind::Template).await?;
        let page = page_request(request)?;
        Ok(ListView::of(
            self.store().templates_of(&org.id, page).await?,
            template_view,
        ))
    }

    /// Scope over a location (before existence), then its record.
    async fn location_in_scope(
        &self,
        reach: &Reach,
        location_id: &str,
    ) -> Result<Location, ApiError> {
        let memberships = match reach {
            Reach::Everything => {
                return self
                    .store()
                    .location(location_id)
                    .await?
                    .ok_or(ApiError::NotFound("location"));
            }
            Reach::Memberships(memberships) => memberships,
            Reach::Assigned => return Err(Kind::Location.no_access().into()),
        };
        let direct = memberships.location_ids.iter().any(|id| id == location_id);
        match self.store().location(location_id).await? {
            Some(location)
                if direct || access::covers(memberships, Ancestry::of_location(&location)) =>
            {
                Ok(location)
            }
            None if direct => Err(ApiError::NotFound("location")),
            _ => Err(Kind::Location.no_access().into()),
        }
    }

    /// `GET /v1/locations/{locationId}/packages`.
    pub async fn location_packages(
        &self,
        request: &Request,
    ) -> Result<ListView<PackageView>, ApiError> {
        let (_, reach) = self.caller(request, Action::Read, Kind::Location).await?;
        let location_id = api::path_parameter(request, "locationId").unwrap_or_default();
        let location = self.location_in_scope(&reach, location_id).await?;
        let page = page_request(request)?;
        Ok(ListView::of(
            self.store().packages_at(&location.id, page).await?,
            package_view,
        ))
    }

    /// `GET /v1/signing/session`: the caller's own assigned packages.
    pub async fn signing_session(
        &self,
        request: &Request,
    ) -> Result<ListView<PackageView>, ApiError> {
        let (principal, _) = self.caller(request, Action::Read, Kind::Package).await?;
        let page = page_request(request)?;
        let assigned = self
            .store()
            .packages_of_signer(&principal.user_id, page)
            .await?;
        // The signer copies index the assignment; the package record is the truth. Re-read each one
        // so a copy left behind by a re-seed that dropped this signer grants nothing, and the answer
        // shows the package as it is now.
        let mut items = Vec::with_capacity(assigned.items.len());
        for copy in assigned.items {
            if let Some(package) = self.store().package(&copy.id).await?
                && package.signers.contains(&principal.user_id)
            {
                items.push(package_view(package));
            }
        }
        Ok(ListView {
            items,
            next_cursor: assigned.next.map(|c| c.as_str().to_owned()),
        })
    }

    /// `GET /v1/signing/packages/{packageId}`: its signers, a manager whose scope covers its location,
    /// an admin.
    pub async fn package(&self, request: &Request) -> Result<PackageView, ApiError> {
        let (principal, reach) = self.caller(request, Action::Read, Kind::Package).await?;
        let package_id = api::path_parameter(request, "packageId").unwrap_or_default();
        let package = self.store().package(package_id).await?;
        let allowed = match (&reach, &package) {
            (Reach::Everything, None) => return Err(ApiError::NotFound("package")),
            (Reach::Everything, Some(_)) => true,
            (_, None) => false,
            (Reach::Memberships(memberships), Some(package)) => {
                package.signers.contains(&principal.user_id)
                    || access::covers(memberships, Ancestry::of_package(package))
            }
            (Reach::Assigned, Some(package)) => package.signers.contains(&principal.user_id),
        };
        match package {
            Some(package) if allowed => Ok(package_view(package)),
            _ => Err(Kind::Package.no_access().into()),
        }
    }

    /// `POST /v1/signing/manager/signings`.
    pub async fn create_package(&self, request: &Request) -> Result<PackageView, ApiError> {
        let (_, reach) = self.caller(request, Action::Write, Kind::Package).await?;
        let body = NewPackage::from_json(&api::body_text(request)?)?;
        let location = self.location_in_scope(&reach, &body.location_id).await?;
        let package = Package {
            id: prefixed_id("pkg_")?,
            location_id: location.id,
            company_id: location.company_id,
            organization_id: location.organization_id,
            title: body.title,
            signers: body.signer_user_ids,
            documents: body
                .documents
                .into_iter()
                .map(|name| {
                    Ok(Document {
                        id: prefixed_id("doc_")?,
                        name,
                    })
                })
                .collect::<Result<_, ApiError>>()?,
            created_at: self.clock.now_unix(),
        };
        match self.store().create_package(&package).await {
            Ok(()) => Ok(package_view(package)),
            Err(CreatePackageError::Conflict) => Err(ApiError::Random),
            Err(CreatePackageError::Store(error)) => Err(error.into()),
        }
    }
}

/// A location's sort key in an organization listing (company, then id), as the store orders them.
fn sort_key(location: &Location) -> String {
    format!("{}#{}", location.company_id, location.id)
}

/// `pkg_…` / `doc_…` with 22 random base62 characters.
fn prefixed_id(prefix: &str) -> Result<String, ApiError> {
    let key_id = crate::apikey::generate_key_id().map_err(|_| ApiError::Random)?;
    let random = key_id.strip_prefix("k_").unwrap_or(&key_id);
    Ok(format!("{prefix}{random}"))
}

/// Longest package title or document name, in characters.
pub const MAX_TITLE_CHARS: usize = 200;
/// Most signers or documents in one package.
pub const MAX_ITEMS: usize = 50;

/// The validated body of `POST /v1/signing/manager/signings`.
#[derive(Debug)]
pub(crate) struct NewPackage {
    pub(crate) location_id: String,
    pub(crate) title: String,
    pub(crate) signer_user_ids: Vec<String>,
    pub(crate) documents: Vec<String>,
}

impl NewPackage {
    /// Parses and validates the JSON body, saying precisely what is wrong when it can't.
    pub(crate) fn from_json(body: &str) -> Result<Self, ApiError> {
        let bad = |m: &str| ApiError::BadRequest(m.to_owned());
        let value: Value =
            serde_json::from_str(body).map_err(|_| bad("request body is not valid JSON"))?;
        let Value::Object(fields) = value else {
            return Err(bad("request body must be a JSON object"));
        };
        if let Some(unknown) = fields.keys().find(|k| {
            !matches!(
                k.as_str(),
                "locationId" | "title" | "signerUserIds" | "documents"
            )
        }) {
            let shown: String = unknown.chars().take(32).collect();
            return Err(ApiError::BadRequest(format!(
                "unknown field {}; expected locationId, title, signerUserIds, documents",
                serde_json::to_string(&shown).unwrap_or_default()
            )));
        }
        let location_id = match fields.get("locationId") {
            Some(Value::String(id)) if is_valid_id(id) => id.clone(),
            None | Some(Value::Null) => return Err(bad("locationId is required")),
            Some(_) => return Err(bad("locationId must be an id")),
        };
        let text = |value: Option<&Value>, what: &str| -> Result<String, ApiError> {
            match value {
                Some(Value::String(s))
                    if crate::text::check_display_text(s, MAX_TITLE_CHARS).is_ok() =>
                {
                    Ok(s.clone())
                }
                None | Some(Value::Null) => {
                    Err(ApiError::BadRequest(format!("{what} is required")))
                }
                Some(_) => Err(ApiError::BadRequest(format!(
                    "{what} must be 1 to {MAX_TITLE_CHARS} printable characters"
                ))),
            }
        };
        let title = text(fields.get("title"), "title")?;
        let signer_user_ids = match fields.get("signerUserIds") {
            Some(Value::Array(items)) if (1..=MAX_ITEMS).contains(&items.len()) => items
                .iter()
                .map(|item| match item {
                    Value::String(id) if is_valid_id(id) => Ok(id.clone()),
                    _ => Err(bad("signerUserIds must be user ids")),
                })
                .collect::<Result<Vec<_>, _>>()?,
            None | Some(Value::Null) => return Err(bad("signerUserIds is required")),
            Some(_) => {
                return Err(ApiError::BadRequest(format!(
                    "signerUserIds must be an array of 1 to {MAX_ITEMS} user ids"
                )));
            }
        };
        let mut signers: Vec<String> = Vec::with_capacity(signer_user_ids.len());
        for id in signer_user_ids {
            if !signers.contains(&id) {
                signers.push(id);
            }
        }
        let documents = match fields.get("documents") {
            Some(Value::Array(items)) if (1..=MAX_ITEMS).contains(&items.len()) => items
                .iter()
                .map(|item| match item {
                    Value::Object(doc) if doc.keys().all(|k| k == "name") => {
                        text(doc.get("name"), "documents[].name")
                    }
                    _ => Err(bad("documents must be objects with a name")),
                })
                .collect::<Result<Vec<_>, _>>()?,
            None | Some(Value::Null) => return Err(bad("documents is required")),
            Some(_) => {
                return Err(ApiError::BadRequest(format!(
                    "documents must be an array of 1 to {MAX_ITEMS} documents"
                )));
            }
        };
        Ok(NewPackage {
            location_id,
            title,
            signer_user_ids: signers,
            documents,
        })
    }
}

/// The handlers' shape: run the route, render the outcome (errors mapped in [`api`]).
pub mod routes {
    use super::*;

    macro_rules! route {
        ($(#[$doc:meta])* $name:ident, $method:ident, $status:expr) => {
            $(#[$doc])*
            pub async fn $name<S: ResourceStore>(
                service: &ResourceService<S>,
                request: &Request,
            ) -> ApiResponse {
                api::respond(service.$method(request).await.map(|body| ($status, body)))
            }
        };
    }

    route!(/// `GET /v1/organizations`.
        list_organizations, organizations, 200);
    route!(/// `GET /v1/organizations/{orgId}`.
        get_organization, organization, 200);
    route!(/// `GET /v1/organizations/{orgId}/companies`.
        list_companies, companies, 200);
    route!(/// `GET /v1/organizations/{orgId}/locations`.
        list_locations, locations, 200);
    route!(/// `GET /v1/organizations/{orgId}/templates`.
        list_templates, templates, 200);
    route!(/// `GET /v1/locations/{locationId}/packages`.
        list_location_packages, location_packages, 200);
    route!(/// `GET /v1/signing/session`.
        signing_session, signing_session, 200);
    route!(/// `GET /v1/signing/packages/{packageId}`.
        get_package, package, 200);
    route!(/// `POST /v1/signing/manager/signings`.
        create_package, create_package, 201);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_bodies_are_validated() {
        let ok = NewPackage::from_json(
            r#"{"locationId":"loc_1","title":"Lease","signerUserIds":["u_1","u_1","u_2"],"documents":[{"name":"a.pdf"}]}"#,
        )
        .unwrap();
        assert_eq!(ok.signer_user_ids, ["u_1", "u_2"]);
        let cases = [
            ("{", "request body is not valid JSON"),
            ("{}", "locationId is required"),
            (r#"{"locationId":"a b"}"#, "locationId must be an id"),
            (r#"{"locationId":"l"}"#, "title is required"),
            (
                r#"{"locationId":"l","title":""}"#,
                "title must be 1 to 200 printable characters",
            ),
            (
                r#"{"locationId":"l","title":"t"}"#,
                "signerUserIds is required",
            ),
            (
                r#"{"locationId":"l","title":"t","signerUserIds":[]}"#,
                "signerUserIds must be an array of 1 to 50 user ids",
            ),
            (
                r#"{"locationId":"l","title":"t","signerUserIds":["x"]}"#,
                "documents is required",
            ),
            (
                r#"{"locationId":"l","title":"t","signerUserIds":["x"],"documents":[{}]}"#,
                "documents[].name is required",
            ),
            (
                r#"{"locationId":"l","extra":1}"#,
                r#"unknown field "extra"; expected locationId, title, signerUserIds, documents"#,
            ),
        ];
        for (body, message) in cases {
            assert_eq!(
                NewPackage::from_json(body).unwrap_err().to_string(),
                message,
                "{body}"
            );
        }
    }
}
