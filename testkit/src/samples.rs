//! The sample events in `events/` and the data they refer to: both the events test and the local demo
//! configure the authorizer from `events/env.json` and seed the dev admin and the sample API key.

use std::collections::HashMap;
use std::path::PathBuf;

use aws_lambda_events::apigw::{
    ApiGatewayCustomAuthorizerRequestTypeRequest, ApiGatewayProxyRequest, ApiGatewayProxyResponse,
};
use gatehouse::apikey::{self, Pepper};
use gatehouse::clock::FixedClock;
use gatehouse::principal::{Memberships, Role, Scopes};
use gatehouse::resources::ResourceService;
use gatehouse::self_service::KeyService;
use gatehouse::store::memory::MemoryStore;
use gatehouse::store::{
    ApiKeyRecord, Company, CreateKeyError, Document, KeyStore, Location, Organization, Package,
    ResourceStore, StoreError, Template, UserRecord,
};

/// The user the sample session token and API key belong to.
pub const DEV_ADMIN: &str = "user_dev_admin";
/// The sample manager: a company-level member of `co_demo_east`.
pub const DEV_MANAGER: &str = "user_dev_manager";
/// The sample signer, assigned to `pkg_demo_lease`.
pub const DEV_SIGNER: &str = "user_dev_signer";

/// The repository's `events/` folder.
pub fn events_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../events")
}

/// A sample authorizer event by file name.
pub fn load_event(name: &str) -> ApiGatewayCustomAuthorizerRequestTypeRequest {
    let text = std::fs::read_to_string(events_dir().join(name)).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// The `AuthorizerFunction` variables of `events/env.json`.
pub fn env_vars() -> HashMap<String, String> {
    let text = std::fs::read_to_string(events_dir().join("env.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    json["AuthorizerFunction"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
        .collect()
}

/// The plaintext API key in `events/authorizer-api-key.json`.
pub fn sample_api_key() -> String {
    let event = load_event("authorizer-api-key.json");
    let header = event.headers["authorization"].to_str().unwrap();
    header.strip_prefix("Bearer ").unwrap().to_owned()
}

/// Seeds the dev admin (role admin, organization `org_demo`) and the sample API key (`k_sample`, stored
/// as its hash under `pepper`). Running it again is harmless.
pub async fn seed<S: KeyStore>(store: &S, pepper: &Pepper) -> Result<(), StoreError> {
    store
        .put_user(&UserRecord {
            user_id: DEV_ADMIN.into(),
            role: Role::Admin,
            memberships: Memberships {
                organization_ids: vec!["org_demo".into()],
                ..Memberships::default()
            },
            suspended: false,
        })
        .await?;
    let key = sample_api_key();
    let record = ApiKeyRecord {
        key_id: "k_sample".into(),
        user_id: DEV_ADMIN.into(),
        key_hash: pepper.hash(&key),
        name: "sample".into(),
        scopes: Scopes::ALL,
        active: true,
        created_at: 1_767_225_600,
        expires_at: None,
        tail: apikey::tail(&key),
        last_used_at: None,
        revoked_at: None,
    };
    match store
        .create_api_key(
            &record,
            gatehouse::store::MAX_ACTIVE_KEYS,
            record.created_at,
        )
        .await
    {
        Ok(()) | Err(CreateKeyError::Conflict) => Ok(()),
        Err(CreateKeyError::Store(error)) => Err(error),
        Err(CreateKeyError::LimitReached) => Err(StoreError::Unavailable("key limit".into())),
    }
}

/// A sample proxy (route) event by file name, as the Lambda runtime hands it to a handler.
pub fn proxy_lambda_event(name: &str) -> lambda_runtime::LambdaEvent<ApiGatewayProxyRequest> {
    lambda_runtime::LambdaEvent::new(load_proxy_event(name), lambda_runtime::Context::default())
}

/// A sample proxy (route) event by file name.
pub fn load_proxy_event(name: &str) -> ApiGatewayProxyRequest {
    let text = std::fs::read_to_string(events_dir().join(name)).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// An authorizer on `store` as the tests build it: the default prefix, `pepper`, the dev-only key as a
/// PEM source for [`DEV_ISSUER`] (no network), 5 s of skew, `clock`.
pub fn dev_authorizer<S: gatehouse::store::AuthStore + 'static>(
    store: S,
    pepper: Pepper,
    clock: std::sync::Arc<FixedClock>,
) -> gatehouse::authorizer::Authorizer<S> {
    use gatehouse::keys::{IssuerKeys, KeyCacheOptions, KeySource};
    let options = KeyCacheOptions::default();
    gatehouse::authorizer::Authorizer::from_parts(gatehouse::authorizer::Parts {
        prefix: apikey::ApiKeyPrefix::default_prefix(),
        pepper,
        settings: gatehouse::jwt::VerifierSettings {
            issuer: crate::tokens::DEV_ISSUER.to_owned(),
            authorized_parties: None,
            clock_skew_secs: 5,
            allow_pending_sessions: false,
        },
        keys: std::sync::Arc::new(IssuerKeys::new(
            crate::tokens::DEV_ISSUER,
            KeySource::from_pem(crate::tokens::dev_key().public_pem).unwrap(),
            gatehouse::authorizer::http_client(options).unwrap(),
            options,
        )),
        store,
        clock,
    })
}

/// The pepper of `events/env.json`.
pub fn pepper() -> Pepper {
    Pepper::new(env_vars()["API_KEY_PEPPER"].as_bytes()).unwrap()
}

/// A key service on a fresh in-memory store holding the dev admin and the sample key, with the
/// clock at `now`.
pub async fn memory_key_service(now: i64) -> KeyService<MemoryStore> {
    let store = MemoryStore::new();
    seed(&store, &pepper()).await.unwrap();
    KeyService::from_parts(
        store,
        apikey::ApiKeyPrefix::default_prefix(),
        Some(pepper()),
        std::sync::Arc::new(FixedClock::at(now)),
    )
}

/// Runs a proxy event through a route handler and returns (status, JSON body).
pub fn status_and_json(response: &ApiGatewayProxyResponse) -> (i64, serde_json::Value) {
    let body = match &response.body {
        Some(aws_lambda_events::encodings::Body::Text(text)) => serde_json::from_str(text).unwrap(),
        None => serde_json::Value::Null,
        Some(other) => panic!("unexpected body {other:?}"),
    };
    (response.status_code, body)
}

/// Seeds the sample keys ([`seed`]) and a tiny world the resource events refer to: organization
/// `org_demo`, its company `co_demo_east`, location `loc_demo_1`, template `tpl_demo_nda` and package
/// `pkg_demo_lease` (at `loc_demo_1`, signer [`DEV_SIGNER`]); [`DEV_MANAGER`] manages `co_demo_east`.
pub async fn seed_world<S: ResourceStore>(store: &S, pepper: &Pepper) -> Result<(), StoreError> {
    seed(store, pepper).await?;
    for (user_id, role, memberships) in [
        (
            DEV_MANAGER,
            Role::Manager,
            Memberships {
                company_ids: vec!["co_demo_east".into()],
                ..Memberships::default()
            },
        ),
        (DEV_SIGNER, Role::Signer, Memberships::default()),
    ] {
        store
            .put_user(&UserRecord {
                user_id: user_id.into(),
                role,
                memberships,
                suspended: false,
            })
            .await?;
    }
    store
        .put_organization(&Organization {
            id: "org_demo".into(),
            name: "Demo Holdings".into(),
        })
        .await?;
    store
        .put_company(&Company {
            id: "co_demo_east".into(),
            organization_id: "org_demo".into(),
            name: "Demo East".into(),
        })
        .await?;
    store
        .put_location(&Location {
            id: "loc_demo_1".into(),
            company_id: "co_demo_east".into(),
            organization_id: "org_demo".into(),
            name: "Boston".into(),
        })
        .await?;
    store
        .put_template(&Template {
            id: "tpl_demo_nda".into(),
            organization_id: "org_demo".into(),
            name: "NDA".into(),
        })
        .await?;
    store
        .put_package(&Package {
            id: "pkg_demo_lease".into(),
            location_id: "loc_demo_1".into(),
            company_id: "co_demo_east".into(),
            organization_id: "org_demo".into(),
            title: "Lease".into(),
            signers: vec![DEV_SIGNER.into()],
            documents: vec![Document {
                id: "doc_demo_lease".into(),
                name: "lease.pdf".into(),
            }],
            created_at: 1_767_225_600,
        })
        .await
}

/// A resource service on a fresh in-memory store holding [`seed_world`], with the clock at `now`.
pub async fn memory_resource_service(now: i64) -> ResourceService<MemoryStore> {
    let store = MemoryStore::new();
    seed_world(&store, &pepper()).await.unwrap();
    let clock = std::sync::Arc::new(FixedClock::at(now));
    ResourceService::new(
        KeyService::from_parts(
            store,
            apikey::ApiKeyPrefix::default_prefix(),
            None,
            clock.clone(),
        ),
        clock,
    )
}
