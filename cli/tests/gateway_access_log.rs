//! The gateway's access log: one line per request with the decision, never a token, header, query
//! string or body. In its own test binary because it installs the global tracing subscriber.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use gatehouse_cli::gateway::{FunctionError, Gateway, GatewayOptions, LambdaFunction};
use gatehouse_cli::template::Template;
use serde_json::{Value, json};

const TEMPLATE: &str = r#"
Resources:
  Api:
    Type: AWS::Serverless::Api
    Properties:
      StageName: prod
      Auth:
        DefaultAuthorizer: Lambda
        Authorizers:
          Lambda:
            FunctionArn: !GetAtt Auth.Arn
            FunctionPayloadType: REQUEST
            Identity: { Headers: [Authorization] }
  Auth:
    Type: AWS::Serverless::Function
    Properties: { CodeUri: fns/auth }
  Route:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: fns/route
      Events:
        Me:
          Type: Api
          Properties: { RestApiId: !Ref Api, Path: /v1/me, Method: POST }
        Open:
          Type: Api
          Properties: { RestApiId: !Ref Api, Path: /open, Method: GET, Auth: { Authorizer: NONE } }
"#;

#[derive(Clone, Default)]
struct Sink(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

async fn authorizer(event: Value) -> Result<Value, FunctionError> {
    let user = event["headers"]["authorization"]
        .as_str()
        .unwrap()
        .trim_start_matches("Bearer ")
        .to_owned();
    Ok(json!({
        "principalId": user,
        "policyDocument": {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "arn:aws:execute-api:*:*:*/prod/*/*"}
        ]},
        "context": {"authType": "session"}
    }))
}

async fn route(_event: Value) -> Result<Value, FunctionError> {
    Ok(json!({"statusCode": 200, "body": "{}"}))
}

#[tokio::test]
async fn the_access_log_has_the_decision_but_no_secrets() {
    let sink = Sink::default();
    let writer = sink.clone();
    tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .init();

    let mut functions: HashMap<String, Arc<dyn LambdaFunction>> = HashMap::new();
    functions.insert("fns/auth".into(), Arc::new(authorizer));
    functions.insert("fns/route".into(), Arc::new(route));
    let gateway = Gateway::new(
        Template::parse(TEMPLATE).unwrap(),
        functions,
        GatewayOptions::default(),
    )
    .unwrap();
    let call = |method: &str, uri: &str, token: Option<&str>| {
        let mut builder = http::Request::builder().method(method).uri(uri);
        if let Some(token) = token {
            builder = builder.header("authorization", token);
        }
        builder
            .header("x-secret-header", "h3ad3r")
            .body(Bytes::from_static(b"{\"password\":\"b0dy\"}"))
            .unwrap()
    };
    let token = "Bearer user_42";
    assert_eq!(
        gateway
            .handle(call("POST", "/v1/me?secret=s3cr3t", Some(token)))
            .await
            .status(),
        200
    );
    gateway.handle(call("POST", "/v1/me", Some(token))).await;
    gateway.handle(call("GET", "/open", None)).await;
    gateway.handle(call("POST", "/v1/me", None)).await;

    let logs = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<&str> = logs
        .lines()
        .filter(|line| line.contains("gatehouse::access"))
        .collect();
    assert_eq!(lines.len(), 4, "{logs}");
    let has = |line: &str, field: &str, value: &str| {
        line.contains(&format!("{field}={value}")) || line.contains(&format!("{field}=\"{value}\""))
    };
    assert!(
        has(lines[0], "method", "POST") && has(lines[0], "path", "/v1/me"),
        "{logs}"
    );
    assert!(
        has(lines[0], "status", "200") && has(lines[0], "user", "user_42"),
        "{logs}"
    );
    assert!(
        has(lines[0], "auth_type", "session") && has(lines[0], "cache", "miss"),
        "{logs}"
    );
    assert!(lines[0].contains("duration_ms="), "{logs}");
    assert!(has(lines[1], "cache", "hit"), "{logs}");
    assert!(
        has(lines[2], "user", "-") && has(lines[2], "cache", "-"),
        "{logs}"
    );
    assert!(
        has(lines[3], "status", "401") && has(lines[3], "auth_type", "-"),
        "{logs}"
    );
    for secret in ["s3cr3t", "secret=", "Bearer", "h3ad3r", "b0dy"] {
        assert!(!logs.contains(secret), "{secret} in {logs}");
    }
}
