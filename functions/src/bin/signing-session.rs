//! `GET /v1/signing/session`: the route `Route::SigningSession` of `gatehouse::routes` (the caller's assigned signing packages).

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), gatehouse::lambda_http::Error> {
    gatehouse::routes::run_lambda(gatehouse::routes::Route::SigningSession).await
}
