//! `DELETE /v1/me/keys/{id}`: revokes one of the signed-in user's API keys (kept for audit). The logic lives in
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
    Ok(routes::revoke(service, &event.payload).await)
}
