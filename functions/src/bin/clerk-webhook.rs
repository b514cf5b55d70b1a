//! `POST /v1/webhooks/clerk` (Clerk's signed webhooks): the route `Route::ClerkWebhook` of `gatehouse::routes`.

fn main() -> Result<(), gatehouse::lambda_http::Error> {
    gatehouse::routes::lambda_main(const { gatehouse::routes::Route::ClerkWebhook.lambda() })
}
