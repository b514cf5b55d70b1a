//! `GET /v1/organizations/{orgId}/audit` (the organization's audit trail): the route `Route::ListAudit` of `gatehouse::routes`.

fn main() -> Result<(), gatehouse::lambda_http::Error> {
    gatehouse::routes::lambda_main(const { gatehouse::routes::Route::ListAudit.lambda() })
}
