//! `GET /health`: the route `Route::Health` of `gatehouse::routes` (200 {"status":"ok"}, no authorizer, no dependency).

fn main() -> Result<(), gatehouse::lambda_http::Error> {
    gatehouse::routes::lambda_main(const { gatehouse::routes::Route::Health.lambda() })
}
