//! Gatehouse's shared library: everything the Lambda functions (and the `gatehouse` command) have in
//! common. Each module owns one concern; the binaries in `functions/` stay a few lines over `routes`.
//!
//! The authorizer's decision path is `bearer` → (`apikey` | `jwt` + `keys`) → `store` → `principal` →
//! `policy`, orchestrated by `authorizer` and configured once at cold start by `config`. The route functions
//! read the caller back with `api` and run `self_service`.

pub mod access;
pub mod api;
pub mod apikey;
pub mod authorizer;
pub mod authorizer_event;
pub mod bearer;
pub mod clock;
pub mod coldstart;
pub mod config;
pub mod error;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
pub mod jwt;
pub mod keys;
pub mod logging;
pub mod mcp;
pub mod members;
pub mod oauth;
pub mod opaque_tokens;
pub mod policy;
pub mod principal;
pub mod resources;
pub mod routes;
pub mod secrets;
pub mod self_service;
pub mod store;
pub mod text;
pub mod time;
pub mod webhooks;

// The binaries in `functions/` name the runtime's error types through the library, so they depend on
// nothing but it and tokio.
pub use lambda_http;
pub use lambda_runtime;
