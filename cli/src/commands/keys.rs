//! `gatehouse keys create|list|revoke`: the key-management routes' logic
//! ([`gatehouse::self_service::KeyService`]) for an operator, on behalf of any user. The plaintext of a
//! new key is printed once, in the same JSON body `POST /v1/me/keys` answers; nothing else ever shows
//! it.

use std::sync::Arc;

use gatehouse::clock::SystemClock;
use gatehouse::config::Env;
use gatehouse::self_service::KeyView;
use gatehouse::self_service::{CreateKeyRequest, KeyService};
use gatehouse::store::KeyStore;
use gatehouse::store::dynamo::DynamoStore;
use serde::Serialize;

use super::users::{check_id, quoted};
use super::{print_json, with_store};
use crate::cli::{Failure, KeysCommand};
use crate::home::Home;
use crate::store_target::{StoreTarget, api_key_prefix};

/// Runs `keys create`, `keys list` or `keys revoke`.
pub async fn run<F: Fn(&str) -> Option<String>>(
    command: KeysCommand,
    home: &Home,
    env: &Env<F>,
) -> Result<(), Failure> {
    let prefix = api_key_prefix(env)?;
    match command {
        KeysCommand::Create {
            user,
            name,
            scopes,
            expires_in_days,
            expires_in_secs,
        } => {
            check_id("user id", &user)?;
            let request = CreateKeyRequest {
                name,
                scopes,
                expires_in_days,
                expires_in_secs,
            };
            with_store(home, env, async |target| {
                let pepper = target.pepper(home, env).await?.pepper()?;
                let service = service(target, prefix, Some(pepper));
                let created = service.create_key(&user, request).await?;
                print_json(&created)?;
                eprintln!(
                    "Store this key now: it is shown only this once and cannot be recovered."
                );
                Ok(())
            })
            .await
        }
        KeysCommand::List { user } => {
            check_id("user id", &user)?;
            with_store(home, env, async |target| {
                let keys = service(target, prefix, None).list_keys(&user).await?;
                print_json(&KeyList { keys: &keys })
            })
            .await
        }
        KeysCommand::Revoke { key_id } => {
            let unknown = || Failure::new(format!("no api key {}", quoted(&key_id)));
            if !key_id.starts_with("k_") || check_id("key id", &key_id).is_err() {
                return Err(unknown());
            }
            with_store(home, env, async |target| {
                let Some(record) = target.store().api_key_by_id(&key_id).await? else {
                    return Err(unknown());
                };
                let service = service(target, prefix, None);
                let revoked = service.revoke_key(&record.user_id, &key_id).await?;
                print_json(&revoked)
            })
            .await
        }
    }
}

/// `{"keys": [...]}`, as `GET /v1/me/keys` answers.
#[derive(Serialize)]
struct KeyList<'a> {
    keys: &'a [KeyView],
}

fn service(
    target: &StoreTarget,
    prefix: gatehouse::apikey::ApiKeyPrefix,
    pepper: Option<gatehouse::apikey::Pepper>,
) -> KeyService<DynamoStore> {
    KeyService::from_parts(
        target.store().clone(),
        prefix,
        pepper,
        Arc::new(SystemClock),
    )
}
