//! The route table: every route function Gatehouse ships, by the name of its Lambda binary, and the
//! handler it runs ([`Route::handler`]). The Lambda binaries (`functions/src/bin/<binary>.rs`, through
//! [`lambda_main`]) and `gatehouse serve` (through [`handle`]) run the same handlers, so a route behaves
//! the same deployed and local. Methods and paths are
//! not here: `template.yaml` is their one source of truth (the README's "Put your own route behind
//! Gatehouse" walks through adding one).
//!
//! Every handler starts by reading the caller with [`crate::api::principal_of`] (or
//! [`crate::api::signed_in_user`]), so a caller the authorizer refused never reaches route logic on
//! either API type.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;

use lambda_http::{Request, service_fn};

use crate::api::{self, ApiResponse};
use crate::resources::{self, ResourceService};
use crate::self_service;
use crate::store::DirectoryStore;
use crate::store::dynamo::DynamoStore;

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
    /// `GET /v1/me/keys/{id}`.
    GetKey,
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
    /// `POST /mcp`: the MCP endpoint (README, "OAuth access tokens and MCP").
    Mcp,
    /// `GET /.well-known/oauth-protected-resource` and `.../mcp` (no authorizer).
    ProtectedResource,
    /// `POST /v1/webhooks/clerk` (no authorizer: Svix signatures; README "Clerk webhooks").
    ClerkWebhook,
    /// `GET /v1/organizations/{orgId}/members`.
    ListMembers,
    /// `PUT /v1/organizations/{orgId}/members/{userId}`.
    PutMember,
    /// `DELETE /v1/organizations/{orgId}/members/{userId}`.
    RemoveMember,
    /// `GET /v1/organizations/{orgId}/audit`.
    ListAudit,
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
    /// The store and the resource server's settings (discovery and `/mcp`).
    StoreAndResourceServer,
    /// The store and the Clerk webhook signing secret (the webhook route).
    StoreAndWebhookSecret,
}

/// The name of the authorizer's binary (it is not a route: see [`crate::authorizer`]).
pub const AUTHORIZER_BINARY: &str = "authorizer";

impl Route {
    /// Every route.
    pub const ALL: [Route; 22] = [
        Route::Health,
        Route::Me,
        Route::CreateKey,
        Route::ListKeys,
        Route::GetKey,
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
        Route::Mcp,
        Route::ProtectedResource,
        Route::ClerkWebhook,
        Route::ListMembers,
        Route::PutMember,
        Route::RemoveMember,
        Route::ListAudit,
    ];

    /// The Lambda binary's name: `functions/src/bin/<binary>.rs`, and `BuildProperties.Binary` of
    /// the function in `template.yaml`.
    pub const fn binary(self) -> &'static str {
        match self {
            Route::Health => "health",
            Route::Me => "me",
            Route::CreateKey => "create-key",
            Route::ListKeys => "list-keys",
            Route::GetKey => "get-key",
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
            Route::Mcp => "mcp",
            Route::ProtectedResource => "oauth-protected-resource",
            Route::ClerkWebhook => "clerk-webhook",
            Route::ListMembers => "list-members",
            Route::PutMember => "put-member",
            Route::RemoveMember => "remove-member",
            Route::ListAudit => "list-audit",
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
            Route::Mcp | Route::ProtectedResource => Needs::StoreAndResourceServer,
            Route::ClerkWebhook => Needs::StoreAndWebhookSecret,
            _ => Needs::Store,
        }
    }
}

/// A route's handler over a store `S`: the request in, every outcome (failures included) an HTTP
/// response out. A plain function pointer, so that a Lambda binary that names one route at compile
/// time (see [`Route::lambda`]) links that route's code and no other.
pub type Handler<S> = for<'a> fn(&'a ResourceService<S>, &'a Request) -> ResponseFuture<'a>;

/// What a [`Handler`] returns.
pub type ResponseFuture<'a> = Pin<Box<dyn Future<Output = ApiResponse> + Send + 'a>>;

impl Route {
    /// The route's handler: the one place a route is bound to its code.
    pub const fn handler<S: DirectoryStore>(self) -> Handler<S> {
        match self {
            Route::Health => |_, _| Box::pin(std::future::ready(health())),
            Route::Me => {
                |service, request| Box::pin(self_service::routes::me(service.keys(), request))
            }
            Route::CreateKey => {
                |service, request| Box::pin(self_service::routes::create(service.keys(), request))
            }
            Route::ListKeys => {
                |service, request| Box::pin(self_service::routes::list(service.keys(), request))
            }
            Route::GetKey => {
                |service, request| Box::pin(self_service::routes::get(service.keys(), request))
            }
            Route::RevokeKey => {
                |service, request| Box::pin(self_service::routes::revoke(service.keys(), request))
            }
            Route::ListOrganizations => {
                |service, request| Box::pin(resources::routes::list_organizations(service, request))
            }
            Route::GetOrganization => {
                |service, request| Box::pin(resources::routes::get_organization(service, request))
            }
            Route::ListCompanies => {
                |service, request| Box::pin(resources::routes::list_companies(service, request))
            }
            Route::ListLocations => {
                |service, request| Box::pin(resources::routes::list_locations(service, request))
            }
            Route::ListTemplates => {
                |service, request| Box::pin(resources::routes::list_templates(service, request))
            }
            Route::ListLocationPackages => |service, request| {
                Box::pin(resources::routes::list_location_packages(service, request))
            },
            Route::SigningSession => {
                |service, request| Box::pin(resources::routes::signing_session(service, request))
            }
            Route::GetPackage => {
                |service, request| Box::pin(resources::routes::get_package(service, request))
            }
            Route::CreatePackage => {
                |service, request| Box::pin(resources::routes::create_package(service, request))
            }
            Route::Mcp => |service, request| Box::pin(crate::mcp::routes::mcp(service, request)),
            Route::ProtectedResource => |service, request| {
                Box::pin(crate::mcp::routes::protected_resource(service, request))
            },
            Route::ClerkWebhook => {
                |service, request| Box::pin(crate::webhooks::routes::clerk(service, request))
            }
            Route::ListMembers => {
                |service, request| Box::pin(crate::members::routes::list_members(service, request))
            }
            Route::PutMember => {
                |service, request| Box::pin(crate::members::routes::put_member(service, request))
            }
            Route::RemoveMember => {
                |service, request| Box::pin(crate::members::routes::remove_member(service, request))
            }
            Route::ListAudit => {
                |service, request| Box::pin(crate::members::routes::list_audit(service, request))
            }
        }
    }

    /// What the route's Lambda binary runs, for [`lambda_main`]. Evaluate it in a `const` block
    /// (`functions/src/bin/*.rs`), so the binary holds this route's handler and nothing else.
    pub const fn lambda(self) -> LambdaRoute {
        LambdaRoute {
            route: self,
            handler: match self.needs() {
                Needs::Nothing => None,
                Needs::Store
                | Needs::StoreAndPepper
                | Needs::StoreAndResourceServer
                | Needs::StoreAndWebhookSecret => Some(self.handler()),
            },
        }
    }
}

/// One route as its Lambda binary runs it ([`Route::lambda`]): the route and, unless it needs
/// nothing built, its handler over DynamoDB.
#[derive(Clone, Copy)]
pub struct LambdaRoute {
    route: Route,
    handler: Option<Handler<DynamoStore>>,
}

impl std::fmt::Debug for LambdaRoute {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LambdaRoute")
            .field("route", &self.route)
            .finish_non_exhaustive()
    }
}

/// Runs `route` for `request`. Every outcome, failures included, is an HTTP response.
pub async fn handle<S: DirectoryStore>(
    route: Route,
    service: &ResourceService<S>,
    request: &Request,
) -> ApiResponse {
    (route.handler::<S>())(service, request).await
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
pub async fn invoke<S: DirectoryStore>(
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

/// A route's Lambda binary: its `main` is this one call, with the route chosen at compile time
/// (`lambda_main(const { Route::Me.lambda() })`). It runs the Lambda runtime loop over `lambda_http`
/// on a single-threaded runtime: REST API and HTTP API events alike become one `http::Request`, and
/// the response goes back in the format the event came in. Only what the route needs is built
/// (`/health` builds nothing). Inlined into each binary's `main`, so the branch not taken, and its
/// code, is not in the binary.
#[inline(always)]
pub fn lambda_main(function: LambdaRoute) -> Result<(), lambda_http::Error> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    crate::logging::init();
    match function.handler {
        None => runtime.block_on(run_without_store(function.route)),
        Some(handler) => runtime.block_on(run_with_store(function.route, handler)),
    }
}

async fn run_without_store(route: Route) -> Result<(), lambda_http::Error> {
    lambda_http::run(service_fn(move |request: Request| async move {
        Ok::<_, Infallible>(handle_without_store(route, &request))
    }))
    .await
}

async fn run_with_store(
    route: Route,
    handler: Handler<DynamoStore>,
) -> Result<(), lambda_http::Error> {
    let service = match route.needs() {
        Needs::StoreAndResourceServer => ResourceService::from_env_with_resource_server().await,
        Needs::StoreAndWebhookSecret => ResourceService::from_env_with_webhooks().await,
        needs => ResourceService::from_env(needs == Needs::StoreAndPepper).await,
    }
    .inspect_err(
        |error| tracing::error!(error = %error, route = route.binary(), "cold start failed"),
    )?;
    let service = &service;
    lambda_http::run(service_fn(move |request: Request| async move {
        Ok::<_, Infallible>(handler(service, &request).await)
    }))
    .await
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
