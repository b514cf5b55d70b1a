//! The embedded store: dynoxide, a DynamoDB-compatible engine on SQLite, inside this process. The
//! store code talks to it through the real AWS SDK exactly as it talks to DynamoDB in production
//! ([`DynamoStore`]): requests are built, signed and parsed by the SDK, and only the last step, the
//! HTTP transport, is replaced by an in-process call into the engine. So `gatehouse serve` needs
//! neither Docker, Java nor an AWS account, and what runs locally is the production data path.
//!
//! The engine has no network presence at all: nothing on this machine (another user, a web page in a
//! browser, a CORS preflight) can reach it, and the only way to its data is the state folder itself,
//! which is private (0700). On top of that, every request must be signed (SigV4, checked in full by
//! [`crate::sigv4`]) with the folder's own credentials, `<home>/engine-credentials`, so a client in
//! this process configured with anything else is refused as DynamoDB would refuse it.
//!
//! The data lives in `<home>/store.sqlite3` (SQLite in WAL mode, so a `gatehouse users put` in another
//! terminal, with its own engine on the same file, writes to the store a running `serve` reads).
//! Expired items (`ttl` attribute, as the template enables on the real table) are swept every minute.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::Credentials;
use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::types::{TimeToLiveSpecification, TimeToLiveStatus};
use aws_smithy_runtime_api::client::http::{
    HttpConnector, HttpConnectorFuture, SharedHttpConnector, http_client_fn,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use dynoxide::Database;
use gatehouse::clock::{Clock as _, SystemClock};
use gatehouse::store::dynamo::DynamoStore;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::task::JoinHandle;

use crate::cli::Failure;
use crate::home::Home;
use crate::sigv4::{self, EngineCredentials, Refusal, Scope, SignedRequest};

/// The SQLite file in the state folder.
pub const STORE_FILE: &str = "store.sqlite3";
/// The credentials file in the state folder: `<access key id> <secret access key>`.
pub const CREDENTIALS_FILE: &str = "engine-credentials";
/// The embedded store's table.
pub const TABLE: &str = "gatehouse";
/// The attribute DynamoDB's time to live reads (as in `template.yaml`).
pub const TTL_ATTRIBUTE: &str = gatehouse::store::dynamo::TABLE.time_to_live_attribute;
/// How often expired items are deleted.
pub const SWEEP_INTERVAL: Duration = Duration::from_secs(60);
/// The region requests are signed for.
pub const REGION: &str = "us-east-1";
/// The endpoint the SDK builds request URIs from. It is never dialled: the transport is in-process.
pub const ENDPOINT: &str = "https://dynamodb.embedded.gatehouse.invalid";
const SERVICE: &str = "dynamodb";

/// A running embedded engine.
#[derive(Debug)]
pub struct Embedded {
    path: PathBuf,
    engine: Arc<Engine>,
    sdk: SdkConfig,
    sweeper: JoinHandle<()>,
}

impl Embedded {
    /// Opens (or creates) `<home>/store.sqlite3` with the folder's credentials (created on first use).
    pub async fn start(home: &Home) -> Result<Self, Failure> {
        home.ensure()?;
        let credentials = home.secret_or_create(CREDENTIALS_FILE, new_credentials)?;
        let credentials = parse_credentials(&credentials).ok_or_else(|| {
            Failure::new(format!(
                "{} is not `<access key id> <secret>`; delete it to make new ones",
                home.file(CREDENTIALS_FILE).display()
            ))
        })?;
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
        Ok(Self::run(database, path, credentials, None).await)
    }

    /// An engine on a fresh in-memory database (nothing is written to disk) with credentials of its
    /// own, for tests.
    pub async fn start_in_memory() -> Result<Self, Failure> {
        Self::start_in_memory_observed(None).await
    }

    /// [`Embedded::start_in_memory`], telling `observer` every request the engine accepts (its
    /// operation and JSON body), before it runs: tests use it to see exactly which calls a function
    /// makes (and check them against its IAM policy).
    pub async fn start_in_memory_observed(
        observer: Option<RequestObserver>,
    ) -> Result<Self, Failure> {
        let database = Database::memory()
            .map_err(|e| Failure::new(format!("cannot open an in-memory store: {e}")))?;
        let credentials = parse_credentials(&new_credentials()?)
            .ok_or_else(|| Failure::new("the random generator failed"))?;
        Ok(Self::run(database, PathBuf::from(":memory:"), credentials, observer).await)
    }

    async fn run(
        database: Database,
        path: PathBuf,
        credentials: EngineCredentials,
        observer: Option<RequestObserver>,
    ) -> Self {
        let sweeper = tokio::spawn(sweep_forever(database.clone()));
        let engine = Arc::new(Engine {
            database,
            credentials,
            observer,
        });
        let sdk = sdk_config_signed_with(&engine, &engine.credentials).await;
        Embedded {
            path,
            engine,
            sdk,
            sweeper,
        }
    }

    /// The SQLite file (`:memory:` for an in-memory engine).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// An SDK configuration for the engine: its in-process transport, the folder's credentials.
    pub fn sdk_config(&self) -> &SdkConfig {
        &self.sdk
    }

    /// An SDK configuration with the engine's transport but other credentials, as a client that
    /// does not hold the folder's secret would have (for tests: the engine must refuse it).
    pub async fn sdk_config_signed_with(&self, credentials: &EngineCredentials) -> SdkConfig {
        sdk_config_signed_with(&self.engine, credentials).await
    }

    /// A store on the embedded table, created (with its time to live) if missing.
    pub async fn store(&self) -> Result<DynamoStore, Failure> {
        let store = DynamoStore::new(gatehouse::coldstart::dynamodb_client(&self.sdk), TABLE);
        store.create_table_if_missing().await?;
        enable_ttl(&store).await?;
        Ok(store)
    }

    /// Stops the engine: the sweeper stops; the database closes when the last client drops it.
    pub async fn shutdown(self) {
        self.sweeper.abort();
        let _stopped = self.sweeper.await;
    }
}

/// `<access key id> <secret access key>`, both random.
fn new_credentials() -> Result<String, Failure> {
    let id = crate::devkey::random_hex(8)?.to_ascii_uppercase();
    let secret = crate::devkey::random_hex(32)?;
    Ok(format!("GHLOCAL{id} {secret}"))
}

fn parse_credentials(text: &str) -> Option<EngineCredentials> {
    let (id, secret) = text.trim().split_once(' ')?;
    let usable = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric());
    (usable(id) && usable(secret) && secret.len() >= 32).then(|| EngineCredentials {
        access_key_id: id.to_owned(),
        secret_access_key: secret.to_owned(),
    })
}

/// The SDK configuration for the engine: nothing is read from the machine's AWS setup but tuning.
async fn sdk_config_signed_with(
    engine: &Arc<Engine>,
    credentials: &EngineCredentials,
) -> SdkConfig {
    let connector = SharedHttpConnector::new(EngineConnector(Arc::clone(engine)));
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .credentials_provider(Credentials::new(
            &credentials.access_key_id,
            &credentials.secret_access_key,
            None,
            None,
            "gatehouse-embedded",
        ))
        .endpoint_url(ENDPOINT)
        .http_client(http_client_fn(move |_, _| connector.clone()))
        .load()
        .await
}

/// Told each accepted request's operation (`GetItem`, …) and JSON body.
pub type RequestObserver = Arc<dyn Fn(&str, &str) + Send + Sync>;

/// The engine behind the transport.
struct Engine {
    database: Database,
    credentials: EngineCredentials,
    observer: Option<RequestObserver>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("credentials", &self.credentials)
            .finish_non_exhaustive()
    }
}

/// The AWS SDK's HTTP connector for the engine: the signed request goes straight into the engine,
/// the engine's answer comes back as the HTTP response DynamoDB would give.
#[derive(Debug, Clone)]
struct EngineConnector(Arc<Engine>);

impl HttpConnector for EngineConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let engine = Arc::clone(&self.0);
        HttpConnectorFuture::new(async move { Ok(engine.answer(request).await) })
    }
}

/// DynamoDB's JSON protocol: the operation in `X-Amz-Target`, the request and the answer as JSON.
const TARGET_PREFIX: &str = "DynamoDB_20120810.";
const CONTENT_TYPE: &str = "application/x-amz-json-1.0";

impl Engine {
    async fn answer(&self, request: HttpRequest) -> HttpResponse {
        let headers: Vec<(&str, &str)> = request.headers().iter().collect();
        let uri = request.uri().parse::<http::Uri>().ok();
        let host = uri
            .as_ref()
            .and_then(http::Uri::authority)
            .map_or("", |authority| authority.as_str());
        let body = request.body().bytes().unwrap_or_default();
        let signed = SignedRequest {
            method: request.method(),
            path: uri.as_ref().map_or("/", http::Uri::path),
            query: uri.as_ref().and_then(http::Uri::query).unwrap_or_default(),
            host,
            headers: &headers,
            body,
        };
        let scope = Scope {
            region: REGION,
            service: SERVICE,
        };
        if let Err(refusal) =
            sigv4::verify(&signed, &self.credentials, scope, SystemClock.now_unix())
        {
            tracing::warn!(%refusal, "embedded store refused a request");
            return refused(&refusal);
        }
        let operation = request
            .headers()
            .get("x-amz-target")
            .and_then(|target| target.strip_prefix(TARGET_PREFIX))
            .unwrap_or_default()
            .to_owned();
        let Ok(body) = String::from_utf8(body.to_vec()) else {
            return response(
                400,
                error_json("SerializationException", "body is not UTF-8"),
            );
        };
        if let Some(observe) = &self.observer {
            observe(&operation, &body);
        }
        let database = self.database.clone();
        match tokio::task::spawn_blocking(move || dispatch(&database, &operation, &body)).await {
            Ok((status, json)) => response(status, json),
            Err(error) => response(500, error_json("InternalServerError", &error.to_string())),
        }
    }
}

/// Runs one operation; the HTTP status and the JSON answer, as DynamoDB gives them.
fn dispatch(database: &Database, operation: &str, body: &str) -> (u16, String) {
    fn run<Q: DeserializeOwned, A: Serialize>(
        body: &str,
        operation: impl FnOnce(Q) -> dynoxide::Result<A>,
    ) -> (u16, String) {
        let request = match serde_json::from_str(body) {
            Ok(request) => request,
            Err(error) => {
                return (
                    400,
                    error_json("SerializationException", &error.to_string()),
                );
            }
        };
        match operation(request) {
            Ok(answer) => match serde_json::to_string(&answer) {
                Ok(json) => (200, json),
                Err(error) => (500, error_json("InternalServerError", &error.to_string())),
            },
            Err(error) => (error.status_code(), error.to_json()),
        }
    }
    let db = database;
    match operation {
        "CreateTable" => run(body, |r| db.create_table(r)),
        "DeleteTable" => run(body, |r| db.delete_table(r)),
        "DescribeTable" => run(body, |r| db.describe_table(r)),
        "ListTables" => run(body, |r| db.list_tables(r)),
        "UpdateTable" => run(body, |r| db.update_table(r)),
        "DescribeTimeToLive" => run(body, |r| db.describe_time_to_live(r)),
        "UpdateTimeToLive" => run(body, |r| db.update_time_to_live(r)),
        "GetItem" => run(body, |r| db.get_item(r)),
        "PutItem" => run(body, |r| db.put_item(r)),
        "UpdateItem" => run(body, |r| db.update_item(r)),
        "DeleteItem" => run(body, |r| db.delete_item(r)),
        "Query" => run(body, |r| db.query(r)),
        "Scan" => run(body, |r| db.scan(r)),
        "BatchGetItem" => run(body, |r| db.batch_get_item(r)),
        "BatchWriteItem" => run(body, |r| db.batch_write_item(r)),
        "TransactWriteItems" => run(body, |r| db.transact_write_items(r)),
        "TransactGetItems" => run(body, |r| db.transact_get_items(r)),
        _ => (400, error_json("UnknownOperationException", "")),
    }
}

fn error_json(kind: &str, message: &str) -> String {
    serde_json::json!({ "__type": format!("com.amazon.coral.service#{kind}"), "message": message })
        .to_string()
}

fn refused(refusal: &Refusal) -> HttpResponse {
    response(400, error_json(refusal.error_type(), &refusal.to_string()))
}

fn response(status: u16, json: String) -> HttpResponse {
    let status = StatusCode::try_from(status)
        .unwrap_or_else(|_| StatusCode::from(http::StatusCode::INTERNAL_SERVER_ERROR));
    let mut response = HttpResponse::new(status, SdkBody::from(json));
    response.headers_mut().insert("content-type", CONTENT_TYPE);
    response
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
