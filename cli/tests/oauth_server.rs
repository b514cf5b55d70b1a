//! The dev-mode OAuth authorization server of `gatehouse serve` (README, "OAuth access tokens and
//! MCP"), from the outside: the real binary, driven over HTTP with a client that never follows
//! redirects (the tests read each `Location` themselves, as an OAuth client's redirect handler does).
//!
//! Metadata, dynamic client registration, the authorization code flow with PKCE S256 (approved at
//! once with `login_hint`, or through the consent page), every refusal of the token endpoint
//! (wrong verifier, reused code, mismatched redirect URI or resource, rotated refresh token),
//! refresh rotation and narrowing, the absence of every path outside dev mode, and the shape of
//! `gatehouse token mint --oauth`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gatehouse_testkit::serve::{Api, Serve, ServeOptions, StoreKind};
use serde_json::{Value, json};

const METADATA: &str = "/.well-known/oauth-authorization-server";
const REDIRECT: &str = "http://127.0.0.1:9/callback";

fn start(api: Api) -> Serve {
    Serve::start(
        env!("CARGO_BIN_EXE_gatehouse"),
        StoreKind::Embedded,
        ServeOptions {
            api,
            ttl: None,
            demo: true,
        },
    )
}

/// A client that never follows redirects.
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .no_proxy()
        .build()
        .unwrap()
}

#[derive(Debug)]
struct Reply {
    status: u16,
    headers: reqwest::header::HeaderMap,
    text: String,
    body: Value,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The query parameters of the `Location` of a 302.
    fn redirect_params(&self) -> Vec<(String, String)> {
        assert_eq!(self.status, 302, "{self:?}");
        let location = self.header("location").unwrap();
        let (_, query) = location.split_once('?').unwrap();
        parse_query(query)
    }

    fn expect_oauth_error(&self, status: u16, error: &str) {
        assert_eq!(self.status, status, "{self:?}");
        assert_eq!(self.body["error"], error, "{self:?}");
        assert!(self.body["error_description"].is_string(), "{self:?}");
        assert_eq!(self.header("cache-control"), Some("no-store"));
    }
}

async fn read_reply(response: reqwest::Response) -> Reply {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Reply {
        status,
        headers,
        text,
        body,
    }
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                out.push(u8::from_str_radix(&text[i + 1..i + 3], 16).unwrap());
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap()
}

fn parse_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// A PKCE pair: (verifier, S256 challenge).
fn pkce() -> (String, String) {
    let mut bytes = [0u8; 32];
    aws_lc_rs::rand::fill(&mut bytes).unwrap();
    let verifier = URL_SAFE_NO_PAD.encode(bytes);
    let challenge = URL_SAFE_NO_PAD.encode(aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        verifier.as_bytes(),
    ));
    (verifier, challenge)
}

fn segment(token: &str, index: usize) -> Value {
    let part = token.split('.').nth(index).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

/// One test's view of the server.
struct Oauth<'a> {
    serve: &'a Serve,
    http: reqwest::Client,
}

impl<'a> Oauth<'a> {
    fn new(serve: &'a Serve) -> Self {
        Self {
            serve,
            http: client(),
        }
    }

    async fn get(&self, path: &str) -> Reply {
        read_reply(self.http.get(self.serve.url(path)).send().await.unwrap()).await
    }

    async fn post(&self, path: &str, content_type: &str, body: String) -> Reply {
        read_reply(
            self.http
                .post(self.serve.url(path))
                .header("content-type", content_type)
                .body(body)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    async fn metadata(&self) -> Value {
        let reply = self.get(METADATA).await;
        assert_eq!(reply.status, 200, "{reply:?}");
        reply.body
    }

    async fn register(&self, metadata: Value) -> Reply {
        let endpoint = self.endpoint("registration_endpoint").await;
        self.post(&endpoint, "application/json", metadata.to_string())
            .await
    }

    /// A registered client with the one redirect URI [`REDIRECT`]; its id.
    async fn client(&self) -> String {
        let reply = self
            .register(json!({"redirect_uris": [REDIRECT], "client_name": "oauth test"}))
            .await;
        assert_eq!(reply.status, 201, "{reply:?}");
        reply.body["client_id"].as_str().unwrap().to_owned()
    }

    /// The path of a metadata endpoint (the metadata holds absolute URLs on this server).
    async fn endpoint(&self, name: &str) -> String {
        let url = self.metadata().await[name].as_str().unwrap().to_owned();
        url.strip_prefix(self.serve.base_url()).unwrap().to_owned()
    }

    async fn authorize(&self, params: &[(&str, &str)]) -> Reply {
        self.get(&format!("/oauth/authorize?{}", form(params)))
            .await
    }

    async fn token(&self, params: &[(&str, &str)]) -> Reply {
        self.post(
            "/oauth/token",
            "application/x-www-form-urlencoded",
            form(params),
        )
        .await
    }

    /// The code the authorization endpoint gives `user` (approved at once by `login_hint`).
    async fn code(&self, client_id: &str, challenge: &str, user: &str, resource: &str) -> String {
        let reply = self
            .authorize(&[
                ("response_type", "code"),
                ("client_id", client_id),
                ("redirect_uri", REDIRECT),
                ("code_challenge", challenge),
                ("code_challenge_method", "S256"),
                ("state", "st"),
                ("scope", "read write"),
                ("resource", resource),
                ("login_hint", user),
            ])
            .await;
        let params = reply.redirect_params();
        assert_eq!(param(&params, "state"), Some("st"));
        param(&params, "code").unwrap().to_owned()
    }

    async fn redeem(&self, client_id: &str, code: &str, verifier: &str) -> Reply {
        self.token(&[
            ("grant_type", "authorization_code"),
            ("client_id", client_id),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", verifier),
        ])
        .await
    }

    async fn me(&self, token: &str) -> Reply {
        read_reply(
            self.http
                .get(self.serve.url("/v1/me"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap(),
        )
        .await
    }
}

#[tokio::test]
async fn metadata_and_registration() {
    let serve = start(Api::Rest);
    let oauth = Oauth::new(&serve);
    let issuer = serve.base_url();
    let metadata = oauth.metadata().await;
    assert_eq!(
        metadata,
        json!({
            "issuer": issuer,
            "authorization_endpoint": format!("{issuer}/oauth/authorize"),
            "token_endpoint": format!("{issuer}/oauth/token"),
            "registration_endpoint": format!("{issuer}/oauth/register"),
            "jwks_uri": format!("{issuer}/.well-known/jwks.json"),
            "scopes_supported": ["read", "write"],
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["none"],
            "authorization_response_iss_parameter_supported": true,
        })
    );
    let reply = oauth.get(METADATA).await;
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(
        oauth.get("/.well-known/openid-configuration").await.body,
        metadata
    );

    // Registration: a random public client, as asked.
    let reply = oauth
        .register(json!({
            "redirect_uris": [REDIRECT, "https://app.example.com/cb"],
            "client_name": "Test client",
            "token_endpoint_auth_method": "client_secret_basic",
            "software_id": "ignored",
        }))
        .await;
    assert_eq!(reply.status, 201, "{reply:?}");
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    let body = &reply.body;
    let client_id = body["client_id"].as_str().unwrap();
    assert!(client_id.len() >= 24, "{client_id}");
    assert!(body["client_id_issued_at"].as_i64().unwrap() > 1_700_000_000);
    assert_eq!(
        body["redirect_uris"],
        json!([REDIRECT, "https://app.example.com/cb"])
    );
    assert_eq!(
        body["grant_types"],
        json!(["authorization_code", "refresh_token"])
    );
    assert_eq!(body["response_types"], json!(["code"]));
    assert_eq!(body["token_endpoint_auth_method"], "none");
    assert_eq!(body["client_name"], "Test client");
    assert!(body.get("client_secret").is_none());
    let second = oauth.register(json!({"redirect_uris": [REDIRECT]})).await;
    assert_ne!(second.body["client_id"], body["client_id"]);

    for (metadata, error) in [
        (json!({}), "invalid_redirect_uri"),
        (json!({"redirect_uris": []}), "invalid_redirect_uri"),
        (
            json!({"redirect_uris": "http://127.0.0.1/cb"}),
            "invalid_redirect_uri",
        ),
        (
            json!({"redirect_uris": ["http://app.example.com/cb"]}),
            "invalid_redirect_uri",
        ),
        (json!({"redirect_uris": ["/cb"]}), "invalid_redirect_uri"),
        (
            json!({"redirect_uris": ["https://a.example/cb#x"]}),
            "invalid_redirect_uri",
        ),
        (
            json!({"redirect_uris": [REDIRECT], "grant_types": ["client_credentials"]}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": [REDIRECT], "grant_types": ["refresh_token"]}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": [REDIRECT], "response_types": ["token"]}),
            "invalid_client_metadata",
        ),
        (json!([1, 2]), "invalid_client_metadata"),
    ] {
        oauth
            .register(metadata)
            .await
            .expect_oauth_error(400, error);
    }
    let path = oauth.endpoint("registration_endpoint").await;
    oauth
        .post(
            &path,
            "text/plain",
            json!({"redirect_uris": [REDIRECT]}).to_string(),
        )
        .await
        .expect_oauth_error(400, "invalid_client_metadata");
    oauth
        .post(&path, "application/json", "{not json".to_owned())
        .await
        .expect_oauth_error(400, "invalid_client_metadata");
    let huge = json!({"redirect_uris": [REDIRECT], "client_name": "x".repeat(20_000)});
    oauth
        .post(&path, "application/json", huge.to_string())
        .await
        .expect_oauth_error(413, "invalid_client_metadata");

    // Wrong methods and CORS for browser-based clients.
    let wrong_method = oauth.get(&path).await;
    assert_eq!(wrong_method.status, 405);
    assert_eq!(wrong_method.header("allow"), Some("POST, OPTIONS"));
    let preflight = read_reply(
        oauth
            .http
            .request(reqwest::Method::OPTIONS, serve.url("/oauth/token"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(preflight.status, 204);
    assert_eq!(preflight.header("access-control-allow-origin"), Some("*"));

    // The log names paths, never a body.
    let logs = serve
        .logs_once(|logs| logs.contains("path=/oauth/token status=204"))
        .await;
    assert!(logs.contains("gatehouse::oauth"), "{logs}");
    assert!(!logs.contains(client_id), "{logs}");
}

/// The whole flow with `login_hint`, on both API types: the token is Clerk's shape, verifies with
/// the published JWKS, and the API accepts it.
async fn code_flow_with_login_hint(api: Api) {
    let serve = start(api);
    let oauth = Oauth::new(&serve);
    let client_id = oauth.client().await;
    let (verifier, challenge) = pkce();
    let resource = serve.url("/mcp");
    let reply = oauth
        .authorize(&[
            ("response_type", "code"),
            ("client_id", &client_id),
            ("redirect_uri", REDIRECT),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
            ("state", "a state & more"),
            ("scope", "read"),
            ("resource", &resource),
            ("login_hint", "user_demo_signer"),
        ])
        .await;
    assert_eq!(reply.status, 302, "{reply:?}");
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    assert!(reply.header("location").unwrap().starts_with(REDIRECT));
    let params = reply.redirect_params();
    assert_eq!(param(&params, "state"), Some("a state & more"));
    assert_eq!(param(&params, "iss"), Some(serve.base_url()));
    let code = param(&params, "code").unwrap();

    let reply = oauth
        .token(&[
            ("grant_type", "authorization_code"),
            ("client_id", &client_id),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", &verifier),
            ("resource", &resource),
        ])
        .await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    assert_eq!(reply.header("content-type"), Some("application/json"));
    let body = &reply.body;
    let mut fields: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        [
            "access_token",
            "expires_in",
            "refresh_token",
            "scope",
            "token_type"
        ]
    );
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["scope"], "read");
    let token = body["access_token"].as_str().unwrap();

    let header = segment(token, 0);
    let jwks = oauth.get("/.well-known/jwks.json").await.body;
    let jwk = &jwks["keys"][0];
    assert_eq!(
        header,
        json!({"alg": "RS256", "typ": "at+jwt", "kid": jwk["kid"]})
    );
    let decoding = jsonwebtoken::DecodingKey::from_rsa_components(
        jwk["n"].as_str().unwrap(),
        jwk["e"].as_str().unwrap(),
    )
    .unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_issuer(&[serve.base_url()]);
    validation.set_audience(&[&resource]);
    let claims = jsonwebtoken::decode::<Value>(token, &decoding, &validation)
        .unwrap()
        .claims;
    assert_eq!(claims["iss"], serve.base_url());
    assert_eq!(claims["sub"], "user_demo_signer");
    assert_eq!(claims["client_id"], client_id.as_str());
    assert_eq!(claims["scope"], "read");
    assert_eq!(claims["aud"], resource.as_str());
    assert_eq!(claims["nbf"], claims["iat"]);
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        3600
    );
    assert_eq!(claims["jti"].as_str().unwrap().len(), 32);

    // The API takes it: an OAuth caller, read-only as granted.
    let me = oauth.me(token).await;
    assert_eq!(me.status, 200, "{me:?}");
    assert_eq!(me.body["userId"], "user_demo_signer");
    assert_eq!(me.body["authType"], "oauth");
    assert_eq!(me.body["scopes"], json!(["read"]));

    // No code, verifier or token in the logs.
    let logs = serve.logs_once(|logs| logs.contains("path=/v1/me")).await;
    for secret in [
        code,
        verifier.as_str(),
        token,
        body["refresh_token"].as_str().unwrap(),
    ] {
        assert!(!logs.contains(secret), "a secret is in the logs:\n{logs}");
    }
}

#[tokio::test]
async fn code_flow_with_login_hint_rest() {
    code_flow_with_login_hint(Api::Rest).await;
}

#[tokio::test]
async fn code_flow_with_login_hint_http() {
    code_flow_with_login_hint(Api::Http).await;
}

#[tokio::test]
async fn refusals_of_the_authorization_and_token_endpoints() {
    let serve = start(Api::Rest);
    let oauth = Oauth::new(&serve);
    let client_id = oauth.client().await;
    let resource = serve.url("/mcp");
    let (verifier, challenge) = pkce();
    let base = |extra: &[(&'static str, &'static str)]| {
        let mut params: Vec<(&str, String)> = vec![
            ("response_type", "code".into()),
            ("client_id", client_id.clone()),
            ("redirect_uri", REDIRECT.into()),
            ("code_challenge", challenge.clone()),
            ("code_challenge_method", "S256".into()),
            ("state", "s1".into()),
            ("login_hint", "user_demo_manager".into()),
        ];
        for (name, value) in extra {
            params.retain(|(n, _)| n != name);
            if !value.is_empty() {
                params.push((name, (*value).to_owned()));
            }
        }
        params
    };
    let authorize = async |params: Vec<(&str, String)>| {
        let pairs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
        oauth.authorize(&pairs).await
    };

    // Before the redirect URI is trusted: a page, never a redirect.
    for (extra, message) in [
        (
            &[("redirect_uri", "http://127.0.0.1:9/other")][..],
            "redirect_uri",
        ),
        (
            &[("redirect_uri", "https://evil.example/cb")],
            "redirect_uri",
        ),
        (&[("client_id", "dev_client_nope")], "client_id"),
        (&[("client_id", "")], "client_id"),
    ] {
        let reply = authorize(base(extra)).await;
        assert_eq!(reply.status, 400, "{extra:?}: {reply:?}");
        assert!(reply.header("location").is_none());
        assert!(
            reply
                .header("content-type")
                .unwrap()
                .starts_with("text/html")
        );
        assert!(reply.text.contains(message), "{}", reply.text);
    }
    // One registered redirect URI may be left out.
    let reply = authorize(base(&[("redirect_uri", "")])).await;
    assert!(param(&reply.redirect_params(), "code").is_some());

    // After: the error goes back to the client, with its state and the issuer.
    for (extra, error) in [
        (&[("code_challenge_method", "plain")][..], "invalid_request"),
        (&[("code_challenge_method", "")], "invalid_request"),
        (&[("code_challenge", "")], "invalid_request"),
        (&[("code_challenge", "too-short")], "invalid_request"),
        (&[("response_type", "token")], "unsupported_response_type"),
        (&[("response_type", "")], "invalid_request"),
        (&[("scope", "read admin")], "invalid_scope"),
        (&[("resource", "not a url")], "invalid_target"),
        (&[("resource", "http://example.com/mcp")], "invalid_target"),
        (&[("login_hint", "not a user")], "invalid_request"),
    ] {
        let reply = authorize(base(extra)).await;
        let params = reply.redirect_params();
        assert_eq!(
            param(&params, "error"),
            Some(error),
            "{extra:?}: {params:?}"
        );
        assert!(param(&params, "error_description").is_some());
        assert_eq!(param(&params, "state"), Some("s1"));
        assert_eq!(param(&params, "iss"), Some(serve.base_url()));
        assert!(param(&params, "code").is_none());
    }
    let mut repeated = base(&[]);
    repeated.push(("code_challenge", challenge.clone()));
    let reply = authorize(repeated).await;
    assert_eq!(
        param(&reply.redirect_params(), "error"),
        Some("invalid_request")
    );

    // A wrong verifier fails, and burns the code: the right one cannot use it after.
    let code = oauth
        .code(&client_id, &challenge, "user_demo_manager", &resource)
        .await;
    let (other_verifier, _) = pkce();
    oauth
        .redeem(&client_id, &code, &other_verifier)
        .await
        .expect_oauth_error(400, "invalid_grant");
    oauth
        .redeem(&client_id, &code, &verifier)
        .await
        .expect_oauth_error(400, "invalid_grant");

    // A code works once; presenting it again revokes what it gave.
    let code = oauth
        .code(&client_id, &challenge, "user_demo_manager", &resource)
        .await;
    let first = oauth.redeem(&client_id, &code, &verifier).await;
    assert_eq!(first.status, 200, "{first:?}");
    oauth
        .redeem(&client_id, &code, &verifier)
        .await
        .expect_oauth_error(400, "invalid_grant");
    oauth
        .token(&[
            ("grant_type", "refresh_token"),
            ("client_id", &client_id),
            (
                "refresh_token",
                first.body["refresh_token"].as_str().unwrap(),
            ),
        ])
        .await
        .expect_oauth_error(400, "invalid_grant");

    // The code is bound to the redirect URI, the client and the resource.
    let other_client = oauth.client().await;
    for (client, redirect, resource_asked, error) in [
        (
            client_id.as_str(),
            Some("http://127.0.0.1:9/other"),
            None,
            "invalid_grant",
        ),
        (client_id.as_str(), None, None, "invalid_grant"),
        (other_client.as_str(), Some(REDIRECT), None, "invalid_grant"),
        (
            client_id.as_str(),
            Some(REDIRECT),
            Some("http://127.0.0.1:1/x"),
            "invalid_target",
        ),
    ] {
        let code = oauth
            .code(&client_id, &challenge, "user_demo_manager", &resource)
            .await;
        let mut params = vec![
            ("grant_type", "authorization_code"),
            ("client_id", client),
            ("code", code.as_str()),
            ("code_verifier", verifier.as_str()),
        ];
        params.extend(redirect.map(|r| ("redirect_uri", r)));
        params.extend(resource_asked.map(|r| ("resource", r)));
        oauth.token(&params).await.expect_oauth_error(400, error);
    }

    // Malformed token requests.
    for (params, status, error) in [
        (
            &[("client_id", client_id.as_str())][..],
            400,
            "invalid_request",
        ),
        (
            &[("grant_type", "password"), ("client_id", &client_id)],
            400,
            "unsupported_grant_type",
        ),
        (
            &[("grant_type", "authorization_code")],
            400,
            "invalid_request",
        ),
        (
            &[
                ("grant_type", "authorization_code"),
                ("client_id", "dev_client_nope"),
                ("code", "x"),
                ("code_verifier", "y"),
            ],
            400,
            "invalid_client",
        ),
        (
            &[
                ("grant_type", "authorization_code"),
                ("client_id", &client_id),
                ("code_verifier", &verifier),
            ],
            400,
            "invalid_request",
        ),
        (
            &[
                ("grant_type", "authorization_code"),
                ("client_id", &client_id),
                ("code", "0123456789abcdef.x"),
            ],
            400,
            "invalid_request",
        ),
        (
            &[
                ("grant_type", "authorization_code"),
                ("client_id", &client_id),
                ("code", "0123456789abcdef.x"),
                ("code_verifier", &verifier),
            ],
            400,
            "invalid_grant",
        ),
        (
            &[
                ("grant_type", "refresh_token"),
                ("client_id", &client_id),
                ("refresh_token", "garbage"),
            ],
            400,
            "invalid_grant",
        ),
        (
            &[
                ("grant_type", "authorization_code"),
                ("grant_type", "refresh_token"),
                ("client_id", &client_id),
            ],
            400,
            "invalid_request",
        ),
    ] {
        oauth.token(params).await.expect_oauth_error(status, error);
    }
    oauth
        .post("/oauth/token", "application/json", "{}".to_owned())
        .await
        .expect_oauth_error(400, "invalid_request");
    let reply = oauth.get("/oauth/token").await;
    assert_eq!(reply.status, 405);
}

#[tokio::test]
async fn refresh_tokens_rotate_and_narrow() {
    let serve = start(Api::Rest);
    let oauth = Oauth::new(&serve);
    let client_id = oauth.client().await;
    let resource = serve.url("/mcp");
    let (verifier, challenge) = pkce();
    let code = oauth
        .code(&client_id, &challenge, "user_demo_manager", &resource)
        .await;
    let first = oauth.redeem(&client_id, &code, &verifier).await;
    assert_eq!(first.status, 200, "{first:?}");
    assert_eq!(first.body["scope"], "read write");
    let refresh = |token: String, extra: Vec<(&'static str, String)>| {
        let oauth = &oauth;
        let client_id = client_id.clone();
        async move {
            let mut params = vec![
                ("grant_type", "refresh_token".to_owned()),
                ("client_id", client_id),
                ("refresh_token", token),
            ];
            params.extend(extra);
            let pairs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
            oauth.token(&pairs).await
        }
    };
    let old = first.body["refresh_token"].as_str().unwrap().to_owned();

    // Narrowing the scope: a read-only access token; the grant itself keeps both scopes.
    let second = refresh(old.clone(), vec![("scope", "read".into())]).await;
    assert_eq!(second.status, 200, "{second:?}");
    assert_eq!(second.header("cache-control"), Some("no-store"));
    assert_eq!(second.body["scope"], "read");
    assert_eq!(second.body["token_type"], "Bearer");
    let new = second.body["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    let access = second.body["access_token"].as_str().unwrap();
    let claims = segment(access, 1);
    assert_eq!(claims["scope"], "read");
    assert_eq!(claims["aud"], resource.as_str());
    assert_eq!(claims["sub"], "user_demo_manager");
    assert_ne!(
        claims["jti"],
        segment(first.body["access_token"].as_str().unwrap(), 1)["jti"]
    );
    let me = oauth.me(access).await;
    assert_eq!(me.status, 200, "{me:?}");
    assert_eq!(me.body["scopes"], json!(["read"]));

    // Refusals that do not spend the token: a wider scope, another resource, another client.
    refresh(new.clone(), vec![("scope", "read admin".into())])
        .await
        .expect_oauth_error(400, "invalid_scope");
    refresh(
        new.clone(),
        vec![("resource", "http://127.0.0.1:1/other".into())],
    )
    .await
    .expect_oauth_error(400, "invalid_target");
    let other = oauth.client().await;
    oauth
        .token(&[
            ("grant_type", "refresh_token"),
            ("client_id", &other),
            ("refresh_token", &new),
        ])
        .await
        .expect_oauth_error(400, "invalid_grant");

    // Rotation: the new token works once, with the grant's full scope again.
    let third = refresh(new.clone(), vec![("resource", resource.clone())]).await;
    assert_eq!(third.status, 200, "{third:?}");
    assert_eq!(third.body["scope"], "read write");
    let newest = third.body["refresh_token"].as_str().unwrap().to_owned();

    // The old one is dead, and presenting it revokes the family (the newest token too).
    refresh(old, vec![])
        .await
        .expect_oauth_error(400, "invalid_grant");
    refresh(newest, vec![])
        .await
        .expect_oauth_error(400, "invalid_grant");
}

#[tokio::test]
async fn consent_page_then_approval() {
    let serve = start(Api::Http);
    let oauth = Oauth::new(&serve);
    let client_id = oauth.client().await;
    let (verifier, challenge) = pkce();
    let params = [
        ("response_type", "code"),
        ("client_id", client_id.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
        ("state", "<b>\"st\"</b>"),
        ("scope", "read write"),
    ];
    let page = oauth.authorize(&params).await;
    assert_eq!(page.status, 200, "{page:?}");
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(page.header("cache-control"), Some("no-store"));
    assert_eq!(page.header("x-frame-options"), Some("DENY"));
    let html = &page.text;
    assert!(
        html.contains("<form method=\"post\" action=\"/oauth/authorize\">"),
        "{html}"
    );
    for user in [
        "user_demo_admin",
        "user_demo_manager",
        "user_demo_company_manager",
        "user_demo_signer",
    ] {
        assert!(
            html.contains(&format!("name=\"login_hint\" value=\"{user}\"")),
            "{user} is not offered:\n{html}"
        );
    }
    assert!(html.contains("oauth test"), "the client's name is shown");
    // The state is carried, escaped, never as markup.
    assert!(
        html.contains("value=\"&lt;b&gt;&quot;st&quot;&lt;/b&gt;\""),
        "{html}"
    );
    assert!(!html.contains("<b>\"st\"</b>"));

    // The answer the page's form posts: every hidden field, and the chosen user.
    let mut fields: Vec<(String, String)> = Vec::new();
    for input in html.split("<input type=\"hidden\" ").skip(1).take(7) {
        let name = input
            .split("name=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        let value = input
            .split("value=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        let value = value
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&amp;", "&");
        if !fields.iter().any(|(n, _)| n == name) {
            fields.push((name.to_owned(), value));
        }
    }
    let post = |extra: (&'static str, &'static str)| {
        let mut pairs: Vec<(&str, &str)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        pairs.push(extra);
        oauth.post(
            "/oauth/authorize",
            "application/x-www-form-urlencoded",
            form(&pairs),
        )
    };
    let denied = post(("decision", "deny")).await;
    let denied = denied.redirect_params();
    assert_eq!(param(&denied, "error"), Some("access_denied"));
    assert_eq!(param(&denied, "state"), Some("<b>\"st\"</b>"));

    let approved = post(("login_hint", "user_demo_company_manager")).await;
    let approved = approved.redirect_params();
    assert_eq!(param(&approved, "state"), Some("<b>\"st\"</b>"));
    let code = param(&approved, "code").unwrap();
    let token = oauth.redeem(&client_id, code, &verifier).await;
    assert_eq!(token.status, 200, "{token:?}");
    let claims = segment(token.body["access_token"].as_str().unwrap(), 1);
    assert_eq!(claims["sub"], "user_demo_company_manager");
    assert!(claims.get("aud").is_none(), "no resource asked, no aud");
}

/// Outside dev mode (CLERK_ISSUER set), none of the paths exists: each is the gateway's 404.
#[test]
fn absent_outside_dev_mode() {
    let sandbox = std::env::temp_dir().join(format!(
        "gatehouse-oauth-clerk-{}-{}",
        std::process::id(),
        gatehouse::apikey::generate_key_id().unwrap()
    ));
    std::fs::create_dir_all(&sandbox).unwrap();
    // As the testkit picks it: GATEHOUSE_TEST_TEMPLATE, else the workspace's.
    let template = std::env::var_os("GATEHOUSE_TEST_TEMPLATE").map_or_else(
        || std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../template.yaml"),
        std::path::PathBuf::from,
    );
    let mut command = Command::new(env!("CARGO_BIN_EXE_gatehouse"));
    for var in [
        "TABLE_NAME",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_DYNAMODB",
        "API_KEY_PEPPER_SECRET_ID",
        "CLERK_JWKS_URL",
        "CLERK_JWT_KEY",
        "CLERK_SECRET_KEY_SECRET_ID",
        "AWS_LAMBDA_RUNTIME_API",
        "RUST_LOG",
    ] {
        command.env_remove(var);
    }
    let mut child = command
        .args(["serve", "--port", "0", "--template"])
        .arg(&template)
        .env("CLERK_ISSUER", "https://clerk.example.com")
        .env("GATEHOUSE_HOME", sandbox.join("home"))
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .current_dir(&sandbox)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut first = String::new();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    stdout.read_line(&mut first).unwrap();
    // Keep reading (the banner, the access log) so the server never writes to a closed pipe.
    std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    let base = first
        .trim()
        .strip_prefix("gatehouse listening on ")
        .unwrap_or_else(|| panic!("first line: {first:?}"))
        .to_owned();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let outcome = runtime.block_on(async {
        let http = client();
        let mut answers = Vec::new();
        for (method, path) in [
            ("GET", METADATA),
            ("GET", "/.well-known/openid-configuration"),
            ("POST", "/oauth/register"),
            ("GET", "/oauth/authorize"),
            ("POST", "/oauth/authorize"),
            ("POST", "/oauth/token"),
        ] {
            let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
            let response = http
                .request(method.clone(), format!("{base}{path}"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body("grant_type=authorization_code")
                .send()
                .await
                .unwrap();
            answers.push((method, path, read_reply(response).await));
        }
        answers
    });
    let _killed = child.kill();
    let _exited = child.wait();
    let _removed = std::fs::remove_dir_all(&sandbox);
    for (method, path, reply) in outcome {
        assert_eq!(reply.status, 404, "{method} {path}: {reply:?}");
        assert_eq!(
            reply.body,
            json!({"error": "not found", "code": "not_found"}),
            "{method} {path}"
        );
    }
}

/// `token mint --oauth`: Clerk's access token shape, accepted by the API when `aud` names it.
#[tokio::test]
async fn token_mint_oauth() {
    let serve = start(Api::Rest);
    let resource = serve.url("/mcp");
    let token = serve
        .cli_ok(&[
            "token",
            "mint",
            "--oauth",
            "--client-id",
            "cli_client",
            "--scope",
            "read write",
            "--sub",
            "user_demo_admin",
            "--aud",
            &resource,
            "--ttl-secs",
            "120",
        ])
        .trim()
        .to_owned();
    let header = segment(&token, 0);
    assert_eq!(header["alg"], "RS256");
    assert_eq!(header["typ"], "at+jwt");
    assert!(header["kid"].as_str().unwrap().starts_with("dev-"));
    let claims = segment(&token, 1);
    let mut names: Vec<&str> = claims
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "aud",
            "client_id",
            "exp",
            "iat",
            "iss",
            "jti",
            "nbf",
            "scope",
            "sub"
        ]
    );
    assert_eq!(claims["iss"], serve.base_url());
    assert_eq!(claims["sub"], "user_demo_admin");
    assert_eq!(claims["client_id"], "cli_client");
    assert_eq!(claims["scope"], "read write");
    assert_eq!(claims["aud"], resource.as_str());
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        120
    );
    let me = Oauth::new(&serve).me(&token).await;
    assert_eq!(me.status, 200, "{me:?}");
    assert_eq!(me.body["authType"], "oauth");
    assert_eq!(me.body["userId"], "user_demo_admin");

    // Defaults: the scope map's scopes, no aud.
    let bare = serve
        .cli_ok(&[
            "token",
            "mint",
            "--oauth",
            "--client-id",
            "c",
            "--sub",
            "user_demo_admin",
        ])
        .trim()
        .to_owned();
    let claims = segment(&bare, 1);
    assert_eq!(claims["scope"], "read write");
    assert!(claims.get("aud").is_none());

    // Bad values are user errors (exit 1), usage errors exit 2.
    for args in [
        &["--oauth", "--client-id", "a b", "--sub", "u"][..],
        &["--oauth", "--client-id", "c", "--scope", "  ", "--sub", "u"],
        &[
            "--oauth",
            "--client-id",
            "c",
            "--aud",
            "http://example.com",
            "--sub",
            "u",
        ],
        &["--oauth", "--client-id", "c", "--sub", "bad user"],
    ] {
        let mut full = vec!["token", "mint"];
        full.extend_from_slice(args);
        let output = serve.cli(&full);
        assert_eq!(output.status.code(), Some(1), "{args:?}: {output:?}");
    }
    for args in [
        &["--oauth", "--sub", "u"][..],
        &["--client-id", "c", "--sub", "u"],
        &[
            "--oauth",
            "--client-id",
            "c",
            "--azp",
            "http://x",
            "--sub",
            "u",
        ],
    ] {
        let mut full = vec!["token", "mint"];
        full.extend_from_slice(args);
        let output = serve.cli(&full);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {output:?}");
    }
}
