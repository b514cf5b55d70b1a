//! Self-service API keys and `GET /v1/me` (README "Routes" and "API keys"): the logic behind the
//! key-management routes and the `gatehouse keys` commands, so both behave identically.
//!
//! - A new key's plaintext exists only in the value [`KeyService::create_key`] returns; the store gets
//!   its peppered hash and display tail.
//! - The active-key limit is enforced by the store, atomically ([`KeyStore::create_api_key`]).
//! - `X-Use-Api-Key` is resolved here, per request, with one strongly consistent read of the caller's
//!   active-key set, and never by the authorizer: API Gateway caches the authorizer's answer by the
//!   `Authorization` header alone, so anything derived from another header there would leak between
//!   requests that share a token. The key a request is scoped to is therefore never stale.

use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;

use crate::api::{self, ApiError, ApiResponse};
use crate::apikey::{self, ApiKeyPrefix, Pepper};
use crate::clock::{Clock, SystemClock};
use crate::coldstart::{InitError, dynamodb_client, load_pepper};
use crate::config::{PepperSource, RouteConfig, process_env};
use crate::principal::{AuthType, Principal, Scopes, is_valid_id};
use crate::store::dynamo::DynamoStore;
use crate::store::{ActiveKeyRef, ApiKeyRecord, CreateKeyError, KeyStore, MAX_ACTIVE_KEYS};
use crate::time::rfc3339;
use lambda_http::Request;

/// The request header that picks the key a session request is scoped to.
pub const USE_API_KEY_HEADER: &str = "x-use-api-key";
/// Longest key name, in characters.
pub const MAX_NAME_CHARS: usize = 64;
/// Longest expiry, in days (ten years).
pub const MAX_EXPIRES_IN_DAYS: u32 = 3650;
/// Most items in a create request's `scopes` (there are two scopes).
pub const MAX_SCOPES: usize = 2;

/// The body of `POST /v1/me/keys` (and the `gatehouse keys create` flags), before validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateKeyRequest {
    /// 1 to 64 printable characters.
    pub name: String,
    /// `read` and/or `write`; `None` means both.
    pub scopes: Option<Vec<String>>,
    /// Days until the key expires; `None` means never.
    pub expires_in_days: Option<u32>,
    /// Seconds until the key expires, for short-lived keys made by an operator (`gatehouse keys
    /// create --expires-in-secs`); the JSON body has no such field. At most one of the two is set.
    pub expires_in_secs: Option<u32>,
}

impl CreateKeyRequest {
    /// Parses the JSON body, saying precisely what is wrong when it can't.
    pub fn from_json(body: &str) -> Result<Self, ApiError> {
        let bad = |message: &str| ApiError::BadRequest(message.to_owned());
        if body.trim().is_empty() {
            return Err(bad(
                "request body must be a JSON object with at least a name",
            ));
        }
        let value: Value =
            serde_json::from_str(body).map_err(|_| bad("request body is not valid JSON"))?;
        let Value::Object(fields) = value else {
            return Err(bad("request body must be a JSON object"));
        };
        for key in fields.keys() {
            if !matches!(key.as_str(), "name" | "scopes" | "expiresInDays") {
                return Err(ApiError::BadRequest(format!(
                    "unknown field {}; expected name, scopes, expiresInDays",
                    quoted(key)
                )));
            }
        }
        let name = match fields.get("name") {
            None | Some(Value::Null) => return Err(bad("name is required")),
            Some(Value::String(name)) => name.clone(),
            Some(_) => return Err(bad("name must be a string")),
        };
        let scopes = match fields.get("scopes") {
            None | Some(Value::Null) => None,
            // Bounded before anything is copied: there are only two scopes to name.
            Some(Value::Array(items)) if items.len() > MAX_SCOPES => {
                return Err(ApiError::BadRequest(format!(
                    "scopes must name at most {MAX_SCOPES} scopes (read, write)"
                )));
            }
            Some(Value::Array(items)) => Some(
                items
                    .iter()
                    .map(|item| match item {
                        Value::String(scope) => Ok(scope.clone()),
                        _ => Err(bad("scopes must be an array of strings")),
                    })
                    .collect::<Result<Vec<_>, _>>()?,
            ),
            Some(_) => return Err(bad("scopes must be an array of strings")),
        };
        let expires_in_days = match fields.get("expiresInDays") {
            None | Some(Value::Null) => None,
            Some(Value::Number(days)) => Some(whole_days(days).ok_or_else(|| bad(EXPIRY_PROBLEM))?),
            Some(_) => return Err(bad(EXPIRY_PROBLEM)),
        };
        Ok(CreateKeyRequest {
            name,
            scopes,
            expires_in_days,
            expires_in_secs: None,
        })
    }

    /// Checks every field; the validated name, scopes and expiry in seconds.
    pub(crate) fn validate(self) -> Result<(String, Scopes, Option<i64>), ApiError> {
        match crate::text::check_display_text(&self.name, MAX_NAME_CHARS) {
            Ok(()) => {}
            Err(crate::text::TextProblem::Blank) => {
                return Err(ApiError::BadRequest("name must not be blank".into()));
            }
            Err(crate::text::TextProblem::Length | crate::text::TextProblem::Unprintable) => {
                return Err(ApiError::BadRequest(format!(
                    "name must be 1 to {MAX_NAME_CHARS} printable characters"
                )));
            }
        }
        let scopes = match &self.scopes {
            None => Scopes::ALL,
            Some(items) if items.is_empty() => {
                return Err(ApiError::BadRequest(
                    "scopes must not be empty; use read, write or both".into(),
                ));
            }
            Some(items) => {
                if let Some(unknown) = items
                    .iter()
                    .find(|s| !matches!(s.as_str(), "read" | "write"))
                {
                    return Err(ApiError::BadRequest(format!(
                        "unknown scope {}; expected read or write",
                        quoted(unknown)
                    )));
                }
                Scopes::parse_list(items.iter().map(String::as_str))
                    .ok_or_else(|| ApiError::BadRequest("invalid scopes".into()))?
            }
        };
        let expires_in = match (self.expires_in_days, self.expires_in_secs) {
            (None, None) => None,
            (Some(days), None) if (1..=MAX_EXPIRES_IN_DAYS).contains(&days) => {
                Some(i64::from(days) * 86_400)
            }
            (None, Some(secs)) if (1..=MAX_EXPIRES_IN_DAYS * 86_400).contains(&secs) => {
                Some(i64::from(secs))
            }
            (Some(_), Some(_)) => {
                return Err(ApiError::BadRequest(
                    "give the expiry in days or in seconds, not both".into(),
                ));
            }
            (_, None) => return Err(ApiError::BadRequest(EXPIRY_PROBLEM.into())),
            (None, Some(_)) => {
                return Err(ApiError::BadRequest(format!(
                    "expiresInSecs must be a whole number from 1 to {}",
                    MAX_EXPIRES_IN_DAYS * 86_400
                )));
            }
        };
        Ok((self.name, scopes, expires_in))
    }
}

/// A JSON number that is a whole number of days: `30` and `30.0` alike (JSON does not tell them apart,
/// and generated clients send either); `1.5`, negatives and anything past `u32` are not.
fn whole_days(days: &serde_json::Number) -> Option<u32> {
    if let Some(whole) = days.as_u64() {
        return u32::try_from(whole).ok();
    }
    let float = days.as_f64()?;
    if float.fract() != 0.0 || !(0.0..=f64::from(u32::MAX)).contains(&float) {
        return None;
    }
    // Whole and within u32: the conversion is exact.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    Some(float as u32)
}

const EXPIRY_PROBLEM: &str = "expiresInDays must be a whole number from 1 to 3650";

/// A user-supplied string for an error message: JSON-quoted and cut short.
fn quoted(text: &str) -> String {
    let short: String = text.chars().take(32).collect();
    serde_json::to_string(&short).unwrap_or_default()
}

/// A key's metadata as the API shows it: never the plaintext, never the hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyView {
    /// `k_…`.
    pub id: String,
    /// Owner-chosen name.
    pub name: String,
    /// Whether the key authenticates now: not revoked and not expired.
    pub active: bool,
    /// RFC 3339.
    pub created_at: String,
    /// Last four characters of the key.
    pub tail: String,
    /// `read`, `write`.
    pub scopes: Vec<&'static str>,
    /// RFC 3339, or null for a key that never expires.
    pub expires_at: Option<String>,
    /// RFC 3339 (approximate, see the README), or null.
    pub last_used_at: Option<String>,
}

impl KeyView {
    fn of(record: &ApiKeyRecord, now: i64) -> Self {
        KeyView {
            id: record.key_id.clone(),
            name: record.name.clone(),
            active: record.is_usable_at(now),
            created_at: rfc3339(record.created_at),
            tail: record.tail.clone(),
            scopes: record.scopes.names(),
            expires_at: record.expires_at.map(rfc3339),
            last_used_at: record.last_used_at.map(rfc3339),
        }
    }
}

/// The answer to a create: the metadata plus the plaintext key, shown this once.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct CreatedKey {
    /// The metadata.
    #[serde(flatten)]
    pub metadata: KeyView,
    /// The plaintext key. It is not stored anywhere.
    pub key: String,
}

impl std::fmt::Debug for CreatedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedKey")
            .field("metadata", &self.metadata)
            .field("key", &"<redacted>")
            .finish()
    }
}

/// `GET /v1/me`: the caller as the authorizer resolved it, with the key the request is scoped to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MeView {
    /// Clerk user id.
    pub user_id: String,
    /// `session` or `api_key`.
    pub auth_type: &'static str,
    /// `signer`, `manager`, `admin` or `none`.
    pub role: &'static str,
    /// The API key (for `api_key`), or the key a session request is scoped to; null when none.
    pub key_id: Option<String>,
    /// What the request may do.
    pub scopes: Vec<&'static str>,
    /// The Clerk session id (sessions only).
    pub session_id: Option<String>,
    /// The OAuth client (OAuth access tokens only).
    pub client_id: Option<String>,
    /// Memberships.
    pub memberships: MembershipsView,
}

/// Membership id lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MembershipsView {
    /// Organization ids.
    pub organization_ids: Vec<String>,
    /// Company ids.
    pub company_ids: Vec<String>,
    /// Location ids.
    pub location_ids: Vec<String>,
}

/// The key-management logic over a store.
pub struct KeyService<S> {
    store: S,
    prefix: ApiKeyPrefix,
    pepper: Option<Pepper>,
    clock: Arc<dyn Clock>,
}

impl<S> std::fmt::Debug for KeyService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyService")
            .field("prefix", &self.prefix)
            .field("pepper", &self.pepper.as_ref().map(|_| "<set>"))
            .finish()
    }
}

impl KeyService<DynamoStore> {
    /// Cold start of a route function: reads [`RouteConfig`] from the process environment (the pepper
    /// only when `needs_pepper`) and the AWS SDK's default chain.
    pub async fn from_env(needs_pepper: bool) -> Result<Self, InitError> {
        let config = RouteConfig::from_env(&process_env(), needs_pepper)?;
        let sdk = crate::coldstart::sdk_config().await;
        Self::from_config(config, &sdk).await
    }

    /// Builds the service from parsed configuration and an SDK configuration.
    pub async fn from_config(
        config: RouteConfig,
        sdk: &aws_config::SdkConfig,
    ) -> Result<Self, InitError> {
        let pepper = match &config.pepper {
            None => None,
            Some(source) => {
                let secrets = matches!(source, PepperSource::SecretId(_))
                    .then(|| aws_sdk_secretsmanager::Client::new(sdk));
                Some(load_pepper(source, secrets.as_ref()).await?)
            }
        };
        let store = DynamoStore::new(dynamodb_client(sdk), config.table_name);
        Ok(Self::from_parts(
            store,
            config.api_key_prefix,
            pepper,
            Arc::new(SystemClock),
        ))
    }
}

impl<S: KeyStore> KeyService<S> {
    /// Assembles the service. `pepper` is needed only to create keys.
    pub fn from_parts(
        store: S,
        prefix: ApiKeyPrefix,
        pepper: Option<Pepper>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        KeyService {
            store,
            prefix,
            pepper,
            clock,
        }
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Creates a key for `user_id`.
    pub async fn create_key(
        &self,
        user_id: &str,
        request: CreateKeyRequest,
    ) -> Result<CreatedKey, ApiError> {
        let (name, scopes, expires_in) = request.validate()?;
        let pepper = self.pepper.as_ref().ok_or(ApiError::NoPepper)?;
        // A clash of a fresh 190-bit key or 131-bit id with an existing one means a broken random
        // generator; one retry distinguishes that from bad luck, then we give up.
        for _ in 0..2 {
            let now = self.clock.now_unix();
            let key = apikey::generate(&self.prefix).map_err(|_| ApiError::Random)?;
            let record = ApiKeyRecord {
                key_id: apikey::generate_key_id().map_err(|_| ApiError::Random)?,
                user_id: user_id.to_owned(),
                key_hash: pepper.hash(key.reveal()),
                name: name.clone(),
                scopes,
                active: true,
                created_at: now,
                expires_at: expires_in.map(|secs| now.saturating_add(secs)),
                tail: key.tail(),
                last_used_at: None,
                revoked_at: None,
            };
            match self
                .store
                .create_api_key(&record, MAX_ACTIVE_KEYS, now)
                .await
            {
                Ok(()) => {
                    tracing::info!(user_id, key_id = %record.key_id, "api key created");
                    return Ok(CreatedKey {
                        metadata: KeyView::of(&record, now),
                        key: key.reveal().to_owned(),
                    });
                }
                Err(CreateKeyError::LimitReached) => return Err(ApiError::KeyLimitReached),
                Err(CreateKeyError::Conflict) => continue,
                Err(CreateKeyError::Store(error)) => return Err(error.into()),
            }
        }
        Err(ApiError::Random)
    }

    /// The user's keys, newest first.
    pub async fn list_keys(&self, user_id: &str) -> Result<Vec<KeyView>, ApiError> {
        let now = self.clock.now_unix();
        let records = self.store.api_keys_of(user_id).await?;
        Ok(records.iter().map(|r| KeyView::of(r, now)).collect())
    }

    /// One of the user's keys (active or revoked); someone else's key is not found, as one that does
    /// not exist.
    pub async fn get_key(&self, user_id: &str, key_id: &str) -> Result<KeyView, ApiError> {
        if !is_key_id(key_id) {
            return Err(ApiError::NotFound("api key"));
        }
        match self.store.api_key_by_id(key_id).await? {
            Some(record) if record.user_id == user_id => {
                Ok(KeyView::of(&record, self.clock.now_unix()))
            }
            _ => Err(ApiError::NotFound("api key")),
        }
    }

    /// Revokes one of the user's keys; repeating it is harmless; someone else's key is not found.
    pub async fn revoke_key(&self, user_id: &str, key_id: &str) -> Result<KeyView, ApiError> {
        if !is_key_id(key_id) {
            return Err(ApiError::NotFound("api key"));
        }
        let now = self.clock.now_unix();
        match self.store.revoke_api_key(user_id, key_id, now).await? {
            Some(record) => {
                tracing::info!(user_id, key_id, "api key revoked");
                Ok(KeyView::of(&record, now))
            }
            None => Err(ApiError::NotFound("api key")),
        }
    }

    /// The principal a request acts as, scoped to a key: an API-key caller is already its key; a
    /// session is scoped to the key named by `X-Use-Api-Key` if it is the caller's and usable (and
    /// then acts with that key's scopes), otherwise to the caller's oldest usable key (its id only);
    /// a session without a usable key is unchanged. An OAuth caller acts as the user's default key
    /// (the oldest usable one; `X-Use-Api-Key` is ignored): attributed to it, with its scopes
    /// narrowed further by the token's; with no usable key, the token's scopes alone apply (README,
    /// "OAuth access tokens and MCP"). One strongly consistent read, per request.
    pub async fn scoped(
        &self,
        mut principal: Principal,
        use_api_key: Option<&str>,
    ) -> Result<Principal, ApiError> {
        if principal.auth_type == AuthType::ApiKey {
            return Ok(principal);
        }
        let now = self.clock.now_unix();
        let keys = self.store.active_keys_of(&principal.user_id).await?;
        if principal.auth_type == AuthType::OAuth {
            if let Some(key) = choose_scoped_key(&keys, None, now) {
                principal.scopes = Scopes {
                    read: principal.scopes.read && key.scopes.read,
                    write: principal.scopes.write && key.scopes.write,
                };
                principal.key_id = Some(key.key_id.clone());
            }
            return Ok(principal);
        }
        let wanted = use_api_key.map(str::trim);
        if let Some(key) = choose_scoped_key(&keys, use_api_key, now) {
            // Naming a key is asking to act as it: its scopes apply. The silent default (the oldest
            // key) only attributes the request; narrowing there would make a user's browser session
            // read-only the day they create a read-only key for a script.
            if wanted == Some(key.key_id.as_str()) {
                principal.scopes = key.scopes;
            }
            principal.key_id = Some(key.key_id.clone());
        }
        Ok(principal)
    }

    /// `GET /v1/me`.
    pub async fn me(
        &self,
        principal: Principal,
        use_api_key: Option<&str>,
    ) -> Result<MeView, ApiError> {
        let principal = self.scoped(principal, use_api_key).await?;
        let memberships = crate::access::memberships_of(&principal, &self.store).await?;
        Ok(MeView {
            user_id: principal.user_id,
            auth_type: principal.auth_type.as_str(),
            role: principal.role.as_str(),
            key_id: principal.key_id,
            scopes: principal.scopes.names(),
            session_id: principal.session_id,
            client_id: principal.client_id,
            memberships: MembershipsView {
                organization_ids: memberships.organization_ids,
                company_ids: memberships.company_ids,
                location_ids: memberships.location_ids,
            },
        })
    }
}

/// Whether `id` looks like a key id (`k_` and an id-safe rest).
fn is_key_id(id: &str) -> bool {
    id.starts_with("k_") && is_valid_id(id)
}

/// The pure part of [`KeyService::scoped`]: `keys` is oldest first; `wanted` is the header as sent
/// (surrounding whitespace is not part of a header's value, RFC 9110 section 5.5).
pub(crate) fn choose_scoped_key<'k>(
    keys: &'k [ActiveKeyRef],
    wanted: Option<&str>,
    now: i64,
) -> Option<&'k ActiveKeyRef> {
    let named = wanted
        .map(str::trim)
        .filter(|w| is_key_id(w))
        .and_then(|w| keys.iter().find(|k| k.key_id == w && k.is_usable_at(now)));
    named.or_else(|| keys.iter().find(|k| k.is_usable_at(now)))
}

/// The handlers' common shape: decode the caller (which must be a signed-in user for the key routes),
/// run the route, render the outcome.
pub mod routes {

    use super::*;

    /// `POST /v1/me/keys`.
    pub async fn create<S: KeyStore>(service: &KeyService<S>, request: &Request) -> ApiResponse {
        api::respond(
            async {
                let user = api::signed_in_user(request, service.clock.now_unix())?;
                let body = CreateKeyRequest::from_json(&api::body_text(request)?)?;
                Ok((201, service.create_key(&user.user_id, body).await?))
            }
            .await,
        )
    }

    /// `GET /v1/me/keys`.
    pub async fn list<S: KeyStore>(service: &KeyService<S>, request: &Request) -> ApiResponse {
        #[derive(Serialize)]
        struct Keys {
            keys: Vec<KeyView>,
        }
        api::respond(
            async {
                let user = api::signed_in_user(request, service.clock.now_unix())?;
                let keys = service.list_keys(&user.user_id).await?;
                Ok((200, Keys { keys }))
            }
            .await,
        )
    }

    /// `GET /v1/me/keys/{id}`.
    pub async fn get<S: KeyStore>(service: &KeyService<S>, request: &Request) -> ApiResponse {
        api::respond(
            async {
                let user = api::signed_in_user(request, service.clock.now_unix())?;
                let key_id = api::path_parameter(request, "id").unwrap_or_default();
                Ok((200, service.get_key(&user.user_id, key_id).await?))
            }
            .await,
        )
    }

    /// `DELETE /v1/me/keys/{id}`.
    pub async fn revoke<S: KeyStore>(service: &KeyService<S>, request: &Request) -> ApiResponse {
        api::respond(
            async {
                let user = api::signed_in_user(request, service.clock.now_unix())?;
                let key_id = api::path_parameter(request, "id").unwrap_or_default();
                Ok((200, service.revoke_key(&user.user_id, key_id).await?))
            }
            .await,
        )
    }

    /// `GET /v1/me`.
    pub async fn me<S: KeyStore>(service: &KeyService<S>, request: &Request) -> ApiResponse {
        api::respond(
            async {
                let principal = api::principal_of(request, service.clock.now_unix())?;
                let wanted = api::header(request, USE_API_KEY_HEADER);
                Ok((200, service.me(principal, wanted).await?))
            }
            .await,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key_ref(id: &str, created_at: i64, expires_at: Option<i64>) -> ActiveKeyRef {
        ActiveKeyRef {
            key_id: id.into(),
            created_at,
            expires_at,
            scopes: Scopes::ALL,
        }
    }

    #[test]
    fn scoped_key_prefers_the_named_usable_key_then_the_oldest() {
        let keys = [
            key_ref("k_expired", 1, Some(50)),
            key_ref("k_old", 2, None),
            key_ref("k_new", 3, Some(1000)),
        ];
        let chosen = |wanted, now| choose_scoped_key(&keys, wanted, now).map(|k| k.key_id.as_str());
        assert_eq!(chosen(Some("k_new"), 100), Some("k_new"));
        assert_eq!(chosen(None, 100), Some("k_old"));
        assert_eq!(chosen(Some("k_other"), 100), Some("k_old"));
        assert_eq!(chosen(Some("k_expired"), 100), Some("k_old"));
        assert_eq!(chosen(Some("not a key"), 100), Some("k_old"));
        // Found by the use_api_key fuzzer: the header's surrounding whitespace is not its value.
        assert_eq!(chosen(Some(" k_new\t"), 100), Some("k_new"));
        assert_eq!(chosen(None, 10), Some("k_expired"));
        assert_eq!(choose_scoped_key(&[], Some("k_new"), 100), None);
    }

    fn parse(body: &str) -> Result<(String, Scopes, Option<i64>), String> {
        CreateKeyRequest::from_json(body)
            .and_then(CreateKeyRequest::validate)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn operator_keys_may_expire_in_seconds_but_not_in_both_units() {
        let request = |days: Option<u32>, secs: Option<u32>| CreateKeyRequest {
            name: "ci".into(),
            scopes: None,
            expires_in_days: days,
            expires_in_secs: secs,
        };
        assert_eq!(request(None, Some(3)).validate().unwrap().2, Some(3));
        assert_eq!(
            request(None, Some(3650 * 86_400)).validate().unwrap().2,
            Some(3650 * 86_400)
        );
        for (days, secs) in [
            (None, Some(0)),
            (None, Some(3650 * 86_400 + 1)),
            (Some(1), Some(1)),
        ] {
            assert!(request(days, secs).validate().is_err(), "{days:?} {secs:?}");
        }
        // The JSON body never sets it.
        assert!(parse(r#"{"name":"ci","expiresInSecs":3}"#).is_err());
    }

    #[test]
    fn create_bodies_are_validated_with_precise_messages() {
        assert_eq!(
            parse(r#"{"name":"ci"}"#).unwrap(),
            ("ci".into(), Scopes::ALL, None)
        );
        assert_eq!(
            parse(r#"{"name":"ci","scopes":["read"],"expiresInDays":30}"#).unwrap(),
            (
                "ci".into(),
                Scopes {
                    read: true,
                    write: false
                },
                Some(30 * 86_400)
            )
        );
        // A whole number written as a float is the same number of days.
        assert_eq!(
            parse(r#"{"name":"ci","scopes":["read"],"expiresInDays":30.0}"#).unwrap(),
            parse(r#"{"name":"ci","scopes":["read"],"expiresInDays":30}"#).unwrap(),
        );
        let cases = [
            (
                "",
                "request body must be a JSON object with at least a name",
            ),
            ("{", "request body is not valid JSON"),
            ("[]", "request body must be a JSON object"),
            ("{}", "name is required"),
            (r#"{"name":1}"#, "name must be a string"),
            (
                r#"{"name":""}"#,
                "name must be 1 to 64 printable characters",
            ),
            (r#"{"name":"   "}"#, "name must not be blank"),
            (
                r#"{"name":"a\nb"}"#,
                "name must be 1 to 64 printable characters",
            ),
            (
                "{\"name\":\"evil\u{202E}txt\"}",
                "name must be 1 to 64 printable characters",
            ),
            (
                &format!(r#"{{"name":"{}"}}"#, "x".repeat(65)),
                "name must be 1 to 64 printable characters",
            ),
            (
                r#"{"name":"a","scopes":"read"}"#,
                "scopes must be an array of strings",
            ),
            (
                r#"{"name":"a","scopes":[]}"#,
                "scopes must not be empty; use read, write or both",
            ),
            (
                r#"{"name":"a","scopes":["read","write","read"]}"#,
                "scopes must name at most 2 scopes (read, write)",
            ),
            (
                r#"{"name":"a","scopes":["admin"]}"#,
                r#"unknown scope "admin"; expected read or write"#,
            ),
            (r#"{"name":"a","expiresInDays":0}"#, EXPIRY_PROBLEM),
            (r#"{"name":"a","expiresInDays":1.5}"#, EXPIRY_PROBLEM),
            (r#"{"name":"a","expiresInDays":0.0}"#, EXPIRY_PROBLEM),
            (r#"{"name":"a","expiresInDays":3651.0}"#, EXPIRY_PROBLEM),
            (r#"{"name":"a","expiresInDays":1e300}"#, EXPIRY_PROBLEM),
            (r#"{"name":"a","expiresInDays":-1}"#, EXPIRY_PROBLEM),
            (r#"{"name":"a","expiresInDays":3651}"#, EXPIRY_PROBLEM),
            (r#"{"name":"a","expiresInDays":"30"}"#, EXPIRY_PROBLEM),
            (
                r#"{"name":"a","owner":"x"}"#,
                r#"unknown field "owner"; expected name, scopes, expiresInDays"#,
            ),
        ];
        for (body, message) in cases {
            assert_eq!(parse(body).unwrap_err(), message, "body {body}");
        }
        let names: String = "é".repeat(64);
        assert!(parse(&format!(r#"{{"name":"{names}"}}"#)).is_ok());
    }
}
