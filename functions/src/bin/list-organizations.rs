//! `GET /v1/organizations`: the route `Route::ListOrganizations` of `gatehouse::routes` (the organizations in the caller's scope).

fn main() -> Result<(), gatehouse::lambda_http::Error> {
    gatehouse::routes::lambda_main(const { gatehouse::routes::Route::ListOrganizations.lambda() })
}
