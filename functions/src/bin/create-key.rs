//! `POST /v1/me/keys`: the route `Route::CreateKey` of `gatehouse::routes` (create an API key).

fn main() -> Result<(), gatehouse::lambda_http::Error> {
    gatehouse::routes::lambda_main(const { gatehouse::routes::Route::CreateKey.lambda() })
}
