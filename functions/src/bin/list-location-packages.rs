//! `GET /v1/locations/{locationId}/packages`: the route `Route::ListLocationPackages` of `gatehouse::routes`.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), gatehouse::lambda_http::Error> {
    gatehouse::routes::run_lambda(gatehouse::routes::Route::ListLocationPackages).await
}
