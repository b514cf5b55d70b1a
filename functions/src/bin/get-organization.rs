//! `GET /v1/organizations/{orgId}`: the route `Route::GetOrganization` of `gatehouse::routes` (one organization in the caller's scope).

fn main() -> Result<(), gatehouse::lambda_http::Error> {
    gatehouse::routes::lambda_main(const { gatehouse::routes::Route::GetOrganization.lambda() })
}
