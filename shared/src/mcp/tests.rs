//! `POST /mcp` and the metadata documents through their route handlers, over a memory store, with
//! the request context of a REST API (payload 1.0) and of an HTTP API (payload 2.0) event.
//!
//! The whole file is test code: `mcp.rs` declares it `#[cfg(test)] mod tests;`.

use std::sync::Arc;

use http::header::{CONTENT_TYPE, WWW_AUTHENTICATE};
use lambda_http::{Body, Request};
use serde_json::{Value, json};

use super::*;
use crate::clock::FixedClock;
use crate::oauth::ScopeMap;
use crate::principal::{Memberships, Role};
use crate::routes::Route;
use crate::self_service::KeyService;
use crate::store::memory::MemoryStore;
use crate::store::{Document, Location, Organization, Package, UserRecord};

const NOW: i64 = 1_800_000_000;
const METADATA: &str = "https://abcdef1234.execute-api.us-east-1.amazonaws.com/prod/.well-known/oauth-protected-resource";
const HTTP_API_METADATA: &str =
    "https://abcdef1234.execute-api.us-east-1.amazonaws.com/.well-known/oauth-protected-resource";

#[derive(Debug, Clone, Copy, PartialEq)]
enum Api {
    Rest,
    Http,
}

fn config(scope_map: ScopeMap, mcp_oauth_only: bool) -> ResourceServerConfig {
    ResourceServerConfig {
        public_base_url: None,
        authorization_server: "https://clerk.example.com".to_owned(),
        scope_map,
        mcp_oauth_only,
    }
}

async fn service_with(config: Option<ResourceServerConfig>) -> ResourceService<MemoryStore> {
    use crate::store::ResourceStore as _;
    let store = MemoryStore::new();
    for (id, name) in [("org_demo", "Demo"), ("org_other", "Other")] {
        store
            .put_organization(&Organization {
                id: id.into(),
                name: name.into(),
            })
            .await
            .unwrap();
    }
    store
        .put_company(&crate::store::Company {
            id: "co_east".into(),
            organization_id: "org_demo".into(),
            name: "East".into(),
        })
        .await
        .unwrap();
    store
        .put_location(&Location {
            id: "loc_1".into(),
            company_id: "co_east".into(),
            organization_id: "org_demo".into(),
            name: "Boston".into(),
        })
        .await
        .unwrap();
    for (id, signer) in [("pkg_mine", "user_signer"), ("pkg_theirs", "user_other")] {
        store
            .put_package(&Package {
                id: id.into(),
                location_id: "loc_1".into(),
                company_id: "co_east".into(),
                organization_id: "org_demo".into(),
                title: "Lease".into(),
                signers: vec![signer.into()],
                documents: vec![Document {
                    id: format!("doc_{id}"),
                    name: "lease.pdf".into(),
                }],
                created_at: NOW - 100,
            })
            .await
            .unwrap();
    }
    for (id, role, organization_ids) in [
        ("user_admin", Role::Admin, vec![]),
        ("user_manager", Role::Manager, vec!["org_demo".to_owned()]),
        ("user_signer", Role::Signer, vec![]),
    ] {
        store.put_user(UserRecord {
            user_id: id.into(),
            role,
            memberships: Memberships {
                organization_ids,
                ..Memberships::default()
            },
            suspended: false,
            clerk: Default::default(),
            revision: 0,
        });
    }
    let clock = Arc::new(FixedClock::at(NOW));
    let service = ResourceService::new(
        KeyService::from_parts(
            store,
            crate::apikey::ApiKeyPrefix::default_prefix(),
            None,
            clock.clone(),
        ),
        clock,
    );
    match config {
        Some(config) => service.with_resource_server(Arc::new(config)),
        None => service,
    }
}

async fn service() -> ResourceService<MemoryStore> {
    service_with(Some(config(ScopeMap::default(), false))).await
}

/// The authorizer context of a caller.
fn caller(user: &str, auth_type: &str, role: &str, scopes: &str) -> Value {
    let organization_ids = if role == "manager" { "org_demo" } else { "" };
    json!({
        "principalId": user, "userId": user, "authType": auth_type, "role": role,
        "keyId": if auth_type == "api_key" { "k_test" } else { "" },
        "scopes": scopes,
        "sessionId": if auth_type == "session" { "sess_1" } else { "" },
        "clientId": if auth_type == "oauth" { "client_1" } else { "" },
        "organizationIds": organization_ids, "companyIds": "", "locationIds": "",
        "clerkOrgId": "", "clerkOrgRole": "", "membershipsOmitted": "false",
        "expiresAt": (NOW + 3600).to_string()
    })
}

/// An API Gateway event for `method path` with the authorizer `context` (none when `Null`).
#[allow(clippy::too_many_arguments)]
fn event(
    api: Api,
    method: &str,
    path: &str,
    context: &Value,
    headers: &[(&str, &str)],
    body: Option<&str>,
    path_parameters: Value,
    query: Value,
) -> Request {
    let headers: serde_json::Map<String, Value> = headers
        .iter()
        .map(|(name, value)| (name.to_ascii_lowercase(), Value::from(*value)))
        .collect();
    let domain = "abcdef1234.execute-api.us-east-1.amazonaws.com";
    let event = match api {
        Api::Rest => {
            let mut event = json!({
                "httpMethod": method, "path": path, "resource": path, "headers": headers,
                "pathParameters": path_parameters, "queryStringParameters": query,
                "requestContext": {"httpMethod": method, "stage": "prod", "requestId": "r",
                    "accountId": "1", "resourcePath": path, "apiId": "abcdef1234",
                    "domainName": domain, "identity": {}},
                "body": body, "isBase64Encoded": false
            });
            if !context.is_null() {
                event["requestContext"]["authorizer"] = context.clone();
            }
            event
        }
        Api::Http => {
            let raw_query: Vec<String> = query
                .as_object()
                .map(|fields| {
                    fields
                        .iter()
                        .map(|(name, value)| format!("{name}={}", value.as_str().unwrap()))
                        .collect()
                })
                .unwrap_or_default();
            let mut event = json!({
                "version": "2.0", "routeKey": format!("{method} {path}"), "rawPath": path,
                "rawQueryString": raw_query.join("&"), "headers": headers,
                "pathParameters": path_parameters, "queryStringParameters": query,
                "requestContext": {"accountId": "1", "apiId": "abcdef1234", "domainName": domain,
                    "http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                             "sourceIp": "198.51.100.7", "userAgent": "t"},
                    "requestId": "r", "routeKey": format!("{method} {path}"), "stage": "$default",
                    "time": "03/Dec/2026:10:00:00 +0000", "timeEpoch": 0},
                "body": body, "isBase64Encoded": false
            });
            if !context.is_null() {
                let mut lambda = context.clone();
                if let Some(fields) = lambda.as_object_mut() {
                    fields.remove("principalId");
                }
                event["requestContext"]["authorizer"] = json!({"lambda": lambda});
            }
            event
        }
    };
    lambda_http::request::from_str(&event.to_string()).unwrap()
}

/// `POST /mcp` with `body`.
fn post(api: Api, context: &Value, headers: &[(&str, &str)], body: &str) -> Request {
    let mut all = vec![("content-type", "application/json")];
    all.extend_from_slice(headers);
    event(
        api,
        "POST",
        "/mcp",
        context,
        &all,
        Some(body),
        Value::Null,
        Value::Null,
    )
}

fn rpc(id: u64, method: &str, params: Value) -> String {
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}).to_string()
}

fn call(name: &str, arguments: Value) -> String {
    rpc(
        1,
        "tools/call",
        json!({"name": name, "arguments": arguments}),
    )
}

struct Answer {
    status: u16,
    headers: http::HeaderMap,
    text: String,
    json: Value,
}

async fn send(service: &ResourceService<MemoryStore>, request: Request) -> Answer {
    let response = routes::mcp(service, &request).await;
    answer(response)
}

fn answer(response: ApiResponse) -> Answer {
    let text = match response.body() {
        Body::Text(text) => text.clone(),
        Body::Empty => String::new(),
        other => panic!("unexpected body {other:?}"),
    };
    Answer {
        status: response.status().as_u16(),
        headers: response.headers().clone(),
        json: serde_json::from_str(&text).unwrap_or(Value::Null),
        text,
    }
}

fn metadata_for(api: Api) -> &'static str {
    match api {
        Api::Rest => METADATA,
        Api::Http => HTTP_API_METADATA,
    }
}

#[tokio::test]
async fn a_session_runs_the_whole_protocol_on_both_api_types() {
    let service = service().await;
    let admin = caller("user_admin", "session", "admin", "read,write");
    for api in [Api::Rest, Api::Http] {
        let init = send(
            &service,
            post(
                api,
                &admin,
                &[],
                &rpc(
                    1,
                    "initialize",
                    json!({"protocolVersion": "2025-06-18", "capabilities": {},
                           "clientInfo": {"name": "test", "version": "1"}}),
                ),
            ),
        )
        .await;
        assert_eq!(init.status, 200, "{}", init.text);
        assert_eq!(init.headers[CONTENT_TYPE], "application/json");
        assert!(init.headers.get("mcp-session-id").is_none());
        let result = &init.json["result"];
        assert_eq!(init.json["id"], 1);
        assert_eq!(result["protocolVersion"], "2025-06-18");
        assert_eq!(result["serverInfo"]["name"], "gatehouse");
        assert!(result["capabilities"]["tools"].is_object());
        assert!(result.get("resultType").is_none());

        let newer = send(
            &service,
            post(
                api,
                &admin,
                &[],
                &rpc(
                    2,
                    "initialize",
                    json!({"protocolVersion": "2099-01-01", "capabilities": {},
                           "clientInfo": {"name": "test", "version": "1"}}),
                ),
            ),
        )
        .await;
        assert_eq!(newer.json["result"]["protocolVersion"], "2025-11-25");

        let initialized = send(
            &service,
            post(
                api,
                &admin,
                &[("mcp-protocol-version", "2025-06-18")],
                r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
            ),
        )
        .await;
        assert_eq!((initialized.status, initialized.text.as_str()), (202, ""));

        let ping = send(&service, post(api, &admin, &[], &rpc(3, "ping", json!({})))).await;
        assert_eq!(ping.json, json!({"jsonrpc": "2.0", "id": 3, "result": {}}));

        let list = send(
            &service,
            post(
                api,
                &admin,
                &[("mcp-protocol-version", "2025-06-18")],
                &rpc(4, "tools/list", json!({})),
            ),
        )
        .await;
        let names: Vec<&str> = list.json["result"]["tools"]
            .as_array()
            .unwrap()
            .iter()
            .map(|tool| tool["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "whoami",
                "list_api_keys",
                "list_organizations",
                "list_locations",
                "list_location_packages",
                "list_signing_packages",
                "get_package"
            ]
        );

        let whoami = send(&service, post(api, &admin, &[], &call("whoami", json!({})))).await;
        let result = &whoami.json["result"];
        assert_eq!(result["isError"], false);
        assert_eq!(result["structuredContent"]["userId"], "user_admin");
        assert_eq!(result["structuredContent"]["authType"], "session");
        let text: Value =
            serde_json::from_str(result["content"][0]["text"].as_str().unwrap()).unwrap();
        assert_eq!(text, result["structuredContent"]);
    }
}

/// Every tool, for several callers, against its REST route for the same caller.
#[tokio::test]
async fn tools_answer_what_their_routes_answer() {
    let service = service().await;
    let callers = [
        caller("user_admin", "session", "admin", "read,write"),
        caller("user_manager", "session", "manager", "read,write"),
        caller("user_signer", "session", "signer", "read,write"),
        caller("user_manager", "api_key", "manager", "read"),
        caller("user_signer", "oauth", "signer", "read"),
        caller("user_nobody", "session", "none", "read,write"),
    ];
    let cases: [(&str, Value, Route, Value, Value); 11] = [
        ("whoami", json!({}), Route::Me, Value::Null, Value::Null),
        (
            "list_api_keys",
            json!({}),
            Route::ListKeys,
            Value::Null,
            Value::Null,
        ),
        (
            "list_organizations",
            json!({}),
            Route::ListOrganizations,
            Value::Null,
            Value::Null,
        ),
        (
            "list_organizations",
            json!({"limit": 1}),
            Route::ListOrganizations,
            Value::Null,
            json!({"limit": "1"}),
        ),
        (
            "list_organizations",
            json!({"limit": 0}),
            Route::ListOrganizations,
            Value::Null,
            json!({"limit": "0"}),
        ),
        (
            "list_locations",
            json!({"organizationId": "org_demo"}),
            Route::ListLocations,
            json!({"orgId": "org_demo"}),
            Value::Null,
        ),
        (
            "list_locations",
            json!({"organizationId": "org_other"}),
            Route::ListLocations,
            json!({"orgId": "org_other"}),
            Value::Null,
        ),
        (
            "list_location_packages",
            json!({"locationId": "loc_1"}),
            Route::ListLocationPackages,
            json!({"locationId": "loc_1"}),
            Value::Null,
        ),
        (
            "list_signing_packages",
            json!({}),
            Route::SigningSession,
            Value::Null,
            Value::Null,
        ),
        (
            "get_package",
            json!({"packageId": "pkg_mine"}),
            Route::GetPackage,
            json!({"packageId": "pkg_mine"}),
            Value::Null,
        ),
        (
            "get_package",
            json!({"packageId": "pkg_theirs"}),
            Route::GetPackage,
            json!({"packageId": "pkg_theirs"}),
            Value::Null,
        ),
    ];
    let mut tool_errors = 0;
    for api in [Api::Rest, Api::Http] {
        for context in &callers {
            for (tool, arguments, route, path, query) in &cases {
                let rest = answer(
                    crate::routes::handle(
                        *route,
                        &service,
                        &event(
                            api,
                            "GET",
                            "/v1/x",
                            context,
                            &[],
                            None,
                            path.clone(),
                            query.clone(),
                        ),
                    )
                    .await,
                );
                let mcp = send(
                    &service,
                    post(api, context, &[], &call(tool, arguments.clone())),
                )
                .await;
                let what = format!("{api:?} {} {tool} {arguments}", context["authType"]);
                assert_eq!(mcp.status, 200, "{what}: {}", mcp.text);
                let result = &mcp.json["result"];
                assert_eq!(result["structuredContent"], rest.json, "{what}");
                assert_eq!(
                    result["isError"],
                    !(200..300).contains(&rest.status),
                    "{what}: REST answered {}",
                    rest.status
                );
                if result["isError"] == true {
                    tool_errors += 1;
                }
            }
        }
    }
    // The matrix exercises refusals too (forbidden, signed_in_user_required, bad_request).
    assert!(tool_errors > 10, "{tool_errors}");
}

#[tokio::test]
async fn refusals_of_the_routes_are_tool_errors_with_the_rest_message() {
    let service = service().await;
    let signer = caller("user_signer", "session", "signer", "read,write");
    let theirs = send(
        &service,
        post(
            Api::Rest,
            &signer,
            &[],
            &call("get_package", json!({"packageId": "pkg_theirs"})),
        ),
    )
    .await;
    assert_eq!(theirs.status, 200);
    assert_eq!(theirs.json["result"]["isError"], true);
    assert_eq!(
        theirs.json["result"]["structuredContent"],
        json!({"error": "you do not have access to this package", "code": "forbidden"})
    );
    let key = caller("user_signer", "api_key", "signer", "read");
    let keys = send(
        &service,
        post(Api::Http, &key, &[], &call("list_api_keys", json!({}))),
    )
    .await;
    assert_eq!(
        keys.json["result"]["structuredContent"]["code"],
        "signed_in_user_required"
    );
    let bad = send(
        &service,
        post(Api::Rest, &signer, &[], &call("get_package", json!({}))),
    )
    .await;
    assert_eq!(
        bad.json["result"]["structuredContent"],
        json!({"error": "packageId is required", "code": "bad_request"})
    );
    assert_eq!(bad.json["result"]["isError"], true);
}

#[tokio::test]
async fn refused_and_expired_callers_get_the_metadata_challenge() {
    let service = service().await;
    for api in [Api::Rest, Api::Http] {
        for code in ["invalid_token", "missing_authorization", "token_expired"] {
            let refused = send(
                &service,
                post(
                    api,
                    &json!({"refusal": code}),
                    &[],
                    &rpc(1, "tools/list", json!({})),
                ),
            )
            .await;
            assert_eq!(refused.status, 401);
            assert_eq!(refused.json["code"], code);
            assert_eq!(
                refused.headers[WWW_AUTHENTICATE],
                format!("Bearer resource_metadata=\"{}\"", metadata_for(api))
            );
        }
        let mut expired = caller("user_admin", "session", "admin", "read,write");
        expired["expiresAt"] = json!(NOW.to_string());
        let answer = send(
            &service,
            post(api, &expired, &[], &rpc(1, "ping", json!({}))),
        )
        .await;
        assert_eq!(answer.status, 401);
        assert_eq!(
            answer.json,
            json!({"error": "invalid token: expired", "code": "token_expired"})
        );
        assert!(
            answer.headers[WWW_AUTHENTICATE]
                .to_str()
                .unwrap()
                .starts_with("Bearer resource_metadata=")
        );
    }
    // No authorizer context at all: a misdeployed route, a 500.
    let bare = send(
        &service,
        post(Api::Rest, &Value::Null, &[], &rpc(1, "ping", json!({}))),
    )
    .await;
    assert_eq!(bare.status, 500);
}

#[tokio::test]
async fn oauth_only_refuses_other_credentials() {
    let service = service_with(Some(config(ScopeMap::default(), true))).await;
    let session = caller("user_admin", "session", "admin", "read,write");
    let refused = send(
        &service,
        post(Api::Http, &session, &[], &rpc(1, "ping", json!({}))),
    )
    .await;
    assert_eq!(refused.status, 401);
    assert_eq!(refused.json["code"], "invalid_token");
    assert_eq!(
        refused.headers[WWW_AUTHENTICATE],
        format!("Bearer resource_metadata=\"{HTTP_API_METADATA}\"")
    );
    let oauth = caller("user_signer", "oauth", "signer", "read");
    let whoami = send(
        &service,
        post(Api::Http, &oauth, &[], &call("whoami", json!({}))),
    )
    .await;
    assert_eq!(whoami.status, 200);
    let me = &whoami.json["result"]["structuredContent"];
    assert_eq!(me["authType"], "oauth");
    assert_eq!(me["clientId"], "client_1");
}

#[tokio::test]
async fn a_missing_scope_is_an_http_403_challenge() {
    let map = ScopeMap::parse("mcp:read=read,mcp:all=read+write,write=write").unwrap();
    let service = service_with(Some(config(map, false))).await;
    let write_only = caller("user_admin", "api_key", "admin", "write");
    for api in [Api::Rest, Api::Http] {
        let answer = send(
            &service,
            post(
                api,
                &write_only,
                &[],
                &call("list_organizations", json!({})),
            ),
        )
        .await;
        assert_eq!(answer.status, 403, "{}", answer.text);
        assert_eq!(
            answer.json,
            json!({"error": "this api key does not have the read scope", "code": "insufficient_scope"})
        );
        assert_eq!(
            answer.headers[WWW_AUTHENTICATE],
            format!(
                "Bearer error=\"insufficient_scope\", scope=\"mcp:read mcp:all\", resource_metadata=\"{}\"",
                metadata_for(api)
            )
        );
    }
    // whoami needs no scope (GET /v1/me answers every caller).
    let me = send(
        &service,
        post(Api::Rest, &write_only, &[], &call("whoami", json!({}))),
    )
    .await;
    assert_eq!(me.status, 200);
}

#[tokio::test]
async fn protocol_errors() {
    let service = service().await;
    let admin = caller("user_admin", "session", "admin", "read,write");
    let send_body = |headers: &'static [(&'static str, &'static str)], body: String| {
        let request = post(Api::Rest, &admin, headers, &body);
        let service = &service;
        async move { send(service, request).await }
    };
    let unknown_tool = send_body(&[], call("drop_tables", json!({}))).await;
    assert_eq!(unknown_tool.status, 200);
    assert_eq!(unknown_tool.json["error"]["code"], -32602);
    assert_eq!(unknown_tool.json["id"], 1);
    let unknown_method = send_body(&[], rpc(5, "resources/list", json!({}))).await;
    assert_eq!(
        (
            unknown_method.status,
            unknown_method.json["error"]["code"].clone()
        ),
        (200, json!(-32601))
    );
    let parse = send_body(&[], "{\"jsonrpc\":".to_owned()).await;
    assert_eq!(
        (parse.status, parse.json["error"]["code"].clone()),
        (400, json!(-32700))
    );
    let batch = send_body(&[], format!("[{}]", rpc(1, "ping", json!({})))).await;
    assert_eq!(
        (batch.status, batch.json["error"]["code"].clone()),
        (400, json!(-32600))
    );
    let missing_params = send_body(&[], rpc(1, "tools/call", Value::Null)).await;
    assert_eq!(missing_params.json["error"]["code"], -32602);
    let cursor = send_body(&[], rpc(1, "tools/list", json!({"cursor": "x"}))).await;
    assert_eq!(cursor.json["error"]["code"], -32602);
    let version = send_body(
        &[("mcp-protocol-version", "1900-01-01")],
        rpc(1, "ping", json!({})),
    )
    .await;
    assert_eq!(
        (version.status, version.json["error"]["code"].clone()),
        (400, json!(-32022))
    );
    let mismatch = send_body(
        &[("mcp-method", "tools/call"), ("mcp-name", "whoami")],
        call("get_package", json!({"packageId": "pkg_mine"})),
    )
    .await;
    assert_eq!(
        (mismatch.status, mismatch.json["error"]["code"].clone()),
        (400, json!(-32020))
    );
    let method_mismatch =
        send_body(&[("mcp-method", "tools/list")], rpc(1, "ping", json!({}))).await;
    assert_eq!(method_mismatch.status, 400);
    let too_big = send_body(&[], format!("{{\"x\":\"{}\"}}", "a".repeat(70 * 1024))).await;
    assert_eq!(
        (too_big.status, too_big.json["code"].clone()),
        (413, json!("payload_too_large"))
    );
    let origin = send_body(
        &[("origin", "https://evil.example")],
        rpc(1, "ping", json!({})),
    )
    .await;
    assert_eq!(
        (origin.status, origin.json["code"].clone()),
        (403, json!("forbidden"))
    );
    let own_origin = send_body(
        &[(
            "origin",
            "https://abcdef1234.execute-api.us-east-1.amazonaws.com",
        )],
        rpc(1, "ping", json!({})),
    )
    .await;
    assert_eq!(own_origin.status, 200);
}

#[tokio::test]
async fn modern_requests_carry_metadata_and_headers() {
    let service = service().await;
    let admin = caller("user_admin", "session", "admin", "read,write");
    let meta = json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientInfo": {"name": "t", "version": "1"},
        "io.modelcontextprotocol/clientCapabilities": {}
    });
    let body = rpc(
        9,
        "tools/call",
        json!({"name": "get_package", "arguments": {"packageId": "pkg_mine"}, "_meta": meta}),
    );
    let full = [
        ("mcp-protocol-version", "2026-07-28"),
        ("mcp-method", "tools/call"),
        ("mcp-name", "get_package"),
    ];
    let ok = send(&service, post(Api::Http, &admin, &full, &body)).await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert_eq!(ok.json["result"]["resultType"], "complete");
    assert_eq!(ok.json["result"]["structuredContent"]["id"], "pkg_mine");
    let without_name = send(&service, post(Api::Http, &admin, &full[..2], &body)).await;
    assert_eq!(
        (
            without_name.status,
            without_name.json["error"]["code"].clone()
        ),
        (400, json!(-32020))
    );
    let discover = send(
        &service,
        post(
            Api::Http,
            &admin,
            &[
                ("mcp-protocol-version", "2026-07-28"),
                ("mcp-method", "server/discover"),
            ],
            &rpc(1, "server/discover", json!({"_meta": meta})),
        ),
    )
    .await;
    assert_eq!(discover.status, 200, "{}", discover.text);
    assert_eq!(
        discover.json["result"]["supportedVersions"],
        json!(["2026-07-28", "2025-11-25", "2025-06-18", "2025-03-26"])
    );
    assert!(discover.json["result"]["capabilities"]["tools"].is_object());
    let list = send(
        &service,
        post(
            Api::Rest,
            &admin,
            &[
                ("mcp-protocol-version", "2026-07-28"),
                ("mcp-method", "tools/list"),
            ],
            &rpc(2, "tools/list", json!({"_meta": meta})),
        ),
    )
    .await;
    assert_eq!(list.json["result"]["resultType"], "complete");
    assert_eq!(list.json["result"]["tools"].as_array().unwrap().len(), 7);
    let unknown = send(
        &service,
        post(
            Api::Rest,
            &admin,
            &[
                ("mcp-protocol-version", "2026-07-28"),
                ("mcp-method", "prompts/list"),
            ],
            &rpc(3, "prompts/list", json!({"_meta": meta})),
        ),
    )
    .await;
    assert_eq!(
        (unknown.status, unknown.json["error"]["code"].clone()),
        (404, json!(-32601))
    );
}

#[tokio::test]
async fn metadata_documents() {
    let service = service().await;
    for (api, path, resource) in [
        (
            Api::Rest,
            "/.well-known/oauth-protected-resource",
            "https://abcdef1234.execute-api.us-east-1.amazonaws.com/prod",
        ),
        (
            Api::Rest,
            "/.well-known/oauth-protected-resource/mcp",
            "https://abcdef1234.execute-api.us-east-1.amazonaws.com/prod/mcp",
        ),
        (
            Api::Http,
            "/.well-known/oauth-protected-resource",
            "https://abcdef1234.execute-api.us-east-1.amazonaws.com",
        ),
        (
            Api::Http,
            "/.well-known/oauth-protected-resource/mcp",
            "https://abcdef1234.execute-api.us-east-1.amazonaws.com/mcp",
        ),
    ] {
        let request = event(
            api,
            "GET",
            path,
            &Value::Null,
            &[],
            None,
            Value::Null,
            Value::Null,
        );
        let document = answer(routes::protected_resource(&service, &request).await);
        assert_eq!(document.status, 200);
        assert_eq!(document.headers["cache-control"], "max-age=300");
        assert_eq!(
            document.json,
            json!({
                "resource": resource,
                "authorization_servers": ["https://clerk.example.com"],
                "scopes_supported": ["read", "write"],
                "bearer_methods_supported": ["header"],
                "resource_name": "Gatehouse API"
            }),
            "{api:?} {path}"
        );
    }
    let bare = service_with(None).await;
    let request = event(
        Api::Rest,
        "GET",
        "/.well-known/oauth-protected-resource",
        &Value::Null,
        &[],
        None,
        Value::Null,
        Value::Null,
    );
    assert_eq!(
        routes::protected_resource(&bare, &request).await.status(),
        500
    );
    let admin = caller("user_admin", "session", "admin", "read,write");
    let mcp = send(
        &bare,
        post(Api::Rest, &admin, &[], &rpc(1, "ping", json!({}))),
    )
    .await;
    assert_eq!(
        (mcp.status, mcp.json["code"].clone()),
        (500, json!("internal_error"))
    );
    // A refused caller still gets the contract's 401 first, with a bare challenge.
    let refused = send(
        &bare,
        post(
            Api::Http,
            &json!({"refusal": "invalid_api_key"}),
            &[],
            &rpc(1, "ping", json!({})),
        ),
    )
    .await;
    assert_eq!(refused.status, 401);
    assert_eq!(refused.json["code"], "invalid_api_key");
    assert_eq!(refused.headers[WWW_AUTHENTICATE], "Bearer");
}
