//! `GET /v1/me/keys`: the route `Route::ListKeys` of `gatehouse::routes` (the caller's API keys, metadata only).

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), gatehouse::lambda_http::Error> {
    gatehouse::routes::run_lambda(gatehouse::routes::Route::ListKeys).await
}
