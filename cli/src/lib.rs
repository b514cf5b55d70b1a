//! The `gatehouse` command as a library, so its parts (template reader, API Gateway emulator, embedded
//! store, dev signing key) are testable on their own and the binary stays a thin `main.rs`.

pub mod gateway;
pub mod template;
