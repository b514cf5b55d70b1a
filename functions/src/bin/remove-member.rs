//! `DELETE /v1/organizations/{orgId}/members/{userId}` (remove a member's memberships): the route `Route::RemoveMember` of `gatehouse::routes`.

fn main() -> Result<(), gatehouse::lambda_http::Error> {
    gatehouse::routes::lambda_main(const { gatehouse::routes::Route::RemoveMember.lambda() })
}
