//! Gatehouse's shared library: everything the Lambda functions (and the `gatehouse` command) have in
//! common. Each module owns one concern; the function crates stay thin wrappers around it.
//!
//! The authorizer's decision path is `bearer` → (`apikey` | `jwt` + `keys`) → `store` → `principal` →
//! `policy`, orchestrated by `authorizer` and configured once at cold start by `config`. The route functions
//! read the caller back with `api` and run `self_service`.

pub mod access;
pub mod api;
pub mod apikey;
pub mod authorizer;
pub mod bearer;
pub mod clock;
pub mod config;
pub mod error;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
pub mod jwt;
pub mod keys;
pub mod logging;
pub mod policy;
pub mod principal;
pub mod resources;
pub mod secrets;
pub mod self_service;
pub mod store;
pub mod time;
