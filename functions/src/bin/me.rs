//! `GET /v1/me`: the route `Route::Me` of `gatehouse::routes` (the caller as the authorizer resolved it).

fn main() -> Result<(), gatehouse::lambda_http::Error> {
    gatehouse::routes::lambda_main(const { gatehouse::routes::Route::Me.lambda() })
}
