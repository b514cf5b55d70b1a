//! `GET /v1/signing/session`: the route `Route::SigningSession` of `gatehouse::routes` (the caller's assigned signing packages).

fn main() -> Result<(), gatehouse::lambda_http::Error> {
    gatehouse::routes::lambda_main(const { gatehouse::routes::Route::SigningSession.lambda() })
}
