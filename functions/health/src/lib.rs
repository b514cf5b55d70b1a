//! `GET /health`: answers `200 {"status":"ok"}` without touching any dependency, so it says the API and
//! its Lambda integration are up. It sits outside the authorizer (`Auth: NONE` in `template.yaml`).

use aws_lambda_events::apigw::{ApiGatewayProxyRequest, ApiGatewayProxyResponse};
use lambda_runtime::{Error, LambdaEvent};

/// Handles one request.
pub async fn function_handler(
    _event: LambdaEvent<ApiGatewayProxyRequest>,
) -> Result<ApiGatewayProxyResponse, Error> {
    Ok(gatehouse::api::json_response(
        200,
        &serde_json::json!({"status": "ok"}),
    ))
}
