//! `GET /health`: answers `200 {"status":"ok"}` without touching any dependency, so it says the API and
//! its Lambda integration are up. It sits outside the authorizer (`Auth: NONE` in `template.yaml`).

use lambda_http::{Body, Error, Request, Response};

/// Handles one request.
pub async fn function_handler(_request: Request) -> Result<Response<Body>, Error> {
    Ok(Response::builder()
        .status(200)
        .header("content-type", "application/json")
        .body(Body::from(serde_json::json!({"status": "ok"}).to_string()))?)
}
