//! Cold start: JSON logging, configuration and the DynamoDB client are built once,
//! then the runtime loop serves requests with them. A bad setting fails the init phase with its name.

use gatehouse::resources::ResourceService;
use lambda_runtime::{Error, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    gatehouse::logging::init();
    let service = ResourceService::from_env()
        .await
        .inspect_err(|error| tracing::error!(error = %error, "cold start failed"))?;
    let service = &service;
    lambda_runtime::run(service_fn(move |event| {
        list_location_packages::function_handler(service, event)
    }))
    .await
}
