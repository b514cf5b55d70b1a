//! `GET /v1/organizations/{orgId}/locations`: the route `Route::ListLocations` of `gatehouse::routes`.

fn main() -> Result<(), gatehouse::lambda_http::Error> {
    gatehouse::routes::lambda_main(const { gatehouse::routes::Route::ListLocations.lambda() })
}
