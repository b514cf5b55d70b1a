//! The caller as the authorizer resolved it, and the codec between it and API Gateway's flat string
//! context. The authorizer encodes a [`Principal`] into `context`; the gateway hands the same keys to
//! route functions in `requestContext.authorizer`, where [`Principal::from_context`] decodes them.
//! Keeping both directions in one type is what makes them agree.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use serde_json::Value;

/// How the caller authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthType {
    /// A Clerk session JWT.
    Session,
    /// A Gatehouse API key.
    ApiKey,
    /// A Clerk OAuth access token (JWT, or opaque `oat_` verified through Clerk's Backend API).
    OAuth,
}

impl AuthType {
    /// The context value.
    pub const fn as_str(self) -> &'static str {
        match self {
            AuthType::Session => "session",
            AuthType::ApiKey => "api_key",
            AuthType::OAuth => "oauth",
        }
    }
}

/// The caller's role, from the user record (`none` when there is no record).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// Signed in, but no user record.
    None,
    /// Reads the packages they are assigned to.
    Signer,
    /// Reads and creates within their memberships.
    Manager,
    /// Reads everything.
    Admin,
}

impl Role {
    /// The stored and context form.
    pub const fn as_str(self) -> &'static str {
        match self {
            Role::None => "none",
            Role::Signer => "signer",
            Role::Manager => "manager",
            Role::Admin => "admin",
        }
    }

    /// Parses the stored and context form.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "none" => Some(Role::None),
            "signer" => Some(Role::Signer),
            "manager" => Some(Role::Manager),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What an API key (or a session) may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scopes {
    /// May read.
    pub read: bool,
    /// May write.
    pub write: bool,
}

impl Scopes {
    /// Both scopes; what sessions and default keys get.
    pub const ALL: Scopes = Scopes {
        read: true,
        write: true,
    };

    /// Parses `read`, `write` items; unknown or empty items are errors.
    pub fn parse_list<'a>(items: impl IntoIterator<Item = &'a str>) -> Option<Self> {
        let mut scopes = Scopes {
            read: false,
            write: false,
        };
        for item in items {
            match item {
                "read" => scopes.read = true,
                "write" => scopes.write = true,
                _ => return None,
            }
        }
        Some(scopes)
    }

    /// The scope names, in canonical order.
    pub fn names(self) -> Vec<&'static str> {
        let mut names = Vec::with_capacity(2);
        if self.read {
            names.push("read");
        }
        if self.write {
            names.push("write");
        }
        names
    }

    /// Comma-separated, as in the context.
    pub const fn as_csv(self) -> &'static str {
        match (self.read, self.write) {
            (true, true) => "read,write",
            (true, false) => "read",
            (false, true) => "write",
            (false, false) => "",
        }
    }
}

/// The organizations, companies and locations a user belongs to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Memberships {
    /// Organization ids.
    pub organization_ids: Vec<String>,
    /// Company ids.
    pub company_ids: Vec<String>,
    /// Location ids.
    pub location_ids: Vec<String>,
}

/// Whether a string may be used as a record id: it travels in comma-separated context values and in
/// store keys, so it is restricted to `[A-Za-z0-9_-]`, 1 to 128 characters.
pub fn is_valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The Clerk user id.
    pub user_id: String,
    /// Session or API key.
    pub auth_type: AuthType,
    /// Role from the user record.
    pub role: Role,
    /// The API key id (`api_key`), or the key a session or OAuth request is scoped to.
    pub key_id: Option<String>,
    /// What the caller may do.
    pub scopes: Scopes,
    /// The Clerk session id (`session`).
    pub session_id: Option<String>,
    /// The OAuth client the token was issued to (`oauth`).
    pub client_id: Option<String>,
    /// The user's memberships.
    pub memberships: Memberships,
    /// The active Clerk organization from the token, if any (`o.id` or `org_id`).
    pub clerk_org_id: Option<String>,
    /// The role in the active Clerk organization (`o.rol` or `org_role`).
    pub clerk_org_role: Option<String>,
    /// The memberships did not fit the context budget and were left out: `memberships` is empty and
    /// routes must load them from the user record (`access::memberships_of`, on the route side).
    pub memberships_omitted: bool,
    /// The first instant (Unix seconds) at which the credential is no longer valid: a session
    /// token's `exp` plus the clock skew, an API key's expiry; `None` for a key that never expires.
    /// Routes refuse the caller from then on, whatever the gateway's cached authorizer answer says
    /// ([`Principal::expiry_rejection`]).
    pub expires_at: Option<i64>,
}

/// Most bytes the three membership lists may take in the authorizer context. API Gateway limits the
/// whole authorizer response; beyond this budget the lists are left out and the context says so.
pub const MEMBERSHIP_CONTEXT_BUDGET: usize = 2048;

/// Context keys, one place.
pub mod keys {
    pub const USER_ID: &str = "userId";
    pub const AUTH_TYPE: &str = "authType";
    pub const ROLE: &str = "role";
    pub const KEY_ID: &str = "keyId";
    pub const SCOPES: &str = "scopes";
    pub const SESSION_ID: &str = "sessionId";
    pub const CLIENT_ID: &str = "clientId";
    pub const ORGANIZATION_IDS: &str = "organizationIds";
    pub const COMPANY_IDS: &str = "companyIds";
    pub const LOCATION_IDS: &str = "locationIds";
    pub const CLERK_ORG_ID: &str = "clerkOrgId";
    pub const CLERK_ORG_ROLE: &str = "clerkOrgRole";
    /// `"true"` when the membership lists were over budget and left out.
    pub const MEMBERSHIPS_OMITTED: &str = "membershipsOmitted";
    /// Unix seconds after which the credential is no longer valid; empty when it never expires.
    pub const EXPIRES_AT: &str = "expiresAt";
}

/// Why a request context could not be decoded into a [`Principal`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContextError {
    #[error("authorizer context is missing {0}")]
    Missing(&'static str),
    #[error("authorizer context has an invalid {0}")]
    Invalid(&'static str),
}

impl Principal {
    /// Encodes into the authorizer's flat string context. Every key is always present (empty when not
    /// applicable) so route functions see a stable shape.
    pub fn to_context(&self) -> crate::policy::Context {
        fn owned(value: &Option<String>) -> Cow<'static, str> {
            value
                .as_ref()
                .map_or(Cow::Borrowed(""), |v| Cow::Owned(v.clone()))
        }
        fn list(ids: &[String]) -> Cow<'static, str> {
            if ids.is_empty() {
                Cow::Borrowed("")
            } else {
                Cow::Owned(ids.join(","))
            }
        }
        let m = &self.memberships;
        let listed = m
            .organization_ids
            .iter()
            .chain(&m.company_ids)
            .chain(&m.location_ids);
        let csv_bytes: usize = listed.map(|id| id.len() + 1).sum();
        let omit = self.memberships_omitted || csv_bytes > MEMBERSHIP_CONTEXT_BUDGET;
        let list = |ids: &[String]| if omit { Cow::Borrowed("") } else { list(ids) };
        let expires_at = match self.expires_at {
            Some(at) => Cow::Owned(at.to_string()),
            None => Cow::Borrowed(""),
        };
        let entries: [(&'static str, Cow<'static, str>); 14] = [
            (keys::USER_ID, Cow::Owned(self.user_id.clone())),
            (keys::AUTH_TYPE, Cow::Borrowed(self.auth_type.as_str())),
            (keys::ROLE, Cow::Borrowed(self.role.as_str())),
            (keys::KEY_ID, owned(&self.key_id)),
            (keys::SCOPES, Cow::Borrowed(self.scopes.as_csv())),
            (keys::SESSION_ID, owned(&self.session_id)),
            (keys::CLIENT_ID, owned(&self.client_id)),
            (
                keys::ORGANIZATION_IDS,
                list(&self.memberships.organization_ids),
            ),
            (keys::COMPANY_IDS, list(&self.memberships.company_ids)),
            (keys::LOCATION_IDS, list(&self.memberships.location_ids)),
            (keys::CLERK_ORG_ID, owned(&self.clerk_org_id)),
            (keys::CLERK_ORG_ROLE, owned(&self.clerk_org_role)),
            (
                keys::MEMBERSHIPS_OMITTED,
                Cow::Borrowed(if omit { "true" } else { "false" }),
            ),
            (keys::EXPIRES_AT, expires_at),
        ];
        entries
            .into_iter()
            .map(|(key, value)| (Cow::Borrowed(key), value))
            .collect()
    }

    /// Decodes `requestContext.authorizer` as API Gateway delivers it to a proxy integration: the
    /// context values (stringified by the gateway) plus gateway-added keys such as `principalId` and
    /// `integrationLatency`, which are ignored.
    pub fn from_context<'a, I>(entries: I) -> Result<Self, ContextError>
    where
        I: IntoIterator<Item = (&'a str, &'a Value)>,
    {
        let mut fields: BTreeMap<&str, &str> = BTreeMap::new();
        for (key, value) in entries {
            if let Value::String(text) = value {
                fields.insert(key, text.as_str());
            }
        }
        let get = |key: &'static str| fields.get(key).copied();
        let required = |key: &'static str| match get(key) {
            Some(value) if !value.is_empty() => Ok(value),
            _ => Err(ContextError::Missing(key)),
        };
        let optional = |key: &'static str| get(key).filter(|v| !v.is_empty()).map(str::to_owned);
        let ids = |key: &'static str| -> Result<Vec<String>, ContextError> {
            match get(key) {
                None | Some("") => Ok(Vec::new()),
                Some(list) => list
                    .split(',')
                    .map(|id| {
                        if is_valid_id(id) {
                            Ok(id.to_owned())
                        } else {
                            Err(ContextError::Invalid(key))
                        }
                    })
                    .collect(),
            }
        };

        let auth_type = match required(keys::AUTH_TYPE)? {
            "session" => AuthType::Session,
            "api_key" => AuthType::ApiKey,
            "oauth" => AuthType::OAuth,
            _ => return Err(ContextError::Invalid(keys::AUTH_TYPE)),
        };
        let role = Role::parse(required(keys::ROLE)?).ok_or(ContextError::Invalid(keys::ROLE))?;
        let scopes = match get(keys::SCOPES) {
            None | Some("") => Scopes {
                read: false,
                write: false,
            },
            Some(list) => {
                Scopes::parse_list(list.split(',')).ok_or(ContextError::Invalid(keys::SCOPES))?
            }
        };
        let key_id = optional(keys::KEY_ID);
        if auth_type == AuthType::ApiKey && key_id.is_none() {
            return Err(ContextError::Missing(keys::KEY_ID));
        }
        let client_id = optional(keys::CLIENT_ID);
        if auth_type == AuthType::OAuth && client_id.is_none() {
            return Err(ContextError::Missing(keys::CLIENT_ID));
        }
        // Always written by the authorizer; a context without it (a route deployed without this
        // authorizer) says nothing about how long the credential lasts, so it is refused. A token
        // always expires; only an API key may have no expiry (the empty value).
        let expires_at = match (get(keys::EXPIRES_AT), auth_type) {
            (None, _) | (Some(""), AuthType::Session | AuthType::OAuth) => {
                return Err(ContextError::Missing(keys::EXPIRES_AT));
            }
            (Some(""), AuthType::ApiKey) => None,
            (Some(text), _) => {
                Some(parse_unix_seconds(text).ok_or(ContextError::Invalid(keys::EXPIRES_AT))?)
            }
        };
        Ok(Principal {
            user_id: required(keys::USER_ID)?.to_owned(),
            auth_type,
            role,
            key_id,
            scopes,
            session_id: optional(keys::SESSION_ID),
            client_id,
            memberships: Memberships {
                organization_ids: ids(keys::ORGANIZATION_IDS)?,
                company_ids: ids(keys::COMPANY_IDS)?,
                location_ids: ids(keys::LOCATION_IDS)?,
            },
            clerk_org_id: optional(keys::CLERK_ORG_ID),
            clerk_org_role: optional(keys::CLERK_ORG_ROLE),
            memberships_omitted: get(keys::MEMBERSHIPS_OMITTED) == Some("true"),
            expires_at,
        })
    }

    /// The 401 the authorizer would give this credential at `now` if it has expired by then (a
    /// session's `token_expired`, a key's `invalid_api_key`), or `None` while it is valid. Expiry is
    /// exclusive, as in the authorizer: the credential is refused from `expires_at` on.
    pub fn expiry_rejection(&self, now: i64) -> Option<crate::error::Rejection> {
        match self.expires_at {
            Some(at) if now >= at => Some(match self.auth_type {
                AuthType::Session | AuthType::OAuth => crate::error::Rejection::TokenExpired,
                AuthType::ApiKey => crate::error::Rejection::InvalidApiKey,
            }),
            _ => None,
        }
    }
}

/// Unix seconds as the context carries them: an optional `-` and 1 to 19 ASCII digits, nothing else
/// (no `+`, no white space, no exponent).
fn parse_unix_seconds(text: &str) -> Option<i64> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    if digits.is_empty() || digits.len() > 19 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> Principal {
        Principal {
            user_id: "user_2abc".into(),
            auth_type: AuthType::ApiKey,
            role: Role::Manager,
            key_id: Some("k_123".into()),
            scopes: Scopes {
                read: true,
                write: false,
            },
            session_id: None,
            client_id: None,
            memberships: Memberships {
                organization_ids: vec!["org_1".into(), "org_2".into()],
                company_ids: vec![],
                location_ids: vec!["loc_9".into()],
            },
            clerk_org_id: None,
            clerk_org_role: None,
            memberships_omitted: false,
            expires_at: None,
        }
    }

    /// What the gateway does: context values become JSON strings, plus its own keys.
    fn as_gateway_delivers(context: &crate::policy::Context) -> serde_json::Map<String, Value> {
        let mut map: serde_json::Map<String, Value> = context
            .iter()
            .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
            .collect();
        map.insert("principalId".into(), json!("user_2abc"));
        map.insert("integrationLatency".into(), json!(12));
        map
    }

    #[test]
    fn round_trips_through_the_gateway_shape() {
        for principal in [
            sample(),
            Principal {
                auth_type: AuthType::Session,
                key_id: None,
                session_id: Some("sess_1".into()),
                client_id: None,
                scopes: Scopes::ALL,
                role: Role::None,
                memberships: Memberships::default(),
                clerk_org_id: Some("org_x".into()),
                clerk_org_role: Some("org:admin".into()),
                expires_at: Some(1_700_000_005),
                ..sample()
            },
        ] {
            let delivered = as_gateway_delivers(&principal.to_context());
            let decoded =
                Principal::from_context(delivered.iter().map(|(k, v)| (k.as_str(), v))).unwrap();
            assert_eq!(decoded, principal);
        }
    }

    #[test]
    fn context_values_are_flat_strings_with_stable_keys() {
        let context = sample().to_context();
        assert_eq!(context["scopes"], "read");
        assert_eq!(context["organizationIds"], "org_1,org_2");
        assert_eq!(context["companyIds"], "");
        assert_eq!(context["authType"], "api_key");
        assert_eq!(context["membershipsOmitted"], "false");
        assert_eq!(context["expiresAt"], "");
        assert_eq!(context["clientId"], "");
        assert_eq!(context.len(), 14);
    }

    #[test]
    fn memberships_over_the_budget_are_left_out_and_flagged() {
        let mut big = sample();
        big.memberships.location_ids = (0..500).map(|i| format!("loc_{i:05}")).collect();
        let context = big.to_context();
        assert!(context.values().map(|v| v.len()).sum::<usize>() < MEMBERSHIP_CONTEXT_BUDGET);
        assert_eq!(context["locationIds"], "");
        assert_eq!(context["organizationIds"], "");
        assert_eq!(context["membershipsOmitted"], "true");
        let delivered = as_gateway_delivers(&context);
        let decoded =
            Principal::from_context(delivered.iter().map(|(k, v)| (k.as_str(), v))).unwrap();
        assert!(decoded.memberships_omitted);
        assert_eq!(decoded.memberships, Memberships::default());
        // Just under the budget still travels inline.
        let mut fits = sample();
        fits.memberships = Memberships::default();
        fits.memberships.location_ids = (0..200).map(|i| format!("loc_{i:05}")).collect();
        assert_eq!(fits.to_context()["membershipsOmitted"], "false");
    }

    #[test]
    fn rejects_contexts_it_did_not_write() {
        let decode = |value: Value| {
            let map = value.as_object().unwrap().clone();
            Principal::from_context(map.iter().map(|(k, v)| (k.as_str(), v)))
        };
        assert_eq!(decode(json!({})), Err(ContextError::Missing("authType")));
        assert_eq!(
            decode(json!({"authType": "magic", "role": "admin", "userId": "u"})),
            Err(ContextError::Invalid("authType"))
        );
        assert_eq!(
            decode(json!({"authType": "session", "role": "root", "userId": "u"})),
            Err(ContextError::Invalid("role"))
        );
        assert_eq!(
            decode(json!({"authType": "api_key", "role": "admin", "userId": "u"})),
            Err(ContextError::Missing("keyId"))
        );
        assert_eq!(
            decode(
                json!({"authType": "session", "role": "admin", "userId": "u", "expiresAt": "100", "locationIds": "a,,b"})
            ),
            Err(ContextError::Invalid("locationIds"))
        );
        assert_eq!(
            decode(
                json!({"authType": "session", "role": "admin", "userId": "u", "scopes": "read,admin"})
            ),
            Err(ContextError::Invalid("scopes"))
        );
        // expiresAt: always present; a session's is a number; a key's may be empty (never expires).
        let session = |expires: Option<&str>| {
            let mut context = json!({"authType": "session", "role": "admin", "userId": "u"});
            if let Some(expires) = expires {
                context["expiresAt"] = json!(expires);
            }
            decode(context)
        };
        assert_eq!(session(None), Err(ContextError::Missing("expiresAt")));
        assert_eq!(session(Some("")), Err(ContextError::Missing("expiresAt")));
        for bad in [
            "soon",
            "+5",
            " 5",
            "5 ",
            "1e9",
            "0x10",
            "99999999999999999999",
            "-",
        ] {
            assert_eq!(
                session(Some(bad)),
                Err(ContextError::Invalid("expiresAt")),
                "{bad}"
            );
        }
        assert_eq!(
            session(Some("1700000000")).unwrap().expires_at,
            Some(1_700_000_000)
        );
        let key =
            decode(json!({"authType": "api_key", "role": "admin", "userId": "u", "keyId": "k_1"}));
        assert_eq!(key, Err(ContextError::Missing("expiresAt")));
        let key = decode(
            json!({"authType": "api_key", "role": "admin", "userId": "u", "keyId": "k_1", "expiresAt": ""}),
        );
        assert_eq!(key.unwrap().expires_at, None);
    }

    #[test]
    fn an_expired_credential_gets_the_authorizers_rejection() {
        use crate::error::Rejection;
        let session = Principal {
            auth_type: AuthType::Session,
            key_id: None,
            expires_at: Some(1_000),
            ..sample()
        };
        assert_eq!(session.expiry_rejection(999), None);
        assert_eq!(
            session.expiry_rejection(1_000),
            Some(Rejection::TokenExpired)
        );
        let key = Principal {
            expires_at: Some(1_000),
            ..sample()
        };
        assert_eq!(key.expiry_rejection(1_000), Some(Rejection::InvalidApiKey));
        let forever = sample();
        assert_eq!(forever.expiry_rejection(i64::MAX), None);
    }

    #[test]
    fn ids_are_restricted() {
        assert!(is_valid_id("org_1-A"));
        assert!(!is_valid_id(""));
        assert!(!is_valid_id("a,b"));
        assert!(!is_valid_id("a b"));
        assert!(!is_valid_id(&"a".repeat(129)));
    }
}
