//! `GET /v1/me`: the caller as the authorizer resolved it, with the API key the request is scoped to (`X-Use-Api-Key`, resolved per request). The logic lives in
//! [`gatehouse::self_service`]; this crate adapts the Lambda event envelope to it.

use aws_lambda_events::apigw::{ApiGatewayProxyRequest, ApiGatewayProxyResponse};
use gatehouse::self_service::{KeyService, routes};
use gatehouse::store::KeyStore;
use lambda_runtime::{Error, LambdaEvent};

/// Handles one request. Every outcome, failures included, is an HTTP response.
pub async fn function_handler<S: KeyStore>(
    service: &KeyService<S>,
    event: LambdaEvent<ApiGatewayProxyRequest>,
) -> Result<ApiGatewayProxyResponse, Error> {
    Ok(routes::me(service, &event.payload).await)
}
