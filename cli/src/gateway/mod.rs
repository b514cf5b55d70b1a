//! The API Gateway REST emulator.
