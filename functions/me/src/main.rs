//! Cold start: JSON logging, configuration and the DynamoDB client are built once,
//! then the runtime loop serves requests with them. A bad setting fails the init phase with its name.

use gatehouse::self_service::KeyService;
use lambda_runtime::{Error, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    gatehouse::logging::init();
    let service = KeyService::from_env(false)
        .await
        .inspect_err(|error| tracing::error!(error = %error, "cold start failed"))?;
    let service = &service;
    lambda_runtime::run(service_fn(move |event| {
        me::function_handler(service, event)
    }))
    .await
}
