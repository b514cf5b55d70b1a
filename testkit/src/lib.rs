//! Test support shared by every crate's tests (never a dependency of a Lambda binary): the dev-only RSA
//! keys under `testdata/`, token minting with arbitrary headers and claims, a real HTTP JWKS server with
//! failure modes and a fetch counter, clients for the DynamoDB Local and moto servers that
//! `scripts/test` starts on loopback ports, and the store conformance suite
//! ([`store_conformance_tests!`]) every DynamoDB engine must pass.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

pub mod clerk_backend;
pub mod conformance;
pub mod faulty_proxy;
pub mod fuzz_corpus;
pub mod jwks_server;
pub mod listing_properties;
pub mod samples;
pub mod serve;
pub mod servers;
pub mod svix;
pub mod tokens;
