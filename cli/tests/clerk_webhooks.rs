//! Clerk's signed webhooks (README "Clerk webhooks") against `gatehouse serve` as a process, over
//! HTTP, with two third parties:
//!
//! - the official `svix` Python library (pinned in `scripts/servers.sh`, run from the venv it creates
//!   under `target/tools/venv`) signs every delivery `serve` is sent here, and verifies what
//!   `gatehouse webhooks send` signs, so Gatehouse's verifier and signer are both held to Svix's own
//!   code. Skipped when the venv has no `svix` (a failure with `GATEHOUSE_TEST_REQUIRE_SERVERS=1`).
//! - DynamoDB Local behind [`FaultyProxy`]: a deletion of a user with 25 keys during which the store
//!   starts failing halfway answers 500 with the user already suspended (none of the keys usable), and
//!   Svix's retry of the same delivery finishes the revocation. Skipped without
//!   `GATEHOUSE_TEST_DYNAMODB_ENDPOINT`. (The embedded store runs inside `serve` and cannot be
//!   interrupted from outside; the memory-store unit tests cover it there.)
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

use gatehouse_testkit::faulty_proxy::FaultyProxy;
use gatehouse_testkit::serve::{Api, Serve, ServeOptions, StoreKind};
use gatehouse_testkit::svix;
use serde_json::{Value, json};

const PATH: &str = "/v1/webhooks/clerk";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The venv's python with `svix`, or `None` (skip) when there is none and servers are not required.
fn svix_python() -> Option<PathBuf> {
    let python = root().join("target/tools/venv/bin/python");
    let usable = python.exists()
        && Command::new(&python)
            .args(["-c", "import svix.webhooks"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
    if usable {
        return Some(python);
    }
    let why = format!(
        "{} with the svix package is missing (scripts/test installs it: source scripts/servers.sh; \
         servers_install)",
        python.display()
    );
    if std::env::var("GATEHOUSE_TEST_REQUIRE_SERVERS").is_ok_and(|v| v == "1") {
        panic!("{why}, but GATEHOUSE_TEST_REQUIRE_SERVERS=1");
    }
    eprintln!("skipping: {why}");
    None
}

/// Runs `testdata/webhooks/svix_deliveries.py <mode>` with `request` on stdin; its exit status and
/// JSON answer.
fn svix_script(python: &Path, mode: &str, request: &Value) -> (bool, Value) {
    let mut child = Command::new(python)
        .arg(root().join("testdata/webhooks/svix_deliveries.py"))
        .arg(mode)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(request.to_string().as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let answer = serde_json::from_slice(&output.stdout).unwrap_or_else(|_| {
        panic!(
            "svix_deliveries.py {mode} printed no JSON ({}):\n{}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (output.status.success(), answer)
}

/// A delivery to post: id, timestamp, exact body.
#[derive(Debug, Clone)]
struct Delivery {
    id: String,
    timestamp: i64,
    body: String,
}

impl Delivery {
    fn new(event: &Value) -> Self {
        Delivery {
            id: svix::message_id(),
            timestamp: svix::now(),
            body: event.to_string(),
        }
    }
}

/// The headers the svix library signs each delivery with, under `secret`.
fn svix_sign(
    python: &Path,
    secret: &str,
    deliveries: &[&Delivery],
) -> Vec<BTreeMap<String, String>> {
    let request = json!({
        "secret": secret,
        "deliveries": deliveries.iter().map(|d| json!({
            "id": d.id, "timestamp": d.timestamp, "payload": d.body
        })).collect::<Vec<_>>(),
    });
    let (ok, answer) = svix_script(python, "sign", &request);
    assert!(ok, "{answer}");
    serde_json::from_value(answer["headers"].clone()).unwrap()
}

/// Posts a body with these headers; status and JSON body.
async fn post(serve: &Serve, headers: &BTreeMap<String, String>, body: &str) -> (u16, Value) {
    let mut request = serve
        .client()
        .post(serve.url(PATH))
        .header("content-type", "application/json")
        .body(body.to_owned());
    for (name, value) in headers {
        request = request.header(name.as_str(), value.as_str());
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// `GET /v1/me` as `token`: status and body.
async fn me(serve: &Serve, token: &str) -> (u16, Value) {
    let response = serve
        .client()
        .get(serve.url("/v1/me"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// `gatehouse keys create` for `user`, `count` times: (id, key) of each.
fn create_keys(serve: &Serve, user: &str, count: usize) -> Vec<(String, String)> {
    (0..count)
        .map(|i| {
            let out = serve.cli_ok(&["keys", "create", "--user", user, "--name", &format!("k{i}")]);
            let created: Value = serde_json::from_str(&out).unwrap();
            (
                created["id"].as_str().unwrap().to_owned(),
                created["key"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// How many of `user`'s keys are active, from `gatehouse keys list`.
fn active_keys(serve: &Serve, user: &str) -> usize {
    let out = serve.cli_ok(&["keys", "list", "--user", user]);
    let listed: Value = serde_json::from_str(&out).unwrap();
    listed["keys"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["active"] == true)
        .count()
}

fn expect_refused(answer: &(u16, Value), message: &str) {
    assert_eq!(
        answer,
        &(401, json!({"error": message, "code": "invalid_signature"})),
        "{message}"
    );
}

/// Every delivery here is signed by the svix library; `serve` (embedded store, `--authorizer-ttl 0`)
/// must accept exactly the valid ones and apply them as the contract says.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_accepts_exactly_what_the_svix_library_signs() {
    let Some(python) = svix_python() else {
        return;
    };
    let secret = svix::random_secret();
    let serve = Serve::start_with_env(
        env!("CARGO_BIN_EXE_gatehouse"),
        StoreKind::Embedded,
        ServeOptions {
            api: Api::Rest,
            ttl: Some(0),
            demo: false,
        },
        &[("CLERK_WEBHOOK_SECRET", &secret)],
    );
    let t0 = svix::now_ms();

    // Valid: user.created gives a record with role none.
    let created = Delivery::new(&svix::user_event(
        "user.created",
        "user_py",
        false,
        false,
        t0,
    ));
    // Out of order: banned at t2, then the unban of t1 arrives.
    let banned = Delivery::new(&svix::user_event(
        "user.updated",
        "user_py",
        true,
        false,
        t0 + 2_000,
    ));
    let old_unban = Delivery::new(&svix::user_event(
        "user.updated",
        "user_py",
        false,
        false,
        t0 + 1_000,
    ));
    let headers = svix_sign(&python, &secret, &[&created, &banned, &old_unban]);

    // Our own test signer agrees with the library byte for byte.
    for (delivery, signed) in [&created, &banned, &old_unban].iter().zip(&headers) {
        assert_eq!(
            signed["svix-signature"],
            svix::sign(&secret, &delivery.id, delivery.timestamp, &delivery.body)
        );
    }

    let (status, body) = post(&serve, &headers[0], &created.body).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({"id": created.id, "type": "user.created", "userId": "user_py",
               "outcome": "applied", "revokedKeys": 0})
    );
    let token = serve.mint("user_py");
    let (status, who) = me(&serve, &token).await;
    assert_eq!((status, who["role"].clone()), (200, json!("none")), "{who}");

    // Replayed: 200, duplicate, nothing done again.
    let (status, body) = post(&serve, &headers[0], &created.body).await;
    assert_eq!((status, body["outcome"].clone()), (200, json!("duplicate")));

    // Tampered body under a valid signature.
    let tampered = created.body.replace("user_py", "user_px");
    expect_refused(
        &post(&serve, &headers[0], &tampered).await,
        "invalid webhook signature",
    );

    // Signed by the library with another secret.
    let other = Delivery::new(&svix::user_event(
        "user.created",
        "user_other",
        false,
        false,
        t0,
    ));
    let foreign = svix_sign(&python, &svix::random_secret(), &[&other]);
    expect_refused(
        &post(&serve, &foreign[0], &other.body).await,
        "invalid webhook signature",
    );

    // Stale and early: the library signs with a timestamp 10 minutes away.
    let mut stale = Delivery::new(&svix::user_event(
        "user.created",
        "user_stale",
        false,
        false,
        t0,
    ));
    stale.timestamp -= 600;
    let mut early = Delivery::new(&svix::user_event(
        "user.created",
        "user_stale",
        false,
        false,
        t0,
    ));
    early.timestamp += 600;
    let signed = svix_sign(&python, &secret, &[&stale, &early]);
    for (delivery, headers) in [&stale, &early].iter().zip(&signed) {
        expect_refused(
            &post(&serve, headers, &delivery.body).await,
            "webhook timestamp outside the tolerance",
        );
    }
    // Missing headers.
    let mut partial = headers[0].clone();
    partial.remove("svix-signature");
    expect_refused(
        &post(&serve, &partial, &created.body).await,
        "missing webhook signature",
    );

    // Out of order: banned at t2 then unbanned at t1 stays banned.
    let (status, body) = post(&serve, &headers[1], &banned.body).await;
    assert_eq!(
        (status, body["outcome"].clone()),
        (200, json!("applied")),
        "{body}"
    );
    let (status, body) = post(&serve, &headers[2], &old_unban.body).await;
    assert_eq!(
        (status, body["outcome"].clone()),
        (200, json!("superseded")),
        "{body}"
    );
    let (status, refusal) = me(&serve, &token).await;
    assert_eq!(
        (status, refusal["code"].clone()),
        (401, json!("account_suspended"))
    );

    // A deletion of a user with 25 keys (the embedded store is not interrupted here; see the
    // DynamoDB test below and the unit tests).
    serve.users_put("user_py_deleted", "manager", &[]);
    let keys = create_keys(&serve, "user_py_deleted", 25);
    let deletion = Delivery::new(&svix::deleted_event("user_py_deleted", svix::now_ms()));
    let signed = svix_sign(&python, &secret, &[&deletion]);
    let (status, body) = post(&serve, &signed[0], &deletion.body).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["revokedKeys"], 25);
    assert_eq!(active_keys(&serve, "user_py_deleted"), 0);
    let (status, refusal) = me(&serve, &keys[0].1).await;
    assert_eq!(
        (status, refusal["code"].clone()),
        (401, json!("invalid_api_key"))
    );
}

/// What `gatehouse webhooks send` posted, captured by a stand-in endpoint.
#[derive(Debug, Clone, Default)]
struct Captured {
    headers: BTreeMap<String, String>,
    body: String,
}

/// A stand-in for the webhook endpoint that records one request and answers `status`.
async fn capture_endpoint(status: u16) -> (String, Arc<Mutex<Option<Captured>>>) {
    let captured = Arc::new(Mutex::new(None));
    let sink = Arc::clone(&captured);
    let app = axum::Router::new().route(
        PATH,
        axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
            let sink = Arc::clone(&sink);
            async move {
                let headers = headers
                    .iter()
                    .filter(|(name, _)| name.as_str().starts_with("svix-"))
                    .map(|(name, value)| {
                        (name.as_str().to_owned(), value.to_str().unwrap().to_owned())
                    })
                    .collect();
                *sink.lock().unwrap() = Some(Captured { headers, body });
                (
                    axum::http::StatusCode::from_u16(status).unwrap(),
                    [("content-type", "application/json")],
                    r#"{"captured":true}"#,
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, captured)
}

/// `gatehouse webhooks send` signs as Svix does: the svix library verifies what it posts, with
/// `CLERK_WEBHOOK_SECRET` and with the state folder's secret; against `serve` it prints the answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_svix_library_verifies_what_webhooks_send_signs() {
    let Some(python) = svix_python() else {
        return;
    };
    let secret = svix::random_secret();
    let serve = Serve::start_with_env(
        env!("CARGO_BIN_EXE_gatehouse"),
        StoreKind::Embedded,
        ServeOptions {
            api: Api::Http,
            ttl: Some(0),
            demo: false,
        },
        &[("CLERK_WEBHOOK_SECRET", &secret)],
    );

    for (with_env, event, flags) in [
        (true, "user.updated", vec!["--banned"]),
        (true, "user.deleted", vec![]),
        (false, "user.created", vec!["--locked"]),
    ] {
        let (url, captured) = capture_endpoint(200).await;
        let mut args = vec![
            "webhooks",
            "send",
            event,
            "--user",
            "user_sent",
            "--url",
            &url,
        ];
        args.extend(flags.iter().copied());
        let output = if with_env {
            serve.cli(&args)
        } else {
            // No CLERK_WEBHOOK_SECRET: the state folder's secret.
            serve.cli_with_env(&args, &[("CLERK_WEBHOOK_SECRET", "")])
        };
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(stdout.starts_with("200 OK\n"), "{stdout}");
        assert!(stdout.contains(r#"{"captured":true}"#), "{stdout}");
        let used_secret = if with_env {
            secret.clone()
        } else {
            std::fs::read_to_string(serve.home().join("webhook-secret"))
                .unwrap()
                .trim()
                .to_owned()
        };
        assert!(!stdout.contains(&used_secret));
        let sent = captured.lock().unwrap().clone().unwrap();
        let (verified, answer) = svix_script(
            &python,
            "verify",
            &json!({"secret": used_secret, "headers": sent.headers, "body": sent.body}),
        );
        assert!(verified, "svix refused what webhooks send signed: {answer}");
        assert_eq!(answer["payload"]["type"], event);
        assert_eq!(answer["payload"]["object"], "event");
        assert_eq!(answer["payload"]["data"]["id"], "user_sent");
        if event != "user.deleted" {
            assert_eq!(
                answer["payload"]["data"]["banned"],
                flags.contains(&"--banned")
            );
            assert_eq!(
                answer["payload"]["data"]["locked"],
                flags.contains(&"--locked")
            );
        }
        // And with any other secret, the library refuses it.
        let (verified, _) = svix_script(
            &python,
            "verify",
            &json!({"secret": svix::random_secret(), "headers": sent.headers, "body": sent.body}),
        );
        assert!(!verified);
    }

    // Against serve itself: printed status and body; a refusal exits 1.
    let base = serve.base_url().to_owned();
    let out = serve.cli_ok(&[
        "webhooks",
        "send",
        "user.created",
        "--user",
        "user_sent",
        "--url",
        &base,
    ]);
    assert!(out.starts_with("200 OK\n"), "{out}");
    let answer: Value = serde_json::from_str(out.lines().nth(1).unwrap()).unwrap();
    assert_eq!(answer["outcome"], "applied");
    assert_eq!(answer["userId"], "user_sent");
    let refused = serve.cli_with_env(
        &[
            "webhooks",
            "send",
            "user.deleted",
            "--user",
            "user_sent",
            "--url",
            &base,
        ],
        &[("CLERK_WEBHOOK_SECRET", &svix::random_secret())],
    );
    assert_eq!(refused.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&refused.stdout);
    assert!(stdout.starts_with("401 Unauthorized\n"), "{stdout}");
    assert!(stdout.contains("invalid_signature"), "{stdout}");
    let (_, who) = me(&serve, &serve.mint("user_sent")).await;
    assert_eq!(who["role"], "none", "the refused deletion changed nothing");
}

/// On DynamoDB Local behind the faulty proxy: the store fails halfway through the deletion of a user
/// with 25 keys; `serve` answers 500 with the user already suspended, and the retry of the same
/// delivery answers 200 with every key revoked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deletion_interrupted_by_the_store_is_finished_by_the_retry() {
    let Some(endpoint) = gatehouse_testkit::servers::dynamodb_endpoint() else {
        return;
    };
    let proxy = FaultyProxy::start(&endpoint);
    let secret = svix::random_secret();
    let serve = Serve::start_with_env(
        env!("CARGO_BIN_EXE_gatehouse"),
        StoreKind::DynamoDbLocal {
            endpoint: endpoint.clone(),
        },
        ServeOptions {
            api: Api::Rest,
            ttl: Some(0),
            demo: false,
        },
        &[
            ("AWS_ENDPOINT_URL", proxy.url()),
            ("CLERK_WEBHOOK_SECRET", &secret),
        ],
    );
    let signed = |delivery: &Delivery| {
        let headers = svix::headers(&secret, &delivery.id, delivery.timestamp, &delivery.body);
        headers
            .pairs()
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect::<BTreeMap<_, _>>()
    };

    // Calibration: how many store requests a deletion makes without keys and with 25. Recording the
    // delivery is the last request and the revocation's writes come just before it, so failing
    // after all but the last two requests interrupts the revocation between two writes: the user
    // is suspended, some keys are revoked, and at least one is not.
    let mut whole = BTreeMap::new();
    for (user, count) in [("user_calibration_0", 0), ("user_calibration_25", 25)] {
        serve.users_put(user, "manager", &[]);
        create_keys(&serve, user, count);
        let before = proxy.forwarded();
        let calibration = Delivery::new(&svix::deleted_event(user, svix::now_ms()));
        let (status, body) = post(&serve, &signed(&calibration), &calibration.body).await;
        assert_eq!(
            (status, body["revokedKeys"].clone()),
            (200, json!(count)),
            "{body}"
        );
        whole.insert(count, proxy.forwarded() - before);
    }
    let (without_keys, with_keys) = (whole[&0], whole[&25]);
    assert!(
        with_keys >= without_keys + 2,
        "revoking 25 keys took {} store requests: nothing to interrupt",
        with_keys.saturating_sub(without_keys)
    );
    let cut = with_keys - 2;

    // The real one: the store fails after `cut` requests.
    let user = "user_interrupted";
    serve.users_put(user, "manager", &[]);
    let keys = create_keys(&serve, user, 25);
    let session = serve.mint(user);
    assert_eq!(me(&serve, &session).await.0, 200);
    let deletion = Delivery::new(&svix::deleted_event(user, svix::now_ms()));
    proxy.fail_after(cut);
    let (status, body) = post(&serve, &signed(&deletion), &deletion.body).await;
    proxy.disarm();
    assert_eq!(
        (status, body),
        (
            500,
            json!({"error": "internal error", "code": "internal_error"})
        )
    );
    assert!(proxy.failed() > 0);

    // Already suspended: no key and no session of the user is accepted, whichever keys the
    // interrupted attempt managed to revoke.
    let still_active = active_keys(&serve, user);
    eprintln!(
        "the interrupted deletion revoked {} of 25 keys before the store failed (a deletion takes \
         {without_keys} store requests without keys, {with_keys} with 25; the store failed after \
         {cut})",
        25 - still_active
    );
    assert!(
        (1..25).contains(&still_active),
        "the store failure did not fall inside the revocation: {still_active} of 25 keys active"
    );
    let (status, refusal) = me(&serve, &session).await;
    assert_eq!(
        (status, refusal["code"].clone()),
        (401, json!("account_suspended"))
    );
    for (id, key) in &keys {
        let (status, refusal) = me(&serve, key).await;
        assert_eq!(status, 401, "key {id} of a deleted user: {refusal}");
        assert!(
            refusal["code"] == "account_suspended" || refusal["code"] == "invalid_api_key",
            "{refusal}"
        );
    }

    // Svix retries the same delivery (same id and body, signed at its new attempt's time).
    let retry = Delivery {
        timestamp: svix::now(),
        ..deletion.clone()
    };
    let (status, body) = post(&serve, &signed(&retry), &retry.body).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["outcome"], "applied");
    assert_eq!(body["revokedKeys"], json!(still_active));
    assert_eq!(active_keys(&serve, user), 0);
    let (status, body) = post(&serve, &signed(&retry), &retry.body).await;
    assert_eq!((status, body["outcome"].clone()), (200, json!("duplicate")));
}
