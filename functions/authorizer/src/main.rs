//! Cold start: JSON logging, configuration, SDK clients, secrets and the key cache are built once, then
//! the runtime loop serves invocations with them. A bad setting fails the init phase with its name.

use gatehouse::authorizer::Authorizer;
use lambda_runtime::{Error, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    gatehouse::logging::init();
    let authorizer = Authorizer::from_env()
        .await
        .inspect_err(|error| tracing::error!(error = %error, "authorizer cold start failed"))?;
    let authorizer = &authorizer;
    lambda_runtime::run(service_fn(move |event| {
        authorizer::function_handler(authorizer, event)
    }))
    .await
}
