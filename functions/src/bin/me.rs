//! `GET /v1/me`: the route `Route::Me` of `gatehouse::routes` (the caller as the authorizer resolved it).

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), gatehouse::lambda_http::Error> {
    gatehouse::routes::run_lambda(gatehouse::routes::Route::Me).await
}
