//! `POST /v1/signing/manager/signings`: the route `Route::CreatePackage` of `gatehouse::routes` (create a signing package).

fn main() -> Result<(), gatehouse::lambda_http::Error> {
    gatehouse::routes::lambda_main(const { gatehouse::routes::Route::CreatePackage.lambda() })
}
