//! `gatehouse token mint --clerk` from the outside (README, "Service tokens for scripts"): the real
//! binary against the stand-in for Clerk's Backend API (`gatehouse_testkit::clerk_backend`) over
//! HTTP, and the token it prints used on a `gatehouse serve` that runs outside dev mode
//! (`CLERK_ISSUER` and `CLERK_JWKS_URL` naming the stand-in's issuer and a JWKS server with its key),
//! so the real authorizer verifies it as it would any Clerk session token. Also: `--ttl-secs`, every
//! failure as one line and exit status 1 without the secret key in any output, the key read from
//! Secrets Manager (moto), and the usage errors.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gatehouse_testkit::clerk_backend::{ClerkBackend, Mode, RETRY_AFTER_SECS};
use gatehouse_testkit::jwks_server::JwksServer;
use gatehouse_testkit::serve::{Serve, ServeOptions, StoreKind};
use serde_json::{Value, json};

/// The instance's secret key (the stand-in accepts this one only).
const SECRET: &str = "sk_test_StandInSecretKey0123456789abcdefXYZ";
/// A user of the instance.
const USER: &str = "user_x";

/// Variables of the test's own environment that would change what the command does.
const SCRUBBED: [&str; 14] = [
    "CLERK_SECRET_KEY",
    "CLERK_SECRET_KEY_SECRET_ID",
    "CLERK_API_URL",
    "CLERK_ISSUER",
    "CLERK_JWKS_URL",
    "CLERK_JWT_KEY",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_SECRETS_MANAGER",
    "AWS_PROFILE",
    "AWS_SESSION_TOKEN",
    "GATEHOUSE_HOME",
    "RUST_LOG",
    "HTTP_PROXY",
    "HTTPS_PROXY",
];

/// The stand-in with [`USER`] known, and a JWKS server publishing its signing key.
struct Clerk {
    backend: ClerkBackend,
    jwks: JwksServer,
}

async fn clerk() -> Clerk {
    let backend = ClerkBackend::start(SECRET).await;
    backend.add_user(USER);
    let jwks = JwksServer::start(&[&backend.signing_key()]).await;
    Clerk { backend, jwks }
}

/// `gatehouse <args>` outside any `serve`, in a private state folder, with `env` over a scrubbed
/// environment.
fn gatehouse(args: &[&str], env: &[(&str, &str)]) -> Output {
    let dir: PathBuf = std::env::temp_dir().join(format!(
        "gatehouse-service-tokens-{}-{}",
        std::process::id(),
        gatehouse::apikey::generate_key_id().unwrap()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_gatehouse"));
    for var in SCRUBBED {
        command.env_remove(var);
    }
    command
        .args(args)
        .current_dir(&dir)
        .env("GATEHOUSE_HOME", dir.join("home"))
        .env("AWS_EC2_METADATA_DISABLED", "true");
    for (name, value) in env {
        command.env(name, value);
    }
    // A blocking wait: keep the runtime's other threads free for the stand-in.
    let output = tokio::task::block_in_place(|| command.output().unwrap());
    let _removed = std::fs::remove_dir_all(&dir);
    output
}

/// `token mint --clerk --sub <sub> <extra>` against `backend` with `key`.
fn mint(backend: &ClerkBackend, sub: &str, key: &str, extra: &[&str]) -> Output {
    let mut args = vec!["token", "mint", "--clerk", "--sub", sub];
    args.extend_from_slice(extra);
    gatehouse(
        &args,
        &[
            ("CLERK_SECRET_KEY", key),
            ("CLERK_API_URL", &backend.base_url),
        ],
    )
}

/// The one token line a successful mint printed.
fn printed_token(output: &Output) -> String {
    let stdout = String::from_utf8(output.stdout.clone()).unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{output:?}");
    assert!(stderr.is_empty(), "nothing on stderr: {stderr}");
    assert_eq!(stdout.lines().count(), 1, "one line: {stdout:?}");
    assert!(stdout.ends_with('\n'));
    let token = stdout.trim_end().to_owned();
    assert_eq!(token.split('.').count(), 3, "a JWT: {token}");
    token
}

/// The claims of a JWT (not verified: the authorizer does that).
fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

/// The one line (without `gatehouse: `) a failed command printed, after checking exit status 1,
/// nothing on stdout, and no secret anywhere.
fn failure_line(output: &Output, secrets: &[&str]) -> String {
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert!(output.stdout.is_empty(), "{output:?}");
    let stderr = String::from_utf8(output.stderr.clone()).unwrap();
    for secret in secrets {
        assert!(!stderr.contains(secret), "the key leaked: {stderr}");
    }
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line: {stderr:?}");
    lines[0]
        .strip_prefix("gatehouse: ")
        .unwrap_or_else(|| panic!("stderr: {stderr:?}"))
        .to_owned()
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// The script workflow: `serve` verifying real Clerk tokens (not dev mode), a user record, a token
/// from `token mint --clerk` at the start of the run, and the API called with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_script_mints_a_clerk_token_and_calls_the_api() {
    let clerk = clerk().await;
    let issuer = clerk.backend.issuer();
    let jwks_url = clerk.jwks.jwks_url();
    let serve = tokio::task::block_in_place(|| {
        Serve::start_with_env(
            env!("CARGO_BIN_EXE_gatehouse"),
            StoreKind::Embedded,
            ServeOptions::default(),
            &[("CLERK_ISSUER", &issuer), ("CLERK_JWKS_URL", &jwks_url)],
        )
    });
    tokio::task::block_in_place(|| serve.users_put(USER, "manager", &["--org", "org_1"]));

    let output = tokio::task::block_in_place(|| {
        serve.cli_with_env(
            &["token", "mint", "--clerk", "--sub", USER],
            &[
                ("CLERK_SECRET_KEY", SECRET),
                ("CLERK_API_URL", &clerk.backend.base_url),
            ],
        )
    });
    let token = printed_token(&output);

    // Exactly the two calls of Clerk's Backend API, with the secret key as the bearer.
    let sessions = clerk.backend.sessions();
    assert_eq!(sessions.len(), 1);
    let session = &sessions[0];
    assert_eq!(session.user_id, USER);
    let received = clerk.backend.received();
    assert_eq!(received.len(), 2, "{received:?}");
    assert_eq!(received[0].path, "/v1/sessions");
    assert_eq!(received[0].body, json!({"user_id": USER}));
    assert_eq!(
        received[1].path,
        format!("/v1/sessions/{}/tokens", session.id)
    );
    assert_eq!(received[1].body, Value::Null, "no lifetime asked, no body");
    for request in &received {
        assert_eq!(
            request.authorization.as_deref(),
            Some(format!("Bearer {SECRET}").as_str())
        );
    }

    // A Clerk session token for the session: Clerk's default lifetime.
    let claims = claims(&token);
    assert_eq!(claims["sub"], USER);
    assert_eq!(claims["sid"], session.id.as_str());
    assert_eq!(claims["iss"], issuer.as_str());
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        60
    );

    // The API accepts it as a session of the user.
    let reply = serve
        .client()
        .get(serve.url("/v1/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 200);
    let me: Value = reply.json().await.unwrap();
    assert_eq!(me["userId"], USER);
    assert_eq!(me["authType"], "session");
    assert_eq!(me["role"], "manager");
    assert_eq!(me["sessionId"], session.id.as_str());

    // The dev-mode mint is still refused outside dev mode.
    let dev = tokio::task::block_in_place(|| serve.cli(&["token", "mint", "--sub", USER]));
    let line = failure_line(&dev, &[SECRET]);
    assert!(line.contains("CLERK_ISSUER"), "{line}");

    let logs = serve.logs();
    assert!(!logs.contains(SECRET) && !logs.contains(&token), "{logs}");
}

/// `--ttl-secs` becomes `expires_in_seconds`, and the token lives exactly that long; Clerk's range
/// is checked before anything is sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ttl_secs_sets_the_token_lifetime() {
    let clerk = clerk().await;
    let before = now();
    let token = printed_token(&mint(&clerk.backend, USER, SECRET, &["--ttl-secs", "300"]));
    let received = clerk.backend.received();
    assert_eq!(received.len(), 2);
    assert_eq!(received[1].body, json!({"expires_in_seconds": 300}));
    let claims = claims(&token);
    let (iat, exp) = (
        claims["iat"].as_i64().unwrap(),
        claims["exp"].as_i64().unwrap(),
    );
    assert_eq!(exp - iat, 300);
    assert!((before..=now()).contains(&iat), "iat {iat}");

    for out_of_range in ["29", "1"] {
        let output = mint(&clerk.backend, USER, SECRET, &["--ttl-secs", out_of_range]);
        let line = failure_line(&output, &[SECRET]);
        assert!(line.contains("30") && line.contains("315360000"), "{line}");
    }
    // Beyond Clerk's maximum the command line itself is wrong.
    let output = mint(&clerk.backend, USER, SECRET, &["--ttl-secs", "315360001"]);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    assert_eq!(clerk.backend.received().len(), 2, "nothing more was sent");

    // Clerk's maximum itself is fine.
    let token = printed_token(&mint(
        &clerk.backend,
        USER,
        SECRET,
        &["--ttl-secs", "315360000"],
    ));
    let claims = self::claims(&token);
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        315_360_000
    );
}

/// Every way Clerk can fail is one line, exit status 1, and never the secret key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clerk_failures_are_one_line_without_the_key() {
    let clerk = clerk().await;
    let backend = &clerk.backend;

    let line = failure_line(&mint(backend, "user_nobody", SECRET, &[]), &[SECRET]);
    assert!(line.contains("user_nobody"), "{line}");
    assert!(line.contains("HTTP 404 resource_not_found"), "{line}");
    assert!(
        line.contains("Resource not found"),
        "Clerk's long_message: {line}"
    );

    let wrong = "sk_test_WrongKeyWrongKeyWrongKey0123456789";
    let line = failure_line(&mint(backend, USER, wrong, &[]), &[SECRET, wrong]);
    assert!(line.contains("HTTP 401 clerk_key_invalid"), "{line}");
    assert!(
        line.contains("CLERK_SECRET_KEY"),
        "names where the key came from: {line}"
    );

    backend.set_mode(Mode::Fail(429));
    let line = failure_line(&mint(backend, USER, SECRET, &[]), &[SECRET]);
    assert!(line.contains("HTTP 429 too_many_requests"), "{line}");
    assert!(
        line.contains(&format!("retry after {RETRY_AFTER_SECS} s")),
        "{line}"
    );

    backend.set_mode(Mode::Fail(500));
    let line = failure_line(&mint(backend, USER, SECRET, &[]), &[SECRET]);
    assert!(line.contains("HTTP 500 internal_clerk_error"), "{line}");
    assert!(line.contains("retry later"), "{line}");
    backend.set_mode(Mode::Serve);

    // A port nothing listens on.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{closed}");
    let output = gatehouse(
        &["token", "mint", "--clerk", "--sub", USER],
        &[("CLERK_SECRET_KEY", SECRET), ("CLERK_API_URL", &url)],
    );
    let line = failure_line(&output, &[SECRET]);
    assert!(
        line.contains("cannot reach the Clerk Backend API"),
        "{line}"
    );
    assert!(line.contains("could not connect"), "{line}");

    // Nothing but https (or http on this machine) is sent the key.
    let output = gatehouse(
        &["token", "mint", "--clerk", "--sub", USER],
        &[
            ("CLERK_SECRET_KEY", SECRET),
            ("CLERK_API_URL", "http://api.clerk.example"),
        ],
    );
    let line = failure_line(&output, &[SECRET]);
    assert!(line.contains("CLERK_API_URL"), "{line}");

    // Every failure above that reached the stand-in sent the key only as the bearer.
    for request in backend.received() {
        assert!(!request.body.to_string().contains(SECRET));
    }
}

/// A Clerk that does not answer is given up after the request timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_clerk_times_out() {
    let clerk = clerk().await;
    clerk.backend.set_mode(Mode::Delay(Duration::from_secs(30)));
    let started = std::time::Instant::now();
    let line = failure_line(&mint(&clerk.backend, USER, SECRET, &[]), &[SECRET]);
    let took = started.elapsed();
    assert!(line.contains("no answer within 10 s"), "{line}");
    assert!(took < Duration::from_secs(20), "{took:?}");
}

/// `--secret-id`: the key read from Secrets Manager (moto), as the project reads its secrets.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_key_can_come_from_secrets_manager() {
    let Some(endpoint) = gatehouse_testkit::servers::secretsmanager_endpoint() else {
        return;
    };
    let clerk = clerk().await;
    let name = gatehouse_testkit::servers::unique_name("gatehouse-clerk-key");
    let arn = gatehouse_testkit::servers::create_secret(&endpoint, &name, SECRET).await;
    let aws = [
        ("AWS_ENDPOINT_URL", endpoint.as_str()),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_CONFIG_FILE", "/nonexistent/gatehouse-test"),
        ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/gatehouse-test"),
        ("CLERK_API_URL", clerk.backend.base_url.as_str()),
    ];
    for id in [name.as_str(), arn.as_str()] {
        let output = gatehouse(
            &["token", "mint", "--clerk", "--sub", USER, "--secret-id", id],
            &aws,
        );
        let token = printed_token(&output);
        assert_eq!(claims(&token)["sub"], USER);
    }
    let received = clerk.backend.received();
    assert_eq!(received.len(), 4);
    for request in &received {
        assert_eq!(
            request.authorization.as_deref(),
            Some(format!("Bearer {SECRET}").as_str())
        );
    }

    let missing = gatehouse_testkit::servers::unique_name("gatehouse-no-such-secret");
    let output = gatehouse(
        &[
            "token",
            "mint",
            "--clerk",
            "--sub",
            USER,
            "--secret-id",
            &missing,
        ],
        &aws,
    );
    let line = failure_line(&output, &[SECRET]);
    assert!(
        line.contains("--secret-id") && line.contains(&missing),
        "{line}"
    );
    assert_eq!(
        clerk.backend.received().len(),
        4,
        "nothing sent without a key"
    );
}

/// Usage errors are clap's (exit status 2); a missing key is a failure naming CLERK_SECRET_KEY.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_errors_and_a_missing_key() {
    let clerk = clerk().await;
    let api = [("CLERK_API_URL", clerk.backend.base_url.as_str())];
    for extra in [
        &["--oauth", "--client-id", "c"][..],
        &["--azp", "https://app.example.com"],
        &["--issuer", "https://clerk.example.com"],
    ] {
        let mut args = vec!["token", "mint", "--clerk", "--sub", USER];
        args.extend_from_slice(extra);
        let output = gatehouse(&args, &api);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {output:?}");
        assert!(output.stdout.is_empty());
    }
    let output = gatehouse(&["token", "mint", "--sub", USER, "--secret-id", "x"], &api);
    assert_eq!(output.status.code(), Some(2), "--secret-id needs --clerk");

    let output = gatehouse(&["token", "mint", "--clerk", "--sub", USER], &api);
    let line = failure_line(&output, &[SECRET]);
    assert!(line.contains("CLERK_SECRET_KEY"), "{line}");
    assert!(line.contains("--secret-id"), "{line}");

    let output = gatehouse(
        &["token", "mint", "--clerk", "--sub", "not a user id"],
        &[("CLERK_SECRET_KEY", SECRET), api[0]],
    );
    let line = failure_line(&output, &[SECRET]);
    assert!(line.contains("--sub"), "{line}");

    let output = gatehouse(
        &["token", "mint", "--clerk", "--sub", USER],
        &[("CLERK_SECRET_KEY", "sk_test with spaces"), api[0]],
    );
    let line = failure_line(&output, &["sk_test with spaces"]);
    assert!(line.contains("malformed"), "{line}");

    assert!(clerk.backend.received().is_empty(), "nothing was sent");
}
