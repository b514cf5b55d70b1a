//! `openapi.yaml` is the API's contract in the repository (README, "Routes"); `template.yaml` is the one
//! source of truth for the routes. These tests keep the two in step: the same operations (path, method)
//! with the same authentication on the REST API and on the HTTP API, every error code the code can
//! answer documented, and `gatehouse serve` serving the same document at `/openapi.json`. That real
//! responses match the document is `scripts/schemathesis`'s job (run by `scripts/test` on both API
//! types).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use gatehouse::api::ApiError;
use gatehouse::error::Rejection;
use gatehouse_cli::template::Template;
use serde_json::Value;

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

fn repository_file(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(name)
}

fn document() -> Value {
    let text = std::fs::read_to_string(repository_file("openapi.yaml")).unwrap();
    serde_norway::from_str(&text).unwrap()
}

/// One operation as both files can state it: path, upper-case method, and whether a token is needed.
type Operation = (String, String, bool);

/// The document's operations, without the ones tagged `local` (served by `gatehouse serve` only).
fn documented(document: &Value) -> BTreeSet<Operation> {
    let default_secured = document["security"]
        .as_array()
        .is_some_and(|schemes| !schemes.is_empty());
    let mut operations = BTreeSet::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for method in METHODS {
            let Some(operation) = item.get(method) else {
                continue;
            };
            let local = operation["tags"]
                .as_array()
                .is_some_and(|tags| tags.iter().any(|tag| tag == "local"));
            if local {
                continue;
            }
            let secured = match operation.get("security") {
                Some(Value::Array(schemes)) => !schemes.is_empty(),
                _ => default_secured,
            };
            operations.insert((path.clone(), method.to_ascii_uppercase(), secured));
        }
    }
    operations
}

#[test]
fn the_document_describes_exactly_the_templates_routes_on_both_api_types() {
    let template = Template::load(repository_file("template.yaml")).unwrap();
    let document = document();
    let documented = documented(&document);
    let rest: BTreeSet<Operation> = template
        .routes()
        .map(|(_, route)| {
            (
                route.path.clone(),
                route.method.clone(),
                route.authorizer.is_some(),
            )
        })
        .collect();
    let http: BTreeSet<Operation> = template
        .http_routes()
        .map(|(_, route)| {
            (
                route.path.clone(),
                route.method.clone(),
                route.authorizer.is_some(),
            )
        })
        .collect();
    assert!(!rest.is_empty());
    assert_eq!(
        documented, rest,
        "openapi.yaml and the REST API's routes in template.yaml differ"
    );
    assert_eq!(
        documented, http,
        "openapi.yaml and the HTTP API's routes in template.yaml differ"
    );
}

#[test]
fn the_document_declares_both_security_schemes_and_every_secured_failure() {
    let document = document();
    let schemes = &document["components"]["securitySchemes"];
    for name in ["sessionToken", "apiKey"] {
        assert_eq!(schemes[name]["type"], "http", "{name}");
        assert_eq!(schemes[name]["scheme"], "bearer", "{name}");
    }
    for (path, method, secured) in documented(&document) {
        let responses = &document["paths"][&path][method.to_ascii_lowercase()]["responses"];
        if secured {
            for status in ["401", "500"] {
                assert!(
                    responses.get(status).is_some(),
                    "{method} {path} does not document {status}"
                );
            }
        }
    }
}

#[test]
fn every_error_code_the_code_answers_with_is_documented() {
    let text = std::fs::read_to_string(repository_file("openapi.yaml")).unwrap();
    let api_errors = [
        ApiError::PayloadTooLarge,
        ApiError::SignedInUserRequired,
        ApiError::Forbidden(String::new()),
        ApiError::InsufficientScope("read"),
        ApiError::BadRequest(String::new()),
        ApiError::NotFound("api key"),
        ApiError::KeyLimitReached,
        ApiError::Random,
    ];
    let codes = Rejection::ALL
        .iter()
        .map(|rejection| rejection.code())
        .chain(api_errors.iter().map(ApiError::code))
        // The gateway's own answers (README, "Errors").
        .chain(["authorizer_unavailable", "internal_error"]);
    for code in codes {
        assert!(
            text.contains(code),
            "the error code {code} is not in openapi.yaml"
        );
    }
}

#[test]
fn serve_serves_this_document_as_json() {
    let served: Value =
        serde_json::from_str(&gatehouse_cli::serve::openapi_json().unwrap()).unwrap();
    assert_eq!(served, document());
    assert_eq!(served["openapi"], "3.1.0");
}
