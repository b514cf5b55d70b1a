//! `GET /v1/organizations/{orgId}/locations`: an organization's locations within the caller's scope (a company-level manager sees only their companies' locations). The logic (parsing, the
//! [`gatehouse::access`] decision, the store reads, the JSON view) lives in [`gatehouse::resources`]; this
//! crate adapts the Lambda event envelope to it.

use aws_lambda_events::apigw::{ApiGatewayProxyRequest, ApiGatewayProxyResponse};
use gatehouse::resources::{ResourceService, routes};
use gatehouse::store::ResourceStore;
use lambda_runtime::{Error, LambdaEvent};

/// Handles one request. Every outcome, failures included, is an HTTP response.
pub async fn function_handler<S: ResourceStore>(
    service: &ResourceService<S>,
    event: LambdaEvent<ApiGatewayProxyRequest>,
) -> Result<ApiGatewayProxyResponse, Error> {
    Ok(routes::list_locations(service, &event.payload).await)
}
