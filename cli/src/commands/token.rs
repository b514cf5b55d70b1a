//! `gatehouse token mint`, in two modes (README, "The `gatehouse` command").
//!
//! Dev mode: a token signed by the local dev key, for `gatehouse serve` in dev mode: a Clerk-shaped
//! session JWT, or with `--oauth` a Clerk-shaped OAuth access token (`typ` `at+jwt`), the kind the
//! dev authorization server of `serve` issues, for a client that does not run the authorization
//! code flow. It refuses when `CLERK_ISSUER` is set (then only Clerk's tokens are accepted). The
//! issuer is `--issuer`, else the URL the running `serve` recorded in `<home>/dev-issuer`.
//!
//! `--clerk`: a real session token for a script or a service account (README, "Service tokens for
//! scripts"), which no dev key can sign once `CLERK_ISSUER` names a real Clerk instance. It asks
//! Clerk's Backend API (`CLERK_API_URL`, the same variable and the same `{CLERK_API_URL}/v1/…`
//! composition as the authorizer's JWKS source) with the instance's secret key: `POST /v1/sessions`
//! `{"user_id": …}` creates a session for the user, `POST /v1/sessions/{id}/tokens` (with
//! `{"expires_in_seconds": N}` for `--ttl-secs`) a token for it, and only the JWT is printed. The
//! key (`CLERK_SECRET_KEY`, or the Secrets Manager secret `--secret-id`) is held as a
//! [`SecretString`] and sent only in the `Authorization` header: it is never printed, logged, stored
//! or put in an error. Every request is bounded by [`REQUEST_TIMEOUT`]; any failure is one line
//! (Clerk's own message for its errors, `Retry-After` for a rate limit) and exit status 1.

use std::ops::RangeInclusive;
use std::time::Duration;

use gatehouse::clock::{Clock, SystemClock};
use gatehouse::config::Env;
use gatehouse::keys::SecretString;
use serde_json::{Value, json};

use super::print;
use super::users::{check_id, quoted};
use crate::cli::{Failure, TokenCommand};
use crate::devkey::{AccessTokenRequest, DevKey, ISSUER_FILE, MintRequest};
use crate::home::Home;

/// The longest `--client-id` and `--scope` accepted.
const MAX_CLAIM_LEN: usize = 512;
/// A dev token's lifetime without `--ttl-secs`, in seconds.
const DEV_DEFAULT_TTL_SECS: u64 = 3600;
/// The longest dev token lifetime, in seconds (a year).
const DEV_MAX_TTL_SECS: u64 = 31_536_000;
/// The `--ttl-secs` Clerk accepts as `expires_in_seconds` (its Backend API's OpenAPI document:
/// minimum 30, maximum 315360000).
pub const CLERK_TTL_RANGE: RangeInclusive<u64> = 30..=315_360_000;
/// `CLERK_API_URL` when unset (as the authorizer's configuration has it).
const DEFAULT_CLERK_API_URL: &str = "https://api.clerk.com";
/// The upper bound of each request to Clerk (and of reading the key's secret), connection to last
/// byte.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// The upper bound of establishing a connection to Clerk.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The largest answer read from Clerk, in bytes.
const MAX_ANSWER_BYTES: usize = 64 * 1024;
/// The longest Clerk error message quoted in a failure, in characters.
const MAX_CLERK_MESSAGE: usize = 300;

/// Runs `token mint`.
pub async fn run<F: Fn(&str) -> Option<String>>(
    command: TokenCommand,
    home: &Home,
    env: &Env<F>,
) -> Result<(), Failure> {
    let TokenCommand::Mint {
        sub,
        ttl_secs,
        azp,
        issuer,
        oauth,
        client_id,
        scope,
        aud,
        clerk,
        secret_id,
    } = command;
    if clerk {
        let request = ClerkMint::check(sub, ttl_secs, secret_id, env)?;
        let jwt = request.run().await?;
        return print(&jwt);
    }
    if env.get("CLERK_ISSUER").is_some() {
        return Err(Failure::new(
            "token mint works in dev mode only, and CLERK_ISSUER is set (sign in with Clerk \
             instead, or use --clerk for a session token from Clerk's Backend API)",
        ));
    }
    check_id("--sub", &sub)?;
    let ttl_secs = ttl_secs.unwrap_or(DEV_DEFAULT_TTL_SECS);
    if ttl_secs > DEV_MAX_TTL_SECS {
        return Err(Failure::new(format!(
            "--ttl-secs {ttl_secs} is too long for a dev token: at most {DEV_MAX_TTL_SECS} (a year)"
        )));
    }
    if let Some(azp) = &azp
        && (azp.is_empty()
            || azp.len() > 512
            || azp.chars().any(|c| c.is_whitespace() || c.is_control()))
    {
        return Err(Failure::new(format!("invalid --azp {}", quoted(azp))));
    }
    let oauth = if oauth {
        Some(OAuthClaims::check(client_id, scope, aud, env)?)
    } else {
        None
    };
    let issuer = match issuer {
        Some(issuer) => gatehouse::config::parse_url("--issuer", &issuer)
            .map_err(|e| Failure::new(format!("--issuer {}", e.problem)))?,
        None => home
            .read(ISSUER_FILE)?
            .filter(|issuer| !issuer.is_empty())
            .ok_or_else(|| {
                Failure::new(format!(
                    "no dev issuer in {}: start `gatehouse serve` first (or pass --issuer)",
                    home.dir().display()
                ))
            })?,
    };
    let key = DevKey::load_or_create(home)?;
    let now = SystemClock.now_unix();
    let token = match &oauth {
        Some(claims) => key.mint_access_token(AccessTokenRequest {
            issuer: &issuer,
            sub: &sub,
            client_id: &claims.client_id,
            scope: &claims.scope,
            aud: claims.aud.as_deref(),
            ttl_secs,
            now,
        })?,
        None => key.mint(MintRequest {
            sub: &sub,
            ttl_secs,
            azp: azp.as_deref(),
            issuer: &issuer,
            now,
        })?,
    };
    print(&token)
}

/// Where the Clerk secret key comes from.
enum KeySource {
    /// `CLERK_SECRET_KEY`.
    Env(SecretString),
    /// `--secret-id`: a Secrets Manager secret (name or ARN).
    Secret(String),
}

impl KeySource {
    /// The source, named for a message (never the key).
    fn name(&self) -> String {
        match self {
            KeySource::Env(_) => "CLERK_SECRET_KEY".to_owned(),
            KeySource::Secret(id) => format!("secret {}", quoted(id)),
        }
    }

    /// The key itself, checked for shape (without ever echoing it).
    async fn load(&self) -> Result<SecretString, Failure> {
        let key = match self {
            KeySource::Env(key) => key.clone(),
            KeySource::Secret(id) => read_secret(id).await?,
        };
        if key.expose().is_empty() || !key.expose().bytes().all(|b| b.is_ascii_graphic()) {
            return Err(Failure::new(format!(
                "the Clerk secret key in {} is malformed: it must be one word of printable \
                 characters (sk_test_… or sk_live_…)",
                self.name()
            )));
        }
        Ok(key)
    }
}

/// The `SecretString` of Secrets Manager secret `id` (name or ARN), trimmed, read as the project
/// reads its other secrets ([`gatehouse::secrets`]: the SDK's default chain for region,
/// credentials and endpoint), bounded by [`REQUEST_TIMEOUT`]; a failure is AWS's error code and
/// message, not the SDK's whole error chain.
async fn read_secret(id: &str) -> Result<SecretString, Failure> {
    use aws_sdk_secretsmanager::error::{DisplayErrorContext, ProvideErrorMetadata as _};

    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let timeouts = aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_timeout(REQUEST_TIMEOUT)
        .build();
    let config = aws_sdk_secretsmanager::config::Builder::from(&sdk)
        .timeout_config(timeouts)
        .build();
    let client = aws_sdk_secretsmanager::Client::from_conf(config);
    let what = format!("--secret-id: cannot read secret {}", quoted(id));
    let output = client
        .get_secret_value()
        .secret_id(id)
        .send()
        .await
        .map_err(|error| {
            let reason = match error.as_service_error() {
                Some(service) => format!(
                    "{}: {}",
                    service.code().unwrap_or("error"),
                    service.message().unwrap_or("no message")
                ),
                None => DisplayErrorContext(&error).to_string(),
            };
            Failure::new(format!("{what}: {}", cut(&reason)))
        })?;
    match output.secret_string.as_deref().map(str::trim) {
        Some(value) if value.starts_with('{') => Err(Failure::new(format!(
            "{what}: it holds JSON; store the Clerk secret key itself as the secret's value"
        ))),
        Some(value) if !value.is_empty() => Ok(SecretString::new(value.to_owned())),
        _ => Err(Failure::new(format!("{what}: it has no SecretString"))),
    }
}

/// A checked `token mint --clerk`.
struct ClerkMint {
    /// `CLERK_API_URL`, without a trailing slash.
    api_url: String,
    sub: String,
    ttl_secs: Option<u64>,
    key: KeySource,
}

impl ClerkMint {
    /// Checks the arguments and the environment; nothing is read or sent yet.
    fn check<F: Fn(&str) -> Option<String>>(
        sub: String,
        ttl_secs: Option<u64>,
        secret_id: Option<String>,
        env: &Env<F>,
    ) -> Result<Self, Failure> {
        check_id("--sub", &sub)?;
        if let Some(ttl) = ttl_secs
            && !CLERK_TTL_RANGE.contains(&ttl)
        {
            return Err(Failure::new(format!(
                "--ttl-secs {ttl} is out of range for --clerk: Clerk accepts {} to {} seconds",
                CLERK_TTL_RANGE.start(),
                CLERK_TTL_RANGE.end()
            )));
        }
        let api_url = match env.get("CLERK_API_URL") {
            Some(url) => gatehouse::config::parse_url("CLERK_API_URL", &url)?,
            None => DEFAULT_CLERK_API_URL.to_owned(),
        };
        let key = match secret_id {
            Some(id) => {
                let id = id.trim().to_owned();
                if id.is_empty() {
                    return Err(Failure::new("--secret-id is empty"));
                }
                KeySource::Secret(id)
            }
            None => KeySource::Env(SecretString::new(env.get("CLERK_SECRET_KEY").ok_or_else(
                || {
                    Failure::new(
                        "token mint --clerk needs the Clerk instance's secret key: set \
                         CLERK_SECRET_KEY, or pass --secret-id naming a Secrets Manager secret \
                         that holds it",
                    )
                },
            )?)),
        };
        Ok(ClerkMint {
            api_url,
            sub,
            ttl_secs,
            key,
        })
    }

    /// Creates a session for the user, then a token for it; the JWT.
    async fn run(self) -> Result<String, Failure> {
        let key = self.key.load().await?;
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("gatehouse/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|_| Failure::new("cannot build the HTTP client"))?;
        let clerk = Clerk {
            http,
            api_url: &self.api_url,
            key: &key,
            key_source: self.key.name(),
        };

        let step = Step::Session { sub: &self.sub };
        let session = clerk
            .post("/v1/sessions", Some(json!({ "user_id": self.sub })), step)
            .await?;
        let session_id = session
            .get("id")
            .and_then(Value::as_str)
            .filter(|id| gatehouse::principal::is_valid_id(id))
            .filter(|_| session.get("object").and_then(Value::as_str) == Some("session"))
            .ok_or_else(|| {
                Failure::new(format!("{step}: Clerk's answer is not a session object"))
            })?;
        if session.get("user_id").and_then(Value::as_str) != Some(self.sub.as_str()) {
            return Err(Failure::new(format!(
                "{step}: Clerk answered a session of another user"
            )));
        }

        let step = Step::Token { session_id };
        let body = self
            .ttl_secs
            .map(|ttl| json!({ "expires_in_seconds": ttl }));
        let token = clerk
            .post(&format!("/v1/sessions/{session_id}/tokens"), body, step)
            .await?;
        let object = token.get("object").and_then(Value::as_str);
        token
            .get("jwt")
            .and_then(Value::as_str)
            .filter(|_| object.is_none_or(|o| o == "token"))
            .filter(|jwt| is_jwt_shaped(jwt))
            .map(str::to_owned)
            .ok_or_else(|| Failure::new(format!("{step}: Clerk's answer holds no JWT")))
    }
}

/// Whether `jwt` looks like a compact JWS: three non-empty base64url segments, within the size the
/// authorizer accepts.
fn is_jwt_shaped(jwt: &str) -> bool {
    jwt.len() <= gatehouse::jwt::MAX_TOKEN_BYTES
        && jwt.split('.').count() == 3
        && jwt.split('.').all(|segment| {
            !segment.is_empty()
                && segment
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// The request to Clerk a message is about.
#[derive(Clone, Copy)]
enum Step<'a> {
    /// `POST /v1/sessions` for this user.
    Session { sub: &'a str },
    /// `POST /v1/sessions/{session_id}/tokens`.
    Token { session_id: &'a str },
}

impl std::fmt::Display for Step<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Step::Session { sub } => write!(f, "creating a Clerk session for {}", quoted(sub)),
            Step::Token { session_id } => {
                write!(f, "creating a session token for Clerk session {session_id}")
            }
        }
    }
}

/// Clerk's Backend API with the secret key.
struct Clerk<'a> {
    http: reqwest::Client,
    api_url: &'a str,
    key: &'a SecretString,
    /// Where the key came from, for a message.
    key_source: String,
}

impl Clerk<'_> {
    /// `POST {api_url}{path}` with `body` as JSON (no body when `None`); the answer's JSON object,
    /// or one line saying what failed.
    async fn post(
        &self,
        path: &str,
        body: Option<Value>,
        step: Step<'_>,
    ) -> Result<Value, Failure> {
        let mut request = self
            .http
            .post(format!("{}{path}", self.api_url))
            .bearer_auth(self.key.expose())
            .header(http::header::ACCEPT, "application/json");
        if let Some(body) = body {
            request = request
                .header(http::header::CONTENT_TYPE, "application/json")
                .body(body.to_string());
        }
        let response = request
            .send()
            .await
            .map_err(|e| self.transport(step, e.is_timeout(), e.is_connect()))?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(http::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let bytes = response
            .bytes()
            .await
            .map_err(|e| self.transport(step, e.is_timeout(), false))?;
        if bytes.len() > MAX_ANSWER_BYTES {
            return Err(Failure::new(format!("{step}: Clerk's answer is too large")));
        }
        if !status.is_success() {
            return Err(self.refusal(step, status.as_u16(), retry_after.as_deref(), &bytes));
        }
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(value) if value.is_object() => Ok(value),
            _ => Err(Failure::new(format!(
                "{step}: Clerk's answer is not a JSON object"
            ))),
        }
    }

    /// A request that got no answer (nothing from the request, so no key, in the message).
    fn transport(&self, step: Step<'_>, timeout: bool, connect: bool) -> Failure {
        let what = if timeout {
            format!("no answer within {} s", REQUEST_TIMEOUT.as_secs())
        } else if connect {
            "could not connect".to_owned()
        } else {
            "transport error".to_owned()
        };
        Failure::new(format!(
            "{step}: cannot reach the Clerk Backend API at {} ({what})",
            self.api_url
        ))
    }

    /// One line for an error answer: the status, Clerk's code and message, and what to do.
    fn refusal(
        &self,
        step: Step<'_>,
        status: u16,
        retry_after: Option<&str>,
        body: &[u8],
    ) -> Failure {
        let (code, message) = clerk_error(body, self.key);
        let mut line = format!("{step}: Clerk answered HTTP {status}");
        if let Some(code) = code {
            line.push_str(&format!(" {code}"));
        }
        if let Some(message) = message {
            line.push_str(&format!(": {message}"));
        }
        let hint = match (status, step) {
            (401, _) => format!("Clerk did not accept the secret key in {}", self.key_source),
            (404, Step::Session { sub }) => {
                format!("is {} a user of this Clerk instance?", quoted(sub))
            }
            (400 | 403 | 422, Step::Session { .. }) => {
                "note: Clerk creates sessions from its Backend API on development instances only"
                    .to_owned()
            }
            (403, Step::Token { .. }) => {
                format!("the secret key in {} may not do this", self.key_source)
            }
            (429, _) => match retry_after.map(str::trim) {
                Some(secs) if !secs.is_empty() && secs.bytes().all(|b| b.is_ascii_digit()) => {
                    format!("rate limited: retry after {secs} s")
                }
                Some(when)
                    if !when.is_empty()
                        && when.len() <= 64
                        && when.bytes().all(|b| b == b' ' || b.is_ascii_graphic()) =>
                {
                    format!("rate limited: retry after {when}")
                }
                _ => "rate limited: retry later".to_owned(),
            },
            (500..=599, _) => "Clerk failed; retry later".to_owned(),
            _ => String::new(),
        };
        if !hint.is_empty() {
            line.push_str(&format!(" ({hint})"));
        }
        Failure::new(line)
    }
}

/// The code and message (`long_message`, else `message`) of the first error of Clerk's error body
/// `{"errors": [{"message", "long_message", "code"}]}`, on one line, cut short. Clerk's messages
/// never hold the key; it is redacted anyway, should one ever echo it.
fn clerk_error(body: &[u8], key: &SecretString) -> (Option<String>, Option<String>) {
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return (None, None);
    };
    let Some(first) = value
        .get("errors")
        .and_then(Value::as_array)
        .and_then(|errors| errors.first())
    else {
        return (None, None);
    };
    let text = |name: &str| {
        first
            .get(name)
            .and_then(Value::as_str)
            .map(|text| cut(&text.replace(key.expose(), "<redacted>")))
            .filter(|text| !text.is_empty())
    };
    let code = text("code").filter(|code| {
        code.len() <= 64
            && code
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    });
    (code, text("long_message").or_else(|| text("message")))
}

/// The checked `--oauth` claims.
struct OAuthClaims {
    client_id: String,
    scope: String,
    aud: Option<String>,
}

impl OAuthClaims {
    fn check<F: Fn(&str) -> Option<String>>(
        client_id: Option<String>,
        scope: Option<String>,
        aud: Option<String>,
        env: &Env<F>,
    ) -> Result<Self, Failure> {
        let client_id = client_id.ok_or_else(|| Failure::new("--oauth needs --client-id"))?;
        if client_id.is_empty()
            || client_id.len() > MAX_CLAIM_LEN
            || !client_id.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err(Failure::new(format!(
                "invalid --client-id {}: use printable characters, no spaces",
                quoted(&client_id)
            )));
        }
        let scope = match scope {
            Some(scope) => {
                let tokens: Vec<&str> = scope.split(' ').filter(|s| !s.is_empty()).collect();
                let valid = !tokens.is_empty()
                    && scope.len() <= MAX_CLAIM_LEN
                    && tokens.iter().all(|token| {
                        token
                            .bytes()
                            .all(|b| (0x21..0x7f).contains(&b) && b != b'"' && b != b'\\')
                    });
                if !valid {
                    return Err(Failure::new(format!(
                        "invalid --scope {}: OAuth scopes separated by spaces, e.g. \"read write\"",
                        quoted(&scope)
                    )));
                }
                tokens.join(" ")
            }
            None => gatehouse::oauth::scope_map_from_env(env)?
                .supported()
                .join(" "),
        };
        let aud = aud
            .map(|aud| {
                gatehouse::config::parse_url("--aud", &aud)
                    .map(|_| aud.clone())
                    .map_err(|e| Failure::new(format!("--aud {}", e.problem)))
            })
            .transpose()?;
        Ok(OAuthClaims {
            client_id,
            scope,
            aud,
        })
    }
}

/// `text` on one line, without control characters, cut to [`MAX_CLERK_MESSAGE`] characters (an
/// ellipsis marks a cut).
fn cut(text: &str) -> String {
    let line: String = text
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .filter(|c| !c.is_control())
        .collect();
    if line.chars().count() <= MAX_CLERK_MESSAGE {
        return line;
    }
    let mut short: String = line.chars().take(MAX_CLERK_MESSAGE - 1).collect();
    short.push('…');
    short
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )]

    use super::*;

    const KEY: &str = "sk_test_unit0123456789";

    fn env(vars: &[(&'static str, &'static str)]) -> Env<impl Fn(&str) -> Option<String>> {
        let vars = vars.to_vec();
        Env::new(move |name: &str| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    fn clerk(key: &SecretString) -> Clerk<'_> {
        Clerk {
            http: reqwest::Client::new(),
            api_url: "https://api.clerk.com",
            key,
            key_source: "CLERK_SECRET_KEY".to_owned(),
        }
    }

    #[test]
    fn clerk_errors_become_one_line_with_the_long_message_and_never_the_key() {
        let key = SecretString::new(KEY.to_owned());
        let body = json!({"errors": [
            {"message": "not found", "long_message": "Resource\nnot found", "code": "resource_not_found"},
            {"message": "second", "code": "other"}
        ]});
        let line = clerk(&key)
            .refusal(
                Step::Session { sub: "user_x" },
                404,
                None,
                body.to_string().as_bytes(),
            )
            .to_string();
        assert_eq!(
            line,
            "creating a Clerk session for \"user_x\": Clerk answered HTTP 404 resource_not_found: \
             Resource not found (is \"user_x\" a user of this Clerk instance?)"
        );

        let echo = json!({"errors": [{"message": format!("bad key {KEY}"), "code": KEY}]});
        let line = clerk(&key)
            .refusal(
                Step::Token {
                    session_id: "sess_1",
                },
                401,
                None,
                echo.to_string().as_bytes(),
            )
            .to_string();
        assert!(!line.contains(KEY), "{line}");
        assert!(line.contains("bad key <redacted>"), "{line}");
        assert!(line.contains("CLERK_SECRET_KEY"), "{line}");

        let line = clerk(&key)
            .refusal(
                Step::Session { sub: "u" },
                429,
                Some("12"),
                b"<html>busy</html>",
            )
            .to_string();
        assert!(
            line.ends_with("HTTP 429 (rate limited: retry after 12 s)"),
            "{line}"
        );
        let line = clerk(&key)
            .refusal(Step::Session { sub: "u" }, 429, Some("\x01bad"), b"")
            .to_string();
        assert!(line.ends_with("(rate limited: retry later)"), "{line}");
    }

    #[test]
    fn long_messages_are_cut() {
        let long = "word ".repeat(200);
        let cut = cut(&long);
        assert_eq!(cut.chars().count(), MAX_CLERK_MESSAGE);
        assert!(cut.ends_with('…'));
        assert_eq!(super::cut("a\tb\r\nc"), "a b c");
    }

    #[test]
    fn only_jwt_shaped_answers_are_printed() {
        assert!(is_jwt_shaped("aGVhZA.cGF5bG9hZA.c2ln-_"));
        assert!(!is_jwt_shaped("aGVhZA.cGF5bG9hZA"));
        assert!(!is_jwt_shaped("aGVhZA..c2ln"));
        assert!(!is_jwt_shaped("aGVhZA.cGF5bG9hZA.c2ln\nx"));
        assert!(!is_jwt_shaped(&format!("a.b.{}", "c".repeat(9000))));
    }

    #[test]
    fn the_key_comes_from_the_environment_or_a_secret_and_is_never_shown() {
        let checked = ClerkMint::check(
            "user_x".into(),
            None,
            None,
            &env(&[("CLERK_SECRET_KEY", KEY)]),
        )
        .unwrap();
        assert_eq!(checked.api_url, DEFAULT_CLERK_API_URL);
        assert!(matches!(&checked.key, KeySource::Env(key) if key.expose() == KEY));
        assert_eq!(checked.key.name(), "CLERK_SECRET_KEY");

        let checked = ClerkMint::check(
            "user_x".into(),
            Some(30),
            Some("gatehouse/clerk".into()),
            &env(&[
                ("CLERK_SECRET_KEY", KEY),
                ("CLERK_API_URL", "http://127.0.0.1:9/"),
            ]),
        )
        .unwrap();
        assert_eq!(checked.api_url, "http://127.0.0.1:9");
        assert!(matches!(&checked.key, KeySource::Secret(id) if id == "gatehouse/clerk"));

        let missing = ClerkMint::check("user_x".into(), None, None, &env(&[]))
            .err()
            .unwrap();
        assert!(missing.to_string().contains("CLERK_SECRET_KEY"));
        for ttl in [29, 315_360_001] {
            let range = ClerkMint::check(
                "user_x".into(),
                Some(ttl),
                None,
                &env(&[("CLERK_SECRET_KEY", KEY)]),
            )
            .err()
            .unwrap();
            assert!(range.to_string().contains("30 to 315360000"), "{range}");
        }
        let not_https = ClerkMint::check(
            "user_x".into(),
            None,
            None,
            &env(&[
                ("CLERK_SECRET_KEY", KEY),
                ("CLERK_API_URL", "http://api.clerk.com"),
            ]),
        )
        .err()
        .unwrap();
        assert!(not_https.to_string().contains("CLERK_API_URL"));
        assert!(!not_https.to_string().contains(KEY));
    }
}
