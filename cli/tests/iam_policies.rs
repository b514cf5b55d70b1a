//! Least privilege, checked against the code: every DynamoDB call each Lambda function makes is
//! allowed by that function's own IAM policy in `template.yaml`, every statement of those policies is
//! used by some call, and no function's policy lets it rewrite a user's profile beyond what it exists
//! for (role and memberships: the delegated writers, and the Clerk webhook creating a record; Clerk's
//! status: the webhook; the operator's suspension: none) or otherwise step outside its items.
//!
//! How: each function runs, through the same in-process registry `gatehouse serve` uses, against an
//! embedded engine that records every request it accepts; each recorded request becomes the IAM
//! request context DynamoDB builds for it, which is evaluated against the function's statements.
//! The evaluation follows AWS's documented rules (the README's "Least privilege" section):
//!
//! - actions: one per call; inside `TransactWriteItems` each part is its own `PutItem`, `UpdateItem`,
//!   `DeleteItem` or `ConditionCheckItem`;
//! - `dynamodb:LeadingKeys`: the partition key values the call touches (all of them for a batch);
//! - `dynamodb:Attributes`: for a write, the item's attribute names (`PutItem`), or the key attributes
//!   plus every name in the update and condition expressions (`UpdateItem`); absent for reads;
//! - `dynamodb:ReturnValues`: as sent;
//! - operators `ForAllValues:StringLike`, `ForAllValues:StringEquals`, `StringEquals`,
//!   `StringEqualsIfExists` and `Null`; a policy using anything else fails the test rather than being
//!   guessed at. `ForAllValues` over an absent key is true, as in IAM, which is why every statement
//!   pairs it with a `Null` guard.
//!
//! This proves the policies fit the code under those rules; it cannot prove AWS applies them as
//! documented (the README lists the calls to try once on a real deployment).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::types::AttributeValue;
use gatehouse::apikey::ApiKeyPrefix;
use gatehouse::clock::FixedClock;
use gatehouse::principal::{Memberships, Role};
use gatehouse::resources::ResourceService;
use gatehouse::self_service::KeyService;
use gatehouse::store::dynamo::DynamoStore;
use gatehouse::store::{ApiKeyRecord, KeyStore as _, MAX_ACTIVE_KEYS, UserRecord};
use gatehouse::webhooks::{WebhookConfig, WebhookSecret};
use gatehouse_cli::embedded::{Embedded, RequestObserver, TABLE};
use gatehouse_cli::gateway::LambdaFunction;
use gatehouse_testkit::samples::{self, DEV_ADMIN, DEV_MANAGER, DEV_SIGNER};
use gatehouse_testkit::svix;
use gatehouse_testkit::tokens::dev_key;
use serde_json::{Value, json};
use serde_norway::Value as Yaml;

const NOW: i64 = 1_800_000_000;

// ---------------------------------------------------------------------------------------------------
// The policies, from template.yaml

#[derive(Debug, Clone, PartialEq, Eq)]
enum Resource {
    Table,
    Index(String),
    Other(String),
}

#[derive(Debug, Clone)]
struct Condition {
    operator: String,
    key: String,
    values: Vec<String>,
}

#[derive(Debug, Clone)]
struct Statement {
    sid: String,
    actions: Vec<String>,
    resources: Vec<Resource>,
    conditions: Vec<Condition>,
}

fn strings(value: &Yaml) -> Vec<String> {
    match value {
        Yaml::String(s) => vec![s.clone()],
        Yaml::Sequence(items) => items.iter().flat_map(strings).collect(),
        Yaml::Bool(b) => vec![b.to_string()],
        other => panic!("expected strings, found {other:?}"),
    }
}

fn resource(value: &Yaml) -> Resource {
    match value {
        Yaml::Tagged(tagged) if tagged.tag == "GetAtt" => {
            assert_eq!(tagged.value, Yaml::String("GatehouseTable.Arn".into()));
            Resource::Table
        }
        Yaml::Tagged(tagged) if tagged.tag == "Sub" => {
            let text = tagged.value.as_str().unwrap();
            let index = text
                .strip_prefix("${GatehouseTable.Arn}/index/")
                .unwrap_or_else(|| panic!("unexpected resource {text}"));
            Resource::Index(index.to_owned())
        }
        Yaml::Tagged(tagged) if tagged.tag == "Ref" => {
            Resource::Other(tagged.value.as_str().unwrap().to_owned())
        }
        other => panic!("unexpected resource {other:?}"),
    }
}

fn statement(value: &Yaml) -> Option<Statement> {
    let value = match value {
        // `!If [condition, statement, !Ref AWS::NoValue]`: the statement, in case the condition holds.
        Yaml::Tagged(tagged) if tagged.tag == "If" => tagged.value.as_sequence().unwrap().get(1)?,
        other => other,
    };
    assert_eq!(value["Effect"], Yaml::String("Allow".into()), "{value:?}");
    let resources = match &value["Resource"] {
        Yaml::Sequence(items) => items.iter().map(resource).collect(),
        single => vec![resource(single)],
    };
    let mut conditions = Vec::new();
    if let Some(map) = value.get("Condition").and_then(Yaml::as_mapping) {
        for (operator, keys) in map {
            for (key, values) in keys.as_mapping().unwrap() {
                conditions.push(Condition {
                    operator: operator.as_str().unwrap().to_owned(),
                    key: key.as_str().unwrap().to_owned(),
                    values: strings(values),
                });
            }
        }
    }
    Some(Statement {
        sid: value["Sid"].as_str().unwrap_or("?").to_owned(),
        actions: strings(&value["Action"]),
        resources,
        conditions,
    })
}

/// Every function's statements, by binary (`Metadata.BuildProperties.Binary`).
fn policies() -> BTreeMap<String, Vec<Statement>> {
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../template.yaml"),
    )
    .unwrap();
    let template: Yaml = serde_norway::from_str(&text).unwrap();
    let mut policies = BTreeMap::new();
    for (_, resource) in template["Resources"].as_mapping().unwrap() {
        if resource["Type"].as_str() != Some("AWS::Serverless::Function") {
            continue;
        }
        let properties = &resource["Properties"];
        let binary = resource["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .unwrap()
            .to_owned();
        let mut statements = Vec::new();
        if let Some(documents) = properties.get("Policies").and_then(Yaml::as_sequence) {
            for document in documents {
                for item in document["Statement"].as_sequence().unwrap() {
                    statements.extend(statement(item));
                }
            }
        }
        policies.insert(binary, statements);
    }
    policies
}

// ---------------------------------------------------------------------------------------------------
// Calls, as IAM sees them

/// One authorization DynamoDB performs for a request.
#[derive(Debug, Clone)]
struct Call {
    action: String,
    resource: Resource,
    context: BTreeMap<String, Vec<String>>,
    what: String,
}

/// The top-level attribute names an expression refers to (`#name` resolved through `names`).
fn expression_names(expression: &str, names: &Value) -> Vec<String> {
    const WORDS: [&str; 19] = [
        "SET",
        "ADD",
        "REMOVE",
        "DELETE",
        "AND",
        "OR",
        "NOT",
        "BETWEEN",
        "IN",
        "attribute_exists",
        "attribute_not_exists",
        "attribute_type",
        "begins_with",
        "contains",
        "size",
        "if_not_exists",
        "list_append",
        "set",
        "delete",
    ];
    let mut found = Vec::new();
    let mut previous = ' ';
    let mut token = String::new();
    let mut tokens = Vec::new();
    for c in expression.chars().chain(std::iter::once(' ')) {
        if c.is_ascii_alphanumeric() || matches!(c, '_' | '#' | ':') {
            token.push(c);
        } else {
            if !token.is_empty() {
                // A path segment after `.` is not a top-level name.
                tokens.push((std::mem::take(&mut token), previous == '.'));
            }
            previous = c;
        }
    }
    for (token, nested) in tokens {
        if nested || token.starts_with(':') || token.chars().all(|c| c.is_ascii_digit()) {
            continue;
        }
        if let Some(placeholder) = token.strip_prefix('#') {
            let _ = placeholder;
            let resolved = names[&token]
                .as_str()
                .unwrap_or_else(|| panic!("unresolved {token}"));
            found.push(resolved.to_owned());
        } else if !WORDS.iter().any(|w| w.eq_ignore_ascii_case(&token)) {
            found.push(token);
        }
    }
    found
}

fn pk_of(key: &Value) -> String {
    key["pk"]["S"].as_str().unwrap().to_owned()
}

fn write_call(action: &str, body: &Value, what: &str) -> Call {
    let mut context = BTreeMap::new();
    let (pk, attributes) = match action {
        "PutItem" => {
            let item = body["Item"].as_object().unwrap();
            (
                pk_of(&body["Item"]),
                item.keys().cloned().collect::<Vec<_>>(),
            )
        }
        _ => {
            let names = &body["ExpressionAttributeNames"];
            let mut attributes: Vec<String> =
                body["Key"].as_object().unwrap().keys().cloned().collect();
            for field in ["UpdateExpression", "ConditionExpression"] {
                if let Some(expression) = body[field].as_str() {
                    attributes.extend(expression_names(expression, names));
                }
            }
            (pk_of(&body["Key"]), attributes)
        }
    };
    let attributes: BTreeSet<String> = attributes.into_iter().collect();
    context.insert("dynamodb:LeadingKeys".into(), vec![pk.clone()]);
    context.insert(
        "dynamodb:Attributes".into(),
        attributes.into_iter().collect(),
    );
    if let Some(returns) = body["ReturnValues"].as_str() {
        context.insert("dynamodb:ReturnValues".into(), vec![returns.to_owned()]);
    }
    Call {
        action: format!("dynamodb:{action}"),
        resource: Resource::Table,
        context,
        what: format!("{what} {pk}"),
    }
}

/// The authorizations one recorded request needs.
fn calls_of(operation: &str, body: &str) -> Vec<Call> {
    let body: Value = serde_json::from_str(body).unwrap();
    let read = |action: &str, resource: Resource, keys: Vec<String>| {
        let mut context = BTreeMap::new();
        if !keys.is_empty() {
            context.insert("dynamodb:LeadingKeys".to_owned(), keys.clone());
        }
        Call {
            action: format!("dynamodb:{action}"),
            resource,
            context,
            what: format!("{action} {keys:?}"),
        }
    };
    match operation {
        "GetItem" => vec![read("GetItem", Resource::Table, vec![pk_of(&body["Key"])])],
        "BatchGetItem" => {
            let keys = body["RequestItems"][TABLE]["Keys"]
                .as_array()
                .unwrap()
                .iter()
                .map(pk_of)
                .collect();
            vec![read("BatchGetItem", Resource::Table, keys)]
        }
        "Query" => {
            let values = &body["ExpressionAttributeValues"];
            let condition = body["KeyConditionExpression"].as_str().unwrap();
            // The partition key's value: the first `= :value` in the key condition.
            let placeholder = condition
                .split('=')
                .nth(1)
                .unwrap()
                .split_whitespace()
                .next()
                .unwrap();
            let partition = values[placeholder]["S"].as_str().unwrap().to_owned();
            match body["IndexName"].as_str() {
                // Which value IAM matches against LeadingKeys for a Query on an index is not
                // documented; the index statements carry no LeadingKeys condition.
                Some(index) => vec![read(
                    "Query",
                    Resource::Index(index.into()),
                    vec![partition],
                )],
                None => vec![read("Query", Resource::Table, vec![partition])],
            }
        }
        "PutItem" | "UpdateItem" | "DeleteItem" => vec![write_call(operation, &body, operation)],
        "TransactWriteItems" => body["TransactItems"]
            .as_array()
            .unwrap()
            .iter()
            .map(|part| {
                let (kind, inner) = part.as_object().unwrap().iter().next().unwrap();
                let action = match kind.as_str() {
                    "Put" => "PutItem",
                    "Update" => "UpdateItem",
                    "Delete" => "DeleteItem",
                    "ConditionCheck" => "ConditionCheckItem",
                    other => panic!("transaction part {other}"),
                };
                let mut call = write_call(action, inner, &format!("TransactWriteItems/{kind}"));
                call.context.insert(
                    "dynamodb:EnclosingOperation".into(),
                    vec!["TransactWriteItems".into()],
                );
                call
            })
            .collect(),
        other => vec![read(other, Resource::Table, Vec::new())],
    }
}

// ---------------------------------------------------------------------------------------------------
// Evaluation

fn like(pattern: &str, value: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == value,
        Some((prefix, rest)) => {
            assert!(
                !rest.contains('*') && !pattern.contains('?'),
                "pattern {pattern}"
            );
            value.starts_with(prefix)
                && value.ends_with(rest)
                && value.len() >= prefix.len() + rest.len()
        }
    }
}

fn condition_holds(condition: &Condition, context: &BTreeMap<String, Vec<String>>) -> bool {
    let present = context.get(&condition.key);
    let matches = |value: &String, like_match: bool| {
        condition.values.iter().any(|allowed| {
            if like_match {
                like(allowed, value)
            } else {
                allowed == value
            }
        })
    };
    match condition.operator.as_str() {
        // True when every value in the request matches (and when the key is absent).
        "ForAllValues:StringLike" => {
            present.is_none_or(|values| values.iter().all(|v| matches(v, true)))
        }
        "ForAllValues:StringEquals" => {
            present.is_none_or(|values| values.iter().all(|v| matches(v, false)))
        }
        "StringEquals" => present.is_some_and(|values| values.iter().all(|v| matches(v, false))),
        "StringEqualsIfExists" => {
            present.is_none_or(|values| values.iter().all(|v| matches(v, false)))
        }
        "Null" => {
            let want_absent = condition.values == ["true"];
            present.is_none() == want_absent
        }
        other => panic!("the check does not evaluate the operator {other}"),
    }
}

/// The statements of `policy` that allow `call`.
fn allowing<'p>(policy: &'p [Statement], call: &Call) -> Vec<&'p Statement> {
    policy
        .iter()
        .filter(|s| s.actions.contains(&call.action))
        .filter(|s| s.resources.contains(&call.resource))
        .filter(|s| {
            s.conditions
                .iter()
                .all(|c| condition_holds(c, &call.context))
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------------
// Running the functions

struct World {
    embedded: Embedded,
    store: DynamoStore,
    recorded: Arc<Mutex<Vec<(String, String)>>>,
    recording: Arc<std::sync::atomic::AtomicBool>,
}

impl World {
    async fn new() -> Self {
        let recorded: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
        let recording = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let observer: RequestObserver = {
            let recorded = Arc::clone(&recorded);
            let recording = Arc::clone(&recording);
            Arc::new(move |operation: &str, body: &str| {
                if recording.load(std::sync::atomic::Ordering::SeqCst) {
                    recorded
                        .lock()
                        .unwrap()
                        .push((operation.to_owned(), body.to_owned()));
                }
            })
        };
        let embedded = Embedded::start_in_memory_observed(Some(observer))
            .await
            .unwrap();
        let store = embedded.store().await.unwrap();
        samples::seed_world(&store, &samples::pepper())
            .await
            .unwrap();
        World {
            embedded,
            store,
            recorded,
            recording,
        }
    }

    /// The in-process functions over this world's store, with the clock at `now`. As in `serve`, the
    /// service of every route but create-key carries the webhook's settings (here the dev-only secret,
    /// and `DEFAULT_ROLE` none, the template's default).
    fn functions(&self, now: i64) -> HashMap<String, Arc<dyn LambdaFunction>> {
        let clock = Arc::new(FixedClock::at(now));
        let authorizer =
            samples::dev_authorizer(self.store.clone(), samples::pepper(), clock.clone());
        let keys = |pepper| {
            KeyService::from_parts(
                self.store.clone(),
                ApiKeyPrefix::default_prefix(),
                pepper,
                clock.clone(),
            )
        };
        gatehouse_cli::serve::functions(
            Arc::new(authorizer),
            Arc::new(ResourceService::new(
                keys(Some(samples::pepper())),
                clock.clone(),
            )),
            Arc::new(
                ResourceService::new(keys(None), clock.clone())
                    .with_resource_server(Arc::new(samples::resource_server()))
                    .with_webhooks(Arc::new(
                        WebhookConfig::new(
                            WebhookSecret::parse(&webhook_secret()).unwrap(),
                            Role::None,
                        )
                        .unwrap(),
                    )),
            ),
        )
    }

    /// Runs `event` through the function at `binary`; the calls it made.
    async fn run(&self, binary: &str, event: Value, now: i64) -> Vec<Call> {
        let functions = self.functions(now);
        self.recorded.lock().unwrap().clear();
        self.recording
            .store(true, std::sync::atomic::Ordering::SeqCst);
        let answer = functions[binary].invoke(event.clone()).await;
        // The authorizer's lastUsedAt write runs in the background: let it land.
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        self.recording
            .store(false, std::sync::atomic::Ordering::SeqCst);
        let answer = answer.unwrap_or_else(|e| panic!("{binary} failed: {e}"));
        let status = answer["statusCode"].as_i64();
        assert!(status.is_none_or(|s| s < 500), "{binary} answered {answer}");
        let recorded = std::mem::take(&mut *self.recorded.lock().unwrap());
        recorded
            .iter()
            .flat_map(|(operation, body)| calls_of(operation, body))
            .collect()
    }
}

fn event(name: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(samples::events_dir().join(name)).unwrap())
        .unwrap()
}

/// A sample route event with the caller replaced.
fn as_caller(mut event: Value, user: &str, role: &str) -> Value {
    let context = &mut event["requestContext"]["authorizer"];
    context["userId"] = json!(user);
    context["principalId"] = json!(user);
    context["role"] = json!(role);
    context["organizationIds"] = json!("");
    context["companyIds"] = json!("");
    context["locationIds"] = json!("");
    event
}

/// The same event, with the memberships left out of the context (routes then read the user record).
fn memberships_omitted(mut event: Value) -> Value {
    event["requestContext"]["authorizer"]["membershipsOmitted"] = json!("true");
    event
}

fn authorizer_event(token: &str) -> Value {
    let mut event = event("authorizer-session.json");
    event["headers"] = json!({"Authorization": format!("Bearer {token}")});
    event["multiValueHeaders"] = json!({"Authorization": [format!("Bearer {token}")]});
    event
}

/// Every function's flows: (binary, event, clock), covering each path that touches the store.
async fn flows(world: &World) -> Vec<(&'static str, Value, i64)> {
    let resources = [
        ("list-organizations", "list-organizations.json"),
        ("get-organization", "get-organization.json"),
        ("list-companies", "list-companies.json"),
        ("list-locations", "list-locations.json"),
        ("list-templates", "list-templates.json"),
        ("list-location-packages", "list-location-packages.json"),
        ("signing-session", "signing-session.json"),
        ("get-package", "get-package.json"),
        ("create-package", "create-package.json"),
    ];
    let mut flows = vec![
        (
            "authorizer",
            authorizer_event(&samples::sample_api_key()),
            NOW,
        ),
        (
            "authorizer",
            authorizer_event(&dev_key().session_token(DEV_ADMIN, NOW)),
            NOW,
        ),
        ("me", event("me-session.json"), NOW),
        ("me", event("me-api-key.json"), NOW),
        ("me", memberships_omitted(event("me-session.json")), NOW),
        ("list-keys", event("list-keys.json"), NOW),
        ("get-key", event("get-key.json"), NOW),
        ("create-key", event("create-key.json"), NOW),
        ("revoke-key", event("revoke-key.json"), NOW),
    ];
    for (binary, file) in resources {
        flows.push((binary, event(file), NOW));
        flows.push((binary, as_caller(event(file), DEV_ADMIN, "admin"), NOW));
        flows.push((
            binary,
            memberships_omitted(as_caller(event(file), DEV_MANAGER, "manager")),
            NOW,
        ));
        flows.push((binary, as_caller(event(file), DEV_SIGNER, "signer"), NOW));
    }
    // The MCP endpoint: every tool, as each role (its tools run the read routes' handlers, so its
    // policy is theirs, united).
    let tools = [
        ("whoami", json!({})),
        ("list_api_keys", json!({})),
        ("list_organizations", json!({})),
        ("list_locations", json!({"organizationId": "org_demo"})),
        (
            "list_location_packages",
            json!({"locationId": "loc_demo_1"}),
        ),
        ("list_signing_packages", json!({})),
        ("get_package", json!({"packageId": "pkg_demo_lease"})),
    ];
    for (tool, arguments) in tools {
        let mut call = event("mcp.json");
        call["body"] = json!(
            json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                   "params": {"name": tool, "arguments": arguments}})
            .to_string()
        );
        call["requestContext"]["authorizer"]["authType"] = json!("session");
        call["requestContext"]["authorizer"]["clientId"] = json!("");
        call["requestContext"]["authorizer"]["scopes"] = json!("read,write");
        flows.push(("mcp", as_caller(call.clone(), DEV_ADMIN, "admin"), NOW));
        flows.push((
            "mcp",
            memberships_omitted(as_caller(call.clone(), DEV_MANAGER, "manager")),
            NOW,
        ));
        flows.push(("mcp", as_caller(call, DEV_SIGNER, "signer"), NOW));
    }
    // A full active-key set whose keys have all expired: create-key prunes it (a read and an update
    // outside the transaction), then creates.
    let pruned = "user_iam_prune";
    for i in 0..MAX_ACTIVE_KEYS {
        let record = ApiKeyRecord {
            name: "old".into(),
            expires_at: Some(NOW - 10),
            ..key_record(&format!("k_iamprune{i:02}"), pruned)
        };
        world
            .store
            .create_api_key(&record, MAX_ACTIVE_KEYS, NOW - 100)
            .await
            .unwrap();
    }
    flows.push((
        "create-key",
        as_caller(event("create-key.json"), pruned, "none"),
        NOW,
    ));
    flows.extend(directory_flows(world).await);
    flows
}

/// An active key of `user_id` created at `NOW - 100`, without expiry.
fn key_record(key_id: &str, user_id: &str) -> ApiKeyRecord {
    let key = gatehouse::apikey::generate(&ApiKeyPrefix::default_prefix()).unwrap();
    ApiKeyRecord {
        key_id: key_id.into(),
        user_id: user_id.into(),
        key_hash: samples::pepper().hash(key.reveal()),
        name: "iam".into(),
        scopes: gatehouse::principal::Scopes::ALL,
        active: true,
        created_at: NOW - 100,
        expires_at: None,
        tail: key.tail(),
        last_used_at: None,
        revoked_at: None,
    }
}

/// The dev-only signing secret `events/clerk-webhook.json` is signed with (never a real one).
fn webhook_secret() -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../testdata/webhooks/dev-only-insecure-sample-secret");
    std::fs::read_to_string(path).unwrap().trim().to_owned()
}

/// The sample webhook event carrying the Clerk event `body` as delivery `id`, signed as Svix signs
/// at `NOW` (the functions' clock: the webhook checks the timestamp against `service.clock()`).
fn delivery(id: &str, body: &Value) -> Value {
    let body = body.to_string();
    let signed = svix::headers(&webhook_secret(), id, NOW, &body);
    let mut event = event("clerk-webhook.json");
    for (name, value) in signed.pairs() {
        event["headers"][name] = json!(value);
        event["multiValueHeaders"][name] = json!([value]);
    }
    event["body"] = json!(body);
    event
}

/// A sample member event about `target`, with `body` (a `PUT`'s) when there is one.
fn about(mut event: Value, target: &str, body: Option<Value>) -> Value {
    event["pathParameters"]["userId"] = json!(target);
    event["path"] = json!(format!("/v1/organizations/org_demo/members/{target}"));
    if let Some(body) = body {
        event["body"] = json!(body.to_string());
    }
    event
}

/// The user directory's functions, Clerk's webhook and delegated administration: every path that
/// touches the store, as each kind of caller. The flows run in this order, each on what the ones
/// before left.
async fn directory_flows(world: &World) -> Vec<(&'static str, Value, i64)> {
    // The sample events' caller: an organization-level manager of org_demo (its record is read when
    // the memberships are omitted from the context).
    const ORG_MANAGER: &str = "user_demo_manager";
    const MEMBER: &str = "user_iam_member";
    const NEWCOMER: &str = "user_iam_newcomer";
    const BANNED: &str = "user_iam_banned";
    const DELETED: &str = "user_iam_deleted";
    let memberships = |organizations: &[&str], locations: &[&str]| Memberships {
        organization_ids: organizations.iter().map(|&id| id.to_owned()).collect(),
        location_ids: locations.iter().map(|&id| id.to_owned()).collect(),
        ..Memberships::default()
    };
    for (user_id, role, memberships) in [
        (ORG_MANAGER, Role::Manager, memberships(&["org_demo"], &[])),
        (MEMBER, Role::Signer, memberships(&[], &["loc_demo_1"])),
        (BANNED, Role::Signer, Memberships::default()),
        (DELETED, Role::Signer, Memberships::default()),
    ] {
        world
            .store
            .put_user(&UserRecord::new(user_id, role, memberships))
            .await
            .unwrap();
    }
    // The deleted user's keys, one of each kind a revocation meets: created (in the active-key set,
    // with an id pointer, listed on gsi1); created but not yet on gsi1 (the index lags: found through
    // its pointer, BatchGetItem of KEYID#); stored without pointer or set element (listed only).
    let listed = key_record("k_iamdeleted1", DELETED);
    let unlisted = key_record("k_iamdeleted2", DELETED);
    for record in [&listed, &unlisted] {
        world
            .store
            .create_api_key(record, MAX_ACTIVE_KEYS, NOW - 100)
            .await
            .unwrap();
    }
    world
        .store
        .client()
        .update_item()
        .table_name(world.store.table())
        .key(
            "pk",
            AttributeValue::S(format!("APIKEY#{}", unlisted.key_hash.to_hex())),
        )
        .key("sk", AttributeValue::S("APIKEY".into()))
        .update_expression("REMOVE gsi1pk, gsi1sk")
        .send()
        .await
        .unwrap();
    world
        .store
        .put_api_key(&key_record("k_iamdeleted3", DELETED))
        .await
        .unwrap();

    // Clerk's timestamps (ms), before the delivery time.
    let at = |seconds_before: i64| (NOW - seconds_before) * 1000;
    let created = delivery(
        "msg_iam_created",
        &svix::user_event("user.created", "user_iam_webhook_new", false, false, at(60)),
    );
    let user_updated = |id: &str, banned: bool, seconds_before: i64| {
        delivery(
            id,
            &svix::user_event("user.updated", BANNED, banned, false, at(seconds_before)),
        )
    };
    let mut flows = vec![
        // user.created without a record: the record is created.
        ("clerk-webhook", created.clone(), NOW),
        // Banned, unbanned: Clerk's status on an existing record.
        (
            "clerk-webhook",
            user_updated("msg_iam_banned", true, 50),
            NOW,
        ),
        (
            "clerk-webhook",
            user_updated("msg_iam_unbanned", false, 40),
            NOW,
        ),
        // Older than what the record reflects: superseded, nothing written but the delivery.
        (
            "clerk-webhook",
            user_updated("msg_iam_stale", true, 45),
            NOW,
        ),
        // user.deleted: suspended, then every key revoked.
        (
            "clerk-webhook",
            delivery("msg_iam_deleted", &svix::deleted_event(DELETED, at(30))),
            NOW,
        ),
        // A type Gatehouse ignores: only recorded.
        (
            "clerk-webhook",
            delivery(
                "msg_iam_ignored",
                &svix::clerk_event(
                    "session.created",
                    json!({"id": "sess_iam", "object": "session"}),
                    at(20),
                ),
            ),
            NOW,
        ),
        // A replayed delivery: a duplicate, only looked up.
        ("clerk-webhook", created, NOW),
    ];

    // Callers: the organization-level manager from the context (the sample events as they are) and
    // from their record; the company-level manager (co_demo_east) likewise; an admin.
    let org_manager =
        |file: &str| memberships_omitted(as_caller(event(file), ORG_MANAGER, "manager"));
    let company_manager = |file: &str| {
        let mut event = as_caller(event(file), DEV_MANAGER, "manager");
        event["requestContext"]["authorizer"]["companyIds"] = json!("co_demo_east");
        event
    };
    let company_manager_omitted =
        |file: &str| memberships_omitted(as_caller(event(file), DEV_MANAGER, "manager"));
    let admin = |file: &str| as_caller(event(file), DEV_ADMIN, "admin");
    let put = "put-member.json";
    let remove = "remove-member.json";
    flows.extend([
        // Creates user_demo_signer's record.
        ("put-member", event(put), NOW),
        // Changes an existing record (MEMBER holds loc_demo_1).
        (
            "put-member",
            about(
                org_manager(put),
                MEMBER,
                Some(json!({"role": "signer", "companyIds": ["co_demo_east"]})),
            ),
            NOW,
        ),
        (
            "put-member",
            about(
                company_manager(put),
                NEWCOMER,
                Some(json!({"role": "signer", "locationIds": ["loc_demo_1"]})),
            ),
            NOW,
        ),
        (
            "put-member",
            about(
                company_manager_omitted(put),
                MEMBER,
                Some(json!({"role": "signer", "locationIds": ["loc_demo_1"]})),
            ),
            NOW,
        ),
        // No membership inside the organization remains: the projection is deleted.
        (
            "put-member",
            about(org_manager(put), NEWCOMER, Some(json!({"role": "signer"}))),
            NOW,
        ),
        // Removes user_demo_signer, created above.
        ("remove-member", event(remove), NOW),
        (
            "remove-member",
            about(company_manager_omitted(remove), MEMBER, None),
            NOW,
        ),
    ]);
    for file in ["list-members.json", "list-audit.json"] {
        let binary = if file == "list-members.json" {
            "list-members"
        } else {
            "list-audit"
        };
        flows.extend([
            (binary, event(file), NOW),
            (binary, org_manager(file), NOW),
            // Members: the in-memory page of the members in scope; audit: placed, then refused.
            (binary, company_manager(file), NOW),
            (binary, company_manager_omitted(file), NOW),
            (binary, admin(file), NOW),
        ]);
    }
    flows
}

#[tokio::test]
async fn every_call_is_allowed_and_every_statement_is_used() {
    let policies = policies();
    let world = World::new().await;
    let mut used: BTreeSet<(String, String, String)> = BTreeSet::new();
    let mut denied = Vec::new();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for (binary, event, now) in flows(&world).await {
        let policy = &policies[binary];
        for call in world.run(binary, event, now).await {
            *seen.entry(binary.to_owned()).or_default() += 1;
            let allowed = allowing(policy, &call);
            if allowed.is_empty() {
                denied.push(format!(
                    "{binary}: {} on {:?}: {call:?}",
                    call.action, call.resource
                ));
            }
            for statement in allowed {
                used.insert((
                    binary.to_owned(),
                    statement.sid.clone(),
                    call.action.clone(),
                ));
            }
        }
    }
    for (binary, calls) in &seen {
        eprintln!("{binary}: {calls} calls checked");
    }
    assert!(
        denied.is_empty(),
        "calls the policies deny:\n{}",
        denied.join("\n")
    );
    let mut unused = Vec::new();
    for (binary, policy) in &policies {
        for statement in policy {
            for action in statement
                .actions
                .iter()
                .filter(|a| a.starts_with("dynamodb:"))
            {
                let key = (binary.clone(), statement.sid.clone(), action.clone());
                if !used.contains(&key) {
                    unused.push(format!("{binary}: {} grants {action}", statement.sid));
                }
            }
        }
    }
    assert!(
        unused.is_empty(),
        "statements no call used (grant less):\n{}",
        unused.join("\n")
    );
    // Every function with DynamoDB statements was exercised.
    for (binary, policy) in &policies {
        if policy
            .iter()
            .any(|s| s.actions.iter().any(|a| a.starts_with("dynamodb:")))
        {
            assert!(
                seen.get(binary).is_some_and(|n| *n > 0),
                "{binary} made no call"
            );
        }
    }
    world.embedded.shutdown().await;
}

/// Calls a bug could make. Each is denied to every function but the ones named with it, which the
/// code needs it for; those must still have it, so the exceptions stay exactly what the policies
/// grant.
///
/// What the user directory's functions may do, and what IAM cannot narrow further:
/// - `put-member` and `remove-member` create a user record and rewrite its `role`, memberships and
///   `revision` (that is the change), never the operator's `suspended` (only `gatehouse users put`
///   writes it, with the operator's credentials, on creation too: a record with a `revision` and no
///   `suspended` is not suspended) nor Clerk's `clerk*`. Member projections (`MEMBERS#<org>`) and
///   audit entries (`AUDIT#<org>`) have partitions of their own, so these writers cannot reach an
///   organization's record (`ORG#<id>`); only `put-member` puts projections, and nobody deletes an
///   audit entry.
/// - `clerk-webhook` writes Clerk's status (`clerk*`) and, for `user.created` without a record, creates
///   it with the same `UpdateItem` (`attribute_not_exists(pk)`): `role` (DefaultRole, never admin),
///   the three lists (empty) and `revision`. IAM sees attribute names, not the condition: that the
///   webhook never changes an existing record's role or memberships is not expressible in IAM; only
///   the code keeps it to creation. It revokes keys (`active`, `revokedAt`: IAM cannot see that it
///   sets `active` to false) and releases their active-key slots.
/// - `list-members` queries `MEMBERS#` partitions, `list-audit` `AUDIT#` partitions, nothing else.
#[test]
fn no_function_may_rewrite_a_profile_or_leave_its_items() {
    const NONE: &[&str] = &[];
    const DELEGATED: &[&str] = &["put-member", "remove-member"];
    const DELEGATED_AND_WEBHOOK: &[&str] = &["put-member", "remove-member", "clerk-webhook"];
    const WEBHOOK: &[&str] = &["clerk-webhook"];
    const KEY_SET_WRITERS: &[&str] = &["create-key", "revoke-key", "clerk-webhook"];
    const KEY_REVOKERS: &[&str] = &["revoke-key", "clerk-webhook"];
    const MEMBER_LISTERS: &[&str] = &["list-members"];
    const AUDIT_READERS: &[&str] = &["list-audit"];
    const PROFILE: &[&str] = &[
        "userId",
        "role",
        "suspended",
        "organizationIds",
        "companyIds",
        "locationIds",
    ];
    const PROJECTION: &[&str] = &[
        "userId",
        "organizationId",
        "organizationIds",
        "companyIds",
        "locationIds",
    ];
    const AUDIT_ENTRY: &[&str] = &[
        "id",
        "organizationId",
        "atMs",
        "actorUserId",
        "actorAuthType",
        "actorKeyId",
        "actorClientId",
        "action",
        "targetUserId",
        "before",
        "after",
    ];
    let update = |pk: &str, sk: &str, attributes: &[&str], returns: Option<&str>| {
        let names: serde_json::Map<String, Value> = attributes
            .iter()
            .enumerate()
            .map(|(i, a)| (format!("#a{i}"), json!(a)))
            .collect();
        let expression = format!(
            "SET {}",
            (0..attributes.len())
                .map(|i| format!("#a{i} = :v{i}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let mut body = json!({
            "TableName": TABLE,
            "Key": {"pk": {"S": pk}, "sk": {"S": sk}},
            "UpdateExpression": expression,
            "ExpressionAttributeNames": names,
        });
        if let Some(returns) = returns {
            body["ReturnValues"] = json!(returns);
        }
        ("UpdateItem".to_owned(), body.to_string())
    };
    let put = |pk: &str, sk: &str, attributes: &[&str]| {
        let mut item = json!({"pk": {"S": pk}, "sk": {"S": sk}});
        for attribute in attributes {
            item[*attribute] = json!({"S": "x"});
        }
        let body = json!({"TableName": TABLE, "Item": item});
        ("PutItem".to_owned(), body.to_string())
    };
    let delete = |pk: &str, sk: &str| {
        let body = json!({"TableName": TABLE, "Key": {"pk": {"S": pk}, "sk": {"S": sk}}});
        ("DeleteItem".to_owned(), body.to_string())
    };
    let in_transaction = |(operation, body): (String, String)| {
        let inner: Value = serde_json::from_str(&body).unwrap();
        let kind = if operation == "PutItem" {
            "Put"
        } else {
            "Update"
        };
        (
            "TransactWriteItems".to_owned(),
            json!({"TransactItems": [{kind: inner}]}).to_string(),
        )
    };
    let query = |partition: &str| {
        let body = json!({
            "TableName": TABLE,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": partition}},
        });
        ("Query".to_owned(), body.to_string())
    };
    let cases = [
        // A user record's role and memberships: the delegated change, and the webhook's creation.
        (
            update("USER#u", "PROFILE", &["role"], None),
            DELEGATED_AND_WEBHOOK,
        ),
        (
            update(
                "USER#u",
                "PROFILE",
                &["organizationIds", "locationIds"],
                None,
            ),
            DELEGATED_AND_WEBHOOK,
        ),
        (
            in_transaction(update("USER#u", "PROFILE", &["role"], None)),
            DELEGATED_AND_WEBHOOK,
        ),
        // The operator's suspension: no function, alone or with anything else.
        (update("USER#u", "PROFILE", &["suspended"], None), NONE),
        (
            update("USER#u", "PROFILE", &["role", "suspended"], None),
            NONE,
        ),
        (
            in_transaction(update("USER#u", "PROFILE", &["role", "suspended"], None)),
            NONE,
        ),
        (
            update("USER#u", "PROFILE", &["clerkSuspended", "suspended"], None),
            NONE,
        ),
        // Clerk's status: the webhook only (a delegated change never names clerk*).
        (
            update("USER#u", "PROFILE", &["clerkSuspended"], None),
            WEBHOOK,
        ),
        (
            update("USER#u", "PROFILE", &["role", "clerkDeleted"], None),
            WEBHOOK,
        ),
        // Nothing reads a record back from a write, and no statement mixes the profile with the
        // active-key set (they share the USER# partition).
        (
            update("USER#u", "PROFILE", &["role"], Some("ALL_OLD")),
            NONE,
        ),
        (update("USER#u", "PROFILE", &["role", "keys"], None), NONE),
        (
            update("USER#u", "ACTIVEKEYS", &["keys"], None),
            KEY_SET_WRITERS,
        ),
        (
            update("USER#u", "ACTIVEKEYS", &["keys"], Some("ALL_NEW")),
            NONE,
        ),
        (
            update("USER#u", "ACTIVEKEYS", &["keys"], Some("ALL_OLD")),
            NONE,
        ),
        // Key records: revocation only (and the authorizer's lastUsedAt, without return values).
        (update("APIKEY#0000", "APIKEY", &["userId"], None), NONE),
        (
            update("APIKEY#0000", "APIKEY", &["lastUsedAt"], Some("ALL_OLD")),
            NONE,
        ),
        (
            update("APIKEY#0000", "APIKEY", &["active", "revokedAt"], None),
            KEY_REVOKERS,
        ),
        (
            update("APIKEY#0000", "APIKEY", &["active", "expiresAt"], None),
            NONE,
        ),
        // A user record is never put or deleted whole.
        (put("USER#u", "PROFILE", PROFILE), NONE),
        (in_transaction(put("USER#u", "PROFILE", PROFILE)), NONE),
        (delete("USER#u", "PROFILE"), NONE),
        // Organization partitions: projections and audit entries, by the delegated writers only.
        (put("MEMBERS#o", "MEMBER#u", PROJECTION), &["put-member"]),
        (put("AUDIT#o", "AUDIT#1", AUDIT_ENTRY), DELEGATED),
        (delete("MEMBERS#o", "MEMBER#u"), DELEGATED),
        (delete("AUDIT#o", "AUDIT#1"), NONE),
        (
            put("MEMBERS#o", "MEMBER#u", &["userId", "role", "companyIds"]),
            NONE,
        ),
        (put("ORG#o", "MEMBER#u", PROJECTION), NONE),
        (put("ORG#o", "AUDIT#1", AUDIT_ENTRY), NONE),
        (put("ORG#o", "ORG", &["name", "gsi1pk", "gsi1sk"]), NONE),
        (delete("ORG#o", "ORG"), NONE),
        (query("MEMBERS#o"), MEMBER_LISTERS),
        (query("AUDIT#o"), AUDIT_READERS),
        (query("ORG#o"), NONE),
        // Webhook deliveries: recorded by the webhook, forgotten by no one (a forgotten delivery
        // could be replayed).
        (
            put(
                "WEBHOOK#msg",
                "WEBHOOK",
                &["deliveryId", "eventType", "receivedAt", "ttl"],
            ),
            WEBHOOK,
        ),
        (delete("WEBHOOK#msg", "WEBHOOK"), NONE),
        (
            ("Scan".to_owned(), json!({"TableName": TABLE}).to_string()),
            NONE,
        ),
        (
            (
                "BatchWriteItem".to_owned(),
                json!({"RequestItems": {}}).to_string(),
            ),
            NONE,
        ),
    ];
    let policies = policies();
    let mut wrong = Vec::new();
    for ((operation, body), allowed_to) in &cases {
        for name in *allowed_to {
            assert!(policies.contains_key(*name), "no function {name}");
        }
        for (binary, policy) in &policies {
            let expected = allowed_to.contains(&binary.as_str());
            for call in calls_of(operation, body) {
                let granted = allowing(policy, &call);
                let sids: Vec<&str> = granted.iter().map(|s| s.sid.as_str()).collect();
                let attributes = call.context.get("dynamodb:Attributes");
                if !expected && !granted.is_empty() {
                    wrong.push(format!(
                        "allowed: {binary}: {} {attributes:?} ({sids:?})",
                        call.what
                    ));
                }
                if expected && granted.is_empty() {
                    wrong.push(format!(
                        "no longer allowed (narrow the exception): {binary}: {} {attributes:?}",
                        call.what
                    ));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));

    // Secrets: each function reads its own, nothing else of Secrets Manager.
    let secrets: BTreeMap<&str, Vec<Resource>> = [
        (
            "authorizer",
            vec!["ApiKeyPepperSecret", "ClerkSecretKeySecretArn"],
        ),
        ("create-key", vec!["ApiKeyPepperSecret"]),
        ("clerk-webhook", vec!["ClerkWebhookSecret"]),
    ]
    .into_iter()
    .map(|(binary, names)| {
        let resources = names
            .into_iter()
            .map(|n| Resource::Other(n.to_owned()))
            .collect();
        (binary, resources)
    })
    .collect();
    for (binary, policy) in &policies {
        let mut read = Vec::new();
        for statement in policy {
            for action in statement
                .actions
                .iter()
                .filter(|a| a.starts_with("secretsmanager:"))
            {
                assert_eq!(action, "secretsmanager:GetSecretValue", "{binary}");
                assert!(statement.conditions.is_empty(), "{binary}");
                read.extend(statement.resources.iter().cloned());
            }
        }
        let expected = secrets.get(binary.as_str()).cloned().unwrap_or_default();
        assert_eq!(read, expected, "{binary} reads these secrets");
    }
}

#[test]
fn expression_names_are_read_like_iam_reads_them() {
    let names = json!({"#k": "keys", "#a": "active"});
    assert_eq!(
        expression_names("ADD #k :e", &names),
        vec!["keys".to_owned()]
    );
    assert_eq!(
        expression_names(
            "attribute_not_exists(lastUsedAt) OR lastUsedAt <= :cutoff",
            &names
        ),
        vec!["lastUsedAt".to_owned(), "lastUsedAt".to_owned()]
    );
    assert_eq!(
        expression_names("size(#k) < :limit AND #a = :t", &names),
        vec!["keys".to_owned(), "active".to_owned()]
    );
    assert!(like("APIKEY#*", "APIKEY#abc"));
    assert!(!like("APIKEY#*", "USER#abc"));
    assert!(like("ORGS", "ORGS"));
}
