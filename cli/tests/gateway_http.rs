//! The gateway over real HTTP through [`gatehouse_cli::gateway::router`]: extra routes win, everything
//! else reaches the gateway, bodies over API Gateway's 10 MB limit get a 413 gateway response, and the
//! client address reaches `requestContext.identity.sourceIp`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use gatehouse_cli::gateway::{
    FunctionError, Gateway, GatewayOptions, LambdaFunction, MAX_BODY_BYTES, router,
};
use gatehouse_cli::template::Template;
use serde_json::{Value, json};

const TEMPLATE: &str = r#"
Resources:
  Api:
    Type: AWS::Serverless::Api
    Properties:
      StageName: dev
      GatewayResponses:
        DEFAULT_4XX:
          ResponseParameters:
            Headers: { Content-Type: "'application/json'" }
          ResponseTemplates:
            application/json: '{"error":$context.error.messageString,"code":"bad_request","type":"$context.error.responseType"}'
  Echo:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: fns/echo
      Events:
        Any:
          Type: Api
          Properties: { RestApiId: !Ref Api, Path: "/{proxy+}", Method: ANY }
"#;

async fn echo(event: Value) -> Result<Value, FunctionError> {
    Ok(json!({
        "statusCode": 200,
        "body": json!({
            "path": event["path"],
            "proxy": event["pathParameters"]["proxy"],
            "sourceIp": event["requestContext"]["identity"]["sourceIp"],
            "bodyLength": event["body"].as_str().map_or(0, str::len),
        }).to_string()
    }))
}

async fn serve() -> SocketAddr {
    let mut functions: HashMap<String, Arc<dyn LambdaFunction>> = HashMap::new();
    functions.insert("fns/echo".into(), Arc::new(echo));
    let gateway = Gateway::new(
        Template::parse(TEMPLATE).unwrap(),
        functions,
        GatewayOptions::default(),
    )
    .unwrap();
    let extra = axum::Router::new().route(
        "/.well-known/jwks.json",
        axum::routing::get(|| async { "{\"keys\":[]}" }),
    );
    let app = router(Arc::new(gateway), extra);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    address
}

#[tokio::test]
async fn extra_routes_win_and_everything_else_reaches_the_gateway() {
    let address = serve().await;
    let client = reqwest::Client::new();
    let jwks = client
        .get(format!("http://{address}/.well-known/jwks.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(jwks.status(), 200);
    assert_eq!(jwks.text().await.unwrap(), "{\"keys\":[]}");

    let echoed = client
        .post(format!("http://{address}/a/b%20c?q=1"))
        .body("hello")
        .send()
        .await
        .unwrap();
    assert_eq!(echoed.status(), 200);
    assert_eq!(echoed.headers()["content-type"], "application/json");
    assert!(echoed.headers().contains_key("x-amzn-requestid"));
    let body: Value = echoed.json().await.unwrap();
    assert_eq!(body["path"], "/a/b%20c");
    assert_eq!(body["proxy"], "a/b c");
    assert_eq!(body["sourceIp"], "127.0.0.1");
    assert_eq!(body["bodyLength"], 5);

    let root = client
        .get(format!("http://{address}/"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        root.status(),
        403,
        "no route at / and no MISSING_AUTHENTICATION_TOKEN override"
    );
    let body: Value = root.json().await.unwrap();
    assert_eq!(
        body,
        json!({"error": "Missing Authentication Token", "code": "bad_request", "type": "MISSING_AUTHENTICATION_TOKEN"})
    );
}

#[tokio::test]
async fn bodies_over_ten_megabytes_are_413() {
    let address = serve().await;
    let client = reqwest::Client::new();
    let at_limit = client
        .put(format!("http://{address}/upload"))
        .body(vec![b'a'; MAX_BODY_BYTES])
        .send()
        .await
        .unwrap();
    assert_eq!(at_limit.status(), 200);
    let body: Value = at_limit.json().await.unwrap();
    assert_eq!(body["bodyLength"], MAX_BODY_BYTES);

    let over = client
        .put(format!("http://{address}/upload"))
        .body(vec![b'a'; MAX_BODY_BYTES + 1])
        .send()
        .await
        .unwrap();
    assert_eq!(over.status(), 413);
    let body: Value = over.json().await.unwrap();
    assert_eq!(body["type"], "REQUEST_TOO_LARGE");
    assert_eq!(body["code"], "bad_request");

    // Without a Content-Length (chunked), the limit is enforced while reading.
    let status_line = tokio::task::spawn_blocking(move || {
        use std::io::{BufRead, BufReader, Write};
        let mut stream = std::net::TcpStream::connect(address).unwrap();
        write!(
            stream,
            "PUT /upload HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        .unwrap();
        let chunk = vec![b'a'; 1024 * 1024];
        for _ in 0..11 {
            // The server may answer and stop reading once over the limit.
            if write!(stream, "{:x}\r\n", chunk.len()).is_err()
                || stream.write_all(&chunk).is_err()
                || stream.write_all(b"\r\n").is_err()
            {
                break;
            }
        }
        let _ = stream.write_all(b"0\r\n\r\n");
        let mut line = String::new();
        BufReader::new(stream).read_line(&mut line).unwrap();
        line
    })
    .await
    .unwrap();
    assert!(status_line.starts_with("HTTP/1.1 413"), "{status_line}");
}
