//! Which store a command works on, and the API key pepper that goes with it.
//!
//! With `TABLE_NAME`, `AWS_ENDPOINT_URL` or `AWS_ENDPOINT_URL_DYNAMODB` set, it is real DynamoDB (or
//! DynamoDB Local) through the AWS SDK's default chain, and `TABLE_NAME` is required. Otherwise it is
//! the embedded engine ([`crate::embedded`]) on the state folder. Both are the production
//! [`DynamoStore`], so every command and `serve` run the same store code as the Lambda functions.
//!
//! The pepper follows README "Configuration": `API_KEY_PEPPER_SECRET_ID` (a Secrets Manager secret) or
//! `API_KEY_PEPPER`; with the embedded store and neither, a random pepper kept in `<home>/pepper`
//! (0600). With DynamoDB and neither, it is an error: a deployment's pepper must not be invented.

use aws_config::{BehaviorVersion, SdkConfig};
use gatehouse::apikey::{ApiKeyPrefix, Pepper};
use gatehouse::config::Env;
use gatehouse::keys::SecretString;
use gatehouse::store::dynamo::DynamoStore;

use crate::cli::Failure;
use crate::embedded::Embedded;
use crate::home::Home;

/// The local pepper file in the state folder.
pub const PEPPER_FILE: &str = "pepper";

/// Where the store is.
#[derive(Debug)]
pub enum Backend {
    /// The embedded engine, running in this process.
    Embedded(Box<Embedded>),
    /// DynamoDB (or a local DynamoDB) through the SDK's default chain.
    DynamoDb {
        /// The endpoint the environment gives DynamoDB requests, if any (`None`: AWS itself, or
        /// whatever the SDK's profile names).
        endpoint: Option<String>,
    },
}

/// The store a command works on.
#[derive(Debug)]
pub struct StoreTarget {
    store: DynamoStore,
    sdk: SdkConfig,
    backend: Backend,
    description: String,
}

/// The pepper, with where it came from (never the value itself).
pub struct LocalPepper {
    text: SecretString,
    origin: String,
}

impl std::fmt::Debug for LocalPepper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalPepper")
            .field("origin", &self.origin)
            .finish()
    }
}

impl LocalPepper {
    /// The HMAC key.
    pub fn pepper(&self) -> Result<Pepper, Failure> {
        Pepper::new(self.text.expose().as_bytes())
            .map_err(|problem| Failure::new(format!("the pepper from {} {problem}", self.origin)))
    }

    /// The pepper text, for handing to the in-process authorizer as `API_KEY_PEPPER`.
    pub fn expose(&self) -> &str {
        self.text.expose()
    }

    /// Where it came from, for the banner.
    pub fn origin(&self) -> &str {
        &self.origin
    }
}

/// Whether the environment asks for DynamoDB rather than the embedded store.
pub fn wants_dynamodb<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> bool {
    [
        "TABLE_NAME",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_DYNAMODB",
    ]
    .iter()
    .any(|var| env.get(var).is_some())
}

/// The DynamoDB endpoint the AWS SDK takes from the environment: `AWS_ENDPOINT_URL_DYNAMODB`, else
/// `AWS_ENDPOINT_URL` (the SDK's precedence; both outrank a profile's `endpoint_url`), and none when
/// `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS` tells the SDK to ignore them.
pub fn dynamodb_endpoint<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Option<String> {
    let ignored = env
        .get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")
        .is_some_and(|value| value.eq_ignore_ascii_case("true"));
    if ignored {
        return None;
    }
    env.get("AWS_ENDPOINT_URL_DYNAMODB")
        .or_else(|| env.get("AWS_ENDPOINT_URL"))
}

/// `API_KEY_PREFIX`, default `sf_`.
pub fn api_key_prefix<F: Fn(&str) -> Option<String>>(
    env: &Env<F>,
) -> Result<ApiKeyPrefix, Failure> {
    match env.get("API_KEY_PREFIX") {
        None => Ok(ApiKeyPrefix::default_prefix()),
        Some(prefix) => ApiKeyPrefix::parse(&prefix).map_err(|problem| {
            Failure::new(format!("configuration error: API_KEY_PREFIX {problem}"))
        }),
    }
}

impl StoreTarget {
    /// Opens the store the environment names (starting the embedded engine if it is that one).
    pub async fn open<F: Fn(&str) -> Option<String>>(
        home: &Home,
        env: &Env<F>,
    ) -> Result<Self, Failure> {
        if wants_dynamodb(env) {
            let table = env.get("TABLE_NAME").ok_or_else(|| {
                Failure::new(
                    "TABLE_NAME is required with AWS_ENDPOINT_URL (unset AWS_ENDPOINT_URL and \
                     AWS_ENDPOINT_URL_DYNAMODB to use the embedded store)",
                )
            })?;
            let sdk = aws_config::load_defaults(BehaviorVersion::latest()).await;
            let store = DynamoStore::new(gatehouse::coldstart::dynamodb_client(&sdk), &table);
            let endpoint = dynamodb_endpoint(env);
            let description = match &endpoint {
                Some(endpoint) => format!("DynamoDB table {table} at {endpoint}"),
                None => format!("DynamoDB table {table}"),
            };
            return Ok(StoreTarget {
                store,
                sdk,
                backend: Backend::DynamoDb { endpoint },
                description,
            });
        }
        let embedded = Embedded::start(home).await?;
        let store = match embedded.store().await {
            Ok(store) => store,
            Err(failure) => {
                embedded.shutdown().await;
                return Err(failure);
            }
        };
        let description = format!("embedded ({}, in-process)", embedded.path().display());
        Ok(StoreTarget {
            store,
            sdk: embedded.sdk_config().clone(),
            backend: Backend::Embedded(Box::new(embedded)),
            description,
        })
    }

    /// The store.
    pub fn store(&self) -> &DynamoStore {
        &self.store
    }

    /// The SDK configuration that reaches the store.
    pub fn sdk(&self) -> &SdkConfig {
        &self.sdk
    }

    /// Whether it is the embedded engine.
    pub fn is_embedded(&self) -> bool {
        matches!(self.backend, Backend::Embedded(_))
    }

    /// Whether the data stays on this machine: the embedded engine, or DynamoDB at a loopback
    /// endpoint (DynamoDB Local). Dev mode and `--demo` run only then: dev mode accepts tokens signed
    /// by a key in the state folder, which must never open a real table.
    pub fn is_local(&self) -> bool {
        match &self.backend {
            Backend::Embedded(_) => true,
            Backend::DynamoDb { endpoint } => endpoint
                .as_deref()
                .is_some_and(gatehouse::config::is_loopback_url),
        }
    }

    /// One line for the banner.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// A Secrets Manager client: the store's SDK configuration for DynamoDB, the machine's default
    /// chain with the embedded store (whose configuration reaches only the local engine).
    pub async fn secrets_client(&self) -> aws_sdk_secretsmanager::Client {
        match self.backend {
            Backend::DynamoDb { .. } => aws_sdk_secretsmanager::Client::new(&self.sdk),
            Backend::Embedded(_) => {
                let sdk = aws_config::load_defaults(BehaviorVersion::latest()).await;
                aws_sdk_secretsmanager::Client::new(&sdk)
            }
        }
    }

    /// The pepper (see the module documentation for where it comes from).
    pub async fn pepper<F: Fn(&str) -> Option<String>>(
        &self,
        home: &Home,
        env: &Env<F>,
    ) -> Result<LocalPepper, Failure> {
        let pepper = if let Some(id) = env.get("API_KEY_PEPPER_SECRET_ID") {
            let client = self.secrets_client().await;
            let text = gatehouse::secrets::secret_string(&client, &id)
                .await
                .map_err(|e| Failure::new(format!("API_KEY_PEPPER_SECRET_ID: {e}")))?;
            LocalPepper {
                text,
                origin: format!("secret {id}"),
            }
        } else if let Some(inline) = env.get("API_KEY_PEPPER") {
            LocalPepper {
                text: SecretString::new(inline),
                origin: "API_KEY_PEPPER".into(),
            }
        } else if self.is_embedded() {
            let text = home.secret_or_create(PEPPER_FILE, || crate::devkey::random_hex(32))?;
            LocalPepper {
                text: SecretString::new(text),
                origin: home.file(PEPPER_FILE).display().to_string(),
            }
        } else {
            return Err(Failure::new(
                "configuration error: API_KEY_PEPPER_SECRET_ID is required with DynamoDB \
                 (or API_KEY_PEPPER for local use)",
            ));
        };
        pepper.pepper()?;
        Ok(pepper)
    }

    /// Stops the embedded engine, if any. Call it once the command is done.
    pub async fn close(self) {
        if let Backend::Embedded(embedded) = self.backend {
            embedded.shutdown().await;
        }
    }
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

    fn env(pairs: &'static [(&'static str, &'static str)]) -> Env<impl Fn(&str) -> Option<String>> {
        Env::new(move |var: &str| {
            pairs
                .iter()
                .find(|(name, _)| *name == var)
                .map(|(_, value)| (*value).to_owned())
        })
    }

    #[test]
    fn dynamodb_only_when_asked() {
        assert!(!wants_dynamodb(&env(&[])));
        assert!(!wants_dynamodb(&env(&[("TABLE_NAME", " ")])));
        assert!(wants_dynamodb(&env(&[("TABLE_NAME", "t")])));
        assert!(wants_dynamodb(&env(&[("AWS_ENDPOINT_URL", "http://x")])));
        assert!(wants_dynamodb(&env(&[(
            "AWS_ENDPOINT_URL_DYNAMODB",
            "http://x"
        )])));
    }

    #[tokio::test]
    async fn endpoint_without_table_names_table_name() {
        let home = Home::at(std::env::temp_dir().join("gatehouse-never-created"));
        let error = StoreTarget::open(&home, &env(&[("AWS_ENDPOINT_URL", "http://127.0.0.1:9")]))
            .await
            .unwrap_err();
        assert!(error.to_string().contains("TABLE_NAME"), "{error}");
        assert!(!home.dir().exists());
    }

    #[test]
    fn the_dynamodb_endpoint_follows_the_sdks_precedence() {
        assert_eq!(dynamodb_endpoint(&env(&[("TABLE_NAME", "t")])), None);
        assert_eq!(
            dynamodb_endpoint(&env(&[("AWS_ENDPOINT_URL", "http://127.0.0.1:8000")])).as_deref(),
            Some("http://127.0.0.1:8000")
        );
        assert_eq!(
            dynamodb_endpoint(&env(&[
                ("AWS_ENDPOINT_URL", "http://127.0.0.1:4566"),
                (
                    "AWS_ENDPOINT_URL_DYNAMODB",
                    "https://dynamodb.eu-west-1.amazonaws.com"
                ),
            ]))
            .as_deref(),
            Some("https://dynamodb.eu-west-1.amazonaws.com")
        );
        assert_eq!(
            dynamodb_endpoint(&env(&[
                ("AWS_ENDPOINT_URL", "http://127.0.0.1:8000"),
                ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true"),
            ])),
            None
        );
    }

    #[test]
    fn prefix_is_validated() {
        assert_eq!(api_key_prefix(&env(&[])).unwrap().as_str(), "sf_");
        assert_eq!(
            api_key_prefix(&env(&[("API_KEY_PREFIX", "acme_")]))
                .unwrap()
                .as_str(),
            "acme_"
        );
        let error = api_key_prefix(&env(&[("API_KEY_PREFIX", "eyJ")])).unwrap_err();
        assert!(error.to_string().contains("API_KEY_PREFIX"));
    }
}
