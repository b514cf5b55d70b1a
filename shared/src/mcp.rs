//! The MCP endpoint (`POST /mcp`) and the OAuth protected-resource metadata (RFC 9728) that tells an
//! MCP client where to get a token for it (README, "OAuth access tokens and MCP"; contract section
//! 11).
//!
//! **Why it exists.** AI agents speak the Model Context Protocol, not Gatehouse's REST API. This
//! module puts the read-only REST routes behind one MCP server, as tools, without a second copy of
//! their logic: each tool runs its route's own handler ([`tools`]) for the same caller, so what an
//! agent can see through MCP is exactly what the caller's token can see through REST, by the same
//! code.
//!
//! **Transport.** Streamable HTTP, stateless, plain JSON: every POST is one JSON-RPC message answered
//! by one `application/json` document (never SSE; a notification gets `202` with no body), nothing
//! is kept between POSTs and no `Mcp-Session-Id` is minted. That is what a Lambda behind API
//! Gateway (REST, payload 1.0; HTTP API, payload 2.0) can serve: one buffered request, one buffered
//! response. Both eras of MCP are served ([`protocol`]): legacy clients (`initialize`, then
//! `MCP-Protocol-Version`; 2025-03-26 to 2025-11-25) and modern ones (2026-07-28: per-request
//! `_meta`, `server/discover`, and the `Mcp-Method`/`Mcp-Name` headers, which must agree with the
//! body). `GET` and `DELETE` on `/mcp` are not routed (the gateway answers them).
//!
//! **Why rmcp's model types and not its server.** The official Rust SDK, `rmcp`, gives the wire
//! types used here: JSON-RPC envelopes and errors, protocol versions, `_meta` accessors,
//! `InitializeResult`, `DiscoverResult`, `Tool`, `CallToolResult`, and the legacy/modern result
//! shapes. Its server side (`ServerHandler`, the tool router and `StreamableHttpService`) does not fit
//! a Lambda route handler, for three reasons:
//! - its handlers must be `'static` and run on tasks it spawns, while a route handler here borrows
//!   the function's service and the request (`&ResourceService<S>`, `&Request`), and a tool must run
//!   the REST handler on that very request's context (its authorizer fields);
//! - a handler can only answer JSON-RPC, always HTTP 200, but a missing scope must be an HTTP 403 with
//!   a `WWW-Authenticate` challenge (MCP authorization, "Scope Challenge Handling"), and an expired
//!   credential an HTTP 401 with one;
//! - the transport brings what API Gateway already does or what a stateless function cannot use
//!   (sessions, SSE streams and their keep-alives, a `Host` allow-list defaulting to loopback, body
//!   streaming) and its dependencies (tower, hyper bodies, SSE, uuid, rand), in the one binary that
//!   links this module.
//!
//! So `rmcp` is built with no features (model types only) and this module does the little a
//! stateless server needs: parse one message, check the headers, dispatch five methods. Only the
//! `mcp` and `oauth-protected-resource` binaries link it (each binary links only its route's
//! handler), never the authorizer.
//!
//! **Authentication.** The authorizer has already run: the caller is read with
//! [`crate::api::principal_of`], like every route. A refused caller (the authorizer forwards refusals
//! on `/mcp`) gets the contract's 401 with `WWW-Authenticate: Bearer resource_metadata="<absolute
//! metadata URL>"`; with `MCP_OAUTH_ONLY=true` any caller who is not an OAuth client gets the 401
//! `invalid_token` with the same challenge. A tool whose route answers 403 `insufficient_scope` makes
//! the whole answer an HTTP 403 with the route's body and `WWW-Authenticate: Bearer
//! error="insufficient_scope", scope="<OAuth scopes that grant it>", resource_metadata="…"`; every
//! other refusal of a route (`forbidden`, `not_found`, `signed_in_user_required`, …) is a tool error
//! (`isError`) carrying the route's `{"error","code"}` body, HTTP 200.
//!
//! **Origin.** A request with an `Origin` header other than the API's own origin is refused (403
//! `forbidden`), as the transport asks against DNS rebinding; requests without one (every
//! non-browser client) pass.
//!
//! **Logs.** One line per `tools/call` (tool, outcome, route status, duration), never arguments or
//! tokens.

mod challenge;
mod protocol;
mod tools;

use std::time::Instant;

use lambda_http::Request;
use rmcp::model::{
    CacheScope, CallToolRequestParams, DiscoverResult, ErrorCode, ErrorData, Implementation,
    InitializeRequestParams, InitializeResult, ListToolsResult, PaginatedRequestParams,
    ProtocolVersion, ServerCapabilities, ServerResult, ToolsCapability,
};

use crate::api::{self, ApiError, ApiResponse};
use crate::error::Rejection;
use crate::oauth::{self, ResourceServerConfig};
use crate::principal::AuthType;
use crate::resources::ResourceService;
use crate::store::DirectoryStore;

pub use protocol::SUPPORTED as SUPPORTED_PROTOCOL_VERSIONS;
pub use tools::Tool;

/// The route handlers.
pub mod routes {
    use super::*;

    /// `POST /mcp`.
    pub async fn mcp<S: DirectoryStore>(
        service: &ResourceService<S>,
        request: &Request,
    ) -> ApiResponse {
        super::serve(service, request).await
    }

    /// `GET /.well-known/oauth-protected-resource` and `GET /.well-known/oauth-protected-resource/mcp`
    /// (no authorizer): the RFC 9728 metadata of the whole API, or of the MCP endpoint when the
    /// path ends in `/mcp` (on a REST API's default domain the stage prefixes the path).
    pub async fn protected_resource<S: DirectoryStore>(
        service: &ResourceService<S>,
        request: &Request,
    ) -> ApiResponse {
        let Some(config) = service.resource_server() else {
            return challenge::misconfigured("function built without the resource server settings");
        };
        let Some(base) = challenge::base_url(request, config) else {
            return challenge::misconfigured(
                "no public base URL: the request context names no domain and PUBLIC_BASE_URL is unset",
            );
        };
        let for_mcp = request
            .uri()
            .path()
            .trim_end_matches('/')
            .ends_with(oauth::MCP_PATH);
        let resource = if for_mcp {
            format!("{base}{}", oauth::MCP_PATH)
        } else {
            base
        };
        let document = serde_json::json!({
            "resource": resource,
            "authorization_servers": [config.authorization_server],
            "scopes_supported": config.scope_map.supported(),
            "bearer_methods_supported": ["header"],
            "resource_name": RESOURCE_NAME,
        });
        let mut response = api::json_response(200, &document);
        response.headers_mut().insert(
            http::header::CACHE_CONTROL,
            http::HeaderValue::from_static("max-age=300"),
        );
        response
    }
}

/// `resource_name` of the metadata, and the server's title.
const RESOURCE_NAME: &str = "Gatehouse API";

/// What the server says about itself (`initialize`, `server/discover`).
fn server_config(version: ProtocolVersion) -> InitializeResult {
    let mut capabilities = ServerCapabilities::default();
    capabilities.tools = Some(ToolsCapability::default());
    InitializeResult::new(capabilities)
        .with_protocol_version(version)
        .with_server_info(
            Implementation::new("gatehouse", env!("CARGO_PKG_VERSION")).with_title(RESOURCE_NAME),
        )
        .with_instructions(
            "Gatehouse's API as tools: who the caller is, their API keys, and the organizations, \
             locations and signing packages their role lets them read. Each tool answers what its \
             REST route answers for the same caller; refusals come back as tool errors carrying \
             the route's {\"error\",\"code\"} body.",
        )
}

/// The request's resource context: the settings, and the metadata URL its challenges name when the
/// base URL is known: the API's document (resource: the base URL, which covers `/mcp`), the same URL
/// a REST API's gateway responses name, so a client sees one challenge on both API types (README,
/// "OAuth access tokens and MCP").
struct Resource<'a> {
    config: &'a ResourceServerConfig,
    base: Option<String>,
}

impl Resource<'_> {
    fn metadata_url(&self) -> Option<String> {
        self.base
            .as_deref()
            .map(|base| oauth::resource_metadata_url(base, ""))
    }

    fn unauthenticated(&self, rejection: Rejection) -> ApiResponse {
        challenge::unauthenticated(rejection, self.metadata_url().as_deref())
    }
}

/// `POST /mcp`, start to end.
async fn serve<S: DirectoryStore>(service: &ResourceService<S>, request: &Request) -> ApiResponse {
    // The caller first, as in every route: a refused caller reaches nothing else, and gets its 401
    // even from a function deployed without the resource server's settings (with a bare challenge).
    let config = service.resource_server();
    let resource = config.map(|config| Resource {
        config,
        base: challenge::base_url(request, config),
    });
    let principal = match api::principal_of(request, service.clock().now_unix()) {
        Ok(principal) => principal,
        Err(ApiError::Unauthenticated(rejection)) => {
            return match &resource {
                Some(resource) => resource.unauthenticated(rejection),
                None => ApiError::Unauthenticated(rejection).into_response(),
            };
        }
        Err(other) => return other.into_response(),
    };
    let Some(resource) = resource else {
        return challenge::misconfigured("function built without the resource server settings");
    };
    if resource.base.is_none() {
        tracing::warn!("no public base URL for /mcp: challenges name no resource_metadata");
    }
    if resource.config.mcp_oauth_only && principal.auth_type != AuthType::OAuth {
        return resource.unauthenticated(Rejection::InvalidToken);
    }
    if !challenge::origin_allowed(request, resource.base.as_deref()) {
        return ApiError::Forbidden("origin not allowed".to_owned()).into_response();
    }
    let body = match api::body_text(request) {
        Ok(body) => body,
        Err(ApiError::PayloadTooLarge) => return ApiError::PayloadTooLarge.into_response(),
        Err(_) => {
            let error = ErrorData::new(
                ErrorCode::PARSE_ERROR,
                "Parse error: the body is not UTF-8",
                None,
            );
            return challenge::json_text(400, protocol::error_body(None, error));
        }
    };
    let message = match protocol::parse(&body) {
        Ok(message) => message,
        Err(refusal) => return refused(&refusal),
    };
    let era = match protocol::era(request.headers(), &message) {
        Ok(era) => era,
        Err(refusal) => return refused(&refusal),
    };
    if let Err(refusal) = protocol::check_standard_headers(request.headers(), &message, &era) {
        return refused(&refusal);
    }
    let Some(id) = message.id.clone() else {
        // A notification (`notifications/initialized`, `notifications/cancelled`, …): accepted, and
        // nothing to do for a server that keeps no state.
        return accepted();
    };
    match dispatch(service, request, &resource, &message, &era).await {
        Reply::Result(result) => {
            challenge::json_text(200, protocol::result_body(id, *result, era.modern))
        }
        Reply::Error(error) => {
            // A modern peer gets 404 for an unknown method (Streamable HTTP 2026-07-28); JSON-RPC
            // errors are otherwise HTTP 200.
            let status = if era.modern && error.code == ErrorCode::METHOD_NOT_FOUND {
                404
            } else {
                200
            };
            challenge::json_text(status, protocol::error_body(Some(id), error))
        }
        Reply::Http(response) => response,
    }
}

/// What a request comes to.
enum Reply {
    /// A JSON-RPC result.
    Result(Box<ServerResult>),
    /// A JSON-RPC error.
    Error(ErrorData),
    /// An HTTP answer of its own (a challenge).
    Http(ApiResponse),
}

fn refused(refusal: &protocol::Refusal) -> ApiResponse {
    challenge::json_text(refusal.status, refusal.body())
}

fn accepted() -> ApiResponse {
    let mut response = lambda_http::Response::new(lambda_http::Body::Empty);
    *response.status_mut() = http::StatusCode::ACCEPTED;
    response
}

/// `params` as `T`, or `-32602`.
fn params<T: serde::de::DeserializeOwned + Default>(
    message: &protocol::Message,
    required: bool,
) -> Result<T, ErrorData> {
    match &message.params {
        None if !required => Ok(T::default()),
        None => Err(ErrorData::invalid_params(
            "Invalid params: params are required",
            None,
        )),
        Some(params) => serde_json::from_value(serde_json::Value::Object(params.clone()))
            .map_err(|error| ErrorData::invalid_params(format!("Invalid params: {error}"), None)),
    }
}

async fn dispatch<S: DirectoryStore>(
    service: &ResourceService<S>,
    request: &Request,
    resource: &Resource<'_>,
    message: &protocol::Message,
    era: &protocol::Era,
) -> Reply {
    let outcome = match message.method.as_str() {
        "initialize" => params::<InitializeRequestParams>(message, true).map(|params| {
            ServerResult::InitializeResult(server_config(protocol::negotiate(
                &params.protocol_version,
            )))
        }),
        "ping" => Ok(ServerResult::empty(())),
        "server/discover" => Ok(ServerResult::DiscoverResult(
            DiscoverResult::from_server_info(
                protocol::SUPPORTED.to_vec(),
                server_config(era.version.clone()),
            ),
        )),
        "tools/list" => params::<PaginatedRequestParams>(message, false).and_then(|params| {
            if params.cursor.is_some() {
                // One page holds every tool; there is no cursor to continue from.
                return Err(ErrorData::invalid_params(
                    "Invalid params: invalid cursor",
                    None,
                ));
            }
            let list = ListToolsResult::with_all_items(
                Tool::ALL.into_iter().map(Tool::definition).collect(),
            );
            Ok(ServerResult::ListToolsResult(if era.modern {
                list.with_ttl_ms(300_000)
                    .with_cache_scope(CacheScope::Public)
            } else {
                list
            }))
        }),
        "tools/call" => {
            return match params::<CallToolRequestParams>(message, true) {
                Ok(params) => call_tool(service, request, resource, &params).await,
                Err(error) => Reply::Error(error),
            };
        }
        method => Err(ErrorData::new(
            ErrorCode::METHOD_NOT_FOUND,
            format!(
                "Method not found: {}",
                method.chars().take(64).collect::<String>()
            ),
            None,
        )),
    };
    match outcome {
        Ok(result) => Reply::Result(Box::new(result)),
        Err(error) => Reply::Error(error),
    }
}

/// `tools/call`: runs the tool and logs one line.
async fn call_tool<S: DirectoryStore>(
    service: &ResourceService<S>,
    request: &Request,
    resource: &Resource<'_>,
    params: &CallToolRequestParams,
) -> Reply {
    let started = Instant::now();
    let Some(tool) = Tool::from_name(&params.name) else {
        tracing::info!(tool = "unknown", outcome = "unknown_tool", "mcp tool call");
        return Reply::Error(ErrorData::invalid_params(
            format!(
                "Unknown tool: {}",
                params.name.chars().take(64).collect::<String>()
            ),
            None,
        ));
    };
    let called = tools::call(service, request, tool, params.arguments.as_ref()).await;
    let (outcome, status, reply) = match called {
        tools::Called::Result { result, status } => {
            let outcome = if result.is_error == Some(true) {
                "tool_error"
            } else {
                "ok"
            };
            (
                outcome,
                status,
                Reply::Result(Box::new(ServerResult::CallToolResult(result))),
            )
        }
        tools::Called::Unauthenticated(response) => {
            let rejection = rejection_of(&response);
            (
                "unauthenticated",
                401,
                Reply::Http(resource.unauthenticated(rejection)),
            )
        }
        tools::Called::InsufficientScope { response, scope } => {
            let oauth_scopes = resource.config.scope_map.granting(scope);
            (
                "insufficient_scope",
                403,
                Reply::Http(challenge::insufficient_scope(
                    response,
                    &oauth_scopes,
                    resource.metadata_url().as_deref(),
                )),
            )
        }
    };
    tracing::info!(
        tool = tool.name(),
        outcome,
        status,
        duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        "mcp tool call"
    );
    reply
}

/// The rejection a route's 401 names (its `code`), `invalid_token` when unreadable.
fn rejection_of(response: &ApiResponse) -> Rejection {
    let code = match response.body() {
        lambda_http::Body::Text(text) => serde_json::from_str::<serde_json::Value>(text)
            .ok()
            .and_then(|body| body.get("code")?.as_str().map(str::to_owned)),
        _ => None,
    };
    code.as_deref()
        .and_then(Rejection::from_code)
        .unwrap_or(Rejection::InvalidToken)
}

#[cfg(test)]
mod tests;
