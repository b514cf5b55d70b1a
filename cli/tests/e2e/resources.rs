//! The resource routes end to end: a table-driven matrix of every route times every caller (each
//! role's session, and API keys with and without `write`) times in-scope, out-of-scope and
//! nonexistent ids, asserting status, error code and message, and the exact ordered ids of every list;
//! then the writes, and what they change. A manager with 500 location memberships (over the
//! authorizer context budget, so routes load them from the store) must answer exactly like the one
//! with a single membership. A second scenario walks 250 organizations page by page.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use gatehouse_testkit::serve::{Serve, StoreKind};
use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{Reply, create_key, get, me, request, send};

/// Every caller of the matrix: a session per user, and three API keys.
const CALLERS: [&str; 10] = [
    "admin",
    "admin_key_r",
    "mgr_org",
    "mgr_org_key_r",
    "mgr_org_key_rw",
    "mgr_co",
    "mgr_loc",
    "mgr_big",
    "signer",
    "none",
];

/// A persona of the read rows and the callers acting as it: keys read with their owner's role.
fn expand(persona: &str) -> Vec<&'static str> {
    match persona {
        "admin" => vec!["admin", "admin_key_r"],
        "mgr_org" => vec!["mgr_org", "mgr_org_key_r", "mgr_org_key_rw"],
        other => vec![
            *CALLERS
                .iter()
                .find(|c| **c == other)
                .unwrap_or_else(|| panic!("unknown persona {other}")),
        ],
    }
}

/// The user id behind each session caller.
fn user_of(caller: &str) -> String {
    format!("user_{caller}")
}

/// What a case must answer.
#[derive(Debug, Clone)]
enum Expect {
    /// 200 with `{"items": [...], "nextCursor": null}`, these ids in this order.
    Items(Vec<String>),
    /// 200 with a single resource of this id.
    Id(String),
    /// An error body.
    Error(u16, &'static str, String),
    /// 201 with a new package at this location (company, organization).
    Created(&'static str, &'static str, &'static str),
}

fn items(ids: &[&str]) -> Expect {
    Expect::Items(ids.iter().map(|s| (*s).to_owned()).collect())
}

fn id(id: &str) -> Expect {
    Expect::Id(id.to_owned())
}

fn forbidden(kind: &str) -> Expect {
    Expect::Error(
        403,
        "forbidden",
        format!("you do not have access to this {kind}"),
    )
}

fn forbidden_because(message: &str) -> Expect {
    Expect::Error(403, "forbidden", message.to_owned())
}

fn not_found(kind: &str) -> Expect {
    Expect::Error(404, "not_found", format!("{kind} not found"))
}

fn insufficient_write() -> Expect {
    Expect::Error(
        403,
        "insufficient_scope",
        "this api key does not have the write scope".to_owned(),
    )
}

/// One row of the matrix.
#[derive(Debug, Clone)]
struct Case {
    method: Method,
    path: String,
    caller: &'static str,
    body: Option<Value>,
    expect: Expect,
}

/// The read rows of one path: each persona group with its answer; every caller must be covered
/// exactly once.
fn reads(cases: &mut Vec<Case>, path: &str, groups: &[(&[&str], Expect)]) {
    let mut covered = BTreeSet::new();
    for (personas, expect) in groups {
        for persona in *personas {
            for caller in expand(persona) {
                assert!(covered.insert(caller), "{path}: {caller} listed twice");
                cases.push(Case {
                    method: Method::GET,
                    path: path.to_owned(),
                    caller,
                    body: None,
                    expect: expect.clone(),
                });
            }
        }
    }
    let all: BTreeSet<&str> = CALLERS.into_iter().collect();
    assert_eq!(covered, all, "{path}: every caller must have a row");
}

const MANAGERS: [&str; 4] = ["mgr_org", "mgr_co", "mgr_loc", "mgr_big"];
const SIGNER_NONE: [&str; 2] = ["signer", "none"];

/// The read half of the matrix, on the seeded world.
fn read_cases() -> Vec<Case> {
    let mut c = Vec::new();
    reads(
        &mut c,
        "/v1/organizations",
        &[
            (&["admin"], items(&["org_a", "org_b"])),
            (&MANAGERS, items(&["org_a"])),
            (&SIGNER_NONE, forbidden("organization")),
        ],
    );

    // One organization.
    reads(
        &mut c,
        "/v1/organizations/org_a",
        &[
            (&["admin"], id("org_a")),
            (&MANAGERS, id("org_a")),
            (&SIGNER_NONE, forbidden("organization")),
        ],
    );
    reads(
        &mut c,
        "/v1/organizations/org_b",
        &[
            (&["admin"], id("org_b")),
            (&MANAGERS, forbidden("organization")),
            (&SIGNER_NONE, forbidden("organization")),
        ],
    );
    reads(
        &mut c,
        "/v1/organizations/org_zz",
        &[
            (&["admin"], not_found("organization")),
            (&MANAGERS, forbidden("organization")),
            (&SIGNER_NONE, forbidden("organization")),
        ],
    );

    // Companies.
    reads(
        &mut c,
        "/v1/organizations/org_a/companies",
        &[
            (&["admin", "mgr_org"], items(&["co_a1", "co_a2"])),
            (&["mgr_co"], items(&["co_a1"])),
            (&["mgr_loc", "mgr_big"], items(&[])),
            (&SIGNER_NONE, forbidden("company")),
        ],
    );
    reads(
        &mut c,
        "/v1/organizations/org_b/companies",
        &[
            (&["admin"], items(&["co_b1"])),
            (&MANAGERS, forbidden("organization")),
            (&SIGNER_NONE, forbidden("company")),
        ],
    );
    reads(
        &mut c,
        "/v1/organizations/org_zz/companies",
        &[
            (&["admin"], not_found("organization")),
            (&MANAGERS, forbidden("organization")),
            (&SIGNER_NONE, forbidden("company")),
        ],
    );

    // Locations (ordered by company, then id).
    reads(
        &mut c,
        "/v1/organizations/org_a/locations",
        &[
            (
                &["admin", "mgr_org"],
                items(&["loc_a1a", "loc_a1b", "loc_a2a"]),
            ),
            (&["mgr_co"], items(&["loc_a1a", "loc_a1b"])),
            (&["mgr_loc", "mgr_big"], items(&["loc_a2a"])),
            (&SIGNER_NONE, forbidden("location")),
        ],
    );
    reads(
        &mut c,
        "/v1/organizations/org_b/locations",
        &[
            (&["admin"], items(&["loc_b1a"])),
            (&MANAGERS, forbidden("organization")),
            (&SIGNER_NONE, forbidden("location")),
        ],
    );
    reads(
        &mut c,
        "/v1/organizations/org_zz/locations",
        &[
            (&["admin"], not_found("organization")),
            (&MANAGERS, forbidden("organization")),
            (&SIGNER_NONE, forbidden("location")),
        ],
    );

    // Templates: every manager whose memberships touch the organization.
    reads(
        &mut c,
        "/v1/organizations/org_a/templates",
        &[
            (&["admin"], items(&["tpl_a"])),
            (&MANAGERS, items(&["tpl_a"])),
            (&SIGNER_NONE, forbidden("template")),
        ],
    );
    reads(
        &mut c,
        "/v1/organizations/org_b/templates",
        &[
            (&["admin"], items(&["tpl_b"])),
            (&MANAGERS, forbidden("organization")),
            (&SIGNER_NONE, forbidden("template")),
        ],
    );
    reads(
        &mut c,
        "/v1/organizations/org_zz/templates",
        &[
            (&["admin"], not_found("organization")),
            (&MANAGERS, forbidden("organization")),
            (&SIGNER_NONE, forbidden("template")),
        ],
    );

    // Packages at a location.
    reads(
        &mut c,
        "/v1/locations/loc_a1a/packages",
        &[
            (&["admin", "mgr_org", "mgr_co"], items(&["pkg_a1a"])),
            (&["mgr_loc", "mgr_big"], forbidden("location")),
            (&SIGNER_NONE, forbidden("location")),
        ],
    );
    reads(
        &mut c,
        "/v1/locations/loc_a1b/packages",
        &[
            (&["admin", "mgr_org", "mgr_co"], items(&[])),
            (&["mgr_loc", "mgr_big"], forbidden("location")),
            (&SIGNER_NONE, forbidden("location")),
        ],
    );
    reads(
        &mut c,
        "/v1/locations/loc_a2a/packages",
        &[
            (&["admin", "mgr_org"], items(&["pkg_a2a"])),
            (&["mgr_loc", "mgr_big"], items(&["pkg_a2a"])),
            (&["mgr_co"], forbidden("location")),
            (&SIGNER_NONE, forbidden("location")),
        ],
    );
    reads(
        &mut c,
        "/v1/locations/loc_b1a/packages",
        &[
            (&["admin"], items(&["pkg_b"])),
            (&MANAGERS, forbidden("location")),
            (&SIGNER_NONE, forbidden("location")),
        ],
    );
    reads(
        &mut c,
        "/v1/locations/loc_zz/packages",
        &[
            (&["admin"], not_found("location")),
            (&MANAGERS, forbidden("location")),
            (&SIGNER_NONE, forbidden("location")),
        ],
    );

    // The caller's own assigned packages.
    reads(
        &mut c,
        "/v1/signing/session",
        &[
            (&["signer"], items(&["pkg_a1a", "pkg_b"])),
            (&["admin"], items(&[])),
            (&MANAGERS, items(&[])),
            // Signers need no user record: role `none` still sees what it is assigned (nothing here).
            (&["none"], items(&[])),
        ],
    );

    // One package.
    reads(
        &mut c,
        "/v1/signing/packages/pkg_a1a",
        &[
            (&["signer", "admin", "mgr_org", "mgr_co"], id("pkg_a1a")),
            (&["mgr_loc", "mgr_big"], forbidden("package")),
            (&["none"], forbidden("package")),
        ],
    );
    reads(
        &mut c,
        "/v1/signing/packages/pkg_a2a",
        &[
            (&["admin", "mgr_org", "mgr_loc", "mgr_big"], id("pkg_a2a")),
            (&["mgr_co", "signer", "none"], forbidden("package")),
        ],
    );
    reads(
        &mut c,
        "/v1/signing/packages/pkg_b",
        &[
            (&["signer", "admin"], id("pkg_b")),
            (&MANAGERS, forbidden("package")),
            (&["none"], forbidden("package")),
        ],
    );
    reads(
        &mut c,
        "/v1/signing/packages/pkg_zz",
        &[
            (&["admin"], not_found("package")),
            (&MANAGERS, forbidden("package")),
            (&SIGNER_NONE, forbidden("package")),
        ],
    );
    c
}

const CREATE: &str = "/v1/signing/manager/signings";

/// A package body at `location`.
fn package_at(location: &str) -> Value {
    json!({
        "locationId": location,
        "title": "T",
        "signerUserIds": ["user_signer"],
        "documents": [{"name": "a.pdf"}],
    })
}

/// The write half of the matrix.
fn write_cases() -> Vec<Case> {
    let post = |caller: &'static str, body: Value, expect: Expect| Case {
        method: Method::POST,
        path: CREATE.to_owned(),
        caller,
        body: Some(body),
        expect,
    };
    let at_a1a = Expect::Created("loc_a1a", "co_a1", "org_a");
    let only_managers = forbidden_because("only managers can create signing packages");
    let read_only = forbidden_because("admin access is read-only");
    let mut c = vec![
        // Every caller at loc_a1a (in co_a1, org_a).
        post("mgr_org", package_at("loc_a1a"), at_a1a.clone()),
        post("mgr_co", package_at("loc_a1a"), at_a1a.clone()),
        post("mgr_loc", package_at("loc_a1a"), forbidden("location")),
        post("mgr_big", package_at("loc_a1a"), forbidden("location")),
        post("admin", package_at("loc_a1a"), read_only.clone()),
        post("admin_key_r", package_at("loc_a1a"), insufficient_write()),
        post("signer", package_at("loc_a1a"), only_managers.clone()),
        post("none", package_at("loc_a1a"), only_managers),
        post("mgr_org_key_r", package_at("loc_a1a"), insufficient_write()),
        post("mgr_org_key_rw", package_at("loc_a1a"), at_a1a),
        // A location-level membership.
        post(
            "mgr_loc",
            package_at("loc_a2a"),
            Expect::Created("loc_a2a", "co_a2", "org_a"),
        ),
        post(
            "mgr_big",
            package_at("loc_a2a"),
            Expect::Created("loc_a2a", "co_a2", "org_a"),
        ),
        post("mgr_co", package_at("loc_a2a"), forbidden("location")),
        // Out of every manager's scope.
        post("mgr_org", package_at("loc_b1a"), forbidden("location")),
        post("mgr_co", package_at("loc_b1a"), forbidden("location")),
        // Nonexistent: no scope is provable, so 403 (admins are refused for writing first).
        post("mgr_org", package_at("loc_zz"), forbidden("location")),
        post("mgr_co", package_at("loc_zz"), forbidden("location")),
        post("mgr_loc", package_at("loc_zz"), forbidden("location")),
        post("admin", package_at("loc_zz"), read_only),
    ];
    // A bad body.
    let mut no_title = package_at("loc_a1a");
    no_title.as_object_mut().unwrap().remove("title");
    c.push(post(
        "mgr_org",
        no_title,
        Expect::Error(400, "bad_request", "title is required".to_owned()),
    ));
    c
}

/// Runs one case; the reply. Panics, naming the case, when it answers otherwise.
async fn run(serve: &Serve, bearers: &BTreeMap<&str, String>, case: &Case) -> Reply {
    let token = bearers
        .get(case.caller)
        .unwrap_or_else(|| panic!("no bearer for {}", case.caller));
    let mut builder = request(serve, case.method.clone(), &case.path, Some(token));
    if let Some(body) = &case.body {
        builder = builder
            .header("Content-Type", "application/json")
            .body(body.to_string());
    }
    let mut reply = send(builder).await;
    reply.request = format!("{} {} as {}", case.method, case.path, case.caller);
    check(&reply, &case.expect);
    reply
}

/// Asserts `reply` answers `expect`.
fn check(reply: &Reply, expect: &Expect) {
    match expect {
        Expect::Items(ids) => {
            reply.expect_status(200).expect_json_content_type();
            assert_eq!(
                item_ids(reply),
                *ids,
                "{}: wrong items in {}",
                reply.request,
                reply.text
            );
            assert_eq!(
                reply.body["nextCursor"],
                Value::Null,
                "{}: {}",
                reply.request,
                reply.text
            );
        }
        Expect::Id(id) => {
            reply.expect_status(200).expect_json_content_type();
            assert_eq!(
                reply.body["id"], *id,
                "{}: wrong body {}",
                reply.request, reply.text
            );
        }
        Expect::Error(status, code, message) => reply.expect_error(*status, code, message),
        Expect::Created(location, company, organization) => {
            reply.expect_status(201).expect_json_content_type();
            let body = &reply.body;
            let what = format!("{}: created body {}", reply.request, reply.text);
            assert!(
                body["id"].as_str().is_some_and(|id| id.starts_with("pkg_")),
                "{what}"
            );
            assert_eq!(body["locationId"], *location, "{what}");
            assert_eq!(body["companyId"], *company, "{what}");
            assert_eq!(body["organizationId"], *organization, "{what}");
            assert_eq!(body["title"], "T", "{what}");
            assert_eq!(body["signers"], json!(["user_signer"]), "{what}");
            let documents = body["documents"].as_array().expect(&what);
            assert_eq!(documents.len(), 1, "{what}");
            assert_eq!(documents[0]["name"], "a.pdf", "{what}");
            assert!(
                documents[0]["id"]
                    .as_str()
                    .is_some_and(|id| id.starts_with("doc_")),
                "{what}"
            );
        }
    }
}

/// The ids of a list answer's items, in order.
fn item_ids(reply: &Reply) -> Vec<String> {
    reply.body["items"]
        .as_array()
        .unwrap_or_else(|| panic!("{}: no items array in {}", reply.request, reply.text))
        .iter()
        .map(|item| item["id"].as_str().unwrap().to_owned())
        .collect()
}

/// The matrix's world in the seed file format.
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
        "templates": [
            {"id": "tpl_a", "organizationId": "org_a", "name": "NDA A"},
            {"id": "tpl_b", "organizationId": "org_b", "name": "NDA B"},
        ],
        "users": [
            {"id": "user_admin", "role": "admin"},
            {"id": "user_mgr_org", "role": "manager", "memberships": [{"organizationId": "org_a"}]},
            {"id": "user_mgr_co", "role": "manager", "memberships": [{"companyId": "co_a1"}]},
            {"id": "user_mgr_loc", "role": "manager", "memberships": [{"locationId": "loc_a2a"}]},
            {"id": "user_mgr_big", "role": "manager", "memberships": big},
            {"id": "user_signer", "role": "signer"},
            {"id": "user_other", "role": "signer"},
        ],
        "packages": [
            {"id": "pkg_a1a", "locationId": "loc_a1a", "title": "Lease A1a",
             "signers": ["user_signer"], "documents": [{"id": "doc_a1a", "name": "lease.pdf"}]},
            {"id": "pkg_a2a", "locationId": "loc_a2a", "title": "Lease A2a",
             "signers": ["user_other"], "documents": [{"id": "doc_a2a", "name": "lease.pdf"}]},
            {"id": "pkg_b", "locationId": "loc_b1a", "title": "Lease B",
             "signers": ["user_signer"], "documents": [{"id": "doc_b", "name": "lease.pdf"}]},
        ],
    })
}

/// The store's name for the closing line.
fn store_name(serve: &Serve) -> &'static str {
    match serve.kind() {
        StoreKind::Embedded => "embedded",
        StoreKind::DynamoDbLocal { .. } => "DynamoDB Local",
    }
}

/// The whole matrix on the seeded world.
pub async fn matrix(serve: &Serve) {
    serve.seed(&world());
    // Idempotent: loading the same file again changes nothing below.
    serve.seed(&world());

    let mut bearers: BTreeMap<&str, String> = BTreeMap::new();
    for caller in [
        "admin", "mgr_org", "mgr_co", "mgr_loc", "mgr_big", "signer", "none",
    ] {
        bearers.insert(caller, serve.mint(&user_of(caller)));
    }
    // A session is scoped to its user's oldest active key (README "API keys"): the read-write keys
    // come first, so the admin's and mgr_org's sessions keep their write scope and the rows below
    // test the role, not the key.
    let _admin_rw = create_key(serve, &bearers["admin"], json!({"name": "admin rw"})).await;
    let mgr_org_rw = create_key(
        serve,
        &bearers["mgr_org"],
        json!({"name": "rw", "scopes": ["read", "write"]}),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let admin_r = create_key(
        serve,
        &bearers["admin"],
        json!({"name": "admin r", "scopes": ["read"]}),
    )
    .await;
    let mgr_org_r = create_key(
        serve,
        &bearers["mgr_org"],
        json!({"name": "r", "scopes": ["read"]}),
    )
    .await;
    assert_eq!(admin_r.body["scopes"], json!(["read"]));
    assert_eq!(mgr_org_r.body["scopes"], json!(["read"]));
    bearers.insert("admin_key_r", admin_r.key.clone());
    bearers.insert("mgr_org_key_r", mgr_org_r.key.clone());
    bearers.insert("mgr_org_key_rw", mgr_org_rw.key.clone());

    // The two paths of the membership budget: mgr_loc's one membership travels in the authorizer
    // context; mgr_big's 500 do not (the context is empty and says so), so routes load them.
    let small = me(serve, &bearers["mgr_loc"]).await;
    assert_eq!(
        small["memberships"]["locationIds"],
        json!(["loc_a2a"]),
        "{small}"
    );
    // `/v1/me` shows mgr_big's 500 memberships all the same: read from the user record, since the
    // context could not carry them (the budget itself is unit-tested in `gatehouse::principal`).
    let big = me(serve, &bearers["mgr_big"]).await;
    let big_locations = big["memberships"]["locationIds"].as_array().unwrap();
    assert_eq!(big_locations.len(), 500, "{big}");
    assert!(big_locations.contains(&json!("loc_a2a")), "{big}");

    let mut passed = 0usize;

    // Reads, keeping each answer to compare the large-membership manager with the small one.
    let mut answers: BTreeMap<(String, &str), Reply> = BTreeMap::new();
    for case in read_cases() {
        let reply = run(serve, &bearers, &case).await;
        passed += 1;
        answers.insert((case.path.clone(), case.caller), reply);
    }
    let mut compared = 0usize;
    for ((path, caller), reply) in &answers {
        if *caller != "mgr_big" {
            continue;
        }
        let small = &answers[&(path.clone(), "mgr_loc")];
        assert_eq!(
            (reply.status, &reply.body),
            (small.status, &small.body),
            "{path}: mgr_big (500 memberships) answers {} but mgr_loc answers {}",
            reply.text,
            small.text
        );
        compared += 1;
    }
    assert!(compared > 20, "only {compared} paths compared");

    // Writes.
    let mut created: Vec<(String, String, Value)> = Vec::new();
    for case in write_cases() {
        let reply = run(serve, &bearers, &case).await;
        passed += 1;
        if reply.status == 201 {
            created.push((
                reply.body["id"].as_str().unwrap().to_owned(),
                reply.body["locationId"].as_str().unwrap().to_owned(),
                reply.body.clone(),
            ));
        }
    }
    assert_eq!(created.len(), 5, "five packages were created: {created:?}");

    // What the writes changed: the signer sees every new package, with the body the create answered;
    // the location lists include them; nothing leaked elsewhere.
    let mut session: Vec<String> = vec!["pkg_a1a".into(), "pkg_b".into()];
    session.extend(created.iter().map(|(id, _, _)| id.clone()));
    session.sort();
    let at = |location: &str, seeded: &str| -> Vec<String> {
        let mut ids: Vec<String> = created
            .iter()
            .filter(|(_, l, _)| l == location)
            .map(|(id, _, _)| id.clone())
            .collect();
        ids.push(seeded.to_owned());
        ids.sort();
        ids
    };
    let after = vec![
        (
            "/v1/signing/session".to_owned(),
            "signer",
            Expect::Items(session),
        ),
        ("/v1/signing/session".to_owned(), "mgr_org", items(&[])),
        (
            "/v1/locations/loc_a1a/packages".to_owned(),
            "mgr_co",
            Expect::Items(at("loc_a1a", "pkg_a1a")),
        ),
        (
            "/v1/locations/loc_a1a/packages".to_owned(),
            "admin_key_r",
            Expect::Items(at("loc_a1a", "pkg_a1a")),
        ),
        (
            "/v1/locations/loc_a2a/packages".to_owned(),
            "mgr_big",
            Expect::Items(at("loc_a2a", "pkg_a2a")),
        ),
        (
            "/v1/locations/loc_b1a/packages".to_owned(),
            "admin",
            items(&["pkg_b"]),
        ),
    ];
    for (path, caller, expect) in after {
        let case = Case {
            method: Method::GET,
            path,
            caller,
            body: None,
            expect,
        };
        run(serve, &bearers, &case).await;
        passed += 1;
    }
    for (id, location, body) in &created {
        let path = format!("/v1/signing/packages/{id}");
        let reply = run(
            serve,
            &bearers,
            &Case {
                method: Method::GET,
                path: path.clone(),
                caller: "signer",
                body: None,
                expect: Expect::Id(id.clone()),
            },
        )
        .await;
        assert_eq!(
            &reply.body, body,
            "{path}: differs from what the create answered"
        );
        passed += 1;
        let outsider = if location == "loc_a1a" {
            "mgr_loc"
        } else {
            "mgr_co"
        };
        run(
            serve,
            &bearers,
            &Case {
                method: Method::GET,
                path,
                caller: outsider,
                body: None,
                expect: forbidden("package"),
            },
        )
        .await;
        passed += 1;
    }

    println!("matrix: {passed} cases passed on {}", store_name(serve));
}

/// `GET path` with query parameters (percent-encoded) as `token`.
async fn get_query(serve: &Serve, path: &str, token: &str, query: &[(&str, &str)]) -> Reply {
    let encode = |text: &str| -> String {
        text.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    char::from(b).to_string()
                }
                other => format!("%{other:02X}"),
            })
            .collect()
    };
    let query: Vec<String> = query
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect();
    let full = format!("{path}?{}", query.join("&"));
    let mut reply = send(request(serve, Method::GET, &full, Some(token))).await;
    reply.request = format!("GET {full}");
    reply
}

/// 250 organizations: caps enforced, cursors stable, every page walked sees each exactly once; the
/// same for a manager whose memberships touch 150 of them.
pub async fn pagination(serve: &Serve) {
    let ids: Vec<String> = (0..250).map(|i| format!("org_p{i:03}")).collect();
    let organizations: Vec<Value> = ids
        .iter()
        .map(|id| json!({"id": id, "name": format!("Organization {id}")}))
        .collect();
    let memberships: Vec<Value> = ids
        .iter()
        .rev()
        .take(150)
        .map(|id| json!({"organizationId": id}))
        .collect();
    let mut manager_expected: Vec<String> = ids.iter().rev().take(150).cloned().collect();
    manager_expected.sort();
    serve.seed(&json!({
        "organizations": organizations,
        "users": [
            {"id": "user_admin", "role": "admin"},
            {"id": "user_many", "role": "manager", "memberships": memberships},
        ],
    }));
    let admin = serve.mint("user_admin");
    let manager = serve.mint("user_many");

    for (who, token, expected, sizes) in [
        ("admin", &admin, ids.clone(), vec![100, 100, 50]),
        ("manager", &manager, manager_expected, vec![100, 50]),
    ] {
        let mut seen: Vec<String> = Vec::new();
        let mut cursors: Vec<Option<String>> = vec![None];
        let mut page_sizes = Vec::new();
        loop {
            let mut query = vec![("limit", "100")];
            let cursor = cursors.last().unwrap().clone();
            if let Some(cursor) = &cursor {
                query.push(("cursor", cursor.as_str()));
            }
            let reply = get_query(serve, "/v1/organizations", token, &query).await;
            reply.expect_status(200).expect_json_content_type();
            let page = item_ids(&reply);
            page_sizes.push(page.len());
            // The same cursor gives the same page.
            let again = get_query(serve, "/v1/organizations", token, &query).await;
            assert_eq!(
                again.body, reply.body,
                "{who}: cursor {cursor:?} is not stable"
            );
            seen.extend(page);
            match &reply.body["nextCursor"] {
                Value::Null => break,
                Value::String(next) => {
                    assert!(!next.is_empty(), "{who}: empty nextCursor");
                    cursors.push(Some(next.clone()));
                }
                other => panic!("{who}: nextCursor is {other}"),
            }
            assert!(page_sizes.len() <= 5, "{who}: too many pages");
        }
        assert_eq!(page_sizes, sizes, "{who}: page sizes");
        assert_eq!(seen, expected, "{who}: each once, in ascending order");
    }

    // Default limit 25.
    let reply = get(serve, "/v1/organizations", &admin).await;
    reply.expect_status(200);
    assert_eq!(item_ids(&reply), ids[..25].to_vec(), "default page");
    assert!(reply.body["nextCursor"].is_string(), "{}", reply.text);
    let next = reply.body["nextCursor"].as_str().unwrap().to_owned();
    let reply = get_query(serve, "/v1/organizations", &admin, &[("cursor", &next)]).await;
    reply.expect_status(200);
    assert_eq!(
        item_ids(&reply),
        ids[25..50].to_vec(),
        "second default page"
    );

    // Caps and bad cursors, for both callers.
    let limit = "limit must be a whole number from 1 to 100";
    for token in [&admin, &manager] {
        for (query, message) in [
            (vec![("limit", "101")], limit),
            (vec![("limit", "0")], limit),
            (vec![("limit", "-1")], limit),
            (vec![("limit", "ten")], limit),
            (vec![("limit", "1000000000000000000000")], limit),
            (vec![("cursor", "%%%")], "invalid cursor"),
            (vec![("limit", "5"), ("cursor", "%%%")], "invalid cursor"),
        ] {
            get_query(serve, "/v1/organizations", token, &query)
                .await
                .expect_error(400, "bad_request", message);
        }
        let reply = get_query(serve, "/v1/organizations", token, &[("limit", "100")]).await;
        reply.expect_status(200);
        assert_eq!(item_ids(&reply).len(), 100);
        let reply = get_query(serve, "/v1/organizations", token, &[("limit", "1")]).await;
        reply.expect_status(200);
        assert_eq!(item_ids(&reply).len(), 1);
    }
    println!(
        "pagination: 250 organizations walked on {}",
        store_name(serve)
    );
}
