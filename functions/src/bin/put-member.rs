//! `PUT /v1/organizations/{orgId}/members/{userId}` (set a member's role and memberships): the route `Route::PutMember` of `gatehouse::routes`.

fn main() -> Result<(), gatehouse::lambda_http::Error> {
    gatehouse::routes::lambda_main(const { gatehouse::routes::Route::PutMember.lambda() })
}
