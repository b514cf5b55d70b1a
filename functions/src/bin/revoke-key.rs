//! `DELETE /v1/me/keys/{id}`: the route `Route::RevokeKey` of `gatehouse::routes` (revoke an API key).

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), gatehouse::lambda_http::Error> {
    gatehouse::routes::run_lambda(gatehouse::routes::Route::RevokeKey).await
}
