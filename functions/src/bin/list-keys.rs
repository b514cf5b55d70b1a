//! `GET /v1/me/keys`: the route `Route::ListKeys` of `gatehouse::routes` (the caller's API keys, metadata only).

fn main() -> Result<(), gatehouse::lambda_http::Error> {
    gatehouse::routes::lambda_main(const { gatehouse::routes::Route::ListKeys.lambda() })
}
