//! `GET /v1/me/keys/{id}`: the route `Route::GetKey` of `gatehouse::routes` (one of the caller's keys).

fn main() -> Result<(), gatehouse::lambda_http::Error> {
    gatehouse::routes::lambda_main(const { gatehouse::routes::Route::GetKey.lambda() })
}
