//! The authorizer binary's path from JSON event to answer (`gatehouse::authorizer`), for every event
//! shape API Gateway sends: REST REQUEST events against DynamoDB Local (`handler`), the sample events
//! in `events/` and their HTTP API twins (`events`), and HTTP API payload 2.0 events and the shapes
//! the authorizer refuses (`http_api`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;
mod events;
mod handler;
mod http_api;
