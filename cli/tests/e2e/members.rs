//! Delegated role administration end to end (README "Delegated role administration"), through the
//! real `gatehouse serve`: a table-driven matrix of the resource matrix's callers (each role's
//! session, a read-only and a read-write API key, an OAuth token) against in-scope, out-of-scope,
//! escalating (an `admin` grant, an organization membership from a company manager, a role change
//! over memberships elsewhere) and self-targeted changes, asserting status, code and message.
//!
//! A refused change must leave no trace but the refused request: after each one, the target's record
//! (`gatehouse users get`), both organizations' member listings and both audit trails are exactly as
//! before. An accepted change must answer the member as they now are, appear at the head of the audit
//! trail with who made it (user, auth type, key, client), its before and after, and take effect at the
//! target's next uncached authorizer call: `GET /v1/me` with a freshly minted token shows the new role
//! and memberships. A second scenario shows the authorizer cache delaying a change until it expires.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use gatehouse_testkit::serve::{Serve, StoreKind};
use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{Reply, create_key, get, me, request, send};

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
/// What every accepted change says about when it applies.
const TAKES_EFFECT: &str = "at the user's next uncached authorizer call";

/// Every caller of the matrix.
const CALLERS: [&str; 11] = [
    "admin",
    "admin_key_r",
    "mgr_org",
    "mgr_org_key_r",
    "mgr_org_key_rw",
    "mgr_org_oauth",
    "mgr_co",
    "mgr_loc",
    "mgr_big",
    "signer",
    "none",
];

/// The user behind each caller.
fn user_of(caller: &str) -> &'static str {
    match caller {
        "admin" | "admin_key_r" => "user_admin",
        "mgr_org" | "mgr_org_key_r" | "mgr_org_key_rw" | "mgr_org_oauth" => "user_mgr_org",
        "mgr_co" => "user_mgr_co",
        "mgr_loc" => "user_mgr_loc",
        "mgr_big" => "user_mgr_big",
        "signer" => "user_signer",
        "none" => "user_none",
        other => panic!("unknown caller {other}"),
    }
}

/// The world: the resource matrix's organizations, companies and locations, its managers, and the
/// targets the rules need.
fn world() -> Value {
    let mut big: Vec<Value> = vec![json!({"locationId": "loc_a2a"})];
    big.extend((0..499).map(|i| json!({"locationId": format!("loc_ghost_{i:03}")})));
    json!({
        "organizations": [
            {"id": "org_a", "name": "Org A"},
            {"id": "org_b", "name": "Org B"},
        ],
        "companies": [
            {"id": "co_a1", "organizationId": "org_a", "name": "Company A1"},
            {"id": "co_a2", "organizationId": "org_a", "name": "Company A2"},
            {"id": "co_b1", "organizationId": "org_b", "name": "Company B1"},
        ],
        "locations": [
            {"id": "loc_a1a", "companyId": "co_a1", "name": "A1a"},
            {"id": "loc_a1b", "companyId": "co_a1", "name": "A1b"},
            {"id": "loc_a2a", "companyId": "co_a2", "name": "A2a"},
            {"id": "loc_b1a", "companyId": "co_b1", "name": "B1a"},
        ],
        "users": [
            {"id": "user_admin", "role": "admin"},
            {"id": "user_mgr_org", "role": "manager", "memberships": [{"organizationId": "org_a"}]},
            {"id": "user_mgr_co", "role": "manager", "memberships": [{"companyId": "co_a1"}]},
            {"id": "user_mgr_loc", "role": "manager", "memberships": [{"locationId": "loc_a2a"}]},
            {"id": "user_mgr_big", "role": "manager", "memberships": big},
            {"id": "user_signer", "role": "signer", "memberships": [{"locationId": "loc_a1a"}]},
            {"id": "user_t_mixed", "role": "signer",
             "memberships": [{"locationId": "loc_a1b"}, {"locationId": "loc_a2a"}]},
            {"id": "user_t_wide", "role": "signer",
             "memberships": [{"locationId": "loc_a1a"}, {"locationId": "loc_b1a"}]},
            {"id": "user_t_admin", "role": "admin", "memberships": [{"organizationId": "org_a"}]},
            {"id": "user_t_b", "role": "signer", "memberships": [{"locationId": "loc_b1a"}]},
            {"id": "user_t_susp", "role": "signer", "suspended": true,
             "memberships": [{"locationId": "loc_a1b"}]},
        ],
    })
}

/// Memberships as the API shows them: organization, company and location ids.
type Lists<'a> = [&'a [&'a str]; 3];

/// A member view (without `takesEffect`).
fn member(user: &str, role: &str, suspended: bool, lists: Lists<'_>) -> Value {
    json!({
        "userId": user, "role": role, "suspended": suspended,
        "organizationIds": lists[0], "companyIds": lists[1], "locationIds": lists[2],
    })
}

/// A user record as `gatehouse users get` prints it.
fn record(user: &str, role: &str, lists: Lists<'_>, suspended: bool) -> Value {
    json!({
        "userId": user, "role": role,
        "organizationIds": lists[0], "companyIds": lists[1], "locationIds": lists[2],
        "suspended": suspended,
    })
}

/// What a change must answer.
#[derive(Debug, Clone)]
enum Outcome {
    /// An error body, and no trace.
    Refused(u16, &'static str, String),
    /// 200 with this member view; the target's record (`users get`) is then this; a new audit entry.
    Changed { view: Value, record: Value },
    /// 200 with this member view, and nothing written (the change changes nothing).
    Unchanged(Value),
}

fn forbidden(message: &str) -> Outcome {
    Outcome::Refused(403, "forbidden", message.to_owned())
}

fn grant(kind: &str, id: &str) -> Outcome {
    forbidden(&format!(
        "you cannot grant {kind} {id}: it is outside your scope"
    ))
}

fn no_write() -> Outcome {
    Outcome::Refused(403, "insufficient_scope", NO_WRITE.to_owned())
}

/// One change of the matrix.
#[derive(Debug, Clone)]
struct Change {
    caller: &'static str,
    method: Method,
    org: &'static str,
    target: &'static str,
    body: Option<Value>,
    outcome: Outcome,
}

fn put(
    caller: &'static str,
    org: &'static str,
    target: &'static str,
    body: Value,
    outcome: Outcome,
) -> Change {
    Change {
        caller,
        method: Method::PUT,
        org,
        target,
        body: Some(body),
        outcome,
    }
}

fn delete(
    caller: &'static str,
    org: &'static str,
    target: &'static str,
    outcome: Outcome,
) -> Change {
    Change {
        caller,
        method: Method::DELETE,
        org,
        target,
        body: None,
        outcome,
    }
}

fn changed(view: Value, record: Value) -> Outcome {
    Outcome::Changed { view, record }
}

/// The changes, in order (accepted ones change what later rows see).
fn changes() -> Vec<Change> {
    let in_scope = json!({"role": "signer", "locationIds": ["loc_a1a", "loc_a1b"]});
    let mut c = Vec::new();

    // Every caller, one in-scope change (user_signer holds loc_a1a, in co_a1).
    for (caller, outcome) in [
        ("admin", forbidden(READ_ONLY)),
        ("admin_key_r", no_write()),
        ("mgr_org_key_r", no_write()),
        ("signer", forbidden(MANAGERS_ONLY)),
        ("none", forbidden(MANAGERS_ONLY)),
        ("mgr_loc", grant("location", "loc_a1a")),
        ("mgr_big", grant("location", "loc_a1a")),
        (
            "mgr_co",
            changed(
                member(
                    "user_signer",
                    "signer",
                    false,
                    [&[], &[], &["loc_a1a", "loc_a1b"]],
                ),
                record(
                    "user_signer",
                    "signer",
                    [&[], &[], &["loc_a1a", "loc_a1b"]],
                    false,
                ),
            ),
        ),
    ] {
        c.push(put(
            caller,
            "org_a",
            "user_signer",
            in_scope.clone(),
            outcome,
        ));
    }
    c.push(put(
        "mgr_org_key_rw",
        "org_a",
        "user_signer",
        json!({"role": "signer", "companyIds": ["co_a1"]}),
        changed(
            member("user_signer", "signer", false, [&[], &["co_a1"], &[]]),
            record("user_signer", "signer", [&[], &["co_a1"], &[]], false),
        ),
    ));
    c.push(put(
        "mgr_org_oauth",
        "org_a",
        "user_signer",
        json!({"role": "signer", "locationIds": ["loc_a1a"]}),
        changed(
            member("user_signer", "signer", false, [&[], &[], &["loc_a1a"]]),
            record("user_signer", "signer", [&[], &[], &["loc_a1a"]], false),
        ),
    ));
    c.push(put(
        "mgr_org",
        "org_a",
        "user_signer",
        json!({"role": "signer", "organizationIds": [], "locationIds": ["loc_a1a", "loc_a1a"]}),
        Outcome::Unchanged(member(
            "user_signer",
            "signer",
            false,
            [&[], &[], &["loc_a1a"]],
        )),
    ));

    // Every caller but the ones allowed, one in-scope removal.
    for (caller, outcome) in [
        ("admin", forbidden(READ_ONLY)),
        ("admin_key_r", no_write()),
        ("mgr_org_key_r", no_write()),
        ("signer", forbidden(MANAGERS_ONLY)),
        ("none", forbidden(MANAGERS_ONLY)),
        ("mgr_loc", forbidden(HELD)),
        ("mgr_big", forbidden(HELD)),
    ] {
        c.push(delete(caller, "org_a", "user_signer", outcome));
    }

    // Out of scope: another organization (existing or not), grants outside the organization or the
    // granter's part of it, members holding what the granter could not grant.
    let b = json!({"role": "signer", "locationIds": ["loc_b1a"]});
    c.push(put(
        "mgr_org",
        "org_b",
        "user_t_b",
        b.clone(),
        forbidden(NO_ORG),
    ));
    c.push(put("mgr_co", "org_b", "user_t_b", b, forbidden(NO_ORG)));
    c.push(delete("mgr_loc", "org_b", "user_t_b", forbidden(NO_ORG)));
    c.push(delete(
        "mgr_org_oauth",
        "org_b",
        "user_t_wide",
        forbidden(NO_ORG),
    ));
    c.push(put(
        "mgr_org",
        "org_zz",
        "user_signer",
        json!({"role": "signer"}),
        forbidden(NO_ORG),
    ));
    for (caller, body, outcome) in [
        (
            "mgr_org",
            json!({"locationIds": ["loc_b1a"]}),
            grant("location", "loc_b1a"),
        ),
        (
            "mgr_org",
            json!({"companyIds": ["co_b1"]}),
            grant("company", "co_b1"),
        ),
        (
            "mgr_org",
            json!({"locationIds": ["loc_zz"]}),
            grant("location", "loc_zz"),
        ),
        (
            "mgr_co",
            json!({"companyIds": ["co_a2"]}),
            grant("company", "co_a2"),
        ),
        (
            "mgr_co",
            json!({"locationIds": ["loc_a1a", "loc_a2a"]}),
            grant("location", "loc_a2a"),
        ),
        (
            "mgr_big",
            json!({"locationIds": ["loc_ghost_001"]}),
            grant("location", "loc_ghost_001"),
        ),
    ] {
        let mut body = body;
        body["role"] = json!("signer");
        c.push(put(caller, "org_a", "user_signer", body, outcome));
    }
    c.push(put(
        "mgr_loc",
        "org_a",
        "user_t_mixed",
        json!({"role": "signer", "locationIds": ["loc_a2a"]}),
        forbidden(HELD),
    ));
    c.push(put(
        "mgr_co",
        "org_a",
        "user_t_mixed",
        json!({"role": "signer", "locationIds": ["loc_a1b"]}),
        forbidden(HELD),
    ));
    c.push(delete("mgr_big", "org_a", "user_t_mixed", forbidden(HELD)));
    c.push(delete("mgr_co", "org_a", "user_t_mixed", forbidden(HELD)));
    c.push(delete("mgr_co", "org_a", "user_mgr_org", forbidden(HELD)));

    // Escalating: admin, an organization membership from a company manager, a role change over
    // memberships elsewhere, an admin's record.
    c.push(put(
        "mgr_org",
        "org_a",
        "user_signer",
        json!({"role": "admin", "locationIds": ["loc_a1a"]}),
        forbidden(ADMIN_GRANT),
    ));
    c.push(put(
        "mgr_co",
        "org_a",
        "user_fresh1",
        json!({"role": "admin", "companyIds": ["co_a1"]}),
        forbidden(ADMIN_GRANT),
    ));
    c.push(put(
        "mgr_org_key_rw",
        "org_a",
        "user_fresh1",
        json!({"role": "admin"}),
        forbidden(ADMIN_GRANT),
    ));
    c.push(put(
        "mgr_co",
        "org_a",
        "user_signer",
        json!({"role": "signer", "organizationIds": ["org_a"]}),
        grant("organization", "org_a"),
    ));
    c.push(put(
        "mgr_loc",
        "org_a",
        "user_fresh1",
        json!({"role": "signer", "companyIds": ["co_a2"]}),
        grant("company", "co_a2"),
    ));
    for caller in ["mgr_org", "mgr_co", "mgr_org_oauth"] {
        c.push(put(
            caller,
            "org_a",
            "user_t_wide",
            json!({"role": "manager", "locationIds": ["loc_a1a"]}),
            forbidden(ROLE),
        ));
    }
    c.push(put(
        "mgr_org",
        "org_a",
        "user_t_admin",
        json!({"role": "manager", "organizationIds": ["org_a"]}),
        forbidden(ADMIN_TARGET),
    ));
    c.push(delete(
        "mgr_org",
        "org_a",
        "user_t_admin",
        forbidden(ADMIN_TARGET),
    ));

    // Self-targeted.
    c.push(put(
        "mgr_org",
        "org_a",
        "user_mgr_org",
        json!({"role": "manager", "organizationIds": ["org_a"]}),
        forbidden(OWN),
    ));
    c.push(delete("mgr_org", "org_a", "user_mgr_org", forbidden(OWN)));
    c.push(delete(
        "mgr_org_key_rw",
        "org_a",
        "user_mgr_org",
        forbidden(OWN),
    ));
    c.push(put(
        "mgr_org_oauth",
        "org_a",
        "user_mgr_org",
        json!({"role": "signer"}),
        forbidden(OWN),
    ));
    c.push(put(
        "mgr_co",
        "org_a",
        "user_mgr_co",
        json!({"role": "manager", "companyIds": ["co_a1"]}),
        forbidden(OWN),
    ));
    c.push(delete("mgr_loc", "org_a", "user_mgr_loc", forbidden(OWN)));
    c.push(put(
        "mgr_big",
        "org_a",
        "user_mgr_big",
        json!({"role": "manager", "locationIds": ["loc_a2a"]}),
        forbidden(OWN),
    ));
    c.push(put(
        "admin",
        "org_a",
        "user_admin",
        json!({"role": "signer"}),
        forbidden(READ_ONLY),
    ));
    c.push(put(
        "signer",
        "org_a",
        "user_signer",
        json!({"role": "manager", "locationIds": ["loc_a1a"]}),
        forbidden(MANAGERS_ONLY),
    ));

    // Bad bodies.
    c.push(put(
        "mgr_org",
        "org_a",
        "user_signer",
        json!({"role": "signer", "extra": 1}),
        Outcome::Refused(
            400,
            "bad_request",
            r#"unknown field "extra"; expected role, organizationIds, companyIds, locationIds"#
                .to_owned(),
        ),
    ));
    c.push(put(
        "mgr_org",
        "org_a",
        "user_signer",
        json!({"role": "owner"}),
        Outcome::Refused(
            400,
            "bad_request",
            r#"unknown role "owner"; expected manager or signer"#.to_owned(),
        ),
    ));

    // Accepted: a peer from a company manager (no record before), a role change inside a location
    // manager's scope (with memberships loaded from the store), memberships changed under a role
    // that stays, a suspended user, removals.
    c.push(put(
        "mgr_co",
        "org_a",
        "user_fresh1",
        json!({"role": "manager", "companyIds": ["co_a1"]}),
        changed(
            member("user_fresh1", "manager", false, [&[], &["co_a1"], &[]]),
            record("user_fresh1", "manager", [&[], &["co_a1"], &[]], false),
        ),
    ));
    c.push(put(
        "mgr_loc",
        "org_a",
        "user_fresh2",
        json!({"role": "signer", "locationIds": ["loc_a2a"]}),
        changed(
            member("user_fresh2", "signer", false, [&[], &[], &["loc_a2a"]]),
            record("user_fresh2", "signer", [&[], &[], &["loc_a2a"]], false),
        ),
    ));
    c.push(put(
        "mgr_big",
        "org_a",
        "user_fresh2",
        json!({"role": "manager", "locationIds": ["loc_a2a"]}),
        changed(
            member("user_fresh2", "manager", false, [&[], &[], &["loc_a2a"]]),
            record("user_fresh2", "manager", [&[], &[], &["loc_a2a"]], false),
        ),
    ));
    c.push(put(
        "mgr_org",
        "org_a",
        "user_t_wide",
        json!({"role": "signer", "locationIds": ["loc_a1b"]}),
        changed(
            member("user_t_wide", "signer", false, [&[], &[], &["loc_a1b"]]),
            record(
                "user_t_wide",
                "signer",
                [&[], &[], &["loc_b1a", "loc_a1b"]],
                false,
            ),
        ),
    ));
    c.push(put(
        "mgr_co",
        "org_a",
        "user_t_susp",
        json!({"role": "signer", "locationIds": ["loc_a1a"]}),
        changed(
            member("user_t_susp", "signer", true, [&[], &[], &["loc_a1a"]]),
            record("user_t_susp", "signer", [&[], &[], &["loc_a1a"]], true),
        ),
    ));
    c.push(delete(
        "mgr_org",
        "org_a",
        "user_t_mixed",
        changed(
            member("user_t_mixed", "signer", false, [&[], &[], &[]]),
            record("user_t_mixed", "signer", [&[], &[], &[]], false),
        ),
    ));
    c.push(delete(
        "mgr_org",
        "org_a",
        "user_t_mixed",
        Outcome::Refused(404, "not_found", "member not found".to_owned()),
    ));
    c.push(delete(
        "mgr_org",
        "org_a",
        "user_none",
        Outcome::Refused(404, "not_found", "member not found".to_owned()),
    ));
    c.push(delete(
        "mgr_co",
        "org_a",
        "user_fresh1",
        changed(
            member("user_fresh1", "manager", false, [&[], &[], &[]]),
            record("user_fresh1", "manager", [&[], &[], &[]], false),
        ),
    ));
    c.push(delete(
        "mgr_co",
        "org_a",
        "user_signer",
        changed(
            member("user_signer", "signer", false, [&[], &[], &[]]),
            record("user_signer", "signer", [&[], &[], &[]], false),
        ),
    ));
    c.push(put(
        "mgr_org_key_rw",
        "org_a",
        "user_signer",
        json!({"role": "signer", "organizationIds": ["org_a"]}),
        changed(
            member("user_signer", "signer", false, [&["org_a"], &[], &[]]),
            record("user_signer", "signer", [&["org_a"], &[], &[]], false),
        ),
    ));
    c
}

/// The bearer of every caller, and the id of mgr_org's read-write key (the key their session and
/// OAuth token are scoped to).
struct Callers {
    bearers: BTreeMap<&'static str, String>,
    mgr_org_key: String,
}

impl Callers {
    fn bearer(&self, caller: &str) -> &str {
        self.bearers
            .get(caller)
            .unwrap_or_else(|| panic!("no bearer for {caller}"))
    }

    /// The audit trail's `actor` for a change made by `caller`.
    fn actor(&self, caller: &str) -> Value {
        let key = Value::from(self.mgr_org_key.as_str());
        let (auth_type, key_id, client_id) = match caller {
            "mgr_org" => ("session", key, Value::Null),
            "mgr_org_key_rw" => ("api_key", key, Value::Null),
            "mgr_org_oauth" => ("oauth", key, json!("client_partner")),
            _ => ("session", Value::Null, Value::Null),
        };
        json!({"userId": user_of(caller), "authType": auth_type, "keyId": key_id, "clientId": client_id})
    }
}

/// An OAuth access token for `user` from `client_partner` with `scope`, for this API.
fn oauth_token(serve: &Serve, user: &str, scope: &str) -> String {
    let base = serve.base_url().to_owned();
    serve
        .cli_ok(&[
            "token",
            "mint",
            "--oauth",
            "--client-id",
            "client_partner",
            "--scope",
            scope,
            "--sub",
            user,
            "--aud",
            &base,
        ])
        .trim()
        .to_owned()
}

/// Seeds the world and makes every caller's bearer.
async fn callers(serve: &Serve) -> Callers {
    serve.seed(&world());
    let mut bearers: BTreeMap<&'static str, String> = BTreeMap::new();
    for caller in [
        "admin", "mgr_org", "mgr_co", "mgr_loc", "mgr_big", "signer", "none",
    ] {
        bearers.insert(caller, serve.mint(user_of(caller)));
    }
    // The read-write key first: mgr_org's session and OAuth token are scoped to the oldest key, so
    // they keep `write` and the rows test the role, not the key.
    let rw = create_key(serve, &bearers["mgr_org"], json!({"name": "rw"})).await;
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let r = create_key(
        serve,
        &bearers["mgr_org"],
        json!({"name": "r", "scopes": ["read"]}),
    )
    .await;
    let admin_r = create_key(
        serve,
        &bearers["admin"],
        json!({"name": "admin r", "scopes": ["read"]}),
    )
    .await;
    bearers.insert("mgr_org_key_rw", rw.key.clone());
    bearers.insert("mgr_org_key_r", r.key.clone());
    bearers.insert("admin_key_r", admin_r.key.clone());
    bearers.insert(
        "mgr_org_oauth",
        oauth_token(serve, "user_mgr_org", "read write"),
    );
    assert_eq!(bearers.len(), CALLERS.len());
    // mgr_big's 500 memberships do not travel in the authorizer context: routes load them.
    let big = me(serve, &bearers["mgr_big"]).await;
    assert_eq!(
        big["memberships"]["locationIds"].as_array().map(Vec::len),
        Some(500),
        "{big}"
    );
    Callers {
        bearers,
        mgr_org_key: rw.id,
    }
}

/// `GET path` as `token`, named for failure messages.
async fn read(serve: &Serve, path: &str, token: &str, who: &str) -> Reply {
    let mut reply = get(serve, path, token).await;
    reply.request = format!("GET {path} as {who}");
    reply
}

/// The user ids of a list answer, in order.
fn user_ids(reply: &Reply) -> Vec<String> {
    reply.body["items"]
        .as_array()
        .unwrap_or_else(|| panic!("{}: no items in {}", reply.request, reply.text))
        .iter()
        .map(|item| item["userId"].as_str().unwrap().to_owned())
        .collect()
}

/// The read rows: every caller lists members and reads the audit trail of each organization.
async fn reads(serve: &Serve, callers: &Callers) -> usize {
    let everyone = [
        member("user_mgr_big", "manager", false, [&[], &[], &["loc_a2a"]]),
        member("user_mgr_co", "manager", false, [&[], &["co_a1"], &[]]),
        member("user_mgr_loc", "manager", false, [&[], &[], &["loc_a2a"]]),
        member("user_mgr_org", "manager", false, [&["org_a"], &[], &[]]),
        member("user_signer", "signer", false, [&[], &[], &["loc_a1a"]]),
        member("user_t_admin", "admin", false, [&["org_a"], &[], &[]]),
        member(
            "user_t_mixed",
            "signer",
            false,
            [&[], &[], &["loc_a1b", "loc_a2a"]],
        ),
        member("user_t_susp", "signer", true, [&[], &[], &["loc_a1b"]]),
        member("user_t_wide", "signer", false, [&[], &[], &["loc_a1a"]]),
    ];
    let of = |ids: &[&str]| -> Value {
        let items: Vec<Value> = everyone
            .iter()
            .filter(|m| ids.contains(&m["userId"].as_str().unwrap()))
            .cloned()
            .collect();
        json!({"items": items, "nextCursor": null})
    };
    let all: Vec<&str> = everyone
        .iter()
        .map(|m| m["userId"].as_str().unwrap())
        .collect();
    let empty = json!({"items": [], "nextCursor": null});
    let org_b = json!({"items": [
        member("user_t_b", "signer", false, [&[], &[], &["loc_b1a"]]),
        member("user_t_wide", "signer", false, [&[], &[], &["loc_b1a"]]),
    ], "nextCursor": null});
    let mut rows = 0;
    let error = |code: &str, message: &str| json!({"error": message, "code": code});
    let no_org = error("forbidden", NO_ORG);
    let missing = error("not_found", "organization not found");
    for caller in CALLERS {
        let admin = caller.starts_with("admin");
        let org_manager = caller.starts_with("mgr_org");
        let manager = caller.starts_with("mgr_");
        let org_a_members = match caller {
            _ if admin || org_manager => of(&all),
            "mgr_co" => of(&[
                "user_mgr_co",
                "user_signer",
                "user_t_mixed",
                "user_t_susp",
                "user_t_wide",
            ]),
            "mgr_loc" | "mgr_big" => of(&["user_mgr_big", "user_mgr_loc", "user_t_mixed"]),
            _ => no_org.clone(),
        };
        let org_a_audit = match caller {
            _ if admin || org_manager => empty.clone(),
            _ if manager => error("forbidden", AUDIT),
            _ => no_org.clone(),
        };
        let admin_only = |answer: &Value| {
            if admin {
                answer.clone()
            } else {
                no_org.clone()
            }
        };
        let expected = [
            ("/v1/organizations/org_a/members", org_a_members),
            ("/v1/organizations/org_b/members", admin_only(&org_b)),
            ("/v1/organizations/org_zz/members", admin_only(&missing)),
            ("/v1/organizations/org_a/audit", org_a_audit),
            ("/v1/organizations/org_b/audit", admin_only(&empty)),
            ("/v1/organizations/org_zz/audit", admin_only(&missing)),
        ];
        for (path, body) in expected {
            let status = match body["code"].as_str() {
                None => 200,
                Some("not_found") => 404,
                Some(_) => 403,
            };
            let reply = read(serve, path, callers.bearer(caller), caller).await;
            reply.expect_status(status).expect_json_content_type();
            assert_eq!(reply.body, body, "{}: {}", reply.request, reply.text);
            rows += 1;
        }
    }
    rows
}

/// Everything a change may write, as the API and the CLI show it.
#[derive(Debug, PartialEq)]
struct Trace {
    /// `users get <target>`: exit success and output.
    record: (bool, String),
    /// Both organizations' member listings and audit trails, as the admin reads them.
    views: Vec<Value>,
}

async fn trace(serve: &Serve, admin: &str, target: &str) -> Trace {
    let output = serve.cli(&["users", "get", target]);
    let mut views = Vec::new();
    for path in [
        "/v1/organizations/org_a/members?limit=100",
        "/v1/organizations/org_b/members?limit=100",
        "/v1/organizations/org_a/audit?limit=100",
        "/v1/organizations/org_b/audit?limit=100",
    ] {
        let reply = read(serve, path, admin, "admin").await;
        reply.expect_status(200);
        views.push(reply.body);
    }
    Trace {
        record: (
            output.status.success(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
        ),
        views,
    }
}

/// The target's state inside the organization before a change, as the audit's `before` shows it:
/// `null` without a record.
fn before_of(trace: &Trace, org: &str, target: &str) -> Value {
    if !trace.record.0 {
        return Value::Null;
    }
    let record: Value = serde_json::from_str(&trace.record.1).unwrap();
    let listing = if org == "org_a" {
        &trace.views[0]
    } else {
        &trace.views[1]
    };
    let inside = listing["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["userId"] == target)
        .cloned()
        .unwrap_or_else(|| json!({"organizationIds": [], "companyIds": [], "locationIds": []}));
    json!({
        "role": record["role"],
        "organizationIds": inside["organizationIds"],
        "companyIds": inside["companyIds"],
        "locationIds": inside["locationIds"],
    })
}

/// `value` with its membership lists sorted (a store need not keep their order).
fn sorted_lists(mut value: Value) -> Value {
    for list in ["organizationIds", "companyIds", "locationIds"] {
        if let Some(ids) = value.get_mut(list).and_then(Value::as_array_mut) {
            ids.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
        }
    }
    value
}

/// Runs one change and checks everything it must (and must not) have done.
async fn run(serve: &Serve, callers: &Callers, change: &Change) {
    let admin = callers.bearer("admin");
    let before = trace(serve, admin, change.target).await;
    let path = format!("/v1/organizations/{}/members/{}", change.org, change.target);
    let mut builder = request(
        serve,
        change.method.clone(),
        &path,
        Some(callers.bearer(change.caller)),
    );
    if let Some(body) = &change.body {
        builder = builder
            .header("Content-Type", "application/json")
            .body(body.to_string());
    }
    let mut reply = send(builder).await;
    reply.request = format!("{} {path} as {}", change.method, change.caller);
    let what = reply.request.clone();
    match &change.outcome {
        Outcome::Refused(status, code, message) => {
            reply.expect_error(*status, code, message);
            assert_eq!(
                trace(serve, admin, change.target).await,
                before,
                "{what}: a refused change left a trace"
            );
        }
        Outcome::Unchanged(view) => {
            reply.expect_status(200).expect_json_content_type();
            let mut expected = view.clone();
            expected["takesEffect"] = json!(TAKES_EFFECT);
            assert_eq!(reply.body, expected, "{what}");
            assert_eq!(
                trace(serve, admin, change.target).await,
                before,
                "{what}: a change to nothing wrote something"
            );
        }
        Outcome::Changed { view, record } => {
            reply.expect_status(200).expect_json_content_type();
            let mut expected = view.clone();
            expected["takesEffect"] = json!(TAKES_EFFECT);
            assert_eq!(reply.body, expected, "{what}");
            // The record.
            let stored: Value =
                serde_json::from_str(&serve.cli_ok(&["users", "get", change.target])).unwrap();
            assert_eq!(
                sorted_lists(stored),
                sorted_lists(record.clone()),
                "{what}: the record"
            );
            // The audit trail: one more entry, at its head, saying who, what, before and after.
            let after = trace(serve, admin, change.target).await;
            let index = if change.org == "org_a" { 2 } else { 3 };
            let old = before.views[index]["items"].as_array().unwrap().len();
            let entries = after.views[index]["items"].as_array().unwrap();
            assert_eq!(entries.len(), old + 1, "{what}: {}", after.views[index]);
            let entry = &entries[0];
            let action = if change.method == Method::PUT {
                "member.put"
            } else {
                "member.delete"
            };
            assert_eq!(entry["organizationId"], change.org, "{what}: {entry}");
            assert_eq!(entry["action"], action, "{what}: {entry}");
            assert_eq!(
                entry["actor"],
                callers.actor(change.caller),
                "{what}: {entry}"
            );
            assert_eq!(entry["target"], json!({"userId": change.target}), "{what}");
            assert_eq!(
                entry["before"],
                before_of(&before, change.org, change.target),
                "{what}: {entry}"
            );
            assert_eq!(
                entry["after"],
                json!({"role": view["role"], "organizationIds": view["organizationIds"],
                       "companyIds": view["companyIds"], "locationIds": view["locationIds"]}),
                "{what}: {entry}"
            );
            let at = entry["at"].as_str().unwrap_or_default();
            assert!(
                at.len() == 20 && at.ends_with('Z') && at.as_bytes().get(10) == Some(&b'T'),
                "{what}: at {at}"
            );
            assert_eq!(
                &entries[1..],
                before.views[index]["items"].as_array().unwrap().as_slice(),
                "{what}: the older entries changed"
            );
            // The next uncached authorizer call (a fresh token) sees the change.
            let fresh = serve.mint(change.target);
            if record["suspended"] == true {
                get(serve, "/v1/me", &fresh).await.expect_error(
                    401,
                    "account_suspended",
                    "account suspended",
                );
            } else {
                let now = me(serve, &fresh).await;
                assert_eq!(now["role"], record["role"], "{what}: {now}");
                assert_eq!(
                    sorted_lists(now["memberships"].clone()),
                    sorted_lists(json!({"organizationIds": record["organizationIds"],
                           "companyIds": record["companyIds"],
                           "locationIds": record["locationIds"]})),
                    "{what}: {now}"
                );
            }
        }
    }
}

/// The store's name for the closing line.
fn store_name(serve: &Serve) -> &'static str {
    match serve.kind() {
        StoreKind::Embedded => "embedded",
        StoreKind::DynamoDbLocal { .. } => "DynamoDB Local",
    }
}

/// Walks a listing `limit` at a time as `token`; the user ids seen.
async fn walk(serve: &Serve, path: &str, token: &str, limit: usize) -> Vec<String> {
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..50 {
        let mut full = format!("{path}?limit={limit}");
        if let Some(cursor) = &cursor {
            full.push_str(&format!("&cursor={cursor}"));
        }
        let reply = read(serve, &full, token, "walker").await;
        reply.expect_status(200);
        let page = user_ids(&reply);
        assert!(page.len() <= limit, "{}: {}", reply.request, reply.text);
        seen.extend(page);
        match &reply.body["nextCursor"] {
            Value::String(next) => cursor = Some(next.clone()),
            _ => return seen,
        }
    }
    panic!("{path}: too many pages");
}

/// The whole matrix (`serve` with its defaults).
pub async fn members_matrix(serve: &Serve) {
    let callers = callers(serve).await;
    let mut passed = reads(serve, &callers).await;
    let changes = changes();
    let (mut refused, mut accepted) = (0usize, 0usize);
    for change in &changes {
        run(serve, &callers, change).await;
        match change.outcome {
            Outcome::Refused(..) => refused += 1,
            _ => accepted += 1,
        }
        passed += 1;
    }

    // Where everything ended: the listings page alike from the store (the admin) and from memory (a
    // company-level manager), and the trail holds every accepted change, newest first.
    let admin = callers.bearer("admin");
    let members = read(serve, "/v1/organizations/org_a/members", admin, "admin").await;
    let all = user_ids(&members);
    assert_eq!(
        all,
        [
            "user_fresh2",
            "user_mgr_big",
            "user_mgr_co",
            "user_mgr_loc",
            "user_mgr_org",
            "user_signer",
            "user_t_admin",
            "user_t_susp",
            "user_t_wide",
        ],
        "{}",
        members.text
    );
    for limit in [1, 2, 5] {
        assert_eq!(
            walk(serve, "/v1/organizations/org_a/members", admin, limit).await,
            all
        );
        assert_eq!(
            walk(
                serve,
                "/v1/organizations/org_a/members",
                callers.bearer("mgr_co"),
                limit
            )
            .await,
            ["user_mgr_co", "user_t_susp", "user_t_wide"]
        );
        passed += 2;
    }
    let trail = read(
        serve,
        "/v1/organizations/org_a/audit?limit=100",
        admin,
        "admin",
    )
    .await;
    let entries = trail.body["items"].as_array().unwrap();
    let changed_count = changes
        .iter()
        .filter(|c| matches!(c.outcome, Outcome::Changed { .. }))
        .count();
    assert_eq!(entries.len(), changed_count, "{}", trail.text);
    let ats: Vec<&str> = entries.iter().map(|e| e["at"].as_str().unwrap()).collect();
    let mut sorted = ats.clone();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(ats, sorted, "newest first");
    let ids: Vec<&str> = entries.iter().map(|e| e["id"].as_str().unwrap()).collect();
    let mut ids_sorted = ids.clone();
    ids_sorted.sort_unstable();
    assert_eq!(ids, ids_sorted, "entry ids sort newest first");
    let audit_of_b = read(serve, "/v1/organizations/org_b/audit", admin, "admin").await;
    assert_eq!(audit_of_b.body, json!({"items": [], "nextCursor": null}));
    passed += 1;

    println!(
        "members matrix: {passed} cases passed ({} read rows, {refused} refused changes with no \
         trace, {accepted} accepted changes audited and in effect) on {} over the {} API",
        passed - refused - accepted,
        store_name(serve),
        serve.api().name()
    );
}

/// The authorizer TTL [`member_changes_wait_for_the_authorizer_cache`] runs with.
pub const CACHE_TTL_SECS: u64 = 3;

/// Run with `--authorizer-ttl 3`: a target's token already used keeps the answer cached before the
/// change until the TTL ends; a fresh token sees the change at once.
pub async fn member_changes_wait_for_the_authorizer_cache(serve: &Serve) {
    serve.seed(&json!({
        "organizations": [{"id": "org_c", "name": "Org C"}],
        "companies": [{"id": "co_c1", "organizationId": "org_c", "name": "C1"}],
        "locations": [
            {"id": "loc_c1a", "companyId": "co_c1", "name": "C1a"},
            {"id": "loc_c1b", "companyId": "co_c1", "name": "C1b"},
        ],
        "users": [
            {"id": "user_c_mgr", "role": "manager", "memberships": [{"organizationId": "org_c"}]},
            {"id": "user_c_member", "role": "signer", "memberships": [{"locationId": "loc_c1a"}]},
        ],
    }));
    let manager = serve.mint("user_c_mgr");
    let old = serve.mint("user_c_member");
    let before = me(serve, &old).await;
    let cached_at = Instant::now();
    assert_eq!(before["role"], "signer", "{before}");

    let reply = send(
        request(
            serve,
            Method::PUT,
            "/v1/organizations/org_c/members/user_c_member",
            Some(&manager),
        )
        .header("Content-Type", "application/json")
        .body(r#"{"role":"manager","companyIds":["co_c1"]}"#),
    )
    .await;
    reply.expect_status(200);
    assert_eq!(reply.body["takesEffect"], TAKES_EFFECT, "{}", reply.text);

    let cached = me(serve, &old).await;
    if cached_at.elapsed() < Duration::from_secs(CACHE_TTL_SECS) {
        assert_eq!(cached, before, "the cached answer is still the old one");
    }
    let fresh = me(serve, &serve.mint("user_c_member")).await;
    assert_eq!(fresh["role"], "manager", "{fresh}");
    assert_eq!(
        fresh["memberships"],
        json!({"organizationIds": [], "companyIds": ["co_c1"], "locationIds": []})
    );
    tokio::time::sleep(Duration::from_millis(CACHE_TTL_SECS * 1_000 + 500)).await;
    let expired = me(serve, &old).await;
    assert_eq!(expired["role"], "manager", "{expired}");
    assert_eq!(expired["memberships"], fresh["memberships"]);
    println!(
        "member changes: cached for {CACHE_TTL_SECS} s, at once for a fresh token, on {}",
        store_name(serve)
    );
}
