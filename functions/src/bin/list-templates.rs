//! `GET /v1/organizations/{orgId}/templates`: the route `Route::ListTemplates` of `gatehouse::routes`.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), gatehouse::lambda_http::Error> {
    gatehouse::routes::run_lambda(gatehouse::routes::Route::ListTemplates).await
}
