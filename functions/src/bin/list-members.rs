//! `GET /v1/organizations/{orgId}/members` (an organization's members): the route `Route::ListMembers` of `gatehouse::routes`.

fn main() -> Result<(), gatehouse::lambda_http::Error> {
    gatehouse::routes::lambda_main(const { gatehouse::routes::Route::ListMembers.lambda() })
}
