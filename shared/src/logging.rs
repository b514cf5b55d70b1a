//! JSON logs, one object per line, for CloudWatch. The level comes from `AWS_LAMBDA_LOG_LEVEL` (set by
//! the function's logging config) or `RUST_LOG`, default `info`. Nothing in this crate logs tokens, keys
//! or header values; log fields are ids, codes and durations.

use tracing::level_filters::LevelFilter;

/// Installs the global JSON subscriber. Safe to call more than once (later calls do nothing).
pub fn init() {
    let level = ["AWS_LAMBDA_LOG_LEVEL", "RUST_LOG"]
        .iter()
        .find_map(|var| std::env::var(var).ok())
        .and_then(|value| value.trim().parse::<LevelFilter>().ok())
        .unwrap_or(LevelFilter::INFO);
    let _already_set = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(false)
        .with_target(false)
        .with_ansi(false)
        .with_max_level(level)
        .try_init();
}
