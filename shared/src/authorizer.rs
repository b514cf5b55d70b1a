//! The authorizer's decision: from an API Gateway REQUEST event (REST API, or HTTP API payload 1.0 or
//! 2.0; see [`crate::authorizer_event`]) to an Allow, a refusal or a function error (README, "How a
//! request is decided" and "Authorizer output"). It owns everything built once per container (config, SDK clients, the
//! pepper, the key cache) and is generic over the store so the same code runs against DynamoDB in
//! Lambda and in `gatehouse serve`, and against memory in unit tests and benchmarks.
//!
//! Fail closed: an Allow is only ever built from a [`Principal`] that passed every check; every
//! dependency failure is an [`Unavailable`] error, which becomes a function error (500), never an
//! Allow and never a Deny the gateway would cache against a valid caller.

use std::sync::Arc;
use std::time::Instant;

use crate::apikey::{self, ApiKeyPrefix, KeyHash, Pepper};
use crate::authorizer_event::{AuthorizerAnswer, AuthorizerEvent, GatewayFacts};
use crate::bearer::{self, Credential};
use crate::clock::{Clock, SystemClock};
use crate::coldstart::{InitError, dynamodb_client, load_pepper};
use crate::config::{AuthorizerConfig, ClerkKeyConfig, PepperSource};
use crate::error::{Rejection, Unavailable};
use crate::jwt::{ClerkVerifier, VerifiedToken, VerifierSettings, VerifyError};
pub use crate::keys::http_client;
use crate::keys::{IssuerKeys, KeyCacheOptions, KeySource};
use crate::opaque_tokens::{OpaqueError, OpaqueTokens};

use crate::policy::{self, HttpApiRefusals, MethodArn};
use crate::principal::{AuthType, Memberships, Principal, Role, Scopes};
use crate::secrets::{self, SecretError};
use crate::store::dynamo::DynamoStore;
use crate::store::{AuthStore, LAST_USED_INTERVAL_SECS, UserRecord};

/// An allow or a deny. (Outages are the `Err` side of [`Authorizer::decide`].)
#[derive(Debug, Clone, PartialEq, Eq)]
#[expect(
    clippy::large_enum_variant,
    reason = "one Decision per request, returned by value and never held in bulk; boxing the \
              Principal would add an allocation to every Allow"
)]
pub enum Decision {
    /// Authenticated.
    Allow(Principal),
    /// Not authenticated.
    Deny(Rejection),
}

/// What a decision log line carries beyond the outcome. Never a token, key or header value.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct DecisionFacts {
    /// `session` or `api_key`, once the token was classified.
    pub auth_type: Option<AuthType>,
    /// The user, once known.
    pub user_id: Option<String>,
    /// The API key id, once known.
    pub key_id: Option<String>,
    /// The JWT's kid, once read.
    pub kid: Option<String>,
    /// Why a request was denied, more precisely than the public code.
    pub reason: Option<&'static str>,
}

/// The authorizer with everything it needs, built once per container.
pub struct Authorizer<S> {
    prefix: ApiKeyPrefix,
    pepper: Pepper,
    verifier: ClerkVerifier,
    store: Arc<S>,
    clock: Arc<dyn Clock>,
    last_used: LastUsedWrites,
    http_api_refusals: HttpApiRefusals,
    opaque: Option<OpaqueTokens>,
}

impl<S> std::fmt::Debug for Authorizer<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authorizer")
            .field("prefix", &self.prefix)
            .field("verifier", &self.verifier)
            .field("opaque", &self.opaque)
            .finish()
    }
}

/// The parts an [`Authorizer`] is assembled from.
pub struct Parts<S> {
    /// API key prefix.
    pub prefix: ApiKeyPrefix,
    /// The pepper.
    pub pepper: Pepper,
    /// Verification settings.
    pub settings: VerifierSettings,
    /// The issuer's keys.
    pub keys: Arc<IssuerKeys>,
    /// The store.
    pub store: S,
    /// The clock.
    pub clock: Arc<dyn Clock>,
}

impl Authorizer<DynamoStore> {
    /// Reads the configuration from the process environment and the AWS SDK's default chain, reads the
    /// secrets, and builds the authorizer. Called once at cold start.
    pub async fn from_env() -> Result<Self, InitError> {
        let config = AuthorizerConfig::from_process_env()?;
        let sdk = crate::coldstart::sdk_config().await;
        Self::from_config(config, &sdk, KeyCacheOptions::default()).await
    }

    /// Builds the authorizer from parsed configuration and an SDK configuration. The key cache's age
    /// comes from the configuration (`CLERK_JWKS_MAX_AGE_SECS`); `options` tunes the rest.
    pub async fn from_config(
        config: AuthorizerConfig,
        sdk: &aws_config::SdkConfig,
        options: KeyCacheOptions,
    ) -> Result<Self, InitError> {
        let options = KeyCacheOptions {
            max_age: std::time::Duration::from_secs(u64::from(config.clerk.jwks_max_age_secs)),
            ..options
        };
        let needs_secrets = matches!(config.pepper, PepperSource::SecretId(_))
            || matches!(config.clerk.keys, ClerkKeyConfig::BackendApi { .. })
            || config.opaque_tokens.is_some();
        let secrets_client = needs_secrets.then(|| aws_sdk_secretsmanager::Client::new(sdk));
        let read_secret = async |id: &str| match &secrets_client {
            Some(client) => secrets::secret_string(client, id).await,
            None => Err(SecretError::Empty { id: id.to_owned() }),
        };
        let pepper = load_pepper(&config.pepper, secrets_client.as_ref()).await?;
        let source = match &config.clerk.keys {
            ClerkKeyConfig::Pem(pem) => {
                KeySource::from_pem(pem).map_err(|p| crate::config::ConfigError {
                    var: "CLERK_JWT_KEY",
                    problem: p.into(),
                })?
            }
            ClerkKeyConfig::BackendApi { secret_id, api_url } => KeySource::Jwks {
                url: format!("{api_url}/v1/jwks"),
                bearer: Some(read_secret(secret_id).await?),
            },
            ClerkKeyConfig::JwksUrl(url) => KeySource::Jwks {
                url: url.clone(),
                bearer: None,
            },
        };
        let keys = Arc::new(IssuerKeys::with_lazy_client(
            config.clerk.issuer.clone(),
            source,
            options,
        ));
        let opaque = match &config.opaque_tokens {
            Some(source) => Some(OpaqueTokens::new(
                &source.api_url,
                read_secret(&source.secret_id).await?,
                options,
            )),
            None => None,
        };
        let store = DynamoStore::new(dynamodb_client(sdk), config.table_name);
        let refusals = config.http_api_refusals;
        let oauth = config.oauth;
        Ok(Authorizer::from_parts(Parts {
            prefix: config.api_key_prefix,
            pepper,
            settings: VerifierSettings {
                issuer: config.clerk.issuer,
                authorized_parties: config.clerk.authorized_parties,
                clock_skew_secs: config.clerk.clock_skew_secs,
                allow_pending_sessions: config.clerk.allow_pending_sessions,
            },
            keys,
            store,
            clock: Arc::new(SystemClock),
        })
        .with_http_api_refusals(refusals)
        .with_oauth(oauth, opaque))
    }
}

impl<S: AuthStore + 'static> Authorizer<S> {
    /// Assembles an authorizer.
    pub fn from_parts(parts: Parts<S>) -> Self {
        let verifier = ClerkVerifier::new(parts.settings, parts.keys, Arc::clone(&parts.clock));
        Authorizer {
            prefix: parts.prefix,
            pepper: parts.pepper,
            verifier,
            store: Arc::new(parts.store),
            clock: parts.clock,
            last_used: LastUsedWrites::default(),
            http_api_refusals: HttpApiRefusals::default(),
            opaque: None,
        }
    }

    /// What OAuth access tokens must satisfy, and the verifier of opaque ones (`None`: opaque
    /// tokens are refused).
    #[must_use]
    pub fn with_oauth(
        mut self,
        settings: crate::oauth::OAuthSettings,
        opaque: Option<OpaqueTokens>,
    ) -> Self {
        self.verifier = self.verifier.with_oauth(settings);
        self.opaque = opaque;
        self
    }

    /// How a payload 2.0 answer carries a refusal (`HTTP_API_REFUSALS`; default
    /// [`HttpApiRefusals::Route`]).
    #[must_use]
    pub fn with_http_api_refusals(mut self, refusals: HttpApiRefusals) -> Self {
        self.http_api_refusals = refusals;
        self
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The verifier.
    pub fn verifier(&self) -> &ClerkVerifier {
        &self.verifier
    }

    /// Handles one authorizer event: the answer in the event's format (an IAM policy or a payload
    /// 2.0 simple response), or an error that must become a function error. Logs one JSON line per
    /// decision.
    pub async fn handle(&self, event: &AuthorizerEvent) -> Result<AuthorizerAnswer, Unavailable> {
        let started = Instant::now();
        let mut facts = DecisionFacts::default();
        let result = self.respond(event, &mut facts).await;
        let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        match &result {
            Ok((outcome, _)) => tracing::info!(
                outcome = *outcome,
                auth_type = facts.auth_type.map(AuthType::as_str),
                user_id = facts.user_id.as_deref(),
                key_id = facts.key_id.as_deref(),
                kid = facts.kid.as_deref(),
                reason = facts.reason,
                duration_us = micros,
                "authorizer decision"
            ),
            Err(error) => tracing::error!(
                outcome = "authorizer_unavailable",
                auth_type = facts.auth_type.map(AuthType::as_str),
                user_id = facts.user_id.as_deref(),
                key_id = facts.key_id.as_deref(),
                kid = facts.kid.as_deref(),
                error = %error,
                duration_us = micros,
                "authorizer decision"
            ),
        }
        result.map(|(_, answer)| answer)
    }

    async fn respond(
        &self,
        event: &AuthorizerEvent,
        facts: &mut DecisionFacts,
    ) -> Result<(&'static str, AuthorizerAnswer), Unavailable> {
        match event {
            AuthorizerEvent::Policy {
                method_arn,
                authorization,
                gateway,
            } => {
                let method_arn = method_arn
                    .as_deref()
                    .ok_or(Unavailable::InvalidEvent("methodArn missing"))?;
                let arn = MethodArn::parse(method_arn)
                    .map_err(|_| Unavailable::InvalidEvent("methodArn malformed"))?;
                let decision = self
                    .decide_header(authorization.value(), Sent::Gateway(gateway), facts)
                    .await?;
                Ok(match decision {
                    Decision::Allow(principal) => (
                        "allow",
                        AuthorizerAnswer::Policy(policy::allow(&principal, &arn)),
                    ),
                    Decision::Deny(rejection) => (
                        rejection.code(),
                        AuthorizerAnswer::Policy(policy::deny(rejection, &arn)),
                    ),
                })
            }
            AuthorizerEvent::Simple {
                route_arn,
                authorization,
                gateway,
            } => {
                let Some(route_arn) = route_arn.as_deref().filter(|arn| !arn.is_empty()) else {
                    return Err(Unavailable::InvalidEvent("routeArn missing"));
                };
                let decision = self
                    .decide_header(authorization.value(), Sent::Gateway(gateway), facts)
                    .await?;
                // An HTTP API has no gateway responses: `/mcp` writes its own 401 (naming the
                // resource metadata URL), so its refusals always go through to it.
                let refusals = if route_arn.ends_with(&format!("/{MCP_RESOURCE}")) {
                    HttpApiRefusals::Route
                } else {
                    self.http_api_refusals
                };
                Ok(match decision {
                    Decision::Allow(principal) => (
                        "allow",
                        AuthorizerAnswer::Simple(policy::allow_simple(&principal)),
                    ),
                    Decision::Deny(rejection) => (
                        rejection.code(),
                        AuthorizerAnswer::Simple(policy::refuse_simple(rejection, refusals)),
                    ),
                })
            }
            AuthorizerEvent::Unsupported(shape) => Err(Unavailable::UnsupportedEvent(shape)),
        }
    }

    /// The API's base URL as the caller reached it (`PUBLIC_BASE_URL`, or the event's domain and
    /// stage): what an access token's audience must name when `OAUTH_RESOURCES` is unset.
    fn base_url(&self, gateway: &GatewayFacts) -> Option<String> {
        crate::oauth::public_base_url(
            gateway.domain_name.as_deref(),
            gateway.stage.as_deref(),
            self.verifier.oauth().public_base_url.as_deref(),
        )
    }

    async fn decide_header(
        &self,
        header: Result<Option<&str>, Rejection>,
        sent: Sent<'_>,
        facts: &mut DecisionFacts,
    ) -> Result<Decision, Unavailable> {
        match header {
            Ok(value) => self.decide_sent(value, sent, facts).await,
            Err(rejection) => Ok(Decision::Deny(rejection)),
        }
    }

    /// Decides on an `Authorization` header value, for a request that did not say where it was
    /// sent (an OAuth access token then needs `OAUTH_RESOURCES` or `PUBLIC_BASE_URL` to match).
    pub async fn decide(
        &self,
        authorization: Option<&str>,
        facts: &mut DecisionFacts,
    ) -> Result<Decision, Unavailable> {
        let base = self.verifier.oauth().public_base_url.as_deref();
        self.decide_at(authorization, base, facts).await
    }

    /// Decides on an `Authorization` header value sent to the API at `base` (see
    /// [`crate::oauth::public_base_url`]).
    pub async fn decide_at(
        &self,
        authorization: Option<&str>,
        base: Option<&str>,
        facts: &mut DecisionFacts,
    ) -> Result<Decision, Unavailable> {
        self.decide_sent(authorization, Sent::Base(base), facts)
            .await
    }

    async fn decide_sent(
        &self,
        authorization: Option<&str>,
        sent: Sent<'_>,
        facts: &mut DecisionFacts,
    ) -> Result<Decision, Unavailable> {
        let token = match bearer::bearer_token(authorization) {
            Ok(token) => token,
            Err(rejection) => return Ok(Decision::Deny(rejection)),
        };
        match bearer::classify(token, self.prefix.as_str()) {
            Credential::ApiKey(key) => {
                facts.auth_type = Some(AuthType::ApiKey);
                self.decide_api_key(key, facts).await
            }
            Credential::Jwt(jwt) => {
                // The API's URL is built only for a JWT (an access token's audience needs it).
                let base = match sent {
                    Sent::Gateway(gateway) => self.base_url(gateway),
                    Sent::Base(base) => base.map(str::to_owned),
                };
                self.decide_jwt(jwt, base.as_deref(), facts).await
            }
            Credential::OpaqueOAuth(token) => {
                facts.auth_type = Some(AuthType::OAuth);
                self.decide_opaque(token, facts).await
            }
        }
    }

    async fn decide_api_key(
        &self,
        key: &str,
        facts: &mut DecisionFacts,
    ) -> Result<Decision, Unavailable> {
        if let Err(problem) = apikey::check_format(key, &self.prefix) {
            let reason = match problem {
                apikey::KeyFormatError::Checksum => "checksum",
                _ => "format",
            };
            return deny(facts, reason, Rejection::InvalidApiKey);
        }
        let hash = self.pepper.hash(key);
        let Some(record) = self.store.api_key_by_hash(&hash).await? else {
            return deny(facts, "unknown_key", Rejection::InvalidApiKey);
        };
        facts.key_id = Some(record.key_id.clone());
        facts.user_id = Some(record.user_id.clone());
        if !record.key_hash.ct_eq(&hash) {
            return deny(facts, "hash_mismatch", Rejection::InvalidApiKey);
        }
        if !record.active {
            return deny(facts, "revoked", Rejection::InvalidApiKey);
        }
        let now = self.clock.now_unix();
        if !record.is_usable_at(now) {
            return deny(facts, "expired", Rejection::InvalidApiKey);
        }
        let Ok((role, memberships)) = standing(self.store.user(&record.user_id).await?) else {
            return deny(facts, "suspended", Rejection::AccountSuspended);
        };
        self.record_use(hash, record.last_used_at, now);
        Ok(Decision::Allow(Principal {
            user_id: record.user_id,
            auth_type: AuthType::ApiKey,
            role,
            key_id: Some(record.key_id),
            scopes: record.scopes,
            session_id: None,
            client_id: None,
            memberships,
            clerk_org_id: None,
            clerk_org_role: None,
            memberships_omitted: false,
            expires_at: record.expires_at,
        }))
    }

    async fn decide_jwt(
        &self,
        jwt: &str,
        base: Option<&str>,
        facts: &mut DecisionFacts,
    ) -> Result<Decision, Unavailable> {
        let verified = match self.verifier.verify_any(jwt, base).await {
            Ok(verified) => verified,
            Err((error, kid)) => {
                facts.kid = kid;
                return match error {
                    VerifyError::Invalid(reason) => deny(facts, reason.label(), reason.rejection()),
                    VerifyError::KeysUnavailable(error) => Err(Unavailable::Keys(error)),
                };
            }
        };
        let (claims, kid) = match verified {
            VerifiedToken::Session(verified) => (verified.claims, verified.kid),
            VerifiedToken::AccessToken(claims, kid) => {
                facts.auth_type = Some(AuthType::OAuth);
                facts.kid = Some(kid);
                return self
                    .allow_oauth(
                        claims.sub,
                        claims.client_id,
                        &claims.scopes,
                        claims.valid_until,
                        facts,
                    )
                    .await;
            }
        };
        facts.auth_type = Some(AuthType::Session);
        facts.kid = Some(kid);
        facts.user_id = Some(claims.sub.clone());
        let Ok((role, memberships)) = standing(self.store.user(&claims.sub).await?) else {
            return deny(facts, "suspended", Rejection::AccountSuspended);
        };
        Ok(Decision::Allow(Principal {
            user_id: claims.sub,
            auth_type: AuthType::Session,
            role,
            key_id: None,
            scopes: Scopes::ALL,
            session_id: claims.sid,
            client_id: None,
            memberships,
            clerk_org_id: claims.org_id,
            clerk_org_role: claims.org_role,
            memberships_omitted: false,
            expires_at: Some(claims.valid_until),
        }))
    }
}

impl<S: AuthStore + 'static> Authorizer<S> {
    /// An opaque `oat_` token: verified through Clerk's Backend API when `CLERK_OAUTH_OPAQUE=true`,
    /// refused otherwise.
    async fn decide_opaque(
        &self,
        token: &str,
        facts: &mut DecisionFacts,
    ) -> Result<Decision, Unavailable> {
        let Some(opaque) = &self.opaque else {
            return deny(facts, "opaque_oauth_disabled", Rejection::InvalidToken);
        };
        match opaque.verify(token, self.clock.now_unix()).await {
            Ok(claims) => {
                if !self.verifier.oauth().client_allowed(&claims.client_id) {
                    facts.user_id = Some(claims.sub);
                    return deny(facts, "client_not_allowed", Rejection::InvalidToken);
                }
                self.allow_oauth(
                    claims.sub,
                    claims.client_id,
                    &claims.scopes,
                    claims.valid_until,
                    facts,
                )
                .await
            }
            Err(OpaqueError::Refused(reason)) => deny(facts, reason, Rejection::InvalidToken),
            Err(OpaqueError::Unavailable(reason)) => Err(Unavailable::OAuthVerification(reason)),
        }
    }

    /// The Allow for a verified OAuth access token: the role and memberships of the user's record,
    /// the token's scopes mapped to Gatehouse's (`OAUTH_SCOPE_MAP`). The route side scopes the
    /// request to the user's default key (`self_service::KeyService::scoped`).
    async fn allow_oauth(
        &self,
        sub: String,
        client_id: String,
        oauth_scopes: &[String],
        valid_until: i64,
        facts: &mut DecisionFacts,
    ) -> Result<Decision, Unavailable> {
        facts.user_id = Some(sub.clone());
        let Ok((role, memberships)) = standing(self.store.user(&sub).await?) else {
            return deny(facts, "suspended", Rejection::AccountSuspended);
        };
        let scopes = self
            .verifier
            .oauth()
            .scope_map
            .map(oauth_scopes.iter().map(String::as_str));
        Ok(Decision::Allow(Principal {
            user_id: sub,
            auth_type: AuthType::OAuth,
            role,
            key_id: None,
            scopes,
            session_id: None,
            client_id: Some(client_id),
            memberships,
            clerk_org_id: None,
            clerk_org_role: None,
            memberships_omitted: false,
            expires_at: Some(valid_until),
        }))
    }

    /// Keeps `lastUsedAt` roughly current without a write per request and without delaying the
    /// answer: nothing is written when the record (or this container) wrote it less than
    /// [`LAST_USED_INTERVAL_SECS`] ago; otherwise one conditional write runs in the background, and a
    /// failure is only logged. In Lambda the write finishes while the runtime posts the response and
    /// waits for the next event, or after the next thaw.
    fn record_use(&self, hash: KeyHash, stored: Option<i64>, now: i64) {
        if stored.is_some_and(|at| now.saturating_sub(at) < LAST_USED_INTERVAL_SECS) {
            return;
        }
        if !self.last_used.claim(&hash, now) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let store = Arc::clone(&self.store);
        runtime.spawn(async move {
            if let Err(error) = store
                .touch_api_key(&hash, now, LAST_USED_INTERVAL_SECS)
                .await
            {
                tracing::warn!(error = %error, "lastUsedAt update failed");
            }
        });
    }
}

/// This container's recent `lastUsedAt` writes, so a busy key is written at most once per interval
/// per container. Bounded: when full it forgets everything, which costs at most one extra write per
/// key.
#[derive(Debug, Default)]
struct LastUsedWrites(std::sync::Mutex<std::collections::HashMap<KeyHash, i64>>);

impl LastUsedWrites {
    const CAPACITY: usize = 4096;

    /// Whether this container should write now (and, if so, notes that it does).
    fn claim(&self, hash: &KeyHash, now: i64) -> bool {
        let Ok(mut writes) = self.0.lock() else {
            return false;
        };
        if writes
            .get(hash)
            .is_some_and(|at| now.saturating_sub(*at) < LAST_USED_INTERVAL_SECS)
        {
            return false;
        }
        if writes.len() >= Self::CAPACITY {
            writes.clear();
        }
        writes.insert(*hash, now);
        true
    }
}

/// Where a request was sent, for an access token's audience: the event's gateway facts (the URL is
/// built only when a JWT needs it), or a URL given by the caller of [`Authorizer::decide_at`].
#[derive(Clone, Copy)]
enum Sent<'a> {
    Gateway(&'a GatewayFacts),
    Base(Option<&'a str>),
}

/// The MCP endpoint's resource in a route ARN (`…/POST/mcp`).
const MCP_RESOURCE: &str = "mcp";

/// Records why, and denies.
fn deny(
    facts: &mut DecisionFacts,
    reason: &'static str,
    rejection: Rejection,
) -> Result<Decision, Unavailable> {
    facts.reason = Some(reason);
    Ok(Decision::Deny(rejection))
}

/// What the user record says about the caller: role and memberships (`none` and nothing without a
/// record), or that the account is suspended.
fn standing(user: Option<UserRecord>) -> Result<(Role, Memberships), Suspended> {
    match user {
        Some(record) if record.is_suspended() => Err(Suspended),
        Some(record) => Ok((record.role, record.memberships)),
        None => Ok((Role::None, Memberships::default())),
    }
}

/// The user record is suspended.
struct Suspended;

/// The authorizer's Lambda runtime loop: built once, then one decision per invocation. A decision is
/// an answer in the event's format; a dependency failure or an unsupported event shape is returned as
/// an error, which the runtime reports as a function error (API Gateway answers 500), never an Allow.
pub async fn run_lambda() -> Result<(), lambda_runtime::Error> {
    crate::logging::init();
    let authorizer = Authorizer::<DynamoStore>::from_env()
        .await
        .inspect_err(|error| tracing::error!(error = %error, "authorizer cold start failed"))?;
    let authorizer = &authorizer;
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event: lambda_runtime::LambdaEvent<AuthorizerEvent>| async move {
            authorizer.handle(&event.payload).await
        },
    ))
    .await
}
