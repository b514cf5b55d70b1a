//! Delegated role administration through its route handlers, exactly as the Lambda binaries run them
//! (`crate::routes::invoke`: the sample events in `events/`, re-aimed at each case, as REST API
//! payload 1.0 events and their HTTP API twins), over a memory store: every rule of README
//! "Delegated role administration", what each accepted change writes (the record, the audit entry),
//! and that each refused one writes nothing; a store whose records change under a change (retried,
//! decided again, given up on), and one that fails.
//!
//! The whole file is test code: `members.rs` declares it `#[cfg(test)] mod tests;`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{Value, json};

use super::*;
use crate::apikey::{KeyHash, Pepper};
use crate::clock::FixedClock;
use crate::principal::Scopes;
use crate::routes::Route;
use crate::self_service::KeyService;
use crate::store::memory::MemoryStore;
use crate::store::{
    ActiveKeyRef, ApiKeyRecord, AuthStore, ClerkEvent, ClerkOutcome, Company, CreateKeyError,
    CreatePackageError, KeyStore, Location, Organization, Package, ResourceStore, Template,
};

const NOW: i64 = 1_800_000_000;

const NO_ORG: &str = "you do not have access to this organization";
const READ_ONLY: &str = "admin access is read-only";
const MANAGERS_ONLY: &str = "only managers can change roles and memberships";
const OWN: &str = "you cannot change your own role or memberships";
const ADMIN_GRANT: &str = "the admin role cannot be granted through the api";
const ADMIN_TARGET: &str = "an admin's role and memberships cannot be changed through the api";
const HELD: &str = "this member holds memberships in this organization outside your scope";
const ROLE: &str = "the role also applies outside your scope";
const AUDIT: &str = "only managers of the whole organization can read its audit trail";
const NO_WRITE: &str = "this api key does not have the write scope";
const NO_READ: &str = "this api key does not have the read scope";

/// Every user of the world (and the ids the tests create), for snapshots.
const USERS: [&str; 14] = [
    "user_admin",
    "user_mgr_org",
    "user_mgr_co",
    "user_mgr_loc",
    "user_mgr_two",
    "user_signer",
    "user_wide",
    "user_mixed",
    "user_suspended",
    "user_ghost",
    "user_new",
    "user_new2",
    "user_nobody",
    "user_banned",
];

/// A seeded user: id, role, organization, company and location memberships.
type Seeded = (
    &'static str,
    Role,
    Vec<&'static str>,
    Vec<&'static str>,
    Vec<&'static str>,
);

/// The world: two organizations; `org_a` with companies `co_a1` (locations `loc_a1a`, `loc_a1b`) and
/// `co_a2` (`loc_a2a`); `org_b` with `co_b1` (`loc_b1a`). Users by what the rules need of them.
fn users() -> Vec<Seeded> {
    vec![
        ("user_admin", Role::Admin, vec!["org_a"], vec![], vec![]),
        ("user_mgr_org", Role::Manager, vec!["org_a"], vec![], vec![]),
        ("user_mgr_co", Role::Manager, vec![], vec!["co_a1"], vec![]),
        (
            "user_mgr_loc",
            Role::Manager,
            vec![],
            vec![],
            vec!["loc_a2a"],
        ),
        (
            "user_mgr_two",
            Role::Manager,
            vec!["org_a", "org_b"],
            vec![],
            vec![],
        ),
        ("user_signer", Role::Signer, vec![], vec![], vec!["loc_a1a"]),
        (
            "user_wide",
            Role::Signer,
            vec![],
            vec![],
            vec!["loc_a1a", "loc_b1a"],
        ),
        (
            "user_mixed",
            Role::Signer,
            vec![],
            vec![],
            vec!["loc_a1b", "loc_a2a"],
        ),
        (
            "user_suspended",
            Role::Signer,
            vec![],
            vec![],
            vec!["loc_a1b"],
        ),
        (
            "user_ghost",
            Role::Signer,
            vec![],
            vec![],
            vec!["loc_gone", "loc_a1a"],
        ),
    ]
}

fn strings(ids: &[&str]) -> Vec<String> {
    ids.iter().map(|id| (*id).to_owned()).collect()
}

async fn world() -> MemoryStore {
    let store = MemoryStore::new();
    for (id, name) in [("org_a", "Org A"), ("org_b", "Org B")] {
        store
            .put_organization(&Organization {
                id: id.into(),
                name: name.into(),
            })
            .await
            .unwrap();
    }
    for (id, org) in [("co_a1", "org_a"), ("co_a2", "org_a"), ("co_b1", "org_b")] {
        store
            .put_company(&Company {
                id: id.into(),
                organization_id: org.into(),
                name: id.into(),
            })
            .await
            .unwrap();
    }
    for (id, company, org) in [
        ("loc_a1a", "co_a1", "org_a"),
        ("loc_a1b", "co_a1", "org_a"),
        ("loc_a2a", "co_a2", "org_a"),
        ("loc_b1a", "co_b1", "org_b"),
    ] {
        store
            .put_location(&Location {
                id: id.into(),
                company_id: company.into(),
                organization_id: org.into(),
                name: id.into(),
            })
            .await
            .unwrap();
    }
    for (id, role, orgs, companies, locations) in users() {
        let mut record = UserRecord::new(
            id,
            role,
            Memberships {
                organization_ids: strings(&orgs),
                company_ids: strings(&companies),
                location_ids: strings(&locations),
            },
        );
        record.suspended = id == "user_suspended";
        record.revision = 1;
        store.put_user(record);
    }
    // mgr_org's one key: their sessions and OAuth tokens are scoped to it.
    let pepper = Pepper::new(b"members-tests-pepper-0123456789").unwrap();
    store.put_key(ApiKeyRecord {
        key_id: "k_org_rw".into(),
        user_id: "user_mgr_org".into(),
        key_hash: pepper.hash("sf_members_tests_key"),
        name: "rw".into(),
        scopes: Scopes::ALL,
        active: true,
        created_at: NOW - 100,
        expires_at: None,
        tail: "_key".into(),
        last_used_at: None,
        revoked_at: None,
    });
    store
}

/// A route service on `store`, and its clock.
fn service_on<S: DirectoryStore>(store: S) -> (ResourceService<S>, Arc<FixedClock>) {
    let clock = Arc::new(FixedClock::at(NOW));
    let service = ResourceService::new(
        KeyService::from_parts(
            store,
            crate::apikey::ApiKeyPrefix::default_prefix(),
            None,
            clock.clone(),
        ),
        clock.clone(),
    );
    (service, clock)
}

/// The authorizer context of a caller of the matrix.
fn context(caller: &str) -> Value {
    let (user, auth_type, role, scopes, key_id, client_id) = match caller {
        "admin" => ("user_admin", "session", "admin", "read,write", "", ""),
        "admin_key_r" => ("user_admin", "api_key", "admin", "read", "k_admin_r", ""),
        "mgr_org" => ("user_mgr_org", "session", "manager", "read,write", "", ""),
        "mgr_org_key_r" => ("user_mgr_org", "api_key", "manager", "read", "k_org_r", ""),
        "mgr_org_key_w" => ("user_mgr_org", "api_key", "manager", "write", "k_org_w", ""),
        "mgr_org_key_rw" => (
            "user_mgr_org",
            "api_key",
            "manager",
            "read,write",
            "k_org_rw",
            "",
        ),
        "mgr_org_oauth" => (
            "user_mgr_org",
            "oauth",
            "manager",
            "read,write",
            "",
            "client_partner",
        ),
        "mgr_org_oauth_r" => (
            "user_mgr_org",
            "oauth",
            "manager",
            "read",
            "",
            "client_partner",
        ),
        "mgr_co" => ("user_mgr_co", "session", "manager", "read,write", "", ""),
        "mgr_loc" => ("user_mgr_loc", "session", "manager", "read,write", "", ""),
        "mgr_two" => ("user_mgr_two", "session", "manager", "read,write", "", ""),
        "signer" => ("user_signer", "session", "signer", "read,write", "", ""),
        "none" => ("user_nobody", "session", "none", "read,write", "", ""),
        other => panic!("unknown caller {other}"),
    };
    let (orgs, companies, locations) = users()
        .into_iter()
        .find(|(id, ..)| *id == user)
        .map(|(_, _, o, c, l)| (o.join(","), c.join(","), l.join(",")))
        .unwrap_or_default();
    json!({
        "principalId": user, "integrationLatency": 12, "userId": user, "authType": auth_type,
        "role": role, "keyId": key_id, "scopes": scopes,
        "sessionId": if auth_type == "session" { "sess_1" } else { "" },
        "clientId": client_id,
        "organizationIds": orgs, "companyIds": companies, "locationIds": locations,
        "clerkOrgId": "", "clerkOrgRole": "", "membershipsOmitted": "false",
        "expiresAt": (NOW + 3600).to_string()
    })
}

/// A sample event of `events/`.
fn sample(file: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../events")
        .join(file);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn sample_of(route: Route) -> Value {
    sample(&format!("{}.json", route.binary()))
}

/// The sample event of `route`, aimed at `org` (and `target`) as `caller`, with `body`.
fn event(
    route: Route,
    caller: &str,
    org: &str,
    target: Option<&str>,
    body: Option<Value>,
) -> Value {
    let mut event = sample_of(route);
    let path = match (route, target) {
        (Route::ListAudit, _) => format!("/v1/organizations/{org}/audit"),
        (_, Some(target)) => format!("/v1/organizations/{org}/members/{target}"),
        (_, None) => format!("/v1/organizations/{org}/members"),
    };
    event["requestContext"]["path"] = json!(format!("/prod{path}"));
    event["path"] = json!(path);
    event["pathParameters"] = match target {
        Some(target) => json!({"orgId": org, "userId": target}),
        None => json!({"orgId": org}),
    };
    event["body"] = body.map_or(Value::Null, |body| json!(body.to_string()));
    event["requestContext"]["authorizer"] = context(caller);
    event
}

fn put(caller: &str, org: &str, target: &str, body: Value) -> Value {
    event(Route::PutMember, caller, org, Some(target), Some(body))
}

fn remove(caller: &str, org: &str, target: &str) -> Value {
    event(Route::RemoveMember, caller, org, Some(target), None)
}

fn list(caller: &str, org: &str) -> Value {
    event(Route::ListMembers, caller, org, None, None)
}

fn audit(caller: &str, org: &str) -> Value {
    event(Route::ListAudit, caller, org, None, None)
}

/// `event` with a query string.
fn with_query(mut event: Value, query: &[(&str, &str)]) -> Value {
    let single: serde_json::Map<String, Value> = query
        .iter()
        .map(|(k, v)| ((*k).to_owned(), json!(v)))
        .collect();
    let multi: serde_json::Map<String, Value> = query
        .iter()
        .map(|(k, v)| ((*k).to_owned(), json!([v])))
        .collect();
    event["queryStringParameters"] = Value::Object(single);
    event["multiValueQueryStringParameters"] = Value::Object(multi);
    event
}

/// The route the event is for (a REST API event or its HTTP API twin).
fn route_of(event: &Value) -> Route {
    let method = event["httpMethod"]
        .as_str()
        .or_else(|| event["requestContext"]["http"]["method"].as_str())
        .unwrap();
    let path = event["path"]
        .as_str()
        .or_else(|| event["rawPath"].as_str())
        .unwrap();
    match (method, path.ends_with("/audit")) {
        ("GET", true) => Route::ListAudit,
        ("GET", false) => Route::ListMembers,
        ("PUT", _) => Route::PutMember,
        ("DELETE", _) => Route::RemoveMember,
        (method, _) => panic!("no route for {method}"),
    }
}

/// Status and body of what the route answered to `event`.
async fn invoke<S: DirectoryStore>(service: &ResourceService<S>, event: &Value) -> (u16, Value) {
    let bytes = serde_json::to_vec(event).unwrap();
    let answer = crate::routes::invoke(
        route_of(event),
        service,
        &bytes,
        lambda_runtime::Context::default(),
    )
    .await
    .unwrap();
    let status = u16::try_from(answer["statusCode"].as_u64().unwrap()).unwrap();
    let body = serde_json::from_str(answer["body"].as_str().unwrap()).unwrap();
    (status, body)
}

/// [`invoke`] as a REST API event, then as its HTTP API twin: the same answer (reads only).
async fn read<S: DirectoryStore>(service: &ResourceService<S>, event: &Value) -> (u16, Value) {
    let rest = invoke(service, event).await;
    let http = invoke(service, &gatehouse_testkit::samples::http_api_event(event)).await;
    assert_eq!(rest, http, "REST and HTTP API answers differ");
    rest
}

fn error(message: &str, code: &str) -> Value {
    json!({"error": message, "code": code})
}

/// Everything a change may write: the records of [`USERS`] and both audit trails.
async fn snapshot(store: &MemoryStore) -> (Vec<UserRecord>, Vec<AuditEntry>) {
    let mut records = store.users_by_ids(&strings(&USERS)).await.unwrap();
    records.sort_by(|a, b| a.user_id.cmp(&b.user_id));
    let mut entries = Vec::new();
    for org in ["org_a", "org_b"] {
        entries.extend(
            store
                .audit_of(org, PageRequest::first(100))
                .await
                .unwrap()
                .items,
        );
    }
    (records, entries)
}

/// Sends `event` and expects the error; nothing was written ("no trace but a refused request").
async fn refused(
    service: &ResourceService<MemoryStore>,
    event: &Value,
    status: u16,
    code: &str,
    message: &str,
) {
    let before = snapshot(service.store()).await;
    let (got, body) = invoke(service, event).await;
    let what = format!(
        "{} {} as {}",
        event["httpMethod"], event["path"], event["requestContext"]["authorizer"]["userId"]
    );
    assert_eq!((got, &body), (status, &error(message, code)), "{what}");
    assert_eq!(
        snapshot(service.store()).await,
        before,
        "{what} wrote something"
    );
}

async fn forbidden(service: &ResourceService<MemoryStore>, event: &Value, message: &str) {
    refused(service, event, 403, "forbidden", message).await;
}

/// Sends a change and expects 200; the body.
async fn accepted<S: DirectoryStore>(service: &ResourceService<S>, event: &Value) -> Value {
    let (status, body) = invoke(service, event).await;
    assert_eq!(
        status, 200,
        "{} {}: {body}",
        event["httpMethod"], event["path"]
    );
    assert_eq!(body["takesEffect"], TAKES_EFFECT, "{body}");
    body
}

async fn record(store: &MemoryStore, user: &str) -> Option<UserRecord> {
    store.user(user).await.unwrap()
}

fn memberships(orgs: &[&str], companies: &[&str], locations: &[&str]) -> Memberships {
    Memberships {
        organization_ids: strings(orgs),
        company_ids: strings(companies),
        location_ids: strings(locations),
    }
}

fn member(user: &str, role: &str, suspended: bool, m: [&[&str]; 3]) -> Value {
    json!({
        "userId": user, "role": role, "suspended": suspended,
        "organizationIds": m[0], "companyIds": m[1], "locationIds": m[2],
    })
}

fn changed(user: &str, role: &str, suspended: bool, m: [&[&str]; 3]) -> Value {
    let mut view = member(user, role, suspended, m);
    view["takesEffect"] = json!(TAKES_EFFECT);
    view
}

fn user_ids(body: &Value) -> Vec<String> {
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["userId"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn the_gate_scope_first_then_role() {
    let (service, _) = service_on(world().await);
    let body = json!({"role": "signer", "locationIds": ["loc_a1a", "loc_a1b"]});
    for method in ["PUT", "DELETE"] {
        let change = |caller: &str, org: &str| match method {
            "PUT" => put(caller, org, "user_signer", body.clone()),
            _ => remove(caller, org, "user_signer"),
        };
        // Scope before anything: a read-only key or token, even an admin's, on any organization.
        for caller in ["admin_key_r", "mgr_org_key_r", "mgr_org_oauth_r"] {
            for org in ["org_a", "org_b", "org_zz"] {
                refused(
                    &service,
                    &change(caller, org),
                    403,
                    "insufficient_scope",
                    NO_WRITE,
                )
                .await;
            }
        }
        forbidden(&service, &change("admin", "org_a"), READ_ONLY).await;
        forbidden(&service, &change("admin", "org_zz"), READ_ONLY).await;
        forbidden(&service, &change("signer", "org_a"), MANAGERS_ONLY).await;
        forbidden(&service, &change("none", "org_a"), MANAGERS_ONLY).await;
    }
    // A bad body is looked at after the gate.
    let mut bad = put("admin_key_r", "org_a", "user_signer", json!({}));
    bad["body"] = json!("{");
    refused(&service, &bad, 403, "insufficient_scope", NO_WRITE).await;
    // Reads: signers and users without a record have no access; a key needs `read`.
    for caller in ["signer", "none"] {
        forbidden(&service, &list(caller, "org_a"), NO_ORG).await;
        forbidden(&service, &audit(caller, "org_a"), NO_ORG).await;
    }
    for event in [
        list("mgr_org_key_w", "org_a"),
        audit("mgr_org_key_w", "org_a"),
    ] {
        refused(&service, &event, 403, "insufficient_scope", NO_READ).await;
    }
    for caller in [
        "admin",
        "admin_key_r",
        "mgr_org",
        "mgr_org_key_r",
        "mgr_org_oauth_r",
    ] {
        assert_eq!(
            read(&service, &list(caller, "org_a")).await.0,
            200,
            "{caller}"
        );
        assert_eq!(
            read(&service, &audit(caller, "org_a")).await.0,
            200,
            "{caller}"
        );
    }
    // With `write`, keys and OAuth tokens change like their owner.
    let answer = accepted(
        &service,
        &put("mgr_org_key_rw", "org_a", "user_signer", body.clone()),
    )
    .await;
    assert_eq!(answer["locationIds"], json!(["loc_a1a", "loc_a1b"]));
    let answer = accepted(
        &service,
        &put(
            "mgr_org_oauth",
            "org_a",
            "user_signer",
            json!({"role": "signer"}),
        ),
    )
    .await;
    assert_eq!(answer["locationIds"], json!([]));
}

#[tokio::test]
async fn scope_before_existence() {
    let (service, _) = service_on(world().await);
    let body = json!({"role": "signer"});
    for org in ["org_b", "org_zz", "not an id"] {
        forbidden(
            &service,
            &put("mgr_org", org, "user_wide", body.clone()),
            NO_ORG,
        )
        .await;
        forbidden(&service, &remove("mgr_co", org, "user_wide"), NO_ORG).await;
        forbidden(&service, &list("mgr_loc", org), NO_ORG).await;
        forbidden(&service, &audit("mgr_org", org), NO_ORG).await;
    }
    // Admins, and managers holding a (missing) organization, learn that it does not exist.
    let not_found = error("organization not found", "not_found");
    for event in [list("admin", "org_zz"), audit("admin_key_r", "org_zz")] {
        assert_eq!(read(&service, &event).await, (404, not_found.clone()));
    }
    let mut ghost = put("mgr_org", "org_ghost", "user_wide", body);
    ghost["requestContext"]["authorizer"]["organizationIds"] = json!("org_ghost");
    refused(&service, &ghost, 404, "not_found", "organization not found").await;
}

#[tokio::test]
async fn nobody_changes_their_own_record() {
    let (service, _) = service_on(world().await);
    for (caller, user, body) in [
        (
            "mgr_org",
            "user_mgr_org",
            json!({"role": "manager", "organizationIds": ["org_a"]}),
        ),
        ("mgr_org", "user_mgr_org", json!({"role": "signer"})),
        (
            "mgr_co",
            "user_mgr_co",
            json!({"role": "manager", "companyIds": ["co_a1"]}),
        ),
        ("mgr_loc", "user_mgr_loc", json!({"role": "manager"})),
    ] {
        forbidden(&service, &put(caller, "org_a", user, body), OWN).await;
        forbidden(&service, &remove(caller, "org_a", user), OWN).await;
    }
    // Through a key or an OAuth token too.
    for caller in ["mgr_org_key_rw", "mgr_org_oauth"] {
        forbidden(&service, &remove(caller, "org_a", "user_mgr_org"), OWN).await;
    }
}

#[tokio::test]
async fn admin_is_never_granted_and_admins_are_never_changed() {
    let (service, _) = service_on(world().await);
    for target in ["user_signer", "user_new", "user_admin"] {
        forbidden(
            &service,
            &put("mgr_org", "org_a", target, json!({"role": "admin"})),
            ADMIN_GRANT,
        )
        .await;
    }
    forbidden(
        &service,
        &put(
            "mgr_org",
            "org_a",
            "user_admin",
            json!({"role": "manager", "organizationIds": ["org_a"]}),
        ),
        ADMIN_TARGET,
    )
    .await;
    forbidden(
        &service,
        &remove("mgr_org", "org_a", "user_admin"),
        ADMIN_TARGET,
    )
    .await;
    forbidden(
        &service,
        &remove("mgr_two", "org_a", "user_admin"),
        ADMIN_TARGET,
    )
    .await;
}

#[tokio::test]
async fn grants_stay_inside_the_organization_and_the_granters_scope() {
    let (service, _) = service_on(world().await);
    let outside =
        |kind: &str, id: &str| format!("you cannot grant {kind} {id}: it is outside your scope");
    let cases: [(&str, &str, Value, String); 14] = [
        // A company-level manager: that company and its locations only.
        (
            "mgr_co",
            "user_signer",
            json!({"organizationIds": ["org_a"]}),
            outside("organization", "org_a"),
        ),
        (
            "mgr_co",
            "user_signer",
            json!({"companyIds": ["co_a2"]}),
            outside("company", "co_a2"),
        ),
        (
            "mgr_co",
            "user_signer",
            json!({"locationIds": ["loc_a1a", "loc_a2a"]}),
            outside("location", "loc_a2a"),
        ),
        (
            "mgr_co",
            "user_signer",
            json!({"locationIds": ["loc_b1a"]}),
            outside("location", "loc_b1a"),
        ),
        (
            "mgr_co",
            "user_new",
            json!({"locationIds": ["loc_zz"]}),
            outside("location", "loc_zz"),
        ),
        (
            "mgr_co",
            "user_new",
            json!({"companyIds": ["co_b1"]}),
            outside("company", "co_b1"),
        ),
        // A location-level manager: that location only.
        (
            "mgr_loc",
            "user_new",
            json!({"locationIds": ["loc_a1a"]}),
            outside("location", "loc_a1a"),
        ),
        (
            "mgr_loc",
            "user_new",
            json!({"companyIds": ["co_a2"]}),
            outside("company", "co_a2"),
        ),
        (
            "mgr_loc",
            "user_new",
            json!({"organizationIds": ["org_a"]}),
            outside("organization", "org_a"),
        ),
        // An organization-level manager: anything in the organization, nothing outside it.
        (
            "mgr_org",
            "user_signer",
            json!({"organizationIds": ["org_b"]}),
            outside("organization", "org_b"),
        ),
        (
            "mgr_org",
            "user_signer",
            json!({"companyIds": ["co_b1"]}),
            outside("company", "co_b1"),
        ),
        (
            "mgr_org",
            "user_signer",
            json!({"locationIds": ["loc_b1a"]}),
            outside("location", "loc_b1a"),
        ),
        (
            "mgr_org",
            "user_signer",
            json!({"companyIds": ["co_zz"]}),
            outside("company", "co_zz"),
        ),
        // Even a manager of both organizations grants only inside the route's.
        (
            "mgr_two",
            "user_signer",
            json!({"locationIds": ["loc_b1a"]}),
            outside("location", "loc_b1a"),
        ),
    ];
    for (caller, target, mut body, message) in cases {
        body["role"] = json!("signer");
        forbidden(&service, &put(caller, "org_a", target, body), &message).await;
    }

    // Inside: accepted, and written as asked (the rest of the record kept).
    let answer = accepted(
        &service,
        &put("mgr_co", "org_a", "user_signer", json!({"role": "signer", "companyIds": ["co_a1"], "locationIds": ["loc_a1b", "loc_a1a"]})),
    )
    .await;
    assert_eq!(
        answer,
        changed(
            "user_signer",
            "signer",
            false,
            [&[], &["co_a1"], &["loc_a1a", "loc_a1b"]]
        )
    );
    let answer = accepted(
        &service,
        &put(
            "mgr_loc",
            "org_a",
            "user_new2",
            json!({"role": "signer", "locationIds": ["loc_a2a"]}),
        ),
    )
    .await;
    assert_eq!(
        answer,
        changed("user_new2", "signer", false, [&[], &[], &["loc_a2a"]])
    );
    let created = record(service.store(), "user_new2").await.unwrap();
    assert_eq!(created.role, Role::Signer);
    assert_eq!(created.memberships, memberships(&[], &[], &["loc_a2a"]));
    // An organization-level manager grants the organization itself, and a peer's role.
    let answer = accepted(
        &service,
        &put(
            "mgr_org",
            "org_a",
            "user_signer",
            json!({"role": "manager", "organizationIds": ["org_a"]}),
        ),
    )
    .await;
    assert_eq!(
        answer,
        changed("user_signer", "manager", false, [&["org_a"], &[], &[]])
    );
}

#[tokio::test]
async fn what_they_could_not_grant_they_cannot_take_away() {
    let (service, _) = service_on(world().await);
    // user_mixed holds loc_a1b (co_a1) and loc_a2a (co_a2).
    for caller in ["mgr_co", "mgr_loc"] {
        forbidden(
            &service,
            &put(
                caller,
                "org_a",
                "user_mixed",
                json!({"role": "signer", "locationIds": ["loc_a1b", "loc_a2a"]}),
            ),
            if caller == "mgr_co" {
                "you cannot grant location loc_a2a: it is outside your scope"
            } else {
                "you cannot grant location loc_a1b: it is outside your scope"
            },
        )
        .await;
        let own_part = if caller == "mgr_co" {
            "loc_a1b"
        } else {
            "loc_a2a"
        };
        forbidden(
            &service,
            &put(
                caller,
                "org_a",
                "user_mixed",
                json!({"role": "signer", "locationIds": [own_part]}),
            ),
            HELD,
        )
        .await;
        forbidden(&service, &remove(caller, "org_a", "user_mixed"), HELD).await;
    }
    // A company-level manager cannot take an organization membership away.
    forbidden(&service, &remove("mgr_co", "org_a", "user_mgr_org"), HELD).await;
    forbidden(&service, &remove("mgr_co", "org_a", "user_mgr_two"), HELD).await;
    // The organization-level manager can.
    let answer = accepted(&service, &remove("mgr_org", "org_a", "user_mixed")).await;
    assert_eq!(
        answer,
        changed("user_mixed", "signer", false, [&[], &[], &[]])
    );
}

#[tokio::test]
async fn the_role_is_global() {
    let (service, _) = service_on(world().await);
    // user_wide holds loc_a1a (org_a) and loc_b1a (org_b): org_a's manager cannot change the role...
    for role in ["manager", "signer"] {
        let body = json!({"role": role, "locationIds": ["loc_a1a"]});
        if role == "manager" {
            forbidden(&service, &put("mgr_org", "org_a", "user_wide", body), ROLE).await;
        } else {
            // ...but can change the memberships inside org_a when the role stays.
            let answer = accepted(
                &service,
                &put(
                    "mgr_org",
                    "org_a",
                    "user_wide",
                    json!({"role": role, "locationIds": ["loc_a1b", "loc_a1a"]}),
                ),
            )
            .await;
            assert_eq!(
                answer,
                changed(
                    "user_wide",
                    "signer",
                    false,
                    [&[], &[], &["loc_a1a", "loc_a1b"]]
                )
            );
            let wide = record(service.store(), "user_wide").await.unwrap();
            assert_eq!(
                wide.memberships,
                memberships(&[], &[], &["loc_b1a", "loc_a1a", "loc_a1b"])
            );
        }
    }
    // A manager of both organizations covers everything user_wide holds.
    let answer = accepted(
        &service,
        &put(
            "mgr_two",
            "org_a",
            "user_wide",
            json!({"role": "manager", "locationIds": ["loc_a1a"]}),
        ),
    )
    .await;
    assert_eq!(answer["role"], "manager");
    let wide = record(service.store(), "user_wide").await.unwrap();
    assert_eq!(wide.role, Role::Manager);
    assert_eq!(
        wide.memberships,
        memberships(&[], &[], &["loc_b1a", "loc_a1a"])
    );
    // A membership that sits nowhere (its location is gone) is in nobody's scope.
    forbidden(
        &service,
        &put(
            "mgr_org",
            "org_a",
            "user_ghost",
            json!({"role": "manager", "locationIds": ["loc_a1a"]}),
        ),
        ROLE,
    )
    .await;
    // A user without a record: every membership they will hold is the grant; a peer is allowed.
    let answer = accepted(
        &service,
        &put(
            "mgr_co",
            "org_a",
            "user_new",
            json!({"role": "manager", "companyIds": ["co_a1"]}),
        ),
    )
    .await;
    assert_eq!(
        answer,
        changed("user_new", "manager", false, [&[], &["co_a1"], &[]])
    );
    // Demoting that peer back is the same rule.
    accepted(
        &service,
        &put(
            "mgr_co",
            "org_a",
            "user_new",
            json!({"role": "signer", "companyIds": ["co_a1"]}),
        ),
    )
    .await;
    assert_eq!(
        record(service.store(), "user_new").await.unwrap().role,
        Role::Signer
    );
}

#[tokio::test]
async fn suspension_is_never_changed() {
    let store = world().await;
    let mut banned = UserRecord::new(
        "user_banned",
        Role::Signer,
        memberships(&[], &[], &["loc_a1b"]),
    );
    banned.clerk.suspended = true;
    store.put_user(banned);
    let (service, _) = service_on(store);
    for (user, role) in [("user_suspended", "manager"), ("user_banned", "signer")] {
        let answer = accepted(
            &service,
            &put(
                "mgr_co",
                "org_a",
                user,
                json!({"role": role, "locationIds": ["loc_a1a"]}),
            ),
        )
        .await;
        assert_eq!(answer, changed(user, role, true, [&[], &[], &["loc_a1a"]]));
        let after = record(service.store(), user).await.unwrap();
        assert!(after.is_suspended(), "{user}");
        assert_eq!(after.suspended, user == "user_suspended");
        assert_eq!(after.clerk.suspended, user == "user_banned");
        let answer = accepted(&service, &remove("mgr_co", "org_a", user)).await;
        assert_eq!(answer["suspended"], true);
        assert!(record(service.store(), user).await.unwrap().is_suspended());
    }
    let (_, body) = read(&service, &list("mgr_org", "org_a")).await;
    assert!(
        !user_ids(&body).contains(&"user_banned".to_owned()),
        "{body}"
    );
}

#[tokio::test]
async fn removing_a_member() {
    let (service, _) = service_on(world().await);
    let answer = accepted(&service, &remove("mgr_org", "org_a", "user_wide")).await;
    assert_eq!(
        answer,
        changed("user_wide", "signer", false, [&[], &[], &[]])
    );
    // Only the memberships inside the organization go; the role stays.
    let wide = record(service.store(), "user_wide").await.unwrap();
    assert_eq!(
        (wide.role, wide.memberships),
        (Role::Signer, memberships(&[], &[], &["loc_b1a"]))
    );
    let (_, body) = read(&service, &list("mgr_org", "org_a")).await;
    assert!(!user_ids(&body).contains(&"user_wide".to_owned()));
    let (_, body) = read(&service, &list("admin", "org_b")).await;
    assert_eq!(user_ids(&body), ["user_mgr_two", "user_wide"]);
    // Once they hold nothing there (or never had a record), there is no member to remove.
    for target in ["user_wide", "user_nobody"] {
        refused(
            &service,
            &remove("mgr_org", "org_a", target),
            404,
            "not_found",
            "member not found",
        )
        .await;
    }
    refused(
        &service,
        &remove("mgr_co", "org_a", "user_mgr_loc"),
        403,
        "forbidden",
        HELD,
    )
    .await;
}

#[tokio::test]
async fn listing_members() {
    let (service, _) = service_on(world().await);
    let everyone = [
        member("user_admin", "admin", false, [&["org_a"], &[], &[]]),
        member("user_ghost", "signer", false, [&[], &[], &["loc_a1a"]]),
        member("user_mgr_co", "manager", false, [&[], &["co_a1"], &[]]),
        member("user_mgr_loc", "manager", false, [&[], &[], &["loc_a2a"]]),
        member("user_mgr_org", "manager", false, [&["org_a"], &[], &[]]),
        member("user_mgr_two", "manager", false, [&["org_a"], &[], &[]]),
        member(
            "user_mixed",
            "signer",
            false,
            [&[], &[], &["loc_a1b", "loc_a2a"]],
        ),
        member("user_signer", "signer", false, [&[], &[], &["loc_a1a"]]),
        member("user_suspended", "signer", true, [&[], &[], &["loc_a1b"]]),
        member("user_wide", "signer", false, [&[], &[], &["loc_a1a"]]),
    ];
    let pick = |ids: &[&str]| -> Vec<Value> {
        everyone
            .iter()
            .filter(|m| ids.contains(&m["userId"].as_str().unwrap()))
            .cloned()
            .collect()
    };
    let all: Vec<&str> = everyone
        .iter()
        .map(|m| m["userId"].as_str().unwrap())
        .collect();
    for (caller, ids) in [
        ("admin", all.clone()),
        ("admin_key_r", all.clone()),
        ("mgr_org", all.clone()),
        ("mgr_org_key_r", all.clone()),
        ("mgr_two", all.clone()),
        // Members with at least one membership inside the manager's scope.
        (
            "mgr_co",
            vec![
                "user_ghost",
                "user_mgr_co",
                "user_mixed",
                "user_signer",
                "user_suspended",
                "user_wide",
            ],
        ),
        ("mgr_loc", vec!["user_mgr_loc", "user_mixed"]),
    ] {
        let (status, body) = read(&service, &list(caller, "org_a")).await;
        assert_eq!(status, 200, "{caller}: {body}");
        assert_eq!(
            body,
            json!({"items": pick(&ids), "nextCursor": null}),
            "{caller}"
        );

        // Page by page: each member once, in order, whatever the page size.
        for limit in ["1", "3"] {
            let mut seen: Vec<String> = Vec::new();
            let mut cursor: Option<String> = None;
            for _ in 0..20 {
                let mut query = vec![("limit", limit)];
                if let Some(cursor) = &cursor {
                    query.push(("cursor", cursor.as_str()));
                }
                let (status, body) =
                    read(&service, &with_query(list(caller, "org_a"), &query)).await;
                assert_eq!(status, 200, "{body}");
                seen.extend(user_ids(&body));
                match &body["nextCursor"] {
                    Value::String(next) => cursor = Some(next.clone()),
                    _ => break,
                }
            }
            assert_eq!(seen, ids, "{caller} by {limit}");
        }
    }
    let bad = with_query(list("mgr_co", "org_a"), &[("limit", "0")]);
    refused(
        &service,
        &bad,
        400,
        "bad_request",
        "limit must be a whole number from 1 to 100",
    )
    .await;
    let bad = with_query(list("admin", "org_a"), &[("cursor", "%%%")]);
    refused(&service, &bad, 400, "bad_request", "invalid cursor").await;
    // Role and suspension come from the records: a change shows at once.
    accepted(
        &service,
        &put(
            "mgr_org",
            "org_a",
            "user_mixed",
            json!({"role": "manager", "locationIds": ["loc_a2a"]}),
        ),
    )
    .await;
    let (_, body) = read(&service, &list("mgr_loc", "org_a")).await;
    assert_eq!(
        body["items"],
        json!([
            member("user_mgr_loc", "manager", false, [&[], &[], &["loc_a2a"]]),
            member("user_mixed", "manager", false, [&[], &[], &["loc_a2a"]]),
        ])
    );
    let (_, body) = read(&service, &list("mgr_co", "org_a")).await;
    assert!(!user_ids(&body).contains(&"user_mixed".to_owned()));
}

#[tokio::test]
async fn changes_are_audited_and_the_trail_is_for_organization_managers() {
    let (service, clock) = service_on(world().await);
    // A session (scoped to the caller's oldest key), an OAuth token (likewise, plus its client), a key.
    accepted(
        &service,
        &put(
            "mgr_org",
            "org_a",
            "user_new",
            json!({"role": "signer", "locationIds": ["loc_a1a"]}),
        ),
    )
    .await;
    clock.advance(1);
    accepted(
        &service,
        &put(
            "mgr_org_oauth",
            "org_a",
            "user_signer",
            json!({"role": "manager", "companyIds": ["co_a1"]}),
        ),
    )
    .await;
    clock.advance(1);
    accepted(&service, &remove("mgr_org_key_rw", "org_a", "user_signer")).await;
    clock.advance(1);
    // A change that changes nothing is not one: no entry.
    accepted(
        &service,
        &put(
            "mgr_org",
            "org_a",
            "user_new",
            json!({"role": "signer", "locationIds": ["loc_a1a"]}),
        ),
    )
    .await;

    let state = |role: &str, m: [&[&str]; 3]| json!({"role": role, "organizationIds": m[0], "companyIds": m[1], "locationIds": m[2]});
    let actor = |auth: &str, key: Option<&str>, client: Option<&str>| json!({"userId": "user_mgr_org", "authType": auth, "keyId": key, "clientId": client});
    let expected = [
        (
            NOW + 2,
            actor("api_key", Some("k_org_rw"), None),
            "member.delete",
            "user_signer",
            state("manager", [&[], &["co_a1"], &[]]),
            state("manager", [&[], &[], &[]]),
        ),
        (
            NOW + 1,
            actor("oauth", Some("k_org_rw"), Some("client_partner")),
            "member.put",
            "user_signer",
            state("signer", [&[], &[], &["loc_a1a"]]),
            state("manager", [&[], &["co_a1"], &[]]),
        ),
        (
            NOW,
            actor("session", Some("k_org_rw"), None),
            "member.put",
            "user_new",
            Value::Null,
            state("signer", [&[], &[], &["loc_a1a"]]),
        ),
    ];
    for caller in [
        "admin",
        "admin_key_r",
        "mgr_org",
        "mgr_org_key_r",
        "mgr_two",
    ] {
        let (status, body) = read(&service, &audit(caller, "org_a")).await;
        assert_eq!(status, 200, "{caller}: {body}");
        let items = body["items"].as_array().unwrap();
        assert_eq!(items.len(), expected.len(), "{caller}: {body}");
        assert_eq!(body["nextCursor"], Value::Null);
        for (item, (at, actor, action, target, before, after)) in items.iter().zip(&expected) {
            assert!(item["id"].as_str().is_some_and(is_valid_id), "{item}");
            assert_eq!(item["organizationId"], "org_a");
            assert_eq!(item["at"], crate::time::rfc3339(*at), "{item}");
            assert_eq!(&item["actor"], actor, "{item}");
            assert_eq!(item["action"], *action, "{item}");
            assert_eq!(item["target"], json!({"userId": target}), "{item}");
            assert_eq!(&item["before"], before, "{item}");
            assert_eq!(&item["after"], after, "{item}");
        }
    }
    // Pages.
    let (_, first) = read(
        &service,
        &with_query(audit("admin", "org_a"), &[("limit", "2")]),
    )
    .await;
    assert_eq!(first["items"].as_array().unwrap().len(), 2);
    let cursor = first["nextCursor"].as_str().unwrap().to_owned();
    let (_, second) = read(
        &service,
        &with_query(
            audit("admin", "org_a"),
            &[("limit", "2"), ("cursor", &cursor)],
        ),
    )
    .await;
    assert_eq!(second["items"][0]["target"]["userId"], "user_new");
    assert_eq!(second["nextCursor"], Value::Null);
    // Another organization's trail is its own.
    let (_, other) = read(&service, &audit("mgr_two", "org_b")).await;
    assert_eq!(other, json!({"items": [], "nextCursor": null}));
    // Company- and location-level managers do not read it.
    for caller in ["mgr_co", "mgr_loc"] {
        forbidden(&service, &audit(caller, "org_a"), AUDIT).await;
    }
}

#[tokio::test]
async fn bad_requests_say_what_is_wrong() {
    let (service, _) = service_on(world().await);
    let many: Vec<String> = (0..=MAX_IDS).map(|i| format!("loc_{i}")).collect();
    let ids = "must contain only ids (1 to 128 letters, digits, _ or -)";
    let cases: Vec<(Value, String)> = vec![
        (json!("{"), "request body is not valid JSON".into()),
        (json!("[]"), "request body must be a JSON object".into()),
        (json!({}), "role is required".into()),
        (json!({"role": null}), "role is required".into()),
        (
            json!({"role": "owner"}),
            r#"unknown role "owner"; expected manager or signer"#.into(),
        ),
        (
            json!({"role": "none"}),
            r#"unknown role "none"; expected manager or signer"#.into(),
        ),
        (
            json!({"role": 1}),
            "role must be a string: manager or signer".into(),
        ),
        (
            json!({"role": "signer", "extra": 1}),
            r#"unknown field "extra"; expected role, organizationIds, companyIds, locationIds"#
                .into(),
        ),
        (
            json!({"role": "signer", "locationIds": "loc_a1a"}),
            "locationIds must be an array of at most 100 ids".into(),
        ),
        (
            json!({"role": "signer", "locationIds": many}),
            "locationIds must be an array of at most 100 ids".into(),
        ),
        (
            json!({"role": "signer", "companyIds": ["a b"]}),
            format!("companyIds {ids}"),
        ),
        (
            json!({"role": "signer", "organizationIds": [1]}),
            format!("organizationIds {ids}"),
        ),
    ];
    for (body, message) in cases {
        let mut event = put("mgr_org", "org_a", "user_signer", json!({}));
        event["body"] = match body {
            Value::String(raw) => json!(raw),
            other => json!(other.to_string()),
        };
        refused(&service, &event, 400, "bad_request", &message).await;
    }
    let mut event = put("mgr_org", "org_a", "user_signer", json!({"role": "signer"}));
    event["pathParameters"]["userId"] = json!("not an id");
    refused(
        &service,
        &event,
        400,
        "bad_request",
        "userId must be a user id",
    )
    .await;
    let mut event = put("mgr_org", "org_a", "user_signer", json!({}));
    event["body"] = json!("x".repeat(crate::api::MAX_BODY_BYTES + 1));
    refused(
        &service,
        &event,
        413,
        "payload_too_large",
        "request body too large",
    )
    .await;
    // Lists are optional (null or absent: empty); duplicates count once; a change to nothing is a
    // 200 that writes nothing.
    let before = snapshot(service.store()).await;
    let answer = accepted(
        &service,
        &put(
            "mgr_org",
            "org_a",
            "user_signer",
            json!({"role": "signer", "companyIds": null, "locationIds": ["loc_a1a", "loc_a1a"]}),
        ),
    )
    .await;
    assert_eq!(
        answer,
        changed("user_signer", "signer", false, [&[], &[], &["loc_a1a"]])
    );
    assert_eq!(snapshot(service.store()).await, before);
}

#[tokio::test]
async fn the_http_api_twin_changes_alike() {
    let (service, _) = service_on(world().await);
    let event = put(
        "mgr_co",
        "org_a",
        "user_signer",
        json!({"role": "signer", "locationIds": ["loc_a1b"]}),
    );
    let (status, body) = invoke(
        &service,
        &gatehouse_testkit::samples::http_api_event(&event),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        changed("user_signer", "signer", false, [&[], &[], &["loc_a1b"]])
    );
    let twin =
        gatehouse_testkit::samples::http_api_event(&remove("mgr_co", "org_a", "user_signer"));
    assert_eq!(invoke(&service, &twin).await.0, 200);
    assert_eq!(
        invoke(&service, &twin).await,
        (404, error("member not found", "not_found"))
    );
}

/// A memory store whose records change under a change: before each of the next `races`
/// `change_membership` calls, a rival rewrites the target's record (through the operator's write,
/// which moves its revision), so the change conflicts.
#[derive(Clone)]
struct Racing {
    inner: MemoryStore,
    races: Arc<AtomicUsize>,
    rival: Arc<dyn Fn(&mut UserRecord) + Send + Sync>,
}

impl Racing {
    fn new(
        inner: MemoryStore,
        races: usize,
        rival: impl Fn(&mut UserRecord) + Send + Sync + 'static,
    ) -> Self {
        Racing {
            inner,
            races: Arc::new(AtomicUsize::new(races)),
            rival: Arc::new(rival),
        }
    }
}

impl AuthStore for Racing {
    async fn api_key_by_hash(&self, hash: &KeyHash) -> Result<Option<ApiKeyRecord>, StoreError> {
        self.inner.api_key_by_hash(hash).await
    }
    async fn user(&self, user_id: &str) -> Result<Option<UserRecord>, StoreError> {
        self.inner.user(user_id).await
    }
    async fn touch_api_key(&self, hash: &KeyHash, now: i64, min: i64) -> Result<bool, StoreError> {
        self.inner.touch_api_key(hash, now, min).await
    }
}

impl KeyStore for Racing {
    async fn create_api_key(
        &self,
        record: &ApiKeyRecord,
        limit: usize,
        now: i64,
    ) -> Result<(), CreateKeyError> {
        self.inner.create_api_key(record, limit, now).await
    }
    async fn api_keys_of(&self, user_id: &str) -> Result<Vec<ApiKeyRecord>, StoreError> {
        self.inner.api_keys_of(user_id).await
    }
    async fn api_key_by_id(&self, key_id: &str) -> Result<Option<ApiKeyRecord>, StoreError> {
        self.inner.api_key_by_id(key_id).await
    }
    async fn revoke_api_key(
        &self,
        user_id: &str,
        key_id: &str,
        now: i64,
    ) -> Result<Option<ApiKeyRecord>, StoreError> {
        self.inner.revoke_api_key(user_id, key_id, now).await
    }
    async fn active_keys_of(&self, user_id: &str) -> Result<Vec<ActiveKeyRef>, StoreError> {
        self.inner.active_keys_of(user_id).await
    }
    async fn put_user(&self, user: &UserRecord) -> Result<(), StoreError> {
        KeyStore::put_user(&self.inner, user).await
    }
}

impl ResourceStore for Racing {
    async fn put_organization(&self, organization: &Organization) -> Result<(), StoreError> {
        self.inner.put_organization(organization).await
    }
    async fn put_company(&self, company: &Company) -> Result<(), StoreError> {
        self.inner.put_company(company).await
    }
    async fn put_location(&self, location: &Location) -> Result<(), StoreError> {
        self.inner.put_location(location).await
    }
    async fn put_template(&self, template: &Template) -> Result<(), StoreError> {
        self.inner.put_template(template).await
    }
    async fn put_package(&self, package: &Package) -> Result<(), StoreError> {
        self.inner.put_package(package).await
    }
    async fn create_package(&self, package: &Package) -> Result<(), CreatePackageError> {
        self.inner.create_package(package).await
    }
    async fn organization(&self, id: &str) -> Result<Option<Organization>, StoreError> {
        self.inner.organization(id).await
    }
    async fn company(&self, id: &str) -> Result<Option<Company>, StoreError> {
        self.inner.company(id).await
    }
    async fn location(&self, id: &str) -> Result<Option<Location>, StoreError> {
        self.inner.location(id).await
    }
    async fn package(&self, id: &str) -> Result<Option<Package>, StoreError> {
        self.inner.package(id).await
    }
    async fn companies_by_ids(&self, ids: &[String]) -> Result<Vec<Company>, StoreError> {
        self.inner.companies_by_ids(ids).await
    }
    async fn locations_by_ids(&self, ids: &[String]) -> Result<Vec<Location>, StoreError> {
        self.inner.locations_by_ids(ids).await
    }
    async fn organizations(&self, page: PageRequest) -> Result<Page<Organization>, StoreError> {
        self.inner.organizations(page).await
    }
    async fn companies_of(
        &self,
        org: &str,
        page: PageRequest,
    ) -> Result<Page<Company>, StoreError> {
        self.inner.companies_of(org, page).await
    }
    async fn locations_of_organization(
        &self,
        org: &str,
        page: PageRequest,
    ) -> Result<Page<Location>, StoreError> {
        self.inner.locations_of_organization(org, page).await
    }
    async fn locations_of_company(
        &self,
        company: &str,
        page: PageRequest,
    ) -> Result<Page<Location>, StoreError> {
        self.inner.locations_of_company(company, page).await
    }
    async fn templates_of(
        &self,
        org: &str,
        page: PageRequest,
    ) -> Result<Page<Template>, StoreError> {
        self.inner.templates_of(org, page).await
    }
    async fn packages_at(
        &self,
        location: &str,
        page: PageRequest,
    ) -> Result<Page<Package>, StoreError> {
        self.inner.packages_at(location, page).await
    }
    async fn packages_of_signer(
        &self,
        user: &str,
        page: PageRequest,
    ) -> Result<Page<Package>, StoreError> {
        self.inner.packages_of_signer(user, page).await
    }
}

impl DirectoryStore for Racing {
    async fn apply_clerk_event(
        &self,
        event: &ClerkEvent,
        role: Role,
    ) -> Result<ClerkOutcome, StoreError> {
        self.inner.apply_clerk_event(event, role).await
    }
    async fn revoke_keys_of(&self, user_id: &str, now: i64) -> Result<usize, StoreError> {
        self.inner.revoke_keys_of(user_id, now).await
    }
    async fn webhook_delivery_seen(&self, id: &str) -> Result<bool, StoreError> {
        self.inner.webhook_delivery_seen(id).await
    }
    async fn record_webhook_delivery(
        &self,
        id: &str,
        kind: &str,
        at: i64,
    ) -> Result<(), StoreError> {
        self.inner.record_webhook_delivery(id, kind, at).await
    }
    async fn members_of(
        &self,
        org: &str,
        page: PageRequest,
    ) -> Result<Page<MemberEntry>, StoreError> {
        self.inner.members_of(org, page).await
    }
    async fn users_by_ids(&self, ids: &[String]) -> Result<Vec<UserRecord>, StoreError> {
        self.inner.users_by_ids(ids).await
    }
    async fn change_membership(&self, change: &MembershipChange) -> Result<(), ChangeError> {
        let racing = self
            .races
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if racing && let Some(mut user) = self.inner.user(&change.user.user_id).await? {
            (self.rival)(&mut user);
            KeyStore::put_user(&self.inner, &user).await?;
        }
        self.inner.change_membership(change).await
    }
    async fn audit_of(&self, org: &str, page: PageRequest) -> Result<Page<AuditEntry>, StoreError> {
        self.inner.audit_of(org, page).await
    }
}

#[tokio::test]
async fn a_conflict_is_read_and_decided_again() {
    // A harmless rival (an operator suspends the user meanwhile): the change applies to the new
    // record, and keeps the suspension.
    let store = world().await;
    let racing = Racing::new(store.clone(), 1, |user| user.suspended = true);
    let (service, _) = service_on(racing.clone());
    let answer = accepted(
        &service,
        &put(
            "mgr_org",
            "org_a",
            "user_signer",
            json!({"role": "manager", "locationIds": ["loc_a1b"]}),
        ),
    )
    .await;
    assert_eq!(
        answer,
        changed("user_signer", "manager", true, [&[], &[], &["loc_a1b"]])
    );
    assert_eq!(racing.races.load(Ordering::SeqCst), 0);
    let signer = record(&store, "user_signer").await.unwrap();
    assert!(signer.suspended);
    assert_eq!(
        (signer.role, signer.memberships.clone()),
        (Role::Manager, memberships(&[], &[], &["loc_a1b"]))
    );
    assert_eq!(
        signer.revision, 3,
        "seeded 1, the rival's write, the change"
    );
    let (_, trail) = invoke(&service, &audit("mgr_org", "org_a")).await;
    assert_eq!(trail["items"].as_array().unwrap().len(), 1, "{trail}");

    // A rival that makes the change unlawful: decided again, refused, nothing of ours written.
    let store = world().await;
    let racing = Racing::new(store.clone(), 1, |user| {
        user.memberships.location_ids.push("loc_b1a".into())
    });
    let (service, _) = service_on(racing);
    let (status, body) = invoke(
        &service,
        &put(
            "mgr_org",
            "org_a",
            "user_signer",
            json!({"role": "manager", "locationIds": ["loc_a1a"]}),
        ),
    )
    .await;
    assert_eq!((status, body), (403, error(ROLE, "forbidden")));
    let signer = record(&store, "user_signer").await.unwrap();
    assert_eq!(
        (signer.role, signer.memberships),
        (Role::Signer, memberships(&[], &[], &["loc_a1a", "loc_b1a"]))
    );
    assert_eq!(snapshot(&store).await.1, Vec::<AuditEntry>::new());

    // A record that never stops changing: a few attempts, then a 500, and no change of ours.
    let store = world().await;
    let racing = Racing::new(store.clone(), 100, |user| user.suspended = !user.suspended);
    let (service, _) = service_on(racing.clone());
    let (status, body) = invoke(&service, &remove("mgr_org", "org_a", "user_signer")).await;
    assert_eq!(
        (status, body),
        (500, error("internal error", "internal_error"))
    );
    assert_eq!(racing.races.load(Ordering::SeqCst), 100 - ATTEMPTS);
    let signer = record(&store, "user_signer").await.unwrap();
    assert_eq!(signer.memberships, memberships(&[], &[], &["loc_a1a"]));
    assert_eq!(snapshot(&store).await.1, Vec::<AuditEntry>::new());
}

#[tokio::test]
async fn a_store_failure_is_a_500() {
    let store = world().await;
    let (service, _) = service_on(store.clone());
    store.set_failing(true);
    for event in [
        list("mgr_org", "org_a"),
        audit("admin", "org_a"),
        put("mgr_org", "org_a", "user_signer", json!({"role": "signer"})),
        remove("mgr_org", "org_a", "user_signer"),
    ] {
        assert_eq!(
            invoke(&service, &event).await,
            (500, error("internal error", "internal_error"))
        );
    }
}

#[tokio::test]
async fn the_sample_events_on_the_demo_world() {
    let store = MemoryStore::new();
    store
        .put_organization(&Organization {
            id: "org_demo".into(),
            name: "Demo Realty".into(),
        })
        .await
        .unwrap();
    store
        .put_company(&Company {
            id: "co_demo_east".into(),
            organization_id: "org_demo".into(),
            name: "East".into(),
        })
        .await
        .unwrap();
    store
        .put_location(&Location {
            id: "loc_demo_1".into(),
            company_id: "co_demo_east".into(),
            organization_id: "org_demo".into(),
            name: "Boston".into(),
        })
        .await
        .unwrap();
    store.put_user(UserRecord::new(
        "user_demo_manager",
        Role::Manager,
        memberships(&["org_demo"], &[], &[]),
    ));
    store.put_user(UserRecord::new(
        "user_demo_signer",
        Role::Signer,
        memberships(&[], &[], &["loc_demo_1"]),
    ));
    let (service, clock) = service_on(store);

    let (status, body) = read(&service, &sample_of(Route::ListMembers)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(user_ids(&body), ["user_demo_manager", "user_demo_signer"]);

    let put_member = sample_of(Route::PutMember);
    let expected = changed(
        "user_demo_signer",
        "signer",
        false,
        [&[], &["co_demo_east"], &["loc_demo_1"]],
    );
    assert_eq!(invoke(&service, &put_member).await, (200, expected.clone()));
    // Again, from an HTTP API: the same answer, and nothing left to change.
    let http = gatehouse_testkit::samples::http_api_event(&put_member);
    assert_eq!(invoke(&service, &http).await, (200, expected));
    clock.advance(1);

    let remove_member = sample_of(Route::RemoveMember);
    let emptied = changed("user_demo_signer", "signer", false, [&[], &[], &[]]);
    assert_eq!(invoke(&service, &remove_member).await, (200, emptied));
    let http = gatehouse_testkit::samples::http_api_event(&remove_member);
    assert_eq!(
        invoke(&service, &http).await,
        (404, error("member not found", "not_found"))
    );

    let (status, body) = read(&service, &sample_of(Route::ListAudit)).await;
    assert_eq!(status, 200, "{body}");
    let actions: Vec<&str> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["member.delete", "member.put"]);
    assert_eq!(body["items"][1]["actor"]["userId"], "user_demo_manager");
    assert_eq!(body["items"][1]["actor"]["keyId"], Value::Null);
}

#[tokio::test]
async fn a_refused_caller_reaches_no_logic() {
    // The store fails every call: an answer other than the 401 would mean the route read something.
    let store = world().await;
    let (service, _) = service_on(store.clone());
    store.set_failing(true);
    for event in [
        list("mgr_org", "org_a"),
        audit("admin", "org_a"),
        put("mgr_org", "org_a", "user_signer", json!({"role": "signer"})),
        remove("mgr_org", "org_a", "user_signer"),
    ] {
        let mut event = event;
        event["requestContext"]["authorizer"] = json!({"refusal": "account_suspended"});
        for event in [
            event.clone(),
            gatehouse_testkit::samples::http_api_event(&event),
        ] {
            assert_eq!(
                invoke(&service, &event).await,
                (401, error("account suspended", "account_suspended"))
            );
        }
    }
}
