//! Clerk's signed webhooks (README "Clerk webhooks"): `POST /v1/webhooks/clerk`, outside the
//! authorizer, keeps the user records in step with Clerk. A deleted user is suspended and every key of
//! theirs revoked; a banned or locked one is suspended until Clerk lifts it; a new one gets a record
//! with the default role.
//!
//! Why it is built this way:
//! - **Only Clerk may speak.** The route has no authorizer, so the Svix signature is the only
//!   credential ([`signature`]): the body is capped at 64 KiB before any HMAC (413), the three Svix
//!   headers must be there, the timestamp within 5 minutes, one `v1` signature must match in constant
//!   time, or the answer is 401 `invalid_signature` and nothing is read or written. A signed body that
//!   is not a Clerk event ([`event`]) is a 400, also without effect.
//! - **Svix retries every non-2xx**, so a 2xx must mean "done": every store failure is a 500, and the
//!   delivery (`svix-id`) is recorded only after all its effects succeeded. A delivery already
//!   recorded answers 200 at once (a replay inside the 5-minute window changes nothing).
//! - **Every effect is idempotent and ordered by the event's own `timestamp`**: the store applies
//!   Clerk's status only from newer events ([`crate::store::directory::next_clerk_status`]), so
//!   retries, replays and out-of-order deliveries converge on Clerk's latest word; a deletion is
//!   final.
//! - **A crash never leaves a usable key behind**: a deletion suspends the user first, then revokes
//!   the keys; the authorizer refuses a suspended user's keys, and the retry finishes the revocation.
//! - **Clerk's suspension and the operator's are kept apart** on the record, so an unban from Clerk
//!   never lifts an operator's suspension (and `gatehouse users put` never lifts Clerk's).
//!
//! Logs name the delivery id, event type, user id and outcome; never the body, a signature or the
//! secret.

pub mod event;
pub mod signature;

#[cfg(test)]
mod tests;

use lambda_http::{Body, Request};
use serde::Serialize;

use crate::api::{self, ApiError, ApiResponse};
use crate::coldstart::InitError;
use crate::config::{ConfigError, Env};
use crate::principal::{Role, is_valid_id};
use crate::resources::ResourceService;
use crate::store::{ClerkChange, ClerkOutcome, DirectoryStore, StoreError};

pub use signature::{SvixHeaders, WebhookSecret};

/// The webhook function's settings, read once at cold start: the endpoint's signing secret and the
/// role a `user.created` record gets. `Debug` never shows the secret.
#[derive(Debug)]
pub struct WebhookConfig {
    secret: WebhookSecret,
    default_role: Role,
}

impl WebhookConfig {
    /// The settings from their values; `admin` is refused as the default role (a webhook must never
    /// make anyone an administrator).
    pub fn new(secret: WebhookSecret, default_role: Role) -> Result<Self, &'static str> {
        if default_role == Role::Admin {
            return Err("must be none, signer or manager (never admin)");
        }
        Ok(WebhookConfig {
            secret,
            default_role,
        })
    }

    /// The role a record created by `user.created` gets.
    pub fn default_role(&self) -> Role {
        self.default_role
    }

    /// Reads `DEFAULT_ROLE` (`none`, the default, `signer` or `manager`), then the signing secret
    /// from Secrets Manager (`CLERK_WEBHOOK_SECRET_ID`) or, for local use, `CLERK_WEBHOOK_SECRET`.
    /// One of the two is required; a missing or invalid value is an error naming the variable, never
    /// the value (README "Configuration").
    pub async fn from_env<F: Fn(&str) -> Option<String>>(
        env: &Env<F>,
        sdk: &aws_config::SdkConfig,
    ) -> Result<Self, InitError> {
        let default_role = default_role(env)?;
        let secret = match (
            env.get("CLERK_WEBHOOK_SECRET_ID"),
            env.get("CLERK_WEBHOOK_SECRET"),
        ) {
            (Some(id), _) => {
                let client = aws_sdk_secretsmanager::Client::new(sdk);
                let text = crate::secrets::secret_string(&client, &id).await?;
                WebhookSecret::parse(text.expose()).map_err(|problem| ConfigError {
                    var: "CLERK_WEBHOOK_SECRET_ID",
                    problem: format!("names a secret that {problem}"),
                })?
            }
            (None, Some(inline)) => {
                WebhookSecret::parse(&inline).map_err(|problem| ConfigError {
                    var: "CLERK_WEBHOOK_SECRET",
                    problem: problem.to_owned(),
                })?
            }
            (None, None) => {
                return Err(ConfigError {
                    var: "CLERK_WEBHOOK_SECRET_ID",
                    problem: "is required (or CLERK_WEBHOOK_SECRET for local use)".to_owned(),
                }
                .into());
            }
        };
        Ok(WebhookConfig {
            secret,
            default_role,
        })
    }
}

/// `DEFAULT_ROLE`: `none` (default), `signer` or `manager`.
fn default_role<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<Role, ConfigError> {
    let invalid = |problem: &str| ConfigError {
        var: "DEFAULT_ROLE",
        problem: problem.to_owned(),
    };
    match env.get("DEFAULT_ROLE").as_deref() {
        None | Some("none") => Ok(Role::None),
        Some("signer") => Ok(Role::Signer),
        Some("manager") => Ok(Role::Manager),
        Some("admin") => Err(invalid("must not be admin: a webhook never grants admin")),
        Some(_) => Err(invalid("must be none, signer or manager")),
    }
}

/// What a delivery did, as answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// The user record now reflects the event.
    Applied,
    /// The record already reflected a newer event (or a deletion): nothing changed.
    Superseded,
    /// The delivery was processed before: nothing was done again.
    Duplicate,
    /// An event type Gatehouse does not act on: recorded, nothing else.
    Ignored,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Outcome::Applied => "applied",
            Outcome::Superseded => "superseded",
            Outcome::Duplicate => "duplicate",
            Outcome::Ignored => "ignored",
        }
    }
}

/// The 200 answer: `{"id", "type", "userId", "outcome", "revokedKeys"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryView {
    /// The delivery (`svix-id`).
    pub id: String,
    /// Clerk's event type.
    #[serde(rename = "type")]
    pub event_type: String,
    /// The user a `user.*` event is about; `null` for other types.
    pub user_id: Option<String>,
    /// What happened.
    pub outcome: Outcome,
    /// How many active keys this delivery revoked (`user.deleted`; 0 otherwise, and 0 for a retry
    /// whose keys an earlier attempt already revoked).
    pub revoked_keys: usize,
}

/// The request body as bytes (what Svix signed), refused over [`api::MAX_BODY_BYTES`] before
/// anything else is looked at.
fn raw_body(request: &Request) -> Result<&[u8], ApiError> {
    let bytes: &[u8] = match request.body() {
        Body::Empty => &[],
        Body::Text(text) => text.as_bytes(),
        Body::Binary(bytes) => bytes,
        _ => return Err(ApiError::BadRequest("unsupported request body".into())),
    };
    if bytes.len() > api::MAX_BODY_BYTES {
        return Err(ApiError::PayloadTooLarge);
    }
    Ok(bytes)
}

/// The three Svix headers, each present and visible ASCII.
fn svix_headers(request: &Request) -> Option<SvixHeaders<'_>> {
    Some(SvixHeaders {
        id: api::header(request, "svix-id")?,
        timestamp: api::header(request, "svix-timestamp")?,
        signature: api::header(request, "svix-signature")?,
    })
}

/// A store failure while processing delivery `id`: logged with what failed, answered 500 so Svix
/// retries.
fn failed(id: &str, step: &'static str, error: StoreError) -> ApiError {
    tracing::error!(
        delivery_id = id,
        step,
        "clerk webhook: store failed; Svix will retry"
    );
    ApiError::Store(error)
}

/// Verifies, parses and applies one delivery.
pub async fn receive<S: DirectoryStore>(
    service: &ResourceService<S>,
    request: &Request,
) -> Result<DeliveryView, ApiError> {
    let Some(config) = service.webhooks() else {
        return Err(ApiError::NoPrincipal(
            crate::principal::ContextError::Missing("webhook configuration"),
        ));
    };
    let body = raw_body(request)?;
    let refused = |message: &'static str| {
        tracing::warn!(reason = message, "clerk webhook refused");
        ApiError::InvalidSignature(message)
    };
    let headers = svix_headers(request).ok_or_else(|| refused(signature::MISSING))?;
    let now = service.clock().now_unix();
    signature::verify(&config.secret, headers, body, now)
        .map_err(|error| refused(error.message()))?;
    let id = headers.id;
    if !is_valid_id(id) {
        return Err(ApiError::BadRequest(
            "svix-id is not a valid delivery id".into(),
        ));
    }
    let payload = event::parse(body).map_err(|message| {
        tracing::warn!(
            delivery_id = id,
            "clerk webhook: signed, but not a Clerk event"
        );
        ApiError::BadRequest(message)
    })?;
    let user_id = payload.user_event.as_ref().map(|e| e.user_id.clone());
    let store = service.store();

    let seen = store
        .webhook_delivery_seen(id)
        .await
        .map_err(|e| failed(id, "webhook_delivery_seen", e))?;
    let (outcome, revoked_keys) = if seen {
        (Outcome::Duplicate, 0)
    } else {
        let (outcome, revoked_keys) = match &payload.user_event {
            None => (Outcome::Ignored, 0),
            Some(event) => {
                // Suspend (or record) first: if the function dies before the keys are revoked, the
                // user is already refused, and Svix's retry revokes the rest.
                let applied = store
                    .apply_clerk_event(event, config.default_role)
                    .await
                    .map_err(|e| failed(id, "apply_clerk_event", e))?;
                let revoked = match event.change {
                    ClerkChange::Deleted => store
                        .revoke_keys_of(&event.user_id, now)
                        .await
                        .map_err(|e| failed(id, "revoke_keys_of", e))?,
                    ClerkChange::Created { .. } | ClerkChange::Updated { .. } => 0,
                };
                let outcome = match applied {
                    ClerkOutcome::Applied => Outcome::Applied,
                    ClerkOutcome::Superseded => Outcome::Superseded,
                };
                (outcome, revoked)
            }
        };
        store
            .record_webhook_delivery(id, &payload.event_type, now)
            .await
            .map_err(|e| failed(id, "record_webhook_delivery", e))?;
        (outcome, revoked_keys)
    };
    tracing::info!(
        delivery_id = id,
        event_type = payload.event_type.as_str(),
        user_id = user_id.as_deref().unwrap_or(""),
        outcome = outcome.as_str(),
        revoked_keys,
        "clerk webhook processed"
    );
    Ok(DeliveryView {
        id: id.to_owned(),
        event_type: payload.event_type,
        user_id,
        outcome,
        revoked_keys,
    })
}

/// The route handlers.
pub mod routes {
    use super::*;

    /// `POST /v1/webhooks/clerk`: 200 with a [`DeliveryView`], or the contract's error body.
    pub async fn clerk<S: DirectoryStore>(
        service: &ResourceService<S>,
        request: &Request,
    ) -> ApiResponse {
        api::respond(receive(service, request).await.map(|view| (200, view)))
    }
}
