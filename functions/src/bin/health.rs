//! `GET /health`: the route `Route::Health` of `gatehouse::routes` (200 {"status":"ok"}, no authorizer, no dependency).

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), gatehouse::lambda_http::Error> {
    gatehouse::routes::run_lambda(gatehouse::routes::Route::Health).await
}
