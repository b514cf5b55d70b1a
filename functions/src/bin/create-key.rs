//! `POST /v1/me/keys`: the route `Route::CreateKey` of `gatehouse::routes` (create an API key).

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), gatehouse::lambda_http::Error> {
    gatehouse::routes::run_lambda(gatehouse::routes::Route::CreateKey).await
}
