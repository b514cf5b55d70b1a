//! The MCP tools: each one is a REST route, run through the route's own handler
//! ([`crate::routes::Route::handler`]) on a request built from the MCP request, so a tool answers
//! exactly what the route answers for the same caller. The built request carries the MCP request's
//! extensions (its request context, hence the authorizer's fields: the same principal, the same
//! expiry check, the same scoping) and headers (`X-Use-Api-Key` included), with the tool's
//! arguments as the route's path and query parameters. No route logic is copied here.

use std::collections::HashMap;
use std::sync::Arc;

use lambda_http::{Body, Request, RequestExt};
use rmcp::model::{CallToolResult, ContentBlock, JsonObject, ToolAnnotations};
use serde_json::{Value, json};

use crate::api::ApiResponse;
use crate::resources::ResourceService;
use crate::routes::{Handler, Route};
use crate::store::DirectoryStore;

/// One tool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tool {
    /// `GET /v1/me`.
    Whoami,
    /// `GET /v1/me/keys`.
    ListApiKeys,
    /// `GET /v1/organizations`.
    ListOrganizations,
    /// `GET /v1/organizations/{orgId}/locations`.
    ListLocations,
    /// `GET /v1/locations/{locationId}/packages`.
    ListLocationPackages,
    /// `GET /v1/signing/session`.
    ListSigningPackages,
    /// `GET /v1/signing/packages/{packageId}`.
    GetPackage,
}

/// A tool's id argument: its name in the tool's input, the route's path parameter, what it names.
#[derive(Debug, Clone, Copy)]
struct IdArgument {
    name: &'static str,
    path_parameter: &'static str,
    what: &'static str,
}

impl Tool {
    /// Every tool, in the order `tools/list` shows them.
    pub const ALL: [Tool; 7] = [
        Tool::Whoami,
        Tool::ListApiKeys,
        Tool::ListOrganizations,
        Tool::ListLocations,
        Tool::ListLocationPackages,
        Tool::ListSigningPackages,
        Tool::GetPackage,
    ];

    /// The tool's name.
    pub const fn name(self) -> &'static str {
        match self {
            Tool::Whoami => "whoami",
            Tool::ListApiKeys => "list_api_keys",
            Tool::ListOrganizations => "list_organizations",
            Tool::ListLocations => "list_locations",
            Tool::ListLocationPackages => "list_location_packages",
            Tool::ListSigningPackages => "list_signing_packages",
            Tool::GetPackage => "get_package",
        }
    }

    /// The tool called `name`.
    pub fn from_name(name: &str) -> Option<Tool> {
        Tool::ALL.into_iter().find(|tool| tool.name() == name)
    }

    /// The REST route the tool runs.
    pub const fn route(self) -> Route {
        match self {
            Tool::Whoami => Route::Me,
            Tool::ListApiKeys => Route::ListKeys,
            Tool::ListOrganizations => Route::ListOrganizations,
            Tool::ListLocations => Route::ListLocations,
            Tool::ListLocationPackages => Route::ListLocationPackages,
            Tool::ListSigningPackages => Route::SigningSession,
            Tool::GetPackage => Route::GetPackage,
        }
    }

    /// The route's handler, picked at compile time (`const`), so the `mcp` binary links these
    /// routes' code and no other.
    fn handler<S: DirectoryStore>(self) -> Handler<S> {
        match self {
            Tool::Whoami => const { Route::Me.handler::<S>() },
            Tool::ListApiKeys => const { Route::ListKeys.handler::<S>() },
            Tool::ListOrganizations => const { Route::ListOrganizations.handler::<S>() },
            Tool::ListLocations => const { Route::ListLocations.handler::<S>() },
            Tool::ListLocationPackages => const { Route::ListLocationPackages.handler::<S>() },
            Tool::ListSigningPackages => const { Route::SigningSession.handler::<S>() },
            Tool::GetPackage => const { Route::GetPackage.handler::<S>() },
        }
    }

    /// The Gatehouse scope the tool needs (every tool reads).
    pub const fn scope(self) -> &'static str {
        "read"
    }

    const fn id_argument(self) -> Option<IdArgument> {
        match self {
            Tool::ListLocations => Some(IdArgument {
                name: "organizationId",
                path_parameter: "orgId",
                what: "organization",
            }),
            Tool::ListLocationPackages => Some(IdArgument {
                name: "locationId",
                path_parameter: "locationId",
                what: "location",
            }),
            Tool::GetPackage => Some(IdArgument {
                name: "packageId",
                path_parameter: "packageId",
                what: "signing package",
            }),
            _ => None,
        }
    }

    /// Whether the route takes `limit` and `cursor`.
    const fn paginated(self) -> bool {
        matches!(
            self,
            Tool::ListOrganizations
                | Tool::ListLocations
                | Tool::ListLocationPackages
                | Tool::ListSigningPackages
        )
    }

    const fn title(self) -> &'static str {
        match self {
            Tool::Whoami => "Who am I",
            Tool::ListApiKeys => "List my API keys",
            Tool::ListOrganizations => "List organizations",
            Tool::ListLocations => "List an organization's locations",
            Tool::ListLocationPackages => "List a location's signing packages",
            Tool::ListSigningPackages => "List my signing packages",
            Tool::GetPackage => "Get a signing package",
        }
    }

    const fn description(self) -> &'static str {
        match self {
            Tool::Whoami => {
                "The caller as Gatehouse sees them (GET /v1/me): userId, authType, role, keyId, \
                 scopes, clientId and memberships (organizationIds, companyIds, locationIds)."
            }
            Tool::ListApiKeys => {
                "The caller's API keys, newest first, metadata only (GET /v1/me/keys). Signed-in \
                 users only: API keys and OAuth clients get signed_in_user_required."
            }
            Tool::ListOrganizations => {
                "The organizations the caller may see (GET /v1/organizations): every one for an \
                 admin, those a manager's memberships touch. A page of {id, name} with nextCursor."
            }
            Tool::ListLocations => {
                "An organization's locations the caller may see (GET \
                 /v1/organizations/{orgId}/locations), by company then id, with nextCursor."
            }
            Tool::ListLocationPackages => {
                "The signing packages at a location (GET /v1/locations/{locationId}/packages), \
                 for managers in scope and admins, with nextCursor."
            }
            Tool::ListSigningPackages => {
                "The signing packages the caller is a signer of (GET /v1/signing/session), with \
                 nextCursor."
            }
            Tool::GetPackage => {
                "One signing package (GET /v1/signing/packages/{packageId}): for its signers, \
                 managers whose scope covers its location, and admins."
            }
        }
    }

    /// The JSON Schema of the tool's arguments.
    fn input_schema(self) -> JsonObject {
        let mut properties = JsonObject::new();
        let mut required = Vec::new();
        if let Some(id) = self.id_argument() {
            properties.insert(
                id.name.to_owned(),
                json!({
                    "type": "string",
                    "description": format!("The {} id.", id.what),
                    "pattern": "^[A-Za-z0-9_-]{1,128}$"
                }),
            );
            required.push(id.name);
        }
        if self.paginated() {
            properties.insert(
                "limit".to_owned(),
                json!({"type": "integer", "minimum": 1, "maximum": crate::resources::MAX_LIMIT,
                       "description": format!("Items per page (default {}).",
                                              crate::resources::DEFAULT_LIMIT)}),
            );
            properties.insert(
                "cursor".to_owned(),
                json!({"type": "string",
                       "description": "nextCursor of the previous page, for the next one."}),
            );
        }
        let mut schema = JsonObject::new();
        schema.insert("type".to_owned(), Value::from("object"));
        schema.insert("properties".to_owned(), Value::Object(properties));
        if !required.is_empty() {
            schema.insert("required".to_owned(), json!(required));
        }
        schema.insert("additionalProperties".to_owned(), Value::Bool(false));
        schema
    }

    /// The tool as `tools/list` describes it.
    pub fn definition(self) -> rmcp::model::Tool {
        rmcp::model::Tool::new(
            self.name(),
            self.description(),
            Arc::new(self.input_schema()),
        )
        .with_title(self.title())
        .with_annotations(
            ToolAnnotations::with_title(self.title())
                .read_only(true)
                .destructive(false)
                .idempotent(true)
                .open_world(false),
        )
    }

    /// The route's path and query parameters from the tool's arguments, or what is wrong with them
    /// (a `bad_request` message, as the route would word it).
    fn parameters(self, arguments: Option<&JsonObject>) -> Result<Parameters, String> {
        let empty = JsonObject::new();
        let arguments = arguments.unwrap_or(&empty);
        let id = self.id_argument();
        let known = |name: &str| {
            id.is_some_and(|id| id.name == name)
                || (self.paginated() && matches!(name, "limit" | "cursor"))
        };
        if let Some(unknown) = arguments.keys().find(|name| !known(name)) {
            let shown: String = unknown.chars().take(32).collect();
            let expected = self.expected_arguments();
            return Err(format!(
                "unknown argument {}; {}",
                serde_json::to_string(&shown).unwrap_or_default(),
                if expected.is_empty() {
                    String::from("this tool takes none")
                } else {
                    format!("expected {}", expected.join(", "))
                }
            ));
        }
        let mut parameters = Parameters::default();
        if let Some(id) = id {
            match arguments.get(id.name) {
                Some(Value::String(value)) => {
                    parameters
                        .path
                        .insert(id.path_parameter.to_owned(), value.clone());
                }
                None | Some(Value::Null) => return Err(format!("{} is required", id.name)),
                Some(_) => return Err(format!("{} must be a string", id.name)),
            }
        }
        if self.paginated() {
            match arguments.get("limit") {
                None | Some(Value::Null) => {}
                // The route validates the value, as it does a query string's.
                Some(Value::Number(limit)) => {
                    parameters
                        .query
                        .insert("limit".to_owned(), limit.to_string());
                }
                Some(Value::String(limit)) => {
                    parameters.query.insert("limit".to_owned(), limit.clone());
                }
                Some(_) => {
                    return Err(format!(
                        "limit must be a whole number from 1 to {}",
                        crate::resources::MAX_LIMIT
                    ));
                }
            }
            match arguments.get("cursor") {
                None | Some(Value::Null) => {}
                Some(Value::String(cursor)) => {
                    parameters.query.insert("cursor".to_owned(), cursor.clone());
                }
                Some(_) => return Err("cursor must be a string".to_owned()),
            }
        }
        Ok(parameters)
    }

    fn expected_arguments(self) -> Vec<&'static str> {
        let mut names: Vec<&'static str> =
            self.id_argument().map(|id| id.name).into_iter().collect();
        if self.paginated() {
            names.extend(["limit", "cursor"]);
        }
        names
    }
}

/// A route's path and query parameters.
#[derive(Debug, Default)]
struct Parameters {
    path: HashMap<String, String>,
    query: HashMap<String, String>,
}

/// What a tool call comes to.
#[derive(Debug)]
pub enum Called {
    /// A tool result: the route's 2xx body, or its refusal as a tool error.
    Result {
        /// The result.
        result: CallToolResult,
        /// The route's status (0 when the arguments were refused before it ran).
        status: u16,
    },
    /// The route refused the caller's credential (401: it expired since the endpoint read it): the
    /// endpoint answers with the challenge.
    Unauthenticated(ApiResponse),
    /// The route refused for a missing scope (403 `insufficient_scope`): the endpoint answers HTTP 403
    /// with the route's body and the challenge naming `scope` (a Gatehouse scope).
    InsufficientScope {
        /// The route's answer.
        response: ApiResponse,
        /// The Gatehouse scope it needs.
        scope: &'static str,
    },
}

/// Runs `tool` with `arguments` for the caller of `request` (the MCP request).
pub async fn call<S: DirectoryStore>(
    service: &ResourceService<S>,
    request: &Request,
    tool: Tool,
    arguments: Option<&JsonObject>,
) -> Called {
    let parameters = match tool.parameters(arguments) {
        Ok(parameters) => parameters,
        Err(message) => {
            let body = crate::error::error_body(&message, "bad_request");
            return Called::Result {
                result: tool_result(&body, true),
                status: 0,
            };
        }
    };
    let route_request = route_request(request, parameters);
    let response = (tool.handler::<S>())(service, &route_request).await;
    let status = response.status().as_u16();
    let body = body_text(&response);
    match status {
        200..=299 => Called::Result {
            result: tool_result(&body, false),
            status,
        },
        401 => Called::Unauthenticated(response),
        403 if error_code(&body).as_deref() == Some("insufficient_scope") => {
            Called::InsufficientScope {
                scope: missing_scope(&body).unwrap_or(tool.scope()),
                response,
            }
        }
        _ => Called::Result {
            result: tool_result(&body, true),
            status,
        },
    }
}

/// The request the route sees: `GET`, the MCP request's headers and extensions (request context,
/// authorizer fields), and the tool's parameters in place of the MCP request's.
fn route_request(request: &Request, parameters: Parameters) -> Request {
    let mut route_request = Request::new(Body::Empty);
    *route_request.method_mut() = http::Method::GET;
    *route_request.headers_mut() = request.headers().clone();
    route_request
        .headers_mut()
        .remove(http::header::CONTENT_LENGTH);
    route_request
        .headers_mut()
        .remove(http::header::CONTENT_TYPE);
    *route_request.extensions_mut() = request.extensions().clone();
    route_request
        .with_path_parameters(parameters.path)
        .with_query_string_parameters(parameters.query)
}

/// A route's body as text.
fn body_text(response: &ApiResponse) -> String {
    match response.body() {
        Body::Text(text) => text.clone(),
        Body::Binary(bytes) => String::from_utf8_lossy(bytes).into_owned(),
        _ => String::new(),
    }
}

/// The `code` of a contract error body.
fn error_code(body: &str) -> Option<String> {
    let value: Value = serde_json::from_str(body).ok()?;
    value.get("code")?.as_str().map(str::to_owned)
}

/// The Gatehouse scope named by an `insufficient_scope` message (`this api key does not have the
/// <scope> scope`).
fn missing_scope(body: &str) -> Option<&'static str> {
    let value: Value = serde_json::from_str(body).ok()?;
    let message = value.get("error")?.as_str()?;
    let scope = message
        .strip_prefix("this api key does not have the ")?
        .strip_suffix(" scope")?;
    match scope {
        "read" => Some("read"),
        "write" => Some("write"),
        _ => None,
    }
}

/// A tool result holding the route's JSON body both as structured content and as text (clients
/// that read only `content` see the same JSON).
fn tool_result(body: &str, is_error: bool) -> CallToolResult {
    let structured = serde_json::from_str::<Value>(body).unwrap_or_else(|_| Value::from(body));
    let content = vec![ContentBlock::text(body)];
    let mut result = if is_error {
        CallToolResult::error(content)
    } else {
        CallToolResult::success(content)
    };
    result.structured_content = Some(structured);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_schemas_require_ids() {
        for tool in Tool::ALL {
            assert_eq!(Tool::from_name(tool.name()), Some(tool));
            let definition = serde_json::to_value(tool.definition()).unwrap();
            assert_eq!(definition["name"], tool.name());
            assert_eq!(definition["inputSchema"]["type"], "object");
            assert_eq!(definition["annotations"]["readOnlyHint"], true);
            let required = definition["inputSchema"]["required"].clone();
            match tool.id_argument() {
                Some(id) => assert_eq!(required, json!([id.name])),
                None => assert!(required.is_null()),
            }
            assert_eq!(
                definition["inputSchema"]["properties"]["limit"].is_object(),
                tool.paginated()
            );
        }
        assert_eq!(Tool::from_name("delete_everything"), None);
    }

    #[test]
    fn arguments_become_route_parameters() {
        let args = |value: Value| value.as_object().cloned().unwrap();
        let p = Tool::ListLocations
            .parameters(Some(&args(
                json!({"organizationId": "org_1", "limit": 5, "cursor": "abc"}),
            )))
            .unwrap();
        assert_eq!(p.path.get("orgId").map(String::as_str), Some("org_1"));
        assert_eq!(p.query.get("limit").map(String::as_str), Some("5"));
        assert_eq!(p.query.get("cursor").map(String::as_str), Some("abc"));
        assert!(Tool::Whoami.parameters(None).unwrap().path.is_empty());
        let refused = |tool: Tool, value: Value| tool.parameters(Some(&args(value))).unwrap_err();
        assert_eq!(
            refused(Tool::GetPackage, json!({})),
            "packageId is required"
        );
        assert_eq!(
            refused(Tool::GetPackage, json!({"packageId": 3})),
            "packageId must be a string"
        );
        assert_eq!(
            refused(Tool::Whoami, json!({"x": 1})),
            r#"unknown argument "x"; this tool takes none"#
        );
        assert_eq!(
            refused(Tool::ListOrganizations, json!({"limit": true})),
            "limit must be a whole number from 1 to 100"
        );
        assert_eq!(
            refused(Tool::ListLocations, json!({"orgId": "org_1"})),
            r#"unknown argument "orgId"; expected organizationId, limit, cursor"#
        );
    }

    #[test]
    fn scope_messages_name_the_scope() {
        let body = crate::error::error_body("this api key does not have the write scope", "x");
        assert_eq!(missing_scope(&body), Some("write"));
        assert_eq!(missing_scope(r#"{"error":"nope"}"#), None);
        assert_eq!(
            error_code(r#"{"code":"forbidden"}"#).as_deref(),
            Some("forbidden")
        );
    }
}
