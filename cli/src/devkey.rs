//! Dev mode's signing key. With no `CLERK_ISSUER`, `gatehouse serve` is its own issuer: it publishes
//! this key as a JWKS at `/.well-known/jwks.json` and `gatehouse token mint` signs Clerk-shaped session
//! tokens with it, so the authorizer's real verification path (JWKS fetch, kid lookup, RS256, claims)
//! runs unchanged, without a Clerk account.
//!
//! The key is an RSA-2048 key generated with aws-lc-rs on first use and kept, PKCS#8 PEM, in
//! `<home>/dev-signing-key.pem` (0600); it is local to one machine and never used outside dev mode.
//! Its kid is `dev-` and 16 hex characters of the SHA-256 of the public modulus, so a new key gets a
//! new kid.
//!
//! It signs two kinds of token, each shaped exactly like its Clerk counterpart so the authorizer's
//! checks cannot tell them apart: session JWTs ([`DevKey::mint`], `typ` `JWT`) and OAuth access
//! tokens ([`DevKey::mint_access_token`], `typ` `at+jwt`), which `gatehouse token mint --oauth` and
//! the dev authorization server of `serve` ([`crate::gateway::authorization_server`]) issue.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair, KeySize, PublicKeyComponents};
use aws_lc_rs::signature::KeyPair as _;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Serialize;
use serde_json::{Value, json};

use crate::cli::Failure;
use crate::home::Home;

/// The key file in the state folder.
pub const KEY_FILE: &str = "dev-signing-key.pem";
/// The file where `serve` records its issuer URL for `token mint`.
pub const ISSUER_FILE: &str = "dev-issuer";

const PEM_BEGIN: &str = "-----BEGIN PRIVATE KEY-----";
const PEM_END: &str = "-----END PRIVATE KEY-----";

/// The dev signing key.
#[derive(Clone)]
pub struct DevKey {
    kid: String,
    encoding: EncodingKey,
    modulus: Vec<u8>,
    exponent: Vec<u8>,
}

impl std::fmt::Debug for DevKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevKey").field("kid", &self.kid).finish()
    }
}

/// What goes into a minted token.
#[derive(Debug, Clone, Copy)]
pub struct MintRequest<'a> {
    /// `sub`: the Clerk user id.
    pub sub: &'a str,
    /// Seconds until `exp`.
    pub ttl_secs: u64,
    /// `azp`, if any.
    pub azp: Option<&'a str>,
    /// `iss`.
    pub issuer: &'a str,
    /// `iat` and `nbf`, Unix seconds.
    pub now: i64,
}

/// What goes into a minted OAuth access token.
#[derive(Debug, Clone, Copy)]
pub struct AccessTokenRequest<'a> {
    /// `iss`.
    pub issuer: &'a str,
    /// `sub`: the Clerk user id the token acts for.
    pub sub: &'a str,
    /// `client_id`: the OAuth client it was issued to.
    pub client_id: &'a str,
    /// `scope`: the granted OAuth scopes, space-separated.
    pub scope: &'a str,
    /// `aud`: the resource (RFC 8707) the token is meant for; no `aud` claim when `None`.
    pub aud: Option<&'a str>,
    /// Seconds until `exp`.
    pub ttl_secs: u64,
    /// `iat` and `nbf`, Unix seconds.
    pub now: i64,
}

/// Clerk's JWT OAuth access token claims.
#[derive(Serialize)]
struct AccessClaims<'a> {
    iss: &'a str,
    sub: &'a str,
    client_id: &'a str,
    jti: String,
    iat: i64,
    nbf: i64,
    exp: i64,
    scope: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    aud: Option<&'a str>,
}

/// The `typ` header of an OAuth access token (RFC 9068).
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";

/// Clerk v2 session claims.
#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    sub: &'a str,
    sid: String,
    iat: i64,
    nbf: i64,
    exp: i64,
    v: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    azp: Option<&'a str>,
}

impl DevKey {
    /// The key in `home`, generated and stored on first use.
    pub fn load_or_create(home: &Home) -> Result<Self, Failure> {
        let pem = home.secret_or_create(KEY_FILE, generate_pem)?;
        Self::from_pem(&pem).map_err(|problem| {
            Failure::new(format!(
                "{}: {problem} (delete it to get a new dev key)",
                home.file(KEY_FILE).display()
            ))
        })
    }

    /// Reads a PKCS#8 PEM RSA private key.
    pub fn from_pem(pem: &str) -> Result<Self, String> {
        let body = pem
            .trim()
            .strip_prefix(PEM_BEGIN)
            .and_then(|rest| rest.strip_suffix(PEM_END))
            .ok_or("not a PKCS#8 PEM private key")?;
        let compact: String = body.chars().filter(|c| !c.is_whitespace()).collect();
        let der = STANDARD
            .decode(compact)
            .map_err(|_| "the PEM body is not base64")?;
        let pair = KeyPair::from_pkcs8(&der).map_err(|e| format!("not an RSA key: {e}"))?;
        if pair.public_modulus_len() < 256 {
            return Err("the RSA key is shorter than 2048 bits".into());
        }
        let components = PublicKeyComponents::<Vec<u8>>::from(pair.public_key());
        let encoding =
            EncodingKey::from_rsa_pem(pem.trim().as_bytes()).map_err(|e| e.to_string())?;
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &components.n);
        let kid = format!("dev-{}", hex(digest.as_ref().get(..8).unwrap_or_default()));
        Ok(DevKey {
            kid,
            encoding,
            modulus: components.n,
            exponent: components.e,
        })
    }

    /// The key id.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public key as a JWK.
    pub fn jwk(&self) -> Value {
        json!({
            "kty": "RSA",
            "use": "sig",
            "alg": "RS256",
            "kid": self.kid,
            "n": URL_SAFE_NO_PAD.encode(&self.modulus),
            "e": URL_SAFE_NO_PAD.encode(&self.exponent),
        })
    }

    /// The JWKS document `serve` publishes.
    pub fn jwks(&self) -> Value {
        json!({ "keys": [self.jwk()] })
    }

    /// A Clerk-v2-shaped session JWT: header `alg` RS256, `typ` JWT, `kid`; claims `iss`, `sub`,
    /// `sid`, `iat`, `nbf`, `exp`, `v` = 2 and `azp` when given.
    pub fn mint(&self, request: MintRequest<'_>) -> Result<String, Failure> {
        let ttl = i64::try_from(request.ttl_secs)
            .map_err(|_| Failure::new("the token lifetime is too long"))?;
        let claims = Claims {
            iss: request.issuer,
            sub: request.sub,
            sid: format!("sess_dev_{}", random_hex(12)?),
            iat: request.now,
            nbf: request.now,
            exp: request.now.saturating_add(ttl),
            v: 2,
            azp: request.azp,
        };
        let mut header = Header::new(Algorithm::RS256);
        header.typ = Some("JWT".into());
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, &claims, &self.encoding)
            .map_err(|e| Failure::new(format!("signing the token failed: {e}")))
    }

    /// An OAuth access token shaped as Clerk issues JWT access tokens (RFC 9068): header `alg` RS256,
    /// `typ` `at+jwt`, `kid`; claims `iss`, `sub`, `client_id`, a random `jti`, `iat`, `nbf`, `exp`,
    /// `scope` (space-separated) and `aud` when given.
    pub fn mint_access_token(&self, request: AccessTokenRequest<'_>) -> Result<String, Failure> {
        let ttl = i64::try_from(request.ttl_secs)
            .map_err(|_| Failure::new("the token lifetime is too long"))?;
        let claims = AccessClaims {
            iss: request.issuer,
            sub: request.sub,
            client_id: request.client_id,
            jti: random_hex(16)?,
            iat: request.now,
            nbf: request.now,
            exp: request.now.saturating_add(ttl),
            scope: request.scope,
            aud: request.aud,
        };
        let mut header = Header::new(Algorithm::RS256);
        header.typ = Some(ACCESS_TOKEN_TYP.into());
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, &claims, &self.encoding)
            .map_err(|e| Failure::new(format!("signing the token failed: {e}")))
    }
}

/// A new RSA-2048 key as PKCS#8 PEM.
pub fn generate_pem() -> Result<String, Failure> {
    let pair = KeyPair::generate(KeySize::Rsa2048)
        .map_err(|_| Failure::new("generating the dev signing key failed"))?;
    let der = pair
        .as_der()
        .map_err(|_| Failure::new("encoding the dev signing key failed"))?;
    let encoded = STANDARD.encode(der.as_ref());
    let mut pem = String::with_capacity(encoded.len() + 80);
    pem.push_str(PEM_BEGIN);
    pem.push('\n');
    let mut rest = encoded.as_str();
    while !rest.is_empty() {
        let (line, tail) = rest.split_at(rest.len().min(64));
        pem.push_str(line);
        pem.push('\n');
        rest = tail;
    }
    pem.push_str(PEM_END);
    Ok(pem)
}

/// `bytes` random bytes from the OS CSPRNG, as lower-case hex.
pub fn random_hex(bytes: usize) -> Result<String, Failure> {
    let mut buffer = vec![0u8; bytes];
    aws_lc_rs::rand::fill(&mut buffer).map_err(|_| Failure::new("the random generator failed"))?;
    Ok(hex(&buffer))
}

/// Lower-case hexadecimal.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut out, byte| {
        let _infallible = write!(out, "{byte:02x}");
        out
    })
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
    use jsonwebtoken::{DecodingKey, Validation};

    fn temp_home(tag: &str) -> Home {
        Home::at(std::env::temp_dir().join(format!(
            "gatehouse-devkey-{tag}-{}-{}",
            std::process::id(),
            random_hex(6).unwrap()
        )))
    }

    #[test]
    fn minted_tokens_verify_with_the_published_jwks() {
        let home = temp_home("mint");
        let key = DevKey::load_or_create(&home).unwrap();
        assert!(key.kid().starts_with("dev-"));
        assert_eq!(key.kid().len(), 4 + 16);
        let jwks = key.jwks();
        let jwk = &jwks["keys"][0];
        assert_eq!(jwk["kty"], "RSA");
        assert_eq!(jwk["use"], "sig");
        assert_eq!(jwk["alg"], "RS256");
        assert_eq!(jwk["kid"], key.kid());
        assert_eq!(jwk["e"], "AQAB");

        let now = gatehouse::clock::Clock::now_unix(&gatehouse::clock::SystemClock);
        let token = key
            .mint(MintRequest {
                sub: "user_demo_admin",
                ttl_secs: 600,
                azp: Some("http://localhost:5173"),
                issuer: "http://127.0.0.1:3000",
                now,
            })
            .unwrap();
        let header = jsonwebtoken::decode_header(&token).unwrap();
        assert_eq!(header.alg, Algorithm::RS256);
        assert_eq!(header.typ.as_deref(), Some("JWT"));
        assert_eq!(header.kid.as_deref(), Some(key.kid()));

        let decoding = DecodingKey::from_rsa_components(
            jwk["n"].as_str().unwrap(),
            jwk["e"].as_str().unwrap(),
        )
        .unwrap();
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_issuer(&["http://127.0.0.1:3000"]);
        validation.set_required_spec_claims(&["exp", "iss", "sub", "nbf"]);
        let data = jsonwebtoken::decode::<Value>(&token, &decoding, &validation).unwrap();
        let claims = data.claims;
        assert_eq!(claims["sub"], "user_demo_admin");
        assert_eq!(claims["v"], 2);
        assert_eq!(claims["azp"], "http://localhost:5173");
        assert_eq!(claims["iat"], now);
        assert_eq!(claims["exp"], now + 600);
        assert!(claims["sid"].as_str().unwrap().starts_with("sess_dev_"));

        // The key is kept and reused: same kid, and earlier tokens still verify.
        let reloaded = DevKey::load_or_create(&home).unwrap();
        assert_eq!(reloaded.kid(), key.kid());
        assert_eq!(reloaded.jwks(), jwks);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(home.file(KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::remove_dir_all(home.dir()).unwrap();
    }

    #[test]
    fn no_azp_claim_unless_asked() {
        let key = DevKey::from_pem(&generate_pem().unwrap()).unwrap();
        let token = key
            .mint(MintRequest {
                sub: "u",
                ttl_secs: 60,
                azp: None,
                issuer: "http://127.0.0.1:1",
                now: 1_700_000_000,
            })
            .unwrap();
        let payload = token.split('.').nth(1).unwrap();
        let claims: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
        assert!(claims.get("azp").is_none());
        assert_eq!(claims["exp"], 1_700_000_060);
    }

    #[test]
    fn access_tokens_have_clerks_shape() {
        let key = DevKey::from_pem(&generate_pem().unwrap()).unwrap();
        let request = AccessTokenRequest {
            issuer: "http://127.0.0.1:3000",
            sub: "user_demo_signer",
            client_id: "client_1",
            scope: "read write",
            aud: Some("http://127.0.0.1:3000/mcp"),
            ttl_secs: 3600,
            now: 1_700_000_000,
        };
        let token = key.mint_access_token(request).unwrap();
        let header = jsonwebtoken::decode_header(&token).unwrap();
        assert_eq!(header.alg, Algorithm::RS256);
        assert_eq!(header.typ.as_deref(), Some("at+jwt"));
        assert_eq!(header.kid.as_deref(), Some(key.kid()));
        let jwks = key.jwks();
        let jwk = &jwks["keys"][0];
        let decoding = DecodingKey::from_rsa_components(
            jwk["n"].as_str().unwrap(),
            jwk["e"].as_str().unwrap(),
        )
        .unwrap();
        let mut validation = Validation::new(Algorithm::RS256);
        validation.validate_exp = false;
        validation.set_audience(&["http://127.0.0.1:3000/mcp"]);
        let claims = jsonwebtoken::decode::<Value>(&token, &decoding, &validation)
            .unwrap()
            .claims;
        let object = claims.as_object().unwrap();
        let mut names: Vec<&str> = object.keys().map(String::as_str).collect();
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
        assert_eq!(claims["iss"], "http://127.0.0.1:3000");
        assert_eq!(claims["sub"], "user_demo_signer");
        assert_eq!(claims["client_id"], "client_1");
        assert_eq!(claims["scope"], "read write");
        assert_eq!(claims["iat"], 1_700_000_000);
        assert_eq!(claims["nbf"], 1_700_000_000);
        assert_eq!(claims["exp"], 1_700_003_600);
        assert_eq!(claims["jti"].as_str().unwrap().len(), 32);

        // No resource, no aud; every token its own jti.
        let bare = key
            .mint_access_token(AccessTokenRequest {
                aud: None,
                ..request
            })
            .unwrap();
        let payload = bare.split('.').nth(1).unwrap();
        let bare: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
        assert!(bare.get("aud").is_none());
        assert_ne!(bare["jti"], claims["jti"]);
    }

    #[test]
    fn garbage_is_not_a_key() {
        assert!(DevKey::from_pem("nope").is_err());
        assert!(DevKey::from_pem(&format!("{PEM_BEGIN}\n!!!\n{PEM_END}")).is_err());
        assert!(DevKey::from_pem(&format!("{PEM_BEGIN}\nAAAA\n{PEM_END}")).is_err());
    }
}
