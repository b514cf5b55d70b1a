//! The `gatehouse` command's parsers of untrusted input as fuzz targets: the template reader (a
//! `template.yaml` is anyone's file) and the emulator's request path decoding and route lookup (any
//! local client can send any path). `fuzz/` drives them with libFuzzer; `cli/tests/fuzz_replay.rs`
//! replays their corpora on stable. Neither may panic on any input.

// Fuzz targets report a broken invariant by panicking: that is how libFuzzer learns of it.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use std::sync::OnceLock;

use crate::gateway::routes::{RouteTable, percent_decode};
use crate::template::Template;

/// A fuzz target: any bytes in; panics when its invariant does not hold.
pub type Target = fn(&[u8]);

/// Every target, by the name of its `fuzz/fuzz_targets/<name>.rs` and `fuzz/corpus/<name>/`.
pub const TARGETS: &[(&str, Target)] = &[("template", template), ("gateway_path", gateway_path)];

/// A SAM template: parsed or refused with an error, never a panic; an accepted template's routes
/// build a route table or are refused.
pub fn template(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let Ok(template) = Template::parse(&text) else {
        return;
    };
    let names = template.required_implementations();
    assert!(names.windows(2).all(|w| matches!(w, [a, b] if a < b)));
    for (function, route) in template.routes().chain(template.http_routes()) {
        assert!(route.path.starts_with('/'), "{:?}", route.path);
        assert!(names.iter().any(|name| name == function.implementation()));
    }
}

fn built_in_routes() -> &'static RouteTable<String> {
    static TABLE: OnceLock<RouteTable<String>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let template = Template::parse(crate::serve::BUILT_IN_TEMPLATE).expect("the template");
        RouteTable::build_with(template.routes().map(|(function, route)| {
            (
                route.path.clone(),
                route.method.clone(),
                route.event.clone(),
                function.implementation().to_owned(),
            )
        }))
        .expect("the template's routes")
    })
}

/// A request line as the emulator sees it: the method (first line) and the raw path (the rest),
/// looked up in the routes of the built-in template.
pub fn gateway_path(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (method, path) = text.split_once('\n').unwrap_or(("GET", &text));
    let decoded = percent_decode(path);
    // An escape is three bytes for one; an invalid one decodes to U+FFFD, three bytes again.
    assert!(decoded.len() <= path.len(), "{path:?}");
    if !path.contains('%') {
        assert_eq!(decoded, path);
    }
    let Some(found) = built_in_routes().lookup(method, path) else {
        return;
    };
    assert!(path.starts_with('/'));
    // Every route leads to one of the route table's binaries.
    assert!(
        gatehouse::routes::Route::ALL
            .iter()
            .any(|route| route.binary() == found.target),
        "{}",
        found.target
    );
    for (name, value) in &found.path_parameters {
        assert!(!name.is_empty());
        assert!(
            !value.is_empty(),
            "{name} matched an empty segment in {path:?}"
        );
    }
}
