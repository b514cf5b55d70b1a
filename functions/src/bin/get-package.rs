//! `GET /v1/signing/packages/{packageId}`: the route `Route::GetPackage` of `gatehouse::routes`.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), gatehouse::lambda_http::Error> {
    gatehouse::routes::run_lambda(gatehouse::routes::Route::GetPackage).await
}
