//! The store conformance suite (`gatehouse_testkit::conformance`, the same tests DynamoDB Local runs in
//! `shared/tests/store_dynamodb.rs`) against the embedded engine `gatehouse serve` uses: dynoxide,
//! reached over HTTP by the real AWS SDK. It needs no external server, so it always runs.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use gatehouse::store::dynamo::DynamoStore;
use gatehouse_cli::embedded::Embedded;
use gatehouse_testkit::servers::unique_name;

/// A store on a new, empty table of a fresh in-memory engine. The engine serves until the test's
/// runtime ends (its handle is leaked on purpose: dropping it would stop the engine mid-test).
async fn embedded_store() -> Option<DynamoStore> {
    let embedded = Embedded::start_in_memory().await.unwrap();
    let store = DynamoStore::new(
        aws_sdk_dynamodb::Client::new(embedded.sdk_config()),
        unique_name("gatehouse-conformance"),
    );
    store.create_table_if_missing().await.unwrap();
    Box::leak(Box::new(embedded));
    Some(store)
}

gatehouse_testkit::store_conformance_tests!(embedded_store);

/// The in-memory store's listings equal the embedded engine's for random data and random page walks.
#[test]
fn memory_listings_equal_the_embedded_engine() {
    gatehouse_testkit::listing_properties::memory_listings_equal_dynamodb(24, || async {
        embedded_store().await.unwrap()
    });
}
