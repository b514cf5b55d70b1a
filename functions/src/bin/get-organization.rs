//! `GET /v1/organizations/{orgId}`: the route `Route::GetOrganization` of `gatehouse::routes` (one organization in the caller's scope).

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), gatehouse::lambda_http::Error> {
    gatehouse::routes::run_lambda(gatehouse::routes::Route::GetOrganization).await
}
