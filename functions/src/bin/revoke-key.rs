//! `DELETE /v1/me/keys/{id}`: the route `Route::RevokeKey` of `gatehouse::routes` (revoke an API key).

fn main() -> Result<(), gatehouse::lambda_http::Error> {
    gatehouse::routes::lambda_main(const { gatehouse::routes::Route::RevokeKey.lambda() })
}
