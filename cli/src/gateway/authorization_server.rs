//! Dev mode's OAuth 2.0 authorization server. Deployed, Clerk is the authorization server that issues
//! the OAuth access tokens `/mcp` and the API accept; in dev mode (no `CLERK_ISSUER`) `gatehouse serve`
//! is its own issuer, so it must also play that part, or an MCP client could never get a token
//! locally. It speaks what MCP clients expect of an authorization server, and issues access tokens
//! of exactly the shape Clerk does (JWT, `typ` `at+jwt`, signed by the dev key), so the authorizer
//! verifies them through its real path (JWKS fetch, kid, RS256, claims, audience):
//!
//! - [`METADATA_PATH`] (RFC 8414; also at [`OPENID_CONFIGURATION_PATH`]): the server's metadata;
//! - [`REGISTRATION_PATH`] (RFC 7591): dynamic registration of public clients (no secret; the token
//!   endpoint authenticates nobody, PKCE binds the code to the client that asked for it);
//! - [`AUTHORIZATION_PATH`] (RFC 6749 section 4.1, PKCE S256 only per RFC 7636, `resource` per RFC
//!   8707, `iss` in the response per RFC 9207): with `login_hint=<user id>` it approves at once;
//!   without, it shows a page listing the demo users found in the store (and a field for any other
//!   user id), whose forms POST back to the same path;
//! - [`TOKEN_PATH`]: the `authorization_code` grant (single-use codes, bound to the client, the
//!   redirect URI, the resource and the PKCE challenge) and the `refresh_token` grant (rotation: each
//!   refresh token works once; presenting a used one revokes its whole family, as does presenting a
//!   used code).
//!
//! There is no password: this is a dev tool, mounted only in dev mode (`serve` without
//! `CLERK_ISSUER`), where anyone holding the state folder can mint any token anyway.
//!
//! **State lives in memory**: registered clients, codes and refresh tokens are lost when `serve`
//! stops (clients then register again; access tokens, being signed JWTs, keep working until they
//! expire). Every table is bounded. Codes and refresh tokens are `<id>.<secret>`: only the SHA-256
//! of the secret is kept, compared in constant time, and neither is ever logged (the log line of a
//! request names its method, path and status only).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use axum::body::Body;
use axum::extract::Request;
use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gatehouse::clock::{Clock, SystemClock};
use gatehouse::oauth::ScopeMap;
use gatehouse::store::AuthStore;
use http::{HeaderValue, Method, StatusCode, header};
use serde_json::{Map, Value, json};

use crate::devkey::{AccessTokenRequest, DevKey};

/// RFC 8414 authorization server metadata.
pub const METADATA_PATH: &str = "/.well-known/oauth-authorization-server";
/// The same metadata where OpenID Connect discovery looks for it.
pub const OPENID_CONFIGURATION_PATH: &str = "/.well-known/openid-configuration";
/// RFC 7591 dynamic client registration.
pub const REGISTRATION_PATH: &str = "/oauth/register";
/// The authorization endpoint (GET: the request; POST: the consent page's answer).
pub const AUTHORIZATION_PATH: &str = "/oauth/authorize";
/// The token endpoint.
pub const TOKEN_PATH: &str = "/oauth/token";

/// Lifetime of an access token (`expires_in`).
pub const ACCESS_TOKEN_TTL_SECS: u64 = 3600;
/// Lifetime of an authorization code.
pub const CODE_TTL_SECS: i64 = 60;
/// Lifetime of a refresh token (each rotation starts a new one).
pub const REFRESH_TOKEN_TTL_SECS: i64 = 7 * 24 * 3600;

/// The largest registration body (JSON) read.
pub const MAX_REGISTRATION_BODY: usize = 16 * 1024;
/// The largest form body (token request, consent answer) read.
pub const MAX_FORM_BODY: usize = 16 * 1024;

const MAX_CLIENTS: usize = 1_000;
const MAX_CODES: usize = 10_000;
const MAX_REFRESH_TOKENS: usize = 10_000;
const MAX_REDIRECT_URIS: usize = 10;
const MAX_URI_LEN: usize = 2_048;
const MAX_STATE_LEN: usize = 2_048;
const MAX_CLIENT_NAME_LEN: usize = 200;

/// A registered client.
#[derive(Debug, Clone)]
struct Client {
    redirect_uris: Vec<String>,
    refresh: bool,
    name: Option<String>,
    sequence: u64,
}

/// What a code or refresh token grants.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Grant {
    sub: String,
    client_id: String,
    scopes: Vec<String>,
    resource: Option<String>,
}

/// An authorization code, not yet redeemed.
#[derive(Debug)]
struct Code {
    digest: Vec<u8>,
    grant: Grant,
    redirect_uri: String,
    redirect_uri_given: bool,
    challenge: String,
    expires_at: i64,
}

/// A live refresh token.
#[derive(Debug)]
struct Refresh {
    digest: Vec<u8>,
    grant: Grant,
    family: u64,
    expires_at: i64,
}

/// A redeemed code or rotated refresh token: presenting it again revokes `family`.
#[derive(Debug, Clone, Copy)]
struct Spent {
    family: Option<u64>,
    expires_at: i64,
}

trait Expiring {
    fn expires_at(&self) -> i64;
}

impl Expiring for Code {
    fn expires_at(&self) -> i64 {
        self.expires_at
    }
}

impl Expiring for Refresh {
    fn expires_at(&self) -> i64 {
        self.expires_at
    }
}

impl Expiring for Spent {
    fn expires_at(&self) -> i64 {
        self.expires_at
    }
}

/// Inserts into a bounded table: expired entries go first, then the one closest to expiry.
fn insert_bounded<V: Expiring>(
    map: &mut HashMap<String, V>,
    key: String,
    value: V,
    max: usize,
    now: i64,
) {
    if map.len() >= max {
        map.retain(|_, v| v.expires_at() > now);
    }
    if map.len() >= max
        && let Some(oldest) = map
            .iter()
            .min_by_key(|(_, v)| v.expires_at())
            .map(|(k, _)| k.clone())
    {
        map.remove(&oldest);
    }
    map.insert(key, value);
}

#[derive(Debug, Default)]
struct State {
    clients: HashMap<String, Client>,
    codes: HashMap<String, Code>,
    spent_codes: HashMap<String, Spent>,
    refresh: HashMap<String, Refresh>,
    spent_refresh: HashMap<String, Spent>,
    sequence: u64,
}

impl State {
    fn next(&mut self) -> u64 {
        self.sequence = self.sequence.wrapping_add(1);
        self.sequence
    }

    /// Revokes every refresh token of `family`.
    fn revoke_family(&mut self, family: u64) {
        self.refresh.retain(|_, refresh| refresh.family != family);
    }
}

/// The dev authorization server (see the module documentation).
pub struct AuthorizationServer<S> {
    issuer: String,
    key: DevKey,
    scopes: ScopeMap,
    store: S,
    demo_users: Vec<String>,
    clock: Arc<dyn Clock>,
    state: Mutex<State>,
}

impl<S> std::fmt::Debug for AuthorizationServer<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthorizationServer")
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

/// An OAuth error answer of the token or registration endpoint (RFC 6749 section 5.2, RFC 7591
/// section 3.2.2).
#[derive(Debug)]
struct OAuthError {
    status: StatusCode,
    error: &'static str,
    description: String,
}

impl OAuthError {
    fn new(error: &'static str, description: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            error,
            description: description.into(),
        }
    }

    fn with_status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }

    fn server() -> Self {
        Self::new("server_error", "the random generator failed")
            .with_status(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

/// Why an authorization request fails: before the redirect URI is known to be the client's, a page
/// (never a redirect to an unverified URI); after, a redirect carrying the error (RFC 6749 section
/// 4.1.2.1).
#[derive(Debug)]
enum AuthorizeError {
    Page(String),
    Redirect {
        redirect_uri: String,
        state: Option<String>,
        error: &'static str,
        description: String,
    },
}

/// A checked authorization request.
#[derive(Debug)]
struct AuthorizationRequest {
    client_id: String,
    client_name: Option<String>,
    redirect_uri: String,
    redirect_uri_given: bool,
    state: Option<String>,
    challenge: String,
    scopes: Vec<String>,
    resource: Option<String>,
    login_hint: Option<String>,
}

impl<S: AuthStore + 'static> AuthorizationServer<S> {
    /// The server for `issuer` (`http://127.0.0.1:<port>`), signing with `key`, offering the OAuth
    /// scopes of `scopes` (`OAUTH_SCOPE_MAP`), and listing on its consent page the demo users found
    /// in `store`.
    pub fn new(issuer: impl Into<String>, key: DevKey, scopes: ScopeMap, store: S) -> Self {
        let demo_users = serde_json::from_str::<Value>(crate::demo::DEMO_WORLD)
            .ok()
            .and_then(|world| {
                world.get("users").and_then(Value::as_array).map(|users| {
                    users
                        .iter()
                        .filter_map(|user| user.get("id").and_then(Value::as_str))
                        .map(str::to_owned)
                        .collect()
                })
            })
            .unwrap_or_default();
        Self {
            issuer: issuer.into().trim_end_matches('/').to_owned(),
            key,
            scopes,
            store,
            demo_users,
            clock: Arc::new(SystemClock),
            state: Mutex::new(State::default()),
        }
    }

    /// The same server on another clock (for tests of expiry).
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The issuer.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The RFC 8414 metadata document.
    pub fn metadata(&self) -> Value {
        let url = |path: &str| format!("{}{path}", self.issuer);
        json!({
            "issuer": self.issuer,
            "authorization_endpoint": url(AUTHORIZATION_PATH),
            "token_endpoint": url(TOKEN_PATH),
            "registration_endpoint": url(REGISTRATION_PATH),
            "jwks_uri": url(crate::serve::JWKS_PATH),
            "scopes_supported": self.scopes.supported(),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["none"],
            "authorization_response_iss_parameter_supported": true,
        })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn now(&self) -> i64 {
        self.clock.now_unix()
    }

    /// Answers one request to one of the server's paths; one log line (method, path, status).
    pub async fn handle(&self, request: Request) -> Response {
        let started = Instant::now();
        let method = request.method().clone();
        let path = request.uri().path().to_owned();
        let response = match path.as_str() {
            METADATA_PATH | OPENID_CONFIGURATION_PATH => match method {
                Method::GET | Method::HEAD => {
                    json_response(StatusCode::OK, &self.metadata(), Cors::Yes)
                }
                Method::OPTIONS => preflight(),
                _ => method_not_allowed("GET, HEAD, OPTIONS"),
            },
            REGISTRATION_PATH => match method {
                Method::POST => self.register(request).await,
                Method::OPTIONS => preflight(),
                _ => method_not_allowed("POST, OPTIONS"),
            },
            AUTHORIZATION_PATH => match method {
                Method::GET => {
                    let query = request.uri().query().unwrap_or_default().to_owned();
                    self.authorize(&query, false).await
                }
                Method::POST => match read_form(request).await {
                    Ok(body) => self.authorize(&body, true).await,
                    Err(error) => html_page(
                        error.status,
                        "Bad request",
                        &format!("<p>{}</p>", escape(&error.description)),
                    ),
                },
                _ => method_not_allowed("GET, POST"),
            },
            TOKEN_PATH => match method {
                Method::POST => match read_form(request).await {
                    Ok(body) => match self.token(&body) {
                        Ok(answer) => json_response(StatusCode::OK, &answer, Cors::Yes),
                        Err(error) => error_response(&error),
                    },
                    Err(error) => error_response(&error),
                },
                Method::OPTIONS => preflight(),
                _ => method_not_allowed("POST, OPTIONS"),
            },
            _ => json_response(
                StatusCode::NOT_FOUND,
                &json!({"error": "not found", "code": "not_found"}),
                Cors::No,
            ),
        };
        let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        // Never the query string or the body: codes, verifiers and tokens travel there.
        tracing::info!(
            target: "gatehouse::oauth",
            method = %method,
            path = %path,
            status = response.status().as_u16(),
            duration_ms,
            "request"
        );
        response
    }

    // ---------------------------------------------------------------------------------------------
    // registration

    async fn register(&self, request: Request) -> Response {
        match self.register_inner(request).await {
            Ok(body) => json_response(StatusCode::CREATED, &body, Cors::Yes),
            Err(error) => error_response(&error),
        }
    }

    async fn register_inner(&self, request: Request) -> Result<Value, OAuthError> {
        if !has_content_type(&request, "application/json") {
            return Err(OAuthError::new(
                "invalid_client_metadata",
                "the registration request must be JSON (Content-Type: application/json)",
            ));
        }
        let body = read_body(request, MAX_REGISTRATION_BODY, "invalid_client_metadata").await?;
        let metadata: Map<String, Value> = serde_json::from_slice(&body).map_err(|_| {
            OAuthError::new(
                "invalid_client_metadata",
                "the registration request is not a JSON object",
            )
        })?;
        let redirect_uris = match metadata.get("redirect_uris") {
            Some(Value::Array(uris)) if !uris.is_empty() && uris.len() <= MAX_REDIRECT_URIS => uris
                .iter()
                .map(|uri| {
                    uri.as_str()
                        .filter(|uri| is_valid_redirect_uri(uri))
                        .map(str::to_owned)
                        .ok_or_else(|| {
                            OAuthError::new(
                                "invalid_redirect_uri",
                                "every redirect URI must be an absolute https:// URL (http:// only \
                                 for localhost or 127.0.0.1) without a fragment",
                            )
                        })
                })
                .collect::<Result<Vec<_>, _>>()?,
            _ => {
                return Err(OAuthError::new(
                    "invalid_redirect_uri",
                    format!("redirect_uris must be a list of 1 to {MAX_REDIRECT_URIS} URLs"),
                ));
            }
        };
        let grant_types = match metadata.get("grant_types") {
            None | Some(Value::Null) => vec!["authorization_code", "refresh_token"],
            Some(Value::Array(types)) => {
                let mut granted = Vec::new();
                for item in types {
                    match item.as_str() {
                        Some(kind @ ("authorization_code" | "refresh_token")) => {
                            if !granted.contains(&kind) {
                                granted.push(kind);
                            }
                        }
                        _ => {
                            return Err(OAuthError::new(
                                "invalid_client_metadata",
                                "grant_types may hold only authorization_code and refresh_token",
                            ));
                        }
                    }
                }
                if !granted.contains(&"authorization_code") {
                    return Err(OAuthError::new(
                        "invalid_client_metadata",
                        "grant_types must include authorization_code",
                    ));
                }
                granted
            }
            Some(_) => {
                return Err(OAuthError::new(
                    "invalid_client_metadata",
                    "grant_types must be a list",
                ));
            }
        };
        match metadata.get("response_types") {
            None | Some(Value::Null) => {}
            Some(Value::Array(types))
                if !types.is_empty() && types.iter().all(|t| t.as_str() == Some("code")) => {}
            Some(_) => {
                return Err(OAuthError::new(
                    "invalid_client_metadata",
                    "response_types may hold only code",
                ));
            }
        }
        let name = match metadata.get("client_name") {
            None | Some(Value::Null) => None,
            Some(Value::String(name))
                if !name.is_empty()
                    && name.chars().count() <= MAX_CLIENT_NAME_LEN
                    && !name.chars().any(char::is_control) =>
            {
                Some(name.clone())
            }
            Some(_) => {
                return Err(OAuthError::new(
                    "invalid_client_metadata",
                    format!("client_name must be 1 to {MAX_CLIENT_NAME_LEN} printable characters"),
                ));
            }
        };
        let scope = match metadata.get("scope") {
            None | Some(Value::Null) => None,
            Some(Value::String(scope)) if is_scope_string(scope) => Some(scope.clone()),
            Some(_) => {
                return Err(OAuthError::new(
                    "invalid_client_metadata",
                    "scope must be OAuth scopes separated by spaces",
                ));
            }
        };

        let client_id = format!(
            "dev_client_{}",
            crate::devkey::random_hex(12).map_err(|_| OAuthError::server())?
        );
        let issued_at = self.now();
        {
            let mut state = self.state();
            let sequence = state.next();
            if state.clients.len() >= MAX_CLIENTS
                && let Some(oldest) = state
                    .clients
                    .iter()
                    .min_by_key(|(_, client)| client.sequence)
                    .map(|(id, _)| id.clone())
            {
                state.clients.remove(&oldest);
            }
            state.clients.insert(
                client_id.clone(),
                Client {
                    redirect_uris: redirect_uris.clone(),
                    refresh: grant_types.contains(&"refresh_token"),
                    name: name.clone(),
                    sequence,
                },
            );
        }
        let mut answer = json!({
            "client_id": client_id,
            "client_id_issued_at": issued_at,
            "redirect_uris": redirect_uris,
            "grant_types": grant_types,
            "response_types": ["code"],
            "token_endpoint_auth_method": "none",
        });
        if let Some(object) = answer.as_object_mut() {
            if let Some(name) = name {
                object.insert("client_name".into(), Value::from(name));
            }
            if let Some(scope) = scope {
                object.insert("scope".into(), Value::from(scope));
            }
        }
        Ok(answer)
    }

    // ---------------------------------------------------------------------------------------------
    // authorization

    /// The authorization endpoint: `params` is the query (GET) or the consent page's form (POST).
    async fn authorize(&self, params: &str, consent_answer: bool) -> Response {
        let Some(params) = Params::parse(params) else {
            return html_error(
                "The request's parameters are not properly URL-encoded.",
                StatusCode::BAD_REQUEST,
            );
        };
        let request = match self.check_authorization(&params) {
            Ok(request) => request,
            Err(error) => return self.authorize_error(error),
        };
        if consent_answer {
            match params.one("decision") {
                Ok(Some("deny")) => {
                    return self.authorize_error(
                        request.fail("access_denied", "the user denied the request"),
                    );
                }
                Ok(None | Some("approve")) => {}
                _ => {
                    return self.authorize_error(
                        request.fail("invalid_request", "decision must be approve or deny"),
                    );
                }
            }
        }
        match &request.login_hint {
            Some(user) => match self.issue_code(&request, user) {
                Ok(code) => self.redirect(
                    &request.redirect_uri,
                    &[("code", code.as_str())],
                    request.state.as_deref(),
                ),
                Err(error) => self.authorize_error(request.fail(error.error, error.description)),
            },
            None if consent_answer => self
                .authorize_error(request.fail("invalid_request", "choose the user to sign in as")),
            None => self.consent_page(&request).await,
        }
    }

    fn check_authorization(&self, params: &Params) -> Result<AuthorizationRequest, AuthorizeError> {
        let page = |message: &str| AuthorizeError::Page(message.to_owned());
        let client_id = match params.one("client_id") {
            Ok(Some(id)) => id.to_owned(),
            Ok(None) => return Err(page("The request has no client_id.")),
            Err(_) => return Err(page("The request repeats client_id.")),
        };
        let client = self
            .state()
            .clients
            .get(&client_id)
            .cloned()
            .ok_or_else(|| {
                page(
                    "The client_id is not registered with this server (clients are kept in \
                     memory: after a restart of gatehouse serve, register again).",
                )
            })?;
        let (redirect_uri, redirect_uri_given) = match params.one("redirect_uri") {
            Ok(Some(uri)) if client.redirect_uris.iter().any(|r| r == uri) => {
                (uri.to_owned(), true)
            }
            Ok(Some(_)) => {
                return Err(page(
                    "The redirect_uri is not one the client registered (they must match exactly).",
                ));
            }
            Ok(None) => match client.redirect_uris.as_slice() {
                [only] => (only.clone(), false),
                _ => {
                    return Err(page(
                        "The request has no redirect_uri, and the client registered more than one.",
                    ));
                }
            },
            Err(_) => return Err(page("The request repeats redirect_uri.")),
        };
        // From here on, errors go back to the client's redirect URI.
        let state = params.one("state").ok().flatten().map(str::to_owned);
        let fail = |error: &'static str, description: &str| AuthorizeError::Redirect {
            redirect_uri: redirect_uri.clone(),
            state: state.clone(),
            error,
            description: description.to_owned(),
        };
        if let Some(name) = params.repeated(&[
            "state",
            "response_type",
            "code_challenge",
            "code_challenge_method",
            "scope",
            "login_hint",
            "decision",
        ]) {
            return Err(fail("invalid_request", &format!("{name} is repeated")));
        }
        if params.repeated(&["resource"]).is_some() {
            return Err(fail(
                "invalid_target",
                "this server issues a token for one resource at a time",
            ));
        }
        if state.as_ref().is_some_and(|s| s.len() > MAX_STATE_LEN) {
            return Err(fail(
                "invalid_request",
                &format!("state is longer than {MAX_STATE_LEN} bytes"),
            ));
        }
        match params.first("response_type") {
            Some("code") => {}
            Some(_) => {
                return Err(fail(
                    "unsupported_response_type",
                    "only response_type=code is supported",
                ));
            }
            None => return Err(fail("invalid_request", "response_type is required")),
        }
        match params.first("code_challenge_method") {
            Some("S256") => {}
            Some("plain") => {
                return Err(fail(
                    "invalid_request",
                    "code_challenge_method plain is not supported; use S256",
                ));
            }
            Some(_) => {
                return Err(fail(
                    "invalid_request",
                    "code_challenge_method must be S256",
                ));
            }
            None => {
                return Err(fail(
                    "invalid_request",
                    "PKCE is required: code_challenge_method=S256 and a code_challenge",
                ));
            }
        }
        let challenge = match params.first("code_challenge") {
            Some(challenge) if is_pkce_value(challenge) => challenge.to_owned(),
            Some(_) => {
                return Err(fail(
                    "invalid_request",
                    "code_challenge must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~",
                ));
            }
            None => {
                return Err(fail(
                    "invalid_request",
                    "PKCE is required: code_challenge is missing",
                ));
            }
        };
        let scopes = self
            .granted_scopes(params.first("scope"))
            .map_err(|description| fail("invalid_scope", &description))?;
        let resource = match params.first("resource") {
            Some(resource) if is_valid_resource(resource) => Some(resource.to_owned()),
            Some(_) => {
                return Err(fail(
                    "invalid_target",
                    "resource must be an absolute https:// URL (http:// only for localhost) \
                     without a fragment",
                ));
            }
            None => None,
        };
        let login_hint = match params.first("login_hint") {
            Some(user) if gatehouse::principal::is_valid_id(user) => Some(user.to_owned()),
            Some(_) => {
                return Err(fail(
                    "invalid_request",
                    "login_hint must be a user id (1 to 128 letters, digits, _ or -)",
                ));
            }
            None => None,
        };
        Ok(AuthorizationRequest {
            client_id,
            client_name: client.name,
            redirect_uri,
            redirect_uri_given,
            state,
            challenge,
            scopes,
            resource,
            login_hint,
        })
    }

    /// The requested scopes (every supported scope when none is asked for), in the order the scope
    /// map lists them; an unknown scope is an error.
    fn granted_scopes(&self, requested: Option<&str>) -> Result<Vec<String>, String> {
        let supported = self.scopes.supported();
        let Some(requested) = requested else {
            return Ok(supported.iter().map(|s| (*s).to_owned()).collect());
        };
        let asked: Vec<&str> = requested.split(' ').filter(|s| !s.is_empty()).collect();
        if let Some(unknown) = asked.iter().find(|s| !supported.contains(s)) {
            let shown: String = unknown.chars().take(64).collect();
            return Err(format!(
                "unknown scope {shown:?}; this server offers {}",
                supported.join(" ")
            ));
        }
        if asked.is_empty() {
            return Ok(supported.iter().map(|s| (*s).to_owned()).collect());
        }
        Ok(supported
            .iter()
            .filter(|s| asked.contains(s))
            .map(|s| (*s).to_owned())
            .collect())
    }

    fn issue_code(&self, request: &AuthorizationRequest, user: &str) -> Result<String, OAuthError> {
        let (id, secret) = new_secret().ok_or_else(OAuthError::server)?;
        let now = self.now();
        let code = Code {
            digest: digest(&secret),
            grant: Grant {
                sub: user.to_owned(),
                client_id: request.client_id.clone(),
                scopes: request.scopes.clone(),
                resource: request.resource.clone(),
            },
            redirect_uri: request.redirect_uri.clone(),
            redirect_uri_given: request.redirect_uri_given,
            challenge: request.challenge.clone(),
            expires_at: now.saturating_add(CODE_TTL_SECS),
        };
        let mut state = self.state();
        insert_bounded(&mut state.codes, id.clone(), code, MAX_CODES, now);
        Ok(format!("{id}.{secret}"))
    }

    /// A 302 to `redirect_uri` with `params`, `state` (when the request had one) and `iss`.
    fn redirect(
        &self,
        redirect_uri: &str,
        params: &[(&str, &str)],
        state: Option<&str>,
    ) -> Response {
        let mut location = redirect_uri.to_owned();
        let mut separator = if redirect_uri.contains('?') { '&' } else { '?' };
        let all = params
            .iter()
            .copied()
            .chain(state.map(|state| ("state", state)))
            .chain(std::iter::once(("iss", self.issuer.as_str())));
        for (name, value) in all {
            location.push(separator);
            location.push_str(name);
            location.push('=');
            location.push_str(&encode_component(value));
            separator = '&';
        }
        let mut response = Response::new(Body::empty());
        *response.status_mut() = StatusCode::FOUND;
        let headers = response.headers_mut();
        if let Ok(value) = HeaderValue::from_str(&location) {
            headers.insert(header::LOCATION, value);
        }
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
        response
    }

    fn authorize_error(&self, error: AuthorizeError) -> Response {
        match error {
            AuthorizeError::Page(message) => html_error(&message, StatusCode::BAD_REQUEST),
            AuthorizeError::Redirect {
                redirect_uri,
                state,
                error,
                description,
            } => self.redirect(
                &redirect_uri,
                &[("error", error), ("error_description", &description)],
                state.as_deref(),
            ),
        }
    }

    /// The page that asks who is signing in: one button per demo user found in the store, a field
    /// for any other user id, and a deny button. Every form carries the checked request.
    async fn consent_page(&self, request: &AuthorizationRequest) -> Response {
        let mut users = Vec::new();
        for id in &self.demo_users {
            if let Ok(Some(record)) = self.store.user(id).await {
                users.push(record);
            }
        }
        let hidden = self.hidden_fields(request);
        let client = match &request.client_name {
            Some(name) => format!(
                "<b>{}</b> (client <code>{}</code>)",
                escape(name),
                escape(&request.client_id)
            ),
            None => format!("client <code>{}</code>", escape(&request.client_id)),
        };
        let mut body = format!(
            "<p>{client} asks for a token with the scopes <code>{}</code>{} and will receive it \
             at <code>{}</code>.</p>\n<p class=\"note\">This is the dev-mode authorization server \
             of <code>gatehouse serve</code>: there are no passwords, you choose who you are.</p>\n",
            escape(&request.scopes.join(" ")),
            request
                .resource
                .as_ref()
                .map_or_else(String::new, |resource| format!(
                    " for <code>{}</code>",
                    escape(resource)
                )),
            escape(&request.redirect_uri),
        );
        let action = escape(AUTHORIZATION_PATH);
        if users.is_empty() {
            body.push_str(
                "<p>No demo users are in the store (<code>gatehouse serve --demo</code> seeds \
                 them).</p>\n",
            );
        } else {
            body.push_str(&format!(
                "<form method=\"post\" action=\"{action}\">\n{hidden}<ul>\n"
            ));
            for user in &users {
                body.push_str(&format!(
                    "<li><button type=\"submit\" name=\"login_hint\" value=\"{id}\">Continue as \
                     <code>{id}</code></button> {role}{suspended}</li>\n",
                    id = escape(&user.user_id),
                    role = escape(user.role.as_str()),
                    suspended = if user.suspended { " (suspended)" } else { "" },
                ));
            }
            body.push_str("</ul>\n</form>\n");
        }
        body.push_str(&format!(
            "<form method=\"post\" action=\"{action}\">\n{hidden}<label>Another user id: \
             <input name=\"login_hint\" required pattern=\"[A-Za-z0-9_\\-]{{1,128}}\" \
             autocomplete=\"off\"></label> <button type=\"submit\">Continue</button>\n</form>\n\
             <form method=\"post\" action=\"{action}\">\n{hidden}<button type=\"submit\" \
             name=\"decision\" value=\"deny\">Deny</button>\n</form>\n"
        ));
        html_page(StatusCode::OK, "Sign in to Gatehouse (dev)", &body)
    }

    /// The checked request as hidden form fields.
    fn hidden_fields(&self, request: &AuthorizationRequest) -> String {
        let scope = request.scopes.join(" ");
        let mut fields: Vec<(&str, &str)> = vec![
            ("response_type", "code"),
            ("client_id", &request.client_id),
            ("code_challenge", &request.challenge),
            ("code_challenge_method", "S256"),
            ("scope", &scope),
        ];
        if request.redirect_uri_given {
            fields.push(("redirect_uri", &request.redirect_uri));
        }
        if let Some(state) = &request.state {
            fields.push(("state", state));
        }
        if let Some(resource) = &request.resource {
            fields.push(("resource", resource));
        }
        fields
            .iter()
            .map(|(name, value)| {
                format!(
                    "<input type=\"hidden\" name=\"{name}\" value=\"{}\">\n",
                    escape(value)
                )
            })
            .collect()
    }

    // ---------------------------------------------------------------------------------------------
    // token

    fn token(&self, body: &str) -> Result<Value, OAuthError> {
        let params = Params::parse(body)
            .ok_or_else(|| OAuthError::new("invalid_request", "the body is not URL-encoded"))?;
        if let Some(name) = params.repeated(&[
            "grant_type",
            "client_id",
            "code",
            "redirect_uri",
            "code_verifier",
            "refresh_token",
            "scope",
            "resource",
        ]) {
            return Err(OAuthError::new(
                "invalid_request",
                format!("{name} is repeated"),
            ));
        }
        if params.first("client_secret").is_some() {
            return Err(OAuthError::new(
                "invalid_client",
                "clients of this server are public (token_endpoint_auth_method none): send no \
                 client_secret",
            ));
        }
        let grant_type = params
            .first("grant_type")
            .ok_or_else(|| OAuthError::new("invalid_request", "grant_type is required"))?;
        let client_id = params
            .first("client_id")
            .ok_or_else(|| OAuthError::new("invalid_request", "client_id is required"))?;
        let client = self
            .state()
            .clients
            .get(client_id)
            .cloned()
            .ok_or_else(|| OAuthError::new("invalid_client", "unknown client_id"))?;
        match grant_type {
            "authorization_code" => self.redeem_code(&params, client_id, &client),
            "refresh_token" if client.refresh => self.refresh(&params, client_id),
            "refresh_token" => Err(OAuthError::new(
                "unauthorized_client",
                "the client did not register the refresh_token grant",
            )),
            _ => Err(OAuthError::new(
                "unsupported_grant_type",
                "grant_type must be authorization_code or refresh_token",
            )),
        }
    }

    fn redeem_code(
        &self,
        params: &Params,
        client_id: &str,
        client: &Client,
    ) -> Result<Value, OAuthError> {
        let presented = params
            .first("code")
            .ok_or_else(|| OAuthError::new("invalid_request", "code is required"))?;
        let verifier = params
            .first("code_verifier")
            .ok_or_else(|| OAuthError::new("invalid_request", "code_verifier is required"))?;
        let invalid = |description: &str| OAuthError::new("invalid_grant", description);
        let (id, secret) = split_secret(presented)
            .ok_or_else(|| invalid("the authorization code is invalid or expired"))?;
        let now = self.now();
        let code = {
            let mut state = self.state();
            // A code works once: it leaves the table on its first presentation, whatever follows.
            match state.codes.remove(id) {
                Some(code) if same_digest(&code.digest, &digest(secret)) => {
                    let spent = Spent {
                        family: None,
                        expires_at: code.expires_at.saturating_add(REFRESH_TOKEN_TTL_SECS),
                    };
                    insert_bounded(&mut state.spent_codes, id.to_owned(), spent, MAX_CODES, now);
                    code
                }
                Some(code) => {
                    // Not this code's secret: put it back for its holder.
                    state.codes.insert(id.to_owned(), code);
                    return Err(invalid("the authorization code is invalid or expired"));
                }
                None => {
                    if let Some(spent) = state.spent_codes.get(id).copied() {
                        if let Some(family) = spent.family {
                            state.revoke_family(family);
                        }
                        return Err(invalid(
                            "the authorization code was already used; the tokens issued for it \
                             are revoked",
                        ));
                    }
                    return Err(invalid("the authorization code is invalid or expired"));
                }
            }
        };
        if code.expires_at <= now {
            return Err(invalid("the authorization code is invalid or expired"));
        }
        if code.grant.client_id != client_id {
            return Err(invalid(
                "the authorization code was issued to another client",
            ));
        }
        match params.first("redirect_uri") {
            Some(uri) if uri == code.redirect_uri => {}
            None if !code.redirect_uri_given => {}
            _ => {
                return Err(invalid(
                    "redirect_uri must be the one of the authorization request",
                ));
            }
        }
        if let Some(resource) = params.first("resource")
            && code.grant.resource.as_deref() != Some(resource)
        {
            return Err(OAuthError::new(
                "invalid_target",
                "resource must be the one of the authorization request",
            ));
        }
        if !is_pkce_value(verifier)
            || !same_digest(
                pkce_challenge(verifier).as_bytes(),
                code.challenge.as_bytes(),
            )
        {
            return Err(invalid(
                "PKCE verification failed: code_verifier does not match code_challenge",
            ));
        }
        let scope = code.grant.scopes.join(" ");
        let access_token = self.mint(&code.grant, &scope, now)?;
        let refresh_token = if client.refresh {
            let mut state = self.state();
            let family = state.next();
            if let Some(spent) = state.spent_codes.get_mut(id) {
                spent.family = Some(family);
            }
            drop(state);
            Some(self.new_refresh_token(code.grant, family, now)?)
        } else {
            None
        };
        Ok(token_answer(
            &access_token,
            refresh_token.as_deref(),
            &scope,
        ))
    }

    fn refresh(&self, params: &Params, client_id: &str) -> Result<Value, OAuthError> {
        let presented = params
            .first("refresh_token")
            .ok_or_else(|| OAuthError::new("invalid_request", "refresh_token is required"))?;
        let invalid = |description: &str| OAuthError::new("invalid_grant", description);
        let (id, secret) = split_secret(presented)
            .ok_or_else(|| invalid("the refresh token is invalid or expired"))?;
        let now = self.now();
        let (grant, family) = {
            let mut state = self.state();
            match state.refresh.get(id) {
                Some(refresh) if same_digest(&refresh.digest, &digest(secret)) => {
                    if refresh.expires_at <= now {
                        state.refresh.remove(id);
                        return Err(invalid("the refresh token is invalid or expired"));
                    }
                    if refresh.grant.client_id != client_id {
                        return Err(invalid("the refresh token was issued to another client"));
                    }
                    (refresh.grant.clone(), refresh.family)
                }
                Some(_) => return Err(invalid("the refresh token is invalid or expired")),
                None => {
                    if let Some(spent) = state.spent_refresh.get(id).copied() {
                        if let Some(family) = spent.family {
                            state.revoke_family(family);
                        }
                        return Err(invalid(
                            "the refresh token was already used; every token of its grant is \
                             revoked",
                        ));
                    }
                    return Err(invalid("the refresh token is invalid or expired"));
                }
            }
        };
        let scopes = match params.first("scope") {
            None => grant.scopes.clone(),
            Some(requested) => {
                let asked: Vec<&str> = requested.split(' ').filter(|s| !s.is_empty()).collect();
                if asked.is_empty() || asked.iter().any(|s| !grant.scopes.iter().any(|g| g == s)) {
                    return Err(OAuthError::new(
                        "invalid_scope",
                        format!(
                            "scope may only narrow the original grant ({})",
                            grant.scopes.join(" ")
                        ),
                    ));
                }
                grant
                    .scopes
                    .iter()
                    .filter(|g| asked.contains(&g.as_str()))
                    .cloned()
                    .collect()
            }
        };
        if let Some(resource) = params.first("resource")
            && grant.resource.as_deref() != Some(resource)
        {
            return Err(OAuthError::new(
                "invalid_target",
                "resource must be the one the grant was issued for",
            ));
        }
        // Rotation: the presented token dies now (and reusing it later revokes the family).
        {
            let mut state = self.state();
            let Some(old) = state.refresh.remove(id) else {
                return Err(invalid("the refresh token was already used"));
            };
            let spent = Spent {
                family: Some(family),
                expires_at: old.expires_at,
            };
            insert_bounded(
                &mut state.spent_refresh,
                id.to_owned(),
                spent,
                MAX_REFRESH_TOKENS,
                now,
            );
        }
        let scope = scopes.join(" ");
        let access_token = self.mint(&grant, &scope, now)?;
        // The new refresh token keeps the original grant's scope (RFC 6749 section 6).
        let refresh_token = self.new_refresh_token(grant, family, now)?;
        Ok(token_answer(&access_token, Some(&refresh_token), &scope))
    }

    fn mint(&self, grant: &Grant, scope: &str, now: i64) -> Result<String, OAuthError> {
        self.key
            .mint_access_token(AccessTokenRequest {
                issuer: &self.issuer,
                sub: &grant.sub,
                client_id: &grant.client_id,
                scope,
                aud: grant.resource.as_deref(),
                ttl_secs: ACCESS_TOKEN_TTL_SECS,
                now,
            })
            .map_err(|_| {
                OAuthError::new("server_error", "signing the access token failed")
                    .with_status(StatusCode::INTERNAL_SERVER_ERROR)
            })
    }

    fn new_refresh_token(&self, grant: Grant, family: u64, now: i64) -> Result<String, OAuthError> {
        let (id, secret) = new_secret().ok_or_else(OAuthError::server)?;
        let refresh = Refresh {
            digest: digest(&secret),
            grant,
            family,
            expires_at: now.saturating_add(REFRESH_TOKEN_TTL_SECS),
        };
        let mut state = self.state();
        insert_bounded(
            &mut state.refresh,
            id.clone(),
            refresh,
            MAX_REFRESH_TOKENS,
            now,
        );
        Ok(format!("{id}.{secret}"))
    }
}

impl AuthorizationRequest {
    fn fail(&self, error: &'static str, description: impl Into<String>) -> AuthorizeError {
        AuthorizeError::Redirect {
            redirect_uri: self.redirect_uri.clone(),
            state: self.state.clone(),
            error,
            description: description.into(),
        }
    }
}

/// The axum routes of `server`, to merge into `serve`'s router (dev mode only).
pub fn router<S: AuthStore + 'static>(server: Arc<AuthorizationServer<S>>) -> axum::Router {
    let mut router = axum::Router::new();
    for path in [
        METADATA_PATH,
        OPENID_CONFIGURATION_PATH,
        REGISTRATION_PATH,
        AUTHORIZATION_PATH,
        TOKEN_PATH,
    ] {
        let server = Arc::clone(&server);
        router = router.route(
            path,
            axum::routing::any(move |request: Request| {
                let server = Arc::clone(&server);
                async move { server.handle(request).await }
            }),
        );
    }
    router
}

// -------------------------------------------------------------------------------------------------
// parameters

/// Decoded `application/x-www-form-urlencoded` parameters (a query string or a form body). Empty
/// values count as absent (RFC 6749 section 3.1).
#[derive(Debug)]
struct Params(Vec<(String, String)>);

impl Params {
    fn parse(text: &str) -> Option<Self> {
        let mut pairs = Vec::new();
        for pair in text.split('&').filter(|pair| !pair.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let value = decode_component(value)?;
            if !value.is_empty() {
                pairs.push((decode_component(name)?, value));
            }
        }
        Some(Params(pairs))
    }

    fn first(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The value of `name`; `Err` when it is given more than once.
    fn one(&self, name: &str) -> Result<Option<&str>, ()> {
        let mut values = self.0.iter().filter(|(n, _)| n == name);
        let first = values.next().map(|(_, v)| v.as_str());
        if values.next().is_some() {
            return Err(());
        }
        Ok(first)
    }

    /// The first of `names` given more than once.
    fn repeated<'a>(&self, names: &[&'a str]) -> Option<&'a str> {
        names
            .iter()
            .copied()
            .find(|name| self.0.iter().filter(|(n, _)| n == name).count() > 1)
    }
}

fn decode_component(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&byte) = bytes.get(i) {
        match byte {
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b'%' => {
                let high = bytes.get(i + 1).copied().and_then(hex_value)?;
                let low = bytes.get(i + 2).copied().and_then(hex_value)?;
                out.push((high << 4) | low);
                i += 3;
            }
            _ => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

fn hex_value(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn encode_component(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// RFC 7636 `code_verifier` / S256 `code_challenge` syntax: 43 to 128 unreserved characters.
fn is_pkce_value(text: &str) -> bool {
    (43..=128).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// BASE64URL(SHA256(verifier)), RFC 7636 section 4.2.
fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        verifier.as_bytes(),
    ))
}

/// OAuth scopes separated by spaces (RFC 6749 section 3.3).
fn is_scope_string(text: &str) -> bool {
    text.len() <= 1024
        && text.split(' ').any(|s| !s.is_empty())
        && text
            .bytes()
            .all(|b| b == b' ' || ((0x21..0x7f).contains(&b) && b != b'"' && b != b'\\'))
}

/// An https URL, or http on a loopback host; printable ASCII, no fragment, bounded.
fn is_absolute_url(text: &str) -> bool {
    text.len() <= MAX_URI_LEN
        && text.bytes().all(|b| b.is_ascii_graphic())
        && !text.contains('#')
        && gatehouse::config::parse_url("redirect_uri", text).is_ok()
}

/// A redirect URI a client may register (RFC 6749 section 3.1.2, RFC 8252 section 7.3).
fn is_valid_redirect_uri(text: &str) -> bool {
    is_absolute_url(text)
}

/// An RFC 8707 resource indicator.
fn is_valid_resource(text: &str) -> bool {
    is_absolute_url(text)
}

// -------------------------------------------------------------------------------------------------
// secrets

/// A new `(id, secret)`: a 16-hex-character id to find the entry by, and 256 random bits whose
/// digest the entry keeps.
fn new_secret() -> Option<(String, String)> {
    let mut id = [0u8; 8];
    let mut secret = [0u8; 32];
    aws_lc_rs::rand::fill(&mut id).ok()?;
    aws_lc_rs::rand::fill(&mut secret).ok()?;
    Some((crate::devkey::hex(&id), URL_SAFE_NO_PAD.encode(secret)))
}

fn split_secret(presented: &str) -> Option<(&str, &str)> {
    let (id, secret) = presented.split_once('.')?;
    (id.len() == 16 && id.bytes().all(|b| b.is_ascii_hexdigit()) && !secret.is_empty())
        .then_some((id, secret))
}

fn digest(secret: &str) -> Vec<u8> {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, secret.as_bytes())
        .as_ref()
        .to_vec()
}

/// Constant-time equality (length aside).
fn same_digest(a: &[u8], b: &[u8]) -> bool {
    aws_lc_rs::constant_time::verify_slices_are_equal(a, b).is_ok()
}

// -------------------------------------------------------------------------------------------------
// HTTP

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cors {
    Yes,
    No,
}

fn token_answer(access_token: &str, refresh_token: Option<&str>, scope: &str) -> Value {
    let mut answer = json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": ACCESS_TOKEN_TTL_SECS,
        "scope": scope,
    });
    if let (Some(refresh), Some(object)) = (refresh_token, answer.as_object_mut()) {
        object.insert("refresh_token".into(), Value::from(refresh));
    }
    answer
}

fn json_response(status: StatusCode, body: &Value, cors: Cors) -> Response {
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    if cors == Cors::Yes {
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        );
    }
    response
}

fn error_response(error: &OAuthError) -> Response {
    json_response(
        error.status,
        &json!({"error": error.error, "error_description": error.description}),
        Cors::Yes,
    )
}

/// A CORS preflight answer, so browser-based MCP clients (the MCP Inspector) can use the metadata,
/// registration and token endpoints.
fn preflight() -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::NO_CONTENT;
    let headers = response.headers_mut();
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, POST, OPTIONS"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("Content-Type, Authorization, MCP-Protocol-Version"),
    );
    headers.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("600"),
    );
    response
}

fn method_not_allowed(allow: &'static str) -> Response {
    let mut response = json_response(
        StatusCode::METHOD_NOT_ALLOWED,
        &json!({"error": "invalid_request", "error_description": "method not allowed"}),
        Cors::No,
    );
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    response
}

fn has_content_type(request: &Request, expected: &str) -> bool {
    request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|value| value.trim().eq_ignore_ascii_case(expected))
}

/// The body, at most `limit` bytes (413 beyond).
async fn read_body(
    request: Request,
    limit: usize,
    error: &'static str,
) -> Result<bytes::Bytes, OAuthError> {
    let too_large = || {
        OAuthError::new(error, format!("the body is over {} KiB", limit / 1024))
            .with_status(StatusCode::PAYLOAD_TOO_LARGE)
    };
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        return Err(too_large());
    }
    axum::body::to_bytes(request.into_body(), limit)
        .await
        .map_err(|_| too_large())
}

/// A form body (`application/x-www-form-urlencoded`), as text.
async fn read_form(request: Request) -> Result<String, OAuthError> {
    if !has_content_type(&request, "application/x-www-form-urlencoded") {
        return Err(OAuthError::new(
            "invalid_request",
            "the body must be application/x-www-form-urlencoded",
        ));
    }
    let body = read_body(request, MAX_FORM_BODY, "invalid_request").await?;
    String::from_utf8(body.to_vec())
        .map_err(|_| OAuthError::new("invalid_request", "the body is not UTF-8"))
}

/// Escapes text for HTML content and attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

fn html_error(message: &str, status: StatusCode) -> Response {
    html_page(
        status,
        "Authorization request refused",
        &format!("<p>{}</p>", escape(message)),
    )
}

/// A small HTML page (`body` is already escaped markup), never framed, never cached.
fn html_page(status: StatusCode, title: &str, body: &str) -> Response {
    let page = format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width\">\n<title>{title}</title>\n\
         <style>body{{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;\
         padding:0 1rem}}li{{margin:.4rem 0}}.note{{color:#555}}form{{margin:1rem 0}}</style>\n\
         </head>\n<body>\n<h1>{title}</h1>\n{body}</body>\n</html>\n",
        title = escape(title),
    );
    let mut response = Response::new(Body::from(page));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
        ),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
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

    #[test]
    fn forms_decode_and_components_encode() {
        let params = Params::parse("a=1&b=x+y%20z&c=&d&e=%E2%9C%93&a=2").unwrap();
        assert_eq!(params.first("a"), Some("1"));
        assert_eq!(params.one("a"), Err(()));
        assert_eq!(params.one("b"), Ok(Some("x y z")));
        assert_eq!(params.one("c"), Ok(None), "an empty value is absent");
        assert_eq!(params.one("d"), Ok(None));
        assert_eq!(params.first("e"), Some("✓"));
        assert_eq!(params.repeated(&["b", "a"]), Some("a"));
        assert!(Params::parse("a=%zz").is_none());
        assert!(Params::parse("a=%E2%9C").is_none());
        assert!(Params::parse("a=%4").is_none());
        assert_eq!(encode_component("a b&c=d/é~"), "a%20b%26c%3Dd%2F%C3%A9~");
        assert_eq!(
            decode_component(&encode_component("x y+z%")).as_deref(),
            Some("x y+z%")
        );
    }

    #[test]
    fn pkce_s256_matches_rfc_7636_appendix_b() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert!(is_pkce_value(verifier));
        assert_eq!(
            pkce_challenge(verifier),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        assert!(!is_pkce_value("short"));
        assert!(!is_pkce_value(&"a".repeat(129)));
        assert!(!is_pkce_value(&format!("{}!", "a".repeat(43))));
    }

    #[test]
    fn redirect_uris_are_absolute_and_http_only_on_loopback() {
        for good in [
            "https://app.example.com/callback",
            "http://127.0.0.1:33418/callback",
            "http://localhost/cb?x=1",
            "http://[::1]:8080/cb",
        ] {
            assert!(is_valid_redirect_uri(good), "{good}");
        }
        for bad in [
            "http://app.example.com/callback",
            "/callback",
            "https://app.example.com/cb#frag",
            "javascript:alert(1)",
            "https://app.example.com/a b",
            "https://user@app.example.com/",
            "com.example.app:/callback",
            "",
        ] {
            assert!(!is_valid_redirect_uri(bad), "{bad}");
        }
        assert!(!is_valid_redirect_uri(&format!(
            "https://a.example/{}",
            "x".repeat(MAX_URI_LEN)
        )));
    }

    #[test]
    fn secrets_split_into_id_and_secret() {
        let (id, secret) = new_secret().unwrap();
        let presented = format!("{id}.{secret}");
        assert_eq!(
            split_secret(&presented),
            Some((id.as_str(), secret.as_str()))
        );
        assert_eq!(split_secret("nodot"), None);
        assert_eq!(split_secret("0123456789abcdef."), None);
        assert_eq!(split_secret("xyz.secret"), None);
        assert!(same_digest(&digest(&secret), &digest(&secret)));
        assert!(!same_digest(&digest(&secret), &digest("other")));
    }

    #[test]
    fn html_is_escaped() {
        assert_eq!(
            escape("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }

    /// Codes and refresh tokens die at their expiry, on the server's clock.
    #[tokio::test]
    async fn codes_and_refresh_tokens_expire() {
        use gatehouse::clock::FixedClock;
        let clock = Arc::new(FixedClock::at(1_700_000_000));
        let key = DevKey::from_pem(&crate::devkey::generate_pem().unwrap()).unwrap();
        let server = AuthorizationServer::new(
            "http://127.0.0.1:3000",
            key,
            ScopeMap::default(),
            gatehouse::store::memory::MemoryStore::new(),
        )
        .with_clock(Arc::clone(&clock) as Arc<dyn Clock>);
        let call = async |method: &str, uri: &str, content_type: &str, body: String| {
            let request = Request::builder()
                .method(method)
                .uri(uri)
                .header(header::CONTENT_TYPE, content_type)
                .body(Body::from(body))
                .unwrap();
            let response = server.handle(request).await;
            let status = response.status();
            let location = response
                .headers()
                .get(header::LOCATION)
                .map(|v| v.to_str().unwrap().to_owned());
            let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
                .await
                .unwrap();
            let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            (status, location, body)
        };
        let (status, _, client) = call(
            "POST",
            REGISTRATION_PATH,
            "application/json",
            json!({"redirect_uris": ["http://127.0.0.1:9/cb"]}).to_string(),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED);
        let client_id = client["client_id"].as_str().unwrap().to_owned();
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let code = async || {
            let query = format!(
                "{AUTHORIZATION_PATH}?response_type=code&client_id={client_id}&code_challenge={}\
                 &code_challenge_method=S256&login_hint=user_1",
                pkce_challenge(verifier)
            );
            let (status, location, _) = call("GET", &query, "text/plain", String::new()).await;
            assert_eq!(status, StatusCode::FOUND);
            let location = location.unwrap();
            let query = location.split_once('?').unwrap().1;
            let params = Params::parse(query).unwrap();
            assert_eq!(params.first("iss"), Some("http://127.0.0.1:3000"));
            params.first("code").unwrap().to_owned()
        };
        let token = async |params: &[(&str, &str)]| {
            let body = params
                .iter()
                .map(|(k, v)| format!("{k}={}", encode_component(v)))
                .collect::<Vec<_>>()
                .join("&");
            call(
                "POST",
                TOKEN_PATH,
                "application/x-www-form-urlencoded",
                body,
            )
            .await
        };
        let redeem = async |code: &str| {
            token(&[
                ("grant_type", "authorization_code"),
                ("client_id", &client_id),
                ("code", code),
                ("code_verifier", verifier),
            ])
            .await
        };

        let stale = code().await;
        clock.advance(CODE_TTL_SECS);
        let (status, _, body) = redeem(&stale).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["error"], "invalid_grant");

        let fresh = code().await;
        clock.advance(CODE_TTL_SECS - 1);
        let (status, _, body) = redeem(&fresh).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let claims: Value = serde_json::from_slice(
            &URL_SAFE_NO_PAD
                .decode(
                    body["access_token"]
                        .as_str()
                        .unwrap()
                        .split('.')
                        .nth(1)
                        .unwrap(),
                )
                .unwrap(),
        )
        .unwrap();
        assert_eq!(claims["iat"], clock.now_unix());
        assert_eq!(claims["exp"], clock.now_unix() + 3600);
        assert!(claims.get("aud").is_none());
        assert_eq!(claims["scope"], "read write");

        let refresh = body["refresh_token"].as_str().unwrap().to_owned();
        clock.advance(REFRESH_TOKEN_TTL_SECS);
        let (status, _, body) = token(&[
            ("grant_type", "refresh_token"),
            ("client_id", &client_id),
            ("refresh_token", &refresh),
        ])
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["error"], "invalid_grant");
    }

    #[test]
    fn bounded_tables_drop_the_expired_then_the_oldest() {
        let mut map: HashMap<String, Spent> = HashMap::new();
        let spent = |expires_at| Spent {
            family: None,
            expires_at,
        };
        insert_bounded(&mut map, "a".into(), spent(5), 2, 10);
        insert_bounded(&mut map, "b".into(), spent(20), 2, 10);
        insert_bounded(&mut map, "c".into(), spent(30), 2, 10);
        assert!(!map.contains_key("a"), "expired first");
        insert_bounded(&mut map, "d".into(), spent(40), 2, 10);
        assert!(!map.contains_key("b"), "then the closest to expiry");
        assert_eq!(map.len(), 2);
    }
}
