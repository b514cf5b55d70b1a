//! `GET /.well-known/oauth-protected-resource` (and `.../mcp`): the route `Route::ProtectedResource`
//! of `gatehouse::routes` (RFC 9728 metadata; no authorizer).

fn main() -> Result<(), gatehouse::lambda_http::Error> {
    gatehouse::routes::lambda_main(const { gatehouse::routes::Route::ProtectedResource.lambda() })
}
