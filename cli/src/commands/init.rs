//! `gatehouse init`: makes a store ready. Creates the table (same schema as `template.yaml`) with its
//! time to live, and, when `API_KEY_PEPPER_SECRET_ID` names a secret that does not exist, creates it
//! with a random value; brings key records written by an earlier version up to date
//! ([`gatehouse::store::dynamo::DynamoStore::backfill_key_expiry`]). Idempotent: a second run changes
//! nothing and says so.

use aws_sdk_secretsmanager::error::DisplayErrorContext;
use gatehouse::config::Env;

use super::{print, with_store};
use crate::cli::Failure;
use crate::embedded::enable_ttl;
use crate::home::Home;
use crate::store_target::{PEPPER_FILE, StoreTarget};

/// Runs `init`.
pub async fn run<F: Fn(&str) -> Option<String>>(home: &Home, env: &Env<F>) -> Result<(), Failure> {
    with_store(home, env, async |target| {
        if target.is_embedded() {
            print(&format!("store: {} ready", target.description()))?;
        } else {
            let store = target.store();
            let existed = store
                .client()
                .describe_table()
                .table_name(store.table())
                .send()
                .await
                .is_ok();
            store.create_table_if_missing().await?;
            let verb = if existed { "exists" } else { "created" };
            print(&format!("table {}: {verb}", store.table()))?;
            let ttl = if enable_ttl(store).await? {
                "enabled"
            } else {
                "already enabled"
            };
            print(&format!("time to live on attribute ttl: {ttl}"))?;
        }
        let upgraded = target.store().backfill_key_expiry().await?;
        if upgraded > 0 {
            print(&format!(
                "api keys: {upgraded} record(s) from an earlier version given expiresAt = null"
            ))?;
        }
        pepper(target, home, env).await
    })
    .await
}

/// Makes sure the pepper exists, creating the secret or the local file when missing.
async fn pepper<F: Fn(&str) -> Option<String>>(
    target: &StoreTarget,
    home: &Home,
    env: &Env<F>,
) -> Result<(), Failure> {
    if let Some(id) = env.get("API_KEY_PEPPER_SECRET_ID") {
        let client = target.secrets_client().await;
        let described = client.describe_secret().secret_id(&id).send().await;
        match described {
            Ok(_) => return print(&format!("pepper: secret {id} exists")),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception()) => {}
            Err(error) => {
                return Err(Failure::new(format!(
                    "reading secret {id} failed: {}",
                    DisplayErrorContext(&error)
                )));
            }
        }
        let value = crate::devkey::random_hex(32)?;
        client
            .create_secret()
            .name(&id)
            .description("Gatehouse API key pepper (HMAC-SHA256 key for API key hashes)")
            .secret_string(value)
            .send()
            .await
            .map_err(|e| {
                Failure::new(format!(
                    "creating secret {id} failed: {}",
                    DisplayErrorContext(&e)
                ))
            })?;
        return print(&format!("pepper: secret {id} created"));
    }
    if env.get("API_KEY_PEPPER").is_some() {
        return print("pepper: API_KEY_PEPPER (inline, local use only)");
    }
    if target.is_embedded() {
        let existed = home.read(PEPPER_FILE)?.is_some_and(|p| !p.is_empty());
        let pepper = target.pepper(home, env).await?;
        let verb = if existed { "exists" } else { "created" };
        return print(&format!("pepper: {} {verb}", pepper.origin()));
    }
    Err(Failure::new(
        "configuration error: API_KEY_PEPPER_SECRET_ID is required with DynamoDB \
         (or API_KEY_PEPPER for local use)",
    ))
}
