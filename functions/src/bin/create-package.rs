//! `POST /v1/signing/manager/signings`: the route `Route::CreatePackage` of `gatehouse::routes` (create a signing package).

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), gatehouse::lambda_http::Error> {
    gatehouse::routes::run_lambda(gatehouse::routes::Route::CreatePackage).await
}
