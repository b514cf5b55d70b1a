//! Hardening through `gatehouse serve` (README "What the authorizer cache may delay, and what it may not"): a cached authorizer answer never extends
//! a credential's life, bodies over 64 KiB are refused before parsing, and the embedded store is not
//! reachable from outside the process.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gatehouse_testkit::serve::Serve;
use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{get, me, post_keys, request, send, signed_in};

/// Run with `--authorizer-ttl 300`.
pub const LONG_TTL_SECS: u64 = 300;

fn now_secs() -> i64 {
    let elapsed = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    i64::try_from(elapsed.as_secs()).unwrap()
}

/// Sleeps until the wall clock has reached `unix_seconds`.
async fn sleep_until(unix_seconds: i64) {
    let elapsed = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let target = Duration::from_secs(u64::try_from(unix_seconds).unwrap());
    if let Some(wait) = target.checked_sub(elapsed) {
        tokio::time::sleep(wait).await;
    }
}

/// The `exp` claim of a JWT (read, not verified: the test minted it).
fn exp_of(token: &str) -> i64 {
    let payload = token.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    claims["exp"].as_i64().unwrap()
}

/// The access-log lines of `user`'s requests that answered `status` from the authorizer cache.
fn cached_answers(logs: &str, user: &str, status: u16) -> usize {
    logs.lines()
        .filter(|line| {
            line.contains(&format!("user=\"{user}\""))
                && line.contains(&format!("status={status} "))
                && line.contains("cache=\"hit\"")
        })
        .count()
}

/// A session token expiring in 3 s and an API key whose `expiresAt` passes in 3 s both answer 200,
/// then the 401 the authorizer would give, while the authorizer's Allow is still cached (300 s).
pub async fn expired_credentials_are_refused_from_the_cache(serve: &Serve) {
    let session = signed_in(serve, "user_expiring", "manager");
    let short = serve.mint_with_ttl("user_expiring", 3);
    let created = serve.cli_ok(&[
        "keys",
        "create",
        "--user",
        "user_expiring",
        "--name",
        "short-lived",
        "--expires-in-secs",
        "3",
    ]);
    let key_created_by = now_secs();
    let created: Value = serde_json::from_str(&created).unwrap();
    let key = created["key"].as_str().unwrap().to_owned();

    // Both work, and the second use of each is answered from the cached Allow.
    for token in [short.as_str(), key.as_str()] {
        me(serve, token).await;
        me(serve, token).await;
    }
    let logs = serve
        .logs_once(|logs| cached_answers(logs, "user_expiring", 200) >= 2)
        .await;
    assert!(cached_answers(&logs, "user_expiring", 200) >= 2, "{logs}");
    // The long-lived session is unaffected throughout.
    me(serve, &session).await;

    // The token is valid until exp plus the 5 s clock skew; the key until createdAt + 3.
    sleep_until((exp_of(&short) + 5).max(key_created_by + 3) + 1).await;
    let expired_token = ("token_expired", "invalid token: expired");
    let expired_key = ("invalid_api_key", "invalid api key");
    for (path, token, (code, message)) in [
        ("/v1/me", short.as_str(), expired_token),
        ("/v1/me/keys", short.as_str(), expired_token),
        ("/v1/me", key.as_str(), expired_key),
        ("/v1/organizations", key.as_str(), expired_key),
    ] {
        get(serve, path, token)
            .await
            .expect_route_401(serve, code, message);
    }
    // Refused by the routes, from the cache: the authorizer was not asked again.
    let logs = serve
        .logs_once(|logs| cached_answers(logs, "user_expiring", 401) >= 4)
        .await;
    assert!(cached_answers(&logs, "user_expiring", 401) >= 4, "{logs}");
    me(serve, &session).await;
}

/// A 6 MB body gets 413 `payload_too_large` on every route that reads a body; 64 KiB is still read.
pub async fn bodies_over_64_kib_are_refused(serve: &Serve) {
    let session = signed_in(serve, "user_bodies", "manager");
    let six_megabytes = format!(r#"{{"name":"{}"}}"#, "x".repeat(6 * 1024 * 1024));
    post_keys(serve, &session, &six_megabytes)
        .await
        .expect_error(413, "payload_too_large", "request body too large");
    let over = format!(r#"{{"name":"{}"}}"#, "x".repeat(64 * 1024));
    post_keys(serve, &session, &over).await.expect_error(
        413,
        "payload_too_large",
        "request body too large",
    );
    // At the limit the body is parsed, and judged on its content.
    let at_limit = format!(r#"{{"name":"{}"}}"#, "x".repeat(64 * 1024 - 11));
    assert_eq!(at_limit.len(), 64 * 1024);
    post_keys(serve, &session, &at_limit).await.expect_error(
        400,
        "bad_request",
        "name must be 1 to 64 printable characters",
    );
    let package = json!({
        "locationId": "loc_x",
        "title": "x".repeat(100 * 1024),
        "signerUserIds": ["user_bodies"],
        "documents": [{"name": "a.pdf"}]
    });
    send(
        request(
            serve,
            Method::POST,
            "/v1/signing/manager/signings",
            Some(&session),
        )
        .header("Content-Type", "application/json")
        .body(package.to_string()),
    )
    .await
    .expect_error(413, "payload_too_large", "request body too large");
}

/// The TCP ports `pid` listens on (Linux: its socket inodes, looked up in /proc/net/tcp{,6}).
fn listening_ports(pid: u32) -> Vec<u16> {
    let mut inodes = Vec::new();
    for entry in std::fs::read_dir(format!("/proc/{pid}/fd")).unwrap() {
        let Ok(link) = std::fs::read_link(entry.unwrap().path()) else {
            continue;
        };
        if let Some(inode) = link
            .to_str()
            .and_then(|l| l.strip_prefix("socket:["))
            .and_then(|l| l.strip_suffix(']'))
        {
            inodes.push(inode.to_owned());
        }
    }
    let mut ports = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            // local_address is field 1 (hex ip:port), st field 3 (0A = LISTEN), inode field 9.
            if fields.len() > 9 && fields[3] == "0A" && inodes.iter().any(|i| i == fields[9]) {
                let port = fields[1].rsplit(':').next().unwrap();
                ports.push(u16::from_str_radix(port, 16).unwrap());
            }
        }
    }
    ports.sort_unstable();
    ports.dedup();
    ports
}

/// `serve` listens on one port, its own: the embedded store has no socket a browser page or another
/// local user could reach, and a CORS preflight from any origin gets no permission.
pub async fn only_the_api_listens(serve: &Serve) {
    let port: u16 = serve
        .base_url()
        .rsplit(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    // The store is open (a request went through it) before the sockets are counted.
    let session = signed_in(serve, "user_sockets", "signer");
    me(serve, &session).await;
    if std::path::Path::new("/proc/self/fd").exists() {
        assert_eq!(listening_ports(serve.pid()), vec![port]);
    } else {
        eprintln!("skipping the socket count: no /proc here");
    }
    for path in ["/", "/v1/me"] {
        let preflight = send(
            serve
                .client()
                .request(Method::OPTIONS, serve.url(path))
                .header("Origin", "https://evil.example")
                .header("Access-Control-Request-Method", "POST")
                .header(
                    "Access-Control-Request-Headers",
                    "content-type,x-amz-target",
                ),
        )
        .await;
        assert!(
            preflight.header("access-control-allow-origin").is_none(),
            "{path}: {:?}",
            preflight.headers
        );
    }
}
