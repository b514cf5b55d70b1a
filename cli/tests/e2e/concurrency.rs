//! The active-key limit under concurrency: 50 parallel creates for one user end with exactly 25
//! keys (README "API keys": 409 `key_limit_reached` beyond 25).

use gatehouse_testkit::serve::Serve;

use crate::common::{list_keys, post_keys, signed_in};

/// Parallel creates.
const CREATES: usize = 50;
/// The limit.
const LIMIT: usize = 25;

/// 50 parallel `POST /v1/me/keys` => 25 × 201 and 25 × 409; the list shows 25 active keys.
pub async fn fifty_parallel_creates_end_with_25(serve: &Serve) {
    let session = signed_in(serve, "user_busy", "signer");
    let mut tasks = Vec::new();
    for i in 0..CREATES {
        // Each task needs its own owned request; the client is cheap to clone.
        let builder = serve
            .client()
            .post(serve.url("/v1/me/keys"))
            .header("Authorization", format!("Bearer {session}"))
            .header("Content-Type", "application/json")
            .body(format!(r#"{{"name":"parallel {i}"}}"#));
        tasks.push(tokio::spawn(crate::common::send(builder)));
    }
    let mut created = Vec::new();
    let mut refused = 0;
    for task in tasks {
        let reply = task.await.unwrap();
        match reply.status {
            201 => created.push(reply.body["id"].as_str().unwrap().to_owned()),
            409 => {
                reply.expect_error(
                    409,
                    "key_limit_reached",
                    "you already have 25 active api keys; revoke one before creating another",
                );
                refused += 1;
            }
            other => panic!("unexpected {other}: {}", reply.text),
        }
    }
    assert_eq!(created.len(), LIMIT, "201s");
    assert_eq!(refused, CREATES - LIMIT, "409s");

    let listed = list_keys(serve, &session).await;
    assert_eq!(listed.len(), LIMIT, "{listed:?}");
    assert!(listed.iter().all(|k| k["active"] == true), "{listed:?}");
    let mut listed_ids: Vec<String> = listed
        .iter()
        .map(|k| k["id"].as_str().unwrap().to_owned())
        .collect();
    listed_ids.sort();
    created.sort();
    assert_eq!(listed_ids, created);

    // One more is refused; after a revoke, one more fits.
    post_keys(serve, &session, r#"{"name":"one too many"}"#)
        .await
        .expect_status(409);
    crate::common::revoke(serve, &session, &created[0])
        .await
        .expect_status(200);
    post_keys(serve, &session, r#"{"name":"room again"}"#)
        .await
        .expect_status(201);
}
