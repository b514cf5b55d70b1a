//! `GET /v1/organizations/{orgId}/locations`: the route `Route::ListLocations` of `gatehouse::routes`.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), gatehouse::lambda_http::Error> {
    gatehouse::routes::run_lambda(gatehouse::routes::Route::ListLocations).await
}
