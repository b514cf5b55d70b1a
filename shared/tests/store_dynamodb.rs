//! Store conformance against DynamoDB Local (AWS's own engine, reached by the real AWS SDK over HTTP).
//!
//! The unit tests in `store/dynamo.rs` only round-trip items through the mapping functions in memory.
//! This file proves what they cannot: that the items, keys, condition and update expressions,
//! transactions, table schema and `gsi1` index are accepted by a real DynamoDB engine and behave as
//! the store promises (the per-user key limit under concurrency, ordering, revocation, the last-use
//! throttle), that nothing the table holds is a plaintext API key, that a corrupt item or an
//! unreachable store is an error (never a decision), and that the API-key decisions of README "API
//! keys" come out right end to end through `Authorizer::decide`.
//!
//! The tests themselves live in `gatehouse_testkit::conformance`, so the embedded engine of the cli
//! runs the very same suite. Each test gets its own fresh table, so they run in parallel; without
//! DynamoDB Local they are skipped (or fail, under `GATEHOUSE_TEST_REQUIRE_SERVERS=1`), except the
//! ones that point a store at a closed loopback port and need no server at all.

use gatehouse::store::dynamo::DynamoStore;
use gatehouse_testkit::servers::{dynamodb_endpoint, fresh_store};

/// A store on a new, empty table in DynamoDB Local, or `None` to skip.
async fn fresh_store_or_skip() -> Option<DynamoStore> {
    let endpoint = dynamodb_endpoint()?;
    Some(fresh_store(&endpoint).await)
}

gatehouse_testkit::store_conformance_tests!(fresh_store_or_skip);

/// The in-memory store's listings equal DynamoDB Local's for random data and random page walks.
#[test]
fn memory_listings_equal_dynamodb_local() {
    let Some(endpoint) = dynamodb_endpoint() else {
        return;
    };
    gatehouse_testkit::listing_properties::memory_listings_equal_dynamodb(12, || {
        let endpoint = endpoint.clone();
        async move { fresh_store(&endpoint).await }
    });
}
