//! The parsers of untrusted input as fuzz targets, each with the invariant it is there to hold
//! (feature `fuzzing`; never in a Lambda build). `fuzz/` drives them with libFuzzer; the corpus
//! replay test (`shared/tests/fuzz_replay.rs`) runs every stored input through them on stable, so
//! CI exercises the corpora without nightly.
//!
//! Every target must not panic on any input; beyond that each checks what its parser promises: that
//! an `Ok` is only ever given for input of the documented shape ("never Ok for a malformed input"),
//! and that what it renders parses back to itself where it renders anything.

// Fuzz targets report a broken invariant by panicking: that is how libFuzzer learns of it.
#![allow(
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

use std::sync::{Arc, OnceLock};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

use crate::apikey::{self, ApiKeyPrefix};
use crate::clock::FixedClock;
use crate::jwt::{self, ClerkVerifier, VerifierSettings};
use crate::keys::{IssuerKeys, KeyCacheOptions, KeySource};
use crate::principal::{AuthType, MEMBERSHIP_CONTEXT_BUDGET, Principal, Scopes, is_valid_id};
use crate::store::{ActiveKeyRef, Cursor};

/// A fuzz target: any bytes in; panics when its invariant does not hold.
pub type Target = fn(&[u8]);

/// Every target, by the name of its `fuzz/fuzz_targets/<name>.rs` and `fuzz/corpus/<name>/`.
pub const TARGETS: &[(&str, Target)] = &[
    ("authorization_header", authorization_header),
    ("jwt", jwt),
    ("jwks", jwks),
    ("api_key", api_key),
    ("method_arn", method_arn),
    ("authorizer_context", authorizer_context),
    ("cursor", cursor),
    ("use_api_key", use_api_key),
    ("create_key_body", create_key_body),
    ("create_package_body", create_package_body),
];

fn text(data: &[u8]) -> String {
    String::from_utf8_lossy(data).into_owned()
}

/// The `Authorization` header(s) of an authorizer event: one to three values (split at `\n`), each
/// under a differently cased name in `headers`, `multiValueHeaders` or both, in a REST (payload 1.0)
/// or HTTP API payload 2.0 event; then the bearer parse and the token's classification.
pub fn authorization_header(data: &[u8]) {
    let (&mode, rest) = data.split_first().unwrap_or((&0, &[]));
    let values: Vec<String> = rest.split(|b| *b == b'\n').take(3).map(text).collect();
    let names = ["Authorization", "authorization", "AUTHORIZATION"];
    let (mut headers, mut multi) = (Vec::new(), Vec::new());
    for ((i, value), name) in values.iter().enumerate().zip(names) {
        let quoted = serde_json::Value::String(value.clone()).to_string();
        let single = format!("\"{name}\":{quoted}");
        let listed = format!("\"{name}\":[{quoted}]");
        match (mode >> i) & 3 {
            0 => headers.push(single),
            1 => multi.push(listed),
            _ => {
                headers.push(single);
                multi.push(listed);
            }
        }
    }
    let version = if mode & 0x40 == 0 {
        r#""methodArn":"m""#
    } else {
        r#""version":"2.0","routeArn":"r""#
    };
    let event = format!(
        r#"{{"type":"REQUEST",{version},"headers":{{{}}},"multiValueHeaders":{{{}}}}}"#,
        headers.join(","),
        multi.join(",")
    );
    let parsed: crate::authorizer_event::AuthorizerEvent =
        serde_json::from_str(&event).expect("every generated event parses"); // allow-panic: a fuzz oracle
    let authorization = match &parsed {
        crate::authorizer_event::AuthorizerEvent::Policy { authorization, .. }
        | crate::authorizer_event::AuthorizerEvent::Simple { authorization, .. } => authorization,
        crate::authorizer_event::AuthorizerEvent::Unsupported(shape) => panic!("{shape}"), // allow-panic: a fuzz oracle
    };
    let Ok(Some(value)) = authorization.value() else {
        return;
    };
    // One value (the same one in both maps at most), visible ASCII, and one of those sent.
    assert!(headers.len() <= 1 && multi.len() <= 1, "{event}");
    assert!(values.iter().any(|v| v == value));
    assert!(
        value
            .bytes()
            .all(|b| b == b'\t' || (0x20..0x7f).contains(&b))
    );
    let Ok(token) = crate::bearer::bearer_token(Some(value)) else {
        return;
    };
    // Never Ok for anything but `Bearer <one visible-ASCII token>`.
    let trimmed = value.trim();
    let (scheme, rest) = trimmed.split_once(' ').expect("a scheme and a token"); // allow-panic: a fuzz oracle
    assert!(scheme.eq_ignore_ascii_case("bearer"), "{value:?}");
    assert_eq!(rest.trim_start_matches(' '), token);
    assert!(!token.is_empty() && token.bytes().all(|b| b.is_ascii_graphic()));
    match crate::bearer::classify(token, "sf_") {
        crate::bearer::Credential::ApiKey(key) => assert!(key.starts_with("sf_")),
        crate::bearer::Credential::OpaqueOAuth(token) => assert!(token.starts_with("oat_")),
        crate::bearer::Credential::Jwt(jwt) => assert!(!jwt.starts_with("sf_")),
    }
}

const FUZZ_ISSUER: &str = "https://fuzz.gatehouse.invalid";
const FUZZ_NOW: i64 = 1_750_000_000;

struct JwtHarness {
    verifier: ClerkVerifier,
    runtime: tokio::runtime::Runtime,
}

fn jwt_harness() -> &'static JwtHarness {
    static HARNESS: OnceLock<JwtHarness> = OnceLock::new();
    HARNESS.get_or_init(|| {
        // A public key whose private half signs nothing the fuzzer or its corpus could contain, so
        // no input may ever verify.
        let pem = include_str!("../../testdata/dev-only-insecure-keys/test-key-c.pub.pem");
        let options = KeyCacheOptions::default();
        let keys = IssuerKeys::with_lazy_client(
            FUZZ_ISSUER,
            KeySource::from_pem(pem).expect("the fuzz key parses"), // allow-panic: a fuzz oracle
            options,
        );
        let settings = VerifierSettings {
            issuer: FUZZ_ISSUER.to_owned(),
            authorized_parties: Some(vec!["https://app.example.com".to_owned()]),
            clock_skew_secs: 5,
            allow_pending_sessions: false,
        };
        JwtHarness {
            verifier: ClerkVerifier::new(
                settings,
                Arc::new(keys),
                Arc::new(FixedClock::at(FUZZ_NOW)),
            ),
            runtime: tokio::runtime::Builder::new_current_thread()
                .build()
                .expect("a runtime"), // allow-panic: a fuzz oracle
        }
    })
}

fn decoded_json(segment: &str) -> Value {
    let bytes = URL_SAFE_NO_PAD
        .decode(segment)
        .expect("accepted segments are base64url"); // allow-panic: a fuzz oracle
    serde_json::from_slice(&bytes).expect("accepted segments are JSON") // allow-panic: a fuzz oracle
}

/// A Clerk session JWT: split, header and claims (each checked on its own, so the claim checks are
/// reached without a signature), then the whole verification, which must never succeed.
pub fn jwt(data: &[u8]) {
    let harness = jwt_harness();
    let token = text(data);
    let verified = harness.runtime.block_on(harness.verifier.verify(&token));
    assert!(verified.is_err(), "an unsigned input verified: {token:?}");

    let Ok(parts) = jwt::split(&token) else {
        return;
    };
    assert!(token.len() <= jwt::MAX_TOKEN_BYTES);
    assert_eq!(
        parts.signed,
        format!("{}.{}", parts.header, parts.payload),
        "the signed part is exactly header.payload"
    );
    assert_eq!(format!("{}.{}", parts.signed, parts.signature), token);
    if let Ok(header) = jwt::parse_header(parts.header) {
        let raw = decoded_json(parts.header);
        assert_eq!(raw["alg"], "RS256");
        match header.kind {
            jwt::TokenKind::Session => assert!(raw.get("typ").is_none_or(|typ| typ == "JWT")),
            jwt::TokenKind::AccessToken => assert!(raw["typ"].as_str().is_some_and(|typ| {
                typ.eq_ignore_ascii_case("at+jwt") || typ.eq_ignore_ascii_case("application/at+jwt")
            })),
        }
        assert!(raw.get("crit").is_none());
        assert_eq!(raw["kid"].as_str(), Some(header.kid.as_str()));
        assert!(!header.kid.is_empty() && header.kid.len() <= 128 && !header.kid.contains(".."));
    }
    if let Ok(claims) = harness.verifier.check_claims(parts.payload) {
        let raw = decoded_json(parts.payload);
        assert_eq!(raw["iss"], FUZZ_ISSUER);
        assert_eq!(raw["sub"].as_str(), Some(claims.sub.as_str()));
        assert!(is_valid_id(&claims.sub));
        assert!(FUZZ_NOW < claims.valid_until, "accepted an expired token");
        assert_eq!(claims.valid_until, claims.exp.saturating_add(5));
        assert!(raw["nbf"].as_i64().is_none_or(|nbf| nbf <= FUZZ_NOW + 5));
        assert_eq!(claims.azp.as_deref(), Some("https://app.example.com"));
        assert!(matches!(claims.sts.as_deref(), None | Some("active")));
        assert!(
            raw.get("client_id").is_none(),
            "access-token claims read as a session"
        );
    }
    // The same payload as an OAuth access token for the fuzz API: every accepted one names it.
    if let Ok(claims) = harness
        .verifier
        .check_access_token_claims(parts.payload, Some(FUZZ_RESOURCE))
    {
        let raw = decoded_json(parts.payload);
        assert_eq!(raw["iss"], FUZZ_ISSUER);
        assert_eq!(raw["client_id"].as_str(), Some(claims.client_id.as_str()));
        assert!(
            FUZZ_NOW < claims.valid_until,
            "accepted an expired access token"
        );
        assert!(raw.get("sts").is_none());
        let aud = &raw["aud"];
        let names = |value: &Value| {
            value.as_str().is_some_and(|a| {
                let a = a.trim_end_matches('/');
                a == FUZZ_RESOURCE || a == format!("{FUZZ_RESOURCE}/mcp")
            })
        };
        assert!(
            names(aud) || aud.as_array().is_some_and(|list| list.iter().any(names)),
            "accepted an access token for another resource: {aud}"
        );
    }
}

/// The API the fuzzed access tokens are checked against.
const FUZZ_RESOURCE: &str = "https://api.fuzz.invalid/prod";

/// A JWKS document: only well-formed JSON with at least one usable RSA key is Ok.
pub fn jwks(data: &[u8]) {
    let Ok(keys) = crate::keys::parse_jwks(data) else {
        return;
    };
    assert!(!keys.is_empty());
    let document: Value = serde_json::from_slice(data).expect("an accepted JWKS is JSON"); // allow-panic: a fuzz oracle
    let listed = document["keys"].as_array().expect("with a keys array"); // allow-panic: a fuzz oracle
    for kid in keys.keys() {
        assert!(!kid.is_empty());
        let jwk = listed
            .iter()
            .find(|k| k["kid"] == kid.as_str() && k["kty"] == "RSA")
            .expect("every key comes from an RSA JWK of the document"); // allow-panic: a fuzz oracle
        assert!(jwk.get("use").is_none_or(|u| u == "sig"));
        assert!(jwk.get("alg").is_none_or(|a| a == "RS256"));
    }
}

/// An API key's format and checksum: Ok only for prefix, base62 random part, base62 CRC32.
pub fn api_key(data: &[u8]) {
    let key = text(data);
    let prefix = ApiKeyPrefix::default_prefix();
    if apikey::check_format(&key, &prefix).is_err() {
        return;
    }
    let body = key.strip_prefix("sf_").expect("the prefix"); // allow-panic: a fuzz oracle
    assert!(body.len() >= 32 + 6, "{key:?}");
    assert!(body.bytes().all(|b| b.is_ascii_alphanumeric()));
    assert_eq!(apikey::tail(&key).len(), apikey::TAIL_LEN);
    // Any other prefix refuses it.
    let other = ApiKeyPrefix::parse("gh_").expect("a prefix"); // allow-panic: a fuzz oracle
    assert!(apikey::check_format(&key, &other).is_err());
}

/// The `methodArn` of a REQUEST event: parse(render(x)) == x.
pub fn method_arn(data: &[u8]) {
    let text = text(data);
    let Ok(arn) = crate::policy::MethodArn::parse(&text) else {
        return;
    };
    let rendered = format!(
        "arn:{}:execute-api:{}:{}:{}/{}/{}/{}",
        arn.partition, arn.region, arn.account, arn.api_id, arn.stage, arn.method, arn.resource
    );
    assert_eq!(crate::policy::MethodArn::parse(&rendered), Ok(arn.clone()));
    // The Allow's resource: this stage, every method and path (the method ARN's own fields only).
    assert_eq!(
        arn.stage_wildcard(),
        format!(
            "arn:{}:execute-api:{}:{}:{}/{}/*/*",
            arn.partition, arn.region, arn.account, arn.api_id, arn.stage
        )
    );
    for field in [
        arn.partition,
        arn.region,
        arn.account,
        arn.api_id,
        arn.stage,
        arn.method,
    ] {
        assert!(
            !field.is_empty() && !field.contains(['*', ':', '/']),
            "{text:?}"
        );
    }
}

/// The authorizer context as a route reads it back: what decodes re-encodes to itself.
pub fn authorizer_context(data: &[u8]) {
    let fields: serde_json::Map<String, Value> = match serde_json::from_slice(data) {
        Ok(Value::Object(map)) => map,
        // Lines of `key=value` reach the decoder's checks faster than JSON does.
        _ => text(data)
            .lines()
            .filter_map(|line| line.split_once('='))
            .map(|(k, v)| (k.to_owned(), Value::String(v.to_owned())))
            .collect(),
    };
    let Ok(principal) = Principal::from_context(fields.iter().map(|(k, v)| (k.as_str(), v))) else {
        return;
    };
    assert!(!principal.user_id.is_empty());
    assert!(principal.auth_type != AuthType::ApiKey || principal.key_id.is_some());
    assert!(principal.auth_type != AuthType::Session || principal.expires_at.is_some());
    let m = &principal.memberships;
    for id in m
        .organization_ids
        .iter()
        .chain(&m.company_ids)
        .chain(&m.location_ids)
    {
        assert!(is_valid_id(id), "{id:?}");
    }
    let delivered: serde_json::Map<String, Value> = principal
        .to_context()
        .iter()
        .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
        .collect();
    let again = Principal::from_context(delivered.iter().map(|(k, v)| (k.as_str(), v)))
        .expect("what the authorizer writes decodes"); // allow-panic: a fuzz oracle
    let listed: usize = m
        .organization_ids
        .iter()
        .chain(&m.company_ids)
        .chain(&m.location_ids)
        .map(|id| id.len() + 1)
        .sum();
    if listed > MEMBERSHIP_CONTEXT_BUDGET && !principal.memberships_omitted {
        // Over the budget the lists are left out and flagged; everything else survives.
        assert!(again.memberships_omitted);
        assert_eq!(again.memberships, Default::default());
        assert_eq!(
            Principal {
                memberships: Default::default(),
                memberships_omitted: true,
                ..principal
            },
            again
        );
    } else {
        assert_eq!(again, principal);
    }
}

/// A pagination cursor: Ok only for the canonical encoding of a position, which renders back to it.
pub fn cursor(data: &[u8]) {
    let text = text(data);
    let Some(cursor) = Cursor::parse(&text) else {
        return;
    };
    assert_eq!(cursor.as_str(), text);
    let position = cursor.position();
    let mut parts = position.split('#');
    let first = parts.next().expect("one id"); // allow-panic: a fuzz oracle
    assert!(is_valid_id(first));
    if let Some(second) = parts.next() {
        assert!(is_valid_id(second));
    }
    assert!(parts.next().is_none());
    assert_eq!(Cursor::parse(Cursor::at(&position).as_str()), Some(cursor));
}

/// `X-Use-Api-Key` against a user's active keys: the chosen key is one of them and usable, and a
/// usable key that is named is the one chosen.
pub fn use_api_key(data: &[u8]) {
    let (&count, rest) = data.split_first().unwrap_or((&0, &[]));
    let count = usize::from(count % 8);
    let (layout, wanted) = rest.split_at(rest.len().min(count * 3 + 1));
    let now = i64::from(layout.first().copied().unwrap_or(0)) * 10;
    let keys: Vec<ActiveKeyRef> = layout
        .get(1..)
        .unwrap_or_default()
        .chunks(3)
        .enumerate()
        .map(|(i, bytes)| {
            let byte = |n: usize| i64::from(bytes.get(n).copied().unwrap_or(0));
            ActiveKeyRef {
                key_id: format!("k_{i}"),
                created_at: byte(0),
                expires_at: (byte(1) != 0).then(|| byte(1) * 10),
                scopes: Scopes {
                    read: byte(2) & 1 == 1,
                    write: byte(2) & 2 == 2,
                },
            }
        })
        .collect();
    let wanted = text(wanted);
    let chosen = crate::self_service::choose_scoped_key(&keys, Some(&wanted), now);
    match chosen {
        Some(key) => {
            assert!(keys.contains(key));
            assert!(key.is_usable_at(now));
            let named = keys
                .iter()
                .find(|k| k.key_id == wanted.trim() && k.is_usable_at(now));
            if let Some(named) = named {
                assert_eq!(key, named, "the named usable key");
            }
        }
        None => assert!(keys.iter().all(|k| !k.is_usable_at(now))),
    }
}

/// A proxy event carrying `data` as its body; every other byte decides base64 encoding.
/// A route request whose body is the input: raw bytes or text, as `lambda_http` hands either over.
fn request_with_body(data: &[u8]) -> lambda_http::Request {
    let (&mode, body) = data.split_first().unwrap_or((&0, &[]));
    let body = if mode & 1 == 1 {
        lambda_http::Body::Binary(body.to_vec())
    } else {
        lambda_http::Body::Text(text(body))
    };
    lambda_http::Request::new(body)
}

/// `POST /v1/me/keys`: the size cap, then the body's every rule.
pub fn create_key_body(data: &[u8]) {
    let request = request_with_body(data);
    let Ok(body) = crate::api::body_text(&request) else {
        return;
    };
    assert!(body.len() <= crate::api::MAX_BODY_BYTES);
    let Ok(parsed) = crate::self_service::CreateKeyRequest::from_json(&body) else {
        return;
    };
    assert!(serde_json::from_str::<Value>(&body).is_ok());
    let Ok((name, scopes, expires_in)) = parsed.validate() else {
        return;
    };
    let chars = name.chars().count();
    assert!((1..=crate::self_service::MAX_NAME_CHARS).contains(&chars));
    assert!(!name.trim().is_empty() && !name.chars().any(crate::text::is_unprintable));
    assert!(scopes.read || scopes.write);
    assert!(expires_in.is_none_or(|s| (86_400..=3650 * 86_400).contains(&s)));
}

/// `POST /v1/signing/manager/signings`: the size cap, then the body's every rule.
pub fn create_package_body(data: &[u8]) {
    let request = request_with_body(data);
    let Ok(body) = crate::api::body_text(&request) else {
        return;
    };
    let Ok(package) = crate::resources::NewPackage::from_json(&body) else {
        return;
    };
    let items = 1..=crate::resources::MAX_ITEMS;
    assert!(is_valid_id(&package.location_id));
    assert!(items.contains(&package.signer_user_ids.len()));
    assert!(items.contains(&package.documents.len()));
    for (i, signer) in package.signer_user_ids.iter().enumerate() {
        assert!(is_valid_id(signer));
        assert!(
            !package.signer_user_ids[..i].contains(signer),
            "signers are folded"
        );
    }
    for text in std::iter::once(&package.title).chain(&package.documents) {
        let chars = text.chars().count();
        assert!((1..=crate::resources::MAX_TITLE_CHARS).contains(&chars));
        assert!(!text.trim().is_empty() && !text.chars().any(crate::text::is_unprintable));
    }
}
