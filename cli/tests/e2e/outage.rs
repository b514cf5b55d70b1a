//! A store outage (README "Errors" and "Authorizer output"): the authorizer's dependency failure is a 500
//! `authorizer_unavailable`, never an Allow and never a cached answer that outlives the outage; a
//! route whose store fails answers 500 `internal_error` without detail. Only DynamoDB Local can lose
//! its table under a running `serve`; on the embedded store the scenario is skipped.

use gatehouse_testkit::serve::{Serve, StoreKind};
use serde_json::json;

use crate::common::{GatewayAnswer, create_key, expect_invalid_api_key, get, me, signed_in};

/// Deletes the table under the running `serve`, then recreates it with `gatehouse init`.
pub async fn store_outage_is_a_500(serve: &Serve) {
    let StoreKind::DynamoDbLocal { endpoint } = serve.kind() else {
        eprintln!("skipping: the embedded store cannot be taken away from a running serve");
        return;
    };
    let table = serve.table().unwrap().to_owned();
    let session = signed_in(serve, "user_outage", "signer");
    let unused_session = serve.mint("user_outage");
    let used = create_key(serve, &session, json!({"name": "used"})).await;
    let unused = create_key(serve, &session, json!({"name": "unused"})).await;
    me(serve, &used.key).await;

    let sdk = gatehouse_testkit::servers::sdk_config(endpoint).await;
    aws_sdk_dynamodb::Client::new(&sdk)
        .delete_table()
        .table_name(&table)
        .send()
        .await
        .unwrap();

    // Uncached callers: the authorizer cannot read the store.
    for token in [unused.key.as_str(), unused_session.as_str()] {
        get(serve, "/v1/me", token)
            .await
            .expect_gateway(serve, GatewayAnswer::AuthorizerUnavailable);
    }
    // A cached session reaches the route, whose store read fails.
    get(serve, "/v1/me/keys", &session)
        .await
        .expect_error(500, "internal_error", "internal error");

    // The store is back (empty): the failures were not cached.
    serve.cli_ok(&["init"]);
    serve.users_put("user_outage", "signer", &[]);
    let body = me(serve, &unused_session).await;
    assert_eq!(body["userId"], "user_outage");
    assert_eq!(body["role"], "signer");
    expect_invalid_api_key(&get(serve, "/v1/me", &unused.key).await);
}
