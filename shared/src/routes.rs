//! The route table: every route function Gatehouse ships, by the name of its Lambda binary, and the
//! handler it runs. The Lambda binaries (`functions/src/bin/<binary>.rs`) and `gatehouse serve` both
//! dispatch through [`handle`], so a route behaves the same deployed and local. Methods and paths are
//! not here: `template.yaml` is their one source of truth (the README's "Put your own route behind
//! Gatehouse" walks through adding one).
//!
//! Every handler starts by reading the caller with [`crate::api::principal_of`] (or
//! [`crate::api::signed_in_user`]), so a caller the authorizer refused never reaches route logic on
//! either API type.

use std::convert::Infallible;

use lambda_http::{Request, service_fn};

use crate::api::{self, ApiResponse};
use crate::resources::{self, ResourceService};
use crate::self_service;
use crate::store::ResourceStore;

/// A route function, named after its binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Route {
    /// `GET /health` (no authorizer).
    Health,
    /// `GET /v1/me`.
    Me,
    /// `POST /v1/me/keys`.
    CreateKey,
    /// `GET /v1/me/keys`.
    ListKeys,
    /// `DELETE /v1/me/keys/{id}`.
    RevokeKey,
    /// `GET /v1/organizations`.
    ListOrganizations,
    /// `GET /v1/organizations/{orgId}`.
    GetOrganization,
    /// `GET /v1/organizations/{orgId}/companies`.
    ListCompanies,
    /// `GET /v1/organizations/{orgId}/locations`.
    ListLocations,
    /// `GET /v1/organizations/{orgId}/templates`.
    ListTemplates,
    /// `GET /v1/locations/{locationId}/packages`.
    ListLocationPackages,
    /// `GET /v1/signing/session`.
    SigningSession,
    /// `GET /v1/signing/packages/{packageId}`.
    GetPackage,
    /// `POST /v1/signing/manager/signings`.
    CreatePackage,
}

/// What a route builds at cold start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    /// Nothing (no configuration, no client).
    Nothing,
    /// The store.
    Store,
    /// The store and the API key pepper (only to create keys).
    StoreAndPepper,
}

/// The name of the authorizer's binary (it is not a route: see [`crate::authorizer`]).
pub const AUTHORIZER_BINARY: &str = "authorizer";

impl Route {
    /// Every route.
    pub const ALL: [Route; 14] = [
        Route::Health,
        Route::Me,
        Route::CreateKey,
        Route::ListKeys,
        Route::RevokeKey,
        Route::ListOrganizations,
        Route::GetOrganization,
        Route::ListCompanies,
        Route::ListLocations,
        Route::ListTemplates,
        Route::ListLocationPackages,
        Route::SigningSession,
        Route::GetPackage,
        Route::CreatePackage,
    ];

    /// The Lambda binary's name: `functions/src/bin/<binary>.rs`, and `BuildProperties.Binary` of
    /// the function in `template.yaml`.
    pub const fn binary(self) -> &'static str {
        match self {
            Route::Health => "health",
            Route::Me => "me",
            Route::CreateKey => "create-key",
            Route::ListKeys => "list-keys",
            Route::RevokeKey => "revoke-key",
            Route::ListOrganizations => "list-organizations",
            Route::GetOrganization => "get-organization",
            Route::ListCompanies => "list-companies",
            Route::ListLocations => "list-locations",
            Route::ListTemplates => "list-templates",
            Route::ListLocationPackages => "list-location-packages",
            Route::SigningSession => "signing-session",
            Route::GetPackage => "get-package",
            Route::CreatePackage => "create-package",
        }
    }

    /// The route whose binary is `name`.
    pub fn from_binary(name: &str) -> Option<Route> {
        Route::ALL.into_iter().find(|route| route.binary() == name)
    }

    /// What the route builds at cold start.
    pub const fn needs(self) -> Needs {
        match self {
            Route::Health => Needs::Nothing,
            Route::CreateKey => Needs::StoreAndPepper,
            _ => Needs::Store,
        }
    }
}

/// Runs `route` for `request`. Every outcome, failures included, is an HTTP response.
pub async fn handle<S: ResourceStore>(
    route: Route,
    service: &ResourceService<S>,
    request: &Request,
) -> ApiResponse {
    let keys = service.keys();
    match route {
        Route::Health => health(),
        Route::Me => self_service::routes::me(keys, request).await,
        Route::CreateKey => self_service::routes::create(keys, request).await,
        Route::ListKeys => self_service::routes::list(keys, request).await,
        Route::RevokeKey => self_service::routes::revoke(keys, request).await,
        Route::ListOrganizations => resources::routes::list_organizations(service, request).await,
        Route::GetOrganization => resources::routes::get_organization(service, request).await,
        Route::ListCompanies => resources::routes::list_companies(service, request).await,
        Route::ListLocations => resources::routes::list_locations(service, request).await,
        Route::ListTemplates => resources::routes::list_templates(service, request).await,
        Route::ListLocationPackages => {
            resources::routes::list_location_packages(service, request).await
        }
        Route::SigningSession => resources::routes::signing_session(service, request).await,
        Route::GetPackage => resources::routes::get_package(service, request).await,
        Route::CreatePackage => resources::routes::create_package(service, request).await,
    }
}

/// Runs a route that needs nothing built ([`Needs::Nothing`]); any other route answers 500, as a
/// function deployed without its configuration would.
pub fn handle_without_store(route: Route, _request: &Request) -> ApiResponse {
    match route {
        Route::Health => health(),
        _ => api::ApiError::NoPrincipal(crate::principal::ContextError::Missing("store"))
            .into_response(),
    }
}

/// `GET /health`: `200 {"status":"ok"}` without touching any dependency, so it says the API and its
/// Lambda integration are up. It sits outside the authorizer (`Auth: NONE` in `template.yaml`).
fn health() -> ApiResponse {
    api::json_response(200, &serde_json::json!({"status": "ok"}))
}

/// Invokes `route` with a raw event exactly as its Lambda binary's runtime loop does, for
/// `gatehouse serve` and the tests: the event is deserialized by `lambda_http` (a REST API payload 1.0
/// or HTTP API payload 2.0 event; anything else is the runtime's deserialization error), the handler
/// runs, and the response is serialized in the format the event came in. This goes through
/// `lambda_http::Adapter`, the adapter `lambda_http::run` itself wraps a handler in (public, if
/// undocumented; `lambda_http` is pinned to one version in the workspace).
pub async fn invoke<S: ResourceStore>(
    route: Route,
    service: &ResourceService<S>,
    event: &[u8],
    context: lambda_runtime::Context,
) -> Result<serde_json::Value, lambda_runtime::Diagnostic> {
    use lambda_http::Service as _;
    let payload: lambda_http::request::LambdaRequest =
        serde_json::from_slice(event).map_err(|error| lambda_runtime::Diagnostic {
            error_type: "&lambda_runtime::deserializer::DeserializeError".to_owned(),
            error_message: format!(
                "failed to deserialize the incoming data into the function's payload type: {error}\n"
            ),
        })?;
    let handler = service_fn(move |request: Request| async move {
        Ok::<_, Infallible>(handle(route, service, &request).await)
    });
    let mut adapter = lambda_http::Adapter::from(handler);
    let response = match adapter
        .call(lambda_runtime::LambdaEvent::new(payload, context))
        .await
    {
        Ok(response) => response,
        Err(never) => match never {},
    };
    serde_json::to_value(response).map_err(|error| lambda_runtime::Diagnostic {
        error_type: "Runtime.SerializationError".to_owned(),
        error_message: format!("cannot serialize the function's response: {error}"),
    })
}

/// A route's Lambda runtime loop over `lambda_http`: REST API and HTTP API events alike become one
/// `http::Request`, and the response goes back in the format the event came in. Only what the route
/// needs is built (`/health` builds nothing).
pub async fn run_lambda(route: Route) -> Result<(), lambda_http::Error> {
    crate::logging::init();
    match route.needs() {
        Needs::Nothing => {
            lambda_http::run(service_fn(move |request: Request| async move {
                Ok::<_, Infallible>(handle_without_store(route, &request))
            }))
            .await
        }
        needs @ (Needs::Store | Needs::StoreAndPepper) => {
            let service = ResourceService::from_env(needs == Needs::StoreAndPepper)
                .await
                .inspect_err(|error| tracing::error!(error = %error, route = route.binary(), "cold start failed"))?;
            let service = &service;
            lambda_http::run(service_fn(move |request: Request| async move {
                Ok::<_, Infallible>(handle(route, service, &request).await)
            }))
            .await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binaries_name_their_routes_once() {
        let mut names: Vec<&str> = Route::ALL.iter().map(|r| r.binary()).collect();
        names.push(AUTHORIZER_BINARY);
        let count = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), count);
        for route in Route::ALL {
            assert_eq!(Route::from_binary(route.binary()), Some(route));
        }
        assert_eq!(Route::from_binary(AUTHORIZER_BINARY), None);
    }
}
