//! The Lambda REQUEST authorizer for both API types (`gatehouse::authorizer`): Clerk session JWTs and
//! API keys, answered with an IAM policy (REST API, HTTP API payload 1.0) or a simple response (HTTP
//! API payload 2.0).

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), gatehouse::lambda_runtime::Error> {
    gatehouse::authorizer::run_lambda().await
}
