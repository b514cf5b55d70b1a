//! The `gatehouse` command as a library, so its parts (template reader, API Gateway emulator, embedded
//! store, dev signing key) are testable on their own and the binary stays a thin `main.rs`.

pub mod cli;
pub mod commands;
pub mod demo;
pub mod devkey;
pub mod embedded;
pub mod fuzzing;
pub mod gateway;
pub mod home;
pub mod serve;
pub mod sigv4;
pub mod store_target;
pub mod template;
