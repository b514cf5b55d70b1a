//! `GET /v1/organizations/{orgId}/templates`: the route `Route::ListTemplates` of `gatehouse::routes`.

fn main() -> Result<(), gatehouse::lambda_http::Error> {
    gatehouse::routes::lambda_main(const { gatehouse::routes::Route::ListTemplates.lambda() })
}
