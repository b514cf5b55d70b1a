//! `GET /v1/organizations`: the route `Route::ListOrganizations` of `gatehouse::routes` (the organizations in the caller's scope).

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), gatehouse::lambda_http::Error> {
    gatehouse::routes::run_lambda(gatehouse::routes::Route::ListOrganizations).await
}
