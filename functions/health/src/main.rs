//! Runs the health handler under the Lambda runtime.

use lambda_runtime::{Error, run, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    gatehouse::logging::init();
    run(service_fn(health::function_handler)).await
}
