//! `GET /v1/organizations/{orgId}/companies`: the route `Route::ListCompanies` of `gatehouse::routes`.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), gatehouse::lambda_http::Error> {
    gatehouse::routes::run_lambda(gatehouse::routes::Route::ListCompanies).await
}
