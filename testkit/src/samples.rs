//! The sample events in `events/` and the data they refer to: both the events test and the local demo
//! configure the authorizer from `events/env.json` and seed the dev admin and the sample API key.

use std::collections::HashMap;
use std::path::PathBuf;

use std::collections::BTreeMap;

use gatehouse::apikey::{self, Pepper};
use gatehouse::clock::FixedClock;
use gatehouse::principal::{Memberships, Role, Scopes};
use gatehouse::resources::ResourceService;
use gatehouse::self_service::KeyService;
use gatehouse::store::memory::MemoryStore;
use gatehouse::store::{
    ApiKeyRecord, Company, CreateKeyError, Document, KeyStore, Location, Organization, Package,
    ResourceStore, StoreError, Template, UserRecord,
};
use serde_json::{Map, Value, json};

/// The user the sample session token and API key belong to.
pub const DEV_ADMIN: &str = "user_dev_admin";
/// The sample manager: a company-level member of `co_demo_east`.
pub const DEV_MANAGER: &str = "user_dev_manager";
/// The sample signer, assigned to `pkg_demo_lease`.
pub const DEV_SIGNER: &str = "user_dev_signer";

/// The repository's `events/` folder.
pub fn events_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../events")
}

/// A sample event by file name, as JSON.
pub fn load_event(name: &str) -> Value {
    let text = std::fs::read_to_string(events_dir().join(name)).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// The HTTP API payload 2.0 twin of a REST API sample event (a route event, or a REQUEST authorizer
/// event): the same method, path, headers (lower case), query, path parameters and body, the
/// authorizer context under `requestContext.authorizer.lambda`, and for an authorizer event a
/// `routeArn` on the `$default` stage and the `Authorization` header as `identitySource`.
pub fn http_api_event(rest: &Value) -> Value {
    let method = rest["httpMethod"].as_str().unwrap_or("GET");
    let path = rest["path"].as_str().unwrap_or("/");
    let resource = rest["resource"].as_str().unwrap_or(path);
    let route_key = format!("{method} {resource}");
    let mut headers = Map::new();
    if let Some(map) = rest["headers"].as_object() {
        for (name, value) in map {
            headers.insert(name.to_ascii_lowercase(), value.clone());
        }
    }
    let query: Vec<String> = rest["queryStringParameters"]
        .as_object()
        .map(|map| {
            map.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                .collect()
        })
        .unwrap_or_default();
    let mut context = json!({
        "accountId": "123456789012",
        "apiId": "abcdef1234",
        "domainName": "abcdef1234.execute-api.us-east-1.amazonaws.com",
        "domainPrefix": "abcdef1234",
        "http": {
            "method": method,
            "path": path,
            "protocol": "HTTP/1.1",
            "sourceIp": "198.51.100.7",
            "userAgent": "curl/8.5.0"
        },
        "requestId": "JKJaXmPLvHcESHA=",
        "routeKey": route_key,
        "stage": "$default",
        "time": "03/Dec/2026:10:00:00 +0000",
        "timeEpoch": 1_796_292_000_000_i64
    });
    if let Some(fields) = rest["requestContext"]["authorizer"].as_object() {
        let lambda: Map<String, Value> = fields
            .iter()
            .filter(|(key, _)| !matches!(key.as_str(), "principalId" | "integrationLatency"))
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect();
        context["authorizer"] = json!({ "lambda": lambda });
    }
    let mut event = json!({
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": query.join("&"),
        "headers": headers,
        "requestContext": context,
        "isBase64Encoded": false
    });
    for field in ["queryStringParameters", "pathParameters", "body"] {
        if !rest[field].is_null() {
            event[field] = rest[field].clone();
        }
    }
    if rest["type"] == "REQUEST" {
        event["type"] = json!("REQUEST");
        let arn = rest["methodArn"].as_str().unwrap_or_default();
        event["routeArn"] = json!(arn.replacen("/prod/", "/$default/", 1));
        if let Some(value) = headers.get("authorization") {
            event["identitySource"] = json!([value]);
        }
        if let Some(Value::Object(context)) = event.get_mut("requestContext") {
            context.remove("authorizer");
        }
    }
    event
}

/// What a route answered, whichever payload format it answered in.
#[derive(Debug, Clone)]
pub struct RouteAnswer {
    /// `statusCode`.
    pub status: u16,
    /// Headers, lower-case names (`headers` and `multiValueHeaders` merged, last value wins).
    pub headers: BTreeMap<String, String>,
    /// The body as JSON (`null` when empty).
    pub body: Value,
}

/// Invokes `route` with `event` exactly as its Lambda binary does ([`gatehouse::routes::invoke`])
/// and reads the answer.
pub async fn invoke_route<S: gatehouse::store::DirectoryStore>(
    route: gatehouse::routes::Route,
    service: &ResourceService<S>,
    event: &Value,
) -> RouteAnswer {
    let bytes = serde_json::to_vec(event).unwrap();
    let answer =
        gatehouse::routes::invoke(route, service, &bytes, lambda_runtime::Context::default())
            .await
            .unwrap_or_else(|error| panic!("{}: {}", error.error_type, error.error_message));
    read_answer(&answer)
}

/// Reads a route's JSON answer ([`RouteAnswer`]).
pub fn read_answer(answer: &Value) -> RouteAnswer {
    let mut headers = BTreeMap::new();
    if let Some(map) = answer["multiValueHeaders"].as_object() {
        for (name, values) in map {
            if let Some(last) = values.as_array().and_then(|values| values.last()) {
                headers.insert(
                    name.to_ascii_lowercase(),
                    last.as_str().unwrap_or_default().to_owned(),
                );
            }
        }
    }
    if let Some(map) = answer["headers"].as_object() {
        for (name, value) in map {
            headers.insert(
                name.to_ascii_lowercase(),
                value.as_str().unwrap_or_default().to_owned(),
            );
        }
    }
    let body = match answer["body"].as_str() {
        Some("") | None => Value::Null,
        Some(text) => serde_json::from_str(text).unwrap_or_else(|_| Value::from(text)),
    };
    RouteAnswer {
        status: u16::try_from(answer["statusCode"].as_u64().unwrap()).unwrap(),
        headers,
        body,
    }
}

/// The `AuthorizerFunction` variables of `events/env.json`.
pub fn env_vars() -> HashMap<String, String> {
    let text = std::fs::read_to_string(events_dir().join("env.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    json["AuthorizerFunction"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
        .collect()
}

/// The plaintext API key in `events/authorizer-api-key.json`.
pub fn sample_api_key() -> String {
    let event = load_event("authorizer-api-key.json");
    let header = event["headers"]
        .as_object()
        .unwrap()
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("authorization"))
        .and_then(|(_, value)| value.as_str())
        .unwrap();
    header.strip_prefix("Bearer ").unwrap().to_owned()
}

/// Seeds the dev admin (role admin, organization `org_demo`) and the sample API key (`k_sample`, stored
/// as its hash under `pepper`). Running it again is harmless.
pub async fn seed<S: KeyStore>(store: &S, pepper: &Pepper) -> Result<(), StoreError> {
    store
        .put_user(&UserRecord {
            user_id: DEV_ADMIN.into(),
            role: Role::Admin,
            memberships: Memberships {
                organization_ids: vec!["org_demo".into()],
                ..Memberships::default()
            },
            suspended: false,
            clerk: Default::default(),
            revision: 0,
        })
        .await?;
    let key = sample_api_key();
    let record = ApiKeyRecord {
        key_id: "k_sample".into(),
        user_id: DEV_ADMIN.into(),
        key_hash: pepper.hash(&key),
        name: "sample".into(),
        scopes: Scopes::ALL,
        active: true,
        created_at: 1_767_225_600,
        expires_at: None,
        tail: apikey::tail(&key),
        last_used_at: None,
        revoked_at: None,
    };
    match store
        .create_api_key(
            &record,
            gatehouse::store::MAX_ACTIVE_KEYS,
            record.created_at,
        )
        .await
    {
        Ok(()) | Err(CreateKeyError::Conflict) => Ok(()),
        Err(CreateKeyError::Store(error)) => Err(error),
        Err(CreateKeyError::LimitReached) => Err(StoreError::Unavailable("key limit".into())),
    }
}

/// An authorizer on `store` as the tests build it: the default prefix, `pepper`, the dev-only key as a
/// PEM source for [`DEV_ISSUER`] (no network), 5 s of skew, `clock`.
pub fn dev_authorizer<S: gatehouse::store::AuthStore + 'static>(
    store: S,
    pepper: Pepper,
    clock: std::sync::Arc<FixedClock>,
) -> gatehouse::authorizer::Authorizer<S> {
    use gatehouse::keys::{IssuerKeys, KeyCacheOptions, KeySource};
    let options = KeyCacheOptions::default();
    gatehouse::authorizer::Authorizer::from_parts(gatehouse::authorizer::Parts {
        prefix: apikey::ApiKeyPrefix::default_prefix(),
        pepper,
        settings: gatehouse::jwt::VerifierSettings {
            issuer: crate::tokens::DEV_ISSUER.to_owned(),
            authorized_parties: None,
            clock_skew_secs: 5,
            allow_pending_sessions: false,
        },
        keys: std::sync::Arc::new(IssuerKeys::new(
            crate::tokens::DEV_ISSUER,
            KeySource::from_pem(crate::tokens::dev_key().public_pem).unwrap(),
            gatehouse::authorizer::http_client(options).unwrap(),
            options,
        )),
        store,
        clock,
    })
}

/// The pepper of `events/env.json`.
pub fn pepper() -> Pepper {
    Pepper::new(env_vars()["API_KEY_PEPPER"].as_bytes()).unwrap()
}

/// A route service (with the pepper, so it can create keys) on a fresh in-memory store holding the
/// dev admin and the sample key, with the clock at `now`.
pub async fn memory_key_service(now: i64) -> ResourceService<MemoryStore> {
    let store = MemoryStore::new();
    seed(&store, &pepper()).await.unwrap();
    let clock = std::sync::Arc::new(FixedClock::at(now));
    ResourceService::new(
        KeyService::from_parts(
            store,
            apikey::ApiKeyPrefix::default_prefix(),
            Some(pepper()),
            clock.clone(),
        ),
        clock,
    )
    .with_resource_server(std::sync::Arc::new(resource_server()))
}

/// Seeds the sample keys ([`seed`]) and a tiny world the resource events refer to: organization
/// `org_demo`, its company `co_demo_east`, location `loc_demo_1`, template `tpl_demo_nda` and package
/// `pkg_demo_lease` (at `loc_demo_1`, signer [`DEV_SIGNER`]); [`DEV_MANAGER`] manages `co_demo_east`.
/// The resources are written before the users, so the users' member projections exist.
pub async fn seed_world<S: ResourceStore>(store: &S, pepper: &Pepper) -> Result<(), StoreError> {
    store
        .put_organization(&Organization {
            id: "org_demo".into(),
            name: "Demo Holdings".into(),
        })
        .await?;
    store
        .put_company(&Company {
            id: "co_demo_east".into(),
            organization_id: "org_demo".into(),
            name: "Demo East".into(),
        })
        .await?;
    store
        .put_location(&Location {
            id: "loc_demo_1".into(),
            company_id: "co_demo_east".into(),
            organization_id: "org_demo".into(),
            name: "Boston".into(),
        })
        .await?;
    store
        .put_template(&Template {
            id: "tpl_demo_nda".into(),
            organization_id: "org_demo".into(),
            name: "NDA".into(),
        })
        .await?;
    store
        .put_package(&Package {
            id: "pkg_demo_lease".into(),
            location_id: "loc_demo_1".into(),
            company_id: "co_demo_east".into(),
            organization_id: "org_demo".into(),
            title: "Lease".into(),
            signers: vec![DEV_SIGNER.into()],
            documents: vec![Document {
                id: "doc_demo_lease".into(),
                name: "lease.pdf".into(),
            }],
            created_at: 1_767_225_600,
        })
        .await?;
    // Users last: their writes project memberships through the companies and locations above.
    seed(store, pepper).await?;
    for (user_id, role, memberships) in [
        (
            DEV_MANAGER,
            Role::Manager,
            Memberships {
                company_ids: vec!["co_demo_east".into()],
                ..Memberships::default()
            },
        ),
        (DEV_SIGNER, Role::Signer, Memberships::default()),
    ] {
        store
            .put_user(&UserRecord {
                user_id: user_id.into(),
                role,
                memberships,
                suspended: false,
                clerk: Default::default(),
                revision: 0,
            })
            .await?;
    }
    Ok(())
}

/// A resource service on a fresh in-memory store holding [`seed_world`], with the clock at `now`.
pub async fn memory_resource_service(now: i64) -> ResourceService<MemoryStore> {
    let store = MemoryStore::new();
    seed_world(&store, &pepper()).await.unwrap();
    resource_service_on(store, now)
}

/// A route service on `store` (with the pepper, so every route can run), the clock at `now`.
pub fn resource_service_on(store: MemoryStore, now: i64) -> ResourceService<MemoryStore> {
    let clock = std::sync::Arc::new(FixedClock::at(now));
    ResourceService::new(
        KeyService::from_parts(
            store,
            apikey::ApiKeyPrefix::default_prefix(),
            Some(pepper()),
            clock.clone(),
        ),
        clock,
    )
    .with_resource_server(std::sync::Arc::new(resource_server()))
}

/// The resource server's settings the sample route services carry (discovery and `/mcp`): the dev
/// issuer as the authorization server, the default scope map, `/mcp` open to every kind of token.
pub fn resource_server() -> gatehouse::oauth::ResourceServerConfig {
    gatehouse::oauth::ResourceServerConfig {
        public_base_url: None,
        authorization_server: crate::tokens::DEV_ISSUER.to_owned(),
        scope_map: gatehouse::oauth::ScopeMap::default(),
        mcp_oauth_only: false,
    }
}
