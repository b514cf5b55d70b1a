//! `GET /v1/organizations/{orgId}/companies`: the route `Route::ListCompanies` of `gatehouse::routes`.

fn main() -> Result<(), gatehouse::lambda_http::Error> {
    gatehouse::routes::lambda_main(const { gatehouse::routes::Route::ListCompanies.lambda() })
}
