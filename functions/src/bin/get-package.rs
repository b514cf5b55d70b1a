//! `GET /v1/signing/packages/{packageId}`: the route `Route::GetPackage` of `gatehouse::routes`.

fn main() -> Result<(), gatehouse::lambda_http::Error> {
    gatehouse::routes::lambda_main(const { gatehouse::routes::Route::GetPackage.lambda() })
}
