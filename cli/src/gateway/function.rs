//! A Lambda function as the gateway sees it: a JSON event in, a JSON result or a function error out —
//! exactly what the Lambda runtime exchanges — so the emulator exercises the functions' real event
//! (de)serialization instead of calling typed Rust handlers directly.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// What [`LambdaFunction::invoke`] returns.
pub type InvokeFuture<'a> = Pin<Box<dyn Future<Output = Result<Value, FunctionError>> + Send + 'a>>;

/// A Lambda function: JSON event in, JSON result out (exactly what the runtime passes).
pub trait LambdaFunction: Send + Sync {
    /// Invokes the function with `event`.
    fn invoke(&self, event: Value) -> InvokeFuture<'_>;
}

/// Any `Fn(Value) -> impl Future<Output = Result<Value, FunctionError>>` is a function (handy for
/// tests and adapters).
impl<F, Fut> LambdaFunction for F
where
    F: Fn(Value) -> Fut + Send + Sync,
    Fut: Future<Output = Result<Value, FunctionError>> + Send + 'static,
{
    fn invoke(&self, event: Value) -> InvokeFuture<'_> {
        Box::pin(self(event))
    }
}

/// A function error, as Lambda reports it (`errorType`, `errorMessage`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{error_type}: {message}")]
pub struct FunctionError {
    #[serde(rename = "errorType")]
    pub error_type: String,
    #[serde(rename = "errorMessage")]
    pub message: String,
}

impl FunctionError {
    /// A function error.
    pub fn new(error_type: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            error_type: error_type.into(),
            message: message.into(),
        }
    }
}

impl From<lambda_runtime::Diagnostic> for FunctionError {
    fn from(diagnostic: lambda_runtime::Diagnostic) -> Self {
        Self::new(diagnostic.error_type, diagnostic.error_message)
    }
}

/// Adapts a typed handler (`LambdaEvent<Req>` in, `Result<Resp, lambda_runtime::Error>` out) the way
/// the Lambda runtime runs it: the event is deserialized into `Req` (a failure is a function error,
/// as in the runtime), the handler's error becomes the [`lambda_runtime::Diagnostic`] the runtime
/// would report, and the response is serialized to JSON.
pub fn lambda_handler<Req, Resp, F, Fut>(handler: F) -> Arc<dyn LambdaFunction>
where
    Req: DeserializeOwned + Send + 'static,
    Resp: Serialize + 'static,
    F: Fn(lambda_runtime::LambdaEvent<Req>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Resp, lambda_runtime::Error>> + Send + 'static,
{
    Arc::new(TypedHandler {
        handler,
        types: std::marker::PhantomData,
    })
}

struct TypedHandler<F, Req, Resp> {
    handler: F,
    types: std::marker::PhantomData<fn(Req) -> Resp>,
}

impl<Req, Resp, F, Fut> LambdaFunction for TypedHandler<F, Req, Resp>
where
    Req: DeserializeOwned + Send + 'static,
    Resp: Serialize + 'static,
    F: Fn(lambda_runtime::LambdaEvent<Req>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Resp, lambda_runtime::Error>> + Send + 'static,
{
    fn invoke(&self, event: Value) -> InvokeFuture<'_> {
        let payload = match serde_json::from_value::<Req>(event) {
            Ok(payload) => payload,
            Err(error) => {
                // The runtime's own wording and type for an event it cannot deserialize.
                let failure = FunctionError::new(
                    "&lambda_runtime::deserializer::DeserializeError",
                    format!(
                        "failed to deserialize the incoming data into the function's payload type: {error}\n"
                    ),
                );
                return Box::pin(async move { Err(failure) });
            }
        };
        let mut context = lambda_runtime::Context::default();
        context.request_id = super::events::random_request_id();
        let future = (self.handler)(lambda_runtime::LambdaEvent::new(payload, context));
        Box::pin(async move {
            let response = future
                .await
                .map_err(|error| FunctionError::from(lambda_runtime::Diagnostic::from(error)))?;
            serde_json::to_value(response).map_err(|error| {
                FunctionError::new(
                    "Runtime.SerializationError",
                    format!("cannot serialize the function's response: {error}"),
                )
            })
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )]

    use serde_json::json;

    use super::*;

    #[tokio::test]
    async fn closures_are_functions() {
        let echo = |event: Value| async move { Ok(json!({"got": event})) };
        assert_eq!(echo.invoke(json!(1)).await.unwrap(), json!({"got": 1}));
    }

    #[tokio::test]
    async fn typed_handlers_behave_like_the_runtime() {
        #[derive(serde::Deserialize)]
        struct In {
            n: u32,
        }
        let function = lambda_handler(|event: lambda_runtime::LambdaEvent<In>| async move {
            assert!(!event.context.request_id.is_empty());
            if event.payload.n == 0 {
                return Err(lambda_runtime::Error::from("zero"));
            }
            Ok(json!({"double": event.payload.n * 2}))
        });
        assert_eq!(
            function.invoke(json!({"n": 2})).await.unwrap(),
            json!({"double": 4})
        );
        let failed = function.invoke(json!({"n": 0})).await.unwrap_err();
        assert_eq!(failed.message, "zero");
        assert!(!failed.error_type.is_empty());
        let unparsable = function.invoke(json!({"n": "x"})).await.unwrap_err();
        assert!(unparsable.message.starts_with("failed to deserialize"));
        assert_eq!(
            serde_json::to_value(&failed).unwrap()["errorMessage"],
            "zero"
        );
    }
}
