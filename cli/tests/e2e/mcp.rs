//! `POST /mcp` and the OAuth protected-resource metadata through `gatehouse serve --demo`, on both API
//! types and both stores: the MCP handshake, every tool for a signer, a manager and an admin (each
//! with a session token, an API key and, for the signer, an OAuth access token) compared with what
//! the REST route answers for the same token, the discovery documents, the 401 and 403 challenges,
//! the `Mcp-Name` check, and a forbidden object as a tool error.
//!
//! The scenarios are instantiated here rather than in the suite's `e2e_tests!` list: each runs on
//! `serve --api rest` and `--api http`, on the embedded store and on DynamoDB Local (skipped without
//! `GATEHOUSE_TEST_DYNAMODB_ENDPOINT`).

use gatehouse_testkit::serve::{Api, Serve, ServeOptions};
use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{Reply, create_key, get, request, send};
use crate::{Store, start};

/// `serve --demo` with the template's settings, on `api`.
const fn demo(api: Api) -> ServeOptions {
    ServeOptions {
        api,
        ttl: None,
        demo: true,
    }
}

macro_rules! mcp_tests {
    ($($module:ident: $store:ident, $api:ident;)*) => {
        $(
            mod $module {
                use super::*;

                #[tokio::test]
                async fn tools_answer_what_their_routes_answer() {
                    let Some(serve) = start(Store::$store, demo(Api::$api)) else { return };
                    super::tools_answer_what_their_routes_answer(&serve).await;
                }

                #[tokio::test]
                async fn discovery_and_challenges() {
                    let Some(serve) = start(Store::$store, demo(Api::$api)) else { return };
                    super::discovery_and_challenges(&serve).await;
                }

                #[tokio::test]
                async fn protocol_refusals() {
                    let Some(serve) = start(Store::$store, demo(Api::$api)) else { return };
                    super::protocol_refusals(&serve).await;
                }
            }
        )*
    };
}

mcp_tests! {
    embedded_rest: Embedded, Rest;
    embedded_http: Embedded, Http;
    dynamodb_local_rest: DynamoDbLocal, Rest;
    dynamodb_local_http: DynamoDbLocal, Http;
}

/// The protocol version the client asks for (a legacy, `initialize`-based one).
const VERSION: &str = "2025-06-18";

/// `POST /mcp` with a JSON-RPC `body` as `token`, with extra headers.
async fn post(serve: &Serve, token: Option<&str>, body: &Value, headers: &[(&str, &str)]) -> Reply {
    let mut builder = request(serve, Method::POST, "/mcp", token)
        .header("Content-Type", "application/json")
        .header("Accept", "application/json, text/event-stream");
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    send(builder.body(body.to_string())).await
}

fn rpc(id: u64, method: &str, params: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})
}

/// A `tools/call` as a legacy client sends it (after `initialize`).
async fn call(serve: &Serve, token: &str, tool: &str, arguments: Value) -> Reply {
    let body = rpc(
        1,
        "tools/call",
        json!({"name": tool, "arguments": arguments}),
    );
    post(
        serve,
        Some(token),
        &body,
        &[("MCP-Protocol-Version", VERSION)],
    )
    .await
}

/// What a client does first: `initialize`, `notifications/initialized`, `tools/list`.
async fn handshake(serve: &Serve, token: &str) {
    let init = post(
        serve,
        Some(token),
        &rpc(
            0,
            "initialize",
            json!({"protocolVersion": VERSION, "capabilities": {},
                   "clientInfo": {"name": "e2e", "version": "1.0.0"}}),
        ),
        &[],
    )
    .await;
    init.expect_status(200).expect_json_content_type();
    assert_eq!(init.body["id"], 0, "{}", init.text);
    assert_eq!(init.body["result"]["protocolVersion"], VERSION);
    assert_eq!(init.body["result"]["serverInfo"]["name"], "gatehouse");
    assert!(init.body["result"]["capabilities"]["tools"].is_object());
    assert!(
        init.header("mcp-session-id").is_none(),
        "stateless: no session"
    );

    let initialized = post(
        serve,
        Some(token),
        &json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        &[("MCP-Protocol-Version", VERSION)],
    )
    .await;
    initialized.expect_status(202);
    assert_eq!(initialized.text, "");

    let list = post(
        serve,
        Some(token),
        &rpc(1, "tools/list", json!({})),
        &[("MCP-Protocol-Version", VERSION)],
    )
    .await;
    list.expect_status(200).expect_json_content_type();
    let names: Vec<&str> = list.body["result"]["tools"]
        .as_array()
        .unwrap_or_else(|| panic!("no tools in {}", list.text))
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
}

/// Each tool with its arguments and the REST path of the same request.
fn cases() -> Vec<(&'static str, Value, &'static str)> {
    vec![
        ("whoami", json!({}), "/v1/me"),
        ("list_api_keys", json!({}), "/v1/me/keys"),
        ("list_organizations", json!({}), "/v1/organizations"),
        (
            "list_organizations",
            json!({"limit": 1}),
            "/v1/organizations?limit=1",
        ),
        (
            "list_locations",
            json!({"organizationId": "org_demo"}),
            "/v1/organizations/org_demo/locations",
        ),
        (
            "list_locations",
            json!({"organizationId": "org_other"}),
            "/v1/organizations/org_other/locations",
        ),
        (
            "list_location_packages",
            json!({"locationId": "loc_demo_1"}),
            "/v1/locations/loc_demo_1/packages",
        ),
        ("list_signing_packages", json!({}), "/v1/signing/session"),
        (
            "get_package",
            json!({"packageId": "pkg_demo_lease"}),
            "/v1/signing/packages/pkg_demo_lease",
        ),
        (
            "get_package",
            json!({"packageId": "pkg_demo_nda"}),
            "/v1/signing/packages/pkg_demo_nda",
        ),
        (
            "get_package",
            json!({"packageId": "pkg_missing"}),
            "/v1/signing/packages/pkg_missing",
        ),
    ]
}

/// Every tool against its REST route, for `token`; the number of tool errors.
async fn compare_every_tool(serve: &Serve, who: &str, token: &str) -> usize {
    let mut errors = 0;
    for (tool, arguments, path) in cases() {
        let rest = get(serve, path, token).await;
        let mcp = call(serve, token, tool, arguments.clone()).await;
        let what = format!("{who}: {tool} {arguments} vs GET {path}");
        mcp.expect_status(200).expect_json_content_type();
        let result = &mcp.body["result"];
        assert_eq!(
            result["structuredContent"], rest.body,
            "{what}: {}",
            mcp.text
        );
        let failed = !(200..300).contains(&rest.status);
        assert_eq!(result["isError"], failed, "{what}: REST {}", rest.status);
        let text: Value = serde_json::from_str(result["content"][0]["text"].as_str().unwrap())
            .unwrap_or_else(|_| panic!("{what}: content is not JSON: {}", mcp.text));
        assert_eq!(text, rest.body, "{what}");
        errors += usize::from(failed);
    }
    errors
}

/// The handshake and every tool for a signer, a manager and an admin, each with a session token and
/// an API key (the signer also with an OAuth access token), compared with the REST routes.
pub async fn tools_answer_what_their_routes_answer(serve: &Serve) {
    let mut errors = 0;
    for user in ["user_demo_signer", "user_demo_manager", "user_demo_admin"] {
        let session = serve.mint(user);
        handshake(serve, &session).await;
        let key = create_key(serve, &session, json!({"name": "mcp"})).await;
        // Sessions first: a key's first use stamps its lastUsedAt, which `list_api_keys` shows.
        errors += compare_every_tool(serve, &format!("{user} session"), &session).await;
        handshake(serve, &key.key).await;
        errors += compare_every_tool(serve, &format!("{user} api key"), &key.key).await;
    }
    // The matrix holds refusals: forbidden, not_found, signed_in_user_required.
    assert!(errors >= 6, "{errors}");

    // An OAuth access token (dev mode mints them) for the signer: acts as its default key.
    let oauth = serve
        .cli_ok(&[
            "token",
            "mint",
            "--oauth",
            "--client-id",
            "e2e-client",
            "--scope",
            "read write",
            "--sub",
            "user_demo_signer",
            "--aud",
            &serve.url("/mcp"),
        ])
        .trim()
        .to_owned();
    handshake(serve, &oauth).await;
    let whoami = call(serve, &oauth, "whoami", json!({})).await;
    whoami.expect_status(200);
    let me = &whoami.body["result"]["structuredContent"];
    assert_eq!(me["authType"], "oauth", "{}", whoami.text);
    assert_eq!(me["clientId"], "e2e-client");
    compare_every_tool(serve, "user_demo_signer oauth", &oauth).await;
}

/// The challenge header as the client receives it. A REST API renames a Lambda proxy integration's
/// `WWW-Authenticate` to `x-amzn-Remapped-WWW-Authenticate` (serve reproduces it); the gateway's own
/// 401s keep the real header.
fn route_challenge<'a>(serve: &Serve, reply: &'a Reply) -> Option<&'a str> {
    match serve.api() {
        Api::Rest => reply
            .header("x-amzn-remapped-www-authenticate")
            .or_else(|| reply.header("www-authenticate")),
        Api::Http => reply.header("www-authenticate"),
    }
}

/// The metadata documents (no token), the 401 challenges that point at them, and the 403 of a key
/// without `read`.
pub async fn discovery_and_challenges(serve: &Serve) {
    let base = serve.base_url();
    let root = send(request(
        serve,
        Method::GET,
        "/.well-known/oauth-protected-resource",
        None,
    ))
    .await;
    root.expect_status(200).expect_json_content_type();
    assert_eq!(root.body["resource"], base, "{}", root.text);
    assert_eq!(root.body["bearer_methods_supported"], json!(["header"]));
    assert_eq!(root.body["scopes_supported"], json!(["read", "write"]));
    let servers = root.body["authorization_servers"].as_array().unwrap();
    assert_eq!(servers.len(), 1, "{}", root.text);
    let for_mcp = send(request(
        serve,
        Method::GET,
        "/.well-known/oauth-protected-resource/mcp",
        None,
    ))
    .await;
    for_mcp.expect_status(200);
    assert_eq!(for_mcp.body["resource"], format!("{base}/mcp"));
    assert_eq!(
        for_mcp.body["authorization_servers"],
        root.body["authorization_servers"]
    );

    // A bad token, and no token, on /mcp: the contract's 401 and a challenge naming the metadata (on
    // a REST API the gateway's own 401s, from the template's gateway responses; on an HTTP API the
    // function's, the authorizer letting refusals on /mcp through).
    let metadata_prefix =
        format!("Bearer resource_metadata=\"{base}/.well-known/oauth-protected-resource");
    let refused = post(
        serve,
        Some("not-a-token"),
        &rpc(1, "tools/list", json!({})),
        &[],
    )
    .await;
    refused.expect_status(401);
    assert_eq!(refused.body["code"], "invalid_token", "{}", refused.text);
    let anonymous = post(serve, None, &rpc(1, "tools/list", json!({})), &[]).await;
    anonymous.expect_status(401);
    for (what, reply) in [("bad token", &refused), ("no token", &anonymous)] {
        let challenge = reply.header("www-authenticate").unwrap_or_default();
        assert!(
            challenge.starts_with(&metadata_prefix),
            "{what}: challenge {challenge:?}, headers {:?}, body {}",
            reply.headers,
            reply.text
        );
    }

    // A key without read: HTTP 403 insufficient_scope with the scope challenge.
    let manager = serve.mint("user_demo_manager");
    let write_only = create_key(serve, &manager, json!({"name": "w", "scopes": ["write"]})).await;
    let rest = get(serve, "/v1/organizations", &write_only.key).await;
    rest.expect_error(
        403,
        "insufficient_scope",
        "this api key does not have the read scope",
    );
    let scoped = call(serve, &write_only.key, "list_organizations", json!({})).await;
    scoped.expect_error(
        403,
        "insufficient_scope",
        "this api key does not have the read scope",
    );
    assert_eq!(
        route_challenge(serve, &scoped),
        Some(
            format!(
                "Bearer error=\"insufficient_scope\", scope=\"read\", resource_metadata=\"{base}/.well-known/oauth-protected-resource\""
            )
            .as_str()
        ),
        "{:?}",
        scoped.headers
    );
    // whoami needs no scope, as GET /v1/me.
    call(serve, &write_only.key, "whoami", json!({}))
        .await
        .expect_status(200);
}

/// `Mcp-Name` disagreeing with the body, a forbidden object, an unknown tool, a batch.
pub async fn protocol_refusals(serve: &Serve) {
    let signer = serve.mint("user_demo_signer");
    let body = rpc(
        3,
        "tools/call",
        json!({"name": "get_package", "arguments": {"packageId": "pkg_demo_lease"}}),
    );
    let mismatch = post(
        serve,
        Some(&signer),
        &body,
        &[("Mcp-Method", "tools/call"), ("Mcp-Name", "whoami")],
    )
    .await;
    mismatch.expect_status(400).expect_json_content_type();
    assert_eq!(mismatch.body["error"]["code"], -32020, "{}", mismatch.text);
    assert_eq!(mismatch.body["id"], 3);
    let agreeing = post(
        serve,
        Some(&signer),
        &body,
        &[("Mcp-Method", "tools/call"), ("Mcp-Name", "get_package")],
    )
    .await;
    agreeing.expect_status(200);
    assert_eq!(
        agreeing.body["result"]["structuredContent"]["id"],
        "pkg_demo_lease"
    );

    // A package the signer is not on: the route's 403 as a tool error, HTTP 200.
    let forbidden = call(
        serve,
        &signer,
        "get_package",
        json!({"packageId": "pkg_demo_nda"}),
    )
    .await;
    forbidden.expect_status(200);
    assert_eq!(forbidden.body["result"]["isError"], true);
    assert_eq!(
        forbidden.body["result"]["structuredContent"],
        json!({"error": "you do not have access to this package", "code": "forbidden"})
    );

    let unknown = call(serve, &signer, "drop_tables", json!({})).await;
    unknown.expect_status(200);
    assert_eq!(unknown.body["error"]["code"], -32602);

    let batch = post(
        serve,
        Some(&signer),
        &json!([rpc(1, "ping", json!({}))]),
        &[],
    )
    .await;
    batch.expect_status(400);
    assert_eq!(batch.body["error"]["code"], -32600);

    let version = post(
        serve,
        Some(&signer),
        &rpc(1, "ping", json!({})),
        &[("MCP-Protocol-Version", "1900-01-01")],
    )
    .await;
    version.expect_status(400);
    assert_eq!(version.body["error"]["code"], -32022);

    // GET is not routed.
    let get_mcp = send(request(serve, Method::GET, "/mcp", Some(&signer))).await;
    assert!(
        matches!(get_mcp.status, 403..=405),
        "GET /mcp: {} {}",
        get_mcp.status,
        get_mcp.text
    );
}
