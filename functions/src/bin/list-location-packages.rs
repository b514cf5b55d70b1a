//! `GET /v1/locations/{locationId}/packages`: the route `Route::ListLocationPackages` of `gatehouse::routes`.

fn main() -> Result<(), gatehouse::lambda_http::Error> {
    gatehouse::routes::lambda_main(
        const { gatehouse::routes::Route::ListLocationPackages.lambda() },
    )
}
