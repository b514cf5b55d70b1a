//! The authorizer core never depends on route logic: no core module of the library names a route-side
//! module (`api`, `access`, `resources`, `self_service`, `routes`), so the authorizer binary carries
//! none of it and a change to a route cannot change a decision. The core is what the authorizer's
//! decision path is made of (`shared/src/lib.rs` lists it); the store is shared by both sides.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};

const CORE: [&str; 18] = [
    "authorizer.rs",
    "authorizer_event.rs",
    "apikey.rs",
    "bearer.rs",
    "clock.rs",
    "coldstart.rs",
    "config.rs",
    "error.rs",
    "jwt.rs",
    "keys.rs",
    "logging.rs",
    "oauth.rs",
    "opaque_tokens.rs",
    "policy.rs",
    "principal.rs",
    "secrets.rs",
    "text.rs",
    "time.rs",
];

const ROUTE_SIDE: [&str; 8] = [
    "api",
    "access",
    "mcp",
    "members",
    "resources",
    "self_service",
    "routes",
    "webhooks",
];

fn sources(path: &Path, out: &mut Vec<PathBuf>) {
    if path.is_dir() {
        for entry in std::fs::read_dir(path).unwrap() {
            sources(&entry.unwrap().path(), out);
        }
    } else if path.extension().is_some_and(|ext| ext == "rs") {
        out.push(path.to_path_buf());
    }
}

#[test]
fn the_core_never_names_a_route_side_module() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files: Vec<PathBuf> = CORE.iter().map(|name| src.join(name)).collect();
    sources(&src.join("store"), &mut files);
    let mut offences = Vec::new();
    for file in &files {
        let text =
            std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        for (number, line) in text.lines().enumerate() {
            for module in ROUTE_SIDE {
                for needle in [
                    format!("crate::{module}::"),
                    format!("crate::{module};"),
                    format!("crate::{{{module}"),
                    format!("crate::{module} "),
                ] {
                    if line.contains(&needle) {
                        offences.push(format!(
                            "{}:{}: {}",
                            file.display(),
                            number + 1,
                            line.trim()
                        ));
                    }
                }
            }
        }
    }
    assert!(
        offences.is_empty(),
        "core modules naming route-side ones:\n{}",
        offences.join("\n")
    );
}

#[test]
fn every_module_is_core_or_route_side() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let lib = std::fs::read_to_string(src.join("lib.rs")).unwrap();
    for line in lib.lines() {
        let Some(module) = line
            .trim()
            .strip_prefix("pub mod ")
            .and_then(|m| m.strip_suffix(';'))
        else {
            continue;
        };
        let core = CORE.contains(&format!("{module}.rs").as_str());
        let side = ROUTE_SIDE.contains(&module);
        let other = matches!(module, "store" | "fuzzing");
        assert!(core || side || other, "classify `{module}` in this test");
    }
}
