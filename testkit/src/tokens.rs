//! Dev-only keys and token minting. Tokens are assembled by hand (header and payload are any JSON, even
//! invalid or duplicated) and signed with RS256 through jsonwebtoken, so attack cases can be built that
//! no well-behaved library would produce.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::{Value, json};

/// The issuer used by tests and the sample events.
pub const DEV_ISSUER: &str = "https://dev.gatehouse.invalid";

/// A dev-only RSA key pair with its kid and public JWK.
#[derive(Debug, Clone)]
pub struct TestKey {
    /// The kid (the file stem).
    pub kid: &'static str,
    /// PKCS#8 private key PEM.
    pub private_pem: &'static str,
    /// SPKI public key PEM.
    pub public_pem: &'static str,
    /// `{"keys": [jwk]}` for this key alone.
    pub jwks_json: &'static str,
}

macro_rules! test_key {
    ($name:ident, $kid:literal) => {
        /// A committed dev-only key.
        pub fn $name() -> TestKey {
            TestKey {
                kid: $kid,
                private_pem: include_str!(concat!(
                    "../../testdata/dev-only-insecure-keys/",
                    $kid,
                    ".pem"
                )),
                public_pem: include_str!(concat!(
                    "../../testdata/dev-only-insecure-keys/",
                    $kid,
                    ".pub.pem"
                )),
                jwks_json: include_str!(concat!(
                    "../../testdata/dev-only-insecure-keys/",
                    $kid,
                    ".jwks.json"
                )),
            }
        }
    };
}

test_key!(dev_key, "dev-signing-key");
test_key!(key_a, "test-key-a");
test_key!(key_b, "test-key-b");
test_key!(key_c, "test-key-c");

impl TestKey {
    /// The public JWK.
    pub fn jwk(&self) -> Value {
        let doc: Value = serde_json::from_str(self.jwks_json).unwrap();
        doc["keys"][0].clone()
    }

    /// The same public key under another kid.
    pub fn jwk_with_kid(&self, kid: &str) -> Value {
        let mut jwk = self.jwk();
        jwk["kid"] = json!(kid);
        jwk
    }

    /// Signs `header.payload` (already base64url) with RS256.
    pub fn sign(&self, signing_input: &str) -> String {
        let key = EncodingKey::from_rsa_pem(self.private_pem.as_bytes()).unwrap();
        jsonwebtoken::crypto::sign(signing_input.as_bytes(), &key, Algorithm::RS256).unwrap()
    }

    /// A token from raw header and payload text.
    pub fn mint_raw(&self, header: &str, payload: &str) -> String {
        let input = format!("{}.{}", b64(header), b64(payload));
        let signature = self.sign(&input);
        format!("{input}.{signature}")
    }

    /// A token from JSON header and claims.
    pub fn mint(&self, header: &Value, claims: &Value) -> String {
        self.mint_raw(&header.to_string(), &claims.to_string())
    }

    /// A well-formed session token for `sub` with standard Clerk v2 claims around `now`.
    pub fn session_token(&self, sub: &str, now: i64) -> String {
        self.mint(
            &session_header(self.kid),
            &session_claims(DEV_ISSUER, sub, now),
        )
    }
}

/// base64url without padding.
pub fn b64(text: &str) -> String {
    URL_SAFE_NO_PAD.encode(text)
}

/// Clerk's session header for `kid`.
pub fn session_header(kid: &str) -> Value {
    json!({"alg": "RS256", "typ": "JWT", "kid": kid, "cat": "cl_B7d4PD111AAA"})
}

/// Clerk v2 session claims valid from `now - 10` for 60 seconds.
/// The header of a Clerk OAuth access token issued as a JWT (RFC 9068 `typ`).
pub fn access_token_header(kid: &str) -> Value {
    json!({"alg": "RS256", "kid": kid, "typ": "at+jwt"})
}

/// Claims of a Clerk OAuth access token around `now`, for `client_id`, with `scope` and `aud`.
pub fn access_token_claims(issuer: &str, sub: &str, now: i64, aud: &str) -> Value {
    json!({
        "iss": issuer,
        "sub": sub,
        "client_id": "client_partner",
        "jti": "oat_jti_0001",
        "iat": now - 10,
        "nbf": now - 10,
        "exp": now + 3600,
        "scope": "read write",
        "aud": aud
    })
}

pub fn session_claims(issuer: &str, sub: &str, now: i64) -> Value {
    json!({
        "azp": "https://app.example.com",
        "exp": now + 60,
        "fva": [0, -1],
        "iat": now - 10,
        "iss": issuer,
        "nbf": now - 10,
        "sid": "sess_test123",
        "sts": "active",
        "sub": sub,
        "v": 2
    })
}
