//! The embedded store: dynoxide, a DynamoDB-compatible engine on SQLite, served over DynamoDB's own
//! HTTP protocol on a loopback port inside this process. The store code talks to it through the real
//! AWS SDK exactly as it talks to DynamoDB in production ([`DynamoStore`]), so `gatehouse serve` needs
//! neither Docker, Java nor an AWS account, and what runs locally is the production data path.
//!
//! The data lives in `<home>/store.sqlite3` (SQLite in WAL mode, so a `gatehouse users put` in another
//! terminal writes to the same store a running `serve` reads). Expired items (`ttl` attribute, as the
//! template enables on the real table) are swept every minute.

use std::path::{Path, PathBuf};
use std::time::Duration;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::Credentials;
use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::types::{TimeToLiveSpecification, TimeToLiveStatus};
use dynoxide::Database;
use gatehouse::store::dynamo::DynamoStore;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::cli::Failure;
use crate::home::Home;

/// The SQLite file in the state folder.
pub const STORE_FILE: &str = "store.sqlite3";
/// The embedded store's table.
pub const TABLE: &str = "gatehouse";
/// The attribute DynamoDB's time to live reads (as in `template.yaml`).
pub const TTL_ATTRIBUTE: &str = "ttl";
/// How often expired items are deleted.
pub const SWEEP_INTERVAL: Duration = Duration::from_secs(60);

/// A running embedded engine.
#[derive(Debug)]
pub struct Embedded {
    path: PathBuf,
    endpoint: String,
    sdk: SdkConfig,
    shutdown: Option<oneshot::Sender<()>>,
    server: JoinHandle<Result<(), String>>,
    sweeper: JoinHandle<()>,
}

impl Embedded {
    /// Opens (or creates) `<home>/store.sqlite3` and serves it on `127.0.0.1:<free port>`.
    pub async fn start(home: &Home) -> Result<Self, Failure> {
        home.ensure()?;
        let path = home.file(STORE_FILE);
        let text = path
            .to_str()
            .ok_or_else(|| Failure::new(format!("{} is not valid UTF-8", path.display())))?
            .to_owned();
        let database = tokio::task::spawn_blocking(move || Database::new(&text))
            .await
            .map_err(|e| Failure::new(format!("opening the embedded store failed: {e}")))?
            .map_err(|e| {
                Failure::new(format!(
                    "cannot open the embedded store {}: {e}",
                    path.display()
                ))
            })?;
        Self::serve(database, path).await
    }

    /// An engine on a fresh in-memory database (nothing is written to disk), for tests.
    pub async fn start_in_memory() -> Result<Self, Failure> {
        let database = Database::memory()
            .map_err(|e| Failure::new(format!("cannot open an in-memory store: {e}")))?;
        Self::serve(database, PathBuf::from(":memory:")).await
    }

    async fn serve(database: Database, path: PathBuf) -> Result<Self, Failure> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(|e| Failure::new(format!("cannot start the embedded store: {e}")))?;
        let port = listener
            .local_addr()
            .map_err(|e| Failure::new(format!("cannot start the embedded store: {e}")))?
            .port();
        let endpoint = format!("http://127.0.0.1:{port}");
        let (shutdown, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(dynoxide::server::serve_with_shutdown(
            listener,
            database.clone(),
            async move {
                let _signalled = stopped.await;
            },
        ));
        let sweeper = tokio::spawn(sweep_forever(database));
        let sdk = local_sdk_config(&endpoint).await;
        Ok(Embedded {
            path,
            endpoint,
            sdk,
            shutdown: Some(shutdown),
            server,
            sweeper,
        })
    }

    /// The SQLite file (`:memory:` for an in-memory engine).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The engine's DynamoDB endpoint, `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// An SDK configuration for the engine (fixed region, dummy credentials, this endpoint).
    pub fn sdk_config(&self) -> &SdkConfig {
        &self.sdk
    }

    /// A store on the embedded table, created (with its time to live) if missing.
    pub async fn store(&self) -> Result<DynamoStore, Failure> {
        let store = DynamoStore::new(gatehouse::authorizer::dynamodb_client(&self.sdk), TABLE);
        store.create_table_if_missing().await?;
        enable_ttl(&store).await?;
        Ok(store)
    }

    /// Stops the engine: no new connections, requests in flight finish, the sweeper stops.
    pub async fn shutdown(mut self) {
        self.sweeper.abort();
        if let Some(shutdown) = self.shutdown.take() {
            let _already_stopped = shutdown.send(());
        }
        match tokio::time::timeout(Duration::from_secs(5), &mut self.server).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(error))) => tracing::warn!(%error, "embedded store stopped with an error"),
            Ok(Err(error)) => tracing::warn!(%error, "embedded store task failed"),
            Err(_) => {
                tracing::warn!("embedded store did not stop within 5 s");
                self.server.abort();
            }
        }
    }
}

/// The SDK configuration for a local engine: nothing is read from the machine's AWS setup.
pub async fn local_sdk_config(endpoint: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(
            "gatehouse",
            "embedded",
            None,
            None,
            "gatehouse-embedded",
        ))
        .endpoint_url(endpoint)
        .load()
        .await
}

/// Turns on time to live on [`TTL_ATTRIBUTE`] unless it is on already. Idempotent; true when it
/// changed something.
pub async fn enable_ttl(store: &DynamoStore) -> Result<bool, Failure> {
    let failed = |e: &dyn std::fmt::Display| {
        Failure::new(format!(
            "enabling time to live on table {} failed: {e}",
            store.table()
        ))
    };
    let described = store
        .client()
        .describe_time_to_live()
        .table_name(store.table())
        .send()
        .await
        .map_err(|e| failed(&DisplayErrorContext(&e)))?;
    let status = described
        .time_to_live_description
        .and_then(|d| d.time_to_live_status);
    if matches!(
        status,
        Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling)
    ) {
        return Ok(false);
    }
    let specification = TimeToLiveSpecification::builder()
        .attribute_name(TTL_ATTRIBUTE)
        .enabled(true)
        .build()
        .map_err(|e| failed(&e))?;
    let updated = store
        .client()
        .update_time_to_live()
        .table_name(store.table())
        .time_to_live_specification(specification)
        .send()
        .await;
    match updated {
        Ok(_) => Ok(true),
        // Another process enabled it between our two calls.
        Err(error) if format!("{}", DisplayErrorContext(&error)).contains("already enabled") => {
            Ok(false)
        }
        Err(error) => Err(failed(&DisplayErrorContext(&error))),
    }
}

/// Deletes expired items every [`SWEEP_INTERVAL`]. The sweep is blocking SQLite work, so it runs on
/// the blocking pool.
async fn sweep_forever(database: Database) {
    let mut interval = tokio::time::interval(SWEEP_INTERVAL);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    interval.tick().await;
    loop {
        interval.tick().await;
        let database = database.clone();
        match tokio::task::spawn_blocking(move || database.sweep_ttl()).await {
            Ok(Ok(0)) => {}
            Ok(Ok(deleted)) => tracing::debug!(deleted, "expired items swept"),
            Ok(Err(error)) => tracing::warn!(%error, "time-to-live sweep failed"),
            Err(error) => tracing::warn!(%error, "time-to-live sweep task failed"),
        }
    }
}
