//! Verification of Clerk session JWTs (README "Clerk session tokens") and Clerk OAuth access tokens
//! issued as JWTs (README "OAuth access tokens and MCP"): one key cache, one signature check, and
//! two claim sets told apart by the header's `typ` (`at+jwt` is an access token, absent or `JWT` a
//! session token), so neither is ever accepted as the other.
//!
//! `jsonwebtoken` (aws-lc-rs backend) supplies key parsing and the RS256 signature check. Everything
//! around it is here, because the crate's `Validation` reads the system clock and cannot express
//! Clerk's rules: a size cap before any work; exactly three strict base64url segments; a header with
//! `alg` = RS256, `typ` absent or `JWT`, a well-formed `kid` matched exactly against the issuer's keys,
//! no `crit`, and a `cat` that is absent or the session category; duplicate JSON members rejected in
//! header and payload; then, after the signature, `iss`, `sub`, `exp`, `nbf`, `iat` against an injected
//! [`Clock`] with skew, `azp` against the authorized parties, and `sts`. `jku`, `x5u` and `jwk` headers
//! are never read, so no token can make us fetch anything.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};

use crate::clock::Clock;
use crate::error::Rejection;
use crate::keys::{IssuerKeys, KeyFetchError, KeyLookupError};
use crate::oauth::OAuthSettings;

/// Longest token accepted, in bytes (8 KiB).
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;
/// Clerk's `cat` header value for session tokens.
pub const SESSION_CATEGORY: &str = "cl_B7d4PD111AAA";
/// Clerk's "ignore category" value, set on every token class by instances that opt out of categories;
/// Clerk's own SDK accepts it for sessions, so we do too.
pub const IGNORED_CATEGORY: &str = "cl_I7d4PD111III";
const MAX_KID_LEN: usize = 128;

/// Verification policy for one issuer.
#[derive(Debug, Clone)]
pub struct VerifierSettings {
    /// Expected `iss`, exactly.
    pub issuer: String,
    /// Accepted `azp` values; when set, a token without `azp` is rejected.
    pub authorized_parties: Option<Vec<String>>,
    /// Tolerance for `exp`, `nbf` and `iat`, in seconds.
    pub clock_skew_secs: u32,
    /// Accept `sts: pending` sessions.
    pub allow_pending_sessions: bool,
}

/// Why a token was rejected. Only [`InvalidReason::Expired`] is told to the caller as such; all others
/// answer `invalid_token`. The reason is logged (it carries no token material).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InvalidReason {
    #[error("token too large")]
    TooLarge,
    #[error("not three base64url segments")]
    Malformed,
    #[error("header is not a JSON object")]
    BadHeader,
    #[error("alg is not RS256")]
    UnsupportedAlgorithm,
    #[error("typ is not JWT")]
    BadType,
    #[error("kid missing or malformed")]
    BadKid,
    #[error("crit header present")]
    CriticalHeader,
    #[error("cat is not the session category")]
    NotSessionCategory,
    #[error("kid not among the issuer's keys")]
    UnknownKid,
    #[error("signature does not verify")]
    BadSignature,
    #[error("payload is not a valid claims object")]
    BadClaims,
    #[error("duplicate member")]
    DuplicateMember,
    #[error("iss does not match")]
    WrongIssuer,
    #[error("sub missing or malformed")]
    BadSubject,
    #[error("exp missing")]
    MissingExpiry,
    #[error("expired")]
    Expired,
    #[error("nbf in the future")]
    NotYetValid,
    #[error("iat in the future")]
    IssuedInFuture,
    #[error("azp missing")]
    MissingAuthorizedParty,
    #[error("azp not authorized")]
    UnauthorizedParty,
    #[error("session pending")]
    PendingSession,
    #[error("sts not recognised")]
    BadSessionStatus,
    #[error("an access token (typ at+jwt) is not a session token")]
    AccessTokenAsSession,
    #[error("a session token is not an access token")]
    SessionAsAccessToken,
    #[error("client_id missing or malformed")]
    BadClientId,
    #[error("jti missing or malformed")]
    BadTokenId,
    #[error("aud missing")]
    MissingAudience,
    #[error("aud names none of the API's resources")]
    WrongAudience,
    #[error("client not allowed")]
    UnauthorizedClient,
}

impl InvalidReason {
    /// The caller-facing rejection.
    pub const fn rejection(self) -> Rejection {
        match self {
            InvalidReason::Expired => Rejection::TokenExpired,
            _ => Rejection::InvalidToken,
        }
    }

    /// A short stable label for logs.
    pub fn label(self) -> &'static str {
        match self {
            InvalidReason::TooLarge => "too_large",
            InvalidReason::Malformed => "malformed",
            InvalidReason::BadHeader => "bad_header",
            InvalidReason::UnsupportedAlgorithm => "unsupported_alg",
            InvalidReason::BadType => "bad_typ",
            InvalidReason::BadKid => "bad_kid",
            InvalidReason::CriticalHeader => "crit",
            InvalidReason::NotSessionCategory => "not_session_category",
            InvalidReason::UnknownKid => "unknown_kid",
            InvalidReason::BadSignature => "bad_signature",
            InvalidReason::BadClaims => "bad_claims",
            InvalidReason::DuplicateMember => "duplicate_member",
            InvalidReason::WrongIssuer => "wrong_iss",
            InvalidReason::BadSubject => "bad_sub",
            InvalidReason::MissingExpiry => "missing_exp",
            InvalidReason::Expired => "expired",
            InvalidReason::NotYetValid => "nbf_future",
            InvalidReason::IssuedInFuture => "iat_future",
            InvalidReason::MissingAuthorizedParty => "missing_azp",
            InvalidReason::UnauthorizedParty => "bad_azp",
            InvalidReason::PendingSession => "pending_session",
            InvalidReason::BadSessionStatus => "bad_sts",
            InvalidReason::AccessTokenAsSession => "access_token_as_session",
            InvalidReason::SessionAsAccessToken => "session_as_access_token",
            InvalidReason::BadClientId => "bad_client_id",
            InvalidReason::BadTokenId => "bad_jti",
            InvalidReason::MissingAudience => "missing_aud",
            InvalidReason::WrongAudience => "wrong_aud",
            InvalidReason::UnauthorizedClient => "client_not_allowed",
        }
    }
}

/// The outcome of a failed verification.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The token is not acceptable.
    #[error("invalid token: {0}")]
    Invalid(InvalidReason),
    /// No decision is possible: the keys could not be obtained.
    #[error(transparent)]
    KeysUnavailable(#[from] KeyFetchError),
}

impl From<InvalidReason> for VerifyError {
    fn from(reason: InvalidReason) -> Self {
        VerifyError::Invalid(reason)
    }
}

/// The claims of a verified session token that Gatehouse uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionClaims {
    /// The Clerk user id.
    pub sub: String,
    /// The session id.
    pub sid: Option<String>,
    /// Authorized party (origin).
    pub azp: Option<String>,
    /// Session status.
    pub sts: Option<String>,
    /// Expiry.
    pub exp: i64,
    /// The first instant the token is refused: `exp` plus the clock skew (what the authorizer puts in
    /// the context as `expiresAt`).
    pub valid_until: i64,
    /// Active organization id (v2 `o.id`, v1 `org_id`).
    pub org_id: Option<String>,
    /// Role in the active organization (v2 `o.rol`, v1 `org_role`).
    pub org_role: Option<String>,
    /// Session token version (`v`; absent means 1).
    pub version: u8,
}

/// A verified token plus the header facts worth logging.
#[derive(Debug, Clone)]
pub struct Verified {
    /// The claims.
    pub claims: SessionClaims,
    /// The key id that verified it.
    pub kid: String,
}

/// The claims of a verified OAuth access token that Gatehouse uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessTokenClaims {
    /// The Clerk user id the token acts for.
    pub sub: String,
    /// The OAuth client it was issued to.
    pub client_id: String,
    /// The granted OAuth scopes (`scope`, space-separated, or `scp`), as issued.
    pub scopes: Vec<String>,
    /// Expiry.
    pub exp: i64,
    /// `exp` plus the clock skew: the first instant the token is refused.
    pub valid_until: i64,
}

/// What kind of JWT a header announces (its `typ`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// `typ` absent or `JWT`: a Clerk session token.
    Session,
    /// `typ` `at+jwt` or `application/at+jwt` (RFC 9068): an OAuth access token.
    AccessToken,
}

/// A verified JWT of either kind.
#[derive(Debug, Clone)]
pub enum VerifiedToken {
    /// A session token.
    Session(Verified),
    /// An OAuth access token, and the kid that verified it.
    AccessToken(AccessTokenClaims, String),
}

/// Verifies Clerk session JWTs for one issuer.
pub struct ClerkVerifier {
    settings: VerifierSettings,
    oauth: OAuthSettings,
    keys: Arc<IssuerKeys>,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for ClerkVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClerkVerifier")
            .field("settings", &self.settings)
            .finish()
    }
}

impl ClerkVerifier {
    /// A verifier for `settings.issuer` using `keys` and `clock`.
    pub fn new(settings: VerifierSettings, keys: Arc<IssuerKeys>, clock: Arc<dyn Clock>) -> Self {
        Self {
            settings,
            oauth: OAuthSettings::default(),
            keys,
            clock,
        }
    }

    /// Sets what OAuth access tokens must satisfy (audience, clients, scope map).
    #[must_use]
    pub fn with_oauth(mut self, oauth: OAuthSettings) -> Self {
        self.oauth = oauth;
        self
    }

    /// The OAuth settings.
    pub fn oauth(&self) -> &OAuthSettings {
        &self.oauth
    }

    /// The key cache (shared with whoever wants to prefetch or inspect it).
    pub fn keys(&self) -> &Arc<IssuerKeys> {
        &self.keys
    }

    /// Verifies `token` as a session token (an access token is refused). On failure, the kid (when
    /// the header was readable) is returned for logging.
    pub async fn verify(&self, token: &str) -> Result<Verified, (VerifyError, Option<String>)> {
        let parts = split(token).map_err(|r| (r.into(), None))?;
        let header = parse_header(parts.header).map_err(|r| (r.into(), None))?;
        if header.kind == TokenKind::AccessToken {
            return Err((InvalidReason::AccessTokenAsSession.into(), Some(header.kid)));
        }
        match self.verify_any(token, None).await? {
            VerifiedToken::Session(verified) => Ok(verified),
            VerifiedToken::AccessToken(_, kid) => {
                Err((InvalidReason::AccessTokenAsSession.into(), Some(kid)))
            }
        }
    }

    /// Verifies `token` as whichever kind its header announces: a session token, or an OAuth access
    /// token whose `aud` must name this API (`base` is the API's URL as the gateway reports it, see
    /// [`crate::oauth::public_base_url`]; used when `OAUTH_RESOURCES` is unset).
    pub async fn verify_any(
        &self,
        token: &str,
        base: Option<&str>,
    ) -> Result<VerifiedToken, (VerifyError, Option<String>)> {
        let parts = split(token).map_err(|r| (r.into(), None))?;
        let header = parse_header(parts.header).map_err(|r| (r.into(), None))?;
        let kind = header.kind;
        let kid = header.kid;
        let key = match self.keys.key(&kid).await {
            Ok(key) => key,
            Err(KeyLookupError::UnknownKid) => {
                return Err((InvalidReason::UnknownKid.into(), Some(kid)));
            }
            Err(KeyLookupError::Unavailable(e)) => return Err((e.into(), Some(kid))),
        };
        let signature_ok = jsonwebtoken::crypto::verify(
            parts.signature,
            parts.signed.as_bytes(),
            &key,
            Algorithm::RS256,
        )
        .unwrap_or(false);
        if !signature_ok {
            return Err((InvalidReason::BadSignature.into(), Some(kid)));
        }
        let verified = match kind {
            TokenKind::Session => self.check_claims(parts.payload).map(|claims| {
                VerifiedToken::Session(Verified {
                    claims,
                    kid: kid.clone(),
                })
            }),
            TokenKind::AccessToken => self
                .check_access_token_claims(parts.payload, base)
                .map(|claims| VerifiedToken::AccessToken(claims, kid.clone())),
        };
        verified.map_err(|reason| (reason.into(), Some(kid)))
    }

    /// The checks every Clerk JWT gets, whatever its kind: `iss`, `sub`, `exp`, `nbf`, `iat`.
    /// Returns the claims, the subject and the first instant the token is refused.
    fn common_claims<'p>(
        &self,
        payload: &'p [u8],
    ) -> Result<(RawClaims<'p>, String, i64, i64), InvalidReason> {
        let raw: RawClaims = serde_json::from_slice(payload).map_err(|e| {
            if e.to_string().starts_with(DUPLICATE) {
                InvalidReason::DuplicateMember
            } else {
                InvalidReason::BadClaims
            }
        })?;
        let s = &self.settings;
        if raw.iss.as_deref() != Some(s.issuer.as_str()) {
            return Err(InvalidReason::WrongIssuer);
        }
        let sub = match &raw.sub {
            Some(Subject::Text(sub)) if crate::principal::is_valid_id(sub) => sub.to_string(),
            _ => return Err(InvalidReason::BadSubject),
        };
        let now = self.clock.now_unix();
        let skew = i64::from(s.clock_skew_secs);
        let exp = raw.exp.ok_or(InvalidReason::MissingExpiry)?;
        let valid_until = exp.saturating_add(skew);
        // As Clerk's SDK and RFC 7519: the token is expired once now reaches exp (plus the skew).
        if now >= valid_until {
            return Err(InvalidReason::Expired);
        }
        if raw.nbf.is_some_and(|nbf| nbf > now.saturating_add(skew)) {
            return Err(InvalidReason::NotYetValid);
        }
        if raw.iat.is_some_and(|iat| iat > now.saturating_add(skew)) {
            return Err(InvalidReason::IssuedInFuture);
        }
        Ok((raw, sub, exp, valid_until))
    }

    /// The access-token checks (README "OAuth access tokens and MCP"): the common ones, then
    /// `client_id` (present, allowed), `jti`, and the audience binding of RFC 8707.
    pub(crate) fn check_access_token_claims(
        &self,
        payload_b64: &str,
        base: Option<&str>,
    ) -> Result<AccessTokenClaims, InvalidReason> {
        let payload = URL_SAFE_NO_PAD
            .decode(payload_b64)
            .map_err(|_| InvalidReason::Malformed)?;
        let (raw, sub, exp, valid_until) = self.common_claims(&payload)?;
        // Session-only claims on a token that says it is an access token: something is confused.
        if raw.sts.is_some() {
            return Err(InvalidReason::SessionAsAccessToken);
        }
        let client_id = match raw.client_id.as_deref() {
            Some(id) if crate::oauth::is_token_id(id) => id.to_owned(),
            _ => return Err(InvalidReason::BadClientId),
        };
        if !raw.jti.as_deref().is_some_and(crate::oauth::is_token_id) {
            return Err(InvalidReason::BadTokenId);
        }
        match &raw.aud {
            None if self.oauth.allow_missing_audience => {}
            None => return Err(InvalidReason::MissingAudience),
            Some(aud) if self.oauth.audience_matches(aud, base) => {}
            Some(_) => return Err(InvalidReason::WrongAudience),
        }
        if !self.oauth.client_allowed(&client_id) {
            return Err(InvalidReason::UnauthorizedClient);
        }
        let scopes = match (raw.scope.as_deref(), raw.scp) {
            (Some(scope), _) => scope
                .split(' ')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            (None, Some(scp)) => scp,
            (None, None) => Vec::new(),
        };
        Ok(AccessTokenClaims {
            sub,
            client_id,
            scopes,
            exp,
            valid_until,
        })
    }

    pub(crate) fn check_claims(&self, payload_b64: &str) -> Result<SessionClaims, InvalidReason> {
        let payload = URL_SAFE_NO_PAD
            .decode(payload_b64)
            .map_err(|_| InvalidReason::Malformed)?;
        let (raw, sub, exp, valid_until) = self.common_claims(&payload)?;
        // An access token's claims on a token whose header says session: never a session.
        if raw.client_id.is_some() {
            return Err(InvalidReason::AccessTokenAsSession);
        }
        let s = &self.settings;
        if let Some(parties) = &s.authorized_parties {
            let azp = raw
                .azp
                .as_deref()
                .ok_or(InvalidReason::MissingAuthorizedParty)?;
            if !parties.iter().any(|p| p == azp) {
                return Err(InvalidReason::UnauthorizedParty);
            }
        }
        match raw.sts.as_deref() {
            None | Some("active") => {}
            Some("pending") if s.allow_pending_sessions => {}
            Some("pending") => return Err(InvalidReason::PendingSession),
            Some(_) => return Err(InvalidReason::BadSessionStatus),
        }
        let (org_id, org_role) = match raw.o {
            Some(org) => (org.id, org.rol),
            None => (raw.org_id, raw.org_role),
        };
        let owned = |text: Option<Cow<'_, str>>| text.map(Cow::into_owned);
        Ok(SessionClaims {
            sub,
            sid: owned(raw.sid),
            azp: owned(raw.azp),
            sts: owned(raw.sts),
            exp,
            valid_until,
            org_id: owned(org_id),
            org_role: owned(org_role),
            version: raw.v.unwrap_or(1),
        })
    }
}

/// A token split into its segments (borrowed), and the signed part `header.payload`.
pub(crate) struct Parts<'a> {
    pub(crate) header: &'a str,
    pub(crate) payload: &'a str,
    pub(crate) signature: &'a str,
    pub(crate) signed: &'a str,
}

/// Size cap, exactly three non-empty segments of the base64url alphabet (no padding, no stray bytes).
pub(crate) fn split(token: &str) -> Result<Parts<'_>, InvalidReason> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(InvalidReason::TooLarge);
    }
    let mut segments = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) = (
        segments.next(),
        segments.next(),
        segments.next(),
        segments.next(),
    ) else {
        return Err(InvalidReason::Malformed);
    };
    let b64url = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| BASE64URL.get(usize::from(b)).copied().unwrap_or(false))
    };
    if !(b64url(header) && b64url(payload) && b64url(signature)) {
        return Err(InvalidReason::Malformed);
    }
    let signed = token
        .get(..header.len() + 1 + payload.len())
        .ok_or(InvalidReason::Malformed)?;
    Ok(Parts {
        header,
        payload,
        signature,
        signed,
    })
}

/// Which bytes belong to the base64url alphabet. (Built at compile time: an out-of-range index here
/// would fail the build, not a request.)
#[allow(clippy::indexing_slicing)]
static BASE64URL: [bool; 256] = {
    let mut table = [false; 256];
    let mut byte = 0;
    while byte < 256 {
        let b = byte as u8;
        table[byte] = b.is_ascii_alphanumeric() || b == b'-' || b == b'_';
        byte += 1;
    }
    table
};

/// The header facts verification goes on.
pub(crate) struct Header {
    pub(crate) kid: String,
    pub(crate) kind: TokenKind,
}

/// Decodes and checks the header segment (alg, typ, crit, cat, kid).
pub(crate) fn parse_header(segment: &str) -> Result<Header, InvalidReason> {
    let bytes = URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| InvalidReason::Malformed)?;
    let raw: RawHeader = serde_json::from_slice(&bytes).map_err(|e| {
        if e.to_string().starts_with(DUPLICATE) {
            InvalidReason::DuplicateMember
        } else {
            InvalidReason::BadHeader
        }
    })?;
    if raw.alg.as_deref() != Some("RS256") {
        return Err(InvalidReason::UnsupportedAlgorithm);
    }
    // RFC 9068 section 4: media types compare case-insensitively.
    let kind = match raw.typ.as_deref() {
        None | Some("JWT") => TokenKind::Session,
        Some(typ)
            if typ.eq_ignore_ascii_case("at+jwt")
                || typ.eq_ignore_ascii_case("application/at+jwt") =>
        {
            TokenKind::AccessToken
        }
        Some(_) => return Err(InvalidReason::BadType),
    };
    if raw.crit {
        return Err(InvalidReason::CriticalHeader);
    }
    match (kind, raw.cat.as_deref()) {
        (_, None) => {}
        (TokenKind::Session, Some(cat)) if cat == SESSION_CATEGORY || cat == IGNORED_CATEGORY => {}
        (TokenKind::Session, Some(_)) => return Err(InvalidReason::NotSessionCategory),
        // An access token may carry Clerk's category of its own class, never the session one.
        (TokenKind::AccessToken, Some(cat)) if cat == SESSION_CATEGORY => {
            return Err(InvalidReason::SessionAsAccessToken);
        }
        (TokenKind::AccessToken, Some(_)) => {}
    }
    match raw.kid {
        Some(kid)
            if !kid.is_empty()
                && kid.len() <= MAX_KID_LEN
                && kid
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
                && !kid.contains("..") =>
        {
            Ok(Header {
                kid: kid.into_owned(),
                kind,
            })
        }
        _ => Err(InvalidReason::BadKid),
    }
}

const DUPLICATE: &str = "duplicate member";

/// The header members we read. Deserialized by hand to reject duplicate members and non-string types.
#[derive(Default)]
struct RawHeader<'de> {
    alg: Option<Cow<'de, str>>,
    typ: Option<Cow<'de, str>>,
    kid: Option<Cow<'de, str>>,
    cat: Option<Cow<'de, str>>,
    crit: bool,
}

/// The payload members we read.
#[derive(Default)]
struct RawClaims<'de> {
    iss: Option<Cow<'de, str>>,
    sub: Option<Subject<'de>>,
    exp: Option<i64>,
    nbf: Option<i64>,
    iat: Option<i64>,
    azp: Option<Cow<'de, str>>,
    sid: Option<Cow<'de, str>>,
    sts: Option<Cow<'de, str>>,
    v: Option<u8>,
    o: Option<OrgClaim<'de>>,
    org_id: Option<Cow<'de, str>>,
    org_role: Option<Cow<'de, str>>,
    client_id: Option<Cow<'de, str>>,
    jti: Option<Cow<'de, str>>,
    scope: Option<Cow<'de, str>>,
    scp: Option<Vec<String>>,
    aud: Option<Vec<String>>,
}

/// A JSON array of strings, at most [`StringList::MAX`] of them; with `one_or_many`, a lone string
/// is a list of one (`aud` may be either, RFC 7519 section 4.1.3).
struct StringList<const ONE_OR_MANY: bool>(Vec<String>);

impl<const ONE_OR_MANY: bool> StringList<ONE_OR_MANY> {
    const MAX: usize = 64;
}

impl<'de, const ONE_OR_MANY: bool> Deserialize<'de> for StringList<ONE_OR_MANY> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V<const ONE_OR_MANY: bool>;
        impl<'de, const ONE_OR_MANY: bool> Visitor<'de> for V<ONE_OR_MANY> {
            type Value = StringList<ONE_OR_MANY>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array of strings")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                if ONE_OR_MANY {
                    Ok(StringList(vec![v.to_owned()]))
                } else {
                    Err(E::custom("expected an array of strings"))
                }
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut items = Vec::new();
                while let Some(Text(item)) = seq.next_element::<Text<'de>>()? {
                    if items.len() >= StringList::<ONE_OR_MANY>::MAX {
                        return Err(de::Error::custom("too many items"));
                    }
                    items.push(item.into_owned());
                }
                Ok(StringList(items))
            }
        }
        deserializer.deserialize_any(V::<ONE_OR_MANY>)
    }
}

/// `sub` as found: a string, or any other JSON value (reported as a bad subject, not bad claims).
enum Subject<'de> {
    Text(Cow<'de, str>),
    Other,
}

impl<'de> Deserialize<'de> for Subject<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Subject<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Subject<'de>, E> {
                Ok(Subject::Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Subject<'de>, E> {
                Ok(Subject::Text(Cow::Owned(v.to_owned())))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Subject<'de>, E> {
                Ok(Subject::Other)
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Subject<'de>, E> {
                Ok(Subject::Other)
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Subject<'de>, E> {
                Ok(Subject::Other)
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Subject<'de>, E> {
                Ok(Subject::Other)
            }
            fn visit_unit<E: de::Error>(self) -> Result<Subject<'de>, E> {
                Ok(Subject::Other)
            }
            fn visit_seq<A: de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Subject<'de>, A::Error> {
                while seq.next_element::<Skipped>()?.is_some() {}
                Ok(Subject::Other)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Subject<'de>, A::Error> {
                while map.next_entry::<Text<'de>, Skipped>()?.is_some() {}
                Ok(Subject::Other)
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// Clerk v2's compact organization claim; only an object is accepted (no positional arrays), with
/// duplicate members rejected like everywhere else.
#[derive(Default)]
struct OrgClaim<'de> {
    id: Option<Cow<'de, str>>,
    rol: Option<Cow<'de, str>>,
}

/// A JSON NumericDate: an integer, or a finite non-negative number truncated to whole seconds.
struct NumericDate(i64);

impl<'de> Deserialize<'de> for NumericDate {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = NumericDate;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a NumericDate")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<NumericDate, E> {
                Ok(NumericDate(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<NumericDate, E> {
                i64::try_from(v)
                    .map(NumericDate)
                    .map_err(|_| E::custom("NumericDate out of range"))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<NumericDate, E> {
                if v.is_finite() && (0.0..9.0e15).contains(&v) {
                    #[allow(clippy::cast_possible_truncation)]
                    Ok(NumericDate(v.trunc() as i64))
                } else {
                    Err(E::custom("NumericDate out of range"))
                }
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// A JSON string (a member name or a value), borrowed from the input when it has no escapes (the
/// common case), so reading it costs no allocation.
struct Text<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a member name")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(V)
    }
}

/// The member names of one JSON object so far; a second occurrence of any name is an error. Real
/// tokens have a dozen members, checked by a linear scan; past [`Seen::LINEAR`] members the names move
/// to a hash set, so a hostile 8 KiB header cannot make the check quadratic.
struct Seen<'de> {
    names: Vec<Cow<'de, str>>,
    set: Option<HashSet<Cow<'de, str>>>,
}

impl<'de> Seen<'de> {
    const LINEAR: usize = 16;

    fn new() -> Self {
        Seen {
            names: Vec::with_capacity(Self::LINEAR),
            set: None,
        }
    }

    fn first<E: de::Error>(&mut self, name: Cow<'de, str>) -> Result<(), E> {
        let fresh = match &mut self.set {
            Some(set) => set.insert(name),
            None if self.names.len() < Self::LINEAR => {
                let fresh = !self.names.contains(&name);
                self.names.push(name);
                fresh
            }
            None => {
                let mut set: HashSet<Cow<'de, str>> = self.names.drain(..).collect();
                let fresh = set.insert(name);
                self.set = Some(set);
                fresh
            }
        };
        if fresh {
            Ok(())
        } else {
            Err(E::custom(DUPLICATE))
        }
    }
}

/// A JSON value the verifier does not read, parsed as strictly as the members it does: every string
/// is decoded, so an escape no JSON parser can decode (a lone surrogate) is an error, and no object,
/// at any depth, may hold a member twice. (`serde::de::IgnoredAny` would skip strings undecoded: the
/// fuzzer found a header that passed here and that any other JSON parser refuses.)
struct Skipped;

impl<'de> Deserialize<'de> for Skipped {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Skipped;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Skipped, E> {
                Ok(Skipped)
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Skipped, E> {
                Ok(Skipped)
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Skipped, E> {
                Ok(Skipped)
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Skipped, E> {
                Ok(Skipped)
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Skipped, E> {
                Ok(Skipped)
            }
            fn visit_unit<E: de::Error>(self) -> Result<Skipped, E> {
                Ok(Skipped)
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Skipped, A::Error> {
                while seq.next_element::<Skipped>()?.is_some() {}
                Ok(Skipped)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Skipped, A::Error> {
                let mut seen = Seen::new();
                while let Some(Text(key)) = map.next_key::<Text<'de>>()? {
                    seen.first(key)?;
                    map.next_value::<Skipped>()?;
                }
                Ok(Skipped)
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// Implements `Deserialize` for a struct read from a JSON object member by member: `$key` is each member
/// name (rejected on its second occurrence), `$map` the map to read its value from, `$out` the value
/// under construction (starting from `Default`). Members the body does not read must be skipped with
/// [`Skipped`].
macro_rules! deserialize_object {
    ($ty:ty, $expecting:literal, |$key:ident, $map:ident, $out:ident| $body:block) => {
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct ObjectVisitor;
                impl<'de> Visitor<'de> for ObjectVisitor {
                    type Value = $ty;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str($expecting)
                    }
                    fn visit_map<A: MapAccess<'de>>(self, mut $map: A) -> Result<$ty, A::Error> {
                        let mut $out = <$ty>::default();
                        let mut seen = Seen::new();
                        while let Some(Text($key)) = $map.next_key::<Text<'de>>()? {
                            seen.first($key.clone())?;
                            $body
                        }
                        Ok($out)
                    }
                }
                deserializer.deserialize_map(ObjectVisitor)
            }
        }
    };
}

deserialize_object!(RawHeader<'de>, "a JOSE header object", |key, map, out| {
    match key.as_ref() {
        "alg" => out.alg = Some(map.next_value::<Text<'de>>()?.0),
        "typ" => out.typ = Some(map.next_value::<Text<'de>>()?.0),
        "kid" => out.kid = Some(map.next_value::<Text<'de>>()?.0),
        "cat" => out.cat = Some(map.next_value::<Text<'de>>()?.0),
        "crit" => {
            map.next_value::<Skipped>()?;
            out.crit = true;
        }
        _ => {
            map.next_value::<Skipped>()?;
        }
    }
});

deserialize_object!(RawClaims<'de>, "a JWT claims object", |key, map, out| {
    match key.as_ref() {
        "iss" => out.iss = Some(map.next_value::<Text<'de>>()?.0),
        "sub" => out.sub = Some(map.next_value()?),
        "exp" => out.exp = Some(map.next_value::<NumericDate>()?.0),
        "nbf" => out.nbf = Some(map.next_value::<NumericDate>()?.0),
        "iat" => out.iat = Some(map.next_value::<NumericDate>()?.0),
        "azp" => out.azp = Some(map.next_value::<Text<'de>>()?.0),
        "sid" => out.sid = Some(map.next_value::<Text<'de>>()?.0),
        "sts" => out.sts = Some(map.next_value::<Text<'de>>()?.0),
        "v" => out.v = Some(map.next_value()?),
        "o" => out.o = Some(map.next_value()?),
        "org_id" => out.org_id = Some(map.next_value::<Text<'de>>()?.0),
        "org_role" => out.org_role = Some(map.next_value::<Text<'de>>()?.0),
        "client_id" => out.client_id = Some(map.next_value::<Text<'de>>()?.0),
        "jti" => out.jti = Some(map.next_value::<Text<'de>>()?.0),
        "scope" => out.scope = Some(map.next_value::<Text<'de>>()?.0),
        "scp" => out.scp = Some(map.next_value::<StringList<false>>()?.0),
        "aud" => out.aud = Some(map.next_value::<StringList<true>>()?.0),
        _ => {
            map.next_value::<Skipped>()?;
        }
    }
});

deserialize_object!(
    OrgClaim<'de>,
    "an organization claim object",
    |key, map, out| {
        match key.as_ref() {
            "id" => out.id = Some(map.next_value::<Text<'de>>()?.0),
            "rol" => out.rol = Some(map.next_value::<Text<'de>>()?.0),
            _ => {
                map.next_value::<Skipped>()?;
            }
        }
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(json: &str) -> String {
        URL_SAFE_NO_PAD.encode(json)
    }

    #[test]
    fn split_enforces_shape() {
        assert!(split("a.b.c").is_ok());
        assert_eq!(split("a.b").err(), Some(InvalidReason::Malformed));
        assert_eq!(split("a.b.c.d").err(), Some(InvalidReason::Malformed));
        assert_eq!(split("a..c").err(), Some(InvalidReason::Malformed));
        assert_eq!(split("a.b=.c").err(), Some(InvalidReason::Malformed));
        assert_eq!(split("a.b+.c").err(), Some(InvalidReason::Malformed));
        assert_eq!(
            split(&"a".repeat(MAX_TOKEN_BYTES + 1)).err(),
            Some(InvalidReason::TooLarge)
        );
        let parts = split("hh.pp.ss").unwrap();
        assert_eq!(parts.signed, "hh.pp");
    }

    #[test]
    fn header_rules() {
        let ok = |json: &str| parse_header(&b64(json)).map(|h| h.kid);
        assert_eq!(
            ok(r#"{"alg":"RS256","kid":"ins_1","typ":"JWT"}"#),
            Ok("ins_1".into())
        );
        assert_eq!(
            ok(r#"{"alg":"RS256","kid":"k","cat":"cl_B7d4PD111AAA"}"#),
            Ok("k".into())
        );
        assert_eq!(
            ok(r#"{"alg":"RS256","kid":"k","cat":"cl_I7d4PD111III"}"#),
            Ok("k".into())
        );
        assert_eq!(
            ok(r#"{"alg":"none","kid":"k"}"#).err(),
            Some(InvalidReason::UnsupportedAlgorithm)
        );
        assert_eq!(
            ok(r#"{"alg":"RS256","kid":"k","typ":"at+jwt"}"#),
            Ok("k".into())
        );
        let kind = |json: &str| parse_header(&b64(json)).map(|h| h.kind);
        assert_eq!(
            kind(r#"{"alg":"RS256","kid":"k","typ":"application/AT+JWT"}"#),
            Ok(TokenKind::AccessToken)
        );
        assert_eq!(kind(r#"{"alg":"RS256","kid":"k"}"#), Ok(TokenKind::Session));
        assert_eq!(
            kind(r#"{"alg":"RS256","kid":"k","typ":"at+jwt","cat":"cl_B7d4PD111AAA"}"#).err(),
            Some(InvalidReason::SessionAsAccessToken)
        );
        assert_eq!(
            ok(r#"{"alg":"RS256","kid":"k","typ":"id+jwt"}"#).err(),
            Some(InvalidReason::BadType)
        );
        assert_eq!(
            ok(r#"{"alg":"RS256","kid":"k","crit":["exp"]}"#).err(),
            Some(InvalidReason::CriticalHeader)
        );
        assert_eq!(
            ok(r#"{"alg":"RS256","kid":"k","cat":"cl_B7d4PD333AAA"}"#).err(),
            Some(InvalidReason::NotSessionCategory)
        );
        assert_eq!(ok(r#"{"alg":"RS256"}"#).err(), Some(InvalidReason::BadKid));
        assert_eq!(
            ok(r#"{"alg":"RS256","kid":"../../etc/passwd"}"#).err(),
            Some(InvalidReason::BadKid)
        );
        assert_eq!(
            ok(r#"{"alg":"RS256","kid":7}"#).err(),
            Some(InvalidReason::BadHeader)
        );
        assert_eq!(
            ok(r#"{"alg":"RS256","alg":"RS256","kid":"k"}"#).err(),
            Some(InvalidReason::DuplicateMember)
        );
        assert_eq!(
            ok(r#"{"alg":"RS256","kid":"k","x":1,"x":2}"#).err(),
            Some(InvalidReason::DuplicateMember)
        );
        assert_eq!(ok(r#"[1,2]"#).err(), Some(InvalidReason::BadHeader));
        // Members we do not read are parsed as strictly as those we do (found by fuzzing).
        assert_eq!(
            ok(r#"{"alg":"RS256","kid":"k","x":"\ud800"}"#).err(),
            Some(InvalidReason::BadHeader)
        );
        assert_eq!(
            ok(r#"{"alg":"RS256","kid":"k","x":{"a":1,"a":2}}"#).err(),
            Some(InvalidReason::DuplicateMember)
        );
        assert_eq!(
            ok(r#"{"alg":"RS256","kid":"k","x":[{"b":"\u00e9"}],"crit":null}"#).err(),
            Some(InvalidReason::CriticalHeader)
        );
    }

    #[test]
    fn duplicates_are_found_in_large_objects_too() {
        let members: Vec<String> = (0..40).map(|i| format!("\"m{i}\":{i}")).collect();
        let header = format!(r#"{{"alg":"RS256","kid":"k",{}}}"#, members.join(","));
        assert!(parse_header(&b64(&header)).is_ok());
        for late_duplicate in ["m3", "m39", "alg"] {
            let header = format!(
                r#"{{"alg":"RS256","kid":"k",{},"{late_duplicate}":0}}"#,
                members.join(",")
            );
            assert_eq!(
                parse_header(&b64(&header)).err(),
                Some(InvalidReason::DuplicateMember),
                "{late_duplicate}"
            );
        }
        let escaped = r#"{"alg":"RS256","kid":"k","k\u0069d":"x"}"#;
        assert_eq!(
            parse_header(&b64(escaped)).err(),
            Some(InvalidReason::DuplicateMember)
        );
    }

    #[test]
    fn numeric_dates() {
        let parse = |json: &str| serde_json::from_str::<NumericDate>(json).map(|d| d.0);
        assert_eq!(parse("1700000000").unwrap(), 1_700_000_000);
        assert_eq!(parse("1700000000.9").unwrap(), 1_700_000_000);
        assert!(parse("\"1700000000\"").is_err());
        assert!(parse("1e300").is_err());
        assert!(parse("null").is_err());
    }
}
