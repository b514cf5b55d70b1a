//! The Lambda REQUEST authorizer for the REST API. All logic lives in [`gatehouse::authorizer`]; this
//! crate only adapts the Lambda runtime's event envelope to it. A decision is an Allow or a Deny
//! response; a dependency failure is returned as an error, which the runtime reports as a function
//! error and API Gateway answers with its `AUTHORIZER_FAILURE` response (500), never an Allow.

use aws_lambda_events::apigw::ApiGatewayCustomAuthorizerRequestTypeRequest;
use gatehouse::authorizer::Authorizer;
use gatehouse::policy::AuthorizerResponse;
use gatehouse::store::AuthStore;
use lambda_runtime::{Error, LambdaEvent};

/// Handles one invocation.
pub async fn function_handler<S: AuthStore + 'static>(
    authorizer: &Authorizer<S>,
    event: LambdaEvent<ApiGatewayCustomAuthorizerRequestTypeRequest>,
) -> Result<AuthorizerResponse, Error> {
    Ok(authorizer.handle(&event.payload).await?)
}
